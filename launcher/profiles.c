/* SPDX-License-Identifier: MIT */
/*
 * Reading the files a manifest includes: profiles by name, a team's partial manifests by
 * path. The manifest folder parses and merges them; this is its loader.
 *
 * Where profiles come from. They are part of the policy, so no environment variable can
 * point skillbox elsewhere: a root CI job must not be handed someone else's "system". The
 * one directory used is the first that exists of
 *
 *   1. PROFILES_DIR, where meson installs them ($datadir/skillbox/profiles);
 *   2. SOURCE_PROFILES_DIR, the source tree's profiles/, baked in at build time so that a
 *      skillbox run from its build directory works (meson -Duninstalled-profiles=false
 *      leaves it out).
 *
 * Profiles are never mixed from both. The directory and each profile file must belong to
 * root or to the caller and be writable by nobody else, as ssh asks of its keys: otherwise
 * another user could change what "system" grants. `skillbox explain` and run.start name the
 * files used, with their SHA-256.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "fd-util.h"
#include "path-util.h"
#include "profiles.h"
#include "strv.h"

static const char *const profile_dirs[] = {
	PROFILES_DIR,
#ifdef SOURCE_PROFILES_DIR
	SOURCE_PROFILES_DIR,
#endif
};

const char *profiles_dir(void)
{
	struct stat st;

	for (size_t i = 0; i < ELEMENTSOF(profile_dirs); i++)
		if (stat(profile_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
			return profile_dirs[i];
	return NULL;
}

/* Owned by root or the caller, and writable by no one else. */
static bool trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022);
}

static int fill(int fd, const char *path, const char *dir, const char **ret_problem,
		struct manifest_include *ret)
{
	_cleanup_free_ char *data = NULL, *p = NULL, *d = NULL, *id = NULL, *digest = NULL;
	char hex[AUDIT_HASH_HEX_LEN + 1];
	struct stat st;
	size_t len;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		*ret_problem = "not a regular file";
		return -EINVAL;
	}
	r = read_fd_bounded(fd, MANIFEST_MAX_SIZE, &data, &len);
	if (r == -EFBIG) {
		*ret_problem = "larger than 1 MiB";
		return -EFBIG;
	}
	if (r < 0)
		return r;
	audit_sha256_hex(data, len, hex);
	p = strdup(path);
	d = strdup(dir);
	digest = strdup(hex);
	if (!p || !d || !digest ||
	    asprintf(&id, "%llu:%llu", (unsigned long long)st.st_dev,
		     (unsigned long long)st.st_ino) < 0)
		return -ENOMEM;
	*ret = (struct manifest_include){
		.path = TAKE_PTR(p),
		.dir = TAKE_PTR(d),
		.id = TAKE_PTR(id),
		.digest = TAKE_PTR(digest),
		.data = TAKE_PTR(data),
		.len = len,
	};
	return 0;
}

static int load_profile(const char *name, const char **ret_problem, struct manifest_include *ret)
{
	_cleanup_free_ char *file = NULL, *path = NULL;
	_cleanup_close_ int dfd = -1, fd = -1;
	const char *dir = profiles_dir();
	struct stat st;

	if (!dir) {
		*ret_problem = "no profiles directory (" PROFILES_DIR
			       " does not exist: is skillbox installed?)";
		return -ENOENT;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0)
		return -errno;
	if (!trusted(&st)) {
		*ret_problem = "the profiles directory belongs to someone other than root and "
			       "the caller, or others may write it; refusing it";
		return -EPERM;
	}
	if (asprintf(&file, "%s.yaml", name) < 0)
		return -ENOMEM;
	/* The name is [a-z0-9_-] (the parser checked): it cannot leave the directory. */
	fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP)) {
		*ret_problem = "no such profile (skillbox explain --profiles lists them)";
		return -ENOENT;
	}
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!trusted(&st)) {
		*ret_problem = "the profile is writable by someone other than root and the caller, "
			       "or owned by another user; refusing it";
		return -EPERM;
	}
	path = path_join(dir, file);
	if (!path)
		return -ENOMEM;
	return fill(fd, path, dir, ret_problem, ret);
}

/* A team's own partial manifest: read like the manifest itself. */
static int load_file(const char *path, const char **ret_problem, struct manifest_include *ret)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	char *slash;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	return fill(fd, path, dir, ret_problem, ret);
}

int profiles_include(const char *ref, bool profile, void *userdata, struct manifest_include *ret,
		     const char **ret_problem)
{
	int r;

	*ret = (struct manifest_include){};
	r = profile ? load_profile(ref, ret_problem, ret) : load_file(ref, ret_problem, ret);
	if (r < 0)
		*ret = (struct manifest_include){};
	return r;
}

int profiles_list(char ***ret)
{
	_cleanup_strv_free_ char **names = NULL;
	const char *dir = profiles_dir();
	struct dirent **list = NULL;
	int n;

	*ret = NULL;
	if (!dir)
		return -ENOENT;
	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(list[i]->d_name);
		char *name = NULL;

		if (len > 5 && streq(list[i]->d_name + len - 5, ".yaml")) {
			name = strndup(list[i]->d_name, len - 5);
			if (!name || strv_push(&names, name) < 0) {
				free(name);
				for (int j = i; j < n; j++)
					free(list[j]);
				free(list);
				return -ENOMEM;
			}
		}
		free(list[i]);
	}
	free(list);
	*ret = TAKE_PTR(names);
	return 0;
}

const char *profiles_for_program(const char *path)
{
	static const struct {
		const char *profile;
		const char *const names[24];
	} table[] = {
		{ "python3", { "python", "python3", NULL } },
		{ "node", { "node", "nodejs", "npm", "npx", NULL } },
		{ "cc",
		  { "cc", "c++", "gcc", "g++", "cpp", "make", "ld", "as", "ar", "ranlib", "strip",
		    "objdump", "nm", NULL } },
		{ "git", { "git", NULL } },
		{ "tls", { "curl", "wget", "openssl", NULL } },
		{ "shell", { "sh",   "bash",  "dash", "awk", "mawk", "gawk",  "sed",  "grep",
			     "find", "xargs", "sort", "tr",  "cut",  "head",  "tail", "cat",
			     "wc",   "tee",   "uniq", "env", "ls",   "mkdir", "cp",   NULL } },
	};
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	/* python3.11, gcc-12: a version suffix names the same program (not ld-linux-x86-64.so). */
	n = strlen(base);
	for (size_t i = 1; base[i]; i++)
		if ((base[i] == '.' || base[i] == '-') && base[i + 1] >= '0' &&
		    base[i + 1] <= '9') {
			n = i;
			break;
		}
	for (size_t i = 0; i < ELEMENTSOF(table); i++)
		for (size_t j = 0; table[i].names[j]; j++)
			if (strlen(table[i].names[j]) == n && strneq(base, table[i].names[j], n))
				return table[i].profile;
	return NULL;
}
