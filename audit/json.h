/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The JSON of the audit trail. Writing is ours: escaping strings exactly as the trail's format
 * wants them (json_escape()), which is smaller and faster than building a library's tree for
 * every event. Reading is jansson's: json_parse() reads one line into a json_t tree with the
 * strictness the trail needs (see json_parse()); readers use jansson's accessors on it.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "macros.h"

/* Containers (objects and arrays) may nest this deep; deeper input is refused with -ELNRNG. */
#define JSON_DEPTH_MAX 64

/**
 * Appends s (n bytes, NULs allowed) as a quoted JSON string. Control bytes, DEL, C1 controls,
 * U+2028 and U+2029 are escaped; invalid UTF-8 becomes U+FFFD, once per maximal invalid
 * subpart (the WHATWG/Unicode rule), so the output is always valid UTF-8.
 */
void json_escape(struct buf *b, const void *s, size_t n);
/** Same as json_escape() without the surrounding quotes, for building a string in pieces. */
void json_escape_unquoted(struct buf *b, const void *s, size_t n);

/* Why json_parse() refused a text: where (a byte offset) and jansson's words for it. */
struct json_parse_error {
	enum json_error_code code;
	size_t offset;
	char text[JSON_ERROR_TEXT_LENGTH];
};

/**
 * Parses exactly one JSON text (surrounding whitespace allowed, nothing else) with jansson:
 * strict RFC 8259 (no comments, NaN, single quotes or trailing commas; UTF-8 checked, lone
 * surrogates refused), and besides refuses duplicate keys, NUL in keys and reals beyond a
 * double. \u0000 inside string values is kept (json_string_length() counts it). An integer
 * beyond int64_t, which jansson cannot hold, makes the whole text read again with every number
 * as a double: that is the one case that returns 1 instead of 0. Errors: -EBADMSG (not such
 * JSON; ret_error, which may be NULL, says where and why), -ELNRNG (containers nested deeper
 * than JSON_DEPTH_MAX), -ENOMEM. On success *ret is a new reference.
 */
int json_parse(const char *data, size_t len, json_t **ret, struct json_parse_error *ret_error);
/** Checks like json_parse() and drops the tree; same return values. */
int json_validate(const char *data, size_t len, struct json_parse_error *ret_error);

#define _cleanup_json_decref_ _cleanup_(json_decrefp)

/** The value of member key when it is a string, else NULL (also when obj is not an object). */
const char *json_get_str(const json_t *obj, const char *key);
/** Stores the value of member key when it is an integer: 0, -ENOENT, or -EINVAL (not one). */
int json_get_int(const json_t *obj, const char *key, int64_t *ret);
/**
 * Appends a number as JSON text: an integer exactly, a real in the shortest form that reads
 * back as the same double (0.5, 1.25, 3.0, 1.5e+19). jansson keeps a number's value, not the
 * text it was read from, so 1.250000 comes back as 1.25.
 */
void json_number_text(struct buf *b, const json_t *n);
/** Appends any value as compact JSON text (members in their order, strings via json_escape()). */
void json_compact_text(struct buf *b, const json_t *n);

/* jansson's object iteration wants a mutable object; reading through it changes nothing. */
#define JSON_FOREACH_MEMBER(obj, key, value) json_object_foreach ((json_t *)(obj), key, value)
