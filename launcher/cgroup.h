/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A cgroup v2 of the run's own, for limits.memory (launcher/cgroup.c), where the caller has
 * delegated one.
 *
 * The kernel's rule decides what "delegated" means here: a cgroup that has controllers
 * enabled for its children may hold no process itself (the root excepted). skillbox lives in
 * the cgroup it was started in (its "own" cgroup), so it can give the sandbox a child cgroup
 * with a memory limit only when
 *   - the memory controller is already enabled for the children of its own cgroup (only
 *     possible in the real root), or
 *   - its own cgroup is writable by the caller and holds no process but skillbox itself
 *     (`systemd-run --user --scope -p Delegate=yes skillbox run ...`, a container whose only
 *     process is skillbox): it then moves itself into a child "skillbox-supervisor.PID",
 *     enables memory (and pids) for the children, and creates the sandbox's
 *     "skillbox-RUNID" beside it. Everything is undone when the run ends.
 * Anywhere else (a login shell's session scope, a CI runner's service, cgroup v1 or a hybrid
 * layout, as on the machine this was written on) there is no cgroup, and limits.memory is
 * held by rlimits, the tmpfs sizes and the seccomp filter instead (run-limits.c). Nothing is
 * ever created outside the caller's own cgroup.
 *
 * The decision is pure (cgroup_decide(), unit-tested); probing and applying take the
 * cgroup2 mount as a directory fd, so the unit test runs them against a fake tree.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_MOUNT "/sys/fs/cgroup"

/* What was found about this process's cgroup. */
struct cgroup_state {
	bool cgroup2;	     /* CGROUP_MOUNT is a cgroup2 filesystem */
	bool hybrid;	     /* ... it is not, but CGROUP_MOUNT/unified is */
	char *own;	     /* our cgroup ("/user.slice/..."), NULL when unknown */
	bool memory;	     /* "memory" in own/cgroup.controllers */
	bool pids;	     /* "pids" in own/cgroup.controllers */
	bool subtree_memory; /* "memory" in own/cgroup.subtree_control */
	bool subtree_pids;   /* "pids" in own/cgroup.subtree_control */
	bool writable;	     /* own's directory, cgroup.procs and cgroup.subtree_control */
	bool alone;	     /* own/cgroup.procs lists this process and no other */
};

enum cgroup_way {
	CGROUP_NONE,	  /* no cgroup: why_not says why */
	CGROUP_CHILD,	  /* the sandbox's cgroup is a child of own */
	CGROUP_MOVE_SELF, /* first move skillbox into own/skillbox-supervisor.PID */
};

struct cgroup_decision {
	enum cgroup_way way;
	const char *why_not; /* CGROUP_NONE: a sentence, without the cgroup's path */
};

/** Decides from what was found. Pure. */
void cgroup_decide(const struct cgroup_state *s, struct cgroup_decision *ret);

/**
 * Fills *ret for this process (pid) from the cgroup2 mount at mount_fd and cgroup_line, the
 * content of /proc/self/cgroup. Never fails for lack of a cgroup: ret says what is missing.
 * Returns 0 or -ENOMEM.
 */
int cgroup_probe_at(int mount_fd, bool cgroup2, bool hybrid, const char *cgroup_line, pid_t pid,
		    struct cgroup_state *ret);
/**
 * cgroup_probe_at() for CGROUP_MOUNT and /proc/self/cgroup; *ret_mount_fd is the mount's
 * directory (owned by the caller), or -1 when there is no cgroup2 mount.
 */
int cgroup_probe(int *ret_mount_fd, struct cgroup_state *ret);
void cgroup_state_done(struct cgroup_state *s);

struct cgroup_run;

/**
 * Creates the run's cgroup as decided (way is not CGROUP_NONE), with memory.max = memory,
 * memory.swap.max = 0 and, when pids > 0 and the pids controller is there, pids.max.
 * On failure everything made so far is undone and *ret_error says which step failed.
 */
int cgroup_run_create(int mount_fd, const struct cgroup_state *s, enum cgroup_way way,
		      const char *run_id, pid_t self, uint64_t memory, uint64_t pids,
		      struct cgroup_run **ret, char **ret_error);
/** The cgroup's directory fd, for clone3(CLONE_INTO_CGROUP). */
int cgroup_run_fd(const struct cgroup_run *c);
/** Its path below the cgroup2 mount ("/user.slice/.../skillbox-RUNID"). */
const char *cgroup_run_path(const struct cgroup_run *c);
/** Total CPU time of everything that ran in it (cpu.stat usage_usec). */
int cgroup_run_cpu_usec(const struct cgroup_run *c, uint64_t *ret);
/** How many times the memory limit's OOM killer acted (memory.events oom_kill). */
int cgroup_run_oom_kills(const struct cgroup_run *c, uint64_t *ret);
/**
 * Ends the run's cgroup: kills what is left in it (cgroup.kill), waits until it is empty,
 * removes it, and undoes the move and the controllers skillbox enabled. Returns 0, or
 * -errno with *ret_error (when given) naming what was left behind. Frees c.
 */
int cgroup_run_destroy(struct cgroup_run *c, char **ret_error);
