/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>

#include "roman.h"

int main(int argc, char **argv)
{
	char buf[16];
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		char *end;
		long n = strtol(argv[i], &end, 10);

		if (*end == '\0' && roman_format((int)n, buf, sizeof(buf)) == 0) {
			puts(buf);
		} else if (roman_parse(argv[i]) > 0) {
			printf("%d\n", roman_parse(argv[i]));
		} else {
			fprintf(stderr, "roman: %s: not a number in 1..3999 or a Roman numeral\n",
				argv[i]);
			rc = 1;
		}
	}
	return rc;
}
