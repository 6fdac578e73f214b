/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Internals of the manifest parser, shared by its files and its unit test.
 *
 * manifest-yaml.c pulls libyaml events one at a time and offers schema-agnostic helpers
 * (mappings with a fixed key set, lists, typed scalars, diagnostics); manifest-parse.c
 * walks the v1 schema with them; manifest-check.c holds the pure value checks.
 *
 * The parser is a recursive descent over the event stream rather than over a document tree:
 * nothing but the current event is kept, so memory stays small whatever the input, and an
 * alias is seen (and refused) before anything could expand it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "macros.h"
#include "manifest.h"

/*
 * Hostile-input bounds on top of MANIFEST_MAX_SIZE and MANIFEST_MAX_DEPTH. Each list (and
 * env.set) holds at most this many entries, which keeps the parsed manifest, and the
 * quadratic cross-checks over it, small.
 */
#define MANIFEST_MAX_ITEMS 1024
/* After this many problems the parser stops: the rest is noise, and each costs memory. */
#define MANIFEST_MAX_DIAGS 100
/* Values quoted in messages are cut to this many bytes. */
#define MANIFEST_QUOTE_MAX 64

/* Returned by the helpers when parsing cannot go on (syntax error, alias, nesting, ...). */
#define MP_STOP (-ECANCELED)

struct mp {
	yaml_parser_t yaml;
	yaml_event_t event; /* the current event; valid when has_event */
	bool has_event;
	unsigned depth; /* collections open at the current event, the current one included */
	const char *data;
	size_t len;
	const struct manifest_parse_opts *opts;
	const char *file; /* the file being read, for struct manifest_loc (not owned) */
	bool partial;	  /* an included file: no key is required */

	struct manifest_diag *diags;
	size_t n_diags;
	bool stopped;
};

/* --- manifest-yaml.c --- */

int mp_init(struct mp *c, const char *data, size_t len, const struct manifest_parse_opts *opts);
void mp_done(struct mp *c);

/** Moves to the next event. Returns 0, MP_STOP (a diag was added) or -ENOMEM. */
int mp_next(struct mp *c);
/** Consumes the node whose first event is current; afterwards its last event is current. */
int mp_skip(struct mp *c);

/** Adds a problem; returns 0, MP_STOP when there are too many, or -ENOMEM. */
int mp_error(struct mp *c, struct manifest_loc loc, const char *fmt, ...) _printf_(3, 4);
/** Adds a problem that ends parsing: returns MP_STOP, or -ENOMEM. */
int mp_fatal(struct mp *c, struct manifest_loc loc, const char *fmt, ...) _printf_(3, 4);
/** Sorts the problems into file order, keeping the order of those at the same position. */
void mp_sort_diags(struct mp *c);

struct manifest_loc mp_loc(const struct mp *c);
static inline bool loc_before(struct manifest_loc a, struct manifest_loc b)
{
	return a.line < b.line || (a.line == b.line && a.column < b.column);
}

bool mp_is_scalar(const struct mp *c);
/** An explicit null: an empty plain scalar, "~", "null" (any core spelling) or !!null. */
bool mp_is_null(const struct mp *c);

/**
 * Writes a short, printable description of the current node for "got ..." in messages:
 * "a list", "a mapping", "null", "'text'" or "the quoted string 'text'".
 */
const char *mp_describe(const struct mp *c, char *buf, size_t size);
#define MP_DESCRIBE_MAX (MANIFEST_QUOTE_MAX * 4 + 64)
/** Quotes a value for a message: single quotes, non-printable bytes as \xNN, cut when long. */
const char *mp_quote(const char *s, size_t n, char *buf, size_t size);
#define MP_QUOTE_MAX (MANIFEST_QUOTE_MAX * 4 + 8)

/*
 * Typed access to the current node; each consumes the node. They return 1 with the value,
 * 0 after adding "expected <expected>, got ..." (the node is skipped), or a negative error.
 */

/** Reports "expected <expected>, got ..." and consumes the node; returns 0 or < 0. */
int mp_mismatch(struct mp *c, const char *expected);
/**
 * Any scalar without NUL bytes, null included (as its text); *ret points into the event and
 * is valid until mp_next().
 */
int mp_value_text(struct mp *c, const char *expected, const char **ret);
/** Like mp_value_text(), but null is refused. */
int mp_text(struct mp *c, const char *expected, const char **ret);
/** Like mp_text(), but an owned copy. */
int mp_string(struct mp *c, const char *expected, char **ret);
/** A plain (unquoted) scalar of decimal digits, as text; 0 on a value with other characters. */
int mp_digits(struct mp *c, const char *expected, const char **ret);
/** A plain true or false. */
int mp_bool(struct mp *c, bool *ret);

typedef int (*mp_key_fn)(struct mp *c, size_t key, void *userdata);
/**
 * Walks a mapping with a fixed key set: for each known key, calls fn with the value's first
 * event current (fn consumes the value). Unknown and duplicate keys are reported and their
 * values skipped. seen[i] receives the position of key i (line 0 when absent). Null counts as
 * an empty mapping. Returns 1, 0 when the node is not a mapping, or a negative error.
 */
int mp_map(struct mp *c, const char *const *keys, size_t n_keys, struct manifest_loc *seen,
	   mp_key_fn fn, void *userdata);

typedef int (*mp_pair_fn)(struct mp *c, const char *key, struct manifest_loc key_loc,
			  void *userdata);
/** Walks a mapping with arbitrary scalar keys; fn gets each key and consumes its value. */
int mp_pairs(struct mp *c, const char *expected, mp_pair_fn fn, void *userdata);

typedef int (*mp_item_fn)(struct mp *c, void *userdata);
/** Walks a sequence; fn consumes each item. Null counts as empty. Returns 1, 0 or < 0. */
int mp_list(struct mp *c, const char *expected, mp_item_fn fn, void *userdata);

/* --- manifest-parse.c --- */

/* An include: entry, resolved (a profile name, or an absolute path) but not read yet. */
struct manifest_include_ref {
	char *ref;
	bool profile;
	struct manifest_loc loc;
};

void manifest_include_refs_free(struct manifest_include_ref *refs, size_t n);

/**
 * Parses one file: the manifest itself, or (partial) a file it includes, with opts->path
 * as its name in messages and file as the name its values carry. Its problems are appended
 * to diags in file order. Returns 0 with the manifest (without its includes merged, files
 * not set) and the include: entries; -EINVAL when it has problems (*ret_refs is still set,
 * so the included files can be checked too); -ENOMEM.
 */
int manifest_parse_file(const char *data, size_t len, const struct manifest_parse_opts *opts,
			const char *file, bool partial, struct manifest_diags *diags,
			struct manifest **ret, struct manifest_include_ref **ret_refs,
			size_t *ret_n_refs);

/**
 * Checks that need the whole merged manifest (a hide below a read or write path from any
 * file, a syscall allowed by one file and denied by another); problems go to diags.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int manifest_check_merged(const struct manifest *m, struct manifest_diags *diags);

/* --- manifest-merge.c --- */

/**
 * Merges low into high, the way an including file takes what it includes: high keeps its
 * scalars and lists, low's list entries come first unless high declares the same mount
 * target, variable, hide or syscall, limits take the smaller value, trace kinds add up.
 * With identity, high also takes low's path, dir, name, version, description and files when
 * it has none. low is left empty (free it). Returns 0 or -ENOMEM (then both are valid but
 * partly merged).
 */
int manifest_merge(struct manifest *high, struct manifest *low, bool identity);

/** An empty manifest with every limit unset, and path and dir from opts; NULL on ENOMEM. */
struct manifest *manifest_new(const struct manifest_parse_opts *opts);

/** Appends a problem to diags; returns 0 or -ENOMEM. */
int manifest_diags_add(struct manifest_diags *diags, struct manifest_loc loc, const char *fmt, ...)
	_printf_(3, 4);

/* --- manifest-check.c --- */

/** [a-z0-9][a-z0-9._-]{0,63} */
bool manifest_name_is_valid(const char *s);
/** [A-Za-z_][A-Za-z0-9_]* */
bool manifest_env_name_is_valid(const char *s);
/**
 * Why p cannot be a path inside the sandbox ("must be absolute", ...), or NULL when it can:
 * absolute, normalized and not at or below /proc or /dev.
 */
const char *manifest_inside_path_problem(const char *p);
/**
 * Splits a mount entry written as one string, "host[:inside]", at its first ':'; inside is
 * NULL without one. Returns 0 or -ENOMEM.
 */
int manifest_split_mount(const char *text, char **ret_host, char **ret_inside);
/**
 * Resolves a host path as written in the manifest: "~" and "~/..." from home, relative paths
 * against dir, then lexically normalized. Returns 0, -ENOMEM, or -EINVAL with a short reason
 * in *ret_problem.
 */
int manifest_resolve_host_path(const char *p, const char *dir, const char *home, char **ret,
			       const char **ret_problem);
/** An IPv4 or IPv6 literal as a full-length prefix; 0 or -EINVAL. */
int manifest_parse_address(const char *s, struct manifest_cidr *ret);
/**
 * "addr/prefix" or a bare address. Returns 0; -EINVAL on bad syntax; -ERANGE when the prefix
 * is too long for the family; -EADDRNOTAVAIL when host bits are set, with the network that
 * was probably meant written to suggest (at least 64 bytes).
 */
int manifest_parse_cidr(const char *s, struct manifest_cidr *ret, char *suggest,
			size_t suggest_size);

/**
 * Appends a zeroed element to a heap array of *n elements of size bytes, growing it in
 * powers of two; returns the element or NULL when out of memory.
 */
void *manifest_array_append(void *arrayp, size_t *n, size_t size);
