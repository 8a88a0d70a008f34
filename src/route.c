/*
 * Policy routing for marked traffic (libnl-route-3): per route an fwmark rule into the
 * route's table, a default route through its interface and, fail-closed, a blackhole at a
 * far worse metric that only wins while the interface route is missing. Link events are
 * followed so the interface route comes back when the link does.
 */
#include "route.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

#define ROUTE_METRIC_DEV	1024u
/* Far behind any metric a tunnel tool picks, so it only wins while the dev route is gone. */
#define ROUTE_METRIC_BLACKHOLE	4278198272u
#define ROUTE_PROTO		RTPROT_STATIC
#define ROUTE_PROTO_NAME	"static"

#define ROUTE_NFAM		2	/* index 0: IPv4, 1: IPv6 */
#define ROUTE_V6		1
#define ROUTE_CMD_MAX		256
#define ROUTE_ERRSTR_MAX	256
#define ROUTE_EV_BATCH		256	/* datagrams per handle_events call; the rest waits */
#define ROUTE_EV_RCVBUF		(1 << 20)

static const int route_fams[ROUTE_NFAM] = { AF_INET, AF_INET6 };

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
	bool pending;		/* re-add the dev routes after this batch of events */
	int lost_ifindex;	/* interface renamed away: drop dev routes left on it */
	bool v6_failed;		/* last IPv6 dev route add failed (warned once) */
	bool stale;		/* left from a failed apply: only kept to be removed */
};

struct route_link_ev {
	int type;		/* RTM_NEWLINK or RTM_DELLINK */
	int ifindex;
	unsigned flags;
	char name[IF_NAMESIZE];
};

enum route_link_act { ROUTE_LINK_NONE, ROUTE_LINK_ADD, ROUTE_LINK_LOST };

struct route_mgr {
	struct nl_sock *sk;	/* requests */
	struct nl_sock *ev;	/* RTNLGRP_LINK events */
	struct nl_cb *ev_cb;
	struct route_ent *ents;
	size_t n_ents;
	void (*log_fn)(void *ctx, int prio, const char *msg);
	void *log_ctx;
	int kerr;		/* errno of the kernel's answer to the last request */
	char kmsg[128];		/* its extended-ack message, if any */
};

/* ---- logging and errors ---- */

__attribute__((format(printf, 3, 4)))
static void route_log(const struct route_mgr *rm, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!rm->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rm->log_fn(rm->log_ctx, prio, msg);
}

void route_mgr_set_logger(struct route_mgr *rm, void (*fn)(void *ctx, int prio, const char *msg),
			  void *ctx)
{
	rm->log_fn = fn;
	rm->log_ctx = ctx;
}

/* libnl folds errno values together; used only when the kernel did not answer itself. */
static int route_nle_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_INVAL:
	case NLE_MISSING_ATTR:
	case NLE_AF_MISMATCH:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int route_nlerr(const struct route_mgr *rm, int nlerr)
{
	if (nlerr >= 0)
		return 0;
	if (rm->kerr > 0)
		return -rm->kerr;
	return route_nle_errno(nlerr);
}

static const char *route_errstr(const struct route_mgr *rm, int rc, char *buf, size_t size)
{
	if (rm->kmsg[0])
		snprintf(buf, size, "%s (%s)", strerror(-rc), rm->kmsg);
	else
		snprintf(buf, size, "%s", strerror(-rc));
	return buf;
}

static bool route_err_notfound(int rc)
{
	return rc == -ENOENT || rc == -ESRCH || rc == -ENODEV;
}

/* Pulls NLMSGERR_ATTR_MSG out of an extended ack; every offset is checked against the reply. */
static void route_extack(struct route_mgr *rm, const struct nlmsghdr *nlh,
			 const struct nlmsgerr *e)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t len = nlh->nlmsg_len, off = NLMSG_HDRLEN + sizeof(*e), slen;
	const char *s;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len < off)
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN || e->msg.nlmsg_len > len)
			return;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	if (off >= len || len - off > INT_MAX)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlh + off),
		      (int)(len - off), NULL) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return;
	s = nla_data(tb[NLMSGERR_ATTR_MSG]);
	slen = (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]);
	if (slen == 0 || !memchr(s, '\0', slen))
		return;
	snprintf(rm->kmsg, sizeof(rm->kmsg), "%s", s);
}

/* Keeps the kernel's own errno, which libnl would fold (ENETUNREACH -> NLE_FAILURE). */
static int route_err_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct route_mgr *rm = arg;
	/* libnl hands out nlmsg_data() of a reply whose length it already checked */
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);

	(void)nla;
	rm->kerr = e->error == INT_MIN ? EIO : (e->error < 0 ? -e->error : e->error);
	route_extack(rm, nlh, e);
	return NL_STOP;
}

static void route_req_begin(struct route_mgr *rm)
{
	rm->kerr = 0;
	rm->kmsg[0] = '\0';
}

/* ---- configuration to entries (pure) ---- */

static int route_ent_fill(const struct conf *c, size_t idx, struct route_ent *e, char *err,
			  size_t errlen)
{
	const struct conf_route *r = &c->routes[idx];
	const struct pkt_addr *gws[ROUTE_NFAM] = { &r->gw4, &r->gw6 };
	const bool has[ROUTE_NFAM] = { r->has_gw4, r->has_gw6 };
	int fi;

	memset(e, 0, sizeof(*e));
	if ((uint64_t)c->rule_priority + idx > UINT32_MAX) {
		snprintf(err, errlen, "route %s: rule priority %" PRIu32 " + %zu overflows",
			 r->name, c->rule_priority, idx);
		return -EINVAL;
	}
	if (strnlen(r->ifname, sizeof(r->ifname)) == sizeof(r->ifname)) {
		snprintf(err, errlen, "route %s: interface name too long", r->name);
		return -EINVAL;
	}
	memcpy(e->name, r->name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	memcpy(e->ifname, r->ifname, sizeof(e->ifname));
	e->table = r->table;
	e->mark = r->mark;
	e->mask = c->mark_mask;
	e->prio = c->rule_priority + (uint32_t)idx;
	e->fail_closed = r->fail_closed;
	e->keep_blackhole = r->keep_blackhole;
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!has[fi])
			continue;
		if (gws[fi]->family != route_fams[fi]) {
			snprintf(err, errlen, "route %s: gateway of the wrong address family",
				 r->name);
			return -EINVAL;
		}
		e->has_gw[fi] = true;
		memcpy(e->gw[fi], gws[fi]->a, fi == ROUTE_V6 ? 16 : 4);
	}
	return 0;
}

/* Entries for the routes of c that leave the main table; *out is NULL when there are none. */
static int route_ents_from_conf(const struct conf *c, struct route_ent **out, size_t *n_out,
				char *err, size_t errlen)
{
	struct route_ent *ents = NULL;
	size_t i, n = 0;
	int rc;

	*out = NULL;
	*n_out = 0;
	if (c->n_routes > 0) {
		ents = calloc(c->n_routes, sizeof(*ents));
		if (!ents) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (i = 0; i < c->n_routes; i++) {
		if (c->routes[i].table == CONF_TABLE_MAIN)
			continue;
		rc = route_ent_fill(c, i, &ents[n], err, errlen);
		if (rc < 0) {
			free(ents);
			return rc;
		}
		n++;
	}
	*out = ents;
	*n_out = n;
	return 0;
}

static bool route_rule_same(const struct route_ent *a, const struct route_ent *b)
{
	return a->prio == b->prio && a->mark == b->mark && a->mask == b->mask &&
	       a->table == b->table;
}

static bool route_dev_same(const struct route_ent *a, const struct route_ent *b, int fi)
{
	size_t alen = fi == ROUTE_V6 ? 16 : 4;

	return a->table == b->table && strcmp(a->ifname, b->ifname) == 0 &&
	       a->has_gw[fi] == b->has_gw[fi] &&
	       (!a->has_gw[fi] || memcmp(a->gw[fi], b->gw[fi], alen) == 0);
}

/* Whether some entry of set installs the same kernel object as e does. */
static bool route_obj_in(const struct route_ent *set, size_t n, const struct route_ent *e,
			 enum route_obj obj, int fi)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (obj) {
		case ROUTE_OBJ_RULE:
			if (route_rule_same(&set[i], e))
				return true;
			break;
		case ROUTE_OBJ_BLACKHOLE:
			if (set[i].fail_closed && set[i].table == e->table)
				return true;
			break;
		case ROUTE_OBJ_DEV:
			if (route_dev_same(&set[i], e, fi))
				return true;
			break;
		}
	}
	return false;
}

/* ---- ip(8) equivalents, for the plan and for messages (pure) ---- */

static void route_obj_fmt(const struct route_ent *e, int fi, enum route_obj obj,
			  const char *verb, char *buf, size_t size)
{
	const char *six = fi == ROUTE_V6 ? " -6" : "";
	char gw[INET6_ADDRSTRLEN] = "";

	switch (obj) {
	case ROUTE_OBJ_RULE:
		snprintf(buf, size, "ip%s rule %s fwmark 0x%" PRIx32 "/0x%" PRIx32 " lookup %"
			 PRIu32 " priority %" PRIu32, six, verb, e->mark, e->mask, e->table,
			 e->prio);
		break;
	case ROUTE_OBJ_BLACKHOLE:
		snprintf(buf, size, "ip%s route %s blackhole default table %" PRIu32
			 " metric %u proto " ROUTE_PROTO_NAME, six, verb, e->table,
			 ROUTE_METRIC_BLACKHOLE);
		break;
	case ROUTE_OBJ_DEV:
		if (e->has_gw[fi] && !inet_ntop(route_fams[fi], e->gw[fi], gw, sizeof(gw)))
			snprintf(gw, sizeof(gw), "?");
		snprintf(buf, size, "ip%s route %s default%s%s dev %s table %" PRIu32
			 " metric %u proto " ROUTE_PROTO_NAME, six, verb,
			 e->has_gw[fi] ? " via " : "", gw, e->ifname, e->table, ROUTE_METRIC_DEV);
		break;
	}
}

void route_plan_print(const struct conf *c, FILE *out)
{
	char cmd[ROUTE_CMD_MAX], err[CONF_ERR_MAX];
	struct route_ent e;
	size_t i;
	int fi, obj;

	for (i = 0; i < c->n_routes; i++) {
		const struct conf_route *r = &c->routes[i];

		if (r->table == CONF_TABLE_MAIN) {
			fprintf(out, "# route %s: table main, no ip rule or route\n", r->name);
			continue;
		}
		if (route_ent_fill(c, i, &e, err, sizeof(err)) < 0) {
			fprintf(out, "# %s\n", err);
			continue;
		}
		fprintf(out, "# route %s: fwmark 0x%" PRIx32 "/0x%" PRIx32 " -> table %" PRIu32
			" via %s%s\n", e.name, e.mark, e.mask, e.table, e.ifname,
			e.fail_closed ? ", fail-closed" : "");
		/* install order: the table is complete before the rule points at it */
		for (obj = ROUTE_OBJ_DEV; obj <= ROUTE_OBJ_RULE; obj++) {
			if (obj == ROUTE_OBJ_BLACKHOLE && !e.fail_closed)
				continue;
			if (obj == ROUTE_OBJ_DEV && !e.ifname[0])
				continue;
			for (fi = 0; fi < ROUTE_NFAM; fi++) {
				route_obj_fmt(&e, fi, (enum route_obj)obj, "add", cmd, sizeof(cmd));
				fprintf(out, "%s\n", cmd);
			}
		}
	}
}

/* ---- kernel requests ---- */

static struct nl_addr *route_addr_new(int family, const uint8_t *bytes, unsigned prefixlen)
{
	static const uint8_t zero[16];
	struct nl_addr *a;

	a = nl_addr_build(family, bytes ? bytes : zero, family == AF_INET6 ? 16 : 4);
	if (a)
		nl_addr_set_prefixlen(a, (int)prefixlen);
	return a;
}

static int route_rule_req(struct route_mgr *rm, const struct route_ent *e, int fi, bool add)
{
	struct rtnl_rule *rule;
	int rc;

	rule = rtnl_rule_alloc();
	if (!rule)
		return -ENOMEM;
	rtnl_rule_set_family(rule, route_fams[fi]);
	rtnl_rule_set_prio(rule, e->prio);
	rtnl_rule_set_mark(rule, e->mark);
	rtnl_rule_set_mask(rule, e->mask);
	rtnl_rule_set_table(rule, e->table);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	route_req_begin(rm);
	if (add)
		rc = rtnl_rule_add(rm->sk, rule, NLM_F_CREATE | NLM_F_EXCL);
	else
		rc = rtnl_rule_delete(rm->sk, rule, 0);
	rtnl_rule_put(rule);
	rc = route_nlerr(rm, rc);
	/* the same rule (all keys equal) is already there: that is the goal */
	return add && rc == -EEXIST ? 0 : rc;
}

/*
 * Builds the blackhole (ifindex 0) or the dev route of e. Deletion leaves the protocol
 * open so an identical route typed in by hand from the plan goes too.
 */
static int route_route_build(const struct route_ent *e, int fi, int ifindex, bool add,
			     struct rtnl_route **out)
{
	struct rtnl_route *r;
	struct rtnl_nexthop *nh;
	struct nl_addr *dst = NULL, *gw = NULL;
	int rc = -ENOMEM;

	r = rtnl_route_alloc();
	if (!r)
		return -ENOMEM;
	if (rtnl_route_set_family(r, (uint8_t)route_fams[fi]) < 0) {
		rc = -EAFNOSUPPORT;
		goto fail;
	}
	rtnl_route_set_table(r, e->table);
	rtnl_route_set_protocol(r, add ? ROUTE_PROTO : RTPROT_UNSPEC);
	dst = route_addr_new(route_fams[fi], NULL, 0);
	if (!dst || rtnl_route_set_dst(r, dst) < 0)
		goto fail;
	if (ifindex == 0) {
		rtnl_route_set_type(r, RTN_BLACKHOLE);
		rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
		rtnl_route_set_priority(r, ROUTE_METRIC_BLACKHOLE);
	} else {
		rtnl_route_set_type(r, RTN_UNICAST);
		/* what ip(8) picks: link scope unless there is a gateway */
		rtnl_route_set_scope(r, e->has_gw[fi] ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
		rtnl_route_set_priority(r, ROUTE_METRIC_DEV);
		nh = rtnl_route_nh_alloc();
		if (!nh)
			goto fail;
		rtnl_route_nh_set_ifindex(nh, ifindex);
		if (e->has_gw[fi]) {
			gw = route_addr_new(route_fams[fi], e->gw[fi],
					    fi == ROUTE_V6 ? 128 : 32);
			if (!gw) {
				rtnl_route_nh_free(nh);
				goto fail;
			}
			rtnl_route_nh_set_gateway(nh, gw);
		}
		rtnl_route_add_nexthop(r, nh);
	}
	nl_addr_put(gw);
	nl_addr_put(dst);
	*out = r;
	return 0;
fail:
	nl_addr_put(gw);
	nl_addr_put(dst);
	rtnl_route_put(r);
	return rc;
}

static int route_route_req(struct route_mgr *rm, const struct route_ent *e, int fi, int ifindex,
			   bool add)
{
	struct rtnl_route *r;
	int rc, flags;

	rc = route_route_build(e, fi, ifindex, add, &r);
	if (rc < 0)
		return rc;
	/* The dev route may replace one at the same metric (an earlier gateway or link). */
	flags = ifindex ? NLM_F_CREATE | NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL;
	route_req_begin(rm);
	if (add)
		rc = rtnl_route_add(rm->sk, r, flags);
	else
		rc = rtnl_route_delete(rm->sk, r, 0);
	rtnl_route_put(r);
	rc = route_nlerr(rm, rc);
	return add && rc == -EEXIST ? 0 : rc;
}

static int route_obj_req(struct route_mgr *rm, const struct route_ent *e, int fi,
			 enum route_obj obj, int ifindex, bool add)
{
	switch (obj) {
	case ROUTE_OBJ_RULE:
		return route_rule_req(rm, e, fi, add);
	case ROUTE_OBJ_BLACKHOLE:
		return route_route_req(rm, e, fi, 0, add);
	case ROUTE_OBJ_DEV:
		return route_route_req(rm, e, fi, ifindex, add);
	}
	return -EINVAL;
}

/* Looks the interface up by name right now; -ENODEV when it does not exist. */
static int route_link_get(struct route_mgr *rm, const char *ifname, int *ifindex, bool *up)
{
	struct rtnl_link *link = NULL;
	int rc;

	*ifindex = 0;
	*up = false;
	if (!ifname[0])
		return -ENODEV;
	route_req_begin(rm);
	rc = rtnl_link_get_kernel(rm->sk, 0, ifname, &link);
	if (rc < 0) {
		rc = route_nlerr(rm, rc);
		return rc == -ENOENT ? -ENODEV : rc;
	}
	*ifindex = rtnl_link_get_ifindex(link);
	*up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	rtnl_link_put(link);
	return *ifindex > 0 ? 0 : -ENODEV;
}

bool route_link_is_up(struct route_mgr *rm, const char *ifname)
{
	int ifindex;
	bool up;

	return route_link_get(rm, ifname, &ifindex, &up) == 0 && up;
}

/* ---- installing and removing one entry ---- */

/*
 * Adds e's dev routes when its interface is up. A missing or down interface, and an IPv6
 * route the interface refuses (IPv6 disabled on it), are logged, not errors.
 */
static int route_ent_add_dev(struct route_mgr *rm, struct route_ent *e, char *err,
			     size_t errlen)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	int rc, fi, first = 0;

	rc = route_link_get(rm, e->ifname, &e->ifindex, &e->link_up);
	if (rc == -ENODEV) {
		route_log(rm, LOG_INFO, "route %s: interface %s does not exist yet", e->name,
			  e->ifname);
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "route %s: interface %s: %s", e->name, e->ifname,
			 route_errstr(rm, rc, why, sizeof(why)));
		return rc;
	}
	if (!e->link_up) {
		route_log(rm, LOG_INFO, "route %s: interface %s is down", e->name, e->ifname);
		return 0;
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		rc = route_route_req(rm, e, fi, e->ifindex, true);
		if (rc == 0) {
			if (fi == ROUTE_V6)
				e->v6_failed = false;
			continue;
		}
		route_obj_fmt(e, fi, ROUTE_OBJ_DEV, "add", cmd, sizeof(cmd));
		route_errstr(rm, rc, why, sizeof(why));
		if (fi == ROUTE_V6) {
			route_log(rm, e->v6_failed ? LOG_DEBUG : LOG_WARNING,
				  "route %s: %s: %s; IPv6 of this route %s", e->name, cmd, why,
				  e->fail_closed ? "is blackholed" : "uses the main table");
			e->v6_failed = true;
		} else if (rc == -ENODEV || rc == -ENETDOWN) {
			/* went away meanwhile; its link event brings the route back */
			route_log(rm, LOG_INFO, "route %s: %s: %s", e->name, cmd, why);
		} else if (!first) {
			snprintf(err, errlen, "route %s: %s: %s", e->name, cmd, why);
			first = rc;
		}
	}
	return first;
}

static int route_ent_install(struct route_mgr *rm, struct route_ent *e, char *err,
			     size_t errlen)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	enum route_obj obj;
	int rc, fi;

	rc = route_ent_add_dev(rm, e, err, errlen);
	if (rc < 0)
		return rc;
	for (obj = ROUTE_OBJ_BLACKHOLE; obj <= ROUTE_OBJ_RULE; obj++) {
		if (obj == ROUTE_OBJ_BLACKHOLE && !e->fail_closed)
			continue;
		for (fi = 0; fi < ROUTE_NFAM; fi++) {
			rc = route_obj_req(rm, e, fi, obj, 0, true);
			if (rc == 0)
				continue;
			route_obj_fmt(e, fi, obj, "add", cmd, sizeof(cmd));
			route_errstr(rm, rc, why, sizeof(why));
			if (fi == ROUTE_V6 && rc == -EAFNOSUPPORT) {
				/* kernel without IPv6: no IPv6 traffic to steer */
				route_log(rm, LOG_WARNING, "route %s: %s: %s", e->name, cmd, why);
				continue;
			}
			snprintf(err, errlen, "route %s: %s: %s", e->name, cmd, why);
			return rc;
		}
	}
	route_log(rm, LOG_DEBUG, "route %s: fwmark 0x%" PRIx32 " -> table %" PRIu32 " installed",
		  e->name, e->mark, e->table);
	return 0;
}

static void route_del_one(struct route_mgr *rm, const struct route_ent *e, int fi,
			  enum route_obj obj, int ifindex, int *first)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	int rc;

	rc = route_obj_req(rm, e, fi, obj, ifindex, false);
	if (rc == 0 || route_err_notfound(rc) || (fi == ROUTE_V6 && rc == -EAFNOSUPPORT))
		return;
	route_obj_fmt(e, fi, obj, "del", cmd, sizeof(cmd));
	route_log(rm, LOG_ERR, "route %s: %s: %s", e->name, cmd,
		  route_errstr(rm, rc, why, sizeof(why)));
	if (!*first)
		*first = rc;
}

/*
 * Deletes the parts of e, rule first so no traffic is sent into a half-emptied table.
 * Objects some entry of keep also installs stay. Missing objects are fine.
 */
static int route_ent_uninstall(struct route_mgr *rm, const struct route_ent *e, unsigned parts,
			       const struct route_ent *keep, size_t n_keep)
{
	int first = 0, fi, ifindex, rc;
	bool up, dev_kept = true;

	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((parts & ROUTE_PART_RULE) && !route_obj_in(keep, n_keep, e, ROUTE_OBJ_RULE, fi))
			route_del_one(rm, e, fi, ROUTE_OBJ_RULE, 0, &first);
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((parts & ROUTE_PART_BLACKHOLE) && e->fail_closed &&
		    !route_obj_in(keep, n_keep, e, ROUTE_OBJ_BLACKHOLE, fi))
			route_del_one(rm, e, fi, ROUTE_OBJ_BLACKHOLE, 0, &first);
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++)
		dev_kept = dev_kept && route_obj_in(keep, n_keep, e, ROUTE_OBJ_DEV, fi);
	if (!(parts & ROUTE_PART_DEV) || !e->ifname[0] || dev_kept)
		return first;
	/* dev routes die with their link, so a missing interface leaves nothing to do */
	rc = route_link_get(rm, e->ifname, &ifindex, &up);
	if (rc == -ENODEV)
		return first;
	if (rc < 0)
		return first ? first : rc;
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!route_obj_in(keep, n_keep, e, ROUTE_OBJ_DEV, fi))
			route_del_one(rm, e, fi, ROUTE_OBJ_DEV, ifindex, &first);
	}
	return first;
}

/* ---- public state changes ---- */

/* After a failed apply both generations are tracked, so remove() still finds everything. */
static void route_track_failed(struct route_mgr *rm, struct route_ent *ents, size_t n)
{
	struct route_ent *all;
	size_t i;

	if (n == 0)
		return;
	all = realloc(rm->ents, (rm->n_ents + n) * sizeof(*all));
	if (!all) {
		route_log(rm, LOG_ERR, "out of memory: %zu partly installed routes not tracked", n);
		return;
	}
	for (i = 0; i < n; i++) {
		all[rm->n_ents + i] = ents[i];
		all[rm->n_ents + i].stale = true;
	}
	rm->ents = all;
	rm->n_ents += n;
}

int route_mgr_apply(struct route_mgr *rm, const struct conf *c, char *err, size_t errlen)
{
	struct route_ent *ents, *all;
	size_t n, i, n_left = 0;
	int rc;

	rc = route_ents_from_conf(c, &ents, &n, err, errlen);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = route_ent_install(rm, &ents[i], err, errlen);
		if (rc < 0) {
			route_track_failed(rm, ents, i + 1);
			free(ents);
			return rc;
		}
	}
	/* Old objects go only now, so a reload never opens a gap for the marked traffic. */
	for (i = 0; i < rm->n_ents; i++) {
		if (route_ent_uninstall(rm, &rm->ents[i], ROUTE_PART_ALL, ents, n) < 0) {
			rm->ents[i].stale = true;
			rm->ents[n_left++] = rm->ents[i];
		}
	}
	if (n_left > 0) {
		/* keep what could not be deleted, so a later remove() retries it */
		all = realloc(ents, (n + n_left) * sizeof(*all));
		if (all) {
			memcpy(all + n, rm->ents, n_left * sizeof(*all));
			ents = all;
			n += n_left;
		}
	}
	free(rm->ents);
	rm->ents = ents;
	rm->n_ents = n;
	return 0;
}

int route_mgr_remove(struct route_mgr *rm, bool keep_blackholes)
{
	unsigned parts;
	size_t i;
	int rc, first = 0;

	for (i = 0; i < rm->n_ents; i++) {
		const struct route_ent *e = &rm->ents[i];

		parts = ROUTE_PART_ALL;
		if (keep_blackholes && e->fail_closed && e->keep_blackhole)
			parts = ROUTE_PART_DEV;
		rc = route_ent_uninstall(rm, e, parts, NULL, 0);
		if (rc < 0 && !first)
			first = rc;
		if (parts != ROUTE_PART_ALL)
			route_log(rm, LOG_INFO, "route %s: ip rule and blackhole of table %" PRIu32
				  " left in place", e->name, e->table);
	}
	free(rm->ents);
	rm->ents = NULL;
	rm->n_ents = 0;
	return first;
}

int route_mgr_remove_conf(struct route_mgr *rm, const struct conf *c)
{
	char err[CONF_ERR_MAX];
	struct route_ent *ents;
	size_t n, i;
	int rc, first = 0;

	rc = route_ents_from_conf(c, &ents, &n, err, sizeof(err));
	if (rc < 0) {
		route_log(rm, LOG_ERR, "%s", err);
		return rc;
	}
	for (i = 0; i < n; i++) {
		rc = route_ent_uninstall(rm, &ents[i], ROUTE_PART_ALL, NULL, 0);
		if (rc < 0 && !first)
			first = rc;
	}
	free(ents);
	return first;
}

/* ---- link events: parse, decide, act ---- */

static const struct nla_policy route_link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = { .type = NLA_STRING, .minlen = 1, .maxlen = IF_NAMESIZE },
};

static int route_link_ev_parse(struct nlmsghdr *nlh, struct route_link_ev *ev)
{
	struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;
	const char *name;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -EINVAL;
	if (nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, route_link_policy) < 0)
		return -EINVAL;
	ifi = nlmsg_data(nlh);
	if (ifi->ifi_index <= 0 || !tb[IFLA_IFNAME])
		return -EINVAL;
	name = nla_data(tb[IFLA_IFNAME]);
	len = (size_t)nla_len(tb[IFLA_IFNAME]);
	if (len == 0 || len > IF_NAMESIZE || !memchr(name, '\0', len))
		return -EINVAL;
	ev->type = nlh->nlmsg_type;
	ev->ifindex = ifi->ifi_index;
	ev->flags = ifi->ifi_flags;
	memcpy(ev->name, name, strlen(name) + 1);
	return 0;
}

/* Updates e's view of its link and says what the event asks for. */
static enum route_link_act route_link_decide(struct route_ent *e, const struct route_link_ev *ev)
{
	bool up, was_up = e->link_up;
	int was_index = e->ifindex;

	if (strcmp(ev->name, e->ifname) == 0) {
		if (ev->type == RTM_DELLINK) {
			e->ifindex = 0;
			e->link_up = false;
			return ROUTE_LINK_NONE;
		}
		up = (ev->flags & IFF_UP) != 0;
		e->ifindex = ev->ifindex;
		e->link_up = up;
		/* a new ifindex under the same name is a new link without our routes */
		return up && (!was_up || was_index != ev->ifindex) ? ROUTE_LINK_ADD
								   : ROUTE_LINK_NONE;
	}
	if (was_index == 0 || ev->ifindex != was_index)
		return ROUTE_LINK_NONE;
	/* our link now carries another name: it is no longer the configured interface */
	e->ifindex = 0;
	e->link_up = false;
	return ev->type == RTM_NEWLINK ? ROUTE_LINK_LOST : ROUTE_LINK_NONE;
}

static int route_ev_cb(struct nl_msg *msg, void *arg)
{
	struct route_mgr *rm = arg;
	struct route_link_ev ev;
	size_t i;

	if (route_link_ev_parse(nlmsg_hdr(msg), &ev) < 0)
		return NL_OK;
	for (i = 0; i < rm->n_ents; i++) {
		struct route_ent *e = &rm->ents[i];

		if (e->stale)
			continue;
		switch (route_link_decide(e, &ev)) {
		case ROUTE_LINK_ADD:
			e->pending = true;
			break;
		case ROUTE_LINK_LOST:
			e->lost_ifindex = ev.ifindex;
			e->pending = false;
			break;
		case ROUTE_LINK_NONE:
			break;
		}
	}
	return NL_OK;
}

static void route_ent_sync(struct route_mgr *rm, struct route_ent *e)
{
	char err[CONF_ERR_MAX];
	int fi, first = 0;

	if (e->lost_ifindex) {
		route_log(rm, LOG_INFO, "route %s: interface %s was renamed; dropping its routes",
			  e->name, e->ifname);
		for (fi = 0; fi < ROUTE_NFAM; fi++)
			route_del_one(rm, e, fi, ROUTE_OBJ_DEV, e->lost_ifindex, &first);
		e->lost_ifindex = 0;
	}
	if (!e->pending)
		return;
	e->pending = false;
	if (route_ent_add_dev(rm, e, err, sizeof(err)) < 0)
		route_log(rm, LOG_ERR, "%s", err);
	else if (e->link_up)
		route_log(rm, LOG_INFO, "route %s: interface %s is up, default route in table %"
			  PRIu32 " restored", e->name, e->ifname, e->table);
}

int route_mgr_handle_events(struct route_mgr *rm)
{
	int n, rc = 0, batch = 0, overruns = 0;
	size_t i;

	while (batch++ < ROUTE_EV_BATCH) {
		n = nl_recvmsgs_report(rm->ev, rm->ev_cb);
		if (n > 0)
			continue;
		if (n == 0 || n == -NLE_AGAIN)
			break;
		/* ENOBUFS (folded into NLE_NOMEM): events were lost, look at every link */
		if (n == -NLE_NOMEM && overruns++ < 4) {
			route_log(rm, LOG_WARNING, "link events lost; checking every interface");
			for (i = 0; i < rm->n_ents; i++)
				rm->ents[i].pending = !rm->ents[i].stale;
			continue;
		}
		rc = route_nle_errno(n);
		break;
	}
	for (i = 0; i < rm->n_ents; i++)
		route_ent_sync(rm, &rm->ents[i]);
	return rc;
}

/* ---- lifetime ---- */

static void route_sock_tune(struct nl_sock *sk)
{
	int one = 1;

	/* best effort: kernel messages explain failures; the capped ack keeps replies small */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

struct route_mgr *route_mgr_new(char *err, size_t errlen)
{
	struct route_mgr *rm;
	int rc;

	rm = calloc(1, sizeof(*rm));
	if (!rm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rm->sk = nl_socket_alloc();
	rm->ev = nl_socket_alloc();
	if (!rm->sk || !rm->ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = nl_connect(rm->sk, NETLINK_ROUTE);
	if (rc < 0)
		goto nl_fail;
	route_sock_tune(rm->sk);
	rc = nl_socket_modify_err_cb(rm->sk, NL_CB_CUSTOM, route_err_cb, rm);
	if (rc < 0)
		goto nl_fail;

	/* events carry no sequence numbers of ours */
	nl_socket_disable_seq_check(rm->ev);
	rc = nl_socket_modify_cb(rm->ev, NL_CB_VALID, NL_CB_CUSTOM, route_ev_cb, rm);
	if (rc < 0)
		goto nl_fail;
	rc = nl_connect(rm->ev, NETLINK_ROUTE);
	if (rc < 0)
		goto nl_fail;
	rc = nl_socket_add_memberships(rm->ev, RTNLGRP_LINK, 0);
	if (rc < 0)
		goto nl_fail;
	rc = nl_socket_set_nonblocking(rm->ev);
	if (rc < 0)
		goto nl_fail;
	/* a large buffer makes lost events (and the full recheck they cause) rare */
	nl_socket_set_buffer_size(rm->ev, ROUTE_EV_RCVBUF, 0);
	rm->ev_cb = nl_socket_get_cb(rm->ev);
	if (!rm->ev_cb) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return rm;
nl_fail:
	snprintf(err, errlen, "rtnetlink: %s", nl_geterror(rc));
fail:
	route_mgr_free(rm);
	return NULL;
}

void route_mgr_free(struct route_mgr *rm)
{
	if (!rm)
		return;
	if (rm->ev_cb)
		nl_cb_put(rm->ev_cb);
	if (rm->ev)
		nl_socket_free(rm->ev);
	if (rm->sk)
		nl_socket_free(rm->sk);
	free(rm->ents);
	free(rm);
}

int route_mgr_fd(const struct route_mgr *rm)
{
	return nl_socket_get_fd(rm->ev);
}
