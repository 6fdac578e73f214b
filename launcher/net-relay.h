/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * skillbox's TCP relay (launcher/net-relay.c): the sandbox's declared TCP, carried by skillbox
 * itself instead of a user-mode network stack.
 *
 * The relay chain of the sandbox's ruleset (netfilter/nfrules.h) redirects the connections to
 * listeners that the sandbox's init opened on its loopback and handed over. The relay accepts
 * them in the run's event loop, reads where each was meant to go, asks the network layer
 * (run-net.c, the one place policy is decided) whether it may go there, if need be after
 * reading the host name the connection's first bytes ask for (netfilter/nfwire.h) or while a
 * question is open on the caller's terminal, then connects from the host side and moves the
 * bytes both ways with splice() through a pipe per direction: a side is read only while its
 * pipe is empty (backpressure), an end of stream is passed on as a half close, and a reset as
 * a reset. It writes net.connect when a connection is decided and net.close when it ends.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-loop.h"
#include "event-sink.h"
#include "nfwire.h"

struct net_relay;

/* Where a relayed connection was meant to go, as the skill addressed it. */
struct net_relay_dest {
	int family;
	uint8_t addr[16];
	uint16_t port;
	uint16_t src_port; /* the skill's side */
	char text[46];	   /* the address, printable */
};

enum net_relay_action {
	NET_RELAY_DENY,
	NET_RELAY_ALLOW,
	NET_RELAY_NEED_NAME, /* read the first data, then ask again with the name */
	NET_RELAY_PENDING,   /* the answer comes later, through net_relay_decided() */
};

/* A decision. Strings must stay valid until the relay is freed (or be static). */
struct net_relay_verdict {
	enum net_relay_action action;
	long rule;	      /* the manifest rule that allowed it, or -1 */
	const char *host;     /* that rule's host as written, or NULL */
	unsigned line;	      /* that rule's manifest line, or 0 */
	const char *reason;   /* DENY: "undeclared", "host", "name-mismatch", "no-name", ... */
	const char *detail;   /* DENY: an explanation, or NULL */
	const char *approval; /* allowed by an answer on the terminal: "once", "run", "add" */
	uint64_t name_timeout_usec; /* NEED_NAME: how long the first data may take */
	/* ALLOW: connect there instead of the destination (the host's loopback for
	   host-loopback); family 0: the destination itself. */
	int connect_family;
	uint8_t connect_addr[16];
};

/* Why the name phase ended without a complete name. */
enum net_relay_name_end {
	NET_RELAY_NAME_READ, /* the first bytes were read: see wire */
	NET_RELAY_NAME_TIMEOUT,
	NET_RELAY_NAME_CLOSED, /* the skill closed or reset the connection first */
};

struct net_relay_query {
	uint64_t id; /* the connection, for net_relay_decided() */
	const struct net_relay_dest *dest;
	/* NULL before the first data; else the name found (or not) in it */
	const struct nfwire_result *wire;
	enum net_relay_name_end name_end;
};

typedef void (*net_relay_decide_t)(void *userdata, const struct net_relay_query *q,
				   struct net_relay_verdict *ret);

struct net_relay_opts {
	struct event_loop *loop;
	struct event_sink *sink;
	net_relay_decide_t decide;
	void *userdata;
	/* A root caller's relay makes its host-side sockets as this uid and gid, the
	   unprivileged ones the sandbox maps to, so the host sees them as it saw pasta's. */
	uid_t host_uid;
	gid_t host_gid;
	uint64_t connect_timeout_usec;
};

int net_relay_new(const struct net_relay_opts *o, struct net_relay **ret);
/** Accepts connections from fd (a listener handed over by init); takes fd. */
int net_relay_add_listener(struct net_relay *r, int fd);
/** The decision on a connection left NET_RELAY_PENDING; ignored if it is gone. */
void net_relay_decided(struct net_relay *r, uint64_t id, const struct net_relay_verdict *v);
/**
 * The sandbox is gone: moves what can still be moved without waiting, then ends every
 * connection (net.close with "run-ended" for those that were still open).
 */
void net_relay_finish(struct net_relay *r);
struct net_relay *net_relay_free(struct net_relay *r);
