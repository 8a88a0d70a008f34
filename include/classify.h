#ifndef NFQR_CLASSIFY_H
#define NFQR_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "addrmap.h"
#include "dns.h"
#include "pkt.h"
#include "policy.h"

/* Why a flow got its route, for logs and (later) `nfqroute why`. */
enum classify_reason {
	CLASSIFY_UNKNOWN,	/* destination not learned: left unmarked */
	CLASSIFY_LEARNED,	/* destination learned from a DNS answer for a routed name */
	CLASSIFY_EXCLUDED,	/* learned, but it is the route's gateway or tunnel endpoint */
	CLASSIFY_STALE,		/* learned for a route that no longer exists */
	CLASSIFY_EXCEPTION,	/* learned for an exception (table = main, list "@@"): unmarked */
	CLASSIFY_DEFAULT,	/* not learned: the configured default route */
	CLASSIFY_DNS_QUERY,	/* a DNS query for a name of a route with dns = yes */
};

struct classify_result {
	int route;			/* route index, or -1 for none */
	uint32_t mark;			/* the packet's mark after the decision */
	enum classify_reason reason;
	const char *name;		/* the learned name (or the query's), or NULL */
	uint64_t expires_ms;		/* DNS expiry of the learned address, 0 when not learned */
};

/*
 * Decides a new flow from its destination: when the address was learned for a routed
 * name, the result carries that route and the packet mark with the route's bits placed
 * inside mark-mask (other bits kept). An address that was not learned takes the default
 * route, if one is configured. A route never takes its own gateway or tunnel endpoint.
 * Pure: reads p and am only.
 */
void classify_flow(const struct policy *p, const struct addrmap *am, const struct pkt_info *pi,
		   uint32_t pkt_mark, uint64_t now_ms, struct classify_result *out);

/*
 * Decides a new UDP flow to port 53 from the query it carries: when the question falls
 * under a route with dns = yes, the lookup takes that route (it then travels to the same
 * resolver through the tunnel). Returns true when it decided; false leaves the flow to
 * classify_flow. Pure.
 */
bool classify_dns_query(const struct policy *p, const struct dns_query *q, uint32_t pkt_mark,
			struct classify_result *out);

/*
 * Learns from a parsed reply: every address of the chain is stored under the name with
 * the most specific configured match among the question name and the CNAME chain, with
 * its TTL clamped to [min-ttl, max-ttl]. An address already learned for another route is
 * taken over (the most recent answer wins) unless shared-address = prefer-tunnel and the
 * old route is a tunnel while the new one is not. Returns the number of addresses stored
 * (0 when no name of the chain is routed).
 */
int classify_dns_learn(const struct policy *p, struct addrmap *am, const struct dns_reply *r,
		       uint64_t now_ms);

/*
 * Whether a DNS reply must be dropped instead of released: when its question (r->names[0],
 * read even when parse_ret, the dns_parse_reply result, is an error) falls under a tunnel
 * route and the reply could not be learned whole: an answer record that does not parse,
 * a parser limit, or addresses owned by no name of the alias chain. A resolver library
 * more lenient than the parser could use such addresses, and the connection would leave
 * past the tunnel; a dropped reply is retried or fails, which is fail-closed. Replies with
 * an error rcode and replies to unrouted names are never dropped. Pure.
 */
bool classify_dns_must_drop(const struct policy *p, const struct dns_reply *r, int parse_ret);

/*
 * Gateway mode, per-client mappings: learns the answers of a reply forwarded to LAN host
 * client into pc, keyed by (client, address), so two clients that asked different names
 * for one CDN address each keep their own route. An address of an unrouted answer is
 * stored as an exception when am knows it for a routed name (so this client stays
 * unrouted there). Returns the number of entries stored.
 */
int classify_dns_learn_client(const struct policy *p, const struct addrmap *am,
			      struct addrmap *pc, const struct pkt_addr *client,
			      const struct dns_reply *r, uint64_t now_ms);

/*
 * classify_flow for a connection from a LAN host: its own (client, address) mapping in pc
 * decides first, then the shared table am.
 */
void classify_flow_client(const struct policy *p, const struct addrmap *am,
			  const struct addrmap *pc, const struct pkt_info *pi, uint32_t pkt_mark,
			  uint64_t now_ms, struct classify_result *out);

/* A short word for a reason ("learned", "unknown", ...). */
const char *classify_reason_name(enum classify_reason reason);

#endif
