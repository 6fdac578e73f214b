/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
#define NSEC_PER_USEC 1000ULL

/**
 * Parses a duration with a mandatory unit: "500ms", "30s", "2m", "1h" (also "us").
 * Returns 0 and the value in microseconds, -EINVAL on bad syntax, -ERANGE on overflow.
 */
int parse_duration(const char *s, uint64_t *ret_usec);
/**
 * Parses a size: plain bytes ("1048576") or a number with a binary suffix K, M, G or T
 * (1024-based, case-insensitive). Returns 0, -EINVAL or -ERANGE.
 */
int parse_size(const char *s, uint64_t *ret);
/** Parses a decimal unsigned integer with no sign, no spaces; -EINVAL or -ERANGE. */
int parse_uint64(const char *s, uint64_t *ret);
/** Formats a duration in the largest exact unit ("1500ms", "2m"); buf needs 32 bytes. */
const char *format_duration(char *buf, size_t size, uint64_t usec);
/** Formats a size in the largest exact binary unit ("64M", "1536K"); buf needs 32 bytes. */
const char *format_size(char *buf, size_t size, uint64_t bytes);
