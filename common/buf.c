/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

char *buf_reserve(struct buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = true;
		return NULL;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return NULL;
		}
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	char *d = buf_reserve(b, n);

	if (!d)
		return;
	if (n)
		memcpy(d, p, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;
	char *d;

	if (b->oom)
		return;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		b->oom = true;
		return;
	}
	d = buf_reserve(b, (size_t)n);
	if (!d)
		return;
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

const char *buf_str(struct buf *b)
{
	if (!b->data && !buf_reserve(b, 0))
		return "";
	return b->data;
}

char *buf_steal(struct buf *b)
{
	char *d;

	if (b->oom || !buf_reserve(b, 0)) {
		buf_done(b);
		return NULL;
	}
	d = b->data;
	*b = (struct buf)BUF_INIT;
	return d;
}

void buf_done(struct buf *b)
{
	free(b->data);
	*b = (struct buf)BUF_INIT;
}
