/* SPDX-License-Identifier: MIT */
/* INTERIM: no filter. Replaced by the seccomp layer. */
#include <errno.h>

#include "layers.h"

int seccomp_policy_build(const struct manifest *m, unsigned trace, struct seccomp_policy **ret,
			 char **ret_error)
{
	*ret = NULL;
	return 0;
}

struct seccomp_policy *seccomp_policy_free(struct seccomp_policy *p)
{
	return NULL;
}

const struct sock_fprog *seccomp_policy_program(const struct seccomp_policy *p)
{
	return NULL;
}

unsigned seccomp_policy_filter_flags(const struct seccomp_policy *p)
{
	return 0;
}

bool seccomp_policy_has_listener(const struct seccomp_policy *p)
{
	return false;
}

void seccomp_policy_audit(const struct seccomp_policy *p, struct audit *a)
{
}

void seccomp_policy_explain(const struct seccomp_policy *p, FILE *f)
{
}

int seccomp_notify_handle(struct run *r)
{
	return 0;
}
