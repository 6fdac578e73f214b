/* SPDX-License-Identifier: MIT */
/*
 * What the verbs share (cli.h): the diagnostics and main()'s argv. Part of the launcher's
 * library, so that the library, its tests and the binary link the same code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "escape.h"

char **program_argv;

/*
 * A diagnostic is one line, and quotes what the manifest, the command line or the sandbox
 * said: every control character in it came from there, so the whole message is escaped
 * (common/escape.h) and cannot drive the terminal or pass for several lines.
 */
static void log_line(const char *fmt, va_list ap, const char *suffix)
{
	struct buf msg = BUF_INIT, line = BUF_INIT;

	buf_vprintf(&msg, fmt, ap);
	if (suffix)
		buf_puts(&msg, suffix);
	buf_puts(&line, "skillbox: ");
	escape_append(&line, msg.data ? msg.data : "", msg.len);
	buf_putc(&line, '\n');
	if (buf_ok(&msg) && buf_ok(&line))
		fwrite(line.data, 1, line.len, stderr);
	else
		fputs("skillbox: out of memory\n", stderr);
	buf_done(&msg);
	buf_done(&line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap, NULL);
	va_end(ap);
}

int log_error_errno(int error, const char *fmt, ...)
{
	char suffix[128];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(error < 0 ? -error : error));
	va_start(ap, fmt);
	log_line(fmt, ap, suffix);
	va_end(ap);
	return error;
}

void log_plain(const char *fmt, ...)
{
	struct buf msg = BUF_INIT, line = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	escape_append(&line, msg.data ? msg.data : "", msg.len);
	buf_putc(&line, '\n');
	if (buf_ok(&msg) && buf_ok(&line))
		fwrite(line.data, 1, line.len, stderr);
	buf_done(&msg);
	buf_done(&line);
}
