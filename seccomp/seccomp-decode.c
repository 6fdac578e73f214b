/* SPDX-License-Identifier: MIT */
/*
 * Decoding the listener's notifications: what the audit trail and run.summary say about a
 * refused syscall. Its name on its own ABI, its arguments where a reader needs names rather
 * than numbers (socket's family and type, clone's and unshare's flags, ioctl's request,
 * personality's persona, the mode of a chmod, open or mkdir, mknod's type, mode and device,
 * mmap's flags, ptrace's request, the ids of setuid and friends), and a short example
 * ("socket(AF_PACKET)", "getpid (i386)") that is both run.summary's example and the key flood
 * control counts by.
 *
 * Everything decoded is a register value the kernel copied into the notification; no memory
 * of the skill is read. Arguments of a foreign ABI are not decoded: their meaning differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <netinet/in.h>

#include "buf.h"
#include "macros.h"
#include "seccomp-decode.h"

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

/* Where a mode-setting call has its mode, and its open flags (-1: none); mknod and mknodat,
   whose mode has the file type too, are decoded apart. */
static const struct {
	const char *name;
	int mode_arg, flags_arg;
} mode_args[] = {
	{ "chmod", 1, -1 },   { "fchmod", 1, -1 },   { "creat", 1, -1 },
	{ "mkdir", 1, -1 },   { "fchmodat", 2, -1 }, { "fchmodat2", 2, -1 },
	{ "mkdirat", 2, -1 }, { "open", 2, 1 },	     { "openat", 3, 2 },
};

static const struct name_value open_flags[] = {
	NV(O_WRONLY),	 NV(O_RDWR),	 NV(O_CREAT),	NV(O_EXCL),
	NV(O_NOCTTY),	 NV(O_TRUNC),	 NV(O_APPEND),	NV(O_NONBLOCK),
	NV(O_DIRECTORY), NV(O_NOFOLLOW), NV(O_CLOEXEC), { 020000000, "O_TMPFILE" },
};

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
static const struct name_value mmap_types[] = {
	NV(MAP_SHARED),
	NV(MAP_PRIVATE),
	NV(MAP_SHARED_VALIDATE),
	NV(MAP_DROPPABLE),
};
static const struct name_value mmap_flags[] = {
	NV(MAP_ANONYMOUS), NV(MAP_GROWSDOWN), NV(MAP_FIXED),   NV(MAP_NORESERVE),
	NV(MAP_POPULATE),  NV(MAP_STACK),     NV(MAP_HUGETLB), NV(MAP_FIXED_NOREPLACE),
};

static const struct name_value ptrace_requests[] = {
	NV(PTRACE_TRACEME),
	NV(PTRACE_PEEKTEXT),
	NV(PTRACE_PEEKDATA),
	NV(PTRACE_PEEKUSER),
	NV(PTRACE_POKETEXT),
	NV(PTRACE_POKEDATA),
	NV(PTRACE_POKEUSER),
	NV(PTRACE_CONT),
	NV(PTRACE_KILL),
	NV(PTRACE_SINGLESTEP),
#if defined(__x86_64__) || defined(__i386__)
	/* The register requests by number are x86's; aarch64 has only the regset ones. */
	NV(PTRACE_GETREGS),
	NV(PTRACE_SETREGS),
#endif
	NV(PTRACE_ATTACH),
	NV(PTRACE_DETACH),
	NV(PTRACE_SYSCALL),
	NV(PTRACE_SETOPTIONS),
	NV(PTRACE_GETEVENTMSG),
	NV(PTRACE_GETSIGINFO),
	NV(PTRACE_SETSIGINFO),
	NV(PTRACE_GETREGSET),
	NV(PTRACE_SETREGSET),
	NV(PTRACE_SEIZE),
	NV(PTRACE_INTERRUPT),
	NV(PTRACE_LISTEN),
	NV(PTRACE_PEEKSIGINFO),
};

static const struct name_value inet_protocols[] = {
	NV(IPPROTO_IP),	  NV(IPPROTO_ICMP),    NV(IPPROTO_TCP),
	NV(IPPROTO_UDP),  NV(IPPROTO_IPV6),    NV(IPPROTO_RAW),
	NV(IPPROTO_SCTP), NV(IPPROTO_UDPLITE), NV(IPPROTO_ICMPV6),
};

static const struct name_value file_types[] = {
	NV(S_IFREG), NV(S_IFCHR), NV(S_IFBLK), NV(S_IFIFO), NV(S_IFSOCK), NV(S_IFDIR), NV(S_IFLNK),
};

/* setuid() and friends: which arguments are ids, and of what. */
static int id_args(const char *name)
{
	static const struct {
		const char *name;
		int n;
	} calls[] = { { "setuid", 1 },	 { "setgid", 1 },    { "setreuid", 2 },
		      { "setregid", 2 }, { "setresuid", 3 }, { "setresgid", 3 } };

	for (size_t i = 0; name && i < ELEMENTSOF(calls); i++)
		if (streq(name, calls[i].name))
			return calls[i].n;
	return 0;
}

static bool is_mknod(const char *name)
{
	return name && (streq(name, "mknod") || streq(name, "mknodat"));
}

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

static int mode_call(const char *name)
{
	for (size_t i = 0; name && i < ELEMENTSOF(mode_args); i++)
		if (streq(name, mode_args[i].name))
			return (int)i;
	return -1;
}

/* Flag names of t present in v, then what is left in hex; "0" for nothing. */
static void format_bits(struct buf *b, const struct name_value *t, size_t n, uint64_t v)
{
	bool first = true;

	for (size_t i = 0; i < n; i++)
		if (t[i].value && (v & t[i].value) == t[i].value) {
			buf_printf(b, "%s%s", first ? "" : "|", t[i].name);
			v &= ~t[i].value;
			first = false;
		}
	if (v || first)
		buf_printf(b, "%s0x%llx", first ? "" : "|", (unsigned long long)v);
}

static void format_open_flags(struct buf *b, uint64_t v)
{
	uint32_t f = (uint32_t)v;

	/* O_RDONLY is 0: only name it when nothing else is there. */
	if (!(f & O_ACCMODE) && !(f & ~(uint32_t)O_ACCMODE)) {
		buf_puts(b, "O_RDONLY");
		return;
	}
	format_bits(b, open_flags, ELEMENTSOF(open_flags), f);
}

static void format_mmap_flags(struct buf *b, uint64_t v)
{
	const char *type = LOOKUP(mmap_types, v & 0x0f);

	if (type)
		buf_puts(b, type);
	else
		buf_printf(b, "0x%llx", (unsigned long long)(v & 0x0f));
	if (v & ~(uint64_t)0x0f) {
		buf_putc(b, '|');
		format_bits(b, mmap_flags, ELEMENTSOF(mmap_flags), v & ~(uint64_t)0x0f);
	}
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

void seccomp_decode_args(struct audit *a, const struct seccomp_data *d, const char *name)
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
		/* A name for netlink and IP protocols, where the number means little to a reader.
		 */
		if (!pn && (family == AF_INET || family == AF_INET6))
			pn = LOOKUP(inet_protocols, (uint64_t)(uint32_t)d->args[2]);
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
	} else if (streq(name, "ptrace")) {
		const char *rn = LOOKUP(ptrace_requests, d->args[0]);

		audit_object_begin(a, "args");
		if (rn)
			audit_str(a, "request", rn);
		else
			audit_int(a, "request", (int64_t)d->args[0]);
		audit_int(a, "pid", (int)(uint32_t)d->args[1]);
		audit_object_end(a);
	} else if (is_mknod(name)) {
		unsigned m = streq(name, "mknod") ? 1 : 2;
		uint32_t mode = (uint32_t)d->args[m];
		const char *tn = LOOKUP(file_types, mode & S_IFMT);

		audit_object_begin(a, "args");
		if (tn)
			audit_str(a, "type", tn);
		else
			audit_int(a, "type", mode & S_IFMT);
		/* The whole mode, type bits too, as the kernel reads it (umode_t). */
		snprintf(hex, sizeof(hex), "0%o", mode & 0xffff);
		audit_str(a, "mode", hex);
		snprintf(hex, sizeof(hex), "%u:%u", major((dev_t)d->args[m + 1]),
			 minor((dev_t)d->args[m + 1]));
		audit_str(a, "dev", hex);
		audit_object_end(a);
	} else if (mode_call(name) >= 0) {
		int i = mode_call(name);

		/* The kernel reads the mode as umode_t. */
		audit_object_begin(a, "args");
		snprintf(hex, sizeof(hex), "0%o",
			 (unsigned)(d->args[mode_args[i].mode_arg] & 0xffff));
		audit_str(a, "mode", hex);
		if (mode_args[i].flags_arg >= 0) {
			format_open_flags(&b, d->args[mode_args[i].flags_arg]);
			audit_str(a, "flags", buf_str(&b));
		}
		audit_object_end(a);
	} else if (streq(name, "mmap")) {
		audit_object_begin(a, "args");
		audit_uint(a, "length", d->args[1]);
		format_mmap_flags(&b, d->args[3]);
		audit_str(a, "flags", buf_str(&b));
		audit_object_end(a);
	} else if (streq(name, "shmget")) {
		audit_object_begin(a, "args");
		audit_uint(a, "size", d->args[1]);
		audit_object_end(a);
	} else if (id_args(name)) {
		static const char *const keys[3][3] = { { "id" },
							{ "real", "effective" },
							{ "real", "effective", "saved" } };
		int n = id_args(name);

		audit_object_begin(a, "args");
		for (int i = 0; i < n; i++)
			audit_int(a, keys[n - 1][i], (int32_t)(uint32_t)d->args[i]);
		audit_object_end(a);
	}
	buf_done(&b);
}

char *seccomp_decode_example(const struct seccomp_data *d, const char *name, const char *foreign,
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
		/* IP sockets are refused by type (raw, packet) and protocol (ICMP): name them. */
		if ((uint32_t)d->args[0] == AF_INET || (uint32_t)d->args[0] == AF_INET6) {
			const char *tn = LOOKUP(socket_types, (uint32_t)d->args[1] & 0xf);
			const char *ip = LOOKUP(inet_protocols, (uint32_t)d->args[2]);

			if (tn)
				buf_printf(&b, ", %s", tn);
			else
				buf_printf(&b, ", %u", (uint32_t)d->args[1] & 0xf);
			if ((uint32_t)d->args[2]) {
				if (ip)
					buf_printf(&b, ", %s", ip);
				else
					buf_printf(&b, ", %u", (uint32_t)d->args[2]);
			}
		}
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
			buf_printf(&b, "(%s", rn);
		else
			buf_printf(&b, "(0x%x", (uint32_t)d->args[1]);
		/* Upper bits the kernel ignores: another attempt than the plain request. */
		if (d->args[1] >> 32)
			buf_printf(&b, ", raw 0x%llx", (unsigned long long)d->args[1]);
		buf_putc(&b, ')');
	} else if (streq(name, "personality")) {
		buf_printf(&b, "(0x%x)", (uint32_t)d->args[0]);
	} else if (streq(name, "ptrace")) {
		const char *rn = LOOKUP(ptrace_requests, d->args[0]);

		if (rn)
			buf_printf(&b, "(%s)", rn);
		else
			buf_printf(&b, "(%llu)", (unsigned long long)d->args[0]);
	} else if (is_mknod(name)) {
		uint32_t mode = (uint32_t)d->args[streq(name, "mknod") ? 1 : 2];
		const char *tn = LOOKUP(file_types, mode & S_IFMT);

		/* The type (a device is refused) and the permissions (set-id is refused). */
		if (tn)
			buf_printf(&b, "(%s|0%o)", tn, mode & 07777);
		else
			buf_printf(&b, "(0%o)", mode & 0xffff);
	} else if (id_args(name)) {
		buf_putc(&b, '(');
		for (int i = 0; i < id_args(name); i++)
			buf_printf(&b, "%s%d", i ? ", " : "", (int32_t)(uint32_t)d->args[i]);
		buf_putc(&b, ')');
	} else if (mode_call(name) >= 0) {
		buf_printf(&b, "(0%o)",
			   (unsigned)(d->args[mode_args[mode_call(name)].mode_arg] & 0xffff));
	} else if (streq(name, "mmap")) {
		buf_putc(&b, '(');
		format_mmap_flags(&b, d->args[3]);
		buf_putc(&b, ')');
	}
	if (foreign)
		buf_printf(&b, " (%s)", foreign);
	else if (v == SECCOMP_VERDICT_ENOSYS)
		buf_puts(&b, " (ENOSYS)");
	return buf_steal(&b);
}

int seccomp_refusal_decode(const struct seccomp_policy *p, const struct seccomp_data *d,
			   const struct seccomp_class *c, struct seccomp_refusal *ret)
{
	char foreign[32];

	*ret = (struct seccomp_refusal){
		.data = *d,
		.native = c->abi == SECCOMP_ABI_NATIVE,
		.error = c->error ? c->error : seccomp_verdict_errno(c->verdict),
		.abi = seccomp_abi_name(p, c->abi),
		.name = c->name,
	};
	/* Not in the profile's table (unknown, or another ABI's): libseccomp's names. */
	if (!ret->name && c->abi != SECCOMP_ABI_OTHER) {
		ret->resolved =
			seccomp_syscall_resolve_num_arch(seccomp_abi_arch(p, c->abi), d->nr);
		ret->name = ret->resolved;
	}
	if (ret->native) {
		ret->example = seccomp_decode_example(d, ret->name, NULL, c->verdict);
	} else {
		if (ret->abi)
			snprintf(foreign, sizeof(foreign), "%s", ret->abi);
		else
			snprintf(foreign, sizeof(foreign), "arch 0x%x", d->arch);
		ret->example = seccomp_decode_example(d, ret->name, foreign, c->verdict);
	}
	return ret->example ? 0 : -ENOMEM;
}

void seccomp_refusal_done(struct seccomp_refusal *r)
{
	free(r->resolved);
	free(r->example);
	*r = (struct seccomp_refusal){ 0 };
}

void seccomp_refusal_audit(struct audit *a, const struct seccomp_refusal *r, int64_t pid,
			   int64_t host_pid)
{
	audit_int(a, "pid", pid);
	audit_int(a, "host_pid", host_pid);
	audit_str(a, "syscall", r->name);
	if (r->abi) {
		audit_str(a, "abi", r->abi);
	} else {
		char arch[16];

		snprintf(arch, sizeof(arch), "0x%x", r->data.arch);
		audit_str(a, "abi", "unknown");
		audit_str(a, "arch", arch);
	}
	audit_int(a, "nr", r->data.nr);
	audit_str(a, "errno", strerrorname_np(r->error) ? strerrorname_np(r->error) : "EPERM");
	if (r->native)
		seccomp_decode_args(a, &r->data, r->name);
}
