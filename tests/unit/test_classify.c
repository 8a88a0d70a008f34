/* Decisions: learning from parsed replies and marking new flows, without the kernel. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "addrmap.h"
#include "classify.h"
#include "conf.h"
#include "policy.h"

struct fixture {
	struct policy *p;
	struct addrmap *am;
};

static char *dupstr(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* Two routes: vpn (example.com, github.com) and direct exception (cn.example.com). */
static struct conf *make_conf(void)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct conf_route *r = calloc(2, sizeof(*r));

	assert_non_null(c);
	assert_non_null(r);
	c->path = dupstr("test.conf");
	c->mark_mask = 0xff00;
	c->min_ttl = 60;
	c->max_ttl = 3600;
	c->max_entries = 1024;
	c->default_route = -1;
	c->n_routes = 2;
	c->routes = r;
	strcpy(r[0].name, "vpn");
	strcpy(r[0].ifname, "wg0");
	r[0].table = 100;
	r[0].mark = 0x100;
	r[0].n_domains = 2;
	r[0].domains = calloc(2, sizeof(char *));
	r[0].domains[0] = dupstr("example.com");
	r[0].domains[1] = dupstr("github.com");
	r[0].has_gw4 = true;
	r[0].gw4.family = AF_INET;
	inet_pton(AF_INET, "10.9.9.1", r[0].gw4.a);
	strcpy(r[1].name, "direct");
	r[1].table = CONF_TABLE_MAIN;
	r[1].n_domains = 1;
	r[1].domains = calloc(1, sizeof(char *));
	r[1].domains[0] = dupstr("cn.example.com");
	return c;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_int_equal(policy_new(make_conf(), &f->p, err, sizeof(err)), 0);
	f->am = addrmap_new(1024);
	assert_non_null(f->am);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	addrmap_free(f->am);
	policy_free(f->p);
	free(f);
	return 0;
}

/* Over 100 KiB: one buffer for all tests rather than one on each test's stack. */
static struct dns_reply reply_buf;

static void reply_init(struct dns_reply *r, const char *qname)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->names[0], qname);
	r->n_names = 1;
}

static void reply_add_name(struct dns_reply *r, const char *name)
{
	strcpy(r->names[r->n_names++], name);
}

static void reply_add_a(struct dns_reply *r, const char *ip, uint32_t ttl, uint8_t owner)
{
	struct dns_addr *a = &r->addrs[r->n_addrs++];

	a->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(a->family, ip, a->a);
	a->ttl = ttl;
	a->owner = owner;
}

static struct pkt_info flow_to(const char *ip)
{
	struct pkt_info pi = { .l4proto = 6, .sport = 40000, .dport = 443 };

	pi.dst.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	inet_pton(pi.dst.family, ip, pi.dst.a);
	pi.src.family = pi.dst.family;
	return pi;
}

static void test_learned_flow_gets_mark(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.10");

	reply_init(r, "api.github.com");
	reply_add_a(r, "203.0.113.10", 300, 0);
	reply_add_a(r, "2001:db8::10", 300, 0);
	assert_int_equal(classify_dns_learn(f->p, f->am, r, 1000), 2);
	classify_flow(f->p, f->am, &pi, 0, 2000, &res);
	assert_int_equal(res.route, 0);
	assert_int_equal(res.mark, 0x100);
	assert_int_equal(res.reason, CLASSIFY_LEARNED);
	assert_string_equal(res.name, "api.github.com");
	pi = flow_to("2001:db8::10");
	classify_flow(f->p, f->am, &pi, 0, 2000, &res);
	assert_int_equal(res.mark, 0x100);
}

static void test_foreign_mark_bits_kept(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.11");

	reply_init(r, "github.com");
	reply_add_a(r, "203.0.113.11", 300, 0);
	classify_dns_learn(f->p, f->am, r, 0);
	/* bits outside mark-mask (e.g. 0xca6c0000 from other software) stay */
	classify_flow(f->p, f->am, &pi, 0xca0000ff, 10, &res);
	assert_int_equal(res.mark, 0xca0001ff);
}

static void test_unrouted_name_learns_nothing(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("198.51.100.7");

	reply_init(r, "api.ipify.org");
	reply_add_a(r, "198.51.100.7", 300, 0);
	assert_int_equal(classify_dns_learn(f->p, f->am, r, 0), 0);
	classify_flow(f->p, f->am, &pi, 0x5, 10, &res);
	assert_int_equal(res.route, -1);
	assert_int_equal(res.mark, 0x5);
	assert_int_equal(res.reason, CLASSIFY_UNKNOWN);
}

static void test_cname_chain_target_routed(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.20");

	/* the question is not routed, the CNAME target is */
	reply_init(r, "www.alias.test");
	reply_add_name(r, "edge.example.com");
	reply_add_a(r, "203.0.113.20", 60, 1);
	assert_int_equal(classify_dns_learn(f->p, f->am, r, 0), 1);
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.route, 0);
	assert_string_equal(res.name, "edge.example.com");
}

static void test_most_specific_name_decides(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.30");

	/* example.com -> vpn, but cn.example.com (longer) -> direct exception */
	reply_init(r, "www.example.com");
	reply_add_name(r, "img.cn.example.com");
	reply_add_a(r, "203.0.113.30", 60, 1);
	classify_dns_learn(f->p, f->am, r, 0);
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.route, 1);
	assert_int_equal(res.mark, 0);	/* table main: left unmarked */
}

static void test_ttl_clamped_and_expiry(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.40");

	reply_init(r, "example.com");
	reply_add_a(r, "203.0.113.40", 1, 0);	/* raised to min-ttl 60 s */
	classify_dns_learn(f->p, f->am, r, 0);
	classify_flow(f->p, f->am, &pi, 0, 59000, &res);
	assert_int_equal(res.route, 0);
	classify_flow(f->p, f->am, &pi, 0, 61000, &res);
	assert_int_equal(res.route, -1);
}

static void test_gateway_and_endpoint_excluded(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info gw = flow_to("10.9.9.1"), ep = flow_to("192.0.2.55");
	struct pkt_addr epa = ep.dst;

	reply_init(r, "vpn.example.com");
	reply_add_a(r, "10.9.9.1", 300, 0);
	reply_add_a(r, "192.0.2.55", 300, 0);
	classify_dns_learn(f->p, f->am, r, 0);
	classify_flow(f->p, f->am, &gw, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_EXCLUDED);
	assert_int_equal(res.mark, 0);
	classify_flow(f->p, f->am, &ep, 0, 10, &res);
	assert_int_equal(res.route, 0);
	assert_int_equal(policy_route_exclude_add(f->p, 0, &epa), 0);
	classify_flow(f->p, f->am, &ep, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_EXCLUDED);
	assert_int_equal(res.mark, 0);
}

static void test_default_route(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)policy_conf(f->p);
	struct classify_result res;
	struct pkt_info pi = flow_to("198.51.100.99"), gw = flow_to("10.9.9.1");

	c->default_route = 0;
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_DEFAULT);
	assert_int_equal(res.route, 0);
	assert_int_equal(res.mark, 0x100);
	/* the route's own gateway never takes the route, default or not */
	classify_flow(f->p, f->am, &gw, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_EXCLUDED);
	assert_int_equal(res.mark, 0);
}

static void test_exception_beats_default(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)policy_conf(f->p);
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.77");

	c->default_route = 0;
	reply_init(r, "www.cn.example.com");
	reply_add_a(r, "203.0.113.77", 300, 0);
	classify_dns_learn(f->p, f->am, r, 0);
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_EXCEPTION);
	assert_int_equal(res.mark, 0);
	assert_true(res.expires_ms > 0);
}

static void test_dns_query_by_name(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)policy_conf(f->p);
	struct dns_query q = { .qtype = 1 };
	struct classify_result res;

	strcpy(q.name, "api.github.com");
	assert_false(classify_dns_query(f->p, &q, 0, &res));	/* dns = no */
	c->routes[0].dns = true;
	assert_true(classify_dns_query(f->p, &q, 0x7, &res));
	assert_int_equal(res.mark, 0x107);
	assert_int_equal(res.reason, CLASSIFY_DNS_QUERY);
	strcpy(q.name, "api.ipify.org");
	assert_false(classify_dns_query(f->p, &q, 0, &res));
	strcpy(q.name, "x.cn.example.com");			/* exception route */
	assert_false(classify_dns_query(f->p, &q, 0, &res));
}

static void test_shared_address(void **state)
{
	struct fixture *f = *state;
	struct conf *c = (struct conf *)policy_conf(f->p);
	struct dns_reply *r = &reply_buf;
	struct classify_result res;
	struct pkt_info pi = flow_to("203.0.113.88");

	/* last answer wins by default: an exception takes the address over */
	reply_init(r, "github.com");
	reply_add_a(r, "203.0.113.88", 300, 0);
	classify_dns_learn(f->p, f->am, r, 0);
	reply_init(r, "cn.example.com");
	reply_add_a(r, "203.0.113.88", 300, 0);
	classify_dns_learn(f->p, f->am, r, 1);
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_EXCEPTION);
	/* prefer-tunnel: the tunnel keeps it */
	c->shared_address = CONF_SHARED_PREFER_TUNNEL;
	reply_init(r, "github.com");
	reply_add_a(r, "203.0.113.88", 300, 0);
	classify_dns_learn(f->p, f->am, r, 2);
	reply_init(r, "cn.example.com");
	reply_add_a(r, "203.0.113.88", 300, 0);
	assert_int_equal(classify_dns_learn(f->p, f->am, r, 3), 0);
	classify_flow(f->p, f->am, &pi, 0, 10, &res);
	assert_int_equal(res.reason, CLASSIFY_LEARNED);
	assert_int_equal(res.mark, 0x100);
}

static void test_per_client(void **state)
{
	struct fixture *f = *state;
	struct addrmap *pc = addrmap_new(64);
	struct pkt_addr ca = { .family = AF_INET, .a = { 192, 168, 5, 2 } };
	struct pkt_addr cb = { .family = AF_INET, .a = { 192, 168, 5, 3 } };
	struct pkt_info fa = flow_to("203.0.113.99"), fb = fa, fc = fa;
	struct classify_result res;
	struct dns_reply *r = &reply_buf;

	assert_non_null(pc);
	fa.src = ca;
	fb.src = cb;
	fc.src.a[3] = 9;
	/* A asks a routed name, B an unrouted one: the same CDN address */
	reply_init(r, "github.com");
	reply_add_a(r, "203.0.113.99", 300, 0);
	assert_int_equal(classify_dns_learn_client(f->p, f->am, pc, &ca, r, 0), 1);
	classify_dns_learn(f->p, f->am, r, 0);
	reply_init(r, "shop.other.net");
	reply_add_a(r, "203.0.113.99", 300, 0);
	assert_int_equal(classify_dns_learn_client(f->p, f->am, pc, &cb, r, 1), 1);
	classify_dns_learn(f->p, f->am, r, 1);
	classify_flow_client(f->p, f->am, pc, &fa, 0, 10, &res);
	assert_int_equal(res.mark, 0x100);
	classify_flow_client(f->p, f->am, pc, &fb, 0, 10, &res);
	assert_int_equal(res.mark, 0);
	assert_int_equal(res.reason, CLASSIFY_EXCEPTION);
	/* a client with no mapping of its own follows the shared table */
	classify_flow_client(f->p, f->am, pc, &fc, 0, 10, &res);
	assert_int_equal(res.mark, 0x100);
	addrmap_free(pc);
}

/* Replies of routed names that could not be learned whole are dropped, nothing else. */
static void test_dns_must_drop(void **state)
{
	struct fixture *f = *state;
	struct dns_reply *r = &reply_buf;

	reply_init(r, "api.github.com");
	assert_false(classify_dns_must_drop(f->p, r, DNS_OK));		/* learned whole */
	assert_true(classify_dns_must_drop(f->p, r, DNS_E_RDATA));	/* a bad first record */
	assert_true(classify_dns_must_drop(f->p, r, DNS_E_NAME));
	assert_false(classify_dns_must_drop(f->p, r, DNS_E_RCODE));	/* NXDOMAIN: no address */
	r->partial = DNS_E_RDATA;	/* used up to a malformed record, like glibc does */
	assert_false(classify_dns_must_drop(f->p, r, DNS_PARTIAL));
	r->partial = DNS_E_LIMIT;	/* a limit dropped what glibc would use */
	assert_true(classify_dns_must_drop(f->p, r, DNS_PARTIAL));
	r->partial = DNS_OK;
	r->n_unowned = 1;		/* an address no name of the chain owns */
	assert_true(classify_dns_must_drop(f->p, r, DNS_OK));
	/* the same for an unrouted name, or a name of the main table: released */
	reply_init(r, "www.unrouted.org");
	r->n_unowned = 1;
	assert_false(classify_dns_must_drop(f->p, r, DNS_OK));
	assert_false(classify_dns_must_drop(f->p, r, DNS_E_RDATA));
	reply_init(r, "www.cn.example.com");
	assert_false(classify_dns_must_drop(f->p, r, DNS_E_RDATA));
	/* the question itself did not parse: nothing to go by */
	memset(r, 0, sizeof(*r));
	assert_false(classify_dns_must_drop(f->p, r, DNS_E_NAME));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_learned_flow_gets_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_must_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_mark_bits_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unrouted_name_learns_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname_chain_target_routed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_most_specific_name_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_clamped_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_and_endpoint_excluded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_default_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exception_beats_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_query_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_client, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
