/* SPDX-License-Identifier: MIT */
/* INTERIM: loopback only. Replaced by the network egress layer. */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "layers.h"

static int child_setup(void *userdata, int sock, int32_t *index, int64_t *value)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *lo = NULL, *change = NULL;
	int r = -EIO;

	if (!sk)
		return -ENOMEM;
	if (nl_connect(sk, NETLINK_ROUTE) < 0)
		goto out;
	if (rtnl_link_get_kernel(sk, 0, "lo", &lo) < 0)
		goto out;
	change = rtnl_link_alloc();
	if (!change)
		goto out;
	rtnl_link_set_flags(change, IFF_UP);
	if (rtnl_link_change(sk, lo, change, 0) < 0)
		goto out;
	r = 0;
out:
	rtnl_link_put(change);
	rtnl_link_put(lo);
	nl_socket_free(sk);
	return r;
}

int run_net_prepare(struct run *r, struct mount_file **ret_files, size_t *ret_n_files,
		    char **ret_error)
{
	*ret_files = NULL;
	*ret_n_files = 0;
	if (r->m->net.n_egress) {
		*ret_error = strdup("egress is not available in this build");
		return -EOPNOTSUPP;
	}
	r->spec.net.setup = child_setup;
	return 0;
}

void run_net_audit(struct run *r)
{
}

void run_net_explain(struct run *r, FILE *f)
{
}

const char *run_net_stack_name(const struct run *r)
{
	return "none";
}

int run_net_started(struct run *r, char **ret_error)
{
	return 0;
}

int run_net_child_ready(struct run *r, char **ret_error)
{
	return 0;
}

int run_net_receive_fds(struct run *r, int32_t index, int *fds, size_t n_fds)
{
	return -EINVAL;
}

int run_net_handle(struct run *r, uint32_t tag, uint32_t events, char **ret_error)
{
	return 0;
}

char *run_net_describe_failure(struct run *r, const struct sandbox_msg *m)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "network: bringing up loopback: %s", strerror(m->error));
	return buf_steal(&b);
}

void run_net_finish(struct run *r)
{
}

struct run_net *run_net_free(struct run_net *n)
{
	return NULL;
}
