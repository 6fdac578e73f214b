/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The state of one run, shared by the files that own it: cmd-run.c prepares every layer
 * before clone() and writes run.exit and run.summary; spawn.c starts the sandbox;
 * supervise.c runs the event loop while the sandbox lives. Nothing else sees it: the
 * layers' handlers are given the loop and the event sink (event-loop.h, event-sink.h), not
 * the run.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "audit.h"
#include "cpu-watch.h"
#include "env.h"
#include "event-loop.h"
#include "event-sink.h"
#include "identity.h"
#include "manifest.h"
#include "mount-plan.h"
#include "run-limits.h"
#include "run-landlock.h"
#include "run-net.h"
#include "run-seccomp.h"
#include "run.h"
#include "sandbox.h"
#include "streams.h"

struct run {
	struct run_options opts;
	struct manifest *m;
	char *manifest_data;
	size_t manifest_len;
	char run_id[AUDIT_RUN_ID_LEN + 1];
	struct audit *audit; /* NULL when no audit trail was asked for */
	bool trail;	     /* trail_st is what the trail is written to */
	struct stat trail_st;
	struct event_sink *sink; /* what every handler reports through */
	unsigned trace;		 /* effective MANIFEST_TRACE_* bits */

	struct sandbox_env env;
	struct mount_plan *plan;
	struct sandbox_spec spec;
	char **argv;		  /* command + args */
	struct identity identity; /* who the sandbox user is on the host */
	uid_t host_uid;		  /* identity.uid, gid */
	gid_t host_gid;

	struct seccomp_policy *seccomp;
	struct run_net *net;
	struct run_limits limits;
	struct run_landlock *landlock; /* --isolation landlock only */

	/* Processes and descriptors. */
	pid_t init_pid;
	int init_pidfd;
	pid_t skill_pid; /* host pid, from the skill's credentials */
	int skill_pidfd;
	int sock_init;		 /* parent's end */
	int sock_skill;		 /* parent's end */
	struct streams *streams; /* the skill's stdin, stdout and stderr */
	int sig_fd;
	int timer_fd;

	/* The supervisor's event loop, and its own sources (supervise.c). */
	struct event_loop *loop;
	struct event_source *init_source, *sock_init_source, *sock_skill_source, *signal_source,
		*timer_source;
	struct seccomp_listener *listener;
	struct cpu_watch *cpu_watch; /* limits.cpu for the whole sandbox */

	/* State. */
	uint64_t start_mono;
	bool execed;
	bool exec_failed;
	int exec_errno;
	bool exec_exists;
	bool setup_failed;
	bool have_skill_status;
	int skill_status;
	bool init_exited;
	int init_status;
	struct rusage rusage;
	bool timed_out;
	bool cpu_exceeded;     /* the whole sandbox's CPU time passed limits.cpu */
	bool audit_overflow;   /* stopped: the trail's budget was reached (event-sink.h) */
	bool overlay_degraded; /* init bound the overlay's directory read-only (skillbox learn) */
	int overlay_error;     /* why, positive errno */
	char *error;	       /* the message printed for a failed run, also in run.exit */
};

/**
 * Creates the sandbox from r->spec (clone3 with its init as the child), writes the id maps
 * and lets init go. Prints what failed; 0 or -errno.
 */
int run_spawn(struct run *r);

/**
 * Runs the sandbox's event loop until its init has exited, then collects what is still
 * buffered. Failures of the sandbox and of the handlers are in r->sink.
 */
int run_supervise(struct run *r);
