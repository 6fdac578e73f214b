/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "roman.h"

static int count, failed;

static void check(int cond, const char *what)
{
	count++;
	if (!cond)
		failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", count, what);
}

int main(void)
{
	static const struct {
		int n;
		const char *s;
	} cases[] = { { 1, "I" },	  { 4, "IV" },		{ 9, "IX" },   { 14, "XIV" },
		      { 40, "XL" },	  { 90, "XC" },		{ 400, "CD" }, { 1994, "MCMXCIV" },
		      { 2026, "MMXXVI" }, { 3999, "MMMCMXCIX" } };
	char buf[16];
	int round_trip = 1;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "%d is %s", cases[i].n, cases[i].s);
		check(roman_format(cases[i].n, buf, sizeof(buf)) == 0 &&
			      strcmp(buf, cases[i].s) == 0,
		      what);
		snprintf(what, sizeof(what), "%s parses as %d", cases[i].s, cases[i].n);
		check(roman_parse(cases[i].s) == cases[i].n, what);
	}
	check(roman_format(0, buf, sizeof(buf)) < 0 && roman_format(4000, buf, sizeof(buf)) < 0,
	      "0 and 4000 are out of range");
	check(roman_parse("IIII") < 0 && roman_parse("VV") < 0 && roman_parse("") < 0 &&
		      roman_parse("ABC") < 0,
	      "non-canonical and invalid numerals are refused");
	for (int n = 1; n <= 3999; n++)
		if (roman_format(n, buf, sizeof(buf)) < 0 || roman_parse(buf) != n)
			round_trip = 0;
	check(round_trip, "1..3999 round-trip");
	printf("1..%d\n", count);
	if (failed)
		printf("# %d of %d failed\n", failed, count);
	else
		printf("# all %d tests passed\n", count);
	return failed ? 1 : 0;
}
