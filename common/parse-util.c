/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macros.h"
#include "parse-util.h"

/* Parses the leading digits of s; *end points after them. */
static int parse_digits(const char *s, uint64_t *ret, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	*end = p;
	return 0;
}

int parse_uint64(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r;

	r = parse_digits(s, &v, &end);
	if (r < 0)
		return r;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int mul_checked(uint64_t v, uint64_t m, uint64_t *ret)
{
	if (m && v > UINT64_MAX / m)
		return -ERANGE;
	*ret = v * m;
	return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "us", 1 },
		{ "ms", USEC_PER_MSEC },
		{ "s", USEC_PER_SEC },
		{ "m", 60 * USEC_PER_SEC },
		{ "h", 3600 * USEC_PER_SEC },
	};
	const char *end;
	uint64_t v;
	int r;

	r = parse_digits(s, &v, &end);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (streq(end, units[i].suffix))
			return mul_checked(v, units[i].usec, ret_usec);
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v, m;
	int r;

	r = parse_digits(s, &v, &end);
	if (r < 0)
		return r;
	switch (*end) {
	case 0:
		*ret = v;
		return 0;
	case 'k':
	case 'K':
		m = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		m = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		m = 1ULL << 30;
		break;
	case 't':
	case 'T':
		m = 1ULL << 40;
		break;
	default:
		return -EINVAL;
	}
	if (end[1])
		return -EINVAL;
	return mul_checked(v, m, ret);
}

const char *format_duration(char *buf, size_t size, uint64_t usec)
{
	if (usec && usec % (3600 * USEC_PER_SEC) == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(usec / (3600 * USEC_PER_SEC)));
	else if (usec && usec % (60 * USEC_PER_SEC) == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(usec / (60 * USEC_PER_SEC)));
	else if (usec % USEC_PER_SEC == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(usec / USEC_PER_SEC));
	else if (usec % USEC_PER_MSEC == 0)
		snprintf(buf, size, "%llums", (unsigned long long)(usec / USEC_PER_MSEC));
	else
		snprintf(buf, size, "%lluus", (unsigned long long)usec);
	return buf;
}

const char *format_size(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%llu%c", (unsigned long long)bytes, units[u]);
	return buf;
}
