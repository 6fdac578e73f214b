/* SPDX-License-Identifier: MIT */
/*
 * Grants from skillbox run's command line: --read, --write, --env, --secret, --allow.
 *
 * Each is checked with the same rules as the manifest entry it stands for, and the lot
 * becomes a small manifest of its own (file MANIFEST_COMMAND_LINE) merged over the manifest
 * with the include rules, except that the command line wins: what a caller grants for one run
 * replaces the manifest's mount at the same inside path, or its variable of the same name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname-util.h"
#include "manifest-internal.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

struct grants {
	struct manifest *g;
	struct manifest_diags *diags;
	const struct manifest_grants *in;
	const char *workdir; /* where a relative SRC appears without DST */
	struct manifest_loc loc;
};

/* "--option 'value': what is wrong" (what + detail), with the value quoted like a manifest's. */
static int problem(struct grants *s, const char *option, const char *value, const char *what,
		   const char *detail)
{
	char q[MP_QUOTE_MAX];

	return manifest_diags_add(s->diags, s->loc, "%s %s: %s%s%s", option,
				  mp_quote(value, strlen(value), q, sizeof(q)), what,
				  detail ? " " : "", detail ? detail : "");
}

static int add_mount(struct grants *s, const char *option, const char *text, bool write)
{
	_cleanup_free_ char *src = NULL, *dst = NULL, *host = NULL, *inside = NULL;
	struct manifest_mount *e;
	const char *why = NULL;
	int r;

	r = manifest_split_mount(text, &src, &dst);
	if (r < 0)
		return r;
	r = manifest_resolve_host_path(src, s->in->cwd, s->in->home, &host, &why);
	if (r == -EINVAL)
		return problem(s, option, text, "host path", why);
	if (r < 0)
		return r;
	if (dst) {
		inside = TAKE_PTR(dst);
	} else if (src[0] != '/' && src[0] != '~') {
		/*
		 * "./out" is "out" in the caller's directory, and the command finds it as "out"
		 * in its own working directory: relative arguments mean the same on both sides.
		 */
		_cleanup_free_ char *joined = path_join(s->workdir, src);

		if (!joined)
			return -ENOMEM;
		r = path_normalize(joined, &inside);
		if (r < 0)
			return r == -ENOMEM
				       ? r
				       : problem(s, option, text,
						 "cannot be placed below the working directory",
						 NULL);
	} else {
		inside = strdup(host);
		if (!inside)
			return -ENOMEM;
	}
	why = manifest_inside_path_problem(inside);
	if (why)
		return problem(s, option, text, "the path inside", why);

	if (write)
		e = manifest_array_append(&s->g->fs.write, &s->g->fs.n_write, sizeof(*e));
	else
		e = manifest_array_append(&s->g->fs.read, &s->g->fs.n_read, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->host = TAKE_PTR(host);
	e->inside = TAKE_PTR(inside);
	e->loc = s->loc;
	return 0;
}

static bool grant_defines(const struct manifest *g, const char *name)
{
	for (size_t i = 0; i < g->env.n_pass; i++)
		if (streq(g->env.pass[i].name, name))
			return true;
	for (size_t i = 0; i < g->env.n_secrets; i++)
		if (streq(g->env.secrets[i].name, name))
			return true;
	return false;
}

static int add_env(struct grants *s, const char *name)
{
	struct manifest_env_pass *e;

	if (!manifest_env_name_is_valid(name))
		return problem(s, "--env", name,
			       "expected a variable name (letters, digits and '_', not starting "
			       "with a digit)",
			       NULL);
	if (grant_defines(s->g, name))
		return problem(s, "--env", name, "the variable is granted twice", NULL);
	e = manifest_array_append(&s->g->env.pass, &s->g->env.n_pass, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = strdup(name);
	e->loc = s->loc;
	return e->name ? 0 : -ENOMEM;
}

/* NAME, or NAME=ENVVAR: the secret NAME from the caller's variable ENVVAR (default NAME). */
static int add_secret(struct grants *s, const char *text)
{
	_cleanup_free_ char *name = NULL, *from = NULL;
	const char *eq = strchr(text, '=');
	struct manifest_secret *e;

	name = eq ? strndup(text, (size_t)(eq - text)) : strdup(text);
	from = strdup(eq ? eq + 1 : text);
	if (!name || !from)
		return -ENOMEM;
	if (!manifest_env_name_is_valid(name) || !manifest_env_name_is_valid(from))
		return problem(s, "--secret", text,
			       "expected NAME or NAME=VARIABLE (letters, digits and '_')", NULL);
	if (grant_defines(s->g, name))
		return problem(s, "--secret", text, "the variable is granted twice", NULL);
	e = manifest_array_append(&s->g->env.secrets, &s->g->env.n_secrets, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = TAKE_PTR(name);
	e->from_env = TAKE_PTR(from);
	e->loc = s->loc;
	return 0;
}

/*
 * HOST:PORT[/PROTO]: a name, host-loopback, an address ([...] for IPv6) or a network
 * ("10.0.0.0/8:5432"), one port, tcp unless /udp.
 */
static int add_allow(struct grants *s, const char *text)
{
	_cleanup_free_ char *copy = strdup(text);
	struct manifest_egress e = { .proto = MANIFEST_PROTO_TCP };
	struct manifest_egress *out;
	char *colon, *host, suggest[64];
	uint64_t port;
	size_t n;
	int r;

	if (!copy)
		return -ENOMEM;
	n = strlen(copy);
	if (n > 4 && streq(copy + n - 4, "/tcp"))
		copy[n - 4] = 0;
	else if (n > 4 && streq(copy + n - 4, "/udp")) {
		copy[n - 4] = 0;
		e.proto = MANIFEST_PROTO_UDP;
	}
	colon = strrchr(copy, ':');
	if (!colon || parse_uint64(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return problem(s, "--allow", text,
			       "expected HOST:PORT[/tcp|/udp] with a port from 1 to 65535", NULL);
	*colon = 0;
	host = copy;
	if (host[0] == '[') {
		n = strlen(host);
		if (n < 3 || host[n - 1] != ']')
			return problem(s, "--allow", text, "expected [IPV6-ADDRESS]:PORT", NULL);
		host[n - 1] = 0;
		host++;
	} else if (strchr(host, ':')) {
		/* "::1:80" could be read two ways. */
		return problem(s, "--allow", text,
			       "an IPv6 address is written in brackets: [ADDRESS]:PORT", NULL);
	}
	if (streq(host, "host-loopback")) {
		e.kind = MANIFEST_DEST_HOST_LOOPBACK;
	} else if (strchr(host, '/')) {
		r = manifest_parse_cidr(host, &e.cidr, suggest, sizeof(suggest));
		if (r == -EADDRNOTAVAIL)
			return problem(s, "--allow", text,
				       "the network has host bits set; did you mean", suggest);
		if (r < 0)
			return problem(s, "--allow", text, "expected a network such as 10.0.0.0/8",
				       NULL);
		e.kind = MANIFEST_DEST_ADDRESS;
	} else if (manifest_parse_address(host, &e.cidr) >= 0) {
		e.kind = MANIFEST_DEST_ADDRESS;
	} else if (hostname_is_valid_dns(host)) {
		e.kind = MANIFEST_DEST_HOSTNAME;
	} else {
		return problem(s, "--allow", text, "expected a hostname or an IP address", NULL);
	}
	out = manifest_array_append(&s->g->net.egress, &s->g->net.n_egress, sizeof(*out));
	if (!out)
		return -ENOMEM;
	*out = e;
	out->host = strdup(host);
	out->ports = malloc(sizeof(uint16_t));
	if (!out->host || !out->ports)
		return -ENOMEM;
	out->ports[0] = (uint16_t)port;
	out->n_ports = 1;
	out->loc = s->loc;
	return 0;
}

bool manifest_grants_empty(const struct manifest_grants *g)
{
	return !g || (strv_length(g->read) + strv_length(g->write) + strv_length(g->env) +
			      strv_length(g->secret) + strv_length(g->allow) ==
		      0);
}

static int add_all(struct grants *s)
{
	const struct manifest_grants *in = s->in;
	int r = 0;

	STRV_FOREACH (t, in->read)
		if ((r = add_mount(s, "--read", *t, false)) < 0)
			return r;
	STRV_FOREACH (t, in->write)
		if ((r = add_mount(s, "--write", *t, true)) < 0)
			return r;
	STRV_FOREACH (t, in->env)
		if ((r = add_env(s, *t)) < 0)
			return r;
	STRV_FOREACH (t, in->secret)
		if ((r = add_secret(s, *t)) < 0)
			return r;
	STRV_FOREACH (t, in->allow)
		if ((r = add_allow(s, *t)) < 0)
			return r;
	return 0;
}

/* Two grants of one inside path: which one was meant cannot be told. */
static int check_targets(struct grants *s)
{
	const struct manifest *g = s->g;
	size_t n = g->fs.n_read + g->fs.n_write;

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const struct manifest_mount *a =
				i < g->fs.n_read ? &g->fs.read[i] : &g->fs.write[i - g->fs.n_read];
			const struct manifest_mount *b =
				j < g->fs.n_read ? &g->fs.read[j] : &g->fs.write[j - g->fs.n_read];

			if (streq(a->inside, b->inside)) {
				int r = manifest_diags_add(s->diags, s->loc,
							   "--read/--write: two grants place a "
							   "path at %s",
							   b->inside);
				if (r < 0)
					return r;
			}
		}
	return 0;
}

int manifest_add_grants(struct manifest *m, const struct manifest_grants *in,
			struct manifest_diags *diags)
{
	_cleanup_manifest_free_ struct manifest *g = NULL;
	struct manifest tmp;
	struct manifest_file *f;
	size_t n_diags = diags->n;
	struct grants s;
	int r;

	if (manifest_grants_empty(in))
		return 0;
	g = manifest_new(NULL);
	if (!g)
		return -ENOMEM;
	f = manifest_array_append(&g->files, &g->n_files, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->path = strdup(MANIFEST_COMMAND_LINE);
	if (!f->path)
		return -ENOMEM;
	s = (struct grants){
		.g = g,
		.diags = diags,
		.in = in,
		.workdir = m->workdir		 ? m->workdir
			   : in->default_workdir ? in->default_workdir
						 : "/",
		.loc = { .file = f->path },
	};
	r = add_all(&s);
	if (r >= 0)
		r = check_targets(&s);
	if (r < 0)
		return r;
	if (diags->n != n_diags)
		return -EINVAL;

	/* The command line wins: merge the manifest under the grants, then keep the result. */
	r = manifest_merge(g, m, true);
	tmp = *m;
	*m = *g;
	*g = tmp;
	if (r < 0)
		return r;
	return manifest_check_merged(m, diags);
}
