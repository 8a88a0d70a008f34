/*
 * Parsing ctnetlink conntrack messages as a dump sends them (built here with libmnl the
 * way the kernel lays them out). The walk itself needs the kernel: the lab covers it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>
#include <cmocka.h>

#include "ctconn.h"

struct ct_spec {
	uint8_t family, proto, msg;
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t mark;		/* 0: no CTA_MARK */
	int zone;		/* < 0: no CTA_ZONE */
	bool no_tuple, no_proto, short_addr;
};

static struct nlmsghdr *ct_build(char *buf, const struct ct_spec *s)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *ip, *proto;
	uint8_t a[16];
	size_t alen = s->family == AF_INET ? 4 : 16;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | (s->msg ? s->msg : IPCTNL_MSG_CT_NEW);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = s->family;
	nfg->version = NFNETLINK_V0;
	if (!s->no_tuple) {
		tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
		ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		inet_pton(s->family, s->src, a);
		mnl_attr_put(nlh, s->family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC,
			     s->short_addr ? 2 : alen, a);
		inet_pton(s->family, s->dst, a);
		mnl_attr_put(nlh, s->family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, a);
		mnl_attr_nest_end(nlh, ip);
		if (!s->no_proto) {
			proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
			mnl_attr_put_u8(nlh, CTA_PROTO_NUM, s->proto);
			if (s->sport || s->dport) {
				mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(s->sport));
				mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(s->dport));
			}
			mnl_attr_nest_end(nlh, proto);
		}
		mnl_attr_nest_end(nlh, tuple);
	}
	/* the reply tuple and status come next in a real message: ignored */
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x8));
	if (s->mark)
		mnl_attr_put_u32(nlh, CTA_MARK, htonl(s->mark));
	if (s->zone >= 0)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons((uint16_t)s->zone));
	mnl_attr_put_u32(nlh, 200, 0);	/* an attribute from a newer kernel */
	return nlh;
}

static void test_parse_ipv4_tcp(void **state)
{
	char buf[1024];
	struct ct_spec s = { AF_INET, IPPROTO_TCP, 0, "10.99.1.2", "203.0.113.20", 51514, 443,
			     0x10100, -1, false, false, false };
	struct ctconn_entry e;
	const struct nlattr *t;

	(void)state;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), 0);
	assert_int_equal(e.family, AF_INET);
	assert_int_equal(e.l4proto, IPPROTO_TCP);
	assert_int_equal(e.src.family, AF_INET);
	assert_memory_equal(e.src.a, "\x0a\x63\x01\x02", 4);
	assert_memory_equal(e.dst.a, "\xcb\x00\x71\x14", 4);
	assert_int_equal(e.dst.a[4], 0);	/* unused bytes zero */
	assert_int_equal(e.sport, 51514);
	assert_int_equal(e.dport, 443);
	assert_int_equal(e.mark, 0x10100);
	assert_false(e.has_zone);
	/* the tuple is kept as received, header included, to be sent back as is */
	t = (const struct nlattr *)e.tuple;
	assert_int_equal(t->nla_len, e.tuple_len);
	assert_int_equal(mnl_attr_get_type(t), CTA_TUPLE_ORIG);
}

static void test_parse_ipv6_udp_zone(void **state)
{
	char buf[1024];
	struct ct_spec s = { AF_INET6, IPPROTO_UDP, IPCTNL_MSG_CT_GET, "fd99:1::2",
			     "2001:db8:10::20", 40000, 53, 0, 7, false, false, false };
	struct ctconn_entry e;

	(void)state;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), 0);
	assert_int_equal(e.family, AF_INET6);
	assert_int_equal(e.dst.family, AF_INET6);
	assert_int_equal(e.dst.a[0], 0x20);
	assert_int_equal(e.dst.a[15], 0x20);
	assert_int_equal(e.dport, 53);
	assert_int_equal(e.mark, 0);	/* no CTA_MARK: 0 */
	assert_true(e.has_zone);
	assert_int_equal(e.zone, 7);
}

static void test_parse_icmp_no_ports(void **state)
{
	char buf[1024];
	struct ct_spec s = { AF_INET, IPPROTO_ICMP, 0, "10.0.0.1", "10.0.0.2", 0, 0, 0x100, -1,
			     false, false, false };
	struct ctconn_entry e;

	(void)state;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), 0);
	assert_int_equal(e.l4proto, IPPROTO_ICMP);
	assert_int_equal(e.sport, 0);
	assert_int_equal(e.dport, 0);
}

static void test_parse_rejects(void **state)
{
	char buf[1024];
	struct ct_spec base = { AF_INET, IPPROTO_TCP, 0, "10.0.0.1", "10.0.0.2", 1, 2, 0, -1,
				false, false, false };
	struct ct_spec s;
	struct ctconn_entry e;
	struct nlmsghdr *nlh;

	(void)state;
	s = base;
	s.no_tuple = true;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), -EINVAL);
	s = base;
	s.no_proto = true;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), -EINVAL);
	s = base;
	s.short_addr = true;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), -EINVAL);
	s = base;
	s.msg = IPCTNL_MSG_CT_DELETE;
	assert_int_equal(ctconn_parse(ct_build(buf, &s), &e), -EINVAL);
	nlh = ct_build(buf, &base);
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family = AF_UNSPEC;
	assert_int_equal(ctconn_parse(nlh, &e), -EINVAL);
	nlh = ct_build(buf, &base);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8);
	assert_int_equal(ctconn_parse(nlh, &e), -EINVAL);
	/* a message cut inside its header */
	nlh = ct_build(buf, &base);
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_int_equal(ctconn_parse(nlh, &e), -EINVAL);
	/* an attribute whose length runs past the message */
	nlh = ct_build(buf, &base);
	((struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) + sizeof(struct nfgenmsg)))->nla_len =
		(uint16_t)(nlh->nlmsg_len + 64);
	assert_int_equal(ctconn_parse(nlh, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4_tcp),
		cmocka_unit_test(test_parse_ipv6_udp_zone),
		cmocka_unit_test(test_parse_icmp_no_ports),
		cmocka_unit_test(test_parse_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
