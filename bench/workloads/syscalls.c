/* SPDX-License-Identifier: MIT */
/*
 * syscalls [N]: N getppid() calls (default 10 000 000), the cheapest system call there is, so
 * that what is measured is the per-call cost of entering the kernel through the seccomp filter.
 * Raw syscall(): glibc must not cache or batch anything.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 10000000;
	long sum = 0;

	for (long i = 0; i < n; i++)
		sum += syscall(SYS_getppid);
	return sum == -1 ? 1 : 0;
}
