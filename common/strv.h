/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

/* A strv is a NULL-terminated array of owned strings. */

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

size_t strv_length(char *const *l);
/** Frees every string and the array; takes NULL; returns NULL. */
char **strv_free(char **l);
/** Appends an owned copy of s; returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
/** Appends s itself, taking ownership on success only. */
int strv_push(char ***l, char *s);
bool strv_contains(char *const *l, const char *s);
/** A deep copy; NULL for NULL. Returns -ENOMEM through ret on failure. */
int strv_copy(char *const *l, char ***ret);

DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
