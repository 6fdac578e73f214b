/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname-util.h"
#include "manifest-internal.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

/* What the schema walk needs beyond the event reader. */
struct parse {
	struct manifest *m;
	struct manifest_include_ref *includes;
	size_t n_includes;
	/* Index of the "unsupported schema version" problem, or SIZE_MAX. */
	size_t bad_version;
	/* A read or write entry was refused, so "hide is below nothing" could be a false alarm. */
	bool mounts_incomplete;
};

#define EXPECTED_DURATION "a duration such as 500ms, 30s, 2m or 1h"
#define EXPECTED_SIZE	  "a size such as 512K, 64M, 1G or a number of bytes"
#define EXPECTED_PORT	  "a port number from 1 to 65535"
#define EXPECTED_ENV_NAME "a variable name (letters, digits and '_', not starting with a digit)"
#define MAX_OPEN_FILES	  1048576

/* Turns a helper's 1/0/-errno into a handler's 0/-errno. */
static int done(int r)
{
	return r < 0 ? r : 0;
}

static int check_inside_path(struct mp *c, struct manifest_loc loc, const char *path)
{
	const char *problem = manifest_inside_path_problem(path);
	char q[MP_QUOTE_MAX];
	int r;

	if (!problem)
		return 1;
	r = mp_error(c, loc, "path %s %s", mp_quote(path, strlen(path), q, sizeof(q)), problem);
	return r < 0 ? r : 0;
}

/* Reads an inside path (workdir, tmpfs, hide); 1 with an owned, checked copy. */
static int parse_inside_path(struct mp *c, char **ret)
{
	struct manifest_loc loc = mp_loc(c);
	_cleanup_free_ char *p = NULL;
	int r;

	r = mp_string(c, "an absolute path", &p);
	if (r <= 0)
		return r;
	r = check_inside_path(c, loc, p);
	if (r <= 0)
		return r;
	*ret = TAKE_PTR(p);
	return 1;
}

static int resolve_host_path(struct mp *c, struct manifest_loc loc, const char *text, char **ret)
{
	const char *problem = NULL;
	char q[MP_QUOTE_MAX];
	int r;

	r = manifest_resolve_host_path(text, c->opts->dir, c->opts->home, ret, &problem);
	if (r == -EINVAL) {
		r = mp_error(c, loc, "host path %s %s", mp_quote(text, strlen(text), q, sizeof(q)),
			     problem);
		return r < 0 ? r : 0;
	}
	return r < 0 ? r : 1;
}

/* Reports a missing key of a mapping. */
static int require(struct mp *c, const struct manifest_loc *seen, const char *key,
		   struct manifest_loc at)
{
	if (seen->line > 0)
		return 0;
	return mp_error(c, at, "missing required key '%s'", key);
}

/* --- filesystem --- */

struct mount_spec {
	char *host;
	char *inside;
	bool optional;
	struct manifest_loc host_loc, inside_loc;
};

static void mount_spec_done(struct mount_spec *s)
{
	free(s->host);
	free(s->inside);
}

enum {
	MOUNT_HOST,
	MOUNT_INSIDE,
	MOUNT_OPTIONAL
};
static const char *const mount_keys[] = { "host", "inside", "optional" };

static int mount_key(struct mp *c, size_t key, void *userdata)
{
	struct mount_spec *s = userdata;

	switch (key) {
	case MOUNT_HOST:
		s->host_loc = mp_loc(c);
		return done(mp_string(c, "a host path", &s->host));
	case MOUNT_INSIDE:
		s->inside_loc = mp_loc(c);
		return done(mp_string(c, "an absolute path", &s->inside));
	default:
		return done(mp_bool(c, &s->optional));
	}
}

struct mount_list {
	struct parse *p;
	struct manifest_mount **items;
	size_t *n;
};

/* A read or write entry: "host[:inside]" or {host: H, inside: I}. */
static int parse_mount(struct mp *c, void *userdata)
{
	struct mount_list *l = userdata;
	_cleanup_(mount_spec_done) struct mount_spec s = {};
	_cleanup_free_ char *host = NULL, *inside = NULL;
	struct manifest_loc loc = mp_loc(c);
	struct manifest_mount *e;
	size_t n_diags = c->n_diags;
	int r;

	if (mp_is_null(c) || (!mp_is_scalar(c) && c->event.type != YAML_MAPPING_START_EVENT)) {
		r = mp_mismatch(c, "a path (\"host[:inside]\") or a mapping with host and inside");
		l->p->mounts_incomplete = true;
		return r;
	}

	if (mp_is_scalar(c)) {
		const char *t;

		r = mp_text(c, "a path", &t);
		if (r <= 0)
			return r;
		r = manifest_split_mount(t, &s.host, &s.inside);
		if (r < 0)
			return r;
		s.host_loc = s.inside_loc = loc;
	} else {
		struct manifest_loc seen[ELEMENTSOF(mount_keys)];

		r = mp_map(c, mount_keys, ELEMENTSOF(mount_keys), seen, mount_key, &s);
		if (r < 0)
			return r;
		r = require(c, &seen[MOUNT_HOST], "host", loc);
		if (r < 0)
			return r;
	}

	if (s.host) {
		r = resolve_host_path(c, s.host_loc, s.host, &host);
		if (r < 0)
			return r;
	}
	if (s.inside) {
		r = check_inside_path(c, s.inside_loc, s.inside);
		if (r < 0)
			return r;
		inside = TAKE_PTR(s.inside);
	} else if (host) {
		r = check_inside_path(c, s.host_loc, host);
		if (r < 0)
			return r;
		inside = strdup(host);
		if (!inside)
			return -ENOMEM;
	}

	if (c->n_diags != n_diags) {
		l->p->mounts_incomplete = true;
		return 0;
	}
	e = manifest_array_append(l->items, l->n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->host = TAKE_PTR(host);
	e->inside = TAKE_PTR(inside);
	e->optional = s.optional;
	e->loc = loc;
	return 0;
}

struct tmpfs_spec {
	char *path;
	uint64_t size;
};

enum {
	TMPFS_PATH,
	TMPFS_SIZE
};
static const char *const tmpfs_keys[] = { "path", "size" };

static int parse_size_value(struct mp *c, uint64_t *ret)
{
	char got[MP_DESCRIBE_MAX];
	const char *t;
	int r;

	r = mp_text(c, EXPECTED_SIZE, &t);
	if (r <= 0)
		return r;
	r = parse_size(t, ret);
	if (r == -ERANGE)
		r = mp_error(c, mp_loc(c), "size %s is too large",
			     mp_describe(c, got, sizeof(got)));
	else if (r < 0)
		r = mp_error(c, mp_loc(c), "expected %s, got %s", EXPECTED_SIZE,
			     mp_describe(c, got, sizeof(got)));
	else
		return 1;
	return r < 0 ? r : 0;
}

static int tmpfs_key(struct mp *c, size_t key, void *userdata)
{
	struct tmpfs_spec *s = userdata;

	if (key == TMPFS_PATH)
		return done(parse_inside_path(c, &s->path));
	return done(parse_size_value(c, &s->size));
}

/* A tmpfs entry: a path, or {path: P, size: S}. */
static int parse_tmpfs(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	_cleanup_free_ char *path = NULL;
	struct manifest_loc loc = mp_loc(c);
	struct manifest_tmpfs *e;
	size_t n_diags = c->n_diags;
	uint64_t size = 0;
	int r;

	if (mp_is_null(c) || (!mp_is_scalar(c) && c->event.type != YAML_MAPPING_START_EVENT))
		return mp_mismatch(c, "a path or a mapping with path and size");

	if (mp_is_scalar(c)) {
		r = parse_inside_path(c, &path);
		if (r < 0)
			return r;
	} else {
		struct manifest_loc seen[ELEMENTSOF(tmpfs_keys)];
		struct tmpfs_spec s = {};

		r = mp_map(c, tmpfs_keys, ELEMENTSOF(tmpfs_keys), seen, tmpfs_key, &s);
		path = s.path;
		size = s.size;
		if (r < 0)
			return r;
		r = require(c, &seen[TMPFS_PATH], "path", loc);
		if (r < 0)
			return r;
	}

	if (c->n_diags != n_diags)
		return 0;
	e = manifest_array_append(&m->fs.tmpfs, &m->fs.n_tmpfs, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->path = TAKE_PTR(path);
	e->size = size;
	e->loc = loc;
	return 0;
}

static int parse_hide(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	_cleanup_free_ char *path = NULL;
	struct manifest_loc loc = mp_loc(c);
	struct manifest_hide *e;
	int r;

	r = parse_inside_path(c, &path);
	if (r <= 0)
		return r;
	e = manifest_array_append(&m->fs.hide, &m->fs.n_hide, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->path = TAKE_PTR(path);
	e->loc = loc;
	return 0;
}

enum {
	FS_READ,
	FS_WRITE,
	FS_TMPFS,
	FS_HIDE
};
static const char *const fs_keys[] = { "read", "write", "tmpfs", "hide" };

static int fs_key(struct mp *c, size_t key, void *userdata)
{
	struct parse *p = userdata;
	struct manifest *m = p->m;
	struct mount_list l = { .p = p };
	int r;

	switch (key) {
	case FS_READ:
	case FS_WRITE:
		l.items = key == FS_READ ? &m->fs.read : &m->fs.write;
		l.n = key == FS_READ ? &m->fs.n_read : &m->fs.n_write;
		r = mp_list(c, "a list of paths", parse_mount, &l);
		if (r == 0)
			p->mounts_incomplete = true;
		return done(r);
	case FS_TMPFS:
		return done(mp_list(c, "a list of paths", parse_tmpfs, m));
	default:
		return done(mp_list(c, "a list of paths", parse_hide, m));
	}
}

/* --- network --- */

enum {
	EGRESS_HOST,
	EGRESS_CIDR,
	EGRESS_PORTS,
	EGRESS_PROTO,
	EGRESS_OPTIONAL
};
static const char *const egress_keys[] = { "host", "cidr", "ports", "proto", "optional" };

struct egress_spec {
	struct manifest_egress e;
	bool ports_listed; /* ports was a list (or null) */
	struct manifest_loc ports_loc;
	size_t n_port_items; /* entries in that list, valid or not */
};

static int parse_egress_host(struct mp *c, struct manifest_egress *e)
{
	char got[MP_DESCRIBE_MAX];
	const char *t;
	int r;

	r = mp_text(c, "a hostname or an IP address", &t);
	if (r <= 0)
		return r;
	if (streq(t, "host-loopback"))
		e->kind = MANIFEST_DEST_HOST_LOOPBACK;
	else if (manifest_parse_address(t, &e->cidr) >= 0)
		e->kind = MANIFEST_DEST_ADDRESS;
	else if (hostname_is_valid_dns(t))
		e->kind = MANIFEST_DEST_HOSTNAME;
	else
		return done(mp_error(c, mp_loc(c), "expected a hostname or an IP address, got %s%s",
				     mp_describe(c, got, sizeof(got)),
				     strchr(t, '/') ? " (a network goes in 'cidr')" : ""));
	/* With both host and cidr given (an error reported later), the last one is kept. */
	free(e->host);
	e->host = strdup(t);
	return e->host ? 0 : -ENOMEM;
}

static int parse_egress_cidr(struct mp *c, struct manifest_egress *e)
{
	char got[MP_DESCRIBE_MAX], suggest[64];
	const char *t;
	int r;

	r = mp_text(c, "a network such as 10.0.0.0/8 or 2001:db8::/32", &t);
	if (r <= 0)
		return r;
	r = manifest_parse_cidr(t, &e->cidr, suggest, sizeof(suggest));
	switch (r) {
	case 0:
		e->kind = MANIFEST_DEST_ADDRESS;
		free(e->host);
		e->host = strdup(t);
		return e->host ? 0 : -ENOMEM;
	case -EADDRNOTAVAIL:
		/* Only address characters got this far; the cut is for absurd leading zeros. */
		return done(mp_error(c, mp_loc(c), "%.80s has host bits set; did you mean %s?", t,
				     suggest));
	case -ERANGE:
		return done(mp_error(
			c, mp_loc(c),
			"prefix length of %s is out of range (0-32 for IPv4, 0-128 for IPv6)",
			mp_describe(c, got, sizeof(got))));
	default:
		return done(
			mp_error(c, mp_loc(c),
				 "expected a network such as 10.0.0.0/8 or 2001:db8::/32, got %s",
				 mp_describe(c, got, sizeof(got))));
	}
}

static int parse_port(struct mp *c, void *userdata)
{
	struct egress_spec *s = userdata;
	char got[MP_DESCRIBE_MAX];
	const char *t;
	uint64_t v;
	uint16_t *p;
	int r;

	s->n_port_items++;
	r = mp_digits(c, EXPECTED_PORT, &t);
	if (r <= 0)
		return r;
	if (parse_uint64(t, &v) < 0 || v < 1 || v > 65535)
		return done(mp_error(c, mp_loc(c), "expected %s, got %s", EXPECTED_PORT,
				     mp_describe(c, got, sizeof(got))));
	p = manifest_array_append(&s->e.ports, &s->e.n_ports, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (uint16_t)v;
	return 0;
}

static int cmp_port(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int egress_key(struct mp *c, size_t key, void *userdata)
{
	struct egress_spec *s = userdata;
	const char *t;
	int r;

	switch (key) {
	case EGRESS_HOST:
		return parse_egress_host(c, &s->e);
	case EGRESS_CIDR:
		return parse_egress_cidr(c, &s->e);
	case EGRESS_PORTS:
		s->ports_loc = mp_loc(c);
		r = mp_list(c, "a list of port numbers", parse_port, s);
		s->ports_listed = r > 0;
		return done(r);
	case EGRESS_PROTO:
		r = mp_text(c, "tcp or udp", &t);
		if (r <= 0)
			return r;
		if (streq(t, "tcp"))
			s->e.proto = MANIFEST_PROTO_TCP;
		else if (streq(t, "udp"))
			s->e.proto = MANIFEST_PROTO_UDP;
		else
			return mp_mismatch(c, "tcp or udp");
		return 0;
	default:
		return done(mp_bool(c, &s->e.optional));
	}
}

static int parse_egress(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	struct egress_spec s = { .e.proto = MANIFEST_PROTO_TCP };
	struct manifest_loc seen[ELEMENTSOF(egress_keys)];
	struct manifest_loc loc = mp_loc(c);
	struct manifest_egress *e;
	size_t n_diags = c->n_diags;
	int r;

	r = mp_map(c, egress_keys, ELEMENTSOF(egress_keys), seen, egress_key, &s);
	if (r <= 0)
		goto out;

	if (seen[EGRESS_HOST].line > 0 && seen[EGRESS_CIDR].line > 0)
		r = mp_error(c,
			     loc_before(seen[EGRESS_HOST], seen[EGRESS_CIDR]) ? seen[EGRESS_CIDR]
									      : seen[EGRESS_HOST],
			     "expected only one of 'host' or 'cidr'");
	else if (seen[EGRESS_HOST].line == 0 && seen[EGRESS_CIDR].line == 0)
		r = mp_error(c, loc, "missing required key 'host' or 'cidr'");
	if (r < 0)
		goto out;
	r = require(c, &seen[EGRESS_PORTS], "ports", loc);
	if (r < 0)
		goto out;
	if (s.ports_listed && s.n_port_items == 0) {
		r = mp_error(c, s.ports_loc, "expected at least one port in 'ports'");
		if (r < 0)
			goto out;
	}
	if (c->n_diags != n_diags)
		goto out;

	/* Sorted and unique, so later layers can build rules without duplicates. */
	qsort(s.e.ports, s.e.n_ports, sizeof(*s.e.ports), cmp_port);
	for (size_t i = 1, o = 1; i <= s.e.n_ports; i++) {
		if (i == s.e.n_ports) {
			s.e.n_ports = o;
			break;
		}
		if (s.e.ports[i] != s.e.ports[o - 1])
			s.e.ports[o++] = s.e.ports[i];
	}
	e = manifest_array_append(&m->net.egress, &m->net.n_egress, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	*e = s.e;
	e->loc = loc;
	return 0;
out:
	free(s.e.host);
	free(s.e.ports);
	return done(r);
}

enum {
	NET_EGRESS,
	NET_DNS
};
static const char *const net_keys[] = { "egress", "dns" };

static int net_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest *m = userdata;
	const char *t;
	int r;

	if (key == NET_EGRESS)
		return done(mp_list(c, "a list of destinations", parse_egress, m));

	r = mp_text(c, "pinned or resolver", &t);
	if (r <= 0)
		return r;
	if (streq(t, "pinned"))
		m->net.dns = MANIFEST_DNS_PINNED;
	else if (streq(t, "resolver"))
		m->net.dns = MANIFEST_DNS_RESOLVER;
	else
		return mp_mismatch(c, "pinned or resolver");
	m->net.dns_loc = mp_loc(c);
	return 0;
}

/* --- env --- */

/* Reads a variable name; 1 with an owned copy. */
static int parse_env_name(struct mp *c, char **ret)
{
	const char *t;
	int r;

	r = mp_text(c, EXPECTED_ENV_NAME, &t);
	if (r <= 0)
		return r;
	if (!manifest_env_name_is_valid(t))
		return mp_mismatch(c, EXPECTED_ENV_NAME);
	*ret = strdup(t);
	return *ret ? 1 : -ENOMEM;
}

static int parse_env_pass(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	struct manifest_loc loc = mp_loc(c);
	struct manifest_env_pass *e;
	char *name = NULL;
	int r;

	r = parse_env_name(c, &name);
	if (r <= 0)
		return r;
	e = manifest_array_append(&m->env.pass, &m->env.n_pass, sizeof(*e));
	if (!e) {
		free(name);
		return -ENOMEM;
	}
	e->name = name;
	e->loc = loc;
	return 0;
}

static int parse_env_set(struct mp *c, const char *key, struct manifest_loc key_loc, void *userdata)
{
	struct manifest *m = userdata;
	_cleanup_free_ char *value = NULL;
	struct manifest_env_var *e;
	char q[MP_QUOTE_MAX];
	const char *t;
	int r;

	if (!manifest_env_name_is_valid(key)) {
		r = mp_error(c, key_loc, "expected %s, got %s", EXPECTED_ENV_NAME,
			     mp_quote(key, strlen(key), q, sizeof(q)));
		if (r < 0)
			return r;
		return done(mp_skip(c));
	}
	/* Any scalar's text is the value: "1", "true" and "~" are strings to the skill. */
	r = mp_value_text(c, "a string value", &t);
	if (r <= 0)
		return r;
	value = strdup(t);
	if (!value)
		return -ENOMEM;
	e = manifest_array_append(&m->env.set, &m->env.n_set, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = strdup(key);
	if (!e->name) {
		m->env.n_set--;
		return -ENOMEM;
	}
	e->value = TAKE_PTR(value);
	e->loc = key_loc;
	return 0;
}

enum {
	SECRET_NAME,
	SECRET_FROM_ENV,
	SECRET_FROM_FILE,
	SECRET_OPTIONAL
};
static const char *const secret_keys[] = { "name", "from_env", "from_file", "optional" };

static int secret_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest_secret *s = userdata;
	struct manifest_loc loc = mp_loc(c);
	const char *t;
	int r;

	switch (key) {
	case SECRET_NAME:
		return done(parse_env_name(c, &s->name));
	case SECRET_FROM_ENV:
		return done(parse_env_name(c, &s->from_env));
	case SECRET_OPTIONAL:
		return done(mp_bool(c, &s->optional));
	default:
		r = mp_text(c, "a host path", &t);
		if (r <= 0)
			return r;
		return done(resolve_host_path(c, loc, t, &s->from_file));
	}
}

static int parse_secret(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	struct manifest_secret s = {};
	struct manifest_loc seen[ELEMENTSOF(secret_keys)];
	struct manifest_loc loc = mp_loc(c);
	struct manifest_secret *e;
	size_t n_diags = c->n_diags;
	int r;

	r = mp_map(c, secret_keys, ELEMENTSOF(secret_keys), seen, secret_key, &s);
	if (r <= 0)
		goto out;
	r = require(c, &seen[SECRET_NAME], "name", loc);
	if (r < 0)
		goto out;
	if (seen[SECRET_FROM_ENV].line > 0 && seen[SECRET_FROM_FILE].line > 0)
		r = mp_error(c,
			     loc_before(seen[SECRET_FROM_ENV], seen[SECRET_FROM_FILE])
				     ? seen[SECRET_FROM_FILE]
				     : seen[SECRET_FROM_ENV],
			     "expected only one of 'from_env' or 'from_file'");
	else if (seen[SECRET_FROM_ENV].line == 0 && seen[SECRET_FROM_FILE].line == 0)
		r = mp_error(c, loc, "missing required key 'from_env' or 'from_file'");
	if (r < 0 || c->n_diags != n_diags)
		goto out;

	e = manifest_array_append(&m->env.secrets, &m->env.n_secrets, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	*e = s;
	e->loc = loc;
	return 0;
out:
	free(s.name);
	free(s.from_env);
	free(s.from_file);
	return done(r);
}

enum {
	ENV_PASS,
	ENV_SET,
	ENV_SECRETS
};
static const char *const env_keys[] = { "pass", "set", "secrets" };

static int env_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest *m = userdata;

	switch (key) {
	case ENV_PASS:
		return done(mp_list(c, "a list of variable names", parse_env_pass, m));
	case ENV_SET:
		return done(mp_pairs(c, "a mapping of variable names to values", parse_env_set, m));
	default:
		return done(mp_list(c, "a list of secrets", parse_secret, m));
	}
}

/* --- limits --- */

static const char *const limit_keys[] = { "timeout",	"cpu",	     "memory", "processes",
					  "open_files", "file_size", "output" };

static int parse_duration_value(struct mp *c, uint64_t *ret)
{
	char got[MP_DESCRIBE_MAX];
	const char *t;
	int r;

	r = mp_text(c, EXPECTED_DURATION, &t);
	if (r <= 0)
		return r;
	r = parse_duration(t, ret);
	if (r == -ERANGE)
		r = mp_error(c, mp_loc(c), "duration %s is too large",
			     mp_describe(c, got, sizeof(got)));
	else if (r < 0)
		r = mp_error(c, mp_loc(c), "expected %s, got %s", EXPECTED_DURATION,
			     mp_describe(c, got, sizeof(got)));
	else
		return 1;
	return r < 0 ? r : 0;
}

static int parse_count_value(struct mp *c, const char *key, uint64_t max, uint64_t *ret)
{
	char got[MP_DESCRIBE_MAX];
	const char *t;
	int r;

	r = mp_digits(c, "a whole number", &t);
	if (r <= 0)
		return r;
	r = parse_uint64(t, ret);
	if (r == -ERANGE)
		r = mp_error(c, mp_loc(c), "%s %s is too large", key,
			     mp_describe(c, got, sizeof(got)));
	else if (*ret > max)
		r = mp_error(c, mp_loc(c), "%s must be at most %" PRIu64 ", got %s", key, max,
			     mp_describe(c, got, sizeof(got)));
	else if (*ret == 0)
		r = mp_error(c, mp_loc(c), "%s must be at least 1", key);
	else
		return 1;
	return r < 0 ? r : 0;
}

enum limit_kind {
	LIMIT_DURATION,
	LIMIT_SIZE,
	LIMIT_COUNT
};

/* Where each key of limits goes, in the order of limit_keys. */
static const struct {
	enum limit_kind kind;
	size_t value, loc; /* offsets into struct manifest_limits */
	uint64_t max;	   /* LIMIT_COUNT */
	bool zero_ok;
} limit_fields[] = {
	{ LIMIT_DURATION, offsetof(struct manifest_limits, timeout_usec),
	  offsetof(struct manifest_limits, timeout_loc) },
	{ LIMIT_DURATION, offsetof(struct manifest_limits, cpu_usec),
	  offsetof(struct manifest_limits, cpu_loc) },
	{ LIMIT_SIZE, offsetof(struct manifest_limits, memory),
	  offsetof(struct manifest_limits, memory_loc) },
	{ LIMIT_COUNT, offsetof(struct manifest_limits, processes),
	  offsetof(struct manifest_limits, processes_loc), MANIFEST_UNSET - 1 },
	{ LIMIT_COUNT, offsetof(struct manifest_limits, open_files),
	  offsetof(struct manifest_limits, open_files_loc), MAX_OPEN_FILES },
	/* A zero file_size is a real policy: no write may grow a file. */
	{ LIMIT_SIZE, offsetof(struct manifest_limits, file_size),
	  offsetof(struct manifest_limits, file_size_loc), 0, true },
	{ LIMIT_SIZE, offsetof(struct manifest_limits, output),
	  offsetof(struct manifest_limits, output_loc) },
};

_Static_assert(ELEMENTSOF(limit_fields) == ELEMENTSOF(limit_keys), "one field per limits key");

static int limit_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest_limits *l = userdata;
	struct manifest_loc loc = mp_loc(c);
	uint64_t v = 0;
	int r;

	switch (limit_fields[key].kind) {
	case LIMIT_DURATION:
		r = parse_duration_value(c, &v);
		break;
	case LIMIT_SIZE:
		r = parse_size_value(c, &v);
		break;
	default:
		r = parse_count_value(c, limit_keys[key], limit_fields[key].max, &v);
		break;
	}
	if (r <= 0)
		return r;

	/*
	 * A zero wall clock, CPU time, memory or output budget can only be a typo.
	 * MANIFEST_UNSET itself is refused so that a value can never read as "no limit".
	 */
	if (v == 0 && !limit_fields[key].zero_ok)
		return done(mp_error(c, loc, "%s must be greater than zero", limit_keys[key]));
	if (v == MANIFEST_UNSET)
		return done(mp_error(c, loc, "%s is too large", limit_keys[key]));
	*(uint64_t *)((char *)l + limit_fields[key].value) = v;
	*(struct manifest_loc *)((char *)l + limit_fields[key].loc) = loc;
	return 0;
}

/* --- syscalls --- */

struct syscall_list {
	struct manifest_syscall **items;
	size_t *n;
};

static int parse_syscall(struct mp *c, void *userdata)
{
	struct syscall_list *l = userdata;
	struct manifest_syscall *e;
	char q[MP_QUOTE_MAX];
	const char *t;
	int nr, r;

	r = mp_text(c, "a syscall name", &t);
	if (r <= 0)
		return r;
	/* The native architecture's table: the filter is built for that architecture. */
	nr = seccomp_syscall_resolve_name(t);
	if (nr == __NR_SCMP_ERROR)
		return done(mp_error(c, mp_loc(c), "unknown syscall %s",
				     mp_quote(t, strlen(t), q, sizeof(q))));
	/* A repeated name adds nothing; the first one stands. */
	for (size_t i = 0; i < *l->n; i++)
		if ((*l->items)[i].nr == nr)
			return 0;
	e = manifest_array_append(l->items, l->n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = strdup(t);
	if (!e->name) {
		(*l->n)--;
		return -ENOMEM;
	}
	e->nr = nr;
	e->loc = mp_loc(c);
	return 0;
}

enum {
	SYSCALLS_PROFILE,
	SYSCALLS_ALLOW,
	SYSCALLS_DENY
};
static const char *const syscalls_keys[] = { "profile", "allow", "deny" };

static int syscalls_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest *m = userdata;
	struct syscall_list l;
	const char *t;
	int r;

	switch (key) {
	case SYSCALLS_PROFILE:
		r = mp_text(c, "default or strict", &t);
		if (r <= 0)
			return r;
		if (streq(t, "default"))
			m->syscalls.profile = MANIFEST_PROFILE_DEFAULT;
		else if (streq(t, "strict"))
			m->syscalls.profile = MANIFEST_PROFILE_STRICT;
		else
			return mp_mismatch(c, "default or strict");
		m->syscalls.profile_loc = mp_loc(c);
		return 0;
	case SYSCALLS_ALLOW:
		l = (struct syscall_list){ &m->syscalls.allow, &m->syscalls.n_allow };
		break;
	default:
		l = (struct syscall_list){ &m->syscalls.deny, &m->syscalls.n_deny };
		break;
	}
	return done(mp_list(c, "a list of syscall names", parse_syscall, &l));
}

/* --- audit --- */

static int parse_trace(struct mp *c, void *userdata)
{
	struct manifest *m = userdata;
	const char *t;
	unsigned bit;
	int r;

	r = mp_text(c, "exec, files or connect", &t);
	if (r <= 0)
		return r;
	bit = manifest_trace_from_string(t);
	if (bit == 0)
		return mp_mismatch(c, "exec, files or connect");
	m->audit.trace |= bit;
	return 0;
}

enum {
	BUDGET_BYTES,
	BUDGET_KEYS
};
static const char *const budget_keys[] = { "bytes", "keys" };

static int budget_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest *m = userdata;
	struct manifest_loc loc = mp_loc(c);
	char got[MP_DESCRIBE_MAX];
	uint64_t v = 0;
	int r;

	if (key == BUDGET_KEYS) {
		r = parse_count_value(c, "audit.budget.keys", MANIFEST_AUDIT_KEYS_MAX, &v);
		if (r > 0)
			m->audit.budget_keys = v;
		return done(r);
	}
	r = parse_size_value(c, &v);
	if (r <= 0)
		return r;
	/* Less would not hold the policy events and the end of a run. */
	if (v < MANIFEST_AUDIT_BYTES_MIN || v == MANIFEST_UNSET)
		return done(
			mp_error(c, loc,
				 "audit.budget.bytes must be at least 1M (the policy events and "
				 "the end of a run need room), got %s",
				 mp_describe(c, got, sizeof(got))));
	m->audit.budget_bytes = v;
	return 0;
}

enum {
	AUDIT_TRACE,
	AUDIT_BUDGET,
	AUDIT_OVERFLOW
};
static const char *const audit_keys[] = { "trace", "budget", "overflow" };

static int audit_key(struct mp *c, size_t key, void *userdata)
{
	struct manifest *m = userdata;
	struct manifest_loc seen[ELEMENTSOF(budget_keys)];
	const char *t;
	int r;

	switch (key) {
	case AUDIT_TRACE:
		return done(mp_list(c, "a list of trace kinds", parse_trace, userdata));
	case AUDIT_BUDGET:
		m->audit.budget_loc = mp_loc(c);
		return done(mp_map(c, budget_keys, ELEMENTSOF(budget_keys), seen, budget_key, m));
	default:
		m->audit.overflow_loc = mp_loc(c);
		r = mp_text(c, "stop or count", &t);
		if (r <= 0)
			return r;
		if (streq(t, "stop"))
			m->audit.overflow_count = false;
		else if (streq(t, "count"))
			m->audit.overflow_count = true;
		else
			return mp_mismatch(c, "stop or count");
		return 0;
	}
}

/* --- top level --- */

enum {
	ROOT_SKILLBOX,
	ROOT_NAME,
	ROOT_VERSION,
	ROOT_DESCRIPTION,
	ROOT_COMMAND,
	ROOT_WORKDIR,
	ROOT_FILESYSTEM,
	ROOT_NETWORK,
	ROOT_ENV,
	ROOT_LIMITS,
	ROOT_SYSCALLS,
	ROOT_AUDIT,
	ROOT_INCLUDE,
};
static const char *const root_keys[] = {
	"skillbox", "name", "version", "description", "command", "workdir", "filesystem",
	"network",  "env",  "limits",  "syscalls",    "audit",	 "include",
};

static int parse_schema(struct mp *c, struct parse *p)
{
	const char *t;
	uint64_t v;
	int r;

	r = mp_digits(c, "the schema version as a whole number", &t);
	if (r <= 0)
		return r;
	if (parse_uint64(t, &v) >= 0 && v == MANIFEST_SCHEMA_VERSION) {
		p->m->schema = MANIFEST_SCHEMA_VERSION;
		return 0;
	}
	p->bad_version = c->n_diags;
	return done(mp_error(c, mp_loc(c),
			     "unsupported schema version %.20s%s (this skillbox supports %d)", t,
			     strlen(t) > 20 ? "..." : "", MANIFEST_SCHEMA_VERSION));
}

static int parse_name(struct mp *c, struct manifest *m)
{
	const char *expected = "a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
			       "starting with a letter or digit";
	const char *t;
	int r;

	r = mp_text(c, expected, &t);
	if (r <= 0)
		return r;
	if (!manifest_name_is_valid(t))
		return mp_mismatch(c, expected);
	m->name = strdup(t);
	return m->name ? 0 : -ENOMEM;
}

struct command_spec {
	char **argv;
	size_t n_items;
};

static int parse_argument(struct mp *c, void *userdata)
{
	struct command_spec *s = userdata;
	const char *t;
	int r;

	s->n_items++;
	r = mp_text(c, "a non-empty string", &t);
	if (r <= 0)
		return r;
	if (!*t)
		return mp_mismatch(c, "a non-empty string");
	return strv_extend(&s->argv, t);
}

static int parse_command(struct mp *c, struct manifest *m)
{
	_cleanup_strv_free_ char **argv = NULL;
	struct command_spec s = {};
	struct manifest_loc loc = mp_loc(c);
	int r;

	if (mp_is_null(c) || (!mp_is_scalar(c) && c->event.type != YAML_SEQUENCE_START_EVENT))
		return mp_mismatch(c, "a command (a string, or a list of strings)");

	/* A single string is one argument; there is no shell to split it. */
	if (mp_is_scalar(c)) {
		r = parse_argument(c, &s);
		argv = s.argv;
		if (r < 0)
			return r;
		m->command_is_string = true;
	} else {
		r = mp_list(c, "a list of strings", parse_argument, &s);
		argv = s.argv;
		if (r < 0)
			return r;
		if (s.n_items == 0)
			return done(
				mp_error(c, loc, "expected a command with at least one element"));
	}
	if (argv && strv_length(argv) == s.n_items) {
		m->command = TAKE_PTR(argv);
		m->command_loc = loc;
	}
	return 0;
}

/* --- include --- */

void manifest_include_refs_free(struct manifest_include_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i].ref);
	free(refs);
}

#define EXPECTED_INCLUDE \
	"a profile name (such as system or python3) or a path to a file (such as ./team.yaml)"

/*
 * An include: entry. A name without '/' is a profile (a file shipped with skillbox); anything
 * with a '/' is a path, relative to the including file's directory. "team.yaml" alone is
 * neither (a profile name has no dot), so that a file is never mistaken for a profile.
 */
static int parse_include(struct mp *c, void *userdata)
{
	struct parse *p = userdata;
	struct manifest_loc loc = mp_loc(c);
	struct manifest_include_ref *e;
	_cleanup_free_ char *ref = NULL;
	char q[MP_QUOTE_MAX];
	const char *t;
	bool profile;
	int r;

	r = mp_text(c, EXPECTED_INCLUDE, &t);
	if (r <= 0)
		return r;
	profile = !strchr(t, '/') && !streq(t, "~");
	if (profile) {
		if (!manifest_profile_name_is_valid(t))
			return done(mp_error(
				c, loc, "expected %s, got %s%s", EXPECTED_INCLUDE,
				mp_quote(t, strlen(t), q, sizeof(q)),
				strchr(t, '.') ? " (a file in this directory is written ./NAME)"
					       : ""));
		ref = strdup(t);
		if (!ref)
			return -ENOMEM;
	} else {
		/*
		 * An included file's path becomes the FILE of FILE:LINE:COLUMN messages, printed
		 * as it is: nothing that a terminal could take for a control sequence.
		 */
		for (const char *b = t; *b; b++)
			if ((unsigned char)*b < 0x20 || (unsigned char)*b > 0x7e)
				return done(mp_error(c, loc,
						     "include path %s: only printable ASCII is "
						     "allowed in an include path",
						     mp_quote(t, strlen(t), q, sizeof(q))));
		r = resolve_host_path(c, loc, t, &ref);
		if (r <= 0)
			return r;
	}
	for (size_t i = 0; i < p->n_includes; i++)
		if (p->includes[i].profile == profile && streq(p->includes[i].ref, ref))
			return done(mp_error(c, loc, "%s is already included (at line %u)",
					     mp_quote(t, strlen(t), q, sizeof(q)),
					     p->includes[i].loc.line));
	e = manifest_array_append(&p->includes, &p->n_includes, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ref = TAKE_PTR(ref);
	e->profile = profile;
	e->loc = loc;
	return 0;
}

/* Walks a mapping whose keys need no "required" check afterwards. */
#define PARSE_MAP(c, keys, fn, userdata)                                              \
	({                                                                            \
		struct manifest_loc _seen[ELEMENTSOF(keys)];                          \
		done(mp_map((c), (keys), ELEMENTSOF(keys), _seen, (fn), (userdata))); \
	})

static int root_key(struct mp *c, size_t key, void *userdata)
{
	struct parse *p = userdata;
	struct manifest *m = p->m;
	struct manifest_loc loc;
	int r;

	switch (key) {
	case ROOT_SKILLBOX:
		return parse_schema(c, p);
	case ROOT_NAME:
		return parse_name(c, m);
	case ROOT_VERSION:
		return done(mp_string(c, "a string", &m->version));
	case ROOT_DESCRIPTION:
		return done(mp_string(c, "a string", &m->description));
	case ROOT_COMMAND:
		return parse_command(c, m);
	case ROOT_WORKDIR:
		loc = mp_loc(c);
		r = parse_inside_path(c, &m->workdir);
		if (r > 0)
			m->workdir_loc = loc;
		return done(r);
	case ROOT_FILESYSTEM:
		return PARSE_MAP(c, fs_keys, fs_key, p);
	case ROOT_NETWORK:
		return PARSE_MAP(c, net_keys, net_key, m);
	case ROOT_ENV:
		return PARSE_MAP(c, env_keys, env_key, m);
	case ROOT_LIMITS:
		return PARSE_MAP(c, limit_keys, limit_key, &m->limits);
	case ROOT_SYSCALLS:
		return PARSE_MAP(c, syscalls_keys, syscalls_key, m);
	case ROOT_AUDIT:
		return PARSE_MAP(c, audit_keys, audit_key, m);
	default:
		return done(mp_list(c, "a list of profiles and files", parse_include, p));
	}
}

/* --- checks across keys, once the whole file has been read --- */

struct named_loc {
	const char *name;
	struct manifest_loc loc;
	int nr;	   /* syscalls */
	bool deny; /* syscalls */
};

static int cmp_named_loc(const void *a, const void *b)
{
	const struct named_loc *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d != 0)
		return d;
	return loc_before(x->loc, y->loc) ? -1 : loc_before(y->loc, x->loc) ? 1 : 0;
}

/* Sorts by name, then position, and reports each entry that repeats an earlier one's name. */
static int report_repeats(struct mp *c, struct named_loc *v, size_t n, const char *what)
{
	char q[MP_QUOTE_MAX];
	int r;

	qsort(v, n, sizeof(*v), cmp_named_loc);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (!streq(v[i].name, v[first].name)) {
			first = i;
			continue;
		}
		r = mp_error(c, v[i].loc, "duplicate %s %s (first at line %u)", what,
			     mp_quote(v[i].name, strlen(v[i].name), q, sizeof(q)),
			     v[first].loc.line);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_mount_targets(struct mp *c, const struct manifest *m)
{
	_cleanup_free_ struct named_loc *v = NULL;
	size_t n = 0;

	v = calloc(m->fs.n_read + m->fs.n_write + m->fs.n_tmpfs + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->fs.n_read; i++)
		v[n++] = (struct named_loc){ m->fs.read[i].inside, m->fs.read[i].loc };
	for (size_t i = 0; i < m->fs.n_write; i++)
		v[n++] = (struct named_loc){ m->fs.write[i].inside, m->fs.write[i].loc };
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		v[n++] = (struct named_loc){ m->fs.tmpfs[i].path, m->fs.tmpfs[i].loc };
	return report_repeats(c, v, n, "mount target");
}

static bool strictly_below_any(const char *path, const struct manifest_mount *mounts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *rest = path_startswith(path, mounts[i].inside);

		if (rest && *rest)
			return true;
	}
	return false;
}

/* A hide masks part of a bind; anywhere else there is nothing to mask. */
static int check_hide(struct mp *c, const struct manifest *m)
{
	char q[MP_QUOTE_MAX];
	int r;

	for (size_t i = 0; i < m->fs.n_hide; i++) {
		const char *h = m->fs.hide[i].path;

		if (strictly_below_any(h, m->fs.read, m->fs.n_read) ||
		    strictly_below_any(h, m->fs.write, m->fs.n_write))
			continue;
		r = mp_error(c, m->fs.hide[i].loc,
			     "hide path %s is not below any read or write path",
			     mp_quote(h, strlen(h), q, sizeof(q)));
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_env_names(struct mp *c, const struct manifest *m)
{
	_cleanup_free_ struct named_loc *v = NULL;
	size_t n = 0;

	v = calloc(m->env.n_pass + m->env.n_set + m->env.n_secrets + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->env.n_pass; i++)
		v[n++] = (struct named_loc){ m->env.pass[i].name, m->env.pass[i].loc };
	for (size_t i = 0; i < m->env.n_set; i++)
		v[n++] = (struct named_loc){ m->env.set[i].name, m->env.set[i].loc };
	for (size_t i = 0; i < m->env.n_secrets; i++)
		v[n++] = (struct named_loc){ m->env.secrets[i].name, m->env.secrets[i].loc };
	return report_repeats(c, v, n, "environment variable");
}

static int cmp_syscall(const void *a, const void *b)
{
	const struct named_loc *x = a, *y = b;

	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	return loc_before(x->loc, y->loc) ? -1 : loc_before(y->loc, x->loc) ? 1 : 0;
}

/* Each list holds a syscall at most once, so a repeated number means allow and deny both. */
static int check_syscalls(struct mp *c, const struct manifest *m)
{
	_cleanup_free_ struct named_loc *v = NULL;
	char q[MP_QUOTE_MAX];
	size_t n = 0;
	int r;

	v = calloc(m->syscalls.n_allow + m->syscalls.n_deny + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->syscalls.n_allow; i++)
		v[n++] = (struct named_loc){ m->syscalls.allow[i].name, m->syscalls.allow[i].loc,
					     m->syscalls.allow[i].nr, false };
	for (size_t i = 0; i < m->syscalls.n_deny; i++)
		v[n++] = (struct named_loc){ m->syscalls.deny[i].name, m->syscalls.deny[i].loc,
					     m->syscalls.deny[i].nr, true };
	qsort(v, n, sizeof(*v), cmp_syscall);
	for (size_t i = 1; i < n; i++) {
		if (v[i].nr != v[i - 1].nr)
			continue;
		char first[MANIFEST_LOC_MAX];

		/* Across files (an included one denies what the manifest allows), say where. */
		if (v[i].loc.file && v[i - 1].loc.file && !streq(v[i].loc.file, v[i - 1].loc.file))
			manifest_loc_format(v[i - 1].loc, NULL, false, first, sizeof(first));
		else
			snprintf(first, sizeof(first), "line %u", v[i - 1].loc.line);
		r = mp_error(c, v[i].loc, "syscall %s is both allowed and denied (first at %s)",
			     mp_quote(v[i].name, strlen(v[i].name), q, sizeof(q)), first);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_across(struct mp *c, struct parse *p)
{
	int r;

	r = check_mount_targets(c, p->m);
	if (r < 0)
		return r;
	/*
	 * A hide may mask part of a bind that an included file declares: with includes, it is
	 * checked once the files are merged.
	 */
	if (!p->mounts_incomplete && !c->partial && p->n_includes == 0) {
		r = check_hide(c, p->m);
		if (r < 0)
			return r;
	}
	r = check_env_names(c, p->m);
	if (r < 0)
		return r;
	return check_syscalls(c, p->m);
}

static int parse_document(struct mp *c, struct parse *p)
{
	const struct manifest_loc top = { 1, 1, c->file };
	struct manifest_loc seen[ELEMENTSOF(root_keys)] = {};
	bool is_map = true;
	int r;

	r = mp_next(c); /* stream start */
	if (r < 0)
		return r;
	r = mp_next(c);
	if (r < 0)
		return r;
	/* An empty file is an empty mapping, which lacks the required keys. */
	if (c->event.type == YAML_DOCUMENT_START_EVENT) {
		r = mp_next(c);
		if (r < 0)
			return r;
		r = mp_map(c, root_keys, ELEMENTSOF(root_keys), seen, root_key, p);
		if (r < 0)
			return r;
		is_map = r > 0;

		r = mp_next(c); /* document end */
		if (r < 0)
			return r;
		r = mp_next(c);
		if (r < 0)
			return r;
		/*
		 * A second document would be ignored by the parser but possibly not by the
		 * author's other tools: refuse the ambiguity.
		 */
		if (c->event.type == YAML_DOCUMENT_START_EVENT)
			return mp_fatal(c, mp_loc(c),
					"expected a single YAML document, found a second one");
	}

	if (!is_map)
		return 0;
	/*
	 * An included file is part of a policy, not a skill: it needs no key. The manifest needs
	 * its schema version and its name; a command may come from an included file, or from
	 * the command line (`skillbox run DIR -- PROGRAM ARGS`).
	 */
	if (!c->partial) {
		r = require(c, &seen[ROOT_SKILLBOX], "skillbox", top);
		if (r >= 0)
			r = require(c, &seen[ROOT_NAME], "name", top);
		if (r < 0)
			return r;
	}
	return check_across(c, p);
}

/* Hands the problems over to the caller's list, in file order. */
static int move_diags(struct mp *c, struct manifest_diags *diags)
{
	struct manifest_diag *items;

	mp_sort_diags(c);
	if (c->n_diags > SIZE_MAX / sizeof(*items) - diags->n)
		return -ENOMEM;
	items = realloc(diags->items, (diags->n + c->n_diags) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	memcpy(items + diags->n, c->diags, c->n_diags * sizeof(*items));
	diags->items = items;
	diags->n += c->n_diags;
	free(c->diags);
	c->diags = NULL;
	c->n_diags = 0;
	return 0;
}

struct manifest *manifest_new(const struct manifest_parse_opts *opts)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->limits = (struct manifest_limits){
		.timeout_usec = MANIFEST_UNSET,
		.cpu_usec = MANIFEST_UNSET,
		.memory = MANIFEST_UNSET,
		.processes = MANIFEST_UNSET,
		.open_files = MANIFEST_UNSET,
		.file_size = MANIFEST_UNSET,
		.output = MANIFEST_UNSET,
	};
	m->audit.budget_bytes = MANIFEST_UNSET;
	m->audit.budget_keys = MANIFEST_UNSET;
	if (opts && opts->path) {
		m->path = strdup(opts->path);
		if (!m->path)
			return NULL;
	}
	if (opts && opts->dir) {
		m->dir = strdup(opts->dir);
		if (!m->dir)
			return NULL;
	}
	return TAKE_PTR(m);
}

static void mp_donep(struct mp *c)
{
	mp_done(c);
}

int manifest_parse_file(const char *data, size_t len, const struct manifest_parse_opts *opts,
			const char *file, bool partial, struct manifest_diags *diags,
			struct manifest **ret, struct manifest_include_ref **ret_refs,
			size_t *ret_n_refs)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	_cleanup_(mp_donep) struct mp c = {};
	struct parse p = { .bad_version = SIZE_MAX };
	int r;

	*ret_refs = NULL;
	*ret_n_refs = 0;
	m = manifest_new(opts);
	if (!m)
		return -ENOMEM;
	p.m = m;
	r = mp_init(&c, data, len, opts);
	if (r < 0)
		return r;
	c.file = file;
	c.partial = partial;

	r = parse_document(&c, &p);
	if (r == -ENOMEM) {
		manifest_include_refs_free(p.includes, p.n_includes);
		return r;
	}

	/* Judged against the wrong schema, every other problem would be noise. */
	if (p.bad_version != SIZE_MAX) {
		struct manifest_diag keep = c.diags[p.bad_version];

		for (size_t i = 0; i < c.n_diags; i++)
			if (i != p.bad_version) {
				free(c.diags[i].message);
				free(c.diags[i].file);
			}
		c.diags[0] = keep;
		c.n_diags = 1;
		/* Nor are the files it includes worth reading. */
		manifest_include_refs_free(p.includes, p.n_includes);
		p.includes = NULL;
		p.n_includes = 0;
	}

	*ret_refs = p.includes;
	*ret_n_refs = p.n_includes;
	if (c.n_diags > 0) {
		r = move_diags(&c, diags);
		return r < 0 ? r : -EINVAL;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

int manifest_check_merged(const struct manifest *m, struct manifest_diags *diags)
{
	_cleanup_(mp_donep) struct mp c = {};
	int r;

	r = mp_init(&c, "", 0, NULL);
	if (r < 0)
		return r;
	r = check_hide(&c, m);
	if (r >= 0)
		r = check_syscalls(&c, m);
	if (r == -ENOMEM)
		return r;
	if (c.n_diags == 0)
		return 0;
	r = move_diags(&c, diags);
	return r < 0 ? r : -EINVAL;
}
