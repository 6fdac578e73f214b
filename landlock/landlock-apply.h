/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Applying a Landlock policy (landlock-apply.c): what the kernel supports, the ruleset built
 * in the parent before clone(), the skill restricting itself with it, and the run's private
 * directory.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "landlock-policy.h"

/**
 * The kernel's Landlock ABI version (1 and up), or -EOPNOTSUPP when Landlock is built in but
 * not enabled (not in the lsm= list), -ENOSYS when the kernel lacks it.
 */
int landlock_abi(void);
/** The bitmask of fixed issues the kernel reports (ABI 7), 0 when it reports none. */
uint64_t landlock_errata(void);

/* What a ruleset handles for a given ABI: every right and scope the ABI knows. */
struct landlock_handled {
	uint64_t fs;
	uint64_t net;
	uint64_t scoped;
};

void landlock_handled_for_abi(int abi, struct landlock_handled *ret);

enum landlock_step {
	LANDLOCK_STEP_CREATE, /* landlock_create_ruleset() */
	LANDLOCK_STEP_OPEN,   /* opening a rule's path without following symbolic links */
	LANDLOCK_STEP_ADD,    /* landlock_add_rule() */
};

struct landlock_failure {
	enum landlock_step step;
	int error;    /* positive errno */
	ssize_t rule; /* the rule's index, -1 for the ruleset itself */
};

/**
 * Builds the ruleset of p for the kernel's abi: handles every filesystem right, TCP bind and
 * connect, and the signal and abstract-unix-socket scopes the ABI knows, and adds one rule
 * per path of p, opened with O_PATH and without following any symbolic link. A read path
 * that is itself a symbolic link gets no rule (the skill reaches its target only if that is
 * declared too); a write path that is one fails with ELOOP. Records what it found in each
 * rule's state. Returns 0 with the ruleset's fd (O_CLOEXEC), or -errno with *fail set.
 */
int landlock_ruleset_build(struct landlock_policy *p, int abi, int *ret_fd,
			   struct landlock_failure *fail);

/**
 * Restricts the calling thread (and what it executes) with the ruleset. Needs no_new_privs
 * or CAP_SYS_ADMIN. Allocates nothing: it runs between clone() and execve().
 */
int landlock_restrict(int ruleset_fd);

/**
 * The path of the run's private directory: base (resolved with realpath(), the caller chose
 * it) / skillbox-ID. Nothing is created.
 */
int landlock_private_dir_path(const char *base, const char *id, char **ret);
/**
 * Creates the private directory at path (mode 0700; it must not exist) with tmp/ and home/
 * (0700) inside, owned by uid:gid when the caller is root.
 */
int landlock_private_dir_create(const char *path, uid_t uid, gid_t gid);
/**
 * Removes the private directory and everything in it, walking by descriptor without
 * following symbolic links (what the skill left there may be hostile). 0 or -errno.
 */
int landlock_private_dir_remove(const char *path);
