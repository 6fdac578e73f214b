/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* Length of the UTF-8 sequence at p and its code point; 0 when it is not one. */
static size_t utf8_len(const uint8_t *p, size_t n, uint32_t *ret_cp)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80) {
		*ret_cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	*ret_cp = cp;
	return len;
}

/* Characters that are invisible yet change how the text around them reads. */
static bool invisible(uint32_t cp)
{
	return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* Is the character of len bytes (0: not UTF-8) and code point cp shown as an escape? */
static bool needs_escape(size_t len, uint32_t cp)
{
	return len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || invisible(cp);
}

void escape_append(struct buf *b, const void *s, size_t n)
{
	const uint8_t *p = s, *end = p + n, *plain = p;

	while (p < end) {
		uint32_t cp = 0;
		size_t len = utf8_len(p, (size_t)(end - p), &cp);

		if (!needs_escape(len, cp)) {
			p += len;
			continue;
		}
		buf_append(b, plain, (size_t)(p - plain));
		if (len == 0) {
			buf_printf(b, "\\x%02x", *p);
			len = 1;
		} else if (cp == '\n') {
			buf_puts(b, "\\n");
		} else if (cp == '\t') {
			buf_puts(b, "\\t");
		} else if (cp < 0x80) {
			buf_printf(b, "\\x%02x", cp);
		} else {
			buf_printf(b, "\\u%04x", cp);
		}
		p += len;
		plain = p;
	}
	buf_append(b, plain, (size_t)(end - plain));
}

bool escape_needed(const void *s, size_t n)
{
	const uint8_t *p = s, *end = p + n;

	while (p < end) {
		uint32_t cp = 0;
		size_t len = utf8_len(p, (size_t)(end - p), &cp);

		if (needs_escape(len, cp))
			return true;
		p += len;
	}
	return false;
}

static char *slots[ESCAPED_SLOTS];
static size_t next_slot;

const char *escaped(const char *s)
{
	struct buf b = BUF_INIT;
	size_t n;

	if (!s)
		return "(null)";
	n = strlen(s);
	if (!escape_needed(s, n))
		return s;
	escape_append(&b, s, n);
	if (!buf_ok(&b)) {
		buf_done(&b);
		return "(unprintable)";
	}
	free(slots[next_slot]);
	slots[next_slot] = buf_steal(&b);
	s = slots[next_slot];
	next_slot = (next_slot + 1) % ESCAPED_SLOTS;
	return s;
}

void escaped_free_all(void)
{
	for (size_t i = 0; i < ESCAPED_SLOTS; i++) {
		free(slots[i]);
		slots[i] = NULL;
	}
	next_slot = 0;
}
