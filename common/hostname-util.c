/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "hostname-util.h"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool hostname_is_valid_dns(const char *s)
{
	const char *label;
	size_t total;

	if (!s)
		return false;
	total = strlen(s);
	if (total == 0 || total > 253)
		return false;

	label = s;
	for (;;) {
		size_t n = strcspn(label, ".");
		bool digits = n > 0;

		if (n == 0 || n > 63)
			return false;
		if (label[0] == '-' || label[n - 1] == '-')
			return false;
		for (size_t i = 0; i < n; i++) {
			if (!is_alnum(label[i]) && label[i] != '-')
				return false;
			if (label[i] < '0' || label[i] > '9')
				digits = false;
		}
		if (label[n] == 0)
			/* A numeric last label would make "1.2.3.4999" look like a host name. */
			return !digits;
		label += n + 1;
	}
}
