#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "domain.h"
#include "policy.h"
#include "util.h"

struct list_report {
	const char *path;
	int route;
	struct dlist_stats st;
};

struct route_extra {
	size_t n;
	struct pkt_addr addrs[POLICY_EXTRA_BYPASS];
};

struct policy {
	struct conf *conf;
	struct domain_matcher *matcher;
	size_t n_reports;
	struct list_report *reports;
	struct route_extra *extra;	/* one per route */
};

const struct conf *policy_conf(const struct policy *p)
{
	return p->conf;
}

static int policy_add_domain(struct policy *p, const struct conf_route *rt, size_t i,
			     uint16_t idx, char *err, size_t errlen)
{
	unsigned line = rt->domain_lines ? rt->domain_lines[i] : 0;
	struct domain_rule r;
	char msg[256];
	int ret;

	/* conf_load has checked every rule, so failures here are unexpected */
	if (domain_rule_parse(rt->domains[i], &r, NULL) < 0) {
		snprintf(err, errlen, "%s:%u: invalid rule %s", p->conf->path, line,
			 rt->domains[i]);
		return -EINVAL;
	}
	ret = domain_matcher_add_rule(p->matcher, &r, idx, msg, sizeof(msg));
	if (ret)
		snprintf(err, errlen, "%s:%u: adding %s: %s", p->conf->path, line, rt->domains[i],
			 ret == -EINVAL && msg[0] ? msg : strerror(-ret));
	return ret;
}

static int policy_add_route(struct policy *p, uint16_t idx, char *err, size_t errlen)
{
	const struct conf_route *rt = &p->conf->routes[idx];
	int ret;

	for (size_t i = 0; i < rt->n_domains; i++) {
		ret = policy_add_domain(p, rt, i, idx, err, errlen);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < rt->n_lists; i++) {
		struct list_report *rep = &p->reports[p->n_reports++];
		char msg[CONF_ERR_MAX];

		rep->path = rt->lists[i];
		rep->route = idx;
		ret = dlist_load_format(rt->lists[i], rt->list_format, p->matcher, idx, &rep->st,
					msg, sizeof(msg));
		if (ret) {
			/* msg is "PATH: reason"; the key that names the list says where */
			snprintf(err, errlen, "%s:%u: domain-list %s", p->conf->path,
				 rt->list_lines ? rt->list_lines[i] : 0, msg);
			return ret;
		}
	}
	return 0;
}

int policy_new(struct conf *c, struct policy **out, char *err, size_t errlen)
{
	struct policy *p = calloc(1, sizeof(*p));
	size_t n_lists = 0;
	int ret = -ENOMEM;

	*out = NULL;
	if (!p) {
		conf_free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->conf = c;
	for (size_t i = 0; i < c->n_routes; i++)
		n_lists += c->routes[i].n_lists;
	p->matcher = domain_matcher_new();
	p->reports = calloc(n_lists + 1, sizeof(*p->reports));
	p->extra = calloc(c->n_routes + 1, sizeof(*p->extra));
	if (!p->matcher || !p->reports || !p->extra) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		ret = policy_add_route(p, (uint16_t)i, err, errlen);
		if (ret)
			goto fail;
	}
	ret = domain_matcher_finish(p->matcher);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	policy_free(p);
	return ret;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	domain_matcher_free(p->matcher);
	free(p->reports);
	free(p->extra);
	conf_free(p->conf);
	free(p);
}

int policy_route_of_name(const struct policy *p, const char *name, size_t *match_len)
{
	return domain_matcher_lookup(p->matcher, name, match_len);
}

int policy_match_name(const struct policy *p, const char *name, struct domain_match *out)
{
	return domain_matcher_match(p->matcher, name, out);
}

static bool addr_eq(const struct pkt_addr *a, const struct pkt_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->a, b->a, a->family == AF_INET ? 4 : 16);
}

bool policy_route_excludes(const struct policy *p, int idx, const struct pkt_addr *dst)
{
	const struct conf_route *rt = &p->conf->routes[idx];
	const struct route_extra *ex = &p->extra[idx];

	if ((rt->has_gw4 && addr_eq(&rt->gw4, dst)) || (rt->has_gw6 && addr_eq(&rt->gw6, dst)))
		return true;
	for (size_t i = 0; i < rt->n_bypass; i++)
		if (addr_eq(&rt->bypass[i], dst))
			return true;
	for (size_t i = 0; i < ex->n; i++)
		if (addr_eq(&ex->addrs[i], dst))
			return true;
	return false;
}

int policy_route_exclude_add(struct policy *p, int idx, const struct pkt_addr *addr)
{
	struct route_extra *ex = &p->extra[idx];

	if (policy_route_excludes(p, idx, addr))
		return 0;
	if (ex->n >= POLICY_EXTRA_BYPASS)
		return -ENOSPC;
	ex->addrs[ex->n++] = *addr;
	return 0;
}

size_t policy_rule_count(const struct policy *p)
{
	return domain_matcher_count(p->matcher);
}

/* ", 3 suffix, 1 regexp" for the nonzero counts, or "". */
static void policy_print_kinds(const size_t *kinds, FILE *out)
{
	for (int k = 0; k < DOMAIN_KIND_COUNT; k++)
		if (kinds[k])
			fprintf(out, ", %zu %s", kinds[k], domain_kind_name((enum domain_kind)k));
}

static void policy_print_list(const struct policy *p, const struct list_report *rep, FILE *out)
{
	const struct dlist_stats *st = &rep->st;
	const struct conf_route *rt = &p->conf->routes[rep->route];

	/* "domains loaded, lines skipped" as before formats existed: scripts look for it */
	fprintf(out, "  list %s (route %s): %zu domains loaded, %zu lines skipped; format %s%s",
		rep->path, rt->name, st->loaded, st->skipped, dlist_format_name(st->format),
		rt->list_format == DLIST_AUTO ? " (detected)" : "");
	policy_print_kinds(st->kinds, out);
	if (st->direct)
		fprintf(out, ", %zu exceptions (left unmarked)", st->direct);
	if (st->includes)
		fprintf(out, ", %zu files included", st->includes);
	if (st->filtered)
		fprintf(out, ", %zu left out by attribute filters", st->filtered);
	fprintf(out, "\n");
	for (size_t k = 0; k < st->n_reasons; k++) {
		fprintf(out, "    skipped %zu: %s", st->reasons[k].count, st->reasons[k].why);
		for (size_t l = 0; l < st->reasons[k].n_lines; l++)
			fprintf(out, "%s%u", l ? ", " : " (line ", st->reasons[k].lines[l]);
		fprintf(out, "%s\n", st->reasons[k].n_lines ? ")" : "");
	}
	if (st->other)
		fprintf(out, "    skipped %zu for other reasons\n", st->other);
	for (size_t k = 0; k < st->n_samples; k++)
		fprintf(out, "    %s%s%s:%u: %s\n", rep->path,
			st->samples[k].file[0] ? " include " : "", st->samples[k].file,
			st->samples[k].line, st->samples[k].why);
}

/*
 * Rules that take route idx, by kind: its domains = and what its lists loaded (their @@
 * exceptions take no route). Returns their sum.
 */
static size_t policy_route_kinds(const struct policy *p, size_t idx, size_t *kinds)
{
	const struct conf_route *rt = &p->conf->routes[idx];
	size_t total = rt->n_domains;

	for (size_t i = 0; i < p->n_reports; i++) {
		const struct dlist_stats *st = &p->reports[i].st;

		if ((size_t)p->reports[i].route != idx)
			continue;
		total += st->loaded - st->direct;
		for (int k = 0; k < DOMAIN_KIND_COUNT; k++)
			kinds[k] += st->kinds[k] - st->direct_kinds[k];
	}
	for (size_t i = 0; i < rt->n_domains; i++) {
		enum domain_kind k = DOMAIN_SUFFIX;

		for (int j = DOMAIN_FULL; j < DOMAIN_KIND_COUNT; j++) {
			const char *name = domain_kind_name((enum domain_kind)j);
			size_t n = strlen(name);

			if (!strncmp(rt->domains[i], name, n) && rt->domains[i][n] == ':')
				k = (enum domain_kind)j;
		}
		kinds[k]++;
	}
	return total;
}

/* The kernel-decided selectors of a route, one line when it has any. */
static void policy_print_selectors(const struct conf_route *rt, FILE *out)
{
	if (!rt->inbound_if[0] && !rt->n_sources && !rt->n_ports && !rt->n_networks && !rt->dns)
		return;
	if (!rt->inbound_if[0] && !rt->n_sources && !rt->n_ports && !rt->n_networks) {
		fprintf(out, "  DNS queries for its names take it (dns = yes)\n");
		return;
	}
	fprintf(out, "  selectors:");
	if (rt->inbound_if[0])
		fprintf(out, " inbound-interface %s,", rt->inbound_if);
	if (rt->n_sources)
		fprintf(out, " %zu source %s,", rt->n_sources,
			rt->n_sources == 1 ? "prefix" : "prefixes");
	for (size_t i = 0; i < rt->n_ports; i++) {
		const struct conf_ports *pt = &rt->ports[i];

		fprintf(out, " %s:%u", pt->proto == IPPROTO_TCP ? "tcp" : "udp", pt->lo);
		if (pt->hi != pt->lo)
			fprintf(out, "-%u", pt->hi);
		fputc(',', out);
	}
	if (rt->n_networks)
		fprintf(out, " %zu %s,", rt->n_networks,
			rt->n_networks == 1 ? "network" : "networks");
	fprintf(out, " decided in the kernel%s\n",
		rt->dns ? "; DNS queries for its names take it too" : "");
}

void policy_print_summary(const struct policy *p, FILE *out)
{
	const struct conf *c = p->conf;
	size_t total[DOMAIN_KIND_COUNT];

	fprintf(out, "%s: OK\nmark-mask 0x%x, fail-mode %s\n", c->path, c->mark_mask,
		c->fail_mode == CONF_FAIL_OPEN ? "open" : "closed");
	conf_queue_print(c, out);
	fprintf(out, "precedence: inbound-interface, sources, ports, networks (longest prefix), "
		"domains, then default (%s)\n", c->default_route >= 0 ?
		c->routes[c->default_route].name : "none: unmatched traffic is left alone");
	fprintf(out, "matching: full name, then longest suffix, then first keyword, "
		"then first regexp\n");
	if (c->n_lan_ifs) {
		fprintf(out, "gateway mode: new connections from");
		for (size_t i = 0; i < c->n_lan_ifs; i++)
			fprintf(out, " %s", c->lan_ifs[i]);
		fprintf(out, " are classified too\n");
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		size_t kinds[DOMAIN_KIND_COUNT] = { 0 };
		size_t n = policy_route_kinds(p, i, kinds);

		if (rt->table == CONF_TABLE_MAIN)
			fprintf(out, "route %s: table main (left unmarked), %zu %s",
				rt->name, n, n == 1 ? "domain" : "domains");
		else
			fprintf(out, "route %s: interface %s, table %u, mark 0x%x, fail-closed %s, "
				"masquerade %s, %zu %s", rt->name, rt->ifname, rt->table,
				rt->mark, rt->fail_closed ? "yes" : "no",
				rt->masquerade ? "yes" : "no", n, n == 1 ? "domain" : "domains");
		policy_print_kinds(kinds, out);
		fprintf(out, "\n");
		policy_print_selectors(rt, out);
	}
	for (size_t i = 0; i < p->n_reports; i++)
		policy_print_list(p, &p->reports[i], out);
	for (int k = 0; k < DOMAIN_KIND_COUNT; k++)
		total[k] = domain_matcher_count_kind(p->matcher, (enum domain_kind)k);
	fprintf(out, "%zu domain rules in total", policy_rule_count(p));
	policy_print_kinds(total, out);
	fprintf(out, "\n");
}

const char *policy_route_name(const struct policy *p, int route)
{
	if (route < 0)
		return NULL;
	if (route == DOMAIN_ROUTE_DIRECT)
		return "direct";
	if ((size_t)route >= p->conf->n_routes)
		return "(stale)";
	return p->conf->routes[route].name;
}

/*
 * A list that gave no rule is almost always the wrong format = (a gfwlist read as dnsmasq
 * skips every line) or the wrong file: valid, but the route would silently match nothing.
 */
static void policy_warn_list(const struct policy *p, const struct list_report *rep,
			     conf_warn_fn fn, void *ctx)
{
	const struct dlist_stats *st = &rep->st;
	const struct conf_route *rt = &p->conf->routes[rep->route];
	char msg[CONF_ERR_MAX + 64], quoted[CONF_ERR_MAX / 2];

	if (st->loaded)
		return;
	util_quote(quoted, sizeof(quoted), rep->path);
	if (!st->skipped && !st->filtered)
		snprintf(msg, sizeof(msg), "%s: no rule read: the list has no entries", quoted);
	else if (rt->list_format != DLIST_AUTO && st->detected != st->format)
		snprintf(msg, sizeof(msg), "%s: no rule read from %zu %s; is format = right? "
			 "(detected format would be %s)", quoted, st->skipped,
			 st->skipped == 1 ? "line" : "lines", dlist_format_name(st->detected));
	else
		snprintf(msg, sizeof(msg), "%s: no rule read from %zu %s (format %s%s); is it "
			 "the right file?", quoted, st->skipped,
			 st->skipped == 1 ? "line" : "lines", dlist_format_name(st->format),
			 rt->list_format == DLIST_AUTO ? ", detected" : "");
	fn(ctx, LOG_WARNING, msg);
}

void policy_warnings(const struct policy *p, conf_warn_fn fn, void *ctx)
{
	const struct conf *c = p->conf;
	char msg[64];

	for (size_t i = 0; i < c->n_warnings; i++)
		fn(ctx, LOG_WARNING, c->warnings[i]);
	if (c->warnings_dropped) {
		snprintf(msg, sizeof(msg), "%zu more warnings not shown", c->warnings_dropped);
		fn(ctx, LOG_WARNING, msg);
	}
	for (size_t i = 0; i < p->n_reports; i++)
		policy_warn_list(p, &p->reports[i], fn, ctx);
}
