/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "strv.h"

static void mounts_free(struct manifest_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].host);
		free(m[i].inside);
	}
	free(m);
}

struct manifest *manifest_free(struct manifest *m)
{
	if (!m)
		return NULL;

	free(m->path);
	free(m->dir);
	free(m->name);
	free(m->version);
	free(m->description);
	strv_free(m->command);
	free(m->workdir);

	mounts_free(m->fs.read, m->fs.n_read);
	mounts_free(m->fs.write, m->fs.n_write);
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		free(m->fs.tmpfs[i].path);
	free(m->fs.tmpfs);
	for (size_t i = 0; i < m->fs.n_hide; i++)
		free(m->fs.hide[i].path);
	free(m->fs.hide);

	for (size_t i = 0; i < m->net.n_egress; i++) {
		free(m->net.egress[i].host);
		free(m->net.egress[i].ports);
	}
	free(m->net.egress);

	for (size_t i = 0; i < m->env.n_pass; i++)
		free(m->env.pass[i].name);
	free(m->env.pass);
	for (size_t i = 0; i < m->env.n_set; i++) {
		free(m->env.set[i].name);
		free(m->env.set[i].value);
	}
	free(m->env.set);
	for (size_t i = 0; i < m->env.n_secrets; i++) {
		free(m->env.secrets[i].name);
		free(m->env.secrets[i].from_env);
		free(m->env.secrets[i].from_file);
	}
	free(m->env.secrets);

	for (size_t i = 0; i < m->syscalls.n_allow; i++)
		free(m->syscalls.allow[i].name);
	free(m->syscalls.allow);
	for (size_t i = 0; i < m->syscalls.n_deny; i++)
		free(m->syscalls.deny[i].name);
	free(m->syscalls.deny);

	for (size_t i = 0; i < m->n_files; i++) {
		free(m->files[i].path);
		free(m->files[i].digest);
		free(m->files[i].profile);
	}
	free(m->files);

	free(m);
	return NULL;
}

void manifest_diags_done(struct manifest_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].message);
		free(d->items[i].file);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

unsigned manifest_trace_from_string(const char *s)
{
	if (!s)
		return 0;
	if (streq(s, "exec"))
		return MANIFEST_TRACE_EXEC;
	if (streq(s, "files"))
		return MANIFEST_TRACE_FILES;
	if (streq(s, "connect"))
		return MANIFEST_TRACE_CONNECT;
	return 0;
}

const char *manifest_proto_to_string(enum manifest_proto p)
{
	switch (p) {
	case MANIFEST_PROTO_TCP:
		return "tcp";
	case MANIFEST_PROTO_UDP:
		return "udp";
	}
	return NULL;
}

const char *manifest_profile_to_string(enum manifest_profile p)
{
	switch (p) {
	case MANIFEST_PROFILE_DEFAULT:
		return "default";
	case MANIFEST_PROFILE_STRICT:
		return "strict";
	}
	return NULL;
}

const char *manifest_dns_to_string(enum manifest_dns d)
{
	switch (d) {
	case MANIFEST_DNS_PINNED:
		return "pinned";
	case MANIFEST_DNS_RESOLVER:
		return "resolver";
	}
	return NULL;
}
