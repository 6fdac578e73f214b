/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A minimal TAP producer for unit tests (meson runs them with protocol: 'tap').
 * Each check prints one "ok N - name" or "not ok N - name" line with a diagnostic.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_count;
static unsigned tap_failed;

__attribute__((format(printf, 2, 3))) static inline bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

#define is_int(got, want, ...)                                                 \
	({                                                                     \
		long long _g = (long long)(got), _w = (long long)(want);       \
		bool _r = tap_ok(_g == _w, __VA_ARGS__);                       \
		if (!_r)                                                       \
			printf("#   got: %lld\n#   expected: %lld\n", _g, _w); \
		_r;                                                            \
	})

#define is_str(got, want, ...)                                                            \
	({                                                                                \
		const char *_g = (got), *_w = (want);                                     \
		bool _r = tap_ok(_g && _w ? strcmp(_g, _w) == 0 : _g == _w, __VA_ARGS__); \
		if (!_r)                                                                  \
			printf("#   got: '%s'\n#   expected: '%s'\n", _g ? _g : "(null)", \
			       _w ? _w : "(null)");                                       \
		_r;                                                                       \
	})

static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_count);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
