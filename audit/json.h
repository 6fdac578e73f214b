/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The small amount of JSON the audit trail needs: escaping strings for the writer, a strict
 * RFC 8259 parser that builds a tree for readers of single lines, and a tree-less validator
 * plus member walker for audit_verify(), which reads millions of lines.
 */

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

enum json_type {
	JSON_NULL,
	JSON_BOOLEAN,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_node {
	enum json_type type;
	/* The member name when this node is a value inside an object; NUL-terminated. */
	char *key;
	size_t key_len;
	/* JSON_STRING: the unescaped value; JSON_NUMBER: its text. NUL-terminated, and len counts
	 * the bytes, since a string may contain \u0000. */
	char *str;
	size_t len;
	/* JSON_NUMBER: true when it has no fraction or exponent and fits in integer. */
	bool is_integer;
	int64_t integer;
	/* JSON_BOOLEAN */
	bool boolean;
	/* JSON_ARRAY elements or JSON_OBJECT members, in document order (duplicates kept). */
	struct json_node **items;
	size_t n_items;
};

/**
 * Parses exactly one JSON text (surrounding whitespace allowed, nothing else). Returns 0,
 * -EBADMSG when the text is not strict JSON (invalid UTF-8 and lone surrogates included),
 * -ELNRNG when nested deeper than JSON_DEPTH_MAX, or -ENOMEM. On a syntax error
 * ret_error_offset (may be NULL) gets the byte offset where parsing stopped.
 */
int json_parse(const char *data, size_t len, struct json_node **ret, size_t *ret_error_offset);
/** Checks like json_parse() without building anything; same return values. */
int json_validate(const char *data, size_t len, size_t *ret_error_offset);
/** Frees a tree; takes NULL; returns NULL. */
struct json_node *json_free(struct json_node *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_node *, json_free)
#define _cleanup_json_free_ _cleanup_(json_freep)

/** The first member of object named key, or NULL (also when obj is not an object). */
const struct json_node *json_object_get(const struct json_node *obj, const char *key);
/** The value of member key when it is a string, else NULL. */
const char *json_object_get_str(const struct json_node *obj, const char *key);
/** Stores the value of member key when it is an integer: 0, -ENOENT, or -EINVAL (not one). */
int json_object_get_int(const struct json_node *obj, const char *key, int64_t *ret);

/* A member of an object, as raw spans of the text it was read from. */
struct json_member {
	const char *key; /* the key token, quotes and escapes included */
	size_t key_len;
	const char *value; /* the value's text: a whole string, number, literal or container */
	size_t value_len;
};

/**
 * Walks the members of the top-level object of a text json_validate() accepted, without
 * building a tree. Start with *pos = 0. Returns 1 and fills ret for each member, 0 after the
 * last, -EBADMSG when the text is not an object.
 */
int json_object_next(const char *data, size_t len, size_t *pos, struct json_member *ret);
/**
 * Appends the unescaped value of a string token (quotes included, as json_member gives it) to
 * out. Returns 0, -EBADMSG when token is not exactly one JSON string, or -ENOMEM.
 */
int json_unquote(const char *token, size_t len, struct buf *out);
