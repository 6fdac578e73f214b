/* SPDX-License-Identifier: MIT */
/*
 * skillbox import FILE: a SkillSandbox manifest (skillsandbox.yaml) as a skillbox v1
 * manifest, every judgement written as a comment next to what it produced.
 *
 * SkillSandbox (github.com/theMachineClay/skillsandbox) declares:
 *
 *   skill: {name, version, description, author}
 *   permissions:
 *     network: {egress: [{domain, ports (default [443]), protocol (default tcp)}]}
 *     filesystem: {read: [PATH], write: [PATH]}
 *     env_vars: {allow: [NAME]}
 *     syscalls: {profile: permissive | default | strict}
 *   resources: {memory_mb 256, cpu_shares 512, max_runtime_seconds 60,
 *               max_output_bytes 1048576}   (its defaults)
 *   entrypoint: {command, args, workdir (default /skill)}
 *
 * and runs the entrypoint in the skill's folder with only the allowed variables, giving each
 * declared filesystem path an empty scratch directory of its own (never the host's files).
 * The translation:
 *
 *   - the skill's folder is bound read-only at the workdir (SkillSandbox runs it there);
 *   - a declared path below the workdir becomes a bind of that part of the folder (read, or
 *     write); any other path an empty private tmpfs (what SkillSandbox gives it), whether
 *     declared read or write;
 *   - the system paths SkillSandbox never declared come from profiles chosen by the
 *     entrypoint's program (python3, node, shell), plus tls when a destination uses 443;
 *   - domain → host (localhost and loopback addresses → host-loopback: SkillSandbox shares
 *     the host's network), ports, protocol → proto; a wildcard domain cannot be declared;
 *   - env_vars.allow → env.pass, except names that look like credentials (KEY, TOKEN,
 *     SECRET, PASSWORD...), which become optional secrets (redacted in the audit trail),
 *     and PATH, HOME, TMPDIR, which skillbox sets itself;
 *   - memory_mb → memory, max_runtime_seconds → timeout, max_output_bytes → output;
 *     cpu_shares and author have no equivalent;
 *   - entrypoint command + args → command.
 *
 * The result is checked with the manifest parser (as the file it would be written as) before
 * it is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "buf.h"
#include "cli.h"
#include "fd-util.h"
#include "json.h"
#include "learn.h"
#include "manifest-internal.h"
#include "path-util.h"
#include "profiles.h"
#include "strv.h"
#include "yaml-util.h"

static void import_help(FILE *f)
{
	fprintf(f, "Usage: skillbox import [-o FILE] SKILLSANDBOX.yaml|DIR\n"
		   "\n"
		   "Converts a SkillSandbox manifest (skillsandbox.yaml) into a skillbox manifest\n"
		   "and prints it, with a comment for each judgement and for what has no\n"
		   "equivalent. Review it before use.\n"
		   "\n"
		   "  -o, --output FILE  write it to FILE (a directory: FILE/skillbox.yaml); an\n"
		   "                     existing file is not overwritten\n"
		   "  -h, --help         show this help\n");
}

struct import {
	struct yaml_doc doc;
	const char *file;      /* the SkillSandbox manifest, for messages */
	const char *skill_dir; /* its folder (absolute) */
	const char *out_dir;   /* where the result goes (absolute), NULL for stdout */
	struct buf b;	       /* the manifest */
	unsigned warnings;
};

_printf_(2, 3) static void note(struct import *im, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	log_error("import: %s: %s", im->file, buf_ok(&msg) ? buf_str(&msg) : "out of memory");
	buf_done(&msg);
	im->warnings++;
}

static yaml_node_t *get(struct import *im, yaml_node_t *map, const char *key)
{
	return yaml_doc_get(&im->doc, map, key);
}

static const char *text(struct import *im, yaml_node_t *map, const char *key)
{
	return yaml_doc_text(get(im, map, key));
}

static yaml_node_t *node(struct import *im, int id)
{
	return yaml_document_get_node(&im->doc.doc, id);
}

/* The items of a sequence node as node ids: [begin, end). */
#define FOREACH_ITEM(im, seq, it)                                              \
	for (yaml_node_item_t *it = (seq) && (seq)->type == YAML_SEQUENCE_NODE \
					    ? (seq)->data.sequence.items.start \
					    : NULL;                            \
	     it && it < (seq)->data.sequence.items.top; it++)

/* Reports keys the converter does not know, so nothing is dropped silently. */
static void unknown_keys(struct import *im, yaml_node_t *map, const char *where,
			 const char *const *known)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = yaml_doc_text(node(im, p->key));
		bool ok = false;

		for (size_t i = 0; k && known[i]; i++)
			ok = ok || streq(k, known[i]);
		if (ok)
			continue;
		note(im, "line %u: unknown key %s%s%s, left out", yaml_doc_line(node(im, p->key)),
		     where, *where ? "." : "", k ? k : "?");
		buf_printf(&im->b, "# (left out: %s%s%s from line %u, unknown to this importer)\n",
			   where, *where ? "." : "", escaped(k ? k : "?"),
			   yaml_doc_line(node(im, p->key)));
	}
}

/* A path of the skill's folder as the manifest will write it. */
static void folder_path(struct import *im, struct buf *b, const char *rest)
{
	if (!im->out_dir || streq(im->out_dir, im->skill_dir))
		buf_printf(b, "%s%s", *rest ? "./" : ".", rest);
	else
		buf_printf(b, "%s%s%s", im->skill_dir, *rest ? "/" : "", rest);
}

struct fs_path {
	char *inside;
	bool read, write;
	unsigned line;
};

static int add_fs_path(struct fs_path **v, size_t *n, const char *p, bool write, unsigned line)
{
	_cleanup_free_ char *norm = NULL;
	struct fs_path *e;

	if (path_normalize(p, &norm) < 0)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++)
		if (streq((*v)[i].inside, norm)) {
			(*v)[i].write = (*v)[i].write || write;
			(*v)[i].read = (*v)[i].read || !write;
			return 0;
		}
	e = realloc(*v, (*n + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	*v = e;
	e[*n] = (struct fs_path){
		.inside = TAKE_PTR(norm), .read = !write, .write = write, .line = line
	};
	(*n)++;
	return 0;
}

static int emit_filesystem(struct import *im, yaml_node_t *fs, const char *workdir)
{
	static const char *const keys[] = { "read", "write", NULL };
	struct fs_path *v = NULL;
	size_t n = 0;
	struct buf binds = BUF_INIT, writes = BUF_INIT, tmpfs = BUF_INIT;
	int r = 0;

	unknown_keys(im, fs, "permissions.filesystem", keys);
	for (int w = 0; w < 2; w++)
		FOREACH_ITEM(im, get(im, fs, w ? "write" : "read"), it)
		{
			yaml_node_t *item = node(im, *it);
			const char *p = yaml_doc_text(item);
			_cleanup_free_ char *abs = NULL;

			if (!p || !*p) {
				note(im,
				     "line %u: a filesystem path that is not a string, left out",
				     yaml_doc_line(item));
				continue;
			}
			/* SkillSandbox's paths are the skill's own; a relative one is in its
			   folder, where it runs. */
			if (p[0] != '/') {
				abs = path_join(workdir, p);
				if (!abs) {
					r = -ENOMEM;
					goto out;
				}
			}
			r = add_fs_path(&v, &n, abs ? abs : p, w, yaml_doc_line(item));
			if (r == -EINVAL) {
				note(im, "line %u: %s is not a path, left out", yaml_doc_line(item),
				     p);
				r = 0;
			}
			if (r < 0)
				goto out;
		}

	buf_puts(&im->b, "filesystem:\n  read:\n    - ");
	{
		struct buf e = BUF_INIT;

		folder_path(im, &e, "");
		buf_printf(&e, ":%s", workdir);
		yaml_out_scalar(&im->b, buf_str(&e));
		buf_done(&e);
	}
	buf_puts(&im->b, "  # the skill's folder, read-only: SkillSandbox runs the "
			 "entrypoint in it\n");
	for (size_t i = 0; i < n; i++) {
		const char *rest = path_startswith(v[i].inside, workdir);
		const char *problem = manifest_inside_path_problem(v[i].inside);
		struct buf e = BUF_INIT;

		if (problem) {
			buf_printf(&tmpfs, "  # %s (line %u) cannot be declared: it %s\n",
				   escaped(v[i].inside), v[i].line, problem);
			continue;
		}
		if (rest && *rest) {
			/* Part of the folder: bound from it, writable when declared so. */
			folder_path(im, &e, rest);
			buf_printf(&e, ":%s", v[i].inside);
			if (v[i].write) {
				buf_puts(&writes, "    - ");
				yaml_out_scalar(&writes, buf_str(&e));
				buf_printf(&writes,
					   "  # write (line %u): that part of the skill's folder, "
					   "which must exist\n",
					   v[i].line);
			} else {
				buf_printf(&binds,
					   "  # %s (read, line %u) is part of the folder bound "
					   "above\n",
					   escaped(v[i].inside), v[i].line);
			}
		} else if (rest) {
			buf_printf(&binds,
				   "  # %s (line %u) is the workdir: the skill's folder%s\n",
				   escaped(v[i].inside), v[i].line,
				   v[i].write ? "; declared write, but the folder stays read-only: "
						"bind it under write: if the skill must write there"
					      : "");
		} else {
			buf_puts(&tmpfs, "    - ");
			yaml_out_scalar(&tmpfs, v[i].inside);
			buf_printf(&tmpfs,
				   "  # %s (line %u): SkillSandbox gives it an empty scratch "
				   "directory; here an empty private tmpfs, discarded at the end\n",
				   v[i].read && v[i].write ? "read and write"
				   : v[i].write		   ? "write"
							   : "read",
				   v[i].line);
		}
		buf_done(&e);
	}
	buf_puts(&im->b, binds.data ? binds.data : "");
	if (writes.len)
		buf_printf(&im->b, "  write:\n%s", writes.data);
	if (tmpfs.len)
		buf_printf(&im->b, "  tmpfs:\n%s", tmpfs.data);
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].inside);
	free(v);
	buf_done(&binds);
	buf_done(&writes);
	buf_done(&tmpfs);
	return r;
}

static bool is_loopback_name(const char *d)
{
	return streq(d, "localhost") || streq(d, "127.0.0.1") || streq(d, "::1") ||
	       streq(d, "[::1]") || streq(d, "localhost.localdomain");
}

/* Returns whether any destination uses port 443 (HTTPS: the tls profile). */
static bool emit_network(struct import *im, yaml_node_t *net)
{
	static const char *const keys[] = { "egress", NULL };
	static const char *const rule_keys[] = { "domain", "ports", "protocol", NULL };
	struct buf e = BUF_INIT, skipped = BUF_INIT;
	bool https = false;

	unknown_keys(im, net, "permissions.network", keys);
	FOREACH_ITEM(im, get(im, net, "egress"), it)
	{
		yaml_node_t *rule = node(im, *it);
		const char *domain = text(im, rule, "domain");
		const char *proto = text(im, rule, "protocol");
		yaml_node_t *ports = get(im, rule, "ports");
		unsigned line = yaml_doc_line(rule);
		struct buf p = BUF_INIT;
		bool any = false;

		unknown_keys(im, rule, "permissions.network.egress[]", rule_keys);
		if (!domain || !*domain) {
			buf_printf(&skipped,
				   "# (left out: the egress rule at line %u has no domain)\n",
				   line);
			continue;
		}
		if (strchr(domain, '*')) {
			note(im, "line %u: %s: a wildcard domain cannot be declared, left out",
			     line, domain);
			buf_printf(
				&skipped,
				"# (left out: %s, line %u: skillbox resolves each name it allows "
				"before the run and pins it; list the names themselves)\n",
				escaped(domain), line);
			continue;
		}
		FOREACH_ITEM(im, ports, pt)
		{
			const char *t = yaml_doc_text(node(im, *pt));
			char *end = NULL;
			unsigned long v = t ? strtoul(t, &end, 10) : 0;

			if (!t || !*t || *end || v < 1 || v > 65535) {
				note(im, "line %u: a port that is not 1-65535, left out", line);
				continue;
			}
			buf_printf(&p, "%s%lu", any ? ", " : "", v);
			any = true;
			https = https || v == 443;
		}
		if (!ports) {
			/* SkillSandbox's default. */
			buf_puts(&p, "443");
			any = true;
			https = true;
		}
		if (!any) {
			buf_printf(&skipped, "# (left out: %s, line %u: no usable port)\n",
				   escaped(domain), line);
			buf_done(&p);
			continue;
		}
		buf_puts(&e, "    - host: ");
		if (is_loopback_name(domain)) {
			buf_printf(&e,
				   "host-loopback  # %s (line %u): SkillSandbox shares the host's "
				   "network; here the host's loopback is the name host-loopback\n",
				   escaped(domain), line);
		} else {
			yaml_out_scalar(&e, domain);
			buf_putc(&e, '\n');
		}
		buf_printf(&e, "      ports: [%s]%s\n", p.data,
			   ports ? "" : "  # SkillSandbox's default");
		if (proto && streq(proto, "udp"))
			buf_puts(&e, "      proto: udp\n");
		else if (proto && !streq(proto, "tcp"))
			buf_printf(&e,
				   "      # protocol %s: skillbox allows tcp or udp; tcp kept\n",
				   escaped(proto));
		buf_done(&p);
	}
	if (e.len)
		buf_printf(&im->b,
			   "network:\n  egress:\n%s  dns: pinned  # names resolved by "
			   "skillbox at launch, pinned in /etc/hosts\n",
			   e.data);
	else
		buf_puts(&im->b, "# network: none declared; the sandbox has loopback only\n");
	if (skipped.len)
		buf_puts(&im->b, skipped.data);
	buf_done(&e);
	buf_done(&skipped);
	return https;
}

static bool looks_like_credential(const char *name)
{
	static const char *const words[] = { "KEY",    "TOKEN",	     "SECRET", "PASSWORD",
					     "PASSWD", "CREDENTIAL", "AUTH",   "PRIVATE" };

	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

static void emit_env(struct import *im, yaml_node_t *env)
{
	static const char *const keys[] = { "allow", NULL };
	struct buf pass = BUF_INIT, secrets = BUF_INIT, notes = BUF_INIT;

	unknown_keys(im, env, "permissions.env_vars", keys);
	FOREACH_ITEM(im, get(im, env, "allow"), it)
	{
		const char *name = yaml_doc_text(node(im, *it));

		if (!name || !manifest_env_name_is_valid(name)) {
			note(im, "line %u: not a variable name, left out",
			     yaml_doc_line(node(im, *it)));
			continue;
		}
		if (streq(name, "PATH") || streq(name, "HOME") || streq(name, "TMPDIR")) {
			buf_printf(&notes,
				   "  # %s is not passed: skillbox sets its own for the view "
				   "(PATH=/usr/local/bin:/usr/bin:/bin, HOME=/home/skill, "
				   "TMPDIR=/tmp)\n",
				   escaped(name));
		} else if (looks_like_credential(name)) {
			buf_printf(
				&secrets,
				"    - {name: %s, from_env: %s, optional: true}  # a credential: a "
				"secret, redacted in the audit trail; optional, as SkillSandbox "
				"passes it only when set\n",
				name, name);
		} else {
			buf_printf(&pass, "%s%s", pass.len ? ", " : "", name);
		}
	}
	if (!pass.len && !secrets.len && !notes.len)
		return;
	buf_puts(&im->b, "env:\n");
	if (pass.len)
		buf_printf(&im->b, "  pass: [%s]  # copied from the caller when set\n", pass.data);
	if (secrets.len)
		buf_printf(&im->b, "  secrets:\n%s", secrets.data);
	if (notes.len)
		buf_puts(&im->b, notes.data);
	buf_done(&pass);
	buf_done(&secrets);
	buf_done(&notes);
}

/* A whole number from a scalar, or def when absent; -1 when present but not a number. */
static long long number(struct import *im, yaml_node_t *map, const char *key, long long def)
{
	yaml_node_t *n = get(im, map, key);
	const char *t = yaml_doc_text(n);
	char *end = NULL;
	long long v;

	if (!n)
		return def;
	if (!t || !*t)
		return -1;
	v = strtoll(t, &end, 10);
	return *end || v <= 0 ? -1 : v;
}

static void emit_limits(struct import *im, yaml_node_t *res)
{
	static const char *const keys[] = { "memory_mb", "cpu_shares", "max_runtime_seconds",
					    "max_output_bytes", NULL };
	long long mem = number(im, res, "memory_mb", 256);
	long long cpu = number(im, res, "cpu_shares", 512);
	long long runtime = number(im, res, "max_runtime_seconds", 60);
	long long output = number(im, res, "max_output_bytes", 1048576);
	const char *dflt = " (SkillSandbox's default)";

	unknown_keys(im, res, "resources", keys);
	buf_puts(&im->b, "limits:\n");
	if (runtime > 0)
		buf_printf(&im->b, "  timeout: %llds  # max_runtime_seconds%s\n", runtime,
			   get(im, res, "max_runtime_seconds") ? "" : dflt);
	if (mem > 0)
		buf_printf(&im->b,
			   "  memory: %lldM  # memory_mb%s; RLIMIT_DATA, per process (not a "
			   "cgroup limit of the whole tree)\n",
			   mem, get(im, res, "memory_mb") ? "" : dflt);
	if (output > 0)
		buf_printf(&im->b, "  output: %lld  # max_output_bytes%s\n", output,
			   get(im, res, "max_output_bytes") ? "" : dflt);
	buf_puts(&im->b, "  # processes: 64  # SkillSandbox sets no process limit; uncomment to "
			 "bound a fork bomb\n");
	if (cpu > 0)
		buf_printf(&im->b,
			   "  # cpu_shares: %lld has no equivalent (a relative CPU weight); cpu: "
			   "bounds CPU time instead\n",
			   cpu);
	if (mem < 0 || cpu < 0 || runtime < 0 || output < 0)
		note(im, "a resources value is not a positive whole number, left out");
}

static void emit_syscalls(struct import *im, yaml_node_t *sys)
{
	static const char *const keys[] = { "profile", NULL };
	const char *p = text(im, sys, "profile");

	unknown_keys(im, sys, "permissions.syscalls", keys);
	if (!p || streq(p, "default"))
		buf_puts(&im->b, "syscalls:\n  profile: default  # an allowlist, stricter than "
				 "SkillSandbox's default (a short denylist)\n");
	else if (streq(p, "strict"))
		buf_puts(&im->b, "syscalls:\n  profile: strict  # no sockets but AF_UNIX; unlike "
				 "SkillSandbox's strict, kill and clone stay allowed\n");
	else if (streq(p, "permissive"))
		buf_puts(&im->b, "syscalls:\n  profile: default  # permissive (log only) has no "
				 "equivalent: every refusal is enforced and audited\n");
	else {
		note(im, "syscalls profile %s is unknown; default used", p);
		buf_puts(&im->b, "syscalls:\n  profile: default\n");
	}
}

static int convert(struct import *im)
{
	static const char *const top_keys[] = { "skill", "permissions", "resources", "entrypoint",
						NULL };
	static const char *const skill_keys[] = { "name", "version", "description", "author",
						  NULL };
	static const char *const perm_keys[] = { "network", "filesystem", "env_vars", "syscalls",
						 NULL };
	static const char *const entry_keys[] = { "command", "args", "workdir", NULL };
	yaml_node_t *root = yaml_doc_root(&im->doc);
	yaml_node_t *skill = get(im, root, "skill"), *perm = get(im, root, "permissions");
	yaml_node_t *entry = get(im, root, "entrypoint");
	const char *name = text(im, skill, "name"), *command = text(im, entry, "command");
	const char *workdir = text(im, entry, "workdir"), *profile;
	_cleanup_free_ char *safe_name = NULL, *wd = NULL;
	_cleanup_strv_free_ char **include = NULL;
	struct buf body = BUF_INIT;
	bool https;
	char when[64] = "";
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE || !skill || !entry) {
		log_error("import: %s: not a SkillSandbox manifest (it needs skill: and "
			  "entrypoint:)",
			  im->file);
		return -EINVAL;
	}
	if (!command || !*command) {
		log_error("import: %s: entrypoint.command is missing", im->file);
		return -EINVAL;
	}
	if (!workdir || path_normalize(workdir, &wd) < 0 || manifest_inside_path_problem(wd)) {
		if (workdir)
			note(im, "entrypoint.workdir %s cannot be used; /skill instead", workdir);
		free(wd);
		wd = strdup("/skill");
		if (!wd)
			return -ENOMEM;
	}
	safe_name = learn_name_from_dir(name ? name : im->skill_dir);
	if (!safe_name)
		return -ENOMEM;

	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	buf_printf(&im->b, "# Converted by skillbox import from %s (SkillSandbox) on %s.\n",
		   escaped(im->file), when);
	buf_puts(&im->b,
		 "# Each judgement is a comment next to what it produced: review them. Paths\n"
		 "# starting with ./ are the skill's folder, relative to this file.\n");
	if (!im->out_dir)
		buf_printf(&im->b, "# Save it as %s/skillbox.yaml.\n", escaped(im->skill_dir));
	unknown_keys(im, root, "", top_keys);
	unknown_keys(im, skill, "skill", skill_keys);
	unknown_keys(im, perm, "permissions", perm_keys);
	unknown_keys(im, entry, "entrypoint", entry_keys);

	buf_puts(&im->b, "skillbox: 1\nname: ");
	yaml_out_scalar(&im->b, safe_name);
	if (name && !streq(name, safe_name))
		buf_printf(&im->b, "  # \"%s\" made a valid name ([a-z0-9][a-z0-9._-]*)",
			   escaped(name));
	buf_putc(&im->b, '\n');
	if (text(im, skill, "version")) {
		buf_puts(&im->b, "version: ");
		json_escape(&im->b, text(im, skill, "version"), strlen(text(im, skill, "version")));
		buf_putc(&im->b, '\n');
	}
	if (text(im, skill, "description")) {
		buf_puts(&im->b, "description: ");
		json_escape(&im->b, text(im, skill, "description"),
			    strlen(text(im, skill, "description")));
		buf_putc(&im->b, '\n');
	}
	if (text(im, skill, "author")) {
		buf_puts(&im->b, "# author: ");
		yaml_out_comment(&im->b, text(im, skill, "author"));
		buf_puts(&im->b, " (no equivalent in skillbox)\n");
	}

	/* What follows decides the profiles, so it is written to its own buffer first. */
	{
		struct buf saved = im->b;

		im->b = body;
		r = emit_filesystem(im, get(im, perm, "filesystem"), wd);
		if (r >= 0) {
			https = emit_network(im, get(im, perm, "network"));
			emit_env(im, get(im, perm, "env_vars"));
			emit_limits(im, get(im, root, "resources"));
			emit_syscalls(im, get(im, perm, "syscalls"));
		}
		body = im->b;
		im->b = saved;
		if (r < 0) {
			buf_done(&body);
			return r;
		}
	}

	profile = profiles_for_program(command);
	if (strv_extend(&include, profile && !streq(profile, "tls") ? profile : "system") < 0 ||
	    (https && strv_extend(&include, "tls") < 0)) {
		buf_done(&body);
		return -ENOMEM;
	}
	buf_puts(&im->b, "include: [");
	STRV_FOREACH (i, include)
		buf_printf(&im->b, "%s%s", i == include ? "" : ", ", *i);
	buf_printf(&im->b, "]  # the system paths SkillSandbox never declared: %s%s\n",
		   profile && !streq(profile, "tls") ? "the entrypoint runs " : "the base system",
		   profile && !streq(profile, "tls") ? escaped(command) : "");
	if (https)
		buf_puts(&im->b, "# (tls: a destination uses port 443, HTTPS needs the CA "
				 "certificates)\n");

	buf_puts(&im->b, "command: [");
	json_escape(&im->b, command, strlen(command));
	FOREACH_ITEM(im, get(im, entry, "args"), it)
	{
		const char *a = yaml_doc_text(node(im, *it));

		if (!a) {
			note(im, "an entrypoint argument that is not a string, left out");
			continue;
		}
		buf_puts(&im->b, ", ");
		json_escape(&im->b, a, strlen(a));
	}
	buf_puts(&im->b, "]  # entrypoint.command and args\nworkdir: ");
	yaml_out_scalar(&im->b, wd);
	buf_putc(&im->b, '\n');
	buf_puts(&im->b, body.data ? body.data : "");
	buf_done(&body);
	return buf_ok(&im->b) ? 0 : -ENOMEM;
}

static int validate(const char *yaml, const char *file, const char *dir)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct manifest_diags diags = {};
	int r;

	r = manifest_parse(yaml, strlen(yaml),
			   &(struct manifest_parse_opts){ .path = file,
							  .dir = dir,
							  .home = caller_home(),
							  .include = profiles_include },
			   &m, &diags);
	if (r == -EINVAL) {
		log_error("import: the converted manifest is invalid (a bug in skillbox import); "
			  "nothing was written:");
		manifest_print_diags(&diags, file);
		fputs(yaml, stderr);
	}
	manifest_diags_done(&diags);
	return r;
}

static char *dir_of(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash)
		strcpy(d, ".");
	else if (slash == d)
		d[1] = 0;
	else
		*slash = 0;
	return d;
}

int cmd_import(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *file = NULL, *data = NULL, *dir = NULL, *out_file = NULL,
			    *out_dir = NULL;
	struct import im = { .b = BUF_INIT };
	const char *output = NULL;
	char real[PATH_MAX], out_real[PATH_MAX];
	struct stat st;
	size_t len;
	int c, r, status = EXIT_SKILLBOX_FAILED;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:h", options, NULL)) >= 0) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			import_help(stdout);
			return 0;
		default:
			import_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind != argc - 1) {
		log_error("import: expected one SkillSandbox manifest (or its folder)");
		import_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	if (stat(argv[optind], &st) == 0 && S_ISDIR(st.st_mode))
		file = path_join(argv[optind], "skillsandbox.yaml");
	else
		file = strdup(argv[optind]);
	dir = file ? dir_of(file) : NULL;
	if (!file || !dir)
		return log_error_errno(-ENOMEM, "import"), EXIT_SKILLBOX_FAILED;
	r = read_file_bounded(AT_FDCWD, file, MANIFEST_MAX_SIZE, &data, &len);
	if (r < 0) {
		log_error_errno(r, "import: %s", file);
		return EXIT_SKILLBOX_FAILED;
	}
	if (!realpath(dir, real)) {
		log_error_errno(-errno, "import: %s", dir);
		return EXIT_SKILLBOX_FAILED;
	}
	if (output) {
		out_file = stat(output, &st) == 0 && S_ISDIR(st.st_mode)
				   ? path_join(output, MANIFEST_FILENAME)
				   : strdup(output);
		out_dir = out_file ? dir_of(out_file) : NULL;
		if (!out_file || !out_dir)
			return log_error_errno(-ENOMEM, "import"), EXIT_SKILLBOX_FAILED;
		if (!realpath(out_dir, out_real)) {
			log_error_errno(-errno, "import: -o %s", out_dir);
			return EXIT_SKILLBOX_FAILED;
		}
		if (access(out_file, F_OK) == 0) {
			log_error(
				"import: %s exists; not overwritten (remove it, or choose another "
				"-o)",
				out_file);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	im.file = file;
	im.skill_dir = real;
	im.out_dir = output ? out_real : NULL;
	r = yaml_doc_load(&im.doc, data, len);
	if (r < 0) {
		if (r == -EINVAL)
			log_error("import: %s: %s", file, im.doc.error);
		else
			log_error_errno(r, "import: %s", file);
		goto out;
	}
	r = convert(&im);
	if (r < 0) {
		if (r != -EINVAL)
			log_error_errno(r, "import: %s", file);
		goto out;
	}
	{
		_cleanup_free_ char *where =
			out_file ? strdup(out_file) : path_join(real, MANIFEST_FILENAME);

		if (!where || validate(buf_str(&im.b), where, output ? out_real : real) < 0)
			goto out;
	}
	if (out_file) {
		_cleanup_close_ int fd =
			open(out_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);

		if (fd < 0 || write_full(fd, im.b.data, im.b.len) < 0) {
			log_error_errno(-errno, "import: writing %s", out_file);
			goto out;
		}
		fprintf(stderr,
			"skillbox: import: wrote %s; review it (skillbox check %s), then: "
			"skillbox run %s\n",
			out_file, out_file, out_file);
	} else if (write_full(STDOUT_FILENO, im.b.data, im.b.len) < 0) {
		log_error_errno(-errno, "import: writing the manifest");
		goto out;
	}
	status = 0;
out:
	yaml_doc_done(&im.doc);
	buf_done(&im.b);
	return status;
}
