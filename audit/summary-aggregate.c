/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <search.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "summary-internal.h"

/*
 * The state `audit summary` builds: runs (found by id), and in each run the repeated events
 * folded into groups keyed by their kind and target fields, so that memory grows with the
 * number of distinct targets, not with the number of lines. Also the counts every format
 * reports the same way (refusals, events lost, the run's duration) and the order of groups.
 */

const struct kind_info summary_kinds[_G_MAX] = {
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
		     { "path", "access", "event", "fails" } },
	[G_LOST] = { "events_lost", "events lost", "Source", { "source" } },
	[G_NET_ALLOW] = { "connections_allowed",
			  "connections allowed",
			  "Destination",
			  { "proto", "address", "port", "host" } },
	[G_SENSITIVE] = { "credential_locations_probed",
			  "credential and secret locations probed",
			  "Path",
			  { "path", "access", "exists", "fails" } },
	[G_NET_TRACED] = { "connection_attempts_traced",
			   "connection attempts seen by tracing (no verdict)",
			   "Destination",
			   { "proto", "address", "port", "family" } },
	[G_DNS_SEEN] = { "dns_queries",
			 "DNS queries (not refused)",
			 "Query",
			 { "name", "qtype", "verdict" } },
	[G_EXEC] = { "programs_executed", "programs executed", "Program", { "path" } },
	[G_EXEC_FAILED] = { "program_executions_failed",
			    "program executions that failed (not there, not executable)",
			    "Program",
			    { "path", "fails" } },
	[G_LIMIT] = { "limits_hit", "limits hit", "Limit", { "limit", "value", "action" } },
	[G_OTHER] = { "other_events", "other events", "Event", { "event" } },
};

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
int summary_group_add(struct summary *s, struct run_info *run, enum group_kind kind,
		      const json_t *ts, uint64_t sum, const struct fv v[GROUP_FIELDS_MAX])
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
	summary_ts_note(g->first, g->last, ts);
	s->last_group = g;
	return 0;
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

struct run_info *summary_run_free(struct run_info *run)
{
	if (!run)
		return NULL;
	tdestroy(run->tree, group_free_void);
	for (size_t k = 0; k < _G_MAX; k++)
		free(run->groups[k]);
	for (size_t i = 0; i < _S_MAX; i++)
		json_decref(run->single[i]);
	json_decref(run->stack);
	free(run->id);
	free(run->reason);
	buf_done(&run->lines);
	free(run->line_map);
	free(run->by_seq);
	free(run);
	return NULL;
}

int summary_run_find(struct summary *s, const json_t *id, struct run_info **ret)
{
	struct run_info probe = {}, *run, **found;

	if (id) {
		probe.id = (char *)json_string_value(id);
		probe.id_len = json_string_length(id);
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
		run->id = memdup_nul(json_string_value(id), json_string_length(id));
		run->id_len = json_string_length(id);
		if (!run->id)
			return summary_run_free(run), -ENOMEM;
	}
	run->index = s->n_runs;
	if (VEC_PUSH(s->runs, s->n_runs, s->cap_runs, run) < 0)
		return summary_run_free(run), -ENOMEM;
	if (!tsearch(run, &s->run_tree, run_cmp)) {
		s->n_runs--;
		return summary_run_free(run), -ENOMEM;
	}
	*ret = run;
	return 0;
}

void summary_done(struct summary *s)
{
	/* The tree does not own the runs; the array does. */
	tdestroy(s->run_tree, no_free);
	for (size_t i = 0; i < s->n_runs; i++)
		summary_run_free(s->runs[i]);
	free(s->runs);
	free(s->foreign);
	buf_done(&s->key);
	for (size_t i = 0; i < GROUP_FIELDS_MAX; i++)
		buf_done(&s->scratch[i]);
}

/*
 * A refused DNS query is one refusal with two events: the net.connect deny of the packet to
 * the resolver, and the dns.query deny that names what it asked. The total counts packets
 * (as run.summary does); the DNS group only says what the refused queries carried. A
 * dns.query deny without a refused connection behind it (a writer that logs only queries)
 * still counts.
 */
uint64_t summary_run_refusals(const struct run_info *run)
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
bool summary_run_summary_total(const struct run_info *run, uint64_t *ret)
{
	return get_u64(get(run->single[S_SUMMARY], "refusals"), "total", ret);
}

/* What the reports count: the larger of the events found and the writer's own total. */
uint64_t summary_run_refusals_reported(const struct run_info *run)
{
	uint64_t n = summary_run_refusals(run), t;

	return summary_run_summary_total(run, &t) && t > n ? t : n;
}

uint64_t summary_run_lost(const struct run_info *run)
{
	uint64_t n = 0;

	for (size_t i = 0; i < run->n_groups[G_LOST]; i++)
		n += run->groups[G_LOST][i]->sum;
	return n;
}

const json_t *summary_stack_used(const struct run_info *run)
{
	const json_t *st = run->single[S_START], *n = get(run->stack, "stack");

	if (n)
		return n;
	if ((n = get(st, "network_stack")))
		return n;
	n = get(st, "network_stack_requested");
	/* No stack to become ready: none, or skillbox's relay carried all the TCP. */
	return node_is_str(n, "none") || node_is_str(n, "relay") ? n : NULL;
}

/* The run's duration in seconds: run.exit's wall clock, else the span of its timestamps. */
bool summary_run_duration(const struct run_info *run, double *ret, bool *ret_measured)
{
	if (summary_get_double(run->single[S_EXIT], "wall_s", ret)) {
		*ret_measured = true;
		return true;
	}
	if (!run->first_ts[0])
		return false;
	*ret = (double)(summary_ts_usec(run->last_ts) - summary_ts_usec(run->first_ts)) / 1e6;
	*ret_measured = false;
	return true;
}

static int group_sort_cmp(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a,
			   *y = *(const struct group *const *)b;
	int c;

	/* Credential locations that exist come first, apart from probes of absent ones. */
	if (x->kind == G_SENSITIVE && fv_is(&x->f[2], "true") != fv_is(&y->f[2], "true"))
		return fv_is(&x->f[2], "true") ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	/* Missing times sort last. */
	c = strcmp(x->first[0] ? x->first : "~", y->first[0] ? y->first : "~");
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

void summary_run_sort(struct run_info *run)
{
	for (size_t k = 0; k < _G_MAX; k++) {
		/* Limits read best in the order they were hit. */
		if (k == G_LIMIT || !run->n_groups[k])
			continue;
		qsort(run->groups[k], run->n_groups[k], sizeof(struct group *), group_sort_cmp);
	}
}
