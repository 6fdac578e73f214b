/* SPDX-License-Identifier: MIT */
/*
 * The network layer of a run (run-net.h), on top of netfilter/.
 *
 * Before clone(): every declared hostname is resolved (pinned DNS), the manifest's egress
 * becomes one nftables batch, and /etc/hosts and /etc/resolv.conf are generated for the view
 * (the C library reads /etc/hosts before asking DNS, so declared names need no resolver). In the
 * sandbox's init (child_setup, full capabilities in the new user namespace, before the skill
 * exists): loopback up, the namespaces handed to skillbox, the NFLOG socket opened, the batch
 * loaded, the socket handed to skillbox. In the parent: the user-mode stack (pasta, else
 * slirp4netns) is started as soon as the namespaces are known, init is told to start the skill once
 * both its rules and the stack are ready, and every logged packet becomes a net.connect or
 * dns.query event as it happens.
 *
 * In the parent, once the sandbox exists, the layer's descriptors (the stack's ready pipe and
 * log, its start timeout, the NFLOG socket) are sources of the run's event loop, and all it
 * has to say goes through the run's event sink: the events above, each refused packet for
 * run.summary (event_sink_refusal()), and a stack that cannot start (event_sink_fail()).
 *
 * With no egress declared there is no stack, no route and no ruleset: loopback only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "escape.h"
#include "buf.h"
#include "cli.h"
#include "config.h"
#include "fd-util.h"
#include "net-ask.h"
#include "net-dns.h"
#include "net-relay.h"
#include "nfdns.h"
#include "nflog.h"
#include "nfrelay.h"
#include "nfrules.h"
#include "nfstack.h"
#include "nfwire.h"
#include "parse-util.h"
#include "run-net.h"
#include "strv.h"

/* SB_MSG_FDS indexes from init. */
enum {
	NETFD_NAMESPACES = 1, /* user and network namespace of the sandbox */
	NETFD_NFLOG,	      /* the NFLOG socket bound in it */
	NETFD_RELAY,	      /* the relay's listeners (IPv4, and IPv6 when it has it) */
	NETFD_ASK_DNS,	      /* the --ask resolver's socket */
};

/* The index of a SB_STEP_NETWORK degradation (no egress): what could not be set up. */
enum {
	NETDEG_NFLOG = 1,
	NETDEG_RULES,
	NETDEG_ROUTE4,
	NETDEG_ROUTE6,
};

/* The value of a SB_STEP_NETWORK failure: which part of child_setup() failed. */
enum {
	NETFAIL_NAMESPACES = 1,
	NETFAIL_LOOPBACK,
	NETFAIL_NFLOG,
	NETFAIL_RULES, /* index: the refused message of the batch, or -1 */
	NETFAIL_SEND,
	NETFAIL_ADDRESS, /* the sandbox's own address on lo, and its route (relay only) */
	NETFAIL_LISTEN,	 /* the relay's listener */
	NETFAIL_ASK_DNS, /* the --ask resolver's address and socket */
};

/* A stack that is not ready by then is given up (and the other one tried). */
#define STACK_READY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define NFLOG_RECV_SIZE		 (128 * 1024)
/* Recent flows remembered to report a connection once, not each retransmitted SYN. */
#define RECENT_FLOWS 64
/* The relay: how long a connection to a declared host may take to name it, and how long
   the host-side connect() may take. */
#define NAME_TIMEOUT_USEC    (10 * USEC_PER_SEC)
#define CONNECT_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* --ask: how long an undeclared connection's first data may take, to name it in the question. */
#define ASK_NAME_TIMEOUT_USEC (1 * USEC_PER_SEC)

/* SKILLBOX_NET_STACK: which path carries the traffic. */
enum net_force {
	NET_FORCE_NONE,	       /* auto: the relay for TCP, a stack only for what needs one */
	NET_FORCE_PASTA,       /* a stack carries all but the TCP of declared host names */
	NET_FORCE_SLIRP4NETNS, /* the same, with slirp4netns */
};

enum rule_kind {
	RULE_HOSTNAME,
	RULE_ADDRESS,
	RULE_HOST_LOOPBACK,
	RULE_RESOLVER,
	RULE_LEARN,	   /* skillbox learn: any address, any port of one protocol */
	RULE_ASK_DNS,	   /* --ask: the resolver skillbox answers itself */
	RULE_ASK_LOOPBACK, /* --ask: TCP to the host's loopback goes to the relay, to be asked */
};

/* One rule of the ruleset, in the order of its index in the log prefixes. */
struct net_rule {
	enum rule_kind kind;
	const char *host; /* as written; "resolver" for the resolver rule */
	struct manifest_loc loc;
	uint8_t proto;
	const uint16_t *ports;
	size_t n_ports;
	struct nfrules_addr *addrs;
	size_t n_addrs;
	bool optional;
	bool resolved;	 /* a hostname that resolved */
	const char *why; /* why it did not */
	bool relay;	 /* TCP carried by skillbox's relay */
};

struct run_net {
	struct run_net_opts o;
	struct run_net_attach attach; /* once the sandbox exists */

	bool egress; /* a stack and the ruleset */
	bool host_loopback;
	bool resolver;
	bool udp; /* a rule allows UDP */
	bool learn;
	/* The paths: the relay carries TCP; a user-mode stack runs when something needs it. */
	enum net_force force;
	bool relay;
	bool need_stack;
	char *stack_why; /* why the stack runs: "rule 1 (FILE:LINE) declares udp", ... */
	struct net_relay *relay_engine;

	/* skillbox run --ask. */
	bool ask;
	bool ask_dns; /* skillbox answers DNS itself (dns: pinned) */
	struct net_ask *asker;
	struct net_dns *dns;
	/* Destinations allowed or refused for the run by an answer. */
	struct approval {
		int family;
		uint8_t addr[16];
		uint16_t port;
		bool allow;
		char *name;
	} * approvals;
	size_t n_approvals;
	/* Questions open: connections waiting for one about their destination join it. */
	struct open_question *questions;
	char **ask_names; /* hosts named in verdicts of answered questions (live for the run) */
	struct nfrules_addr gateway[2]; /* learn: the stack's gateway, pinned as host-loopback */

	struct net_rule *rules;
	size_t n_rules;
	struct nfrules_rule *nf_rules;
	struct nfrules_addr *blocked;
	size_t n_blocked;
	struct nfrules_addr *reserved;
	size_t n_reserved;
	struct nfrules_batch batch;
	char digest[AUDIT_HASH_HEX_LEN + 1];

	char *hosts;
	char *resolv;
	struct mount_file files[2];

	/* The user-mode stack. */
	enum nfstack_kind first, kind;
	char *pasta_path, *slirp_path;
	struct nfstack stack;
	int userns_fd, netns_fd;
	bool stack_started;
	uint64_t stack_start_usec;
	char *fallback_reason;
	int timer_fd;
	struct event_source *ready_source, *log_source, *timer_source;
	bool child_ready, start_sent;

	/* The log. */
	int nflog_fd;
	struct event_source *nflog_source;
	struct recent_flow {
		uint8_t verdict, family, proto;
		uint8_t daddr[16];
		uint16_t sport, dport;
	} recent[RECENT_FLOWS];
	size_t n_recent, next_recent;
	bool have_seq; /* next_seq is the number the next logged packet should carry */
	uint32_t next_seq;
	bool overrun_open; /* the buffer overran and no packet since said how many were lost */
	uint64_t overruns;
};

static const uint16_t dns_port = 53;

/* A question about a destination (or a name) that is on the caller's terminal. */
struct open_question {
	struct open_question *next;
	struct run_net *n;
	bool dns;
	bool gateway; /* the host's loopback */
	char *name;   /* dns: the name; connect: the name it goes by, or NULL */
	int family;
	uint8_t addr[16];
	uint16_t port;
	uint64_t *conns; /* connections waiting for the answer */
	size_t n_conns;
};

static const char *rule_kind_to_string(enum rule_kind k)
{
	switch (k) {
	case RULE_HOSTNAME:
		return "hostname";
	case RULE_ADDRESS:
		return "address";
	case RULE_HOST_LOOPBACK:
		return "host-loopback";
	case RULE_LEARN:
		return "learn";
	case RULE_ASK_DNS:
		return "ask-resolver";
	case RULE_ASK_LOOPBACK:
		return "ask-host-loopback";
	default:
		return "resolver";
	}
}

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return NULL;
	}
}

static int parse_addr(const char *text, struct nfrules_addr *ret)
{
	*ret = (struct nfrules_addr){ 0 };
	if (inet_pton(AF_INET, text, ret->addr) == 1) {
		ret->family = AF_INET;
		ret->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ret->addr) == 1) {
		ret->family = AF_INET6;
		ret->prefix = 128;
		return 0;
	}
	return -EINVAL;
}

static const char *format_addr(const struct nfrules_addr *a, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->addr, text, sizeof(text));
	if (a->prefix == (a->family == AF_INET ? 32 : 128))
		snprintf(buf, size, "%s", text);
	else
		snprintf(buf, size, "%s/%u", text, a->prefix);
	return buf;
}

static bool addr_equal(const struct nfrules_addr *a, const struct nfrules_addr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static int addrs_add(struct nfrules_addr **v, size_t *n, const struct nfrules_addr *a)
{
	struct nfrules_addr *t;

	for (size_t i = 0; i < *n; i++)
		if (addr_equal(&(*v)[i], a))
			return 0;
	t = realloc(*v, (*n + 1) * sizeof(**v));
	if (!t)
		return -ENOMEM;
	*v = t;
	(*v)[(*n)++] = *a;
	return 0;
}

static int addrs_add_text(struct nfrules_addr **v, size_t *n, const char *text)
{
	struct nfrules_addr a;

	if (parse_addr(text, &a) < 0)
		return -EINVAL;
	return addrs_add(v, n, &a);
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(*ret_error);
	*ret_error = buf_steal(&b);
	return r;
}

/* --- preparing: rules, pinned names, files --- */

static struct net_rule *rule_append(struct run_net *n)
{
	struct net_rule *t = realloc(n->rules, (n->n_rules + 1) * sizeof(*t));

	if (!t)
		return NULL;
	n->rules = t;
	t = &n->rules[n->n_rules++];
	*t = (struct net_rule){ 0 };
	return t;
}

static int add_manifest_rule(struct run_net *n, const struct manifest_egress *e, char **ret_error)
{
	struct net_rule *nr = rule_append(n);
	struct nfrules_addr a = { 0 };
	int k;

	if (!nr)
		return -ENOMEM;
	nr->host = e->host;
	nr->loc = e->loc;
	nr->proto = e->proto == MANIFEST_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	n->udp = n->udp || nr->proto == IPPROTO_UDP;
	nr->ports = e->ports;
	nr->n_ports = e->n_ports;
	nr->optional = e->optional;

	switch (e->kind) {
	case MANIFEST_DEST_HOSTNAME:
		nr->kind = RULE_HOSTNAME;
		k = nfdns_resolve(e->host, &nr->addrs, &nr->n_addrs, &nr->why);
		if (k == -ENOMEM)
			return k;
		if (k < 0 && !e->optional) {
			char where[MANIFEST_LOC_MAX];

			return set_error(ret_error, k,
					 "%s: host %s does not resolve: %s (declare it "
					 "'optional: true' to run without it)",
					 manifest_loc_format(e->loc, n->o.m->path, true, where,
							     sizeof(where)),
					 e->host, nr->why);
		}
		nr->resolved = k >= 0;
		return 0;
	case MANIFEST_DEST_ADDRESS:
		nr->kind = RULE_ADDRESS;
		a.family = e->cidr.family;
		a.prefix = e->cidr.prefix;
		memcpy(a.addr, e->cidr.addr, sizeof(a.addr));
		return addrs_add(&nr->addrs, &nr->n_addrs, &a);
	case MANIFEST_DEST_HOST_LOOPBACK:
		nr->kind = RULE_HOST_LOOPBACK;
		n->host_loopback = true;
		k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_GW4);
		if (k >= 0)
			k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_GW6);
		return k;
	}
	return -EINVAL;
}

static bool declared_exactly(const struct run_net *n, const struct nfrules_addr *a)
{
	for (size_t i = 0; i < n->n_rules; i++)
		if (n->rules[i].kind == RULE_ADDRESS)
			for (size_t j = 0; j < n->rules[i].n_addrs; j++)
				if (addr_equal(&n->rules[i].addrs[j], a))
					return true;
	return false;
}

/*
 * Through the user-mode stack, the host's own addresses reach the host's services, and the
 * stack's gateway and resolver are the host too. They are refused even when a declared
 * network contains them: a host address opens only when declared exactly, the gateway only
 * with host-loopback, the resolver only with `dns: resolver` (those rules come first).
 */
static int collect_blocked(struct run_net *n)
{
	static const char *const stack[] = { NFSTACK_GW4, NFSTACK_DNS4, NFSTACK_GW6, NFSTACK_DNS6 };
	struct ifaddrs *ifa = NULL;
	int k = 0;

	for (size_t i = 0; i < ELEMENTSOF(stack) && k >= 0; i++)
		k = addrs_add_text(&n->blocked, &n->n_blocked, stack[i]);
	if (k < 0)
		return k;
	if (getifaddrs(&ifa) < 0)
		return 0; /* the stack's own addresses are still blocked */
	for (struct ifaddrs *i = ifa; i && k >= 0; i = i->ifa_next) {
		struct nfrules_addr a = { 0 };

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			a.family = AF_INET;
			a.prefix = 32;
			memcpy(a.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			if (a.addr[0] == 127)
				continue;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a.family = AF_INET6;
			a.prefix = 128;
			memcpy(a.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			if (IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a.addr))
				continue;
		} else {
			continue;
		}
		if (!declared_exactly(n, &a))
			k = addrs_add(&n->blocked, &n->n_blocked, &a);
	}
	freeifaddrs(ifa);
	return k;
}

/*
 * Destinations no wider network reaches: the stack forwards what the sandbox sends to them
 * from the host's own sockets, so a datagram to 224.0.0.1, ff02::1 or a broadcast address
 * reaches the host's services bound to the wildcard address (and answers come back from the
 * host's own addresses), and link-local reaches the cloud's metadata service
 * (169.254.169.254). A rule opens one only by naming an address in it, or a network that
 * lies entirely inside it (nfrules.c orders the rules that way).
 */
static const char *const reserved_networks[] = {
	"224.0.0.0/4",	      /* IPv4 multicast */
	"255.255.255.255/32", /* limited broadcast */
	"169.254.0.0/16",     /* IPv4 link-local */
	"ff00::/8",	      /* IPv6 multicast */
	"fe80::/10",	      /* IPv6 link-local */
};

static int parse_cidr(const char *text, struct nfrules_addr *ret)
{
	_cleanup_free_ char *copy = strdup(text);
	char *slash = copy ? strchr(copy, '/') : NULL;
	int k;

	if (!copy)
		return -ENOMEM;
	if (slash)
		*slash = 0;
	k = parse_addr(copy, ret);
	if (k < 0)
		return k;
	if (slash)
		ret->prefix = (uint8_t)atoi(slash + 1);
	return 0;
}

/* An interface's broadcast address (the stack's subnet's, the host's): one more reserved. */
static int add_broadcast(struct run_net *n, const uint8_t addr[4])
{
	struct nfrules_addr a = { .family = AF_INET, .prefix = 32 };

	memcpy(a.addr, addr, 4);
	return addrs_add(&n->reserved, &n->n_reserved, &a);
}

static int collect_reserved(struct run_net *n)
{
	struct nfrules_addr stack;
	struct ifaddrs *ifa = NULL;
	unsigned prefix = (unsigned)atoi(NFSTACK_PREFIX4);
	int k = 0;

	for (size_t i = 0; i < ELEMENTSOF(reserved_networks) && k >= 0; i++) {
		struct nfrules_addr a;

		k = parse_cidr(reserved_networks[i], &a);
		if (k >= 0)
			k = addrs_add(&n->reserved, &n->n_reserved, &a);
	}
	if (k >= 0)
		k = parse_addr(NFSTACK_ADDR4, &stack);
	if (k < 0)
		return k;
	/* The stack's subnet broadcast, 10.0.2.255. */
	for (unsigned i = prefix; i < 32; i++)
		stack.addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	k = add_broadcast(n, stack.addr);
	if (k < 0 || getifaddrs(&ifa) < 0)
		return k;
	for (struct ifaddrs *i = ifa; i && k >= 0; i = i->ifa_next)
		if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr &&
		    i->ifa_broadaddr->sa_family == AF_INET)
			k = add_broadcast(n,
					  (const uint8_t *)&((struct sockaddr_in *)i->ifa_broadaddr)
						  ->sin_addr);
	freeifaddrs(ifa);
	return k;
}

static int build_ruleset(struct run_net *n)
{
	struct nfrules rs = { .log_group = NFRULES_LOG_GROUP, .loopback_only = !n->egress };
	int k;

	n->nf_rules = calloc(n->n_rules ? n->n_rules : 1, sizeof(*n->nf_rules));
	if (!n->nf_rules)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		n->nf_rules[i] = (struct nfrules_rule){
			.proto = nr->proto,
			.addrs = nr->addrs,
			.n_addrs = nr->n_addrs,
			.ports = nr->ports,
			.n_ports = nr->n_ports,
			.any_port = nr->kind == RULE_LEARN || nr->kind == RULE_ASK_LOOPBACK,
			.before_block = nr->kind == RULE_HOST_LOOPBACK ||
					nr->kind == RULE_RESOLVER || nr->kind == RULE_LEARN ||
					nr->kind == RULE_ASK_DNS || nr->kind == RULE_ASK_LOOPBACK,
			.log_payload = nr->kind == RULE_RESOLVER,
			.relay = nr->relay,
			.quiet = nr->kind == RULE_ASK_DNS,
		};
	}
	rs.relay_port = n->relay ? NFRELAY_PORT : 0;
	rs.relay_any_tcp = n->ask;
	rs.rules = n->nf_rules;
	rs.n_rules = n->n_rules;
	rs.blocked = n->blocked;
	rs.n_blocked = n->n_blocked;
	rs.reserved = n->reserved;
	rs.n_reserved = n->n_reserved;
	k = nfrules_build_batch(&rs, 1, &n->batch);
	if (k < 0)
		return k;
	audit_sha256_hex(n->batch.bytes.data, n->batch.bytes.len, n->digest);
	return 0;
}

static int build_files(struct run_net *n)
{
	_cleanup_free_ struct nfdns_pin *pins = calloc(n->n_rules ? n->n_rules : 1, sizeof(*pins));
	size_t n_pins = 0;

	bool loopback_pinned = false;

	if (!pins)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		/*
		 * A declared host-loopback is also a name inside, so a skill can use
		 * http://host-loopback:PORT/ rather than knowing the stack's gateway address.
		 */
		if (nr->kind == RULE_HOST_LOOPBACK && !loopback_pinned) {
			loopback_pinned = true;
			pins[n_pins++] = (struct nfdns_pin){ .name = "host-loopback",
							     .addrs = nr->addrs,
							     .n_addrs = nr->n_addrs };
		}
		if (nr->kind == RULE_HOSTNAME && nr->resolved)
			pins[n_pins++] = (struct nfdns_pin){ .name = nr->host,
							     .addrs = nr->addrs,
							     .n_addrs = nr->n_addrs };
	}
	/* learn reaches the host's loopback, by the same name a manifest would use. */
	if (n->learn && !loopback_pinned && n_pins < n->n_rules)
		pins[n_pins++] = (struct nfdns_pin){ .name = "host-loopback",
						     .addrs = n->gateway,
						     .n_addrs = ELEMENTSOF(n->gateway) };
	n->hosts = nfdns_hosts_file(SANDBOX_HOSTNAME, pins, n_pins);
	/*
	 * The resolver address is the stack's: with `dns: resolver` it is open; otherwise the
	 * ruleset refuses it at once (and logs the query's name), and with no egress there is
	 * no route to it at all.
	 */
	n->resolv = nfdns_resolv_conf(
		NFSTACK_DNS4,
		n->resolver  ? "the user-mode stack's resolver, each query audited"
		: n->ask_dns ? "skillbox answers; undeclared names are asked about on the "
			       "caller's terminal (skillbox run --ask)"
			     : "no resolver is reachable; names are pinned in /etc/hosts",
		n->ask_dns);
	if (!n->hosts || !n->resolv)
		return -ENOMEM;
	n->files[0] = (struct mount_file){ "/etc/hosts", n->hosts };
	n->files[1] = (struct mount_file){ "/etc/resolv.conf", n->resolv };
	return 0;
}

static int choose_stack(struct run_net *n, char **ret_error)
{
	const char *p = getenv("SKILLBOX_PASTA"), *s = getenv("SKILLBOX_SLIRP4NETNS");

	/* Overrides for tests and unusual installs; the caller's own environment, no privilege
	   is involved (skillbox is never setuid). */
	n->pasta_path = strdup(!isempty(p) ? p : PASTA_PATH);
	n->slirp_path = strdup(!isempty(s) ? s : SLIRP4NETNS_PATH);
	if (!n->pasta_path || !n->slirp_path)
		return -ENOMEM;
	if (n->force != NET_FORCE_SLIRP4NETNS && access(n->pasta_path, X_OK) == 0)
		n->first = NFSTACK_PASTA;
	else if (access(n->slirp_path, X_OK) == 0)
		n->first = NFSTACK_SLIRP4NETNS;
	else if (n->force == NET_FORCE_SLIRP4NETNS)
		return set_error(ret_error, -ENOENT,
				 "SKILLBOX_NET_STACK=slirp4netns, and slirp4netns (%s) is not "
				 "installed",
				 n->slirp_path);
	else
		return set_error(ret_error, -ENOENT,
				 "%s needs a user-mode network stack, and neither pasta (%s) nor "
				 "slirp4netns (%s) is installed",
				 n->stack_why, n->pasta_path, n->slirp_path);
	n->kind = n->first;
	return 0;
}

/*
 * Which path carries what. skillbox relays TCP itself (net-relay.c) for the TCP rules of the
 * manifest: hostnames, addresses and networks, host-loopback. A user-mode stack is started
 * only for what the relay does not carry: a UDP rule, `dns: resolver`, skillbox learn (which
 * observes every protocol), or when SKILLBOX_NET_STACK asks for one. Declared host names over
 * TCP always go through the relay, because only it checks the name a connection asks for.
 */
static int choose_paths(struct run_net *n, char **ret_error)
{
	const char *force = getenv("SKILLBOX_NET_STACK");
	struct buf why = BUF_INIT;

	if (isempty(force) || streq(force, "auto"))
		n->force = NET_FORCE_NONE;
	else if (streq(force, "pasta"))
		n->force = NET_FORCE_PASTA;
	else if (streq(force, "slirp4netns"))
		n->force = NET_FORCE_SLIRP4NETNS;
	else
		return set_error(ret_error, -EINVAL,
				 "SKILLBOX_NET_STACK=%s: expected auto, pasta or slirp4netns",
				 force);

	for (size_t i = 0; i < n->n_rules; i++) {
		struct net_rule *nr = &n->rules[i];
		bool relayable = nr->proto == IPPROTO_TCP &&
				 (nr->kind == RULE_HOSTNAME || nr->kind == RULE_ADDRESS ||
				  nr->kind == RULE_HOST_LOOPBACK);

		nr->relay = (!n->learn && relayable &&
			     (n->force == NET_FORCE_NONE || nr->kind == RULE_HOSTNAME)) ||
			    nr->kind == RULE_ASK_LOOPBACK;
		n->relay = n->relay || nr->relay;
		if (nr->relay || n->need_stack || nr->kind == RULE_ASK_DNS ||
		    nr->kind == RULE_ASK_LOOPBACK)
			continue;
		n->need_stack = true;
		if (n->learn)
			buf_puts(&why, "skillbox learn");
		else if (n->force != NET_FORCE_NONE)
			buf_printf(&why, "SKILLBOX_NET_STACK=%s", force);
		else if (nr->kind == RULE_RESOLVER)
			buf_printf(&why, "dns: resolver (%s:%u)", n->o.m->path, nr->loc.line);
		else
			buf_printf(&why, "rule %zu (%s:%u) declares %s", i, n->o.m->path,
				   nr->loc.line, proto_name(nr->proto));
	}
	/* --ask: undeclared TCP is held by the relay while the caller is asked. */
	n->relay = n->relay || n->ask;
	if (!n->need_stack && n->force != NET_FORCE_NONE) {
		n->need_stack = true;
		buf_printf(&why, "SKILLBOX_NET_STACK=%s", force);
	}
	if (!buf_ok(&why))
		return -ENOMEM;
	n->stack_why = buf_steal(&why);
	if (n->need_stack && !n->stack_why)
		return -ENOMEM;
	return n->need_stack ? choose_stack(n, ret_error) : 0;
}

/*
 * skillbox learn observes rather than enforces: every TCP and UDP destination is accepted and
 * logged, the host's loopback (the stack's gateway) and the host's own addresses included,
 * so each connection the command makes becomes a net.connect event to learn from. These
 * rules follow the resolver's (DNS queries stay attributed to it, with their names logged)
 * and come before the blocked addresses. Other protocols (ICMP) are still refused: a
 * manifest could not declare them.
 */
static int add_learn_rules(struct run_net *n)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	static const struct nfrules_addr any[] = { { .family = AF_INET }, { .family = AF_INET6 } };
	int k;

	n->learn = true;
	n->host_loopback = true;
	n->udp = true;
	k = parse_addr(NFSTACK_GW4, &n->gateway[0]);
	if (k >= 0)
		k = parse_addr(NFSTACK_GW6, &n->gateway[1]);
	if (k < 0)
		return k;
	for (size_t i = 0; i < ELEMENTSOF(protos); i++) {
		struct net_rule *nr = rule_append(n);

		if (!nr)
			return -ENOMEM;
		*nr = (struct net_rule){ .kind = RULE_LEARN, .host = "*", .proto = protos[i] };
		for (size_t j = 0; j < ELEMENTSOF(any) && k >= 0; j++)
			k = addrs_add(&nr->addrs, &nr->n_addrs, &any[j]);
		if (k < 0)
			return k;
	}
	return 0;
}

/*
 * slirp4netns carries no IPv6. A rule needs it when it declares an IPv6 address or network,
 * or names a host that resolved to IPv6 addresses only (a name with IPv4 addresses too is
 * still reached over IPv4). host-loopback, the resolver and learn have IPv4 as well.
 */
static bool rule_needs_ipv6(const struct net_rule *nr)
{
	bool v4 = false, v6 = false;

	/* What the relay carries reaches IPv6 from the host, whichever stack runs. */
	if ((nr->kind != RULE_ADDRESS && nr->kind != RULE_HOSTNAME) || nr->relay)
		return false;
	for (size_t j = 0; j < nr->n_addrs; j++) {
		v4 = v4 || nr->addrs[j].family == AF_INET;
		v6 = v6 || nr->addrs[j].family == AF_INET6;
	}
	return nr->kind == RULE_ADDRESS ? v6 : v6 && !v4;
}

/* "FILE:LINE (host), ..." of the rules that need IPv6; false when there is none. */
static bool describe_ipv6_rules(const struct run_net *n, struct buf *b)
{
	bool any = false;

	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		if (!rule_needs_ipv6(nr))
			continue;
		buf_printf(b, "%s%s:%u (%s)", any ? ", " : "", n->o.m->path, nr->loc.line,
			   nr->host);
		any = true;
	}
	return any;
}

static void audit_ipv6_rules(struct audit *a, const struct run_net *n)
{
	audit_array_begin(a, "ipv6_unreachable");
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		if (!rule_needs_ipv6(nr))
			continue;
		audit_object_begin(a, NULL);
		audit_uint(a, "rule", i);
		audit_str(a, "host", nr->host);
		audit_uint(a, "line", nr->loc.line);
		audit_object_end(a);
	}
	audit_array_end(a);
}

/* --- inside the sandbox's init --- */

static int send_fds(int sock, int32_t index, const int *fds, size_t n_fds)
{
	struct sandbox_msg m = { .type = SB_MSG_FDS, .index = index };

	return send_with_fds(sock, &m, sizeof(m), fds, n_fds);
}

/*
 * Runs in init right after the id maps, before the view is built: the namespaces go to
 * skillbox first, so the user-mode stack starts while init mounts and loads the rules.
 * (An unprivileged caller cannot open /proc/<init>/ns itself: init is not dumpable.)
 */
static int child_early(void *userdata, int sock, int32_t *index, int64_t *value)
{
	struct run_net *n = userdata;
	_cleanup_close_ int userns = -1, netns = -1;

	if (!n->need_stack)
		return 0;
	*value = NETFAIL_NAMESPACES;
	userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return negative_errno();
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return negative_errno();
	return send_fds(sock, NETFD_NAMESPACES, (int[]){ userns, netns }, 2);
}

/*
 * No egress declared: loopback only, and every attempt to leave refused at once and logged.
 * The catch-all routes come last, once the ruleset that refuses what they bring is in. A host
 * that cannot do this (no nf_tables or nfnetlink_log) still keeps the sandbox without a
 * route: the run goes on, and the parent records that refused attempts go unrecorded
 * (policy.degraded). Isolation does not depend on it; only the record of attempts does.
 */
static int child_setup_refusals(struct run_net *n, int sock)
{
	_cleanup_close_ int log_fd = -1;
	struct sandbox_msg m = { .type = SB_MSG_DEGRADED, .step = SB_STEP_NETWORK };
	size_t failed;
	int k, what;

	what = NETDEG_NFLOG;
	k = nflog_open(NFRULES_LOG_GROUP, NFRULES_SNAPLEN_DNS, &log_fd);
	if (k >= 0) {
		what = NETDEG_RULES;
		k = nfrules_apply(&n->batch, &failed);
	}
	if (k >= 0) {
		what = NETDEG_ROUTE4;
		k = nflink_catch_route(AF_INET, true);
	}
	if (k >= 0) {
		what = NETDEG_ROUTE6;
		k = nflink_catch_route(AF_INET6, false);
	}
	if (k < 0) {
		m.error = -k;
		m.index = what;
		k = send_with_fds(sock, &m, sizeof(m), NULL, 0);
		if (k < 0)
			return k;
		/* Without the IPv4 route nothing reaches the log. */
		if (what != NETDEG_ROUTE6)
			return 0;
	}
	return send_fds(sock, NETFD_NFLOG, &log_fd, 1);
}

/*
 * The relay's listeners, on the sandbox's loopback. IPv4 must work; IPv6 may be missing from
 * the namespace (a kernel without it), and then IPv6 destinations are refused as unroutable.
 */
static int open_listeners(int fds[2], size_t *ret_n)
{
	int k;

	*ret_n = 0;
	k = nfrelay_listen(AF_INET, NFRELAY_PORT, &fds[0]);
	if (k < 0)
		return k;
	*ret_n = 1;
	k = nfrelay_listen(AF_INET6, NFRELAY_PORT, &fds[1]);
	if (k >= 0)
		*ret_n = 2;
	return 0;
}

/* Runs in init with every capability of the new user namespace, before the skill exists. */
static int child_setup(void *userdata, int sock, int32_t *index, int64_t *value)
{
	struct run_net *n = userdata;
	_cleanup_close_ int log_fd = -1;
	int listen_fds[2] = { -1, -1 };
	size_t failed, n_listen = 0;
	int k;

	*value = NETFAIL_LOOPBACK;
	k = nflink_loopback_up();
	if (k < 0)
		return k;
	if (!n->egress) {
		*value = NETFAIL_SEND;
		return child_setup_refusals(n, sock);
	}
	/* IPv4 is always given by the stack; IPv6 only when the host has it. */
	k = nflink_catch_route(AF_INET6, false);
	if (k < 0)
		return k;
	if (!n->need_stack) {
		/* No stack configures an interface: the sandbox's addresses go on lo. */
		*value = NETFAIL_ADDRESS;
		k = nflink_relay_setup(AF_INET, NULL, 0);
		if (k < 0)
			return k;
		(void)nflink_relay_setup(AF_INET6, NULL, 0);
	}

	*value = NETFAIL_NFLOG;
	k = nflog_open(NFRULES_LOG_GROUP, NFRULES_SNAPLEN_DNS, &log_fd);
	if (k < 0)
		return k;

	*value = NETFAIL_RULES;
	k = nfrules_apply(&n->batch, &failed);
	if (k < 0) {
		*index = failed == SIZE_MAX ? -1 : (int32_t)failed;
		return k;
	}

	if (n->ask_dns) {
		_cleanup_close_ int dns_fd = -1;

		*value = NETFAIL_ASK_DNS;
		k = nflink_loopback_address(AF_INET, NFSTACK_DNS4);
		if (k >= 0)
			k = nfrelay_udp_socket(AF_INET, NFSTACK_DNS4, 53, &dns_fd);
		if (k >= 0)
			k = send_fds(sock, NETFD_ASK_DNS, &dns_fd, 1);
		if (k < 0)
			return k;
	}

	if (n->relay) {
		*value = NETFAIL_LISTEN;
		k = open_listeners(listen_fds, &n_listen);
		if (k < 0)
			return k;
		*value = NETFAIL_SEND;
		k = send_fds(sock, NETFD_RELAY, listen_fds, n_listen);
		for (size_t i = 0; i < n_listen; i++)
			safe_close(listen_fds[i]);
		if (k < 0)
			return k;
	}

	*value = NETFAIL_SEND;
	return send_fds(sock, NETFD_NFLOG, &log_fd, 1);
}

/* --- run-net.h --- */

int run_net_new(const struct run_net_opts *o, struct run_net **ret)
{
	struct run_net *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->o = *o;
	n->stack = (struct nfstack)NFSTACK_INIT;
	n->userns_fd = n->netns_fd = n->timer_fd = n->nflog_fd = -1;
	n->ask = o->ask_fd >= 0 && !o->learn && !o->no_network;
	*ret = n;
	return 0;
}

void run_net_set_host_ids(struct run_net *n, uid_t uid, gid_t gid)
{
	n->o.host_uid = uid;
	n->o.host_gid = gid;
}

int run_net_prepare(struct run_net *n, struct sandbox_net_hook *ret_hook,
		    struct mount_file **ret_files, size_t *ret_n_files, char **ret_error)
{
	const struct manifest *m = n->o.m;
	bool learn = n->o.learn && !n->o.no_network;
	struct mount_file *files;
	int k;

	*ret_files = NULL;
	*ret_n_files = 0;
	/* learn always has the resolver, so that each name the command looks up is logged. */
	n->resolver = m->net.dns == MANIFEST_DNS_RESOLVER || learn;
	/* --ask: even with nothing declared, so that there is something to ask about. */
	n->egress = m->net.n_egress > 0 || n->resolver || n->ask;
	n->ask_dns = n->ask && !n->resolver;

	for (size_t i = 0; i < m->net.n_egress; i++) {
		k = add_manifest_rule(n, &m->net.egress[i], ret_error);
		if (k < 0)
			return k;
	}
	if (n->resolver) {
		struct net_rule *nr = rule_append(n);

		if (!nr)
			return -ENOMEM;
		*nr = (struct net_rule){
			.kind = RULE_RESOLVER,
			.host = "resolver",
			.loc = m->net.dns_loc,
			.proto = IPPROTO_UDP,
			.ports = &dns_port,
			.n_ports = 1,
		};
		k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_DNS4);
		if (k < 0)
			return k;
	}
	if (learn) {
		k = add_learn_rules(n);
		if (k < 0)
			return k;
	}
	if (n->ask) {
		struct net_rule *nr = rule_append(n);

		if (!nr)
			return -ENOMEM;
		*nr = (struct net_rule){ .kind = RULE_ASK_LOOPBACK,
					 .host = "host-loopback",
					 .proto = IPPROTO_TCP };
		k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_GW4);
		if (k >= 0)
			k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_GW6);
		if (k < 0)
			return k;
	}
	if (n->ask_dns) {
		struct net_rule *nr = rule_append(n);

		if (!nr)
			return -ENOMEM;
		*nr = (struct net_rule){
			.kind = RULE_ASK_DNS,
			.host = "ask-resolver",
			.proto = IPPROTO_UDP,
			.ports = &dns_port,
			.n_ports = 1,
		};
		k = addrs_add_text(&nr->addrs, &nr->n_addrs, NFSTACK_DNS4);
		if (k < 0)
			return k;
	}

	if (n->egress) {
		k = choose_paths(n, ret_error);
		if (k >= 0)
			k = collect_blocked(n);
		if (k >= 0)
			k = collect_reserved(n);
		if (k >= 0)
			k = build_ruleset(n);
	} else {
		/* Loopback only: the refusals of everything else are logged all the same. */
		k = build_ruleset(n);
	}
	if (k < 0)
		return k;
	k = build_files(n);
	if (k < 0)
		return k;

	files = malloc(sizeof(n->files));
	if (!files)
		return -ENOMEM;
	memcpy(files, n->files, sizeof(n->files));
	*ret_files = files;
	*ret_n_files = ELEMENTSOF(n->files);

	*ret_hook = (struct sandbox_net_hook){
		.early = child_early,
		.setup = child_setup,
		.userdata = n,
		.wait_start = n->need_stack,
	};
	return 0;
}

static void audit_rule(struct audit *a, const struct run_net *n, size_t i)
{
	const struct net_rule *nr = &n->rules[i];
	char text[INET6_ADDRSTRLEN + 8];

	audit_object_begin(a, NULL);
	audit_uint(a, "rule", i);
	audit_str(a, "kind", rule_kind_to_string(nr->kind));
	audit_str(a, "host", nr->host);
	if (nr->loc.line)
		audit_uint(a, "line", nr->loc.line);
	else
		audit_null(a, "line");
	/* The file that declared it (a profile, the manifest), or the command line (--allow). */
	if (nr->loc.file) {
		char where[MANIFEST_LOC_MAX];

		audit_str(a, "origin",
			  manifest_loc_format(nr->loc, NULL, false, where, sizeof(where)));
	}
	audit_str(a, "proto", proto_name(nr->proto));
	audit_array_begin(a, "ports");
	for (size_t j = 0; j < nr->n_ports; j++)
		audit_uint(a, NULL, nr->ports[j]);
	audit_array_end(a);
	audit_array_begin(a, "addresses");
	for (size_t j = 0; j < nr->n_addrs; j++)
		audit_str(a, NULL, format_addr(&nr->addrs[j], text, sizeof(text)));
	audit_array_end(a);
	if (nr->kind == RULE_HOSTNAME) {
		audit_bool(a, "resolved", nr->resolved);
		audit_bool(a, "optional", nr->optional);
		if (!nr->resolved)
			audit_str(a, "error", nr->why);
	}
	audit_str(a, "via", nr->relay ? "relay" : nfstack_kind_to_string(n->first));
	audit_bool(a, "name_checked", nr->relay && nr->kind == RULE_HOSTNAME);
	audit_object_end(a);
}

void run_net_warn_unresolved(const struct run_net *n)
{
	for (size_t i = 0; n && i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];
		char where[MANIFEST_LOC_MAX];

		if (nr->kind != RULE_HOSTNAME || nr->resolved)
			continue;
		fprintf(stderr,
			"skillbox: warning: %s: optional host %s does not resolve (%s): no egress "
			"rule for it; connections to it are refused\n",
			manifest_loc_format(nr->loc, n->o.m->path, true, where, sizeof(where)),
			nr->host, nr->why ? nr->why : "no address");
	}
}

void run_net_audit(const struct run_net *n, struct audit *a)
{
	char text[INET6_ADDRSTRLEN + 8];

	if (!a || !n)
		return;
	audit_begin(a, "policy.net");
	audit_bool(a, "egress", n->egress);
	/* Requested: which stack carried the traffic is net.stack's to say (design notes). A
	   manifest the relay carries entirely requests no stack: "relay". */
	audit_str(a, "stack_requested", run_net_stack_requested(n));
	if (n->egress && n->need_stack && n->first == NFSTACK_PASTA)
		audit_str(a, "stack_fallback", nfstack_kind_to_string(NFSTACK_SLIRP4NETNS));
	else
		audit_null(a, "stack_fallback");
	audit_bool(a, "relay", n->relay);
	/* Whose the relay's host-side sockets are (the uid the sandbox maps to). */
	if (n->relay)
		audit_uint(a, "relay_uid", geteuid() == 0 ? n->o.host_uid : getuid());
	else
		audit_null(a, "relay_uid");
	audit_bool(a, "ask", n->ask);
	if (n->need_stack)
		audit_str(a, "stack_for", n->stack_why);
	else
		audit_null(a, "stack_for");
	audit_str(a, "dns", manifest_dns_to_string(n->o.m->net.dns));
	if (n->resolver)
		audit_str(a, "resolver", NFSTACK_DNS4);
	else
		audit_null(a, "resolver");
	audit_array_begin(a, "pinned");
	for (size_t i = 0; i < n->n_rules; i++)
		if (n->rules[i].kind == RULE_HOSTNAME && n->rules[i].resolved)
			audit_str(a, NULL, n->rules[i].host);
	audit_array_end(a);
	/* Optional hosts that did not resolve: declared, but no rule lets anything reach them. */
	for (size_t i = 0; i < n->n_rules; i++)
		if (n->rules[i].kind == RULE_HOSTNAME && !n->rules[i].resolved) {
			audit_array_begin(a, "unresolved");
			for (size_t j = i; j < n->n_rules; j++)
				if (n->rules[j].kind == RULE_HOSTNAME && !n->rules[j].resolved)
					audit_str(a, NULL, n->rules[j].host);
			audit_array_end(a);
			break;
		}
	audit_array_begin(a, "rules");
	for (size_t i = 0; i < n->n_rules; i++)
		audit_rule(a, n, i);
	audit_array_end(a);
	if (n->egress) {
		audit_array_begin(a, "blocked");
		for (size_t i = 0; i < n->n_blocked; i++)
			audit_str(a, NULL, format_addr(&n->blocked[i], text, sizeof(text)));
		audit_array_end(a);
		audit_array_begin(a, "reserved");
		for (size_t i = 0; i < n->n_reserved; i++)
			audit_str(a, NULL, format_addr(&n->reserved[i], text, sizeof(text)));
		audit_array_end(a);
		audit_str(a, "otherwise", "refused: tcp reset, icmp admin-prohibited; logged");
		audit_uint(a, "log_group", NFRULES_LOG_GROUP);
		audit_uint(a, "ruleset_messages", n->batch.n_msgs);
		audit_str(a, "ruleset_sha256", n->digest);
	} else {
		audit_str(a, "otherwise",
			  "loopback only: every other destination refused (tcp reset, icmp "
			  "admin-prohibited) and logged");
		audit_uint(a, "log_group", NFRULES_LOG_GROUP);
		audit_uint(a, "ruleset_messages", n->batch.n_msgs);
		audit_str(a, "ruleset_sha256", n->digest);
	}
	if (audit_end(a) < 0)
		log_error("audit: writing the audit trail failed");
}

void run_net_explain(const struct run_net *n, FILE *f)
{
	char text[INET6_ADDRSTRLEN + 8];

	fprintf(f, "network:\n");
	if (!n) {
		fprintf(f, "  (not prepared)\n");
		return;
	}
	if (!n->egress) {
		fprintf(f,
			"  egress: none: loopback only; any other destination is refused at once "
			"(TCP reset, ICMP administratively prohibited) and audited\n");
		fprintf(f, "  ruleset: %zu netlink messages, sha256 %s\n", n->batch.n_msgs,
			n->digest);
		fprintf(f, "  names: localhost and %s, from /etc/hosts\n", SANDBOX_HOSTNAME);
		return;
	}
	if (n->need_stack)
		fprintf(f, "  the sandbox is %s/%s and %s/64 on %s\n", NFSTACK_ADDR4,
			NFSTACK_PREFIX4, NFSTACK_ADDR6, NFSTACK_IFNAME);
	else
		fprintf(f, "  the sandbox is %s and %s on lo\n", NFSTACK_ADDR4, NFSTACK_ADDR6);
	if (n->relay)
		fprintf(f, "  tcp: relayed by skillbox itself (no second process)%s\n",
			n->force != NET_FORCE_NONE ? ", for declared host names only" : "");
	for (size_t i = 0; n->relay && i < n->n_rules; i++)
		if (n->rules[i].relay && n->rules[i].kind == RULE_HOSTNAME) {
			fprintf(f,
				"  names: a connection to a declared host name must name it in its "
				"first data (TLS server_name, HTTP Host), or it is reset\n");
			break;
		}
	if (n->need_stack) {
		struct buf b = BUF_INIT;

		if (n->first == NFSTACK_PASTA)
			fprintf(f,
				"  stack: pasta (slirp4netns if pasta cannot start, which a warning "
				"and the audit trail say), for %s\n",
				n->stack_why);
		else
			fprintf(f,
				"  stack: slirp4netns (pasta is not installed; no IPv6), for %s\n",
				n->stack_why);
		if (describe_ipv6_rules(n, &b))
			fprintf(f,
				"  warning: slirp4netns carries no IPv6, so these rules %s unreachable "
				"through it: %s\n",
				n->first == NFSTACK_PASTA ? "would be" : "are", b.data);
		buf_done(&b);
	} else {
		fprintf(f, "  stack: none (nothing declared needs one: no UDP, no resolver)\n");
	}
	if (n->resolver)
		fprintf(f,
			"  dns: resolver: %s reaches the host's resolver; every query is "
			"audited\n",
			NFSTACK_DNS4);
	else
		fprintf(f, "  dns: pinned: declared names are in /etc/hosts; no resolver is "
			   "reachable\n");
	fprintf(f, "  allowed (new connections, each one audited):\n");
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		char where[MANIFEST_LOC_MAX];

		fprintf(f, "    [%zu] %s  %s ", i,
			escaped(manifest_loc_format(nr->loc, n->o.m->path, false, where,
						    sizeof(where))),
			proto_name(nr->proto));
		for (size_t j = 0; j < nr->n_ports; j++)
			fprintf(f, "%s%u", j ? "," : "", nr->ports[j]);
		fprintf(f, "  %s", escaped(nr->host));
		if (nr->kind == RULE_HOSTNAME && !nr->resolved)
			fprintf(f, ": does not resolve (%s), skipped", escaped(nr->why));
		else
			fprintf(f, " ->");
		for (size_t j = 0; j < nr->n_addrs; j++)
			fprintf(f, "%s %s", j ? "," : "",
				format_addr(&nr->addrs[j], text, sizeof(text)));
		if (nr->kind == RULE_HOST_LOOPBACK)
			fprintf(f, " (the host's 127.0.0.1 and ::1)");
		if (nr->kind != RULE_RESOLVER)
			fprintf(f, "  [%s%s]",
				nr->relay ? "relay" : nfstack_kind_to_string(n->first),
				nr->relay && nr->kind == RULE_HOSTNAME ? ", name checked" : "");
		fprintf(f, "\n");
	}
	fprintf(f, "  refused, except on the ports declared for them above, even inside a declared "
		   "network (the host's own addresses and the stack's):");
	for (size_t i = 0; i < n->n_blocked; i++)
		fprintf(f, "%s %s", i ? "," : "", format_addr(&n->blocked[i], text, sizeof(text)));
	fprintf(f, "\n  refused unless a rule names an address in them or a network inside them "
		   "(a wider network never covers them: multicast, broadcast, link-local):");
	for (size_t i = 0; i < n->n_reserved; i++)
		fprintf(f, "%s %s", i ? "," : "", format_addr(&n->reserved[i], text, sizeof(text)));
	fprintf(f, "\n  everything else: refused at once (TCP reset, ICMP administratively "
		   "prohibited) and audited\n");
	fprintf(f, "  ruleset: %zu netlink messages, sha256 %s\n", n->batch.n_msgs, n->digest);
}

const char *run_net_stack_requested(const struct run_net *n)
{
	if (!n || !n->egress)
		return "none";
	if (!n->need_stack)
		return "relay";
	return nfstack_kind_to_string(n->first);
}

/* --- the relay's decisions: the one place policy is applied to relayed TCP --- */

static bool addr_in(const struct nfrules_addr *a, int family, const uint8_t *addr)
{
	if (a->family != family)
		return false;
	for (unsigned i = 0; i < a->prefix; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if ((a->addr[i / 8] & bit) != (addr[i / 8] & bit))
			return false;
	}
	return true;
}

static bool within_reserved(const struct run_net *n, const struct nfrules_addr *a)
{
	for (size_t i = 0; i < n->n_reserved; i++)
		if (nfrules_addr_within(a, &n->reserved[i]))
			return true;
	return false;
}

/*
 * Whether a relayed rule covers d. For a reserved destination (multicast, broadcast,
 * link-local) only an address the rule names, or a network of it inside a reserved range,
 * counts: a wider network never covers one (nfrules.c orders the relay chain that way).
 */
static bool rule_matches(const struct run_net *n, const struct net_rule *nr,
			 const struct net_relay_dest *d, bool reserved)
{
	bool port = false;

	if (!nr->relay || nr->proto != IPPROTO_TCP)
		return false;
	for (size_t j = 0; j < nr->n_ports && !port; j++)
		port = nr->ports[j] == d->port;
	if (!port)
		return false;
	for (size_t j = 0; j < nr->n_addrs; j++) {
		const struct nfrules_addr *a = &nr->addrs[j];

		if (!addr_in(a, d->family, d->addr))
			continue;
		if (!reserved || a->prefix == (a->family == AF_INET ? 32 : 128) ||
		    within_reserved(n, a))
			return true;
	}
	return false;
}

static bool dest_blocked(const struct run_net *n, const struct net_relay_dest *d)
{
	for (size_t i = 0; i < n->n_blocked; i++)
		if (addr_in(&n->blocked[i], d->family, d->addr))
			return true;
	return false;
}

static bool dest_reserved(const struct run_net *n, const struct net_relay_dest *d)
{
	for (size_t i = 0; i < n->n_reserved; i++)
		if (addr_in(&n->reserved[i], d->family, d->addr))
			return true;
	return false;
}

/* The sandbox's own loopback and address: never relayed (the relay chain leaves them). */
static bool dest_own(const struct net_relay_dest *d)
{
	struct nfrules_addr own[4];

	if (parse_addr("127.0.0.0", &own[0]) < 0 || parse_addr(NFSTACK_ADDR4, &own[1]) < 0 ||
	    parse_addr("::1", &own[2]) < 0 || parse_addr(NFSTACK_ADDR6, &own[3]) < 0)
		return true;
	own[0].prefix = 8;
	for (size_t i = 0; i < ELEMENTSOF(own); i++)
		if (addr_in(&own[i], d->family, d->addr))
			return true;
	return false;
}

/* The stack's gateway, which stands for the host's loopback (host-loopback). */
static bool dest_gateway(const struct net_relay_dest *d)
{
	struct nfrules_addr gw;

	return parse_addr(d->family == AF_INET ? NFSTACK_GW4 : NFSTACK_GW6, &gw) >= 0 &&
	       addr_in(&gw, d->family, d->addr);
}

/* Where the relay connects for a connection to the gateway: the host's own loopback. */
static void connect_to_loopback(const struct net_relay_dest *d, struct net_relay_verdict *v)
{
	v->connect_family = d->family;
	if (d->family == AF_INET)
		inet_pton(AF_INET, "127.0.0.1", v->connect_addr);
	else
		inet_pton(AF_INET6, "::1", v->connect_addr);
}

static void verdict_allow(const struct run_net *n, long k, const struct net_relay_dest *d,
			  struct net_relay_verdict *v)
{
	const struct net_rule *nr = &n->rules[k];

	*v = (struct net_relay_verdict){
		.action = NET_RELAY_ALLOW,
		.rule = k,
		.host = nr->host,
		.line = nr->loc.line,
	};
	/* host-loopback: the gateway's address stands for the host's own loopback. */
	if (nr->kind == RULE_HOST_LOOPBACK)
		connect_to_loopback(d, v);
}

static void verdict_deny(struct net_relay_verdict *v, const char *reason, const char *detail)
{
	*v = (struct net_relay_verdict){
		.action = NET_RELAY_DENY,
		.rule = -1,
		.reason = reason,
		.detail = detail,
	};
}

/* Why the first data named no host: for net.connect's detail. */
static const char *no_name_detail(const struct net_relay_query *q)
{
	const struct nfwire_result *w = q->wire;

	if (w && w->status == NFWIRE_BAD)
		return w->why;
	if (w && w->status == NFWIRE_DONE)
		return w->proto == NFWIRE_PROTO_TLS ? "the ClientHello names no server"
						    : "the request has no Host header";
	if (q->name_end == NET_RELAY_NAME_TIMEOUT)
		return w ? "the first data was incomplete after 10s"
			 : "the skill sent nothing within 10s";
	return "the skill closed the connection before naming a host";
}

/*
 * Decides a relayed connection, in the order the ruleset matches: host-loopback first, then the
 * host's own addresses and the stack's (refused), then the declared destinations; a reserved
 * destination only by an address or a network inside its range, or it is refused (reason
 * reserved, as the filter says). A destination declared by address or network is allowed as
 * it is. One declared only by host name must name
 * that host in its first data: the connection waits for it (NET_RELAY_NEED_NAME) and is allowed
 * when the name is the one of a hostname rule matching its address and port.
 */
static void decide_declared(struct run_net *n, const struct net_relay_query *q,
			    struct net_relay_verdict *v)
{
	const struct net_relay_dest *d = q->dest;
	const struct nfwire_result *w = q->wire;
	bool reserved = dest_reserved(n, d), named = false;

	if (dest_own(d)) {
		verdict_deny(v, "undeclared", NULL);
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n->n_rules; i++) {
			const struct net_rule *nr = &n->rules[i];

			if ((nr->kind == RULE_HOST_LOOPBACK) != (pass == 0) ||
			    nr->kind == RULE_ASK_LOOPBACK || !rule_matches(n, nr, d, reserved))
				continue;
			if (nr->kind != RULE_HOSTNAME) {
				verdict_allow(n, (long)i, d, v);
				return;
			}
			named = true;
		}
		if (pass == 0 && dest_blocked(n, d)) {
			/* With --ask, the host's loopback may be asked about; its other
			   addresses and the resolver's never. */
			verdict_deny(v, n->ask && dest_gateway(d) ? "undeclared" : "host", NULL);
			return;
		}
	}
	if (!named) {
		verdict_deny(v, reserved ? "reserved" : "undeclared", NULL);
		return;
	}
	if (!w && q->name_end == NET_RELAY_NAME_READ) {
		*v = (struct net_relay_verdict){ .action = NET_RELAY_NEED_NAME,
						 .rule = -1,
						 .name_timeout_usec = NAME_TIMEOUT_USEC };
		return;
	}
	if (!w || w->status != NFWIRE_DONE) {
		verdict_deny(v, "no-name", no_name_detail(q));
		return;
	}
	if (!w->has_name) {
		verdict_deny(v, "name-mismatch", no_name_detail(q));
		return;
	}
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		if (nr->kind != RULE_HOSTNAME || !rule_matches(n, nr, d, reserved) ||
		    !nfwire_same_name(nr->host, w->name))
			continue;
		/* A request target naming a host must name the same one. */
		if (*w->target && !nfwire_same_name(w->target, w->name)) {
			verdict_deny(v, "name-mismatch", "the request's target names another host");
			return;
		}
		verdict_allow(n, (long)i, d, v);
		return;
	}
	verdict_deny(v, "name-mismatch",
		     "no host declared for this address and port has the name it asked for");
}

/* --- skillbox run --ask: questions about what is not declared --- */

static struct open_question *find_question(struct run_net *n, bool dns, const char *name,
					   const struct net_relay_dest *d)
{
	for (struct open_question *q = n->questions; q; q = q->next) {
		if (q->dns != dns)
			continue;
		if (dns ? streq(q->name, name)
			: q->family == d->family && q->port == d->port &&
				    memcmp(q->addr, d->addr, 16) == 0)
			return q;
	}
	return NULL;
}

static void unlink_question(struct run_net *n, struct open_question *oq)
{
	struct open_question **pp = &n->questions;

	while (*pp && *pp != oq)
		pp = &(*pp)->next;
	if (*pp)
		*pp = oq->next;
}

static const struct approval *find_approval(const struct run_net *n, const struct net_relay_dest *d)
{
	for (size_t i = 0; i < n->n_approvals; i++) {
		const struct approval *ap = &n->approvals[i];

		if (ap->family == d->family && ap->port == d->port &&
		    memcmp(ap->addr, d->addr, 16) == 0)
			return ap;
	}
	return NULL;
}

static void add_approval(struct run_net *n, const struct open_question *oq, bool allow)
{
	struct approval *t = realloc(n->approvals, (n->n_approvals + 1) * sizeof(*t));

	if (!t)
		return;
	n->approvals = t;
	t = &n->approvals[n->n_approvals++];
	*t = (struct approval){ .family = oq->family, .port = oq->port, .allow = allow };
	memcpy(t->addr, oq->addr, 16);
	t->name = oq->name ? strdup(oq->name) : NULL;
}

/* A name for verdicts that lives as long as the run. */
static const char *run_string(struct run_net *n, const char *s)
{
	STRV_FOREACH (x, n->ask_names)
		if (streq(*x, s))
			return *x;
	if (strv_extend(&n->ask_names, s) < 0)
		return "?";
	return n->ask_names[strv_length(n->ask_names) - 1];
}

static void ask_answered(void *userdata, enum net_ask_answer answer)
{
	struct open_question *oq = userdata;
	struct run_net *n = oq->n;
	char text[INET6_ADDRSTRLEN];
	struct net_relay_verdict v;

	unlink_question(n, oq);
	if (oq->dns) {
		if (answer == NET_ASK_DENY)
			net_dns_deny(n->dns, oq->name, true);
		else
			net_dns_allow(n->dns, oq->name, answer != NET_ASK_ONCE);
	} else {
		if (answer != NET_ASK_ONCE)
			add_approval(n, oq, answer != NET_ASK_DENY);
		if (answer == NET_ASK_DENY) {
			verdict_deny(&v, "ask-denied", "not allowed on the caller's terminal");
		} else {
			inet_ntop(oq->family, oq->addr, text, sizeof(text));
			v = (struct net_relay_verdict){
				.action = NET_RELAY_ALLOW,
				.rule = -1,
				.host = run_string(n, oq->name ? oq->name : text),
				.approval = net_ask_answer_to_string(answer),
			};
			if (oq->gateway) {
				struct net_relay_dest d = { .family = oq->family };

				connect_to_loopback(&d, &v);
			}
		}
		for (size_t i = 0; i < oq->n_conns; i++)
			net_relay_decided(n->relay_engine, oq->conns[i], &v);
	}
	free(oq->name);
	free(oq->conns);
	free(oq);
}

static int join_question(struct open_question *oq, uint64_t id)
{
	uint64_t *t = realloc(oq->conns, (oq->n_conns + 1) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	oq->conns = t;
	oq->conns[oq->n_conns++] = id;
	return 0;
}

/* Asks about an undeclared connection, or joins the question open about its destination. */
static void decide_ask(struct run_net *n, const struct net_relay_query *q,
		       struct net_relay_verdict *v)
{
	const struct net_relay_dest *d = q->dest;
	const struct nfwire_result *w = q->wire;
	const struct approval *ap = find_approval(n, d);
	bool gateway = dest_gateway(d);
	const char *wire_name = w && w->status == NFWIRE_DONE && w->has_name ? w->name : NULL;
	const char *dns_name = net_dns_name_of(n->dns, d->family, d->addr);
	const char *name = gateway ? "host-loopback" : wire_name ? wire_name : dns_name;
	struct open_question *oq;
	struct buf text = BUF_INIT;
	char host_line[NFWIRE_NAME_MAX + 16], ports_line[32];
	const char *entry[2] = { host_line, ports_line };
	int k;

	if (ap && ap->allow) {
		*v = (struct net_relay_verdict){
			.action = NET_RELAY_ALLOW,
			.rule = -1,
			.host = run_string(n, ap->name ? ap->name : d->text),
			.approval = "run",
		};
		if (gateway)
			connect_to_loopback(d, v);
		return;
	}
	if (ap) {
		verdict_deny(v, "ask-denied", "refused for this run on the caller's terminal");
		return;
	}
	if (!w && q->name_end == NET_RELAY_NAME_READ && !gateway) {
		/* Read what it says first, so that the question can name the host. */
		*v = (struct net_relay_verdict){ .action = NET_RELAY_NEED_NAME,
						 .rule = -1,
						 .name_timeout_usec = ASK_NAME_TIMEOUT_USEC };
		return;
	}
	oq = find_question(n, false, NULL, d);
	if (oq) {
		if (join_question(oq, q->id) < 0)
			verdict_deny(v, "ask-denied", "out of memory");
		else
			*v = (struct net_relay_verdict){ .action = NET_RELAY_PENDING, .rule = -1 };
		return;
	}
	oq = calloc(1, sizeof(*oq));
	if (!oq || join_question(oq, q->id) < 0) {
		free(oq);
		verdict_deny(v, "ask-denied", "out of memory");
		return;
	}
	oq->n = n;
	oq->gateway = gateway;
	oq->family = d->family;
	memcpy(oq->addr, d->addr, 16);
	oq->port = d->port;
	oq->name = name ? strdup(name) : NULL;

	if (gateway)
		buf_printf(&text, "connect to the host's own loopback (host-loopback, %s) port %u",
			   d->family == AF_INET ? "127.0.0.1" : "::1", d->port);
	else
		buf_printf(&text, "connect to %s port %u over TCP", d->text, d->port);
	if (wire_name && !gateway)
		buf_printf(&text, ", naming %s (%s)", wire_name, nfwire_proto_to_string(w->proto));
	if (dns_name && !gateway && (!wire_name || !nfwire_same_name(dns_name, wire_name)))
		buf_printf(&text, ", looked up as %s", dns_name);
	buf_printf(&text, "; not declared in %s", n->o.m->path);
	/* The entry add writes: by name when the connection names one (checked on the wire
	   from then on), else by address. */
	snprintf(host_line, sizeof(host_line), "host: %s", name ? name : d->text);
	snprintf(ports_line, sizeof(ports_line), "ports: [%u]", d->port);
	k = buf_ok(&text) ? net_ask_post(n->asker,
					 &(struct net_ask_question){
						 .kind = "connect",
						 .text = text.data,
						 .proto = "tcp",
						 .address = d->text,
						 .port = d->port,
						 .name = name,
						 .entry = entry,
						 .n_entry = 2,
					 },
					 ask_answered, oq)
			  : -ENOMEM;
	buf_done(&text);
	if (k < 0) {
		free(oq->name);
		free(oq->conns);
		free(oq);
		verdict_deny(v, "ask-denied",
			     k == -ENOTTY ? "the terminal is gone"
					  : "the question could not be asked");
		return;
	}
	oq->next = n->questions;
	n->questions = oq;
	*v = (struct net_relay_verdict){ .action = NET_RELAY_PENDING, .rule = -1 };
}

static void relay_decide(void *userdata, const struct net_relay_query *q,
			 struct net_relay_verdict *v)
{
	struct run_net *n = userdata;

	decide_declared(n, q, v);
	/* What the manifest allows goes; what it refuses may be asked about, except the host's
	   and the stack's own addresses, the reserved ranges, and the sandbox's. */
	if (!n->ask || v->action != NET_RELAY_DENY ||
	    (v->reason && (streq(v->reason, "host") || streq(v->reason, "reserved"))) ||
	    dest_own(q->dest))
		return;
	decide_ask(n, q, v);
}

/* The --ask resolver: a name it does not know yet. */
static void dns_decide(void *userdata, const char *name, uint16_t type, struct net_dns_verdict *v)
{
	struct run_net *n = userdata;
	struct open_question *oq;
	char tbuf[16];
	struct buf text = BUF_INIT;
	int k;

	/* Declared names are in /etc/hosts; a client that asks DNS anyway gets the same. */
	for (size_t i = 0; i < n->n_rules; i++) {
		const struct net_rule *nr = &n->rules[i];

		if (nr->kind == RULE_HOSTNAME && nr->resolved && nfwire_same_name(nr->host, name)) {
			*v = (struct net_dns_verdict){ .action = NET_DNS_ANSWER,
						       .addrs = nr->addrs,
						       .n_addrs = nr->n_addrs };
			return;
		}
	}
	*v = (struct net_dns_verdict){ .action = NET_DNS_PENDING };
	if (find_question(n, true, name, NULL))
		return;
	oq = calloc(1, sizeof(*oq));
	if (!oq || !(oq->name = strdup(name))) {
		free(oq);
		v->action = NET_DNS_REFUSE;
		return;
	}
	oq->n = n;
	oq->dns = true;
	buf_printf(&text, "look up the name %s (%s) with DNS; not declared in %s", name,
		   nfdns_type_to_string(type, tbuf, sizeof(tbuf)), n->o.m->path);
	k = buf_ok(&text) ? net_ask_post(n->asker,
					 &(struct net_ask_question){
						 .kind = "dns",
						 .text = text.data,
						 .proto = "udp",
						 .address = NFSTACK_DNS4,
						 .port = 53,
						 .name = name,
					 },
					 ask_answered, oq)
			  : -ENOMEM;
	buf_done(&text);
	if (k < 0) {
		free(oq->name);
		free(oq);
		v->action = NET_DNS_REFUSE;
		return;
	}
	oq->next = n->questions;
	n->questions = oq;
}

/* --- the user-mode stack, in the parent --- */

static int on_stack_ready(struct event_source *s, int fd, uint32_t revents, void *userdata);
static int on_stack_log(struct event_source *s, int fd, uint32_t revents, void *userdata);
static int on_timer(struct event_source *s, int fd, uint32_t revents, void *userdata);
static int on_nflog(struct event_source *s, int fd, uint32_t revents, void *userdata);

static int arm_timer(struct run_net *n, uint64_t usec)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(usec / USEC_PER_SEC),
						.tv_nsec = (long)(usec % USEC_PER_SEC * 1000) } };
	int k;

	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (n->timer_fd < 0) {
		n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (n->timer_fd < 0)
			return negative_errno();
		k = event_add_io(n->attach.loop, &n->timer_source, n->timer_fd, EPOLLIN, on_timer,
				 n);
		if (k < 0)
			return k;
	}
	return RET_NERRNO(timerfd_settime(n->timer_fd, 0, &its, NULL));
}

/* Whether a TCP rule is left to the stack (SKILLBOX_NET_STACK, skillbox learn). */
static bool stack_carries_tcp(const struct run_net *n)
{
	for (size_t i = 0; i < n->n_rules; i++)
		if (n->rules[i].proto == IPPROTO_TCP && !n->rules[i].relay &&
		    n->rules[i].kind != RULE_ASK_LOOPBACK)
			return true;
	return false;
}

static int start_stack(struct run_net *n)
{
	const struct nfstack_opts o = {
		.kind = n->kind,
		.path = n->kind == NFSTACK_PASTA ? n->pasta_path : n->slirp_path,
		.userns_fd = n->userns_fd,
		.netns_fd = n->netns_fd,
		.enter_userns = geteuid() == 0,
		.uid = n->o.host_uid,
		.gid = n->o.host_gid,
		.ns_uid = SANDBOX_UID,
		.ns_gid = SANDBOX_GID,
		.run_id = n->o.run_id,
		.host_loopback = n->host_loopback,
		.dns_forward = n->resolver,
		.udp = n->udp,
		.no_tcp = !stack_carries_tcp(n),
	};
	int k;

	n->stack_started = true;
	n->stack_start_usec = now_monotonic_usec();
	k = nfstack_start(&o, &n->stack);
	if (k < 0)
		return k;
	/* pasta has no ready descriptor: its output says when it is ready (on_stack_log()). */
	k = n->stack.ready_fd < 0 ? 0
				  : event_add_io(n->attach.loop, &n->ready_source,
						 n->stack.ready_fd, EPOLLIN, on_stack_ready, n);
	if (k >= 0)
		k = event_add_io(n->attach.loop, &n->log_source, n->stack.log_fd, EPOLLIN,
				 on_stack_log, n);
	if (k >= 0)
		k = arm_timer(n, STACK_READY_TIMEOUT_USEC);
	return k;
}

static void stop_stack(struct run_net *n)
{
	n->ready_source = event_source_free(n->ready_source);
	n->log_source = event_source_free(n->log_source);
	nfstack_stop(&n->stack);
}

/* A hint for the commonest reason a stack cannot start on a fresh machine. */
static void tun_hint(const struct run_net *n, struct buf *b)
{
	struct stat st;

	if (stat("/dev/net/tun", &st) < 0) {
		buf_printf(b, " (/dev/net/tun: %s)", strerror(errno));
		return;
	}
	if (getuid() == 0 ? (st.st_mode & 0006) != 0006 : access("/dev/net/tun", R_OK | W_OK) < 0)
		buf_printf(b,
			   " (/dev/net/tun is mode %04o: uid %u, which runs the stack, cannot open "
			   "it; distributions ship it as 0666)",
			   (unsigned)(st.st_mode & 07777), (unsigned)n->o.host_uid);
}

static char *stack_failure_text(struct run_net *n, const char *what)
{
	char last[256];
	struct buf b = BUF_INIT;

	nfstack_read_log(&n->stack);
	buf_printf(&b, "%s: %s", nfstack_kind_to_string(n->kind), what);
	if (*nfstack_last_message(&n->stack, last, sizeof(last)))
		buf_printf(&b, ": %s", last);
	return buf_steal(&b);
}

/*
 * pasta did not start and slirp4netns takes over: never silently. A warning now, and an event
 * that says why and which declared destinations slirp4netns cannot carry (IPv6).
 */
static void report_fallback(struct run_net *n)
{
	struct audit *a = event_sink_audit(n->attach.sink);
	struct buf b = BUF_INIT;
	bool v6 = describe_ipv6_rules(n, &b);

	log_error("warning: network: %s; falling back to slirp4netns%s%s", n->fallback_reason,
		  v6 ? ", which carries no IPv6, so these rules cannot be reached: " : "",
		  v6 ? b.data : "");
	buf_done(&b);
	if (!a)
		return;
	audit_begin(a, "net.stack.fallback");
	audit_str(a, "from", nfstack_kind_to_string(NFSTACK_PASTA));
	audit_str(a, "to", nfstack_kind_to_string(NFSTACK_SLIRP4NETNS));
	audit_str(a, "reason", n->fallback_reason);
	audit_ipv6_rules(a, n);
	event_sink_end(n->attach.sink);
}

/* The current stack failed: try slirp4netns after pasta, else fail the run. */
static void stack_failed(struct run_net *n, const char *what)
{
	_cleanup_free_ char *text = stack_failure_text(n, what);
	struct buf b = BUF_INIT;
	int k;

	stop_stack(n);
	if (text && n->kind == NFSTACK_PASTA && access(n->slirp_path, X_OK) == 0) {
		n->fallback_reason = TAKE_PTR(text);
		n->kind = NFSTACK_SLIRP4NETNS;
		report_fallback(n);
		k = start_stack(n);
		if (k >= 0)
			return;
		text = strdup(strerror(-k));
	}
	buf_puts(&b, "network: the user-mode network stack did not start: ");
	if (n->fallback_reason)
		buf_printf(&b, "%s; ", n->fallback_reason);
	buf_puts(&b, text ? text : "out of memory");
	tun_hint(n, &b);
	event_sink_fail(n->attach.sink, buf_steal(&b));
}

static void emit_stack_ready(struct run_net *n)
{
	struct audit *a = event_sink_audit(n->attach.sink);
	uint64_t t = now_monotonic_usec() - n->stack_start_usec;

	if (!a)
		return;
	audit_begin(a, "net.stack");
	audit_str(a, "stack", nfstack_kind_to_string(n->kind));
	audit_int(a, "pid", n->stack.pid);
	audit_uint(a, "uid", geteuid() == 0 ? n->o.host_uid : getuid());
	audit_fixed(a, "ready_s", t, 6);
	if (n->fallback_reason) {
		audit_str(a, "fallback_from", nfstack_kind_to_string(n->first));
		audit_str(a, "reason", n->fallback_reason);
	}
	if (n->kind == NFSTACK_SLIRP4NETNS)
		audit_ipv6_rules(a, n);
	event_sink_end(n->attach.sink);
}

/* Init's rules are in and the stack is up: init may start the skill. */
static int maybe_start_skill(struct run_net *n, char **ret_error)
{
	int k;

	if (n->start_sent || !n->child_ready || !n->stack.ready)
		return 0;
	n->start_sent = true;
	k = n->attach.start_skill(n->attach.userdata);
	if (k < 0)
		return set_error(ret_error, k, "network: starting the skill: %s", strerror(-k));
	return 0;
}

/* The stack's ready descriptor (slirp4netns) or its output (pasta) has something to read. */
static int on_stack_ready(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run_net *n = userdata;
	char *error = NULL;
	int k = nfstack_read_ready(&n->stack);

	if (k == 0)
		return 0;
	if (k < 0) {
		stack_failed(n, "exited before the interface was configured");
		return 0;
	}
	if (n->stack.ready_fd >= 0) {
		n->ready_source = event_source_free(n->ready_source);
		n->stack.ready_fd = safe_close(n->stack.ready_fd);
	}
	(void)timerfd_settime(n->timer_fd, 0, &(struct itimerspec){ 0 }, NULL);
	/* The stack holds its own references now. */
	n->userns_fd = safe_close(n->userns_fd);
	n->netns_fd = safe_close(n->netns_fd);
	emit_stack_ready(n);
	if (maybe_start_skill(n, &error) < 0)
		event_sink_fail(n->attach.sink, error);
	return 0;
}

static int on_stack_log(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run_net *n = userdata;

	if (n->stack.kind == NFSTACK_PASTA && !n->stack.ready)
		return on_stack_ready(s, fd, revents, userdata);
	if (nfstack_read_log(&n->stack)) {
		/* It closed its output: nothing more to read, stop watching. */
		n->log_source = event_source_free(n->log_source);
		n->stack.log_fd = safe_close(n->stack.log_fd);
	}
	return 0;
}

static int on_timer(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct run_net *n = userdata;
	uint64_t expirations;

	if (read(n->timer_fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return 0;
	if (n->stack_started && !n->stack.ready)
		stack_failed(n, "did not configure the interface within 10s");
	return 0;
}

int run_net_start(struct run_net *n, const struct run_net_attach *a, char **ret_error)
{
	int k;

	if (!n)
		return 0;
	n->attach = *a;
	if (!n->egress)
		return 0;
	if (n->relay) {
		k = net_relay_new(
			&(struct net_relay_opts){
				.loop = a->loop,
				.sink = a->sink,
				.decide = relay_decide,
				.userdata = n,
				.host_uid = n->o.host_uid,
				.host_gid = n->o.host_gid,
				.connect_timeout_usec = CONNECT_TIMEOUT_USEC,
			},
			&n->relay_engine);
		if (k < 0)
			return set_error(ret_error, k, "network: starting the relay: %s",
					 strerror(-k));
	}
	if (n->ask) {
		const struct manifest *m = n->o.m;

		k = net_ask_new(
			&(struct net_ask_opts){
				.tty_fd = n->o.ask_fd,
				.timeout_usec = n->o.ask_timeout_usec,
				.loop = a->loop,
				.sink = a->sink,
				.manifest_path = m->path,
				.manifest_data = n->o.manifest_data,
				.manifest_len = n->o.manifest_len,
				.parse_opts = { .path = m->path, .dir = m->dir, .home = n->o.home },
				.caller_uid = n->o.caller_uid,
				.hold = n->o.ask_hold,
				.hold_userdata = n->o.ask_hold_userdata,
			},
			&n->asker);
		n->o.ask_fd = -1; /* taken over, even on failure */
		if (k < 0)
			return set_error(ret_error, k, "network: --ask: %s", strerror(-k));
	}
	if (!n->need_stack)
		return 0;
	if (n->first == NFSTACK_SLIRP4NETNS) {
		struct buf b = BUF_INIT;

		if (describe_ipv6_rules(n, &b))
			log_error(
				"warning: network: pasta is not installed (%s) and slirp4netns carries "
				"no IPv6, so these rules cannot be reached: %s",
				n->pasta_path, b.data);
		buf_done(&b);
	}
	/*
	 * A root caller can open the namespaces right away. Otherwise (init is not dumpable, so
	 * /proc/<pid>/ns is closed to an unprivileged caller) init sends them right after the
	 * id maps (child_early); whichever arrives first starts the stack.
	 */
	if (nfstack_open_namespaces(a->init_pid, &n->userns_fd, &n->netns_fd) < 0)
		return 0;
	k = start_stack(n);
	if (k < 0)
		return set_error(ret_error, k, "network: starting %s: %s",
				 nfstack_kind_to_string(n->kind), strerror(-k));
	return 0;
}

int run_net_child_ready(struct run_net *n, char **ret_error)
{
	if (!n)
		return 0;
	n->child_ready = true;
	return maybe_start_skill(n, ret_error);
}

int run_net_receive_fds(struct run_net *n, int32_t index, int *fds, size_t n_fds)
{
	int k = 0;

	if (!n || (!n->egress && index != NETFD_NFLOG)) {
		k = -EINVAL;
		goto out;
	}
	switch (index) {
	case NETFD_NAMESPACES:
		if (n_fds != 2) {
			k = -EBADMSG;
			break;
		}
		if (n->stack_started)
			break;
		n->userns_fd = fds[0];
		n->netns_fd = fds[1];
		n_fds = 0;
		k = start_stack(n);
		if (k < 0) {
			struct buf b = BUF_INIT;

			buf_printf(&b, "network: starting %s: %s", nfstack_kind_to_string(n->kind),
				   strerror(-k));
			event_sink_fail(n->attach.sink, buf_steal(&b));
			k = 0;
		}
		break;
	case NETFD_RELAY:
		if (n_fds < 1 || n_fds > 2 || !n->relay_engine) {
			k = -EBADMSG;
			break;
		}
		/* The relay takes each descriptor, whether it can watch it or not. */
		for (size_t i = 0; i < n_fds; i++) {
			int r = net_relay_add_listener(n->relay_engine, fds[i]);

			if (r < 0 && k >= 0)
				k = r;
		}
		n_fds = 0;
		break;
	case NETFD_ASK_DNS:
		if (n_fds != 1 || !n->ask_dns || n->dns) {
			k = -EBADMSG;
			break;
		}
		k = net_dns_new(&(struct net_dns_opts){ .loop = n->attach.loop,
							.sink = n->attach.sink,
							.decide = dns_decide,
							.userdata = n },
				fds[0], &n->dns);
		n_fds = 0;
		break;
	case NETFD_NFLOG:
		if (n_fds != 1 || n->nflog_fd >= 0) {
			k = -EBADMSG;
			break;
		}
		n->nflog_fd = fds[0];
		n_fds = 0;
		fd_set_nonblock(n->nflog_fd, true);
		k = event_add_io(n->attach.loop, &n->nflog_source, n->nflog_fd, EPOLLIN, on_nflog,
				 n);
		break;
	default:
		k = -EBADMSG;
		break;
	}
out:
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	return k;
}

/* --- the log --- */

struct flow_text {
	char addr[INET6_ADDRSTRLEN];
	const char *proto;
	char proto_buf[16];
};

static void describe_flow(const struct nflog_flow *f, struct flow_text *t)
{
	inet_ntop(f->family, f->daddr, t->addr, sizeof(t->addr));
	t->proto = proto_name(f->proto);
	if (!t->proto) {
		snprintf(t->proto_buf, sizeof(t->proto_buf), "%u", f->proto);
		t->proto = t->proto_buf;
	}
}

static void emit_dns_query(struct run_net *n, const struct nflog_flow *f, const char *verdict)
{
	struct audit *a = event_sink_audit(n->attach.sink);
	char name[NFDNS_NAME_MAX], tbuf[16], addr[INET6_ADDRSTRLEN], key[NFDNS_NAME_MAX + 32];
	uint16_t type;
	int k;

	if (!f->has_ports || f->dport != 53)
		return;
	if (f->proto == IPPROTO_UDP)
		k = nfdns_parse_query(f->l4_payload, f->l4_len, name, sizeof(name), &type);
	else if (f->proto == IPPROTO_TCP)
		k = nfdns_parse_query_tcp(f->l4_payload, f->l4_len, name, sizeof(name), &type);
	else
		return;
	if (k < 0 || !a)
		return;
	/* Must-record: the first query of each (verdict, type, name); repeats are counted. */
	snprintf(key, sizeof(key), "%s %s %s", verdict,
		 nfdns_type_to_string(type, tbuf, sizeof(tbuf)), name);
	if (!event_sink_admit(n->attach.sink, EVENT_MUST_RECORD, "dns.query", key))
		return;
	inet_ntop(f->family, f->daddr, addr, sizeof(addr));
	audit_begin(a, "dns.query");
	audit_str(a, "verdict", verdict);
	audit_str(a, "name", name);
	audit_str(a, "type", nfdns_type_to_string(type, tbuf, sizeof(tbuf)));
	audit_str(a, "resolver", addr);
	audit_str(a, "proto", proto_name(f->proto));
	audit_uint(a, "src_port", f->sport);
	event_sink_end(n->attach.sink);
}

/*
 * A SYN retransmitted before the answer, or a second datagram before any reply, is logged
 * again by the kernel (the connection is still new); it is the same attempt.
 */
static bool seen_recently(struct run_net *n, const struct nflog_flow *f, bool allowed)
{
	struct recent_flow k;

	if (!f->has_ports)
		return false;
	/* Compared with memcmp(): the padding must be zero too. */
	memset(&k, 0, sizeof(k));
	k.verdict = allowed;
	k.family = (uint8_t)f->family;
	k.proto = f->proto;
	k.sport = f->sport;
	k.dport = f->dport;
	memcpy(k.daddr, f->daddr, sizeof(k.daddr));
	for (size_t i = 0; i < n->n_recent; i++)
		if (memcmp(&n->recent[i], &k, sizeof(k)) == 0)
			return true;
	n->recent[n->next_recent] = k;
	n->next_recent = (n->next_recent + 1) % RECENT_FLOWS;
	if (n->n_recent < RECENT_FLOWS)
		n->n_recent++;
	return false;
}

static void emit_connect(struct run_net *n, const struct nflog_flow *f, const struct net_rule *nr,
			 long rule, const char *reason)
{
	struct audit *a = event_sink_audit(n->attach.sink);
	char key[INET6_ADDRSTRLEN + 64];
	struct flow_text t;

	if (!a || seen_recently(n, f, nr != NULL))
		return;
	describe_flow(f, &t);
	/* Must-record: the first of each (verdict, protocol, address, port, rule). */
	snprintf(key, sizeof(key), "%s %s %s %d %ld", nr ? "allow" : "deny", t.proto, t.addr,
		 f->has_ports ? (int)f->dport : -1, rule);
	if (!event_sink_admit(n->attach.sink, EVENT_MUST_RECORD, "net.connect", key))
		return;
	audit_begin(a, "net.connect");
	audit_str(a, "verdict", nr ? "allow" : "deny");
	audit_str(a, "proto", t.proto);
	audit_str(a, "address", t.addr);
	if (f->has_ports) {
		audit_uint(a, "port", f->dport);
		audit_uint(a, "src_port", f->sport);
	} else {
		audit_null(a, "port");
	}
	if (f->has_icmp)
		audit_uint(a, "icmp_type", f->icmp_type);
	if (nr) {
		audit_str(a, "host", nr->host);
		audit_uint(a, "rule", (uint64_t)rule);
		if (nr->loc.line)
			audit_uint(a, "line", nr->loc.line);
		else
			audit_null(a, "line");
		audit_str(a, "via", nfstack_kind_to_string(n->kind));
	} else {
		audit_null(a, "host");
		audit_null(a, "rule");
		audit_null(a, "line");
		audit_str(a, "reason", reason);
	}
	event_sink_end(n->attach.sink);
}

static void note_refusal(struct run_net *n, const struct nflog_flow *f)
{
	struct flow_text t;
	char example[96];

	describe_flow(f, &t);
	if (f->has_ports)
		snprintf(example, sizeof(example),
			 f->family == AF_INET6 ? "%s [%s]:%u" : "%s %s:%u", t.proto, t.addr,
			 f->dport);
	else
		snprintf(example, sizeof(example), "%s %s", t.proto, t.addr);
	event_sink_refusal(n->attach.sink, REFUSAL_NET, example);
}

#define OVERRUN_WHY "the log socket's buffer overran: the kernel dropped logged packets"

/*
 * The log numbers its packets: a gap is packets the kernel could not deliver (the socket's
 * buffer was full), each one a refusal, connection or query that must be recorded.
 */
static void check_seq(struct run_net *n, const struct nflog_packet *p)
{
	if (!p->has_seq)
		return;
	if (n->have_seq && p->seq != n->next_seq) {
		event_sink_lost(n->attach.sink, "nflog", OVERRUN_WHY,
				(uint32_t)(p->seq - n->next_seq), true);
		n->overrun_open = false;
	}
	n->have_seq = true;
	n->next_seq = p->seq + 1;
}

static void on_packet(const struct nflog_packet *p, void *userdata)
{
	struct run_net *n = userdata;
	struct nflog_flow f;
	long k;
	enum nfrules_verdict v = nfrules_parse_prefix(p->prefix, &k);

	check_seq(n, p);
	if (v == NFRULES_LOG_UNKNOWN ||
	    nflog_parse_flow(p->family, p->payload, p->payload_len, &f) < 0)
		return;
	if (k >= (long)n->n_rules)
		return;
	switch (v) {
	case NFRULES_LOG_PAYLOAD:
		emit_dns_query(n, &f, "allow");
		break;
	case NFRULES_LOG_ALLOW:
		emit_connect(n, &f, &n->rules[k], k, NULL);
		break;
	case NFRULES_LOG_HOST:
	case NFRULES_LOG_RESERVED:
	case NFRULES_LOG_DENY:
		note_refusal(n, &f);
		emit_connect(n, &f, NULL, -1,
			     v == NFRULES_LOG_HOST	 ? "host"
			     : v == NFRULES_LOG_RESERVED ? "reserved"
							 : "undeclared");
		emit_dns_query(n, &f, "deny");
		break;
	default:
		break;
	}
}

/* Reads everything queued on the log socket. */
static void drain_nflog(struct run_net *n)
{
	_cleanup_free_ char *buf = NULL;

	if (n->nflog_fd < 0)
		return;
	buf = malloc(NFLOG_RECV_SIZE);
	if (!buf)
		return;
	for (;;) {
		ssize_t len = recv(n->nflog_fd, buf, NFLOG_RECV_SIZE, MSG_DONTWAIT);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == ENOBUFS) {
			/*
			 * The kernel dropped log messages: must-record events are gone, so the run
			 * is stopped at once (or, with audit.overflow: count, they are counted).
			 * The next packet's number says how many.
			 */
			n->overruns++;
			n->overrun_open = true;
			event_sink_lost(n->attach.sink, "nflog", OVERRUN_WHY, 0, true);
			continue;
		}
		if (len <= 0)
			return;
		(void)nflog_foreach(buf, (size_t)len, on_packet, n);
	}
}

static int on_nflog(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	drain_nflog(userdata);
	return 0;
}

char *run_net_describe_failure(const struct run_net *n, const struct sandbox_msg *m)
{
	struct buf b = BUF_INIT;
	const char *why = strerror(m->error);

	switch (m->value) {
	case NETFAIL_NAMESPACES:
		buf_printf(&b, "network: handing the sandbox's namespaces to skillbox: %s", why);
		break;
	case NETFAIL_LOOPBACK:
		buf_printf(&b, "network: bringing up loopback: %s", why);
		break;
	case NETFAIL_NFLOG:
		buf_printf(&b, "network: opening the NFLOG log (group %u) in the sandbox: %s",
			   NFRULES_LOG_GROUP, why);
		break;
	case NETFAIL_RULES:
		if (n && m->index >= 0 && (size_t)m->index < n->batch.n_msgs) {
			const struct nfrules_msg *msg = &n->batch.msgs[m->index];

			buf_printf(&b,
				   "network: nftables: the kernel refused %s (message %d of %zu)",
				   msg->what, m->index + 1, n->batch.n_msgs);
			if (msg->rule >= 0 && (size_t)msg->rule < n->n_rules) {
				const struct net_rule *nr = &n->rules[msg->rule];

				char where[MANIFEST_LOC_MAX];

				buf_printf(&b, ", for %s (%s, %s",
					   manifest_loc_format(nr->loc, n->o.m->path, true, where,
							       sizeof(where)),
					   nr->host, proto_name(nr->proto));
				for (size_t j = 0; j < nr->n_ports; j++)
					buf_printf(&b, "%s%u", j ? "," : " ", nr->ports[j]);
				buf_putc(&b, ')');
			}
			buf_printf(&b, ": %s", why);
		} else {
			buf_printf(&b, "network: nftables: loading the ruleset: %s", why);
		}
		break;
	case NETFAIL_SEND:
		buf_printf(&b, "network: handing the log socket to skillbox: %s", why);
		break;
	case NETFAIL_ADDRESS:
		buf_printf(&b, "network: giving the sandbox its address %s on loopback: %s",
			   NFSTACK_ADDR4, why);
		break;
	case NETFAIL_LISTEN:
		buf_printf(&b, "network: opening the relay's listener on 127.0.0.1:%u: %s",
			   NFRELAY_PORT, why);
		break;
	case NETFAIL_ASK_DNS:
		buf_printf(&b, "network: opening the --ask resolver on %s:53: %s", NFSTACK_DNS4,
			   why);
		break;
	default:
		buf_printf(&b, "network: %s", why);
		break;
	}
	return buf_steal(&b);
}

char *run_net_describe_degraded(const struct run_net *n, const struct sandbox_msg *m)
{
	static const char *const what[] = {
		[NETDEG_NFLOG] = "opening the NFLOG log",
		[NETDEG_RULES] = "loading the nftables ruleset",
		[NETDEG_ROUTE4] = "adding the IPv4 catch-all route",
		[NETDEG_ROUTE6] = "adding the IPv6 catch-all route",
	};
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s: %s",
		   m->index > 0 && (size_t)m->index < ELEMENTSOF(what) ? what[m->index]
								       : "setting up the log",
		   strerror(m->error));
	return buf_steal(&b);
}

bool run_net_degraded_ipv6_only(const struct sandbox_msg *m)
{
	return m->index == NETDEG_ROUTE6;
}

void run_net_skill_exited(struct run_net *n)
{
	/*
	 * The skill is gone, and init is about to leave, which ends the sandbox: the stack may
	 * start freeing its memory now, while the namespaces are torn down and the trail is
	 * finished (pasta takes tens of ms; run_net_free() does not wait for it).
	 */
	if (n)
		nfstack_kill(&n->stack);
}

void run_net_finish(struct run_net *n)
{
	if (!n)
		return;
	/* The sandbox is gone; the stack frees its memory (tens of ms for pasta) while we
	   finish, and nobody waits for it (run_net_free()). */
	nfstack_kill(&n->stack);
	net_relay_finish(n->relay_engine);
	net_dns_finish(n->dns);
	net_ask_finish(n->asker);
	/* Late packets (logged just before the skill ended) are still queued: read them. */
	drain_nflog(n);
	/* An overrun after the last packet: how many were dropped is not known. */
	if (n->overrun_open)
		event_sink_lost(n->attach.sink, "nflog", OVERRUN_WHY, 0, false);
	n->overrun_open = false;
	n->nflog_source = event_source_free(n->nflog_source);
	n->nflog_fd = safe_close(n->nflog_fd);
	n->ready_source = event_source_free(n->ready_source);
	n->log_source = event_source_free(n->log_source);
	n->timer_source = event_source_free(n->timer_source);
	n->timer_fd = safe_close(n->timer_fd);
}

struct run_net *run_net_free(struct run_net *n)
{
	if (!n)
		return NULL;
	/* The relay and the resolver go first: questions still open are answered (deny) by
	   net_ask_free(), and their answers go to what is left (nothing). */
	n->relay_engine = net_relay_free(n->relay_engine);
	n->dns = net_dns_free(n->dns);
	n->asker = net_ask_free(n->asker);
	strv_free(n->ask_names);
	safe_close(n->o.ask_fd);
	for (size_t i = 0; i < n->n_approvals; i++)
		free(n->approvals[i].name);
	free(n->approvals);
	while (n->questions) {
		struct open_question *q = n->questions;

		n->questions = q->next;
		free(q->name);
		free(q->conns);
		free(q);
	}
	event_source_free(n->nflog_source);
	event_source_free(n->ready_source);
	event_source_free(n->log_source);
	event_source_free(n->timer_source);
	/*
	 * Killed when the skill exited (run_net_skill_exited()); its teardown (tens of ms for
	 * pasta's memory) is not waited for: the caller has its answer as soon as the run ends.
	 */
	nfstack_release(&n->stack);
	safe_close(n->nflog_fd);
	safe_close(n->timer_fd);
	safe_close(n->userns_fd);
	safe_close(n->netns_fd);
	for (size_t i = 0; i < n->n_rules; i++)
		free(n->rules[i].addrs);
	free(n->rules);
	free(n->nf_rules);
	free(n->blocked);
	free(n->reserved);
	nfrules_batch_done(&n->batch);
	free(n->hosts);
	free(n->resolv);
	free(n->pasta_path);
	free(n->slirp_path);
	free(n->fallback_reason);
	free(n->stack_why);
	free(n);
	return NULL;
}
