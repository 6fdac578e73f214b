/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * `skillbox run --ask` (launcher/net-ask.c): questions about the network asked on the caller's
 * terminal while the skill waits.
 *
 * The network layer posts a question when a connection or a DNS query has no declaration that
 * allows it; the connection (or query) is held meanwhile. Questions are asked one at a time on
 * /dev/tty, the caller's controlling terminal, which skillbox opened itself: every line skillbox
 * writes there starts with "skillbox --ask:", apart from whatever the skill writes to its own
 * output. The answers: allow once, allow for this run, allow and add the destination to the
 * manifest (the addition is shown as a diff and written only after a second "y"), or deny; no
 * answer within the timeout is a deny. Each answer is recorded as net.approve: what was asked,
 * the answer, who gave it (the terminal and the caller's uid, or the timeout), and whether the
 * manifest was changed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-loop.h"
#include "event-sink.h"
#include "manifest.h"

struct net_ask;

enum net_ask_answer {
	NET_ASK_DENY,
	NET_ASK_ONCE,
	NET_ASK_RUN,
	NET_ASK_ADD, /* allowed for the run; added to the manifest if the caller confirmed */
};

struct net_ask_question {
	const char *kind; /* "connect" or "dns": net.approve's kind */
	const char *text; /* what the skill wants, one line: "connect to 192.0.2.1 port 443 ..." */
	/* For the trail. */
	const char *proto;   /* "tcp", "udp" or NULL */
	const char *address; /* or NULL */
	int port;	     /* -1: none */
	const char *name;    /* the host name involved, or NULL */
	/* The lines of the egress entry that "add" writes; n_entry 0: add is not offered. */
	const char *const *entry;
	size_t n_entry;
};

/* The answer to the question posted with this userdata. */
typedef void (*net_ask_done_t)(void *userdata, enum net_ask_answer answer);

struct net_ask_opts {
	int tty_fd; /* /dev/tty, read-write; taken over */
	uint64_t timeout_usec;
	struct event_loop *loop;
	struct event_sink *sink;
	/* The manifest "add" edits: its path, its text as loaded, and how to parse it again. */
	const char *manifest_path;
	const char *manifest_data;
	size_t manifest_len;
	struct manifest_parse_opts parse_opts;
	uid_t caller_uid;
	/* Called with true before a question is asked, with false once none is open: the
	   terminal's input is the questions' meanwhile (streams_hold_terminal()). May be NULL. */
	void (*hold)(void *userdata, bool hold);
	void *hold_userdata;
};

int net_ask_new(const struct net_ask_opts *o, struct net_ask **ret);
/**
 * Posts a question (copied); done is called once with the answer, later, from the loop (never
 * from within this call). 0, -ENOTTY when the terminal is gone, or -ENOMEM.
 */
int net_ask_post(struct net_ask *a, const struct net_ask_question *q, net_ask_done_t done,
		 void *userdata);
/** The run is over: questions still open are answered deny (without asking), unrecorded. */
void net_ask_finish(struct net_ask *a);
struct net_ask *net_ask_free(struct net_ask *a);

/** "once", "run", "add", "deny". */
const char *net_ask_answer_to_string(enum net_ask_answer a);
