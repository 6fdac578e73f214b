/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The kernel-facing parts of skillbox's TCP relay, which carries the sandbox's declared TCP
 * itself instead of a user-mode network stack (the relay's connections live in
 * launcher/net-relay.c, the rules that send connections to it in nfrules.c).
 *
 * Inside the sandbox's network namespace, its init opens the listeners (127.0.0.1 and ::1 on
 * NFRELAY_PORT, the port the relay chain redirects to) and hands them to skillbox. A socket
 * accepted from them knows where the skill meant to connect: the original destination that
 * conntrack kept when the nat rule rewrote it (SO_ORIGINAL_DST).
 */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/*
 * The listeners' port: below ip_unprivileged_port_start, so no unprivileged process in the
 * sandbox can bind it, and not a port anything in a fresh namespace uses.
 */
#define NFRELAY_PORT 1
/* Connections waiting to be accepted (the kernel caps it at net.core.somaxconn). */
#define NFRELAY_BACKLOG 256

/** A non-blocking TCP listener on the family's loopback address at port. 0 or -errno. */
int nfrelay_listen(int family, uint16_t port, int *ret_fd);

/**
 * The destination a redirected connection was addressed to, with the port, from conntrack.
 * -ENOENT when the connection was not redirected (the skill connected to the listener itself).
 */
int nfrelay_original_dst(int fd, struct sockaddr_storage *ret);

/** A UDP socket bound to addr:port (the --ask resolver). 0 or -errno. */
int nfrelay_udp_socket(int family, const char *addr, uint16_t port, int *ret_fd);
