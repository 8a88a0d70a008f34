/*
 * What the control socket asks of the running daemon: why, reload (with --reroute),
 * flush, and status (daemon_status.c). Everything runs on the loop between packet
 * batches; nothing here is on the packet path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addrmap.h"
#include "classify.h"
#include "control.h"
#include "ctconn.h"
#include "daemon_int.h"
#include "dns.h"
#include "domain.h"
#include "learnlog.h"
#include <time.h>
#include "pkt.h"
#include "policy.h"
#include "util.h"

/* ---- helpers ---- */

static bool prefix_has(const struct conf_prefix *p, const struct pkt_addr *a)
{
	size_t full = p->len / 8;
	unsigned rem = p->len % 8;

	if (p->addr.family != a->family || memcmp(p->addr.a, a->a, full) != 0)
		return false;
	return !rem || !((p->addr.a[full] ^ a->a[full]) & (0xff << (8 - rem)) & 0xff);
}

/* ---- per-route counters across reloads ---- */

static void flows_names_set(struct daemon *d)
{
	const struct conf *c = policy_conf(d->policy);

	memset(d->route_flows_of, 0, sizeof(d->route_flows_of));
	for (size_t i = 0; i < c->n_routes && i < DAEMON_ROUTE_SLOTS; i++)
		util_strlcpy(d->route_flows_of[i], c->routes[i].name, CONF_NAME_MAX);
}

void daemon_flows_sync(struct daemon *d)
{
	const struct conf *c = policy_conf(d->policy);
	uint64_t flows[DAEMON_ROUTE_SLOTS] = { 0 };
	size_t n = c->n_routes < DAEMON_ROUTE_SLOTS ? c->n_routes : DAEMON_ROUTE_SLOTS;
	bool same = true;

	for (size_t i = 0; i < DAEMON_ROUTE_SLOTS && same; i++)
		same = !strcmp(d->route_flows_of[i], i < n ? c->routes[i].name : "");
	if (same)
		return;
	for (size_t k = 0; k <= d->n_pkts; k++) {
		uint64_t *have = k < d->n_pkts ? d->pkts[k]->route_flows : d->retired_flows;

		memset(flows, 0, sizeof(flows));
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < DAEMON_ROUTE_SLOTS; j++)
				if (!strcmp(d->route_flows_of[j], c->routes[i].name)) {
					flows[i] = have[j];
					break;
				}
		memcpy(have, flows, sizeof(flows));
	}
	flows_names_set(d);
}

/* ---- why ---- */

/* "route vpn (mark 0x100)", "direct", "unrouted", for a route index. */
static void why_route(const struct daemon *d, int route, char *buf, size_t size)
{
	const struct conf *c = policy_conf(d->policy);

	if (route >= 0 && (size_t)route < c->n_routes && c->routes[route].table != CONF_TABLE_MAIN)
		snprintf(buf, size, "route %s (mark 0x%x)", c->routes[route].name,
			 c->routes[route].mark);
	else if (route >= 0 && (size_t)route < c->n_routes)
		snprintf(buf, size, "%s (unmarked exception)", c->routes[route].name);
	else if (route >= 0)
		snprintf(buf, size, "a route that no longer exists (unmarked)");
	else
		snprintf(buf, size, "unrouted");
}

/* Where a full/suffix/keyword rule text was configured: " (NAME line N)" or a list. */
static void why_rule_origin(const struct conf *c, const struct domain_match *m,
			    const char *rule, char *buf, size_t size)
{
	const struct conf_route *r = m->route < c->n_routes ? &c->routes[m->route] : NULL;

	if (r && r->n_lists == 1)
		snprintf(buf, size, " (from domain-list %s)", r->lists[0]);
	else if (r && r->n_lists > 1)
		snprintf(buf, size, " (from one of the %zu domain lists of route %s, e.g. %s)",
			 r->n_lists, r->name, r->lists[0]);
	else
		snprintf(buf, size, " (from a domain list)");
	for (size_t k = 0; r && k < r->n_domains; k++)
		if (!strcmp(r->domains[k], rule)) {
			snprintf(buf, size, " (%s line %u)", c->path, r->domain_lines[k]);
			return;
		}
}

/* "suffix rule github.com (FILE line 12)", for a match of name. */
static void why_rule(const struct daemon *d, const char *name, const struct domain_match *m,
		     char *buf, size_t size)
{
	const struct conf *c = policy_conf(d->policy);
	const struct conf_route *r = m->route < c->n_routes ? &c->routes[m->route] : NULL;
	char rule[DOMAIN_RULE_MAX + 16] = "", origin[CONF_ERR_MAX] = "";
	const char *shown = rule;

	if ((m->kind == DOMAIN_SUFFIX || m->kind == DOMAIN_FULL) && m->len <= strlen(name)) {
		shown = name + strlen(name) - m->len;
		snprintf(rule, sizeof(rule), "%s%s", m->kind == DOMAIN_FULL ? "full:" : "", shown);
	} else if (m->kind == DOMAIN_KEYWORD) {
		/* the matcher reports the word's length: find it among the configured ones */
		for (size_t k = 0; r && k < r->n_domains && !rule[0]; k++) {
			const char *d_k = r->domains[k];

			if (!strncmp(d_k, "keyword:", 8) && strlen(d_k + 8) == m->len &&
			    strstr(name, d_k + 8))
				snprintf(rule, sizeof(rule), "%s", d_k);
		}
		shown = rule + 8;
	}
	if (!rule[0]) {
		snprintf(buf, size, "%s rule #%zu (from a domain list or the configuration)",
			 domain_kind_name(m->kind), m->index + 1);
		return;
	}
	why_rule_origin(c, m, rule, origin, sizeof(origin));
	snprintf(buf, size, "%s rule %s%s", domain_kind_name(m->kind), shown, origin);
}

/* When and from which resolver, while the bounded history still has it. */
static void why_when(const struct daemon *d, const struct pkt_addr *a, FILE *out)
{
	struct learnlog_entry le;
	char stamp[32], from[INET6_ADDRSTRLEN];
	struct tm tm;

	if (learnlog_find(d->learnlog, a, &le) < 0) {
		fprintf(out, "  learned before the recent history nfqroute keeps\n");
		return;
	}
	localtime_r(&le.when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	if (le.from.family)
		fprintf(out, "  last learned %s from a DNS reply of resolver %s\n", stamp,
			pkt_addr_str(&le.from, from, sizeof(from)));
	else
		fprintf(out, "  last learned %s by nfqroute's own refresh lookup\n", stamp);
}

static void why_learned(const struct daemon *d, const char *what, const struct pkt_addr *a,
			const struct addrmap_entry *e, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);
	uint64_t now = util_now_ms(), grace = addrmap_grace(d->am);
	char route[CONF_NAME_MAX + 32], rule[CONF_ERR_MAX + DOMAIN_RULE_MAX];
	struct domain_match m;

	why_route(d, e->route == DOMAIN_ROUTE_DIRECT ? -1 : e->route, route, sizeof(route));
	if (e->route == DOMAIN_ROUTE_DIRECT)
		snprintf(route, sizeof(route), "direct (a list exception: unmarked)");
	fprintf(out, "%s: learned from %s -> %s\n", what, e->name, route);
	why_when(d, a, out);
	if (!e->grace)
		fprintf(out, "  TTL %" PRIu64 " s left, then %" PRIu64 " s of grace\n",
			(e->expires_ms - now + 999) / 1000, grace / 1000);
	else
		fprintf(out, "  expired %" PRIu64 " s ago, in grace for %" PRIu64 " s more\n",
			(now - e->expires_ms) / 1000, (e->expires_ms + grace - now + 999) / 1000);
	if (policy_match_name(d->policy, e->name, &m) == 0) {
		why_rule(d, e->name, &m, rule, sizeof(rule));
		fprintf(out, "  %s\n", rule);
	} else {
		fprintf(out, "  no rule matches %s any more: new connections are not routed "
			"by it\n", e->name);
	}
	if (e->route < c->n_routes && policy_route_excludes(d->policy, e->route, a))
		fprintf(out, "  but it is that route's gateway or tunnel endpoint: never routed "
			"into it\n");
}

/* The route whose networks hold a by the longest prefix (the kernel's choice), or -1. */
static int why_networks(const struct conf *c, const struct pkt_addr *a, size_t *which)
{
	int best = -1;

	for (size_t i = 0; i < c->n_routes; i++)
		for (size_t k = 0; k < c->routes[i].n_networks; k++) {
			const struct conf_prefix *p = &c->routes[i].networks[k];

			if (prefix_has(p, a) &&
			    (best < 0 || p->len > c->routes[best].networks[*which].len)) {
				best = (int)i;
				*which = k;
			}
		}
	return best;
}

static int why_addr(struct daemon *d, const char *what, const struct pkt_addr *a, FILE *out,
		    char *err, size_t errlen)
{
	const struct conf *c = policy_conf(d->policy);
	char buf[INET6_ADDRSTRLEN], route[CONF_NAME_MAX + 32];
	struct addrmap_entry e;
	size_t k = 0;
	int rt;

	if (addrmap_lookup(d->am, a, util_now_ms(), &e) == 0) {
		why_learned(d, what, a, &e, out);
		return 0;
	}
	rt = why_networks(c, a, &k);
	if (rt >= 0) {
		why_route(d, rt, route, sizeof(route));
		fprintf(out, "%s: not learned; in networks %s/%u of %s, decided in the kernel\n",
			what, pkt_addr_str(&c->routes[rt].networks[k].addr, buf, sizeof(buf)),
			c->routes[rt].networks[k].len, route);
		return 0;
	}
	if (c->default_route >= 0) {
		why_route(d, c->default_route, route, sizeof(route));
		fprintf(out, "%s: not learned from any routed name -> default %s\n", what, route);
		return 0;
	}
	snprintf(err, errlen, "%s was not learned from any routed name: not routed", what);
	return -ENOENT;
}

struct why_name_walk {
	const char *name;
	uint64_t now, grace;
	size_t n;
	FILE *out;
};

static int why_name_visit(void *ctx, const struct pkt_addr *addr, const struct addrmap_entry *e)
{
	struct why_name_walk *w = ctx;
	char a[INET6_ADDRSTRLEN];

	if (strcmp(e->name, w->name) != 0)
		return 0;
	if (w->n++ == 0)
		fprintf(w->out, "learned addresses:\n");
	if (e->grace)
		fprintf(w->out, "  %s  in grace for %" PRIu64 " s more\n",
			pkt_addr_str(addr, a, sizeof(a)),
			(e->expires_ms + w->grace - w->now) / 1000);
	else
		fprintf(w->out, "  %s  TTL %" PRIu64 " s left\n", pkt_addr_str(addr, a, sizeof(a)),
			(e->expires_ms - w->now + 999) / 1000);
	return 0;
}

static int why_name(struct daemon *d, const char *name, FILE *out, char *err, size_t errlen)
{
	struct why_name_walk w = { name, util_now_ms(), addrmap_grace(d->am), 0, out };
	char route[CONF_NAME_MAX + 32], rule[CONF_ERR_MAX + DOMAIN_RULE_MAX];
	struct domain_match m;
	bool matched = policy_match_name(d->policy, name, &m) == 0;

	if (matched) {
		why_rule(d, name, &m, rule, sizeof(rule));
		why_route(d, m.route == DOMAIN_ROUTE_DIRECT ? -1 : m.route, route, sizeof(route));
		fprintf(out, "%s: %s -> %s\n", name, rule,
			m.route == DOMAIN_ROUTE_DIRECT ? "direct (a list exception)" : route);
	}
	addrmap_foreach(d->am, w.now, why_name_visit, &w);
	if (!matched && !w.n) {
		snprintf(err, errlen, "no rule matches %s", name);
		return -ENOENT;
	}
	if (!w.n)
		fprintf(out, "no addresses learned for %s now\n", name);
	return 0;
}

static int ctl_why(void *ctx, const char *what, FILE *out, char *err, size_t errlen)
{
	char name[DNS_NAME_MAX];
	struct pkt_addr a;

	if (pkt_addr_parse(what, &a) == 0)
		return why_addr(ctx, what, &a, out, err, errlen);
	if (domain_normalize(what, name, sizeof(name)) < 0) {
		snprintf(err, errlen, "%s is neither an address nor a domain name", what);
		return -EINVAL;
	}
	return why_name(ctx, name, out, err, errlen);
}

/* ---- reload --reroute ---- */

/* Addresses learned before a reload, sorted, to tell which connections learning decided. */
struct addr_set {
	struct pkt_addr *a;
	size_t n, cap;
};

static struct pkt_addr addr_key(const struct pkt_addr *a)
{
	struct pkt_addr k = { .family = a->family };

	memcpy(k.a, a->a, a->family == AF_INET ? 4 : 16);
	return k;
}

static int addr_cmp(const void *x, const void *y)
{
	return memcmp(x, y, sizeof(struct pkt_addr));
}

static int addr_set_visit(void *ctx, const struct pkt_addr *addr, const struct addrmap_entry *e)
{
	struct addr_set *s = ctx;

	(void)e;
	if (s->n == s->cap)
		return -ENOSPC;
	s->a[s->n++] = addr_key(addr);
	return 0;
}

static int addr_set_fill(const struct daemon *d, struct addr_set *s)
{
	s->cap = addrmap_count(d->am);
	s->n = 0;
	s->a = s->cap ? malloc(s->cap * sizeof(*s->a)) : NULL;
	if (s->cap && !s->a)
		return -ENOMEM;
	addrmap_foreach(d->am, util_now_ms(), addr_set_visit, s);
	qsort(s->a, s->n, sizeof(*s->a), addr_cmp);
	return 0;
}

static bool addr_set_has(const struct addr_set *s, const struct pkt_addr *a)
{
	struct pkt_addr k = addr_key(a);

	return s->n && bsearch(&k, s->a, s->n, sizeof(*s->a), addr_cmp);
}

struct reroute {
	struct daemon *d;
	const struct conf *c;	/* the new configuration */
	struct addr_set before;
	uint32_t mask;		/* old and new mark-mask: the bits a reroute may change */
	uint64_t now;
};

/* A connection the kernel selectors of its route decide stays theirs. */
static bool route_selects(const struct conf_route *r, const struct ctconn_entry *e)
{
	for (size_t k = 0; k < r->n_networks; k++)
		if (prefix_has(&r->networks[k], &e->dst))
			return true;
	for (size_t k = 0; k < r->n_sources; k++)
		if (prefix_has(&r->sources[k], &e->src))
			return true;
	for (size_t k = 0; k < r->n_ports; k++)
		if (r->ports[k].proto == e->l4proto && e->dport >= r->ports[k].lo &&
		    e->dport <= r->ports[k].hi)
			return true;
	return false;
}

static int route_of_mark(const struct conf *c, uint32_t bits)
{
	for (size_t i = 0; i < c->n_routes; i++)
		if (c->routes[i].table != CONF_TABLE_MAIN && c->routes[i].mark == bits)
			return (int)i;
	return -1;
}

/*
 * The rule: a connection moves when its route's mark no longer exists (cleared), or when
 * learning decides its destination (now, or before the reload for a marked connection)
 * and the new configuration's decision has other route bits than its mark.
 */
static bool reroute_decide(void *ctx, const struct ctconn_entry *e, uint32_t *bits)
{
	struct reroute *rr = ctx;
	uint32_t cur = e->mark & rr->mask;
	int route = cur ? route_of_mark(rr->c, cur) : -1;
	struct pkt_info pi = { .src = e->src, .dst = e->dst, .l4proto = e->l4proto,
			       .sport = e->sport, .dport = e->dport };
	struct classify_result res;

	if (route >= 0 && route_selects(&rr->c->routes[route], e))
		return false;
	classify_flow(rr->d->policy, rr->d->am, &pi, 0, rr->now, &res);
	if (res.expires_ms || (cur && addr_set_has(&rr->before, &e->dst)))
		*bits = res.mark & rr->c->mark_mask;
	else if (cur && route < 0)
		*bits = 0;
	else
		return false;
	return *bits != cur;
}

static int reroute_run(struct reroute *rr, FILE *out, char *err, size_t errlen)
{
	struct ctconn_counts n;
	int ret;

	rr->c = policy_conf(rr->d->policy);
	rr->mask |= rr->c->mark_mask;
	rr->now = util_now_ms();
	ret = ctconn_remark(rr->mask, reroute_decide, rr, &n, err, errlen);
	if (ret < 0)
		return ret;
	fprintf(out, "rerouted %zu connections (of %zu tracked; %zu ended meanwhile)\n",
		n.changed, n.seen, n.gone);
	if (n.failed)
		return -EIO;	/* err says why */
	return 0;
}

static int ctl_reload(void *ctx, bool reroute, FILE *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	struct reroute rr = { .d = d, .mask = policy_conf(d->policy)->mark_mask };
	int ret;

	if (reroute && addr_set_fill(d, &rr.before) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = daemon_reload(d, err, errlen);
	if (ret == 0) {
		daemon_flows_sync(d);
		fprintf(out, "reloaded %s: %zu routes, %zu domain rules\n", d->conf_path,
			policy_conf(d->policy)->n_routes, policy_rule_count(d->policy));
		if (reroute)
			ret = reroute_run(&rr, out, err, errlen);
	}
	free(rr.before.a);
	return ret;
}

static int ctl_flush(void *ctx, FILE *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	size_t n = addrmap_count(d->am);

	(void)err;
	(void)errlen;
	addrmap_clear(d->am, UINT16_MAX);
	fprintf(out, "flushed %zu learned addresses\n", n);
	return 0;
}

static int ctl_status(void *ctx, bool json, FILE *out, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	daemon_status(ctx, json, out);
	return 0;
}

static const struct control_ops daemon_ctl_ops = {
	.status = ctl_status,
	.why = ctl_why,
	.reload = ctl_reload,
	.flush = ctl_flush,
};

int daemon_ctl_start(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	struct control_config cc = { .path = c->control, .timer_slot = CONTROL_TIMER };
	int ret = control_group_lookup(c->control_group, &cc.group, err, errlen);

	if (ret)
		return ret;
	flows_names_set(d);
	return control_new(&cc, d->loop, &daemon_ctl_ops, d, &d->ctl, err, errlen);
}
