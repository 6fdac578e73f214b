/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"
#include "path-util.h"

/*
 * Besides "no crash, no leak", checks the promises callers rely on, so that the fuzzer finds
 * broken ones: exactly one of a manifest or problems, problems in file order with printable
 * messages (they reach a terminal), and a manifest whose values are within their documented
 * ranges.
 */

static void check(bool cond)
{
	if (!cond)
		abort();
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool same_file(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_diags(const struct manifest_diags *d)
{
	check(d->n > 0);
	for (size_t i = 0; i < d->n; i++) {
		const struct manifest_diag *x = &d->items[i];

		check(x->message && printable(x->message) && strlen(x->message) < 1024);
		check(x->loc.line > 0 || (d->n == 1 && x->loc.column == 0));
		check(x->loc.file == x->file);
		/* In file order within each file (files come in the order they were read). */
		if (i > 0 && same_file(d->items[i - 1].file, x->file)) {
			const struct manifest_loc *p = &d->items[i - 1].loc;

			check(p->line < x->loc.line ||
			      (p->line == x->loc.line && p->column <= x->loc.column));
		}
	}
}

static void check_manifest(const struct manifest *m)
{
	check(m->schema == MANIFEST_SCHEMA_VERSION && m->name && (!m->command || m->command[0]));
	for (char **a = m->command; a && *a; a++)
		check(**a);
	check(m->n_files >= 1 && m->n_files <= MANIFEST_MAX_FILES);
	for (size_t i = 0; i < m->n_files; i++)
		check(m->files[i].path && m->files[i].depth <= MANIFEST_MAX_INCLUDE_DEPTH);
	check(!m->workdir || path_is_normalized(m->workdir));
	for (size_t i = 0; i < m->fs.n_read; i++)
		check(path_is_normalized(m->fs.read[i].host) &&
		      path_is_normalized(m->fs.read[i].inside));
	for (size_t i = 0; i < m->fs.n_write; i++)
		check(path_is_normalized(m->fs.write[i].host) &&
		      path_is_normalized(m->fs.write[i].inside));
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		check(path_is_normalized(m->fs.tmpfs[i].path));
	for (size_t i = 0; i < m->fs.n_hide; i++)
		check(path_is_normalized(m->fs.hide[i].path));
	for (size_t i = 0; i < m->net.n_egress; i++) {
		const struct manifest_egress *e = &m->net.egress[i];

		check(e->host && e->n_ports > 0);
		for (size_t j = 0; j < e->n_ports; j++)
			check(e->ports[j] > 0 && (j == 0 || e->ports[j - 1] < e->ports[j]));
	}
	for (size_t i = 0; i < m->env.n_secrets; i++)
		check(!m->env.secrets[i].from_env != !m->env.secrets[i].from_file);
	check(m->limits.timeout_usec > 0 && m->limits.memory > 0 && m->limits.output > 0);
}

/*
 * Included files, so that the fuzzer reaches the include code: two small profiles
 * ("base" includes "leaf"), "self" (the input itself, under the manifest's own identity: a
 * cycle), and any path below /srv/fuzz, which is the input again under that path (nesting,
 * repeats and cycles through paths).
 */
struct input {
	const uint8_t *data;
	size_t size;
};

static const char profile_base[] = "include: [leaf]\n"
				   "filesystem: {read: [/usr, {host: /lib64, optional: true}]}\n"
				   "limits: {processes: 64}\n";
static const char profile_leaf[] = "env: {set: {LANG: C.UTF-8}}\nsyscalls: {deny: [mount]}\n";

static int load(const char *ref, bool profile, void *userdata, struct manifest_include *ret,
		const char **ret_problem)
{
	const struct input *in = userdata;
	const char *text = NULL;
	char path[300];
	size_t len = 0;

	if (profile && strcmp(ref, "base") == 0)
		text = profile_base, len = strlen(profile_base);
	else if (profile && strcmp(ref, "leaf") == 0)
		text = profile_leaf, len = strlen(profile_leaf);
	else if ((profile && strcmp(ref, "self") == 0) ||
		 (!profile && strncmp(ref, "/srv/fuzz/", 10) == 0))
		text = (const char *)in->data, len = in->size;
	if (!text) {
		*ret_problem = "no such file";
		return -ENOENT;
	}
	/* (GCC's sanitizer build cannot tell that ref is not NULL here.) */
	if (!ref)
		return -EINVAL;
	if (profile)
		snprintf(path, sizeof(path), "/usr/share/skillbox/profiles/%.64s.yaml", ref);
	else
		snprintf(path, sizeof(path), "%.280s", ref);
	*ret = (struct manifest_include){
		.path = strdup(path),
		.dir = strdup("/srv/fuzz"),
		.id = profile && strcmp(ref, "self") == 0 ? strdup("main") : NULL,
		.data = malloc(len + 1),
		.len = len,
	};
	if (!ret->path || !ret->dir || !ret->data) {
		free(ret->path);
		free(ret->dir);
		free(ret->id);
		free(ret->data);
		*ret = (struct manifest_include){};
		return -ENOMEM;
	}
	memcpy(ret->data, text, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	const struct manifest_parse_opts opts = {
		.path = "fuzz/skillbox.yaml",
		.dir = "/srv/fuzz",
		.home = "/home/fuzz",
		.id = "main",
		.include = load,
		.userdata = &in,
	};
	struct manifest *m = NULL;
	struct manifest_diags d = {};
	int r;

	r = manifest_parse((const char *)data, size, &opts, &m, &d);
	if (r == 0) {
		check(m && d.n == 0);
		check_manifest(m);
	} else {
		check(r == -EINVAL && !m);
		check_diags(&d);
	}
	manifest_free(m);
	manifest_diags_done(&d);
	return 0;
}
