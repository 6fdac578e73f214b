/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "fd-util.h"
#include "hasher.h"
#include "json.h"
#include "redact.h"

/* Containers open at once, the event's own object included. */
#define AUDIT_DEPTH_MAX 32
/* More decimals than any uint64_t has digits would only pad with zeros. */
#define AUDIT_DECIMALS_MAX 30

struct audit_secret {
	char *name;
	bool hit; /* redacted in the event being built */
};

struct audit {
	int fd;
	char run_id[AUDIT_RUN_ID_LEN + 1];
	char head[AUDIT_HASH_HEX_LEN + 1];
	uint64_t seq;
	struct audit_hasher hasher;

	/* The line being built; reset, never freed, between events. */
	struct buf line;
	bool in_event;
	int error;	   /* first error of the event being built */
	int write_error;   /* first failed write: the chain has a gap, so every later event fails */
	unsigned depth;	   /* open containers; 1 is the event object */
	uint64_t is_array; /* bit d: the container at depth d is an array */
	uint64_t has_items; /* bit d: the container at depth d has an item, so the next needs ',' */

	/* audit_set_line_guard() */
	bool (*mid_line)(void *userdata);
	void *mid_line_userdata;

	/* In the order they were added: the redactor's secret indexes. */
	struct audit_secret *secrets;
	size_t n_secrets;
	struct redactor *redactor;
	bool any_hit; /* a secret was redacted in the event being built */

	audit_line_check_t check;
	void *check_userdata;
};

static bool run_id_valid(const char *s)
{
	for (size_t i = 0; i < AUDIT_RUN_ID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return s[AUDIT_RUN_ID_LEN] == 0;
}

int audit_new(int fd, const char *run_id, struct audit **ret)
{
	_cleanup_audit_free_ struct audit *a = NULL;
	int r;

	if (fd < 0 || !run_id || !ret || !run_id_valid(run_id))
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->fd = -1;
	a->line = (struct buf)BUF_INIT;
	memcpy(a->run_id, run_id, AUDIT_RUN_ID_LEN + 1);
	r = audit_hasher_init(&a->hasher);
	if (r < 0)
		return r;
	r = audit_hasher_hex(&a->hasher, a->run_id, AUDIT_RUN_ID_LEN, a->head);
	if (r < 0)
		return r;
	/* Only now, so that on failure the caller still owns fd. */
	a->fd = fd;
	*ret = TAKE_PTR(a);
	return 0;
}

struct audit *audit_free(struct audit *a)
{
	if (!a)
		return NULL;
	safe_close(a->fd);
	for (size_t i = 0; i < a->n_secrets; i++)
		free(a->secrets[i].name);
	free(a->secrets);
	redactor_free(a->redactor);
	audit_hasher_done(&a->hasher);
	buf_done(&a->line);
	free(a);
	return NULL;
}

int audit_add_secret(struct audit *a, const char *name, const char *value)
{
	struct audit_secret *secrets;
	char *copy;
	int r;

	if (!a || isempty(name) || !value)
		return -EINVAL;
	if (!*value)
		return 0;
	if (!a->redactor) {
		a->redactor = redactor_new();
		if (!a->redactor)
			return -ENOMEM;
	}
	secrets = reallocarray(a->secrets, a->n_secrets + 1, sizeof(*secrets));
	if (!secrets)
		return -ENOMEM;
	a->secrets = secrets;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	r = redactor_add(a->redactor, value, strlen(value));
	if (r < 0) {
		free(copy);
		return r;
	}
	a->secrets[a->n_secrets++] = (struct audit_secret){ .name = copy };
	return 0;
}

static void set_error(struct audit *a, int r)
{
	if (!a->error)
		a->error = r;
}

static bool is_reserved_key(const char *key)
{
	static const char *const reserved[] = {
		"v", "seq", "ts", "run", "event", "prev", "redacted"
	};

	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (streq(key, reserved[i]))
			return true;
	return false;
}

/*
 * Writes what goes before a value: the comma when the container has an item already, and the
 * key inside an object. Returns false when the value must not be written.
 */
static bool field_begin(struct audit *a, const char *key)
{
	uint64_t bit;

	if (!a || !a->in_event || a->error)
		return false;
	bit = UINT64_C(1) << a->depth;
	/* Keys belong to object members only; a mismatch would produce invalid JSON. */
	if (!!(a->is_array & bit) != !key) {
		set_error(a, -EINVAL);
		return false;
	}
	/* The common fields and prev are the writer's; a duplicate would confuse every reader. */
	if (a->depth == 1 && is_reserved_key(key)) {
		set_error(a, -EINVAL);
		return false;
	}
	if (a->has_items & bit)
		buf_putc(&a->line, ',');
	a->has_items |= bit;
	if (key) {
		json_escape(&a->line, key, strlen(key));
		buf_putc(&a->line, ':');
	}
	return true;
}

void audit_begin_at(struct audit *a, const char *event, uint64_t realtime_usec)
{
	char ts[32];

	if (!a)
		return;
	/* A broken buffer stays broken; start over with fresh memory for the new event. */
	if (!buf_ok(&a->line))
		buf_done(&a->line);
	buf_reset(&a->line);
	a->in_event = true;
	a->error = 0;
	a->depth = 1;
	for (size_t i = 0; a->any_hit && i < a->n_secrets; i++)
		a->secrets[i].hit = false;
	a->any_hit = false;
	a->is_array = 0;
	/* The event object starts with the common fields, so its first own field needs a comma. */
	a->has_items = UINT64_C(1) << 1;
	if (isempty(event)) {
		set_error(a, -EINVAL);
		return;
	}
	audit_format_ts(ts, sizeof(ts), realtime_usec);
	buf_printf(&a->line,
		   "{\"v\":%d,\"seq\":%" PRIu64 ",\"ts\":\"%s\",\"run\":\"%s\",\"event\":",
		   AUDIT_FORMAT_VERSION, a->seq, ts, a->run_id);
	json_escape(&a->line, event, strlen(event));
}

void audit_begin(struct audit *a, const char *event)
{
	audit_begin_at(a, event, now_realtime_usec());
}

/*
 * Writes a string value with every secret replaced by its marker: "[redacted:NAME]" for the
 * value itself, "[redacted:NAME:base64]" (hex, base64url, base32) for an encoding of it
 * (redact.h says what is found). Matching runs on the raw bytes, before escaping, so a secret
 * is found whatever characters it contains. Where matches overlap, the span they cover is
 * replaced whole, with a marker for each secret that extends it, so no fragment of a secret
 * is left next to a marker ("abab" for "aba" and "bab" leaves nothing of either).
 */
static void put_redacted(struct audit *a, const void *value, size_t n)
{
	const struct redact_span *spans = NULL;
	const uint8_t *s = value;
	size_t plain = 0;
	int k = a->redactor ? redactor_scan(a->redactor, s, n, &spans) : 0;

	if (k < 0) {
		set_error(a, k);
		return;
	}
	buf_putc(&a->line, '"');
	for (int i = 0; i < k; i++) {
		const struct redact_span *sp = &spans[i];
		struct audit_secret *sec = &a->secrets[sp->secret];
		const char *enc = redact_encoding_to_string(sp->encoding);

		json_escape_unquoted(&a->line, s + plain, sp->start - plain);
		buf_printf(&a->line, "[redacted:%s%s%s]", sec->name, enc ? ":" : "",
			   enc ? enc : "");
		sec->hit = a->any_hit = true;
		plain = sp->end;
	}
	json_escape_unquoted(&a->line, s + plain, n - plain);
	buf_putc(&a->line, '"');
}

void audit_strn(struct audit *a, const char *key, const void *value, size_t n)
{
	if (!field_begin(a, key))
		return;
	if (!value)
		buf_puts(&a->line, "null");
	else
		put_redacted(a, value, n);
}

void audit_str(struct audit *a, const char *key, const char *value)
{
	audit_strn(a, key, value, value ? strlen(value) : 0);
}

void audit_int(struct audit *a, const char *key, int64_t v)
{
	if (field_begin(a, key))
		buf_printf(&a->line, "%" PRId64, v);
}

void audit_uint(struct audit *a, const char *key, uint64_t v)
{
	if (field_begin(a, key))
		buf_printf(&a->line, "%" PRIu64, v);
}

void audit_bool(struct audit *a, const char *key, bool v)
{
	if (field_begin(a, key))
		buf_puts(&a->line, v ? "true" : "false");
}

void audit_null(struct audit *a, const char *key)
{
	if (field_begin(a, key))
		buf_puts(&a->line, "null");
}

void audit_fixed(struct audit *a, const char *key, uint64_t value, unsigned decimals)
{
	char digits[21];
	size_t n;

	if (a && a->in_event && decimals > AUDIT_DECIMALS_MAX) {
		set_error(a, -EINVAL);
		return;
	}
	if (!field_begin(a, key))
		return;
	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, value);
	if (decimals == 0) {
		buf_append(&a->line, digits, n);
	} else if (n <= decimals) {
		buf_puts(&a->line, "0.");
		for (size_t i = n; i < decimals; i++)
			buf_putc(&a->line, '0');
		buf_append(&a->line, digits, n);
	} else {
		buf_append(&a->line, digits, n - decimals);
		buf_putc(&a->line, '.');
		buf_append(&a->line, digits + n - decimals, decimals);
	}
}

static void container_begin(struct audit *a, const char *key, bool array)
{
	if (a && a->in_event && !a->error && a->depth + 1 > AUDIT_DEPTH_MAX) {
		set_error(a, -E2BIG);
		return;
	}
	if (!field_begin(a, key))
		return;
	a->depth++;
	if (array)
		a->is_array |= UINT64_C(1) << a->depth;
	else
		a->is_array &= ~(UINT64_C(1) << a->depth);
	a->has_items &= ~(UINT64_C(1) << a->depth);
	buf_putc(&a->line, array ? '[' : '{');
}

static void container_end(struct audit *a, bool array)
{
	if (!a || !a->in_event || a->error)
		return;
	/* Closing the event object itself, or the wrong kind of container, is a caller bug. */
	if (a->depth <= 1 || !!(a->is_array & (UINT64_C(1) << a->depth)) != array) {
		set_error(a, -EINVAL);
		return;
	}
	a->depth--;
	buf_putc(&a->line, array ? ']' : '}');
}

void audit_object_begin(struct audit *a, const char *key)
{
	container_begin(a, key, false);
}

void audit_object_end(struct audit *a)
{
	container_end(a, false);
}

void audit_array_begin(struct audit *a, const char *key)
{
	container_begin(a, key, true);
}

void audit_array_end(struct audit *a)
{
	container_end(a, true);
}

int audit_end(struct audit *a)
{
	char hex[AUDIT_HASH_HEX_LEN + 1];
	int r;

	if (!a || !a->in_event)
		return -EINVAL;
	a->in_event = false;
	if (a->write_error)
		return a->write_error;
	if (a->error)
		return a->error;
	if (a->depth != 1)
		return -EINVAL;
	/* The event says which secrets were taken out of it (names only). */
	if (a->any_hit) {
		bool first = true;

		buf_puts(&a->line, ",\"redacted\":[");
		for (size_t i = 0; i < a->n_secrets; i++)
			if (a->secrets[i].hit) {
				if (!first)
					buf_putc(&a->line, ',');
				json_escape(&a->line, a->secrets[i].name,
					    strlen(a->secrets[i].name));
				first = false;
			}
		buf_putc(&a->line, ']');
	}
	buf_puts(&a->line, ",\"prev\":\"");
	buf_append(&a->line, a->head, AUDIT_HASH_HEX_LEN);
	buf_puts(&a->line, "\"}");
	if (!buf_ok(&a->line))
		return -ENOMEM;
	r = audit_hasher_hex(&a->hasher, a->line.data, a->line.len, hex);
	if (r < 0)
		return r;
	buf_putc(&a->line, '\n');
	if (!buf_ok(&a->line))
		return -ENOMEM;
	if (a->check && !a->check(a->check_userdata, a->line.len))
		return -ENOSPC;
	/* The stream is mid-line (someone else's): a newline first, in the same write. */
	if (a->mid_line && a->mid_line(a->mid_line_userdata)) {
		if (!buf_reserve(&a->line, 1))
			return -ENOMEM;
		memmove(a->line.data + 1, a->line.data, a->line.len);
		a->line.data[0] = '\n';
		a->line.len++;
	}

	/*
	 * One write() so that the line reaches a shared file or pipe whole (O_APPEND places it
	 * atomically); write_full() loops only when the kernel takes less, and retries EINTR.
	 */
	r = write_full(a->fd, a->line.data, a->line.len);
	if (r < 0) {
		a->write_error = r;
		return r;
	}
	memcpy(a->head, hex, sizeof(hex));
	a->seq++;
	return 0;
}

void audit_set_line_guard(struct audit *a, bool (*mid_line)(void *userdata), void *userdata)
{
	a->mid_line = mid_line;
	a->mid_line_userdata = userdata;
}

void audit_set_line_check(struct audit *a, audit_line_check_t check, void *userdata)
{
	a->check = check;
	a->check_userdata = userdata;
}

uint64_t audit_next_seq(const struct audit *a)
{
	return a->seq;
}

const char *audit_head(const struct audit *a)
{
	return a->head;
}

const char *audit_run_id(const struct audit *a)
{
	return a->run_id;
}

int audit_make_run_id(char *buf)
{
	uint8_t u[16];
	size_t got = 0;

	while (got < sizeof(u)) {
		ssize_t n = getrandom(u + got, sizeof(u) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	/* RFC 9562: version 4 in the high nibble of byte 6, variant 10xx in byte 8. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(buf, AUDIT_RUN_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	explicit_bzero(u, sizeof(u));
	return 0;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil_from_days(uint64_t days, unsigned *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

	*ret_y = (unsigned)(yoe + era * 400 + (m <= 2));
	*ret_m = m;
	*ret_d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
}

void audit_format_ts(char *buf, size_t size, uint64_t usec)
{
	/* 9999-12-31T23:59:59Z: beyond it the format would need more than four year digits. */
	const uint64_t max_sec = UINT64_C(253402300799);
	uint64_t sec = usec / 1000000, frac = usec % 1000000, rem;
	unsigned y, mo, d;

	if (sec > max_sec) {
		sec = max_sec;
		frac = 999999;
	}
	civil_from_days(sec / 86400, &y, &mo, &d);
	rem = sec % 86400;
	snprintf(buf, size, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", y, mo, d, (unsigned)(rem / 3600),
		 (unsigned)(rem / 60 % 60), (unsigned)(rem % 60), (unsigned)frac);
}

void audit_sha256_hex(const void *data, size_t len, char *hex)
{
	struct audit_hasher h;

	/* On failure hex is empty: not a hash, so it can never match one. */
	audit_hasher_init(&h);
	audit_hasher_hex(&h, data, len, hex);
	audit_hasher_done(&h);
}
