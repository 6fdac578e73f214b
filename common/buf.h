/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

/*
 * A growable byte buffer. Appends never fail loudly: on allocation failure the buffer
 * becomes "broken" (buf_ok() false) and later appends are ignored, so a caller can build
 * a whole record and check once at the end.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom;
};

#define BUF_INIT                  \
	{                         \
		NULL, 0, 0, false \
	}

void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);
/** Makes room for n more bytes; returns a pointer to them or NULL when broken. */
char *buf_reserve(struct buf *b, size_t n);
/** Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);
/** Returns a NUL-terminated view of the content (the NUL is not counted in len). */
const char *buf_str(struct buf *b);
/** Detaches the NUL-terminated content for the caller to free; NULL when broken. */
char *buf_steal(struct buf *b);
void buf_done(struct buf *b);
static inline bool buf_ok(const struct buf *b)
{
	return !b->oom;
}
