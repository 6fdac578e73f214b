/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hostname-util.h"
#include "manifest-internal.h"
#include "manifest.h"
#include "malloc-fail.h"
#include "tap.h"

static const struct manifest_parse_opts opts = {
	.path = "skills/weather/skillbox.yaml",
	.dir = "/srv/skills/weather",
	.home = "/home/alice",
};

/* The three required keys, on lines 1-3, so that a case's own lines start at 4. */
#define HEAD "skillbox: 1\nname: t\ncommand: [x]\n"

static struct manifest *parse_ok(const char *name, const char *yaml)
{
	struct manifest_diags d = {};
	struct manifest *m = NULL;
	int r;

	r = manifest_parse(yaml, strlen(yaml), &opts, &m, &d);
	is_int(r, 0, "%s: parses", name);
	for (size_t i = 0; i < d.n; i++)
		diag("%u:%u: %s", d.items[i].loc.line, d.items[i].loc.column, d.items[i].message);
	manifest_diags_done(&d);
	return m;
}

/* --- valid manifests --- */

static const char full_yaml[] = "skillbox: 1\n"
				"name: weather-lookup\n"
				"version: \"1.0.0\"\n"
				"description: Current weather for a city\n"
				"command: [python3, main.py]\n"
				"workdir: /skill\n"
				"filesystem:\n"
				"  read:  [/usr, /lib, \".:/skill\"]\n"
				"  write: [\"./cache:/skill/cache\"]\n"
				"  tmpfs: [{path: /tmp, size: 64M}, /var/cache]\n"
				"  hide:  [/usr/lib/ssh]\n"
				"network:\n"
				"  egress:\n"
				"    - host: api.example.com\n"
				"      ports: [443]\n"
				"      proto: tcp\n"
				"      optional: false\n"
				"    - cidr: 10.20.0.0/16\n"
				"      ports: [5432]\n"
				"      proto: udp\n"
				"  dns: resolver\n"
				"env:\n"
				"  pass: [LANG, TZ]\n"
				"  set: {PYTHONDONTWRITEBYTECODE: \"1\"}\n"
				"  secrets:\n"
				"    - {name: API_KEY, from_env: WEATHER_KEY}\n"
				"    - {name: DB_PASSWORD, from_file: ~/.config/weather/db}\n"
				"limits:\n"
				"  timeout: 30s\n"
				"  cpu: 10s\n"
				"  memory: 256M\n"
				"  processes: 64\n"
				"  open_files: 256\n"
				"  file_size: 16M\n"
				"  output: 1M\n"
				"syscalls:\n"
				"  profile: strict\n"
				"  allow: [ptrace]\n"
				"  deny: [mount]\n"
				"audit:\n"
				"  trace: [exec, connect]\n"
				"  budget: {bytes: 16M, keys: 5000}\n"
				"  overflow: count\n";

static void test_full(void)
{
	_cleanup_manifest_free_ struct manifest *m = parse_ok("full", full_yaml);

	if (!ok(m, "full: manifest returned"))
		return;
	is_str(m->path, "skills/weather/skillbox.yaml", "full: path");
	is_str(m->dir, "/srv/skills/weather", "full: dir");
	is_int(m->schema, 1, "full: schema");
	is_str(m->name, "weather-lookup", "full: name");
	is_str(m->version, "1.0.0", "full: version");
	is_str(m->description, "Current weather for a city", "full: description");
	ok(m->command && streq(m->command[0], "python3") && streq(m->command[1], "main.py") &&
		   !m->command[2],
	   "full: command");
	is_int(m->command_loc.line, 5, "full: command line");
	is_int(m->command_loc.column, 10, "full: command column");
	is_str(m->workdir, "/skill", "full: workdir");
	is_int(m->workdir_loc.line, 6, "full: workdir line");

	is_int(m->fs.n_read, 3, "full: 3 read mounts");
	is_str(m->fs.read[0].host, "/usr", "full: read[0] host");
	is_str(m->fs.read[0].inside, "/usr", "full: read[0] inside defaults to host");
	is_str(m->fs.read[2].host, "/srv/skills/weather", "full: '.' resolves to the directory");
	is_str(m->fs.read[2].inside, "/skill", "full: read[2] inside");
	is_int(m->fs.read[2].loc.line, 8, "full: read[2] line");
	is_int(m->fs.read[2].loc.column, 23, "full: read[2] column");
	is_int(m->fs.n_write, 1, "full: 1 write mount");
	is_str(m->fs.write[0].host, "/srv/skills/weather/cache", "full: write host");
	is_str(m->fs.write[0].inside, "/skill/cache", "full: write inside");
	is_int(m->fs.n_tmpfs, 2, "full: 2 tmpfs");
	is_str(m->fs.tmpfs[0].path, "/tmp", "full: tmpfs[0] path");
	is_int(m->fs.tmpfs[0].size, 64 << 20, "full: tmpfs[0] size");
	is_str(m->fs.tmpfs[1].path, "/var/cache", "full: tmpfs[1] as a plain path");
	is_int(m->fs.tmpfs[1].size, 0, "full: tmpfs[1] size unset");
	is_int(m->fs.n_hide, 1, "full: 1 hide");
	is_str(m->fs.hide[0].path, "/usr/lib/ssh", "full: hide path");

	is_int(m->net.n_egress, 2, "full: 2 egress rules");
	is_int(m->net.egress[0].kind, MANIFEST_DEST_HOSTNAME, "full: egress[0] hostname");
	is_str(m->net.egress[0].host, "api.example.com", "full: egress[0] host");
	is_int(m->net.egress[0].n_ports, 1, "full: egress[0] one port");
	is_int(m->net.egress[0].ports[0], 443, "full: egress[0] port 443");
	is_int(m->net.egress[0].proto, MANIFEST_PROTO_TCP, "full: egress[0] tcp");
	ok(!m->net.egress[0].optional, "full: egress[0] not optional");
	is_int(m->net.egress[0].loc.line, 14, "full: egress[0] line");
	is_int(m->net.egress[0].loc.column, 7, "full: egress[0] column");
	is_int(m->net.egress[1].kind, MANIFEST_DEST_ADDRESS, "full: egress[1] address");
	is_str(m->net.egress[1].host, "10.20.0.0/16", "full: egress[1] keeps the cidr text");
	is_int(m->net.egress[1].cidr.family, AF_INET, "full: egress[1] IPv4");
	is_int(m->net.egress[1].cidr.prefix, 16, "full: egress[1] prefix");
	ok(memcmp(m->net.egress[1].cidr.addr, "\x0a\x14\x00\x00", 4) == 0, "full: egress[1] bytes");
	is_int(m->net.egress[1].proto, MANIFEST_PROTO_UDP, "full: egress[1] udp");
	is_int(m->net.dns, MANIFEST_DNS_RESOLVER, "full: dns resolver");
	is_int(m->net.dns_loc.line, 21, "full: dns line");

	is_int(m->env.n_pass, 2, "full: 2 passed variables");
	is_str(m->env.pass[1].name, "TZ", "full: pass[1]");
	is_int(m->env.n_set, 1, "full: 1 set variable");
	is_str(m->env.set[0].name, "PYTHONDONTWRITEBYTECODE", "full: set name");
	is_str(m->env.set[0].value, "1", "full: set value");
	is_int(m->env.n_secrets, 2, "full: 2 secrets");
	is_str(m->env.secrets[0].name, "API_KEY", "full: secret[0] name");
	is_str(m->env.secrets[0].from_env, "WEATHER_KEY", "full: secret[0] from_env");
	ok(!m->env.secrets[0].from_file, "full: secret[0] no from_file");
	is_str(m->env.secrets[1].from_file, "/home/alice/.config/weather/db",
	       "full: secret[1] from_file expands ~");
	ok(!m->env.secrets[1].from_env, "full: secret[1] no from_env");

	is_int(m->limits.timeout_usec, 30000000, "full: timeout");
	is_int(m->limits.timeout_loc.line, 29, "full: timeout line");
	is_int(m->limits.timeout_loc.column, 12, "full: timeout column");
	is_int(m->limits.cpu_usec, 10000000, "full: cpu");
	is_int(m->limits.memory, 256 << 20, "full: memory");
	is_int(m->limits.processes, 64, "full: processes");
	is_int(m->limits.open_files, 256, "full: open_files");
	is_int(m->limits.file_size, 16 << 20, "full: file_size");
	is_int(m->limits.output, 1 << 20, "full: output");
	is_int(m->limits.output_loc.line, 35, "full: output line");

	is_int(m->syscalls.profile, MANIFEST_PROFILE_STRICT, "full: profile strict");
	is_int(m->syscalls.n_allow, 1, "full: 1 allowed syscall");
	is_str(m->syscalls.allow[0].name, "ptrace", "full: allow name");
	is_int(m->syscalls.allow[0].nr, seccomp_syscall_resolve_name("ptrace"), "full: allow nr");
	is_int(m->syscalls.n_deny, 1, "full: 1 denied syscall");
	is_int(m->syscalls.deny[0].nr, seccomp_syscall_resolve_name("mount"), "full: deny nr");
	is_int(m->audit.trace, MANIFEST_TRACE_EXEC | MANIFEST_TRACE_CONNECT, "full: trace bits");
	ok(m->audit.budget_bytes == 16ULL << 20 && m->audit.budget_keys == 5000 &&
		   m->audit.overflow_count,
	   "full: audit budget 16M, 5000 keys, overflow count");
	ok(m->audit.budget_loc.line > 0 && m->audit.overflow_loc.line > 0,
	   "full: audit budget and overflow have their lines");
}

static void test_defaults(void)
{
	_cleanup_manifest_free_ struct manifest *m =
		parse_ok("defaults", "skillbox: 1\nname: a\ncommand: [x]\n");

	if (!ok(m, "defaults: manifest returned"))
		return;
	ok(!m->version && !m->description && !m->workdir, "defaults: optional strings NULL");
	is_int(m->workdir_loc.line, 0, "defaults: no workdir line");
	ok(!m->fs.n_read && !m->fs.n_write && !m->fs.n_tmpfs && !m->fs.n_hide,
	   "defaults: no mounts");
	ok(!m->net.n_egress, "defaults: no egress");
	is_int(m->net.dns, MANIFEST_DNS_PINNED, "defaults: dns pinned");
	ok(!m->env.n_pass && !m->env.n_set && !m->env.n_secrets, "defaults: no env");
	ok(m->limits.timeout_usec == MANIFEST_UNSET && m->limits.cpu_usec == MANIFEST_UNSET &&
		   m->limits.memory == MANIFEST_UNSET && m->limits.processes == MANIFEST_UNSET &&
		   m->limits.open_files == MANIFEST_UNSET &&
		   m->limits.file_size == MANIFEST_UNSET && m->limits.output == MANIFEST_UNSET,
	   "defaults: every limit unset");
	is_int(m->limits.memory_loc.line, 0, "defaults: unset limit has line 0");
	is_int(m->syscalls.profile, MANIFEST_PROFILE_DEFAULT, "defaults: profile default");
	is_int(m->audit.trace, 0, "defaults: no trace");
	ok(m->audit.budget_bytes == MANIFEST_UNSET && m->audit.budget_keys == MANIFEST_UNSET &&
		   !m->audit.overflow_count && m->audit.budget_loc.line == 0,
	   "defaults: audit budget unset (the launcher's default), overflow stops");
}

static void test_command_string(void)
{
	_cleanup_manifest_free_ struct manifest *m =
		parse_ok("command string", "skillbox: 1\nname: a\ncommand: python3 main.py --x\n");

	if (!ok(m, "command string: manifest returned"))
		return;
	is_str(m->command[0], "python3 main.py --x", "command string: one argument, not split");
	ok(!m->command[1], "command string: only one element");
}

static void test_paths(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;

	m = parse_ok("paths", HEAD "filesystem:\n"
				   "  read:\n"
				   "    - \"~\"\n"
				   "    - \"~/data:/data\"\n"
				   "    - ../shared/./lib//x/\n"
				   "    - {host: ./in, inside: /in}\n"
				   "    - {host: /opt/tool}\n"
				   "    - \"/srv/a:/b:c\"\n"
				   "  write:\n"
				   "    - out:/skill/out\n");
	if (!ok(m, "paths: manifest returned"))
		return;
	is_str(m->fs.read[0].host, "/home/alice", "paths: '~' is the home directory");
	is_str(m->fs.read[0].inside, "/home/alice", "paths: '~' inside defaults to it");
	is_str(m->fs.read[1].host, "/home/alice/data", "paths: '~/data' expanded");
	is_str(m->fs.read[1].inside, "/data", "paths: '~/data' inside");
	is_str(m->fs.read[2].host, "/srv/skills/shared/lib/x", "paths: relative host normalized");
	is_str(m->fs.read[2].inside, "/srv/skills/shared/lib/x", "paths: inside = resolved host");
	is_str(m->fs.read[3].host, "/srv/skills/weather/in", "paths: mapping host");
	is_str(m->fs.read[3].inside, "/in", "paths: mapping inside");
	is_str(m->fs.read[4].inside, "/opt/tool", "paths: mapping without inside");
	is_str(m->fs.read[5].host, "/srv/a", "paths: split at the first ':' (host)");
	is_str(m->fs.read[5].inside, "/b:c", "paths: split at the first ':' (inside)");
	is_str(m->fs.write[0].host, "/srv/skills/weather/out", "paths: write relative host");
}

static void test_ports_and_cidrs(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct manifest_egress *e;

	m = parse_ok("egress",
		     HEAD "network:\n"
			  "  egress:\n"
			  "    - {host: db.internal, ports: [443, 80, 443, 8080, 80, 1, 65535],"
			  " optional: true}\n"
			  "    - {host: 2001:db8::1, ports: [53], proto: udp}\n"
			  "    - {host: 192.0.2.7, ports: [22]}\n"
			  "    - {host: host-loopback, ports: [8000]}\n"
			  "    - {cidr: \"2001:db8::/32\", ports: [443]}\n"
			  "    - {cidr: 192.0.2.1, ports: [443]}\n"
			  "    - {cidr: 0.0.0.0/0, ports: [443]}\n");
	if (!ok(m, "egress: manifest returned") || !ok(m->net.n_egress == 7, "egress: 7 rules"))
		return;
	e = m->net.egress;
	is_int(e[0].n_ports, 5, "egress: duplicate ports collapsed");
	ok(e[0].ports[0] == 1 && e[0].ports[1] == 80 && e[0].ports[2] == 443 &&
		   e[0].ports[3] == 8080 && e[0].ports[4] == 65535,
	   "egress: ports sorted");
	ok(e[0].optional, "egress: optional true");
	is_int(e[1].kind, MANIFEST_DEST_ADDRESS, "egress: IPv6 literal host is an address");
	is_int(e[1].cidr.family, AF_INET6, "egress: IPv6 family");
	is_int(e[1].cidr.prefix, 128, "egress: IPv6 literal has the full prefix");
	ok(memcmp(e[1].cidr.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16) == 0,
	   "egress: IPv6 bytes");
	is_int(e[1].proto, MANIFEST_PROTO_UDP, "egress: udp");
	is_int(e[2].kind, MANIFEST_DEST_ADDRESS, "egress: IPv4 literal host");
	is_int(e[2].cidr.prefix, 32, "egress: IPv4 literal prefix 32");
	ok(memcmp(e[2].cidr.addr, "\xc0\x00\x02\x07", 4) == 0, "egress: IPv4 bytes");
	is_int(e[3].kind, MANIFEST_DEST_HOST_LOOPBACK, "egress: host-loopback");
	is_str(e[3].host, "host-loopback", "egress: host-loopback text");
	is_int(e[4].cidr.family, AF_INET6, "egress: IPv6 cidr");
	is_int(e[4].cidr.prefix, 32, "egress: IPv6 cidr prefix");
	is_str(e[4].host, "2001:db8::/32", "egress: cidr text kept");
	is_int(e[5].cidr.prefix, 32, "egress: bare address cidr has the full prefix");
	is_int(e[6].cidr.prefix, 0, "egress: /0 accepted");
}

static void test_values(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;

	m = parse_ok("values", "%YAML 1.1\n"
			       "---\n"
			       "# comment\n"
			       "skillbox: !!int 1\n"
			       "name: &n a.b_c-9\n"
			       "command: [!!str x]\n"
			       "filesystem: ~\n"
			       "network: {egress: null, dns: pinned}\n"
			       "env:\n"
			       "  pass:\n"
			       "  set: {A: 1, B: true, C: ~, D: , E: 'x y', F: \"a\\tb\"}\n"
			       "limits: {timeout: 500ms, cpu: 2m, memory: 1073741824, output: 1G,"
			       " file_size: 0, processes: 1, open_files: 1048576}\n"
			       "syscalls: {allow: [read, read, write], deny: []}\n"
			       "audit: {trace: [files, files]}\n"
			       "...\n");
	if (!ok(m, "values: manifest returned"))
		return;
	is_str(m->name, "a.b_c-9", "values: anchors without aliases are fine");
	is_int(m->env.n_set, 6, "values: 6 set variables");
	is_str(m->env.set[0].value, "1", "values: a number's text");
	is_str(m->env.set[1].value, "true", "values: a boolean's text");
	is_str(m->env.set[2].value, "~", "values: '~' as text");
	is_str(m->env.set[3].value, "", "values: an empty value");
	is_str(m->env.set[4].value, "x y", "values: single-quoted");
	is_str(m->env.set[5].value, "a\tb", "values: escapes");
	is_int(m->limits.timeout_usec, 500000, "values: 500ms");
	is_int(m->limits.cpu_usec, 120000000, "values: 2m");
	is_int(m->limits.memory, 1 << 30, "values: plain bytes");
	is_int(m->limits.output, 1 << 30, "values: 1G");
	is_int(m->limits.file_size, 0, "values: file_size 0 is a real limit");
	is_int(m->limits.file_size_loc.line, 12, "values: file_size line");
	is_int(m->limits.open_files, 1048576, "values: open_files maximum");
	is_int(m->syscalls.n_allow, 2, "values: repeated syscall collapsed");
	is_int(m->audit.trace, MANIFEST_TRACE_FILES, "values: trace files");
}

static void test_hide_and_home(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct manifest_diags d = {};
	const char *yaml = HEAD "filesystem:\n"
				"  hide: [/skill/data/keys, /usr/lib/ssh]\n"
				"  write: [\"./data:/skill/data\"]\n"
				"  read: [/usr]\n";
	struct manifest_parse_opts no_home = opts;
	int r;

	m = parse_ok("hide", yaml);
	ok(m && m->fs.n_hide == 2, "hide: below write and read paths, declared before them");
	m = manifest_free(m);

	no_home.home = NULL;
	r = manifest_parse(yaml, strlen(yaml), &no_home, &m, &d);
	is_int(r, 0, "home: not needed without '~'");
	m = manifest_free(m);
	manifest_diags_done(&d);

	yaml = HEAD "filesystem: {read: [\"~/x\"]}\n";
	r = manifest_parse(yaml, strlen(yaml), &no_home, &m, &d);
	is_int(r, -EINVAL, "home: '~' without a home is refused");
	ok(d.n == 1 && d.items[0].loc.line == 4 && d.items[0].loc.column == 21, "home: position");
	is_str(d.n ? d.items[0].message : NULL,
	       "host path '~/x' starts with '~' but the home directory is not known",
	       "home: message");
	manifest_diags_done(&d);
}

/* --- invalid manifests: every problem with its position and message --- */

struct expect {
	unsigned line, column;
	const char *message;
};

struct bad_case {
	const char *name;
	const char *yaml;
	struct expect diags[8];
};

static const struct bad_case bad_cases[] = {
	{ "unknown key",
	  HEAD "nmae: x\n",
	  { { 4, 1,
	      "unknown key 'nmae' (expected one of: skillbox, name, version, description, "
	      "command, workdir, filesystem, network, env, limits, syscalls, audit, include)" } } },
	{ "unknown nested key",
	  HEAD "filesystem: {reed: [/usr]}\n",
	  { { 4, 14, "unknown key 'reed' (expected one of: read, write, tmpfs, hide)" } } },
	{ "unknown egress key",
	  HEAD "network:\n  egress:\n    - {host: a.b, ports: [1], port: 2}\n",
	  { { 6, 31,
	      "unknown key 'port' (expected one of: host, cidr, ports, proto, optional)" } } },
	{ "duplicate key",
	  "skillbox: 1\nname: t\ncommand: [x]\nname: u\n",
	  { { 4, 1, "duplicate key 'name' (first at line 2)" } } },
	{ "duplicate nested key",
	  HEAD "limits:\n  cpu: 1s\n  cpu: 2s\n",
	  { { 6, 3, "duplicate key 'cpu' (first at line 5)" } } },
	{ "root is a list", "- skillbox: 1\n", { { 1, 1, "expected a mapping, got a list" } } },
	{ "root is a string", "skillbox\n", { { 1, 1, "expected a mapping, got 'skillbox'" } } },
	{ "filesystem is a list",
	  HEAD "filesystem: [/usr]\n",
	  { { 4, 13, "expected a mapping, got a list" } } },
	{ "read is a string",
	  HEAD "filesystem:\n  read: /usr\n",
	  { { 5, 9, "expected a list of paths, got '/usr'" } } },
	{ "read item is a list",
	  HEAD "filesystem:\n  read: [[/usr]]\n",
	  { { 5, 10,
	      "expected a path (\"host[:inside]\") or a mapping with host and inside, got a "
	      "list" } } },
	{ "egress item is a string",
	  HEAD "network: {egress: [api.example.com]}\n",
	  { { 4, 20, "expected a mapping, got 'api.example.com'" } } },
	{ "env set is a list",
	  HEAD "env: {set: [A]}\n",
	  { { 4, 12, "expected a mapping of variable names to values, got a list" } } },
	{ "string field is a mapping",
	  HEAD "description: {a: b}\n",
	  { { 4, 14, "expected a string, got a mapping" } } },
	{ "string field is null",
	  HEAD "version: ~\n",
	  { { 4, 10, "expected a string, got null" } } },
	{ "empty file",
	  "",
	  { { 1, 1, "missing required key 'skillbox'" },
	    { 1, 1, "missing required key 'name'" } } },
	{ "missing name",
	  "# a comment\nskillbox: 1\ncommand: x\n",
	  { { 1, 1, "missing required key 'name'" } } },
	{ "missing ports and destination",
	  HEAD "network:\n  egress:\n    - proto: tcp\n",
	  { { 6, 7, "missing required key 'host' or 'cidr'" },
	    { 6, 7, "missing required key 'ports'" } } },
	{ "missing secret name",
	  HEAD "env: {secrets: [{from_env: X}]}\n",
	  { { 4, 17, "missing required key 'name'" } } },
	{ "missing tmpfs path",
	  HEAD "filesystem: {tmpfs: [{size: 1M}]}\n",
	  { { 4, 22, "missing required key 'path'" } } },
	{ "missing mount host",
	  HEAD "filesystem: {read: [{inside: /x}]}\n",
	  { { 4, 21, "missing required key 'host'" } } },
	{ "schema version 2",
	  "skillbox: 2\nname: Bad\nbogus: 1\n",
	  { { 1, 11, "unsupported schema version 2 (this skillbox supports 1)" } } },
	{ "schema version quoted",
	  "skillbox: \"1\"\nname: t\ncommand: x\n",
	  { { 1, 11,
	      "expected the schema version as a whole number, got the quoted string '1'" } } },
	{ "schema version float",
	  "skillbox: 1.0\nname: t\ncommand: x\n",
	  { { 1, 11, "expected the schema version as a whole number, got '1.0'" } } },
	{ "bad name",
	  "skillbox: 1\nname: Weather\ncommand: x\n",
	  { { 2, 7,
	      "expected a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
	      "starting with a letter or digit, got 'Weather'" } } },
	{ "name too long",
	  "skillbox: 1\nname: "
	  "a12345678901234567890123456789012345678901234567890123456789012345\ncommand: x\n",
	  { { 2, 7,
	      "expected a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
	      "starting with a letter or digit, got "
	      "'a123456789012345678901234567890123456789012345678901234567890123...'" } } },
	{ "name starts with a dash",
	  "skillbox: 1\nname: -x\ncommand: x\n",
	  { { 2, 7,
	      "expected a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
	      "starting with a letter or digit, got '-x'" } } },
	{ "empty command list",
	  "skillbox: 1\nname: t\ncommand: []\n",
	  { { 3, 10, "expected a command with at least one element" } } },
	{ "empty command element",
	  "skillbox: 1\nname: t\ncommand: [x, \"\"]\n",
	  { { 3, 14, "expected a non-empty string, got the quoted string ''" } } },
	{ "NUL in a value",
	  HEAD "version: \"1\\0\"\n",
	  { { 4, 10, "expected a string, got a string with a NUL byte" } } },
	{ "workdir relative",
	  HEAD "workdir: skill\n",
	  { { 4, 10, "path 'skill' must be absolute" } } },
	{ "non-normalized inside paths",
	  HEAD
	  "workdir: /skill/\nfilesystem:\n  read: [\"/usr:/a/../b\", \"/x:/a//b\", \"/y:/a/.\"]\n",
	  { { 4, 10,
	      "path '/skill/' must be normalized (no '.', '..' or empty components, no trailing "
	      "'/')" },
	    { 6, 10,
	      "path '/a/../b' must be normalized (no '.', '..' or empty components, no trailing "
	      "'/')" },
	    { 6, 26,
	      "path '/a//b' must be normalized (no '.', '..' or empty components, no trailing "
	      "'/')" },
	    { 6, 38,
	      "path '/a/.' must be normalized (no '.', '..' or empty components, no trailing "
	      "'/')" } } },
	{ "reserved paths",
	  HEAD "filesystem:\n  read: [/dev, \"/x:/proc/self\"]\n  tmpfs: [/dev/shm]\n"
	       "  hide: [/proc]\n",
	  { { 5, 10, "path '/dev' is reserved (skillbox sets up /proc and /dev itself)" },
	    { 5, 16, "path '/proc/self' is reserved (skillbox sets up /proc and /dev itself)" },
	    { 6, 11, "path '/dev/shm' is reserved (skillbox sets up /proc and /dev itself)" },
	    { 7, 10, "path '/proc' is reserved (skillbox sets up /proc and /dev itself)" } } },
	{ "not reserved: /devices",
	  HEAD "filesystem: {read: [/devices], tmpfs: [/dev]}\n",
	  { { 4, 40, "path '/dev' is reserved (skillbox sets up /proc and /dev itself)" } } },
	{ "bad host paths",
	  HEAD "filesystem:\n  read: [\"~bob/x\", \":/x\"]\n  write: [{host: \"\", inside: /w}]\n",
	  { { 5, 10,
	      "host path '~bob/x' uses '~user', which is not supported (use an absolute path)" },
	    { 5, 20, "host path '' is empty" },
	    { 6, 18, "host path '' is empty" } } },
	{ "empty inside part",
	  HEAD "filesystem: {read: [\"/x:\"]}\n",
	  { { 4, 21, "path '' must be absolute" } } },
	{ "duplicate mount targets",
	  HEAD "filesystem:\n  read: [/usr, \"./lib:/lib\"]\n  write: [\"/usr/:/usr\"]\n"
	       "  tmpfs: [/lib]\n",
	  { { 6, 11, "duplicate mount target '/usr' (first at line 5)" },
	    { 7, 11, "duplicate mount target '/lib' (first at line 5)" } } },
	{ "hide outside",
	  HEAD "filesystem:\n  read: [/usr]\n  tmpfs: [/tmp]\n  hide: [/usr, /usrx/y, /tmp/x, "
	       "/usr/lib/ssh]\n",
	  { { 7, 10, "hide path '/usr' is not below any read or write path" },
	    { 7, 16, "hide path '/usrx/y' is not below any read or write path" },
	    { 7, 25, "hide path '/tmp/x' is not below any read or write path" } } },
	{ "bad durations",
	  HEAD "limits:\n  timeout: 30\n  cpu: 99999999999999999999h\n",
	  { { 5, 12, "expected a duration such as 500ms, 30s, 2m or 1h, got '30'" },
	    { 6, 8, "duration '99999999999999999999h' is too large" } } },
	{ "duration overflow in the multiplication",
	  HEAD "limits: {timeout: 9999999999999h, cpu: 1d}\n",
	  { { 4, 19, "duration '9999999999999h' is too large" },
	    { 4, 40, "expected a duration such as 500ms, 30s, 2m or 1h, got '1d'" } } },
	{ "zero limits",
	  HEAD "limits: {timeout: 0s, cpu: 0ms, memory: 0, output: 0K}\n",
	  { { 4, 19, "timeout must be greater than zero" },
	    { 4, 28, "cpu must be greater than zero" },
	    { 4, 41, "memory must be greater than zero" },
	    { 4, 52, "output must be greater than zero" } } },
	{ "bad sizes",
	  HEAD "limits: {memory: 1Q, file_size: 99999999999T, output: -1}\n",
	  { { 4, 18, "expected a size such as 512K, 64M, 1G or a number of bytes, got '1Q'" },
	    { 4, 33, "size '99999999999T' is too large" },
	    { 4, 55, "expected a size such as 512K, 64M, 1G or a number of bytes, got '-1'" } } },
	{ "bad tmpfs size",
	  HEAD "filesystem: {tmpfs: [{path: /t, size: lots}]}\n",
	  { { 4, 39, "expected a size such as 512K, 64M, 1G or a number of bytes, got 'lots'" } } },
	{ "bad counts",
	  HEAD "limits: {processes: 0, open_files: 1048577}\n",
	  { { 4, 21, "processes must be at least 1" },
	    { 4, 36, "open_files must be at most 1048576, got '1048577'" } } },
	{ "quoted count",
	  HEAD "limits: {processes: \"64\", open_files: 1e3}\n",
	  { { 4, 21, "expected a whole number, got the quoted string '64'" },
	    { 4, 39, "expected a whole number, got '1e3'" } } },
	{ "huge count",
	  HEAD "limits: {processes: 99999999999999999999}\n",
	  { { 4, 21, "processes '99999999999999999999' is too large" } } },
	{ "bad ports",
	  HEAD "network: {egress: [{host: a.example, ports: [0, 65536, \"80\", -1, 22]}]}\n",
	  { { 4, 46, "expected a port number from 1 to 65535, got '0'" },
	    { 4, 49, "expected a port number from 1 to 65535, got '65536'" },
	    { 4, 56, "expected a port number from 1 to 65535, got the quoted string '80'" },
	    { 4, 62, "expected a port number from 1 to 65535, got '-1'" } } },
	{ "ports not a list",
	  HEAD "network: {egress: [{host: a.example, ports: 443}]}\n",
	  { { 4, 45, "expected a list of port numbers, got '443'" } } },
	{ "ports empty",
	  HEAD "network: {egress: [{host: a.example, ports: []}]}\n",
	  { { 4, 45, "expected at least one port in 'ports'" } } },
	{ "bad cidr",
	  HEAD "network:\n  egress:\n    - {cidr: 10.0.0/8, ports: [1]}\n"
	       "    - {cidr: 10.0.0.0/33, ports: [1]}\n    - {cidr: \"::/129\", ports: [1]}\n"
	       "    - {cidr: 10.0.0.0/x, ports: [1]}\n    - {cidr: 10.0.0.0/, ports: [1]}\n",
	  { { 6, 14, "expected a network such as 10.0.0.0/8 or 2001:db8::/32, got '10.0.0/8'" },
	    { 7, 14,
	      "prefix length of '10.0.0.0/33' is out of range (0-32 for IPv4, 0-128 for "
	      "IPv6)" },
	    { 8, 14,
	      "prefix length of the quoted string '::/129' is out of range (0-32 for IPv4, "
	      "0-128 for IPv6)" },
	    { 9, 14, "expected a network such as 10.0.0.0/8 or 2001:db8::/32, got '10.0.0.0/x'" },
	    { 10, 14,
	      "expected a network such as 10.0.0.0/8 or 2001:db8::/32, got '10.0.0.0/'" } } },
	{ "cidr host bits",
	  HEAD "network:\n  egress:\n    - cidr: 10.20.1.0/16\n      ports: [5432]\n"
	       "    - {cidr: \"2001:db8::1/32\", ports: [1]}\n",
	  { { 6, 13, "10.20.1.0/16 has host bits set; did you mean 10.20.0.0/16?" },
	    { 8, 14, "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?" } } },
	{ "bad hostnames",
	  HEAD "network:\n  egress:\n    - {host: -a.example, ports: [1]}\n"
	       "    - {host: a_b.example, ports: [1]}\n    - {host: example.com., ports: [1]}\n"
	       "    - {host: 1.2.3.999, ports: [1]}\n    - {host: 10.0.0.0/8, ports: [1]}\n",
	  { { 6, 14, "expected a hostname or an IP address, got '-a.example'" },
	    { 7, 14, "expected a hostname or an IP address, got 'a_b.example'" },
	    { 8, 14, "expected a hostname or an IP address, got 'example.com.'" },
	    { 9, 14, "expected a hostname or an IP address, got '1.2.3.999'" },
	    { 10, 14,
	      "expected a hostname or an IP address, got '10.0.0.0/8' (a network goes in "
	      "'cidr')" } } },
	{ "host and cidr",
	  HEAD "network:\n  egress:\n    - {host: a.example, cidr: 10.0.0.0/8, ports: [1]}\n",
	  { { 6, 25, "expected only one of 'host' or 'cidr'" } } },
	{ "bad proto, optional and dns",
	  HEAD "network:\n  egress:\n    - {host: a.example, ports: [1], proto: icmp, optional: "
	       "yes}\n  dns: none\n",
	  { { 6, 44, "expected tcp or udp, got 'icmp'" },
	    { 6, 60, "expected true or false, got 'yes'" },
	    { 7, 8, "expected pinned or resolver, got 'none'" } } },
	{ "unknown syscall",
	  HEAD "syscalls: {allow: [foo, read], profile: paranoid}\n",
	  { { 4, 20, "unknown syscall 'foo'" },
	    { 4, 41, "expected default or strict, got 'paranoid'" } } },
	{ "allow and deny",
	  HEAD "syscalls:\n  deny: [ptrace, mount]\n  allow: [read, ptrace]\n",
	  { { 6, 17, "syscall 'ptrace' is both allowed and denied (first at line 5)" } } },
	{ "bad trace",
	  HEAD "audit: {trace: [exec, syscalls]}\n",
	  { { 4, 23, "expected exec, files or connect, got 'syscalls'" } } },
	{ "trace not a list",
	  HEAD "audit: {trace: exec}\n",
	  { { 4, 16, "expected a list of trace kinds, got 'exec'" } } },
	{ "audit budget",
	  HEAD "audit:\n  budget: {bytes: 512K, keys: 0, lines: 3}\n  overflow: drop\n",
	  { { 5, 19,
	      "audit.budget.bytes must be at least 1M (the policy events and the end of a run "
	      "need room), got '512K'" },
	    { 5, 31, "audit.budget.keys must be at least 1" },
	    { 5, 34, "unknown key 'lines' (expected one of: bytes, keys)" },
	    { 6, 13, "expected stop or count, got 'drop'" } } },
	{ "audit budget values",
	  HEAD "audit:\n  budget: {bytes: lots, keys: 2000000}\n  overflow: [count]\n",
	  { { 5, 19, "expected a size such as 512K, 64M, 1G or a number of bytes, got 'lots'" },
	    { 5, 31, "audit.budget.keys must be at most 1048576, got '2000000'" },
	    { 6, 13, "expected stop or count, got a list" } } },
	{ "audit budget not a map",
	  HEAD "audit: {budget: 64M}\n",
	  { { 4, 17, "expected a mapping, got '64M'" } } },
	{ "env name rules",
	  HEAD "env:\n  pass: [1X, A-B, _ok]\n  set: {\"B C\": x}\n"
	       "  secrets: [{name: s, from_env: \"9\"}]\n",
	  { { 5, 10,
	      "expected a variable name (letters, digits and '_', not starting with a digit), "
	      "got '1X'" },
	    { 5, 14,
	      "expected a variable name (letters, digits and '_', not starting with a digit), "
	      "got 'A-B'" },
	    { 6, 9,
	      "expected a variable name (letters, digits and '_', not starting with a digit), "
	      "got 'B C'" },
	    { 7, 33,
	      "expected a variable name (letters, digits and '_', not starting with a digit), "
	      "got the quoted string '9'" } } },
	{ "env set value not a scalar",
	  HEAD "env: {set: {A: [1]}}\n",
	  { { 4, 16, "expected a string value, got a list" } } },
	{ "duplicate env names",
	  HEAD "env:\n  secrets: [{name: TZ, from_env: X}]\n  pass: [LANG, TZ, LANG]\n"
	       "  set: {LANG: C}\n",
	  { { 6, 16, "duplicate environment variable 'TZ' (first at line 5)" },
	    { 6, 20, "duplicate environment variable 'LANG' (first at line 6)" },
	    { 7, 9, "duplicate environment variable 'LANG' (first at line 6)" } } },
	{ "secret sources",
	  HEAD "env:\n  secrets:\n    - {name: A, from_env: X, from_file: /x}\n    - {name: B}\n",
	  { { 6, 30, "expected only one of 'from_env' or 'from_file'" },
	    { 7, 7, "missing required key 'from_env' or 'from_file'" } } },
	{ "secret from_file resolution",
	  HEAD "env: {secrets: [{name: A, from_file: \"~x\"}]}\n",
	  { { 4, 38,
	      "host path '~x' uses '~user', which is not supported (use an absolute path)" } } },
	{ "non-standard tags",
	  HEAD "version: !foo 1\ndescription: !!binary aGk=\nenv: !!seq {}\n",
	  { { 4, 10, "unsupported YAML tag '!foo' (only the standard tags are allowed)" },
	    { 5, 14, "unsupported YAML tag '!!binary' (only the standard tags are allowed)" },
	    { 6, 6, "unsupported YAML tag '!!seq' (only the standard tags are allowed)" } } },
	{ "key that is not a scalar",
	  HEAD "? [a]\n: b\n",
	  { { 4, 3, "expected a key name, got a list" } } },
	{ "syntax error",
	  "skillbox: 1\nname: t\ncommand: [x\nversion: 1\n",
	  { { 4, 8,
	      "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
	      "at line 3, column 10)" } } },
	{ "syntax error after other problems",
	  "skillbox: 1\nname: T\n  bad: x\n",
	  { { 2, 7,
	      "expected a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
	      "starting with a letter or digit, got 'T bad'" },
	    { 3, 6, "invalid YAML: mapping values are not allowed in this context" } } },
	{ "tab indentation",
	  "skillbox: 1\nname: t\ncommand: x\nfilesystem:\n\tread: []\n",
	  { { 5, 1,
	      "invalid YAML: found character that cannot start any token (while scanning for "
	      "the next token at line 5, column 1)" } } },
	{ "invalid UTF-8",
	  HEAD "version: \"\xff\"\n",
	  { { 4, 11, "invalid YAML: invalid leading UTF-8 octet (byte 0xff)" } } },
	{ "control character escaped in messages",
	  HEAD "version: 1\nfoo\x1b[31m: x\n",
	  { { 5, 4, "invalid YAML: control characters are not allowed (byte 0x1b)" } } },
	{ "escape sequence in a quoted key",
	  HEAD "\"x\\e[2J\": 1\n",
	  { { 4, 1,
	      "unknown key 'x\\x1b[2J' (expected one of: skillbox, name, version, description, "
	      "command, workdir, filesystem, network, env, limits, syscalls, audit, include)" } } },
	{ "multiple documents",
	  HEAD "---\nskillbox: 1\n",
	  { { 4, 1, "expected a single YAML document, found a second one" } } },
	{ "alias",
	  "skillbox: 1\nname: &n t\ncommand: [x]\nversion: *n\n",
	  { { 4, 10, "YAML aliases are not supported in manifests" } } },
	{ "merge key",
	  HEAD "limits: &l {cpu: 1s}\nsyscalls:\n  <<: *l\n",
	  { { 6, 3, "unknown key '<<' (expected one of: profile, allow, deny)" },
	    { 6, 7, "YAML aliases are not supported in manifests" } } },
	{ "many problems in order",
	  "name: Bad\nskillbox: 1\nnetwork:\n  dns: x\n  egress: [{host: \"a b\", ports: [0]}]\n"
	  "limits: {cpu: 1}\ncommand: []\nfilesystem: {hide: [/x]}\n",
	  { { 1, 7,
	      "expected a name of at most 64 lowercase letters, digits, '.', '_' and '-', "
	      "starting with a letter or digit, got 'Bad'" },
	    { 4, 8, "expected pinned or resolver, got 'x'" },
	    { 5, 19, "expected a hostname or an IP address, got the quoted string 'a b'" },
	    { 5, 34, "expected a port number from 1 to 65535, got '0'" },
	    { 6, 15, "expected a duration such as 500ms, 30s, 2m or 1h, got '1'" },
	    { 7, 10, "expected a command with at least one element" },
	    { 8, 21, "hide path '/x' is not below any read or write path" } } },
};

static void run_bad_case(const struct bad_case *t)
{
	struct manifest *m = (struct manifest *)0x1; /* must stay untouched */
	struct manifest_diags d = {};
	size_t want = 0;
	bool good;
	int r;

	while (want < ELEMENTSOF(t->diags) && t->diags[want].message)
		want++;
	r = manifest_parse(t->yaml, strlen(t->yaml), &opts, &m, &d);
	good = r == -EINVAL && m == (struct manifest *)0x1 && d.n == want;
	for (size_t i = 0; good && i < want; i++)
		good = d.items[i].loc.line == t->diags[i].line &&
		       d.items[i].loc.column == t->diags[i].column &&
		       streq(d.items[i].message, t->diags[i].message);
	ok(good, "invalid: %s", t->name);
	if (!good) {
		diag("returned %d; got %zu problems:", r, d.n);
		for (size_t i = 0; i < d.n; i++)
			diag("  %u:%u: %s", d.items[i].loc.line, d.items[i].loc.column,
			     d.items[i].message);
		diag("expected %zu:", want);
		for (size_t i = 0; i < want; i++)
			diag("  %u:%u: %s", t->diags[i].line, t->diags[i].column,
			     t->diags[i].message);
	}
	manifest_diags_done(&d);
}

/* --- hostile input --- */

/* Parses generated text and returns the problems; the caller frees them. */
static int parse_text(const char *yaml, size_t len, struct manifest_diags *d)
{
	struct manifest *m = NULL;
	int r;

	r = manifest_parse(yaml, len, &opts, &m, d);
	manifest_free(m);
	return r;
}

static char *repeat(const char *head, const char *s, size_t n, const char *tail)
{
	size_t hl = strlen(head), sl = strlen(s), tl = strlen(tail);
	char *buf = malloc(hl + sl * n + tl + 1), *p;

	if (!buf)
		abort();
	p = stpcpy(buf, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, s);
	strcpy(p, tail);
	return buf;
}

static void test_too_large(void)
{
	struct manifest_diags d = {};
	_cleanup_free_ char *big = NULL;
	int r;

	big = repeat(HEAD, "#", MANIFEST_MAX_SIZE, "\n");
	r = parse_text(big, strlen(big), &d);
	is_int(r, -EINVAL, "too large: refused");
	ok(d.n == 1 && d.items[0].loc.line == 0 && d.items[0].loc.column == 0,
	   "too large: one problem at line 0");
	is_str(d.n ? d.items[0].message : NULL, "file is larger than 1 MiB", "too large: message");
	manifest_diags_done(&d);

	/* Exactly the limit is fine. */
	memset(big, ' ', MANIFEST_MAX_SIZE);
	memcpy(big, HEAD, strlen(HEAD));
	big[MANIFEST_MAX_SIZE - 1] = '\n';
	r = parse_text(big, MANIFEST_MAX_SIZE, &d);
	is_int(r, 0, "too large: exactly 1 MiB is accepted");
	manifest_diags_done(&d);
}

static void expect_one(const char *name, const char *yaml, unsigned line, unsigned column,
		       const char *message)
{
	struct manifest_diags d = {};
	int r;

	r = parse_text(yaml, strlen(yaml), &d);
	is_int(r, -EINVAL, "%s: refused", name);
	if (!is_int(d.n, 1, "%s: one problem", name) || d.n == 0) {
		for (size_t i = 0; i < d.n; i++)
			diag("%u:%u: %s", d.items[i].loc.line, d.items[i].loc.column,
			     d.items[i].message);
		manifest_diags_done(&d);
		return;
	}
	ok(d.items[0].loc.line == line && d.items[0].loc.column == column,
	   "%s: at %u:%u (got %u:%u)", name, line, column, d.items[0].loc.line,
	   d.items[0].loc.column);
	is_str(d.items[0].message, message, "%s: message", name);
	manifest_diags_done(&d);
}

static void test_deep_nesting(void)
{
	_cleanup_free_ char *flow =
		repeat("skillbox: 1\nname: t\ncommand: [x]\nfoo: ", "[", 10000, "\n");
	_cleanup_free_ char *block = repeat(HEAD "syscalls:\n  allow:\n    ", "- ", 10000, "x\n");
	_cleanup_free_ char *maps = repeat(HEAD "env:\n  set: ", "{a: ", 10000, "\n");

	/* The unknown key's value is skipped, and the skip still stops at the limit. */
	{
		struct manifest_diags d = {};
		int r = parse_text(flow, strlen(flow), &d);

		is_int(r, -EINVAL, "deep flow: refused");
		ok(d.n == 2 && d.items[1].loc.line == 4 && d.items[1].loc.column == 21,
		   "deep flow: stops at the 17th level");
		is_str(d.n == 2 ? d.items[1].message : NULL,
		       "YAML nesting is deeper than 16 levels", "deep flow: message");
		manifest_diags_done(&d);
	}
	{
		struct manifest_diags d = {};
		int r = parse_text(block, strlen(block), &d);

		is_int(r, -EINVAL, "deep block: refused");
		/* root, syscalls and allow (the first "- ") are 3 levels: the 15th "- " is the
		 * 17th. */
		ok(d.n == 2 && d.items[1].loc.line == 6 && d.items[1].loc.column == 33,
		   "deep block: position");
		is_str(d.n ? d.items[d.n - 1].message : NULL,
		       "YAML nesting is deeper than 16 levels", "deep block: message");
		manifest_diags_done(&d);
	}
	{
		struct manifest_diags d = {};
		int r = parse_text(maps, strlen(maps), &d);

		is_int(r, -EINVAL, "deep mappings: refused");
		is_str(d.n ? d.items[d.n - 1].message : NULL,
		       "YAML nesting is deeper than 16 levels", "deep mappings: message");
		manifest_diags_done(&d);
	}
}

static void test_alias_bomb(void)
{
	char yaml[4096], *p = yaml;

	p += sprintf(p, "skillbox: 1\nname: t\ncommand: [x]\n");
	p += sprintf(
		p,
		"version: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char k = 'b'; k <= 'j'; k++)
		p += sprintf(p, "x%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", k, k, k - 1,
			     k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
	p += sprintf(p, "description: *j\n");

	{
		struct manifest_diags d = {};
		int r = parse_text(yaml, strlen(yaml), &d);

		is_int(r, -EINVAL, "alias bomb: refused");
		ok(d.n == 3, "alias bomb: stops at the first alias");
		is_str(d.n == 3 ? d.items[2].message : NULL,
		       "YAML aliases are not supported in manifests", "alias bomb: message");
		ok(d.n == 3 && d.items[2].loc.line == 5 && d.items[2].loc.column == 9,
		   "alias bomb: position");
		manifest_diags_done(&d);
	}
}

static void test_bounds(void)
{
	_cleanup_free_ char *many_errors = repeat(HEAD, "bogus: 1\n", 1000, "");
	_cleanup_free_ char *many_items = malloc(32 * 2000);
	_cleanup_free_ char *long_value = repeat(HEAD "name: ", "A", 100000, "\n");
	struct manifest_diags d = {};
	unsigned column = 0;
	char *p, *line;
	int r;

	r = parse_text(many_errors, strlen(many_errors), &d);
	is_int(r, -EINVAL, "many errors: refused");
	is_int(d.n, MANIFEST_MAX_DIAGS + 1, "many errors: capped");
	is_str(d.n ? d.items[d.n - 1].message : NULL, "too many problems; stopping here",
	       "many errors: last message");
	manifest_diags_done(&d);

	if (!many_items)
		abort();
	line = stpcpy(many_items, HEAD "env:\n");
	p = stpcpy(line, "  pass: [");
	for (unsigned i = 0; i < 2000; i++) {
		p = stpcpy(p, i ? ", " : "");
		if (i == MANIFEST_MAX_ITEMS)
			column = (unsigned)(p - line) + 1;
		p += sprintf(p, "V%u", i);
	}
	strcpy(p, "]\n");
	r = parse_text(many_items, strlen(many_items), &d);
	is_int(r, -EINVAL, "many items: refused");
	ok(d.n == 1 && streq(d.items[0].message, "too many entries (at most 1024)"),
	   "many items: message");
	ok(d.n == 1 && d.items[0].loc.line == 5 && d.items[0].loc.column == column,
	   "many items: at the first entry too many");
	manifest_diags_done(&d);

	/* A long value is cut in the message, which stays short. */
	r = parse_text(long_value, strlen(long_value), &d);
	is_int(r, -EINVAL, "long value: refused");
	ok(d.n >= 1 && strlen(d.items[d.n - 1].message) < 300, "long value: message is short");
	manifest_diags_done(&d);
}

static void test_diags_appended(void)
{
	struct manifest_diags d = {};
	struct manifest *m = NULL;
	const char *a = "name: x\n", *b = "skillbox: 3\n";

	is_int(manifest_parse(a, strlen(a), &opts, &m, &d), -EINVAL, "append: first file");
	is_int(manifest_parse(b, strlen(b), &opts, &m, &d), -EINVAL, "append: second file");
	is_int(d.n, 2, "append: problems of both files kept");
	is_str(d.n == 2 ? d.items[1].message : NULL,
	       "unsupported schema version 3 (this skillbox supports 1)", "append: last one");
	manifest_diags_done(&d);
	manifest_diags_done(&d);
	ok(!m, "append: no manifest");
	ok(!manifest_free(NULL), "manifest_free(NULL)");
	is_int(manifest_parse(NULL, 0, NULL, &m, &d), -EINVAL, "NULL data and options");
	manifest_diags_done(&d);
}

/* --- pure helpers --- */

static void test_helpers(void)
{
	struct manifest_cidr cidr;
	char suggest[64];
	char *p = NULL;
	const char *problem = NULL;

	is_int(manifest_trace_from_string("exec"), MANIFEST_TRACE_EXEC, "trace exec");
	is_int(manifest_trace_from_string("files"), MANIFEST_TRACE_FILES, "trace files");
	is_int(manifest_trace_from_string("connect"), MANIFEST_TRACE_CONNECT, "trace connect");
	is_int(manifest_trace_from_string("Exec"), 0, "trace is case-sensitive");
	is_int(manifest_trace_from_string(NULL), 0, "trace NULL");
	is_str(manifest_proto_to_string(MANIFEST_PROTO_UDP), "udp", "proto to string");
	is_str(manifest_profile_to_string(MANIFEST_PROFILE_STRICT), "strict", "profile to string");
	is_str(manifest_dns_to_string(MANIFEST_DNS_PINNED), "pinned", "dns to string");

	ok(hostname_is_valid_dns("a"), "hostname: one label");
	ok(hostname_is_valid_dns("xn--bcher-kva.example"), "hostname: punycode");
	ok(hostname_is_valid_dns("1.2.3.example"), "hostname: digit labels before the last");
	ok(!hostname_is_valid_dns(""), "hostname: empty");
	ok(!hostname_is_valid_dns("a..b"), "hostname: empty label");
	ok(!hostname_is_valid_dns("a-.b"), "hostname: label ends with '-'");
	ok(!hostname_is_valid_dns("1.2.3.4"), "hostname: all-digit last label");
	{
		_cleanup_free_ char *l63 = repeat("", "a", 63, ".x");
		_cleanup_free_ char *l64 = repeat("", "a", 64, ".x");
		_cleanup_free_ char *t253 = repeat("", "abcdefghi.", 25, "abc");
		_cleanup_free_ char *t254 = repeat("", "abcdefghi.", 25, "abcd");

		ok(hostname_is_valid_dns(l63), "hostname: 63-byte label");
		ok(!hostname_is_valid_dns(l64), "hostname: 64-byte label");
		ok(hostname_is_valid_dns(t253), "hostname: 253 bytes");
		ok(!hostname_is_valid_dns(t254), "hostname: 254 bytes");
	}

	ok(manifest_name_is_valid("0"), "name: one digit");
	ok(!manifest_name_is_valid(""), "name: empty");
	ok(!manifest_name_is_valid(".a"), "name: starts with '.'");
	ok(manifest_env_name_is_valid("_A1"), "env name: _A1");
	ok(!manifest_env_name_is_valid(""), "env name: empty");
	ok(!manifest_env_name_is_valid("A="), "env name: '='");

	is_int(manifest_parse_cidr("192.168.1.128/25", &cidr, suggest, sizeof(suggest)), 0,
	       "cidr: /25");
	is_int(cidr.addr[3], 128, "cidr: last byte");
	is_int(manifest_parse_cidr("192.168.1.129/25", &cidr, suggest, sizeof(suggest)),
	       -EADDRNOTAVAIL, "cidr: host bit in the last byte");
	is_str(suggest, "192.168.1.128/25", "cidr: suggestion");
	is_int(manifest_parse_cidr("::1/0", &cidr, suggest, sizeof(suggest)), -EADDRNOTAVAIL,
	       "cidr: ::1/0 has host bits");
	is_str(suggest, "::/0", "cidr: IPv6 suggestion");
	is_int(manifest_parse_cidr("1.2.3.4/-1", &cidr, suggest, sizeof(suggest)), -EINVAL,
	       "cidr: negative prefix");
	is_int(manifest_parse_cidr("1.2.3.4/99999999999999999999", &cidr, suggest, sizeof(suggest)),
	       -ERANGE, "cidr: huge prefix");

	is_int(manifest_resolve_host_path("a/../../..", "/srv", NULL, &p, &problem), 0,
	       "host path: '..' stops at /");
	is_str(p, "/", "host path: '/'");
	free(p);
	is_int(manifest_resolve_host_path("x", NULL, NULL, &p, &problem), -EINVAL,
	       "host path: relative without a directory");
	ok(manifest_inside_path_problem("/") == NULL, "inside path: / is fine");
}

#ifndef HAVE_ASAN
static void sweep_enomem(const char *name, const char *yaml, int want)
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
		used = n_allocs;
		fail_at = -1;
		if (r == -ENOMEM) {
			n_enomem++;
			n_bad += m != NULL || d.n != 0;
		} else if (r != want) {
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

/*
 * Builds a 1 MiB manifest: head, then fmt formatted with (i, i) for i = 0, 1, ... while it
 * fits, then tail. The formats come from the table below, hence the pragma.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *fill_mib(const char *head, const char *fmt, const char *tail)
{
	size_t size = MANIFEST_MAX_SIZE, len;
	char *buf = malloc(size + 1);

	if (!buf)
		abort();
	len = (size_t)sprintf(buf, "%s", head);
	for (unsigned i = 0;; i++) {
		char item[2048];
		int n = snprintf(item, sizeof(item), fmt, i, i);

		if (len + (size_t)n + strlen(tail) > size)
			break;
		memcpy(buf + len, item, (size_t)n);
		len += (size_t)n;
	}
	strcpy(buf + len, tail);
	return buf;
}
#pragma GCC diagnostic pop

static void measure_peak(const char *name, const char *yaml)
{
	struct manifest *m = NULL;
	struct manifest_diags d = {};
	size_t base = n_bytes;
	int r;

	peak_bytes = n_bytes;
	r = manifest_parse(yaml, strlen(yaml), &opts, &m, &d);
	manifest_free(m);
	manifest_diags_done(&d);
	ok((r == 0 || r == -EINVAL) && peak_bytes - base < 4 * 1024 * 1024,
	   "memory: %s (%zu bytes of input) peaks at %zu KiB", name, strlen(yaml),
	   (peak_bytes - base) / 1024);
}

static void test_memory(void)
{
	static const struct {
		const char *name, *head, *fmt, *tail;
	} cases[] = {
		{ "one long quoted scalar", HEAD "version: \"", "xxxxxxxxxxxxxxxx%.0u%.0u",
		  "\"\n" },
		{ "one long plain scalar", HEAD "description: ", "xxxxxxx %.0u%.0u", "\n" },
		{ "long read paths", HEAD "filesystem:\n  read:\n", "    - \"./%0900u:/i%u\"\n",
		  "" },
		{ "long env values", HEAD "env:\n  set:\n", "    V%u: \"%01000u\"\n", "" },
		{ "many empty lists", HEAD "x: [", "[],%.0u%.0u", "]\n" },
		{ "many small mappings", HEAD "x: [", "{a: 1},%.0u%.0u", "]\n" },
		{ "many ports", HEAD "network:\n  egress:\n    - host: a.example\n      ports: [",
		  "%.0u1,%.0u", "2]\n" },
		{ "many egress rules", HEAD "network:\n  egress:\n",
		  "  - {host: h%u.example, ports: [1, 2, 3, 4, 5, 6, %u]}\n", "" },
		{ "many errors", HEAD, "k%u: %u\n", "" },
		{ "many anchors", HEAD "x: [", "&a%u [%u],", "]\n" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *yaml = fill_mib(cases[i].head, cases[i].fmt, cases[i].tail);

		measure_peak(cases[i].name, yaml);
	}
}

#endif

static void test_allocations(void)
{
#ifdef HAVE_ASAN
	ok(true, "# SKIP allocation failure and peak memory: the sanitizer owns malloc");
#else
	const char *bad =
		"name: Bad\nskillbox: 1\nnetwork:\n  dns: x\n"
		"  egress: [{host: \"a b\", ports: [0]}, {cidr: 10.0.0.1/8, ports: [1]}]\n"
		"limits: {cpu: 1}\ncommand: []\nfilesystem: {hide: [/x]}\n"
		"env: {pass: [A, A], set: {A: 1}}\nsyscalls: {allow: [read], deny: [read]}\n"
		"x: !foo [1]\n";

	test_memory();
	sweep_enomem("enomem full", full_yaml, 0);
	sweep_enomem("enomem invalid", bad, -EINVAL);
	sweep_enomem("enomem syntax", HEAD "x: [\n", -EINVAL);
	sweep_enomem("enomem alias", HEAD "x: &a 1\ny: *a\n", -EINVAL);
#endif
}

/* --- adding an egress entry (skillbox run --ask) --- */

static const char *const new_entry[] = { "host: api.example.com", "ports: [443]" };

/* Adds the entry; checks the result parses with one more egress entry, the new one last. */
static void check_add(const char *name, const char *yaml, size_t want_egress, unsigned want_line,
		      unsigned want_lines, const char *want_text)
{
	struct manifest_edit e = { 0 };
	struct manifest *m = NULL;
	struct manifest_diags d = { 0 };
	int r = manifest_add_egress(yaml, strlen(yaml), new_entry, ELEMENTSOF(new_entry),
				    "added by skillbox run --ask", &e);

	if (!is_int(r, 0, "add egress, %s: edited", name))
		return;
	r = manifest_parse(e.text, e.len, &opts, &m, &d);
	ok(r == 0 && m->net.n_egress == want_egress &&
		   streq(m->net.egress[want_egress - 1].host, "api.example.com") &&
		   m->net.egress[want_egress - 1].n_ports == 1 &&
		   m->net.egress[want_egress - 1].ports[0] == 443,
	   "add egress, %s: parses, with the entry last of %zu", name, want_egress);
	if (r != 0)
		diag("%s", e.text);
	is_int(e.line, want_line, "add egress, %s: added at line %u", name, want_line);
	is_int(e.n_lines, want_lines, "add egress, %s: %u lines added", name, want_lines);
	if (want_text)
		is_str(e.text, want_text, "add egress, %s: the text", name);
	manifest_free(m);
	manifest_diags_done(&d);
	free(e.text);
}

static void test_add_egress(void)
{
	struct manifest_edit e = { 0 };

	check_add("a list with entries",
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n  # the API\n  egress:\n"
		  "    - host: one.example.com   # first\n      ports:\n        - 80\n"
		  "        - 8080\n\n    - cidr: 10.0.0.0/8\n      ports: [5432]\n"
		  "  # pinned\n  dns: pinned\nlimits:\n  timeout: 5s\n",
		  3, 14, 3,
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n  # the API\n  egress:\n"
		  "    - host: one.example.com   # first\n      ports:\n        - 80\n"
		  "        - 8080\n\n    - cidr: 10.0.0.0/8\n      ports: [5432]\n"
		  "    # added by skillbox run --ask\n    - host: api.example.com\n"
		  "      ports: [443]\n"
		  "  # pinned\n  dns: pinned\nlimits:\n  timeout: 5s\n");
	check_add("an indentless list, four-space indentation",
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n    egress:\n    -   host: a.test\n"
		  "        ports: [1]\n",
		  2, 8, 3,
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n    egress:\n    -   host: a.test\n"
		  "        ports: [1]\n    # added by skillbox run --ask\n"
		  "    -   host: api.example.com\n        ports: [443]\n");
	check_add("network without egress",
		  "skillbox: 1\nname: t\nnetwork:\n  dns: pinned\ncommand: x\n", 1, 5, 4,
		  "skillbox: 1\nname: t\nnetwork:\n  dns: pinned\n  egress:\n"
		  "    # added by skillbox run --ask\n    - host: api.example.com\n"
		  "      ports: [443]\ncommand: x\n");
	check_add("an empty egress",
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n  egress:\n  dns: pinned\n", 1, 6, 3,
		  NULL);
	check_add("an empty network", "skillbox: 1\nname: t\nnetwork:\ncommand: x\n", 1, 4, 4,
		  NULL);
	check_add("no network, no final newline", "skillbox: 1\nname: t\ncommand: x", 1, 4, 5,
		  "skillbox: 1\nname: t\ncommand: x\nnetwork:\n  egress:\n"
		  "    # added by skillbox run --ask\n    - host: api.example.com\n"
		  "      ports: [443]\n");
	is_int(manifest_add_egress("skillbox: 1\nnetwork:\n  egress: []\n", 32, new_entry, 2, NULL,
				   &e),
	       -EINVAL, "add egress: a flow-style empty list is not edited");
	is_int(manifest_add_egress("skillbox: 1\nnetwork: {egress: [{host: a, ports: [1]}]}\n", 55,
				   new_entry, 2, NULL, &e),
	       -EINVAL, "add egress: flow-style network is not edited");
	is_int(manifest_add_egress("a: [\n", 5, new_entry, 2, NULL, &e), -EINVAL,
	       "add egress: text that is not YAML");
}

int main(void)
{
	test_full();
	test_defaults();
	test_command_string();
	test_paths();
	test_ports_and_cidrs();
	test_values();
	test_hide_and_home();
	for (size_t i = 0; i < ELEMENTSOF(bad_cases); i++)
		run_bad_case(&bad_cases[i]);
	test_too_large();
	test_deep_nesting();
	test_alias_bomb();
	test_bounds();
	test_diags_appended();
	test_helpers();
	test_allocations();
	test_add_egress();
	expect_one("tag on the root", "!custom {skillbox: 1, name: t, command: x}\n", 1, 1,
		   "unsupported YAML tag '!custom' (only the standard tags are allowed)");
	return tap_done();
}
