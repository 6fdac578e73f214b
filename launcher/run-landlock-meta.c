/* SPDX-License-Identifier: MIT */
/*
 * --isolation landlock: mode and time changes by path (chmod, fchmodat, fchmodat2, utimensat
 * with a path), performed by skillbox for the skill.
 *
 * Landlock does not restrict chmod() or utimensat(): without a mount namespace the skill
 * could change the mode of any file its uid owns anywhere on the host (chmod 666 ~/.bashrc).
 * Refusing them outright breaks builds (the linker makes its output executable with chmod()
 * by path; shutil.copy2 and tar set times by path). So the filter sends them here, and the
 * parent does the call itself when the file lies in a write path, the way Landlock would have
 * decided it: the file's directory (or the directory itself) has a write rule's inode among
 * its ancestors.
 *
 * Nothing the skill can change after the check decides what is changed: the path is read
 * from its memory once, the starting directory is its cwd or dirfd as the kernel holds it
 * (/proc/TID/cwd, /proc/TID/fd/N, opened after checking that the notification is still
 * alive), the file is opened with O_PATH|O_NOFOLLOW and changed through that descriptor.
 * A symbolic link in the last component that the call would follow is refused: its target
 * could lie anywhere. Lookups and the change itself run with the skill's filesystem uid and
 * gid (a root caller's skillbox switches with setfsuid()), so the kernel's own permission
 * checks are the skill's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "landlock-policy.h"
#include "macros.h"
#include "run-landlock.h"
#include "trace.h"

/* Directory levels walked up before giving up: deeper than any real tree. */
#define MAX_DEPTH 4096

static bool is_write_rule(const struct landlock_rule *r, const struct stat *st)
{
	return (r->kind == LANDLOCK_RULE_WRITE || r->kind == LANDLOCK_RULE_PRIVATE) &&
	       r->state == LANDLOCK_STATE_ADDED && r->dev == st->st_dev && r->ino == st->st_ino;
}

/* Is the directory fd, or one of its ancestors, the inode of a write rule? */
static bool beneath_write_rule(const struct landlock_policy *p, int fd)
{
	_cleanup_close_ int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	for (unsigned depth = 0; cur >= 0 && depth < MAX_DEPTH; depth++) {
		struct stat st, up_st;
		int up;

		if (fstat(cur, &st) < 0)
			return false;
		for (size_t i = 0; i < p->n_rules; i++)
			if (is_write_rule(&p->rules[i], &st))
				return true;
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return false;
		if (fstat(up, &up_st) < 0 ||
		    (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino)) {
			close(up); /* the root: nothing above */
			return false;
		}
		close(cur);
		cur = up;
	}
	return false;
}

enum meta_op {
	META_CHMOD,
	META_UTIMENS,
};

struct meta_call {
	enum meta_op op;
	int dirfd;
	uint64_t path_addr;
	mode_t mode;
	uint64_t times_addr;
	int flags;
};

static int decode(const char *name, const struct seccomp_notif *req, struct meta_call *c)
{
	const __u64 *a = req->data.args;

	if (streq(name, "chmod"))
		*c = (struct meta_call){ META_CHMOD, AT_FDCWD, a[0], (mode_t)a[1] };
	else if (streq(name, "fchmodat"))
		*c = (struct meta_call){ META_CHMOD, (int)a[0], a[1], (mode_t)a[2] };
	else if (streq(name, "fchmodat2"))
		*c = (struct meta_call){ META_CHMOD, (int)a[0], a[1], (mode_t)a[2], 0, (int)a[3] };
	else if (streq(name, "utimensat"))
		*c = (struct meta_call){ .op = META_UTIMENS,
					 .dirfd = (int)a[0],
					 .path_addr = a[1],
					 .times_addr = a[2],
					 .flags = (int)a[3] };
	else
		return -EOPNOTSUPP;
	return 0;
}

/* Where a relative path starts: the task's cwd or its dirfd, as the kernel holds them. */
static int open_base(pid_t tid, const char *path, int dirfd)
{
	char proc[64];
	int fd;

	if (path[0] == '/')
		return open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == AT_FDCWD)
		snprintf(proc, sizeof(proc), "/proc/%d/cwd", (int)tid);
	else if (dirfd >= 0)
		snprintf(proc, sizeof(proc), "/proc/%d/fd/%d", (int)tid, dirfd);
	else
		return -EBADF;
	fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && dirfd != AT_FDCWD ? -EBADF : -errno;
	return fd;
}

/* Splits path into its directory part (written into dir) and its last component. */
static const char *split_path(char *path, char *dir, size_t size)
{
	size_t n = strlen(path);
	char *slash;

	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, size, ".");
		return path;
	}
	if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
	return slash[1] ? slash + 1 : ".";
}

struct fs_ids {
	bool switched;
	int uid, gid;
};

static void become_skill(const struct run_landlock_meta *m, struct fs_ids *saved)
{
	*saved = (struct fs_ids){ 0 };
	if (!m->switch_fsuid)
		return;
	saved->gid = setfsgid(m->gid);
	saved->uid = setfsuid(m->uid);
	saved->switched = true;
}

static void become_self(const struct fs_ids *saved)
{
	if (!saved->switched)
		return;
	setfsuid((uid_t)saved->uid);
	setfsgid((gid_t)saved->gid);
}

/* Looks the file up and checks it; 1 allowed (*ret_fd), 0 refused (*ret_why), -errno. */
static int resolve(const struct run_landlock_meta *m, int base, char *path, bool follow,
		   int *ret_fd, const char **ret_why)
{
	char dirpart[PATH_MAX];
	const char *leaf = split_path(path, dirpart, sizeof(dirpart));
	_cleanup_close_ int dir = -1, target = -1;
	struct stat st;

	dir = openat(base, dirpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	if (streq(leaf, ".") || streq(leaf, "..") || streq(path, "/"))
		target = openat(dir, leaf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		target = openat(dir, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0 || fstat(target, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode) && follow) {
		*ret_why =
			"through a symbolic link, whose target could lie outside the write paths";
		return 0;
	}
	if (!beneath_write_rule(m->policy, S_ISDIR(st.st_mode) ? target : dir)) {
		*ret_why = "outside the write paths: Landlock does not restrict mode and time "
			   "changes, so skillbox performs them only there";
		return 0;
	}
	*ret_fd = TAKE_FD(target);
	return 1;
}

int run_landlock_meta_handle(void *userdata, int listener_fd, const struct seccomp_notif *req,
			     const char *name, struct seccomp_notif_resp *resp,
			     const char **ret_why, char **ret_path)
{
	const struct run_landlock_meta *m = userdata;
	pid_t tid = (pid_t)req->pid;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int base = -1, target = -1;
	struct timespec ts[2];
	struct meta_call c;
	struct fs_ids saved;
	char proc[64];
	int k;

	k = decode(name, req, &c);
	if (k < 0)
		return k;
	k = trace_read_path(tid, c.path_addr, &path);
	if (k >= 0 && c.times_addr)
		k = trace_read_mem(tid, c.times_addr, ts, sizeof(ts));
	if (k < 0) {
		/* What the kernel would have said of the same memory. */
		resp->error = k == -ENAMETOOLONG ? k : -EFAULT;
		return 1;
	}
	if (c.flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) {
		resp->error = -EINVAL;
		return 1;
	}
	if (!path[0]) {
		/* An O_PATH descriptor may name any file: only opened files are the skill's. */
		if (c.flags & AT_EMPTY_PATH) {
			*ret_why =
				"on a descriptor named by AT_EMPTY_PATH (fchmod() and futimens() "
				"on an opened file are allowed)";
			return 0;
		}
		resp->error = -ENOENT;
		return 1;
	}
	*ret_path = strdup(path);
	/* As the filter does for fchmod() and open(): no set-id file leaves the sandbox. */
	if (c.op == META_CHMOD && (c.mode & (S_ISUID | S_ISGID))) {
		*ret_why = "the mode sets S_ISUID or S_ISGID: such a file would run as its owner "
			   "outside the sandbox";
		return 0;
	}

	become_skill(m, &saved);
	base = open_base(tid, path, c.dirfd);
	/* The cwd or dirfd just opened are the notifying task's only if it still waits. */
	if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) < 0) {
		become_self(&saved);
		return -ESRCH;
	}
	if (base < 0) {
		become_self(&saved);
		resp->error = base;
		return 1;
	}
	k = resolve(m, base, path, !(c.flags & AT_SYMLINK_NOFOLLOW), &target, ret_why);
	if (k > 0) {
		if (c.op == META_CHMOD) {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", target);
			k = fchmodat(AT_FDCWD, proc, c.mode & 07777, 0);
		} else {
			k = (int)syscall(SYS_utimensat, target, "", c.times_addr ? ts : NULL,
					 AT_EMPTY_PATH | (c.flags & AT_SYMLINK_NOFOLLOW));
		}
		resp->error = k < 0 ? -errno : 0;
		resp->val = 0;
		k = 1;
	} else if (k < 0) {
		resp->error = k;
		k = 1;
	}
	become_self(&saved);
	return k;
}
