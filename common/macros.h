/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _noreturn_     __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRLEN(s)     (sizeof("" s "") - 1)
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Hands ownership of a pointer or fd to the caller and disarms the cleanup of the variable. */
#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _take_p = (p); \
		(p) = NULL;                  \
		_take_p;                     \
	})
#define TAKE_FD(fd)                  \
	({                           \
		int _take_fd = (fd); \
		(fd) = -1;           \
		_take_fd;            \
	})

/* Turns a libc call's -1/errno convention into our -errno convention. */
#define RET_NERRNO(expr)                                \
	({                                              \
		long _ret_nerrno = (long)(expr);        \
		_ret_nerrno < 0 ? -errno : _ret_nerrno; \
	})

/* errno as a negative value; never 0, so a caller cannot mistake a failure for success. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

#define _cleanup_free_	_cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Declares a cleanup helper `namep(type **)` that calls `func(*p)` when *p is not NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

#define streq(a, b)	(strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s)	(!(s) || !*(s))
