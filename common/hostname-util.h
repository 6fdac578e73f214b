/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/**
 * True for an RFC 1123 host name that skillbox can resolve: dot-separated labels of 1 to 63
 * letters, digits and '-' (not at either end of a label), at most 253 characters, no
 * trailing dot, and a last label that is not all digits (so that it cannot be mistaken for
 * an IPv4 address).
 */
bool hostname_is_valid_dns(const char *s);
