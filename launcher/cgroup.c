/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "buf.h"
#include "cgroup.h"
#include "fd-util.h"
#include "macros.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* How long the end of a run waits for its cgroup to empty after cgroup.kill. */
#define EMPTY_TIMEOUT_MS 5000

struct cgroup_run {
	int mount_fd; /* not owned */
	char *own;    /* relative to the mount: "." or "user.slice/..." */
	char *path;   /* the run's cgroup, relative to the mount */
	char *super;  /* where skillbox moved itself, or NULL */
	pid_t self;
	int fd; /* the run's cgroup directory */
	bool added_memory, added_pids;
};

void cgroup_decide(const struct cgroup_state *s, struct cgroup_decision *ret)
{
	*ret = (struct cgroup_decision){ .way = CGROUP_NONE };
	if (!s->cgroup2)
		ret->why_not = s->hybrid
				       ? "cgroup v2 is mounted beside cgroup v1 (a hybrid layout): "
					 "the memory controller belongs to v1"
				       : "there is no cgroup v2 hierarchy at " CGROUP_MOUNT;
	else if (!s->own)
		ret->why_not = "this process's cgroup could not be read from /proc/self/cgroup";
	else if (!s->memory)
		ret->why_not = "the memory controller is not available in this process's cgroup";
	else if (s->subtree_memory)
		/* Only the real root holds processes with controllers enabled for children. */
		ret->way = s->writable ? CGROUP_CHILD : CGROUP_NONE;
	else if (!s->writable)
		ret->way = CGROUP_NONE;
	else if (!s->alone)
		ret->why_not = "this process's cgroup holds other processes too, so no controller "
			       "can be enabled for its children; run skillbox in a cgroup of its "
			       "own (systemd-run --user --scope -p Delegate=yes skillbox run ...)";
	else
		ret->way = CGROUP_MOVE_SELF;
	if (ret->way == CGROUP_NONE && !ret->why_not)
		ret->why_not = "this process's cgroup is not delegated to the caller (not "
			       "writable); systemd-run --user --scope -p Delegate=yes skillbox run "
			       "... gives it one";
}

/* The own cgroup's path relative to the mount: "." for the root. */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int read_small(int dirfd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read_full(fd, buf, size - 1);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	return 0;
}

/*
 * O_CREAT: an existing file of a cgroup opens as usual, and a missing one fails (cgroupfs
 * cannot create files); it also lets the unit test run this against a plain directory.
 */
static int write_small(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd =
		openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_CREAT, 0644);

	if (fd < 0)
		return -errno;
	return write_full(fd, s, strlen(s));
}

static char *join(const char *a, const char *b)
{
	struct buf x = BUF_INIT;

	if (streq(a, "."))
		buf_puts(&x, b);
	else
		buf_printf(&x, "%s/%s", a, b);
	return buf_steal(&x);
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

int cgroup_probe_at(int mount_fd, bool cgroup2, bool hybrid, const char *cgroup_line, pid_t pid,
		    struct cgroup_state *ret)
{
	char buf[4096], *path;
	const char *line;

	*ret = (struct cgroup_state){ .cgroup2 = cgroup2, .hybrid = hybrid };
	if (!cgroup2)
		return 0;
	/* The unified hierarchy's line is "0::/path". */
	line = strstr(cgroup_line, "0::/");
	if (!line || (line != cgroup_line && line[-1] != '\n'))
		return 0;
	ret->own = strndup(line + 3, strcspn(line + 3, "\n"));
	if (!ret->own)
		return -ENOMEM;

	path = join(rel(ret->own), "cgroup.controllers");
	if (!path)
		return -ENOMEM;
	if (read_small(mount_fd, path, buf, sizeof(buf)) == 0) {
		ret->memory = has_word(buf, "memory");
		ret->pids = has_word(buf, "pids");
	}
	free(path);
	path = join(rel(ret->own), "cgroup.subtree_control");
	if (!path)
		return -ENOMEM;
	if (read_small(mount_fd, path, buf, sizeof(buf)) == 0) {
		ret->subtree_memory = has_word(buf, "memory");
		ret->subtree_pids = has_word(buf, "pids");
	}
	ret->writable = faccessat(mount_fd, path, W_OK, AT_EACCESS) == 0;
	free(path);
	path = join(rel(ret->own), "cgroup.procs");
	if (!path)
		return -ENOMEM;
	ret->writable = ret->writable && faccessat(mount_fd, path, W_OK, AT_EACCESS) == 0 &&
			faccessat(mount_fd, rel(ret->own), W_OK, AT_EACCESS) == 0;
	if (read_small(mount_fd, path, buf, sizeof(buf)) == 0) {
		char self[24];

		snprintf(self, sizeof(self), "%d\n", (int)pid);
		ret->alone = streq(buf, self);
	}
	free(path);
	return 0;
}

int cgroup_probe(int *ret_mount_fd, struct cgroup_state *ret)
{
	_cleanup_close_ int mount_fd = -1;
	int r;

	char line[4096] = "";
	struct statfs sf;
	bool cgroup2 = false, hybrid = false;

	if (statfs(CGROUP_MOUNT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		cgroup2 = true;
	else if (statfs(CGROUP_MOUNT "/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		hybrid = true;
	if (cgroup2) {
		mount_fd = open(CGROUP_MOUNT, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (mount_fd < 0 ||
		    read_small(AT_FDCWD, "/proc/self/cgroup", line, sizeof(line)) < 0)
			cgroup2 = false;
	}
	r = cgroup_probe_at(mount_fd, cgroup2, hybrid, line, getpid(), ret);
	if (r >= 0)
		*ret_mount_fd = TAKE_FD(mount_fd);
	return r;
}

void cgroup_state_done(struct cgroup_state *s)
{
	free(s->own);
	*s = (struct cgroup_state){ 0 };
}

static char *mfree_str(char *p)
{
	free(p);
	return NULL;
}

static int fail_at(char **ret_error, int r, const char *what, const char *path)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "cgroup: %s %s/%s: %s", what, CGROUP_MOUNT, path, strerror(-r));
	*ret_error = buf_steal(&b);
	return r;
}

static int write_at(int mount_fd, const char *dir, const char *file, const char *value)
{
	_cleanup_free_ char *p = join(dir, file);

	if (!p)
		return -ENOMEM;
	return write_small(mount_fd, p, value);
}

static int move_pid(int mount_fd, const char *dir, pid_t pid)
{
	char v[24];

	snprintf(v, sizeof(v), "%d\n", (int)pid);
	return write_at(mount_fd, dir, "cgroup.procs", v);
}

static int read_key(int dirfd, const char *file, const char *key, uint64_t *ret)
{
	char buf[4096];
	size_t n = strlen(key);
	int r = read_small(dirfd, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	for (const char *l = buf; *l; l = strchrnul(l, '\n'), l += *l == '\n') {
		if (strncmp(l, key, n) == 0 && l[n] == ' ') {
			*ret = strtoull(l + n + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

/* Undoes what cgroup_run_create() did, in reverse; the first failure is kept. */
static int undo(struct cgroup_run *c, char **ret_error)
{
	struct buf b = BUF_INIT;
	int first = 0, r;

	if (c->path && c->fd >= 0) {
		/* Anything left (init is gone, so nothing should be) is killed first. */
		uint64_t populated = 0;

		if (read_key(c->fd, "cgroup.events", "populated", &populated) == 0 && populated) {
			_cleanup_close_ int ev = -1;
			struct pollfd pfd;

			(void)write_small(c->fd, "cgroup.kill", "1");
			ev = openat(c->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
			for (int waited = 0; ev >= 0 && populated && waited < EMPTY_TIMEOUT_MS;
			     waited += 50) {
				pfd = (struct pollfd){ .fd = ev, .events = POLLPRI };
				(void)poll(&pfd, 1, 50);
				if (read_key(c->fd, "cgroup.events", "populated", &populated) < 0)
					break;
			}
		}
	}
	c->fd = safe_close(c->fd);
	if (c->path) {
		r = unlinkat(c->mount_fd, c->path, AT_REMOVEDIR) < 0 ? -errno : 0;
		if (r < 0 && !first) {
			first = r;
			buf_printf(&b, "cgroup: %s/%s is left behind: %s", CGROUP_MOUNT, c->path,
				   strerror(-r));
		}
	}
	if (c->added_memory || c->added_pids) {
		r = write_at(c->mount_fd, c->own, "cgroup.subtree_control",
			     c->added_memory && c->added_pids ? "-memory -pids"
			     : c->added_memory		      ? "-memory"
							      : "-pids");
		if (r < 0 && !first) {
			first = r;
			buf_printf(&b, "cgroup: %s/%s: the memory controller stays enabled: %s",
				   CGROUP_MOUNT, c->own, strerror(-r));
		}
	}
	if (c->super) {
		r = move_pid(c->mount_fd, c->own, c->self);
		if (r >= 0)
			r = unlinkat(c->mount_fd, c->super, AT_REMOVEDIR) < 0 ? -errno : 0;
		if (r < 0 && !first) {
			first = r;
			buf_printf(&b, "cgroup: %s/%s is left behind: %s", CGROUP_MOUNT, c->super,
				   strerror(-r));
		}
	}
	if (ret_error && first)
		*ret_error = buf_steal(&b);
	else
		buf_done(&b);
	return first;
}

static struct cgroup_run *run_free(struct cgroup_run *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	free(c->own);
	free(c->path);
	free(c->super);
	free(c);
	return NULL;
}

int cgroup_run_create(int mount_fd, const struct cgroup_state *s, enum cgroup_way way,
		      const char *run_id, pid_t self, uint64_t memory, uint64_t pids,
		      struct cgroup_run **ret, char **ret_error)
{
	struct cgroup_run *c;
	struct buf b = BUF_INIT;
	char v[32];
	int r;

	*ret_error = NULL;
	if (way == CGROUP_NONE || !s->own)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct cgroup_run){ .mount_fd = mount_fd, .self = self, .fd = -1 };
	c->own = strdup(rel(s->own));
	if (!c->own) {
		run_free(c);
		return -ENOMEM;
	}

	if (way == CGROUP_MOVE_SELF) {
		/* Our own cgroup must hold no process before it may enable controllers. */
		buf_printf(&b, "skillbox-supervisor.%d", (int)self);
		c->super = join(c->own, buf_str(&b));
		buf_done(&b);
		if (!c->super) {
			r = -ENOMEM;
			goto fail_alloc;
		}
		if (mkdirat(mount_fd, c->super, 0755) < 0) {
			r = fail_at(ret_error, -errno, "creating", c->super);
			c->super = mfree_str(c->super);
			goto fail;
		}
		r = move_pid(mount_fd, c->super, self);
		if (r < 0) {
			r = fail_at(ret_error, r, "moving skillbox into", c->super);
			(void)unlinkat(mount_fd, c->super, AT_REMOVEDIR);
			c->super = mfree_str(c->super);
			goto fail;
		}
		/* One write: the kernel enables both or neither. */
		c->added_pids = s->pids && !s->subtree_pids && pids > 0;
		r = write_at(mount_fd, c->own, "cgroup.subtree_control",
			     c->added_pids ? "+memory +pids" : "+memory");
		if (r < 0) {
			c->added_pids = false;
			r = fail_at(ret_error, r, "enabling the memory controller in", c->own);
			goto fail;
		}
		c->added_memory = true;
	}

	buf_printf(&b, "skillbox-%s", run_id);
	c->path = join(c->own, buf_str(&b));
	buf_done(&b);
	if (!c->path) {
		r = -ENOMEM;
		goto fail_alloc;
	}
	if (mkdirat(mount_fd, c->path, 0755) < 0) {
		r = fail_at(ret_error, -errno, "creating", c->path);
		c->path = mfree_str(c->path);
		goto fail;
	}
	c->fd = openat(mount_fd, c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->fd < 0) {
		r = fail_at(ret_error, -errno, "opening", c->path);
		goto fail;
	}
	snprintf(v, sizeof(v), "%llu\n", (unsigned long long)memory);
	r = write_small(c->fd, "memory.max", v);
	if (r < 0) {
		r = fail_at(ret_error, r, "setting memory.max of", c->path);
		goto fail;
	}
	/* Swap would let the sandbox hold more than memory.max: none (absent without swap). */
	(void)write_small(c->fd, "memory.swap.max", "0\n");
	/* At the limit, the kernel kills the whole sandbox rather than one process of it. */
	(void)write_small(c->fd, "memory.oom.group", "1\n");
	if (pids > 0 && s->pids) {
		snprintf(v, sizeof(v), "%llu\n", (unsigned long long)pids);
		r = write_small(c->fd, "pids.max", v);
		if (r < 0) {
			r = fail_at(ret_error, r, "setting pids.max of", c->path);
			goto fail;
		}
	}
	*ret = c;
	return 0;

fail_alloc:
	*ret_error = strdup("cgroup: out of memory");
fail:
	(void)undo(c, NULL);
	run_free(c);
	return r;
}

int cgroup_run_fd(const struct cgroup_run *c)
{
	return c ? c->fd : -1;
}

const char *cgroup_run_path(const struct cgroup_run *c)
{
	return c ? c->path : NULL;
}

int cgroup_run_cpu_usec(const struct cgroup_run *c, uint64_t *ret)
{
	return read_key(c->fd, "cpu.stat", "usage_usec", ret);
}

int cgroup_run_oom_kills(const struct cgroup_run *c, uint64_t *ret)
{
	return read_key(c->fd, "memory.events", "oom_kill", ret);
}

int cgroup_run_destroy(struct cgroup_run *c, char **ret_error)
{
	int r;

	if (!c)
		return 0;
	r = undo(c, ret_error);
	run_free(c);
	return r;
}
