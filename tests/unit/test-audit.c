/* SPDX-License-Identifier: MIT */
/*
 * Tests for audit/: JSON escaping and parsing, the line writer with its hash chain and
 * redaction, and the verifier against every kind of tampering it should name.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "fd-util.h"
#include "json.h"
#include "summary.h"
#include "tap.h"

#define RUN_A "0b8a4f2e-5c1d-4e7a-9f3b-2d6c8e1a7b40"
#define RUN_B "6f1e9d2c-3b4a-4c5d-8e7f-0a1b2c3d4e5f"
/* 2026-11-22T05:24:00.123456Z */
#define TS_USEC (UINT64_C(1795325040) * 1000000 + 123456)

static const char replacement[] = "\xef\xbf\xbd";

/*
 * An independent UTF-8 check, written from the definition (decode, then refuse overlong
 * forms, surrogates and values above U+10FFFF), to judge the escaper by something other than
 * its own decoder.
 */
static bool valid_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t cp, min;
		size_t len;

		if (s[i] < 0x80) {
			i++;
			continue;
		} else if ((s[i] & 0xe0) == 0xc0) {
			len = 2, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* No raw control byte may appear in JSON text, and no DEL or C1 control in ours. */
static bool no_raw_controls(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

/*
 * Escapes in, checks the output is valid UTF-8 without raw controls, parses it back and
 * compares with want. When want_json is not NULL, the escaped text must be exactly that.
 */
static void check_escape(const char *name, const void *in, size_t n, const void *want,
			 size_t want_len, const char *want_json)
{
	_cleanup_json_decref_ json_t *node = NULL;
	struct buf b = BUF_INIT;
	bool good;
	int r;

	json_escape(&b, in, n);
	good = buf_ok(&b) && valid_utf8((const uint8_t *)b.data, b.len) &&
	       no_raw_controls((const uint8_t *)b.data, b.len);
	r = json_parse(b.data, b.len, &node, NULL);
	good = good && r == 0 && json_is_string(node) && json_string_length(node) == want_len &&
	       memcmp(json_string_value(node), want, want_len) == 0;
	if (want_json)
		good = good && b.len == strlen(want_json) && memcmp(b.data, want_json, b.len) == 0;
	if (!ok(good, "escape: %s", name)) {
		diag("escaped: %s (parse: %d)", b.data ? b.data : "(null)", r);
		if (want_json)
			diag("wanted:  %s", want_json);
	}
	buf_done(&b);
}

static void test_escape_bytes(void)
{
	/* Every byte alone: what it must become, and what reading that back must give. */
	for (unsigned c = 0; c < 256; c++) {
		char in = (char)c, json[16], name[32];
		const char *want = &in;
		size_t want_len = 1;

		switch (c) {
		case '"':
			strcpy(json, "\"\\\"\"");
			break;
		case '\\':
			strcpy(json, "\"\\\\\"");
			break;
		case '\b':
			strcpy(json, "\"\\b\"");
			break;
		case '\f':
			strcpy(json, "\"\\f\"");
			break;
		case '\n':
			strcpy(json, "\"\\n\"");
			break;
		case '\r':
			strcpy(json, "\"\\r\"");
			break;
		case '\t':
			strcpy(json, "\"\\t\"");
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(json, sizeof(json), "\"\\u%04x\"", c);
			} else if (c < 0x80) {
				snprintf(json, sizeof(json), "\"%c\"", c);
			} else {
				/* A byte >= 0x80 alone is never valid UTF-8. */
				snprintf(json, sizeof(json), "\"%s\"", replacement);
				want = replacement;
				want_len = 3;
			}
			break;
		}
		snprintf(name, sizeof(name), "byte 0x%02x alone", c);
		check_escape(name, &in, 1, want, want_len, json);
	}
}

#define ESC(name, in, want, json) \
	check_escape(name, in, sizeof(in) - 1, want, sizeof(want) - 1, json)
#define R "\xef\xbf\xbd"

static void test_escape_strings(void)
{
	char all[32];

	ESC("quotes and backslashes", "a\"b\\c\"", "a\"b\\c\"", "\"a\\\"b\\\\c\\\"\"");
	ESC("slash is not escaped", "a/b", "a/b", "\"a/b\"");
	ESC("empty", "", "", "\"\"");
	for (int i = 0; i < 31; i++)
		all[i] = (char)(i + 1);
	all[31] = 0x7f;
	check_escape("all control characters in one string", all, sizeof(all), all, sizeof(all),
		     "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
		     "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
		     "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\\u007f\"");
	ESC("NUL inside", "a\0b", "a\0b", "\"a\\u0000b\"");
	ESC("ESC sequence is defused", "\x1b[31mred", "\x1b[31mred", "\"\\u001b[31mred\"");

	/* Valid UTF-8 passes through unchanged, at every length and boundary. */
	ESC("2-byte é", "caf\xc3\xa9", "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	ESC("2-byte U+00A0 (first after C1)", "\xc2\xa0", "\xc2\xa0", "\"\xc2\xa0\"");
	ESC("2-byte U+07FF", "\xdf\xbf", "\xdf\xbf", "\"\xdf\xbf\"");
	ESC("3-byte U+0800", "\xe0\xa0\x80", "\xe0\xa0\x80", "\"\xe0\xa0\x80\"");
	ESC("3-byte €", "\xe2\x82\xac", "\xe2\x82\xac", "\"\xe2\x82\xac\"");
	ESC("3-byte U+D7FF (below surrogates)", "\xed\x9f\xbf", "\xed\x9f\xbf", "\"\xed\x9f\xbf\"");
	ESC("3-byte U+E000 (above surrogates)", "\xee\x80\x80", "\xee\x80\x80", "\"\xee\x80\x80\"");
	ESC("3-byte U+FFFF", "\xef\xbf\xbf", "\xef\xbf\xbf", "\"\xef\xbf\xbf\"");
	ESC("3-byte U+FEFF (BOM) inside", "a\xef\xbb\xbf", "a\xef\xbb\xbf", "\"a\xef\xbb\xbf\"");
	ESC("4-byte U+10000", "\xf0\x90\x80\x80", "\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"");
	ESC("4-byte emoji", "\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"");
	ESC("4-byte U+10FFFF", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");
	ESC("mixed scripts", "\xd0\x9f\xd1\x80\xd0\xb8 \xe4\xb8\xad\xe6\x96\x87",
	    "\xd0\x9f\xd1\x80\xd0\xb8 \xe4\xb8\xad\xe6\x96\x87",
	    "\"\xd0\x9f\xd1\x80\xd0\xb8 \xe4\xb8\xad\xe6\x96\x87\"");

	/* Valid, but escaped: line separators for JavaScript, C1 controls for terminals. */
	ESC("U+2028", "a\xe2\x80\xa8z", "a\xe2\x80\xa8z", "\"a\\u2028z\"");
	ESC("U+2029", "\xe2\x80\xa9", "\xe2\x80\xa9", "\"\\u2029\"");
	ESC("U+0080 (C1)", "\xc2\x80", "\xc2\x80", "\"\\u0080\"");
	ESC("U+009B (C1 CSI)",
	    "\xc2\x9b"
	    "2J",
	    "\xc2\x9b"
	    "2J",
	    "\"\\u009b2J\"");
	ESC("U+009F (C1)", "\xc2\x9f", "\xc2\x9f", "\"\\u009f\"");

	/* Invalid UTF-8: one U+FFFD per maximal invalid subpart, never eating what follows. */
	ESC("stray continuation", "a\x80z", "a" R "z", "\"a" R "z\"");
	ESC("two stray continuations", "\x80\xbf", R R, "\"" R R "\"");
	ESC("truncated 2-byte at end", "a\xc3", "a" R, "\"a" R "\"");
	ESC("truncated 2-byte before ASCII", "\xc3z", R "z", "\"" R "z\"");
	ESC("truncated 2-byte before quote", "\xc3\"", R "\"", "\"" R "\\\"\"");
	ESC("truncated 3-byte before ASCII", "\xe2\x82z", R "z", "\"" R "z\"");
	ESC("truncated 3-byte at end", "\xe2\x82", R, "\"" R "\"");
	ESC("truncated 3-byte before valid 2-byte", "\xe2\x82\xc3\xa9", R "\xc3\xa9",
	    "\"" R "\xc3\xa9\"");
	ESC("truncated 4-byte before ASCII", "\xf0\x9f\x98z", R "z", "\"" R "z\"");
	ESC("truncated 4-byte before valid 4-byte", "\xf0\x9f\x98\xf0\x9f\x98\x80",
	    R "\xf0\x9f\x98\x80", "\"" R "\xf0\x9f\x98\x80\"");
	ESC("lead byte then lead byte", "\xc3\xc3\xa9", R "\xc3\xa9", "\"" R "\xc3\xa9\"");
	ESC("overlong '/' C0 AF", "\xc0\xaf", R R, "\"" R R "\"");
	ESC("overlong C1 BF", "\xc1\xbf", R R, "\"" R R "\"");
	ESC("overlong 3-byte E0 80 AF", "\xe0\x80\xaf", R R R, "\"" R R R "\"");
	ESC("overlong 3-byte E0 9F BF", "\xe0\x9f\xbf", R R R, "\"" R R R "\"");
	ESC("overlong 4-byte F0 80 80 AF", "\xf0\x80\x80\xaf", R R R R, "\"" R R R R "\"");
	ESC("overlong 4-byte F0 8F BF BF", "\xf0\x8f\xbf\xbf", R R R R, "\"" R R R R "\"");
	ESC("surrogate U+D800", "\xed\xa0\x80", R R R, "\"" R R R "\"");
	ESC("surrogate U+DFFF", "\xed\xbf\xbf", R R R, "\"" R R R "\"");
	ESC("surrogate pair as CESU-8", "\xed\xa0\xbd\xed\xb8\x80", R R R R R R,
	    "\"" R R R R R R "\"");
	ESC("U+110000 (F4 90)", "\xf4\x90\x80\x80", R R R R, "\"" R R R R "\"");
	ESC("F5 lead", "\xf5\x80\x80\x80", R R R R, "\"" R R R R "\"");
	ESC("F8 5-byte form", "\xf8\x88\x80\x80\x80", R R R R R, "\"" R R R R R "\"");
	ESC("FE FF", "\xfe\xff", R R, "\"" R R "\"");
	ESC("Unicode table 3-8 example", "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
	    "a" R R R "b" R "c" R R "d", "\"a" R R R "b" R "c" R R "d\"");
	ESC("invalid then escape-worthy", "\xff\n", R "\n", "\"" R "\\n\"");
}

/* Random bytes, biased towards the interesting ones: whatever comes in, valid JSON goes out. */
static void test_escape_random(void)
{
	static const uint8_t pool[] = { 0x00, 0x01, 0x1f, 0x20, '"',  '\\', 'a',  0x7f, 0x80,
					0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0,
					0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90 };
	unsigned seed = 12345, bad = 0;

	for (int iter = 0; iter < 20000; iter++) {
		_cleanup_json_decref_ json_t *node = NULL;
		struct buf b = BUF_INIT;
		uint8_t in[24];
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(in));

		for (size_t i = 0; i < n; i++)
			in[i] = rand_r(&seed) % 2 ? pool[rand_r(&seed) % (int)sizeof(pool)]
						  : (uint8_t)rand_r(&seed);
		json_escape(&b, in, n);
		if (!valid_utf8((uint8_t *)b.data, b.len) ||
		    !no_raw_controls((uint8_t *)b.data, b.len) ||
		    json_parse(b.data, b.len, &node, NULL) < 0 || !json_is_string(node) ||
		    !valid_utf8((const uint8_t *)json_string_value(node),
				json_string_length(node)) ||
		    (valid_utf8(in, n) && (json_string_length(node) != n ||
					   memcmp(json_string_value(node), in, n) != 0)))
			bad++;
		buf_done(&b);
	}
	is_int(bad, 0, "escape: 20000 random strings give valid JSON that reads back");
}

static json_t *parse_ok(const char *text)
{
	json_t *n = NULL;
	int r = json_parse(text, strlen(text), &n, NULL);

	if (!ok(r == 0, "parse: accepts %s", text))
		diag("error %d", r);
	return n;
}

static void parse_bad(const char *name, const char *text, size_t len, int want)
{
	json_t *n = NULL;
	int r = json_parse(text, len, &n, NULL);
	int rv = json_validate(text, len, NULL);
	char shown[256];
	size_t o = 0;

	/* A TAP line is one line: control and non-ASCII bytes of the name are shown escaped. */
	for (const unsigned char *c = (const unsigned char *)name; *c && o + 5 < sizeof(shown); c++)
		o += (size_t)snprintf(shown + o, sizeof(shown) - o,
				      *c < 0x20 || *c >= 0x7f ? "\\x%02x" : "%c", *c);
	shown[o] = 0;
	if (!ok(r == want && rv == want && !n, "parse: refuses %s", shown))
		diag("parse %d, validate %d, wanted %d", r, rv, want);
	json_decref(n);
}

#define BAD(text) parse_bad(text, text, sizeof(text) - 1, -EBADMSG)

/* The text json_number_text() gives for the only number in text (a one-element array). */
static void number_text(const char *text, int want_r, const char *want)
{
	_cleanup_json_decref_ json_t *arr = NULL;
	struct buf b = BUF_INIT;
	int r = json_parse(text, strlen(text), &arr, NULL);

	if (r >= 0)
		json_number_text(&b, json_array_get(arr, 0));
	if (!ok(r == want_r && streq(buf_str(&b), want), "number text: %s is %s", text, want))
		diag("parse %d, text %s", r, buf_str(&b));
	buf_done(&b);
}

static void test_parse(void)
{
	_cleanup_json_decref_ json_t *obj = NULL;
	json_t *n;
	const json_t *m;
	struct json_parse_error error = {};
	const char *key, *keys[8], *big;
	struct buf b = BUF_INIT;
	size_t k = 0;
	int64_t i64 = 0;

	obj = parse_ok(" {\"b\":1,\"a\":[true,false,null,\"x\",{}],\"c\":{\"d\":-2.5e3},"
		       "\"\":\"empty key\"}\r\n");
	if (obj) {
		JSON_FOREACH_MEMBER (obj, key, m) {
			if (k < ELEMENTSOF(keys))
				keys[k++] = key;
		}
		ok(json_is_object(obj) && k == 4 && streq(keys[0], "b") && streq(keys[1], "a") &&
			   streq(keys[2], "c") && streq(keys[3], ""),
		   "parse: object with 4 members, keys kept in order");
		is_int(json_get_int(obj, "b", &i64), 0, "parse: get_int finds b");
		is_int(i64, 1, "parse: b is 1");
		m = json_object_get(obj, "a");
		ok(json_array_size(m) == 5 && json_is_true(json_array_get(m, 0)) &&
			   json_is_false(json_array_get(m, 1)) &&
			   json_is_null(json_array_get(m, 2)) &&
			   json_is_string(json_array_get(m, 3)) &&
			   json_object_size(json_array_get(m, 4)) == 0,
		   "parse: array of literals, string and empty object");
		m = json_object_get(json_object_get(obj, "c"), "d");
		ok(json_is_real(m) && json_real_value(m) == -2500.0,
		   "parse: a fraction with an exponent is a real");
		is_str(json_get_str(obj, ""), "empty key", "parse: empty key");
		ok(!json_get_str(obj, "a"), "parse: get_str of an array is NULL");
		is_int(json_get_int(obj, "zz", &i64), -ENOENT, "parse: missing key");
		is_int(json_get_int(obj, "a", &i64), -EINVAL, "parse: not an integer");
		json_compact_text(&b, obj);
		is_str(buf_str(&b),
		       "{\"b\":1,\"a\":[true,false,null,\"x\",{}],\"c\":{\"d\":-2500.0},"
		       "\"\":\"empty key\"}",
		       "parse: compact text, members in order");
		buf_done(&b);
	}
	json_decrefp(&obj);

	obj = parse_ok("[0,-0,9223372036854775807,-9223372036854775808,1.0,1e2]");
	if (obj && json_array_size(obj) == 6) {
		ok(json_is_integer(json_array_get(obj, 0)) &&
			   json_is_integer(json_array_get(obj, 1)) &&
			   json_integer_value(json_array_get(obj, 1)) == 0,
		   "parse: 0 and -0 are the integer 0");
		ok(json_integer_value(json_array_get(obj, 2)) == INT64_MAX, "parse: INT64_MAX");
		ok(json_integer_value(json_array_get(obj, 3)) == INT64_MIN, "parse: INT64_MIN");
		ok(json_is_real(json_array_get(obj, 4)) && json_is_real(json_array_get(obj, 5)),
		   "parse: 1.0 and 1e2 are not integers");
	}
	json_decrefp(&obj);

	/*
	 * Deliberate: jansson holds int64_t only; a text with a bigger integer (the writer's
	 * uint64_t limits) is read again with every number as a double, and says so with 1.
	 */
	big = "[9223372036854775808,-9223372036854775809,12345678901234567890123,7]";
	is_int(json_parse(big, strlen(big), &obj, NULL), 1,
	       "parse: integers beyond int64_t: read as doubles (1)");
	ok(obj && json_is_real(json_array_get(obj, 0)) &&
		   json_real_value(json_array_get(obj, 0)) == 0x1p63 &&
		   json_is_real(json_array_get(obj, 3)) &&
		   json_real_value(json_array_get(obj, 3)) == 7,
	   "parse: ... all of its numbers, exact where a double can be");
	json_decrefp(&obj);

	obj = parse_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\u0000z\"");
	if (obj)
		ok(json_is_string(obj) && json_string_length(obj) == 20 &&
			   memcmp(json_string_value(obj),
				  "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z",
				  20) == 0,
		   "parse: escapes, surrogate pair and \\u0000 (length kept)");
	json_decrefp(&obj);
	obj = parse_ok("\"\\uD834\\uDD1E\"");
	if (obj)
		ok(json_string_length(obj) == 4 &&
			   memcmp(json_string_value(obj), "\xf0\x9d\x84\x9e", 4) == 0,
		   "parse: uppercase surrogate pair escapes");
	json_decrefp(&obj);
	n = parse_ok("\"\xf4\x8f\xbf\xbf\xe2\x82\xac\"");
	json_decref(n);
	json_decref(parse_ok("true"));
	json_decref(parse_ok("null"));
	json_decref(parse_ok("  0  "));
	json_decref(parse_ok("-1.5E+10"));
	json_decref(parse_ok("1e-7"));
	json_decref(parse_ok("[[],[[]],{\"a\":{}}]"));
	is_int(json_validate("{\"a\":[1,2]}", 11, NULL), 0, "parse: validate accepts");

	BAD("");
	BAD("   ");
	BAD("{");
	BAD("}");
	BAD("[1,]");
	BAD("[,1]");
	BAD("{\"a\":1,}");
	BAD("{\"a\" 1}");
	BAD("{\"a\":}");
	BAD("{a:1}");
	BAD("{1:1}");
	BAD("['x']");
	BAD("01");
	BAD("-");
	BAD("-a");
	BAD("1.");
	BAD(".5");
	BAD("1e");
	BAD("1e+");
	BAD("+1");
	BAD("0x10");
	BAD("NaN");
	BAD("Infinity");
	BAD("-Infinity");
	BAD("tru");
	BAD("True");
	BAD("nul");
	BAD("\"abc");
	BAD("\"\\x\"");
	BAD("\"\\u12\"");
	BAD("\"\\u12g4\"");
	BAD("\"\\ud800\"");
	BAD("\"\\udc00\"");
	BAD("\"\\ud800\\u0041\"");
	BAD("\"\\ud800\\ud800\"");
	BAD("\"\\ud800x\"");
	BAD("\"a\tb\"");
	BAD("\"a\nb\"");
	BAD("\"\x7f\x1f\"");
	BAD("\"\xff\"");
	BAD("\"\xc0\xaf\"");
	BAD("\"\xed\xa0\x80\"");
	BAD("\"\xe2\x82\"");
	BAD("\"\xf4\x90\x80\x80\"");
	BAD("{\"a\":1}x");
	BAD("{} {}");
	BAD("[1 2]");
	BAD("{\"a\":1 \"b\":2}");
	BAD("\xef\xbb\xbf{}");
	BAD("[1]\v");
	BAD("\"\\\"");
	BAD("[1]/*c*/");
	BAD("[1]//c");
	/* Deliberate, where the old reader accepted: see docs/design-notes.md. */
	BAD("{\"a\":1,\"a\":2}");
	BAD("{\"a\":{\"b\":1,\"b\":1}}");
	BAD("{\"k\\u0000ey\":1}");
	BAD("[1e400]");
	BAD("[1,9223372036854775808,1e400]");
	parse_bad("NUL byte alone", "\0", 1, -EBADMSG);
	parse_bad("NUL after value", "[1]\0", 4, -EBADMSG);
	parse_bad("NUL inside a string", "\"a\0\"", 4, -EBADMSG);

	is_int(json_parse("[1, x]", 6, &n, &error), -EBADMSG, "parse: error reported");
	ok(error.offset == 5 && strstr(error.text, "invalid token"),
	   "parse: the error says where (after the bad token) and why (%zu, %s)", error.offset,
	   error.text);
	is_int(json_parse("{\"a\":1,\"a\":2}", 13, &n, &error), -EBADMSG, "parse: duplicate key");
	ok(error.code == json_error_duplicate_key, "parse: the error names a duplicate key");

	number_text("[3]", 0, "3");
	number_text("[-0]", 0, "0");
	number_text("[1.250000]", 0, "1.25");
	number_text("[3.0]", 0, "3.0");
	number_text("[-0.0]", 0, "-0.0");
	number_text("[1e2]", 0, "100.0");
	number_text("[0.1]", 0, "0.1");
	number_text("[0.041940]", 0, "0.04194");
	number_text("[1e-7]", 0, "1e-07");
	number_text("[-9223372036854775808]", 0, "-9223372036854775808");
	number_text("[15000000000000000000]", 1, "1.5e+19");
	number_text("[18446744073709551614]", 1, "1.8446744073709552e+19");
}

static void test_parse_depth(void)
{
	struct buf b = BUF_INIT;
	json_t *n = NULL;
	int r;

	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		buf_putc(&b, ']');
	r = json_parse(b.data, b.len, &n, NULL);
	is_int(r, 0, "depth: %d nested arrays are fine", JSON_DEPTH_MAX);
	json_decrefp(&n);

	buf_reset(&b);
	for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
		buf_putc(&b, ']');
	is_int(json_parse(b.data, b.len, &n, NULL), -ELNRNG, "depth: %d is too deep",
	       JSON_DEPTH_MAX + 1);
	is_int(json_validate(b.data, b.len, NULL), -ELNRNG, "depth: validate agrees");

	buf_reset(&b);
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		buf_puts(&b, "{\"k\":");
	buf_puts(&b, "1");
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		buf_putc(&b, '}');
	is_int(json_parse(b.data, b.len, &n, NULL), 0, "depth: %d nested objects are fine",
	       JSON_DEPTH_MAX);
	json_decrefp(&n);

	/* Beyond jansson's own limit (2048) as well. */
	buf_reset(&b);
	for (int i = 0; i < 3000; i++)
		buf_putc(&b, '[');
	for (int i = 0; i < 3000; i++)
		buf_putc(&b, ']');
	is_int(json_parse(b.data, b.len, &n, NULL), -ELNRNG, "depth: 3000 is too deep");

	buf_reset(&b);
	for (int i = 0; i < 200000; i++)
		buf_putc(&b, i % 2 ? '[' : '{');
	r = json_parse(b.data, b.len, &n, NULL);
	ok(r == -ELNRNG || r == -EBADMSG, "depth: 200000 openers fail without crashing (%d)", r);
	buf_done(&b);
}

/*
 * Mutates valid JSON at random: the reader never crashes nor answers anything but the
 * documented codes, and what it accepts our writer turns into compact text that reads back
 * to the same compact text (the writer and jansson agree on strings and numbers).
 */
static void test_parse_random(void)
{
	static const char *const seeds[] = {
		"{\"v\":1,\"seq\":0,\"a\":[1,2.5e-3,\"x\\u00e9\\ud83d\\ude00\",{\"b\":null}],"
		"\"t\":true}",
		"[\"\xc3\xa9\\n\",-0,{},[[[]]],false,1e300,\"\\u0000\\u001f\\u2028\"]",
	};
	static const char noise[] = "{}[]\":,\\u0123456789eE.-+tfn \x80\xc3\xed\xff\x00";
	unsigned seed = 777, bad = 0, accepted = 0;

	for (int iter = 0; iter < 30000; iter++) {
		const char *s = seeds[iter % 2];
		char text[256];
		size_t n = strlen(s);
		json_t *node = NULL, *again = NULL;
		struct buf c1 = BUF_INIT, c2 = BUF_INIT;
		int r;

		memcpy(text, s, n);
		for (int k = rand_r(&seed) % 4; k >= 0; k--) {
			size_t at = (size_t)rand_r(&seed) % n;

			switch (rand_r(&seed) % 3) {
			case 0:
				text[at] = noise[rand_r(&seed) % (int)(sizeof(noise) - 1)];
				break;
			case 1:
				memmove(text + at, text + at + 1, n - at - 1);
				n--;
				break;
			default:
				if (n + 1 < sizeof(text)) {
					memmove(text + at + 1, text + at, n - at);
					text[at] = noise[rand_r(&seed) % (int)(sizeof(noise) - 1)];
					n++;
				}
				break;
			}
			if (n == 0)
				break;
		}
		r = json_parse(text, n, &node, NULL);
		if ((r < 0 && r != -EBADMSG && r != -ELNRNG) || (r >= 0) != !!node)
			bad++;
		if (r >= 0) {
			accepted++;
			json_compact_text(&c1, node);
			if (json_parse(c1.data, c1.len, &again, NULL) < 0)
				bad++;
			else
				json_compact_text(&c2, again);
			if (c1.len != c2.len || memcmp(c1.data, c2.data, c1.len) != 0)
				bad++;
		}
		json_decref(node);
		json_decref(again);
		buf_done(&c1);
		buf_done(&c2);
	}
	is_int(bad, 0,
	       "parse: 30000 mutated texts: no surprise, and accepted ones round-trip "
	       "(%u accepted)",
	       accepted);
}
static char *fd_contents(int fd, size_t *ret_len)
{
	char *data = NULL;

	if (lseek(fd, 0, SEEK_SET) < 0 || read_fd_bounded(fd, 256 << 20, &data, ret_len) < 0)
		return NULL;
	return data;
}

static int new_memfd(void)
{
	return memfd_create("audit-test", MFD_CLOEXEC);
}

/* Splits a trail into lines (without newlines); returns the count. */
static size_t split_lines(const char *data, size_t len, char **lines, size_t max)
{
	size_t n = 0;

	for (const char *p = data; p < data + len && n < max;) {
		const char *nl = memchr(p, '\n', (size_t)(data + len - p));

		if (!nl)
			nl = data + len;
		lines[n++] = strndup(p, (size_t)(nl - p));
		p = nl + 1;
	}
	return n;
}

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
}

static void test_writer_format(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL;
	char id_hash[AUDIT_HASH_HEX_LEN + 1], hash[AUDIT_HASH_HEX_LEN + 1], want[1024];
	char before[32], after[32], *lines[8];
	_cleanup_json_decref_ json_t *third = NULL;
	const char *ts;
	size_t len = 0, n;
	int fd = new_memfd();

	is_int(audit_new(fd, RUN_A, &a), 0, "writer: audit_new");
	audit_sha256_hex(RUN_A, AUDIT_RUN_ID_LEN, id_hash);
	is_str(audit_head(a), id_hash, "writer: head starts as SHA-256 of the run id");
	is_str(audit_run_id(a), RUN_A, "writer: run id");
	is_int(audit_next_seq(a), 0, "writer: seq starts at 0");

	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "s", "text");
	audit_int(a, "i", -42);
	audit_int(a, "imin", INT64_MIN);
	audit_uint(a, "u", UINT64_MAX);
	audit_bool(a, "t", true);
	audit_bool(a, "f", false);
	audit_null(a, "z");
	audit_str(a, "sn", NULL);
	audit_fixed(a, "wall", 1250000, 6);
	is_int(audit_end(a), 0, "writer: first event written");
	is_int(audit_next_seq(a), 1, "writer: seq advanced");

	audit_begin_at(a, "empty", TS_USEC + 1);
	is_int(audit_end(a), 0, "writer: event without own fields");

	/* audit_begin() stamps the event with the current time: sortable text, so compare. */
	audit_format_ts(before, sizeof(before), now_realtime_usec());
	audit_begin(a, "now");
	is_int(audit_end(a), 0, "writer: event stamped by audit_begin");
	audit_format_ts(after, sizeof(after), now_realtime_usec());

	data = fd_contents(fd, &len);
	ok(data && len > 0 && data[len - 1] == '\n', "writer: lines end with a newline");
	n = split_lines(data, len, lines, ELEMENTSOF(lines));
	is_int(n, 3, "writer: three lines");
	if (n != 3)
		return;
	snprintf(
		want, sizeof(want),
		"{\"v\":1,\"seq\":0,\"ts\":\"2026-11-22T05:24:00.123456Z\",\"run\":\"" RUN_A
		"\",\"event\":\"run.start\",\"s\":\"text\",\"i\":-42,\"imin\":-9223372036854775808,"
		"\"u\":18446744073709551615,\"t\":true,\"f\":false,\"z\":null,\"sn\":null,"
		"\"wall\":1.250000,\"prev\":\"%s\"}",
		id_hash);
	is_str(lines[0], want, "writer: exact first line");
	audit_sha256_hex(lines[0], strlen(lines[0]), hash);
	snprintf(want, sizeof(want),
		 "{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T05:24:00.123457Z\",\"run\":\"" RUN_A
		 "\",\"event\":\"empty\",\"prev\":\"%s\"}",
		 hash);
	is_str(lines[1], want, "writer: second line chains to the first");
	json_parse(lines[2], strlen(lines[2]), &third, NULL);
	ts = json_get_str(third, "ts");
	ok(ts && strcmp(ts, before) >= 0 && strcmp(ts, after) <= 0,
	   "writer: audit_begin time %s lies between %s and %s", ts, before, after);
	audit_sha256_hex(lines[2], strlen(lines[2]), hash);
	is_str(audit_head(a), hash, "writer: head is the SHA-256 of the last line");
	free_lines(lines, n);
}

static void test_writer_nesting(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	_cleanup_free_ char *data = NULL;
	const json_t *m;
	const char *want;
	size_t len = 0;
	int fd = new_memfd();

	audit_new(fd, RUN_A, &a);
	audit_begin_at(a, "policy.net", TS_USEC);
	audit_array_begin(a, "rules");
	audit_object_begin(a, NULL);
	audit_str(a, "host", "example.org");
	audit_array_begin(a, "addrs");
	audit_str(a, NULL, "93.184.216.34");
	audit_str(a, NULL, "2606:2800:220:1::");
	audit_array_end(a);
	audit_uint(a, "port", 443);
	audit_object_end(a);
	audit_object_begin(a, NULL);
	audit_object_end(a);
	audit_array_begin(a, NULL);
	audit_array_end(a);
	audit_array_begin(a, NULL);
	audit_int(a, NULL, 1);
	audit_array_begin(a, NULL);
	audit_null(a, NULL);
	audit_bool(a, NULL, true);
	audit_array_end(a);
	audit_array_end(a);
	audit_array_end(a);
	audit_object_begin(a, "empty");
	audit_object_end(a);
	audit_object_begin(a, "o");
	audit_object_begin(a, "seq"); /* reserved names are fine below the top level */
	audit_str(a, "prev", "x");
	audit_object_end(a);
	audit_object_end(a);
	audit_str(a, "after", "y");
	is_int(audit_end(a), 0, "nesting: event with nested objects and arrays");

	data = fd_contents(fd, &len);
	want = ",\"event\":\"policy.net\",\"rules\":[{\"host\":\"example.org\",\"addrs\":["
	       "\"93.184.216.34\",\"2606:2800:220:1::\"],\"port\":443},{},[],[1,[null,true]]],"
	       "\"empty\":{},\"o\":{\"seq\":{\"prev\":\"x\"}},\"after\":\"y\",\"prev\":\"";
	ok(data && strstr(data, want), "nesting: exact text with commas in the right places");
	is_int(json_parse(data, len, &root, NULL), 0, "nesting: line parses");
	if (!root)
		return;
	m = json_object_get(root, "rules");
	ok(m && json_array_size(m) == 4 && json_is_object(json_array_get(m, 0)) &&
		   json_array_size(json_object_get(json_array_get(m, 0), "addrs")) == 2 &&
		   json_array_size(json_array_get(json_array_get(m, 3), 1)) == 2,
	   "nesting: tree shape read back");
	is_str(json_get_str(json_object_get(json_object_get(root, "o"), "seq"), "prev"), "x",
	       "nesting: nested reserved names read back");
}

static void test_writer_misuse(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int fd = new_memfd(), fd2;

	audit_new(fd, RUN_A, &a);

	audit_begin_at(a, "x", TS_USEC);
	audit_str(a, NULL, "no key in an object");
	is_int(audit_end(a), -EINVAL, "misuse: value without key in an object");
	audit_begin_at(a, "x", TS_USEC);
	audit_array_begin(a, "a");
	audit_int(a, "k", 1);
	audit_array_end(a);
	is_int(audit_end(a), -EINVAL, "misuse: key inside an array");
	audit_begin_at(a, "x", TS_USEC);
	audit_object_begin(a, "o");
	is_int(audit_end(a), -EINVAL, "misuse: unclosed object");
	audit_begin_at(a, "x", TS_USEC);
	audit_object_end(a);
	is_int(audit_end(a), -EINVAL, "misuse: closing the event object");
	audit_begin_at(a, "x", TS_USEC);
	audit_object_begin(a, "o");
	audit_array_end(a);
	is_int(audit_end(a), -EINVAL, "misuse: array_end closing an object");
	audit_begin_at(a, "x", TS_USEC);
	audit_str(a, "prev", "forged");
	is_int(audit_end(a), -EINVAL, "misuse: top-level key prev");
	audit_begin_at(a, "x", TS_USEC);
	audit_int(a, "seq", 9);
	is_int(audit_end(a), -EINVAL, "misuse: top-level key seq");
	audit_begin_at(a, "x", TS_USEC);
	audit_fixed(a, "f", 1, 31);
	is_int(audit_end(a), -EINVAL, "misuse: too many decimals");
	audit_begin_at(a, NULL, TS_USEC);
	is_int(audit_end(a), -EINVAL, "misuse: NULL event name");
	audit_begin_at(a, "", TS_USEC);
	is_int(audit_end(a), -EINVAL, "misuse: empty event name");
	audit_begin_at(a, "x", TS_USEC);
	for (int i = 0; i < 40; i++)
		audit_array_begin(a, i ? NULL : "deep");
	for (int i = 0; i < 40; i++)
		audit_array_end(a);
	is_int(audit_end(a), -E2BIG, "misuse: nesting deeper than the writer allows");
	is_int(audit_end(a), -EINVAL, "misuse: audit_end without audit_begin");
	is_int(audit_next_seq(a), 0, "misuse: failed events do not advance seq");

	audit_begin_at(a, "x", TS_USEC);
	audit_str(a, NULL, "bad");
	audit_begin_at(a, "y", TS_USEC); /* starting over drops the half-built event */
	audit_int(a, "k", 1);
	is_int(audit_end(a), 0, "misuse: an error does not outlive its event");
	data = fd_contents(fd, &len);
	ok(data && !strstr(data, "bad") && strstr(data, "\"seq\":0,") &&
		   strstr(data, "\"event\":\"y\",\"k\":1,"),
	   "misuse: only the good event reached the file");

	fd2 = new_memfd();
	is_int(audit_new(fd2, "not-a-uuid", &a), -EINVAL, "misuse: bad run id refused");
	is_int(audit_new(fd2, RUN_A "0", &a), -EINVAL, "misuse: long run id refused");
	is_int(audit_new(fd2, "0b8a4f2e_5c1d-4e7a-9f3b-2d6c8e1a7b40", &a), -EINVAL,
	       "misuse: run id without dash refused");
	ok(fcntl(fd2, F_GETFD) >= 0, "misuse: fd still open after a failed audit_new");
	close(fd2);
	is_int(audit_new(-1, RUN_A, &a), -EINVAL, "misuse: bad fd refused");
}

static void test_writer_one_write(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *big = NULL;
	char buf[200000];
	int sv[2], bad = 0;
	ssize_t n;

	/* A SOCK_SEQPACKET socket keeps message boundaries: each recv() is exactly one write(). */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ok(true, "# skip one write: socketpair: %s", strerror(errno));
		return;
	}
	audit_new(sv[0], RUN_A, &a);
	big = malloc(60000);
	memset(big, 'x', 59999);
	big[59999] = 0;
	for (int i = 0; i < 20; i++) {
		audit_begin(a, "proc.exec");
		audit_int(a, "i", i);
		audit_array_begin(a, "argv");
		for (int k = 0; k < i; k++)
			audit_str(a, NULL, "arg");
		audit_array_end(a);
		audit_str(a, "big", i == 7 ? big : "small");
		if (audit_end(a) < 0)
			bad++;
		n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0 || buf[n - 1] != '\n' || memchr(buf, '\n', (size_t)n - 1))
			bad++;
	}
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	ok(n < 0 && errno == EAGAIN, "one write: nothing left over");
	is_int(bad, 0, "one write: each of 20 events arrived as exactly one whole line");
	close(sv[1]);
}

static void test_writer_write_errors(void)
{
	_cleanup_audit_free_ struct audit *a = NULL, *b = NULL, *c = NULL;
	int p[2], full, fd;

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	audit_new(p[1], RUN_A, &a);
	audit_begin(a, "run.start");
	is_int(audit_end(a), 0, "write error: first event fine");
	close(p[0]);
	audit_begin(a, "policy.fs");
	is_int(audit_end(a), -EPIPE, "write error: reader gone gives -EPIPE");
	audit_begin(a, "policy.env");
	is_int(audit_end(a), -EPIPE, "write error: and every later event fails too");
	is_int(audit_next_seq(a), 1, "write error: seq did not advance");

	full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (full >= 0) {
		audit_new(full, RUN_A, &b);
		audit_begin(b, "run.start");
		is_int(audit_end(b), -ENOSPC, "write error: /dev/full gives -ENOSPC");
	} else {
		ok(true, "# skip /dev/full: %s", strerror(errno));
	}

	fd = new_memfd();
	audit_new(fd, RUN_A, &c);
	close(fd); /* behind the writer's back */
	audit_begin(c, "run.start");
	is_int(audit_end(c), -EBADF, "write error: closed fd gives -EBADF");
	audit_begin(c, "run.start");
	is_int(audit_end(c), -EBADF, "write error: sticky after a closed fd");
}

static bool has_bytes(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

static unsigned count_bytes(const char *hay, size_t n, const char *needle)
{
	unsigned count = 0;

	for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, strlen(needle)));
	     p++)
		count++;
	return count;
}

static void test_redaction(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	_cleanup_free_ char *data = NULL;
	const json_t *m;
	size_t len = 0;
	int fd = new_memfd();

	audit_new(fd, RUN_A, &a);
	is_int(audit_add_secret(a, "TOKEN", "s3cr3t"), 0, "redact: add TOKEN");
	is_int(audit_add_secret(a, "LONG", "s3cr3t-and-more"), 0, "redact: add LONG");
	is_int(audit_add_secret(a, "GHG", "ghg"), 0, "redact: add GHG");
	is_int(audit_add_secret(a, "X", "wxyz"), 0, "redact: add X");
	is_int(audit_add_secret(a, "Y", "yz12"), 0, "redact: add Y");
	is_int(audit_add_secret(a, "Q", "p\"w\\d"), 0, "redact: add a secret with JSON specials");
	is_int(audit_add_secret(a, "U", "p\xc3\xa4ss"), 0, "redact: add a non-ASCII secret");
	is_int(audit_add_secret(a, "E", ""), 0, "redact: empty value ignored");
	is_int(audit_add_secret(a, "", "v"), -EINVAL, "redact: empty name refused");
	is_int(audit_add_secret(a, "N", NULL), -EINVAL, "redact: NULL value refused");

	audit_begin_at(a, "policy.env", TS_USEC);
	audit_str(a, "plain", "x s3cr3t y");
	audit_str(a, "longest", "s3cr3t-and-more!");
	audit_str(a, "adjacent", "s3cr3ts3cr3t");
	audit_str(a, "overlap_same", "ghghg");
	audit_str(a, "overlap_two", "wxyz12");
	audit_str(a, "specials", "=p\"w\\d=");
	audit_str(a, "unicode", "p\xc3\xa4ss\xc3\xa9");
	audit_str(a, "prefix_only", "s3cr3");
	audit_str(a, "many", "ghg s3cr3t wxyz");
	audit_strn(a, "strn", "a\0s3cr3t\0", 9);
	audit_strn(a, "strn_cut", "s3cr3t", 5);
	audit_str(a, "s3cr3t", "keys are not redacted");
	audit_array_begin(a, "arr");
	audit_str(a, NULL, "s3cr3t");
	audit_object_begin(a, NULL);
	audit_str(a, "deep", "--token=s3cr3t");
	audit_object_end(a);
	audit_array_end(a);
	is_int(audit_end(a), 0, "redact: event written");

	data = fd_contents(fd, &len);
	is_int(json_parse(data, len, &root, NULL), 0, "redact: line parses");
	if (!root)
		return;
	is_str(json_get_str(root, "plain"), "x [redacted:TOKEN] y", "redact: str");
	is_str(json_get_str(root, "longest"), "[redacted:LONG]!",
	       "redact: the longest secret wins over its prefix");
	is_str(json_get_str(root, "adjacent"), "[redacted:TOKEN][redacted:TOKEN]",
	       "redact: adjacent occurrences");
	is_str(json_get_str(root, "overlap_same"), "[redacted:GHG]",
	       "redact: overlapping occurrences leave no fragment");
	is_str(json_get_str(root, "overlap_two"), "[redacted:X][redacted:Y]",
	       "redact: two overlapping secrets are both named, no fragment left");
	is_str(json_get_str(root, "specials"),
	       "=[redacted:Q]=", "redact: secret with quote and backslash matched before escaping");
	is_str(json_get_str(root, "unicode"), "[redacted:U]\xc3\xa9", "redact: non-ASCII secret");
	is_str(json_get_str(root, "prefix_only"), "s3cr3", "redact: a prefix stays");
	is_str(json_get_str(root, "many"), "[redacted:GHG] [redacted:TOKEN] [redacted:X]",
	       "redact: several secrets in one string");
	m = json_object_get(root, "strn");
	ok(m && json_string_length(m) == 19 &&
		   memcmp(json_string_value(m), "a\0[redacted:TOKEN]\0", 19) == 0,
	   "redact: strn with NULs around the secret");
	is_str(json_get_str(root, "strn_cut"), "s3cr3", "redact: strn only looks at its n bytes");
	is_str(json_get_str(root, "s3cr3t"), "keys are not redacted", "redact: keys kept");
	m = json_object_get(root, "arr");
	ok(m && json_array_size(m) == 2 &&
		   streq(json_string_value(json_array_get(m, 0)), "[redacted:TOKEN]") &&
		   streq(json_get_str(json_array_get(m, 1), "deep"), "--token=[redacted:TOKEN]"),
	   "redact: strings inside arrays and objects");
	/* The raw bytes: the only s3cr3t left is the key written on purpose. */
	ok(count_bytes(data, len, "s3cr3t") == 1 && !has_bytes(data, len, "ghg") &&
		   !has_bytes(data, len, "wxyz") && !has_bytes(data, len, "yz12") &&
		   !has_bytes(data, len, "p\\\"w") && !has_bytes(data, len, "p\xc3\xa4ss"),
	   "redact: no secret value in the raw line");
}

/* --- redaction of encoded secrets: a property test with its own encoders --- */

static void enc_base64(struct buf *b, const uint8_t *d, size_t n, bool url, bool pad)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;

		for (size_t c = 0; c < 4; c++) {
			if (c < chars)
				buf_putc(b, a[(v >> (18 - 6 * c)) & 63]);
			else if (pad)
				buf_putc(b, '=');
		}
	}
}

static void enc_base32(struct buf *b, const uint8_t *d, size_t n, bool lower_case)
{
	const char *a = lower_case ? "abcdefghijklmnopqrstuvwxyz234567"
				   : "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint64_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | d[i];
		bits += 8;
		while (bits >= 5) {
			buf_putc(b, a[(acc >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits)
		buf_putc(b, a[(acc << (5 - bits)) & 31]);
}

static bool mem_has(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn)
{
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp(h + i, n, nn) == 0)
			return true;
	return false;
}

/* Decodes text as groups of `bits`-bit characters of alphabet (case-folded when ci), from
   every character offset, and looks for the secret in the bytes of every bit alignment. */
static bool decodes_to(const char *text, size_t n, const char *alphabet, unsigned bits, bool ci,
		       const uint8_t *secret, size_t sn)
{
	for (size_t start = 0; start < n; start++) {
		uint8_t out[512];

		for (unsigned shift = 0; shift < 8; shift++) {
			uint64_t acc = 0;
			unsigned have = shift, got = 0;

			for (size_t i = start; i < n && got < sizeof(out); i++) {
				char c = ci ? (char)tolower((unsigned char)text[i]) : text[i];
				const char *p = c ? strchr(alphabet, c) : NULL;

				if (!p)
					break;
				acc = acc << bits | (uint64_t)(p - alphabet);
				have += bits;
				while (have >= 8 && got < sizeof(out)) {
					out[got++] = (uint8_t)(acc >> (have - 8));
					have -= 8;
				}
			}
			if (mem_has(out, got, secret, sn))
				return true;
		}
	}
	return false;
}

/* Whether any reading of text (as it is, without dots, percent-decoded) gives the secret. */
static bool leaks(const char *text, const uint8_t *secret, size_t sn)
{
	char joined[2048], decoded[2048];
	size_t nj = 0, nd = 0, n = strlen(text);

	for (size_t i = 0; i < n && nj < sizeof(joined) - 1; i++)
		if (text[i] != '.')
			joined[nj++] = text[i];
	joined[nj] = 0;
	for (size_t i = 0; i < n && nd < sizeof(decoded) - 1;) {
		unsigned v;

		if (text[i] == '%' && i + 2 < n && sscanf(text + i + 1, "%2x", &v) == 1 &&
		    isxdigit((unsigned char)text[i + 2])) {
			decoded[nd++] = (char)v;
			i += 3;
		} else {
			decoded[nd++] = text[i++];
		}
	}
	decoded[nd] = 0;
	for (int view = 0; view < 3; view++) {
		const char *t = view == 0 ? text : view == 1 ? joined : decoded;
		size_t tn = view == 0 ? n : view == 1 ? nj : nd;

		if (mem_has((const uint8_t *)t, tn, secret, sn) ||
		    decodes_to(t, tn,
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
			       6, false, secret, sn) ||
		    decodes_to(t, tn,
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			       6, false, secret, sn) ||
		    decodes_to(t, tn, "abcdefghijklmnopqrstuvwxyz234567", 5, true, secret, sn) ||
		    decodes_to(t, tn, "0123456789abcdef", 4, true, secret, sn))
			return true;
	}
	return false;
}

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_redaction_encodings(void)
{
	static const char *const secrets[] = { "hunter2!", "s3cr3t", "AKIAFAKE0123456789",
					       "p@ss w/rd+%x", "\x01\xff\x80zz\x7f" };
	unsigned leaked = 0, cases = 0, marked = 0, over = 0;

	for (size_t si = 0; si < ELEMENTSOF(secrets); si++) {
		const uint8_t *sec = (const uint8_t *)secrets[si];
		size_t sn = strlen(secrets[si]);

		for (int t = 0; t < 60; t++) {
			_cleanup_audit_free_ struct audit *a = NULL;
			_cleanup_json_decref_ json_t *root = NULL;
			_cleanup_free_ char *data = NULL;
			struct buf in = BUF_INIT, enc = BUF_INIT;
			uint8_t blob[64];
			size_t pre = rnd() % 5, post = rnd() % 5, bn = 0, len = 0;
			int kind = (int)(rnd() % 8), fd = new_memfd();
			const char *out;

			for (size_t i = 0; i < pre; i++)
				blob[bn++] = (uint8_t)rnd();
			memcpy(blob + bn, sec, sn);
			bn += sn;
			for (size_t i = 0; i < post; i++)
				blob[bn++] = (uint8_t)rnd();
			switch (kind) {
			case 0:
			case 1:
				enc_base64(&enc, blob, bn, false, kind == 1);
				break;
			case 2:
				enc_base64(&enc, blob, bn, true, false);
				break;
			case 3:
				enc_base32(&enc, blob, bn, rnd() % 2);
				break;
			case 4:
				for (size_t i = 0; i < bn; i++)
					buf_printf(&enc, rnd() % 2 ? "%02x" : "%02X", blob[i]);
				break;
			case 5:
				for (size_t i = 0; i < bn; i++)
					buf_printf(&enc, "%%%02X", blob[i]);
				break;
			case 6: {
				/* base32 in DNS labels of 7, lowercased by a resolver. */
				struct buf raw = BUF_INIT;

				enc_base32(&raw, blob, bn, true);
				for (size_t i = 0; i < raw.len; i++) {
					if (i && i % 7 == 0)
						buf_putc(&enc, '.');
					buf_putc(&enc, raw.data[i]);
				}
				buf_done(&raw);
				break;
			}
			default:
				/* The value itself, in another case. */
				for (size_t i = 0; i < bn; i++)
					buf_putc(&enc, (char)toupper(blob[i]));
				break;
			}
			buf_printf(&in, "q=%s.exfil.example", buf_str(&enc));
			audit_new(fd, RUN_A, &a);
			audit_add_secret(a, "KEY", secrets[si]);
			audit_begin_at(a, "dns.query", TS_USEC);
			audit_str(a, "name", buf_str(&in));
			audit_end(a);
			data = fd_contents(fd, &len);
			if (json_parse(data, len, &root, NULL) < 0)
				continue;
			out = json_get_str(root, "name");
			cases++;
			/* kind 7 only applies when the secret has letters and the case changed. */
			if (out && leaks(out, sec, sn) &&
			    !(kind == 7 && memcmp(blob + pre, sec, sn)))
				leaked++, diag("leak (kind %d): %s -> %s", kind, buf_str(&in), out);
			if (out && strstr(out, "[redacted:KEY") &&
			    json_array_size(json_object_get(root, "redacted")) == 1)
				marked++;
			if (out && strlen(out) + 64 < in.len)
				over++;
			buf_done(&in);
			buf_done(&enc);
		}
	}
	ok(leaked == 0,
	   "redact encodings: no reading of the output gives the secret back "
	   "(%u cases, %u leaks)",
	   cases, leaked);
	ok(marked >= cases * 9 / 10,
	   "redact encodings: the events say so: a marker and "
	   "\"redacted\": [\"KEY\"] (%u of %u)",
	   marked, cases);
	ok(over == 0, "redact encodings: no more is taken out than the encoded value (%u)", over);
}

/* Encodings a stealer uses in DNS names and URLs, each checked by the decoder above. */
static void test_redaction_dns(void)
{
	static const char secret[] = "p>?wd~~>key"; /* base64 has '/' and '+' */
	static const struct {
		const char *key, *in, *marker;
	} cases[] = {
		{ "b64_std", "cD4/d2R+fj5rZXk=.exfil.example", "[redacted:K:base64]" },
		{ "b64_url", "x-cD4_d2R-fj5rZXk.exfil.example", "[redacted:K:base64url]" },
		{ "b64_pct", "q=cD4%2Fd2R%2Bfj5rZXk%3D&x=1", "[redacted:K:base64]" },
		{ "b64_labels", "cD4_d2.R-fj5.rZXk.exfil.example", "[redacted:K:base64url]" },
		/* base64 of "xy" + secret: another alignment, and split mid-character group */
		{ "b64_shift", "eHlwPj93ZH5-PmtleQ.t", "[redacted:K:base64url]" },
		{ "b32_labels", "oa7d65.3epz7d.423fpe.exfil.example", "[redacted:K:base32]" },
		{ "hex_labels", "703e3f7.7647E7E3E6.b6579.exfil.example", "[redacted:K:hex]" },
		{ "hex_pct", "%70%3e%3f%77%64%7e%7e%3e%6b%65%79", "[redacted:K" },
		{ "upper", "P>?WD~~>KEY.exfil", "[redacted:K]" },
	};
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int fd = new_memfd();

	audit_new(fd, RUN_A, &a);
	audit_add_secret(a, "K", secret);
	audit_begin_at(a, "dns.query", TS_USEC);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		audit_str(a, cases[i].key, cases[i].in);
	audit_str(a, "near_miss", "cD4/d2RYfj5rZXk=.exfil.example");
	is_int(audit_end(a), 0, "redact dns: written");
	data = fd_contents(fd, &len);
	if (json_parse(data, len, &root, NULL) < 0)
		return;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const char *out = json_get_str(root, cases[i].key);

		ok(out && strstr(out, cases[i].marker) &&
			   !leaks(out, (const uint8_t *)secret, strlen(secret)),
		   "redact dns: %s: %s -> %s", cases[i].key, cases[i].in, out ? out : "(none)");
	}
	/* One byte in the middle differs ("p>?wdX~>key"): not the secret. */
	is_str(json_get_str(root, "near_miss"), "cD4/d2RYfj5rZXk=.exfil.example",
	       "redact dns: an encoding of another value stays");
	ok(json_array_size(json_object_get(root, "redacted")) == 1,
	   "redact dns: the event names the secret once");
}

static void test_redaction_markers(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int fd = new_memfd();
	const json_t *names;

	audit_new(fd, RUN_A, &a);
	audit_add_secret(a, "API_KEY", "hunter2!");
	audit_add_secret(a, "PIN", "4711");
	audit_begin_at(a, "dns.query", TS_USEC);
	/* base64("hunter2!") = aHVudGVyMiE=, hex = 68756e74657232 21 */
	audit_str(a, "b64", "x aHVudGVyMiE= y");
	audit_str(a, "hex", "686 56E74657232 21");
	audit_str(a, "hexjoin", "68756E7465723221");
	audit_str(a, "pin", "4711 and 4712");
	audit_str(a, "short", "NDcxMQ==");
	audit_str(a, "plain", "nothing here");
	is_int(audit_end(a), 0, "redact markers: written");
	data = fd_contents(fd, &len);
	if (json_parse(data, len, &root, NULL) < 0)
		return;
	is_str(json_get_str(root, "b64"), "x [redacted:API_KEY:base64] y",
	       "redact markers: base64 is named, padding and all taken out");
	is_str(json_get_str(root, "hexjoin"), "[redacted:API_KEY:hex]",
	       "redact markers: hex, upper case");
	is_str(json_get_str(root, "pin"), "[redacted:PIN] and 4712",
	       "redact markers: a short secret as it is");
	is_str(json_get_str(root, "short"),
	       "NDcxMQ==", "redact markers: a secret under 6 bytes is not looked for encoded");
	names = json_object_get(root, "redacted");
	ok(json_array_size(names) == 2 &&
		   streq(json_string_value(json_array_get(names, 0)), "API_KEY") &&
		   streq(json_string_value(json_array_get(names, 1)), "PIN"),
	   "redact markers: the event lists the secrets taken out of it, once each");
}

static void test_run_id_and_time(void)
{
	char id[AUDIT_RUN_ID_LEN + 1], id2[AUDIT_RUN_ID_LEN + 1], ts[28], want[64];
	char hex[AUDIT_HASH_HEX_LEN + 1];
	unsigned seed = 99, bad = 0;
	bool shape = true;

	is_int(audit_make_run_id(id), 0, "run id: made");
	audit_make_run_id(id2);
	for (int i = 0; i < AUDIT_RUN_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? id[i] != '-' : !strchr("0123456789abcdef", id[i]))
			shape = false;
	}
	ok(shape && strlen(id) == AUDIT_RUN_ID_LEN, "run id: lowercase UUID shape (%s)", id);
	ok(id[14] == '4' && strchr("89ab", id[19]), "run id: version 4, RFC variant");
	ok(!streq(id, id2), "run id: two ids differ");

	audit_format_ts(ts, sizeof(ts), 0);
	is_str(ts, "1970-01-01T00:00:00.000000Z", "time: epoch");
	audit_format_ts(ts, sizeof(ts), TS_USEC);
	is_str(ts, "2026-11-22T05:24:00.123456Z", "time: the example from the design");
	audit_format_ts(ts, sizeof(ts), UINT64_C(1709251199) * 1000000 + 999999);
	is_str(ts, "2024-02-29T23:59:59.999999Z", "time: leap day");
	audit_format_ts(ts, sizeof(ts), UINT64_C(951782400) * 1000000);
	is_str(ts, "2000-02-29T00:00:00.000000Z", "time: leap day of a century year");
	audit_format_ts(ts, sizeof(ts), UINT64_MAX);
	is_str(ts, "9999-12-31T23:59:59.999999Z", "time: clamped to four-digit years");
	for (int i = 0; i < 5000; i++) {
		time_t t = (time_t)(((uint64_t)rand_r(&seed) << 16 ^ (uint64_t)rand_r(&seed)) %
				    UINT64_C(253402300800));
		uint64_t us = (uint64_t)rand_r(&seed) % 1000000;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + strlen(want), sizeof(want) - strlen(want), ".%06" PRIu64 "Z", us);
		audit_format_ts(ts, sizeof(ts), (uint64_t)t * 1000000 + us);
		if (!streq(ts, want))
			bad++;
	}
	is_int(bad, 0, "time: 5000 random times agree with gmtime_r");

	audit_sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	       "sha256: abc");
	audit_sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "sha256: empty");
}

/* Writes a run of n_middle events between run.start and run.summary; appends to fd. */
static void write_run_to(int fd, const char *run_id, int n_middle, bool summary, bool shared)
{
	_cleanup_audit_free_ struct audit *a = NULL;

	if (audit_new(dup(fd), run_id, &a) < 0)
		return;
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "version", "0.1.0");
	if (shared)
		audit_str(a, "trail", "shared");
	audit_array_begin(a, "argv");
	audit_str(a, NULL, "/usr/bin/true");
	audit_array_end(a);
	audit_end(a);
	for (int i = 0; i < n_middle; i++) {
		audit_begin_at(a, i % 2 ? "net.connect" : "proc.exec", TS_USEC + 10 * (uint64_t)i);
		audit_str(a, "path", "/usr/bin/true");
		audit_int(a, "i", i);
		audit_end(a);
	}
	if (summary) {
		audit_begin_at(a, "run.summary", TS_USEC + 1000);
		audit_object_begin(a, "refused");
		audit_uint(a, "net", 0);
		audit_object_end(a);
		audit_end(a);
	}
}

static void write_run(int fd, const char *run_id, int n_middle, bool summary)
{
	write_run_to(fd, run_id, n_middle, summary, false);
}

struct trail {
	char *lines[64];
	size_t n;
	bool no_final_newline;
};

static void trail_load(struct trail *t, int fd)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	data = fd_contents(fd, &len);
	t->n = data ? split_lines(data, len, t->lines, ELEMENTSOF(t->lines)) : 0;
	t->no_final_newline = false;
}

static void trail_done(struct trail *t)
{
	free_lines(t->lines, t->n);
	t->n = 0;
}

static char *trail_join(const struct trail *t, size_t *ret_len)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < t->n; i++) {
		buf_puts(&b, t->lines[i]);
		if (i + 1 < t->n || !t->no_final_newline)
			buf_putc(&b, '\n');
	}
	*ret_len = b.len;
	return buf_steal(&b);
}

static void trail_remove(struct trail *t, size_t i)
{
	free(t->lines[i]);
	memmove(t->lines + i, t->lines + i + 1, (t->n - i - 1) * sizeof(char *));
	t->n--;
}

static void trail_insert(struct trail *t, size_t i, const char *line)
{
	memmove(t->lines + i + 1, t->lines + i, (t->n - i) * sizeof(char *));
	t->lines[i] = strdup(line);
	t->n++;
}

/* Replaces the first occurrence of from by to in line i. */
static void trail_edit(struct trail *t, size_t i, const char *from, const char *to)
{
	char *l = t->lines[i], *at = strstr(l, from), *n;

	if (!at) {
		ok(false, "test setup: '%s' not in line %zu", from, i + 1);
		return;
	}
	if (asprintf(&n, "%.*s%s%s", (int)(at - l), l, to, at + strlen(from)) < 0)
		return;
	free(l);
	t->lines[i] = n;
}

static void trail_copy(struct trail *dst, const struct trail *src)
{
	for (size_t i = 0; i < src->n; i++)
		dst->lines[i] = strdup(src->lines[i]);
	dst->n = src->n;
	dst->no_final_newline = false;
}

static void check_verify(const char *name, const char *data, size_t len, int want,
			 uint64_t want_line, const char *want_reason)
{
	struct audit_verify_result res;
	int r = audit_verify(data, len, &res);
	bool good = r == want && res.bad_line == want_line &&
		    (!want_reason || strstr(res.reason, want_reason));

	if (!ok(good, "verify: %s", name))
		diag("got %d at line %" PRIu64 ": %s", r, res.bad_line, res.reason);
	else if (want_reason)
		diag("%s", res.reason);
}

static void check_trail(const char *name, const struct trail *t, uint64_t want_line,
			const char *want_reason)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	data = trail_join(t, &len);
	check_verify(name, data, len, want_line ? -EBADMSG : 0, want_line, want_reason);
}

static void test_verify_intact(void)
{
	_cleanup_free_ char *data = NULL;
	struct audit_verify_result res;
	char hash[AUDIT_HASH_HEX_LEN + 1];
	struct trail t = {};
	size_t len = 0;
	int fd = new_memfd();

	write_run(fd, RUN_A, 4, true);
	data = fd_contents(fd, &len);
	is_int(audit_verify(data, len, &res), 0, "verify: one intact run");
	is_int(res.lines, 6, "verify: 6 lines");
	is_int(res.runs, 1, "verify: 1 run");
	is_int(res.bad_line, 0, "verify: no bad line");
	trail_load(&t, fd);
	audit_sha256_hex(t.lines[5], strlen(t.lines[5]), hash);
	is_str(res.head, hash, "verify: head is the hash of the last line");
	trail_done(&t);
	free(data);

	write_run(fd, RUN_B, 2, true);
	data = fd_contents(fd, &len);
	is_int(audit_verify(data, len, &res), 0, "verify: two intact runs");
	is_int(res.lines, 10, "verify: 10 lines");
	is_int(res.runs, 2, "verify: 2 runs");
	is_int(audit_verify(data, len, NULL), 0, "verify: result is optional");
	close(fd);
}

/* A trail sharing its stream with the skill's output (--audit -): what the skill wrote. */
static void test_verify_foreign(void)
{
	struct trail base = {}, t = {};
	struct audit_verify_result res;
	_cleanup_free_ char *data = NULL;
	char forged[512];
	size_t len;
	int fd = new_memfd();

	/* Lines 1-6: run A, whose trail shares stderr with the skill. */
	write_run_to(fd, RUN_A, 4, true, true);
	trail_load(&base, fd);
	close(fd);
	if (!ok(base.n == 6, "foreign: base trail has 6 lines"))
		return;

	/* What a skill may write on stderr: text, JSON, a forged line claiming the run, a
	 * forged start of a run of its own, and the same event chained to a made-up head. */
	snprintf(forged, sizeof(forged),
		 "{\"v\":1,\"seq\":3,\"ts\":\"2026-11-22T05:24:01.000000Z\",\"run\":\"" RUN_A
		 "\",\"event\":\"net.connect\",\"verdict\":\"allow\",\"prev\":\"%064d\"}",
		 0);
	trail_copy(&t, &base);
	trail_insert(&t, 3, forged);
	trail_insert(&t, 1, "Traceback (most recent call last):");
	trail_insert(&t, 1, "{\"event\":\"net.connect\",\"verdict\":\"deny\"}");
	trail_insert(&t, 1, "");
	trail_insert(&t, 8, "partial line then {\"v\":1");
	data = trail_join(&t, &len);
	is_int(audit_verify(data, len, &res), 0, "foreign: the run's chain verifies among them");
	is_int(res.lines, 6, "foreign: the run's 6 lines are good");
	is_int(res.foreign, 5, "foreign: 5 foreign lines");
	is_int(res.foreign_claiming, 1, "foreign: 1 of them names the run");
	ok(res.shared, "foreign: the run says it shares the stream");
	ok(res.n_foreign_ranges == 3 && res.foreign_ranges[0].first == 2 &&
		   res.foreign_ranges[0].last == 4 && res.foreign_ranges[1].first == 7 &&
		   res.foreign_ranges[2].first == 9,
	   "foreign: the lines are 2-4, 7, 9 (%zu ranges)", res.n_foreign_ranges);
	free(data);
	data = NULL;

	/* Among them, a removed line of the run's own is still a break ... */
	trail_remove(&t, 5);
	data = trail_join(&t, &len);
	check_verify("foreign: a removed line of the run's own is found", data, len, -EBADMSG, 6,
		     "line 6: run " RUN_A " breaks after line 5, its last line that fits");
	free(data);
	data = NULL;
	trail_done(&t);

	/* ... and so is an edited one. */
	trail_copy(&t, &base);
	trail_insert(&t, 2, "not the run's");
	trail_edit(&t, 3, "/usr/bin/true", "/usr/bin/evil");
	data = trail_join(&t, &len);
	check_verify("foreign: an edited line of the run's own is found", data, len, -EBADMSG, 5,
		     "breaks after line 4, its last line that fits (a line was removed or edited "
		     "there): prev does not match the SHA-256 of line 4");
	free(data);
	data = NULL;
	trail_done(&t);

	/* A forged line placed where a removed one was does not fit either. */
	trail_copy(&t, &base);
	free(t.lines[2]);
	t.lines[2] = strdup(forged);
	data = trail_join(&t, &len);
	check_verify("foreign: a forged line in place of the run's own", data, len, -EBADMSG, 3,
		     "breaks after line 2");
	free(data);
	data = NULL;
	trail_done(&t);
	trail_done(&base);

	/* In a trail of its own, a foreign line is a break, as before. */
	fd = new_memfd();
	write_run(fd, RUN_A, 4, true);
	trail_load(&base, fd);
	close(fd);
	trail_copy(&t, &base);
	trail_insert(&t, 2, "not the run's");
	data = trail_join(&t, &len);
	check_verify("foreign: in a trail of its own, a foreign line is a break", data, len,
		     -EBADMSG, 3, "line 3: not valid JSON");
	free(data);
	data = NULL;
	trail_done(&t);
	trail_done(&base);

	/* Runs written to one stream at once interleave; each chain holds on its own. */
	fd = new_memfd();
	write_run(fd, RUN_A, 3, true);
	write_run(fd, RUN_B, 3, true);
	trail_load(&base, fd);
	close(fd);
	if (base.n == 10) {
		for (size_t i = 0; i < 5; i++) {
			t.lines[2 * i] = strdup(base.lines[i]);
			t.lines[2 * i + 1] = strdup(base.lines[5 + i]);
		}
		t.n = 10;
		data = trail_join(&t, &len);
		is_int(audit_verify(data, len, &res), 0, "foreign: interleaved runs verify");
		is_int(res.runs, 2, "foreign: two runs");
		is_int(res.foreign, 0, "foreign: no foreign line");
		trail_done(&t);
	}
	trail_done(&base);
}

static void test_verify_tampering(void)
{
	struct trail base = {}, t = {};
	char hash[AUDIT_HASH_HEX_LEN + 1], line[512];
	struct audit_verify_result res;
	_cleanup_free_ char *data = NULL;
	size_t len;
	int fd = new_memfd();

	/* Lines 1-6: run A (start, 4 events, summary); lines 7-10: run B. */
	write_run(fd, RUN_A, 4, true);
	write_run(fd, RUN_B, 2, true);
	trail_load(&base, fd);
	close(fd);
	is_int(base.n, 10, "tamper: base trail has 10 lines");
	if (base.n != 10)
		return;

	trail_copy(&t, &base);
	trail_edit(&t, 2, "/usr/bin/true", "/usr/bin/evil");
	check_trail("edited field in a middle line", &t, 4,
		    "line 4: prev does not match the SHA-256 of line 3 (line 3 was edited");
	data = trail_join(&t, &len);
	audit_verify(data, len, &res);
	is_int(res.lines, 3, "tamper: 3 good lines before the break");
	audit_sha256_hex(t.lines[2], strlen(t.lines[2]), hash);
	is_str(res.head, hash, "tamper: head is the hash of the last good line");
	free(data);
	data = NULL;
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 0, "0.1.0", "9.9.9");
	check_trail("edited first line", &t, 2,
		    "line 2: prev does not match the SHA-256 of line 1");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 0, RUN_A, RUN_B);
	check_trail("edited run id of the first line", &t, 1, "not the SHA-256 of the run id");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 9, "\"net\":0", "\"net\":1");
	check_trail("edited last line (undetectable without the recorded head)", &t, 0, NULL);
	trail_done(&t);

	trail_copy(&t, &base);
	trail_remove(&t, 2);
	check_trail("removed middle line", &t, 3,
		    "line 3: seq 3, expected 2 (lines removed or reordered)");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_remove(&t, 0);
	check_trail("removed first line", &t, 1, "begins with seq 1");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_remove(&t, 6);
	check_trail("removed first line of the second run", &t, 7,
		    "line 7: run " RUN_B " begins with seq 1");
	trail_done(&t);

	trail_copy(&t, &base);
	{
		char *tmp = t.lines[2];

		t.lines[2] = t.lines[3];
		t.lines[3] = tmp;
	}
	check_trail("reordered lines 3 and 4", &t, 3, "seq 3, expected 2");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_insert(&t, 3, t.lines[2]);
	check_trail("duplicated line 3", &t, 4,
		    "seq 2, expected 3 (a line duplicated, or lines reordered)");
	trail_done(&t);

	trail_copy(&t, &base);
	t.lines[9][strlen(t.lines[9]) / 2] = 0;
	t.no_final_newline = true;
	check_trail("truncated in the middle of the last line", &t, 10, "no newline at the end");
	trail_done(&t);

	trail_copy(&t, &base);
	t.no_final_newline = true;
	check_trail("complete last line without its newline", &t, 10, "no newline at the end");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_remove(&t, 9);
	check_trail("removed the final run.summary", &t, 10,
		    "after line 9: run " RUN_B " ends without run.summary: truncated or "
		    "interrupted");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_remove(&t, 5);
	check_trail("removed the first run's run.summary", &t, 6,
		    "run " RUN_A " ends without run.summary: truncated or interrupted");
	trail_done(&t);

	/* A forged line after the end, chained to nothing. */
	trail_copy(&t, &base);
	snprintf(line, sizeof(line),
		 "{\"v\":1,\"seq\":4,\"ts\":\"2026-11-22T05:24:01.000000Z\",\"run\":\"" RUN_B
		 "\",\"event\":\"proc.exec\",\"path\":\"/bin/sh\",\"prev\":\"%064d\"}",
		 0);
	trail_insert(&t, 10, line);
	check_trail("appended forged line (made-up prev)", &t, 11,
		    "run " RUN_B " already ended with run.summary on line 10");
	trail_done(&t);

	/* The same, chained correctly to the summary: the end of the run still gives it away. */
	trail_copy(&t, &base);
	audit_sha256_hex(base.lines[9], strlen(base.lines[9]), hash);
	snprintf(line, sizeof(line),
		 "{\"v\":1,\"seq\":4,\"ts\":\"2026-11-22T05:24:01.000000Z\",\"run\":\"" RUN_B
		 "\",\"event\":\"proc.exec\",\"path\":\"/bin/sh\",\"prev\":\"%s\"}",
		 hash);
	trail_insert(&t, 10, line);
	check_trail("appended line correctly chained after run.summary", &t, 11,
		    "already ended with run.summary");
	trail_done(&t);

	/* Inserted before the summary with a plausible prev: that of the line before. */
	trail_copy(&t, &base);
	audit_sha256_hex(base.lines[7], strlen(base.lines[7]), hash);
	snprintf(line, sizeof(line),
		 "{\"v\":1,\"seq\":3,\"ts\":\"2026-11-22T05:24:01.000000Z\",\"run\":\"" RUN_B
		 "\",\"event\":\"proc.exec\",\"path\":\"/bin/sh\",\"prev\":\"%s\"}",
		 hash);
	trail_remove(&t, 9);
	trail_insert(&t, 9, line);
	check_trail("replaced summary by a line with a plausible but wrong prev", &t, 10,
		    "line 10: prev does not match the SHA-256 of line 9");
	trail_done(&t);

	/* A whole forged run with the right first prev, but no summary. */
	trail_copy(&t, &base);
	audit_sha256_hex("11111111-2222-4333-8444-555555555555", AUDIT_RUN_ID_LEN, hash);
	snprintf(
		line, sizeof(line),
		"{\"v\":1,\"seq\":0,\"ts\":\"2026-11-22T05:24:01.000000Z\",\"run\":"
		"\"11111111-2222-4333-8444-555555555555\",\"event\":\"run.start\",\"prev\":\"%s\"}",
		hash);
	trail_insert(&t, 10, line);
	check_trail("appended run start without summary", &t, 12,
		    "run 11111111-2222-4333-8444-555555555555 ends without run.summary");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 3, "\"seq\":3,", "\"seq\":7,");
	check_trail("changed seq", &t, 4, "line 4: seq 7, expected 3");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 3, RUN_A, RUN_B);
	check_trail("changed run id of a middle line", &t, 4,
		    "line 4: run " RUN_B " begins with seq 3, event \"proc.exec\"; a run must "
		    "begin with run.start at seq 0 (were its first lines removed, or its run id "
		    "edited?)");
	trail_done(&t);

	trail_copy(&t, &base);
	free(t.lines[2]);
	t.lines[2] = strdup("hello, world");
	check_trail("non-JSON line", &t, 3, "line 3: not valid JSON");
	trail_done(&t);

	trail_copy(&t, &base);
	free(t.lines[2]);
	t.lines[2] = strdup("[1,2,3]");
	check_trail("JSON that is not an object", &t, 3, "line 3: not a JSON object");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "{\"v\":1,\"seq\":2,", "{\"seq\":2,\"v\":1,");
	check_trail("keys out of order", &t, 3,
		    "line 3: field 1 is \"seq\", expected \"v\" (v, seq, ts, run and event come "
		    "first, in this order)");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, ",\"event\":\"net.connect\"", "");
	check_trail("event missing", &t, 3, "field 5 is \"path\", expected \"event\"");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, ",\"prev\":", ",\"x\":1,\"prev\":");
	trail_edit(&t, 2, "\"}", "\",\"late\":true}");
	check_trail("prev not last", &t, 3, "\"prev\" is not the last field");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, ",\"prev\":", ",\"prevx\":");
	check_trail("prev missing", &t, 3, "last field is \"prevx\", expected \"prev\"");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, ",\"path\":", ",\"seq\":");
	check_trail("duplicate common field", &t, 3,
		    "duplicate field (column 122: duplicate object key near '\"seq\"')");
	trail_done(&t);

	/* Deliberate: any duplicate key is refused now, not only the common fields'. */
	trail_copy(&t, &base);
	trail_edit(&t, 2, ",\"prev\":", ",\"x\":1,\"x\":2,\"prev\":");
	check_trail("duplicate key of an event", &t, 3, "duplicate object key near '\"x\"'");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "{\"v\":1,", "{\"v\":2,");
	check_trail("format version 2", &t, 3, "format version 2, expected 1");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "\"seq\":2,", "\"seq\":-2,");
	check_trail("negative seq", &t, 3, "seq is not a non-negative integer");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "T05:24:00", "T05:24");
	check_trail("malformed ts", &t, 3, "is not a UTC time");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "\"run\":\"0b8a", "\"run\":\"zb8a");
	check_trail("malformed run id", &t, 3, "is not a UUID");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "\"prev\":\"", "\"prev\":\"X");
	check_trail("malformed prev", &t, 3, "prev is not a lowercase hex SHA-256");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 2, "\"event\":\"net.connect\"", "\"event\":7");
	check_trail("event not a string", &t, 3, "event is not a string");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_insert(&t, 3, "");
	check_trail("extra blank line", &t, 4, "line 4: blank line");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_insert(&t, 10, "");
	check_trail("blank line at the end", &t, 11, "line 11: blank line");
	trail_done(&t);

	trail_copy(&t, &base);
	for (size_t i = 0; i < t.n; i++)
		trail_edit(&t, i, "}", "}\r");
	check_trail("CRLF line endings", &t, 1, "carriage return");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 0, "\"event\":\"run.start\"", "\"event\":\"policy.fs\"");
	check_trail("first line is not run.start", &t, 1,
		    "line 1: run " RUN_A
		    " begins with seq 0, event \"policy.fs\"; a run must begin "
		    "with run.start at seq 0");
	trail_done(&t);

	/* A deeply nested field: valid JSON for the writer's reader? No: beyond the limit. */
	trail_copy(&t, &base);
	{
		struct buf b = BUF_INIT;

		buf_puts(&b, ",\"deep\":");
		for (int i = 0; i < 70; i++)
			buf_putc(&b, '[');
		for (int i = 0; i < 70; i++)
			buf_putc(&b, ']');
		buf_puts(&b, ",\"prev\":");
		trail_edit(&t, 2, ",\"prev\":", buf_str(&b));
		buf_done(&b);
	}
	check_trail("nesting beyond the parser's limit", &t, 3, "nested more than 64 levels");
	trail_done(&t);

	trail_copy(&t, &base);
	trail_edit(&t, 4, "\"path\":\"/usr/bin/true\"", "\"path\":\"/usr/bin/\xff\"");
	check_trail("invalid UTF-8 in a line", &t, 5, "line 5: not valid JSON");
	trail_done(&t);

	check_verify("empty file", "", 0, -EBADMSG, 1, "no audit lines");
	check_verify("only a newline", "\n", 1, -EBADMSG, 1, "line 1: blank line");

	trail_done(&base);
}

/* Random damage to a good trail never crashes the verifier and rarely goes unnoticed. */
static void test_verify_random(void)
{
	_cleanup_free_ char *data = NULL;
	unsigned seed = 4242, crashed = 0, passed = 0;
	size_t len = 0;
	int fd = new_memfd();

	write_run(fd, RUN_A, 6, true);
	write_run(fd, RUN_B, 3, true);
	data = fd_contents(fd, &len);
	close(fd);
	if (!data)
		return;
	for (int iter = 0; iter < 3000; iter++) {
		_cleanup_free_ char *copy = malloc(len);
		struct audit_verify_result res;
		size_t at = (size_t)rand_r(&seed) % len, n = len;
		int r;

		memcpy(copy, data, len);
		switch (iter % 3) {
		case 0:
			copy[at] ^= (char)(1 + rand_r(&seed) % 255);
			break;
		case 1:
			memmove(copy + at, copy + at + 1, len - at - 1);
			n--;
			break;
		default:
			n = at;
			break;
		}
		r = audit_verify(copy, n, &res);
		if (r != 0 && r != -EBADMSG)
			crashed++;
		if (r == 0)
			passed++;
	}
	is_int(crashed, 0, "verify: 3000 damaged trails give 0 or -EBADMSG");
	/* Only damage to the very last line can go unnoticed by the chain. */
	ok(passed < 300, "verify: damage is found (%u of 3000 passed, all in the last line)",
	   passed);
}

static void test_verify_large(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	struct audit_verify_result res;
	struct timespec t0, t1;
	char *map;
	off_t size;
	int fd = new_memfd(), r;
	const int n = 200000;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin(a, "run.start");
	r = audit_end(a);
	for (int i = 1; i < n - 1 && r == 0; i++) {
		audit_begin(a, "file.open");
		audit_str(a, "path", "/usr/lib/x86_64-linux-gnu/libc.so.6");
		audit_int(a, "flags", 524288);
		r = audit_end(a);
	}
	audit_begin(a, "run.summary");
	r = r ?: audit_end(a);
	is_int(r, 0, "large: wrote %d events", n);
	size = lseek(fd, 0, SEEK_END);
	map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		ok(false, "large: mmap");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = audit_verify(map, (size_t)size, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	is_int(r, 0, "large: verified");
	is_int(res.lines, n, "large: all lines good");
	is_str(res.head, audit_head(a), "large: head matches the writer's");
	diag("verified %d lines (%lld bytes) in %.3f s", n, (long long)size,
	     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	munmap(map, (size_t)size);
	close(fd);
}

/* ---- audit summary ------------------------------------------------------------------- */

/* The report for data in one format, as a string; *ret gets audit_summary_write()'s return. */
static char *summary_of(const char *data, size_t len, enum audit_summary_format format, int *ret,
			size_t *ret_len)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);

	if (!f) {
		*ret = -errno;
		return NULL;
	}
	*ret = audit_summary_write(f, "trail.jsonl", data, len, format);
	fclose(f);
	if (ret_len)
		*ret_len = out_len;
	return out;
}

static void strv_event(struct audit *a, const char *key, const char *const *l)
{
	audit_array_begin(a, key);
	for (; l && *l; l++)
		audit_str(a, NULL, *l);
	audit_array_end(a);
}

/* A complete run with every event of the catalogue, written by the real writer. */
static void write_full_run(int fd, const char *run_id, const char *skill, const char *hostile_path)
{
	static const char *const argv[] = { "python3", "main.py", "it's", NULL };
	static const char *const layers[] = { "userns", "mountns", "seccomp", "nftables", NULL };
	_cleanup_audit_free_ struct audit *a = NULL;
	uint64_t t = TS_USEC;

	if (audit_new(dup(fd), run_id, &a) < 0)
		return;
	audit_begin_at(a, "run.start", t);
	audit_str(a, "skillbox", "0.1.0");
	audit_str(a, "manifest", "/skills/weather/skillbox.yaml");
	audit_str(a, "manifest_sha256",
		  "8ef9d538d4cc3a4db76ea987215ccbb59cebb337b9e49d14259f633d2c7aaddf");
	audit_str(a, "skill", skill);
	strv_event(a, "argv", argv);
	audit_uint(a, "caller_uid", 1000);
	audit_uint(a, "caller_gid", 1001);
	audit_uint(a, "host_uid", 1000);
	audit_uint(a, "sandbox_uid", 1000);
	audit_str(a, "kernel", "6.18.0");
	audit_str(a, "arch", "x86_64");
	strv_event(a, "layers", layers);
	audit_str(a, "network_stack", "pasta");
	audit_array_begin(a, "trace");
	audit_str(a, NULL, "connect");
	audit_array_end(a);
	audit_end(a);

	audit_begin_at(a, "policy.fs", t + 1);
	audit_array_begin(a, "mounts");
	audit_object_begin(a, NULL);
	audit_str(a, "path", "/usr");
	audit_str(a, "kind", "bind");
	audit_str(a, "host", "/usr");
	audit_str(a, "access", "ro");
	audit_object_end(a);
	audit_object_begin(a, NULL);
	audit_str(a, "path", "/skill/cache");
	audit_str(a, "kind", "bind");
	audit_str(a, "host", "/home/u/weather/cache");
	audit_str(a, "access", "rw");
	audit_object_end(a);
	audit_object_begin(a, NULL);
	audit_str(a, "path", "/usr/lib/ssh");
	audit_str(a, "kind", "hide");
	audit_str(a, "access", "ro");
	audit_object_end(a);
	audit_array_end(a);
	audit_end(a);

	audit_begin_at(a, "policy.net", t + 2);
	audit_array_begin(a, "rules");
	audit_object_begin(a, NULL);
	audit_str(a, "host", "api.example.org");
	audit_array_begin(a, "addresses");
	audit_str(a, NULL, "192.0.2.10");
	audit_array_end(a);
	audit_array_begin(a, "ports");
	audit_uint(a, NULL, 443);
	audit_array_end(a);
	audit_str(a, "proto", "tcp");
	audit_uint(a, "line", 12);
	audit_object_end(a);
	audit_array_end(a);
	audit_str(a, "dns", "pinned");
	audit_end(a);

	audit_begin_at(a, "policy.seccomp", t + 3);
	audit_str(a, "profile", "default");
	audit_str(a, "default_action", "errno");
	audit_str(a, "bpf_sha256",
		  "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e");
	audit_end(a);

	audit_begin_at(a, "policy.limits", t + 4);
	audit_str(a, "timeout", "30s");
	audit_null(a, "cpu");
	audit_uint(a, "memory", 256 << 20);
	audit_str(a, "memory_rlimit", "RLIMIT_DATA");
	audit_end(a);

	audit_begin_at(a, "policy.env", t + 5);
	audit_array_begin(a, "secrets");
	audit_str(a, NULL, "API_KEY");
	audit_array_end(a);
	audit_end(a);

	audit_begin_at(a, "proc.exec", t + 10);
	audit_int(a, "pid", 2);
	audit_str(a, "path", "/usr/bin/python3");
	audit_end(a);

	audit_begin_at(a, "net.connect", t + 20);
	audit_str(a, "verdict", "allow");
	audit_str(a, "proto", "tcp");
	audit_str(a, "address", "192.0.2.10");
	audit_uint(a, "port", 443);
	audit_str(a, "host", "api.example.org");
	audit_end(a);
	for (int i = 0; i < 2; i++) {
		audit_begin_at(a, "net.connect", t + 30 + (uint64_t)i * 1000000);
		audit_str(a, "verdict", "deny");
		audit_str(a, "proto", "tcp");
		audit_str(a, "address", "198.51.100.7");
		audit_uint(a, "port", 22);
		audit_null(a, "host");
		audit_end(a);
	}
	audit_begin_at(a, "net.connect", t + 40);
	audit_str(a, "verdict", "deny");
	audit_str(a, "proto", "udp");
	audit_str(a, "address", "2001:db8::53");
	audit_uint(a, "port", 53);
	audit_null(a, "host");
	audit_str(a, "source", "trace");
	audit_end(a);

	audit_begin_at(a, "dns.query", t + 50);
	audit_str(a, "name", "exfil.example.net");
	audit_str(a, "qtype", "TXT");
	audit_str(a, "verdict", "deny");
	audit_end(a);

	audit_begin_at(a, "syscall.deny", t + 60);
	audit_int(a, "pid", 2);
	audit_str(a, "syscall", "socket");
	audit_str(a, "abi", "x86_64");
	audit_int(a, "nr", 41);
	audit_str(a, "errno", "EPERM");
	audit_str(a, "family", "AF_PACKET");
	audit_end(a);
	audit_begin_at(a, "syscall.deny", t + 61);
	audit_int(a, "pid", 2);
	audit_str(a, "syscall", "ptrace");
	audit_str(a, "abi", "x86");
	audit_str(a, "errno", "EPERM");
	audit_str(a, "request", "PTRACE_ATTACH");
	audit_end(a);

	audit_begin_at(a, "file.open", t + 70);
	audit_int(a, "pid", 2);
	audit_str(a, "path", hostile_path ? hostile_path : "/home/u/.ssh/id_rsa");
	audit_str(a, "access", "read");
	audit_bool(a, "declared", false);
	audit_end(a);
	audit_begin_at(a, "file.open", t + 71);
	audit_str(a, "path", "/usr/lib/libc.so.6");
	audit_str(a, "access", "read");
	audit_bool(a, "declared", true);
	audit_end(a);
	audit_begin_at(a, "file.change", t + 72);
	audit_str(a, "path", "/skill/main.py");
	audit_str(a, "op", "write");
	audit_bool(a, "declared", false);
	audit_end(a);

	audit_begin_at(a, "limit.hit", t + 80);
	audit_str(a, "limit", "output");
	audit_str(a, "value", "1M");
	audit_str(a, "action", "truncated");
	audit_end(a);
	audit_begin_at(a, "audit.lost", t + 90);
	audit_str(a, "source", "nflog");
	audit_uint(a, "count", 17);
	audit_end(a);
	audit_begin_at(a, "some.future.event", t + 95);
	audit_object_begin(a, "detail");
	audit_int(a, "x", 1);
	audit_object_end(a);
	audit_end(a);

	audit_begin_at(a, "run.exit", t + 2500000);
	audit_int(a, "status", 3);
	audit_str(a, "reason", "exited");
	audit_int(a, "exit", 3);
	audit_null(a, "signal");
	audit_fixed(a, "wall_s", 2500000, 6);
	audit_fixed(a, "user_cpu_s", 120000, 6);
	audit_fixed(a, "sys_cpu_s", 30000, 6);
	audit_uint(a, "max_rss_kb", 20480);
	audit_end(a);

	audit_begin_at(a, "run.summary", t + 2500001);
	audit_int(a, "status", 3);
	audit_object_begin(a, "refusals");
	audit_uint(a, "total", 6);
	audit_object_end(a);
	audit_array_begin(a, "limits_hit");
	audit_str(a, NULL, "output");
	audit_array_end(a);
	audit_end(a);
}

static bool has(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

/* The n-th element of the runs array of a JSON report. */
static const json_t *report_run(const json_t *root, size_t n)
{
	const json_t *runs = json_object_get(root, "runs");

	return json_array_get(runs, n);
}

static int64_t int_of(const json_t *obj, const char *key)
{
	int64_t v = -1;

	json_get_int(obj, key, &v);
	return v;
}

static void test_summary_formats(void)
{
	_cleanup_free_ char *data = NULL, *text = NULL, *md = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *run, *conn, *sys, *files, *ex;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	write_full_run(fd, RUN_A, "weather-lookup", NULL);
	data = fd_contents(fd, &len);
	close(fd);
	is_int(audit_verify(data, len, NULL), 0, "summary: the test trail verifies");

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary text: intact trail gives 0");
	ok(has(text, "chain: intact, 22 lines, 1 run, head sha256:"), "summary text: chain line");
	ok(has(text, "refusals: 7\n"), "summary text: total refusals at the top");
	ok(has(text, "  skill         weather-lookup\n"), "summary text: skill");
	ok(has(text, "/skills/weather/skillbox.yaml\n                sha256 8ef9d538"),
	   "summary text: manifest and digest");
	ok(has(text, "python3 main.py 'it'\\''s'"), "summary text: command quoted for a shell");
	ok(has(text, "uid 1000, gid 1001; sandbox user 1000 mapped to host uid 1000"),
	   "summary text: who ran it");
	ok(has(text, "2026-11-22T05:24:00.123456Z, ran 2.500 s"),
	   "summary text: when and how long");
	ok(has(text, "userns mountns seccomp nftables"), "summary text: layers");
	ok(has(text, "network       pasta\n"), "summary text: an older trail's network_stack");
	ok(has(text, "/skill/cache: bind of /home/u/weather/cache"),
	   "summary text: writable mount");
	ok(has(text, "tcp api.example.org = 192.0.2.10 port 443 (manifest line 12)"),
	   "summary text: egress rule");
	ok(has(text, "profile default, default errno") && has(text, "BPF sha256 5e5e5e"),
	   "summary text: seccomp profile and digest");
	ok(has(text, "timeout 30s, memory 256M"), "summary text: limits set");
	ok(has(text, "status 3: exited, exit code 3"), "summary text: exit");
	ok(has(text, "max RSS 20480 KiB"), "summary text: resources");
	ok(has(text, "limits hit    output 1M -> truncated"), "summary text: limit hit");
	ok(has(text, "17 EVENTS LOST"), "summary text: lost events are loud");
	ok(has(text, "REFUSALS      7 (connections 3, syscalls 2, files 2); 1 of the connections "
		     "were DNS queries; run.summary counts 6"),
	   "summary text: refusal counts, and the writer's own when it differs");
	ok(has(text, "       2x  tcp 198.51.100.7:22  (first 05:24:00.123486, last "
		     "05:24:01.123486)"),
	   "summary text: repeated refusal grouped, with first and last time");
	ok(has(text, "udp [2001:db8::53]:53"), "summary text: IPv6 destination bracketed");
	ok(has(text, "exfil.example.net TXT (deny)"), "summary text: DNS query refused");
	ok(has(text, "socket family=AF_PACKET -> EPERM"), "summary text: syscall with argument");
	ok(has(text, "ptrace request=PTRACE_ATTACH [abi x86] -> EPERM"),
	   "summary text: foreign ABI shown");
	ok(has(text, "read /home/u/.ssh/id_rsa"), "summary text: file outside the manifest");
	ok(has(text, "write /skill/main.py (change attempt)") && !has(text, "(changed)"),
	   "summary text: an undeclared file change is an attempt");
	ok(!has(text, "libc.so.6") && has(text, "1 within the manifest"),
	   "summary text: declared file accesses counted, not listed");
	ok(has(text, "tcp 192.0.2.10:443 (api.example.org)"), "summary text: allowed connection");
	ok(has(text, "1x  /usr/bin/python3"), "summary text: program executed");
	ok(has(text, "some.future.event"), "summary text: unknown event counted");

	md = summary_of(data, len, AUDIT_SUMMARY_MARKDOWN, &r, NULL);
	is_int(r, 0, "summary markdown: 0");
	ok(has(md, "\n✅ **Chain integrity: intact**"), "summary markdown: integrity line");
	ok(has(md, "\n❌ **Refusals: 7**\n"), "summary markdown: refusals line");
	ok(has(md, "## Run 1 of 1: `weather-lookup`, exit 3\n"), "summary markdown: run heading");
	ok(has(md, "| 2 | `tcp 198.51.100.7:22` | 05:24:00.123486 | 05:24:01.123486 |\n"),
	   "summary markdown: refusal table row");
	ok(has(md, "#### Connections refused (3)\n\n| Count | Destination | First | Last |\n"
		   "|---:|---|---|---|\n"),
	   "summary markdown: table header");

	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(r, 0, "summary json: 0");
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary json: parses");
	run = report_run(root, 0);
	conn = json_object_get(run, "connections_refused");
	sys = json_object_get(run, "syscalls_refused");
	files = json_object_get(run, "files_outside_manifest");
	ex = json_object_get(run, "exit");
	ok(json_is_true(json_object_get(json_object_get(root, "chain"), "intact")),
	   "summary json: chain intact");
	is_int(int_of(root, "refusals"), 7, "summary json: total refusals");
	is_str(json_get_str(run, "skill"), "weather-lookup", "summary json: skill");
	is_int(int_of(run, "caller_uid"), 1000, "summary json: caller uid");
	ok(conn && json_array_size(conn) == 2 && int_of(json_array_get(conn, 0), "count") == 2 &&
		   int_of(json_array_get(conn, 0), "port") == 22 &&
		   json_is_null(json_object_get(json_array_get(conn, 0), "host")),
	   "summary json: connections grouped, port a number, host null");
	is_str(json_get_str(conn ? json_array_get(conn, 0) : NULL, "last"),
	       "2026-11-22T05:24:01.123486Z", "summary json: last time");
	ok(sys && json_array_size(sys) == 2, "summary json: syscalls");
	is_str(json_get_str(sys ? json_array_get(sys, 0) : NULL, "args"), "family=AF_PACKET",
	       "summary json: decoded argument");
	ok(files && json_array_size(files) == 2, "summary json: files outside the manifest");
	is_int(int_of(ex, "exit"), 3, "summary json: exit code");
	is_int(int_of(run, "events_lost_total"), 17, "summary json: events lost");
	ok(json_array_size(json_object_get(run, "events_lost")) == 1,
	   "summary json: events lost by source");
	is_int(int_of(json_object_get(run, "refusals"), "run_summary_total"), 6,
	       "summary json: the writer's own count kept");
}

/* Text for a terminal has no control character but newlines; markdown rows stay rows. */
static void test_summary_hostile(void)
{
	static const char path[] = "/tmp/\x1b]0;owned\x07x\xe2\x80\xae"
				   "evil|`a``b`<img src=x>\nrow|";
	_cleanup_free_ char *data = NULL, *text = NULL, *md = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *files;
	size_t len = 0, text_len = 0, md_len = 0, js_len = 0;
	bool clean = true;
	int fd = new_memfd(), r;

	write_full_run(fd, RUN_A, "hostile", path);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, &text_len);
	for (size_t i = 0; text && i < text_len; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\n') || text[i] == 0x7f)
			clean = false;
	ok(text && clean, "summary hostile: no control bytes in text");
	ok(!has(text, "\xe2\x80\xae"), "summary hostile: no bidi override in text");
	ok(has(text, "/tmp/\\x1b]0;owned\\x07x\\u202eevil|`a``b`<img src=x>\\nrow|"),
	   "summary hostile: escapes are visible in text");

	md = summary_of(data, len, AUDIT_SUMMARY_MARKDOWN, &r, &md_len);
	ok(has(md,
	       "| 1 | ```read /tmp/\\x1b]0;owned\\x07x\\u202eevil\\|`a``b`<img src=x>\\nrow\\|``` |"),
	   "summary hostile: markdown code span with a longer fence and escaped pipes");
	ok(!has(md, "\nrow"), "summary hostile: no newline injected into markdown");

	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary hostile: json parses");
	files = json_object_get(report_run(root, 0), "files_outside_manifest");
	ok(files && json_array_size(files) &&
		   streq(json_get_str(json_array_get(files, 0), "path"), path),
	   "summary hostile: json keeps the path exactly");
}

static void test_summary_broken(void)
{
	struct trail base = {}, t = {};
	_cleanup_free_ char *text = NULL, *md = NULL, *js = NULL, *data = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *chain;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	write_full_run(fd, RUN_A, "first-skill", NULL);
	write_full_run(fd, RUN_B, "second-skill", NULL);
	trail_load(&base, fd);
	close(fd);
	is_int(base.n, 44, "summary broken: two runs of 22 lines");

	/* An edited field in run A: the top and run A say so, run B still holds on its own. */
	trail_copy(&t, &base);
	trail_edit(&t, 8, "\"port\":22", "\"port\":23");
	data = trail_join(&t, &len);
	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, -EBADMSG, "summary broken: edited line gives -EBADMSG");
	ok(text && strstr(text, "CHAIN BROKEN") &&
		   strstr(text, "CHAIN BROKEN") < strstr(text, "== run"),
	   "summary broken: said at the top, before any run");
	ok(has(text, "trail.jsonl at line 10: prev does not match the SHA-256 of line 9"),
	   "summary broken: the file-level break names the line");
	ok(has(text,
	       "== run 1 of 2: first-skill  [CHAIN BROKEN] ==\n  integrity     BROKEN at line 10"),
	   "summary broken: run A is marked");
	ok(has(text, "== run 2 of 2: second-skill ==\n  integrity     intact on its own"),
	   "summary broken: run B holds on its own");
	ok(has(text, "tcp 198.51.100.7:23") && has(text, "second-skill"),
	   "summary broken: what is there is still summarised");
	md = summary_of(data, len, AUDIT_SUMMARY_MARKDOWN, &r, NULL);
	ok(has(md, "\n❌ **CHAIN INTEGRITY: BROKEN** at line 10: `prev does not match"),
	   "summary broken: markdown integrity line");
	ok(has(md, "| 1 | `first-skill` | 3 | 7 | ❌ broken |"),
	   "summary broken: markdown overview");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary broken: json parses");
	chain = json_object_get(root, "chain");
	ok(chain && json_is_false(json_object_get(chain, "intact")) &&
		   int_of(chain, "bad_line") == 10,
	   "summary broken: json chain");
	ok(json_is_false(
		   json_object_get(json_object_get(report_run(root, 0), "integrity"), "intact")) &&
		   json_is_true(json_object_get(json_object_get(report_run(root, 1), "integrity"),
						"intact")),
	   "summary broken: json per run");
	trail_done(&t);
	free(TAKE_PTR(data));
	free(TAKE_PTR(text));

	/* Run A's run.summary dropped: run A is incomplete, and says after which line. */
	trail_copy(&t, &base);
	trail_remove(&t, 21);
	data = trail_join(&t, &len);
	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, -EBADMSG, "summary broken: dropped run.summary");
	ok(has(text, "integrity     BROKEN after line 21: run " RUN_A " ends without run.summary"),
	   "summary broken: run without run.summary named");
	trail_done(&t);
	free(TAKE_PTR(data));
	free(TAKE_PTR(text));

	/* Truncated mid-line: the partial line is unreadable, the rest is summarised. */
	trail_copy(&t, &base);
	data = trail_join(&t, &len);
	len -= 30;
	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, -EBADMSG, "summary broken: truncated");
	ok(has(text, "BROKEN at line 44: no newline at the end") &&
		   has(text, "1 unreadable line") && has(text, "NO run.exit EVENT") == false,
	   "summary broken: truncated last line reported");
	trail_done(&t);
	free(TAKE_PTR(data));
	free(TAKE_PTR(text));

	text = summary_of("", 0, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, -EBADMSG, "summary broken: empty file");
	ok(has(text, "CHAIN BROKEN") && has(text, "No runs in this file."),
	   "summary broken: empty file reported");
	trail_done(&base);
}

/* Fields of the wrong type, or missing, never stop the report (older and newer writers). */
static void test_summary_tolerant(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "caller_uid", "root");
	audit_int(a, "skill", 42);
	audit_str(a, "layers", "all");
	audit_end(a);
	audit_begin_at(a, "policy.fs", TS_USEC + 1);
	audit_str(a, "mounts", "many");
	audit_end(a);
	audit_begin_at(a, "policy.net", TS_USEC + 2);
	audit_array_begin(a, "rules");
	audit_str(a, NULL, "tcp:any");
	audit_object_begin(a, NULL);
	audit_uint(a, "port", 80);
	audit_object_end(a);
	audit_array_end(a);
	audit_end(a);
	audit_begin_at(a, "policy.seccomp", TS_USEC + 3);
	audit_end(a);
	audit_begin_at(a, "net.connect", TS_USEC + 4);
	audit_int(a, "verdict", 0);
	audit_str(a, "port", "http");
	audit_end(a);
	audit_begin_at(a, "syscall.deny", TS_USEC + 5);
	audit_int(a, "nr", 321);
	audit_array_begin(a, "args");
	audit_int(a, NULL, 1);
	audit_array_end(a);
	audit_end(a);
	audit_begin_at(a, "file.open", TS_USEC + 6);
	audit_str(a, "declared", "no");
	audit_end(a);
	audit_begin_at(a, "audit.lost", TS_USEC + 7);
	audit_str(a, "count", "lots");
	audit_end(a);
	audit_begin_at(a, "run.exit", TS_USEC + 8);
	audit_str(a, "status", "x");
	audit_str(a, "wall_s", "long");
	audit_end(a);
	audit_begin_at(a, "run.start", TS_USEC + 9);
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 10);
	audit_int(a, "refusals", 3);
	audit_int(a, "limits_hit", 3);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary tolerant: odd fields give 0");
	ok(has(text, "skill         42"), "summary tolerant: a number where a string was expected");
	ok(has(text, "syscalls 1") && has(text, "321 args=[1]"),
	   "summary tolerant: syscall by number, unknown argument shape shown");
	ok(has(text, "1 repeated one-off event"), "summary tolerant: repeated run.start noticed");
	ok(has(text, "? port 80") || has(text, "{\"port\":80}"),
	   "summary tolerant: odd rule shown");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary tolerant: json parses");
}

/* A connect() seen by tracing carries no verdict: listed as an attempt, not a refusal. */
static void test_summary_traced_connect(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "skill", "traced");
	audit_end(a);
	audit_begin_at(a, "net.connect", TS_USEC + 1);
	audit_str(a, "source", "trace");
	audit_str(a, "family", "AF_INET");
	audit_str(a, "address", "127.0.0.1");
	audit_uint(a, "port", 9999);
	audit_str(a, "proto", "tcp");
	audit_end(a);
	audit_begin_at(a, "net.connect", TS_USEC + 2);
	audit_str(a, "verdict", "deny");
	audit_str(a, "address", "203.0.113.9");
	audit_uint(a, "port", 443);
	audit_str(a, "proto", "tcp");
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 3);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary traced connect: 0");
	ok(has(text, "REFUSALS      1"),
	   "summary traced connect: only the denied one is a refusal");
	ok(has(text, "connection attempts seen by tracing") && has(text, "127.0.0.1:9999"),
	   "summary traced connect: the traced attempt is listed");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary traced connect: json parses");
	ok(has(js, "\"connection_attempts_traced\""), "summary traced connect: json group");
}

/* The network row names the stack that carried the traffic (net.stack), not the requested one. */
static void test_summary_stack(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL, *js = NULL, *text2 = NULL, *js2 = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *run;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "skill", "v6");
	audit_str(a, "network_stack_requested", "pasta");
	audit_end(a);
	audit_begin_at(a, "net.stack.fallback", TS_USEC + 1);
	audit_str(a, "from", "pasta");
	audit_str(a, "to", "slirp4netns");
	audit_str(a, "reason", "pasta: exited before the interface was configured");
	audit_end(a);
	audit_begin_at(a, "net.stack", TS_USEC + 2);
	audit_str(a, "stack", "slirp4netns");
	audit_str(a, "fallback_from", "pasta");
	audit_str(a, "reason", "pasta: exited before the interface was configured");
	audit_array_begin(a, "ipv6_unreachable");
	audit_object_begin(a, NULL);
	audit_uint(a, "rule", 1);
	audit_str(a, "host", "2001:db8::/32");
	audit_uint(a, "line", 9);
	audit_object_end(a);
	audit_array_end(a);
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 3);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary stack: 0");
	ok(has(text, "network       slirp4netns (pasta did not start: pasta: exited before the "
		     "interface was configured); no IPv6, unreachable: 2001:db8::/32\n"),
	   "summary stack: the stack used, the fallback's reason, what IPv6 cannot reach");
	ok(has(text, "net.stack.fallback"), "summary stack: the fallback event is listed");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary stack: json parses");
	run = report_run(root, 0);
	is_str(json_string_value(json_object_get(run, "network_stack")), "slirp4netns",
	       "summary stack: json network_stack is the one used");
	is_str(json_string_value(json_object_get(json_object_get(run, "network_fallback"), "from")),
	       "pasta", "summary stack: json network_fallback names the stack that failed");
	is_str(json_string_value(
		       json_object_get(json_object_get(run, "network_fallback"), "reason")),
	       "pasta: exited before the interface was configured",
	       "summary stack: json network_fallback says why");
	is_str(json_string_value(json_object_get(
		       json_array_get(json_object_get(run, "network_ipv6_unreachable"), 0),
		       "host")),
	       "2001:db8::/32", "summary stack: json network_ipv6_unreachable lists the rule");

	/* Requested, never ready (the run failed before): not claimed as used. */
	free(data);
	fd = new_memfd();
	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "network_stack_requested", "pasta");
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 1);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);
	text2 = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	ok(has(text2, "network       pasta requested, never ready\n"),
	   "summary stack: a requested stack that never became ready is not claimed");
	js2 = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	ok(has(js2, "\"network_stack\": null") && has(js2, "\"network_fallback\": null") &&
		   has(js2, "\"network_ipv6_unreachable\": null"),
	   "summary stack: json: no stack used, no fallback, nothing unreachable");

	/* The relay carried everything: no stack was to become ready. */
	free(text2);
	free(js2);
	js2 = NULL;
	free(data);
	fd = new_memfd();
	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "network_stack_requested", "relay");
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 1);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);
	text2 = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	ok(has(text2, "network       relay\n"),
	   "summary stack: the relay alone (no stack requested) is what carried the traffic");
}

/* A refused DNS query is a refused packet to the resolver plus its name: one refusal. */
static void test_summary_dns_once(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL;
	size_t len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "skill", "dns");
	audit_end(a);
	audit_begin_at(a, "net.connect", TS_USEC + 1);
	audit_str(a, "verdict", "deny");
	audit_str(a, "proto", "udp");
	audit_str(a, "address", "10.0.2.3");
	audit_uint(a, "port", 53);
	audit_end(a);
	audit_begin_at(a, "dns.query", TS_USEC + 2);
	audit_str(a, "name", "secret.exfil.test");
	audit_str(a, "verdict", "deny");
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 3);
	audit_object_begin(a, "refusals");
	audit_uint(a, "total", 1);
	audit_object_end(a);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary dns once: 0");
	ok(has(text, "REFUSALS      1 (connections 1); 1 of the connections were DNS queries") &&
		   !has(text, "run.summary counts"),
	   "summary dns once: one refusal, agreeing with run.summary");
	ok(has(text, "secret.exfil.test"), "summary dns once: the query's name is listed");
}

/* Reads of credential locations are listed apart, even when the view made them harmless. */
static void test_summary_sensitive(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL, *md = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "skill", "hunter");
	audit_end(a);
	audit_begin_at(a, "file.open", TS_USEC + 1);
	audit_str(a, "path", "/home/skill/.ssh/id_rsa");
	audit_str(a, "access", "read");
	audit_bool(a, "declared", true);
	audit_str(a, "by", "default");
	audit_bool(a, "exists", false);
	audit_bool(a, "sensitive", true);
	audit_end(a);
	audit_begin_at(a, "file.open", TS_USEC + 2);
	audit_str(a, "path", "/usr/lib/os-release");
	audit_str(a, "access", "read");
	audit_bool(a, "declared", true);
	audit_bool(a, "exists", true);
	audit_end(a);
	audit_begin_at(a, "run.summary", TS_USEC + 3);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	is_int(r, 0, "summary sensitive: 0");
	ok(has(text, "credential and secret locations probed: 1") &&
		   has(text, "/home/skill/.ssh/id_rsa"),
	   "summary sensitive: the probe is listed");
	ok(!has(text, "os-release"), "summary sensitive: ordinary reads are not");
	md = summary_of(data, len, AUDIT_SUMMARY_MARKDOWN, &r, NULL);
	ok(has(md, "Credential hunting"), "summary sensitive: markdown section");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	is_int(json_parse(js, js_len, &root, NULL), 0, "summary sensitive: json parses");
	ok(has(js, "\"credential_locations_probed\""), "summary sensitive: json group");
}

/* Markdown tables stop before a CI page would overflow; text and JSON keep every row. */
static void test_summary_many(void)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	_cleanup_free_ char *data = NULL, *text = NULL, *md = NULL, *js = NULL;
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *conn;
	size_t len = 0, js_len = 0;
	int fd = new_memfd(), r;

	audit_new(dup(fd), RUN_A, &a);
	audit_begin_at(a, "run.start", TS_USEC);
	audit_str(a, "skill", "scanner");
	audit_end(a);
	for (int i = 0; i < 150; i++) {
		audit_begin_at(a, "net.connect", TS_USEC + (uint64_t)i);
		audit_str(a, "verdict", "deny");
		audit_str(a, "proto", "tcp");
		audit_str(a, "address", "203.0.113.5");
		audit_uint(a, "port", (uint64_t)(1000 + i));
		audit_end(a);
	}
	audit_begin_at(a, "run.summary", TS_USEC + 200);
	audit_end(a);
	a = audit_free(a);
	data = fd_contents(fd, &len);
	close(fd);

	text = summary_of(data, len, AUDIT_SUMMARY_TEXT, &r, NULL);
	ok(has(text, "connections refused: 150 (150 distinct)") && has(text, "203.0.113.5:1149"),
	   "summary many: text lists every destination");
	md = summary_of(data, len, AUDIT_SUMMARY_MARKDOWN, &r, NULL);
	ok(has(md, "`tcp 203.0.113.5:1099`") && !has(md, "`tcp 203.0.113.5:1100`") &&
		   has(md, "\n50 more rows (50 events) not shown here;"),
	   "summary many: markdown stops at 100 rows and says how many more");
	js = summary_of(data, len, AUDIT_SUMMARY_JSON, &r, &js_len);
	json_parse(js, js_len, &root, NULL);
	conn = json_object_get(report_run(root, 0), "connections_refused");
	ok(conn && json_array_size(conn) == 150, "summary many: json lists every destination");
}

/* Checks one report of arbitrary input: an allowed result, and JSON output that parses. */
static bool summary_survives(const char *data, size_t len, unsigned *bad_json)
{
	bool good = true;

	for (int f = AUDIT_SUMMARY_TEXT; f <= AUDIT_SUMMARY_JSON; f++) {
		_cleanup_free_ char *out = NULL;
		size_t out_len = 0;
		int r;

		out = summary_of(data, len, f, &r, &out_len);
		if (!out || (r != 0 && r != -EBADMSG))
			good = false;
		if (f == AUDIT_SUMMARY_JSON && out && json_validate(out, out_len, NULL) < 0)
			(*bad_json)++;
	}
	return good;
}

/* A random value of any JSON type, for fields whose type a writer might get wrong. */
static void random_field(struct audit *a, const char *key, unsigned *seed)
{
	static const char *const words[] = { "deny",
					     "allow",
					     "tcp",
					     "rw",
					     "hide",
					     "AF_PACKET",
					     "10.0.0.1",
					     "::1",
					     "\x1b[2J",
					     "a|b`c",
					     "",
					     "run.start",
					     "2026-11-22T05:24:00.123456Z" };

	switch (rand_r(seed) % 7) {
	case 0:
		audit_null(a, key);
		break;
	case 1:
		audit_int(a, key, (int64_t)rand_r(seed) - RAND_MAX / 2);
		break;
	case 2:
		audit_bool(a, key, rand_r(seed) % 2);
		break;
	case 3:
		audit_fixed(a, key, (uint64_t)rand_r(seed), 6);
		break;
	case 4:
		audit_array_begin(a, key);
		for (int i = rand_r(seed) % 3; i > 0; i--)
			random_field(a, NULL, seed);
		audit_array_end(a);
		break;
	case 5:
		audit_object_begin(a, key);
		if (rand_r(seed) % 2)
			random_field(a, "path", seed);
		if (rand_r(seed) % 2)
			random_field(a, "access", seed);
		audit_object_end(a);
		break;
	default:
		audit_str(a, key, words[(size_t)rand_r(seed) % ELEMENTSOF(words)]);
		break;
	}
}

static void test_summary_fuzz(void)
{
	static const char *const events[] = {
		"run.start",   "policy.fs",    "policy.env",   "policy.limits", "policy.seccomp",
		"policy.net",  "proc.exec",    "syscall.deny", "net.connect",	"dns.query",
		"file.open",   "file.change",  "limit.hit",    "audit.lost",	"run.exit",
		"run.summary", "future.thing",
	};
	static const char *const keys[] = {
		"skill",   "manifest", "argv",	   "caller_uid", "host_uid", "layers", "trace",
		"mounts",  "rules",    "verdict",  "proto",	 "address",  "port",   "host",
		"syscall", "errno",    "family",   "path",	 "access",   "op",     "declared",
		"limit",   "value",    "source",   "count",	 "status",   "reason", "exit",
		"signal",  "wall_s",   "refusals", "limits_hit", "name",     "profile"
	};
	_cleanup_free_ char *data = NULL;
	unsigned seed = 777, failed = 0, bad_json = 0;
	size_t len = 0;
	int fd = new_memfd();

	/* Valid chains of events with random fields of random types. */
	for (int iter = 0; iter < 300; iter++) {
		_cleanup_audit_free_ struct audit *a = NULL;
		_cleanup_free_ char *trail = NULL;
		size_t n = 0;

		if (ftruncate(fd, 0) < 0 || audit_new(dup(fd), RUN_A, &a) < 0)
			break;
		for (int e = 0, n_events = 2 + rand_r(&seed) % 30; e < n_events; e++) {
			audit_begin_at(a,
				       e == 0 ? "run.start"
				       : e == n_events - 1
					       ? "run.summary"
					       : events[(size_t)rand_r(&seed) % ELEMENTSOF(events)],
				       TS_USEC + (uint64_t)(rand_r(&seed) % 5000000));
			for (int k = rand_r(&seed) % 8; k > 0; k--)
				random_field(a, keys[(size_t)rand_r(&seed) % ELEMENTSOF(keys)],
					     &seed);
			audit_end(a);
		}
		a = audit_free(a);
		trail = fd_contents(fd, &n);
		if (!summary_survives(trail, n, &bad_json))
			failed++;
	}
	is_int(failed, 0, "summary fuzz: 300 random valid trails never fail");

	/* Damaged trails and plain garbage. */
	if (ftruncate(fd, 0) < 0)
		return;
	write_full_run(fd, RUN_A, "fuzz", NULL);
	write_full_run(fd, RUN_B, "fuzz2", NULL);
	data = fd_contents(fd, &len);
	close(fd);
	for (int iter = 0; data && iter < 1500; iter++) {
		_cleanup_free_ char *copy = malloc(len + 1);
		size_t at = (size_t)rand_r(&seed) % len, n = len;

		memcpy(copy, data, len);
		switch (iter % 5) {
		case 0:
			copy[at] ^= (char)(1 + rand_r(&seed) % 255);
			break;
		case 1:
			memmove(copy + at, copy + at + 1, len - at - 1);
			n--;
			break;
		case 2:
			n = at;
			break;
		case 3:
			copy[at] = '\n';
			break;
		default:
			n = (size_t)rand_r(&seed) % 512;
			for (size_t i = 0; i < n; i++)
				copy[i] = (char)(rand_r(&seed) % 4
							 ? "{}[]\":,\n0x\\u "[rand_r(&seed) % 14]
							 : rand_r(&seed));
			break;
		}
		if (!summary_survives(copy, n, &bad_json))
			failed++;
	}
	is_int(failed, 0, "summary fuzz: 1500 damaged or garbage trails give 0 or -EBADMSG");
	is_int(bad_json, 0, "summary fuzz: the JSON report always parses");
}

static void test_summary_io_error(void)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int fd = new_memfd(), r;
	FILE *f;

	write_full_run(fd, RUN_A, "io", NULL);
	data = fd_contents(fd, &len);
	close(fd);
	f = fopen("/dev/full", "we");
	if (!f) {
		ok(true, "summary io: # SKIP no /dev/full");
		return;
	}
	r = audit_summary_write(f, "x", data, len, AUDIT_SUMMARY_TEXT);
	fclose(f);
	is_int(r, -ENOSPC, "summary io: a write error is returned");
	is_int(audit_summary_write(stdout, "x", NULL, 5, AUDIT_SUMMARY_TEXT), -EINVAL,
	       "summary io: NULL data with a length is refused");
}

int main(void)
{
	test_escape_bytes();
	test_escape_strings();
	test_escape_random();
	test_parse();
	test_parse_depth();
	test_parse_random();
	test_writer_format();
	test_writer_nesting();
	test_writer_misuse();
	test_writer_one_write();
	test_writer_write_errors();
	test_redaction();
	test_redaction_markers();
	test_redaction_dns();
	test_redaction_encodings();
	test_run_id_and_time();
	test_verify_intact();
	test_verify_tampering();
	test_verify_foreign();
	test_verify_random();
	test_verify_large();
	test_summary_formats();
	test_summary_hostile();
	test_summary_broken();
	test_summary_tolerant();
	test_summary_traced_connect();
	test_summary_stack();
	test_summary_dns_once();
	test_summary_sensitive();
	test_summary_many();
	test_summary_fuzz();
	test_summary_io_error();
	return tap_done();
}
