/*
 * The route module's kernel side (libnl-route-3): one request per rule or route on the
 * request socket, waiting for the answer, and the kernel's own errno and extended-ack
 * message kept for messages, since libnl folds errnos together.
 */
#include "route_int.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/fib_rules.h>
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

/* ---- errors ---- */

/* libnl folds errno values together; used only when the kernel did not answer itself. */
int route_nle_errno(int nlerr)
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

const char *route_errstr(const struct route_mgr *rm, int rc, char *buf, size_t size)
{
	if (rm->kmsg[0])
		snprintf(buf, size, "%s (%s)", strerror(-rc), rm->kmsg);
	else
		snprintf(buf, size, "%s", strerror(-rc));
	return buf;
}

bool route_err_notfound(int rc)
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
	rm->existed = false;
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
	rtnl_rule_set_family(rule, route_fam(fi));
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
	rm->existed = add && rc == -EEXIST;
	return rm->existed ? 0 : rc;
}

int route_suppress_req(struct route_mgr *rm, int fi, uint32_t prio, bool add)
{
	struct rtnl_rule *rule = rtnl_rule_alloc();
	struct nl_msg *msg = NULL;
	int rc;

	if (!rule)
		return -ENOMEM;
	rtnl_rule_set_family(rule, route_fam(fi));
	rtnl_rule_set_prio(rule, prio);
	rtnl_rule_set_table(rule, RT_TABLE_MAIN);
	rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
	rc = add ? rtnl_rule_build_add_request(rule, NLM_F_CREATE | NLM_F_EXCL, &msg) :
		   rtnl_rule_build_delete_request(rule, 0, &msg);
	/* libnl has no setter for it: the attribute goes on the built message */
	if (rc >= 0)
		rc = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, 0);
	if (rc >= 0) {
		route_req_begin(rm);
		rc = nl_send_sync(rm->sk, msg);	/* frees msg */
		msg = NULL;
	}
	nlmsg_free(msg);
	rtnl_rule_put(rule);
	rc = route_nlerr(rm, rc);
	rm->existed = add && rc == -EEXIST;
	return rm->existed ? 0 : rc;
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
	if (rtnl_route_set_family(r, (uint8_t)route_fam(fi)) < 0) {
		rc = -EAFNOSUPPORT;
		goto fail;
	}
	rtnl_route_set_table(r, e->table);
	rtnl_route_set_protocol(r, add ? ROUTE_PROTO : RTPROT_UNSPEC);
	dst = route_addr_new(route_fam(fi), NULL, 0);
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
			gw = route_addr_new(route_fam(fi), e->gw[fi],
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
	rm->existed = add && rc == -EEXIST;
	return rm->existed ? 0 : rc;
}

int route_obj_req(struct route_mgr *rm, const struct route_ent *e, int fi, enum route_obj obj,
		  int ifindex, bool add)
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

int route_link_get(struct route_mgr *rm, const char *ifname, int *ifindex, bool *up)
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

/* ---- the request socket ---- */

static void route_sock_tune(struct nl_sock *sk)
{
	int one = 1;

	/* best effort: kernel messages explain failures; the capped ack keeps replies small */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
}

int route_nl_open(struct route_mgr *rm, char *err, size_t errlen)
{
	int rc;

	rc = nl_connect(rm->sk, NETLINK_ROUTE);
	if (rc < 0)
		goto fail;
	route_sock_tune(rm->sk);
	rc = nl_socket_modify_err_cb(rm->sk, NL_CB_CUSTOM, route_err_cb, rm);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "rtnetlink: %s", nl_geterror(rc));
	return rc;
}
