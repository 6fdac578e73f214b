/* SPDX-License-Identifier: MIT */
/*
 * The syscall policy: a libseccomp filter built in the parent before clone(), exported as a
 * classic BPF program that the skill process loads as its last step before execve().
 *
 * The model. Every syscall the filter does not allow outright goes to the user-notification
 * listener, which the parent holds: the filter's default action, and the action of every
 * refusal, is SCMP_ACT_NOTIFY. The parent classifies the notification with the very table
 * the filter was generated from and answers it:
 *
 *   - EPERM for what the profile (or syscalls.deny) explicitly refuses, and for every syscall
 *     of a foreign ABI (i386 through `int $0x80`, x32 through __X32_SYSCALL_BIT);
 *   - ENOSYS for what the profile does not know, so that libc fallbacks keep working (a
 *     program probing a new syscall sees "not implemented" and uses the old one);
 *   - "continue" for a syscall that is allowed but traced (audit.trace / --trace).
 *
 * Either refusal becomes a syscall.deny audit event; nothing is refused silently, with one
 * documented exception: clone3() gets ENOSYS straight from the filter. Its flags live in a
 * struct in the caller's memory, which a BPF filter cannot read, so it cannot be checked
 * for namespace flags; glibc (2.34 and later) falls back to clone() on ENOSYS, and clone()'s
 * flags are registers the filter does check. Auditing it would only log every
 * pthread_create() and posix_spawn() as a refusal.
 *
 * Arguments. The kernel reads int-typed arguments (socket's family, ioctl's request,
 * personality's persona) as their low 32 bits, whatever the upper half of the register
 * holds. A comparison on the full 64-bit value could be bypassed by setting upper bits
 * (0x1_0000_5412 is TIOCSTI to the kernel), so every such comparison is a masked one on the
 * low 32 bits. libseccomp 2.5 allows one comparison per argument per rule, so "neither
 * TIOCSTI nor TIOCLINUX" becomes a short list of bit-prefix blocks (cond_low32_not_in()).
 *
 * Foreign ABIs (x86_64). The native rules live in one libseccomp context; a second context
 * holds the i386 architecture with no rule at all, so its default action (notify) applies to
 * each of its syscalls, and is merged into the first (seccomp_merge() wants the same default
 * action and attributes). x32 is deliberately not added: x32 syscalls arrive with the x86_64
 * audit arch and __X32_SYSCALL_BIT (0x40000000) set in the number, and for a filter without
 * x32 libseccomp emits, at the top of the x86_64 block, "nr >= 0x40000000 (and not -1) →
 * bad-arch action", which we set to notify as well. This kernel has IA32 emulation but no
 * x32 ABI (CONFIG_X86_X32_ABI is off): seccomp runs before the syscall is dispatched, so the
 * filter still sees arch AUDIT_ARCH_X86_64 and nr 0x40000000 + n (0x40000027 for getpid);
 * without the filter the kernel would answer ENOSYS. We answer EPERM and audit it as abi
 * "x32" either way. On aarch64 the foreign ABI is 32-bit arm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "audit.h"
#include "buf.h"
#include "macros.h"
#include "seccomp-internal.h"
#include "seccomp-policy.h"
#include "strv.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define X32_SYSCALL_BIT 0x40000000u

#if defined(__x86_64__)
#define FOREIGN_ARCH SCMP_ARCH_X86
#elif defined(__aarch64__)
#define FOREIGN_ARCH SCMP_ARCH_ARM
#else
#define FOREIGN_ARCH 0u
#endif

/*
 * clone() cannot ask for a time namespace: its low byte is the exit signal, where
 * CLONE_NEWTIME (0x80) would be. Only clone3() and unshare() can, and both are refused.
 */
#define CLONE_NAMESPACE_FLAGS                                                          \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
	 CLONE_NEWPID | CLONE_NEWNET)

struct sp_group {
	const char *why;
	const char *const *names;
	size_t n;
};

#define NAMES(...)            \
	(const char *const[]) \
	{                     \
		__VA_ARGS__   \
	}
#define GROUP(w, ...)                                                                         \
	{                                                                                     \
		.why = (w), .names = NAMES(__VA_ARGS__), .n = ELEMENTSOF(NAMES(__VA_ARGS__)), \
	}

/*
 * The `default` profile's allow list, in the spirit of the container runtimes' defaults:
 * what ordinary programs, interpreters and compilers use. Names that are not syscalls of the
 * build's architecture (open on aarch64), or that this libseccomp does not know, are
 * skipped: to the filter they are unknown (ENOSYS), and so they are to the classifier.
 */
static const struct sp_group default_allow[] = {
	GROUP("files and descriptors", "read", "write", "readv", "writev", "pread64", "pwrite64",
	      "preadv", "pwritev", "preadv2", "pwritev2", "lseek", "close", "close_range", "dup",
	      "dup2", "dup3", "fcntl", "flock", "fsync", "fdatasync", "sync", "syncfs",
	      "sync_file_range", "fadvise64", "readahead", "fallocate", "ftruncate", "truncate",
	      "sendfile", "copy_file_range", "splice", "tee", "vmsplice", "cachestat"),
	GROUP("paths and metadata", "access", "faccessat", "faccessat2", "stat", "lstat", "fstat",
	      "newfstatat", "statx", "statfs", "fstatfs", "getdents", "getdents64", "getcwd",
	      "chdir", "fchdir", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
	      "link", "linkat", "symlink", "symlinkat", "readlink", "readlinkat", "chown", "fchown",
	      "fchownat", "lchown", "umask", "utime", "utimes", "utimensat", "futimesat",
	      "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr",
	      "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	      "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	      "inotify_rm_watch"),
	GROUP("memory", "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore",
	      "msync", "mlock", "mlock2", "munlock", "mlockall", "munlockall", "memfd_create",
	      "membarrier", "remap_file_pages", "pkey_alloc", "pkey_free", "pkey_mprotect", "mbind",
	      "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node", "map_shadow_stack"),
	GROUP("processes and threads", "fork", "vfork", "execve", "execveat", "exit", "exit_group",
	      "wait4", "waitid", "kill", "tkill", "tgkill", "getpid", "gettid", "getppid",
	      "getpgid", "getpgrp", "setpgid", "getsid", "setsid", "set_tid_address",
	      "set_robust_list", "get_robust_list", "rseq", "arch_prctl", "set_thread_area",
	      "get_thread_area", "prctl", "prlimit64", "getrlimit", "setrlimit", "getrusage",
	      "times", "getpriority", "setpriority", "sched_yield", "sched_getaffinity",
	      "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
	      "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	      "sched_rr_get_interval", "sched_getattr", "sched_setattr", "ioprio_get", "ioprio_set",
	      "pidfd_open", "pidfd_send_signal", "capget", "capset", "seccomp",
	      "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"),
	GROUP("credentials", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	      "getgroups", "setfsuid", "setfsgid"),
	GROUP("signals and time", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
	      "rt_sigsuspend", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
	      "sigaltstack", "signalfd", "signalfd4", "pause", "restart_syscall", "alarm",
	      "getitimer", "setitimer", "clock_gettime", "clock_getres", "clock_nanosleep",
	      "nanosleep", "gettimeofday", "time", "timer_create", "timer_settime", "timer_gettime",
	      "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
	      "timerfd_gettime"),
	GROUP("waiting and events", "poll", "ppoll", "select", "pselect6", "epoll_create",
	      "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd",
	      "eventfd2", "futex", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue"),
	GROUP("pipes and IPC", "pipe", "pipe2", "shmget", "shmat", "shmdt", "shmctl", "semget",
	      "semop", "semtimedop", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open",
	      "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr"),
	GROUP("asynchronous I/O", "io_setup", "io_destroy", "io_submit", "io_cancel",
	      "io_getevents", "io_pgetevents"),
	GROUP("sockets", "socketpair", "bind", "listen", "accept", "accept4", "connect",
	      "getsockname", "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom",
	      "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown"),
	GROUP("system information", "uname", "sysinfo", "getrandom", "getcpu"),
};

/*
 * What the profiles refuse by name: EPERM and a syscall.deny event. Everything here
 * administers the system, widens the sandbox, reaches into another process, or is kernel
 * attack surface that ordinary programs do not need.
 */
static const struct sp_group default_refuse[] = {
	GROUP("mounts", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
	      "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr"),
	GROUP("namespaces", "unshare", "setns"),
	GROUP("other processes", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	      "pidfd_getfd", "process_madvise", "migrate_pages", "move_pages"),
	GROUP("kernel attack surface", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
	      "io_uring_enter", "io_uring_register", "fanotify_init", "lookup_dcookie",
	      "modify_ldt", "iopl", "ioperm"),
	GROUP("kernel keyrings", "keyctl", "add_key", "request_key"),
	GROUP("system administration", "kexec_load", "kexec_file_load", "init_module",
	      "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
	      "quotactl_fd", "sethostname", "setdomainname", "syslog", "vhangup"),
	GROUP("clocks", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex"),
	GROUP("file handles", "name_to_handle_at", "open_by_handle_at"),
	/*
	 * The kernel refuses it anyway (a user namespace with setgroups denied): refused here so
	 * that the attempt is audited rather than failing unseen.
	 */
	GROUP("refused by the kernel without capabilities", "setgroups"),
};

/*
 * `strict` is `default` minus what a pure compute or file-transform skill does not need.
 * It drops:
 *   - sockets other than AF_UNIX (no IPv4, IPv6 or netlink; socketpair stays);
 *   - personality() altogether;
 *   - ioctl() except TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX;
 *   - System V IPC and POSIX message queues;
 *   - Linux AIO (io_setup and friends);
 *   - NUMA memory placement (mbind, set_mempolicy, ...);
 *   - scheduling policy and I/O priority changes (sched_setscheduler, sched_setparam,
 *     sched_setattr, ioprio_set);
 *   - memory locking (mlock family);
 *   - vmsplice and remap_file_pages.
 * Each of these is refused with EPERM and audited. The list is strict_drop[] below plus
 * the three argument conditions, and seccomp_policy_explain() prints it.
 */
static const struct sp_group strict_drop[] = {
	GROUP("System V IPC and POSIX message queues", "shmget", "shmat", "shmdt", "shmctl",
	      "semget", "semop", "semtimedop", "semctl", "msgget", "msgsnd", "msgrcv", "msgctl",
	      "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
	      "mq_getsetattr"),
	GROUP("Linux AIO", "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents",
	      "io_pgetevents"),
	GROUP("NUMA memory placement", "mbind", "set_mempolicy", "get_mempolicy",
	      "set_mempolicy_home_node"),
	GROUP("scheduling policy and I/O priority", "sched_setscheduler", "sched_setparam",
	      "sched_setattr", "ioprio_set"),
	GROUP("memory locking", "mlock", "mlock2", "munlock", "mlockall", "munlockall"),
	GROUP("page-moving tricks", "vmsplice", "remap_file_pages"),
};

/*
 * With limits.memory and no cgroup to count it (spec->limit_shared_memory), memory that no
 * rlimit bounds: RLIMIT_DATA counts private writable mappings only, so a shared anonymous
 * mapping, a memfd or a System V segment could make the host commit any amount (mmap's
 * flags are checked by COND_MMAP; these are refused outright).
 */
static const struct sp_group shared_memory_refuse = GROUP(
	"memory that no rlimit bounds (limits.memory without a cgroup)", "memfd_create", "shmget");

/* The syscalls each trace bit sends through the listener (allowed and continued). */
static const struct sp_group trace_groups[] = {
	GROUP("exec", "execve", "execveat"),
	GROUP("files", "open", "openat", "openat2", "creat", "unlink", "unlinkat", "rename",
	      "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "mkdir", "mkdirat",
	      "mknod", "mknodat", "rmdir", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
	      "fchown", "fchownat", "lchown", "truncate"),
	GROUP("connect", "connect", "sendto", "sendmsg", "sendmmsg"),
};
static const unsigned trace_bits[] = { SECCOMP_TRACE_EXEC, SECCOMP_TRACE_FILES,
				       SECCOMP_TRACE_CONNECT };

/*
 * What a skill sharing the host's namespaces (--isolation landlock) must not do, because a
 * namespace no longer makes it harmless or Landlock does not cover it. Refused with EPERM and
 * audited, like the profile's own refusals.
 */
static const struct sp_group host_refuse[] = {
	GROUP("no IPC namespace: System V IPC and POSIX message queues would be the host's",
	      "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	      "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	      "mq_timedreceive", "mq_notify", "mq_getsetattr"),
	GROUP("ownership, legacy time and extended-attribute changes by path, which Landlock "
	      "does not restrict (fchown, futimens and fsetxattr on an opened file stay "
	      "allowed)",
	      "chown", "lchown", "fchownat", "utime", "utimes", "futimesat", "setxattr",
	      "lsetxattr", "removexattr", "lremovexattr"),
};

/*
 * Mode and time changes by path, which Landlock does not restrict either, are what builds do
 * (the linker's chmod of its output, tar, shutil.copy2): the parent performs them for the
 * skill when the file lies in a write path, and refuses them otherwise (launcher's
 * run-landlock-meta.c).
 */
static const char *const host_emulate[] = { "chmod", "fchmodat", "fchmodat2" };

/* The set-id calls whose conditions name the sandbox user's ids (see apply_host()). */
static const char *const host_set_ids[] = { "setuid",	"setgid",    "setreuid",
					    "setregid", "setresuid", "setresgid" };

/*
 * skillbox's own start-up uses these between loading the filter and execve(): read and write
 * before the parent holds the listener (a notification then would wait for an answer nobody
 * can give), prctl to seal init's memory map again (see launcher/sandbox.c).
 */
static const char *const startup_syscalls[] = { "read", "write", "prctl" };

enum {
	COND_CLONE,
	COND_SOCKET,
	COND_SOCKET_STRICT,
	COND_IOCTL,
	COND_IOCTL_STRICT,
	COND_PERSONALITY,
	COND_MODE_ARG1, /* chmod, fchmod, creat, mkdir */
	COND_MODE_ARG2, /* fchmodat, fchmodat2, mkdirat */
	COND_OPEN,	/* open: flags in arg 1, mode in arg 2 */
	COND_OPENAT,	/* openat: flags in arg 2, mode in arg 3 */
	COND_MMAP,	/* with limit_shared_memory: flags in arg 3 */
	COND_MKNOD,	/* mknod: the file type and mode in arg 1, the device in arg 2 */
	COND_MKNODAT,	/* mknodat: in args 2 and 3 */
	COND_SETUID,
	COND_SETGID,
	COND_SETREUID,
	COND_SETREGID,
	COND_SETRESUID,
	COND_SETRESGID,
	COND_SELF_PID,	   /* arg 0, a pid, is 0: the calling thread */
	COND_SELF_PRIO,	   /* setpriority(PRIO_PROCESS, 0, ...) */
	COND_SELF_IOPRIO,  /* ioprio_set(IOPRIO_WHO_PROCESS, 0, ...) */
	COND_SELF_PRLIMIT, /* prlimit64(0, ...) or reading another's limits */
	COND_UTIMENSAT_FD, /* utimensat(fd, NULL, ...): futimens() */
	_COND_MAX,
};

/*
 * The mode argument of every call that sets one. No file the skill creates or changes may
 * carry set-user-ID or set-group-ID: on the host, a write path's file keeps its bits, and a
 * set-user-ID binary of the sandbox's host uid (or of an unprivileged caller) is a way in
 * for any local user who can reach it. The kernel reads the mode as umode_t, so the two bits
 * are compared exactly; a create's mode only counts with O_CREAT or O_TMPFILE.
 */
#define MODE_SETID (S_ISUID | S_ISGID)
/* The kernel's own O_TMPFILE bit (glibc's __O_TMPFILE also has O_DIRECTORY in it). */
#define O_TMPFILE_BIT 020000000
#define OPEN_CREATES  (O_CREAT | O_TMPFILE_BIT)

/* mmap's flags: the mapping types that commit memory RLIMIT_DATA counts. */
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#define MAP_TYPE_MASK 0x0f

struct seccomp_policy {
	enum seccomp_profile profile;
	unsigned trace;
	bool limit_shared_memory;
	bool host_namespaces;
	uint32_t native_arch;

	struct sp_entry *entries; /* sorted by nr */
	size_t n_entries;
	struct sp_cond conds[_COND_MAX];
	char **owned_names; /* names of the adjustments */
	char **allow_names; /* syscalls.allow / syscalls.deny as written */
	char **deny_names;

	scmp_filter_ctx ctx;
	struct sock_filter *insns;
	struct sock_fprog prog;
	unsigned n_rules;
	unsigned filter_flags;
	bool stock; /* the program came from seccomp-stock.c, not from libseccomp */
	char sha256[AUDIT_HASH_HEX_LEN + 1];
};

/* --- conditions --- */

static int cond_add(struct sp_cond *c, const struct sp_alt *alt)
{
	struct sp_alt *n = reallocarray(c->alts, c->n_alts + 1, sizeof(*c->alts));

	if (!n)
		return -ENOMEM;
	c->alts = n;
	c->alts[c->n_alts++] = *alt;
	return 0;
}

static struct sp_cmp low32_eq(unsigned arg, uint32_t v)
{
	return (struct sp_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .a = 0xffffffffu, .b = v };
}

/* None of the bits of mask are set in the argument (masks below 2^32: exact either way). */
static struct sp_cmp flags_clear(unsigned arg, uint32_t mask)
{
	return (struct sp_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .a = mask, .b = 0 };
}

static struct sp_cmp mode_clear(unsigned arg)
{
	return flags_clear(arg, MODE_SETID);
}

static int cond_low32_in(struct sp_cond *c, unsigned arg, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = cond_add(c, &(struct sp_alt){ .cmp = { low32_eq(arg, v[i]) }, .n = 1 });
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Covers every low-32-bit value but the excluded ones with blocks "the top `bits` bits are
 * those of prefix", each one masked comparison: the smallest such cover. TIOCSTI and
 * TIOCLINUX share their top 28 bits, which makes 28 + 2 * 3 = 34 blocks.
 */
static int cover_low32(struct sp_cond *c, unsigned arg, const uint32_t *ex, size_t n,
		       uint32_t prefix, unsigned bits)
{
	uint32_t mask = bits ? UINT32_MAX << (32 - bits) : 0;
	bool hit = false;
	int r;

	for (size_t i = 0; i < n; i++)
		if ((ex[i] & mask) == prefix)
			hit = true;
	if (!hit)
		return cond_add(c, &(struct sp_alt){ .cmp = { { .arg = arg,
								.op = SCMP_CMP_MASKED_EQ,
								.a = mask,
								.b = prefix } },
						     .n = 1 });
	if (bits == 32)
		return 0;
	r = cover_low32(c, arg, ex, n, prefix, bits + 1);
	if (r < 0)
		return r;
	return cover_low32(c, arg, ex, n, prefix | (UINT32_C(1) << (31 - bits)), bits + 1);
}

/*
 * mknod() makes regular files, FIFOs and sockets for anyone; device nodes only with
 * CAP_MKNOD, which the skill never has (EPERM), except a whiteout (a character device 0:0).
 * The mode is an int and the device a dev_t: low 32 bits compared, as the kernel reads them
 * (the device's upper bits only matter for numbers no whiteout has). Like every call that
 * sets a mode, never with set-user-ID or set-group-ID (MODE_SETID): libseccomp takes one
 * comparison per argument in a rule, so the type and the set-id bits are one masked compare.
 */
static int cond_mknod(struct sp_cond *c, unsigned mode_arg)
{
	static const uint32_t types[] = { 0, S_IFREG, S_IFIFO, S_IFSOCK };
	const uint32_t mask = S_IFMT | MODE_SETID;
	int r = 0;

	c->summary = "allowed for regular files, FIFOs, sockets and whiteouts without S_ISUID or "
		     "S_ISGID; refused for device nodes, which need a capability the skill never "
		     "has";
	for (size_t i = 0; i < ELEMENTSOF(types) && r >= 0; i++)
		r = cond_add(c, &(struct sp_alt){ .cmp = { { .arg = mode_arg,
							     .op = SCMP_CMP_MASKED_EQ,
							     .a = mask,
							     .b = types[i] } },
						  .n = 1 });
	if (r >= 0)
		r = cond_add(c,
			     &(struct sp_alt){
				     .cmp = { { .arg = mode_arg,
						.op = SCMP_CMP_MASKED_EQ,
						.a = mask,
						.b = S_IFCHR },
					      { .arg = mode_arg + 1, .op = SCMP_CMP_EQ, .a = 0 } },
				     .n = 2 });
	return r;
}

/*
 * The sandbox's user namespace maps one uid and one gid: setuid() and friends can only ever
 * "change" to those (or keep, with -1); any other id is unmapped and the kernel answers
 * EINVAL. Refused here with that same answer, so that an attempt to become root (or anyone)
 * is audited instead of failing unseen. Every combination of "own id or -1" per argument.
 */
static int cond_id_args(struct sp_cond *c, const char *summary, uint32_t own, unsigned n_args,
			bool minus_one_ok)
{
	int r = 0;

	c->summary = summary;
	c->refused_errno = EINVAL;
	for (unsigned combo = 0; combo < (1u << n_args) && r >= 0; combo++) {
		struct sp_alt alt = { .n = n_args };

		if (!minus_one_ok && combo)
			break;
		for (unsigned a = 0; a < n_args; a++)
			alt.cmp[a] = low32_eq(a, combo & (1u << a) ? UINT32_MAX : own);
		r = cond_add(c, &alt);
	}
	return r;
}

static int cond_ids(struct sp_cond *c)
{
	static const struct {
		int cond;
		const char *summary;
		bool gid;
		unsigned n_args;
	} ids[] = {
		{ COND_SETUID, "allowed only to the sandbox user's own uid (1000)", false, 1 },
		{ COND_SETGID, "allowed only to the sandbox user's own gid (1000)", true, 1 },
		{ COND_SETREUID, "allowed only with each id the own uid (1000) or -1", false, 2 },
		{ COND_SETREGID, "allowed only with each id the own gid (1000) or -1", true, 2 },
		{ COND_SETRESUID, "allowed only with each id the own uid (1000) or -1", false, 3 },
		{ COND_SETRESGID, "allowed only with each id the own gid (1000) or -1", true, 3 },
	};
	int r = 0;

	/* -1 ("keep") only where there is more than one id to set. */
	for (size_t i = 0; i < ELEMENTSOF(ids) && r >= 0; i++)
		r = cond_id_args(&c[ids[i].cond], ids[i].summary,
				 ids[i].gid ? SECCOMP_SANDBOX_GID : SECCOMP_SANDBOX_UID,
				 ids[i].n_args, ids[i].n_args > 1);
	return r;
}

static int build_conds(struct seccomp_policy *p)
{
	static const uint32_t personas[] = { PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32 | UNAME26,
					     0xffffffffu };
	static const uint32_t inet[] = { AF_INET, AF_INET6 };
	static const uint32_t datagram_protos[] = { 0, IPPROTO_UDP, IPPROTO_UDPLITE };
	static const uint32_t local[] = { AF_UNIX };
	static const uint32_t tty_inject[] = { TIOCSTI, TIOCLINUX };
	static const uint32_t strict_ioctls[] = { TCGETS,  TIOCGWINSZ, TIOCGPGRP, FIONREAD,
						  FIONBIO, FIOCLEX,    FIONCLEX };
	struct sp_cond *c = p->conds;
	int r;

	c[COND_CLONE].summary = "allowed without namespace flags (CLONE_NEWNS, CLONE_NEWCGROUP, "
				"CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, "
				"CLONE_NEWNET); refused with any of them";
	r = cond_add(&c[COND_CLONE], &(struct sp_alt){ .cmp = { { .arg = 0,
								  .op = SCMP_CMP_MASKED_EQ,
								  .a = CLONE_NAMESPACE_FLAGS,
								  .b = 0 } },
						       .n = 1 });
	if (r < 0)
		return r;

	c[COND_SOCKET].summary =
		"allowed for AF_UNIX, AF_NETLINK with NETLINK_ROUTE, and AF_INET and AF_INET6 "
		"stream, seqpacket and UDP datagram sockets; refused for any other family or "
		"netlink protocol, and for raw, packet and ICMP (ping) sockets, which the kernel "
		"refuses a process without capabilities anyway";
	r = cond_low32_in(&c[COND_SOCKET], 0, local, ELEMENTSOF(local));
	if (r >= 0)
		r = cond_add(&c[COND_SOCKET],
			     &(struct sp_alt){
				     .cmp = { low32_eq(0, AF_NETLINK), low32_eq(2, NETLINK_ROUTE) },
				     .n = 2 });
	for (size_t i = 0; i < ELEMENTSOF(inet) && r >= 0; i++) {
		/* The type's low 4 bits; SOCK_NONBLOCK and SOCK_CLOEXEC live above them. */
		r = cond_add(&c[COND_SOCKET], &(struct sp_alt){ .cmp = { low32_eq(0, inet[i]),
									 { .arg = 1,
									   .op = SCMP_CMP_MASKED_EQ,
									   .a = 0xf,
									   .b = SOCK_STREAM } },
								.n = 2 });
		if (r >= 0)
			r = cond_add(&c[COND_SOCKET],
				     &(struct sp_alt){ .cmp = { low32_eq(0, inet[i]),
								{ .arg = 1,
								  .op = SCMP_CMP_MASKED_EQ,
								  .a = 0xf,
								  .b = SOCK_SEQPACKET } },
						       .n = 2 });
		/* Datagrams: UDP (0 is the default) and UDP-Lite, not ICMP (ping sockets). */
		for (size_t k = 0; k < ELEMENTSOF(datagram_protos) && r >= 0; k++)
			r = cond_add(&c[COND_SOCKET],
				     &(struct sp_alt){ .cmp = { low32_eq(0, inet[i]),
								{ .arg = 1,
								  .op = SCMP_CMP_MASKED_EQ,
								  .a = 0xf,
								  .b = SOCK_DGRAM },
								low32_eq(2, datagram_protos[k]) },
						       .n = 3 });
	}
	if (r < 0)
		return r;

	c[COND_SOCKET_STRICT].summary = "allowed for AF_UNIX only";
	r = cond_low32_in(&c[COND_SOCKET_STRICT], 0, local, ELEMENTSOF(local));
	if (r < 0)
		return r;

	c[COND_IOCTL].summary = "allowed unless the request is TIOCSTI or TIOCLINUX (compared on "
				"the low 32 bits, which is what the kernel reads)";
	r = cover_low32(&c[COND_IOCTL], 1, tty_inject, ELEMENTSOF(tty_inject), 0, 0);
	if (r < 0)
		return r;

	c[COND_IOCTL_STRICT].summary = "allowed only for TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, "
				       "FIONBIO, FIOCLEX, FIONCLEX";
	r = cond_low32_in(&c[COND_IOCTL_STRICT], 1, strict_ioctls, ELEMENTSOF(strict_ioctls));
	if (r < 0)
		return r;

	c[COND_PERSONALITY].summary =
		"allowed for 0 (PER_LINUX), 0x8 (PER_LINUX32), 0x20000 "
		"(UNAME26), 0x20008 and 0xffffffff (query); refused otherwise";
	r = cond_low32_in(&c[COND_PERSONALITY], 0, personas, ELEMENTSOF(personas));
	if (r < 0)
		return r;

	c[COND_MODE_ARG1].summary = c[COND_MODE_ARG2].summary =
		"allowed unless the mode has set-user-ID or set-group-ID (04000, 02000)";
	r = cond_add(&c[COND_MODE_ARG1], &(struct sp_alt){ .cmp = { mode_clear(1) }, .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_MODE_ARG2],
			     &(struct sp_alt){ .cmp = { mode_clear(2) }, .n = 1 });
	if (r < 0)
		return r;
	c[COND_OPEN].summary = c[COND_OPENAT].summary =
		"allowed unless it creates (O_CREAT, O_TMPFILE) with set-user-ID or "
		"set-group-ID in the mode";
	r = cond_add(&c[COND_OPEN],
		     &(struct sp_alt){ .cmp = { flags_clear(1, OPEN_CREATES) }, .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_OPEN], &(struct sp_alt){ .cmp = { mode_clear(2) }, .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_OPENAT],
			     &(struct sp_alt){ .cmp = { flags_clear(2, OPEN_CREATES) }, .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_OPENAT], &(struct sp_alt){ .cmp = { mode_clear(3) }, .n = 1 });
	if (r < 0)
		return r;

	/*
	 * What RLIMIT_DATA counts: private mappings. MAP_GROWSDOWN makes a mapping "stack",
	 * which RLIMIT_DATA does not count either (and RLIMIT_STACK only checks growth), so it
	 * is refused with the shared anonymous types. File mappings are bounded by their
	 * files (a tmpfs's size; /dev/zero is /dev/full then, which cannot be mapped).
	 */
	c[COND_MMAP].summary = "allowed for private mappings and for shared mappings of files; "
			       "refused for shared anonymous memory and MAP_GROWSDOWN "
			       "(limits.memory without a cgroup)";
	r = cond_add(&c[COND_MMAP],
		     &(struct sp_alt){ .cmp = { flags_clear(3, MAP_ANONYMOUS | MAP_GROWSDOWN) },
				       .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_MMAP],
			     &(struct sp_alt){ .cmp = { { .arg = 3,
							  .op = SCMP_CMP_MASKED_EQ,
							  .a = MAP_TYPE_MASK | MAP_GROWSDOWN,
							  .b = MAP_PRIVATE } },
					       .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_MMAP],
			     &(struct sp_alt){ .cmp = { { .arg = 3,
							  .op = SCMP_CMP_MASKED_EQ,
							  .a = MAP_TYPE_MASK | MAP_GROWSDOWN,
							  .b = MAP_DROPPABLE } },
					       .n = 1 });
	if (r >= 0)
		r = cond_mknod(&c[COND_MKNOD], 1);
	if (r >= 0)
		r = cond_mknod(&c[COND_MKNODAT], 2);
	if (r < 0)
		return r;
	r = cond_ids(c);
	if (r < 0)
		return r;

	/*
	 * Without a pid namespace other processes of the same user could be named: these only
	 * change the caller itself (pid 0). A thread naming its own tid is refused, too.
	 */
	c[COND_SELF_PID].summary = "allowed for the caller itself (pid 0) only: without a pid "
				   "namespace other processes of the same user could be named";
	r = cond_add(&c[COND_SELF_PID], &(struct sp_alt){ .cmp = { low32_eq(0, 0) }, .n = 1 });
	if (r < 0)
		return r;
	c[COND_SELF_PRIO].summary = "allowed for PRIO_PROCESS of the caller itself (who 0) only";
	r = cond_add(
		&c[COND_SELF_PRIO],
		&(struct sp_alt){ .cmp = { low32_eq(0, PRIO_PROCESS), low32_eq(1, 0) }, .n = 2 });
	if (r < 0)
		return r;
	c[COND_SELF_IOPRIO].summary =
		"allowed for IOPRIO_WHO_PROCESS of the caller itself (who 0) only";
	r = cond_add(&c[COND_SELF_IOPRIO],
		     &(struct sp_alt){
			     .cmp = { low32_eq(0, 1 /* IOPRIO_WHO_PROCESS */), low32_eq(1, 0) },
			     .n = 2 });
	if (r < 0)
		return r;
	c[COND_SELF_PRLIMIT].summary = "allowed for the caller itself (pid 0), and for reading "
				       "another process's limits (new_limit NULL)";
	r = cond_add(&c[COND_SELF_PRLIMIT], &(struct sp_alt){ .cmp = { low32_eq(0, 0) }, .n = 1 });
	if (r >= 0)
		r = cond_add(&c[COND_SELF_PRLIMIT],
			     &(struct sp_alt){ .cmp = { { .arg = 2, .op = SCMP_CMP_EQ, .a = 0 } },
					       .n = 1 });
	if (r < 0)
		return r;
	c[COND_UTIMENSAT_FD].summary = "allowed on a descriptor (pathname NULL, as futimens() "
				       "calls it); by path, performed by skillbox when the file "
				       "lies in a write path, refused otherwise";
	return cond_add(
		&c[COND_UTIMENSAT_FD],
		&(struct sp_alt){ .cmp = { { .arg = 1, .op = SCMP_CMP_EQ, .a = 0 } }, .n = 1 });
}

static bool cmp_holds(const struct sp_cmp *c, const uint64_t *args)
{
	uint64_t v = args[c->arg];

	switch (c->op) {
	case SCMP_CMP_NE:
		return v != c->a;
	case SCMP_CMP_LT:
		return v < c->a;
	case SCMP_CMP_LE:
		return v <= c->a;
	case SCMP_CMP_EQ:
		return v == c->a;
	case SCMP_CMP_GE:
		return v >= c->a;
	case SCMP_CMP_GT:
		return v > c->a;
	case SCMP_CMP_MASKED_EQ:
		return (v & c->a) == c->b;
	default:
		return false;
	}
}

static bool cond_holds(const struct sp_cond *c, const uint64_t *args)
{
	for (size_t i = 0; i < c->n_alts; i++) {
		bool all = true;

		for (unsigned k = 0; k < c->alts[i].n && all; k++)
			all = cmp_holds(&c->alts[i].cmp[k], args);
		if (all)
			return true;
	}
	return false;
}

/* --- the table --- */

static int entry_cmp(const void *a, const void *b)
{
	const struct sp_entry *x = a, *y = b;

	return (x->nr > y->nr) - (x->nr < y->nr);
}

static struct sp_entry *find_entry(const struct seccomp_policy *p, int nr)
{
	struct sp_entry key = { .nr = nr };

	return bsearch(&key, p->entries, p->n_entries, sizeof(*p->entries), entry_cmp);
}

static int append_entry(struct seccomp_policy *p, const struct sp_entry *e)
{
	struct sp_entry *n = reallocarray(p->entries, p->n_entries + 1, sizeof(*p->entries));

	if (!n)
		return -ENOMEM;
	p->entries = n;
	p->entries[p->n_entries++] = *e;
	return 0;
}

/* Sets what nr does, adding it when the table does not have it yet (then unsorted). */
static int set_entry(struct seccomp_policy *p, int nr, const char *name, enum sp_kind kind,
		     const struct sp_cond *cond, enum sp_origin origin, bool *unsorted)
{
	struct sp_entry *e = *unsorted ? NULL : find_entry(p, nr);

	if (*unsorted)
		for (size_t i = 0; i < p->n_entries && !e; i++)
			if (p->entries[i].nr == nr)
				e = &p->entries[i];
	if (!e) {
		*unsorted = true;
		return append_entry(p, &(struct sp_entry){ .nr = nr,
							   .name = name,
							   .kind = kind,
							   .cond = cond,
							   .origin = origin });
	}
	e->kind = kind;
	e->cond = cond;
	e->origin = origin;
	e->group = NULL;
	return 0;
}

static int add_group(struct seccomp_policy *p, const struct sp_group *g, enum sp_kind kind)
{
	for (size_t i = 0; i < g->n; i++) {
		int nr = seccomp_syscall_resolve_name(g->names[i]);
		int r;

		/* Not a syscall of this architecture, or newer than this libseccomp. */
		if (nr < 0)
			continue;
		r = append_entry(p,
				 &(struct sp_entry){ .nr = nr,
						     .name = g->names[i],
						     .kind = kind,
						     .origin = SP_FROM_PROFILE,
						     .group = kind == SP_REFUSE ? g->why : NULL });
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_conditional(struct seccomp_policy *p, const char *name, int cond)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr < 0)
		return 0;
	return append_entry(p, &(struct sp_entry){ .nr = nr,
						   .name = name,
						   .kind = SP_ALLOW_IF,
						   .cond = &p->conds[cond],
						   .origin = SP_FROM_PROFILE });
}

/*
 * The calls that set a file's mode, each with the condition on its mode (mknod's checks the
 * file type too: see cond_mknod()). openat2() is not among them: its mode is in a struct in
 * memory, which a filter cannot read, so it is left unknown (ENOSYS, audited) and callers
 * fall back to openat(), as glibc's open() always does.
 */
static const struct {
	const char *name;
	int cond;
} mode_calls[] = {
	{ "chmod", COND_MODE_ARG1 },	{ "fchmod", COND_MODE_ARG1 },
	{ "creat", COND_MODE_ARG1 },	{ "mkdir", COND_MODE_ARG1 },
	{ "fchmodat", COND_MODE_ARG2 }, { "fchmodat2", COND_MODE_ARG2 },
	{ "mkdirat", COND_MODE_ARG2 },	{ "open", COND_OPEN },
	{ "openat", COND_OPENAT },	{ "mknod", COND_MKNOD },
	{ "mknodat", COND_MKNODAT },
};

static int build_default(struct seccomp_policy *p, char **ret_error)
{
	int nr, r = 0;

	for (size_t i = 0; i < ELEMENTSOF(default_allow) && r >= 0; i++)
		r = add_group(p, &default_allow[i], SP_ALLOW);
	for (size_t i = 0; i < ELEMENTSOF(default_refuse) && r >= 0; i++)
		r = add_group(p, &default_refuse[i], SP_REFUSE);
	if (r >= 0)
		r = add_conditional(p, "clone", COND_CLONE);
	if (r >= 0)
		r = add_conditional(p, "socket", COND_SOCKET);
	if (r >= 0)
		r = add_conditional(p, "ioctl", COND_IOCTL);
	if (r >= 0)
		r = add_conditional(p, "personality", COND_PERSONALITY);
	for (size_t i = 0; i < ELEMENTSOF(mode_calls) && r >= 0; i++)
		r = add_conditional(p, mode_calls[i].name, mode_calls[i].cond);
	{
		static const struct {
			const char *name;
			int cond;
		} ids[] = {
			{ "setuid", COND_SETUID },	 { "setgid", COND_SETGID },
			{ "setreuid", COND_SETREUID },	 { "setregid", COND_SETREGID },
			{ "setresuid", COND_SETRESUID }, { "setresgid", COND_SETRESGID },
		};

		for (size_t i = 0; i < ELEMENTSOF(ids) && r >= 0; i++)
			r = add_conditional(p, ids[i].name, ids[i].cond);
	}
	nr = seccomp_syscall_resolve_name("clone3");
	if (r >= 0 && nr >= 0)
		r = append_entry(p, &(struct sp_entry){ .nr = nr,
							.name = "clone3",
							.kind = SP_ENOSYS,
							.origin = SP_FROM_PROFILE });
	if (r < 0)
		return r;

	qsort(p->entries, p->n_entries, sizeof(*p->entries), entry_cmp);
	for (size_t i = 1; i < p->n_entries; i++)
		if (p->entries[i].nr == p->entries[i - 1].nr) {
			*ret_error = strdup("internal error: the profile lists a syscall twice");
			return -EINVAL;
		}
	return 0;
}

static void apply_strict(struct seccomp_policy *p)
{
	static const struct {
		const char *name;
		int cond; /* -1: refused */
	} changed[] = {
		{ "socket", COND_SOCKET_STRICT },
		{ "ioctl", COND_IOCTL_STRICT },
		{ "personality", -1 },
	};

	for (size_t i = 0; i < ELEMENTSOF(strict_drop); i++)
		for (size_t k = 0; k < strict_drop[i].n; k++) {
			struct sp_entry *e = find_entry(
				p, seccomp_syscall_resolve_name(strict_drop[i].names[k]));

			if (e) {
				e->kind = SP_REFUSE;
				e->origin = SP_FROM_STRICT;
				e->group = strict_drop[i].why;
			}
		}
	for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
		struct sp_entry *e = find_entry(p, seccomp_syscall_resolve_name(changed[i].name));

		if (!e)
			continue;
		e->origin = SP_FROM_STRICT;
		if (changed[i].cond < 0) {
			e->kind = SP_REFUSE;
			e->cond = NULL;
			e->group = "not needed by compute skills";
		} else {
			e->cond = &p->conds[changed[i].cond];
		}
	}
}

/* limits.memory without a cgroup: what RLIMIT_DATA does not count is refused. */
static void apply_shared_memory(struct seccomp_policy *p)
{
	struct sp_entry *e = find_entry(p, seccomp_syscall_resolve_name("mmap"));

	if (e) {
		e->kind = SP_ALLOW_IF;
		e->cond = &p->conds[COND_MMAP];
	}
	for (size_t i = 0; i < shared_memory_refuse.n; i++) {
		e = find_entry(p, seccomp_syscall_resolve_name(shared_memory_refuse.names[i]));
		if (e) {
			e->kind = SP_REFUSE;
			e->cond = NULL;
			e->group = shared_memory_refuse.why;
		}
	}
}

/*
 * The skill shares the host's namespaces: tightens the table (a syscall the profile already
 * refuses stays refused). Applied before the manifest's adjustments, so syscalls.allow can
 * still take responsibility for one of these.
 */
static void apply_host(struct seccomp_policy *p)
{
	static const struct {
		const char *name;
		int cond;
	} changed[] = {
		{ "socket", COND_SOCKET_STRICT },	 { "sched_setaffinity", COND_SELF_PID },
		{ "sched_setscheduler", COND_SELF_PID }, { "sched_setparam", COND_SELF_PID },
		{ "sched_setattr", COND_SELF_PID },	 { "setpriority", COND_SELF_PRIO },
		{ "ioprio_set", COND_SELF_IOPRIO },	 { "prlimit64", COND_SELF_PRLIMIT },
		{ "utimensat", COND_UTIMENSAT_FD },
	};

	for (size_t i = 0; i < ELEMENTSOF(host_refuse); i++)
		for (size_t k = 0; k < host_refuse[i].n; k++) {
			struct sp_entry *e = find_entry(
				p, seccomp_syscall_resolve_name(host_refuse[i].names[k]));

			if (e && e->kind != SP_REFUSE) {
				e->kind = SP_REFUSE;
				e->cond = NULL;
				e->origin = SP_FROM_HOST;
				e->group = host_refuse[i].why;
			}
		}
	for (size_t i = 0; i < ELEMENTSOF(changed); i++) {
		struct sp_entry *e = find_entry(p, seccomp_syscall_resolve_name(changed[i].name));

		if (!e || e->kind == SP_REFUSE)
			continue;
		e->kind = SP_ALLOW_IF;
		e->cond = &p->conds[changed[i].cond];
		e->origin = SP_FROM_HOST;
		/* utimensat by path: performed by the parent within the write paths. */
		e->emulate_otherwise = changed[i].cond == COND_UTIMENSAT_FD;
	}
	/*
	 * The set-id calls' conditions name the sandbox user's uid and gid inside (1000); here
	 * the skill is its host uid, which a prebuilt program cannot know. They stay allowed:
	 * without capabilities the kernel refuses any other id (EPERM, not audited).
	 */
	for (size_t i = 0; i < ELEMENTSOF(host_set_ids); i++) {
		struct sp_entry *e = find_entry(p, seccomp_syscall_resolve_name(host_set_ids[i]));

		if (!e || e->kind != SP_ALLOW_IF)
			continue;
		e->kind = SP_ALLOW;
		e->cond = NULL;
		e->origin = SP_FROM_HOST;
	}
	for (size_t i = 0; i < ELEMENTSOF(host_emulate); i++) {
		struct sp_entry *e = find_entry(p, seccomp_syscall_resolve_name(host_emulate[i]));

		if (!e || e->kind == SP_REFUSE)
			continue;
		e->kind = SP_EMULATE;
		e->cond = NULL;
		e->origin = SP_FROM_HOST;
	}
}

static char *loc_error(const struct seccomp_spec *spec, const struct seccomp_name *s,
		       const char *what)
{
	struct buf b = BUF_INIT;

	if (s->origin || spec->origin)
		buf_printf(&b, "%s:%u:%u: ", s->origin ? s->origin : spec->origin, s->line,
			   s->column);
	buf_printf(&b, "syscalls.deny: %s %s", s->name, what);
	return buf_steal(&b);
}

/* The runtime adjustments: syscalls.allow and syscalls.deny, as the spec lists them. */
static int apply_adjustments(struct seccomp_policy *p, const struct seccomp_spec *spec,
			     char **ret_error)
{
	bool unsorted = false;
	int r;

	for (size_t i = 0; i < spec->n_allow; i++) {
		const struct seccomp_name *s = &spec->allow[i];

		r = strv_extend(&p->allow_names, s->name);
		if (r < 0)
			return r;
		if (s->nr < 0)
			continue; /* not a syscall of this architecture */
		r = strv_extend(&p->owned_names, s->name);
		if (r < 0)
			return r;
		/* Even a name the profile refuses: whoever allowed it takes that responsibility. */
		r = set_entry(p, s->nr, p->owned_names[strv_length(p->owned_names) - 1], SP_ALLOW,
			      NULL, SP_FROM_ALLOW, &unsorted);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_deny; i++) {
		const struct seccomp_name *s = &spec->deny[i];

		for (size_t k = 0; k < ELEMENTSOF(startup_syscalls); k++)
			if (s->nr >= 0 &&
			    s->nr == seccomp_syscall_resolve_name(startup_syscalls[k])) {
				*ret_error =
					loc_error(spec, s,
						  "cannot be refused: skillbox itself needs it to "
						  "start the skill once the filter is loaded");
				return -EINVAL;
			}
		r = strv_extend(&p->deny_names, s->name);
		if (r < 0)
			return r;
		if (s->nr < 0)
			continue;
		r = strv_extend(&p->owned_names, s->name);
		if (r < 0)
			return r;
		r = set_entry(p, s->nr, p->owned_names[strv_length(p->owned_names) - 1], SP_REFUSE,
			      NULL, SP_FROM_DENY, &unsorted);
		if (r < 0)
			return r;
	}
	if (unsorted)
		qsort(p->entries, p->n_entries, sizeof(*p->entries), entry_cmp);
	return 0;
}

/*
 * Traced syscalls stay allowed, but pass the listener; a refused one stays refused. A
 * conditional one keeps its condition: the listener refuses what it does not allow.
 */
static void apply_trace(struct seccomp_policy *p)
{
	for (size_t i = 0; i < ELEMENTSOF(trace_groups); i++) {
		if (!(p->trace & trace_bits[i]))
			continue;
		for (size_t k = 0; k < trace_groups[i].n; k++) {
			struct sp_entry *e = find_entry(
				p, seccomp_syscall_resolve_name(trace_groups[i].names[k]));

			if (e && (e->kind == SP_ALLOW || e->kind == SP_ALLOW_IF))
				e->kind = SP_TRACE;
		}
	}
}

/* --- the filter --- */

static scmp_filter_ctx new_ctx(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);

	if (!ctx)
		return NULL;
	/* Every architecture the filter does not name is notified, and refused by the parent. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

static int add_rules(struct seccomp_policy *p)
{
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct sp_entry *e = &p->entries[i];
		int r = 0;

		switch (e->kind) {
		case SP_ALLOW:
			r = seccomp_rule_add_exact(p->ctx, SCMP_ACT_ALLOW, e->nr, 0);
			p->n_rules++;
			break;
		case SP_ENOSYS:
			r = seccomp_rule_add_exact(p->ctx, SCMP_ACT_ERRNO(ENOSYS), e->nr, 0);
			p->n_rules++;
			break;
		case SP_ALLOW_IF:
			for (size_t k = 0; k < e->cond->n_alts && r >= 0; k++) {
				const struct sp_alt *alt = &e->cond->alts[k];
				struct scmp_arg_cmp cmp[SP_MAX_CMPS];

				for (unsigned j = 0; j < alt->n; j++)
					cmp[j] = (struct scmp_arg_cmp){ .arg = alt->cmp[j].arg,
									.op = alt->cmp[j].op,
									.datum_a = alt->cmp[j].a,
									.datum_b = alt->cmp[j].b };
				r = seccomp_rule_add_exact_array(p->ctx, SCMP_ACT_ALLOW, e->nr,
								 alt->n, cmp);
				p->n_rules++;
			}
			break;
		case SP_REFUSE:
		case SP_TRACE:
		case SP_EMULATE:
			/* The default action: notify. */
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int merge_foreign(struct seccomp_policy *p)
{
	scmp_filter_ctx foreign;
	int r;

	if (!FOREIGN_ARCH)
		return 0;
	foreign = new_ctx();
	if (!foreign)
		return -ENOMEM;
	r = seccomp_arch_remove(foreign, SCMP_ARCH_NATIVE);
	if (r >= 0)
		r = seccomp_arch_add(foreign, FOREIGN_ARCH);
	if (r >= 0)
		r = seccomp_merge(p->ctx, foreign);
	if (r < 0)
		seccomp_release(foreign);
	return r;
}

static int export_program(struct seccomp_policy *p)
{
	_cleanup_close_ int fd = memfd_create("skillbox-seccomp", MFD_CLOEXEC);
	struct stat st;
	ssize_t n;
	int r;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(p->ctx, fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;
	p->insns = malloc((size_t)st.st_size);
	if (!p->insns)
		return -ENOMEM;
	n = pread(fd, p->insns, (size_t)st.st_size, 0);
	if (n < 0)
		return -errno;
	if (n != st.st_size)
		return -EIO;
	p->prog.len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
	p->prog.filter = p->insns;
	audit_sha256_hex(p->insns, (size_t)st.st_size, p->sha256);
	return 0;
}

/*
 * WAIT_KILLABLE_RECV (Linux 5.19): once the parent has read a notification, a non-fatal
 * signal no longer interrupts the wait, so the syscall is not restarted and audited twice.
 * The flags are checked before the (NULL) program is read, so EFAULT means "supported".
 */
static unsigned probe_filter_flags(void)
{
	unsigned f = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EFAULT)
		return f;
	return SECCOMP_FILTER_FLAG_NEW_LISTENER;
}

/*
 * The stock programs (a profile with no syscalls.allow/deny, for each combination of traced
 * kinds) are generated at build time by seccomp-stock-gen from this very file and linked into the
 * skillbox binary (seccomp-stock.c): building a filter with libseccomp costs ~1.5-3 ms, which would
 * be a sizeable share of a launch. The symbols are weak so the libraries and their tests link
 * without them; seccomp_policy_build() then always uses libseccomp.
 */
extern const struct seccomp_stock seccomp_stock_programs[] __attribute__((weak));
extern const size_t seccomp_stock_count __attribute__((weak));

static const struct seccomp_stock *find_stock(const struct seccomp_policy *p,
					      const struct seccomp_spec *spec)
{
	if (!seccomp_stock_programs || !&seccomp_stock_count || spec->n_allow || spec->n_deny)
		return NULL;
	for (size_t i = 0; i < seccomp_stock_count; i++)
		if (seccomp_stock_programs[i].profile == p->profile &&
		    seccomp_stock_programs[i].trace == p->trace &&
		    seccomp_stock_programs[i].limit_shared_memory == p->limit_shared_memory &&
		    seccomp_stock_programs[i].host_namespaces == p->host_namespaces &&
		    seccomp_stock_programs[i].native_arch == p->native_arch)
			return &seccomp_stock_programs[i];
	return NULL;
}

static int use_stock(struct seccomp_policy *p, const struct seccomp_stock *s)
{
	size_t size = sizeof(struct sock_filter) * s->len;

	p->insns = malloc(size);
	if (!p->insns)
		return -ENOMEM;
	memcpy(p->insns, s->insns, size);
	p->prog.len = s->len;
	p->prog.filter = p->insns;
	p->n_rules = s->n_rules;
	p->stock = true;
	audit_sha256_hex(p->insns, size, p->sha256);
	return 0;
}

int seccomp_policy_build(const struct seccomp_spec *spec, struct seccomp_policy **ret,
			 char **ret_error)
{
	return seccomp_policy_build_ex(spec, false, ret, ret_error);
}

int seccomp_policy_build_ex(const struct seccomp_spec *spec, bool force_libseccomp,
			    struct seccomp_policy **ret, char **ret_error)
{
	const struct seccomp_stock *stock;
	struct seccomp_policy *p;
	char *error = NULL;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->profile = spec->profile;
	p->trace = spec->trace;
	p->limit_shared_memory = spec->limit_shared_memory;
	p->host_namespaces = spec->host_namespaces;
	p->native_arch = seccomp_arch_native();

	r = build_conds(p);
	if (r >= 0)
		r = build_default(p, &error);
	if (r >= 0 && p->profile == SECCOMP_PROFILE_STRICT)
		apply_strict(p);
	if (r >= 0 && p->limit_shared_memory)
		apply_shared_memory(p);
	if (r >= 0 && p->host_namespaces)
		apply_host(p);
	if (r >= 0)
		r = apply_adjustments(p, spec, &error);
	if (r < 0)
		goto fail;
	apply_trace(p);

	stock = force_libseccomp ? NULL : find_stock(p, spec);
	if (stock) {
		r = use_stock(p, stock);
		if (r < 0)
			goto fail;
		p->filter_flags = probe_filter_flags();
		*ret = p;
		return 0;
	}

	p->ctx = new_ctx();
	if (!p->ctx) {
		error = strdup("libseccomp cannot build a filter with user notification (needs "
			       "Linux 5.0 and libseccomp 2.5)");
		r = -EOPNOTSUPP;
		goto fail;
	}
	r = add_rules(p);
	if (r >= 0)
		r = merge_foreign(p);
	if (r >= 0)
		r = export_program(p);
	if (r < 0) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "building the filter: %s",
			   r == -E2BIG ? "the program is too large" : strerror(-r));
		error = buf_steal(&b);
		goto fail;
	}
	p->filter_flags = probe_filter_flags();
	*ret = p;
	return 0;

fail:
	seccomp_policy_free(p);
	if (ret_error)
		*ret_error = error;
	else
		free(error);
	return r;
}

const char *seccomp_profile_to_string(enum seccomp_profile p)
{
	return p == SECCOMP_PROFILE_STRICT ? "strict" : "default";
}

struct seccomp_policy *seccomp_policy_free(struct seccomp_policy *p)
{
	if (!p)
		return NULL;
	if (p->ctx)
		seccomp_release(p->ctx);
	free(p->insns);
	for (size_t i = 0; i < _COND_MAX; i++)
		free(p->conds[i].alts);
	free(p->entries);
	strv_free(p->owned_names);
	strv_free(p->allow_names);
	strv_free(p->deny_names);
	free(p);
	return NULL;
}

const struct sock_fprog *seccomp_policy_program(const struct seccomp_policy *p)
{
	return p ? &p->prog : NULL;
}

unsigned seccomp_policy_filter_flags(const struct seccomp_policy *p)
{
	return p ? p->filter_flags : 0;
}

bool seccomp_policy_has_listener(const struct seccomp_policy *p)
{
	/* The default action is to notify, so there is always a listener. */
	return p != NULL;
}

int seccomp_policy_export_pfc(const struct seccomp_policy *p, int fd)
{
	if (!p->ctx)
		return -EOPNOTSUPP;
	return seccomp_export_pfc(p->ctx, fd);
}

unsigned seccomp_policy_rules(const struct seccomp_policy *p)
{
	return p->n_rules;
}

bool seccomp_policy_is_stock(const struct seccomp_policy *p)
{
	return p->stock;
}

const struct sp_entry *seccomp_policy_entries(const struct seccomp_policy *p, size_t *ret_n)
{
	*ret_n = p->n_entries;
	return p->entries;
}

const char *seccomp_policy_sha256(const struct seccomp_policy *p)
{
	return p->sha256;
}

void seccomp_profile_names(void (*cb)(const char *name, void *userdata), void *userdata)
{
	static const struct {
		const struct sp_group *groups;
		size_t n;
	} tables[] = {
		{ default_allow, ELEMENTSOF(default_allow) },
		{ default_refuse, ELEMENTSOF(default_refuse) },
		{ strict_drop, ELEMENTSOF(strict_drop) },
		{ trace_groups, ELEMENTSOF(trace_groups) },
		{ host_refuse, ELEMENTSOF(host_refuse) },
	};

	for (size_t t = 0; t < ELEMENTSOF(tables); t++)
		for (size_t i = 0; i < tables[t].n; i++)
			for (size_t k = 0; k < tables[t].groups[i].n; k++)
				cb(tables[t].groups[i].names[k], userdata);
	cb("clone", userdata);
	cb("clone3", userdata);
	cb("socket", userdata);
	cb("ioctl", userdata);
	cb("personality", userdata);
}

/* --- the classifier --- */

static enum seccomp_abi abi_of(const struct seccomp_policy *p, const struct seccomp_data *d)
{
#if defined(__x86_64__)
	if (d->arch == SCMP_ARCH_X86_64)
		/* Mirrors libseccomp's x86_64 block: -1 is native, the x32 range is not. */
		return (uint32_t)d->nr >= X32_SYSCALL_BIT && d->nr != -1 ? SECCOMP_ABI_X32
									 : SECCOMP_ABI_NATIVE;
	if (d->arch == SCMP_ARCH_X86)
		return SECCOMP_ABI_I386;
#elif defined(__aarch64__)
	if (d->arch == SCMP_ARCH_ARM)
		return SECCOMP_ABI_ARM;
#endif
	if (d->arch == p->native_arch)
		return SECCOMP_ABI_NATIVE;
	return SECCOMP_ABI_OTHER;
}

void seccomp_policy_classify(const struct seccomp_policy *p, const struct seccomp_data *d,
			     struct seccomp_class *ret)
{
	const struct sp_entry *e;

	*ret = (struct seccomp_class){ .abi = abi_of(p, d), .error = EPERM };
	if (ret->abi != SECCOMP_ABI_NATIVE) {
		ret->verdict = SECCOMP_VERDICT_EPERM;
		return;
	}
	e = find_entry(p, d->nr);
	ret->entry = e;
	ret->name = e ? e->name : NULL;
	if (!e) {
		ret->verdict = SECCOMP_VERDICT_ENOSYS;
		ret->error = ENOSYS;
		return;
	}
	switch (e->kind) {
	case SP_ALLOW:
		ret->verdict = SECCOMP_VERDICT_ALLOW;
		break;
	case SP_ALLOW_IF:
		ret->verdict = cond_holds(e->cond, (const uint64_t *)d->args)
				       ? SECCOMP_VERDICT_ALLOW
			       : e->emulate_otherwise ? SECCOMP_VERDICT_EMULATE
						      : SECCOMP_VERDICT_EPERM;
		if (ret->verdict == SECCOMP_VERDICT_EPERM && e->cond->refused_errno)
			ret->error = e->cond->refused_errno;
		break;
	case SP_EMULATE:
		ret->verdict = SECCOMP_VERDICT_EMULATE;
		break;
	case SP_REFUSE:
		ret->verdict = SECCOMP_VERDICT_EPERM;
		break;
	case SP_ENOSYS:
		ret->verdict = SECCOMP_VERDICT_FILTER_ENOSYS;
		ret->error = ENOSYS;
		break;
	case SP_TRACE:
		ret->verdict = !e->cond || cond_holds(e->cond, (const uint64_t *)d->args)
				       ? SECCOMP_VERDICT_CONTINUE
				       : SECCOMP_VERDICT_EPERM;
		if (e->cond && e->cond->refused_errno)
			ret->error = e->cond->refused_errno;
		break;
	}
}

int seccomp_verdict_errno(enum seccomp_verdict v)
{
	return v == SECCOMP_VERDICT_ENOSYS || v == SECCOMP_VERDICT_FILTER_ENOSYS ? ENOSYS : EPERM;
}

const char *seccomp_abi_name(const struct seccomp_policy *p, enum seccomp_abi abi)
{
	switch (abi) {
	case SECCOMP_ABI_NATIVE:
#if defined(__x86_64__)
		return "x86_64";
#elif defined(__aarch64__)
		return "aarch64";
#else
		return "native";
#endif
	case SECCOMP_ABI_I386:
		return "i386";
	case SECCOMP_ABI_X32:
		return "x32";
	case SECCOMP_ABI_ARM:
		return "arm";
	case SECCOMP_ABI_OTHER:
		break;
	}
	return NULL;
}

uint32_t seccomp_abi_arch(const struct seccomp_policy *p, enum seccomp_abi abi)
{
	switch (abi) {
	case SECCOMP_ABI_NATIVE:
		return p->native_arch;
	case SECCOMP_ABI_I386:
		return SCMP_ARCH_X86;
	case SECCOMP_ABI_X32:
		return SCMP_ARCH_X32;
	case SECCOMP_ABI_ARM:
		return SCMP_ARCH_ARM;
	case SECCOMP_ABI_OTHER:
		break;
	}
	return 0;
}

/* --- audit and explain --- */

static void audit_names(struct audit *a, const char *key, char **names)
{
	audit_array_begin(a, key);
	STRV_FOREACH (n, names)
		audit_str(a, NULL, *n);
	audit_array_end(a);
}

int seccomp_policy_audit(const struct seccomp_policy *p, struct audit *a)
{
	if (!p || !a)
		return 0;
	audit_begin(a, "policy.seccomp");
	audit_str(a, "profile", seccomp_profile_to_string(p->profile));
	audit_bool(a, "host_namespaces", p->host_namespaces);
	audit_names(a, "allow", p->allow_names);
	audit_names(a, "deny", p->deny_names);
	audit_uint(a, "rules", p->n_rules);
	audit_array_begin(a, "arches");
	audit_str(a, NULL, seccomp_abi_name(p, SECCOMP_ABI_NATIVE));
#if defined(__x86_64__)
	audit_str(a, NULL, "i386");
	audit_str(a, NULL, "x32");
#elif defined(__aarch64__)
	audit_str(a, NULL, "arm");
#endif
	audit_array_end(a);
	audit_str(a, "default_action", "notify");
	audit_str(a, "unknown_errno", "ENOSYS");
	audit_str(a, "refused_errno", "EPERM");
	audit_str(a, "foreign_abi", "EPERM");
	audit_array_begin(a, "traced");
	for (size_t i = 0; i < p->n_entries; i++)
		if (p->entries[i].kind == SP_TRACE)
			audit_str(a, NULL, p->entries[i].name);
	audit_array_end(a);
	audit_array_begin(a, "filter_flags");
	audit_str(a, NULL, "NEW_LISTENER");
	if (p->filter_flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		audit_str(a, NULL, "WAIT_KILLABLE_RECV");
	audit_array_end(a);
	audit_uint(a, "bpf_instructions", p->prog.len);
	audit_bool(a, "prebuilt", p->stock);
	audit_bool(a, "limit_shared_memory", p->limit_shared_memory);
	audit_str(a, "bpf_sha256", p->sha256);
	return audit_end(a);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Prints words separated by spaces, wrapped at 100 columns, continuing at indent. */
struct wrap {
	FILE *f;
	size_t col;
	size_t indent;
	bool fresh; /* nothing on the line yet but the prefix */
};

static void wrap_start(struct wrap *w, FILE *f, const char *prefix, size_t indent, bool space)
{
	*w = (struct wrap){ .f = f, .col = strlen(prefix), .indent = indent, .fresh = !space };
	fputs(prefix, f);
}

static void wrap_word(struct wrap *w, const char *word)
{
	size_t len = strlen(word);

	if (!w->fresh && w->col + 1 + len > 100) {
		fprintf(w->f, "\n%*s", (int)w->indent, "");
		w->col = w->indent;
	} else if (!w->fresh) {
		fputc(' ', w->f);
		w->col++;
	}
	fputs(word, w->f);
	w->col += len;
	w->fresh = false;
}

static void wrap_text(struct wrap *w, const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	char *save = NULL;

	if (!copy)
		return;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		wrap_word(w, t);
}

static void wrap_end(struct wrap *w)
{
	fputc('\n', w->f);
}

/* One line "title (n): names...", sorted and wrapped; nothing when no entry matches. */
static void explain_names(const struct seccomp_policy *p, FILE *f, size_t indent, const char *title,
			  bool (*keep)(const struct sp_entry *e, const void *userdata),
			  const void *userdata)
{
	_cleanup_free_ const char **v = calloc(p->n_entries + 1, sizeof(*v));
	struct buf b = BUF_INIT;
	struct wrap w;
	size_t n = 0;

	if (!v)
		return;
	for (size_t i = 0; i < p->n_entries; i++)
		if (keep(&p->entries[i], userdata))
			v[n++] = p->entries[i].name;
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), name_cmp);
	buf_printf(&b, "%*s%s (%zu):", (int)indent, "", title, n);
	wrap_start(&w, f, buf_str(&b), indent + 4, true);
	buf_done(&b);
	for (size_t i = 0; i < n; i++)
		wrap_word(&w, v[i]);
	wrap_end(&w);
}

static void explain_text(FILE *f, size_t indent, const char *text)
{
	char prefix[16];
	struct wrap w;

	snprintf(prefix, sizeof(prefix), "%*s", (int)MIN(indent, sizeof(prefix) - 1), "");
	wrap_start(&w, f, prefix, indent + 4, false);
	wrap_text(&w, text);
	wrap_end(&w);
}

static bool is_kind(const struct sp_entry *e, const void *userdata)
{
	return e->kind == *(const enum sp_kind *)userdata && e->origin != SP_FROM_ALLOW &&
	       e->origin != SP_FROM_DENY;
}

static bool is_origin(const struct sp_entry *e, const void *userdata)
{
	return e->origin == *(const enum sp_origin *)userdata;
}

static bool is_group(const struct sp_entry *e, const void *userdata)
{
	return e->kind == SP_REFUSE && e->group == userdata;
}

void seccomp_policy_explain(const struct seccomp_policy *p, FILE *f)
{
	static const enum sp_kind allow = SP_ALLOW, trace = SP_TRACE;
	static const enum sp_origin from_allow = SP_FROM_ALLOW, from_deny = SP_FROM_DENY;
	const char *abi;

	if (!p)
		return;
	abi = seccomp_abi_name(p, SECCOMP_ABI_NATIVE);
	fprintf(f, "syscalls: profile %s; %s filter of %u rules, %u BPF instructions\n",
		seccomp_profile_to_string(p->profile), abi, p->n_rules, p->prog.len);
	fprintf(f, "  program sha256 %s\n", p->sha256);
	explain_names(p, f, 2, "allowed", is_kind, &allow);
	fputs("  allowed with conditions (refused with EPERM otherwise, audited):\n", f);
	for (size_t i = 0; i < p->n_entries; i++)
		if (p->entries[i].kind == SP_ALLOW_IF ||
		    (p->entries[i].kind == SP_TRACE && p->entries[i].cond)) {
			struct buf b = BUF_INIT;

			buf_printf(&b, "%s: %s", p->entries[i].name, p->entries[i].cond->summary);
			explain_text(f, 4, buf_str(&b));
			buf_done(&b);
		}
	explain_names(p, f, 2, "allowed by syscalls.allow", is_origin, &from_allow);
	explain_names(p, f, 2, "traced, each call continued by skillbox", is_kind, &trace);
	fputs("  refused with EPERM, audited as syscall.deny:\n", f);
	for (size_t i = 0; i < ELEMENTSOF(default_refuse); i++)
		explain_names(p, f, 4, default_refuse[i].why, is_group, default_refuse[i].why);
	explain_names(p, f, 4, "by syscalls.deny", is_origin, &from_deny);
	if (p->profile == SECCOMP_PROFILE_STRICT) {
		fputs("  strict: default minus these (refused with EPERM, audited):\n", f);
		explain_text(f, 4, "socket: every family but AF_UNIX");
		explain_text(f, 4,
			     "ioctl: every request but TCGETS, TIOCGWINSZ, TIOCGPGRP, FIONREAD, "
			     "FIONBIO, FIOCLEX, FIONCLEX");
		explain_text(f, 4, "personality: every persona");
		for (size_t i = 0; i < ELEMENTSOF(strict_drop); i++)
			explain_names(p, f, 4, strict_drop[i].why, is_group, strict_drop[i].why);
	}
	if (p->limit_shared_memory)
		explain_names(p, f, 4, shared_memory_refuse.why, is_group,
			      shared_memory_refuse.why);
	if (p->host_namespaces) {
		fputs("  host namespaces (--isolation landlock): also refused with EPERM, "
		      "audited:\n",
		      f);
		explain_text(f, 4,
			     "socket: every family but AF_UNIX (no network namespace: it would be "
			     "the host's network)");
		for (size_t i = 0; i < ELEMENTSOF(host_refuse); i++)
			explain_names(p, f, 4, host_refuse[i].why, is_group, host_refuse[i].why);
		explain_text(f, 4,
			     "sched_setaffinity, sched_setscheduler, sched_setparam, "
			     "sched_setattr, setpriority, ioprio_set, prlimit64: on other "
			     "processes (see the conditions above)");
		explain_text(f, 4,
			     "utimensat: by path outside the write paths (see the "
			     "conditions above)");
		explain_text(f, 4,
			     "setuid, setgid, setreuid, setregid, setresuid, setresgid: allowed "
			     "(the skill is its host uid, not 1000); without capabilities the "
			     "kernel refuses any other id with EPERM, not audited");
		explain_text(
			f, 4,
			"chmod, fchmodat, fchmodat2: performed by skillbox for the skill when the file "
			"lies in a write path (not through a symbolic link) and the mode has neither "
			"set-user-ID nor set-group-ID, refused and audited otherwise: Landlock does "
			"not restrict mode changes");
	}
	explain_text(f, 2,
		     "openat2: ENOSYS, audited: the mode of a file it creates is in memory a "
		     "seccomp filter cannot read (set-user-ID could not be refused); callers fall "
		     "back to openat(), whose mode is checked");
	explain_text(f, 2,
		     "clone3: ENOSYS from the filter itself, not audited: its flags are in memory "
		     "a seccomp filter cannot read; glibc then falls back to clone(), whose flags "
		     "are checked");
	explain_text(f, 2,
		     "any other syscall: ENOSYS (so that libc fallbacks work), audited as "
		     "syscall.deny");
#if defined(__x86_64__)
	explain_text(f, 2,
		     "other ABIs: every i386 (int $0x80) and x32 syscall is refused with EPERM, "
		     "audited");
#elif defined(__aarch64__)
	explain_text(f, 2, "other ABIs: every 32-bit arm syscall is refused with EPERM, audited");
#endif
	STRV_FOREACH (n, p->allow_names)
		if (seccomp_syscall_resolve_name(*n) < 0)
			fprintf(f, "  syscalls.allow: %s is not a syscall on %s\n", *n, abi);
	STRV_FOREACH (n, p->deny_names)
		if (seccomp_syscall_resolve_name(*n) < 0)
			fprintf(f, "  syscalls.deny: %s is not a syscall on %s\n", *n, abi);
}
