/* SPDX-License-Identifier: MIT */
/*
 * Tests for launcher/: the syscall policy built from a manifest (run-seccomp.c), the run's
 * event loop and event sink, tracing (reading a traced call's arguments, flood control, the
 * events), and skillbox learn.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "audit.h"
#include "buf.h"
#include "cgroup.h"
#include "cli.h"
#include "cpu-watch.h"
#include "fd-util.h"
#include "identity.h"
#include "json.h"
#include "event-loop.h"
#include "event-keys.h"
#include "event-sink.h"
#include "run-limits.h"
#include "run-seccomp.h"
#include "secret-file.h"
#include "seccomp-internal.h"
#include "strv.h"
#include "tap.h"
#include "trace.h"

#define RUN_ID "0b8a4f2e-5c1d-4e7a-9f3b-2d6c8e1a7b40"

static struct manifest *parse(const char *yaml)
{
	static const struct manifest_parse_opts opts = { .path = "test.yaml", .dir = "/tmp" };
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

#define MANIFEST_HEAD "skillbox: 1\nname: t\ncommand: [run]\n"

static json_t *member(const json_t *o, const char *key)
{
	return json_object_get(o, key);
}

/* --- the seccomp layer from the manifest (launcher/run-seccomp.c) --- */

/*
 * The launcher turns a manifest into seccomp/'s plain description: the same profiles
 * test-seccomp builds from descriptions must come out of these manifests, instruction for
 * instruction (built with libseccomp, so the adjusted one is compared too).
 */
static void test_seccomp_from_manifest(void)
{
	static const struct seccomp_name allow[] = {
		{ "kcmp", SCMP_SYS(kcmp) },
		{ "socket", SCMP_SYS(socket) },
		{ "clone3", SCMP_SYS(clone3) },
		{ "sysfs", SCMP_SYS(sysfs) },
	};
	static const struct seccomp_name deny[] = {
		{ "getpid", SCMP_SYS(getpid) },
		{ "ioctl", SCMP_SYS(ioctl) },
		{ "unshare", SCMP_SYS(unshare) },
	};
	static const struct {
		const char *name, *yaml;
		unsigned trace;
		struct seccomp_spec spec;
	} cases[] = {
		{ "default", MANIFEST_HEAD, 0, { .profile = SECCOMP_PROFILE_DEFAULT } },
		{ "strict",
		  MANIFEST_HEAD "syscalls:\n  profile: strict\n",
		  0,
		  { .profile = SECCOMP_PROFILE_STRICT } },
		{ "adjusted",
		  MANIFEST_HEAD "syscalls:\n  allow: [kcmp, socket, clone3, sysfs]\n"
				"  deny: [getpid, ioctl, unshare]\n",
		  0,
		  { .allow = allow,
		    .n_allow = ELEMENTSOF(allow),
		    .deny = deny,
		    .n_deny = ELEMENTSOF(deny) } },
		{ "trace",
		  MANIFEST_HEAD,
		  MANIFEST_TRACE_EXEC | MANIFEST_TRACE_FILES | MANIFEST_TRACE_CONNECT,
		  { .trace = SECCOMP_TRACE_EXEC | SECCOMP_TRACE_FILES | SECCOMP_TRACE_CONNECT } },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_manifest_free_ struct manifest *m = parse(cases[i].yaml);
		struct seccomp_policy *got = NULL, *want = NULL;
		_cleanup_free_ char *error = NULL;
		const struct sock_fprog *a, *b;

		if (!ok(m, "%s: the manifest parses", cases[i].name))
			continue;
		if (!ok(run_seccomp_build(m, cases[i].trace, false, false, &got, &error) == 0 &&
				seccomp_policy_build(&cases[i].spec, &want, NULL) == 0,
			"%s: seccomp_policy_build() succeeds (%s)", cases[i].name,
			error ? error : "both"))
			goto next;
		a = seccomp_policy_program(got);
		b = seccomp_policy_program(want);
		ok(a->len == b->len &&
			   memcmp(a->filter, b->filter, a->len * sizeof(*a->filter)) == 0,
		   "%s: the manifest builds the program its description does (%u instructions)",
		   cases[i].name, a->len);
	next:
		seccomp_policy_free(got);
		seccomp_policy_free(want);
	}
}

static void test_deny_startup(void)
{
	_cleanup_manifest_free_ struct manifest *m =
		parse(MANIFEST_HEAD "syscalls:\n  deny: [getpid, write]\n");
	struct seccomp_policy *p = NULL;
	_cleanup_free_ char *error = NULL;
	int r;

	r = run_seccomp_build(m, 0, false, false, &p, &error);
	ok(r == -EINVAL && !p, "syscalls.deny: write is refused (%d)", r);
	ok(error && strstr(error, "test.yaml:5:") && strstr(error, "write"),
	   "  the message names the manifest line and the syscall: %s", error ? error : "(null)");
	seccomp_policy_free(p);
	p = NULL;
	free(error);
	error = NULL;

	/* The skill seals init's memory map with prctl() after the filter is loaded. */
	{
		_cleanup_manifest_free_ struct manifest *m2 =
			parse(MANIFEST_HEAD "syscalls:\n  deny: [prctl]\n");

		r = run_seccomp_build(m2, 0, false, false, &p, &error);
		ok(r == -EINVAL && !p && error && strstr(error, "prctl"),
		   "syscalls.deny: prctl is refused: %s", error ? error : "(null)");
		seccomp_policy_free(p);
	}
}

/* --- tracing (launcher/trace.c) --- */

static void test_event_keys(void)
{
	struct event_keys *t = event_keys_new(1000);
	struct event_key *k = NULL;
	char key[64], longkey[600];
	unsigned news = 0, full = 0;

	if (!ok(t, "keys: a table is created"))
		return;
	ok(event_keys_count(t, "syscall.deny", "keyctl", 10, &k) == EVENT_KEYS_NEW && k &&
		   k->count == 1 && k->first_usec == 10 && k->first_seq == EVENT_KEY_NO_SEQ,
	   "keys: the first of a key is new, counted once, with its time");
	for (int i = 0; i < 9999; i++)
		event_keys_count(t, "syscall.deny", "keyctl", 20 + (uint64_t)i, &k);
	ok(k->count == 10000 && k->first_usec == 10 && k->last_usec == 10018,
	   "keys: repeats are counted, first and last times kept");
	ok(event_keys_count(t, "file.change", "keyctl", 1, &k) == EVENT_KEYS_NEW,
	   "keys: the same text under another event is another key");
	/* Keys are compared whole: a long common prefix does not merge them. */
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	event_keys_count(t, "file.open", longkey, 1, &k);
	longkey[sizeof(longkey) - 2] = 'b';
	ok(event_keys_count(t, "file.open", longkey, 1, &k) == EVENT_KEYS_NEW,
	   "keys: keys that differ past the shown part are still different");
	ok(event_keys_show(k, longkey) == 0 && strlen(k->shown) == EVENT_KEY_SHOWN,
	   "keys: a key's text is kept cut at %d bytes", EVENT_KEY_SHOWN);

	for (int i = 0; i < 2000; i++) {
		enum event_keys_result r;

		snprintf(key, sizeof(key), "read /x/%d", i);
		r = event_keys_count(t, "file.open", key, 1, &k);
		news += r == EVENT_KEYS_NEW;
		full += r == EVENT_KEYS_FULL;
	}
	ok(news == 1000 - 4 && full == 1000 + 4 && event_keys_size(t) == 1000,
	   "keys: up to the table's bound, then full (new %u, full %u)", news, full);
	ok(event_keys_count(t, "syscall.deny", "keyctl", 99, &k) == EVENT_KEYS_REPEAT &&
		   k->count == 10001,
	   "keys: a full table still counts the keys it knows");
	ok(streq(event_keys_at(t, 0)->event, "syscall.deny") &&
		   streq(event_keys_at(t, 1)->event, "file.change"),
	   "keys: in the order they were first seen");
	event_keys_free(t);
	ok(event_keys_free(NULL) == NULL, "keys: free takes NULL");
}

static void test_trace_helpers(void)
{
	char *p = NULL;
	int r;

	is_str(trace_open_access(O_RDONLY), "read", "access: O_RDONLY is read");
	is_str(trace_open_access(O_WRONLY | O_CREAT), "write", "access: O_WRONLY is write");
	is_str(trace_open_access(O_RDWR), "read-write", "access: O_RDWR is read-write");
	is_str(trace_open_access(O_PATH | O_DIRECTORY), "path", "access: O_PATH is path");

	/* The call first, then ok(): its arguments are evaluated in no set order. */
	r = trace_resolve("/skill/rw", "../data.txt", &p);
	ok(r == 0 && streq(p, "/skill/data.txt"), "resolve: .. against the base (%s)", p);
	free(p);
	r = trace_resolve("/skill", "./a//b/", &p);
	ok(r == 0 && streq(p, "/skill/a/b"), "resolve: . and // are folded (%s)", p);
	free(p);
	r = trace_resolve("/skill", "/etc/../etc/shadow", &p);
	ok(r == 0 && streq(p, "/etc/shadow"), "resolve: an absolute path ignores the base (%s)", p);
	free(p);
	r = trace_resolve("/", "../../x", &p);
	ok(r == 0 && streq(p, "/x"), "resolve: .. stops at the root (%s)", p);
	free(p);
	r = trace_resolve("/usr/bin/true", "", &p);
	ok(r == 0 && streq(p, "/usr/bin/true"),
	   "resolve: an empty path is the base itself (AT_EMPTY_PATH)");
	free(p);
	is_int(trace_resolve("pipe:[12]", "x", &p), -EINVAL,
	       "resolve: a base that is not a path is refused");
	is_int(trace_resolve(NULL, "x", &p), -EINVAL, "resolve: no base, no relative path");
}

/* A notification as if from this very process: trace_collect() reads our own memory. */
static struct seccomp_notif self_notif(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
				       uint64_t a4, uint64_t a5)
{
	struct seccomp_notif n = { .pid = (uint32_t)getpid() };

	n.data.args[0] = a0;
	n.data.args[1] = a1;
	n.data.args[2] = a2;
	n.data.args[3] = a3;
	n.data.args[4] = a4;
	n.data.args[5] = a5;
	return n;
}

#define PTR(x) ((uint64_t)(uintptr_t)(x))

static void test_trace_collect(void)
{
	const struct trace_context ctx = { .init_pid = -1 };
	struct trace_call c;
	struct seccomp_notif n;
	char cwd[PATH_MAX], want[PATH_MAX + 16], long_arg[300];
	char *argv[80] = { 0 };
	long ps = sysconf(_SC_PAGESIZE);
	char *pages;
	int s;

	if (!getcwd(cwd, sizeof(cwd)))
		return;

	n = self_notif((uint64_t)(uint32_t)AT_FDCWD, PTR("sub/../made.txt"),
		       O_WRONLY | O_CREAT | O_TRUNC, 0600, 0, 0);
	trace_collect(&ctx, &n, "openat", &c);
	snprintf(want, sizeof(want), "%s/made.txt", streq(cwd, "/") ? "" : cwd);
	ok(c.kind == TRACE_OPEN && c.path && streq(c.path, want) &&
		   c.flags == (O_WRONLY | O_CREAT | O_TRUNC) && c.pid == getpid() && !c.error,
	   "collect: openat(AT_FDCWD, relative) resolves against the cwd (%s)", c.path);
	trace_call_done(&c);

	/* A string that ends exactly at the end of a readable page, before a PROT_NONE page. */
	pages = mmap(NULL, (size_t)ps * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		     0);
	if (ok(pages != MAP_FAILED, "collect: two pages mapped")) {
		mprotect(pages + ps, (size_t)ps, PROT_NONE);
		memset(pages, 'x', (size_t)ps);
		memcpy(pages + ps - 5, "/abc", 5);
		n = self_notif(PTR(pages + ps - 5), O_RDONLY, 0, 0, 0, 0);
		trace_collect(&ctx, &n, "open", &c);
		ok(c.path && streq(c.path, "/abc") && !c.error,
		   "collect: a path up to the last byte of a mapping is read (page-bounded reads)");
		trace_call_done(&c);
		pages[ps - 1] = 'x';
		n = self_notif(PTR(pages + ps - 5), O_RDONLY, 0, 0, 0, 0);
		trace_collect(&ctx, &n, "open", &c);
		ok(c.kind == TRACE_OPEN && !c.path && c.error && strstr(c.error, "Bad address"),
		   "collect: a path running into an unreadable page gives path null and an error "
		   "(%s)",
		   c.error);
		trace_call_done(&c);
		n = self_notif(0, O_RDONLY, 0, 0, 0, 0);
		trace_collect(&ctx, &n, "open", &c);
		ok(!c.path && c.error, "collect: a NULL path gives an error, not a crash");
		trace_call_done(&c);
		munmap(pages, (size_t)ps * 2);
	}

	/* argv: 70 arguments, one of 300 bytes: cut to 64 and 256. */
	memset(long_arg, 'L', sizeof(long_arg) - 1);
	long_arg[sizeof(long_arg) - 1] = '\0';
	for (int i = 0; i < 70; i++)
		argv[i] = i == 1 ? long_arg : (char *)"arg";
	n = self_notif(PTR("/usr/bin/env"), PTR(argv), 0, 0, 0, 0);
	trace_collect(&ctx, &n, "execve", &c);
	ok(c.kind == TRACE_EXEC && c.given && streq(c.given, "/usr/bin/env") && c.path &&
		   streq(c.path, "/usr/bin/env") && strv_length(c.argv) == TRACE_ARGV_MAX &&
		   strlen(c.argv[1]) == TRACE_ARG_MAX && c.argv_truncated,
	   "collect: execve argv is cut to %d arguments of %d bytes, marked truncated",
	   TRACE_ARGV_MAX, TRACE_ARG_MAX);
	trace_call_done(&c);
	for (int i = 0; i < 70; i++)
		argv[i] = i < 20 ? long_arg : NULL;
	trace_collect(&ctx, &n, "execve", &c);
	{
		size_t total = 0;

		STRV_FOREACH (a, c.argv)
			total += strlen(*a);
		ok(total <= TRACE_ARGV_BYTES && total > TRACE_ARGV_BYTES - TRACE_ARG_MAX &&
			   c.argv_truncated,
		   "collect: argv is cut at %d bytes in all (%zu)", TRACE_ARGV_BYTES, total);
	}
	trace_call_done(&c);
	argv[0] = (char *)"true";
	argv[1] = NULL;
	trace_collect(&ctx, &n, "execve", &c);
	ok(strv_length(c.argv) == 1 && !c.argv_truncated && !c.error,
	   "collect: a short argv is whole");
	trace_call_done(&c);

	/* Connections: through a copy of our own socket. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		struct msghdr mh = { .msg_name = &sin, .msg_namelen = sizeof(sin) };

		inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
		n = self_notif((uint64_t)s, PTR(&sin), sizeof(sin), 0, 0, 0);
		trace_collect(&ctx, &n, "connect", &c);
		ok(c.kind == TRACE_CONNECT && c.family == AF_INET && c.address &&
			   streq(c.address, "10.0.0.1") && c.port == 53 &&
			   c.sock_type == SOCK_DGRAM && c.sock_proto == IPPROTO_UDP && c.fd == s,
		   "collect: connect() gives family, address, port and the socket's protocol");
		trace_call_done(&c);
		n = self_notif((uint64_t)s, PTR("x"), 1, 0, 0, 0);
		trace_collect(&ctx, &n, "sendto", &c);
		ok(c.kind == TRACE_NONE, "collect: sendto() without a destination is no event");
		trace_call_done(&c);
		n = self_notif((uint64_t)s, PTR(&mh), 0, 0, 0, 0);
		trace_collect(&ctx, &n, "sendmsg", &c);
		ok(c.kind == TRACE_CONNECT && c.port == 53,
		   "collect: sendmsg()'s msg_name is read");
		trace_call_done(&c);
		memcpy(sun.sun_path, "\0abstract", 9);
		n = self_notif((uint64_t)s, PTR(&sun), offsetof(struct sockaddr_un, sun_path) + 9,
			       0, 0, 0);
		trace_collect(&ctx, &n, "connect", &c);
		ok(c.family == AF_UNIX && c.address && streq(c.address, "@abstract"),
		   "collect: an abstract unix address is shown as @name (%s)", c.address);
		trace_call_done(&c);
		sun.sun_family = AF_NETLINK;
		n = self_notif((uint64_t)s, PTR(&sun), sizeof(sun), 0, 0, 0);
		trace_collect(&ctx, &n, "connect", &c);
		ok(c.kind == TRACE_NONE, "collect: netlink is not a connection");
		trace_call_done(&c);
		close(s);
	}

	/* Changes: the AT_REMOVEDIR flag, and rename's two paths. */
	n = self_notif((uint64_t)(uint32_t)AT_FDCWD, PTR("/skill/rw/d"), AT_REMOVEDIR, 0, 0, 0);
	trace_collect(&ctx, &n, "unlinkat", &c);
	ok(c.kind == TRACE_CHANGE && streq(c.op, "rmdir") && streq(c.path, "/skill/rw/d"),
	   "collect: unlinkat(AT_REMOVEDIR) is rmdir");
	trace_call_done(&c);
	n = self_notif(PTR("/a/b"), PTR("/a/c"), 0, 0, 0, 0);
	trace_collect(&ctx, &n, "rename", &c);
	ok(streq(c.op, "rename") && streq(c.path, "/a/b") && c.path2 && streq(c.path2, "/a/c"),
	   "collect: rename() has both paths");
	trace_call_done(&c);
	n = self_notif(PTR("target/x"), PTR("/a/link"), 0, 0, 0, 0);
	trace_collect(&ctx, &n, "symlink", &c);
	ok(streq(c.op, "symlink") && streq(c.path, "/a/link") && streq(c.path2, "target/x"),
	   "collect: symlink()'s target is kept as written");
	trace_call_done(&c);
	n = self_notif(0, 0, 0, 0, 0, 0);
	trace_collect(&ctx, &n, "getpid", &c);
	ok(c.kind == TRACE_NONE, "collect: an untraced syscall is no event");
	trace_call_done(&c);
}

/* An audit trail on a memfd, read back one event at a time. */
struct trail {
	int fd;
	struct audit *a;
	size_t seen;
};

static bool trail_open(struct trail *t)
{
	*t = (struct trail){ .fd = memfd_create("audit", MFD_CLOEXEC) };
	return t->fd >= 0 && audit_new(t->fd, RUN_ID, &t->a) >= 0;
}

/* The event written since the last call, parsed; NULL when none was. */
static json_t *trail_next(struct trail *t)
{
	char buf[8192];
	json_t *n = NULL;
	ssize_t len = pread(t->fd, buf, sizeof(buf), (off_t)t->seen);

	if (len <= 0 || buf[len - 1] != '\n')
		return NULL;
	t->seen += (size_t)len;
	if (json_parse(buf, (size_t)len - 1, &n, NULL) < 0)
		return NULL;
	return n;
}

/* Every event written since the last call, parsed, into evs (at most max); how many. */
static size_t trail_all(struct trail *t, json_t **evs, size_t max)
{
	struct stat st;
	char *buf;
	size_t n = 0, len, pos = 0;

	if (fstat(t->fd, &st) < 0 || (size_t)st.st_size <= t->seen)
		return 0;
	len = (size_t)st.st_size - t->seen;
	buf = malloc(len);
	if (!buf || pread(t->fd, buf, len, (off_t)t->seen) != (ssize_t)len) {
		free(buf);
		return 0;
	}
	t->seen += len;
	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		json_t *ev = NULL;

		if (n < max && json_parse(buf + pos, end - pos, &ev, NULL) >= 0)
			evs[n++] = ev;
		pos = end + 1;
	}
	free(buf);
	return n;
}

static void free_all(json_t **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(evs[i]);
}

/* The first event named event among evs, or NULL. */
static json_t *find_event(json_t **evs, size_t n, const char *event, size_t from)
{
	for (size_t i = from; i < n; i++)
		if (json_string_value(member(evs[i], "event")) &&
		    streq(json_string_value(member(evs[i], "event")), event))
			return evs[i];
	return NULL;
}

static void trail_close(struct trail *t)
{
	audit_free(t->a); /* closes the memfd */
}

static const char *str_of(const json_t *ev, const char *key)
{
	const json_t *n = member(ev, key);

	return json_string_value(n);
}

static int bool_of(const json_t *ev, const char *key)
{
	const json_t *n = member(ev, key);

	if (!n)
		return -1;
	if (json_is_null(n))
		return -2;
	return json_is_boolean(n) ? json_is_true(n) : -3;
}

static void test_trace_emit(void)
{
	struct manifest *m = parse(MANIFEST_HEAD "filesystem:\n  read: [/usr, \".:/skill\"]\n"
						 "  write: [\"./rw:/skill/rw\"]\n");
	struct mount_plan *plan = NULL;
	struct event_sink *sink = NULL;
	const struct refusal_stats *files;
	struct trace_context ctx;
	struct trace_call c;
	json_t *ev;
	struct trail t;

	if (!ok(m && mount_plan_build(m, &(struct mount_plan_opts){ 0 }, &plan) == 0,
		"emit: a plan for the view"))
		return;
	if (!ok(trail_open(&t) && event_sink_new(t.a, NULL, &sink) == 0,
		"emit: a trail and a sink"))
		return;
	ctx = (struct trace_context){ .sink = sink, .plan = plan };
	files = event_sink_refusals(sink, REFUSAL_FILE);

	c = (struct trace_call){
		.kind = TRACE_OPEN, .pid = 7, .path = (char *)"/etc/shadow", .flags = O_RDONLY
	};
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "event"), "file.open") && streq(str_of(ev, "access"), "read") &&
		   bool_of(ev, "declared") == 0 && member(ev, "mount") &&
		   json_is_null(member(ev, "mount")) && !member(ev, "by"),
	   "emit: reading /etc/shadow is undeclared, no mount");
	json_decref(ev);
	ok(files->count == 1 && files->n_examples == 1 &&
		   streq(files->examples[0], "read /etc/shadow"),
	   "emit: an undeclared access is listed for run.summary");

	c = (struct trace_call){ .kind = TRACE_OPEN,
				 .pid = 7,
				 .path = (char *)"/skill/rw/o",
				 .flags = O_WRONLY | O_CREAT | O_TRUNC };
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "access"), "write") && bool_of(ev, "create") == 1 &&
		   bool_of(ev, "truncate") == 1 && bool_of(ev, "declared") == 1 &&
		   streq(str_of(ev, "mount"), "/skill/rw"),
	   "emit: creating in the write path is declared, with create and truncate");
	json_decref(ev);

	c = (struct trace_call){
		.kind = TRACE_OPEN, .pid = 7, .path = (char *)"/tmp/x", .flags = O_RDWR
	};
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "access"), "read-write") && bool_of(ev, "declared") == 1 &&
		   streq(str_of(ev, "by"), "default") && streq(str_of(ev, "mount"), "/tmp") &&
		   !member(ev, "create"),
	   "emit: /tmp is declared by default");
	json_decref(ev);

	c = (struct trace_call){ .kind = TRACE_CHANGE,
				 .pid = 7,
				 .op = "rename",
				 .path = (char *)"/skill/rw/a",
				 .path2 = (char *)"/skill/b" };
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "event"), "file.change") && streq(str_of(ev, "op"), "rename") &&
		   streq(str_of(ev, "path2"), "/skill/b") && bool_of(ev, "declared") == 0,
	   "emit: a rename into a read path is undeclared");
	json_decref(ev);
	ok(files->count == 2 && streq(files->examples[1], "rename /skill/rw/a -> /skill/b"),
	   "emit: ... and listed with both paths");

	c = (struct trace_call){ .kind = TRACE_OPEN,
				 .pid = 7,
				 .flags = O_RDONLY,
				 .error = (char *)"reading the path: Bad address" };
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && member(ev, "path") && json_is_null(member(ev, "path")) &&
		   bool_of(ev, "declared") == -2 &&
		   streq(str_of(ev, "error"), "reading the path: Bad address"),
	   "emit: an unreadable path is null, declared null, with the error");
	json_decref(ev);
	is_int(files->count, 2, "emit: ... and is not counted as undeclared");

	c = (struct trace_call){ .kind = TRACE_CONNECT,
				 .pid = 2,
				 .host_pid = 4242,
				 .fd = 3,
				 .family = AF_INET6,
				 .address = (char *)"::1",
				 .port = 9,
				 .sock_type = SOCK_DGRAM,
				 .sock_proto = IPPROTO_UDP };
	trace_emit(&ctx, &c);
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "event"), "net.connect") &&
		   streq(str_of(ev, "source"), "trace") &&
		   streq(str_of(ev, "family"), "AF_INET6") && streq(str_of(ev, "proto"), "udp") &&
		   member(ev, "port") && json_integer_value(member(ev, "port")) == 9 &&
		   !member(ev, "verdict"),
	   "emit: net.connect from the trace has no verdict");
	json_decref(ev);

	event_sink_free(sink);
	trail_close(&t);
	mount_plan_free(plan);
	manifest_free(m);
}

/* --- the run's event loop and sink (launcher/event-loop.c, event-sink.c) --- */

struct loop_case {
	struct event_loop *loop;
	struct event_source *a, *b, *ticker;
	unsigned a_calls, b_calls, bad_calls, ticks;
};

/* Each of a and b frees the other: whichever runs first, the other must not run. */
static int on_a(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct loop_case *c = userdata;

	c->a_calls++;
	c->b = event_source_free(c->b);
	event_loop_exit(c->loop);
	return 0;
}

static int on_b(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct loop_case *c = userdata;

	c->b_calls++;
	c->a = event_source_free(c->a);
	event_loop_exit(c->loop);
	return 0;
}

static int on_bad(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	((struct loop_case *)userdata)->bad_calls++;
	return -EIO;
}

static int on_tick(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct loop_case *c = userdata;

	if (++c->ticks == 3)
		event_loop_exit(c->loop);
	return 0;
}

static void test_event_loop(void)
{
	struct loop_case c = { 0 };
	struct event_source *bad = NULL;
	int p1[2], p2[2], p3[2];

	if (!ok(pipe2(p1, O_CLOEXEC) == 0 && pipe2(p2, O_CLOEXEC) == 0 &&
			pipe2(p3, O_CLOEXEC) == 0 && event_loop_new(&c.loop) == 0,
		"loop: created"))
		return;
	/* Both readable before the loop waits: one batch holds both events. */
	ok(write(p1[1], "x", 1) == 1 && write(p2[1], "x", 1) == 1 &&
		   event_add_io(c.loop, &c.a, p1[0], EPOLLIN, on_a, &c) == 0 &&
		   event_add_io(c.loop, &c.b, p2[0], EPOLLIN, on_b, &c) == 0,
	   "loop: two sources registered");
	is_int(event_loop_run(c.loop), 0, "loop: runs until a handler asks it to exit");
	ok(c.a_calls + c.b_calls == 1,
	   "loop: a source freed by another handler of the same batch is not called (%u, %u)",
	   c.a_calls, c.b_calls);
	c.a = event_source_free(c.a);
	c.b = event_source_free(c.b);
	c.loop = event_loop_free(c.loop);

	/* A handler failing is disabled; the others go on. */
	c = (struct loop_case){ 0 };
	ok(event_loop_new(&c.loop) == 0 &&
		   event_add_io(c.loop, &bad, p1[0], EPOLLIN, on_bad, &c) == 0 &&
		   event_add_io(c.loop, &c.ticker, p3[0], EPOLLIN, on_tick, &c) == 0 &&
		   write(p3[1], "x", 1) == 1,
	   "loop: a failing source and a ticking one");
	is_int(event_loop_run(c.loop), 0, "loop: runs three ticks");
	ok(c.ticks == 3 && c.bad_calls == 1,
	   "loop: a handler returning an error is not called again (%u calls in %u ticks)",
	   c.bad_calls, c.ticks);
	/* Sources outlive a freed loop: their owners still free them. */
	c.loop = event_loop_free(c.loop);
	ok(event_source_free(bad) == NULL && event_source_free(c.ticker) == NULL &&
		   event_source_free(NULL) == NULL,
	   "loop: sources are freed after their loop, and free takes NULL");
	for (int i = 0; i < 2; i++) {
		close(p1[i]);
		close(p2[i]);
		close(p3[i]);
	}
}

static unsigned stops;

static void count_stop(void *userdata)
{
	stops++;
}

/* Writes one must-record (or evidence) event of about len bytes with this key, if admitted;
   true when its line was written (an admitted line may still not fit the budget). */
static bool sink_event(struct event_sink *s, enum event_class c, const char *event, const char *key,
		       size_t len)
{
	struct audit *a = event_sink_audit(s);
	uint64_t seq = audit_next_seq(a);
	char *pad;

	if (!event_sink_admit(s, c, event, key))
		return false;
	pad = calloc(1, len + 1);
	if (pad)
		memset(pad, 'p', len);
	audit_begin(a, event);
	audit_str(a, "key", key);
	audit_str(a, "pad", pad);
	event_sink_end(s);
	free(pad);
	/* Admitted, and written unless the line did not fit. */
	return audit_next_seq(a) > seq;
}

static json_t *evs[70000];

static void test_event_sink(void)
{
	static const char *const examples[] = { "a", "b", "a", "c", "d", "e", "f", "g" };
	struct event_sink *sink = NULL, *quiet = NULL;
	const struct refusal_stats *st;
	struct event_trail_stats ts;
	json_t *ev;
	unsigned admitted = 0, written;
	struct trail t;
	size_t n;
	char key[64];

	if (!ok(trail_open(&t) && event_sink_new(t.a, NULL, &sink) == 0 &&
			event_sink_new(NULL, NULL, &quiet) == 0,
		"sink: created, with a trail and without"))
		return;
	ok(event_sink_audit(sink) == t.a && event_sink_audit(quiet) == NULL,
	   "sink: hands out its writer, NULL without a trail");
	ok(event_sink_budget(sink)->bytes == EVENT_BUDGET_BYTES_DEFAULT &&
		   event_sink_budget(sink)->keys == EVENT_BUDGET_KEYS_DEFAULT &&
		   !event_sink_budget(sink)->overflow_count,
	   "sink: the default budget: 64 MiB, 65536 keys, stop on overflow");

	for (size_t i = 0; i < ELEMENTSOF(examples); i++)
		event_sink_refusal(sink, REFUSAL_NET, examples[i]);
	event_sink_refusal(sink, REFUSAL_NET, NULL);
	st = event_sink_refusals(sink, REFUSAL_NET);
	ok(st->count == 9 && st->n_examples == RUN_SUMMARY_EXAMPLES &&
		   streq(st->examples[0], "a") && streq(st->examples[2], "c") &&
		   streq(st->examples[4], "e") &&
		   event_sink_refusals(sink, REFUSAL_FILE)->count == 0,
	   "sink: refusals are all counted, with the first %d distinct examples",
	   RUN_SUMMARY_EXAMPLES);

	event_sink_limit(sink, RUN_LIMIT_OUTPUT, "1K", "output cut");
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "event"), "limit.hit") && streq(str_of(ev, "limit"), "output") &&
		   streq(str_of(ev, "value"), "1K") && streq(str_of(ev, "action"), "output cut") &&
		   event_sink_limit_was_hit(sink, RUN_LIMIT_OUTPUT) &&
		   !event_sink_limit_was_hit(sink, RUN_LIMIT_TIMEOUT),
	   "sink: a limit hit is written as limit.hit and noted");
	json_decref(ev);
	event_sink_limit(quiet, RUN_LIMIT_CPU, "1s", "stopped");
	ok(event_sink_limit_was_hit(quiet, RUN_LIMIT_CPU),
	   "sink: ... and noted without a trail too");
	ok(!event_sink_admit(quiet, EVENT_MUST_RECORD, "syscall.deny", "x"),
	   "sink: without a trail nothing is admitted");

	/* Must-record: the first of each key, repeats counted. */
	for (int i = 0; i < 100; i++)
		admitted += sink_event(sink, EVENT_MUST_RECORD, "syscall.deny", "keyctl", 10);
	is_int(admitted, 1, "sink: must-record: the first of 100 identical events is written");
	ev = trail_next(&t);
	ok(ev && streq(str_of(ev, "event"), "syscall.deny"), "sink: ... it is in the trail");
	json_decref(ev);
	/* Evidence: the first EVENT_EVIDENCE_PER_KEY of a key. */
	admitted = 0;
	for (int i = 0; i < 25; i++)
		admitted +=
			sink_event(sink, EVENT_EVIDENCE, "file.open", "read /etc/localtime", 10);
	is_int(admitted, EVENT_EVIDENCE_PER_KEY, "sink: evidence: %d of 25 of a key are written",
	       EVENT_EVIDENCE_PER_KEY);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	free_all(evs, n);
	/* A flood of distinct evidence keys does not block a new must-record one. */
	written = 0;
	for (int i = 0; i < EVENT_EVIDENCE_KEYS + 500; i++) {
		snprintf(key, sizeof(key), "read /x/%d", i);
		written += sink_event(sink, EVENT_EVIDENCE, "file.open", key, 10);
	}
	ok(written == EVENT_EVIDENCE_KEYS - 1,
	   "sink: evidence keys beyond the table are counted, not written (%u)", written);
	ok(sink_event(sink, EVENT_MUST_RECORD, "dns.query", "deny A exfil.example", 10),
	   "sink: a new must-record key after an evidence flood is written");
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	free_all(evs, n);

	event_sink_flush(sink);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ev = find_event(evs, n, "audit.repeated", 0);
	ok(ev && streq(str_of(ev, "class"), "must-record") &&
		   streq(str_of(ev, "repeated_event"), "syscall.deny") &&
		   streq(str_of(ev, "key"), "keyctl") &&
		   json_integer_value(member(ev, "count")) == 99 &&
		   json_is_integer(member(ev, "first_seq")) && str_of(ev, "first") &&
		   str_of(ev, "last"),
	   "sink: flush reports a must-record key's 99 repeats with first and last times and "
	   "the seq of its line");
	ev = find_event(evs, n, "audit.sampled", 0);
	ok(ev && streq(str_of(ev, "sampled_event"), "file.open") &&
		   json_integer_value(member(ev, "count")) == 15 + 500 + 1 &&
		   json_integer_value(member(ev, "beyond_keys")) == 501,
	   "sink: ... and the evidence left out, exactly (%" PRId64 ")",
	   ev ? (int64_t)json_integer_value(member(ev, "count")) : -1);
	ok(!find_event(evs, n, "audit.lost", 0) && !find_event(evs, n, "audit.overflow", 0),
	   "sink: nothing lost, no overflow");
	free_all(evs, n);
	event_sink_trail_stats(sink, &ts);
	ok(ts.repeats == 99 && ts.lost == 0 && !ts.overflow && ts.evidence_left_out == 516,
	   "sink: the trail's figures for run.summary (repeats %" PRIu64 ", left out %" PRIu64 ")",
	   ts.repeats, ts.evidence_left_out);

	ok(!event_sink_failed(sink) && !event_sink_error(sink), "sink: no failure yet");
	event_sink_set_stop(sink, count_stop, NULL);
	event_sink_fail(sink, strdup("network: first"));
	event_sink_fail(sink, strdup("network: second"));
	ok(event_sink_failed(sink) && streq(event_sink_error(sink), "network: first") && stops == 2,
	   "sink: a failure keeps the first message and stops the sandbox each time");

	is_str(refusal_kind_to_string(REFUSAL_SYSCALL), "syscall", "sink: refusal kind names");
	is_str(run_limit_to_string(RUN_LIMIT_FILE_SIZE), "file_size", "sink: limit names");
	event_sink_free(quiet);
	event_sink_free(sink);
	trail_close(&t);
}

/* The budget: a small one, filled by each class. */
static void test_event_budget(void)
{
	const struct event_budget small = { .bytes = 1024 * 1024, .keys = 100000 };
	struct event_sink *sink = NULL;
	struct trail t;
	json_t *ev;
	size_t n, before, total = 0;
	unsigned written = 0, i;
	char key[64];
	struct stat st;

	stops = 0;
	if (!ok(trail_open(&t) && event_sink_new(t.a, &small, &sink) == 0, "budget: a sink"))
		return;
	event_sink_set_stop(sink, count_stop, NULL);
	ok(event_sink_room_to_run(sink), "budget: room to run with nothing written");

	/* Evidence stops at half of the budget; must-record events still fit after it. */
	for (i = 0; i < 4000; i++) {
		snprintf(key, sizeof(key), "read /x/%u", i);
		written += sink_event(sink, EVENT_EVIDENCE, "file.open", key, 600);
	}
	fstat(t.fd, &st);
	ok(written < 4000 && (uint64_t)st.st_size <= small.bytes / 2 && stops == 0,
	   "budget: evidence is cut at half of the budget (%u written, %lld bytes), no stop",
	   written, (long long)st.st_size);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	free_all(evs, n);
	ok(sink_event(sink, EVENT_MUST_RECORD, "net.connect", "deny udp 192.0.2.1 53 -1", 100),
	   "budget: a must-record event after the evidence flood is written");

	/* Must-record events fill the rest; the first that does not fit stops the run. */
	for (i = 0; i < 100000 && !stops; i++) {
		snprintf(key, sizeof(key), "deny udp 192.0.2.1 %u -1", i);
		sink_event(sink, EVENT_MUST_RECORD, "net.connect", key, 300);
	}
	before = i;
	fstat(t.fd, &st);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ok(stops == 1 && event_sink_overflowed(sink) && n >= 2 &&
		   streq(str_of(evs[n - 1], "event"), "audit.overflow") &&
		   streq(str_of(evs[n - 1], "reason"), "bytes") &&
		   streq(str_of(evs[n - 2], "event"), "net.connect"),
	   "budget: the must-record event that did not fit is written, then audit.overflow, and "
	   "the run is stopped (after %zu events, %lld bytes)",
	   before, (long long)st.st_size);
	free_all(evs, n);
	/* Those in flight are written while the reserve lasts, then counted as lost. */
	written = 0;
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "deny tcp 192.0.2.2 %u -1", i);
		written += sink_event(sink, EVENT_MUST_RECORD, "net.connect", key, 300);
	}
	ok(written > 10 && written < 2000 && stops == 1,
	   "budget: %u in-flight events fit in the reserve; no second stop (%u)", written, stops);
	event_sink_flush(sink);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ev = find_event(evs, n, "audit.lost", 0);
	ok(ev && streq(str_of(ev, "reason"), "after-overflow") &&
		   json_integer_value(member(ev, "count")) == 2000 - (json_int_t)written,
	   "budget: the rest are counted as lost after the overflow");
	free_all(evs, n);
	audit_begin(t.a, "run.summary");
	event_sink_end(sink);
	fstat(t.fd, &st);
	total = (size_t)st.st_size;
	ok(total <= small.bytes,
	   "budget: the whole trail is within the budget (%zu of %" PRIu64 ")", total, small.bytes);
	event_sink_free(sink);
	trail_close(&t);

	/* audit.overflow: count: no stop, the events are counted. */
	stops = 0;
	if (!ok(trail_open(&t) && event_sink_new(t.a,
						 &(struct event_budget){ .bytes = 1024 * 1024,
									 .keys = 10,
									 .overflow_count = true },
						 &sink) == 0,
		"budget: a counting sink with 10 keys"))
		return;
	event_sink_set_stop(sink, count_stop, NULL);
	written = 0;
	for (i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "socket(%u)", i);
		written += sink_event(sink, EVENT_MUST_RECORD, "syscall.deny", key, 10);
	}
	ok(written == 10 && stops == 0 && !event_sink_overflowed(sink),
	   "budget: with overflow: count, keys beyond the budget are counted, the run goes on");
	event_sink_lost(sink, "nflog", "overran", 7, true);
	ok(stops == 0, "budget: ... lost log packets too");
	event_sink_flush(sink);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ev = find_event(evs, n, "audit.lost", 0);
	ok(ev && streq(str_of(ev, "lost_event"), "syscall.deny") &&
		   streq(str_of(ev, "reason"), "keys") &&
		   json_integer_value(member(ev, "count")) == 5,
	   "budget: audit.lost: 5 syscall.deny beyond the keys");
	free_all(evs, n);
	event_sink_free(sink);
	trail_close(&t);

	/* Keys, stopping; and a lost log stops too. */
	stops = 0;
	if (!ok(trail_open(&t) &&
			event_sink_new(t.a,
				       &(struct event_budget){ .bytes = 1024 * 1024, .keys = 3 },
				       &sink) == 0,
		"budget: a stopping sink with 3 keys"))
		return;
	event_sink_set_stop(sink, count_stop, NULL);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "socket(%u)", i);
		sink_event(sink, EVENT_MUST_RECORD, "syscall.deny", key, 10);
	}
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ok(n == 5 && stops == 1 && streq(str_of(evs[3], "key"), "socket(3)") &&
		   streq(str_of(evs[4], "event"), "audit.overflow") &&
		   streq(str_of(evs[4], "reason"), "keys"),
	   "budget: the 4th key of 3 is written, then audit.overflow (keys), and the run stops");
	free_all(evs, n);
	event_sink_free(sink);
	trail_close(&t);

	stops = 0;
	if (!ok(trail_open(&t) && event_sink_new(t.a, NULL, &sink) == 0, "budget: a default sink"))
		return;
	event_sink_set_stop(sink, count_stop, NULL);
	event_sink_lost(sink, "nflog", "the log overran", 0, true);
	ok(stops == 1 && event_sink_overflowed(sink),
	   "budget: events lost by a handler stop the run");
	event_sink_lost(sink, "nflog", "the log overran", 12, true);
	event_sink_flush(sink);
	n = trail_all(&t, evs, ELEMENTSOF(evs));
	ev = find_event(evs, n, "audit.lost", 0);
	ok(find_event(evs, n, "audit.overflow", 0) && ev && streq(str_of(ev, "source"), "nflog") &&
		   json_integer_value(member(ev, "count")) == 12 &&
		   json_is_true(member(ev, "count_known")),
	   "budget: ... audit.overflow, then audit.lost with the count from the log");
	free_all(evs, n);
	event_sink_free(sink);
	trail_close(&t);
}

static void test_learn(void); /* skillbox learn, at the end of this file */

static void test_sensitive_paths(void)
{
	static const char *const yes[] = {
		"/home/skill/.ssh/id_rsa",
		"/home/skill/.ssh",
		"/x/.aws/credentials",
		"/home/u/.config/gcloud/credentials.db",
		"/skill/.env",
		"/home/skill/.netrc",
		"/home/skill/.bash_history",
		"/proc/1/environ",
		"/etc/shadow",
		"/home/skill/.docker/config.json",
	};
	static const char *const no[] = {
		"/usr/lib/python3/os.py",
		"/proc/self/environ",
		"/skill/.envrc",
		"/etc/passwd",
		"/home/skill/.sshd_config",
		"/proc/1/cmdline",
		"/tmp/credentials.txt",
	};

	for (size_t i = 0; i < ELEMENTSOF(yes); i++)
		ok(trace_path_is_sensitive(yes[i]), "sensitive: %s", yes[i]);
	for (size_t i = 0; i < ELEMENTSOF(no); i++)
		ok(!trace_path_is_sensitive(no[i]), "not sensitive: %s", no[i]);
	ok(!trace_path_is_sensitive(NULL), "not sensitive: NULL");
}

/* The per-run uid range and --user: what is accepted, and the one line for what is not. */
static void test_identity(void)
{
	struct identity_range r;
	char *error = NULL;
	uid_t uid = 0;
	gid_t gid = 0;

	unsetenv("SKILLBOX_UID_RANGE");
	if (is_int(identity_resolve_range(NULL, &r, &error), 0, "identity: the default range"))
		ok(r.first == IDENTITY_RANGE_FIRST && r.last == IDENTITY_RANGE_LAST &&
			   streq(r.source, "default"),
		   "identity: 1879048192-1879113727 from the default (this namespace maps it)");
	setenv("SKILLBOX_UID_RANGE", "70000-70009", 1);
	if (is_int(identity_resolve_range(NULL, &r, &error), 0, "identity: the environment's"))
		ok(r.first == 70000 && r.last == 70009 && streq(r.source, "SKILLBOX_UID_RANGE"),
		   "identity: SKILLBOX_UID_RANGE=70000-70009");
	if (is_int(identity_resolve_range("80000-80000", &r, &error), 0, "identity: --uid-range"))
		ok(r.first == 80000 && r.last == 80000 && streq(r.source, "--uid-range"),
		   "identity: --uid-range wins over the environment");
	unsetenv("SKILLBOX_UID_RANGE");
	is_int(identity_resolve_range("0-10", &r, &error), -EINVAL, "identity: a range with 0");
	ok(error && strstr(error, "FIRST-LAST") && !strchr(error, '\n'),
	   "identity: ... refused in one line");
	is_int(identity_resolve_range("10-5", &r, &error), -EINVAL, "identity: first > last");
	is_int(identity_resolve_range("5-x", &r, &error), -EINVAL, "identity: not a number");
	is_int(identity_resolve_range("1-4294967295", &r, &error), -EINVAL,
	       "identity: 4294967295 is not a uid");

	is_int(identity_parse_user("root", &uid, &gid, &error), -EPERM, "identity: --user root");
	ok(error && strstr(error, "never maps to root") && !strchr(error, '\n'),
	   "identity: ... refused in one line");
	is_int(identity_parse_user("0", &uid, &gid, &error), -EPERM, "identity: --user 0");
	is_int(identity_parse_user("skillbox-no-such-user", &uid, &gid, &error), -ENOENT,
	       "identity: --user of an unknown name");
	ok(error && strstr(error, "no such user"), "identity: ... says so");
	is_int(identity_parse_user("4294967295", &uid, &gid, &error), -EINVAL,
	       "identity: --user 4294967295");
	if (is_int(identity_parse_user("4343", &uid, &gid, &error), 0, "identity: --user 4343"))
		ok(uid == 4343 && gid == 4343, "identity: a uid without a passwd entry: gid alike");
	if (is_int(identity_parse_user("nobody", &uid, &gid, &error), 0, "identity: --user nobody"))
		ok(uid == 65534, "identity: nobody is 65534");
	free(error);
}

/* from_file: no symbolic link below the anchor; checks on the fd; a FIFO does not block. */
static void test_secret_file(void)
{
	char top[] = "/tmp/skillbox-test-secret-XXXXXX";
	char skill[128], home[128], p[512], q[512];
	struct secret_file f;
	char *why = NULL;
	int fd, r;

	if (!mkdtemp(top)) {
		ok(false, "secret_file: a temporary directory");
		return;
	}
	snprintf(home, sizeof(home), "%s/home", top);
	snprintf(skill, sizeof(skill), "%s/home/skill", top);
	mkdir(home, 0700);
	mkdir(skill, 0700);
	snprintf(p, sizeof(p), "%s/id", home);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		write_full(fd, "key\n", 4);
		close(fd);
	}

	r = secret_file_open(p, skill, home, getuid(), &f, &why);
	ok(r == 0 && f.fd >= 0 && f.path && streq(f.path, p) && streq(f.anchor, "HOME"),
	   "secret_file: a file below HOME is opened, anchored at HOME (%s)", why ? why : "");
	if (r == 0)
		secret_file_done(&f);
	free(why);
	why = NULL;

	/* The skill's directory is the deeper anchor; the file is a link into HOME. */
	snprintf(q, sizeof(q), "%s/api.key", skill);
	if (symlink(p, q) < 0)
		diag("symlink: %m");
	r = secret_file_open(q, skill, home, getuid(), &f, &why);
	ok(r == -ELOOP && why && strstr(why, "api.key is a symbolic link") && strstr(why, p) &&
		   strstr(why, "the skill's directory"),
	   "secret_file: a link in the skill's directory is refused, naming it and its target: "
	   "%s",
	   why ? why : "");
	free(why);
	why = NULL;

	/* A link on the way, outside HOME and the skill: anchored at /, still refused. */
	snprintf(q, sizeof(q), "%s/via", top);
	if (symlink(home, q) < 0)
		diag("symlink: %m");
	snprintf(q, sizeof(q), "%s/via/id", top);
	r = secret_file_open(q, skill, "/nonexistent", getuid(), &f, &why);
	ok(r == -ELOOP && why && strstr(why, "/via is a symbolic link"),
	   "secret_file: a directory link anywhere below / is refused: %s", why ? why : "");
	free(why);
	why = NULL;

	/* HOME's own path may hold links: the caller's machine, not the bundle's. */
	snprintf(q, sizeof(q), "%s/via/id", top);
	snprintf(p, sizeof(p), "%s/via", top);
	r = secret_file_open(q, NULL, p, getuid(), &f, &why);
	ok(r == 0, "secret_file: links in HOME's own path are followed (%s)", why ? why : "");
	if (r == 0)
		secret_file_done(&f);
	free(why);
	why = NULL;

	/* Checked on the descriptor: too open, not regular; a FIFO fails without blocking. */
	snprintf(p, sizeof(p), "%s/id", home);
	chmod(p, 0640);
	r = secret_file_open(p, skill, home, getuid(), &f, &why);
	ok(r == -EPERM && why && strstr(why, "too open"), "secret_file: mode 0640 is refused");
	free(why);
	why = NULL;
	snprintf(q, sizeof(q), "%s/fifo", skill);
	mkfifo(q, 0600);
	r = secret_file_open(q, skill, home, getuid(), &f, &why);
	ok(r == -EINVAL && why && strstr(why, "not a regular file"),
	   "secret_file: a FIFO is refused at once (%s)", why ? why : "");
	free(why);
	why = NULL;

	unlink(q);
	snprintf(q, sizeof(q), "%s/api.key", skill);
	unlink(q);
	unlink(p);
	rmdir(skill);
	rmdir(home);
	snprintf(q, sizeof(q), "%s/via", top);
	unlink(q);
	rmdir(top);
}

/* limits.memory: when a cgroup of the run's own can be made, and how. */
static void test_cgroup_decide(void)
{
	static const struct {
		const char *name;
		struct cgroup_state s;
		enum cgroup_way want;
		const char *why;
	} cases[] = {
		{ "cgroup v1 only", { .cgroup2 = false }, CGROUP_NONE, "no cgroup v2" },
		{ "hybrid", { .hybrid = true }, CGROUP_NONE, "hybrid" },
		{ "no memory controller",
		  { .cgroup2 = true, .own = "/a", .writable = true, .alone = true },
		  CGROUP_NONE,
		  "memory controller is not available" },
		{ "a session scope shared with the shell",
		  { .cgroup2 = true,
		    .own = "/user.slice/session-3.scope",
		    .memory = true,
		    .writable = true },
		  CGROUP_NONE,
		  "other processes" },
		{ "not delegated",
		  { .cgroup2 = true,
		    .own = "/system.slice/ci.service",
		    .memory = true,
		    .alone = true },
		  CGROUP_NONE,
		  "not delegated" },
		{ "a delegated scope of its own",
		  { .cgroup2 = true,
		    .own = "/user.slice/user-1000.slice/user@1000.service/app.slice/"
			   "run-1.scope",
		    .memory = true,
		    .pids = true,
		    .writable = true,
		    .alone = true },
		  CGROUP_MOVE_SELF,
		  NULL },
		{ "the root, memory enabled for its children",
		  { .cgroup2 = true,
		    .own = "/",
		    .memory = true,
		    .subtree_memory = true,
		    .writable = true },
		  CGROUP_CHILD,
		  NULL },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct cgroup_decision d;

		cgroup_decide(&cases[i].s, &d);
		ok(d.way == cases[i].want &&
			   (cases[i].why ? d.why_not && strstr(d.why_not, cases[i].why)
					 : d.why_not == NULL),
		   "cgroup: %s -> %d (%s)", cases[i].name, d.way, d.why_not ? d.why_not : "");
	}
}

static bool file_is(int dirfd, const char *path, const char *want)
{
	char buf[256] = "";
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return streq(buf, want);
}

static void put(int dirfd, const char *path, const char *content)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		write_full(fd, content, strlen(content));
		close(fd);
	}
}

/*
 * Probing, creating and undoing a run's cgroup against a fake cgroup2 tree of plain files:
 * what is read, what is written where, and that the end leaves the tree as it was.
 */
static void test_cgroup_fake_tree(void)
{
	char top[] = "/tmp/skillbox-test-cgroup-XXXXXX";
	struct cgroup_state st;
	struct cgroup_decision d;
	struct cgroup_run *c = NULL;
	char *error = NULL;
	int mfd, r;

	if (!mkdtemp(top)) {
		ok(false, "cgroup: a temporary directory");
		return;
	}
	mfd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
	mkdirat(mfd, "user.slice", 0755);
	mkdirat(mfd, "user.slice/run.scope", 0755);
	put(mfd, "user.slice/run.scope/cgroup.controllers", "cpu io memory pids\n");
	put(mfd, "user.slice/run.scope/cgroup.subtree_control", "\n");
	put(mfd, "user.slice/run.scope/cgroup.procs", "4242\n");

	r = cgroup_probe_at(mfd, true, false, "0::/user.slice/run.scope\n", 4242, &st);
	ok(r == 0 && st.own && streq(st.own, "/user.slice/run.scope") && st.memory && st.pids &&
		   !st.subtree_memory && st.alone && st.writable,
	   "cgroup: probe reads the own cgroup, its controllers and that it is alone");
	cgroup_decide(&st, &d);
	is_int(d.way, CGROUP_MOVE_SELF, "cgroup: alone in a writable cgroup: move aside");

	r = cgroup_run_create(mfd, &st, d.way, "RUN", 4242, 64 << 20, 1024, &c, &error);
	ok(r == 0 && c && cgroup_run_fd(c) >= 0 &&
		   streq(cgroup_run_path(c), "user.slice/run.scope/skillbox-RUN"),
	   "cgroup: created (%s)", error ? error : "");
	ok(file_is(mfd, "user.slice/run.scope/skillbox-supervisor.4242/cgroup.procs", "4242\n"),
	   "cgroup: skillbox moved itself into skillbox-supervisor.4242");
	ok(file_is(mfd, "user.slice/run.scope/cgroup.subtree_control", "+memory +pids"),
	   "cgroup: memory and pids enabled for the children, in one write");
	ok(file_is(mfd, "user.slice/run.scope/skillbox-RUN/memory.max", "67108864\n") &&
		   file_is(mfd, "user.slice/run.scope/skillbox-RUN/memory.swap.max", "0\n") &&
		   file_is(mfd, "user.slice/run.scope/skillbox-RUN/pids.max", "1024\n") &&
		   file_is(mfd, "user.slice/run.scope/skillbox-RUN/memory.oom.group", "1\n"),
	   "cgroup: memory.max 64M, no swap, pids.max, the OOM killer takes the whole group");

	if (c) {
		uint64_t usec = 0;

		put(cgroup_run_fd(c), "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n");
		ok(cgroup_run_cpu_usec(c, &usec) == 0 && usec == 1500000,
		   "cgroup: cpu.stat usage_usec is the sandbox's CPU time");
		put(cgroup_run_fd(c), "cgroup.events", "populated 0\nfrozen 0\n");
		/* A plain directory cannot be removed with files in it: leave only the dir. */
		unlinkat(cgroup_run_fd(c), "memory.max", 0);
		unlinkat(cgroup_run_fd(c), "memory.swap.max", 0);
		unlinkat(cgroup_run_fd(c), "memory.oom.group", 0);
		unlinkat(cgroup_run_fd(c), "pids.max", 0);
		unlinkat(cgroup_run_fd(c), "cpu.stat", 0);
		unlinkat(cgroup_run_fd(c), "cgroup.events", 0);
		unlinkat(mfd, "user.slice/run.scope/skillbox-supervisor.4242/cgroup.procs", 0);
		r = cgroup_run_destroy(c, &error);
		ok(r == 0, "cgroup: destroyed (%s)", error ? error : "");
		ok(faccessat(mfd, "user.slice/run.scope/skillbox-RUN", F_OK, 0) < 0 &&
			   faccessat(mfd, "user.slice/run.scope/skillbox-supervisor.4242", F_OK,
				     0) < 0 &&
			   file_is(mfd, "user.slice/run.scope/cgroup.procs", "4242\n") &&
			   file_is(mfd, "user.slice/run.scope/cgroup.subtree_control",
				   "-memory -pids"),
		   "cgroup: the end moves skillbox back, disables what it enabled, removes both");
	}
	free(error);
	cgroup_state_done(&st);

	/* Not alone: nothing is made. */
	put(mfd, "user.slice/run.scope/cgroup.procs", "4242\n1000\n");
	cgroup_probe_at(mfd, true, false, "0::/user.slice/run.scope\n", 4242, &st);
	cgroup_decide(&st, &d);
	ok(!st.alone && d.way == CGROUP_NONE, "cgroup: another process in the cgroup: none");
	cgroup_state_done(&st);

	unlinkat(mfd, "user.slice/run.scope/cgroup.controllers", 0);
	unlinkat(mfd, "user.slice/run.scope/cgroup.subtree_control", 0);
	unlinkat(mfd, "user.slice/run.scope/cgroup.procs", 0);
	unlinkat(mfd, "user.slice/run.scope", AT_REMOVEDIR);
	unlinkat(mfd, "user.slice", AT_REMOVEDIR);
	close(mfd);
	rmdir(top);
}

/* The whole tree's CPU time, dead descendants included, read from /proc. */
static void test_cpu_tree(void)
{
	uint64_t before = 0, after = 0;
	pid_t child;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	child = fork();
	if (child == 0) {
		/* A grandchild burns ~0.3 s and exits; the child reaps it and waits. */
		pid_t g = fork();
		char c;

		if (g == 0) {
			struct timespec t0, t;

			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
			do
				clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
			while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
			       300000000L);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	ok(cpu_tree_usec(getpid(), &before) == 0, "cpu: the tree's time reads");
	/* Poll until the grandchild's time shows in the child's cutime (no sleep: bounded). */
	for (int i = 0; i < 200 && after < before + 250000; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		cpu_tree_usec(getpid(), &after);
	}
	ok(after >= before + 250000,
	   "cpu: a reaped grandchild's CPU time counts in the tree (%llu -> %llu us)",
	   (unsigned long long)before, (unsigned long long)after);
	close(p[1]);
	waitpid(child, NULL, 0);
	ok(cpu_tree_usec(999999999, &after) == -ESRCH, "cpu: a root that is gone is -ESRCH");
	is_int(run_limits_cpu_interval(1 * 1000000ULL), 100000, "cpu: 1s is read every 100ms");
	is_int(run_limits_cpu_interval(60 * 1000000ULL), 1000000, "cpu: 60s is read every 1s");
}

int main(void)
{
	test_identity();
	test_cgroup_decide();
	test_cgroup_fake_tree();
	test_cpu_tree();
	test_secret_file();
	test_seccomp_from_manifest();
	test_deny_startup();
	test_sensitive_paths();
	test_event_loop();
	test_event_sink();
	test_event_budget();
	test_event_keys();
	test_trace_helpers();
	test_trace_collect();
	test_trace_emit();
	test_learn();
	return tap_done();
}

/* ====================================================================================== */
/* skillbox learn (launcher/learn-gen.c): reading the trail, path rules, limits, the        */
/* generated manifest. The host's filesystem is a made-up tree (struct learn_host).         */
/* ====================================================================================== */

#include "learn.h"
#include "parse-util.h"

/* A made-up host tree: each path, what it is, and a symlink's target or an interpreter. */
static const struct fake_node {
	const char *path;
	enum learn_node node;
	const char *target; /* SYMLINK: its target; FILE: its interpreter, if any */
} fake_tree[] = {
	{ "/usr", LEARN_NODE_DIR },
	{ "/usr/bin", LEARN_NODE_DIR },
	{ "/usr/bin/python3", LEARN_NODE_SYMLINK, "python3.11" },
	{ "/usr/bin/python3.11", LEARN_NODE_FILE, "/lib64/ld-linux-x86-64.so.2" },
	{ "/usr/bin/sh", LEARN_NODE_SYMLINK, "dash" },
	{ "/usr/bin/dash", LEARN_NODE_FILE, "/lib64/ld-linux-x86-64.so.2" },
	{ "/usr/lib", LEARN_NODE_DIR },
	{ "/usr/lib/x86_64-linux-gnu", LEARN_NODE_DIR },
	{ "/usr/lib/x86_64-linux-gnu/libc.so.6", LEARN_NODE_FILE },
	{ "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", LEARN_NODE_FILE },
	{ "/usr/lib64", LEARN_NODE_DIR },
	{ "/usr/lib64/ld-linux-x86-64.so.2", LEARN_NODE_SYMLINK,
	  "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
	{ "/usr/share", LEARN_NODE_DIR },
	{ "/usr/share/zoneinfo", LEARN_NODE_DIR },
	{ "/usr/share/zoneinfo/UTC", LEARN_NODE_FILE },
	{ "/bin", LEARN_NODE_SYMLINK, "usr/bin" },
	{ "/lib", LEARN_NODE_SYMLINK, "usr/lib" },
	{ "/lib64", LEARN_NODE_SYMLINK, "usr/lib64" },
	{ "/etc", LEARN_NODE_DIR },
	{ "/etc/ssl", LEARN_NODE_DIR },
	{ "/etc/ssl/certs", LEARN_NODE_DIR },
	{ "/etc/ssl/certs/ca.pem", LEARN_NODE_FILE },
	{ "/etc/localtime", LEARN_NODE_SYMLINK, "/usr/share/zoneinfo/UTC" },
	{ "/etc/ld.so.cache", LEARN_NODE_FILE },
	{ "/etc/hosts", LEARN_NODE_FILE },
	{ "/etc/passwd", LEARN_NODE_FILE },
	{ "/opt", LEARN_NODE_DIR },
	{ "/opt/tool", LEARN_NODE_DIR },
	{ "/opt/tool/bin", LEARN_NODE_DIR },
	{ "/opt/tool/bin/tool", LEARN_NODE_FILE },
	{ "/srv", LEARN_NODE_DIR },
	{ "/srv/data", LEARN_NODE_DIR },
	{ "/srv/data/a.txt", LEARN_NODE_FILE },
	{ "/srv/data/b.txt", LEARN_NODE_FILE },
	{ "/srv/one", LEARN_NODE_DIR },
	{ "/srv/one/c.txt", LEARN_NODE_FILE },
	{ "/srv/rel", LEARN_NODE_SYMLINK, "../srv/one/./c.txt" },
	{ "/srv/loop", LEARN_NODE_SYMLINK, "/srv/loop" },
	{ "/var", LEARN_NODE_DIR },
	{ "/var/cache", LEARN_NODE_DIR },
	{ "/home", LEARN_NODE_DIR },
	{ "/home/alice", LEARN_NODE_DIR },
	{ "/home/alice/.gitconfig", LEARN_NODE_FILE },
	{ "/home/alice/.bashrc", LEARN_NODE_FILE },
	{ "/tmp", LEARN_NODE_DIR },
	{ "/tmp/x", LEARN_NODE_FILE },
	{ "/data", LEARN_NODE_DIR },
	{ "/data/ext", LEARN_NODE_DIR },
	{ "/data/ext/f", LEARN_NODE_FILE },
	{ "/work", LEARN_NODE_DIR },
	{ "/work/skill", LEARN_NODE_DIR },
	{ "/work/skill/main.py", LEARN_NODE_FILE },
	{ "/work/skill/run.sh", LEARN_NODE_FILE, "/bin/sh" },
	{ "/work/skill/config.json", LEARN_NODE_FILE },
	{ "/work/skill/out", LEARN_NODE_DIR },
	{ "/work/skill/out/count.txt", LEARN_NODE_FILE },
	{ "/work/skill/ext", LEARN_NODE_SYMLINK, "/data/ext" },
	{ "/work/skill/a:b", LEARN_NODE_DIR },
};

static const struct fake_node *fake_find(const char *path)
{
	for (size_t i = 0; i < ELEMENTSOF(fake_tree); i++)
		if (streq(fake_tree[i].path, path))
			return &fake_tree[i];
	return NULL;
}

static enum learn_node fake_lstat(const char *path, void *userdata)
{
	const struct fake_node *n = fake_find(path);

	(*(unsigned *)userdata)++;
	return n ? n->node : LEARN_NODE_MISSING;
}

static char *fake_readlink(const char *path, void *userdata)
{
	const struct fake_node *n = fake_find(path);

	return n && n->node == LEARN_NODE_SYMLINK ? strdup(n->target) : NULL;
}

static char *fake_interpreter(const char *path, void *userdata)
{
	const struct fake_node *n = fake_find(path);

	return n && n->node == LEARN_NODE_FILE && n->target ? strdup(n->target) : NULL;
}

static unsigned fake_lookups;
static const struct learn_host fake_host = { .lstat = fake_lstat,
					     .readlink = fake_readlink,
					     .interpreter = fake_interpreter,
					     .userdata = &fake_lookups };

static char *joined(char **l)
{
	struct buf b = BUF_INIT;

	STRV_FOREACH (s, l)
		buf_printf(&b, "%s%s", s == l ? "" : " ", *s);
	return buf_ok(&b) && b.len ? buf_steal(&b) : (buf_done(&b), strdup(""));
}

static void is_paths(char **got, const char *want, const char *name)
{
	_cleanup_free_ char *g = joined(got);

	is_str(g, want, "%s", name);
}

static void test_learn_trail(void)
{
	static const char trail[] =
		"{\"v\":1,\"event\":\"run.start\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/etc/ld.so.cache\",\"access\":\"read\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/etc/ld.so.cache\",\"access\":\"read\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/usr/lib\",\"access\":\"path\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/w/out.txt\",\"access\":\"write\","
		"\"create\":true}\n"
		"{\"event\":\"file.open\",\"path\":\"/w/rw\",\"access\":\"read-write\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/w/new\",\"access\":\"read\",\"create\":true}\n"
		"{\"event\":\"file.open\",\"path\":null,\"access\":\"read\"}\n"
		"{\"event\":\"file.change\",\"op\":\"rename\",\"path\":\"/w/a\",\"path2\":\"/w/b\"}\n"
		"{\"event\":\"file.change\",\"op\":\"symlink\",\"path\":\"/w/l\",\"path2\":\"/etc\"}\n"
		"{\"event\":\"proc.exec\",\"pid\":2,\"resolved\":\"/usr/bin/sh\"}\n"
		"{\"event\":\"proc.exec\",\"pid\":3,\"resolved\":\"/usr/bin/grep\"}\n"
		"{\"event\":\"proc.exec\",\"pid\":3,\"resolved\":\"/usr/bin/tee\"}\n"
		"{\"event\":\"net.connect\",\"source\":\"trace\",\"family\":\"AF_INET\","
		"\"address\":\"10.0.2.2\",\"port\":80,\"proto\":\"tcp\"}\n"
		"{\"event\":\"net.connect\",\"source\":\"trace\",\"family\":\"AF_UNIX\","
		"\"address\":\"/run/x.sock\",\"port\":null,\"proto\":\"stream\"}\n"
		"{\"event\":\"net.connect\",\"source\":\"trace\",\"family\":\"AF_UNIX\","
		"\"address\":\"@abstract\",\"port\":null,\"proto\":\"stream\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"10.0.2.2\",\"port\":8080,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"10.0.2.2\",\"port\":8080,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"udp\","
		"\"address\":\"10.0.2.3\",\"port\":53,\"host\":\"resolver\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"10.0.2.3\",\"port\":53,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"udp\","
		"\"address\":\"2001:db8::7\",\"port\":443,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"deny\",\"proto\":\"icmp\","
		"\"address\":\"192.0.2.9\",\"port\":null,\"host\":null}\n"
		"{\"event\":\"dns.query\",\"verdict\":\"allow\",\"name\":\"example.org\"}\n"
		"{\"event\":\"dns.query\",\"verdict\":\"allow\",\"name\":\"example.org\"}\n"
		"{\"event\":\"syscall.deny\",\"syscall\":\"ptrace\"}\n"
		"{\"event\":\"audit.lost\",\"source\":\"seccomp\",\"reason\":\"repeated\","
		"\"count\":7}\n"
		"{\"event\":\"audit.lost\",\"source\":\"seccomp\",\"reason\":\"too-many-keys\","
		"\"count\":3}\n"
		"not json at all\n"
		"[1,2]\n"
		"{\"event\":\"run.exit\",\"status\":0}";
	struct learn_trail t;

	ok(learn_trail_read(trail, strlen(trail), &t) == 0, "learn: the trail is read");
	is_paths(t.reads, "/etc/ld.so.cache /usr/lib /run/x.sock",
		 "learn: reads: read and O_PATH opens, unix socket paths; once each");
	is_paths(t.writes, "/w/out.txt /w/rw /w/new /w/a /w/b /w/l",
		 "learn: writes: write, read-write, create, changes, both paths of a rename");
	is_paths(t.execs, "/usr/bin/sh /usr/bin/grep /usr/bin/tee", "learn: execs");
	is_int(t.n_pids, 2, "learn: distinct pids of proc.exec");
	is_int(t.n_conns, 2, "learn: connections: allowed, distinct, DNS to the resolver left out");
	ok(t.n_conns == 2 && streq(t.conns[0].address, "10.0.2.2") && t.conns[0].port == 8080 &&
		   !t.conns[0].udp && streq(t.conns[1].address, "2001:db8::7") && t.conns[1].udp &&
		   t.conns[1].port == 443,
	   "learn: ... with address, port and protocol; the traced connect is not one");
	is_paths(t.unlearnable, "icmp 192.0.2.9", "learn: a refused ICMP flow is unlearnable");
	is_paths(t.names, "example.org", "learn: names looked up");
	is_paths(t.syscalls, "ptrace", "learn: syscalls refused");
	is_int(t.lost, 3, "learn: lost events: distinct keys count, repeats do not");
	ok(t.has_exit, "learn: run.exit seen");
	learn_trail_done(&t);
}

static void test_learn_paths(void)
{
	char *reads[] = {
		(char *)"/lib/x86_64-linux-gnu/libc.so.6",
		(char *)"/etc/ld.so.cache",
		(char *)"/etc/ssl/certs/ca.pem",
		(char *)"/etc/localtime",
		(char *)"/usr/lib/locale/C.utf8/LC_CTYPE", /* a probe: does not exist */
		(char *)"/lib/nonexistent.so",		   /* its link is not declared for it */
		(char *)"/opt/tool/bin/tool",
		(char *)"/srv/data/a.txt",
		(char *)"/srv/data/b.txt",
		(char *)"/srv/one/c.txt",
		(char *)"/srv/loop",
		(char *)"/home/alice/.gitconfig",
		(char *)"/home/alice/.bashrc",
		(char *)"/proc/self/status",
		(char *)"/dev/null",
		(char *)"/tmp/x",
		(char *)"/home/skill/.cache/x",
		(char *)"/etc/hosts",
		(char *)"/etc/passwd",
		(char *)"/work/skill/main.py",
		(char *)"/work/skill/ext/f",
		(char *)"/",
		NULL,
	};
	char *execs[] = { (char *)"/usr/bin/python3", NULL };
	char *reads2[] = { (char *)"/srv/rel", NULL };
	char *reads3[] = { (char *)"/lib/nonexistent.so", (char *)"/srv/data/none/x", NULL };
	char *execs2[] = { (char *)"/work/skill/run.sh", NULL };
	char *writes[] = {
		(char *)"/work/skill/output.txt",
		(char *)"/work/skill/out/count.txt",
		(char *)"/work/skill/new/deep/file",
		(char *)"/tmp/scratch",
		(char *)"/home/skill/.cache/f",
		(char *)"/var/cache/app/f",
		(char *)"/dev/null",
		(char *)"/usr/lib/python3/__pycache__/x.pyc",
		NULL,
	};
	char *writes2[] = { (char *)"/work/skill/out/count.txt", NULL };
	_cleanup_strv_free_ char **r = NULL, **w = NULL, **e = NULL;

	ok(learn_read_paths(reads, execs, "/work/skill", "/home/alice", &fake_host, NULL, 0, &r,
			    NULL, NULL) == 0,
	   "learn: read paths");
	is_paths(r,
		 "/data/ext/f /etc/ld.so.cache /etc/localtime /etc/ssl /home/alice/.bashrc "
		 "/home/alice/.gitconfig /lib /lib64 /opt/tool /srv/data /srv/one/c.txt /tmp/x "
		 "/usr /work/skill",
		 "learn: read paths: links declared, system grouped, siblings collapsed, never to "
		 "HOME; defaults, probes and loops left out; the host's /tmp/x kept");
	r = strv_free(r);
	ok(learn_read_paths(reads, execs, "/work/skill", "/elsewhere", &fake_host, NULL, 0, &r,
			    NULL, NULL) == 0 &&
		   strv_contains(r, "/home/alice") && !strv_contains(r, "/home/alice/.bashrc"),
	   "learn: ... siblings in a directory that is not HOME do collapse");
	r = strv_free(r);
	ok(learn_read_paths(reads2, execs2, "/work/skill", NULL, &fake_host, NULL, 0, &r, NULL,
			    NULL) == 0,
	   "learn: read paths 2");
	is_paths(r, "/bin /lib64 /srv/one/c.txt /srv/rel /usr /work/skill",
		 "learn: a relative link with '..' and '.', a script's interpreter and its loader");
	r = strv_free(r);
	ok(learn_read_paths(NULL, NULL, "/work/skill", NULL, &fake_host, NULL, 0, &r, NULL, NULL) ==
		   0,
	   "learn: empty");
	is_paths(r, "/work/skill", "learn: the working directory is always declared");
	r = strv_free(r);
	ok(learn_read_paths(reads3, NULL, "/work/skill", NULL, &fake_host, NULL, 0, &r, NULL,
			    NULL) == 0,
	   "learn: probe");
	is_paths(r, "/work/skill", "learn: a probe through a link declares not even the link");

	ok(learn_write_paths(writes, NULL, "/work/skill", &fake_host, &w, &e) == 0,
	   "learn: write paths");
	is_paths(w, "/work/skill",
		 "learn: writes below cwd: the deepest existing directory, nested ones merged");
	is_paths(e, "/var/cache",
		 "learn: writes elsewhere: the deepest existing directory; defaults and "
		 "__pycache__ left out");
	w = strv_free(w);
	e = strv_free(e);
	ok(learn_write_paths(writes2, NULL, "/work/skill", &fake_host, &w, &e) == 0,
	   "learn: write 2");
	is_paths(w, "/work/skill/out", "learn: a write in an existing subdirectory: that one");
	is_paths(e, "", "learn: ... and nothing elsewhere");
}

static void test_learn_profiles(void)
{
	char *system_reads[] = { (char *)"/usr",
				 (char *)"/bin",
				 (char *)"/lib",
				 (char *)"/lib64",
				 (char *)"/etc/ld.so.cache",
				 (char *)"/etc/localtime",
				 NULL };
	char *python_reads[] = { (char *)"/usr",
				 (char *)"/bin",
				 (char *)"/lib",
				 (char *)"/lib64",
				 (char *)"/etc/ld.so.cache",
				 (char *)"/etc/localtime",
				 (char *)"/etc/python3",
				 NULL };
	char *tls_reads[] = { (char *)"/usr",
			      (char *)"/bin",
			      (char *)"/lib",
			      (char *)"/lib64",
			      (char *)"/etc/ld.so.cache",
			      (char *)"/etc/localtime",
			      (char *)"/etc/ssl/certs",
			      NULL };
	const struct learn_profile lprofiles[] = {
		{ "system", system_reads },
		{ "python3", python_reads },
		{ "tls", tls_reads },
	};
	char *reads[] = { (char *)"/lib/x86_64-linux-gnu/libc.so.6",
			  (char *)"/etc/ld.so.cache",
			  (char *)"/etc/ssl/certs/ca.pem",
			  (char *)"/srv/one/c.txt",
			  (char *)"/work/skill/main.py",
			  NULL };
	char *python[] = { (char *)"/usr/bin/python3", NULL };
	char *shell[] = { (char *)"/work/skill/run.sh", NULL };
	char *writes[] = { (char *)"/work/skill/__pycache__/main.cpython-311.pyc",
			   (char *)"/work/skill/out/__pycache__", NULL };
	char *mkdirs[] = { (char *)"/work/skill/out", (char *)"/work/skill/new", NULL };
	_cleanup_strv_free_ char **r = NULL, **inc = NULL, **why = NULL, **w = NULL, **e = NULL;

	ok(learn_read_paths(reads, python, "/work/skill", NULL, &fake_host, lprofiles,
			    ELEMENTSOF(lprofiles), &r, &inc, &why) == 0,
	   "learn: profiles");
	is_paths(inc, "python3 tls",
		 "learn: profiles: python3 for the program (it includes system), tls for a "
		 "certificate");
	is_paths(r, "/srv/one/c.txt /work/skill",
		 "learn: profiles: what they bind is not listed again");
	ok(why && strstr(why[0], "python3 (/usr/bin/python3") &&
		   strstr(why[1], "tls (/etc/ssl/certs/ca.pem)"),
	   "learn: profiles: a reason for each");
	r = strv_free(r);
	inc = strv_free(inc);
	why = strv_free(why);
	ok(learn_read_paths(NULL, shell, "/work/skill", NULL, &fake_host, lprofiles, 1, &r, &inc,
			    &why) == 0,
	   "learn: profiles 2");
	is_paths(inc, "system", "learn: profiles: a script's /bin/sh and its loader: system");
	is_paths(r, "/work/skill", "learn: profiles: ... nothing else to list");

	ok(learn_write_paths(writes, mkdirs, "/work/skill", &fake_host, &w, &e) == 0,
	   "learn: writes and mkdirs");
	is_paths(w, "/work/skill",
		 "learn: a new directory is a write of its parent, one that existed is nothing, "
		 "__pycache__ is nothing");
	is_paths(e, "", "learn: ... nothing elsewhere");
	w = strv_free(w);
	e = strv_free(e);
	ok(learn_write_paths(NULL, mkdirs + 0, "/work/skill/out", &fake_host, &w, &e) == 0 && !w,
	   "learn: mkdir of an existing directory alone: no write path");
}

static void test_learn_limits(void)
{
	struct learn_limits l;

	learn_limits_compute(&(struct learn_measure){ 0 }, &l);
	ok(l.timeout_usec == 10 * USEC_PER_SEC && l.cpu_usec == 5 * USEC_PER_SEC &&
		   l.memory == 64ULL << 20 && l.processes == 16 && l.open_files == 256 &&
		   l.output == 1ULL << 20,
	   "learn: limits: the floors");
	learn_limits_compute(&(struct learn_measure){ .wall_usec = 20 * USEC_PER_SEC + 1,
						      .cpu_usec = 4 * USEC_PER_SEC,
						      .max_rss_bytes = 100ULL << 20,
						      .output_bytes = 3ULL << 20,
						      .processes = 5 },
			     &l);
	ok(l.timeout_usec == 61 * USEC_PER_SEC && l.cpu_usec == 12 * USEC_PER_SEC &&
		   l.memory == 400ULL << 20 && l.processes == 20 && l.output == 12ULL << 20,
	   "learn: limits: 3x wall and cpu, 4x RSS, processes and output, rounded up");
	learn_limits_compute(
		&(struct learn_measure){ .max_rss_bytes = (16ULL << 20) + 1, .output_bytes = 1 },
		&l);
	ok(l.memory == 65ULL << 20 && l.output == 1ULL << 20,
	   "learn: limits: memory rounds up to whole MiB");
	learn_limits_compute(
		&(struct learn_measure){ .wall_usec = UINT64_MAX, .max_rss_bytes = UINT64_MAX },
		&l);
	ok(l.timeout_usec != MANIFEST_UNSET && l.memory != MANIFEST_UNSET,
	   "learn: limits: huge measures never overflow into 'unset'");
}

static void test_learn_name(void)
{
	static const struct {
		const char *dir, *want;
	} cases[] = {
		{ "/x/weather", "weather" },
		{ "/x/My Skill!", "my-skill" },
		{ "/x/_tool.v2", "tool.v2" },
		{ "/x/...", "skill" },
		{ "/", "skill" },
		{ "/x/a--b", "a--b" },
		{ "/x/Ünïcode", "n-code" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *n = learn_name_from_dir(cases[i].dir);

		is_str(n, cases[i].want, "learn: name of %s", cases[i].dir);
	}
}

static void test_learn_generate(void)
{
	static const char trail_text[] =
		"{\"event\":\"file.open\",\"path\":\"/work/skill/config.json\","
		"\"access\":\"read\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/etc/ssl/certs/ca.pem\",\"access\":\"read\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/work/skill/a:b/x\",\"access\":\"read\"}\n"
		"{\"event\":\"file.open\",\"path\":\"/work/skill/out/count.txt\","
		"\"access\":\"write\",\"create\":true}\n"
		"{\"event\":\"file.open\",\"path\":\"/var/cache/app/f\",\"access\":\"write\"}\n"
		"{\"event\":\"proc.exec\",\"pid\":2,\"resolved\":\"/usr/bin/python3\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"10.0.2.2\",\"port\":8080,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"fd00::2\",\"port\":8080,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"93.184.216.34\",\"port\":443,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"tcp\","
		"\"address\":\"2606:2800:220:1::1\",\"port\":80,\"host\":\"*\"}\n"
		"{\"event\":\"net.connect\",\"verdict\":\"allow\",\"proto\":\"udp\","
		"\"address\":\"192.0.2.7\",\"port\":5353,\"host\":\"*\"}\n"
		"{\"event\":\"dns.query\",\"verdict\":\"allow\",\"name\":\"example.org\"}\n"
		"{\"event\":\"dns.query\",\"verdict\":\"allow\",\"name\":\"unused.example\"}\n"
		"{\"event\":\"syscall.deny\",\"syscall\":\"ptrace\"}\n"
		"{\"event\":\"syscall.deny\",\"syscall\":\"personality\"}\n";
	char *ex_addrs[] = { (char *)"93.184.216.34", (char *)"2606:2800:220:1::1", NULL };
	const struct learn_resolved resolved[] = {
		{ "example.org", ex_addrs },
		{ "unused.example", NULL },
	};
	char *argv[] = { (char *)"python3", (char *)"main.py", (char *)"it's \"quoted\"\nnext",
			 NULL };
	_cleanup_manifest_free_ struct manifest *m = NULL;
	_cleanup_free_ char *yaml = NULL;
	struct manifest_diags diags = { 0 };
	struct learn_trail t;
	struct learn_input in = {
		.argv = argv,
		.cwd = "/work/skill",
		.home = "/home/alice",
		.out_dir = "/work/skill",
		.trail = &t,
		.resolved = resolved,
		.n_resolved = ELEMENTSOF(resolved),
		.measure = { .wall_usec = 1500000,
			     .cpu_usec = 200000,
			     .max_rss_bytes = 20 << 20,
			     .output_bytes = 12,
			     .processes = 1 },
		.status = 0,
		.now = 86400 * 365,
	};
	int k;

	ok(learn_trail_read(trail_text, strlen(trail_text), &t) == 0, "learn: generate: trail");
	ok(learn_generate(&in, &fake_host, &yaml) == 0 && yaml, "learn: generate");
	k = manifest_parse(yaml, strlen(yaml),
			   &(struct manifest_parse_opts){ .path = "gen.yaml",
							  .dir = "/work/skill",
							  .home = "/home/alice" },
			   &m, &diags);
	if (!ok(k == 0, "learn: generate: the manifest parses")) {
		for (size_t i = 0; i < diags.n; i++)
			diag("%u:%u: %s", diags.items[i].loc.line, diags.items[i].loc.column,
			     diags.items[i].message);
		diag("%s", yaml);
	}
	manifest_diags_done(&diags);
	ok(yaml && strstr(yaml, "# Generated by skillbox learn on 1971-01-01 00:00:00 UTC.\n") &&
		   strstr(yaml, "# Command: python3 main.py 'it's \"quoted\"\\nnext'\n") &&
		   strstr(yaml, "Review before use"),
	   "learn: generate: the header: date, the command on one line, review before use");
	if (m) {
		bool cwd_read = false, ext = false, colon = false;

		is_str(m->name, "skill", "learn: generate: name from the directory");
		ok(strv_length(m->command) == 3 && streq(m->command[2], "it's \"quoted\"\nnext"),
		   "learn: generate: command as given, quoted");
		is_str(m->workdir, "/work/skill", "learn: generate: workdir is the directory");
		for (size_t i = 0; i < m->fs.n_read; i++) {
			cwd_read |= streq(m->fs.read[i].host, "/work/skill") &&
				    streq(m->fs.read[i].inside, "/work/skill");
			ext |= streq(m->fs.read[i].host, "/etc/ssl");
			colon |= streq(m->fs.read[i].host, "/work/skill/a:b");
		}
		ok(cwd_read && ext && !colon, "learn: generate: reads (the directory at its path)");
		ok(m->fs.n_write == 1 && streq(m->fs.write[0].host, "/work/skill/out") &&
			   streq(m->fs.write[0].inside, "/work/skill/out"),
		   "learn: generate: the one write path below the directory");
		ok(strstr(yaml, "    - \"./out:/work/skill/out\"\n") &&
			   strstr(yaml, "    - \".:/work/skill\"\n"),
		   "learn: generate: host paths below the manifest's directory are relative");
		ok(strstr(yaml, "  #   - /var/cache\n") != NULL,
		   "learn: generate: a write elsewhere is a comment, not declared");
		is_int(m->net.n_egress, 3, "learn: generate: three destinations");
		if (m->net.n_egress == 3) {
			const struct manifest_egress *e = m->net.egress;

			ok(e[0].kind == MANIFEST_DEST_HOST_LOOPBACK && e[0].n_ports == 1 &&
				   e[0].ports[0] == 8080,
			   "learn: generate: the gateway is host-loopback (both families, once)");
			ok(e[1].kind == MANIFEST_DEST_HOSTNAME && streq(e[1].host, "example.org") &&
				   e[1].n_ports == 2 && e[1].ports[0] == 80 && e[1].ports[1] == 443,
			   "learn: generate: addresses are named by the lookups, ports merged");
			ok(e[2].kind == MANIFEST_DEST_ADDRESS && e[2].proto == MANIFEST_PROTO_UDP &&
				   e[2].ports[0] == 5353,
			   "learn: generate: an unnamed address is a cidr, udp");
		}
		if (!ok(strstr(yaml, "    - cidr: \"192.0.2.7\"  # no DNS lookup") &&
				strstr(yaml,
				       "# Looked up, but never connected to: unused.example\n"),
			"learn: generate: comments for the unnamed address and the unused name"))
			diag("%s", yaml);
		is_int(m->net.dns, MANIFEST_DNS_PINNED, "learn: generate: dns pinned");
		ok(m->syscalls.profile == MANIFEST_PROFILE_DEFAULT && m->syscalls.n_allow == 2 &&
			   streq(m->syscalls.allow[0].name, "ptrace"),
		   "learn: generate: the default profile plus the refused syscalls");
		ok(m->limits.timeout_usec == 10 * USEC_PER_SEC &&
			   m->limits.cpu_usec == 5 * USEC_PER_SEC &&
			   m->limits.memory == 80ULL << 20 && m->limits.processes == 16 &&
			   m->limits.open_files == 256 && m->limits.output == 1ULL << 20,
		   "learn: generate: limits");
		ok(m->env.n_pass == 0 && m->env.n_set == 1 &&
			   streq(m->env.set[0].name, "PYTHONDONTWRITEBYTECODE") &&
			   m->env.n_secrets == 0 && strstr(yaml, "# env: learn cannot tell"),
		   "learn: generate: no env but PYTHONDONTWRITEBYTECODE (Python ran, no python3 "
		   "profile), a comment instead");
	}
	free(yaml);
	yaml = NULL;

	/* Written to stdout: absolute paths; a failed run and a read-only directory say so. */
	in.out_dir = NULL;
	in.status = 3;
	in.overlay_degraded = true;
	ok(learn_generate(&in, &fake_host, &yaml) == 0 && strstr(yaml, "    - /work/skill/out\n") &&
		   strstr(yaml, "# It exited with status 3.") &&
		   strstr(yaml, "WARNING: the command failed") &&
		   strstr(yaml, "WARNING: the kernel could not mount the overlay"),
	   "learn: generate: absolute paths without -o; warnings for a failure and no overlay");
	learn_trail_done(&t);
}

static void test_learn(void)
{
	test_learn_trail();
	test_learn_paths();
	test_learn_profiles();
	test_learn_limits();
	test_learn_name();
	test_learn_generate();
}
