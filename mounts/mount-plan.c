/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount-plan.h"
#include "path-util.h"

static const char passwd_content[] = "root:x:0:0:root:/root:/usr/sbin/nologin\n"
				     "skill:x:1000:1000:skill:/home/skill:/bin/sh\n"
				     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_content[] = "root:x:0:\n"
				    "skill:x:1000:\n"
				    "nogroup:x:65534:\n";

const char *mount_op_kind_to_string(enum mount_op_kind k)
{
	switch (k) {
	case MOUNT_OP_BIND:
		return "bind";
	case MOUNT_OP_TMPFS:
		return "tmpfs";
	case MOUNT_OP_HIDE:
		return "hide";
	case MOUNT_OP_PROC:
		return "proc";
	case MOUNT_OP_DEV:
		return "dev";
	case MOUNT_OP_FILE:
		return "file";
	case MOUNT_OP_OVERLAY:
		return "overlay";
	}
	return "?";
}

const char *mount_step_to_string(enum mount_step s)
{
	switch (s) {
	case MOUNT_STEP_NONE:
		return "none";
	case MOUNT_STEP_PRIVATE:
		return "making the mount tree private";
	case MOUNT_STEP_SOURCE:
		return "opening the source";
	case MOUNT_STEP_HOOK:
		return "switching to the sandbox user";
	case MOUNT_STEP_ROOT:
		return "creating the root tmpfs";
	case MOUNT_STEP_MOUNTPOINT:
		return "creating the mount point";
	case MOUNT_STEP_MOUNT:
		return "mounting";
	case MOUNT_STEP_ATTR:
		return "setting mount flags";
	case MOUNT_STEP_FILE:
		return "writing a generated file";
	case MOUNT_STEP_PIVOT:
		return "switching to the new root";
	}
	return "?";
}

struct mount_plan *mount_plan_free(struct mount_plan *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_ops; i++) {
		free(p->ops[i].inside);
		free(p->ops[i].host);
		free(p->ops[i].content);
	}
	free(p->ops);
	free(p->fds);
	if (p->trees)
		mount_plan_close_trees(p);
	free(p->trees);
	free(p);
	return NULL;
}

static struct mount_op *plan_add(struct mount_plan *p, enum mount_op_kind kind, const char *inside,
				 const char *key, struct manifest_loc loc)
{
	struct mount_op *ops, *op;

	ops = realloc(p->ops, (p->n_ops + 1) * sizeof(*ops));
	if (!ops)
		return NULL;
	p->ops = ops;
	op = &ops[p->n_ops];
	*op = (struct mount_op){ .kind = kind, .origin = { .key = key, .loc = loc } };
	op->inside = strdup(inside);
	if (!op->inside)
		return NULL;
	p->n_ops++;
	return op;
}

/* True when the manifest itself mounts something exactly at path. */
static bool manifest_mounts_at(const struct manifest *m, const char *path)
{
	for (size_t i = 0; i < m->fs.n_read; i++)
		if (streq(m->fs.read[i].inside, path))
			return true;
	for (size_t i = 0; i < m->fs.n_write; i++)
		if (streq(m->fs.write[i].inside, path))
			return true;
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		if (streq(m->fs.tmpfs[i].path, path))
			return true;
	return false;
}

static int add_bind(struct mount_plan *p, const struct manifest_mount *mm, bool writable,
		    const char *key)
{
	struct mount_op *op = plan_add(p, MOUNT_OP_BIND, mm->inside, key, mm->loc);

	if (!op)
		return -ENOMEM;
	op->writable = writable;
	op->source_optional = mm->optional;
	op->host = strdup(mm->host);
	return op->host ? 0 : -ENOMEM;
}

static int add_tmpfs(struct mount_plan *p, const char *path, uint64_t size, mode_t mode,
		     bool optional, const char *key, struct manifest_loc loc)
{
	struct mount_op *op = plan_add(p, MOUNT_OP_TMPFS, path, key, loc);

	if (!op)
		return -ENOMEM;
	op->writable = true;
	op->size = size;
	op->mode = mode;
	op->optional = optional;
	return 0;
}

static int add_file(struct mount_plan *p, const char *inside, const char *content)
{
	struct mount_op *op = plan_add(p, MOUNT_OP_FILE, inside, NULL, (struct manifest_loc){ 0 });

	if (!op)
		return -ENOMEM;
	op->optional = true;
	op->content_len = strlen(content);
	op->content = strdup(content);
	return op->content ? 0 : -ENOMEM;
}

static int op_cmp(const void *a, const void *b)
{
	const struct mount_op *x = a, *y = b;
	unsigned dx = path_depth(x->inside), dy = path_depth(y->inside);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return 0;
}

/*
 * Parents must be mounted before what lies below them, and operations on the same path keep
 * the manifest's order (a hide after the bind it masks). A stable sort by depth does both;
 * qsort() is not stable, so this is an insertion sort (plans have tens of entries).
 */
static void plan_sort(struct mount_plan *p)
{
	for (size_t i = 1; i < p->n_ops; i++) {
		struct mount_op t = p->ops[i];
		size_t j = i;

		while (j > 0 && op_cmp(&p->ops[j - 1], &t) > 0) {
			p->ops[j] = p->ops[j - 1];
			j--;
		}
		p->ops[j] = t;
	}
}

int mount_plan_build(const struct manifest *m, const struct mount_plan_opts *opts,
		     struct mount_plan **ret)
{
	_cleanup_mount_plan_free_ struct mount_plan *p = NULL;
	static const struct manifest_loc none = { 0 };
	struct mount_op *op;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;

	for (size_t i = 0; i < m->fs.n_read; i++) {
		r = add_bind(p, &m->fs.read[i], false, "filesystem.read");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < m->fs.n_write; i++) {
		r = add_bind(p, &m->fs.write[i], true, "filesystem.write");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < m->fs.n_tmpfs; i++) {
		const struct manifest_tmpfs *t = &m->fs.tmpfs[i];
		bool sticky = streq(t->path, "/tmp") || streq(t->path, "/var/tmp");

		r = add_tmpfs(p, t->path, t->size ? t->size : DEFAULT_TMPFS_SIZE,
			      sticky ? 01777 : 0755, false, "filesystem.tmpfs", t->loc);
		if (r < 0)
			return r;
		p->ops[p->n_ops - 1].size_declared = t->size != 0;
	}
	for (size_t i = 0; i < m->fs.n_hide; i++) {
		if (!plan_add(p, MOUNT_OP_HIDE, m->fs.hide[i].path, "filesystem.hide",
			      m->fs.hide[i].loc))
			return -ENOMEM;
	}

	if (!plan_add(p, MOUNT_OP_PROC, "/proc", NULL, none))
		return -ENOMEM;
	op = plan_add(p, MOUNT_OP_DEV, "/dev", NULL, none);
	if (!op)
		return -ENOMEM;
	op->devpts = opts && opts->terminal;
	op->zero_unmappable = opts && opts->zero_unmappable;
	op->size = DEFAULT_SHM_SIZE;

	if (!manifest_mounts_at(m, "/tmp")) {
		r = add_tmpfs(p, "/tmp", DEFAULT_TMP_SIZE, 01777, true, NULL, none);
		if (r < 0)
			return r;
	}
	if (!manifest_mounts_at(m, SANDBOX_HOME)) {
		r = add_tmpfs(p, SANDBOX_HOME, DEFAULT_HOME_SIZE, 0700, true, NULL, none);
		if (r < 0)
			return r;
	}

	/* The sandbox's own identity, unless the manifest binds these files itself. */
	if (!manifest_mounts_at(m, "/etc/passwd")) {
		r = add_file(p, "/etc/passwd", passwd_content);
		if (r < 0)
			return r;
	}
	if (!manifest_mounts_at(m, "/etc/group")) {
		r = add_file(p, "/etc/group", group_content);
		if (r < 0)
			return r;
	}
	if (opts && opts->overlay) {
		op = plan_add(p, MOUNT_OP_OVERLAY, opts->overlay, NULL, none);
		if (!op)
			return -ENOMEM;
		op->host = strdup(opts->overlay);
		if (!op->host)
			return -ENOMEM;
		op->writable = true;
		op->owned = opts->overlay_writable;
		op->size = DEFAULT_OVERLAY_SIZE;
	}
	for (size_t i = 0; opts && i < opts->n_files; i++) {
		if (manifest_mounts_at(m, opts->files[i].inside))
			continue;
		r = add_file(p, opts->files[i].inside, opts->files[i].content);
		if (r < 0)
			return r;
	}

	plan_sort(p);

	p->fds = malloc(sizeof(int) * (p->n_ops ? p->n_ops : 1));
	p->trees = malloc(sizeof(int) * (p->n_ops ? p->n_ops : 1));
	if (!p->fds || !p->trees)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_ops; i++)
		p->fds[i] = p->trees[i] = -1;

	*ret = TAKE_PTR(p);
	return 0;
}

uint64_t mount_tmpfs_inodes(uint64_t size)
{
	return MAX(size / TMPFS_BYTES_PER_INODE, (uint64_t)TMPFS_MIN_INODES);
}

/* The tmpfs mounts the skill can fill: its own, skillbox's /tmp and HOME, and /dev/shm. */
static bool fillable(const struct mount_op *o)
{
	return o->kind == MOUNT_OP_TMPFS || o->kind == MOUNT_OP_DEV;
}

int mount_plan_fit_tmpfs(struct mount_plan *p, uint64_t budget, uint64_t *ret_declared)
{
	uint64_t declared = 0, weights = 0, left;

	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];

		if (!fillable(o))
			continue;
		if (o->size_declared)
			declared += o->size;
		else
			weights += o->size;
	}
	if (ret_declared)
		*ret_declared = declared;
	if (declared > budget)
		return -E2BIG;
	left = budget - declared;
	if (weights <= left)
		return 0; /* the usual sizes fit */
	for (size_t i = 0; i < p->n_ops; i++) {
		struct mount_op *o = &p->ops[i];
		uint64_t share;

		if (!fillable(o) || o->size_declared)
			continue;
		share = (uint64_t)((unsigned __int128)left * o->size / weights);
		share -= share % 4096;
		/* A tmpfs of size 0 would be unlimited: never. */
		if (share < 4096)
			return -ENOSPC;
		o->size = share;
	}
	return 0;
}

uint64_t mount_plan_tmpfs_total(const struct mount_plan *p)
{
	uint64_t total = 0;

	for (size_t i = 0; p && i < p->n_ops; i++)
		if (fillable(&p->ops[i]))
			total += p->ops[i].size;
	return total;
}
