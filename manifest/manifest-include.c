/* SPDX-License-Identifier: MIT */
/*
 * A manifest and the files it includes: reading the tree, refusing cycles and depth, merging.
 *
 * Each file is parsed on its own (manifest-parse.c), with its own directory for relative
 * paths, and every problem keeps the file it is in. Its include: entries are then read, in
 * order, through the caller's loader (this folder makes no system call), each merged under
 * the next (a later include wins over an earlier one), and the result under the including
 * file (manifest-merge.c). A file reached twice through different includes (python3 and node
 * both include system) is taken once, the first time; a file that includes itself, directly
 * or not, is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-internal.h"
#include "strv.h"

struct tree {
	const struct manifest_parse_opts *opts;
	struct manifest_diags *diags;
	struct manifest_file *files; /* every file read, the manifest first */
	size_t n_files;
	char **stack;	      /* identities of the files being read, outermost first */
	char **seen;	      /* identities of every file read */
	size_t n_diags_start; /* diags->n when parsing began */
};

int manifest_diags_add(struct manifest_diags *diags, struct manifest_loc loc, const char *fmt, ...)
{
	struct manifest_diag *d;
	char *msg, *file = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (loc.file) {
		file = strdup(loc.file);
		if (!file) {
			free(msg);
			return -ENOMEM;
		}
	}
	/* Exact growth, as move_diags() does: the list's capacity is never stored. */
	d = realloc(diags->items, (diags->n + 1) * sizeof(*d));
	if (!d) {
		free(msg);
		free(file);
		return -ENOMEM;
	}
	diags->items = d;
	d = &diags->items[diags->n++];
	d->message = msg;
	d->file = file;
	d->loc = loc;
	d->loc.file = file;
	return 0;
}

static void tree_done(struct tree *t)
{
	for (size_t i = 0; i < t->n_files; i++) {
		free(t->files[i].path);
		free(t->files[i].digest);
		free(t->files[i].profile);
	}
	free(t->files);
	strv_free(t->stack);
	strv_free(t->seen);
}

static void include_done(struct manifest_include *inc)
{
	free(inc->path);
	free(inc->dir);
	free(inc->id);
	free(inc->digest);
	free(inc->data);
	*inc = (struct manifest_include){};
}

/* Records a file; its path string is what the values read from it point to. */
static struct manifest_file *tree_add_file(struct tree *t, const char *path, unsigned depth)
{
	struct manifest_file *f;

	f = manifest_array_append(&t->files, &t->n_files, sizeof(*f));
	if (!f)
		return NULL;
	f->path = strdup(path);
	f->depth = depth;
	if (!f->path) {
		t->n_files--;
		return NULL;
	}
	return f;
}

static int read_tree(struct tree *t, const char *data, size_t len,
		     const struct manifest_parse_opts *opts, const char *file, unsigned depth,
		     struct manifest **ret);

/*
 * Reads one include: entry and what it includes; *ret stays NULL when it was skipped (taken
 * already) or had problems (reported).
 */
static int read_include(struct tree *t, const struct manifest_include_ref *ref, unsigned depth,
			struct manifest **ret)
{
	_cleanup_(include_done) struct manifest_include inc = {};
	struct manifest_parse_opts opts = *t->opts;
	const char *problem = NULL, *id;
	struct manifest_file *f;
	/* Quoted and cut: messages reach terminals and stay short. */
	char q[MP_QUOTE_MAX], qp[MP_QUOTE_MAX];
	int r;

	*ret = NULL;
	mp_quote(ref->ref, strlen(ref->ref), q, sizeof(q));
	if (!t->opts->include)
		return manifest_diags_add(t->diags, ref->loc,
					  "include %s: including files is not possible here", q);
	if (depth > MANIFEST_MAX_INCLUDE_DEPTH)
		return manifest_diags_add(t->diags, ref->loc,
					  "include %s: includes are nested deeper than %d levels",
					  q, MANIFEST_MAX_INCLUDE_DEPTH);
	/* So many problems already that more files would only add noise. */
	if (t->diags->n - t->n_diags_start >= MANIFEST_MAX_DIAGS)
		return 0;
	r = t->opts->include(ref->ref, ref->profile, t->opts->userdata, &inc, &problem);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return manifest_diags_add(t->diags, ref->loc, "include %s%s: %s",
					  ref->profile ? "profile " : "", q,
					  problem ? problem : strerror(-r));
	if (!inc.path || !inc.dir)
		return manifest_diags_add(t->diags, ref->loc, "include %s: %s", q,
					  "the loader gave no path");
	mp_quote(inc.path, strlen(inc.path), qp, sizeof(qp));
	id = inc.id ? inc.id : inc.path;
	if (strv_contains(t->stack, id))
		return manifest_diags_add(t->diags, ref->loc,
					  "include %s: %s includes itself (an include cycle)", q,
					  qp);
	/* Taken once: python3 and node both include system. */
	if (strv_contains(t->seen, id))
		return 0;
	if (t->n_files >= MANIFEST_MAX_FILES)
		return manifest_diags_add(t->diags, ref->loc,
					  "include %s: more than %d files make up this manifest", q,
					  MANIFEST_MAX_FILES);
	if (inc.len > MANIFEST_MAX_SIZE)
		return manifest_diags_add(t->diags, ref->loc, "include %s: %s is larger than 1 MiB",
					  q, qp);

	f = tree_add_file(t, inc.path, depth);
	if (!f || strv_extend(&t->seen, id) < 0 || strv_extend(&t->stack, id) < 0)
		return -ENOMEM;
	f->digest = TAKE_PTR(inc.digest);
	if (ref->profile) {
		f->profile = strdup(ref->ref);
		if (!f->profile)
			return -ENOMEM;
	}
	opts.path = inc.path;
	opts.dir = inc.dir;
	opts.id = id;
	r = read_tree(t, inc.data, inc.len, &opts, f->path, depth, ret);
	free(t->stack[strv_length(t->stack) - 1]);
	t->stack[strv_length(t->stack) - 1] = NULL;
	return r == -EINVAL ? 0 : r;
}

/*
 * Parses one file and merges what it includes under it. Returns 0 with the merged manifest,
 * -EINVAL when this file or one it includes had problems (all reported), or -ENOMEM.
 */
static int read_tree(struct tree *t, const char *data, size_t len,
		     const struct manifest_parse_opts *opts, const char *file, unsigned depth,
		     struct manifest **ret)
{
	_cleanup_manifest_free_ struct manifest *m = NULL, *acc = NULL;
	struct manifest_include_ref *refs = NULL;
	size_t n_refs = 0, n_diags = t->diags->n;
	int r;

	r = manifest_parse_file(data, len, opts, file, depth > 0 || t->opts->partial, t->diags, &m,
				&refs, &n_refs);
	if (r == -ENOMEM)
		goto out;
	for (size_t i = 0; i < n_refs; i++) {
		struct manifest *sub = NULL;

		r = read_include(t, &refs[i], depth + 1, &sub);
		if (r < 0)
			goto out;
		if (!sub)
			continue;
		/* A later include wins over an earlier one. */
		if (acc) {
			r = manifest_merge(sub, acc, false);
			manifest_free(acc);
			acc = NULL;
			if (r < 0) {
				manifest_free(sub);
				goto out;
			}
		}
		acc = sub;
	}
	r = 0;
	if (t->diags->n != n_diags || !m) {
		r = -EINVAL;
		goto out;
	}
	if (acc) {
		r = manifest_merge(m, acc, false);
		if (r < 0)
			goto out;
	}
	*ret = TAKE_PTR(m);
out:
	manifest_include_refs_free(refs, n_refs);
	return r;
}

/* The position of a problem's file among the files read, for sorting; unknown ones last. */
static size_t file_rank(const struct tree *t, const char *file)
{
	if (!file)
		return 0;
	for (size_t i = 0; i < t->n_files; i++)
		if (streq(t->files[i].path, file))
			return i;
	return t->n_files;
}

static bool diag_before(const struct tree *t, const struct manifest_diag *a,
			const struct manifest_diag *b)
{
	size_t fa = file_rank(t, a->file), fb = file_rank(t, b->file);

	if (fa != fb)
		return fa < fb;
	return loc_before(a->loc, b->loc);
}

/* Insertion sort of diags[from..]: stable, by file (in the order read), then position. */
static void sort_diags(const struct tree *t, struct manifest_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct manifest_diag x = d->items[i];
		size_t j = i;

		while (j > from && diag_before(t, &x, &d->items[j - 1])) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = x;
	}
}

int manifest_parse(const char *data, size_t len, const struct manifest_parse_opts *opts,
		   struct manifest **ret, struct manifest_diags *diags)
{
	static const struct manifest_parse_opts no_opts = {};
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct tree t = { .diags = diags, .n_diags_start = diags->n };
	size_t n_diags = diags->n;
	const char *file;
	int r;

	if (!opts)
		opts = &no_opts;
	t.opts = opts;
	/* Refused before libyaml sees it: the bounds below assume a small input. */
	if (len > MANIFEST_MAX_SIZE) {
		r = manifest_diags_add(diags, (struct manifest_loc){}, "file is larger than 1 MiB");
		return r < 0 ? r : -EINVAL;
	}

	r = -ENOMEM;
	if (!tree_add_file(&t, opts->path ? opts->path : "", 0))
		goto out;
	file = t.files[0].path;
	if (strv_extend(&t.seen, opts->id ? opts->id : file) < 0 ||
	    strv_extend(&t.stack, opts->id ? opts->id : file) < 0)
		goto out;

	r = read_tree(&t, data, len, opts, file, 0, &m);
	if (r >= 0 && t.n_files > 1)
		r = manifest_check_merged(m, diags);
	if (r == -EINVAL)
		sort_diags(&t, diags, n_diags);
	if (r < 0)
		goto out;

	m->files = TAKE_PTR(t.files);
	m->n_files = t.n_files;
	t.n_files = 0;
	*ret = TAKE_PTR(m);
out:
	tree_done(&t);
	return r;
}
