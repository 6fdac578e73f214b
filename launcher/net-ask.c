/* SPDX-License-Identifier: MIT */
/*
 * Questions on the caller's terminal (net-ask.h).
 *
 * The terminal is read in its own (canonical) mode, a line per answer, so nothing is left
 * changed on it if skillbox dies mid-question. While a question is open, the skill's own
 * output may still appear on the same terminal; each of our lines starts on a fresh line with
 * "skillbox --ask:", and a question is asked again in full after anything that is not an
 * answer. If the skill reads the same terminal, a line may go to it instead: the question then
 * stays open until answered or timed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "fd-util.h"
#include "net-ask.h"
#include "parse-util.h"
#include "strv.h"

#define PREFIX "skillbox --ask: "

enum ask_state {
	ASK_IDLE,
	ASK_ASKING,
	ASK_CONFIRMING, /* "add" was chosen: the diff is shown, waiting for y/N */
};

struct question {
	struct question *next;
	char *kind, *text, *proto, *address, *name;
	int port;
	char **entry;
	size_t n_entry;
	net_ask_done_t done;
	void *userdata;
};

struct net_ask {
	struct net_ask_opts o;
	char *manifest_path;
	char *text; /* the manifest as it is now (after any addition) */
	size_t len;
	char tty_name[64];
	int tty_fd, timer_fd;
	struct event_source *tty_src, *timer_src;
	bool gone; /* the terminal hung up: everything is denied */
	bool held; /* o.hold(true) was called, not yet o.hold(false) */

	struct question *head, *tail;
	enum ask_state state;
	struct manifest_edit edit; /* CONFIRMING: the text with the addition */
	char line[256];
	size_t line_len;
	bool line_overflow;
};

const char *net_ask_answer_to_string(enum net_ask_answer a)
{
	switch (a) {
	case NET_ASK_ONCE:
		return "once";
	case NET_ASK_RUN:
		return "run";
	case NET_ASK_ADD:
		return "add";
	default:
		return "deny";
	}
}

static void say(struct net_ask *a, const char *fmt, ...) _printf_(2, 3);
static void say(struct net_ask *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (a->gone)
		return;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (buf_ok(&b))
		(void)write_full(a->tty_fd, b.data, b.len);
	buf_done(&b);
}

static void arm(struct net_ask *a, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_sec = (time_t)(a->o.timeout_usec / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(a->o.timeout_usec % USEC_PER_SEC * NSEC_PER_USEC);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	(void)timerfd_settime(a->timer_fd, 0, &its, NULL);
}

static void question_free(struct question *q)
{
	if (!q)
		return;
	free(q->kind);
	free(q->text);
	free(q->proto);
	free(q->address);
	free(q->name);
	strv_free(q->entry);
	free(q);
}

static void print_choices(struct net_ask *a)
{
	const struct question *q = a->head;
	char t[32];

	say(a, PREFIX "allow [o]nce, for this [r]un, %s%s%sor [d]eny? (deny in %s) ",
	    q->n_entry ? "[a]dd to " : "", q->n_entry ? escaped(a->o.manifest_path) : "",
	    q->n_entry ? ", " : "", format_duration(t, sizeof(t), a->o.timeout_usec));
}

static void hold(struct net_ask *a, bool on)
{
	if (a->held == on)
		return;
	a->held = on;
	if (a->o.hold)
		a->o.hold(a->o.hold_userdata, on);
}

static void ask_next(struct net_ask *a)
{
	if (a->state != ASK_IDLE || !a->head) {
		if (a->state == ASK_IDLE)
			hold(a, false);
		return;
	}
	hold(a, true);
	a->state = ASK_ASKING;
	a->line_len = 0;
	say(a, "\r\n" PREFIX "the skill wants to %s\n", escaped(a->head->text));
	print_choices(a);
	arm(a, true);
}

static void emit_approve(struct net_ask *a, const struct question *q, enum net_ask_answer ans,
			 const char *by, bool add_declined, bool written, unsigned line)
{
	struct audit *au = event_sink_audit(a->o.sink);

	if (!au)
		return;
	audit_begin(au, "net.approve");
	audit_str(au, "kind", q->kind);
	audit_str(au, "what", q->text);
	audit_str(au, "proto", q->proto);
	audit_str(au, "address", q->address);
	if (q->port >= 0)
		audit_uint(au, "port", (uint64_t)q->port);
	else
		audit_null(au, "port");
	audit_str(au, "name", q->name);
	audit_str(au, "answer", net_ask_answer_to_string(ans));
	audit_str(au, "by", by);
	if (streq(by, "terminal")) {
		audit_str(au, "tty", a->tty_name);
		audit_uint(au, "uid", a->o.caller_uid);
	}
	if (add_declined)
		audit_bool(au, "add_declined", true);
	if (ans == NET_ASK_ADD) {
		audit_str(au, "manifest", a->o.manifest_path);
		audit_bool(au, "written", written);
		if (written)
			audit_uint(au, "manifest_line", line);
	}
	event_sink_end(a->o.sink);
}

/* Ends the head question with this answer; asks the next one. */
static void answer(struct net_ask *a, enum net_ask_answer ans, const char *by, bool add_declined,
		   bool written, unsigned line)
{
	struct question *q = a->head;

	if (!q)
		return;
	arm(a, false);
	a->head = q->next;
	if (!a->head)
		a->tail = NULL;
	a->state = ASK_IDLE;
	free(a->edit.text);
	a->edit = (struct manifest_edit){ 0 };
	emit_approve(a, q, ans, by, add_declined, written, line);
	if (q->done)
		q->done(q->userdata, ans);
	question_free(q);
	ask_next(a);
}

/* The line of text at 1-based line n (without its newline), for the diff's context. */
static void put_text_line(struct buf *b, const char *text, size_t len, unsigned n, char mark)
{
	size_t off = 0;

	for (unsigned i = 1; i < n && off < len; i++) {
		const char *nl = memchr(text + off, '\n', len - off);

		off = nl ? (size_t)(nl - text) + 1 : len;
	}
	if (off >= len)
		return;
	buf_putc(b, mark);
	for (; off < len && text[off] != '\n'; off++)
		buf_putc(b, text[off]);
	buf_putc(b, '\n');
}

static unsigned count_lines(const char *text, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len > 0 && text[len - 1] != '\n');
}

/* A unified diff of the addition, with two lines of context around it. */
static char *format_diff(struct net_ask *a)
{
	const struct manifest_edit *e = &a->edit;
	unsigned old_lines = count_lines(a->text, a->len);
	unsigned before = e->line > 2 ? 2 : e->line - 1;
	unsigned after = old_lines >= e->line ? MIN(2u, old_lines - e->line + 1) : 0;
	struct buf b = BUF_INIT;

	buf_printf(&b, "--- %s\n+++ %s\n@@ -%u,%u +%u,%u @@\n", a->o.manifest_path,
		   a->o.manifest_path, e->line - before, before + after, e->line - before,
		   before + e->n_lines + after);
	for (unsigned i = e->line - before; i < e->line; i++)
		put_text_line(&b, a->text, a->len, i, ' ');
	for (unsigned i = e->line; i < e->line + e->n_lines; i++)
		put_text_line(&b, e->text, e->len, i, '+');
	for (unsigned i = e->line; i < e->line + after; i++)
		put_text_line(&b, a->text, a->len, i, ' ');
	return buf_steal(&b);
}

/*
 * Replaces the manifest file with the new text: a new file in the same directory, with the
 * old one's mode and owner, renamed over it. Never through a symbolic link.
 */
static int write_manifest(struct net_ask *a, const char *text, size_t len)
{
	_cleanup_free_ char *dir_copy = strdup(a->o.manifest_path),
			    *base_copy = strdup(a->o.manifest_path);
	_cleanup_close_ int dfd = -1, fd = -1;
	char tmp[PATH_MAX];
	const char *base;
	struct stat st;
	int k;

	if (!dir_copy || !base_copy)
		return -ENOMEM;
	base = basename(base_copy);
	dfd = open(dirname(dir_copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
	snprintf(tmp, sizeof(tmp), ".%s.skillbox-%d-%lx", base, (int)getpid(),
		 (unsigned long)now_realtime_usec());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    st.st_mode & 07777);
	if (fd < 0)
		return -errno;
	k = write_full(fd, text, len);
	if (k >= 0 && fsync(fd) < 0)
		k = -errno;
	if (k >= 0 && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		k = -errno;
	if (k >= 0 && fchmod(fd, st.st_mode & 07777) < 0)
		k = -errno;
	if (k >= 0 && renameat(dfd, tmp, dfd, base) < 0)
		k = -errno;
	if (k < 0)
		(void)unlinkat(dfd, tmp, 0);
	return k;
}

/* "add": prepare the edit and show it, or say why it cannot be made. */
static void start_add(struct net_ask *a)
{
	const struct question *q = a->head;
	struct manifest *m = NULL;
	struct manifest_diags d = { 0 };
	_cleanup_free_ char *diff = NULL;
	char comment[96], date[16];
	time_t now = time(NULL);
	struct tm tm;
	int k;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	snprintf(comment, sizeof(comment), "added by skillbox run --ask on %s", date);
	k = manifest_add_egress(a->text, a->len, (const char *const *)q->entry, q->n_entry, comment,
				&a->edit);
	if (k >= 0) {
		k = manifest_parse(a->edit.text, a->edit.len, &a->o.parse_opts, &m, &d);
		manifest_free(m);
		manifest_diags_done(&d);
	}
	if (k < 0) {
		say(a,
		    PREFIX "%s cannot be edited here (%s); add this under network.egress by "
			   "hand:\n",
		    escaped(a->o.manifest_path),
		    k == -EINVAL ? "flow style, or it no longer parses" : strerror(-k));
		for (size_t i = 0; i < q->n_entry; i++)
			say(a, "    %s%s\n", i ? "  " : "- ", escaped(q->entry[i]));
		say(a, PREFIX "allowed for this run\n");
		answer(a, NET_ASK_RUN, "terminal", true, false, 0);
		return;
	}
	diff = format_diff(a);
	say(a, "%s", diff ? diff : "");
	say(a, PREFIX "write this to %s? [y/N] ", escaped(a->o.manifest_path));
	a->state = ASK_CONFIRMING;
	arm(a, true);
}

static void confirm(struct net_ask *a, bool yes, const char *by)
{
	unsigned line = a->edit.line;
	int k;

	if (!yes) {
		say(a, PREFIX "%s not changed; allowed for this run\n",
		    escaped(a->o.manifest_path));
		answer(a, NET_ASK_RUN, by, true, false, 0);
		return;
	}
	k = write_manifest(a, a->edit.text, a->edit.len);
	if (k < 0) {
		say(a, PREFIX "writing %s: %s; allowed for this run\n", escaped(a->o.manifest_path),
		    strerror(-k));
		answer(a, NET_ASK_ADD, by, false, false, 0);
		return;
	}
	free(a->text);
	a->text = TAKE_PTR(a->edit.text);
	a->len = a->edit.len;
	say(a, PREFIX "%s updated (line %u); allowed for this run\n", escaped(a->o.manifest_path),
	    line);
	answer(a, NET_ASK_ADD, by, false, true, line);
}

static void handle_line(struct net_ask *a, const char *line)
{
	char c = 0;

	for (const char *p = line; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r') {
			c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
			break;
		}
	if (a->state == ASK_CONFIRMING) {
		confirm(a, c == 'y', "terminal");
		return;
	}
	if (a->state != ASK_ASKING)
		return;
	switch (c) {
	case 'o':
		answer(a, NET_ASK_ONCE, "terminal", false, false, 0);
		return;
	case 'r':
		answer(a, NET_ASK_RUN, "terminal", false, false, 0);
		return;
	case 'd':
		answer(a, NET_ASK_DENY, "terminal", false, false, 0);
		return;
	case 'a':
		if (a->head->n_entry) {
			start_add(a);
			return;
		}
		break;
	default:
		break;
	}
	say(a, PREFIX "the skill wants to %s\n", escaped(a->head->text));
	print_choices(a);
}

/* The terminal is gone: nothing can be asked any more. */
static void terminal_gone(struct net_ask *a)
{
	a->gone = true;
	a->tty_src = event_source_free(a->tty_src);
	while (a->head)
		answer(a, NET_ASK_DENY, "terminal-closed", false, false, 0);
}

static int on_tty(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_ask *a = userdata;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0 || (n == 0 && (revents & EPOLLHUP))) {
		terminal_gone(a);
		return 0;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (a->line_len < sizeof(a->line) - 1)
				a->line[a->line_len++] = buf[i];
			continue;
		}
		a->line[a->line_len] = 0;
		a->line_len = 0;
		/* Typed ahead, with nothing asked: not an answer to anything. */
		if (a->state != ASK_IDLE)
			handle_line(a, a->line);
	}
	return 0;
}

static int on_timer(struct event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct net_ask *a = userdata;
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return 0;
	if (a->state == ASK_CONFIRMING) {
		say(a, "\n");
		confirm(a, false, "timeout");
	} else if (a->state == ASK_ASKING) {
		say(a, "\n" PREFIX "no answer: denied\n");
		answer(a, NET_ASK_DENY, "timeout", false, false, 0);
	}
	return 0;
}

/*
 * The terminal's own name for the trail (/dev/tty names whichever is the caller's): one of our
 * standard descriptors that is the controlling terminal (same device as /proc/self/stat's
 * tty_nr), else "/dev/tty".
 */
static void terminal_name(char *buf, size_t size)
{
	_cleanup_free_ char *stat = NULL;
	unsigned long tty_nr = 0;
	size_t len;

	snprintf(buf, size, "/dev/tty");
	if (read_file_bounded(AT_FDCWD, "/proc/self/stat", 4096, &stat, &len) < 0)
		return;
	{
		const char *p = strrchr(stat, ')');

		/* ") state ppid pgrp session tty_nr" */
		if (!p || sscanf(p + 1, " %*c %*d %*d %*d %lu", &tty_nr) != 1 || !tty_nr)
			return;
	}
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		char name[64];

		if (isatty(fd) && fstat(fd, &st) == 0 &&
		    (unsigned long)(((major(st.st_rdev) & 0xfff) << 8) |
				    (minor(st.st_rdev) & 0xff) |
				    ((minor(st.st_rdev) & ~0xffu) << 12)) == tty_nr &&
		    ttyname_r(fd, name, sizeof(name)) == 0) {
			snprintf(buf, size, "%s", name);
			return;
		}
	}
}

int net_ask_new(const struct net_ask_opts *o, struct net_ask **ret)
{
	struct net_ask *a = calloc(1, sizeof(*a));
	int k;

	if (!a) {
		safe_close(o->tty_fd);
		return -ENOMEM;
	}
	a->o = *o;
	a->tty_fd = o->tty_fd;
	a->timer_fd = -1;
	a->manifest_path = strdup(o->manifest_path ? o->manifest_path : "skillbox.yaml");
	a->text = malloc(o->manifest_len + 1);
	if (!a->manifest_path || !a->text) {
		net_ask_free(a);
		return -ENOMEM;
	}
	a->o.manifest_path = a->manifest_path;
	if (o->manifest_len)
		memcpy(a->text, o->manifest_data, o->manifest_len);
	a->text[o->manifest_len] = 0;
	a->len = o->manifest_len;
	terminal_name(a->tty_name, sizeof(a->tty_name));
	fd_set_nonblock(a->tty_fd, true);
	a->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (a->timer_fd < 0) {
		k = -errno;
		net_ask_free(a);
		return k;
	}
	k = event_add_io(o->loop, &a->tty_src, a->tty_fd, EPOLLIN, on_tty, a);
	if (k >= 0)
		k = event_add_io(o->loop, &a->timer_src, a->timer_fd, EPOLLIN, on_timer, a);
	if (k < 0) {
		net_ask_free(a);
		return k;
	}
	*ret = a;
	return 0;
}

int net_ask_post(struct net_ask *a, const struct net_ask_question *in, net_ask_done_t done,
		 void *userdata)
{
	struct question *q;

	if (a->gone)
		return -ENOTTY;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (struct question){
		.kind = strdup(in->kind),
		.text = strdup(in->text),
		.proto = in->proto ? strdup(in->proto) : NULL,
		.address = in->address ? strdup(in->address) : NULL,
		.name = in->name ? strdup(in->name) : NULL,
		.port = in->port,
		.done = done,
		.userdata = userdata,
	};
	for (size_t i = 0; i < in->n_entry; i++)
		if (strv_extend(&q->entry, in->entry[i]) < 0) {
			question_free(q);
			return -ENOMEM;
		}
	q->n_entry = in->n_entry;
	if (!q->kind || !q->text || (in->proto && !q->proto) || (in->address && !q->address) ||
	    (in->name && !q->name)) {
		question_free(q);
		return -ENOMEM;
	}
	if (a->tail)
		a->tail->next = q;
	else
		a->head = q;
	a->tail = q;
	ask_next(a);
	return 0;
}

void net_ask_finish(struct net_ask *a)
{
	if (!a)
		return;
	if (a->head && !a->gone)
		say(a, "\n" PREFIX "the run ended\n");
	arm(a, false);
	while (a->head) {
		struct question *q = a->head;

		a->head = q->next;
		if (q->done)
			q->done(q->userdata, NET_ASK_DENY);
		question_free(q);
	}
	a->tail = NULL;
	a->state = ASK_IDLE;
	hold(a, false);
}

struct net_ask *net_ask_free(struct net_ask *a)
{
	if (!a)
		return NULL;
	net_ask_finish(a);
	event_source_free(a->tty_src);
	event_source_free(a->timer_src);
	safe_close(a->tty_fd);
	safe_close(a->timer_fd);
	free(a->edit.text);
	free(a->text);
	free(a->manifest_path);
	free(a);
	return NULL;
}
