#ifndef NFQR_CLASSIFY_H
#define NFQR_CLASSIFY_H

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
};

struct classify_result {
	int route;			/* route index, or -1 for none */
	uint32_t mark;			/* the packet's mark after the decision */
	enum classify_reason reason;
	const char *name;		/* the learned name, or NULL */
};

/*
 * Decides a new flow from its destination: when the address was learned for a routed
 * name, the result carries that route and the packet mark with the route's bits placed
 * inside mark-mask (other bits kept). Pure: reads p and am only.
 */
void classify_flow(const struct policy *p, const struct addrmap *am, const struct pkt_info *pi,
		   uint32_t pkt_mark, uint64_t now_ms, struct classify_result *out);

/*
 * Learns from a parsed reply: every address of the chain is stored under the name with
 * the most specific configured match among the question name and the CNAME chain, with
 * its TTL clamped to [min-ttl, max-ttl]. Returns the number of addresses stored (0 when
 * no name of the chain is routed).
 */
int classify_dns_learn(const struct policy *p, struct addrmap *am, const struct dns_reply *r,
		       uint64_t now_ms);

/* A short word for a reason ("learned", "unknown", ...). */
const char *classify_reason_name(enum classify_reason reason);

#endif
