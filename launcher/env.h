/* SPDX-License-Identifier: MIT */
#pragma once

#include "manifest.h"
#include "strv.h"

/* Secrets larger than this are refused: an environment variable is no place for a file. */
#define SECRET_MAX_SIZE (64 * 1024)

struct secret_value {
	char *name;
	char *value; /* wiped on free */
	char *path;  /* from_file: where it was read, no symbolic link in it; NULL otherwise */
};

struct sandbox_env {
	char **envp;	       /* NAME=value, what the skill gets */
	char **names_default;  /* skillbox's minimal defaults */
	char **names_passed;   /* env.pass names that were set in the caller's environment */
	char **names_missing;  /* env.pass names the caller did not have */
	char **names_set;      /* env.set names */
	char **names_stripped; /* the caller's variables that were not passed */
	char **names_absent;   /* optional secrets whose source was absent: not set */
	struct secret_value *secrets;
	size_t n_secrets;
};

/**
 * Builds the skill's environment from the manifest and the caller's environment: cleared,
 * the minimal defaults, env.pass, env.set, then env.secrets read from the caller's
 * environment or from a file that only its owner can read (an optional secret whose variable
 * or file does not exist is left unset, in names_absent). On failure returns -errno and sets
 * *ret_error to a message naming the manifest line (caller frees).
 */
int sandbox_env_build(const struct manifest *m, char *const *caller_env, uid_t caller_uid,
		      struct sandbox_env *ret, char **ret_error);
void sandbox_env_done(struct sandbox_env *e);
/**
 * Gives one of skillbox's defaults (HOME, TMPDIR, ...) another value, unless the manifest
 * set or passed that variable itself. 0 or -ENOMEM.
 */
int sandbox_env_set_default(struct sandbox_env *e, const char *name, const char *value);
