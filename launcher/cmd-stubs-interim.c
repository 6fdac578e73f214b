/* SPDX-License-Identifier: MIT */
/* INTERIM: verbs not written yet. */
#include "cli.h"

int cmd_learn(int argc, char **argv)
{
	log_error("learn: not available yet");
	return EXIT_SKILLBOX_FAILED;
}
