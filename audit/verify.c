/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "hasher.h"
#include "json.h"

/*
 * The verifier walks the buffer line by line and keeps only the state of the run it is in, so
 * its memory does not grow with the file. Each line is checked in the order a reader would
 * want the first problem named: the line itself (newline, JSON, the common fields), then its
 * place in the run (run id, seq), then the chain (prev).
 */

enum {
	FIELD_V,
	FIELD_SEQ,
	FIELD_TS,
	FIELD_RUN,
	FIELD_EVENT,
	FIELD_PREV,
	_FIELD_MAX,
};

static const char *const field_names[_FIELD_MAX] = {
	[FIELD_V] = "v",     [FIELD_SEQ] = "seq",     [FIELD_TS] = "ts",
	[FIELD_RUN] = "run", [FIELD_EVENT] = "event", [FIELD_PREV] = "prev",
};

struct verifier {
	struct audit_verify_result *res;
	struct audit_hasher hasher;
	uint64_t lineno;

	/* The line being checked. */
	uint64_t seq;
	char run[AUDIT_RUN_ID_LEN + 1];
	char prev[AUDIT_HASH_HEX_LEN + 1];
	char event[64]; /* enough to name it in a reason, and to tell the ones that matter */
	size_t event_len;

	/* The run the previous line belonged to. */
	bool in_run;
	char run_id[AUDIT_RUN_ID_LEN + 1];
	uint64_t next_seq;
	char last_hash[AUDIT_HASH_HEX_LEN + 1];
	/* The run that ended last with run.summary, to explain lines appended after it. */
	char ended_run_id[AUDIT_RUN_ID_LEN + 1];
	uint64_t ended_line;
};

_printf_(2, 3) static int bad(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	v->res->bad_line = v->lineno;
	va_start(ap, fmt);
	vsnprintf(v->res->reason, sizeof(v->res->reason), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/*
 * A value from the file made safe to quote in a reason: printable ASCII only (the reason ends
 * up on a terminal) and short.
 */
static const char *shown(const char *s, size_t n, char *dst, size_t size)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 1 < size; i++)
		dst[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (i < n && size >= 4) {
		o = size - 4;
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = 0;
	return dst;
}

static bool span_eq(const char *s, size_t n, const char *z)
{
	return strlen(z) == n && memcmp(s, z, n) == 0;
}

static int field_of(const char *key, size_t n)
{
	for (int f = 0; f < _FIELD_MAX; f++)
		if (span_eq(key, n, field_names[f]))
			return f;
	return -1;
}

/* Pattern characters: '9' a digit, 'x' a lowercase hex digit, 'X' any hex digit, else itself. */
static bool char_matches(char c, char pattern)
{
	bool digit = c >= '0' && c <= '9', lower = c >= 'a' && c <= 'f',
	     upper = c >= 'A' && c <= 'F';

	switch (pattern) {
	case '9':
		return digit;
	case 'x':
		return digit || lower;
	case 'X':
		return digit || lower || upper;
	default:
		return c == pattern;
	}
}

static bool all_of(const char *s, size_t n, const char *pattern)
{
	if (strlen(pattern) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!char_matches(s[i], pattern[i]))
			return false;
	return true;
}

/* Reads a field whose value must be a string; reports a line that has something else. */
static int string_field(struct verifier *v, int f, const json_t *value, const char **ret,
			size_t *ret_len)
{
	if (!json_is_string(value))
		return bad(v, "line %" PRIu64 ": %s is not a string", v->lineno, field_names[f]);
	*ret = json_string_value(value);
	*ret_len = json_string_length(value);
	return 0;
}

/*
 * A number the writer made as an integer. In a line that holds an integer beyond int64_t,
 * json_parse() read every number as a double (reread): then an integral double stands for it.
 */
static bool integer_value(const json_t *value, bool reread, uint64_t *ret)
{
	double d;

	if (json_is_integer(value)) {
		if (json_integer_value(value) < 0)
			return false;
		*ret = (uint64_t)json_integer_value(value);
		return true;
	}
	if (!reread || !json_is_real(value))
		return false;
	d = json_real_value(value);
	/* Exact below 2^53; beyond, seq could not be told from its neighbours anyway. */
	if (d < 0 || d >= 0x1p53 || d != (double)(uint64_t)d)
		return false;
	*ret = (uint64_t)d;
	return true;
}

/* Checks the shape of one line: JSON, the common fields first and in order, prev last. */
static int check_fields(struct verifier *v, const char *line, size_t n)
{
	_cleanup_json_decref_ json_t *root = NULL;
	struct json_parse_error error = {};
	const char *key, *s = NULL, *last_key = "";
	const json_t *value;
	size_t len = 0;
	unsigned i = 0;
	uint64_t u;
	char tmp[64], why[128];
	bool reread;
	int r, f, last_f = -1;

	r = json_parse(line, n, &root, &error);
	if (r == -ENOMEM)
		return r;
	if (r == -ELNRNG)
		return bad(v, "line %" PRIu64 ": JSON nested more than %d levels deep", v->lineno,
			   JSON_DEPTH_MAX);
	if (r < 0 && error.code == json_error_duplicate_key)
		return bad(v, "line %" PRIu64 ": duplicate field (column %zu: %s)", v->lineno,
			   error.offset, shown(error.text, strlen(error.text), why, sizeof(why)));
	if (r < 0)
		return bad(v, "line %" PRIu64 ": not valid JSON (column %zu: %s)", v->lineno,
			   error.offset, shown(error.text, strlen(error.text), why, sizeof(why)));
	reread = r > 0;
	if (!json_is_object(root))
		return bad(v, "line %" PRIu64 ": not a JSON object", v->lineno);

	/* jansson keeps members in their order and refused duplicates: each key is seen once. */
	JSON_FOREACH_MEMBER (root, key, value) {
		f = field_of(key, strlen(key));

		if (i < FIELD_PREV && f != (int)i)
			return bad(v,
				   "line %" PRIu64
				   ": field %u is \"%s\", expected \"%s\" (v, seq, ts, "
				   "run and event come first, in this order)",
				   v->lineno, i + 1, shown(key, strlen(key), tmp, sizeof(tmp)),
				   field_names[i]);
		if (last_f == FIELD_PREV)
			return bad(v, "line %" PRIu64 ": \"prev\" is not the last field",
				   v->lineno);

		switch (f) {
		case FIELD_V:
			if (!integer_value(value, reread, &u) || u != AUDIT_FORMAT_VERSION) {
				struct buf text = BUF_INIT;

				json_compact_text(&text, value);
				r = bad(v, "line %" PRIu64 ": format version %s, expected 1",
					v->lineno,
					shown(text.data ? text.data : "", text.len, tmp,
					      sizeof(tmp)));
				buf_done(&text);
				return r;
			}
			break;
		case FIELD_SEQ:
			if (!integer_value(value, reread, &v->seq))
				return bad(v, "line %" PRIu64 ": seq is not a non-negative integer",
					   v->lineno);
			break;
		case FIELD_TS:
			r = string_field(v, f, value, &s, &len);
			if (r < 0)
				return r;
			if (!all_of(s, len, "9999-99-99T99:99:99.999999Z"))
				return bad(v,
					   "line %" PRIu64 ": ts \"%s\" is not a UTC time like "
					   "2026-01-31T12:00:00.000000Z",
					   v->lineno, shown(s, len, tmp, sizeof(tmp)));
			break;
		case FIELD_RUN:
			r = string_field(v, f, value, &s, &len);
			if (r < 0)
				return r;
			if (!all_of(s, len, "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"))
				return bad(v, "line %" PRIu64 ": run \"%s\" is not a UUID",
					   v->lineno, shown(s, len, tmp, sizeof(tmp)));
			memcpy(v->run, s, AUDIT_RUN_ID_LEN);
			v->run[AUDIT_RUN_ID_LEN] = 0;
			break;
		case FIELD_EVENT:
			r = string_field(v, f, value, &s, &len);
			if (r < 0)
				return r;
			if (len == 0)
				return bad(v, "line %" PRIu64 ": event is empty", v->lineno);
			if (len >= sizeof(v->event))
				len = sizeof(v->event) - 1;
			memcpy(v->event, s, len);
			v->event[len] = 0;
			v->event_len = len;
			break;
		case FIELD_PREV:
			r = string_field(v, f, value, &s, &len);
			if (r < 0)
				return r;
			if (!all_of(s, len,
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"))
				return bad(v,
					   "line %" PRIu64 ": prev is not a lowercase hex SHA-256",
					   v->lineno);
			memcpy(v->prev, s, AUDIT_HASH_HEX_LEN);
			v->prev[AUDIT_HASH_HEX_LEN] = 0;
			break;
		default:
			break;
		}
		last_key = key;
		last_f = f;
		i++;
	}

	if (i < FIELD_PREV)
		return bad(v, "line %" PRIu64 ": field \"%s\" is missing", v->lineno,
			   field_names[i]);
	if (last_f != FIELD_PREV)
		return bad(v, "line %" PRIu64 ": last field is \"%s\", expected \"prev\"",
			   v->lineno, shown(last_key, strlen(last_key), tmp, sizeof(tmp)));
	return 0;
}

/* Checks the line's place in its run and in the chain; hash is the line's own. */
static int check_chain(struct verifier *v, const char *hash)
{
	char tmp[64], run_hash[AUDIT_HASH_HEX_LEN + 1];
	int r;

	if (!v->in_run) {
		if (v->ended_line && streq(v->run, v->ended_run_id))
			return bad(v,
				   "line %" PRIu64
				   ": run %s already ended with run.summary on line "
				   "%" PRIu64 " (a line was appended or moved after it)",
				   v->lineno, v->run, v->ended_line);
		if (v->seq != 0 || !span_eq(v->event, v->event_len, "run.start"))
			return bad(
				v,
				"line %" PRIu64 ": run %s begins with seq %" PRIu64 ", event "
				"\"%s\"; a run must begin with run.start at seq 0 (were its first "
				"lines removed?)",
				v->lineno, v->run, v->seq,
				shown(v->event, v->event_len, tmp, sizeof(tmp)));
		r = audit_hasher_hex(&v->hasher, v->run, AUDIT_RUN_ID_LEN, run_hash);
		if (r < 0)
			return r;
		if (!streq(v->prev, run_hash))
			return bad(v,
				   "line %" PRIu64 ": prev of the first line of run %s is not the "
				   "SHA-256 of the run id (its run or prev was edited)",
				   v->lineno, v->run);
		v->in_run = true;
		memcpy(v->run_id, v->run, sizeof(v->run_id));
		v->next_seq = 0;
		v->res->runs++;
	} else if (!streq(v->run, v->run_id)) {
		if (v->seq == 0 && span_eq(v->event, v->event_len, "run.start"))
			return bad(v,
				   "line %" PRIu64
				   ": run %s ends without run.summary: truncated or "
				   "interrupted (run %s starts here)",
				   v->lineno, v->run_id, v->run);
		return bad(v,
			   "line %" PRIu64
			   ": run %s, expected %s (the run id was edited, or a line "
			   "of another run was inserted)",
			   v->lineno, v->run, v->run_id);
	} else if (v->seq != v->next_seq) {
		return bad(v, "line %" PRIu64 ": seq %" PRIu64 ", expected %" PRIu64 " (%s)",
			   v->lineno, v->seq, v->next_seq,
			   v->seq > v->next_seq ? "lines removed or reordered"
						: "a line duplicated, or lines reordered");
	} else if (!streq(v->prev, v->last_hash)) {
		return bad(v,
			   "line %" PRIu64 ": prev does not match the SHA-256 of line %" PRIu64
			   " (line %" PRIu64 " was edited, or a line was removed or inserted here)",
			   v->lineno, v->lineno - 1, v->lineno - 1);
	}

	v->next_seq++;
	if (span_eq(v->event, v->event_len, "run.summary")) {
		v->in_run = false;
		memcpy(v->ended_run_id, v->run_id, sizeof(v->ended_run_id));
		v->ended_line = v->lineno;
	}
	memcpy(v->last_hash, hash, sizeof(v->last_hash));
	return 0;
}

static int check_line(struct verifier *v, const char *line, size_t n)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	int r;

	if (n == 0)
		return bad(v, "line %" PRIu64 ": blank line", v->lineno);
	/* Named apart, since it would otherwise surface as a broken chain on the next line. */
	if (line[n - 1] == '\r')
		return bad(v,
			   "line %" PRIu64 ": ends with a carriage return (converted to CRLF line "
			   "endings?)",
			   v->lineno);
	r = check_fields(v, line, n);
	if (r < 0)
		return r;
	r = audit_hasher_hex(&v->hasher, line, n, hash);
	if (r < 0)
		return r;
	r = check_chain(v, hash);
	if (r < 0)
		return r;
	v->res->lines++;
	memcpy(v->res->head, hash, sizeof(v->res->head));
	return 0;
}

int audit_verify(const char *data, size_t len, struct audit_verify_result *res)
{
	struct audit_verify_result unused;
	struct verifier v = { .res = res ? res : &unused };
	const char *p = data, *end = data + len;
	int r;

	*v.res = (struct audit_verify_result){};
	if (!data && len)
		return -EINVAL;
	if (len == 0) {
		v.lineno = 1;
		return bad(&v, "no audit lines (the file is empty)");
	}
	r = audit_hasher_init(&v.hasher);
	if (r < 0)
		return r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		v.lineno++;
		if (!nl) {
			r = bad(&v,
				"line %" PRIu64
				": no newline at the end (the file was truncated in the "
				"middle of a line)",
				v.lineno);
			goto finish;
		}
		r = check_line(&v, p, (size_t)(nl - p));
		if (r < 0)
			goto finish;
		p = nl + 1;
	}
	if (v.in_run) {
		/* The missing run.summary would have been the next line. */
		v.lineno++;
		r = bad(&v,
			"after line %" PRIu64 ": run %s ends without run.summary: truncated or "
			"interrupted",
			v.lineno - 1, v.run_id);
		goto finish;
	}
	r = 0;
finish:
	if (r < 0 && r != -EBADMSG) {
		v.res->bad_line = v.lineno;
		snprintf(v.res->reason, sizeof(v.res->reason), "line %" PRIu64 ": %s", v.lineno,
			 strerror(-r));
	}
	audit_hasher_done(&v.hasher);
	return r;
}
