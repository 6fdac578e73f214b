/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "env.h"
#include "fd-util.h"
#include "mount-plan.h"
#include "secret-file.h"

static const char *const default_env[][2] = {
	{ "PATH", "/usr/local/bin:/usr/bin:/bin" },
	{ "HOME", SANDBOX_HOME },
	{ "LANG", "C.UTF-8" },
	{ "TMPDIR", "/tmp" },
};

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

static const char *lookup(char *const *env, const char *name, size_t n)
{
	for (char *const *e = env; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static const char *caller_value(char *const *env, const char *name)
{
	return lookup(env, name, strlen(name));
}

/* Replaces or adds NAME=value in envp. */
static int env_put(char ***envp, const char *name, const char *value)
{
	size_t n = strlen(name);
	struct buf b = BUF_INIT;
	char *s;

	buf_printf(&b, "%s=%s", name, value);
	s = buf_steal(&b);
	if (!s)
		return -ENOMEM;
	for (char **e = *envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
			explicit_bzero(*e, strlen(*e));
			free(*e);
			*e = s;
			return 0;
		}
	if (strv_push(envp, s) < 0) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

/*
 * A secret file is opened without following any symbolic link below the skill's directory
 * or HOME (secret-file.c) and must be a regular file that only its owner, the caller or
 * root, can read, like an ssh key; anything else is refused rather than silently used.
 */
static int read_secret_file(const struct manifest *m, const struct manifest_secret *s,
			    uid_t caller_uid, char **ret, char **ret_path, char **ret_error)
{
	_cleanup_free_ char *why = NULL;
	char where[MANIFEST_LOC_MAX];
	struct secret_file f;
	char *data = NULL;
	size_t len;
	int r;

	manifest_loc_format(s->loc, m->path, true, where, sizeof(where));
	r = secret_file_open(s->from_file, m->dir, caller_home(), caller_uid, &f, &why);
	/* An optional secret's file that does not exist: not set (permissions still count). */
	if (r == -ENOENT && s->optional) {
		*ret = NULL;
		*ret_path = NULL;
		return 0;
	}
	if (r < 0) {
		if (!why)
			return r;
		return fail(ret_error, r, "%s: secret %s: %s", where, s->name, why);
	}
	r = read_fd_bounded(f.fd, SECRET_MAX_SIZE, &data, &len);
	if (r < 0) {
		r = fail(ret_error, r, "%s: secret %s: reading %s: %s", where, s->name, f.path,
			 r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
		secret_file_done(&f);
		return r;
	}
	/* One trailing newline is how editors save files, not part of the secret. */
	if (len > 0 && data[len - 1] == '\n')
		data[--len] = 0;
	if (len > 0 && data[len - 1] == '\r')
		data[--len] = 0;
	if (memchr(data, 0, len)) {
		explicit_bzero(data, len);
		free(data);
		r = fail(ret_error, -EINVAL, "%s: secret %s: %s contains a NUL byte", where,
			 s->name, f.path);
		secret_file_done(&f);
		return r;
	}
	*ret = data;
	*ret_path = TAKE_PTR(f.path);
	secret_file_done(&f);
	return 0;
}

int sandbox_env_build(const struct manifest *m, char *const *caller_env, uid_t caller_uid,
		      struct sandbox_env *ret, char **ret_error)
{
	struct sandbox_env e = { 0 };
	int r = -ENOMEM;

	*ret_error = NULL;
	for (size_t i = 0; i < ELEMENTSOF(default_env); i++)
		if (env_put(&e.envp, default_env[i][0], default_env[i][1]) < 0 ||
		    strv_extend(&e.names_default, default_env[i][0]) < 0)
			goto out;

	for (size_t i = 0; i < m->env.n_pass; i++) {
		const char *name = m->env.pass[i].name;
		const char *v = caller_value(caller_env, name);

		if (!v) {
			if (strv_extend(&e.names_missing, name) < 0)
				goto out;
			continue;
		}
		if (env_put(&e.envp, name, v) < 0 || strv_extend(&e.names_passed, name) < 0)
			goto out;
	}
	for (size_t i = 0; i < m->env.n_set; i++)
		if (env_put(&e.envp, m->env.set[i].name, m->env.set[i].value) < 0 ||
		    strv_extend(&e.names_set, m->env.set[i].name) < 0)
			goto out;

	if (m->env.n_secrets) {
		e.secrets = calloc(m->env.n_secrets, sizeof(*e.secrets));
		if (!e.secrets)
			goto out;
	}
	for (size_t i = 0; i < m->env.n_secrets; i++) {
		const struct manifest_secret *s = &m->env.secrets[i];
		char *value = NULL, *path = NULL;

		if (s->from_env) {
			const char *v = caller_value(caller_env, s->from_env);
			char where[MANIFEST_LOC_MAX];

			if (!v && s->optional) {
				if (strv_extend(&e.names_absent, s->name) < 0)
					goto out;
				continue;
			}
			if (!v) {
				r = fail(
					ret_error, -ENOENT,
					"%s: secret %s: the caller's environment has no %s (mark it "
					"optional: true if the skill can do without)",
					manifest_loc_format(s->loc, m->path, true, where,
							    sizeof(where)),
					s->name, s->from_env);
				goto out;
			}
			value = strdup(v);
			if (!value)
				goto out;
		} else {
			r = read_secret_file(m, s, caller_uid, &value, &path, ret_error);
			if (r < 0)
				goto out;
			r = -ENOMEM;
			if (!value) {
				if (strv_extend(&e.names_absent, s->name) < 0)
					goto out;
				continue;
			}
		}
		e.secrets[e.n_secrets].value = value;
		e.secrets[e.n_secrets].path = path;
		e.secrets[e.n_secrets].name = strdup(s->name);
		e.n_secrets++;
		if (!e.secrets[e.n_secrets - 1].name || env_put(&e.envp, s->name, value) < 0)
			goto out;
	}

	/* What the caller had that the skill does not get, by name only. */
	for (char *const *c = caller_env; c && *c; c++) {
		const char *eq = strchr(*c, '=');
		_cleanup_free_ char *name = NULL;

		if (!eq)
			continue;
		name = strndup(*c, (size_t)(eq - *c));
		if (!name)
			goto out;
		if (strv_contains(e.names_passed, name) || strv_contains(e.names_stripped, name))
			continue;
		if (strv_extend(&e.names_stripped, name) < 0)
			goto out;
	}

	*ret = e;
	return 0;
out:
	sandbox_env_done(&e);
	if (r == -ENOMEM && !*ret_error)
		*ret_error = strdup("out of memory");
	return r;
}

void sandbox_env_done(struct sandbox_env *e)
{
	STRV_FOREACH (s, e->envp)
		explicit_bzero(*s, strlen(*s));
	strv_free(e->envp);
	strv_free(e->names_default);
	strv_free(e->names_passed);
	strv_free(e->names_missing);
	strv_free(e->names_set);
	strv_free(e->names_stripped);
	strv_free(e->names_absent);
	for (size_t i = 0; i < e->n_secrets; i++) {
		if (e->secrets[i].value)
			explicit_bzero(e->secrets[i].value, strlen(e->secrets[i].value));
		free(e->secrets[i].value);
		free(e->secrets[i].name);
		free(e->secrets[i].path);
	}
	free(e->secrets);
	*e = (struct sandbox_env){ 0 };
}

int sandbox_env_set_default(struct sandbox_env *e, const char *name, const char *value)
{
	if (!strv_contains(e->names_default, name) || strv_contains(e->names_passed, name) ||
	    strv_contains(e->names_set, name))
		return 0;
	for (size_t i = 0; i < e->n_secrets; i++)
		if (streq(e->secrets[i].name, name))
			return 0;
	return env_put(&e->envp, name, value);
}
