/* Unit tests for src/domain.c (normalizing, suffix matching) and src/dlist.c (list files). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

static int load_text(const char *text, size_t len, struct domain_matcher *m, uint16_t route,
		     struct dlist_stats *st)
{
	char path[sizeof(TMPL)], err[256] = "unset";
	int rc;

	write_tmp(path, text, len);
	rc = dlist_load(path, m, route, st, err, sizeof(err));
	if (rc == 0)
		assert_string_equal(err, "");
	unlink(path);
	return rc;
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
	assert_int_equal(load_text(text, len, m, 1, &st), 0);
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
