/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Pinned DNS: the names a manifest declares are resolved by skillbox before the skill starts
 * and written into the sandbox's own /etc/hosts, so the skill needs no resolver at all. When a
 * resolver is opened (`dns: resolver`), the queries are read from the log; the parsers for
 * their questions are here too.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nfrules.h"

/**
 * Resolves name (A and AAAA, through the caller's resolver configuration). Returns 0 and the
 * distinct addresses, -ENOENT when the name does not exist or has no address, -EAGAIN when the
 * resolver did not answer, -ENOMEM. *ret_why is a short explanation of a failure.
 */
int nfdns_resolve(const char *name, struct nfrules_addr **ret, size_t *ret_n, const char **ret_why);

/* A name pinned in /etc/hosts with its addresses. */
struct nfdns_pin {
	const char *name;
	const struct nfrules_addr *addrs;
	size_t n_addrs;
};

/** /etc/hosts: localhost, the sandbox's hostname, then every pinned name. NULL on ENOMEM. */
char *nfdns_hosts_file(const char *hostname, const struct nfdns_pin *pins, size_t n);
/**
 * /etc/resolv.conf naming one nameserver, with short timeouts, or with the longest the C
 * library allows when patient (an answer may wait for a question on a terminal). NULL on
 * ENOMEM.
 */
char *nfdns_resolv_conf(const char *nameserver, const char *comment, bool patient);

/**
 * The response to a DNS query sent over UDP (the --ask resolver): its header and question,
 * then an answer record per address of the type asked (A: IPv4, AAAA: IPv6; none for another
 * type), with ttl in seconds; with an rcode (3 NXDOMAIN, 5 REFUSED) no answer. The EDNS record
 * of the query is not echoed. Returns the length written to out, -EBADMSG for a query that is
 * not exactly one question, or -ENOBUFS.
 */
ssize_t nfdns_build_answer(const uint8_t *query, size_t qlen, const struct nfrules_addr *addrs,
			   size_t n, uint8_t rcode, uint32_t ttl, uint8_t *out, size_t size);

#define NFDNS_NAME_MAX 1024 /* a 255-byte name with every byte escaped as \DDD */

/**
 * Parses the question of a DNS query message (as sent over UDP). Writes the name in dotted
 * form, printable and with other bytes escaped as \DDD ("." for the root), and its type.
 * Returns 0, or -EBADMSG when it is not a well-formed query.
 */
int nfdns_parse_query(const uint8_t *p, size_t len, char *name, size_t name_size,
		      uint16_t *ret_type);
/** The same for DNS over TCP, whose messages start with a two-byte length. */
int nfdns_parse_query_tcp(const uint8_t *p, size_t len, char *name, size_t name_size,
			  uint16_t *ret_type);
/** "A", "AAAA", ... or "TYPE<n>"; buf needs 16 bytes. */
const char *nfdns_type_to_string(uint16_t type, char *buf, size_t size);
