/* Unit tests for src/conf.c: every file is written to /tmp and loaded through conf_load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define TMPL "/tmp/nfqr_conf_XXXXXX"

/* Writes len bytes of text to a new temporary file whose name is stored in path. */
static void write_tmp(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, TMPL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void write_at(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Loads text and expects success; the file is gone when this returns. */
static struct conf *load_ok(const char *text)
{
	char path[sizeof(TMPL)], err[CONF_ERR_MAX];
	struct conf *c = NULL;
	int ret;

	write_tmp(path, text, strlen(text));
	ret = conf_load(path, &c, err, sizeof(err));
	if (ret != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(ret, 0);
	assert_non_null(c);
	assert_string_equal(c->path, path);
	unlink(path);
	return c;
}

/* Loads len bytes and expects -EINVAL with exactly "PATH:line: msg". */
static void load_err_len(const char *text, size_t len, unsigned line, const char *msg)
{
	char path[sizeof(TMPL)], err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct conf *c = (struct conf *)&c;	/* must be reset to NULL */

	write_tmp(path, text, len);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:%u: %s", path, line, msg);
	assert_string_equal(err, want);
	unlink(path);
}

static void load_err(const char *text, unsigned line, const char *msg)
{
	load_err_len(text, strlen(text), line, msg);
}

static struct pkt_addr addr(const char *s)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = AF_INET6;
	else
		fail_msg("bad test address %s", s);
	return a;
}

static void assert_addr(const struct pkt_addr *got, const char *want)
{
	struct pkt_addr a = addr(want);

	assert_int_equal(got->family, a.family);
	assert_memory_equal(got->a, a.a, sizeof(a.a));
}

static const char full_example[] =
	"# nfqroute test configuration\n"			/* 1 */
	"; semicolon comment\n"					/* 2 */
	"\n"							/* 3 */
	"[global]\n"						/* 4 */
	"  queue = 7   # trailing comment\n"			/* 5 */
	"mark-mask=0xff0000\n"					/* 6 */
	"fail-mode = open ; trailing too\n"			/* 7 */
	"rule-priority = 2000\n"				/* 8 */
	"max-entries = 1024\n"					/* 9 */
	"min-ttl = 30\n"					/* 10 */
	"max-ttl = 3600\r\n"					/* 11 */
	"\n"							/* 12 */
	"[route vpn]\n"						/* 13 */
	"interface = wg0\n"					/* 14 */
	"table = 100\n"						/* 15 */
	"mark = 0x10000\n"					/* 16 */
	"fail-closed = off\n"					/* 17 */
	"masquerade = YES\n"					/* 18 */
	"keep-blackhole = true\n"				/* 19 */
	"gateway = 10.9.0.1 fd00::1\n"				/* 20 */
	"endpoint = 192.0.2.10, 2001:db8::10\n"			/* 21 */
	"endpoint = 192.0.2.11 192.0.2.10\n"			/* 22 */
	"domains = GitHub.com *.icanhazip.com\n"		/* 23 */
	"  # a comment between repeated keys\n"			/* 24 */
	"domains = .example.org,sub.example.net.\n"		/* 25 */
	"\n"							/* 26 */
	"[ route  lan_2 ]\n"					/* 27 */
	"table = main\n"					/* 28 */
	"mark = 0x5\n"						/* 29 */
	"domains = intranet.example.org\n";			/* 30 */

static void test_full_example(void **state)
{
	struct conf *c = load_ok(full_example);
	const struct conf_route *r;

	(void)state;
	assert_int_equal(c->queue, 7);
	assert_int_equal(c->mark_mask, 0xff0000);
	assert_int_equal(c->fail_mode, CONF_FAIL_OPEN);
	assert_int_equal(c->rule_priority, 2000);
	assert_int_equal(c->max_entries, 1024);
	assert_int_equal(c->min_ttl, 30);
	assert_int_equal(c->max_ttl, 3600);
	assert_int_equal(c->n_routes, 2);

	r = &c->routes[0];
	assert_string_equal(r->name, "vpn");
	assert_int_equal(r->line, 13);
	assert_string_equal(r->ifname, "wg0");
	assert_int_equal(r->table, 100);
	assert_int_equal(r->mark, 0x10000);
	assert_false(r->fail_closed);
	assert_true(r->masquerade);
	assert_true(r->keep_blackhole);
	assert_true(r->has_gw4);
	assert_true(r->has_gw6);
	assert_addr(&r->gw4, "10.9.0.1");
	assert_addr(&r->gw6, "fd00::1");
	/* the repeated 192.0.2.10 is kept once */
	assert_int_equal(r->n_bypass, 3);
	assert_addr(&r->bypass[0], "192.0.2.10");
	assert_addr(&r->bypass[1], "2001:db8::10");
	assert_addr(&r->bypass[2], "192.0.2.11");
	assert_int_equal(r->n_domains, 4);
	assert_string_equal(r->domains[0], "github.com");
	assert_string_equal(r->domains[1], "icanhazip.com");
	assert_string_equal(r->domains[2], "example.org");
	assert_string_equal(r->domains[3], "sub.example.net");
	assert_int_equal(r->domain_lines[0], 23);
	assert_int_equal(r->domain_lines[1], 23);
	assert_int_equal(r->domain_lines[2], 25);
	assert_int_equal(r->domain_lines[3], 25);
	assert_int_equal(r->n_lists, 0);

	r = &c->routes[1];
	assert_string_equal(r->name, "lan_2");
	assert_int_equal(r->line, 27);
	assert_int_equal(r->table, CONF_TABLE_MAIN);
	assert_int_equal(r->mark, 0);	/* ignored for exception routes */
	assert_string_equal(r->ifname, "");
	assert_true(r->fail_closed);
	assert_false(r->masquerade);
	assert_int_equal(r->n_domains, 1);
	assert_string_equal(r->domains[0], "intranet.example.org");

	assert_int_equal(conf_route_find(c, "vpn"), 0);
	assert_int_equal(conf_route_find(c, "lan_2"), 1);
	assert_int_equal(conf_route_find(c, "VPN"), -ENOENT);
	assert_int_equal(conf_route_find(NULL, "vpn"), -ENOENT);
	conf_free(c);
}

static void test_defaults(void **state)
{
	struct conf *c = load_ok("[route vpn]\ninterface = wg0\ntable = 100\nmark = 256\n");
	const struct conf_route *r = &c->routes[0];

	(void)state;
	assert_int_equal(c->queue, 0);
	assert_int_equal(c->queue_count, 1);
	assert_int_equal(c->dns_queue, -1);
	assert_int_equal(c->mark_mask, 0xff00);
	assert_int_equal(c->fail_mode, CONF_FAIL_CLOSED);
	assert_int_equal(c->rule_priority, 1000);
	assert_int_equal(c->max_entries, 65536);
	assert_int_equal(c->min_ttl, 60);
	assert_int_equal(c->max_ttl, 86400);
	assert_int_equal(r->mark, 0x100);
	assert_true(r->fail_closed);
	assert_false(r->masquerade);
	assert_false(r->keep_blackhole);
	assert_false(r->has_gw4);
	assert_false(r->has_gw6);
	assert_int_equal(r->n_bypass, 0);
	assert_int_equal(r->n_domains, 0);
	assert_int_equal(r->n_lists, 0);
	conf_free(c);
}

/* full:, keyword:, regexp: and domain: rules are kept in canonical form; regexps keep commas. */
static void test_domain_rules(void **state)
{
	struct conf *c = load_ok("[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"
				 "domains = full:Exact.Example. keyword:Tube,regexp:^a{1,3}\\.com$ "
				 "domain:X.org, y.org\n"
				 "domains = a.com full:a.com\n"
				 "format = gfwlist\n"
				 "[route b]\ninterface = wg1\ntable = 101\nmark = 0x200\n");
	const struct conf_route *r = &c->routes[0];
	static const char *const want[] = {
		"full:exact.example", "keyword:tube", "regexp:^a{1,3}\\.com$", "x.org", "y.org",
		"a.com", "full:a.com",
	};

	(void)state;
	assert_int_equal(r->n_domains, 7);
	for (size_t i = 0; i < r->n_domains; i++) {
		assert_string_equal(r->domains[i], want[i]);
		assert_int_equal(r->domain_lines[i], i < 5 ? 5 : 6);
	}
	assert_int_equal(r->list_format, DLIST_GFWLIST);
	assert_int_equal(c->routes[1].list_format, DLIST_AUTO);
	conf_free(c);
}

static void test_readme_example(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 0\nmark-mask = 0xff00\nfail-mode = closed\n"
				 "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"
				 "fail-closed = yes\nmasquerade = yes\n"
				 "domains = github.com icanhazip.com\n"
				 "# domain-list = /etc/nfqroute/vpn.list\n");

	(void)state;
	assert_int_equal(c->n_routes, 1);
	assert_int_equal(c->routes[0].n_domains, 2);
	assert_true(c->routes[0].masquerade);
	conf_free(c);
}

/* The shipped example must stay valid. */
static void test_shipped_example(void **state)
{
	char err[CONF_ERR_MAX];
	struct conf *c;
	int ret;

	(void)state;
	ret = conf_load(TEST_DATA "/../../rules/nfqroute.conf.example", &c, err, sizeof(err));
	if (ret)
		print_error("%s\n", err);
	assert_int_equal(ret, 0);
	assert_int_equal(c->n_routes, 1);
	assert_int_equal(c->routes[0].mark, 0x100);
	assert_int_equal(c->routes[0].n_domains, 2);
	conf_free(c);
}

static void test_empty_and_comments_only(void **state)
{
	struct conf *c = load_ok("");

	(void)state;
	assert_int_equal(c->n_routes, 0);
	assert_null(c->routes);
	conf_free(c);
	c = load_ok("# only\n   ; comments\n\n\t\n[global]\n");
	assert_int_equal(c->n_routes, 0);
	assert_int_equal(c->queue, 0);
	conf_free(c);
	conf_free(NULL);
}

static void test_comment_rules(void **state)
{
	/* '#' and ';' only start a comment at line start or after whitespace */
	struct conf *c = load_ok("\xef\xbb\xbf[route a]   # header comment\n"
				 "interface = wg#1;x\t; comment after a tab\n"
				 "table = 100\n"
				 "mark = 0x100\n");

	(void)state;
	assert_string_equal(c->routes[0].ifname, "wg#1;x");
	conf_free(c);
	load_err("[route a]\ninterface = wg0\ntable = 100#\nmark = 0x100\n", 3,
		 "table 100# is not a number");
}

static void test_global_after_routes(void **state)
{
	/* mark-mask may come after the routes it constrains */
	struct conf *c = load_ok("[route a]\ninterface = wg0\ntable = 7\nmark = 0x3\n"
				 "[global]\nmark-mask = 0xff\n");

	(void)state;
	assert_int_equal(c->routes[0].mark, 3);
	conf_free(c);
	load_err("[route a]\ninterface = wg0\ntable = 7\nmark = 0x100\n"
		 "[global]\nmark-mask = 0xff\n", 4, "mark 0x100 is outside mark-mask 0xff");
}

static void test_numbers(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 65535\nmark-mask = 4294967295\n"
				 "rule-priority = 0x10\nmax-entries = 16\nmin-ttl = 0\n"
				 "max-ttl = 0X7fffffff\n"
				 "[route a]\ninterface = wg0\ntable = 4294967294\n"
				 "mark = 0xffffffff\n");

	(void)state;
	assert_int_equal(c->queue, 65535);
	assert_int_equal(c->mark_mask, 0xffffffffu);
	assert_int_equal(c->rule_priority, 16);
	assert_int_equal(c->max_entries, 16);
	assert_int_equal(c->min_ttl, 0);
	assert_int_equal(c->max_ttl, 0x7fffffff);
	assert_int_equal(c->routes[0].table, 0xfffffffeu);
	assert_int_equal(c->routes[0].mark, 0xffffffffu);
	conf_free(c);
	/* a leading zero is decimal, never octal */
	c = load_ok("[global]\nqueue = 010\n");
	assert_int_equal(c->queue, 10);
	conf_free(c);
}

static void test_gateway_single_family(void **state)
{
	struct conf *c = load_ok("[route a]\ninterface = wg0\ntable = 5\nmark = 0x100\n"
				 "gateway = 2001:db8::1\n");

	(void)state;
	assert_false(c->routes[0].has_gw4);
	assert_true(c->routes[0].has_gw6);
	assert_addr(&c->routes[0].gw6, "2001:db8::1");
	conf_free(c);
}

struct err_case {
	const char *text;
	unsigned line;
	const char *msg;
};

#define RT "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"	/* lines 1-4 */

static const struct err_case err_cases[] = {
	/* structure */
	{ "queue = 0\n", 1, "key queue is outside a section; start with [global] or [route NAME]" },
	{ "[global]\nqueue 0\n", 2, "expected key = value, got 'queue 0'" },
	{ "[global]\n= 5\n", 2, "missing key before '='" },
	{ "[global]\nqueue =   # nothing\n", 2, "queue has no value" },
	{ "\n[global\n", 2, "missing ] at the end of section header [global" },
	{ "[route vpn] x\n", 1, "missing ] at the end of section header [route vpn] x" },
	{ "[foo]\n", 1, "unknown section [foo] (expected [global] or [route NAME])" },
	{ "[routes]\n", 1, "unknown section [routes] (expected [global] or [route NAME])" },
	{ "[global]\n\n[global]\n", 3, "duplicate section [global] (first at line 1)" },
	{ "[global]\nbogus = 1\n", 2, "unknown key bogus in [global]" },
	{ "[global]\nQueue = 1\n", 2, "unknown key Queue in [global]" },
	{ RT "colour = red\n", 5, "unknown key colour in [route vpn]" },
	{ "[global]\ninterface = wg0\n", 2,
	  "key interface belongs in [route NAME], not in [global]" },
	{ RT "queue = 1\n", 5, "key queue belongs in [global], not in [route vpn]" },
	{ "[global]\nqueue = 1\n\nqueue = 2\n", 4, "duplicate key queue (first set at line 2)" },
	{ RT "mark = 0x200\n", 5, "duplicate key mark (first set at line 4)" },
	{ RT "gateway = 10.0.0.1\ngateway = 10.0.0.2\n", 6,
	  "duplicate key gateway (first set at line 5)" },
	{ "[route]\n", 1, "route section needs a name: [route NAME]" },
	{ "[route bad.name]\n", 1,
	  "route name bad.name is invalid (1-31 characters of A-Z a-z 0-9 _ -)" },
	{ "[route abcdefghijklmnopqrstuvwxyz012345]\n", 1, "route name "
	  "abcdefghijklmnopqrstuvwxyz012345 is invalid (1-31 characters of A-Z a-z 0-9 _ -)" },
	{ RT "[route vpn]\n", 5, "duplicate route vpn (first at line 1)" },
	/* global values */
	{ "[global]\nqueue = 65536\n", 2, "queue 65536 is out of range (0-65535)" },
	{ "[global]\nqueue = -1\n", 2,
	  "queue -1 is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = 12abc\n", 2,
	  "queue 12abc is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = 0x\n", 2,
	  "queue 0x is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = +1\n", 2,
	  "queue +1 is not a queue number or a range FIRST-LAST" },
	{ "[global]\nmark-mask = 0\n", 2, "mark-mask must not be 0" },
	{ "[global]\nmark-mask = 0x100000000\n", 2,
	  "mark-mask 0x100000000 does not fit in 32 bits" },
	{ "[global]\nmark-mask = 99999999999999999999999\n", 2,
	  "mark-mask 99999999999999999999999 does not fit in 32 bits" },
	{ "[global]\nfail-mode = maybe\n", 2, "fail-mode maybe is invalid (use closed or open)" },
	{ "[global]\nfail-mode = Closed\n", 2, "fail-mode Closed is invalid (use closed or open)" },
	{ "[global]\nrule-priority = 0\n", 2, "rule-priority must not be 0" },
	{ "[global]\nrule-priority = 32001\n", 2, "rule-priority 32001 is out of range (1-32000)" },
	{ "[global]\nmax-entries = 15\n", 2, "max-entries 15 is out of range (16-16777216)" },
	{ "[global]\nmax-ttl = 0\n", 2, "max-ttl must not be 0" },
	{ "[global]\nmin-ttl = 100\nmax-ttl = 50\n", 3, "min-ttl 100 is greater than max-ttl 50" },
	{ "[global]\nmin-ttl = 90000\n", 2, "min-ttl 90000 is greater than max-ttl 86400" },
	/* required route keys: cite the header */
	{ "\n[route vpn]\ninterface = wg0\nmark = 0x100\n", 2,
	  "route vpn has no table (required)" },
	{ "[route vpn]\ntable = 100\nmark = 0x100\n", 1,
	  "route vpn has no interface (required unless table = main)" },
	{ "[route vpn]\ninterface = wg0\ntable = 100\n", 1,
	  "route vpn has no mark (required unless table = main)" },
	{ "[route ex]\ndomains = a.com\n", 1, "route ex has no table (required)" },
	/* marks */
	{ "[global]\nmark-mask = 0xff00\n[route vpn]\ninterface = wg0\ntable = 100\n"
	  "mark = 0x10000\n", 6, "mark 0x10000 is outside mark-mask 0xff00" },
	{ "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x101\n", 4,
	  "mark 0x101 is outside mark-mask 0xff00" },
	{ "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0\n", 4, "mark must not be 0" },
	{ RT "[route b]\ninterface = wg1\ntable = 101\nmark = 256\n", 8,
	  "mark 0x100 is already used by route vpn (line 4)" },
	/* tables */
	{ "[route vpn]\ntable = 0\n", 2, "table must not be 0" },
	{ "[route vpn]\ntable = 253\n", 2,
	  "table 253 is reserved (default); use a number of your own" },
	{ "[route vpn]\ntable = 255\n", 2,
	  "table 255 is reserved (local); use a number of your own" },
	{ "[route vpn]\ntable = 254\n", 2,
	  "table 254 is the main table; write table = main for an exception route" },
	{ "[route vpn]\ntable = local\n", 2,
	  "table local is reserved; use a number of your own or main" },
	{ "[route vpn]\ntable = 4294967295\n", 2,
	  "table 4294967295 is out of range (1-4294967294)" },
	{ "[route vpn]\ntable = vpn\n", 2, "table vpn is not a number" },
	{ RT "[route b]\ninterface = wg1\ntable = 100\nmark = 0x200\n", 7,
	  "table 100 is already used by route vpn (line 3)" },
	{ "[route a]\ntable = main\n[route b]\ntable = main\n", 4,
	  "table main is already used by route a (line 2)" },
	/* interface */
	{ "[route vpn]\ninterface = abcdefghijklmnop\n", 2, "interface abcdefghijklmnop is not a "
	  "valid interface name (at most 15 characters, no '/', ':' or spaces)" },
	{ "[route vpn]\ninterface = wg0 wg1\n", 2,
	  "interface wg0 wg1 is not a valid interface name "
	  "(at most 15 characters, no '/', ':' or spaces)" },
	{ "[route vpn]\ninterface = eth0:1\n", 2, "interface eth0:1 is not a valid interface name "
	  "(at most 15 characters, no '/', ':' or spaces)" },
	/* booleans */
	{ RT "fail-closed = maybe\n", 5, "fail-closed maybe is not a boolean (use yes or no)" },
	{ RT "masquerade = 2\n", 5, "masquerade 2 is not a boolean (use yes or no)" },
	{ RT "keep-blackhole = y\n", 5, "keep-blackhole y is not a boolean (use yes or no)" },
	/* addresses */
	{ RT "gateway = 10.0.0.1 10.0.0.2\n", 5,
	  "gateway has more than one IPv4 address (10.0.0.2)" },
	{ RT "gateway = fd00::1, fd00::2\n", 5,
	  "gateway has more than one IPv6 address (fd00::2)" },
	{ RT "gateway = wg-peer\n", 5, "gateway wg-peer is not an IPv4 or IPv6 host address" },
	{ RT "gateway = 0.0.0.0\n", 5, "gateway 0.0.0.0 is not an IPv4 or IPv6 host address" },
	{ RT "endpoint = 192.0.2.1\nendpoint = 1.2.3.4:51820\n", 6, "endpoint 1.2.3.4:51820 is not "
	  "an IPv4 or IPv6 host address (write it without port or brackets)" },
	{ RT "endpoint = [2001:db8::1]\n", 5, "endpoint [2001:db8::1] is not an IPv4 or IPv6 host "
	  "address (write it without port or brackets)" },
	{ RT "endpoint = ::\n", 5, "endpoint :: is not an IPv4 or IPv6 host address "
	  "(write it without port or brackets)" },
	/* domains */
	{ RT "domains = good.com bad..com\n", 5, "domains: bad..com is not a valid domain name" },
	{ RT "domains = a.com\ndomains = exa$mple.com\n", 6,
	  "domains: exa$mple.com is not a valid domain name" },
	{ RT "domains = github.com\n[route b]\ninterface = wg1\ntable = 101\nmark = 0x200\n"
	  "domains = GitHub.com.\n", 10,
	  "domain github.com is already listed at line 5 (route vpn)" },
	{ RT "domains = a.com *.github.com x.org\ndomains = b.com github.com\n", 6,
	  "domain github.com is already listed at line 5 (route vpn)" },
	{ RT "domains = z.com y.com\ndomains = a.com z.com\ndomains = y.com\n", 6,
	  "domain z.com is already listed at line 5 (route vpn)" },
	{ RT "domain-list =\n", 5, "domain-list has no value" },
	/* rule kinds */
	{ RT "domains = a.com regexp:a(b\n", 5, "domains: regexp:a(b: Unmatched ( or \\(" },
	{ RT "domains = regexp:[z-a]\n", 5, "domains: regexp:[z-a]: Invalid range end" },
	{ RT "domains = regexp:\n", 5,
	  "domains: regexp: is not a valid rule (empty regexp)" },
	{ RT "domains = full:*.a.com\n", 5,
	  "domains: full:*.a.com is not a valid rule (full: takes an exact name)" },
	{ RT "domains = keyword:a/b\n", 5,
	  "domains: keyword:a/b is not a valid rule (invalid character)" },
	{ RT "domains = geosite:cn\n", 5, "domains: geosite:cn is not a valid rule (unknown rule "
	  "type (use domain:, full:, keyword: or regexp:))" },
	{ RT "domains = domain:a..com\n", 5, "domains: domain:a..com is not a valid domain name" },
	{ RT "domains = full:a.com\ndomains = b.com full:A.com.\n", 6,
	  "domain full:a.com is already listed at line 5 (route vpn)" },
	{ RT "domains = keyword:tube keyword:tube\n", 5,
	  "domain keyword:tube is already listed at line 5 (route vpn)" },
	/* format */
	{ RT "format = xml\n", 5,
	  "format xml is invalid (use auto, plain, dnsmasq, gfwlist, hosts or v2fly)" },
	{ RT "format = plain\nformat = hosts\n", 6, "duplicate key format (first set at line 5)" },
	{ "[global]\nformat = plain\n", 2, "key format belongs in [route NAME], not in [global]" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++)
		load_err(err_cases[i].text, err_cases[i].line, err_cases[i].msg);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[global]\nqueue = 1\0junk\n";

	(void)state;
	load_err_len(text, sizeof(text) - 1, 2, "line contains a NUL byte");
}

static void test_unreadable_file(void **state)
{
	char err[CONF_ERR_MAX];
	struct conf *c = (struct conf *)&c;

	(void)state;
	assert_int_equal(conf_load("/tmp/nfqr_conf_does/not/exist", &c, err, sizeof(err)),
			 -ENOENT);
	assert_null(c);
	assert_string_equal(err, "/tmp/nfqr_conf_does/not/exist: No such file or directory");
	assert_int_equal(conf_load("/tmp", &c, err, sizeof(err)), -EISDIR);
	assert_null(c);
	assert_string_equal(err, "/tmp: Is a directory");
}

static void test_small_err_buffer(void **state)
{
	char path[sizeof(TMPL)], err[8];
	struct conf *c;

	(void)state;
	write_tmp(path, "[bogus]\n", 8);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(conf_load(path, &c, NULL, 0), -EINVAL);
	unlink(path);
}

/* A directory with a config and lists, removed by dir_cleanup. */
struct list_dir {
	char dir[sizeof(TMPL)];
	char conf[64], list[64], sub[64], sublist[64];
};

static void dir_setup(struct list_dir *d)
{
	strcpy(d->dir, TMPL);
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->conf, sizeof(d->conf), "%s/nfqroute.conf", d->dir);
	snprintf(d->list, sizeof(d->list), "%s/vpn.list", d->dir);
	snprintf(d->sub, sizeof(d->sub), "%s/lists", d->dir);
	snprintf(d->sublist, sizeof(d->sublist), "%s/lists/more.list", d->dir);
	assert_int_equal(mkdir(d->sub, 0700), 0);
	write_at(d->list, "github.com\n");
	write_at(d->sublist, "example.org\n");
}

static void dir_cleanup(struct list_dir *d)
{
	unlink(d->conf);
	unlink(d->list);
	unlink(d->sublist);
	rmdir(d->sub);
	rmdir(d->dir);
}

static void test_domain_list_relative(void **state)
{
	char err[CONF_ERR_MAX], text[2 * PATH_MAX];
	struct list_dir d;
	struct conf *c;
	int ret;

	(void)state;
	dir_setup(&d);
	snprintf(text, sizeof(text), RT "domain-list = vpn.list\ndomain-list = lists/more.list\n"
		 "domain-list = %s\n", d.list);
	write_at(d.conf, text);
	ret = conf_load(d.conf, &c, err, sizeof(err));
	if (ret)
		print_error("%s\n", err);
	assert_int_equal(ret, 0);
	/* the absolute spelling of vpn.list is the same file and kept once */
	assert_int_equal(c->routes[0].n_lists, 2);
	assert_string_equal(c->routes[0].lists[0], d.list);
	assert_string_equal(c->routes[0].lists[1], d.sublist);
	conf_free(c);
	dir_cleanup(&d);
}

static void test_domain_list_relative_conf_path(void **state)
{
	char err[CONF_ERR_MAX], cwd[PATH_MAX];
	struct list_dir d;
	struct conf *c;
	int ret;

	(void)state;
	dir_setup(&d);
	write_at(d.conf, RT "domain-list = vpn.list\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(d.sub), 0);
	/* the list is resolved to an absolute path, so a later chdir("/") cannot break it */
	ret = conf_load("../nfqroute.conf", &c, err, sizeof(err));
	assert_int_equal(chdir(cwd), 0);
	if (ret)
		print_error("%s\n", err);
	assert_int_equal(ret, 0);
	assert_int_equal(c->routes[0].n_lists, 1);
	assert_true(c->routes[0].lists[0][0] == '/');
	assert_int_equal(access(c->routes[0].lists[0], R_OK), 0);
	assert_string_equal(c->path, "../nfqroute.conf");
	conf_free(c);
	dir_cleanup(&d);
}

static void test_domain_list_missing(void **state)
{
	char err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct list_dir d;
	struct conf *c;

	(void)state;
	dir_setup(&d);
	write_at(d.conf, RT "domains = a.com\ndomain-list = nope.list\n");
	assert_int_equal(conf_load(d.conf, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:6: domain-list %s/nope.list: No such file or directory",
		 d.conf, d.dir);
	assert_string_equal(err, want);

	write_at(d.conf, RT "domain-list = lists\n");
	assert_int_equal(conf_load(d.conf, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: domain-list %s: Is a directory", d.conf, d.sub);
	assert_string_equal(err, want);
	dir_cleanup(&d);
}

static void test_domain_list_unreadable(void **state)
{
	char err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct list_dir d;
	struct conf *c;

	(void)state;
	if (geteuid() == 0)
		skip();	/* root reads everything */
	dir_setup(&d);
	assert_int_equal(chmod(d.list, 0), 0);
	write_at(d.conf, RT "domain-list = vpn.list\n");
	assert_int_equal(conf_load(d.conf, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: domain-list %s: Permission denied", d.conf, d.list);
	assert_string_equal(err, want);
	dir_cleanup(&d);
}

/* rule-priority + index must stay below the main table's rule at 32766. */
static void test_rule_priority_room(void **state)
{
	size_t size = 800 * 96, len;
	char *text = malloc(size);
	struct conf *c;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, size, "[global]\nmark-mask = 0xffffffff\n"
			       "rule-priority = 32000\n");
	for (unsigned i = 1; i <= 766; i++)
		len += (size_t)snprintf(text + len, size - len,
					"[route r%u]\ninterface = wg0\ntable = %u\nmark = %u\n",
					i, 1000 + i, i);
	c = load_ok(text);
	assert_int_equal(c->n_routes, 766);
	conf_free(c);
	snprintf(text + len, size - len, "[route last]\ninterface = wg0\ntable = 9\nmark = 9999\n");
	load_err(text, 3, "rule-priority 32000 leaves no room for 767 routes below the main "
		 "table's rule (32766)");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_readme_example),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_empty_and_comments_only),
		cmocka_unit_test(test_comment_rules),
		cmocka_unit_test(test_global_after_routes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_gateway_single_family),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_small_err_buffer),
		cmocka_unit_test(test_domain_rules),
		cmocka_unit_test(test_domain_list_relative),
		cmocka_unit_test(test_domain_list_relative_conf_path),
		cmocka_unit_test(test_domain_list_missing),
		cmocka_unit_test(test_domain_list_unreadable),
		cmocka_unit_test(test_rule_priority_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
