/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "json.h"
#include "manifest.h"
#include "yaml-util.h"

#define MAX_NODES 100000

/*
 * A path or a name that YAML reads back as the same string without quotes: it starts with a
 * letter, '/' or '.', has only [A-Za-z0-9/._+-], and is none of YAML 1.1's booleans or null.
 */
static bool plain_safe(const char *s)
{
	static const char *const words[] = { "y",     "n",  "yes", "no",  "true",
					     "false", "on", "off", "null" };

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '/' ||
	      s[0] == '.'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-+", *p)))
			return false;
	for (size_t i = 0; i < ELEMENTSOF(words); i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

void yaml_out_scalar(struct buf *b, const char *s)
{
	if (plain_safe(s))
		buf_puts(b, s);
	else
		json_escape(b, s, strlen(s));
}

void yaml_out_comment(struct buf *b, const char *s)
{
	escape_append(b, s, strlen(s));
}

/* Depth and alias checks over the loaded tree (libyaml resolves aliases to shared nodes). */
static int walk(yaml_document_t *d, int id, unsigned depth, unsigned *count)
{
	yaml_node_t *n = yaml_document_get_node(d, id);

	if (!n)
		return 0;
	if (++*count > MAX_NODES || depth > MANIFEST_MAX_DEPTH)
		return -E2BIG;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++)
			if (walk(d, *i, depth + 1, count) < 0)
				return -E2BIG;
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++)
			if (walk(d, p->key, depth + 1, count) < 0 ||
			    walk(d, p->value, depth + 1, count) < 0)
				return -E2BIG;
	}
	return 0;
}

int yaml_doc_load(struct yaml_doc *doc, const char *data, size_t len)
{
	yaml_parser_t p;
	unsigned count = 0;
	int r = 0;

	*doc = (struct yaml_doc){};
	if (len > MANIFEST_MAX_SIZE) {
		snprintf(doc->error, sizeof(doc->error), "larger than 1 MiB");
		return -EINVAL;
	}
	/*
	 * libyaml's loader turns an alias into a reference to the same node (no copy), so a
	 * "billion laughs" costs nothing to load; walk() bounds what reading it would visit.
	 */
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	if (!yaml_parser_load(&p, &doc->doc)) {
		if (p.error == YAML_MEMORY_ERROR)
			r = -ENOMEM;
		else {
			snprintf(doc->error, sizeof(doc->error), "line %zu: %s",
				 p.problem_mark.line + 1, p.problem ? p.problem : "invalid YAML");
			r = -EINVAL;
		}
		yaml_parser_delete(&p);
		return r;
	}
	yaml_parser_delete(&p);
	doc->loaded = true;
	if (yaml_document_get_root_node(&doc->doc) && walk(&doc->doc, 1, 0, &count) < 0) {
		snprintf(doc->error, sizeof(doc->error),
			 "nested deeper than %d levels or too large (aliases?)",
			 MANIFEST_MAX_DEPTH);
		yaml_doc_done(doc);
		return -EINVAL;
	}
	return 0;
}

void yaml_doc_done(struct yaml_doc *doc)
{
	if (doc->loaded)
		yaml_document_delete(&doc->doc);
	doc->loaded = false;
}

yaml_node_t *yaml_doc_root(struct yaml_doc *doc)
{
	return doc->loaded ? yaml_document_get_root_node(&doc->doc) : NULL;
}

yaml_node_t *yaml_doc_get(struct yaml_doc *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = yaml_doc_text(yaml_document_get_node(&doc->doc, p->key));

		if (k && streq(k, key))
			return yaml_document_get_node(&doc->doc, p->value);
	}
	return NULL;
}

const char *yaml_doc_text(yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	/* A NUL inside ("\0") would cut the value short: refuse it. */
	if (memchr(node->data.scalar.value, 0, node->data.scalar.length))
		return NULL;
	return (const char *)node->data.scalar.value;
}

unsigned yaml_doc_line(yaml_node_t *node)
{
	return node ? (unsigned)node->start_mark.line + 1 : 0;
}
