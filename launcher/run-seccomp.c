/* SPDX-License-Identifier: MIT */
/*
 * The seccomp layer of a run, on top of seccomp/.
 *
 * Before clone(): the manifest's syscalls section and the traced kinds become the plain
 * description seccomp/ builds a filter from.
 *
 * While the skill runs: the parent's end of the listener. Each notification is a syscall the
 * filter did not allow outright; seccomp_policy_classify() says what it is (with the table
 * the filter was built from), and we answer: EPERM or ENOSYS for a refusal, which also
 * becomes a syscall.deny event (decoded by seccomp/seccomp-decode.c) and a run.summary
 * example, or "continue" for a traced syscall, whose arguments trace.c reads and turns into
 * a proc.exec, file.open, file.change or net.connect event.
 *
 * The one thing read from /proc for a refusal (the pid inside the sandbox, NSpid) is only
 * used after SECCOMP_IOCTL_NOTIF_ID_VALID has confirmed that the notifying task is still the
 * one waiting, so that a recycled pid cannot lend us someone else's. A traced call is read
 * the same way: read first, check ID_VALID, then use.
 *
 * Tracing only observes: a traced syscall is always continued, whatever its event says, and
 * the kernel then applies the mounts, the ruleset and its own checks to it.
 *
 * The listener is a source of the run's event loop, and everything goes through the run's
 * event sink: syscall.deny is a must-record event, written the first time for each distinct
 * refusal (syscall and decoded argument) and counted after that; the trace events are
 * evidence (event_sink_admit()); every refusal is counted in run.summary
 * (event_sink_refusal()).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "fd-util.h"
#include "macros.h"
#include "run-seccomp.h"
#include "seccomp-decode.h"

static unsigned trace_bits(unsigned manifest_trace)
{
	return (manifest_trace & MANIFEST_TRACE_EXEC ? SECCOMP_TRACE_EXEC : 0) |
	       (manifest_trace & MANIFEST_TRACE_FILES ? SECCOMP_TRACE_FILES : 0) |
	       (manifest_trace & MANIFEST_TRACE_CONNECT ? SECCOMP_TRACE_CONNECT : 0);
}

static void copy_names(const struct manifest_syscall *from, size_t n, struct seccomp_name *to)
{
	for (size_t i = 0; i < n; i++)
		to[i] = (struct seccomp_name){ .name = from[i].name,
					       .nr = from[i].nr,
					       .line = from[i].loc.line,
					       .column = from[i].loc.column,
					       .origin = from[i].loc.file };
}

int run_seccomp_build(const struct manifest *m, unsigned trace, bool limit_shared_memory,
		      bool host_namespaces, struct seccomp_policy **ret, char **ret_error)
{
	size_t n_allow = m->syscalls.n_allow, n_deny = m->syscalls.n_deny;
	_cleanup_free_ struct seccomp_name *names = NULL;
	struct seccomp_spec spec = {
		.profile = m->syscalls.profile == MANIFEST_PROFILE_STRICT ? SECCOMP_PROFILE_STRICT
									  : SECCOMP_PROFILE_DEFAULT,
		.trace = trace_bits(trace),
		.origin = m->path,
		.limit_shared_memory = limit_shared_memory,
		.host_namespaces = host_namespaces,
	};

	/* Most manifests adjust nothing: no allocation then. */
	if (n_allow + n_deny > 0) {
		names = calloc(n_allow + n_deny, sizeof(*names));
		if (!names)
			return -ENOMEM;
		copy_names(m->syscalls.allow, n_allow, names);
		copy_names(m->syscalls.deny, n_deny, names + n_allow);
		spec.allow = names;
		spec.n_allow = n_allow;
		spec.deny = names + n_allow;
		spec.n_deny = n_deny;
	}
	return seccomp_policy_build(&spec, ret, ret_error);
}

/* --- the listener --- */

/* The pid inside the sandbox: the last NSpid field. 0 when it cannot be read. */
static pid_t read_ns_pid(pid_t host_pid)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	const char *line;
	ssize_t n;
	long last = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)host_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	n = read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	line = strstr(buf, "\nNSpid:");
	if (!line)
		return 0;
	line += STRLEN("\nNSpid:");
	for (;;) {
		char *end;
		long v;

		while (*line == ' ' || *line == '\t')
			line++;
		if (*line < '0' || *line > '9')
			break;
		v = strtol(line, &end, 10);
		last = v;
		line = end;
	}
	return last > 0 && last <= INT32_MAX ? (pid_t)last : 0;
}

static int notif_sizes(struct seccomp_notif_sizes *ret)
{
	static struct seccomp_notif_sizes sizes;

	if (!sizes.seccomp_notif) {
		struct seccomp_notif_sizes s;

		if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s) < 0)
			return -errno;
		/* Never smaller than what this code reads and writes. */
		s.seccomp_notif = MAX(s.seccomp_notif, (uint16_t)sizeof(struct seccomp_notif));
		s.seccomp_notif_resp =
			MAX(s.seccomp_notif_resp, (uint16_t)sizeof(struct seccomp_notif_resp));
		sizes = s;
	}
	*ret = sizes;
	return 0;
}

static int respond(int fd, struct seccomp_notif_resp *resp)
{
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0) {
		/* The task was killed while we decided: nothing to answer. */
		if (errno == ENOENT || errno == EINTR)
			return 0;
		return -errno;
	}
	return 0;
}

struct seccomp_listener {
	const struct seccomp_policy *policy;
	int fd;
	struct event_source *source;
	struct trace_context trace; /* its sink is where refusals go too */
	struct seccomp_emulator emulator;
};

/*
 * A traced syscall: read its arguments while the task waits, make sure the notification is
 * still alive (the pid is then still the task's), let the syscall continue, and only then
 * write the event, so the skill runs on while the line is written. The task cannot raise
 * another notification before we are back in the loop, so events stay in order.
 */
static int handle_traced(struct seccomp_listener *l, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp, const char *name)
{
	bool audited = event_sink_audit(l->trace.sink) != NULL;
	struct trace_call call = { 0 };
	bool valid = true;
	int k;

	/* Without an audit trail there is nobody to tell: answer at once. */
	if (audited) {
		trace_collect(&l->trace, req, name, &call);
		valid = ioctl(l->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0;
	}
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	k = respond(l->fd, resp);
	/* A task that died before the answer never made the call; its pid may be reused. */
	if (audited && valid)
		trace_emit(&l->trace, &call);
	trace_call_done(&call);
	return k < 0 ? k : 1;
}

/*
 * A refusal: answer it, then write syscall.deny (flood control permitting) and count it. An
 * emulated call that was refused also names its path and why (path and reason NULL
 * otherwise); its path is part of the example.
 */
static int handle_refused(struct seccomp_listener *l, const struct seccomp_notif *req,
			  struct seccomp_notif_resp *resp, const struct seccomp_class *c,
			  const char *path, const char *reason)
{
	struct event_sink *sink = l->trace.sink;
	struct audit *a = event_sink_audit(sink);
	struct seccomp_refusal refusal;
	struct buf example = BUF_INIT;
	pid_t ns_pid;
	int k;

	ns_pid = read_ns_pid((pid_t)req->pid);
	if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
		ns_pid = 0; /* the task is gone: the pid may be someone else's now */
	resp->error = -c->error;
	k = respond(l->fd, resp);
	if (k < 0)
		return k;

	/* Without memory for the example, the refusal is still written and counted. */
	(void)seccomp_refusal_decode(l->policy, &req->data, c, &refusal);
	if (path && refusal.example)
		buf_printf(&example, "%s %s", refusal.example, path);
	/* The example names the syscall, its decoded argument and a foreign ABI: the key. */
	if (a && event_sink_admit(sink, EVENT_MUST_RECORD, "syscall.deny",
				  path && buf_ok(&example) ? buf_str(&example) : refusal.example)) {
		audit_begin(a, "syscall.deny");
		seccomp_refusal_audit(a, &refusal, ns_pid > 0 ? ns_pid : (int64_t)req->pid,
				      req->pid);
		if (path)
			audit_str(a, "path", path);
		if (reason)
			audit_str(a, "reason", reason);
		event_sink_end(sink);
	}
	event_sink_refusal(sink, REFUSAL_SYSCALL,
			   path && buf_ok(&example) ? buf_str(&example) : refusal.example);
	buf_done(&example);
	seccomp_refusal_done(&refusal);
	return 1;
}

/*
 * A call the parent performs for the skill (--isolation landlock: a mode or time change by
 * path). The emulator answers it, or it is refused like any other.
 */
static int handle_emulated(struct seccomp_listener *l, const struct seccomp_notif *req,
			   struct seccomp_notif_resp *resp, struct seccomp_class *c)
{
	_cleanup_free_ char *path = NULL;
	const char *why = NULL;
	int k = -EOPNOTSUPP;

	if (l->emulator.handle)
		k = l->emulator.handle(l->emulator.userdata, l->fd, req, c->name, resp, &why,
				       &path);
	if (k > 0)
		return respond(l->fd, resp) < 0 ? -EIO : 1;
	if (k < 0 && !why)
		why = "skillbox could not perform it";
	c->verdict = SECCOMP_VERDICT_EPERM;
	return handle_refused(l, req, resp, c, path, why);
}

int seccomp_listener_handle(struct seccomp_listener *l)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	_cleanup_free_ struct seccomp_notif *req = NULL;
	_cleanup_free_ struct seccomp_notif_resp *resp = NULL;
	struct seccomp_notif_sizes sizes = { 0 };
	struct seccomp_class c;
	int k;

	/* Called when epoll said readable, and when draining: never block in RECV. */
	k = poll(&pfd, 1, 0);
	if (k < 0)
		return errno == EINTR ? 0 : -errno;
	if (k == 0)
		return 0;
	if (!(pfd.revents & POLLIN))
		/* POLLHUP: no task uses the filter any more; the listener is done. */
		return pfd.revents & (POLLHUP | POLLERR | POLLNVAL) ? -EPIPE : 0;

	k = notif_sizes(&sizes);
	if (k < 0)
		return k;
	req = calloc(1, sizes.seccomp_notif);
	resp = calloc(1, sizes.seccomp_notif_resp);
	if (!req || !resp)
		return -ENOMEM;
	if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		/* The notifying task died between poll() and here. */
		if (errno == ENOENT || errno == EAGAIN || errno == EINTR)
			return 0;
		return -errno;
	}

	/*
	 * The trail is full and the sandbox is being killed (audit.overflow: stop): nothing more
	 * may happen unrecorded, so no call is answered any more. The task waits in the kernel
	 * until SIGKILL reaches it, instead of running on while the kill is on its way.
	 */
	if (event_sink_overflowed(l->trace.sink))
		return 1;

	seccomp_policy_classify(l->policy, &req->data, &c);
	resp->id = req->id;
	if (c.verdict == SECCOMP_VERDICT_CONTINUE)
		return handle_traced(l, req, resp, c.name);
	if (c.verdict == SECCOMP_VERDICT_EMULATE)
		return handle_emulated(l, req, resp, &c);
	/*
	 * A refusal. SECCOMP_VERDICT_ALLOW cannot reach us (the filter allows those itself); if
	 * it ever did, the filter and the table disagree, and refusing is the safe answer.
	 */
	return handle_refused(l, req, resp, &c, NULL, NULL);
}

/* The listener is done (no task uses the filter) or broken: stop watching it and close it. */
static void listener_close(struct seccomp_listener *l)
{
	l->source = event_source_free(l->source);
	l->fd = safe_close(l->fd);
}

static int on_notify(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct seccomp_listener *l = userdata;

	if (seccomp_listener_handle(l) < 0)
		listener_close(l);
	return 0;
}

int seccomp_listener_new(struct event_loop *loop, const struct seccomp_policy *p, int fd,
			 const struct trace_context *trace, const struct seccomp_emulator *emulator,
			 struct seccomp_listener **ret)
{
	struct seccomp_listener *l = calloc(1, sizeof(*l));
	int k;

	if (!l) {
		safe_close(fd);
		return -ENOMEM;
	}
	*l = (struct seccomp_listener){ .policy = p, .fd = fd, .trace = *trace };
	if (emulator)
		l->emulator = *emulator;
	k = event_add_io(loop, &l->source, fd, EPOLLIN, on_notify, l);
	if (k < 0) {
		seccomp_listener_free(l);
		return k;
	}
	*ret = l;
	return 0;
}

void seccomp_listener_drain(struct seccomp_listener *l)
{
	while (l && l->fd >= 0 && seccomp_listener_handle(l) > 0)
		;
}

struct seccomp_listener *seccomp_listener_free(struct seccomp_listener *l)
{
	if (!l)
		return NULL;
	listener_close(l);
	free(l);
	return NULL;
}
