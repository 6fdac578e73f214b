/* SPDX-License-Identifier: MIT */
/* common/: the helpers the other folders share. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "path-util.h"
#include "tap.h"
#include "userns-util.h"

/* Writes text to a fresh temporary file whose path goes to path (64 bytes); returns path. */
static const char *map_file(char *path, const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/skillbox-unit-map-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

static void test_id_map(void)
{
	/* The host's map, and a user-namespaced container's (0-65535, in two extents). */
	char full_path[64], split_path[64], buf[128];
	const char *full = map_file(full_path, "         0          0 4294967295\n");
	const char *split = map_file(split_path, "     1000     101000      64536\n"
						 "        0     100000       1000\n");

	is_int(id_map_covers(full, 1879048192u, 1879113727u), 1, "id map: 0-4294967294 covers it");
	is_int(id_map_covers(split, 0, 65535), 1,
	       "id map: unsorted extents together cover 0-65535");
	is_int(id_map_covers(split, 60578, 61183), 1, "id map: the 16-bit range inside one extent");
	is_int(id_map_covers(split, 65000, 65536), 0, "id map: one id past the end is not covered");
	is_int(id_map_covers(split, 1879048192u, 1879113727u), 0, "id map: the high range is not");
	is_int(id_map_covers(split, 5, 4), -EINVAL, "id map: an empty range is an error");
	is_int(id_map_covers("/nonexistent/uid_map", 0, 1), -ENOENT, "id map: a missing file");
	is_str(id_map_describe(split, buf, sizeof(buf)), "1000-65535, 0-999",
	       "id map: described as ranges");
	unlink(full);
	unlink(split);
}

static void test_dotdot(void)
{
	ok(path_has_dotdot("/a/../b"), "dotdot: in the middle");
	ok(path_has_dotdot(".."), "dotdot: alone");
	ok(path_has_dotdot("a/.."), "dotdot: at the end");
	ok(!path_has_dotdot("/a/..b/c.."), "dotdot: names that start or end with .. are names");
	ok(!path_has_dotdot("/a/./b"), "dotdot: a single dot is not");
	ok(!path_has_dotdot(""), "dotdot: empty");
}

int main(void)
{
	test_id_map();
	test_dotdot();
	return tap_done();
}
