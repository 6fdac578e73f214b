/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Text from a manifest, a trail or the skill made safe to print on a terminal, on one line.
 * Control characters (C0 including newline and tab, DEL, C1) and the invisible characters that
 * reorder or hide text (bidirectional controls, zero-width characters) become visible escapes
 * (\n, \t, \x1b, \u009b, \u202e); bytes that are not UTF-8 become \xNN. Everything else is
 * copied as it is. So a hostile string can neither drive the terminal ("\e[8m" hides what
 * follows, "\e]0;...\a" sets the title) nor pass for several lines of skillbox's output.
 */

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/** Appends s (n bytes, NULs allowed) escaped for a terminal. */
void escape_append(struct buf *b, const void *s, size_t n);
/** True when escape_append() would change s. */
bool escape_needed(const void *s, size_t n);

/* How many strings escaped() keeps alive at once. */
#define ESCAPED_SLOTS 16

/**
 * s made safe for printf(): s itself when nothing needs escaping, else an escaped copy that
 * stays valid for the next ESCAPED_SLOTS - 1 calls (enough for the arguments of one printf()).
 * NULL gives "(null)"; when memory runs out, a fixed placeholder. Not thread-safe.
 */
const char *escaped(const char *s);
/** Frees the copies escaped() keeps (for leak checkers; escaped() works again afterwards). */
void escaped_free_all(void);
