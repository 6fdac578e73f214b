/* SPDX-License-Identifier: MIT */
/*
 * Builds the egress ruleset into one nftables batch (see nfrules.h for its shape). Nothing here
 * talks to the kernel: the batch is plain bytes that nfrules_apply() sends and that unit tests
 * parse back with libnftnl.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfrules.h"
#include "nfstack.h"

#define SCRATCH_SIZE (64 * 1024)

/* nft's datatype numbers, so that `nft list ruleset` shows the sets readably. */
#define NFT_TYPE_IPADDR	      7
#define NFT_TYPE_IP6ADDR      8
#define NFT_TYPE_INET_SERVICE 13

/* The regular chain both refusals jump to: TCP gets a reset, everything else ICMP. */
#define REFUSE_CHAIN "refuse"

#define CT_STATE_BIT(s) (1u << ((s) + 1))
#define CT_INVALID	1u

struct builder {
	struct nfrules_batch *b;
	uint32_t seq;
	uint32_t set_id;
	char *scratch;
	bool oom;
};

enum nfrules_verdict nfrules_parse_prefix(const char *prefix, long *ret_rule)
{
	const char *num = NULL;
	enum nfrules_verdict v;
	char *end;
	long k;

	*ret_rule = -1;
	if (!prefix)
		return NFRULES_LOG_UNKNOWN;
	if (strneq(prefix, NFRULES_PREFIX_ALLOW, STRLEN(NFRULES_PREFIX_ALLOW))) {
		v = NFRULES_LOG_ALLOW;
		num = prefix + STRLEN(NFRULES_PREFIX_ALLOW);
	} else if (strneq(prefix, NFRULES_PREFIX_PAYLOAD, STRLEN(NFRULES_PREFIX_PAYLOAD))) {
		v = NFRULES_LOG_PAYLOAD;
		num = prefix + STRLEN(NFRULES_PREFIX_PAYLOAD);
	} else if (streq(prefix, NFRULES_PREFIX_HOST)) {
		return NFRULES_LOG_HOST;
	} else if (streq(prefix, NFRULES_PREFIX_RESERVED)) {
		return NFRULES_LOG_RESERVED;
	} else if (streq(prefix, NFRULES_PREFIX_DENY)) {
		return NFRULES_LOG_DENY;
	} else {
		return NFRULES_LOG_UNKNOWN;
	}
	if (*num < '0' || *num > '9')
		return NFRULES_LOG_UNKNOWN;
	errno = 0;
	k = strtol(num, &end, 10);
	if (errno || *end || k < 0)
		return NFRULES_LOG_UNKNOWN;
	*ret_rule = k;
	return v;
}

void nfrules_batch_done(struct nfrules_batch *b)
{
	buf_done(&b->bytes);
	free(b->msgs);
	*b = (struct nfrules_batch){ 0 };
}

static struct nlmsghdr *msg_begin(struct builder *bd, uint16_t type, uint16_t flags)
{
	memset(bd->scratch, 0, SCRATCH_SIZE);
	return nftnl_nlmsg_build_hdr(bd->scratch, type, NFPROTO_INET, flags | NLM_F_ACK, bd->seq);
}

/* Appends the message built in scratch and remembers what it does. */
static void msg_end(struct builder *bd, const struct nlmsghdr *nlh, enum nfrules_msg_kind kind,
		    long rule, const char *what)
{
	struct nfrules_batch *b = bd->b;
	struct nfrules_msg *m;

	m = realloc(b->msgs, (b->n_msgs + 1) * sizeof(*m));
	if (!m) {
		bd->oom = true;
		return;
	}
	b->msgs = m;
	m = &b->msgs[b->n_msgs++];
	*m = (struct nfrules_msg){ .seq = bd->seq, .kind = kind, .rule = rule };
	snprintf(m->what, sizeof(m->what), "%s", what);
	buf_append(&b->bytes, nlh, MNL_ALIGN(nlh->nlmsg_len));
	bd->seq++;
}

/* --- expressions --- */

static void add(struct builder *bd, struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e) {
		bd->oom = true;
		return;
	}
	nftnl_rule_add_expr(r, e);
}

static struct nftnl_expr *e_meta(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return e;
}

static struct nftnl_expr *e_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *e_payload(uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	}
	return e;
}

static struct nftnl_expr *e_bitwise(const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	return e;
}

static struct nftnl_expr *e_lookup(const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	}
	return e;
}

static struct nftnl_expr *e_log(uint16_t group, const char *prefix, uint32_t snaplen)
{
	struct nftnl_expr *e = nftnl_expr_alloc("log");

	if (e) {
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, snaplen);
	}
	return e;
}

static struct nftnl_expr *e_reject(uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	}
	return e;
}

static struct nftnl_expr *e_verdict(int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	return e;
}

/* Loads data (a port, network byte order) into reg 1. */
static struct nftnl_expr *e_immediate(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	}
	return e;
}

/* redirect to :<the port in reg 1> (nat, hook output: to 127.0.0.1 or ::1) */
static struct nftnl_expr *e_redirect(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("redir");

	if (e)
		nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	return e;
}

/* ct state & mask != 0 */
static void match_ct(struct builder *bd, struct nftnl_rule *r, uint32_t key, uint32_t mask)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");
	uint32_t zero = 0;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	add(bd, r, e);
	add(bd, r, e_bitwise(&mask, sizeof(mask)));
	add(bd, r, e_cmp(NFT_CMP_NEQ, &zero, sizeof(zero)));
}

static void match_ct_state(struct builder *bd, struct nftnl_rule *r, uint32_t mask)
{
	match_ct(bd, r, NFT_CT_STATE, mask);
}

static void match_u8(struct builder *bd, struct nftnl_rule *r, uint32_t meta_key, uint8_t v)
{
	add(bd, r, e_meta(meta_key));
	add(bd, r, e_cmp(NFT_CMP_EQ, &v, sizeof(v)));
}

static uint8_t nfproto_of(int family)
{
	return family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

static uint32_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Loads the destination address of the family's header into reg 1. */
static void load_daddr(struct builder *bd, struct nftnl_rule *r, int family)
{
	/* struct iphdr.daddr is at 16, struct ipv6hdr.daddr at 24. */
	add(bd, r,
	    e_payload(NFT_PAYLOAD_NETWORK_HEADER, family == AF_INET ? 16 : 24, addr_len(family)));
}

static struct nftnl_rule *rule_new(struct builder *bd, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r) {
		bd->oom = true;
		return NULL;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFRULES_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

static void rule_emit(struct builder *bd, struct nftnl_rule *r, long rule, const char *what)
{
	struct nlmsghdr *nlh;

	if (!r)
		return;
	if (!bd->oom) {
		nlh = msg_begin(bd, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_end(bd, nlh, NFRULES_MSG_RULE, rule, what);
	}
	nftnl_rule_free(r);
}

/* --- sets --- */

struct set_ref {
	char name[32];
	uint32_t id;
};

/* A named hash set of keys (addresses or ports, network byte order), with its elements. */
static void set_emit(struct builder *bd, const char *name, uint32_t key_type, uint32_t key_len,
		     const uint8_t *keys, size_t n, long rule, struct set_ref *ret)
{
	char what[64];
	struct nftnl_set *s;
	struct nlmsghdr *nlh;

	snprintf(ret->name, sizeof(ret->name), "%s", name);
	ret->id = ++bd->set_id;
	snprintf(what, sizeof(what), "set %s", name);

	s = nftnl_set_alloc();
	if (!s) {
		bd->oom = true;
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFRULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key_len);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ret->id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	if (!bd->oom) {
		nlh = msg_begin(bd, NFT_MSG_NEWSET, NLM_F_CREATE);
		nftnl_set_nlmsg_build_payload(nlh, s);
		msg_end(bd, nlh, NFRULES_MSG_SET, rule, what);
	}
	nftnl_set_free(s);

	snprintf(what, sizeof(what), "elements of set %s", name);
	for (size_t from = 0; from < n && !bd->oom; from += NFRULES_ELEMS_PER_MSG) {
		size_t to = MIN(n, from + NFRULES_ELEMS_PER_MSG);

		s = nftnl_set_alloc();
		if (!s) {
			bd->oom = true;
			return;
		}
		nftnl_set_set_str(s, NFTNL_SET_TABLE, NFRULES_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, name);
		nftnl_set_set_u32(s, NFTNL_SET_ID, ret->id);
		for (size_t i = from; i < to; i++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();

			if (!e) {
				bd->oom = true;
				break;
			}
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, keys + i * key_len, key_len);
			nftnl_set_elem_add(s, e);
		}
		if (!bd->oom) {
			nlh = msg_begin(bd, NFT_MSG_NEWSETELEM, NLM_F_CREATE);
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			msg_end(bd, nlh, NFRULES_MSG_SETELEM, rule, what);
		}
		nftnl_set_free(s);
	}
}

static bool addr_is_exact(const struct nfrules_addr *a)
{
	return a->prefix == addr_len(a->family) * 8;
}

bool nfrules_addr_within(const struct nfrules_addr *net, const struct nfrules_addr *within)
{
	if (net->family != within->family || net->prefix < within->prefix)
		return false;
	for (unsigned i = 0; i < within->prefix; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if ((net->addr[i / 8] & bit) != (within->addr[i / 8] & bit))
			return false;
	}
	return true;
}

static bool within_reserved(const struct nfrules *rs, const struct nfrules_addr *net)
{
	for (size_t i = 0; i < rs->n_reserved; i++)
		if (nfrules_addr_within(net, &rs->reserved[i]))
			return true;
	return false;
}

/* How one rule matches its destinations in one family. */
struct family_match {
	int family;
	size_t n_exact;
	const uint8_t *exact_one; /* when n_exact == 1 */
	struct set_ref set;	  /* when n_exact > 1 */
};

struct rule_plan {
	struct family_match fam[2]; /* AF_INET, AF_INET6 */
	struct set_ref ports;	    /* when n_ports > 1 */
};

static int family_index(int family)
{
	return family == AF_INET ? 0 : 1;
}

static int plan_rule_sets(struct builder *bd, const struct nfrules_rule *rl, long k,
			  struct rule_plan *p)
{
	*p = (struct rule_plan){ .fam = { { .family = AF_INET }, { .family = AF_INET6 } } };

	for (size_t i = 0; i < rl->n_addrs; i++) {
		const struct nfrules_addr *a = &rl->addrs[i];

		if (a->family != AF_INET && a->family != AF_INET6)
			return -EINVAL;
		if (a->prefix > addr_len(a->family) * 8)
			return -EINVAL;
		if (addr_is_exact(a)) {
			struct family_match *f = &p->fam[family_index(a->family)];

			if (f->n_exact++ == 0)
				f->exact_one = a->addr;
		}
	}

	for (int fi = 0; fi < 2; fi++) {
		struct family_match *f = &p->fam[fi];
		uint32_t len = addr_len(f->family);
		_cleanup_free_ uint8_t *keys = NULL;
		size_t n = 0;
		char name[32];

		if (f->n_exact < 2)
			continue;
		keys = malloc(f->n_exact * len);
		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < rl->n_addrs; i++)
			if (rl->addrs[i].family == f->family && addr_is_exact(&rl->addrs[i]))
				memcpy(keys + len * n++, rl->addrs[i].addr, len);
		snprintf(name, sizeof(name), "r%ld_%s", k, f->family == AF_INET ? "ip4" : "ip6");
		set_emit(bd, name, f->family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR, len,
			 keys, n, k, &f->set);
	}

	if (rl->n_ports > 1 && !rl->any_port) {
		_cleanup_free_ uint8_t *keys = malloc(rl->n_ports * 2);
		char name[32];

		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < rl->n_ports; i++) {
			uint16_t be = htons(rl->ports[i]);

			memcpy(keys + 2 * i, &be, 2);
		}
		snprintf(name, sizeof(name), "r%ld_ports", k);
		set_emit(bd, name, NFT_TYPE_INET_SERVICE, 2, keys, rl->n_ports, k, &p->ports);
	}
	return 0;
}

/* Matches l4proto and destination port(s) of a rule. */
static void match_ports(struct builder *bd, struct nftnl_rule *r, const struct nfrules_rule *rl,
			const struct rule_plan *p)
{
	match_u8(bd, r, NFT_META_L4PROTO, rl->proto);
	if (rl->any_port)
		return;
	add(bd, r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
	if (rl->n_ports == 1) {
		uint16_t be = htons(rl->ports[0]);

		add(bd, r, e_cmp(NFT_CMP_EQ, &be, sizeof(be)));
	} else {
		add(bd, r, e_lookup(p->ports.name, p->ports.id));
	}
}

/* What one nft rule of a manifest rule does with what it matches. */
enum match_mode {
	MATCH_PAYLOAD,	/* log every packet with its payload (DNS queries), before conntrack */
	MATCH_ACCEPT,	/* new connections: log and accept */
	MATCH_REDIRECT, /* the relay chain: redirect to the relay */
};

/*
 * One nft rule of a manifest rule: a family and one way to match the destination (the exact
 * addresses, or one network), then protocol and ports, then what the mode does.
 */
static void emit_match_rule(struct builder *bd, const struct nfrules *rs, long k,
			    enum match_mode mode, const struct family_match *f,
			    const struct nfrules_addr *net, const struct rule_plan *p)
{
	const struct nfrules_rule *rl = &rs->rules[k];
	int family = net ? net->family : f->family;
	uint32_t len = addr_len(family);
	struct nftnl_rule *r =
		rule_new(bd, mode == MATCH_REDIRECT ? NFRULES_RELAY_CHAIN : NFRULES_CHAIN);
	char prefix[32], what[64], text[INET6_ADDRSTRLEN];

	if (!r)
		return;
	if (mode == MATCH_ACCEPT)
		match_ct_state(bd, r, CT_STATE_BIT(IP_CT_NEW));
	match_u8(bd, r, NFT_META_NFPROTO, nfproto_of(family));
	if (net) {
		if (net->prefix > 0) {
			uint8_t mask[16] = { 0 };

			for (unsigned i = 0; i < net->prefix; i++)
				mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
			load_daddr(bd, r, family);
			add(bd, r, e_bitwise(mask, len));
			add(bd, r, e_cmp(NFT_CMP_EQ, net->addr, len));
		}
		inet_ntop(family, net->addr, text, sizeof(text));
		snprintf(what, sizeof(what), "%s %ld: %s/%u",
			 mode == MATCH_REDIRECT ? "relay" : "rule", k, text, net->prefix);
	} else {
		load_daddr(bd, r, family);
		if (f->n_exact == 1) {
			add(bd, r, e_cmp(NFT_CMP_EQ, f->exact_one, len));
			inet_ntop(family, f->exact_one, text, sizeof(text));
			snprintf(what, sizeof(what), "%s %ld: %s",
				 mode == MATCH_REDIRECT ? "relay" : "rule", k, text);
		} else {
			add(bd, r, e_lookup(f->set.name, f->set.id));
			snprintf(what, sizeof(what), "%s %ld: @%s",
				 mode == MATCH_REDIRECT ? "relay" : "rule", k, f->set.name);
		}
	}
	match_ports(bd, r, rl, p);
	if (mode == MATCH_REDIRECT) {
		uint16_t be = htons(rs->relay_port);

		add(bd, r, e_immediate(&be, sizeof(be)));
		add(bd, r, e_redirect());
	} else {
		snprintf(prefix, sizeof(prefix), "%s%ld",
			 mode == MATCH_PAYLOAD ? NFRULES_PREFIX_PAYLOAD : NFRULES_PREFIX_ALLOW, k);
		if (!rl->quiet)
			add(bd, r,
			    e_log(rs->log_group, prefix,
				  mode == MATCH_PAYLOAD ? NFRULES_SNAPLEN_DNS : NFRULES_SNAPLEN));
		if (mode == MATCH_ACCEPT)
			add(bd, r, e_verdict(NF_ACCEPT, NULL));
	}
	rule_emit(bd, r, k, what);
}

/*
 * Which of a rule's matches to emit. A rule's exact addresses, and its networks that lie
 * inside a reserved range, name their destination explicitly and come before the reserved
 * ranges' refusals (RULE_EXPLICIT); its other networks after them (RULE_WIDE), so that a
 * declared 0.0.0.0/0 never reaches multicast, broadcast or link-local destinations.
 */
enum rule_part {
	RULE_ALL,
	RULE_EXPLICIT,
	RULE_WIDE,
};

static void emit_rule(struct builder *bd, const struct nfrules *rs, long k, enum match_mode mode,
		      const struct rule_plan *p, enum rule_part part)
{
	const struct nfrules_rule *rl = &rs->rules[k];

	for (int fi = 0; fi < 2 && part != RULE_WIDE; fi++)
		if (p->fam[fi].n_exact > 0)
			emit_match_rule(bd, rs, k, mode, &p->fam[fi], NULL, p);
	for (size_t i = 0; i < rl->n_addrs; i++) {
		const struct nfrules_addr *a = &rl->addrs[i];

		if (addr_is_exact(a))
			continue;
		if (part == RULE_ALL || (part == RULE_EXPLICIT) == within_reserved(rs, a))
			emit_match_rule(bd, rs, k, mode, NULL, a, p);
	}
}

/* --- the fixed parts --- */

static void emit_table_and_chains(struct builder *bd, bool relay)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;

	if (!t) {
		bd->oom = true;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFRULES_TABLE);
	nlh = msg_begin(bd, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	msg_end(bd, nlh, NFRULES_MSG_TABLE, -1, "table inet " NFRULES_TABLE);
	nftnl_table_free(t);

	c = nftnl_chain_alloc();
	if (!c) {
		bd->oom = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFRULES_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFRULES_CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_DROP);
	nlh = msg_begin(bd, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_end(bd, nlh, NFRULES_MSG_CHAIN, -1,
		"chain " NFRULES_CHAIN " (hook output, policy drop)");
	nftnl_chain_free(c);

	c = nftnl_chain_alloc();
	if (!c) {
		bd->oom = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFRULES_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, REFUSE_CHAIN);
	nlh = msg_begin(bd, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_end(bd, nlh, NFRULES_MSG_CHAIN, -1, "chain " REFUSE_CHAIN);
	nftnl_chain_free(c);

	if (!relay)
		return;
	/* Before the filter chain (priority 0), and where nat belongs (NF_IP_PRI_NAT_DST). */
	c = nftnl_chain_alloc();
	if (!c) {
		bd->oom = true;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFRULES_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, NFRULES_RELAY_CHAIN);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat");
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -100);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = msg_begin(bd, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_end(bd, nlh, NFRULES_MSG_CHAIN, -1,
		"chain " NFRULES_RELAY_CHAIN " (type nat, hook output, priority -100)");
	nftnl_chain_free(c);
}

/* The refuse chain: a TCP reset for TCP, ICMP administratively prohibited otherwise. */
static void emit_refuse_chain(struct builder *bd)
{
	struct nftnl_rule *r = rule_new(bd, REFUSE_CHAIN);

	if (r) {
		match_u8(bd, r, NFT_META_L4PROTO, IPPROTO_TCP);
		add(bd, r, e_reject(NFT_REJECT_TCP_RST, 0));
		rule_emit(bd, r, -1, "refuse: meta l4proto tcp reject with tcp reset");
	}
	r = rule_new(bd, REFUSE_CHAIN);
	if (r) {
		add(bd, r, e_reject(NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED));
		rule_emit(bd, r, -1, "refuse: reject with icmpx admin-prohibited");
	}
}

/*
 * Loopback traffic to the sandbox's own addresses is always allowed. Only to those: the
 * catch-all route (nflink_catch_route()) sends what no other route takes out through lo,
 * so that it meets the refuse rules and the log instead of failing unseen with ENETUNREACH.
 */
static void emit_lo_accept(struct builder *bd, int family, const char *text, unsigned prefix)
{
	uint32_t lo = 1; /* LOOPBACK_IFINDEX: the same in every network namespace */
	uint8_t addr[16] = { 0 }, mask[16] = { 0 };
	uint32_t len = family == AF_INET ? 4 : 16;
	struct nftnl_rule *r;

	if (inet_pton(family, text, addr) != 1) {
		bd->oom = true;
		return;
	}
	for (unsigned i = 0; i < prefix; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	r = rule_new(bd, NFRULES_CHAIN);
	if (!r)
		return;
	add(bd, r, e_meta(NFT_META_OIF));
	add(bd, r, e_cmp(NFT_CMP_EQ, &lo, sizeof(lo)));
	match_u8(bd, r, NFT_META_NFPROTO, family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6);
	add(bd, r, e_payload(NFT_PAYLOAD_NETWORK_HEADER, family == AF_INET ? 16 : 24, len));
	if (prefix < len * 8)
		add(bd, r, e_bitwise(mask, len));
	add(bd, r, e_cmp(NFT_CMP_EQ, addr, len));
	add(bd, r, e_verdict(NF_ACCEPT, NULL));
	rule_emit(bd, r, -1,
		  family == AF_INET ? "oif lo ip daddr (own) accept"
				    : "oif lo ip6 daddr (own) accept");
}

/*
 * What the relay chain redirected: the route was chosen before the redirect, so the filter
 * chain sees the original output interface (a stack's eth0) with the relay's address, and the
 * loopback rules above do not take it. Only the relay chain rewrites destinations.
 */
static void emit_relay_accept(struct builder *bd, uint16_t port)
{
	struct nftnl_rule *r = rule_new(bd, NFRULES_CHAIN);
	uint16_t be = htons(port);

	if (!r)
		return;
	match_ct(bd, r, NFT_CT_STATUS, IPS_DST_NAT);
	match_u8(bd, r, NFT_META_L4PROTO, IPPROTO_TCP);
	add(bd, r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
	add(bd, r, e_cmp(NFT_CMP_EQ, &be, sizeof(be)));
	add(bd, r, e_verdict(NF_ACCEPT, NULL));
	rule_emit(bd, r, -1, "ct status dnat tcp dport (relay) accept");
}

static void emit_fixed_accepts(struct builder *bd, bool loopback_only)
{
	struct nftnl_rule *r;
	uint8_t lo_type = 130, hi_type = 143;

	if (loopback_only) {
		/* Nothing leaves, so nothing comes back: no conntrack needed, nor neighbours. */
		emit_lo_accept(bd, AF_INET, "127.0.0.0", 8);
		emit_lo_accept(bd, AF_INET6, "::1", 128);
		return;
	}
	emit_lo_accept(bd, AF_INET, "127.0.0.0", 8);
	emit_lo_accept(bd, AF_INET, NFSTACK_ADDR4, 32);
	emit_lo_accept(bd, AF_INET6, "::1", 128);
	emit_lo_accept(bd, AF_INET6, NFSTACK_ADDR6, 128);

	r = rule_new(bd, NFRULES_CHAIN);
	if (r) {
		match_ct_state(bd, r,
			       CT_STATE_BIT(IP_CT_ESTABLISHED) | CT_STATE_BIT(IP_CT_RELATED));
		add(bd, r, e_verdict(NF_ACCEPT, NULL));
		rule_emit(bd, r, -1, "ct state established,related accept");
	}

	/*
	 * IPv6 neighbour discovery and multicast listener messages only go to the user-mode
	 * stack on the link, which answers them itself and forwards none: without them the
	 * gateway's address could not even be resolved. Types 130..143.
	 */
	r = rule_new(bd, NFRULES_CHAIN);
	if (r) {
		match_u8(bd, r, NFT_META_NFPROTO, NFPROTO_IPV6);
		match_u8(bd, r, NFT_META_L4PROTO, IPPROTO_ICMPV6);
		add(bd, r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1));
		add(bd, r, e_cmp(NFT_CMP_GTE, &lo_type, 1));
		add(bd, r, e_cmp(NFT_CMP_LTE, &hi_type, 1));
		add(bd, r, e_verdict(NF_ACCEPT, NULL));
		rule_emit(bd, r, -1, "icmpv6 type 130-143 accept");
	}

	/* Invalid packets belong to no connection we let start; dropping them says nothing. */
	r = rule_new(bd, NFRULES_CHAIN);
	if (r) {
		match_ct_state(bd, r, CT_INVALID);
		add(bd, r, e_verdict(NF_DROP, NULL));
		rule_emit(bd, r, -1, "ct state invalid drop");
	}
}

/* The sets of blocked addresses, one per family that has any (set.id 0: none). */
static int emit_blocked_sets(struct builder *bd, const struct nfrules *rs, struct set_ref ret[2])
{
	for (int fi = 0; fi < 2; fi++) {
		int family = fi == 0 ? AF_INET : AF_INET6;
		uint32_t len = addr_len(family);
		_cleanup_free_ uint8_t *keys = NULL;
		size_t n = 0;

		ret[fi] = (struct set_ref){ 0 };
		for (size_t i = 0; i < rs->n_blocked; i++) {
			if (rs->blocked[i].family != AF_INET && rs->blocked[i].family != AF_INET6)
				return -EINVAL;
			if (rs->blocked[i].family == family)
				n++;
		}
		if (n == 0)
			continue;
		keys = malloc(n * len);
		if (!keys)
			return -ENOMEM;
		n = 0;
		for (size_t i = 0; i < rs->n_blocked; i++)
			if (rs->blocked[i].family == family)
				memcpy(keys + len * n++, rs->blocked[i].addr, len);
		set_emit(bd, family == AF_INET ? "blocked_ip4" : "blocked_ip6",
			 family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR, len, keys, n, -1,
			 &ret[fi]);
	}
	return 0;
}

/*
 * Each reserved range: logged as such and refused, whatever wider network a rule declares
 * (filter chain), or returned, so that the filter chain refuses it (relay chain).
 */
static int emit_reserved(struct builder *bd, const struct nfrules *rs, bool relay)
{
	for (size_t i = 0; i < rs->n_reserved; i++) {
		const struct nfrules_addr *a = &rs->reserved[i];
		uint32_t len = addr_len(a->family);
		char what[64], text[INET6_ADDRSTRLEN];
		struct nftnl_rule *r;

		if ((a->family != AF_INET && a->family != AF_INET6) || a->prefix > len * 8 ||
		    a->prefix == 0)
			return -EINVAL;
		r = rule_new(bd, relay ? NFRULES_RELAY_CHAIN : NFRULES_CHAIN);
		if (!r)
			continue;
		match_u8(bd, r, NFT_META_NFPROTO, nfproto_of(a->family));
		load_daddr(bd, r, a->family);
		if (!addr_is_exact(a)) {
			uint8_t mask[16] = { 0 };

			for (unsigned b = 0; b < a->prefix; b++)
				mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			add(bd, r, e_bitwise(mask, len));
		}
		add(bd, r, e_cmp(NFT_CMP_EQ, a->addr, len));
		if (relay) {
			add(bd, r, e_verdict(NFT_RETURN, NULL));
		} else {
			add(bd, r,
			    e_log(rs->log_group, NFRULES_PREFIX_RESERVED, NFRULES_SNAPLEN_DNS));
			add(bd, r, e_verdict(NFT_GOTO, REFUSE_CHAIN));
		}
		inet_ntop(a->family, a->addr, text, sizeof(text));
		snprintf(what, sizeof(what), "%s reserved %.39s/%u", relay ? "return" : "refuse",
			 text, a->prefix);
		rule_emit(bd, r, -1, what);
	}
	return 0;
}

/* ip[6] daddr @blocked_ip[6]: log and refuse (filter chain), or return (relay chain). */
static void emit_blocked(struct builder *bd, const struct nfrules *rs, const struct set_ref sets[2],
			 bool relay)
{
	for (int fi = 0; fi < 2; fi++) {
		int family = fi == 0 ? AF_INET : AF_INET6;
		struct nftnl_rule *r;
		char what[64];

		if (sets[fi].id == 0)
			continue;
		r = rule_new(bd, relay ? NFRULES_RELAY_CHAIN : NFRULES_CHAIN);
		if (!r)
			return;
		match_u8(bd, r, NFT_META_NFPROTO, nfproto_of(family));
		load_daddr(bd, r, family);
		add(bd, r, e_lookup(sets[fi].name, sets[fi].id));
		if (relay) {
			add(bd, r, e_verdict(NFT_RETURN, NULL));
		} else {
			add(bd, r, e_log(rs->log_group, NFRULES_PREFIX_HOST, NFRULES_SNAPLEN_DNS));
			add(bd, r, e_verdict(NFT_GOTO, REFUSE_CHAIN));
		}
		snprintf(what, sizeof(what), "%s daddr @%s %s", family == AF_INET ? "ip" : "ip6",
			 sets[fi].name, relay ? "return" : "refuse");
		rule_emit(bd, r, -1, what);
	}
}

/*
 * The relay chain leaves the sandbox's own addresses alone: its loopback, and the address its
 * sockets are bound to. Nothing that stays inside the sandbox is ever redirected.
 */
static void emit_relay_own(struct builder *bd, int family, const char *text, unsigned prefix)
{
	uint8_t addr[16] = { 0 }, mask[16] = { 0 };
	uint32_t len = addr_len(family);
	struct nftnl_rule *r;
	char what[64];

	if (inet_pton(family, text, addr) != 1) {
		bd->oom = true;
		return;
	}
	for (unsigned i = 0; i < prefix; i++)
		mask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	r = rule_new(bd, NFRULES_RELAY_CHAIN);
	if (!r)
		return;
	match_u8(bd, r, NFT_META_NFPROTO, nfproto_of(family));
	load_daddr(bd, r, family);
	if (prefix < len * 8)
		add(bd, r, e_bitwise(mask, len));
	add(bd, r, e_cmp(NFT_CMP_EQ, addr, len));
	add(bd, r, e_verdict(NFT_RETURN, NULL));
	snprintf(what, sizeof(what), "%s daddr %s/%u return", family == AF_INET ? "ip" : "ip6",
		 text, prefix);
	rule_emit(bd, r, -1, what);
}

static int emit_relay_chain(struct builder *bd, const struct nfrules *rs,
			    const struct rule_plan *plans, const struct set_ref blocked[2])
{
	struct nftnl_rule *r;
	int ret;

	emit_relay_own(bd, AF_INET, "127.0.0.0", 8);
	emit_relay_own(bd, AF_INET, NFSTACK_ADDR4, 32);
	emit_relay_own(bd, AF_INET6, "::1", 128);
	emit_relay_own(bd, AF_INET6, NFSTACK_ADDR6, 128);
	for (size_t k = 0; k < rs->n_rules; k++)
		if (rs->rules[k].relay && rs->rules[k].before_block)
			emit_rule(bd, rs, (long)k, MATCH_REDIRECT, &plans[k], RULE_ALL);
	emit_blocked(bd, rs, blocked, true);
	for (size_t k = 0; k < rs->n_rules; k++)
		if (rs->rules[k].relay && !rs->rules[k].before_block)
			emit_rule(bd, rs, (long)k, MATCH_REDIRECT, &plans[k], RULE_EXPLICIT);
	/* Reserved destinations fall to the filter chain's refusal, as they would unrelayed. */
	ret = emit_reserved(bd, rs, true);
	if (ret < 0)
		return ret;
	for (size_t k = 0; k < rs->n_rules; k++)
		if (rs->rules[k].relay && !rs->rules[k].before_block)
			emit_rule(bd, rs, (long)k, MATCH_REDIRECT, &plans[k], RULE_WIDE);
	if (!rs->relay_any_tcp)
		return 0;
	r = rule_new(bd, NFRULES_RELAY_CHAIN);
	if (r) {
		uint16_t be = htons(rs->relay_port);

		match_u8(bd, r, NFT_META_L4PROTO, IPPROTO_TCP);
		add(bd, r, e_immediate(&be, sizeof(be)));
		add(bd, r, e_redirect());
		rule_emit(bd, r, -1, "relay: any other tcp");
	}
	return 0;
}

static void emit_final_deny(struct builder *bd, const struct nfrules *rs)
{
	struct nftnl_rule *r = rule_new(bd, NFRULES_CHAIN);

	if (!r)
		return;
	add(bd, r, e_log(rs->log_group, NFRULES_PREFIX_DENY, NFRULES_SNAPLEN_DNS));
	add(bd, r, e_verdict(NFT_GOTO, REFUSE_CHAIN));
	rule_emit(bd, r, -1, "log and refuse everything else");
}

/* NFNL_MSG_BATCH_BEGIN / _END around the messages; they carry no NLM_F_ACK. */
static void batch_marker(struct builder *bd, bool begin)
{
	size_t n = MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg));
	char *p = buf_reserve(&bd->b->bytes, n);

	if (!p) {
		bd->oom = true;
		return;
	}
	memset(p, 0, n);
	if (begin)
		nftnl_batch_begin(p, bd->seq);
	else
		nftnl_batch_end(p, bd->seq);
	bd->b->bytes.len += n;
	bd->seq++;
}

int nfrules_build_batch(const struct nfrules *rs, uint32_t seq, struct nfrules_batch *ret)
{
	struct nfrules_batch b = { .seq_begin = seq };
	struct builder bd = { .b = &b, .seq = seq };
	_cleanup_free_ struct rule_plan *plans = NULL;
	struct set_ref blocked[2] = { { { 0 } } };
	bool relay = rs->relay_port != 0;
	int r = 0;

	if (rs->loopback_only && (rs->n_rules || rs->n_blocked))
		return -EINVAL;
	for (size_t k = 0; k < rs->n_rules; k++) {
		const struct nfrules_rule *rl = &rs->rules[k];

		if ((rl->n_ports == 0 && !rl->any_port) ||
		    (rl->proto != IPPROTO_TCP && rl->proto != IPPROTO_UDP))
			return -EINVAL;
		/* Only TCP is relayed, only to a relay that exists, and never a logged rule. */
		if (rl->relay && (!relay || rl->proto != IPPROTO_TCP || rl->log_payload))
			return -EINVAL;
	}
	if (rs->relay_any_tcp && !relay)
		return -EINVAL;
	bd.scratch = calloc(1, SCRATCH_SIZE);
	plans = calloc(rs->n_rules ? rs->n_rules : 1, sizeof(*plans));
	if (!bd.scratch || !plans) {
		free(bd.scratch);
		return -ENOMEM;
	}

	batch_marker(&bd, true);

	emit_table_and_chains(&bd, relay);
	emit_refuse_chain(&bd);
	for (size_t k = 0; k < rs->n_rules && r >= 0; k++)
		r = plan_rule_sets(&bd, &rs->rules[k], (long)k, &plans[k]);
	if (r >= 0)
		r = emit_blocked_sets(&bd, rs, blocked);

	/* Payload logging comes before the conntrack shortcut, so every query is seen. */
	for (size_t k = 0; k < rs->n_rules && r >= 0; k++)
		if (rs->rules[k].log_payload)
			emit_rule(&bd, rs, (long)k, MATCH_PAYLOAD, &plans[k], RULE_ALL);
	if (r >= 0)
		emit_fixed_accepts(&bd, rs->loopback_only);
	if (r >= 0 && relay)
		emit_relay_accept(&bd, rs->relay_port);
	for (size_t k = 0; k < rs->n_rules && r >= 0; k++)
		if (rs->rules[k].before_block && !rs->rules[k].relay)
			emit_rule(&bd, rs, (long)k, MATCH_ACCEPT, &plans[k], RULE_ALL);
	if (r >= 0)
		emit_blocked(&bd, rs, blocked, false);
	for (size_t k = 0; k < rs->n_rules && r >= 0; k++)
		if (!rs->rules[k].before_block && !rs->rules[k].relay)
			emit_rule(&bd, rs, (long)k, MATCH_ACCEPT, &plans[k], RULE_EXPLICIT);
	if (r >= 0)
		r = emit_reserved(&bd, rs, false);
	for (size_t k = 0; k < rs->n_rules && r >= 0; k++)
		if (!rs->rules[k].before_block && !rs->rules[k].relay)
			emit_rule(&bd, rs, (long)k, MATCH_ACCEPT, &plans[k], RULE_WIDE);
	if (r >= 0)
		emit_final_deny(&bd, rs);
	if (r >= 0 && relay)
		r = emit_relay_chain(&bd, rs, plans, blocked);

	if (r >= 0)
		batch_marker(&bd, false);
	free(bd.scratch);
	if (r >= 0 && (bd.oom || !buf_ok(&b.bytes)))
		r = -ENOMEM;
	if (r < 0) {
		nfrules_batch_done(&b);
		return r;
	}
	*ret = b;
	return 0;
}

/* --- acknowledgements --- */

static size_t msg_by_seq(const struct nfrules_batch *b, uint32_t seq)
{
	if (seq <= b->seq_begin || seq - b->seq_begin > b->n_msgs)
		return SIZE_MAX;
	return seq - b->seq_begin - 1;
}

int nfrules_check_acks(const struct nfrules_batch *b, const void *buf, size_t len, size_t *acked,
		       size_t *ret_failed)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)MIN(len, (size_t)INT32_MAX);

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlmsgerr *e;
		size_t i;

		if (nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
			*ret_failed = SIZE_MAX;
			return -EBADMSG;
		}
		e = mnl_nlmsg_get_payload(nlh);
		i = msg_by_seq(b, nlh->nlmsg_seq);
		if (e->error != 0) {
			*ret_failed = i;
			return e->error < 0 ? e->error : -EPROTO;
		}
		if (i != SIZE_MAX)
			(*acked)++;
	}
	return *acked >= b->n_msgs ? 1 : 0;
}
