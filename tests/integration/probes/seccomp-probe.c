/* SPDX-License-Identifier: MIT */
/*
 * Runs inside the sandbox for tests/integration/test-seccomp.py: each argument names one
 * attempt, and for each the probe prints "<attempt> <result>", where result is OK or the
 * errno name the attempt failed with. Most attempts are raw syscalls, so that the test sees
 * exactly what the filter answered rather than a libc fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

/*
 * In a sanitizer build the probes are instrumented too, and LeakSanitizer's exit-time check
 * stops the process's threads with ptrace(), which the sandbox refuses (as it should). The
 * probes have nothing to leak-check; without ASan this function is simply never called.
 */
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static long reap(long pid)
{
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

#if defined(__x86_64__)
static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
	siglongjmp(fault_jump, sig);
}
#endif

/*
 * getpid through the i386 entry point: the kernel sees AUDIT_ARCH_I386, nr 20. A kernel
 * without a usable i386 entry (IA32 emulation off, or a hypervisor that does not deliver
 * vector 0x80) raises #GP instead; that is reported as FAULT, not as a crash.
 */
static long int80_getpid(bool *faulted)
{
#if defined(__x86_64__)
	struct sigaction sa = { .sa_handler = on_fault }, old;
	long ret;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jump, 1)) {
		sigaction(SIGSEGV, &old, NULL);
		*faulted = true;
		return -1;
	}
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	sigaction(SIGSEGV, &old, NULL);
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
#else
	*faulted = true;
	return -1;
#endif
}

static long attempt(const char *what, bool *faulted)
{
	char c = 'x';
	int n = 0;

	if (!strcmp(what, "unshare-user"))
		return syscall(SYS_unshare, CLONE_NEWUSER);
	if (!strcmp(what, "unshare-files"))
		return syscall(SYS_unshare, CLONE_FILES);
	if (!strcmp(what, "clone-newns"))
		return reap(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
	if (!strcmp(what, "clone-plain"))
		return reap(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
	if (!strcmp(what, "clone3")) {
		struct clone_args ca = { .exit_signal = SIGCHLD };

		return reap(syscall(SYS_clone3, &ca, sizeof(ca)));
	}
	if (!strcmp(what, "mount"))
		return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, "");
	if (!strcmp(what, "fsopen"))
		return syscall(SYS_fsopen, "tmpfs", 0);
	if (!strcmp(what, "ptrace-traceme"))
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	if (!strcmp(what, "ptrace-attach"))
		return ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
	if (!strcmp(what, "io-uring")) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		return syscall(SYS_io_uring_setup, 4, &p);
	}
	if (!strcmp(what, "keyctl"))
		return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	if (!strcmp(what, "bpf")) {
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = 4;
		a.max_entries = 1;
		return syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	}
	if (!strcmp(what, "tiocsti"))
		return syscall(SYS_ioctl, 0, (unsigned long)TIOCSTI, &c);
	/* The kernel reads only the low 32 bits of the request: the same TIOCSTI. */
	if (!strcmp(what, "tiocsti-high"))
		return syscall(SYS_ioctl, 0, 0x100000000UL | TIOCSTI, &c);
	if (!strcmp(what, "tioclinux"))
		return syscall(SYS_ioctl, 0, (unsigned long)TIOCLINUX, &c);
	if (!strcmp(what, "fionread")) {
		int p[2];
		long r;

		if (pipe(p) < 0)
			return -1;
		r = syscall(SYS_ioctl, p[0], (unsigned long)FIONREAD, &n);
		close(p[0]);
		close(p[1]);
		return r;
	}
	/* An _IOR request passed as a sign-extended int, as musl's ioctl(int, int, ...) does. */
	if (!strcmp(what, "ioctl-signext")) {
		int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
		long r;

		if (fd < 0)
			return -1;
		r = syscall(SYS_ioctl, fd, (long)(int)FS_IOC_GETFLAGS, &n);
		close(fd);
		return r < 0 && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) ? 0 : r;
	}
	if (!strcmp(what, "x32-getpid"))
		return syscall(X32_SYSCALL_BIT | SYS_getpid);
	if (!strcmp(what, "i386-getpid"))
		return int80_getpid(faulted);
	if (!strcmp(what, "socket-packet"))
		return syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!strcmp(what, "socket-netlink-audit"))
		return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
	if (!strcmp(what, "socket-netlink-route"))
		return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	/* What the kernel refuses a process without capabilities: the filter refuses it first. */
	if (!strcmp(what, "socket-raw"))
		return syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (!strcmp(what, "socket-raw6"))
		return syscall(SYS_socket, AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (!strcmp(what, "socket-ping"))
		return syscall(SYS_socket, AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (!strcmp(what, "socket-ping6"))
		return syscall(SYS_socket, AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (!strcmp(what, "mknod-dev"))
		return syscall(SYS_mknodat, AT_FDCWD, "/tmp/null2", S_IFCHR | 0666,
			       (unsigned long)makedev(1, 3));
	if (!strcmp(what, "mknod-fifo")) {
		long r = syscall(SYS_mknodat, AT_FDCWD, "/tmp/fifo", S_IFIFO | 0600, 0);

		unlink("/tmp/fifo");
		return r;
	}
	if (!strcmp(what, "setgroups")) {
		gid_t g = 0;

		return syscall(SYS_setgroups, 1, &g);
	}
	if (!strcmp(what, "setuid-root"))
		return syscall(SYS_setuid, 0);
	if (!strcmp(what, "setresgid-root"))
		return syscall(SYS_setresgid, -1, 0, -1);
	if (!strcmp(what, "setuid-self"))
		return syscall(SYS_setuid, getuid());
	if (!strcmp(what, "socket-tcp"))
		return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	if (!strcmp(what, "socket-udp6"))
		return syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0);
	if (!strcmp(what, "socket-unix"))
		return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	if (!strcmp(what, "getpid"))
		return syscall(SYS_getpid);
	if (!strcmp(what, "kcmp"))
		/* gettid: the same number here, and still allowed when getpid is denied. */
		return syscall(SYS_kcmp, syscall(SYS_gettid), syscall(SYS_gettid), KCMP_VM, 0, 0);
	if (!strcmp(what, "personality-query"))
		return syscall(SYS_personality, 0xffffffffUL);
	if (!strcmp(what, "personality-norandom"))
		return syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE);
		/* Not in any profile: unknown, so ENOSYS. */
#ifdef SYS_sysfs
	if (!strcmp(what, "sysfs"))
		return syscall(SYS_sysfs, 3);
#endif
	if (!strcmp(what, "nr-1000"))
		return syscall(1000);
	errno = EINVAL;
	fprintf(stderr, "seccomp-probe: unknown attempt %s\n", what);
	return -1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		bool faulted = false;
		long r;

		errno = 0;
		r = attempt(argv[i], &faulted);
		if (faulted)
			printf("%s FAULT\n", argv[i]);
		else if (r < 0)
			printf("%s %s\n", argv[i], strerrorname_np(errno) ?: "E?");
		else
			printf("%s OK\n", argv[i]);
	}
	return 0;
}
