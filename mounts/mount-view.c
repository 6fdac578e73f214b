/* SPDX-License-Identifier: MIT */
/*
 * What a path inside the planned view leads to, as the sandbox will see it: which host file
 * provides it, following the view's symbolic links the way the kernel will inside (an
 * absolute link restarts at the view's root, not the host's). `skillbox check` asks it
 * whether the command, its interpreter and the working directory will be found; `skillbox
 * run` asks it which interpreter a script given after -- needs.
 *
 * The plan says where each mount goes; the host says what lies below a bind. Below a tmpfs,
 * /proc, /dev or a generated file, only what the plan itself places there exists: the
 * directories leading to other mount points. A missing optional source is left out, as
 * mount_plan_apply() will. The host is asked through struct mount_view_host, so the walk can
 * be unit-tested against a made-up tree.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount-plan.h"
#include "path-util.h"

#define MAX_LINKS 40 /* as the kernel allows in one lookup */

static int real_lstat(const char *path, struct stat *st, void *userdata)
{
	return lstat(path, st) < 0 ? -errno : 0;
}

static char *real_readlink(const char *path, void *userdata)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

static const struct mount_view_host real_host = { real_lstat, real_readlink, NULL };

/* True when path is a strict ancestor of the mount point of an operation that applies. */
static bool leads_to_op(const struct mount_plan *p, const struct mount_view_host *h,
			const char *path)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];
		const char *rest = path_startswith(o->inside, path);
		struct stat st;

		if (!rest || !*rest)
			continue;
		if (o->kind == MOUNT_OP_BIND && o->source_optional &&
		    h->lstat(o->host, &st, h->userdata) == -ENOENT)
			continue;
		return true;
	}
	return false;
}

/*
 * The operation whose mount is what the sandbox sees at path: the deepest one at the path
 * or above it (the last of equally deep ones), an optional bind whose source is missing
 * left out.
 */
static const struct mount_op *covering_op(const struct mount_plan *p,
					  const struct mount_view_host *h, const char *path)
{
	const struct mount_op *op = NULL;
	unsigned depth = 0;

	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];
		struct stat st;
		unsigned d;

		if (!path_startswith(path, o->inside))
			continue;
		if (o->kind == MOUNT_OP_BIND && o->source_optional &&
		    h->lstat(o->host, &st, h->userdata) == -ENOENT)
			continue;
		d = path_depth(o->inside);
		if (!op || d >= depth) {
			op = o;
			depth = d;
		}
	}
	return op;
}

/* What one normalized, symlink-free-so-far inside path is; *ret_link gets a link's target. */
static int classify(const struct mount_plan *p, const struct mount_view_host *h, const char *path,
		    struct mount_view_entry *e, char **ret_link)
{
	const struct mount_op *op = covering_op(p, h, path);
	struct stat st;
	int r;

	*ret_link = NULL;
	e->op = op;
	free(e->host);
	e->host = NULL;
	if (!op || op->kind == MOUNT_OP_TMPFS || op->kind == MOUNT_OP_PROC ||
	    op->kind == MOUNT_OP_DEV || op->kind == MOUNT_OP_HIDE || op->kind == MOUNT_OP_FILE) {
		bool at = op && streq(path, op->inside);

		if (streq(path, "/") || leads_to_op(p, h, path)) {
			e->node = MOUNT_VIEW_DIR;
			return 0;
		}
		if (!at) {
			/* /proc and /dev have their own contents: the kernel's, not the plan's. */
			e->node = op && (op->kind == MOUNT_OP_PROC || op->kind == MOUNT_OP_DEV)
					  ? MOUNT_VIEW_OTHER
					  : MOUNT_VIEW_MISSING;
			return 0;
		}
		e->node = op->kind == MOUNT_OP_FILE ? MOUNT_VIEW_FILE : MOUNT_VIEW_DIR;
		e->mode = op->kind == MOUNT_OP_FILE ? 0444 : 0755;
		return 0;
	}

	/* A bind (or learn's overlay): the host says. */
	{
		const char *rest = path_startswith(path, op->inside);

		e->host = *rest ? path_join(op->host, rest) : strdup(op->host);
		if (!e->host)
			return -ENOMEM;
	}
	r = h->lstat(e->host, &st, h->userdata);
	if (r < 0) {
		/* A mount point the plan creates inside the bind, or nothing. */
		e->node = leads_to_op(p, h, path) ? MOUNT_VIEW_DIR : MOUNT_VIEW_MISSING;
		return 0;
	}
	e->mode = st.st_mode & 07777;
	if (S_ISLNK(st.st_mode)) {
		*ret_link = h->readlink(e->host, h->userdata);
		e->node = *ret_link ? MOUNT_VIEW_SYMLINK : MOUNT_VIEW_MISSING;
		return 0;
	}
	e->node = S_ISDIR(st.st_mode)	? MOUNT_VIEW_DIR
		  : S_ISREG(st.st_mode) ? MOUNT_VIEW_FILE
					: MOUNT_VIEW_OTHER;
	return 0;
}

void mount_view_entry_done(struct mount_view_entry *e)
{
	free(e->host);
	free(e->inside);
	free(e->link);
	*e = (struct mount_view_entry){};
}

int mount_view_resolve(const struct mount_plan *p, const struct mount_view_host *h,
		       const char *path, bool follow, struct mount_view_entry *ret)
{
	_cleanup_free_ char *remaining = NULL;
	struct mount_view_entry e = { .node = MOUNT_VIEW_DIR };
	char *cur = NULL;
	unsigned hops = 0;
	const char *s;
	int r = 0;

	if (!p || !path || path[0] != '/')
		return -EINVAL;
	if (!h)
		h = &real_host;
	remaining = strdup(path);
	cur = strdup("/");
	if (!remaining || !cur) {
		r = -ENOMEM;
		goto out;
	}
	s = remaining;
	for (;;) {
		_cleanup_free_ char *comp = NULL, *next = NULL, *link = NULL;
		const char *end;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		end = strchrnul(s, '/');
		comp = strndup(s, (size_t)(end - s));
		if (!comp) {
			r = -ENOMEM;
			goto out;
		}
		s = end;
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			char *slash = strrchr(cur, '/');

			if (slash == cur)
				cur[1] = 0;
			else if (slash)
				*slash = 0;
			continue;
		}
		if (e.node != MOUNT_VIEW_DIR) {
			/* Something below a file, or below nothing. */
			e.node = MOUNT_VIEW_MISSING;
			break;
		}
		next = path_join(cur, comp);
		if (!next) {
			r = -ENOMEM;
			goto out;
		}
		r = classify(p, h, next, &e, &link);
		if (r < 0)
			goto out;
		while (*s == '/')
			s++;
		if (e.node == MOUNT_VIEW_SYMLINK && (follow || *s)) {
			_cleanup_free_ char *rest = NULL, *joined = NULL;

			if (++hops > MAX_LINKS) {
				e.node = MOUNT_VIEW_MISSING;
				break;
			}
			/* The rest of the walk goes on at the link's target, inside the view. */
			rest = strdup(s);
			joined = malloc(strlen(cur) + strlen(link) + strlen(rest) + 3);
			if (!rest || !joined) {
				r = -ENOMEM;
				goto out;
			}
			if (link[0] == '/')
				sprintf(joined, "%s/%s", link, rest);
			else
				sprintf(joined, "%s/%s/%s", cur, link, rest);
			free(remaining);
			remaining = TAKE_PTR(joined);
			s = remaining;
			strcpy(cur, "/");
			free(e.link);
			e.link = TAKE_PTR(link);
			e.node = MOUNT_VIEW_DIR;
			continue;
		}
		free(cur);
		cur = TAKE_PTR(next);
		if (e.node == MOUNT_VIEW_SYMLINK) {
			free(e.link);
			e.link = TAKE_PTR(link);
		}
		if (e.node == MOUNT_VIEW_MISSING)
			break;
	}
	if (e.node == MOUNT_VIEW_MISSING) {
		free(e.host);
		e.host = NULL;
	}
	r = path_normalize(cur, &e.inside);
	if (r < 0)
		goto out;
	*ret = e;
	e = (struct mount_view_entry){};
out:
	free(cur);
	mount_view_entry_done(&e);
	return r;
}
