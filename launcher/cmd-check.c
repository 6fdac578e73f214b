/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static void check_help(FILE *f)
{
	fprintf(f, "Usage: skillbox check [-v] MANIFEST|DIR...\n"
		   "\n"
		   "Validates manifests without running anything. Every problem is printed as\n"
		   "FILE:LINE:COLUMN: message. Exit status: 0 when all are valid, 1 when any is\n"
		   "not, 125 on a usage error.\n"
		   "\n"
		   "  -v, --verbose   also print one line per valid manifest\n"
		   "  -h, --help      show this help\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool verbose = false;
	int c, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+vh", options, NULL)) >= 0) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'h':
			check_help(stdout);
			return 0;
		default:
			check_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind >= argc) {
		log_error("check: no manifest given");
		check_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	for (int i = optind; i < argc; i++) {
		_cleanup_manifest_free_ struct manifest *m = NULL;

		if (manifest_load(argv[i], &m, NULL, NULL) < 0) {
			status = EXIT_CHECK_INVALID;
			continue;
		}
		if (verbose)
			printf("%s: valid (%s)\n", m->path, m->name);
	}
	return status;
}
