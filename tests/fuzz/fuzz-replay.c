/* SPDX-License-Identifier: MIT */
/*
 * Runs a fuzz target over saved inputs without libFuzzer, so that any compiler can replay the
 * corpus (and past crashes) as a regular test. Arguments are files or directories of files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "fuzz.h"
#include "macros.h"

/* Comfortably above MANIFEST_MAX_SIZE, so the "too large" path can be replayed too. */
#define REPLAY_MAX_SIZE (4 * 1024 * 1024)

static int replay_file(int dirfd, const char *path, unsigned *count)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	r = read_file_bounded(dirfd, path, REPLAY_MAX_SIZE, &data, &len);
	if (r < 0) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(-r));
		return r;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	(*count)++;
	return 0;
}

static int replay_dir(const char *path, unsigned *count)
{
	struct dirent **names = NULL;
	_cleanup_close_ int fd = -1;
	int n, r = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fuzz-replay: %s: %m\n", path);
		return -errno;
	}
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz-replay: %s: %m\n", path);
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (r >= 0 && fstatat(fd, names[i]->d_name, &st, 0) == 0 && S_ISREG(st.st_mode))
			r = replay_file(fd, names[i]->d_name, count);
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "fuzz-replay: %s: %m\n", argv[i]);
			return EXIT_FAILURE;
		}
		r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
					: replay_file(AT_FDCWD, argv[i], &count);
		if (r < 0)
			return EXIT_FAILURE;
	}
	/* An empty run would pass while testing nothing: a wrong path must fail. */
	if (count == 0) {
		fprintf(stderr, "fuzz-replay: no inputs\n");
		return EXIT_FAILURE;
	}
	printf("fuzz-replay: %u inputs ran cleanly\n", count);
	return EXIT_SUCCESS;
}
