/* SPDX-License-Identifier: MIT */
/*
 * Runs as the skill for tests/integration/test-run.py. Its very first action after execve()
 * is to look at init (pid 1): who owns init's /proc files, and whether init's descriptor table
 * can be listed. Both depend on init's memory map being non-dumpable, so this is what catches
 * a window in which it is not: the skill shares init's memory map until its execve().
 *
 * Built statically where the build allows it, so that main() comes microseconds after the
 * execve(), before the dynamic loader would have mapped anything. Prints one line:
 *
 *   init=<uid of /proc/1/status> fd=<OK|errno name of opening /proc/1/fd> self=<uid of
 *   /proc/self/status>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* See seccomp-probe.c: LeakSanitizer would ptrace, which the sandbox refuses. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0:
		return "OK";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case ENOENT:
		return "ENOENT";
	default:
		return "OTHER";
	}
}

int main(void)
{
	struct stat init_st = { 0 }, self_st = { 0 };
	int init_r, fd, fd_errno, self_r;

	/* Nothing before these three calls: they are the point. */
	init_r = stat("/proc/1/status", &init_st);
	fd = open("/proc/1/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd_errno = fd < 0 ? errno : 0;
	self_r = stat("/proc/self/status", &self_st);

	if (fd >= 0)
		close(fd);
	printf("init=%ld fd=%s self=%ld\n", init_r < 0 ? -1L : (long)init_st.st_uid,
	       errno_name(fd_errno), self_r < 0 ? -1L : (long)self_st.st_uid);
	return 0;
}
