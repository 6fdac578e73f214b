/* SPDX-License-Identifier: MIT */
/*
 * skillbox check: the schema, and then what would fail at once on this machine.
 *
 * Beyond the parser's errors, check walks the view the run would build (the mount plan,
 * mount_view_resolve()) and the host paths it binds, and warns about what would stop the run
 * or the command right away:
 *
 *   - a host path that does not exist (unless optional: true), or that goes through a
 *     symbolic link (mount sources are opened without following one);
 *   - a write path that is a symbolic link, a read path that is one pointing outside the view;
 *   - a command written as one string with spaces (one program name, no shell splits it);
 *   - a command not found in the view (the sandbox's PATH, following the view's links as the
 *     sandbox will), not executable, or whose interpreter ("#!" line, ELF loader, env's
 *     program) the view lacks;
 *   - a workdir that is not a directory in the view;
 *   - a secret file that does not exist (unless optional), or that the run would refuse
 *     (a symbolic link on its way below the skill or HOME, too open, not the caller's);
 *   - with limits.memory, declared tmpfs sizes that do not fit in it.
 *
 * Each is FILE:LINE:COLUMN: warning: ...; --strict makes them errors (exit 1). The network is
 * left alone: names are resolved at run time (skillbox explain resolves them now).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "buf.h"
#include "cli.h"
#include "exec-util.h"
#include "mount-plan.h"
#include "parse-util.h"
#include "path-util.h"
#include "profiles.h"
#include "identity.h"
#include "run-landlock.h"
#include "run.h"
#include "secret-file.h"
#include "strv.h"

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static void check_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox check [OPTIONS] MANIFEST|DIR...\n"
		"\n"
		"Validates manifests without running anything, then predicts what would fail at\n"
		"once on this machine: host paths that do not exist or go through symbolic links,\n"
		"a one-string command with spaces, a command (or its interpreter) not found in the\n"
		"declared view, a workdir outside it. Every problem is printed as\n"
		"FILE:LINE:COLUMN: message. Exit status: 0 when all are valid (warnings allowed),\n"
		"1 when any is not (or has a warning, with --strict), 125 on a usage error.\n"
		"\n"
		"  --strict        treat the warnings as errors\n"
		"  --isolation namespaces|landlock\n"
		"                  landlock: also refuse what --isolation landlock cannot enforce\n"
		"                  (egress, hide, tmpfs, inside paths that do not nest on the host);\n"
		"                  namespaces: the default\n"
		"  --read, --write, --env, --secret, --allow\n"
		"                  the grants a run would be given (see skillbox run --help)\n"
		"  -v, --verbose   also print one line per valid manifest\n"
		"  -h, --help      show this help\n");
}

struct check {
	const struct manifest *m;
	const struct mount_plan *plan;
	bool strict;
	unsigned n;
};

_printf_(3, 4) static void warn(struct check *c, struct manifest_loc loc, const char *fmt, ...)
{
	char where[MANIFEST_LOC_MAX];
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	/* One line, whatever the manifest's values hold (log_plain() escapes it). */
	log_plain("%s: %s: %s", manifest_loc_format(loc, c->m->path, true, where, sizeof(where)),
		  c->strict ? "error" : "warning", buf_ok(&msg) ? buf_str(&msg) : "out of memory");
	buf_done(&msg);
	c->n++;
}

/* The first directory component of path (absolute) that is a symbolic link, or NULL. */
static char *symlink_on_the_way(const char *path)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return NULL;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		struct stat st;

		*s = 0;
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			return TAKE_PTR(p);
		*s = '/';
	}
	return NULL;
}

static void check_mount(struct check *c, const struct manifest_mount *mm, bool write)
{
	_cleanup_free_ char *via = symlink_on_the_way(mm->host);
	struct stat st;

	if (via) {
		char real[PATH_MAX];

		warn(c, mm->loc,
		     "%s goes through the symbolic link %s, and mount sources are opened without "
		     "following one: the run would fail (125); name the real path%s%s",
		     mm->host, via, realpath(mm->host, real) ? " " : "",
		     realpath(mm->host, real) ? real : "");
		return;
	}
	if (lstat(mm->host, &st) < 0) {
		if (errno == ENOENT && mm->optional)
			return;
		if (errno == ENOENT)
			warn(c, mm->loc,
			     "%s does not exist on this machine: the run would fail (125)%s",
			     mm->host,
			     write ? "; create it first"
				   : "; declare it optional: true if it may "
				     "be absent");
		else
			warn(c, mm->loc, "%s cannot be checked: %s", mm->host, strerror(errno));
		return;
	}
	if (S_ISLNK(st.st_mode) && write) {
		warn(c, mm->loc,
		     "%s is a symbolic link: a write path must be the real directory or file (the "
		     "run would fail, 125)",
		     mm->host);
	} else if (S_ISLNK(st.st_mode)) {
		struct mount_view_entry e = {};

		/* Recreated as a link inside: it must lead to something the view has. */
		if (mount_view_resolve(c->plan, NULL, mm->inside, true, &e) == 0 &&
		    e.node == MOUNT_VIEW_MISSING) {
			char target[PATH_MAX];
			ssize_t n = readlink(mm->host, target, sizeof(target) - 1);

			target[n < 0 ? 0 : n] = 0;
			warn(c, mm->loc,
			     "%s is a symbolic link (to %s), recreated as one inside, and what it "
			     "points to is not in the view: declare that too",
			     mm->host, target);
		}
		mount_view_entry_done(&e);
	}
}

static const char *sandbox_path(const struct manifest *m)
{
	for (size_t i = 0; i < m->env.n_set; i++)
		if (streq(m->env.set[i].name, "PATH"))
			return m->env.set[i].value;
	return DEFAULT_PATH;
}

/*
 * Looks a program up as the sandbox's execvpe() will: a name with '/' relative to the
 * workdir, a bare name in PATH. Returns the entry of the first match, or of the last miss.
 */
static int lookup(struct check *c, const char *workdir, const char *prog,
		  struct mount_view_entry *ret)
{
	_cleanup_free_ char *path = strdup(sandbox_path(c->m));
	char *save = NULL;
	int r;

	if (!path)
		return -ENOMEM;
	*ret = (struct mount_view_entry){};
	if (strchr(prog, '/')) {
		_cleanup_free_ char *p = prog[0] == '/' ? strdup(prog) : path_join(workdir, prog);

		if (!p)
			return -ENOMEM;
		return mount_view_resolve(c->plan, NULL, p, true, ret);
	}
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = path_join(dir, prog);

		if (!p)
			return -ENOMEM;
		if (dir[0] != '/')
			continue;
		mount_view_entry_done(ret);
		r = mount_view_resolve(c->plan, NULL, p, true, ret);
		if (r < 0)
			return r;
		if (ret->node == MOUNT_VIEW_FILE)
			return 0;
	}
	return 0;
}

/* "add include: [cc]" when a profile is known for the program, and the host has it. */
static void hint(struct buf *b, const struct manifest *m, const char *prog)
{
	const char *profile = profiles_for_program(prog);

	if (profile)
		buf_printf(b, "; include: [%s] provides it", profile);
	else
		buf_puts(b, "; is its directory in filesystem.read (include: [system] has /usr)?");
}

/*
 * What the kernel and env will need to start the program at e: its "#!" interpreter or ELF
 * loader, and for "#!/usr/bin/env NAME" the program NAME; each of those in turn (a script's
 * interpreter needs its loader too), a few levels deep.
 */
static void check_interpreter(struct check *c, const char *workdir, const char *prog,
			      const struct mount_view_entry *e, unsigned depth)
{
	struct exec_info x = {};
	struct mount_view_entry i = {};

	if (depth > 3 || !e->host || exec_info_read_path(e->host, &x) < 0)
		return;
	if ((x.kind == EXEC_SCRIPT || x.kind == EXEC_ELF) && x.interpreter &&
	    mount_view_resolve(c->plan, NULL, x.interpreter, true, &i) == 0) {
		if (i.node != MOUNT_VIEW_FILE) {
			struct buf b = BUF_INIT;

			buf_printf(&b, "%s needs %s (its %s), which is not in the view", prog,
				   x.interpreter,
				   x.kind == EXEC_ELF ? "dynamic loader" : "\"#!\" line");
			if (x.kind == EXEC_ELF)
				buf_puts(&b, "; include: [system] provides it");
			else
				hint(&b, c->m, x.interpreter);
			warn(c, c->m->command_loc, "%s",
			     buf_ok(&b) ? buf_str(&b) : "out of memory");
			buf_done(&b);
		} else if (x.kind == EXEC_SCRIPT) {
			check_interpreter(c, workdir, x.interpreter, &i, depth + 1);
		}
	}
	if (x.kind == EXEC_SCRIPT && x.interpreter && x.arg && i.node == MOUNT_VIEW_FILE) {
		/* #!/usr/bin/env python3: env looks python3 up in PATH at run time. */
		const char *base = strrchr(x.interpreter, '/');
		_cleanup_free_ char *word = strndup(x.arg, strcspn(x.arg, " \t"));
		struct mount_view_entry p = {};

		if (word && base && streq(base + 1, "env") && word[0] != '-' &&
		    lookup(c, workdir, word, &p) == 0) {
			if (p.node != MOUNT_VIEW_FILE) {
				struct buf b = BUF_INIT;

				buf_printf(&b, "%s runs \"%s\" through env, not found in the view",
					   prog, word);
				hint(&b, c->m, word);
				warn(c, c->m->command_loc, "%s",
				     buf_ok(&b) ? buf_str(&b) : "out of memory");
				buf_done(&b);
			} else {
				check_interpreter(c, workdir, word, &p, depth + 1);
			}
		}
		mount_view_entry_done(&p);
	}
	mount_view_entry_done(&i);
	exec_info_done(&x);
}

static void check_command(struct check *c, const char *workdir)
{
	const struct manifest *m = c->m;
	struct mount_view_entry e = {};
	const char *prog;

	if (!m->command)
		return;
	prog = m->command[0];
	if (m->command_is_string && strchr(prog, ' ')) {
		warn(c, m->command_loc,
		     "command is one string with spaces: it names one program, \"%s\" (no shell "
		     "splits it); write a list, such as [%.*s, ...]",
		     prog, (int)strcspn(prog, " "), prog);
		return;
	}
	if (lookup(c, workdir, prog, &e) < 0)
		return;
	if (e.node != MOUNT_VIEW_FILE) {
		struct buf b = BUF_INIT;

		if (strchr(prog, '/'))
			buf_printf(&b, "command %s is not %s in the view", prog,
				   e.node == MOUNT_VIEW_MISSING ? "found" : "a file");
		else
			buf_printf(&b, "command %s is not found in the view (PATH %s)", prog,
				   sandbox_path(m));
		hint(&b, m, prog);
		warn(c, m->command_loc, "%s: the run would exit 127",
		     buf_ok(&b) ? buf_str(&b) : "out of memory");
		buf_done(&b);
	} else if (!(e.mode & 0111)) {
		warn(c, m->command_loc, "command %s (%s) is not executable: the run would exit 126",
		     prog, e.inside);
	} else {
		check_interpreter(c, workdir, prog, &e, 0);
	}
	mount_view_entry_done(&e);
}

static void check_workdir(struct check *c, const char *workdir)
{
	struct mount_view_entry e = {};

	if (mount_view_resolve(c->plan, NULL, workdir, true, &e) == 0 && e.node != MOUNT_VIEW_DIR)
		warn(c, c->m->workdir_loc,
		     "workdir %s is not a directory in the view: the run would fail (125); bind a "
		     "directory there (filesystem.read or write) or a tmpfs",
		     workdir);
	mount_view_entry_done(&e);
}

/* Opened as the run opens it (no symbolic link below the skill or HOME), never read. */
static void check_secrets(struct check *c)
{
	for (size_t i = 0; i < c->m->env.n_secrets; i++) {
		const struct manifest_secret *s = &c->m->env.secrets[i];
		_cleanup_free_ char *why = NULL;
		struct secret_file f;
		int r;

		if (!s->from_file)
			continue;
		r = secret_file_open(s->from_file, c->m->dir, caller_home(), getuid(), &f, &why);
		if (r >= 0)
			secret_file_done(&f);
		else if (r == -ENOENT && s->optional)
			continue;
		else if (r == -ENOENT)
			warn(c, s->loc,
			     "secret %s: %s does not exist: the run would fail (125) unless it is "
			     "there then (or the secret is optional: true)",
			     s->name, s->from_file);
		else
			warn(c, s->loc, "secret %s: the run would fail (125): %s", s->name,
			     why ? why : strerror(-r));
	}
}

/* With limits.memory, every tmpfs must fit in it together (the run refuses otherwise). */
static void check_tmpfs(struct check *c, struct mount_plan *plan)
{
	const struct manifest_limits *l = &c->m->limits;
	uint64_t declared = 0;
	char a[32], b[32];

	if (l->memory == MANIFEST_UNSET || mount_plan_fit_tmpfs(plan, l->memory, &declared) >= 0)
		return;
	warn(c, l->memory_loc,
	     "limits.memory %s: the declared filesystem.tmpfs sizes (%s) do not fit in it with "
	     "/tmp, HOME and /dev/shm: the run would fail (125)",
	     format_size(a, sizeof(a), l->memory), format_size(b, sizeof(b), declared));
}

/* Returns the number of warnings, or -errno. */
static int predict(const struct manifest *m, bool strict, bool landlock)
{
	/* Placeholders for the files the network layer generates at run time. */
	static const struct mount_file files[] = { { "/etc/hosts", "" },
						   { "/etc/resolv.conf", "" } };
	_cleanup_mount_plan_free_ struct mount_plan *plan = NULL;
	struct check c = { .m = m, .strict = strict };
	const char *workdir = m->workdir ? m->workdir : SANDBOX_HOME;
	int r;

	r = mount_plan_build(
		m, &(struct mount_plan_opts){ .files = files, .n_files = ELEMENTSOF(files) },
		&plan);
	if (r < 0)
		return r;
	c.plan = plan;
	/* Without namespaces /tmp and HOME are host directories: no tmpfs to fit. */
	if (!landlock)
		check_tmpfs(&c, plan);
	for (size_t i = 0; i < m->fs.n_read; i++)
		check_mount(&c, &m->fs.read[i], false);
	for (size_t i = 0; i < m->fs.n_write; i++)
		check_mount(&c, &m->fs.write[i], true);
	check_secrets(&c);
	check_workdir(&c, workdir);
	check_command(&c, workdir);
	return (int)c.n;
}

/* What `run --isolation landlock` would refuse, printed as FILE:LINE:COLUMN: message. */
static bool landlock_allows(const struct manifest *m)
{
	_cleanup_free_ char *error = NULL;
	struct identity id = IDENTITY_INIT;
	struct run_landlock *l = NULL;
	int k;

	/* A root caller's write paths decide who the skill runs as, or refuse the run. */
	k = identity_choose(&id, false, 0, 0, NULL, false, &error);
	if (k >= 0)
		k = run_landlock_new(
			&(struct run_landlock_opts){ .m = m, .identity = &id, .plan_only = true },
			&l, &error);
	identity_done(&id);
	if (k >= 0) {
		run_landlock_free(l);
		return true;
	}
	for (char *line = error, *next; line && *line; line = next) {
		next = strchrnul(line, '\n');
		if (*next)
			*next++ = 0;
		fprintf(stderr, "%s\n", line);
	}
	return false;
}

int cmd_check(int argc, char **argv)
{
	enum {
		OPT_STRICT = 256,
		OPT_ISOLATION,
	};
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		{ "help", no_argument, NULL, 'h' },
		GRANT_OPTIONS,
		{},
	};
	struct manifest_grants grants = {};
	enum run_isolation isolation = RUN_ISOLATION_NAMESPACES;
	bool verbose = false, strict = false;
	int c, k, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+vh", options, NULL)) >= 0) {
		k = grant_option(&grants, c, optarg);
		if (k < 0) {
			grants_done(&grants);
			return log_error_errno(k, "check"), EXIT_SKILLBOX_FAILED;
		}
		if (k > 0)
			continue;
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case OPT_STRICT:
			strict = true;
			break;
		case OPT_ISOLATION:
			if (run_isolation_from_string(optarg, &isolation) < 0) {
				log_error(
					"check: --isolation: expected namespaces or landlock, got "
					"'%s'",
					optarg);
				grants_done(&grants);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case 'h':
			check_help(stdout);
			grants_done(&grants);
			return 0;
		default:
			check_help(stderr);
			grants_done(&grants);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind >= argc) {
		log_error("check: no manifest given");
		check_help(stderr);
		grants_done(&grants);
		return EXIT_SKILLBOX_FAILED;
	}
	for (int i = optind; i < argc; i++) {
		_cleanup_manifest_free_ struct manifest *m = NULL;

		if (manifest_load_full(argv[i], &grants, &m, NULL, NULL) < 0) {
			status = EXIT_CHECK_INVALID;
			continue;
		}
		if (isolation == RUN_ISOLATION_LANDLOCK && !landlock_allows(m)) {
			status = EXIT_CHECK_INVALID;
			continue;
		}
		k = predict(m, strict, isolation == RUN_ISOLATION_LANDLOCK);
		if (k < 0) {
			log_error_errno(k, "check: %s", m->path);
			status = EXIT_CHECK_INVALID;
			continue;
		}
		if (k > 0 && strict)
			status = EXIT_CHECK_INVALID;
		if (verbose)
			printf("%s: valid (%s)%s\n", escaped(m->path), escaped(m->name),
			       k > 0 ? (strict ? ", with errors" : ", with warnings") : "");
	}
	grants_done(&grants);
	return status;
}
