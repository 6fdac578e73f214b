/* SPDX-License-Identifier: MIT */
#pragma once

/* The command of a manifest without one: the program after --, made runnable (script.c). */

#include "mount-plan.h"

/**
 * The argv to run for args (what follows --) in the view of plan, with workdir as the
 * working directory inside: a script path gets its interpreter (see script.c). Returns 0 and
 * a strv, or -errno.
 */
int script_command(const struct mount_plan *plan, const char *workdir, char **args,
		   char ***ret_argv);

/** The interpreter for a script by its extension (".py" → "python3"), or NULL. */
const char *script_interpreter_for(const char *path);
