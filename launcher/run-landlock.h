/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Landlock side of `skillbox run --isolation landlock` (launcher/run-landlock.c), on top
 * of landlock/: before clone(), the kernel's ABI is checked, the manifest's rules planned
 * (what only namespaces can do is refused with FILE:LINE:COLUMN), the run's private
 * directory created and the ruleset built; the sandbox's spec, the environment's HOME and
 * TMPDIR, the audit trail (policy.fs, policy.isolation) and `skillbox explain` are filled
 * from it; at the end the private directory is removed.
 */

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "audit.h"
#include "landlock-policy.h"
#include "env.h"
#include "identity.h"
#include "manifest.h"
#include "mount-plan.h"
#include "run-seccomp.h"
#include "sandbox.h"

struct run_landlock;

struct run_landlock_opts {
	const struct manifest *m; /* outlives the layer */
	const char *run_id;
	/*
	 * The skill's identity on the host: a root caller's per-run uid becomes the write
	 * paths' owner where it could not write them (identity_landlock_writes()); uid and gid
	 * are then taken from it. NULL: uid and gid as given.
	 */
	struct identity *identity;
	uid_t uid;
	gid_t gid;
	bool set_user; /* the caller is root: skillbox becomes uid/gid before the sandbox */
	/* skillbox explain and check: plan only (no directory, no ruleset), and report an ABI
	   that is too old in the explanation rather than as a failure */
	bool plan_only;
};

/**
 * Prepares the layer. On failure returns -errno and *ret_error holds the message: one line
 * per problem, each naming the manifest's FILE:LINE:COLUMN where it has one.
 */
int run_landlock_new(const struct run_landlock_opts *o, struct run_landlock **ret,
		     char **ret_error);
struct run_landlock *run_landlock_free(struct run_landlock *l);

/** Points the default HOME and TMPDIR at the private directory (a manifest's own stay). */
int run_landlock_env(const struct run_landlock *l, struct sandbox_env *env);
/**
 * Fills spec->landlock (the ruleset's fd stays owned by the layer), the workdir, and
 * argv[0] when the manifest's absolute command had to be translated to its host path.
 */
int run_landlock_spec(const struct run_landlock *l, struct sandbox_spec *spec, char **argv);
/** The rules as a view for the tracing layer; the caller owns it. */
int run_landlock_view(struct run_landlock *l, struct mount_plan **ret);
/**
 * A root caller: skillbox itself becomes the skill's uid and gid, without supplementary
 * groups, with an empty bounding set and no capability, for good. Called once everything
 * only root could open is open, before the sandbox is cloned: init, the skill and the
 * supervisor then share the skill's uid and none is root (the supervisor fetches the
 * listener and reads traced arguments without CAP_SYS_PTRACE, which containers lack).
 */
int run_landlock_become_skill_user(struct run_landlock *l);
/** The parent's copy of the ruleset's fd is no longer needed once the sandbox exists. */
void run_landlock_forget_ruleset(struct run_landlock *l);

/** Emits policy.fs: the rules, the workdir and translated command. */
void run_landlock_audit_fs(const struct run_landlock *l, struct audit *a);
/** Emits policy.isolation: the ABI, what is handled, what is and is not enforced. */
void run_landlock_audit_isolation(const struct run_landlock *l, struct audit *a, uid_t host_uid);
/** Prints the filesystem rules and the isolation for `skillbox explain`. */
void run_landlock_explain(const struct run_landlock *l, FILE *f);

/** The namespaces mode's policy.isolation, for the same question asked of it. */
void run_namespaces_audit(struct audit *a);

/** What performs the skill's mode and time changes by path (run-landlock-meta.c). */
const struct seccomp_emulator *run_landlock_emulator(struct run_landlock *l);

/* The state run-landlock-meta.c works from. */
struct run_landlock_meta {
	const struct landlock_policy *policy;
	uid_t uid; /* the skill's, for the filesystem checks */
	gid_t gid;
	bool switch_fsuid; /* skillbox runs as root: act with the skill's fsuid and fsgid */
};

/**
 * Performs chmod, fchmodat or utimensat (by path) for the skill when the file lies in a write
 * path; the seccomp_emulator handle() of run-seccomp.h, with userdata a run_landlock_meta.
 */
int run_landlock_meta_handle(void *userdata, int listener_fd, const struct seccomp_notif *req,
			     const char *name, struct seccomp_notif_resp *resp,
			     const char **ret_why, char **ret_path);
