/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "landlock-apply.h"
#include "missing-syscalls.h"
#include "sandbox.h"

const char *sandbox_step_to_string(enum sandbox_step s)
{
	switch (s) {
	case SB_STEP_SYNC:
		return "synchronising with skillbox";
	case SB_STEP_MOUNTS:
		return "filesystem";
	case SB_STEP_NETWORK:
		return "network";
	case SB_STEP_HOSTNAME:
		return "setting the hostname";
	case SB_STEP_USERNS:
		return "forbidding nested user namespaces";
	case SB_STEP_FORK:
		return "starting the skill process";
	case SB_STEP_SETSID:
		return "starting a new session";
	case SB_STEP_STDIO:
		return "connecting standard input and output";
	case SB_STEP_WORKDIR:
		return "changing to the working directory";
	case SB_STEP_RLIMIT:
		return "setting resource limits";
	case SB_STEP_CAPS:
		return "dropping capabilities";
	case SB_STEP_NO_NEW_PRIVS:
		return "setting no_new_privs";
	case SB_STEP_SECCOMP:
		return "loading the seccomp filter";
	case SB_STEP_EXEC:
		return "executing the command";
	case SB_STEP_LANDLOCK:
		return "restricting the skill with Landlock";
	}
	return "?";
}

/*
 * Messages go out with write(), never send()/sendmsg(): once the seccomp filter is loaded the
 * socket calls may be traced, and a traced call would wait for a listener the parent does not
 * have yet.
 */
static void send_msg(int sock, uint32_t type, uint32_t step, int error, int32_t index,
		     int64_t value)
{
	struct sandbox_msg m = {
		.type = type, .step = step, .error = error, .index = index, .value = value
	};
	ssize_t n;

	do
		n = write(sock, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
}

static _noreturn_ void fail(int sock, enum sandbox_step step, int error, int32_t index,
			    int64_t value)
{
	send_msg(sock, SB_MSG_FAIL, step, error > 0 ? error : EIO, index, value);
	_exit(EXIT_FAILURE);
}

static int recv_msg(int sock, struct sandbox_msg *m)
{
	ssize_t n;

	do
		n = read(sock, m, sizeof(*m));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != sizeof(*m))
		return -EPIPE;
	return 0;
}

/*
 * Dies with skillbox, and keeps everyone in the sandbox out of our memory and /proc files.
 * After arming PR_SET_PDEATHSIG, a peek at the control socket tells whether skillbox died
 * before it was armed: it sends nothing at this point, so EOF can only mean it is gone.
 */
static int guard_init(int sock, int death_signal)
{
	char c;

	if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		_exit(EXIT_FAILURE);
	return 0;
}

/*
 * For a caller that is root on the host, the child starts as host uid 0, which the user
 * namespace does not map. It opens the mount sources as that uid (the caller may name paths
 * only root can reach) and then becomes the sandbox user, keeping its capabilities in the
 * new namespace for the rest of the setup. For an unprivileged caller this changes nothing.
 */
static int become_sandbox_user(void *userdata)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) < 0)
		return -errno;
	if (setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0)
		return -errno;
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	/*
	 * Changing credentials cleared the parent-death signal and made us dumpable again
	 * (commit_creds()); arm both again, then make sure skillbox did not die in between.
	 */
	return guard_init(*(int *)userdata, SIGKILL);
}

/*
 * The skill gets no capability in any set and can never regain one: securebits are locked
 * so that even uid 0 inside would not get capabilities at execve, the bounding set is
 * emptied, ambient cleared, and then permitted/effective/inheritable.
 */
static int drop_capabilities(void)
{
	cap_t empty;
	int last = (int)cap_max_bits() - 1;

	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0) < 0)
		return -errno;
	for (int c = 0; c <= last; c++)
		if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
			return -errno;
	if (cap_reset_ambient() < 0)
		return -errno;
	empty = cap_init();
	if (!empty)
		return -ENOMEM;
	if (cap_set_proc(empty) < 0) {
		int e = errno;
		cap_free(empty);
		return -e;
	}
	cap_free(empty);
	return 0;
}

/*
 * --isolation landlock: there is no user namespace to map the skill to an unprivileged uid.
 * A root caller's skillbox became the skill's uid before it cloned init (spawn.c), so
 * nothing here is root. What is left is what the caller may have held itself: with
 * CAP_SETPCAP everything goes the way drop_capabilities() does it (securebits, bounding
 * set); without, the bounding set cannot be touched, but the skill holds no capability and
 * no_new_privs, set next, keeps execve from granting any (set-user-ID bits and file
 * capabilities are then ignored).
 */
static int drop_privileges_landlock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	cap_t empty;
	int r;

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (d[CAP_TO_INDEX(CAP_SETPCAP)].permitted & CAP_TO_MASK(CAP_SETPCAP)) {
		d[0].effective = d[0].permitted;
		d[1].effective = d[1].permitted;
		if (syscall(SYS_capset, &h, d) < 0)
			return -errno;
		return drop_capabilities();
	}
	if (cap_reset_ambient() < 0)
		return -errno;
	empty = cap_init();
	if (!empty)
		return -ENOMEM;
	r = cap_set_proc(empty) < 0 ? -errno : 0;
	cap_free(empty);
	return r;
}

/* Looks argv[0] up in PATH like execvp(), with the sandbox's PATH, not ours. */
static int exec_command(const struct sandbox_spec *s, bool *exists)
{
	const char *cmd = s->argv[0];
	char buf[PATH_MAX];
	bool eacces = false;
	int err = ENOENT;

	*exists = false;
	if (strchr(cmd, '/')) {
		execve(cmd, s->argv, s->envp);
		err = errno;
		/* ENOENT for a file that is there means its interpreter is missing. */
		*exists = err == ENOENT && faccessat(AT_FDCWD, cmd, F_OK, AT_EACCESS) == 0;
		return err;
	}
	for (const char *p = s->path; p;) {
		const char *e = strchrnul(p, ':');
		size_t n = (size_t)(e - p);

		if (n == 0) {
			buf[0] = '.';
			n = 1;
		} else if (n < sizeof(buf)) {
			memcpy(buf, p, n);
		} else {
			n = sizeof(buf);
		}
		if (n + 1 + strlen(cmd) + 1 <= sizeof(buf)) {
			buf[n] = '/';
			strcpy(buf + n + 1, cmd);
			/* Only exec what exists: a traced run would record every miss otherwise. */
			if (faccessat(AT_FDCWD, buf, F_OK, AT_EACCESS) < 0 && errno == ENOENT) {
				p = *e ? e + 1 : NULL;
				continue;
			}
			execve(buf, s->argv, s->envp);
			switch (errno) {
			case EACCES:
				eacces = true;
				break;
			case ENOENT:
				if (faccessat(AT_FDCWD, buf, F_OK, AT_EACCESS) == 0) {
					*exists = true;
					return ENOENT;
				}
				break;
			case ENOTDIR:
				break;
			default:
				*exists = true;
				return errno;
			}
		}
		p = *e ? e + 1 : NULL;
	}
	if (eacces) {
		*exists = true;
		err = EACCES;
	}
	return err;
}

static int load_seccomp(const struct sandbox_spec *s)
{
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->seccomp_flags, s->seccomp);

	return r < 0 ? -errno : (int)r;
}

/*
 * The skill's descriptors 0, 1 and 2 (launcher/streams.h): init left /dev/null of the
 * sandbox in all three; a pipe end or the pseudo-terminal's slave goes over it. With a
 * pseudo-terminal, it becomes the controlling terminal of the skill's new session, so that
 * its line discipline sends ^C's SIGINT to the skill's foreground process group, and
 * /dev/tty is the pseudo-terminal.
 */
static int connect_stdio(const struct sandbox_stdio *io, int pty_slave)
{
	if (pty_slave >= 0 && ioctl(pty_slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++) {
		int from = io->kind[fd] == SB_STDIO_FD	  ? io->fd[fd]
			   : io->kind[fd] == SB_STDIO_PTY ? pty_slave
							  : -1;

		if (from >= 0 && dup2(from, fd) < 0)
			return -errno;
	}
	return 0;
}

/*
 * The dumpable window, and how it is closed.
 *
 * The kernel's rules (ptrace_may_access() in kernel/ptrace.c, cap_ptrace_access_check() in
 * security/commoncap.c, task_dump_owner() in fs/proc/base.c, begin_new_exec() in fs/exec.c):
 *  - "Dumpable" belongs to a memory map (mm->flags), as does mm->user_ns. PR_SET_DUMPABLE
 *    sets it on the caller's map. A fork copies both from the parent's map; execve() makes a
 *    new map whose user_ns is the caller's user namespace and which is dumpable again
 *    (SUID_DUMP_USER when uid == euid, gid == egid and the program is readable), whatever the
 *    old map was.
 *  - A task may reach into another (ptrace, process_vm_readv(), /proc/PID/mem, pidfd_getfd(),
 *    /proc/PID/{environ,cwd,root,fd/N}) only if (1) it has the target's uids, or
 *    CAP_SYS_PTRACE over the target's user namespace; (2) the target's map is dumpable, or it
 *    has CAP_SYS_PTRACE over mm->user_ns; (3) its capabilities include the target's (same
 *    namespace), or it has CAP_SYS_PTRACE over the target's namespace.
 *  - The /proc/PID files of a task whose map is not dumpable belong to root of mm->user_ns,
 *    otherwise to the task's euid; some need nothing but that ownership (listing
 *    /proc/PID/fd, raising oom_score_adj, clear_refs).
 *
 * init is a fork of skillbox that never execs: its map's user_ns is the host's, so sealed
 * (non-dumpable) its /proc files belong to host root, unmapped inside (65534). The skill runs
 * on init's map until its execve() (CLONE_VM|CLONE_VFORK: see spawn_skill()), and before that
 * the parent must fetch the seccomp listener from it with pidfd_getfd(). The parent passes
 * (1) and (3): an unprivileged one has the skill's uid and owns the sandbox's user namespace,
 * a root one owns it (every capability there). It passes (2) only while the map is dumpable,
 * unless it has CAP_SYS_PTRACE over the host's namespace, which an unprivileged caller and a
 * container's root lack: so the skill makes the map dumpable, and that unseals init, the
 * same map.
 *
 * The skill seals the map again as soon as the parent has said it holds the listener, before
 * execve(): no code but skillbox's runs while init's map is dumpable (init is suspended in the
 * vfork, the skill is the sandbox's only other process), and the skill's program starts with
 * init sealed. (Before, init sealed itself once the vfork returned; under load the program
 * could run first, find init's /proc files its own and list init's descriptors.) After
 * execve() the skill has a map of its own, dumpable, whose user_ns is the sandbox's: the
 * parent's later reads of the skill (traced arguments, pidfd_getfd() of a socket) pass (2) as
 * that namespace's owner.
 *
 * With exec tracing the listener gets the skill's first execve() too, and the parent reads
 * its path and argv from the skill's memory while the call waits: the map must be dumpable
 * at that moment, and the program runs as soon as the parent lets the call continue. So then
 * the skill gets a copy of init's map instead (spawn_skill() without CLONE_VM, a fork's
 * page-table copy that only traced runs pay for), and init's map is never made dumpable.
 *
 * Without a listener nothing needs the map dumpable and the skill leaves it alone. A step
 * that fails in between exits with the map still dumpable: init seals it again first thing
 * once the vfork returns, before it runs anything else and before any program of the
 * skill's exists. prctl() is one of the syscalls a manifest may not refuse, as the seal
 * runs under the filter.
 */
static _noreturn_ void skill_main(const struct sandbox_spec *s, int pty_slave)
{
	bool unseal = s->seccomp && s->seccomp_listener;
	int sock = s->sock_skill;
	struct sandbox_msg ack;
	sigset_t none;
	bool exists;
	int r;

	if (unseal && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail(sock, SB_STEP_SYNC, errno, 0, 0);

	/* The skill starts with default dispositions and nothing blocked. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* A new session: the caller's terminal is not our controlling terminal (no TIOCSTI). */
	if (setsid() < 0)
		fail(sock, SB_STEP_SETSID, errno, 0, 0);

	r = connect_stdio(&s->stdio, pty_slave);
	if (r < 0)
		fail(sock, SB_STEP_STDIO, -r, 2, 0);

	if (chdir(s->workdir) < 0)
		fail(sock, SB_STEP_WORKDIR, errno, 0, 0);

	/* Lets the parent learn our host pid (SO_PASSCRED) before any filter exists. */
	send_msg(sock, SB_MSG_HELLO, 0, 0, 0, 0);

	for (size_t i = 0; i < s->n_rlimits; i++)
		if (setrlimit((__rlimit_resource_t)s->rlimits[i].resource, &s->rlimits[i].limit) <
		    0)
			fail(sock, SB_STEP_RLIMIT, errno, s->rlimits[i].resource, 0);

	if (s->landlock.ruleset_fd >= 0) {
		r = drop_privileges_landlock();
		if (r < 0)
			fail(sock, SB_STEP_CAPS, -r, 0, 0);
		/* Dies with init, which sweeps anyway: this is belt and braces. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
			fail(sock, SB_STEP_SYNC, errno, 0, 0);
	} else {
		r = drop_capabilities();
		if (r < 0)
			fail(sock, SB_STEP_CAPS, -r, 0, 0);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(sock, SB_STEP_NO_NEW_PRIVS, errno, 0, 0);

	/* Every descriptor we did not open for the skill is closed at execve. */
	if (sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail(sock, SB_STEP_EXEC, errno, 0, 0);

	/*
	 * Landlock before seccomp: from here on the skill opens only what the rules grant, may
	 * signal and reach abstract unix sockets only inside its domain, and can neither bind
	 * nor connect TCP. The ruleset's descriptor goes at once.
	 */
	if (s->landlock.ruleset_fd >= 0) {
		r = landlock_restrict(s->landlock.ruleset_fd);
		if (r < 0)
			fail(sock, SB_STEP_LANDLOCK, -r, 0, 0);
		close(s->landlock.ruleset_fd);
	}

	if (s->seccomp) {
		r = load_seccomp(s);
		if (r < 0)
			fail(sock, SB_STEP_SECCOMP, -r, 0, 0);
		if (s->seccomp_listener) {
			/*
			 * The parent fetches the listener with pidfd_getfd(); we wait until it
			 * has, so that no notification can be raised before someone listens.
			 */
			send_msg(sock, SB_MSG_LISTENER, 0, 0, 0, r);
			if (recv_msg(sock, &ack) < 0 || ack.type != SB_MSG_ACK)
				_exit(EXIT_FAILURE);
			/* The parent holds the listener: seal init's map (see above). */
			if (!s->exec_traced && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
				fail(sock, SB_STEP_SYNC, errno, 0, 0);
			close(r);
		}
	}

	r = exec_command(s, &exists);
	send_msg(sock, SB_MSG_FAIL, SB_STEP_EXEC, r, exists ? 1 : 0, 0);
	_exit(r == ENOENT && !exists ? 127 : 126);
}

struct skill_args {
	const struct sandbox_spec *spec;
	int sock_init;
	int pty_slave;
};

static int skill_entry(void *userdata)
{
	const struct skill_args *a = userdata;

	close(a->sock_init);
	skill_main(a->spec, a->pty_slave);
}

/*
 * The skill process shares init's memory until it execs (CLONE_VM|CLONE_VFORK, on a stack of
 * its own, as glibc's posix_spawn does): a fork() would copy init's page tables, which map
 * all of skillbox's memory, and both sides would then take copy-on-write faults (~0.5 ms a
 * launch here). init is suspended until the skill has exec'd or exited. The child only
 * changes per-process state (signals, session, fds, cwd, rlimits, credentials, seccomp),
 * allocates a little through libcap (never freed, harmless), and never returns. With exec
 * tracing it gets a copy of the map instead (see skill_main()).
 */
static pid_t spawn_skill(const struct sandbox_spec *s, int sock, int pty_slave)
{
	enum {
		STACK_SIZE = 256 * 1024
	};
	struct skill_args a = { .spec = s, .sock_init = sock, .pty_slave = pty_slave };
	int flags = CLONE_VFORK | SIGCHLD | (s->exec_traced ? 0 : CLONE_VM);
	void *stack;
	pid_t pid;

	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	pid = clone(skill_entry, (char *)stack + STACK_SIZE, flags, &a);
	if (pid < 0)
		pid = -errno;
	munmap(stack, STACK_SIZE);
	return pid;
}

/* Closes every descriptor but the sorted, distinct ones in keep[]. */
static void close_all_except(const int *keep, size_t n)
{
	unsigned from = 0;

	for (size_t i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > from)
			sys_close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	sys_close_range(from, ~0U, 0);
}

static void sort_ints(int *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/*
 * Nobody in the sandbox may create a user namespace: that would give the skill a full set of
 * capabilities over new namespaces (the seccomp filter refuses it too; this is the second
 * lock). The limit is per user namespace and applies to ours and below.
 */
static int forbid_nested_userns(void)
{
	int fd = open("/proc/sys/user/max_user_namespaces", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, "0\n", 2);
	if (n < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * init gives up the caller's descriptors 0, 1 and 2 for the sandbox's /dev/null: nothing in
 * the sandbox holds one of the caller's open file descriptions (launcher/streams.h), and
 * later opens cannot land on 0, 1 or 2.
 */
static int stdio_to_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	if (fd > 2)
		close(fd);
	return 0;
}

/*
 * A pseudo-terminal of the sandbox's own devpts instance (mounted when the plan says a
 * terminal is attached): the skill can reach no other terminal through it, and the
 * instance's ptmx only makes new ones. The slave gets the modes and size skillbox chose
 * (the caller's terminal's); the master goes to skillbox, which relays it.
 */
static int make_pty(const struct sandbox_stdio *io, const char *ptmx, int sock, int *ret_slave)
{
	struct sandbox_msg m = { .type = SB_MSG_PTY };
	int master, slave, unlock = 0, r;

	master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -errno;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		goto fail;
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto fail;
	if (tcsetattr(slave, TCSANOW, &io->termios) < 0 ||
	    (io->winsize.ws_row && ioctl(slave, TIOCSWINSZ, &io->winsize) < 0)) {
		r = -errno;
		close(slave);
		close(master);
		return r;
	}
	r = send_with_fds(sock, &m, sizeof(m), &master, 1);
	close(master);
	if (r < 0) {
		close(slave);
		return r;
	}
	*ret_slave = slave;
	return 0;
fail:
	r = -errno;
	close(master);
	return r;
}

/* /proc/1/cmdline shows the caller's skillbox command line unless we overwrite it. */
static void scrub_cmdline(char **argv)
{
	char *start, *end;

	if (!argv || !argv[0])
		return;
	start = argv[0];
	end = start;
	for (char **a = argv; *a; a++)
		end = *a + strlen(*a);
	memset(start, 0, (size_t)(end - start));
	strncpy(start, "skillbox-init", (size_t)(end - start));
}

/*
 * --isolation landlock: kills every process below init and reaps it, until none is left.
 * init is their subreaper, so an orphan of the skill's tree becomes init's child before its
 * dead parent can be reaped: listing init's children after each reap sees all of them.
 * A listed child cannot be replaced by another process with the same pid, because only
 * reaping frees a pid. A process SIGKILL is pending for cannot fork any more.
 *
 * The children are read from /proc/self/task/TID/children; where the kernel lacks that file
 * (CONFIG_PROC_CHILDREN), every /proc/PID/stat is read for its parent. Nothing allocates.
 */
static size_t kill_listed_children(const char *buf, size_t len)
{
	size_t n = 0;
	long pid = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && buf[i] >= '0' && buf[i] <= '9') {
			pid = pid * 10 + (buf[i] - '0');
			continue;
		}
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
		pid = 0;
	}
	return n;
}

static ssize_t kill_children_from_task_file(void)
{
	char path[64], buf[4096];
	size_t total = 0;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A pid is never split between reads: the file is made of whole "PID " records. */
	while ((len = read(fd, buf, sizeof(buf))) > 0)
		total += kill_listed_children(buf, (size_t)len);
	close(fd);
	return (ssize_t)total;
}

/* The ppid field of /proc/PID/stat: the fourth, after the command in parentheses. */
static pid_t stat_ppid(int proc, const char *pid)
{
	char path[300], buf[512];
	const char *p;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "%.255s/stat", pid);
	fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	p = strrchr(buf, ')');
	if (!p || strlen(p) < 5)
		return 0;
	return (pid_t)strtol(p + 4, NULL, 10);
}

static ssize_t kill_children_from_proc(void)
{
	char buf[4096];
	size_t total = 0;
	pid_t self = getpid();
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (proc < 0)
		return -errno;
	while ((n = syscall(SYS_getdents64, proc, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			off += de->d_reclen;
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			if (stat_ppid(proc, de->d_name) == self &&
			    kill((pid_t)strtol(de->d_name, NULL, 10), SIGKILL) == 0)
				total++;
		}
	}
	close(proc);
	return (ssize_t)total;
}

static void sweep(pid_t skill, int *skill_status, bool *have_status)
{
	for (;;) {
		ssize_t killed = kill_children_from_task_file();
		int status;
		pid_t p;

		if (killed < 0)
			killed = kill_children_from_proc();
		/*
		 * Only block when a child was killed: one that could not be seen (no /proc at
		 * all) would make waiting forever. Then reap what is already dead, and stop.
		 */
		p = waitpid(-1, &status, killed > 0 ? 0 : WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		if (p == skill && !*have_status) {
			*skill_status = status;
			*have_status = true;
		}
	}
}

_noreturn_ void sandbox_init_main(const struct sandbox_spec *s)
{
	bool landlock = s->landlock.ruleset_fd >= 0;
	pid_t parent = getppid();
	/* Without a pid namespace, SIGKILL would leave the skill's processes to the host. */
	int death_signal = landlock ? SANDBOX_SWEEP_SIGNAL : SIGKILL;
	int sock = s->sock_init;
	struct mount_failure mf;
	struct sandbox_msg m;
	sigset_t mask;
	pid_t skill;
	int sfd, r, pty_slave = -1;

	/*
	 * Only the death signal before the id maps: a non-dumpable process's /proc files belong
	 * to root, and an unprivileged parent could then no longer write uid_map.
	 */
	if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) < 0)
		fail(sock, SB_STEP_SYNC, errno, 0, 0);
	scrub_cmdline(s->scrub_argv);

	/* The parent writes our uid/gid maps, then says go. EOF means it is gone. */
	if (recv_msg(sock, &m) < 0 || m.type != SB_MSG_GO)
		_exit(EXIT_FAILURE);
	r = guard_init(sock, death_signal);
	if (r < 0)
		fail(sock, SB_STEP_SYNC, -r, 0, 0);

	if (landlock) {
		/* Orphans of the skill's tree come to us, not to the host's init. */
		if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
			fail(sock, SB_STEP_SYNC, errno, 0, 0);
	} else {
		if (s->net.early) {
			int32_t index = 0;
			int64_t value = 0;

			r = s->net.early(s->net.userdata, sock, &index, &value);
			if (r < 0)
				fail(sock, SB_STEP_NETWORK, -r, index, value);
		}

		r = mount_plan_apply(s->plan, become_sandbox_user, &sock, &mf);
		if (r < 0)
			fail(sock, SB_STEP_MOUNTS, mf.error, (int32_t)mf.op_index, mf.step);
		/* An overlay (skillbox learn) that had to be a read-only bind: the parent says
		   so. */
		if (mf.degraded_op >= 0)
			send_msg(sock, SB_MSG_DEGRADED, SB_STEP_MOUNTS, mf.degraded_error,
				 (int32_t)mf.degraded_op, 0);

		if (s->net.setup) {
			int32_t index = 0;
			int64_t value = 0;

			r = s->net.setup(s->net.userdata, sock, &index, &value);
			if (r < 0)
				fail(sock, SB_STEP_NETWORK, -r, index, value);
		}

		/*
		 * Not fatal: the UTS namespace is the sandbox's own either way, so a hostname
		 * the skill changes cannot reach the host; only the name stays the caller's. A
		 * container runtime's seccomp profile refuses sethostname() without
		 * CAP_SYS_ADMIN (podman's default does). The parent records it in the audit
		 * trail.
		 */
		if (sethostname(SANDBOX_HOSTNAME, strlen(SANDBOX_HOSTNAME)) < 0)
			send_msg(sock, SB_MSG_DEGRADED, SB_STEP_HOSTNAME, errno, -1, 0);
		r = forbid_nested_userns();
		if (r < 0)
			fail(sock, SB_STEP_USERNS, -r, 0, 0);

		if (s->net.wait_start) {
			send_msg(sock, SB_MSG_NET_READY, 0, 0, 0, 0);
			if (recv_msg(sock, &m) < 0 || m.type != SB_MSG_START)
				_exit(EXIT_FAILURE);
		}
	}

	r = stdio_to_null();
	if (r < 0)
		fail(sock, SB_STEP_STDIO, -r, 0, 0);
	if (s->stdio.pty) {
		/*
		 * --isolation landlock mounts no devpts: the host's, through /dev/ptmx (its
		 * pts/ptmx is often mode 0). The skill reaches no other terminal: Landlock grants
		 * no rule on /dev/pts.
		 */
		r = make_pty(&s->stdio, landlock ? "/dev/ptmx" : "/dev/pts/ptmx", sock, &pty_slave);
		if (r < 0)
			fail(sock, SB_STEP_STDIO, -r, 1, 0);
	}

	/* Keep only what init and the skill still need. */
	{
		/* hold_fd: init keeps the claim on a per-run uid for as long as it lives. */
		int keep[] = { STDIN_FILENO,  STDOUT_FILENO,  STDERR_FILENO,	     sock,
			       s->sock_skill, s->stdio.fd[0], s->stdio.fd[1],	     s->stdio.fd[2],
			       pty_slave,     s->hold_fd,     s->landlock.ruleset_fd };

		sort_ints(keep, ELEMENTSOF(keep));
		close_all_except(keep, ELEMENTSOF(keep));
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (landlock)
		sigaddset(&mask, SANDBOX_SWEEP_SIGNAL);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	skill = spawn_skill(s, sock, pty_slave);
	if (skill < 0)
		fail(sock, SB_STEP_FORK, -skill, 0, 0);
	/*
	 * The skill sealed our shared map before its execve(), unless it failed at a step in
	 * between: then the map is still dumpable, and this seals it before anything else runs
	 * (see skill_main()).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* From here on init only reaps and forwards signals. */
	close(s->sock_skill);
	for (int i = 0; i < 3; i++)
		if (s->stdio.fd[i] >= 0)
			close(s->stdio.fd[i]);
	if (pty_slave >= 0)
		close(pty_slave);
	if (s->landlock.ruleset_fd >= 0)
		close(s->landlock.ruleset_fd);
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);

	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(skill, SIGKILL);
		_exit(EXIT_FAILURE);
	}
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		bool have_status = false;
		int status = 0;

		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			kill(skill, SIGKILL);
			_exit(EXIT_FAILURE);
		}
		if (landlock && (int)si.ssi_signo == SANDBOX_SWEEP_SIGNAL) {
			/* Timeout, a failed run, or skillbox is gone: end everything below us. */
			sweep(skill, &status, &have_status);
			if (have_status)
				send_msg(sock, SB_MSG_EXIT, 0, 0, 0, status);
			/*
			 * Reparented: skillbox died (its parent-death signal brought us here)
			 * and cannot remove the private directory. Nothing runs in it now. The
			 * only allocation in init (opendir()): skillbox was single-threaded
			 * when it cloned us, so no lock of malloc's can be held.
			 */
			if (getppid() != parent && s->landlock.private_dir)
				landlock_private_dir_remove(s->landlock.private_dir);
			_exit(EXIT_FAILURE);
		}
		if (si.ssi_signo != SIGCHLD) {
			/* To the skill's whole process group, as a terminal would. */
			if (kill(-skill, (int)si.ssi_signo) < 0)
				kill(skill, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			pid_t p = waitpid(-1, &status, WNOHANG);

			if (p <= 0)
				break;
			if (p != skill)
				continue;
			/*
			 * Leaving kills whatever the skill left behind: we are pid 1, or, without
			 * a pid namespace, its subreaper that sweeps it first.
			 */
			if (landlock) {
				have_status = true;
				sweep(skill, &status, &have_status);
			}
			send_msg(sock, SB_MSG_EXIT, 0, 0, 0, status);
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		}
	}
}
