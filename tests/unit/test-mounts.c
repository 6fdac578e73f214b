/* SPDX-License-Identifier: MIT */
/*
 * Tests for mounts/: mount_plan_lookup(), the covering-mount lookup the tracing layer uses
 * to say whether a file access was declared. Plans are built from manifests exactly as a run
 * builds them, plus a few made by hand for the ordering rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "mount-plan.h"
#include "tap.h"

#define HEAD "skillbox: 1\nname: t\ncommand: [run]\n"

static struct manifest *parse(const char *yaml)
{
	static const struct manifest_parse_opts opts = { .path = "test.yaml", .dir = "/srv/skill" };
	struct manifest_diags d = {};
	struct manifest *m = NULL;
	int r = manifest_parse(yaml, strlen(yaml), &opts, &m, &d);

	if (r < 0) {
		for (size_t i = 0; i < d.n; i++)
			diag("%u:%u: %s", d.items[i].loc.line, d.items[i].loc.column,
			     d.items[i].message);
		manifest_diags_done(&d);
		return NULL;
	}
	return m;
}

static struct mount_plan *plan_of(const char *yaml, struct manifest **ret_m)
{
	static const struct mount_file files[] = { { "/etc/hosts", "127.0.0.1 localhost\n" } };
	struct mount_plan_opts opts = { .files = files, .n_files = ELEMENTSOF(files) };
	struct mount_plan *p = NULL;
	struct manifest *m = parse(yaml);

	if (!m || mount_plan_build(m, &opts, &p) < 0) {
		manifest_free(m);
		return NULL;
	}
	*ret_m = m;
	return p;
}

/* Checks one lookup: declared, by_default, hidden and the covering mount point. */
static void check(const struct mount_plan *p, const char *path, bool write, bool declared,
		  bool by_default, bool hidden, const char *mount)
{
	struct mount_lookup l;
	int r = mount_plan_lookup(p, path, write, &l);
	const char *got = l.op ? l.op->inside : NULL;

	if (!ok(r == 0, "lookup %s (%s) succeeds", path, write ? "write" : "read")) {
		diag("r = %d", r);
		return;
	}
	ok(l.declared == declared && l.by_default == by_default && l.hidden == hidden &&
		   (mount ? got && streq(got, mount) : !got),
	   "%s %s: declared=%d by_default=%d hidden=%d mount=%s", write ? "write" : "read", path,
	   declared, by_default, hidden, mount ? mount : "null");
	if (l.declared != declared || l.by_default != by_default || l.hidden != hidden)
		diag("got declared=%d by_default=%d hidden=%d mount=%s", l.declared, l.by_default,
		     l.hidden, got ? got : "null");
	else if (mount ? !got || !streq(got, mount) : !!got)
		diag("got mount=%s", got ? got : "null");
}

static void test_manifest_view(void)
{
	struct manifest *m = NULL;
	struct mount_plan *p = plan_of(HEAD "filesystem:\n"
					    "  read: [/usr, /lib, \".:/skill\", /etc/ssl]\n"
					    "  write: [\"./out:/skill/out\", /srv/data]\n"
					    "  tmpfs: [{path: /var/cache, size: 8M}]\n"
					    "  hide: [/usr/lib/ssh, /skill/secret.txt]\n",
				       &m);

	if (!ok(p, "the plan builds"))
		return;

	/* Read paths: reading is declared, writing is not. */
	check(p, "/usr/bin/python3", false, true, false, false, "/usr");
	check(p, "/usr", false, true, false, false, "/usr");
	check(p, "/usr/bin/python3", true, false, false, false, "/usr");
	check(p, "/lib/x86_64-linux-gnu/libc.so.6", false, true, false, false, "/lib");
	check(p, "/skill/main.py", false, true, false, false, "/skill");
	check(p, "/skill/main.py", true, false, false, false, "/skill");
	check(p, "/etc/ssl/certs/ca.pem", false, true, false, false, "/etc/ssl");

	/* A write path inside a read path: the deepest operation decides. */
	check(p, "/skill/out/result.json", true, true, false, false, "/skill/out");
	check(p, "/skill/out", true, true, false, false, "/skill/out");
	check(p, "/skill/output", true, false, false, false, "/skill");
	check(p, "/srv/data/x", true, true, false, false, "/srv/data");
	check(p, "/var/cache/a/b", true, true, false, false, "/var/cache");

	/* Hidden: never declared, whatever the access. */
	check(p, "/usr/lib/ssh/ssh-keysign", false, false, false, true, "/usr/lib/ssh");
	check(p, "/usr/lib/ssh", false, false, false, true, "/usr/lib/ssh");
	check(p, "/usr/lib/sshd", false, true, false, false, "/usr");
	check(p, "/skill/secret.txt", false, false, false, true, "/skill/secret.txt");

	/* What skillbox adds itself. */
	check(p, "/tmp/x", true, true, true, false, "/tmp");
	check(p, "/home/skill/.cache/x", true, true, true, false, "/home/skill");
	check(p, "/proc/self/status", false, true, true, false, "/proc");
	check(p, "/proc/self/attr/current", true, true, true, false, "/proc");
	check(p, "/dev/null", true, true, true, false, "/dev");
	check(p, "/etc/passwd", false, true, true, false, "/etc/passwd");
	check(p, "/etc/passwd", true, false, false, false, "/etc/passwd");
	check(p, "/etc/group", false, true, true, false, "/etc/group");
	check(p, "/etc/hosts", false, true, true, false, "/etc/hosts");
	check(p, "/etc/passwd/x", false, false, false, false, "/etc/passwd");

	/* The root's own directories lead to mount points; nothing else exists there. */
	check(p, "/", false, true, true, false, NULL);
	check(p, "/etc", false, true, true, false, NULL);
	check(p, "/var", false, true, true, false, NULL);
	check(p, "/etc", true, false, false, false, NULL);
	check(p, "/etc/shadow", false, false, false, false, NULL);
	check(p, "/root/.ssh/id_rsa", false, false, false, false, NULL);
	check(p, "/home", false, true, true, false, NULL);
	check(p, "/home/other", false, false, false, false, NULL);

	/* Component-wise: /usrx is not below /usr, /skillet not below /skill. */
	check(p, "/usrx/bin", false, false, false, false, NULL);
	check(p, "/skillet", false, false, false, false, NULL);

	mount_plan_free(p);
	manifest_free(m);
}

static void test_manifest_overrides_defaults(void)
{
	struct manifest *m = NULL;
	struct mount_plan *p = plan_of(HEAD "filesystem:\n"
					    "  read: [/usr, \"./tmp:/tmp\"]\n"
					    "  tmpfs: [{path: /home/skill}]\n",
				       &m);

	if (!ok(p, "the plan with /tmp and HOME from the manifest builds"))
		return;
	/* The manifest's own /tmp is read-only and not a default. */
	check(p, "/tmp/x", false, true, false, false, "/tmp");
	check(p, "/tmp/x", true, false, false, false, "/tmp");
	check(p, "/home/skill/x", true, true, false, false, "/home/skill");
	mount_plan_free(p);
	manifest_free(m);
}

static void test_same_path_order(void)
{
	struct mount_op ops[] = {
		{ .kind = MOUNT_OP_BIND,
		  .inside = (char *)"/data",
		  .writable = true,
		  .origin = { .key = "filesystem.write" } },
		{ .kind = MOUNT_OP_HIDE,
		  .inside = (char *)"/data",
		  .origin = { .key = "filesystem.hide" } },
		{ .kind = MOUNT_OP_BIND, .inside = (char *)"/ro", .origin = { .key = "x" } },
		{ .kind = MOUNT_OP_BIND,
		  .inside = (char *)"/ro",
		  .writable = true,
		  .origin = { .key = "y" } },
		{ .kind = MOUNT_OP_TMPFS,
		  .inside = (char *)"/",
		  .writable = true,
		  .origin = { .key = "filesystem.tmpfs" } },
	};
	struct mount_plan p = { .ops = ops, .n_ops = ELEMENTSOF(ops) };
	struct mount_plan empty = { 0 };
	struct mount_lookup l;

	/* A hide after the bind it masks wins; so does the later of two binds. */
	check(&p, "/data/x", false, false, false, true, "/data");
	check(&p, "/ro/x", true, true, false, false, "/ro");
	/* An operation at "/" covers everything, and is deeper than nothing. */
	check(&p, "/elsewhere", true, true, false, false, "/");
	check(&p, "/", true, true, false, false, "/");

	/* An empty plan: only "/" exists. */
	check(&empty, "/", false, true, true, false, NULL);
	check(&empty, "/x", false, false, false, false, NULL);

	is_int(mount_plan_lookup(&p, "relative/x", false, &l), -EINVAL,
	       "a relative path is refused");
	is_int(mount_plan_lookup(&p, "/a/../b", false, &l), -EINVAL,
	       "a path with .. is refused (callers normalize)");
	is_int(mount_plan_lookup(&p, "/a//b", false, &l), -EINVAL, "a path with // is refused");
	is_int(mount_plan_lookup(&p, "/a/", false, &l), -EINVAL, "a trailing slash is refused");
	is_int(mount_plan_lookup(NULL, "/a", false, &l), -EINVAL, "a NULL plan is refused");
}

/* --- mount_view_resolve() against a made-up host --- */

struct fake_node {
	const char *path;
	mode_t type; /* S_IFDIR, S_IFREG, S_IFLNK */
	const char *target;
};

/* A merged-/usr host in miniature. */
static const struct fake_node fake[] = {
	{ "/usr", S_IFDIR, NULL },
	{ "/usr/bin", S_IFDIR, NULL },
	{ "/usr/bin/python3", S_IFLNK, "python3.11" },
	{ "/usr/bin/python3.11", S_IFREG, NULL },
	{ "/usr/bin/awk", S_IFLNK, "/etc/alternatives/awk" },
	{ "/usr/bin/mawk", S_IFREG, NULL },
	{ "/usr/bin/loop", S_IFLNK, "loop" },
	{ "/usr/lib", S_IFDIR, NULL },
	{ "/bin", S_IFLNK, "usr/bin" },
	{ "/lib", S_IFLNK, "usr/lib" },
	{ "/etc", S_IFDIR, NULL },
	{ "/etc/alternatives", S_IFDIR, NULL },
	{ "/etc/alternatives/awk", S_IFLNK, "/usr/bin/mawk" },
	{ "/srv/skill", S_IFDIR, NULL },
	{ "/srv/skill/main.py", S_IFREG, NULL },
	{ "/srv/skill/up", S_IFLNK, "../../etc" },
};

static int fake_lstat(const char *path, struct stat *st, void *userdata)
{
	for (size_t i = 0; i < ELEMENTSOF(fake); i++)
		if (streq(fake[i].path, path)) {
			*st = (struct stat){ .st_mode = fake[i].type | 0755 };
			return 0;
		}
	return -ENOENT;
}

static char *fake_readlink(const char *path, void *userdata)
{
	for (size_t i = 0; i < ELEMENTSOF(fake); i++)
		if (streq(fake[i].path, path) && fake[i].target)
			return strdup(fake[i].target);
	return NULL;
}

static const struct mount_view_host fake_host = { fake_lstat, fake_readlink, NULL };

static void view(const struct mount_plan *p, const char *path, bool follow,
		 enum mount_view_node node, const char *inside, const char *host)
{
	struct mount_view_entry e = {};
	int r = mount_view_resolve(p, &fake_host, path, follow, &e);

	ok(r == 0 && e.node == node, "view %s%s: node %d (got %d)", path,
	   follow ? "" : " (no follow)", node, e.node);
	if (inside)
		is_str(e.inside, inside, "view %s: reached %s", path, inside);
	if (node != MOUNT_VIEW_MISSING)
		is_str(e.host, host, "view %s: host %s", path, host ? host : "(none)");
	mount_view_entry_done(&e);
}

static void test_view(void)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct mount_plan *p = plan_of(HEAD "workdir: /skill\n"
					    "filesystem:\n"
					    "  read: [/usr, /bin, /lib, \".:/skill\",\n"
					    "         {host: /lib64, optional: true}]\n"
					    "  tmpfs: [/var/cache/x]\n",
				       &m);

	if (!ok(p, "view: plan"))
		return;
	view(p, "/bin/python3", true, MOUNT_VIEW_FILE, "/usr/bin/python3.11",
	     "/usr/bin/python3.11");
	view(p, "/bin/python3", false, MOUNT_VIEW_SYMLINK, "/usr/bin/python3", "/usr/bin/python3");
	view(p, "/bin", false, MOUNT_VIEW_SYMLINK, "/bin", "/bin");
	/* /etc/alternatives is not in this view: awk dangles, as the make and awk did. */
	view(p, "/usr/bin/awk", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/usr/bin/loop", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/skill/main.py", true, MOUNT_VIEW_FILE, "/skill/main.py", "/srv/skill/main.py");
	view(p, "/skill/../skill/./main.py", true, MOUNT_VIEW_FILE, "/skill/main.py",
	     "/srv/skill/main.py");
	/* ".." out of a bind goes on inside the view: /etc holds the generated files. */
	view(p, "/skill/up", true, MOUNT_VIEW_DIR, "/etc", NULL);
	view(p, "/skill/nothing", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/skill/main.py/x", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/var", true, MOUNT_VIEW_DIR, "/var", NULL);
	view(p, "/var/cache/x", true, MOUNT_VIEW_DIR, "/var/cache/x", NULL);
	view(p, "/var/cache/x/y", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/lib64", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/etc/hosts", true, MOUNT_VIEW_FILE, "/etc/hosts", NULL);
	view(p, "/etc/passwd", true, MOUNT_VIEW_FILE, "/etc/passwd", NULL);
	view(p, "/etc/shadow", true, MOUNT_VIEW_MISSING, NULL, NULL);
	view(p, "/dev/null", true, MOUNT_VIEW_OTHER, "/dev/null", NULL);
	view(p, "/home/skill", true, MOUNT_VIEW_DIR, "/home/skill", NULL);
	view(p, "/", true, MOUNT_VIEW_DIR, "/", NULL);
	mount_plan_free(p);
	m = manifest_free(m);

	p = plan_of(HEAD "filesystem: {read: [/usr, /bin, /etc/alternatives]}\n", &m);
	if (p)
		view(p, "/bin/awk", true, MOUNT_VIEW_FILE, "/usr/bin/mawk", "/usr/bin/mawk");
	mount_plan_free(p);
}

static uint64_t size_at(const struct mount_plan *p, const char *inside)
{
	for (size_t i = 0; i < p->n_ops; i++)
		if (streq(p->ops[i].inside, inside))
			return p->ops[i].size;
	return 0;
}

/* limits.memory: every tmpfs the skill can fill fits in the budget together. */
static void test_fit_tmpfs(void)
{
	struct manifest *m = NULL;
	struct mount_plan *p;
	uint64_t declared = 0;

	p = plan_of(HEAD, &m);
	if (!ok(p, "fit: a plan with the default tmpfs mounts"))
		return;
	is_int(mount_plan_fit_tmpfs(p, 1ULL << 30, &declared), 0, "fit: 1G leaves the defaults");
	ok(size_at(p, "/tmp") == 128ULL << 20 && size_at(p, "/home/skill") == 64ULL << 20 &&
		   size_at(p, "/dev") == 64ULL << 20,
	   "fit: /tmp 128M, /home/skill 64M, /dev/shm 64M");
	is_int(mount_plan_fit_tmpfs(p, 64ULL << 20, &declared), 0, "fit: 64M");
	ok(size_at(p, "/tmp") == 32ULL << 20 && size_at(p, "/home/skill") == 16ULL << 20 &&
		   size_at(p, "/dev") == 16ULL << 20,
	   "fit: 64M is split 32M, 16M, 16M in proportion to the usual sizes");
	is_int(mount_plan_fit_tmpfs(p, 3ULL << 20, &declared), 0, "fit: 3M");
	ok(size_at(p, "/tmp") + size_at(p, "/home/skill") + size_at(p, "/dev") <= 3ULL << 20 &&
		   size_at(p, "/tmp") % 4096 == 0 && size_at(p, "/home/skill") >= 4096,
	   "fit: 3M: whole pages, together at most 3M");
	mount_plan_free(p);
	manifest_free(m);

	p = plan_of(HEAD "filesystem:\n  tmpfs: [{path: /data, size: 40M}, /scratch]\n", &m);
	if (!ok(p, "fit: a plan with declared tmpfs mounts"))
		return;
	is_int(mount_plan_fit_tmpfs(p, 64ULL << 20, &declared), 0, "fit: 64M with /data 40M");
	ok(declared == 40ULL << 20 && size_at(p, "/data") == 40ULL << 20 &&
		   size_at(p, "/tmp") + size_at(p, "/home/skill") + size_at(p, "/dev") +
				   size_at(p, "/scratch") <=
			   24ULL << 20 &&
		   size_at(p, "/scratch") > 0,
	   "fit: the declared size is kept, the others share the 24M left");
	is_int(mount_plan_fit_tmpfs(p, 32ULL << 20, &declared), -E2BIG,
	       "fit: declared sizes above the budget are refused");
	is_int(mount_plan_fit_tmpfs(p, (40ULL << 20) + 4096, &declared), -ENOSPC,
	       "fit: a budget that leaves less than a page for the others is refused");
	mount_plan_free(p);
	manifest_free(m);

	is_int(mount_tmpfs_inodes(128ULL << 20), 32768, "inodes: one per 4 KiB of size");
	is_int(mount_tmpfs_inodes(4096), TMPFS_MIN_INODES, "inodes: at least 64");
}

int main(void)
{
	test_fit_tmpfs();
	test_manifest_view();
	test_manifest_overrides_defaults();
	test_same_path_order();
	test_view();
	return tap_done();
}
