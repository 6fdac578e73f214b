/* SPDX-License-Identifier: MIT */
/*
 * The parent's side of a run once the sandbox exists. The supervisor owns the run's event
 * loop (event-loop.h) and hands the run's event sink (event-sink.h) to every handler it sets
 * up. Its own sources are the sandbox's init (pidfd), the two control sockets, signals and the
 * timeout timer; the skill's standard streams (streams.c) relay from the loop too; the seccomp
 * listener (run-seccomp.c) is registered when the skill hands it over, and the network layer
 * (run-net.c) registers its own descriptors. The loop ends when init has exited; init is pid 1 of
 * the sandbox's pid namespace, so by then nothing sandboxed is alive, and what is still buffered is
 * collected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "diagnose.h"
#include "fd-util.h"
#include "missing-syscalls.h"
#include "parse-util.h"
#include "run-state.h"

/*
 * The sink's stop hook: a failed run takes the whole sandbox down. With namespaces, killing
 * init ends its pid namespace; without (--isolation landlock), init must sweep the skill's
 * processes first, so it is asked to with its sweep signal.
 */
static void kill_sandbox(void *userdata)
{
	struct run *r = userdata;

	if (r->opts.isolation != RUN_ISOLATION_LANDLOCK) {
		if (r->init_pidfd >= 0 && !r->init_exited)
			sys_pidfd_send_signal(r->init_pidfd, SIGKILL, NULL, 0);
		return;
	}
	/*
	 * Until the skill has exec'd, init waits for it (vfork) and cannot take a signal: the
	 * skill goes first (it may be waiting for us), then init sweeps what is left.
	 */
	if (r->skill_pidfd >= 0)
		sys_pidfd_send_signal(r->skill_pidfd, SIGKILL, NULL, 0);
	if (r->init_pidfd >= 0 && !r->init_exited)
		sys_pidfd_send_signal(r->init_pidfd, SANDBOX_SWEEP_SIGNAL, NULL, 0);
}

/* Stops watching fd and closes it. */
static void unwatch(struct event_source **s, int *fd)
{
	*s = event_source_free(*s);
	*fd = safe_close(*fd);
}

static char *describe_mount_failure(struct run *r, const struct sandbox_msg *m)
{
	struct buf b = BUF_INIT;
	const struct mount_op *o = NULL;
	enum mount_step step = (enum mount_step)m->value;

	if (m->index >= 0 && (size_t)m->index < r->plan->n_ops)
		o = &r->plan->ops[m->index];
	if (o && o->kind == MOUNT_OP_PROC && step == MOUNT_STEP_MOUNT)
		return proc_describe_failure(m->error);
	if (step == MOUNT_STEP_PRIVATE) {
		char *why = mounts_describe_denial(m->error);

		if (why)
			return why;
	}
	buf_puts(&b, "filesystem: ");
	if (o && o->origin.key && o->origin.loc.file) {
		char where[MANIFEST_LOC_MAX];

		buf_printf(
			&b, "%s: %s ",
			manifest_loc_format(o->origin.loc, r->m->path, true, where, sizeof(where)),
			o->origin.key);
	}
	if (o && o->kind == MOUNT_OP_BIND && step == MOUNT_STEP_SOURCE)
		buf_printf(&b, "%s: ", o->host);
	else if (o)
		buf_printf(&b, "%s: ", o->inside);
	buf_printf(&b, "%s: ", mount_step_to_string(step));
	if (step == MOUNT_STEP_SOURCE && m->error == ELOOP && o && o->writable)
		buf_puts(&b,
			 "it is, or goes through, a symbolic link: write paths must be the real "
			 "directory or file, and mount sources are opened without following "
			 "symbolic links");
	else if (step == MOUNT_STEP_SOURCE && m->error == ELOOP)
		buf_puts(&b, "the path goes through a symbolic link, and mount sources are opened "
			     "without following symbolic links");
	else if (step == MOUNT_STEP_MOUNTPOINT && m->error == ELOOP)
		buf_puts(&b, "a symbolic link is in the way of the mount point, and symbolic links "
			     "inside the view are never followed");
	else if (step == MOUNT_STEP_MOUNTPOINT && m->error == EROFS)
		buf_puts(&b, "it does not exist inside a read-only path, so it cannot be created");
	else
		buf_puts(&b, strerror(m->error));
	return buf_steal(&b);
}

static char *describe_failure(struct run *r, const struct sandbox_msg *m)
{
	struct buf b = BUF_INIT;

	switch (m->step) {
	case SB_STEP_MOUNTS:
		return describe_mount_failure(r, m);
	case SB_STEP_NETWORK:
		return run_net_describe_failure(r->net, m);
	case SB_STEP_WORKDIR:
		if (r->m->workdir) {
			char where[MANIFEST_LOC_MAX];

			buf_printf(&b, "%s: workdir %s: %s",
				   manifest_loc_format(r->m->workdir_loc, r->m->path, true, where,
						       sizeof(where)),
				   r->m->workdir, strerror(m->error));
		} else
			buf_printf(&b, "workdir %s: %s", SANDBOX_HOME, strerror(m->error));
		return buf_steal(&b);
	case SB_STEP_EXEC: {
		const char *cmd = r->argv[0];

		char where[MANIFEST_LOC_MAX];

		if (m->error == EACCES && r->opts.isolation == RUN_ISOLATION_LANDLOCK)
			buf_printf(&b,
				   "%s: cannot execute: %s (in landlock mode: is it, and its "
				   "interpreter, inside a declared read or write path?)",
				   cmd, strerror(m->error));
		else if (m->error == ENOENT && !m->index)
			buf_printf(&b, "%s: %s: command not found in the sandbox",
				   r->m->command
					   ? manifest_loc_format(r->m->command_loc, r->m->path,
								 true, where, sizeof(where))
					   : MANIFEST_COMMAND_LINE,
				   cmd);
		else if (m->error == ENOENT)
			buf_printf(&b, "%s: cannot execute: its interpreter is not in the sandbox",
				   cmd);
		else
			buf_printf(&b, "%s: cannot execute: %s", cmd, strerror(m->error));
		return buf_steal(&b);
	}
	default:
		buf_printf(&b, "%s: %s", sandbox_step_to_string((enum sandbox_step)m->step),
			   strerror(m->error));
		return buf_steal(&b);
	}
}

static void on_failure(struct run *r, const struct sandbox_msg *m)
{
	if (event_sink_failed(r->sink))
		return;
	if (m->step == SB_STEP_EXEC) {
		r->exec_failed = true;
		r->exec_errno = m->error;
		r->exec_exists = m->index != 0;
	}
	event_sink_fail(r->sink, describe_failure(r, m));
}

/*
 * sethostname() was refused (a container runtime's seccomp profile refuses it without
 * CAP_SYS_ADMIN): the sandbox keeps the caller's hostname in a UTS namespace of its own.
 */
static void on_hostname_refused(struct run *r, int error)
{
	struct audit *a = event_sink_audit(r->sink);

	if (!a)
		return;
	audit_begin(a, "policy.degraded");
	audit_str(a, "layer", "uts");
	audit_str(a, "wanted", "hostname " SANDBOX_HOSTNAME);
	audit_str(a, "instead",
		  "the caller's hostname, in the sandbox's own UTS namespace (a change made "
		  "inside cannot reach the host)");
	audit_str(a, "error", strerror(error));
	event_sink_end(r->sink);
}

/*
 * No egress is declared and the log of refused attempts could not be set up (a host without
 * nf_tables or nfnetlink_log): the sandbox still has no route out, but attempts to leave now
 * fail unrecorded. Said on stderr and in the trail; the run goes on.
 */
static void on_net_degraded(struct run *r, const struct sandbox_msg *m)
{
	struct audit *a = event_sink_audit(r->sink);
	_cleanup_free_ char *why = run_net_describe_degraded(r->net, m);
	bool v6 = run_net_degraded_ipv6_only(m);

	fprintf(stderr,
		"skillbox: warning: network: %s; %s attempts to connect out of the sandbox are "
		"refused (no route) but not recorded\n",
		why ? why : "out of memory", v6 ? "IPv6" : "all");
	if (!a)
		return;
	audit_begin(a, "policy.degraded");
	audit_str(a, "layer", "network");
	audit_str(a, "wanted", "connection attempts refused at once and recorded (net.connect)");
	audit_str(a, "instead",
		  v6 ? "IPv6 attempts fail with ENETUNREACH (no route), unrecorded"
		     : "attempts fail with ENETUNREACH (no route), unrecorded");
	audit_str(a, "error", why);
	event_sink_end(r->sink);
}

/*
 * The overlay of skillbox learn could not be mounted: init bound its directory read-only
 * instead. Recorded for the caller and in the audit trail; the run goes on.
 */
static void on_degraded(struct run *r, const struct sandbox_msg *m)
{
	struct audit *a = event_sink_audit(r->sink);
	const struct mount_op *o = NULL;

	if (m->step == SB_STEP_HOSTNAME) {
		on_hostname_refused(r, m->error);
		return;
	}
	if (m->step == SB_STEP_NETWORK) {
		on_net_degraded(r, m);
		return;
	}
	if (m->step != SB_STEP_MOUNTS || m->index < 0 || (size_t)m->index >= r->plan->n_ops)
		return;
	o = &r->plan->ops[m->index];
	r->overlay_degraded = true;
	r->overlay_error = m->error;
	if (!a)
		return;
	audit_begin(a, "policy.degraded");
	audit_str(a, "layer", "filesystem");
	audit_str(a, "path", o->inside);
	audit_str(a, "wanted", "overlay, writes discarded");
	audit_str(a, "instead", "read-only");
	audit_str(a, "error", strerror(m->error));
	event_sink_end(r->sink);
}

static int on_sock_init(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run *r = userdata;

	for (;;) {
		struct sandbox_msg m;
		int fds[4];
		size_t n_fds = 0;
		ssize_t n =
			recv_with_fds(r->sock_init, &m, sizeof(m), fds, ELEMENTSOF(fds), &n_fds);
		_cleanup_free_ char *error = NULL;

		if (n == -EAGAIN)
			return 0;
		if (n <= 0) {
			unwatch(&r->sock_init_source, &r->sock_init);
			return 0;
		}
		if ((size_t)n != sizeof(m)) {
			for (size_t i = 0; i < n_fds; i++)
				close(fds[i]);
			continue;
		}
		switch (m.type) {
		case SB_MSG_FAIL:
			on_failure(r, &m);
			break;
		case SB_MSG_EXIT:
			r->have_skill_status = true;
			r->skill_status = (int)m.value;
			run_net_skill_exited(r->net);
			break;
		case SB_MSG_FDS:
			if (run_net_receive_fds(r->net, m.index, fds, n_fds) < 0)
				event_sink_fail(r->sink,
						strdup("network: receiving the log socket failed"));
			n_fds = 0;
			break;
		case SB_MSG_DEGRADED:
			on_degraded(r, &m);
			break;
		case SB_MSG_PTY:
			if (n_fds != 1 || streams_attach_pty(r->streams, fds[0]) < 0)
				event_sink_fail(r->sink, strdup("standard streams: receiving the "
								"pseudo-terminal failed"));
			n_fds = 0;
			break;
		case SB_MSG_NET_READY:
			if (run_net_child_ready(r->net, &error) < 0)
				event_sink_fail(r->sink, TAKE_PTR(error));
			break;
		default:
			break;
		}
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
	}
}

/* The skill was executed (its control socket closed at execve); tracing says so itself. */
static void emit_exec(struct run *r)
{
	struct audit *a = event_sink_audit(r->sink);

	if (!a || (r->trace & MANIFEST_TRACE_EXEC))
		return;
	audit_begin(a, "proc.exec");
	if (r->opts.isolation == RUN_ISOLATION_LANDLOCK) {
		/* No pid namespace: the pids are the host's. */
		audit_int(a, "pid", r->skill_pid);
		audit_int(a, "host_pid", r->skill_pid);
		audit_int(a, "ppid", r->init_pid);
	} else {
		audit_int(a, "pid", 2);
		if (r->skill_pid > 0)
			audit_int(a, "host_pid", r->skill_pid);
		audit_int(a, "ppid", 1);
	}
	audit_str(a, "path", r->argv[0]);
	audit_array_begin(a, "argv");
	STRV_FOREACH (arg, r->argv)
		audit_str(a, NULL, *arg);
	audit_array_end(a);
	audit_str(a, "workdir", r->spec.workdir);
	event_sink_end(r->sink);
}

/*
 * The skill loaded its filter and sent the listener's number: fetch it and hand it to the
 * seccomp layer, which answers notifications from the loop and reports through the sink.
 */
static int fetch_listener(struct run *r, int number)
{
	struct sandbox_msg ack = { .type = SB_MSG_ACK };
	const struct trace_context trace = {
		.sink = r->sink,
		.plan = r->plan,
		/* Without a pid namespace init is not pid 1: parents are named by host pid. */
		.init_pid = r->opts.isolation == RUN_ISOLATION_LANDLOCK ? 0 : r->init_pid,
	};
	int fd, k;

	if (r->skill_pidfd < 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_getfd, r->skill_pidfd, number, 0);
	if (fd < 0)
		return -errno;
	k = seccomp_listener_new(r->loop, r->seccomp, fd, &trace,
				 run_landlock_emulator(r->landlock), &r->listener);
	if (k < 0)
		return k;
	if (write(r->sock_skill, &ack, sizeof(ack)) != sizeof(ack))
		return -EPIPE;
	return 0;
}

static int on_sock_skill(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run *r = userdata;

	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(struct ucred))];
		} control;
		struct sandbox_msg m;
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(r->sock_skill, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int k;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			/* The descriptor closes at execve: EOF without a failure is success. */
			unwatch(&r->sock_skill_source, &r->sock_skill);
			if (!event_sink_failed(r->sink) && !r->execed) {
				r->execed = true;
				emit_exec(r);
			}
			return 0;
		}
		if ((size_t)n != sizeof(m))
			continue;
		switch (m.type) {
		case SB_MSG_HELLO:
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET &&
				    c->cmsg_type == SCM_CREDENTIALS) {
					struct ucred uc;

					memcpy(&uc, CMSG_DATA(c), sizeof(uc));
					r->skill_pid = uc.pid;
				}
			if (r->skill_pid > 0)
				r->skill_pidfd = (int)syscall(SYS_pidfd_open, r->skill_pid, 0);
			break;
		case SB_MSG_LISTENER:
			k = fetch_listener(r, (int)m.value);
			if (k < 0) {
				struct buf b = BUF_INIT;

				buf_printf(&b, "seccomp: fetching the notification listener: %s",
					   strerror(-k));
				event_sink_fail(r->sink, buf_steal(&b));
			}
			break;
		case SB_MSG_FAIL:
			on_failure(r, &m);
			break;
		default:
			break;
		}
	}
}

static int on_signal(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run *r = userdata;
	struct signalfd_siginfo si;

	while (read(r->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		/* The caller's terminal: resized, or skillbox continued after a stop. */
		if (si.ssi_signo == SIGWINCH || si.ssi_signo == SIGCONT) {
			streams_signal(r->streams, (int)si.ssi_signo);
			continue;
		}
		/* init forwards it to the skill's process group. */
		if (r->init_pidfd >= 0 && !r->init_exited)
			sys_pidfd_send_signal(r->init_pidfd, (int)si.ssi_signo, NULL, 0);
	}
	return 0;
}

static int on_timer(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run *r = userdata;
	uint64_t expirations;
	char buf[32];
	uint64_t t = r->opts.timeout_usec != MANIFEST_UNSET ? r->opts.timeout_usec
							    : r->m->limits.timeout_usec;

	if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 || r->timed_out)
		return 0;
	r->timed_out = true;
	event_sink_limit(r->sink, RUN_LIMIT_TIMEOUT, format_duration(buf, sizeof(buf), t),
			 "killed the whole sandbox");
	log_error("timeout: the skill ran longer than %s and was killed", buf);
	kill_sandbox(r);
	return 0;
}

/* init has exited: the sandbox is gone, and so the loop ends. */
static int on_init_exit(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run *r = userdata;
	int status;
	pid_t p = wait4(r->init_pid, &status, WNOHANG, &r->rusage);

	if (p == r->init_pid) {
		r->init_exited = true;
		r->init_status = status;
		event_loop_exit(r->loop);
	}
	return 0;
}

static int start_timer(struct run *r)
{
	uint64_t t = r->opts.timeout_usec != MANIFEST_UNSET ? r->opts.timeout_usec
							    : r->m->limits.timeout_usec;
	uint64_t deadline;
	struct itimerspec its = { 0 };

	if (t == MANIFEST_UNSET)
		return 0;
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0)
		return -errno;
	/* Counted from just before clone(), so setup time is part of the budget. */
	deadline = r->start_mono + t;
	its.it_value.tv_sec = (time_t)(deadline / USEC_PER_SEC);
	its.it_value.tv_nsec = (long)(deadline % USEC_PER_SEC * NSEC_PER_USEC);
	if (timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	return event_add_io(r->loop, &r->timer_source, r->timer_fd, EPOLLIN, on_timer, r);
}

/* After the run, note the limits the kernel enforced (the skill died of them). */
static void note_rlimit_hits(struct run *r)
{
	const struct manifest_limits *l = &r->m->limits;
	uint64_t oom = 0;
	char buf[32];

	if (r->limits.cgroup && cgroup_run_oom_kills(r->limits.cgroup, &oom) == 0 && oom > 0)
		event_sink_limit(r->sink, RUN_LIMIT_MEMORY,
				 format_size(buf, sizeof(buf), r->limits.memory),
				 "the cgroup's OOM killer stopped the sandbox (memory.max)");
	if (!r->have_skill_status || !WIFSIGNALED(r->skill_status) || r->cpu_exceeded)
		return;
	if (l->cpu_usec != MANIFEST_UNSET &&
	    (WTERMSIG(r->skill_status) == SIGXCPU ||
	     (WTERMSIG(r->skill_status) == SIGKILL &&
	      (uint64_t)(r->rusage.ru_utime.tv_sec + r->rusage.ru_stime.tv_sec) * USEC_PER_SEC >=
		      l->cpu_usec))) {
		event_sink_limit(r->sink, RUN_LIMIT_CPU,
				 format_duration(buf, sizeof(buf), l->cpu_usec),
				 "the kernel stopped the skill (RLIMIT_CPU)");
	}
	if (l->file_size != MANIFEST_UNSET && r->have_skill_status &&
	    WIFSIGNALED(r->skill_status) && WTERMSIG(r->skill_status) == SIGXFSZ) {
		event_sink_limit(r->sink, RUN_LIMIT_FILE_SIZE,
				 format_size(buf, sizeof(buf), l->file_size),
				 "the kernel stopped the skill (RLIMIT_FSIZE)");
	}
}

static int start_skill(void *userdata)
{
	struct run *r = userdata;
	struct sandbox_msg m = { .type = SB_MSG_START };

	if (r->sock_init < 0)
		return -EPIPE;
	if (write(r->sock_init, &m, sizeof(m)) != sizeof(m))
		return errno ? -errno : -EPIPE;
	return 0;
}

static int watch(struct run *r, int fd, event_io_handler_t cb, struct event_source **ret)
{
	return event_add_io(r->loop, ret, fd, EPOLLIN, cb, r);
}

static int supervise(struct run *r)
{
	_cleanup_free_ char *error = NULL;
	int k;

	k = event_loop_new(&r->loop);
	if (k < 0)
		return log_error_errno(k, "epoll_create1");
	event_sink_set_stop(r->sink, kill_sandbox, r);
	fd_set_nonblock(r->sock_init, true);
	fd_set_nonblock(r->sock_skill, true);
	if ((k = watch(r, r->init_pidfd, on_init_exit, &r->init_source)) < 0 ||
	    (k = watch(r, r->sock_init, on_sock_init, &r->sock_init_source)) < 0 ||
	    (k = watch(r, r->sock_skill, on_sock_skill, &r->sock_skill_source)) < 0 ||
	    (k = watch(r, r->sig_fd, on_signal, &r->signal_source)) < 0)
		return log_error_errno(k, "epoll_ctl");
	k = streams_start(r->streams, r->loop, r->sink);
	if (k < 0)
		return log_error_errno(k, "standard streams");
	k = start_timer(r);
	if (k < 0)
		return log_error_errno(k, "timerfd");
	if (r->limits.cpu_usec != MANIFEST_UNSET) {
		k = cpu_watch_new(
			&(struct cpu_watch_attach){
				.loop = r->loop,
				.sink = r->sink,
				.init_pid = r->init_pid,
				.cgroup = r->limits.cgroup,
				.limit_usec = r->limits.cpu_usec,
				.interval_usec = run_limits_cpu_interval(r->limits.cpu_usec),
				.stop = kill_sandbox,
				.userdata = r,
			},
			&r->cpu_watch);
		if (k < 0)
			return log_error_errno(k, "cpu: watching the sandbox's CPU time");
	}

	k = run_net_start(r->net,
			  &(struct run_net_attach){
				  .loop = r->loop,
				  .sink = r->sink,
				  .init_pid = r->init_pid,
				  .start_skill = start_skill,
				  .userdata = r,
			  },
			  &error);
	if (k < 0)
		event_sink_fail(r->sink, TAKE_PTR(error));

	k = event_loop_run(r->loop);
	if (k < 0) {
		kill_sandbox(r);
		return log_error_errno(k, "epoll_wait");
	}

	/* Everything sandboxed is gone: collect what is still buffered. */
	if (r->sock_init >= 0)
		on_sock_init(r->sock_init_source, r->sock_init, EPOLLIN, r);
	if (r->sock_skill >= 0)
		on_sock_skill(r->sock_skill_source, r->sock_skill, EPOLLIN, r);
	streams_finish(r->streams);
	seccomp_listener_drain(r->listener);
	run_net_finish(r->net);
	r->cpu_exceeded = cpu_watch_exceeded(r->cpu_watch);
	note_rlimit_hits(r);
	return 0;
}

int run_supervise(struct run *r)
{
	int k = supervise(r);

	/* The loop and its sources go with the sandbox; the layers free their own. */
	r->listener = seccomp_listener_free(r->listener);
	r->cpu_watch = cpu_watch_free(r->cpu_watch);
	r->init_source = event_source_free(r->init_source);
	r->sock_init_source = event_source_free(r->sock_init_source);
	r->sock_skill_source = event_source_free(r->sock_skill_source);
	r->signal_source = event_source_free(r->signal_source);
	r->timer_source = event_source_free(r->timer_source);
	/* Whatever ended the loop, the caller's terminal has its modes back. */
	streams_restore_terminal(r->streams);
	r->loop = event_loop_free(r->loop);
	return k;
}
