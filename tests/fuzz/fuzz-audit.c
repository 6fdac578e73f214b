/* SPDX-License-Identifier: MIT */
/*
 * Audit trails are read by `audit verify` and `audit summary` from files anyone may have
 * edited: both must hold up against any bytes. Besides "no crash, no leak": verify says
 * either intact or broken with a line and a reason, and the JSON report always parses (with
 * the strict reader: no duplicate key either). The reader itself (jansson under json_parse())
 * gets the whole input as one text too: what it accepts, json_compact_text() writes back as a
 * text that reads back to the same compact text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fuzz.h"
#include "json.h"
#include "summary.h"

static void check(bool cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum audit_summary_format formats[] = {
		AUDIT_SUMMARY_TEXT,
		AUDIT_SUMMARY_MARKDOWN,
		AUDIT_SUMMARY_JSON,
	};
	struct audit_verify_result res;
	json_t *doc = NULL;
	int r;

	r = json_parse((const char *)data, size, &doc, NULL);
	check(r == 0 || r == 1 || r == -EBADMSG || r == -ELNRNG);
	if (r >= 0) {
		struct buf c1 = BUF_INIT, c2 = BUF_INIT;
		json_t *again = NULL;

		json_compact_text(&c1, doc);
		check(buf_ok(&c1) && json_parse(c1.data, c1.len, &again, NULL) >= 0);
		json_compact_text(&c2, again);
		check(buf_ok(&c2) && c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
		json_decref(again);
		buf_done(&c1);
		buf_done(&c2);
	}
	json_decref(doc);

	r = audit_verify((const char *)data, size, &res);
	check(r == 0 || r == -EBADMSG);
	check(r == 0 ? res.bad_line == 0 : (res.bad_line > 0 && res.reason[0]));

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *out = NULL;
		size_t out_len = 0;
		FILE *f = open_memstream(&out, &out_len);

		check(f != NULL);
		r = audit_summary_write(f, "fuzz", (const char *)data, size, formats[i]);
		check(r == 0 || r == -EBADMSG);
		check(fclose(f) == 0);
		if (formats[i] == AUDIT_SUMMARY_JSON)
			check(json_validate(out, out_len, NULL) >= 0);
		free(out);
	}
	return 0;
}
