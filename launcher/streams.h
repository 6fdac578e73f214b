/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The skill's standard input, output and error (launcher/streams.c).
 *
 * The skill never holds an open file description of the caller's: a descriptor it inherited
 * could be reopened through /proc/self/fd read-write (reading and truncating the caller's
 * log, or the trail that --audit - writes to stderr), and a terminal could be driven with
 * ioctls (stty, TIOCSTI). So each of its three descriptors is one of:
 *
 *   - /dev/null of the sandbox, when the caller's is /dev/null or closed (or, for stdin, not
 *     readable);
 *   - a pipe that skillbox relays to or from the caller's descriptor (splice() where both
 *     ends allow it, else read and write), with backpressure both ways and EOF passed on;
 *   - a pseudo-terminal of the sandbox's own devpts instance, when the caller's descriptor is
 *     a terminal: its master is relayed to the caller's terminal, which is put in raw mode
 *     for the run when stdin is the terminal (and restored on every way out skillbox can
 *     handle; SIGKILL it cannot).
 *
 * Everything the skill can print (both pipes, and the pseudo-terminal's output including its
 * echo) counts toward limits.output; at the cap every output source is closed. When the
 * audit trail shares a stream with the skill's output (--audit -, --audit-fd 1 or 2, or the
 * same file), the relay keeps the trail's lines whole: streams_trail_mid_line() is the audit
 * writer's line guard.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "event-loop.h"
#include "event-sink.h"
#include "sandbox.h"

struct streams;

struct streams_opts {
	uint64_t output_cap; /* bytes; MANIFEST_UNSET for none */
	bool count;	     /* pipe and count the output even without a cap (skillbox learn) */
	bool trail;	     /* an audit trail is written, to trail_st */
	struct stat trail_st;
};

/**
 * Before clone(): looks at the caller's descriptors 0, 1 and 2, decides what each of the
 * skill's is, makes the pipes, and fills spec (the skill's ends, the pseudo-terminal's modes
 * and size). 0 or -errno with *ret_error set to what failed.
 */
int streams_new(const struct streams_opts *o, struct sandbox_stdio *spec, struct streams **ret,
		char **ret_error);
struct streams *streams_free(struct streams *s);

/** True when the skill gets a pseudo-terminal (so the view needs /dev/pts). */
bool streams_want_pty(const struct streams *s);
/** The skill's three descriptors, as run.start's "stdio" names them ("pipe", "pty", "null"). */
const char *streams_kind_name(const struct streams *s, int fd);

/**
 * True when the trail goes where the skill's stdout or stderr is relayed (--audit -, --audit-fd
 * 1 or 2, or the same file): run.start says "trail": "shared", and verify then tells the
 * skill's lines apart from the trail's.
 */
bool streams_trail_shared(const struct streams *s);

/** The master of the pseudo-terminal init made (taken over). 0 or -errno. */
int streams_attach_pty(struct streams *s, int master);
/**
 * Starts relaying from the loop: puts the caller's terminal in raw mode when it is relayed to
 * a pseudo-terminal. Limit hits are reported through sink. 0 or -errno.
 */
int streams_start(struct streams *s, struct event_loop *l, struct event_sink *sink);
/** SIGWINCH (the caller's window changed) and SIGCONT (raw mode again after a stop). */
void streams_signal(struct streams *s, int sig);
/**
 * Once the sandbox is gone: stops reading the caller's stdin, passes on what the skill
 * wrote and is still buffered (waiting for the caller's reader if it must), and restores the
 * caller's terminal.
 */
void streams_finish(struct streams *s);
/**
 * run --ask asks a question on the caller's terminal (hold), or has no question open any more:
 * while held, the caller's terminal is not read for the skill and has the caller's own modes
 * back, so the answer is typed (and echoed) as on a shell, and reaches the question.
 */
void streams_hold_terminal(struct streams *s, bool hold);
/** Restores the caller's terminal modes if skillbox changed them; safe to call again. */
void streams_restore_terminal(struct streams *s);
/** Bytes the skill printed (counted when they are relayed). */
uint64_t streams_output_bytes(const struct streams *s);

/**
 * The audit writer's line guard (audit_set_line_guard()): true when a stream the trail shares
 * ends in the middle of a line the skill wrote, so the writer begins its line with a newline;
 * the stream is then at the start of a line again.
 */
bool streams_trail_mid_line(void *userdata);
