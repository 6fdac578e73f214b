/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "parse-util.h"
#include "summary-internal.h"

/*
 * The facts of one run as "label: value" rows, shared by the text and markdown reports: who
 * ran what, when, with which layers and policy, how it ended, and the refusal counts. Every
 * value from the file is escaped for the report's format on its way into a row.
 */

/* Whether a word needs no quoting to be read back by a shell. */
static bool shell_plain(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-",
			    s[i]) ||
		    !s[i])
			return false;
	return true;
}

/* argv as a shell would read it back. */
static void command_line(struct buf *b, const json_t *argv)
{
	const json_t *a;
	size_t i;

	json_array_foreach (argv, i, a) {
		const char *s = json_string_value(a);
		size_t n = json_string_length(a);

		if (i)
			buf_putc(b, ' ');
		if (!s) {
			json_compact_text(b, a);
		} else if (shell_plain(s, n)) {
			buf_append(b, s, n);
		} else {
			buf_putc(b, '\'');
			for (size_t k = 0; k < n; k++)
				if (s[k] == '\'')
					buf_puts(b, "'\\''");
				else
					buf_putc(b, s[k]);
			buf_putc(b, '\'');
		}
	}
}

/* The items of an array as text joined by sep; false when it is absent or empty. */
static bool join(struct buf *b, const json_t *arr, const char *sep)
{
	const json_t *item;
	size_t i;

	if (!json_is_array(arr) || !json_array_size(arr))
		return false;
	json_array_foreach (arr, i, item) {
		if (i)
			buf_puts(b, sep);
		summary_node_text(b, item);
	}
	return true;
}

static void fv_text(struct buf *b, const struct fv *v, const char *absent)
{
	if (v->s)
		buf_append(b, v->s, v->n);
	else
		buf_puts(b, absent);
}

/* A group's target in a line: "tcp 10.0.0.9:443 (db.example)", "socket family=AF_PACKET". */
void summary_group_target(struct buf *b, const struct group *g, const struct run_info *run)
{
	const struct fv *f = g->f;
	const char *arch;

	switch (g->kind) {
	case G_NET_DENY:
	case G_NET_ALLOW:
	case G_NET_TRACED:
		if (f[0].s) {
			fv_text(b, &f[0], "");
			buf_putc(b, ' ');
		}
		/* An IPv6 address is bracketed before its port, as in a URL. */
		if (f[1].s && memchr(f[1].s, ':', f[1].n) && f[2].s) {
			buf_putc(b, '[');
			fv_text(b, &f[1], "");
			buf_putc(b, ']');
		} else {
			fv_text(b, &f[1], "?");
		}
		if (f[2].s) {
			buf_putc(b, ':');
			fv_text(b, &f[2], "");
		}
		if (f[3].s) {
			buf_puts(b, " (");
			fv_text(b, &f[3], "");
			buf_putc(b, ')');
		}
		break;
	case G_DNS_DENY:
	case G_DNS_SEEN:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		if (f[2].s) {
			buf_puts(b, " (");
			fv_text(b, &f[2], "");
			buf_putc(b, ')');
		}
		break;
	case G_SYSCALL:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		arch = get_str(run->single[S_START], "arch");
		if (f[3].s && !(arch && fv_is(&f[3], arch))) {
			buf_puts(b, " [abi ");
			fv_text(b, &f[3], "");
			buf_putc(b, ']');
		}
		if (f[2].s) {
			buf_puts(b, " -> ");
			fv_text(b, &f[2], "");
		}
		break;
	case G_FILE:
		fv_text(b, &f[1], "?");
		buf_putc(b, ' ');
		fv_text(b, &f[0], "?");
		/* Undeclared: refused by the view, so an attempt, never a change made. */
		if (fv_is(&f[2], "file.change"))
			buf_puts(b, " (change attempt)");
		if (f[3].s) {
			buf_puts(b, " -> ");
			fv_text(b, &f[3], "");
		}
		break;
	case G_EXEC_FAILED:
		fv_text(b, &f[0], "?");
		buf_puts(b, " -> ");
		fv_text(b, &f[1], "?");
		break;
	case G_LIMIT:
		fv_text(b, &f[0], "?");
		if (f[1].s) {
			buf_putc(b, ' ');
			fv_text(b, &f[1], "");
		}
		if (f[2].s) {
			buf_puts(b, " -> ");
			fv_text(b, &f[2], "");
		}
		break;
	case G_LOST:
		fv_text(b, &f[0], "?");
		buf_printf(b, ": %" PRIu64 " event%s lost", g->sum, g->sum == 1 ? "" : "s");
		break;
	case G_SENSITIVE:
		fv_text(b, &f[0], "?");
		/* A probe of what is not there is harmless; one that found something is not. */
		if (fv_is(&f[2], "true")) {
			buf_puts(b, " [PRESENT in the sandbox: ");
			fv_text(b, &f[1], "?");
			buf_puts(b, " of an existing file");
			if (f[3].s) {
				buf_puts(b, ", which failed: ");
				fv_text(b, &f[3], "");
			}
			buf_putc(b, ']');
		}
		break;
	default:
		fv_text(b, &f[0], "?");
		break;
	}
}

/* Appends an untrusted value escaped for the report's format (text or markdown). */
static void put_value(struct report *rp, struct buf *b, const char *s, size_t n)
{
	if (rp->format == AUDIT_SUMMARY_MARKDOWN)
		summary_put_md_code(b, s, n);
	else
		summary_put_safe(b, s, n);
}

static void put_value_z(struct report *rp, struct buf *b, const char *s)
{
	put_value(rp, b, s, strlen(s));
}

/* Escapes what was composed in rp->raw into rp->val, and empties raw. */
static void raw_to_val(struct report *rp)
{
	put_value(rp, &rp->val, rp->raw.data ? rp->raw.data : "", rp->raw.len);
	buf_reset(&rp->raw);
}

/* Appends a node's text as an untrusted value. */
static void val_node(struct report *rp, const json_t *n)
{
	if (n)
		summary_node_text(&rp->raw, n);
	else
		buf_puts(&rp->raw, "?");
	raw_to_val(rp);
}

/*
 * One "label: value" summary_row. A value holds '\n' only between items (escaped values have none):
 * text continues them under the value column, markdown breaks the cell with <br>.
 */
void summary_row(struct report *rp, const char *label)
{
	const char *v = buf_str(&rp->val);

	if (rp->format == AUDIT_SUMMARY_MARKDOWN)
		buf_printf(&rp->b, "| %s | ", label);
	else
		buf_printf(&rp->b, "  %-13s ", label);
	for (; *v; v++) {
		if (*v != '\n')
			buf_putc(&rp->b, *v);
		else if (rp->format == AUDIT_SUMMARY_MARKDOWN)
			buf_puts(&rp->b, "<br>");
		else
			buf_puts(&rp->b, "\n                ");
	}
	buf_puts(&rp->b, rp->format == AUDIT_SUMMARY_MARKDOWN ? " |\n" : "\n");
	buf_reset(&rp->val);
}

/* A time for a table: the time of day when it is on the run's first day, else the whole ts. */
void summary_put_time(struct report *rp, struct buf *b, const char *ts, const struct run_info *run)
{
	if (!ts[0])
		buf_puts(b, "?");
	else if (run->first_ts[0] && memcmp(ts, run->first_ts, 11) == 0)
		buf_append(b, ts + 11, 15);
	else
		buf_puts(b, ts);
}

static void describe_run_by(struct report *rp, const struct run_info *run)
{
	const json_t *st = run->single[S_START];
	struct buf *v = &rp->val;
	uint64_t uid, gid, host, sb;

	if (get_u64(st, "caller_uid", &uid))
		buf_printf(v, "uid %" PRIu64, uid);
	else
		buf_puts(v, "uid ?");
	if (get_u64(st, "caller_gid", &gid))
		buf_printf(v, ", gid %" PRIu64, gid);
	if (get_u64(st, "host_uid", &host)) {
		buf_puts(v, "; sandbox user");
		if (get_u64(st, "sandbox_uid", &sb))
			buf_printf(v, " %" PRIu64, sb);
		buf_printf(v, " mapped to host uid %" PRIu64, host);
		if (host == 0)
			buf_puts(v, " (ROOT)");
	}
}

static void describe_when(struct report *rp, const struct run_info *run)
{
	struct buf *v = &rp->val;
	double d;
	bool measured;

	if (run->first_ts[0])
		buf_puts(v, run->first_ts);
	else
		buf_puts(v, "time unknown");
	if (summary_run_duration(run, &d, &measured))
		buf_printf(v, ", %s %.3f s", measured ? "ran" : "events span", d);
}

static void describe_software(struct report *rp, const struct run_info *run)
{
	const json_t *st = run->single[S_START];
	const json_t *n;

	buf_puts(&rp->val, "skillbox ");
	val_node(rp, get(st, "skillbox") ?: get(st, "version"));
	if ((n = get(st, "kernel"))) {
		buf_puts(&rp->val, ", Linux ");
		val_node(rp, n);
	}
	if ((n = get(st, "arch"))) {
		buf_puts(&rp->val, " ");
		val_node(rp, n);
	}
}

/*
 * The network row: the stack that carried the traffic (net.stack), the fallback and why, and
 * what it could not reach over IPv6. run.start names only the stack requested (older trails:
 * network_stack); a requested stack without net.stack never became ready.
 */
static void network_text(struct report *rp, const struct run_info *run)
{
	const json_t *st = run->single[S_START], *used = summary_stack_used(run), *n;

	if (used) {
		summary_node_text(&rp->raw, used);
	} else if ((n = get(st, "network_stack_requested"))) {
		summary_node_text(&rp->raw, n);
		buf_puts(&rp->raw, " requested, never ready");
	} else {
		/* Our word, not the trail's: plain text (markdown quotes what comes from it). */
		buf_puts(&rp->val, "unknown");
		return;
	}
	if ((n = get(run->stack, "fallback_from"))) {
		buf_puts(&rp->raw, " (");
		summary_node_text(&rp->raw, n);
		buf_puts(&rp->raw, " did not start: ");
		summary_node_text(&rp->raw, get(run->stack, "reason"));
		buf_putc(&rp->raw, ')');
	}
	if ((n = get_array(run->stack, "ipv6_unreachable")) && json_array_size(n)) {
		buf_puts(&rp->raw, "; no IPv6, unreachable:");
		for (size_t i = 0; i < json_array_size(n); i++) {
			buf_puts(&rp->raw, i ? ", " : " ");
			summary_node_text(&rp->raw, get(json_array_get(n, i), "host"));
		}
	}
	raw_to_val(rp);
}

static void describe_list(struct report *rp, const json_t *arr, const char *none)
{
	if (join(&rp->raw, arr, " "))
		raw_to_val(rp);
	else
		buf_puts(&rp->val, none);
}

/* Mounts in brief: how many, and the writable and hidden ones in full. */
static void describe_mounts(struct report *rp, const struct run_info *run)
{
	/* --isolation landlock records Landlock rules where the namespaces mode has mounts. */
	const json_t *mounts =
		get_array(run->single[S_FS], "mounts") ?: get_array(run->single[S_FS], "rules");
	size_t writable = 0, hidden = 0;

	if (!run->single[S_FS]) {
		buf_puts(&rp->val, "not recorded");
		summary_row(rp, "mounts");
		return;
	}
	for (size_t i = 0; i < json_array_size(mounts); i++) {
		const json_t *m = json_array_get(mounts, i);

		writable += get_is(m, "access", "rw");
		hidden += get_is(m, "kind", "hide");
	}
	buf_printf(&rp->val, "%zu (%zu writable%s", json_array_size(mounts), writable,
		   hidden ? ", " : ")");
	if (hidden)
		buf_printf(&rp->val, "%zu hidden)", hidden);
	summary_row(rp, "mounts");

	for (int pass = 0; pass < 2; pass++) {
		bool any = false;

		for (size_t i = 0; i < json_array_size(mounts); i++) {
			const json_t *m = json_array_get(mounts, i), *host = get(m, "host"),
				     *size = get(m, "size");

			if (pass == 0 ? !get_is(m, "access", "rw") : !get_is(m, "kind", "hide"))
				continue;
			if (any)
				buf_putc(&rp->val, '\n');
			any = true;
			val_node(rp, get(m, "path") ?: get(m, "inside"));
			if (pass == 1)
				continue;
			buf_puts(&rp->val, ": ");
			val_node(rp, get(m, "kind"));
			if (host) {
				buf_puts(&rp->val, " of ");
				val_node(rp, host);
			}
			if (size) {
				buf_puts(&rp->val, ", size ");
				val_node(rp, size);
			}
		}
		if (any)
			summary_row(rp, pass == 0 ? "writable" : "hidden");
	}
}

static void describe_egress(struct report *rp, const struct run_info *run)
{
	const json_t *net = run->single[S_NET], *rules = get_array(net, "rules"), *n, *m,
		     *layers = get_array(run->single[S_START], "layers");
	const char *key;
	bool any = false;

	if (!net) {
		/* Without the event only the layers tell whether egress rules existed. */
		bool nft = false;

		for (size_t i = 0; i < json_array_size(layers); i++)
			nft = nft || node_is_str(json_array_get(layers, i), "nftables");
		buf_puts(&rp->val,
			 nft ? "rules not recorded (no policy.net event)" : "none (loopback only)");
		summary_row(rp, "egress");
		return;
	}
	for (size_t i = 0; i < json_array_size(rules); i++) {
		const json_t *rule = json_array_get(rules, i), *dest, *addrs, *ports;

		if (any)
			buf_putc(&rp->val, '\n');
		any = true;
		if (!json_is_object(rule)) {
			summary_node_text(&rp->raw, rule);
			raw_to_val(rp);
			continue;
		}
		if ((n = get(rule, "proto"))) {
			summary_node_text(&rp->raw, n);
			buf_putc(&rp->raw, ' ');
		}
		dest = get(rule, "host") ?: get(rule, "cidr") ?: get(rule, "address");
		if (dest)
			summary_node_text(&rp->raw, dest);
		else
			json_compact_text(&rp->raw, rule);
		addrs = get(rule, "addresses") ?: get(rule, "addrs");
		if (json_array_size(addrs)) {
			buf_puts(&rp->raw, " = ");
			join(&rp->raw, addrs, ", ");
		}
		ports = get(rule, "ports") ?: get(rule, "port");
		if (json_is_array(ports)) {
			buf_puts(&rp->raw, json_array_size(ports) == 1 ? " port " : " ports ");
			if (!join(&rp->raw, ports, ","))
				buf_puts(&rp->raw, "any");
		} else if (ports) {
			buf_puts(&rp->raw, " port ");
			summary_node_text(&rp->raw, ports);
		}
		if ((n = get(rule, "line"))) {
			buf_puts(&rp->raw, " (manifest line ");
			summary_node_text(&rp->raw, n);
			buf_putc(&rp->raw, ')');
		}
		/* An optional host that did not resolve has no rule at all: not an open door. */
		if (json_is_false(get(rule, "resolved")))
			buf_puts(&rp->raw, ": DID NOT RESOLVE, no rule (optional)");
		raw_to_val(rp);
	}
	if (!any)
		buf_puts(&rp->val, get_is(net, "isolation", "landlock")
					   ? "none (no network namespace: AF_UNIX sockets only)"
					   : "none (loopback only)");
	summary_row(rp, "egress");

	JSON_FOREACH_MEMBER (net, key, m) {
		static const char *const shown[] = { "dns", "stack", "stack_requested", "digest",
						     "sha256" };

		for (size_t k = 0; k < ELEMENTSOF(shown); k++)
			if (streq(key, shown[k]) && !json_is_null(m)) {
				if (rp->raw.len)
					buf_puts(&rp->raw, ", ");
				buf_printf(&rp->raw, "%s ", shown[k]);
				summary_node_text(&rp->raw, m);
			}
	}
	if (rp->raw.len) {
		raw_to_val(rp);
		summary_row(rp, "net policy");
	}
}

static void describe_seccomp(struct report *rp, const struct run_info *run)
{
	const json_t *sc = run->single[S_SECCOMP], *n;
	static const struct {
		const char *key, *label;
		bool list;
	} parts[] = {
		{ "default_action", "default", false },
		{ "rules", "rules", false },
		{ "bpf_instructions", "BPF instructions", false },
		{ "allow", "extra allow", true },
		{ "deny", "extra deny", true },
		{ "traced", "traced", true },
		{ "arches", "arches", true },
	};

	if (!sc) {
		buf_puts(&rp->val, "no policy.seccomp event");
		summary_row(rp, "seccomp");
		return;
	}
	buf_puts(&rp->val, "profile ");
	val_node(rp, get(sc, "profile"));
	for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
		n = get(sc, parts[i].key);
		if (!n || (parts[i].list && !json_array_size(n)))
			continue;
		buf_printf(&rp->val, ", %s ", parts[i].label);
		if (join(&rp->raw, n, " "))
			raw_to_val(rp);
		else
			val_node(rp, n);
	}
	if ((n = get(sc, "bpf_sha256"))) {
		buf_puts(&rp->val, "\nBPF sha256 ");
		val_node(rp, n);
	}
	summary_row(rp, "seccomp");
}

static void describe_limits(struct report *rp, const struct run_info *run)
{
	static const char *const skip[] = { "v",     "seq",  "ts",	     "run",
					    "event", "prev", "memory_rlimit" };
	const json_t *l = run->single[S_LIMITS], *m;
	const char *key;
	char tmp[32];
	bool any = false;

	if (!l) {
		buf_puts(&rp->val, "no policy.limits event");
		summary_row(rp, "limits");
		return;
	}
	JSON_FOREACH_MEMBER (l, key, m) {
		bool size, common = false;

		/* The common fields, and how memory is enforced, are not limits. */
		for (size_t k = 0; k < ELEMENTSOF(skip); k++)
			common = common || streq(key, skip[k]);
		if (json_is_null(m) || common)
			continue;
		size = streq(key, "memory") || streq(key, "file_size") || streq(key, "output");
		if (any)
			buf_puts(&rp->val, ", ");
		any = true;
		buf_puts(&rp->raw, key);
		buf_putc(&rp->raw, ' ');
		if (size && json_is_integer(m) && json_integer_value(m) >= 0)
			buf_puts(&rp->raw,
				 format_size(tmp, sizeof(tmp), (uint64_t)json_integer_value(m)));
		else
			summary_node_text(&rp->raw, m);
		raw_to_val(rp);
	}
	if (!any)
		buf_puts(&rp->val, "none set");
	summary_row(rp, "limits");
}

static void describe_env(struct report *rp, const struct run_info *run)
{
	static const char *const lists[] = { "defaults", "passed", "set", "secrets", "missing" };
	const json_t *env = run->single[S_ENV], *stripped;

	if (!env)
		return;
	for (size_t i = 0; i < ELEMENTSOF(lists); i++) {
		if (!join(&rp->raw, get(env, lists[i]), " "))
			continue;
		buf_printf(&rp->val, "%s%s ", rp->val.len ? "; " : "", lists[i]);
		raw_to_val(rp);
	}
	stripped = get_array(env, "stripped");
	if (json_array_size(stripped))
		buf_printf(&rp->val, "%s%zu stripped", rp->val.len ? "; " : "",
			   json_array_size(stripped));
	if (!rp->val.len)
		buf_puts(&rp->val, "nothing passed");
	summary_row(rp, "environment");
}

static void describe_exit(struct report *rp, const struct run_info *run)
{
	const json_t *ex = run->single[S_EXIT], *n;
	struct buf *v = &rp->val;
	uint64_t rss;
	double a, b;

	if (!ex) {
		buf_puts(v, "NO run.exit EVENT (the run did not finish, or the trail was cut)");
		summary_row(rp, "exit");
		return;
	}
	buf_puts(v, "status ");
	if ((n = get(ex, "status")))
		val_node(rp, n);
	else
		buf_puts(v, "?");
	if ((n = get(ex, "reason"))) {
		buf_puts(v, ": ");
		val_node(rp, n);
	}
	if ((n = get(ex, "exit"))) {
		buf_puts(v, ", exit code ");
		val_node(rp, n);
	}
	if ((n = get(ex, "signal"))) {
		buf_puts(v, ", signal ");
		val_node(rp, n);
	}
	if ((n = get(ex, "error"))) {
		buf_puts(v, "\nerror: ");
		val_node(rp, n);
	}
	summary_row(rp, "exit");

	if (summary_get_double(ex, "wall_s", &a))
		buf_printf(v, "wall %.3f s", a);
	if (summary_get_double(ex, "user_cpu_s", &a) && summary_get_double(ex, "sys_cpu_s", &b))
		buf_printf(v, "%scpu %.3f s (user %.3f, sys %.3f)", v->len ? ", " : "", a + b, a,
			   b);
	if (get_u64(ex, "max_rss_kb", &rss))
		buf_printf(v, "%smax RSS %" PRIu64 " KiB", v->len ? ", " : "", rss);
	if (v->len)
		summary_row(rp, "resources");
}

/* Limits the run.summary names that no limit.hit event recorded. */
static void limits_only_in_summary(const struct run_info *run, struct buf *raw)
{
	const json_t *hit = get_array(run->single[S_SUMMARY], "limits_hit");

	/* Bounded, as a forged summary could name a million. */
	for (size_t i = 0; i < MIN(json_array_size(hit), (size_t)32); i++) {
		const json_t *item = json_array_get(hit, i);
		bool seen = false;

		for (size_t k = 0; k < run->n_groups[G_LIMIT] && !seen; k++) {
			const struct fv *f = &run->groups[G_LIMIT][k]->f[0];

			seen = json_is_string(item) && f->s && f->n == json_string_length(item) &&
			       memcmp(f->s, json_string_value(item), f->n) == 0;
		}
		if (seen)
			continue;
		if (raw->len)
			buf_puts(raw, ", ");
		summary_node_text(raw, item);
	}
}

void summary_describe_refusal_counts(struct report *rp, const struct run_info *run)
{
	static const char *const short_names[] = { [G_NET_DENY] = "connections",
						   [G_DNS_DENY] = "dns",
						   [G_SYSCALL] = "syscalls",
						   [G_FILE] = "files" };
	uint64_t total = summary_run_refusals(run), t;
	bool any = false;

	/* Queries already counted as refused connections to the resolver are named apart. */
	uint64_t dns_inside = MIN(run->events[G_DNS_DENY], run->dns_connect_denies);

	buf_printf(&rp->val, "%" PRIu64, total);
	for (int k = G_REFUSAL_FIRST; k <= G_REFUSAL_LAST; k++) {
		uint64_t n = run->events[k] - (k == G_DNS_DENY ? dns_inside : 0);

		if (!n)
			continue;
		buf_printf(&rp->val, "%s%s %" PRIu64, any ? ", " : " (", short_names[k], n);
		any = true;
	}
	if (any)
		buf_putc(&rp->val, ')');
	if (dns_inside)
		buf_printf(&rp->val, "; %" PRIu64 " of the connections were DNS queries",
			   dns_inside);
	if (summary_run_summary_total(run, &t) && t != total)
		buf_printf(&rp->val, "; run.summary counts %" PRIu64, t);
}

/*
 * A verifier's reason, to follow "BROKEN" or a file name: " at line N: why" (the reason's own
 * "line N: " prefix moved), " after line N: ..." as it is, or ": why".
 */
void summary_broken_reason(struct report *rp, struct buf *b, uint64_t bad_line, const char *reason)
{
	char prefix[48];

	snprintf(prefix, sizeof(prefix), "line %" PRIu64 ": ", bad_line);
	if (strneq(reason, prefix, strlen(prefix))) {
		buf_printf(b, " at line %" PRIu64 ": ", bad_line);
		reason += strlen(prefix);
	} else if (strneq(reason, "after ", strlen("after "))) {
		buf_putc(b, ' ');
	} else {
		buf_puts(b, ": ");
	}
	put_value_z(rp, b, reason);
}

static void integrity_text(struct report *rp, const struct run_info *run)
{
	if (run->broken) {
		buf_puts(&rp->val, "BROKEN");
		summary_broken_reason(rp, &rp->val, run->bad_line, run->reason ? run->reason : "");
	} else if (rp->s->broken) {
		buf_puts(&rp->val, "intact on its own (the file as a whole is not)");
	} else {
		buf_puts(&rp->val, "intact");
	}
}

/* The facts rows, shared by text and markdown. */
void summary_run_rows(struct report *rp, const struct run_info *run)
{
	const json_t *st = run->single[S_START], *n;
	uint64_t lost = summary_run_lost(run);

	integrity_text(rp, run);
	summary_row(rp, "integrity");
	if (run->id)
		put_value(rp, &rp->val, run->id, run->id_len);
	else
		buf_puts(&rp->val, "none (lines without a run id)");
	if (run->first_line == run->last_line)
		buf_printf(&rp->val, ", line %" PRIu64, run->first_line);
	else
		buf_printf(&rp->val, ", lines %" PRIu64 "-%" PRIu64, run->first_line,
			   run->last_line);
	if (run->n_lines != run->last_line - run->first_line + 1)
		buf_printf(&rp->val, " (%" PRIu64 " of them)", run->n_lines);
	summary_row(rp, "run");
	if (run->n_unreadable)
		buf_printf(&rp->val, "%" PRIu64 " unreadable line%s", run->n_unreadable,
			   run->n_unreadable == 1 ? "" : "s");
	if (run->n_repeated)
		buf_printf(&rp->val,
			   "%s%" PRIu64 " repeated one-off event%s (run.start, policy.*, "
			   "run.exit or run.summary; the first is shown)",
			   rp->val.len ? ", " : "", run->n_repeated,
			   run->n_repeated == 1 ? "" : "s");
	if (rp->val.len) {
		summary_row(rp, "ANOMALIES");
	}
	if (!st) {
		buf_puts(&rp->val, "NO run.start EVENT: who ran what is unknown");
		summary_row(rp, "start");
	}
	if ((n = get(st, "skill"))) {
		summary_node_text(&rp->raw, n);
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "unknown (no valid manifest)");
	}
	summary_row(rp, "skill");
	if ((n = get(st, "manifest"))) {
		summary_node_text(&rp->raw, n);
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "unknown");
	}
	if ((n = get(st, "manifest_sha256"))) {
		buf_puts(&rp->val, "\nsha256 ");
		summary_node_text(&rp->raw, n);
		raw_to_val(rp);
	}
	summary_row(rp, "manifest");
	if (json_array_size(n = get_array(st, "argv"))) {
		command_line(&rp->raw, n);
		raw_to_val(rp);
		summary_row(rp, "command");
	}
	describe_run_by(rp, run);
	summary_row(rp, "ran by");
	describe_when(rp, run);
	summary_row(rp, "when");
	describe_software(rp, run);
	summary_row(rp, "software");
	describe_list(rp, get(st, "layers"), "none");
	summary_row(rp, "layers");
	/* The mode, and for landlock what it does not enforce, which a reviewer must know. */
	if ((n = get(run->single[S_ISOLATION], "mode") ?: get(st, "isolation"))) {
		const json_t *not_enforced = get_array(run->single[S_ISOLATION], "not_enforced");

		summary_node_text(&rp->raw, n);
		raw_to_val(rp);
		if (node_is_str(n, "landlock"))
			buf_puts(&rp->val, ": no pid, network or mount namespace");
		for (size_t i = 0; i < json_array_size(not_enforced); i++) {
			buf_puts(&rp->val, "\nnot enforced: ");
			summary_node_text(&rp->raw, json_array_get(not_enforced, i));
			raw_to_val(rp);
		}
		summary_row(rp, "isolation");
	}
	network_text(rp, run);
	summary_row(rp, "network");
	describe_list(rp, get(st, "trace"), "none");
	summary_row(rp, "tracing");
	describe_mounts(rp, run);
	describe_egress(rp, run);
	describe_seccomp(rp, run);
	describe_limits(rp, run);
	describe_env(rp, run);
	describe_exit(rp, run);

	limits_only_in_summary(run, &rp->raw);
	if (run->n_groups[G_LIMIT] || rp->raw.len) {
		for (size_t i = 0; i < run->n_groups[G_LIMIT]; i++) {
			if (i)
				buf_puts(&rp->raw, ", ");
			summary_group_target(&rp->raw, run->groups[G_LIMIT][i], run);
			if (run->groups[G_LIMIT][i]->count > 1)
				buf_printf(&rp->raw, " (%" PRIu64 " times)",
					   run->groups[G_LIMIT][i]->count);
		}
		/* The summary-only ones were composed first; the order does not matter. */
		raw_to_val(rp);
	} else {
		buf_puts(&rp->val, "none");
	}
	summary_row(rp, "limits hit");
	if (run->n_files_declared) {
		buf_printf(&rp->val, "%" PRIu64 " within the manifest", run->n_files_declared);
		summary_row(rp, "file events");
	}
	/* Flood control is not loss: repeats are counted exactly, evidence sampled with counts. */
	if (run->repeats_counted)
		buf_printf(&rp->val,
			   "%" PRIu64 " repeat%s of recorded events counted, not written (included "
			   "in the counts below)",
			   run->repeats_counted, run->repeats_counted == 1 ? "" : "s");
	if (run->evidence_left_out)
		buf_printf(&rp->val, "%s%" PRIu64 " trace event%s left out of the trail, counted",
			   rp->val.len ? "; " : "", run->evidence_left_out,
			   run->evidence_left_out == 1 ? "" : "s");
	if (rp->val.len)
		summary_row(rp, "flood control");
	if (lost) {
		buf_printf(&rp->val,
			   "%" PRIu64 " EVENTS LOST: the refusals below are a lower bound", lost);
		summary_row(rp, "lost");
	}
}

void summary_verified_lines(struct buf *b, const struct summary *s)
{
	if (s->verify.lines)
		buf_printf(b, "Only lines 1-%" PRIu64 " verify as one chain.", s->verify.lines);
	else
		buf_puts(b, "No line verifies.");
}
