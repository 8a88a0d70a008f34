/*
 * Following the kernel's link and address events (its rule and route events go to
 * route_watch.c), in three steps: parse (validate one message), decide (update a route's
 * view, say what to do) and act (after the batch, so a burst of events costs one request
 * per route). A route's default route through its interface comes back when the link
 * comes up or is re-created, goes with a link renamed away, and is retried when an
 * address arrives that can make its gateway reachable.
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

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#define ROUTE_EV_BATCH		256	/* datagrams per handle_events call; the rest waits */
#define ROUTE_EV_RCVBUF		(1 << 20)

/* ---- link events: parse, decide ---- */

static const struct nla_policy route_link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = { .type = NLA_STRING, .minlen = 1, .maxlen = IF_NAMESIZE },
};

int route_link_ev_parse(struct nlmsghdr *nlh, struct route_link_ev *ev)
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

/* The kernel drops routes through a link that goes down, away or is replaced. */
static void route_ent_link_set(struct route_ent *e, int ifindex, bool up)
{
	int fi;

	if (!up || ifindex != e->ifindex) {
		for (fi = 0; fi < ROUTE_NFAM; fi++)
			e->dev_ok[fi] = false;
	}
	e->ifindex = ifindex;
	e->link_up = up;
}

enum route_link_act route_link_decide(struct route_ent *e, const struct route_link_ev *ev)
{
	bool up, was_up = e->link_up;
	int was_index = e->ifindex;

	if (strcmp(ev->name, e->ifname) == 0) {
		if (ev->type == RTM_DELLINK) {
			route_ent_link_set(e, 0, false);
			return ROUTE_LINK_NONE;
		}
		up = (ev->flags & IFF_UP) != 0;
		route_ent_link_set(e, ev->ifindex, up);
		/* a new ifindex under the same name is a new link without our routes */
		return up && (!was_up || was_index != ev->ifindex) ? ROUTE_LINK_ADD
								   : ROUTE_LINK_NONE;
	}
	if (was_index == 0 || ev->ifindex != was_index)
		return ROUTE_LINK_NONE;
	/* our link now carries another name: it is no longer the configured interface */
	route_ent_link_set(e, 0, false);
	return ev->type == RTM_NEWLINK ? ROUTE_LINK_LOST : ROUTE_LINK_NONE;
}

/* ---- address events: parse, decide ---- */

static bool route_addr_attr_ok(const struct nlattr *a, int fi)
{
	return a && nla_len(a) >= 0 && (size_t)nla_len(a) == route_fam_len(fi);
}

int route_addr_ev_parse(struct nlmsghdr *nlh, struct route_addr_ev *ev)
{
	struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	int fi;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return -EINVAL;
	if (nlmsg_parse(nlh, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
		return -EINVAL;
	ifa = nlmsg_data(nlh);
	if (ifa->ifa_family == AF_INET)
		fi = 0;
	else if (ifa->ifa_family == AF_INET6)
		fi = ROUTE_V6;
	else
		return -EINVAL;
	if (ifa->ifa_index == 0 || ifa->ifa_index > INT_MAX ||
	    ifa->ifa_prefixlen > route_fam_len(fi) * 8)
		return -EINVAL;
	if (!route_addr_attr_ok(tb[IFA_ADDRESS], fi) ||
	    (tb[IFA_LOCAL] && !route_addr_attr_ok(tb[IFA_LOCAL], fi)))
		return -EINVAL;
	ev->type = nlh->nlmsg_type;
	ev->fi = fi;
	ev->ifindex = (int)ifa->ifa_index;
	return 0;
}

enum route_addr_act route_addr_decide(struct route_ent *e, const struct route_addr_ev *ev)
{
	if (e->ifindex <= 0 || ev->ifindex != e->ifindex || ev->fi < 0 || ev->fi >= ROUTE_NFAM)
		return ROUTE_ADDR_NONE;
	if (ev->type == RTM_DELADDR) {
		e->dev_ok[ev->fi] = false;
		return ROUTE_ADDR_NONE;
	}
	/* while down the up transition adds the routes; an installed one needs nothing */
	return e->link_up && !e->dev_ok[ev->fi] ? ROUTE_ADDR_RETRY : ROUTE_ADDR_NONE;
}

/* ---- one batch of events ---- */

static void route_ev_link(struct route_mgr *rm, struct nlmsghdr *nlh)
{
	struct route_link_ev ev;
	size_t i;

	if (route_link_ev_parse(nlh, &ev) < 0)
		return;
	for (i = 0; i < rm->n_ents; i++) {
		struct route_ent *e = &rm->ents[i];

		bool was_up = e->link_up;

		if (e->stale)
			continue;
		switch (route_link_decide(e, &ev)) {
		case ROUTE_LINK_ADD:
			e->pending = true;
			break;
		case ROUTE_LINK_LOST:
			e->lost_ifindex = ev.ifindex;
			e->pending = false;
			e->addr_retry = 0;
			break;
		case ROUTE_LINK_NONE:
			break;
		}
		/* the kernel dropped the route with the link: say what the route does now */
		if (was_up && !e->link_up && !strcmp(ev.name, e->ifname))
			route_log(rm, LOG_WARNING, "route %s: interface %s is %s: its connections %s",
				  e->name, e->ifname, ev.type == RTM_DELLINK ? "gone" : "down",
				  e->fail_closed ? "are blackholed" : "use the main table");
	}
}

static void route_ev_addr(struct route_mgr *rm, struct nlmsghdr *nlh)
{
	struct route_addr_ev ev;
	size_t i;

	if (route_addr_ev_parse(nlh, &ev) < 0)
		return;
	for (i = 0; i < rm->n_ents; i++) {
		struct route_ent *e = &rm->ents[i];

		if (!e->stale && route_addr_decide(e, &ev) == ROUTE_ADDR_RETRY)
			e->addr_retry |= 1u << ev.fi;
	}
}

static int route_ev_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct route_mgr *rm = arg;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		route_ev_link(rm, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		route_ev_addr(rm, nlh);
		break;
	case RTM_DELRULE:
	case RTM_DELROUTE:
		route_watch_msg(rm, nlh);
		break;
	}
	return NL_OK;
}

/* ---- act ---- */

static void route_ent_sync_lost(struct route_mgr *rm, struct route_ent *e)
{
	int fi, first = 0;

	route_log(rm, LOG_INFO, "route %s: interface %s was renamed; dropping its routes",
		  e->name, e->ifname);
	for (fi = 0; fi < ROUTE_NFAM; fi++)
		route_obj_del(rm, e, fi, ROUTE_OBJ_DEV, e->lost_ifindex, &first);
	e->lost_ifindex = 0;
}

/* A link transition re-adds every family; an address only the families it may help. */
static void route_ent_sync_add(struct route_mgr *rm, struct route_ent *e)
{
	char err[CONF_ERR_MAX];
	bool link = e->pending;
	unsigned fams = link ? ROUTE_FAMS_ALL : e->addr_retry;
	int fi;

	e->pending = false;
	e->addr_retry = 0;
	if (route_ent_add_dev(rm, e, fams, err, sizeof(err)) < 0) {
		route_log(rm, LOG_ERR, "%s", err);
		return;
	}
	if (!e->link_up)
		return;
	if (link) {
		route_log(rm, LOG_INFO, "route %s: interface %s is up, default route in table %"
			  PRIu32 " restored", e->name, e->ifname, e->table);
		return;
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((fams & (1u << fi)) && e->dev_ok[fi])
			route_log(rm, LOG_INFO, "route %s: interface %s has an address, IPv%d "
				  "default route in table %" PRIu32 " restored", e->name,
				  e->ifname, fi == ROUTE_V6 ? 6 : 4, e->table);
	}
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
			route_log(rm, LOG_WARNING, "rtnetlink events lost; checking every "
				  "interface, rule and route");
			for (i = 0; i < rm->n_ents; i++)
				rm->ents[i].pending = !rm->ents[i].stale;
			route_watch_all(rm);
			continue;
		}
		rc = route_nle_errno(n);
		break;
	}
	for (i = 0; i < rm->n_ents; i++) {
		if (rm->ents[i].lost_ifindex)
			route_ent_sync_lost(rm, &rm->ents[i]);
		if (rm->ents[i].pending || rm->ents[i].addr_retry)
			route_ent_sync_add(rm, &rm->ents[i]);
	}
	route_watch_act(rm, util_now_ms());
	return rc;
}

/* ---- the event socket ---- */

int route_ev_open(struct route_mgr *rm, char *err, size_t errlen)
{
	int rc;

	/* events carry no sequence numbers of ours */
	nl_socket_disable_seq_check(rm->ev);
	rc = nl_socket_modify_cb(rm->ev, NL_CB_VALID, NL_CB_CUSTOM, route_ev_cb, rm);
	if (rc < 0)
		goto fail;
	rc = nl_connect(rm->ev, NETLINK_ROUTE);
	if (rc < 0)
		goto fail;
	rc = nl_socket_add_memberships(rm->ev, RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
				       RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE,
				       RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
	if (rc < 0)
		goto fail;
	rc = nl_socket_set_nonblocking(rm->ev);
	if (rc < 0)
		goto fail;
	/* a large buffer makes lost events (and the full recheck they cause) rare */
	nl_socket_set_buffer_size(rm->ev, ROUTE_EV_RCVBUF, 0);
	rm->ev_cb = nl_socket_get_cb(rm->ev);
	if (!rm->ev_cb) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
fail:
	snprintf(err, errlen, "rtnetlink: %s", nl_geterror(rc));
	return rc;
}
