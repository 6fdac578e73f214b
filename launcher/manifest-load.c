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
#include "mount-plan.h"
#include "path-util.h"
#include "profiles.h"
#include "strv.h"

const char *caller_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

void manifest_print_diags(const struct manifest_diags *diags, const char *file)
{
	for (size_t i = 0; i < diags->n; i++) {
		const struct manifest_diag *d = &diags->items[i];
		const char *f = d->file ? d->file : file;

		if (d->loc.line)
			log_plain("%s:%u:%u: %s", f, d->loc.line, d->loc.column, d->message);
		else
			log_plain("%s: %s", f, d->message);
	}
}

/*
 * A directory without skillbox.yaml: say what it is and what to do, rather than "No such
 * file or directory".
 */
static int missing_manifest(int dirfd, const char *dir, const char *file, int error)
{
	if (error == ENOENT && faccessat(dirfd, "skillsandbox.yaml", F_OK, 0) == 0) {
		log_error(
			"%s has a SkillSandbox manifest (skillsandbox.yaml) and no %s: convert it "
			"with 'skillbox import %s/skillsandbox.yaml -o %s', review it, then run "
			"again",
			dir, MANIFEST_FILENAME, dir, file);
		return -ENOENT;
	}
	if (error == ENOENT && faccessat(dirfd, "SKILL.md", F_OK, 0) == 0) {
		log_error("%s is an Agent Skill (SKILL.md) without a %s: write one with 'skillbox "
			  "init %s', review it, then run again",
			  dir, MANIFEST_FILENAME, dir);
		return -ENOENT;
	}
	return log_error_errno(-error, "%s", file);
}

int manifest_load(const char *arg, struct manifest **ret, char **ret_data, size_t *ret_len)
{
	return manifest_load_full(arg, NULL, ret, ret_data, ret_len);
}

int manifest_load_full(const char *arg, const struct manifest_grants *grants, struct manifest **ret,
		       char **ret_data, size_t *ret_len)
{
	_cleanup_free_ char *file = NULL, *dir_arg = NULL, *data = NULL, *id = NULL, *cwd = NULL;
	_cleanup_manifest_free_ struct manifest *m = NULL;
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
		int e = errno;

		file = path_join(arg, MANIFEST_FILENAME);
		dir_arg = strdup(arg);
		if (!file || !dir_arg)
			return log_error_errno(-ENOMEM, "%s", arg);
		if (f < 0)
			return missing_manifest(fd, arg, file, e);
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

	if (fstat(fd, &st) < 0)
		return log_error_errno(-errno, "%s", file);
	if (asprintf(&id, "%llu:%llu", (unsigned long long)st.st_dev,
		     (unsigned long long)st.st_ino) < 0)
		return log_error_errno(-ENOMEM, "%s", file);
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

	r = manifest_parse(data, len,
			   &(struct manifest_parse_opts){ .path = file,
							  .dir = dir,
							  .home = caller_home(),
							  .id = id,
							  .include = profiles_include },
			   &m, &diags);
	if (r >= 0 && !manifest_grants_empty(grants)) {
		struct manifest_grants g = *grants;

		/* Relative grants resolve against the caller's directory, not the manifest's. */
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return log_error_errno(-errno, "the current directory");
		g.cwd = cwd;
		g.home = caller_home();
		g.default_workdir = SANDBOX_HOME;
		r = manifest_add_grants(m, &g, &diags);
	}
	if (r == -EINVAL) {
		manifest_print_diags(&diags, file);
		manifest_diags_done(&diags);
		return -EINVAL;
	}
	manifest_diags_done(&diags);
	if (r < 0)
		return log_error_errno(r, "%s", file);
	*ret = TAKE_PTR(m);
	if (ret_data) {
		*ret_data = TAKE_PTR(data);
		*ret_len = len;
	}
	return 0;
}

int grant_option(struct manifest_grants *g, int c, const char *arg)
{
	char ***l;

	switch (c) {
	case OPT_GRANT_READ:
		l = &g->read;
		break;
	case OPT_GRANT_WRITE:
		l = &g->write;
		break;
	case OPT_GRANT_ENV:
		l = &g->env;
		break;
	case OPT_GRANT_SECRET:
		l = &g->secret;
		break;
	case OPT_GRANT_ALLOW:
		l = &g->allow;
		break;
	default:
		return 0;
	}
	/* Checked with the manifest they are merged into. */
	return strv_extend(l, arg) < 0 ? -ENOMEM : 1;
}

void grants_done(struct manifest_grants *g)
{
	strv_free(g->read);
	strv_free(g->write);
	strv_free(g->env);
	strv_free(g->secret);
	strv_free(g->allow);
	*g = (struct manifest_grants){};
}
