/* SPDX-License-Identifier: MIT */
/*
 * The event sink's table of distinct keys (event-keys.h): the keys in a dense array, in the
 * order they were first seen, and an open-addressing index of 32-bit slots over it, kept at
 * most half full. Both grow by doubling, so a run that sees few keys pays for few.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "event-keys.h"
#include "macros.h"

struct event_keys {
	struct event_key *keys;
	size_t n, cap, max;
	uint32_t *slots; /* 0: free; else index + 1 */
	size_t n_slots;	 /* a power of two */
};

struct event_keys *event_keys_new(size_t max_keys)
{
	struct event_keys *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = MIN(max_keys, (size_t)UINT32_MAX - 1);
	return t;
}

struct event_keys *event_keys_free(struct event_keys *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		free(t->keys[i].shown);
	free(t->keys);
	free(t->slots);
	free(t);
	return NULL;
}

static uint64_t slot_of(const uint8_t digest[16])
{
	uint64_t v;

	memcpy(&v, digest, sizeof(v));
	return v;
}

static size_t find_slot(const struct event_keys *t, const uint8_t digest[16])
{
	size_t mask = t->n_slots - 1;

	for (size_t i = slot_of(digest) & mask;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];

		if (!s || memcmp(t->keys[s - 1].digest, digest, 16) == 0)
			return i;
	}
}

static int grow_index(struct event_keys *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof(*slots)), *old = t->slots;
	size_t old_n = t->n_slots;

	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->n_slots = n;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			t->slots[find_slot(t, t->keys[old[i] - 1].digest)] = old[i];
	free(old);
	return 0;
}

enum event_keys_result event_keys_count(struct event_keys *t, const char *event, const char *key,
					uint64_t now_usec, struct event_key **ret)
{
	char hex[AUDIT_HASH_HEX_LEN + 1];
	uint8_t digest[16];
	struct buf b = BUF_INIT;
	struct event_key *k;
	size_t slot;

	/* The event name and the key, separated by a byte neither contains. */
	buf_puts(&b, event);
	buf_putc(&b, '\0');
	buf_puts(&b, key ? key : "");
	if (!buf_ok(&b)) {
		buf_done(&b);
		return EVENT_KEYS_NOMEM;
	}
	audit_sha256_hex(b.data, b.len, hex);
	buf_done(&b);
	if (!hex[0])
		return EVENT_KEYS_NOMEM;
	for (size_t i = 0; i < sizeof(digest); i++) {
		char hi = hex[2 * i], lo = hex[2 * i + 1];

		digest[i] = (uint8_t)((hi <= '9' ? hi - '0' : hi - 'a' + 10) << 4 |
				      (lo <= '9' ? lo - '0' : lo - 'a' + 10));
	}

	if (t->n_slots) {
		slot = find_slot(t, digest);
		if (t->slots[slot]) {
			k = &t->keys[t->slots[slot] - 1];
			k->count++;
			k->last_usec = now_usec;
			*ret = k;
			return EVENT_KEYS_REPEAT;
		}
	}
	if (t->n >= t->max)
		return EVENT_KEYS_FULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? MIN(t->cap * 2, t->max) : MIN((size_t)32, t->max);
		struct event_key *keys = reallocarray(t->keys, cap, sizeof(*keys));

		if (!keys)
			return EVENT_KEYS_NOMEM;
		t->keys = keys;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 > t->n_slots && grow_index(t) < 0)
		return EVENT_KEYS_NOMEM;
	slot = find_slot(t, digest);
	k = &t->keys[t->n];
	*k = (struct event_key){
		.event = event,
		.count = 1,
		.first_usec = now_usec,
		.last_usec = now_usec,
		.first_seq = EVENT_KEY_NO_SEQ,
	};
	memcpy(k->digest, digest, sizeof(digest));
	t->slots[slot] = (uint32_t)++t->n;
	*ret = k;
	return EVENT_KEYS_NEW;
}

int event_keys_show(struct event_key *k, const char *key)
{
	if (k->shown)
		return 0;
	k->shown = strndup(key ? key : "", EVENT_KEY_SHOWN);
	return k->shown ? 0 : -ENOMEM;
}

size_t event_keys_size(const struct event_keys *t)
{
	return t ? t->n : 0;
}

size_t event_keys_max(const struct event_keys *t)
{
	return t ? t->max : 0;
}

const struct event_key *event_keys_at(const struct event_keys *t, size_t i)
{
	return &t->keys[i];
}
