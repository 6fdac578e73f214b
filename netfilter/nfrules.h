/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sandbox's egress ruleset as one nftables batch.
 *
 * Planning is pure: nfrules_build_batch() turns a list of allowed (addresses, ports, protocol)
 * tuples into the bytes of one netlink batch with libnftnl, and a unit test parses them back.
 * nfrules_apply() is the thin part: it sends the batch over one libmnl socket in the network
 * namespace it runs in (the sandbox's, from its init) and checks every acknowledgement.
 *
 * The ruleset, in nft syntax (table inet skillbox, chain output, policy drop):
 *
 *   [per rule with log_payload]  <daddr> <proto> dport <ports> log prefix "sb:q:K" snaplen 512
 *   oif lo accept
 *   ct state established,related accept
 *   icmpv6 type 130-143 accept                (neighbour discovery and MLD, to the stack only)
 *   ct state invalid drop
 *   [rules with before_block]   ct state new <daddr> <proto> dport <ports> log "sb:a:K" accept
 *   ip[6] daddr @blocked_ip[6]  log prefix "sb:h" then reject
 *   [other rules: exact addresses, and networks inside a reserved range]
 *                               ct state new <daddr> <proto> dport <ports> log "sb:a:K" accept
 *   ip[6] daddr <reserved net>  log prefix "sb:r" then reject   (one rule per range)
 *   [other rules: the remaining networks]  ... log "sb:a:K" accept
 *   meta l4proto tcp            log prefix "sb:d" reject with tcp reset
 *                               log prefix "sb:d" reject with icmpx admin-prohibited
 *
 * so a refused connection fails at once (ECONNREFUSED / EHOSTUNREACH) and every new
 * connection, allowed or refused, reaches the NFLOG group with a prefix naming the verdict
 * and the rule.
 *
 * With no egress declared (loopback_only) the ruleset is only:
 *
 *   oif lo ip daddr 127.0.0.0/8 accept
 *   oif lo ip6 daddr ::1 accept
 *   meta l4proto tcp            log prefix "sb:d" reject with tcp reset
 *                               log prefix "sb:d" reject with icmpx admin-prohibited
 *
 * and catch-all routes through lo bring every other destination to it, so that an attempt
 * to leave is refused and logged rather than failing unseen with ENETUNREACH.
 *
 * TCP that skillbox relays itself (rules with `relay`, when relay_port is set) is not accepted
 * there: a nat chain ahead of it (chain relay, hook output, priority -100) redirects the first
 * packet of each such connection to skillbox's listener on the sandbox's loopback, and the
 * filter chain then accepts it by its conntrack status (after the fixed accepts:
 * `ct status dnat tcp dport <relay_port> accept`; the route, and so the output interface, was
 * chosen before the redirect):
 *
 *   ip daddr 127.0.0.0/8, 10.0.2.100; ip6 daddr ::1, fd00::100   return   (the sandbox itself)
 *   [relay rules with before_block]  <daddr> tcp dport <ports> redirect to :relay_port
 *   ip[6] daddr @blocked_ip[6]       return                   (refused by the filter chain)
 *   [other relay rules: exact addresses, and networks inside a reserved range]
 *                                    <daddr> tcp dport <ports> redirect to :relay_port
 *   ip[6] daddr <reserved net>       return       (one per range; refused by the filter chain)
 *   [other relay rules: the remaining networks]  ... redirect to :relay_port
 *   [relay_any_tcp]                  meta l4proto tcp redirect to :relay_port
 *
 * Everything else is left to the filter chain, and is refused and logged there as above.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "macros.h"

#define NFRULES_TABLE	    "skillbox"
#define NFRULES_CHAIN	    "output"
#define NFRULES_RELAY_CHAIN "relay"
#define NFRULES_LOG_GROUP   1
/* Bytes of each logged packet copied to the log: headers for connections, the question of a
   DNS query (IP 60 + UDP 8 + DNS header 12 + name 255 + type/class 4 fits in 512). */
#define NFRULES_SNAPLEN	    128
#define NFRULES_SNAPLEN_DNS 512
/* Set elements per NEWSETELEM message, so every message stays far below 64 KiB. */
#define NFRULES_ELEMS_PER_MSG 256

/* NFLOG prefixes: "sb:a:K" allowed by rule K, "sb:q:K" payload logged for rule K (DNS),
   "sb:h" refused because the destination is the host itself, "sb:r" refused because it is
   in a reserved range (multicast, broadcast, link-local) no rule names, "sb:d" refused. */
#define NFRULES_PREFIX_ALLOW	"sb:a:"
#define NFRULES_PREFIX_PAYLOAD	"sb:q:"
#define NFRULES_PREFIX_HOST	"sb:h"
#define NFRULES_PREFIX_RESERVED "sb:r"
#define NFRULES_PREFIX_DENY	"sb:d"

enum nfrules_verdict {
	NFRULES_LOG_UNKNOWN,
	NFRULES_LOG_ALLOW,   /* rule = index */
	NFRULES_LOG_PAYLOAD, /* rule = index */
	NFRULES_LOG_HOST,
	NFRULES_LOG_RESERVED,
	NFRULES_LOG_DENY,
};

/** Decodes an NFLOG prefix written by this ruleset; *ret_rule is -1 when none applies. */
enum nfrules_verdict nfrules_parse_prefix(const char *prefix, long *ret_rule);

/* An address or a network; host bits beyond prefix are zero. */
struct nfrules_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix; /* 0..32 or 0..128 */
};

struct nfrules_rule {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	const struct nfrules_addr *addrs;
	size_t n_addrs; /* none: the rule allows nothing (an optional host that did not resolve) */
	const uint16_t *ports; /* at least one, unless any_port */
	size_t n_ports;
	bool any_port;	   /* every port of proto, ports ignored (skillbox learn's catch-all) */
	bool before_block; /* checked before the blocked host addresses (host-loopback, resolver) */
	bool log_payload;  /* log every packet with its payload, before conntrack (DNS queries) */
	bool relay;	   /* TCP redirected to the relay (nfrules.relay_port), not accepted */
	bool quiet;	   /* accepted without a log entry (the --ask resolver logs its own) */
};

struct nfrules {
	/*
	 * No egress: only the sandbox's loopback is accepted (127.0.0.0/8, ::1), everything else
	 * is logged and refused at once; no conntrack, no rules, no blocked addresses.
	 */
	bool loopback_only;
	const struct nfrules_rule *rules;
	size_t n_rules;
	/* Destinations refused even when a rule's network contains them: the host's own
	   addresses and the user-mode stack's gateway and resolver. Exact addresses only. */
	const struct nfrules_addr *blocked;
	size_t n_blocked;
	/* Networks a wider declared network never covers (multicast, broadcast, link-local):
	   a rule reaches into one only with an exact address, or a network entirely inside
	   it; everything else to them is refused and logged with NFRULES_PREFIX_RESERVED. */
	const struct nfrules_addr *reserved;
	size_t n_reserved;
	uint16_t log_group;
	/* The relay's port on the sandbox's loopback; 0: no relay, no nat chain. */
	uint16_t relay_port;
	/* Every other TCP destination that is not blocked goes to the relay too (skillbox run
	   --ask decides there whether to allow it). */
	bool relay_any_tcp;
};

/* What one message of the batch does, to name it when the kernel refuses it. */
enum nfrules_msg_kind {
	NFRULES_MSG_TABLE,
	NFRULES_MSG_CHAIN,
	NFRULES_MSG_SET,     /* rule = owner, -1 for the blocked addresses */
	NFRULES_MSG_SETELEM, /* same */
	NFRULES_MSG_RULE,    /* rule = index, or -1 for the fixed rules */
};

struct nfrules_msg {
	uint32_t seq;
	enum nfrules_msg_kind kind;
	long rule;
	char what[64]; /* "set r2_a4", "rule: ct state established,related accept" */
};

struct nfrules_batch {
	struct buf bytes; /* BATCH_BEGIN, the messages, BATCH_END */
	struct nfrules_msg *msgs;
	size_t n_msgs; /* between begin and end, each with NLM_F_ACK */
	uint32_t seq_begin;
};

/**
 * Builds the batch for rs, with sequence numbers from seq. Pure: no socket, no kernel.
 * Returns 0, -EINVAL for an invalid rule set (no ports, unknown family), or -ENOMEM.
 */
int nfrules_build_batch(const struct nfrules *rs, uint32_t seq, struct nfrules_batch *ret);
void nfrules_batch_done(struct nfrules_batch *b);
/** True when net (an address or a network) lies entirely inside within. */
bool nfrules_addr_within(const struct nfrules_addr *net, const struct nfrules_addr *within);

/**
 * Checks the kernel's answers to a batch (a buffer of netlink messages). Every message sent
 * with NLM_F_ACK must be answered by an NLMSG_ERROR with error 0. Sets *ret_failed to the
 * index in b->msgs of the first refused message (SIZE_MAX when the failure is not tied to one
 * message) and returns its -errno; 1 when every message has been acknowledged, 0 when more
 * answers are needed. *acked counts acknowledgements across calls (start at 0).
 */
int nfrules_check_acks(const struct nfrules_batch *b, const void *buf, size_t len, size_t *acked,
		       size_t *ret_failed);

/**
 * Sends the batch in the current network namespace over one netlink socket and reads every
 * acknowledgement. Returns 0, or -errno with *ret_failed as in nfrules_check_acks().
 */
int nfrules_apply(const struct nfrules_batch *b, size_t *ret_failed);

/** Brings the loopback interface of the current network namespace up (rtnetlink). */
int nflink_loopback_up(void);
/**
 * The sandbox's own addressing, in one family, when skillbox relays its TCP and no user-mode
 * stack runs: the address a stack would give it (NFSTACK_ADDR4 or NFSTACK_ADDR6) on lo, plus
 * the extra ones given (the --ask resolver), and a default route through lo with it as the
 * source, so that the skill's sockets look as they would with a stack. Connections to declared
 * destinations then meet the relay chain, the rest the filter chain's refusals.
 */
int nflink_relay_setup(int family, const char *const *extra, size_t n_extra);
/** Adds one host-sized address to lo (the --ask resolver's, under a stack's interface too). */
int nflink_loopback_address(int family, const char *text);
/**
 * Adds a default route of the given family through lo with the worst possible metric, so
 * that the user-mode stack's own default route wins whenever it has one. When it has none
 * (a host without IPv6 gives pasta none; slirp4netns is IPv4 only; no egress is declared),
 * connections still meet the ruleset, refused and logged, instead of failing unseen with
 * ENETUNREACH. With loopback_source the route's preferred source is the loopback address
 * (IPv4 needs one: lo's 127.0.0.1 has host scope and would not be chosen, and a refusal sent
 * back to 0.0.0.0 never arrives, so a TCP connect would hang instead of being reset).
 */
int nflink_catch_route(int family, bool loopback_source);
