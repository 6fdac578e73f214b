/* SPDX-License-Identifier: MIT */
/*
 * The parent's end of the seccomp listener. Each notification is a syscall the filter did not
 * allow outright; seccomp_policy_classify() says what it is (with the table the filter was
 * built from), and we answer: EPERM or ENOSYS for a refusal, which also becomes a syscall.deny
 * event and a run.summary example, or "continue" for a traced syscall, whose arguments
 * trace.c reads and turns into a proc.exec, file.open, file.change or net.connect event.
 *
 * For a refusal, everything decoded is a register value the kernel copied into the
 * notification; no memory of the skill is read. The one thing read from /proc (the pid
 * inside the sandbox, NSpid) is only used after SECCOMP_IOCTL_NOTIF_ID_VALID has confirmed
 * that the notifying task is still the one waiting, so that a recycled pid cannot lend us
 * someone else's. A traced call is read the same way: read first, check ID_VALID, then use.
 *
 * Tracing only observes: a traced syscall is always continued, whatever its event says, and
 * the kernel then applies the mounts, the ruleset and its own checks to it.
 *
 * Flood control (trace_admit()) applies to syscall.deny as to the trace events: per distinct
 * refusal (syscall and decoded argument) the first TRACE_FLOOD_PER_KEY are written, further
 * ones counted and reported as audit.lost when the run ends. Every refusal is still counted
 * in run.summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "fd-util.h"
#include "layers.h"
#include "seccomp-internal.h"
#include "trace.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct name_value {
	uint64_t value;
	const char *name;
};

#define NV(x)                     \
	{                         \
		(uint64_t)(x), #x \
	}

static const struct name_value families[] = {
	NV(AF_UNIX),	   NV(AF_INET),	   NV(AF_AX25),	   NV(AF_IPX),	    NV(AF_APPLETALK),
	NV(AF_NETROM),	   NV(AF_BRIDGE),  NV(AF_ATMPVC),  NV(AF_X25),	    NV(AF_INET6),
	NV(AF_ROSE),	   NV(AF_DECnet),  NV(AF_NETBEUI), NV(AF_SECURITY), NV(AF_KEY),
	NV(AF_NETLINK),	   NV(AF_PACKET),  NV(AF_ASH),	   NV(AF_ECONET),   NV(AF_ATMSVC),
	NV(AF_RDS),	   NV(AF_SNA),	   NV(AF_IRDA),	   NV(AF_PPPOX),    NV(AF_WANPIPE),
	NV(AF_LLC),	   NV(AF_IB),	   NV(AF_MPLS),	   NV(AF_CAN),	    NV(AF_TIPC),
	NV(AF_BLUETOOTH),  NV(AF_IUCV),	   NV(AF_RXRPC),   NV(AF_ISDN),	    NV(AF_PHONET),
	NV(AF_IEEE802154), NV(AF_CAIF),	   NV(AF_ALG),	   NV(AF_NFC),	    NV(AF_VSOCK),
	NV(AF_KCM),	   NV(AF_QIPCRTR), NV(AF_SMC),	   NV(AF_XDP),
#ifdef AF_MCTP
	NV(AF_MCTP),
#endif
};

static const struct name_value socket_types[] = {
	NV(SOCK_STREAM),    NV(SOCK_DGRAM), NV(SOCK_RAW),    NV(SOCK_RDM),
	NV(SOCK_SEQPACKET), NV(SOCK_DCCP),  NV(SOCK_PACKET),
};

static const struct name_value netlink_protocols[] = {
	NV(NETLINK_ROUTE),	NV(NETLINK_USERSOCK),	   NV(NETLINK_FIREWALL),
	NV(NETLINK_SOCK_DIAG),	NV(NETLINK_NFLOG),	   NV(NETLINK_XFRM),
	NV(NETLINK_SELINUX),	NV(NETLINK_ISCSI),	   NV(NETLINK_AUDIT),
	NV(NETLINK_FIB_LOOKUP), NV(NETLINK_CONNECTOR),	   NV(NETLINK_NETFILTER),
	NV(NETLINK_IP6_FW),	NV(NETLINK_DNRTMSG),	   NV(NETLINK_KOBJECT_UEVENT),
	NV(NETLINK_GENERIC),	NV(NETLINK_SCSITRANSPORT), NV(NETLINK_ECRYPTFS),
	NV(NETLINK_RDMA),	NV(NETLINK_CRYPTO),	   NV(NETLINK_SMC),
};

/* Namespace flags first: they are what a reviewer looks for. */
static const struct name_value clone_flags[] = {
	NV(CLONE_NEWUSER),   NV(CLONE_NEWNS),	      NV(CLONE_NEWPID),
	NV(CLONE_NEWNET),    NV(CLONE_NEWIPC),	      NV(CLONE_NEWUTS),
	NV(CLONE_NEWCGROUP), NV(CLONE_NEWTIME),	      NV(CLONE_VM),
	NV(CLONE_FS),	     NV(CLONE_FILES),	      NV(CLONE_SIGHAND),
	NV(CLONE_PIDFD),     NV(CLONE_PTRACE),	      NV(CLONE_VFORK),
	NV(CLONE_PARENT),    NV(CLONE_THREAD),	      NV(CLONE_SYSVSEM),
	NV(CLONE_SETTLS),    NV(CLONE_PARENT_SETTID), NV(CLONE_CHILD_CLEARTID),
	NV(CLONE_DETACHED),  NV(CLONE_UNTRACED),      NV(CLONE_CHILD_SETTID),
	NV(CLONE_IO),
};
#define N_NAMESPACE_FLAGS 8 /* the first entries of clone_flags[] */

static const struct name_value ioctl_requests[] = {
	NV(TIOCSTI),   NV(TIOCLINUX),  NV(TCGETS),     NV(TCSETS),    NV(TCSETSW),
	NV(TCSETSF),   NV(TIOCGWINSZ), NV(TIOCSWINSZ), NV(TIOCGPGRP), NV(TIOCSPGRP),
	NV(TIOCSCTTY), NV(TIOCNOTTY),  NV(TIOCCONS),   NV(FIONREAD),  NV(FIONBIO),
	NV(FIOCLEX),   NV(FIONCLEX),   NV(FIOASYNC),   NV(TIOCGPTN),  NV(TIOCSPTLCK),
};

static const char *lookup(const struct name_value *t, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == v)
			return t[i].name;
	return NULL;
}

#define LOOKUP(t, v) lookup((t), ELEMENTSOF(t), (v))

static bool is_clone(const char *name)
{
	return name && (streq(name, "clone") || streq(name, "unshare"));
}

/* clone()'s low byte is the exit signal, not flags. */
static uint64_t clone_flag_bits(const char *name, uint64_t v)
{
	v &= 0xffffffffu;
	return streq(name, "clone") ? v & ~(uint64_t)0xff : v;
}

static void format_flags(struct buf *b, uint64_t flags, bool namespaces_only)
{
	uint64_t left = flags;
	bool first = true;

	for (size_t i = 0; i < ELEMENTSOF(clone_flags); i++) {
		if (namespaces_only && i >= N_NAMESPACE_FLAGS)
			break;
		if (!(flags & clone_flags[i].value))
			continue;
		buf_printf(b, "%s%s", first ? "" : "|", clone_flags[i].name);
		left &= ~clone_flags[i].value;
		first = false;
	}
	if (left && !namespaces_only)
		buf_printf(b, "%s0x%llx", first ? "" : "|", (unsigned long long)left);
	else if (first)
		buf_puts(b, "0");
}

static void format_socket_type(struct buf *b, uint64_t v)
{
	uint32_t t = (uint32_t)v;
	const char *n = LOOKUP(socket_types, t & 0xf);

	if (n)
		buf_puts(b, n);
	else
		buf_printf(b, "%u", t & 0xf);
	if (t & SOCK_NONBLOCK)
		buf_puts(b, "|SOCK_NONBLOCK");
	if (t & SOCK_CLOEXEC)
		buf_puts(b, "|SOCK_CLOEXEC");
	if (t & ~(uint32_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		buf_printf(b, "|0x%x", t & ~(uint32_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC));
}

void seccomp_notify_audit_args(struct audit *a, const struct seccomp_data *d, const char *name)
{
	struct buf b = BUF_INIT;
	char hex[32];

	if (!name)
		return;
	if (streq(name, "socket")) {
		int family = (int)(uint32_t)d->args[0];
		const char *fn = LOOKUP(families, (uint64_t)(uint32_t)family);
		const char *pn = family == AF_NETLINK
					 ? LOOKUP(netlink_protocols, (uint64_t)(uint32_t)d->args[2])
					 : NULL;

		audit_object_begin(a, "args");
		if (fn)
			audit_str(a, "family", fn);
		else
			audit_int(a, "family", family);
		format_socket_type(&b, d->args[1]);
		audit_str(a, "type", buf_str(&b));
		/* A name for netlink protocols, where the number means little to a reader. */
		if (pn)
			audit_str(a, "protocol", pn);
		else
			audit_int(a, "protocol", (int)(uint32_t)d->args[2]);
		audit_object_end(a);
	} else if (is_clone(name)) {
		uint64_t flags = clone_flag_bits(name, d->args[0]);

		audit_object_begin(a, "args");
		audit_array_begin(a, "flags");
		for (size_t i = 0; i < ELEMENTSOF(clone_flags); i++)
			if (flags & clone_flags[i].value) {
				audit_str(a, NULL, clone_flags[i].name);
				flags &= ~clone_flags[i].value;
			}
		if (flags) {
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)flags);
			audit_str(a, NULL, hex);
		}
		audit_array_end(a);
		if (streq(name, "clone") && (d->args[0] & 0xff)) {
			const char *sig = sigabbrev_np((int)(d->args[0] & 0xff));

			if (sig) {
				buf_printf(&b, "SIG%s", sig);
				audit_str(a, "exit_signal", buf_str(&b));
			} else {
				audit_int(a, "exit_signal", (int64_t)(d->args[0] & 0xff));
			}
		}
		audit_object_end(a);
	} else if (streq(name, "ioctl")) {
		uint32_t req = (uint32_t)d->args[1];
		const char *rn = LOOKUP(ioctl_requests, req);

		audit_object_begin(a, "args");
		audit_int(a, "fd", (int)(uint32_t)d->args[0]);
		snprintf(hex, sizeof(hex), "0x%x", req);
		audit_str(a, "request", rn ? rn : hex);
		/* Upper bits the kernel ignores: worth showing, they are how a filter is dodged. */
		if (d->args[1] >> 32) {
			snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)d->args[1]);
			audit_str(a, "request_raw", hex);
		}
		audit_object_end(a);
	} else if (streq(name, "personality")) {
		audit_object_begin(a, "args");
		snprintf(hex, sizeof(hex), "0x%x", (uint32_t)d->args[0]);
		audit_str(a, "persona", hex);
		audit_object_end(a);
	}
	buf_done(&b);
}

char *seccomp_notify_example(const struct seccomp_data *d, const char *name, const char *foreign,
			     enum seccomp_verdict v)
{
	struct buf b = BUF_INIT;

	if (name)
		buf_puts(&b, name);
	else
		buf_printf(&b, "syscall %d", d->nr);
	if (foreign || !name) {
		/* Arguments of another ABI are not decoded. */
	} else if (streq(name, "socket")) {
		const char *fn = LOOKUP(families, (uint64_t)(uint32_t)d->args[0]);
		const char *pn = (uint32_t)d->args[0] == AF_NETLINK
					 ? LOOKUP(netlink_protocols, (uint64_t)(uint32_t)d->args[2])
					 : NULL;

		if (fn)
			buf_printf(&b, "(%s", fn);
		else
			buf_printf(&b, "(%u", (uint32_t)d->args[0]);
		if (pn)
			buf_printf(&b, ", %s", pn);
		buf_putc(&b, ')');
	} else if (is_clone(name)) {
		uint64_t flags = clone_flag_bits(name, d->args[0]);
		bool ns = false;

		for (size_t i = 0; i < N_NAMESPACE_FLAGS; i++)
			ns = ns || (flags & clone_flags[i].value);
		buf_putc(&b, '(');
		format_flags(&b, flags, ns);
		buf_putc(&b, ')');
	} else if (streq(name, "ioctl")) {
		const char *rn = LOOKUP(ioctl_requests, (uint32_t)d->args[1]);

		if (rn)
			buf_printf(&b, "(%s)", rn);
		else
			buf_printf(&b, "(0x%x)", (uint32_t)d->args[1]);
	} else if (streq(name, "personality")) {
		buf_printf(&b, "(0x%x)", (uint32_t)d->args[0]);
	}
	if (foreign)
		buf_printf(&b, " (%s)", foreign);
	else if (v == SECCOMP_VERDICT_ENOSYS)
		buf_puts(&b, " (ENOSYS)");
	return buf_steal(&b);
}

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

static void emit_deny(struct run *r, const struct seccomp_notif *req, const struct seccomp_class *c,
		      const char *name, const char *abi, pid_t ns_pid, int error)
{
	struct audit *a = r->audit;

	audit_begin(a, "syscall.deny");
	audit_int(a, "pid", ns_pid > 0 ? ns_pid : (int64_t)req->pid);
	audit_int(a, "host_pid", req->pid);
	audit_str(a, "syscall", name);
	if (abi) {
		audit_str(a, "abi", abi);
	} else {
		char arch[16];

		snprintf(arch, sizeof(arch), "0x%x", req->data.arch);
		audit_str(a, "abi", "unknown");
		audit_str(a, "arch", arch);
	}
	audit_int(a, "nr", req->data.nr);
	audit_str(a, "errno", error == EPERM ? "EPERM" : "ENOSYS");
	if (c->abi == SECCOMP_ABI_NATIVE)
		seccomp_notify_audit_args(a, &req->data, name);
	if (audit_end(a) < 0)
		log_error("audit: writing the audit trail failed");
}

/*
 * A traced syscall: read its arguments while the task waits, make sure the notification is
 * still alive (the pid is then still the task's), let the syscall continue, and only then
 * write the event, so the skill runs on while the line is written. The task cannot raise
 * another notification before we are back in the loop, so events stay in order.
 */
static int handle_traced(struct run *r, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp, const char *name)
{
	struct trace_call call = { 0 };
	bool valid = true;
	int k;

	/* Without an audit sink there is nobody to tell: answer at once. */
	if (r->audit) {
		trace_collect(r, req, name, &call);
		valid = ioctl(r->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0;
	}
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	k = respond(r->notify_fd, resp);
	/* A task that died before the answer never made the call; its pid may be reused. */
	if (r->audit && valid)
		trace_emit(r, &call);
	trace_call_done(&call);
	return k < 0 ? k : 1;
}

int seccomp_notify_handle(struct run *r)
{
	struct pollfd pfd = { .fd = r->notify_fd, .events = POLLIN };
	_cleanup_free_ struct seccomp_notif *req = NULL;
	_cleanup_free_ struct seccomp_notif_resp *resp = NULL;
	_cleanup_free_ char *resolved = NULL, *example = NULL;
	struct seccomp_notif_sizes sizes = { 0 };
	struct seccomp_class c;
	const char *name = NULL, *abi;
	pid_t ns_pid = 0;
	int error, k;

	if (!r->seccomp || r->notify_fd < 0)
		return -EBADF;

	/* Called when epoll said readable, and in the drain loop: never block in RECV. */
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
	if (ioctl(r->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		/* The notifying task died between poll() and here. */
		if (errno == ENOENT || errno == EAGAIN || errno == EINTR)
			return 0;
		return -errno;
	}

	seccomp_policy_classify(r->seccomp, &req->data, &c);
	resp->id = req->id;
	if (c.verdict == SECCOMP_VERDICT_CONTINUE)
		return handle_traced(r, req, resp, c.entry ? c.entry->name : NULL);

	/*
	 * A refusal. SECCOMP_VERDICT_ALLOW cannot reach us (the filter allows those itself); if
	 * it ever did, the filter and the table disagree, and refusing is the safe answer.
	 */
	error = c.verdict == SECCOMP_VERDICT_ENOSYS || c.verdict == SECCOMP_VERDICT_FILTER_ENOSYS
			? ENOSYS
			: EPERM;
	ns_pid = read_ns_pid((pid_t)req->pid);
	if (ioctl(r->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0)
		ns_pid = 0; /* the task is gone: the pid may be someone else's now */
	resp->error = -error;
	k = respond(r->notify_fd, resp);
	if (k < 0)
		return k;

	abi = seccomp_abi_name(r->seccomp, c.abi);
	if (c.entry) {
		name = c.entry->name;
	} else if (c.abi != SECCOMP_ABI_OTHER) {
		resolved = seccomp_syscall_resolve_num_arch(seccomp_abi_arch(r->seccomp, c.abi),
							    req->data.nr);
		name = resolved;
	}
	if (c.abi == SECCOMP_ABI_NATIVE) {
		example = seccomp_notify_example(&req->data, name, NULL, c.verdict);
	} else {
		char foreign[32];

		if (abi)
			snprintf(foreign, sizeof(foreign), "%s", abi);
		else
			snprintf(foreign, sizeof(foreign), "arch 0x%x", req->data.arch);
		example = seccomp_notify_example(&req->data, name, foreign, c.verdict);
	}
	/* The example names the syscall, its decoded argument and a foreign ABI: the key. */
	if (r->audit && trace_admit(r, "syscall.deny", example))
		emit_deny(r, req, &c, name, abi, ns_pid, error);
	run_note_refusal(r, REFUSAL_SYSCALL, example);
	return 1;
}
