/*
 * Unit tests for src/domain.c (normalizing, rules, matching and precedence) and the plain
 * list format of src/dlist.c (the other formats are in test_dlist.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlist.h"
#include "domain.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define TMPL "/tmp/nfqr_dlist_XXXXXX"

/* ---- domain_normalize ---- */

static void norm_ok(const char *in, const char *want)
{
	char out[256];
	const char *why = "unset";

	if (domain_normalize(in, out, sizeof(out)) != 0)
		fail_msg("\"%s\" was rejected", in);
	assert_string_equal(out, want);
	assert_int_equal(domain_normalize_why(in, out, sizeof(out), &why), 0);
	assert_null(why);
}

static void norm_bad(const char *in, const char *want_why)
{
	char out[256];
	const char *why = NULL;

	memset(out, 'Z', sizeof(out));
	if (domain_normalize(in, out, sizeof(out)) != -EINVAL)
		fail_msg("\"%s\" was accepted as \"%s\"", in, out);
	assert_int_equal(out[0], 'Z');	/* nothing written */
	assert_int_equal(domain_normalize_why(in, out, sizeof(out), &why), -EINVAL);
	assert_non_null(why);
	if (want_why)
		assert_string_equal(why, want_why);
}

static void test_normalize_accepts(void **state)
{
	(void)state;
	norm_ok("example.com", "example.com");
	norm_ok("Example.COM", "example.com");
	norm_ok("*.example.com", "example.com");
	norm_ok(".example.com", "example.com");
	norm_ok("example.com.", "example.com");
	norm_ok("*.Example.Com.", "example.com");
	norm_ok("com", "com");
	norm_ok("a_b-c.x-y.z9", "a_b-c.x-y.z9");
	norm_ok("xn--fiqs8s.xn--55qx5d", "xn--fiqs8s.xn--55qx5d");
	norm_ok("1.2.3.4", "1.2.3.4");		/* address-like names are allowed */
	norm_ok("-lead.example", "-lead.example");
}

static void test_normalize_rejects(void **state)
{
	(void)state;
	norm_bad("", "empty name");
	norm_bad(".", "empty name");
	norm_bad("*.", "empty name");
	norm_bad("*", "invalid character");
	norm_bad("*.*.example.com", "invalid character");
	norm_bad("..example.com", "empty label");
	norm_bad("a..b", "empty label");
	norm_bad("example.com..", "empty label");
	norm_bad("exa mple.com", "contains whitespace");
	norm_bad(" example.com", "contains whitespace");
	norm_bad("example.com\t", "contains whitespace");
	norm_bad("ex!ample.com", "invalid character");
	norm_bad("full:example.com", "invalid character");
	norm_bad("exämple.com", "invalid character");
	norm_bad("a.*.com", "invalid character");
	norm_bad("a\\046b.com", "invalid character");
}

static void test_normalize_lengths(void **state)
{
	char in[400], want[400], out[256];

	(void)state;
	/* One 63-byte label is fine, 64 is not. */
	memset(in, 'a', 63);
	strcpy(in + 63, ".com");
	norm_ok(in, in);
	memset(in, 'a', 64);
	strcpy(in + 64, ".com");
	norm_bad(in, "label longer than 63 bytes");

	/* "a.a.a...a": 127 labels, 253 bytes; a trailing dot does not count. */
	for (int i = 0; i < 253; i++)
		in[i] = i % 2 ? '.' : 'a';
	in[253] = '\0';
	strcpy(want, in);
	norm_ok(in, want);
	strcpy(in + 253, ".");
	norm_ok(in, want);
	strcpy(in, "*.");
	strcpy(in + 2, want);
	norm_ok(in, want);
	strcpy(in + 253, "a");		/* "...aa": 254 bytes */
	strcpy(in, want);
	strcat(in, "a");
	norm_bad(in, "name longer than 253 bytes");
	memset(in, 'a', 399);
	in[399] = '\0';
	norm_bad(in, "name longer than 253 bytes");

	/* The output must fit. */
	assert_int_equal(domain_normalize("example.com", out, 11), -EINVAL);
	assert_int_equal(domain_normalize("example.com", out, 12), 0);
	assert_string_equal(out, "example.com");
}

/* ---- matcher ---- */

static void expect_route(const struct domain_matcher *m, const char *name, int route,
			 size_t len)
{
	size_t got_len = 9999;
	int r = domain_matcher_lookup(m, name, &got_len);

	if (r != route)
		fail_msg("lookup \"%s\": got %d, want %d", name, r, route);
	if (route >= 0 && got_len != len)
		fail_msg("lookup \"%s\": match length %zu, want %zu", name, got_len, len);
	assert_int_equal(domain_matcher_lookup(m, name, NULL), route);
}

static void test_matcher_empty(void **state)
{
	struct domain_matcher *m = domain_matcher_new();

	(void)state;
	assert_non_null(m);
	assert_int_equal(domain_matcher_count(m), 0);
	expect_route(m, "example.com", -ENOENT, 0);
	expect_route(m, "", -ENOENT, 0);
	domain_matcher_free(m);
	domain_matcher_free(NULL);
}

static void test_matcher_exact_and_sub(void **state)
{
	struct domain_matcher *m = domain_matcher_new();

	(void)state;
	assert_int_equal(domain_matcher_add(m, "example.com", 1), 0);
	assert_int_equal(domain_matcher_count(m), 1);
	expect_route(m, "example.com", 1, 11);
	expect_route(m, "www.example.com", 1, 11);
	expect_route(m, "a.b.c.example.com", 1, 11);
	expect_route(m, "_dmarc.example.com", 1, 11);
	/* Only whole labels match. */
	expect_route(m, "notexample.com", -ENOENT, 0);
	expect_route(m, "www.notexample.com", -ENOENT, 0);
	expect_route(m, "xample.com", -ENOENT, 0);
	expect_route(m, "com", -ENOENT, 0);
	expect_route(m, "example.co", -ENOENT, 0);
	expect_route(m, "example.com.cn", -ENOENT, 0);
	expect_route(m, "example.comx", -ENOENT, 0);
	expect_route(m, "", -ENOENT, 0);
	/* Names are compared as given: lookups expect normalized (lowercase) names. */
	expect_route(m, "EXAMPLE.COM", -ENOENT, 0);
	domain_matcher_free(m);
}

static void test_matcher_longest_wins(void **state)
{
	struct domain_matcher *m = domain_matcher_new();

	(void)state;
	/* Added shortest last, so the order of adding cannot be what decides. */
	assert_int_equal(domain_matcher_add(m, "cn.example.com", 2), 0);
	assert_int_equal(domain_matcher_add(m, "example.com", 1), 0);
	assert_int_equal(domain_matcher_add(m, "com", 3), 0);
	assert_int_equal(domain_matcher_add(m, "deep.a.cn.example.com", 4), 0);
	assert_int_equal(domain_matcher_count(m), 4);
	expect_route(m, "cn.example.com", 2, 14);
	expect_route(m, "x.cn.example.com", 2, 14);
	expect_route(m, "a.cn.example.com", 2, 14);
	expect_route(m, "x.deep.a.cn.example.com", 4, 21);
	expect_route(m, "eep.a.cn.example.com", 2, 14);
	expect_route(m, "xcn.example.com", 1, 11);
	expect_route(m, "us.example.com", 1, 11);
	expect_route(m, "example.com", 1, 11);
	expect_route(m, "foo.com", 3, 3);
	expect_route(m, "notexample.com", 3, 3);
	expect_route(m, "com", 3, 3);
	expect_route(m, "net", -ENOENT, 0);
	domain_matcher_free(m);
}

static void test_matcher_later_add_wins(void **state)
{
	struct domain_matcher *m = domain_matcher_new();

	(void)state;
	assert_int_equal(domain_matcher_add(m, "example.com", 1), 0);
	assert_int_equal(domain_matcher_add(m, "example.com", 7), 0);
	assert_int_equal(domain_matcher_count(m), 1);
	expect_route(m, "www.example.com", 7, 11);
	assert_int_equal(domain_matcher_add(m, "example.com", 0), 0);
	expect_route(m, "example.com", 0, 11);
	assert_int_equal(domain_matcher_add(m, "example.com", UINT16_MAX), 0);
	expect_route(m, "example.com", UINT16_MAX, 11);
	domain_matcher_free(m);
}

static void test_matcher_add_invalid(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	char name[300];

	(void)state;
	assert_int_equal(domain_matcher_add(m, "", 1), -EINVAL);
	memset(name, 'a', 254);
	name[254] = '\0';
	assert_int_equal(domain_matcher_add(m, name, 1), -EINVAL);
	name[253] = '\0';
	assert_int_equal(domain_matcher_add(m, name, 1), 0);
	expect_route(m, name, 1, 253);
	assert_int_equal(domain_matcher_count(m), 1);
	domain_matcher_free(m);
}

/* Normalize-then-add is how lists and the configuration feed the matcher. */
static void test_matcher_normalized_input(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	char n[256];

	(void)state;
	assert_int_equal(domain_normalize("*.Example.COM.", n, sizeof(n)), 0);
	assert_int_equal(domain_matcher_add(m, n, 5), 0);
	assert_int_equal(domain_normalize("WWW.EXAMPLE.COM.", n, sizeof(n)), 0);
	expect_route(m, n, 5, 11);
	domain_matcher_free(m);
}

/* Whatever a DNS reply contains must be looked up safely. */
static void test_matcher_odd_queries(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	char big[1200];

	(void)state;
	assert_int_equal(domain_matcher_add(m, "a", 1), 0);
	assert_int_equal(domain_matcher_add(m, "example.com", 2), 0);
	expect_route(m, ".", -ENOENT, 0);
	expect_route(m, "..", -ENOENT, 0);
	expect_route(m, ".a", 1, 1);
	expect_route(m, "x..a", 1, 1);
	expect_route(m, "a.", -ENOENT, 0);
	expect_route(m, "example.com.", -ENOENT, 0);
	expect_route(m, "\\046x.example.com", 2, 11);
	expect_route(m, "x\\.example.com", 2, 11);
	/* Longer than any DNS name: short suffixes still match, nothing overflows. */
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[sizeof(big) - 1] = '\0';
	expect_route(m, big, 1, 1);
	memset(big, '.', sizeof(big) - 1);
	expect_route(m, big, -ENOENT, 0);
	memset(big, 'x', sizeof(big) - 1);
	strcpy(big + sizeof(big) - 13, ".example.com");
	expect_route(m, big, 2, 11);
	domain_matcher_free(m);
}

/* 100k rules force many table growths; every rule and its subdomains must still match. */
static void test_matcher_100k(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	enum { N = 100000 };
	char n[300];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(n, sizeof(n), "h%u.site%u.test", i, i % 977);
		assert_int_equal(domain_matcher_add(m, n, (uint16_t)(i % 50000)), 0);
	}
	assert_int_equal(domain_matcher_count(m), N);
	for (unsigned i = 0; i < N; i++) {
		size_t len;

		snprintf(n, sizeof(n), "h%u.site%u.test", i, i % 977);
		len = strlen(n);
		expect_route(m, n, (int)(i % 50000), len);
		snprintf(n, sizeof(n), "www.h%u.site%u.test", i, i % 977);
		expect_route(m, n, (int)(i % 50000), len);
		snprintf(n, sizeof(n), "h%u.site%u.test", i + N, i % 977);
		expect_route(m, n, -ENOENT, 0);
		snprintf(n, sizeof(n), "xh%u.site%u.test", i, i % 977);
		expect_route(m, n, -ENOENT, 0);
	}
	/* Re-adding keeps the count and takes the new route. */
	for (unsigned i = 0; i < N; i += 7) {
		snprintf(n, sizeof(n), "h%u.site%u.test", i, i % 977);
		assert_int_equal(domain_matcher_add(m, n, 60000), 0);
	}
	assert_int_equal(domain_matcher_count(m), N);
	for (unsigned i = 0; i < N; i++) {
		snprintf(n, sizeof(n), "a.b.h%u.site%u.test", i, i % 977);
		assert_int_equal(domain_matcher_lookup(m, n, NULL), i % 7 ? (int)(i % 50000) : 60000);
	}
	domain_matcher_free(m);
}

/* ---- rules: full, keyword, regexp, precedence ---- */

static void rule_ok(const char *in, enum domain_kind kind, const char *text)
{
	struct domain_rule r;
	const char *why = "unset";

	if (domain_rule_parse(in, &r, &why))
		fail_msg("\"%s\" rejected: %s", in, why);
	assert_null(why);
	assert_int_equal(r.kind, kind);
	assert_string_equal(r.text, text);
}

static void rule_bad(const char *in, const char *want_why)
{
	struct domain_rule r;
	const char *why = NULL;

	if (domain_rule_parse(in, &r, &why) != -EINVAL)
		fail_msg("\"%s\" accepted", in);
	assert_non_null(why);
	assert_string_equal(why, want_why);
}

static void test_rule_parse(void **state)
{
	char long_re[1100];

	(void)state;
	rule_ok("Example.COM", DOMAIN_SUFFIX, "example.com");
	rule_ok("*.example.com.", DOMAIN_SUFFIX, "example.com");
	rule_ok("domain:Example.com", DOMAIN_SUFFIX, "example.com");
	rule_ok("full:WWW.example.com.", DOMAIN_FULL, "www.example.com");
	rule_ok("keyword:-PolyU.hk", DOMAIN_KEYWORD, "-polyu.hk");
	rule_ok("keyword:google", DOMAIN_KEYWORD, "google");
	rule_ok("regexp:^A(b|c)\\.com$", DOMAIN_REGEXP, "^A(b|c)\\.com$");
	rule_bad("full:*.example.com", "full: takes an exact name");
	rule_bad("full:.example.com", "full: takes an exact name");
	rule_bad("full:", "empty name");
	rule_bad("domain:a..b", "empty label");
	rule_bad("keyword:", "empty keyword");
	rule_bad("keyword:a b", "contains whitespace");
	rule_bad("keyword:a/b", "invalid character");
	rule_bad("regexp:", "empty regexp");
	rule_bad("include:foo", "unknown rule type (use domain:, full:, keyword: or regexp:)");
	rule_bad("ext:geosite.dat:cn", "unknown rule type (use domain:, full:, keyword: or "
		 "regexp:)");
	rule_bad("a:b", "unknown rule type (use domain:, full:, keyword: or regexp:)");
	rule_bad("1.2.3.4:53", "invalid character");
	memcpy(long_re, "regexp:", 7);
	memset(long_re + 7, 'a', 1024);
	long_re[7 + 1024] = '\0';
	rule_bad(long_re, "regexp longer than 1023 bytes");
	long_re[7 + 1023] = '\0';
	rule_ok(long_re, DOMAIN_REGEXP, long_re + 7);
}

static void test_regexp_check(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(domain_regexp_check("^a(b|c)$", err, sizeof(err)), 0);
	assert_int_equal(domain_regexp_check("a(b", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Unmatched ( or \\(");
	assert_int_equal(domain_regexp_check("[z-a]", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid range end");
	assert_int_equal(domain_regexp_check("a{2,1}", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_regexp_check("\\", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_regexp_check("(a)\\1", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "back-references are not supported");
	assert_int_equal(domain_regexp_check("[\\1]", err, sizeof(err)), 0);
	/* what would make regcomp take minutes or gigabytes */
	assert_int_equal(domain_regexp_check("a**", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "repetition of a repetition (as in \"a**\")");
	assert_int_equal(domain_regexp_check("(a{2}){3}{4}", err, sizeof(err)), -EINVAL);
	for (int depth = 11; depth <= 13; depth++) {	/* 2^12 copies is the limit */
		char re[64] = "";

		for (int i = 0; i < depth; i++)
			strcat(re, "(");
		strcat(re, "a");
		for (int i = 0; i < depth; i++)
			strcat(re, "+)");
		assert_int_equal(domain_regexp_check(re, err, sizeof(err)),
				 depth < 12 ? 0 : -EINVAL);
	}
	assert_string_equal(err, "too complex: its repetitions expand beyond 4096 nodes");
	assert_int_equal(domain_regexp_check("x{5000}", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_regexp_check("(a|b{4000}|c{100})", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_regexp_check("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", err, sizeof(err)),
			 0);
	assert_int_equal(domain_regexp_check("a{,3}b{2,}c", err, sizeof(err)), 0);
	assert_int_equal(domain_regexp_check("a{,3}b{2,}c{1", err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_regexp_check(")a(", err, sizeof(err)), -EINVAL);
}

static struct domain_matcher *rules_new(const char *const *rules, const uint16_t *routes)
{
	struct domain_matcher *m = domain_matcher_new();

	assert_non_null(m);
	for (size_t i = 0; rules[i]; i++) {
		struct domain_rule r;
		char err[128];

		assert_int_equal(domain_rule_parse(rules[i], &r, NULL), 0);
		if (domain_matcher_add_rule(m, &r, routes[i], err, sizeof(err)))
			fail_msg("adding %s: %s", rules[i], err);
	}
	return m;
}

static void match_is(const struct domain_matcher *m, const char *name, int route,
		     enum domain_kind kind, size_t len)
{
	struct domain_match r;
	size_t ml = 999;

	if (route < 0) {
		assert_int_equal(domain_matcher_match(m, name, &r), -ENOENT);
		assert_int_equal(domain_matcher_lookup(m, name, &ml), -ENOENT);
		return;
	}
	if (domain_matcher_match(m, name, &r))
		fail_msg("\"%s\": no match, want route %d", name, route);
	if (r.route != route || r.kind != kind || r.len != len)
		fail_msg("\"%s\": route %u %s len %zu, want %d %s %zu", name, r.route,
			 domain_kind_name(r.kind), r.len, route, domain_kind_name(kind), len);
	assert_int_equal(domain_matcher_lookup(m, name, &ml), route);
	assert_int_equal(ml, kind == DOMAIN_SUFFIX || kind == DOMAIN_FULL ? len : 0);
}

/*
 * The documented order: a full rule equal to the name, then the longest suffix, then the
 * first keyword, then the first regexp, whatever the order the rules came in.
 */
static void test_precedence(void **state)
{
	static const char *const rules[] = {
		"regexp:example", "keyword:exam", "regexp:^www\\.", "keyword:ample", "example.com",
		"full:www.example.com", "cn.example.com", "full:cn.example.com", "keyword:tube",
		"regexp:tube", "full:only.test", NULL,
	};
	static const uint16_t routes[] = { 1, 2, 3, 4, 5, 6, DOMAIN_ROUTE_DIRECT, 8, 9, 10, 11 };
	struct domain_matcher *m = rules_new(rules, routes);

	(void)state;
	assert_int_equal(domain_matcher_count(m), 11);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_SUFFIX), 2);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_FULL), 3);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_KEYWORD), 3);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_REGEXP), 3);
	for (int pass = 0; pass < 2; pass++) {
		/* full beats the suffix rule for the same or a shorter name */
		match_is(m, "www.example.com", 6, DOMAIN_FULL, 15);
		match_is(m, "a.www.example.com", 5, DOMAIN_SUFFIX, 11);
		match_is(m, "example.com", 5, DOMAIN_SUFFIX, 11);
		/* an exception (longer suffix) beats the tunneled parent */
		match_is(m, "x.cn.example.com", DOMAIN_ROUTE_DIRECT, DOMAIN_SUFFIX, 14);
		match_is(m, "cn.example.com", 8, DOMAIN_FULL, 14);
		/* a suffix beats keywords and regexps; the first keyword added wins */
		match_is(m, "example.org", 2, DOMAIN_KEYWORD, 4);
		match_is(m, "sample.org", 4, DOMAIN_KEYWORD, 5);
		match_is(m, "www.exa.org", 3, DOMAIN_REGEXP, 0);
		match_is(m, "youtube.com", 9, DOMAIN_KEYWORD, 4);
		match_is(m, "only.test", 11, DOMAIN_FULL, 9);
		match_is(m, "x.only.test", -1, DOMAIN_SUFFIX, 0);
		match_is(m, "nothing.net", -1, DOMAIN_SUFFIX, 0);
		/* the same again through the keyword automaton */
		assert_int_equal(domain_matcher_finish(m), 0);
	}
	domain_matcher_free(m);
}

/* Full and suffix rules for one name are two rules; re-adding keeps the later route. */
static void test_full_and_suffix(void **state)
{
	static const char *const rules[] = {
		"full:a.test", "a.test", "full:a.test", "b.test", "keyword:kw", "keyword:kw", NULL,
	};
	static const uint16_t routes[] = { 1, 2, 3, 4, 5, 6 };
	struct domain_matcher *m = rules_new(rules, routes);

	(void)state;
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_FULL), 1);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_SUFFIX), 2);
	assert_int_equal(domain_matcher_count_kind(m, DOMAIN_KEYWORD), 2);
	match_is(m, "a.test", 3, DOMAIN_FULL, 6);
	match_is(m, "x.a.test", 2, DOMAIN_SUFFIX, 6);
	/* the first of two equal keywords decides, also after finish */
	match_is(m, "kw.net", 5, DOMAIN_KEYWORD, 2);
	assert_int_equal(domain_matcher_finish(m), 0);
	match_is(m, "kw.net", 5, DOMAIN_KEYWORD, 2);
	domain_matcher_free(m);
}

/* The keyword automaton agrees with searching the keywords one by one in order. */
static void test_keyword_automaton(void **state)
{
	static const char alpha[] = "abc.-";
	struct domain_matcher *m = domain_matcher_new(), *naive = domain_matcher_new();
	char words[300][8];
	uint32_t x = 1;

	(void)state;
	for (int i = 0; i < 300; i++) {
		struct domain_rule r = { .kind = DOMAIN_KEYWORD };
		int len;

		x = x * 1103515245u + 12345u;
		len = 1 + (int)((x >> 16) % 6);
		for (int k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			words[i][k] = alpha[(x >> 16) % 5];
		}
		words[i][len] = '\0';
		strcpy(r.text, words[i]);
		assert_int_equal(domain_matcher_add_rule(m, &r, (uint16_t)i, NULL, 0), 0);
		assert_int_equal(domain_matcher_add_rule(naive, &r, (uint16_t)i, NULL, 0), 0);
	}
	assert_int_equal(domain_matcher_finish(m), 0);
	for (int q = 0; q < 20000; q++) {
		char name[40];
		int len, want = -ENOENT;

		x = x * 1103515245u + 12345u;
		len = (int)((x >> 16) % 30);
		for (int k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			name[k] = alpha[(x >> 16) % 5];
		}
		name[len] = '\0';
		for (int i = 0; i < 300 && want < 0; i++)
			if (strstr(name, words[i]))
				want = i;
		assert_int_equal(domain_matcher_lookup(m, name, NULL), want);
		assert_int_equal(domain_matcher_lookup(naive, name, NULL), want);
	}
	domain_matcher_free(m);
	domain_matcher_free(naive);
}

/*
 * Regexps run only when a literal every match needs occurs in the name. That literal must
 * never be wrong: compare with plain regexec over the same expressions in order.
 */
static void test_regexp_literal(void **state)
{
	static const char *const res[] = {
		"ab|cd", "(foo)?bar", "ab*c", "ab+c", "a{0,2}bc", "x{2}y", "[abc]def", "\\.cb$",
		"^(.+\\.)?go+gle\\.com$", "goo?gle", "a.c", "(ab|cd)ef", "[[:alpha:]]+q",
		"q[.]z", "^$", "(a)(b)", "a[]b]c", "a[^]b]c", "e\\.f{1,}", "xy{,2}z",
		"\\<ab", "(^|\\.)cd-?ef$", "[.]", "b\\-c", "A.B", NULL,
	};
	static const char alpha[] = "abcdefgoqxyz.-]";
	struct domain_matcher *m = domain_matcher_new();
	regex_t ref[32];
	size_t n = 0;
	uint32_t x = 7;

	(void)state;
	for (; res[n]; n++) {
		struct domain_rule r = { .kind = DOMAIN_REGEXP };
		char err[128];

		strcpy(r.text, res[n]);
		if (domain_matcher_add_rule(m, &r, (uint16_t)n, err, sizeof(err)))
			fail_msg("%s: %s", res[n], err);
		assert_int_equal(regcomp(&ref[n], res[n], REG_EXTENDED | REG_NOSUB | REG_ICASE), 0);
	}
	for (int q = 0; q < 100000; q++) {
		char name[24];
		int len, want = -ENOENT;

		/* the second half through the literal automaton */
		if (q == 50000)
			assert_int_equal(domain_matcher_finish(m), 0);

		x = x * 1103515245u + 12345u;
		len = (int)((x >> 16) % 20);
		for (int k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			name[k] = alpha[(x >> 16) % 15];
		}
		name[len] = '\0';
		for (size_t i = 0; i < n && want < 0; i++)
			if (!regexec(&ref[i], name, 0, NULL, 0))
				want = (int)i;
		if (domain_matcher_lookup(m, name, NULL) != want)
			fail_msg("\"%s\": got %d, want %d", name,
				 domain_matcher_lookup(m, name, NULL), want);
	}
	for (size_t i = 0; i < n; i++)
		regfree(&ref[i]);
	domain_matcher_free(m);
}

/* RE2's Perl classes, as lists written for v2ray use them, mean what they mean there. */
/* More regexps whose literal occurs than a lookup collects: checked one by one. */
static void test_regexp_many_candidates(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct domain_rule r = { .kind = DOMAIN_REGEXP };

	(void)state;
	for (int i = 0; i < 200; i++) {		/* all with the literal "abcdef" */
		snprintf(r.text, sizeof(r.text), i < 199 ? "abcdef.*x%d$" : "abcdef", i);
		assert_int_equal(domain_matcher_add_rule(m, &r, (uint16_t)i, NULL, 0), 0);
	}
	strcpy(r.text, "^q");			/* no literal */
	assert_int_equal(domain_matcher_add_rule(m, &r, 500, NULL, 0), 0);
	for (int pass = 0; pass < 2; pass++) {
		match_is(m, "abcdef.x150", 150, DOMAIN_REGEXP, 0);
		match_is(m, "abcdef.x1000", 199, DOMAIN_REGEXP, 0);
		match_is(m, "abcdefabcdef.x7", 7, DOMAIN_REGEXP, 0);
		match_is(m, "qabcdef", 199, DOMAIN_REGEXP, 0);
		match_is(m, "qa", 500, DOMAIN_REGEXP, 0);
		match_is(m, "abcde.x1", -1, DOMAIN_REGEXP, 0);
		assert_int_equal(domain_matcher_finish(m), 0);
	}
	domain_matcher_free(m);
}

static void test_regexp_perl_classes(void **state)
{
	static const char *const rules[] = {
		"regexp:^cdn\\d-x\\.com$", "regexp:^[\\d]+\\.y\\.com$", "regexp:^\\w+\\.z\\.com$",
		"regexp:^a[\\.]b\\.com$", "regexp:^\\D\\.w\\.com$", "regexp:^l+?z\\.v$",
		"regexp:^m[0-9]{2,3}?\\.v$", NULL,
	};
	static const uint16_t routes[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct domain_matcher *m = rules_new(rules, routes);

	(void)state;
	match_is(m, "cdn7-x.com", 1, DOMAIN_REGEXP, 0);
	match_is(m, "cdnd-x.com", -1, DOMAIN_REGEXP, 0);
	match_is(m, "123.y.com", 2, DOMAIN_REGEXP, 0);
	match_is(m, "d.y.com", -1, DOMAIN_REGEXP, 0);
	match_is(m, "ab_9.z.com", 3, DOMAIN_REGEXP, 0);
	match_is(m, "a-b.z.com", -1, DOMAIN_REGEXP, 0);
	match_is(m, "a.b.com", 4, DOMAIN_REGEXP, 0);
	match_is(m, "a\\b.com", -1, DOMAIN_REGEXP, 0);
	match_is(m, "q.w.com", 5, DOMAIN_REGEXP, 0);
	match_is(m, "1.w.com", -1, DOMAIN_REGEXP, 0);
	/* lazy repetitions are RE2's; for a yes/no match they are the plain ones */
	match_is(m, "llz.v", 6, DOMAIN_REGEXP, 0);
	match_is(m, "z.v", -1, DOMAIN_REGEXP, 0);
	match_is(m, "m123.v", 7, DOMAIN_REGEXP, 0);
	match_is(m, "m1.v", -1, DOMAIN_REGEXP, 0);
	domain_matcher_free(m);
}

static void test_add_rule_errors(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct domain_rule r = { .kind = DOMAIN_REGEXP };
	char err[128];

	(void)state;
	strcpy(r.text, "a(b");
	assert_int_equal(domain_matcher_add_rule(m, &r, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Unmatched ( or \\(");
	r.text[0] = '\0';
	assert_int_equal(domain_matcher_add_rule(m, &r, 1, err, sizeof(err)), -EINVAL);
	r.kind = DOMAIN_KEYWORD;
	assert_int_equal(domain_matcher_add_rule(m, &r, 1, err, sizeof(err)), -EINVAL);
	r.kind = DOMAIN_FULL;
	strcpy(r.text, "a..b");		/* not normalized: could never match */
	assert_int_equal(domain_matcher_add_rule(m, &r, 1, err, sizeof(err)), -EINVAL);
	r.kind = DOMAIN_KIND_COUNT;
	assert_int_equal(domain_matcher_add_rule(m, &r, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(domain_matcher_count(m), 0);
	assert_string_equal(domain_kind_name(DOMAIN_KIND_COUNT), "?");
	domain_matcher_free(m);
}

/*
 * Names are not stored: 300k rules sharing suffixes and lengths must still never be
 * confused (fingerprints and homes), and distinct rules must stay distinct.
 */
static void test_matcher_no_confusion(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	enum { N = 300000 };
	char n[64];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(n, sizeof(n), "%c%u.x", 'a' + i % 26, i);
		assert_int_equal(domain_matcher_add(m, n, (uint16_t)(i & 0x7fff)), 0);
	}
	assert_int_equal(domain_matcher_count(m), N);
	for (unsigned i = 0; i < N; i++) {
		snprintf(n, sizeof(n), "www.%c%u.x", 'a' + i % 26, i);
		assert_int_equal(domain_matcher_lookup(m, n, NULL), (int)(i & 0x7fff));
		snprintf(n, sizeof(n), "%c%u.x", 'a' + (i + 1) % 26, i);
		assert_int_equal(domain_matcher_lookup(m, n, NULL), -ENOENT);
	}
	domain_matcher_free(m);
}

/* ---- dlist ---- */

static void write_tmp(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, TMPL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int load_text_fmt(const char *text, size_t len, enum dlist_format fmt,
			 struct domain_matcher *m, uint16_t route, struct dlist_stats *st)
{
	char path[sizeof(TMPL)], err[256] = "unset";
	int rc;

	write_tmp(path, text, len);
	rc = dlist_load_format(path, fmt, m, route, st, err, sizeof(err));
	if (rc == 0)
		assert_string_equal(err, "");
	unlink(path);
	return rc;
}

static int load_text(const char *text, size_t len, struct domain_matcher *m, uint16_t route,
		     struct dlist_stats *st)
{
	return load_text_fmt(text, len, DLIST_AUTO, m, route, st);
}

/* Reads the real sample list and checks every name with its own reader. */
static void test_dlist_real_sample(void **state)
{
	const char *path = TEST_DATA "/lists/china-sample.txt";
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	char err[256], line[512], sub[600];
	size_t names = 0;
	FILE *f;

	(void)state;
	assert_int_equal(dlist_load(path, m, 3, &st, err, sizeof(err)), 0);
	assert_int_equal(st.loaded, 2000);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.n_samples, 0);
	assert_int_equal(domain_matcher_count(m), 2000);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || !line[0])
			continue;
		names++;
		expect_route(m, line, 3, strlen(line));
		snprintf(sub, sizeof(sub), "www.%s", line);
		expect_route(m, sub, 3, strlen(line));
	}
	fclose(f);
	assert_int_equal(names, 2000);
	domain_matcher_free(m);
}

static void test_dlist_comments_blank_crlf(void **state)
{
	static const char text[] =
		"\xef\xbb\xbf# a list\n"
		"\n"
		"example.com\n"
		"   \t  \n"
		"Foo.Example.ORG   # trailing comment\r\n"
		"  *.wild.net\r\n"
		"# comment only\r\n"
		"\r\n"
		".dot.io.\n"
		"#example.net\n"
		"last.test";			/* no final newline */
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;

	(void)state;
	assert_int_equal(load_text(text, sizeof(text) - 1, m, 4, &st), 0);
	assert_int_equal(st.loaded, 5);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.n_samples, 0);
	expect_route(m, "www.example.com", 4, 11);
	expect_route(m, "foo.example.org", 4, 15);
	expect_route(m, "example.org", -ENOENT, 0);
	expect_route(m, "a.wild.net", 4, 8);
	expect_route(m, "dot.io", 4, 6);
	expect_route(m, "last.test", 4, 9);
	expect_route(m, "example.net", -ENOENT, 0);
	domain_matcher_free(m);
}

static void test_dlist_bad_lines(void **state)
{
	char text[2048];
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	size_t len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text),
			       "good.one\n"			/* 1 */
			       "bad name.com\n"			/* 2 */
			       "a..b\n"				/* 3 */
			       "# fine\n"			/* 4 */
			       "full:example.org\n"		/* 5 */
			       "0.0.0.0 ads.example\n"		/* 6 */
			       "good.two # ok\n"		/* 7 */
			       "%0300d\n"			/* 8: too long */
			       "good.three\n",			/* 9 */
			       0);
	/* forced: detection would take the "full:" line for a v2fly list */
	assert_int_equal(load_text_fmt(text, len, DLIST_PLAIN, m, 1, &st), 0);
	assert_int_equal(st.format, DLIST_PLAIN);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.skipped, 5);
	assert_int_equal(st.n_samples, DLIST_SAMPLES);
	assert_int_equal(st.samples[0].line, 2);
	assert_int_equal(st.samples[1].line, 3);
	assert_int_equal(st.samples[2].line, 5);
	assert_string_equal(st.samples[0].why, "more than one field: \"bad name.com\"");
	assert_string_equal(st.samples[1].why, "empty label: \"a..b\"");
	assert_string_equal(st.samples[2].why, "invalid character: \"full:example.org\"");
	expect_route(m, "good.one", 1, 8);
	expect_route(m, "good.two", 1, 8);
	expect_route(m, "good.three", 1, 10);
	assert_int_equal(domain_matcher_count(m), 3);
	domain_matcher_free(m);
}

static void test_dlist_long_and_nul_lines(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	size_t len = 0, cap = 100000;
	char *text = malloc(cap);

	(void)state;
	assert_non_null(text);
	memset(text, 'a', 70000);	/* one 70,000-byte line */
	len = 70000;
	text[len++] = '\n';
	memcpy(text + len, "nul\0byte.com\n", 13);
	len += 13;
	memcpy(text + len, "ok.com\n", 7);
	len += 7;
	assert_int_equal(load_text(text, len, m, 2, &st), 0);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.skipped, 2);
	assert_int_equal(st.samples[0].line, 1);
	assert_string_equal(st.samples[0].why,
			    "name longer than 253 bytes: "
			    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
	assert_int_equal(st.samples[1].line, 2);
	assert_string_equal(st.samples[1].why, "NUL byte: \"\"");
	expect_route(m, "ok.com", 2, 6);
	free(text);
	domain_matcher_free(m);
}

/* A second list loaded later overrides the route of names both contain. */
static void test_dlist_two_lists(void **state)
{
	static const char a[] = "shared.com\nonly-a.com\n", b[] = "shared.com\nonly-b.com\n";
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;

	(void)state;
	assert_int_equal(load_text(a, sizeof(a) - 1, m, 1, &st), 0);
	assert_int_equal(load_text(b, sizeof(b) - 1, m, 2, &st), 0);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(domain_matcher_count(m), 3);
	expect_route(m, "x.shared.com", 2, 10);
	expect_route(m, "only-a.com", 1, 10);
	expect_route(m, "only-b.com", 2, 10);
	/* Statistics are optional. */
	assert_int_equal(load_text(a, sizeof(a) - 1, m, 3, NULL), 0);
	expect_route(m, "x.shared.com", 3, 10);
	domain_matcher_free(m);
}

static void test_dlist_empty_file(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;

	(void)state;
	memset(&st, 0x55, sizeof(st));
	assert_int_equal(load_text("", 0, m, 1, &st), 0);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.n_samples, 0);
	assert_int_equal(domain_matcher_count(m), 0);
	domain_matcher_free(m);
}

static void test_dlist_unreadable(void **state)
{
	struct domain_matcher *m = domain_matcher_new();
	struct dlist_stats st;
	char err[256];

	(void)state;
	assert_int_equal(dlist_load("/tmp/nfqr_dlist_does/not/exist", m, 1, &st, err,
				    sizeof(err)), -ENOENT);
	assert_string_equal(err, "/tmp/nfqr_dlist_does/not/exist: No such file or directory");
	assert_int_equal(dlist_load("/tmp", m, 1, &st, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/tmp: Is a directory");
	assert_int_equal(domain_matcher_count(m), 0);
	domain_matcher_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_accepts),
		cmocka_unit_test(test_normalize_rejects),
		cmocka_unit_test(test_normalize_lengths),
		cmocka_unit_test(test_matcher_empty),
		cmocka_unit_test(test_matcher_exact_and_sub),
		cmocka_unit_test(test_matcher_longest_wins),
		cmocka_unit_test(test_matcher_later_add_wins),
		cmocka_unit_test(test_matcher_add_invalid),
		cmocka_unit_test(test_matcher_normalized_input),
		cmocka_unit_test(test_matcher_odd_queries),
		cmocka_unit_test(test_matcher_100k),
		cmocka_unit_test(test_rule_parse),
		cmocka_unit_test(test_regexp_check),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_full_and_suffix),
		cmocka_unit_test(test_keyword_automaton),
		cmocka_unit_test(test_regexp_literal),
		cmocka_unit_test(test_regexp_many_candidates),
		cmocka_unit_test(test_regexp_perl_classes),
		cmocka_unit_test(test_add_rule_errors),
		cmocka_unit_test(test_matcher_no_confusion),
		cmocka_unit_test(test_dlist_real_sample),
		cmocka_unit_test(test_dlist_comments_blank_crlf),
		cmocka_unit_test(test_dlist_bad_lines),
		cmocka_unit_test(test_dlist_long_and_nul_lines),
		cmocka_unit_test(test_dlist_two_lists),
		cmocka_unit_test(test_dlist_empty_file),
		cmocka_unit_test(test_dlist_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
