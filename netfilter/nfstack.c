/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "missing-syscalls.h"
#include "nfstack.h"
#include "strv.h"

const char *nfstack_kind_to_string(enum nfstack_kind k)
{
	switch (k) {
	case NFSTACK_PASTA:
		return "pasta";
	case NFSTACK_SLIRP4NETNS:
		return "slirp4netns";
	default:
		return "none";
	}
}

/* "<prefix><fd>", e.g. "/proc/self/fd/7" or "--ready-fd=7". */
static int push_fd(char ***l, const char *prefix, int fd)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%d", prefix, fd);
	return strv_extend(l, buf);
}

static int pasta_argv(const struct nfstack_opts *o, char ***l)
{
	/*
	 * -t/-u/-T/-U none: the defaults ("auto") forward ports in both directions, and -T auto
	 * would let the sandbox reach the host's loopback services through its own 127.0.0.1.
	 * --no-map-gw: the gateway address is just an address unless host-loopback is declared.
	 * The addresses are fixed so the ruleset (built before pasta starts) knows them.
	 * --no-udp when nothing needs UDP, --no-tcp when skillbox relays all TCP itself: each
	 * handler costs start-up time (tables to fill).
	 * (--no-icmp would also be cheaper, but it switches off neighbour discovery: no IPv6.)
	 *
	 * The namespaces and the ready signal go through the standard descriptors, the only ones
	 * pasta keeps: newer pasta (2025-05-03 in Debian 13) closes every other descriptor it
	 * inherits as it starts (close_range(3, ~0U), "leaked files"), before it opens its
	 * --userns, --netns and --pid paths. So stdin is the user namespace, stdout the network
	 * namespace, and --pid names stderr, our pipe: in the foreground pasta writes its pid
	 * there only once --config-net has configured the interface, so the line holding its
	 * pid is the ready signal. pasta 2023 (Debian 12) opens the same paths the same way.
	 * Paths of another process (/proc/PID/ns/...) would not do: pasta runs unprivileged and
	 * the sandbox's init is not dumpable, its memory map belonging to the host's namespace.
	 */
	/* clang-format off */
	static const char *const fixed[] = {
		"--foreground", "--quiet", "--config-net", "--ns-ifname", NFSTACK_IFNAME,
		"--address", NFSTACK_ADDR4, "--netmask", NFSTACK_PREFIX4, "--gateway", NFSTACK_GW4,
		"--address", NFSTACK_ADDR6, "--gateway", NFSTACK_GW6, "--mtu", NFSTACK_MTU,
		"--tcp-ports", "none", "--udp-ports", "none", "--tcp-ns", "none", "--udp-ns", "none",
		"--no-dhcp", "--no-dhcpv6", "--no-ra", "--no-netns-quit",
		"--netns", "/proc/self/fd/1", "--pid", "/proc/self/fd/2",
	};
	/* clang-format on */
	int r = 0;

	for (size_t i = 0; i < ELEMENTSOF(fixed) && r >= 0; i++)
		r = strv_extend(l, fixed[i]);
	if (r >= 0 && !o->host_loopback)
		r = strv_extend(l, "--no-map-gw");
	if (r >= 0 && !o->udp && !o->dns_forward)
		r = strv_extend(l, "--no-udp");
	/* The relay carries TCP: pasta needs no TCP tables (its start-up is ~30% shorter). */
	if (r >= 0 && o->no_tcp)
		r = strv_extend(l, "--no-tcp");
	if (r >= 0 && o->dns_forward) {
		r = strv_extend(l, "--dns-forward");
		if (r >= 0)
			r = strv_extend(l, NFSTACK_DNS4);
	}
	/* Without --userns, pasta joins the network namespace only (--netns-only): a root caller
	   starts it inside the user namespace already (enter_userns). */
	if (r >= 0 && !o->enter_userns)
		r = strv_extend(l, "--userns");
	if (r >= 0 && !o->enter_userns)
		r = strv_extend(l, "/proc/self/fd/0");
	return r;
}

static int slirp_argv(const struct nfstack_opts *o, int ready_fd, int exit_fd, char ***l)
{
	int r;

	/* Its default network is 10.0.2.0/24 with .100, gateway .2 and resolver .3. IPv6 is
	   experimental in slirp4netns and left off: v6 destinations then fail at once. */
	r = strv_extend(l, "--configure");
	if (r >= 0)
		r = strv_extend(l, "--mtu=" NFSTACK_MTU);
	if (r >= 0)
		r = push_fd(l, "--ready-fd=", ready_fd);
	if (r >= 0)
		r = push_fd(l, "--exit-fd=", exit_fd);
	if (r >= 0 && !o->host_loopback)
		r = strv_extend(l, "--disable-host-loopback");
	if (r >= 0 && !o->dns_forward)
		r = strv_extend(l, "--disable-dns");
	if (r >= 0)
		r = strv_extend(l, "--netns-type=path");
	if (r >= 0 && !o->enter_userns)
		r = push_fd(l, "--userns-path=/proc/self/fd/", o->userns_fd);
	if (r >= 0)
		r = push_fd(l, "/proc/self/fd/", o->netns_fd);
	if (r >= 0)
		r = strv_extend(l, NFSTACK_IFNAME);
	return r;
}

int nfstack_argv(const struct nfstack_opts *o, int ready_fd, int exit_fd, char ***ret)
{
	_cleanup_strv_free_ char **l = NULL;
	int r;

	r = strv_extend(&l, o->path);
	if (r < 0)
		return r;
	if (o->kind == NFSTACK_PASTA)
		r = pasta_argv(o, &l);
	else if (o->kind == NFSTACK_SLIRP4NETNS)
		r = slirp_argv(o, ready_fd, exit_fd, &l);
	else
		r = -EINVAL;
	if (r < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

/* Our descriptors must not land on 0..2, which the child replaces. */
static int move_above_stdio(int *fd)
{
	int n;

	if (*fd > STDERR_FILENO)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (n < 0)
		return negative_errno();
	close(*fd);
	*fd = n;
	return 0;
}

static int make_pipe(int *rd, int *wr)
{
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	*rd = p[0];
	*wr = p[1];
	r = move_above_stdio(rd);
	if (r >= 0)
		r = move_above_stdio(wr);
	return r;
}

struct child_args {
	const struct nfstack_opts *o;
	char **argv;
	char **envp;
	pid_t parent;
	int devnull, log_w, ready_w, exit_r;
};

/*
 * Capabilities the stack keeps in the sandbox's user namespace: joining the sandbox's network
 * namespace and building its own isolation (SYS_ADMIN), creating and configuring the tap
 * device (NET_ADMIN), and what pasta keeps for itself (NET_BIND_SERVICE). They are ambient,
 * so they survive the execve of an ordinary binary run by a non-root uid, and they mean
 * nothing outside that namespace: it owns none of the host's.
 */
static const int stack_caps[] = { CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_BIND_SERVICE };

/*
 * For a root caller, who owns the sandbox's user namespace: join it as root (the owner may),
 * which gives every capability there, then become ns_uid (the unprivileged host uid) with
 * stack_caps only. Supplementary groups go first, while we still may (setgroups is denied in
 * the namespace). The ready pipe must belong to the uid the stack runs as: pasta reopens it
 * through /proc/self/fd (it is pasta's stderr), and a pipe is created owned by its creator with
 * mode 0600. Returns 0 or a positive errno.
 */
static int enter_userns(const struct nfstack_opts *o, int ready_w)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (fchown(ready_w, o->uid, o->gid) < 0 || setgroups(0, NULL) < 0 ||
	    setns(o->userns_fd, CLONE_NEWUSER) < 0 || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setresgid(o->ns_gid, o->ns_gid, o->ns_gid) < 0 ||
	    setresuid(o->ns_uid, o->ns_uid, o->ns_uid) < 0)
		return errno;
	for (size_t i = 0; i < ELEMENTSOF(stack_caps); i++) {
		d[stack_caps[i] / 32].permitted |= 1u << (stack_caps[i] % 32);
		d[stack_caps[i] / 32].effective |= 1u << (stack_caps[i] % 32);
		d[stack_caps[i] / 32].inheritable |= 1u << (stack_caps[i] % 32);
	}
	if (syscall(SYS_capset, &h, d) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return errno;
	for (size_t i = 0; i < ELEMENTSOF(stack_caps); i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, stack_caps[i], 0, 0) < 0)
			return errno;
	return 0;
}

/*
 * pasta's standard descriptors: the user namespace (/dev/null when it is started inside it
 * already), the network namespace, and our output pipe (see pasta_argv()). Each source is
 * first moved above them, so that none is overwritten before it is copied (skillbox may have
 * been started with a standard descriptor closed).
 */
static int pasta_stdio(const struct child_args *a)
{
	const int from[] = { a->o->enter_userns ? a->devnull : a->o->userns_fd, a->o->netns_fd,
			     a->log_w };
	int high[ELEMENTSOF(from)];

	for (size_t i = 0; i < ELEMENTSOF(from); i++) {
		high[i] = fcntl(from[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		if (high[i] < 0)
			return -1;
	}
	for (size_t i = 0; i < ELEMENTSOF(from); i++)
		if (dup2(high[i], (int)i) < 0)
			return -1;
	return 0;
}

/* Between clone() and execve(): no allocation, no output but to the log pipe. */
static _noreturn_ void stack_child(const struct child_args *a)
{
	const struct nfstack_opts *o = a->o;
	const bool pasta = o->kind == NFSTACK_PASTA;
	/* pasta: everything it needs is on its standard descriptors (pasta_stdio()). */
	const int keep[] = { pasta || o->enter_userns ? -1 : o->userns_fd, pasta ? -1 : o->netns_fd,
			     a->ready_w, a->exit_r };
	sigset_t none;
	int e;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (pasta ? pasta_stdio(a) < 0
		  : dup2(a->devnull, STDIN_FILENO) < 0 || dup2(a->log_w, STDOUT_FILENO) < 0 ||
			    dup2(a->log_w, STDERR_FILENO) < 0)
		_exit(127);

	if (o->enter_userns) {
		e = enter_userns(o, pasta ? STDERR_FILENO : a->ready_w);
		if (e) {
			dprintf(STDERR_FILENO,
				"skillbox: becoming uid %u in the sandbox's user "
				"namespace: %s\n",
				(unsigned)o->uid, strerror(e));
			_exit(127);
		}
	}
	/* After the uid change, which clears it: die with skillbox, even by SIGKILL. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != a->parent)
		_exit(127);

	if (sys_close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		_exit(127);
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, 0) < 0)
			_exit(127);

	execve(a->argv[0], a->argv, a->envp);
	e = errno;
	dprintf(STDERR_FILENO, "%s: %s\n", a->argv[0], strerror(e));
	_exit(127);
}

int nfstack_start(const struct nfstack_opts *o, struct nfstack *s)
{
	_cleanup_close_ int devnull = -1, log_w = -1, ready_w = -1, exit_r = -1;
	_cleanup_strv_free_ char **argv = NULL;
	struct child_args a = { .o = o, .parent = getpid() };
	struct clone_args ca = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
	char run_env[96];
	char *envp[] = { run_env, NULL };
	int pidfd = -1, r;
	long pid;

	*s = (struct nfstack)NFSTACK_INIT;
	s->kind = o->kind;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return negative_errno();
	r = move_above_stdio(&devnull);
	/* pasta's standard descriptors are the namespaces and its output; its ready signal is
	   a line of that output (pasta_argv()). */
	if (r >= 0 && o->kind == NFSTACK_SLIRP4NETNS)
		r = make_pipe(&s->ready_fd, &ready_w);
	if (r >= 0 && o->kind == NFSTACK_SLIRP4NETNS)
		r = make_pipe(&exit_r, &s->exit_fd);
	if (r >= 0)
		r = make_pipe(&s->log_fd, &log_w);
	if (r >= 0)
		r = nfstack_argv(o, ready_w, exit_r, &argv);
	if (r < 0)
		goto fail;

	/* Nothing of skillbox's environment (secrets included) reaches the stack; the run id
	   tells an operator whose stack a process is. */
	snprintf(run_env, sizeof(run_env), "SKILLBOX_RUN=%s", o->run_id ? o->run_id : "");
	a.argv = argv;
	a.envp = envp;
	a.devnull = devnull;
	a.log_w = log_w;
	a.ready_w = ready_w;
	a.exit_r = exit_r;
	ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
	pid = sys_clone3(&ca);
	if (pid < 0) {
		r = negative_errno();
		goto fail;
	}
	if (pid == 0)
		stack_child(&a);

	s->pid = (pid_t)pid;
	s->pidfd = pidfd;
	if (s->ready_fd >= 0)
		fd_set_nonblock(s->ready_fd, true);
	fd_set_nonblock(s->log_fd, true);
	return 0;

fail:
	nfstack_stop(s);
	return r;
}

/* pasta is ready once its pid appears on a line of its own in its output (pasta_argv()). */
static void scan_for_pid(struct nfstack *s, const char *p, size_t k)
{
	char want[16];
	size_t n = (size_t)snprintf(want, sizeof(want), "%d", (int)s->pid);

	for (size_t i = 0; i < k && !s->ready; i++) {
		if (p[i] != '\n') {
			/* A longer line is not the pid: it stops growing at the buffer's size. */
			if (s->ready_len < sizeof(s->ready_buf))
				s->ready_buf[s->ready_len++] = p[i];
			continue;
		}
		s->ready = s->ready_len == n && memcmp(s->ready_buf, want, n) == 0;
		s->ready_len = 0;
	}
}

bool nfstack_read_log(struct nfstack *s)
{
	char buf[4096];

	if (s->log_fd < 0)
		return true;
	for (;;) {
		ssize_t n = read(s->log_fd, buf, sizeof(buf));
		size_t k;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0;
		k = (size_t)n;
		if (s->kind == NFSTACK_PASTA && !s->ready)
			scan_for_pid(s, buf, k);
		if (k >= sizeof(s->log)) {
			memcpy(s->log, buf + k - sizeof(s->log), sizeof(s->log));
			s->log_len = sizeof(s->log);
			continue;
		}
		if (s->log_len + k > sizeof(s->log)) {
			size_t drop = s->log_len + k - sizeof(s->log);

			memmove(s->log, s->log + drop, s->log_len - drop);
			s->log_len -= drop;
		}
		memcpy(s->log + s->log_len, buf, k);
		s->log_len += k;
	}
}

int nfstack_read_ready(struct nfstack *s)
{
	if (s->kind == NFSTACK_PASTA) {
		bool eof = nfstack_read_log(s);

		return s->ready ? 1 : eof ? -EPIPE : 0;
	}
	/* slirp4netns writes "1" to its --ready-fd. */
	for (;;) {
		size_t room = sizeof(s->ready_buf) - 1 - s->ready_len;
		ssize_t n;

		if (s->ready)
			return 1;
		if (room == 0)
			return -EPROTO;
		n = read(s->ready_fd, s->ready_buf + s->ready_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EPIPE;
		s->ready_len += (size_t)n;
		s->ready_buf[s->ready_len] = 0;
		if (strchr(s->ready_buf, '1'))
			s->ready = true;
	}
}

const char *nfstack_last_message(const struct nfstack *s, char *buf, size_t size)
{
	size_t end = s->log_len;

	buf[0] = 0;
	/* Walk the lines from the last one back; pasta's "Failed to send N bytes to syslog"
	   (there is no syslog here) is noise. */
	while (end > 0) {
		size_t start = end, len;

		while (start > 0 && s->log[start - 1] != '\n')
			start--;
		len = end - start;
		while (len > 0 &&
		       (s->log[start + len - 1] == '\n' || s->log[start + len - 1] == '\r'))
			len--;
		if (len > 0 &&
		    !strneq(s->log + start, "Failed to send", STRLEN("Failed to send"))) {
			snprintf(buf, size, "%.*s", (int)len, s->log + start);
			return buf;
		}
		end = start > 0 ? start - 1 : 0;
	}
	return buf;
}

void nfstack_kill(struct nfstack *s)
{
	if (s->pidfd >= 0)
		sys_pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
}

void nfstack_stop(struct nfstack *s)
{
	if (s->pidfd >= 0) {
		sys_pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	s->pidfd = safe_close(s->pidfd);
	s->pid = 0;
	s->ready_fd = safe_close(s->ready_fd);
	s->log_fd = safe_close(s->log_fd);
	s->exit_fd = safe_close(s->exit_fd);
}

void nfstack_release(struct nfstack *s)
{
	if (s->pidfd >= 0) {
		sys_pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0);
		(void)waitpid(s->pid, NULL, WNOHANG);
		s->pidfd = safe_close(s->pidfd);
	}
	nfstack_stop(s);
}

int nfstack_open_namespaces(pid_t pid, int *ret_userns, int *ret_netns)
{
	_cleanup_close_ int u = -1, n = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	u = open(path, O_RDONLY | O_CLOEXEC);
	if (u < 0)
		return negative_errno();
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	n = open(path, O_RDONLY | O_CLOEXEC);
	if (n < 0)
		return negative_errno();
	*ret_userns = TAKE_FD(u);
	*ret_netns = TAKE_FD(n);
	return 0;
}
