/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "summary-internal.h"

/*
 * The text report, for a terminal: a header with the chain's state, then per run the facts
 * rows and every group of events with counts and times. Untrusted text is made safe for a
 * terminal by summary_put_safe().
 */

/* Untrusted text made safe for a terminal and for one line (common/escape.h). */
void summary_put_safe(struct buf *b, const char *s, size_t n)
{
	escape_append(b, s, n);
}

static void text_groups(struct report *rp, const struct run_info *run, enum group_kind k)
{
	if (!run->n_groups[k])
		return;
	buf_printf(&rp->b, "  %s: %" PRIu64 " (%zu distinct)\n", summary_kinds[k].title,
		   run->events[k], run->n_groups[k]);
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		buf_printf(&rp->b, "    %6" PRIu64 "x  ", g->count);
		summary_group_target(&rp->raw, g, run);
		summary_put_safe(&rp->b, rp->raw.data ? rp->raw.data : "", rp->raw.len);
		buf_reset(&rp->raw);
		if (g->first[0]) {
			buf_puts(&rp->b, g->count > 1 ? "  (first " : "  (at ");
			summary_put_time(rp, &rp->b, g->first, run);
			if (g->count > 1) {
				buf_puts(&rp->b, ", last ");
				summary_put_time(rp, &rp->b, g->last, run);
			}
			buf_putc(&rp->b, ')');
		}
		buf_putc(&rp->b, '\n');
	}
}

void summary_text_run(struct report *rp, const struct run_info *run)
{
	const json_t *skill = get(run->single[S_START], "skill");

	buf_printf(&rp->b, "\n== run %zu of %zu", run->index + 1, rp->s->n_runs);
	if (skill) {
		buf_puts(&rp->b, ": ");
		summary_node_text(&rp->raw, skill);
		summary_put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	}
	buf_puts(&rp->b, run->broken ? "  [CHAIN BROKEN] ==\n" : " ==\n");
	summary_run_rows(rp, run);
	summary_describe_refusal_counts(rp, run);
	summary_row(rp, "REFUSALS");
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++)
		text_groups(rp, run, k);
	text_groups(rp, run, G_LOST);
	text_groups(rp, run, G_SENSITIVE);
	text_groups(rp, run, G_NET_ALLOW);
	text_groups(rp, run, G_NET_TRACED);
	text_groups(rp, run, G_DNS_SEEN);
	text_groups(rp, run, G_EXEC);
	text_groups(rp, run, G_EXEC_FAILED);
	text_groups(rp, run, G_OTHER);
}

void summary_text_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += summary_run_refusals_reported(s->runs[i]);
	buf_puts(&rp->b, "skillbox audit summary: ");
	summary_put_safe(&rp->b, rp->name, strlen(rp->name));
	buf_putc(&rp->b, '\n');
	if (s->broken) {
		buf_puts(&rp->b,
			 "################################################################"
			 "################\n"
			 "##  CHAIN BROKEN: THIS AUDIT TRAIL WAS ALTERED, TRUNCATED OR FORGED\n"
			 "##  ");
		summary_put_safe(&rp->b, rp->name, strlen(rp->name));
		summary_broken_reason(rp, &rp->b, s->verify.bad_line, s->verify.reason);
		buf_puts(&rp->b, "\n##  ");
		summary_verified_lines(&rp->b, s);
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
	if (s->n_foreign)
		buf_printf(&rp->b,
			   "foreign lines: %zu (the skill's output in the stream the trail shared; "
			   "left out)\n",
			   s->n_foreign);
	buf_printf(&rp->b, "refusals: %" PRIu64 "\n", total);
}
