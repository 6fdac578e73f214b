/* SPDX-License-Identifier: MIT */
/*
 * Secrets and their encodings in the trail's strings (redact.h).
 *
 * Each secret becomes a few patterns: its value, and from REDACT_ENCODED_MIN bytes on its
 * value in any case, its hex, and the "cores" of its base64 and base32 encodings at every byte
 * offset. A core is the run of encoded characters whose bits all come from the secret: at
 * offset k (the secret starts k bytes into a 3-byte base64 group), the first character that
 * is the secret's alone is ceil(8k/6) and the last floor(8(k+len)/6) - 1; the character on
 * each side of it, when it holds some of the secret's bits and some of a neighbour's, is
 * taken with the match ("widening"), so that not one bit of the secret stays in the trail.
 * Base32 the same with 5-bit characters and 5-byte groups.
 *
 * Patterns go into two Aho-Corasick automata, built on each redactor_add(): one over raw
 * bytes (the value, base64 cores), one over lowercased bytes (value in any case, hex, base32
 * cores). A state's children are a sorted list of (byte, state), the root's a full table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macros.h"
#include "redact.h"

#define AC_NONE UINT32_MAX

struct pattern {
	uint8_t *bytes;
	size_t len;
	size_t secret;
	enum redact_encoding encoding;
	bool ci;		      /* matched on lowercased bytes (stored lowercase) */
	bool widen_left, widen_right; /* one more character of the alphabet, when there is one */
};

struct ac_edge {
	uint8_t byte;
	uint32_t to;
};

struct ac_state {
	struct ac_edge *edges; /* sorted by byte */
	uint32_t n_edges;
	uint32_t fail;
	uint32_t out;  /* first pattern ending here (index into outs), or AC_NONE */
	uint32_t dict; /* the nearest state on the fail chain with an output, or AC_NONE */
};

struct ac_out {
	uint32_t pattern;
	uint32_t next;
};

struct automaton {
	struct ac_state *states;
	uint32_t n_states, cap_states;
	struct ac_out *outs;
	uint32_t n_outs;
	uint32_t root_next[256];
};

struct match {
	size_t start, end, order;
	uint32_t pattern;
};

struct redactor {
	size_t n_secrets;
	struct pattern *patterns;
	size_t n_patterns;
	struct automaton ac[2]; /* 0: raw bytes, 1: lowercased */
	bool built;

	/* Scratch, reused between scans. */
	struct match *matches;
	size_t n_matches, cap_matches;
	struct redact_span *spans;
	size_t cap_spans;
	uint8_t *view;
	size_t *map_start, *map_end;
	size_t cap_view;
};

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* --- the automata --- */

static void automaton_done(struct automaton *a)
{
	for (uint32_t i = 0; i < a->n_states; i++)
		free(a->states[i].edges);
	free(a->states);
	free(a->outs);
	*a = (struct automaton){ 0 };
}

static uint32_t new_state(struct automaton *a)
{
	if (a->n_states == a->cap_states) {
		uint32_t cap = a->cap_states ? a->cap_states * 2 : 64;
		struct ac_state *s = reallocarray(a->states, cap, sizeof(*s));

		if (!s)
			return AC_NONE;
		a->states = s;
		a->cap_states = cap;
	}
	a->states[a->n_states] = (struct ac_state){ .fail = 0, .out = AC_NONE, .dict = AC_NONE };
	return a->n_states++;
}

static uint32_t child(const struct automaton *a, uint32_t s, uint8_t c)
{
	const struct ac_state *st = &a->states[s];
	uint32_t lo = 0, hi = st->n_edges;

	if (s == 0)
		return a->root_next[c];
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (st->edges[mid].byte == c)
			return st->edges[mid].to;
		if (st->edges[mid].byte < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return AC_NONE;
}

static int add_edge(struct automaton *a, uint32_t s, uint8_t c, uint32_t to)
{
	struct ac_state *st = &a->states[s];
	struct ac_edge *e;
	uint32_t i;

	if (s == 0) {
		a->root_next[c] = to;
		return 0;
	}
	e = reallocarray(st->edges, st->n_edges + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	st->edges = e;
	for (i = st->n_edges; i > 0 && e[i - 1].byte > c; i--)
		e[i] = e[i - 1];
	e[i] = (struct ac_edge){ .byte = c, .to = to };
	st->n_edges++;
	return 0;
}

static int automaton_insert(struct automaton *a, const struct pattern *p, uint32_t id)
{
	uint32_t s = 0;
	struct ac_out *o;

	for (size_t i = 0; i < p->len; i++) {
		uint32_t next = child(a, s, p->bytes[i]);

		if (next == AC_NONE || next == 0) {
			next = new_state(a);
			if (next == AC_NONE || add_edge(a, s, p->bytes[i], next) < 0)
				return -ENOMEM;
		}
		s = next;
	}
	o = reallocarray(a->outs, a->n_outs + 1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	a->outs = o;
	a->outs[a->n_outs] = (struct ac_out){ .pattern = id, .next = a->states[s].out };
	a->states[s].out = a->n_outs++;
	return 0;
}

/* Failure links breadth first; the root's missing children go back to the root. */
static int automaton_link(struct automaton *a)
{
	_cleanup_free_ uint32_t *queue = malloc(sizeof(uint32_t) * (a->n_states ? a->n_states : 1));
	uint32_t head = 0, tail = 0;

	if (!queue)
		return -ENOMEM;
	for (unsigned c = 0; c < 256; c++) {
		uint32_t t = a->root_next[c];

		if (t == AC_NONE || t == 0) {
			a->root_next[c] = 0;
			continue;
		}
		a->states[t].fail = 0;
		queue[tail++] = t;
	}
	while (head < tail) {
		uint32_t s = queue[head++];
		const struct ac_state *st = &a->states[s];

		for (uint32_t i = 0; i < st->n_edges; i++) {
			uint8_t c = st->edges[i].byte;
			uint32_t t = st->edges[i].to, f = st->fail, next;

			for (;;) {
				next = child(a, f, c);
				if (next != AC_NONE || f == 0)
					break;
				f = a->states[f].fail;
			}
			if (next == AC_NONE || next == t)
				next = 0;
			a->states[t].fail = next;
			a->states[t].dict =
				a->states[next].out != AC_NONE ? next : a->states[next].dict;
			queue[tail++] = t;
		}
	}
	return 0;
}

static uint32_t step(const struct automaton *a, uint32_t s, uint8_t c)
{
	for (;;) {
		uint32_t next = child(a, s, c);

		if (next != AC_NONE)
			return next;
		if (s == 0)
			return 0;
		s = a->states[s].fail;
	}
}

/* --- patterns --- */

static const char hex_digits[] = "0123456789abcdef";
static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";

static const char *alphabet_of(enum redact_encoding e)
{
	switch (e) {
	case REDACT_BASE64:
		return b64_std;
	case REDACT_BASE64URL:
		return b64_url;
	case REDACT_BASE32:
		return b32_lower;
	default:
		return NULL;
	}
}

static int add_pattern(struct redactor *r, struct pattern *p)
{
	struct pattern *t;

	if (!p->bytes)
		return -ENOMEM;
	t = reallocarray(r->patterns, r->n_patterns + 1, sizeof(*t));
	if (!t) {
		explicit_bzero(p->bytes, p->len);
		free(p->bytes);
		return -ENOMEM;
	}
	r->patterns = t;
	r->patterns[r->n_patterns++] = *p;
	return 0;
}

/*
 * The core of v encoded with bits_per_char-bit characters (6: base64, 5: base32) when v starts
 * offset bytes into a group: the characters whose bits all come from v.
 */
static int add_core(struct redactor *r, size_t secret, const uint8_t *v, size_t n, unsigned offset,
		    unsigned bits, enum redact_encoding e)
{
	const char *alpha = alphabet_of(e);
	uint64_t first_bit = 8ull * offset, end_bit = 8ull * (offset + n);
	uint64_t first = (first_bit + bits - 1) / bits, last = end_bit / bits; /* [first, last) */
	struct pattern p = { .secret = secret, .encoding = e, .ci = e == REDACT_BASE32 };

	if (last <= first)
		return 0;
	p.len = (size_t)(last - first);
	p.bytes = malloc(p.len);
	if (!p.bytes)
		return -ENOMEM;
	for (uint64_t c = first; c < last; c++) {
		unsigned v_idx = 0;

		for (unsigned b = 0; b < bits; b++) {
			uint64_t bit = c * bits + b - first_bit; /* bit of v, MSB first */

			v_idx = v_idx << 1 | ((v[bit / 8] >> (7 - bit % 8)) & 1);
		}
		p.bytes[c - first] = (uint8_t)alpha[v_idx];
	}
	p.widen_left = first_bit % bits != 0;
	p.widen_right = end_bit % bits != 0;
	return add_pattern(r, &p);
}

struct redactor *redactor_new(void)
{
	return calloc(1, sizeof(struct redactor));
}

struct redactor *redactor_free(struct redactor *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_patterns; i++) {
		explicit_bzero(r->patterns[i].bytes, r->patterns[i].len);
		free(r->patterns[i].bytes);
	}
	free(r->patterns);
	automaton_done(&r->ac[0]);
	automaton_done(&r->ac[1]);
	free(r->matches);
	free(r->spans);
	if (r->view)
		explicit_bzero(r->view, r->cap_view);
	free(r->view);
	free(r->map_start);
	free(r->map_end);
	free(r);
	return NULL;
}

bool redactor_empty(const struct redactor *r)
{
	return !r || r->n_secrets == 0;
}

static int build(struct redactor *r)
{
	automaton_done(&r->ac[0]);
	automaton_done(&r->ac[1]);
	for (int k = 0; k < 2; k++) {
		for (unsigned c = 0; c < 256; c++)
			r->ac[k].root_next[c] = AC_NONE;
		if (new_state(&r->ac[k]) == AC_NONE)
			return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_patterns; i++) {
		const struct pattern *p = &r->patterns[i];

		if (automaton_insert(&r->ac[p->ci], p, (uint32_t)i) < 0)
			return -ENOMEM;
	}
	if (automaton_link(&r->ac[0]) < 0 || automaton_link(&r->ac[1]) < 0)
		return -ENOMEM;
	r->built = true;
	return 0;
}

int redactor_add(struct redactor *r, const void *value, size_t n)
{
	const uint8_t *v = value;
	size_t id;
	int k;

	if (!r || !value || n == 0)
		return -EINVAL;
	id = r->n_secrets;
	uint8_t *copy = malloc(n);

	if (copy)
		memcpy(copy, v, n);
	k = add_pattern(r, &(struct pattern){ .bytes = copy, .len = n, .secret = id });
	if (k >= 0 && n >= REDACT_ENCODED_MIN) {
		struct pattern lo = { .len = n, .secret = id, .ci = true, .bytes = malloc(n) };
		struct pattern hx = { .len = 2 * n,
				      .secret = id,
				      .encoding = REDACT_HEX,
				      .ci = true,
				      .bytes = malloc(2 * n) };
		bool letters = false;

		/* The value in any case, when it has letters. */
		if (lo.bytes)
			for (size_t i = 0; i < n; i++) {
				lo.bytes[i] = lower(v[i]);
				letters = letters || (lo.bytes[i] >= 'a' && lo.bytes[i] <= 'z');
			}
		if (letters)
			k = add_pattern(r, &lo);
		else if (lo.bytes)
			free(lo.bytes);
		if (hx.bytes)
			for (size_t i = 0; i < n; i++) {
				hx.bytes[2 * i] = (uint8_t)hex_digits[v[i] >> 4];
				hx.bytes[2 * i + 1] = (uint8_t)hex_digits[v[i] & 0xf];
			}
		if (k >= 0)
			k = add_pattern(r, &hx);
		else
			free(hx.bytes);
		for (unsigned off = 0; off < 3 && k >= 0; off++) {
			size_t before = r->n_patterns;

			k = add_core(r, id, v, n, off, 6, REDACT_BASE64);
			if (k >= 0)
				k = add_core(r, id, v, n, off, 6, REDACT_BASE64URL);
			/* Without '+' or '/' both alphabets spell the same core: keep one. */
			if (k >= 0 && r->n_patterns == before + 2 &&
			    memcmp(r->patterns[before].bytes, r->patterns[before + 1].bytes,
				   r->patterns[before].len) == 0) {
				explicit_bzero(r->patterns[before + 1].bytes,
					       r->patterns[before + 1].len);
				free(r->patterns[before + 1].bytes);
				r->n_patterns--;
			}
		}
		for (unsigned off = 0; off < 5 && k >= 0; off++)
			k = add_core(r, id, v, n, off, 5, REDACT_BASE32);
	}
	if (k < 0)
		return k;
	r->n_secrets++;
	return build(r);
}

/* --- scanning --- */

static int push_match(struct redactor *r, size_t start, size_t end, uint32_t pattern)
{
	if (r->n_matches == r->cap_matches) {
		size_t cap = r->cap_matches ? r->cap_matches * 2 : 16;
		struct match *m = reallocarray(r->matches, cap, sizeof(*m));

		if (!m)
			return -ENOMEM;
		r->matches = m;
		r->cap_matches = cap;
	}
	r->matches[r->n_matches] = (struct match){
		.start = start, .end = end, .order = r->n_matches, .pattern = pattern
	};
	r->n_matches++;
	return 0;
}

static bool in_alphabet(enum redact_encoding e, uint8_t c)
{
	const char *a = alphabet_of(e);

	if (!a)
		return false;
	if (e == REDACT_BASE32)
		c = lower(c);
	return c && strchr(a, c);
}

/*
 * Runs automaton a over view (n bytes, lowercased first when ci), whose byte i came from
 * s[map_start[i], map_end[i]) (the identity when map_start is NULL), and notes every match as
 * a span of s, widened by a character of its alphabet where the pattern asks for it.
 */
static int run(struct redactor *r, int ci, const uint8_t *s, size_t s_len, const uint8_t *view,
	       size_t n, const size_t *map_start, const size_t *map_end)
{
	const struct automaton *a = &r->ac[ci];
	uint32_t st = 0;

	if (a->n_states <= 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		st = step(a, st, ci ? lower(view[i]) : view[i]);
		for (uint32_t q = a->states[st].out != AC_NONE ? st : a->states[st].dict;
		     q != AC_NONE; q = a->states[q].dict)
			for (uint32_t o = a->states[q].out; o != AC_NONE; o = a->outs[o].next) {
				const struct pattern *p = &r->patterns[a->outs[o].pattern];
				size_t vs = i + 1 - p->len;
				size_t start = map_start ? map_start[vs] : vs;
				size_t end = map_end ? map_end[i] : i + 1;

				if (p->encoding != REDACT_LITERAL) {
					if (p->widen_left && start > 0 &&
					    in_alphabet(p->encoding, s[start - 1]))
						start--;
					if (p->widen_right && end < s_len &&
					    in_alphabet(p->encoding, s[end]))
						end++;
					/* Padding says nothing, but read as part of the value. */
					while (p->encoding != REDACT_HEX && end < s_len &&
					       s[end] == '=')
						end++;
				}
				if (push_match(r, start, end, a->outs[o].pattern) < 0)
					return -ENOMEM;
			}
	}
	return 0;
}

static int reserve_view(struct redactor *r, size_t n)
{
	if (n <= r->cap_view)
		return 0;
	if (r->view)
		explicit_bzero(r->view, r->cap_view);
	free(r->view);
	free(r->map_start);
	free(r->map_end);
	r->view = malloc(n);
	r->map_start = malloc(n * sizeof(size_t));
	r->map_end = malloc(n * sizeof(size_t));
	r->cap_view = r->view && r->map_start && r->map_end ? n : 0;
	return r->cap_view ? 0 : -ENOMEM;
}

static int hexval(uint8_t c)
{
	c = lower(c);
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int scan_view(struct redactor *r, const uint8_t *s, size_t n, size_t v_len)
{
	int k = run(r, 0, s, n, r->view, v_len, r->map_start, r->map_end);

	if (k >= 0)
		k = run(r, 1, s, n, r->view, v_len, r->map_start, r->map_end);
	return k;
}

static bool is_separator(uint8_t c)
{
	return c == '.' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int cmp_match(const void *x, const void *y)
{
	const struct match *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1; /* the longest first */
	return a->order < b->order ? -1 : a->order > b->order;
}

int redactor_scan(struct redactor *r, const uint8_t *s, size_t n, const struct redact_span **ret)
{
	size_t n_spans = 0, v;
	bool percent = false, separated = false;
	int k;

	*ret = NULL;
	if (redactor_empty(r) || n == 0)
		return 0;
	if (!r->built && build(r) < 0)
		return -ENOMEM;
	r->n_matches = 0;
	k = run(r, 0, s, n, s, n, NULL, NULL);
	if (k >= 0)
		k = run(r, 1, s, n, s, n, NULL, NULL);
	for (size_t i = 0; i < n && (!percent || !separated); i++) {
		percent = percent || s[i] == '%' || s[i] == '+';
		separated = separated || is_separator(s[i]);
	}
	/* Percent-decoded: %XX (either case) is one byte, '+' a space. */
	if (k >= 0 && percent && (k = reserve_view(r, n)) >= 0) {
		v = 0;
		for (size_t i = 0; i < n; v++) {
			int hi = i + 2 < n && s[i] == '%' ? hexval(s[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

			r->map_start[v] = i;
			if (hi >= 0 && lo >= 0) {
				r->view[v] = (uint8_t)(hi << 4 | lo);
				i += 3;
			} else {
				r->view[v] = s[i] == '+' ? ' ' : s[i];
				i++;
			}
			r->map_end[v] = i;
		}
		k = scan_view(r, s, n, v);
	}
	/* Dots and whitespace left out: a DNS name's labels, a wrapped line. */
	if (k >= 0 && separated && (k = reserve_view(r, n)) >= 0) {
		v = 0;
		for (size_t i = 0; i < n; i++) {
			if (is_separator(s[i]))
				continue;
			r->view[v] = s[i];
			r->map_start[v] = i;
			r->map_end[v] = i + 1;
			v++;
		}
		k = scan_view(r, s, n, v);
	}
	if (k < 0)
		return k;
	if (!r->n_matches)
		return 0;

	qsort(r->matches, r->n_matches, sizeof(*r->matches), cmp_match);
	if (r->cap_spans < r->n_matches) {
		struct redact_span *sp = reallocarray(r->spans, r->n_matches, sizeof(*sp));

		if (!sp)
			return -ENOMEM;
		r->spans = sp;
		r->cap_spans = r->n_matches;
	}
	for (size_t i = 0; i < r->n_matches; i++) {
		const struct match *m = &r->matches[i];
		const struct pattern *p = &r->patterns[m->pattern];
		struct redact_span *last = n_spans ? &r->spans[n_spans - 1] : NULL;

		if (last && m->start < last->end) {
			/* Inside what is already covered: nothing new. */
			if (m->end <= last->end)
				continue;
			/* Reaching further: the same marker grows, another one follows. */
			if (last->secret == p->secret && last->encoding == p->encoding) {
				last->end = m->end;
				continue;
			}
			r->spans[n_spans++] = (struct redact_span){ .start = last->end,
								    .end = m->end,
								    .secret = p->secret,
								    .encoding = p->encoding };
			continue;
		}
		r->spans[n_spans++] = (struct redact_span){ .start = m->start,
							    .end = m->end,
							    .secret = p->secret,
							    .encoding = p->encoding };
	}
	*ret = r->spans;
	return (int)n_spans;
}

const char *redact_encoding_to_string(enum redact_encoding e)
{
	switch (e) {
	case REDACT_HEX:
		return "hex";
	case REDACT_BASE64:
		return "base64";
	case REDACT_BASE64URL:
		return "base64url";
	case REDACT_BASE32:
		return "base32";
	default:
		return NULL;
	}
}
