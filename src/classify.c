#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "classify.h"
#include "domain.h"
#include "util.h"

const char *classify_reason_name(enum classify_reason reason)
{
	switch (reason) {
	case CLASSIFY_LEARNED:
		return "learned";
	case CLASSIFY_EXCLUDED:
		return "excluded (gateway/endpoint)";
	case CLASSIFY_STALE:
		return "stale";
	case CLASSIFY_EXCEPTION:
		return "exception";
	case CLASSIFY_DEFAULT:
		return "default";
	case CLASSIFY_DNS_QUERY:
		return "dns query";
	case CLASSIFY_UNKNOWN:
		break;
	}
	return "unknown";
}

static bool route_is_tunnel(const struct conf *c, unsigned route)
{
	return route < c->n_routes && c->routes[route].table != CONF_TABLE_MAIN;
}

/* Puts route's bits into the packet mark (inside mark-mask only) unless the route is an
 * exception (table = main) or dst is its own gateway/endpoint, which would loop. */
static void classify_take(const struct policy *p, int route, const struct pkt_addr *dst,
			  struct classify_result *out)
{
	const struct conf *c = policy_conf(p);

	if (policy_route_excludes(p, route, dst)) {
		out->reason = CLASSIFY_EXCLUDED;
		return;
	}
	out->route = route;
	if (route_is_tunnel(c, (unsigned)route))
		out->mark = (out->mark & ~c->mark_mask) | c->routes[route].mark;
}

void classify_flow(const struct policy *p, const struct addrmap *am, const struct pkt_info *pi,
		   uint32_t pkt_mark, uint64_t now_ms, struct classify_result *out)
{
	const struct conf *c = policy_conf(p);
	struct addrmap_entry e;

	*out = (struct classify_result){ .route = -1, .mark = pkt_mark };
	if (addrmap_lookup(am, &pi->dst, now_ms, &e) < 0) {
		if (c->default_route >= 0) {
			out->reason = CLASSIFY_DEFAULT;
			classify_take(p, c->default_route, &pi->dst, out);
		}
		return;
	}
	out->name = e.name;
	out->expires_ms = e.expires_ms;
	if (e.route == DOMAIN_ROUTE_DIRECT) {
		/* a list exception (gfwlist "@@"): unmarked, like a table = main route */
		out->reason = CLASSIFY_EXCEPTION;
		return;
	}
	if (e.route >= c->n_routes) {
		out->reason = CLASSIFY_STALE;
		return;
	}
	out->reason = route_is_tunnel(c, e.route) ? CLASSIFY_LEARNED : CLASSIFY_EXCEPTION;
	classify_take(p, e.route, &pi->dst, out);
}

bool classify_dns_query(const struct policy *p, const struct dns_query *q, uint32_t pkt_mark,
			struct classify_result *out)
{
	const struct conf *c = policy_conf(p);
	int route = policy_route_of_name(p, q->name, NULL);

	*out = (struct classify_result){ .route = -1, .mark = pkt_mark };
	if (route < 0 || !route_is_tunnel(c, (unsigned)route) || !c->routes[route].dns)
		return false;
	out->reason = CLASSIFY_DNS_QUERY;
	out->name = q->name;
	out->route = route;
	out->mark = (pkt_mark & ~c->mark_mask) | c->routes[route].mark;
	return true;
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

/* shared-address = prefer-tunnel: a tunnel keeps an address an exception also answers */
static bool keep_tunnel(const struct conf *c, const struct addrmap *am,
			const struct pkt_addr *addr, int route, uint64_t now_ms)
{
	struct addrmap_entry e;

	if (c->shared_address != CONF_SHARED_PREFER_TUNNEL || route_is_tunnel(c, (unsigned)route))
		return false;
	return addrmap_lookup(am, addr, now_ms, &e) == 0 && e.route != (unsigned)route &&
	       route_is_tunnel(c, e.route);
}

bool classify_dns_must_drop(const struct policy *p, const struct dns_reply *r, int parse_ret)
{
	const struct conf *c = policy_conf(p);
	bool whole = parse_ret == DNS_OK && r->n_unowned == 0;
	int route;

	/* a partial reply that lost only what follows a malformed record is used like a
	 * resolver library uses it: up to that record */
	if (parse_ret == DNS_PARTIAL)
		whole = r->partial != DNS_E_LIMIT && r->n_unowned == 0;
	if (whole || parse_ret == DNS_E_RCODE || r->n_names == 0)
		return false;
	route = policy_route_of_name(p, r->names[0], NULL);
	return route >= 0 && route_is_tunnel(c, (unsigned)route);
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
		if (keep_tunnel(c, am, &addr, route, now_ms))
			continue;
		if (addrmap_insert(am, &addr, r->names[name], (uint16_t)route, expires) == 0)
			stored++;
	}
	return stored;
}

/* (client, address) as one table key: two 64-bit digests in an IPv6-sized key. */
static void client_key(const struct pkt_addr *client, const struct pkt_addr *addr,
		       struct pkt_addr *key)
{
	uint64_t h[2] = { 0x9e3779b97f4a7c15ULL ^ client->family, 0xc2b2ae3d27d4eb4fULL ^ addr->family };
	const struct pkt_addr *in[2] = { client, addr };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < 16; i += 8) {
			uint64_t w;

			memcpy(&w, in[k]->a + i, sizeof(w));
			h[k] = util_mix64(h[k] ^ w);
		}
	memset(key, 0, sizeof(*key));
	key->family = AF_INET6;
	memcpy(key->a, h, sizeof(key->a));
}

int classify_dns_learn_client(const struct policy *p, const struct addrmap *am,
			      struct addrmap *pc, const struct pkt_addr *client,
			      const struct dns_reply *r, uint64_t now_ms)
{
	const struct conf *c = policy_conf(p);
	int route = -1, stored = 0;
	int name = best_name(p, r, &route);

	addrmap_set_now(pc, now_ms);
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct dns_addr *a = &r->addrs[i];
		struct pkt_addr addr = { .family = a->family }, key;
		struct addrmap_entry e;
		uint16_t rt = (uint16_t)route;

		memcpy(addr.a, a->a, sizeof(addr.a));
		if (name < 0) {
			/* unrouted for this client: only worth a note where others route it */
			if (addrmap_lookup(am, &addr, now_ms, &e) < 0)
				continue;
			rt = DOMAIN_ROUTE_DIRECT;
		}
		client_key(client, &addr, &key);
		if (addrmap_insert(pc, &key, name < 0 ? r->names[0] : r->names[name], rt,
				   now_ms + (uint64_t)clamp_ttl(c, a->ttl) * 1000u) == 0)
			stored++;
	}
	return stored;
}

void classify_flow_client(const struct policy *p, const struct addrmap *am,
			  const struct addrmap *pc, const struct pkt_info *pi, uint32_t pkt_mark,
			  uint64_t now_ms, struct classify_result *out)
{
	struct pkt_info keyed = *pi;

	client_key(&pi->src, &pi->dst, &keyed.dst);
	classify_flow(p, pc, &keyed, pkt_mark, now_ms, out);
	if (out->reason == CLASSIFY_UNKNOWN || out->reason == CLASSIFY_DEFAULT) {
		classify_flow(p, am, pi, pkt_mark, now_ms, out);
		return;
	}
	/* decided by the client's own mapping: exclusions apply to the real address */
	if (out->route >= 0 && policy_route_excludes(p, out->route, &pi->dst)) {
		out->route = -1;
		out->mark = pkt_mark;
		out->reason = CLASSIFY_EXCLUDED;
	}
}
