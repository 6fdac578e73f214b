/* SPDX-License-Identifier: MIT */
#pragma once

/* Verbs of the command line and the diagnostics they share. One file per verb (cmd-*.c). */

#include <stdbool.h>
#include <stdio.h>

#include "macros.h"
#include "manifest.h"

/* Exit statuses of DESIGN.md. */
#define EXIT_SKILLBOX_FAILED 125
#define EXIT_NOT_EXECUTABLE  126
#define EXIT_NOT_FOUND	     127
#define EXIT_TIMEOUT	     124
#define EXIT_CHECK_INVALID   1

/* main()'s argv, so the sandbox's init can overwrite its copy (/proc/1/cmdline). */
extern char **program_argv;

/*
 * Diagnostics on stderr, one line each; control characters in the message (which can only
 * come from a manifest, the command line or the sandbox) are escaped (common/escape.h).
 */
/** Prints "skillbox: <message>" to stderr. */
void log_error(const char *fmt, ...) _printf_(1, 2);
/** Prints "skillbox: <message>: <strerror(-error)>" and returns error. */
int log_error_errno(int error, const char *fmt, ...) _printf_(2, 3);
/** Prints "<message>" to stderr, without the "skillbox: " prefix (FILE:LINE:COL: ...). */
void log_plain(const char *fmt, ...) _printf_(1, 2);

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_init(int argc, char **argv);

/*
 * Loads the manifest named by arg (a file, or a directory holding skillbox.yaml). Problems
 * are printed as FILE:LINE:COLUMN: message, every one of them. Returns 0, -EINVAL when the
 * manifest is invalid (already reported) or another -errno (already reported). When
 * ret_data is given it receives the file's bytes (for the digest).
 */
int manifest_load(const char *arg, struct manifest **ret, char **ret_data, size_t *ret_len);
/** manifest_load() with the grants of skillbox run's command line merged (NULL: none). */
int manifest_load_full(const char *arg, const struct manifest_grants *grants, struct manifest **ret,
		       char **ret_data, size_t *ret_len);
/** Prints problems as FILE:LINE:COLUMN: message (file for those of the manifest itself). */
void manifest_print_diags(const struct manifest_diags *diags, const char *file);
/** The caller's HOME (or passwd's), for "~"; NULL when unknown. */
const char *caller_home(void);

/*
 * The grant options of run (also taken by check and explain, to predict and show the same
 * run): --read, --write, --env, --secret, --allow. Add GRANT_OPTIONS to a getopt_long table
 * and hand its values to grant_option().
 */
enum {
	OPT_GRANT_READ = 1000,
	OPT_GRANT_WRITE,
	OPT_GRANT_ENV,
	OPT_GRANT_SECRET,
	OPT_GRANT_ALLOW,
};
#define GRANT_OPTIONS                                                    \
	{ "read", required_argument, NULL, OPT_GRANT_READ },             \
		{ "write", required_argument, NULL, OPT_GRANT_WRITE },   \
		{ "env", required_argument, NULL, OPT_GRANT_ENV },       \
		{ "secret", required_argument, NULL, OPT_GRANT_SECRET }, \
	{                                                                \
		"allow", required_argument, NULL, OPT_GRANT_ALLOW        \
	}
/** Records a grant option: 1 when c is one, 0 when it is not, -ENOMEM. */
int grant_option(struct manifest_grants *g, int c, const char *arg);
void grants_done(struct manifest_grants *g);
