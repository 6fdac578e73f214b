/* SPDX-License-Identifier: MIT */
/*
 * The skill's standard streams (streams.h): what each of its descriptors 0, 1 and 2 is, the
 * relays between them and the caller's, and the caller's terminal.
 *
 * Deciding, per descriptor (the caller's 0, 1 and 2 as they are when skillbox starts):
 *
 *   stdout, stderr   a terminal: the pseudo-terminal; /dev/null or closed: /dev/null (a pipe
 *                    to nowhere when learn counts the bytes); anything else: a pipe.
 *   stdin            a terminal, and stdout or stderr is one too: the pseudo-terminal, the
 *                    caller's terminal in raw mode, every byte (^C, ^Z, ^D included) passed
 *                    to the pseudo-terminal, whose line discipline acts on them for the
 *                    skill as the caller's own terminal would;
 *                    a terminal, with neither output a terminal (skillbox run m > out): a
 *                    pipe fed from the caller's terminal as it is (cooked: its line editing,
 *                    echo and ^C, ^D stay the caller's);
 *                    /dev/null, closed or not readable: /dev/null; anything else: a pipe.
 *
 * The pseudo-terminal's output goes to the caller's stdout when that is a terminal, else to
 * its stderr. Its modes are the caller's terminal's (so erase, ^C and the like mean the same);
 * when only the output is a terminal, output processing is left to the caller's terminal.
 *
 * Relaying. A relay moves bytes from a source to a destination from the event loop, never
 * blocking it for long: the supervisor also answers the seccomp listener and enforces the
 * timeout. Our own ends (the pipes, the master) are non-blocking. The caller's descriptors are
 * open file descriptions the caller shares with others, so they are never made non-blocking;
 * instead, per kind:
 *
 *   regular file   written directly (a disk write does not wait on a reader); spliced
 *                  into unless it is O_APPEND (splice refuses those). Read by the relay when
 *                  the skill's pipe has room (a file is always "readable").
 *   pipe, FIFO     spliced with SPLICE_F_NONBLOCK, which makes both pipe ends non-blocking
 *                  for that call whatever their flags; bytes held in our buffer are written
 *                  after epoll says the pipe has room, at most PIPE_BUF at a time (which then
 *                  never blocks while skillbox is the pipe's only writer).
 *   socket         send()/recv() with MSG_DONTWAIT.
 *   terminal       opened again through /proc/self/fd: a description of skillbox's own, made
 *                  non-blocking (end_own_terminal()); where that fails, as other devices:
 *   other          one read or write of at most PIPE_BUF after epoll says it is ready.
 *
 * Sharing a stream with the trail. --audit - writes the trail to stderr, which the skill's
 * stderr is relayed to as well (likewise --audit-fd 1 or 2, or --audit naming the very file
 * the output goes to). Both writers are skillbox, so their writes are ordered; what remains
 * is a partial line of the skill's glued to the start of a trail line. A relay into such a
 * stream (unless it is a terminal, where it would delay prompts) holds a partial last line
 * back until its newline comes, its buffer is full, or the skill's output ends; and the audit
 * writer asks streams_trail_mid_line() before each line, which says whether what skillbox
 * last wrote to the stream ended mid-line: the trail line then begins with a newline. Either
 * way a trail line always starts a line and is never split; verify reports the skill's lines
 * as foreign.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "fd-util.h"
#include "manifest.h"
#include "parse-util.h"
#include "streams.h"

#define RELAY_BUF (64 * 1024)
#define N_RELAYS  4 /* stdin, stdout, stderr (pipes) or stdin and the master */

/* What a caller's descriptor is. */
enum caller_kind {
	CALLER_CLOSED,
	CALLER_NULL, /* /dev/null */
	CALLER_TTY,
	CALLER_FILE, /* regular file or block device */
	CALLER_PIPE, /* pipe or FIFO */
	CALLER_SOCKET,
	CALLER_OTHER, /* another character device */
};

struct caller {
	enum caller_kind kind;
	struct stat st;
	int flags; /* F_GETFL */
};

/* How a relay end is read or written. */
enum end_mode {
	END_OURS,    /* our own non-blocking descriptor */
	END_DIRECT,  /* the caller's regular file: reads and writes do not wait on anyone */
	END_SOCKET,  /* the caller's socket: MSG_DONTWAIT */
	END_POLLED,  /* the caller's pipe, terminal or device: one call per readiness */
	END_DISCARD, /* nowhere (learn, output to /dev/null or closed) */
};

struct end {
	int fd;
	enum end_mode mode;
	bool owned;    /* ours to close */
	bool is_pipe;  /* a pipe or FIFO: splice() works on it */
	bool append;   /* O_APPEND: splice() refuses it */
	bool pollable; /* epoll takes it (regular files it does not) */
	bool ready;    /* END_POLLED: epoll reported readiness since the last call */
	struct event_source *source;
};

/* A stream the trail may share: where a relay's bytes end up. */
struct stream {
	dev_t dev;
	ino_t ino;
	bool shared;   /* the trail goes there too */
	bool mid_line; /* the last byte skillbox wrote there was not a newline */
};

struct relay {
	struct streams *s;
	const char *name;
	bool output;	 /* the skill's output: counted, cut at the cap */
	bool hold_lines; /* shares a stream with the trail: write whole lines */
	bool eof_closes; /* input into a pipe: the caller's EOF closes it */
	bool no_splice;	 /* splice() refused these two: read and write */
	struct end src, dst;
	struct stream *stream; /* the destination's line state, when tracked */
	char *buf;
	size_t off, len; /* pending bytes: buf[off, len) */
	bool src_eof;
	bool done;
	bool waiting_dst; /* the last attempt stopped on the destination */
	bool paused;	  /* reads the caller's terminal while skillbox is in the background */
};

struct terminal {
	int fd; /* the caller's terminal that is put in raw mode (stdin), -1 for none */
	struct termios saved;
	bool raw;
	bool guarded; /* the fatal signals' handlers restore it */
	int size_fd;  /* where the window size is read (an output terminal), -1 for none */
};

struct streams {
	struct streams_opts o;
	struct caller caller[3];
	enum sandbox_stdio_kind kind[3];
	struct relay relays[N_RELAYS];
	size_t n_relays;
	struct stream streams[3]; /* by caller descriptor 0..2 (the destination's stream) */
	struct terminal term;
	bool pty;
	int pty_out_fd;			/* the caller's descriptor the master's output goes to */
	struct relay *pty_in, *pty_out; /* the master is pty_out's source, pty_in's destination */
	struct relay *tty_in;		/* the relay that reads the caller's terminal, if any */
	bool background;		/* skillbox is not in its terminal's foreground group */
	bool held;			/* run --ask has the terminal for a question */
	bool finished;

	struct event_loop *loop;
	struct event_sink *sink;
	uint64_t output_bytes;
	bool cut;
};

/* --- the caller's descriptors -------------------------------------------------------------- */

static bool is_dev_null(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

static void classify(int fd, struct caller *c)
{
	*c = (struct caller){ .kind = CALLER_CLOSED };
	c->flags = fcntl(fd, F_GETFL);
	if (c->flags < 0 || fstat(fd, &c->st) < 0) {
		c->kind = CALLER_CLOSED;
		return;
	}
	if (is_dev_null(&c->st))
		c->kind = CALLER_NULL;
	else if (isatty(fd))
		c->kind = CALLER_TTY;
	else if (S_ISREG(c->st.st_mode) || S_ISBLK(c->st.st_mode))
		c->kind = CALLER_FILE;
	else if (S_ISFIFO(c->st.st_mode))
		c->kind = CALLER_PIPE;
	else if (S_ISSOCK(c->st.st_mode))
		c->kind = CALLER_SOCKET;
	else
		c->kind = CALLER_OTHER;
}

static bool readable(const struct caller *c)
{
	return (c->flags & O_ACCMODE) != O_WRONLY;
}

/* The caller's descriptor as one end of a relay. */
static struct end caller_end(int fd, const struct caller *c)
{
	struct end e = { .fd = fd, .pollable = true };

	switch (c->kind) {
	case CALLER_FILE:
		e.mode = END_DIRECT;
		e.pollable = false;
		e.append = c->flags & O_APPEND;
		break;
	case CALLER_SOCKET:
		e.mode = END_SOCKET;
		break;
	case CALLER_PIPE:
		e.mode = END_POLLED;
		e.is_pipe = true;
		break;
	case CALLER_NULL:
	case CALLER_CLOSED:
		e.mode = END_DISCARD;
		e.fd = -1;
		e.pollable = false;
		break;
	default:
		e.mode = END_POLLED;
		break;
	}
	return e;
}

/*
 * The caller's terminal, opened again for the relay: a file description of skillbox's own,
 * which can be non-blocking without touching the caller's (a write to a terminal whose
 * reader is slow would otherwise hold the loop, and with it the timeout). Where the terminal
 * cannot be opened again (no /proc, a terminal of another user's after su), the end stays
 * END_POLLED.
 */
static void end_own_terminal(struct end *e, const struct caller *c)
{
	char path[STRLEN("/proc/self/fd/") + 12];
	struct stat st;
	int fd;

	if (c->kind != CALLER_TTY || e->mode != END_POLLED)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", e->fd);
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != c->st.st_rdev) {
		close(fd);
		return;
	}
	e->fd = fd;
	e->mode = END_OURS;
	e->owned = true;
}

static struct end our_end(int fd, bool is_pipe)
{
	return (struct end){
		.fd = fd, .mode = END_OURS, .owned = true, .is_pipe = is_pipe, .pollable = true
	};
}

/* --- relays ---------------------------------------------------------------------------------- */

static void relay_pump(struct relay *r);

static void end_unwatch(struct end *e)
{
	e->source = event_source_free(e->source);
}

static void end_close(struct end *e)
{
	end_unwatch(e);
	if (e->owned)
		safe_close(e->fd);
	e->fd = -1;
}

static int on_src(struct event_source *es, int fd, uint32_t revents, void *userdata)
{
	struct relay *r = userdata;

	r->src.ready = true;
	relay_pump(r);
	return 0;
}

static int on_dst(struct event_source *es, int fd, uint32_t revents, void *userdata)
{
	struct relay *r = userdata;

	r->dst.ready = true;
	relay_pump(r);
	return 0;
}

/* Watches one end and not the other: backpressure is not reading what cannot be written. */
static void relay_wait(struct relay *r, bool on_dst_end)
{
	struct end *want = on_dst_end ? &r->dst : &r->src, *other = on_dst_end ? &r->src : &r->dst;
	int k;

	r->waiting_dst = on_dst_end;
	end_unwatch(other);
	if (want->source || !r->s->loop || want->fd < 0 || !want->pollable)
		return;
	k = event_add_io(r->s->loop, &want->source, want->fd, on_dst_end ? EPOLLOUT : EPOLLIN,
			 on_dst_end ? on_dst : on_src, r);
	if (k < 0) {
		/* Cannot happen for the kinds of descriptors relayed; say so rather than hang. */
		event_sink_fail(r->s->sink, strdup("standard streams: watching a descriptor "
						   "failed"));
		r->done = true;
	}
}

/* Reads into buf; 0 at EOF, -EAGAIN when nothing is there now, -errno. */
static ssize_t end_read(struct end *e, void *buf, size_t n)
{
	ssize_t k;

	switch (e->mode) {
	case END_POLLED:
		/* After POLLIN, read() returns what is there without waiting. */
		if (!e->ready)
			return -EAGAIN;
		e->ready = false;
		break;
	case END_SOCKET:
		do
			k = recv(e->fd, buf, n, MSG_DONTWAIT);
		while (k < 0 && errno == EINTR);
		return k < 0 ? -errno : k;
	default:
		break;
	}
	do
		k = read(e->fd, buf, n);
	while (k < 0 && errno == EINTR);
	/* A master whose slaves are all closed reads EIO: the end of the skill's output. */
	if (k < 0 && errno == EIO && e->mode == END_OURS)
		return 0;
	return k < 0 ? -errno : k;
}

/* Writes from buf; the count, -EAGAIN when the destination is full, -errno. */
static ssize_t end_write(struct end *e, const void *buf, size_t n)
{
	ssize_t k;

	switch (e->mode) {
	case END_DISCARD:
		return (ssize_t)n;
	case END_SOCKET:
		do
			k = send(e->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (k < 0 && errno == EINTR);
		return k < 0 ? -errno : k;
	case END_POLLED:
		/* At most PIPE_BUF after POLLOUT: a pipe with room takes it without waiting. */
		if (!e->ready)
			return -EAGAIN;
		e->ready = false;
		n = MIN(n, (size_t)PIPE_BUF);
		break;
	default:
		break;
	}
	do
		k = write(e->fd, buf, n);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

/* Whether src → dst can be spliced: a pipe on one side, and a destination that never waits. */
static bool can_splice(const struct relay *r)
{
	const struct end *a = &r->src, *b = &r->dst;

	if (r->no_splice || r->hold_lines || r->stream || b->mode == END_DISCARD ||
	    b->mode == END_SOCKET || a->mode == END_SOCKET)
		return false;
	if (a->is_pipe && b->is_pipe)
		return true; /* SPLICE_F_NONBLOCK holds for both pipes */
	if (a->is_pipe && a->mode == END_OURS && b->mode == END_DIRECT)
		return !b->append;
	if (b->is_pipe && b->mode == END_OURS && a->mode == END_DIRECT)
		return true;
	return false;
}

/* How many bytes the skill may still print; UINT64_MAX without a cap. */
static uint64_t output_left(const struct relay *r)
{
	const struct streams *s = r->s;

	if (!r->output || s->o.output_cap == MANIFEST_UNSET)
		return UINT64_MAX;
	return s->o.output_cap > s->output_bytes ? s->o.output_cap - s->output_bytes : 0;
}

static void streams_cut(struct streams *s);

/* The destination is gone (the caller's reader, or the skill's stdin, closed). */
static void relay_dst_gone(struct relay *r)
{
	r->off = r->len = 0;
	end_close(&r->dst);
	/*
	 * Output: the skill's next write fails with EPIPE (or, on the pseudo-terminal, it is hung
	 * up), as it would have writing to the caller's descriptor itself. Input: stop reading.
	 */
	if (r->output) {
		end_close(&r->src);
		if (r == r->s->pty_out && r->s->pty_in)
			end_close(&r->s->pty_in->dst);
	} else {
		end_unwatch(&r->src);
	}
	r->done = true;
}

static void relay_eof(struct relay *r)
{
	end_close(&r->src);
	/* A pipe into the skill closes, so that it reads EOF; a master stays for the output. */
	if (r->eof_closes)
		end_close(&r->dst);
	else
		end_unwatch(&r->dst);
	r->done = true;
}

/* The part of the pending bytes to write now: whole lines when they are held. */
static size_t writable_part(const struct relay *r)
{
	const char *p = r->buf + r->off, *nl;
	size_t n = r->len - r->off;

	if (!r->hold_lines || r->src_eof || r->src.fd < 0 || r->len == RELAY_BUF)
		return n;
	nl = memrchr(p, '\n', n);
	return nl ? (size_t)(nl - p) + 1 : 0;
}

static void note_written(struct relay *r, const char *p, size_t n)
{
	if (r->stream && n)
		r->stream->mid_line = p[n - 1] != '\n';
}

/*
 * Moves bytes until one side has to be waited for, then watches that side. Called from both
 * ends' callbacks, and once more when the sandbox is gone.
 */
static void relay_pump(struct relay *r)
{
	if (r->paused)
		return;
	for (int rounds = 0; !r->done; rounds++) {
		size_t want;
		ssize_t k;

		/* Plenty done in one go (4 MiB): let the loop serve the others, and come back. */
		if (rounds >= 64 && r->len == r->off)
			return relay_wait(r, !r->src.pollable);

		if (r->len > r->off) {
			size_t n = writable_part(r);

			if (n > 0) {
				k = end_write(&r->dst, r->buf + r->off, n);
				if (k == -EAGAIN)
					return relay_wait(r, true);
				if (k < 0)
					return relay_dst_gone(r);
				note_written(r, r->buf + r->off, (size_t)k);
				r->off += (size_t)k;
				if (r->off == r->len)
					r->off = r->len = 0;
				continue;
			}
		}
		if (r->src_eof)
			return relay_eof(r);
		if (r->src.fd < 0) {
			/* Cut: the pending bytes were the last. */
			if (r->len == r->off) {
				end_unwatch(&r->dst);
				r->done = true;
			}
			return;
		}

		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		want = RELAY_BUF - r->len;
		if (want == 0)
			return relay_wait(r, true);
		if (output_left(r) < want)
			/* At the cap, one byte more tells whether the skill went past it. */
			want = output_left(r) ? (size_t)output_left(r) : 1;

		/* At the cap, the byte that tells is read, never spliced through. */
		if (r->len == 0 && output_left(r) > 0 && can_splice(r)) {
			k = splice(r->src.fd, NULL, r->dst.fd, NULL, want,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && errno == EAGAIN) {
				int queued = 0;

				/* Either side: bytes waiting in the source mean the destination is
				 * full. */
				if (ioctl(r->src.fd, FIONREAD, &queued) == 0 && queued > 0)
					return relay_wait(r, true);
				return relay_wait(r, false);
			}
			if (k < 0 && (errno == EINVAL || errno == ENOSYS)) {
				r->no_splice = true; /* not here: read and write */
				continue;
			}
			if (k < 0)
				return relay_dst_gone(r);
			if (k == 0) {
				r->src_eof = true;
				continue;
			}
			if (r->output)
				r->s->output_bytes += (uint64_t)k;
			continue;
		}

		k = end_read(&r->src, r->buf + r->len, want);
		if (k == -EAGAIN)
			return relay_wait(r, false);
		if (k < 0 || k == 0) {
			r->src_eof = true;
			continue;
		}
		if (r->output && output_left(r) == 0) {
			/* Past the cap: what was just read is not passed on. */
			return streams_cut(r->s);
		}
		if (r->output)
			r->s->output_bytes += (uint64_t)k;
		r->len += (size_t)k;
	}
}

static int relay_add(struct streams *s, const char *name, bool output, struct end src,
		     struct end dst, struct relay **ret)
{
	struct relay *r;

	if (s->n_relays == N_RELAYS)
		return -ENOSPC;
	r = &s->relays[s->n_relays];
	*r = (struct relay){ .s = s, .name = name, .output = output, .src = src, .dst = dst };
	r->buf = malloc(RELAY_BUF);
	if (!r->buf)
		return -ENOMEM;
	s->n_relays++;
	if (ret)
		*ret = r;
	return 0;
}

static void relay_done(struct relay *r)
{
	end_close(&r->src);
	end_close(&r->dst);
	free(r->buf);
	r->buf = NULL;
}

/* --- the cap ---------------------------------------------------------------------------------- */

/*
 * The skill printed more than limits.output: every output source closes, so its next write
 * fails with EPIPE (SIGPIPE by default), and the pseudo-terminal hangs up (SIGHUP, then EIO),
 * like head -c. What was read before the cap is still passed on.
 */
static void streams_cut(struct streams *s)
{
	char size[32];

	if (s->cut)
		return;
	s->cut = true;
	event_sink_limit(s->sink, RUN_LIMIT_OUTPUT,
			 format_size(size, sizeof(size), s->o.output_cap),
			 "output cut; further writes fail with EPIPE");
	for (size_t i = 0; i < s->n_relays; i++) {
		struct relay *r = &s->relays[i];

		if (r->output)
			end_close(&r->src);
	}
	/* The master's last descriptor goes with the input relay's. */
	if (s->pty_in) {
		end_close(&s->pty_in->dst);
		end_unwatch(&s->pty_in->src);
		s->pty_in->done = true;
	}
	for (size_t i = 0; i < s->n_relays; i++)
		if (s->relays[i].output && !s->relays[i].done)
			relay_pump(&s->relays[i]);
}

/* --- the caller's terminal ------------------------------------------------------------------ */

/*
 * While the caller's terminal is raw, a fatal signal that skillbox does not read from its
 * signalfd (a crash, SIGALRM, SIGUSR1, ...) would leave it so: these restore it first.
 */
static const int fatal_signals[] = { SIGABRT, SIGALRM, SIGBUS,	  SIGFPE,  SIGILL,  SIGPROF,
				     SIGSEGV, SIGSYS,  SIGTRAP,	  SIGUSR1, SIGUSR2, SIGVTALRM,
				     SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGPWR,  SIGIO };
static struct terminal *raw_terminal; /* for the handler */
static struct sigaction saved_actions[ELEMENTSOF(fatal_signals)];

static void on_fatal_signal(int sig)
{
	int e = errno;

	if (raw_terminal && raw_terminal->raw)
		tcsetattr(raw_terminal->fd, TCSANOW, &raw_terminal->saved);
	/* SA_RESETHAND made the default action current: raise it again, now unblocked. */
	errno = e;
	raise(sig);
}

static void guard_terminal(struct terminal *t, bool on)
{
	if (t->guarded == on)
		return;
	t->guarded = on;
	for (size_t i = 0; i < ELEMENTSOF(fatal_signals); i++) {
		if (on) {
			struct sigaction sa = { .sa_handler = on_fatal_signal,
						.sa_flags = SA_RESETHAND | SA_NODEFER };

			sigemptyset(&sa.sa_mask);
			sigaction(fatal_signals[i], &sa, &saved_actions[i]);
		} else {
			sigaction(fatal_signals[i], &saved_actions[i], NULL);
		}
	}
	raw_terminal = on ? t : NULL;
}

static void terminal_raw(struct terminal *t)
{
	struct termios raw = t->saved;

	if (t->fd < 0)
		return;
	cfmakeraw(&raw);
	if (!t->raw)
		guard_terminal(t, true);
	/* Only in the foreground (follow_foreground()): in the background this is SIGTTOU. */
	if (tcsetattr(t->fd, TCSADRAIN, &raw) == 0)
		t->raw = true;
	else if (!t->raw)
		guard_terminal(t, false);
}

static void terminal_restore(struct terminal *t)
{
	sigset_t ttou, old;

	if (!t->raw)
		return;
	/* Also from the background (moved there by bg): SIGTTOU blocked, it is not a stop. */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetattr(t->fd, TCSADRAIN, &t->saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	t->raw = false;
	guard_terminal(t, false);
}

static void propagate_size(struct streams *s)
{
	struct winsize ws;

	if (!s->pty_out || s->pty_out->src.fd < 0 || s->term.size_fd < 0)
		return;
	if (ioctl(s->term.size_fd, TIOCGWINSZ, &ws) == 0)
		/* The kernel sends SIGWINCH to the skill's foreground process group. */
		(void)ioctl(s->pty_out->src.fd, TIOCSWINSZ, &ws);
}

/* --- setting up --------------------------------------------------------------------------- */

static int make_pipe(int *read_end, int *write_end)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*read_end = p[0];
	*write_end = p[1];
	return 0;
}

static struct stream *stream_for(struct streams *s, int fd)
{
	struct stream *st = &s->streams[fd];
	const struct caller *c = &s->caller[fd];

	st->dev = c->st.st_dev;
	st->ino = c->st.st_ino;
	st->shared = s->o.trail && c->kind != CALLER_CLOSED && c->kind != CALLER_NULL &&
		     c->st.st_dev == s->o.trail_st.st_dev && c->st.st_ino == s->o.trail_st.st_ino;
	/* Outputs into one stream (2>&1) share its line state. */
	for (int other = 1; other < fd; other++)
		if (s->streams[other].shared && s->streams[other].dev == st->dev &&
		    s->streams[other].ino == st->ino)
			return &s->streams[other];
	return st->shared ? st : NULL;
}

/* The skill's stdout or stderr through a pipe to the caller's descriptor fd. */
static int add_output_pipe(struct streams *s, int fd, struct sandbox_stdio *spec)
{
	const struct caller *c = &s->caller[fd];
	struct relay *r;
	int ours = -1, theirs = -1, k;

	k = make_pipe(&ours, &theirs);
	if (k < 0)
		return k;
	k = fd_set_nonblock(ours, true);
	if (k >= 0)
		k = relay_add(s, fd == 1 ? "stdout" : "stderr", true, our_end(ours, true),
			      caller_end(fd, c), &r);
	if (k < 0) {
		safe_close(ours);
		safe_close(theirs);
		return k;
	}
	r->stream = stream_for(s, fd);
	r->hold_lines = r->stream && c->kind != CALLER_TTY;
	spec->kind[fd] = SB_STDIO_FD;
	spec->fd[fd] = theirs;
	return 0;
}

static int add_input_pipe(struct streams *s, struct sandbox_stdio *spec)
{
	struct relay *r;
	int ours = -1, theirs = -1, k;

	k = make_pipe(&theirs, &ours);
	if (k < 0)
		return k;
	k = fd_set_nonblock(ours, true);
	if (k >= 0)
		k = relay_add(s, "stdin", false, caller_end(STDIN_FILENO, &s->caller[0]),
			      our_end(ours, true), &r);
	if (k < 0) {
		safe_close(ours);
		safe_close(theirs);
		return k;
	}
	r->eof_closes = true;
	end_own_terminal(&r->src, &s->caller[0]);
	if (s->caller[0].kind == CALLER_TTY)
		s->tty_in = r;
	spec->kind[0] = SB_STDIO_FD;
	spec->fd[0] = theirs;
	return 0;
}

int streams_new(const struct streams_opts *o, struct sandbox_stdio *spec, struct streams **ret,
		char **ret_error)
{
	struct streams *s;
	bool tty_in, tty_out, tty_err;
	int k = 0;

	*spec = (struct sandbox_stdio){ .fd = { -1, -1, -1 } };
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->term.fd = -1;
	s->term.size_fd = -1;
	s->pty_out_fd = -1;
	for (int fd = 0; fd < 3; fd++)
		classify(fd, &s->caller[fd]);

	tty_in = s->caller[0].kind == CALLER_TTY && readable(&s->caller[0]);
	tty_out = s->caller[1].kind == CALLER_TTY;
	tty_err = s->caller[2].kind == CALLER_TTY;
	s->pty = tty_out || tty_err;
	if (s->pty) {
		s->pty_out_fd = tty_out ? STDOUT_FILENO : STDERR_FILENO;
		s->term.size_fd = s->pty_out_fd;
		if (tty_in && tcgetattr(STDIN_FILENO, &s->term.saved) == 0) {
			s->term.fd = STDIN_FILENO;
			spec->termios = s->term.saved;
		} else if (tcgetattr(s->pty_out_fd, &spec->termios) == 0) {
			/* Only output goes through it: the caller's terminal processes it. */
			spec->termios.c_oflag &= ~(tcflag_t)OPOST;
		} else {
			cfmakeraw(&spec->termios);
		}
		(void)ioctl(s->term.size_fd, TIOCGWINSZ, &spec->winsize);
		spec->pty = true;
	}

	/* stdin */
	if (s->term.fd >= 0)
		spec->kind[0] = SB_STDIO_PTY;
	else if (s->caller[0].kind == CALLER_CLOSED || s->caller[0].kind == CALLER_NULL ||
		 !readable(&s->caller[0]))
		spec->kind[0] = SB_STDIO_NULL;
	else
		k = add_input_pipe(s, spec);

	/* stdout, stderr */
	for (int fd = 1; k >= 0 && fd < 3; fd++) {
		enum caller_kind kind = s->caller[fd].kind;

		if (kind == CALLER_TTY)
			spec->kind[fd] = SB_STDIO_PTY;
		else if ((kind == CALLER_CLOSED || kind == CALLER_NULL) && !o->count)
			spec->kind[fd] = SB_STDIO_NULL;
		else
			k = add_output_pipe(s, fd, spec);
	}
	if (k < 0) {
		for (int fd = 0; fd < 3; fd++)
			spec->fd[fd] = safe_close(spec->fd[fd]);
		streams_free(s);
		*ret_error = strdup("standard streams: creating the pipes");
		return k;
	}
	memcpy(s->kind, spec->kind, sizeof(s->kind));
	*ret = s;
	return 0;
}

struct streams *streams_free(struct streams *s)
{
	if (!s)
		return NULL;
	streams_restore_terminal(s);
	for (size_t i = 0; i < s->n_relays; i++)
		relay_done(&s->relays[i]);
	free(s);
	return NULL;
}

bool streams_want_pty(const struct streams *s)
{
	return s && s->pty;
}

const char *streams_kind_name(const struct streams *s, int fd)
{
	switch (s->kind[fd]) {
	case SB_STDIO_FD:
		return "pipe";
	case SB_STDIO_PTY:
		return "pty";
	case SB_STDIO_NULL:
		break;
	}
	return "null";
}

bool streams_trail_shared(const struct streams *s)
{
	if (!s || !s->o.trail)
		return false;
	for (int fd = 1; fd < 3; fd++) {
		const struct caller *c = &s->caller[fd];

		if (s->kind[fd] != SB_STDIO_NULL && c->kind != CALLER_CLOSED &&
		    c->kind != CALLER_NULL && c->st.st_dev == s->o.trail_st.st_dev &&
		    c->st.st_ino == s->o.trail_st.st_ino)
			return true;
	}
	return false;
}

int streams_attach_pty(struct streams *s, int master)
{
	struct relay *r;
	int in = -1, k;

	if (!s->pty || s->pty_out) {
		safe_close(master);
		return -EBADMSG;
	}
	k = fd_set_nonblock(master, true);
	if (k >= 0)
		/* The output: the master, read, to the caller's terminal. */
		k = relay_add(s, "pty", true, our_end(master, false),
			      caller_end(s->pty_out_fd, &s->caller[s->pty_out_fd]), &r);
	if (k < 0) {
		safe_close(master);
		return k;
	}
	r->stream = stream_for(s, s->pty_out_fd);
	r->hold_lines = false; /* a terminal: prompts show at once */
	end_own_terminal(&r->dst, &s->caller[s->pty_out_fd]);
	s->pty_out = r;
	/* The input: the caller's terminal to the master (another descriptor for epoll). */
	if (s->term.fd >= 0) {
		in = fcntl(master, F_DUPFD_CLOEXEC, 3);
		if (in < 0)
			return -errno;
		k = relay_add(s, "pty-input", false, caller_end(STDIN_FILENO, &s->caller[0]),
			      our_end(in, false), &r);
		if (k < 0) {
			safe_close(in);
			return k;
		}
		end_own_terminal(&r->src, &s->caller[0]);
		s->pty_in = r;
		s->tty_in = r;
		r->paused = s->background;
	}
	propagate_size(s);
	if (s->loop) {
		relay_pump(s->pty_out);
		if (s->pty_in)
			relay_pump(s->pty_in);
	}
	return 0;
}

/*
 * A background job that reads its terminal, or changes its modes, is stopped (SIGTTIN,
 * SIGTTOU). `skillbox run m &` must not be, whether or not the skill ever reads: so the
 * caller's terminal is read, and made raw, only while skillbox is in the terminal's
 * foreground process group; looked at again at SIGCONT, which fg and bg send. In the
 * background the skill's input waits, as the caller's own would.
 */
static void follow_foreground(struct streams *s)
{
	bool away;
	pid_t fg;

	if (!s->tty_in && s->term.fd < 0)
		return;
	fg = tcgetpgrp(STDIN_FILENO);
	/* Not skillbox's controlling terminal (ENOTTY): reading it stops nobody. */
	s->background = fg >= 0 && fg != getpgrp();
	away = s->background || s->held;
	if (s->tty_in && !s->tty_in->done) {
		if (away && !s->tty_in->paused) {
			s->tty_in->paused = true;
			end_unwatch(&s->tty_in->src);
			end_unwatch(&s->tty_in->dst);
		} else if (!away && s->tty_in->paused) {
			s->tty_in->paused = false;
			if (s->loop)
				relay_pump(s->tty_in);
		}
	}
	/* Raw again after a stop too: the shell may have set its own modes meanwhile. A
	   question of run --ask gets the caller's own modes (echo, line editing). */
	if (s->term.fd >= 0 && s->held)
		terminal_restore(&s->term);
	else if (s->term.fd >= 0 && !s->background)
		terminal_raw(&s->term);
}

void streams_hold_terminal(struct streams *s, bool hold)
{
	if (!s || s->held == hold)
		return;
	s->held = hold;
	/* After streams_finish() the terminal is restored for good. */
	if (!s->finished)
		follow_foreground(s);
}

int streams_start(struct streams *s, struct event_loop *l, struct event_sink *sink)
{
	s->loop = l;
	s->sink = sink;
	follow_foreground(s);
	for (size_t i = 0; i < s->n_relays; i++)
		relay_pump(&s->relays[i]);
	return 0;
}

void streams_signal(struct streams *s, int sig)
{
	if (!s)
		return;
	if (sig == SIGCONT)
		follow_foreground(s);
	propagate_size(s);
}

void streams_finish(struct streams *s)
{
	if (!s)
		return;
	s->finished = true;
	/* Input stops: nothing reads it any more. */
	for (size_t i = 0; i < s->n_relays; i++) {
		struct relay *r = &s->relays[i];

		if (!r->output) {
			end_unwatch(&r->src);
			end_close(&r->dst);
			r->done = true;
		}
	}
	/* Output: everything the skill wrote is passed on, waiting for the reader if needed. */
	for (size_t i = 0; i < s->n_relays; i++) {
		end_unwatch(&s->relays[i].src);
		end_unwatch(&s->relays[i].dst);
	}
	s->loop = NULL; /* relay_wait() only records which side to wait for now */
	for (size_t i = 0; i < s->n_relays; i++) {
		struct relay *r = &s->relays[i];

		while (!r->done) {
			struct pollfd p;

			relay_pump(r);
			if (r->done)
				break;
			if (!r->waiting_dst) {
				/* The sandbox is gone, so nobody writes any more: what is not there
				 * now never will be. */
				p = (struct pollfd){ .fd = r->src.fd, .events = POLLIN };
				if (r->src.fd < 0 || poll(&p, 1, 0) <= 0) {
					r->src_eof = true;
					continue;
				}
				r->src.ready = true;
				continue;
			}
			if (!r->dst.pollable) {
				relay_dst_gone(r);
				break;
			}
			p = (struct pollfd){ .fd = r->dst.fd, .events = POLLOUT };
			while (poll(&p, 1, -1) < 0 && errno == EINTR)
				;
			r->dst.ready = true;
		}
	}
	streams_restore_terminal(s);
}

void streams_restore_terminal(struct streams *s)
{
	if (s)
		terminal_restore(&s->term);
}

uint64_t streams_output_bytes(const struct streams *s)
{
	return s ? s->output_bytes : 0;
}

bool streams_trail_mid_line(void *userdata)
{
	struct streams *s = userdata;
	bool mid = false;

	for (int fd = 1; fd < 3; fd++)
		if (s->streams[fd].shared && s->streams[fd].mid_line) {
			mid = true;
			s->streams[fd].mid_line = false;
		}
	return mid;
}
