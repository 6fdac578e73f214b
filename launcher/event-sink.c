/* SPDX-License-Identifier: MIT */
/*
 * The run's event sink (event-sink.h): the audit writer handlers write through, flood
 * control, the refusals and limits run.summary counts, and the run's failure.
 *
 * Flood control applies to the events of the seccomp listener (syscall.deny and the trace
 * events): per distinct key (the event and its salient fields) the first
 * EVENT_FLOOD_PER_KEY events are written, further ones only counted, and
 * event_sink_flush() reports the counts as audit.lost events at the end of the run. The
 * network layer keeps its own budget (run-net.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "event-sink.h"
#include "macros.h"

/* --- flood control --- */

#define FLOOD_SLOTS (2 * EVENT_FLOOD_MAX_KEYS) /* open addressing, at most half full */

struct flood_key {
	char digest[AUDIT_HASH_HEX_LEN + 1]; /* "" for a free slot */
	const char *event;		     /* a string literal */
	char *shown;			     /* the key, cut at EVENT_FLOOD_KEY_SHOWN bytes */
	uint64_t count;			     /* events seen, written or not */
};

struct event_flood {
	struct flood_key *slots;
	uint32_t *order; /* slot indexes in the order keys were first seen */
	size_t n_keys;
	uint64_t overflow; /* events of keys that did not fit */
};

struct event_flood *event_flood_new(void)
{
	struct event_flood *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->slots = calloc(FLOOD_SLOTS, sizeof(*f->slots));
	f->order = calloc(EVENT_FLOOD_MAX_KEYS, sizeof(*f->order));
	if (!f->slots || !f->order)
		return event_flood_free(f);
	return f;
}

struct event_flood *event_flood_free(struct event_flood *f)
{
	if (!f)
		return NULL;
	for (size_t i = 0; f->slots && i < f->n_keys; i++)
		free(f->slots[f->order[i]].shown);
	free(f->slots);
	free(f->order);
	free(f);
	return NULL;
}

static uint64_t hex_prefix(const char *hex)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		char c = hex[i];

		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

bool event_flood_admit(struct event_flood *f, const char *event, const char *key)
{
	char digest[AUDIT_HASH_HEX_LEN + 1];
	struct buf b = BUF_INIT;
	struct flood_key *k;
	size_t i;

	if (!f)
		return true;
	/* The event name and the key, separated by a byte neither contains. */
	buf_puts(&b, event);
	buf_putc(&b, '\0');
	buf_puts(&b, key ? key : "");
	if (!buf_ok(&b)) {
		buf_done(&b);
		return true;
	}
	audit_sha256_hex(b.data, b.len, digest);
	buf_done(&b);

	for (i = hex_prefix(digest) % FLOOD_SLOTS;; i = (i + 1) % FLOOD_SLOTS) {
		k = &f->slots[i];
		if (!k->digest[0] || streq(k->digest, digest))
			break;
	}
	if (!k->digest[0]) {
		if (f->n_keys >= EVENT_FLOOD_MAX_KEYS) {
			f->overflow++;
			return false;
		}
		k->shown = strndup(key ? key : "", EVENT_FLOOD_KEY_SHOWN);
		if (!k->shown)
			return true;
		memcpy(k->digest, digest, sizeof(digest));
		k->event = event;
		f->order[f->n_keys++] = (uint32_t)i;
	}
	k->count++;
	return k->count <= EVENT_FLOOD_PER_KEY;
}

void event_flood_report(const struct event_flood *f,
			void (*cb)(const char *event, const char *key, uint64_t count,
				   void *userdata),
			void *userdata)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_keys; i++) {
		const struct flood_key *k = &f->slots[f->order[i]];

		if (k->count > EVENT_FLOOD_PER_KEY)
			cb(k->event, k->shown, k->count - EVENT_FLOOD_PER_KEY, userdata);
	}
	if (f->overflow)
		cb(NULL, NULL, f->overflow, userdata);
}

/* --- the sink --- */

struct event_sink {
	struct audit *audit;	   /* not owned */
	struct event_flood *flood; /* created on first use */
	struct refusal_stats refusals[_REFUSAL_KIND_MAX];
	bool limits_hit[_RUN_LIMIT_MAX];
	bool failed;
	char *error;
	void (*stop)(void *userdata);
	void *stop_userdata;
};

int event_sink_new(struct audit *audit, struct event_sink **ret)
{
	struct event_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->audit = audit;
	*ret = s;
	return 0;
}

struct event_sink *event_sink_free(struct event_sink *s)
{
	if (!s)
		return NULL;
	for (size_t k = 0; k < _REFUSAL_KIND_MAX; k++)
		for (size_t i = 0; i < s->refusals[k].n_examples; i++)
			free(s->refusals[k].examples[i]);
	event_flood_free(s->flood);
	free(s->error);
	free(s);
	return NULL;
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

void event_sink_end(struct event_sink *s)
{
	if (s->audit && audit_end(s->audit) < 0)
		log_error("audit: writing the audit trail failed");
}

bool event_sink_admit(struct event_sink *s, const char *event, const char *key)
{
	if (!s->flood)
		s->flood = event_flood_new();
	/* Without memory for the table everything is written: nothing is lost unannounced. */
	return event_flood_admit(s->flood, event, key);
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

static void emit_lost(const char *event, const char *key, uint64_t count, void *userdata)
{
	struct event_sink *s = userdata;

	audit_begin(s->audit, "audit.lost");
	audit_str(s->audit, "source", "seccomp");
	if (event) {
		/* "event" is the line's own common field: the held-back event is "lost_event". */
		audit_str(s->audit, "reason", "repeated");
		audit_str(s->audit, "lost_event", event);
		audit_str(s->audit, "key", key);
	} else {
		audit_str(s->audit, "reason", "too-many-keys");
		audit_uint(s->audit, "keys", EVENT_FLOOD_MAX_KEYS);
	}
	audit_uint(s->audit, "count", count);
	event_sink_end(s);
}

void event_sink_flush(struct event_sink *s)
{
	if (s->audit)
		event_flood_report(s->flood, emit_lost, s);
	s->flood = event_flood_free(s->flood);
}

bool event_sink_failed(const struct event_sink *s)
{
	return s->failed;
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
