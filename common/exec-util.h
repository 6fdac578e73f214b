/* SPDX-License-Identifier: MIT */
#pragma once

/* What it takes to execute a file: its "#!" line or its ELF program interpreter. */

#include <stddef.h>

enum exec_kind {
	EXEC_OTHER,   /* neither: the kernel refuses it (ENOEXEC) */
	EXEC_SCRIPT,  /* "#!INTERPRETER [ARG]" */
	EXEC_ELF,     /* an ELF file; interpreter is its PT_INTERP (NULL when static) */
	EXEC_UNKNOWN, /* could not be read */
};

struct exec_info {
	enum exec_kind kind;
	char *interpreter; /* absolute path as written, or NULL */
	char *arg;	   /* the "#!" line's one optional argument, or NULL ("env python3") */
};

/**
 * Reads the head of an open regular file (pread, the offset is untouched). Returns 0 and
 * the kind (EXEC_UNKNOWN when it cannot be read), or -ENOMEM.
 */
int exec_info_read(int fd, struct exec_info *ret);
/** Same from a path, opened without following a symlink at its end. */
int exec_info_read_path(const char *path, struct exec_info *ret);
void exec_info_done(struct exec_info *e);
