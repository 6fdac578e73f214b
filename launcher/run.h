/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One `skillbox run` (launcher/cmd-run.c), as the verbs call it: `skillbox run` itself and
 * `skillbox learn`, which runs a command observed.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"

/* How the skill is kept apart from the host (--isolation). */
enum run_isolation {
	RUN_ISOLATION_NAMESPACES, /* user, mount, pid, net, ipc, uts and cgroup namespaces */
	RUN_ISOLATION_LANDLOCK,	  /* no namespaces: Landlock rules and scopes, seccomp */
};

/** "namespaces" or "landlock". */
const char *run_isolation_to_string(enum run_isolation i);
/** Parses --isolation's argument; -EINVAL for anything else. */
int run_isolation_from_string(const char *s, enum run_isolation *ret);

struct run_options {
	const char *manifest_arg;
	char **args;		/* appended to the manifest's command */
	const char *audit_path; /* "-" is stderr */
	int audit_fd;		/* -1 when not given */
	uint64_t timeout_usec;	/* MANIFEST_UNSET: the manifest's */
	bool user_given;	/* --user (root only) */
	uid_t user_uid;
	gid_t user_gid;
	const char *uid_range; /* --uid-range (root only), NULL: SKILLBOX_UID_RANGE or default */
	unsigned trace;	       /* --trace, MANIFEST_TRACE_* bits added to the manifest's */
	/* --read, --write, --env, --secret, --allow: merged over the manifest for this run
	   (strv owned by the caller of run_execute()). */
	struct manifest_grants grants;
	/* --ask: undeclared network destinations are asked about on ask_fd (/dev/tty, opened
	   by cmd_run(); taken over by the run), each question for ask_timeout_usec at most. */
	bool ask;
	int ask_fd;
	uint64_t ask_timeout_usec;
	enum run_isolation isolation;
	/*
	 * skillbox learn: the network accepts (and logs) every TCP and UDP destination, the
	 * host's loopback included; stdout and stderr are counted even without an output limit;
	 * overlay, when set, is a host directory shown writable through a throwaway overlay.
	 */
	bool learn;
	bool no_network; /* learn: loopback only, no user-mode stack */
	const char *overlay;
	bool overlay_writable; /* the caller may write to overlay on the host */
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

/**
 * One whole run with options already parsed: loads the manifest named by opts->manifest_arg,
 * or enforces m (taken over and freed) when it is not NULL. Prints its own diagnostics,
 * writes the audit trail opts asks for, fills *ret when not NULL, and returns the exit
 * status (the command's own, 124, 125, ...).
 */
int run_execute(const struct run_options *opts, struct manifest *m, struct run_outcome *ret);
