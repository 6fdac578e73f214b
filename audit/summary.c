/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "audit.h"
#include "buf.h"
#include "summary.h"
#include "summary-internal.h"

/*
 * `audit summary` in two passes: summary-ingest.c reads every line into per-run state
 * (summary-aggregate.c), then one of summary-text.c, summary-markdown.c or summary-json.c
 * writes the report from it (the first two share the facts rows of summary-facts.c).
 */

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

static int write_report(struct report *rp)
{
	struct summary *s = rp->s;

	switch (rp->format) {
	case AUDIT_SUMMARY_TEXT:
		summary_text_header(rp);
		break;
	case AUDIT_SUMMARY_MARKDOWN:
		summary_markdown_header(rp);
		break;
	case AUDIT_SUMMARY_JSON:
		summary_json_header(rp);
		break;
	}
	if (!s->n_runs && rp->format != AUDIT_SUMMARY_JSON)
		buf_puts(&rp->b, "\nNo runs in this file.\n");
	for (size_t i = 0; i < s->n_runs && report_flush(rp) == 0; i++) {
		if (rp->format == AUDIT_SUMMARY_TEXT)
			summary_text_run(rp, s->runs[i]);
		else if (rp->format == AUDIT_SUMMARY_MARKDOWN)
			summary_markdown_run(rp, s->runs[i]);
		else
			summary_json_run(rp, s->runs[i]);
	}
	if (rp->format == AUDIT_SUMMARY_JSON) {
		summary_json_footer(rp);
	}
	report_flush(rp);
	if (!rp->error && fflush(rp->f) != 0)
		rp->error = negative_errno();
	return rp->error;
}

static void note_foreign(uint64_t line, void *userdata)
{
	struct summary *s = userdata;

	if (!s->foreign_oom && VEC_PUSH(s->foreign, s->n_foreign, s->cap_foreign, line) < 0)
		s->foreign_oom = true;
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

	r = audit_verify_lines(data, len, &s.verify, note_foreign, &s);
	if (r == 0 && s.foreign_oom)
		r = -ENOMEM;
	if (r < 0 && r != -EBADMSG)
		goto finish;
	if (!s.verify.shared)
		/* In a trail of its own, a foreign line is part of what is summarised. */
		s.n_foreign = 0;
	s.broken = r == -EBADMSG;
	/* Lines are kept per run only to find which runs a break touches. */
	s.keep_lines = s.broken;
	r = len ? summary_read_all(&s, data, len) : 0;
	if (r == 0 && s.broken)
		r = summary_check_runs(&s);
	if (r < 0)
		goto finish;
	for (size_t i = 0; i < s.n_runs; i++)
		summary_run_sort(s.runs[i]);
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
