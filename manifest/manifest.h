/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Manifest v1: the YAML file that declares the world a skill runs in.
 *
 * This folder parses and validates; it makes no system call (the caller reads the file and
 * passes the bytes). Every value that came from the file carries the line and column of the
 * YAML node that declared it, so later layers can name the manifest line when something fails
 * at run time (a missing mount source, a host that does not resolve).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macros.h"

#define MANIFEST_SCHEMA_VERSION 1
#define MANIFEST_FILENAME	"skillbox.yaml"
/* Larger files are refused before parsing. */
#define MANIFEST_MAX_SIZE (1024 * 1024)
/* Deeper YAML nesting is refused (the schema itself needs 4 levels). */
#define MANIFEST_MAX_DEPTH 16
/* A limit that the manifest does not set. */
#define MANIFEST_UNSET UINT64_MAX
/* audit.budget: the smallest byte budget (the policy events and a run's end must fit), and the
   most keys (each costs the supervisor about 100 bytes of memory). */
#define MANIFEST_AUDIT_BYTES_MIN (1024 * 1024)
#define MANIFEST_AUDIT_KEYS_MAX	 (1024 * 1024)

/*
 * 1-based position of a YAML node; line 0 means "the file as a whole" (or, for a command-line
 * grant, the command line). file names the file that declared it: the manifest itself, an
 * included profile or partial manifest, or MANIFEST_COMMAND_LINE. It points into the manifest's
 * own list of files (struct manifest_file), or into the diagnostic that carries it; NULL when
 * unknown.
 */
struct manifest_loc {
	unsigned line;
	unsigned column;
	const char *file;
};

/* The "file" of grants given on skillbox run's command line (--read, --write, ...). */
#define MANIFEST_COMMAND_LINE "command line"

/* Includes nest at most this deep (the manifest itself is depth 0). */
#define MANIFEST_MAX_INCLUDE_DEPTH 8
/* At most this many files make up one manifest (itself and everything it includes). */
#define MANIFEST_MAX_FILES 64

/* A bind mount: filesystem.read / filesystem.write entries, "host[:inside]". */
struct manifest_mount {
	char *host;    /* absolute and lexically normalized; "~" expanded, relative to dir */
	char *inside;  /* absolute and normalized; equals host when not given */
	bool optional; /* "optional: true": skipped when the host path does not exist */
	struct manifest_loc loc;
};

struct manifest_tmpfs {
	char *path;    /* absolute and normalized, inside the sandbox */
	uint64_t size; /* bytes; 0 when the manifest gives none (the launcher's default applies) */
	struct manifest_loc loc;
};

struct manifest_hide {
	char *path; /* absolute and normalized, inside the sandbox, below a read or write path */
	struct manifest_loc loc;
};

enum manifest_proto {
	MANIFEST_PROTO_TCP,
	MANIFEST_PROTO_UDP,
};

enum manifest_dest_kind {
	MANIFEST_DEST_HOSTNAME,	     /* "host: name": resolved by skillbox at launch (A and AAAA) */
	MANIFEST_DEST_ADDRESS,	     /* "host: 192.0.2.1" / "host: 2001:db8::1" / "cidr: ..." */
	MANIFEST_DEST_HOST_LOOPBACK, /* "host: host-loopback": the host's loopback via the stack */
};

struct manifest_cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; host bits are zero */
	uint8_t prefix;	  /* 0..32 or 0..128; a plain address has the full length */
};

struct manifest_egress {
	enum manifest_dest_kind kind;
	char *host; /* hostname, literal or CIDR text, or "host-loopback" as written */
	struct manifest_cidr cidr; /* MANIFEST_DEST_ADDRESS only */
	uint16_t *ports;	   /* sorted, unique, at least one, each 1..65535 */
	size_t n_ports;
	enum manifest_proto proto; /* tcp when not given */
	bool optional;		   /* a hostname that does not resolve is skipped, not fatal */
	struct manifest_loc loc;
};

enum manifest_dns {
	MANIFEST_DNS_PINNED,   /* default: no resolver reachable, declared names in /etc/hosts */
	MANIFEST_DNS_RESOLVER, /* the user-mode stack's resolver is reachable, queries audited */
};

struct manifest_env_var {
	char *name;
	char *value;
	struct manifest_loc loc;
};

struct manifest_env_pass {
	char *name;
	struct manifest_loc loc;
};

struct manifest_secret {
	char *name;	 /* the variable the skill sees */
	char *from_env;	 /* caller's variable to read it from, or NULL */
	char *from_file; /* host file to read it from (absolute, normalized), or NULL */
	bool optional;	 /* absent source: the variable is not set (instead of failing) */
	struct manifest_loc loc;
};

enum manifest_profile {
	MANIFEST_PROFILE_DEFAULT,
	MANIFEST_PROFILE_STRICT,
};

struct manifest_syscall {
	char *name;
	int nr; /* native number from libseccomp's table */
	struct manifest_loc loc;
};

enum {
	MANIFEST_TRACE_EXEC = 1u << 0,
	MANIFEST_TRACE_FILES = 1u << 1,
	MANIFEST_TRACE_CONNECT = 1u << 2,
};

struct manifest_limits {
	uint64_t timeout_usec; /* wall clock of the whole run */
	uint64_t cpu_usec;     /* RLIMIT_CPU (rounded up to seconds when applied) */
	uint64_t memory;       /* bytes, RLIMIT_DATA */
	uint64_t processes;    /* RLIMIT_NPROC */
	uint64_t open_files;   /* RLIMIT_NOFILE */
	uint64_t file_size;    /* bytes, RLIMIT_FSIZE */
	uint64_t output;       /* bytes of stdout+stderr passed through */
	/* Where each was declared; line 0 when unset. Same order as the fields above. */
	struct manifest_loc timeout_loc, cpu_loc, memory_loc, processes_loc, open_files_loc,
		file_size_loc, output_loc;
};

/* One file that makes up a manifest: the manifest itself first, then what it includes. */
struct manifest_file {
	char *path;	/* as given (the manifest), or absolute (included files); or
			   MANIFEST_COMMAND_LINE */
	char *digest;	/* what the include loader said about its content (a SHA-256), or NULL */
	char *profile;	/* the profile name it was included by, or NULL for a path */
	unsigned depth; /* 0 for the manifest itself */
};

struct manifest {
	char *path; /* as given to the parser, for messages */
	char *dir;  /* absolute directory that relative host paths resolve against */
	unsigned schema;
	char *name;
	char *version;	   /* NULL when absent */
	char *description; /* NULL when absent */
	char **command;	   /* strv; at least one element, or NULL: `run DIR -- PROGRAM ARGS` */
	struct manifest_loc command_loc;
	bool command_is_string; /* written as one string rather than a list */
	char *workdir;		/* NULL when absent (the launcher's default applies) */
	struct manifest_loc workdir_loc;

	struct {
		struct manifest_mount *read;
		size_t n_read;
		struct manifest_mount *write;
		size_t n_write;
		struct manifest_tmpfs *tmpfs;
		size_t n_tmpfs;
		struct manifest_hide *hide;
		size_t n_hide;
	} fs;

	struct {
		struct manifest_egress *egress;
		size_t n_egress;
		enum manifest_dns dns;
		struct manifest_loc dns_loc;
	} net;

	struct {
		struct manifest_env_pass *pass;
		size_t n_pass;
		struct manifest_env_var *set;
		size_t n_set;
		struct manifest_secret *secrets;
		size_t n_secrets;
	} env;

	struct manifest_limits limits;

	struct {
		enum manifest_profile profile;
		struct manifest_loc profile_loc; /* line 0 when not given */
		struct manifest_syscall *allow;
		size_t n_allow;
		struct manifest_syscall *deny;
		size_t n_deny;
	} syscalls;

	struct {
		unsigned trace;	       /* MANIFEST_TRACE_* bits */
		uint64_t budget_bytes; /* audit.budget.bytes; MANIFEST_UNSET: the default */
		uint64_t budget_keys;  /* audit.budget.keys; MANIFEST_UNSET: the default */
		bool overflow_count;   /* audit.overflow: count (default stop) */
		struct manifest_loc budget_loc, overflow_loc;
	} audit;

	/* The files this manifest was read from: [0] is the manifest itself. */
	struct manifest_file *files;
	size_t n_files;
};

/* One problem found in a manifest. */
struct manifest_diag {
	struct manifest_loc loc; /* loc.file is file */
	char *message;		 /* "expected ..." style, without the file name or position */
	char *file;		 /* the file it is in (owned), or NULL for the manifest itself */
};

struct manifest_diags {
	struct manifest_diag *items;
	size_t n;
};

/* A file an include: entry names, as the caller's loader read it. */
struct manifest_include {
	char *path;   /* for messages and origins: absolute */
	char *dir;    /* absolute, normalized directory for its relative host paths */
	char *id;     /* identity for cycles and repeats (e.g. "dev:inode"); NULL: path */
	char *digest; /* kept in struct manifest_file, e.g. its SHA-256; may be NULL */
	char *data;
	size_t len;
};

/**
 * Reads the file an include: entry names. ref is a profile name (profile true) or an absolute,
 * normalized path (relative entries already resolved against the including file's directory).
 * Returns 0 and fills ret (the parser owns what it holds), or -errno with ret left empty and
 * a short reason in *ret_problem ("no such profile", ...; static text), which becomes a
 * problem at the entry (-ENOMEM stops the parse).
 */
typedef int (*manifest_include_fn)(const char *ref, bool profile, void *userdata,
				   struct manifest_include *ret, const char **ret_problem);

struct manifest_parse_opts {
	const char *path; /* file name used in manifest->path (messages are formatted by callers) */
	const char *dir;  /* absolute, normalized directory for relative host paths */
	const char *home; /* the caller's HOME for "~" expansion; NULL makes "~" an error */
	const char *id;	  /* the file's identity for include cycles (as the loader gives); or
			     NULL */
	/* Reads included files; NULL makes every include: entry an error. */
	manifest_include_fn include;
	void *userdata;
	/* Read the file as one that is included (a profile): no key is required. */
	bool partial;
};

/**
 * Parses and validates a manifest held in memory. On success returns 0 and the manifest in
 * *ret. When the manifest is invalid returns -EINVAL and appends every problem found, in file
 * order, to diags (the caller owns diags and frees it with manifest_diags_done()). Returns
 * -ENOMEM when memory runs out.
 */
int manifest_parse(const char *data, size_t len, const struct manifest_parse_opts *opts,
		   struct manifest **ret, struct manifest_diags *diags);

/** Frees a manifest; takes NULL; returns NULL. */
struct manifest *manifest_free(struct manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct manifest *, manifest_free)
#define _cleanup_manifest_free_ _cleanup_(manifest_freep)

void manifest_diags_done(struct manifest_diags *d);

/*
 * Grants for one run, from skillbox run's command line. They are validated like manifest
 * entries and merged on top of the manifest like a file it includes, except that they win:
 * a grant replaces the manifest's mount at the same inside path and its variable of the same
 * name. Their origin is MANIFEST_COMMAND_LINE.
 */
struct manifest_grants {
	char **read;   /* --read SRC[:DST] */
	char **write;  /* --write SRC[:DST] */
	char **env;    /* --env NAME */
	char **secret; /* --secret NAME[=ENVVAR] */
	char **allow;  /* --allow HOST:PORT[/PROTO] */
	/* A relative SRC resolves against cwd; without DST it appears at the same relative place
	   below the sandbox's working directory (the manifest's workdir, else default_workdir),
	   an absolute SRC at its own path. */
	const char *cwd;
	const char *home;
	const char *default_workdir;
};

/**
 * Merges grants into m. Returns 0; -EINVAL after appending every problem to diags (each with
 * loc.line 0, file MANIFEST_COMMAND_LINE, and a message that starts with the option); or
 * -ENOMEM. After a failure m is only fit to be freed.
 */
int manifest_add_grants(struct manifest *m, const struct manifest_grants *g,
			struct manifest_diags *diags);
/** True when g holds no grant at all. */
bool manifest_grants_empty(const struct manifest_grants *g);

/**
 * Where a value came from, for messages and events: "FILE:LINE:COLUMN" ("FILE:LINE" without
 * the column when columns is false), the file alone when line is 0, and fallback (the
 * manifest's path) when loc has no file. Returns buf.
 */
const char *manifest_loc_format(struct manifest_loc loc, const char *fallback, bool columns,
				char *buf, size_t size);
#define MANIFEST_LOC_MAX 4200

/** A profile name: [a-z0-9][a-z0-9_-]{0,63} (no dots, no slashes). */
bool manifest_profile_name_is_valid(const char *s);

/* A manifest's text with lines added (manifest_add_egress()). */
struct manifest_edit {
	char *text; /* the whole new text, NUL-terminated; the caller frees it */
	size_t len;
	unsigned line;	  /* 1-based line where the added lines start */
	unsigned n_lines; /* how many lines were added */
};

/**
 * Adds one entry to network.egress in a manifest's text, as text: comments, order and layout
 * stay, the entry takes the file's indentation, and network: and egress: are added when
 * missing. entry is the entry's lines without indentation ("host: api.example.com",
 * "ports: [443]"); comment, when not NULL, is put above it as "# comment". Returns 0, -EINVAL
 * when the text does not parse as YAML or network or egress is written in flow style (the
 * caller then shows the entry to add by hand), or -ENOMEM. The result is not validated: parse
 * it with manifest_parse().
 */
int manifest_add_egress(const char *data, size_t len, const char *const *entry, size_t n_entry,
			const char *comment, struct manifest_edit *ret);

/** The trace bit for "exec", "files" or "connect"; 0 for anything else. */
unsigned manifest_trace_from_string(const char *s);
const char *manifest_proto_to_string(enum manifest_proto p);
const char *manifest_profile_to_string(enum manifest_profile p);
const char *manifest_dns_to_string(enum manifest_dns d);
