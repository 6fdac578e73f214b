/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

char **strv_free(char **l)
{
	STRV_FOREACH (s, l)
		free(*s);
	free(l);
	return NULL;
}

int strv_push(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **c;

	c = realloc(*l, (n + 2) * sizeof(char *));
	if (!c)
		return -ENOMEM;
	c[n] = s;
	c[n + 1] = NULL;
	*l = c;
	return 0;
}

int strv_extend(char ***l, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	if (strv_push(l, d) < 0) {
		free(d);
		return -ENOMEM;
	}
	return 0;
}

bool strv_contains(char *const *l, const char *s)
{
	STRV_FOREACH (i, (char **)l)
		if (streq(*i, s))
			return true;
	return false;
}

int strv_copy(char *const *l, char ***ret)
{
	_cleanup_strv_free_ char **c = NULL;
	size_t n = strv_length(l);

	if (!l) {
		*ret = NULL;
		return 0;
	}
	c = calloc(n + 1, sizeof(char *));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(l[i]);
		if (!c[i])
			return -ENOMEM;
	}
	*ret = TAKE_PTR(c);
	return 0;
}
