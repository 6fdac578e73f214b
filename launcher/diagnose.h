/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Turning a refusal by the kernel into its cause and its fix, for the failures that depend on
 * where skillbox runs (a container runtime's seccomp profile, masked /proc, sysctls, LSMs).
 * Each returns one line the launcher prints as it is ("namespaces: ...: cause. Fix: ..."), or
 * NULL when out of memory. They read /proc and sysctls, so they are called only after the
 * failure, never on the launch path.
 */

/** clone() of the sandbox's namespaces failed with errno err. */
char *namespaces_describe_failure(int err);

/**
 * A fresh proc could not be mounted in the sandbox (errno err): names the mount that hides
 * part of the caller's /proc, when there is one, and the runtime option that unmasks it.
 */
char *proc_describe_failure(int err);

/**
 * The first mount in the sandbox failed with errno err although the namespaces exist: an LSM
 * (AppArmor's restriction of unprivileged user namespaces) or a seccomp profile. NULL when
 * neither explains it.
 */
char *mounts_describe_denial(int err);
