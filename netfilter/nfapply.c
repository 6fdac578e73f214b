/* SPDX-License-Identifier: MIT */
/*
 * The thin, kernel-facing half of the ruleset: send the batch nfrules_build_batch() made over
 * one netlink socket and read every acknowledgement. It runs in the sandbox's init, in its
 * new network namespace, with the capabilities the new user namespace gives it. (Links and
 * routes are in nflink.c.)
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "nfrules.h"

/* Netlink answers here are small; MNL_SOCKET_BUFFER_SIZE is not a constant. */
#define NETLINK_BUF_SIZE 8192

/* Long enough for any kernel, short enough that a wedged netlink never hangs a run. */
#define ACK_TIMEOUT_MS 5000

static void mnl_socket_closep(struct mnl_socket **s)
{
	if (*s)
		mnl_socket_close(*s);
}
#define _cleanup_mnl_socket_ _cleanup_(mnl_socket_closep)

/* A buffer size that the kernel honours even above the system's limits when we may (we
   hold CAP_NET_ADMIN over our own network namespace), else the best it allows. */
static void set_buffer(int fd, int force_opt, int opt, size_t size)
{
	int v = (int)MIN(size, (size_t)INT32_MAX / 2);

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

static int open_netlink(int bus, struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int one = 1;

	if (!nl)
		return negative_errno();
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int r = negative_errno();

		mnl_socket_close(nl);
		return r;
	}
	/* Errors need not echo the whole refused message back (a set may be large). */
	(void)setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	*ret = nl;
	return 0;
}

/* Reads answers until every message of b is acknowledged or one is refused. */
static int read_acks(struct mnl_socket *nl, const struct nfrules_batch *b, size_t *ret_failed)
{
	char buf[NETLINK_BUF_SIZE];
	size_t acked = 0;

	for (;;) {
		struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
		ssize_t n;
		int r;

		r = poll(&p, 1, ACK_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return negative_errno();
		if (r == 0)
			return -ETIMEDOUT;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return negative_errno();
		r = nfrules_check_acks(b, buf, (size_t)n, &acked, ret_failed);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

int nfrules_apply(const struct nfrules_batch *b, size_t *ret_failed)
{
	_cleanup_mnl_socket_ struct mnl_socket *nl = NULL;
	int r;

	*ret_failed = SIZE_MAX;
	r = open_netlink(NETLINK_NETFILTER, &nl);
	if (r < 0)
		return r;
	/* The whole batch goes out in one sendmsg(), which must fit the send buffer, and every
	   acknowledgement must fit the receive buffer until we read it. */
	set_buffer(mnl_socket_get_fd(nl), SO_SNDBUFFORCE, SO_SNDBUF, b->bytes.len + 65536);
	set_buffer(mnl_socket_get_fd(nl), SO_RCVBUFFORCE, SO_RCVBUF, b->n_msgs * 128 + 65536);

	if (mnl_socket_sendto(nl, b->bytes.data, b->bytes.len) != (ssize_t)b->bytes.len)
		return negative_errno();

	/* nfnetlink processes the batch inside sendmsg(): the answers are queued already. */
	return read_acks(nl, b, ret_failed);
}
