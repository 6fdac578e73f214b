/* SPDX-License-Identifier: MIT */
/*
 * Adding an egress entry to a manifest's text (manifest.h: manifest_add_egress()), for
 * `skillbox run --ask`. The file is edited as text, so that its comments, order and layout stay
 * as they are; libyaml's events say where network.egress is and how it is indented. Only block
 * style is edited: a flow-style list ("egress: [...]") is refused, and the caller prints the
 * entry for the user to add.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "manifest.h"

/* Where things are, as 0-based offsets, lines and columns of the text. */
struct where {
	bool network, egress;	  /* the keys were found */
	bool network_null;	  /* network: with nothing after it */
	bool egress_null;	  /* egress: with nothing after it */
	bool flow;		  /* one of them is in flow style: not edited */
	size_t network_key_col;	  /* column of "network" */
	size_t network_key_line;  /* its line */
	size_t network_child_col; /* column of network's keys (block mapping) */
	size_t network_end_line;  /* last line of network's content */
	size_t egress_key_col, egress_key_line;
	size_t dash_col;	/* column of the egress items' "-" */
	size_t item_key_col;	/* column of the first item's keys */
	bool have_items;	/* at least one item */
	size_t egress_end_line; /* last line of the last item's content */
	size_t root_key_col;
};

enum key_kind {
	KEY_OTHER,
	KEY_NETWORK,
	KEY_EGRESS,
};

/* One open mapping or sequence. */
struct frame {
	bool map, flow;
	bool expect_key;	    /* a mapping: the next node is a key */
	enum key_kind key;	    /* a mapping: the key whose value comes next */
	bool is_network, is_egress; /* this collection is network's mapping, egress's list */
};

#define MAX_FRAMES 64

/* Walks the document's events and fills w. Returns 0, -EINVAL when it does not parse. */
static int locate(const char *data, size_t len, struct where *w)
{
	struct frame f[MAX_FRAMES];
	size_t depth = 0, network_frame = SIZE_MAX, egress_frame = SIZE_MAX;
	yaml_parser_t p;
	yaml_event_t ev;
	int r = 0;

	*w = (struct where){ 0 };
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	for (bool done = false; !done && r == 0;) {
		struct frame *top = depth ? &f[depth - 1] : NULL;
		bool node = false, as_key = false, flow_end = false;
		enum key_kind value_of = KEY_OTHER;

		if (!yaml_parser_parse(&p, &ev)) {
			r = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			node = true;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			flow_end = top && top->flow;
			break;
		default:
			break;
		}
		if (node && top && top->map) {
			as_key = top->expect_key;
			if (!as_key)
				value_of = top->key;
			top->expect_key = !top->expect_key;
		}

		/* The last line holding content of network's mapping and of egress's list:
		   scalars and flow collections end where their text ends (a block collection's
		   end is where the next token starts). */
		if ((ev.type == YAML_SCALAR_EVENT && ev.start_mark.index != ev.end_mark.index) ||
		    flow_end) {
			if (network_frame != SIZE_MAX && depth > network_frame)
				w->network_end_line = MAX(w->network_end_line, ev.end_mark.line);
			if (egress_frame != SIZE_MAX && depth > egress_frame)
				w->egress_end_line = MAX(w->egress_end_line, ev.end_mark.line);
		}

		if (as_key) {
			const char *v = ev.type == YAML_SCALAR_EVENT
						? (const char *)ev.data.scalar.value
						: "";

			top->key = KEY_OTHER;
			if (depth == 1 && streq(v, "network")) {
				top->key = KEY_NETWORK;
				w->network = true;
				w->network_key_col = ev.start_mark.column;
				w->network_key_line = ev.start_mark.line;
			} else if (top->is_network && streq(v, "egress")) {
				top->key = KEY_EGRESS;
				w->egress = true;
				w->egress_key_col = ev.start_mark.column;
				w->egress_key_line = ev.start_mark.line;
			}
		} else if (node && value_of != KEY_OTHER) {
			bool block_map = ev.type == YAML_MAPPING_START_EVENT &&
					 ev.data.mapping_start.style != YAML_FLOW_MAPPING_STYLE;
			bool block_seq = ev.type == YAML_SEQUENCE_START_EVENT &&
					 ev.data.sequence_start.style != YAML_FLOW_SEQUENCE_STYLE;
			/* Only "key:" with nothing after it is a null that can be filled in. */
			bool empty = ev.type == YAML_SCALAR_EVENT &&
				     ev.start_mark.index == ev.end_mark.index;

			if (value_of == KEY_NETWORK) {
				w->network_null = empty;
				w->flow = w->flow || !(block_map || empty);
				if (block_map) {
					w->network_child_col = ev.start_mark.column;
					w->network_end_line = ev.start_mark.line;
				}
			} else {
				w->egress_null = empty;
				w->flow = w->flow || !(block_seq || empty);
				if (block_seq)
					w->dash_col = ev.start_mark.column;
			}
		} else if (node && top && top->is_egress && !w->have_items) {
			w->have_items = true;
			w->item_key_col = ev.start_mark.column;
		}

		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == MAX_FRAMES) {
				r = -EINVAL;
				break;
			}
			f[depth] = (struct frame){
				.map = ev.type == YAML_MAPPING_START_EVENT,
				.flow = ev.type == YAML_MAPPING_START_EVENT
						? ev.data.mapping_start.style ==
							  YAML_FLOW_MAPPING_STYLE
						: ev.data.sequence_start.style ==
							  YAML_FLOW_SEQUENCE_STYLE,
				.expect_key = ev.type == YAML_MAPPING_START_EVENT,
				.is_network = value_of == KEY_NETWORK,
				.is_egress = value_of == KEY_EGRESS,
			};
			if (depth == 0 && ev.type == YAML_MAPPING_START_EVENT)
				w->root_key_col = ev.start_mark.column;
			if (value_of == KEY_NETWORK)
				network_frame = depth + 1;
			if (value_of == KEY_EGRESS)
				egress_frame = depth + 1;
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth == network_frame)
				network_frame = SIZE_MAX;
			if (depth == egress_frame)
				egress_frame = SIZE_MAX;
			if (depth > 0)
				depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (r == 0 && w->egress && !w->have_items && !w->egress_null)
		w->flow = true; /* an empty flow list, "egress: []" */
	if (r == 0)
		w->network_end_line = MAX(w->network_end_line, w->egress_end_line);
	return r;
}

static void put_spaces(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_putc(b, ' ');
}

/* Offset of the start of 0-based line n (len when the text has fewer lines). */
static size_t line_offset(const char *data, size_t len, size_t n)
{
	size_t off = 0;

	while (n > 0 && off < len) {
		const char *nl = memchr(data + off, '\n', len - off);

		if (!nl)
			return len;
		off = (size_t)(nl - data) + 1;
		n--;
	}
	return off;
}

static void put_entry(struct buf *b, size_t dash_col, size_t key_col, const char *const *entry,
		      size_t n_entry, const char *comment)
{
	if (comment) {
		put_spaces(b, dash_col);
		buf_printf(b, "# %s\n", comment);
	}
	for (size_t i = 0; i < n_entry; i++) {
		if (i == 0) {
			put_spaces(b, dash_col);
			buf_puts(b, "- ");
			put_spaces(b, key_col - dash_col - 2);
		} else {
			put_spaces(b, key_col);
		}
		buf_printf(b, "%s\n", entry[i]);
	}
}

int manifest_add_egress(const char *data, size_t len, const char *const *entry, size_t n_entry,
			const char *comment, struct manifest_edit *ret)
{
	struct where w;
	struct buf ins = BUF_INIT, out = BUF_INIT;
	size_t at_line, at;
	int r;

	if (n_entry == 0)
		return -EINVAL;
	r = locate(data, len, &w);
	if (r < 0)
		return r;
	if (w.flow)
		return -EINVAL;

	if (w.egress && w.have_items) {
		size_t key_col = MAX(w.item_key_col, w.dash_col + 2);

		put_entry(&ins, w.dash_col, key_col, entry, n_entry, comment);
		at_line = w.egress_end_line + 1;
	} else if (w.egress) {
		/* "egress:" with nothing: the list goes below it. */
		put_entry(&ins, w.egress_key_col + 2, w.egress_key_col + 4, entry, n_entry,
			  comment);
		at_line = w.egress_key_line + 1;
	} else if (w.network && !w.network_null) {
		size_t k = w.network_child_col;

		put_spaces(&ins, k);
		buf_puts(&ins, "egress:\n");
		put_entry(&ins, k + 2, k + 4, entry, n_entry, comment);
		at_line = w.network_end_line + 1;
	} else if (w.network) {
		size_t k = w.network_key_col + 2;

		put_spaces(&ins, k);
		buf_puts(&ins, "egress:\n");
		put_entry(&ins, k + 2, k + 4, entry, n_entry, comment);
		at_line = w.network_key_line + 1;
	} else {
		size_t k = w.root_key_col;

		put_spaces(&ins, k);
		buf_puts(&ins, "network:\n");
		put_spaces(&ins, k + 2);
		buf_puts(&ins, "egress:\n");
		put_entry(&ins, k + 4, k + 6, entry, n_entry, comment);
		at_line = SIZE_MAX;
	}
	if (!buf_ok(&ins)) {
		buf_done(&ins);
		return -ENOMEM;
	}

	at = at_line == SIZE_MAX ? len : line_offset(data, len, at_line);
	buf_append(&out, data, at);
	/* A file whose last line has no newline gets one before the addition. */
	if (at > 0 && data[at - 1] != '\n')
		buf_putc(&out, '\n');
	buf_append(&out, ins.data, ins.len);
	buf_append(&out, data + at, len - at);
	*ret = (struct manifest_edit){
		.line = 1,
		.n_lines = 0,
	};
	for (size_t i = 0; i < at; i++)
		if (data[i] == '\n')
			ret->line++;
	if (at > 0 && data[at - 1] != '\n')
		ret->line++;
	for (size_t i = 0; i < ins.len; i++)
		if (ins.data[i] == '\n')
			ret->n_lines++;
	buf_done(&ins);
	if (!buf_ok(&out)) {
		buf_done(&out);
		return -ENOMEM;
	}
	ret->len = out.len;
	ret->text = buf_steal(&out);
	return ret->text ? 0 : -ENOMEM;
}
