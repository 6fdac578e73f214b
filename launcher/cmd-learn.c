/* SPDX-License-Identifier: MIT */
/*
 * skillbox learn [-o FILE] [--timeout DUR] [--no-network] -- COMMAND [ARGS...]
 *
 * Runs COMMAND once, observed, and drafts the manifest that declares what it used, so a skill
 * author never has to guess a first manifest. The learning run is an ordinary run (the
 * machinery of cmd-run.c, run_execute()) of a manifest built here:
 *
 *  - the host's root read-only: every entry of "/", /home and /tmp bound as itself, except
 *    the trees the sandbox has of its own (/proc, /dev, /home/skill) and /sys, which a
 *    normal run does not have either; /tmp is the sandbox's tmpfs with the host's entries
 *    bound read-only on it, so a sibling of a directory below /tmp is there too. (Entry by
 *    entry, not one bind of "/": the sandbox's HOME must be creatable below /home, and a
 *    recursive bind of "/" would bring the host's /sys along.)
 *  - the working directory writable through an overlay whose upper layer is a private tmpfs
 *    (MOUNT_OP_OVERLAY): the command's writes succeed and are thrown away. It is writable
 *    as the caller could write it on the host, whatever its owner, group or mode say inside
 *    the sandbox. When the kernel cannot mount it, the directory stays read-only and learn
 *    says so.
 *  - the network through the user-mode stack with every TCP and UDP destination accepted and
 *    logged (host-loopback included, by that name), and `dns: resolver`, each query logged;
 *  - tracing of exec, files and connect; the environment of a manifest without env:, and
 *    PYTHONDONTWRITEBYTECODE=1 (as the python3 profile sets it: no __pycache__ to grant);
 *  - a helper process that samples the sandbox's tree and keeps the most tasks alive at once
 *    (threads too: RLIMIT_NPROC counts them, and no event shows them).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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
#include "profiles.h"
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

static void yaml_path(struct buf *b, const char *path, bool optional)
{
	buf_puts(b, "    - ");
	if (strchr(path, ':') || optional) {
		/* "host:inside" would split at the name's own colon. */
		buf_puts(b, "{host: ");
		json_escape(b, path, strlen(path));
		buf_puts(b, ", inside: ");
		json_escape(b, path, strlen(path));
		buf_puts(b, optional ? ", optional: true}" : "}");
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
static int add_entries(struct buf *b, const char *dir, const char *const *skip, size_t n_skip,
		       bool optional)
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
		yaml_path(b, *n, optional);
	return k;
}

/* The manifest of the learning run (see the top of this file). */
static int learn_manifest(char **command, const char *cwd, bool network, struct manifest **ret)
{
	static const char *const root_skip[] = { "proc", "sys", "dev", "tmp", "home" };
	static const char *const home_skip[] = { "skill" };
	/* The working directory itself, when it is an entry of /tmp, is the overlay. */
	const char *const tmp_skip[] = { path_depth(cwd) == 2 && path_startswith(cwd, "/tmp")
						 ? path_startswith(cwd, "/tmp")
						 : "" };
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
	k = add_entries(&b, "/", root_skip, ELEMENTSOF(root_skip), false);
	/* A /home that is a symlink would leave the sandbox's HOME nowhere to go: left out. */
	if (k >= 0 && lstat("/home", &st) == 0 && S_ISDIR(st.st_mode))
		k = add_entries(&b, "/home", home_skip, ELEMENTSOF(home_skip), false);
	/*
	 * The host's /tmp, read-only, on the sandbox's own (which stays writable). Its entries
	 * come and go (other programs' temporary files): one gone by the time the sandbox
	 * opens it is left out rather than failing the run.
	 */
	if (k >= 0 && lstat("/tmp", &st) == 0 && S_ISDIR(st.st_mode))
		k = add_entries(&b, "/tmp", tmp_skip, ELEMENTSOF(tmp_skip), true);
	if (k < 0) {
		buf_done(&b);
		return log_error_errno(k, "learn: listing the host's root directory");
	}
	if (network)
		buf_puts(&b, "network:\n  dns: resolver\n");
	buf_puts(&b, "env:\n  set: {PYTHONDONTWRITEBYTECODE: \"1\"}\n");
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

/* --- the most tasks at once --- */

/*
 * RLIMIT_NPROC counts threads, and nothing in the audit trail shows them: node starts a dozen
 * before it runs a line. A helper process samples the sandbox's tree every 2 ms while the
 * command runs (its tasks: each process's entries in /proc/PID/task, and their children from
 * /proc/PID/task/TID/children) and keeps the most it saw in a page shared with learn. It
 * finds the sandbox as learn's child whose innermost pid is 1. A burst shorter than the
 * interval can be missed; the draft's limit has headroom (4x) for that.
 */
struct sampler_page {
	uint64_t tasks;	  /* the most tasks at once */
	uint64_t data_kb; /* the largest VmData of one process (what RLIMIT_DATA counts) */
};

struct sampler {
	pid_t pid;
	volatile struct sampler_page *peak; /* MAP_SHARED */
};

/* VmData of a process, in KiB; 0 when it cannot be read. */
static uint64_t vm_data_kb(pid_t pid)
{
	char path[64], status[4096];
	const char *l;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, status, sizeof(status) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	status[len] = 0;
	l = strstr(status, "\nVmData:");
	return l ? strtoull(l + 8, NULL, 10) : 0;
}

/* Reads up to max pids from a file of space-separated numbers (children). */
static size_t read_pids(const char *path, pid_t *pids, size_t max)
{
	char buf[4096];
	size_t n = 0;
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	for (char *p = buf, *end; *p && n < max; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (v > 0)
			pids[n++] = (pid_t)v;
	}
	return n;
}

/* The tasks of pid and of everything below it; the largest VmData among them in *data_kb. */
static uint64_t count_tree(pid_t pid, unsigned depth, uint64_t *data_kb)
{
	char path[320];
	uint64_t n = 0;
	DIR *d;
	struct dirent *de;

	if (depth > 64)
		return 0;
	*data_kb = MAX(*data_kb, vm_data_kb(pid));
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		pid_t kids[256];
		size_t k;

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		k = read_pids(path, kids, ELEMENTSOF(kids));
		for (size_t i = 0; i < k; i++)
			n += count_tree(kids[i], depth + 1, data_kb);
	}
	closedir(d);
	return n;
}

/* learn's child that is pid 1 of its own namespace: the sandbox's init. */
static pid_t find_init(pid_t parent)
{
	char path[64];
	pid_t kids[64];
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	n = read_pids(path, kids, ELEMENTSOF(kids));
	for (size_t i = 0; i < n; i++) {
		char status[4096];
		const char *l;
		ssize_t len;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)kids[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, status, sizeof(status) - 1);
		close(fd);
		if (len <= 0)
			continue;
		status[len] = 0;
		l = strstr(status, "\nNSpid:");
		if (l) {
			unsigned count = 0;
			long last = 0;
			char *end;

			/* More than one number (a nested pid namespace), the last of them 1. */
			for (l += 7; *l && *l != '\n'; l = end) {
				long v = strtol(l, &end, 10);

				if (end == l)
					break;
				count++;
				last = v;
			}
			if (count >= 2 && last == 1)
				return kids[i];
		}
	}
	return 0;
}

static int sampler_start(struct sampler *s)
{
	pid_t parent = getpid();
	void *page;

	*s = (struct sampler){ .pid = -1 };
	page = mmap(NULL, sizeof(struct sampler_page), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return -errno;
	s->peak = page;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		const struct timespec every = { 0, 2 * 1000 * 1000 };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;) {
			pid_t init = find_init(parent);

			if (init > 0) {
				uint64_t data = 0, n = count_tree(init, 0, &data);

				if (n > s->peak->tasks)
					s->peak->tasks = n;
				if (data > s->peak->data_kb)
					s->peak->data_kb = data;
			}
			nanosleep(&every, NULL);
		}
	}
	return 0;
}

/* Stops the helper; returns what it saw (zeros: nothing). */
static struct sampler_page sampler_stop(struct sampler *s)
{
	struct sampler_page peak = {};

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->peak) {
		peak = *s->peak;
		munmap((void *)s->peak, sizeof(struct sampler_page));
	}
	*s = (struct sampler){ .pid = -1 };
	return peak;
}

/* --- profiles, for the draft's include: --- */

/* Each profile there is, with the host paths it binds (what it includes merged in). */
static int load_profiles(struct learn_profile **ret, size_t *ret_n)
{
	_cleanup_strv_free_ char **names = NULL;
	struct learn_profile *v;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (profiles_list(&names) < 0)
		return 0; /* no profiles: the draft lists paths */
	v = calloc(strv_length(names) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	STRV_FOREACH (name, names) {
		_cleanup_manifest_free_ struct manifest *m = NULL;
		struct manifest_diags d = {};
		_cleanup_free_ char *text = NULL;

		if (asprintf(&text, "include: [%s]\n", *name) < 0)
			goto oom;
		if (manifest_parse(text, strlen(text),
				   &(struct manifest_parse_opts){ .path = "(profiles)",
								  .dir = "/",
								  .include = profiles_include,
								  .partial = true },
				   &m, &d) < 0) {
			manifest_diags_done(&d);
			continue;
		}
		v[n].name = strdup(*name);
		if (!v[n].name)
			goto oom;
		for (size_t i = 0; i < m->fs.n_read; i++)
			if (strv_extend(&v[n].reads, m->fs.read[i].host) < 0)
				goto oom;
		n++;
	}
	*ret = v;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i <= n; i++) {
		free((char *)v[i].name);
		strv_free(v[i].reads);
	}
	free(v);
	return -ENOMEM;
}

static void profiles_free(struct learn_profile *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)v[i].name);
		strv_free(v[i].reads);
	}
	free(v);
}

/*
 * Whether the caller can write to dir on the host: itself (owner, groups, mode), or for a
 * root caller the unprivileged uid the sandbox runs as: the directory's owner when that is
 * an unprivileged user (identity.c makes the sandbox user that owner for learn's overlay),
 * else a per-run uid, which only the "other" bits let in.
 */
static bool caller_can_write(const char *dir)
{
	struct stat st;

	if (geteuid() != 0)
		return access(dir, W_OK) == 0;
	if (stat(dir, &st) < 0)
		return false;
	return (st.st_uid != 0 && (st.st_mode & 0200)) || (st.st_mode & 0002);
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

	k = manifest_parse(yaml, strlen(yaml),
			   &(struct manifest_parse_opts){ .path = file,
							  .dir = dir,
							  .home = caller_home(),
							  .include = profiles_include },
			   &m, &diags);
	if (k == -EINVAL) {
		log_error("learn: the generated manifest is invalid (a bug in skillbox learn); "
			  "nothing was written:");
		manifest_print_diags(&diags, file);
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
	struct learn_profile *profiles = NULL;
	struct sampler sampler = { .pid = -1 };
	size_t n_resolved = 0, len = 0, n_profiles = 0;
	struct sampler_page peak;
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
		.overlay_writable = caller_can_write(cwd),
	};
	if (!opts.overlay_writable)
		log_error(
			"learn: warning: %s is not writable by %s: it is read-only while learning "
			"too, as it would be under the draft",
			cwd, geteuid() == 0 ? "the sandbox's user (a per-run uid)" : "you");
	k = sampler_start(&sampler);
	if (k < 0)
		log_error_errno(k, "learn: warning: counting threads (the draft's processes limit "
				   "counts the processes seen only)");
	status = run_execute(&opts, m, &outcome);
	peak = sampler_stop(&sampler);
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
	if (k >= 0)
		k = load_profiles(&profiles, &n_profiles);
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
				     .max_data_bytes = peak.data_kb * 1024,
				     .output_bytes = outcome.output_bytes,
				     .processes =
					     MAX(peak.tasks, trail.n_pids ? trail.n_pids : 1) },
			.status = status,
			.now = time(NULL),
			.overlay_degraded = outcome.overlay_degraded,
			.profiles = profiles,
			.n_profiles = n_profiles,
		},
		&host, &yaml);
	resolved_free(resolved, n_resolved);
	profiles_free(profiles, n_profiles);
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
		log_error("learn: wrote %s; review it, then: skillbox run %s", out_file, out_file);
	return status;
}
