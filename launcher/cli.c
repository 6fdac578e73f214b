/* SPDX-License-Identifier: MIT */
/*
 * What the verbs share (cli.h): the diagnostics and main()'s argv. Part of the launcher's
 * library, so that the library, its tests and the binary link the same code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

char **program_argv;

void log_error(const char *fmt, ...)
{
	va_list ap;

	fputs("skillbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int log_error_errno(int error, const char *fmt, ...)
{
	va_list ap;

	fputs("skillbox: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(error < 0 ? -error : error));
	return error;
}
