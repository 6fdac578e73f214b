/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "hasher.h"
#include "json.h"

/*
 * The verifier walks the buffer line by line. Each line is first checked on its own (newline,
 * JSON, the common fields in order: check_line_format()); a well-formed line then takes its
 * place in the chain of the run it names (chain_line()): the next seq, and prev the hash of
 * that run's last line. Runs are followed each on its own, so runs written to one stream at
 * the same time interleave freely.
 *
 * A line that fits no chain is foreign (foreign_line()). In a stream the trail shares with the
 * skill's output (--audit -: run.start says "trail": "shared"), foreign lines are what the
 * skill wrote, whatever it wrote, and are reported apart; they cannot break a run's chain,
 * because a line only joins a chain when its prev is the hash of the run's last line, which
 * the skill never sees. A removed or edited line of a run cannot hide among them either: the
 * run's next line no longer fits, nor does any after it, so the run never reaches its
 * run.summary, and that is a break. In a trail of its own (--audit FILE), nothing but the
 * runs writes, and the first foreign line is a break.
 *
 * Memory grows with the runs in the file, not with its lines.
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

/* A place where the file may be broken, and how much held before it. */
struct candidate {
	uint64_t line;
	char reason[256];
	uint64_t good_before;
	char head_before[AUDIT_HASH_HEX_LEN + 1];
};

/* One run that begins in the file: where its chain is. */
struct chain {
	char id[AUDIT_RUN_ID_LEN + 1];
	uint64_t next_seq;
	char head[AUDIT_HASH_HEX_LEN + 1]; /* hash of its last line */
	uint64_t head_line;		   /* ... and that line's number */
	uint64_t good_after;		   /* good lines in the file up to there */
	bool ended;			   /* its run.summary was seen */
	uint64_t end_line;
	bool shared; /* its run.start says the trail shares a stream with the skill's output */
	bool misfit; /* a line named it and did not fit: first_misfit says which */
	struct candidate first_misfit;
};

struct verifier {
	struct audit_verify_result *res;
	struct audit_hasher hasher;
	uint64_t lineno;
	char why[256]; /* what is wrong with the line being checked */

	/* The line being checked. */
	uint64_t seq;
	char run[AUDIT_RUN_ID_LEN + 1];
	char prev[AUDIT_HASH_HEX_LEN + 1];
	char event[64]; /* enough to name it in a reason, and to tell the ones that matter */
	size_t event_len;
	bool trail_shared; /* "trail": "shared" */

	/* The runs. */
	void *chains; /* by id (tsearch) */
	struct chain **all;
	size_t n_all;
	struct chain *last; /* the run of the last good line */
	uint64_t good;	    /* good lines so far */
	char good_head[AUDIT_HASH_HEX_LEN + 1];

	/* Foreign lines. */
	bool have_foreign;
	struct candidate first_foreign;
	void (*foreign)(uint64_t line, void *userdata);
	void *userdata;
};

/* Says what is wrong with the line being checked; -EBADMSG. */
_printf_(2, 3) static int bad(struct verifier *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
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

	v->trail_shared = false;
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
			/* run.start says where the trail went (chain_start()). */
			if (streq(key, "trail") && json_is_string(value) &&
			    streq(json_string_value(value), "shared"))
				v->trail_shared = true;
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

/* --- the runs' chains ------------------------------------------------------------------- */

static int chain_compare(const void *a, const void *b)
{
	return strcmp(((const struct chain *)a)->id, ((const struct chain *)b)->id);
}

static struct chain *chain_find(struct verifier *v, const char *id)
{
	struct chain key, **found;

	if (v->last && streq(v->last->id, id))
		return v->last;
	memcpy(key.id, id, sizeof(key.id));
	found = tfind(&key, &v->chains, chain_compare);
	return found ? *found : NULL;
}

static void candidate_here(struct verifier *v, struct candidate *c)
{
	c->line = v->lineno;
	memcpy(c->reason, v->why, sizeof(c->reason));
	c->good_before = v->good;
	memcpy(c->head_before, v->good_head, sizeof(c->head_before));
}

static void chain_accept(struct verifier *v, struct chain *c, const char *hash)
{
	c->next_seq++;
	memcpy(c->head, hash, sizeof(c->head));
	c->head_line = v->lineno;
	if (span_eq(v->event, v->event_len, "run.summary")) {
		c->ended = true;
		c->end_line = v->lineno;
	}
	v->good++;
	memcpy(v->good_head, hash, sizeof(v->good_head));
	c->good_after = v->good;
	v->last = c;
}

/* A run.start that begins a chain: seq 0, prev the hash of the run id. */
static int chain_start(struct verifier *v, const char *hash)
{
	char tmp[64], run_hash[AUDIT_HASH_HEX_LEN + 1];
	struct chain *c, **slot, **all;
	int r;

	if (v->seq != 0 || !span_eq(v->event, v->event_len, "run.start"))
		return bad(v,
			   "line %" PRIu64 ": run %s begins with seq %" PRIu64 ", event \"%s\"; "
			   "a run must begin with run.start at seq 0 (were its first lines "
			   "removed, or its run id edited?)",
			   v->lineno, v->run, v->seq,
			   shown(v->event, v->event_len, tmp, sizeof(tmp)));
	r = audit_hasher_hex(&v->hasher, v->run, AUDIT_RUN_ID_LEN, run_hash);
	if (r < 0)
		return r;
	if (!streq(v->prev, run_hash))
		return bad(v,
			   "line %" PRIu64 ": prev of the first line of run %s is not the SHA-256 "
			   "of the run id (its run or prev was edited)",
			   v->lineno, v->run);

	c = calloc(1, sizeof(*c));
	all = reallocarray(v->all, v->n_all + 1, sizeof(*all));
	if (!c || !all) {
		free(c);
		if (all)
			v->all = all;
		return -ENOMEM;
	}
	v->all = all;
	memcpy(c->id, v->run, sizeof(c->id));
	c->shared = v->trail_shared;
	slot = tsearch(c, &v->chains, chain_compare);
	if (!slot) {
		free(c);
		return -ENOMEM;
	}
	v->all[v->n_all++] = c;
	v->res->runs++;
	chain_accept(v, c, hash);
	return 0;
}

/*
 * Places a well-formed line in the chain of the run it names. 0 when it fits; -EBADMSG (with
 * v->why) when it does not, and *ret_claimed says whether it named a run that began here.
 */
static int chain_line(struct verifier *v, const char *hash, struct chain **ret_claimed)
{
	struct chain *c = chain_find(v, v->run);

	*ret_claimed = c;
	if (!c)
		return chain_start(v, hash);
	if (c->ended)
		return bad(v,
			   "line %" PRIu64
			   ": run %s already ended with run.summary on line %" PRIu64
			   " (a line was appended or moved after it)",
			   v->lineno, c->id, c->end_line);
	if (v->seq != c->next_seq)
		return bad(v, "line %" PRIu64 ": seq %" PRIu64 ", expected %" PRIu64 " (%s)",
			   v->lineno, v->seq, c->next_seq,
			   v->seq > c->next_seq ? "lines removed or reordered"
						: "a line duplicated, or lines reordered");
	if (!streq(v->prev, c->head))
		return bad(v,
			   "line %" PRIu64 ": prev does not match the SHA-256 of line %" PRIu64
			   " (line %" PRIu64 " was edited, or a line was removed or inserted here)",
			   v->lineno, c->head_line, c->head_line);
	chain_accept(v, c, hash);
	return 0;
}

/* --- foreign lines ---------------------------------------------------------------------- */

/*
 * A line no chain holds, v->why says why. claimed: the well-formed line named a run that
 * began in the file and did not fit it; the run's first such line is where its chain broke,
 * if it never reaches its run.summary.
 */
static void foreign_line(struct verifier *v, struct chain *claimed)
{
	struct audit_verify_result *res = v->res;
	struct audit_line_range *last =
		res->n_foreign_ranges ? &res->foreign_ranges[res->n_foreign_ranges - 1] : NULL;

	res->foreign++;
	if (last && last->last + 1 == v->lineno)
		last->last = v->lineno;
	else if (res->n_foreign_ranges < AUDIT_FOREIGN_RANGES && !res->foreign_ranges_cut)
		res->foreign_ranges[res->n_foreign_ranges++] =
			(struct audit_line_range){ v->lineno, v->lineno };
	else
		res->foreign_ranges_cut = true;
	if (!v->have_foreign) {
		v->have_foreign = true;
		candidate_here(v, &v->first_foreign);
	}
	if (claimed) {
		res->foreign_claiming++;
		if (!claimed->misfit) {
			claimed->misfit = true;
			candidate_here(v, &claimed->first_misfit);
		}
	}
	if (v->foreign)
		v->foreign(v->lineno, v->userdata);
}

/* --- lines and the whole ---------------------------------------------------------------- */

static int check_line(struct verifier *v, const char *line, size_t n, bool newline)
{
	char hash[AUDIT_HASH_HEX_LEN + 1];
	struct chain *claimed = NULL;
	int r;

	if (!newline)
		r = bad(v,
			"line %" PRIu64 ": no newline at the end (the file was truncated in the "
			"middle of a line)",
			v->lineno);
	else if (n == 0)
		r = bad(v, "line %" PRIu64 ": blank line", v->lineno);
	/* Named apart, since it would otherwise surface as a broken chain on the next line. */
	else if (line[n - 1] == '\r')
		r = bad(v,
			"line %" PRIu64 ": ends with a carriage return (converted to CRLF line "
			"endings?)",
			v->lineno);
	else
		r = check_fields(v, line, n);
	if (r == 0) {
		r = audit_hasher_hex(&v->hasher, line, n, hash);
		if (r < 0)
			return r;
		r = chain_line(v, hash, &claimed);
	}
	if (r == -EBADMSG) {
		foreign_line(v, claimed);
		return 0;
	}
	return r;
}

/* "line 12: seq 3, ..." → "seq 3, ..." */
static const char *skip_line_prefix(const char *reason)
{
	const char *p = strstr(reason, ": ");

	return strncmp(reason, "line ", 5) == 0 && p ? p + 2 : reason;
}

static void pick(const struct candidate **best, const struct candidate *c)
{
	if (!*best || c->line < (*best)->line)
		*best = c;
}

/*
 * The first break, if any: a run that begins and does not end (where its chain broke, or
 * after its last line), and, in a trail of its own, the first foreign line.
 */
static int finish(struct verifier *v)
{
	struct audit_verify_result *res = v->res;
	const struct candidate *best = NULL;
	struct candidate *ends;
	int r = 0;

	for (size_t i = 0; i < v->n_all; i++)
		res->shared = res->shared || v->all[i]->shared;
	/* On a tie, the foreign line says more (a cut last line is why the run has no end). */
	if (v->have_foreign && (!res->shared || v->n_all == 0))
		best = &v->first_foreign;
	ends = calloc(v->n_all ? v->n_all : 1, sizeof(*ends));
	if (!ends)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_all; i++) {
		const struct chain *c = v->all[i];

		if (c->ended)
			continue;
		if (c->misfit) {
			ends[i] = c->first_misfit;
			/*
			 * Among foreign lines, the first one that names the run may be the skill's:
			 * say where the run's own chain stops, which nothing foreign can move.
			 */
			if (res->shared) {
				char why[sizeof(ends[i].reason) + 160];

				snprintf(why, sizeof(why),
					 "line %" PRIu64 ": run %s breaks after line %" PRIu64
					 ", its last line that fits (a line was removed or edited "
					 "there): %s",
					 c->first_misfit.line, c->id, c->head_line,
					 skip_line_prefix(c->first_misfit.reason));
				/* Cut to the result's size, as every reason is. */
				memcpy(ends[i].reason, why, sizeof(ends[i].reason) - 1);
				ends[i].reason[sizeof(ends[i].reason) - 1] = 0;
			}
			pick(&best, &ends[i]);
			continue;
		}
		ends[i] = (struct candidate){ .line = c->head_line + 1,
					      .good_before = c->good_after };
		snprintf(ends[i].reason, sizeof(ends[i].reason),
			 "after line %" PRIu64 ": run %s ends without run.summary: truncated or "
			 "interrupted",
			 c->head_line, c->id);
		memcpy(ends[i].head_before, c->head, sizeof(ends[i].head_before));
		pick(&best, &ends[i]);
	}
	if (best) {
		res->bad_line = best->line;
		memcpy(res->reason, best->reason, sizeof(res->reason));
		res->lines = best->good_before;
		memcpy(res->head, best->head_before, sizeof(res->head));
		r = -EBADMSG;
	} else {
		res->lines = v->good;
		memcpy(res->head, v->good_head, sizeof(res->head));
	}
	free(ends);
	return r;
}

static void chain_free(void *p)
{
	free(p);
}

int audit_verify_lines(const char *data, size_t len, struct audit_verify_result *res,
		       void (*foreign)(uint64_t line, void *userdata), void *userdata)
{
	struct audit_verify_result unused;
	struct verifier v = { .res = res ? res : &unused,
			      .foreign = foreign,
			      .userdata = userdata };
	const char *p = data, *end = data + len;
	int r = 0;

	*v.res = (struct audit_verify_result){};
	if (!data && len)
		return -EINVAL;
	if (len == 0) {
		v.res->bad_line = 1;
		snprintf(v.res->reason, sizeof(v.res->reason),
			 "no audit lines (the file is empty)");
		return -EBADMSG;
	}
	r = audit_hasher_init(&v.hasher);
	if (r < 0)
		return r;

	while (p < end && r >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		v.lineno++;
		r = check_line(&v, p, n, nl != NULL);
		p += n + (nl ? 1 : 0);
	}
	if (r >= 0)
		r = finish(&v);
	if (r < 0 && r != -EBADMSG) {
		v.res->bad_line = v.lineno;
		snprintf(v.res->reason, sizeof(v.res->reason), "line %" PRIu64 ": %s", v.lineno,
			 strerror(-r));
	}
	tdestroy(v.chains, chain_free);
	free(v.all);
	audit_hasher_done(&v.hasher);
	return r;
}

int audit_verify(const char *data, size_t len, struct audit_verify_result *res)
{
	return audit_verify_lines(data, len, res, NULL, NULL);
}
