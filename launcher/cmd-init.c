/* SPDX-License-Identifier: MIT */
/*
 * skillbox init DIR: a starting manifest for an Agent Skill folder.
 *
 * An Agent Skill is a folder with a SKILL.md (YAML front matter with name and description,
 * then instructions for the model) and scripts the agent runs. init writes DIR/skillbox.yaml:
 *
 *   - name and description from the front matter;
 *   - the folder bound read-only at /skill, which is the working directory;
 *   - profiles chosen by the interpreters the scripts need ("#!" lines, else extensions:
 *     .py python3, .sh shell, .js node, ...), the base system always;
 *   - no command: the agent names the script, `skillbox run DIR -- scripts/x.py ARGS`, and
 *     skillbox gives it its interpreter (script.c);
 *   - no network, no secrets, no writable path, and limits fit for untrusted code;
 *
 * and says what to review. The manifest is checked with the parser before it is written; an
 * existing skillbox.yaml is kept unless --force.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "buf.h"
#include "cli.h"
#include "exec-util.h"
#include "fd-util.h"
#include "json.h"
#include "learn.h"
#include "path-util.h"
#include "profiles.h"
#include "script.h"
#include "strv.h"
#include "yaml-util.h"

#define SCAN_DEPTH 4
#define SCAN_MAX   2000

static void init_help(FILE *f)
{
	fprintf(f,
		"Usage: skillbox init [--force] DIR\n"
		"\n"
		"Writes DIR/skillbox.yaml for an Agent Skill folder (one with a SKILL.md): its\n"
		"name and description, the folder read-only at /skill, profiles for the\n"
		"interpreters its scripts use, no network, no secrets, and says what to review.\n"
		"Then run one script with: skillbox run DIR -- scripts/NAME ARGS...\n"
		"\n"
		"  -f, --force  overwrite an existing DIR/skillbox.yaml\n"
		"  -h, --help   show this help\n");
}

/* A profile the scripts need, with the first few scripts that need it. */
struct need {
	const char *profile;
	char **scripts;
	size_t n;
};

struct scan {
	struct need needs[16];
	size_t n_needs;
	size_t n_files;
	size_t n_scripts;
};

static int need(struct scan *s, const char *profile, const char *script)
{
	struct need *n = NULL;

	for (size_t i = 0; i < s->n_needs && !n; i++)
		if (streq(s->needs[i].profile, profile))
			n = &s->needs[i];
	if (!n) {
		if (s->n_needs == ELEMENTSOF(s->needs))
			return 0;
		n = &s->needs[s->n_needs++];
		n->profile = profile;
	}
	n->n++;
	return n->n <= 3 ? strv_extend(&n->scripts, script) : 0;
}

/* Which profile a file needs to run, when it is a script or a program; NULL when neither. */
static const char *profile_of(const char *path, const char *name, mode_t mode)
{
	struct exec_info x = {};
	const char *p = NULL;

	if (exec_info_read_path(path, &x) < 0)
		return NULL;
	if (x.kind == EXEC_SCRIPT && x.interpreter) {
		const char *base = strrchr(x.interpreter, '/');

		/* #!/usr/bin/env python3 */
		if (base && streq(base + 1, "env") && x.arg) {
			_cleanup_free_ char *word = strndup(x.arg, strcspn(x.arg, " \t"));

			p = word ? profiles_for_program(word) : NULL;
		} else {
			p = profiles_for_program(x.interpreter);
		}
		if (!p)
			p = "system";
	} else if (x.kind == EXEC_ELF && (mode & 0111)) {
		p = "system";
	} else if (script_interpreter_for(name)) {
		p = profiles_for_program(script_interpreter_for(name));
		if (!p)
			p = "system";
	}
	exec_info_done(&x);
	return p;
}

static int scan_dir(struct scan *s, const char *top, const char *rel, unsigned depth)
{
	_cleanup_free_ char *dir = *rel ? path_join(top, rel) : strdup(top);
	struct dirent **list = NULL;
	int n, r = 0;

	if (!dir)
		return -ENOMEM;
	n = scandir(dir, &list, NULL, alphasort);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		_cleanup_free_ char *child = NULL, *path = NULL;
		struct stat st;

		if (r < 0 || name[0] == '.' || streq(name, "node_modules") ||
		    streq(name, "__pycache__") || s->n_files >= SCAN_MAX)
			goto next;
		child = *rel ? path_join(rel, name) : strdup(name);
		path = path_join(top, child ? child : "");
		if (!child || !path) {
			r = -ENOMEM;
			goto next;
		}
		if (lstat(path, &st) < 0)
			goto next;
		s->n_files++;
		if (S_ISDIR(st.st_mode) && depth < SCAN_DEPTH) {
			r = scan_dir(s, top, child, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			const char *p = profile_of(path, name, st.st_mode);

			if (p) {
				s->n_scripts++;
				r = need(s, p, child);
			}
		}
	next:
		free(list[i]);
	}
	free(list);
	return r;
}

static void scan_done(struct scan *s)
{
	for (size_t i = 0; i < s->n_needs; i++)
		strv_free(s->needs[i].scripts);
}

/* The text between a leading "---" line and the next one, or NULL. */
static char *front_matter(const char *md, size_t len, size_t *ret_len)
{
	const char *start, *end;

	if (len < 4 || !strneq(md, "---", 3) || (md[3] != '\n' && md[3] != '\r'))
		return NULL;
	start = strchr(md, '\n') + 1;
	for (end = start; end && *end; end = strchr(end, '\n') ? strchr(end, '\n') + 1 : NULL)
		if (strneq(end, "---", 3) && (end[3] == '\n' || end[3] == '\r' || !end[3])) {
			*ret_len = (size_t)(end - start);
			return strndup(start, *ret_len);
		}
	return NULL;
}

/*
 * A front matter that is not valid YAML ("description: Does X: then Y" has two ": "): the
 * value of "key:" on its own line, to the end of the line, quotes removed. Agent tools read
 * these loosely too.
 */
static char *loose_value(const char *fm, const char *key)
{
	size_t k = strlen(key);

	for (const char *l = fm; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *v, *end;

		if (!strneq(l, key, k) || l[k] != ':')
			continue;
		v = l + k + 1;
		v += strspn(v, " \t");
		end = strchrnul(v, '\n');
		while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
			v++;
			end--;
		}
		return end > v ? strndup(v, (size_t)(end - v)) : NULL;
	}
	return NULL;
}

static int generate(const char *dir, const char *shown, const char *name, const char *description,
		    const struct scan *s, struct buf *b)
{
	_cleanup_free_ char *safe = learn_name_from_dir(name ? name : dir);
	char when[64] = "";
	time_t now = time(NULL);
	struct tm tm;

	if (!safe)
		return -ENOMEM;
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	buf_puts(b, "# Written by skillbox init from ");
	yaml_out_comment(b, shown);
	buf_printf(b, "/SKILL.md on %s. Review it:\n", when);
	buf_puts(b,
		 "#  - the folder is read-only at /skill, the working directory;\n"
		 "#  - profiles come from what the scripts run (below); add tls and network\n"
		 "#    egress if a script fetches something, env: pass: or secrets: if it needs\n"
		 "#    a variable, write: for a folder it must write to (inputs and outputs of\n"
		 "#    one call are better given then: skillbox run --read IN --write OUT);\n"
		 "#  - no command: run one script with skillbox run DIR -- scripts/NAME ARGS.\n");
	buf_puts(b, "skillbox: 1\nname: ");
	yaml_out_scalar(b, safe);
	if (name && !streq(name, safe))
		buf_printf(b, "  # \"%s\" made a valid name", escaped(name));
	buf_putc(b, '\n');
	if (description) {
		buf_puts(b, "description: ");
		json_escape(b, description, strlen(description));
		buf_putc(b, '\n');
	}
	/* Every other profile includes system: it is named only when it is all there is. */
	{
		bool any = false;

		buf_puts(b, "include: [");
		for (size_t i = 0; i < s->n_needs; i++) {
			if (streq(s->needs[i].profile, "system"))
				continue;
			buf_printf(b, "%s%s", any ? ", " : "", s->needs[i].profile);
			any = true;
		}
		buf_puts(b, any ? "]  # each includes system\n" : "system]\n");
	}
	for (size_t i = 0; i < s->n_needs; i++) {
		buf_printf(b, "#   %s: ", s->needs[i].profile);
		STRV_FOREACH (sc, s->needs[i].scripts) {
			buf_puts(b, sc == s->needs[i].scripts ? "" : ", ");
			yaml_out_comment(b, *sc);
		}
		if (s->needs[i].n > 3)
			buf_printf(b, " and %zu more", s->needs[i].n - 3);
		buf_putc(b, '\n');
	}
	if (s->n_needs == 0)
		buf_puts(b, "#   (no script found: the base system only)\n");
	buf_puts(b, "workdir: /skill\n"
		    "filesystem:\n"
		    "  read: [\".:/skill\"]\n"
		    "# network: none (loopback only)\n"
		    "# env: nothing but skillbox's defaults; no secrets\n"
		    "limits:          # for untrusted code; raise them if a script needs more\n"
		    "  timeout: 60s\n"
		    "  memory: 512M\n"
		    "  processes: 64  # threads count too\n"
		    "  output: 8M\n");
	return buf_ok(b) ? 0 : -ENOMEM;
}

int cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	_cleanup_free_ char *md = NULL, *fm = NULL, *file = NULL, *skill_md = NULL, *lname = NULL,
			    *ldesc = NULL;
	_cleanup_manifest_free_ struct manifest *m = NULL;
	struct manifest_diags diags = {};
	struct yaml_doc doc = {};
	struct scan s = {};
	struct buf b = BUF_INIT;
	const char *name = NULL, *description = NULL;
	char real[PATH_MAX];
	bool force = false;
	size_t len, fm_len = 0;
	int c, r, status = EXIT_SKILLBOX_FAILED, fd;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+fh", options, NULL)) >= 0) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			init_help(stdout);
			return 0;
		default:
			init_help(stderr);
			return EXIT_SKILLBOX_FAILED;
		}
	}
	if (optind != argc - 1) {
		log_error("init: expected one Agent Skill folder");
		init_help(stderr);
		return EXIT_SKILLBOX_FAILED;
	}
	if (!realpath(argv[optind], real)) {
		log_error_errno(-errno, "init: %s", argv[optind]);
		return EXIT_SKILLBOX_FAILED;
	}
	skill_md = path_join(real, "SKILL.md");
	file = path_join(real, MANIFEST_FILENAME);
	if (!skill_md || !file)
		return log_error_errno(-ENOMEM, "init"), EXIT_SKILLBOX_FAILED;
	r = read_file_bounded(AT_FDCWD, skill_md, MANIFEST_MAX_SIZE, &md, &len);
	if (r < 0) {
		log_error_errno(r, "init: %s (an Agent Skill folder has a SKILL.md)", skill_md);
		return EXIT_SKILLBOX_FAILED;
	}
	fm = front_matter(md, len, &fm_len);
	if (!fm)
		log_error("init: %s has no front matter (--- name: ... ---); the folder's name is "
			  "used",
			  skill_md);
	else if (yaml_doc_load(&doc, fm, fm_len) < 0) {
		log_error("init: %s: the front matter is not valid YAML (%s); read line by line",
			  skill_md, doc.error);
		name = lname = loose_value(fm, "name");
		description = ldesc = loose_value(fm, "description");
	}
	if (doc.loaded) {
		name = yaml_doc_text(yaml_doc_get(&doc, yaml_doc_root(&doc), "name"));
		description = yaml_doc_text(yaml_doc_get(&doc, yaml_doc_root(&doc), "description"));
	}

	r = scan_dir(&s, real, "", 0);
	if (r >= 0)
		r = generate(real, argv[optind], name, description, &s, &b);
	if (r < 0) {
		log_error_errno(r, "init");
		goto out;
	}
	r = manifest_parse(b.data, b.len,
			   &(struct manifest_parse_opts){ .path = file,
							  .dir = real,
							  .home = caller_home(),
							  .include = profiles_include },
			   &m, &diags);
	if (r < 0) {
		log_error("init: the manifest written is invalid (a bug in skillbox init):");
		manifest_print_diags(&diags, file);
		goto out;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (force ? O_TRUNC : O_EXCL),
		  0644);
	if (fd < 0 && errno == EEXIST) {
		log_error("init: %s exists; kept (--force overwrites it)", file);
		goto out;
	}
	if (fd < 0 || write_full(fd, b.data, b.len) < 0) {
		log_error_errno(-errno, "init: writing %s", file);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	printf("Wrote %s for the skill \"%s\".\n", escaped(file), escaped(m->name));
	printf("It binds the folder read-only at /skill, with no network and no secrets;\n"
	       "profiles: system");
	for (size_t i = 0; i < s.n_needs; i++)
		if (!streq(s.needs[i].profile, "system"))
			printf(", %s", s.needs[i].profile);
	printf(" (from %zu script%s). Review:\n", s.n_scripts, s.n_scripts == 1 ? "" : "s");
	printf("  - does a script fetch anything? add include: [tls] and network: egress:\n"
	       "  - does it need a key? env: secrets: (never in the folder)\n"
	       "  - does it write files? give them per call: --write OUT\n"
	       "  - the limits (timeout 60s, memory 512M, processes 64, output 8M)\n"
	       "Check it with: skillbox check --strict %s\n"
	       "Run a script:  skillbox run %s -- scripts/NAME ARGS...\n",
	       argv[optind], argv[optind]);
	status = 0;
out:
	manifest_diags_done(&diags);
	yaml_doc_done(&doc);
	scan_done(&s);
	buf_done(&b);
	return status;
}
