/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The seccomp layer of a run (launcher/run-seccomp.c), on top of seccomp/: the policy the
 * manifest asks for, and the parent's end of the listener.
 */

#include "event-loop.h"
#include "manifest.h"
#include "seccomp-policy.h"
#include "trace.h"

/**
 * Builds the syscall policy of m's syscalls section, tracing what trace asks for
 * (MANIFEST_TRACE_* bits), for a skill in namespaces of its own or, with host_namespaces
 * (--isolation landlock), in the host's. On failure *ret_error says why, with
 * FILE:LINE:COLUMN.
 */
int run_seccomp_build(const struct manifest *m, unsigned trace, bool limit_shared_memory,
		      bool host_namespaces, struct seccomp_policy **ret, char **ret_error);

struct seccomp_listener;

/*
 * What performs an emulated syscall (SECCOMP_VERDICT_EMULATE, --isolation landlock) for the
 * skill. handle() returns 1 when it answered: resp's val or error say what the call
 * returns; 0 when the call is refused (EPERM and a syscall.deny event), with *ret_why (static
 * text) and *ret_path (owned, may stay NULL) for the event; -errno when it could not
 * decide, which refuses the call too.
 */
struct seccomp_emulator {
	int (*handle)(void *userdata, int listener_fd, const struct seccomp_notif *req,
		      const char *name, struct seccomp_notif_resp *resp, const char **ret_why,
		      char **ret_path);
	void *userdata;
};

/**
 * Answers the notifications of the listener fd from the loop, as the policy p says; refusals
 * and traced calls are reported through trace->sink, emulated calls go to emulator (NULL:
 * refused). Takes fd over, also on failure.
 */
int seccomp_listener_new(struct event_loop *loop, const struct seccomp_policy *p, int fd,
			 const struct trace_context *trace, const struct seccomp_emulator *emulator,
			 struct seccomp_listener **ret);
/**
 * Answers one pending notification. Returns 1 when it answered one, 0 when none was pending,
 * -EPIPE when no task uses the filter any more, another -errno on a listener error. The loop
 * calls it when the listener is readable.
 */
int seccomp_listener_handle(struct seccomp_listener *l);
/** The sandbox is gone: answers whatever notification is still queued. */
void seccomp_listener_drain(struct seccomp_listener *l);
struct seccomp_listener *seccomp_listener_free(struct seccomp_listener *l);
