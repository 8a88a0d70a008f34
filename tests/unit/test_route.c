/* route_plan_print: the ip(8) commands equivalent to route_mgr_apply (no root needed). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "route.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plan_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_priority_counts_main_routes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_extremes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_bad_route, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
