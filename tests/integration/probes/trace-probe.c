/* SPDX-License-Identifier: MIT */
/*
 * Runs inside the sandbox for tests/integration/test-trace.py. Each argument is one step,
 * "verb:arg[:arg]", done with raw syscalls so that the test knows exactly which traced calls
 * the probe makes (no libc path search, no locale files), and each step prints
 * "<step> <OK|errno name>".
 *
 *   open:PATH               open(PATH, O_RDONLY)
 *   openat:DIR:REL          dirfd = open(DIR, O_PATH|O_DIRECTORY); openat(dirfd, REL, O_RDONLY)
 *   openat2:DIR:REL         the same with openat2() and O_WRONLY|O_CREAT
 *   chdir:DIR               chdir(DIR) (not traced)
 *   exec-empty:PATH         fd = open(PATH, O_PATH); execveat(fd, "", argv, AT_EMPTY_PATH)
 *                           in a child, which exits with the result
 *   deny:N                  N refused syscalls (keyctl), all the same
 *   repeat-open:N:PATH      N opens of PATH (flood control of a trace event)
 *   distinct-open:N:PREFIX  N opens of PREFIX0, PREFIX1, ... (different keys)
 *   deny-distinct:N         N refused personality() calls, each with another persona
 *   exec:PATH               execve(PATH) in a child, which exits with its errno on failure
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* See seccomp-probe.c: LeakSanitizer would ptrace, which the sandbox refuses. */
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static void report(const char *step, long r)
{
	if (r < 0)
		printf("%s %s\n", step, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	else
		printf("%s OK\n", step);
	fflush(stdout);
}

static long sys_open(const char *path, int flags)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0600);

	return fd;
}

static long step(char *verb, char *a, char *b)
{
	long fd, r;

	if (!strcmp(verb, "open")) {
		fd = sys_open(a, O_RDONLY);
		if (fd >= 0)
			close((int)fd);
		return fd;
	}
	if (!strcmp(verb, "openat") || !strcmp(verb, "openat2")) {
		long dfd = sys_open(a, O_PATH | O_DIRECTORY);

		if (dfd < 0 || !b)
			return dfd < 0 ? dfd : (errno = EINVAL, -1);
		if (!strcmp(verb, "openat")) {
			fd = syscall(SYS_openat, (int)dfd, b, O_RDONLY | O_CLOEXEC);
		} else {
			struct open_how how = { .flags = O_WRONLY | O_CREAT | O_CLOEXEC,
						.mode = 0600 };

			fd = syscall(SYS_openat2, (int)dfd, b, &how, sizeof(how));
		}
		r = fd;
		if (fd >= 0)
			close((int)fd);
		close((int)dfd);
		return r;
	}
	if (!strcmp(verb, "chdir"))
		return syscall(SYS_chdir, a);
	if (!strcmp(verb, "exec-empty")) {
		char *argv[] = { a, (char *)"from-execveat", NULL };
		char *envp[] = { NULL };
		int status;
		pid_t pid;

		fd = sys_open(a, O_PATH);
		if (fd < 0)
			return fd;
		pid = fork();
		if (pid == 0) {
			syscall(SYS_execveat, (int)fd, "", argv, envp, AT_EMPTY_PATH);
			_exit(127);
		}
		close((int)fd);
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			return -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return errno = ENOEXEC, -1;
		return 0;
	}
	if (!strcmp(verb, "deny")) {
		long n = strtol(a, NULL, 10), bad = 0;

		for (long i = 0; i < n; i++)
			if (syscall(SYS_keyctl, 0, 0, 0, 0, 0) >= 0 || errno != EPERM)
				bad++;
		return bad ? (errno = EPROTO, -1) : 0;
	}
	if (!strcmp(verb, "deny-distinct")) {
		long n = strtol(a, NULL, 10), bad = 0;

		/* 0x1000 + i: none of the personas the profile allows. */
		for (long i = 0; i < n; i++)
			if (syscall(SYS_personality, 0x1000 + i) >= 0 || errno != EPERM)
				bad++;
		return bad ? (errno = EPROTO, -1) : 0;
	}
	if (!strcmp(verb, "exec")) {
		char *argv[] = { a, (char *)"from-probe", NULL };
		char *envp[] = { NULL };
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			syscall(SYS_execve, a, argv, envp);
			_exit(errno);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			return -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR, -1;
		return 0;
	}
	if (!strcmp(verb, "repeat-open")) {
		long n = strtol(a, NULL, 10);

		for (long i = 0; i < n && b; i++) {
			fd = sys_open(b, O_RDONLY);
			if (fd >= 0)
				close((int)fd);
		}
		return 0;
	}
	if (!strcmp(verb, "distinct-open")) {
		long n = strtol(a, NULL, 10);
		char path[4096];

		for (long i = 0; i < n && b; i++) {
			snprintf(path, sizeof(path), "%s%ld", b, i);
			fd = sys_open(path, O_RDONLY);
			if (fd >= 0)
				close((int)fd);
		}
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *copy = strdup(argv[i]);
		char *verb = strtok(copy, ":");
		char *a = strtok(NULL, ":");
		char *b = strtok(NULL, "");

		report(argv[i], step(verb ? verb : "", a, b));
		free(copy);
	}
	return 0;
}
