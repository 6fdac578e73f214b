/* SPDX-License-Identifier: MIT */
/*
 * Tests for landlock/: the rules planned from a manifest (pure), what is refused with
 * FILE:LINE:COLUMN, the translation of inside paths, the view the tracing layer asks, the
 * rights per ABI, and, where the kernel has Landlock, a ruleset built and applied in a child
 * process (the rules open what they grant and nothing else).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "landlock-abi.h"
#include "landlock-apply.h"
#include "landlock-policy.h"
#include "manifest.h"
#include "mount-plan.h"
#include "strv.h"
#include "tap.h"

#define HEAD "skillbox: 1\nname: t\ncommand: [run]\n"
#define PRIV "/tmp/skillbox-RUN"

static struct manifest *parse_with(const char *yaml, const char *dir)
{
	const struct manifest_parse_opts opts = { .path = "test.yaml", .dir = dir };
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

static struct manifest *parse(const char *yaml)
{
	return parse_with(yaml, "/srv/skill");
}

/* Plans m with its private directory at priv; the policy, or NULL with *problems set. */
static struct landlock_policy *plan_at(const struct manifest *m, const char *priv, char ***problems)
{
	struct landlock_policy *p = NULL;
	int r = landlock_policy_build(m, &(struct landlock_policy_opts){ .private_dir = priv }, &p,
				      problems);

	return r < 0 ? NULL : p;
}

static struct landlock_policy *plan(const struct manifest *m, char ***problems)
{
	return plan_at(m, PRIV, problems);
}

static const struct landlock_rule *rule_at(const struct landlock_policy *p, const char *path)
{
	for (size_t i = 0; p && i < p->n_rules; i++)
		if (streq(p->rules[i].path, path))
			return &p->rules[i];
	return NULL;
}

static void test_rules(void)
{
	const char *yaml = HEAD "workdir: /skill\n"
				"filesystem:\n"
				"  read: [/usr, \".:/skill\"]\n"
				"  write: [\"./out:/skill/out\"]\n"
				"  tmpfs: [{path: /tmp, size: 8M}]\n";
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest *m = parse(yaml);
	struct landlock_policy *p = m ? plan(m, &problems) : NULL;
	const struct landlock_rule *r;

	if (!ok(p, "a manifest with read, write and tmpfs /tmp plans")) {
		STRV_FOREACH (s, problems)
			diag("%s", *s);
		manifest_free(m);
		return;
	}
	r = rule_at(p, "/usr");
	ok(r && r->kind == LANDLOCK_RULE_READ &&
		   r->access == landlock_rule_access(LANDLOCK_RULE_READ) &&
		   !(r->access & LL_FS_WRITE_FILE) && (r->access & LL_FS_EXECUTE) && !r->inside &&
		   streq(r->key, "filesystem.read") && r->loc.line == 6,
	   "read path: read, read_dir and execute, no write; from filesystem.read line 6");
	r = rule_at(p, "/srv/skill");
	ok(r && r->inside && streq(r->inside, "/skill"),
	   "\".:/skill\": a rule on the host path, which remembers its inside path");
	r = rule_at(p, "/srv/skill/out");
	ok(r && r->kind == LANDLOCK_RULE_WRITE && (r->access & LL_FS_WRITE_FILE) &&
		   (r->access & LL_FS_TRUNCATE) && (r->access & LL_FS_REFER) &&
		   (r->access & LL_FS_MAKE_REG) && !(r->access & LL_FS_MAKE_CHAR) &&
		   !(r->access & LL_FS_MAKE_BLOCK),
	   "write path: write, truncate, refer, make files; never device nodes");
	r = rule_at(p, PRIV "/tmp");
	ok(r && r->kind == LANDLOCK_RULE_PRIVATE && streq(r->key, "filesystem.tmpfs") &&
		   r->tmpfs_size == 8 << 20,
	   "tmpfs /tmp is the private tmp, with the size it asked for (not enforced)");
	r = rule_at(p, PRIV "/home");
	ok(r && r->kind == LANDLOCK_RULE_PRIVATE && !r->key, "the private HOME is skillbox's own");
	r = rule_at(p, "/proc");
	ok(r && r->kind == LANDLOCK_RULE_PROC && !(r->access & LL_FS_WRITE_FILE) &&
		   !(r->access & LL_FS_EXECUTE),
	   "/proc: read only");
	r = rule_at(p, "/dev/null");
	ok(r && r->optional && (r->access & LL_FS_TRUNCATE) && (r->access & LL_FS_WRITE_FILE),
	   "/dev/null: read, write and truncate (> /dev/null opens with O_TRUNC), optional");
	r = rule_at(p, "/dev/urandom");
	ok(r && !(r->access & LL_FS_WRITE_FILE), "/dev/urandom: read only");
	ok(!rule_at(p, "/dev/shm") && !rule_at(p, "/dev/tty") && !rule_at(p, "/dev/pts") &&
		   !rule_at(p, "/tmp") && !rule_at(p, "/"),
	   "no rule for /dev/shm, /dev/tty, /dev/pts, the host's /tmp or /");
	is_str(p->workdir, "/srv/skill", "workdir /skill becomes its host path");
	is_str(p->tmp_dir, PRIV "/tmp", "TMPDIR is the private tmp");
	is_str(p->home_dir, PRIV "/home", "HOME is the private home");
	ok(!p->command, "a command without inside paths stays as it is");
	landlock_policy_free(p);
	manifest_free(m);
}

/* limits.memory: a shared mapping of /dev/zero would be memory no rlimit counts. */
static void test_zero_under_memory_limit(void)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest *m = parse(HEAD "filesystem:\n  read: [/usr]\n");
	struct landlock_policy *p = m ? plan(m, &problems) : NULL;

	ok(p && rule_at(p, "/dev/zero") && rule_at(p, "/dev/full"),
	   "without limits.memory: /dev/zero and /dev/full are granted");
	landlock_policy_free(p);
	manifest_free(m);
	m = parse(HEAD "filesystem:\n  read: [/usr]\nlimits:\n  memory: 64M\n");
	p = m ? plan(m, &problems) : NULL;
	ok(p && !rule_at(p, "/dev/zero") && rule_at(p, "/dev/full") && rule_at(p, "/dev/null"),
	   "with limits.memory: no rule for /dev/zero (/dev/full reads zeros too)");
	landlock_policy_free(p);
	manifest_free(m);
}

static void test_translation(void)
{
	const char *yaml = "skillbox: 1\nname: t\n"
			   "command: [/usr/bin/python3, /skill/main.py, --out, /tmp/x, /skillet]\n"
			   "workdir: /skill/sub\n"
			   "filesystem:\n"
			   "  read: [/usr, \".:/skill\"]\n";
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest *m = parse(yaml);
	struct landlock_policy *p = m ? plan(m, &problems) : NULL;

	if (!ok(p, "a manifest with an absolute command plans"))
		goto out;
	is_str(p->workdir, "/srv/skill/sub", "a workdir below an inside path is translated");
	ok(p->command && strv_length(p->command) == 5, "the command is translated as a whole");
	if (p->command) {
		is_str(p->command[0], "/usr/bin/python3", "an identity path stays");
		is_str(p->command[1], "/srv/skill/main.py", "/skill/main.py becomes the host path");
		is_str(p->command[2], "--out", "an option stays");
		is_str(p->command[3], PRIV "/tmp/x", "/tmp/x goes to the private tmp");
		is_str(p->command[4], "/skillet", "a path that only shares a prefix stays");
	}
	landlock_policy_free(p);
out:
	manifest_free(m);

	m = parse(HEAD "filesystem:\n  read: [/usr]\n");
	p = m ? plan(m, &problems) : NULL;
	ok(p && streq(p->workdir, PRIV "/home"), "no workdir: the skill starts in its HOME");
	landlock_policy_free(p);
	manifest_free(m);
}

/* A manifest that must be refused: one problem naming line:column and the words. */
static void refused(const char *name, const char *yaml, unsigned line, const char *words)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest *m = parse(yaml);
	struct landlock_policy *p = NULL;
	char pos[32];
	int r;

	if (!ok(m, "%s: the manifest itself is valid", name))
		return;
	r = landlock_policy_build(m, &(struct landlock_policy_opts){ .private_dir = PRIV }, &p,
				  &problems);
	snprintf(pos, sizeof(pos), "test.yaml:%u:", line);
	ok(r == -EINVAL && !p && strv_length(problems) == 1 && strstr(problems[0], pos) &&
		   strstr(problems[0], words),
	   "%s: refused at %s%s", name, pos, words);
	if (problems && problems[0])
		diag("%s", problems[0]);
	landlock_policy_free(p);
	manifest_free(m);
}

static void test_refused(void)
{
	refused("egress", HEAD "network:\n  egress:\n    - {host: example.com, ports: [443]}\n", 6,
		"Landlock cannot filter by address");
	refused("dns resolver", HEAD "network:\n  dns: resolver\n", 5, "network.dns");
	refused("hide", HEAD "filesystem:\n  read: [/usr]\n  hide: [/usr/lib/ssh]\n", 6,
		"filesystem.hide: /usr/lib/ssh");
	refused("tmpfs elsewhere", HEAD "filesystem:\n  tmpfs: [{path: /var/cache/x}]\n", 5,
		"only /tmp and /home/skill");
	refused("mapped below an identity path",
		HEAD "filesystem:\n  read: [/usr, \"/opt/tools:/usr/local/bin\"]\n", 5,
		"/usr/local/bin lies in filesystem.read /usr:/usr (test.yaml:5), so the skill would "
		"find /usr/local/bin there, not /opt/tools");
	refused("nested mappings that do not nest on the host",
		HEAD "filesystem:\n  read: [\".:/skill\"]\n  write: [\"/data:/skill/data\"]\n", 6,
		"would find /srv/skill/data there, not /data");
	refused("syscalls.allow socket", HEAD "syscalls:\n  allow: [socket]\n", 5,
		"syscalls.allow: socket");

	{
		_cleanup_strv_free_ char **problems = NULL;
		struct manifest *m = parse(HEAD "filesystem:\n  read: [\".:/skill\"]\n  write: "
						"[\"./out:/skill/out\", /var/tmp]\n");
		struct landlock_policy *p = m ? plan(m, &problems) : NULL;

		ok(p, "mappings that nest the same way on the host are accepted");
		landlock_policy_free(p);
		manifest_free(m);
	}
	{
		_cleanup_strv_free_ char **problems = NULL;
		struct manifest *m = parse(
			HEAD
			"filesystem:\n  read: [/etc]\n  hide: [/etc/shadow]\n  tmpfs: [{path: /srv/t}]\n"
			"network:\n  egress:\n    - {host: example.com, ports: [443]}\n");
		struct landlock_policy *p = m ? plan(m, &problems) : NULL;

		ok(!p && strv_length(problems) == 3,
		   "every problem is reported, not the first only");
		landlock_policy_free(p);
		manifest_free(m);
	}
}

/* A grant of skillbox run's command line, and an optional path. */
static void test_grants_and_optional(void)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest_grants g = { .cwd = "/home/u/work", .default_workdir = SANDBOX_HOME };
	struct manifest_diags d = {};
	struct manifest *m = parse(HEAD "workdir: /skill\n"
					"filesystem:\n  read: [\".:/skill\"]\n");
	struct landlock_policy *p = NULL;
	char *reads[] = { "data", NULL };

	g.read = reads;
	if (!ok(m && manifest_add_grants(m, &g, &d) == 0, "a --read grant merges"))
		goto out;
	p = plan(m, &problems);
	ok(!p && strv_length(problems) == 1 && strstr(problems[0], "command line: ") &&
		   strstr(problems[0], "give the grant its own host path as DST (SRC:SRC)"),
	   "--read data below a mapped workdir is refused, and the message says how to give it");
	STRV_FOREACH (s, problems)
		diag("%s", *s);
out:
	manifest_diags_done(&d);
	landlock_policy_free(p);
	manifest_free(m);

	{
		char yaml[512];
		struct landlock_failure f;
		int fd = -1, abi = landlock_abi();

		snprintf(yaml, sizeof(yaml),
			 HEAD "filesystem:\n  read: [{host: /nonexistent-skillbox-path, optional: "
			      "true}]\n");
		m = parse(yaml);
		problems = strv_free(problems);
		p = m ? plan_at(m, "/tmp", &problems) : NULL;
		ok(p && rule_at(p, "/nonexistent-skillbox-path") &&
			   rule_at(p, "/nonexistent-skillbox-path")->optional,
		   "an optional read path is an optional rule");
		if (p && abi >= 1) {
			/* The private directory is /tmp here: only the optional rule can be
			 * missing. */
			int r;

			free(p->tmp_dir);
			p->tmp_dir = NULL;
			for (size_t i = 0; i < p->n_rules; i++)
				if (p->rules[i].kind == LANDLOCK_RULE_PRIVATE)
					p->rules[i].optional = true;
			r = landlock_ruleset_build(p, abi, &fd, &f);
			ok(r == 0 && rule_at(p, "/nonexistent-skillbox-path")->state ==
					     LANDLOCK_STATE_MISSING,
			   "... which gets no rule when the path does not exist");
			if (fd >= 0)
				close(fd);
		}
		landlock_policy_free(p);
		manifest_free(m);
	}
}

static void test_view(void)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct manifest *m = parse(HEAD "filesystem:\n  read: [/usr]\n  write: [/srv/out]\n");
	struct landlock_policy *p = m ? plan(m, &problems) : NULL;
	struct mount_plan *v = NULL;
	struct mount_lookup l;

	if (!ok(p && landlock_policy_view(p, &v) == 0, "the view builds")) {
		landlock_policy_free(p);
		manifest_free(m);
		return;
	}
	ok(mount_plan_lookup(v, "/usr/bin/env", false, &l) == 0 && l.declared && !l.by_default,
	   "view: /usr/bin/env is declared for reading");
	ok(mount_plan_lookup(v, "/usr/bin/env", true, &l) == 0 && !l.declared,
	   "view: ... not for writing");
	ok(mount_plan_lookup(v, "/srv/out/x", true, &l) == 0 && l.declared,
	   "view: the write path is declared for writing");
	ok(mount_plan_lookup(v, PRIV "/tmp/x", true, &l) == 0 && l.declared && l.by_default,
	   "view: the private tmp is declared, by default");
	ok(mount_plan_lookup(v, "/proc/self/status", false, &l) == 0 && l.declared && l.by_default,
	   "view: /proc is declared, by default");
	ok(mount_plan_lookup(v, "/dev/sda", false, &l) == 0 && !l.declared,
	   "view: /dev/sda is not (only the five devices are)");
	ok(mount_plan_lookup(v, "/", false, &l) == 0 && !l.declared,
	   "view: / cannot be listed (the host's root, not a view's)");
	ok(mount_plan_lookup(v, "/srv", false, &l) == 0 && !l.declared,
	   "view: nor a directory above a rule");
	ok(mount_plan_lookup(v, "/home/u/.ssh/id_rsa", false, &l) == 0 && !l.declared,
	   "view: ~/.ssh is not declared");
	mount_plan_free(v);
	landlock_policy_free(p);
	manifest_free(m);
}

static void test_abi(void)
{
	struct landlock_handled h;
	char buf[256];

	landlock_handled_for_abi(1, &h);
	ok(h.fs == (LL_FS_MAKE_SYM << 1) - 1 && !h.net && !h.scoped,
	   "ABI 1: the first 13 filesystem rights, no net, no scope");
	landlock_handled_for_abi(4, &h);
	ok((h.fs & LL_FS_TRUNCATE) && (h.fs & LL_FS_REFER) && !(h.fs & LL_FS_IOCTL_DEV) &&
		   h.net == (LL_NET_BIND_TCP | LL_NET_CONNECT_TCP) && !h.scoped,
	   "ABI 4: refer, truncate, TCP bind and connect");
	landlock_handled_for_abi(7, &h);
	ok((h.fs & LL_FS_IOCTL_DEV) &&
		   h.scoped == (LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL),
	   "ABI 7: ioctl on devices, signal and abstract unix socket scopes");
	is_str(landlock_access_to_string(LL_FS_EXECUTE | LL_FS_READ_DIR | LL_FS_TRUNCATE, buf,
					 sizeof(buf)),
	       "execute,read_dir,truncate", "rights are named");
	ok(sizeof(struct ll_path_beneath_attr) == 12 && sizeof(struct ll_ruleset_attr) == 24,
	   "the UAPI structs have the kernel's sizes (packed path_beneath: 12 bytes)");
}

/* In a child: apply a ruleset for dir and check what opens. Returns a bitmask of results. */
static int try_in_child(struct landlock_policy *p, int abi, const char *granted,
			const char *granted_w, const char *other)
{
	struct landlock_failure f;
	int fd = -1, status;
	pid_t pid;

	if (landlock_ruleset_build(p, abi, &fd, &f) < 0) {
		diag("ruleset: step %d rule %zd: %s", f.step, f.rule, strerror(f.error));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int res = 0, x;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || landlock_restrict(fd) < 0)
			_exit(99);
		x = open(granted, O_RDONLY | O_CLOEXEC);
		if (x >= 0)
			res |= 1;
		x = open(other, O_RDONLY | O_CLOEXEC);
		if (x < 0 && errno == EACCES)
			res |= 2;
		x = open(granted_w, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (x >= 0)
			res |= 4;
		x = open(granted, O_WRONLY | O_CLOEXEC);
		if (x < 0 && errno == EACCES)
			res |= 8;
		_exit(res);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_apply(void)
{
	char top[] = "/tmp/skillbox-landlock-test-XXXXXX";
	char yaml[1024], ro[256], rw[256], other[256], rof[300], rwf[300], otherf[300], priv[256];
	_cleanup_strv_free_ char **problems = NULL;
	struct landlock_policy *p = NULL;
	struct manifest *m = NULL;
	int abi = landlock_abi(), res;

	if (abi < 1) {
		ok(true, "# SKIP this kernel has no Landlock (%s)", strerror(-abi));
		return;
	}
	if (!mkdtemp(top)) {
		ok(false, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(ro, sizeof(ro), "%s/ro", top);
	snprintf(rw, sizeof(rw), "%s/rw", top);
	snprintf(other, sizeof(other), "%s/other", top);
	snprintf(rof, sizeof(rof), "%s/f", ro);
	snprintf(rwf, sizeof(rwf), "%s/new", rw);
	snprintf(otherf, sizeof(otherf), "%s/f", other);
	mkdir(ro, 0755);
	mkdir(rw, 0755);
	mkdir(other, 0755);
	close(open(rof, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	close(open(otherf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(yaml, sizeof(yaml), HEAD "filesystem:\n  read: [%s]\n  write: [%s]\n", ro, rw);
	snprintf(priv, sizeof(priv), "%s/priv", top);
	m = parse_with(yaml, top);
	p = m ? plan_at(m, priv, &problems) : NULL;
	if (landlock_private_dir_create(priv, getuid(), getgid()) < 0)
		diag("private dir: %s", strerror(errno));
	res = p ? try_in_child(p, abi, rof, rwf, otherf) : -1;
	ok(res >= 0 && (res & 1), "applied: a file of the read path opens");
	ok(res >= 0 && (res & 2), "applied: a file outside every rule fails with EACCES");
	ok(res >= 0 && (res & 4), "applied: a file is created in the write path");
	ok(res >= 0 && (res & 8), "applied: the read path's file does not open for writing");
	ok(p && rule_at(p, "/dev/null") && rule_at(p, "/dev/null")->state == LANDLOCK_STATE_ADDED,
	   "applied: /dev/null got its rule");
	landlock_policy_free(p);
	manifest_free(m);

	/* A write path that is a symbolic link is refused, a read path one gets no rule. */
	{
		char link[300];
		struct landlock_failure f;
		int fd = -1, r;

		snprintf(link, sizeof(link), "%s/link", top);
		if (symlink(rw, link) < 0)
			diag("symlink: %s", strerror(errno));
		snprintf(yaml, sizeof(yaml), HEAD "filesystem:\n  read: [%s]\n", link);
		m = parse_with(yaml, top);
		p = m ? plan_at(m, priv, &problems) : NULL;
		r = p ? landlock_ruleset_build(p, abi, &fd, &f) : -1;
		ok(r == 0 && rule_at(p, link)->state == LANDLOCK_STATE_SYMLINK,
		   "a read path that is a symlink gets no rule of its own");
		if (fd >= 0)
			close(fd);
		landlock_policy_free(p);
		manifest_free(m);
		snprintf(yaml, sizeof(yaml), HEAD "filesystem:\n  write: [%s]\n", link);
		m = parse_with(yaml, top);
		p = m ? plan_at(m, priv, &problems) : NULL;
		fd = -1;
		r = p ? landlock_ruleset_build(p, abi, &fd, &f) : 0;
		ok(r == -ELOOP && f.step == LANDLOCK_STEP_OPEN && f.rule == 0,
		   "a write path that is a symlink fails with ELOOP, naming its rule");
		if (fd >= 0)
			close(fd);
		landlock_policy_free(p);
		manifest_free(m);
		unlink(link);
	}

	/* The private directory: made, owned, removed with what the skill left in it. */
	{
		_cleanup_free_ char *dir = NULL;
		char deep[512];
		struct stat st;
		int r = landlock_private_dir_path(top, "0123", &dir);

		ok(r == 0 && landlock_private_dir_create(dir, getuid(), getgid()) == 0,
		   "the private directory is created");
		ok(dir && landlock_private_dir_create(dir, getuid(), getgid()) == -EEXIST,
		   "... never over something already there");
		snprintf(deep, sizeof(deep), "%s/tmp/a", dir ? dir : "/nonexistent");
		mkdir(deep, 0700);
		snprintf(deep, sizeof(deep), "%s/tmp/a/locked", dir ? dir : "/nonexistent");
		mkdir(deep, 0700);
		chmod(deep, 0);
		snprintf(deep, sizeof(deep), "%s/home/escape", dir ? dir : "/nonexistent");
		if (symlink(ro, deep) < 0)
			diag("symlink: %s", strerror(errno));
		ok(dir && stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
		   "... with mode 0700");
		ok(dir && landlock_private_dir_remove(dir) == 0 && stat(dir, &st) < 0 &&
			   stat(rof, &st) == 0,
		   "removed whole, an unreadable directory included, a symlink not followed");
	}
	landlock_private_dir_remove(priv);
	unlink(rof);
	unlink(otherf);
	unlink(rwf);
	rmdir(ro);
	rmdir(rw);
	rmdir(other);
	rmdir(top);
}

int main(void)
{
	test_rules();
	test_zero_under_memory_limit();
	test_translation();
	test_refused();
	test_grants_and_optional();
	test_view();
	test_abi();
	test_apply();
	return tap_done();
}
