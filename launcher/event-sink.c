/* SPDX-License-Identifier: MIT */
/*
 * The run's event sink (event-sink.h): the audit writer handlers write through, admission of
 * events by class within the trail's budget, the refusals and limits run.summary counts, and
 * the run's failure.
 *
 * The budget is enforced on the lines themselves: the writer asks check_line() before each
 * line goes out, with its exact size, and the sink knows which class of event it is (the
 * last one admitted, until event_sink_end()). Of the budget's bytes B:
 *
 *   - EVENT_RESERVE_END stays free for the end of the run (the counts, run.exit, run.summary);
 *   - evidence may use at most B/2, its promised audit.repeated lines included;
 *   - must-record events use the rest, up to B - EVENT_RESERVE_END - EVENT_RESERVE_STOP; the
 *     first one that does not fit is still written (into EVENT_RESERVE_STOP), audit.overflow
 *     follows it and the run is stopped; those in flight until the sandbox is gone are
 *     written while the reserve lasts, and counted as lost after it;
 *   - the repeats of a key are itemised in their own audit.repeated line (the line's size is
 *     set aside when the key first repeats) while that costs at most B/4 (must-record) or
 *     B/8 (evidence); beyond, they are counted per event name.
 *
 * The lines written without admission (run.start, policy.*, ...) are counted too, so that
 * the whole run's trail stays within B (run_check_budget() in cmd-run.c refuses a manifest
 * whose policy alone would not leave room).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "event-sink.h"
#include "fd-util.h"
#include "macros.h"
#include "parse-util.h"

/* Distinct evidence event names, and distinct (event, reason) pairs of lost events. */
#define SINK_EVIDENCE_MAX 16
#define SINK_LOST_MAX	  32
/* An upper estimate of an audit.repeated line: its fixed fields, and the key escaped. */
#define REPEAT_LINE_FIXED    640
#define REPEAT_LINE_PER_CHAR 6

enum pending {
	PENDING_NONE, /* a line written without admission */
	PENDING_MUST,
	PENDING_EVIDENCE,
	PENDING_END, /* an itemised report at the end: written only while it fits */
};

struct sink_evidence {
	const char *event;
	struct event_keys *keys;
	uint64_t beyond_keys; /* events of keys the table had no room for */
	uint64_t written;
	bool budget_reached;
};

struct sink_lost {
	const char *source; /* "sink", or a handler that lost events before they reached it */
	const char *what;   /* the event, or NULL */
	const char *reason;
	uint64_t count; /* 0 with unknown: some, how many is not known */
	bool unknown;
};

/* Must-record repeats that are not itemised, per event name. */
struct sink_repeats {
	const char *event;
	uint64_t count, keys;
};

struct event_sink {
	struct audit *audit; /* not owned */
	struct event_budget budget;

	struct event_keys *must;
	struct sink_evidence evidence[SINK_EVIDENCE_MAX];
	size_t n_evidence;
	struct sink_lost lost[SINK_LOST_MAX];
	size_t n_lost;
	struct sink_repeats repeats[SINK_EVIDENCE_MAX];
	size_t n_repeats;

	/* The trail. */
	uint64_t bytes;		    /* lines of this run written */
	uint64_t evidence_bytes;    /* of which evidence */
	uint64_t must_reserved;	    /* audit.repeated lines promised to must-record keys */
	uint64_t evidence_reserved; /* ... and to evidence keys */
	uint64_t must_written, evidence_written, must_repeats;

	/* The event being written. */
	enum pending pending;
	const char *pending_event;
	struct event_key *pending_key;
	struct sink_evidence *pending_evidence;

	bool overflow;	/* the budget was reached */
	bool announced; /* audit.overflow is written and the stop hook called */
	const char *overflow_reason;

	struct refusal_stats refusals[_REFUSAL_KIND_MAX];
	bool limits_hit[_RUN_LIMIT_MAX];
	bool failed;
	char *error;
	void (*stop)(void *userdata);
	void *stop_userdata;
};

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && streq(a, b));
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void note_lost_from(struct event_sink *s, const char *source, const char *what,
			   const char *reason, uint64_t n, bool unknown)
{
	struct sink_lost *l = NULL;

	for (size_t i = 0; i < s->n_lost && !l; i++)
		if (streq(s->lost[i].source, source) && same(s->lost[i].what, what) &&
		    streq(s->lost[i].reason, reason))
			l = &s->lost[i];
	if (!l) {
		/* More distinct ones than there are event names: the last slot takes the rest. */
		l = &s->lost[s->n_lost < SINK_LOST_MAX ? s->n_lost++ : SINK_LOST_MAX - 1];
		if (!l->source)
			*l = (struct sink_lost){ .source = source, .what = what, .reason = reason };
	}
	l->count += n;
	l->unknown = l->unknown || unknown;
}

static void note_lost(struct event_sink *s, const char *what, const char *reason, uint64_t n,
		      bool unknown)
{
	note_lost_from(s, "sink", what, reason, n, unknown);
}

/* The budget is reached: from now on the run is being stopped (unless it counts instead). */
static void reach(struct event_sink *s, const char *reason)
{
	if (s->overflow)
		return;
	s->overflow = true;
	s->overflow_reason = reason;
}

/*
 * Before each line goes out: does it fit? Lines without admission always do (their number is
 * bounded); admitted ones as the top of this file says.
 */
static bool check_line(void *userdata, size_t len)
{
	struct event_sink *s = userdata;
	uint64_t b = s->budget.bytes, reserved = s->must_reserved + s->evidence_reserved;
	uint64_t room = sub0(b, EVENT_RESERVE_END + reserved); /* all but the end */
	enum pending p = s->pending;

	s->pending = PENDING_NONE;
	switch (p) {
	case PENDING_NONE:
		break;
	case PENDING_END:
		/* Itemised counts at the end may use the reserves, but leave half of the end's. */
		if (s->bytes + len > sub0(b, EVENT_RESERVE_END / 2))
			return false;
		break;
	case PENDING_EVIDENCE:
		if (s->overflow || s->evidence_bytes + s->evidence_reserved + len > b / 2 ||
		    s->bytes + len > sub0(room, EVENT_RESERVE_STOP)) {
			if (s->pending_evidence)
				s->pending_evidence->budget_reached = true;
			return false;
		}
		s->evidence_bytes += len;
		s->evidence_written++;
		if (s->pending_evidence)
			s->pending_evidence->written++;
		break;
	case PENDING_MUST:
		if (s->overflow || s->bytes + len > sub0(room, EVENT_RESERVE_STOP)) {
			if (s->budget.overflow_count) {
				note_lost(s, s->pending_event, "budget", 1, false);
				return false;
			}
			reach(s, "bytes");
			if (s->bytes + len > room) {
				note_lost(s, s->pending_event, "after-overflow", 1, false);
				return false;
			}
		}
		s->must_written++;
		break;
	}
	if (s->pending_key) {
		s->pending_key->written++;
		if (s->pending_key->first_seq == EVENT_KEY_NO_SEQ)
			s->pending_key->first_seq = audit_next_seq(s->audit);
	}
	s->pending_key = NULL;
	s->bytes += len;
	return true;
}

int event_sink_new(struct audit *audit, const struct event_budget *budget, struct event_sink **ret)
{
	struct event_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->audit = audit;
	s->budget = budget ? *budget
			   : (struct event_budget){ .bytes = EVENT_BUDGET_BYTES_DEFAULT,
						    .keys = EVENT_BUDGET_KEYS_DEFAULT };
	if (audit)
		audit_set_line_check(audit, check_line, s);
	*ret = s;
	return 0;
}

struct event_sink *event_sink_free(struct event_sink *s)
{
	if (!s)
		return NULL;
	if (s->audit)
		audit_set_line_check(s->audit, NULL, NULL);
	for (size_t k = 0; k < _REFUSAL_KIND_MAX; k++)
		for (size_t i = 0; i < s->refusals[k].n_examples; i++)
			free(s->refusals[k].examples[i]);
	event_keys_free(s->must);
	for (size_t i = 0; i < s->n_evidence; i++)
		event_keys_free(s->evidence[i].keys);
	free(s->error);
	free(s);
	return NULL;
}

void event_sink_set_budget(struct event_sink *s, const struct event_budget *budget)
{
	s->budget = *budget;
	if (s->must)
		s->must = event_keys_free(s->must);
}

const struct event_budget *event_sink_budget(const struct event_sink *s)
{
	return &s->budget;
}

bool event_sink_room_to_run(const struct event_sink *s)
{
	return 2 * s->bytes + EVENT_RESERVE_END + EVENT_RESERVE_STOP <= s->budget.bytes;
}

void event_sink_set_stop(struct event_sink *s, void (*stop)(void *userdata), void *userdata)
{
	s->stop = stop;
	s->stop_userdata = userdata;
}

struct audit *event_sink_audit(const struct event_sink *s)
{
	return s->audit;
}

/* Writes audit.overflow once the budget is reached, says so, and has the sandbox stopped. */
static void announce(struct event_sink *s)
{
	char bytes[32];
	struct buf b = BUF_INIT;

	if (!s->overflow || s->announced || s->budget.overflow_count)
		return;
	s->announced = true;
	format_size(bytes, sizeof(bytes), s->budget.bytes);
	if (s->audit) {
		audit_begin(s->audit, "audit.overflow");
		audit_str(s->audit, "reason", s->overflow_reason);
		audit_str(s->audit, "budget_bytes", bytes);
		audit_uint(s->audit, "budget_keys", s->budget.keys);
		audit_uint(s->audit, "bytes", s->bytes);
		audit_uint(s->audit, "keys", event_keys_size(s->must));
		audit_str(s->audit, "action", "stopped the run");
		if (audit_end(s->audit) < 0)
			log_error("audit: writing the audit trail failed");
	}
	if (streq(s->overflow_reason, "keys"))
		buf_printf(&b,
			   "audit: more than %" PRIu64 " distinct refusals, connections and "
			   "DNS queries (audit.budget.keys)",
			   s->budget.keys);
	else if (streq(s->overflow_reason, "lost"))
		buf_puts(&b, "audit: events that must be recorded were lost before skillbox could "
			     "write them");
	else
		buf_printf(&b, "audit: the trail reached its budget of %s (audit.budget.bytes)",
			   bytes);
	buf_puts(&b, "; the run is stopped, as nothing may happen unrecorded (audit.overflow: "
		     "count in the manifest counts such events instead)");
	if (buf_ok(&b)) {
		fprintf(stderr, "skillbox: %s\n", buf_str(&b));
		if (!s->error)
			s->error = buf_steal(&b);
	}
	buf_done(&b);
	if (s->stop)
		s->stop(s->stop_userdata);
}

void event_sink_end(struct event_sink *s)
{
	int r;

	if (!s->audit)
		return;
	r = audit_end(s->audit);
	if (r < 0 && r != -ENOSPC)
		log_error("audit: writing the audit trail failed");
	s->pending = PENDING_NONE;
	s->pending_key = NULL;
	s->pending_evidence = NULL;
	announce(s);
}

static struct sink_evidence *evidence_of(struct event_sink *s, const char *event)
{
	struct sink_evidence *e;

	for (size_t i = 0; i < s->n_evidence; i++)
		if (streq(s->evidence[i].event, event))
			return &s->evidence[i];
	if (s->n_evidence == SINK_EVIDENCE_MAX)
		return NULL;
	e = &s->evidence[s->n_evidence];
	*e = (struct sink_evidence){ .event = event, .keys = event_keys_new(EVENT_EVIDENCE_KEYS) };
	if (!e->keys)
		return NULL;
	s->n_evidence++;
	return e;
}

static uint64_t repeat_line_estimate(const char *key)
{
	return REPEAT_LINE_FIXED + REPEAT_LINE_PER_CHAR * strnlen(key ? key : "", EVENT_KEY_SHOWN);
}

/* Sets aside the size of the key's audit.repeated line, when its class can still afford it. */
static void itemise(struct event_sink *s, struct event_key *k, const char *key, bool must)
{
	uint64_t est = repeat_line_estimate(key);

	if (k->itemised)
		return;
	if (must ? s->must_reserved + est > s->budget.bytes / 4
		 : s->evidence_reserved + est > s->budget.bytes / 8 ||
			    s->evidence_bytes + s->evidence_reserved + est > s->budget.bytes / 2)
		return;
	if (event_keys_show(k, key) < 0)
		return;
	k->itemised = true;
	if (must)
		s->must_reserved += est;
	else
		s->evidence_reserved += est;
}

static bool admit_must(struct event_sink *s, const char *event, const char *key, uint64_t now)
{
	struct event_key *k = NULL;

	if (!s->must)
		s->must = event_keys_new(s->budget.keys);
	switch (s->must ? event_keys_count(s->must, event, key, now, &k) : EVENT_KEYS_NOMEM) {
	case EVENT_KEYS_NEW:
		s->pending_key = k;
		break;
	case EVENT_KEYS_REPEAT:
		if (k->first_seq == EVENT_KEY_NO_SEQ) {
			/* Its first could not be written: this one is lost with it. */
			note_lost(s, event, s->overflow ? "after-overflow" : "budget", 1, false);
			return false;
		}
		s->must_repeats++;
		itemise(s, k, key, true);
		return false;
	case EVENT_KEYS_FULL:
		if (s->budget.overflow_count) {
			note_lost(s, event, "keys", 1, false);
			return false;
		}
		reach(s, "keys");
		break;
	case EVENT_KEYS_NOMEM:
		/* Written without being remembered: nothing is held back uncounted. */
		break;
	}
	s->pending = PENDING_MUST;
	s->pending_event = event;
	return true;
}

static bool admit_evidence(struct event_sink *s, const char *event, const char *key, uint64_t now)
{
	struct sink_evidence *e = evidence_of(s, event);
	struct event_key *k = NULL;

	if (!e) {
		/* No memory for its table: written, like an event nobody counts. */
		s->pending = PENDING_EVIDENCE;
		return true;
	}
	switch (event_keys_count(e->keys, event, key, now, &k)) {
	case EVENT_KEYS_NEW:
		break;
	case EVENT_KEYS_REPEAT:
		if (k->count > EVENT_EVIDENCE_PER_KEY || s->overflow) {
			itemise(s, k, key, false);
			return false;
		}
		break;
	case EVENT_KEYS_FULL:
		e->beyond_keys++;
		return false;
	case EVENT_KEYS_NOMEM:
		break;
	}
	s->pending = PENDING_EVIDENCE;
	s->pending_event = event;
	s->pending_key = k;
	s->pending_evidence = e;
	return true;
}

bool event_sink_admit(struct event_sink *s, enum event_class c, const char *event, const char *key)
{
	uint64_t now = now_realtime_usec();

	s->pending = PENDING_NONE;
	s->pending_key = NULL;
	s->pending_evidence = NULL;
	if (!s->audit)
		return false;
	return c == EVENT_MUST_RECORD ? admit_must(s, event, key, now)
				      : admit_evidence(s, event, key, now);
}

void event_sink_refusal(struct event_sink *s, enum refusal_kind kind, const char *example)
{
	struct refusal_stats *st = &s->refusals[kind];

	st->count++;
	if (st->n_examples < RUN_SUMMARY_EXAMPLES && example) {
		for (size_t i = 0; i < st->n_examples; i++)
			if (streq(st->examples[i], example))
				return;
		st->examples[st->n_examples] = strdup(example);
		if (st->examples[st->n_examples])
			st->n_examples++;
	}
}

void event_sink_limit(struct event_sink *s, enum run_limit limit, const char *value,
		      const char *action)
{
	s->limits_hit[limit] = true;
	if (!s->audit)
		return;
	audit_begin(s->audit, "limit.hit");
	audit_str(s->audit, "limit", run_limit_to_string(limit));
	audit_str(s->audit, "value", value);
	audit_str(s->audit, "action", action);
	event_sink_end(s);
}

void event_sink_fail(struct event_sink *s, char *message)
{
	s->failed = true;
	if (!message)
		message = strdup("out of memory");
	if (message) {
		log_error("%s", message);
		if (!s->error)
			s->error = message;
		else
			free(message);
	}
	if (s->stop)
		s->stop(s->stop_userdata);
}

void event_sink_lost(struct event_sink *s, const char *source, const char *why, uint64_t count,
		     bool count_known)
{
	note_lost_from(s, source, NULL, why, count, !count_known);
	if (s->budget.overflow_count)
		return;
	reach(s, "lost");
	announce(s);
}

/* --- the end of the run --- */

static void emit_repeated(struct event_sink *s, enum event_class c, const struct event_key *k)
{
	struct audit *a = s->audit;
	char ts[32];

	s->pending = PENDING_END;
	audit_begin(a, "audit.repeated");
	audit_str(a, "class", event_class_to_string(c));
	audit_str(a, "repeated_event", k->event);
	audit_str(a, "key", k->shown);
	audit_uint(a, "count", k->count - k->written);
	audit_format_ts(ts, sizeof(ts), k->first_usec);
	audit_str(a, "first", ts);
	audit_format_ts(ts, sizeof(ts), k->last_usec);
	audit_str(a, "last", ts);
	if (k->first_seq != EVENT_KEY_NO_SEQ)
		audit_uint(a, "first_seq", k->first_seq);
	else
		audit_null(a, "first_seq");
	if (audit_end(a) == -ENOSPC && c == EVENT_MUST_RECORD) {
		/* No room after all: counted with the event's other repeats. */
		struct sink_repeats *r = NULL;

		for (size_t i = 0; i < s->n_repeats && !r; i++)
			if (streq(s->repeats[i].event, k->event))
				r = &s->repeats[i];
		if (!r && s->n_repeats < SINK_EVIDENCE_MAX) {
			r = &s->repeats[s->n_repeats++];
			*r = (struct sink_repeats){ .event = k->event };
		}
		if (r) {
			r->count += k->count - k->written;
			r->keys++;
		}
	}
	s->pending = PENDING_NONE;
}

static void flush_must(struct event_sink *s)
{
	size_t n = event_keys_size(s->must);

	for (size_t i = 0; i < n; i++) {
		const struct event_key *k = event_keys_at(s->must, i);
		struct sink_repeats *r = NULL;

		if (k->count <= k->written || k->first_seq == EVENT_KEY_NO_SEQ)
			continue;
		if (k->itemised) {
			emit_repeated(s, EVENT_MUST_RECORD, k);
			continue;
		}
		for (size_t j = 0; j < s->n_repeats && !r; j++)
			if (streq(s->repeats[j].event, k->event))
				r = &s->repeats[j];
		if (!r && s->n_repeats < SINK_EVIDENCE_MAX) {
			r = &s->repeats[s->n_repeats++];
			*r = (struct sink_repeats){ .event = k->event };
		}
		if (r) {
			r->count += k->count - k->written;
			r->keys++;
		}
	}
	for (size_t i = 0; i < s->n_repeats; i++) {
		audit_begin(s->audit, "audit.repeated");
		audit_str(s->audit, "class", event_class_to_string(EVENT_MUST_RECORD));
		audit_str(s->audit, "repeated_event", s->repeats[i].event);
		audit_null(s->audit, "key");
		audit_uint(s->audit, "keys", s->repeats[i].keys);
		audit_uint(s->audit, "count", s->repeats[i].count);
		audit_null(s->audit, "first_seq");
		event_sink_end(s);
	}
}

static void flush_evidence(struct event_sink *s, struct sink_evidence *e)
{
	size_t n = event_keys_size(e->keys);
	uint64_t left = e->beyond_keys, itemised = 0, counted = e->beyond_keys;

	for (size_t i = 0; i < n; i++) {
		const struct event_key *k = event_keys_at(e->keys, i);
		uint64_t before = audit_next_seq(s->audit);

		counted += k->count;
		if (k->count <= k->written)
			continue;
		left += k->count - k->written;
		if (!k->itemised)
			continue;
		emit_repeated(s, EVENT_EVIDENCE, k);
		if (audit_next_seq(s->audit) != before)
			itemised += k->count - k->written;
	}
	if (!left)
		return;
	audit_begin(s->audit, "audit.sampled");
	audit_str(s->audit, "sampled_event", e->event);
	audit_uint(s->audit, "seen", counted);
	audit_uint(s->audit, "written", e->written);
	audit_uint(s->audit, "count", left);
	audit_uint(s->audit, "itemised", itemised);
	audit_uint(s->audit, "beyond_keys", e->beyond_keys);
	audit_bool(s->audit, "budget_reached", e->budget_reached);
	event_sink_end(s);
}

void event_sink_flush(struct event_sink *s)
{
	if (!s->audit)
		return;
	flush_must(s);
	for (size_t i = 0; i < s->n_evidence; i++)
		flush_evidence(s, &s->evidence[i]);
	for (size_t i = 0; i < s->n_lost; i++) {
		audit_begin(s->audit, "audit.lost");
		audit_str(s->audit, "source", s->lost[i].source);
		audit_str(s->audit, "lost_event", s->lost[i].what);
		audit_str(s->audit, "reason", s->lost[i].reason);
		audit_uint(s->audit, "count", s->lost[i].count);
		audit_bool(s->audit, "count_known", !s->lost[i].unknown);
		event_sink_end(s);
	}
}

bool event_sink_failed(const struct event_sink *s)
{
	return s->failed;
}

bool event_sink_overflowed(const struct event_sink *s)
{
	return s->overflow && !s->budget.overflow_count;
}

const char *event_sink_error(const struct event_sink *s)
{
	return s->error;
}

const struct refusal_stats *event_sink_refusals(const struct event_sink *s, enum refusal_kind kind)
{
	return &s->refusals[kind];
}

bool event_sink_limit_was_hit(const struct event_sink *s, enum run_limit limit)
{
	return s->limits_hit[limit];
}

void event_sink_trail_stats(const struct event_sink *s, struct event_trail_stats *ret)
{
	uint64_t seen = 0, lost = 0;

	for (size_t i = 0; i < s->n_evidence; i++) {
		const struct sink_evidence *e = &s->evidence[i];

		seen += e->beyond_keys;
		for (size_t k = 0; k < event_keys_size(e->keys); k++)
			seen += event_keys_at(e->keys, k)->count;
	}
	for (size_t i = 0; i < s->n_lost; i++)
		lost += s->lost[i].count;
	*ret = (struct event_trail_stats){
		.bytes = s->bytes,
		.must_keys = s->must_written,
		.repeats = s->must_repeats,
		.evidence_written = s->evidence_written,
		.evidence_left_out = sub0(seen, s->evidence_written),
		.lost = lost,
		.overflow = s->overflow,
	};
}

const char *refusal_kind_to_string(enum refusal_kind k)
{
	static const char *const names[_REFUSAL_KIND_MAX] = { "syscall", "net", "file" };

	return k < _REFUSAL_KIND_MAX ? names[k] : NULL;
}

const char *run_limit_to_string(enum run_limit l)
{
	static const char *const names[_RUN_LIMIT_MAX] = { "timeout", "output", "cpu", "file_size",
							   "memory" };

	return l < _RUN_LIMIT_MAX ? names[l] : NULL;
}

const char *event_class_to_string(enum event_class c)
{
	return c == EVENT_MUST_RECORD ? "must-record" : "evidence";
}
