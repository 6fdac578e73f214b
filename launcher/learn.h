/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * skillbox learn: drafting a manifest from one observed run.
 *
 * cmd-learn.c runs the command in a learning sandbox (the host's root read-only, the working
 * directory writable through a throwaway overlay, every TCP/UDP destination accepted and
 * logged, tracing of exec, files and connect on) with the audit trail in a memfd. What
 * follows is pure and lives in learn-gen.c: learn_trail_read() gathers the observations from
 * the trail, and learn_generate() turns them into a v1 manifest by the rules written down
 * there. The host filesystem is only looked at through struct learn_host, so the rules can be
 * unit-tested against a made-up tree.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* What a path is on the host, without following a symbolic link at its end. */
enum learn_node {
	LEARN_NODE_MISSING,
	LEARN_NODE_FILE, /* anything that is neither a directory nor a symlink */
	LEARN_NODE_DIR,
	LEARN_NODE_SYMLINK,
};

/* The generator's only view of the host's filesystem. */
struct learn_host {
	enum learn_node (*lstat)(const char *path, void *userdata);
	/* The target of a symlink as stored (malloc'ed), or NULL when it cannot be read. */
	char *(*readlink)(const char *path, void *userdata);
	/* The program interpreter of an executable (a script's "#!" path, an ELF file's
	   PT_INTERP), malloc'ed, or NULL: the kernel opens it without a traced syscall. */
	char *(*interpreter)(const char *path, void *userdata);
	void *userdata;
};

/* A connection the ruleset let through, from its net.connect event (NFLOG). */
struct learn_conn {
	char *address; /* as the event has it (inet_ntop form) */
	uint16_t port;
	bool udp;
};

/* What the audit trail of the learning run shows. Lists are strv, in first-seen order. */
struct learn_trail {
	char **reads;		  /* opened for reading or O_PATH, unix sockets connected to */
	char **execs;		  /* executed (proc.exec, resolved) */
	char **writes;		  /* opened for writing or created, changed (unlink, rename, ...) */
	char **mkdirs;		  /* directories made (mkdir), apart: one that existed changed
				     nothing */
	struct learn_conn *conns; /* distinct; DNS to the stack's resolver left out */
	size_t n_conns;
	char **names;	    /* looked up through DNS */
	char **syscalls;    /* refused by the seccomp profile */
	char **unlearnable; /* connections no manifest can declare ("icmp 192.0.2.1") */
	size_t n_pids;	    /* distinct pids of proc.exec events */
	uint64_t lost;	    /* events flood control or the log held back */
	bool has_exit;	    /* the trail has its run.exit event */
};

/**
 * Reads an audit trail (JSON lines) into ret. Lines that are not JSON objects are skipped.
 * Returns 0 or -ENOMEM.
 */
int learn_trail_read(const char *data, size_t len, struct learn_trail *ret);
void learn_trail_done(struct learn_trail *t);

/* A name the command looked up, with the addresses it has now (resolved by the caller). */
struct learn_resolved {
	const char *name;
	char **addresses; /* strv, inet_ntop form */
};

/* What the run measured (struct run_outcome, and the trail's pid count). */
struct learn_measure {
	uint64_t wall_usec;
	uint64_t cpu_usec;
	uint64_t max_rss_bytes;
	uint64_t max_data_bytes; /* the largest VmData of any process: what RLIMIT_DATA counts
				    (thread stacks included), 0 when unknown */
	uint64_t output_bytes;
	uint64_t processes; /* the most tasks alive at once, threads included (RLIMIT_NPROC
			       counts threads), or the processes seen executing */
};

/* The limits written into the manifest: measured values with headroom, rounded up. */
struct learn_limits {
	uint64_t timeout_usec; /* max(10s, 3 x wall), whole seconds */
	uint64_t cpu_usec;     /* max(5s, 3 x cpu), whole seconds */
	uint64_t memory;       /* max(64M, 4 x max RSS, 2 x max VmData), whole MiB */
	uint64_t processes;    /* max(16, 4 x tasks) */
	uint64_t open_files;   /* 256 */
	uint64_t output;       /* max(1M, 4 x output), whole MiB */
};

void learn_limits_compute(const struct learn_measure *m, struct learn_limits *ret);

/* A profile the draft may include instead of listing paths: the host paths it binds. */
struct learn_profile {
	const char *name;
	char **reads; /* strv of host paths, what it includes merged in */
};

struct learn_input {
	char **argv;	     /* the command as given */
	const char *cwd;     /* the caller's working directory: absolute, normalized */
	const char *home;    /* the caller's HOME (never widened to), or NULL */
	const char *out_dir; /* directory the manifest is written to (host paths below it are
				written relative to it), or NULL for absolute paths */
	const struct learn_trail *trail;
	const struct learn_resolved *resolved;
	size_t n_resolved;
	struct learn_measure measure;
	int status;	       /* the command's exit status, as learn exits with it */
	time_t now;	       /* for the header */
	bool overlay_degraded; /* the directory was read-only during learning */
	const struct learn_profile *profiles; /* the profiles there are; NULL: list paths */
	size_t n_profiles;
};

/**
 * Read paths: every path read or executed (with the interpreters of what was executed),
 * resolved through its symbolic links (each link crossed is declared too, since it is
 * recreated inside, never followed), then grouped (see learn-gen.c).
 * Paths that do not exist on the host are left out. ret is a sorted strv of host paths with
 * no entry below another; cwd is always in it. With profiles, the profiles that provide the
 * programs run and the paths read are chosen first (ret_include, with a reason for each in
 * ret_why), and what they bind is left out of ret.
 */
int learn_read_paths(char **reads, char **execs, const char *cwd, const char *home,
		     const struct learn_host *h, const struct learn_profile *profiles,
		     size_t n_profiles, char ***ret, char ***ret_include, char ***ret_why);
/**
 * Write paths: for each path written, the deepest directory that exists on the host and
 * contains it. Those below cwd (or cwd itself) go to *ret, the others (which the read-only
 * host refused during learning) to *ret_elsewhere; defaults (/tmp, HOME) to neither. A
 * directory made that exists on the host was there before (learn never writes to the host)
 * and changed nothing; Python's __pycache__ is left out (the draft tells Python not to write
 * it).
 */
int learn_write_paths(char **writes, char **mkdirs, const char *cwd, const struct learn_host *h,
		      char ***ret, char ***ret_elsewhere);
/**
 * Generates the manifest text. Returns 0 and a malloc'ed NUL-terminated YAML document, or
 * -ENOMEM. The caller validates it with manifest_parse() before writing it anywhere.
 */
int learn_generate(const struct learn_input *in, const struct learn_host *h, char **ret);
/** A manifest name from a directory's last component ("My Skill" → "my-skill"). */
char *learn_name_from_dir(const char *dir);
