/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/**
 * True when p is absolute and normalized: no empty, "." or ".." components and no trailing
 * slash ("/" itself is normalized).
 */
bool path_is_normalized(const char *p);
/**
 * Lexically normalizes an absolute path: collapses "//" and ".", and resolves ".." against
 * the components before it ("/.." stays "/"). Returns 0, -EINVAL (not absolute) or -ENOMEM.
 */
int path_normalize(const char *p, char **ret);
/** True when p has a ".." component (absolute or relative). */
bool path_has_dotdot(const char *p);
/** Joins a and b with exactly one slash between them; NULL on allocation failure. */
char *path_join(const char *a, const char *b);
/**
 * When path equals prefix or lies below it (component-wise), returns the rest of path
 * without leading slashes ("" when equal); otherwise NULL. Both must be normalized.
 */
const char *path_startswith(const char *path, const char *prefix);
/** Number of components: "/" is 0, "/a/b" is 2. */
unsigned path_depth(const char *p);
