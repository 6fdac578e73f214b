/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The NFLOG side of the ruleset: the socket the sandbox's init opens in its network namespace
 * (and hands to skillbox), and pure parsers for what arrives on it: nfnetlink_log messages
 * and the IP packet headers they carry.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct nlmsghdr;

/**
 * Opens a netlink socket bound to NFLOG group in the current network namespace, copying up to
 * copy_range bytes of each packet, delivering every packet at once (queue threshold 1) and
 * numbering them (NFULA_SEQ), so that a reader can tell how many the kernel dropped when the
 * socket's buffer overran. Returns 0 and the O_CLOEXEC descriptor, or -errno.
 */
int nflog_open(uint16_t group, uint32_t copy_range, int *ret_fd);

struct nflog_packet {
	uint8_t family;		/* AF_INET or AF_INET6 (the nfgenmsg family) */
	uint16_t hw_protocol;	/* ETH_P_IP / ETH_P_IPV6, host order; 0 when absent */
	const char *prefix;	/* NUL-terminated inside the message; NULL when absent */
	const uint8_t *payload; /* the packet from its network header; NULL when absent */
	size_t payload_len;
	uint32_t outdev; /* ifindex; 0 when absent */
	bool has_seq;
	uint32_t seq; /* the instance's packet number, counting those it could not deliver */
};

/**
 * Parses one nfnetlink_log message. Returns 0, -ENOMSG when the message is not a logged
 * packet (a config answer, an error), or -EBADMSG when it is malformed.
 */
int nflog_parse_packet(const struct nlmsghdr *nlh, struct nflog_packet *ret);

/**
 * Calls cb for every logged packet in a buffer filled by one recv(). Returns the number of
 * packets, or -EBADMSG when a message is malformed (the packets before it were delivered).
 */
int nflog_foreach(const void *buf, size_t len,
		  void (*cb)(const struct nflog_packet *p, void *userdata), void *userdata);

/* What a logged packet says about its connection. */
struct nflog_flow {
	int family;    /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, ... */
	uint8_t saddr[16];
	uint8_t daddr[16];
	bool has_ports; /* TCP/UDP with its header captured and not a later fragment */
	uint16_t sport, dport;
	bool has_icmp;
	uint8_t icmp_type, icmp_code;
	const uint8_t *l4_payload; /* after the TCP or UDP header, as far as captured */
	size_t l4_len;
};

/** Parses the IPv4/IPv6 packet of a log message. Returns 0 or -EBADMSG. */
int nflog_parse_flow(int family, const uint8_t *p, size_t len, struct nflog_flow *ret);
