/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the run's event handlers report through (launcher/event-sink.c). A handler (the
 * supervisor's own, the seccomp listener and tracing, the network layer) is given the
 * run's sink when it is set up and never reaches back into the run: everything it has to
 * say goes here.
 *
 *   - audit events: event_sink_audit() is the writer (NULL when the run writes no trail);
 *     an event begun on it is finished with event_sink_end();
 *   - flood control: event_sink_admit() before writing an event that can repeat;
 *   - refusals for run.summary: event_sink_refusal();
 *   - limits hit: event_sink_limit() writes limit.hit and notes it for run.summary;
 *   - a failure that ends the run: event_sink_fail() records the message and has the
 *     supervisor stop the sandbox.
 *
 * cmd-run.c creates the sink, reads what it collected when it writes run.exit and
 * run.summary, and has flood control's counts written before them (event_sink_flush()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

enum refusal_kind {
	REFUSAL_SYSCALL,
	REFUSAL_NET,
	REFUSAL_FILE,
	_REFUSAL_KIND_MAX,
};

enum run_limit {
	RUN_LIMIT_TIMEOUT,
	RUN_LIMIT_OUTPUT,
	RUN_LIMIT_CPU,
	RUN_LIMIT_FILE_SIZE,
	RUN_LIMIT_MEMORY,
	_RUN_LIMIT_MAX,
};

#define RUN_SUMMARY_EXAMPLES 5

/* Refusals of one kind: how many, and the first few distinct examples. */
struct refusal_stats {
	uint64_t count;
	char *examples[RUN_SUMMARY_EXAMPLES];
	size_t n_examples;
};

struct event_sink;

/** A sink writing to audit (NULL: no trail; events are still counted). */
int event_sink_new(struct audit *audit, struct event_sink **ret);
struct event_sink *event_sink_free(struct event_sink *s);
/** What event_sink_fail() calls after recording a failure: the supervisor stops the sandbox. */
void event_sink_set_stop(struct event_sink *s, void (*stop)(void *userdata), void *userdata);

/* --- for handlers --- */

/** The audit writer, or NULL when the run writes no trail. */
struct audit *event_sink_audit(const struct event_sink *s);
/** Ends the event begun on event_sink_audit()'s writer; a failed write is said on stderr. */
void event_sink_end(struct event_sink *s);
/**
 * Flood control: true when this event is to be written, the first EVENT_FLOOD_PER_KEY of
 * each (event, key); the rest are counted, and event_sink_flush() reports them.
 */
bool event_sink_admit(struct event_sink *s, const char *event, const char *key);
/** Counts a refusal for run.summary; example is short ("tcp 10.0.0.1:443") or NULL. */
void event_sink_refusal(struct event_sink *s, enum refusal_kind kind, const char *example);
/** Writes limit.hit {limit, value, action} and notes the limit for run.summary. */
void event_sink_limit(struct event_sink *s, enum run_limit limit, const char *value,
		      const char *action);
/**
 * The run fails: prints "skillbox: MESSAGE", keeps the first message for run.exit, and
 * calls the stop hook. Takes message (NULL: out of memory).
 */
void event_sink_fail(struct event_sink *s, char *message);

/* --- for cmd-run.c, once the sandbox is gone --- */

/**
 * Writes one audit.lost {source: "seccomp", reason: "repeated", lost_event, key, count} per
 * key flood control held events back for (and reason "too-many-keys" for the keys beyond
 * its table), then forgets them. Call once, before run.exit.
 */
void event_sink_flush(struct event_sink *s);
bool event_sink_failed(const struct event_sink *s);
/** The first failure's message, or NULL. */
const char *event_sink_error(const struct event_sink *s);
const struct refusal_stats *event_sink_refusals(const struct event_sink *s, enum refusal_kind kind);
bool event_sink_limit_was_hit(const struct event_sink *s, enum run_limit limit);

/** "syscall", "net", "file": run.summary's names. */
const char *refusal_kind_to_string(enum refusal_kind k);
/** "timeout", "output", "cpu", "file_size", "memory": limit.hit's and run.summary's names. */
const char *run_limit_to_string(enum run_limit l);

/* --- flood control, the table (pure; unit-tested) --- */

/* Events written per distinct key; the rest are counted. */
#define EVENT_FLOOD_PER_KEY 100
/* Distinct keys remembered; events of further keys are counted in one aggregate. */
#define EVENT_FLOOD_MAX_KEYS 4096
/* The longest key kept for the audit.lost event (the rest is cut, the digest is of all). */
#define EVENT_FLOOD_KEY_SHOWN 256

struct event_flood;

struct event_flood *event_flood_new(void);
struct event_flood *event_flood_free(struct event_flood *f);
/**
 * Counts one event with this key; true when it is to be written: the first
 * EVENT_FLOOD_PER_KEY of each key. Once EVENT_FLOOD_MAX_KEYS keys are known, events of a new
 * key are counted in an aggregate and not written. Keys compare by SHA-256 of event and key,
 * so no crafted key can pass for another. On allocation failure it answers true: an event
 * is never held back without being counted.
 */
bool event_flood_admit(struct event_flood *f, const char *event, const char *key);
/**
 * Calls cb once per key that had events counted and not written (count: how many), in the
 * order the keys were first seen, then once with event and key NULL for the aggregate of
 * keys beyond the table, when there were any.
 */
void event_flood_report(const struct event_flood *f,
			void (*cb)(const char *event, const char *key, uint64_t count,
				   void *userdata),
			void *userdata);
