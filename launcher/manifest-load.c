/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fd-util.h"
#include "path-util.h"

static const char *caller_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int manifest_load(const char *arg, struct manifest **ret, char **ret_data, size_t *ret_len)
{
	_cleanup_free_ char *file = NULL, *dir_arg = NULL, *data = NULL;
	_cleanup_close_ int fd = -1;
	char dir[PATH_MAX];
	struct manifest_diags diags = { 0 };
	struct stat st;
	size_t len;
	char *slash;
	int r;

	fd = open(arg, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(-errno, "%s", arg);
	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "%s", arg);
	if (S_ISDIR(st.st_mode)) {
		int f = openat(fd, MANIFEST_FILENAME, O_RDONLY | O_CLOEXEC | O_NOCTTY);

		file = path_join(arg, MANIFEST_FILENAME);
		dir_arg = strdup(arg);
		if (!file || !dir_arg)
			return log_error_errno(-ENOMEM, "%s", arg);
		if (f < 0)
			return log_error_errno(-errno, "%s", file);
		close(fd);
		fd = f;
	} else {
		file = strdup(arg);
		dir_arg = strdup(arg);
		if (!file || !dir_arg)
			return log_error_errno(-ENOMEM, "%s", arg);
		slash = strrchr(dir_arg, '/');
		if (!slash)
			strcpy(dir_arg, ".");
		else if (slash == dir_arg)
			dir_arg[1] = 0;
		else
			*slash = 0;
	}

	r = read_fd_bounded(fd, MANIFEST_MAX_SIZE, &data, &len);
	if (r == -EFBIG) {
		log_error("%s: file is larger than 1 MiB", file);
		return -EINVAL;
	}
	if (r < 0)
		return log_error_errno(r, "%s", file);

	/*
	 * The manifest's own directory is resolved with realpath(): the caller chose it. What
	 * the manifest names below it is opened later without following any symlink.
	 */
	if (!realpath(dir_arg, dir))
		return log_error_errno(-errno, "%s", dir_arg);

	r = manifest_parse(
		data, len,
		&(struct manifest_parse_opts){ .path = file, .dir = dir, .home = caller_home() },
		ret, &diags);
	if (r == -EINVAL) {
		for (size_t i = 0; i < diags.n; i++) {
			const struct manifest_diag *d = &diags.items[i];

			if (d->loc.line)
				fprintf(stderr, "%s:%u:%u: %s\n", file, d->loc.line, d->loc.column,
					d->message);
			else
				fprintf(stderr, "%s: %s\n", file, d->message);
		}
		manifest_diags_done(&diags);
		return -EINVAL;
	}
	manifest_diags_done(&diags);
	if (r < 0)
		return log_error_errno(r, "%s", file);
	if (ret_data) {
		*ret_data = TAKE_PTR(data);
		*ret_len = len;
	}
	return 0;
}
