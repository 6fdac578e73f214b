/* SPDX-License-Identifier: MIT */
/*
 * The log socket is a plain netlink socket rather than a struct mnl_socket: init opens it in
 * the sandbox's network namespace and hands the descriptor itself to skillbox, which reads
 * it for the whole run. The parsers below only ever see bytes and are unit-tested.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macros.h"
#include "nflog.h"

/* Netlink answers here are small; MNL_SOCKET_BUFFER_SIZE is not a constant. */
#define NETLINK_BUF_SIZE 8192

/* Enough for a burst of refusals between two reads of the supervisor's loop. */
#define NFLOG_RCVBUF	 (4 * 1024 * 1024)
#define NFLOG_TIMEOUT_MS 5000

static int nflog_config(int fd, uint16_t group, uint32_t copy_range)
{
	char buf[NETLINK_BUF_SIZE];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(copy_range),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	ssize_t n;
	int k;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	/* Bind first; the other attributes then configure the new instance. */
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	/* Every packet is sent as soon as it is logged, not batched for up to a second. */
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(1));
	/* Numbered, so that packets the kernel could not deliver are counted exactly. */
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));

	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return negative_errno();
	for (;;) {
		const struct nlmsghdr *m;
		int left;

		k = poll(&p, 1, NFLOG_TIMEOUT_MS);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			return -ETIMEDOUT;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return negative_errno();
		left = (int)n;
		for (m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, left);
		     m = mnl_nlmsg_next(m, &left)) {
			const struct nlmsgerr *e;

			if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq != 1)
				continue;
			if (mnl_nlmsg_get_payload_len(m) < sizeof(*e))
				return -EBADMSG;
			e = mnl_nlmsg_get_payload(m);
			return e->error;
		}
	}
}

int nflog_open(uint16_t group, uint32_t copy_range, int *ret_fd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int size = NFLOG_RCVBUF, one = 1;
	_cleanup_close_ int fd = -1;
	int r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	r = nflog_config(fd, group, copy_range);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int packet_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, NFULA_MAX) < 0)
		return MNL_CB_OK; /* newer attributes: ignored */
	tb[type] = a;
	return MNL_CB_OK;
}

int nflog_parse_packet(const struct nlmsghdr *nlh, struct nflog_packet *ret)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg;

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return -ENOMSG;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return -EBADMSG;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*nfg), packet_attr_cb, tb) < 0)
		return -EBADMSG;

	*ret = (struct nflog_packet){ .family = nfg->nfgen_family };
	if (tb[NFULA_PACKET_HDR]) {
		const struct nfulnl_msg_packet_hdr *h;

		if (mnl_attr_get_payload_len(tb[NFULA_PACKET_HDR]) < sizeof(*h))
			return -EBADMSG;
		h = mnl_attr_get_payload(tb[NFULA_PACKET_HDR]);
		ret->hw_protocol = ntohs(h->hw_protocol);
	}
	if (tb[NFULA_PREFIX]) {
		if (mnl_attr_validate(tb[NFULA_PREFIX], MNL_TYPE_NUL_STRING) < 0)
			return -EBADMSG;
		ret->prefix = mnl_attr_get_str(tb[NFULA_PREFIX]);
	}
	if (tb[NFULA_PAYLOAD]) {
		ret->payload = mnl_attr_get_payload(tb[NFULA_PAYLOAD]);
		ret->payload_len = mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]);
	}
	if (tb[NFULA_IFINDEX_OUTDEV]) {
		if (mnl_attr_validate(tb[NFULA_IFINDEX_OUTDEV], MNL_TYPE_U32) < 0)
			return -EBADMSG;
		ret->outdev = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_OUTDEV]));
	}
	if (tb[NFULA_SEQ]) {
		if (mnl_attr_validate(tb[NFULA_SEQ], MNL_TYPE_U32) < 0)
			return -EBADMSG;
		ret->has_seq = true;
		ret->seq = ntohl(mnl_attr_get_u32(tb[NFULA_SEQ]));
	}
	return 0;
}

int nflog_foreach(const void *buf, size_t len,
		  void (*cb)(const struct nflog_packet *p, void *userdata), void *userdata)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)MIN(len, (size_t)INT32_MAX), count = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct nflog_packet p;
		int r = nflog_parse_packet(nlh, &p);

		if (r == -ENOMSG)
			continue;
		if (r < 0)
			return r;
		cb(&p, userdata);
		count++;
	}
	/* Bytes left that do not form a message: a truncated read. */
	if (left > 0)
		return -EBADMSG;
	return count;
}

/* --- IP headers --- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void parse_l4(struct nflog_flow *f, const uint8_t *p, size_t len)
{
	switch (f->proto) {
	case IPPROTO_TCP:
		if (len >= 4) {
			f->has_ports = true;
			f->sport = get_be16(p);
			f->dport = get_be16(p + 2);
		}
		if (len >= 20) {
			size_t off = (size_t)(p[12] >> 4) * 4;

			if (off >= 20 && off <= len) {
				f->l4_payload = p + off;
				f->l4_len = len - off;
			}
		}
		break;
	case IPPROTO_UDP:
		if (len >= 4) {
			f->has_ports = true;
			f->sport = get_be16(p);
			f->dport = get_be16(p + 2);
		}
		if (len >= 8) {
			f->l4_payload = p + 8;
			f->l4_len = len - 8;
		}
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len >= 2) {
			f->has_icmp = true;
			f->icmp_type = p[0];
			f->icmp_code = p[1];
		}
		break;
	default:
		break;
	}
}

static int parse_ipv4(const uint8_t *p, size_t len, struct nflog_flow *f)
{
	size_t ihl;

	if (len < 20 || (p[0] >> 4) != 4)
		return -EBADMSG;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return -EBADMSG;
	f->proto = p[9];
	memcpy(f->saddr, p + 12, 4);
	memcpy(f->daddr, p + 16, 4);
	/* A later fragment has no transport header. */
	if ((get_be16(p + 6) & 0x1fff) != 0)
		return 0;
	parse_l4(f, p + ihl, len - ihl);
	return 0;
}

static int parse_ipv6(const uint8_t *p, size_t len, struct nflog_flow *f)
{
	uint8_t next;
	size_t off = 40;

	if (len < 40 || (p[0] >> 4) != 6)
		return -EBADMSG;
	memcpy(f->saddr, p + 8, 16);
	memcpy(f->daddr, p + 24, 16);
	next = p[6];
	/* Walk a bounded chain of extension headers to the transport header. */
	for (int i = 0; i < 8; i++) {
		size_t hlen;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (off + 2 > len)
				goto truncated;
			hlen = ((size_t)p[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (off + 2 > len)
				goto truncated;
			hlen = ((size_t)p[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (off + 8 > len)
				goto truncated;
			if ((get_be16(p + off + 2) & 0xfff8) != 0) {
				f->proto = p[off];
				return 0;
			}
			hlen = 8;
			break;
		default:
			f->proto = next;
			parse_l4(f, p + off, len - off);
			return 0;
		}
		next = p[off];
		off += hlen;
		if (off > len)
			goto truncated;
	}
truncated:
	f->proto = next;
	return 0;
}

int nflog_parse_flow(int family, const uint8_t *p, size_t len, struct nflog_flow *ret)
{
	struct nflog_flow f = { .family = family };
	int r;

	if (!p)
		return -EBADMSG;
	if (family == AF_INET)
		r = parse_ipv4(p, len, &f);
	else if (family == AF_INET6)
		r = parse_ipv6(p, len, &f);
	else
		return -EBADMSG;
	if (r < 0)
		return r;
	*ret = f;
	return 0;
}
