/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * User namespace helpers: reading the id maps of the namespace we run in, and making a
 * throwaway user namespace whose only purpose is to describe an id mapping (for
 * MOUNT_ATTR_IDMAP).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * Whether ids first..last (inclusive) of our own user namespace all have a mapping in the
 * map at path ("/proc/self/uid_map" or "/proc/self/gid_map"): 1 yes, 0 no, -errno.
 */
int id_map_covers(const char *path, uint32_t first, uint32_t last);

/**
 * Formats the first extents of the map at path as "0 100000 65536, ..." into buf, for a
 * message; returns buf (empty on error).
 */
char *id_map_describe(const char *path, char *buf, size_t size);

/**
 * A new user namespace, owned by the caller, whose uid map sends inner_uid to outer_uid and
 * whose gid map sends inner_gid to outer_gid (one id each), returned as an O_CLOEXEC fd.
 * Writing such maps for ids other than one's own needs CAP_SETUID/CAP_SETGID. Starts and
 * reaps a short-lived process that shares our memory and only waits to be killed.
 */
int userns_new_mapping(uid_t inner_uid, uid_t outer_uid, gid_t inner_gid, gid_t outer_gid);
