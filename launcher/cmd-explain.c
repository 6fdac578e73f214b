/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "config.h"
#include "identity.h"
#include "profiles.h"
#include "parse-util.h"
#include "run-landlock.h"
#include "run-limits.h"
#include "run-net.h"
#include "run-seccomp.h"
#include "run.h"
#include "secret-file.h"
#include "strv.h"

static void explain_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox explain [--isolation MODE] [--user USER] [--uid-range A-B]\n"
		"                        MANIFEST|DIR\n"
		"       skillbox explain --profiles\n"
		"\n"
		"Prints the policy skillbox would enforce for this manifest, without running\n"
		"anything: the files it includes, who the sandbox user is on the host, the\n"
		"filesystem view as a mount table (and how write paths are mapped), the\n"
		"environment's names, the limits, the network rules (declared hosts are resolved\n"
		"now) and the syscall policy; each grant with the file and line it came from.\n"
		"Secrets are named, never read. --profiles lists the profiles there are.\n"
		"--user and --uid-range are those of run.\n"
		"\n"
		"  --isolation MODE   namespaces (default) or landlock: what `skillbox run\n"
		"                     --isolation landlock` would enforce, and what it would not\n");
}

/* How a write path is mapped for the sandbox user (run.start's policy.fs says the same). */
static void explain_write_mapping(const struct mount_op *o, const struct identity *id)
{
	if (!o->owner_known || id->kind == IDENTITY_CALLER)
		return;
	if (o->idmap == MOUNT_IDMAP_MAPPED)
		printf("; idmapped: its owner, uid %u, is the sandbox user, and new files belong "
		       "to uid %u",
		       (unsigned)o->owner_uid, (unsigned)o->owner_uid);
	else if (o->idmap == MOUNT_IDMAP_FAILED)
		printf("; not idmapped (%s): new files belong to the sandbox user's host uid",
		       strerror(o->idmap_error));
	else
		printf("; owned by the sandbox user's host uid");
}

static void explain_fs(const struct mount_plan *p, const struct manifest *m,
		       const struct identity *id)
{
	printf("filesystem (applied in this order on an empty tmpfs root; everything else is "
	       "absent):\n");
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];
		char size[32];

		printf("  %-24s ", escaped(o->inside));
		switch (o->kind) {
		case MOUNT_OP_BIND: {
			char link[256];
			ssize_t n = readlink(o->host, link, sizeof(link) - 1);

			if (n >= 0) {
				link[n] = 0;
				printf("symlink to %s (recreated from the host's, not followed)",
				       escaped(link));
			} else {
				printf("%s bind of %s", o->writable ? "read-write" : "read-only ",
				       escaped(o->host));
				if (o->writable)
					explain_write_mapping(o, id);
			}
			break;
		}
		case MOUNT_OP_TMPFS:
			printf("read-write tmpfs, %s, %llu inodes%s",
			       format_size(size, sizeof(size), o->size),
			       (unsigned long long)mount_tmpfs_inodes(o->size),
			       o->origin.key && !o->size_declared ? " (default size)" : "");
			break;
		case MOUNT_OP_HIDE:
			printf("hidden (empty, read-only)");
			break;
		case MOUNT_OP_PROC:
			printf("proc of the sandbox's own pid namespace");
			break;
		case MOUNT_OP_DEV:
			printf("minimal dev: null zero full random urandom tty, shm %s%s%s",
			       format_size(size, sizeof(size), o->size), o->devpts ? ", pts" : "",
			       o->zero_unmappable ? "; zero is the host's full (reads zeros, "
						    "cannot be mapped)"
						  : "");
			break;
		case MOUNT_OP_FILE:
			printf("read-only generated file");
			break;
		case MOUNT_OP_OVERLAY: /* only `skillbox learn` plans one */
			printf("overlay of %s, writes discarded", escaped(o->host));
			break;
		}
		if (o->kind == MOUNT_OP_BIND && o->source_optional && access(o->host, F_OK) < 0 &&
		    errno == ENOENT)
			printf(" (optional: absent here, left out)");
		if (o->origin.key) {
			char where[MANIFEST_LOC_MAX];

			printf("  (%s %s)",
			       escaped(manifest_loc_format(o->origin.loc, m->path, false, where,
							   sizeof(where))),
			       escaped(o->origin.key));
		}
		printf("\n");
	}
	printf("  all binds are nosuid,nodev; sources are opened without following symlinks\n");
}

/* FILE:LINE:COL of a manifest location, escaped for printing. */
static const char *where(const struct manifest *m, struct manifest_loc loc, char *buf, size_t size)
{
	return escaped(manifest_loc_format(loc, m->path, false, buf, size));
}

/* Opens the file as `run` would (checks included) but never reads it. */
static void explain_secret_file(const struct manifest *m, const struct manifest_secret *s,
				const char *at)
{
	_cleanup_free_ char *why = NULL;
	struct secret_file f;
	int k;

	k = secret_file_open(s->from_file, m->dir, caller_home(), getuid(), &f, &why);
	if (k == -ENOENT && s->optional) {
		printf("  secret      %s (from file %s, optional: absent, not set)  (%s)\n",
		       escaped(s->name), escaped(s->from_file), at);
		return;
	}
	if (k < 0) {
		printf("  secret      %s (from file %s: REFUSED: %s)  (%s)\n", escaped(s->name),
		       escaped(s->from_file), escaped(why ? why : strerror(-k)), at);
		return;
	}
	printf("  secret      %s (from file %s%s, owner uid %u, mode %04o; no symbolic link "
	       "followed below %s; redacted)  (%s)\n",
	       escaped(s->name), escaped(f.path), s->optional ? ", optional" : "",
	       (unsigned)f.st.st_uid, (unsigned)(f.st.st_mode & 07777), escaped(f.anchor), at);
	secret_file_done(&f);
}

static void explain_env(const struct manifest *m, bool landlock)
{
	char w[MANIFEST_LOC_MAX];

	printf("environment (cleared, then):\n");
	if (landlock)
		printf("  defaults    PATH HOME=<private>/home LANG=C.UTF-8 TMPDIR=<private>/tmp\n");
	else
		printf("  defaults    PATH HOME=%s LANG=C.UTF-8 TMPDIR=/tmp\n", SANDBOX_HOME);
	for (size_t i = 0; i < m->env.n_pass; i++)
		printf("  pass        %s  (%s)\n", escaped(m->env.pass[i].name),
		       where(m, m->env.pass[i].loc, w, sizeof(w)));
	for (size_t i = 0; i < m->env.n_set; i++)
		printf("  set         %s  (%s)\n", escaped(m->env.set[i].name),
		       where(m, m->env.set[i].loc, w, sizeof(w)));
	for (size_t i = 0; i < m->env.n_secrets; i++) {
		const struct manifest_secret *s = &m->env.secrets[i];

		if (s->from_env)
			printf("  secret      %s (from the caller's %s%s; redacted in the audit "
			       "trail)  (%s)\n",
			       escaped(s->name), escaped(s->from_env),
			       s->optional ? ", optional" : "", where(m, s->loc, w, sizeof(w)));
		else
			explain_secret_file(m, s, where(m, s->loc, w, sizeof(w)));
	}
}

/* The files that make up the policy: the manifest, what it includes, the command line. */
static void explain_files(const struct manifest *m)
{
	if (m->n_files <= 1)
		return;
	printf("made of:\n");
	for (size_t i = 0; i < m->n_files; i++) {
		const struct manifest_file *f = &m->files[i];

		printf("  %*s%s", (int)f->depth * 2, "", escaped(f->path));
		if (f->profile)
			printf("  (profile %s)", escaped(f->profile));
		if (f->digest)
			printf("  sha256 %.16s...", f->digest);
		printf("\n");
	}
}

/* For reading one profile's description: what it includes reads as empty. */
static int include_nothing(const char *ref, bool profile, void *userdata,
			   struct manifest_include *ret, const char **ret_problem)
{
	*ret = (struct manifest_include){ .path = strdup(ref),
					  .dir = strdup("/"),
					  .data = strdup("") };
	if (!ret->path || !ret->dir || !ret->data) {
		free(ret->path);
		free(ret->dir);
		free(ret->data);
		*ret = (struct manifest_include){};
		return -ENOMEM;
	}
	return 0;
}

static int list_profiles(void)
{
	_cleanup_strv_free_ char **names = NULL;
	const char *dir = profiles_dir();
	int k;

	k = profiles_list(&names);
	if (k < 0) {
		log_error_errno(k, "profiles: %s", dir ? dir : PROFILES_DIR);
		return EXIT_SKILLBOX_FAILED;
	}
	printf("profiles in %s (include: [NAME, ...]):\n", escaped(dir));
	STRV_FOREACH (n, names) {
		_cleanup_manifest_free_ struct manifest *m = NULL;
		struct manifest_include inc;
		struct manifest_diags d = {};
		const char *problem = NULL;

		if (profiles_include(*n, true, NULL, &inc, &problem) < 0) {
			printf("  %-10s (unreadable: %s)\n", escaped(*n),
			       escaped(problem ? problem : "?"));
			continue;
		}
		/* Its description line, without reading what it includes. */
		k = manifest_parse(inc.data, inc.len,
				   &(struct manifest_parse_opts){ .path = inc.path,
								  .dir = inc.dir,
								  .include = include_nothing,
								  .partial = true },
				   &m, &d);
		printf("  %-10s %s\n", escaped(*n),
		       escaped(m && m->description ? m->description : ""));
		manifest_diags_done(&d);
		free(inc.path);
		free(inc.dir);
		free(inc.id);
		free(inc.digest);
		free(inc.data);
	}
	return 0;
}

static void explain_command(const struct manifest *m)
{
	printf("command:");
	STRV_FOREACH (a, m->command)
		printf(" %s", escaped(*a));
	if (!m->command)
		printf(" none: the program and its arguments are given after -- "
		       "(a script path gets its interpreter)");
	printf("\n");
}

/* skillbox explain --isolation landlock. */
static int explain_landlock(struct manifest *m, struct identity *id)
{
	_cleanup_free_ char *who = NULL;
	_cleanup_free_ char *error = NULL;
	struct run_landlock *l = NULL;
	struct seccomp_policy *seccomp = NULL;
	struct run_limits limits = { .cgroup_mount_fd = -1 };
	int k;

	k = run_landlock_new(
		&(struct run_landlock_opts){ .m = m, .identity = id, .plan_only = true }, &l,
		&error);
	if (k < 0) {
		for (char *line = error, *next; line && *line; line = next) {
			next = strchrnul(line, '\n');
			if (*next)
				*next++ = 0;
			log_error("landlock: %s", line);
		}
		return EXIT_SKILLBOX_FAILED;
	}
	k = run_limits_prepare(&m->limits, false, true, "", &limits);
	if (k >= 0)
		k = run_seccomp_build(m, m->audit.trace, run_limits_limit_shared_memory(&limits),
				      true, &seccomp, &error);
	if (k < 0) {
		log_error("seccomp: %s", error ? error : strerror(-k));
		run_limits_done(&limits);
		run_landlock_free(l);
		return EXIT_SKILLBOX_FAILED;
	}

	printf("skill: %s (%s)\n", escaped(m->name), escaped(m->path));
	explain_files(m);
	explain_command(m);
	who = identity_describe(id);
	if (geteuid() == 0)
		printf("identity: no user namespace: the skill is its host uid, without "
		       "supplementary groups, no capabilities, no_new_privs; skillbox itself "
		       "becomes that uid before it starts the sandbox\n");
	else
		printf("identity: no user namespace: the skill is its host uid, with the caller's "
		       "groups, no capabilities, no_new_privs\n");
	printf("host uid: %s\n", who ? who : "?");
	run_landlock_explain(l, stdout);
	printf("\n");
	explain_env(m, true);
	printf("\n");
	run_limits_explain(&limits, m->limits.timeout_usec, m->limits.output, 0, stdout);
	printf("\n");
	printf("network:\n  none: no network namespace; sockets other than AF_UNIX are refused "
	       "(seccomp, audited), TCP bind and connect denied (Landlock)\n\n");
	seccomp_policy_explain(seccomp, stdout);
	seccomp_policy_free(seccomp);
	run_limits_done(&limits);
	run_landlock_free(l);
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	enum {
		OPT_USER = 256,
		OPT_UID_RANGE,
		OPT_ISOLATION,
	};
	static const struct option options[] = {
		{ "user", required_argument, NULL, OPT_USER },
		{ "uid-range", required_argument, NULL, OPT_UID_RANGE },
		{ "help", no_argument, NULL, 'h' },
		{ "profiles", no_argument, NULL, 'p' },
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		GRANT_OPTIONS,
		{},
	};
	enum run_isolation isolation = RUN_ISOLATION_NAMESPACES;
	_cleanup_(grants_done) struct manifest_grants grants = {};
	struct identity id = IDENTITY_INIT;
	_cleanup_free_ char *who = NULL;
	const char *uid_range = NULL;
	bool user_given = false;
	uid_t user_uid = 0;
	gid_t user_gid = 0;
	_cleanup_free_ struct mount_file *files = NULL;
	_cleanup_free_ char *error = NULL;
	struct manifest *m = NULL;
	struct run_net *net = NULL;
	struct seccomp_policy *seccomp = NULL;
	struct mount_plan *plan = NULL;
	struct run_limits limits = { .cgroup_mount_fd = -1 };
	struct run_net_opts net_opts;
	struct sandbox_net_hook hook;
	const struct manifest_limits *l;
	uid_t host_uid;
	gid_t host_gid;
	size_t n_files = 0;
	int c, k, status = EXIT_SKILLBOX_FAILED;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		k = grant_option(&grants, c, optarg);
		if (k < 0)
			return log_error_errno(k, "explain"), EXIT_SKILLBOX_FAILED;
		if (k > 0)
			continue;
		switch (c) {
		case OPT_USER:
		case OPT_UID_RANGE:
			if (geteuid() != 0) {
				log_error("explain: --%s is only for callers that are root",
					  c == OPT_USER ? "user" : "uid-range");
				return EXIT_SKILLBOX_FAILED;
			}
			if (c == OPT_UID_RANGE) {
				uid_range = optarg;
			} else if (identity_parse_user(optarg, &user_uid, &user_gid, &error) < 0) {
				log_error("%s", error);
				return EXIT_SKILLBOX_FAILED;
			} else {
				user_given = true;
			}
			break;
		case 'h':
			explain_help(stdout);
			return 0;
		case 'p':
			return list_profiles();
		case OPT_ISOLATION:
			if (run_isolation_from_string(optarg, &isolation) < 0) {
				log_error("explain: --isolation: expected namespaces or landlock, "
					  "got '%s'",
					  optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		default:
			explain_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind != argc - 1) {
		log_error("explain: expected exactly one MANIFEST or DIR");
		return EXIT_SKILLBOX_FAILED;
	}
	if (manifest_load_full(argv[optind], &grants, &m, NULL, NULL) < 0)
		return EXIT_SKILLBOX_FAILED;
	/* Nothing is claimed: a per-run uid is only described. */
	k = identity_choose(&id, user_given, user_uid, user_gid, uid_range, false, &error);
	if (k < 0) {
		log_error("%s", error);
		goto out;
	}
	if (isolation == RUN_ISOLATION_LANDLOCK) {
		status = explain_landlock(m, &id);
		goto out;
	}
	/* Whether the write paths can be idmapped is asked of the kernel, with the range's
	   first uid standing in for the per-run one (see below). */
	host_uid = id.kind == IDENTITY_PER_RUN ? id.range.first : id.uid;
	host_gid = id.kind == IDENTITY_PER_RUN ? id.range.first : id.gid;
	l = &m->limits;

	net_opts = (struct run_net_opts){
		.m = m,
		.host_uid = host_uid,
		.host_gid = host_gid,
		.run_id = "",
		.ask_fd = -1, /* explain has no --ask */
	};
	k = run_net_new(&net_opts, &net);
	if (k >= 0)
		k = run_net_prepare(net, &hook, &files, &n_files, &error);
	if (k < 0) {
		log_error("network: %s", error ? error : strerror(-k));
		goto out;
	}
	k = run_limits_prepare(&m->limits, false, false, "", &limits);
	if (k < 0) {
		log_error_errno(k, "limits");
		goto out;
	}
	k = run_seccomp_build(m, m->audit.trace, run_limits_limit_shared_memory(&limits), false,
			      &seccomp, &error);
	if (k < 0) {
		log_error("seccomp: %s", error ? error : strerror(-k));
		goto out;
	}
	k = mount_plan_build(m,
			     &(struct mount_plan_opts){
				     .terminal = isatty(STDIN_FILENO) || isatty(STDOUT_FILENO),
				     .zero_unmappable = run_limits_limit_shared_memory(&limits),
				     .files = files,
				     .n_files = n_files },
			     &plan);
	if (k < 0) {
		log_error_errno(k, "filesystem: planning the view");
		goto out;
	}
	/*
	 * The idmapped copies are made as a run would make them, and dropped: the kernel alone
	 * knows whether it allows them.
	 */
	if (id.kind == IDENTITY_PER_RUN)
		id.uid = id.gid = id.range.first;
	k = identity_map_writes(&id, plan, m->path, &error);
	if (k < 0) {
		log_error("%s", error);
		goto out;
	}
	if (id.kind == IDENTITY_PER_RUN)
		id.uid = id.gid = 0;
	mount_plan_close_trees(plan);
	who = identity_describe(&id);
	if (l->memory != MANIFEST_UNSET) {
		uint64_t declared = 0;
		char a[32], b[32];

		k = mount_plan_fit_tmpfs(plan, l->memory, &declared);
		if (k < 0) {
			log_error("%s:%u:%u: limits.memory %s: the declared filesystem.tmpfs sizes "
				  "(%s) do not fit in it with /tmp, HOME and /dev/shm",
				  m->path, l->memory_loc.line, l->memory_loc.column,
				  format_size(a, sizeof(a), l->memory),
				  format_size(b, sizeof(b), declared));
			goto out;
		}
	}

	printf("skill: %s (%s)\n", escaped(m->name), escaped(m->path));
	explain_files(m);
	explain_command(m);
	printf("workdir: %s\n", escaped(m->workdir ? m->workdir : SANDBOX_HOME));
	printf("identity: uid %u / gid %u inside, no capabilities, no_new_privs\n", SANDBOX_UID,
	       SANDBOX_GID);
	printf("host uid: %s\n", who ? escaped(who) : "?");
	printf("namespaces: user mount pid net ipc uts cgroup (nested user namespaces "
	       "forbidden)\n\n");
	explain_fs(plan, m, &id);
	printf("\n");
	explain_env(m, false);
	printf("\n");
	run_limits_explain(&limits, l->timeout_usec, l->output, mount_plan_tmpfs_total(plan),
			   stdout);
	printf("\n");
	run_net_explain(net, stdout);
	printf("\n");
	if (seccomp)
		seccomp_policy_explain(seccomp, stdout);
	else
		printf("syscalls: no filter\n");
	status = 0;
out:
	identity_done(&id);
	run_net_free(net);
	run_limits_done(&limits);
	seccomp_policy_free(seccomp);
	mount_plan_free(plan);
	manifest_free(m);
	return status;
}
