/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The filesystem view of a sandbox as a list of operations applied in order (the bubblewrap
 * way): planning is pure and unit-tested; mount_plan_apply() is a short loop that runs in the
 * sandbox's init process, in its new mount namespace, before pivot_root().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macros.h"
#include "manifest.h"

/* The identity the skill has inside the sandbox. */
#define SANDBOX_UID	 1000
#define SANDBOX_GID	 1000
#define SANDBOX_USER	 "skill"
#define SANDBOX_HOME	 "/home/skill"
#define SANDBOX_HOSTNAME "skillbox"

/* Size caps of the tmpfs mounts skillbox adds on its own. */
#define DEFAULT_TMP_SIZE     (128ULL << 20)
#define DEFAULT_HOME_SIZE    (64ULL << 20)
#define DEFAULT_SHM_SIZE     (64ULL << 20)
#define DEFAULT_TMPFS_SIZE   (64ULL << 20) /* manifest tmpfs without a size */
#define DEFAULT_OVERLAY_SIZE (1ULL << 30)  /* the upper layer of MOUNT_OP_OVERLAY */
/* Inodes of a skill-writable tmpfs: one per this many bytes of its size (every file with
   data takes a page anyway), so creating empty files cannot fill memory past the size. */
#define TMPFS_BYTES_PER_INODE 4096
#define TMPFS_MIN_INODES      64

enum mount_op_kind {
	MOUNT_OP_BIND,	  /* bind a host path (opened by fd, no symlink followed); a host symlink
			     is recreated as the same symlink instead */
	MOUNT_OP_TMPFS,	  /* fresh tmpfs with a size cap */
	MOUNT_OP_HIDE,	  /* mask a path inside a bind: empty read-only tmpfs or /dev/null */
	MOUNT_OP_PROC,	  /* fresh proc for the sandbox's pid namespace */
	MOUNT_OP_DEV,	  /* minimal /dev: null zero full random urandom tty, shm, fd links */
	MOUNT_OP_FILE,	  /* a small generated read-only file (/etc/hosts, /etc/passwd ...) */
	MOUNT_OP_OVERLAY, /* a host directory made writable through an overlay whose upper layer
			     is a private tmpfs: writes succeed inside and are thrown away at the
			     end (skillbox learn). When the kernel cannot mount the overlay, the
			     directory is bound read-only instead and mount_plan_apply() reports
			     that in mount_failure.degraded_* */
};

/* What the caller did for a write path before clone() (mount_plan_idmap()). */
enum mount_idmap {
	MOUNT_IDMAP_NONE,   /* not attempted: the caller maps the sandbox user to itself */
	MOUNT_IDMAP_MAPPED, /* an idmapped copy is ready in plan->trees[] */
	MOUNT_IDMAP_FAILED, /* the kernel refused; idmap_error says why */
};

/* Where an operation came from, so a failure can name the manifest line. */
struct mount_origin {
	const char *key; /* "filesystem.read", ...; NULL for what skillbox adds itself */
	struct manifest_loc loc;
};

struct mount_op {
	enum mount_op_kind kind;
	char *inside;	    /* absolute, normalized */
	char *host;	    /* BIND: host source */
	bool writable;	    /* BIND / TMPFS */
	uint64_t size;	    /* TMPFS: bytes; DEV: of /dev/shm */
	bool size_declared; /* TMPFS: the manifest gave the size (mount_plan_fit_tmpfs() keeps it)
			     */
	mode_t mode;	    /* TMPFS: root directory mode */
	char *content;	    /* FILE */
	size_t content_len;
	bool devpts;	      /* DEV: also mount a private devpts (a terminal is attached) */
	bool zero_unmappable; /* DEV: /dev/zero is the host's /dev/full: reads zeros, cannot be
				 mapped (a shared mapping of /dev/zero is shared anonymous memory)
			       */
	bool optional;	      /* skip, rather than fail, when the mount point cannot be created
				 because its parent is read-only (defaults such as /tmp and HOME) */
	bool source_optional; /* BIND: skip, rather than fail, when the host path does not
				 exist ("optional: true" in the manifest) */
	bool owned;	      /* OVERLAY: the merged directory belongs to the sandbox user */
	struct mount_origin origin;

	/* Writable BIND, filled by mount_plan_idmap(): the source's owner and mode on the host
	   (owner_known), and whether it was idmapped so that its owner is the sandbox user. */
	bool owner_known;
	uid_t owner_uid;
	gid_t owner_gid;
	mode_t owner_mode;
	enum mount_idmap idmap;
	int idmap_error; /* positive errno, MOUNT_IDMAP_FAILED */
};

struct mount_plan {
	struct mount_op *ops;
	size_t n_ops;
	int *fds;   /* n_ops descriptors of scratch space for mount_plan_apply(), which must not
		       allocate */
	int *trees; /* n_ops: detached, idmapped mount trees the caller made before clone()
		       (mount_plan_idmap()), attached as they are by mount_plan_apply(); -1 */
	/* The directories above the mount points are the host's and may not be listed (a
	   plan that only describes Landlock rules, for mount_plan_lookup()); false: they are
	   the view's root tmpfs, readable. */
	bool bare_ancestors;
};

/* A generated file the caller wants placed into the view. */
struct mount_file {
	const char *inside;
	const char *content;
};

struct mount_plan_opts {
	bool terminal;	      /* mount devpts in /dev */
	bool zero_unmappable; /* see struct mount_op */
	/* Generated files (e.g. /etc/hosts from the network layer); placed unless the manifest
	   binds that very path itself. */
	const struct mount_file *files;
	size_t n_files;
	/* skillbox learn: a host directory (absolute, normalized) shown at the same path,
	   writable through a throwaway overlay (MOUNT_OP_OVERLAY); NULL for none. */
	const char *overlay;
	/* The caller can write to that directory on the host (as owner, through a group, or as
	   anyone): the merged directory then belongs to the sandbox user, so the command can
	   write there during learning whatever the directory's owner and group are. */
	bool overlay_writable;
};

/**
 * Builds the view for a manifest: its read, write, tmpfs and hide entries; /proc, /dev, and
 * /tmp and HOME on tmpfs unless the manifest provides them; /etc/passwd and /etc/group for
 * the sandbox user; the extra files of opts. Operations are ordered parents first.
 */
int mount_plan_build(const struct manifest *m, const struct mount_plan_opts *opts,
		     struct mount_plan **ret);
struct mount_plan *mount_plan_free(struct mount_plan *p);

/**
 * Fits every tmpfs the skill can write (the manifest's, /tmp, HOME, /dev/shm) into budget
 * bytes together (limits.memory): sizes the manifest declares are kept; the others share
 * what is left in proportion to their usual sizes, never above them, in whole pages.
 * Returns 0; -E2BIG when the declared sizes alone exceed the budget (*ret_declared says how
 * much they are); -ENOSPC when they leave less than a page for one of the others. Pure.
 */
int mount_plan_fit_tmpfs(struct mount_plan *p, uint64_t budget, uint64_t *ret_declared);
/** The sizes of every tmpfs the skill can fill, together. */
uint64_t mount_plan_tmpfs_total(const struct mount_plan *p);
/** The inodes a skill-writable tmpfs of this size gets. */
uint64_t mount_tmpfs_inodes(uint64_t size);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct mount_plan *, mount_plan_free)
#define _cleanup_mount_plan_free_ _cleanup_(mount_plan_freep)

const char *mount_op_kind_to_string(enum mount_op_kind k);

/**
 * Before clone(), in the caller's own mount namespace: for every write path, opens the source
 * as mount_plan_apply() would (no symlink followed) and records its owner and mode; then,
 * when idmap is set, makes a detached copy of it (recursive, nosuid, nodev) idmapped so that
 * its owner's uid and gid are uid/gid: the sandbox user, which is uid on the host, is then the
 * owner of that path, and what it creates there belongs to the path's owner on the host.
 * This needs CAP_SYS_ADMIN over each path's filesystem and a filesystem that supports idmapped
 * mounts; a path for which the kernel refuses is marked MOUNT_IDMAP_FAILED with the reason and
 * left to be bound as it is. A source that cannot be opened is left for mount_plan_apply() to
 * report. Returns the number of paths mapped, or -errno when nothing could be tried at all.
 */
int mount_plan_idmap(struct mount_plan *p, bool idmap, uid_t uid, gid_t gid);

/** Closes the trees mount_plan_idmap() made (the caller's copies, once the child has its own). */
void mount_plan_close_trees(struct mount_plan *p);

/* The step of mount_plan_apply() that failed, for the parent's message. */
enum mount_step {
	MOUNT_STEP_NONE,
	MOUNT_STEP_PRIVATE,    /* making the copied mount tree private */
	MOUNT_STEP_SOURCE,     /* opening a bind source without following symlinks */
	MOUNT_STEP_HOOK,       /* the caller's hook after the sources were opened */
	MOUNT_STEP_ROOT,       /* creating the tmpfs root */
	MOUNT_STEP_MOUNTPOINT, /* creating a mount point inside the view */
	MOUNT_STEP_MOUNT,      /* attaching a mount */
	MOUNT_STEP_ATTR,       /* setting read-only / nosuid / nodev */
	MOUNT_STEP_FILE,       /* writing a generated file */
	MOUNT_STEP_PIVOT,      /* pivot_root and detaching the old root */
};

struct mount_failure {
	enum mount_step step;
	int error;	  /* positive errno */
	ssize_t op_index; /* -1 when not tied to an operation */
	/* An overlay that could not be mounted and was bound read-only instead: its operation,
	   or -1, and why (positive errno). Set on success too. */
	ssize_t degraded_op;
	int degraded_error;
};

const char *mount_step_to_string(enum mount_step s);

/**
 * Applies the plan in the calling process, which must be in a new mount namespace with
 * CAP_SYS_ADMIN in its user namespace. Bind sources are opened first (opened_hook runs after
 * that, e.g. to drop to the sandbox uid), then the view is built on a fresh tmpfs and made
 * the root with pivot_root(); the old root is detached. Runs between clone() and execve():
 * it allocates nothing and reports failure through *fail.
 */
int mount_plan_apply(const struct mount_plan *p, int (*opened_hook)(void *userdata), void *userdata,
		     struct mount_failure *fail);

/* What the view provides at a path (mounts/mount-lookup.c), for the tracing layer. */
struct mount_lookup {
	const struct mount_op *op; /* the covering operation: the deepest whose mount point is
				      the path or an ancestor of it (the last of equally deep
				      ones); NULL when none */
	bool declared;		   /* the view provides the path for the access asked */
	bool by_default;	   /* declared through what skillbox adds itself (/proc, /dev,
				      /tmp, HOME, generated files, the root's directories) */
	bool hidden;		   /* masked by filesystem.hide */
};

/**
 * Looks up an absolute, normalized path inside the view (lexically, no symlink followed):
 * declared for reading when an operation other than a hide covers it, for writing when that
 * operation is writable (/proc and /dev count as declared either way). -EINVAL when path is
 * not normalized. Pure.
 */
int mount_plan_lookup(const struct mount_plan *p, const char *path, bool write,
		      struct mount_lookup *ret);

/* What a path inside the view leads to (mounts/mount-view.c). */
enum mount_view_node {
	MOUNT_VIEW_MISSING,
	MOUNT_VIEW_DIR,
	MOUNT_VIEW_FILE, /* a regular file */
	MOUNT_VIEW_SYMLINK,
	MOUNT_VIEW_OTHER, /* a device, socket, fifo, or what /proc and /dev hold */
};

struct mount_view_entry {
	enum mount_view_node node;
	char *inside;		   /* the path reached inside, links followed (or the deepest
				      existing directory on the way, when MISSING) */
	char *host;		   /* the host path that provides it (a bind), or NULL */
	const struct mount_op *op; /* the operation whose mount it is in, or NULL (the root) */
	mode_t mode;		   /* permission bits, when known */
	char *link;		   /* the last symbolic link met (its target as stored), or NULL */
};

/* How the view asks the host; NULL members are not allowed, a NULL struct means the real one. */
struct mount_view_host {
	int (*lstat)(const char *path, struct stat *st, void *userdata); /* 0 or -errno */
	char *(*readlink)(const char *path, void *userdata);		 /* malloc'ed or NULL */
	void *userdata;
};

/**
 * Walks path (absolute) inside the planned view as the sandbox will, following its symbolic
 * links (the last one too when follow is true) inside the view. Returns 0 and the entry
 * (node MOUNT_VIEW_MISSING when the path will not exist), -EINVAL or -ENOMEM.
 */
int mount_view_resolve(const struct mount_plan *p, const struct mount_view_host *h,
		       const char *path, bool follow, struct mount_view_entry *ret);
void mount_view_entry_done(struct mount_view_entry *e);
