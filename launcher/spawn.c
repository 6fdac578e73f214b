/* SPDX-License-Identifier: MIT */
/*
 * Starting the sandbox (run-state.h): the control sockets, signals blocked into a signalfd,
 * clone3() into the new namespaces with the sandbox's init as the child (sandbox.c) as the
 * caller, and the id maps that let init go on. With --isolation
 * landlock, a plain clone: no namespace, no id map.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "diagnose.h"
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
 * unprivileged, one of its own when the caller is root (identity.c). setgroups is denied, so
 * no supplementary group can be dropped to gain access. We own the namespace, which is all an
 * unprivileged caller needs; root also needs CAP_SETUID and CAP_SETGID to map another uid.
 */
static int write_id_maps(struct run *r)
{
	static const char hint[] = " (mapping a uid other than one's own needs CAP_SETUID and "
				   "CAP_SETGID, which container runtimes grant root by default)";
	char map[64];
	int k;

	k = write_file(r->init_pid, "setgroups", "deny");
	if (k < 0)
		return log_error_errno(k, "user namespace: writing setgroups");
	snprintf(map, sizeof(map), "%u %u 1", SANDBOX_UID, (unsigned)r->host_uid);
	k = write_file(r->init_pid, "uid_map", map);
	if (k < 0) {
		log_error("user namespace: writing uid_map (%s): %s%s", map, strerror(-k),
			  getuid() == 0 && k == -EPERM ? hint : "");
		return k;
	}
	snprintf(map, sizeof(map), "%u %u 1", SANDBOX_GID, (unsigned)r->host_gid);
	k = write_file(r->init_pid, "gid_map", map);
	if (k < 0) {
		log_error("user namespace: writing gid_map (%s): %s%s", map, strerror(-k),
			  getuid() == 0 && k == -EPERM ? hint : "");
		return k;
	}
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

/*
 * --isolation landlock: init is an ordinary child, in no namespace of its own. A container
 * runtime's profile may answer clone3() with ENOSYS (Docker's does, to steer namespace
 * flags to clone(), whose flags it can check): then clone() does the same, with the pidfd
 * written to the parent_tid argument.
 */
static long clone_landlock(int *pidfd)
{
	struct clone_args ca = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};
	long pid = sys_clone3(&ca);

	if (pid < 0 && errno == ENOSYS)
		pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, pidfd, NULL, 0);
	return pid;
}

int run_spawn(struct run *r)
{
	struct clone_args ca = {
		.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			 CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD,
		.exit_signal = SIGCHLD,
	};
	bool landlock = r->opts.isolation == RUN_ISOLATION_LANDLOCK;
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

	/*
	 * Signals are read from a signalfd; blocked before clone() so none is lost. SIGWINCH and
	 * SIGCONT are for the skill's pseudo-terminal (streams.c): its size, and raw mode again
	 * after skillbox was stopped.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGCONT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r->sig_fd < 0)
		return log_error_errno(-errno, "signalfd");

	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	/* Born in the run's cgroup, when limits.memory has one: nothing escapes its count. */
	if (cgroup_run_fd(r->limits.cgroup) >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgroup_run_fd(r->limits.cgroup);
	}
	r->start_mono = now_monotonic_usec();
	/*
	 * The user namespace belongs to the effective uid that creates it: the caller, root
	 * included. Owning it is what lets a root caller without CAP_SYS_ADMIN (a container's
	 * root) write its id maps and reach the skill for the seccomp listener and for tracing;
	 * the user-mode network stack joins it through skillbox (run-net.c).
	 */
	if (landlock) {
		k = run_landlock_become_skill_user(r->landlock);
		if (k < 0)
			return log_error_errno(k, "landlock: becoming uid %u",
					       (unsigned)r->host_uid);
		pid = clone_landlock(&pidfd);
		if (pid < 0)
			return log_error_errno(-errno, "starting the sandbox's init (clone)");
		goto cloned;
	}
	pid = sys_clone3(&ca);
	if (pid < 0 && errno == ENOSYS) {
		/* Docker's default seccomp profile answers clone3 with ENOSYS: clone() then. */
		pidfd = -1;
		pid = syscall(SYS_clone, (unsigned long)ca.flags | SIGCHLD, NULL, &pidfd, NULL,
			      NULL);
	}
	if (pid < 0) {
		_cleanup_free_ char *why = namespaces_describe_failure(errno);

		log_error("%s", why ? why : "namespaces: creating the sandbox's namespaces failed");
		if (why)
			r->error = TAKE_PTR(why);
		return -EPERM;
	}
cloned:
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		sandbox_init_main(&r->spec);
	}
	r->init_pid = (pid_t)pid;
	r->init_pidfd = pidfd;

	/* The child has its own copies of the idmapped write paths, and of the claim. */
	mount_plan_close_trees(r->plan);

	/* Our copies of the child's ends. */
	r->spec.sock_init = safe_close(r->spec.sock_init);
	r->spec.sock_skill = safe_close(r->spec.sock_skill);
	for (int i = 0; i < 3; i++)
		r->spec.stdio.fd[i] = safe_close(r->spec.stdio.fd[i]);

	if (landlock) {
		/* init has its copy of the ruleset; ours would only outlive the sandbox. */
		run_landlock_forget_ruleset(r->landlock);
		r->spec.landlock.ruleset_fd = -1;
	} else {
		k = write_id_maps(r);
		if (k < 0)
			return k;
	}
	if (write(r->sock_init, &go, sizeof(go)) != sizeof(go))
		return log_error_errno(-errno, "starting the sandbox");
	return 0;
}
