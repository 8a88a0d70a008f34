/*
 * Unit tests for src/dlist.c: format detection and the plain, dnsmasq, gfwlist, hosts and
 * v2fly loaders, on hand-made input and on real samples (tests/data/lists, see
 * tests/data/SOURCES.md for where they come from and what they contain); plus the policy
 * summary and classification of list exceptions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrmap.h"
#include "classify.h"
#include "conf.h"
#include "dlist.h"
#include "domain.h"
#include "policy.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define LISTS TEST_DATA "/lists"
#define DIRECT DOMAIN_ROUTE_DIRECT

/* ---- helpers ---- */

static void expect_match(const struct domain_matcher *m, const char *name, int route,
			 enum domain_kind kind)
{
	struct domain_match r;
	int rc = domain_matcher_match(m, name, &r);

	if (route < 0) {
		if (rc != -ENOENT)
			fail_msg("\"%s\": matched route %u (%s), want none", name, r.route,
				 domain_kind_name(r.kind));
		return;
	}
	if (rc != 0)
		fail_msg("\"%s\": no match, want route %d", name, route);
	if (r.route != route || r.kind != kind)
		fail_msg("\"%s\": route %u (%s), want %d (%s)", name, r.route,
			 domain_kind_name(r.kind), route, domain_kind_name(kind));
}

static struct domain_matcher *load_mem(const char *text, enum dlist_format fmt, uint16_t route,
				       struct dlist_stats *st)
{
	struct domain_matcher *m = domain_matcher_new();
	char err[256] = "unset";

	assert_non_null(m);
	assert_int_equal(dlist_load_mem(text, strlen(text), "mem", NULL, fmt, m, route, st, err,
					sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(domain_matcher_finish(m), 0);
	return m;
}

static struct domain_matcher *load_file(const char *path, enum dlist_format fmt, uint16_t route,
					struct dlist_stats *st)
{
	struct domain_matcher *m = domain_matcher_new();
	char err[256] = "unset";
	int rc;

	assert_non_null(m);
	rc = dlist_load_format(path, fmt, m, route, st, err, sizeof(err));
	if (rc)
		fail_msg("%s: %s", path, err);
	assert_string_equal(err, "");
	assert_int_equal(domain_matcher_finish(m), 0);
	return m;
}

/* The reason entry with text why, which must exist. */
static size_t reason_count(const struct dlist_stats *st, const char *why, unsigned first_line)
{
	for (size_t i = 0; i < st->n_reasons; i++) {
		if (strcmp(st->reasons[i].why, why))
			continue;
		if (first_line)
			assert_int_equal(st->reasons[i].lines[0], first_line);
		return st->reasons[i].count;
	}
	fail_msg("no reason \"%s\"", why);
	return 0;
}

/* Total of the reasons equals skipped: every skip was given a reason. */
static void check_reasons_add_up(const struct dlist_stats *st)
{
	size_t sum = st->other;

	for (size_t i = 0; i < st->n_reasons; i++)
		sum += st->reasons[i].count;
	assert_int_equal(sum, st->skipped);
	sum = 0;
	for (int k = 0; k < DOMAIN_KIND_COUNT; k++)
		sum += st->kinds[k];
	assert_int_equal(sum, st->loaded);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- formats and detection ---- */

static void test_format_names(void **state)
{
	enum dlist_format f;

	(void)state;
	for (int i = 0; i < DLIST_FORMAT_COUNT; i++) {
		const char *name = dlist_format_name((enum dlist_format)i);

		assert_int_equal(dlist_format_parse(name, &f), 0);
		assert_int_equal(f, i);
	}
	assert_string_equal(dlist_format_name(DLIST_GFWLIST), "gfwlist");
	assert_int_equal(dlist_format_parse("GFWList", &f), -EINVAL);
	assert_int_equal(dlist_format_parse("", &f), -EINVAL);
	assert_string_equal(dlist_format_name(DLIST_FORMAT_COUNT), "?");
}

static void detect(const char *text, enum dlist_format want)
{
	enum dlist_format got = dlist_detect(text, strlen(text));

	if (got != want)
		fail_msg("detected %s, want %s for:\n%s", dlist_format_name(got),
			 dlist_format_name(want), text);
}

static void test_detect_hand(void **state)
{
	(void)state;
	detect("", DLIST_PLAIN);
	detect("# only a comment\n\n", DLIST_PLAIN);
	detect("example.com\nfoo.org\n", DLIST_PLAIN);
	detect("\xef\xbb\xbf" "example.com\n", DLIST_PLAIN);
	/* a dotless name of 16+ characters is base64 too, but does not decode to text */
	detect("verylonghostnamexyz\nexample.com\n", DLIST_PLAIN);
	detect("W0F1dG9Qcm94eSAwLjIuOV0KISBDaGVja3N1bTogSmlSdnVGNjdrYlhydVB0ZmtY\n",
	       DLIST_GFWLIST);
	detect("  \r\nW0F1dG9Qcm94eSAwLjIuOV0K\r\n", DLIST_GFWLIST);
	detect("[AutoProxy 0.2.9]\n||a.com\n", DLIST_GFWLIST);
	detect("! comment\n||a.com\n|http://b.com\n@@||c.a.com\n", DLIST_GFWLIST);
	detect("! just comments\n", DLIST_GFWLIST);
	detect("# china\nserver=/a.cn/114.114.114.114\nserver=/b.cn/114.114.114.114\n",
	       DLIST_DNSMASQ);
	detect("bogus-nxdomain=1.2.3.4\n", DLIST_DNSMASQ);
	detect("ipset=/a.com/set\nnftset=/b.com/4#inet#t#s\n", DLIST_DNSMASQ);
	detect("# hosts\n127.0.0.1 localhost\n::1 localhost\n0.0.0.0 ads.example\n", DLIST_HOSTS);
	detect("0.0.0.0\tads.example\n", DLIST_HOSTS);
	detect("include:other\nexample.com\n", DLIST_V2FLY);
	detect("example.com @cn\n", DLIST_V2FLY);
	detect("full:www.example.com\n", DLIST_V2FLY);
	detect("domain:example.com\n", DLIST_V2FLY);
	/* Loyalsoldier's lists are sorted: prefixed rules come after 25,000 plain lines. */
	{
		size_t n = 0, cap = 200 * 32;
		char *big = malloc(cap);

		assert_non_null(big);
		for (int i = 0; i < 150; i++)
			n += (size_t)snprintf(big + n, cap - n, "name%d.example\n", i);
		snprintf(big + n, cap - n, "regexp:^x[0-9]+\\.example$\n");
		detect(big, DLIST_V2FLY);
		big[n] = '\0';
		detect(big, DLIST_PLAIN);
		free(big);
	}
	/* one hosts line among plain names is not a hosts file */
	detect("a.com\nb.com\n0.0.0.0 c.com\n", DLIST_PLAIN);
}

static void test_detect_real(void **state)
{
	static const struct {
		const char *file;
		enum dlist_format want;
	} cases[] = {
		{ "china-sample.txt", DLIST_PLAIN },
		{ "gfwlist-sample.txt", DLIST_GFWLIST },
		{ "dnsmasq-china-sample.conf", DLIST_DNSMASQ },
		{ "dnsmasq-bogus-sample.conf", DLIST_DNSMASQ },
		{ "hosts-adaway-sample.txt", DLIST_HOSTS },
		{ "hosts-anudeep-sample.txt", DLIST_HOSTS },
		{ "loyalsoldier-proxy-sample.txt", DLIST_V2FLY },
		{ "v2fly/category-games-cn", DLIST_V2FLY },
		{ "v2fly/tencent-games", DLIST_PLAIN },	/* no prefix: read the same */
	};
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *buf;

		snprintf(path, sizeof(path), "%s/%s", LISTS, cases[i].file);
		buf = slurp(path, &len);
		if (dlist_detect(buf, len) != cases[i].want)
			fail_msg("%s: detected %s", cases[i].file,
				 dlist_format_name(dlist_detect(buf, len)));
		free(buf);
	}
}

/* ---- plain ---- */

static void test_plain_forced(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m;

	(void)state;
	/* Forced plain: prefixes are not understood, as before auto-detection existed. */
	m = load_mem("a.com\nfull:b.com\n0.0.0.0 c.com\n", DLIST_PLAIN, 1, &st);
	assert_int_equal(st.format, DLIST_PLAIN);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.skipped, 2);
	assert_int_equal(reason_count(&st, "invalid character", 2), 1);
	assert_int_equal(reason_count(&st, "more than one field", 3), 1);
	check_reasons_add_up(&st);
	domain_matcher_free(m);
	/* The same text detected: v2fly, and the hosts line is no rule there either. */
	m = load_mem("a.com\nfull:b.com\n0.0.0.0 c.com\n", DLIST_AUTO, 1, &st);
	assert_int_equal(st.format, DLIST_V2FLY);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.kinds[DOMAIN_FULL], 1);
	assert_int_equal(reason_count(&st, "unexpected field", 3), 1);
	expect_match(m, "b.com", 1, DOMAIN_FULL);
	expect_match(m, "x.b.com", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);
}

/* ---- dnsmasq ---- */

static void test_dnsmasq_hand(void **state)
{
	static const char text[] =
		"# dnsmasq\n"					/* 1 */
		"server=/a.com/b.com/1.2.3.4\n"			/* 2 */
		"ipset=/c.com/set4,set6\n"			/* 3 */
		"nftset=/d.com/4#inet#fw#set\n"			/* 4 */
		"address=/e.com/1.2.3.4\n"			/* 5 */
		"address=/f.com/\n"				/* 6 */
		"local=/g.com/\n"				/* 7 */
		"server=/*.h.com/1.1.1.1#5353\n"		/* 8 */
		"rebind-domain-ok=/i.com/\n"			/* 9 */
		"server=1.2.3.4\n"				/* 10 */
		"server=//1.2.3.4\n"				/* 11 */
		"bogus-nxdomain=1.2.3.4\n"			/* 12 */
		"no-resolv\n"					/* 13 */
		"server=/#/1.1.1.1\n"				/* 14 */
		"server=/bad..com/ok.com/1.1.1.1\n"		/* 15 */
		"  server=/J.COM/#  \r\n"			/* 16 */
		"server=/k.com\n";				/* 17 */
	struct dlist_stats st;
	struct domain_matcher *m = load_mem(text, DLIST_AUTO, 2, &st);

	(void)state;
	assert_int_equal(st.format, DLIST_DNSMASQ);
	assert_int_equal(st.loaded, 11);
	assert_int_equal(st.kinds[DOMAIN_SUFFIX], 11);
	assert_int_equal(st.skipped, 7);
	assert_int_equal(reason_count(&st, "no /domain/ in the option", 10), 2);
	assert_int_equal(reason_count(&st, "empty domain (unqualified names)", 11), 1);
	assert_int_equal(reason_count(&st, "dnsmasq option without domains", 12), 2);
	assert_int_equal(st.reasons[2].lines[1], 13);
	assert_int_equal(reason_count(&st, "# (every domain) is not a domain", 14), 1);
	assert_int_equal(reason_count(&st, "empty label", 15), 1);
	check_reasons_add_up(&st);
	assert_int_equal(st.samples[0].line, 10);
	assert_string_equal(st.samples[0].why, "no /domain/ in the option: \"server=1.2.3.4\"");
	assert_string_equal(st.samples[2].why,
			    "dnsmasq option without domains: \"bogus-nxdomain=1.2.3.4\"");
	/* dnsmasq's /domain/ covers the domain and its subdomains */
	for (const char *const *n = (const char *const[]){ "a.com", "www.b.com", "c.com",
		     "d.com", "x.e.com", "f.com", "g.com", "h.com", "a.h.com", "i.com", "ok.com",
		     "j.com", NULL }; *n; n++)
		expect_match(m, *n, 2, DOMAIN_SUFFIX);
	expect_match(m, "k.com", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);
}

/* Every server= entry of the real sample, checked with an independent reader. */
static void test_dnsmasq_real(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_file(LISTS "/dnsmasq-china-sample.conf", DLIST_AUTO, 4,
					     &st);
	char line[512], sub[600];
	size_t n = 0;
	FILE *f;

	(void)state;
	assert_int_equal(st.format, DLIST_DNSMASQ);
	assert_int_equal(st.loaded, 222);
	assert_int_equal(st.skipped, 0);
	f = fopen(LISTS "/dnsmasq-china-sample.conf", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *d = line + 8, *e;

		if (strncmp(line, "server=/", 8))
			continue;
		e = strchr(d, '/');
		assert_non_null(e);
		*e = '\0';
		expect_match(m, d, 4, DOMAIN_SUFFIX);
		snprintf(sub, sizeof(sub), "cdn.%s", d);
		expect_match(m, sub, 4, DOMAIN_SUFFIX);
		n++;
	}
	fclose(f);
	assert_int_equal(n, 222);
	domain_matcher_free(m);
	/* bogus-nxdomain= lines: nothing to route, each counted */
	m = load_file(LISTS "/dnsmasq-bogus-sample.conf", DLIST_AUTO, 4, &st);
	assert_int_equal(st.format, DLIST_DNSMASQ);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.skipped, 6);
	assert_int_equal(reason_count(&st, "dnsmasq option without domains", 4), 6);
	domain_matcher_free(m);
}

/* ---- gfwlist ---- */

static const char gfw_text[] =
	"[AutoProxy 0.2.9]\n"			/* 1 */
	"! Title: test\n"			/* 2 */
	"||a.com\n"				/* 3 */
	"||b.com/path/x.html\n"			/* 4 */
	"|http://c.com/x\n"			/* 5 */
	"|https://d.com:443/x\n"		/* 6 */
	".e.com\n"				/* 7 */
	"f.com\n"				/* 8 */
	"@@||g.a.com\n"				/* 9 */
	"@@|http://h.com\n"			/* 10 */
	"/^https?:\\/\\/[^\\/]+x\\.com/\n"	/* 11 */
	"||i.com/*/x\n"				/* 12 */
	"|http://1.2.3.4/\n"			/* 13 */
	"|http://[2001:db8::1]/\n"		/* 14 */
	"||cdn*.j.com\n"			/* 15 */
	"|http://k*.l.com/\n"			/* 16 */
	"||*.m.com\n"				/* 17 */
	"http://n.com/path\n"			/* 18 */
	"\n"					/* 19 */
	"||o.com^\n"				/* 20 */
	"||bad..com\n"				/* 21 */
	"@@/regex/\n"				/* 22 */
	"|ftp.p.com\n"				/* 23 */
	"||q.com:8080/a:b\n";			/* 24 */

static void check_gfw_hand(const struct domain_matcher *m, const struct dlist_stats *st)
{
	assert_int_equal(st->format, DLIST_GFWLIST);
	assert_int_equal(st->loaded, 14);
	assert_int_equal(st->kinds[DOMAIN_SUFFIX], 12);
	assert_int_equal(st->kinds[DOMAIN_REGEXP], 2);
	assert_int_equal(st->direct, 2);
	assert_int_equal(st->skipped, 7);
	assert_int_equal(reason_count(st, "regular expression on URLs", 11), 2);
	assert_int_equal(reason_count(st, "URL path with wildcard", 12), 1);
	assert_int_equal(reason_count(st, "IP address", 13), 2);
	assert_int_equal(reason_count(st, "empty label", 21), 1);
	assert_int_equal(reason_count(st, "URL rule without scheme://", 23), 1);
	check_reasons_add_up(st);
	for (const char *const *n = (const char *const[]){ "a.com", "x.a.com", "b.com", "c.com",
		     "d.com", "e.com", "f.com", "www.f.com", "m.com", "n.com", "o.com", "q.com",
		     NULL }; *n; n++)
		expect_match(m, *n, 7, DOMAIN_SUFFIX);
	/* "@@" exceptions: the longer match beats the tunneled parent */
	expect_match(m, "g.a.com", DIRECT, DOMAIN_SUFFIX);
	expect_match(m, "x.g.a.com", DIRECT, DOMAIN_SUFFIX);
	expect_match(m, "h.com", DIRECT, DOMAIN_SUFFIX);
	/* host wildcards: "||" anchors at a label start, "|http://" at the name's start */
	expect_match(m, "cdn1.j.com", 7, DOMAIN_REGEXP);
	expect_match(m, "x.cdn-eu.a.j.com", 7, DOMAIN_REGEXP);
	expect_match(m, "xcdn1.j.com", -1, DOMAIN_SUFFIX);
	expect_match(m, "j.com", -1, DOMAIN_SUFFIX);
	expect_match(m, "k1.l.com", 7, DOMAIN_REGEXP);
	expect_match(m, "x.k1.l.com", -1, DOMAIN_SUFFIX);
	expect_match(m, "i.com", -1, DOMAIN_SUFFIX);
	expect_match(m, "p.com", -1, DOMAIN_SUFFIX);
}

static void test_gfwlist_text(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_mem(gfw_text, DLIST_AUTO, 7, &st);

	(void)state;
	check_gfw_hand(m, &st);
	assert_int_equal(st.samples[0].line, 11);
	domain_matcher_free(m);
}

/* The same rules base64-encoded, wrapped at odd places, with CRLF and blanks around. */
static void test_gfwlist_base64(void **state)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(gfw_text), o = 0, col = 0;
	char *b = malloc(n * 2 + 64);
	struct dlist_stats st;
	struct domain_matcher *m;

	(void)state;
	assert_non_null(b);
	o += (size_t)sprintf(b, "\r\n  ");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)gfw_text[i] << 16;
		char q[4];

		v |= i + 1 < n ? (uint32_t)(unsigned char)gfw_text[i + 1] << 8 : 0;
		v |= i + 2 < n ? (uint32_t)(unsigned char)gfw_text[i + 2] : 0;
		q[0] = tbl[v >> 18];
		q[1] = tbl[(v >> 12) & 63];
		q[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tbl[v & 63] : '=';
		for (int k = 0; k < 4; k++) {
			b[o++] = q[k];
			if (++col % 61 == 0)
				o += (size_t)sprintf(b + o, col % 2 ? "\r\n" : "\n ");
		}
	}
	o += (size_t)sprintf(b + o, "\n\n");
	m = load_mem(b, DLIST_AUTO, 7, &st);
	check_gfw_hand(m, &st);
	domain_matcher_free(m);
	/* forced gfwlist works the same */
	m = load_mem(b, DLIST_GFWLIST, 7, &st);
	check_gfw_hand(m, &st);
	domain_matcher_free(m);
	free(b);
}

/*
 * The real sample (see SOURCES.md): 270 decoded lines = 166 "||" (5 with '*': 3 host
 * wildcards, 2 path wildcards) + 37 "|http" (1 IP, 5 host wildcards) + 34 "@@" (one
 * "@@/regex/") + 1 "/regex/" + 2 bare hosts + 28 '!' + header + blank. The same
 * proportions hold for the full list (4,345 loaded, 5 skipped; see the report).
 */
static void test_gfwlist_real(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_file(LISTS "/gfwlist-sample.txt", DLIST_AUTO, 1, &st);

	(void)state;
	assert_int_equal(st.format, DLIST_GFWLIST);
	assert_int_equal(st.loaded, 166 - 2 + 37 - 1 + 33 + 2);
	assert_int_equal(st.kinds[DOMAIN_REGEXP], 3 + 5);
	assert_int_equal(st.direct, 33);
	assert_int_equal(st.skipped, 5);
	assert_int_equal(reason_count(&st, "IP address", 17), 1);
	assert_int_equal(reason_count(&st, "URL path with wildcard", 24), 2);
	assert_int_equal(reason_count(&st, "regular expression on URLs", 36), 2);
	check_reasons_add_up(&st);
	expect_match(m, "www.google.com.kw", 1, DOMAIN_SUFFIX);
	expect_match(m, "dl.google.com", DIRECT, DOMAIN_SUFFIX);
	expect_match(m, "google.com", -1, DOMAIN_SUFFIX);	/* not in the sample */
	expect_match(m, "x.viu.tv", 1, DOMAIN_SUFFIX);		/* |http://viu.tv/ch/ */
	expect_match(m, "ss3.4sqi.net", 1, DOMAIN_REGEXP);
	expect_match(m, "a.ss3.4sqi.net", -1, DOMAIN_REGEXP);	/* |https:// anchors */
	expect_match(m, "a.fonts.gstatic.com", DIRECT, DOMAIN_SUFFIX);
	expect_match(m, "cdn3.i-scmp.com", 1, DOMAIN_REGEXP);
	expect_match(m, "www.aolnews.com", 1, DOMAIN_SUFFIX);
	expect_match(m, "x.tokenplus.app", DIRECT, DOMAIN_SUFFIX);
	expect_match(m, "addons.mozilla.org", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);
}

/* ---- hosts ---- */

static void test_hosts_hand(void **state)
{
	static const char text[] =
		"# hosts\n"				/* 1 */
		"127.0.0.1 localhost\n"			/* 2 */
		"::1 localhost ip6-localhost ip6-loopback\n"	/* 3 */
		"0.0.0.0 a.com B.com  # comment\n"	/* 4 */
		"0.0.0.0\tc.com\td.com\n"		/* 5 */
		"fe80::1%lo0 e.com\n"			/* 6 */
		"1.2.3.4\n"				/* 7 */
		"notanaddr f.com\n"			/* 8 */
		"0.0.0.0 0.0.0.0\n"			/* 9 */
		"0.0.0.0 bad..name g.com\n"		/* 10 */
		"255.255.255.255 broadcasthost\n";	/* 11 */
	struct dlist_stats st;
	struct domain_matcher *m = load_mem(text, DLIST_AUTO, 3, &st);

	(void)state;
	assert_int_equal(st.format, DLIST_HOSTS);
	assert_int_equal(st.loaded, 6);
	assert_int_equal(st.kinds[DOMAIN_FULL], 6);
	assert_int_equal(st.skipped, 9);
	assert_int_equal(reason_count(&st, "local name", 2), 5);
	assert_int_equal(reason_count(&st, "address without names", 7), 1);
	assert_int_equal(reason_count(&st, "no address before the names", 8), 1);
	assert_int_equal(reason_count(&st, "address instead of a name", 9), 1);
	assert_int_equal(reason_count(&st, "empty label", 10), 1);
	check_reasons_add_up(&st);
	/* a hosts entry names one host, not its subdomains */
	for (const char *const *n = (const char *const[]){ "a.com", "b.com", "c.com", "d.com",
		     "e.com", "g.com", NULL }; *n; n++)
		expect_match(m, *n, 3, DOMAIN_FULL);
	expect_match(m, "www.a.com", -1, DOMAIN_FULL);
	domain_matcher_free(m);
}

static void check_hosts_file(const char *path, size_t loaded, size_t skipped)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_file(path, DLIST_AUTO, 5, &st);
	char line[512], sub[600];
	size_t n = 0;
	FILE *f;

	assert_int_equal(st.format, DLIST_HOSTS);
	assert_int_equal(st.loaded, loaded);
	assert_int_equal(st.skipped, skipped);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char addr[64], name[256];

		if (line[0] == '#' || sscanf(line, "%63s %255s", addr, name) != 2 ||
		    !strcmp(name, "localhost"))
			continue;
		expect_match(m, name, 5, DOMAIN_FULL);
		snprintf(sub, sizeof(sub), "sub.%s", name);
		expect_match(m, sub, -1, DOMAIN_FULL);
		n++;
	}
	fclose(f);
	assert_int_equal(n, loaded);
	domain_matcher_free(m);
}

static void test_hosts_real(void **state)
{
	(void)state;
	check_hosts_file(LISTS "/hosts-adaway-sample.txt", 33, 2);	/* 2 x localhost */
	check_hosts_file(LISTS "/hosts-anudeep-sample.txt", 70, 0);
}

/* ---- v2fly ---- */

struct tmpdir {
	char path[64];
};

static void tmp_write(const struct tmpdir *d, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void tmp_cleanup(const struct tmpdir *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	assert_int_equal(system(cmd), 0);
}

static void test_v2fly_hand(void **state)
{
	struct tmpdir d = { "/tmp/nfqr_v2fly_XXXXXX" };
	struct dlist_stats st;
	struct domain_matcher *m;
	char path[256], name[16], text[64];

	(void)state;
	assert_non_null(mkdtemp(d.path));
	tmp_write(&d, "main",
		  "# main list\n"				/* 1 */
		  "domain:a.com\n"				/* 2 */
		  "b.com @cn   # comment\n"			/* 3 */
		  "full:c.com\n"				/* 4 */
		  "keyword:kw-one\n"				/* 5 */
		  "regexp:^r[0-9]+\\.d\\.com$\n"		/* 6 */
		  "regexp:^x\\d{2,3}\\.d\\.com$ @ads\n"	/* 7: Perl class, comma */
		  "include:sub\n"				/* 8 */
		  "include:sub @cn\n"				/* 9: other filter: again */
		  "include:sub\n"				/* 10: same: once */
		  "include:loop-a\n"				/* 11 */
		  "include:missing\n"				/* 12 */
		  "include:../etc/passwd\n"			/* 13 */
		  "include:deep0\n"				/* 14 */
		  "foo:bar.com\n"				/* 15 */
		  "e.com cn\n"					/* 16 */
		  "regexp:a(b\n"				/* 17 */
		  "include:self\n");				/* 18 */
	tmp_write(&d, "sub", "s1.com @cn\ns2.com @!cn\nfull:s3.com @cn @ads\n");
	tmp_write(&d, "loop-a", "la.com\ninclude:loop-b\n");
	tmp_write(&d, "loop-b", "lb.com\ninclude:loop-a\n");
	tmp_write(&d, "self", "include:self\n");
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "deep%d", i);
		snprintf(text, sizeof(text), "deep%d.com\ninclude:deep%d\n", i, i + 1);
		tmp_write(&d, name, text);
	}
	snprintf(path, sizeof(path), "%s/main", d.path);
	m = load_file(path, DLIST_AUTO, 6, &st);
	assert_int_equal(st.format, DLIST_V2FLY);
	/* main: 6 rules; sub: 3 + 2 (@cn: s1 and s3); loops: 2; deep0..deep15 */
	assert_int_equal(st.loaded, 6 + 5 + 2 + DLIST_INCLUDE_DEPTH);
	assert_int_equal(st.kinds[DOMAIN_FULL], 1 + 2);
	assert_int_equal(st.kinds[DOMAIN_KEYWORD], 1);
	assert_int_equal(st.kinds[DOMAIN_REGEXP], 2);
	assert_int_equal(st.filtered, 1);
	assert_int_equal(st.includes, 2 + 2 + DLIST_INCLUDE_DEPTH + 1);
	assert_int_equal(reason_count(&st, "include loop", 0), 2);
	assert_int_equal(reason_count(&st, "cannot read included file", 12), 1);
	assert_int_equal(reason_count(&st, "invalid include name", 13), 1);
	assert_int_equal(reason_count(&st, "includes nested too deep", 0), 1);
	assert_int_equal(reason_count(&st, "unknown rule type (use domain:, full:, keyword: or "
				      "regexp:)", 15), 1);
	assert_int_equal(reason_count(&st, "unexpected field", 16), 1);
	assert_int_equal(reason_count(&st, "invalid regexp", 17), 1);
	assert_int_equal(st.skipped, 8);
	check_reasons_add_up(&st);
	/* samples name the included file they come from */
	for (size_t i = 0; i < st.n_samples; i++)
		if (!strcmp(st.samples[i].why, "include loop: \"include:loop-a\""))
			assert_string_equal(st.samples[i].file, "loop-b");
	expect_match(m, "www.a.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "b.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "c.com", 6, DOMAIN_FULL);
	expect_match(m, "www.c.com", -1, DOMAIN_FULL);
	expect_match(m, "my-kw-one.net", 6, DOMAIN_KEYWORD);
	expect_match(m, "r12.d.com", 6, DOMAIN_REGEXP);
	expect_match(m, "x123.d.com", 6, DOMAIN_REGEXP);
	expect_match(m, "xdd.d.com", -1, DOMAIN_REGEXP);	/* \d is a digit, not 'd' */
	expect_match(m, "s2.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "s3.com", 6, DOMAIN_FULL);
	expect_match(m, "lb.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "deep15.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "deep16.com", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);

	/* The attribute filter: only entries with @cn of sub, when it is included so. */
	tmp_write(&d, "main", "include:sub @cn\n");
	m = load_file(path, DLIST_AUTO, 6, &st);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.filtered, 1);
	expect_match(m, "s1.com", 6, DOMAIN_SUFFIX);
	expect_match(m, "s2.com", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);
	tmp_write(&d, "main", "include:sub @-cn\n");
	m = load_file(path, DLIST_AUTO, 6, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.filtered, 2);
	expect_match(m, "s2.com", 6, DOMAIN_SUFFIX);
	domain_matcher_free(m);

	/* In memory without a directory, includes are skipped and say why. */
	m = load_mem("a.com\ninclude:sub\n", DLIST_AUTO, 6, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(reason_count(&st, "include without a list directory", 2), 1);
	domain_matcher_free(m);
	tmp_cleanup(&d);
}

/* The real closure of category-games-cn: 17 files, two "@-!cn" include filters. */
static void test_v2fly_real(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_file(LISTS "/v2fly/category-games-cn", DLIST_AUTO, 8,
					     &st);

	(void)state;
	assert_int_equal(st.format, DLIST_V2FLY);
	assert_int_equal(st.loaded, 284);
	assert_int_equal(st.kinds[DOMAIN_SUFFIX], 281);
	assert_int_equal(st.kinds[DOMAIN_FULL], 2);
	assert_int_equal(st.kinds[DOMAIN_REGEXP], 1);
	assert_int_equal(st.includes, 16);
	assert_int_equal(st.filtered, 6);
	assert_int_equal(st.skipped, 0);
	expect_match(m, "www.37.com", 8, DOMAIN_SUFFIX);
	expect_match(m, "end.shallow.ink", 8, DOMAIN_FULL);
	expect_match(m, "x.end.shallow.ink", -1, DOMAIN_FULL);
	expect_match(m, "sg-mihayo.akamaized.net", 8, DOMAIN_REGEXP);
	expect_match(m, "kurogames-ads.com", 8, DOMAIN_SUFFIX);	/* @ads passes @-!cn */
	expect_match(m, "kurogame.net", -1, DOMAIN_SUFFIX);	/* @!cn is filtered out */
	expect_match(m, "taptap.io", -1, DOMAIN_SUFFIX);
	domain_matcher_free(m);
}

/* Loyalsoldier's proxy list: plain names, then full: and regexp: lines at the end. */
static void test_loyalsoldier_real(void **state)
{
	struct dlist_stats st;
	struct domain_matcher *m = load_file(LISTS "/loyalsoldier-proxy-sample.txt", DLIST_AUTO,
					     9, &st);

	(void)state;
	assert_int_equal(st.format, DLIST_V2FLY);
	assert_int_equal(st.loaded, 217);
	assert_int_equal(st.kinds[DOMAIN_SUFFIX], 130);
	assert_int_equal(st.kinds[DOMAIN_FULL], 71);
	assert_int_equal(st.kinds[DOMAIN_REGEXP], 16);
	assert_int_equal(st.skipped, 0);
	expect_match(m, "1password.drift.click", 9, DOMAIN_FULL);
	domain_matcher_free(m);
}

/* ---- errors ---- */

static void test_unreadable(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	char err[256];

	(void)state;
	assert_int_equal(dlist_load_format("/tmp/nfqr_dlist_does/not/exist", DLIST_GFWLIST, m, 1,
					   &st, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/tmp/nfqr_dlist_does/not/exist: No such file or directory");
	assert_int_equal(dlist_load_format("/tmp", DLIST_V2FLY, m, 1, &st, err, sizeof(err)),
			 -EISDIR);
	assert_int_equal(domain_matcher_count(m), 0);
	domain_matcher_free(m);
}

/* Garbage in every format: counted, never fatal, never a crash. */
static void test_garbage(void **state)
{
	char buf[4096];
	uint32_t x = 12345;

	(void)state;
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = round % 2 ? "|@!/.:=*#\n\t abc019"[(x >> 16) % 19]
					   : (char)(x >> 16);
		}
		for (int f = 0; f < DLIST_FORMAT_COUNT; f++) {
			struct domain_matcher *m = domain_matcher_new();
			struct dlist_stats st;
			char err[256];

			assert_int_equal(dlist_load_mem(buf, sizeof(buf), "garbage", NULL,
							(enum dlist_format)f, m, 1, &st, err,
							sizeof(err)), 0);
			check_reasons_add_up(&st);
			domain_matcher_finish(m);
			domain_matcher_lookup(m, "www.example.com", NULL);
			domain_matcher_free(m);
		}
	}
}

/* ---- policy: format = , summary, exceptions in classify ---- */

static void test_policy_lists(void **state)
{
	struct tmpdir d = { "/tmp/nfqr_policy_XXXXXX" };
	char path[256], text[1024], err[CONF_ERR_MAX], *out = NULL;
	struct conf *c;
	struct policy *p;
	struct addrmap *am;
	struct classify_result res;
	struct domain_match dm;
	struct pkt_info pi;
	size_t outlen = 0;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(d.path));
	tmp_write(&d, "gfw.txt", gfw_text);
	tmp_write(&d, "hosts.txt", "0.0.0.0 h1.example\n");
	snprintf(text, sizeof(text),
		 "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"
		 "domains = full:exact.example keyword:tube regexp:^v[0-9]+\\.example$\n"
		 "domain-list = gfw.txt\n"
		 "[route other]\ninterface = wg1\ntable = 101\nmark = 0x200\nformat = plain\n"
		 "domain-list = %s/hosts.txt\n", d.path);
	tmp_write(&d, "n.conf", text);
	snprintf(path, sizeof(path), "%s/n.conf", d.path);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c->routes[0].list_format, DLIST_AUTO);
	assert_int_equal(c->routes[1].list_format, DLIST_PLAIN);
	assert_int_equal(policy_new(c, &p, err, sizeof(err)), 0);
	assert_int_equal(policy_route_of_name(p, "exact.example", &len), 0);
	assert_int_equal(len, 13);
	assert_int_equal(policy_route_of_name(p, "youtube.com", &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(policy_route_of_name(p, "v6.example", NULL), 0);
	assert_int_equal(policy_route_of_name(p, "x.g.a.com", NULL), DIRECT);
	assert_int_equal(policy_match_name(p, "youtube.com", &dm), 0);
	assert_int_equal(dm.kind, DOMAIN_KEYWORD);
	assert_int_equal(dm.route, 0);
	assert_int_equal(policy_match_name(p, "nothing.example", &dm), -ENOENT);
	assert_int_equal(policy_route_of_name(p, "x.a.com", NULL), 0);
	/* format = plain: the hosts line is skipped */
	assert_int_equal(policy_route_of_name(p, "h1.example", NULL), -ENOENT);
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	policy_print_summary(p, f);
	fclose(f);
	if (!strstr(out, "matching: full name, then longest suffix, then first keyword, then "
		    "first regexp\n") ||
	    !strstr(out, "route vpn: interface wg0, table 100, mark 0x100, fail-closed yes, "
		    "masquerade no, 15 domains, 10 suffix, 1 full, 1 keyword, 3 regexp\n") ||
	    !strstr(out, "/gfw.txt (route vpn): 14 domains loaded, 7 lines skipped; format "
		    "gfwlist (detected), 12 suffix, 2 regexp, 2 exceptions (left unmarked)\n") ||
	    !strstr(out, "    skipped 2: IP address (line 13, 14)\n") ||
	    !strstr(out, "/gfw.txt:11: regular expression on URLs: \"/^https?:") ||
	    !strstr(out, "/hosts.txt (route other): 0 domains loaded, 1 lines skipped; "
		    "format plain\n") ||
	    !strstr(out, "17 domain rules in total, 12 suffix, 1 full, 1 keyword, 3 regexp\n"))
		fail_msg("unexpected summary:\n%s", out);
	free(out);

	/* A flow to an address learned for an exception stays unmarked. */
	am = addrmap_new(64);
	assert_non_null(am);
	memset(&pi, 0, sizeof(pi));
	pi.dst.family = AF_INET;
	pi.dst.a[0] = 192;
	pi.dst.a[3] = 7;
	assert_int_equal(addrmap_insert(am, &pi.dst, "x.g.a.com", DIRECT, 10000), 0);
	classify_flow(p, am, &pi, 0x5, 1, &res);
	assert_int_equal(res.route, -1);
	assert_int_equal(res.mark, 0x5);
	assert_int_equal(res.reason, CLASSIFY_EXCEPTION);
	assert_string_equal(res.name, "x.g.a.com");
	addrmap_free(am);
	policy_free(p);
	tmp_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_detect_hand),
		cmocka_unit_test(test_detect_real),
		cmocka_unit_test(test_plain_forced),
		cmocka_unit_test(test_dnsmasq_hand),
		cmocka_unit_test(test_dnsmasq_real),
		cmocka_unit_test(test_gfwlist_text),
		cmocka_unit_test(test_gfwlist_base64),
		cmocka_unit_test(test_gfwlist_real),
		cmocka_unit_test(test_hosts_hand),
		cmocka_unit_test(test_hosts_real),
		cmocka_unit_test(test_v2fly_hand),
		cmocka_unit_test(test_v2fly_real),
		cmocka_unit_test(test_loyalsoldier_real),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_policy_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
