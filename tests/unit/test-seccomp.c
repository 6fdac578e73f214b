/* SPDX-License-Identifier: MIT */
/*
 * Tests for seccomp/: the syscall layer.
 *
 * - The filter of each profile (default, strict, default with syscalls.allow/deny, default
 *   with every trace bit) is compared, as libseccomp's pseudo-code, with a golden file in
 *   tests/unit/golden/ (SKILLBOX_REGEN_GOLDEN=1 rewrites them).
 * - The exported BPF program is run by a small classic-BPF interpreter over many syscalls,
 *   ABIs and argument values, and every answer is checked against the parent's classifier:
 *   what the filter allows the classifier calls allowed, what the filter notifies it calls
 *   continue/EPERM/ENOSYS, and clone3's ENOSYS comes from the filter. This is what keeps
 *   the single table honest.
 * - The classifier's answers for the cases the issue names, the policy.seccomp event, the
 *   decoded arguments, run.summary examples and fields of syscall.deny, explain, and the
 *   build-time stock programs against libseccomp's, byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "audit.h"
#include "buf.h"
#include "fd-util.h"
#include "json.h"
#include "seccomp-decode.h"
#include "seccomp-internal.h"
#include "seccomp-policy.h"
#include "strv.h"
#include "tap.h"

#define RUN_ID "0b8a4f2e-5c1d-4e7a-9f3b-2d6c8e1a7b40"

/*
 * The profiles under test. "adjusted" is what a manifest with
 *   syscalls: {allow: [kcmp, socket, clone3, sysfs], deny: [getpid, ioctl, unshare]}
 * asks for (test-launcher checks that the launcher turns that manifest into this spec).
 */
static struct seccomp_name adjusted_allow[] = {
	{ "kcmp" }, { "socket" }, { "clone3" }, { "sysfs" }
};
static struct seccomp_name adjusted_deny[] = { { "getpid" }, { "ioctl" }, { "unshare" } };

struct profile {
	const char *name;
	struct seccomp_spec spec;
	struct seccomp_policy *p;
};

static struct profile profiles[] = {
	{ "default", { .profile = SECCOMP_PROFILE_DEFAULT } },
	{ "strict", { .profile = SECCOMP_PROFILE_STRICT } },
	{ "adjusted",
	  { .allow = adjusted_allow,
	    .n_allow = ELEMENTSOF(adjusted_allow),
	    .deny = adjusted_deny,
	    .n_deny = ELEMENTSOF(adjusted_deny),
	    .origin = "test.yaml" } },
	{ "trace", { .trace = SECCOMP_TRACE_EXEC | SECCOMP_TRACE_FILES | SECCOMP_TRACE_CONNECT } },
	{ "memory", { .limit_shared_memory = true } },
	/* --isolation landlock: the skill shares the host's namespaces. */
	{ "host", { .host_namespaces = true } },
	{ "host-strict", { .profile = SECCOMP_PROFILE_STRICT, .host_namespaces = true } },
	{ "host-memory",
	  { .profile = SECCOMP_PROFILE_DEFAULT,
	    .limit_shared_memory = true,
	    .host_namespaces = true } },
};

static struct seccomp_policy *profile(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(profiles); i++)
		if (streq(profiles[i].name, name))
			return profiles[i].p;
	abort();
}

/* Names resolve to numbers as the manifest parser resolves them. */
static void resolve(struct seccomp_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i].nr = seccomp_syscall_resolve_name(v[i].name);
}

static void build_profiles(void)
{
	resolve(adjusted_allow, ELEMENTSOF(adjusted_allow));
	resolve(adjusted_deny, ELEMENTSOF(adjusted_deny));
	for (size_t i = 0; i < ELEMENTSOF(profiles); i++) {
		struct profile *pr = &profiles[i];
		char *error = NULL;
		int r;

		/* libseccomp itself: the golden files compare its pseudo-code. */
		r = seccomp_policy_build_ex(&pr->spec, true, &pr->p, &error);
		if (!ok(r == 0 && pr->p, "%s: seccomp_policy_build() succeeds (%s)", pr->name,
			error ? error : strerror(-r)))
			exit(tap_done());
		free(error);
	}
}

/* --- golden pseudo-code --- */

static char *read_fd_all(int fd, size_t *ret_len)
{
	char *data = NULL;
	size_t len = 0;

	if (lseek(fd, 0, SEEK_SET) < 0 || read_fd_bounded(fd, 16 << 20, &data, &len) < 0)
		return NULL;
	*ret_len = len;
	return data;
}

static void test_golden(void)
{
	const char *arch =
#if defined(__x86_64__)
		"x86_64";
#elif defined(__aarch64__)
		"aarch64";
#else
		NULL;
#endif
	bool regen = getenv("SKILLBOX_REGEN_GOLDEN") && streq(getenv("SKILLBOX_REGEN_GOLDEN"), "1");

	for (size_t i = 0; i < ELEMENTSOF(profiles); i++) {
		_cleanup_close_ int fd = memfd_create("pfc", MFD_CLOEXEC);
		_cleanup_free_ char *got = NULL, *want = NULL;
		size_t got_len = 0, want_len = 0;
		char path[4096];
		int r;

		if (!arch) {
			ok(true, "%s: # SKIP no golden files for this architecture",
			   profiles[i].name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/tests/unit/golden/seccomp-%s.%s.pfc", SOURCE_DIR,
			 profiles[i].name, arch);
		r = seccomp_policy_export_pfc(profiles[i].p, fd);
		got = r >= 0 ? read_fd_all(fd, &got_len) : NULL;
		if (!ok(got, "%s: seccomp_export_pfc() writes the pseudo-code", profiles[i].name))
			continue;
		if (regen) {
			_cleanup_close_ int out =
				open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			ok(out >= 0 && write_full(out, got, got_len) == 0, "%s: rewrote %s",
			   profiles[i].name, path);
			continue;
		}
		if (read_file_bounded(AT_FDCWD, path, 16 << 20, &want, &want_len) < 0) {
			/* x86_64's are in the tree; another architecture's are made on it. */
			if (streq(arch, "x86_64"))
				ok(false, "%s: golden file %s is readable", profiles[i].name, path);
			else
				ok(true,
				   "%s: # SKIP no golden file for %s yet "
				   "(SKILLBOX_REGEN_GOLDEN=1 writes it)",
				   profiles[i].name, arch);
			continue;
		}
		if (!ok(got_len == want_len && memcmp(got, want, got_len) == 0,
			"%s: the filter matches %s", profiles[i].name, path)) {
			/* Show where they part. */
			size_t k = 0, line = 1;

			while (k < got_len && k < want_len && got[k] == want[k])
				line += got[k++] == '\n';
			diag("first difference at line %zu (SKILLBOX_REGEN_GOLDEN=1 rewrites)",
			     line);
		}
	}
}

/* --- a classic BPF interpreter, for what libseccomp emits --- */

static int bpf_run(const struct sock_fprog *prog, const struct seccomp_data *d, uint32_t *ret)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };

	for (size_t pc = 0; pc < prog->len; pc++) {
		const struct sock_filter *f = &prog->filter[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? X : f->k;
		size_t next;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
				if (f->k % 4 || f->k > sizeof(*d) - 4)
					return -EINVAL;
				memcpy(&A, (const char *)d + f->k, 4);
			} else if (f->code == (BPF_LD | BPF_W | BPF_LEN)) {
				A = sizeof(*d);
			} else if (f->code == (BPF_LD | BPF_IMM)) {
				A = f->k;
			} else if (f->code == (BPF_LD | BPF_MEM) && f->k < BPF_MEMWORDS) {
				A = M[f->k];
			} else {
				return -EOPNOTSUPP;
			}
			break;
		case BPF_LDX:
			if (f->code == (BPF_LDX | BPF_IMM))
				X = f->k;
			else if (f->code == (BPF_LDX | BPF_MEM) && f->k < BPF_MEMWORDS)
				X = M[f->k];
			else
				return -EOPNOTSUPP;
			break;
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return -EINVAL;
			M[f->k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD:
				A += src;
				break;
			case BPF_SUB:
				A -= src;
				break;
			case BPF_AND:
				A &= src;
				break;
			case BPF_OR:
				A |= src;
				break;
			case BPF_XOR:
				A ^= src;
				break;
			case BPF_LSH:
				A = src < 32 ? A << src : 0;
				break;
			case BPF_RSH:
				A = src < 32 ? A >> src : 0;
				break;
			case BPF_NEG:
				A = -A;
				break;
			default:
				return -EOPNOTSUPP;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(f->code) == BPF_JA) {
				next = pc + f->k;
			} else {
				bool t;

				switch (BPF_OP(f->code)) {
				case BPF_JEQ:
					t = A == src;
					break;
				case BPF_JGT:
					t = A > src;
					break;
				case BPF_JGE:
					t = A >= src;
					break;
				case BPF_JSET:
					t = A & src;
					break;
				default:
					return -EOPNOTSUPP;
				}
				next = pc + (t ? f->jt : f->jf);
			}
			if (next + 1 >= prog->len)
				return -EINVAL;
			pc = next;
			break;
		case BPF_RET:
			*ret = BPF_RVAL(f->code) == BPF_A ? A : f->k;
			return 0;
		case BPF_MISC:
			if (f->code == (BPF_MISC | BPF_TAX))
				X = A;
			else if (f->code == (BPF_MISC | BPF_TXA))
				A = X;
			else
				return -EOPNOTSUPP;
			break;
		default:
			return -EOPNOTSUPP;
		}
	}
	return -EINVAL;
}

static const char *verdict_name(enum seccomp_verdict v)
{
	static const char *const n[] = { "ALLOW", "FILTER_ENOSYS", "CONTINUE",
					 "EPERM", "ENOSYS",	   "EMULATE" };

	return n[v];
}

/* Does the filter's answer agree with the classifier? */
static bool agrees(uint32_t action, enum seccomp_verdict v)
{
	switch (action) {
	case SECCOMP_RET_ALLOW:
		return v == SECCOMP_VERDICT_ALLOW;
	case SECCOMP_RET_ERRNO | ENOSYS:
		return v == SECCOMP_VERDICT_FILTER_ENOSYS;
	case SECCOMP_RET_USER_NOTIF:
		return v == SECCOMP_VERDICT_CONTINUE || v == SECCOMP_VERDICT_EPERM ||
		       v == SECCOMP_VERDICT_ENOSYS || v == SECCOMP_VERDICT_EMULATE;
	default:
		return false;
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible runs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

/* Argument values around every boundary the profiles compare against. */
static const uint64_t interesting[] = {
	0,
	1,
	1000,
	0x1000003e8u,
	S_IFCHR | 0600,
	S_IFBLK,
	S_IFIFO | 0644,
	SOCK_RAW | SOCK_CLOEXEC,
	IPPROTO_ICMPV6,
	IPPROTO_UDPLITE,
	2,
	3,
	8,
	9,
	10,
	16,
	17,
	AF_PACKET,
	AF_NETLINK,
	NETLINK_AUDIT,
	SIGCHLD,
	0x20000,
	0x20008,
	0x40000,
	0xffffffffu,
	0xffffffffffffffffu,
	0x100000000u,
	0x100000001u,
	0xffffffff00000001u,
	0x10000000au,
	TIOCSTI,
	TIOCSTI - 1,
	TIOCSTI + 1,
	TIOCLINUX,
	TIOCLINUX - 1,
	TIOCLINUX + 1,
	0x100000000u | TIOCSTI,
	0xffffffff00000000u | TIOCLINUX,
	0x8000000000000000u | TIOCSTI,
	0x5410,
	0x541f,
	0x5400,
	0x5500,
	TCGETS,
	FIONREAD,
	FIONBIO,
	FIOCLEX,
	0xffffffff80045430u,
	0x80045430u,
	0x7fffffffu,
	0x80000000u,
	CLONE_NEWUSER | SIGCHLD,
	CLONE_NEWNS | SIGCHLD,
	CLONE_NEWNET,
	CLONE_NEWTIME | SIGCHLD,
	CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
		CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
	CLONE_VM | CLONE_VFORK | SIGCHLD,
	0x7e020000u,
	0x17e020000u,
	0x100000000u | SIGCHLD,
	/* modes, open flags, mmap flags */
	0755,
	04755,
	02755,
	06000,
	0104755,
	0x100000000u | 04755,
	O_CREAT,
	O_WRONLY | O_CREAT | O_TRUNC,
	O_DIRECTORY,
	020000000 | O_DIRECTORY | O_RDWR,
	0x100000000u | O_CREAT,
	MAP_SHARED | MAP_ANONYMOUS,
	MAP_PRIVATE | MAP_ANONYMOUS,
	MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN,
	MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
	MAP_SHARED,
	0x08 | MAP_ANONYMOUS,
	0x100000000u | MAP_SHARED | MAP_ANONYMOUS,
};

struct diff_stats {
	unsigned long checked;
	unsigned long by_verdict[6];
	unsigned long mismatches;
	unsigned long errors;
};

static void check_one(const struct seccomp_policy *p, const struct seccomp_data *d,
		      struct diff_stats *st, const char *profile_name)
{
	struct seccomp_class c;
	uint32_t action = 0;
	int r = bpf_run(seccomp_policy_program(p), d, &action);

	seccomp_policy_classify(p, d, &c);
	st->checked++;
	st->by_verdict[c.verdict]++;
	if (r < 0) {
		if (st->errors++ < 3)
			diag("%s: the interpreter failed (%s) on nr %d", profile_name, strerror(-r),
			     d->nr);
		return;
	}
	if (!agrees(action, c.verdict) && st->mismatches++ < 10)
		diag("%s: arch 0x%x nr %d args %#llx %#llx %#llx: filter 0x%08x, classifier %s",
		     profile_name, d->arch, d->nr, (unsigned long long)d->args[0],
		     (unsigned long long)d->args[1], (unsigned long long)d->args[2], action,
		     verdict_name(c.verdict));
}

static void test_filter_matches_classifier(void)
{
	static const int special_nrs[] = { -1, -2, 1000, 4095, INT32_MAX, INT32_MIN, 0x3fffffff };
#if defined(__x86_64__)
	static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64,
					   0 };
#elif defined(__aarch64__)
	static const uint32_t arches[] = { AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_X86_64,
					   0 };
#else
	static const uint32_t arches[] = { 0 };
#endif
	const int conditional[] = { seccomp_syscall_resolve_name("socket"),
				    seccomp_syscall_resolve_name("ioctl"),
				    seccomp_syscall_resolve_name("clone"),
				    seccomp_syscall_resolve_name("personality"),
				    seccomp_syscall_resolve_name("unshare"),
				    seccomp_syscall_resolve_name("clone3"),
				    seccomp_syscall_resolve_name("chmod"),
				    seccomp_syscall_resolve_name("fchmod"),
				    seccomp_syscall_resolve_name("fchmodat"),
				    seccomp_syscall_resolve_name("fchmodat2"),
				    seccomp_syscall_resolve_name("creat"),
				    seccomp_syscall_resolve_name("open"),
				    seccomp_syscall_resolve_name("openat"),
				    seccomp_syscall_resolve_name("openat2"),
				    seccomp_syscall_resolve_name("mkdir"),
				    seccomp_syscall_resolve_name("mkdirat"),
				    seccomp_syscall_resolve_name("mknod"),
				    seccomp_syscall_resolve_name("mknodat"),
				    seccomp_syscall_resolve_name("mmap"),
				    seccomp_syscall_resolve_name("memfd_create"),
				    seccomp_syscall_resolve_name("shmget"),
				    seccomp_syscall_resolve_name("setuid"),
				    seccomp_syscall_resolve_name("setreuid"),
				    seccomp_syscall_resolve_name("setresuid"),
				    seccomp_syscall_resolve_name("setresgid"),
				    seccomp_syscall_resolve_name("setgroups"),
				    seccomp_syscall_resolve_name("prlimit64"),
				    seccomp_syscall_resolve_name("setpriority"),
				    seccomp_syscall_resolve_name("ioprio_set"),
				    seccomp_syscall_resolve_name("sched_setaffinity"),
				    seccomp_syscall_resolve_name("utimensat") };

	for (size_t pi = 0; pi < ELEMENTSOF(profiles); pi++) {
		const struct seccomp_policy *p = profiles[pi].p;
		struct diff_stats st = {};
		struct seccomp_data d = { .arch = arches[0] };

		/* Every number of every ABI, with a few argument vectors. */
		for (size_t ai = 0; ai < ELEMENTSOF(arches); ai++)
			for (int nr = 0; nr < 600; nr++)
				for (size_t k = 0; k < 4; k++) {
					d = (struct seccomp_data){ .arch = arches[ai], .nr = nr };
					for (int a = 0; a < 6; a++)
						d.args[a] =
							k == 0 ? 0
							       : interesting[rng() %
									     ELEMENTSOF(
										     interesting)];
					check_one(p, &d, &st, profiles[pi].name);
#if defined(__x86_64__)
					/* The same number through the x32 bit. */
					d.nr = (int)(0x40000000u | (unsigned)nr);
					check_one(p, &d, &st, profiles[pi].name);
#endif
				}
		for (size_t i = 0; i < ELEMENTSOF(special_nrs); i++) {
			d = (struct seccomp_data){ .arch = arches[0], .nr = special_nrs[i] };
			check_one(p, &d, &st, profiles[pi].name);
		}
		/* The conditional syscalls, with every pair of interesting first two arguments. */
		for (size_t ci = 0; ci < ELEMENTSOF(conditional); ci++) {
			if (conditional[ci] < 0)
				continue;
			for (size_t i = 0; i < ELEMENTSOF(interesting); i++)
				for (size_t j = 0; j < ELEMENTSOF(interesting); j++)
					for (size_t k = 0; k < 3; k++) {
						d = (struct seccomp_data){ .arch = arches[0],
									   .nr = conditional[ci] };
						d.args[0] = interesting[i];
						d.args[1] = interesting[j];
						d.args[2] = k == 0   ? 0
							    : k == 1 ? NETLINK_AUDIT
								     : rng();
						/* open's mode, openat's and mmap's flags */
						d.args[3] = interesting[(i + j + k) %
									ELEMENTSOF(interesting)];
						if (k == 1)
							d.args[2] =
								interesting[(i * 7 + j) %
									    ELEMENTSOF(
										    interesting)];
						check_one(p, &d, &st, profiles[pi].name);
					}
			/* And random 64-bit values. */
			for (int n = 0; n < 20000; n++) {
				d = (struct seccomp_data){ .arch = arches[0],
							   .nr = conditional[ci] };
				for (int a = 0; a < 6; a++)
					d.args[a] = rng() >> (rng() % 64);
				check_one(p, &d, &st, profiles[pi].name);
			}
		}
		ok(st.errors == 0 && st.mismatches == 0,
		   "%s: the BPF program and the classifier agree on %lu syscalls (allow %lu, "
		   "filter ENOSYS %lu, continue %lu, EPERM %lu, ENOSYS %lu, emulate %lu)",
		   profiles[pi].name, st.checked, st.by_verdict[SECCOMP_VERDICT_ALLOW],
		   st.by_verdict[SECCOMP_VERDICT_FILTER_ENOSYS],
		   st.by_verdict[SECCOMP_VERDICT_CONTINUE], st.by_verdict[SECCOMP_VERDICT_EPERM],
		   st.by_verdict[SECCOMP_VERDICT_ENOSYS], st.by_verdict[SECCOMP_VERDICT_EMULATE]);
	}
}

/* --- the classifier on named cases --- */

static enum seccomp_verdict classify(const char *profile_name, const char *name, uint64_t a0,
				     uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = { .arch = seccomp_arch_native(),
				  .nr = seccomp_syscall_resolve_name(name),
				  .args = { a0, a1, a2 } };
	struct seccomp_class c;

	seccomp_policy_classify(profile(profile_name), &d, &c);
	return c.verdict;
}

#define is_verdict(got, want, ...)                                                       \
	({                                                                               \
		enum seccomp_verdict _g = (got), _w = (want);                            \
		bool _r = ok(_g == _w, __VA_ARGS__);                                     \
		if (!_r)                                                                 \
			diag("got %s, expected %s", verdict_name(_g), verdict_name(_w)); \
		_r;                                                                      \
	})

static void test_classifier(void)
{
	struct seccomp_data d;
	struct seccomp_class c;

	is_verdict(classify("default", "socket", AF_PACKET, SOCK_RAW, 768), SECCOMP_VERDICT_EPERM,
		   "default: socket(AF_PACKET) is refused with EPERM");
	is_verdict(classify("default", "socket", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT),
		   SECCOMP_VERDICT_EPERM, "default: socket(AF_NETLINK, NETLINK_AUDIT) is refused");
	is_verdict(classify("default", "socket", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE),
		   SECCOMP_VERDICT_ALLOW, "default: socket(AF_NETLINK, NETLINK_ROUTE) is allowed");
	is_verdict(classify("default", "socket", AF_INET6, SOCK_STREAM, 0), SECCOMP_VERDICT_ALLOW,
		   "default: socket(AF_INET6) is allowed");
	is_verdict(classify("default", "socket", 0x100000000u | AF_INET, SOCK_STREAM, 0),
		   SECCOMP_VERDICT_ALLOW,
		   "default: socket() compares the family on the low 32 bits, as the kernel does");
	is_verdict(classify("strict", "socket", AF_INET, SOCK_STREAM, 0), SECCOMP_VERDICT_EPERM,
		   "strict: socket(AF_INET) is refused");
	is_verdict(classify("strict", "socket", AF_UNIX, SOCK_STREAM, 0), SECCOMP_VERDICT_ALLOW,
		   "strict: socket(AF_UNIX) is allowed");
	/* What the kernel would refuse a process without capabilities goes through us, audited. */
	is_verdict(classify("default", "socket", AF_INET, SOCK_RAW, IPPROTO_ICMP),
		   SECCOMP_VERDICT_EPERM, "default: a raw IPv4 socket is refused");
	is_verdict(classify("default", "socket", AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 0),
		   SECCOMP_VERDICT_EPERM, "default: a raw IPv6 socket is refused");
	is_verdict(classify("default", "socket", AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
		   SECCOMP_VERDICT_EPERM, "default: an ICMP (ping) socket is refused");
	is_verdict(classify("default", "socket", AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0),
		   SECCOMP_VERDICT_ALLOW, "default: a UDP socket (protocol 0) is allowed");
	is_verdict(classify("default", "socket", AF_INET, SOCK_DGRAM, IPPROTO_UDP),
		   SECCOMP_VERDICT_ALLOW, "default: a UDP socket (IPPROTO_UDP) is allowed");
	is_verdict(classify("default", "socket", AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 262),
		   SECCOMP_VERDICT_ALLOW, "default: a stream socket of any protocol is allowed");
	is_verdict(classify("default", "socket", AF_UNIX, SOCK_RAW, 0), SECCOMP_VERDICT_ALLOW,
		   "default: unix sockets of any type are allowed");
	is_verdict(classify("default", "mknod", 0, S_IFCHR | 0600, makedev(1, 3)),
		   SECCOMP_VERDICT_EPERM, "default: mknod of a device is refused");
	is_verdict(classify("default", "mknod", 0, S_IFCHR, 0), SECCOMP_VERDICT_ALLOW,
		   "default: mknod of a whiteout (0:0) is allowed");
	is_verdict(classify("default", "mknod", 0, S_IFIFO | 0644, 0), SECCOMP_VERDICT_ALLOW,
		   "default: mknod of a FIFO is allowed");
	d = (struct seccomp_data){ .arch = seccomp_arch_native(),
				   .nr = seccomp_syscall_resolve_name("mknodat"),
				   .args = { AT_FDCWD, 0, S_IFBLK | 0600, makedev(8, 0) } };
	seccomp_policy_classify(profile("default"), &d, &c);
	ok(c.verdict == SECCOMP_VERDICT_EPERM && c.error == EPERM,
	   "default: mknodat of a block device is refused with EPERM");
	is_verdict(classify("default", "setuid", 1000, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "default: setuid to the own uid is allowed");
	d = (struct seccomp_data){ .arch = seccomp_arch_native(),
				   .nr = seccomp_syscall_resolve_name("setuid"),
				   .args = { 0 } };
	seccomp_policy_classify(profile("default"), &d, &c);
	ok(c.verdict == SECCOMP_VERDICT_EPERM && c.error == EINVAL,
	   "default: setuid(0) is refused with the kernel's own answer, EINVAL (unmapped)");
	is_verdict(classify("default", "setresuid", 0xffffffffu, 1000, 0xffffffffu),
		   SECCOMP_VERDICT_ALLOW, "default: setresuid(-1, 1000, -1) is allowed");
	is_verdict(classify("default", "setresuid", 0xffffffffu, 0, 0xffffffffu),
		   SECCOMP_VERDICT_EPERM, "default: setresuid(-1, 0, -1) is refused");
	is_verdict(classify("default", "setregid", 1000, 0x1000003e8u, 0), SECCOMP_VERDICT_ALLOW,
		   "default: setregid compares the low 32 bits");
	is_verdict(classify("strict", "setgroups", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "strict: setgroups is refused");
	d = (struct seccomp_data){ .arch = seccomp_arch_native(),
				   .nr = seccomp_syscall_resolve_name("setgroups") };
	seccomp_policy_classify(profile("default"), &d, &c);
	ok(c.verdict == SECCOMP_VERDICT_EPERM && c.error == EPERM,
	   "default: setgroups is refused with EPERM, as the kernel would");
	is_verdict(classify("default", "sysfs", 1, 0, 0), SECCOMP_VERDICT_ENOSYS,
		   "default: a syscall the profile does not know (sysfs) gets ENOSYS");
	d = (struct seccomp_data){ .arch = seccomp_arch_native(), .nr = 1000 };
	seccomp_policy_classify(profile("default"), &d, &c);
	is_verdict(c.verdict, SECCOMP_VERDICT_ENOSYS, "default: syscall 1000 gets ENOSYS");
	is_verdict(classify("default", "openat", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "default: openat is allowed by the filter (no trace)");
	is_verdict(classify("trace", "openat", 0, 0, 0), SECCOMP_VERDICT_CONTINUE,
		   "trace: openat is traced and continued");
	is_verdict(classify("trace", "execve", 0, 0, 0), SECCOMP_VERDICT_CONTINUE,
		   "trace: execve is traced and continued");
	is_verdict(classify("trace", "connect", 0, 0, 0), SECCOMP_VERDICT_CONTINUE,
		   "trace: connect is traced and continued");
	is_verdict(classify("trace", "read", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "trace: read stays allowed by the filter");
	is_verdict(classify("default", "clone3", 0, 0, 0), SECCOMP_VERDICT_FILTER_ENOSYS,
		   "default: clone3 gets ENOSYS from the filter (no notification)");
	is_verdict(classify("default", "clone", CLONE_NEWUSER | SIGCHLD, 0, 0),
		   SECCOMP_VERDICT_EPERM, "default: clone(CLONE_NEWUSER) is refused");
	is_verdict(classify("default", "clone",
			    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
				    CLONE_CHILD_CLEARTID,
			    0, 0),
		   SECCOMP_VERDICT_ALLOW, "default: clone() for a thread is allowed");
	is_verdict(classify("default", "unshare", CLONE_NEWUSER, 0, 0), SECCOMP_VERDICT_EPERM,
		   "default: unshare is refused");
	is_verdict(classify("default", "mount", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "default: mount is refused");
	is_verdict(classify("default", "ioctl", 0, TIOCSTI, 0), SECCOMP_VERDICT_EPERM,
		   "default: ioctl(TIOCSTI) is refused");
	is_verdict(classify("default", "ioctl", 0, 0x100000000u | TIOCSTI, 0),
		   SECCOMP_VERDICT_EPERM, "default: ioctl(TIOCSTI with upper bits set) is refused");
	is_verdict(classify("default", "ioctl", 0, TCGETS, 0), SECCOMP_VERDICT_ALLOW,
		   "default: ioctl(TCGETS) is allowed");
	is_verdict(classify("default", "ioctl", 3, 0xffffffff80045430u, 0), SECCOMP_VERDICT_ALLOW,
		   "default: a sign-extended _IOR request is allowed");
	is_verdict(classify("strict", "ioctl", 3, 0x80045430u, 0), SECCOMP_VERDICT_EPERM,
		   "strict: ioctl(TIOCGPTN) is refused");
	is_verdict(classify("default", "personality", 0xffffffffu, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "default: personality(0xffffffff) is allowed");
	is_verdict(classify("default", "personality", 0x40000, 0, 0), SECCOMP_VERDICT_EPERM,
		   "default: personality(ADDR_NO_RANDOMIZE) is refused");
	is_verdict(classify("strict", "personality", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "strict: personality is refused");
	is_verdict(classify("strict", "shmget", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "strict: shmget is refused");
	is_verdict(classify("adjusted", "getpid", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "syscalls.deny: getpid is refused");
	is_verdict(classify("adjusted", "ioctl", 0, TCGETS, 0), SECCOMP_VERDICT_EPERM,
		   "syscalls.deny: ioctl is refused whatever its request");
	is_verdict(classify("adjusted", "kcmp", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "syscalls.allow: kcmp (refused by default) is allowed");
	is_verdict(classify("adjusted", "socket", AF_PACKET, SOCK_RAW, 0), SECCOMP_VERDICT_ALLOW,
		   "syscalls.allow: socket's argument conditions are replaced by an allow");
	is_verdict(classify("adjusted", "clone3", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "syscalls.allow: clone3 is allowed");
	is_verdict(classify("adjusted", "sysfs", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "syscalls.allow: sysfs (unknown to the profile) is allowed");

	/* Set-user-ID and set-group-ID: refused in every call that sets a mode. */
	is_verdict(classify("default", "chmod", 0, 04755, 0), SECCOMP_VERDICT_EPERM,
		   "default: chmod(04755) is refused");
	is_verdict(classify("default", "chmod", 0, 02755, 0), SECCOMP_VERDICT_EPERM,
		   "default: chmod(02755) is refused");
	is_verdict(classify("default", "chmod", 0, 0755, 0), SECCOMP_VERDICT_ALLOW,
		   "default: chmod(0755) is allowed");
	is_verdict(classify("default", "chmod", 0, 0x100000000u | 0755, 0), SECCOMP_VERDICT_ALLOW,
		   "default: chmod's upper bits do not matter to the mode check");
	is_verdict(classify("default", "fchmod", 3, 04711, 0), SECCOMP_VERDICT_EPERM,
		   "default: fchmod(04711) is refused");
	is_verdict(classify("default", "fchmodat", AT_FDCWD, 0, 06755), SECCOMP_VERDICT_EPERM,
		   "default: fchmodat(06755) is refused");
	is_verdict(classify("default", "fchmodat2", AT_FDCWD, 0, 04755), SECCOMP_VERDICT_EPERM,
		   "default: fchmodat2(04755) is refused");
	is_verdict(classify("default", "mkdir", 0, 02755, 0), SECCOMP_VERDICT_EPERM,
		   "default: mkdir(02755) is refused");
	is_verdict(classify("default", "mkdirat", AT_FDCWD, 0, 0755), SECCOMP_VERDICT_ALLOW,
		   "default: mkdirat(0755) is allowed");
	is_verdict(classify("default", "mknod", 0, S_IFREG | 04755, 0), SECCOMP_VERDICT_EPERM,
		   "default: mknod(S_IFREG|04755) is refused");
	is_verdict(classify("default", "creat", 0, 04755, 0), SECCOMP_VERDICT_EPERM,
		   "default: creat(04755) is refused");
	is_verdict(classify("default", "open", 0, O_WRONLY | O_CREAT, 04755), SECCOMP_VERDICT_EPERM,
		   "default: open(O_CREAT, 04755) is refused");
	is_verdict(classify("default", "open", 0, O_RDONLY, 04755), SECCOMP_VERDICT_ALLOW,
		   "default: open() without O_CREAT ignores the mode, as the kernel does");
	{
		struct seccomp_data od = { .arch = seccomp_arch_native(),
					   .nr = seccomp_syscall_resolve_name("openat"),
					   .args = { (uint64_t)AT_FDCWD, 0, O_WRONLY | O_CREAT,
						     04755 } };

		seccomp_policy_classify(profile("default"), &od, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "default: openat(O_CREAT, 04755) is refused");
		od.args[2] = 020000000 | O_DIRECTORY | O_RDWR;
		seccomp_policy_classify(profile("default"), &od, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "default: openat(O_TMPFILE, 04755) is refused");
		od.args[2] = O_DIRECTORY | O_RDONLY;
		seccomp_policy_classify(profile("default"), &od, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "default: openat(O_DIRECTORY) with a stray mode is allowed");
		od.args[2] = O_WRONLY | O_CREAT;
		od.args[3] = 0644;
		seccomp_policy_classify(profile("trace"), &od, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_CONTINUE,
			   "trace: openat(O_CREAT, 0644) is traced and continued");
		od.args[3] = 04755;
		seccomp_policy_classify(profile("trace"), &od, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "trace: openat(O_CREAT, 04755) is still refused");
	}
	is_verdict(classify("default", "openat2", 0, 0, 0), SECCOMP_VERDICT_ENOSYS,
		   "default: openat2 gets ENOSYS (its mode is in memory)");
	is_verdict(classify("trace", "chmod", 0, 04755, 0), SECCOMP_VERDICT_EPERM,
		   "trace: chmod(04755) is still refused");

	/* limits.memory without a cgroup: what RLIMIT_DATA does not count. */
	{
		struct seccomp_data md = { .arch = seccomp_arch_native(),
					   .nr = seccomp_syscall_resolve_name("mmap"),
					   .args = { 0, 3ULL << 30, PROT_READ | PROT_WRITE,
						     MAP_SHARED | MAP_ANONYMOUS, (uint64_t)-1,
						     0 } };

		seccomp_policy_classify(profile("memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "memory: mmap(MAP_SHARED|MAP_ANONYMOUS) is refused");
		seccomp_policy_classify(profile("default"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "default: mmap(MAP_SHARED|MAP_ANONYMOUS) is allowed without the limit");
		md.args[3] = MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN;
		seccomp_policy_classify(profile("memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM, "memory: MAP_GROWSDOWN is refused");
		md.args[3] = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		seccomp_policy_classify(profile("memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "memory: private anonymous memory is allowed (RLIMIT_DATA counts it)");
		md.args[3] = MAP_SHARED;
		md.args[4] = 3;
		seccomp_policy_classify(profile("memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "memory: a shared mapping of a file is allowed");
		md.args[3] = MAP_SHARED_VALIDATE | MAP_ANONYMOUS;
		seccomp_policy_classify(profile("memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "memory: MAP_SHARED_VALIDATE|MAP_ANONYMOUS is refused");
	}
	is_verdict(classify("memory", "memfd_create", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "memory: memfd_create is refused");
	is_verdict(classify("memory", "shmget", 0, 1 << 20, 0), SECCOMP_VERDICT_EPERM,
		   "memory: shmget is refused");
	is_verdict(classify("default", "memfd_create", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "default: memfd_create is allowed without the limit");
	/* The host's namespaces (--isolation landlock). */
	is_verdict(classify("host", "socket", AF_INET, SOCK_STREAM, 0), SECCOMP_VERDICT_EPERM,
		   "host: socket(AF_INET) is refused");
	is_verdict(classify("host", "socket", AF_INET6, SOCK_DGRAM, 0), SECCOMP_VERDICT_EPERM,
		   "host: socket(AF_INET6, SOCK_DGRAM) is refused");
	is_verdict(classify("host", "socket", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE),
		   SECCOMP_VERDICT_EPERM, "host: socket(AF_NETLINK, NETLINK_ROUTE) is refused");
	is_verdict(classify("host", "socket", AF_UNIX, SOCK_STREAM, 0), SECCOMP_VERDICT_ALLOW,
		   "host: socket(AF_UNIX) is allowed");
	is_verdict(classify("host", "socketpair", AF_UNIX, SOCK_STREAM, 0), SECCOMP_VERDICT_ALLOW,
		   "host: socketpair is allowed");
	is_verdict(classify("host", "shmget", 0, 4096, 0), SECCOMP_VERDICT_EPERM,
		   "host: shmget is refused (no IPC namespace)");
	is_verdict(classify("host", "mq_open", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host: mq_open is refused");
	is_verdict(classify("host", "fchmodat", AT_FDCWD, 0, 0755), SECCOMP_VERDICT_EMULATE,
		   "host: fchmodat (by path) is emulated by the parent");
	is_verdict(classify("host", "chmod", 0, 0755, 0), SECCOMP_VERDICT_EMULATE,
		   "host: chmod is emulated by the parent");
	is_verdict(classify("host", "fchmod", 3, 0755, 0), SECCOMP_VERDICT_ALLOW,
		   "host: fchmod (a descriptor) is allowed");
	is_verdict(classify("host", "fchownat", 3, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host: fchownat is refused (AT_EMPTY_PATH on an O_PATH descriptor included)");
	is_verdict(classify("host", "setxattr", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host: setxattr is refused");
	is_verdict(classify("host", "utimensat", 3, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "host: utimensat(fd, NULL) (futimens) is allowed");
	is_verdict(classify("host", "utimensat", AT_FDCWD, 0x7fff0000, 0), SECCOMP_VERDICT_EMULATE,
		   "host: utimensat by path is emulated by the parent");
	is_verdict(classify("host", "prlimit64", 0, RLIMIT_NOFILE, 0x7fff0000),
		   SECCOMP_VERDICT_ALLOW, "host: prlimit64 of the caller itself is allowed");
	is_verdict(classify("host", "prlimit64", 1234, RLIMIT_NOFILE, 0), SECCOMP_VERDICT_ALLOW,
		   "host: prlimit64 reading another process's limit is allowed");
	is_verdict(classify("host", "prlimit64", 1234, RLIMIT_CPU, 0x7fff0000),
		   SECCOMP_VERDICT_EPERM,
		   "host: prlimit64 setting another process's limit is refused");
	is_verdict(classify("host", "setpriority", PRIO_PROCESS, 0, 10), SECCOMP_VERDICT_ALLOW,
		   "host: setpriority of the caller itself is allowed");
	is_verdict(classify("host", "setpriority", PRIO_USER, 0, 19), SECCOMP_VERDICT_EPERM,
		   "host: setpriority(PRIO_USER) is refused");
	is_verdict(classify("host", "setpriority", PRIO_PROCESS, 1234, 19), SECCOMP_VERDICT_EPERM,
		   "host: setpriority of another process is refused");
	is_verdict(classify("host", "sched_setaffinity", 0, 8, 0), SECCOMP_VERDICT_ALLOW,
		   "host: sched_setaffinity(0) is allowed");
	is_verdict(classify("host", "sched_setaffinity", 1234, 8, 0), SECCOMP_VERDICT_EPERM,
		   "host: sched_setaffinity of another process is refused");
	is_verdict(classify("host", "ioprio_set", 1, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "host: ioprio_set of the caller itself is allowed");
	is_verdict(classify("host", "ioprio_set", 3 /* IOPRIO_WHO_USER */, 0, 0),
		   SECCOMP_VERDICT_EPERM, "host: ioprio_set(IOPRIO_WHO_USER) is refused");
	is_verdict(classify("host", "kill", 1234, SIGKILL, 0), SECCOMP_VERDICT_ALLOW,
		   "host: kill stays allowed (Landlock's signal scope decides)");
	is_verdict(classify("host", "ptrace", 16, 1, 0), SECCOMP_VERDICT_EPERM,
		   "host: ptrace stays refused");
	is_verdict(classify("host-strict", "sched_setaffinity", 0, 8, 0), SECCOMP_VERDICT_ALLOW,
		   "host-strict: sched_setaffinity(0) is allowed");
	is_verdict(classify("host-strict", "sched_setscheduler", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host-strict: what strict refuses stays refused (sched_setscheduler)");
	is_verdict(classify("default", "fchmodat", AT_FDCWD, 0, 0755), SECCOMP_VERDICT_ALLOW,
		   "default: fchmodat stays allowed in the sandbox's own namespaces");

	/* Set-user-ID and set-group-ID in the host's namespaces: the filter's own conditions,
	   and chmod by path goes to the parent, whose emulation refuses the bits itself. */
	is_verdict(classify("host", "fchmod", 3, 04711, 0), SECCOMP_VERDICT_EPERM,
		   "host: fchmod(04711) is refused");
	is_verdict(classify("host", "mkdir", 0, 02755, 0), SECCOMP_VERDICT_EPERM,
		   "host: mkdir(02755) is refused");
	is_verdict(classify("host", "mknod", 0, S_IFREG | 04755, 0), SECCOMP_VERDICT_EPERM,
		   "host: mknod(S_IFREG|04755) is refused");
	is_verdict(classify("host", "open", 0, O_WRONLY | O_CREAT, 04755), SECCOMP_VERDICT_EPERM,
		   "host: open(O_CREAT, 04755) is refused");
	is_verdict(classify("host", "open", 0, O_WRONLY | O_CREAT, 0644), SECCOMP_VERDICT_ALLOW,
		   "host: open(O_CREAT, 0644) is allowed");
	is_verdict(classify("host", "chmod", 0, 04755, 0), SECCOMP_VERDICT_EMULATE,
		   "host: chmod(04755) goes to the parent (which refuses the bits)");
	is_verdict(classify("host", "openat2", 0, 0, 0), SECCOMP_VERDICT_ENOSYS,
		   "host: openat2 gets ENOSYS too");
	is_verdict(classify("host", "setuid", 4242, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "host: setuid is left to the kernel (the skill is its host uid, not 1000)");
	is_verdict(classify("host", "setresgid", 4242, 4242, 4242), SECCOMP_VERDICT_ALLOW,
		   "host: setresgid is left to the kernel");
	is_verdict(classify("host", "setgroups", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host: setgroups stays refused");
	is_verdict(classify("host", "mknod", 0, S_IFCHR | 0600, makedev(1, 3)),
		   SECCOMP_VERDICT_EPERM, "host: mknod of a device stays refused");

	/* limits.memory in the host's namespaces, where there is never a cgroup. */
	{
		struct seccomp_data md = { .arch = seccomp_arch_native(),
					   .nr = seccomp_syscall_resolve_name("mmap"),
					   .args = { 0, 3ULL << 30, PROT_READ | PROT_WRITE,
						     MAP_SHARED | MAP_ANONYMOUS, (uint64_t)-1,
						     0 } };

		seccomp_policy_classify(profile("host-memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_EPERM,
			   "host-memory: mmap(MAP_SHARED|MAP_ANONYMOUS) is refused");
		seccomp_policy_classify(profile("host"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "host: mmap(MAP_SHARED|MAP_ANONYMOUS) is allowed without the limit");
		md.args[3] = MAP_PRIVATE | MAP_ANONYMOUS;
		seccomp_policy_classify(profile("host-memory"), &md, &c);
		is_verdict(c.verdict, SECCOMP_VERDICT_ALLOW,
			   "host-memory: private anonymous memory is allowed");
	}
	is_verdict(classify("host-memory", "memfd_create", 0, 0, 0), SECCOMP_VERDICT_EPERM,
		   "host-memory: memfd_create is refused");
	is_verdict(classify("host-memory", "shmget", 0, 1 << 20, 0), SECCOMP_VERDICT_EPERM,
		   "host-memory: shmget is refused");
	is_verdict(classify("host-memory", "socket", AF_INET, SOCK_STREAM, 0),
		   SECCOMP_VERDICT_EPERM, "host-memory: socket(AF_INET) is still refused");
	is_verdict(classify("host", "memfd_create", 0, 0, 0), SECCOMP_VERDICT_ALLOW,
		   "host: memfd_create is allowed without the limit");

#if defined(__x86_64__)
	d = (struct seccomp_data){ .arch = AUDIT_ARCH_I386, .nr = 20 };
	seccomp_policy_classify(profile("default"), &d, &c);
	is_verdict(c.verdict, SECCOMP_VERDICT_EPERM, "default: i386 getpid is refused");
	is_str(seccomp_abi_name(profile("default"), c.abi), "i386", "  and named i386");
	d = (struct seccomp_data){ .arch = AUDIT_ARCH_X86_64, .nr = 0x40000000 | 39 };
	seccomp_policy_classify(profile("adjusted"), &d, &c);
	is_verdict(c.verdict, SECCOMP_VERDICT_EPERM, "default: x32 getpid is refused");
	is_str(seccomp_abi_name(profile("default"), c.abi), "x32", "  and named x32");
	d = (struct seccomp_data){ .arch = AUDIT_ARCH_X86_64, .nr = -1 };
	seccomp_policy_classify(profile("default"), &d, &c);
	is_verdict(c.verdict, SECCOMP_VERDICT_ENOSYS, "default: syscall -1 is native and unknown");
#endif
	d = (struct seccomp_data){ .arch = 0x12345678, .nr = 1 };
	seccomp_policy_classify(profile("default"), &d, &c);
	is_verdict(c.verdict, SECCOMP_VERDICT_EPERM, "default: an unknown ABI is refused");
	ok(seccomp_abi_name(profile("default"), c.abi) == NULL, "  and has no ABI name");
}

static void check_all_names_resolve(const char *name, void *userdata)
{
	unsigned *bad = userdata;

	if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR) {
		diag("libseccomp does not know %s", name);
		(*bad)++;
	}
}

static void test_tables(void)
{
	unsigned bad = 0;
	size_t n;
	const struct sp_entry *e = seccomp_policy_entries(profile("default"), &n);
	bool sorted = true;

	seccomp_profile_names(check_all_names_resolve, &bad);
	ok(bad == 0, "every name in the profile tables is a syscall libseccomp knows");
	for (size_t i = 1; i < n; i++)
		sorted = sorted && e[i - 1].nr < e[i].nr;
	ok(sorted, "the effective table is sorted by number, without duplicates (%zu entries)", n);
}

/* --- audit --- */

static json_t *member(const json_t *o, const char *key)
{
	return json_object_get(o, key);
}

/* Emits one event with emit() into a memfd and parses it back. */
static json_t *capture(void (*emit)(struct audit *a, void *userdata), void *userdata)
{
	int fd = memfd_create("audit", MFD_CLOEXEC);
	_cleanup_free_ char *data = NULL;
	json_t *n = NULL;
	struct audit *a = NULL;
	size_t len = 0;

	if (fd < 0 || audit_new(fd, RUN_ID, &a) < 0)
		return NULL;
	emit(a, userdata);
	data = read_fd_all(fd, &len);
	audit_free(a);
	if (!data || len == 0 || data[len - 1] != '\n')
		return NULL;
	if (json_parse(data, len - 1, &n, NULL) < 0)
		return NULL;
	return n;
}

static void emit_policy(struct audit *a, void *userdata)
{
	seccomp_policy_audit(userdata, a);
}

static bool array_has(const json_t *arr, const char *s)
{
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (streq(json_string_value(json_array_get(arr, i)) ?: "", s))
			return true;
	return false;
}

static void test_policy_event(void)
{
	struct seccomp_policy *p = profile("adjusted");
	const struct sock_fprog *prog = seccomp_policy_program(p);
	_cleanup_json_decref_ json_t *ev = capture(emit_policy, p);
	char digest[AUDIT_HASH_HEX_LEN + 1];
	json_t *n;

	if (!ok(ev, "policy.seccomp is written as one JSON line"))
		return;
	is_str(member(ev, "event") ? json_string_value(member(ev, "event")) : NULL,
	       "policy.seccomp", "  event is policy.seccomp");
	is_str(member(ev, "profile") ? json_string_value(member(ev, "profile")) : NULL, "default",
	       "  profile is default");
	ok(array_has(member(ev, "allow"), "kcmp") && array_has(member(ev, "deny"), "getpid"),
	   "  allow and deny list the manifest's adjustments");
	n = member(ev, "bpf_instructions");
	ok(json_is_integer(n) && json_integer_value(n) == prog->len, "  bpf_instructions is %u",
	   prog->len);
	audit_sha256_hex(prog->filter, prog->len * sizeof(struct sock_filter), digest);
	is_str(member(ev, "bpf_sha256") ? json_string_value(member(ev, "bpf_sha256")) : NULL,
	       digest, "  bpf_sha256 is the SHA-256 of the program's bytes");
	n = member(ev, "rules");
	ok(json_is_integer(n) && json_integer_value(n) > 100, "  rules is a count (%lld)",
	   n ? (long long)json_integer_value(n) : -1LL);
#if defined(__x86_64__)
	ok(array_has(member(ev, "arches"), "x86_64") && array_has(member(ev, "arches"), "i386") &&
		   array_has(member(ev, "arches"), "x32"),
	   "  arches names x86_64, i386 and x32");
#endif
	is_str(member(ev, "default_action") ? json_string_value(member(ev, "default_action"))
					    : NULL,
	       "notify", "  default_action is notify");

	json_decref(ev);
	ev = capture(emit_policy, profile("trace"));
	ok(ev && array_has(member(ev, "traced"), "openat") &&
		   array_has(member(ev, "traced"), "execve") &&
		   array_has(member(ev, "traced"), "connect") &&
		   !array_has(member(ev, "traced"), "read"),
	   "trace: policy.seccomp lists the traced syscalls");
}

struct args_case {
	const char *name;
	struct seccomp_data d;
};

static void emit_args(struct audit *a, void *userdata)
{
	struct args_case *c = userdata;

	audit_begin(a, "syscall.deny");
	seccomp_decode_args(a, &c->d, c->name);
	audit_end(a);
}

static void test_deny_details(void)
{
	struct args_case sock = { "socket",
				  { .args = { AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 768 } } };
	struct args_case nl = { "socket", { .args = { AF_NETLINK, SOCK_RAW, NETLINK_AUDIT } } };
	struct args_case cl = { "clone", { .args = { CLONE_NEWNS | SIGCHLD } } };
	struct args_case io = { "ioctl", { .args = { 0, 0x100000000u | TIOCSTI } } };
	_cleanup_json_decref_ json_t *ev = NULL;
	json_t *args;
	_cleanup_free_ char *ex1 = NULL, *ex2 = NULL, *ex3 = NULL, *ex4 = NULL, *ex5 = NULL;
	struct seccomp_data d = { .nr = 20 };

	ev = capture(emit_args, &sock);
	args = member(ev, "args");
	ok(args && streq(json_string_value(member(args, "family")), "AF_PACKET") &&
		   streq(json_string_value(member(args, "type")), "SOCK_RAW|SOCK_CLOEXEC") &&
		   json_integer_value(member(args, "protocol")) == 768,
	   "syscall.deny decodes socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, 768)");
	json_decref(ev);
	ev = capture(emit_args, &nl);
	args = member(ev, "args");
	ok(args && streq(json_string_value(member(args, "family")), "AF_NETLINK") &&
		   streq(json_string_value(member(args, "protocol")), "NETLINK_AUDIT"),
	   "syscall.deny names the netlink protocol");
	json_decref(ev);
	ev = capture(emit_args, &cl);
	args = member(ev, "args");
	ok(args && array_has(member(args, "flags"), "CLONE_NEWNS") &&
		   json_array_size(member(args, "flags")) == 1 &&
		   streq(json_string_value(member(args, "exit_signal")), "SIGCHLD"),
	   "syscall.deny decodes clone flags and the exit signal");
	json_decref(ev);
	ev = capture(emit_args, &io);
	args = member(ev, "args");
	ok(args && streq(json_string_value(member(args, "request")), "TIOCSTI") &&
		   streq(json_string_value(member(args, "request_raw")), "0x100005412"),
	   "syscall.deny decodes the ioctl request and keeps the raw value with upper bits");

	ex1 = seccomp_decode_example(&sock.d, "socket", NULL, SECCOMP_VERDICT_EPERM);
	is_str(ex1, "socket(AF_PACKET)", "run.summary example for socket");
	ex2 = seccomp_decode_example(&cl.d, "clone", NULL, SECCOMP_VERDICT_EPERM);
	is_str(ex2, "clone(CLONE_NEWNS)", "run.summary example for clone");
	ex3 = seccomp_decode_example(&d, "getpid", "i386", SECCOMP_VERDICT_EPERM);
	is_str(ex3, "getpid (i386)", "run.summary example for a foreign ABI");
	ex4 = seccomp_decode_example(&nl.d, "socket", NULL, SECCOMP_VERDICT_EPERM);
	is_str(ex4, "socket(AF_NETLINK, NETLINK_AUDIT)", "run.summary example for netlink");
	ex5 = seccomp_decode_example(&d, "sysfs", NULL, SECCOMP_VERDICT_ENOSYS);
	is_str(ex5, "sysfs (ENOSYS)", "run.summary example for an unknown syscall");

	{
		struct args_case ch = { "chmod", { .args = { 0, 0x100000000u | 04755 } } };
		struct args_case op = { "openat",
					{ .args = { (uint64_t)AT_FDCWD, 0,
						    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
						    04755 } } };
		struct args_case mm = { "mmap",
					{ .args = { 0, 1 << 20, 3, MAP_SHARED | MAP_ANONYMOUS,
						    (uint64_t)-1 } } };
		_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;

		json_decref(ev);
		ev = capture(emit_args, &ch);
		args = member(ev, "args");
		ok(args && streq(json_string_value(member(args, "mode")), "04755"),
		   "syscall.deny decodes chmod's mode (the low 16 bits, as umode_t)");
		json_decref(ev);
		ev = capture(emit_args, &op);
		args = member(ev, "args");
		ok(args && streq(json_string_value(member(args, "mode")), "04755") &&
			   streq(json_string_value(member(args, "flags")),
				 "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"),
		   "syscall.deny decodes openat's flags and mode");
		json_decref(ev);
		ev = capture(emit_args, &mm);
		args = member(ev, "args");
		ok(args &&
			   streq(json_string_value(member(args, "flags")),
				 "MAP_SHARED|MAP_ANONYMOUS") &&
			   json_integer_value(member(args, "length")) == 1 << 20,
		   "syscall.deny decodes mmap's flags and length");
		e1 = seccomp_decode_example(&ch.d, "chmod", NULL, SECCOMP_VERDICT_EPERM);
		is_str(e1, "chmod(04755)", "run.summary example for chmod");
		e2 = seccomp_decode_example(&op.d, "openat", NULL, SECCOMP_VERDICT_EPERM);
		is_str(e2, "openat(04755)", "run.summary example for openat");
		e3 = seccomp_decode_example(&mm.d, "mmap", NULL, SECCOMP_VERDICT_EPERM);
		is_str(e3, "mmap(MAP_SHARED|MAP_ANONYMOUS)", "run.summary example for mmap");
	}
}

struct refusal_case {
	const struct seccomp_refusal *r;
	int64_t pid, host_pid;
};

static void emit_refusal(struct audit *a, void *userdata)
{
	const struct refusal_case *c = userdata;

	audit_begin(a, "syscall.deny");
	seccomp_refusal_audit(a, c->r, c->pid, c->host_pid);
	audit_end(a);
}

/* Classify, decode, write: what the listener does with a refused notification. */
static json_t *refuse(const char *profile_name, const struct seccomp_data *d,
		      struct seccomp_refusal *ret)
{
	const struct seccomp_policy *p = profile(profile_name);
	struct seccomp_class c;

	seccomp_policy_classify(p, d, &c);
	if (seccomp_refusal_decode(p, d, &c, ret) < 0)
		return NULL;
	return capture(emit_refusal, &(struct refusal_case){ ret, 7, 4242 });
}

static void test_refusal(void)
{
	struct seccomp_data sock = { .arch = seccomp_arch_native(),
				     .nr = seccomp_syscall_resolve_name("socket"),
				     .args = { AF_PACKET, SOCK_RAW, 768 } };
	struct seccomp_data sysfs = { .arch = seccomp_arch_native(),
				      .nr = seccomp_syscall_resolve_name("sysfs") };
	struct seccomp_data alien = { .arch = 0x12345678, .nr = 1 };
	struct seccomp_refusal r;
	json_t *ev;

	ev = refuse("default", &sock, &r);
	ok(r.error == EPERM && streq(r.name, "socket") && r.native &&
		   streq(r.example, "socket(AF_PACKET)"),
	   "refusal: socket(AF_PACKET) is EPERM, named, with its example");
	ok(ev && json_integer_value(member(ev, "pid")) == 7 &&
		   json_integer_value(member(ev, "host_pid")) == 4242 &&
		   streq(json_string_value(member(ev, "syscall")), "socket") &&
		   streq(json_string_value(member(ev, "errno")), "EPERM") &&
		   json_integer_value(member(ev, "nr")) == sock.nr && member(ev, "args") &&
		   streq(json_string_value(member(member(ev, "args"), "family")), "AF_PACKET"),
	   "refusal: syscall.deny has pid, host_pid, syscall, nr, errno and the decoded args");
	json_decref(ev);
	seccomp_refusal_done(&r);

	ev = refuse("default", &sysfs, &r);
	ok(r.error == ENOSYS && streq(r.example, "sysfs (ENOSYS)") && ev &&
		   streq(json_string_value(member(ev, "syscall")), "sysfs") &&
		   streq(json_string_value(member(ev, "errno")), "ENOSYS"),
	   "refusal: a syscall the profile does not know is ENOSYS, named from libseccomp");
	json_decref(ev);
	seccomp_refusal_done(&r);

	ev = refuse("default", &alien, &r);
	ok(r.error == EPERM && !r.abi && !r.name && !r.native &&
		   streq(r.example, "syscall 1 (arch 0x12345678)") && ev &&
		   streq(json_string_value(member(ev, "abi")), "unknown") &&
		   streq(json_string_value(member(ev, "arch")), "0x12345678") &&
		   !member(ev, "args"),
	   "refusal: an unknown architecture is EPERM, abi unknown with its arch, no args");
	json_decref(ev);
	seccomp_refusal_done(&r);
#if defined(__x86_64__)
	{
		struct seccomp_data i386 = { .arch = AUDIT_ARCH_I386, .nr = 20 };

		ev = refuse("default", &i386, &r);
		ok(r.error == EPERM && streq(r.abi, "i386") && streq(r.name, "getpid") &&
			   streq(r.example, "getpid (i386)") && ev &&
			   streq(json_string_value(member(ev, "abi")), "i386") &&
			   !member(ev, "args"),
		   "refusal: an i386 syscall is EPERM, named on its ABI, arguments not decoded");
		json_decref(ev);
		seccomp_refusal_done(&r);
	}
#endif
}

/* --- explain --- */

static void test_explain(void)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	seccomp_policy_explain(profile("strict"), f);
	fclose(f);
	ok(text && strstr(text, "syscalls: profile strict"), "explain names the profile");
	ok(text && strstr(text, "socket: every family but AF_UNIX") &&
		   strstr(text, "System V IPC") && strstr(text, "personality: every persona"),
	   "explain lists what strict drops");
	ok(text && strstr(text, "clone3: ENOSYS") && strstr(text, "any other syscall: ENOSYS") &&
		   strstr(text, "openat2: ENOSYS"),
	   "explain says what gets ENOSYS");
	ok(text && strstr(text, "chmod: allowed unless the mode has set-user-ID"),
	   "explain states the set-user-ID condition");
	ok(text && strstr(text, "mounts (") && strstr(text, " pivot_root"),
	   "explain lists the refused syscalls");
#if defined(__x86_64__)
	ok(text && strstr(text, "i386") && strstr(text, "x32"),
	   "explain states the foreign-ABI rule");
#endif
	for (const char *l = text; l && *l;) {
		const char *e = strchrnul(l, '\n');

		if (e - l > 100) {
			ok(false, "explain lines fit in 100 columns: %.*s", (int)(e - l), l);
			break;
		}
		l = *e ? e + 1 : e;
	}
}

/*
 * The skillbox binary embeds the stock programs generated at build time; this test links
 * them too and checks that they are exactly what libseccomp builds now, and that a stock
 * manifest uses them while an adjusted one does not.
 */
static void test_stock(void)
{
	static const enum seccomp_profile which[] = { SECCOMP_PROFILE_DEFAULT,
						      SECCOMP_PROFILE_STRICT };

	for (size_t i = 0; i < ELEMENTSOF(which); i++) {
		const struct seccomp_spec spec = { .profile = which[i] };
		struct seccomp_policy *stock = NULL, *fresh = NULL;
		const struct sock_fprog *a, *b;
		char *error = NULL;
		const char *name = seccomp_profile_to_string(which[i]);

		if (seccomp_policy_build(&spec, &stock, &error) < 0 ||
		    seccomp_policy_build_ex(&spec, true, &fresh, &error) < 0) {
			ok(false, "stock %s: both build (%s)", name, error ? error : "?");
			free(error);
			seccomp_policy_free(stock);
			seccomp_policy_free(fresh);
			continue;
		}
		a = seccomp_policy_program(stock);
		b = seccomp_policy_program(fresh);
		ok(seccomp_policy_is_stock(stock),
		   "stock %s: a plain manifest uses the build-time "
		   "program",
		   name);
		ok(!seccomp_policy_is_stock(fresh), "stock %s: forcing libseccomp does not", name);
		ok(a->len == b->len &&
			   memcmp(a->filter, b->filter, sizeof(*a->filter) * a->len) == 0,
		   "stock %s: the build-time program equals libseccomp's (%u vs %u instructions)",
		   name, a->len, b->len);
		is_int(seccomp_policy_rules(stock), seccomp_policy_rules(fresh),
		       "stock %s: same rule count", name);
		seccomp_policy_free(stock);
		seccomp_policy_free(fresh);
	}

	/* Every traced variant is prebuilt too, with and without the memory limit, in both
	   kinds of namespaces, and equal to libseccomp's. */
	for (unsigned v = 1; v < 32; v++) {
		unsigned t = v & 7;
		const struct seccomp_spec spec = { .profile = SECCOMP_PROFILE_DEFAULT,
						   .trace = t,
						   .limit_shared_memory = v & 8,
						   .host_namespaces = v & 16 };
		struct seccomp_policy *stock = NULL, *fresh = NULL;
		char *error = NULL;

		if (seccomp_policy_build(&spec, &stock, &error) < 0 ||
		    seccomp_policy_build_ex(&spec, true, &fresh, &error) < 0) {
			ok(false, "stock trace %u%s%s: both build (%s)", t, v & 8 ? " memory" : "",
			   v & 16 ? " host" : "", error ? error : "?");
		} else {
			const struct sock_fprog *a = seccomp_policy_program(stock),
						*b = seccomp_policy_program(fresh);

			ok(seccomp_policy_is_stock(stock) && a->len == b->len &&
				   memcmp(a->filter, b->filter, sizeof(*a->filter) * a->len) == 0,
			   "stock trace %u%s%s: prebuilt, and equal to libseccomp's", t,
			   v & 8 ? " memory" : "", v & 16 ? " host" : "");
		}
		free(error);
		seccomp_policy_free(stock);
		seccomp_policy_free(fresh);
	}
	{
		const struct seccomp_name deny = { .name = "getpid", .nr = SCMP_SYS(getpid) };
		const struct seccomp_spec spec = { .deny = &deny, .n_deny = 1 };
		struct seccomp_policy *p = NULL;
		char *error = NULL;

		if (seccomp_policy_build(&spec, &p, &error) == 0)
			ok(!seccomp_policy_is_stock(p), "stock: an adjusted profile builds with "
							"libseccomp");
		else
			ok(false, "stock: an adjusted profile builds (%s)", error ? error : "?");
		free(error);
		seccomp_policy_free(p);
	}
}

int main(void)
{
	build_profiles();
	test_golden();
	test_tables();
	test_classifier();
	test_filter_matches_classifier();
	test_policy_event();
	test_deny_details();
	test_refusal();
	test_explain();
	test_stock();
	for (size_t i = 0; i < ELEMENTSOF(profiles); i++)
		seccomp_policy_free(profiles[i].p);
	return tap_done();
}
