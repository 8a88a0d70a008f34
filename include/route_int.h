/*
 * Internal to the route module (src/route*.c and its unit test): the per-route entry, the
 * manager's state and the few functions the files share. route_plan.c turns a
 * configuration into entries and ip(8) text (pure), route_nl.c talks to the kernel,
 * route.c changes the installed state, route_link.c follows link and address events.
 */
#ifndef NFQR_ROUTE_INT_H
#define NFQR_ROUTE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "conf.h"
#include "route.h"

struct nl_cb;
struct nl_sock;
struct nlmsghdr;

#define ROUTE_METRIC_DEV	1024u
/* Far behind any metric a tunnel tool picks, so it only wins while the dev route is gone. */
#define ROUTE_METRIC_BLACKHOLE	4278198272u
#define ROUTE_PROTO		RTPROT_STATIC
#define ROUTE_PROTO_NAME	"static"

#define ROUTE_NFAM		2	/* family index 0: IPv4, 1: IPv6 */
#define ROUTE_V6		1
#define ROUTE_FAMS_ALL		((1u << ROUTE_NFAM) - 1)	/* mask of family indexes */
#define ROUTE_CMD_MAX		256
#define ROUTE_ERRSTR_MAX	256

enum route_obj { ROUTE_OBJ_DEV, ROUTE_OBJ_BLACKHOLE, ROUTE_OBJ_RULE };

#define ROUTE_PART_DEV		(1u << ROUTE_OBJ_DEV)
#define ROUTE_PART_BLACKHOLE	(1u << ROUTE_OBJ_BLACKHOLE)
#define ROUTE_PART_RULE		(1u << ROUTE_OBJ_RULE)
#define ROUTE_PART_ALL		(ROUTE_PART_DEV | ROUTE_PART_BLACKHOLE | ROUTE_PART_RULE)

/* What one configured route installs; a copy, so the caller's conf may be freed. */
struct route_ent {
	char name[CONF_NAME_MAX];
	char ifname[IF_NAMESIZE];
	uint32_t table, mark, mask, prio;
	bool fail_closed, keep_blackhole;
	bool has_gw[ROUTE_NFAM];
	uint8_t gw[ROUTE_NFAM][16];
	/* Link as last seen, so the dev routes are added once per up transition. */
	int ifindex;
	bool link_up;
	/* Dev route per family believed in the kernel: an address event retries the others. */
	bool dev_ok[ROUTE_NFAM];
	bool pending;		/* re-add the dev routes after this batch of events */
	unsigned addr_retry;	/* families whose dev route to retry after this batch */
	int lost_ifindex;	/* interface renamed away: drop dev routes left on it */
	bool v6_failed;		/* last IPv6 dev route add failed (warned once) */
	bool stale;		/* left from a failed apply: only kept to be removed */
	unsigned put;		/* ROUTE_PUT_BIT of objects another program deleted */
};

/* Bit of object obj of family index fi in route_ent.put (3 objects x 2 families). */
#define ROUTE_PUT_BIT(obj, fi)	(1u << ((unsigned)(obj) * ROUTE_NFAM + (unsigned)(fi)))

#define ROUTE_SETTLE_MS		20	/* put back once deletions pause this long (ip route
					 * flush deletes in rounds until the table stays empty) */
#define ROUTE_RATE_N		30	/* put-backs allowed at once within ROUTE_RATE_WINDOW_MS */
#define ROUTE_RATE_WINDOW_MS	10000u
#define ROUTE_RATE_SLOW_MS	1000u	/* then at most one per this */

/* When the last put-backs ran, to slow down against a program that keeps deleting. */
struct route_rate {
	uint64_t at[ROUTE_RATE_N];	/* ring of the last put-back times (ms) */
	unsigned next;			/* slot the next one goes to */
	unsigned n;			/* filled slots */
	bool slow;			/* slowed down (and said so) */
};

struct route_mgr {
	struct nl_sock *sk;	/* requests */
	struct nl_sock *ev;	/* link and address events */
	struct nl_cb *ev_cb;
	struct route_ent *ents;
	size_t n_ents;
	void (*log_fn)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	uint32_t suppress_prio;	/* priority of the installed main-table rule, 0 = none */
	unsigned suppress_put;	/* families whose suppress rule another program deleted */
	struct route_rate rate;
	uint64_t put_due_ms;	/* deferred put-back (slowed down) due then; 0 = none */
	uint64_t del_ms;	/* when the last deletion of ours was seen */
	bool existed;		/* the last add found the object already there (EEXIST) */
	int kerr;		/* errno of the kernel's answer to the last request */
	char kmsg[128];		/* its extended-ack message, if any */
};

/*
 * Adds or deletes `ip rule lookup main suppress_prefixlength 0 priority prio` for family
 * index fi: the main table's specific routes (LAN, connected subnets) win over the route
 * tables, whose only entry is a default route. Returns 0 or -errno (add: -EEXIST is 0).
 */
int route_suppress_req(struct route_mgr *rm, int fi, uint32_t prio, bool add);

/*
 * The priority of the suppress rule configuration c needs, or 0 when it needs none:
 * gateway mode and inbound interfaces forward marked replies to hosts that only the main
 * table knows.
 */
uint32_t route_suppress_prio(const struct conf *c);

/* The address family (AF_INET, AF_INET6) of family index fi. */
static inline int route_fam(int fi)
{
	return fi == ROUTE_V6 ? AF_INET6 : AF_INET;
}

/* The address length in bytes (4, 16) of family index fi. */
static inline size_t route_fam_len(int fi)
{
	return fi == ROUTE_V6 ? 16 : 4;
}

/* ---- route_plan.c: configuration to entries, ip(8) text (pure) ---- */

/*
 * Entries for the routes of c that leave the main table, in file order, with the rule
 * priority of each route's position (main-table routes count). On success *out (NULL when
 * there are none) is the caller's to free. Returns 0, or -EINVAL / -ENOMEM with a message
 * in err and *out NULL.
 */
int route_ents_from_conf(const struct conf *c, struct route_ent **out, size_t *n_out,
			 char *err, size_t errlen);

/*
 * Whether some entry of set (n entries, set may be NULL when n is 0) installs the same
 * kernel object as e does: the same rule, the same table's blackhole, or for family index
 * fi the same dev route (table, interface, gateway).
 */
bool route_obj_in(const struct route_ent *set, size_t n, const struct route_ent *e,
		  enum route_obj obj, int fi);

/*
 * Writes into buf the ip(8) command that adds (verb "add") or deletes ("del") object obj
 * of e for family index fi, e.g. "ip -6 route add default dev wg0 table 100 ...".
 * Always NUL-terminates; truncates to size.
 */
void route_obj_fmt(const struct route_ent *e, int fi, enum route_obj obj, const char *verb,
		   char *buf, size_t size);

/* ---- route_nl.c: kernel requests and error mapping ---- */

/*
 * Connects rm->sk (already allocated) to rtnetlink and installs the error handler that
 * keeps the kernel's own errno and extended-ack message for route_obj_req and
 * route_link_get. Returns 0, or a negative libnl error with "rtnetlink: ..." in err.
 */
int route_nl_open(struct route_mgr *rm, char *err, size_t errlen);

/*
 * Maps a libnl error (negative or positive NLE_*) to -errno; 0 stays 0 and unknown codes
 * become -EIO. For failures the kernel did not answer itself; libnl folds several errnos
 * into one code.
 */
int route_nle_errno(int nlerr);

/*
 * Formats the failure rc (-errno) of the last request into buf: strerror, followed by the
 * kernel's extended-ack message in parentheses when it sent one. Returns buf.
 */
const char *route_errstr(const struct route_mgr *rm, int rc, char *buf, size_t size);

/* True for the errors that mean "the object or its interface is not there". */
bool route_err_notfound(int rc);

/*
 * Adds (add true) or deletes object obj of e for family index fi through rm->sk and waits
 * for the kernel's answer. ifindex is the interface of a dev route (ignored otherwise);
 * adding a dev route replaces one with the same key, adding an object that exists is
 * success (rm->existed then tells it from a real add, except for a dev route, which is
 * replaced). Returns 0 or -errno (the kernel's own where it answered).
 */
int route_obj_req(struct route_mgr *rm, const struct route_ent *e, int fi, enum route_obj obj,
		  int ifindex, bool add);

/*
 * Asks the kernel for the interface named ifname right now: fills *ifindex and *up
 * (IFF_UP). Returns 0, -ENODEV when it does not exist (or ifname is empty, with *ifindex
 * 0 and *up false), or another -errno.
 */
int route_link_get(struct route_mgr *rm, const char *ifname, int *ifindex, bool *up);

/* ---- route.c: state changes ---- */

/* Formats one message and hands it to rm's logger (if any) at syslog priority prio. */
__attribute__((format(printf, 3, 4)))
void route_log(const struct route_mgr *rm, int prio, const char *fmt, ...);

/*
 * Refreshes e's view of its interface and, when it is up, adds e's dev routes of the
 * families in fams (bit 1 << family index; all of them when the interface is now another
 * link than the one e knew) and records in e->dev_ok which are in place. A missing or
 * down interface, an IPv6 route the interface refuses (IPv6 disabled on it) and an
 * interface that vanishes meanwhile are logged, not errors. Returns 0 or the first other
 * -errno, with a message in err.
 */
int route_ent_add_dev(struct route_mgr *rm, struct route_ent *e, unsigned fams, char *err,
		      size_t errlen);

/*
 * Deletes object obj of e for family index fi (ifindex: the dev route's interface). A
 * missing object, or IPv6 unsupported by the kernel, is fine; other failures are logged
 * and the first one is kept in *first (when it is still 0).
 */
void route_obj_del(struct route_mgr *rm, const struct route_ent *e, int fi, enum route_obj obj,
		   int ifindex, int *first);

/* ---- route_link.c: link and address events ---- */

/* One validated RTM_NEWLINK / RTM_DELLINK. */
struct route_link_ev {
	int type;		/* RTM_NEWLINK or RTM_DELLINK */
	int ifindex;		/* > 0 */
	unsigned flags;		/* IFF_* */
	char name[IF_NAMESIZE];	/* NUL-terminated */
};

enum route_link_act { ROUTE_LINK_NONE, ROUTE_LINK_ADD, ROUTE_LINK_LOST };

/* One validated RTM_NEWADDR / RTM_DELADDR. */
struct route_addr_ev {
	int type;		/* RTM_NEWADDR or RTM_DELADDR */
	int fi;			/* family index: 0 IPv4, 1 IPv6 */
	int ifindex;		/* > 0 */
};

enum route_addr_act { ROUTE_ADDR_NONE, ROUTE_ADDR_RETRY };

/*
 * Subscribes rm->ev (already allocated) to link, IPv4/IPv6 address, rule and route
 * events, non-blocking with a large receive buffer, and routes them to the manager's
 * handler. Returns 0, or a negative code with a message in err.
 */
int route_ev_open(struct route_mgr *rm, char *err, size_t errlen);

/*
 * Checks a link message from the kernel: type, header length, attribute layout, a
 * positive ifindex and an IFLA_IFNAME that is a NUL-terminated name of at most
 * IF_NAMESIZE bytes. Fills *ev and returns 0, or -EINVAL and leaves *ev unspecified.
 */
int route_link_ev_parse(struct nlmsghdr *nlh, struct route_link_ev *ev);

/*
 * Updates e's view of its link (ifindex, up, which dev routes survive) from ev and says
 * what to do: ADD when e's interface came up or is a new link under its name, LOST when
 * e's link was renamed away (its dev routes stay on it and must be deleted), else NONE.
 */
enum route_link_act route_link_decide(struct route_ent *e, const struct route_link_ev *ev);

/*
 * Checks an address message from the kernel: type, header length, attribute layout, an
 * IPv4 or IPv6 family, a positive ifindex, a prefix length within the family, and
 * IFA_ADDRESS (required) and IFA_LOCAL (optional) of the family's address length. Fills
 * *ev and returns 0, or -EINVAL and leaves *ev unspecified.
 */
int route_addr_ev_parse(struct nlmsghdr *nlh, struct route_addr_ev *ev);

/*
 * Updates e's view of its dev routes from ev and says what to do: RETRY when an address
 * appeared on e's interface while it is up and the dev route of that family is not in
 * place (a gateway is reachable only once the interface has an address in its subnet).
 * A removed address may take the kernel's routes through the interface with it (IPv4
 * flushes them with the last address), so it marks that family's dev route as not in
 * place and returns NONE; the next address or up transition adds it again.
 */
enum route_addr_act route_addr_decide(struct route_ent *e, const struct route_addr_ev *ev);

/* ---- route_watch.c: rules and routes another program deletes ---- */

/* One validated RTM_NEWRULE / RTM_DELRULE. */
struct route_rule_ev {
	int type;		/* RTM_NEWRULE or RTM_DELRULE */
	int fi;			/* family index: 0 IPv4, 1 IPv6 */
	uint8_t action;		/* FR_ACT_* */
	uint32_t table, prio, mark, mask;	/* absent: 0 (mask: 0xffffffff with a mark) */
	bool has_suppress;	/* FRA_SUPPRESS_PREFIXLEN present and not -1 (unset) */
	uint32_t suppress;	/* its value */
};

/* One validated RTM_NEWROUTE / RTM_DELROUTE. */
struct route_rt_ev {
	int type;		/* RTM_NEWROUTE or RTM_DELROUTE */
	int fi;			/* family index: 0 IPv4, 1 IPv6 */
	uint8_t rtype;		/* RTN_* */
	uint8_t dst_len;
	bool cloned;		/* RTM_F_CLONED: a cache entry, never ours */
	uint32_t table;		/* RTA_TABLE, else the header's */
	uint32_t metric;	/* RTA_PRIORITY, 0 when absent */
	int oif;		/* RTA_OIF, 0 when absent */
	bool has_gw;
	uint8_t gw[16];		/* RTA_GATEWAY, the family's length */
};

/*
 * Checks a rule message from the kernel: type, header length, attributes that end exactly
 * at the message's end, an IPv4 or IPv6 family, and that FRA_TABLE, FRA_PRIORITY, FRA_FWMARK, FRA_FWMASK and FRA_SUPPRESS_PREFIXLEN, when
 * present, are exactly 4 bytes. Fills *ev and returns 0, or -EINVAL and leaves *ev
 * unspecified.
 */
int route_rule_ev_parse(const struct nlmsghdr *nlh, struct route_rule_ev *ev);

/*
 * Checks a route message from the kernel: type, header length, attributes that end
 * exactly at the message's end, an IPv4 or IPv6 family, a destination prefix length within the family, RTA_TABLE, RTA_PRIORITY and RTA_OIF of
 * exactly 4 bytes (an oif that fits an int) and RTA_GATEWAY / RTA_DST of the family's
 * address length, when present. Fills *ev and returns 0, or -EINVAL and leaves *ev
 * unspecified.
 */
int route_rt_ev_parse(const struct nlmsghdr *nlh, struct route_rt_ev *ev);

/*
 * Whether a route message whose header names table hdr_table (rtm_table: the table, or
 * RT_TABLE_COMPAT for one above 255) may concern one of the n entries of ents: the cheap
 * test that lets the many route events of a busy host go without being parsed.
 */
bool route_rt_table_maybe(const struct route_ent *ents, size_t n, uint8_t hdr_table);

/*
 * Which of e's rules ev deleted: ROUTE_PUT_BIT(ROUTE_OBJ_RULE, fi) when ev is an
 * RTM_DELRULE with e's family, priority, fwmark, mask and table (a lookup rule), else 0.
 * A stale entry (kept only to be removed) owns nothing.
 */
unsigned route_rule_decide(const struct route_ent *e, const struct route_rule_ev *ev);

/*
 * Whether ev deleted the suppress rule installed at priority prio (0: none installed):
 * an RTM_DELRULE of table main with suppress_prefixlength 0 at that priority.
 */
bool route_suppress_decide(uint32_t prio, const struct route_rule_ev *ev);

/*
 * Which of e's routes ev deleted, as ROUTE_PUT_BIT bits: its blackhole (fail-closed:
 * table, family, blackhole default at ROUTE_METRIC_BLACKHOLE), or its dev route (table,
 * family, default at ROUTE_METRIC_DEV through e's interface and gateway) while e believes
 * it is in place: its interface is up and the route was added. A dev route the kernel
 * dropped with its link or address, one of another interface (a reload, a rename) and
 * any route of a stale entry count for nothing. A deleted dev route is marked as not in
 * place in e. Other events return 0 and leave e as it was.
 */
unsigned route_rt_decide(struct route_ent *e, const struct route_rt_ev *ev);

/*
 * When the next put-back may run, given the last ones in r: now, or, when ROUTE_RATE_N
 * ran within the last ROUTE_RATE_WINDOW_MS, ROUTE_RATE_SLOW_MS after the last one.
 */
uint64_t route_rate_next(const struct route_rate *r, uint64_t now_ms);

/* Records in r a put-back run at now_ms. */
void route_rate_note(struct route_rate *r, uint64_t now_ms);

/*
 * Feeds one rule or route message of the event socket to the watch: marks what it
 * deleted of the manager's installed objects for route_watch_act. Cheap for the routes of
 * tables the manager does not use.
 */
void route_watch_msg(struct route_mgr *rm, const struct nlmsghdr *nlh);

/*
 * Marks every rule and blackhole (and the suppress rule) to be put back, for when events
 * were lost: those still in place are only confirmed (logged at debug level).
 */
void route_watch_all(struct route_mgr *rm);

/*
 * Puts back what route_watch_msg / route_watch_all marked: at once, or, when put-backs
 * come too often, once the rate allows it (rm->put_due_ms says when; the caller calls
 * again). Each object put back is logged as a warning naming it; slowing down is logged
 * as an error, once per episode.
 */
void route_watch_act(struct route_mgr *rm, uint64_t now_ms);

#endif
