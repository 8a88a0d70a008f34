/* Longest-prefix flattening into disjoint ranges for kernel interval maps. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "netset.h"

static struct netset_prefix pfx(const char *text, int route)
{
	struct netset_prefix p = { .route = route };
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	*slash = '\0';
	p.p.addr.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.p.addr.family, buf, p.p.addr.a), 1);
	p.p.len = (uint8_t)atoi(slash + 1);
	netset_prefix_mask(&p.p);
	return p;
}

static void range_str(const struct netset_range *r, int family, char *out, size_t size)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];

	inet_ntop(family, r->lo, lo, sizeof(lo));
	inet_ntop(family, r->hi, hi, sizeof(hi));
	snprintf(out, size, "%s-%s:%d", lo, hi, r->route);
}

static void expect(struct netset_prefix *in, size_t n, int family, const char *const *want,
		   size_t n_want)
{
	struct netset_range *r;
	size_t a, b;
	int got = netset_flatten(in, n, (uint8_t)family, &r, &a, &b);
	char buf[128];

	assert_int_equal(got, (int)n_want);
	for (size_t i = 0; i < n_want; i++) {
		range_str(&r[i], family, buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
	free(r);
}

static void test_nested_longest_wins(void **state)
{
	struct netset_prefix in[] = { pfx("10.1.2.0/24", 1), pfx("10.0.0.0/8", 0),
				      pfx("10.1.2.128/25", 0) };
	const char *const want[] = { "10.0.0.0-10.1.1.255:0", "10.1.2.0-10.1.2.127:1",
				     "10.1.2.128-10.255.255.255:0" };

	(void)state;
	expect(in, 3, AF_INET, want, 3);
}

static void test_disjoint_and_adjacent_merge(void **state)
{
	struct netset_prefix in[] = { pfx("192.0.2.0/25", 2), pfx("192.0.2.128/25", 2),
				      pfx("198.51.100.0/24", 3) };
	const char *const want[] = { "192.0.2.0-192.0.2.255:2", "198.51.100.0-198.51.100.255:3" };

	(void)state;
	expect(in, 3, AF_INET, want, 2);
}

static void test_whole_space_and_host(void **state)
{
	struct netset_prefix in[] = { pfx("0.0.0.0/0", 0), pfx("255.255.255.255/32", 1) };
	const char *const want[] = { "0.0.0.0-255.255.255.254:0", "255.255.255.255-255.255.255.255:1" };

	(void)state;
	expect(in, 2, AF_INET, want, 2);
}

static void test_ipv6(void **state)
{
	struct netset_prefix in[] = { pfx("2001:db8::/32", 0), pfx("2001:db8:1::/48", 1) };
	const char *const want[] = { "2001:db8::-2001:db8:0:ffff:ffff:ffff:ffff:ffff:0",
				     "2001:db8:1::-2001:db8:1:ffff:ffff:ffff:ffff:ffff:1",
				     "2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff:0" };

	(void)state;
	expect(in, 2, AF_INET6, want, 3);
}

static void test_duplicates(void **state)
{
	struct netset_prefix same[] = { pfx("10.0.0.0/8", 1), pfx("10.0.0.1/8", 1) };
	struct netset_prefix clash[] = { pfx("10.0.0.0/8", 1), pfx("10.0.0.0/8", 2) };
	const char *const want[] = { "10.0.0.0-10.255.255.255:1" };
	struct netset_range *r;
	size_t a = 9, b = 9;

	(void)state;
	expect(same, 2, AF_INET, want, 1);	/* host bits cleared: the same prefix twice */
	assert_int_equal(netset_flatten(clash, 2, AF_INET, &r, &a, &b), -EEXIST);
	assert_int_not_equal(clash[a].route, clash[b].route);
}

/* Brute force against a random set: every probed address gets the longest prefix. */
static void test_random_against_brute_force(void **state)
{
	enum { N = 300 };
	struct netset_prefix in[N], orig[N];
	struct netset_range *r;
	size_t a, b, n = 0;
	int got;

	(void)state;
	srand(7);
	for (size_t i = 0; i < N; i++) {
		struct netset_prefix p = { .route = rand() % 4 };

		p.p.addr.family = AF_INET;
		p.p.addr.a[0] = 10;
		p.p.addr.a[1] = (uint8_t)(rand() % 4);
		p.p.addr.a[2] = (uint8_t)rand();
		p.p.len = (uint8_t)(8 + rand() % 17);
		netset_prefix_mask(&p.p);
		in[n] = p;
		/* skip exact duplicates with another route: that is a config error */
		bool clash = false;
		for (size_t k = 0; k < n; k++)
			if (!memcmp(orig[k].p.addr.a, p.p.addr.a, 4) && orig[k].p.len == p.p.len)
				clash = true;
		if (!clash)
			orig[n++] = p;
	}
	memcpy(in, orig, n * sizeof(*in));
	got = netset_flatten(in, n, AF_INET, &r, &a, &b);
	assert_true(got > 0);
	for (uint32_t probe = 0x0a000000; probe < 0x0a040000; probe += 61) {
		uint8_t ad[4] = { probe >> 24, probe >> 16, probe >> 8, probe };
		int want = -1, best = -1, have = -1;

		for (size_t k = 0; k < n; k++) {
			uint32_t base = (uint32_t)orig[k].p.addr.a[0] << 24 |
					(uint32_t)orig[k].p.addr.a[1] << 16 |
					(uint32_t)orig[k].p.addr.a[2] << 8 | orig[k].p.addr.a[3];
			uint32_t mask = orig[k].p.len ? ~0u << (32 - orig[k].p.len) : 0;

			if ((probe & mask) == base && (int)orig[k].p.len > best) {
				best = orig[k].p.len;
				want = orig[k].route;
			}
		}
		for (int k = 0; k < got; k++)
			if (memcmp(r[k].lo, ad, 4) <= 0 && memcmp(ad, r[k].hi, 4) <= 0)
				have = r[k].route;
		assert_int_equal(have, want);
	}
	for (int k = 1; k < got; k++)
		assert_true(memcmp(r[k - 1].hi, r[k].lo, 4) < 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_longest_wins),
		cmocka_unit_test(test_disjoint_and_adjacent_merge),
		cmocka_unit_test(test_whole_space_and_host),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_random_against_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
