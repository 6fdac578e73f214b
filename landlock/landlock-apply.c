/* SPDX-License-Identifier: MIT */
/*
 * Applying a Landlock policy: the ruleset is built in the parent, as the caller, so that a
 * root caller can declare paths only root reaches; the skill restricts itself with the
 * ruleset's descriptor after no_new_privs and before its seccomp filter.
 *
 * A rule is attached to an inode, not to a path: opening the path once, without following
 * symbolic links, fixes what the rule covers; renaming the directory later does not move the
 * grant to something else. Rights on a file are limited to what Landlock allows on files
 * (it refuses directory rights there with EINVAL).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "landlock-abi.h"
#include "landlock-apply.h"
#include "missing-syscalls.h"
#include "path-util.h"

int landlock_abi(void)
{
	int v = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : v;
}

uint64_t landlock_errata(void)
{
	int v = ll_create_ruleset(NULL, 0, LL_CREATE_RULESET_ERRATA);

	return v < 0 ? 0 : (uint64_t)v;
}

void landlock_handled_for_abi(int abi, struct landlock_handled *ret)
{
	*ret = (struct landlock_handled){ 0 };
	if (abi < 1)
		return;
	/* ABI 1 knows rights 0..12; 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV. */
	ret->fs = (LL_FS_MAKE_SYM << 1) - 1;
	if (abi >= 2)
		ret->fs |= LL_FS_REFER;
	if (abi >= 3)
		ret->fs |= LL_FS_TRUNCATE;
	if (abi >= 4)
		ret->net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 5)
		ret->fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6)
		ret->scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
}

/* The attribute's size for an ABI: the kernel refuses fields it does not know (E2BIG). */
static size_t attr_size(int abi)
{
	if (abi >= 6)
		return sizeof(struct ll_ruleset_attr);
	if (abi >= 4)
		return offsetof(struct ll_ruleset_attr, scoped);
	return offsetof(struct ll_ruleset_attr, handled_access_net);
}

int landlock_ruleset_build(struct landlock_policy *p, int abi, int *ret_fd,
			   struct landlock_failure *fail)
{
	struct landlock_handled h;
	struct ll_ruleset_attr attr;
	_cleanup_close_ int ruleset = -1;

	landlock_handled_for_abi(abi, &h);
	attr = (struct ll_ruleset_attr){
		.handled_access_fs = h.fs,
		.handled_access_net = h.net,
		.scoped = h.scoped,
	};
	/*
	 * Handling TCP bind and connect without a single port rule denies both everywhere;
	 * handling the scopes keeps signals and abstract unix sockets inside the domain.
	 */
	ruleset = ll_create_ruleset(&attr, attr_size(abi), 0);
	if (ruleset < 0) {
		*fail = (struct landlock_failure){ LANDLOCK_STEP_CREATE, errno, -1 };
		return -errno;
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		struct landlock_rule *r = &p->rules[i];
		struct ll_path_beneath_attr pb;
		_cleanup_close_ int fd = -1;
		struct stat st;

		fd = sys_openat2(AT_FDCWD, r->path, O_PATH | O_CLOEXEC | O_NOFOLLOW, 0,
				 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd < 0 && errno == ENOENT && r->optional) {
			r->state = LANDLOCK_STATE_MISSING;
			continue;
		}
		if (fd < 0 || fstat(fd, &st) < 0) {
			*fail = (struct landlock_failure){ LANDLOCK_STEP_OPEN, errno, (ssize_t)i };
			return -fail->error;
		}
		if (S_ISLNK(st.st_mode)) {
			/* A writable symlink would be a "write path" pointing anywhere. */
			if (r->kind == LANDLOCK_RULE_WRITE || r->kind == LANDLOCK_RULE_PRIVATE) {
				*fail = (struct landlock_failure){ LANDLOCK_STEP_OPEN, ELOOP,
								   (ssize_t)i };
				return -ELOOP;
			}
			r->state = LANDLOCK_STATE_SYMLINK;
			continue;
		}
		pb = (struct ll_path_beneath_attr){
			.allowed_access = r->access & h.fs,
			.parent_fd = fd,
		};
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FS_FILE_RIGHTS;
		if (ll_add_rule(ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			*fail = (struct landlock_failure){ LANDLOCK_STEP_ADD, errno, (ssize_t)i };
			return -fail->error;
		}
		r->state = LANDLOCK_STATE_ADDED;
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	}
	*ret_fd = TAKE_FD(ruleset);
	return 0;
}

int landlock_restrict(int ruleset_fd)
{
	/*
	 * No logging flags: the kernel's audit subsystem then logs no denial of the skill after
	 * its execve() (the ABI 7 default), so a skill cannot flood the host's audit log.
	 */
	return ll_restrict_self(ruleset_fd, 0) < 0 ? -errno : 0;
}

int landlock_private_dir_path(const char *base, const char *id, char **ret)
{
	char real[PATH_MAX], name[80];

	if (!realpath(base, real))
		return -errno;
	snprintf(name, sizeof(name), "skillbox-%s", id);
	*ret = path_join(real, name);
	return *ret ? 0 : -ENOMEM;
}

int landlock_private_dir_create(const char *path, uid_t uid, gid_t gid)
{
	static const char *const parts[] = { LANDLOCK_PRIVATE_TMP, LANDLOCK_PRIVATE_HOME };
	_cleanup_close_ int fd = -1;
	bool root = geteuid() == 0;
	int e;

	/* mkdir fails on anything already there: nothing planted at the name is reused. */
	if (mkdir(path, 0700) < 0)
		return -errno;
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (root && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0))
		goto fail;
	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		if (mkdirat(fd, parts[i], 0700) < 0 ||
		    (root && fchownat(fd, parts[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0))
			goto fail;
	return 0;
fail:
	e = -errno;
	landlock_private_dir_remove(path);
	return e;
}

#define REMOVE_MAX_DEPTH 256

/* Empties the directory fd (taken over), depth levels deep at most. */
static int remove_contents(int fd, unsigned depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > REMOVE_MAX_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		int k = 0;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				r = r ?: -errno;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			/* A directory the skill made unreadable: the skill's, so ours. */
			if (sub < 0 && errno == EACCES &&
			    fchmodat(dirfd(d), de->d_name, 0700, 0) == 0)
				sub = openat(dirfd(d), de->d_name,
					     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				k = -errno;
			else
				k = remove_contents(sub, depth + 1);
			if (k >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
				k = -errno;
		} else if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
			k = -errno;
		}
		if (k < 0 && k != -ENOENT)
			r = r ?: k;
	}
	closedir(d);
	return r;
}

int landlock_private_dir_remove(const char *path)
{
	int fd, r;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = remove_contents(fd, 0);
	if (rmdir(path) < 0 && r >= 0)
		r = -errno;
	return r;
}
