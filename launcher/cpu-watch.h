/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * limits.cpu for the whole sandbox (launcher/cpu-watch.c). RLIMIT_CPU bounds each process
 * on its own, so a skill that forks workers gets the limit once per process. The supervisor
 * therefore reads the CPU time of everything in the sandbox every interval
 * (run_limits_cpu_interval(): a tenth of the limit, between 100 ms and 1 s), and kills the
 * whole sandbox once it has reached the limit: the run exits 152 (128 + SIGXCPU, as for one
 * process over RLIMIT_CPU), reason "cpu", with a limit.hit event. Between two reads the
 * sandbox can use up to one interval per CPU more.
 *
 * What "everything" is: with the run's cgroup, its cpu.stat; without one, the tree below the
 * sandbox's init, read from /proc: each live process's own time and that of the children it
 * has reaped (/proc/PID/stat utime, stime, cutime, cstime), the processes found through
 * /proc/PID/task/TID/children. A process that died was reaped by its parent or by init, and
 * is in that one's cutime/cstime: init (pid 1 of the sandbox) reaps every orphan. A parent is
 * read before its children, so a child reaped in between is missed (counted low), never
 * twice.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "event-loop.h"
#include "event-sink.h"

struct cpu_watch_attach {
	struct event_loop *loop;
	struct event_sink *sink;
	pid_t init_pid;			 /* host pid of the sandbox's init */
	const struct cgroup_run *cgroup; /* the run's cgroup, or NULL: /proc */
	uint64_t limit_usec;
	uint64_t interval_usec;
	void (*stop)(void *userdata); /* kills the sandbox */
	void *userdata;
};

struct cpu_watch;

/** Starts reading the sandbox's CPU time every interval. */
int cpu_watch_new(const struct cpu_watch_attach *a, struct cpu_watch **ret);
/** True once the sandbox was killed for its CPU time. */
bool cpu_watch_exceeded(const struct cpu_watch *w);
struct cpu_watch *cpu_watch_free(struct cpu_watch *w);

/**
 * CPU time of the process tree below root (host pid), its own and its reaped descendants',
 * in microseconds, read from /proc. 0 or -errno (-ESRCH when root is gone).
 */
int cpu_tree_usec(pid_t root, uint64_t *ret);
