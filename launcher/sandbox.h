/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sandbox side of a run. The parent prepares everything into a struct sandbox_spec,
 * clone()s into new namespaces, and the child runs sandbox_init_main() as pid 1 of the new
 * pid namespace: it builds the view, sets up the network namespace, forks the skill (pid 2),
 * and then only reaps and forwards signals. The skill process drops every privilege, loads
 * the seccomp filter and execs the command.
 *
 * With --isolation landlock there are no namespaces: init is an ordinary child of skillbox
 * and the subreaper of the skill's processes, and the skill restricts itself with Landlock
 * (sandbox_spec.landlock) instead of living in a view.
 *
 * Between clone() and execve() nothing prints; failures travel to the parent as
 * struct sandbox_msg {type = SB_MSG_FAIL, step, error, index}.
 */

#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <termios.h>

#include "mount-plan.h"

enum sandbox_msg_type {
	SB_MSG_GO = 1,	  /* parent → init: id maps written, go ahead */
	SB_MSG_FAIL,	  /* init or skill → parent: a setup step failed */
	SB_MSG_EXIT,	  /* init → parent: the skill's wait status (value) */
	SB_MSG_FDS,	  /* init → parent: descriptors (SCM_RIGHTS), index says which */
	SB_MSG_HELLO,	  /* skill → parent: carries its credentials (host pid) */
	SB_MSG_LISTENER,  /* skill → parent: seccomp listener fd number (value) to fetch */
	SB_MSG_ACK,	  /* parent → skill: listener fetched */
	SB_MSG_NET_READY, /* init → parent: rules are in, start the user-mode stack */
	SB_MSG_START,	  /* parent → init: the user-mode stack is up, start the skill */
	SB_MSG_DEGRADED,  /* init → parent: a step was done in a weaker way (step, error,
			     index: for SB_STEP_MOUNTS an overlay bound read-only instead; for
			     SB_STEP_HOSTNAME the hostname could not be set) */
	SB_MSG_PTY,	  /* init → parent: the pseudo-terminal's master (SCM_RIGHTS) */
};

enum sandbox_step {
	SB_STEP_SYNC = 1, /* talking to the parent */
	SB_STEP_MOUNTS,	  /* index = mount op, value = enum mount_step */
	SB_STEP_NETWORK,  /* index/value defined by the network layer */
	SB_STEP_HOSTNAME,
	SB_STEP_USERNS, /* forbidding nested user namespaces */
	SB_STEP_FORK,
	SB_STEP_SETSID,
	SB_STEP_STDIO, /* index: 0 /dev/null, 1 the pseudo-terminal, 2 standard streams */
	SB_STEP_WORKDIR,
	SB_STEP_RLIMIT, /* index = resource */
	SB_STEP_CAPS,
	SB_STEP_NO_NEW_PRIVS,
	SB_STEP_SECCOMP,
	SB_STEP_EXEC,	  /* error = errno of the last execve */
	SB_STEP_LANDLOCK, /* landlock: landlock_restrict_self() */
};

/*
 * --isolation landlock: init is not pid 1 of a namespace, so nothing ends the skill's
 * background processes for it. init is their subreaper instead and, when the skill exits,
 * when skillbox asks (timeout, failure) or when skillbox dies (its parent-death signal),
 * kills every process below it before it exits. skillbox sends this signal rather than
 * SIGKILL, which would leave them to the host's init.
 */
#define SANDBOX_SWEEP_SIGNAL SIGRTMAX

struct sandbox_msg {
	uint32_t type;
	uint32_t step;
	int32_t error; /* positive errno */
	int32_t index;
	int64_t value;
};

struct sandbox_rlimit {
	int resource;
	struct rlimit limit;
};

#define SANDBOX_MAX_RLIMITS 10

/* What the network layer runs inside init, with capabilities in the new user namespace. */
struct sandbox_net_hook {
	/* Runs first thing after the id maps, before the view is built: lets the parent start
	   the user-mode stack in parallel with the mounts. Same conventions as setup. */
	int (*early)(void *userdata, int sock, int32_t *index, int64_t *value);
	/* Returns 0 or -errno; on failure sets *index / *value for the parent's message. May
	   send descriptors to the parent over sock with SB_MSG_FDS. */
	int (*setup)(void *userdata, int sock, int32_t *index, int64_t *value);
	void *userdata;
	bool wait_start; /* wait for SB_MSG_START before starting the skill */
};

/* What each of the skill's descriptors 0, 1 and 2 is (launcher/streams.h). */
enum sandbox_stdio_kind {
	SB_STDIO_NULL, /* the sandbox's /dev/null */
	SB_STDIO_FD,   /* fd[i]: the skill's end of a pipe skillbox relays */
	SB_STDIO_PTY,  /* the slave of the pseudo-terminal init makes in the sandbox's devpts */
};

struct sandbox_stdio {
	enum sandbox_stdio_kind kind[3];
	int fd[3];		/* SB_STDIO_FD, else -1 */
	bool pty;		/* init makes a pseudo-terminal: some kind[] is SB_STDIO_PTY */
	struct termios termios; /* its modes */
	struct winsize winsize; /* its size (0x0: unknown) */
};

struct sandbox_spec {
	struct mount_plan *plan;
	char **argv;
	char **envp;
	const char *path;    /* PATH used to find argv[0] */
	const char *workdir; /* inside the sandbox */

	struct sandbox_rlimit rlimits[SANDBOX_MAX_RLIMITS];
	size_t n_rlimits;

	int sock_init;	/* init's end of the init socketpair */
	int sock_skill; /* the skill's end of the skill socketpair (EOF at execve) */
	struct sandbox_stdio stdio;

	struct sandbox_net_hook net;

	const struct sock_fprog *seccomp; /* NULL: no filter */
	unsigned seccomp_flags;		  /* SECCOMP_FILTER_FLAG_* */
	bool seccomp_listener;		  /* the filter has a user-notification listener */
	bool exec_traced; /* the listener gets execve(): the parent reads the skill's memory
			     while its first execve() waits (see skill_main()) */

	char **scrub_argv; /* the process's original argv, overwritten in init (cmdline) */
	int hold_fd;	   /* kept open by init (never by the skill) while it lives; -1 */

	/*
	 * --isolation landlock: no namespaces (the parent clones without them, already as the
	 * skill's uid when the caller is root). init builds no view and no network; the skill
	 * drops whatever capability is left and restricts itself with the ruleset after
	 * no_new_privs.
	 */
	struct {
		int ruleset_fd; /* -1: namespaces mode */
		/* The run's private directory: init removes it when skillbox died before it
		   could (skillbox removes it otherwise). */
		const char *private_dir;
	} landlock;
};

/** The body of the cloned child; never returns. */
_noreturn_ void sandbox_init_main(const struct sandbox_spec *spec);

const char *sandbox_step_to_string(enum sandbox_step s);
