/* SPDX-License-Identifier: MIT */
#pragma once

#include <malloc.h>
#include <stdbool.h>
#include <stddef.h>

#include "macros.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

/*
 * Allocations: a test program that includes this (in one file) replaces malloc (glibc routes
 * its own internal allocations, libyaml's and strdup()'s included, through the replacement)
 * to count live blocks and bytes. That bounds the memory the worst inputs take, and lets a
 * sweep fail the Nth allocation for every N and check the result and that everything was
 * given back. Sanitizer builds have their own allocator, so there these are skipped and
 * leaks are the sanitizer's to find.
 */
#ifndef HAVE_ASAN
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static long fail_at = -1, n_allocs, n_live;
static size_t n_bytes, peak_bytes;

static void *track(void *p)
{
	if (p) {
		n_live++;
		n_bytes += malloc_usable_size(p);
		peak_bytes = MAX(peak_bytes, n_bytes);
	}
	return p;
}

static bool fail_now(void)
{
	return fail_at >= 0 && n_allocs++ == fail_at;
}

void *malloc(size_t n)
{
	return track(fail_now() ? NULL : __libc_malloc(n));
}

void *calloc(size_t n, size_t size)
{
	return track(fail_now() ? NULL : __libc_calloc(n, size));
}

void free(void *p)
{
	if (p) {
		n_live--;
		n_bytes -= malloc_usable_size(p);
	}
	__libc_free(p);
}

void *realloc(void *old, size_t n)
{
	size_t old_size = old ? malloc_usable_size(old) : 0;
	void *p;

	if (old && n == 0) {
		free(old);
		return NULL;
	}
	if (fail_now())
		return NULL;
	p = __libc_realloc(old, n);
	if (p) {
		n_live += !old;
		n_bytes += malloc_usable_size(p) - old_size;
		peak_bytes = MAX(peak_bytes, n_bytes);
	}
	return p;
}

#endif
