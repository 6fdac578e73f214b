/* SPDX-License-Identifier: MIT */
/*
 * Starting the sandbox (run-state.h): the control sockets and output pipes, signals blocked
 * into a signalfd, clone3() into the new namespaces with the sandbox's init as the child
 * (sandbox.c), and the id maps that let init go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "fd-util.h"
#include "missing-syscalls.h"
#include "parse-util.h"
#include "run-state.h"

static int write_file(pid_t pid, const char *name, const char *content)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_full(fd, content, strlen(content));
}

/*
 * The sandbox user is SANDBOX_UID inside and exactly one host uid outside: the caller's when
 * unprivileged, an unprivileged one (nobody by default) when the caller is root. setgroups is
 * denied, so no supplementary group can be dropped to gain access.
 */
static int write_id_maps(struct run *r)
{
	char map[64];
	int k;

	k = write_file(r->init_pid, "setgroups", "deny");
	if (k < 0)
		return log_error_errno(k, "user namespace: writing setgroups");
	snprintf(map, sizeof(map), "%u %u 1\n", SANDBOX_UID, (unsigned)r->host_uid);
	k = write_file(r->init_pid, "uid_map", map);
	if (k < 0)
		return log_error_errno(k, "user namespace: writing uid_map (%s)", map);
	snprintf(map, sizeof(map), "%u %u 1\n", SANDBOX_GID, (unsigned)r->host_gid);
	k = write_file(r->init_pid, "gid_map", map);
	if (k < 0)
		return log_error_errno(k, "user namespace: writing gid_map (%s)", map);
	return 0;
}

static int make_socketpair(int *parent, int *child)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*parent = sv[0];
	*child = sv[1];
	return 0;
}

static int make_pipe(int *read_end, int *write_end)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*read_end = p[0];
	*write_end = p[1];
	return 0;
}

int run_spawn(struct run *r)
{
	struct clone_args ca = {
		.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			 CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD,
		.exit_signal = SIGCHLD,
	};
	struct sandbox_msg go = { .type = SB_MSG_GO };
	int one = 1, k, pidfd = -1;
	sigset_t mask;
	long pid;

	k = make_socketpair(&r->sock_init, &r->spec.sock_init);
	if (k >= 0)
		k = make_socketpair(&r->sock_skill, &r->spec.sock_skill);
	if (k < 0)
		return log_error_errno(k, "creating the control sockets");
	/* The skill's messages carry its pid as we see it. */
	if (setsockopt(r->sock_skill, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return log_error_errno(-errno, "SO_PASSCRED");

	/* Piped when capped, and for learn, which counts the bytes (never cut: no cap). */
	if (r->m->limits.output != MANIFEST_UNSET || r->opts.learn) {
		k = make_pipe(&r->out_fd, &r->spec.stdout_fd);
		if (k >= 0)
			k = make_pipe(&r->err_fd, &r->spec.stderr_fd);
		if (k < 0)
			return log_error_errno(k, "creating output pipes");
	}

	/* Signals are read from a signalfd; blocked before clone() so none is lost. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sig_fd < 0)
		return log_error_errno(-errno, "signalfd");

	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	r->start_mono = now_monotonic_usec();
	/*
	 * A user namespace belongs to the effective uid that creates it. When the caller is
	 * root, the namespace is created as the unprivileged host uid the sandbox user maps to,
	 * so that the user-mode network stack can join it without running as root, while the
	 * filesystem uid stays 0 so the child can still open mount sources only root reaches.
	 * Both go back to root right after clone().
	 */
	if (geteuid() == 0) {
		if (setresuid((uid_t)-1, r->host_uid, (uid_t)-1) < 0)
			return log_error_errno(-errno, "namespaces: switching to uid %u",
					       (unsigned)r->host_uid);
		setfsuid(0);
	}
	pid = sys_clone3(&ca);
	if (pid != 0 && getuid() == 0 && setresuid((uid_t)-1, 0, (uid_t)-1) < 0) {
		/* Cannot happen for a real root (ruid 0); refuse to go on half-privileged. */
		log_error_errno(-errno, "namespaces: switching back to root");
		_exit(EXIT_SKILLBOX_FAILED);
	}
	if (pid < 0) {
		k = -errno;
		if (k == -EPERM || k == -ENOSPC || k == -EINVAL)
			return log_error_errno(k, "namespaces: creating the sandbox's user, mount, "
						  "pid, network, ipc, uts and cgroup namespaces "
						  "(are unprivileged user namespaces enabled?)");
		return log_error_errno(k, "namespaces: clone3");
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		sandbox_init_main(&r->spec);
	}
	r->init_pid = (pid_t)pid;
	r->init_pidfd = pidfd;

	/* Our copies of the child's ends. */
	r->spec.sock_init = safe_close(r->spec.sock_init);
	r->spec.sock_skill = safe_close(r->spec.sock_skill);
	r->spec.stdout_fd = safe_close(r->spec.stdout_fd);
	r->spec.stderr_fd = safe_close(r->spec.stderr_fd);

	k = write_id_maps(r);
	if (k < 0)
		return k;
	if (write(r->sock_init, &go, sizeof(go)) != sizeof(go))
		return log_error_errno(-errno, "starting the sandbox");
	return 0;
}
