/* SPDX-License-Identifier: MIT */
#include <errno.h>
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

static void check_diags(const struct manifest_diags *d)
{
	check(d->n > 0);
	for (size_t i = 0; i < d->n; i++) {
		const struct manifest_diag *x = &d->items[i];

		check(x->message && printable(x->message) && strlen(x->message) < 1024);
		check(x->loc.line > 0 || (d->n == 1 && x->loc.column == 0));
		if (i > 0) {
			const struct manifest_loc *p = &d->items[i - 1].loc;

			check(p->line < x->loc.line ||
			      (p->line == x->loc.line && p->column <= x->loc.column));
		}
	}
}

static void check_manifest(const struct manifest *m)
{
	check(m->schema == MANIFEST_SCHEMA_VERSION && m->name && m->command && m->command[0]);
	for (char **a = m->command; *a; a++)
		check(**a);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct manifest_parse_opts opts = {
		.path = "fuzz/skillbox.yaml",
		.dir = "/srv/fuzz",
		.home = "/home/fuzz",
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
