/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Small YAML helpers for the verbs that write manifests (learn, import, init) and read other
 * tools' YAML (a SkillSandbox manifest, a SKILL.md front matter). Manifests themselves are
 * read by the manifest folder's own parser, never with these.
 */

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "buf.h"

/** A scalar that reads back as the same string: plain when simple, else double-quoted. */
void yaml_out_scalar(struct buf *b, const char *s);
/** Text for a comment: one line, control characters escaped (common/escape.h). */
void yaml_out_comment(struct buf *b, const char *s);

/* A whole small document (libyaml's tree), for reading another tool's file. */
struct yaml_doc {
	yaml_document_t doc;
	bool loaded;
	char error[256]; /* why loading failed, with the line */
};

/**
 * Loads one YAML document of at most 1 MiB: 0, or -EINVAL with doc->error set (a syntax
 * error, nesting deeper than 16, more than 100 000 nodes visited, aliases counted each time
 * they are used), or -ENOMEM.
 */
int yaml_doc_load(struct yaml_doc *doc, const char *data, size_t len);
void yaml_doc_done(struct yaml_doc *doc);
/** The root node, or NULL for an empty document. */
yaml_node_t *yaml_doc_root(struct yaml_doc *doc);
/** The value of key in a mapping node, or NULL (also when node is not a mapping). */
yaml_node_t *yaml_doc_get(struct yaml_doc *doc, yaml_node_t *map, const char *key);
/** The text of a scalar node (NUL-terminated by libyaml), or NULL for other nodes. */
const char *yaml_doc_text(yaml_node_t *node);
/** The line (1-based) where a node starts. */
unsigned yaml_doc_line(yaml_node_t *node);
