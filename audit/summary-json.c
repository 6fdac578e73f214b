/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "summary-internal.h"

/*
 * The JSON report, for machines: one object, indented, with the chain's state, and per run the
 * facts, the policy, the exit and every group of events. Values of the trail are copied as they
 * are (strings re-escaped by json_escape()).
 */

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

static void jw_node(struct report *rp, const json_t *n)
{
	const char *key;
	const json_t *v;
	size_t i;

	if (!n) {
		jw_rawf(rp, "null");
		return;
	}
	switch (json_typeof(n)) {
	case JSON_ARRAY:
		jw_open(rp, '[');
		json_array_foreach (n, i, v)
			jw_node(rp, v);
		jw_close(rp, ']');
		break;
	case JSON_OBJECT:
		jw_open(rp, '{');
		JSON_FOREACH_MEMBER (n, key, v) {
			jw_key(rp, key, strlen(key));
			jw_node(rp, v);
		}
		jw_close(rp, '}');
		break;
	case JSON_STRING:
		jw_str(rp, json_string_value(n), json_string_length(n));
		break;
	default:
		jw_sep(rp);
		json_compact_text(&rp->b, n);
		break;
	}
}

/* A member copied from an event as it is (null when missing). */
static void jw_copy(struct report *rp, const json_t *obj, const char *key, const char *as)
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
	jw_k(rp, summary_kinds[k].json);
	jw_open(rp, '[');
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		jw_open(rp, '{');
		for (size_t f = 0; f < GROUP_FIELDS_MAX && summary_kinds[k].fields[f]; f++) {
			jw_k(rp, summary_kinds[k].fields[f]);
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

void summary_json_run(struct report *rp, const struct run_info *run)
{
	const json_t *st = run->single[S_START], *fs = run->single[S_FS],
		     *mounts = get_array(fs, "mounts"), *net = run->single[S_NET], *n, *m;
	const char *key;
	size_t i;
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
	jw_k(rp, "repeats_counted");
	jw_rawf(rp, "%" PRIu64, run->repeats_counted);
	jw_k(rp, "trace_evidence_left_out");
	jw_rawf(rp, "%" PRIu64, run->evidence_left_out);
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
	if (summary_run_duration(run, &d, &measured))
		jw_rawf(rp, "%.6f", d);
	else
		jw_rawf(rp, "null");
	jw_copy(rp, st, "skillbox", "skillbox_version");
	jw_copy(rp, st, "kernel", NULL);
	jw_copy(rp, st, "arch", NULL);
	jw_copy(rp, st, "layers", NULL);
	jw_k(rp, "network_stack");
	jw_node(rp, summary_stack_used(run));
	/* From net.stack: the stack that failed to start and why (null: none did), and the
	   rules the stack used cannot reach for want of IPv6 (null: none, or an older trail). */
	jw_k(rp, "network_fallback");
	if (get(run->stack, "fallback_from")) {
		jw_open(rp, '{');
		jw_copy(rp, run->stack, "fallback_from", "from");
		jw_copy(rp, run->stack, "reason", NULL);
		jw_close(rp, '}');
	} else {
		jw_rawf(rp, "null");
	}
	jw_copy(rp, run->stack, "ipv6_unreachable", "network_ipv6_unreachable");
	jw_copy(rp, st, "trace", NULL);

	jw_k(rp, "policy");
	jw_open(rp, '{');
	jw_k(rp, "mounts");
	if (fs)
		jw_rawf(rp, "%zu", json_array_size(mounts));
	else
		jw_rawf(rp, "null");
	jw_k(rp, "writable");
	jw_open(rp, '[');
	json_array_foreach (mounts, i, m) {
		if (get_is(m, "access", "rw"))
			jw_node(rp, m);
	}
	jw_close(rp, ']');
	jw_k(rp, "hidden");
	jw_open(rp, '[');
	json_array_foreach (mounts, i, m) {
		if (get_is(m, "kind", "hide"))
			jw_node(rp, get(m, "path"));
	}
	jw_close(rp, ']');
	jw_k(rp, "egress");
	jw_node(rp, get_array(net, "rules"));
	jw_copy(rp, net, "dns", NULL);
	/* The stack requested (older trails name it "stack"); network_stack is the one used. */
	jw_k(rp, "stack");
	jw_node(rp, get(net, "stack_requested") ?: get(net, "stack"));
	jw_copy(rp, net, "digest", "net_digest");
	jw_k(rp, "seccomp");
	if (run->single[S_SECCOMP]) {
		jw_open(rp, '{');
		JSON_FOREACH_MEMBER (run->single[S_SECCOMP], key, m) {
			static const char *const skip[] = {
				"v", "seq", "ts", "run", "event", "prev"
			};
			bool common = false;

			for (size_t k = 0; k < ELEMENTSOF(skip); k++)
				common = common || streq(key, skip[k]);
			if (common)
				continue;
			jw_key(rp, key, strlen(key));
			jw_node(rp, m);
		}
		jw_close(rp, '}');
	} else {
		jw_rawf(rp, "null");
	}
	jw_k(rp, "limits");
	jw_open(rp, '{');
	JSON_FOREACH_MEMBER (run->single[S_LIMITS], key, m) {
		if (json_is_null(m) || streq(key, "v") || streq(key, "seq") || streq(key, "ts") ||
		    streq(key, "run") || streq(key, "event") || streq(key, "prev"))
			continue;
		jw_key(rp, key, strlen(key));
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
	jw_rawf(rp, "%zu", json_array_size(n));
	jw_close(rp, '}');
	jw_close(rp, '}');

	jw_k(rp, "exit");
	if (run->single[S_EXIT]) {
		jw_open(rp, '{');
		JSON_FOREACH_MEMBER (run->single[S_EXIT], key, m) {
			if (streq(key, "v") || streq(key, "seq") || streq(key, "run") ||
			    streq(key, "event") || streq(key, "prev"))
				continue;
			jw_key(rp, key, strlen(key));
			jw_node(rp, m);
		}
		jw_close(rp, '}');
	} else {
		jw_rawf(rp, "null");
	}

	jw_k(rp, "refusals");
	jw_open(rp, '{');
	jw_k(rp, "total");
	jw_rawf(rp, "%" PRIu64, summary_run_refusals_reported(run));
	jw_k(rp, "from_events");
	jw_rawf(rp, "%" PRIu64, summary_run_refusals(run));
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++) {
		jw_k(rp, summary_kinds[k].json);
		jw_rawf(rp, "%" PRIu64, run->events[k]);
	}
	jw_k(rp, "run_summary_total");
	if (summary_run_summary_total(run, &t))
		jw_rawf(rp, "%" PRIu64, t);
	else
		jw_rawf(rp, "null");
	jw_copy(rp, run->single[S_SUMMARY], "examples", "run_summary_examples");
	jw_close(rp, '}');
	/* Not "events_lost": that is the list of groups below, and a key appears once. */
	jw_k(rp, "events_lost_total");
	jw_rawf(rp, "%" PRIu64, summary_run_lost(run));
	for (int k = G_REFUSAL_FIRST; k <= G_LOST; k++)
		jw_groups(rp, run, k);
	jw_groups(rp, run, G_SENSITIVE);
	jw_groups(rp, run, G_LIMIT);
	jw_copy(rp, run->single[S_SUMMARY], "limits_hit", "run_summary_limits_hit");
	jw_groups(rp, run, G_NET_ALLOW);
	jw_groups(rp, run, G_NET_TRACED);
	jw_groups(rp, run, G_DNS_SEEN);
	jw_groups(rp, run, G_EXEC);
	jw_groups(rp, run, G_EXEC_FAILED);
	jw_k(rp, "file_events_declared");
	jw_rawf(rp, "%" PRIu64, run->n_files_declared);
	jw_groups(rp, run, G_OTHER);
	jw_close(rp, '}');
}

void summary_json_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += summary_run_refusals_reported(s->runs[i]);
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
	jw_k(rp, "foreign_lines");
	jw_rawf(rp, "%zu", s->n_foreign);
	jw_close(rp, '}');
	jw_k(rp, "lines");
	jw_rawf(rp, "%" PRIu64, s->lines);
	jw_k(rp, "refusals");
	jw_rawf(rp, "%" PRIu64, total);
	jw_k(rp, "runs");
	jw_open(rp, '[');
}

void summary_json_footer(struct report *rp)
{
	jw_close(rp, ']');
	jw_close(rp, '}');
	buf_putc(&rp->b, '\n');
}
