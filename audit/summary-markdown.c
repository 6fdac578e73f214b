/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "summary-internal.h"

/*
 * The markdown report, for a CI job summary ($GITHUB_STEP_SUMMARY): the same facts as the text
 * report in tables, with every untrusted value in a code span (summary_put_md_code()), so that
 * nothing in a trail can become a link, an image or HTML on a CI page.
 */

/*
 * Appends untrusted text as a markdown code span: nothing inside one becomes emphasis, a link
 * or HTML. The fence is one backtick longer than the longest run inside, and a pipe is escaped
 * because GitHub splits table cells before it reads code spans.
 */
void summary_put_md_code(struct buf *b, const char *s, size_t n)
{
	struct buf safe = BUF_INIT;
	size_t run = 0, longest = 0;
	const char *t;
	bool pad;

	summary_put_safe(&safe, s, n);
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

static void md_groups(struct report *rp, const struct run_info *run, enum group_kind k)
{
	size_t shown = MIN(run->n_groups[k], (size_t)MARKDOWN_ROWS_MAX);
	uint64_t hidden_events = 0;

	if (!run->n_groups[k])
		return;
	buf_printf(&rp->b,
		   "\n#### %c%s (%" PRIu64 ")\n\n| Count | %s | First | Last |\n"
		   "|---:|---|---|---|\n",
		   toupper((unsigned char)summary_kinds[k].title[0]), summary_kinds[k].title + 1,
		   run->events[k], summary_kinds[k].noun);
	for (size_t i = 0; i < run->n_groups[k]; i++) {
		const struct group *g = run->groups[k][i];

		if (i >= shown) {
			hidden_events += g->count;
			continue;
		}
		buf_printf(&rp->b, "| %" PRIu64 " | ", g->count);
		summary_group_target(&rp->raw, g, run);
		summary_put_md_code(&rp->b, rp->raw.data ? rp->raw.data : "", rp->raw.len);
		buf_reset(&rp->raw);
		buf_puts(&rp->b, " | ");
		summary_put_time(rp, &rp->b, g->first, run);
		buf_puts(&rp->b, " | ");
		summary_put_time(rp, &rp->b, g->last, run);
		buf_puts(&rp->b, " |\n");
	}
	if (shown < run->n_groups[k])
		buf_printf(&rp->b,
			   "\n%zu more rows (%" PRIu64 " events) not shown here; "
			   "`skillbox audit summary --format text` lists them all.\n",
			   run->n_groups[k] - shown, hidden_events);
}

void summary_markdown_run(struct report *rp, const struct run_info *run)
{
	const json_t *skill = get(run->single[S_START], "skill"), *ex = run->single[S_EXIT];
	uint64_t refusals = summary_run_refusals_reported(run);

	buf_printf(&rp->b, "\n## Run %zu of %zu: ", run->index + 1, rp->s->n_runs);
	if (skill) {
		summary_node_text(&rp->raw, skill);
		summary_put_md_code(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	} else {
		buf_puts(&rp->b, "unknown skill");
	}
	if (get(ex, "status")) {
		buf_puts(&rp->b, ", exit ");
		summary_node_text(&rp->raw, get(ex, "status"));
		summary_put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
	}
	buf_puts(&rp->b, "\n\n");
	if (run->broken) {
		buf_puts(&rp->b, "❌ **CHAIN BROKEN**");
		summary_broken_reason(rp, &rp->b, run->bad_line, run->reason ? run->reason : "");
		buf_puts(&rp->b, "\n\n");
	} else {
		buf_printf(&rp->b, "✅ Chain intact%s\n\n",
			   rp->s->broken
				   ? " for this run on its own (the file as a whole is broken)"
				   : "");
	}
	buf_printf(&rp->b, "%s **Refusals: %" PRIu64 "**\n\n", refusals ? "❌" : "✅", refusals);

	buf_puts(&rp->b, "| | |\n|---|---|\n");
	summary_run_rows(rp, run);
	summary_describe_refusal_counts(rp, run);
	summary_row(rp, "refusals");

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
	    run->n_groups[G_DNS_SEEN] || run->n_groups[G_EXEC] || run->n_groups[G_EXEC_FAILED] ||
	    run->n_groups[G_OTHER]) {
		buf_puts(&rp->b, "\n### Activity\n");
		md_groups(rp, run, G_NET_ALLOW);
		md_groups(rp, run, G_NET_TRACED);
		md_groups(rp, run, G_DNS_SEEN);
		md_groups(rp, run, G_EXEC);
		md_groups(rp, run, G_EXEC_FAILED);
		md_groups(rp, run, G_OTHER);
	}
}

void summary_markdown_header(struct report *rp)
{
	const struct summary *s = rp->s;
	uint64_t total = 0;

	for (size_t i = 0; i < s->n_runs; i++)
		total += summary_run_refusals_reported(s->runs[i]);
	buf_puts(&rp->b, "# skillbox audit: ");
	summary_put_md_code(&rp->b, rp->name, strlen(rp->name));
	buf_puts(&rp->b, "\n\n");
	if (s->broken) {
		buf_puts(&rp->b, "❌ **CHAIN INTEGRITY: BROKEN**");
		summary_broken_reason(rp, &rp->b, s->verify.bad_line, s->verify.reason);
		buf_puts(&rp->b, "\n\n> **This audit trail was altered, truncated or forged.** ");
		summary_verified_lines(&rp->b, s);
		buf_puts(&rp->b, " Everything is still summarised below, as found; each run says "
				 "whether its own chain holds.\n\n");
	} else {
		buf_printf(&rp->b,
			   "✅ **Chain integrity: intact** (%" PRIu64 " line%s, %" PRIu64
			   " run%s, head `sha256:%s`)\n\n",
			   s->verify.lines, s->verify.lines == 1 ? "" : "s", s->verify.runs,
			   s->verify.runs == 1 ? "" : "s", s->verify.head);
	}
	if (s->n_foreign)
		buf_printf(
			&rp->b,
			"ℹ️ **Foreign lines: %zu** (the skill's output in the stream the trail "
			"shared; left out)\n\n",
			s->n_foreign);
	buf_printf(&rp->b, "%s **Refusals: %" PRIu64 "**\n", total ? "❌" : "✅", total);

	if (s->n_runs < 2)
		return;
	buf_puts(&rp->b, "\n| Run | Skill | Exit | Refusals | Chain |\n|---:|---|---|---:|---|\n");
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct run_info *run = s->runs[i];
		const json_t *n = get(run->single[S_START], "skill");

		buf_printf(&rp->b, "| %zu | ", i + 1);
		if (n) {
			summary_node_text(&rp->raw, n);
			summary_put_md_code(&rp->b, rp->raw.data, rp->raw.len);
			buf_reset(&rp->raw);
		} else {
			buf_puts(&rp->b, "?");
		}
		buf_puts(&rp->b, " | ");
		n = get(run->single[S_EXIT], "status");
		if (n)
			summary_node_text(&rp->raw, n);
		else
			buf_puts(&rp->raw, "?");
		summary_put_safe(&rp->b, rp->raw.data, rp->raw.len);
		buf_reset(&rp->raw);
		buf_printf(&rp->b, " | %" PRIu64 " | %s |\n", summary_run_refusals_reported(run),
			   run->broken ? "❌ broken" : "✅ intact");
	}
}
