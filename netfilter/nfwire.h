/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Names on the wire: the host name a TCP client's first bytes ask for.
 *
 * The first bytes decide what the connection speaks. A TLS handshake record (content type 22,
 * version 3.x) must carry a ClientHello, whose server_name extension (RFC 6066) is the name;
 * the ClientHello may be split across TCP segments and across TLS records, and is reassembled.
 * A request line of HTTP/1.x ("METHOD target HTTP/1.x") is followed by headers, whose Host is
 * the name (RFC 9112), and an absolute-form or authority-form target names a host as well.
 * Anything else names nothing. With Encrypted Client Hello the name read is the outer one,
 * the only one a relay can see (the inner one is encrypted to the server).
 *
 * Pure: the relay (launcher/net-relay.c) calls nfwire_parse() with every byte it has read so
 * far, and again once it has read nfwire_result.need bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A DNS name is at most 253 characters; room for a port and the terminating NUL. */
#define NFWIRE_NAME_MAX 264
/* Bytes of first data read at most while looking for a name: a ClientHello of up to
   NFWIRE_HELLO_MAX bytes in records of any size, or an HTTP request head. */
#define NFWIRE_BUFFER_MAX (48 * 1024)
#define NFWIRE_HELLO_MAX  (32 * 1024)
#define NFWIRE_HEAD_MAX	  (16 * 1024)

enum nfwire_proto {
	NFWIRE_PROTO_UNKNOWN, /* not (yet) recognised */
	NFWIRE_PROTO_TLS,
	NFWIRE_PROTO_HTTP,
};

enum nfwire_status {
	NFWIRE_MORE, /* not enough bytes yet: parse again once `need` bytes are there */
	NFWIRE_DONE, /* decided: has_name says whether a name was sent */
	NFWIRE_BAD,  /* neither TLS nor HTTP/1.x, or a malformed or oversized one: `why` */
};

struct nfwire_result {
	enum nfwire_status status;
	enum nfwire_proto proto;
	size_t need;		    /* MORE: total bytes to have before parsing again */
	bool has_name;		    /* DONE: the server_name or Host that was sent */
	char name[NFWIRE_NAME_MAX]; /* lowercase, without a trailing dot or a port */
	/* HTTP: the host of an absolute-form ("http://h/...") or authority-form (CONNECT h:443)
	   target, which must name the same host; "" when the target is a path. */
	char target[NFWIRE_NAME_MAX];
	bool ech;	 /* TLS: the ClientHello offers Encrypted Client Hello (outer name) */
	const char *why; /* BAD: a short reason, e.g. "neither TLS nor HTTP/1.x" */
};

/** Looks for the name in the first len bytes a client sent. Never fails: see status. */
void nfwire_parse(const uint8_t *p, size_t len, struct nfwire_result *ret);

/**
 * Normalises a host name for comparison into buf: ASCII letters lowercased, one trailing dot
 * dropped. Returns buf, or NULL when it is empty or does not fit.
 */
char *nfwire_normalize(const char *name, char *buf, size_t size);

/** Whether two names are the same host (compared normalised). */
bool nfwire_same_name(const char *a, const char *b);

/** "tls", "http" or NULL. */
const char *nfwire_proto_to_string(enum nfwire_proto p);
