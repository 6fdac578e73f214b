/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 from libcrypto's low-level interface rather than EVP. Measured on the 2-core test
 * machine: OpenSSL 3's EVP path loads and initialises its provider machinery on first use,
 * which added ~7 ms to every `skillbox run` (more than the whole sandbox setup), while the
 * SHA256_* block functions need no initialisation and, linked statically, add nothing at
 * start-up. They are deprecated in OpenSSL 3.0 but still shipped; should a future libcrypto
 * drop them, the EVP branch below is used instead.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>

#include "hasher.h"

#if OPENSSL_VERSION_MAJOR >= 4
#include <openssl/evp.h>
#define USE_EVP 1
#endif

int audit_hasher_init(struct audit_hasher *h)
{
	*h = (struct audit_hasher){ 0 };
	return 0;
}

void audit_hasher_done(struct audit_hasher *h)
{
	*h = (struct audit_hasher){ 0 };
}

void audit_hex(const unsigned char *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * n] = 0;
}

int audit_hasher_hex(struct audit_hasher *h, const void *data, size_t len,
		     char hex[static AUDIT_HASH_HEX_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
#ifdef USE_EVP
	unsigned md_len = 0;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != sizeof(md)) {
		hex[0] = 0;
		return -EIO;
	}
#else
	SHA256_CTX c;

	if (!SHA256_Init(&c) || !SHA256_Update(&c, data, len) || !SHA256_Final(md, &c)) {
		hex[0] = 0;
		return -EIO;
	}
#endif
	audit_hex(md, sizeof(md), hex);
	return 0;
}
