/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A table of distinct event keys (launcher/event-keys.c), the memory of the run's event sink:
 * for each (event, key) it has seen, how many times, when first and last, and the seq of the
 * line that recorded it. Pure: no I/O, unit-tested.
 *
 * Keys compare by SHA-256 of the event name and the key (the first 128 bits), so no crafted
 * key can pass for another and a long key costs no more memory than a short one. The key's
 * text itself is kept only once a key repeats, cut at EVENT_KEY_SHOWN bytes, for the report
 * of its repeats. The table grows as keys arrive, up to the bound it was made with.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest key text kept for a report (the rest is cut; the digest is of all of it). */
#define EVENT_KEY_SHOWN 128
/* No line recorded this key. */
#define EVENT_KEY_NO_SEQ UINT64_MAX

struct event_key {
	uint8_t digest[16];
	const char *event; /* a string literal of the caller's */
	char *shown;	   /* the key's text once it repeats, cut at EVENT_KEY_SHOWN; or NULL */
	uint64_t count;	   /* occurrences, written or not */
	uint64_t written;  /* occurrences written */
	uint64_t first_usec, last_usec;
	uint64_t first_seq; /* the seq of the first line written for it, or EVENT_KEY_NO_SEQ */
	bool itemised;	    /* its repeats get a report line of their own */
};

struct event_keys;

/** A table of at most max_keys keys; NULL when out of memory. */
struct event_keys *event_keys_new(size_t max_keys);
struct event_keys *event_keys_free(struct event_keys *t);

enum event_keys_result {
	EVENT_KEYS_NEW,	   /* the first of its key: *ret is the key, count 1 */
	EVENT_KEYS_REPEAT, /* a known key: *ret is the key, its count and last time updated */
	EVENT_KEYS_FULL,   /* a new key and no room for it: nothing remembered */
	EVENT_KEYS_NOMEM,
};

/**
 * Counts one occurrence of (event, key) at time now_usec. event must outlive the table (a
 * literal); key may be NULL (""). *ret (for NEW and REPEAT) stays valid until the next call.
 */
enum event_keys_result event_keys_count(struct event_keys *t, const char *event, const char *key,
					uint64_t now_usec, struct event_key **ret);
/** Keeps the key's text for its report (cut at EVENT_KEY_SHOWN); -ENOMEM or 0. */
int event_keys_show(struct event_key *k, const char *key);
size_t event_keys_size(const struct event_keys *t);
size_t event_keys_max(const struct event_keys *t);
/** The i-th key in the order keys were first seen (i < event_keys_size()). */
const struct event_key *event_keys_at(const struct event_keys *t, size_t i);
