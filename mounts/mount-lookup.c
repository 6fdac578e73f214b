/* SPDX-License-Identifier: MIT */
/*
 * What the planned view provides at a path: the question the tracing layer asks for every
 * file.open and file.change event ("was this access declared?"). Pure: it reads the plan
 * and nothing else, so it can be unit-tested and cannot be steered by the sandbox.
 *
 * The answer is lexical. The path is what the skill asked for, resolved against its cwd or
 * dirfd but not through symbolic links inside the view (/lib -> usr/lib resolves to the /lib
 * operation, which binds the host's symlink; /usr is then what the kernel reaches). It
 * describes the manifest's intent; enforcement is the kernel's, on the real mounts.
 */
#include <errno.h>
#include <string.h>

#include "mount-plan.h"
#include "path-util.h"

/* True when path is a strict ancestor of some operation's mount point. */
static bool is_ancestor_of_op(const struct mount_plan *p, const char *path)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const char *rest = path_startswith(p->ops[i].inside, path);

		if (rest && *rest)
			return true;
	}
	return false;
}

int mount_plan_lookup(const struct mount_plan *p, const char *path, bool write,
		      struct mount_lookup *ret)
{
	const struct mount_op *op = NULL;
	unsigned depth = 0;

	if (!p || !path || !ret || !path_is_normalized(path))
		return -EINVAL;

	/*
	 * The deepest operation whose mount point is the path or an ancestor of it. Operations
	 * on the same path apply in plan order, each on top of the one before (a hide after
	 * the bind it masks), so the last of equally deep ones is what the skill sees.
	 */
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];
		unsigned d;

		if (!path_startswith(path, o->inside))
			continue;
		d = path_depth(o->inside);
		if (!op || d >= depth) {
			op = o;
			depth = d;
		}
	}

	*ret = (struct mount_lookup){ .op = op };
	if (!op) {
		/*
		 * The view's root is a read-only tmpfs holding only the directories that lead
		 * to mount points: those (and "/") can be listed, nothing else exists there.
		 */
		if (!p->bare_ancestors && (streq(path, "/") || is_ancestor_of_op(p, path))) {
			ret->declared = !write;
			ret->by_default = !write;
		}
		return 0;
	}

	switch (op->kind) {
	case MOUNT_OP_HIDE:
		ret->hidden = true;
		return 0;
	case MOUNT_OP_FILE:
		/* A single file: nothing lies below it, and it is read-only. */
		ret->declared = !write && streq(path, op->inside);
		break;
	case MOUNT_OP_BIND:
	case MOUNT_OP_TMPFS:
	case MOUNT_OP_OVERLAY:
		ret->declared = !write || op->writable;
		break;
	case MOUNT_OP_PROC:
	case MOUNT_OP_DEV:
		/* What every process needs (/dev/null, /proc/self): the kernel's to decide. */
		ret->declared = true;
		break;
	}
	ret->by_default = ret->declared && !op->origin.key;
	return 0;
}
