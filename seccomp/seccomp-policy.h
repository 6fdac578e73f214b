/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The syscall policy (seccomp/seccomp-policy.c): a filter built in the parent before clone()
 * from the profile tables and the caller's adjustments, and the classifier that answers the
 * filter's notifications from the very same table.
 *
 * seccomp/ knows nothing of manifests: the launcher describes what to build in a struct
 * seccomp_spec (launcher/run-seccomp.c fills it from the manifest).
 */

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit.h"

enum seccomp_profile {
	SECCOMP_PROFILE_DEFAULT,
	SECCOMP_PROFILE_STRICT,
};

/* What the filter sends through the listener, to be continued and traced. */
enum {
	SECCOMP_TRACE_EXEC = 1u << 0,	 /* execve, execveat */
	SECCOMP_TRACE_FILES = 1u << 1,	 /* opens and changes of paths */
	SECCOMP_TRACE_CONNECT = 1u << 2, /* connect, sendto, sendmsg, sendmmsg */
};

/*
 * The sandbox user's uid and gid inside (launcher/spawn.c maps exactly this one): the only
 * ids setuid() and friends can take there, which the filter's conditions name.
 */
#define SECCOMP_SANDBOX_UID 1000
#define SECCOMP_SANDBOX_GID 1000

/* A syscall named by an adjustment (syscalls.allow or syscalls.deny). */
struct seccomp_name {
	const char *name;
	int nr;		       /* native number; negative: not a syscall of this architecture */
	unsigned line, column; /* where it is written in spec->origin, for messages */
	const char *origin;    /* the file it is written in when not spec->origin (a manifest's
				  included file), or NULL */
};

/* What to build: a profile, its adjustments, and what to trace. */
struct seccomp_spec {
	enum seccomp_profile profile;
	unsigned trace; /* SECCOMP_TRACE_* bits */
	const struct seccomp_name *allow;
	size_t n_allow;
	const struct seccomp_name *deny;
	size_t n_deny;
	const char *origin; /* the file the names come from; errors name FILE:LINE:COLUMN */
	/* limits.memory without a cgroup: refuse shared anonymous and MAP_GROWSDOWN mappings,
	   memfd_create and shmget, which RLIMIT_DATA does not count */
	bool limit_shared_memory;
	/*
	 * The skill shares the host's namespaces (skillbox run --isolation landlock): no user,
	 * mount, pid, network or IPC namespace of its own. The filter then also refuses what
	 * those namespaces made harmless: sockets other than AF_UNIX, System V IPC and POSIX
	 * message queues, changes of file metadata by path (which Landlock does not restrict),
	 * and scheduling, priority and resource-limit changes of other processes.
	 */
	bool host_namespaces;
};

struct seccomp_policy;

/**
 * Builds the filter for spec: the stock program when there are no adjustments, libseccomp
 * otherwise. On failure *ret_error (when given) says why, naming the adjustment at fault.
 */
int seccomp_policy_build(const struct seccomp_spec *spec, struct seccomp_policy **ret,
			 char **ret_error);
struct seccomp_policy *seccomp_policy_free(struct seccomp_policy *p);
const struct sock_fprog *seccomp_policy_program(const struct seccomp_policy *p);
unsigned seccomp_policy_filter_flags(const struct seccomp_policy *p);
bool seccomp_policy_has_listener(const struct seccomp_policy *p);
/** Emits policy.seccomp; returns audit_end()'s result. */
int seccomp_policy_audit(const struct seccomp_policy *p, struct audit *a);
/** Prints the effective syscall policy for `skillbox explain`. */
void seccomp_policy_explain(const struct seccomp_policy *p, FILE *f);

/* --- the classifier, for the parent's listener --- */

enum seccomp_abi {
	SECCOMP_ABI_NATIVE, /* x86_64 or aarch64 */
	SECCOMP_ABI_I386,
	SECCOMP_ABI_X32,
	SECCOMP_ABI_ARM,
	SECCOMP_ABI_OTHER,
};

enum seccomp_verdict {
	SECCOMP_VERDICT_ALLOW,	       /* the filter allows it; never notified */
	SECCOMP_VERDICT_FILTER_ENOSYS, /* the filter answers ENOSYS; never notified */
	SECCOMP_VERDICT_CONTINUE,      /* traced: continue it */
	SECCOMP_VERDICT_EPERM,	       /* refused by the profile, an adjustment or the ABI */
	SECCOMP_VERDICT_ENOSYS,	       /* unknown to the profile */
	SECCOMP_VERDICT_EMULATE,       /* host namespaces: the parent performs it for the skill
					  where the write paths allow, and refuses it otherwise */
};

struct sp_entry;

/* What a notification is, as the filter decided it. */
struct seccomp_class {
	enum seccomp_verdict verdict;
	int error; /* a refusal's answer (positive errno): EPERM, ENOSYS, ... */
	enum seccomp_abi abi;
	const char *name;	      /* the table's name; NULL for a foreign ABI or unknown */
	const struct sp_entry *entry; /* the table's entry (seccomp-internal.h), or NULL */
};

/** Classifies what the filter saw, exactly as the filter decided it. */
void seccomp_policy_classify(const struct seccomp_policy *p, const struct seccomp_data *d,
			     struct seccomp_class *ret);
/** What the parent answers a refusal of this verdict: EPERM, or ENOSYS. */
int seccomp_verdict_errno(enum seccomp_verdict v);
/** "x86_64", "i386", "x32", "aarch64", "arm" or NULL for an unknown ABI. */
const char *seccomp_abi_name(const struct seccomp_policy *p, enum seccomp_abi abi);
/** The libseccomp architecture token of an ABI (for name lookups); 0 when unknown. */
uint32_t seccomp_abi_arch(const struct seccomp_policy *p, enum seccomp_abi abi);
/** "default" or "strict". */
const char *seccomp_profile_to_string(enum seccomp_profile p);
