/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "fd-util.h"
#include "macros.h"
#include "parse-util.h"
#include "run-limits.h"

/* A default is never above what the caller itself may use: it could not be set. */
static uint64_t clamp_hard(int resource, uint64_t v)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    (uint64_t)rl.rlim_max < v)
		return (uint64_t)rl.rlim_max;
	return v;
}

int run_limits_prepare(const struct manifest_limits *m, bool create, bool host_namespaces,
		       const char *run_id, struct run_limits *ret)
{
	struct run_limits l = {
		.cpu_usec = m->cpu_usec,
		.memory = m->memory,
		.file_size = m->file_size,
		.processes = m->processes,
		.open_files = m->open_files,
		.open_files_hard = m->open_files,
		.host_namespaces = host_namespaces,
		.cgroup_mount_fd = -1,
	};
	struct cgroup_state st = { 0 };
	struct cgroup_decision d;
	int k;

	if (l.processes == MANIFEST_UNSET) {
		l.processes = clamp_hard(RLIMIT_NPROC, DEFAULT_LIMIT_PROCESSES);
		l.processes_default = true;
	}
	if (l.open_files == MANIFEST_UNSET) {
		l.open_files_hard = clamp_hard(RLIMIT_NOFILE, DEFAULT_LIMIT_OPEN_FILES_HARD);
		l.open_files = MIN((uint64_t)DEFAULT_LIMIT_OPEN_FILES, l.open_files_hard);
		l.open_files_default = true;
	}

	if (l.memory == MANIFEST_UNSET) {
		*ret = l;
		return 0;
	}
	l.memory_by = MEMORY_BY_RLIMITS;
	if (host_namespaces) {
		l.cgroup_why_not = "--isolation landlock: the sandbox has no cgroup of its own";
		*ret = l;
		return 0;
	}
	k = cgroup_probe(&l.cgroup_mount_fd, &st);
	if (k < 0)
		return k;
	cgroup_decide(&st, &d);
	l.cgroup_way = d.way;
	l.cgroup_why_not = d.why_not;
	if (st.own) {
		l.cgroup_own = strdup(st.own);
		if (!l.cgroup_own) {
			cgroup_state_done(&st);
			safe_close(l.cgroup_mount_fd);
			return -ENOMEM;
		}
	}
	if (d.way != CGROUP_NONE && !create) {
		l.memory_by = MEMORY_BY_CGROUP;
	} else if (d.way != CGROUP_NONE) {
		k = cgroup_run_create(l.cgroup_mount_fd, &st, d.way, run_id, getpid(), l.memory,
				      l.processes, &l.cgroup, &l.cgroup_error);
		if (k >= 0)
			l.memory_by = MEMORY_BY_CGROUP;
		else if (!l.cgroup_error)
			l.cgroup_error = strdup(strerror(-k));
	}
	cgroup_state_done(&st);
	*ret = l;
	return 0;
}

void run_limits_done(struct run_limits *l)
{
	_cleanup_free_ char *error = NULL;

	if (cgroup_run_destroy(l->cgroup, &error) < 0 && error)
		log_error("%s", error);
	l->cgroup = NULL;
	l->cgroup_mount_fd = safe_close(l->cgroup_mount_fd);
	free(l->cgroup_error);
	free(l->cgroup_own);
	*l = (struct run_limits){ .cgroup_mount_fd = -1 };
}

static void add_rlimit(struct sandbox_spec *s, int resource, uint64_t soft, uint64_t hard)
{
	if (s->n_rlimits >= SANDBOX_MAX_RLIMITS)
		return;
	s->rlimits[s->n_rlimits++] = (struct sandbox_rlimit){
		.resource = resource,
		.limit = { .rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard },
	};
}

/* Lowers a limit to at most v, keeping soft <= hard; never raises what the caller has. */
static void add_rlimit_at_most(struct sandbox_spec *s, int resource, uint64_t v)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	(void)getrlimit(resource, &rl);
	add_rlimit(s, resource, MIN((uint64_t)rl.rlim_cur, v), MIN((uint64_t)rl.rlim_max, v));
}

void run_limits_rlimits(const struct run_limits *l, struct sandbox_spec *s)
{
	/* A core dump would copy the skill's memory (secrets included) into a file. */
	add_rlimit(s, RLIMIT_CORE, 0, 0);
	if (l->cpu_usec != MANIFEST_UNSET) {
		/* SIGXCPU at the limit, SIGKILL a second later if it is ignored. */
		uint64_t sec = (l->cpu_usec + USEC_PER_SEC - 1) / USEC_PER_SEC;

		add_rlimit(s, RLIMIT_CPU, sec, sec + 1);
	}
	if (l->memory != MANIFEST_UNSET) {
		add_rlimit(s, RLIMIT_DATA, l->memory, l->memory);
		/* The stack is not data: RLIMIT_STACK bounds it (and the skill cannot raise it). */
		add_rlimit_at_most(s, RLIMIT_STACK, l->memory);
		/* POSIX message queues are kernel memory of the sandbox user's. */
		add_rlimit_at_most(s, RLIMIT_MSGQUEUE, l->memory);
	}
	add_rlimit(s, RLIMIT_NPROC, l->processes, l->processes);
	add_rlimit(s, RLIMIT_NOFILE, l->open_files, l->open_files_hard);
	if (l->file_size != MANIFEST_UNSET)
		add_rlimit(s, RLIMIT_FSIZE, l->file_size, l->file_size);
}

bool run_limits_limit_shared_memory(const struct run_limits *l)
{
	return l->memory_by == MEMORY_BY_RLIMITS;
}

uint64_t run_limits_cpu_interval(uint64_t cpu_usec)
{
	return MIN(MAX(cpu_usec / 10, 100 * USEC_PER_MSEC), USEC_PER_SEC);
}

static const char *memory_by_name(enum memory_by m)
{
	switch (m) {
	case MEMORY_BY_CGROUP:
		return "cgroup";
	case MEMORY_BY_RLIMITS:
		return "rlimits";
	case MEMORY_BY_NONE:
		break;
	}
	return "none";
}

static void audit_limit(struct audit *a, const char *key, uint64_t v, bool duration)
{
	char buf[32];

	if (v == MANIFEST_UNSET)
		audit_null(a, key);
	else if (duration)
		audit_str(a, key, format_duration(buf, sizeof(buf), v));
	else
		audit_uint(a, key, v);
}

void run_limits_audit(const struct run_limits *l, uint64_t timeout, uint64_t output,
		      uint64_t tmpfs_total, struct audit *a)
{
	char buf[32];

	audit_limit(a, "timeout", timeout, true);
	audit_limit(a, "cpu", l->cpu_usec, true);
	audit_limit(a, "memory", l->memory, false);
	audit_limit(a, "processes", l->processes, false);
	audit_limit(a, "open_files", l->open_files, false);
	audit_limit(a, "file_size", l->file_size, false);
	audit_limit(a, "output", output, false);
	audit_array_begin(a, "defaults");
	if (l->processes_default)
		audit_str(a, NULL, "processes");
	if (l->open_files_default)
		audit_str(a, NULL, "open_files");
	audit_array_end(a);
	audit_uint(a, "open_files_hard", l->open_files_hard);
	if (l->cpu_usec != MANIFEST_UNSET)
		audit_str(a, "cpu_sandbox_interval",
			  format_duration(buf, sizeof(buf), run_limits_cpu_interval(l->cpu_usec)));
	audit_str(a, "memory_by", memory_by_name(l->memory_by));
	audit_str(a, "memory_rlimit", "RLIMIT_DATA");
	if (l->memory_by == MEMORY_BY_CGROUP)
		audit_str(a, "cgroup", cgroup_run_path(l->cgroup));
	else
		audit_null(a, "cgroup");
	if (l->memory_by == MEMORY_BY_RLIMITS) {
		audit_str(a, "cgroup_unavailable",
			  l->cgroup_error ? l->cgroup_error : l->cgroup_why_not);
		audit_str(a, "shared_memory",
			  l->host_namespaces
				  ? "refused: shared anonymous and MAP_GROWSDOWN mappings, "
				    "memfd_create, shmget; /dev/zero not granted"
				  : "refused: shared anonymous and MAP_GROWSDOWN mappings, "
				    "memfd_create, shmget; /dev/zero cannot be mapped");
	}
	audit_uint(a, "tmpfs_total", tmpfs_total);
}

void run_limits_explain(const struct run_limits *l, uint64_t timeout, uint64_t output,
			uint64_t tmpfs_total, FILE *f)
{
	char a[32], b[32], c[32];

	fprintf(f, "limits (each from the file that sets the smallest):\n");
	if (timeout == MANIFEST_UNSET)
		fprintf(f, "  timeout     none\n");
	else
		fprintf(f, "  timeout     %s (whole process tree, exit 124)\n",
			format_duration(a, sizeof(a), timeout));
	if (l->cpu_usec == MANIFEST_UNSET)
		fprintf(f, "  cpu         none\n");
	else
		fprintf(f,
			"  cpu         %s: each process (RLIMIT_CPU), and the whole sandbox, read every "
			"%s (then killed, exit 152)\n",
			format_duration(a, sizeof(a), l->cpu_usec),
			format_duration(b, sizeof(b), run_limits_cpu_interval(l->cpu_usec)));
	if (l->memory_by == MEMORY_BY_NONE) {
		fprintf(f, "  memory      none\n");
	} else if (l->memory_by == MEMORY_BY_CGROUP) {
		fprintf(f,
			"  memory      %s for the whole sandbox, every kind of memory: a cgroup of "
			"its own below %s (memory.max, no swap)%s; RLIMIT_DATA per process too\n",
			format_size(a, sizeof(a), l->memory), l->cgroup_own ? l->cgroup_own : "?",
			l->cgroup_way == CGROUP_MOVE_SELF ? ", skillbox moving itself aside" : "");
	} else if (l->host_namespaces) {
		fprintf(f,
			"  memory      %s, held without a cgroup (%s): private memory %s per process "
			"(RLIMIT_DATA, RLIMIT_STACK); shared anonymous and MAP_GROWSDOWN mappings, "
			"memfd_create and shmget refused (seccomp); /dev/zero not granted. Files "
			"written to TMPDIR, HOME or a write path on a host tmpfs are host memory "
			"this does not count\n",
			format_size(a, sizeof(a), l->memory), l->cgroup_why_not,
			format_size(b, sizeof(b), l->memory));
	} else {
		fprintf(f,
			"  memory      %s, held without a cgroup (%s): private memory %s per process "
			"(RLIMIT_DATA, RLIMIT_STACK); every tmpfs together %s; shared anonymous and "
			"MAP_GROWSDOWN mappings, memfd_create and shmget refused (seccomp); /dev/zero "
			"cannot be mapped\n",
			format_size(a, sizeof(a), l->memory),
			l->cgroup_error ? l->cgroup_error : l->cgroup_why_not,
			format_size(b, sizeof(b), l->memory),
			format_size(c, sizeof(c), tmpfs_total));
	}
	fprintf(f, "  processes   %llu (%stasks, threads included; RLIMIT_NPROC%s)\n",
		(unsigned long long)l->processes, l->processes_default ? "default; " : "",
		l->host_namespaces ? ", which without a user namespace counts every process of "
				     "the skill's uid on the host"
				   : "");
	if (l->open_files == l->open_files_hard)
		fprintf(f, "  open_files  %llu (%sRLIMIT_NOFILE)\n",
			(unsigned long long)l->open_files,
			l->open_files_default ? "default; " : "");
	else
		fprintf(f,
			"  open_files  %llu, up to %llu for programs that raise it (%sRLIMIT_NOFILE)\n",
			(unsigned long long)l->open_files, (unsigned long long)l->open_files_hard,
			l->open_files_default ? "default; " : "");
	if (l->file_size == MANIFEST_UNSET)
		fprintf(f, "  file_size   none\n");
	else
		fprintf(f, "  file_size   %s (RLIMIT_FSIZE)\n",
			format_size(a, sizeof(a), l->file_size));
	if (output == MANIFEST_UNSET)
		fprintf(f, "  output      none\n");
	else
		fprintf(f, "  output      %s (everything the skill prints, then cut)\n",
			format_size(a, sizeof(a), output));
	if (l->host_namespaces)
		fprintf(f, "  tmpfs       none: /tmp and HOME are directories on the host's "
			   "filesystem, without a size limit\n");
	else
		fprintf(f,
			"  tmpfs       %s together (the sizes in the filesystem table; one inode "
			"per 4 KiB)\n",
			format_size(a, sizeof(a), tmpfs_total));
}
