/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Opt-in runtime tracing (audit.trace, --trace exec,files,connect). The filter sends the
 * traced syscalls to the parent's seccomp listener; run-seccomp.c hands each one here to
 * read its arguments (trace_collect()), answers it with SECCOMP_USER_NOTIF_FLAG_CONTINUE,
 * and has the event written (trace_emit()): proc.exec, file.open, file.change, net.connect.
 *
 * Tracing observes; it never decides. What the skill may do is enforced by the mounts, the
 * nftables ruleset and the seccomp filter, whatever an event says. The arguments are read
 * from the tracee's memory after the kernel stopped it and before it continues, but a thread
 * of the same process may change them in between, and the kernel acts on its own later copy:
 * an event is what the skill asked for as far as we could read it, not a proof of what the
 * kernel did.
 *
 * These events are evidence (event-sink.h): per distinct key (the event and its salient
 * fields) the first EVENT_EVIDENCE_PER_KEY are written while evidence has room in the trail's
 * budget; what is left out is counted exactly (event_sink_admit()).
 */

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "event-sink.h"
#include "mount-plan.h"

/* Bounds of a proc.exec argv: arguments, bytes per argument, bytes in all. */
#define TRACE_ARGV_MAX	 64
#define TRACE_ARG_MAX	 256
#define TRACE_ARGV_BYTES 4096

/*
 * What tracing needs of the run: where events go, the view a path is checked against, and
 * the sandbox's init (a parent that is init is pid 1 inside).
 */
struct trace_context {
	struct event_sink *sink;
	const struct mount_plan *plan; /* NULL: "declared" is unknown */
	pid_t init_pid;
};

/* --- one traced syscall --- */

enum trace_kind {
	TRACE_NONE,    /* nothing to report (e.g. sendto without a destination) */
	TRACE_EXEC,    /* proc.exec */
	TRACE_OPEN,    /* file.open */
	TRACE_CHANGE,  /* file.change */
	TRACE_CONNECT, /* net.connect */
};

struct trace_call {
	enum trace_kind kind;
	const char *syscall;
	pid_t host_tid; /* the notifying task, as the parent sees it */
	pid_t host_pid; /* its process (thread group) */
	pid_t pid;	/* its process inside the sandbox; 0 when unknown */
	pid_t ppid;	/* TRACE_EXEC: the parent inside the sandbox; 0 when unknown */
	char *given;	/* TRACE_EXEC: the path as passed */
	char *path;	/* absolute inside the sandbox; NULL when it could not be read */
	char *path2;	/* TRACE_CHANGE: rename/link: the new path; symlink: the target */
	const char *op; /* TRACE_CHANGE: unlink, rmdir, rename, link, symlink, mkdir, ... */
	int flags;	/* TRACE_OPEN: the open flags */
	char **argv;	/* TRACE_EXEC */
	bool argv_truncated;
	int fd;		    /* TRACE_CONNECT */
	int family;	    /* TRACE_CONNECT: AF_*, -1 when the address could not be read */
	char *address;	    /* TRACE_CONNECT: IP address or unix socket path ("@name": abstract) */
	size_t address_len; /* its length: an abstract name may hold NUL bytes */
	bool abstract;	    /* TRACE_CONNECT: an abstract unix address */
	int port;	    /* TRACE_CONNECT: -1 when none */
	int sock_type;	    /* TRACE_CONNECT: SO_TYPE, -1 when unknown */
	int sock_proto;	    /* TRACE_CONNECT: SO_PROTOCOL, -1 when unknown */
	char *error;	    /* what could not be read, or NULL */
	int exists;	    /* TRACE_OPEN: the path exists in the view before the call: 1, 0, or -1
			       when unknown */
	int fails;	    /* a failure the call cannot escape, seen in the view before it ran:
			       its errno (ENOENT, EACCES, EROFS, EEXIST, ...), or 0 */
	bool unsure;	    /* a path was resolved by text where the kernel may reach another */
};

/**
 * True for well-known credential and secret locations (~/.ssh, ~/.aws, .env files, another
 * process's environ, ...), which file.open flags so a reviewer sees credential hunting even
 * where the view makes it harmless (an empty HOME, a missing file).
 */
bool trace_path_is_sensitive(const char *path);

/**
 * Reads what a traced syscall's arguments point to (bounded, from the tracee's memory and
 * /proc) into ret. Call it before answering the notification, then check
 * SECCOMP_IOCTL_NOTIF_ID_VALID before using ret: the task may have died and its pid be
 * someone else's. Never fails: what could not be read is NULL, with ret->error saying why.
 */
void trace_collect(const struct trace_context *t, const struct seccomp_notif *req, const char *name,
		   struct trace_call *ret);
/**
 * Writes the call's event (unless the sink counts it instead) and counts a file access the
 * view does not declare as a refusal for run.summary.
 */
void trace_emit(const struct trace_context *t, const struct trace_call *c);
void trace_call_done(struct trace_call *c);

/* --- reading a stopped task's memory, for the other handlers of notifications --- */

/** A path argument (at most PATH_MAX - 1 bytes) of task tid at addr; 0 or -errno. */
int trace_read_path(pid_t tid, uint64_t addr, char **ret);
/** Exactly len bytes of task tid at addr; 0 or -errno (-EFAULT when fewer could be read). */
int trace_read_mem(pid_t tid, uint64_t addr, void *buf, size_t len);

/* --- pure helpers, exposed for the unit tests --- */

/** "read", "write", "read-write" or "path" (O_PATH), from open flags. */
const char *trace_open_access(int flags);
/** Resolves path against base (an absolute directory) lexically; 0 or -errno. */
int trace_resolve(const char *base, const char *path, char **ret);
