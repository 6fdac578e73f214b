/* SPDX-License-Identifier: MIT */
/*
 * skillbox learn [-o FILE] [--timeout DUR] [--no-network] -- COMMAND [ARGS...]
 *
 * Runs COMMAND once, observed, and drafts the manifest that declares what it used, so a skill
 * author never has to guess a first manifest. The learning run is an ordinary run (the
 * machinery of cmd-run.c, run_execute()) of a manifest built here:
 *
 *  - the host's root read-only: every entry of "/" and of /home bound as itself, except the
 *    trees the sandbox has of its own (/proc, /dev, /tmp, /home/skill) and /sys, which a
 *    normal run does not have either. (Entry by entry, not one bind of "/": the sandbox's
 *    HOME must be creatable below /home, and a recursive bind of "/" would bring the host's
 *    /sys along.)
 *  - the working directory writable through an overlay whose upper layer is a private tmpfs
 *    (MOUNT_OP_OVERLAY): the command's writes succeed and are thrown away. When the kernel
 *    cannot mount it, the directory stays read-only and learn says so.
 *  - the network through the user-mode stack with every TCP and UDP destination accepted and
 *    logged (host-loopback included, by that name), and `dns: resolver`, each query logged;
 *  - tracing of exec, files and connect; the environment of a manifest without env:.
 *
 * The audit trail goes to a memfd that learn reads back afterwards (learn-gen.c). The
 * command's stdout and stderr pass through (and are counted); learn exits with its status.
 *
 * Learn observes, it does not confine like a manifest does: the command sees the host's
 * files (read-only) and reaches any address. Use it on commands you would run yourself.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "exec-util.h"
#include "fd-util.h"
#include "json.h"
#include "learn.h"
#include "mount-plan.h"
#include "nfdns.h"
#include "parse-util.h"
#include "path-util.h"
#include "run.h"
#include "strv.h"

/* The audit trail of the learning run; larger trails are read up to this size. */
#define LEARN_TRAIL_MAX (256u * 1024 * 1024)

static void learn_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox learn [OPTIONS] -- COMMAND [ARGS...]\n"
		"\n"
		"Runs COMMAND once in the current directory, observed, and writes a draft manifest\n"
		"that declares what it used: the paths it read and wrote, the hosts and ports it\n"
		"connected to, syscalls beyond the default profile, and limits with headroom.\n"
		"While learning, the host's files are read-only, writes in the current directory go\n"
		"to a throwaway overlay, and every destination is reachable: learn observes, it\n"
		"does not confine. Review the manifest before use.\n"
		"\n"
		"  -o, --output FILE  write the manifest to FILE (a directory: FILE/skillbox.yaml);\n"
		"                     default: standard output, after the command's own output\n"
		"  --timeout DUR      stop the command after DUR (500ms, 30s, 2m, 1h)\n"
		"  --no-network       learn with loopback only and no user-mode network stack\n"
		"                     (for commands that need no network, or where the stack\n"
		"                     cannot run, e.g. /dev/net/tun not usable by your user)\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: the command's own (the manifest is written even when it fails, with a\n"
		"warning); 125 when skillbox failed; 126/127 when the command could not run.\n");
}

struct learn_args {
	const char *output;
	uint64_t timeout_usec;
	bool no_network;
	char **command;
};

/* Returns 0 to go on, -1 after --help, or an exit status. */
static int parse_args(int argc, char **argv, struct learn_args *a)
{
	enum {
		OPT_TIMEOUT = 256,
		OPT_NO_NETWORK,
	};
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "no-network", no_argument, NULL, OPT_NO_NETWORK },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int c;

	*a = (struct learn_args){ .timeout_usec = MANIFEST_UNSET };
	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:h", options, NULL)) >= 0) {
		switch (c) {
		case 'o':
			a->output = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_duration(optarg, &a->timeout_usec) < 0 || a->timeout_usec == 0) {
				log_error(
					"learn: --timeout: expected a duration such as 500ms, 30s, "
					"2m or 1h, got '%s'",
					optarg);
				return EXIT_SKILLBOX_FAILED;
			}
			break;
		case OPT_NO_NETWORK:
			a->no_network = true;
			break;
		case 'h':
			learn_help(stdout);
			return -1;
		default:
			learn_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind >= argc) {
		log_error("learn: no command given (skillbox learn -- COMMAND [ARGS...])");
		learn_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	a->command = argv + optind;
	return 0;
}

/* --- the learning view --- */

static void yaml_path(struct buf *b, const char *path)
{
	buf_puts(b, "    - ");
	if (strchr(path, ':')) {
		/* "host:inside" would split at the name's own colon. */
		buf_puts(b, "{host: ");
		json_escape(b, path, strlen(path));
		buf_puts(b, ", inside: ");
		json_escape(b, path, strlen(path));
		buf_putc(b, '}');
	} else {
		json_escape(b, path, strlen(path));
	}
	buf_putc(b, '\n');
}

/*
 * Binds every entry of dir (absolute) except those in skip[]. Only directories, regular
 * files and symlinks: a socket or device at the top of the host's tree has no business in
 * the view. An entry the caller cannot even open O_PATH (a FUSE mount of another user) is
 * left out rather than failing the whole view: the sandbox opens its sources the same way.
 */
static int add_entries(struct buf *b, const char *dir, const char *const *skip, size_t n_skip)
{
	_cleanup_strv_free_ char **names = NULL;
	DIR *d = opendir(dir);
	struct dirent *de;
	int k = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		bool skipped = streq(de->d_name, ".") || streq(de->d_name, "..");
		struct stat st;
		char *p;

		for (size_t i = 0; i < n_skip && !skipped; i++)
			skipped = streq(de->d_name, skip[i]);
		if (skipped)
			continue;
		p = path_join(dir, de->d_name);
		if (!p) {
			k = -ENOMEM;
			break;
		}
		if (lstat(p, &st) == 0 &&
		    (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			int fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0) {
				close(fd);
				if (strv_push(&names, p) >= 0)
					continue;
			}
		}
		free(p);
	}
	closedir(d);
	STRV_FOREACH (n, names)
		yaml_path(b, *n);
	return k;
}

/* The manifest of the learning run (see the top of this file). */
static int learn_manifest(char **command, const char *cwd, bool network, struct manifest **ret)
{
	static const char *const root_skip[] = { "proc", "sys", "dev", "tmp", "home" };
	static const char *const home_skip[] = { "skill" };
	struct manifest_diags diags = { 0 };
	struct buf b = BUF_INIT;
	struct stat st;
	int k;

	buf_puts(&b, "skillbox: 1\nname: learn\ncommand: [");
	STRV_FOREACH (a, command) {
		if (a != command)
			buf_puts(&b, ", ");
		json_escape(&b, *a, strlen(*a));
	}
	buf_puts(&b, "]\nworkdir: ");
	json_escape(&b, cwd, strlen(cwd));
	buf_puts(&b, "\nfilesystem:\n  read:\n");
	k = add_entries(&b, "/", root_skip, ELEMENTSOF(root_skip));
	/* A /home that is a symlink would leave the sandbox's HOME nowhere to go: left out. */
	if (k >= 0 && lstat("/home", &st) == 0 && S_ISDIR(st.st_mode))
		k = add_entries(&b, "/home", home_skip, ELEMENTSOF(home_skip));
	if (k < 0) {
		buf_done(&b);
		return log_error_errno(k, "learn: listing the host's root directory");
	}
	if (network)
		buf_puts(&b, "network:\n  dns: resolver\n");
	buf_puts(&b, "audit:\n  trace: [exec, files, connect]\n");
	if (!buf_ok(&b))
		return log_error_errno(-ENOMEM, "learn");

	k = manifest_parse(b.data, b.len,
			   &(struct manifest_parse_opts){
				   .path = "(learn)", .dir = cwd, .home = caller_home() },
			   ret, &diags);
	if (k == -EINVAL) {
		/* Our own text: a bug, or a host path no manifest can name. Say which. */
		for (size_t i = 0; i < diags.n; i++)
			log_error("learn: the learning view: line %u: %s", diags.items[i].loc.line,
				  diags.items[i].message);
	} else if (k < 0) {
		log_error_errno(k, "learn");
	}
	manifest_diags_done(&diags);
	buf_done(&b);
	return k;
}

/* --- the host, as learn-gen.c sees it --- */

static enum learn_node host_lstat(const char *path, void *userdata)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return LEARN_NODE_MISSING;
	if (S_ISLNK(st.st_mode))
		return LEARN_NODE_SYMLINK;
	return S_ISDIR(st.st_mode) ? LEARN_NODE_DIR : LEARN_NODE_FILE;
}

static char *host_readlink(const char *path, void *userdata)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

/* The interpreter the kernel opens without a traced syscall: a "#!" line's, an ELF PT_INTERP. */
static char *host_interpreter(const char *path, void *userdata)
{
	struct exec_info e;
	char *r;

	if (exec_info_read_path(path, &e) < 0)
		return NULL;
	r = TAKE_PTR(e.interpreter);
	exec_info_done(&e);
	return r;
}

/* --- after the run --- */

static int read_trail(int fd, char **ret, size_t *ret_len)
{
	struct stat st;
	size_t len, done = 0;
	char *data;

	if (fstat(fd, &st) < 0)
		return -errno;
	len = MIN((size_t)st.st_size, (size_t)LEARN_TRAIL_MAX);
	data = malloc(len + 1);
	if (!data)
		return -ENOMEM;
	while (done < len) {
		ssize_t n = pread(fd, data + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	data[done] = 0;
	*ret = data;
	*ret_len = done;
	return 0;
}

/* Each name the command looked up, resolved now by skillbox the way a manifest's would be. */
static int resolve_names(char **names, struct learn_resolved **ret, size_t *ret_n)
{
	size_t n = strv_length(names), i = 0;
	struct learn_resolved *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	STRV_FOREACH (name, names) {
		struct nfrules_addr *addrs = NULL;
		size_t n_addrs = 0;
		const char *why = NULL;

		v[i].name = *name;
		if (nfdns_resolve(*name, &addrs, &n_addrs, &why) == 0)
			for (size_t j = 0; j < n_addrs; j++) {
				char text[INET6_ADDRSTRLEN];

				if (inet_ntop(addrs[j].family, addrs[j].addr, text, sizeof(text)))
					(void)strv_extend(&v[i].addresses, text);
			}
		free(addrs);
		i++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void resolved_free(struct learn_resolved *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		strv_free(v[i].addresses);
	free(v);
}

/* Where the manifest goes: FILE, or FILE/skillbox.yaml for a directory; and its directory. */
static int output_path(const char *arg, char **ret_file, char **ret_dir)
{
	_cleanup_free_ char *file = NULL, *dir = NULL;
	char real[PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		file = path_join(arg, MANIFEST_FILENAME);
	else
		file = strdup(arg);
	if (!file)
		return -ENOMEM;
	dir = strdup(file);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	/* As manifest_load() will: relative host paths resolve against the real directory. */
	if (!realpath(dir, real))
		return -errno;
	free(dir);
	dir = strdup(real);
	if (!dir)
		return -ENOMEM;
	*ret_file = TAKE_PTR(file);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

/* Checks the generated text as `skillbox check` will; prints the problems of a bad one. */
static int validate(const char *yaml, const char *file, const char *dir)
{
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct manifest_diags diags = { 0 };
	int k;

	k = manifest_parse(
		yaml, strlen(yaml),
		&(struct manifest_parse_opts){ .path = file, .dir = dir, .home = caller_home() },
		&m, &diags);
	if (k == -EINVAL) {
		log_error("learn: the generated manifest is invalid (a bug in skillbox learn); "
			  "nothing was written:");
		for (size_t i = 0; i < diags.n; i++)
			fprintf(stderr, "%s:%u:%u: %s\n", file, diags.items[i].loc.line,
				diags.items[i].loc.column, diags.items[i].message);
		fputs(yaml, stderr);
	}
	manifest_diags_done(&diags);
	return k;
}

static int write_manifest(const char *yaml, const char *file)
{
	_cleanup_close_ int fd = -1;
	int k;

	if (!file)
		return write_full(STDOUT_FILENO, yaml, strlen(yaml));
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -errno;
	k = write_full(fd, yaml, strlen(yaml));
	if (k >= 0 && close(TAKE_FD(fd)) < 0)
		k = -errno;
	return k;
}

int cmd_learn(int argc, char **argv)
{
	_cleanup_free_ char *cwd = NULL, *out_file = NULL, *out_dir = NULL, *data = NULL,
			    *yaml = NULL;
	_cleanup_close_ int memfd = -1;
	struct learn_trail trail = { 0 };
	struct learn_resolved *resolved = NULL;
	size_t n_resolved = 0, len = 0;
	struct manifest *m = NULL;
	struct run_outcome outcome;
	struct run_options opts;
	struct learn_args a;
	const struct learn_host host = { .lstat = host_lstat,
					 .readlink = host_readlink,
					 .interpreter = host_interpreter };
	int k, status, audit_fd;

	k = parse_args(argc, argv, &a);
	if (k != 0)
		return k < 0 ? 0 : k;

	cwd = getcwd(NULL, 0);
	if (!cwd) {
		log_error_errno(-errno, "learn: the current directory");
		return EXIT_SKILLBOX_FAILED;
	}
	/* The directory is the skill's, shown writable: never the root or what the sandbox
	   makes itself. */
	if (streq(cwd, "/") || path_startswith(cwd, "/proc") || path_startswith(cwd, "/dev") ||
	    path_startswith(cwd, "/sys") || path_startswith(cwd, SANDBOX_HOME)) {
		log_error("learn: run it from the skill's own directory, not %s", cwd);
		return EXIT_SKILLBOX_FAILED;
	}
	if (a.output) {
		k = output_path(a.output, &out_file, &out_dir);
		if (k < 0) {
			log_error_errno(k, "learn: -o %s", a.output);
			return EXIT_SKILLBOX_FAILED;
		}
	}

	if (learn_manifest(a.command, cwd, !a.no_network, &m) < 0)
		return EXIT_SKILLBOX_FAILED;
	memfd = memfd_create("skillbox-learn-audit", MFD_CLOEXEC);
	/* run_execute() takes this one over; ours stays to read the trail back. */
	audit_fd = memfd < 0 ? -1 : fcntl(memfd, F_DUPFD_CLOEXEC, 3);
	if (audit_fd < 0) {
		manifest_free(m);
		log_error_errno(-errno, "learn: creating the memfd for the audit trail");
		return EXIT_SKILLBOX_FAILED;
	}
	opts = (struct run_options){
		.manifest_arg = "(learn)",
		.audit_fd = audit_fd,
		.timeout_usec = a.timeout_usec,
		.learn = true,
		.no_network = a.no_network,
		.overlay = cwd,
	};
	status = run_execute(&opts, m, &outcome);
	if (!outcome.started) {
		log_error("learn: the command did not run; no manifest written");
		return status;
	}
	if (outcome.overlay_degraded)
		log_error("learn: warning: the kernel could not mount an overlay on %s (%s): it "
			  "was read-only while learning, and the command's writes there failed",
			  cwd, strerror(outcome.overlay_error));

	k = read_trail(memfd, &data, &len);
	if (k >= 0)
		k = learn_trail_read(data, len, &trail);
	if (k >= 0)
		k = resolve_names(trail.names, &resolved, &n_resolved);
	if (k < 0) {
		log_error_errno(k, "learn: reading the audit trail of the run");
		learn_trail_done(&trail);
		return EXIT_SKILLBOX_FAILED;
	}

	k = learn_generate(
		&(struct learn_input){
			.argv = a.command,
			.cwd = cwd,
			.home = caller_home(),
			.out_dir = out_dir,
			.trail = &trail,
			.resolved = resolved,
			.n_resolved = n_resolved,
			.measure = { .wall_usec = outcome.wall_usec,
				     .cpu_usec = outcome.cpu_usec,
				     .max_rss_bytes = outcome.max_rss_kb * 1024,
				     .output_bytes = outcome.output_bytes,
				     .processes = trail.n_pids ? trail.n_pids : 1 },
			.status = status,
			.now = time(NULL),
			.overlay_degraded = outcome.overlay_degraded,
		},
		&host, &yaml);
	resolved_free(resolved, n_resolved);
	learn_trail_done(&trail);
	if (k < 0) {
		log_error_errno(k, "learn: generating the manifest");
		return EXIT_SKILLBOX_FAILED;
	}
	if (validate(yaml, out_file ? out_file : "<stdout>", out_dir ? out_dir : cwd) < 0)
		return EXIT_SKILLBOX_FAILED;
	k = write_manifest(yaml, out_file);
	if (k < 0) {
		log_error_errno(k, "learn: writing %s", out_file ? out_file : "the manifest");
		return EXIT_SKILLBOX_FAILED;
	}
	if (status != 0)
		log_error("learn: warning: the command exited with status %d; the manifest was "
			  "written anyway and declares only what it used before it failed",
			  status);
	if (out_file)
		fprintf(stderr, "skillbox: learn: wrote %s; review it, then: skillbox run %s\n",
			out_file, out_file);
	return status;
}
