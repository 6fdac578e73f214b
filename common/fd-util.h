/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Reads until size bytes or EOF, retrying on EINTR; returns the count or -errno. */
ssize_t read_full(int fd, void *p, size_t size);
/** Writes all of size bytes, retrying on EINTR and short writes; 0 or -errno. */
int write_full(int fd, const void *p, size_t size);
/**
 * Reads a whole file opened at path (relative to dirfd) into a NUL-terminated buffer.
 * Refuses files larger than max with -EFBIG before reading more than max+1 bytes.
 */
int read_file_bounded(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/** Same, from an already open fd (not closed). */
int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_len);
int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);
/** Sends one datagram of data plus n_fds descriptors over a unix socket. */
int send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds);
/**
 * Receives one datagram and up to max_fds descriptors (made O_CLOEXEC). Returns the number of
 * bytes (0 on EOF) and stores the received count in *ret_n_fds; extra fds are closed.
 */
ssize_t recv_with_fds(int sock, void *data, size_t len, int *fds, size_t max_fds,
		      size_t *ret_n_fds);
/** CLOCK_MONOTONIC / CLOCK_REALTIME in microseconds. */
uint64_t now_monotonic_usec(void);
uint64_t now_realtime_usec(void);
