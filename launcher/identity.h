/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Who the sandbox user is on the host.
 *
 * An unprivileged caller maps the sandbox user to itself: that is all a user namespace lets
 * it do. A root caller maps it to an unprivileged uid of the run's own, claimed from a range
 * (in the spirit of systemd's DynamicUser), so that no two concurrent runs share a host uid;
 * or to the user named by --user. Its write paths are idmapped (mounts/mount-idmap.c) so that
 * it writes there as the path's owner; where the kernel refuses that, a stated fallback
 * applies (identity_map_writes()).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mount-plan.h"

/* The default range: 65536 ids systemd's UIDS-GIDS.md leaves unused (0x70000000...). */
#define IDENTITY_RANGE_FIRST 1879048192u
#define IDENTITY_RANGE_LAST  1879113727u
/* The default where the above is not mapped (a user-namespaced container maps 0-65535):
   ids that systemd and Debian leave unused, just below systemd's DynamicUser range. */
#define IDENTITY_RANGE16_FIRST 60578u
#define IDENTITY_RANGE16_LAST  61183u

enum identity_kind {
	IDENTITY_CALLER,  /* an unprivileged caller: the sandbox user is the caller */
	IDENTITY_PER_RUN, /* root: a uid claimed from the range for this run alone */
	IDENTITY_USER,	  /* root: --user */
	IDENTITY_OWNER,	  /* root, fallback: the unprivileged owner of the write paths that could
			     not be idmapped */
};

struct identity_range {
	uint32_t first, last;
	const char *source; /* "--uid-range", "SKILLBOX_UID_RANGE", "default" */
};

struct identity {
	enum identity_kind kind;
	uid_t uid; /* what the sandbox user is on the host */
	gid_t gid;
	struct identity_range range; /* IDENTITY_PER_RUN (also set for OWNER after a fallback) */
	int claim_fd;		     /* IDENTITY_PER_RUN: holds the claim on uid; -1 */
	bool idmap;		     /* write paths are idmapped where the kernel allows */
	char *note;		     /* why the fallback was taken, for run.start and explain */
};

#define IDENTITY_INIT          \
	{                      \
		.claim_fd = -1 \
	}

const char *identity_kind_to_string(enum identity_kind k);

/**
 * Parses --user: a user name or a numeric uid (whose gid is its passwd entry's, else the same
 * number; never root's group: a user whose primary group is root gets its uid's number). Root (uid
 * 0) and ids the caller's user namespace does not map are refused. On failure sets *ret_error to
 * one line.
 */
int identity_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, char **ret_error);

/**
 * The range per-run uids come from: opt (--uid-range FIRST-LAST) if set, else the environment's
 * SKILLBOX_UID_RANGE, else the default (or, where that is not mapped here, the 16-bit default).
 * Every id in it must be mapped in our user namespace, as uid and as gid, and none may be 0.
 */
int identity_resolve_range(const char *opt, struct identity_range *ret, char **ret_error);

/**
 * Chooses the identity for a run: the caller's when unprivileged; otherwise the --user one
 * (user_given) or a per-run uid claimed from the range (claim set; otherwise, for explain,
 * the range only, uid left 0). The claim is an abstract unix socket named after the uid in
 * the caller's network namespace: it vanishes with the last process holding it, even on
 * SIGKILL, and leaves nothing on the host.
 */
int identity_choose(struct identity *id, bool user_given, uid_t user_uid, gid_t user_gid,
		    const char *range_opt, bool claim, char **ret_error);

/**
 * For a root caller: idmaps the plan's write paths to the sandbox user (mount_plan_idmap())
 * and, where the kernel refuses, applies the fallback: a path the sandbox user can write
 * anyway (other-writable) is bound as it is; otherwise, when every such path belongs to the
 * same unprivileged user, the sandbox user becomes that user (IDENTITY_OWNER, stated in
 * id->note); otherwise the run is refused with the cause and the fix in *ret_error.
 * manifest_path names the manifest in messages. For an unprivileged caller it only records
 * the write paths' owners.
 */
int identity_map_writes(struct identity *id, struct mount_plan *p, const char *manifest_path,
			char **ret_error);

/**
 * --isolation landlock: without a user namespace nothing can be idmapped, so the skill writes
 * its write paths as its own host uid. For a root caller with a per-run uid, view holds the
 * Landlock rules as binds (landlock_policy_view()): a write path that uid may write anyway
 * (other-writable) is left as it is; when every other one belongs to the same unprivileged
 * user, the sandbox user becomes that user (IDENTITY_OWNER, stated in id->note, the claim
 * released); a write path root owns, or write paths of different owners, refuse the run with
 * the cause and the fix in *ret_error. Paths that do not exist, and symbolic links (which get
 * no rule), are skipped. Other identities are left as they are. For explain (no claim, uid 0)
 * it decides the same way.
 */
int identity_landlock_writes(struct identity *id, struct mount_plan *view,
			     const char *manifest_path, char **ret_error);

/** A one-line description of the host identity ("per-run uid 1879048321 from ..."). */
char *identity_describe(const struct identity *id);

void identity_done(struct identity *id);
