/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Opening a secret's from_file (launcher/secret-file.c) without following a symbolic link
 * that a skill bundle could have planted.
 *
 * The path is split at an anchor, the deepest of these that contains it: the skill's
 * directory (the manifest's, already resolved with realpath() when the manifest was loaded),
 * the caller's HOME, or "/". The anchor itself is opened as the caller names it (symlinks in
 * its own path are followed: /home -> /var/home is the caller's machine, not the bundle's);
 * everything below it is opened with openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), so no
 * component below the anchor, the file itself included, may be a symbolic link. A bundle
 * shipping `api.key -> ~/.ssh/id_ed25519` is refused, and so is a dotfiles-managed
 * `~/.config/x -> ~/dotfiles/x`: name the real file.
 *
 * The checks (a regular file owned by the caller or root, no access for group or others)
 * are made with fstat() on the opened descriptor, never on the path.
 */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct secret_file {
	int fd;		    /* O_RDONLY, checked; -1 when not open */
	char *path;	    /* where it was found, with no symbolic link in it */
	const char *anchor; /* "the skill's directory", "HOME" or "/" */
	struct stat st;
};

/**
 * Opens and checks the secret file at path (absolute, normalized) for a caller with uid
 * caller_uid. skill_dir and home may be NULL. On failure returns -errno and sets *ret_error
 * to a message naming the file (and the link, for a symbolic link), without the manifest's
 * FILE:LINE:COLUMN (caller frees).
 */
int secret_file_open(const char *path, const char *skill_dir, const char *home, uid_t caller_uid,
		     struct secret_file *ret, char **ret_error);
void secret_file_done(struct secret_file *f);
