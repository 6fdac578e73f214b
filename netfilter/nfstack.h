/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The user-mode network stack that gives a sandbox with declared egress a route out without
 * any privilege: pasta (passt), or slirp4netns when pasta is missing or fails. It runs as a
 * child of skillbox, as the unprivileged host uid the sandbox user maps to, joins the sandbox's
 * user and network namespaces through descriptors it inherits (pasta's standard ones: it
 * closes all others as it starts) or, for a root caller, is started inside the user namespace
 * (see enter_userns), and dies with skillbox (PR_SET_PDEATHSIG, and slirp4netns's exit pipe).
 *
 * Both stacks get the same addressing, so the ruleset, built before either starts, fits
 * whichever runs. Connections are made from host sockets by the stack; nothing inbound is
 * forwarded, and the gateway reaches the host's loopback only when the manifest declares
 * host-loopback.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NFSTACK_IFNAME	"eth0"
#define NFSTACK_ADDR4	"10.0.2.100"
#define NFSTACK_PREFIX4 "24"
#define NFSTACK_GW4	"10.0.2.2" /* the host's loopback, when declared */
#define NFSTACK_DNS4	"10.0.2.3" /* the host's resolver, with `dns: resolver` */
#define NFSTACK_ADDR6	"fd00::100"
#define NFSTACK_GW6	"fd00::2"
#define NFSTACK_DNS6	"fd00::3"
#define NFSTACK_MTU	"65520"

enum nfstack_kind {
	NFSTACK_NONE,
	NFSTACK_PASTA,
	NFSTACK_SLIRP4NETNS,
};

const char *nfstack_kind_to_string(enum nfstack_kind k);

struct nfstack_opts {
	enum nfstack_kind kind;
	const char *path;
	int userns_fd; /* the sandbox's namespaces, inherited by the stack */
	int netns_fd;
	/*
	 * We are root and own the user namespace: the stack cannot join it by itself once it
	 * runs as uid (only the namespace's owner, or CAP_SYS_ADMIN, may), so its process joins
	 * it as root, becomes ns_uid/ns_gid there (uid/gid on the host) keeping the network
	 * capabilities as ambient ones, and execs the stack with the network namespace only.
	 */
	bool enter_userns;
	uid_t uid; /* the host uid the stack runs as, with enter_userns */
	gid_t gid;
	uid_t ns_uid; /* the same, inside the user namespace */
	gid_t ns_gid;
	const char
		*run_id; /* SKILLBOX_RUN=<id> is the stack's whole environment: it names its run */
	bool host_loopback; /* the gateway address reaches the host's 127.0.0.1 / ::1 */
	bool dns_forward;   /* NFSTACK_DNS4 forwards queries to the host's resolver */
	bool udp;	    /* some rule allows UDP (pasta starts faster without its UDP tables) */
	bool no_tcp;	    /* skillbox relays all TCP itself: the stack carries none */
};

/**
 * The command line (pure, for tests). slirp4netns: ready_fd and exit_fd are the numbers it
 * inherits, and so are the namespaces'; pasta gets all three on its standard descriptors.
 */
int nfstack_argv(const struct nfstack_opts *o, int ready_fd, int exit_fd, char ***ret);

#define NFSTACK_LOG_TAIL 1024

struct nfstack {
	enum nfstack_kind kind;
	pid_t pid;
	int pidfd;
	int ready_fd; /* slirp4netns: read end of its --ready-fd ("1"); pasta: -1 */
	int log_fd;   /* read end of its output; pasta writes its pid there once ready */
	int exit_fd;  /* write end of slirp4netns's --exit-fd pipe; closing it stops it */
	char ready_buf[32];
	size_t ready_len;
	bool ready;
	char log[NFSTACK_LOG_TAIL]; /* the last bytes it printed */
	size_t log_len;
};

#define NFSTACK_INIT                                                               \
	{                                                                          \
		.pid = 0, .pidfd = -1, .ready_fd = -1, .log_fd = -1, .exit_fd = -1 \
	}

/** Starts the stack (non-blocking descriptors in s). Returns 0 or -errno. */
int nfstack_start(const struct nfstack_opts *o, struct nfstack *s);
/**
 * Reads what tells that it is ready (slirp4netns: ready_fd; pasta: its output, into s->log
 * too): 1 when configured, 0 not yet, -EPIPE when that closed first.
 */
int nfstack_read_ready(struct nfstack *s);
/** Reads what it printed into s->log (kept to the last NFSTACK_LOG_TAIL bytes); true at EOF. */
bool nfstack_read_log(struct nfstack *s);
/** Its last meaningful line of output (syslog noise skipped), in buf; "" when none. */
const char *nfstack_last_message(const struct nfstack *s, char *buf, size_t size);
/** Sends it SIGKILL (it frees its memory while we finish); nfstack_stop() reaps it. */
void nfstack_kill(struct nfstack *s);
/** Kills and reaps it, closes every descriptor; idempotent. */
void nfstack_stop(struct nfstack *s);
/**
 * Kills it and lets it go, for the end of a run: reaped at once if it has finished exiting,
 * otherwise it finishes on its own (SIGKILL is taken when it is sent: it runs no more code of
 * its own; whoever inherits it reaps it). Closes every descriptor; idempotent.
 */
void nfstack_release(struct nfstack *s);

/**
 * Opens the user and network namespaces of process pid through /proc (works for a caller with
 * CAP_SYS_PTRACE; an unprivileged caller cannot open those of a non-dumpable process).
 */
int nfstack_open_namespaces(pid_t pid, int *ret_userns, int *ret_netns);
