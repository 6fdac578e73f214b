/* SPDX-License-Identifier: MIT */
/*
 * The --ask resolver (net-dns.h). Queries come in on a UDP socket in the sandbox's namespace;
 * a name is either known (answered), refused (NXDOMAIN) or pending; pending queries wait in a
 * list, keyed by name, until the network layer allows or denies the name. Allowed names are
 * resolved on the host by a thread of their own, which hands its result back through a pipe
 * the loop watches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "macros.h"
#include "net-dns.h"
#include "nfdns.h"
#include "nfstack.h"

#define DNS_MAX_QUERY 512
#define DNS_TTL	      60
/* Queries held at once; more are refused (a skill cannot make skillbox hoard memory). */
#define DNS_MAX_PENDING 256

/* A name the run knows: its pinned answer, or that it is refused. */
struct known {
	struct known *next;
	char *name;
	bool refused;
	bool once;  /* answer the waiting queries, then ask again for the next ones */
	bool stale; /* answered once: the next query is a new question (addrs kept, for names) */
	bool resolving;
	struct nfrules_addr *addrs;
	size_t n_addrs;
};

struct pending {
	struct pending *next;
	char name[NFDNS_NAME_MAX];
	uint16_t type;
	struct sockaddr_storage from;
	socklen_t from_len;
	uint8_t query[DNS_MAX_QUERY];
	size_t len;
};

/* What a resolver thread hands back. */
struct resolved {
	char *name;
	struct nfrules_addr *addrs;
	size_t n_addrs;
	const char *why;
	int error;
	int fd; /* the thread's copy of the pipe's write end */
};

struct net_dns {
	struct net_dns_opts o;
	int fd;
	struct event_source *src;
	int pipe_rd, pipe_wr;
	struct event_source *pipe_src;
	struct known *known;
	struct pending *pending;
	size_t n_pending;
};

static struct known *find_known(struct net_dns *d, const char *name)
{
	for (struct known *k = d->known; k; k = k->next)
		if (streq(k->name, name))
			return k;
	return NULL;
}

static struct known *add_known(struct net_dns *d, const char *name)
{
	struct known *k = find_known(d, name);

	if (k)
		return k;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->name = strdup(name);
	if (!k->name) {
		free(k);
		return NULL;
	}
	k->next = d->known;
	d->known = k;
	return k;
}

static void emit_query(struct net_dns *d, const char *name, uint16_t type, uint16_t src_port,
		       bool allow, const struct nfrules_addr *addrs, size_t n)
{
	struct audit *a = event_sink_audit(d->o.sink);
	char tbuf[16], text[INET6_ADDRSTRLEN], key[320];

	if (!allow)
		event_sink_refusal(d->o.sink, REFUSAL_NET, name);
	/* Must-record: the first query of each (verdict, type, name), as run-net.c's. */
	snprintf(key, sizeof(key), "%s %s %s", allow ? "allow" : "deny",
		 nfdns_type_to_string(type, tbuf, sizeof(tbuf)), name);
	if (!a || !event_sink_admit(d->o.sink, EVENT_MUST_RECORD, "dns.query", key))
		return;
	audit_begin(a, "dns.query");
	audit_str(a, "verdict", allow ? "allow" : "deny");
	audit_str(a, "name", name);
	audit_str(a, "type", nfdns_type_to_string(type, tbuf, sizeof(tbuf)));
	audit_str(a, "resolver", NFSTACK_DNS4);
	audit_str(a, "proto", "udp");
	audit_uint(a, "src_port", src_port);
	audit_str(a, "answered_by", "skillbox");
	audit_array_begin(a, "addresses");
	for (size_t i = 0; allow && i < n; i++) {
		int family = type == 1 ? AF_INET : type == 28 ? AF_INET6 : 0;

		if (addrs[i].family == family)
			audit_str(a, NULL, inet_ntop(family, addrs[i].addr, text, sizeof(text)));
	}
	audit_array_end(a);
	event_sink_end(d->o.sink);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					       : ((const struct sockaddr_in *)ss)->sin_port);
}

static void reply(struct net_dns *d, const uint8_t *q, size_t len, const struct sockaddr *to,
		  socklen_t to_len, const char *name, uint16_t type, bool allow,
		  const struct nfrules_addr *addrs, size_t n)
{
	uint8_t out[DNS_MAX_QUERY + 512];
	ssize_t k = nfdns_build_answer(q, len, addrs, n, allow ? 0 : 3, DNS_TTL, out, sizeof(out));

	if (k < 0)
		return;
	(void)sendto(d->fd, out, (size_t)k, MSG_DONTWAIT, to, to_len);
	emit_query(d, name, type, port_of((const struct sockaddr_storage *)to), allow, addrs, n);
}

/* Answers every query waiting for k's name as k says; a "once" answer is then forgotten. */
static void answer_pending(struct net_dns *d, struct known *k)
{
	struct pending **pp = &d->pending;

	while (*pp) {
		struct pending *p = *pp;

		if (!streq(p->name, k->name)) {
			pp = &p->next;
			continue;
		}
		reply(d, p->query, p->len, (struct sockaddr *)&p->from, p->from_len, p->name,
		      p->type, !k->refused, k->addrs, k->n_addrs);
		*pp = p->next;
		d->n_pending--;
		free(p);
	}
	if (k->once)
		k->stale = true;
}

static void *resolve_thread(void *userdata)
{
	struct resolved *res = userdata;
	int fd = res->fd;

	res->error = nfdns_resolve(res->name, &res->addrs, &res->n_addrs, &res->why);
	if (write(fd, &res, sizeof(res)) != sizeof(res)) {
		/* Nobody is listening any more: the run is over. */
		free(res->name);
		free(res->addrs);
		free(res);
	}
	close(fd);
	return NULL;
}

static int on_resolved(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_dns *d = userdata;
	struct resolved *res;

	while (read(fd, &res, sizeof(res)) == sizeof(res)) {
		struct known *k = find_known(d, res->name);

		if (k && k->resolving) {
			k->resolving = false;
			/* A name that does not resolve on the host does not in the sandbox. */
			k->refused = res->error < 0;
			free(k->addrs);
			k->addrs = TAKE_PTR(res->addrs);
			k->n_addrs = k->refused ? 0 : res->n_addrs;
			answer_pending(d, k);
		}
		free(res->name);
		free(res->addrs);
		free(res);
	}
	return 0;
}

static int start_resolve(struct net_dns *d, struct known *k)
{
	struct resolved *res = calloc(1, sizeof(*res));
	pthread_attr_t attr;
	pthread_t t;
	int e;

	if (!res)
		return -ENOMEM;
	res->name = strdup(k->name);
	res->fd = fcntl(d->pipe_wr, F_DUPFD_CLOEXEC, 3);
	if (!res->name || res->fd < 0) {
		free(res->name);
		safe_close(res->fd);
		free(res);
		return -ENOMEM;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, resolve_thread, res);
	pthread_attr_destroy(&attr);
	if (e) {
		free(res->name);
		close(res->fd);
		free(res);
		return -e;
	}
	k->resolving = true;
	return 0;
}

void net_dns_allow(struct net_dns *d, const char *name, bool remember)
{
	struct known *k;

	if (!d)
		return;
	k = add_known(d, name);
	if (!k)
		return;
	k->refused = false;
	k->once = !remember;
	k->stale = false;
	if (k->resolving)
		return;
	if (start_resolve(d, k) < 0) {
		k->refused = true;
		answer_pending(d, k);
	}
}

void net_dns_deny(struct net_dns *d, const char *name, bool remember)
{
	struct known *k;

	if (!d)
		return;
	k = add_known(d, name);
	if (!k)
		return;
	k->refused = true;
	k->once = !remember;
	k->stale = false;
	k->resolving = false;
	answer_pending(d, k);
}

const char *net_dns_name_of(const struct net_dns *d, int family, const uint8_t *addr)
{
	for (const struct known *k = d ? d->known : NULL; k; k = k->next)
		for (size_t i = 0; i < k->n_addrs; i++)
			if (k->addrs[i].family == family &&
			    memcmp(k->addrs[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
				return k->name;
	return NULL;
}

static void on_query(struct net_dns *d, const uint8_t *q, size_t len,
		     const struct sockaddr_storage *from, socklen_t from_len)
{
	char name[NFDNS_NAME_MAX];
	struct net_dns_verdict v = { .action = NET_DNS_REFUSE };
	struct known *k;
	struct pending *p;
	uint16_t type;

	if (nfdns_parse_query(q, len, name, sizeof(name), &type) < 0)
		return;
	for (char *c = name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	k = find_known(d, name);
	if (k && !k->resolving && !k->stale) {
		reply(d, q, len, (const struct sockaddr *)from, from_len, name, type, !k->refused,
		      k->addrs, k->n_addrs);
		return;
	}
	if (!k || (k->stale && !k->resolving)) {
		d->o.decide(d->o.userdata, name, type, &v);
		if (v.action != NET_DNS_PENDING) {
			reply(d, q, len, (const struct sockaddr *)from, from_len, name, type,
			      v.action == NET_DNS_ANSWER, v.addrs, v.n_addrs);
			return;
		}
	}
	/* A retransmission of a query already waiting joins it. */
	for (p = d->pending; p; p = p->next)
		if (p->len == len && memcmp(p->query, q, 2) == 0 && p->from_len == from_len &&
		    memcmp(&p->from, from, from_len) == 0)
			return;
	if (d->n_pending >= DNS_MAX_PENDING || len > DNS_MAX_QUERY) {
		reply(d, q, len, (const struct sockaddr *)from, from_len, name, type, false, NULL,
		      0);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->type = type;
	memcpy(&p->from, from, from_len);
	p->from_len = from_len;
	memcpy(p->query, q, len);
	p->len = len;
	p->next = d->pending;
	d->pending = p;
	d->n_pending++;
}

static int on_socket(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_dns *d = userdata;

	for (int i = 0; i < 64; i++) {
		uint8_t q[DNS_MAX_QUERY + 1];
		struct sockaddr_storage from = { 0 };
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &from_len);

		if (n < 0)
			break;
		if ((size_t)n > DNS_MAX_QUERY)
			continue;
		on_query(d, q, (size_t)n, &from, from_len);
	}
	return 0;
}

int net_dns_new(const struct net_dns_opts *o, int fd, struct net_dns **ret)
{
	struct net_dns *d = calloc(1, sizeof(*d));
	int p[2], k;

	if (!d) {
		safe_close(fd);
		return -ENOMEM;
	}
	d->o = *o;
	d->fd = fd;
	d->pipe_rd = d->pipe_wr = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		k = -errno;
		net_dns_free(d);
		return k;
	}
	d->pipe_rd = p[0];
	d->pipe_wr = p[1];
	fd_set_nonblock(d->pipe_rd, true);
	fd_set_nonblock(d->fd, true);
	k = event_add_io(o->loop, &d->src, d->fd, EPOLLIN, on_socket, d);
	if (k >= 0)
		k = event_add_io(o->loop, &d->pipe_src, d->pipe_rd, EPOLLIN, on_resolved, d);
	if (k < 0) {
		net_dns_free(d);
		return k;
	}
	*ret = d;
	return 0;
}

void net_dns_finish(struct net_dns *d)
{
	if (!d)
		return;
	d->src = event_source_free(d->src);
	d->pipe_src = event_source_free(d->pipe_src);
	d->fd = safe_close(d->fd);
	/* A thread still resolving finds the pipe closed and cleans up after itself. */
	d->pipe_rd = safe_close(d->pipe_rd);
	d->pipe_wr = safe_close(d->pipe_wr);
	while (d->pending) {
		struct pending *p = d->pending;

		d->pending = p->next;
		free(p);
	}
	d->n_pending = 0;
}

struct net_dns *net_dns_free(struct net_dns *d)
{
	if (!d)
		return NULL;
	net_dns_finish(d);
	while (d->known) {
		struct known *k = d->known;

		d->known = k->next;
		free(k->name);
		free(k->addrs);
		free(k);
	}
	free(d);
	return NULL;
}
