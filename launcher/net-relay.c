/* SPDX-License-Identifier: MIT */
/*
 * The relay's connections (net-relay.h).
 *
 * A connection goes through these states, each with what its two sockets are watched for:
 *
 *   NAME        reading the first data for the host name      skill: in       (deadline)
 *   PENDING     a question is open on the caller's terminal    skill: errors
 *   CONNECTING  the host-side connect() is in progress         skill: errors, host: out
 *                                                                              (deadline)
 *   RELAYING    bytes move both ways                           as the pipes require
 *
 * A relaying direction is a socket, a pipe and a socket. The source is read (splice into the
 * pipe) only while the pipe is empty, so a destination that does not read stops the source
 * being read, its receive buffer fills and TCP's window closes towards the sender: the same
 * backpressure a direct connection has. End of stream from one side becomes shutdown(SHUT_WR)
 * towards the other once the pipe is drained; when both directions have ended, the
 * connection is closed. A reset, or a write that the peer refuses (EPIPE, ECONNRESET), closes
 * the other side with SO_LINGER 0, which sends it a reset in turn.
 *
 * The skill's side connected to a listener in its own namespace and so was accepted at once;
 * a destination that refuses, cannot be reached or does not answer within the connect timeout
 * therefore shows up to the skill as a reset of an established connection rather than as a
 * refused connect(), and the trail says which it was.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fd-util.h"
#include "macros.h"
#include "net-relay.h"
#include "nfrelay.h"
#include "parse-util.h"

/* Bytes moved per splice() call (the default pipe capacity). */
#define RELAY_CHUNK (64 * 1024)
/* Rounds of reading and writing per wake-up of one connection, so no connection starves the
   others of the loop. */
#define RELAY_ROUNDS 16
/* Descriptors a connection holds while relaying: two sockets, two pipes. */
#define RELAY_FDS_PER_CONN 6
#define RELAY_MAX_CONNS	   4096
#define RELAY_FIRST_BUFFER 4096

enum conn_state {
	CONN_NAME,
	CONN_PENDING,
	CONN_CONNECTING,
	CONN_RELAYING,
};

/* One direction: from a socket, through a pipe, to the other socket. */
struct direction {
	int pipe_rd, pipe_wr;
	size_t pending; /* bytes in the pipe */
	bool eof;	/* the source ended its stream */
	bool shut;	/* and that end was passed on */
	uint64_t bytes; /* delivered to the other side */
};

struct conn {
	struct net_relay *relay;
	struct conn *prev, *next;
	uint64_t id;
	enum conn_state state;
	struct net_relay_dest dest;
	uint64_t start_usec;
	uint64_t deadline_usec; /* NAME and CONNECTING; 0: none */

	int skill_fd, host_fd;
	struct event_source *skill_src, *host_src;

	/* The first data, read while looking for the name; sent to the destination first. */
	uint8_t *first;
	size_t first_len, first_size, first_sent;
	struct nfwire_result wire;
	bool have_wire;

	struct direction up;   /* skill → destination */
	struct direction down; /* destination → skill */

	/* Of the decision, for net.close. */
	bool logged; /* allowed: its end is recorded (net.close) */
	long rule;
	const char *host;
	unsigned line;
};

struct net_relay {
	struct net_relay_opts o;
	struct event_source *listen_src[2];
	int listen_fd[2];
	size_t n_listen;
	bool listening; /* listeners watched (not paused at the connection limit) */
	struct conn *conns;
	size_t n_conns, max_conns;
	uint64_t next_id;
	int timer_fd;
	struct event_source *timer_src;
	uint64_t timer_at;
};

static int on_skill(struct event_source *s, int fd, uint32_t revents, void *userdata);
static int on_host(struct event_source *s, int fd, uint32_t revents, void *userdata);
static void apply_verdict(struct conn *c, const struct net_relay_verdict *v);

/* --- small helpers --- */

static void reset_close(int *fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	/* Closing with a zero linger time sends a reset instead of a FIN. */
	(void)setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	*fd = safe_close(*fd);
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* The skill's own socket already decided how to segment; adding Nagle's delay again
	   on either side of the relay would only add latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const char *end_of_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "refused";
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EADDRNOTAVAIL:
		return "unreachable";
	case ETIMEDOUT:
		return "timeout";
	default:
		return "error";
	}
}

/* --- the timer: one descriptor, set to the earliest deadline --- */

static void rearm_timer(struct net_relay *r)
{
	uint64_t next = 0;
	struct itimerspec its = { 0 };

	for (struct conn *c = r->conns; c; c = c->next)
		if (c->deadline_usec && (!next || c->deadline_usec < next))
			next = c->deadline_usec;
	if (next == r->timer_at || r->timer_fd < 0)
		return;
	r->timer_at = next;
	if (next) {
		its.it_value.tv_sec = (time_t)(next / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(next % USEC_PER_SEC * NSEC_PER_USEC);
	}
	(void)timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* --- events --- */

static void audit_dest(struct audit *a, const struct conn *c)
{
	audit_str(a, "proto", "tcp");
	audit_str(a, "address", c->dest.text);
	audit_uint(a, "port", c->dest.port);
	audit_uint(a, "src_port", c->dest.src_port);
}

/* The manifest rule that allowed it; an answer on the terminal names a host but no rule. */
static void audit_rule(struct audit *a, long rule, const char *host, unsigned line)
{
	audit_str(a, "host", host);
	if (rule >= 0)
		audit_uint(a, "rule", (uint64_t)rule);
	else
		audit_null(a, "rule");
	if (rule >= 0 && line)
		audit_uint(a, "line", line);
	else
		audit_null(a, "line");
}

static void emit_connect(struct conn *c, const struct net_relay_verdict *v, bool allow)
{
	struct net_relay *r = c->relay;
	struct audit *a = event_sink_audit(r->o.sink);
	char key[448];

	if (!allow) {
		char example[96];

		snprintf(example, sizeof(example),
			 c->dest.family == AF_INET6 ? "tcp [%s]:%u" : "tcp %s:%u", c->dest.text,
			 c->dest.port);
		event_sink_refusal(r->o.sink, REFUSAL_NET, example);
	}
	if (!a)
		return;
	/* Must-record: the first of each (verdict, destination, reason, name sent); repeats are
	   counted. */
	c->logged = allow;
	snprintf(key, sizeof(key), "%s tcp %s %u %s %s", allow ? "allow" : "deny", c->dest.text,
		 c->dest.port, v->reason ? v->reason : "",
		 c->have_wire && c->wire.has_name ? c->wire.name : "");
	if (!event_sink_admit(r->o.sink, EVENT_MUST_RECORD, "net.connect", key))
		return;
	audit_begin(a, "net.connect");
	audit_str(a, "verdict", allow ? "allow" : "deny");
	audit_dest(a, c);
	audit_rule(a, allow ? v->rule : -1, allow ? v->host : NULL, v->line);
	audit_str(a, "via", "relay");
	if (c->have_wire && c->wire.has_name)
		audit_str(a, "name", c->wire.name);
	else
		audit_null(a, "name");
	audit_str(a, "name_from", c->have_wire ? nfwire_proto_to_string(c->wire.proto) : NULL);
	if (c->have_wire && c->wire.ech)
		audit_bool(a, "ech", true);
	if (*c->wire.target && !nfwire_same_name(c->wire.target, c->wire.name))
		audit_str(a, "target", c->wire.target);
	if (v->approval)
		audit_str(a, "approval", v->approval);
	if (!allow) {
		audit_str(a, "reason", v->reason ? v->reason : "undeclared");
		if (v->detail)
			audit_str(a, "detail", v->detail);
	}
	event_sink_end(r->o.sink);
}

static void emit_close(struct conn *c, const char *end, const char *by, int error)
{
	struct net_relay *r = c->relay;
	struct audit *a = event_sink_audit(r->o.sink);
	char key[128];

	/* Every allowed connection's end, must-record by (destination, how it ended): a counted
	   repeat of net.connect still has its end recorded once of each kind. */
	if (!a || !c->logged)
		return;
	snprintf(key, sizeof(key), "tcp %s %u %s %s", c->dest.text, c->dest.port, end,
		 by ? by : "");
	if (!event_sink_admit(r->o.sink, EVENT_MUST_RECORD, "net.close", key))
		return;
	audit_begin(a, "net.close");
	audit_dest(a, c);
	audit_rule(a, c->rule, c->host, c->line);
	audit_uint(a, "bytes_sent", c->up.bytes);
	audit_uint(a, "bytes_received", c->down.bytes);
	audit_fixed(a, "duration_s", now_monotonic_usec() - c->start_usec, 6);
	audit_str(a, "end", end);
	if (by)
		audit_str(a, "by", by);
	else
		audit_null(a, "by");
	if (error)
		audit_str(a, "error", strerror(error));
	else
		audit_null(a, "error");
	event_sink_end(r->o.sink);
}

/* --- the life of a connection --- */

static void listeners_watch(struct net_relay *r, bool on)
{
	if (r->listening == on)
		return;
	r->listening = on;
	for (size_t i = 0; i < r->n_listen; i++)
		(void)event_source_set_events(r->listen_src[i], on ? EPOLLIN : 0);
}

static void close_direction(struct direction *d)
{
	d->pipe_rd = safe_close(d->pipe_rd);
	d->pipe_wr = safe_close(d->pipe_wr);
}

/* Frees c; its sockets must have been closed (or are closed here, gracefully). */
static void conn_free(struct conn *c)
{
	struct net_relay *r = c->relay;

	c->skill_src = event_source_free(c->skill_src);
	c->host_src = event_source_free(c->host_src);
	c->skill_fd = safe_close(c->skill_fd);
	c->host_fd = safe_close(c->host_fd);
	close_direction(&c->up);
	close_direction(&c->down);
	free(c->first);
	if (c->prev)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	r->n_conns--;
	free(c);
	if (r->n_conns < r->max_conns)
		listeners_watch(r, true);
	rearm_timer(r);
}

/* Ends c with a reset to both sides (those still open). */
static void conn_abort(struct conn *c, const char *end, const char *by, int error)
{
	emit_close(c, end, by, error);
	c->skill_src = event_source_free(c->skill_src);
	c->host_src = event_source_free(c->host_src);
	reset_close(&c->skill_fd);
	reset_close(&c->host_fd);
	conn_free(c);
}

static int watch(struct conn *c, bool skill, uint32_t events)
{
	struct event_source **src = skill ? &c->skill_src : &c->host_src;
	int fd = skill ? c->skill_fd : c->host_fd;

	if (fd < 0)
		return 0;
	if (!*src)
		return event_add_io(c->relay->o.loop, src, fd, events, skill ? on_skill : on_host,
				    c);
	return event_source_set_events(*src, events);
}

/* A socket's pending error (ECONNRESET, ...), 0 when none. */
static int socket_error(int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return errno;
	return e;
}

/* --- relaying --- */

/*
 * Moves what can be moved in one direction without waiting. Returns 0, or a positive errno
 * for a side that failed: *ret_src_failed says whether it was the source (else the sink).
 */
static int pump(int src, int dst, struct direction *d, bool *ret_src_failed)
{
	for (int round = 0; round < RELAY_ROUNDS; round++) {
		ssize_t n;

		if (d->pending > 0) {
			n = splice(d->pipe_rd, NULL, dst, NULL, d->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				return 0;
			if (n < 0) {
				*ret_src_failed = false;
				return errno;
			}
			d->pending -= (size_t)n;
			d->bytes += (uint64_t)n;
			continue;
		}
		if (d->eof) {
			if (!d->shut) {
				d->shut = true;
				if (shutdown(dst, SHUT_WR) < 0 && errno != ENOTCONN) {
					*ret_src_failed = false;
					return errno;
				}
			}
			return 0;
		}
		n = splice(src, NULL, d->pipe_wr, NULL, RELAY_CHUNK,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			*ret_src_failed = true;
			return errno;
		}
		if (n == 0)
			d->eof = true;
		d->pending += (size_t)n;
	}
	return 0;
}

/* Sends what is left of the first data. Returns 0, or a positive errno. */
static int send_first(struct conn *c)
{
	while (c->first_sent < c->first_len) {
		ssize_t n = send(c->host_fd, c->first + c->first_sent, c->first_len - c->first_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return errno;
		c->first_sent += (size_t)n;
		c->up.bytes += (uint64_t)n;
	}
	return 0;
}

static void relay_step(struct conn *c)
{
	bool src_failed = false, first_done;
	int e;

	e = send_first(c);
	if (e) {
		conn_abort(c, e == EPIPE || e == ECONNRESET ? "reset" : "error", "destination",
			   e == EPIPE || e == ECONNRESET ? 0 : e);
		return;
	}
	first_done = c->first_sent == c->first_len;
	if (first_done) {
		e = pump(c->skill_fd, c->host_fd, &c->up, &src_failed);
		if (e) {
			bool reset = e == ECONNRESET || e == EPIPE;

			conn_abort(c, reset ? "reset" : "error",
				   src_failed ? "skill" : "destination", reset ? 0 : e);
			return;
		}
	}
	e = pump(c->host_fd, c->skill_fd, &c->down, &src_failed);
	if (e) {
		bool reset = e == ECONNRESET || e == EPIPE;

		conn_abort(c, reset ? "reset" : "error", src_failed ? "destination" : "skill",
			   reset ? 0 : e);
		return;
	}
	if (c->up.shut && c->down.shut) {
		/* Both sides ended their streams and know it: a clean close. */
		emit_close(c, "closed", NULL, 0);
		conn_free(c);
		return;
	}
	(void)watch(c, true,
		    (first_done && !c->up.eof && c->up.pending == 0 ? EPOLLIN : 0) |
			    (c->down.pending > 0 ? EPOLLOUT : 0));
	(void)watch(c, false,
		    (!c->down.eof && c->down.pending == 0 ? EPOLLIN : 0) |
			    (c->up.pending > 0 || !first_done ? EPOLLOUT : 0));
}

static int make_direction(struct direction *d)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	d->pipe_rd = p[0];
	d->pipe_wr = p[1];
	return 0;
}

static void connected(struct conn *c)
{
	int k;

	c->state = CONN_RELAYING;
	c->deadline_usec = 0;
	rearm_timer(c->relay);
	k = make_direction(&c->up);
	if (k >= 0)
		k = make_direction(&c->down);
	if (k < 0) {
		conn_abort(c, "error", "skillbox", -k);
		return;
	}
	relay_step(c);
}

static void connect_failed(struct conn *c, int e)
{
	/* The skill's connection was accepted already: a reset is how it learns. */
	conn_abort(c, end_of_errno(e), "destination", e);
}

/* The host side's socket, owned by the unprivileged uid the sandbox maps to. */
static int host_socket(struct net_relay *r, int family)
{
	bool root = geteuid() == 0;
	int fd, e;

	if (root) {
		setfsgid(r->o.host_gid);
		setfsuid(r->o.host_uid);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	e = errno;
	if (root) {
		setfsuid(0);
		setfsgid(0);
	}
	errno = e;
	return fd;
}

static void start_connect(struct conn *c, const struct net_relay_verdict *v)
{
	struct net_relay *r = c->relay;
	struct sockaddr_storage ss = { 0 };
	int family = v->connect_family ? v->connect_family : c->dest.family;
	const uint8_t *addr = v->connect_family ? v->connect_addr : c->dest.addr;
	socklen_t len;

	c->host_fd = host_socket(r, family);
	if (c->host_fd < 0) {
		conn_abort(c, "error", "skillbox", errno);
		return;
	}
	set_nodelay(c->host_fd);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(c->dest.port);
		memcpy(&sin->sin_addr, addr, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(c->dest.port);
		memcpy(&sin6->sin6_addr, addr, 16);
		len = sizeof(*sin6);
	}
	c->state = CONN_CONNECTING;
	/* Errors only from the skill's side while the host side connects. */
	(void)watch(c, true, 0);
	if (connect(c->host_fd, (struct sockaddr *)&ss, len) == 0) {
		connected(c);
		return;
	}
	if (errno != EINPROGRESS) {
		connect_failed(c, errno);
		return;
	}
	c->deadline_usec = now_monotonic_usec() + r->o.connect_timeout_usec;
	rearm_timer(r);
	if (watch(c, false, EPOLLOUT) < 0)
		conn_abort(c, "error", "skillbox", ENOMEM);
}

static void ask(struct conn *c, enum net_relay_name_end name_end)
{
	struct net_relay *r = c->relay;
	struct net_relay_query q = {
		.id = c->id,
		.dest = &c->dest,
		.wire = c->have_wire ? &c->wire : NULL,
		.name_end = name_end,
	};
	struct net_relay_verdict v = { .action = NET_RELAY_DENY, .rule = -1 };

	r->o.decide(r->o.userdata, &q, &v);
	apply_verdict(c, &v);
}

static void apply_verdict(struct conn *c, const struct net_relay_verdict *v)
{
	struct net_relay *r = c->relay;

	switch (v->action) {
	case NET_RELAY_ALLOW:
		c->rule = v->rule;
		c->host = v->host;
		c->line = v->line;
		c->deadline_usec = 0;
		emit_connect(c, v, true);
		start_connect(c, v);
		return;
	case NET_RELAY_NEED_NAME:
		if (c->have_wire)
			break; /* asked twice for the name: refuse */
		c->state = CONN_NAME;
		c->deadline_usec = now_monotonic_usec() + v->name_timeout_usec;
		rearm_timer(r);
		if (watch(c, true, EPOLLIN) < 0)
			break;
		return;
	case NET_RELAY_PENDING:
		c->state = CONN_PENDING;
		c->deadline_usec = 0;
		rearm_timer(r);
		if (watch(c, true, 0) < 0)
			break;
		return;
	case NET_RELAY_DENY:
	default:
		break;
	}
	emit_connect(c, v, false);
	c->skill_src = event_source_free(c->skill_src);
	reset_close(&c->skill_fd);
	conn_free(c);
}

/* The name phase: read what has arrived, and decide once the first bytes say enough. */
static void read_name(struct conn *c)
{
	for (;;) {
		size_t room;
		ssize_t n;

		if (c->first_len == c->first_size) {
			size_t size = c->first_size ? c->first_size * 2 : RELAY_FIRST_BUFFER;
			uint8_t *t;

			size = MIN(size, (size_t)NFWIRE_BUFFER_MAX);
			if (size == c->first_size)
				break; /* the parser has said what it can of a full buffer */
			t = realloc(c->first, size);
			if (!t) {
				conn_abort(c, "error", "skillbox", ENOMEM);
				return;
			}
			c->first = t;
			c->first_size = size;
		}
		room = c->first_size - c->first_len;
		n = recv(c->skill_fd, c->first + c->first_len, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			/* Closed or reset before it named a host. */
			if (c->first_len) {
				nfwire_parse(c->first, c->first_len, &c->wire);
				c->have_wire = true;
				if (c->wire.status != NFWIRE_MORE) {
					ask(c, NET_RELAY_NAME_READ);
					return;
				}
			}
			ask(c, NET_RELAY_NAME_CLOSED);
			return;
		}
		/* Parse again only once the parser said it could say more. */
		c->first_len += (size_t)n;
		if (c->have_wire && c->first_len < c->wire.need)
			continue;
		nfwire_parse(c->first, c->first_len, &c->wire);
		c->have_wire = true;
		if (c->wire.status != NFWIRE_MORE) {
			ask(c, NET_RELAY_NAME_READ);
			return;
		}
	}
}

static int on_skill(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	int e;

	switch (c->state) {
	case CONN_NAME:
		read_name(c);
		return 0;
	case CONN_PENDING:
	case CONN_CONNECTING:
		/* Only errors are watched: the skill gave up. */
		e = socket_error(c->skill_fd);
		if (c->state == CONN_PENDING) {
			struct net_relay_verdict v = { .action = NET_RELAY_DENY,
						       .rule = -1,
						       .reason = "abandoned",
						       .detail = "the skill reset the connection "
								 "before it was decided" };

			if (e == 0 && !(revents & EPOLLHUP))
				return 0;
			apply_verdict(c, &v);
			return 0;
		}
		if (e == 0 && !(revents & EPOLLHUP))
			return 0;
		conn_abort(c, "reset", "skill", 0);
		return 0;
	case CONN_RELAYING:
		if ((revents & EPOLLERR) && (e = socket_error(c->skill_fd))) {
			conn_abort(c, e == ECONNRESET ? "reset" : "error", "skill",
				   e == ECONNRESET ? 0 : e);
			return 0;
		}
		relay_step(c);
		return 0;
	}
	return 0;
}

static int on_host(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	int e;

	if (c->state == CONN_CONNECTING) {
		e = socket_error(c->host_fd);
		if (e)
			connect_failed(c, e);
		else if (revents & (EPOLLOUT | EPOLLHUP))
			connected(c);
		return 0;
	}
	if (c->state != CONN_RELAYING)
		return 0;
	if ((revents & EPOLLERR) && (e = socket_error(c->host_fd))) {
		conn_abort(c, e == ECONNRESET ? "reset" : "error", "destination",
			   e == ECONNRESET ? 0 : e);
		return 0;
	}
	relay_step(c);
	return 0;
}

static int on_timer(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_relay *r = userdata;
	uint64_t expirations, now = now_monotonic_usec();
	struct conn *next;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return 0;
	r->timer_at = 0;
	for (struct conn *c = r->conns; c; c = next) {
		next = c->next;
		if (!c->deadline_usec || c->deadline_usec > now)
			continue;
		c->deadline_usec = 0;
		if (c->state == CONN_NAME) {
			if (c->first_len) {
				nfwire_parse(c->first, c->first_len, &c->wire);
				c->have_wire = true;
			}
			/* A connection freed here may be the next one's neighbour: start over. */
			ask(c, NET_RELAY_NAME_TIMEOUT);
			next = r->conns;
		} else if (c->state == CONN_CONNECTING) {
			connect_failed(c, ETIMEDOUT);
			next = r->conns;
		}
	}
	rearm_timer(r);
	return 0;
}

static void accept_one(struct net_relay *r, int listen_fd)
{
	struct sockaddr_storage peer = { 0 }, dst;
	socklen_t plen = sizeof(peer);
	struct conn *c;
	int fd, k;

	fd = accept4(listen_fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		reset_close(&fd);
		return;
	}
	*c = (struct conn){
		.relay = r,
		.id = ++r->next_id,
		.start_usec = now_monotonic_usec(),
		.skill_fd = fd,
		.host_fd = -1,
		.up = { .pipe_rd = -1, .pipe_wr = -1 },
		.down = { .pipe_rd = -1, .pipe_wr = -1 },
		.rule = -1,
	};
	c->next = r->conns;
	if (c->next)
		c->next->prev = c;
	r->conns = c;
	r->n_conns++;
	if (r->n_conns >= r->max_conns)
		listeners_watch(r, false);
	set_nodelay(fd);

	c->dest.family = peer.ss_family;
	if (peer.ss_family == AF_INET6)
		c->dest.src_port = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
	else
		c->dest.src_port = ntohs(((struct sockaddr_in *)&peer)->sin_port);
	k = nfrelay_original_dst(fd, &dst);
	if (k >= 0 && dst.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&dst;

		c->dest.family = AF_INET;
		memcpy(c->dest.addr, &sin->sin_addr, 4);
		c->dest.port = ntohs(sin->sin_port);
	} else if (k >= 0 && dst.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&dst;

		c->dest.family = AF_INET6;
		memcpy(c->dest.addr, &sin6->sin6_addr, 16);
		c->dest.port = ntohs(sin6->sin6_port);
	} else {
		/* Connected to the listener itself: it leads nowhere. */
		struct sockaddr_storage local = { 0 };
		socklen_t llen = sizeof(local);

		(void)getsockname(fd, (struct sockaddr *)&local, &llen);
		c->dest.family = local.ss_family == AF_INET6 ? AF_INET6 : AF_INET;
		if (c->dest.family == AF_INET6)
			memcpy(c->dest.addr, &((struct sockaddr_in6 *)&local)->sin6_addr, 16);
		else
			memcpy(c->dest.addr, &((struct sockaddr_in *)&local)->sin_addr, 4);
		c->dest.port = NFRELAY_PORT;
		inet_ntop(c->dest.family, c->dest.addr, c->dest.text, sizeof(c->dest.text));
		apply_verdict(c, &(struct net_relay_verdict){ .action = NET_RELAY_DENY,
							      .rule = -1,
							      .reason = "undeclared" });
		return;
	}
	inet_ntop(c->dest.family, c->dest.addr, c->dest.text, sizeof(c->dest.text));
	ask(c, NET_RELAY_NAME_READ);
}

static int on_listener(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_relay *r = userdata;

	/* A bounded batch: the loop stays responsive under a flood of connections. */
	for (int i = 0; i < 64 && r->listening; i++) {
		size_t before = r->n_conns;
		uint64_t id = r->next_id;

		accept_one(r, fd);
		if (r->next_id == id && r->n_conns == before)
			break; /* nothing (more) to accept */
	}
	return 0;
}

/* --- net-relay.h --- */

int net_relay_new(const struct net_relay_opts *o, struct net_relay **ret)
{
	struct net_relay *r = calloc(1, sizeof(*r));
	struct rlimit rl;
	int k;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->listen_fd[0] = r->listen_fd[1] = -1;
	r->listening = true;
	/*
	 * Each connection holds six descriptors. The supervisor may use what the hard limit
	 * allows (the sandbox, started already, keeps the limits it was given).
	 */
	r->max_conns = 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = MIN(rl.rlim_max,
					  (rlim_t)(RELAY_MAX_CONNS * RELAY_FDS_PER_CONN + 256));
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur > 256)
			r->max_conns = MIN((size_t)((rl.rlim_cur - 128) / RELAY_FDS_PER_CONN),
					   (size_t)RELAY_MAX_CONNS);
	}
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->timer_fd < 0) {
		k = -errno;
		free(r);
		return k;
	}
	k = event_add_io(r->o.loop, &r->timer_src, r->timer_fd, EPOLLIN, on_timer, r);
	if (k < 0) {
		safe_close(r->timer_fd);
		free(r);
		return k;
	}
	*ret = r;
	return 0;
}

int net_relay_add_listener(struct net_relay *r, int fd)
{
	int k;

	if (r->n_listen >= ELEMENTSOF(r->listen_fd)) {
		safe_close(fd);
		return -E2BIG;
	}
	k = event_add_io(r->o.loop, &r->listen_src[r->n_listen], fd, r->listening ? EPOLLIN : 0,
			 on_listener, r);
	if (k < 0) {
		safe_close(fd);
		return k;
	}
	r->listen_fd[r->n_listen++] = fd;
	return 0;
}

void net_relay_decided(struct net_relay *r, uint64_t id, const struct net_relay_verdict *v)
{
	if (!r)
		return;
	for (struct conn *c = r->conns; c; c = c->next)
		if (c->id == id && c->state == CONN_PENDING) {
			apply_verdict(c, v);
			return;
		}
}

void net_relay_finish(struct net_relay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_listen; i++) {
		r->listen_src[i] = event_source_free(r->listen_src[i]);
		r->listen_fd[i] = safe_close(r->listen_fd[i]);
	}
	r->n_listen = 0;
	while (r->conns) {
		struct conn *c = r->conns;

		if (c->state == CONN_RELAYING) {
			/* Deliver what the skill sent before it went, then say it ended. */
			relay_step(c);
			if (r->conns != c)
				continue;
			if (c->up.eof && c->up.pending == 0 && c->first_sent == c->first_len) {
				(void)shutdown(c->host_fd, SHUT_WR);
				emit_close(c, "run-ended", "skill", 0);
				conn_free(c);
				continue;
			}
			conn_abort(c, "run-ended", "skill", 0);
		} else if (c->state == CONN_CONNECTING) {
			conn_abort(c, "run-ended", "skill", 0);
		} else {
			apply_verdict(c, &(struct net_relay_verdict){
						 .action = NET_RELAY_DENY,
						 .rule = -1,
						 .reason = "abandoned",
						 .detail = "the run ended before it was decided" });
		}
	}
	r->timer_src = event_source_free(r->timer_src);
	r->timer_fd = safe_close(r->timer_fd);
}

struct net_relay *net_relay_free(struct net_relay *r)
{
	if (!r)
		return NULL;
	net_relay_finish(r);
	free(r);
	return NULL;
}
