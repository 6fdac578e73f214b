/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The include loader (launcher/profiles.c): profiles by name from the installed directory (or,
 * uninstalled, the source tree's), a team's partial manifests by path.
 */

#include <stdbool.h>

#include "manifest.h"

/** The directory profiles are read from, or NULL when there is none. */
const char *profiles_dir(void);

/** A manifest_include_fn: reads a profile or an included file. */
int profiles_include(const char *ref, bool profile, void *userdata, struct manifest_include *ret,
		     const char **ret_problem);

/** The names of the profiles there are, sorted (strv). 0, -ENOENT or -errno. */
int profiles_list(char ***ret);

/**
 * The profile that provides a program, by its file name ("python3.11" → "python3", "make"
 * → "cc", "awk" → "shell", "curl" → "tls"), or NULL when none is known (the "system" profile
 * has whatever lives under /usr).
 */
const char *profiles_for_program(const char *path);
