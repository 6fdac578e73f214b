/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-util.h"
#include "macros.h"

/* The kernel reads at most this much of a "#!" line (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256

static int parse_shebang(const char *head, size_t n, struct exec_info *e)
{
	size_t i = 2, start;

	e->kind = EXEC_SCRIPT;
	while (i < n && (head[i] == ' ' || head[i] == '\t'))
		i++;
	start = i;
	while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && head[i] != 0)
		i++;
	if (i == start || head[start] != '/')
		return 0;
	e->interpreter = strndup(head + start, i - start);
	if (!e->interpreter)
		return -ENOMEM;
	/* Like the kernel: the rest of the line, trimmed, is one argument. */
	while (i < n && (head[i] == ' ' || head[i] == '\t'))
		i++;
	start = i;
	while (i < n && head[i] != '\n' && head[i] != 0)
		i++;
	while (i > start && (head[i - 1] == ' ' || head[i - 1] == '\t' || head[i - 1] == '\r'))
		i--;
	if (i > start) {
		e->arg = strndup(head + start, i - start);
		if (!e->arg)
			return -ENOMEM;
	}
	return 0;
}

/* PT_INTERP of an ELF file of the native byte order, 32 or 64 bits. */
static int elf_interpreter(int fd, const unsigned char *ident, struct exec_info *e)
{
	bool is64 = ident[EI_CLASS] == ELFCLASS64;
	uint64_t phoff, offset = 0, size = 0;
	unsigned phnum, phentsize;
	char *s;

	e->kind = EXEC_ELF;
	if (is64) {
		Elf64_Ehdr eh;

		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return 0;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else if (ident[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh))
			return 0;
		phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
	} else {
		return 0;
	}
	if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
		return 0;
	for (unsigned i = 0; i < phnum && i < 256; i++) {
		off_t at = (off_t)(phoff + (uint64_t)i * phentsize);

		if (is64) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))
				return 0;
			if (ph.p_type == PT_INTERP) {
				offset = ph.p_offset, size = ph.p_filesz;
				break;
			}
		} else {
			Elf32_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))
				return 0;
			if (ph.p_type == PT_INTERP) {
				offset = ph.p_offset, size = ph.p_filesz;
				break;
			}
		}
	}
	if (size < 2 || size > PATH_MAX)
		return 0;
	s = calloc(1, size + 1);
	if (!s)
		return -ENOMEM;
	if (pread(fd, s, size, (off_t)offset) != (ssize_t)size || s[0] != '/') {
		free(s);
		return 0;
	}
	s[size] = 0;
	e->interpreter = s;
	return 0;
}

int exec_info_read(int fd, struct exec_info *ret)
{
	struct exec_info e = { .kind = EXEC_UNKNOWN };
	char head[SHEBANG_MAX];
	struct stat st;
	ssize_t n;
	int r = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*ret = e;
		return 0;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		*ret = e;
		return 0;
	}
	e.kind = EXEC_OTHER;
	if (n >= 2 && head[0] == '#' && head[1] == '!')
		r = parse_shebang(head, (size_t)n, &e);
	else if (n >= EI_NIDENT && memcmp(head, ELFMAG, SELFMAG) == 0)
		r = elf_interpreter(fd, (const unsigned char *)head, &e);
	if (r < 0) {
		exec_info_done(&e);
		return r;
	}
	*ret = e;
	return 0;
}

int exec_info_read_path(const char *path, struct exec_info *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	int r;

	if (fd < 0) {
		*ret = (struct exec_info){ .kind = EXEC_UNKNOWN };
		return 0;
	}
	r = exec_info_read(fd, ret);
	close(fd);
	return r;
}

void exec_info_done(struct exec_info *e)
{
	free(e->interpreter);
	free(e->arg);
	*e = (struct exec_info){};
}
