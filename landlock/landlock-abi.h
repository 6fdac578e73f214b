/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Landlock interface as far as skillbox uses it (ABI 1 to 7), under names of our own.
 *
 * Debian 12's <linux/landlock.h> (Linux 6.1) stops at ABI 2: no truncate, no TCP ports, no
 * scopes, and a struct landlock_ruleset_attr with one field. Debian 13's has more. Defining
 * the structs under the kernel's names would clash with whichever header is installed, so
 * this file never includes it and spells out the UAPI (include/uapi/linux/landlock.h) with a
 * LL_ prefix. The layouts are the kernel's ABI and cannot change: a newer field is only ever
 * appended, and the kernel takes the size we pass.
 */

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

/* landlock_create_ruleset() flags. */
#define LL_CREATE_RULESET_VERSION (1U << 0) /* ABI 1: returns the highest ABI */
#define LL_CREATE_RULESET_ERRATA  (1U << 1) /* ABI 7: returns the bitmask of fixed issues */

/* Rule types. */
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT     2 /* ABI 4 */

/* Filesystem access rights, and the ABI that introduced each. */
#define LL_FS_EXECUTE	  (1ULL << 0)  /* 1 */
#define LL_FS_WRITE_FILE  (1ULL << 1)  /* 1 */
#define LL_FS_READ_FILE	  (1ULL << 2)  /* 1 */
#define LL_FS_READ_DIR	  (1ULL << 3)  /* 1 */
#define LL_FS_REMOVE_DIR  (1ULL << 4)  /* 1 */
#define LL_FS_REMOVE_FILE (1ULL << 5)  /* 1 */
#define LL_FS_MAKE_CHAR	  (1ULL << 6)  /* 1 */
#define LL_FS_MAKE_DIR	  (1ULL << 7)  /* 1 */
#define LL_FS_MAKE_REG	  (1ULL << 8)  /* 1 */
#define LL_FS_MAKE_SOCK	  (1ULL << 9)  /* 1 */
#define LL_FS_MAKE_FIFO	  (1ULL << 10) /* 1 */
#define LL_FS_MAKE_BLOCK  (1ULL << 11) /* 1 */
#define LL_FS_MAKE_SYM	  (1ULL << 12) /* 1 */
#define LL_FS_REFER	  (1ULL << 13) /* 2 */
#define LL_FS_TRUNCATE	  (1ULL << 14) /* 3 */
#define LL_FS_IOCTL_DEV	  (1ULL << 15) /* 5 */

/* The rights a rule on something that is not a directory may carry. */
#define LL_FS_FILE_RIGHTS \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/* Network access rights (ABI 4). */
#define LL_NET_BIND_TCP	   (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)

/* Scopes (ABI 6): IPC the domain may not reach beyond itself. */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL		      (1ULL << 1)

/* landlock_restrict_self() flags (ABI 7): what the kernel's audit subsystem logs. */
#define LL_RESTRICT_SELF_LOG_SAME_EXEC_OFF  (1U << 0)
#define LL_RESTRICT_SELF_LOG_NEW_EXEC_ON    (1U << 1)
#define LL_RESTRICT_SELF_LOG_SUBDOMAINS_OFF (1U << 2)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

static inline int ll_create_ruleset(const struct ll_ruleset_attr *attr, size_t size, uint32_t flags)
{
	return (int)syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static inline int ll_add_rule(int ruleset_fd, int rule_type, const void *rule_attr, uint32_t flags)
{
	return (int)syscall(__NR_landlock_add_rule, ruleset_fd, rule_type, rule_attr, flags);
}

static inline int ll_restrict_self(int ruleset_fd, uint32_t flags)
{
	return (int)syscall(__NR_landlock_restrict_self, ruleset_fd, flags);
}
