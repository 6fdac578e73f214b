/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "escape.h"
#include "summary.h"

static void audit_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox audit verify [-q] [--head HASH] FILE\n"
		"       skillbox audit summary [--format text|markdown|json] FILE\n"
		"\n"
		"verify   checks the SHA-256 chain of an audit trail: exits 0 when it is intact and\n"
		"         1 naming the first line that breaks it (edited, removed, reordered,\n"
		"         inserted, truncated, or appended without knowing the chain). It prints\n"
		"         the hash of the last line; keep that elsewhere (--head) to protect the\n"
		"         last line too, which no later line can vouch for. Where the trail shared\n"
		"         a stream with the skill's output (--audit -), lines no run's chain\n"
		"         holds are the skill's: they are counted and named apart, and break\n"
		"         nothing.\n"
		"summary  a reviewer's report: the skill, who ran it, the layers, the exit, and every\n"
		"         refusal grouped by kind and target. It verifies the chain first.\n"
		"\n"
		"Exit status: 0 intact, 1 broken or refused, 125 usage error or unreadable file.\n");
}

/* Maps a whole file read-only; an empty file is a valid (empty) mapping of length 0. */
static int map_file(const char *path, const char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	void *p;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size == 0) {
		*ret = "";
		*ret_len = 0;
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*ret = p;
	*ret_len = (size_t)st.st_size;
	return 0;
}

static void unmap_file(const char *p, size_t len)
{
	if (len)
		munmap((void *)p, len);
}

/* The one FILE operand of a subcommand, mapped: 0, or the exit status after the message. */
static int map_operand(const char *verb, int argc, char **argv, const char **ret, size_t *ret_len)
{
	int k;

	if (optind != argc - 1) {
		log_error("audit %s: expected exactly one FILE", verb);
		return EXIT_SKILLBOX_FAILED;
	}
	k = map_file(argv[optind], ret, ret_len);
	if (k < 0) {
		log_error_errno(k, "audit %s: %s", verb, argv[optind]);
		return EXIT_SKILLBOX_FAILED;
	}
	return 0;
}

/*
 * Lines no run's chain holds, in a stream the trail shared with the skill's output: what the
 * skill wrote there. They are not part of the trail, and cannot change it.
 */
static void print_foreign(const char *path, const struct audit_verify_result *res)
{
	printf("%s: %llu foreign line%s (not the trail's: the skill's output in the stream the "
	       "trail shared)",
	       escaped(path), (unsigned long long)res->foreign, res->foreign == 1 ? "" : "s");
	for (size_t i = 0; i < res->n_foreign_ranges; i++) {
		const struct audit_line_range *l = &res->foreign_ranges[i];

		printf("%s%llu", i ? ", " : ": line ", (unsigned long long)l->first);
		if (l->last != l->first)
			printf("-%llu", (unsigned long long)l->last);
	}
	if (res->foreign_ranges_cut)
		printf(", ...");
	if (res->foreign_claiming)
		printf("; %llu of them name a run of the trail without fitting its chain "
		       "(forged or edited lines)",
		       (unsigned long long)res->foreign_claiming);
	printf("\n");
}

static int verify(int argc, char **argv)
{
	enum {
		OPT_HEAD = 256
	};
	static const struct option options[] = {
		{ "head", required_argument, NULL, OPT_HEAD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct audit_verify_result res;
	const char *head = NULL, *data;
	bool quiet = false;
	size_t len;
	int c, k;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+qh", options, NULL)) >= 0) {
		switch (c) {
		case OPT_HEAD:
			head = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			audit_help(stdout);
			return 0;
		default:
			audit_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	k = map_operand("verify", argc, argv, &data, &len);
	if (k)
		return k;
	k = audit_verify(data, len, &res);
	unmap_file(data, len);
	if (k == -EBADMSG) {
		log_plain("%s:%llu: %s", argv[optind], (unsigned long long)res.bad_line,
			  res.reason);
		return 1;
	}
	if (k < 0) {
		log_error_errno(k, "audit verify: %s", argv[optind]);
		return EXIT_SKILLBOX_FAILED;
	}
	if (head && strcasecmp(head, res.head) != 0) {
		log_plain("%s:%llu: the last line's SHA-256 is %s, not the recorded head %s (the "
			  "last line was edited, or lines were added or removed at the end)",
			  argv[optind], (unsigned long long)res.lines, res.head, head);
		return 1;
	}
	if (!quiet)
		printf("%s: intact: %llu lines, %llu run%s, head sha256:%s\n",
		       escaped(argv[optind]), (unsigned long long)res.lines,
		       (unsigned long long)res.runs, res.runs == 1 ? "" : "s", res.head);
	if (!quiet && res.foreign)
		print_foreign(argv[optind], &res);
	return 0;
}

static int summary(int argc, char **argv)
{
	enum {
		OPT_FORMAT = 256
	};
	static const struct option options[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	enum audit_summary_format format = AUDIT_SUMMARY_TEXT;
	const char *data;
	size_t len;
	int c, k;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_FORMAT:
			if (streq(optarg, "text"))
				format = AUDIT_SUMMARY_TEXT;
			else if (streq(optarg, "markdown") || streq(optarg, "md"))
				format = AUDIT_SUMMARY_MARKDOWN;
			else if (streq(optarg, "json"))
				format = AUDIT_SUMMARY_JSON;
			else {
				log_error(
					"audit summary: --format: expected text, markdown or json, "
					"got '%s'",
					optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case 'h':
			audit_help(stdout);
			return 0;
		default:
			audit_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	k = map_operand("summary", argc, argv, &data, &len);
	if (k)
		return k;
	k = audit_summary_write(stdout, argv[optind], data, len, format);
	unmap_file(data, len);
	if (k < 0 && k != -EBADMSG) {
		log_error_errno(k, "audit summary: %s", argv[optind]);
		return EXIT_SKILLBOX_FAILED;
	}
	/* A broken chain is reported loudly in the report itself, and in the exit status. */
	return k == -EBADMSG ? 1 : 0;
}

int cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		audit_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	if (streq(argv[1], "--help") || streq(argv[1], "-h")) {
		audit_help(stdout);
		return 0;
	}
	if (streq(argv[1], "verify"))
		return verify(argc - 1, argv + 1);
	if (streq(argv[1], "summary"))
		return summary(argc - 1, argv + 1);
	log_error("audit: unknown subcommand '%s' (verify or summary)", argv[1]);
	return EXIT_SKILLBOX_FAILED;
}
