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
 *   - admission: event_sink_admit() before writing an event that can repeat, saying which
 *     class it is (below);
 *   - refusals for run.summary: event_sink_refusal();
 *   - limits hit: event_sink_limit() writes limit.hit and notes it for run.summary;
 *   - a failure that ends the run: event_sink_fail() records the message and has the
 *     supervisor stop the sandbox;
 *   - evidence the handler itself could not read (a log that overran): event_sink_lost().
 *
 * Two classes of events, each with its own budget, so that a flood of one cannot evict or
 * block the other:
 *
 *   - must-record (EVENT_MUST_RECORD): every refusal, every allowed connection and DNS query.
 *     The first of each distinct key (the event and its salient fields: verdict, destination
 *     or name, port, syscall and decoded argument) is always written; repeats are counted and
 *     reported at the end of the run with their first and last times (audit.repeated). Their
 *     keys are bounded only by the trail's budget (audit.budget: bytes and keys). When a new
 *     one cannot be written within it, the run is stopped (audit.overflow, run.exit reason
 *     "audit-overflow", exit 125), or, with audit.overflow: count, counted (audit.lost).
 *   - evidence (EVENT_EVIDENCE): tracing's proc.exec, file.open, file.change and net.connect.
 *     Written while they fit in their share of the budget (half of it) and their own key
 *     table (per event name), the first EVENT_EVIDENCE_PER_KEY of each key; what is left out
 *     is counted exactly and reported (audit.repeated per key where there is room, audit.sampled
 *     per event otherwise). Evidence never uses the must-record half.
 *
 * Events written without event_sink_admit() (run.start, policy.*, net.stack, limit.hit,
 * run.exit, run.summary) are bounded in number and always written; the budget keeps room for
 * the ones that come at the end.
 *
 * cmd-run.c creates the sink, reads what it collected when it writes run.exit and
 * run.summary, and has the counts written before them (event_sink_flush()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "event-keys.h"

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

enum event_class {
	EVENT_MUST_RECORD,
	EVENT_EVIDENCE,
	_EVENT_CLASS_MAX,
};

#define RUN_SUMMARY_EXAMPLES 5

/* The default trail budget of one run: bytes, and distinct must-record keys. */
#define EVENT_BUDGET_BYTES_DEFAULT (64ull * 1024 * 1024)
#define EVENT_BUDGET_KEYS_DEFAULT  65536
/* The smallest byte budget a manifest may set: the policy events and the end of a run fit. */
#define EVENT_BUDGET_BYTES_MIN (1024ull * 1024)
/* Evidence written per distinct key; the rest are counted. */
#define EVENT_EVIDENCE_PER_KEY 10
/* Distinct keys remembered per evidence event (file.open, proc.exec, ...). */
#define EVENT_EVIDENCE_KEYS 4096
/*
 * Kept free for the end of the run: audit.sampled, audit.lost and audit.overflow (one line per
 * event name and reason), run.exit and run.summary.
 */
#define EVENT_RESERVE_END (64 * 1024)
/*
 * Kept free for the must-record events that arrive once the budget is reached: the one that
 * did not fit, and those in flight before the stopped sandbox is gone. No must-record event
 * is longer than a few KiB (a DNS name, an address, a decoded syscall).
 */
#define EVENT_RESERVE_STOP (64 * 1024)

/* The trail's budget for one run (the manifest's audit.budget and audit.overflow). */
struct event_budget {
	uint64_t bytes;
	uint64_t keys;
	bool overflow_count; /* past the budget, count must-record events and go on */
};

/* Refusals of one kind: how many, and the first few distinct examples. */
struct refusal_stats {
	uint64_t count;
	char *examples[RUN_SUMMARY_EXAMPLES];
	size_t n_examples;
};

/* What the trail holds and left out, for run.summary. */
struct event_trail_stats {
	uint64_t bytes;		    /* written by this run so far */
	uint64_t must_keys;	    /* distinct must-record keys written */
	uint64_t repeats;	    /* must-record events counted as repeats of a written one */
	uint64_t evidence_written;  /* evidence events written */
	uint64_t evidence_left_out; /* evidence events counted, not written */
	uint64_t lost;		    /* must-record events neither written nor repeats */
	bool overflow;		    /* the budget was reached */
};

struct event_sink;

/** A sink writing to audit (NULL: no trail; events are still counted), within budget. */
int event_sink_new(struct audit *audit, const struct event_budget *budget, struct event_sink **ret);
struct event_sink *event_sink_free(struct event_sink *s);
/** The manifest's budget, once it is known (the sink starts with the default). */
void event_sink_set_budget(struct event_sink *s, const struct event_budget *budget);
const struct event_budget *event_sink_budget(const struct event_sink *s);
/**
 * Whether the lines written so far (run.start and the policy events) leave room for a run
 * within the budget: twice as much again (the skill's proc.exec repeats its argv) and the
 * reserves. Call once they are written, before the sandbox starts.
 */
bool event_sink_room_to_run(const struct event_sink *s);
/** What event_sink_fail() calls after recording a failure: the supervisor stops the sandbox. */
void event_sink_set_stop(struct event_sink *s, void (*stop)(void *userdata), void *userdata);

/* --- for handlers --- */

/** The audit writer, or NULL when the run writes no trail. */
struct audit *event_sink_audit(const struct event_sink *s);
/** Ends the event begun on event_sink_audit()'s writer; a failed write is said on stderr. */
void event_sink_end(struct event_sink *s);
/**
 * Admission of an event of class c with this key ("event" a string literal): true when it is
 * to be written now (begin it on event_sink_audit() and finish it with event_sink_end());
 * false when it was counted instead. Never false for the first of a must-record key unless
 * the run is past its budget (then stopped, or counting with audit.overflow: count).
 */
bool event_sink_admit(struct event_sink *s, enum event_class c, const char *event, const char *key);
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
/**
 * Must-record events were lost before they reached the sink: count of them from source
 * ("nflog"), with count_known false when there may be more than count; why says how ("the
 * log socket's buffer overran"). Like a must-record event that does not fit, this stops the
 * run, or, with audit.overflow: count, is only reported (audit.lost).
 */
void event_sink_lost(struct event_sink *s, const char *source, const char *why, uint64_t count,
		     bool count_known);

/* --- for cmd-run.c, once the sandbox is gone --- */

/**
 * Writes audit.repeated for each key whose repeats were counted (in the order keys were first
 * seen), audit.sampled for evidence left out otherwise, and audit.lost for must-record events
 * that could not be written. Call once, before run.exit.
 */
void event_sink_flush(struct event_sink *s);
bool event_sink_failed(const struct event_sink *s);
/** The run was stopped because the trail's budget was reached. */
bool event_sink_overflowed(const struct event_sink *s);
/** The first failure's message, or NULL. */
const char *event_sink_error(const struct event_sink *s);
const struct refusal_stats *event_sink_refusals(const struct event_sink *s, enum refusal_kind kind);
bool event_sink_limit_was_hit(const struct event_sink *s, enum run_limit limit);
void event_sink_trail_stats(const struct event_sink *s, struct event_trail_stats *ret);

/** "syscall", "net", "file": run.summary's names. */
const char *refusal_kind_to_string(enum refusal_kind k);
/** "timeout", "output", "cpu", "file_size", "memory": limit.hit's and run.summary's names. */
const char *run_limit_to_string(enum run_limit l);
/** "must-record", "evidence". */
const char *event_class_to_string(enum event_class c);
