/*
 * Rules and routes another program deletes (`ip rule del`, `ip route flush table N`,
 * systemd-networkd dropping foreign rules and routes when it restarts): without them the
 * marked traffic would take the main table, past the tunnel. Parse (validate one rule or
 * route event), decide (is it an object the manager installed and still wants?), act (put
 * it back through the install paths, rate-limited against a program that keeps deleting).
 *
 * Our own deletions never count: a reload replaces rm->ents before its events are read,
 * so the objects it removed belong to no entry any more (or to a stale one, skipped), stop
 * forgets every entry, a rename away forgets the link, and a dev route the kernel drops
 * with its link or address is already marked as not in place by the link and address
 * events, which come first.
 */
#include "route_int.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

/* ---- parse ---- */

static int route_ev_fi(unsigned family)
{
	if (family == AF_INET)
		return 0;
	if (family == AF_INET6)
		return ROUTE_V6;
	return -1;
}

/* An optional attribute that must be exactly len bytes when present. */
static bool route_attr_len_ok(const struct nlattr *a, size_t len)
{
	return !a || (nla_len(a) >= 0 && (size_t)nla_len(a) == len);
}

/*
 * nlmsg_parse skips a truncated last attribute silently: a message whose attributes do not
 * end exactly at its end is refused instead.
 */
static int route_msg_parse(const struct nlmsghdr *nlh, size_t hdrlen, struct nlattr **tb,
			   int max)
{
	struct nlmsghdr *h = (struct nlmsghdr *)nlh;
	struct nlattr *a;
	int rem;

	if (!nlmsg_valid_hdr(h, (int)hdrlen) || nlmsg_parse(h, (int)hdrlen, tb, max, NULL) < 0)
		return -EINVAL;
	nlmsg_for_each_attr(a, h, (int)hdrlen, rem)
		;
	return rem == 0 ? 0 : -EINVAL;
}

static uint32_t route_attr_u32(const struct nlattr *a, uint32_t dflt)
{
	return a ? nla_get_u32((struct nlattr *)a) : dflt;
}

int route_rule_ev_parse(const struct nlmsghdr *nlh, struct route_rule_ev *ev)
{
	static const int u32s[] = { FRA_TABLE, FRA_PRIORITY, FRA_FWMARK, FRA_FWMASK,
				    FRA_SUPPRESS_PREFIXLEN };
	struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	size_t i;
	int fi;

	if (nlh->nlmsg_type != RTM_NEWRULE && nlh->nlmsg_type != RTM_DELRULE)
		return -EINVAL;
	if (route_msg_parse(nlh, sizeof(*frh), tb, FRA_MAX) < 0)
		return -EINVAL;
	frh = nlmsg_data(nlh);
	fi = route_ev_fi(frh->family);
	if (fi < 0)
		return -EINVAL;
	for (i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++) {
		if (!route_attr_len_ok(tb[u32s[i]], sizeof(uint32_t)))
			return -EINVAL;
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = nlh->nlmsg_type;
	ev->fi = fi;
	ev->action = frh->action;
	ev->table = route_attr_u32(tb[FRA_TABLE], frh->table);
	ev->prio = route_attr_u32(tb[FRA_PRIORITY], 0);
	ev->mark = route_attr_u32(tb[FRA_FWMARK], 0);
	/* the kernel's default mask for a mark given alone */
	ev->mask = route_attr_u32(tb[FRA_FWMASK], ev->mark ? UINT32_MAX : 0);
	ev->suppress = route_attr_u32(tb[FRA_SUPPRESS_PREFIXLEN], UINT32_MAX);
	ev->has_suppress = ev->suppress != UINT32_MAX;
	return 0;
}

int route_rt_ev_parse(const struct nlmsghdr *nlh, struct route_rt_ev *ev)
{
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	uint32_t oif;
	size_t alen;
	int fi;

	if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
		return -EINVAL;
	if (route_msg_parse(nlh, sizeof(*rtm), tb, RTA_MAX) < 0)
		return -EINVAL;
	rtm = nlmsg_data(nlh);
	fi = route_ev_fi(rtm->rtm_family);
	if (fi < 0)
		return -EINVAL;
	alen = route_fam_len(fi);
	if (rtm->rtm_dst_len > alen * 8 ||
	    !route_attr_len_ok(tb[RTA_TABLE], sizeof(uint32_t)) ||
	    !route_attr_len_ok(tb[RTA_PRIORITY], sizeof(uint32_t)) ||
	    !route_attr_len_ok(tb[RTA_OIF], sizeof(uint32_t)) ||
	    !route_attr_len_ok(tb[RTA_GATEWAY], alen) || !route_attr_len_ok(tb[RTA_DST], alen))
		return -EINVAL;
	oif = route_attr_u32(tb[RTA_OIF], 0);
	if (oif > INT_MAX)
		return -EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->type = nlh->nlmsg_type;
	ev->fi = fi;
	ev->rtype = rtm->rtm_type;
	ev->dst_len = rtm->rtm_dst_len;
	ev->cloned = (rtm->rtm_flags & RTM_F_CLONED) != 0;
	ev->table = route_attr_u32(tb[RTA_TABLE], rtm->rtm_table);
	ev->metric = route_attr_u32(tb[RTA_PRIORITY], 0);
	ev->oif = (int)oif;
	if (tb[RTA_GATEWAY]) {
		ev->has_gw = true;
		memcpy(ev->gw, nla_data(tb[RTA_GATEWAY]), alen);
	}
	return 0;
}

/* ---- decide ---- */

bool route_rt_table_maybe(const struct route_ent *ents, size_t n, uint8_t hdr_table)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ents[i].stale)
			continue;
		/* the header holds tables above 255 as RT_TABLE_COMPAT, the attribute tells */
		if (ents[i].table == hdr_table || (hdr_table == RT_TABLE_COMPAT &&
						   ents[i].table > UINT8_MAX))
			return true;
	}
	return false;
}

unsigned route_rule_decide(const struct route_ent *e, const struct route_rule_ev *ev)
{
	if (e->stale || ev->type != RTM_DELRULE || ev->fi < 0 || ev->fi >= ROUTE_NFAM ||
	    ev->action != FR_ACT_TO_TBL)
		return 0;
	if (ev->prio != e->prio || ev->mark != e->mark || ev->mask != e->mask ||
	    ev->table != e->table)
		return 0;
	return ROUTE_PUT_BIT(ROUTE_OBJ_RULE, ev->fi);
}

bool route_suppress_decide(uint32_t prio, const struct route_rule_ev *ev)
{
	return prio != 0 && ev->type == RTM_DELRULE && ev->action == FR_ACT_TO_TBL &&
	       ev->prio == prio && ev->table == RT_TABLE_MAIN && ev->has_suppress &&
	       ev->suppress == 0 && ev->mark == 0;
}

static bool route_rt_is_dev(const struct route_ent *e, const struct route_rt_ev *ev)
{
	int fi = ev->fi;

	if (ev->rtype != RTN_UNICAST || ev->metric != ROUTE_METRIC_DEV || ev->oif <= 0 ||
	    ev->oif != e->ifindex || ev->has_gw != e->has_gw[fi])
		return false;
	return !ev->has_gw || memcmp(ev->gw, e->gw[fi], route_fam_len(fi)) == 0;
}

unsigned route_rt_decide(struct route_ent *e, const struct route_rt_ev *ev)
{
	int fi = ev->fi;

	/* the table first: most route events of a busy host are about other tables */
	if (ev->table != e->table || e->stale || ev->type != RTM_DELROUTE || ev->cloned ||
	    ev->dst_len != 0 || fi < 0 || fi >= ROUTE_NFAM)
		return 0;
	if (ev->rtype == RTN_BLACKHOLE)
		return e->fail_closed && ev->metric == ROUTE_METRIC_BLACKHOLE ?
		       ROUTE_PUT_BIT(ROUTE_OBJ_BLACKHOLE, fi) : 0;
	/* one the kernel dropped with the link or an address was already marked gone */
	if (!e->link_up || !e->dev_ok[fi] || !route_rt_is_dev(e, ev))
		return 0;
	e->dev_ok[fi] = false;
	return ROUTE_PUT_BIT(ROUTE_OBJ_DEV, fi);
}

/* ---- rate ---- */

/* Whether the last ROUTE_RATE_N put-backs all ran within the window before now_ms. */
static bool route_rate_storm(const struct route_rate *r, uint64_t now_ms)
{
	/* when the ring is full, at[next] is the oldest of the last ROUTE_RATE_N */
	return r->n == ROUTE_RATE_N && now_ms < r->at[r->next] + ROUTE_RATE_WINDOW_MS;
}

uint64_t route_rate_next(const struct route_rate *r, uint64_t now_ms)
{
	uint64_t last = r->at[(r->next + ROUTE_RATE_N - 1) % ROUTE_RATE_N];

	if (!route_rate_storm(r, now_ms))
		return now_ms;
	return last + ROUTE_RATE_SLOW_MS > now_ms ? last + ROUTE_RATE_SLOW_MS : now_ms;
}

void route_rate_note(struct route_rate *r, uint64_t now_ms)
{
	r->at[r->next] = now_ms;
	r->next = (r->next + 1) % ROUTE_RATE_N;
	if (r->n < ROUTE_RATE_N)
		r->n++;
}

/* ---- the event socket's rule and route messages ---- */

/* Notes objects to put back, and when the last deletion was seen. */
static void route_watch_mark(struct route_mgr *rm, unsigned *put, unsigned bits)
{
	if (!bits)
		return;
	*put |= bits;
	rm->del_ms = util_now_ms();
}

void route_watch_msg(struct route_mgr *rm, const struct nlmsghdr *nlh)
{
	struct route_rule_ev rule;
	struct route_rt_ev rt;
	size_t i;

	if (nlh->nlmsg_type == RTM_DELROUTE) {
		/* the header's table byte decides before any attribute is looked at */
		if (!nlmsg_valid_hdr(nlh, sizeof(struct rtmsg)) ||
		    !route_rt_table_maybe(rm->ents, rm->n_ents,
					  ((const struct rtmsg *)nlmsg_data(nlh))->rtm_table))
			return;
		if (route_rt_ev_parse(nlh, &rt) < 0)
			return;
		for (i = 0; i < rm->n_ents; i++)
			route_watch_mark(rm, &rm->ents[i].put, route_rt_decide(&rm->ents[i], &rt));
		return;
	}
	if (nlh->nlmsg_type != RTM_DELRULE || route_rule_ev_parse(nlh, &rule) < 0)
		return;
	for (i = 0; i < rm->n_ents; i++)
		route_watch_mark(rm, &rm->ents[i].put, route_rule_decide(&rm->ents[i], &rule));
	if (route_suppress_decide(rm->suppress_prio, &rule))
		route_watch_mark(rm, &rm->suppress_put, 1u << rule.fi);
}

void route_watch_all(struct route_mgr *rm)
{
	size_t i;
	int fi;

	for (i = 0; i < rm->n_ents; i++) {
		struct route_ent *e = &rm->ents[i];

		if (e->stale)
			continue;
		for (fi = 0; fi < ROUTE_NFAM; fi++) {
			e->put |= ROUTE_PUT_BIT(ROUTE_OBJ_RULE, fi);
			if (e->fail_closed)
				e->put |= ROUTE_PUT_BIT(ROUTE_OBJ_BLACKHOLE, fi);
		}
	}
	if (rm->suppress_prio)
		rm->suppress_put = ROUTE_FAMS_ALL;
}

/* ---- act ---- */

/* Re-adds a rule or blackhole; says whether it really was missing. */
static void route_put_obj(struct route_mgr *rm, struct route_ent *e, enum route_obj obj, int fi)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	int rc;

	rc = route_obj_req(rm, e, fi, obj, 0, true);
	route_obj_fmt(e, fi, obj, "add", cmd, sizeof(cmd));
	if (rc < 0 && !(fi == ROUTE_V6 && rc == -EAFNOSUPPORT))
		route_log(rm, LOG_ERR, "route %s: putting back %s: %s", e->name, cmd,
			  route_errstr(rm, rc, why, sizeof(why)));
	else if (rc == 0 && !rm->existed)
		route_log(rm, LOG_WARNING, "route %s: deleted by another program, put back: %s",
			  e->name, cmd);
	else if (rc == 0)
		route_log(rm, LOG_DEBUG, "route %s: in place: %s", e->name, cmd);
}

/* Re-adds the dev routes of the families in fams, unless the link went down meanwhile. */
static void route_put_dev(struct route_mgr *rm, struct route_ent *e, unsigned fams)
{
	char cmd[ROUTE_CMD_MAX], err[CONF_ERR_MAX];
	int fi;

	if (route_ent_add_dev(rm, e, fams, err, sizeof(err)) < 0) {
		route_log(rm, LOG_ERR, "route %s: putting back its default route: %s", e->name,
			  err);
		return;
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!(fams & (1u << fi)) || !e->link_up || !e->dev_ok[fi])
			continue;
		route_obj_fmt(e, fi, ROUTE_OBJ_DEV, "add", cmd, sizeof(cmd));
		route_log(rm, LOG_WARNING, "route %s: deleted by another program, put back: %s",
			  e->name, cmd);
	}
}

/* In install order: the table is complete before the rule points at it. */
static void route_put_ent(struct route_mgr *rm, struct route_ent *e)
{
	unsigned put = e->put, fams = 0;
	int fi;

	e->put = 0;
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (put & ROUTE_PUT_BIT(ROUTE_OBJ_DEV, fi))
			fams |= 1u << fi;
	}
	if (fams)
		route_put_dev(rm, e, fams);
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((put & ROUTE_PUT_BIT(ROUTE_OBJ_BLACKHOLE, fi)) && e->fail_closed)
			route_put_obj(rm, e, ROUTE_OBJ_BLACKHOLE, fi);
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (put & ROUTE_PUT_BIT(ROUTE_OBJ_RULE, fi))
			route_put_obj(rm, e, ROUTE_OBJ_RULE, fi);
	}
}

static void route_put_suppress(struct route_mgr *rm)
{
	unsigned fams = rm->suppress_put;
	int fi, rc;

	rm->suppress_put = 0;
	for (fi = 0; fi < ROUTE_NFAM && rm->suppress_prio; fi++) {
		if (!(fams & (1u << fi)))
			continue;
		rc = route_suppress_req(rm, fi, rm->suppress_prio, true);
		if (rc < 0 && !(fi == ROUTE_V6 && rc == -EAFNOSUPPORT))
			route_log(rm, LOG_ERR, "putting back ip%s rule lookup main "
				  "suppress_prefixlength 0 priority %" PRIu32 ": %s",
				  fi == ROUTE_V6 ? " -6" : "", rm->suppress_prio, strerror(-rc));
		else if (rc == 0 && !rm->existed)
			route_log(rm, LOG_WARNING, "deleted by another program, put back: ip%s rule "
				  "add lookup main suppress_prefixlength 0 priority %" PRIu32,
				  fi == ROUTE_V6 ? " -6" : "", rm->suppress_prio);
	}
}

void route_watch_act(struct route_mgr *rm, uint64_t now_ms)
{
	uint64_t at;
	bool any = rm->suppress_put != 0;
	size_t i;

	for (i = 0; i < rm->n_ents && !any; i++)
		any = rm->ents[i].put != 0;
	if (!any) {
		rm->put_due_ms = 0;
		return;
	}
	/* `ip route flush` deletes in rounds until a dump finds the table empty: putting
	 * back between its rounds would only feed it (and the rate limit) */
	if (now_ms < rm->del_ms + ROUTE_SETTLE_MS) {
		rm->put_due_ms = rm->del_ms + ROUTE_SETTLE_MS;
		return;
	}
	/* an episode ends once the window saw fewer put-backs than the limit */
	if (!route_rate_storm(&rm->rate, now_ms))
		rm->rate.slow = false;
	at = route_rate_next(&rm->rate, now_ms);
	if (at > now_ms) {
		if (!rm->rate.slow)
			route_log(rm, LOG_ERR, "ip rules or routes of nfqroute keep being deleted "
				  "(more than %d put-backs in %u s): putting them back at most "
				  "once a second", ROUTE_RATE_N, ROUTE_RATE_WINDOW_MS / 1000);
		rm->rate.slow = true;
		rm->put_due_ms = at;
		return;
	}
	rm->put_due_ms = 0;
	route_rate_note(&rm->rate, now_ms);
	for (i = 0; i < rm->n_ents; i++) {
		if (rm->ents[i].put)
			route_put_ent(rm, &rm->ents[i]);
	}
	route_put_suppress(rm);
}
