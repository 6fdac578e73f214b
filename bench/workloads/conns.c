/* SPDX-License-Identifier: MIT */
/*
 * conns HOST PORT NAME K: K connections one after the other, each sending an HTTP/1.1 request
 * naming NAME and reading the answer to the end; prints the mean nanoseconds per connection and
 * K. What the relay's name check costs a connection shows against an address rule.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char req[512], buf[4096];
	int64_t t0;
	int r, k, n;

	if (argc != 5) {
		fprintf(stderr, "usage: conns HOST PORT NAME K\n");
		return 2;
	}
	k = atoi(argv[4]);
	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		     argv[3]);
	r = getaddrinfo(argv[1], argv[2], &hints, &res);
	if (r != 0) {
		fprintf(stderr, "conns: %s: %s\n", argv[1], gai_strerror(r));
		return 1;
	}
	t0 = now_ns();
	for (int i = 0; i < k; i++) {
		int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ssize_t got;

		if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0 ||
		    write(fd, req, (size_t)n) != n) {
			fprintf(stderr, "conns: %s:%s: %m\n", argv[1], argv[2]);
			return 1;
		}
		while ((got = read(fd, buf, sizeof(buf))) > 0)
			;
		if (got < 0) {
			fprintf(stderr, "conns: read: %m\n");
			return 1;
		}
		close(fd);
	}
	printf("%" PRId64 " %d\n", (now_ns() - t0) / k, k);
	freeaddrinfo(res);
	return 0;
}
