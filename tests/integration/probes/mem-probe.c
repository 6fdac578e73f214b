/* SPDX-License-Identifier: MIT */
/*
 * Runs inside the sandbox for test-limits.py: tries to make the host commit memory in every
 * way a process can, and prints one line per attempt:
 *
 *   <attempt> <OK|ERRNO|SIGBUS> <bytes touched> <largest rise of the host's Shmem+AnonPages>
 *
 * Attempts (SIZE in MiB):
 *   shared-anon:SIZE    mmap(MAP_SHARED|MAP_ANONYMOUS), every page touched
 *   memfd:SIZE          memfd_create, ftruncate, mmap(MAP_SHARED), every page touched
 *   devzero:SIZE        mmap(MAP_SHARED) of /dev/zero, every page touched
 *   growsdown:SIZE      mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN), every page touched
 *   private:SIZE        mmap(MAP_PRIVATE|MAP_ANONYMOUS), every page touched
 *   shmget:SIZE         shmget(IPC_PRIVATE), shmat, every page touched
 *   fill:PATH           writes 1 MiB blocks to PATH/fill until a write fails
 *   files:PATH:MAX      creates empty files in PATH until that fails, at most MAX
 *   statfs:PATH         the filesystem's size and inodes: "statfs PATH BYTES INODES"
 *   readzero            reads 4 KiB of /dev/zero: "readzero OK 4096 0" when all zeros
 *   forks:MAX           forks children that wait on a pipe until fork fails, at most MAX:
 *                       "forks ERRNO|OK COUNT 0"; then lets them all exit
 *
 * The host's memory is read from /proc/meminfo (global, not namespaced) every 32 MiB while
 * touching, so a rise of gigabytes shows even when nothing fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf bus;

static void on_bus(int sig)
{
	siglongjmp(bus, 1);
}

/* Shmem + AnonPages of the host, in bytes; 0 when unreadable. */
static long long host_committed(void)
{
	char line[256];
	long long kb, total = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Shmem: %lld kB", &kb) == 1 ||
		    sscanf(line, "AnonPages: %lld kB", &kb) == 1)
			total += kb * 1024;
	fclose(f);
	return total;
}

static const char *err(int e)
{
	static char buf[32];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

/* Touches every page of p; prints the outcome line. */
static void touch(const char *what, volatile char *p, size_t size)
{
	long long base = host_committed(), rise = 0;
	volatile size_t done = 0;

	signal(SIGBUS, on_bus);
	signal(SIGSEGV, on_bus);
	if (sigsetjmp(bus, 1) == 0) {
		for (; done < size; done += 4096) {
			p[done] = 1;
			if (done % (32 << 20) == 0) {
				long long now = host_committed() - base;

				if (now > rise)
					rise = now;
			}
		}
		printf("%s OK %zu %lld\n", what, (size_t)done, rise);
	} else {
		printf("%s SIGBUS %zu %lld\n", what, (size_t)done, rise);
	}
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
}

static void map_and_touch(const char *what, size_t size, int flags, int fd)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		printf("%s %s 0 0\n", what, err(errno));
		return;
	}
	touch(what, p, size);
	munmap(p, size);
}

static void fill(const char *what, const char *dir)
{
	static char block[1 << 20];
	char path[4096];
	long long total = 0;
	int fd;

	memset(block, 'x', sizeof(block));
	snprintf(path, sizeof(path), "%s/fill", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		printf("%s %s 0 0\n", what, err(errno));
		return;
	}
	for (;;) {
		ssize_t n = write(fd, block, sizeof(block));

		if (n < 0) {
			printf("%s %s %lld 0\n", what, err(errno), total);
			break;
		}
		total += n;
		if (n < (ssize_t)sizeof(block)) {
			/* A short write: the next one says why. */
			continue;
		}
		if (total > (8LL << 30)) {
			printf("%s OK %lld 0\n", what, total);
			break;
		}
	}
	close(fd);
	unlink(path);
}

static void files(const char *what, const char *dir, long max)
{
	char path[4096];
	long n = 0;

	for (; n < max; n++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%ld", dir, n);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			printf("%s %s %ld 0\n", what, err(errno), n);
			break;
		}
		close(fd);
	}
	if (n == max)
		printf("%s OK %ld 0\n", what, n);
	while (n-- > 0) {
		snprintf(path, sizeof(path), "%s/f%ld", dir, n);
		unlink(path);
	}
}

static void forks(const char *what, long max)
{
	int p[2];
	long n = 0;
	int e = 0;

	if (pipe2(p, O_CLOEXEC) < 0) {
		printf("%s %s 0 0\n", what, err(errno));
		return;
	}
	for (; n < max; n++) {
		pid_t pid = fork();

		if (pid < 0) {
			e = errno;
			break;
		}
		if (pid == 0) {
			char c;

			close(p[1]);
			(void)!read(p[0], &c, 1);
			_exit(0);
		}
	}
	close(p[1]);
	close(p[0]);
	while (wait(NULL) > 0)
		;
	printf("%s %s %ld 0\n", what, e ? err(e) : "OK", n);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *arg = strchr(a, ':');
		size_t size = arg ? (size_t)strtoull(arg + 1, NULL, 10) << 20 : 0;

		if (arg)
			*arg++ = 0;
		if (!strcmp(a, "shared-anon")) {
			map_and_touch(a, size, MAP_SHARED | MAP_ANONYMOUS, -1);
		} else if (!strcmp(a, "growsdown")) {
			map_and_touch(a, size, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1);
		} else if (!strcmp(a, "private")) {
			map_and_touch(a, size, MAP_PRIVATE | MAP_ANONYMOUS, -1);
		} else if (!strcmp(a, "memfd")) {
			int fd = (int)syscall(SYS_memfd_create, "probe", 0);

			if (fd < 0) {
				printf("%s %s 0 0\n", a, err(errno));
				continue;
			}
			if (ftruncate(fd, (off_t)size) < 0) {
				printf("%s %s 0 0\n", a, err(errno));
				close(fd);
				continue;
			}
			map_and_touch(a, size, MAP_SHARED, fd);
			close(fd);
		} else if (!strcmp(a, "devzero")) {
			int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

			if (fd < 0) {
				printf("%s %s 0 0\n", a, err(errno));
				continue;
			}
			map_and_touch(a, size, MAP_SHARED, fd);
			close(fd);
		} else if (!strcmp(a, "shmget")) {
			int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
			void *p;

			if (id < 0) {
				printf("%s %s 0 0\n", a, err(errno));
				continue;
			}
			p = shmat(id, NULL, 0);
			shmctl(id, IPC_RMID, NULL);
			if (p == (void *)-1) {
				printf("%s %s 0 0\n", a, err(errno));
				continue;
			}
			touch(a, p, size);
			shmdt(p);
		} else if (!strcmp(a, "fill")) {
			fill(a, arg);
		} else if (!strcmp(a, "files")) {
			char *max = strchr(arg, ':');

			if (max)
				*max++ = 0;
			files(a, arg, max ? strtol(max, NULL, 10) : 100000);
		} else if (!strcmp(a, "statfs")) {
			struct statfs sf;

			if (statfs(arg, &sf) < 0)
				printf("statfs %s %s 0\n", arg, err(errno));
			else
				printf("statfs %s %llu %llu\n", arg,
				       (unsigned long long)sf.f_blocks *
					       (unsigned long long)sf.f_bsize,
				       (unsigned long long)sf.f_files);
		} else if (!strcmp(a, "forks")) {
			forks(a, strtol(arg, NULL, 10));
		} else if (!strcmp(a, "readzero")) {
			char buf[4096];
			int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
			ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
			bool zeros = n == (ssize_t)sizeof(buf);

			for (ssize_t k = 0; zeros && k < n; k++)
				zeros = buf[k] == 0;
			printf("readzero %s %zd 0\n", zeros ? "OK" : "BAD", n);
			if (fd >= 0)
				close(fd);
		} else {
			printf("%s UNKNOWN 0 0\n", a);
		}
	}
	return 0;
}
