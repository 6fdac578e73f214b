/* SPDX-License-Identifier: MIT */
/*
 * Applying a mount plan. This runs in the sandbox's init process between clone() and the
 * skill's execve(): no allocation, no printing; every failure is reported as {step, errno,
 * operation} and the parent turns it into a message naming the manifest line.
 *
 * Security rests on two rules here:
 *  - Sources are opened with RESOLVE_NO_SYMLINKS, so a symlink planted anywhere along a
 *    declared host path (a workspace "cache -> ~/.ssh") cannot redirect a mount. Only a
 *    declared path that is itself a symlink is accepted, and it is recreated inside as the
 *    same symlink, never followed.
 *  - Mount points inside the new root are walked one component at a time relative to the
 *    root's fd with RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH, so a symlink inside a bound host
 *    directory cannot make a later mount land outside the view.
 * Mounts are made with the new mount API from those fds (open_tree, move_mount), never by
 * re-resolving a path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "missing-syscalls.h"
#include "mount-plan.h"

#define STAGING_MOUNTPOINT "/tmp"
#define STAGING_DIR	   ".skillbox-files"

struct apply {
	const struct mount_plan *plan;
	struct mount_failure *fail;
	int root_fd;	/* the new root tmpfs */
	int staging_fd; /* directory holding generated files until they are bound */
	int devnull_fd; /* O_PATH to the host's /dev/null, the source for hiding files */
};

static int failed(struct apply *a, enum mount_step step, int err, ssize_t op)
{
	a->fail->step = step;
	a->fail->error = err > 0 ? err : EIO;
	a->fail->op_index = op;
	return -a->fail->error;
}

/* Writes v in decimal into buf (at least 21 bytes); returns buf. */
static char *utoa(uint64_t v, char *buf)
{
	char t[21];
	size_t n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	for (size_t i = 0; i < n; i++)
		buf[i] = t[n - 1 - i];
	buf[n] = 0;
	return buf;
}

static char *otoa(unsigned v, char *buf)
{
	buf[0] = (char)('0' + ((v >> 9) & 7));
	buf[1] = (char)('0' + ((v >> 6) & 7));
	buf[2] = (char)('0' + ((v >> 3) & 7));
	buf[3] = (char)('0' + (v & 7));
	buf[4] = 0;
	return buf;
}

static int open_beneath(int dirfd, const char *name, int flags)
{
	return sys_openat2(dirfd, name, (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW), 0,
			   RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH);
}

/*
 * Walks path (absolute, normalized) below root_fd, creating missing directories, and returns
 * an O_PATH fd of the last directory, or of the parent when want_parent is set (then *leaf
 * points at the last component). Returns -errno.
 */
static int walk(int root_fd, const char *path, bool want_parent, const char **leaf)
{
	char comp[NAME_MAX + 1];
	const char *p = path;
	int fd;

	fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	while (*p == '/')
		p++;
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		int next;

		if (n > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		if (want_parent && *e == 0) {
			*leaf = p;
			return fd;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		next = open_beneath(fd, comp, O_PATH | O_DIRECTORY);
		if (next < 0 && errno == ENOTDIR) {
			struct stat st;

			/* O_NOFOLLOW|O_DIRECTORY says ENOTDIR for a symlink; name it what it is. */
			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				errno = ELOOP;
			else
				errno = ENOTDIR;
		}
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int e2 = errno;
				close(fd);
				return -e2;
			}
			next = open_beneath(fd, comp, O_PATH | O_DIRECTORY);
		}
		if (next < 0) {
			int e2 = errno;
			close(fd);
			return -e2;
		}
		close(fd);
		fd = next;
		p = e;
		while (*p == '/')
			p++;
	}
	if (want_parent)
		*leaf = ".";
	return fd;
}

/* Returns an O_PATH fd of a regular-file mount point at path, creating an empty file. */
static int make_file_mountpoint(int root_fd, const char *path)
{
	const char *leaf = NULL;
	int dir, fd;
	struct stat st;

	dir = walk(root_fd, path, true, &leaf);
	if (dir < 0)
		return dir;
	fd = openat(dir, leaf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST) {
		int e = errno;
		close(dir);
		return -e;
	}
	fd = open_beneath(dir, leaf, O_PATH);
	close(dir);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

/* Clones the mount tree at src_fd, sets its flags recursively and attaches it at target_fd. */
static int attach_clone(struct apply *a, ssize_t op, int src_fd, const char *src_path,
			int target_fd, uint64_t attr)
{
	struct mount_attr ma = { .attr_set = attr, .propagation = MS_PRIVATE };
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE;
	int tree, r;

	if (!src_path) {
		src_path = "";
		flags |= AT_EMPTY_PATH;
	}
	tree = sys_open_tree(src_fd, src_path, flags);
	if (tree < 0)
		return failed(a, MOUNT_STEP_MOUNT, errno, op);
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma) < 0) {
		r = failed(a, MOUNT_STEP_ATTR, errno, op);
		close(tree);
		return r;
	}
	r = sys_move_mount(tree, "", target_fd, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	if (r < 0)
		r = failed(a, MOUNT_STEP_MOUNT, errno, op);
	close(tree);
	return r;
}

/* Creates a detached filesystem of the given type; returns its mount fd or -errno. */
static int new_fs(const char *type, const char *const *options, unsigned attr)
{
	int fs, mnt;

	fs = sys_fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	for (size_t i = 0; options && options[i]; i += 2)
		if (sys_fsconfig(fs, FSCONFIG_SET_STRING, options[i], options[i + 1], 0) < 0) {
			int e = errno;
			close(fs);
			return -e;
		}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int e = errno;
		close(fs);
		return -e;
	}
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, attr);
	if (mnt < 0) {
		int e = errno;
		close(fs);
		return -e;
	}
	close(fs);
	return mnt;
}

static int attach_new_fs(struct apply *a, ssize_t op, const char *type, const char *const *options,
			 unsigned attr, int target_fd, int *ret_mnt)
{
	int mnt, r;

	mnt = new_fs(type, options, attr);
	if (mnt < 0)
		return failed(a, MOUNT_STEP_MOUNT, -mnt, op);
	r = sys_move_mount(mnt, "", target_fd, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	if (r < 0) {
		r = failed(a, MOUNT_STEP_MOUNT, errno, op);
		close(mnt);
		return r;
	}
	if (ret_mnt)
		*ret_mnt = mnt;
	else
		close(mnt);
	return 0;
}

static int mountpoint_failed(struct apply *a, const struct mount_op *o, ssize_t i, int r)
{
	/* A default mount point under a read-only bind is skipped, not fatal. */
	if (o->optional && (r == -EROFS || r == -EACCES || r == -EPERM))
		return 1;
	return failed(a, MOUNT_STEP_MOUNTPOINT, -r, i);
}

/*
 * A write path the caller already made into a detached, idmapped mount (mount_plan_idmap()):
 * attached as it is. Cloning it again here would need CAP_SYS_ADMIN over its filesystem,
 * which only the caller has.
 */
static int apply_tree(struct apply *a, ssize_t i)
{
	const struct mount_op *o = &a->plan->ops[i];
	int tree = a->plan->trees[i], target, r;
	struct stat st;

	if (fstat(tree, &st) < 0)
		return failed(a, MOUNT_STEP_SOURCE, errno, i);
	if (S_ISDIR(st.st_mode))
		target = walk(a->root_fd, o->inside, false, NULL);
	else
		target = make_file_mountpoint(a->root_fd, o->inside);
	if (target < 0)
		return mountpoint_failed(a, o, i, target);
	r = sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	if (r < 0)
		r = failed(a, MOUNT_STEP_MOUNT, errno, i);
	close(target);
	return r;
}

static int apply_bind(struct apply *a, ssize_t i)
{
	const struct mount_op *o = &a->plan->ops[i];
	int src = a->plan->fds[i], target, r;
	uint64_t attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	struct stat st;

	if (a->plan->trees && a->plan->trees[i] >= 0)
		return apply_tree(a, i);
	/* An optional source that does not exist on this machine (open_sources()). */
	if (src < 0 && o->source_optional)
		return 0;
	if (fstat(src, &st) < 0)
		return failed(a, MOUNT_STEP_SOURCE, errno, i);
	/* An optional source removed since it was opened (a temporary file of the host's). */
	if (o->source_optional && st.st_nlink == 0)
		return 0;

	/*
	 * A write path must be the directory or file itself: a symlink there (a workspace's
	 * "cache -> ~/.ssh") is refused rather than recreated, so the skill never gets a
	 * dangling "writable" path and the user learns why at once.
	 */
	if (S_ISLNK(st.st_mode) && o->writable)
		return failed(a, MOUNT_STEP_SOURCE, ELOOP, i);
	if (S_ISLNK(st.st_mode)) {
		/*
		 * /bin -> usr/bin on merged-/usr systems: recreated, never followed, so it can
		 * only ever point at what the view itself contains.
		 */
		char link[PATH_MAX];
		const char *leaf = NULL;
		ssize_t n;
		int dir;

		n = readlinkat(src, "", link, sizeof(link) - 1);
		if (n < 0)
			return failed(a, MOUNT_STEP_SOURCE, errno, i);
		link[n] = 0;
		dir = walk(a->root_fd, o->inside, true, &leaf);
		if (dir < 0)
			return mountpoint_failed(a, o, i, dir);
		r = symlinkat(link, dir, leaf);
		r = r < 0 ? -errno : 0;
		close(dir);
		if (r < 0)
			return failed(a, MOUNT_STEP_MOUNTPOINT, -r, i);
		return 0;
	}

	if (S_ISDIR(st.st_mode))
		target = walk(a->root_fd, o->inside, false, NULL);
	else
		target = make_file_mountpoint(a->root_fd, o->inside);
	if (target < 0)
		return mountpoint_failed(a, o, i, target);
	if (!o->writable)
		attr |= MOUNT_ATTR_RDONLY;
	r = attach_clone(a, i, src, NULL, target, attr);
	close(target);
	if (r < 0 && o->source_optional && a->fail->step == MOUNT_STEP_MOUNT &&
	    a->fail->error == ENOENT) {
		/* Removed between the check above and the clone: left out all the same. */
		a->fail->step = MOUNT_STEP_NONE;
		a->fail->error = 0;
		a->fail->op_index = -1;
		return 0;
	}
	return r;
}

static int apply_tmpfs(struct apply *a, ssize_t i)
{
	const struct mount_op *o = &a->plan->ops[i];
	char size[24], mode[8], inodes[24];
	const char *const options[] = { "size",	     utoa(o->size, size),
					"nr_inodes", utoa(mount_tmpfs_inodes(o->size), inodes),
					"mode",	     otoa(o->mode, mode),
					NULL };
	int target, r;

	target = walk(a->root_fd, o->inside, false, NULL);
	if (target < 0)
		return mountpoint_failed(a, o, i, target);
	r = attach_new_fs(a, i, "tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target,
			  NULL);
	close(target);
	return r;
}

static int apply_hide(struct apply *a, ssize_t i)
{
	static const char *const options[] = {
		"size", "4k", "nr_inodes", "1", "mode", "0000", NULL
	};
	const struct mount_op *o = &a->plan->ops[i];
	struct stat st;
	int target, r;

	/* RESOLVE_BENEATH refuses absolute paths: walk from the root's fd. */
	target = sys_openat2(a->root_fd, o->inside + 1, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0,
			     RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH);
	if (target < 0) {
		/* Nothing there, nothing to hide. */
		if (errno == ENOENT)
			return 0;
		return failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
	}
	if (fstat(target, &st) < 0) {
		r = failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
	} else if (S_ISDIR(st.st_mode)) {
		r = attach_new_fs(a, i, "tmpfs", options,
				  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					  MOUNT_ATTR_NOEXEC,
				  target, NULL);
	} else if (S_ISLNK(st.st_mode)) {
		r = failed(a, MOUNT_STEP_MOUNTPOINT, ELOOP, i);
	} else {
		r = attach_clone(a, i, a->devnull_fd, NULL, target,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	}
	close(target);
	return r;
}

static int apply_proc(struct apply *a, ssize_t i)
{
	int target, r;

	target = walk(a->root_fd, "/proc", false, NULL);
	if (target < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, -target, i);
	r = attach_new_fs(a, i, "proc", NULL,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, target, NULL);
	close(target);
	return r;
}

static int dev_symlink(struct apply *a, ssize_t i, int dev, const char *target, const char *name)
{
	if (symlinkat(target, dev, name) < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
	return 0;
}

static int dev_dir(struct apply *a, ssize_t i, int dev, const char *name, int *ret)
{
	if (mkdirat(dev, name, 0755) < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
	*ret = open_beneath(dev, name, O_PATH | O_DIRECTORY);
	if (*ret < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
	return 0;
}

/*
 * A minimal /dev: device nodes are bind mounts of the host's (a user namespace cannot
 * create them), on a tmpfs that is made read-only once populated.
 */
static int apply_dev(struct apply *a, ssize_t i)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const dev_options[] = { "size", "64k", "mode", "0755", NULL };
	static const char *const pts_options[] = { "ptmxmode", "0666", "mode", "0620", NULL };
	const struct mount_op *o = &a->plan->ops[i];
	char shm_size[24], shm_inodes[24];
	const char *const shm_options[] = {
		"size",	     utoa(o->size, shm_size),
		"nr_inodes", utoa(mount_tmpfs_inodes(o->size), shm_inodes),
		"mode",	     "1777",
		NULL
	};
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int target, dev = -1, sub = -1, r;

	target = walk(a->root_fd, "/dev", false, NULL);
	if (target < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, -target, i);
	r = attach_new_fs(a, i, "tmpfs", dev_options,
			  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, target, &dev);
	close(target);
	if (r < 0)
		return r;

	for (size_t k = 0; k < ELEMENTSOF(nodes); k++) {
		int fd = openat(dev, nodes[k], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);

		if (fd < 0) {
			r = failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
			goto out;
		}
		close(fd);
		target = open_beneath(dev, nodes[k], O_PATH);
		if (target < 0) {
			r = failed(a, MOUNT_STEP_MOUNTPOINT, errno, i);
			goto out;
		}
		/*
		 * The host's node, looked up before pivot_root(); /dev holds no symlinks here.
		 * A shared mapping of /dev/zero is shared anonymous memory, which no rlimit
		 * counts: with limits.memory and no cgroup, /dev/zero is the host's /dev/full,
		 * which reads zeros too but cannot be mapped.
		 */
		{
			char path[32] = "/dev/";

			strcat(path,
			       o->zero_unmappable && streq(nodes[k], "zero") ? "full" : nodes[k]);
			r = attach_clone(a, i, AT_FDCWD, path, target,
					 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
		}
		close(target);
		if (r < 0)
			goto out;
	}

	if ((r = dev_symlink(a, i, dev, "/proc/self/fd", "fd")) < 0 ||
	    (r = dev_symlink(a, i, dev, "/proc/self/fd/0", "stdin")) < 0 ||
	    (r = dev_symlink(a, i, dev, "/proc/self/fd/1", "stdout")) < 0 ||
	    (r = dev_symlink(a, i, dev, "/proc/self/fd/2", "stderr")) < 0)
		goto out;

	r = dev_dir(a, i, dev, "shm", &sub);
	if (r < 0)
		goto out;
	r = attach_new_fs(a, i, "tmpfs", shm_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, sub,
			  NULL);
	sub = safe_close(sub);
	if (r < 0)
		goto out;

	if (o->devpts) {
		r = dev_dir(a, i, dev, "pts", &sub);
		if (r < 0)
			goto out;
		r = attach_new_fs(a, i, "devpts", pts_options,
				  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, sub, NULL);
		sub = safe_close(sub);
		if (r < 0)
			goto out;
		r = dev_symlink(a, i, dev, "pts/ptmx", "ptmx");
		if (r < 0)
			goto out;
	}

	if (sys_mount_setattr(dev, "", AT_EMPTY_PATH, &ro) < 0)
		r = failed(a, MOUNT_STEP_ATTR, errno, i);
out:
	safe_close(dev);
	return r;
}

/*
 * Generated files are written into a staging directory on the root tmpfs first and bound
 * over their targets later, so they work the same whether the target's directory is part of
 * the tmpfs root or a read-only host bind (a host /etc with its own hosts file).
 */
static int stage_files(struct apply *a)
{
	const struct mount_plan *p = a->plan;
	bool any = false;

	for (size_t i = 0; i < p->n_ops; i++)
		any = any || p->ops[i].kind == MOUNT_OP_FILE;
	if (!any)
		return 0;
	if (mkdirat(a->root_fd, STAGING_DIR, 0755) < 0)
		return failed(a, MOUNT_STEP_FILE, errno, -1);
	a->staging_fd = open_beneath(a->root_fd, STAGING_DIR, O_PATH | O_DIRECTORY);
	if (a->staging_fd < 0)
		return failed(a, MOUNT_STEP_FILE, errno, -1);

	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];
		char name[24];
		int fd, r;

		if (o->kind != MOUNT_OP_FILE)
			continue;
		utoa(i, name);
		fd = openat(a->staging_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return failed(a, MOUNT_STEP_FILE, errno, (ssize_t)i);
		r = 0;
		for (size_t done = 0; done < o->content_len;) {
			ssize_t n = write(fd, o->content + done, o->content_len - done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? errno : EIO;
				break;
			}
			done += (size_t)n;
		}
		close(fd);
		if (r)
			return failed(a, MOUNT_STEP_FILE, r, (ssize_t)i);
		/* Keep a handle: a bind at "/" may cover the staging directory later. */
		p->fds[i] = open_beneath(a->staging_fd, name, O_PATH);
		if (p->fds[i] < 0)
			return failed(a, MOUNT_STEP_FILE, errno, (ssize_t)i);
	}
	return 0;
}

static int apply_file(struct apply *a, ssize_t i)
{
	const struct mount_op *o = &a->plan->ops[i];
	int target, r;

	target = make_file_mountpoint(a->root_fd, o->inside);
	if (target < 0)
		return mountpoint_failed(a, o, i, target);
	r = attach_clone(a, i, a->plan->fds[i], NULL, target,
			 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 MOUNT_ATTR_NOEXEC);
	close(target);
	return r;
}

/* Records that an overlay was replaced by a read-only bind of its lower directory. */
static void overlay_degraded(struct apply *a, ssize_t i, int err)
{
	a->fail->degraded_op = i;
	a->fail->degraded_error = err > 0 ? err : EIO;
}

static int overlay_set_layer(int fs, const char *key, int fd, bool by_fd)
{
	char path[32] = "/proc/self/fd/";

	if (by_fd)
		return sys_fsconfig(fs, FSCONFIG_SET_FD, key, NULL, fd);
	/* Before pivot_root() /proc is the host's, where "self" is this process. */
	utoa((uint64_t)fd, path + strlen(path));
	return sys_fsconfig(fs, FSCONFIG_SET_STRING, key, path, 0);
}

/* A detached overlay mount of the three layers; returns its mount fd or -errno. */
static int overlay_mount(int lower, int upper, int work, bool by_fd, bool userxattr)
{
	int fs, mnt, e;

	fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	/* "lowerdir+" (Linux 6.7) takes one layer, by fd since 6.13; "lowerdir" a path list. */
	if (overlay_set_layer(fs, by_fd ? "lowerdir+" : "lowerdir", lower, by_fd) < 0 ||
	    overlay_set_layer(fs, "upperdir", upper, by_fd) < 0 ||
	    overlay_set_layer(fs, "workdir", work, by_fd) < 0 ||
	    (userxattr && sys_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) ||
	    sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		goto fail;
	close(fs);
	return mnt;
fail:
	e = errno;
	close(fs);
	return -e;
}

/*
 * The upper layer's root gives the merged directory its owner and mode: the lower's, so the
 * skill may write exactly where it could write to the host directory itself. When the
 * lower's owner has no uid in the sandbox (a root caller's root-owned directory), the
 * directory belongs to the sandbox user and carries the lower's "other" permissions, which
 * are what the sandbox user had there.
 */
static int overlay_copy_owner(int upper_parent, const char *name, int lower, bool owned)
{
	struct stat st;
	mode_t mode;

	if (fstat(lower, &st) < 0)
		return -errno;
	mode = st.st_mode & 07777;
	/*
	 * The caller can write there on the host (its own, through a group, or for anyone):
	 * the sandbox user gets the directory, whatever group the host gave it. In this user
	 * namespace the sandbox user is the only mapped uid.
	 */
	if (owned) {
		if (fchownat(upper_parent, name, SANDBOX_UID, SANDBOX_GID, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return RET_NERRNO(fchmodat(upper_parent, name, mode | 0700, 0));
	}
	if (fchownat(upper_parent, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) == 0)
		return RET_NERRNO(fchmodat(upper_parent, name, mode, 0));
	/* A group with no gid here: the owner keeps its bits, the group gets the others'. */
	if (fchownat(upper_parent, name, st.st_uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) == 0)
		return RET_NERRNO(
			fchmodat(upper_parent, name, (mode & ~070u) | (mode & 07) << 3, 0));
	{
		mode_t other = st.st_mode & 07;

		mode = (st.st_mode & 01000) | other << 6 | other << 3 | other;
	}
	return RET_NERRNO(fchmodat(upper_parent, name, mode, 0));
}

/*
 * Mounts the overlay of apply_overlay() at target; returns 0 or -errno, reports nothing.
 * The upper layer's tmpfs is referenced only by the overlay once this returns.
 */
static int overlay_attach(struct apply *a, ssize_t i, int lower, int target)
{
	static const struct {
		bool by_fd, userxattr;
	} variants[] = { { true, true }, { false, true }, { false, false } };
	const struct mount_op *o = &a->plan->ops[i];
	char size[24];
	const char *const options[] = { "size", utoa(o->size, size), "mode", "0755", NULL };
	int tmp = -1, upper = -1, work = -1, mnt = -EINVAL, r;

	tmp = new_fs("tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (tmp < 0)
		return tmp;
	if (mkdirat(tmp, "upper", 0755) < 0 || mkdirat(tmp, "work", 0700) < 0) {
		r = -errno;
		goto out;
	}
	r = overlay_copy_owner(tmp, "upper", lower, o->owned);
	if (r < 0)
		goto out;
	upper = open_beneath(tmp, "upper", O_PATH | O_DIRECTORY);
	work = open_beneath(tmp, "work", O_PATH | O_DIRECTORY);
	if (upper < 0 || work < 0) {
		r = -errno;
		goto out;
	}
	for (size_t v = 0; v < ELEMENTSOF(variants) && mnt < 0; v++)
		mnt = overlay_mount(lower, upper, work, variants[v].by_fd, variants[v].userxattr);
	if (mnt < 0) {
		r = mnt;
		goto out;
	}
	r = sys_move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	r = r < 0 ? -errno : 0;
out:
	if (mnt >= 0)
		close(mnt);
	safe_close(work);
	safe_close(upper);
	safe_close(tmp);
	return r;
}

/*
 * A host directory made writable for `skillbox learn`: an overlay whose lower layer is the
 * directory (opened by fd without following symlinks, like a bind source) and whose upper
 * and work directories are on a private tmpfs nothing else references. What the skill writes
 * lands in that tmpfs and vanishes with the mount namespace; the host is never written.
 * "userxattr" keeps overlay's own metadata in user.* xattrs, which a tmpfs has in a user
 * namespace since Linux 6.6; without them the overlay still mounts, with fewer features.
 * When no variant can be mounted the directory is bound read-only instead, and that is
 * reported as degraded (fail->degraded_*), not as a failure.
 */
static int apply_overlay(struct apply *a, ssize_t i)
{
	const struct mount_op *o = &a->plan->ops[i];
	int target, r;

	target = walk(a->root_fd, o->inside, false, NULL);
	if (target < 0)
		return failed(a, MOUNT_STEP_MOUNTPOINT, -target, i);
	r = overlay_attach(a, i, a->plan->fds[i], target);
	if (r < 0) {
		overlay_degraded(a, i, -r);
		r = attach_clone(a, i, a->plan->fds[i], NULL, target,
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	}
	close(target);
	return r;
}

static void unstage_files(struct apply *a)
{
	const struct mount_plan *p = a->plan;

	if (a->staging_fd < 0)
		return;
	/* The bind mounts keep the files alive; the directory itself must not stay visible. */
	for (size_t i = 0; i < p->n_ops; i++) {
		char name[24];

		if (p->ops[i].kind == MOUNT_OP_FILE)
			unlinkat(a->staging_fd, utoa(i, name), 0);
	}
	a->staging_fd = safe_close(a->staging_fd);
	unlinkat(a->root_fd, STAGING_DIR, AT_REMOVEDIR);
}

static int open_sources(struct apply *a)
{
	const struct mount_plan *p = a->plan;

	for (size_t i = 0; i < p->n_ops; i++) {
		if (p->ops[i].kind != MOUNT_OP_BIND && p->ops[i].kind != MOUNT_OP_OVERLAY)
			continue;
		if (p->trees && p->trees[i] >= 0)
			continue;
		/*
		 * O_PATH|O_NOFOLLOW with RESOLVE_NO_SYMLINKS: a symlink in any directory
		 * component fails with ELOOP; a symlink as the last component is returned as
		 * itself and recreated later.
		 */
		p->fds[i] = sys_openat2(AT_FDCWD, p->ops[i].host, O_PATH | O_CLOEXEC | O_NOFOLLOW,
					0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		/*
		 * "optional: true": a path that one release or architecture has and another
		 * lacks (/lib64, /etc/python3.11) is left out. Only a missing path: one that
		 * exists but goes through a symlink still fails, as it would without.
		 */
		if (p->fds[i] < 0 && errno == ENOENT && p->ops[i].source_optional)
			continue;
		if (p->fds[i] < 0)
			return failed(a, MOUNT_STEP_SOURCE, errno, (ssize_t)i);
	}
	a->devnull_fd = sys_openat2(AT_FDCWD, "/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW, 0,
				    RESOLVE_NO_SYMLINKS);
	if (a->devnull_fd < 0)
		return failed(a, MOUNT_STEP_SOURCE, errno, -1);
	return 0;
}

static int make_root(struct apply *a)
{
	static const char *const options[] = { "size", "1m", "mode", "0755", NULL };
	int target, r;

	target = sys_openat2(AT_FDCWD, STAGING_MOUNTPOINT, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
			     RESOLVE_NO_SYMLINKS);
	if (target < 0)
		return failed(a, MOUNT_STEP_ROOT, errno, -1);
	r = attach_new_fs(a, -1, "tmpfs", options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, target,
			  &a->root_fd);
	close(target);
	if (r < 0)
		a->fail->step = MOUNT_STEP_ROOT;
	return r;
}

static int pivot(struct apply *a)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int top;

	/* Nothing may be created in the root itself once the view is built. */
	if (sys_mount_setattr(a->root_fd, "", AT_EMPTY_PATH, &ro) < 0)
		return failed(a, MOUNT_STEP_ATTR, errno, -1);

	/* The topmost mount at the staging point: a bind of "/" may sit on the tmpfs. */
	top = sys_openat2(AT_FDCWD, STAGING_MOUNTPOINT, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
			  RESOLVE_NO_SYMLINKS);
	if (top < 0)
		return failed(a, MOUNT_STEP_PIVOT, errno, -1);
	if (fchdir(top) < 0) {
		close(top);
		return failed(a, MOUNT_STEP_PIVOT, errno, -1);
	}
	close(top);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the view. */
	if (sys_pivot_root(".", ".") < 0)
		return failed(a, MOUNT_STEP_PIVOT, errno, -1);
	if (sys_umount2(".", MNT_DETACH) < 0)
		return failed(a, MOUNT_STEP_PIVOT, errno, -1);
	if (chdir("/") < 0)
		return failed(a, MOUNT_STEP_PIVOT, errno, -1);
	return 0;
}

int mount_plan_apply(const struct mount_plan *p, int (*opened_hook)(void *userdata), void *userdata,
		     struct mount_failure *fail)
{
	struct apply a = {
		.plan = p,
		.fail = fail,
		.root_fd = -1,
		.staging_fd = -1,
		.devnull_fd = -1,
	};
	int r;

	*fail = (struct mount_failure){ .step = MOUNT_STEP_NONE,
					.op_index = -1,
					.degraded_op = -1 };

	/* Nothing done from here on may propagate back to the host's mount table. */
	if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return failed(&a, MOUNT_STEP_PRIVATE, errno, -1);

	r = open_sources(&a);
	if (r < 0)
		goto out;
	if (opened_hook) {
		r = opened_hook(userdata);
		if (r < 0) {
			failed(&a, MOUNT_STEP_HOOK, -r, -1);
			goto out;
		}
	}
	r = make_root(&a);
	if (r < 0)
		goto out;
	r = stage_files(&a);
	if (r < 0)
		goto out;

	for (size_t i = 0; i < p->n_ops; i++) {
		switch (p->ops[i].kind) {
		case MOUNT_OP_BIND:
			r = apply_bind(&a, (ssize_t)i);
			break;
		case MOUNT_OP_TMPFS:
			r = apply_tmpfs(&a, (ssize_t)i);
			break;
		case MOUNT_OP_HIDE:
			r = apply_hide(&a, (ssize_t)i);
			break;
		case MOUNT_OP_PROC:
			r = apply_proc(&a, (ssize_t)i);
			break;
		case MOUNT_OP_DEV:
			r = apply_dev(&a, (ssize_t)i);
			break;
		case MOUNT_OP_FILE:
			r = apply_file(&a, (ssize_t)i);
			break;
		case MOUNT_OP_OVERLAY:
			r = apply_overlay(&a, (ssize_t)i);
			break;
		}
		if (r < 0)
			goto out;
	}
	unstage_files(&a);
	r = pivot(&a);
out:
	for (size_t i = 0; i < p->n_ops; i++) {
		p->fds[i] = safe_close(p->fds[i]);
		if (p->trees)
			p->trees[i] = safe_close(p->trees[i]);
	}
	safe_close(a.staging_fd);
	safe_close(a.devnull_fd);
	safe_close(a.root_fd);
	return r < 0 ? r : 0;
}
