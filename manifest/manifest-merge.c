/* SPDX-License-Identifier: MIT */
/*
 * Merging a manifest with what it includes (and with the grants of the command line).
 *
 * The rules, applied between a "high" side (the including file, or the command line) and a
 * "low" side (what it includes, earlier includes merged under later ones):
 *
 *  - lists merge: low's entries come first, then high's;
 *  - an entry of high replaces low's entry with the same key: a mount target (the inside
 *    path of a read, write or tmpfs entry: a manifest can re-bind or make writable a path a
 *    profile reads), a variable name (pass, set and secrets alike), a hide path, a syscall in
 *    the same list;
 *  - scalars (command, workdir, network.dns, syscalls.profile): high's when it has one;
 *  - limits: the smaller value, so that an included file's limit is a ceiling;
 *  - audit.trace: both;
 *  - audit.budget: the smaller bytes and keys, like limits; audit.overflow: stop wherever a
 *    file says stop (failing closed wins), else count when a file says count;
 *  - name, version and description describe a file and are never taken from an included one.
 *
 * Entries move; nothing is copied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-internal.h"

/*
 * Replaces *high (n_high items of size bytes) by low's kept items followed by high's, and
 * empties low. keep[i] says whether low's item i survives; drop() frees the others, once
 * nothing can fail any more.
 */
static int cat_kept(void *highp, size_t *n_high, void *lowp, size_t *n_low, size_t size,
		    const bool *keep, void (*drop)(void *item))
{
	char *high, *low, *out = NULL;
	size_t n = 0, kept = 0;

	memcpy(&high, highp, sizeof(high));
	memcpy(&low, lowp, sizeof(low));
	for (size_t i = 0; i < *n_low; i++)
		kept += keep[i];
	if (kept > 0) {
		out = malloc((kept + *n_high) * size);
		if (!out)
			return -ENOMEM;
	}
	for (size_t i = 0; i < *n_low; i++) {
		if (keep[i])
			memcpy(out + n++ * size, low + i * size, size);
		else
			drop(low + i * size);
	}
	if (kept > 0) {
		if (*n_high)
			memcpy(out + n * size, high, *n_high * size);
		free(high);
		memcpy(highp, &out, sizeof(out));
		*n_high += kept;
	}
	free(low);
	memset(lowp, 0, sizeof(void *));
	*n_low = 0;
	return 0;
}

static void drop_mount(void *p)
{
	struct manifest_mount *m = p;

	free(m->host);
	free(m->inside);
}

static void drop_tmpfs(void *p)
{
	free(((struct manifest_tmpfs *)p)->path);
}

static void drop_hide(void *p)
{
	free(((struct manifest_hide *)p)->path);
}

static void drop_nothing(void *p)
{
}

static void drop_pass(void *p)
{
	free(((struct manifest_env_pass *)p)->name);
}

static void drop_set(void *p)
{
	struct manifest_env_var *v = p;

	free(v->name);
	free(v->value);
}

static void drop_secret(void *p)
{
	struct manifest_secret *s = p;

	free(s->name);
	free(s->from_env);
	free(s->from_file);
}

static void drop_syscall(void *p)
{
	free(((struct manifest_syscall *)p)->name);
}

static bool mounts_at(const struct manifest *m, const char *inside)
{
	for (size_t i = 0; i < m->fs.n_read; i++)
		if (streq(m->fs.read[i].inside, inside))
			return true;
	for (size_t i = 0; i < m->fs.n_write; i++)
		if (streq(m->fs.write[i].inside, inside))
			return true;
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		if (streq(m->fs.tmpfs[i].path, inside))
			return true;
	return false;
}

static bool defines_env(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->env.n_pass; i++)
		if (streq(m->env.pass[i].name, name))
			return true;
	for (size_t i = 0; i < m->env.n_set; i++)
		if (streq(m->env.set[i].name, name))
			return true;
	for (size_t i = 0; i < m->env.n_secrets; i++)
		if (streq(m->env.secrets[i].name, name))
			return true;
	return false;
}

/* A scratch array of flags, one per item of the longest list of low. */
static bool *keep_new(const struct manifest *low)
{
	size_t n = 1;

	n = MAX(n, low->fs.n_read);
	n = MAX(n, low->fs.n_write);
	n = MAX(n, low->fs.n_tmpfs);
	n = MAX(n, low->fs.n_hide);
	n = MAX(n, low->net.n_egress);
	n = MAX(n, low->env.n_pass);
	n = MAX(n, low->env.n_set);
	n = MAX(n, low->env.n_secrets);
	n = MAX(n, low->syscalls.n_allow);
	n = MAX(n, low->syscalls.n_deny);
	return calloc(n, sizeof(bool));
}

static int merge_fs(struct manifest *high, struct manifest *low, bool *keep)
{
	_cleanup_free_ bool *keep_write = calloc(low->fs.n_write + 1, sizeof(bool));
	_cleanup_free_ bool *keep_tmpfs = calloc(low->fs.n_tmpfs + 1, sizeof(bool));
	int r;

	if (!keep_write || !keep_tmpfs)
		return -ENOMEM;
	/* Every one of low's mounts is judged against high's own, before any of them joins. */
	for (size_t i = 0; i < low->fs.n_read; i++)
		keep[i] = !mounts_at(high, low->fs.read[i].inside);
	for (size_t i = 0; i < low->fs.n_write; i++)
		keep_write[i] = !mounts_at(high, low->fs.write[i].inside);
	for (size_t i = 0; i < low->fs.n_tmpfs; i++)
		keep_tmpfs[i] = !mounts_at(high, low->fs.tmpfs[i].path);
	r = cat_kept(&high->fs.read, &high->fs.n_read, &low->fs.read, &low->fs.n_read,
		     sizeof(*low->fs.read), keep, drop_mount);
	if (r >= 0)
		r = cat_kept(&high->fs.write, &high->fs.n_write, &low->fs.write, &low->fs.n_write,
			     sizeof(*low->fs.write), keep_write, drop_mount);
	if (r >= 0)
		r = cat_kept(&high->fs.tmpfs, &high->fs.n_tmpfs, &low->fs.tmpfs, &low->fs.n_tmpfs,
			     sizeof(*low->fs.tmpfs), keep_tmpfs, drop_tmpfs);
	if (r < 0)
		return r;

	for (size_t i = 0; i < low->fs.n_hide; i++) {
		keep[i] = true;
		for (size_t j = 0; j < high->fs.n_hide && keep[i]; j++)
			keep[i] = !streq(high->fs.hide[j].path, low->fs.hide[i].path);
	}
	return cat_kept(&high->fs.hide, &high->fs.n_hide, &low->fs.hide, &low->fs.n_hide,
			sizeof(*low->fs.hide), keep, drop_hide);
}

static int merge_env(struct manifest *high, struct manifest *low, bool *keep)
{
	/* As for mounts: low's three lists are judged against high's names before they join. */
	_cleanup_free_ bool *keep_set = calloc(low->env.n_set + 1, sizeof(bool));
	_cleanup_free_ bool *keep_secrets = calloc(low->env.n_secrets + 1, sizeof(bool));
	int r;

	if (!keep_set || !keep_secrets)
		return -ENOMEM;
	for (size_t i = 0; i < low->env.n_set; i++)
		keep_set[i] = !defines_env(high, low->env.set[i].name);
	for (size_t i = 0; i < low->env.n_secrets; i++)
		keep_secrets[i] = !defines_env(high, low->env.secrets[i].name);
	for (size_t i = 0; i < low->env.n_pass; i++)
		keep[i] = !defines_env(high, low->env.pass[i].name);
	r = cat_kept(&high->env.pass, &high->env.n_pass, &low->env.pass, &low->env.n_pass,
		     sizeof(*low->env.pass), keep, drop_pass);
	if (r >= 0)
		r = cat_kept(&high->env.set, &high->env.n_set, &low->env.set, &low->env.n_set,
			     sizeof(*low->env.set), keep_set, drop_set);
	if (r >= 0)
		r = cat_kept(&high->env.secrets, &high->env.n_secrets, &low->env.secrets,
			     &low->env.n_secrets, sizeof(*low->env.secrets), keep_secrets,
			     drop_secret);
	return r;
}

static int merge_syscalls(struct manifest_syscall **high, size_t *n_high,
			  struct manifest_syscall **low, size_t *n_low, bool *keep)
{
	for (size_t i = 0; i < *n_low; i++) {
		keep[i] = true;
		for (size_t j = 0; j < *n_high && keep[i]; j++)
			keep[i] = (*high)[j].nr != (*low)[i].nr;
	}
	return cat_kept(high, n_high, low, n_low, sizeof(**low), keep, drop_syscall);
}

static void merge_limit(uint64_t *high, struct manifest_loc *high_loc, uint64_t low,
			struct manifest_loc low_loc)
{
	if (low != MANIFEST_UNSET && (*high == MANIFEST_UNSET || low < *high)) {
		*high = low;
		*high_loc = low_loc;
	}
}

static void merge_limits(struct manifest_limits *h, const struct manifest_limits *l)
{
	merge_limit(&h->timeout_usec, &h->timeout_loc, l->timeout_usec, l->timeout_loc);
	merge_limit(&h->cpu_usec, &h->cpu_loc, l->cpu_usec, l->cpu_loc);
	merge_limit(&h->memory, &h->memory_loc, l->memory, l->memory_loc);
	merge_limit(&h->processes, &h->processes_loc, l->processes, l->processes_loc);
	merge_limit(&h->open_files, &h->open_files_loc, l->open_files, l->open_files_loc);
	merge_limit(&h->file_size, &h->file_size_loc, l->file_size, l->file_size_loc);
	merge_limit(&h->output, &h->output_loc, l->output, l->output_loc);
}

#define TAKE_IF_UNSET(h, l)                \
	do {                               \
		if (!(h)) {                \
			(h) = TAKE_PTR(l); \
		}                          \
	} while (0)

static void merge_scalars(struct manifest *high, struct manifest *low)
{
	if (!high->command) {
		high->command = TAKE_PTR(low->command);
		high->command_loc = low->command_loc;
		high->command_is_string = low->command_is_string;
	}
	if (!high->workdir) {
		high->workdir = TAKE_PTR(low->workdir);
		high->workdir_loc = low->workdir_loc;
	}
	if (high->net.dns_loc.line == 0 && low->net.dns_loc.line > 0) {
		high->net.dns = low->net.dns;
		high->net.dns_loc = low->net.dns_loc;
	}
	if (high->syscalls.profile_loc.line == 0 && low->syscalls.profile_loc.line > 0) {
		high->syscalls.profile = low->syscalls.profile;
		high->syscalls.profile_loc = low->syscalls.profile_loc;
	}
	high->audit.trace |= low->audit.trace;
	merge_limit(&high->audit.budget_bytes, &high->audit.budget_loc, low->audit.budget_bytes,
		    low->audit.budget_loc);
	merge_limit(&high->audit.budget_keys, &high->audit.budget_loc, low->audit.budget_keys,
		    low->audit.budget_loc);
	if (low->audit.overflow_loc.line > 0 &&
	    (high->audit.overflow_loc.line == 0 || !low->audit.overflow_count)) {
		high->audit.overflow_count = low->audit.overflow_count;
		high->audit.overflow_loc = low->audit.overflow_loc;
	}
	merge_limits(&high->limits, &low->limits);
}

static int merge_identity(struct manifest *high, struct manifest *low)
{
	TAKE_IF_UNSET(high->path, low->path);
	TAKE_IF_UNSET(high->dir, low->dir);
	TAKE_IF_UNSET(high->name, low->name);
	TAKE_IF_UNSET(high->version, low->version);
	TAKE_IF_UNSET(high->description, low->description);
	if (!high->schema)
		high->schema = low->schema;
	if (low->n_files) {
		struct manifest_file *f;

		f = realloc(low->files, (low->n_files + high->n_files) * sizeof(*f));
		if (!f)
			return -ENOMEM;
		if (high->n_files)
			memcpy(f + low->n_files, high->files, high->n_files * sizeof(*f));
		free(high->files);
		high->files = f;
		high->n_files += low->n_files;
		low->files = NULL;
		low->n_files = 0;
	}
	return 0;
}

int manifest_merge(struct manifest *high, struct manifest *low, bool identity)
{
	_cleanup_free_ bool *keep = keep_new(low);
	int r;

	if (!keep)
		return -ENOMEM;
	r = merge_fs(high, low, keep);
	if (r < 0)
		return r;
	memset(keep, 1, sizeof(bool) * MAX(low->net.n_egress, (size_t)1));
	r = cat_kept(&high->net.egress, &high->net.n_egress, &low->net.egress, &low->net.n_egress,
		     sizeof(*low->net.egress), keep, drop_nothing);
	if (r < 0)
		return r;
	r = merge_env(high, low, keep);
	if (r < 0)
		return r;
	r = merge_syscalls(&high->syscalls.allow, &high->syscalls.n_allow, &low->syscalls.allow,
			   &low->syscalls.n_allow, keep);
	if (r < 0)
		return r;
	r = merge_syscalls(&high->syscalls.deny, &high->syscalls.n_deny, &low->syscalls.deny,
			   &low->syscalls.n_deny, keep);
	if (r < 0)
		return r;
	merge_scalars(high, low);
	return identity ? merge_identity(high, low) : 0;
}
