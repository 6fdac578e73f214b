/* SPDX-License-Identifier: MIT */
/*
 * Names on the wire (nfwire.h): a TLS ClientHello's server_name and an HTTP/1.x request's
 * Host, from the first bytes of a connection. Everything is bounds-checked against the bytes
 * actually held; a length field that points past them asks for more, never reads beyond.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macros.h"
#include "nfwire.h"

#define TLS_RECORD_HEADER     5
#define TLS_RECORD_MAX	      16384 /* RFC 8446 5.1: TLSPlaintext.length <= 2^14 */
#define TLS_CONTENT_HANDSHAKE 22
#define TLS_CLIENT_HELLO      1
#define TLS_EXT_SERVER_NAME   0
#define TLS_EXT_ECH	      0xfe0d
#define TLS_SNI_HOST_NAME     0
#define HTTP_METHOD_MAX	      24

const char *nfwire_proto_to_string(enum nfwire_proto p)
{
	switch (p) {
	case NFWIRE_PROTO_TLS:
		return "tls";
	case NFWIRE_PROTO_HTTP:
		return "http";
	default:
		return NULL;
	}
}

char *nfwire_normalize(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= size)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		buf[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	buf[n] = 0;
	return buf;
}

bool nfwire_same_name(const char *a, const char *b)
{
	char na[NFWIRE_NAME_MAX], nb[NFWIRE_NAME_MAX];

	if (!a || !b || !nfwire_normalize(a, na, sizeof(na)) ||
	    !nfwire_normalize(b, nb, sizeof(nb)))
		return false;
	return streq(na, nb);
}

static void set_bad(struct nfwire_result *r, const char *why)
{
	r->status = NFWIRE_BAD;
	r->has_name = false;
	r->why = why;
}

static void set_more(struct nfwire_result *r, size_t need)
{
	r->status = NFWIRE_MORE;
	r->need = need;
}

/*
 * Stores a name as sent (a server_name, a Host value without its port): printable ASCII
 * without spaces, lowercased, one trailing dot dropped. Returns false for anything else.
 */
static bool store_name(char *dst, const uint8_t *p, size_t n)
{
	char raw[NFWIRE_NAME_MAX];

	if (n == 0 || n >= sizeof(raw))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
		raw[i] = (char)p[i];
	}
	raw[n] = 0;
	return nfwire_normalize(raw, dst, NFWIRE_NAME_MAX) != NULL;
}

/* --- TLS --- */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A cursor over a byte range that fails (sets bad) rather than reading past its end. */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

static size_t take_len(struct cursor *c, size_t width)
{
	const uint8_t *p = take(c, width);

	if (!p)
		return 0;
	return width == 1 ? p[0] : width == 2 ? be16(p) : be24(p);
}

/* A vector with a length prefix of the given width, as a cursor of its own. */
static struct cursor take_vector(struct cursor *c, size_t width)
{
	size_t n = take_len(c, width);
	const uint8_t *p = take(c, n);

	return (struct cursor){ .p = p, .left = p ? n : 0, .bad = !p };
}

static void parse_server_name(struct cursor ext, struct nfwire_result *r)
{
	struct cursor list = take_vector(&ext, 2);
	bool seen = false;

	if (list.bad || ext.left != 0) {
		set_bad(r, "malformed server_name extension");
		return;
	}
	while (list.left > 0) {
		const uint8_t *type = take(&list, 1);
		struct cursor name = take_vector(&list, 2);

		if (!type || name.bad) {
			set_bad(r, "malformed server_name extension");
			return;
		}
		if (*type != TLS_SNI_HOST_NAME)
			continue;
		/* RFC 6066 3: no more than one name of a type. */
		if (seen || !store_name(r->name, name.p, name.left)) {
			set_bad(r, seen ? "two server names" : "unreadable server name");
			return;
		}
		seen = true;
	}
	r->has_name = seen;
}

static void parse_client_hello(const uint8_t *body, size_t len, struct nfwire_result *r)
{
	struct cursor c = { .p = body, .left = len }, exts;
	uint16_t seen_types[64];
	size_t n_seen = 0;

	take(&c, 2);			  /* legacy_version */
	take(&c, 32);			  /* random */
	take_vector(&c, 1);		  /* legacy_session_id */
	if (take_vector(&c, 2).left == 0) /* cipher_suites: at least one */
		c.bad = true;
	if (take_vector(&c, 1).left == 0) /* legacy_compression_methods: at least null */
		c.bad = true;
	if (c.bad) {
		set_bad(r, "malformed ClientHello");
		return;
	}
	r->status = NFWIRE_DONE;
	if (c.left == 0)
		return; /* no extensions at all (SSL 3.0 / TLS 1.0 style): no name */
	exts = take_vector(&c, 2);
	if (exts.bad || c.left != 0) {
		set_bad(r, "malformed ClientHello extensions");
		return;
	}
	while (exts.left > 0) {
		const uint8_t *tp = take(&exts, 2);
		struct cursor ext = take_vector(&exts, 2);
		uint16_t type;

		if (!tp || ext.bad) {
			set_bad(r, "malformed ClientHello extensions");
			return;
		}
		type = be16(tp);
		/* RFC 8446 4.2: an extension type appears at most once. */
		for (size_t i = 0; i < n_seen; i++)
			if (seen_types[i] == type) {
				set_bad(r, "an extension appears twice in the ClientHello");
				return;
			}
		if (n_seen < ELEMENTSOF(seen_types))
			seen_types[n_seen++] = type;
		if (type == TLS_EXT_SERVER_NAME) {
			parse_server_name(ext, r);
			if (r->status == NFWIRE_BAD)
				return;
		} else if (type == TLS_EXT_ECH) {
			r->ech = true;
		}
	}
}

/*
 * Reassembles the handshake message from as many handshake records as it takes, then parses
 * it as a ClientHello. Only the bytes of the first message are needed.
 */
static void parse_tls(const uint8_t *p, size_t len, struct nfwire_result *r)
{
	uint8_t hs[NFWIRE_HELLO_MAX + 4];
	size_t have = 0, off = 0, want = 0;

	r->proto = NFWIRE_PROTO_TLS;
	for (;;) {
		size_t rec_len, chunk;

		if (len - off < TLS_RECORD_HEADER) {
			set_more(r, off + TLS_RECORD_HEADER);
			return;
		}
		if (p[off] != TLS_CONTENT_HANDSHAKE || p[off + 1] != 3) {
			set_bad(r, "a TLS record other than the ClientHello's came first");
			return;
		}
		rec_len = be16(p + off + 3);
		if (rec_len == 0 || rec_len > TLS_RECORD_MAX) {
			set_bad(r, "malformed TLS record");
			return;
		}
		off += TLS_RECORD_HEADER;
		/* Take what this record holds of the message, as far as it has arrived. */
		chunk = MIN(rec_len, len - off);
		if (want)
			chunk = MIN(chunk, want - have);
		else
			chunk = MIN(chunk, sizeof(hs) - have);
		memcpy(hs + have, p + off, chunk);
		have += chunk;
		if (!want && have >= 4) {
			if (hs[0] != TLS_CLIENT_HELLO) {
				set_bad(r, "the first TLS handshake message is not a ClientHello");
				return;
			}
			want = 4 + (size_t)be24(hs + 1);
			if (want > sizeof(hs)) {
				set_bad(r, "ClientHello larger than 32 KiB");
				return;
			}
		}
		if (want && have >= want) {
			parse_client_hello(hs + 4, want - 4, r);
			return;
		}
		if (len - off < rec_len) {
			/* This record has not fully arrived: it (and so the message) goes on. */
			set_more(r, off + rec_len);
			return;
		}
		/* The message goes on in the next record. */
		off += rec_len;
	}
}

/* --- HTTP/1.x --- */

static bool is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The end of the line starting at off ("\n", optionally after "\r"), or SIZE_MAX. */
static size_t line_end(const uint8_t *p, size_t len, size_t off)
{
	const uint8_t *nl = memchr(p + off, '\n', len - off);

	return nl ? (size_t)(nl - p) : SIZE_MAX;
}

/* Splits "host", "host:port", "[v6]" or "[v6]:port" and stores the host; false if malformed. */
static bool store_authority(char *dst, const uint8_t *p, size_t n)
{
	size_t host_len = n;

	if (n > 0 && p[0] == '[') {
		const uint8_t *close = memchr(p, ']', n);

		if (!close)
			return false;
		host_len = (size_t)(close - p) - 1;
		if ((size_t)(close - p) + 1 < n && close[1] != ':')
			return false;
		return store_name(dst, p + 1, host_len);
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] == ':') {
			host_len = i;
			break;
		}
	return store_name(dst, p, host_len);
}

/* The host of an absolute-form target ("scheme://[userinfo@]host[:port][/...]"). */
static bool target_host(char *dst, const uint8_t *t, size_t n)
{
	const uint8_t *sep = NULL;
	size_t start, end;

	for (size_t i = 0; i + 2 < n; i++)
		if (t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/') {
			sep = t + i;
			break;
		}
	if (!sep)
		return false;
	start = (size_t)(sep - t) + 3;
	end = start;
	while (end < n && t[end] != '/' && t[end] != '?' && t[end] != '#')
		end++;
	for (size_t i = end; i > start; i--)
		if (t[i - 1] == '@') {
			start = i;
			break;
		}
	return store_authority(dst, t + start, end - start);
}

static void parse_http(const uint8_t *p, size_t len, struct nfwire_result *r)
{
	size_t i = 0, eol, sp1, sp2, off;
	bool host_seen = false;

	/* The method: a token, then one space. */
	while (i < len && i <= HTTP_METHOD_MAX && is_tchar(p[i]))
		i++;
	if (i == len && i <= HTTP_METHOD_MAX) {
		set_more(r, len + 1);
		return;
	}
	if (i == 0 || i > HTTP_METHOD_MAX || p[i] != ' ') {
		set_bad(r, "neither TLS nor HTTP/1.x");
		return;
	}
	r->proto = NFWIRE_PROTO_HTTP;
	sp1 = i;
	eol = line_end(p, len, 0);
	if (eol == SIZE_MAX) {
		if (len >= NFWIRE_HEAD_MAX)
			set_bad(r, "HTTP request line longer than 16 KiB");
		else
			set_more(r, len + 1);
		return;
	}
	/* METHOD SP target SP HTTP/1.x [CR] LF */
	sp2 = eol;
	while (sp2 > sp1 + 1 && p[sp2 - 1] != ' ')
		sp2--;
	if (sp2 <= sp1 + 1 || eol - sp2 < 8 || memcmp(p + sp2, "HTTP/1.", 7) != 0 ||
	    p[sp2 + 7] < '0' || p[sp2 + 7] > '9' ||
	    (eol - sp2 > 8 && !(eol - sp2 == 9 && p[sp2 + 8] == '\r'))) {
		set_bad(r, "not an HTTP/1.x request line");
		return;
	}
	{
		const uint8_t *t = p + sp1 + 1;
		size_t tn = sp2 - 1 - (sp1 + 1);

		if (tn == 0 || memchr(t, ' ', tn)) {
			set_bad(r, "not an HTTP/1.x request line");
			return;
		}
		if (sp1 == 7 && memcmp(p, "CONNECT", 7) == 0) {
			if (!store_authority(r->target, t, tn)) {
				set_bad(r, "unreadable CONNECT target");
				return;
			}
		} else if (t[0] != '/' && t[0] != '*' && !target_host(r->target, t, tn)) {
			set_bad(r, "unreadable request target");
			return;
		}
	}

	/* Header fields up to the empty line. */
	for (off = eol + 1;;) {
		const uint8_t *colon, *v;
		size_t end, vn;

		eol = line_end(p, len, off);
		if (eol == SIZE_MAX) {
			if (len >= NFWIRE_HEAD_MAX)
				set_bad(r, "HTTP request head longer than 16 KiB");
			else
				set_more(r, len + 1);
			return;
		}
		end = eol > off && p[eol - 1] == '\r' ? eol - 1 : eol;
		if (end == off)
			break; /* the empty line: the head is complete */
		if (p[off] == ' ' || p[off] == '\t') {
			/* RFC 9112 5.2: obsolete line folding; a relay must not guess. */
			set_bad(r, "folded HTTP header line");
			return;
		}
		colon = memchr(p + off, ':', end - off);
		if (!colon || colon == p + off) {
			set_bad(r, "malformed HTTP header line");
			return;
		}
		if ((size_t)(colon - (p + off)) == 4 &&
		    strncasecmp((const char *)p + off, "host", 4) == 0) {
			if (host_seen) {
				set_bad(r, "two Host headers");
				return;
			}
			host_seen = true;
			v = colon + 1;
			vn = (size_t)(p + end - v);
			while (vn > 0 && (*v == ' ' || *v == '\t'))
				v++, vn--;
			while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn > 0) {
				if (!store_authority(r->name, v, vn)) {
					set_bad(r, "unreadable Host header");
					return;
				}
				r->has_name = true;
			}
		}
		off = eol + 1;
	}
	r->status = NFWIRE_DONE;
	/* HTTP/1.0 may name its host in the target only. */
	if (!r->has_name && *r->target) {
		memcpy(r->name, r->target, sizeof(r->name));
		r->has_name = true;
	}
}

void nfwire_parse(const uint8_t *p, size_t len, struct nfwire_result *r)
{
	*r = (struct nfwire_result){ .status = NFWIRE_MORE, .need = 1 };
	if (len == 0)
		return;
	if (len > NFWIRE_BUFFER_MAX)
		len = NFWIRE_BUFFER_MAX;
	if (p[0] == TLS_CONTENT_HANDSHAKE) {
		if (len < 3) {
			set_more(r, 3);
			return;
		}
		if (p[1] != 3 || p[2] > 4) {
			set_bad(r, "neither TLS nor HTTP/1.x");
			return;
		}
		parse_tls(p, len, r);
	} else {
		parse_http(p, len, r);
	}
	if (r->status == NFWIRE_MORE && r->need > NFWIRE_BUFFER_MAX)
		set_bad(r, "no name within the first 48 KiB");
}
