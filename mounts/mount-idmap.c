/* SPDX-License-Identifier: MIT */
/*
 * Idmapped write paths, made by the caller before clone().
 *
 * When root starts a sandbox, the sandbox user is an unprivileged host uid of its own (a
 * per-run uid, or --user). A write path usually belongs to someone else: the CI job's build
 * directory belongs to root. An idmapped mount shows the path with its owner's uid replaced
 * by the sandbox user's, so the sandbox user may write there as the owner would, and what it
 * creates is stored on disk with the owner's uid: the job finds root-owned files afterwards,
 * not files of a uid other runs will reuse. Nothing on the host changes; the mapping lives in
 * the mount, which only the sandbox's mount namespace holds.
 *
 * The kernel allows MOUNT_ATTR_IDMAP only to a process with CAP_SYS_ADMIN over the user
 * namespace the filesystem was mounted in (the host's, for a disk), on filesystems that
 * support it (ext4, xfs, btrfs, tmpfs since 6.3, ...; not overlayfs itself), and only on a
 * detached mount. The sandbox's init has capabilities in the sandbox's user namespace only,
 * so the caller makes the detached copy here and init attaches it as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "missing-syscalls.h"
#include "mount-plan.h"
#include "userns-util.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

/* One user namespace per distinct owner: write paths usually share theirs. */
struct owner_ns {
	uid_t uid;
	gid_t gid;
	int fd; /* -errno when it could not be made */
};

static int owner_ns_get(struct owner_ns *cache, size_t *n, size_t max, uid_t owner_uid,
			gid_t owner_gid, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < *n; i++)
		if (cache[i].uid == owner_uid && cache[i].gid == owner_gid)
			return cache[i].fd;
	if (*n == max)
		return -E2BIG;
	cache[*n] = (struct owner_ns){
		.uid = owner_uid,
		.gid = owner_gid,
		.fd = userns_new_mapping(owner_uid, uid, owner_gid, gid),
	};
	return cache[(*n)++].fd;
}

static int idmap_tree(int src, int userns_fd)
{
	struct mount_attr ma = {
		.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		.userns_fd = (uint64_t)userns_fd,
		.propagation = MS_PRIVATE,
	};
	int tree;

	tree = sys_open_tree(src, "",
			     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	if (sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma) < 0) {
		int e = errno;
		close(tree);
		return -e;
	}
	return tree;
}

int mount_plan_idmap(struct mount_plan *p, bool idmap, uid_t uid, gid_t gid)
{
	struct owner_ns cache[8];
	size_t n_cache = 0;
	int mapped = 0;

	if (!p->trees)
		return -EINVAL;
	for (size_t i = 0; i < p->n_ops; i++) {
		struct mount_op *o = &p->ops[i];
		struct stat st;
		int src, ns, tree;

		if ((o->kind != MOUNT_OP_BIND || !o->writable) && o->kind != MOUNT_OP_OVERLAY)
			continue;
		o->idmap = MOUNT_IDMAP_NONE;
		o->owner_known = false;
		/* Exactly as mount_plan_apply() opens it; failures are left for it to report. */
		src = sys_openat2(AT_FDCWD, o->host, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0,
				  RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (src < 0)
			continue;
		if (fstat(src, &st) < 0 || S_ISLNK(st.st_mode)) {
			close(src);
			continue;
		}
		o->owner_known = true;
		o->owner_uid = st.st_uid;
		o->owner_gid = st.st_gid;
		o->owner_mode = st.st_mode;
		/* learn's overlay: only its owner (an overlay cannot take an idmapped layer
		   from another mount namespace). A path the sandbox user owns needs no map. */
		if (!idmap || o->kind == MOUNT_OP_OVERLAY || st.st_uid == uid) {
			close(src);
			continue;
		}
		ns = owner_ns_get(cache, &n_cache, ELEMENTSOF(cache), st.st_uid, st.st_gid, uid,
				  gid);
		tree = ns < 0 ? ns : idmap_tree(src, ns);
		close(src);
		if (tree < 0) {
			o->idmap = MOUNT_IDMAP_FAILED;
			o->idmap_error = -tree;
			continue;
		}
		safe_close(p->trees[i]);
		p->trees[i] = tree;
		o->idmap = MOUNT_IDMAP_MAPPED;
		mapped++;
	}
	for (size_t i = 0; i < n_cache; i++)
		safe_close(cache[i].fd);
	return mapped;
}

void mount_plan_close_trees(struct mount_plan *p)
{
	for (size_t i = 0; p->trees && i < p->n_ops; i++)
		p->trees[i] = safe_close(p->trees[i]);
}
