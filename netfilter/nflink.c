/* SPDX-License-Identifier: MIT */
/*
 * Links and routes of the sandbox's network namespace, through libnl-route: bring loopback up,
 * and add the catch-all route (nflink_catch_route()). Runs in the sandbox's init, in its new
 * network namespace, with the capabilities its user namespace gives it.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nfrules.h"
#include "nfstack.h"

/* Loopback is interface 1 in every network namespace (LOOPBACK_IFINDEX). */
#define LOOPBACK_IFINDEX 1

/* libnl answers with its own NLE_* codes; the callers want -errno. */
static int nl_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_BUSY:
		return -EBUSY;
	default:
		return -EIO;
	}
}

static int route_socket(struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		return nl_to_errno(r);
	}
	*ret = sk;
	return 0;
}

int nflink_loopback_up(void)
{
	struct rtnl_link *lo = NULL, *change = NULL;
	struct nl_sock *sk = NULL;
	int r;

	r = route_socket(&sk);
	if (r < 0)
		return r;
	r = nl_to_errno(rtnl_link_get_kernel(sk, LOOPBACK_IFINDEX, NULL, &lo));
	if (r >= 0) {
		change = rtnl_link_alloc();
		if (!change)
			r = -ENOMEM;
	}
	if (r >= 0) {
		rtnl_link_set_flags(change, IFF_UP);
		r = nl_to_errno(rtnl_link_change(sk, lo, change, 0));
	}
	rtnl_link_put(change);
	rtnl_link_put(lo);
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}

static struct nl_addr *parse_nl_addr(int family, const char *text, int prefix)
{
	uint8_t buf[16];
	struct nl_addr *a;

	if (inet_pton(family, text, buf) != 1)
		return NULL;
	a = nl_addr_build(family, buf, family == AF_INET ? 4 : 16);
	if (a)
		nl_addr_set_prefixlen(a, prefix);
	return a;
}

/* Adds one address to lo, host-sized (no prefix route): the routes are added explicitly. */
static int add_loopback_address(struct nl_sock *sk, int family, const char *text)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	struct nl_addr *local = parse_nl_addr(family, text, family == AF_INET ? 32 : 128);
	int r = -ENOMEM;

	if (addr && local) {
		rtnl_addr_set_ifindex(addr, LOOPBACK_IFINDEX);
		rtnl_addr_set_family(addr, family);
		rtnl_addr_set_prefixlen(addr, family == AF_INET ? 32 : 128);
		rtnl_addr_set_scope(addr, RT_SCOPE_UNIVERSE);
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
		r = nl_to_errno(rtnl_addr_set_local(addr, local));
		if (r >= 0)
			r = nl_to_errno(rtnl_addr_add(sk, addr, NLM_F_CREATE | NLM_F_EXCL));
	}
	nl_addr_put(local);
	rtnl_addr_put(addr);
	return r;
}

/* A default route through lo with a preferred source (and the given metric). */
static int add_default_route(struct nl_sock *sk, int family, const char *src, uint32_t metric)
{
	static const uint8_t any[16] = { 0 };
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_build(family, any, family == AF_INET ? 4 : 16);
	struct nl_addr *pref =
		src ? parse_nl_addr(family, src, family == AF_INET ? 32 : 128) : NULL;
	int r = -ENOMEM;

	if (!route || !nh || !dst || (src && !pref))
		goto out;
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(route, (uint8_t)family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_priority(route, metric);
	r = nl_to_errno(rtnl_route_set_dst(route, dst));
	if (r >= 0 && pref)
		r = nl_to_errno(rtnl_route_set_pref_src(route, pref));
	if (r < 0)
		goto out;
	rtnl_route_nh_set_ifindex(nh, LOOPBACK_IFINDEX);
	rtnl_route_add_nexthop(route, TAKE_PTR(nh));
	r = nl_to_errno(rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(pref);
	nl_addr_put(dst);
	rtnl_route_put(route);
	return r < 0 ? r : 0;
}

int nflink_relay_setup(int family, const char *const *extra, size_t n_extra)
{
	const char *own = family == AF_INET ? NFSTACK_ADDR4 : NFSTACK_ADDR6;
	struct nl_sock *sk = NULL;
	int r;

	r = route_socket(&sk);
	if (r < 0)
		return r;
	r = add_loopback_address(sk, family, own);
	for (size_t i = 0; i < n_extra && r >= 0; i++)
		r = add_loopback_address(sk, family, extra[i]);
	/* IPv6 below the catch route's worst metric, IPv4 has none. */
	if (r >= 0)
		r = add_default_route(sk, family, own, family == AF_INET ? 0 : 1024);
	nl_socket_free(sk);
	return r;
}

int nflink_loopback_address(int family, const char *text)
{
	struct nl_sock *sk = NULL;
	int r;

	r = route_socket(&sk);
	if (r < 0)
		return r;
	r = add_loopback_address(sk, family, text);
	nl_socket_free(sk);
	return r;
}

int nflink_catch_route(int family, bool loopback_source)
{
	static const uint8_t any[16] = { 0 };
	static const uint8_t lo4[4] = { 127, 0, 0, 1 };
	struct rtnl_route *route = NULL;
	struct rtnl_nexthop *nh = NULL;
	struct nl_addr *dst = NULL, *src = NULL;
	struct nl_sock *sk = NULL;
	int r;

	r = route_socket(&sk);
	if (r < 0)
		return r;
	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	dst = nl_addr_build(family, any, family == AF_INET ? 4 : 16);
	if (!route || !nh || !dst) {
		r = -ENOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(dst, 0);
	rtnl_route_set_family(route, (uint8_t)family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_protocol(route, RTPROT_STATIC);
	rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(route, RTN_UNICAST);
	/* The worst metric: the user-mode stack's own default route wins whenever it has one. */
	rtnl_route_set_priority(route, UINT32_MAX);
	r = nl_to_errno(rtnl_route_set_dst(route, dst));
	if (r < 0)
		goto out;
	if (loopback_source && family == AF_INET) {
		src = nl_addr_build(AF_INET, lo4, sizeof(lo4));
		if (!src) {
			r = -ENOMEM;
			goto out;
		}
		r = nl_to_errno(rtnl_route_set_pref_src(route, src));
		if (r < 0)
			goto out;
	}
	rtnl_route_nh_set_ifindex(nh, LOOPBACK_IFINDEX);
	rtnl_route_add_nexthop(route, TAKE_PTR(nh));
	r = nl_to_errno(rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_EXCL));
out:
	if (nh)
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(src);
	rtnl_route_put(route);
	nl_socket_free(sk);
	return r < 0 ? r : 0;
}
