/* SPDX-License-Identifier: MIT */
/*
 * calib: two numbers that explain most of a machine's launch costs, for the results' machine
 * table: the nanoseconds of one getppid() (kernel entry and exit, with this CPU's
 * mitigations) and of one anonymous page fault (first touch of a fresh 4 KiB page: fault
 * entry, page allocation, zeroing). Virtual machines without hardware-assisted paging make the
 * second one expensive, and exec, fork and pasta's start-up are mostly page faults.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(void)
{
	const long calls = 200000, pages = 16384;
	long page = sysconf(_SC_PAGESIZE);
	int64_t best_sys = INT64_MAX, best_fault = INT64_MAX;

	for (int round = 0; round < 5; round++) {
		int64_t t0 = now_ns(), t;
		volatile char *p;

		for (long i = 0; i < calls; i++)
			syscall(SYS_getppid);
		t = now_ns() - t0;
		if (t < best_sys)
			best_sys = t;

		p = mmap(NULL, (size_t)(pages * page), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		t0 = now_ns();
		for (long i = 0; i < pages; i++)
			p[i * page] = 1;
		t = now_ns() - t0;
		if (t < best_fault)
			best_fault = t;
		munmap((void *)p, (size_t)(pages * page));
	}
	printf("%lld %lld\n", (long long)(best_sys / calls), (long long)(best_fault / pages));
	return 0;
}
