#ifndef NFQR_NFTPLAN_H
#define NFQR_NFTPLAN_H

/*
 * The `inet nfqroute` table described once, independent of how it is written: nftrules.c
 * turns a plan into a netlink batch, nftplan_print into `nft -f` text, so the dry run
 * and what is installed cannot drift apart. Internal to the nftables modules.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "netset.h"

#define PLAN_NAME_MAX 64
#define PLAN_STMTS 6

enum plan_op {
	S_OIF_LO,		/* meta oif == lo */
	S_IIF_LO,		/* meta iif == lo */
	S_IIFNAME,		/* iifname == name */
	S_OIFNAME,		/* oifname == name */
	S_CTSTATE_NEW,		/* ct state new */
	S_CTDIR_REPLY,		/* ct direction reply */
	S_CTDIR_ORIGINAL,	/* ct direction original */
	S_FIB_NOT_LOCAL,	/* fib daddr type != local */
	S_FIB_LOCAL,		/* fib daddr type local */
	S_L4_SPORT,		/* meta l4proto == proto && th sport == lo */
	S_L4_DPORT,		/* meta l4proto == proto && th dport lo-hi */
	S_SADDR_SET,		/* ip/ip6 saddr @name */
	S_DADDR_VMAP,		/* ip/ip6 daddr vmap @name */
	S_CTMARK_EQ,		/* ct mark & mask == val */
	S_MARK_EQ,		/* meta mark & mask == val */
	S_MARK_NONZERO,		/* meta mark & mask != 0 */
	S_SET_MARK,		/* meta mark = (meta mark & ~mask) | val */
	S_SET_CTMARK,		/* ct mark = (ct mark & ~mask) | val */
	S_ACCEPT,
	S_JUMP,			/* jump name */
	S_QUEUE,		/* queue num lo (total hi - lo + 1), val: PLAN_QUEUE_* flags */
	S_MASQ,
};

/* Flags of an S_QUEUE statement. */
#define PLAN_QUEUE_BYPASS 1u	/* nobody listening: accept (fail-mode = open) */
#define PLAN_QUEUE_FANOUT 2u	/* spread over lo..hi by CPU instead of by address hash */

struct plan_stmt {
	enum plan_op op;
	uint32_t val;
	uint8_t proto;		/* L4 protocol, or family for set statements */
	uint16_t lo, hi;	/* ports; the queues of S_QUEUE */
	const char *name;	/* interface, set or chain name (owned by the plan/conf) */
};

struct plan_rule {
	size_t chain;		/* index into plan.chains */
	size_t n;
	struct plan_stmt s[PLAN_STMTS];
};

struct plan_chain {
	char name[PLAN_NAME_MAX];
	const char *type;	/* NULL for a regular chain */
	uint32_t hook;
	int prio;
	const char *prio_name;
};

/* A named set (sources) or verdict map (networks); elements are ranges. */
struct plan_set {
	char name[PLAN_NAME_MAX];
	uint8_t family;
	bool is_vmap;
	size_t n;
	struct netset_range *elems;	/* for a vmap, elems[i].route picks the verdict */
};

struct plan {
	const struct conf *conf;
	uint32_t mask;
	uint16_t queue;		/* first queue of new connections */
	uint16_t queue_count;	/* new connections fan out over queue..queue+count-1 */
	bool fanout_cpu;	/* ...by the CPU the packet is on (else the kernel's hash) */
	int32_t dns_queue;	/* queue of DNS replies, or -1: `queue` (never fanned out) */
	bool bypass;
	size_t n_chains, n_rules, n_sets, cap_rules;
	struct plan_chain *chains;
	struct plan_rule *rules;
	struct plan_set *sets;
};

/*
 * Builds the plan for c (which must outlive it). Returns 0, -ENOMEM, or -EEXIST when two
 * routes list the same network (message in err).
 */
int nftplan_build(const struct conf *c, struct plan *p, char *err, size_t errlen);

/*
 * The table that stays after a stop for routes with keep-blackhole = yes: only the
 * rules that give packets of open connections their route mark back, so they keep
 * hitting the route's table (its blackhole while nothing runs) instead of leaving in clear.
 * The plan has no chain when no route keeps its blackhole. Returns 0 or -ENOMEM.
 */
int nftplan_build_kept(const struct conf *c, struct plan *p, char *err, size_t errlen);

/* Frees what nftplan_build allocated. */
void nftplan_free(struct plan *p);

/* The chain a route's selectors jump to (it marks and accepts). */
const char *nftplan_route_chain(const struct plan *p, int route);

/* Writes the plan as `nft -f` text in the layout `nft list table` prints. */
void nftplan_print(const struct plan *p, FILE *out);

#endif
