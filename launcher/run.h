/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One `skillbox run`: everything the parent prepares before clone() and the state it keeps
 * while supervising. The layers (seccomp, network) hang their parent-side state here and
 * report refusals through run_note_refusal() so run.summary can count them.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "audit.h"
#include "env.h"
#include "manifest.h"
#include "mount-plan.h"
#include "sandbox.h"

struct seccomp_policy;
struct run_net;
struct trace_flood;

struct run_options {
	const char *manifest_arg;
	char **args;		/* appended to the manifest's command */
	const char *audit_path; /* "-" is stderr */
	int audit_fd;		/* -1 when not given */
	uint64_t timeout_usec;	/* MANIFEST_UNSET: the manifest's */
	bool user_given;	/* --user (root only) */
	uid_t user_uid;
	gid_t user_gid;
	unsigned trace; /* --trace, MANIFEST_TRACE_* bits added to the manifest's */
	/*
	 * skillbox learn: the network accepts (and logs) every TCP and UDP destination, the
	 * host's loopback included; stdout and stderr are counted even without an output limit;
	 * overlay, when set, is a host directory shown writable through a throwaway overlay.
	 */
	bool learn;
	bool no_network; /* learn: loopback only, no user-mode stack */
	const char *overlay;
};

/* What a run tells its caller besides the exit status (skillbox learn reads it). */
struct run_outcome {
	bool started;	       /* the command was executed */
	uint64_t wall_usec;    /* from just before clone() to the end of the sandbox */
	uint64_t cpu_usec;     /* user + system time of everything that ran in it */
	uint64_t max_rss_kb;   /* the largest resident set of any of its processes */
	uint64_t output_bytes; /* stdout + stderr passed through (counted when piped) */
	bool overlay_degraded; /* the overlay could not be mounted: the directory was read-only */
	int overlay_error;     /* why, positive errno */
};

enum refusal_kind {
	REFUSAL_SYSCALL,
	REFUSAL_NET,
	REFUSAL_FILE,
	_REFUSAL_KIND_MAX,
};

#define RUN_SUMMARY_EXAMPLES 5

struct refusal_stats {
	uint64_t count;
	char *examples[RUN_SUMMARY_EXAMPLES];
	size_t n_examples;
};

struct run {
	struct run_options opts;
	struct manifest *m;
	char *manifest_data;
	size_t manifest_len;
	char run_id[AUDIT_RUN_ID_LEN + 1];
	struct audit *audit; /* NULL when no audit sink was asked for */
	unsigned trace;	     /* effective MANIFEST_TRACE_* bits */

	struct sandbox_env env;
	struct mount_plan *plan;
	struct sandbox_spec spec;
	char **argv;	/* command + args */
	uid_t host_uid; /* what the sandbox user is on the host */
	gid_t host_gid;

	struct seccomp_policy *seccomp;
	struct run_net *net;
	struct trace_flood *flood; /* flood control of the listener's events (trace.c) */

	/* Processes and descriptors. */
	pid_t init_pid;
	int init_pidfd;
	pid_t skill_pid; /* host pid, from the skill's credentials */
	int skill_pidfd;
	int sock_init;	/* parent's end */
	int sock_skill; /* parent's end */
	int out_fd;	/* read ends of the skill's stdout/stderr when output is capped */
	int err_fd;
	int sig_fd;
	int timer_fd;
	int ep_fd;
	int notify_fd; /* seccomp listener */

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
	uint64_t output_bytes;
	bool overlay_degraded; /* init bound the overlay's directory read-only (skillbox learn) */
	int overlay_error;     /* why, positive errno */
	char *error;	       /* the message printed for a failed run, also in run.exit */
	unsigned limits_hit;   /* bit per limit */

	struct refusal_stats refusals[_REFUSAL_KIND_MAX];
};

/** Counts a refusal for run.summary; example is a short description ("tcp 10.0.0.1:443"). */
void run_note_refusal(struct run *r, enum refusal_kind kind, const char *example);

/** Registers fd with the supervisor's epoll under tag; returns 0 or -errno. */
int run_watch(struct run *r, int fd, uint32_t tag);
void run_unwatch(struct run *r, int fd);

/* epoll tags. */
enum {
	WATCH_INIT_PIDFD = 1,
	WATCH_SOCK_INIT,
	WATCH_SOCK_SKILL,
	WATCH_SIGNAL,
	WATCH_TIMER,
	WATCH_STDOUT,
	WATCH_STDERR,
	WATCH_NOTIFY,
	WATCH_NET_FIRST = 100, /* tags from here on belong to the network layer */
};

/**
 * One whole run with options already parsed: loads the manifest named by opts->manifest_arg,
 * or enforces m (taken over and freed) when it is not NULL. Prints its own diagnostics,
 * writes the audit trail opts asks for, fills *ret when not NULL, and returns the exit
 * status (the command's own, 124, 125, ...).
 */
int run_execute(const struct run_options *opts, struct manifest *m, struct run_outcome *ret);

/** Runs the supervision loop until the sandbox's init has exited. */
int run_supervise(struct run *r);
