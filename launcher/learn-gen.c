/* SPDX-License-Identifier: MIT */
/*
 * skillbox learn, the pure part: from the audit trail of one observed run to a draft v1
 * manifest. Nothing here touches the system; the host's filesystem is asked through struct
 * learn_host, so every rule below is unit-tested against a made-up tree.
 *
 * The rules (README: "Drafting a manifest with skillbox learn"):
 *
 * command   the command and its arguments as given; workdir: the caller's directory,
 *           declared at the same path inside (read, or write when written).
 * include   the profiles (skillbox explain --profiles) of the programs it ran (python3 for
 *           /usr/bin/python3.11, shell for sh, ...), and for each path they do not bind the
 *           profile that binds it most narrowly (tls for /etc/ssl/certs/...); what they bind
 *           is not listed under read again, and a profile another one includes is dropped.
 * read      every path opened for reading (or O_PATH), executed, or connected to as a unix
 *           socket, walked on the host component by component: each symbolic link crossed is
 *           declared itself (the view recreates links, it never follows them) and the walk
 *           goes on at its target. A path that does not exist on the host is left out (the
 *           probes of a dynamic loader or of locale files). What remains is grouped:
 *             - below the working directory: the working directory;
 *             - /usr/...: /usr; /bin, /sbin, /lib, /lib32, /lib64, /libx32 (merged-/usr
 *               symlinks on Debian 12, recreated): each as used;
 *             - /etc/X/...: /etc/X (the file, or the small directory, such as /etc/ssl);
 *             - /opt/X/...: /opt/X;
 *             - /proc, /dev, /sys, /tmp itself, /home/skill, and the files skillbox
 *               generates (/etc/hosts, /etc/resolv.conf, /etc/passwd, /etc/group): left out,
 *               they are the sandbox's own (below /tmp, what the host has was the host's:
 *               learning shows it read-only);
 *             - anything else: the file, or its directory when several entries of that one
 *               directory were read; never widened to a directory of depth one ("/home",
 *               "/srv") or to the caller's HOME or above it (a read of ~/.gitconfig must not
 *               declare ~/.ssh).
 *           Finally an entry inside another one, or inside a write path, is dropped.
 * write     for every path opened for writing, created or changed: the deepest directory
 *           that exists on the host and contains it (learn's own writes went to a throwaway
 *           overlay, so the host still shows what existed before). A mkdir of a directory the
 *           host has changed nothing and counts for nothing; __pycache__ neither (Python is
 *           told not to write it). Below the working directory, declared; /tmp and
 *           /home/skill are the sandbox's own. Writes anywhere else were refused during
 *           learning (the host was read-only) and the command ran on without them: they are
 *           listed as comments to uncomment, never declared.
 * egress    each TCP or UDP destination the ruleset logged as accepted, with its ports: the
 *           stack's gateway as `host: host-loopback`; an address one of the looked-up names
 *           resolves to (now, in skillbox) by that name; any other address as `cidr: ADDR`
 *           with a comment. `dns: pinned`: skillbox resolves the names and pins them.
 *           Queries to the stack's resolver are DNS, not egress.
 * syscalls  `profile: default`, and `allow:` every syscall the default profile refused during
 *           learning (they widen the profile; the comment says so).
 * limits    measured values with headroom, rounded up: timeout max(10s, 3 x wall), cpu
 *           max(5s, 3 x cpu), memory max(64M, 4 x max RSS, 2 x the largest VmData: what
 *           RLIMIT_DATA counts, thread stacks included), processes max(16, 4 x the
 *           most tasks alive at once, threads included, as RLIMIT_NPROC counts them),
 *           open_files 256, output max(1M, 4 x the bytes written).
 * env       nothing: learn cannot know which variables matter (secrets never); a comment says
 *           what the command ran with. PYTHONDONTWRITEBYTECODE=1 when Python ran without the
 *           python3 profile, which sets it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "learn.h"
#include "mount-plan.h"
#include "nfstack.h"
#include "parse-util.h"
#include "path-util.h"
#include "profiles.h"
#include "strv.h"
#include "yaml-util.h"

#define MAX_LINKS 40 /* symbolic links followed in one path, as the kernel allows */

/* --- small helpers --- */

static int strv_add_unique(char ***l, const char *s)
{
	if (strv_contains(*l, s))
		return 0;
	return strv_extend(l, s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when p equals q or lies below it. Both normalized. */
static bool path_in(const char *p, const char *q)
{
	return path_startswith(p, q) != NULL;
}

/*
 * Sorts a strv of normalized paths and drops duplicates and every path below another one of
 * the list (sorted, an ancestor comes right before its descendants' run).
 */
static void paths_minimize(char **l)
{
	size_t n = strv_length(l), out = 0;

	if (n == 0)
		return;
	qsort(l, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && path_in(l[i], l[out - 1])) {
			free(l[i]);
			continue;
		}
		l[out++] = l[i];
	}
	l[out] = NULL;
}

static char *path_parent(const char *p)
{
	const char *slash = strrchr(p, '/');

	if (!slash || slash == p)
		return strdup("/");
	return strndup(p, (size_t)(slash - p));
}

/* The first n components of p ("/etc/ssl/certs", 2 → "/etc/ssl"). */
static char *path_prefix(const char *p, unsigned n)
{
	const char *e = p;

	for (unsigned i = 0; i < n && *e; i++) {
		e++;
		e = strchrnul(e, '/');
	}
	return strndup(p, (size_t)(e - p));
}

/* --- reading the trail --- */

static bool conn_known(const struct learn_trail *t, const char *address, uint16_t port, bool udp)
{
	for (size_t i = 0; i < t->n_conns; i++)
		if (t->conns[i].port == port && t->conns[i].udp == udp &&
		    streq(t->conns[i].address, address))
			return true;
	return false;
}

static int conn_add(struct learn_trail *t, const char *address, uint16_t port, bool udp)
{
	struct learn_conn *c;

	if (conn_known(t, address, port, udp))
		return 0;
	c = realloc(t->conns, (t->n_conns + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	t->conns = c;
	c = &t->conns[t->n_conns];
	*c = (struct learn_conn){ .address = strdup(address), .port = port, .udp = udp };
	if (!c->address)
		return -ENOMEM;
	t->n_conns++;
	return 0;
}

static bool is_stack_resolver(const char *address)
{
	return streq(address, NFSTACK_DNS4) || streq(address, NFSTACK_DNS6);
}

/* A net.connect event from the NFLOG log (it has a verdict; the traced ones do not). */
static int read_connect(const json_t *ev, struct learn_trail *t)
{
	const char *verdict = json_get_str(ev, "verdict");
	const char *proto = json_get_str(ev, "proto");
	const char *address = json_get_str(ev, "address");
	const char *host = json_get_str(ev, "host");
	int64_t port = -1;
	struct buf b = BUF_INIT;
	int k;

	if (!verdict) {
		/* Traced: only a unix socket's path says something the log does not. */
		const char *family = json_get_str(ev, "family");

		if (family && streq(family, "AF_UNIX") && address && address[0] == '/')
			return strv_add_unique(&t->reads, address);
		return 0;
	}
	if (!address || !proto)
		return 0;
	(void)json_get_int(ev, "port", &port);
	if (streq(verdict, "allow") && (streq(proto, "tcp") || streq(proto, "udp")) && port > 0 &&
	    port <= 65535) {
		/* DNS through the stack's resolver is `dns`, not egress. */
		if ((host && streq(host, "resolver")) || is_stack_resolver(address))
			return 0;
		return conn_add(t, address, (uint16_t)port, streq(proto, "udp"));
	}
	/* Anything refused in learn mode is what no manifest can allow (ICMP, raw...). */
	buf_printf(&b, "%s %s", proto, address);
	if (port > 0)
		buf_printf(&b, " port %" PRId64, port);
	if (!buf_ok(&b))
		return -ENOMEM;
	k = strv_add_unique(&t->unlearnable, buf_str(&b));
	buf_done(&b);
	return k;
}

static bool member_true(const json_t *ev, const char *key)
{
	return json_is_true(json_object_get(ev, key));
}

static int read_event(const json_t *ev, struct learn_trail *t, int64_t **pids, size_t *n_pids)
{
	const char *event = json_get_str(ev, "event");
	const char *path = json_get_str(ev, "path");

	if (!event)
		return 0;
	if (streq(event, "file.open")) {
		const char *access = json_get_str(ev, "access");
		bool write = access && (streq(access, "write") || streq(access, "read-write"));

		if (!path || path[0] != '/')
			return 0;
		write = write || member_true(ev, "create") || member_true(ev, "truncate");
		return strv_add_unique(write ? &t->writes : &t->reads, path);
	}
	if (streq(event, "file.change")) {
		const char *op = json_get_str(ev, "op");
		const char *path2 = json_get_str(ev, "path2");
		int k = 0;

		/* A mkdir of a directory that already existed changes nothing: kept apart. */
		if (path && path[0] == '/')
			k = strv_add_unique(op && streq(op, "mkdir") ? &t->mkdirs : &t->writes,
					    path);
		/* rename and link write their second path; a symlink's is only its target. */
		if (k >= 0 && op && (streq(op, "rename") || streq(op, "link")) && path2 &&
		    path2[0] == '/')
			k = strv_add_unique(&t->writes, path2);
		return k;
	}
	if (streq(event, "proc.exec")) {
		const char *resolved = json_get_str(ev, "resolved");
		int64_t pid, *v;

		if (json_get_int(ev, "pid", &pid) == 0) {
			bool seen = false;

			for (size_t i = 0; i < *n_pids; i++)
				seen = seen || (*pids)[i] == pid;
			if (!seen) {
				v = realloc(*pids, (*n_pids + 1) * sizeof(*v));
				if (!v)
					return -ENOMEM;
				*pids = v;
				v[(*n_pids)++] = pid;
			}
		}
		if (resolved && resolved[0] == '/')
			return strv_add_unique(&t->execs, resolved);
		return 0;
	}
	if (streq(event, "net.connect"))
		return read_connect(ev, t);
	if (streq(event, "dns.query")) {
		const char *name = json_get_str(ev, "name");

		if (!name || !*name || streq(name, "."))
			return 0;
		return strv_add_unique(&t->names, name);
	}
	if (streq(event, "syscall.deny")) {
		const char *name = json_get_str(ev, "syscall");

		return name ? strv_add_unique(&t->syscalls, name) : 0;
	}
	if (streq(event, "audit.lost")) {
		const char *reason = json_get_str(ev, "reason");
		int64_t count = 0;

		/* Repeats of one key lose nothing learn needs; distinct keys lost do. (Trails
		   before audit.repeated said "repeated" here.) */
		if (reason && streq(reason, "repeated"))
			return 0;
		if (json_get_int(ev, "count", &count) < 0 &&
		    json_get_int(ev, "dropped", &count) < 0)
			count = 1;
		t->lost += count > 0 ? (uint64_t)count : 1;
		return 0;
	}
	if (streq(event, "audit.sampled")) {
		int64_t beyond = 0;

		/* Evidence of keys never written: paths or programs learn did not see. Repeats
		   beyond a key's first few lose nothing. */
		if (json_get_int(ev, "beyond_keys", &beyond) == 0 && beyond > 0)
			t->lost += (uint64_t)beyond;
		if (member_true(ev, "budget_reached"))
			t->lost++;
		return 0;
	}
	if (streq(event, "run.exit"))
		t->has_exit = true;
	return 0;
}

int learn_trail_read(const char *data, size_t len, struct learn_trail *ret)
{
	struct learn_trail t = { 0 };
	_cleanup_free_ int64_t *pids = NULL;
	size_t n_pids = 0;
	int k = 0;

	for (size_t pos = 0; pos < len && k >= 0;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - data) : len;
		json_t *ev = NULL;

		if (json_parse(data + pos, end - pos, &ev, NULL) >= 0 && json_is_object(ev))
			k = read_event(ev, &t, &pids, &n_pids);
		json_decref(ev);
		pos = end + 1;
	}
	if (k < 0) {
		learn_trail_done(&t);
		return k;
	}
	t.n_pids = n_pids;
	*ret = t;
	return 0;
}

void learn_trail_done(struct learn_trail *t)
{
	strv_free(t->reads);
	strv_free(t->execs);
	strv_free(t->writes);
	strv_free(t->mkdirs);
	for (size_t i = 0; i < t->n_conns; i++)
		free(t->conns[i].address);
	free(t->conns);
	strv_free(t->names);
	strv_free(t->syscalls);
	strv_free(t->unlearnable);
	*t = (struct learn_trail){ 0 };
}

/* --- the host's paths --- */

/*
 * Walks path on the host as the kernel would, one component at a time, following each
 * symbolic link by its stored target (never realpath(): every link crossed is collected in
 * *links, because the sandbox's view recreates links rather than following them, so each
 * must be declared itself). ".." after a link is taken from the resolved prefix, as the
 * kernel does. Returns 1 and the resolved path (no link in it) when all of path exists; with
 * allow_missing, 0 and the deepest existing prefix otherwise; without, -ENOENT.
 */
static int host_resolve(const struct learn_host *h, const char *path, bool allow_missing,
			char ***links, char **ret)
{
	_cleanup_free_ char *rest = strdup(path);
	struct buf cur = BUF_INIT;
	unsigned hops = 0;
	const char *p = rest;
	int k = 1;

	if (!rest)
		return -ENOMEM;
	for (;;) {
		_cleanup_free_ char *comp = NULL, *next = NULL;
		enum learn_node node;
		const char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		comp = strndup(p, (size_t)(e - p));
		if (!comp)
			goto oom;
		p = e;
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			char *slash;

			if (cur.len > 0) {
				slash = strrchr(cur.data, '/');
				cur.len = slash ? (size_t)(slash - cur.data) : 0;
				cur.data[cur.len] = 0;
			}
			continue;
		}
		next = malloc(cur.len + 1 + strlen(comp) + 1);
		if (!next)
			goto oom;
		sprintf(next, "%.*s/%s", (int)cur.len, cur.len ? cur.data : "", comp);
		node = h->lstat(next, h->userdata);
		while (*p == '/')
			p++;
		if (node == LEARN_NODE_FILE && *p)
			node = LEARN_NODE_MISSING; /* ENOTDIR: nothing is below a file */
		if (node == LEARN_NODE_MISSING) {
			k = 0;
			break;
		}
		if (node == LEARN_NODE_SYMLINK) {
			_cleanup_free_ char *target = NULL, *joined = NULL;

			if (++hops > MAX_LINKS || !(target = h->readlink(next, h->userdata))) {
				k = 0;
				break;
			}
			if (links && strv_add_unique(links, next) < 0)
				goto oom;
			joined = malloc(strlen(target) + 1 + strlen(p) + 1);
			if (!joined)
				goto oom;
			sprintf(joined, "%s/%s", target, p);
			if (target[0] == '/' && cur.len > 0) {
				cur.len = 0;
				cur.data[0] = 0;
			}
			free(rest);
			rest = TAKE_PTR(joined);
			p = rest;
			continue;
		}
		buf_putc(&cur, '/');
		buf_puts(&cur, comp);
	}
	if (!buf_ok(&cur))
		goto oom;
	if (k == 0 && !allow_missing) {
		buf_done(&cur);
		return -ENOENT;
	}
	*ret = cur.len ? buf_steal(&cur) : strdup("/");
	buf_done(&cur);
	return *ret ? k : -ENOMEM;
oom:
	buf_done(&cur);
	return -ENOMEM;
}

/*
 * Files skillbox generates in every view, and the trees that are the sandbox's own. /tmp
 * itself is the sandbox's tmpfs; what lies below it and exists on the host was the host's
 * (learning shows the host's /tmp read-only on the sandbox's own).
 */
static bool is_sandbox_own(const char *p)
{
	static const char *const trees[] = { "/proc", "/dev", "/sys", SANDBOX_HOME };
	static const char *const files[] = { "/etc/hosts", "/etc/resolv.conf", "/etc/passwd",
					     "/etc/group" };

	if (streq(p, "/") || streq(p, "/tmp"))
		return true;
	for (size_t i = 0; i < ELEMENTSOF(trees); i++)
		if (path_in(p, trees[i]))
			return true;
	for (size_t i = 0; i < ELEMENTSOF(files); i++)
		if (streq(p, files[i]))
			return true;
	return false;
}

enum read_class {
	READ_SKIP,
	READ_GROUPED, /* *ret is the entry */
	READ_OTHER,   /* a candidate for the sibling rule */
};

/* Groups one resolved path (see the rules at the top). */
static int classify_read(const char *p, const char *cwd, char **ret)
{
	static const char *const system_tops[] = { "usr",   "bin",   "sbin",  "lib",
						   "lib32", "lib64", "libx32" };
	_cleanup_free_ char *top = NULL;

	*ret = NULL;
	if (path_in(p, cwd)) {
		*ret = strdup(cwd);
		return *ret ? READ_GROUPED : -ENOMEM;
	}
	if (is_sandbox_own(p))
		return READ_SKIP;
	top = path_prefix(p, 1);
	if (!top)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(system_tops); i++)
		if (streq(top + 1, system_tops[i])) {
			*ret = TAKE_PTR(top);
			return READ_GROUPED;
		}
	if (streq(top, "/etc") || streq(top, "/opt")) {
		*ret = path_prefix(p, 2);
		return *ret ? READ_GROUPED : -ENOMEM;
	}
	return READ_OTHER;
}

/* A directory the sibling rule may widen to: not of depth one, not HOME or above it. */
static bool may_widen_to(const char *dir, const char *home)
{
	if (path_depth(dir) < 2)
		return false;
	if (home && path_in(home, dir))
		return false;
	return true;
}

/*
 * Adds what the kernel opens on its own to execute path: a script's interpreter, an ELF
 * file's program interpreter (the dynamic loader), and theirs in turn.
 */
static int add_interpreters(const struct learn_host *h, const char *path, char ***reads)
{
	_cleanup_free_ char *cur = strdup(path);

	if (!cur)
		return -ENOMEM;
	/* A script's interpreter may be a script itself, once; then an ELF file's loader. */
	for (unsigned depth = 0; depth < 4; depth++) {
		_cleanup_free_ char *resolved = NULL;
		char *interp;
		int k;

		k = host_resolve(h, cur, false, NULL, &resolved);
		if (k == -ENOENT)
			return 0;
		if (k < 0)
			return k;
		interp = h->interpreter ? h->interpreter(resolved, h->userdata) : NULL;
		if (!interp)
			return 0;
		free(cur);
		cur = interp;
		if (cur[0] != '/')
			return 0;
		if (strv_add_unique(reads, cur) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool profile_covers(const struct learn_profile *p, const char *path, size_t *ret_len)
{
	size_t best = 0;

	STRV_FOREACH (r, p->reads)
		if (path_in(path, *r))
			best = MAX(best, strlen(*r) + 1);
	if (ret_len)
		*ret_len = best;
	return best > 0;
}

static const struct learn_profile *profile_named(const struct learn_profile *profiles, size_t n,
						 const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (streq(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

/* Every read of a is bound by b too (python3 includes system). */
static bool profile_within(const struct learn_profile *a, const struct learn_profile *b)
{
	STRV_FOREACH (r, a->reads)
		if (!profile_covers(b, *r, NULL))
			return false;
	return true;
}

static int choose(const struct learn_profile *p, const char *why, char ***chosen, char ***whys)
{
	struct buf b = BUF_INIT;
	int k;

	if (strv_contains(*chosen, p->name))
		return 0;
	buf_printf(&b, "%s (%s)", p->name, why);
	if (!buf_ok(&b))
		return -ENOMEM;
	k = strv_extend(chosen, p->name);
	if (k >= 0)
		k = strv_extend(whys, buf_str(&b));
	buf_done(&b);
	return k;
}

/*
 * The profiles to include: those of the programs run (python3 for /usr/bin/python3.11),
 * then, for each path no chosen profile binds, the profile that binds it most narrowly
 * (tls for /etc/ssl/certs/..., system for /usr/...). A profile that another chosen one
 * contains is dropped (python3 includes system).
 */
static int choose_profiles(char **programs, char **found, const char *cwd,
			   const struct learn_profile *profiles, size_t n, char ***ret,
			   char ***ret_why)
{
	_cleanup_strv_free_ char **chosen = NULL, **whys = NULL, **out = NULL, **out_why = NULL;
	int k;

	STRV_FOREACH (e, programs) {
		const struct learn_profile *p =
			profile_named(profiles, n, profiles_for_program(*e));

		if (p && (k = choose(p, *e, &chosen, &whys)) < 0)
			return k;
	}
	STRV_FOREACH (f, found) {
		const struct learn_profile *best = NULL;
		size_t best_len = 0;
		bool covered = false;

		if (path_in(*f, cwd) || is_sandbox_own(*f))
			continue;
		STRV_FOREACH (c, chosen)
			covered =
				covered || profile_covers(profile_named(profiles, n, *c), *f, NULL);
		if (covered)
			continue;
		for (size_t i = 0; i < n; i++) {
			size_t len;

			if (!profile_covers(&profiles[i], *f, &len))
				continue;
			if (!best || len > best_len ||
			    (len == best_len &&
			     strv_length(profiles[i].reads) < strv_length(best->reads))) {
				best = &profiles[i];
				best_len = len;
			}
		}
		if (best && (k = choose(best, *f, &chosen, &whys)) < 0)
			return k;
	}
	for (size_t i = 0; chosen && chosen[i]; i++) {
		const struct learn_profile *p = profile_named(profiles, n, chosen[i]);
		bool redundant = false;

		for (size_t j = 0; chosen[j] && !redundant; j++)
			redundant = j != i &&
				    profile_within(p, profile_named(profiles, n, chosen[j])) &&
				    !(profile_within(profile_named(profiles, n, chosen[j]), p) &&
				      j > i);
		if (!redundant &&
		    (strv_extend(&out, chosen[i]) < 0 || strv_extend(&out_why, whys[i]) < 0))
			return -ENOMEM;
	}
	*ret = TAKE_PTR(out);
	*ret_why = TAKE_PTR(out_why);
	return 0;
}

int learn_read_paths(char **reads, char **execs, const char *cwd, const char *home,
		     const struct learn_host *h, const struct learn_profile *profiles,
		     size_t n_profiles, char ***ret, char ***ret_include, char ***ret_why)
{
	_cleanup_strv_free_ char **found = NULL, **out = NULL, **other = NULL, **all = NULL,
				 **programs = NULL, **include = NULL, **why = NULL;
	_cleanup_free_ char *home_norm = NULL;
	int k;

	if (home && home[0] == '/' && path_normalize(home, &home_norm) < 0)
		return -ENOMEM;

	if (strv_copy(reads, &all) < 0)
		return -ENOMEM;
	STRV_FOREACH (e, execs) {
		if (strv_add_unique(&all, *e) < 0 || strv_add_unique(&programs, *e) < 0)
			return -ENOMEM;
		k = add_interpreters(h, *e, &programs);
		if (k < 0)
			return k;
	}
	STRV_FOREACH (p, programs)
		if (strv_add_unique(&all, *p) < 0)
			return -ENOMEM;
	reads = all;

	/*
	 * Every path read, resolved, and every link crossed on the way; paths below the working
	 * directory too, since a link there may lead out of it. The links of a path that turns
	 * out not to exist are not kept: nothing was reached through them.
	 */
	STRV_FOREACH (r, reads) {
		_cleanup_strv_free_ char **links = NULL;
		_cleanup_free_ char *resolved = NULL;

		k = host_resolve(h, *r, false, &links, &resolved);
		if (k == -ENOENT)
			continue;
		if (k < 0)
			return k;
		STRV_FOREACH (l, links)
			if (strv_add_unique(&found, *l) < 0)
				return -ENOMEM;
		if (strv_add_unique(&found, resolved) < 0)
			return -ENOMEM;
	}

	if (profiles) {
		k = choose_profiles(programs, found, cwd, profiles, n_profiles, &include, &why);
		if (k < 0)
			return k;
	}
	if (strv_extend(&out, cwd) < 0)
		return -ENOMEM;
	STRV_FOREACH (f, found) {
		_cleanup_free_ char *entry = NULL;
		bool covered = false;

		/* What an included profile binds is not listed again. */
		STRV_FOREACH (i, include)
			covered =
				covered ||
				(!path_in(*f, cwd) &&
				 profile_covers(profile_named(profiles, n_profiles, *i), *f, NULL));
		if (covered)
			continue;
		k = classify_read(*f, cwd, &entry);
		if (k < 0)
			return k;
		if (k == READ_GROUPED && strv_add_unique(&out, entry) < 0)
			return -ENOMEM;
		if (k == READ_OTHER && strv_add_unique(&other, *f) < 0)
			return -ENOMEM;
	}

	/* The sibling rule: several entries of one directory become that directory. */
	STRV_FOREACH (o, other) {
		_cleanup_free_ char *dir = path_parent(*o);
		size_t siblings = 0;

		if (!dir)
			return -ENOMEM;
		STRV_FOREACH (s, other) {
			_cleanup_free_ char *d2 = path_parent(*s);

			if (!d2)
				return -ENOMEM;
			if (streq(d2, dir))
				siblings++;
		}
		if (siblings >= 2 && may_widen_to(dir, home_norm))
			k = strv_add_unique(&out, dir);
		else
			k = strv_add_unique(&out, *o);
		if (k < 0)
			return k;
	}
	paths_minimize(out);
	*ret = TAKE_PTR(out);
	if (ret_include)
		*ret_include = TAKE_PTR(include);
	if (ret_why)
		*ret_why = TAKE_PTR(why);
	return 0;
}

int learn_write_paths(char **writes, char **mkdirs, const char *cwd, const struct learn_host *h,
		      char ***ret, char ***ret_elsewhere)
{
	_cleanup_strv_free_ char **in = NULL, **out = NULL, **all = NULL;
	int k;

	if (strv_copy(writes, &all) < 0)
		return -ENOMEM;
	/* A directory made that the host has: it was there before learning, nothing changed. */
	STRV_FOREACH (d, mkdirs)
		if (h->lstat(*d, h->userdata) != LEARN_NODE_DIR && strv_add_unique(&all, *d) < 0)
			return -ENOMEM;
	STRV_FOREACH (w, all) {
		_cleanup_free_ char *parent = NULL, *dir = NULL;

		if (streq(*w, "/"))
			continue;
		/* Bytecode caches: the draft tells Python not to write them. */
		if (strstr(*w, "/__pycache__/") ||
		    (strlen(*w) >= 12 && streq(*w + strlen(*w) - 12, "/__pycache__")))
			continue;
		parent = path_parent(*w);
		if (!parent)
			return -ENOMEM;
		/* What existed before: learn's own writes were thrown away with the overlay. */
		k = host_resolve(h, parent, true, NULL, &dir);
		if (k < 0)
			return k;
		if (path_in(dir, cwd))
			k = strv_add_unique(&in, dir);
		else if (is_sandbox_own(dir) || (is_sandbox_own(*w) && !path_in(*w, "/tmp")))
			k = 0;
		else
			k = strv_add_unique(&out, dir);
		if (k < 0)
			return k;
	}
	paths_minimize(in);
	paths_minimize(out);
	*ret = TAKE_PTR(in);
	*ret_elsewhere = TAKE_PTR(out);
	return 0;
}

/* --- limits --- */

static uint64_t round_up(uint64_t v, uint64_t unit)
{
	if (v > UINT64_MAX - unit)
		return UINT64_MAX / unit * unit;
	return (v + unit - 1) / unit * unit;
}

static uint64_t times_capped(uint64_t v, uint64_t factor)
{
	return v > UINT64_MAX / factor ? UINT64_MAX / 2 : v * factor;
}

void learn_limits_compute(const struct learn_measure *m, struct learn_limits *ret)
{
	const uint64_t mib = 1024 * 1024;

	*ret = (struct learn_limits){
		.timeout_usec = MAX(10 * USEC_PER_SEC,
				    round_up(times_capped(m->wall_usec, 3), USEC_PER_SEC)),
		.cpu_usec =
			MAX(5 * USEC_PER_SEC, round_up(times_capped(m->cpu_usec, 3), USEC_PER_SEC)),
		/* RLIMIT_DATA counts what a process maps writable (every thread's 8M stack),
		   not what it touches: the larger of 4x RSS and 2x that. */
		.memory = MAX(64 * mib, round_up(MAX(times_capped(m->max_rss_bytes, 4),
						     times_capped(m->max_data_bytes, 2)),
						 mib)),
		.processes = MAX(16, times_capped(m->processes, 4)),
		.open_files = 256,
		.output = MAX(mib, round_up(times_capped(m->output_bytes, 4), mib)),
	};
}

/* --- writing YAML (yaml-util.c has the scalars and comments) --- */

static void comment_argv(struct buf *b, char **argv)
{
	STRV_FOREACH (a, argv) {
		if (a != argv)
			buf_putc(b, ' ');
		if (**a && !strpbrk(*a, " \t'\"\\$`*?[]{}()<>|&;#~!"))
			yaml_out_comment(b, *a);
		else {
			buf_putc(b, '\'');
			yaml_out_comment(b, *a);
			buf_putc(b, '\'');
		}
	}
}

/*
 * A read or write entry: "HOST" when the path is absolute, "./REL:INSIDE" when it lies below
 * the manifest's directory (so the skill directory can move with its manifest).
 */
static void mount_entry(struct buf *b, const char *host, const char *out_dir)
{
	const char *rest = out_dir ? path_startswith(host, out_dir) : NULL;
	struct buf e = BUF_INIT;

	if (rest)
		buf_printf(&e, "%s%s", *rest ? "./" : ".", rest);
	else
		buf_puts(&e, host);
	if (!buf_ok(&e)) {
		b->oom = true;
		return;
	}
	buf_puts(b, "    - ");
	if (strchr(host, ':')) {
		/* "host:inside" would split at the path's own colon: the long form. */
		buf_puts(b, "{host: ");
		json_escape(b, e.data, e.len);
		buf_puts(b, ", inside: ");
		json_escape(b, host, strlen(host));
		buf_putc(b, '}');
	} else {
		if (rest)
			buf_printf(&e, ":%s", host);
		yaml_out_scalar(b, buf_ok(&e) ? buf_str(&e) : host);
	}
	buf_putc(b, '\n');
	if (!buf_ok(&e))
		b->oom = true;
	buf_done(&e);
}

/* One egress entry being assembled. */
struct dest {
	const char *key; /* "host" or "cidr" */
	const char *value;
	bool udp;
	bool unnamed;
	uint16_t *ports;
	size_t n_ports;
};

static int cmp_port(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return x < y ? -1 : x > y;
}

static const char *name_of(const struct learn_input *in, const char *address, bool *ret_unnamed)
{
	*ret_unnamed = false;
	if (streq(address, NFSTACK_GW4) || streq(address, NFSTACK_GW6))
		return "host-loopback";
	for (size_t i = 0; i < in->n_resolved; i++)
		if (strv_contains(in->resolved[i].addresses, address))
			return in->resolved[i].name;
	*ret_unnamed = true;
	return address;
}

static int dests_build(const struct learn_input *in, struct dest **ret, size_t *ret_n)
{
	const struct learn_trail *t = in->trail;
	struct dest *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < t->n_conns; i++) {
		const struct learn_conn *c = &t->conns[i];
		bool unnamed;
		const char *value = name_of(in, c->address, &unnamed);
		struct dest *d = NULL;
		uint16_t *ports;

		for (size_t j = 0; j < n && !d; j++)
			if (v[j].udp == c->udp && streq(v[j].value, value))
				d = &v[j];
		if (!d) {
			d = realloc(v, (n + 1) * sizeof(*v));
			if (!d)
				goto oom;
			v = d;
			d = &v[n++];
			*d = (struct dest){ .key = unnamed ? "cidr" : "host",
					    .value = value,
					    .udp = c->udp,
					    .unnamed = unnamed };
		}
		for (size_t j = 0; j < d->n_ports; j++)
			if (d->ports[j] == c->port)
				goto next;
		ports = realloc(d->ports, (d->n_ports + 1) * sizeof(*ports));
		if (!ports)
			goto oom;
		d->ports = ports;
		d->ports[d->n_ports++] = c->port;
	next:;
	}
	for (size_t j = 0; j < n; j++)
		qsort(v[j].ports, v[j].n_ports, sizeof(uint16_t), cmp_port);
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	for (size_t j = 0; j < n; j++)
		free(v[j].ports);
	free(v);
	return -ENOMEM;
}

static void emit_header(struct buf *b, const struct learn_input *in)
{
	char when[64] = "";
	struct tm tm;

	if (gmtime_r(&in->now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_printf(b, "# Generated by skillbox learn on %s.\n", when);
	buf_puts(b, "# Command: ");
	comment_argv(b, in->argv);
	buf_puts(b, "\n# In: ");
	yaml_out_comment(b, in->cwd);
	buf_printf(b, "\n# It exited with status %d.\n", in->status);
	buf_puts(b,
		 "#\n"
		 "# Review before use. This declares what one run used, no more: a path, host or\n"
		 "# syscall below is one the command touched, not a judgement that it should.\n");
	if (in->status != 0)
		buf_puts(b,
			 "#\n"
			 "# WARNING: the command failed during learning; what it did not get to\n"
			 "# is not declared.\n");
	if (in->overlay_degraded)
		buf_puts(b,
			 "#\n"
			 "# WARNING: the kernel could not mount the overlay that makes the\n"
			 "# directory writable during learning; it was read-only. The writes the\n"
			 "# command tried there are declared, what it would have done after them\n"
			 "# is not.\n");
	if (in->trail->lost)
		buf_printf(b,
			   "#\n"
			   "# WARNING: %" PRIu64
			   " events of the learning run were not recorded (too\n"
			   "# many distinct ones); some paths or hosts may be missing.\n",
			   in->trail->lost);
}

static void emit_filesystem(struct buf *b, const struct learn_input *in, char **reads,
			    char **writes, char **elsewhere)
{
	buf_puts(b, "filesystem:\n  read:\n");
	STRV_FOREACH (r, reads)
		mount_entry(b, *r, in->out_dir);
	if (writes && *writes) {
		buf_puts(b, "  write:\n");
		STRV_FOREACH (w, writes)
			mount_entry(b, *w, in->out_dir);
	}
	if (elsewhere && *elsewhere) {
		buf_puts(b,
			 "  # The command also tried to write here; the host was read-only while\n"
			 "  # learning, so it ran without. Declare them under write: if needed:\n");
		STRV_FOREACH (e, elsewhere) {
			buf_puts(b, "  #   - ");
			yaml_out_comment(b, *e);
			buf_putc(b, '\n');
		}
	}
	if (in->overlay_degraded)
		buf_puts(
			b,
			"  # (The directory was read-only while learning: see the warning above.)\n");
}

static int emit_network(struct buf *b, const struct learn_input *in)
{
	const struct learn_trail *t = in->trail;
	_cleanup_strv_free_ char **unused = NULL;
	struct dest *d = NULL;
	size_t n = 0;
	int k;

	k = dests_build(in, &d, &n);
	if (k < 0)
		return k;
	STRV_FOREACH (name, t->names) {
		bool used = false;

		for (size_t i = 0; i < n; i++)
			used = used || streq(d[i].value, *name);
		if (!used && strv_extend(&unused, *name) < 0) {
			k = -ENOMEM;
			goto out;
		}
	}

	if (n == 0) {
		buf_puts(b, "# network: none used; the sandbox has loopback only.\n");
	} else {
		buf_puts(b, "network:\n  egress:\n");
		for (size_t i = 0; i < n; i++) {
			buf_printf(b, "    - %s: ", d[i].key);
			yaml_out_scalar(b, d[i].value);
			if (d[i].unnamed)
				buf_puts(b, "  # no DNS lookup during learning named this address");
			buf_puts(b, "\n      ports: [");
			for (size_t j = 0; j < d[i].n_ports; j++)
				buf_printf(b, "%s%u", j ? ", " : "", d[i].ports[j]);
			buf_puts(b, "]\n");
			if (d[i].udp)
				buf_puts(b, "      proto: udp\n");
		}
		buf_puts(b,
			 "  # Names are resolved by skillbox at launch and pinned in /etc/hosts.\n"
			 "  dns: pinned\n");
	}
	if (unused) {
		buf_puts(b, "# Looked up, but never connected to:");
		STRV_FOREACH (u, unused) {
			buf_putc(b, ' ');
			yaml_out_comment(b, *u);
		}
		buf_putc(b, '\n');
	}
	if (t->unlearnable) {
		buf_puts(b, "# Refused, and not expressible in a manifest:");
		STRV_FOREACH (u, t->unlearnable) {
			buf_puts(b, u == t->unlearnable ? " " : ", ");
			yaml_out_comment(b, *u);
		}
		buf_putc(b, '\n');
	}
out:
	for (size_t i = 0; i < n; i++)
		free(d[i].ports);
	free(d);
	return k;
}

static void emit_limits(struct buf *b, const struct learn_input *in)
{
	const struct learn_measure *m = &in->measure;
	struct learn_limits l;
	char v[32];

	learn_limits_compute(m, &l);
	buf_puts(b, "limits:\n");
	buf_printf(b, "  timeout: %-8s # took %" PRIu64 ".%03" PRIu64 "s; 3x, at least 10s\n",
		   format_duration(v, sizeof(v), l.timeout_usec),
		   (uint64_t)(m->wall_usec / USEC_PER_SEC),
		   (uint64_t)(m->wall_usec % USEC_PER_SEC / 1000));
	buf_printf(b, "  cpu: %-12s # used %" PRIu64 ".%03" PRIu64 "s; 3x, at least 5s\n",
		   format_duration(v, sizeof(v), l.cpu_usec),
		   (uint64_t)(m->cpu_usec / USEC_PER_SEC),
		   (uint64_t)(m->cpu_usec % USEC_PER_SEC / 1000));
	buf_printf(b,
		   "  memory: %-9s # largest resident set %" PRIu64 "K, data %" PRIu64
		   "K; 4x and 2x, at least 64M (RLIMIT_DATA)\n",
		   format_size(v, sizeof(v), l.memory), m->max_rss_bytes / 1024,
		   m->max_data_bytes / 1024);
	buf_printf(b,
		   "  processes: %-6" PRIu64 " # at most %" PRIu64
		   " at once, threads counted (as RLIMIT_NPROC does); 4x, at least 16\n",
		   l.processes, m->processes);
	buf_printf(b, "  open_files: %" PRIu64 "\n", l.open_files);
	buf_printf(b, "  output: %-9s # %" PRIu64 " bytes written; 4x, at least 1M\n",
		   format_size(v, sizeof(v), l.output), m->output_bytes);
}

static void emit_syscalls(struct buf *b, const struct learn_input *in)
{
	char **names = in->trail->syscalls;

	buf_puts(b, "syscalls:\n  profile: default\n");
	if (!names || !*names)
		return;
	buf_puts(b, "  # Refused by the default profile during learning. Allowing them widens\n"
		    "  # the profile; keep only those the command cannot do without.\n"
		    "  allow: [");
	STRV_FOREACH (s, names) {
		if (s != names)
			buf_puts(b, ", ");
		yaml_out_scalar(b, *s);
	}
	buf_puts(b, "]\n");
}

char *learn_name_from_dir(const char *dir)
{
	const char *base = strrchr(dir, '/');
	struct buf b = BUF_INIT;
	bool dash = false;

	base = base ? base + 1 : dir;
	for (const char *p = base; *p && b.len < 64; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (b.len > 0 && (c == '.' || c == '_' || c == '-'))) {
			buf_putc(&b, c);
			dash = false;
		} else if (b.len > 0 && !dash) {
			buf_putc(&b, '-');
			dash = true;
		}
	}
	while (b.len > 0 && !((b.data[b.len - 1] >= 'a' && b.data[b.len - 1] <= 'z') ||
			      (b.data[b.len - 1] >= '0' && b.data[b.len - 1] <= '9')))
		b.data[--b.len] = 0;
	if (b.len == 0)
		buf_puts(&b, "skill");
	return buf_steal(&b);
}

int learn_generate(const struct learn_input *in, const struct learn_host *h, char **ret)
{
	_cleanup_strv_free_ char **reads = NULL, **writes = NULL, **elsewhere = NULL, **kept = NULL,
				 **include = NULL, **why = NULL;
	_cleanup_free_ char *name = NULL;
	struct buf b = BUF_INIT;
	bool python = false;
	int k;

	k = learn_read_paths(in->trail->reads, in->trail->execs, in->cwd, in->home, h, in->profiles,
			     in->n_profiles, &reads, &include, &why);
	if (k >= 0)
		k = learn_write_paths(in->trail->writes, in->trail->mkdirs, in->cwd, h, &writes,
				      &elsewhere);
	if (k < 0)
		return k;
	/* A write path is readable too: reads inside one are dropped (no duplicate target). */
	STRV_FOREACH (r, reads) {
		bool covered = false;

		STRV_FOREACH (w, writes)
			covered = covered || path_in(*r, *w);
		if (!covered && strv_extend(&kept, *r) < 0)
			return -ENOMEM;
	}
	name = learn_name_from_dir(in->cwd);
	if (!name)
		return -ENOMEM;

	emit_header(&b, in);
	buf_puts(&b, "skillbox: 1\nname: ");
	yaml_out_scalar(&b, name);
	buf_puts(&b, "\ndescription: \"Drafted by skillbox learn from one run; review before "
		     "use\"\ncommand: [");
	STRV_FOREACH (a, in->argv) {
		if (a != in->argv)
			buf_puts(&b, ", ");
		json_escape(&b, *a, strlen(*a));
	}
	buf_puts(&b, "]\nworkdir: ");
	yaml_out_scalar(&b, in->cwd);
	buf_putc(&b, '\n');
	if (include) {
		buf_puts(&b,
			 "# Profiles (skillbox explain --profiles) for what the command ran and "
			 "read:\n");
		STRV_FOREACH (w, why) {
			buf_puts(&b, "#   ");
			yaml_out_comment(&b, *w);
			buf_putc(&b, '\n');
		}
		buf_puts(&b, "include: [");
		STRV_FOREACH (i, include)
			buf_printf(&b, "%s%s", i == include ? "" : ", ", *i);
		buf_puts(&b, "]\n");
	}

	emit_filesystem(&b, in, kept, writes, elsewhere);
	k = emit_network(&b, in);
	if (k < 0) {
		buf_done(&b);
		return k;
	}
	buf_puts(&b, "# env: learn cannot tell which variables the command needs, and never\n"
		     "# copies secrets. It ran with the defaults only (PATH, HOME=/home/skill,\n"
		     "# LANG=C.UTF-8, TMPDIR=/tmp) and PYTHONDONTWRITEBYTECODE=1; add env: pass:,\n"
		     "# set: or secrets: as needed.\n");
	/* Python would write __pycache__ next to the skill's files; the python3 profile says not
	   to, and without it the draft does. */
	STRV_FOREACH (e, in->trail->execs) {
		const char *base = strrchr(*e, '/');

		python = python || (base && strneq(base + 1, "python", 6));
	}
	if (python && !strv_contains(include, "python3"))
		buf_puts(&b, "env:\n  set:\n    PYTHONDONTWRITEBYTECODE: \"1\"  # no __pycache__ "
			     "next to the skill's files\n");
	emit_limits(&b, in);
	emit_syscalls(&b, in);
	if (!buf_ok(&b)) {
		buf_done(&b);
		return -ENOMEM;
	}
	*ret = buf_steal(&b);
	return 0;
}
