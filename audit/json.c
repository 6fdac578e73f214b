/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char hex_digits[] = "0123456789abcdef";

/*
 * Decodes the UTF-8 sequence at s (n >= 1 bytes). Returns its length (1-4) and stores the code
 * point, or returns minus the length of the maximal invalid subpart: the longest prefix of a
 * well-formed sequence that is present, or 1. Replacing each such subpart by one U+FFFD is the
 * Unicode/WHATWG recommendation, and it never swallows the valid character that follows: the
 * byte that broke the sequence starts the next attempt. The ranges below (rather than a decode
 * and range check afterwards) reject overlong forms, surrogates and values above U+10FFFF at the
 * byte where they become certain.
 */
static int utf8_next(const uint8_t *s, size_t n, uint32_t *ret_cp)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t need;

	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		/* Continuation bytes alone, C0/C1 (always overlong), F5..FF (beyond U+10FFFF). */
		return -1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi)
			return -(int)i;
		cp = (cp << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*ret_cp = cp;
	return (int)need + 1;
}

static void put_u_escape(struct buf *b, uint32_t cp)
{
	char e[6] = "\\u";

	for (int i = 0; i < 4; i++)
		e[2 + i] = hex_digits[(cp >> (12 - 4 * i)) & 0xf];
	buf_append(b, e, sizeof(e));
}

void json_escape_unquoted(struct buf *b, const void *s, size_t n)
{
	const uint8_t *p = s, *end = p + n, *plain = p;

	/* Bytes that go out unchanged are collected into one run and appended together. */
	while (p < end) {
		uint8_t c = *p;
		uint32_t cp = 0;
		size_t used = 1;
		int r = 0;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			p++;
			continue;
		}
		if (c >= 0x80) {
			r = utf8_next(p, (size_t)(end - p), &cp);
			/*
			 * C1 controls are valid, but a terminal showing the trail may obey them
			 * (U+009B is CSI), and U+2028/U+2029 end lines in JavaScript; escaping
			 * them reads back as the same string.
			 */
			if (r > 0 && !(cp >= 0x80 && cp <= 0x9f) && cp != 0x2028 && cp != 0x2029) {
				p += r;
				continue;
			}
		}
		buf_append(b, plain, (size_t)(p - plain));
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\b':
			buf_append(b, "\\b", 2);
			break;
		case '\f':
			buf_append(b, "\\f", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default:
			if (c < 0x80) {
				put_u_escape(b, c);
			} else if (r > 0) {
				put_u_escape(b, cp);
				used = (size_t)r;
			} else {
				buf_append(b, "\xef\xbf\xbd", 3);
				used = (size_t)-r;
			}
			break;
		}
		p += used;
		plain = p;
	}
	buf_append(b, plain, (size_t)(p - plain));
}

void json_escape(struct buf *b, const void *s, size_t n)
{
	buf_putc(b, '"');
	json_escape_unquoted(b, s, n);
	buf_putc(b, '"');
}

/*
 * The parser. One recursive descent serves three callers: json_parse() (build a tree),
 * json_validate() and json_object_next() (no tree: a NULL ret means "check and skip").
 * Recursion is bounded by JSON_DEPTH_MAX, so hostile input cannot exhaust the stack.
 */
struct parser {
	const char *start, *p, *end;
	struct buf scratch; /* unescaped text of the string being read */
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(struct parser *ps, uint32_t *ret)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return -EBADMSG;
	for (int i = 0; i < 4; i++) {
		int h = hex_value(ps->p[i]);

		if (h < 0) {
			ps->p += i;
			return -EBADMSG;
		}
		v = (v << 4) | (uint32_t)h;
	}
	ps->p += 4;
	*ret = v;
	return 0;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, u, n);
}

/* Reads the escape after a backslash (ps->p is past the backslash). */
static int parse_escape(struct parser *ps, struct buf *out)
{
	uint32_t cp, lo;
	char c;
	int r;

	if (ps->p >= ps->end)
		return -EBADMSG;
	c = *ps->p++;
	switch (c) {
	case '"':
	case '\\':
	case '/':
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 't':
		c = '\t';
		break;
	case 'u':
		r = read_hex4(ps, &cp);
		if (r < 0)
			return r;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			/* A low surrogate with no high one before it cannot become UTF-8. */
			ps->p -= 6;
			return -EBADMSG;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
				return -EBADMSG;
			ps->p += 2;
			r = read_hex4(ps, &lo);
			if (r < 0)
				return r;
			if (lo < 0xdc00 || lo > 0xdfff) {
				ps->p -= 6;
				return -EBADMSG;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (out)
			put_utf8(out, cp);
		return 0;
	default:
		ps->p--;
		return -EBADMSG;
	}
	if (out)
		buf_putc(out, c);
	return 0;
}

/* Reads a string token at ps->p (a quote); appends its unescaped value to out unless NULL. */
static int parse_string(struct parser *ps, struct buf *out)
{
	const char *plain;

	ps->p++;
	plain = ps->p;
	for (;;) {
		uint32_t cp;
		uint8_t c;
		int r;

		if (ps->p >= ps->end)
			return -EBADMSG;
		c = (uint8_t)*ps->p;
		if (c == '"' || c == '\\') {
			if (out)
				buf_append(out, plain, (size_t)(ps->p - plain));
			ps->p++;
			if (c == '"')
				break;
			r = parse_escape(ps, out);
			if (r < 0)
				return r;
			plain = ps->p;
		} else if (c < 0x20) {
			return -EBADMSG;
		} else if (c < 0x80) {
			ps->p++;
		} else {
			r = utf8_next((const uint8_t *)ps->p, (size_t)(ps->end - ps->p), &cp);
			if (r < 0)
				return -EBADMSG;
			ps->p += r;
		}
	}
	if (out && !buf_ok(out))
		return -ENOMEM;
	return 0;
}

static char *memdup_nul(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	if (n)
		memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static int node_new(enum json_type type, struct json_node **ret)
{
	struct json_node *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->type = type;
	*ret = n;
	return 0;
}

static int node_append(struct json_node *parent, struct json_node *child)
{
	size_t n = parent->n_items;

	/* The capacity is implied: 4, then doubling, so it is full at 4, 8, 16, ... items. */
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		struct json_node **items =
			reallocarray(parent->items, n ? n * 2 : 4, sizeof(*items));

		if (!items)
			return -ENOMEM;
		parent->items = items;
	}
	parent->items[parent->n_items++] = child;
	return 0;
}

static int parse_value(struct parser *ps, unsigned depth, struct json_node **ret);

static int parse_number(struct parser *ps, struct json_node **ret)
{
	_cleanup_json_free_ struct json_node *n = NULL;
	const char *start = ps->p;
	bool integral = true;
	int r;

	if (*ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return -EBADMSG;
	if (*ps->p == '0')
		ps->p++;
	else if (*ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	else
		return -EBADMSG;
	if (ps->p < ps->end && *ps->p == '.') {
		integral = false;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -EBADMSG;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		integral = false;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return -EBADMSG;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (!ret)
		return 0;

	r = node_new(JSON_NUMBER, &n);
	if (r < 0)
		return r;
	n->len = (size_t)(ps->p - start);
	n->str = memdup_nul(start, n->len);
	if (!n->str)
		return -ENOMEM;
	if (integral) {
		/* Accumulate downwards so that INT64_MIN fits. */
		const char *d = start + (*start == '-');
		int64_t v = 0;

		n->is_integer = true;
		for (; d < ps->p; d++) {
			int digit = *d - '0';

			if (v < (INT64_MIN + digit) / 10) {
				n->is_integer = false;
				break;
			}
			v = v * 10 - digit;
		}
		if (n->is_integer && *start != '-') {
			if (v == INT64_MIN)
				n->is_integer = false;
			else
				v = -v;
		}
		if (n->is_integer)
			n->integer = v;
	}
	*ret = TAKE_PTR(n);
	return 0;
}

static int parse_literal(struct parser *ps, const char *word, struct json_node **ret)
{
	size_t n = strlen(word);
	int r;

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return -EBADMSG;
	ps->p += n;
	if (!ret)
		return 0;
	r = node_new(word[0] == 'n' ? JSON_NULL : JSON_BOOLEAN, ret);
	if (r < 0)
		return r;
	(*ret)->boolean = word[0] == 't';
	return 0;
}

static int parse_string_node(struct parser *ps, struct json_node **ret)
{
	_cleanup_json_free_ struct json_node *n = NULL;
	int r;

	if (!ret)
		return parse_string(ps, NULL);
	buf_reset(&ps->scratch);
	r = parse_string(ps, &ps->scratch);
	if (r < 0)
		return r;
	r = node_new(JSON_STRING, &n);
	if (r < 0)
		return r;
	n->str = memdup_nul(ps->scratch.data, ps->scratch.len);
	if (!n->str)
		return -ENOMEM;
	n->len = ps->scratch.len;
	*ret = TAKE_PTR(n);
	return 0;
}

/* Reads an object or array at ps->p; depth counts this container. */
static int parse_container(struct parser *ps, unsigned depth, struct json_node **ret)
{
	_cleanup_json_free_ struct json_node *n = NULL;
	bool object = *ps->p == '{';
	char close = object ? '}' : ']';
	int r;

	if (depth > JSON_DEPTH_MAX)
		return -ELNRNG;
	if (ret) {
		r = node_new(object ? JSON_OBJECT : JSON_ARRAY, &n);
		if (r < 0)
			return r;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		goto done;
	}
	for (;;) {
		_cleanup_free_ char *key = NULL;
		struct json_node *child = NULL;
		size_t key_len = 0;

		if (object) {
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != '"')
				return -EBADMSG;
			if (ret) {
				buf_reset(&ps->scratch);
				r = parse_string(ps, &ps->scratch);
				if (r < 0)
					return r;
				key_len = ps->scratch.len;
				key = memdup_nul(ps->scratch.data, key_len);
				if (!key)
					return -ENOMEM;
			} else {
				r = parse_string(ps, NULL);
				if (r < 0)
					return r;
			}
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return -EBADMSG;
			ps->p++;
		}
		r = parse_value(ps, depth, ret ? &child : NULL);
		if (r < 0)
			return r;
		if (child) {
			child->key = TAKE_PTR(key);
			child->key_len = key_len;
			r = node_append(n, child);
			if (r < 0) {
				json_free(child);
				return r;
			}
		}
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EBADMSG;
		if (*ps->p == close) {
			ps->p++;
			break;
		}
		if (*ps->p != ',')
			return -EBADMSG;
		ps->p++;
	}
done:
	if (ret)
		*ret = TAKE_PTR(n);
	return 0;
}

/* Reads one value, with the whitespace before it; depth counts the containers around it. */
static int parse_value(struct parser *ps, unsigned depth, struct json_node **ret)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -EBADMSG;
	switch (*ps->p) {
	case '{':
	case '[':
		return parse_container(ps, depth + 1, ret);
	case '"':
		return parse_string_node(ps, ret);
	case 't':
		return parse_literal(ps, "true", ret);
	case 'f':
		return parse_literal(ps, "false", ret);
	case 'n':
		return parse_literal(ps, "null", ret);
	default:
		return parse_number(ps, ret);
	}
}

static int parse_document(const char *data, size_t len, struct json_node **ret,
			  size_t *ret_error_offset)
{
	struct parser ps = { .start = data, .p = data, .end = data + len, .scratch = BUF_INIT };
	int r;

	r = parse_value(&ps, 0, ret);
	if (r == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			r = -EBADMSG;
			if (ret)
				*ret = json_free(*ret);
		}
	}
	buf_done(&ps.scratch);
	if (r < 0 && ret_error_offset)
		*ret_error_offset = (size_t)(ps.p - data);
	return r;
}

int json_parse(const char *data, size_t len, struct json_node **ret, size_t *ret_error_offset)
{
	struct json_node *root = NULL;
	int r;

	if (!data && len)
		return -EINVAL;
	r = parse_document(data ? data : "", len, &root, ret_error_offset);
	if (r < 0)
		return r;
	*ret = root;
	return 0;
}

int json_validate(const char *data, size_t len, size_t *ret_error_offset)
{
	if (!data && len)
		return -EINVAL;
	return parse_document(data ? data : "", len, NULL, ret_error_offset);
}

struct json_node *json_free(struct json_node *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n_items; i++)
		json_free(n->items[i]);
	free(n->items);
	free(n->key);
	free(n->str);
	free(n);
	return NULL;
}

const struct json_node *json_object_get(const struct json_node *obj, const char *key)
{
	size_t key_len;

	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	key_len = strlen(key);
	for (size_t i = 0; i < obj->n_items; i++) {
		const struct json_node *m = obj->items[i];

		if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
			return m;
	}
	return NULL;
}

const char *json_object_get_str(const struct json_node *obj, const char *key)
{
	const struct json_node *m = json_object_get(obj, key);

	return m && m->type == JSON_STRING ? m->str : NULL;
}

int json_object_get_int(const struct json_node *obj, const char *key, int64_t *ret)
{
	const struct json_node *m = json_object_get(obj, key);

	if (!m)
		return -ENOENT;
	if (m->type != JSON_NUMBER || !m->is_integer)
		return -EINVAL;
	*ret = m->integer;
	return 0;
}

int json_object_next(const char *data, size_t len, size_t *pos, struct json_member *ret)
{
	struct parser ps = { .start = data, .p = data + *pos, .end = data + len };
	const char *key;
	int r;

	if (*pos > len)
		return -EINVAL;
	skip_ws(&ps);
	if (ps.p >= ps.end)
		return -EBADMSG;
	if (*pos == 0) {
		if (*ps.p != '{')
			return -EBADMSG;
		ps.p++;
		skip_ws(&ps);
		if (ps.p < ps.end && *ps.p == '}') {
			*pos = (size_t)(ps.p - data);
			return 0;
		}
	} else {
		if (*ps.p == '}')
			return 0;
		if (*ps.p != ',')
			return -EBADMSG;
		ps.p++;
		skip_ws(&ps);
	}
	if (ps.p >= ps.end || *ps.p != '"')
		return -EBADMSG;
	key = ps.p;
	r = parse_string(&ps, NULL);
	if (r < 0)
		return r;
	ret->key = key;
	ret->key_len = (size_t)(ps.p - key);
	skip_ws(&ps);
	if (ps.p >= ps.end || *ps.p != ':')
		return -EBADMSG;
	ps.p++;
	skip_ws(&ps);
	ret->value = ps.p;
	/* Depth 1: the members of the top-level object sit inside one container already. */
	r = parse_value(&ps, 1, NULL);
	if (r < 0)
		return r;
	ret->value_len = (size_t)(ps.p - ret->value);
	*pos = (size_t)(ps.p - data);
	return 1;
}

int json_unquote(const char *token, size_t len, struct buf *out)
{
	struct parser ps = { .start = token, .p = token, .end = token + len };
	int r;

	if (len < 2 || token[0] != '"')
		return -EBADMSG;
	r = parse_string(&ps, out);
	if (r < 0)
		return r;
	return ps.p == ps.end ? 0 : -EBADMSG;
}
