/* SPDX-License-Identifier: MIT */
/*
 * Planning the Landlock rules of a run (landlock-policy.h): pure, no system call. What the
 * manifest asks for that Landlock cannot give is refused here, each problem with the
 * manifest's FILE:LINE:COLUMN and what to do instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "landlock-abi.h"
#include "landlock-policy.h"
#include "path-util.h"
#include "strv.h"

#define RIGHTS_READ (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)
/* Everything but making device nodes (binds are nodev in namespaces mode, too). */
#define RIGHTS_WRITE                                                                              \
	(RIGHTS_READ | LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR | \
	 LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM | LL_FS_REFER |      \
	 LL_FS_TRUNCATE)
#define RIGHTS_PROC (LL_FS_READ_FILE | LL_FS_READ_DIR)
/* `> /dev/null` opens with O_TRUNC, which Landlock checks as truncation. */
#define RIGHTS_DEV_RW (LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE)
#define RIGHTS_DEV_RO LL_FS_READ_FILE

uint64_t landlock_rule_access(enum landlock_rule_kind kind)
{
	switch (kind) {
	case LANDLOCK_RULE_READ:
		return RIGHTS_READ;
	case LANDLOCK_RULE_WRITE:
	case LANDLOCK_RULE_PRIVATE:
		return RIGHTS_WRITE;
	case LANDLOCK_RULE_PROC:
		return RIGHTS_PROC;
	case LANDLOCK_RULE_DEVICE:
		return RIGHTS_DEV_RW;
	}
	return 0;
}

const char *landlock_rule_kind_to_string(enum landlock_rule_kind k)
{
	switch (k) {
	case LANDLOCK_RULE_READ:
		return "read";
	case LANDLOCK_RULE_WRITE:
		return "write";
	case LANDLOCK_RULE_PRIVATE:
		return "private";
	case LANDLOCK_RULE_PROC:
		return "proc";
	case LANDLOCK_RULE_DEVICE:
		return "device";
	}
	return "?";
}

const char *landlock_access_to_string(uint64_t access, char *buf, size_t size)
{
	static const char *const names[] = {
		"execute",   "write_file", "read_file", "read_dir",  "remove_dir", "remove_file",
		"make_char", "make_dir",   "make_reg",	"make_sock", "make_fifo",  "make_block",
		"make_sym",  "refer",	   "truncate",	"ioctl_dev",
	};
	size_t n = 0;

	if (size == 0)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		int k;

		if (!(access & (1ULL << i)))
			continue;
		k = snprintf(buf + n, size - n, "%s%s", n ? "," : "", names[i]);
		if (k < 0 || (size_t)k >= size - n)
			break;
		n += (size_t)k;
	}
	return buf;
}

struct landlock_policy *landlock_policy_free(struct landlock_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].path);
		free(p->rules[i].inside);
	}
	free(p->rules);
	free(p->tmp_dir);
	free(p->home_dir);
	free(p->workdir);
	strv_free(p->command);
	free(p);
	return NULL;
}

static int add_rule(struct landlock_policy *p, enum landlock_rule_kind kind, const char *path,
		    const char *inside, uint64_t access, const char *key, struct manifest_loc loc)
{
	struct landlock_rule *n = reallocarray(p->rules, p->n_rules + 1, sizeof(*p->rules));
	struct landlock_rule *r;

	if (!n)
		return -ENOMEM;
	p->rules = n;
	r = &p->rules[p->n_rules];
	*r = (struct landlock_rule){
		.kind = kind, .access = access, .key = key, .loc = loc, .path = strdup(path)
	};
	if (!r->path)
		return -ENOMEM;
	if (inside && !streq(inside, path)) {
		r->inside = strdup(inside);
		if (!r->inside) {
			free(r->path);
			return -ENOMEM;
		}
	}
	p->n_rules++;
	return 0;
}

static int problem(char ***problems, const struct manifest *m, struct manifest_loc loc,
		   const char *fmt, ...) _printf_(4, 5);
static int problem(char ***problems, const struct manifest *m, struct manifest_loc loc,
		   const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	char *s;

	char where[MANIFEST_LOC_MAX];

	buf_printf(&b, "%s: ", manifest_loc_format(loc, m->path, true, where, sizeof(where)));
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s = buf_steal(&b);
	if (!s || strv_push(problems, s) < 0) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

/* A read or write entry, with the key it came from. */
struct entry {
	const struct manifest_mount *mm;
	const char *key;
};

static bool is_mapped(const struct entry *e)
{
	return !streq(e->mm->host, e->mm->inside);
}

/*
 * Without a mount namespace every entry is seen at its host path. An entry whose inside path
 * lies in (or is) another entry's inside path must then lie at the same place below that
 * entry's host path, or the translated path would show the skill something else than the
 * manifest declared there (".:/skill" and "/data:/skill/data": /skill/data becomes
 * <manifest dir>/data, not /data).
 */
static int check_nesting(const struct manifest *m, const struct entry *v, size_t n,
			 char ***problems)
{
	for (size_t b = 0; b < n; b++)
		for (size_t a = 0; a < n; a++) {
			const struct manifest_mount *A = v[a].mm, *B = v[b].mm;
			_cleanup_free_ char *expected = NULL;
			char where[MANIFEST_LOC_MAX];
			const char *rest;
			int k;

			if (a == b || (!is_mapped(&v[a]) && !is_mapped(&v[b])))
				continue;
			rest = path_startswith(B->inside, A->inside);
			if (!rest)
				continue;
			/* Equal inside paths are reported once, at the later entry. */
			if (!*rest && a > b)
				continue;
			expected = *rest ? path_join(A->host, rest) : strdup(A->host);
			if (!expected)
				return -ENOMEM;
			if (streq(expected, B->host))
				continue;
			k = problem(
				problems, m, B->loc,
				"%s: %s:%s: in landlock mode (no mount namespace) every path is "
				"seen at its host path: %s lies in %s %s:%s (%s), so the skill "
				"would find %s there, not %s; %s, or run with --isolation "
				"namespaces",
				v[b].key, B->host, B->inside, B->inside, v[a].key, A->host,
				A->inside,
				manifest_loc_format(A->loc, m->path, false, where, sizeof(where)),
				expected, B->host,
				B->loc.file && streq(B->loc.file, MANIFEST_COMMAND_LINE)
					? "give the grant its own host path as DST (SRC:SRC)"
					: "make the host paths nest as the inside paths do");
			if (k < 0)
				return k;
			break;
		}
	return 0;
}

/* An inside path as the skill reaches it on the host: through the deepest entry holding it,
   or the private directory for /tmp and HOME; NULL when it stays as it is. */
static int translate(const struct landlock_policy *p, const struct entry *v, size_t n,
		     const char *inside, char **ret)
{
	const struct manifest_mount *best = NULL;
	const char *rest;

	*ret = NULL;
	/* Only a clean absolute path is a path to translate ("/skill/../x" is left alone). */
	if (inside[0] != '/' || !path_is_normalized(inside))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!path_startswith(inside, v[i].mm->inside))
			continue;
		if (!best || path_depth(v[i].mm->inside) > path_depth(best->inside))
			best = v[i].mm;
	}
	if (best) {
		if (streq(best->host, best->inside))
			return 0;
		rest = path_startswith(inside, best->inside);
		*ret = *rest ? path_join(best->host, rest) : strdup(best->host);
	} else if ((rest = path_startswith(inside, "/tmp"))) {
		*ret = *rest ? path_join(p->tmp_dir, rest) : strdup(p->tmp_dir);
	} else if ((rest = path_startswith(inside, SANDBOX_HOME))) {
		*ret = *rest ? path_join(p->home_dir, rest) : strdup(p->home_dir);
	} else {
		return 0;
	}
	return *ret ? 0 : -ENOMEM;
}

/* What only namespaces can do: egress, a resolver, hide, other tmpfs paths, socket. */
static int check_unsupported(const struct manifest *m, char ***problems)
{
	int k = 0;

	if (m->net.n_egress > 0) {
		const struct manifest_egress *e = &m->net.egress[0];

		k = problem(problems, m, e->loc,
			    "network.egress: %s: Landlock cannot filter by address (it knows TCP "
			    "ports only, and UDP not at all), so declared egress cannot be "
			    "enforced in landlock mode%s; run with --isolation namespaces",
			    e->host, m->net.n_egress > 1 ? " (nor the other entries)" : "");
		if (k < 0)
			return k;
	}
	if (m->net.dns == MANIFEST_DNS_RESOLVER) {
		k = problem(problems, m, m->net.dns_loc,
			    "network.dns: resolver: in landlock mode the skill has no network to "
			    "reach a resolver with; run with --isolation namespaces");
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < m->fs.n_hide; i++) {
		k = problem(problems, m, m->fs.hide[i].loc,
			    "filesystem.hide: %s: Landlock grants whole trees and cannot take a "
			    "path below a granted one back out; in landlock mode declare the "
			    "paths around it instead, or run with --isolation namespaces",
			    m->fs.hide[i].path);
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < m->fs.n_tmpfs; i++) {
		const struct manifest_tmpfs *t = &m->fs.tmpfs[i];

		if (streq(t->path, "/tmp") || streq(t->path, SANDBOX_HOME))
			continue;
		k = problem(problems, m, t->loc,
			    "filesystem.tmpfs: %s: a tmpfs needs a mount namespace; in landlock "
			    "mode only /tmp and %s exist, as directories of the run's private "
			    "directory (TMPDIR and HOME point there); declare a write path "
			    "instead, or run with --isolation namespaces",
			    t->path, SANDBOX_HOME);
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < m->syscalls.n_allow; i++) {
		if (!streq(m->syscalls.allow[i].name, "socket"))
			continue;
		k = problem(problems, m, m->syscalls.allow[i].loc,
			    "syscalls.allow: socket: in landlock mode there is no network "
			    "namespace, and sockets other than AF_UNIX would reach the host's "
			    "network, which Landlock cannot filter (UDP not at all); run with "
			    "--isolation namespaces");
		if (k < 0)
			return k;
	}
	return 0;
}

/*
 * The manifest's command arguments that name a path inside a mapped entry ("/skill/main.py"
 * for ".:/skill"), or /tmp and HOME, become host paths. The caller's own arguments (after
 * --) are the caller's, on the host already, and stay as they are.
 */
static int translate_command(struct landlock_policy *p, const struct manifest *m,
			     const struct entry *v, size_t n)
{
	_cleanup_strv_free_ char **out = NULL;
	bool changed = false;

	STRV_FOREACH (a, m->command) {
		_cleanup_free_ char *t = NULL;
		int k = translate(p, v, n, *a, &t);

		if (k < 0)
			return k;
		if (t && !streq(t, *a))
			changed = true;
		if (strv_extend(&out, t ? t : *a) < 0)
			return -ENOMEM;
	}
	if (changed)
		p->command = TAKE_PTR(out);
	return 0;
}

static const struct manifest_tmpfs *find_tmpfs(const struct manifest *m, const char *path)
{
	for (size_t i = 0; i < m->fs.n_tmpfs; i++)
		if (streq(m->fs.tmpfs[i].path, path))
			return &m->fs.tmpfs[i];
	return NULL;
}

static int add_private(struct landlock_policy *p, const struct manifest *m, const char *dir,
		       const char *inside)
{
	const struct manifest_tmpfs *t = find_tmpfs(m, inside);
	int k;

	k = add_rule(p, LANDLOCK_RULE_PRIVATE, dir, inside, RIGHTS_WRITE,
		     t ? "filesystem.tmpfs" : NULL, t ? t->loc : (struct manifest_loc){ 0 });
	if (k >= 0 && t)
		p->rules[p->n_rules - 1].tmpfs_size = t->size;
	return k;
}

static int add_defaults(struct landlock_policy *p, const struct manifest *m)
{
	static const struct {
		const char *path;
		uint64_t access;
	} devices[] = {
		{ "/dev/null", RIGHTS_DEV_RW },	   { "/dev/zero", RIGHTS_DEV_RW },
		{ "/dev/full", RIGHTS_DEV_RW },	   { "/dev/random", RIGHTS_DEV_RO },
		{ "/dev/urandom", RIGHTS_DEV_RO },
	};
	int k;

	k = add_rule(p, LANDLOCK_RULE_PROC, "/proc", NULL, RIGHTS_PROC, NULL,
		     (struct manifest_loc){ 0 });
	for (size_t i = 0; i < ELEMENTSOF(devices) && k >= 0; i++) {
		/*
		 * With limits.memory (never a cgroup in this mode) a shared mapping of /dev/zero
		 * would be shared anonymous memory, which no rlimit counts: the namespaces mode
		 * shows the host's /dev/full there, which cannot be mapped; here /dev/zero cannot
		 * be put elsewhere, so it gets no rule (EACCES; /dev/full reads zeros too).
		 */
		if (m->limits.memory != MANIFEST_UNSET && streq(devices[i].path, "/dev/zero"))
			continue;
		k = add_rule(p, LANDLOCK_RULE_DEVICE, devices[i].path, NULL, devices[i].access,
			     NULL, (struct manifest_loc){ 0 });
		if (k >= 0)
			p->rules[p->n_rules - 1].optional = true;
	}
	return k;
}

int landlock_policy_build(const struct manifest *m, const struct landlock_policy_opts *o,
			  struct landlock_policy **ret, char ***ret_problems)
{
	_cleanup_(landlock_policy_freep) struct landlock_policy *p = NULL;
	_cleanup_free_ struct entry *v = NULL;
	size_t n = 0;
	int k;

	if (!o->private_dir || !path_is_normalized(o->private_dir))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	v = calloc(m->fs.n_read + m->fs.n_write + 1, sizeof(*v));
	if (!p || !v)
		return -ENOMEM;
	p->tmp_dir = path_join(o->private_dir, LANDLOCK_PRIVATE_TMP);
	p->home_dir = path_join(o->private_dir, LANDLOCK_PRIVATE_HOME);
	if (!p->tmp_dir || !p->home_dir)
		return -ENOMEM;

	for (size_t i = 0; i < m->fs.n_read; i++)
		v[n++] = (struct entry){ &m->fs.read[i], "filesystem.read" };
	for (size_t i = 0; i < m->fs.n_write; i++)
		v[n++] = (struct entry){ &m->fs.write[i], "filesystem.write" };

	k = check_unsupported(m, ret_problems);
	if (k >= 0)
		k = check_nesting(m, v, n, ret_problems);
	if (k < 0)
		return k;
	if (strv_length(*ret_problems) > 0)
		return -EINVAL;

	for (size_t i = 0; i < n; i++) {
		k = add_rule(p,
			     streq(v[i].key, "filesystem.write") ? LANDLOCK_RULE_WRITE
								 : LANDLOCK_RULE_READ,
			     v[i].mm->host, v[i].mm->inside,
			     streq(v[i].key, "filesystem.write") ? RIGHTS_WRITE : RIGHTS_READ,
			     v[i].key, v[i].mm->loc);
		if (k < 0)
			return k;
		/* "optional: true": no rule when the host path does not exist. */
		p->rules[p->n_rules - 1].optional = v[i].mm->optional;
	}
	k = add_private(p, m, p->tmp_dir, "/tmp");
	if (k >= 0)
		k = add_private(p, m, p->home_dir, SANDBOX_HOME);
	if (k >= 0)
		k = add_defaults(p, m);
	if (k < 0)
		return k;

	if (m->workdir) {
		k = translate(p, v, n, m->workdir, &p->workdir);
		if (k >= 0 && !p->workdir)
			p->workdir = strdup(m->workdir);
	} else {
		p->workdir = strdup(p->home_dir);
	}
	if (k < 0 || !p->workdir)
		return -ENOMEM;
	k = translate_command(p, m, v, n);
	if (k < 0)
		return k;
	*ret = TAKE_PTR(p);
	return 0;
}

int landlock_policy_view(const struct landlock_policy *p, struct mount_plan **ret)
{
	_cleanup_(mount_plan_freep) struct mount_plan *plan = calloc(1, sizeof(*plan));

	if (!plan)
		return -ENOMEM;
	plan->ops = calloc(p->n_rules, sizeof(*plan->ops));
	if (!plan->ops)
		return -ENOMEM;
	/* The host's directories above the rules are not the skill's to list. */
	plan->bare_ancestors = true;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct landlock_rule *r = &p->rules[i];
		struct mount_op *o = &plan->ops[plan->n_ops];

		*o = (struct mount_op){
			.origin = { .key = r->key, .loc = r->loc },
		};
		switch (r->kind) {
		case LANDLOCK_RULE_READ:
		case LANDLOCK_RULE_WRITE:
			o->kind = MOUNT_OP_BIND;
			o->writable = r->kind == LANDLOCK_RULE_WRITE;
			break;
		case LANDLOCK_RULE_PRIVATE:
			o->kind = MOUNT_OP_TMPFS;
			o->writable = true;
			break;
		case LANDLOCK_RULE_PROC:
			o->kind = MOUNT_OP_PROC;
			break;
		case LANDLOCK_RULE_DEVICE:
			o->kind = MOUNT_OP_DEV;
			break;
		}
		o->inside = strdup(r->path);
		if (!o->inside)
			return -ENOMEM;
		if (o->kind == MOUNT_OP_BIND) {
			o->host = strdup(r->path);
			if (!o->host) {
				free(o->inside);
				return -ENOMEM;
			}
		}
		plan->n_ops++;
	}
	*ret = TAKE_PTR(plan);
	return 0;
}
