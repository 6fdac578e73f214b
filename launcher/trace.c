/* SPDX-License-Identifier: MIT */
/*
 * Runtime tracing: turning the traced syscalls the seccomp listener continues into events.
 *
 * Tracing observes, it does not enforce. The skill can only reach what the mounts, the
 * nftables ruleset and the seccomp filter let it reach; an event here records what it
 * asked for. The arguments are read from the tracee's memory while the calling thread is
 * stopped in the notification, but another thread of the same process can rewrite them
 * before the kernel copies them itself (a classic TOCTOU window), so an event can name a path
 * the kernel never saw. That is why nothing here decides anything.
 *
 * Reading is bounded and never waits on the skill: strings are read with process_vm_readv()
 * in chunks that stop at page boundaries (so a string at the end of a mapping reads up to
 * its NUL and no further), paths up to PATH_MAX, argv up to TRACE_ARGV_MAX pointers. Paths
 * relative to the cwd or a dirfd are resolved against readlink() of /proc/<pid>/cwd or
 * /proc/<pid>/fd/<n>, which, read from the parent, is the path as the sandbox sees it (the
 * sandbox's root is not reachable from ours, so the kernel prints it from the sandbox's
 * root). Resolution is lexical: "..", "." and "//" are folded, symbolic links are not
 * followed. Everything read here is only used after the caller has checked
 * SECCOMP_IOCTL_NOTIF_ID_VALID: until then the pid may already belong to someone else.
 *
 * An event is the call as it was made, before the kernel ran it: the answer is not known when
 * the call is continued. What the sandbox's view already decides is looked up just before
 * (trace-view.c: "fails", and "exists" for an open); "declared": false says the manifest's
 * view does not provide the path for that access, so the kernel will refuse it.
 *
 * Fidelity. The parent is single-threaded and handles one notification at a time; the
 * notifying thread waits until it is answered, so a skill producing events faster than they
 * are written is slowed down, never outrun: there is no queue that could overflow. Events
 * are written in the order the notifications were received. These events are evidence for
 * the sink (event-sink.h): what it leaves out is counted exactly and reported (audit.repeated,
 * audit.sampled), never dropped silently, and never at the cost of a must-record event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "missing-syscalls.h"
#include "path-util.h"
#include "strv.h"
#include "trace.h"
#include "trace-view.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef AT_REMOVEDIR
#define AT_REMOVEDIR 0x200
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* --- reading the tracee --- */

static size_t page_size(void)
{
	static size_t ps;

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);

		ps = v > 0 ? (size_t)v : 4096;
	}
	return ps;
}

/*
 * Reads up to len bytes at addr, one page-bounded chunk at a time (process_vm_readv() never
 * splits an iovec, so a chunk crossing into an unmapped page would fail as a whole). Returns
 * the bytes read before the first unreadable page, or -errno when not even the first chunk
 * could be read.
 */
static ssize_t mem_read(pid_t pid, uint64_t addr, void *buf, size_t len, size_t first_chunk)
{
	size_t done = 0;

	if (addr == 0)
		return -EFAULT;
	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = page_size() - (size_t)(a % page_size());
		struct iovec local, remote;
		ssize_t n;

		if (done == 0 && first_chunk)
			chunk = MIN(chunk, first_chunk);
		chunk = MIN(chunk, len - done);
		local = (struct iovec){ .iov_base = (char *)buf + done, .iov_len = chunk };
		remote = (struct iovec){ .iov_base = (void *)(uintptr_t)a, .iov_len = chunk };
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0) {
			if (done > 0)
				break;
			return n < 0 ? -errno : -EFAULT;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Reads a NUL-terminated string of at most max bytes (NUL excluded). With cut, a longer
 * string is cut at max bytes and *ret_cut set; without, it is -ENAMETOOLONG. Most strings
 * are short: the first chunk is small, so a path costs one small copy.
 */
static int mem_read_string(pid_t pid, uint64_t addr, size_t max, bool cut, char **ret,
			   bool *ret_cut)
{
	_cleanup_free_ char *s = malloc(max + 1);
	size_t have = 0;

	if (!s)
		return -ENOMEM;
	while (have < max + 1) {
		ssize_t n = mem_read(pid, addr + have, s + have, max + 1 - have, 256);
		char *nul;

		if (n < 0)
			return (int)n;
		nul = memchr(s + have, '\0', (size_t)n);
		if (nul) {
			*ret = TAKE_PTR(s);
			if (ret_cut)
				*ret_cut = false;
			return 0;
		}
		have += (size_t)n;
		if (have < max + 1)
			/* mem_read() stopped at an unreadable page before the NUL. */
			return -EFAULT;
	}
	if (!cut)
		return -ENAMETOOLONG;
	s[max] = '\0';
	*ret = TAKE_PTR(s);
	if (ret_cut)
		*ret_cut = true;
	return 0;
}

int trace_read_path(pid_t tid, uint64_t addr, char **ret)
{
	return mem_read_string(tid, addr, PATH_MAX - 1, false, ret, NULL);
}

int trace_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = mem_read(tid, addr, buf, len, 0);

	if (n < 0)
		return (int)n;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* readlink() of /proc/<tid>/<what>, NUL-terminated. */
static int proc_readlink(pid_t tid, const char *what, char **ret)
{
	char path[64];
	_cleanup_free_ char *buf = malloc(PATH_MAX + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)tid, what);
	n = readlink(path, buf, PATH_MAX + 1);
	if (n < 0)
		return -errno;
	if (n > PATH_MAX)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* The last number of a "Key:\t1234\t5" line of /proc/<pid>/status; 0 when absent. */
static pid_t status_field(const char *status, const char *key, bool last)
{
	const char *p = strstr(status, key);
	long v = 0;

	if (!p)
		return 0;
	p += strlen(key);
	for (;;) {
		char *end;
		long x;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			break;
		x = strtol(p, &end, 10);
		p = end;
		v = x;
		if (!last)
			break;
	}
	return v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

/*
 * The process of task tid: its host pid (Tgid), its pid inside the sandbox (the last NStgid,
 * the innermost namespace), and its parent's host pid (PPid).
 */
static int read_status(pid_t tid, pid_t *ret_host_pid, pid_t *ret_pid, pid_t *ret_host_ppid)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (ret_host_pid)
		*ret_host_pid = status_field(buf, "\nTgid:", false);
	if (ret_pid)
		*ret_pid = status_field(buf, "\nNStgid:", true);
	if (ret_host_ppid)
		*ret_host_ppid = status_field(buf, "\nPPid:", false);
	return 0;
}

const char *trace_open_access(int flags)
{
	if (flags & O_PATH)
		return "path";
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		return "read";
	case O_WRONLY:
		return "write";
	default:
		return "read-write";
	}
}

int trace_resolve(const char *base, const char *path, char **ret)
{
	_cleanup_free_ char *joined = NULL;

	if (path[0] == '/')
		return path_normalize(path, ret);
	if (!base || base[0] != '/')
		return -EINVAL;
	if (!path[0])
		return path_normalize(base, ret);
	joined = path_join(base, path);
	if (!joined)
		return -ENOMEM;
	return path_normalize(joined, ret);
}

static void set_error(struct trace_call *c, const char *what, int error)
{
	struct buf b = BUF_INIT;

	if (c->error)
		return; /* the first problem is the one worth reading */
	buf_printf(&b, "%s: %s", what, strerror(error));
	c->error = buf_steal(&b);
}

/* The fd's path in the tracee, or NULL with an error when it is not a path (a pipe). */
static char *fd_path(struct trace_call *c, int fd, const char *what)
{
	char name[32];
	char *p = NULL;
	int k;

	snprintf(name, sizeof(name), fd == AT_FDCWD ? "cwd" : "fd/%d", fd);
	k = proc_readlink(c->host_tid, name, &p);
	if (k < 0) {
		set_error(c, what, -k);
		return NULL;
	}
	if (p[0] != '/') {
		/* "pipe:[1234]", "socket:[...]", "anon_inode:[...]": no path to name. */
		struct buf b = BUF_INIT;

		if (!c->error) {
			buf_printf(&b, "%s: not a file in the view (%s)", what, p);
			c->error = buf_steal(&b);
		}
		free(p);
		return NULL;
	}
	return p;
}

/*
 * The path argument at index arg, resolved against dirfd (AT_FDCWD: the cwd); dirfd < -1
 * means "no dirfd argument". With empty_ok an empty path names the dirfd itself
 * (AT_EMPTY_PATH). ret_given receives the string as passed, when asked for.
 */
static char *read_path(struct trace_call *c, uint64_t addr, int dirfd, bool empty_ok,
		       char **ret_given)
{
	_cleanup_free_ char *given = NULL, *base = NULL;
	char *resolved = NULL;
	int k;

	k = mem_read_string(c->host_tid, addr, PATH_MAX - 1, false, &given, NULL);
	if (k < 0) {
		set_error(c, "reading the path", -k);
		return NULL;
	}
	if (given[0] != '/') {
		char what[32];

		if (!given[0] && !empty_ok) {
			set_error(c, "the path", ENOENT);
			goto out;
		}
		if (dirfd == AT_FDCWD)
			snprintf(what, sizeof(what), "cwd");
		else
			snprintf(what, sizeof(what), "dirfd %d", dirfd);
		base = fd_path(c, dirfd, what);
		if (!base)
			goto out;
	}
	k = trace_resolve(base, given, &resolved);
	if (k < 0)
		set_error(c, "resolving the path", -k);
	/*
	 * Resolved by text: ".." after a symlink, a descriptor's own file (AT_EMPTY_PATH) or a
	 * deleted directory may name something else than the kernel will reach.
	 */
	if (!given[0] || path_has_dotdot(given) ||
	    (base && strlen(base) >= 10 && streq(base + strlen(base) - 10, " (deleted)")))
		c->unsure = true;
out:
	if (ret_given)
		*ret_given = TAKE_PTR(given);
	return resolved;
}

static int arg_int(const struct seccomp_notif *req, int i)
{
	return (int)(uint32_t)req->data.args[i];
}

/*
 * What each traced syscall's arguments are. Argument positions are stored plus one (ARG(0)
 * is 1), so that 0, what an omitted initializer gives, means "no such argument".
 */
struct traced {
	const char *name;
	enum trace_kind kind;
	const char *op; /* TRACE_CHANGE */
	int dirfd, path, dirfd2, path2, target, fd, at_flags;
	int open_flags; /* TRACE_OPEN: the flags; OPEN_CREAT, OPEN_HOW */
	int argv;	/* TRACE_EXEC */
	int addr;	/* TRACE_CONNECT: sockaddr (its length follows); ADDR_MSG, ADDR_MMSG */
};

#define ARG(n) ((n) + 1)
#define HAS(f) ((f) > 0)
#define IDX(f) ((f)-1)

enum {
	OPEN_CREAT = -1, /* creat(): O_CREAT|O_WRONLY|O_TRUNC */
	OPEN_HOW = -2,	 /* openat2(): flags in the struct open_how at args[2] */
	ADDR_MSG = -1,	 /* sendmsg(): msg_name of the msghdr at args[1] */
	ADDR_MMSG = -2,	 /* sendmmsg(): the first mmsghdr's */
};

static const struct traced traced[] = {
	{ "execve", TRACE_EXEC, .path = ARG(0), .argv = ARG(1) },
	{ "execveat", TRACE_EXEC, .dirfd = ARG(0), .path = ARG(1), .argv = ARG(2),
	  .at_flags = ARG(4) },
	{ "open", TRACE_OPEN, .path = ARG(0), .open_flags = ARG(1) },
	{ "openat", TRACE_OPEN, .dirfd = ARG(0), .path = ARG(1), .open_flags = ARG(2) },
	{ "openat2", TRACE_OPEN, .dirfd = ARG(0), .path = ARG(1), .open_flags = OPEN_HOW },
	{ "creat", TRACE_OPEN, .path = ARG(0), .open_flags = OPEN_CREAT },
	{ "unlink", TRACE_CHANGE, "unlink", .path = ARG(0) },
	{ "unlinkat", TRACE_CHANGE, "unlink", .dirfd = ARG(0), .path = ARG(1), .at_flags = ARG(2) },
	{ "rmdir", TRACE_CHANGE, "rmdir", .path = ARG(0) },
	{ "rename", TRACE_CHANGE, "rename", .path = ARG(0), .path2 = ARG(1) },
	{ "renameat", TRACE_CHANGE, "rename", .dirfd = ARG(0), .path = ARG(1), .dirfd2 = ARG(2),
	  .path2 = ARG(3) },
	{ "renameat2", TRACE_CHANGE, "rename", .dirfd = ARG(0), .path = ARG(1), .dirfd2 = ARG(2),
	  .path2 = ARG(3) },
	{ "link", TRACE_CHANGE, "link", .path = ARG(0), .path2 = ARG(1) },
	{ "linkat", TRACE_CHANGE, "link", .dirfd = ARG(0), .path = ARG(1), .dirfd2 = ARG(2),
	  .path2 = ARG(3), .at_flags = ARG(4) },
	{ "symlink", TRACE_CHANGE, "symlink", .target = ARG(0), .path = ARG(1) },
	{ "symlinkat", TRACE_CHANGE, "symlink", .target = ARG(0), .dirfd = ARG(1), .path = ARG(2) },
	{ "mkdir", TRACE_CHANGE, "mkdir", .path = ARG(0) },
	{ "mkdirat", TRACE_CHANGE, "mkdir", .dirfd = ARG(0), .path = ARG(1) },
	{ "mknod", TRACE_CHANGE, "mknod", .path = ARG(0) },
	{ "mknodat", TRACE_CHANGE, "mknod", .dirfd = ARG(0), .path = ARG(1) },
	{ "chmod", TRACE_CHANGE, "chmod", .path = ARG(0) },
	{ "fchmod", TRACE_CHANGE, "chmod", .fd = ARG(0) },
	{ "fchmodat", TRACE_CHANGE, "chmod", .dirfd = ARG(0), .path = ARG(1) },
	{ "fchmodat2", TRACE_CHANGE, "chmod", .dirfd = ARG(0), .path = ARG(1), .at_flags = ARG(3) },
	{ "chown", TRACE_CHANGE, "chown", .path = ARG(0) },
	{ "lchown", TRACE_CHANGE, "chown", .path = ARG(0) },
	{ "fchown", TRACE_CHANGE, "chown", .fd = ARG(0) },
	{ "fchownat", TRACE_CHANGE, "chown", .dirfd = ARG(0), .path = ARG(1), .at_flags = ARG(4) },
	{ "truncate", TRACE_CHANGE, "truncate", .path = ARG(0) },
	{ "connect", TRACE_CONNECT, .fd = ARG(0), .addr = ARG(1) },
	{ "sendto", TRACE_CONNECT, .fd = ARG(0), .addr = ARG(4) },
	{ "sendmsg", TRACE_CONNECT, .fd = ARG(0), .addr = ADDR_MSG },
	{ "sendmmsg", TRACE_CONNECT, .fd = ARG(0), .addr = ADDR_MMSG },
};

static const struct traced *find_traced(const char *name)
{
	for (size_t i = 0; name && i < ELEMENTSOF(traced); i++)
		if (streq(traced[i].name, name))
			return &traced[i];
	return NULL;
}

static void collect_argv(struct trace_call *c, uint64_t addr)
{
	uint64_t ptrs[TRACE_ARGV_MAX + 1];
	size_t total = 0, n_ptrs;
	ssize_t n;

	c->argv = calloc(TRACE_ARGV_MAX + 1, sizeof(char *));
	if (!c->argv)
		return;
	n = mem_read(c->host_tid, addr, ptrs, sizeof(ptrs), 0);
	if (n < 0) {
		set_error(c, "reading argv", (int)-n);
		return;
	}
	n_ptrs = (size_t)n / sizeof(uint64_t);
	for (size_t i = 0; i < n_ptrs; i++) {
		size_t left = TRACE_ARGV_BYTES - total;
		bool cut = false;
		char *s = NULL;
		int k;

		if (ptrs[i] == 0)
			return;
		if (i == TRACE_ARGV_MAX || left == 0) {
			c->argv_truncated = true;
			return;
		}
		k = mem_read_string(c->host_tid, ptrs[i], MIN((size_t)TRACE_ARG_MAX, left), true,
				    &s, &cut);
		if (k < 0) {
			set_error(c, "reading argv", -k);
			return;
		}
		c->argv[i] = s;
		c->argv_truncated |= cut;
		total += strlen(s);
	}
	/* The pointer array ran into an unreadable page before its NULL. */
	set_error(c, "reading argv", EFAULT);
}

static void collect_exec(struct trace_call *c, const struct seccomp_notif *req,
			 const struct traced *t)
{
	int flags = HAS(t->at_flags) ? arg_int(req, IDX(t->at_flags)) : 0;
	int dirfd = HAS(t->dirfd) ? arg_int(req, IDX(t->dirfd)) : AT_FDCWD;

	c->path =
		read_path(c, req->data.args[IDX(t->path)], dirfd, flags & AT_EMPTY_PATH, &c->given);
	collect_argv(c, req->data.args[IDX(t->argv)]);
}

bool trace_path_is_sensitive(const char *path)
{
	static const char *const inside[] = {
		"/.ssh/",
		"/.aws/",
		"/.config/gcloud/",
		"/.gnupg/",
		"/.docker/",
		"/.kube/",
		"/.azure/",
		"/.password-store/",
		"/.mozilla/",
		"/.config/gh/",
		"/.local/share/keyrings/",
	};
	static const char *const names[] = {
		".netrc",	 ".git-credentials", ".npmrc",	   ".pypirc",
		".bash_history", ".zsh_history",     ".env",	   ".pgpass",
		".my.cnf",	 "id_rsa",	     "id_ed25519", "id_ecdsa",
		"credentials",	 "shadow",	     "gshadow",
	};
	size_t len;
	const char *base;

	if (!path)
		return false;
	len = strlen(path);
	for (size_t i = 0; i < ELEMENTSOF(inside); i++) {
		/* Below the directory ("/x/.ssh/id_rsa"), or the directory itself ("/x/.ssh"). */
		size_t k = strlen(inside[i]) - 1;

		if (strstr(path, inside[i]) || (len >= k && strneq(path + len - k, inside[i], k)))
			return true;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(base, names[i]))
			return true;
	/* Another process's environment: /proc/<pid>/environ (not our own "self"). */
	if (strneq(path, "/proc/", 6)) {
		const char *p = path + 6;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p > path + 6 && streq(p, "/environ"))
			return true;
	}
	return false;
}

static void collect_open(struct trace_call *c, const struct seccomp_notif *req,
			 const struct traced *t)
{
	int dirfd = HAS(t->dirfd) ? arg_int(req, IDX(t->dirfd)) : AT_FDCWD;

	if (t->open_flags == OPEN_CREAT) {
		c->flags = O_CREAT | O_WRONLY | O_TRUNC;
	} else if (t->open_flags == OPEN_HOW) {
		uint64_t how_flags = 0;
		ssize_t n =
			mem_read(c->host_tid, req->data.args[2], &how_flags, sizeof(how_flags), 0);

		if (n == (ssize_t)sizeof(how_flags))
			c->flags = (int)how_flags;
		else
			set_error(c, "reading struct open_how", n < 0 ? (int)-n : EFAULT);
	} else {
		c->flags = arg_int(req, IDX(t->open_flags));
	}
	c->path = read_path(c, req->data.args[IDX(t->path)], dirfd, false, NULL);
}

static void collect_change(struct trace_call *c, const struct seccomp_notif *req,
			   const struct traced *t)
{
	int flags = HAS(t->at_flags) ? arg_int(req, IDX(t->at_flags)) : 0;
	int dirfd = HAS(t->dirfd) ? arg_int(req, IDX(t->dirfd)) : AT_FDCWD;

	c->op = t->op;
	if (streq(t->name, "unlinkat") && (flags & AT_REMOVEDIR))
		c->op = "rmdir";
	if (HAS(t->fd)) {
		int fd = arg_int(req, IDX(t->fd));
		char what[32];
		char *p;

		snprintf(what, sizeof(what), "fd %d", fd);
		c->unsure = true; /* the file is open: there is nothing to look up */
		p = fd_path(c, fd, what);
		if (p && path_normalize(p, &c->path) < 0)
			set_error(c, "resolving the path", ENOMEM);
		free(p);
		return;
	}
	/* linkat's AT_EMPTY_PATH applies to the old path, fchownat's to the only one. */
	c->path = read_path(c, req->data.args[IDX(t->path)], dirfd, flags & AT_EMPTY_PATH, NULL);
	if (HAS(t->path2))
		c->path2 = read_path(c, req->data.args[IDX(t->path2)],
				     HAS(t->dirfd2) ? arg_int(req, IDX(t->dirfd2)) : AT_FDCWD,
				     false, NULL);
	if (HAS(t->target)) {
		/* A symlink's target is stored as written, relative or not. */
		int k = mem_read_string(c->host_tid, req->data.args[IDX(t->target)], PATH_MAX - 1,
					false, &c->path2, NULL);

		if (k < 0)
			set_error(c, "reading the target", -k);
	}
}

/* SO_TYPE and SO_PROTOCOL of the tracee's socket, through a copy of its descriptor. */
static void socket_kind(struct trace_call *c)
{
	_cleanup_close_ int pidfd = -1, fd = -1;
	socklen_t len = sizeof(int);

	pidfd = (int)syscall(SYS_pidfd_open, c->host_pid, 0);
	if (pidfd >= 0)
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, c->fd, 0);
	if (fd < 0) {
		set_error(c, "reading the socket's type", errno);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &c->sock_type, &len) < 0)
		c->sock_type = -1;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &c->sock_proto, &len) < 0)
		c->sock_proto = -1;
}

static void collect_connect(struct trace_call *c, const struct seccomp_notif *req,
			    const struct traced *t)
{
	struct sockaddr_storage ss = { 0 };
	uint64_t addr = 0, len = 0;
	ssize_t n;

	c->fd = arg_int(req, IDX(t->fd));
	if (HAS(t->addr)) {
		addr = req->data.args[IDX(t->addr)];
		len = (uint32_t)req->data.args[IDX(t->addr) + 1];
	} else {
		/* struct msghdr starts with msg_name and msg_namelen; so does struct mmsghdr. */
		struct msghdr mh;

		if (t->addr == ADDR_MMSG && req->data.args[2] == 0)
			return; /* vlen 0: nothing is sent */
		n = mem_read(c->host_tid, req->data.args[1], &mh, sizeof(mh), 0);
		if (n != (ssize_t)sizeof(mh)) {
			c->kind = TRACE_CONNECT;
			set_error(c, "reading the message header", n < 0 ? (int)-n : EFAULT);
			goto kind;
		}
		addr = (uint64_t)(uintptr_t)mh.msg_name;
		len = mh.msg_namelen;
	}
	/* No destination: a connected socket sends where it is connected; nothing new. */
	if (addr == 0 || len == 0)
		return;

	c->kind = TRACE_CONNECT;
	n = mem_read(c->host_tid, addr, &ss, MIN(len, sizeof(ss)), 0);
	if (n < (ssize_t)sizeof(sa_family_t)) {
		set_error(c, "reading the address", n < 0 ? (int)-n : EFAULT);
		goto kind;
	}
	c->family = ss.ss_family;
	if (c->family == AF_UNSPEC || c->family == AF_NETLINK) {
		/* Dissolving an association, or a message to the kernel: not a connection. */
		c->kind = TRACE_NONE;
		return;
	}
	if (c->family == AF_INET && n >= (ssize_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		c->address = strdup(a);
		c->port = ntohs(sin->sin_port);
	} else if (c->family == AF_INET6 && n >= (ssize_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
		char a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		c->address = strdup(a);
		c->port = ntohs(sin6->sin6_port);
	} else if (c->family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
		size_t plen = (size_t)n - offsetof(struct sockaddr_un, sun_path);
		struct buf b = BUF_INIT;

		if (plen > 0 && sun->sun_path[0] == '\0') {
			/* Abstract: the name is every byte of the given length, NULs included. */
			buf_putc(&b, '@');
			buf_append(&b, sun->sun_path + 1, plen - 1);
			c->abstract = true;
		} else {
			/* A path ends at its first NUL, as the kernel reads it. */
			buf_append(&b, sun->sun_path, strnlen(sun->sun_path, plen));
		}
		c->address_len = b.len;
		c->address = buf_steal(&b);
	} else if (c->family == AF_INET || c->family == AF_INET6) {
		set_error(c, "the address", EINVAL);
	}
kind:
	socket_kind(c);
}

void trace_collect(const struct trace_context *ctx, const struct seccomp_notif *req,
		   const char *name, struct trace_call *ret)
{
	const struct traced *t = find_traced(name);
	pid_t host_ppid = 0;
	int k;

	*ret = (struct trace_call){
		.exists = -1,
		.syscall = name,
		.host_tid = (pid_t)req->pid,
		.host_pid = (pid_t)req->pid,
		.fd = -1,
		.family = -1,
		.port = -1,
		.sock_type = -1,
		.sock_proto = -1,
	};
	if (!t)
		return;
	if (t->kind != TRACE_CONNECT)
		ret->kind = t->kind;

	k = read_status(ret->host_tid, &ret->host_pid, &ret->pid,
			t->kind == TRACE_EXEC ? &host_ppid : NULL);
	if (k < 0) {
		set_error(ret, "reading the process status", -k);
		ret->host_pid = ret->host_tid;
	}
	if (!ret->host_pid)
		ret->host_pid = ret->host_tid;

	switch (t->kind) {
	case TRACE_EXEC:
		if (host_ppid && host_ppid == ctx->init_pid)
			ret->ppid = 1;
		else if (host_ppid && read_status(host_ppid, NULL, &ret->ppid, NULL) < 0)
			ret->ppid = 0;
		collect_exec(ret, req, t);
		break;
	case TRACE_OPEN:
		collect_open(ret, req, t);
		break;
	case TRACE_CHANGE:
		collect_change(ret, req, t);
		break;
	case TRACE_CONNECT:
		collect_connect(ret, req, t);
		break;
	case TRACE_NONE:
		break;
	}
	trace_predict(ret);
}

void trace_call_done(struct trace_call *c)
{
	free(c->given);
	free(c->path);
	free(c->path2);
	strv_free(c->argv);
	free(c->address);
	free(c->error);
	*c = (struct trace_call){ 0 };
}

/* --- events --- */

static const char *fails_name(int error)
{
	const char *n = strerrorname_np(error);

	return n ? n : "error";
}

static const char *family_name(int family)
{
	switch (family) {
	case AF_UNIX:
		return "AF_UNIX";
	case AF_INET:
		return "AF_INET";
	case AF_INET6:
		return "AF_INET6";
	default:
		return NULL;
	}
}

static const char *proto_name(const struct trace_call *c, char *buf, size_t size)
{
	if (c->family == AF_UNIX) {
		switch (c->sock_type) {
		case SOCK_STREAM:
			return "stream";
		case SOCK_DGRAM:
			return "dgram";
		case SOCK_SEQPACKET:
			return "seqpacket";
		default:
			break;
		}
	} else {
		switch (c->sock_proto) {
		case IPPROTO_TCP:
			return "tcp";
		case IPPROTO_UDP:
			return "udp";
		case IPPROTO_UDPLITE:
			return "udplite";
		case IPPROTO_SCTP:
			return "sctp";
		case IPPROTO_MPTCP:
			return "mptcp";
		case IPPROTO_ICMP:
			return "icmp";
		case IPPROTO_ICMPV6:
			return "icmpv6";
		default:
			break;
		}
	}
	if (c->sock_type < 0)
		return NULL;
	if (c->sock_type == SOCK_RAW)
		return "raw";
	snprintf(buf, size, "%d/%d", c->sock_type, c->sock_proto);
	return buf;
}

static void emit_exec(const struct trace_context *ctx, const struct trace_call *c)
{
	struct audit *au = event_sink_audit(ctx->sink);
	struct buf key = BUF_INIT;

	if (c->fails)
		buf_printf(&key, "%s ", fails_name(c->fails));
	buf_puts(&key, c->path ? c->path : "?");
	STRV_FOREACH (a, c->argv)
		buf_printf(&key, " %s", *a);
	if (!event_sink_admit(ctx->sink, EVENT_EVIDENCE, "proc.exec", buf_str(&key))) {
		buf_done(&key);
		return;
	}
	buf_done(&key);

	audit_begin(au, "proc.exec");
	audit_str(au, "source", "trace");
	audit_int(au, "pid", c->pid);
	audit_int(au, "ppid", c->ppid);
	audit_int(au, "host_pid", c->host_pid);
	audit_str(au, "path", c->given);
	audit_str(au, "resolved", c->path);
	audit_array_begin(au, "argv");
	STRV_FOREACH (a, c->argv)
		audit_str(au, NULL, *a);
	audit_array_end(au);
	if (c->argv_truncated)
		audit_bool(au, "argv_truncated", true);
	if (c->fails)
		audit_str(au, "fails", fails_name(c->fails));
	if (c->error)
		audit_str(au, "error", c->error);
	event_sink_end(ctx->sink);
}

/* Whether the view provides a file event's path(s) for its access. */
struct declared {
	bool known; /* false when the path could not be read */
	bool declared;
	bool by_default;
	const char *mount;
};

static bool has_second_path(const struct trace_call *c)
{
	return c->kind == TRACE_CHANGE && (streq(c->op, "rename") || streq(c->op, "link"));
}

static void lookup_declared(const struct trace_context *ctx, const struct trace_call *c, bool write,
			    struct declared *ret)
{
	struct mount_lookup l, l2;

	*ret = (struct declared){ 0 };
	if (!c->path || !ctx->plan || mount_plan_lookup(ctx->plan, c->path, write, &l) < 0)
		return;
	*ret = (struct declared){ .known = true,
				  .declared = l.declared,
				  .by_default = l.by_default,
				  .mount = l.op ? l.op->inside : NULL };
	/* rename and link write the second path too; a symlink's target is only text. */
	if (has_second_path(c) && c->path2 &&
	    mount_plan_lookup(ctx->plan, c->path2, true, &l2) == 0) {
		ret->declared = ret->declared && l2.declared;
		ret->by_default = ret->by_default && l2.by_default;
	}
	ret->by_default = ret->by_default && ret->declared;
}

/*
 * An access outside the manifest's view is listed in run.summary. It is not a refusal by
 * tracing (which refuses nothing): the view does not have the path, or has it read-only, so
 * the kernel fails the call (ENOENT, EROFS) on its own.
 */
static void note_undeclared(const struct trace_context *ctx, const struct trace_call *c,
			    const struct declared *d, const char *what)
{
	struct buf b = BUF_INIT;

	if (!d->known || d->declared)
		return;
	buf_printf(&b, "%s %s", what, c->path);
	if (has_second_path(c) && c->path2)
		buf_printf(&b, " -> %s", c->path2);
	event_sink_refusal(ctx->sink, REFUSAL_FILE, buf_ok(&b) ? buf_str(&b) : what);
	buf_done(&b);
}

static void audit_declared(const struct trace_context *ctx, const struct declared *d)
{
	struct audit *au = event_sink_audit(ctx->sink);

	if (!d->known) {
		audit_null(au, "declared");
		audit_null(au, "mount");
		return;
	}
	audit_bool(au, "declared", d->declared);
	if (d->by_default)
		audit_str(au, "by", "default");
	audit_str(au, "mount", d->mount);
}

static bool is_write_open(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
	       (flags & O_TMPFILE) == O_TMPFILE;
}

static void emit_open(const struct trace_context *ctx, const struct trace_call *c)
{
	struct audit *au = event_sink_audit(ctx->sink);
	const char *access = trace_open_access(c->flags);
	/* O_TMPFILE includes O_DIRECTORY: only both bits together make an unnamed file. */
	bool create = (c->flags & O_CREAT) || (c->flags & O_TMPFILE) == O_TMPFILE;
	bool truncate = c->flags & O_TRUNC;
	struct buf key = BUF_INIT;
	struct declared d;
	bool admit;

	lookup_declared(ctx, c, is_write_open(c->flags), &d);
	note_undeclared(ctx, c, &d, access);
	if (c->fails)
		buf_printf(&key, "%s ", fails_name(c->fails));
	buf_printf(&key, "%s%s%s %s", access, create ? "+create" : "", truncate ? "+truncate" : "",
		   c->path    ? c->path
		   : c->error ? c->error
			      : "?");
	admit = event_sink_admit(ctx->sink, EVENT_EVIDENCE, "file.open", buf_str(&key));
	buf_done(&key);
	if (!admit)
		return;

	audit_begin(au, "file.open");
	audit_int(au, "pid", c->pid);
	audit_str(au, "path", c->path);
	audit_str(au, "access", access);
	if (create)
		audit_bool(au, "create", true);
	if (truncate)
		audit_bool(au, "truncate", true);
	audit_declared(ctx, &d);
	if (c->exists >= 0)
		audit_bool(au, "exists", c->exists);
	if (c->fails)
		audit_str(au, "fails", fails_name(c->fails));
	if (trace_path_is_sensitive(c->path))
		audit_bool(au, "sensitive", true);
	if (c->error)
		audit_str(au, "error", c->error);
	event_sink_end(ctx->sink);
}

static void emit_change(const struct trace_context *ctx, const struct trace_call *c)
{
	struct audit *au = event_sink_audit(ctx->sink);
	struct buf key = BUF_INIT;
	struct declared d;
	bool admit;

	lookup_declared(ctx, c, true, &d);
	note_undeclared(ctx, c, &d, c->op);
	if (c->fails)
		buf_printf(&key, "%s ", fails_name(c->fails));
	buf_printf(&key, "%s %s", c->op, c->path ? c->path : c->error ? c->error : "?");
	if (c->path2)
		buf_printf(&key, " %s", c->path2);
	admit = event_sink_admit(ctx->sink, EVENT_EVIDENCE, "file.change", buf_str(&key));
	buf_done(&key);
	if (!admit)
		return;

	audit_begin(au, "file.change");
	audit_int(au, "pid", c->pid);
	audit_str(au, "op", c->op);
	audit_str(au, "path", c->path);
	if (has_second_path(c) || streq(c->op, "symlink"))
		audit_str(au, "path2", c->path2);
	audit_declared(ctx, &d);
	if (c->fails)
		audit_str(au, "fails", fails_name(c->fails));
	if (c->error)
		audit_str(au, "error", c->error);
	event_sink_end(ctx->sink);
}

static void emit_connect(const struct trace_context *ctx, const struct trace_call *c)
{
	struct audit *au = event_sink_audit(ctx->sink);
	const char *family = family_name(c->family);
	char pbuf[32], fbuf[16];
	const char *proto = proto_name(c, pbuf, sizeof(pbuf));
	struct buf key = BUF_INIT;
	bool admit;

	if (!family && c->family >= 0) {
		snprintf(fbuf, sizeof(fbuf), "%d", c->family);
		family = fbuf;
	}
	buf_printf(&key, "%s %s ", proto ? proto : "?", family ? family : "?");
	/* The whole address: NUL and other control bytes of an abstract name written out. */
	for (size_t i = 0; c->address && i < (c->address_len ?: strlen(c->address)); i++) {
		uint8_t ch = (uint8_t)c->address[i];

		if (ch < 0x20 || ch == '\\')
			buf_printf(&key, "\\x%02x", ch);
		else
			buf_putc(&key, (char)ch);
	}
	if (!c->address)
		buf_putc(&key, '?');
	if (c->port >= 0)
		buf_printf(&key, ":%d", c->port);
	admit = event_sink_admit(ctx->sink, EVENT_EVIDENCE, "net.connect", buf_str(&key));
	buf_done(&key);
	if (!admit)
		return;

	audit_begin(au, "net.connect");
	audit_str(au, "source", "trace");
	audit_int(au, "pid", c->pid);
	audit_int(au, "host_pid", c->host_pid);
	audit_int(au, "fd", c->fd);
	audit_str(au, "family", family);
	/* Byte for byte (the writer escapes what needs it): an abstract name is not cut at NUL. */
	if (c->address && c->family == AF_UNIX)
		audit_strn(au, "address", c->address, c->address_len);
	else
		audit_str(au, "address", c->address);
	if (c->abstract)
		audit_bool(au, "abstract", true);
	if (c->port >= 0)
		audit_uint(au, "port", (uint64_t)c->port);
	else
		audit_null(au, "port");
	audit_str(au, "proto", proto);
	if (c->error)
		audit_str(au, "error", c->error);
	event_sink_end(ctx->sink);
}

void trace_emit(const struct trace_context *ctx, const struct trace_call *c)
{
	if (!event_sink_audit(ctx->sink))
		return;
	switch (c->kind) {
	case TRACE_EXEC:
		emit_exec(ctx, c);
		break;
	case TRACE_OPEN:
		emit_open(ctx, c);
		break;
	case TRACE_CHANGE:
		emit_change(ctx, c);
		break;
	case TRACE_CONNECT:
		emit_connect(ctx, c);
		break;
	case TRACE_NONE:
		break;
	}
}
