/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Finding declared secrets in the strings of the audit trail (audit/redact.c), as they are and
 * encoded, so that the writer can replace them by markers. Pure: no I/O, unit-tested.
 *
 * What is matched, for a secret of value V (REDACT_ENCODED_MIN bytes or longer for all but
 * the first):
 *
 *   - V itself, byte for byte (any length), and V in any case;
 *   - hex of V, in either case (and mixed);
 *   - base64 of V, standard (+/) and URL (-_) alphabets, at each of the three byte offsets V
 *     can have in the encoded data, with or without padding: the characters that depend on
 *     V's bytes alone are matched, and the match is widened over the neighbouring characters
 *     of the alphabet (and '=' padding), which carry the bits V shares with its neighbours;
 *   - base32 (RFC 4648) of V at each of its five byte offsets, in either case, widened the
 *     same way;
 *   - any of these percent-encoded (%XX in either case, '+' for a space), fully or in part;
 *   - any of these split by dots or whitespace (a DNS name's labels, wrapped base64).
 *
 * Shorter secrets are matched only as they are: the encodings of a 1-5 byte value are short
 * enough to turn up by chance in hashes, ids and ordinary words.
 *
 * Matching is two Aho-Corasick automata built when a secret is added: one over raw bytes
 * (V, base64), one over lowercased bytes (V in any case, hex, base32), each run over the
 * string, over its percent-decoded form when it has a '%' or '+', and over it with dots and
 * whitespace left out when it has any: at most six linear passes per string.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Secrets at least this long are also matched encoded and in any case. */
#define REDACT_ENCODED_MIN 6

enum redact_encoding {
	REDACT_LITERAL,
	REDACT_HEX,
	REDACT_BASE64,
	REDACT_BASE64URL,
	REDACT_BASE32,
};

/* A span of the string to replace, and the marker of the secret found there. */
struct redact_span {
	size_t start, end; /* bytes [start, end) of the string scanned */
	size_t secret;	   /* index, in the order secrets were added */
	enum redact_encoding encoding;
};

struct redactor;

struct redactor *redactor_new(void);
/** Frees the redactor, wiping the secrets and their encodings from memory; takes NULL. */
struct redactor *redactor_free(struct redactor *r);
/** Adds a secret (its value: n bytes, n > 0); 0, -EINVAL or -ENOMEM. */
int redactor_add(struct redactor *r, const void *value, size_t n);
/** Whether any secret was added. */
bool redactor_empty(const struct redactor *r);
/**
 * The spans of s to replace, in order and not overlapping: *ret (owned by the redactor, valid
 * until the next call) and their number. Where matches overlap they are merged into one span
 * per distinct secret and encoding that extends it, so that no fragment of a secret is left
 * between markers: a match that lies inside an earlier one adds nothing; one that reaches
 * further makes a new span starting where the last one ended. Returns the number of spans,
 * or -ENOMEM.
 */
int redactor_scan(struct redactor *r, const uint8_t *s, size_t n, const struct redact_span **ret);
/** "base64", "hex", ...; NULL for REDACT_LITERAL. */
const char *redact_encoding_to_string(enum redact_encoding e);
