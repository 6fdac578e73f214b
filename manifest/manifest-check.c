/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "manifest-internal.h"
#include "parse-util.h"
#include "path-util.h"

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool manifest_name_is_valid(const char *s)
{
	size_t n;

	if (!s || !is_lower_or_digit(s[0]))
		return false;
	n = strlen(s);
	if (n > 64)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_or_digit(s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool manifest_profile_name_is_valid(const char *s)
{
	size_t n;

	if (!s || !is_lower_or_digit(s[0]))
		return false;
	n = strlen(s);
	if (n > 64)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_or_digit(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

const char *manifest_loc_format(struct manifest_loc loc, const char *fallback, bool columns,
				char *buf, size_t size)
{
	const char *file = loc.file ? loc.file : fallback ? fallback : "?";

	if (loc.line == 0)
		snprintf(buf, size, "%s", file);
	else if (columns)
		snprintf(buf, size, "%s:%u:%u", file, loc.line, loc.column);
	else
		snprintf(buf, size, "%s:%u", file, loc.line);
	return buf;
}

int manifest_split_mount(const char *text, char **ret_host, char **ret_inside)
{
	/* The first ':' splits, so an inside path may contain one but a host path not. */
	const char *colon = strchr(text, ':');
	_cleanup_free_ char *host = NULL, *inside = NULL;

	host = colon ? strndup(text, (size_t)(colon - text)) : strdup(text);
	if (!host)
		return -ENOMEM;
	if (colon) {
		inside = strdup(colon + 1);
		if (!inside)
			return -ENOMEM;
	}
	*ret_host = TAKE_PTR(host);
	*ret_inside = TAKE_PTR(inside);
	return 0;
}

bool manifest_env_name_is_valid(const char *s)
{
	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

const char *manifest_inside_path_problem(const char *p)
{
	static const char *const reserved[] = { "/proc", "/dev" };

	if (!p || p[0] != '/')
		return "must be absolute";
	/*
	 * Inside paths are compared as strings (duplicate targets, hide below a bind), so they
	 * must already be in the one spelling those comparisons expect. Normalizing them for
	 * the author would hide a typo such as "/skill/../etc".
	 */
	if (!path_is_normalized(p))
		return "must be normalized (no '.', '..' or empty components, no trailing '/')";
	/* skillbox mounts its own /proc and /dev; a manifest must not shadow or reach into them. */
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (path_startswith(p, reserved[i]))
			return "is reserved (skillbox sets up /proc and /dev itself)";
	return NULL;
}

int manifest_resolve_host_path(const char *p, const char *dir, const char *home, char **ret,
			       const char **ret_problem)
{
	_cleanup_free_ char *joined = NULL;
	const char *base;
	int r;

	if (isempty(p)) {
		*ret_problem = "is empty";
		return -EINVAL;
	}
	if (p[0] == '~') {
		if (p[1] != 0 && p[1] != '/') {
			*ret_problem =
				"uses '~user', which is not supported (use an absolute path)";
			return -EINVAL;
		}
		if (isempty(home) || home[0] != '/') {
			*ret_problem = "starts with '~' but the home directory is not known";
			return -EINVAL;
		}
		base = home;
		p++;
	} else if (p[0] != '/') {
		if (isempty(dir) || dir[0] != '/') {
			*ret_problem = "is relative but the manifest's directory is not known";
			return -EINVAL;
		}
		base = dir;
	} else {
		base = NULL;
	}

	if (base) {
		joined = path_join(base, p);
		if (!joined)
			return -ENOMEM;
		p = joined;
	}
	r = path_normalize(p, ret);
	if (r == -EINVAL)
		*ret_problem = "must be absolute";
	return r;
}

int manifest_parse_address(const char *s, struct manifest_cidr *ret)
{
	struct manifest_cidr a = {};

	if (inet_pton(AF_INET, s, a.addr) == 1) {
		a.family = AF_INET;
		a.prefix = 32;
	} else if (inet_pton(AF_INET6, s, a.addr) == 1) {
		a.family = AF_INET6;
		a.prefix = 128;
	} else {
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

int manifest_parse_cidr(const char *s, struct manifest_cidr *ret, char *suggest,
			size_t suggest_size)
{
	struct manifest_cidr a, net;
	char addr[INET6_ADDRSTRLEN];
	const char *slash;
	uint64_t prefix;
	size_t n;
	bool host_bits = false;
	int r;

	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, n);
	addr[n] = 0;
	r = manifest_parse_address(addr, &a);
	if (r < 0)
		return r;

	if (slash) {
		r = parse_uint64(slash + 1, &prefix);
		if (r == -ERANGE || (r == 0 && prefix > a.prefix))
			return -ERANGE;
		if (r < 0)
			return -EINVAL;
		a.prefix = (uint8_t)prefix;
	}

	net = a;
	for (unsigned bit = a.prefix; bit < (a.family == AF_INET ? 32u : 128u); bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));

		if (net.addr[bit / 8] & mask) {
			host_bits = true;
			net.addr[bit / 8] &= (uint8_t)~mask;
		}
	}
	if (host_bits) {
		char text[INET6_ADDRSTRLEN];

		if (!inet_ntop(net.family, net.addr, text, sizeof(text)))
			text[0] = 0;
		snprintf(suggest, suggest_size, "%s/%u", text, net.prefix);
		return -EADDRNOTAVAIL;
	}
	*ret = a;
	return 0;
}

void *manifest_array_append(void *arrayp, size_t *n, size_t size)
{
	void *array, *e;

	memcpy(&array, arrayp, sizeof(array));
	/* Grow at 0 and at each power of two, so the capacity need not be stored. */
	if ((*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;

		if (cap > SIZE_MAX / size)
			return NULL;
		array = realloc(array, cap * size);
		if (!array)
			return NULL;
		memcpy(arrayp, &array, sizeof(array));
	}
	e = (char *)array + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}
