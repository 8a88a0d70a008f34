/*
 * route_plan_print: the ip(8) commands equivalent to route_mgr_apply; the parse and
 * decide steps of link, address, rule and route events and the put-back rate (no root
 * needed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "conf.h"
#include "route.h"
#include "route_int.h"

#define N_ROUTES 4

struct fixture {
	struct conf c;
	struct conf_route routes[N_ROUTES];
};

static void route_set(struct conf_route *r, const char *name, const char *ifname,
		      uint32_t table, uint32_t mark, bool fail_closed)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifname);
	r->table = table;
	r->mark = mark;
	r->fail_closed = fail_closed;
}

static void gw_set(struct pkt_addr *a, int family, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	assert_int_equal(inet_pton(family, text, a->a), 1);
}

/* A typical configuration: a fail-closed tunnel, a main-table route, a route with gateways. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	route_set(&f->routes[0], "vpn", "wg0", 100, 0x100, true);
	f->routes[0].keep_blackhole = true;
	route_set(&f->routes[1], "direct", "eth0", CONF_TABLE_MAIN, 0x300, true);
	route_set(&f->routes[2], "alt", "wg1", 200, 0x200, false);
	f->routes[2].has_gw4 = true;
	gw_set(&f->routes[2].gw4, AF_INET, "10.9.0.1");
	f->routes[2].has_gw6 = true;
	gw_set(&f->routes[2].gw6, AF_INET6, "fd09::1");
	f->c.mark_mask = 0xff00;
	f->c.rule_priority = 1000;
	f->c.routes = f->routes;
	f->c.n_routes = 3;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Runs route_plan_print into a string the caller frees. */
static char *plan(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	route_plan_print(c, out);
	assert_int_equal(fclose(out), 0);
	assert_non_null(buf);
	return buf;
}

static void test_plan_sample(void **state)
{
	struct fixture *f = *state;
	static const char want[] =
		"# route vpn: fwmark 0x100/0xff00 -> table 100 via wg0, fail-closed\n"
		"ip route add default dev wg0 table 100 metric 1024 proto static\n"
		"ip -6 route add default dev wg0 table 100 metric 1024 proto static\n"
		"ip route add blackhole default table 100 metric 4278198272 proto static\n"
		"ip -6 route add blackhole default table 100 metric 4278198272 proto static\n"
		"ip rule add fwmark 0x100/0xff00 lookup 100 priority 1000\n"
		"ip -6 rule add fwmark 0x100/0xff00 lookup 100 priority 1000\n"
		"# route direct: table main, no ip rule or route\n"
		"# route alt: fwmark 0x200/0xff00 -> table 200 via wg1\n"
		"ip route add default via 10.9.0.1 dev wg1 table 200 metric 1024 proto static\n"
		"ip -6 route add default via fd09::1 dev wg1 table 200 metric 1024 proto static\n"
		"ip rule add fwmark 0x200/0xff00 lookup 200 priority 1002\n"
		"ip -6 rule add fwmark 0x200/0xff00 lookup 200 priority 1002\n";
	char *got = plan(&f->c);

	assert_string_equal(got, want);
	free(got);
}

static void test_plan_empty(void **state)
{
	struct fixture *f = *state;
	char *got;

	f->c.n_routes = 0;
	got = plan(&f->c);
	assert_string_equal(got, "");
	free(got);
}

/* Priorities follow the position in the file, main-table routes included. */
static void test_plan_priority_counts_main_routes(void **state)
{
	struct fixture *f = *state;
	char *got;

	f->c.rule_priority = 20000;
	got = plan(&f->c);
	assert_non_null(strstr(got, "lookup 100 priority 20000\n"));
	assert_non_null(strstr(got, "lookup 200 priority 20002\n"));
	assert_null(strstr(got, "priority 20001"));
	assert_null(strstr(got, "0x300"));
	free(got);
}

/* The largest table number, a full mask and a link-local IPv6 gateway print unmangled. */
static void test_plan_extremes(void **state)
{
	struct fixture *f = *state;
	static const char want[] =
		"# route big: fwmark 0x80000000/0xffffffff -> table 4294967294 via tun-x_1,"
		" fail-closed\n"
		"ip route add default dev tun-x_1 table 4294967294 metric 1024 proto static\n"
		"ip -6 route add default via fe80::1 dev tun-x_1 table 4294967294 metric 1024"
		" proto static\n"
		"ip route add blackhole default table 4294967294 metric 4278198272 proto static\n"
		"ip -6 route add blackhole default table 4294967294 metric 4278198272"
		" proto static\n"
		"ip rule add fwmark 0x80000000/0xffffffff lookup 4294967294 priority 1\n"
		"ip -6 rule add fwmark 0x80000000/0xffffffff lookup 4294967294 priority 1\n";
	char *got;

	route_set(&f->routes[0], "big", "tun-x_1", 4294967294u, 0x80000000u, true);
	f->routes[0].has_gw6 = true;
	gw_set(&f->routes[0].gw6, AF_INET6, "fe80::1");
	f->c.mark_mask = 0xffffffffu;
	f->c.rule_priority = 1;
	f->c.n_routes = 1;
	got = plan(&f->c);
	assert_string_equal(got, want);
	free(got);
}

/* Inconsistent input is reported in the plan instead of printing wrong commands. */
static void test_plan_bad_route(void **state)
{
	struct fixture *f = *state;
	char *got;

	gw_set(&f->routes[2].gw4, AF_INET6, "fd09::1");
	got = plan(&f->c);
	assert_non_null(strstr(got, "# route alt: gateway of the wrong address family\n"));
	assert_null(strstr(got, "lookup 200"));
	assert_non_null(strstr(got, "lookup 100 priority 1000\n"));
	free(got);

	gw_set(&f->routes[2].gw4, AF_INET, "10.9.0.1");
	f->c.rule_priority = UINT32_MAX - 1;
	got = plan(&f->c);
	assert_non_null(strstr(got, "lookup 100 priority 4294967294\n"));
	assert_non_null(strstr(got, "# route alt: rule priority 4294967294 + 2 overflows\n"));
	free(got);
}

/* ---- address events ---- */

/* An address message as the kernel sends it; addr_len 0 leaves IFA_ADDRESS out. */
static struct nl_msg *addr_msg(int type, uint8_t family, uint32_t ifindex, uint8_t prefixlen,
			       size_t addr_len)
{
	static const uint8_t addr[16] = { 10, 9, 0, 2 };
	struct ifaddrmsg ifa = {
		.ifa_family = family,
		.ifa_prefixlen = prefixlen,
		.ifa_index = ifindex,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, 0);

	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO), 0);
	if (addr_len > 0)
		assert_int_equal(nla_put(msg, IFA_ADDRESS, (int)addr_len, addr), 0);
	return msg;
}

/* Parses a message built by addr_msg and frees it. */
static int addr_parse(struct nl_msg *msg, struct route_addr_ev *ev)
{
	int rc = route_addr_ev_parse(nlmsg_hdr(msg), ev);

	nlmsg_free(msg);
	return rc;
}

static void test_addr_parse_ok(void **state)
{
	static const uint8_t local6[16] = { 0xfd, 0x09, [15] = 2 };
	struct route_addr_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 4), &ev), 0);
	assert_int_equal(ev.type, RTM_NEWADDR);
	assert_int_equal(ev.fi, 0);
	assert_int_equal(ev.ifindex, 7);

	msg = addr_msg(RTM_DELADDR, AF_INET6, INT_MAX, 128, 16);
	assert_int_equal(nla_put(msg, IFA_LOCAL, sizeof(local6), local6), 0);
	assert_int_equal(addr_parse(msg, &ev), 0);
	assert_int_equal(ev.type, RTM_DELADDR);
	assert_int_equal(ev.fi, ROUTE_V6);
	assert_int_equal(ev.ifindex, INT_MAX);
}

/* Anything but a well-formed address message of a known family is ignored. */
static void test_addr_parse_rejects(void **state)
{
	struct route_addr_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(addr_parse(addr_msg(RTM_NEWLINK, AF_INET, 7, 24, 4), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_PACKET, 7, 0, 4), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 0, 24, 4), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 0x80000000u, 24, 4), &ev),
			 -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 7, 33, 4), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET6, 7, 129, 16), &ev), -EINVAL);
	/* IFA_ADDRESS missing, or not of the family's length */
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 0), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 16), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET6, 7, 64, 4), &ev), -EINVAL);
	assert_int_equal(addr_parse(addr_msg(RTM_NEWADDR, AF_INET6, 7, 64, 15), &ev), -EINVAL);
	msg = addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 4);
	assert_int_equal(nla_put(msg, IFA_LOCAL, 3, "abc"), 0);
	assert_int_equal(addr_parse(msg, &ev), -EINVAL);
	/* the attribute runs past the message: it is not read */
	msg = addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 4);
	nlmsg_hdr(msg)->nlmsg_len -= 2;
	assert_int_equal(addr_parse(msg, &ev), -EINVAL);
	/* shorter than struct ifaddrmsg */
	msg = addr_msg(RTM_NEWADDR, AF_INET, 7, 24, 0);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN + sizeof(struct ifaddrmsg) - 1;
	assert_int_equal(addr_parse(msg, &ev), -EINVAL);
}

/* An entry whose interface (ifindex 7) is up and whose dev routes are both in place. */
static void ent_up(struct route_ent *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "vpn");
	snprintf(e->ifname, sizeof(e->ifname), "wg0");
	e->ifindex = 7;
	e->link_up = true;
	e->dev_ok[0] = e->dev_ok[ROUTE_V6] = true;
}

static void test_addr_decide(void **state)
{
	struct route_addr_ev v4 = { .type = RTM_NEWADDR, .fi = 0, .ifindex = 7 };
	struct route_addr_ev v6 = { .type = RTM_NEWADDR, .fi = ROUTE_V6, .ifindex = 7 };
	struct route_addr_ev del4 = { .type = RTM_DELADDR, .fi = 0, .ifindex = 7 };
	struct route_addr_ev other = { .type = RTM_NEWADDR, .fi = 0, .ifindex = 8 };
	struct route_ent e;

	(void)state;
	ent_up(&e);
	assert_int_equal(route_addr_decide(&e, &v4), ROUTE_ADDR_NONE);
	assert_int_equal(route_addr_decide(&e, &v6), ROUTE_ADDR_NONE);

	/* the gateway was not reachable when the link came up */
	e.dev_ok[0] = false;
	assert_int_equal(route_addr_decide(&e, &v4), ROUTE_ADDR_RETRY);
	assert_int_equal(route_addr_decide(&e, &v6), ROUTE_ADDR_NONE);
	assert_int_equal(route_addr_decide(&e, &other), ROUTE_ADDR_NONE);
	e.link_up = false;
	assert_int_equal(route_addr_decide(&e, &v4), ROUTE_ADDR_NONE);

	/* a removed address may have taken the route with it: the next one retries */
	ent_up(&e);
	assert_int_equal(route_addr_decide(&e, &del4), ROUTE_ADDR_NONE);
	assert_false(e.dev_ok[0]);
	assert_true(e.dev_ok[ROUTE_V6]);
	assert_int_equal(route_addr_decide(&e, &v4), ROUTE_ADDR_RETRY);

	/* an interface not seen yet matches no address event */
	memset(&e, 0, sizeof(e));
	assert_int_equal(route_addr_decide(&e, &v4), ROUTE_ADDR_NONE);
}

/* ---- link events ---- */

static void test_link_decide(void **state)
{
	struct route_link_ev ev = { .type = RTM_NEWLINK, .ifindex = 7, .flags = IFF_UP };
	struct route_ent e;

	(void)state;
	snprintf(ev.name, sizeof(ev.name), "wg0");
	ent_up(&e);
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_NONE);
	assert_true(e.dev_ok[0] && e.dev_ok[ROUTE_V6]);

	ev.flags = 0;
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_NONE);
	assert_false(e.link_up || e.dev_ok[0] || e.dev_ok[ROUTE_V6]);
	ev.flags = IFF_UP;
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_ADD);
	assert_true(e.link_up);

	/* re-created under the same name: a new link without our routes */
	ent_up(&e);
	ev.ifindex = 9;
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_ADD);
	assert_int_equal(e.ifindex, 9);
	assert_false(e.dev_ok[0]);

	/* renamed away */
	ent_up(&e);
	ev.ifindex = 7;
	snprintf(ev.name, sizeof(ev.name), "wgx");
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_LOST);
	assert_int_equal(e.ifindex, 0);
	assert_false(e.link_up || e.dev_ok[0]);

	ent_up(&e);
	ev.type = RTM_DELLINK;
	snprintf(ev.name, sizeof(ev.name), "wg0");
	assert_int_equal(route_link_decide(&e, &ev), ROUTE_LINK_NONE);
	assert_int_equal(e.ifindex, 0);
	assert_false(e.dev_ok[ROUTE_V6]);
}

/* ---- rule events ---- */

/* A rule message as the kernel sends it for `ip rule add fwmark 0x100/0xff00 lookup 100
 * priority 1000` (family AF_INET or AF_INET6). */
static struct nl_msg *rule_msg(int type, uint8_t family, uint32_t table, uint32_t prio)
{
	struct fib_rule_hdr frh = {
		.family = family,
		.table = table < 256 ? (uint8_t)table : RT_TABLE_COMPAT,
		.action = FR_ACT_TO_TBL,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, 0);

	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_u32(msg, FRA_TABLE, table), 0);
	assert_int_equal(nla_put_u32(msg, FRA_PRIORITY, prio), 0);
	assert_int_equal(nla_put_u32(msg, FRA_FWMARK, 0x100), 0);
	assert_int_equal(nla_put_u32(msg, FRA_FWMASK, 0xff00), 0);
	return msg;
}

static int rule_parse(struct nl_msg *msg, struct route_rule_ev *ev)
{
	int rc = route_rule_ev_parse(nlmsg_hdr(msg), ev);

	nlmsg_free(msg);
	return rc;
}

static void test_rule_parse(void **state)
{
	struct route_rule_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(rule_parse(rule_msg(RTM_DELRULE, AF_INET6, 4294967294u, 1000), &ev), 0);
	assert_int_equal(ev.type, RTM_DELRULE);
	assert_int_equal(ev.fi, ROUTE_V6);
	assert_int_equal(ev.action, FR_ACT_TO_TBL);
	assert_int_equal(ev.table, 4294967294u);
	assert_int_equal(ev.prio, 1000);
	assert_int_equal(ev.mark, 0x100);
	assert_int_equal(ev.mask, 0xff00);
	assert_false(ev.has_suppress);

	/* the header's table when there is no attribute; a mark alone has the full mask */
	msg = nlmsg_alloc_simple(RTM_DELRULE, 0);
	struct fib_rule_hdr frh = { .family = AF_INET, .table = 100, .action = FR_ACT_TO_TBL };

	assert_int_equal(nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_u32(msg, FRA_FWMARK, 7), 0);
	assert_int_equal(nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, 0), 0);
	assert_int_equal(rule_parse(msg, &ev), 0);
	assert_int_equal(ev.table, 100);
	assert_int_equal(ev.prio, 0);
	assert_int_equal(ev.mark, 7);
	assert_int_equal(ev.mask, UINT32_MAX);
	assert_true(ev.has_suppress);
	assert_int_equal(ev.suppress, 0);

	/* suppress_prefixlength -1 is how the kernel says "not set" */
	msg = rule_msg(RTM_DELRULE, AF_INET, 100, 999);
	assert_int_equal(nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX), 0);
	assert_int_equal(rule_parse(msg, &ev), 0);
	assert_false(ev.has_suppress);
}

static void test_rule_parse_rejects(void **state)
{
	struct route_rule_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(rule_parse(rule_msg(RTM_DELROUTE, AF_INET, 100, 1000), &ev), -EINVAL);
	assert_int_equal(rule_parse(rule_msg(RTM_DELRULE, AF_PACKET, 100, 1000), &ev), -EINVAL);
	/* a 32-bit attribute of another length */
	msg = rule_msg(RTM_DELRULE, AF_INET, 100, 1000);
	assert_int_equal(nla_put(msg, FRA_SUPPRESS_PREFIXLEN, 2, "ab"), 0);
	assert_int_equal(rule_parse(msg, &ev), -EINVAL);
	msg = nlmsg_alloc_simple(RTM_DELRULE, 0);
	struct fib_rule_hdr frh = { .family = AF_INET };

	assert_int_equal(nlmsg_append(msg, &frh, sizeof(frh), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put(msg, FRA_TABLE, 8, "abcdefgh"), 0);
	assert_int_equal(rule_parse(msg, &ev), -EINVAL);
	/* the last attribute runs past the message */
	msg = rule_msg(RTM_DELRULE, AF_INET, 100, 1000);
	nlmsg_hdr(msg)->nlmsg_len -= 2;
	assert_int_equal(rule_parse(msg, &ev), -EINVAL);
	/* shorter than struct fib_rule_hdr */
	msg = nlmsg_alloc_simple(RTM_DELRULE, 0);
	assert_int_equal(nlmsg_append(msg, &frh, sizeof(frh) - 1, 0), 0);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN + sizeof(frh) - 1;
	assert_int_equal(rule_parse(msg, &ev), -EINVAL);
}

/* The entry ent_up gives, with the rule and blackhole of table 100 at priority 1000. */
static void ent_vpn(struct route_ent *e)
{
	ent_up(e);
	e->table = 100;
	e->mark = 0x100;
	e->mask = 0xff00;
	e->prio = 1000;
	e->fail_closed = true;
}

static void test_rule_decide(void **state)
{
	struct route_rule_ev ev = {
		.type = RTM_DELRULE, .fi = 0, .action = FR_ACT_TO_TBL,
		.table = 100, .prio = 1000, .mark = 0x100, .mask = 0xff00,
	};
	struct route_rule_ev other;
	struct route_ent e;

	(void)state;
	ent_vpn(&e);
	assert_int_equal(route_rule_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_RULE, 0));
	ev.fi = ROUTE_V6;
	assert_int_equal(route_rule_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_RULE, ROUTE_V6));
	/* the rule is wanted whatever the link does */
	e.link_up = false;
	e.ifindex = 0;
	assert_int_equal(route_rule_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_RULE, ROUTE_V6));

	/* any other key: another program's rule */
	other = ev;
	other.prio = 1001;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	other = ev;
	other.mark = 0x200;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	other = ev;
	other.mask = 0xffff;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	other = ev;
	other.table = 200;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	other = ev;
	other.action = FR_ACT_BLACKHOLE;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	/* an added rule, e.g. our own put-back */
	other = ev;
	other.type = RTM_NEWRULE;
	assert_int_equal(route_rule_decide(&e, &other), 0);
	/* an entry left from a failed apply is only kept to be removed */
	e.stale = true;
	assert_int_equal(route_rule_decide(&e, &ev), 0);
}

static void test_suppress_decide(void **state)
{
	struct route_rule_ev ev = {
		.type = RTM_DELRULE, .fi = 0, .action = FR_ACT_TO_TBL,
		.table = RT_TABLE_MAIN, .prio = 999, .has_suppress = true, .suppress = 0,
	};
	struct route_rule_ev other;

	(void)state;
	assert_true(route_suppress_decide(999, &ev));
	assert_false(route_suppress_decide(0, &ev));	/* none installed */
	assert_false(route_suppress_decide(998, &ev));
	other = ev;
	other.has_suppress = false;
	assert_false(route_suppress_decide(999, &other));
	other = ev;
	other.suppress = 8;
	assert_false(route_suppress_decide(999, &other));
	other = ev;
	other.table = 100;
	assert_false(route_suppress_decide(999, &other));
	other = ev;
	other.type = RTM_NEWRULE;
	assert_false(route_suppress_decide(999, &other));
}

/* ---- route events ---- */

/* A route message of table `table` as the kernel sends it (header and RTA_TABLE). */
static struct nl_msg *rt_msg(int type, uint8_t family, uint8_t rtype, uint32_t table,
			     uint32_t metric, uint32_t oif)
{
	struct rtmsg rtm = {
		.rtm_family = family,
		.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_COMPAT,
		.rtm_protocol = RTPROT_STATIC,
		.rtm_type = rtype,
	};
	struct nl_msg *msg = nlmsg_alloc_simple(type, 0);

	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_u32(msg, RTA_TABLE, table), 0);
	assert_int_equal(nla_put_u32(msg, RTA_PRIORITY, metric), 0);
	if (oif)
		assert_int_equal(nla_put_u32(msg, RTA_OIF, oif), 0);
	return msg;
}

static int rt_parse(struct nl_msg *msg, struct route_rt_ev *ev)
{
	int rc = route_rt_ev_parse(nlmsg_hdr(msg), ev);

	nlmsg_free(msg);
	return rc;
}

static void test_rt_parse(void **state)
{
	static const uint8_t gw6[16] = { 0xfd, 0x09, [15] = 1 };
	struct route_rt_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(rt_parse(rt_msg(RTM_DELROUTE, AF_INET, RTN_BLACKHOLE, 100,
					 ROUTE_METRIC_BLACKHOLE, 0), &ev), 0);
	assert_int_equal(ev.type, RTM_DELROUTE);
	assert_int_equal(ev.fi, 0);
	assert_int_equal(ev.rtype, RTN_BLACKHOLE);
	assert_int_equal(ev.table, 100);
	assert_int_equal(ev.metric, ROUTE_METRIC_BLACKHOLE);
	assert_int_equal(ev.oif, 0);
	assert_false(ev.has_gw || ev.cloned);
	assert_int_equal(ev.dst_len, 0);

	msg = rt_msg(RTM_DELROUTE, AF_INET6, RTN_UNICAST, 4294967294u, ROUTE_METRIC_DEV, 7);
	assert_int_equal(nla_put(msg, RTA_GATEWAY, sizeof(gw6), gw6), 0);
	assert_int_equal(rt_parse(msg, &ev), 0);
	assert_int_equal(ev.fi, ROUTE_V6);
	assert_int_equal(ev.table, 4294967294u);
	assert_int_equal(ev.oif, 7);
	assert_true(ev.has_gw);
	assert_memory_equal(ev.gw, gw6, sizeof(gw6));
}

static void test_rt_parse_rejects(void **state)
{
	struct route_rt_ev ev;
	struct nl_msg *msg;

	(void)state;
	assert_int_equal(rt_parse(rt_msg(RTM_DELRULE, AF_INET, RTN_UNICAST, 100, 1, 7), &ev),
			 -EINVAL);
	assert_int_equal(rt_parse(rt_msg(RTM_DELROUTE, AF_BRIDGE, RTN_UNICAST, 100, 1, 7), &ev),
			 -EINVAL);
	/* an ifindex that does not fit an int */
	assert_int_equal(rt_parse(rt_msg(RTM_DELROUTE, AF_INET, RTN_UNICAST, 100, 1,
					 0x80000000u), &ev), -EINVAL);
	/* a gateway or destination of the other family's length */
	msg = rt_msg(RTM_DELROUTE, AF_INET, RTN_UNICAST, 100, 1, 7);
	assert_int_equal(nla_put(msg, RTA_GATEWAY, 16, "0123456789abcdef"), 0);
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	msg = rt_msg(RTM_DELROUTE, AF_INET6, RTN_UNICAST, 100, 1, 7);
	assert_int_equal(nla_put(msg, RTA_DST, 4, "abcd"), 0);
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	/* 32-bit attributes of another length */
	msg = rt_msg(RTM_DELROUTE, AF_INET, RTN_UNICAST, 100, 1, 0);
	assert_int_equal(nla_put(msg, RTA_OIF, 2, "ab"), 0);
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	msg = nlmsg_alloc_simple(RTM_DELROUTE, 0);
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = 100 };

	assert_int_equal(nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put(msg, RTA_TABLE, 8, "abcdefgh"), 0);
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	/* a prefix longer than the family's addresses */
	msg = nlmsg_alloc_simple(RTM_DELROUTE, 0);
	rtm.rtm_dst_len = 33;
	assert_int_equal(nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO), 0);
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	/* the last attribute runs past the message */
	msg = rt_msg(RTM_DELROUTE, AF_INET, RTN_UNICAST, 100, 1, 7);
	nlmsg_hdr(msg)->nlmsg_len -= 2;
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
	/* shorter than struct rtmsg */
	msg = rt_msg(RTM_DELROUTE, AF_INET, RTN_UNICAST, 100, 1, 0);
	nlmsg_hdr(msg)->nlmsg_len = NLMSG_HDRLEN + sizeof(struct rtmsg) - 1;
	assert_int_equal(rt_parse(msg, &ev), -EINVAL);
}

static void test_rt_table_maybe(void **state)
{
	struct route_ent ents[2];

	(void)state;
	ent_vpn(&ents[0]);
	ent_vpn(&ents[1]);
	ents[1].table = 70000;
	assert_true(route_rt_table_maybe(ents, 2, 100));
	assert_false(route_rt_table_maybe(ents, 2, RT_TABLE_MAIN));
	assert_false(route_rt_table_maybe(ents, 2, RT_TABLE_LOCAL));
	assert_true(route_rt_table_maybe(ents, 2, RT_TABLE_COMPAT));
	assert_false(route_rt_table_maybe(ents, 1, RT_TABLE_COMPAT));
	assert_false(route_rt_table_maybe(NULL, 0, 100));
	ents[0].stale = true;
	assert_false(route_rt_table_maybe(ents, 1, 100));
}

static void test_rt_decide_blackhole(void **state)
{
	struct route_rt_ev ev = {
		.type = RTM_DELROUTE, .fi = ROUTE_V6, .rtype = RTN_BLACKHOLE, .table = 100,
		.metric = ROUTE_METRIC_BLACKHOLE, .oif = 1,
	};
	struct route_rt_ev other;
	struct route_ent e;

	(void)state;
	ent_vpn(&e);
	assert_int_equal(route_rt_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_BLACKHOLE, ROUTE_V6));
	/* above all while the link is down: the blackhole is what keeps traffic in */
	e.link_up = false;
	e.dev_ok[0] = e.dev_ok[ROUTE_V6] = false;
	ev.fi = 0;
	assert_int_equal(route_rt_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_BLACKHOLE, 0));

	other = ev;
	other.metric = 100;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.table = 200;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.dst_len = 8;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.type = RTM_NEWROUTE;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	/* not fail-closed: no blackhole of ours in the table */
	e.fail_closed = false;
	assert_int_equal(route_rt_decide(&e, &ev), 0);
	e.fail_closed = true;
	e.stale = true;
	assert_int_equal(route_rt_decide(&e, &ev), 0);
}

static void test_rt_decide_dev(void **state)
{
	struct route_rt_ev ev = {
		.type = RTM_DELROUTE, .fi = 0, .rtype = RTN_UNICAST, .table = 100,
		.metric = ROUTE_METRIC_DEV, .oif = 7,
	};
	struct route_rt_ev other;
	struct route_ent e;

	(void)state;
	ent_vpn(&e);
	assert_int_equal(route_rt_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_DEV, 0));
	assert_false(e.dev_ok[0]);
	assert_true(e.dev_ok[ROUTE_V6]);
	/* already known gone: a second event adds nothing */
	assert_int_equal(route_rt_decide(&e, &ev), 0);

	/* dropped by the kernel with the link: the link event came first, not put back */
	ent_vpn(&e);
	e.link_up = false;
	e.dev_ok[0] = e.dev_ok[ROUTE_V6] = false;
	assert_int_equal(route_rt_decide(&e, &ev), 0);
	/* never added (gateway not reachable yet): the address event retries it */
	ent_vpn(&e);
	e.dev_ok[0] = false;
	assert_int_equal(route_rt_decide(&e, &ev), 0);

	/* another interface's route: an old one a reload or a rename removed */
	ent_vpn(&e);
	other = ev;
	other.oif = 8;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other.oif = 0;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.metric = 1023;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.cloned = true;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	other = ev;
	other.table = 101;
	assert_int_equal(route_rt_decide(&e, &other), 0);
	assert_true(e.dev_ok[0]);

	/* with a gateway: the same gateway only */
	e.has_gw[0] = true;
	assert_int_equal(inet_pton(AF_INET, "10.9.0.1", e.gw[0]), 1);
	assert_int_equal(route_rt_decide(&e, &ev), 0);
	ev.has_gw = true;
	assert_int_equal(inet_pton(AF_INET, "10.9.0.9", ev.gw), 1);
	assert_int_equal(route_rt_decide(&e, &ev), 0);
	assert_int_equal(inet_pton(AF_INET, "10.9.0.1", ev.gw), 1);
	assert_int_equal(route_rt_decide(&e, &ev), ROUTE_PUT_BIT(ROUTE_OBJ_DEV, 0));
}

/* ---- put-back rate ---- */

static void test_rate(void **state)
{
	struct route_rate r;
	uint64_t t = 5000;
	int i;

	(void)state;
	memset(&r, 0, sizeof(r));
	/* ROUTE_RATE_N at once, 100 ms apart */
	for (i = 0; i < ROUTE_RATE_N; i++, t += 100) {
		assert_int_equal(route_rate_next(&r, t), t);
		route_rate_note(&r, t);
	}
	/* the next one waits a second after the last */
	assert_int_equal(route_rate_next(&r, t), t - 100 + ROUTE_RATE_SLOW_MS);
	t = t - 100 + ROUTE_RATE_SLOW_MS;
	assert_int_equal(route_rate_next(&r, t), t);
	route_rate_note(&r, t);
	/* still deleted once a second: stays slow */
	assert_int_equal(route_rate_next(&r, t + 10), t + ROUTE_RATE_SLOW_MS);
	/* quiet for a window: at once again */
	t += ROUTE_RATE_WINDOW_MS;
	assert_int_equal(route_rate_next(&r, t), t);
	/* a put-back now and then never waits */
	memset(&r, 0, sizeof(r));
	for (t = 1000, i = 0; i < 3 * ROUTE_RATE_N; i++, t += ROUTE_RATE_WINDOW_MS / ROUTE_RATE_N + 1) {
		assert_int_equal(route_rate_next(&r, t), t);
		route_rate_note(&r, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plan_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_priority_counts_main_routes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_extremes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_bad_route, setup, teardown),
		cmocka_unit_test(test_addr_parse_ok),
		cmocka_unit_test(test_addr_parse_rejects),
		cmocka_unit_test(test_addr_decide),
		cmocka_unit_test(test_link_decide),
		cmocka_unit_test(test_rule_parse),
		cmocka_unit_test(test_rule_parse_rejects),
		cmocka_unit_test(test_rule_decide),
		cmocka_unit_test(test_suppress_decide),
		cmocka_unit_test(test_rt_parse),
		cmocka_unit_test(test_rt_parse_rejects),
		cmocka_unit_test(test_rt_table_maybe),
		cmocka_unit_test(test_rt_decide_blackhole),
		cmocka_unit_test(test_rt_decide_dev),
		cmocka_unit_test(test_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
