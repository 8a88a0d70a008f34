/* Decision events as text and JSON lines, and monitor filters. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "flowlog.h"

/* 2023-11-14T22:13:21Z; the tests run with TZ=UTC so local time is predictable */
#define T0 1700000001

static struct pkt_addr addr(const char *text)
{
	struct pkt_addr a;

	assert_int_equal(pkt_addr_parse(text, &a), 0);
	return a;
}

static struct flowlog_event flow_event(void)
{
	struct flowlog_event ev = {
		.time = { T0, 123 },
		.kind = FLOWLOG_FLOW,
		.src = addr("192.0.2.2"),
		.dst = addr("198.51.100.10"),
		.sport = 51514,
		.dport = 443,
		.l4proto = IPPROTO_TCP,
		.domain = "github.com",
		.route = "vpn",
		.mark = 0x100,
		.reason = "learned github.com",
	};
	return ev;
}

static struct flowlog_event dns_event(void)
{
	struct flowlog_event ev = {
		.time = { T0, 45 },
		.kind = FLOWLOG_DNS_ANSWER,
		.src = addr("192.0.2.1"),
		.dst = addr("192.0.2.2"),
		.sport = 53,
		.dport = 40001,
		.l4proto = IPPROTO_UDP,
		.domain = "github.com",
		.route = "vpn",
		.rrtype = 1,
		.answer = addr("198.51.100.10"),
		.ttl = 60,
	};
	return ev;
}

static void expect_text(const struct flowlog_event *ev, bool numeric, const char *want)
{
	char buf[FLOWLOG_LINE_MAX];
	int n = flowlog_format_text(ev, numeric, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void expect_json(const struct flowlog_event *ev, const char *want)
{
	char buf[FLOWLOG_LINE_MAX];
	int n = flowlog_format_json(ev, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_text_flow(void **state)
{
	struct flowlog_event ev = flow_event();

	(void)state;
	expect_text(&ev, true, "22:13:21.000123 IP 192.0.2.2.51514 > 198.51.100.10.443: tcp "
		    "github.com -> vpn (mark 0x100, learned github.com)");
	/* like tcpdump without -n: well-known ports by name, others as numbers */
	expect_text(&ev, false, "22:13:21.000123 IP 192.0.2.2.51514 > 198.51.100.10.https: "
		    "tcp github.com -> vpn (mark 0x100, learned github.com)");
	ev.domain = NULL;
	ev.route = NULL;
	ev.reason = NULL;
	ev.mark = 0;
	expect_text(&ev, true, "22:13:21.000123 IP 192.0.2.2.51514 > 198.51.100.10.443: tcp - "
		    "-> unrouted (mark 0x0)");
}

static void test_text_other_protocols(void **state)
{
	struct flowlog_event ev = flow_event();

	(void)state;
	ev.src = addr("2001:db8::2");
	ev.dst = addr("2001:db8::10");
	ev.l4proto = IPPROTO_UDP;
	ev.dport = 853;
	expect_text(&ev, false, "22:13:21.000123 IP6 2001:db8::2.51514 > 2001:db8::10.domain-s: "
		    "udp github.com -> vpn (mark 0x100, learned github.com)");
	/* no ports without a protocol that has them */
	ev.l4proto = IPPROTO_ICMPV6;
	expect_text(&ev, true, "22:13:21.000123 IP6 2001:db8::2 > 2001:db8::10: icmp6 github.com "
		    "-> vpn (mark 0x100, learned github.com)");
	ev.l4proto = 99;
	expect_text(&ev, true, "22:13:21.000123 IP6 2001:db8::2 > 2001:db8::10: ip-proto-99 "
		    "github.com -> vpn (mark 0x100, learned github.com)");
}

static void test_text_dns(void **state)
{
	struct flowlog_event ev = dns_event();

	(void)state;
	expect_text(&ev, true, "22:13:21.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns A "
		    "github.com = 198.51.100.10 ttl 60 (vpn)");
	expect_text(&ev, false, "22:13:21.000045 IP 192.0.2.1.domain > 192.0.2.2.40001: dns A "
		    "github.com = 198.51.100.10 ttl 60 (vpn)");
	ev.rrtype = 28;
	ev.answer = addr("2001:db8::10");
	ev.route = NULL;
	ev.reason = "rule github.com";
	expect_text(&ev, true, "22:13:21.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns AAAA "
		    "github.com = 2001:db8::10 ttl 60 (unrouted, rule github.com)");
	ev.rrtype = 65;
	expect_text(&ev, true, "22:13:21.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns TYPE65 "
		    "github.com = 2001:db8::10 ttl 60 (unrouted, rule github.com)");

	ev.kind = FLOWLOG_DNS_MALFORMED;
	ev.domain = NULL;
	ev.reason = "bad label, pointer loop, forward pointer or name too long";
	expect_text(&ev, true, "22:13:21.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns malformed "
		    "(bad label, pointer loop, forward pointer or name too long)");
	ev.domain = "x.example";
	ev.reason = NULL;
	expect_text(&ev, true, "22:13:21.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns malformed "
		    "x.example");
}

/* A line must never break: no newline or other control byte reaches the output. */
static void test_text_escapes(void **state)
{
	struct flowlog_event ev = flow_event();

	(void)state;
	ev.domain = "a\\032b.example";	/* as dns.c writes a space inside a label */
	ev.reason = "line\nbreak\x7f\xff";
	expect_text(&ev, true, "22:13:21.000123 IP 192.0.2.2.51514 > 198.51.100.10.443: tcp "
		    "a\\032b.example -> vpn (mark 0x100, line\\010break\\127\\255)");
}

static void test_text_too_small(void **state)
{
	struct flowlog_event ev = flow_event();
	char buf[40];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(flowlog_format_text(&ev, true, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(flowlog_format_json(&ev, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(flowlog_format_text(&ev, true, buf, 0), -ENOSPC);
}

static void test_json(void **state)
{
	struct flowlog_event ev = flow_event();
	struct flowlog_event dns = dns_event();

	(void)state;
	expect_json(&ev, "{\"ts\":1700000001.000123,\"time\":\"2023-11-14T22:13:21.000123Z\","
		    "\"kind\":\"flow\",\"family\":\"ip\",\"proto\":\"tcp\",\"src\":\"192.0.2.2\","
		    "\"sport\":51514,\"dst\":\"198.51.100.10\",\"dport\":443,\"domain\":"
		    "\"github.com\",\"route\":\"vpn\",\"mark\":256,\"reason\":"
		    "\"learned github.com\"}");
	expect_json(&dns, "{\"ts\":1700000001.000045,\"time\":\"2023-11-14T22:13:21.000045Z\","
		    "\"kind\":\"dns-answer\",\"family\":\"ip\",\"proto\":\"udp\",\"src\":"
		    "\"192.0.2.1\",\"sport\":53,\"dst\":\"192.0.2.2\",\"dport\":40001,\"domain\":"
		    "\"github.com\",\"route\":\"vpn\",\"rrtype\":\"A\",\"answer\":"
		    "\"198.51.100.10\",\"ttl\":60,\"reason\":null}");
	dns.kind = FLOWLOG_DNS_MALFORMED;
	dns.src = addr("2001:db8::1");
	dns.domain = NULL;
	dns.route = NULL;
	dns.reason = "short";
	expect_json(&dns, "{\"ts\":1700000001.000045,\"time\":\"2023-11-14T22:13:21.000045Z\","
		    "\"kind\":\"dns-malformed\",\"family\":\"ip6\",\"proto\":\"udp\",\"src\":"
		    "\"2001:db8::1\",\"sport\":53,\"dst\":\"192.0.2.2\",\"dport\":40001,"
		    "\"domain\":null,\"route\":null,\"reason\":\"short\"}");
}

static void test_json_escapes(void **state)
{
	struct flowlog_event ev = flow_event();
	char buf[FLOWLOG_LINE_MAX];

	(void)state;
	ev.domain = "we\\034ird\\092.example";
	ev.reason = "say \"hi\"\t\x01\xc3\xa9";
	assert_true(flowlog_format_json(&ev, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"domain\":\"we\\\\034ird\\\\092.example\""));
	assert_non_null(strstr(buf, "\"reason\":\"say \\\"hi\\\"\\u0009\\u0001\\u00c3\\u00a9\"}"));
}

/* ---- filters ---- */

static int parse(const char *expr, struct flowlog_filter *f, char *err, size_t errlen)
{
	char *argv[1] = { (char *)expr };

	return flowlog_filter_parse(1, argv, f, err, errlen);
}

static bool matches(const char *expr, const struct flowlog_event *ev)
{
	struct flowlog_filter f;
	char err[256] = "";

	if (parse(expr, &f, err, sizeof(err)) < 0)
		fail_msg("'%s' does not parse: %s", expr, err);
	return flowlog_filter_match(&f, ev);
}

static void expect_error(const char *expr, const char *want)
{
	struct flowlog_filter f;
	char err[256] = "";

	assert_int_equal(parse(expr, &f, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' does not contain '%s'", expr, err, want);
	assert_int_equal(f.n, 0);
}

static void test_filter_empty(void **state)
{
	struct flowlog_event ev = flow_event();
	struct flowlog_filter f;
	char err[64];

	(void)state;
	assert_int_equal(flowlog_filter_parse(0, NULL, &f, err, sizeof(err)), 0);
	assert_int_equal(f.n, 0);
	assert_true(flowlog_filter_match(&f, &ev));
	assert_true(matches("  ", &ev));
}

static void test_filter_words(void **state)
{
	char *argv[] = { "domain", "github.com", "route", "vpn" };
	struct flowlog_event ev = flow_event();
	struct flowlog_filter f;
	char err[64];

	(void)state;
	/* separate argv words, implicit and */
	assert_int_equal(flowlog_filter_parse(4, argv, &f, err, sizeof(err)), 0);
	assert_true(flowlog_filter_match(&f, &ev));
	ev.route = "direct";
	assert_false(flowlog_filter_match(&f, &ev));
}

static void test_filter_host_net_port(void **state)
{
	struct flowlog_event ev = flow_event();
	struct flowlog_event dns = dns_event();

	(void)state;
	assert_true(matches("host 198.51.100.10", &ev));
	assert_true(matches("host 192.0.2.2", &ev));
	assert_false(matches("host 192.0.2.3", &ev));
	assert_true(matches("dst host 198.51.100.10", &ev));
	assert_false(matches("src host 198.51.100.10", &ev));
	assert_true(matches("src 192.0.2.2", &ev));
	assert_true(matches("net 198.51.96.0/20", &ev));
	assert_false(matches("net 198.51.112.0/20", &ev));
	assert_true(matches("net 0.0.0.0/0", &ev));
	assert_false(matches("net ::/0", &ev));
	assert_true(matches("dst net 198.51.100.8/29", &ev));
	assert_false(matches("dst net 198.51.100.0/29", &ev));
	assert_true(matches("port 443", &ev));
	assert_true(matches("port https", &ev));	/* the name the output prints */
	assert_false(matches("port http", &ev));
	assert_true(matches("dst port 443", &ev));
	assert_false(matches("src port 443", &ev));
	assert_true(matches("src port 51514", &ev));
	/* a DNS answer matches its address, so `host X` shows what taught X and its flows */
	assert_true(matches("host 198.51.100.10", &dns));
	assert_true(matches("dst host 198.51.100.10", &dns));
	assert_false(matches("src host 198.51.100.10", &dns));
	ev.src = addr("2001:db8::2");
	ev.dst = addr("2001:db8:1::10");
	assert_true(matches("host 2001:db8:1::10", &ev));
	assert_true(matches("net 2001:db8:1::/48", &ev));
	assert_false(matches("net 2001:db8:2::/48", &ev));
	assert_false(matches("host 198.51.100.10", &ev));
	ev.l4proto = IPPROTO_ICMPV6;
	assert_false(matches("port 443", &ev));
}

static void test_filter_domain(void **state)
{
	struct flowlog_event ev = flow_event();

	(void)state;
	ev.domain = "api.github.com";
	assert_true(matches("domain github.com", &ev));
	assert_true(matches("domain api.github.com", &ev));
	assert_true(matches("domain GitHub.COM.", &ev));
	assert_true(matches("domain *.github.com", &ev));
	assert_true(matches("domain .com", &ev));
	assert_false(matches("domain hub.com", &ev));
	assert_false(matches("domain www.api.github.com", &ev));
	ev.domain = NULL;
	assert_false(matches("domain com", &ev));
	assert_true(matches("not domain com", &ev));
}

static void test_filter_route_proto(void **state)
{
	struct flowlog_event ev = flow_event();
	struct flowlog_event dns = dns_event();

	(void)state;
	assert_true(matches("route vpn", &ev));
	assert_false(matches("route VPN", &ev));
	assert_false(matches("unrouted", &ev));
	ev.route = NULL;
	assert_true(matches("unrouted", &ev));
	assert_true(matches("route unrouted", &ev));
	assert_false(matches("route vpn", &ev));

	assert_true(matches("proto tcp", &ev));
	assert_true(matches("tcp", &ev));
	assert_true(matches("proto 6", &ev));
	assert_false(matches("udp", &ev));
	assert_false(matches("proto dns", &ev));
	assert_true(matches("proto dns", &dns));
	assert_true(matches("dns", &dns));
	assert_true(matches("udp", &dns));
	assert_true(matches("udp and not dns", &ev) == false);
	dns.kind = FLOWLOG_DNS_MALFORMED;
	assert_true(matches("dns", &dns));
}

static void test_filter_operators(void **state)
{
	struct flowlog_event ev = flow_event();

	(void)state;
	assert_true(matches("domain github.com and route vpn", &ev));
	assert_true(matches("domain github.com && tcp", &ev));
	assert_false(matches("domain github.com and route direct", &ev));
	assert_true(matches("route direct or domain github.com", &ev));
	assert_true(matches("route direct || domain github.com", &ev));
	assert_false(matches("not route vpn", &ev));
	assert_false(matches("!route vpn", &ev));
	assert_true(matches("! ! route vpn", &ev));
	assert_true(matches("not not route vpn", &ev));
	/* and binds tighter than or */
	assert_true(matches("route vpn or route x and udp", &ev));
	assert_false(matches("(route vpn or route x) and udp", &ev));
	assert_true(matches("udp and route x or route vpn", &ev));
	assert_false(matches("udp and (route x or route vpn)", &ev));
	assert_true(matches("(host 192.0.2.9 or domain github.com)tcp", &ev));
	assert_true(matches("not (udp or route x) port 443", &ev));
}

static void test_filter_errors(void **state)
{
	char long_expr[2048] = "";

	(void)state;
	expect_error("hots 1.2.3.4", "unknown word 'hots'");
	expect_error("host", "host needs an address");
	expect_error("host )", "host needs an address");
	expect_error("host foo", "'foo' is not an IPv4 or IPv6 address");
	expect_error("net 10.0.0.0/33", "not a prefix length");
	expect_error("net 10.0.0.0/", "not a prefix length");
	expect_error("port 0", "neither a port number");
	expect_error("port 65536", "neither a port number");
	expect_error("port gopherish", "neither a port number (1-65535) nor a port name");
	expect_error("proto gopher", "proto: 'gopher'");
	expect_error("domain", "domain needs a name");
	expect_error("domain *.", "domain needs a name");
	expect_error("route", "route needs a name");
	expect_error("(tcp", "missing ')'");
	expect_error("tcp)", "unbalanced ')'");
	expect_error("tcp or", "filter ends");
	expect_error("and tcp", "unknown word 'and'");
	expect_error("not", "filter ends");
	for (int i = 0; i < 20; i++)
		strcat(long_expr, "tcp or ");
	strcat(long_expr, "tcp");
	expect_error(long_expr, "filter too long");
	long_expr[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(long_expr, "(");
	expect_error(long_expr, "filter too long");
}

/* A filter that the parser never builds must not read outside its stack. */
static void test_filter_malformed_program(void **state)
{
	struct flowlog_event ev = flow_event();
	struct flowlog_filter f = { .n = 2 };

	(void)state;
	f.nodes[0].type = FLOWLOG_N_PROTO;
	f.nodes[0].num = IPPROTO_TCP;
	f.nodes[1].type = FLOWLOG_N_AND;
	assert_false(flowlog_filter_match(&f, &ev));
	f.nodes[0].type = FLOWLOG_N_NOT;
	f.n = 1;
	assert_false(flowlog_filter_match(&f, &ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_flow),
		cmocka_unit_test(test_text_other_protocols),
		cmocka_unit_test(test_text_dns),
		cmocka_unit_test(test_text_escapes),
		cmocka_unit_test(test_text_too_small),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_filter_empty),
		cmocka_unit_test(test_filter_words),
		cmocka_unit_test(test_filter_host_net_port),
		cmocka_unit_test(test_filter_domain),
		cmocka_unit_test(test_filter_route_proto),
		cmocka_unit_test(test_filter_operators),
		cmocka_unit_test(test_filter_errors),
		cmocka_unit_test(test_filter_malformed_program),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
