/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char hex_digits[] = "0123456789abcdef";

/*
 * Decodes the UTF-8 sequence at s (n >= 1 bytes). Returns its length (1-4) and stores the code
 * point, or returns minus the length of the maximal invalid subpart: the longest prefix of a
 * well-formed sequence that is present, or 1. Replacing each such subpart by one U+FFFD is the
 * Unicode/WHATWG recommendation, and it never swallows the valid character that follows: the
 * byte that broke the sequence starts the next attempt. The ranges below (rather than a decode
 * and range check afterwards) reject overlong forms, surrogates and values above U+10FFFF at the
 * byte where they become certain.
 */
static int utf8_next(const uint8_t *s, size_t n, uint32_t *ret_cp)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t need;

	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		/* Continuation bytes alone, C0/C1 (always overlong), F5..FF (beyond U+10FFFF). */
		return -1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
		cp = (cp << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*ret_cp = cp;
	return (int)need + 1;
}

static void put_u_escape(struct buf *b, uint32_t cp)
{
	char e[6] = "\\u";

	for (int i = 0; i < 4; i++)
		e[2 + i] = hex_digits[(cp >> (12 - 4 * i)) & 0xf];
	buf_append(b, e, sizeof(e));
}

void json_escape_unquoted(struct buf *b, const void *s, size_t n)
{
	const uint8_t *p = s, *end = p + n, *plain = p;

	/* Bytes that go out unchanged are collected into one run and appended together. */
	while (p < end) {
		uint8_t c = *p;
		uint32_t cp = 0;
		size_t used = 1;
		int r = 0;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			p++;
			continue;
		}
		if (c >= 0x80) {
			r = utf8_next(p, (size_t)(end - p), &cp);
			/*
			 * C1 controls are valid, but a terminal showing the trail may obey them
			 * (U+009B is CSI), and U+2028/U+2029 end lines in JavaScript; escaping
			 * them reads back as the same string.
			 */
			if (r > 0 && !(cp >= 0x80 && cp <= 0x9f) && cp != 0x2028 && cp != 0x2029) {
				p += r;
				continue;
			}
		}
		buf_append(b, plain, (size_t)(p - plain));
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\b':
			buf_append(b, "\\b", 2);
			break;
		case '\f':
			buf_append(b, "\\f", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default:
			if (c < 0x80) {
				put_u_escape(b, c);
			} else if (r > 0) {
				put_u_escape(b, cp);
				used = (size_t)r;
			} else {
				buf_append(b, "\xef\xbf\xbd", 3);
				used = (size_t)-r;
			}
			break;
		}
		p += used;
		plain = p;
	}
	buf_append(b, plain, (size_t)(p - plain));
}

void json_escape(struct buf *b, const void *s, size_t n)
{
	buf_putc(b, '"');
	json_escape_unquoted(b, s, n);
	buf_putc(b, '"');
}

/*
 * Reading. jansson does the parsing; what is left here is the policy on top of it: the flags
 * that make it as strict as the trail needs, the depth limit, and turning its errors into
 * -errno. JSON_REJECT_DUPLICATES matters most: with two "event" members a reader that takes
 * the first and one that takes the last (jq, Python) would see different events in the same
 * line, so a trail that holds one is refused, not read one way.
 */
#define PARSE_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* Whether n nests more than max containers deep, counting n itself (depth 0 is a scalar). */
static bool deeper_than(const json_t *n, unsigned max)
{
	const json_t *v;
	const char *key;
	size_t i;

	if (!json_is_object(n) && !json_is_array(n))
		return false;
	if (max == 0)
		return true;
	if (json_is_array(n)) {
		json_array_foreach (n, i, v) {
			if (deeper_than(v, max - 1))
				return true;
		}
	} else {
		JSON_FOREACH_MEMBER (n, key, v) {
			if (deeper_than(v, max - 1))
				return true;
		}
	}
	return false;
}

static int parse_error(const json_error_t *e, struct json_parse_error *ret_error)
{
	switch (json_error_code(e)) {
	case json_error_out_of_memory:
		return -ENOMEM;
	case json_error_stack_overflow:
		/* jansson's own limit (JSON_PARSER_MAX_DEPTH, 2048) is far above ours. */
		return -ELNRNG;
	default:
		break;
	}
	if (ret_error) {
		ret_error->code = json_error_code(e);
		ret_error->offset = e->position > 0 ? (size_t)e->position : 0;
		snprintf(ret_error->text, sizeof(ret_error->text), "%s", e->text);
	}
	return -EBADMSG;
}

int json_parse(const char *data, size_t len, json_t **ret, struct json_parse_error *ret_error)
{
	json_t *root;
	json_error_t e;
	int r = 0;

	if (!data && len)
		return -EINVAL;
	root = json_loadb(data ? data : "", len, PARSE_FLAGS, &e);
	if (!root && json_error_code(&e) == json_error_numeric_overflow) {
		/*
		 * jansson holds integers as int64_t and refuses any beyond it, but the writer emits
		 * uint64_t values (a limit of 2^63 bytes or more is a valid manifest), so such a
		 * text is read with its numbers as doubles. A real beyond a double still fails.
		 */
		root = json_loadb(data ? data : "", len, PARSE_FLAGS | JSON_DECODE_INT_AS_REAL, &e);
		r = 1;
	}
	if (!root)
		return parse_error(&e, ret_error);
	if (deeper_than(root, JSON_DEPTH_MAX)) {
		json_decref(root);
		return -ELNRNG;
	}
	*ret = root;
	return r;
}

int json_validate(const char *data, size_t len, struct json_parse_error *ret_error)
{
	json_t *root = NULL;
	int r = json_parse(data, len, &root, ret_error);

	json_decref(root);
	return r;
}

const char *json_get_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int json_get_int(const json_t *obj, const char *key, int64_t *ret)
{
	const json_t *m = json_object_get(obj, key);

	if (!m)
		return -ENOENT;
	if (!json_is_integer(m))
		return -EINVAL;
	*ret = json_integer_value(m);
	return 0;
}

void json_number_text(struct buf *b, const json_t *n)
{
	double d = json_number_value(n);
	char text[32];

	if (json_is_integer(n)) {
		buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(n));
		return;
	}
	for (int precision = 15; precision <= 17; precision++) {
		snprintf(text, sizeof(text), "%.*g", precision, d);
		if (strtod(text, NULL) == d)
			break;
	}
	buf_puts(b, text);
	/* A real stays one when read back: 3.0, not 3. */
	if (!strpbrk(text, ".e"))
		buf_puts(b, ".0");
}

void json_compact_text(struct buf *b, const json_t *n)
{
	const char *key;
	const json_t *v;
	size_t i;

	switch (json_typeof(n)) {
	case JSON_OBJECT:
		buf_putc(b, '{');
		i = 0;
		JSON_FOREACH_MEMBER (n, key, v) {
			if (i++)
				buf_putc(b, ',');
			json_escape(b, key, strlen(key));
			buf_putc(b, ':');
			json_compact_text(b, v);
		}
		buf_putc(b, '}');
		break;
	case JSON_ARRAY:
		buf_putc(b, '[');
		json_array_foreach (n, i, v) {
			if (i)
				buf_putc(b, ',');
			json_compact_text(b, v);
		}
		buf_putc(b, ']');
		break;
	case JSON_STRING:
		json_escape(b, json_string_value(n), json_string_length(n));
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		json_number_text(b, n);
		break;
	case JSON_TRUE:
		buf_puts(b, "true");
		break;
	case JSON_FALSE:
		buf_puts(b, "false");
		break;
	case JSON_NULL:
		buf_puts(b, "null");
		break;
	}
}
