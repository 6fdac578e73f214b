/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Decoding a refused syscall's notification for the audit trail and run.summary
 * (seccomp/seccomp-decode.c). The launcher's listener classifies a notification with
 * seccomp_policy_classify(), answers it, and then asks here what to write.
 */

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "seccomp-policy.h"

/* A refused syscall, decoded. */
struct seccomp_refusal {
	struct seccomp_data data; /* what the kernel copied into the notification */
	bool native;		  /* of the native ABI: its arguments are decoded */
	int error;		  /* the answer: EPERM or ENOSYS */
	const char *name;	  /* the syscall's name on its ABI; NULL when unknown */
	const char *abi;	  /* "x86_64", "i386", "x32", "aarch64", "arm"; NULL: unknown */
	char *example;		  /* run.summary's example, also flood control's key */
	char *resolved;		  /* owns name when it came from libseccomp's table */
};

/**
 * Decodes the notification d that the policy classified as c (a refusal). Returns 0, or
 * -ENOMEM when the example could not be made (the rest is filled in all the same).
 */
int seccomp_refusal_decode(const struct seccomp_policy *p, const struct seccomp_data *d,
			   const struct seccomp_class *c, struct seccomp_refusal *ret);
void seccomp_refusal_done(struct seccomp_refusal *r);
/**
 * Writes the fields of a syscall.deny event, between the caller's audit_begin() and
 * audit_end(): pid (inside the sandbox), host_pid, syscall, abi (and arch when unknown), nr,
 * errno, and args for the native ABI.
 */
void seccomp_refusal_audit(struct audit *a, const struct seccomp_refusal *r, int64_t pid,
			   int64_t host_pid);

/* --- exposed for the unit tests --- */

/** The "args" object of syscall.deny for a native syscall (nothing for most syscalls). */
void seccomp_decode_args(struct audit *a, const struct seccomp_data *d, const char *name);
/**
 * The run.summary example: "socket(AF_PACKET)", "clone(CLONE_NEWNS)", "sysfs (ENOSYS)";
 * foreign names the ABI of a foreign syscall ("getpid (i386)"), NULL for a native one.
 */
char *seccomp_decode_example(const struct seccomp_data *d, const char *name, const char *foreign,
			     enum seccomp_verdict v);
