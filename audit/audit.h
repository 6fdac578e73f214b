/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Audit trail v1: JSON lines, one write() per line, chained by SHA-256.
 *
 * Every line is an object whose keys come in this order: "v" (1), "seq" (0, 1, ... within a
 * run), "ts" (RFC 3339, UTC, microseconds), "run" (UUID), "event", then the event's own
 * fields, then "prev": the hex SHA-256 of the previous line's bytes without its newline; the
 * first line of a run carries the SHA-256 of the run id instead. Any edit, removal, reordering
 * or truncation of lines breaks the chain, which audit_verify() finds.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macros.h"

#define AUDIT_FORMAT_VERSION 1
#define AUDIT_RUN_ID_LEN     36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define AUDIT_HASH_HEX_LEN   64

struct audit;

/**
 * Creates a writer that appends to fd, which it takes over (closed by audit_free()). The fd
 * should be O_APPEND|O_CLOEXEC when it is a file. run_id must be a 36-character UUID.
 * On failure (-EINVAL, -ENOMEM) fd stays the caller's.
 */
int audit_new(int fd, const char *run_id, struct audit **ret);
/** Frees a writer and closes its fd; takes NULL; returns NULL. */
struct audit *audit_free(struct audit *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct audit *, audit_free)
#define _cleanup_audit_free_ _cleanup_(audit_freep)

/**
 * Registers a secret. From now on every occurrence of value inside any string written is
 * replaced by "[redacted:NAME]". Empty values are ignored.
 */
int audit_add_secret(struct audit *a, const char *name, const char *value);

/*
 * Building an event: audit_begin(), any number of fields, audit_end(). Fields are written in
 * call order. Inside an array, pass NULL as the key. Errors (allocation) are remembered and
 * returned by audit_end(), so callers check once. Misuse is remembered the same way, as -EINVAL:
 * a key inside an array or none in an object, unbalanced containers, a top-level key that is
 * one of the common fields or "prev"; nesting deeper than 32 containers gives -E2BIG. A failed
 * event writes nothing and does not advance seq; audit_begin() starts over.
 */
void audit_begin(struct audit *a, const char *event);
/** Like audit_begin(), for an event that carries its own time (microseconds, CLOCK_REALTIME). */
void audit_begin_at(struct audit *a, const char *event, uint64_t realtime_usec);
void audit_str(struct audit *a, const char *key, const char *value); /* NULL writes null */
void audit_strn(struct audit *a, const char *key, const void *value, size_t n);
void audit_int(struct audit *a, const char *key, int64_t v);
void audit_uint(struct audit *a, const char *key, uint64_t v);
void audit_bool(struct audit *a, const char *key, bool v);
void audit_null(struct audit *a, const char *key);
/** A number with a fixed number of decimals, e.g. seconds with 6: 1.250000 */
void audit_fixed(struct audit *a, const char *key, uint64_t value, unsigned decimals);
void audit_object_begin(struct audit *a, const char *key);
void audit_object_end(struct audit *a);
void audit_array_begin(struct audit *a, const char *key);
void audit_array_end(struct audit *a);
/**
 * Completes the event with "prev", writes it with one write() (retrying only a short write),
 * and advances the chain. Returns 0, or the first error since audit_begin() as -errno; after a
 * write error every later event fails too.
 */
int audit_end(struct audit *a);

/**
 * Sets the line guard: before each line is written, mid_line(userdata) is asked whether the
 * stream the trail goes to ends in the middle of a line someone else wrote there (the skill's
 * output relayed to the same stream: --audit -); if so, the write begins with a newline, so
 * that the trail's line starts a line of its own. The newline is not part of the line (nor of
 * its hash). NULL removes the guard.
 */
void audit_set_line_guard(struct audit *a, bool (*mid_line)(void *userdata), void *userdata);

/**
 * A check every finished line passes before it is written (the run's trail budget): len is
 * the line's size, newline included. When it returns false the line is dropped: audit_end()
 * returns -ENOSPC and seq does not advance.
 */
typedef bool (*audit_line_check_t)(void *userdata, size_t len);
void audit_set_line_check(struct audit *a, audit_line_check_t check, void *userdata);

/** The seq the next event will carry. */
uint64_t audit_next_seq(const struct audit *a);
/** The hex SHA-256 of the last line written (or of the run id before the first line). */
const char *audit_head(const struct audit *a);
const char *audit_run_id(const struct audit *a);

/* Why audit_open_file() refused a path. */
enum audit_file_reason {
	AUDIT_FILE_OK,
	AUDIT_FILE_SYMLINK,	/* the path is a symbolic link */
	AUDIT_FILE_NOT_REGULAR, /* a FIFO, device, socket, directory: mode says which */
	AUDIT_FILE_NOT_OWNED,	/* owned by uid, not by the caller */
	AUDIT_FILE_SHARED,	/* writable by group or others: mode */
	AUDIT_FILE_REPLACED,	/* the path changed while it was being opened */
};

struct audit_file_refusal {
	enum audit_file_reason reason;
	mode_t mode;
	uid_t uid;
};

/**
 * Opens path for appending a trail (O_APPEND|O_CLOEXEC), creating it with mode 0600 when it
 * does not exist. Refuses, without blocking and without following a symbolic link, anything
 * but a regular file owned by owner that neither group nor others may write; *why then says
 * what was found (-ELOOP, -EPERM, -EAGAIN; other -errno from the system calls).
 */
int audit_open_file(const char *path, uid_t owner, int *ret_fd, struct audit_file_refusal *why);
/** "regular file", "FIFO", "character device", ... for a st_mode. */
const char *audit_file_type_name(mode_t mode);

/** Writes a new random (v4) UUID into buf, which needs AUDIT_RUN_ID_LEN + 1 bytes. */
int audit_make_run_id(char *buf);
/** Formats microseconds since the epoch as RFC 3339 UTC with 6 decimals; 28 bytes needed. */
void audit_format_ts(char *buf, size_t size, uint64_t usec);
/** Hex SHA-256 of data into hex (AUDIT_HASH_HEX_LEN + 1 bytes). */
void audit_sha256_hex(const void *data, size_t len, char *hex);

/* Lines first..last (1-based, inclusive). */
struct audit_line_range {
	uint64_t first, last;
};

/* How many ranges of foreign lines a result names (the count covers them all). */
#define AUDIT_FOREIGN_RANGES 16

struct audit_verify_result {
	uint64_t lines;	   /* lines of a run's chain found good (before the break) */
	uint64_t runs;	   /* runs that begin in the file */
	uint64_t bad_line; /* 1-based line of the first break; 0 when intact */
	char reason[256];  /* what is wrong with bad_line */
	char head[AUDIT_HASH_HEX_LEN + 1]; /* hash of the last good line */

	/*
	 * Foreign lines: no run's chain holds them. In a stream the trail shares with the skill's
	 * output (run.start "trail": "shared"), that is what the skill wrote, and they are reported
	 * apart; in a trail of its own, the first one is the break.
	 */
	bool shared;	  /* a run says its trail shares a stream with the skill's output */
	uint64_t foreign; /* foreign lines */
	uint64_t foreign_claiming; /* of them, audit lines naming a run that begins in the file */
	struct audit_line_range foreign_ranges[AUDIT_FOREIGN_RANGES]; /* the first ones */
	size_t n_foreign_ranges;
	bool foreign_ranges_cut; /* there were more ranges than foreign_ranges holds */
};

/**
 * Verifies a whole audit file held in memory: well-formed lines, the common fields in order,
 * each run's seq and prev chain from its run.start to its run.summary, and a final newline.
 * Runs may be interleaved; a line that fits no run's chain is foreign. Returns 0 when every
 * run that begins in the file is complete and intact, and there are no foreign lines or a run
 * shared its stream with the skill's output; -EBADMSG when broken (res says where and why).
 */
int audit_verify(const char *data, size_t len, struct audit_verify_result *res);
/** Like audit_verify(), and calls foreign(line, userdata) for each foreign line, in order. */
int audit_verify_lines(const char *data, size_t len, struct audit_verify_result *res,
		       void (*foreign)(uint64_t line, void *userdata), void *userdata);
