/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "fd-util.h"
#include "identity.h"
#include "missing-syscalls.h"
#include "parse-util.h"
#include "run-state.h"
#include "script.h"
#include "strv.h"

extern char **environ;

static void run_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox run [OPTIONS] MANIFEST|DIR [-- ARGS...]\n"
		"\n"
		"Runs the manifest's command, with ARGS appended, inside the sandbox the manifest\n"
		"declares, and exits with the command's status.\n"
		"\n"
		"  --audit PATH|-     append the audit trail to PATH (- for stderr)\n"
		"  --audit-fd N       write the audit trail to descriptor N\n"
		"  --timeout DUR      wall-clock limit (500ms, 30s, 2m, 1h); overrides the manifest\n"
		"  --trace LIST       also trace exec,files,connect (comma separated)\n"
		"  --user USER        run as root: the host user the sandbox user maps to\n"
		"                     (default: a uid of the run's own); refused for others\n"
		"  --uid-range A-B    run as root: the range per-run uids come from (default:\n"
		"                     $SKILLBOX_UID_RANGE, else 1879048192-1879113727)\n"
		"  --ask              ask on the terminal before an undeclared connection or DNS\n"
		"                     name is allowed (once, for the run, added to the manifest)\n"
		"  --ask-timeout DUR  how long a question waits for an answer (default 60s), then\n"
		"                     it is denied\n"
		"  --isolation MODE   namespaces (default), or landlock where user namespaces\n"
		"                     are not available: no pid, network or mount namespace;\n"
		"                     see 'skillbox explain --isolation landlock'\n"
		"\n"
		"Grants for this run only, added to the manifest (which is not changed), checked\n"
		"like its entries and recorded as coming from the command line. Each may repeat.\n"
		"A relative SRC is from the current directory; without DST it appears at the same\n"
		"relative place below the sandbox's working directory, an absolute one at its path.\n"
		"  --read SRC[:DST]   bind SRC read-only (filesystem.read)\n"
		"  --write SRC[:DST]  bind SRC read-write (filesystem.write)\n"
		"  --env NAME         pass the variable NAME (env.pass)\n"
		"  --secret NAME[=VAR]  the secret NAME from the caller's VAR (default NAME)\n"
		"  --allow HOST:PORT[/tcp|/udp]  reach HOST (a name, host-loopback, an address,\n"
		"                     [IPv6] or a network) on PORT (network.egress)\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: the skill's own; 128+N when it died by signal N; 124 on timeout;\n"
		"125 when skillbox failed or refused; 126 not executable; 127 not found.\n");
}

const char *run_isolation_to_string(enum run_isolation i)
{
	return i == RUN_ISOLATION_LANDLOCK ? "landlock" : "namespaces";
}

int run_isolation_from_string(const char *s, enum run_isolation *ret)
{
	if (streq(s, "namespaces"))
		*ret = RUN_ISOLATION_NAMESPACES;
	else if (streq(s, "landlock"))
		*ret = RUN_ISOLATION_LANDLOCK;
	else
		return -EINVAL;
	return 0;
}

static int parse_trace(const char *s, unsigned *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned bit = manifest_trace_from_string(t);

		if (!bit)
			return -EINVAL;
		*ret |= bit;
	}
	return 0;
}

/* Returns 0 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct run_options *o)
{
	enum {
		OPT_AUDIT = 256,
		OPT_AUDIT_FD,
		OPT_TIMEOUT,
		OPT_TRACE,
		OPT_USER,
		OPT_UID_RANGE,
		OPT_ASK,
		OPT_ASK_TIMEOUT,
		OPT_ISOLATION,
	};
	static const struct option options[] = {
		{ "audit", required_argument, NULL, OPT_AUDIT },
		{ "audit-fd", required_argument, NULL, OPT_AUDIT_FD },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "user", required_argument, NULL, OPT_USER },
		{ "uid-range", required_argument, NULL, OPT_UID_RANGE },
		GRANT_OPTIONS,
		{ "ask", no_argument, NULL, OPT_ASK },
		{ "ask-timeout", required_argument, NULL, OPT_ASK_TIMEOUT },
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *error = NULL;
	uint64_t v;
	int c, k;

	*o = (struct run_options){ .audit_fd = -1,
				   .timeout_usec = MANIFEST_UNSET,
				   .ask_fd = -1,
				   .ask_timeout_usec = 60 * USEC_PER_SEC };
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		k = grant_option(&o->grants, c, optarg);
		if (k < 0) {
			log_error_errno(k, "run");
			return EXIT_SKILLBOX_FAILED;
		}
		if (k > 0)
			continue;
		switch (c) {
		case OPT_AUDIT:
			o->audit_path = optarg;
			break;
		case OPT_AUDIT_FD:
			if (parse_uint64(optarg, &v) < 0 || v > INT32_MAX) {
				log_error("run: --audit-fd: '%s' is not a descriptor number",
					  optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			o->audit_fd = (int)v;
			break;
		case OPT_TIMEOUT:
			if (parse_duration(optarg, &o->timeout_usec) < 0 || o->timeout_usec == 0) {
				log_error(
					"run: --timeout: expected a duration such as 500ms, 30s, 2m "
					"or 1h, got '%s'",
					optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case OPT_TRACE:
			if (parse_trace(optarg, &o->trace) < 0) {
				log_error(
					"run: --trace: expected a list of exec, files, connect, got "
					"'%s'",
					optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case OPT_USER:
		case OPT_UID_RANGE:
			if (geteuid() != 0) {
				log_error("run: --%s is only for callers that are root: an "
					  "unprivileged caller's sandbox user is always the caller",
					  c == OPT_USER ? "user" : "uid-range");
				return EXIT_SKILLBOX_FAILED;
			}
			if (c == OPT_UID_RANGE) {
				o->uid_range = optarg;
				break;
			}
			if (identity_parse_user(optarg, &o->user_uid, &o->user_gid, &error) < 0) {
				log_error("%s", error);
				return EXIT_SKILLBOX_FAILED;
			}
			o->user_given = true;
			break;
		case OPT_ASK:
			o->ask = true;
			break;
		case OPT_ASK_TIMEOUT:
			if (parse_duration(optarg, &o->ask_timeout_usec) < 0 ||
			    o->ask_timeout_usec == 0) {
				log_error(
					"run: --ask-timeout: expected a duration such as 30s or 2m, "
					"got '%s'",
					optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case OPT_ISOLATION:
			if (run_isolation_from_string(optarg, &o->isolation) < 0) {
				log_error("run: --isolation: expected namespaces or landlock, got "
					  "'%s'",
					  optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case 'h':
			run_help(stdout);
			return -1;
		default:
			run_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (o->audit_path && o->audit_fd >= 0) {
		log_error("run: --audit and --audit-fd are mutually exclusive");
		return EXIT_SKILLBOX_FAILED;
	}
	if (o->ask && o->isolation == RUN_ISOLATION_LANDLOCK) {
		log_error("run: --ask and --isolation landlock: without a network namespace no "
			  "connection can be asked about (landlock mode refuses every socket but "
			  "AF_UNIX)");
		return EXIT_SKILLBOX_FAILED;
	}
	if (o->user_given && o->uid_range) {
		log_error("run: --user and --uid-range are mutually exclusive: --user names the "
			  "one host user, --uid-range where per-run uids come from");
		return EXIT_SKILLBOX_FAILED;
	}
	if (optind >= argc) {
		log_error("run: no manifest given");
		run_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	if (o->ask) {
		/*
		 * The questions go to the caller's controlling terminal, not to stdout or stderr,
		 * which may be the skill's output being captured: no terminal, no --ask.
		 */
		o->ask_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (o->ask_fd < 0 || !isatty(o->ask_fd)) {
			log_error("run: --ask needs a terminal to ask on, and there is none "
				  "(/dev/tty: %s); without a terminal, declare the destinations in "
				  "the manifest",
				  strerror(o->ask_fd < 0 ? errno : ENOTTY));
			if (o->ask_fd >= 0)
				close(o->ask_fd);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	o->manifest_arg = argv[optind++];
	if (optind < argc && streq(argv[optind], "--"))
		optind++;
	o->args = argv + optind;
	return 0;
}

/*
 * --audit PATH: only a regular file that the caller owns and alone may write, or a new one
 * (0600); audit_open_file() says why not. Pipes are for --audit-fd N and --audit -.
 */
static int open_audit_path(const char *path)
{
	struct audit_file_refusal why;
	char mode[8];
	int fd = -1, k;

	k = audit_open_file(path, geteuid(), &fd, &why);
	if (k >= 0)
		return fd;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(why.mode & 07777));
	switch (why.reason) {
	case AUDIT_FILE_SYMLINK:
		log_error("audit: %s is a symbolic link; name the file itself, or use --audit - or "
			  "--audit-fd N",
			  path);
		break;
	case AUDIT_FILE_NOT_REGULAR:
		log_error("audit: %s is a %s, not a regular file: the trail goes only to a file "
			  "(for a pipe or a device, use --audit-fd N or --audit -)",
			  path, audit_file_type_name(why.mode));
		break;
	case AUDIT_FILE_NOT_OWNED:
		log_error("audit: %s belongs to uid %u, not to the caller (uid %u): a trail is "
			  "appended only to the caller's own file; choose another path",
			  path, (unsigned)why.uid, (unsigned)geteuid());
		break;
	case AUDIT_FILE_SHARED:
		log_error(
			"audit: %s is writable by %s (mode %s), who could edit or erase the trail; "
			"chmod go-w it, or choose another path",
			path, why.mode & S_IWOTH ? "others" : "its group", mode);
		break;
	case AUDIT_FILE_REPLACED:
		log_error("audit: %s changed while it was being opened; try again, in a directory "
			  "that only you can write",
			  path);
		break;
	default:
		log_error_errno(k, "audit: %s", path);
		break;
	}
	return k;
}

static int open_audit(struct run *r)
{
	_cleanup_close_ int fd = -1;
	int k;

	if (audit_make_run_id(r->run_id) < 0)
		return log_error_errno(-EIO, "audit: generating the run id");
	if (r->opts.audit_path && streq(r->opts.audit_path, "-")) {
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return log_error_errno(-errno, "audit: duplicating stderr");
	} else if (r->opts.audit_path) {
		fd = open_audit_path(r->opts.audit_path);
		if (fd < 0)
			return fd;
	} else if (r->opts.audit_fd >= 0) {
		if (fcntl(r->opts.audit_fd, F_GETFD) < 0)
			return log_error_errno(-errno, "audit: --audit-fd %d", r->opts.audit_fd);
		/* Never inherited by the sandbox. */
		fd = fcntl(r->opts.audit_fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return log_error_errno(-errno, "audit: --audit-fd %d", r->opts.audit_fd);
		/*
		 * Standard output or error stays open: the skill's output is relayed to it, and
		 * the relay keeps its lines apart from the trail's (streams.c).
		 */
		if (r->opts.audit_fd > STDERR_FILENO)
			close(r->opts.audit_fd);
	} else {
		return 0;
	}
	/* What the trail goes to, for the relays that may share it (streams.c). */
	r->trail = fstat(fd, &r->trail_st) == 0;
	k = audit_new(fd, r->run_id, &r->audit);
	if (k < 0)
		return log_error_errno(k, "audit");
	fd = -1; /* the writer owns it now */
	return 0;
}

static void audit_strv(struct audit *a, const char *key, char *const *l)
{
	audit_array_begin(a, key);
	for (char *const *s = l; s && *s; s++)
		audit_str(a, NULL, *s);
	audit_array_end(a);
}

static int emit(struct run *r)
{
	int k = audit_end(r->audit);

	if (k < 0)
		log_error_errno(k, "audit: writing the audit trail");
	return k;
}

/* Where a grant came from, for the policy events: "FILE:LINE", or "command line". */
static const char *origin(const struct run *r, struct manifest_loc loc, char *buf, size_t size)
{
	return manifest_loc_format(loc, r->m ? r->m->path : NULL, false, buf, size);
}

/* The files the manifest includes (profiles, a team's files), with their SHA-256. */
static void audit_includes(struct run *r)
{
	audit_array_begin(r->audit, "includes");
	for (size_t i = 1; r->m && i < r->m->n_files; i++) {
		const struct manifest_file *f = &r->m->files[i];

		if (streq(f->path, MANIFEST_COMMAND_LINE))
			continue;
		audit_object_begin(r->audit, NULL);
		audit_str(r->audit, "path", f->path);
		audit_str(r->audit, "sha256", f->digest);
		if (f->profile)
			audit_str(r->audit, "profile", f->profile);
		audit_object_end(r->audit);
	}
	audit_array_end(r->audit);
}

static void emit_run_start(struct run *r)
{
	struct utsname u;
	char digest[AUDIT_HASH_HEX_LEN + 1] = "";

	if (!r->audit)
		return;
	uname(&u);
	if (r->manifest_data)
		audit_sha256_hex(r->manifest_data, r->manifest_len, digest);
	audit_begin(r->audit, "run.start");
	audit_str(r->audit, "skillbox", SKILLBOX_VERSION);
	audit_str(r->audit, "manifest", r->m ? r->m->path : r->opts.manifest_arg);
	audit_str(r->audit, "manifest_sha256", r->manifest_data ? digest : NULL);
	audit_includes(r);
	audit_str(r->audit, "skill", r->m ? r->m->name : NULL);
	audit_strv(r->audit, "argv", r->argv);
	audit_uint(r->audit, "caller_uid", getuid());
	audit_uint(r->audit, "caller_gid", getgid());
	if (r->host_uid) {
		audit_uint(r->audit, "host_uid", r->host_uid);
		audit_uint(r->audit, "host_gid", r->host_gid);
	} else {
		/* A root caller whose identity could not be chosen: nothing ran as anyone. */
		audit_null(r->audit, "host_uid");
		audit_null(r->audit, "host_gid");
	}
	audit_str(r->audit, "host_identity", identity_kind_to_string(r->identity.kind));
	if (r->identity.range.source) {
		char range[32];

		snprintf(range, sizeof(range), "%u-%u", r->identity.range.first,
			 r->identity.range.last);
		audit_str(r->audit, "uid_range", range);
		audit_str(r->audit, "uid_range_from", r->identity.range.source);
	}
	if (r->identity.note)
		audit_str(r->audit, "identity_fallback", r->identity.note);
	/* Without a user namespace the skill is its host uid. */
	audit_uint(r->audit, "sandbox_uid",
		   r->opts.isolation == RUN_ISOLATION_LANDLOCK ? r->host_uid : SANDBOX_UID);
	audit_str(r->audit, "kernel", u.release);
	audit_str(r->audit, "arch", u.machine);
	audit_str(r->audit, "isolation", run_isolation_to_string(r->opts.isolation));
	audit_array_begin(r->audit, "layers");
	if (r->m && r->opts.isolation == RUN_ISOLATION_LANDLOCK) {
		/* Only what this mode sets up: no namespace at all. */
		audit_str(r->audit, NULL, "landlock");
		audit_str(r->audit, NULL, "capabilities");
		audit_str(r->audit, NULL, "no_new_privs");
		audit_str(r->audit, NULL, "rlimits");
		if (r->seccomp)
			audit_str(r->audit, NULL, "seccomp");
	} else if (r->m) {
		audit_str(r->audit, NULL, "userns");
		audit_str(r->audit, NULL, "mountns");
		audit_str(r->audit, NULL, "pidns");
		audit_str(r->audit, NULL, "netns");
		audit_str(r->audit, NULL, "ipcns");
		audit_str(r->audit, NULL, "utsns");
		audit_str(r->audit, NULL, "cgroupns");
		audit_str(r->audit, NULL, "capabilities");
		audit_str(r->audit, NULL, "no_new_privs");
		audit_str(r->audit, NULL, "rlimits");
		if (r->seccomp)
			audit_str(r->audit, NULL, "seccomp");
		/* With egress or not: the ruleset refuses and logs what the manifest does not
		   declare (policy.degraded says so if a host cannot load it). */
		if (r->net)
			audit_str(r->audit, NULL, "nftables");
	}
	audit_array_end(r->audit);
	/* The stack that carried the traffic is net.stack's (a fallback is net.stack.fallback). */
	audit_str(r->audit, "network_stack_requested",
		  r->net ? run_net_stack_requested(r->net) : "none");
	if (r->m) {
		const struct event_budget *b = event_sink_budget(r->sink);
		char size[32];

		audit_object_begin(r->audit, "audit_budget");
		audit_str(r->audit, "bytes", format_size(size, sizeof(size), b->bytes));
		audit_uint(r->audit, "keys", b->keys);
		audit_str(r->audit, "overflow", b->overflow_count ? "count" : "stop");
		audit_object_end(r->audit);
	}
	audit_array_begin(r->audit, "trace");
	if (r->trace & MANIFEST_TRACE_EXEC)
		audit_str(r->audit, NULL, "exec");
	if (r->trace & MANIFEST_TRACE_FILES)
		audit_str(r->audit, NULL, "files");
	if (r->trace & MANIFEST_TRACE_CONNECT)
		audit_str(r->audit, NULL, "connect");
	audit_array_end(r->audit);
	if (r->streams) {
		static const char *const names[] = { "stdin", "stdout", "stderr" };

		/* The skill's output goes where the trail does: verify tells its lines apart. */
		if (streams_trail_shared(r->streams))
			audit_str(r->audit, "trail", "shared");

		audit_object_begin(r->audit, "stdio");
		for (int fd = 0; fd < 3; fd++)
			audit_str(r->audit, names[fd], streams_kind_name(r->streams, fd));
		audit_object_end(r->audit);
	}
	emit(r);
}

/*
 * How a write path is mapped: its owner on the host, whether it is idmapped so that this
 * owner is the sandbox user, and so which host uid owns what the skill creates there.
 */
static void emit_write_mapping(struct run *r, const struct mount_op *o)
{
	bool mapped = o->idmap == MOUNT_IDMAP_MAPPED;

	audit_uint(r->audit, "owner_uid", o->owner_uid);
	audit_uint(r->audit, "owner_gid", o->owner_gid);
	if (r->identity.kind == IDENTITY_CALLER)
		audit_str(r->audit, "idmap", "none: the sandbox user is the caller");
	else if (mapped)
		audit_str(r->audit, "idmap", "owner is the sandbox user");
	else if (o->idmap == MOUNT_IDMAP_FAILED)
		audit_str(r->audit, "idmap", "refused by the kernel; bound as it is");
	else
		audit_str(r->audit, "idmap", "none");
	if (o->idmap == MOUNT_IDMAP_FAILED)
		audit_str(r->audit, "idmap_error", strerror(o->idmap_error));
	audit_uint(r->audit, "new_files_uid", mapped ? o->owner_uid : r->host_uid);
}

static void emit_policy_fs(struct run *r)
{
	if (!r->audit)
		return;
	audit_begin(r->audit, "policy.fs");
	audit_array_begin(r->audit, "mounts");
	for (size_t i = 0; i < r->plan->n_ops; i++) {
		const struct mount_op *o = &r->plan->ops[i];
		char size[32];

		audit_object_begin(r->audit, NULL);
		audit_str(r->audit, "path", o->inside);
		audit_str(r->audit, "kind", mount_op_kind_to_string(o->kind));
		if (o->kind == MOUNT_OP_BIND) {
			audit_str(r->audit, "host", o->host);
			audit_str(r->audit, "access", o->writable ? "rw" : "ro");
			if (o->writable && o->owner_known)
				emit_write_mapping(r, o);
		} else if (o->kind == MOUNT_OP_OVERLAY) {
			audit_str(r->audit, "host", o->host);
			audit_str(r->audit, "access", "rw");
			audit_bool(r->audit, "discarded", true);
		} else if (o->kind == MOUNT_OP_TMPFS) {
			audit_str(r->audit, "access", "rw");
			audit_str(r->audit, "size", format_size(size, sizeof(size), o->size));
		} else {
			audit_str(r->audit, "access", "ro");
		}
		if (o->origin.key) {
			char where[MANIFEST_LOC_MAX];

			audit_str(r->audit, "from", o->origin.key);
			audit_uint(r->audit, "line", o->origin.loc.line);
			audit_str(r->audit, "origin",
				  origin(r, o->origin.loc, where, sizeof(where)));
		}
		if (o->kind == MOUNT_OP_BIND && o->source_optional) {
			struct stat st;

			audit_bool(r->audit, "optional", true);
			/* What the sandbox's init will find (it skips a missing one). */
			audit_bool(r->audit, "present", lstat(o->host, &st) == 0);
		}
		audit_object_end(r->audit);
	}
	audit_array_end(r->audit);
	emit(r);
}

/* Which file (or the command line) declared each variable the manifest names. */
static void audit_env_origins(struct run *r)
{
	const struct manifest *m = r->m;
	char where[MANIFEST_LOC_MAX];

	audit_object_begin(r->audit, "origins");
	for (size_t i = 0; i < m->env.n_pass; i++)
		audit_str(r->audit, m->env.pass[i].name,
			  origin(r, m->env.pass[i].loc, where, sizeof(where)));
	for (size_t i = 0; i < m->env.n_set; i++)
		audit_str(r->audit, m->env.set[i].name,
			  origin(r, m->env.set[i].loc, where, sizeof(where)));
	for (size_t i = 0; i < m->env.n_secrets; i++)
		audit_str(r->audit, m->env.secrets[i].name,
			  origin(r, m->env.secrets[i].loc, where, sizeof(where)));
	audit_object_end(r->audit);
}

static void emit_policy_env(struct run *r)
{
	if (!r->audit)
		return;
	audit_begin(r->audit, "policy.env");
	audit_strv(r->audit, "defaults", r->env.names_default);
	audit_strv(r->audit, "passed", r->env.names_passed);
	audit_strv(r->audit, "missing", r->env.names_missing);
	audit_strv(r->audit, "set", r->env.names_set);
	audit_array_begin(r->audit, "secrets");
	for (size_t i = 0; i < r->env.n_secrets; i++)
		audit_str(r->audit, NULL, r->env.secrets[i].name);
	audit_array_end(r->audit);
	audit_strv(r->audit, "secrets_absent", r->env.names_absent);
	/* Where each from_file secret was read: the path, with no symbolic link in it. */
	audit_array_begin(r->audit, "secret_files");
	for (size_t i = 0; i < r->env.n_secrets; i++) {
		if (!r->env.secrets[i].path)
			continue;
		audit_object_begin(r->audit, NULL);
		audit_str(r->audit, "name", r->env.secrets[i].name);
		audit_str(r->audit, "path", r->env.secrets[i].path);
		audit_object_end(r->audit);
	}
	audit_array_end(r->audit);
	audit_strv(r->audit, "stripped", r->env.names_stripped);
	audit_env_origins(r);
	emit(r);
}

static uint64_t effective_timeout(const struct run *r)
{
	return r->opts.timeout_usec != MANIFEST_UNSET ? r->opts.timeout_usec
						      : r->m->limits.timeout_usec;
}

/* Which file set each limit (the smallest of the files that set it), or the command line. */
static void audit_limit_origins(struct run *r)
{
	const struct manifest_limits *l = &r->m->limits;
	const struct {
		const char *name;
		uint64_t v;
		struct manifest_loc loc;
	} set[] = {
		{ "timeout", l->timeout_usec, l->timeout_loc },
		{ "cpu", l->cpu_usec, l->cpu_loc },
		{ "memory", l->memory, l->memory_loc },
		{ "processes", l->processes, l->processes_loc },
		{ "open_files", l->open_files, l->open_files_loc },
		{ "file_size", l->file_size, l->file_size_loc },
		{ "output", l->output, l->output_loc },
	};
	char where[MANIFEST_LOC_MAX];

	audit_object_begin(r->audit, "origins");
	for (size_t i = 0; i < ELEMENTSOF(set); i++) {
		if (i == 0 && r->opts.timeout_usec != MANIFEST_UNSET)
			audit_str(r->audit, "timeout", MANIFEST_COMMAND_LINE);
		else if (set[i].v != MANIFEST_UNSET)
			audit_str(r->audit, set[i].name,
				  origin(r, set[i].loc, where, sizeof(where)));
	}
	audit_object_end(r->audit);
}

static void emit_policy_limits(struct run *r)
{
	if (!r->audit)
		return;
	audit_begin(r->audit, "policy.limits");
	run_limits_audit(&r->limits, effective_timeout(r), r->m->limits.output,
			 mount_plan_tmpfs_total(r->plan), r->audit);
	audit_limit_origins(r);
	emit(r);
}

/* The manifest's command with ARGS appended; without a command, see prepare(). */
static int build_argv(struct run *r)
{
	if (!r->m->command)
		return 0;
	STRV_FOREACH (s, r->m->command)
		if (strv_extend(&r->argv, *s) < 0)
			return -ENOMEM;
	STRV_FOREACH (s, r->opts.args)
		if (strv_extend(&r->argv, *s) < 0)
			return -ENOMEM;
	return 0;
}

static const char *env_value(char **envp, const char *name)
{
	size_t n = strlen(name);

	STRV_FOREACH (e, envp)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/*
 * With limits.memory, every tmpfs the skill can fill fits in it together (their pages are
 * memory the host commits, whatever RLIMIT_DATA says).
 */
static int fit_tmpfs(const struct manifest *m, struct mount_plan *plan, char **ret_error)
{
	uint64_t declared = 0;
	char a[32], b[32];
	struct buf e = BUF_INIT;
	int k;

	if (m->limits.memory == MANIFEST_UNSET)
		return 0;
	k = mount_plan_fit_tmpfs(plan, m->limits.memory, &declared);
	if (k == -E2BIG)
		buf_printf(&e,
			   "%s:%u:%u: limits.memory %s: the declared filesystem.tmpfs sizes add up "
			   "to %s, more than the limit; every tmpfs is memory, so they must fit in "
			   "it together",
			   m->path, m->limits.memory_loc.line, m->limits.memory_loc.column,
			   format_size(a, sizeof(a), m->limits.memory),
			   format_size(b, sizeof(b), declared));
	else if (k == -ENOSPC)
		buf_printf(&e,
			   "%s:%u:%u: limits.memory %s: the declared filesystem.tmpfs sizes (%s) "
			   "leave less than a page for /tmp, HOME or /dev/shm",
			   m->path, m->limits.memory_loc.line, m->limits.memory_loc.column,
			   format_size(a, sizeof(a), m->limits.memory),
			   format_size(b, sizeof(b), declared));
	else
		return k;
	*ret_error = buf_steal(&e);
	return k;
}

/*
 * --isolation landlock: the Landlock layer in place of the mount and network namespaces.
 * Prints what failed: every manifest problem on a line of its own.
 */
static int prepare_landlock(struct run *r)
{
	_cleanup_free_ char *error = NULL;
	int k;

	if (r->opts.learn) {
		log_error("landlock: skillbox learn needs the network namespace");
		return -EINVAL;
	}
	k = run_landlock_new(
		&(struct run_landlock_opts){
			.m = r->m,
			.run_id = r->run_id,
			.identity = &r->identity,
			.set_user = geteuid() == 0,
		},
		&r->landlock, &error);
	if (k < 0) {
		for (char *line = error, *next; line && *line; line = next) {
			next = strchrnul(line, '\n');
			if (*next)
				*next++ = 0;
			log_error("landlock: %s", line);
			/* run.exit carries the first problem, with its FILE:LINE:COLUMN. */
			if (!r->error)
				r->error = strdup(line);
		}
		return k;
	}
	/* A per-run uid may have become the write paths' owner. */
	r->host_uid = r->identity.uid;
	r->host_gid = r->identity.gid;
	k = run_landlock_env(r->landlock, &r->env);
	if (k >= 0)
		k = run_landlock_spec(r->landlock, &r->spec, r->argv);
	if (k >= 0)
		k = run_landlock_view(r->landlock, &r->plan);
	if (k < 0)
		return log_error_errno(k, "landlock");
	return 0;
}

/* What policy.net says when there is no network namespace to hold rules. */
static void emit_policy_net_landlock(struct run *r)
{
	audit_begin(r->audit, "policy.net");
	audit_bool(r->audit, "egress", false);
	audit_str(r->audit, "stack", "none");
	audit_str(r->audit, "dns", manifest_dns_to_string(r->m->net.dns));
	audit_null(r->audit, "resolver");
	audit_array_begin(r->audit, "pinned");
	audit_array_end(r->audit);
	audit_array_begin(r->audit, "rules");
	audit_array_end(r->audit);
	audit_str(r->audit, "isolation", "landlock");
	audit_str(r->audit, "otherwise",
		  "no network namespace: sockets other than AF_UNIX refused (seccomp, "
		  "syscall.deny); TCP bind and connect denied (Landlock)");
	audit_null(r->audit, "ruleset_sha256");
	emit(r);
}

/* Everything before clone(): the policy of every layer, and its audit events. */
/* run --ask's questions have the caller's terminal while one is open (streams.c). */
static void ask_hold(void *userdata, bool hold)
{
	struct run *r = userdata;

	streams_hold_terminal(r->streams, hold);
}

static int prepare(struct run *r)
{
	_cleanup_free_ struct mount_file *files = NULL;
	_cleanup_free_ char *error = NULL;
	bool landlock = r->opts.isolation == RUN_ISOLATION_LANDLOCK;
	struct run_net_opts net_opts;
	size_t n_files = 0;
	int k;

	/* First: a root caller claims its per-run uid (or learns that it cannot). */
	k = identity_choose(&r->identity, r->opts.user_given, r->opts.user_uid, r->opts.user_gid,
			    r->opts.uid_range, true, &error);
	if (k < 0) {
		log_error("%s", error);
		r->error = TAKE_PTR(error);
		return k;
	}
	r->host_uid = r->identity.uid;
	r->host_gid = r->identity.gid;

	k = sandbox_env_build(r->m, environ, getuid(), &r->env, &error);
	if (k < 0) {
		log_error("environment: %s", error);
		r->error = TAKE_PTR(error);
		return k;
	}
	for (size_t i = 0; r->audit && i < r->env.n_secrets; i++) {
		k = audit_add_secret(r->audit, r->env.secrets[i].name, r->env.secrets[i].value);
		if (k < 0)
			return log_error_errno(k, "audit: registering secrets for redaction");
	}

	k = run_limits_prepare(&r->m->limits, true, landlock, r->run_id, &r->limits);
	if (k < 0)
		return log_error_errno(k, "limits");
	if (r->limits.cgroup_error)
		log_error("limits: %s; limits.memory is held by rlimits, the tmpfs sizes and the "
			  "seccomp filter instead",
			  r->limits.cgroup_error);

	k = run_seccomp_build(r->m, r->trace, run_limits_limit_shared_memory(&r->limits), landlock,
			      &r->seccomp, &error);
	if (k < 0) {
		log_error("seccomp: %s", error ? error : strerror(-k));
		r->error = TAKE_PTR(error);
		return k;
	}

	/* The skill's stdin, stdout and stderr: pipes, /dev/null or a pseudo-terminal. */
	k = streams_new(
		&(struct streams_opts){
			.output_cap = r->m->limits.output,
			.count = r->opts.learn,
			.trail = r->trail,
			.trail_st = r->trail_st,
		},
		&r->spec.stdio, &r->streams, &error);
	if (k < 0) {
		log_error_errno(k, "%s", error ? error : "standard streams");
		r->error = TAKE_PTR(error);
		return k;
	}
	if (r->audit && r->trail)
		audit_set_line_guard(r->audit, streams_trail_mid_line, r->streams);

	if (landlock) {
		k = prepare_landlock(r);
		if (k < 0)
			return k;
		goto planned;
	}

	net_opts = (struct run_net_opts){
		.m = r->m,
		.learn = r->opts.learn,
		.no_network = r->opts.no_network,
		.host_uid = r->host_uid,
		.host_gid = r->host_gid,
		.run_id = r->run_id,
		.ask_fd = r->opts.ask ? r->opts.ask_fd : -1,
		.ask_timeout_usec = r->opts.ask_timeout_usec,
		.manifest_data = r->manifest_data,
		.manifest_len = r->manifest_len,
		.home = getenv("HOME"),
		.caller_uid = getuid(),
		.ask_hold = ask_hold,
		.ask_hold_userdata = r,
	};
	r->opts.ask_fd = -1; /* the network layer has it now */
	k = run_net_new(&net_opts, &r->net);
	if (k >= 0)
		k = run_net_prepare(r->net, &r->spec.net, &files, &n_files, &error);
	if (k < 0) {
		log_error("network: %s", error ? error : strerror(-k));
		r->error = TAKE_PTR(error);
		return k;
	}

	k = mount_plan_build(r->m,
			     &(struct mount_plan_opts){
				     .terminal = streams_want_pty(r->streams),
				     .zero_unmappable = run_limits_limit_shared_memory(&r->limits),
				     .files = files,
				     .n_files = n_files,
				     .overlay = r->opts.overlay,
				     .overlay_writable = r->opts.overlay_writable,
			     },
			     &r->plan);
	if (k < 0)
		return log_error_errno(k, "filesystem: planning the view");
	r->spec.plan = r->plan;
	r->spec.workdir = r->m->workdir ? r->m->workdir : SANDBOX_HOME;

planned:
	if (!r->m->command) {
		k = script_command(r->plan, r->spec.workdir, r->opts.args, &r->argv);
		if (k < 0)
			return log_error_errno(k, "the command after --");
	}
	if (!landlock) {
		k = identity_map_writes(&r->identity, r->plan, r->m->path, &error);
		/* Without namespaces there is no tmpfs: /tmp and HOME are host directories. */
		if (k >= 0)
			k = fit_tmpfs(r->m, r->plan, &error);
		if (k < 0) {
			log_error("%s", error);
			r->error = TAKE_PTR(error);
			return k;
		}
		/* The fallback may have made the sandbox user a write path's owner. */
		r->host_uid = r->identity.uid;
		r->host_gid = r->identity.gid;
		run_net_set_host_ids(r->net, r->host_uid, r->host_gid);
	}

	run_limits_rlimits(&r->limits, &r->spec);
	r->spec.plan = r->plan;
	r->spec.argv = r->argv;
	r->spec.envp = r->env.envp;
	r->spec.path = env_value(r->env.envp, "PATH");
	r->spec.scrub_argv = program_argv;
	r->spec.hold_fd = r->identity.claim_fd;
	if (r->seccomp) {
		r->spec.seccomp = seccomp_policy_program(r->seccomp);
		r->spec.seccomp_flags = seccomp_policy_filter_flags(r->seccomp);
		r->spec.seccomp_listener = seccomp_policy_has_listener(r->seccomp);
		r->spec.exec_traced = r->trace & MANIFEST_TRACE_EXEC;
	}

	emit_run_start(r);
	if (landlock)
		run_landlock_audit_fs(r->landlock, r->audit);
	else
		emit_policy_fs(r);
	emit_policy_env(r);
	emit_policy_limits(r);
	if (r->audit && r->seccomp && seccomp_policy_audit(r->seccomp, r->audit) < 0)
		log_error("audit: writing the audit trail failed");
	if (r->audit && landlock)
		emit_policy_net_landlock(r);
	else if (r->audit)
		run_net_audit(r->net, r->audit);
	/* Last of the policy: what the mode enforces, and what it does not. */
	if (landlock)
		run_landlock_audit_isolation(r->landlock, r->audit, r->host_uid);
	else
		run_namespaces_audit(r->audit);
	run_net_warn_unresolved(r->net);
	return 0;
}

static const char *signal_name(int sig)
{
	const char *n = sigabbrev_np(sig);
	static char buf[16];

	if (!n)
		return "unknown";
	snprintf(buf, sizeof(buf), "SIG%s", n);
	return buf;
}

static int compute_status(struct run *r, const char **reason, int *exit_code, int *sig)
{
	*exit_code = -1;
	*sig = 0;
	if (r->setup_failed) {
		*reason = r->exec_failed ? "exec-failed" : "setup-failed";
		if (r->exec_failed)
			return r->exec_errno == ENOENT && !r->exec_exists ? EXIT_NOT_FOUND
									  : EXIT_NOT_EXECUTABLE;
		return EXIT_SKILLBOX_FAILED;
	}
	if (r->audit_overflow) {
		/* Stopped because something could no longer be recorded: skillbox refused. */
		*reason = "audit-overflow";
		return EXIT_SKILLBOX_FAILED;
	}
	if (r->timed_out) {
		*reason = "timeout";
		return EXIT_TIMEOUT;
	}
	/* As for one process over RLIMIT_CPU: 128 + SIGXCPU. */
	if (r->cpu_exceeded) {
		*reason = "cpu";
		return 128 + SIGXCPU;
	}
	if (r->have_skill_status) {
		if (WIFEXITED(r->skill_status)) {
			*reason = "exited";
			*exit_code = WEXITSTATUS(r->skill_status);
			return *exit_code;
		}
		*reason = "signaled";
		*sig = WTERMSIG(r->skill_status);
		return 128 + *sig;
	}
	/* init itself died without reporting: killed from outside or by the kernel. */
	*reason = "sandbox-killed";
	if (r->init_exited && WIFSIGNALED(r->init_status)) {
		*sig = WTERMSIG(r->init_status);
		return 128 + *sig;
	}
	return EXIT_SKILLBOX_FAILED;
}

static void emit_exit(struct run *r, int status, const char *reason, int exit_code, int sig)
{
	uint64_t wall = r->start_mono ? now_monotonic_usec() - r->start_mono : 0;
	uint64_t user = (uint64_t)r->rusage.ru_utime.tv_sec * USEC_PER_SEC +
			(uint64_t)r->rusage.ru_utime.tv_usec;
	uint64_t sys = (uint64_t)r->rusage.ru_stime.tv_sec * USEC_PER_SEC +
		       (uint64_t)r->rusage.ru_stime.tv_usec;

	if (!r->audit)
		return;
	audit_begin(r->audit, "run.exit");
	audit_int(r->audit, "status", status);
	audit_str(r->audit, "reason", reason);
	if (exit_code >= 0)
		audit_int(r->audit, "exit", exit_code);
	else
		audit_null(r->audit, "exit");
	if (sig)
		audit_str(r->audit, "signal", signal_name(sig));
	else
		audit_null(r->audit, "signal");
	if (r->error)
		audit_str(r->audit, "error", r->error);
	audit_fixed(r->audit, "wall_s", wall, 6);
	audit_fixed(r->audit, "user_cpu_s", user, 6);
	audit_fixed(r->audit, "sys_cpu_s", sys, 6);
	audit_uint(r->audit, "max_rss_kb", (uint64_t)r->rusage.ru_maxrss);
	emit(r);
}

static void emit_summary(struct run *r, int status)
{
	struct event_trail_stats ts;
	uint64_t total = 0;

	if (!r->audit)
		return;
	for (size_t k = 0; k < _REFUSAL_KIND_MAX; k++)
		total += event_sink_refusals(r->sink, k)->count;
	audit_begin(r->audit, "run.summary");
	audit_int(r->audit, "status", status);
	audit_uint(r->audit, "events", audit_next_seq(r->audit) + 1);
	audit_object_begin(r->audit, "refusals");
	audit_uint(r->audit, "total", total);
	for (size_t k = 0; k < _REFUSAL_KIND_MAX; k++)
		audit_uint(r->audit, refusal_kind_to_string(k),
			   event_sink_refusals(r->sink, k)->count);
	audit_object_end(r->audit);
	audit_array_begin(r->audit, "examples");
	for (size_t k = 0; k < _REFUSAL_KIND_MAX; k++) {
		const struct refusal_stats *st = event_sink_refusals(r->sink, k);

		for (size_t i = 0; i < st->n_examples; i++) {
			audit_object_begin(r->audit, NULL);
			audit_str(r->audit, "kind", refusal_kind_to_string(k));
			audit_str(r->audit, "what", st->examples[i]);
			audit_object_end(r->audit);
		}
	}
	audit_array_end(r->audit);
	audit_array_begin(r->audit, "limits_hit");
	for (size_t l = 0; l < _RUN_LIMIT_MAX; l++)
		if (event_sink_limit_was_hit(r->sink, l))
			audit_str(r->audit, NULL, run_limit_to_string(l));
	audit_array_end(r->audit);
	event_sink_trail_stats(r->sink, &ts);
	audit_object_begin(r->audit, "trail");
	audit_uint(r->audit, "bytes", ts.bytes);
	audit_uint(r->audit, "recorded", ts.must_keys);
	audit_uint(r->audit, "repeats_counted", ts.repeats);
	audit_uint(r->audit, "evidence_written", ts.evidence_written);
	audit_uint(r->audit, "evidence_left_out", ts.evidence_left_out);
	audit_uint(r->audit, "lost", ts.lost);
	audit_bool(r->audit, "overflow", ts.overflow);
	audit_object_end(r->audit);
	emit(r);
}

static void run_done(struct run *r)
{
	run_landlock_free(r->landlock);
	run_net_free(r->net);
	identity_done(&r->identity);
	run_limits_done(&r->limits);
	seccomp_policy_free(r->seccomp);
	mount_plan_free(r->plan);
	sandbox_env_done(&r->env);
	strv_free(r->argv);
	manifest_free(r->m);
	if (r->manifest_data)
		free(r->manifest_data);
	free(r->error);
	event_sink_free(r->sink);
	/* The streams go first: the trail's line guard is theirs. */
	if (r->audit)
		audit_set_line_guard(r->audit, NULL, NULL);
	r->streams = streams_free(r->streams);
	for (int i = 0; i < 3; i++)
		safe_close(r->spec.stdio.fd[i]);
	audit_free(r->audit);
	safe_close(r->init_pidfd);
	safe_close(r->skill_pidfd);
	safe_close(r->sock_init);
	safe_close(r->sock_skill);
	safe_close(r->sig_fd);
	safe_close(r->timer_fd);
}

static void fill_outcome(const struct run *r, struct run_outcome *ret)
{
	if (!ret)
		return;
	*ret = (struct run_outcome){
		.started = r->execed,
		.wall_usec = r->start_mono ? now_monotonic_usec() - r->start_mono : 0,
		.cpu_usec = (uint64_t)(r->rusage.ru_utime.tv_sec + r->rusage.ru_stime.tv_sec) *
				    USEC_PER_SEC +
			    (uint64_t)(r->rusage.ru_utime.tv_usec + r->rusage.ru_stime.tv_usec),
		.max_rss_kb = (uint64_t)r->rusage.ru_maxrss,
		.output_bytes = streams_output_bytes(r->streams),
		.overlay_degraded = r->overlay_degraded,
		.overlay_error = r->overlay_error,
	};
}

int run_execute(const struct run_options *opts, struct manifest *m, struct run_outcome *ret)
{
	struct run r = {
		.opts = *opts,
		.m = m,
		.init_pidfd = -1,
		.skill_pidfd = -1,
		.sock_init = -1,
		.sock_skill = -1,
		.sig_fd = -1,
		.timer_fd = -1,
		.identity = IDENTITY_INIT,
		.spec = { .sock_init = -1,
			  .sock_skill = -1,
			  .stdio.fd = { -1, -1, -1 },
			  .hold_fd = -1,
			  .landlock.ruleset_fd = -1 },
		.limits = { .cgroup_mount_fd = -1 },
	};
	const char *reason;
	int k, status, exit_code, sig;

	if (ret)
		*ret = (struct run_outcome){ 0 };

	if (open_audit(&r) < 0) {
		run_done(&r);
		return EXIT_SKILLBOX_FAILED;
	}
	k = event_sink_new(r.audit, NULL, &r.sink);
	if (k < 0) {
		log_error_errno(k, "run");
		run_done(&r);
		return EXIT_SKILLBOX_FAILED;
	}

	if (!r.m) {
		k = manifest_load_full(r.opts.manifest_arg, &r.opts.grants, &r.m, &r.manifest_data,
				       &r.manifest_len);
		if (k < 0) {
			r.error = strdup("invalid manifest");
			emit_run_start(&r);
			goto failed;
		}
	}
	r.trace = r.m->audit.trace | r.opts.trace;
	event_sink_set_budget(r.sink, &(struct event_budget){
					      .bytes = r.m->audit.budget_bytes != MANIFEST_UNSET
							       ? r.m->audit.budget_bytes
							       : EVENT_BUDGET_BYTES_DEFAULT,
					      .keys = r.m->audit.budget_keys != MANIFEST_UNSET
							      ? r.m->audit.budget_keys
							      : EVENT_BUDGET_KEYS_DEFAULT,
					      .overflow_count = r.m->audit.overflow_count,
				      });
	if (!r.m->command && strv_length(r.opts.args) == 0) {
		log_error("%s has no command: give one after -- (skillbox run %s -- PROGRAM "
			  "[ARGS...])",
			  r.m->path, r.opts.manifest_arg);
		r.error = strdup("no command");
		emit_run_start(&r);
		goto failed;
	}
	if (build_argv(&r) < 0) {
		log_error_errno(-ENOMEM, "run");
		goto failed;
	}

	k = prepare(&r);
	if (k < 0) {
		if (!r.error)
			r.error = strdup(strerror(-k));
		emit_run_start(&r);
		goto failed;
	}
	if (!event_sink_room_to_run(r.sink)) {
		char size[32];
		const struct manifest_loc *loc = &r.m->audit.budget_loc;

		format_size(size, sizeof(size), event_sink_budget(r.sink)->bytes);
		if (loc->line)
			log_error(
				"audit: %s:%u:%u: audit.budget.bytes: %s leaves no room for a run "
				"after this manifest's policy events; raise it",
				r.m->path, loc->line, loc->column, size);
		else
			log_error("audit: the trail's budget of %s leaves no room for a run after "
				  "this manifest's policy events; raise audit.budget.bytes",
				  size);
		r.error = strdup("the audit budget is too small for the policy events");
		goto failed;
	}

	k = run_spawn(&r);
	if (k < 0) {
		if (!r.error)
			r.error = strdup("could not start the sandbox");
		if (r.init_pidfd >= 0) {
			sys_pidfd_send_signal(r.init_pidfd, SIGKILL, NULL, 0);
			waitpid(r.init_pid, NULL, 0);
		}
		goto failed;
	}

	k = run_supervise(&r);
	/* Events that flood control held back are reported before run.exit. */
	event_sink_flush(r.sink);
	r.setup_failed = event_sink_failed(r.sink);
	r.audit_overflow = event_sink_overflowed(r.sink);
	if (!r.error && event_sink_error(r.sink))
		r.error = strdup(event_sink_error(r.sink));
	if (k < 0 && !r.setup_failed) {
		r.setup_failed = true;
		if (!r.error)
			r.error = strdup(strerror(-k));
	}

	status = compute_status(&r, &reason, &exit_code, &sig);
	emit_exit(&r, status, reason, exit_code, sig);
	emit_summary(&r, status);
	fill_outcome(&r, ret);
	run_done(&r);
	return status;

failed:
	emit_exit(&r, EXIT_SKILLBOX_FAILED, "setup-failed", -1, 0);
	emit_summary(&r, EXIT_SKILLBOX_FAILED);
	fill_outcome(&r, ret);
	run_done(&r);
	return EXIT_SKILLBOX_FAILED;
}

int cmd_run(int argc, char **argv)
{
	struct run_options opts;
	int k;

	k = parse_options(argc, argv, &opts);
	if (k == 0)
		k = run_execute(&opts, NULL, NULL);
	grants_done(&opts.grants);
	return k < 0 ? 0 : k;
}
