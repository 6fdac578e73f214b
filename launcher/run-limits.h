/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The limits layer of a run (launcher/run-limits.c): the manifest's limits, skillbox's
 * defaults where it sets none, the rlimits the skill gets, and how limits.memory is held.
 *
 * Defaults (README "Limits"): processes 1024 (tasks, threads included: RLIMIT_NPROC, counted
 * in the sandbox's own user namespace), open files 1024 with a hard limit of 4096 for the
 * programs that raise their soft limit (RLIMIT_NOFILE), never above the caller's own hard
 * limits; the tmpfs mounts keep their sizes (mounts/mount-plan.h) and get one inode per
 * 4 KiB. Timeout, cpu, memory, file_size and output have no default.
 *
 * limits.memory is held by a cgroup v2 of the run's own where the caller delegated one
 * (cgroup.h: memory.max, every kind of memory the skill makes the host commit, for the
 * whole sandbox); elsewhere by what rlimits and the filter can do: RLIMIT_DATA and
 * RLIMIT_STACK per process, every tmpfs together within the limit, and the memory no rlimit
 * counts refused (shared anonymous and MAP_GROWSDOWN mappings, memfd_create, shmget; a
 * /dev/zero that cannot be mapped). policy.limits and explain say which.
 *
 * --isolation landlock has no cgroup, no tmpfs and no user namespace: limits.memory is
 * always held by rlimits and the filter (/dev/zero is then not granted at all, landlock/),
 * limits.cpu reads the tree below init (its subreaper), and RLIMIT_NPROC counts every
 * process of the skill's uid on the host.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "audit.h"
#include "cgroup.h"
#include "manifest.h"
#include "sandbox.h"

#define DEFAULT_LIMIT_PROCESSES	      1024
#define DEFAULT_LIMIT_OPEN_FILES      1024
#define DEFAULT_LIMIT_OPEN_FILES_HARD 4096

enum memory_by {
	MEMORY_BY_NONE,	   /* no limits.memory */
	MEMORY_BY_CGROUP,  /* memory.max of the run's cgroup */
	MEMORY_BY_RLIMITS, /* rlimits, tmpfs sizes, seccomp */
};

struct run_limits {
	uint64_t cpu_usec, memory, file_size; /* the manifest's, MANIFEST_UNSET for none */
	uint64_t processes;		      /* the manifest's or the default */
	uint64_t open_files, open_files_hard; /* soft and hard */
	bool processes_default, open_files_default;
	enum memory_by memory_by;
	bool host_namespaces; /* --isolation landlock: no cgroup, no tmpfs, no user namespace */
	enum cgroup_way cgroup_way; /* what was (or, for explain, would be) done */
	const char *cgroup_why_not; /* MEMORY_BY_RLIMITS: why there is no cgroup */
	char *cgroup_error;	    /* the cgroup could not be made; the run fell back */
	char *cgroup_own;	    /* the caller's cgroup, for messages */
	int cgroup_mount_fd;
	struct cgroup_run *cgroup;
};

/**
 * The effective limits of a manifest. With limits.memory, decides how it is held; with
 * create, makes the run's cgroup (a failure to make it falls back to rlimits and says so in
 * cgroup_error). With host_namespaces (--isolation landlock) there is never a cgroup: the
 * sandbox is an ordinary child of skillbox, so limits.memory is held by rlimits and the
 * filter. Returns 0 or -ENOMEM.
 */
int run_limits_prepare(const struct manifest_limits *m, bool create, bool host_namespaces,
		       const char *run_id, struct run_limits *ret);
/** Removes the run's cgroup; says on stderr what could not be undone. */
void run_limits_done(struct run_limits *l);
/** The rlimits the skill process sets before execve. */
void run_limits_rlimits(const struct run_limits *l, struct sandbox_spec *s);
/** True when the filter must refuse the memory no rlimit counts. */
bool run_limits_limit_shared_memory(const struct run_limits *l);
/**
 * Writes policy.limits' fields into the event begun on a (timeout and output are the run's;
 * tmpfs_total the view's).
 */
void run_limits_audit(const struct run_limits *l, uint64_t timeout, uint64_t output,
		      uint64_t tmpfs_total, struct audit *a);
/** The limits section of `skillbox explain`. */
void run_limits_explain(const struct run_limits *l, uint64_t timeout, uint64_t output,
			uint64_t tmpfs_total, FILE *f);
/** How often the whole sandbox's CPU time is read when limits.cpu is set. */
uint64_t run_limits_cpu_interval(uint64_t cpu_usec);
