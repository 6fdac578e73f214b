/* SPDX-License-Identifier: MIT */
/*
 * What the sandbox's view decides about a traced call before it runs (trace-view.h): the
 * failures it cannot escape ("fails") and whether an opened path exists ("exists"), looked
 * up by the parent in the calling task's view. Design and limits: docs/design-notes.md,
 * "Whether a traced call succeeded".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macros.h"
#include "missing-syscalls.h"
#include "trace-view.h"

/*
 * The sandbox's view, from the parent: /proc/PID/root of the calling task, and lookups that
 * start there and stay inside it (RESOLVE_IN_ROOT: an absolute symlink inside the view
 * resolves in the view, not on the host). Magic links (/proc/PID/fd/N) are not followed: they
 * would resolve as the parent sees them.
 */
static int view_root(pid_t host_pid)
{
	char root[64];

	snprintf(root, sizeof(root), "/proc/%d/root", (int)host_pid);
	return open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int view_open(int root, const char *path, int flags)
{
	int fd;

	if (!path || path[0] != '/')
		return -EINVAL;
	fd = sys_openat2(root, path[1] ? path + 1 : ".", O_PATH | O_CLOEXEC | flags, 0,
			 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	return fd < 0 ? -errno : fd;
}

/*
 * Why path is certainly not there in the view: ENOENT (a name missing from a directory that
 * is there) or ENOTDIR (a file where a directory was needed), with *at_last telling whether
 * the last name is the missing one (its directory exists). 0 when it exists, or when that
 * cannot be told for certain: a dangling symlink, a lookup the parent would make differently
 * from the skill (procfs: "self" names the reader), or any other error. Each prefix is
 * looked up whole, so symlinks on the way resolve as the kernel resolves them.
 */
static int view_missing(int root, const char *path, bool *at_last)
{
	_cleanup_free_ char *prefix = NULL;
	_cleanup_close_ int prev = -1;
	struct statfs sf;
	struct stat st;
	const char *c;
	int fd;

	*at_last = false;
	fd = view_open(root, path, 0);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (fd != -ENOENT && fd != -ENOTDIR)
		return 0;
	prefix = strdup(path);
	if (!prefix)
		return 0;
	prev = fcntl(root, F_DUPFD_CLOEXEC, 3);
	for (c = path; *c == '/'; c++)
		;
	while (*c && prev >= 0) {
		const char *e = strchrnul(c, '/');
		_cleanup_free_ char *name = strndup(c, (size_t)(e - c));

		prefix[e - path] = '\0';
		fd = view_open(root, prefix, 0);
		if (fd >= 0) {
			close(prev);
			prev = fd;
			for (c = e; *c == '/'; c++)
				;
			strcpy(prefix, path);
			continue;
		}
		if (!name || (fd != -ENOENT && fd != -ENOTDIR))
			return 0;
		/* Where the walk stopped: is the directory one the skill sees as we do? */
		if (fstat(prev, &st) < 0 || fstatfs(prev, &sf) < 0 || sf.f_type == PROC_SUPER_MAGIC)
			return 0;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
		fd = sys_openat2(prev, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
				 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0) {
			close(fd); /* there, as a symlink that leads nowhere we can tell */
			return 0;
		}
		if (errno != ENOENT)
			return 0;
		for (c = e; *c == '/'; c++)
			;
		*at_last = !*c;
		return ENOENT;
	}
	return 0;
}

/* The mount (and filesystem) of fd is read-only. */
static bool fd_on_read_only(int fd)
{
	struct statvfs sv;

	return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/*
 * Whether a new name (mkdir, mknod, symlink, link's new path, O_CREAT) must fail: EEXIST when
 * it is taken, ENOENT or ENOTDIR when its directory is not there, EROFS when the directory is
 * on a read-only mount. 0 otherwise.
 */
static int new_name_fails(int root, const char *path)
{
	_cleanup_free_ char *dir = NULL;
	bool at_last;
	int fd, k;
	char *slash;

	fd = view_open(root, path, O_NOFOLLOW);
	if (fd >= 0) {
		close(fd);
		return EEXIST;
	}
	k = view_missing(root, path, &at_last);
	if (k != ENOENT || !at_last)
		return k;
	dir = strdup(path);
	if (!dir || !(slash = strrchr(dir, '/')))
		return 0;
	slash[slash == dir] = '\0';
	fd = view_open(root, dir, 0);
	if (fd < 0)
		return 0;
	k = fd_on_read_only(fd) ? EROFS : 0;
	close(fd);
	return k;
}

/* The interpreter of a "#!" script, when the file starts with one (read from the view). */
static char *shebang_interpreter(int fd)
{
	char proc[64], head[256];
	_cleanup_close_ int rfd = -1;
	struct statfs sf;
	ssize_t n;
	char *p, *e;

	/* A FUSE file could keep the supervisor waiting: not read. */
	if (fstatfs(fd, &sf) < 0 || sf.f_type == FUSE_SUPER_MAGIC)
		return NULL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rfd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return NULL;
	n = pread(rfd, head, sizeof(head) - 1, 0);
	if (n < 3 || head[0] != '#' || head[1] != '!')
		return NULL;
	head[n] = '\0';
	for (p = head + 2; *p == ' ' || *p == '\t'; p++)
		;
	for (e = p; *e && *e != ' ' && *e != '\t' && *e != '\n'; e++)
		;
	/* Without a newline in the first 255 bytes the kernel may read more: not told. */
	if (!strchr(head, '\n') || e == p)
		return NULL;
	return strndup(p, (size_t)(e - p));
}

/*
 * The failures a call cannot escape, found in the view just before the call runs: the
 * errno, or 0 when it may succeed or that cannot be told. Only what does not depend on who
 * asks (a missing name, a file that is nobody's to execute, a read-only mount), so a failure
 * for lack of permission is not predicted. The call itself still runs (the listener lets it
 * continue): a file the skill creates in between makes a prediction wrong, which only the
 * skill itself can arrange.
 */
static int exec_fails(int root, const char *path)
{
	_cleanup_free_ char *interp = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	bool at_last;

	fd = view_open(root, path, 0);
	if (fd < 0)
		return view_missing(root, path, &at_last);
	if (fstat(fd, &st) < 0)
		return 0;
	/* Even root needs an execute bit; a directory or device is never executed. */
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return EACCES;
	{
		struct statvfs sv;

		if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOEXEC))
			return EACCES;
	}
	interp = shebang_interpreter(fd);
	if (interp && interp[0] == '/')
		return view_missing(root, interp, &at_last);
	return 0;
}

/*
 * Whether the task may write the file fd (stat st) by its mode bits: 1, 0, or -1 when that
 * cannot be told (capabilities, an ACL, unreadable ids). Ids as the parent sees them, for
 * the task (its /proc status) and the file (fstat) alike; an idmapped mount's fstat shows the
 * ids its permission checks use.
 */
static int task_may_write(pid_t host_pid, int fd, const struct stat *st)
{
	char path[64], buf[4096];
	_cleanup_close_ int sfd = -1;
	const char *caps, *groups;
	uid_t fsuid;
	gid_t fsgid;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)host_pid);
	sfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (sfd < 0 || (n = read(sfd, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	caps = strstr(buf, "\nCapEff:");
	/* Uid: real effective saved fs; the fs ids are the ones checked. */
	if (!caps || strtoull(caps + 9, NULL, 16) != 0 ||
	    sscanf(strstr(buf, "\nUid:") ?: "", "\nUid: %*u %*u %*u %u", &fsuid) != 1 ||
	    sscanf(strstr(buf, "\nGid:") ?: "", "\nGid: %*u %*u %*u %u", &fsgid) != 1)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (getxattr(path, "system.posix_acl_access", NULL, 0) >= 0 || errno != ENODATA)
		return -1;
	if (fsuid == st->st_uid)
		return !!(st->st_mode & S_IWUSR);
	groups = strstr(buf, "\nGroups:");
	if (fsgid == st->st_gid)
		return !!(st->st_mode & S_IWGRP);
	for (const char *g = groups ? groups + 8 : ""; *g && *g != '\n';) {
		char *end;
		unsigned long v = strtoul(g, &end, 10);

		if (end == g) {
			g++;
			continue;
		}
		if (v == st->st_gid)
			return !!(st->st_mode & S_IWGRP);
		g = end;
	}
	return !!(st->st_mode & S_IWOTH);
}

static int open_fails(pid_t host_pid, int root, const char *path, int flags, int *exists)
{
	bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	_cleanup_close_ int fd = -1;
	struct stat st;
	bool at_last;
	int k;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return 0;
	fd = view_open(root, path, 0);
	*exists = fd >= 0;
	if (fd < 0) {
		/* Checked before the call: an O_CREAT open of a new file "did not exist". */
		k = view_missing(root, path, &at_last);
		if (k == 0 && fd != -ENOENT && fd != -ENOTDIR)
			*exists = -1;
		if (k == ENOENT && at_last && (flags & O_CREAT))
			return new_name_fails(root, path);
		return k;
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return EEXIST;
	if (!write || fstat(fd, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	/* Devices, fifos and sockets open for writing on a read-only mount; files do not. */
	if (!S_ISREG(st.st_mode) || !fd_on_read_only(fd))
		return 0;
	/*
	 * O_TRUNC asks for the mount's write access before the permission check; otherwise the
	 * permission check comes first (EACCES for a file the skill may not write).
	 */
	if (flags & O_TRUNC)
		return EROFS;
	switch (task_may_write(host_pid, fd, &st)) {
	case 1:
		return EROFS;
	case 0:
		return EACCES;
	default:
		return 0;
	}
}

static int change_fails(int root, const struct trace_call *c)
{
	_cleanup_close_ int fd = -1;
	bool at_last;
	int k;

	if (streq(c->op, "mkdir") || streq(c->op, "mknod") || streq(c->op, "symlink"))
		return new_name_fails(root, c->path);
	/* unlink, rmdir, rename and link act on the name itself, not where a symlink leads. */
	fd = view_open(root, c->path,
		       streq(c->op, "chmod") || streq(c->op, "chown") || streq(c->op, "truncate")
			       ? 0
			       : O_NOFOLLOW);
	if (fd < 0)
		return view_missing(root, c->path, &at_last);
	if (streq(c->op, "link"))
		return c->path2 ? new_name_fails(root, c->path2) : 0;
	k = fd_on_read_only(fd) ? EROFS : 0;
	return k;
}

void trace_predict(struct trace_call *c)
{
	_cleanup_close_ int root = -1;

	if (!c->path || c->path[0] != '/')
		return;
	root = view_root(c->host_pid);
	if (root < 0)
		return;
	switch (c->kind) {
	case TRACE_EXEC:
		c->fails = exec_fails(root, c->path);
		break;
	case TRACE_OPEN:
		c->fails = open_fails(c->host_pid, root, c->path, c->flags, &c->exists);
		break;
	case TRACE_CHANGE:
		c->fails = change_fails(root, c);
		break;
	default:
		break;
	}
	if (c->unsure)
		c->fails = 0;
}
