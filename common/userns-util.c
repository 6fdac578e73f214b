/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "macros.h"
#include "userns-util.h"

/* Calls fn(inside, count) for each extent of the map; stops at the first non-zero return. */
static int id_map_foreach(const char *path, int (*fn)(uint64_t, uint64_t, void *), void *userdata)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r;

	r = read_file_bounded(AT_FDCWD, path, 64 * 1024, &data, &len);
	if (r < 0)
		return r;
	for (char *line = data, *next; line && *line; line = next) {
		unsigned long long inside, outside, count;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (sscanf(line, "%llu %llu %llu", &inside, &outside, &count) != 3)
			continue;
		r = fn(inside, count, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

struct covers {
	uint64_t last, next; /* next: the first id not yet seen covered */
};

static int covers_extent(uint64_t inside, uint64_t count, void *userdata)
{
	struct covers *c = userdata;

	if (inside <= c->next && inside + count > c->next)
		c->next = inside + count;
	return c->next > c->last ? 1 : 0;
}

int id_map_covers(const char *path, uint32_t first, uint32_t last)
{
	struct covers c = { .last = last, .next = first };
	int r;

	if (first > last)
		return -EINVAL;
	/* Extents are not sorted: go round until nothing more is covered. */
	for (;;) {
		uint64_t before = c.next;

		r = id_map_foreach(path, covers_extent, &c);
		if (r < 0)
			return r;
		if (c.next > c.last)
			return 1;
		if (c.next == before)
			return 0;
	}
}

struct describe {
	char *buf;
	size_t size, len;
	unsigned n;
};

static int describe_extent(uint64_t inside, uint64_t count, void *userdata)
{
	struct describe *d = userdata;
	int n;

	if (d->n++ == 3) {
		n = snprintf(d->buf + d->len, d->size - d->len, ", ...");
		d->len += n > 0 ? (size_t)n : 0;
		return 1;
	}
	n = snprintf(d->buf + d->len, d->size - d->len, "%s%" PRIu64 "-%" PRIu64,
		     d->len ? ", " : "", inside, inside + count - 1);
	if (n < 0 || (size_t)n >= d->size - d->len)
		return 1;
	d->len += (size_t)n;
	return 0;
}

char *id_map_describe(const char *path, char *buf, size_t size)
{
	struct describe d = { .buf = buf, .size = size };

	if (size == 0)
		return buf;
	buf[0] = 0;
	if (id_map_foreach(path, describe_extent, &d) < 0)
		buf[0] = 0;
	return buf;
}

/*
 * The process that holds the new user namespace while its maps are written. It shares our
 * memory (no page tables to copy) and does nothing that could touch shared state: it blocks
 * in read() until the parent closes the pipe, and read() returning 0 sets no errno.
 */
static int holder_main(void *userdata)
{
	const int *p = userdata;
	char c;

	/* Our copy of the write end would keep the pipe open. */
	close(p[1]);
	while (read(p[0], &c, 1) > 0)
		;
	/* Returning ends the process (clone() exits with this value); a noreturn call made
	   on this stack of our own would confuse a sanitizer's stack bookkeeping. */
	return 0;
}

static int write_proc(pid_t pid, const char *name, const char *content)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_full(fd, content, strlen(content));
}

int userns_new_mapping(uid_t inner_uid, uid_t outer_uid, gid_t inner_gid, gid_t outer_gid)
{
	enum {
		STACK_SIZE = 64 * 1024
	};
	int p[2] = { -1, -1 }, fd = -1, r;
	int holder_fds[2]; /* the holder reads them from our memory: never changed after clone */
	char map[64], path[64];
	void *stack;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	holder_fds[0] = p[0];
	holder_fds[1] = p[1];
	pid = clone(holder_main, (char *)stack + STACK_SIZE, CLONE_NEWUSER | CLONE_VM | SIGCHLD,
		    holder_fds);
	if (pid < 0) {
		r = -errno;
		goto out_stack;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inner_uid, (unsigned)outer_uid);
	r = write_proc(pid, "uid_map", map);
	if (r >= 0) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)inner_gid, (unsigned)outer_gid);
		r = write_proc(pid, "gid_map", map);
	}
	if (r >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = -errno;
	}
	p[1] = safe_close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out_stack:
	munmap(stack, STACK_SIZE);
out:
	safe_close(p[0]);
	safe_close(p[1]);
	if (r < 0) {
		safe_close(fd);
		return r;
	}
	return fd;
}
