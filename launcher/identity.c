/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "identity.h"
#include "parse-util.h"
#include "userns-util.h"

#define UID_MAP "/proc/self/uid_map"
#define GID_MAP "/proc/self/gid_map"

const char *identity_kind_to_string(enum identity_kind k)
{
	switch (k) {
	case IDENTITY_CALLER:
		return "caller";
	case IDENTITY_PER_RUN:
		return "per-run";
	case IDENTITY_USER:
		return "user";
	case IDENTITY_OWNER:
		return "owner";
	}
	return "?";
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ret_error) {
		free(*ret_error);
		*ret_error = buf_steal(&b);
	} else {
		buf_done(&b);
	}
	return r;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* 1 when both maps of our user namespace have first..last, 0 when not, -errno. */
static int ids_mapped(uint32_t first, uint32_t last)
{
	int r = id_map_covers(UID_MAP, first, last);

	if (r > 0)
		r = id_map_covers(GID_MAP, first, last);
	return r;
}

int identity_parse_user(const char *s, uid_t *ret_uid, gid_t *ret_gid, char **ret_error)
{
	char mapped[128];
	struct passwd *pw;
	uint64_t v;
	uid_t uid;
	gid_t gid;
	int r;

	if (all_digits(s)) {
		if (parse_uint64(s, &v) < 0 || v >= UINT32_MAX)
			return set_error(ret_error, -EINVAL, "run: --user %s: not a valid uid", s);
		uid = (uid_t)v;
		pw = getpwuid(uid);
		gid = pw ? pw->pw_gid : (gid_t)v;
	} else {
		pw = getpwnam(s);
		if (!pw)
			return set_error(ret_error, -ENOENT,
					 "run: --user %s: no such user (give a user name or a "
					 "numeric uid)",
					 s);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (uid == 0)
		return set_error(ret_error, -EPERM,
				 "run: --user %s: the sandbox user never maps to root on the host; "
				 "name an unprivileged user, or leave --user out for a per-run uid",
				 s);
	/* Nor to root's group: a user whose primary group is root gets one of its own. */
	if (gid == 0)
		gid = (gid_t)uid;
	r = id_map_covers(UID_MAP, uid, uid);
	if (r > 0)
		r = id_map_covers(GID_MAP, gid, gid);
	if (r == 0)
		return set_error(ret_error, -ERANGE,
				 "run: --user %s: uid %u or gid %u has no mapping in this user "
				 "namespace (mapped uids: %s)",
				 s, (unsigned)uid, (unsigned)gid,
				 id_map_describe(UID_MAP, mapped, sizeof(mapped)));
	if (r < 0)
		return set_error(ret_error, r, "run: --user %s: reading %s: %s", s, UID_MAP,
				 strerror(-r));
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}

static int parse_range(const char *s, struct identity_range *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	uint64_t first, last;
	char *dash;

	if (!copy)
		return -ENOMEM;
	dash = strchr(copy, '-');
	if (!dash)
		return -EINVAL;
	*dash = 0;
	if (!all_digits(copy) || !all_digits(dash + 1) || parse_uint64(copy, &first) < 0 ||
	    parse_uint64(dash + 1, &last) < 0 || first == 0 || first > last || last >= UINT32_MAX)
		return -EINVAL;
	ret->first = (uint32_t)first;
	ret->last = (uint32_t)last;
	return 0;
}

int identity_resolve_range(const char *opt, struct identity_range *ret, char **ret_error)
{
	const char *env = getenv("SKILLBOX_UID_RANGE");
	struct identity_range r = { 0 };
	char mapped[128];
	const char *text;
	int k;

	if (opt || (env && *env)) {
		r.source = opt ? "--uid-range" : "SKILLBOX_UID_RANGE";
		text = opt ? opt : env;
		if (parse_range(text, &r) < 0)
			return set_error(ret_error, -EINVAL,
					 "run: %s %s: expected FIRST-LAST, two uids above 0 such "
					 "as %u-%u",
					 r.source, text, IDENTITY_RANGE_FIRST, IDENTITY_RANGE_LAST);
		k = ids_mapped(r.first, r.last);
		if (k < 0)
			return set_error(ret_error, k, "run: reading %s: %s", UID_MAP,
					 strerror(-k));
		if (k == 0)
			return set_error(ret_error, -ERANGE,
					 "run: %s %s: not every id in it is mapped in this user "
					 "namespace (mapped uids: %s)",
					 r.source, text,
					 id_map_describe(UID_MAP, mapped, sizeof(mapped)));
		*ret = r;
		return 0;
	}
	r = (struct identity_range){ IDENTITY_RANGE_FIRST, IDENTITY_RANGE_LAST, "default" };
	k = ids_mapped(r.first, r.last);
	if (k == 0) {
		r = (struct identity_range){ IDENTITY_RANGE16_FIRST, IDENTITY_RANGE16_LAST,
					     "default, 16-bit" };
		k = ids_mapped(r.first, r.last);
	}
	if (k < 0)
		return set_error(ret_error, k, "run: reading %s: %s", UID_MAP, strerror(-k));
	if (k == 0)
		return set_error(
			ret_error, -ERANGE,
			"run: neither default per-run uid range (%u-%u, %u-%u) is mapped "
			"in this user namespace (mapped uids: %s); set SKILLBOX_UID_RANGE to "
			"unused ids inside it, or use --user",
			IDENTITY_RANGE_FIRST, IDENTITY_RANGE_LAST, IDENTITY_RANGE16_FIRST,
			IDENTITY_RANGE16_LAST, id_map_describe(UID_MAP, mapped, sizeof(mapped)));
	*ret = r;
	return 0;
}

/*
 * The claim on a uid is an abstract unix socket bound to "skillbox/uid/N": binding is atomic,
 * the name is free again when the last descriptor of the socket is closed (the kernel does it
 * for a process that dies, SIGKILL included), and nothing is written anywhere. skillbox and
 * the sandbox's init both hold it, so the uid is not handed out again while either lives.
 * Abstract names are per network namespace: runs started from the same one see each other.
 */
static int claim_uid(const struct identity_range *range, uid_t *ret_uid, int *ret_fd)
{
	uint64_t count = (uint64_t)range->last - range->first + 1;
	_cleanup_close_ int fd = -1;
	uint32_t start;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A random start: a uid just given up is unlikely to be the next one handed out. */
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	for (uint64_t k = 0; k < count; k++) {
		uint32_t uid = range->first + (uint32_t)(((uint64_t)start + k) % count);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "skillbox/uid/%u", uid);

		if (bind(fd, (struct sockaddr *)&sa,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) ==
		    0) {
			*ret_uid = uid;
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
		if (errno != EADDRINUSE)
			return -errno;
	}
	return -EUSERS;
}

int identity_choose(struct identity *id, bool user_given, uid_t user_uid, gid_t user_gid,
		    const char *range_opt, bool claim, char **ret_error)
{
	uid_t uid = 0;
	int k;

	*id = (struct identity)IDENTITY_INIT;
	if (geteuid() != 0) {
		id->kind = IDENTITY_CALLER;
		id->uid = getuid();
		id->gid = getgid();
		return 0;
	}
	id->idmap = true;
	if (user_given) {
		id->kind = IDENTITY_USER;
		id->uid = user_uid;
		id->gid = user_gid;
		return 0;
	}
	id->kind = IDENTITY_PER_RUN;
	k = identity_resolve_range(range_opt, &id->range, ret_error);
	if (k < 0)
		return k;
	if (!claim)
		return 0;
	k = claim_uid(&id->range, &uid, &id->claim_fd);
	if (k == -EUSERS)
		return set_error(ret_error, k,
				 "run: every uid of the per-run range %u-%u (%s) is in use by "
				 "another run; wait, or widen it with SKILLBOX_UID_RANGE",
				 id->range.first, id->range.last, id->range.source);
	if (k < 0)
		return set_error(ret_error, k, "run: claiming a per-run uid: %s", strerror(-k));
	id->uid = uid;
	id->gid = (gid_t)uid;
	return 0;
}

/*
 * The group the sandbox user has when it becomes a write path's owner: that user's primary
 * group, as if it had started skillbox itself, and never root's (a path's group may be 0,
 * a user's primary group too): then a group of the uid's number, as per-run uids have.
 */
static gid_t owner_group(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw && pw->pw_gid != 0 ? pw->pw_gid : (gid_t)uid;
}

/* The sandbox user may write there without being its owner: the "other" bits allow it. */
static bool other_may_write(const struct mount_op *o)
{
	if (S_ISDIR(o->owner_mode))
		return (o->owner_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
	return o->owner_mode & S_IWOTH;
}

static const char *fs_name(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return NULL;
	switch ((unsigned long)sf.f_type) {
	case 0x794c7630:
		return "overlayfs";
	case 0x6969:
		return "nfs";
	case 0x65735546:
		return "fuse";
	case 0x01021997:
		return "9p";
	case 0xff534d42:
		return "cifs";
	case 0x9123683e:
		return "btrfs";
	case 0xef53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x01021994:
		return "tmpfs";
	default:
		return NULL;
	}
}

static void describe_idmap_error(struct buf *b, const struct mount_op *o)
{
	const char *fs;

	switch (o->idmap_error) {
	case EPERM:
		buf_puts(b, "the kernel refused to idmap it (Operation not permitted): that "
			    "needs CAP_SYS_ADMIN over the filesystem, which a container without "
			    "CAP_SYS_ADMIN, or a user-namespaced one, does not have");
		break;
	case EINVAL:
		fs = fs_name(o->host);
		buf_printf(b, "its filesystem%s%s does not support idmapped mounts", fs ? " (" : "",
			   fs ? fs : "");
		if (fs)
			buf_puts(b, ")");
		break;
	case ENOSYS:
		buf_puts(b, "this kernel has no idmapped mounts (Linux 5.12 and later have)");
		break;
	default:
		buf_printf(b, "idmapping it failed (%s)", strerror(o->idmap_error));
		break;
	}
}

static void describe_path(struct buf *b, const struct mount_op *o, const char *manifest_path)
{
	buf_puts(b, "filesystem: ");
	if (o->origin.key && o->origin.loc.line)
		buf_printf(b, "%s:%u:%u: %s ", manifest_path, o->origin.loc.line,
			   o->origin.loc.column, o->origin.key);
	buf_printf(b, "%s: ", o->host);
}

int identity_map_writes(struct identity *id, struct mount_plan *p, const char *manifest_path,
			char **ret_error)
{
	const struct mount_op *stuck = NULL;
	uid_t owner = 0;
	bool mixed = false;
	int k;

	k = mount_plan_idmap(p, id->idmap, id->uid, id->gid);
	if (k < 0)
		return set_error(ret_error, k, "filesystem: preparing the write paths: %s",
				 strerror(-k));
	if (id->kind != IDENTITY_PER_RUN)
		return 0;

	/*
	 * skillbox learn's throwaway overlay of the working directory: overlayfs cannot copy up
	 * what belongs to a uid the sandbox's user namespace does not map, so the sandbox user
	 * is the directory's owner when that is an unprivileged user. (A root-owned directory
	 * stays readable, and writable only where its "other" permissions allow.)
	 */
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];

		if (o->kind != MOUNT_OP_OVERLAY || !o->owner_known || o->owner_uid == 0)
			continue;
		free(id->note);
		id->note = strdup("skillbox learn: the owner of the working directory");
		id->kind = IDENTITY_OWNER;
		id->uid = o->owner_uid;
		id->gid = owner_group(o->owner_uid);
		id->claim_fd = safe_close(id->claim_fd);
		mount_plan_close_trees(p);
		k = mount_plan_idmap(p, true, id->uid, id->gid);
		if (k < 0)
			return set_error(ret_error, k, "filesystem: preparing the write paths: %s",
					 strerror(-k));
		break;
	}
	if (id->kind != IDENTITY_PER_RUN)
		return 0;

	/* Write paths the kernel would not idmap, and the sandbox user could not write. */
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct mount_op *o = &p->ops[i];

		if (o->kind != MOUNT_OP_BIND || o->idmap != MOUNT_IDMAP_FAILED ||
		    other_may_write(o))
			continue;
		if (!stuck) {
			stuck = o;
			owner = o->owner_uid;
		} else if (o->owner_uid != owner) {
			mixed = true;
		}
	}
	if (!stuck)
		return 0;

	if (owner != 0 && !mixed) {
		struct buf b = BUF_INIT;

		/*
		 * The owner is an unprivileged user: the sandbox user becomes that user, which
		 * is what it would be had that user started skillbox. It shares the uid with
		 * that user's other processes and with concurrent runs that fall back the same
		 * way; run.start and explain say so.
		 */
		buf_printf(&b, "%s: ", stuck->host);
		describe_idmap_error(&b, stuck);
		free(id->note);
		id->note = buf_steal(&b);
		id->kind = IDENTITY_OWNER;
		id->uid = owner;
		id->gid = owner_group(owner);
		id->claim_fd = safe_close(id->claim_fd);
		mount_plan_close_trees(p);
		k = mount_plan_idmap(p, true, id->uid, id->gid);
		if (k < 0)
			return set_error(ret_error, k, "filesystem: preparing the write paths: %s",
					 strerror(-k));
		return 0;
	}

	{
		struct buf b = BUF_INIT;

		describe_path(&b, stuck, manifest_path);
		if (mixed)
			buf_puts(&b, "it and other write paths belong to different users, and ");
		else
			buf_puts(&b, "it belongs to root, and ");
		describe_idmap_error(&b, stuck);
		buf_printf(&b,
			   "; the sandbox user (host uid %u) could not write it. Fix: give the "
			   "write paths to one unprivileged user (the sandbox user then runs as "
			   "that user), or run skillbox where it may idmap them (CAP_SYS_ADMIN, "
			   "a filesystem that supports idmapped mounts)",
			   (unsigned)id->uid);
		free(*ret_error);
		*ret_error = buf_steal(&b);
		return -EACCES;
	}
}

int identity_landlock_writes(struct identity *id, struct mount_plan *view,
			     const char *manifest_path, char **ret_error)
{
	const struct mount_op *stuck = NULL;
	uid_t owner = 0;
	bool mixed = false;
	struct buf b = BUF_INIT;

	if (id->kind != IDENTITY_PER_RUN)
		return 0;
	for (size_t i = 0; i < view->n_ops; i++) {
		struct mount_op *o = &view->ops[i];
		struct stat st;

		if (o->kind != MOUNT_OP_BIND || !o->writable || !o->host)
			continue;
		if (fstatat(AT_FDCWD, o->host, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISLNK(st.st_mode))
			continue;
		o->owner_known = true;
		o->owner_uid = st.st_uid;
		o->owner_gid = st.st_gid;
		o->owner_mode = st.st_mode;
		if ((id->uid && st.st_uid == id->uid) || other_may_write(o))
			continue;
		if (!stuck) {
			stuck = o;
			owner = st.st_uid;
		} else if (st.st_uid != owner) {
			mixed = true;
		}
	}
	if (!stuck)
		return 0;

	if (owner != 0 && !mixed) {
		/* As identity_map_writes()'s fallback, for the same reason: nothing else writes
		   there as the path's owner. */
		buf_printf(&b,
			   "%s: --isolation landlock has no user namespace, so write paths cannot "
			   "be idmapped",
			   stuck->host);
		free(id->note);
		id->note = buf_steal(&b);
		id->kind = IDENTITY_OWNER;
		id->uid = owner;
		id->gid = owner_group(owner);
		id->claim_fd = safe_close(id->claim_fd);
		return 0;
	}

	describe_path(&b, stuck, manifest_path);
	if (mixed)
		buf_puts(&b, "it and other write paths belong to different users");
	else
		buf_puts(&b, "it belongs to root");
	buf_puts(&b, ", and --isolation landlock has no user namespace to idmap it, so the skill "
		     "(never root) could not write it. Fix: give the write paths to one "
		     "unprivileged user (chown -R), whom the skill then runs as; or --user a "
		     "user who may write them; or make them writable by others");
	free(*ret_error);
	*ret_error = buf_steal(&b);
	return -EACCES;
}

char *identity_describe(const struct identity *id)
{
	struct buf b = BUF_INIT;

	switch (id->kind) {
	case IDENTITY_CALLER:
		buf_printf(&b, "uid %u, the caller", (unsigned)id->uid);
		break;
	case IDENTITY_PER_RUN:
		if (id->uid)
			buf_printf(&b, "uid %u, this run's own (from %u-%u, %s)", (unsigned)id->uid,
				   id->range.first, id->range.last, id->range.source);
		else
			buf_printf(&b,
				   "a uid of the run's own, claimed at launch from %u-%u (%s); no "
				   "two concurrent runs share one",
				   id->range.first, id->range.last, id->range.source);
		break;
	case IDENTITY_USER:
		buf_printf(&b, "uid %u (--user)", (unsigned)id->uid);
		break;
	case IDENTITY_OWNER:
		buf_printf(&b, "uid %u, the owner of the write paths (fallback: %s)",
			   (unsigned)id->uid, id->note ? id->note : "");
		break;
	}
	return buf_steal(&b);
}

void identity_done(struct identity *id)
{
	id->claim_fd = safe_close(id->claim_fd);
	free(id->note);
	id->note = NULL;
}
