/* SPDX-License-Identifier: MIT */
/*
 * The timing half of bench/run: starts the contenders with posix_spawn() (a vfork, so the
 * driver's own cost is small and the same for every contender), times them with
 * CLOCK_MONOTONIC and prints one tab-separated line per sample for bench/run to summarise.
 * It is self-contained (no project headers) so that bench/run can build it with a plain cc.
 *
 *   driver series SPEC ROUNDS WARMUP LOGDIR   A B C A B C ...: one launch per contender per round
 *   driver burst SPEC ROUNDS N LOGDIR         N concurrent launches of each contender per round
 *   driver hold SPEC N LOGDIR                 N concurrent sandboxes, held open, memory sampled
 *   driver serve PORTFILE [MODE [ADDR [BYTES]]]
 *                                             TCP server on ADDR (127.0.0.1), port in PORTFILE;
 *                                             MODE byte (one byte per connection), bulk (BYTES
 *                                             per connection) or http (answers a request head
 *                                             with 204)
 *   driver pasta-ready [--memory] PASTA [ARGS...]        pasta's start (until ready), its stop
 *   driver slirp-ready [--memory] SLIRP4NETNS [ARGS...]  the same for slirp4netns
 *
 * SPEC has one contender per line: label TAB flags TAB argv[0] TAB argv[1] ...; flags is "-" or
 * a comma-separated list of "first" (also time the first byte on stdout) and "capture" (the
 * last line of stdout holds one or two numbers, the contender's own measurements, reported as
 * the sample's value and value2).
 * Contenders inherit the driver's environment, plus any NAME=VALUE given as "@NAME=VALUE" before
 * argv[0]; stdin is /dev/null (a pipe for hold) and stderr goes to LOGDIR/<label>.log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define F_FIRST	  1u
#define F_CAPTURE 2u

#define MAX_CONTENDERS 32
#define MAX_ARGS       64
#define CAPTURE_MAX    4096

struct contender {
	char *label;
	unsigned flags;
	char *argv[MAX_ARGS + 1];
	char **envp; /* environ, or a copy with the contender's additions */
	int log_fd;
};

static struct contender contenders[MAX_CONTENDERS];
static size_t n_contenders;

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "driver: %s: %s\n", what, strerror(errno));
	exit(2);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: driver series SPEC ROUNDS WARMUP LOGDIR\n"
			"       driver burst SPEC ROUNDS N LOGDIR\n"
			"       driver hold SPEC N LOGDIR\n"
			"       driver serve PORTFILE [byte|bulk|http [ADDR [BYTES]]]\n"
			"       driver pasta-ready [--memory] PASTA [ARGS...]\n"
			"       driver slirp-ready [--memory] SLIRP4NETNS [ARGS...]\n");
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long parse_long(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		usage();
	return v;
}

static void load_spec(const char *path, const char *logdir)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		die(path);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct contender *c;
		char *save = NULL, *tok, logpath[4096];
		size_t argc = 0;

		if (line[n - 1] == '\n')
			line[--n] = 0;
		if (!n || line[0] == '#')
			continue;
		if (n_contenders == MAX_CONTENDERS) {
			fprintf(stderr, "driver: too many contenders\n");
			exit(2);
		}
		c = &contenders[n_contenders++];
		c->label = strdup(strtok_r(line, "\t", &save));
		tok = strtok_r(NULL, "\t", &save);
		if (!c->label || !tok)
			usage();
		if (strstr(tok, "first"))
			c->flags |= F_FIRST;
		if (strstr(tok, "capture"))
			c->flags |= F_CAPTURE;
		c->envp = environ;
		while ((tok = strtok_r(NULL, "\t", &save))) {
			if (!argc && tok[0] == '@' && strchr(tok, '=')) {
				size_t ne = 0;
				char **e;

				while (c->envp[ne])
					ne++;
				e = calloc(ne + 2, sizeof(*e));
				if (!e)
					die("calloc");
				memcpy(e, c->envp, ne * sizeof(*e));
				e[ne] = strdup(tok + 1);
				c->envp = e;
				continue;
			}
			if (argc == MAX_ARGS) {
				fprintf(stderr, "driver: too many arguments for %s\n", c->label);
				exit(2);
			}
			c->argv[argc++] = strdup(tok);
		}
		if (!argc)
			usage();
		snprintf(logpath, sizeof(logpath), "%s/%s.log", logdir, c->label);
		c->log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (c->log_fd < 0)
			die(logpath);
	}
	free(line);
	fclose(f);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* stdin_fd/stdout_fd: -1 for /dev/null. */
static pid_t spawn(const struct contender *c, int stdin_fd, int stdout_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (stdin_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	if (stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO);
	else
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, c->log_fd, STDERR_FILENO);
	r = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, c->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errno = r;
		die(c->argv[0]);
	}
	return pid;
}

struct sample {
	int status;
	int64_t wall_ns;
	int64_t first_ns; /* -1: no output */
	long long value;  /* -1: none captured */
	long long value2; /* a second captured number, or -1 */
	long maxrss_kb;
};

/* The first two numbers on the last line of buf; -1 for a missing one. */
static void last_line_numbers(char *buf, size_t n, long long *a, long long *b)
{
	char *line, *end;

	*a = *b = -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	line = memrchr(buf, '\n', n);
	line = line ? line + 1 : buf;
	*a = strtoll(line, &end, 10);
	if (end == line) {
		*a = -1;
		return;
	}
	line = end;
	*b = strtoll(line, &end, 10);
	if (end == line)
		*b = -1;
}

static void run_once(const struct contender *c, struct sample *s)
{
	char buf[CAPTURE_MAX + 1];
	size_t len = 0;
	struct rusage ru;
	int pipefd[2] = { -1, -1 }, status;
	int64_t t0;
	pid_t pid;

	s->first_ns = -1;
	s->value = s->value2 = -1;
	if (c->flags & (F_FIRST | F_CAPTURE))
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			die("pipe2");

	t0 = now_ns();
	pid = spawn(c, -1, pipefd[1]);
	if (pipefd[1] >= 0) {
		close(pipefd[1]);
		for (;;) {
			char tmp[4096];
			ssize_t n = read(pipefd[0], tmp, sizeof(tmp));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (s->first_ns < 0)
				s->first_ns = now_ns() - t0;
			if (len < CAPTURE_MAX) {
				size_t k = (size_t)n < CAPTURE_MAX - len ? (size_t)n
									 : CAPTURE_MAX - len;

				memcpy(buf + len, tmp, k);
				len += k;
			}
		}
		close(pipefd[0]);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4");
	s->wall_ns = now_ns() - t0;
	s->status = exit_code(status);
	s->maxrss_kb = ru.ru_maxrss;
	if (c->flags & F_CAPTURE)
		last_line_numbers(buf, len, &s->value, &s->value2);
}

static int cmd_series(int argc, char **argv)
{
	long rounds, warmup;

	if (argc != 6)
		usage();
	load_spec(argv[2], argv[5]);
	rounds = parse_long(argv[3]);
	warmup = parse_long(argv[4]);
	for (long r = -warmup; r < rounds; r++)
		for (size_t i = 0; i < n_contenders; i++) {
			struct sample s;

			run_once(&contenders[i], &s);
			if (r < 0)
				continue;
			printf("S\t%s\t%ld\t%d\t%" PRId64 "\t%" PRId64 "\t%lld\t%ld\t%lld\n",
			       contenders[i].label, r, s.status, s.wall_ns, s.first_ns, s.value,
			       s.maxrss_kb, s.value2);
			fflush(stdout);
		}
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int cmd_burst(int argc, char **argv)
{
	long rounds, n;
	pid_t *pids;
	long *rss;

	if (argc != 6)
		usage();
	load_spec(argv[2], argv[5]);
	rounds = parse_long(argv[3]);
	n = parse_long(argv[4]);
	if (n < 1)
		usage();
	pids = calloc((size_t)n, sizeof(*pids));
	rss = calloc((size_t)n, sizeof(*rss));
	if (!pids || !rss)
		die("calloc");
	for (long r = 0; r < rounds; r++)
		for (size_t i = 0; i < n_contenders; i++) {
			long failures = 0, left = n;
			int64_t t0 = now_ns(), wall;

			for (long k = 0; k < n; k++)
				pids[k] = spawn(&contenders[i], -1, -1);
			while (left > 0) {
				struct rusage ru;
				int status;
				pid_t p = wait4(-1, &status, 0, &ru);

				if (p < 0) {
					if (errno == EINTR)
						continue;
					die("wait4");
				}
				for (long k = 0; k < n; k++)
					if (pids[k] == p) {
						pids[k] = 0;
						rss[n - left] = ru.ru_maxrss;
						left--;
						if (exit_code(status) != 0)
							failures++;
						break;
					}
			}
			wall = now_ns() - t0;
			qsort(rss, (size_t)n, sizeof(*rss), cmp_long);
			printf("B\t%s\t%ld\t%ld\t%" PRId64 "\t%ld\t%ld\t%ld\n", contenders[i].label,
			       r, n, wall, failures, rss[n / 2], rss[n - 1]);
			fflush(stdout);
		}
	free(pids);
	free(rss);
	return 0;
}

/* Memory of one process, in kB; -1 where unreadable. */
struct mem {
	long rss, hwm, pss;
};

static long status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, len = 0;

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1 && (n = read(fd, buf + len, size - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	return len;
}

static void read_mem(pid_t pid, struct mem *m)
{
	char path[64], buf[8192];

	m->rss = m->hwm = m->pss = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0) {
		m->rss = status_field(buf, "VmRSS:");
		m->hwm = status_field(buf, "VmHWM:");
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (read_small(path, buf, sizeof(buf)) > 0)
		m->pss = status_field(buf, "\nPss:");
}

struct proc {
	pid_t pid, ppid;
	char comm[32];
};

/* Every process on the system with its parent and command name. */
static struct proc *scan_procs(size_t *ret_n)
{
	DIR *d = opendir("/proc");
	struct proc *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		die("/proc");
	while ((de = readdir(d))) {
		char path[64], buf[1024], *close_paren;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (read_small(path, buf, sizeof(buf)) <= 0)
			continue;
		close_paren = strrchr(buf, ')');
		if (!close_paren || !strchr(buf, '('))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[n].pid = pid;
		v[n].ppid = (pid_t)atoi(close_paren + 4);
		snprintf(v[n].comm, sizeof(v[n].comm), "%.*s",
			 (int)(close_paren - strchr(buf, '(') - 1), strchr(buf, '(') + 1);
		n++;
	}
	closedir(d);
	*ret_n = n;
	return v;
}

static bool descends_from(const struct proc *v, size_t n, pid_t pid, pid_t ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		pid_t parent = 0;

		for (size_t i = 0; i < n; i++)
			if (v[i].pid == pid) {
				parent = v[i].ppid;
				break;
			}
		if (parent == ancestor)
			return true;
		pid = parent;
	}
	return false;
}

static bool is_net_stack(const char *comm)
{
	return !strncmp(comm, "pasta", 5) || !strncmp(comm, "passt", 5) ||
	       !strncmp(comm, "slirp4netns", 11);
}

static void add_mem(struct mem *sum, const struct mem *m)
{
	if (m->rss > 0)
		sum->rss += m->rss;
	if (m->pss > 0)
		sum->pss += m->pss;
}

/*
 * N sandboxes of each contender at once, each running a program that writes one byte and then
 * waits for EOF on stdin. Once every one has written its byte, the memory of every process is
 * sampled: the supervisor (our direct child), the processes below it, and the user-mode network
 * stack (pasta daemonizes; as a child subreaper we still find it below us).
 */
static int cmd_hold(int argc, char **argv)
{
	long n;

	if (argc != 5)
		usage();
	load_spec(argv[2], argv[4]);
	n = parse_long(argv[3]);
	if (n < 1)
		usage();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		die("PR_SET_CHILD_SUBREAPER");

	for (size_t i = 0; i < n_contenders; i++) {
		pid_t *pids = calloc((size_t)n, sizeof(*pids));
		int *in = calloc((size_t)n, sizeof(*in));
		struct pollfd *out = calloc((size_t)n, sizeof(*out));
		long *sup_rss = calloc((size_t)n, sizeof(long));
		long *sup_hwm = calloc((size_t)n, sizeof(long));
		long *sup_pss = calloc((size_t)n, sizeof(long));
		struct mem below = { 0, 0, 0 }, net = { 0, 0, 0 };
		long ready = 0, failures = 0, net_procs = 0, below_procs = 0, left;
		int64_t t0, t_ready = -1, deadline;
		struct proc *procs;
		size_t n_procs;

		if (!pids || !in || !out || !sup_rss || !sup_hwm || !sup_pss)
			die("calloc");
		t0 = now_ns();
		for (long k = 0; k < n; k++) {
			int pin[2], pout[2];

			if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0)
				die("pipe2");
			pids[k] = spawn(&contenders[i], pin[0], pout[1]);
			close(pin[0]);
			close(pout[1]);
			in[k] = pin[1];
			out[k] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
		}
		deadline = now_ns() + 60 * (int64_t)1000000000;
		while (ready + failures < n && now_ns() < deadline) {
			if (poll(out, (nfds_t)n, 1000) < 0 && errno != EINTR)
				die("poll");
			for (long k = 0; k < n; k++) {
				char c;

				if (out[k].fd < 0 || !out[k].revents)
					continue;
				if (read(out[k].fd, &c, 1) == 1)
					ready++;
				else
					failures++;
				close(out[k].fd);
				out[k].fd = -1;
			}
		}
		t_ready = now_ns() - t0;

		procs = scan_procs(&n_procs);
		for (long k = 0; k < n; k++) {
			struct mem m;

			read_mem(pids[k], &m);
			sup_rss[k] = m.rss;
			sup_hwm[k] = m.hwm;
			sup_pss[k] = m.pss;
		}
		for (size_t p = 0; p < n_procs; p++) {
			bool mine = false;
			struct mem m;

			for (long k = 0; k < n && !mine; k++)
				mine = procs[p].pid == pids[k];
			if (mine || !descends_from(procs, n_procs, procs[p].pid, getpid()))
				continue;
			read_mem(procs[p].pid, &m);
			if (is_net_stack(procs[p].comm)) {
				add_mem(&net, &m);
				net_procs++;
			} else {
				add_mem(&below, &m);
				below_procs++;
			}
		}
		free(procs);

		qsort(sup_rss, (size_t)n, sizeof(long), cmp_long);
		qsort(sup_hwm, (size_t)n, sizeof(long), cmp_long);
		qsort(sup_pss, (size_t)n, sizeof(long), cmp_long);
		printf("H\t%s\t%ld\t%ld\t%" PRId64
		       "\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\n",
		       contenders[i].label, n, failures, t_ready, sup_rss[n / 2], sup_hwm[n / 2],
		       sup_pss[n / 2], below_procs, below.rss, below.pss, net_procs, net.rss,
		       net.pss);
		fflush(stdout);

		/* Release them all and wait; anything left below us afterwards is a leak. */
		for (long k = 0; k < n; k++) {
			close(in[k]);
			if (out[k].fd >= 0)
				close(out[k].fd);
		}
		left = n;
		deadline = now_ns() + 30 * (int64_t)1000000000;
		while (left > 0 && now_ns() < deadline) {
			int status;
			pid_t p = waitpid(-1, &status, 0);

			if (p < 0 && errno == EINTR)
				continue;
			if (p < 0)
				break;
			for (long k = 0; k < n; k++)
				if (pids[k] == p) {
					pids[k] = 0;
					left--;
				}
		}
		/* Daemonized helpers reparented to us exit shortly after their sandbox. */
		deadline = now_ns() + 5 * (int64_t)1000000000;
		while (now_ns() < deadline) {
			pid_t p = waitpid(-1, NULL, WNOHANG);

			if (p < 0)
				break;
			if (p == 0)
				usleep(10000);
		}
		if (waitpid(-1, NULL, WNOHANG) == 0)
			fprintf(stderr, "driver: hold %s: processes left behind after 5 s\n",
				contenders[i].label);
		free(pids);
		free(in);
		free(out);
		free(sup_rss);
		free(sup_hwm);
		free(sup_pss);
	}
	return 0;
}

/* Reads a request head (to the empty line), then answers 204 and closes. */
static void serve_http(int c)
{
	char buf[4096];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(c, buf + have, sizeof(buf) - 1 - have);

		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = 0;
		if (strstr(buf, "\r\n\r\n") || have == sizeof(buf) - 1)
			break;
	}
	(void)!write(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 47);
}

static void serve_bulk(int c, uint64_t bytes)
{
	static char block[256 * 1024];

	while (bytes > 0) {
		size_t k = bytes < sizeof(block) ? (size_t)bytes : sizeof(block);
		ssize_t n = write(c, block, k);

		if (n <= 0)
			return;
		bytes -= (uint64_t)n;
	}
}

static int cmd_serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const char *mode = argc > 3 ? argv[3] : "byte";
	uint64_t bytes = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
	socklen_t len = sizeof(sa);
	int fd, one = 1;
	FILE *f;

	if (argc < 3 || argc > 6)
		usage();
	if (argc > 4 && inet_pton(AF_INET, argv[4], &sa.sin_addr) != 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 512) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("bind/listen");
	f = fopen(argv[2], "we");
	if (!f)
		die(argv[2]);
	fprintf(f, "%u\n", ntohs(sa.sin_port));
	fclose(f);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept4");
		}
		if (!strcmp(mode, "http"))
			serve_http(c);
		else if (!strcmp(mode, "bulk"))
			serve_bulk(c, bytes);
		else
			(void)!write(c, "x", 1);
		close(c);
	}
}

static int write_file(pid_t pid, const char *name, const char *content)
{
	char path[64];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, content, strlen(content)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The stack's resident memory once ready (kB, from /proc/PID/smaps_rollup): Rss and Pss. */
static void stack_memory(pid_t pid, long *rss, long *pss)
{
	char path[64], line[256];
	FILE *f;

	*rss = *pss = -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Rss:", 4))
			*rss = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "Pss:", 4))
			*pss = strtol(line + 4, NULL, 10);
	}
	fclose(f);
}

/*
 * The user-mode stack's part of an egress launch, started the way skillbox starts it
 * (netfilter/nfstack.c): a user and network namespace owned by the sandbox's host uid (nobody
 * when we are root), then the stack as that uid, joining them, until it says it is ready:
 *
 *   pasta: the user namespace on stdin, the network namespace on stdout, --pid naming stderr,
 *     a pipe it owns (pasta 2025 closes every other inherited descriptor); ready when the
 *     line holding its pid arrives, which it writes once --config-net is done.
 *   slirp4netns: the namespaces and --ready-fd/--exit-fd as inherited descriptors; ready when
 *     it writes "1".
 *
 * Prints ready (ns from fork()), stop (ns from SIGKILL to reaped, which skillbox also waits
 * for at the end of a run), and with --memory its Rss and Pss in kB once ready.
 */
static int cmd_stack_ready(int argc, char **argv, bool slirp)
{
	char *args[MAX_ARGS + 12], fdargs[4][64], map[64], buf[256], want[16];
	int hold[2], ready[2], exitp[2] = { -1, -1 }, ufd, nfd, status = 0, first = 2;
	bool root = geteuid() == 0, memory = false, ok = false;
	uid_t host_uid = root ? 65534 : geteuid();
	gid_t host_gid = root ? 65534 : getegid();
	long rss = -1, pss = -1;
	struct pollfd pfd;
	pid_t holder, stack;
	size_t n = 0, len = 0;
	int64_t t0, t_ready, t_stop;

	if (argc > 2 && !strcmp(argv[2], "--memory")) {
		memory = true;
		first = 3;
	}
	if (argc < first + 1 || argc - first > MAX_ARGS)
		usage();
	if (pipe2(hold, O_CLOEXEC) < 0)
		die("pipe2");
	if (root && setresuid((uid_t)-1, host_uid, (uid_t)-1) < 0)
		die("setresuid");
	holder = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL,
				NULL);
	if (holder == 0) {
		char c;

		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	if (root && setresuid((uid_t)-1, 0, (uid_t)-1) < 0)
		die("setresuid back");
	if (holder < 0)
		die("clone(CLONE_NEWUSER|CLONE_NEWNET)");
	close(hold[0]);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)host_uid);
	if (write_file(holder, "setgroups", "deny") < 0 || write_file(holder, "uid_map", map) < 0)
		die("uid_map");
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)host_gid);
	if (write_file(holder, "gid_map", map) < 0)
		die("gid_map");
	snprintf(buf, sizeof(buf), "/proc/%d/ns/user", (int)holder);
	ufd = open(buf, O_RDONLY | O_CLOEXEC);
	snprintf(buf, sizeof(buf), "/proc/%d/ns/net", (int)holder);
	nfd = open(buf, O_RDONLY | O_CLOEXEC);
	if (ufd < 0 || nfd < 0)
		die("opening the namespaces");
	/* Above the standard descriptors, which the child replaces. */
	if (pipe2(ready, O_CLOEXEC) < 0 || (slirp && pipe2(exitp, O_CLOEXEC) < 0))
		die("pipe2");

	for (int i = first; i < argc; i++)
		args[n++] = argv[i];
	if (slirp) {
		snprintf(fdargs[0], sizeof(fdargs[0]), "--ready-fd=%d", ready[1]);
		snprintf(fdargs[1], sizeof(fdargs[1]), "--exit-fd=%d", exitp[0]);
		snprintf(fdargs[2], sizeof(fdargs[2]), "--userns-path=/proc/self/fd/%d", ufd);
		snprintf(fdargs[3], sizeof(fdargs[3]), "/proc/self/fd/%d", nfd);
		args[n++] = fdargs[0];
		args[n++] = fdargs[1];
		args[n++] = "--netns-type=path";
		args[n++] = fdargs[2];
		args[n++] = fdargs[3];
		args[n++] = "eth0";
	} else if (root) {
		/* As skillbox for a root caller: the child joins the user namespace itself. */
		args[n++] = "--netns";
		args[n++] = "/proc/self/fd/1";
		args[n++] = "--pid";
		args[n++] = "/proc/self/fd/2";
	} else {
		args[n++] = "--userns";
		args[n++] = "/proc/self/fd/0";
		args[n++] = "--netns";
		args[n++] = "/proc/self/fd/1";
		args[n++] = "--pid";
		args[n++] = "/proc/self/fd/2";
	}
	args[n] = NULL;

	t0 = now_ns();
	stack = fork();
	if (stack < 0)
		die("fork");
	if (stack == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0)
			_exit(127);
		if (slirp ? dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
				    dup2(null, STDERR_FILENO) < 0
			  : dup2(ufd, STDIN_FILENO) < 0 || dup2(nfd, STDOUT_FILENO) < 0 ||
				    dup2(ready[1], STDERR_FILENO) < 0)
			_exit(127);
		/*
		 * The stack reopens its ready pipe through /proc/self/fd: it must own it. A root
		 * caller's pasta is started the way skillbox starts it (nfstack.c, enter_userns()):
		 * inside the user namespace already, as its root (the host uid), so that pasta
		 * 2025's seccomp filter never sees a setns() into it; slirp4netns as the host uid.
		 */
		if (root && (fchown(ready[1], host_uid, host_gid) < 0 || setgroups(0, NULL) < 0))
			_exit(127);
		if (root && !slirp &&
		    (setns(ufd, CLONE_NEWUSER) < 0 || setresgid(0, 0, 0) < 0 ||
		     setresuid(0, 0, 0) < 0))
			_exit(127);
		if (root && slirp &&
		    (setresgid(host_gid, host_gid, host_gid) < 0 ||
		     setresuid(host_uid, host_uid, host_uid) < 0))
			_exit(127);
		if (slirp && (fcntl(ready[1], F_SETFD, 0) < 0 || fcntl(exitp[0], F_SETFD, 0) < 0 ||
			      fcntl(ufd, F_SETFD, 0) < 0 || fcntl(nfd, F_SETFD, 0) < 0))
			_exit(127);
		execv(args[0], args);
		_exit(127);
	}
	close(ready[1]);
	if (slirp)
		close(exitp[0]);
	close(ufd);
	close(nfd);
	snprintf(want, sizeof(want), "\n%d\n", (int)stack);
	buf[len++] = '\n'; /* so that the pid's line is "\n<pid>\n" even as the first one */
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	while (!ok && len < sizeof(buf) - 1) {
		int64_t left_ms = 10000 - (now_ns() - t0) / 1000000;
		ssize_t k;

		if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) == 0)
			break;
		k = read(ready[0], buf + len, sizeof(buf) - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		buf[len] = 0;
		ok = slirp ? memchr(buf, '1', len) != NULL : strstr(buf, want) != NULL;
	}
	t_ready = now_ns();
	if (ok && memory)
		stack_memory(stack, &rss, &pss);
	kill(stack, SIGKILL);
	while (waitpid(stack, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	t_stop = now_ns() - t_ready;
	if (slirp)
		close(exitp[1]);
	close(hold[1]);
	waitpid(holder, NULL, 0);
	if (!ok) {
		buf[len] = 0;
		fprintf(stderr, "driver: %s was not ready after %" PRId64 " ms: %s\n", args[0],
			(t_ready - t0) / 1000000, buf + 1);
		return 1;
	}
	if (memory)
		printf("%" PRId64 " %" PRId64 " %ld %ld\n", t_ready - t0, t_stop, rss, pss);
	else
		printf("%" PRId64 " %" PRId64 "\n", t_ready - t0, t_stop);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "series"))
		return cmd_series(argc, argv);
	if (!strcmp(argv[1], "burst"))
		return cmd_burst(argc, argv);
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argc, argv);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (!strcmp(argv[1], "pasta-ready"))
		return cmd_stack_ready(argc, argv, false);
	if (!strcmp(argv[1], "slirp-ready"))
		return cmd_stack_ready(argc, argv, true);
	usage();
}
