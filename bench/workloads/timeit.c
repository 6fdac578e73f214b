/* SPDX-License-Identifier: MIT */
/*
 * timeit CMD [ARGS...]: runs CMD (stdin and stdout on /dev/null) and prints the nanoseconds it
 * took, from before posix_spawn() to after wait. Used inside and outside the sandbox alike, so
 * the sandbox's launch cost is not part of a steady-state measurement. Exits with CMD's status.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	int64_t t0, t;
	int status, r;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: timeit CMD [ARGS...]\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	t0 = now_ns();
	r = posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ);
	if (r != 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[1], strerror(r));
		return 127;
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("timeit: waitpid");
		return 2;
	}
	t = now_ns() - t0;
	printf("%" PRId64 "\n", t);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
