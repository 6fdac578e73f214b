/* SPDX-License-Identifier: MIT */
/*
 * Sockets of the relay (nfrelay.h): its listeners, opened by the sandbox's init in the
 * sandbox's network namespace, and the original destination of what they accept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "macros.h"
#include "nfrelay.h"

static socklen_t sockaddr_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static int bound_socket(int family, int type, const char *addr, uint16_t port, int *ret_fd)
{
	struct sockaddr_storage ss = { 0 };
	_cleanup_close_ int fd = -1;
	int one = 1;

	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -EINVAL;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -EINVAL;
	}
	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&ss, sockaddr_len(family)) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int nfrelay_listen(int family, uint16_t port, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = bound_socket(family, SOCK_STREAM, family == AF_INET ? "127.0.0.1" : "::1", port, &fd);
	if (r < 0)
		return r;
	if (listen(fd, NFRELAY_BACKLOG) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int nfrelay_udp_socket(int family, const char *addr, uint16_t port, int *ret_fd)
{
	return bound_socket(family, SOCK_DGRAM, addr, port, ret_fd);
}

int nfrelay_original_dst(int fd, struct sockaddr_storage *ret)
{
	struct sockaddr_storage local = { 0 };
	socklen_t len = sizeof(local);

	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return negative_errno();
	memset(ret, 0, sizeof(*ret));
	len = sizeof(*ret);
	if (local.ss_family == AF_INET) {
		if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ret, &len) < 0)
			return negative_errno();
	} else if (local.ss_family == AF_INET6) {
		if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ret, &len) < 0)
			return negative_errno();
	} else {
		return -EAFNOSUPPORT;
	}
	/*
	 * A connection that was not rewritten reports its own destination: the listener itself,
	 * reached directly. Nothing the relay may carry.
	 */
	if (len >= sockaddr_len(local.ss_family) &&
	    memcmp(ret, &local, sockaddr_len(local.ss_family)) == 0)
		return -ENOENT;
	return 0;
}
