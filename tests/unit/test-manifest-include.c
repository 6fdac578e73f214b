/* SPDX-License-Identifier: MIT */
/*
 * The manifest folder, second part: include: (profiles and partial manifests), the merge
 * rules, errors in included files with their own FILE:LINE:COLUMN, cycles and depth, and the
 * command-line grants. Included files come from a table in memory, through the same loader
 * interface skillbox's launcher implements over the filesystem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malloc-fail.h"
#include "manifest-internal.h"
#include "manifest.h"
#include "strv.h"
#include "tap.h"

#define PROFILES "/usr/share/skillbox/profiles/"

struct file {
	const char *ref; /* a profile name, or an absolute path */
	const char *text;
};

/* The files the loader knows; a test sets them. */
static const struct file *files;
static size_t n_files;
static unsigned n_loads;

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static int load(const char *ref, bool profile, void *userdata, struct manifest_include *ret,
		const char **ret_problem)
{
	char path[512];

	n_loads++;
	for (size_t i = 0; i < n_files; i++) {
		if (!streq(files[i].ref, ref) || (files[i].ref[0] == '/') == profile)
			continue;
		if (profile)
			snprintf(path, sizeof(path), PROFILES "%s.yaml", ref);
		else
			snprintf(path, sizeof(path), "%s", ref);
		*ret = (struct manifest_include){
			.path = strdup(path),
			.dir = dir_of(path),
			.digest = strdup("d1g357"),
			.data = strdup(files[i].text),
			.len = strlen(files[i].text),
		};
		if (!ret->path || !ret->dir || !ret->digest || !ret->data) {
			free(ret->path);
			free(ret->dir);
			free(ret->digest);
			free(ret->data);
			*ret = (struct manifest_include){};
			return -ENOMEM;
		}
		return 0;
	}
	*ret_problem = profile ? "no such profile" : "no such file";
	return -ENOENT;
}

static const struct manifest_parse_opts opts = {
	.path = "skills/weather/skillbox.yaml",
	.dir = "/srv/skills/weather",
	.home = "/home/alice",
	.include = load,
};

#define HEAD "skillbox: 1\nname: t\n"

static struct manifest *parse(const char *yaml, struct manifest_diags *d)
{
	struct manifest *m = NULL;
	int r = manifest_parse(yaml, strlen(yaml), &opts, &m, d);

	if (r != 0 && r != -EINVAL)
		diag("manifest_parse returned %d", r);
	return m;
}

static struct manifest *parse_ok(const char *name, const char *yaml)
{
	struct manifest_diags d = {};
	struct manifest *m = parse(yaml, &d);

	ok(m, "%s: parses", name);
	for (size_t i = 0; i < d.n; i++)
		diag("%s:%u:%u: %s", d.items[i].file ? d.items[i].file : "-", d.items[i].loc.line,
		     d.items[i].loc.column, d.items[i].message);
	manifest_diags_done(&d);
	return m;
}

/* Expects exactly one problem, at file:line:column, whose message contains text. */
static void expect_problem(const char *name, const char *yaml, const char *file, unsigned line,
			   unsigned column, const char *text)
{
	struct manifest_diags d = {};
	_cleanup_manifest_free_ struct manifest *m = parse(yaml, &d);

	ok(!m && d.n == 1, "%s: one problem (got %zu)", name, d.n);
	for (size_t i = 0; i < d.n; i++)
		diag("%s:%u:%u: %s", d.items[i].file ? d.items[i].file : "-", d.items[i].loc.line,
		     d.items[i].loc.column, d.items[i].message);
	if (d.n >= 1) {
		is_str(d.items[0].file, file, "%s: file", name);
		ok(d.items[0].loc.line == line && d.items[0].loc.column == column,
		   "%s: at %u:%u (got %u:%u)", name, line, column, d.items[0].loc.line,
		   d.items[0].loc.column);
		ok(strstr(d.items[0].message, text), "%s: message '%s'", name, d.items[0].message);
	}
	manifest_diags_done(&d);
}

static const struct file profile_files[] = {
	{ "system", "# The system profile.\n"
		    "skillbox: 1\n"
		    "description: the base system\n"
		    "filesystem:\n"
		    "  read:\n"
		    "    - /usr\n"
		    "    - {host: /lib64, optional: true}\n"
		    "    - /etc/ssl\n"
		    "env:\n"
		    "  set: {LANG: C.UTF-8, PAGER: cat}\n"
		    "limits: {processes: 64, timeout: 1m}\n"
		    "syscalls: {deny: [ptrace]}\n" },
	{ "python3", "include: [system]\n"
		     "filesystem:\n"
		     "  read: [{host: /etc/python3.11, optional: true}]\n"
		     "env:\n"
		     "  set: {PYTHONDONTWRITEBYTECODE: \"1\"}\n"
		     "workdir: /skill\n"
		     "command: [python3]\n" },
	{ "node", "include: [system]\nfilesystem: {read: [/usr/share/nodejs]}\n" },
	{ "strict", "syscalls: {profile: strict}\nnetwork: {dns: resolver}\n" },
	{ "/srv/skills/team/base.yaml", "include: [../shared/common.yaml]\n"
					"filesystem:\n"
					"  read: [\"./data:/data\"]\n"
					"limits: {memory: 64M, processes: 200}\n" },
	{ "/srv/skills/shared/common.yaml", "env: {pass: [TZ]}\nlimits: {output: 1M}\n"
					    "audit: {budget: {bytes: 8M}, overflow: stop}\n" },
	{ "/srv/skills/weather/bad.yaml", "filesystem:\n"
					  "  read: [relative/../../x, \"/a:b\"]\n"
					  "limits: {memory: lots}\n" },
	{ "/srv/skills/weather/name.yaml", "name: Not_A_Name\n" },
	{ "/srv/skills/weather/a.yaml", "include: [./b.yaml]\n" },
	{ "/srv/skills/weather/b.yaml", "include: [./a.yaml]\n" },
	{ "/srv/skills/weather/self.yaml", "include: [./self.yaml]\n" },
	{ "/srv/skills/weather/me.yaml", "include: [./skillbox.yaml]\n" },
	{ "/srv/skills/weather/skillbox.yaml", HEAD },
	{ "/srv/skills/weather/deny.yaml", "syscalls:\n  deny: [mount, ptrace]\n" },
	{ "/srv/skills/weather/hide.yaml", "filesystem:\n  hide: [/usr/lib/ssh]\n" },
	{ "/srv/skills/weather/version.yaml", "skillbox: 2\nfilesystem: {read: [x]}\n" },
};

static void use_profiles(void)
{
	files = profile_files;
	n_files = ELEMENTSOF(profile_files);
}

static const struct manifest_mount *find_read(const struct manifest *m, const char *inside)
{
	for (size_t i = 0; i < m->fs.n_read; i++)
		if (streq(m->fs.read[i].inside, inside))
			return &m->fs.read[i];
	return NULL;
}

static void test_profiles(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	const struct manifest_mount *r;

	use_profiles();
	m = parse_ok("profiles", HEAD "include: [python3]\n"
				      "filesystem:\n"
				      "  read: [\".:/skill\"]\n"
				      "limits: {processes: 128}\n");
	if (!m)
		return;
	is_int(m->fs.n_read, 5, "profiles: reads of both files and the manifest's");
	is_str(m->fs.read[0].inside, "/usr", "profiles: the innermost file's entries first");
	is_str(m->fs.read[3].inside, "/etc/python3.11", "profiles: then the profile's own");
	is_str(m->fs.read[4].inside, "/skill", "profiles: the manifest's last");
	r = find_read(m, "/lib64");
	ok(r && r->optional, "profiles: optional: true kept");
	ok(r && !find_read(m, "/usr")->optional, "profiles: not optional by default");
	is_str(r ? r->loc.file : NULL, PROFILES "system.yaml", "profiles: origin file");
	is_int(r ? r->loc.line : 0, 7, "profiles: origin line");
	is_int(r ? r->loc.column : 0, 7, "profiles: origin column");
	is_str(m->fs.read[4].loc.file, "skills/weather/skillbox.yaml",
	       "profiles: the manifest's entries carry its path");
	is_int(m->limits.processes, 64, "profiles: limits take the smaller value");
	is_str(m->limits.processes_loc.file, PROFILES "system.yaml",
	       "profiles: ... and its origin");
	is_int(m->limits.timeout_usec, 60 * 1000000ULL, "profiles: a limit only a profile sets");
	is_str(m->workdir, "/skill", "profiles: a scalar only an included file sets");
	ok(m->command && streq(m->command[0], "python3"), "profiles: command from a profile");
	is_str(m->command_loc.file, PROFILES "python3.yaml", "profiles: ... with its origin");
	is_int(m->env.n_set, 3, "profiles: env.set of both profiles");
	is_int(m->syscalls.n_deny, 1, "profiles: syscalls.deny from a profile");
	ok(!m->description, "profiles: a profile's description is not the skill's");
	is_str(m->name, "t", "profiles: the name is the manifest's");
	is_int(m->n_files, 3, "profiles: three files");
	is_str(m->files[0].path, "skills/weather/skillbox.yaml", "profiles: files[0] is itself");
	is_str(m->files[1].path, PROFILES "python3.yaml", "profiles: files[1]");
	is_str(m->files[1].profile, "python3", "profiles: files[1] by profile name");
	is_int(m->files[2].depth, 2, "profiles: system is included at depth 2");
	is_str(m->files[2].digest, "d1g357", "profiles: the loader's digest is kept");
}

static void test_includer_wins(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	const struct manifest_mount *r;

	use_profiles();
	m = parse_ok("wins", HEAD "include: [system, strict]\n"
				  "workdir: /w\n"
				  "filesystem:\n"
				  "  read: [\"./certs:/etc/ssl\"]\n"
				  "  write: [\"./out:/usr\"]\n"
				  "env:\n"
				  "  pass: [LANG]\n"
				  "syscalls: {profile: default}\n"
				  "limits: {timeout: 2h}\n");
	if (!m)
		return;
	r = find_read(m, "/etc/ssl");
	is_str(r ? r->host : NULL, "/srv/skills/weather/certs",
	       "wins: a read at the same path replaces the profile's");
	ok(!find_read(m, "/usr"), "wins: a write at the same path replaces the profile's read");
	is_int(m->fs.n_write, 1, "wins: the write is there");
	is_int(m->env.n_pass, 1, "wins: LANG passed");
	is_int(m->env.n_set, 1, "wins: the profile's LANG=... is gone, PAGER stays");
	is_str(m->env.set[0].name, "PAGER", "wins: PAGER");
	is_int(m->syscalls.profile, MANIFEST_PROFILE_DEFAULT, "wins: the manifest's profile");
	is_int(m->net.dns, MANIFEST_DNS_RESOLVER, "wins: dns from the profile that sets it");
	is_int(m->limits.timeout_usec, 60 * 1000000ULL, "wins: but not for limits (stricter)");
	is_str(m->limits.timeout_loc.file, PROFILES "system.yaml", "wins: the timeout's origin");
}

static void test_team_files(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	const struct manifest_mount *r;

	use_profiles();
	m = parse_ok("team", HEAD "include: [../team/base.yaml]\n");
	if (!m)
		return;
	r = find_read(m, "/data");
	is_str(r ? r->host : NULL, "/srv/skills/team/data",
	       "team: relative paths of an included file resolve against its own directory");
	is_int(m->env.n_pass, 1, "team: two levels down");
	is_int(m->limits.output, 1024 * 1024, "team: output from the deepest file");
	is_int(m->limits.memory, 64 * 1024 * 1024, "team: memory");
	ok(m->audit.budget_bytes == 8ULL << 20 && !m->audit.overflow_count,
	   "team: audit budget and overflow from the deepest file");
	m = manifest_free(m);
	m = parse_ok("team-budget",
		     HEAD "include: [../team/base.yaml]\n"
			  "audit: {budget: {bytes: 32M, keys: 100}, overflow: count}\n");
	if (!m)
		return;
	ok(m->audit.budget_bytes == 8ULL << 20 && m->audit.budget_keys == 100 &&
		   !m->audit.overflow_count &&
		   streq(m->audit.overflow_loc.file, "/srv/skills/shared/common.yaml"),
	   "team: the smaller budget wins, and an included 'overflow: stop' over 'count'");
	is_str(m->files[2].path, "/srv/skills/shared/common.yaml", "team: ../ resolved");
	ok(!m->files[1].profile, "team: included by path");
}

static void test_diamond(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;

	use_profiles();
	n_loads = 0;
	m = parse_ok("diamond", HEAD "include: [python3, node]\n");
	if (!m)
		return;
	is_int(m->n_files, 4, "diamond: system is taken once");
	ok(find_read(m, "/usr/share/nodejs") && find_read(m, "/usr"), "diamond: both branches");
	is_int(m->env.n_set, 3, "diamond: no duplicate variables");
}

static void test_later_wins(void)
{
	static const struct file f[] = {
		{ "/srv/skills/weather/one.yaml",
		  "workdir: /one\nfilesystem: {read: [\"/a:/x\"]}\n" },
		{ "/srv/skills/weather/two.yaml",
		  "workdir: /two\nfilesystem: {read: [\"/b:/x\"]}\n" },
	};
	_cleanup_manifest_free_ struct manifest *m = NULL;

	files = f;
	n_files = ELEMENTSOF(f);
	m = parse_ok("later", HEAD "include: [./one.yaml, ./two.yaml]\n");
	if (!m)
		return;
	is_str(m->workdir, "/two", "later: a later include's scalar wins");
	is_int(m->fs.n_read, 1, "later: one mount at /x");
	is_str(m->fs.read[0].host, "/b", "later: the later include's");
}

static void test_errors(void)
{
	struct manifest_diags d = {};
	_cleanup_manifest_free_ struct manifest *m = NULL;

	use_profiles();
	expect_problem("unknown profile", HEAD "include: [system, pyhton3]\n",
		       "skills/weather/skillbox.yaml", 3, 19,
		       "include profile 'pyhton3': no such profile");
	expect_problem("missing file", HEAD "include:\n  - ./nope.yaml\n",
		       "skills/weather/skillbox.yaml", 4, 5,
		       "include '/srv/skills/weather/nope.yaml': no such file");
	expect_problem("a file name is not a profile", HEAD "include: [team.yaml]\n",
		       "skills/weather/skillbox.yaml", 3, 11,
		       "(a file in this directory is written "
		       "./NAME)");
	expect_problem("twice", HEAD "include: [system, system]\n", "skills/weather/skillbox.yaml",
		       3, 19, "'system' is already included (at line 3)");
	expect_problem("cycle", HEAD "include: [./a.yaml]\n", "/srv/skills/weather/b.yaml", 1, 11,
		       "'/srv/skills/weather/a.yaml' includes itself (an include cycle)");
	expect_problem("itself", HEAD "include: [./self.yaml]\n", "/srv/skills/weather/self.yaml",
		       1, 11, "includes itself");
	expect_problem("version in an included file", HEAD "include: [./version.yaml]\n",
		       "/srv/skills/weather/version.yaml", 1, 11, "unsupported schema version 2");
	expect_problem("name checked in an included file", HEAD "include: [./name.yaml]\n",
		       "/srv/skills/weather/name.yaml", 1, 7, "expected a name of at most 64");
	expect_problem("allowed here, denied there",
		       HEAD "include: [./deny.yaml]\nsyscalls: {allow: [mount]}\n",
		       "skills/weather/skillbox.yaml", 4, 20,
		       "syscall 'mount' is both allowed and denied (first at "
		       "/srv/skills/weather/deny.yaml:2)");
	expect_problem("hide below nothing", HEAD "include: [./hide.yaml]\n",
		       "/srv/skills/weather/hide.yaml", 2, 10,
		       "hide path '/usr/lib/ssh' is not below any read or write path");
	{
		_cleanup_manifest_free_ struct manifest *h = parse_ok(
			"hide below a profile's read", HEAD "include: [system]\n"
							    "filesystem: {hide: [/usr/lib/ssh]}\n");

		ok(h && h->fs.n_hide == 1, "hide below a profile's read: kept");
	}

	/* Problems in several files: each with its own file and position, in file order. */
	m = parse(HEAD "include: [./bad.yaml, nosuch]\nlimits: {cpu: fast}\n", &d);
	ok(!m, "several files: refused");
	is_int(d.n, 4, "several files: every problem");
	if (d.n == 4) {
		is_str(d.items[0].file, "skills/weather/skillbox.yaml", "several: 1st file");
		is_int(d.items[0].loc.line, 3, "several: 1st is the include of a missing profile");
		is_int(d.items[0].loc.column, 23, "several: ... at its column");
		is_int(d.items[1].loc.line, 4, "several: 2nd, the manifest's cpu");
		is_str(d.items[2].file, "/srv/skills/weather/bad.yaml", "several: 3rd file");
		is_int(d.items[2].loc.line, 2, "several: 3rd line");
		is_int(d.items[2].loc.column, 28, "several: 3rd column: the inside path 'b'");
		is_str(d.items[2].message, "path 'b' must be absolute", "several: 3rd message");
		is_int(d.items[3].loc.line, 3, "several: 4th: memory");
		ok(d.items[3].loc.file == d.items[3].file, "several: loc.file is the diag's own");
	}
	for (size_t i = 0; i < d.n; i++)
		diag("%s:%u:%u: %s", d.items[i].file, d.items[i].loc.line, d.items[i].loc.column,
		     d.items[i].message);
	manifest_diags_done(&d);
}

static void test_depth(void)
{
	static char texts[12][64];
	static struct file chain[12];
	_cleanup_manifest_free_ struct manifest *m = NULL;

	for (int i = 0; i < 12; i++) {
		static char refs[12][64];

		snprintf(refs[i], sizeof(refs[i]), "/srv/skills/weather/c%d.yaml", i);
		snprintf(texts[i], sizeof(texts[i]), "include: [./c%d.yaml]\n", i + 1);
		chain[i] = (struct file){ refs[i], texts[i] };
	}
	snprintf(texts[8], sizeof(texts[8]), "limits: {processes: 9}\n");
	files = chain;
	n_files = ELEMENTSOF(chain);
	m = parse_ok("depth 9 files", HEAD "include: [./c1.yaml]\n");
	is_int(m ? m->limits.processes : 0, 9, "depth: 8 levels below the manifest work");
	snprintf(texts[8], sizeof(texts[8]), "include: [./c9.yaml]\n");
	expect_problem("depth 10", HEAD "include: [./c1.yaml]\n", "/srv/skills/weather/c8.yaml", 1,
		       11, "includes are nested deeper than 8 levels");
}

static void test_no_loader(void)
{
	static const struct manifest_parse_opts plain = { .path = "x.yaml", .dir = "/srv" };
	struct manifest_diags d = {};
	struct manifest *m = NULL;
	const char *yaml = HEAD "include: [system]\n";

	is_int(manifest_parse(yaml, strlen(yaml), &plain, &m, &d), -EINVAL,
	       "no loader: include refused");
	ok(d.n == 1 && strstr(d.items[0].message, "not possible here"), "no loader: message");
	manifest_diags_done(&d);
}

static void test_new_keys(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;

	files = NULL;
	n_files = 0;
	m = parse_ok("new keys", HEAD "command: python3 -c print(1)\n"
				      "filesystem:\n"
				      "  write: [{host: ./out, optional: true}]\n"
				      "env:\n"
				      "  secrets:\n"
				      "    - {name: A, from_env: B, optional: true}\n"
				      "    - {name: C, from_file: ./c}\n");
	if (!m)
		return;
	ok(m->command_is_string, "new keys: a one-string command is flagged");
	ok(m->fs.write[0].optional, "new keys: optional write");
	ok(m->env.secrets[0].optional && !m->env.secrets[1].optional, "new keys: optional secret");
	is_int(m->n_files, 1, "new keys: one file");
	expect_problem("optional is a boolean",
		       HEAD "env:\n  secrets: [{name: A, from_env: B, "
			    "optional: yes}]\n",
		       "skills/weather/skillbox.yaml", 4, 46, "expected true or false, got 'yes'");
	{
		_cleanup_manifest_free_ struct manifest *n =
			parse_ok("no command", HEAD "workdir: /skill\n");

		ok(n && !n->command, "no command: allowed (given after -- at run time)");
	}
}

static struct manifest *with_grants(const char *name, const char *yaml,
				    const struct manifest_grants *g, struct manifest_diags *d)
{
	struct manifest *m;
	int r;

	files = profile_files;
	n_files = ELEMENTSOF(profile_files);
	m = parse_ok(name, yaml);
	if (!m)
		return NULL;
	r = manifest_add_grants(m, g, d);
	if (r < 0)
		m = manifest_free(m);
	return m;
}

static void test_grants(void)
{
	char *read[] = { "./input.pdf", "/etc/hosts:/data/hosts", NULL };
	char *write[] = { "./out", "../results", NULL };
	char *env[] = { "TZ", NULL };
	char *secret[] = { "API_KEY=WEATHER_KEY", "TOKEN", NULL };
	char *allow[] = { "api.example.com:443", "host-loopback:8080", "[2001:db8::1]:53/udp",
			  "10.0.0.0/8:5432/tcp", "192.0.2.1:1",	       NULL };
	const struct manifest_grants g = { read,	  write,	env,
					   secret,	  allow,	"/home/alice/work",
					   "/home/alice", "/home/skill" };
	struct manifest_diags d = {};
	_cleanup_manifest_free_ struct manifest *m = NULL;
	const struct manifest_mount *r;

	m = with_grants("grants",
			HEAD "include: [system]\n"
			     "workdir: /work\n"
			     "filesystem:\n"
			     "  read: [\".:/work\", \"/srv/out:/work/out\"]\n"
			     "env: {set: {TZ: UTC}}\n",
			&g, &d);
	is_int(d.n, 0, "grants: no problem");
	if (!m)
		return;
	r = find_read(m, "/work/input.pdf");
	is_str(r ? r->host : NULL, "/home/alice/work/input.pdf",
	       "grants: a relative SRC from the caller's directory, below the workdir inside");
	is_str(r ? r->loc.file : NULL, MANIFEST_COMMAND_LINE, "grants: origin command line");
	is_int(r ? r->loc.line : 1, 0, "grants: line 0");
	r = find_read(m, "/data/hosts");
	is_str(r ? r->host : NULL, "/etc/hosts", "grants: SRC:DST");
	ok(!find_read(m, "/work/out"), "grants: --write replaces the manifest's read at that path");
	is_int(m->fs.n_write, 2, "grants: two writes");
	is_str(m->fs.write[0].host, "/home/alice/work/out", "grants: --write ./out host");
	is_str(m->fs.write[0].inside, "/work/out", "grants: --write ./out inside");
	is_str(m->fs.write[1].inside, "/results", "grants: ../results is the workdir's sibling");
	is_int(m->env.n_pass, 1, "grants: --env TZ");
	is_int(m->env.n_set, 2, "grants: ... replaces the manifest's TZ (the profile's stay)");
	is_int(m->env.n_secrets, 2, "grants: two secrets");
	is_str(m->env.secrets[0].from_env, "WEATHER_KEY", "grants: NAME=VAR");
	is_str(m->env.secrets[1].from_env, "TOKEN", "grants: NAME from NAME");
	is_int(m->net.n_egress, 5, "grants: five destinations");
	is_int(m->net.egress[0].kind, MANIFEST_DEST_HOSTNAME, "grants: a hostname");
	is_int(m->net.egress[0].ports[0], 443, "grants: its port");
	is_int(m->net.egress[1].kind, MANIFEST_DEST_HOST_LOOPBACK, "grants: host-loopback");
	is_int(m->net.egress[2].proto, MANIFEST_PROTO_UDP, "grants: [v6]:53/udp");
	is_int(m->net.egress[2].cidr.prefix, 128, "grants: ... an address");
	is_int(m->net.egress[3].cidr.prefix, 8, "grants: a network");
	is_str(m->path, "skills/weather/skillbox.yaml", "grants: still the manifest's path");
	is_str(m->name, "t", "grants: and name");
	is_int(m->n_files, 3, "grants: the command line is a file of its own");
	is_str(m->files[2].path, MANIFEST_COMMAND_LINE, "grants: ... the last one");
	is_int(m->limits.processes, 64, "grants: the profile's limits stay");
	manifest_diags_done(&d);
}

static void test_grant_errors(void)
{
	char *read[] = { "relative:in/side", "~bob/x", NULL };
	char *write[] = { "./a:/proc/x", NULL };
	char *env[] = { "1X", "TZ", "TZ", NULL };
	char *secret[] = { "A=", "B=C=D", NULL };
	char *allow[] = { "example.com",
			  "example.com:0",
			  "example.com:65536",
			  "10.0.0.1/8:1",
			  "bad host:80",
			  "[::1:80",
			  "::1:80",
			  NULL };
	const struct manifest_grants g = { read,  write, env,		secret,
					   allow, "/w",	 "/home/alice", "/home/skill" };
	const char *want[] = {
		"--read 'relative:in/side': the path inside must be absolute",
		"--read '~bob/x': host path uses '~user'",
		"--write './a:/proc/x': the path inside is reserved",
		"--env '1X': expected a variable name",
		"--env 'TZ': the variable is granted twice",
		"--secret 'A=': expected NAME or NAME=VARIABLE",
		"--secret 'B=C=D': expected NAME or NAME=VARIABLE",
		"--allow 'example.com': expected HOST:PORT",
		"--allow 'example.com:0': expected HOST:PORT",
		"--allow 'example.com:65536': expected HOST:PORT",
		"--allow '10.0.0.1/8:1': the network has host bits set; did you mean 10.0.0.0/8",
		"--allow 'bad host:80': expected a hostname or an IP address",
		"--allow '[::1:80': expected [IPV6-ADDRESS]:PORT",
		"--allow '::1:80': an IPv6 address is written in brackets",
	};
	struct manifest_diags d = {};
	_cleanup_manifest_free_ struct manifest *m = NULL;

	m = with_grants("grant errors", HEAD, &g, &d);
	ok(!m, "grant errors: refused");
	for (size_t i = 0; i < d.n; i++)
		diag("%s", d.items[i].message);
	is_int(d.n, ELEMENTSOF(want), "grant errors: every one reported");
	for (size_t i = 0; i < d.n && i < ELEMENTSOF(want); i++) {
		ok(strstr(d.items[i].message, want[i]), "grant errors: '%s'", d.items[i].message);
		ok(d.items[i].loc.line == 0 && streq(d.items[i].file, MANIFEST_COMMAND_LINE),
		   "grant errors: %zu is the command line's", i);
	}
	manifest_diags_done(&d);

	{
		char *twice[] = { "/a:/x", NULL };
		char *twice_w[] = { "/b:/x", NULL };
		const struct manifest_grants g2 = { .read = twice, .write = twice_w, .cwd = "/" };

		m = with_grants("grant twice", HEAD, &g2, &d);
		ok(!m && d.n == 1 && strstr(d.items[0].message, "two grants place a path at /x"),
		   "grant errors: two grants at one path");
		manifest_diags_done(&d);
	}
	ok(manifest_grants_empty(NULL) && manifest_grants_empty(&(struct manifest_grants){}),
	   "grants: empty");
}

static void test_loc_format(void)
{
	char buf[MANIFEST_LOC_MAX];

	is_str(manifest_loc_format((struct manifest_loc){ 3, 7, "a.yaml" }, "m", true, buf,
				   sizeof(buf)),
	       "a.yaml:3:7", "loc: with columns");
	is_str(manifest_loc_format((struct manifest_loc){ 3, 7, NULL }, "m", false, buf,
				   sizeof(buf)),
	       "m:3", "loc: fallback, no column");
	is_str(manifest_loc_format((struct manifest_loc){ 0, 0, MANIFEST_COMMAND_LINE }, "m", true,
				   buf, sizeof(buf)),
	       "command line", "loc: the command line");
	ok(manifest_profile_name_is_valid("python3") && manifest_profile_name_is_valid("c_c-1") &&
		   !manifest_profile_name_is_valid("a.b") && !manifest_profile_name_is_valid("A") &&
		   !manifest_profile_name_is_valid(""),
	   "profile names");
}

#ifndef HAVE_ASAN
static void sweep(const char *name, const char *yaml, const struct manifest_grants *g, int want)
{
	unsigned n_enomem = 0, n_bad = 0;
	long i;

	for (i = 0;; i++) {
		struct manifest *m = NULL;
		struct manifest_diags d = {};
		long live = n_live, used;
		int r;

		fail_at = i;
		n_allocs = 0;
		r = manifest_parse(yaml, strlen(yaml), &opts, &m, &d);
		if (r == 0 && g)
			r = manifest_add_grants(m, g, &d);
		used = n_allocs;
		fail_at = -1;
		if (r == -ENOMEM)
			n_enomem++;
		else if (r != want) {
			n_bad++;
			diag("%s: allocation %ld failed: returned %d", name, i, r);
		}
		manifest_free(m);
		manifest_diags_done(&d);
		if (n_live != live) {
			n_bad++;
			diag("%s: allocation %ld failed: %ld allocations leaked", name, i,
			     n_live - live);
		}
		if (used <= i)
			break;
	}
	ok(n_enomem > 0 && n_bad == 0, "%s: %ld allocations, each failure gives -ENOMEM cleanly",
	   name, i);
}
#endif

static void test_allocations(void)
{
#ifdef HAVE_ASAN
	ok(true, "# SKIP allocation failure: the sanitizer owns malloc");
#else
	char *read[] = { "./in", NULL };
	char *write[] = { "./out:/usr", NULL };
	char *env[] = { "TZ", NULL };
	char *secret[] = { "K=V", NULL };
	char *allow[] = { "example.com:443", NULL };
	const struct manifest_grants g = { read, write, env, secret, allow, "/w", "/h", "/s" };

	use_profiles();
	sweep("enomem profiles", HEAD "include: [python3, node, strict]\nenv: {pass: [LANG]}\n", &g,
	      0);
	sweep("enomem errors", HEAD "include: [./bad.yaml, ./a.yaml, nosuch]\n", NULL, -EINVAL);
#endif
}

int main(void)
{
	test_profiles();
	test_includer_wins();
	test_team_files();
	test_diamond();
	test_later_wins();
	test_errors();
	test_depth();
	test_no_loader();
	test_new_keys();
	test_grants();
	test_grant_errors();
	test_loc_format();
	test_allocations();
	return tap_done();
}
