/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The network layer of a run (launcher/run-net.c), on top of netfilter/: prepared before
 * clone() from the manifest, set up inside the sandbox's init through a sandbox_net_hook,
 * and, once the sandbox exists, driven by the run's event loop and reporting through its
 * event sink (net.stack, net.stack.fallback, net.connect, dns.query, audit.lost; refusals
 * for run.summary; a stack that cannot start fails the run).
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "audit.h"
#include "event-loop.h"
#include "event-sink.h"
#include "manifest.h"
#include "mount-plan.h"
#include "sandbox.h"

struct run_net;

/* What the layer is prepared from. */
struct run_net_opts {
	const struct manifest *m; /* outlives the layer */
	/*
	 * skillbox learn: every TCP and UDP destination is accepted and logged, the host's
	 * loopback included, and the resolver is open; no_network: loopback only.
	 */
	bool learn;
	bool no_network;
	uid_t host_uid; /* what the sandbox user is on the host: runs the user-mode stack */
	gid_t host_gid;
	const char *run_id; /* outlives the layer */
	/*
	 * skillbox run --ask: the caller's terminal (taken over by run_net_new(); -1 without),
	 * how long a question waits, and the manifest's text for "add" (outlives the layer).
	 */
	int ask_fd;
	uint64_t ask_timeout_usec;
	const char *manifest_data;
	size_t manifest_len;
	const char *home; /* the caller's HOME, to parse the manifest again after an addition */
	uid_t caller_uid;
	/* The terminal is --ask's while a question is open (net_ask_opts.hold). May be NULL. */
	void (*ask_hold)(void *userdata, bool hold);
	void *ask_hold_userdata;
};

/* What the layer is handed once the sandbox exists. */
struct run_net_attach {
	struct event_loop *loop;
	struct event_sink *sink;
	pid_t init_pid;
	/* Tells init to start the skill (SB_MSG_START); returns 0 or -errno. */
	int (*start_skill)(void *userdata);
	void *userdata;
};

int run_net_new(const struct run_net_opts *o, struct run_net **ret);
/** The sandbox user's host ids changed after run_net_new() (identity.c's fallback). */
void run_net_set_host_ids(struct run_net *n, uid_t uid, gid_t gid);
/**
 * Before clone(): resolves declared hosts, builds the ruleset, and returns the child's hook
 * and the generated files the view needs (/etc/hosts, /etc/resolv.conf). On failure prints
 * nothing and sets *ret_error; the layer still says what it is (run_net_stack_requested()).
 */
int run_net_prepare(struct run_net *n, struct sandbox_net_hook *ret_hook,
		    struct mount_file **ret_files, size_t *ret_n_files, char **ret_error);
/** Emits policy.net. */
void run_net_audit(const struct run_net *n, struct audit *a);
/** Warns on stderr, once per rule, of each optional host that did not resolve. */
void run_net_warn_unresolved(const struct run_net *n);
/** Prints the effective network policy for `skillbox explain`. */
void run_net_explain(const struct run_net *n, FILE *f);
/** The stack started first: "pasta", "slirp4netns" (pasta is not installed) or "none". */
const char *run_net_stack_requested(const struct run_net *n);

/**
 * After clone() and the id maps: registers with the loop, and starts the user-mode stack
 * when egress is declared (as soon as the namespaces can be opened). 0, or -errno with
 * *ret_error set.
 */
int run_net_start(struct run_net *n, const struct run_net_attach *a, char **ret_error);
/** init reported SB_MSG_NET_READY; 0, or -errno with *ret_error set. */
int run_net_child_ready(struct run_net *n, char **ret_error);
/** init sent descriptors (SB_MSG_FDS with this index); takes them over. */
int run_net_receive_fds(struct run_net *n, int32_t index, int *fds, size_t n_fds);
/** Describes a SB_STEP_NETWORK failure reported by init. */
char *run_net_describe_failure(const struct run_net *n, const struct sandbox_msg *m);
/**
 * Describes a SB_STEP_NETWORK degradation reported by init: with no egress declared, the log
 * of refused attempts could not be set up (the sandbox still has no route out).
 */
char *run_net_describe_degraded(const struct run_net *n, const struct sandbox_msg *m);
/** Whether only IPv6 attempts go unrecorded (the IPv4 route and the log are in place). */
bool run_net_degraded_ipv6_only(const struct sandbox_msg *m);
/** init reported the skill's exit (the sandbox ends next): the stack is sent SIGKILL. */
void run_net_skill_exited(struct run_net *n);
/** The sandbox is gone: drain the log, stop the user-mode stack, leave the loop. */
void run_net_finish(struct run_net *n);
struct run_net *run_net_free(struct run_net *n);
