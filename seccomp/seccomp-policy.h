/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The syscall policy (seccomp/seccomp-policy.c): a filter built in the parent before clone()
 * from the profile tables and the manifest's adjustments, and the classifier that answers
 * the filter's notifications from the very same table.
 */

#include <linux/filter.h>
#include <stdbool.h>
#include <stdio.h>

#include "audit.h"
#include "manifest.h"

struct seccomp_policy;

/** Builds the filter for the manifest's profile plus the traced syscalls; sets *ret_error. */
int seccomp_policy_build(const struct manifest *m, unsigned trace, struct seccomp_policy **ret,
			 char **ret_error);
struct seccomp_policy *seccomp_policy_free(struct seccomp_policy *p);
const struct sock_fprog *seccomp_policy_program(const struct seccomp_policy *p);
unsigned seccomp_policy_filter_flags(const struct seccomp_policy *p);
bool seccomp_policy_has_listener(const struct seccomp_policy *p);
/** Emits policy.seccomp; returns audit_end()'s result. */
int seccomp_policy_audit(const struct seccomp_policy *p, struct audit *a);
/** Prints the effective syscall policy for `skillbox explain`. */
void seccomp_policy_explain(const struct seccomp_policy *p, FILE *f);
