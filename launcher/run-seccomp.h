/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The seccomp layer of a run (launcher/run-seccomp.c), on top of seccomp/: the policy the
 * manifest asks for.
 */

#include "manifest.h"
#include "seccomp-policy.h"

/**
 * Builds the syscall policy of m's syscalls section, tracing what trace asks for
 * (MANIFEST_TRACE_* bits). On failure *ret_error says why, with FILE:LINE:COLUMN.
 */
int run_seccomp_build(const struct manifest *m, unsigned trace, struct seccomp_policy **ret,
		      char **ret_error);
