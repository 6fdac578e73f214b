/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "parse-util.h"
#include "summary.h"

/*
 * The report is built in two passes over the file. The first reads every line into per-run
 * state: the one-off events (run.start, policy.*, run.exit, run.summary) are kept whole, and
 * the repeated ones (refusals, connections, programs, ...) are folded into groups keyed by
 * their target, so memory grows with the number of distinct targets, not with the number of
 * lines. The second writes the report from that state.
 *
 * Everything in the file is untrusted: a skill chooses the paths it opens and the names it
 * resolves, and a tampered file can hold anything at all. So every field may be missing or of
 * another type, and every string is escaped for where it ends up: a terminal (control and
 * bidi characters become visible escapes), markdown (code spans, so nothing in a value can
 * become a link, an image or HTML in a CI page) or JSON.
 */

/* Room for an RFC 3339 timestamp as the writer makes them, with its NUL. */
#define TS_MAX		 28
#define GROUP_FIELDS_MAX 4
/* GitHub refuses a job summary above 1 MiB, so markdown tables stop here (text and JSON don't). */
#define MARKDOWN_ROWS_MAX 100

enum group_kind {
	/* Refusals. */
	G_NET_DENY,
	G_DNS_DENY,
	G_SYSCALL,
	G_FILE,
	/* Evidence missing from the trail. */
	G_LOST,
	/* What the skill did and was allowed to do. */
	G_SENSITIVE, /* credential and secret locations probed (file.open "sensitive") */
	G_NET_ALLOW,
	G_NET_TRACED, /* connect() calls seen by tracing: an attempt, no verdict */
	G_DNS_SEEN,
	G_EXEC,
	G_LIMIT,
	/* Events this version does not summarise (newer writers, or tracing events). */
	G_OTHER,
	_G_MAX,
};

#define G_REFUSAL_FIRST G_NET_DENY
#define G_REFUSAL_LAST	G_FILE

struct kind_info {
	const char *json;  /* member name in the JSON report */
	const char *title; /* heading in text and markdown */
	const char *noun;  /* what one group is, for the markdown column */
	const char *fields[GROUP_FIELDS_MAX];
};

static const struct kind_info kind_info[_G_MAX] = {
	[G_NET_DENY] = { "connections_refused",
			 "connections refused",
			 "Destination",
			 { "proto", "address", "port", "host" } },
	[G_DNS_DENY] = { "dns_refused",
			 "DNS queries refused",
			 "Query",
			 { "name", "qtype", "verdict" } },
	[G_SYSCALL] = { "syscalls_refused",
			"system calls refused",
			"System call",
			{ "syscall", "args", "errno", "abi" } },
	[G_FILE] = { "files_outside_manifest",
		     "file accesses outside the manifest",
		     "Access",
		     { "path", "access", "event" } },
	[G_LOST] = { "events_lost", "events lost", "Source", { "source" } },
	[G_NET_ALLOW] = { "connections_allowed",
			  "connections allowed",
			  "Destination",
			  { "proto", "address", "port", "host" } },
	[G_SENSITIVE] = { "credential_locations_probed",
			  "credential and secret locations probed",
			  "Path",
			  { "path", "access", "exists" } },
	[G_NET_TRACED] = { "connection_attempts_traced",
			   "connection attempts seen by tracing (no verdict)",
			   "Destination",
			   { "proto", "address", "port", "family" } },
	[G_DNS_SEEN] = { "dns_queries",
			 "DNS queries (not refused)",
			 "Query",
			 { "name", "qtype", "verdict" } },
	[G_EXEC] = { "programs_executed", "programs executed", "Program", { "path" } },
	[G_LIMIT] = { "limits_hit", "limits hit", "Limit", { "limit", "value", "action" } },
	[G_OTHER] = { "other_events", "other events", "Event", { "event" } },
};

/* The events a run has once; a second copy is counted, not kept. */
enum single {
	S_START,
	S_FS,
	S_ENV,
	S_LIMITS,
	S_SECCOMP,
	S_NET,
	S_EXIT,
	S_SUMMARY,
	_S_MAX,
};

static const char *const single_events[_S_MAX] = {
	[S_START] = "run.start",      [S_FS] = "policy.fs",	      [S_ENV] = "policy.env",
	[S_LIMITS] = "policy.limits", [S_SECCOMP] = "policy.seccomp", [S_NET] = "policy.net",
	[S_EXIT] = "run.exit",	      [S_SUMMARY] = "run.summary",
};

/*
 * A field value: text (a string's bytes, or a number's, literal's or container's JSON text
 * when raw) or absent (s NULL: missing or null). While an event is read the bytes are
 * borrowed from its tree; a group owns copies.
 */
struct fv {
	const char *s;
	size_t n;
	bool raw;
};

struct group {
	enum group_kind kind;
	struct fv f[GROUP_FIELDS_MAX];
	char *key; /* the fields, length-prefixed: the identity of the group */
	size_t key_len;
	size_t order; /* insertion order, to sort stably */
	uint64_t count;
	uint64_t sum; /* audit.lost: the events reported lost */
	char first[TS_MAX], last[TS_MAX];
};

struct run_info {
	char *id; /* NULL for lines before any run id */
	size_t id_len;
	size_t index;
	uint64_t first_line, last_line, n_lines, n_unreadable, n_repeated, n_files_declared;
	char first_ts[TS_MAX], last_ts[TS_MAX];
	struct json_node *single[_S_MAX];

	struct group **groups[_G_MAX];
	size_t n_groups[_G_MAX], cap_groups[_G_MAX];
	uint64_t events[_G_MAX];
	uint64_t dns_connect_denies; /* refused connections to port 53 (see run_refusals()) */
	void *tree;		     /* groups by (kind, key) */

	/* Integrity of this run on its own. */
	bool broken;
	uint64_t bad_line;
	char *reason;

	/* Only when the file is broken: this run's lines and where they are in the file. */
	struct buf lines;
	uint64_t *line_map;
	size_t n_map, cap_map;
};

struct summary {
	struct run_info **runs;
	size_t n_runs, cap_runs;
	void *run_tree; /* runs by id */
	struct run_info *current;
	bool keep_lines;
	uint64_t lines;
	struct buf key, scratch[GROUP_FIELDS_MAX];

	struct audit_verify_result verify;
	bool broken;
};

#define VEC_PUSH(arr, n, cap, item)                                                   \
	({                                                                            \
		int _r = 0;                                                           \
		if ((n) == (cap)) {                                                   \
			size_t _c = (cap) ? (cap)*2 : 8;                              \
			__typeof__(arr) _a = reallocarray((arr), _c, sizeof(*(arr))); \
			if (_a) {                                                     \
				(arr) = _a;                                           \
				(cap) = _c;                                           \
			} else {                                                      \
				_r = -ENOMEM;                                         \
			}                                                             \
		}                                                                     \
		if (_r == 0)                                                          \
			(arr)[(n)++] = (item);                                        \
		_r;                                                                   \
	})

/* ---- small helpers ------------------------------------------------------------------- */

static const struct json_node *get(const struct json_node *obj, const char *key)
{
	const struct json_node *n = json_object_get(obj, key);

	return n && n->type != JSON_NULL ? n : NULL;
}

static const char *get_str(const struct json_node *obj, const char *key)
{
	return json_object_get_str(obj, key);
}

static const struct json_node *get_array(const struct json_node *obj, const char *key)
{
	const struct json_node *n = get(obj, key);

	return n && n->type == JSON_ARRAY ? n : NULL;
}

static bool node_is_str(const struct json_node *n, const char *s)
{
	return n && n->type == JSON_STRING && n->len == strlen(s) && memcmp(n->str, s, n->len) == 0;
}

static bool get_is(const struct json_node *obj, const char *key, const char *s)
{
	return node_is_str(get(obj, key), s);
}

static bool get_u64(const struct json_node *obj, const char *key, uint64_t *ret)
{
	const struct json_node *n = get(obj, key);

	if (!n || n->type != JSON_NUMBER || !n->is_integer || n->integer < 0)
		return false;
	*ret = (uint64_t)n->integer;
	return true;
}

/* A JSON number's value; its text is strict JSON, which strtod reads in the C locale. */
static bool get_double(const struct json_node *obj, const char *key, double *ret)
{
	const struct json_node *n = get(obj, key);
	char *end;
	double d;

	if (!n || n->type != JSON_NUMBER)
		return false;
	d = strtod(n->str, &end);
	if (*end || d != d)
		return false;
	*ret = d;
	return true;
}

/* Compact JSON text of a node, for values whose shape this version does not know. */
static void node_compact(struct buf *b, const struct json_node *n)
{
	switch (n->type) {
	case JSON_NULL:
		buf_puts(b, "null");
		break;
	case JSON_BOOLEAN:
		buf_puts(b, n->boolean ? "true" : "false");
		break;
	case JSON_NUMBER:
		buf_append(b, n->str, n->len);
		break;
	case JSON_STRING:
		json_escape(b, n->str, n->len);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		buf_putc(b, n->type == JSON_ARRAY ? '[' : '{');
		for (size_t i = 0; i < n->n_items; i++) {
			if (i)
				buf_putc(b, ',');
			if (n->type == JSON_OBJECT) {
				json_escape(b, n->items[i]->key, n->items[i]->key_len);
				buf_putc(b, ':');
			}
			node_compact(b, n->items[i]);
		}
		buf_putc(b, n->type == JSON_ARRAY ? ']' : '}');
		break;
	}
}

/* A node as display text: a string as itself, anything else as its JSON text. */
static void node_text(struct buf *b, const struct json_node *n)
{
	if (n && n->type == JSON_STRING)
		buf_append(b, n->str, n->len);
	else if (n)
		node_compact(b, n);
}

/* Borrows a field value from a node; containers are written to scratch. */
static struct fv fv_of(const struct json_node *n, struct buf *scratch)
{
	if (!n || n->type == JSON_NULL)
		return (struct fv){};
	switch (n->type) {
	case JSON_STRING:
		return (struct fv){ n->str, n->len, false };
	case JSON_NUMBER:
		return (struct fv){ n->str, n->len, true };
	case JSON_BOOLEAN:
		return (struct fv){ n->boolean ? "true" : "false", n->boolean ? 4 : 5, true };
	default:
		buf_reset(scratch);
		node_compact(scratch, n);
		return (struct fv){ buf_str(scratch), scratch->len, true };
	}
}

static bool fv_is(const struct fv *v, const char *s)
{
	return v->s && v->n == strlen(s) && memcmp(v->s, s, v->n) == 0;
}

/* "2026-11-22T05:24:00.123456Z", as the writer makes them; anything else is ignored. */
static bool ts_valid(const char *s, size_t n)
{
	static const char pattern[] = "9999-99-99T99:99:99.999999Z";

	if (n != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pattern[i] == '9' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pattern[i])
			return false;
	return true;
}

static uint64_t digits(const char *s, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

/* Microseconds since the epoch of a ts_valid() time (days from the civil date, Hinnant). */
static int64_t ts_usec(const char *s)
{
	int64_t y = (int64_t)digits(s, 4), m = (int64_t)digits(s + 5, 2),
		d = (int64_t)digits(s + 8, 2), era, yoe, doy, doe, days;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 24 + (int64_t)digits(s + 11, 2)) * 60 + (int64_t)digits(s + 14, 2)) * 60 *
		       1000000 +
	       (int64_t)digits(s + 17, 2) * 1000000 + (int64_t)digits(s + 20, 6);
}

/* Keeps the earliest and latest of the valid times seen (lines may be out of order). */
static void ts_note(char first[TS_MAX], char last[TS_MAX], const struct json_node *ts)
{
	if (!ts || ts->type != JSON_STRING || !ts_valid(ts->str, ts->len))
		return;
	if (!first[0] || strcmp(ts->str, first) < 0)
		memcpy(first, ts->str, TS_MAX);
	if (!last[0] || strcmp(ts->str, last) > 0)
		memcpy(last, ts->str, TS_MAX);
}

/* ---- reading ------------------------------------------------------------------------- */

static void key_put(struct buf *k, const struct fv *v)
{
	uint64_t n = v->n;

	buf_putc(k, (char)(v->s ? 1 + v->raw : 0));
	if (v->s) {
		buf_append(k, &n, sizeof(n));
		buf_append(k, v->s, v->n);
	}
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return memcmp(x->key, y->key, x->key_len);
}

static struct group *group_free(struct group *g)
{
	if (!g)
		return NULL;
	for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
		free((char *)g->f[i].s);
	free(g->key);
	free(g);
	return NULL;
}

static void group_free_void(void *p)
{
	group_free(p);
}

static void no_free(void *p)
{
}

static char *memdup_nul(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/*
 * Counts one event in the group of its kind and field values, creating the group the first
 * time. ts may be NULL; sum is added to the group's sum (audit.lost counts).
 */
static int group_add(struct summary *s, struct run_info *run, enum group_kind kind,
		     const struct json_node *ts, uint64_t sum, const struct fv v[GROUP_FIELDS_MAX])
{
	struct group probe = { .kind = kind }, *g, **found;

	buf_reset(&s->key);
	for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
		key_put(&s->key, &v[i]);
	if (!buf_ok(&s->key))
		return -ENOMEM;
	probe.key = s->key.data;
	probe.key_len = s->key.len;

	found = tfind(&probe, &run->tree, group_cmp);
	if (found) {
		g = *found;
	} else {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->kind = kind;
		g->key = memdup_nul(s->key.data, s->key.len);
		g->key_len = s->key.len;
		g->order = run->n_groups[kind];
		for (size_t i = 0; g->key && i < GROUP_FIELDS_MAX; i++)
			if (v[i].s) {
				g->f[i] = v[i];
				g->f[i].s = memdup_nul(v[i].s, v[i].n);
				if (!g->f[i].s) {
					free(g->key);
					g->key = NULL;
				}
			}
		if (!g->key || VEC_PUSH(run->groups[kind], run->n_groups[kind],
					run->cap_groups[kind], g) < 0) {
			group_free(g);
			return -ENOMEM;
		}
		if (!tsearch(g, &run->tree, group_cmp)) {
			run->n_groups[kind]--;
			group_free(g);
			return -ENOMEM;
		}
	}
	g->count++;
	g->sum += sum;
	run->events[kind]++;
	ts_note(g->first, g->last, ts);
	return 0;
}

/* Is a verdict an allowing one? Anything else that is present counts as a refusal. */
static bool verdict_allows(const struct json_node *n)
{
	static const char *const allowing[] = { "allow", "allowed", "accept", "accepted", "pass" };

	for (size_t i = 0; i < ELEMENTSOF(allowing); i++)
		if (node_is_str(n, allowing[i]))
			return true;
	return false;
}

/*
 * The decoded arguments of a denied system call: every member that is not one of the fields
 * every syscall.deny has, as "name=value", so newer writers' decodings show up unchanged.
 */
static struct fv syscall_args(const struct json_node *e, struct buf *scratch)
{
	static const char *const known[] = { "v",   "seq",	"ts",	"run",	 "event",   "prev",
					     "pid", "host_pid", "tid",	"ppid",	 "syscall", "abi",
					     "nr",  "errno",	"arch", "source" };

	buf_reset(scratch);
	for (size_t i = 0; i < e->n_items; i++) {
		const struct json_node *m = e->items[i];
		bool skip = false;

		for (size_t k = 0; k < ELEMENTSOF(known) && !skip; k++)
			skip = strlen(known[k]) == m->key_len &&
			       memcmp(known[k], m->key, m->key_len) == 0;
		if (skip)
			continue;
		if (scratch->len)
			buf_putc(scratch, ' ');
		buf_append(scratch, m->key, m->key_len);
		buf_putc(scratch, '=');
		node_text(scratch, m);
	}
	if (!scratch->len)
		return (struct fv){};
	return (struct fv){ buf_str(scratch), scratch->len, false };
}

static int ingest(struct summary *s, struct run_info *run, struct json_node **rootp)
{
	const struct json_node *e = *rootp, *ts = json_object_get(e, "ts"),
			       *event = get(e, "event");
	struct buf *sc = s->scratch;
	struct fv v[GROUP_FIELDS_MAX] = {};
	uint64_t n;

	ts_note(run->first_ts, run->last_ts, ts);
	if (!event || event->type != JSON_STRING) {
		v[0] = (struct fv){ "(no event name)", strlen("(no event name)"), false };
		return group_add(s, run, G_OTHER, ts, 0, v);
	}
	for (size_t i = 0; i < _S_MAX; i++)
		if (node_is_str(event, single_events[i])) {
			if (run->single[i]) {
				run->n_repeated++;
				return 0;
			}
			run->single[i] = TAKE_PTR(*rootp);
			return 0;
		}

	if (node_is_str(event, "proc.exec")) {
		v[0] = fv_of(get(e, "path"), &sc[0]);
		return group_add(s, run, G_EXEC, ts, 0, v);
	}
	if (node_is_str(event, "syscall.deny")) {
		const struct json_node *name = get(e, "syscall");

		v[0] = fv_of(name ? name : get(e, "nr"), &sc[0]);
		v[1] = syscall_args(e, &sc[1]);
		v[2] = fv_of(get(e, "errno"), &sc[2]);
		v[3] = fv_of(get(e, "abi"), &sc[3]);
		return group_add(s, run, G_SYSCALL, ts, 0, v);
	}
	if (node_is_str(event, "net.connect")) {
		const struct json_node *verdict = get(e, "verdict");

		v[0] = fv_of(get(e, "proto"), &sc[0]);
		v[1] = fv_of(get(e, "address"), &sc[1]);
		v[2] = fv_of(get(e, "port"), &sc[2]);
		/* Tracing sees the call, not the firewall's answer: an attempt, not a refusal. */
		if (!verdict) {
			v[3] = fv_of(get(e, "family"), &sc[3]);
			return group_add(s, run, G_NET_TRACED, ts, 0, v);
		}
		v[3] = fv_of(get(e, "host"), &sc[3]);
		if (!verdict_allows(verdict)) {
			uint64_t port;

			if (get_u64(e, "port", &port) && port == 53)
				run->dns_connect_denies++;
			return group_add(s, run, G_NET_DENY, ts, 0, v);
		}
		return group_add(s, run, G_NET_ALLOW, ts, 0, v);
	}
	if (node_is_str(event, "dns.query")) {
		const struct json_node *verdict = get(e, "verdict");

		v[0] = fv_of(get(e, "name"), &sc[0]);
		v[1] = fv_of(get(e, "qtype"), &sc[1]);
		v[2] = fv_of(verdict, &sc[2]);
		/* Without a verdict a query was only observed (dns: resolver records each one). */
		return group_add(s, run,
				 !verdict || verdict_allows(verdict) ? G_DNS_SEEN : G_DNS_DENY, ts,
				 0, v);
	}
	if (node_is_str(event, "file.open") || node_is_str(event, "file.change")) {
		const struct json_node *declared = json_object_get(e, "declared"),
				       *access = get(e, "access"),
				       *sensitive = json_object_get(e, "sensitive");

		/*
		 * Credential hunting is worth a reviewer's eye even where the view made it
		 * harmless (an empty HOME, a file that is not there): listed apart, in addition.
		 */
		if (sensitive && sensitive->type == JSON_BOOLEAN && sensitive->boolean) {
			struct fv w[GROUP_FIELDS_MAX] = { 0 };
			struct buf wsc[GROUP_FIELDS_MAX] = { BUF_INIT, BUF_INIT, BUF_INIT,
							     BUF_INIT };
			int k;

			w[0] = fv_of(get(e, "path"), &wsc[0]);
			w[1] = fv_of(access ? access : get(e, "op"), &wsc[1]);
			w[2] = fv_of(json_object_get(e, "exists"), &wsc[2]);
			k = group_add(s, run, G_SENSITIVE, ts, 0, w);
			for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
				buf_done(&wsc[i]);
			if (k < 0)
				return k;
		}

		if (!declared || declared->type != JSON_BOOLEAN || declared->boolean) {
			run->n_files_declared++;
			return 0;
		}
		v[0] = fv_of(get(e, "path"), &sc[0]);
		v[1] = fv_of(access ? access : get(e, "op"), &sc[1]);
		v[2] = fv_of(event, &sc[2]);
		return group_add(s, run, G_FILE, ts, 0, v);
	}
	if (node_is_str(event, "limit.hit")) {
		v[0] = fv_of(get(e, "limit"), &sc[0]);
		v[1] = fv_of(get(e, "value"), &sc[1]);
		v[2] = fv_of(get(e, "action"), &sc[2]);
		return group_add(s, run, G_LIMIT, ts, 0, v);
	}
	if (node_is_str(event, "audit.lost")) {
		v[0] = fv_of(get(e, "source"), &sc[0]);
		if (!get_u64(e, "count", &n))
			n = 0;
		return group_add(s, run, G_LOST, ts, n, v);
	}
	v[0] = fv_of(event, &sc[0]);
	return group_add(s, run, G_OTHER, ts, 0, v);
}

static int run_cmp(const void *a, const void *b)
{
	const struct run_info *x = a, *y = b;

	if (!x->id || !y->id)
		return x->id ? 1 : y->id ? -1 : 0;
	if (x->id_len != y->id_len)
		return x->id_len < y->id_len ? -1 : 1;
	return memcmp(x->id, y->id, x->id_len);
}

static struct run_info *run_free(struct run_info *run)
{
	if (!run)
		return NULL;
	tdestroy(run->tree, group_free_void);
	for (size_t k = 0; k < _G_MAX; k++)
		free(run->groups[k]);
	for (size_t i = 0; i < _S_MAX; i++)
		json_free(run->single[i]);
	free(run->id);
	free(run->reason);
	buf_done(&run->lines);
	free(run->line_map);
	free(run);
	return NULL;
}

static int run_find(struct summary *s, const struct json_node *id, struct run_info **ret)
{
	struct run_info probe = {}, *run, **found;

	if (id) {
		probe.id = id->str;
		probe.id_len = id->len;
	}
	if (s->current && run_cmp(&probe, s->current) == 0) {
		*ret = s->current;
		return 0;
	}
	found = tfind(&probe, &s->run_tree, run_cmp);
	if (found) {
		*ret = *found;
		return 0;
	}
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->lines = (struct buf)BUF_INIT;
	if (id) {
		run->id = memdup_nul(id->str, id->len);
		run->id_len = id->len;
		if (!run->id)
			return run_free(run), -ENOMEM;
	}
	run->index = s->n_runs;
	if (VEC_PUSH(s->runs, s->n_runs, s->cap_runs, run) < 0)
		return run_free(run), -ENOMEM;
	if (!tsearch(run, &s->run_tree, run_cmp)) {
		s->n_runs--;
		return run_free(run), -ENOMEM;
	}
	*ret = run;
	return 0;
}

/* Keeps a line of a run, to verify the run on its own once the file is known to be broken. */
static int run_keep_line(struct run_info *run, const char *line, size_t n, uint64_t lineno,
			 bool last_without_newline)
{
	/* A last line without its newline stays so: the verifier names the truncation. */
	buf_append(&run->lines, line, n);
	if (!last_without_newline)
		buf_putc(&run->lines, '\n');
	if (!buf_ok(&run->lines))
		return -ENOMEM;
	return VEC_PUSH(run->line_map, run->n_map, run->cap_map, lineno);
}

static int read_line(struct summary *s, const char *line, size_t n, bool last_without_newline)
{
	_cleanup_json_free_ struct json_node *root = NULL;
	const struct json_node *id;
	struct run_info *run;
	int r;

	s->lines++;
	r = json_parse(line, n, &root, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || root->type != JSON_OBJECT)
		root = json_free(root);

	/* A line without a readable run id belongs with the lines around it. */
	id = get(root, "run");
	if (id && id->type != JSON_STRING)
		id = NULL;
	if (id || !s->current) {
		r = run_find(s, id, &run);
		if (r < 0)
			return r;
	} else {
		run = s->current;
	}
	s->current = run;
	if (!run->first_line)
		run->first_line = s->lines;
	run->last_line = s->lines;
	run->n_lines++;
	if (s->keep_lines) {
		r = run_keep_line(run, line, n, s->lines, last_without_newline);
		if (r < 0)
			return r;
	}
	if (!root) {
		run->n_unreadable++;
		return 0;
	}
	return ingest(s, run, &root);
}

static int read_all(struct summary *s, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		r = read_line(s, p, n, !nl);
		if (r < 0)
			return r;
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

/*
 * Writes reason with every "line N" (N counted in the run's own lines) turned into the line
 * number in the file.
 */
static void remap_reason(struct buf *out, const char *reason, const uint64_t *map, size_t n)
{
	const char *p = reason;

	while (*p) {
		const char *at = strstr(p, "line ");
		const char *d;
		uint64_t k = 0;

		if (!at) {
			buf_puts(out, p);
			break;
		}
		at += strlen("line ");
		buf_append(out, p, (size_t)(at - p));
		for (d = at; *d >= '0' && *d <= '9' && k < UINT64_MAX / 10; d++)
			k = k * 10 + (uint64_t)(*d - '0');
		if (d > at && k >= 1 && k <= n)
			buf_printf(out, "%" PRIu64, map[k - 1]);
		else if (d > at && k == n + 1 && n > 0)
			buf_printf(out, "%" PRIu64, map[n - 1] + 1);
		else
			buf_append(out, at, (size_t)(d - at));
		p = d;
	}
}

/*
 * When the file is broken, each run is verified on its own (each run's chain starts from its
 * run id), so a reviewer learns which runs are damaged and which still hold together. Runs
 * whose lines were only shuffled together (or written to one file at the same time) are each
 * intact alone; the file-level break at the top says what is wrong with the whole.
 */
static int check_runs(struct summary *s)
{
	for (size_t i = 0; i < s->n_runs; i++) {
		struct run_info *run = s->runs[i];
		struct audit_verify_result res;
		struct buf reason = BUF_INIT;
		int r;

		r = audit_verify(run->lines.data, run->lines.len, &res);
		if (r == -ENOMEM)
			return r;
		if (r == 0)
			continue;
		remap_reason(&reason, res.reason, run->line_map, run->n_map);
		if (!buf_ok(&reason)) {
			buf_done(&reason);
			return -ENOMEM;
		}
		run->broken = true;
		run->bad_line = res.bad_line >= 1 && res.bad_line <= run->n_map
					? run->line_map[res.bad_line - 1]
				: run->n_map ? run->line_map[run->n_map - 1] + 1
					     : 0;
		run->reason = buf_steal(&reason);
	}
	return 0;
}

/* ---- facts shared by all formats ------------------------------------------------------ */

/*
 * A refused DNS query is one refusal with two events: the net.connect deny of the packet to
 * the resolver, and the dns.query deny that names what it asked. The total counts packets
 * (as run.summary does); the DNS group only says what the refused queries carried. A
 * dns.query deny without a refused connection behind it (a writer that logs only queries)
 * still counts.
 */
static uint64_t run_refusals(const struct run_info *run)
{
	uint64_t n = 0;

	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++)
		if (k != G_DNS_DENY)
			n += run->events[k];
	if (run->events[G_DNS_DENY] > run->dns_connect_denies)
		n += run->events[G_DNS_DENY] - run->dns_connect_denies;
	return n;
}

/* The writer's own count of refusals (run.summary), which may include some it had no room to
 * write events for; false when there is none. */
static bool summary_refusals(const struct run_info *run, uint64_t *ret)
{
	return get_u64(get(run->single[S_SUMMARY], "refusals"), "total", ret);
}

/* What the reports count: the larger of the events found and the writer's own total. */
static uint64_t run_refusals_reported(const struct run_info *run)
{
	uint64_t n = run_refusals(run), t;

	return summary_refusals(run, &t) && t > n ? t : n;
}

static uint64_t run_lost(const struct run_info *run)
{
	uint64_t n = 0;

	for (size_t i = 0; i < run->n_groups[G_LOST]; i++)
		n += run->groups[G_LOST][i]->sum;
	return n;
}

/* The run's duration in seconds: run.exit's wall clock, else the span of its timestamps. */
static bool run_duration(const struct run_info *run, double *ret, bool *ret_measured)
{
	if (get_double(run->single[S_EXIT], "wall_s", ret)) {
		*ret_measured = true;
		return true;
	}
	if (!run->first_ts[0])
		return false;
	*ret = (double)(ts_usec(run->last_ts) - ts_usec(run->first_ts)) / 1e6;
	*ret_measured = false;
	return true;
}

/* Whether a word needs no quoting to be read back by a shell. */
static bool shell_plain(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-",
			    s[i]) ||
		    !s[i])
			return false;
	return true;
}

/* argv as a shell would read it back. */
static void command_line(struct buf *b, const struct json_node *argv)
{
	for (size_t i = 0; argv && i < argv->n_items; i++) {
		const struct json_node *a = argv->items[i];

		if (i)
			buf_putc(b, ' ');
		if (a->type != JSON_STRING) {
			node_compact(b, a);
		} else if (shell_plain(a->str, a->len)) {
			buf_append(b, a->str, a->len);
		} else {
			buf_putc(b, '\'');
			for (size_t k = 0; k < a->len; k++)
				if (a->str[k] == '\'')
					buf_puts(b, "'\\''");
				else
					buf_putc(b, a->str[k]);
			buf_putc(b, '\'');
		}
	}
}

/* The items of an array as text joined by sep; false when it is absent or empty. */
static bool join(struct buf *b, const struct json_node *arr, const char *sep)
{
	if (!arr || arr->type != JSON_ARRAY || !arr->n_items)
		return false;
	for (size_t i = 0; i < arr->n_items; i++) {
		if (i)
			buf_puts(b, sep);
		node_text(b, arr->items[i]);
	}
	return true;
}

static void fv_text(struct buf *b, const struct fv *v, const char *absent)
{
	if (v->s)
		buf_append(b, v->s, v->n);
	else
		buf_puts(b, absent);
}

/* A group's target in a line: "tcp 10.0.0.9:443 (db.example)", "socket family=AF_PACKET". */
static void group_target(struct buf *b, const struct group *g, const struct run_info *run)
{
	const struct fv *f = g->f;
	const char *arch;

	switch (g->kind) {
	case G_NET_DENY:
	case G_NET_ALLOW:
	case G_NET_TRACED:
		if (f[0].s) {
			fv_text(b, &f[0], "");
			buf_putc(b, ' ');
		}
		/* An IPv6 address is bracketed before its port, as in a URL. */
		if (f[1].s && memchr(f[1].s, ':', f[1].n) && f[2].s) {
			buf_putc(b, '[');
			fv_text(b, &f[1], "");
			buf_putc(b, ']');
		} else {
			fv_text(b, &f[1], "?");
		}
		if (f[2].s) {
			buf_putc(b, ':');
			fv_text(b, &f[2], "");
		}
		if (f[3].s) {
			buf_puts(b, " (");
			fv_text(b, &f[3], "");
			buf_putc(b, ')');
		}
		break;
	case G_DNS_DENY:
	case G_DNS_SEEN:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		if (f[2].s) {
			buf_puts(b, " (");
			fv_text(b, &f[2], "");
			buf_putc(b, ')');
		}
		break;
	case G_SYSCALL:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		arch = get_str(run->single[S_START], "arch");
		if (f[3].s && !(arch && fv_is(&f[3], arch))) {
			buf_puts(b, " [abi ");
			fv_text(b, &f[3], "");
			buf_putc(b, ']');
		}
		if (f[2].s) {
			buf_puts(b, " -> ");
			fv_text(b, &f[2], "");
		}
		break;
	case G_FILE:
		fv_text(b, &f[1], "?");
		buf_putc(b, ' ');
		fv_text(b, &f[0], "?");
		if (fv_is(&f[2], "file.change"))
			buf_puts(b, " (changed)");
		break;
	case G_LIMIT:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		if (f[2].s) {
			buf_puts(b, " -> ");
			fv_text(b, &f[2], "");
		}
		break;
	case G_LOST:
		fv_text(b, &f[0], "?");
		buf_printf(b, ": %" PRIu64 " event%s lost", g->sum, g->sum == 1 ? "" : "s");
		break;
	default:
		fv_text(b, &f[0], "?");
		break;
	}
}

static int group_sort_cmp(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a,
			   *y = *(const struct group *const *)b;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	/* Missing times sort last. */
	c = strcmp(x->first[0] ? x->first : "~", y->first[0] ? y->first : "~");
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void run_sort(struct run_info *run)
{
	for (size_t k = 0; k < _G_MAX; k++) {
		/* Limits read best in the order they were hit. */
		if (k == G_LIMIT || !run->n_groups[k])
			continue;
		qsort(run->groups[k], run->n_groups[k], sizeof(struct group *), group_sort_cmp);
	}
}

/* ---- writing ------------------------------------------------------------------------- */

struct report {
	enum audit_summary_format format;
	FILE *f;
	const char *name;
	struct summary *s;
	struct buf b;	/* output, flushed after each run */
	struct buf raw; /* a value being composed, before escaping */
	struct buf val; /* a row's value, escaped */
	int error;

	/* JSON writer state. */
	unsigned depth;
	bool first[JSON_DEPTH_MAX + 16];
	bool after_key;
};

static size_t utf8_len(const uint8_t *p, size_t n, uint32_t *ret_cp)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80) {
		*ret_cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	*ret_cp = cp;
	return len;
}

/* Characters that are invisible yet change how the text around them reads. */
static bool invisible(uint32_t cp)
{
	return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/*
 * Appends untrusted text made safe for a terminal and for one line: control characters (C0,
 * DEL, C1) and invisible reordering characters become visible escapes, so a hostile path can
 * neither drive the terminal nor disguise itself.
 */
static void put_safe(struct buf *b, const char *s, size_t n)
{
	const uint8_t *p, *end;

	if (!n)
		return;
	p = (const uint8_t *)s;
	end = p + n;
	while (p < end) {
		uint32_t cp = 0;
		size_t len = utf8_len(p, (size_t)(end - p), &cp);

		if (len == 0) {
			buf_printf(b, "\\x%02x", *p);
			len = 1;
		} else if (cp == '\n') {
			buf_puts(b, "\\n");
		} else if (cp == '\t') {
			buf_puts(b, "\\t");
		} else if (cp < 0x20 || cp == 0x7f) {
			buf_printf(b, "\\x%02x", cp);
		} else if ((cp >= 0x80 && cp < 0xa0) || invisible(cp)) {
			buf_printf(b, "\\u%04x", cp);
		} else {
			buf_append(b, p, len);
		}
		p += len;
	}
}

/*
 * Appends untrusted text as a markdown code span: nothing inside one becomes emphasis, a link
 * or HTML. The fence is one backtick longer than the longest run inside, and a pipe is escaped
 * because GitHub splits table cells before it reads code spans.
 */
static void put_md_code(struct buf *b, const char *s, size_t n)
{
	struct buf safe = BUF_INIT;
	size_t run = 0, longest = 0;
	const char *t;
	bool pad;

	put_safe(&safe, s, n);
	t = buf_str(&safe);
	if (!safe.len) {
		buf_puts(b, "*(empty)*");
		buf_done(&safe);
		return;
	}
	for (size_t i = 0; i < safe.len; i++) {
		run = t[i] == '`' ? run + 1 : 0;
		longest = MAX(longest, run);
	}
	pad = t[0] == '`' || t[safe.len - 1] == '`' || t[0] == ' ' || t[safe.len - 1] == ' ';
	for (size_t i = 0; i <= longest; i++)
		buf_putc(b, '`');
	if (pad)
		buf_putc(b, ' ');
	for (size_t i = 0; i < safe.len; i++) {
		if (t[i] == '\\' && i + 1 < safe.len && t[i + 1] == '|')
			buf_puts(b, "\\x5c");
		else if (t[i] == '|')
			buf_puts(b, "\\|");
		else
			buf_putc(b, t[i]);
	}
	if (pad)
		buf_putc(b, ' ');
	for (size_t i = 0; i <= longest; i++)
		buf_putc(b, '`');
	buf_done(&safe);
}

/* Appends an untrusted value escaped for the report's format (text or markdown). */
static void put_value(struct report *rp, struct buf *b, const char *s, size_t n)
{
	if (rp->format == AUDIT_SUMMARY_MARKDOWN)
		put_md_code(b, s, n);
	else
		put_safe(b, s, n);
}

static void put_value_z(struct report *rp, struct buf *b, const char *s)
{
	put_value(rp, b, s, strlen(s));
}

/* Escapes what was composed in rp->raw into rp->val, and empties raw. */
static void raw_to_val(struct report *rp)
{
	put_value(rp, &rp->val, rp->raw.data ? rp->raw.data : "", rp->raw.len);
	buf_reset(&rp->raw);
}

/* Appends a node's text as an untrusted value. */
static void val_node(struct report *rp, const struct json_node *n)
{
	if (n)
		node_text(&rp->raw, n);
	else
		buf_puts(&rp->raw, "?");
	raw_to_val(rp);
}

static int report_flush(struct report *rp)
{
	if (!buf_ok(&rp->b) || !buf_ok(&rp->raw) || !buf_ok(&rp->val)) {
		rp->error = rp->error ?: -ENOMEM;
	} else if (rp->b.len && fwrite(rp->b.data, 1, rp->b.len, rp->f) != rp->b.len) {
		rp->error = rp->error ?: negative_errno();
	}
	buf_reset(&rp->b);
	return rp->error;
}

/*
 * One "label: value" row. A value holds '\n' only between items (escaped values have none):
 * text continues them under the value column, markdown breaks the cell with <br>.
 */
static void row(struct report *rp, const char *label)
{
	const char *v = buf_str(&rp->val);

	if (rp->format == AUDIT_SUMMARY_MARKDOWN)
		buf_printf(&rp->b, "| %s | ", label);
	else
		buf_printf(&rp->b, "  %-13s ", label);
	for (; *v; v++) {
		if (*v != '\n')
			buf_putc(&rp->b, *v);
		else if (rp->format == AUDIT_SUMMARY_MARKDOWN)
			buf_puts(&rp->b, "<br>");
		else
			buf_puts(&rp->b, "\n                ");
	}
	buf_puts(&rp->b, rp->format == AUDIT_SUMMARY_MARKDOWN ? " |\n" : "\n");
	buf_reset(&rp->val);
}

/* A time for a table: the time of day when it is on the run's first day, else the whole ts. */
static void put_time(struct report *rp, struct buf *b, const char *ts, const struct run_info *run)
{
	if (!ts[0])
		buf_puts(b, "?");
	else if (run->first_ts[0] && memcmp(ts, run->first_ts, 11) == 0)
		buf_append(b, ts + 11, 15);
	else
		buf_puts(b, ts);
}

static void describe_run_by(struct report *rp, const struct run_info *run)
{
	const struct json_node *st = run->single[S_START];
	struct buf *v = &rp->val;
	uint64_t uid, gid, host, sb;

	if (get_u64(st, "caller_uid", &uid))
		buf_printf(v, "uid %" PRIu64, uid);
	else
		buf_puts(v, "uid ?");
	if (get_u64(st, "caller_gid", &gid))
		buf_printf(v, ", gid %" PRIu64, gid);
	if (get_u64(st, "host_uid", &host)) {
		buf_puts(v, "; sandbox user");
		if (get_u64(st, "sandbox_uid", &sb))
			buf_printf(v, " %" PRIu64, sb);
		buf_printf(v, " mapped to host uid %" PRIu64, host);
		if (host == 0)
			buf_puts(v, " (ROOT)");
	}
}

static void describe_when(struct report *rp, const struct run_info *run)
{
	struct buf *v = &rp->val;
	double d;
	bool measured;

	if (run->first_ts[0])
		buf_puts(v, run->first_ts);
	else
		buf_puts(v, "time unknown");
	if (run_duration(run, &d, &measured))
		buf_printf(v, ", %s %.3f s", measured ? "ran" : "events span", d);
}

static void describe_software(struct report *rp, const struct run_info *run)
{
	const struct json_node *st = run->single[S_START];
	const struct json_node *n;

	buf_puts(&rp->val, "skillbox ");
	val_node(rp, get(st, "skillbox") ?: get(st, "version"));
	if ((n = get(st, "kernel"))) {
		buf_puts(&rp->val, ", Linux ");
		val_node(rp, n);
	}
	if ((n = get(st, "arch"))) {
		buf_puts(&rp->val, " ");
		val_node(rp, n);
	}
}

static void describe_list(struct report *rp, const struct json_node *arr, const char *none)
{
	if (join(&rp->raw, arr, " "))
		raw_to_val(rp);
	else
		buf_puts(&rp->val, none);
}

/* Mounts in brief: how many, and the writable and hidden ones in full. */
static void describe_mounts(struct report *rp, const struct run_info *run)
{
	const struct json_node *mounts = get_array(run->single[S_FS], "mounts");
	size_t writable = 0, hidden = 0;

	if (!run->single[S_FS]) {
		buf_puts(&rp->val, "not recorded");
		row(rp, "mounts");
		return;
	}
	for (size_t i = 0; mounts && i < mounts->n_items; i++) {
		const struct json_node *m = mounts->items[i];

		writable += get_is(m, "access", "rw");
		hidden += get_is(m, "kind", "hide");
	}
	buf_printf(&rp->val, "%zu (%zu writable%s", mounts ? mounts->n_items : 0, writable,
		   hidden ? ", " : ")");
	if (hidden)
		buf_printf(&rp->val, "%zu hidden)", hidden);
	row(rp, "mounts");

	for (int pass = 0; pass < 2; pass++) {
		bool any = false;

		for (size_t i = 0; mounts && i < mounts->n_items; i++) {
			const struct json_node *m = mounts->items[i], *host = get(m, "host"),
					       *size = get(m, "size");

			if (pass == 0 ? !get_is(m, "access", "rw") : !get_is(m, "kind", "hide"))
				continue;
			if (any)
				buf_putc(&rp->val, '\n');
			any = true;
			val_node(rp, get(m, "path") ?: get(m, "inside"));
			if (pass == 1)
				continue;
			buf_puts(&rp->val, ": ");
			val_node(rp, get(m, "kind"));
			if (host) {
				buf_puts(&rp->val, " of ");
				val_node(rp, host);
			}
			if (size) {
				buf_puts(&rp->val, ", size ");
				val_node(rp, size);
			}
		}
		if (any)
			row(rp, pass == 0 ? "writable" : "hidden");
	}
}

static void describe_egress(struct report *rp, const struct run_info *run)
{
	const struct json_node *net = run->single[S_NET], *rules = get_array(net, "rules"), *n,
			       *layers = get_array(run->single[S_START], "layers");
	bool any = false;

	if (!net) {
		/* Without the event only the layers tell whether egress rules existed. */
		bool nft = false;

		for (size_t i = 0; layers && i < layers->n_items; i++)
			nft = nft || node_is_str(layers->items[i], "nftables");
		buf_puts(&rp->val,
			 nft ? "rules not recorded (no policy.net event)" : "none (loopback only)");
		row(rp, "egress");
		return;
	}
	for (size_t i = 0; rules && i < rules->n_items; i++) {
		const struct json_node *rule = rules->items[i], *dest, *addrs, *ports;

		if (any)
			buf_putc(&rp->val, '\n');
		any = true;
		if (rule->type != JSON_OBJECT) {
			node_text(&rp->raw, rule);
			raw_to_val(rp);
			continue;
		}
		if ((n = get(rule, "proto"))) {
			node_text(&rp->raw, n);
			buf_putc(&rp->raw, ' ');
		}
		dest = get(rule, "host") ?: get(rule, "cidr") ?: get(rule, "address");
		if (dest)
			node_text(&rp->raw, dest);
		else
			node_compact(&rp->raw, rule);
		addrs = get(rule, "addresses") ?: get(rule, "addrs");
		if (addrs && addrs->type == JSON_ARRAY && addrs->n_items) {
			buf_puts(&rp->raw, " = ");
			join(&rp->raw, addrs, ", ");
		}
		ports = get(rule, "ports") ?: get(rule, "port");
		if (ports && ports->type == JSON_ARRAY) {
			buf_puts(&rp->raw, ports->n_items == 1 ? " port " : " ports ");
			if (!join(&rp->raw, ports, ","))
				buf_puts(&rp->raw, "any");
		} else if (ports) {
			buf_puts(&rp->raw, " port ");
			node_text(&rp->raw, ports);
		}
		if ((n = get(rule, "line"))) {
			buf_puts(&rp->raw, " (manifest line ");
			node_text(&rp->raw, n);
			buf_putc(&rp->raw, ')');
		}
		raw_to_val(rp);
	}
	if (!any)
		buf_puts(&rp->val, "none (loopback only)");
	row(rp, "egress");

	for (size_t i = 0; i < net->n_items; i++) {
		const struct json_node *m = net->items[i];
		static const char *const shown[] = { "dns", "stack", "digest", "sha256" };

		for (size_t k = 0; k < ELEMENTSOF(shown); k++)
			if (m->key_len == strlen(shown[k]) &&
			    memcmp(m->key, shown[k], m->key_len) == 0 && m->type != JSON_NULL) {
				if (rp->raw.len)
					buf_puts(&rp->raw, ", ");
				buf_printf(&rp->raw, "%s ", shown[k]);
				node_text(&rp->raw, m);
			}
	}
	if (rp->raw.len) {
		raw_to_val(rp);
		row(rp, "net policy");
	}
}

static void describe_seccomp(struct report *rp, const struct run_info *run)
{
	const struct json_node *sc = run->single[S_SECCOMP], *n;
	static const struct {
		const char *key, *label;
		bool list;
	} parts[] = {
		{ "default_action", "default", false },
		{ "rules", "rules", false },
		{ "bpf_instructions", "BPF instructions", false },
		{ "allow", "extra allow", true },
		{ "deny", "extra deny", true },
		{ "traced", "traced", true },
		{ "arches", "arches", true },
	};

	if (!sc) {
		buf_puts(&rp->val, "no policy.seccomp event");
		row(rp, "seccomp");
		return;
	}
	buf_puts(&rp->val, "profile ");
	val_node(rp, get(sc, "profile"));
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		n = get(sc, parts[i].key);
		if (!n || (parts[i].list && (n->type != JSON_ARRAY || !n->n_items)))
			continue;
		buf_printf(&rp->val, ", %s ", parts[i].label);
		if (join(&rp->raw, n, " "))
			raw_to_val(rp);
		else
			val_node(rp, n);
	}
	if ((n = get(sc, "bpf_sha256"))) {
		buf_puts(&rp->val, "\nBPF sha256 ");
		val_node(rp, n);
	}
	row(rp, "seccomp");
}

static void describe_limits(struct report *rp, const struct run_info *run)
{
	static const char *const skip[] = { "v",     "seq",  "ts",	     "run",
					    "event", "prev", "memory_rlimit" };
	const struct json_node *l = run->single[S_LIMITS];
	char tmp[32];
	bool any = false;

	if (!l) {
		buf_puts(&rp->val, "no policy.limits event");
		row(rp, "limits");
		return;
	}
	for (size_t i = 0; i < l->n_items; i++) {
		const struct json_node *m = l->items[i];
		bool size, common = false;

		/* The common fields, and how memory is enforced, are not limits. */
		for (size_t k = 0; k < ELEMENTSOF(skip); k++)
			common = common || streq(m->key, skip[k]);
		if (m->type == JSON_NULL || common)
			continue;
		size = streq(m->key, "memory") || streq(m->key, "file_size") ||
		       streq(m->key, "output");
		if (any)
			buf_puts(&rp->val, ", ");
		any = true;
		buf_append(&rp->raw, m->key, m->key_len);
		buf_putc(&rp->raw, ' ');
		if (size && m->type == JSON_NUMBER && m->is_integer && m->integer >= 0)
			buf_puts(&rp->raw, format_size(tmp, sizeof(tmp), (uint64_t)m->integer));
		else
			node_text(&rp->raw, m);
		raw_to_val(rp);
	}
	if (!any)
		buf_puts(&rp->val, "none set");
	row(rp, "limits");
}

static void describe_env(struct report *rp, const struct run_info *run)
{
	static const char *const lists[] = { "defaults", "passed", "set", "secrets", "missing" };
	const struct json_node *env = run->single[S_ENV], *stripped;

	if (!env)
		return;
	for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
		if (!join(&rp->raw, get(env, lists[i]), " "))
			continue;
		buf_printf(&rp->val, "%s%s ", rp->val.len ? "; " : "", lists[i]);
		raw_to_val(rp);
	}
	stripped = get_array(env, "stripped");
	if (stripped && stripped->n_items)
		buf_printf(&rp->val, "%s%zu stripped", rp->val.len ? "; " : "", stripped->n_items);
	if (!rp->val.len)
		buf_puts(&rp->val, "nothing passed");
	row(rp, "environment");
}

static void describe_exit(struct report *rp, const struct run_info *run)
{
	const struct json_node *ex = run->single[S_EXIT], *n;
	struct buf *v = &rp->val;
	uint64_t rss;
	double a, b;

	if (!ex) {
		buf_puts(v, "NO run.exit EVENT (the run did not finish, or the trail was cut)");
		row(rp, "exit");
		return;
	}
	buf_puts(v, "status ");
	if ((n = get(ex, "status")))
		val_node(rp, n);
	else
		buf_puts(v, "?");
	if ((n = get(ex, "reason"))) {
		buf_puts(v, ": ");
		val_node(rp, n);
	}
	if ((n = get(ex, "exit"))) {
		buf_puts(v, ", exit code ");
		val_node(rp, n);
	}
	if ((n = get(ex, "signal"))) {
		buf_puts(v, ", signal ");
		val_node(rp, n);
	}
	if ((n = get(ex, "error"))) {
		buf_puts(v, "\nerror: ");
		val_node(rp, n);
	}
	row(rp, "exit");

	if (get_double(ex, "wall_s", &a))
		buf_printf(v, "wall %.3f s", a);
	if (get_double(ex, "user_cpu_s", &a) && get_double(ex, "sys_cpu_s", &b))
		buf_printf(v, "%scpu %.3f s (user %.3f, sys %.3f)", v->len ? ", " : "", a + b, a,
			   b);
	if (get_u64(ex, "max_rss_kb", &rss))
		buf_printf(v, "%smax RSS %" PRIu64 " KiB", v->len ? ", " : "", rss);
	if (v->len)
		row(rp, "resources");
}

/* Limits the run.summary names that no limit.hit event recorded. */
static void limits_only_in_summary(const struct run_info *run, struct buf *raw)
{
	const struct json_node *hit = get_array(run->single[S_SUMMARY], "limits_hit");

	/* Bounded, as a forged summary could name a million. */
	for (size_t i = 0; hit && i < MIN(hit->n_items, (size_t)32); i++) {
		bool seen = false;

		for (size_t k = 0; k < run->n_groups[G_LIMIT] && !seen; k++) {
			const struct fv *f = &run->groups[G_LIMIT][k]->f[0];

			seen = hit->items[i]->type == JSON_STRING && f->s &&
			       f->n == hit->items[i]->len &&
			       memcmp(f->s, hit->items[i]->str, f->n) == 0;
		}
		if (seen)
			continue;
		if (raw->len)
			buf_puts(raw, ", ");
		node_text(raw, hit->items[i]);
	}
}

static void describe_refusal_counts(struct report *rp, const struct run_info *run)
{
	static const char *const short_names[] = { [G_NET_DENY] = "connections",
						   [G_DNS_DENY] = "dns",
						   [G_SYSCALL] = "syscalls",
						   [G_FILE] = "files" };
	uint64_t total = run_refusals(run), t;
	bool any = false;

	/* Queries already counted as refused connections to the resolver are named apart. */
	uint64_t dns_inside = MIN(run->events[G_DNS_DENY], run->dns_connect_denies);

	buf_printf(&rp->val, "%" PRIu64, total);
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++) {
		uint64_t n = run->events[k] - (k == G_DNS_DENY ? dns_inside : 0);

		if (!n)
			continue;
		buf_printf(&rp->val, "%s%s %" PRIu64, any ? ", " : " (", short_names[k], n);
		any = true;
	}
	if (any)
		buf_putc(&rp->val, ')');
	if (dns_inside)
		buf_printf(&rp->val, "; %" PRIu64 " of the connections were DNS queries",
			   dns_inside);
	if (summary_refusals(run, &t) && t != total)
		buf_printf(&rp->val, "; run.summary counts %" PRIu64, t);
}

/*
 * A verifier's reason, to follow "BROKEN" or a file name: " at line N: why" (the reason's own
 * "line N: " prefix moved), " after line N: ..." as it is, or ": why".
 */
static void broken_reason(struct report *rp, struct buf *b, uint64_t bad_line, const char *reason)
{
	char prefix[48];

	snprintf(prefix, sizeof(prefix), "line %" PRIu64 ": ", bad_line);
	if (strneq(reason, prefix, strlen(prefix))) {
		buf_printf(b, " at line %" PRIu64 ": ", bad_line);
		reason += strlen(prefix);
	} else if (strneq(reason, "after ", strlen("after "))) {
		buf_putc(b, ' ');
	} else {
		buf_puts(b, ": ");
	}
	put_value_z(rp, b, reason);
}

static void integrity_text(struct report *rp, const struct run_info *run)
{
	if (run->broken) {
		buf_puts(&rp->val, "BROKEN");
		broken_reason(rp, &rp->val, run->bad_line, run->reason ? run->reason : "");
	} else if (rp->s->broken) {
		buf_puts(&rp->val, "intact on its own (the file as a whole is not)");
	} else {
		buf_puts(&rp->val, "intact");
	}
}

static void text_groups(struct report *rp, const struct run_info *run, enum group_kind k)
{
	if (!run->n_groups[k])
		return;
	buf_printf(&rp->b, "  %s: %" PRIu64 " (%zu distinct)\n", kind_info[k].title, run->events[k],
		   run->n_groups[k]);
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		buf_printf(&rp->b, "    %6" PRIu64 "x  ", g->count);
		group_target(&rp->raw, g, run);
		put_safe(&rp->b, rp->raw.data ? rp->raw.data : "", rp->raw.len);
		buf_reset(&rp->raw);
		if (g->first[0]) {
			buf_puts(&rp->b, g->count > 1 ? "  (first " : "  (at ");
			put_time(rp, &rp->b, g->first, run);
			if (g->count > 1) {
				buf_puts(&rp->b, ", last ");
				put_time(rp, &rp->b, g->last, run);
			}
			buf_putc(&rp->b, ')');
		}
		buf_putc(&rp->b, '\n');
	}
}

/* The facts rows, shared by text and markdown. */
static void run_rows(struct report *rp, const struct run_info *run)
{
	const struct json_node *st = run->single[S_START], *n;
	uint64_t lost = run_lost(run);

	integrity_text(rp, run);
	row(rp, "integrity");
	if (run->id)
		put_value(rp, &rp->val, run->id, run->id_len);
	else
		buf_puts(&rp->val, "none (lines without a run id)");
	if (run->first_line == run->last_line)
		buf_printf(&rp->val, ", line %" PRIu64, run->first_line);
	else
		buf_printf(&rp->val, ", lines %" PRIu64 "-%" PRIu64, run->first_line,
			   run->last_line);
	if (run->n_lines != run->last_line - run->first_line + 1)
		buf_printf(&rp->val, " (%" PRIu64 " of them)", run->n_lines);
	row(rp, "run");
	if (run->n_unreadable)
		buf_printf(&rp->val, "%" PRIu64 " unreadable line%s", run->n_unreadable,
			   run->n_unreadable == 1 ? "" : "s");
	if (run->n_repeated)
		buf_printf(&rp->val,
			   "%s%" PRIu64 " repeated one-off event%s (run.start, policy.*, "
			   "run.exit or run.summary; the first is shown)",
			   rp->val.len ? ", " : "", run->n_repeated,
			   run->n_repeated == 1 ? "" : "s");
	if (rp->val.len) {
		row(rp, "ANOMALIES");
	}
	if (!st) {
		buf_puts(&rp->val, "NO run.start EVENT: who ran what is unknown");
		row(rp, "start");
	}
	if ((n = get(st, "skill"))) {
		node_text(&rp->raw, n);
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "unknown (no valid manifest)");
	}
	row(rp, "skill");
	if ((n = get(st, "manifest"))) {
		node_text(&rp->raw, n);
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "unknown");
	}
	if ((n = get(st, "manifest_sha256"))) {
		buf_puts(&rp->val, "\nsha256 ");
		node_text(&rp->raw, n);
		raw_to_val(rp);
	}
	row(rp, "manifest");
	if ((n = get_array(st, "argv")) && n->n_items) {
		command_line(&rp->raw, n);
		raw_to_val(rp);
		row(rp, "command");
	}
	describe_run_by(rp, run);
	row(rp, "ran by");
	describe_when(rp, run);
	row(rp, "when");
	describe_software(rp, run);
	row(rp, "software");
	describe_list(rp, get(st, "layers"), "none");
	row(rp, "layers");
	if ((n = get(st, "network_stack"))) {
		node_text(&rp->raw, n);
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "unknown");
	}
	row(rp, "network");
	describe_list(rp, get(st, "trace"), "none");
	row(rp, "tracing");
	describe_mounts(rp, run);
	describe_egress(rp, run);
	describe_seccomp(rp, run);
	describe_limits(rp, run);
	describe_env(rp, run);
	describe_exit(rp, run);

	limits_only_in_summary(run, &rp->raw);
	if (run->n_groups[G_LIMIT] || rp->raw.len) {
		for (size_t i = 0; i < run->n_groups[G_LIMIT]; i++) {
			if (i)
				buf_puts(&rp->raw, ", ");
			group_target(&rp->raw, run->groups[G_LIMIT][i], run);
			if (run->groups[G_LIMIT][i]->count > 1)
				buf_printf(&rp->raw, " (%" PRIu64 " times)",
					   run->groups[G_LIMIT][i]->count);
		}
		/* The summary-only ones were composed first; the order does not matter. */
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "none");
	}
	row(rp, "limits hit");
	if (run->n_files_declared) {
		buf_printf(&rp->val, "%" PRIu64 " within the manifest", run->n_files_declared);
		row(rp, "file events");
	}
	if (lost) {
		buf_printf(&rp->val,
			   "%" PRIu64 " EVENTS LOST: the refusals below are a lower bound", lost);
		row(rp, "lost");
	}
}

static void text_run(struct report *rp, const struct run_info *run)
{
	const struct json_node *skill = get(run->single[S_START], "skill");

	buf_printf(&rp->b, "\n== run %zu of %zu", run->index + 1, rp->s->n_runs);
	if (skill) {
		buf_puts(&rp->b, ": ");
		node_text(&rp->raw, skill);
		put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	}
	buf_puts(&rp->b, run->broken ? "  [CHAIN BROKEN] ==\n" : " ==\n");
	run_rows(rp, run);
	describe_refusal_counts(rp, run);
	row(rp, "REFUSALS");
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++)
		text_groups(rp, run, k);
	text_groups(rp, run, G_LOST);
	text_groups(rp, run, G_SENSITIVE);
	text_groups(rp, run, G_NET_ALLOW);
	text_groups(rp, run, G_NET_TRACED);
	text_groups(rp, run, G_DNS_SEEN);
	text_groups(rp, run, G_EXEC);
	text_groups(rp, run, G_OTHER);
}

static void verified_lines(struct buf *b, const struct summary *s)
{
	if (s->verify.lines)
		buf_printf(b, "Only lines 1-%" PRIu64 " verify as one chain.", s->verify.lines);
	else
		buf_puts(b, "No line verifies.");
}

static void text_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += run_refusals_reported(s->runs[i]);
	buf_puts(&rp->b, "skillbox audit summary: ");
	put_safe(&rp->b, rp->name, strlen(rp->name));
	buf_putc(&rp->b, '\n');
	if (s->broken) {
		buf_puts(&rp->b,
			 "################################################################"
			 "################\n"
			 "##  CHAIN BROKEN: THIS AUDIT TRAIL WAS ALTERED, TRUNCATED OR FORGED\n"
			 "##  ");
		put_safe(&rp->b, rp->name, strlen(rp->name));
		broken_reason(rp, &rp->b, s->verify.bad_line, s->verify.reason);
		buf_puts(&rp->b, "\n##  ");
		verified_lines(&rp->b, s);
		buf_puts(&rp->b,
			 "\n##  Everything is still summarised below, as found; each run says "
			 "whether its own\n##  chain holds.\n"
			 "################################################################"
			 "################\n");
	} else {
		buf_printf(&rp->b,
			   "chain: intact, %" PRIu64 " line%s, %" PRIu64 " run%s, head sha256:%s\n",
			   s->verify.lines, s->verify.lines == 1 ? "" : "s", s->verify.runs,
			   s->verify.runs == 1 ? "" : "s", s->verify.head);
	}
	buf_printf(&rp->b, "refusals: %" PRIu64 "\n", total);
}

/* ---- markdown ------------------------------------------------------------------------ */

static void md_groups(struct report *rp, const struct run_info *run, enum group_kind k)
{
	size_t shown = MIN(run->n_groups[k], (size_t)MARKDOWN_ROWS_MAX);
	uint64_t hidden_events = 0;

	if (!run->n_groups[k])
		return;
	buf_printf(&rp->b,
		   "\n#### %c%s (%" PRIu64 ")\n\n| Count | %s | First | Last |\n"
		   "|---:|---|---|---|\n",
		   toupper((unsigned char)kind_info[k].title[0]), kind_info[k].title + 1,
		   run->events[k], kind_info[k].noun);
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		if (i >= shown) {
			hidden_events += g->count;
			continue;
		}
		buf_printf(&rp->b, "| %" PRIu64 " | ", g->count);
		group_target(&rp->raw, g, run);
		put_md_code(&rp->b, rp->raw.data ? rp->raw.data : "", rp->raw.len);
		buf_reset(&rp->raw);
		buf_puts(&rp->b, " | ");
		put_time(rp, &rp->b, g->first, run);
		buf_puts(&rp->b, " | ");
		put_time(rp, &rp->b, g->last, run);
		buf_puts(&rp->b, " |\n");
	}
	if (shown < run->n_groups[k])
		buf_printf(&rp->b,
			   "\n%zu more rows (%" PRIu64 " events) not shown here; "
			   "`skillbox audit summary --format text` lists them all.\n",
			   run->n_groups[k] - shown, hidden_events);
}

static void md_run(struct report *rp, const struct run_info *run)
{
	const struct json_node *skill = get(run->single[S_START], "skill"),
			       *ex = run->single[S_EXIT];
	uint64_t refusals = run_refusals_reported(run);

	buf_printf(&rp->b, "\n## Run %zu of %zu: ", run->index + 1, rp->s->n_runs);
	if (skill) {
		node_text(&rp->raw, skill);
		put_md_code(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	} else {
		buf_puts(&rp->b, "unknown skill");
	}
	if (get(ex, "status")) {
		buf_puts(&rp->b, ", exit ");
		node_text(&rp->raw, get(ex, "status"));
		put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	}
	buf_puts(&rp->b, "\n\n");
	if (run->broken) {
		buf_puts(&rp->b, "❌ **CHAIN BROKEN**");
		broken_reason(rp, &rp->b, run->bad_line, run->reason ? run->reason : "");
		buf_puts(&rp->b, "\n\n");
	} else {
		buf_printf(&rp->b, "✅ Chain intact%s\n\n",
			   rp->s->broken
				   ? " for this run on its own (the file as a whole is broken)"
				   : "");
	}
	buf_printf(&rp->b, "%s **Refusals: %" PRIu64 "**\n\n", refusals ? "❌" : "✅", refusals);

	buf_puts(&rp->b, "| | |\n|---|---|\n");
	run_rows(rp, run);
	describe_refusal_counts(rp, run);
	row(rp, "refusals");

	if (refusals || run->n_groups[G_LOST]) {
		buf_puts(&rp->b, "\n### Refusals\n");
		for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++)
			md_groups(rp, run, k);
		md_groups(rp, run, G_LOST);
	}
	if (run->n_groups[G_SENSITIVE]) {
		buf_puts(&rp->b, "\n### ⚠️ Credential hunting\n");
		md_groups(rp, run, G_SENSITIVE);
	}
	if (run->n_groups[G_NET_ALLOW] || run->n_groups[G_NET_TRACED] ||
	    run->n_groups[G_DNS_SEEN] || run->n_groups[G_EXEC] || run->n_groups[G_OTHER]) {
		buf_puts(&rp->b, "\n### Activity\n");
		md_groups(rp, run, G_NET_ALLOW);
		md_groups(rp, run, G_NET_TRACED);
		md_groups(rp, run, G_DNS_SEEN);
		md_groups(rp, run, G_EXEC);
		md_groups(rp, run, G_OTHER);
	}
}

static void md_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += run_refusals_reported(s->runs[i]);
	buf_puts(&rp->b, "# skillbox audit: ");
	put_md_code(&rp->b, rp->name, strlen(rp->name));
	buf_puts(&rp->b, "\n\n");
	if (s->broken) {
		buf_puts(&rp->b, "❌ **CHAIN INTEGRITY: BROKEN**");
		broken_reason(rp, &rp->b, s->verify.bad_line, s->verify.reason);
		buf_puts(&rp->b, "\n\n> **This audit trail was altered, truncated or forged.** ");
		verified_lines(&rp->b, s);
		buf_puts(&rp->b, " Everything is still summarised below, as found; each run says "
				 "whether its own chain holds.\n\n");
	} else {
		buf_printf(&rp->b,
			   "✅ **Chain integrity: intact** (%" PRIu64 " line%s, %" PRIu64
			   " run%s, head `sha256:%s`)\n\n",
			   s->verify.lines, s->verify.lines == 1 ? "" : "s", s->verify.runs,
			   s->verify.runs == 1 ? "" : "s", s->verify.head);
	}
	buf_printf(&rp->b, "%s **Refusals: %" PRIu64 "**\n", total ? "❌" : "✅", total);

	if (s->n_runs < 2)
		return;
	buf_puts(&rp->b, "\n| Run | Skill | Exit | Refusals | Chain |\n|---:|---|---|---:|---|\n");
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct run_info *run = s->runs[i];
		const struct json_node *n = get(run->single[S_START], "skill");

		buf_printf(&rp->b, "| %zu | ", i + 1);
		if (n) {
			node_text(&rp->raw, n);
			put_md_code(&rp->b, rp->raw.data, rp->raw.len);
			buf_reset(&rp->raw);
		} else {
			buf_puts(&rp->b, "?");
		}
		buf_puts(&rp->b, " | ");
		n = get(run->single[S_EXIT], "status");
		if (n)
			node_text(&rp->raw, n);
		else
			buf_puts(&rp->raw, "?");
		put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
		buf_printf(&rp->b, " | %" PRIu64 " | %s |\n", run_refusals_reported(run),
			   run->broken ? "❌ broken" : "✅ intact");
	}
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void jw_newline(struct report *rp)
{
	buf_putc(&rp->b, '\n');
	for (unsigned i = 0; i < rp->depth; i++)
		buf_puts(&rp->b, "  ");
}

/* Before a value: a comma and a new line inside a container, nothing after a key. */
static void jw_sep(struct report *rp)
{
	if (rp->after_key) {
		rp->after_key = false;
		return;
	}
	if (rp->depth == 0)
		return;
	if (!rp->first[rp->depth])
		buf_putc(&rp->b, ',');
	rp->first[rp->depth] = false;
	jw_newline(rp);
}

static void jw_open(struct report *rp, char c)
{
	jw_sep(rp);
	buf_putc(&rp->b, c);
	if (rp->depth + 1 < ELEMENTSOF(rp->first))
		rp->depth++;
	rp->first[rp->depth] = true;
}

static void jw_close(struct report *rp, char c)
{
	bool empty = rp->first[rp->depth];

	if (rp->depth)
		rp->depth--;
	if (!empty)
		jw_newline(rp);
	buf_putc(&rp->b, c);
}

static void jw_key(struct report *rp, const char *key, size_t n)
{
	jw_sep(rp);
	json_escape(&rp->b, key, n);
	buf_puts(&rp->b, ": ");
	rp->after_key = true;
}

static void jw_k(struct report *rp, const char *key)
{
	jw_key(rp, key, strlen(key));
}

static void jw_str(struct report *rp, const char *s, size_t n)
{
	jw_sep(rp);
	if (s)
		json_escape(&rp->b, s, n);
	else
		buf_puts(&rp->b, "null");
}

static void jw_strz(struct report *rp, const char *s)
{
	jw_str(rp, s, s ? strlen(s) : 0);
}

_printf_(2, 3) static void jw_rawf(struct report *rp, const char *fmt, ...)
{
	va_list ap;

	jw_sep(rp);
	va_start(ap, fmt);
	buf_vprintf(&rp->b, fmt, ap);
	va_end(ap);
}

static void jw_node(struct report *rp, const struct json_node *n)
{
	if (!n) {
		jw_rawf(rp, "null");
		return;
	}
	switch (n->type) {
	case JSON_ARRAY:
	case JSON_OBJECT:
		jw_open(rp, n->type == JSON_ARRAY ? '[' : '{');
		for (size_t i = 0; i < n->n_items; i++) {
			if (n->type == JSON_OBJECT)
				jw_key(rp, n->items[i]->key, n->items[i]->key_len);
			jw_node(rp, n->items[i]);
		}
		jw_close(rp, n->type == JSON_ARRAY ? ']' : '}');
		break;
	case JSON_STRING:
		jw_str(rp, n->str, n->len);
		break;
	default:
		jw_sep(rp);
		node_compact(&rp->b, n);
		break;
	}
}

/* A member copied from an event as it is (null when missing). */
static void jw_copy(struct report *rp, const struct json_node *obj, const char *key, const char *as)
{
	jw_k(rp, as ? as : key);
	jw_node(rp, get(obj, key));
}

static void jw_fv(struct report *rp, const struct fv *v)
{
	if (!v->s)
		jw_rawf(rp, "null");
	else if (!v->raw)
		jw_str(rp, v->s, v->n);
	else {
		jw_sep(rp);
		buf_append(&rp->b, v->s, v->n);
	}
}

static void jw_groups(struct report *rp, const struct run_info *run, enum group_kind k)
{
	jw_k(rp, kind_info[k].json);
	jw_open(rp, '[');
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		jw_open(rp, '{');
		for (size_t f = 0; f < GROUP_FIELDS_MAX && kind_info[k].fields[f]; f++) {
			jw_k(rp, kind_info[k].fields[f]);
			jw_fv(rp, &g->f[f]);
		}
		jw_k(rp, "count");
		jw_rawf(rp, "%" PRIu64, g->count);
		if (k == G_LOST) {
			jw_k(rp, "lost");
			jw_rawf(rp, "%" PRIu64, g->sum);
		}
		jw_k(rp, "first");
		jw_strz(rp, g->first[0] ? g->first : NULL);
		jw_k(rp, "last");
		jw_strz(rp, g->last[0] ? g->last : NULL);
		jw_close(rp, '}');
	}
	jw_close(rp, ']');
}

static void json_run(struct report *rp, const struct run_info *run)
{
	const struct json_node *st = run->single[S_START], *fs = run->single[S_FS],
			       *mounts = get_array(fs, "mounts"), *net = run->single[S_NET], *n;
	uint64_t t;
	double d;
	bool measured;

	jw_open(rp, '{');
	jw_k(rp, "run");
	jw_str(rp, run->id, run->id_len);
	jw_k(rp, "first_line");
	jw_rawf(rp, "%" PRIu64, run->first_line);
	jw_k(rp, "last_line");
	jw_rawf(rp, "%" PRIu64, run->last_line);
	jw_k(rp, "lines");
	jw_rawf(rp, "%" PRIu64, run->n_lines);
	jw_k(rp, "unreadable_lines");
	jw_rawf(rp, "%" PRIu64, run->n_unreadable);
	jw_k(rp, "repeated_events");
	jw_rawf(rp, "%" PRIu64, run->n_repeated);
	jw_k(rp, "integrity");
	jw_open(rp, '{');
	jw_k(rp, "intact");
	jw_rawf(rp, run->broken ? "false" : "true");
	jw_k(rp, "bad_line");
	if (run->broken)
		jw_rawf(rp, "%" PRIu64, run->bad_line);
	else
		jw_rawf(rp, "null");
	jw_k(rp, "reason");
	jw_strz(rp, run->broken ? run->reason : NULL);
	jw_close(rp, '}');

	jw_copy(rp, st, "skill", NULL);
	jw_copy(rp, st, "manifest", NULL);
	jw_copy(rp, st, "manifest_sha256", NULL);
	jw_copy(rp, st, "argv", NULL);
	jw_copy(rp, st, "caller_uid", NULL);
	jw_copy(rp, st, "caller_gid", NULL);
	jw_copy(rp, st, "host_uid", NULL);
	jw_copy(rp, st, "sandbox_uid", NULL);
	jw_k(rp, "started");
	jw_strz(rp, run->first_ts[0] ? run->first_ts : NULL);
	jw_k(rp, "last_event");
	jw_strz(rp, run->last_ts[0] ? run->last_ts : NULL);
	jw_k(rp, "duration_s");
	if (run_duration(run, &d, &measured))
		jw_rawf(rp, "%.6f", d);
	else
		jw_rawf(rp, "null");
	jw_copy(rp, st, "skillbox", "skillbox_version");
	jw_copy(rp, st, "kernel", NULL);
	jw_copy(rp, st, "arch", NULL);
	jw_copy(rp, st, "layers", NULL);
	jw_copy(rp, st, "network_stack", NULL);
	jw_copy(rp, st, "trace", NULL);

	jw_k(rp, "policy");
	jw_open(rp, '{');
	jw_k(rp, "mounts");
	if (fs)
		jw_rawf(rp, "%zu", mounts ? mounts->n_items : 0);
	else
		jw_rawf(rp, "null");
	jw_k(rp, "writable");
	jw_open(rp, '[');
	for (size_t i = 0; mounts && i < mounts->n_items; i++)
		if (get_is(mounts->items[i], "access", "rw"))
			jw_node(rp, mounts->items[i]);
	jw_close(rp, ']');
	jw_k(rp, "hidden");
	jw_open(rp, '[');
	for (size_t i = 0; mounts && i < mounts->n_items; i++)
		if (get_is(mounts->items[i], "kind", "hide"))
			jw_node(rp, get(mounts->items[i], "path"));
	jw_close(rp, ']');
	jw_k(rp, "egress");
	jw_node(rp, get_array(net, "rules"));
	jw_copy(rp, net, "dns", NULL);
	jw_copy(rp, net, "stack", NULL);
	jw_copy(rp, net, "digest", "net_digest");
	jw_k(rp, "seccomp");
	if (run->single[S_SECCOMP]) {
		jw_open(rp, '{');
		for (size_t i = 0; i < run->single[S_SECCOMP]->n_items; i++) {
			const struct json_node *m = run->single[S_SECCOMP]->items[i];
			static const char *const skip[] = {
				"v", "seq", "ts", "run", "event", "prev"
			};
			bool common = false;

			for (size_t k = 0; k < ELEMENTSOF(skip); k++)
				common = common || streq(m->key, skip[k]);
			if (common)
				continue;
			jw_key(rp, m->key, m->key_len);
			jw_node(rp, m);
		}
		jw_close(rp, '}');
	} else {
		jw_rawf(rp, "null");
	}
	jw_k(rp, "limits");
	jw_open(rp, '{');
	for (size_t i = 0; run->single[S_LIMITS] && i < run->single[S_LIMITS]->n_items; i++) {
		const struct json_node *m = run->single[S_LIMITS]->items[i];

		if (m->type == JSON_NULL || streq(m->key, "v") || streq(m->key, "seq") ||
		    streq(m->key, "ts") || streq(m->key, "run") || streq(m->key, "event") ||
		    streq(m->key, "prev"))
			continue;
		jw_key(rp, m->key, m->key_len);
		jw_node(rp, m);
	}
	jw_close(rp, '}');
	jw_k(rp, "env");
	jw_open(rp, '{');
	jw_copy(rp, run->single[S_ENV], "passed", NULL);
	jw_copy(rp, run->single[S_ENV], "set", NULL);
	jw_copy(rp, run->single[S_ENV], "secrets", NULL);
	jw_copy(rp, run->single[S_ENV], "missing", NULL);
	jw_k(rp, "stripped");
	n = get_array(run->single[S_ENV], "stripped");
	jw_rawf(rp, "%zu", n ? n->n_items : 0);
	jw_close(rp, '}');
	jw_close(rp, '}');

	jw_k(rp, "exit");
	if (run->single[S_EXIT]) {
		jw_open(rp, '{');
		for (size_t i = 0; i < run->single[S_EXIT]->n_items; i++) {
			const struct json_node *m = run->single[S_EXIT]->items[i];

			if (streq(m->key, "v") || streq(m->key, "seq") || streq(m->key, "run") ||
			    streq(m->key, "event") || streq(m->key, "prev"))
				continue;
			jw_key(rp, m->key, m->key_len);
			jw_node(rp, m);
		}
		jw_close(rp, '}');
	} else {
		jw_rawf(rp, "null");
	}

	jw_k(rp, "refusals");
	jw_open(rp, '{');
	jw_k(rp, "total");
	jw_rawf(rp, "%" PRIu64, run_refusals_reported(run));
	jw_k(rp, "from_events");
	jw_rawf(rp, "%" PRIu64, run_refusals(run));
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++) {
		jw_k(rp, kind_info[k].json);
		jw_rawf(rp, "%" PRIu64, run->events[k]);
	}
	jw_k(rp, "run_summary_total");
	if (summary_refusals(run, &t))
		jw_rawf(rp, "%" PRIu64, t);
	else
		jw_rawf(rp, "null");
	jw_copy(rp, run->single[S_SUMMARY], "examples", "run_summary_examples");
	jw_close(rp, '}');
	jw_k(rp, "events_lost");
	jw_rawf(rp, "%" PRIu64, run_lost(run));
	for (int k = G_REFUSAL_FIRST; k <= G_LOST; k++)
		jw_groups(rp, run, k);
	jw_groups(rp, run, G_SENSITIVE);
	jw_groups(rp, run, G_LIMIT);
	jw_copy(rp, run->single[S_SUMMARY], "limits_hit", "run_summary_limits_hit");
	jw_groups(rp, run, G_NET_ALLOW);
	jw_groups(rp, run, G_NET_TRACED);
	jw_groups(rp, run, G_DNS_SEEN);
	jw_groups(rp, run, G_EXEC);
	jw_k(rp, "file_events_declared");
	jw_rawf(rp, "%" PRIu64, run->n_files_declared);
	jw_groups(rp, run, G_OTHER);
	jw_close(rp, '}');
}

static void json_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += run_refusals_reported(s->runs[i]);
	jw_open(rp, '{');
	jw_k(rp, "file");
	jw_strz(rp, rp->name);
	jw_k(rp, "chain");
	jw_open(rp, '{');
	jw_k(rp, "intact");
	jw_rawf(rp, s->broken ? "false" : "true");
	jw_k(rp, "lines_verified");
	jw_rawf(rp, "%" PRIu64, s->verify.lines);
	jw_k(rp, "runs_verified");
	jw_rawf(rp, "%" PRIu64, s->verify.runs);
	jw_k(rp, "head");
	jw_strz(rp, s->broken ? NULL : s->verify.head);
	jw_k(rp, "bad_line");
	if (s->broken)
		jw_rawf(rp, "%" PRIu64, s->verify.bad_line);
	else
		jw_rawf(rp, "null");
	jw_k(rp, "reason");
	jw_strz(rp, s->broken ? s->verify.reason : NULL);
	jw_close(rp, '}');
	jw_k(rp, "lines");
	jw_rawf(rp, "%" PRIu64, s->lines);
	jw_k(rp, "refusals");
	jw_rawf(rp, "%" PRIu64, total);
	jw_k(rp, "runs");
	jw_open(rp, '[');
}

/* ---- entry --------------------------------------------------------------------------- */

static void summary_done(struct summary *s)
{
	/* The tree does not own the runs; the array does. */
	tdestroy(s->run_tree, no_free);
	for (size_t i = 0; i < s->n_runs; i++)
		run_free(s->runs[i]);
	free(s->runs);
	buf_done(&s->key);
	for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
		buf_done(&s->scratch[i]);
}

static int write_report(struct report *rp)
{
	struct summary *s = rp->s;

	switch (rp->format) {
	case AUDIT_SUMMARY_TEXT:
		text_header(rp);
		break;
	case AUDIT_SUMMARY_MARKDOWN:
		md_header(rp);
		break;
	case AUDIT_SUMMARY_JSON:
		json_header(rp);
		break;
	}
	if (!s->n_runs && rp->format != AUDIT_SUMMARY_JSON)
		buf_puts(&rp->b, "\nNo runs in this file.\n");
	for (size_t i = 0; i < s->n_runs && report_flush(rp) == 0; i++) {
		if (rp->format == AUDIT_SUMMARY_TEXT)
			text_run(rp, s->runs[i]);
		else if (rp->format == AUDIT_SUMMARY_MARKDOWN)
			md_run(rp, s->runs[i]);
		else
			json_run(rp, s->runs[i]);
	}
	if (rp->format == AUDIT_SUMMARY_JSON) {
		jw_close(rp, ']');
		jw_close(rp, '}');
		buf_putc(&rp->b, '\n');
	}
	report_flush(rp);
	if (!rp->error && fflush(rp->f) != 0)
		rp->error = negative_errno();
	return rp->error;
}

int audit_summary_write(FILE *out, const char *name, const char *data, size_t len,
			enum audit_summary_format format)
{
	struct summary s = { .key = BUF_INIT };
	struct report rp = {
		.format = format,
		.f = out,
		.name = name ? name : "(audit trail)",
		.s = &s,
		.b = BUF_INIT,
		.raw = BUF_INIT,
		.val = BUF_INIT,
	};
	int r;

	if (!out || (!data && len) || (unsigned)format > AUDIT_SUMMARY_JSON)
		return -EINVAL;
	for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
		s.scratch[i] = (struct buf)BUF_INIT;

	r = audit_verify(data, len, &s.verify);
	if (r < 0 && r != -EBADMSG)
		goto finish;
	s.broken = r == -EBADMSG;
	/* Lines are kept per run only to find which runs a break touches. */
	s.keep_lines = s.broken;
	r = len ? read_all(&s, data, len) : 0;
	if (r == 0 && s.broken)
		r = check_runs(&s);
	if (r < 0)
		goto finish;
	for (size_t i = 0; i < s.n_runs; i++)
		run_sort(s.runs[i]);
	r = write_report(&rp);
	if (r == 0 && s.broken)
		r = -EBADMSG;
finish:
	buf_done(&rp.b);
	buf_done(&rp.raw);
	buf_done(&rp.val);
	summary_done(&s);
	return r;
}
