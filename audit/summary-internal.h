/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Inside `audit summary`, shared by its files only (the public interface is summary.h):
 *
 *   summary-ingest.c     reading every line into per-run state, checking each run's chain
 *   summary-aggregate.c  runs and groups of events, the counts every format reports
 *   summary-facts.c      a run's facts as label/value rows, for text and markdown
 *   summary-text.c       the text report (terminal-safe escaping)
 *   summary-markdown.c   the markdown report (code spans)
 *   summary-json.c       the JSON report
 *   summary.c            audit_summary_write(): the two passes
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "summary.h"

/* Room for an RFC 3339 timestamp as the writer makes them, with its NUL. */
#define TS_MAX		 28
#define GROUP_FIELDS_MAX 4

/* GitHub refuses a job summary above 1 MiB, so markdown tables stop here (text and JSON don't). */
#define MARKDOWN_ROWS_MAX 100

enum group_kind {
	/* Refusals. */
	G_NET_DENY,
	G_DNS_DENY,
	G_SYSCALL,
	G_FILE,
	/* Evidence missing from the trail. */
	G_LOST,
	/* What the skill did and was allowed to do. */
	G_SENSITIVE, /* credential and secret locations probed (file.open "sensitive") */
	G_NET_ALLOW,
	G_NET_TRACED, /* connect() calls seen by tracing: an attempt, no verdict */
	G_DNS_SEEN,
	G_EXEC,
	G_EXEC_FAILED, /* proc.exec that could not succeed ("fails", seen before the call) */
	G_LIMIT,
	/* Events this version does not summarise (newer writers, or tracing events). */
	G_OTHER,
	_G_MAX,
};

#define G_REFUSAL_FIRST G_NET_DENY
#define G_REFUSAL_LAST	G_FILE

/* What each kind of group is called in the reports, and the fields that make its identity. */
struct kind_info {
	const char *json;  /* member name in the JSON report */
	const char *title; /* heading in text and markdown */
	const char *noun;  /* what one group is, for the markdown column */
	const char *fields[GROUP_FIELDS_MAX];
};

/* The events a run has once; a second copy is counted, not kept. */
enum single {
	S_START,
	S_FS,
	S_ENV,
	S_LIMITS,
	S_SECCOMP,
	S_NET,
	S_ISOLATION,
	S_EXIT,
	S_SUMMARY,
	_S_MAX,
};

/*
 * A field value: text (a string's bytes, or a number's, literal's or container's JSON text
 * when raw) or absent (s NULL: missing or null). While an event is read the bytes are
 * borrowed from its tree; a group owns copies.
 */
struct fv {
	const char *s;
	size_t n;
	bool raw;
};

struct group {
	enum group_kind kind;
	struct fv f[GROUP_FIELDS_MAX];
	char *key; /* the fields, length-prefixed: the identity of the group */
	size_t key_len;
	size_t order; /* insertion order, to sort stably */
	uint64_t count;
	uint64_t sum; /* audit.lost: the events reported lost */
	char first[TS_MAX], last[TS_MAX];
};

struct run_info {
	char *id; /* NULL for lines before any run id */
	size_t id_len;
	size_t index;
	uint64_t first_line, last_line, n_lines, n_unreadable, n_repeated, n_files_declared;
	char first_ts[TS_MAX], last_ts[TS_MAX];
	json_t *single[_S_MAX];
	json_t *stack; /* the first net.stack: the stack that carried the traffic (also grouped) */

	struct group **groups[_G_MAX];
	size_t n_groups[_G_MAX], cap_groups[_G_MAX];
	uint64_t events[_G_MAX];
	uint64_t dns_connect_denies; /* refused connections to port 53 (summary_run_refusals()) */
	void *tree;		     /* groups by (kind, key) */

	/* Integrity of this run on its own. */
	bool broken;
	uint64_t bad_line;
	char *reason;

	/* The flood control's counts (audit.repeated, audit.sampled): repeats of must-record
	   events, and trace evidence left out. Both are added to their groups' counts when the
	   line they repeat is known. */
	uint64_t repeats_counted, evidence_left_out;
	/* Which group each grouped line went to, by seq (increasing), for audit.repeated. */
	struct seq_group {
		uint64_t seq;
		struct group *g;
	} * by_seq;
	size_t n_by_seq, cap_by_seq;

	/* Only when the file is broken: this run's lines and where they are in the file. */
	struct buf lines;
	uint64_t *line_map;
	size_t n_map, cap_map;
};

struct summary {
	struct run_info **runs;
	size_t n_runs, cap_runs;
	void *run_tree; /* runs by id */
	struct run_info *current;
	struct group *last_group; /* the group summary_group_add() last counted in */
	bool keep_lines;
	uint64_t lines;
	struct buf key, scratch[GROUP_FIELDS_MAX];

	struct audit_verify_result verify;
	bool broken;

	/*
	 * Foreign lines (verify.foreign of them, in order), left out when the trail shared its
	 * stream with the skill's output: what the skill wrote is not the trail's.
	 */
	uint64_t *foreign;
	size_t n_foreign, cap_foreign, next_foreign;
	bool foreign_oom;
};

#define VEC_PUSH(arr, n, cap, item)                                                   \
	({                                                                            \
		int _r = 0;                                                           \
		if ((n) == (cap)) {                                                   \
			size_t _c = (cap) ? (cap)*2 : 8;                              \
			__typeof__(arr) _a = reallocarray((arr), _c, sizeof(*(arr))); \
			if (_a) {                                                     \
				(arr) = _a;                                           \
				(cap) = _c;                                           \
			} else {                                                      \
				_r = -ENOMEM;                                         \
			}                                                             \
		}                                                                     \
		if (_r == 0)                                                          \
			(arr)[(n)++] = (item);                                        \
		_r;                                                                   \
	})

/* A report being written: the output buffer, flushed after each run, and the JSON writer state. */
struct report {
	enum audit_summary_format format;
	FILE *f;
	const char *name;
	struct summary *s;
	struct buf b;	/* output, flushed after each run */
	struct buf raw; /* a value being composed, before escaping */
	struct buf val; /* a row's value, escaped */
	int error;

	/* JSON writer state. */
	unsigned depth;
	bool first[JSON_DEPTH_MAX + 16];
	bool after_key;
};

extern const struct kind_info summary_kinds[_G_MAX];

/* ---- values of events: every field may be missing or of another type ---------------- */

static inline const json_t *get(const json_t *obj, const char *key)
{
	const json_t *n = json_object_get(obj, key);

	return n && !json_is_null(n) ? n : NULL;
}

static inline const char *get_str(const json_t *obj, const char *key)
{
	return json_get_str(obj, key);
}

static inline const json_t *get_array(const json_t *obj, const char *key)
{
	const json_t *n = get(obj, key);

	return json_is_array(n) ? n : NULL;
}

static inline bool node_is_str(const json_t *n, const char *s)
{
	return json_is_string(n) && json_string_length(n) == strlen(s) &&
	       memcmp(json_string_value(n), s, json_string_length(n)) == 0;
}

static inline bool get_is(const json_t *obj, const char *key, const char *s)
{
	return node_is_str(get(obj, key), s);
}

static inline bool get_u64(const json_t *obj, const char *key, uint64_t *ret)
{
	const json_t *n = get(obj, key);

	if (!json_is_integer(n) || json_integer_value(n) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(n);
	return true;
}

static inline bool fv_is(const struct fv *v, const char *s)
{
	return v->s && v->n == strlen(s) && memcmp(v->s, s, v->n) == 0;
}

/** A number's value as a double (false when n is not a number). */
bool summary_get_double(const json_t *obj, const char *key, double *ret);
/** Appends a node as display text: a string as itself, anything else as its JSON text. */
void summary_node_text(struct buf *b, const json_t *n);
/** Microseconds since the epoch of a timestamp as the writer makes them. */
int64_t summary_ts_usec(const char *s);
/** Keeps the earliest and latest of the valid timestamps seen in first and last. */
void summary_ts_note(char first[TS_MAX], char last[TS_MAX], const json_t *ts);

/* ---- summary-ingest.c ----------------------------------------------------------------- */

/** Reads every line of data into s. */
int summary_read_all(struct summary *s, const char *data, size_t len);
/** Verifies each run on its own (when the file is broken), marking the broken ones. */
int summary_check_runs(struct summary *s);

/* ---- summary-aggregate.c -------------------------------------------------------------- */

/** Counts one event in the group of its kind and field values; ts may be NULL. */
int summary_group_add(struct summary *s, struct run_info *run, enum group_kind kind,
		      const json_t *ts, uint64_t sum, const struct fv v[GROUP_FIELDS_MAX]);
/** The run with this id (NULL: lines without one), created on first sight. */
int summary_run_find(struct summary *s, const json_t *id, struct run_info **ret);
struct run_info *summary_run_free(struct run_info *run);
/** Frees everything s holds. */
void summary_done(struct summary *s);
/** Refusals found as events (a refused DNS query counted once). */
uint64_t summary_run_refusals(const struct run_info *run);
/** The writer's own total of refusals from run.summary; false when there is none. */
bool summary_run_summary_total(const struct run_info *run, uint64_t *ret);
/** What the reports count: the larger of the events found and the writer's own total. */
uint64_t summary_run_refusals_reported(const struct run_info *run);
uint64_t summary_run_lost(const struct run_info *run);
/**
 * The stack that carried the traffic: net.stack's; else an older trail's run.start
 * network_stack, or "none" requested; NULL when a requested stack never became ready.
 */
const json_t *summary_stack_used(const struct run_info *run);
/** Seconds: run.exit's wall clock (measured), else the span of the run's timestamps. */
bool summary_run_duration(const struct run_info *run, double *ret, bool *ret_measured);
/** Orders each kind's groups by count, then first time, then first appearance. */
void summary_run_sort(struct run_info *run);

/* ---- summary-facts.c ------------------------------------------------------------------ */

/** A group's target in one line: "tcp 10.0.0.9:443 (db.example)". */
void summary_group_target(struct buf *b, const struct group *g, const struct run_info *run);
/** Writes one "label: value" row from rp->val (text or markdown) and empties val. */
void summary_row(struct report *rp, const char *label);
/** A time for a table: the time of day on the run's first day, else the whole timestamp. */
void summary_put_time(struct report *rp, struct buf *b, const char *ts, const struct run_info *run);
/** The refusal counts by kind, into rp->val. */
void summary_describe_refusal_counts(struct report *rp, const struct run_info *run);
/** A verifier's reason, to follow "BROKEN" or a file name. */
void summary_broken_reason(struct report *rp, struct buf *b, uint64_t bad_line, const char *reason);
/** The facts rows of a run. */
void summary_run_rows(struct report *rp, const struct run_info *run);
/** How much of a broken file verifies as one chain. */
void summary_verified_lines(struct buf *b, const struct summary *s);

/* ---- the formats ---------------------------------------------------------------------- */

/** Appends untrusted text made safe for a terminal and one line. */
void summary_put_safe(struct buf *b, const char *s, size_t n);
void summary_text_header(struct report *rp);
void summary_text_run(struct report *rp, const struct run_info *run);

/** Appends untrusted text as a markdown code span. */
void summary_put_md_code(struct buf *b, const char *s, size_t n);
void summary_markdown_header(struct report *rp);
void summary_markdown_run(struct report *rp, const struct run_info *run);

void summary_json_header(struct report *rp);
void summary_json_run(struct report *rp, const struct run_info *run);
void summary_json_footer(struct report *rp);
