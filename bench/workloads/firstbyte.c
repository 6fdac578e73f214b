/* SPDX-License-Identifier: MIT */
/*
 * firstbyte HOST PORT: connects over TCP, reads one byte and writes it to stdout; the driver
 * times the moment that byte arrives. HOST is resolved with getaddrinfo() (inside the sandbox,
 * from the /etc/hosts skillbox pins); "host-loopback" that does not resolve falls back to the
 * default gateway, which is where pasta maps the host's loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int gateway(char *buf, size_t size)
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[256];
	int r = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char ifname[64];
		unsigned dest, gw;

		if (sscanf(line, "%63s %x %x", ifname, &dest, &gw) == 3 && dest == 0 && gw) {
			struct in_addr a = { .s_addr = gw };

			r = inet_ntop(AF_INET, &a, buf, (socklen_t)size) ? 0 : -1;
			break;
		}
	}
	fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	const char *host;
	char gw[64], c;
	int fd, r;

	if (argc != 3) {
		fprintf(stderr, "usage: firstbyte HOST PORT\n");
		return 2;
	}
	host = argv[1];
	r = getaddrinfo(host, argv[2], &hints, &res);
	if (r != 0 && !strcmp(host, "host-loopback") && gateway(gw, sizeof(gw)) == 0) {
		host = gw;
		r = getaddrinfo(host, argv[2], &hints, &res);
	}
	if (r != 0) {
		fprintf(stderr, "firstbyte: %s: %s\n", argv[1], gai_strerror(r));
		return 1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		fprintf(stderr, "firstbyte: connect %s:%s: %m\n", host, argv[2]);
		return 1;
	}
	if (read(fd, &c, 1) != 1) {
		fprintf(stderr, "firstbyte: read: no byte from %s:%s\n", host, argv[2]);
		return 1;
	}
	if (write(STDOUT_FILENO, &c, 1) != 1)
		return 1;
	freeaddrinfo(res);
	close(fd);
	return 0;
}
