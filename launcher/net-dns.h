/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The resolver of `skillbox run --ask` (launcher/net-dns.c): a small DNS responder on the
 * sandbox's resolver address (NFSTACK_DNS4, port 53, UDP), on a socket init opened in the
 * sandbox's network namespace and handed over.
 *
 * A query is answered at once for a name the run already knows (declared and pinned, or
 * approved for the run), with NXDOMAIN for one denied for the run; any other name is held
 * while the network layer asks the caller (net_dns_decide_t answers NET_DNS_PENDING). An
 * approved name is resolved on the host (getaddrinfo, on a thread of its own so that the
 * supervisor never waits), and the answer is pinned: it is what every query for that name gets
 * for the rest of the run (or, approved once, what the queries waiting now get). Each answer is
 * a dns.query event (verdict, name, type, the addresses given).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event-loop.h"
#include "event-sink.h"
#include "nfrules.h"

struct net_dns;

enum net_dns_action {
	NET_DNS_ANSWER,	 /* with the addresses given */
	NET_DNS_REFUSE,	 /* NXDOMAIN */
	NET_DNS_PENDING, /* net_dns_allow() or net_dns_deny() follows */
};

struct net_dns_verdict {
	enum net_dns_action action;
	const struct nfrules_addr *addrs; /* NET_DNS_ANSWER; copied */
	size_t n_addrs;
};

/* Decides a name the responder does not know yet (lowercase, without the trailing dot). */
typedef void (*net_dns_decide_t)(void *userdata, const char *name, uint16_t type,
				 struct net_dns_verdict *ret);

struct net_dns_opts {
	struct event_loop *loop;
	struct event_sink *sink;
	net_dns_decide_t decide;
	void *userdata;
};

/** Answers queries arriving on fd (a UDP socket, taken over). */
int net_dns_new(const struct net_dns_opts *o, int fd, struct net_dns **ret);
/**
 * Allows name: it is resolved on the host, and the queries waiting for it are answered with
 * what that gave; remember keeps the answer for the rest of the run.
 */
void net_dns_allow(struct net_dns *d, const char *name, bool remember);
/** Refuses name (NXDOMAIN) to the queries waiting for it; remember refuses it for the run. */
void net_dns_deny(struct net_dns *d, const char *name, bool remember);
/** The name the run resolved to this address through the responder, or NULL. */
const char *net_dns_name_of(const struct net_dns *d, int family, const uint8_t *addr);
void net_dns_finish(struct net_dns *d);
struct net_dns *net_dns_free(struct net_dns *d);
