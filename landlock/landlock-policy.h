/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * `skillbox run --isolation landlock`: the filesystem policy of a run without namespaces.
 *
 * Without a mount namespace the skill sees the host's tree as it is; Landlock decides what
 * it may open there. The manifest's read paths become rules with the rights to read and
 * execute, its write paths rules with the rights to read, write, create, remove, rename and
 * truncate (never to make device nodes), and skillbox adds /proc (read), the five harmless
 * devices (without /dev/zero under limits.memory: a shared mapping of it would be memory no
 * rlimit counts) and a private directory of the run for /tmp and HOME. Everything else is
 * refused by the kernel with EACCES.
 *
 * Planning (landlock-policy.c) is pure: it reads the manifest, refuses what Landlock cannot
 * express (with FILE:LINE:COLUMN), and produces the rules. Applying (landlock-apply.c)
 * opens each path without following symbolic links, builds the ruleset in the parent, and
 * leaves landlock_restrict_self() to the skill process.
 *
 * What the manifest says that only a mount namespace can do:
 *   - host:inside with different paths. A path cannot appear elsewhere, so the skill sees
 *     the host path. This works when nothing else depends on the inside path: skillbox
 *     starts the skill in the host path that corresponds to the workdir and translates the
 *     manifest's command arguments that name an inside path ("/skill/main.py") the same way;
 *     the skill's own references to the inside path fail. Entries whose inside paths nest
 *     (".:/skill" and
 *     "./cache:/skill/cache") must nest the same way on the host, or the skill would find
 *     something else at the translated path: otherwise the entry is refused.
 *   - tmpfs: /tmp and HOME (/home/skill) are directories of the run's private directory
 *     (TMPDIR and HOME point there); their size is not enforced. Any other tmpfs path is
 *     refused.
 *   - hide: Landlock grants whole trees and cannot take a path below a granted one back
 *     out. Refused.
 *   - network.egress and dns: resolver: Landlock cannot filter by address (it knows TCP
 *     ports, and UDP not at all). Refused.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macros.h"
#include "manifest.h"
#include "mount-plan.h"

/* Signals and abstract unix sockets are scoped from ABI 6 (Linux 6.12) on. */
#define LANDLOCK_MIN_ABI 6

/* The private directory's parts. */
#define LANDLOCK_PRIVATE_TMP  "tmp"
#define LANDLOCK_PRIVATE_HOME "home"

enum landlock_rule_kind {
	LANDLOCK_RULE_READ,    /* filesystem.read */
	LANDLOCK_RULE_WRITE,   /* filesystem.write */
	LANDLOCK_RULE_PRIVATE, /* the run's private /tmp and HOME */
	LANDLOCK_RULE_PROC,    /* /proc, read-only */
	LANDLOCK_RULE_DEVICE,  /* /dev/null and friends */
};

/* What applying found at a rule's path (landlock_ruleset_build()). */
enum landlock_rule_state {
	LANDLOCK_STATE_PLANNED,
	LANDLOCK_STATE_ADDED,	/* a rule on the path's inode */
	LANDLOCK_STATE_SYMLINK, /* a symbolic link: no rule; its target must be declared */
	LANDLOCK_STATE_MISSING, /* an optional path that does not exist */
};

struct landlock_rule {
	enum landlock_rule_kind kind;
	char *path;	 /* absolute, normalized, on the host (what the skill sees) */
	char *inside;	 /* the manifest's inside path when it differs from path, else NULL */
	uint64_t access; /* LL_FS_* rights for a directory; a file gets the file rights of it */
	bool optional;	 /* skipped when it does not exist (devices) */
	const char *key; /* "filesystem.read", ...; NULL for what skillbox adds */
	struct manifest_loc loc;
	uint64_t tmpfs_size; /* PRIVATE declared as filesystem.tmpfs: the size it asked for */
	enum landlock_rule_state state;
	dev_t dev; /* LANDLOCK_STATE_ADDED: the inode the rule is on */
	ino_t ino;
};

struct landlock_policy_opts {
	/* The run's private directory (absolute, normalized); its tmp/ and home/ are granted.
	   It need not exist for planning. */
	const char *private_dir;
};

struct landlock_policy {
	struct landlock_rule *rules;
	size_t n_rules;
	char *tmp_dir;	/* private_dir/tmp: TMPDIR */
	char *home_dir; /* private_dir/home: HOME */
	char *workdir;	/* where the skill starts, on the host */
	/* The manifest's command with each argument that names a mapped inside path translated
	   to its host path; NULL when none does. */
	char **command;
};

/**
 * Plans the rules for m. When m asks for what Landlock cannot do, returns -EINVAL and
 * appends one message per problem to *ret_problems ("FILE:LINE:COLUMN: key: why; what to
 * do"); -ENOMEM when memory runs out. Pure.
 */
int landlock_policy_build(const struct manifest *m, const struct landlock_policy_opts *o,
			  struct landlock_policy **ret, char ***ret_problems);
struct landlock_policy *landlock_policy_free(struct landlock_policy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct landlock_policy *, landlock_policy_free)

/**
 * The rules as a mount plan of binds, for "is this path declared?" (mount_plan_lookup(), the
 * tracing layer): each rule a bind of its path onto itself, /proc and the devices as
 * skillbox's own, no root directory to list. Pure.
 */
int landlock_policy_view(const struct landlock_policy *p, struct mount_plan **ret);

/** The rights of a rule's kind, for a directory (LL_FS_*). */
uint64_t landlock_rule_access(enum landlock_rule_kind kind);
/** "read", "write", "private", "proc" or "device". */
const char *landlock_rule_kind_to_string(enum landlock_rule_kind k);
/** Writes the names of the LL_FS_* rights in access, comma separated, into buf. */
const char *landlock_access_to_string(uint64_t access, char *buf, size_t size);
