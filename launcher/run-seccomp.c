/* SPDX-License-Identifier: MIT */
/*
 * The seccomp layer of a run, on top of seccomp/: the manifest's syscalls section and the
 * traced kinds become the plain description seccomp/ builds a filter from.
 */
#include <errno.h>
#include <stdlib.h>

#include "macros.h"
#include "run-seccomp.h"

static unsigned trace_bits(unsigned manifest_trace)
{
	return (manifest_trace & MANIFEST_TRACE_EXEC ? SECCOMP_TRACE_EXEC : 0) |
	       (manifest_trace & MANIFEST_TRACE_FILES ? SECCOMP_TRACE_FILES : 0) |
	       (manifest_trace & MANIFEST_TRACE_CONNECT ? SECCOMP_TRACE_CONNECT : 0);
}

static void copy_names(const struct manifest_syscall *from, size_t n, struct seccomp_name *to)
{
	for (size_t i = 0; i < n; i++)
		to[i] = (struct seccomp_name){ .name = from[i].name,
					       .nr = from[i].nr,
					       .line = from[i].loc.line,
					       .column = from[i].loc.column };
}

int run_seccomp_build(const struct manifest *m, unsigned trace, struct seccomp_policy **ret,
		      char **ret_error)
{
	size_t n_allow = m->syscalls.n_allow, n_deny = m->syscalls.n_deny;
	_cleanup_free_ struct seccomp_name *names = NULL;
	struct seccomp_spec spec = {
		.profile = m->syscalls.profile == MANIFEST_PROFILE_STRICT ? SECCOMP_PROFILE_STRICT
									  : SECCOMP_PROFILE_DEFAULT,
		.trace = trace_bits(trace),
		.origin = m->path,
	};

	/* Most manifests adjust nothing: no allocation then. */
	if (n_allow + n_deny > 0) {
		names = calloc(n_allow + n_deny, sizeof(*names));
		if (!names)
			return -ENOMEM;
		copy_names(m->syscalls.allow, n_allow, names);
		copy_names(m->syscalls.deny, n_deny, names + n_allow);
		spec.allow = names;
		spec.n_allow = n_allow;
		spec.deny = names + n_allow;
		spec.n_deny = n_deny;
	}
	return seccomp_policy_build(&spec, ret, ret_error);
}
