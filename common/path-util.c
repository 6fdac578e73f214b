/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "path-util.h"

bool path_is_normalized(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	if (streq(p, "/"))
		return true;
	for (const char *c = p; *c;) {
		const char *e;
		size_t n;

		c++; /* skip the slash */
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = e;
	}
	return true;
}

bool path_has_dotdot(const char *p)
{
	for (const char *c = p; *c;) {
		const char *e = strchrnul(c, '/');

		if (e - c == 2 && c[0] == '.' && c[1] == '.')
			return true;
		c = *e ? e + 1 : e;
	}
	return false;
}

int path_normalize(const char *p, char **ret)
{
	size_t len;
	char *out;
	size_t o = 0;

	if (!p || p[0] != '/')
		return -EINVAL;
	len = strlen(p);
	out = malloc(len + 2);
	if (!out)
		return -ENOMEM;
	for (const char *c = p; *c;) {
		const char *e;
		size_t n;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if (n == 1 && c[0] == '.') {
			/* nothing */
		} else if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, c, n);
			o += n;
		}
		c = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	*ret = out;
	return 0;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb;
	char *r;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	lb = strlen(b);
	r = malloc(la + 1 + lb + 1);
	if (!r)
		return NULL;
	memcpy(r, a, la);
	r[la] = '/';
	memcpy(r + la + 1, b, lb + 1);
	if (lb == 0 && la > 0)
		r[la] = 0;
	return r;
}

const char *path_startswith(const char *path, const char *prefix)
{
	size_t n;

	if (streq(prefix, "/"))
		return path + 1;
	n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return NULL;
	if (path[n] == 0)
		return path + n;
	if (path[n] != '/')
		return NULL;
	return path + n + 1;
}

unsigned path_depth(const char *p)
{
	unsigned d = 0;

	for (; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			d++;
	return d;
}
