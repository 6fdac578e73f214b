/* SPDX-License-Identifier: MIT */
#pragma once

/* Internal to audit/: SHA-256 for the writer and the verifier. */

#include <stddef.h>

#include "audit.h"

/*
 * Nothing to hold any more: libcrypto's one-shot SHA-256 block functions need no context
 * fetched from a provider (see hasher.c). The struct stays so callers keep one shape.
 */
struct audit_hasher {
	int unused;
};

/** Prepares hashing; 0. */
int audit_hasher_init(struct audit_hasher *h);
void audit_hasher_done(struct audit_hasher *h);
/** Stores the lowercase hex SHA-256 of data in hex; 0, or -EIO when libcrypto fails. */
int audit_hasher_hex(struct audit_hasher *h, const void *data, size_t len,
		     char hex[static AUDIT_HASH_HEX_LEN + 1]);
/** Formats a raw digest as lowercase hex. */
void audit_hex(const unsigned char *md, size_t n, char *hex);
