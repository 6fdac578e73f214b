/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The parent-side entry points of the optional layers, called by cmd-run.c and supervise.c.
 * Each layer keeps its state in struct run (run->seccomp, run->net).
 */

#include <stdio.h>

#include "run.h"
#include "run-seccomp.h"

/* Seccomp (seccomp/, and launcher/seccomp-notify.c for the listener). */

/**
 * Handles one notification on the listener (run->notify_fd). Returns 1 when it answered one,
 * 0 when none was pending, -EPIPE when no task uses the filter any more (the caller closes
 * the listener), another -errno on a listener error.
 */
int seccomp_notify_handle(struct run *r);

/* Network (launcher/run-net.c on top of netfilter/). */

struct mount_file;

/**
 * Prepares the network layer before clone(): resolves declared hosts, builds the ruleset,
 * and returns the generated files the view needs (/etc/hosts, /etc/resolv.conf). Sets the
 * child's hook in run->spec.net. On failure prints nothing and sets *ret_error.
 */
int run_net_prepare(struct run *r, struct mount_file **ret_files, size_t *ret_n_files,
		    char **ret_error);
/** Emits policy.net. */
void run_net_audit(struct run *r);
/** Prints the effective network policy for `skillbox explain`. */
void run_net_explain(struct run *r, FILE *f);
/** "pasta", "slirp4netns" or "none". */
const char *run_net_stack_name(const struct run *r);
/** After clone() and the id maps: starts the user-mode stack when egress is declared. */
int run_net_started(struct run *r, char **ret_error);
/** init reported SB_MSG_NET_READY. */
int run_net_child_ready(struct run *r, char **ret_error);
/** init sent descriptors (SB_MSG_FDS with this index). */
int run_net_receive_fds(struct run *r, int32_t index, int *fds, size_t n_fds);
/** An epoll event with a tag >= WATCH_NET_FIRST; returns 0 or -errno (fatal), sets error. */
int run_net_handle(struct run *r, uint32_t tag, uint32_t events, char **ret_error);
/** Describes a SB_STEP_NETWORK failure reported by init. */
char *run_net_describe_failure(struct run *r, const struct sandbox_msg *m);
/** The run is over: drain the log, stop the user-mode stack, reap it. */
void run_net_finish(struct run *r);
struct run_net *run_net_free(struct run_net *n);
