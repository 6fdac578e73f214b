/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * `skillbox audit summary`: a security reviewer's report built from an audit trail alone. Per
 * run: the skill, its manifest, who ran it and when, the layers and the policy in brief, the
 * exit, and every refusal grouped by kind and target with counts and first/last times, plus
 * allowed connections and executed programs. The chain is verified first, and a broken chain
 * is reported at the top and for each run it touches.
 */

#include <stddef.h>
#include <stdio.h>

enum audit_summary_format {
	AUDIT_SUMMARY_TEXT,	/* for a terminal */
	AUDIT_SUMMARY_MARKDOWN, /* for a CI job summary ($GITHUB_STEP_SUMMARY) */
	AUDIT_SUMMARY_JSON,	/* one object, for machines */
};

/**
 * Writes the report for the audit file held in data/len (name is for display). Verifies the
 * chain first: when it is broken the report says so loudly at the top (and per run), still
 * summarises what is there, and the function returns -EBADMSG; 0 otherwise; -errno on I/O.
 */
int audit_summary_write(FILE *out, const char *name, const char *data, size_t len,
			enum audit_summary_format format);
