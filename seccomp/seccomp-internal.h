/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared between seccomp-policy.c (building the filter), seccomp-stock-gen.c and the unit
 * tests. The effective policy is one table of entries, one per native
 * syscall number the profile knows; the libseccomp filter is generated from it, and the
 * parent's classifier reads the same entries, so the two cannot disagree about what a
 * notification means.
 */

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "seccomp-policy.h"

struct seccomp_policy;

enum sp_kind {
	SP_ALLOW,    /* allowed by the filter */
	SP_ALLOW_IF, /* allowed by the filter when an alternative of the condition matches */
	SP_REFUSE,   /* notified; the parent answers EPERM and audits it */
	SP_ENOSYS,   /* the filter answers ENOSYS itself, unaudited (clone3) */
	SP_TRACE,    /* notified; the parent continues it (traced), or refuses it when it has
			a condition that does not hold */
	SP_EMULATE,  /* notified; the parent performs it within the write paths or refuses it */
};

enum sp_origin {
	SP_FROM_PROFILE,
	SP_FROM_STRICT, /* changed by the strict profile */
	SP_FROM_ALLOW,	/* syscalls.allow */
	SP_FROM_DENY,	/* syscalls.deny */
	SP_FROM_HOST,	/* changed because the skill shares the host's namespaces */
};

/* One comparison, with libseccomp's semantics on the full 64-bit argument. */
struct sp_cmp {
	unsigned arg;
	enum scmp_compare op;
	uint64_t a; /* the mask for SCMP_CMP_MASKED_EQ, else the datum */
	uint64_t b; /* the datum for SCMP_CMP_MASKED_EQ */
};

#define SP_MAX_CMPS 3

/* Comparisons that must all hold (one libseccomp rule). */
struct sp_alt {
	struct sp_cmp cmp[SP_MAX_CMPS];
	unsigned n;
};

/* A condition: the syscall is allowed when any alternative holds. */
struct sp_cond {
	const char *summary; /* for explain, e.g. "only without namespace flags (...)" */
	int refused_errno;   /* the answer when no alternative holds; 0: EPERM */
	struct sp_alt *alts;
	size_t n_alts;
};

struct sp_entry {
	int nr;
	const char *name;
	enum sp_kind kind;
	const struct sp_cond *cond; /* SP_ALLOW_IF, and SP_TRACE of a conditional syscall */
	bool emulate_otherwise;	    /* SP_ALLOW_IF: emulated, not refused, when no alternative
				       holds */
	enum sp_origin origin;
	const char *group; /* why the profile refuses it (SP_REFUSE from the profile) */
};

/** Writes libseccomp's pseudo-code of the filter to fd. */
int seccomp_policy_export_pfc(const struct seccomp_policy *p, int fd);
/** The effective table, sorted by syscall number. */
const struct sp_entry *seccomp_policy_entries(const struct seccomp_policy *p, size_t *ret_n);
/** Calls cb for every syscall name the profile tables mention (for the unit tests). */
void seccomp_profile_names(void (*cb)(const char *name, void *userdata), void *userdata);
/** The exported program's SHA-256 (hex). */
const char *seccomp_policy_sha256(const struct seccomp_policy *p);

/* A program generated at build time for a stock profile (see seccomp-stock-gen.c). */
struct seccomp_stock {
	enum seccomp_profile profile;
	unsigned trace; /* SECCOMP_TRACE_* bits it traces */
	bool limit_shared_memory;
	bool host_namespaces; /* built for a skill in the host's namespaces */
	uint32_t native_arch; /* SCMP_ARCH_* it was built for */
	unsigned n_rules;
	unsigned short len;
	const struct sock_filter *insns;
};

/** Like seccomp_policy_build(); force_libseccomp ignores the build-time stock programs. */
int seccomp_policy_build_ex(const struct seccomp_spec *spec, bool force_libseccomp,
			    struct seccomp_policy **ret, char **ret_error);
unsigned seccomp_policy_rules(const struct seccomp_policy *p);
/** True when the program is a build-time stock program rather than built by libseccomp. */
bool seccomp_policy_is_stock(const struct seccomp_policy *p);
