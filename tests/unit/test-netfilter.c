/* SPDX-License-Identifier: MIT */
/*
 * Tests for netfilter/ without a kernel: the egress batch is built and parsed back with
 * libnftnl (table, chains, sets and their elements, every rule in order with its
 * expressions); acknowledgements are checked against hand-made answers; NFLOG messages and
 * the IP packets and DNS queries they carry are parsed from hand-built bytes; the pinned-DNS
 * files and the user-mode stacks' command lines are checked as text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "nfdns.h"
#include "nflog.h"
#include "nfrules.h"
#include "nfstack.h"
#include "nfwire.h"
#include "strv.h"
#include "tap.h"

static struct nfrules_addr a4(const char *s, uint8_t prefix)
{
	struct nfrules_addr a = { .family = AF_INET, .prefix = prefix };

	inet_pton(AF_INET, s, a.addr);
	return a;
}

static struct nfrules_addr a6(const char *s, uint8_t prefix)
{
	struct nfrules_addr a = { .family = AF_INET6, .prefix = prefix };

	inet_pton(AF_INET6, s, a.addr);
	return a;
}

/* --- the batch, parsed back --- */

struct parsed_rule {
	char chain[32];
	char exprs[256]; /* expression names, space separated */
	char log_prefix[32];
	uint32_t log_group, snaplen;
	int verdict;
	char jump[32];
	char lookup[32];
	uint32_t reject_type;
	uint16_t redirect_port; /* a redir's port (loaded by a data immediate), host order */
	bool redirect;
	uint8_t cmp_data[16][16]; /* the data of each cmp, in order */
	uint32_t cmp_len[16];
	size_t n_cmp;
};

struct parsed_set {
	char name[32];
	uint32_t key_len, key_type;
	uint8_t keys[64][16];
	size_t n_keys;
};

struct parsed {
	int n_tables;
	char table[32];
	uint16_t table_family;
	int n_chains;
	struct {
		char name[32];
		bool base;
		uint32_t hook, policy;
		int32_t prio;
		char type[16];
	} chains[4];
	struct parsed_set sets[16];
	size_t n_sets;
	struct parsed_rule rules[64];
	size_t n_rules;
	size_t n_msgs;
	bool begin, end, all_acked, seq_ok, types_ok;
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct parsed_rule *r = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len;

	if (strlen(r->exprs) + strlen(name) + 2 < sizeof(r->exprs)) {
		if (*r->exprs)
			strcat(r->exprs, " ");
		strcat(r->exprs, name);
	}
	if (streq(name, "log")) {
		snprintf(r->log_prefix, sizeof(r->log_prefix), "%s",
			 nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX));
		r->log_group = nftnl_expr_get_u16(e, NFTNL_EXPR_LOG_GROUP);
		r->snaplen = nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_SNAPLEN);
	} else if (streq(name, "immediate") &&
		   nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT) {
		const void *d = nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len);

		if (d && len == 2)
			r->redirect_port = ntohs(*(const uint16_t *)d);
	} else if (streq(name, "redir")) {
		r->redirect = nftnl_expr_get_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN) == NFT_REG_1;
	} else if (streq(name, "immediate")) {
		r->verdict = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
			snprintf(r->jump, sizeof(r->jump), "%s",
				 nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	} else if (streq(name, "lookup") && !*r->lookup) {
		snprintf(r->lookup, sizeof(r->lookup), "%s",
			 nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
	} else if (streq(name, "reject")) {
		r->reject_type = nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE);
	} else if (streq(name, "cmp") && r->n_cmp < 16) {
		const void *d = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);

		r->cmp_len[r->n_cmp] = len;
		memcpy(r->cmp_data[r->n_cmp], d, MIN(len, 16u));
		r->n_cmp++;
	}
	return 0;
}

static struct parsed_set *find_set(struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->n_sets; i++)
		if (streq(p->sets[i].name, name))
			return &p->sets[i];
	return NULL;
}

/*
 * Set elements are read with libmnl: libnftnl numbers each element's nest 1, 2, 3... when it
 * builds them (the kernel ignores the type), but its parser (1.2.4) accepts only type 1.
 */
static void parse_setelems(struct parsed *p, const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *elem, *key, *val;
	struct parsed_set *ps = NULL;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET)
			ps = find_set(p, mnl_attr_get_str(a));
	}
	if (!ps) {
		p->types_ok = false;
		return;
	}
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(elem, a)
		{
			mnl_attr_for_each_nested(key, elem)
			{
				if (mnl_attr_get_type(key) != NFTA_SET_ELEM_KEY)
					continue;
				mnl_attr_for_each_nested(val, key)
				{
					if (mnl_attr_get_type(val) == NFTA_DATA_VALUE &&
					    ps->n_keys < 64 && mnl_attr_get_payload_len(val) <= 16)
						memcpy(ps->keys[ps->n_keys++],
						       mnl_attr_get_payload(val),
						       mnl_attr_get_payload_len(val));
				}
			}
		}
	}
}

static void parse_batch(const struct nfrules_batch *b, struct parsed *p)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->bytes.data;
	int left = (int)b->bytes.len;
	uint32_t seq = b->seq_begin;

	memset(p, 0, sizeof(*p));
	p->all_acked = p->seq_ok = p->types_ok = true;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), seq++) {
		uint16_t type = nlh->nlmsg_type;
		const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_seq != seq)
			p->seq_ok = false;
		if (type == NFNL_MSG_BATCH_BEGIN) {
			p->begin = ntohs(nfg->res_id) == NFNL_SUBSYS_NFTABLES;
			continue;
		}
		if (type == NFNL_MSG_BATCH_END) {
			p->end = true;
			continue;
		}
		p->n_msgs++;
		if (!(nlh->nlmsg_flags & NLM_F_ACK))
			p->all_acked = false;
		if (type >> 8 != NFNL_SUBSYS_NFTABLES || nfg->nfgen_family != NFPROTO_INET)
			p->types_ok = false;
		switch (type & 0xff) {
		case NFT_MSG_NEWTABLE: {
			struct nftnl_table *t = nftnl_table_alloc();

			if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
				p->n_tables++;
				snprintf(p->table, sizeof(p->table), "%s",
					 nftnl_table_get_str(t, NFTNL_TABLE_NAME));
				p->table_family = nfg->nfgen_family;
			}
			nftnl_table_free(t);
			break;
		}
		case NFT_MSG_NEWCHAIN: {
			struct nftnl_chain *c = nftnl_chain_alloc();

			if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && p->n_chains < 4) {
				int i = p->n_chains++;

				snprintf(p->chains[i].name, sizeof(p->chains[i].name), "%s",
					 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
				p->chains[i].base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
				if (p->chains[i].base) {
					p->chains[i].hook =
						nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
					p->chains[i].policy =
						nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
					p->chains[i].prio =
						nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
					snprintf(p->chains[i].type, sizeof(p->chains[i].type), "%s",
						 nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE));
				}
			}
			nftnl_chain_free(c);
			break;
		}
		case NFT_MSG_NEWSET: {
			struct nftnl_set *s = nftnl_set_alloc();

			if (nftnl_set_nlmsg_parse(nlh, s) == 0 && p->n_sets < 16) {
				struct parsed_set *ps = &p->sets[p->n_sets++];

				snprintf(ps->name, sizeof(ps->name), "%s",
					 nftnl_set_get_str(s, NFTNL_SET_NAME));
				ps->key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
				ps->key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
			}
			nftnl_set_free(s);
			break;
		}
		case NFT_MSG_NEWSETELEM:
			parse_setelems(p, nlh);
			break;
		case NFT_MSG_NEWRULE: {
			struct nftnl_rule *r = nftnl_rule_alloc();

			if (nftnl_rule_nlmsg_parse(nlh, r) == 0 && p->n_rules < 64) {
				struct parsed_rule *pr = &p->rules[p->n_rules++];

				pr->verdict = -100;
				snprintf(pr->chain, sizeof(pr->chain), "%s",
					 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
				nftnl_expr_foreach(r, expr_cb, pr);
			}
			nftnl_rule_free(r);
			break;
		}
		default:
			p->types_ok = false;
			break;
		}
	}
	if (left != 0)
		p->types_ok = false;
}

static bool has_key(const struct parsed_set *s, const void *key, size_t len)
{
	for (size_t i = 0; s && i < s->n_keys; i++)
		if (memcmp(s->keys[i], key, len) == 0)
			return true;
	return false;
}

static bool cmp_has(const struct parsed_rule *r, const void *data, uint32_t len)
{
	for (size_t i = 0; i < r->n_cmp; i++)
		if (r->cmp_len[i] == len && memcmp(r->cmp_data[i], data, len) == 0)
			return true;
	return false;
}

static void test_batch(void)
{
	const struct nfrules_addr host_addrs[] = { a4("93.184.216.34", 32), a4("93.184.216.35", 32),
						   a6("2606:2800:220:1::1", 128) };
	const struct nfrules_addr net[] = { a4("10.20.0.0", 16) };
	const struct nfrules_addr resolver[] = { a4("10.0.2.3", 32) };
	const struct nfrules_addr loopback[] = { a4("10.0.2.2", 32), a6("fd00::2", 128) };
	const struct nfrules_addr blocked[] = { a4("10.0.2.2", 32), a4("192.0.2.2", 32),
						a6("fd00::2", 128) };
	const uint16_t web[] = { 80, 443 }, pg[] = { 5432 }, dns[] = { 53 }, dev[] = { 8080 };
	const struct nfrules_rule rules[] = {
		{ .proto = IPPROTO_TCP,
		  .addrs = host_addrs,
		  .n_addrs = 3,
		  .ports = web,
		  .n_ports = 2 },
		{ .proto = IPPROTO_TCP, .addrs = net, .n_addrs = 1, .ports = pg, .n_ports = 1 },
		{ .proto = IPPROTO_UDP,
		  .addrs = resolver,
		  .n_addrs = 1,
		  .ports = dns,
		  .n_ports = 1,
		  .before_block = true,
		  .log_payload = true },
		{ .proto = IPPROTO_TCP,
		  .addrs = loopback,
		  .n_addrs = 2,
		  .ports = dev,
		  .n_ports = 1,
		  .before_block = true },
		{ .proto = IPPROTO_TCP, .addrs = NULL, .n_addrs = 0, .ports = dev, .n_ports = 1 },
	};
	const struct nfrules rs = { .rules = rules,
				    .n_rules = ELEMENTSOF(rules),
				    .blocked = blocked,
				    .n_blocked = ELEMENTSOF(blocked),
				    .log_group = 7 };
	struct nfrules_batch b;
	struct parsed *p = calloc(1, sizeof(*p));
	const struct parsed_set *s;
	uint16_t be80 = htons(80), be443 = htons(443), be5432 = htons(5432);
	uint8_t addr[16];
	int r;

	r = nfrules_build_batch(&rs, 100, &b);
	if (!is_int(r, 0, "batch: builds"))
		return;
	parse_batch(&b, p);
	ok(p->begin && p->end, "batch: framed by BATCH_BEGIN (nftables) and BATCH_END");
	ok(p->seq_ok, "batch: sequence numbers are consecutive from 100");
	ok(p->all_acked, "batch: every message asks for an acknowledgement");
	ok(p->types_ok, "batch: only nftables messages of family inet, nothing left over");
	is_int(p->n_msgs, b.n_msgs, "batch: every message is described (%zu)", b.n_msgs);
	for (size_t i = 0; i < b.n_msgs; i++)
		if (b.msgs[i].seq != 101 + i || !*b.msgs[i].what) {
			ok(false, "batch: description %zu matches its message", i);
			break;
		}

	is_int(p->n_tables, 1, "table: one");
	is_str(p->table, "skillbox", "table: named skillbox");
	is_int(p->table_family, NFPROTO_INET, "table: family inet (IPv4 and IPv6)");
	is_int(p->n_chains, 2, "chains: output and refuse");
	is_str(p->chains[0].name, "output", "chain output");
	ok(p->chains[0].base && p->chains[0].hook == NF_INET_LOCAL_OUT &&
		   p->chains[0].policy == NF_DROP && p->chains[0].prio == 0 &&
		   streq(p->chains[0].type, "filter"),
	   "chain output: filter hook output priority 0 policy drop");
	ok(streq(p->chains[1].name, "refuse") && !p->chains[1].base,
	   "chain refuse: a regular chain");

	s = find_set(p, "r0_ip4");
	ok(s && s->key_len == 4 && s->key_type == 7 && s->n_keys == 2, "set r0_ip4: 2 IPv4 keys");
	inet_pton(AF_INET, "93.184.216.35", addr);
	ok(has_key(s, addr, 4), "set r0_ip4: holds 93.184.216.35");
	ok(!find_set(p, "r0_ip6"), "a single address needs no set (r0_ip6)");
	s = find_set(p, "r0_ports");
	ok(s && s->key_len == 2 && s->key_type == 13 && s->n_keys == 2 && has_key(s, &be80, 2) &&
		   has_key(s, &be443, 2),
	   "set r0_ports: 80 and 443, network byte order");
	s = find_set(p, "blocked_ip4");
	inet_pton(AF_INET, "192.0.2.2", addr);
	ok(s && s->n_keys == 2 && has_key(s, addr, 4), "set blocked_ip4: the host's addresses");
	s = find_set(p, "blocked_ip6");
	ok(s && s->key_len == 16 && s->n_keys == 1, "set blocked_ip6: one IPv6 key");

	/* The rules, in order. */
	{
		static const struct {
			const char *chain, *prefix, *lookup, *jump;
			int verdict;
		} want[] = {
			{ "refuse", NULL, NULL, NULL, -100 },
			{ "refuse", NULL, NULL, NULL, -100 },
			{ "output", "sb:q:2", NULL, NULL, -100 },  /* DNS payload, no verdict */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* oif lo, 127.0.0.0/8 */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* oif lo, own IPv4 */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* oif lo, ::1 */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* oif lo, own IPv6 */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* established */
			{ "output", NULL, NULL, NULL, NF_ACCEPT }, /* icmpv6 nd */
			{ "output", NULL, NULL, NULL, NF_DROP },   /* invalid */
			{ "output", "sb:a:2", NULL, NULL, NF_ACCEPT },
			{ "output", "sb:a:3", NULL, NULL, NF_ACCEPT }, /* v4 gateway */
			{ "output", "sb:a:3", NULL, NULL, NF_ACCEPT }, /* v6 gateway */
			{ "output", "sb:h", "blocked_ip4", "refuse", NFT_GOTO },
			{ "output", "sb:h", "blocked_ip6", "refuse", NFT_GOTO },
			{ "output", "sb:a:0", "r0_ip4", NULL, NF_ACCEPT },
			{ "output", "sb:a:0", NULL, NULL, NF_ACCEPT },
			{ "output", "sb:a:1", NULL, NULL, NF_ACCEPT },
			{ "output", "sb:d", NULL, "refuse", NFT_GOTO },
		};
		bool order = p->n_rules == ELEMENTSOF(want);

		for (size_t i = 0; order && i < ELEMENTSOF(want); i++) {
			const struct parsed_rule *pr = &p->rules[i];

			if (!streq(pr->chain, want[i].chain) ||
			    !streq(pr->log_prefix, want[i].prefix ? want[i].prefix : "") ||
			    (want[i].lookup && !streq(pr->lookup, want[i].lookup)) ||
			    !streq(pr->jump, want[i].jump ? want[i].jump : "") ||
			    pr->verdict != want[i].verdict) {
				diag("rule %zu: chain %s exprs '%s' prefix '%s' verdict %d", i,
				     pr->chain, pr->exprs, pr->log_prefix, pr->verdict);
				order = false;
			}
		}
		ok(order, "rules: %zu rules in the documented order", p->n_rules);
	}
	if (p->n_rules >= 19) {
		const struct parsed_rule *rl;
		uint8_t own[16];

		rl = &p->rules[0];
		ok(strstr(rl->exprs, "meta cmp reject") && rl->reject_type == NFT_REJECT_TCP_RST,
		   "refuse: TCP gets a reset");
		rl = &p->rules[1];
		ok(streq(rl->exprs, "reject") && rl->reject_type == NFT_REJECT_ICMPX_UNREACH,
		   "refuse: everything else ICMP (admin prohibited)");
		rl = &p->rules[2];
		ok(!strstr(rl->exprs, "ct") && rl->snaplen == NFRULES_SNAPLEN_DNS &&
			   rl->log_group == 7,
		   "DNS payload rule: no conntrack match, 512 bytes to group 7 (%s)", rl->exprs);
		rl = &p->rules[3];
		inet_pton(AF_INET, "127.0.0.0", own);
		ok(streq(rl->exprs, "meta cmp meta cmp payload bitwise cmp immediate") &&
			   cmp_has(rl, own, 4),
		   "loopback: only to 127.0.0.0/8 is accepted on lo (%s)", rl->exprs);
		rl = &p->rules[6];
		inet_pton(AF_INET6, NFSTACK_ADDR6, own);
		ok(streq(rl->exprs, "meta cmp meta cmp payload cmp immediate") &&
			   cmp_has(rl, own, 16),
		   "loopback: and to the sandbox's own IPv6 address (%s)", rl->exprs);
		rl = &p->rules[7];
		ok(streq(rl->exprs, "ct bitwise cmp immediate"), "established: ct state match (%s)",
		   rl->exprs);
		rl = &p->rules[15];
		ok(streq(rl->exprs,
			 "ct bitwise cmp meta cmp payload lookup meta cmp payload lookup "
			 "log immediate"),
		   "allow rule: ct new, nfproto, daddr in set, l4proto, dport in set, log, accept "
		   "(%s)",
		   rl->exprs);
		ok(rl->snaplen == NFRULES_SNAPLEN, "allow rule: headers only in the log");
		rl = &p->rules[16];
		inet_pton(AF_INET6, "2606:2800:220:1::1", addr);
		ok(cmp_has(rl, addr, 16), "allow rule: a single IPv6 address compared exactly");
		rl = &p->rules[17];
		inet_pton(AF_INET, "10.20.0.0", addr);
		ok(strstr(rl->exprs, "payload bitwise cmp") && cmp_has(rl, addr, 4) &&
			   cmp_has(rl, &be5432, 2),
		   "allow rule: a network is masked and compared, one port compared");
		rl = &p->rules[18];
		ok(streq(rl->exprs, "log immediate") && rl->snaplen == NFRULES_SNAPLEN_DNS,
		   "final rule: log everything else (with a DNS question's room) and refuse");
	}
	nfrules_batch_done(&b);
	free(p);
}

/*
 * Reserved ranges (multicast, broadcast, link-local): a rule's exact addresses and its
 * networks inside a reserved range come before their refusals, wider networks after.
 */
static void test_reserved(void)
{
	const struct nfrules_addr any4[] = { a4("0.0.0.0", 0) }, any6[] = { a6("::", 0) };
	const struct nfrules_addr mcast[] = { a4("224.0.0.0", 8) };
	const struct nfrules_addr meta[] = { a4("169.254.169.254", 32) };
	const struct nfrules_addr reserved[] = { a4("224.0.0.0", 4), a4("255.255.255.255", 32),
						 a6("ff00::", 8) };
	const uint16_t port[] = { 5353 };
	const struct nfrules_rule rules[] = {
		{ .proto = IPPROTO_UDP, .addrs = any4, .n_addrs = 1, .ports = port, .n_ports = 1 },
		{ .proto = IPPROTO_UDP, .addrs = any6, .n_addrs = 1, .ports = port, .n_ports = 1 },
		{ .proto = IPPROTO_UDP, .addrs = mcast, .n_addrs = 1, .ports = port, .n_ports = 1 },
		{ .proto = IPPROTO_TCP, .addrs = meta, .n_addrs = 1, .ports = port, .n_ports = 1 },
	};
	const struct nfrules rs = { .rules = rules,
				    .n_rules = ELEMENTSOF(rules),
				    .reserved = reserved,
				    .n_reserved = ELEMENTSOF(reserved),
				    .log_group = 1 };
	static const char *const want[] = { "sb:a:2", "sb:a:3", "sb:r",	  "sb:r",
					    "sb:r",   "sb:a:0", "sb:a:1", "sb:d" };
	struct parsed *p = calloc(1, sizeof(*p));
	struct nfrules_batch b;
	struct nfrules_addr x;
	uint8_t addr[16];
	size_t first = 0;
	bool order = true;

	x = a4("224.0.0.251", 32);
	ok(nfrules_addr_within(&x, &reserved[0]), "within: 224.0.0.251 is inside 224.0.0.0/4");
	x = a4("0.0.0.0", 0);
	ok(!nfrules_addr_within(&x, &reserved[0]), "within: 0.0.0.0/0 is not inside 224.0.0.0/4");
	x = a4("239.255.0.0", 16);
	ok(nfrules_addr_within(&x, &reserved[0]), "within: 239.255.0.0/16 is inside 224.0.0.0/4");
	x = a6("ff02::1", 128);
	ok(nfrules_addr_within(&x, &reserved[2]) && !nfrules_addr_within(&x, &reserved[0]),
	   "within: ff02::1 is inside ff00::/8, and of another family than 224.0.0.0/4");

	if (!p || !is_int(nfrules_build_batch(&rs, 1, &b), 0, "reserved: the batch builds")) {
		free(p);
		return;
	}
	parse_batch(&b, p);
	/* Skip the refuse chain and the fixed accepts: they end with "ct state invalid drop". */
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].verdict == NF_DROP)
			first = i + 1;
	order = p->n_rules == first + ELEMENTSOF(want);
	for (size_t i = 0; order && i < ELEMENTSOF(want); i++)
		if (!streq(p->rules[first + i].log_prefix, want[i])) {
			diag("rule %zu: prefix '%s' exprs '%s'", first + i,
			     p->rules[first + i].log_prefix, p->rules[first + i].exprs);
			order = false;
		}
	ok(order, "reserved: 224.0.0.0/8 and 169.254.169.254 (named) before the reserved refusals, "
		  "0.0.0.0/0 and ::/0 after them");
	if (order) {
		const struct parsed_rule *rl = &p->rules[first + 2];

		inet_pton(AF_INET, "224.0.0.0", addr);
		ok(streq(rl->exprs, "meta cmp payload bitwise cmp log immediate") &&
			   cmp_has(rl, addr, 4) && streq(rl->jump, "refuse") &&
			   rl->verdict == NFT_GOTO && !strstr(rl->exprs, "ct"),
		   "reserved: 224.0.0.0/4 is masked, logged and refused, in every ct state (%s)",
		   rl->exprs);
		rl = &p->rules[first + 3];
		inet_pton(AF_INET, "255.255.255.255", addr);
		ok(streq(rl->exprs, "meta cmp payload cmp log immediate") && cmp_has(rl, addr, 4),
		   "reserved: 255.255.255.255 is compared exactly (%s)", rl->exprs);
		rl = &p->rules[first + 4];
		inet_pton(AF_INET6, "ff00::", addr);
		ok(cmp_has(rl, addr, 16), "reserved: ff00::/8 for IPv6");
	}
	nfrules_batch_done(&b);
	free(p);
}

static void test_batch_invalid(void)
{
	const struct nfrules_addr addrs[] = { a4("192.0.2.1", 32) };
	const uint16_t ports[] = { 1 };
	struct nfrules_rule rl = {
		.proto = IPPROTO_TCP, .addrs = addrs, .n_addrs = 1, .ports = ports, .n_ports = 0
	};
	struct nfrules rs = { .rules = &rl, .n_rules = 1 };
	struct nfrules_batch b;
	struct nfrules_addr bad = a4("192.0.2.1", 33);

	is_int(nfrules_build_batch(&rs, 1, &b), -EINVAL, "invalid: a rule without ports");
	rl.n_ports = 1;
	rl.proto = IPPROTO_ICMP;
	is_int(nfrules_build_batch(&rs, 1, &b), -EINVAL, "invalid: a protocol other than tcp/udp");
	rl.proto = IPPROTO_UDP;
	rl.addrs = &bad;
	is_int(nfrules_build_batch(&rs, 1, &b), -EINVAL, "invalid: prefix longer than the address");
	rl.addrs = addrs;
	rs.n_rules = 0;
	if (is_int(nfrules_build_batch(&rs, 1, &b), 0, "no rules: still a complete ruleset"))
		nfrules_batch_done(&b);
}

static void test_many_elements(void)
{
	struct nfrules_addr *addrs = calloc(600, sizeof(*addrs));
	const uint16_t ports[] = { 443 };
	struct nfrules_rule rl = {
		.proto = IPPROTO_TCP, .addrs = addrs, .n_addrs = 600, .ports = ports, .n_ports = 1
	};
	struct nfrules rs = { .rules = &rl, .n_rules = 1 };
	struct nfrules_batch b;
	struct parsed *p = calloc(1, sizeof(*p));
	size_t setelem_msgs = 0;

	for (int i = 0; i < 600; i++) {
		addrs[i].family = AF_INET6;
		addrs[i].prefix = 128;
		addrs[i].addr[0] = 0x20;
		addrs[i].addr[14] = (uint8_t)(i >> 8);
		addrs[i].addr[15] = (uint8_t)i;
	}
	if (is_int(nfrules_build_batch(&rs, 1, &b), 0, "600 addresses: builds")) {
		for (size_t i = 0; i < b.n_msgs; i++)
			setelem_msgs += b.msgs[i].kind == NFRULES_MSG_SETELEM;
		is_int(setelem_msgs, 3, "600 addresses: elements split over 3 messages");
		parse_batch(&b, p);
		ok(p->types_ok && p->seq_ok, "600 addresses: the batch parses back");
		nfrules_batch_done(&b);
	}
	free(addrs);
	free(p);
}

/* --- the relay chain --- */

static void test_relay_batch(void)
{
	const struct nfrules_addr host_addrs[] = { a4("93.184.216.34", 32),
						   a6("2606:2800:220:1::1", 128) };
	const struct nfrules_addr net[] = { a4("10.20.0.0", 16) };
	const struct nfrules_addr loopback[] = { a4("10.0.2.2", 32), a6("fd00::2", 128) };
	const struct nfrules_addr blocked[] = { a4("10.0.2.2", 32), a4("192.0.2.2", 32) };
	const struct nfrules_addr udp_net[] = { a4("198.51.100.0", 24) };
	const uint16_t web[] = { 443 }, pg[] = { 5432 }, dev[] = { 8080 }, dns[] = { 53 };
	const struct nfrules_rule rules[] = {
		{ .proto = IPPROTO_TCP,
		  .addrs = host_addrs,
		  .n_addrs = 2,
		  .ports = web,
		  .n_ports = 1,
		  .relay = true },
		{ .proto = IPPROTO_TCP,
		  .addrs = net,
		  .n_addrs = 1,
		  .ports = pg,
		  .n_ports = 1,
		  .relay = true },
		{ .proto = IPPROTO_TCP,
		  .addrs = loopback,
		  .n_addrs = 2,
		  .ports = dev,
		  .n_ports = 1,
		  .before_block = true,
		  .relay = true },
		{ .proto = IPPROTO_UDP,
		  .addrs = udp_net,
		  .n_addrs = 1,
		  .ports = dns,
		  .n_ports = 1 },
	};
	struct nfrules rs = { .rules = rules,
			      .n_rules = ELEMENTSOF(rules),
			      .blocked = blocked,
			      .n_blocked = ELEMENTSOF(blocked),
			      .log_group = 1,
			      .relay_port = 1 };
	struct nfrules_batch b;
	struct parsed *p = calloc(1, sizeof(*p));
	size_t relay_rules = 0, redirects = 0, filter_accepts = 0;
	ssize_t first_relay = -1;
	bool returns_first = true, blocked_between = false, order_ok = true;
	int r;

	r = nfrules_build_batch(&rs, 1, &b);
	is_int(r, 0, "relay batch: built");
	parse_batch(&b, p);
	ok(p->types_ok && p->seq_ok && p->begin && p->end, "relay batch: parses back");
	is_int(p->n_chains, 3, "relay batch: output, refuse and relay chains");
	is_str(p->chains[2].name, NFRULES_RELAY_CHAIN, "relay chain: its name");
	ok(p->chains[2].base && p->chains[2].hook == NF_INET_LOCAL_OUT &&
		   p->chains[2].prio == -100 && streq(p->chains[2].type, "nat") &&
		   p->chains[2].policy == NF_ACCEPT,
	   "relay chain: type nat, hook output, priority -100, policy accept");
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct parsed_rule *pr = &p->rules[i];

		if (streq(pr->chain, NFRULES_CHAIN) && pr->verdict == NF_ACCEPT &&
		    streq(pr->log_prefix, "sb:a:3"))
			filter_accepts++;
		if (streq(pr->chain, NFRULES_CHAIN) && strstr(pr->log_prefix, "sb:a:") &&
		    !streq(pr->log_prefix, "sb:a:3"))
			order_ok = false;
		if (!streq(pr->chain, NFRULES_RELAY_CHAIN))
			continue;
		if (first_relay < 0)
			first_relay = (ssize_t)i;
		relay_rules++;
		if (pr->redirect) {
			redirects++;
			if (pr->redirect_port != 1 || !strstr(pr->exprs, "immediate redir"))
				order_ok = false;
		}
		if (relay_rules <= 4 && pr->verdict != NFT_RETURN)
			returns_first = false;
		if (relay_rules > 4 && pr->verdict == NFT_RETURN &&
		    streq(pr->lookup, "blocked_ip4"))
			blocked_between = redirects == 2; /* after host-loopback's v4 and v6 */
	}
	is_int(filter_accepts, 1, "filter chain: only the UDP rule is accepted there");
	{
		bool found = false;
		uint16_t be1 = htons(1);

		for (size_t i = 0; i < p->n_rules; i++)
			found = found || (streq(p->rules[i].chain, NFRULES_CHAIN) &&
					  streq(p->rules[i].exprs,
						"ct bitwise cmp meta cmp payload cmp immediate") &&
					  p->rules[i].verdict == NF_ACCEPT &&
					  cmp_has(&p->rules[i], &be1, 2));
		ok(found, "filter chain: what the relay chain redirected to port 1 is accepted "
			  "(ct status dnat)");
	}
	ok(order_ok, "filter chain: no relayed rule is accepted; every redirect goes to port 1");
	ok(returns_first, "relay chain: the sandbox's own addresses return first");
	is_int(redirects, 5,
	       "relay chain: a redirect per family and network of each relayed rule (2+2+1)");
	ok(blocked_between,
	   "relay chain: blocked addresses return after host-loopback's redirects");
	nfrules_batch_done(&b);

	rs.relay_any_tcp = true;
	r = nfrules_build_batch(&rs, 1, &b);
	parse_batch(&b, p);
	ok(r == 0 && p->n_rules > 0 && streq(p->rules[p->n_rules - 1].chain, NFRULES_RELAY_CHAIN) &&
		   p->rules[p->n_rules - 1].redirect &&
		   streq(p->rules[p->n_rules - 1].exprs, "meta cmp immediate redir"),
	   "relay_any_tcp: every other TCP connection is redirected last (%s)",
	   p->n_rules ? p->rules[p->n_rules - 1].exprs : "");
	nfrules_batch_done(&b);

	rs.relay_port = 0;
	is_int(nfrules_build_batch(&rs, 1, &b), -EINVAL,
	       "relay rules without a relay port: EINVAL");
	rs.relay_any_tcp = false;
	rs.rules = (const struct nfrules_rule[]){ { .proto = IPPROTO_UDP,
						    .addrs = udp_net,
						    .n_addrs = 1,
						    .ports = dns,
						    .n_ports = 1,
						    .relay = true } };
	rs.n_rules = 1;
	rs.relay_port = 1;
	is_int(nfrules_build_batch(&rs, 1, &b), -EINVAL, "a relayed UDP rule: EINVAL");
	free(p);
}

/*
 * Reserved ranges in the relay chain: a relayed 0.0.0.0/0 or ::/0 is redirected only after the
 * reserved ranges have returned (to the filter chain's refusal), and a relayed network inside
 * one (169.254.169.254) before them; relay_any_tcp comes after them too.
 */
static void test_relay_reserved(void)
{
	const struct nfrules_addr any4[] = { a4("0.0.0.0", 0) }, any6[] = { a6("::", 0) };
	const struct nfrules_addr meta[] = { a4("169.254.169.254", 32) };
	const struct nfrules_addr reserved[] = { a4("169.254.0.0", 16), a4("224.0.0.0", 4),
						 a6("fe80::", 10) };
	const uint16_t web[] = { 80 };
	const struct nfrules_rule rules[] = {
		{ .proto = IPPROTO_TCP,
		  .addrs = any4,
		  .n_addrs = 1,
		  .ports = web,
		  .n_ports = 1,
		  .relay = true },
		{ .proto = IPPROTO_TCP,
		  .addrs = any6,
		  .n_addrs = 1,
		  .ports = web,
		  .n_ports = 1,
		  .relay = true },
		{ .proto = IPPROTO_TCP,
		  .addrs = meta,
		  .n_addrs = 1,
		  .ports = web,
		  .n_ports = 1,
		  .relay = true },
	};
	const struct nfrules rs = { .rules = rules,
				    .n_rules = ELEMENTSOF(rules),
				    .reserved = reserved,
				    .n_reserved = ELEMENTSOF(reserved),
				    .log_group = 1,
				    .relay_port = 1,
				    .relay_any_tcp = true };
	struct parsed *p = calloc(1, sizeof(*p));
	struct nfrules_batch b;
	uint8_t addr[16];
	/* In the relay chain, after the sandbox's own four addresses: 169.254.169.254 named,
	   the three reserved returns, then 0.0.0.0/0, ::/0 and any other TCP. */
	static const char *const want[] = { "redirect", "return",   "return",  "return",
					    "redirect", "redirect", "redirect" };
	size_t n = 0, first = SIZE_MAX;
	bool order = true, filter_refuses = false;

	if (!p || !is_int(nfrules_build_batch(&rs, 1, &b), 0, "relay reserved: the batch builds")) {
		free(p);
		return;
	}
	parse_batch(&b, p);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct parsed_rule *pr = &p->rules[i];
		const char *what;

		if (streq(pr->chain, NFRULES_CHAIN) && streq(pr->log_prefix, "sb:r") &&
		    streq(pr->jump, "refuse"))
			filter_refuses = true;
		if (!streq(pr->chain, NFRULES_RELAY_CHAIN))
			continue;
		if (n++ < 4)
			continue;
		if (first == SIZE_MAX)
			first = i;
		what = pr->redirect ? "redirect" : pr->verdict == NFT_RETURN ? "return" : "?";
		if (n - 5 >= ELEMENTSOF(want) || !streq(want[n - 5], what)) {
			diag("relay rule %zu: exprs '%s'", n - 1, pr->exprs);
			order = false;
		}
	}
	ok(order && n == 4 + ELEMENTSOF(want),
	   "relay reserved: 169.254.169.254 (named) redirected before the reserved ranges return, "
	   "0.0.0.0/0, ::/0 and any other TCP after them");
	ok(filter_refuses, "relay reserved: the filter chain still logs and refuses them (sb:r)");
	if (order && n == 4 + ELEMENTSOF(want)) {
		inet_pton(AF_INET, "169.254.169.254", addr);
		ok(cmp_has(&p->rules[first], addr, 4), "relay reserved: the named address first");
		inet_pton(AF_INET, "169.254.0.0", addr);
		ok(cmp_has(&p->rules[first + 1], addr, 4) &&
			   strstr(p->rules[first + 1].exprs, "bitwise") &&
			   !*p->rules[first + 1].log_prefix,
		   "relay reserved: 169.254.0.0/16 is masked and returns, unlogged (%s)",
		   p->rules[first + 1].exprs);
		inet_pton(AF_INET6, "fe80::", addr);
		ok(cmp_has(&p->rules[first + 3], addr, 16), "relay reserved: fe80::/10 for IPv6");
	}
	nfrules_batch_done(&b);
	free(p);
}

/* --- names on the wire --- */

static size_t put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* A ClientHello handshake message (type, 24-bit length, body) like a TLS 1.3 client's. */
static size_t client_hello(uint8_t *out, const char *sni, size_t n_sni, bool ech, size_t pad)
{
	uint8_t body[8192];
	size_t n = 0, ext_start;

	n += put16(body + n, 0x0303);
	memset(body + n, 0xab, 32), n += 32;
	body[n++] = 32;
	memset(body + n, 0xcd, 32), n += 32;
	n += put16(body + n, 2);
	n += put16(body + n, 0x1301);
	body[n++] = 1;
	body[n++] = 0;
	ext_start = n;
	n += 2;
	for (size_t i = 0; i < n_sni; i++) {
		size_t len = strlen(sni);

		n += put16(body + n, 0); /* server_name */
		n += put16(body + n, len + 5);
		n += put16(body + n, len + 3);
		body[n++] = 0;
		n += put16(body + n, len);
		memcpy(body + n, sni, len), n += len;
	}
	n += put16(body + n, 0x002b); /* supported_versions */
	n += put16(body + n, 3);
	body[n++] = 2;
	n += put16(body + n, 0x0304);
	if (ech) {
		n += put16(body + n, 0xfe0d);
		n += put16(body + n, 4);
		memset(body + n, 1, 4), n += 4;
	}
	if (pad) {
		n += put16(body + n, 0x0015); /* padding */
		n += put16(body + n, pad);
		memset(body + n, 0, pad), n += pad;
	}
	put16(body + ext_start, n - ext_start - 2);
	out[0] = 1;
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, body, n);
	return n + 4;
}

/* The message in handshake records of at most rec bytes each. */
static size_t records(const uint8_t *hs, size_t len, size_t rec, uint8_t *out)
{
	size_t n = 0;

	for (size_t off = 0; off < len; off += rec) {
		size_t k = MIN(rec, len - off);

		out[n++] = 22;
		out[n++] = 3;
		out[n++] = 1;
		n += put16(out + n, k);
		memcpy(out + n, hs + off, k), n += k;
	}
	return n;
}

static void wire(const char *text, struct nfwire_result *r)
{
	nfwire_parse((const uint8_t *)text, strlen(text), r);
}

static void test_wire_tls(void)
{
	static uint8_t hs[16384], rec[32768];
	struct nfwire_result r;
	size_t n, total, calls = 0;
	bool monotonic = true, early = false;

	n = client_hello(hs, "api.example.com", 1, false, 0);
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_DONE && r.proto == NFWIRE_PROTO_TLS && r.has_name &&
		   streq(r.name, "api.example.com") && !r.ech,
	   "tls: the server_name of a ClientHello in one record (%s)", r.name);
	is_str(nfwire_proto_to_string(r.proto), "tls", "tls: its protocol's name");

	n = client_hello(hs, "API.Example.COM.", 1, false, 0);
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	is_str(r.name, "api.example.com", "tls: the name is lowercased, its trailing dot dropped");

	/* Split across many records, then fed one byte more at a time, as TCP may deliver. */
	n = client_hello(hs, "split.example.com", 1, false, 3000);
	total = records(hs, n, 100, rec);
	for (size_t len = 1, need = 0; len <= total; len++) {
		nfwire_parse(rec, len, &r);
		if (r.status == NFWIRE_MORE) {
			monotonic =
				monotonic && r.need > len && r.need <= total + 5 && r.need >= need;
			need = r.need;
			continue;
		}
		early = len < total;
		break;
	}
	ok(monotonic, "tls split: more is asked for, never beyond what the message needs");
	ok(!early && r.status == NFWIRE_DONE && streq(r.name, "split.example.com"),
	   "tls split: the name of a ClientHello in %zu records, only once all has arrived",
	   (total + 104) / 105);
	/* Reading only when `need` is reached parses a handful of times, not once per byte. */
	for (size_t len = 5; len <= total; calls++) {
		nfwire_parse(rec, len, &r);
		if (r.status != NFWIRE_MORE)
			break;
		len = MAX(r.need, len + 1);
	}
	ok(r.status == NFWIRE_DONE && calls < 2 * (total / 105 + 2),
	   "tls split: parsing again at `need` takes %zu calls", calls);

	n = client_hello(hs, NULL, 0, false, 0);
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_DONE && !r.has_name, "tls: a ClientHello without server_name");

	n = client_hello(hs, "public.example.com", 1, true, 0);
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_DONE && r.ech && streq(r.name, "public.example.com"),
	   "tls: Encrypted Client Hello is noticed; the name is the outer one");

	n = client_hello(hs, "twice.example.com", 2, false, 0);
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_BAD, "tls: two server_name extensions are refused (%s)",
	   r.why ? r.why : "");

	n = client_hello(hs, "x.example.com", 1, false, 0);
	hs[0] = 2;
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_BAD, "tls: a handshake that is not a ClientHello is refused");

	n = client_hello(hs, "x.example.com", 1, false, 0);
	hs[1] = 1; /* 64 KiB and more */
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_BAD, "tls: a ClientHello claiming 64 KiB is refused (%s)",
	   r.why ? r.why : "");

	n = client_hello(hs, "x.example.com", 1, false, 0);
	total = records(hs, n, 16384, rec);
	rec[0] = 21; /* an alert record first */
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_BAD, "tls: an alert record first names nothing");

	n = client_hello(hs, "x.example.com", 1, false, 0);
	total = records(hs, n, 16384, rec);
	put16(hs + 4 + 2 + 32 + 33, 0x7fff); /* cipher_suites longer than the message */
	total = records(hs, n, 16384, rec);
	nfwire_parse(rec, total, &r);
	ok(r.status == NFWIRE_BAD, "tls: a length beyond the message is malformed, not read");

	rec[0] = 22, rec[1] = 3, rec[2] = 9;
	nfwire_parse(rec, 5, &r);
	ok(r.status == NFWIRE_BAD, "tls: a version other than 3.0-3.4 is not TLS");
}

static void test_wire_http(void)
{
	struct nfwire_result r;

	wire("GET /x HTTP/1.1\r\nAccept: */*\r\nHost: API.example.com:8080\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && r.proto == NFWIRE_PROTO_HTTP && r.has_name &&
		   streq(r.name, "api.example.com") && !*r.target,
	   "http: the Host header, without its port (%s)", r.name);
	wire("GET /x HTTP/1.1\r\nHost: api.example.com\r\n", &r);
	ok(r.status == NFWIRE_MORE, "http: the head is read to its empty line");
	wire("GET /x HTT", &r);
	ok(r.status == NFWIRE_MORE && r.need == 11, "http: a request line not yet complete");
	wire("POST /a HTTP/1.1\nhost:  b.example \n\n", &r);
	ok(r.status == NFWIRE_DONE && streq(r.name, "b.example"),
	   "http: bare LF line ends and a lowercase field name");
	wire("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", &r);
	ok(r.status == NFWIRE_BAD, "http: two Host headers are refused");
	wire("GET / HTTP/1.1\r\nHost: a.example\r\n x\r\n\r\n", &r);
	ok(r.status == NFWIRE_BAD, "http: a folded header line is refused");
	wire("GET / HTTP/1.1\r\nAccept: x\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && !r.has_name, "http: no Host header, no name");
	wire("GET http://a.example:81/x HTTP/1.0\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && r.has_name && streq(r.name, "a.example") &&
		   streq(r.target, "a.example"),
	   "http: HTTP/1.0 names its host in the absolute-form target");
	wire("GET http://user@b.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && streq(r.name, "a.example") && streq(r.target, "b.example"),
	   "http: an absolute-form target naming another host is kept apart (%s)", r.target);
	wire("CONNECT other.example:443 HTTP/1.1\r\nHost: proxy.example\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && streq(r.target, "other.example"),
	   "http: CONNECT's target is a host too");
	wire("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", &r);
	ok(r.status == NFWIRE_DONE && streq(r.name, "::1"), "http: an IPv6 literal Host");
	wire("SSH-2.0-OpenSSH_9.2\r\n", &r);
	ok(r.status == NFWIRE_BAD, "other: an SSH banner names nothing (%s)", r.why);
	wire("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r);
	ok(r.status == NFWIRE_BAD, "other: HTTP/2 with prior knowledge names nothing");
	nfwire_parse((const uint8_t *)"\0\1\2\3", 4, &r);
	ok(r.status == NFWIRE_BAD, "other: binary data names nothing");
	ok(nfwire_same_name("Example.COM.", "example.com") && !nfwire_same_name("a.b", "a.bc") &&
		   !nfwire_same_name("", "") && !nfwire_same_name(NULL, "a"),
	   "names compare without case and trailing dot");
}

/* --- acknowledgements --- */

static size_t put_ack(char *buf, uint32_t seq, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_seq = seq;
	return nlh->nlmsg_len;
}

static void test_acks(void)
{
	const uint16_t ports[] = { 443 };
	const struct nfrules_addr addrs[] = { a4("192.0.2.10", 32) };
	const struct nfrules_rule rl = {
		.proto = IPPROTO_TCP, .addrs = addrs, .n_addrs = 1, .ports = ports, .n_ports = 1
	};
	const struct nfrules rs = { .rules = &rl, .n_rules = 1 };
	struct nfrules_batch b;
	char buf[8192];
	size_t len = 0, acked = 0, failed = 0, rule_msg = SIZE_MAX;
	int r;

	if (nfrules_build_batch(&rs, 10, &b) < 0)
		return;
	memset(buf, 0, sizeof(buf));
	for (size_t i = 0; i + 1 < b.n_msgs; i++)
		len += put_ack(buf + len, b.msgs[i].seq, 0);
	r = nfrules_check_acks(&b, buf, len, &acked, &failed);
	is_int(r, 0, "acks: one missing, more needed");
	is_int(acked, b.n_msgs - 1, "acks: counted");
	len = put_ack(buf, b.msgs[b.n_msgs - 1].seq, 0);
	r = nfrules_check_acks(&b, buf, len, &acked, &failed);
	is_int(r, 1, "acks: all acknowledged across two reads");

	for (size_t i = 0; i < b.n_msgs; i++)
		if (b.msgs[i].kind == NFRULES_MSG_RULE && b.msgs[i].rule == 0)
			rule_msg = i;
	memset(buf, 0, sizeof(buf));
	acked = 0;
	len = put_ack(buf, b.msgs[0].seq, 0);
	len += put_ack(buf + len, b.msgs[rule_msg].seq, -EOPNOTSUPP);
	r = nfrules_check_acks(&b, buf, len, &acked, &failed);
	is_int(r, -EOPNOTSUPP, "acks: a refused message fails with its errno");
	is_int(failed, rule_msg, "acks: ... and names it");
	is_int(b.msgs[failed].rule, 0, "acks: ... which belongs to manifest rule 0");

	memset(buf, 0, sizeof(buf));
	len = put_ack(buf, 3, -ENOBUFS);
	acked = 0;
	r = nfrules_check_acks(&b, buf, len, &acked, &failed);
	ok(r == -ENOBUFS && failed == SIZE_MAX, "acks: an error for the batch itself names none");
	nfrules_batch_done(&b);
}

static void test_prefix(void)
{
	long k;

	is_int(nfrules_parse_prefix("sb:a:12", &k), NFRULES_LOG_ALLOW, "prefix: allow");
	is_int(k, 12, "prefix: allow rule 12");
	is_int(nfrules_parse_prefix("sb:q:0", &k), NFRULES_LOG_PAYLOAD, "prefix: payload");
	is_int(nfrules_parse_prefix("sb:d", &k), NFRULES_LOG_DENY, "prefix: deny");
	is_int(k, -1, "prefix: deny has no rule");
	is_int(nfrules_parse_prefix("sb:h", &k), NFRULES_LOG_HOST, "prefix: host");
	is_int(nfrules_parse_prefix("sb:r", &k), NFRULES_LOG_RESERVED, "prefix: reserved");
	is_int(nfrules_parse_prefix("sb:a:", &k), NFRULES_LOG_UNKNOWN, "prefix: no number");
	is_int(nfrules_parse_prefix("sb:a:1x", &k), NFRULES_LOG_UNKNOWN, "prefix: junk after it");
	is_int(nfrules_parse_prefix("sb:a:-1", &k), NFRULES_LOG_UNKNOWN, "prefix: negative");
	is_int(nfrules_parse_prefix("other", &k), NFRULES_LOG_UNKNOWN, "prefix: foreign");
	is_int(nfrules_parse_prefix(NULL, &k), NFRULES_LOG_UNKNOWN, "prefix: absent");
}

/* --- NFLOG messages --- */

static size_t build_nflog(char *buf, uint8_t family, const char *prefix, const void *pkt,
			  size_t pkt_len)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol =
						    htons(family == AF_INET ? 0x0800 : 0x86dd),
					    .hook = NF_INET_LOCAL_OUT };

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(1);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, prefix);
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl(2));
	if (pkt)
		mnl_attr_put(nlh, NFULA_PAYLOAD, pkt_len, pkt);
	return nlh->nlmsg_len;
}

/* An IPv4 TCP SYN 10.0.2.100:40000 -> 93.184.216.34:443. */
static size_t ipv4_tcp_syn(uint8_t *p)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.2.100", p + 12);
	inet_pton(AF_INET, "93.184.216.34", p + 16);
	p[20] = 40000 >> 8;
	p[21] = 40000 & 0xff;
	p[22] = 443 >> 8;
	p[23] = 443 & 0xff;
	p[32] = 5 << 4;
	p[33] = 0x02;
	return 40;
}

static size_t dns_query(uint8_t *p, const char *const *labels, uint16_t type)
{
	size_t n = 12;

	memset(p, 0, 12);
	p[0] = 0x12;
	p[1] = 0x34;
	p[2] = 0x01; /* RD */
	p[5] = 1;    /* QDCOUNT */
	for (; *labels; labels++) {
		p[n++] = (uint8_t)strlen(*labels);
		memcpy(p + n, *labels, strlen(*labels));
		n += strlen(*labels);
	}
	p[n++] = 0;
	p[n++] = (uint8_t)(type >> 8);
	p[n++] = (uint8_t)type;
	p[n++] = 0;
	p[n++] = 1;
	return n;
}

/* IPv6 UDP [fd00::100]:5353 -> [fd00::3]:53 with a hop-by-hop header and a DNS query. */
static size_t ipv6_udp_dns(uint8_t *p, bool hop_by_hop)
{
	static const char *const labels[] = { "exfil", "example", "com", NULL };
	size_t off = 40, udp;

	memset(p, 0, 512);
	p[0] = 0x60;
	p[6] = hop_by_hop ? IPPROTO_HOPOPTS : IPPROTO_UDP;
	p[7] = 64;
	inet_pton(AF_INET6, "fd00::100", p + 8);
	inet_pton(AF_INET6, "fd00::3", p + 24);
	if (hop_by_hop) {
		p[off] = IPPROTO_UDP;
		p[off + 1] = 0; /* 8 bytes */
		off += 8;
	}
	udp = off;
	p[udp] = 5353 >> 8;
	p[udp + 1] = 5353 & 0xff;
	p[udp + 3] = 53;
	off += 8;
	off += dns_query(p + off, labels, 28);
	p[udp + 4] = (uint8_t)((off - udp) >> 8);
	p[udp + 5] = (uint8_t)(off - udp);
	return off;
}

struct seen {
	int n;
	struct nflog_packet last;
	char prefixes[4][16];
};

static void seen_cb(const struct nflog_packet *p, void *userdata)
{
	struct seen *s = userdata;

	if (s->n < 4)
		snprintf(s->prefixes[s->n], sizeof(s->prefixes[0]), "%s",
			 p->prefix ? p->prefix : "");
	s->n++;
	s->last = *p;
}

static void test_nflog(void)
{
	char buf[4096];
	uint8_t pkt[512], daddr[16];
	struct nflog_packet p;
	struct nflog_flow f;
	struct seen s = { 0 };
	size_t len, pkt_len, one;
	char name[NFDNS_NAME_MAX];
	uint16_t type;

	memset(buf, 0, sizeof(buf));
	pkt_len = ipv4_tcp_syn(pkt);
	len = build_nflog(buf, AF_INET, "sb:a:3", pkt, pkt_len);
	is_int(nflog_parse_packet((struct nlmsghdr *)buf, &p), 0, "nflog: a packet message parses");
	is_str(p.prefix, "sb:a:3", "nflog: prefix");
	ok(p.family == AF_INET && p.hw_protocol == 0x0800 && p.outdev == 2,
	   "nflog: family, protocol, output device");
	ok(p.payload_len == pkt_len && memcmp(p.payload, pkt, pkt_len) == 0, "nflog: payload");
	is_int(nflog_parse_flow(p.family, p.payload, p.payload_len, &f), 0, "flow: IPv4 parses");
	inet_pton(AF_INET, "93.184.216.34", daddr);
	ok(f.proto == IPPROTO_TCP && f.has_ports && f.sport == 40000 && f.dport == 443 &&
		   memcmp(f.daddr, daddr, 4) == 0,
	   "flow: tcp 93.184.216.34:443 from port 40000");

	/* A second message after the first, and a config answer that is skipped. */
	one = len;
	pkt_len = ipv6_udp_dns(pkt, true);
	len += build_nflog(buf + len, AF_INET6, "sb:q:0", pkt, pkt_len);
	{
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + len);

		nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
		len += nlh->nlmsg_len;
	}
	is_int(nflog_foreach(buf, len, seen_cb, &s), 2, "nflog: two packets in one read");
	ok(s.n == 2 && streq(s.prefixes[0], "sb:a:3") && streq(s.prefixes[1], "sb:q:0"),
	   "nflog: delivered in order, config answer skipped");
	is_int(nflog_parse_flow(AF_INET6, s.last.payload, s.last.payload_len, &f), 0,
	       "flow: IPv6 with a hop-by-hop header parses");
	inet_pton(AF_INET6, "fd00::3", daddr);
	ok(f.proto == IPPROTO_UDP && f.dport == 53 && f.sport == 5353 &&
		   memcmp(f.daddr, daddr, 16) == 0,
	   "flow: udp [fd00::3]:53 behind the extension header");
	is_int(nfdns_parse_query(f.l4_payload, f.l4_len, name, sizeof(name), &type), 0,
	       "flow: the UDP payload is a DNS query");
	is_str(name, "exfil.example.com", "dns: the question's name");
	is_int(type, 28, "dns: type AAAA");

	s.n = 0;
	is_int(nflog_foreach(buf, one - 4, seen_cb, &s), -EBADMSG, "nflog: a truncated read");
	is_int(s.n, 0, "nflog: ... delivers nothing of the cut message");

	/* A prefix without its NUL. */
	{
		char bad[512];
		struct nlmsghdr *nlh;
		struct nfgenmsg *nfg;

		memset(bad, 0, sizeof(bad));
		nlh = mnl_nlmsg_put_header(bad);
		nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
		nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
		nfg->nfgen_family = AF_INET;
		mnl_attr_put(nlh, NFULA_PREFIX, 4, "sb:d");
		is_int(nflog_parse_packet(nlh, &p), -EBADMSG, "nflog: unterminated prefix refused");
		nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
		is_int(nflog_parse_packet(nlh, &p), -ENOMSG, "nflog: not a packet");
	}

	/* A later IPv4 fragment has no ports; ICMP has a type. */
	pkt_len = ipv4_tcp_syn(pkt);
	pkt[6] = 0x00;
	pkt[7] = 0x10;
	is_int(nflog_parse_flow(AF_INET, pkt, pkt_len, &f), 0, "flow: later fragment parses");
	ok(!f.has_ports, "flow: ... without ports");
	pkt_len = ipv4_tcp_syn(pkt);
	pkt[9] = IPPROTO_ICMP;
	pkt[20] = 8;
	is_int(nflog_parse_flow(AF_INET, pkt, pkt_len, &f), 0, "flow: ICMP parses");
	ok(f.has_icmp && f.icmp_type == 8 && !f.has_ports, "flow: ICMP echo, no ports");
	pkt[0] = 0x46; /* 24-byte header on a 40-byte packet is fine; 64 is not */
	pkt[0] = 0x4f;
	is_int(nflog_parse_flow(AF_INET, pkt, 40, &f), -EBADMSG, "flow: header longer than packet");
	is_int(nflog_parse_flow(AF_INET, pkt, 10, &f), -EBADMSG, "flow: too short");
	is_int(nflog_parse_flow(AF_INET6, pkt, 40, &f), -EBADMSG, "flow: wrong version");
	is_int(nflog_parse_flow(AF_INET, NULL, 0, &f), -EBADMSG, "flow: no payload");
}

/* --- DNS --- */

static void test_dns(void)
{
	static const char *const www[] = { "www", "example", "com", NULL };
	static const char *const none[] = { NULL };
	static const char *const odd[] = { "a b", "x\x01", NULL };
	uint8_t q[600], tcp[602];
	char name[NFDNS_NAME_MAX], tbuf[16];
	uint16_t type;
	size_t n;

	n = dns_query(q, www, 1);
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), 0, "dns: query parses");
	is_str(name, "www.example.com", "dns: name");
	is_str(nfdns_type_to_string(type, tbuf, sizeof(tbuf)), "A", "dns: type A");
	is_str(nfdns_type_to_string(4242, tbuf, sizeof(tbuf)), "TYPE4242", "dns: unknown type");

	tcp[0] = (uint8_t)(n >> 8);
	tcp[1] = (uint8_t)n;
	memcpy(tcp + 2, q, n);
	is_int(nfdns_parse_query_tcp(tcp, n + 2, name, sizeof(name), &type), 0,
	       "dns: over TCP, after its length");
	is_str(name, "www.example.com", "dns: over TCP, name");

	n = dns_query(q, none, 2);
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), 0, "dns: root");
	is_str(name, ".", "dns: root is '.'");

	n = dns_query(q, odd, 16);
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), 0, "dns: odd bytes");
	is_str(name, "a\\032b.x\\001", "dns: odd bytes escaped as \\DDD");

	n = dns_query(q, www, 1);
	q[2] |= 0x80;
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), -EBADMSG, "dns: an answer");
	q[2] &= 0x7f;
	q[5] = 0;
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), -EBADMSG, "dns: no question");
	q[5] = 1;
	is_int(nfdns_parse_query(q, n - 3, name, sizeof(name), &type), -EBADMSG,
	       "dns: truncated type");
	is_int(nfdns_parse_query(q, 14, name, sizeof(name), &type), -EBADMSG,
	       "dns: truncated label");
	q[12] = 0xc0;
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), -EBADMSG,
	       "dns: compression pointer in a question");
	q[12] = 64;
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), -EBADMSG, "dns: label > 63");
	is_int(nfdns_parse_query(q, 5, name, sizeof(name), &type), -EBADMSG, "dns: no header");
	is_int(nfdns_parse_query(NULL, 0, name, sizeof(name), &type), -EBADMSG, "dns: nothing");

	/* A name of 5 labels of 63 bytes is over 255 bytes on the wire. */
	memset(q, 0, sizeof(q));
	q[5] = 1;
	n = 12;
	for (int i = 0; i < 5; i++) {
		q[n++] = 63;
		memset(q + n, 'a', 63);
		n += 63;
	}
	q[n++] = 0;
	n += 4;
	is_int(nfdns_parse_query(q, n, name, sizeof(name), &type), -EBADMSG,
	       "dns: name longer than 255 bytes");
	n = dns_query(q, www, 1);
	is_int(nfdns_parse_query(q, n, name, 8, &type), -EBADMSG, "dns: output buffer too small");
	{
		static const char *const labels[] = { "api", "example", "com", NULL };
		const struct nfrules_addr answer[] = { a4("93.184.216.34", 32), a6("2606::1", 128),
						       a4("93.184.216.35", 32) };
		uint8_t aq[512], out[512];
		size_t ql = dns_query(aq, labels, 1);
		ssize_t an = nfdns_build_answer(aq, ql, answer, 3, 0, 60, out, sizeof(out));
		uint8_t a1[4], a2[4];

		inet_pton(AF_INET, "93.184.216.34", a1);
		inet_pton(AF_INET, "93.184.216.35", a2);
		ok(an == (ssize_t)ql + 2 * 16 && (out[2] & 0x80) && out[7] == 2 &&
			   memcmp(out, aq, 2) == 0 && memcmp(out + 12, aq + 12, ql - 12) == 0 &&
			   memcmp(out + ql + 12, a1, 4) == 0 && memcmp(out + ql + 28, a2, 4) == 0,
		   "dns answer: the question echoed, an A record per IPv4 address (%zd bytes)", an);
		ql = dns_query(aq, labels, 28);
		an = nfdns_build_answer(aq, ql, answer, 3, 0, 60, out, sizeof(out));
		ok(an == (ssize_t)ql + 28 && out[7] == 1 && out[ql + 11] == 16,
		   "dns answer: AAAA gets the IPv6 address only");
		an = nfdns_build_answer(aq, ql, answer, 3, 3, 60, out, sizeof(out));
		ok(an == (ssize_t)ql && (out[3] & 0x0f) == 3 && out[7] == 0,
		   "dns answer: NXDOMAIN carries no answer");
		ok(nfdns_build_answer(aq, 11, answer, 3, 0, 60, out, sizeof(out)) == -EBADMSG &&
			   nfdns_build_answer(aq, ql, answer, 3, 0, 60, out, 20) == -ENOBUFS,
		   "dns answer: a short query, a short buffer");
	}
}

static void test_files(void)
{
	const struct nfrules_addr addrs[] = { a4("192.0.2.10", 32), a6("2001:db8::10", 128) };
	const struct nfdns_pin pins[] = { { "api.example.com", addrs, 2 } };
	char *h = nfdns_hosts_file("skillbox", pins, 1),
	     *rc = nfdns_resolv_conf("10.0.2.3", "x", false);

	ok(h && strstr(h, "\n127.0.0.1\tlocalhost\n") && strstr(h, "\n::1\tlocalhost"),
	   "hosts: localhost");
	ok(h && strstr(h, "\t skillbox") == NULL && strstr(h, "127.0.1.1\tskillbox\n"),
	   "hosts: the sandbox's hostname");
	ok(h && strstr(h, "192.0.2.10\tapi.example.com\n") &&
		   strstr(h, "2001:db8::10\tapi.example.com\n"),
	   "hosts: both addresses of a pinned name");
	ok(rc && strstr(rc, "nameserver 10.0.2.3\n") && strstr(rc, "attempts:1"),
	   "resolv.conf: one nameserver, one attempt");
	free(h);
	free(rc);
}

static bool argv_has(char **argv, const char *a, const char *b)
{
	for (size_t i = 0; argv && argv[i]; i++)
		if (streq(argv[i], a) && (!b || (argv[i + 1] && streq(argv[i + 1], b))))
			return true;
	return false;
}

static void test_stack_argv(void)
{
	struct nfstack_opts o = {
		.kind = NFSTACK_PASTA, .path = "/usr/bin/pasta", .userns_fd = 5, .netns_fd = 6
	};
	char **argv = NULL;

	if (!is_int(nfstack_argv(&o, 7, -1, &argv), 0, "pasta argv: builds"))
		return;
	ok(streq(argv[0], "/usr/bin/pasta"), "pasta argv: the path first");
	ok(argv_has(argv, "--tcp-ports", "none") && argv_has(argv, "--udp-ports", "none") &&
		   argv_has(argv, "--tcp-ns", "none") && argv_has(argv, "--udp-ns", "none"),
	   "pasta argv: no port forwarding in either direction");
	ok(argv_has(argv, "--no-map-gw", NULL), "pasta argv: the gateway is not the host");
	ok(!argv_has(argv, "--dns-forward", NULL), "pasta argv: no DNS forwarding when pinned");
	ok(argv_has(argv, "--no-udp", NULL) && !argv_has(argv, "--no-icmp", NULL),
	   "pasta argv: no UDP handler when no rule needs it; ICMP (IPv6 neighbours) kept");
	ok(argv_has(argv, "--foreground", NULL) && argv_has(argv, "--config-net", NULL) &&
		   argv_has(argv, "--pid", "/proc/self/fd/2"),
	   "pasta argv: foreground, configures, pid file is its output (stderr)");
	ok(argv_has(argv, "--userns", "/proc/self/fd/0") &&
		   argv_has(argv, "--netns", "/proc/self/fd/1"),
	   "pasta argv: namespaces on stdin and stdout, which pasta does not close");
	ok(!argv_has(argv, "/proc/self/fd/5", NULL) && !argv_has(argv, "/proc/self/fd/7", NULL),
	   "pasta argv: no other inherited descriptor is named");
	ok(argv_has(argv, "--gateway", NFSTACK_GW4) && argv_has(argv, "--address", NFSTACK_ADDR4),
	   "pasta argv: fixed addressing");
	argv = strv_free(argv);

	o.host_loopback = true;
	o.dns_forward = true;
	nfstack_argv(&o, 7, -1, &argv);
	ok(!argv_has(argv, "--no-map-gw", NULL), "pasta argv: host-loopback maps the gateway");
	ok(argv_has(argv, "--dns-forward", NFSTACK_DNS4), "pasta argv: resolver forwarded");
	ok(!argv_has(argv, "--no-udp", NULL), "pasta argv: UDP handler for the resolver");
	ok(argv && !argv_has(argv, "--no-tcp", NULL),
	   "pasta argv: a TCP handler unless told otherwise");
	argv = strv_free(argv);
	o.no_tcp = true;
	nfstack_argv(&o, 7, -1, &argv);
	ok(argv_has(argv, "--no-tcp", NULL),
	   "pasta argv: no TCP handler when the relay carries TCP");
	o.no_tcp = false;
	argv = strv_free(argv);

	/* A root caller starts the stack inside the user namespace: network namespace only. */
	o.enter_userns = true;
	nfstack_argv(&o, 7, -1, &argv);
	ok(!argv_has(argv, "--userns", NULL) && argv_has(argv, "--netns", "/proc/self/fd/1"),
	   "pasta argv: started inside the user namespace, it joins the network namespace only");
	argv = strv_free(argv);

	o = (struct nfstack_opts){ .kind = NFSTACK_SLIRP4NETNS,
				   .path = "/usr/bin/slirp4netns",
				   .userns_fd = 5,
				   .netns_fd = 6 };
	if (!is_int(nfstack_argv(&o, 7, 8, &argv), 0, "slirp4netns argv: builds"))
		return;
	ok(argv_has(argv, "--ready-fd=7", NULL) && argv_has(argv, "--exit-fd=8", NULL),
	   "slirp4netns argv: ready and exit descriptors");
	ok(argv_has(argv, "--disable-host-loopback", NULL) && argv_has(argv, "--disable-dns", NULL),
	   "slirp4netns argv: no host loopback, no DNS when pinned");
	ok(argv_has(argv, "--userns-path=/proc/self/fd/5", NULL) &&
		   argv_has(argv, "/proc/self/fd/6", NFSTACK_IFNAME),
	   "slirp4netns argv: namespaces by descriptor, then the interface name");
	argv = strv_free(argv);
	o.enter_userns = true;
	nfstack_argv(&o, 7, 8, &argv);
	ok(!argv_has(argv, "--userns-path=/proc/self/fd/5", NULL) &&
		   argv_has(argv, "/proc/self/fd/6", NFSTACK_IFNAME),
	   "slirp4netns argv: started inside the user namespace, no --userns-path");
	argv = strv_free(argv);
	o.kind = NFSTACK_NONE;
	is_int(nfstack_argv(&o, 7, 8, &argv), -EINVAL, "stack argv: no stack, no argv");
}

static void test_stack_message(void)
{
	struct nfstack s = NFSTACK_INIT;
	const char *text = "Failed to send 40 bytes to syslog\nCouldn't open tun: Permission "
			   "denied\nFailed to send 52 bytes to syslog\n\n";
	char buf[128];

	memcpy(s.log, text, strlen(text));
	s.log_len = strlen(text);
	is_str(nfstack_last_message(&s, buf, sizeof(buf)), "Couldn't open tun: Permission denied",
	       "stack message: the last line that is not syslog noise");
	s.log_len = 0;
	is_str(nfstack_last_message(&s, buf, sizeof(buf)), "", "stack message: none");
	is_str(nfstack_kind_to_string(NFSTACK_SLIRP4NETNS), "slirp4netns", "stack names");
}

/* pasta's ready signal: its pid, on a line of its own, in its output (which is kept too). */
static void test_stack_ready(void)
{
	struct nfstack s = NFSTACK_INIT;
	static const char *const parts[] = {
		"Failed to send 40 bytes to syslog\n14321\n", "143", "21 ", "\n4321", "", "\n"
	};
	static const int expect[] = { 0, 0, 0, 0, 0, 1 };
	int p[2];

	if (!ok(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "stack ready: a pipe"))
		return;
	s.kind = NFSTACK_PASTA;
	s.pid = 4321;
	s.log_fd = p[0];
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		if (*parts[i])
			(void)!write(p[1], parts[i], strlen(parts[i]));
		is_int(nfstack_read_ready(&s), expect[i], "stack ready: after part %zu, %s", i,
		       expect[i] ? "ready" : "not yet");
	}
	ok(s.log_len > 0 && memmem(s.log, s.log_len, "syslog", 6),
	   "stack ready: the output is kept");
	close(p[1]);
	s.ready = false;
	s.ready_len = 0;
	is_int(nfstack_read_ready(&s), -EPIPE, "stack ready: output closed first");
	close(p[0]);
}

int main(void)
{
	test_batch();
	test_reserved();
	test_batch_invalid();
	test_many_elements();
	test_relay_batch();
	test_relay_reserved();
	test_wire_tls();
	test_wire_http();
	test_acks();
	test_prefix();
	test_nflog();
	test_dns();
	test_files();
	test_stack_argv();
	test_stack_ready();
	test_stack_message();
	return tap_done();
}
