/* SPDX-License-Identifier: MIT */
/*
 * connect [N]: N TCP connections to a listener of its own on 127.0.0.1 (socket, connect,
 * accept, close both), the per-call cost of connect() when the seccomp filter sends it to
 * skillbox's listener (--trace connect) against when it does not.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 16) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return 1;
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			return 1;
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			return 1;
		close(s);
		close(c);
	}
	return 0;
}
