/* SPDX-License-Identifier: MIT */
/*
 * A manifest without a command runs what is given after --: `skillbox run DIR --
 * scripts/extract.py report.pdf`. That is how an agent harness calls one script of an Agent
 * Skill folder (its manifest, from `skillbox init`, binds the folder at /skill and has no
 * command).
 *
 * A program written with a '/' is a path inside the sandbox, relative to the working
 * directory. Scripts in skill folders are often not executable or lack a "#!" line, so the
 * program is looked up in the view (mount_view_resolve(), before anything starts) and:
 *
 *   - an executable file with a "#!" line, or an ELF file: run as it is;
 *   - a file with a "#!" line that is not executable: run by that interpreter, as the kernel
 *     would have (the line's one argument kept: "#!/usr/bin/env python3");
 *   - otherwise, by its extension: .py python3, .sh sh, .bash bash, .js .mjs .cjs node,
 *     .pl perl, .rb ruby (interpreters looked up in the sandbox's PATH);
 *   - anything else, or a path the view does not have: run as it is, and the usual 126 or
 *     127 says why.
 *
 * A bare name (python3, make) is looked up in PATH as for any command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-util.h"
#include "path-util.h"
#include "script.h"
#include "strv.h"

static const char *const by_extension[][2] = {
	{ ".py", "python3" }, { ".sh", "sh" },	  { ".bash", "bash" }, { ".js", "node" },
	{ ".mjs", "node" },   { ".cjs", "node" }, { ".pl", "perl" },   { ".rb", "ruby" },
};

const char *script_interpreter_for(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');

	if (!dot || (slash && dot < slash))
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(by_extension); i++)
		if (streq(dot, by_extension[i][0]))
			return by_extension[i][1];
	return NULL;
}

int script_command(const struct mount_plan *plan, const char *workdir, char **args,
		   char ***ret_argv)
{
	_cleanup_strv_free_ char **argv = NULL;
	_cleanup_free_ char *inside = NULL, *joined = NULL;
	struct mount_view_entry e = {};
	struct exec_info x = {};
	const char *interp = NULL, *arg = NULL;
	int r;

	*ret_argv = NULL;
	if (!args || !args[0] || !strchr(args[0], '/'))
		return strv_copy(args, ret_argv);
	if (args[0][0] != '/') {
		joined = path_join(workdir, args[0]);
		if (!joined)
			return -ENOMEM;
	}
	r = path_normalize(joined ? joined : args[0], &inside);
	if (r < 0)
		return r;
	r = mount_view_resolve(plan, NULL, inside, true, &e);
	if (r < 0)
		return r;
	if (e.node == MOUNT_VIEW_FILE && e.host) {
		r = exec_info_read_path(e.host, &x);
		if (r < 0)
			goto out;
		if (x.kind == EXEC_SCRIPT && x.interpreter && !(e.mode & 0111)) {
			interp = x.interpreter;
			arg = x.arg;
		} else if (x.kind != EXEC_ELF && !(x.kind == EXEC_SCRIPT && (e.mode & 0111))) {
			interp = script_interpreter_for(inside);
		}
	}
	r = -ENOMEM;
	if (interp && (strv_extend(&argv, interp) < 0 || (arg && strv_extend(&argv, arg) < 0)))
		goto out;
	/* The program as a path inside: what the interpreter opens relative to the workdir. */
	if (strv_extend(&argv, interp ? inside : args[0]) < 0)
		goto out;
	STRV_FOREACH (a, args + 1)
		if (strv_extend(&argv, *a) < 0)
			goto out;
	*ret_argv = TAKE_PTR(argv);
	r = 0;
out:
	exec_info_done(&x);
	mount_view_entry_done(&e);
	return r;
}
