/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "diagnose.h"
#include "fd-util.h"
#include "macros.h"

static const char landlock_fix[] =
	"or run without namespaces: skillbox run --isolation landlock (no pid, network or mount "
	"namespace; 'skillbox explain --isolation landlock' says what it enforces)";

/* A sysctl's value as a number; -1 when it does not exist or cannot be read. */
static long read_sysctl(const char *path)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	if (read_file_bounded(AT_FDCWD, path, 64, &data, &len) < 0)
		return -1;
	return strtol(data, NULL, 10);
}

/* The "Seccomp:" mode of this process: 2 when a filter (a container's profile) applies. */
static long seccomp_mode(void)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	const char *p;

	if (read_file_bounded(AT_FDCWD, "/proc/self/status", 64 * 1024, &data, &len) < 0)
		return -1;
	p = strstr(data, "\nSeccomp:");
	return p ? strtol(p + strlen("\nSeccomp:"), NULL, 10) : -1;
}

char *namespaces_describe_failure(int err)
{
	long max_userns = read_sysctl("/proc/sys/user/max_user_namespaces");
	long unpriv = read_sysctl("/proc/sys/kernel/unprivileged_userns_clone");
	long apparmor = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	struct buf b = BUF_INIT;

	buf_printf(&b,
		   "namespaces: creating the sandbox's user, mount, pid, network, ipc, uts and "
		   "cgroup namespaces: %s: ",
		   strerror(err));
	if (max_userns == 0)
		buf_puts(&b, "user namespaces are switched off (user.max_user_namespaces is 0). "
			     "Fix: sysctl -w user.max_user_namespaces=15000 on the host, ");
	else if (err == ENOSPC)
		buf_printf(&b,
			   "the limit of user namespaces is reached (user.max_user_namespaces is "
			   "%ld). Fix: raise it on the host, ",
			   max_userns);
	else if (err == EPERM && unpriv == 0 && geteuid() != 0)
		buf_puts(&b, "unprivileged user namespaces are switched off "
			     "(kernel.unprivileged_userns_clone is 0). Fix: sysctl -w "
			     "kernel.unprivileged_userns_clone=1 on the host, ");
	else if ((err == EPERM || err == ENOSYS) && seccomp_mode() == 2)
		buf_puts(&b, "this process runs under a seccomp filter that refuses namespace "
			     "flags: a container runtime's profile (Docker's default refuses them "
			     "without CAP_SYS_ADMIN). Fix: run the container with a profile that "
			     "allows them, such as podman's default (docker run --security-opt "
			     "seccomp=/usr/share/containers/seccomp.json), ");
	else if (err == EPERM && apparmor == 1)
		buf_puts(&b, "AppArmor restricts unprivileged user namespaces "
			     "(kernel.apparmor_restrict_unprivileged_userns is 1). Fix: install "
			     "skillbox's AppArmor profile, which allows them for skillbox, ");
	else if (err == EINVAL)
		buf_puts(&b, "this kernel lacks one of these namespaces (CONFIG_USER_NS, "
			     "CONFIG_PID_NS, CONFIG_NET_NS, ...). Fix: a kernel that has them, ");
	else if (err == EUSERS)
		buf_puts(&b, "user namespaces are nested 32 deep already. Fix: run skillbox "
			     "nearer the host, ");
	else
		buf_puts(&b, "the kernel or a security module refused them. Fix: allow user "
			     "namespaces for skillbox, ");
	buf_puts(&b, landlock_fix);
	return buf_steal(&b);
}

/*
 * The mounts of our mount namespace that sit inside /proc, which make the kernel refuse a
 * new proc in a user namespace (mount_too_revealing(): a proc may be mounted only where one
 * is already fully visible; only mounts on permanently empty directories such as
 * /proc/sys/fs/binfmt_misc do not count). Writes up to three into b.
 */
static unsigned list_proc_covers(struct buf *b)
{
	_cleanup_free_ char *data = NULL;
	unsigned n = 0;
	size_t len = 0;

	if (read_file_bounded(AT_FDCWD, "/proc/self/mountinfo", 4 << 20, &data, &len) < 0)
		return 0;
	for (char *line = data, *next; line && *line; line = next) {
		char point[512];

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %511s", point) != 1)
			continue;
		if (strncmp(point, "/proc/", 6) != 0 || streq(point, "/proc/sys/fs/binfmt_misc"))
			continue;
		if (n < 3)
			buf_printf(b, "%s%s", n ? ", " : "", point);
		else if (n == 3)
			buf_puts(b, ", ...");
		n++;
	}
	return n;
}

char *proc_describe_failure(int err)
{
	struct buf covers = BUF_INIT, b = BUF_INIT;
	unsigned n;

	buf_printf(&b, "filesystem: /proc: mounting: %s", strerror(err));
	if (err != EPERM)
		goto out;
	n = list_proc_covers(&covers);
	if (n == 0) {
		buf_puts(&b, ": the kernel mounts a new /proc in a user namespace only where a "
			     "/proc is already fully visible and writable; here none is");
		goto out;
	}
	buf_printf(&b,
		   ": the kernel mounts a new /proc in a user namespace only where the whole of "
		   "/proc is visible, and here parts of it are covered (%s), as container "
		   "runtimes do by default. Fix: Docker --security-opt systempaths=unconfined; "
		   "podman --security-opt unmask=/proc/*; Kubernetes securityContext.procMount: "
		   "Unmasked (with hostUsers: false); %s",
		   buf_ok(&covers) ? buf_str(&covers) : "", landlock_fix);
out:
	buf_done(&covers);
	return buf_steal(&b);
}

char *mounts_describe_denial(int err)
{
	long apparmor = read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
	struct buf b = BUF_INIT;

	if (err != EPERM && err != EACCES)
		return NULL;
	if (apparmor == 1)
		buf_printf(
			&b,
			"filesystem: making the mount tree private: %s: AppArmor restricts "
			"unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns "
			"is 1), so skillbox holds no capability in its own. Fix: install "
			"skillbox's AppArmor profile, which allows them for skillbox, %s",
			strerror(err), landlock_fix);
	else if (seccomp_mode() == 2)
		buf_printf(
			&b,
			"filesystem: making the mount tree private: %s: this process runs "
			"under a seccomp filter that refuses mount() (a container runtime's "
			"profile). Fix: run the container with a profile that allows it, such as "
			"podman's default (/usr/share/containers/seccomp.json), %s",
			strerror(err), landlock_fix);
	else
		return NULL;
	return buf_steal(&b);
}
