/* SPDX-License-Identifier: MIT */
/*
 * `skillbox run --isolation landlock`: the run without namespaces, for hosts where user
 * namespaces are not available (a container runtime's seccomp profile, a sysctl, an LSM).
 *
 * What keeps the skill in:
 *   - Landlock (landlock/): the declared paths with the rights their kind gives, /proc
 *     read-only, five devices, the run's private directory for /tmp and HOME; TCP bind and
 *     connect denied; signals and abstract unix sockets scoped to the sandbox; ptrace and
 *     the ptrace-guarded /proc files of processes outside it refused by the kernel.
 *   - seccomp (seccomp/, host_namespaces): sockets other than AF_UNIX, System V IPC and
 *     POSIX message queues, metadata changes by path, and scheduling and limit changes of
 *     other processes refused and audited, on top of the profile.
 *   - The skill's identity: a root caller's skillbox becomes the skill's uid (a per-run
 *     uid, the write paths' unprivileged owner, or --user: identity_landlock_writes()), without
 *     supplementary groups or capabilities, once it has opened what it needs (manifest,
 *     secrets, audit file, the ruleset's paths) and before it starts the sandbox: nothing
 *     of the run is root from then on. no_new_privs always.
 *   - skillbox's init, the subreaper of the skill's processes, kills all of them when the
 *     skill exits, on timeout, and when skillbox dies.
 *
 * What does not: there is no pid, network, mount, IPC, UTS or cgroup namespace. The
 * statements of policy.isolation and `skillbox explain --isolation landlock` say exactly
 * what follows from that; docs/design-notes.md has the reasoning.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "landlock-abi.h"
#include "landlock-apply.h"
#include "landlock-policy.h"
#include "parse-util.h"
#include "run-landlock.h"
#include "strv.h"

struct run_landlock {
	struct run_landlock_opts o;
	struct landlock_policy *policy;
	int abi;	 /* the kernel's, or -errno */
	uint64_t errata; /* ABI 7's fixed issues */
	char *private_dir;
	struct mount_plan *view; /* the rules as binds, until run_landlock_view() takes it */
	bool created;		 /* private_dir exists and is ours to remove */
	int ruleset_fd;
	struct run_landlock_meta meta;
	struct seccomp_emulator emulator;
};

/* What the mode enforces, for policy.isolation and explain. */
static const char *const enforced[] = {
	"files: only the rules of policy.fs open (Landlock); anything else fails with EACCES",
	"network: sockets other than AF_UNIX refused by seccomp (syscall.deny); TCP bind and "
	"connect denied by Landlock",
	"signals: only to processes of the sandbox (Landlock scope); others get EPERM",
	"abstract unix sockets: only those of processes of the sandbox (Landlock scope)",
	"other processes: ptrace refused (seccomp, Landlock); their /proc/PID/environ, mem, fd, "
	"maps, cwd and root refused (Landlock's ptrace rule)",
	"System V IPC and POSIX message queues: refused by seccomp (no IPC namespace)",
	"mode and time changes by path (chmod, utimensat), which Landlock does not cover: "
	"performed by skillbox for the skill inside the write paths only, refused and audited "
	"elsewhere; ownership and extended-attribute changes by path: refused by seccomp",
	"scheduling, priority and resource limits of other processes: refused by seccomp",
	"identity: no capabilities, no_new_privs; a root caller's skillbox becomes an "
	"unprivileged uid (a per-run uid, the write paths' owner, or --user) without "
	"supplementary groups before it starts the "
	"sandbox, so that neither the skill nor skillbox's init and supervisor are root",
	"processes left behind: killed with the skill, on timeout and when skillbox dies "
	"(skillbox's init is their subreaper)",
};

static const char *const not_enforced[] = {
	"pid namespace: the skill sees every host process in /proc (pid, command line, status) "
	"and can signal none of them",
	"network namespace: /proc/net shows the host's interfaces, routes and connections",
	"mount namespace: paths keep their host names; stat(), access(), readlink(), "
	"getxattr() and inotify work on any path the uid may reach: only opening and changing "
	"are controlled",
	"unix sockets bound to a path: connect() is not controlled by Landlock (ABI 7); file "
	"permissions decide",
	"tmpfs sizes: /tmp and HOME are directories on the host's filesystem, without a size "
	"limit",
	"cgroup: none for the sandbox; limits.memory is private memory per process (RLIMIT_DATA) "
	"with shared anonymous memory, memfd, System V shared memory and /dev/zero refused; "
	"limits.processes (RLIMIT_NPROC) counts every process of the skill's uid on the host",
	"UTS and cgroup namespaces: the skill sees the host's hostname and cgroup paths",
	"file refusals: the kernel does not report Landlock's denials to skillbox; each access "
	"is recorded only with --trace files (file.open, declared false)",
	"processes outlive the run only if skillbox's init itself is killed with SIGKILL",
};

static int fail_msg(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail_msg(char **ret_error, int r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	*ret_error = buf_steal(&b);
	return r;
}

static const char *abi_problem(int abi)
{
	switch (abi) {
	case -ENOSYS:
		return "this kernel has no Landlock (CONFIG_SECURITY_LANDLOCK)";
	case -EOPNOTSUPP:
		return "Landlock is built into this kernel but not enabled: add landlock to the "
		       "lsm= boot parameter";
	case -EPERM:
		return "a seccomp filter refuses Landlock's system calls (a container runtime's "
		       "profile?)";
	}
	return abi < 0 ? "Landlock cannot be queried" : NULL;
}

/* Where the private directory goes: the caller's TMPDIR when absolute, else /tmp. */
static const char *private_base(void)
{
	const char *t = getenv("TMPDIR");

	return t && t[0] == '/' ? t : "/tmp";
}

static char *join_problems(char **problems)
{
	struct buf b = BUF_INIT;

	STRV_FOREACH (p, problems)
		buf_printf(&b, "%s%s", p == problems ? "" : "\n", *p);
	return buf_steal(&b);
}

static char *describe_ruleset_failure(const struct run_landlock *l,
				      const struct landlock_failure *f)
{
	const struct landlock_rule *r = f->rule >= 0 ? &l->policy->rules[f->rule] : NULL;
	char where[MANIFEST_LOC_MAX];
	struct buf b = BUF_INIT;

	if (!r) {
		buf_printf(&b, "creating the ruleset: %s", strerror(f->error));
		return buf_steal(&b);
	}
	if (r->key)
		buf_printf(&b, "%s: %s %s: ",
			   manifest_loc_format(r->loc, l->o.m->path, true, where, sizeof(where)),
			   r->key, r->path);
	else
		buf_printf(&b, "%s: ", r->path);
	if (f->step == LANDLOCK_STEP_OPEN && f->error == ELOOP && r->kind == LANDLOCK_RULE_WRITE)
		buf_puts(&b,
			 "it is, or goes through, a symbolic link: write paths must be the real "
			 "directory or file, and paths are opened without following symbolic "
			 "links");
	else if (f->step == LANDLOCK_STEP_OPEN && f->error == ELOOP)
		buf_puts(&b, "the path goes through a symbolic link, and paths are opened without "
			     "following symbolic links");
	else if (f->step == LANDLOCK_STEP_OPEN)
		buf_printf(&b, "opening it: %s", strerror(f->error));
	else
		buf_printf(&b, "adding its rule: %s", strerror(f->error));
	return buf_steal(&b);
}

int run_landlock_new(const struct run_landlock_opts *o, struct run_landlock **ret, char **ret_error)
{
	_cleanup_strv_free_ char **problems = NULL;
	struct run_landlock *l;
	struct landlock_failure f;
	const char *why;
	int k;

	*ret_error = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct run_landlock){ .o = *o, .ruleset_fd = -1 };
	l->abi = landlock_abi();
	l->errata = l->abi >= 7 ? landlock_errata() : 0;

	why = abi_problem(l->abi);
	if (!o->plan_only && why) {
		k = fail_msg(ret_error, l->abi, "%s; --isolation landlock cannot run here", why);
		goto fail;
	}
	if (!o->plan_only && l->abi < LANDLOCK_MIN_ABI) {
		k = fail_msg(ret_error, -EOPNOTSUPP,
			     "this kernel's Landlock ABI is %d; --isolation landlock needs ABI %d "
			     "(Linux 6.12 or later): older ones cannot keep signals and abstract "
			     "unix sockets inside the sandbox",
			     l->abi, LANDLOCK_MIN_ABI);
		goto fail;
	}

	if (o->plan_only) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s/skillbox-%s", private_base(), "RUN");
		l->private_dir = buf_steal(&b);
		k = l->private_dir ? 0 : -ENOMEM;
	} else {
		k = landlock_private_dir_path(private_base(), o->run_id, &l->private_dir);
		if (k < 0) {
			fail_msg(ret_error, k, "the private directory's base %s: %s",
				 private_base(), strerror(-k));
			goto fail;
		}
	}
	if (k >= 0)
		k = landlock_policy_build(o->m,
					  &(struct landlock_policy_opts){
						  .private_dir = l->private_dir,
					  },
					  &l->policy, &problems);
	if (k == -EINVAL && problems) {
		*ret_error = join_problems(problems);
		goto fail;
	}
	if (k < 0)
		goto fail;
	if (o->identity) {
		k = landlock_policy_view(l->policy, &l->view);
		if (k < 0)
			goto fail;
		k = identity_landlock_writes(o->identity, l->view, o->m->path, ret_error);
		if (k < 0)
			goto fail;
		l->o.uid = o->identity->uid;
		l->o.gid = o->identity->gid;
	}
	if (o->plan_only) {
		*ret = l;
		return 0;
	}

	k = landlock_private_dir_create(l->private_dir, l->o.uid, l->o.gid);
	if (k < 0) {
		fail_msg(ret_error, k, "creating the private directory %s: %s", l->private_dir,
			 strerror(-k));
		goto fail;
	}
	l->created = true;
	k = landlock_ruleset_build(l->policy, l->abi, &l->ruleset_fd, &f);
	if (k < 0) {
		*ret_error = describe_ruleset_failure(l, &f);
		goto fail;
	}
	l->meta = (struct run_landlock_meta){
		.policy = l->policy,
		.uid = l->o.uid,
		.gid = l->o.gid,
		.switch_fsuid = geteuid() == 0,
	};
	l->emulator = (struct seccomp_emulator){ run_landlock_meta_handle, &l->meta };
	*ret = l;
	return 0;
fail:
	run_landlock_free(l);
	if (!*ret_error)
		*ret_error = strdup(strerror(-k));
	return k;
}

struct run_landlock *run_landlock_free(struct run_landlock *l)
{
	if (!l)
		return NULL;
	safe_close(l->ruleset_fd);
	/* The sandbox is gone (init swept it): what it left in the directory goes too. */
	if (l->created && landlock_private_dir_remove(l->private_dir) < 0)
		fprintf(stderr, "skillbox: landlock: removing the private directory %s: %s\n",
			l->private_dir, strerror(errno));
	mount_plan_free(l->view);
	landlock_policy_free(l->policy);
	free(l->private_dir);
	free(l);
	return NULL;
}

int run_landlock_env(const struct run_landlock *l, struct sandbox_env *env)
{
	int k = sandbox_env_set_default(env, "HOME", l->policy->home_dir);

	return k < 0 ? k : sandbox_env_set_default(env, "TMPDIR", l->policy->tmp_dir);
}

int run_landlock_spec(const struct run_landlock *l, struct sandbox_spec *spec, char **argv)
{
	spec->landlock.ruleset_fd = l->ruleset_fd;
	spec->landlock.private_dir = l->private_dir;
	spec->workdir = l->policy->workdir;
	/* argv begins with the manifest's command; the caller's arguments follow it. */
	for (size_t i = 0; l->policy->command && l->policy->command[i] && argv && argv[i]; i++) {
		char *c;

		if (streq(argv[i], l->policy->command[i]))
			continue;
		c = strdup(l->policy->command[i]);
		if (!c)
			return -ENOMEM;
		free(argv[i]);
		argv[i] = c;
	}
	return 0;
}

int run_landlock_view(struct run_landlock *l, struct mount_plan **ret)
{
	if (l->view) {
		*ret = TAKE_PTR(l->view);
		return 0;
	}
	return landlock_policy_view(l->policy, ret);
}

const struct seccomp_emulator *run_landlock_emulator(struct run_landlock *l)
{
	return l && l->emulator.handle ? &l->emulator : NULL;
}

int run_landlock_become_skill_user(struct run_landlock *l)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int last = (int)cap_max_bits() - 1;

	if (!l->o.set_user)
		return 0;
	/* Empty for everything cloned from here on: init and the skill never hold one. */
	for (int c = 0; c <= last; c++)
		if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
			return -errno;
	if (cap_reset_ambient() < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(l->o.gid, l->o.gid, l->o.gid) < 0 ||
	    setresuid(l->o.uid, l->o.uid, l->o.uid) < 0)
		return -errno;
	/* Leaving uid 0 for good cleared every set; make sure of it. */
	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	if (d[0].permitted || d[1].permitted || d[0].effective || d[1].effective)
		return -EPERM;
	/* Lookups and changes for the skill need no fsuid switch any more. */
	l->meta.switch_fsuid = false;
	return 0;
}

void run_landlock_forget_ruleset(struct run_landlock *l)
{
	if (l)
		l->ruleset_fd = safe_close(l->ruleset_fd);
}

static const char *state_to_string(enum landlock_rule_state s)
{
	switch (s) {
	case LANDLOCK_STATE_PLANNED:
		return "planned";
	case LANDLOCK_STATE_ADDED:
		return "rule";
	case LANDLOCK_STATE_SYMLINK:
		return "symlink, not followed: no rule";
	case LANDLOCK_STATE_MISSING:
		return "missing (optional): no rule";
	}
	return "?";
}

static void audit_rights(struct audit *a, const char *key, uint64_t v)
{
	char buf[256];

	audit_array_begin(a, key);
	landlock_access_to_string(v, buf, sizeof(buf));
	for (char *s = buf, *save = NULL, *t; (t = strtok_r(s, ",", &save)); s = NULL)
		audit_str(a, NULL, t);
	audit_array_end(a);
}

void run_landlock_audit_fs(const struct run_landlock *l, struct audit *a)
{
	if (!a)
		return;
	audit_begin(a, "policy.fs");
	audit_str(a, "isolation", "landlock");
	audit_array_begin(a, "rules");
	for (size_t i = 0; i < l->policy->n_rules; i++) {
		const struct landlock_rule *r = &l->policy->rules[i];
		char size[32];

		audit_object_begin(a, NULL);
		audit_str(a, "path", r->path);
		audit_str(a, "kind", landlock_rule_kind_to_string(r->kind));
		if (r->inside)
			audit_str(a, "inside", r->inside);
		audit_str(a, "access",
			  r->kind == LANDLOCK_RULE_WRITE || r->kind == LANDLOCK_RULE_PRIVATE ||
					  (r->access & LL_FS_WRITE_FILE)
				  ? "rw"
				  : "ro");
		audit_rights(a, "rights", r->access);
		audit_str(a, "state", state_to_string(r->state));
		if (r->kind == LANDLOCK_RULE_PRIVATE) {
			if (r->tmpfs_size)
				audit_str(a, "size",
					  format_size(size, sizeof(size), r->tmpfs_size));
			audit_bool(a, "size_enforced", false);
		}
		if (r->key) {
			char where[MANIFEST_LOC_MAX];

			audit_str(a, "from", r->key);
			audit_uint(a, "line", r->loc.line);
			audit_str(a, "origin",
				  manifest_loc_format(r->loc, l->o.m->path, false, where,
						      sizeof(where)));
		}
		audit_object_end(a);
	}
	audit_array_end(a);
	audit_str(a, "workdir", l->policy->workdir);
	if (l->policy->command) {
		audit_array_begin(a, "command");
		STRV_FOREACH (c, l->policy->command)
			audit_str(a, NULL, *c);
		audit_array_end(a);
	}
	audit_str(a, "otherwise", "EACCES (Landlock); not recorded unless --trace files");
	if (audit_end(a) < 0)
		fprintf(stderr, "skillbox: audit: writing the audit trail failed\n");
}

static void audit_strs(struct audit *a, const char *key, const char *const *v, size_t n)
{
	audit_array_begin(a, key);
	for (size_t i = 0; i < n; i++)
		audit_str(a, NULL, v[i]);
	audit_array_end(a);
}

void run_landlock_audit_isolation(const struct run_landlock *l, struct audit *a, uid_t host_uid)
{
	struct landlock_handled h;

	if (!a)
		return;
	landlock_handled_for_abi(l->abi, &h);
	audit_begin(a, "policy.isolation");
	audit_str(a, "mode", "landlock");
	audit_array_begin(a, "namespaces");
	audit_array_end(a);
	audit_int(a, "landlock_abi", l->abi);
	audit_uint(a, "landlock_errata", l->errata);
	audit_object_begin(a, "handled");
	audit_rights(a, "fs", h.fs);
	audit_array_begin(a, "net");
	if (h.net & LL_NET_BIND_TCP)
		audit_str(a, NULL, "bind_tcp");
	if (h.net & LL_NET_CONNECT_TCP)
		audit_str(a, NULL, "connect_tcp");
	audit_array_end(a);
	audit_array_begin(a, "scoped");
	if (h.scoped & LL_SCOPE_ABSTRACT_UNIX_SOCKET)
		audit_str(a, NULL, "abstract_unix_socket");
	if (h.scoped & LL_SCOPE_SIGNAL)
		audit_str(a, NULL, "signal");
	audit_array_end(a);
	audit_object_end(a);
	audit_uint(a, "host_uid", host_uid);
	audit_bool(a, "uid_switched", l->o.set_user);
	audit_str(a, "private_dir", l->private_dir);
	audit_strs(a, "enforced", enforced, ELEMENTSOF(enforced));
	audit_strs(a, "not_enforced", not_enforced, ELEMENTSOF(not_enforced));
	if (audit_end(a) < 0)
		fprintf(stderr, "skillbox: audit: writing the audit trail failed\n");
}

void run_namespaces_audit(struct audit *a)
{
	static const char *const namespaces[] = { "user", "mount", "pid",   "net",
						  "ipc",  "uts",   "cgroup" };

	if (!a)
		return;
	audit_begin(a, "policy.isolation");
	audit_str(a, "mode", "namespaces");
	audit_strs(a, "namespaces", namespaces, ELEMENTSOF(namespaces));
	if (audit_end(a) < 0)
		fprintf(stderr, "skillbox: audit: writing the audit trail failed\n");
}

void run_landlock_explain(const struct run_landlock *l, FILE *f)
{
	const char *why = abi_problem(l->abi);

	fprintf(f, "isolation: landlock (no user, mount, pid, network, ipc, uts or cgroup "
		   "namespace)\n");
	if (why)
		fprintf(f, "  this kernel: %s: a run would be refused\n", why);
	else if (l->abi < LANDLOCK_MIN_ABI)
		fprintf(f,
			"  this kernel: Landlock ABI %d, but ABI %d is needed: a run would be "
			"refused\n",
			l->abi, LANDLOCK_MIN_ABI);
	else
		fprintf(f, "  this kernel: Landlock ABI %d\n", l->abi);
	fprintf(f, "  enforced:\n");
	for (size_t i = 0; i < ELEMENTSOF(enforced); i++)
		fprintf(f, "    - %s\n", enforced[i]);
	fprintf(f, "  not enforced:\n");
	for (size_t i = 0; i < ELEMENTSOF(not_enforced); i++)
		fprintf(f, "    - %s\n", not_enforced[i]);

	fprintf(f, "\nfilesystem (Landlock rules on host paths; everything else fails with "
		   "EACCES):\n");
	for (size_t i = 0; i < l->policy->n_rules; i++) {
		const struct landlock_rule *r = &l->policy->rules[i];

		fprintf(f, "  %-24s ", escaped(r->path));
		switch (r->kind) {
		case LANDLOCK_RULE_READ:
			fprintf(f, "read, execute");
			break;
		case LANDLOCK_RULE_WRITE:
			fprintf(f, "read, write, create, remove, rename, truncate");
			break;
		case LANDLOCK_RULE_PRIVATE:
			fprintf(f, "private to the run (%s), read-write, size not enforced",
				streq(r->inside, "/tmp") ? "TMPDIR" : "HOME");
			break;
		case LANDLOCK_RULE_PROC:
			fprintf(f, "read (the host's proc)");
			break;
		case LANDLOCK_RULE_DEVICE:
			fprintf(f, (r->access & LL_FS_WRITE_FILE) ? "read, write" : "read");
			break;
		}
		if (r->inside && r->kind != LANDLOCK_RULE_PRIVATE)
			fprintf(f, " (declared at %s)", escaped(r->inside));
		if (r->key) {
			char where[MANIFEST_LOC_MAX];

			fprintf(f, "  (%s %s)",
				escaped(manifest_loc_format(r->loc, l->o.m->path, false, where,
							    sizeof(where))),
				r->key);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "  paths are opened without following symbolic links; a declared symbolic link "
		   "gets no rule of its own\n");
	fprintf(f, "  the skill starts in %s", escaped(l->policy->workdir));
	if (l->policy->command) {
		fprintf(f, "; the command becomes");
		STRV_FOREACH (c, l->policy->command)
			fprintf(f, " %s", escaped(*c));
	}
	fprintf(f, "\n");
}
