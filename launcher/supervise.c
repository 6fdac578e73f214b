/* SPDX-License-Identifier: MIT */
/*
 * The parent's side of a run once the sandbox exists: one epoll loop over the sandbox's init
 * (pidfd), the two control sockets, signals, the timeout timer, the capped output pipes, the
 * seccomp listener and the network layer's descriptors. It ends when init has exited; init
 * is pid 1 of the sandbox's pid namespace, so by then nothing sandboxed is alive.
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
#include "fd-util.h"
#include "layers.h"
#include "missing-syscalls.h"
#include "parse-util.h"
#include "run.h"

#define LIMIT_TIMEOUT	1u
#define LIMIT_OUTPUT	2u
#define LIMIT_CPU	4u
#define LIMIT_FILE_SIZE 8u

int run_watch(struct run *r, int fd, uint32_t tag)
{
	struct epoll_event ev = {
		.events = EPOLLIN,
		.data.u64 = ((uint64_t)tag << 32) | (uint32_t)fd,
	};

	return RET_NERRNO(epoll_ctl(r->ep_fd, EPOLL_CTL_ADD, fd, &ev));
}

void run_unwatch(struct run *r, int fd)
{
	if (fd >= 0)
		epoll_ctl(r->ep_fd, EPOLL_CTL_DEL, fd, NULL);
}

static void kill_sandbox(struct run *r)
{
	if (r->init_pidfd >= 0 && !r->init_exited)
		sys_pidfd_send_signal(r->init_pidfd, SIGKILL, NULL, 0);
}

static void set_error(struct run *r, char *msg)
{
	if (!msg)
		msg = strdup("out of memory");
	if (!msg)
		return;
	fprintf(stderr, "skillbox: %s\n", msg);
	if (!r->error)
		r->error = msg;
	else
		free(msg);
}

static void fail_run(struct run *r, char *msg)
{
	r->setup_failed = true;
	set_error(r, msg);
	kill_sandbox(r);
}

static char *describe_mount_failure(struct run *r, const struct sandbox_msg *m)
{
	struct buf b = BUF_INIT;
	const struct mount_op *o = NULL;
	enum mount_step step = (enum mount_step)m->value;

	if (m->index >= 0 && (size_t)m->index < r->plan->n_ops)
		o = &r->plan->ops[m->index];
	buf_puts(&b, "filesystem: ");
	if (o && o->origin.key && o->origin.loc.line)
		buf_printf(&b, "%s:%u:%u: %s ", r->m->path, o->origin.loc.line,
			   o->origin.loc.column, o->origin.key);
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
		return run_net_describe_failure(r, m);
	case SB_STEP_WORKDIR:
		if (r->m->workdir)
			buf_printf(&b, "%s:%u:%u: workdir %s: %s", r->m->path,
				   r->m->workdir_loc.line, r->m->workdir_loc.column, r->m->workdir,
				   strerror(m->error));
		else
			buf_printf(&b, "workdir %s: %s", SANDBOX_HOME, strerror(m->error));
		return buf_steal(&b);
	case SB_STEP_EXEC: {
		const char *cmd = r->argv[0];

		if (m->error == ENOENT && !m->index)
			buf_printf(&b, "%s:%u:%u: %s: command not found in the sandbox", r->m->path,
				   r->m->command_loc.line, r->m->command_loc.column, cmd);
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
	if (r->setup_failed)
		return;
	if (m->step == SB_STEP_EXEC) {
		r->exec_failed = true;
		r->exec_errno = m->error;
		r->exec_exists = m->index != 0;
	}
	fail_run(r, describe_failure(r, m));
}

/*
 * The overlay of skillbox learn could not be mounted: init bound its directory read-only
 * instead. Recorded for the caller and in the audit trail; the run goes on.
 */
static void on_degraded(struct run *r, const struct sandbox_msg *m)
{
	const struct mount_op *o = NULL;

	if (m->step != SB_STEP_MOUNTS || m->index < 0 || (size_t)m->index >= r->plan->n_ops)
		return;
	o = &r->plan->ops[m->index];
	r->overlay_degraded = true;
	r->overlay_error = m->error;
	if (!r->audit)
		return;
	audit_begin(r->audit, "policy.degraded");
	audit_str(r->audit, "layer", "filesystem");
	audit_str(r->audit, "path", o->inside);
	audit_str(r->audit, "wanted", "overlay, writes discarded");
	audit_str(r->audit, "instead", "read-only");
	audit_str(r->audit, "error", strerror(m->error));
	if (audit_end(r->audit) < 0)
		log_error("audit: writing the audit trail failed");
}

static void handle_sock_init(struct run *r)
{
	for (;;) {
		struct sandbox_msg m;
		int fds[4];
		size_t n_fds = 0;
		ssize_t n =
			recv_with_fds(r->sock_init, &m, sizeof(m), fds, ELEMENTSOF(fds), &n_fds);
		_cleanup_free_ char *error = NULL;

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			run_unwatch(r, r->sock_init);
			r->sock_init = safe_close(r->sock_init);
			return;
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
			break;
		case SB_MSG_FDS:
			if (run_net_receive_fds(r, m.index, fds, n_fds) < 0)
				fail_run(r, strdup("network: receiving the log socket failed"));
			n_fds = 0;
			break;
		case SB_MSG_DEGRADED:
			on_degraded(r, &m);
			break;
		case SB_MSG_NET_READY:
			if (run_net_child_ready(r, &error) < 0)
				fail_run(r, TAKE_PTR(error));
			break;
		default:
			break;
		}
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
	}
}

static void emit_exec(struct run *r)
{
	if (!r->audit || (r->trace & MANIFEST_TRACE_EXEC))
		return;
	audit_begin(r->audit, "proc.exec");
	audit_int(r->audit, "pid", 2);
	if (r->skill_pid > 0)
		audit_int(r->audit, "host_pid", r->skill_pid);
	audit_int(r->audit, "ppid", 1);
	audit_str(r->audit, "path", r->argv[0]);
	audit_array_begin(r->audit, "argv");
	STRV_FOREACH (a, r->argv)
		audit_str(r->audit, NULL, *a);
	audit_array_end(r->audit);
	audit_str(r->audit, "workdir", r->spec.workdir);
	if (audit_end(r->audit) < 0)
		log_error("audit: writing the audit trail failed");
}

static int fetch_listener(struct run *r, int number)
{
	struct sandbox_msg ack = { .type = SB_MSG_ACK };
	int fd;

	if (r->skill_pidfd < 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_getfd, r->skill_pidfd, number, 0);
	if (fd < 0)
		return -errno;
	r->notify_fd = fd;
	if (run_watch(r, fd, WATCH_NOTIFY) < 0)
		return -errno;
	if (write(r->sock_skill, &ack, sizeof(ack)) != sizeof(ack))
		return -EPIPE;
	return 0;
}

static void handle_sock_skill(struct run *r)
{
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
			return;
		if (n <= 0) {
			/* The descriptor closes at execve: EOF without a failure is success. */
			run_unwatch(r, r->sock_skill);
			r->sock_skill = safe_close(r->sock_skill);
			if (!r->setup_failed && !r->execed) {
				r->execed = true;
				emit_exec(r);
			}
			return;
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
				fail_run(r, buf_steal(&b));
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

static void handle_signal(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		/* init forwards it to the skill's process group. */
		if (r->init_pidfd >= 0 && !r->init_exited)
			sys_pidfd_send_signal(r->init_pidfd, (int)si.ssi_signo, NULL, 0);
	}
}

static void emit_limit_hit(struct run *r, const char *limit, const char *value, const char *action)
{
	if (!r->audit)
		return;
	audit_begin(r->audit, "limit.hit");
	audit_str(r->audit, "limit", limit);
	audit_str(r->audit, "value", value);
	audit_str(r->audit, "action", action);
	if (audit_end(r->audit) < 0)
		log_error("audit: writing the audit trail failed");
}

static void handle_timer(struct run *r)
{
	uint64_t expirations;
	char buf[32];
	uint64_t t = r->opts.timeout_usec != MANIFEST_UNSET ? r->opts.timeout_usec
							    : r->m->limits.timeout_usec;

	if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0 || r->timed_out)
		return;
	r->timed_out = true;
	r->limits_hit |= LIMIT_TIMEOUT;
	emit_limit_hit(r, "timeout", format_duration(buf, sizeof(buf), t),
		       "killed the whole sandbox");
	fprintf(stderr, "skillbox: timeout: the skill ran longer than %s and was killed\n", buf);
	kill_sandbox(r);
}

static void cut_output(struct run *r)
{
	char buf[32];

	r->limits_hit |= LIMIT_OUTPUT;
	emit_limit_hit(r, "output", format_size(buf, sizeof(buf), r->m->limits.output),
		       "output cut; further writes fail with EPIPE");
	/* Closing our ends makes the skill's next write fail with EPIPE (SIGPIPE). */
	run_unwatch(r, r->out_fd);
	run_unwatch(r, r->err_fd);
	r->out_fd = safe_close(r->out_fd);
	r->err_fd = safe_close(r->err_fd);
}

static void handle_output(struct run *r, int fd, int to)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		uint64_t allowed;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			run_unwatch(r, fd);
			if (fd == r->out_fd)
				r->out_fd = safe_close(r->out_fd);
			else
				r->err_fd = safe_close(r->err_fd);
			return;
		}
		allowed = r->m->limits.output - r->output_bytes;
		(void)write_full(to, buf, MIN((uint64_t)n, allowed));
		if ((uint64_t)n > allowed) {
			r->output_bytes += allowed;
			cut_output(r);
			return;
		}
		r->output_bytes += (uint64_t)n;
	}
}

static void reap_init(struct run *r)
{
	int status;
	pid_t p = wait4(r->init_pid, &status, WNOHANG, &r->rusage);

	if (p == r->init_pid) {
		r->init_exited = true;
		r->init_status = status;
	}
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
	return run_watch(r, r->timer_fd, WATCH_TIMER);
}

/* After the run, note the limits the kernel enforced (the skill died of them). */
static void note_rlimit_hits(struct run *r)
{
	const struct manifest_limits *l = &r->m->limits;
	char buf[32];

	if (!r->have_skill_status || !WIFSIGNALED(r->skill_status))
		return;
	if (l->cpu_usec != MANIFEST_UNSET &&
	    (WTERMSIG(r->skill_status) == SIGXCPU ||
	     (WTERMSIG(r->skill_status) == SIGKILL &&
	      (uint64_t)(r->rusage.ru_utime.tv_sec + r->rusage.ru_stime.tv_sec) * USEC_PER_SEC >=
		      l->cpu_usec))) {
		r->limits_hit |= LIMIT_CPU;
		emit_limit_hit(r, "cpu", format_duration(buf, sizeof(buf), l->cpu_usec),
			       "the kernel stopped the skill (RLIMIT_CPU)");
	}
	if (l->file_size != MANIFEST_UNSET && WTERMSIG(r->skill_status) == SIGXFSZ) {
		r->limits_hit |= LIMIT_FILE_SIZE;
		emit_limit_hit(r, "file_size", format_size(buf, sizeof(buf), l->file_size),
			       "the kernel stopped the skill (RLIMIT_FSIZE)");
	}
}

int run_supervise(struct run *r)
{
	_cleanup_free_ char *error = NULL;
	int k;

	r->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (r->ep_fd < 0)
		return log_error_errno(-errno, "epoll_create1");
	fd_set_nonblock(r->sock_init, true);
	fd_set_nonblock(r->sock_skill, true);
	if ((k = run_watch(r, r->init_pidfd, WATCH_INIT_PIDFD)) < 0 ||
	    (k = run_watch(r, r->sock_init, WATCH_SOCK_INIT)) < 0 ||
	    (k = run_watch(r, r->sock_skill, WATCH_SOCK_SKILL)) < 0 ||
	    (k = run_watch(r, r->sig_fd, WATCH_SIGNAL)) < 0)
		return log_error_errno(k, "epoll_ctl");
	if (r->out_fd >= 0) {
		fd_set_nonblock(r->out_fd, true);
		fd_set_nonblock(r->err_fd, true);
		if ((k = run_watch(r, r->out_fd, WATCH_STDOUT)) < 0 ||
		    (k = run_watch(r, r->err_fd, WATCH_STDERR)) < 0)
			return log_error_errno(k, "epoll_ctl");
	}
	k = start_timer(r);
	if (k < 0)
		return log_error_errno(k, "timerfd");

	k = run_net_started(r, &error);
	if (k < 0) {
		fail_run(r, TAKE_PTR(error));
		error = NULL;
	}

	while (!r->init_exited) {
		struct epoll_event evs[16];
		int n = epoll_wait(r->ep_fd, evs, ELEMENTSOF(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			kill_sandbox(r);
			return log_error_errno(-errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)(evs[i].data.u64 >> 32);

			switch (tag) {
			case WATCH_INIT_PIDFD:
				reap_init(r);
				break;
			case WATCH_SOCK_INIT:
				if (r->sock_init >= 0)
					handle_sock_init(r);
				break;
			case WATCH_SOCK_SKILL:
				if (r->sock_skill >= 0)
					handle_sock_skill(r);
				break;
			case WATCH_SIGNAL:
				handle_signal(r);
				break;
			case WATCH_TIMER:
				handle_timer(r);
				break;
			case WATCH_STDOUT:
				if (r->out_fd >= 0)
					handle_output(r, r->out_fd, STDOUT_FILENO);
				break;
			case WATCH_STDERR:
				if (r->err_fd >= 0)
					handle_output(r, r->err_fd, STDERR_FILENO);
				break;
			case WATCH_NOTIFY:
				if (r->notify_fd >= 0 && seccomp_notify_handle(r) < 0) {
					run_unwatch(r, r->notify_fd);
					r->notify_fd = safe_close(r->notify_fd);
				}
				break;
			default:
				if (tag >= WATCH_NET_FIRST &&
				    run_net_handle(r, tag, evs[i].events, &error) < 0) {
					fail_run(r, TAKE_PTR(error));
					error = NULL;
				}
				break;
			}
		}
	}

	/* Everything sandboxed is gone: collect what is still buffered. */
	if (r->sock_init >= 0)
		handle_sock_init(r);
	if (r->sock_skill >= 0)
		handle_sock_skill(r);
	if (r->out_fd >= 0)
		handle_output(r, r->out_fd, STDOUT_FILENO);
	if (r->err_fd >= 0)
		handle_output(r, r->err_fd, STDERR_FILENO);
	while (r->notify_fd >= 0 && seccomp_notify_handle(r) > 0)
		;
	run_net_finish(r);
	note_rlimit_hits(r);
	return 0;
}
