/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fd-util.h"
#include "macros.h"
#include "missing-syscalls.h"
#include "path-util.h"
#include "secret-file.h"

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	*ret_error = buf_steal(&b);
	return r;
}

/*
 * openat2() said ELOOP: find the first component below the anchor that is a symbolic link,
 * to name it and where it points. Only for the message; nothing is opened through it.
 */
static int explain_link(int anchor_fd, const char *anchor, const char *path, const char *rest,
			const char *anchor_name, char **ret_error)
{
	_cleanup_free_ char *prefix = strdup(rest);
	char target[PATH_MAX];
	char *p;

	if (!prefix)
		return -ENOMEM;
	for (p = prefix;; p++) {
		bool last = *p == 0;
		struct stat st;
		ssize_t n;

		if (*p != '/' && !last)
			continue;
		*p = 0;
		if (fstatat(anchor_fd, prefix, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			n = readlinkat(anchor_fd, prefix, target, sizeof(target) - 1);
			target[n < 0 ? 0 : n] = 0;
			return fail(ret_error, -ELOOP,
				    "%s%s%s is a symbolic link (to %s): a secret is never read "
				    "through a symbolic link below %s (%s); name the file itself",
				    streq(anchor, "/") ? "" : anchor, "/", prefix,
				    n < 0 ? "?" : target, anchor_name, anchor);
		}
		if (last)
			break;
		*p = '/';
	}
	return fail(ret_error, -ELOOP,
		    "%s: a symbolic link in its path: a secret is never read "
		    "through one below %s (%s)",
		    path, anchor_name, anchor);
}

int secret_file_open(const char *path, const char *skill_dir, const char *home, uid_t caller_uid,
		     struct secret_file *ret, char **ret_error)
{
	_cleanup_free_ char *home_norm = NULL;
	_cleanup_close_ int anchor_fd = -1, fd = -1;
	const char *anchor = "/", *anchor_name = "/", *rest = NULL, *r;
	char proc[64], real[PATH_MAX];
	struct stat st;
	ssize_t n;

	*ret = (struct secret_file){ .fd = -1 };
	*ret_error = NULL;
	if (home && home[0] == '/' && path_normalize(home, &home_norm) < 0)
		return -ENOMEM;

	/* The deepest anchor wins: a skill inside HOME is anchored at its own directory. */
	if (skill_dir && (r = path_startswith(path, skill_dir)) && *r) {
		anchor = skill_dir;
		anchor_name = "the skill's directory";
		rest = r;
	}
	if (home_norm && (r = path_startswith(path, home_norm)) && *r &&
	    (!rest || strlen(home_norm) > strlen(anchor))) {
		anchor = home_norm;
		anchor_name = "HOME";
		rest = r;
	}
	if (!rest) {
		rest = path + strspn(path, "/");
		if (!*rest)
			return fail(ret_error, -EISDIR, "%s is not a regular file", path);
	}

	anchor_fd = open(anchor, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (anchor_fd < 0)
		return fail(ret_error, -errno, "cannot open %s: %s", anchor, strerror(errno));
	/*
	 * O_NONBLOCK: a FIFO planted at the path must not make the open wait. No symlink in
	 * any component below the anchor, the last included; no magic link; no ".." out.
	 */
	fd = sys_openat2(anchor_fd, rest, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW,
			 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH);
	if (fd < 0 && errno == ELOOP)
		return explain_link(anchor_fd, anchor, path, rest, anchor_name, ret_error);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		return fail(ret_error, -errno,
			    "cannot open %s without following symbolic links: openat2() is not "
			    "available (%s; needs Linux 5.6)",
			    path, strerror(errno));
	if (fd < 0)
		return fail(ret_error, -errno, "cannot open %s: %s", path, strerror(errno));

	/* Like ssh with private keys: checked on what was opened, not on the path. */
	if (fstat(fd, &st) < 0)
		return fail(ret_error, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(ret_error, -EINVAL, "%s is not a regular file", path);
	if (st.st_uid != caller_uid && st.st_uid != 0)
		return fail(ret_error, -EPERM, "%s is owned by uid %u, not by the caller", path,
			    (unsigned)st.st_uid);
	if (st.st_mode & 077)
		return fail(ret_error, -EPERM,
			    "permissions %04o of %s are too open; it must not be readable by "
			    "group or others (chmod 600)",
			    (unsigned)(st.st_mode & 07777), path);

	/* Where it was found: the anchor's real path and the rest, which holds no symlink. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (n > 0) {
		real[n] = 0;
		ret->path = strdup(real);
	} else {
		ret->path = path_join(anchor, rest);
	}
	if (!ret->path)
		return -ENOMEM;
	ret->fd = TAKE_FD(fd);
	ret->anchor = anchor_name;
	ret->st = st;
	return 0;
}

void secret_file_done(struct secret_file *f)
{
	safe_close(f->fd);
	free(f->path);
	*f = (struct secret_file){ .fd = -1 };
}
