/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest-internal.h"

#define CORE_TAG_PREFIX "tag:yaml.org,2002:"

int mp_init(struct mp *c, const char *data, size_t len, const struct manifest_parse_opts *opts)
{
	*c = (struct mp){ .data = data ? data : "", .len = data ? len : 0, .opts = opts };
	if (!yaml_parser_initialize(&c->yaml))
		return -ENOMEM;
	yaml_parser_set_input_string(&c->yaml, (const unsigned char *)c->data, c->len);
	return 0;
}

void mp_done(struct mp *c)
{
	if (c->has_event)
		yaml_event_delete(&c->event);
	c->has_event = false;
	yaml_parser_delete(&c->yaml);
	for (size_t i = 0; i < c->n_diags; i++) {
		free(c->diags[i].message);
		free(c->diags[i].file);
	}
	free(c->diags);
	c->diags = NULL;
	c->n_diags = 0;
}

struct manifest_loc mp_loc(const struct mp *c)
{
	return (struct manifest_loc){ .line = (unsigned)c->event.start_mark.line + 1,
				      .column = (unsigned)c->event.start_mark.column + 1,
				      .file = c->file };
}

_printf_(3, 0) static int mp_add(struct mp *c, struct manifest_loc loc, const char *fmt, va_list ap)
{
	struct manifest_diag *d;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	d = manifest_array_append(&c->diags, &c->n_diags, sizeof(*d));
	if (!d) {
		free(msg);
		return -ENOMEM;
	}
	d->message = msg;
	d->loc = loc;
	if (loc.file) {
		d->file = strdup(loc.file);
		if (!d->file)
			return -ENOMEM;
	}
	d->loc.file = d->file;
	return 0;
}

int mp_error(struct mp *c, struct manifest_loc loc, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = mp_add(c, loc, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	if (c->n_diags >= MANIFEST_MAX_DIAGS)
		return mp_fatal(c, loc, "too many problems; stopping here");
	return 0;
}

int mp_fatal(struct mp *c, struct manifest_loc loc, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = mp_add(c, loc, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	c->stopped = true;
	return MP_STOP;
}

/* Insertion sort: stable, and the list is short (MANIFEST_MAX_DIAGS). */
void mp_sort_diags(struct mp *c)
{
	for (size_t i = 1; i < c->n_diags; i++) {
		struct manifest_diag d = c->diags[i];
		size_t j = i;

		while (j > 0 && loc_before(d.loc, c->diags[j - 1].loc)) {
			c->diags[j] = c->diags[j - 1];
			j--;
		}
		c->diags[j] = d;
	}
}

/* libyaml reports reader errors (bad UTF-8, control characters) by byte offset only. */
static struct manifest_loc loc_from_offset(const struct mp *c, size_t offset)
{
	struct manifest_loc loc = { 1, 1, c->file };

	for (size_t i = 0; i < offset && i < c->len; i++) {
		if (c->data[i] == '\n') {
			loc.line++;
			loc.column = 1;
		} else {
			loc.column++;
		}
	}
	return loc;
}

static int mp_syntax_error(struct mp *c)
{
	const yaml_parser_t *p = &c->yaml;
	const char *problem = p->problem ? p->problem : "unknown error";
	struct manifest_loc loc;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return -ENOMEM;
	case YAML_READER_ERROR:
		loc = loc_from_offset(c, p->problem_offset);
		if (p->problem_value >= 0)
			return mp_fatal(c, loc, "invalid YAML: %s (byte 0x%02x)", problem,
					(unsigned)p->problem_value & 0xff);
		return mp_fatal(c, loc, "invalid YAML: %s", problem);
	default:
		loc = (struct manifest_loc){ (unsigned)p->problem_mark.line + 1,
					     (unsigned)p->problem_mark.column + 1, c->file };
		if (p->context)
			return mp_fatal(c, loc, "invalid YAML: %s (%s at line %zu, column %zu)",
					problem, p->context, p->context_mark.line + 1,
					p->context_mark.column + 1);
		return mp_fatal(c, loc, "invalid YAML: %s", problem);
	}
}

static const char *event_tag(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.tag;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.tag;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.tag;
	default:
		return NULL;
	}
}

/*
 * Only the core schema's tags are accepted, each on the kind of node it describes: anything
 * else asks for a type this parser does not have, and silently ignoring it would make the
 * file mean something other than what its author intended.
 */
static bool tag_is_acceptable(const yaml_event_t *e, const char *tag)
{
	static const char *const scalar_tags[] = { "str", "int", "bool", "null", "float" };
	const char *suffix;

	if (!strneq(tag, CORE_TAG_PREFIX, STRLEN(CORE_TAG_PREFIX)))
		return false;
	suffix = tag + STRLEN(CORE_TAG_PREFIX);
	if (e->type == YAML_SEQUENCE_START_EVENT)
		return streq(suffix, "seq");
	if (e->type == YAML_MAPPING_START_EVENT)
		return streq(suffix, "map");
	for (size_t i = 0; i < ELEMENTSOF(scalar_tags); i++)
		if (streq(suffix, scalar_tags[i]))
			return true;
	return false;
}

static bool has_tag(const struct mp *c, const char *suffix)
{
	const char *tag = event_tag(&c->event);

	return tag && strneq(tag, CORE_TAG_PREFIX, STRLEN(CORE_TAG_PREFIX)) &&
	       streq(tag + STRLEN(CORE_TAG_PREFIX), suffix);
}

int mp_next(struct mp *c)
{
	const char *tag;
	int r;

	if (c->stopped)
		return MP_STOP;
	if (c->has_event) {
		/* Leaving a collection's end event closes that collection. */
		if (c->event.type == YAML_SEQUENCE_END_EVENT ||
		    c->event.type == YAML_MAPPING_END_EVENT)
			c->depth--;
		yaml_event_delete(&c->event);
		c->has_event = false;
	}
	if (!yaml_parser_parse(&c->yaml, &c->event))
		return mp_syntax_error(c);
	c->has_event = true;

	switch (c->event.type) {
	case YAML_ALIAS_EVENT:
		/*
		 * The event API hands us the alias without expanding it, so stopping here is
		 * what keeps an alias bomb from ever growing.
		 */
		return mp_fatal(c, mp_loc(c), "YAML aliases are not supported in manifests");
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		/*
		 * Stop rather than skip: skipping a deep subtree would let libyaml's own
		 * stacks grow with it.
		 */
		if (++c->depth > MANIFEST_MAX_DEPTH)
			return mp_fatal(c, mp_loc(c), "YAML nesting is deeper than %d levels",
					MANIFEST_MAX_DEPTH);
		break;
	default:
		break;
	}

	tag = event_tag(&c->event);
	if (tag && !tag_is_acceptable(&c->event, tag)) {
		char shown[MANIFEST_QUOTE_MAX + 8], q[MP_QUOTE_MAX];

		/* Show a core tag the way it is usually written: "!!map", not its full URI. */
		if (strneq(tag, CORE_TAG_PREFIX, STRLEN(CORE_TAG_PREFIX)))
			snprintf(shown, sizeof(shown), "!!%s", tag + STRLEN(CORE_TAG_PREFIX));
		else
			snprintf(shown, sizeof(shown), "%s", tag);
		r = mp_error(c, mp_loc(c),
			     "unsupported YAML tag %s (only the standard tags are allowed)",
			     mp_quote(shown, strlen(shown), q, sizeof(q)));
		if (r < 0)
			return r;
	}
	return 0;
}

int mp_skip(struct mp *c)
{
	unsigned depth;
	int r;

	if (c->event.type != YAML_SEQUENCE_START_EVENT && c->event.type != YAML_MAPPING_START_EVENT)
		return 0;
	depth = c->depth;
	for (;;) {
		r = mp_next(c);
		if (r < 0)
			return r;
		if ((c->event.type == YAML_SEQUENCE_END_EVENT ||
		     c->event.type == YAML_MAPPING_END_EVENT) &&
		    c->depth == depth)
			return 0;
	}
}

bool mp_is_scalar(const struct mp *c)
{
	return c->event.type == YAML_SCALAR_EVENT;
}

static const char *scalar_value(const struct mp *c)
{
	return (const char *)c->event.data.scalar.value;
}

bool mp_is_null(const struct mp *c)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (!mp_is_scalar(c))
		return false;
	if (has_tag(c, "null"))
		return true;
	if (c->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE || event_tag(&c->event))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
		if (streq(scalar_value(c), nulls[i]))
			return true;
	return false;
}

const char *mp_quote(const char *s, size_t n, char *buf, size_t size)
{
	size_t o = 0;

	/* Each input byte takes at most 4 output bytes; keep room for "'...'" and the NUL. */
	if (size < 16)
		return "";
	buf[o++] = '\'';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= MANIFEST_QUOTE_MAX || o + 4 + 5 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		/*
		 * Messages end up on a terminal: escape everything that is not printable ASCII
		 * so that a manifest cannot smuggle escape sequences into them.
		 */
		if (ch < 0x20 || ch >= 0x7f || ch == '\\') {
			snprintf(buf + o, 5, "\\x%02x", ch);
			o += 4;
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '\'';
	buf[o] = 0;
	return buf;
}

const char *mp_describe(const struct mp *c, char *buf, size_t size)
{
	char q[MP_QUOTE_MAX];

	switch (c->event.type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SCALAR_EVENT:
		if (mp_is_null(c))
			return "null";
		mp_quote(scalar_value(c), c->event.data.scalar.length, q, sizeof(q));
		if (c->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			snprintf(buf, size, "%s", q);
		else
			snprintf(buf, size, "the quoted string %s", q);
		return buf;
	default:
		return "nothing";
	}
}

int mp_mismatch(struct mp *c, const char *expected)
{
	char got[MP_DESCRIBE_MAX];
	int r;

	r = mp_error(c, mp_loc(c), "expected %s, got %s", expected,
		     mp_describe(c, got, sizeof(got)));
	if (r < 0)
		return r;
	r = mp_skip(c);
	return r < 0 ? r : 0;
}

int mp_text(struct mp *c, const char *expected, const char **ret)
{
	if (mp_is_null(c))
		return mp_mismatch(c, expected);
	return mp_value_text(c, expected, ret);
}

int mp_value_text(struct mp *c, const char *expected, const char **ret)
{
	if (!mp_is_scalar(c))
		return mp_mismatch(c, expected);
	/* Double-quoted scalars can spell a NUL ("\0"), which no C string can carry. */
	if (memchr(scalar_value(c), 0, c->event.data.scalar.length)) {
		int r = mp_error(c, mp_loc(c), "expected %s, got a string with a NUL byte",
				 expected);
		return r < 0 ? r : 0;
	}
	*ret = scalar_value(c);
	return 1;
}

int mp_string(struct mp *c, const char *expected, char **ret)
{
	const char *t;
	char *s;
	int r;

	r = mp_text(c, expected, &t);
	if (r <= 0)
		return r;
	s = strdup(t);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 1;
}

/* Numbers and booleans must be written as such: a quoted "80" is a string, not a port. */
static bool is_plain_typed(const struct mp *c, const char *tag_suffix)
{
	return mp_is_scalar(c) && c->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!event_tag(&c->event) || has_tag(c, tag_suffix));
}

int mp_digits(struct mp *c, const char *expected, const char **ret)
{
	const char *v;

	if (!is_plain_typed(c, "int"))
		return mp_mismatch(c, expected);
	v = scalar_value(c);
	if (!*v || strspn(v, "0123456789") != c->event.data.scalar.length)
		return mp_mismatch(c, expected);
	*ret = v;
	return 1;
}

int mp_bool(struct mp *c, bool *ret)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };

	if (is_plain_typed(c, "bool")) {
		for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
			if (streq(scalar_value(c), yes[i])) {
				*ret = true;
				return 1;
			}
			if (streq(scalar_value(c), no[i])) {
				*ret = false;
				return 1;
			}
		}
	}
	return mp_mismatch(c, "true or false");
}

static char *join_keys(const char *const *keys, size_t n_keys)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n_keys; i++)
		len += strlen(keys[i]) + 2;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = 0;
	for (size_t i = 0; i < n_keys; i++)
		p = stpcpy(stpcpy(p, i ? ", " : ""), keys[i]);
	return s;
}

/*
 * Reads a mapping key: on return the key's event is current. Returns 1 for a usable scalar
 * key, 0 for one that was reported and must be skipped along with its value.
 */
static int mp_key(struct mp *c)
{
	char got[MP_DESCRIBE_MAX];
	int r;

	if (mp_is_scalar(c) && !memchr(scalar_value(c), 0, c->event.data.scalar.length))
		return 1;
	r = mp_error(c, mp_loc(c), "expected a key name, got %s", mp_describe(c, got, sizeof(got)));
	if (r < 0)
		return r;
	r = mp_skip(c);
	return r < 0 ? r : 0;
}

/* Skips the value that follows a key that was refused. */
static int mp_skip_value(struct mp *c)
{
	int r;

	r = mp_next(c);
	if (r < 0)
		return r;
	return mp_skip(c);
}

int mp_map(struct mp *c, const char *const *keys, size_t n_keys, struct manifest_loc *seen,
	   mp_key_fn fn, void *userdata)
{
	int r;

	for (size_t i = 0; i < n_keys; i++)
		seen[i] = (struct manifest_loc){};
	if (mp_is_null(c))
		return 1;
	if (c->event.type != YAML_MAPPING_START_EVENT)
		return mp_mismatch(c, "a mapping");

	for (;;) {
		struct manifest_loc loc;
		size_t k;

		r = mp_next(c);
		if (r < 0)
			return r;
		if (c->event.type == YAML_MAPPING_END_EVENT)
			return 1;
		r = mp_key(c);
		if (r < 0)
			return r;
		if (r == 0) {
			r = mp_skip_value(c);
			if (r < 0)
				return r;
			continue;
		}

		loc = mp_loc(c);
		for (k = 0; k < n_keys; k++)
			if (streq(scalar_value(c), keys[k]))
				break;
		if (k == n_keys) {
			_cleanup_free_ char *allowed = join_keys(keys, n_keys);
			char q[MP_QUOTE_MAX];

			if (!allowed)
				return -ENOMEM;
			r = mp_error(c, loc, "unknown key %s (expected one of: %s)",
				     mp_quote(scalar_value(c), c->event.data.scalar.length, q,
					      sizeof(q)),
				     allowed);
		} else if (seen[k].line > 0) {
			r = mp_error(c, loc, "duplicate key '%s' (first at line %u)", keys[k],
				     seen[k].line);
		} else {
			seen[k] = loc;
			r = mp_next(c);
			if (r < 0)
				return r;
			r = fn(c, k, userdata);
			if (r < 0)
				return r;
			continue;
		}
		if (r < 0)
			return r;
		r = mp_skip_value(c);
		if (r < 0)
			return r;
	}
}

int mp_pairs(struct mp *c, const char *expected, mp_pair_fn fn, void *userdata)
{
	size_t n = 0;
	int r;

	if (mp_is_null(c))
		return 1;
	if (c->event.type != YAML_MAPPING_START_EVENT)
		return mp_mismatch(c, expected);

	for (;;) {
		_cleanup_free_ char *key = NULL;
		struct manifest_loc loc;

		r = mp_next(c);
		if (r < 0)
			return r;
		if (c->event.type == YAML_MAPPING_END_EVENT)
			return 1;
		loc = mp_loc(c);
		if (++n > MANIFEST_MAX_ITEMS) {
			r = mp_error(c, loc, "too many entries (at most %d)", MANIFEST_MAX_ITEMS);
			if (r < 0)
				return r;
			/* Consume the rest of the mapping. */
			for (;;) {
				r = mp_skip(c);
				if (r >= 0)
					r = mp_skip_value(c);
				if (r >= 0)
					r = mp_next(c);
				if (r < 0)
					return r;
				if (c->event.type == YAML_MAPPING_END_EVENT)
					return 1;
			}
		}
		r = mp_key(c);
		if (r < 0)
			return r;
		if (r == 0) {
			r = mp_skip_value(c);
			if (r < 0)
				return r;
			continue;
		}
		key = strdup(scalar_value(c));
		if (!key)
			return -ENOMEM;
		r = mp_next(c);
		if (r < 0)
			return r;
		r = fn(c, key, loc, userdata);
		if (r < 0)
			return r;
	}
}

int mp_list(struct mp *c, const char *expected, mp_item_fn fn, void *userdata)
{
	size_t n = 0;
	int r;

	if (mp_is_null(c))
		return 1;
	if (c->event.type != YAML_SEQUENCE_START_EVENT)
		return mp_mismatch(c, expected);

	for (;;) {
		r = mp_next(c);
		if (r < 0)
			return r;
		if (c->event.type == YAML_SEQUENCE_END_EVENT)
			return 1;
		if (++n > MANIFEST_MAX_ITEMS) {
			r = mp_error(c, mp_loc(c), "too many entries (at most %d)",
				     MANIFEST_MAX_ITEMS);
			if (r < 0)
				return r;
			for (;;) {
				r = mp_skip(c);
				if (r >= 0)
					r = mp_next(c);
				if (r < 0)
					return r;
				if (c->event.type == YAML_SEQUENCE_END_EVENT)
					return 1;
			}
		}
		r = fn(c, userdata);
		if (r < 0)
			return r;
	}
}
