#include <stddef.h>

#include "classify.h"
#include "domain.h"

const char *classify_reason_name(enum classify_reason reason)
{
	switch (reason) {
	case CLASSIFY_LEARNED:
		return "learned";
	case CLASSIFY_EXCLUDED:
		return "excluded (gateway/endpoint)";
	case CLASSIFY_STALE:
		return "stale";
	case CLASSIFY_UNKNOWN:
		break;
	}
	return "unknown";
}

void classify_flow(const struct policy *p, const struct addrmap *am, const struct pkt_info *pi,
		   uint32_t pkt_mark, uint64_t now_ms, struct classify_result *out)
{
	const struct conf *c = policy_conf(p);
	struct addrmap_entry e;

	*out = (struct classify_result){ .route = -1, .mark = pkt_mark };
	if (addrmap_lookup(am, &pi->dst, now_ms, &e) < 0)
		return;
	out->name = e.name;
	if (e.route == DOMAIN_ROUTE_DIRECT) {
		/* a list exception (gfwlist "@@"): unmarked, like a table = main route */
		out->reason = CLASSIFY_LEARNED;
		return;
	}
	if (e.route >= c->n_routes) {
		out->reason = CLASSIFY_STALE;
		return;
	}
	if (policy_route_excludes(p, e.route, &pi->dst)) {
		out->reason = CLASSIFY_EXCLUDED;
		return;
	}
	out->reason = CLASSIFY_LEARNED;
	out->route = e.route;
	/* a table = main route is an exception: the flow stays unmarked */
	if (c->routes[e.route].table != CONF_TABLE_MAIN)
		out->mark = (pkt_mark & ~c->mark_mask) | c->routes[e.route].mark;
}

/*
 * The chain name with the most specific match (longest full or suffix rule; keyword and
 * regexp matches count as length 0), or -1. Exceptions take part like routes, so a list
 * exception for the question name beats a shorter suffix match of a CNAME target.
 */
static int best_name(const struct policy *p, const struct dns_reply *r, int *route)
{
	size_t best_len = 0;
	int best = -1;

	for (size_t i = 0; i < r->n_names; i++) {
		size_t len;
		int rt = policy_route_of_name(p, r->names[i], &len);

		if (rt >= 0 && (best < 0 || len > best_len)) {
			best = (int)i;
			best_len = len;
			*route = rt;
		}
	}
	return best;
}

static uint32_t clamp_ttl(const struct conf *c, uint32_t ttl)
{
	if (ttl < c->min_ttl)
		return c->min_ttl;
	return ttl > c->max_ttl ? c->max_ttl : ttl;
}

int classify_dns_learn(const struct policy *p, struct addrmap *am, const struct dns_reply *r,
		       uint64_t now_ms)
{
	const struct conf *c = policy_conf(p);
	int route = -1, stored = 0;
	int name = best_name(p, r, &route);

	if (name < 0)
		return 0;
	addrmap_set_now(am, now_ms);	/* lets eviction prefer expired entries */
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct dns_addr *a = &r->addrs[i];
		struct pkt_addr addr = { .family = a->family };
		uint64_t expires = now_ms + (uint64_t)clamp_ttl(c, a->ttl) * 1000u;

		for (size_t k = 0; k < sizeof(addr.a); k++)
			addr.a[k] = a->a[k];
		if (addrmap_insert(am, &addr, r->names[name], (uint16_t)route, expires) == 0)
			stored++;
	}
	return stored;
}
