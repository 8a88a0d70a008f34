#ifndef NFQR_CTCONN_H
#define NFQR_CTCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct nlmsghdr;

/*
 * The kernel's connection tracking table through ctnetlink (libmnl): walking it and
 * changing the route bits of chosen connections' marks, for `nfqroute reload --reroute`.
 * Needs CAP_NET_ADMIN in the daemon's network namespace. Slow path only: it talks to the
 * kernel synchronously.
 */

#define CTCONN_TUPLE_MAX 192	/* bytes of an original-tuple attribute kept for the change */

/* One connection as the walk reports it (the original direction). */
struct ctconn_entry {
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint8_t l4proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... */
	struct pkt_addr src, dst;	/* unused bytes zero */
	uint16_t sport, dport;		/* host order; 0 for protocols without ports */
	uint32_t mark;			/* the connection's mark (0 when the kernel sent none) */
	uint16_t zone;			/* conntrack zone, 0 by default */
	bool has_zone;
	/* the original-tuple attribute as received (header included), sent back in the
	 * change request as is, so ICMP ids and the like need no parsing */
	uint16_t tuple_len;
	uint8_t tuple[CTCONN_TUPLE_MAX];
};

/*
 * Decides one connection during the walk: returns true and, in *bits, the new value of
 * the masked bits of its mark to change it; false leaves it alone.
 */
typedef bool (*ctconn_remark_fn)(void *ctx, const struct ctconn_entry *e, uint32_t *bits);

struct ctconn_counts {
	size_t seen;		/* connections the walk reported */
	size_t chosen;		/* of which fn chose */
	size_t changed;		/* of which the kernel changed */
	size_t gone;		/* chosen, but ended before the change */
	size_t failed;		/* chosen, but the kernel refused the change */
};

/*
 * Walks the conntrack table (IPv4 and IPv6), asks fn about every connection and then, for
 * each one fn chose, replaces the bits of mask in its mark by the bits fn returned; the
 * kernel keeps every other bit (CTA_MARK with CTA_MARK_MASK), so a concurrent change of
 * other bits is not lost. Connections that end in between count as gone, not as errors.
 * Fills *out. Returns 0, or -errno with a message in err when the table cannot be read
 * (e.g. -EPERM without CAP_NET_ADMIN, -EPROTONOSUPPORT without nf_conntrack_netlink).
 */
int ctconn_remark(uint32_t mask, ctconn_remark_fn fn, void *ctx, struct ctconn_counts *out,
		  char *err, size_t errlen);

/*
 * Parses one ctnetlink conntrack message (as a dump sends them) into *out. Pure; for
 * the walk and tests. Returns 0, or -EINVAL when the message is not a conntrack entry or
 * its original tuple is missing, malformed or larger than CTCONN_TUPLE_MAX.
 */
int ctconn_parse(const struct nlmsghdr *nlh, struct ctconn_entry *out);

#endif
