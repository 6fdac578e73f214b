/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "roman.h"

static const struct {
	int value;
	const char *digits;
} table[] = {
	{ 1000, "M" }, { 900, "CM" }, { 500, "D" }, { 400, "CD" }, { 100, "C" },
	{ 90, "XC" },  { 50, "L" },   { 40, "XL" }, { 10, "X" },   { 9, "IX" },
	{ 5, "V" },    { 4, "IV" },   { 1, "I" },
};

int roman_format(int n, char *buf, unsigned long size)
{
	size_t len = 0;

	if (n < 1 || n > 3999 || size < 16)
		return -1;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		while (n >= table[i].value) {
			size_t d = strlen(table[i].digits);

			memcpy(buf + len, table[i].digits, d);
			len += d;
			n -= table[i].value;
		}
	buf[len] = '\0';
	return 0;
}

int roman_parse(const char *s)
{
	char again[16];
	int n = 0;
	const char *p = s;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t d = strlen(table[i].digits);

		while (strncmp(p, table[i].digits, d) == 0) {
			n += table[i].value;
			p += d;
		}
	}
	/* Only the canonical spelling counts: IIII or VV parse greedily but do not round-trip. */
	if (*p != '\0' || roman_format(n, again, sizeof(again)) < 0 || strcmp(again, s) != 0)
		return -1;
	return n;
}
