/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "summary-internal.h"

/*
 * The first pass of `audit summary`: every line of the file is read into the state of the run
 * it belongs to. The one-off events (run.start, policy.*, run.exit, run.summary) are kept
 * whole; every other event is classified here (a refusal, an allowed connection, a program,
 * ...) and counted in its group by summary-aggregate.c. When the file's chain is broken, each
 * run is verified again on its own, so that the report can say which runs the break touches.
 *
 * Everything in the file is untrusted: a tampered file can hold anything at all, so every field
 * may be missing or of another type.
 */

static const char *const single_events[_S_MAX] = {
	[S_START] = "run.start",
	[S_FS] = "policy.fs",
	[S_ENV] = "policy.env",
	[S_LIMITS] = "policy.limits",
	[S_SECCOMP] = "policy.seccomp",
	[S_NET] = "policy.net",
	[S_ISOLATION] = "policy.isolation",
	[S_EXIT] = "run.exit",
	[S_SUMMARY] = "run.summary",
};

/* A number's value (an integer read as a double, as the reports only show it rounded). */
bool summary_get_double(const json_t *obj, const char *key, double *ret)
{
	const json_t *n = get(obj, key);

	if (!json_is_number(n))
		return false;
	*ret = json_number_value(n);
	return true;
}

/* A node as display text: a string as itself, anything else as its JSON text. */
void summary_node_text(struct buf *b, const json_t *n)
{
	if (json_is_string(n))
		buf_append(b, json_string_value(n), json_string_length(n));
	else if (n)
		json_compact_text(b, n);
}

/*
 * Borrows a field value from a node: a string's bytes from the tree; numbers and containers
 * are written to scratch as JSON text (jansson keeps a number's value, not its text).
 */
static struct fv fv_of(const json_t *n, struct buf *scratch)
{
	if (!n || json_is_null(n))
		return (struct fv){};
	switch (json_typeof(n)) {
	case JSON_STRING:
		return (struct fv){ json_string_value(n), json_string_length(n), false };
	case JSON_TRUE:
		return (struct fv){ "true", 4, true };
	case JSON_FALSE:
		return (struct fv){ "false", 5, true };
	default:
		buf_reset(scratch);
		json_compact_text(scratch, n);
		return (struct fv){ buf_str(scratch), scratch->len, true };
	}
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
int64_t summary_ts_usec(const char *s)
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
void summary_ts_note(char first[TS_MAX], char last[TS_MAX], const json_t *ts)
{
	const char *s = json_string_value(ts);

	/* ts_valid() makes s 27 bytes and its NUL: TS_MAX. */
	if (!s || !ts_valid(s, json_string_length(ts)))
		return;
	if (!first[0] || strcmp(s, first) < 0)
		memcpy(first, s, TS_MAX);
	if (!last[0] || strcmp(s, last) > 0)
		memcpy(last, s, TS_MAX);
}

/* Is a verdict an allowing one? Anything else that is present counts as a refusal. */
static bool verdict_allows(const json_t *n)
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
static struct fv syscall_args(const json_t *e, struct buf *scratch)
{
	static const char *const known[] = { "v",   "seq",	"ts",	"run",	 "event",   "prev",
					     "pid", "host_pid", "tid",	"ppid",	 "syscall", "abi",
					     "nr",  "errno",	"arch", "source" };

	const char *key;
	const json_t *m;

	buf_reset(scratch);
	JSON_FOREACH_MEMBER (e, key, m) {
		bool skip = false;

		for (size_t k = 0; k < ELEMENTSOF(known) && !skip; k++)
			skip = streq(known[k], key);
		if (skip)
			continue;
		if (scratch->len)
			buf_putc(scratch, ' ');
		buf_puts(scratch, key);
		buf_putc(scratch, '=');
		summary_node_text(scratch, m);
	}
	if (!scratch->len)
		return (struct fv){};
	return (struct fv){ buf_str(scratch), scratch->len, false };
}

/* The group of the line with this seq, when it went to one. */
static struct group *group_of_seq(const struct run_info *run, uint64_t seq)
{
	size_t lo = 0, hi = run->n_by_seq;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (run->by_seq[mid].seq == seq)
			return run->by_seq[mid].g;
		if (run->by_seq[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * audit.repeated: the repeats of one line, counted by the writer's flood control. They are
 * the same refusal (or access) as that line: added to its group, and counted apart as
 * repeats (must-record; evidence left out is audit.sampled's count).
 */
static void ingest_repeated(struct run_info *run, const json_t *e)
{
	uint64_t count, first_seq;
	struct group *g;

	if (!get_u64(e, "count", &count))
		return;
	/* Evidence left out is counted by audit.sampled, itemised repeats included. */
	if (!node_is_str(get(e, "class"), "evidence"))
		run->repeats_counted += count;
	if (!get_u64(e, "first_seq", &first_seq) || !(g = group_of_seq(run, first_seq)))
		return;
	g->count += count;
	run->events[g->kind] += count;
	summary_ts_note(g->first, g->last, json_object_get(e, "last"));
}

static int ingest_event(struct summary *s, struct run_info *run, json_t **rootp);

static int ingest(struct summary *s, struct run_info *run, json_t **rootp)
{
	const json_t *event = get(*rootp, "event");
	uint64_t seq;
	bool has_seq = get_u64(*rootp, "seq", &seq);
	int r;

	if (node_is_str(event, "audit.repeated")) {
		summary_ts_note(run->first_ts, run->last_ts, json_object_get(*rootp, "ts"));
		ingest_repeated(run, *rootp);
		return 0;
	}
	if (node_is_str(event, "audit.sampled")) {
		uint64_t n;

		summary_ts_note(run->first_ts, run->last_ts, json_object_get(*rootp, "ts"));
		if (get_u64(*rootp, "count", &n))
			run->evidence_left_out += n;
		return 0;
	}
	s->last_group = NULL;
	r = ingest_event(s, run, rootp);
	if (r < 0 || !s->last_group || !has_seq)
		return r;
	if (run->n_by_seq && run->by_seq[run->n_by_seq - 1].seq >= seq)
		return 0; /* out of order: not a trail this writer made; no lookup by seq */
	return VEC_PUSH(run->by_seq, run->n_by_seq, run->cap_by_seq,
			((struct seq_group){ .seq = seq, .g = s->last_group }));
}

static int ingest_event(struct summary *s, struct run_info *run, json_t **rootp)
{
	const json_t *e = *rootp, *ts = json_object_get(e, "ts"), *event = get(e, "event");
	struct buf *sc = s->scratch;
	struct fv v[GROUP_FIELDS_MAX] = {};
	uint64_t n;

	summary_ts_note(run->first_ts, run->last_ts, ts);
	if (!json_is_string(event)) {
		v[0] = (struct fv){ "(no event name)", strlen("(no event name)"), false };
		return summary_group_add(s, run, G_OTHER, ts, 0, v);
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

	/* Kept for the network row, and still listed with the other events. */
	if (node_is_str(event, "net.stack") && !run->stack)
		run->stack = json_incref(*rootp);
	if (node_is_str(event, "proc.exec")) {
		const json_t *fails = get(e, "fails");

		v[0] = fv_of(get(e, "path"), &sc[0]);
		/* A PATH probe of a name that is not there ran nothing: listed apart. */
		if (fails) {
			v[1] = fv_of(fails, &sc[1]);
			return summary_group_add(s, run, G_EXEC_FAILED, ts, 0, v);
		}
		return summary_group_add(s, run, G_EXEC, ts, 0, v);
	}
	if (node_is_str(event, "syscall.deny")) {
		const json_t *name = get(e, "syscall");

		v[0] = fv_of(name ? name : get(e, "nr"), &sc[0]);
		v[1] = syscall_args(e, &sc[1]);
		v[2] = fv_of(get(e, "errno"), &sc[2]);
		v[3] = fv_of(get(e, "abi"), &sc[3]);
		return summary_group_add(s, run, G_SYSCALL, ts, 0, v);
	}
	if (node_is_str(event, "net.connect")) {
		const json_t *verdict = get(e, "verdict");

		v[0] = fv_of(get(e, "proto"), &sc[0]);
		v[1] = fv_of(get(e, "address"), &sc[1]);
		v[2] = fv_of(get(e, "port"), &sc[2]);
		/* Tracing sees the call, not the firewall's answer: an attempt, not a refusal. */
		if (!verdict) {
			v[3] = fv_of(get(e, "family"), &sc[3]);
			return summary_group_add(s, run, G_NET_TRACED, ts, 0, v);
		}
		v[3] = fv_of(get(e, "host"), &sc[3]);
		if (!verdict_allows(verdict)) {
			uint64_t port;

			if (get_u64(e, "port", &port) && port == 53)
				run->dns_connect_denies++;
			return summary_group_add(s, run, G_NET_DENY, ts, 0, v);
		}
		return summary_group_add(s, run, G_NET_ALLOW, ts, 0, v);
	}
	if (node_is_str(event, "dns.query")) {
		const json_t *verdict = get(e, "verdict");

		v[0] = fv_of(get(e, "name"), &sc[0]);
		v[1] = fv_of(get(e, "qtype"), &sc[1]);
		v[2] = fv_of(verdict, &sc[2]);
		/* Without a verdict a query was only observed (dns: resolver records each one). */
		return summary_group_add(
			s, run, !verdict || verdict_allows(verdict) ? G_DNS_SEEN : G_DNS_DENY, ts,
			0, v);
	}
	if (node_is_str(event, "file.open") || node_is_str(event, "file.change")) {
		const json_t *declared = json_object_get(e, "declared"), *access = get(e, "access"),
			     *sensitive = json_object_get(e, "sensitive");

		/*
		 * Credential hunting is worth a reviewer's eye even where the view made it
		 * harmless (an empty HOME, a file that is not there): listed apart, in addition.
		 */
		if (json_is_true(sensitive)) {
			struct fv w[GROUP_FIELDS_MAX] = { 0 };
			struct buf wsc[GROUP_FIELDS_MAX] = { BUF_INIT, BUF_INIT, BUF_INIT,
							     BUF_INIT };
			int k;

			w[0] = fv_of(get(e, "path"), &wsc[0]);
			w[1] = fv_of(access ? access : get(e, "op"), &wsc[1]);
			w[2] = fv_of(json_object_get(e, "exists"), &wsc[2]);
			w[3] = fv_of(get(e, "fails"), &wsc[3]);
			k = summary_group_add(s, run, G_SENSITIVE, ts, 0, w);
			for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
				buf_done(&wsc[i]);
			if (k < 0)
				return k;
		}

		if (!json_is_false(declared)) {
			run->n_files_declared++;
			return 0;
		}
		v[0] = fv_of(get(e, "path"), &sc[0]);
		v[1] = fv_of(access ? access : get(e, "op"), &sc[1]);
		v[2] = fv_of(event, &sc[2]);
		v[3] = fv_of(get(e, "fails"), &sc[3]);
		return summary_group_add(s, run, G_FILE, ts, 0, v);
	}
	if (node_is_str(event, "limit.hit")) {
		v[0] = fv_of(get(e, "limit"), &sc[0]);
		v[1] = fv_of(get(e, "value"), &sc[1]);
		v[2] = fv_of(get(e, "action"), &sc[2]);
		return summary_group_add(s, run, G_LIMIT, ts, 0, v);
	}
	if (node_is_str(event, "audit.lost")) {
		v[0] = fv_of(get(e, "source"), &sc[0]);
		if (!get_u64(e, "count", &n))
			n = 0;
		return summary_group_add(s, run, G_LOST, ts, n, v);
	}
	v[0] = fv_of(event, &sc[0]);
	return summary_group_add(s, run, G_OTHER, ts, 0, v);
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
	_cleanup_json_decref_ json_t *root = NULL;
	const json_t *id;
	struct run_info *run;
	int r;

	s->lines++;
	/* The skill's output in a stream the trail shared: nothing of the trail's. */
	if (s->next_foreign < s->n_foreign && s->foreign[s->next_foreign] == s->lines) {
		s->next_foreign++;
		return 0;
	}
	r = json_parse(line, n, &root, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !json_is_object(root))
		json_decrefp(&root);

	/* A line without a readable run id belongs with the lines around it. */
	id = get(root, "run");
	if (!json_is_string(id))
		id = NULL;
	if (id || !s->current) {
		r = summary_run_find(s, id, &run);
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

int summary_read_all(struct summary *s, const char *data, size_t len)
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
int summary_check_runs(struct summary *s)
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
