/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
} verbs[] = {
	{ "run", cmd_run, "run [OPTIONS] MANIFEST|DIR [-- ARGS...]   run a skill in its sandbox" },
	{ "check", cmd_check,
	  "check [-v] [--strict] MANIFEST|DIR...    validate; predict what would fail" },
	{ "explain", cmd_explain,
	  "explain MANIFEST|DIR                      show the effective policy" },
	{ "audit", cmd_audit,
	  "audit verify|summary FILE                 check or report an audit trail" },
	{ "learn", cmd_learn,
	  "learn [-o FILE] -- COMMAND [ARGS...]      draft a manifest by observing" },
	{ "init", cmd_init,
	  "init DIR                                  a manifest for an Agent Skill folder" },
	{ "import", cmd_import,
	  "import [-o FILE] SKILLSANDBOX.yaml        convert a SkillSandbox manifest" },
};

static void print_verbs(FILE *f)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  skillbox %s\n", verbs[i].synopsis);
}

static void help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox VERB [OPTIONS] ...\n"
		"\n"
		"Runs an untrusted command inside exactly the world its YAML manifest declares,\n"
		"and writes an audit trail of what was allowed and what was refused.\n"
		"\n");
	print_verbs(f);
	fprintf(f, "\n"
		   "  skillbox --version | --help\n"
		   "\n"
		   "'skillbox VERB --help' describes a verb. Exit status: the skill's own; 128+N\n"
		   "when it died by signal N; 124 timeout; 125 skillbox failed or refused;\n"
		   "126 command not executable; 127 command not found. See skillbox(1).\n");
}

int main(int argc, char **argv)
{
	program_argv = argv;
	if (argc < 2) {
		help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
		help(stdout);
		return 0;
	}
	if (streq(argv[1], "--version")) {
		printf("skillbox %s\n", SKILLBOX_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	log_error("unknown verb '%s' (try 'skillbox --help')", argv[1]);
	return EXIT_SKILLBOX_FAILED;
}
