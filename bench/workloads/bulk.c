/* SPDX-License-Identifier: MIT */
/*
 * bulk HOST PORT: connects over TCP and reads until the server closes; prints the nanoseconds
 * from before connect() to the end of the stream, and the bytes read. HOST is resolved with
 * getaddrinfo() (inside the sandbox, from the /etc/hosts skillbox pins).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
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
	static char buf[256 * 1024];
	uint64_t total = 0;
	int64_t t0;
	int fd, r;

	if (argc != 3) {
		fprintf(stderr, "usage: bulk HOST PORT\n");
		return 2;
	}
	r = getaddrinfo(argv[1], argv[2], &hints, &res);
	if (r != 0) {
		fprintf(stderr, "bulk: %s: %s\n", argv[1], gai_strerror(r));
		return 1;
	}
	t0 = now_ns();
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		fprintf(stderr, "bulk: connect %s:%s: %m\n", argv[1], argv[2]);
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			fprintf(stderr, "bulk: read: %m\n");
			return 1;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	printf("%" PRId64 " %" PRIu64 "\n", now_ns() - t0, total);
	freeaddrinfo(res);
	close(fd);
	return 0;
}
