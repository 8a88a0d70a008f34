/*
 * What `inet nfqroute` contains, as data (MASK = mark-mask, M = a route's mark):
 *
 *   prerouting  (filter, mangle): connections arriving on a route's inbound-interface get
 *               M in their ct mark (their replies leave the way they came); then
 *               ct mark&MASK == M -> meta mark = (mark & ~MASK) | M, so tunnel replies pass
 *               rp_filter (src_valid_mark) and forwarded flows keep their route; in gateway
 *               mode new flows from LAN interfaces go through `select`, then the queue.
 *   output      (route, mangle): loopback accepted; the same restore; packets that carry a
 *               route mark are done; new connections go through `select`, then the queue.
 *   input, forward (filter): DNS replies (reply direction of tracked flows, sport 53) are
 *               queued so the classifier learns before the client sees them.
 *
 * New connections fan out over queue..queue+count-1 (queue = N-M: by address hash, or by
 * CPU with queue-fanout = cpu); DNS replies always go to one queue, dns-queue or else the
 * first, so one thread learns them in order.
 *   postrouting (filter, mangle): a new connection whose packet carries M gets M saved in
 *               its ct mark. It must be a later chain: an accept verdict ends the chain
 *               that queued the packet.
 *   nat         (nat, srcnat): masquerade on the interfaces of masquerading routes.
 *   select      (regular): kernel-decided selectors in precedence order: sources, ports,
 *               networks (one interval verdict map per family, longest prefix wins).
 *   route_NAME  (regular): marks with M and accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>

#include "nftplan.h"

static const struct plan_chain base_chains[] = {
	{ "prerouting", "filter", NF_INET_PRE_ROUTING, -150, "mangle" },
	{ "output", "route", NF_INET_LOCAL_OUT, -150, "mangle" },
	{ "input", "filter", NF_INET_LOCAL_IN, -150, "mangle" },
	{ "forward", "filter", NF_INET_FORWARD, -150, "mangle" },
	{ "postrouting", "filter", NF_INET_POST_ROUTING, -150, "mangle" },
	{ "nat", "nat", NF_INET_POST_ROUTING, 100, "srcnat" },
};

enum { CH_PRE, CH_OUT, CH_IN, CH_FWD, CH_POST, CH_NAT, CH_BASE };

struct plan_ctx {
	struct plan *p;
	size_t idx[CH_BASE];	/* base chain -> index in p->chains, or SIZE_MAX */
	size_t select;		/* the select chain, or SIZE_MAX */
	bool lan, learns, queues;
	bool kept;		/* only what stays after stop: see nftplan_build_kept */
};

static bool route_marks(const struct conf_route *rt)
{
	return rt->table != CONF_TABLE_MAIN;
}

static bool route_has_selectors(const struct conf_route *rt)
{
	return rt->n_sources || rt->n_ports || rt->n_networks || rt->dns;
}

const char *nftplan_route_chain(const struct plan *p, int route)
{
	const char *want = p->conf->routes[route].name;

	for (size_t i = 0; i < p->n_chains; i++)
		if (!p->chains[i].type && !strncmp(p->chains[i].name, "route_", 6) &&
		    !strcmp(p->chains[i].name + 6, want))
			return p->chains[i].name;
	return NULL;
}

static size_t plan_chain_add(struct plan *p, const struct plan_chain *def)
{
	p->chains[p->n_chains] = *def;
	return p->n_chains++;
}

static struct plan_rule *plan_rule(struct plan_ctx *x, size_t chain)
{
	struct plan *p = x->p;
	struct plan_rule *r = &p->rules[p->n_rules++];

	memset(r, 0, sizeof(*r));
	r->chain = chain;
	return r;
}

static void stmt(struct plan_rule *r, enum plan_op op, uint32_t val)
{
	r->s[r->n++] = (struct plan_stmt){ .op = op, .val = val };
}

static void stmt_name(struct plan_rule *r, enum plan_op op, const char *name, uint8_t proto)
{
	r->s[r->n++] = (struct plan_stmt){ .op = op, .name = name, .proto = proto };
}

/* queue num first..first + count - 1; CPU fanout only means something over several queues */
static void stmt_queue(struct plan_ctx *x, struct plan_rule *r, uint16_t first, uint16_t count,
		       bool fanout)
{
	uint32_t flags = x->p->bypass ? PLAN_QUEUE_BYPASS : 0;

	if (fanout && count > 1)
		flags |= PLAN_QUEUE_FANOUT;
	r->s[r->n++] = (struct plan_stmt){ .op = S_QUEUE, .val = flags, .lo = first,
					   .hi = (uint16_t)(first + count - 1) };
}

static size_t count_rules(const struct conf *c)
{
	size_t n = 16 + 2 * c->n_lan_ifs;

	for (size_t i = 0; i < c->n_routes; i++)
		n += 14 + c->routes[i].n_ports;
	return n;
}

/* ---- sets: sources per route, networks as one verdict map per family ---- */

static int plan_set_add(struct plan *p, const char *name, uint8_t family, bool vmap,
			struct netset_prefix *in, size_t n, char *err, size_t errlen)
{
	struct plan_set *s = &p->sets[p->n_sets];
	size_t a, b;
	int ret = netset_flatten(in, n, family, &s->elems, &a, &b);

	if (ret == -EEXIST) {
		char text[INET6_ADDRSTRLEN];

		inet_ntop(family, in[a].p.addr.a, text, sizeof(text));
		snprintf(err, errlen, "%s: network %s/%u is listed by routes %s and %s",
			 p->conf->path, text, in[a].p.len, p->conf->routes[in[a].route].name,
			 p->conf->routes[in[b].route].name);
	}
	if (ret < 0)
		return ret;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->family = family;
	s->is_vmap = vmap;
	s->n = (size_t)ret;
	p->n_sets++;
	return 0;
}

/* Collects the prefixes of one family from every route (sources or networks). */
static size_t collect(const struct conf *c, int only_route, bool sources, uint8_t family,
		      struct netset_prefix *out)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		const struct conf_prefix *v = sources ? rt->sources : rt->networks;
		size_t cnt = sources ? rt->n_sources : rt->n_networks;

		if (only_route >= 0 && (size_t)only_route != i)
			continue;
		for (size_t k = 0; k < cnt; k++)
			if (v[k].addr.family == family)
				out[n++] = (struct netset_prefix){ .p = v[k], .route = (int)i };
	}
	return n;
}

static size_t max_prefixes(const struct conf *c)
{
	size_t n = 1;

	for (size_t i = 0; i < c->n_routes; i++)
		n += c->routes[i].n_sources + c->routes[i].n_networks;
	return n;
}

static const char *set_name(uint8_t family, bool sources, const char *route, char *buf,
			    size_t size)
{
	if (sources)
		snprintf(buf, size, "src%c_%s", family == AF_INET ? '4' : '6', route);
	else
		snprintf(buf, size, "nets%c", family == AF_INET ? '4' : '6');
	return buf;
}

static int plan_sets(struct plan *p, char *err, size_t errlen)
{
	const struct conf *c = p->conf;
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	struct netset_prefix *tmp = calloc(max_prefixes(c), sizeof(*tmp));
	char name[PLAN_NAME_MAX];
	int ret = 0;

	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_routes && !ret; i++) {
		for (size_t f = 0; f < 2 && !ret; f++) {
			size_t n = collect(c, (int)i, true, fams[f], tmp);

			if (n)
				ret = plan_set_add(p, set_name(fams[f], true, c->routes[i].name,
					name, sizeof(name)), fams[f], false, tmp, n, err, errlen);
		}
	}
	for (size_t f = 0; f < 2 && !ret; f++) {
		size_t n = collect(c, -1, false, fams[f], tmp);

		if (n)
			ret = plan_set_add(p, set_name(fams[f], false, NULL, name, sizeof(name)),
					   fams[f], true, tmp, n, err, errlen);
	}
	free(tmp);
	return ret;
}

/* ---- chains and rules ---- */

static void plan_restore(struct plan_ctx *x, size_t chain)
{
	const struct conf *c = x->p->conf;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct plan_rule *r;

		if (!route_marks(rt) || (x->kept && !(rt->keep_blackhole && rt->fail_closed)))
			continue;
		r = plan_rule(x, chain);
		stmt(r, S_CTMARK_EQ, c->routes[i].mark);
		stmt(r, S_SET_MARK, c->routes[i].mark);
	}
}

static void plan_inbound(struct plan_ctx *x)
{
	const struct conf *c = x->p->conf;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct plan_rule *r;

		if (!rt->inbound_if[0] || !route_marks(rt))
			continue;
		r = plan_rule(x, x->idx[CH_PRE]);
		stmt_name(r, S_IIFNAME, rt->inbound_if, 0);
		stmt(r, S_CTSTATE_NEW, 0);
		stmt(r, S_SET_CTMARK, rt->mark);
		/* addressed to this host: the mark lets strict rp_filter check the source
		 * against the route's table (src_valid_mark) */
		r = plan_rule(x, x->idx[CH_PRE]);
		stmt_name(r, S_IIFNAME, rt->inbound_if, 0);
		stmt(r, S_CTDIR_ORIGINAL, 0);
		stmt(r, S_FIB_LOCAL, 0);
		stmt(r, S_SET_MARK, rt->mark);
		/* the connection's own forwarded packets keep the main table (a port forward
		 * still reaches its LAN host); only what answers it takes the route */
		r = plan_rule(x, x->idx[CH_PRE]);
		stmt_name(r, S_IIFNAME, rt->inbound_if, 0);
		stmt(r, S_CTDIR_ORIGINAL, 0);
		stmt(r, S_ACCEPT, 0);
	}
}

/* select, then the queue, for new connections (from the host or a LAN interface) */
static void plan_classify(struct plan_ctx *x, size_t chain, const char *lan_if)
{
	struct plan_rule *r;

	if (x->select != SIZE_MAX) {
		r = plan_rule(x, chain);
		if (lan_if)
			stmt_name(r, S_IIFNAME, lan_if, 0);
		stmt(r, S_CTSTATE_NEW, 0);
		if (lan_if)
			stmt(r, S_FIB_NOT_LOCAL, 0);
		stmt_name(r, S_JUMP, x->p->chains[x->select].name, 0);
	}
	if (x->queues) {
		r = plan_rule(x, chain);
		if (lan_if)
			stmt_name(r, S_IIFNAME, lan_if, 0);
		stmt(r, S_CTSTATE_NEW, 0);
		if (lan_if)
			stmt(r, S_FIB_NOT_LOCAL, 0);
		stmt_queue(x, r, x->p->queue, x->p->queue_count, x->p->fanout_cpu);
	}
}

static void plan_dns_replies(struct plan_ctx *x, size_t chain)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };
	/* one queue, never fanned out: one thread learns, in the order the replies come */
	uint16_t dns = x->p->dns_queue >= 0 ? (uint16_t)x->p->dns_queue : x->p->queue;

	for (size_t i = 0; i < 2; i++) {
		struct plan_rule *r = plan_rule(x, chain);

		stmt(r, S_CTDIR_REPLY, 0);
		r->s[r->n++] = (struct plan_stmt){ .op = S_L4_SPORT, .proto = protos[i], .lo = 53 };
		stmt_queue(x, r, dns, 1, false);
	}
}

static void plan_base_rules(struct plan_ctx *x)
{
	const struct conf *c = x->p->conf;
	struct plan_rule *r;

	plan_inbound(x);
	plan_restore(x, x->idx[CH_PRE]);
	if (x->lan) {
		r = plan_rule(x, x->idx[CH_PRE]);
		stmt(r, S_MARK_NONZERO, 0);
		stmt(r, S_ACCEPT, 0);
		for (size_t i = 0; i < c->n_lan_ifs; i++)
			plan_classify(x, x->idx[CH_PRE], c->lan_ifs[i]);
	}

	r = plan_rule(x, x->idx[CH_OUT]);
	stmt(r, S_OIF_LO, 0);
	stmt(r, S_ACCEPT, 0);
	plan_restore(x, x->idx[CH_OUT]);
	r = plan_rule(x, x->idx[CH_OUT]);
	stmt(r, S_MARK_NONZERO, 0);
	stmt(r, S_ACCEPT, 0);
	plan_classify(x, x->idx[CH_OUT], NULL);

	r = plan_rule(x, x->idx[CH_IN]);
	stmt(r, S_IIF_LO, 0);
	stmt(r, S_ACCEPT, 0);
	if (x->learns)
		plan_dns_replies(x, x->idx[CH_IN]);
	if (x->lan && x->learns)
		plan_dns_replies(x, x->idx[CH_FWD]);
}

static void plan_save_and_nat(struct plan_ctx *x)
{
	const struct conf *c = x->p->conf;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct plan_rule *r;

		if (!route_marks(rt))
			continue;
		r = plan_rule(x, x->idx[CH_POST]);
		stmt(r, S_CTSTATE_NEW, 0);
		stmt(r, S_MARK_EQ, rt->mark);
		stmt(r, S_SET_CTMARK, rt->mark);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct plan_rule *r;

		if (!rt->masquerade || !route_marks(rt))
			continue;
		r = plan_rule(x, x->idx[CH_NAT]);
		stmt_name(r, S_OIFNAME, rt->ifname, 0);
		stmt(r, S_MASQ, 0);
	}
}

/* The verdict a selector of route i leads to: jump to its chain, or accept unmarked. */
static void stmt_route_verdict(struct plan_ctx *x, struct plan_rule *r, size_t i)
{
	const char *chain = nftplan_route_chain(x->p, (int)i);

	if (chain)
		stmt_name(r, S_JUMP, chain, 0);
	else
		stmt(r, S_ACCEPT, 0);
}

static void plan_select_rules(struct plan_ctx *x)
{
	struct plan *p = x->p;
	const struct conf *c = p->conf;

	for (size_t s = 0; s < p->n_sets; s++) {
		const struct plan_set *set = &p->sets[s];
		struct plan_rule *r;
		int route;

		if (set->is_vmap)
			continue;
		route = conf_route_find(c, strchr(set->name, '_') + 1);
		r = plan_rule(x, x->select);
		stmt_name(r, S_SADDR_SET, set->name, set->family);
		stmt_route_verdict(x, r, (size_t)route);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		for (size_t k = 0; k < c->routes[i].n_ports; k++) {
			const struct conf_ports *pt = &c->routes[i].ports[k];
			struct plan_rule *r = plan_rule(x, x->select);

			r->s[r->n++] = (struct plan_stmt){ .op = S_L4_DPORT, .proto = pt->proto,
							   .lo = pt->lo, .hi = pt->hi };
			stmt_route_verdict(x, r, i);
		}
	}
	/* dns = yes: a TCP query's name is not known when its SYN must be routed, so TCP
	 * lookups take the first such route whatever they ask (none leaves in clear) */
	for (size_t i = 0; i < c->n_routes; i++) {
		struct plan_rule *r;

		if (!c->routes[i].dns || !route_marks(&c->routes[i]))
			continue;
		r = plan_rule(x, x->select);
		r->s[r->n++] = (struct plan_stmt){ .op = S_L4_DPORT, .proto = IPPROTO_TCP,
						   .lo = 53, .hi = 53 };
		stmt_route_verdict(x, r, i);
		break;
	}
	for (size_t s = 0; s < p->n_sets; s++) {
		if (p->sets[s].is_vmap)
			stmt_name(plan_rule(x, x->select), S_DADDR_VMAP, p->sets[s].name,
				  p->sets[s].family);
	}
}

static void plan_route_chains(struct plan_ctx *x)
{
	const struct conf *c = x->p->conf;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct plan_chain def = { .type = NULL };
		struct plan_rule *r;

		if (!route_marks(rt) || !route_has_selectors(rt))
			continue;
		snprintf(def.name, sizeof(def.name), "route_%s", rt->name);
		r = plan_rule(x, plan_chain_add(x->p, &def));
		stmt(r, S_SET_MARK, rt->mark);
		stmt(r, S_ACCEPT, 0);
	}
}

static void plan_flags(struct plan_ctx *x, const struct conf *c)
{
	bool select = false;

	x->lan = c->n_lan_ifs > 0;
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];

		x->learns |= rt->n_domains > 0 || rt->n_lists > 0;
		x->queues |= rt->dns;
		select |= route_has_selectors(rt);
	}
	x->queues |= x->learns || c->default_route >= 0;
	x->select = select ? 0 : SIZE_MAX;	/* placeholder, set when the chain exists */
}

static void plan_chains(struct plan_ctx *x)
{
	const struct conf *c = x->p->conf;
	bool nat = false;

	for (size_t i = 0; i < c->n_routes; i++)
		nat |= c->routes[i].masquerade && route_marks(&c->routes[i]);
	for (size_t k = 0; k < CH_BASE; k++) {
		x->idx[k] = SIZE_MAX;
		if ((k == CH_FWD && !(x->lan && x->learns)) || (k == CH_NAT && !nat))
			continue;
		x->idx[k] = plan_chain_add(x->p, &base_chains[k]);
	}
	if (x->select != SIZE_MAX) {
		struct plan_chain def = { .name = "select" };

		x->select = plan_chain_add(x->p, &def);
	}
}

int nftplan_build(const struct conf *c, struct plan *p, char *err, size_t errlen)
{
	struct plan_ctx x = { .p = p };
	int ret;

	memset(p, 0, sizeof(*p));
	p->conf = c;
	p->mask = c->mark_mask;
	p->queue = c->queue;
	p->queue_count = c->queue_count ? c->queue_count : 1;
	p->fanout_cpu = c->fanout_cpu;
	p->dns_queue = c->dns_queue;
	p->bypass = c->fail_mode == CONF_FAIL_OPEN;
	p->cap_rules = count_rules(c);
	p->rules = calloc(p->cap_rules, sizeof(*p->rules));
	p->chains = calloc(CH_BASE + 1 + c->n_routes, sizeof(*p->chains));
	p->sets = calloc(2 + 2 * c->n_routes, sizeof(*p->sets));
	if (!p->rules || !p->chains || !p->sets) {
		nftplan_free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = plan_sets(p, err, errlen);
	if (ret) {
		nftplan_free(p);
		return ret;
	}
	plan_flags(&x, c);
	plan_chains(&x);
	plan_base_rules(&x);
	plan_save_and_nat(&x);
	plan_route_chains(&x);
	if (x.select != SIZE_MAX)
		plan_select_rules(&x);
	return 0;
}

int nftplan_build_kept(const struct conf *c, struct plan *p, char *err, size_t errlen)
{
	struct plan_ctx x = { .p = p, .kept = true };
	bool any = false;

	memset(p, 0, sizeof(*p));
	p->conf = c;
	p->mask = c->mark_mask;
	for (size_t i = 0; i < c->n_routes; i++)
		any |= route_marks(&c->routes[i]) && c->routes[i].keep_blackhole &&
		       c->routes[i].fail_closed;
	if (!any)
		return 0;
	p->cap_rules = count_rules(c);
	p->rules = calloc(p->cap_rules, sizeof(*p->rules));
	p->chains = calloc(CH_BASE, sizeof(*p->chains));
	if (!p->rules || !p->chains) {
		nftplan_free(p);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x.idx[CH_PRE] = plan_chain_add(p, &base_chains[CH_PRE]);
	x.idx[CH_OUT] = plan_chain_add(p, &base_chains[CH_OUT]);
	plan_restore(&x, x.idx[CH_PRE]);
	plan_restore(&x, x.idx[CH_OUT]);
	return 0;
}

void nftplan_free(struct plan *p)
{
	for (size_t i = 0; p->sets && i < p->n_sets; i++)
		free(p->sets[i].elems);
	free(p->sets);
	free(p->chains);
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

/* ---- text, in the layout `nft list table inet nfqroute` prints ---- */

static const char *hook_name(uint32_t hook)
{
	switch (hook) {
	case NF_INET_PRE_ROUTING:
		return "prerouting";
	case NF_INET_LOCAL_IN:
		return "input";
	case NF_INET_FORWARD:
		return "forward";
	case NF_INET_LOCAL_OUT:
		return "output";
	default:
		return "postrouting";
	}
}

static const char *l4_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : "udp";
}

static const char *fam_kw(uint8_t family)
{
	return family == AF_INET ? "ip" : "ip6";
}

static void stmt_print(const struct plan *p, const struct plan_stmt *s, FILE *out)
{
	switch (s->op) {
	case S_OIF_LO:
		fputs("oif \"lo\"", out);
		break;
	case S_IIF_LO:
		fputs("iif \"lo\"", out);
		break;
	case S_IIFNAME:
		fprintf(out, "iifname \"%s\"", s->name);
		break;
	case S_OIFNAME:
		fprintf(out, "oifname \"%s\"", s->name);
		break;
	case S_CTSTATE_NEW:
		fputs("ct state new", out);
		break;
	case S_CTDIR_REPLY:
		fputs("ct direction reply", out);
		break;
	case S_CTDIR_ORIGINAL:
		fputs("ct direction original", out);
		break;
	case S_FIB_NOT_LOCAL:
		fputs("fib daddr type != local", out);
		break;
	case S_FIB_LOCAL:
		fputs("fib daddr type local", out);
		break;
	case S_L4_SPORT:
		fprintf(out, "%s sport %u", l4_name(s->proto), s->lo);
		break;
	case S_L4_DPORT:
		if (s->lo == s->hi)
			fprintf(out, "%s dport %u", l4_name(s->proto), s->lo);
		else
			fprintf(out, "%s dport %u-%u", l4_name(s->proto), s->lo, s->hi);
		break;
	case S_SADDR_SET:
		fprintf(out, "%s saddr @%s", fam_kw(s->proto), s->name);
		break;
	case S_DADDR_VMAP:
		fprintf(out, "%s daddr vmap @%s", fam_kw(s->proto), s->name);
		break;
	case S_CTMARK_EQ:
		fprintf(out, "ct mark & 0x%08x == 0x%08x", p->mask, s->val);
		break;
	case S_MARK_EQ:
		fprintf(out, "meta mark & 0x%08x == 0x%08x", p->mask, s->val);
		break;
	case S_MARK_NONZERO:
		fprintf(out, "meta mark & 0x%08x != 0x00000000", p->mask);
		break;
	case S_SET_MARK:
		/* the kernel computes (x & m) ^ v; nft shows it as x & (m | v) | v */
		fprintf(out, "meta mark set meta mark & 0x%08x | 0x%08x", ~p->mask | s->val,
			s->val);
		break;
	case S_SET_CTMARK:
		fprintf(out, "ct mark set ct mark & 0x%08x | 0x%08x", ~p->mask | s->val, s->val);
		break;
	case S_ACCEPT:
		fputs("accept", out);
		break;
	case S_JUMP:
		fprintf(out, "jump %s", s->name);
		break;
	case S_QUEUE:
		fprintf(out, "queue num %u", s->lo);
		if (s->hi != s->lo)
			fprintf(out, "-%u", s->hi);
		if (s->val)
			fprintf(out, " %s%s%s", s->val & PLAN_QUEUE_BYPASS ? "bypass" : "",
				s->val == (PLAN_QUEUE_BYPASS | PLAN_QUEUE_FANOUT) ? "," : "",
				s->val & PLAN_QUEUE_FANOUT ? "fanout" : "");
		break;
	case S_MASQ:
		fputs("masquerade", out);
		break;
	}
}

/* The length of the prefix that covers exactly [lo, hi], or -1 when it is no prefix. */
static int range_prefix_len(const struct netset_range *r, uint8_t family)
{
	size_t w = family == AF_INET ? 4 : 16;
	struct conf_prefix pf = { .addr.family = family };
	struct netset_range exact;

	for (unsigned l = 0; l <= w * 8; l++) {
		memcpy(pf.addr.a, r->lo, w);
		pf.len = (uint8_t)l;
		netset_prefix_mask(&pf);
		if (memcmp(pf.addr.a, r->lo, w))
			continue;
		netset_prefix_range(&pf, &exact);
		if (!memcmp(exact.hi, r->hi, w))
			return (int)l;
	}
	return -1;
}

/* A range as nft shows it: an address, a prefix, or lo-hi. */
static void range_print(const struct netset_range *r, uint8_t family, FILE *out)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
	int len = range_prefix_len(r, family);

	inet_ntop(family, r->lo, lo, sizeof(lo));
	inet_ntop(family, r->hi, hi, sizeof(hi));
	if (len < 0)
		fprintf(out, "%s-%s", lo, hi);
	else if (len == (family == AF_INET ? 32 : 128))
		fputs(lo, out);
	else
		fprintf(out, "%s/%d", lo, len);
}

static void set_print(const struct plan *p, const struct plan_set *s, FILE *out)
{
	fprintf(out, "\t%s %s {\n\t\ttype %s%s\n\t\tflags interval\n\t\telements = { ",
		s->is_vmap ? "map" : "set", s->name,
		s->family == AF_INET ? "ipv4_addr" : "ipv6_addr", s->is_vmap ? " : verdict" : "");
	for (size_t i = 0; i < s->n; i++) {
		const char *chain = s->is_vmap ? nftplan_route_chain(p, s->elems[i].route) : NULL;

		if (i)
			fputs(",\n\t\t\t     ", out);
		range_print(&s->elems[i], s->family, out);
		if (s->is_vmap)
			fprintf(out, " : %s%s", chain ? "jump " : "accept", chain ? chain : "");
	}
	fputs(" }\n\t}\n", out);
}

void nftplan_print(const struct plan *p, FILE *out)
{
	bool first = true;

	fprintf(out, "table inet nfqroute {\n");
	for (size_t i = 0; i < p->n_sets; i++) {
		fputs(first ? "" : "\n", out);
		set_print(p, &p->sets[i], out);
		first = false;
	}
	for (size_t ch = 0; ch < p->n_chains; ch++) {
		const struct plan_chain *d = &p->chains[ch];

		fputs(first ? "" : "\n", out);
		first = false;
		fprintf(out, "\tchain %s {\n", d->name);
		if (d->type)
			fprintf(out, "\t\ttype %s hook %s priority %s; policy accept;\n", d->type,
				hook_name(d->hook), d->prio_name);
		for (size_t i = 0; i < p->n_rules; i++) {
			if (p->rules[i].chain != ch)
				continue;
			fputs("\t\t", out);
			for (size_t k = 0; k < p->rules[i].n; k++) {
				if (k)
					fputc(' ', out);
				stmt_print(p, &p->rules[i].s[k], out);
			}
			fputc('\n', out);
		}
		fputs("\t}\n", out);
	}
	fputs("}\n", out);
}
