/* SPDX-License-Identifier: MIT */
/*
 * Opening the file `--audit PATH` names (audit.h, audit_open_file()).
 *
 * The trail is evidence, so the file it goes to must be one that only its owner can write,
 * and that owner must be the caller: as root in a directory others can write (/tmp, a shared
 * CI workspace), a path may already hold another user's file (who would read the trail, or
 * edit it), a FIFO (another user reads the trail as it is written; with no reader, a plain
 * open() blocks forever), a device, or a symbolic link to any of those.
 *
 * So the path is first opened with O_PATH|O_NOFOLLOW, which runs no driver's open and never
 * blocks, and what it names is checked with fstat(): a regular file, owned by the caller, not
 * writable by group or others. Only then is it opened for writing, again with O_NOFOLLOW and
 * O_NONBLOCK (so that a FIFO swapped in between cannot block either), and the descriptor is
 * checked to be the same inode. A path that names nothing is created with O_CREAT|O_EXCL and
 * mode 0600: O_EXCL never follows a symbolic link and fails if someone else created the file
 * first (in a sticky directory, another user can win that race); then the checks run again
 * on what is there, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "fd-util.h"

#define WRITE_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK)

static int check(const struct stat *st, uid_t owner, struct audit_file_refusal *why)
{
	why->mode = st->st_mode;
	why->uid = st->st_uid;
	if (!S_ISREG(st->st_mode)) {
		why->reason = AUDIT_FILE_NOT_REGULAR;
		return -EPERM;
	}
	if (st->st_uid != owner) {
		why->reason = AUDIT_FILE_NOT_OWNED;
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		why->reason = AUDIT_FILE_SHARED;
		return -EPERM;
	}
	return 0;
}

/* Opens an existing path for appending, if it is a file the caller alone may write. */
static int open_existing(const char *path, uid_t owner, int *ret, struct audit_file_refusal *why)
{
	_cleanup_close_ int probe = -1, fd = -1;
	struct stat st, st2;
	int r;

	probe = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (probe < 0)
		return -errno;
	if (fstat(probe, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		why->reason = AUDIT_FILE_SYMLINK;
		return -ELOOP;
	}
	r = check(&st, owner, why);
	if (r < 0)
		return r;
	fd = open(path, WRITE_FLAGS);
	if (fd < 0 && errno == ELOOP) {
		why->reason = AUDIT_FILE_SYMLINK;
		return -ELOOP;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st2) < 0)
		return -errno;
	if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		why->reason = AUDIT_FILE_REPLACED;
		return -EAGAIN;
	}
	r = check(&st2, owner, why);
	if (r < 0)
		return r;
	r = fd_set_nonblock(fd, false);
	if (r < 0)
		return r;
	*ret = TAKE_FD(fd);
	return 0;
}

int audit_open_file(const char *path, uid_t owner, int *ret_fd, struct audit_file_refusal *why)
{
	struct audit_file_refusal unused;
	int r;

	why = why ? why : &unused;
	*why = (struct audit_file_refusal){ .reason = AUDIT_FILE_OK };
	if (!path || !*path || !ret_fd)
		return -EINVAL;
	/* Twice at most: once more when someone else created the path between our two opens. */
	for (int attempt = 0; attempt < 2; attempt++) {
		_cleanup_close_ int fd = -1;
		struct stat st;

		r = open_existing(path, owner, ret_fd, why);
		if (r != -ENOENT)
			return r;
		fd = open(path, WRITE_FLAGS | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		/* A file we just created is ours; say so plainly if it is not (a broken setup). */
		if (fstat(fd, &st) < 0)
			return -errno;
		r = check(&st, owner, why);
		if (r < 0)
			return r;
		r = fd_set_nonblock(fd, false);
		if (r < 0)
			return r;
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	why->reason = AUDIT_FILE_REPLACED;
	return -EAGAIN;
}

const char *audit_file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFLNK:
		return "symbolic link";
	}
	return "file of unknown type";
}
