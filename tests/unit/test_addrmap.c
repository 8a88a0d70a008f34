/* Unit tests for src/addrmap.c: the learned address table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addrmap.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define FAR 1000000000ULL	/* an expiry that never passes in these tests */

static struct pkt_addr v4(uint32_t x)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	a.a[0] = (uint8_t)(x >> 24);
	a.a[1] = (uint8_t)(x >> 16);
	a.a[2] = (uint8_t)(x >> 8);
	a.a[3] = (uint8_t)x;
	return a;
}

static struct pkt_addr v6(uint64_t hi, uint64_t lo)
{
	struct pkt_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	for (int i = 0; i < 8; i++) {
		a.a[i] = (uint8_t)(hi >> (56 - 8 * i));
		a.a[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	return a;
}

static void expect_entry(const struct addrmap *m, const struct pkt_addr *a, uint64_t now,
			 const char *name, uint16_t route, uint64_t expires)
{
	struct addrmap_entry e;

	if (addrmap_lookup(m, a, now, &e) != 0)
		fail_msg("address %u.%u.%u.%u... (%s) not found", a->a[0], a->a[1], a->a[2],
			 a->a[3], name);
	assert_string_equal(e.name, name);
	assert_int_equal(e.route, route);
	assert_int_equal(e.expires_ms, expires);
}

static void expect_absent(const struct addrmap *m, const struct pkt_addr *a, uint64_t now)
{
	struct addrmap_entry e;

	assert_int_equal(addrmap_lookup(m, a, now, &e), -ENOENT);
}

static void test_new_free(void **state)
{
	struct addrmap *m;

	(void)state;
	assert_null(addrmap_new(0));
	m = addrmap_new(1);
	assert_non_null(m);
	assert_int_equal(addrmap_count(m), 0);
	assert_int_equal(addrmap_name_count(m), 0);
	addrmap_free(m);
	addrmap_free(NULL);
}

static void test_v4_v6(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(0xc0000201), b = v6(0x20010db800000000ULL, 1), c, d;

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "www.example.com", 1, 5000), 0);
	assert_int_equal(addrmap_insert(m, &b, "v6.example.com", 2, 6000), 0);
	assert_int_equal(addrmap_count(m), 2);
	expect_entry(m, &a, 0, "www.example.com", 1, 5000);
	expect_entry(m, &b, 4999, "v6.example.com", 2, 6000);

	/* IPv4 ignores the unused 12 bytes of pkt_addr. */
	c = a;
	memset(c.a + 4, 0xee, 12);
	expect_entry(m, &c, 0, "www.example.com", 1, 5000);

	/* Same leading bytes in the other family is another address. */
	d = a;
	d.family = AF_INET6;
	expect_absent(m, &d, 0);
	d = b;
	d.family = AF_INET;
	expect_absent(m, &d, 0);
	d = b;
	d.a[15] ^= 1;
	expect_absent(m, &d, 0);
	expect_absent(m, &(struct pkt_addr){ .family = AF_INET }, 0);
	addrmap_free(m);
}

static void test_invalid(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(1), bad = a;
	char name[300];

	(void)state;
	bad.family = AF_UNIX;
	assert_int_equal(addrmap_insert(m, &bad, "x.com", 1, FAR), -EINVAL);
	expect_absent(m, &bad, 0);
	assert_int_equal(addrmap_insert(m, &a, NULL, 1, FAR), -EINVAL);
	memset(name, 'a', 254);
	name[254] = '\0';
	assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), -EINVAL);
	assert_int_equal(addrmap_count(m), 0);
	name[253] = '\0';
	assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), 0);
	expect_entry(m, &a, 0, name, 1, FAR);
	assert_int_equal(addrmap_insert(m, &(struct pkt_addr){ .family = AF_INET }, "", 1, FAR),
			 0);
	expect_entry(m, &(struct pkt_addr){ .family = AF_INET }, 0, "", 1, FAR);
	addrmap_free(m);
}

static void test_expiry(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(0x0a000001);

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "a.com", 3, 1000), 0);
	expect_entry(m, &a, 999, "a.com", 3, 1000);
	expect_entry(m, &a, 1000, "a.com", 3, 1000);	/* expiry not before now */
	expect_absent(m, &a, 1001);
	assert_int_equal(addrmap_count(m), 1);		/* kept until reused */
	/* A refresh revives it. */
	assert_int_equal(addrmap_insert(m, &a, "a.com", 3, 61000), 0);
	expect_entry(m, &a, 1001, "a.com", 3, 61000);
	assert_int_equal(addrmap_count(m), 1);
	addrmap_free(m);
}

/* Expiries are stored relative to a base that moves: large times stay exact. */
static void test_expiry_far_apart(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(1), b = v4(2), c = v4(3);
	uint64_t t1 = (1ULL << 32) - 100, t2 = (1ULL << 32) + (1ULL << 30);
	uint64_t t3 = 400ULL * 86400 * 1000;	/* 400 days of uptime */

	(void)state;
	assert_int_equal(addrmap_insert(m, &c, "old.com", 1, 5000), 0);
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, t1), 0);
	assert_int_equal(addrmap_insert(m, &b, "b.com", 2, t2), 0);	/* moves the base */
	expect_entry(m, &a, t1 - 1, "a.com", 1, t1);
	expect_entry(m, &b, t1, "b.com", 2, t2);
	expect_absent(m, &c, 0);	/* older than the base: expired whatever now says */
	assert_int_equal(addrmap_insert(m, &c, "c.com", 3, t3), 0);
	expect_entry(m, &c, t3 - 60000, "c.com", 3, t3);
	expect_absent(m, &a, 0);
	expect_absent(m, &b, 0);
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, t3 + 1), 0);
	expect_entry(m, &a, t3, "a.com", 1, t3 + 1);
	addrmap_free(m);
}

static void test_replace(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(0x01020304), b = v4(0x01020305);

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "first.com", 1, 1000), 0);
	assert_int_equal(addrmap_insert(m, &b, "first.com", 1, 1000), 0);
	assert_int_equal(addrmap_name_count(m), 1);
	/* Same name: route and expiry are refreshed. */
	assert_int_equal(addrmap_insert(m, &a, "first.com", 2, 2000), 0);
	expect_entry(m, &a, 0, "first.com", 2, 2000);
	/* Another name: the most recent answer wins and the old name keeps its user. */
	assert_int_equal(addrmap_insert(m, &a, "second.com", 3, 3000), 0);
	expect_entry(m, &a, 0, "second.com", 3, 3000);
	expect_entry(m, &b, 0, "first.com", 1, 1000);
	assert_int_equal(addrmap_count(m), 2);
	assert_int_equal(addrmap_name_count(m), 2);
	/* Its last user gone, the old name goes too. */
	assert_int_equal(addrmap_insert(m, &b, "second.com", 3, 3000), 0);
	assert_int_equal(addrmap_name_count(m), 1);
	addrmap_free(m);
}

static void test_names_shared(void **state)
{
	struct addrmap *m = addrmap_new(64);
	struct addrmap_entry e1, e2;
	struct pkt_addr a = v4(1), b = v4(2), c = v6(1, 2);

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "cdn.example.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &b, "cdn.example.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &c, "cdn.example.com", 1, FAR), 0);
	assert_int_equal(addrmap_count(m), 3);
	assert_int_equal(addrmap_name_count(m), 1);
	assert_int_equal(addrmap_lookup(m, &a, 0, &e1), 0);
	assert_int_equal(addrmap_lookup(m, &c, 0, &e2), 0);
	assert_ptr_equal(e1.name, e2.name);
	addrmap_clear(m, 1);
	assert_int_equal(addrmap_count(m), 0);
	assert_int_equal(addrmap_name_count(m), 0);
	addrmap_free(m);
}

static void fill4(struct addrmap *m, uint64_t exp[4])
{
	static const char *const names[] = { "a.com", "b.com", "c.com", "d.com" };

	for (uint32_t i = 0; i < 4; i++) {
		struct pkt_addr a = v4(100 + i);

		assert_int_equal(addrmap_insert(m, &a, names[i], 1, exp[i]), 0);
	}
	assert_int_equal(addrmap_count(m), 4);
}

static void test_evict_expired_first(void **state)
{
	struct addrmap *m = addrmap_new(4);
	uint64_t exp[4] = { FAR, 500, FAR, 700 };
	struct pkt_addr a = v4(100), b = v4(101), c = v4(102), d = v4(103);
	struct pkt_addr e = v4(200), f = v4(201), g = v4(202);

	(void)state;
	fill4(m, exp);
	addrmap_set_now(m, 1000);	/* b and d have expired */
	assert_int_equal(addrmap_insert(m, &e, "e.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &f, "f.com", 1, FAR), 0);
	assert_int_equal(addrmap_count(m), 4);
	expect_entry(m, &a, 1000, "a.com", 1, FAR);
	expect_entry(m, &c, 1000, "c.com", 1, FAR);
	expect_entry(m, &e, 1000, "e.com", 1, FAR);
	expect_entry(m, &f, 1000, "f.com", 1, FAR);
	expect_absent(m, &b, 0);
	expect_absent(m, &d, 0);
	/* Nothing expired any more: the least recently refreshed (a) goes next. */
	assert_int_equal(addrmap_insert(m, &g, "g.com", 1, FAR), 0);
	expect_absent(m, &a, 0);
	expect_entry(m, &c, 1000, "c.com", 1, FAR);
	assert_int_equal(addrmap_name_count(m), 4);
	addrmap_free(m);
}

static void test_evict_oldest(void **state)
{
	struct addrmap *m = addrmap_new(4);
	uint64_t exp[4] = { FAR, FAR, FAR, FAR };
	struct pkt_addr a = v4(100), b = v4(101), c = v4(102), d = v4(103);
	struct pkt_addr e = v4(200), f = v4(201);

	(void)state;
	fill4(m, exp);
	/* Refreshing a makes b the least recently refreshed. */
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &e, "e.com", 1, FAR), 0);
	expect_absent(m, &b, 0);
	assert_int_equal(addrmap_insert(m, &f, "f.com", 1, FAR), 0);
	expect_absent(m, &c, 0);
	expect_entry(m, &a, 0, "a.com", 1, FAR);
	expect_entry(m, &d, 0, "d.com", 1, FAR);
	expect_entry(m, &e, 0, "e.com", 1, FAR);
	expect_entry(m, &f, 0, "f.com", 1, FAR);
	assert_int_equal(addrmap_count(m), 4);
	assert_int_equal(addrmap_name_count(m), 4);
	addrmap_free(m);
}

/* Evicting an address releases its name: a tiny table takes endless distinct names. */
static void test_evict_frees_names(void **state)
{
	struct addrmap *m = addrmap_new(4);
	char name[256];

	(void)state;
	for (uint32_t i = 0; i < 100000; i++) {
		struct pkt_addr a = v4(i);

		snprintf(name, sizeof(name), "%0200u.example.com", i);
		assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), 0);
		assert_true(addrmap_count(m) <= 4);
		assert_int_equal(addrmap_name_count(m), addrmap_count(m));
	}
	assert_int_equal(addrmap_count(m), 4);
	for (uint32_t i = 100000 - 4; i < 100000; i++) {
		struct pkt_addr a = v4(i);

		snprintf(name, sizeof(name), "%0200u.example.com", i);
		expect_entry(m, &a, 0, name, 1, FAR);
	}
	addrmap_free(m);
}

/*
 * Long names overflow the name pool (48 bytes per entry) long before the table is full:
 * older entries must make room, and the pool must recover (free lists, splitting,
 * compaction) when names get short again.
 */
static void test_name_pool_pressure(void **state)
{
	enum { CAP = 1024, ROUNDS = 20000 };
	struct addrmap *m = addrmap_new(CAP);
	static char names[CAP * 4][256];	/* name of address i % (4 * CAP) */
	char name[256];
	uint32_t seed = 12345;

	(void)state;
	for (uint32_t i = 0; i < ROUNDS; i++) {
		struct pkt_addr a = v4(i);
		size_t len;

		seed = seed * 1103515245 + 12345;
		/* Phases: all 253 bytes, then random lengths, then short. */
		if (i < ROUNDS / 4)
			len = 253;
		else if (i < ROUNDS * 3 / 4)
			len = 1 + (seed >> 16) % 253;
		else
			len = 1 + (seed >> 16) % 20;
		/* "<i>-" then filler: unique unless the length cuts the number off. */
		snprintf(name, sizeof(name), "%u-%0240u", i, 0);
		memset(name + strlen(name), 'z', sizeof(name) - 1 - strlen(name));
		name[len] = '\0';
		strcpy(names[i % (CAP * 4)], name);
		assert_int_equal(addrmap_insert(m, &a, name, (uint16_t)(i % 3), FAR), 0);
		expect_entry(m, &a, 0, name, (uint16_t)(i % 3), FAR);
		assert_true(addrmap_count(m) <= CAP);
		assert_true(addrmap_name_count(m) <= addrmap_count(m));
	}
	/* In the short-name phase, everything fits again. */
	assert_int_equal(addrmap_count(m), CAP);
	for (uint32_t i = 0; i < ROUNDS; i++) {
		struct pkt_addr a = v4(i);
		struct addrmap_entry e;

		if (addrmap_lookup(m, &a, 0, &e) == 0) {
			assert_true(i >= ROUNDS - CAP * 4);
			assert_string_equal(e.name, names[i % (CAP * 4)]);
		}
	}
	addrmap_free(m);
}

static int route_by_name(const char *name, void *ctx)
{
	size_t len = strlen(name);

	(*(int *)ctx)++;
	if (len > 3 && !strcmp(name + len - 3, ".cn"))
		return 7;
	if (len > 5 && !strcmp(name + len - 5, ".drop"))
		return -1;
	if (len > 4 && !strcmp(name + len - 4, ".big"))
		return 70000;	/* not a route: dropped */
	return 0;
}

static void test_reroute(void **state)
{
	struct addrmap *m = addrmap_new(64);
	struct pkt_addr a = v4(1), b = v4(2), c = v4(3), d = v6(9, 9), e = v4(5);
	int calls = 0;

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "x.cn", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &b, "y.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &c, "z.drop", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &d, "z.drop", 2, FAR), 0);
	assert_int_equal(addrmap_insert(m, &e, "w.big", 2, FAR), 0);
	addrmap_reroute(m, route_by_name, &calls);
	assert_int_equal(calls, 5);
	expect_entry(m, &a, 0, "x.cn", 7, FAR);
	expect_entry(m, &b, 0, "y.com", 0, FAR);
	expect_absent(m, &c, 0);
	expect_absent(m, &d, 0);
	expect_absent(m, &e, 0);
	assert_int_equal(addrmap_count(m), 2);
	assert_int_equal(addrmap_name_count(m), 2);
	/* Freed entries are reused. */
	assert_int_equal(addrmap_insert(m, &c, "z.cn", 7, FAR), 0);
	expect_entry(m, &c, 0, "z.cn", 7, FAR);
	assert_int_equal(addrmap_count(m), 3);
	addrmap_free(m);
}

static void test_clear(void **state)
{
	struct addrmap *m = addrmap_new(64);
	struct pkt_addr a = v4(1), b = v4(2), c = v6(3, 3);

	(void)state;
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, FAR), 0);
	assert_int_equal(addrmap_insert(m, &b, "b.com", 2, FAR), 0);
	assert_int_equal(addrmap_insert(m, &c, "a.com", 1, FAR), 0);
	addrmap_clear(m, 1);
	expect_absent(m, &a, 0);
	expect_absent(m, &c, 0);
	expect_entry(m, &b, 0, "b.com", 2, FAR);
	assert_int_equal(addrmap_count(m), 1);
	assert_int_equal(addrmap_name_count(m), 1);
	addrmap_clear(m, 9);
	assert_int_equal(addrmap_count(m), 1);
	addrmap_clear(m, UINT16_MAX);
	assert_int_equal(addrmap_count(m), 0);
	assert_int_equal(addrmap_name_count(m), 0);
	expect_absent(m, &b, 0);
	assert_int_equal(addrmap_insert(m, &a, "again.com", 4, FAR), 0);
	expect_entry(m, &a, 0, "again.com", 4, FAR);
	addrmap_free(m);
}

/* ---- stress against a model ---- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Unique addresses: an odd multiplier is a bijection on 64 bits. */
static struct pkt_addr addr_of(uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;

	return i % 3 ? v4((uint32_t)(x >> 32) ^ (uint32_t)x) : v6(x, ~x);
}

static void name_of(uint64_t k, char *buf, size_t size)
{
	snprintf(buf, size, "host%llu.name%llu.example", (unsigned long long)(k % 1000),
		 (unsigned long long)(k % 7));
}

/*
 * Phase 1: 10x capacity unique addresses, no refreshes: eviction is exactly FIFO, so
 * the last `capacity` inserted are present and nothing older is.
 */
static void test_stress_fifo(void **state)
{
	enum { CAP = 4096, N = CAP * 10 };
	struct addrmap *m = addrmap_new(CAP);
	char name[64];

	(void)state;
	for (uint64_t i = 0; i < N; i++) {
		struct pkt_addr a = addr_of(i);

		name_of(rng() % 1000, name, sizeof(name));
		assert_int_equal(addrmap_insert(m, &a, name, (uint16_t)(i & 0xff), FAR + i), 0);
	}
	assert_int_equal(addrmap_count(m), CAP);
	assert_true(addrmap_name_count(m) <= 1000);
	for (uint64_t i = 0; i < N; i++) {
		struct pkt_addr a = addr_of(i);
		struct addrmap_entry e;
		int rc = addrmap_lookup(m, &a, 0, &e);

		if (i >= N - CAP) {
			assert_int_equal(rc, 0);
			assert_int_equal(e.route, i & 0xff);
			assert_int_equal(e.expires_ms, FAR + i);
		} else {
			assert_int_equal(rc, -ENOENT);
		}
	}
	addrmap_free(m);
}

struct model {
	uint64_t key;		/* the name's number */
	uint64_t touched;	/* operation number of the last insert, 0 = never */
	uint16_t route;
	uint64_t expires;
};

/*
 * Phase 2: a pool of 4x capacity addresses with refreshes, name changes, clears and
 * expiries. Every present address must carry its latest values; the table stays full;
 * without expiries the capacity/2 most recently touched addresses are all present (the
 * clock would need 8 recent entries in one window to drop one of them; fixed seed).
 */
static void test_stress_model(void **state)
{
	enum { CAP = 2048, POOL = CAP * 4, OPS = CAP * 10 };
	struct addrmap *m = addrmap_new(CAP);
	struct model *mod = calloc(POOL, sizeof(*mod));
	uint64_t *order = calloc(OPS + 1, sizeof(*order));
	char name[64];

	(void)state;
	assert_non_null(mod);
	assert_non_null(order);
	for (uint64_t op = 1; op <= OPS; op++) {
		uint64_t r = rng(), i = r % POOL;
		struct pkt_addr a = addr_of(i);

		mod[i].key = (r >> 20) % 3000;
		mod[i].route = (uint16_t)((r >> 40) % 4);
		mod[i].expires = FAR + op;
		mod[i].touched = op;
		order[op] = i;
		name_of(mod[i].key, name, sizeof(name));
		assert_int_equal(addrmap_insert(m, &a, name, mod[i].route, mod[i].expires), 0);
	}
	assert_int_equal(addrmap_count(m), CAP);
	/* Every present address holds its latest values. */
	for (uint64_t i = 0; i < POOL; i++) {
		struct pkt_addr a = addr_of(i);
		struct addrmap_entry e;

		if (addrmap_lookup(m, &a, 0, &e))
			continue;
		assert_true(mod[i].touched > 0);
		name_of(mod[i].key, name, sizeof(name));
		assert_string_equal(e.name, name);
		assert_int_equal(e.route, mod[i].route);
		assert_int_equal(e.expires_ms, mod[i].expires);
	}
	/* The most recently touched capacity/2 addresses are there. */
	{
		size_t distinct = 0;

		for (uint64_t op = OPS; op > 0 && distinct < CAP / 2; op--) {
			uint64_t i = order[op];
			struct pkt_addr a = addr_of(i);
			struct addrmap_entry e;

			if (mod[i].touched != op)
				continue;	/* counted at its later touch */
			distinct++;
			assert_int_equal(addrmap_lookup(m, &a, 0, &e), 0);
		}
		assert_int_equal(distinct, CAP / 2);
	}
	/* Expiry: half the entries expire; new inserts reuse only expired ones. */
	{
		size_t live = 0, kept = 0;

		addrmap_clear(m, UINT16_MAX);
		memset(mod, 0, POOL * sizeof(*mod));
		for (uint64_t i = 0; i < CAP; i++) {
			struct pkt_addr a = addr_of(i);

			mod[i].expires = i % 2 ? 5000 : FAR;
			mod[i].touched = 1;
			assert_int_equal(addrmap_insert(m, &a, "x.example", 0, mod[i].expires), 0);
		}
		addrmap_set_now(m, 6000);
		for (uint64_t i = CAP; i < CAP + CAP / 2; i++) {
			struct pkt_addr a = addr_of(i);

			assert_int_equal(addrmap_insert(m, &a, "y.example", 1, FAR), 0);
		}
		for (uint64_t i = 0; i < CAP; i++) {
			struct pkt_addr a = addr_of(i);
			struct addrmap_entry e;

			if (addrmap_lookup(m, &a, 6000, &e) == 0) {
				assert_int_equal(e.expires_ms, FAR);
				live++;
			}
			if (addrmap_lookup(m, &a, 0, &e) == 0)
				kept++;
		}
		assert_int_equal(live, CAP / 2);	/* no live entry was evicted */
		assert_int_equal(kept, CAP / 2);	/* every expired one was reused */
		assert_int_equal(addrmap_count(m), CAP);
		assert_int_equal(addrmap_name_count(m), 2);
	}
	free(order);
	free(mod);
	addrmap_free(m);
}

/* Clears and reroutes in the middle of churn keep the table consistent. */
static int drop_odd_name(const char *name, void *ctx)
{
	(void)ctx;
	return strstr(name, "name1.") || strstr(name, "name3.") ? -1 : 5;
}

static void test_stress_churn(void **state)
{
	enum { CAP = 1000, OPS = 200000 };
	struct addrmap *m = addrmap_new(CAP);
	char name[64];

	(void)state;
	for (uint64_t op = 0; op < OPS; op++) {
		uint64_t r = rng();
		struct pkt_addr a = addr_of(r % (CAP * 3));
		struct addrmap_entry e;

		name_of(r >> 32, name, sizeof(name));
		assert_int_equal(addrmap_insert(m, &a, name, (uint16_t)(r >> 60), FAR), 0);
		assert_int_equal(addrmap_lookup(m, &a, 0, &e), 0);
		assert_string_equal(e.name, name);
		if (op % 10007 == 0)
			addrmap_clear(m, (uint16_t)(op % 16));
		if (op % 30011 == 0) {
			addrmap_reroute(m, drop_odd_name, NULL);
			assert_true(addrmap_count(m) <= CAP);
		}
		assert_true(addrmap_count(m) <= CAP);
		assert_true(addrmap_name_count(m) <= addrmap_count(m));
	}
	/* Every address found is found with the name it was last inserted under. */
	addrmap_reroute(m, drop_odd_name, NULL);
	for (uint64_t i = 0; i < CAP * 3; i++) {
		struct pkt_addr a = addr_of(i);
		struct addrmap_entry e;

		if (addrmap_lookup(m, &a, 0, &e) == 0) {
			assert_int_equal(e.route, 5);
			assert_null(strstr(e.name, "name1."));
		}
	}
	addrmap_free(m);
}

/*
 * Random inserts, uses and time with a grace period, against a model: whatever is found
 * carries its latest values and lies within expiry + grace, with the grace flag right;
 * without eviction (phase 1, fewer addresses than room) everything within expiry + grace
 * is found; foreach visits exactly what lookups find.
 */
struct gmodel {
	bool set;
	uint64_t key, expires;
	uint16_t route;
};

static int count_fn(void *ctx, const struct pkt_addr *addr, const struct addrmap_entry *e)
{
	(void)addr;
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

static void check_against(const struct addrmap *m, const struct gmodel *mod, size_t pool,
			  uint64_t now, uint64_t grace, bool exact)
{
	size_t found = 0, visited = 0;
	char name[64];

	for (uint64_t i = 0; i < pool; i++) {
		struct pkt_addr a = addr_of(i);
		struct addrmap_entry e;

		if (addrmap_lookup(m, &a, now, &e) != 0) {
			if (exact && mod[i].set)
				assert_true(mod[i].expires + grace < now);
			continue;
		}
		found++;
		assert_true(mod[i].set);
		name_of(mod[i].key, name, sizeof(name));
		assert_string_equal(e.name, name);
		assert_int_equal(e.route, mod[i].route);
		assert_int_equal(e.expires_ms, mod[i].expires);
		assert_true(now <= e.expires_ms + grace);
		assert_int_equal(e.grace, e.expires_ms < now);
	}
	assert_int_equal(addrmap_foreach(m, now, count_fn, &visited), 0);
	assert_int_equal(visited, found);
}

static void test_stress_grace(void **state)
{
	enum { CAP = 512, OPS = 40000, GRACE = 3000 };
	struct addrmap *m = addrmap_new(CAP);
	struct gmodel *mod = calloc(CAP * 4, sizeof(*mod));
	uint64_t now = 1000000;
	char name[64];

	(void)state;
	assert_non_null(mod);
	assert_int_equal(addrmap_set_grace(m, GRACE), 0);
	for (int phase = 0; phase < 2; phase++) {
		size_t pool = phase ? CAP * 4 : CAP / 2;

		for (uint64_t op = 0; op < OPS; op++) {
			uint64_t r = rng(), i = r % pool;
			struct pkt_addr a = addr_of(i);

			now += (r >> 16) % 50;
			addrmap_set_now(m, now);
			if ((r >> 32) % 4 == 0) {
				int ret = addrmap_touch(m, &a, now);
				bool gone = mod[i].expires + GRACE < now;

				assert_true(ret == 0 || ret == -ENOENT);
				if (!phase && mod[i].set)
					assert_int_equal(ret, gone ? -ENOENT : 0);
				continue;
			}
			mod[i].set = true;
			mod[i].key = (r >> 40) % 300;
			mod[i].route = (uint16_t)((r >> 50) % 8);
			mod[i].expires = now + (r >> 20) % 6000;
			name_of(mod[i].key, name, sizeof(name));
			assert_int_equal(addrmap_insert(m, &a, name, mod[i].route, mod[i].expires),
					 0);
			assert_true(addrmap_count(m) <= CAP);
			if (op % 4000 == 0)
				check_against(m, mod, pool, now, GRACE, phase == 0);
		}
		check_against(m, mod, pool, now, GRACE, phase == 0);
		check_against(m, mod, pool, now + GRACE + 6000, GRACE, phase == 0);
	}
	free(mod);
	addrmap_free(m);
}

/* ---- grace, use, iteration, sizing ---- */

static void expect_grace(const struct addrmap *m, const struct pkt_addr *a, uint64_t now,
			 bool grace)
{
	struct addrmap_entry e;

	assert_int_equal(addrmap_lookup(m, a, now, &e), 0);
	assert_int_equal(e.grace, grace);
}

static void test_grace(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(1), b = v6(2, 2);

	(void)state;
	assert_int_equal(addrmap_grace(m), 0);
	assert_int_equal(addrmap_set_grace(m, ADDRMAP_GRACE_MAX_MS + 1), -EINVAL);
	assert_int_equal(addrmap_set_grace(m, 1000), 0);
	assert_int_equal(addrmap_grace(m), 1000);
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, 1000), 0);
	assert_int_equal(addrmap_insert(m, &b, "a.com", 1, 1000), 0);
	expect_grace(m, &a, 1000, false);
	expect_grace(m, &a, 1001, true);
	expect_entry(m, &a, 2000, "a.com", 1, 1000);	/* expires_ms stays the DNS expiry */
	expect_grace(m, &a, 2000, true);
	expect_absent(m, &a, 2001);
	assert_int_equal(addrmap_touch(m, &a, 2001), -ENOENT);
	/* A refresh that still contains a extends it; b, no longer announced, runs out. */
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, 5000), 0);
	expect_grace(m, &a, 2001, false);
	expect_grace(m, &b, 1500, true);
	expect_absent(m, &b, 2001);
	/* Shortening the grace applies to stored entries. */
	assert_int_equal(addrmap_set_grace(m, 0), 0);
	expect_absent(m, &b, 1001);
	addrmap_free(m);
}

/* When full: gone entries go first, then those in their grace period, then live ones. */
static void test_grace_eviction_order(void **state)
{
	struct addrmap *m = addrmap_new(4);
	uint64_t exp[4] = { FAR, 1100, 100, FAR };	/* a live, b in grace, c gone, d live */
	struct pkt_addr a = v4(100), b = v4(101), c = v4(102), d = v4(103);
	struct pkt_addr e = v4(200), f = v4(201), g = v4(202);

	(void)state;
	assert_int_equal(addrmap_set_grace(m, 500), 0);
	fill4(m, exp);
	addrmap_set_now(m, 1200);
	assert_int_equal(addrmap_insert(m, &e, "e.com", 1, FAR), 0);
	expect_absent(m, &c, 0);
	expect_grace(m, &b, 1200, true);
	assert_int_equal(addrmap_insert(m, &f, "f.com", 1, FAR), 0);
	expect_absent(m, &b, 0);
	expect_entry(m, &a, 1200, "a.com", 1, FAR);
	expect_entry(m, &d, 1200, "d.com", 1, FAR);
	/* Only live ones left: one of them goes. */
	assert_int_equal(addrmap_insert(m, &g, "g.com", 1, FAR), 0);
	assert_int_equal(addrmap_count(m), 4);
	expect_entry(m, &g, 1200, "g.com", 1, FAR);
	addrmap_free(m);
}

/* A use protects an entry from eviction for a turn of the clock, like a refresh. */
static void test_touch_lru(void **state)
{
	struct addrmap *m = addrmap_new(4);
	uint64_t exp[4] = { FAR, FAR, FAR, 500 };
	struct pkt_addr a = v4(100), b = v4(101), c = v4(102), d = v4(103);
	struct pkt_addr e = v4(200), f = v4(201), x = v6(7, 7);

	(void)state;
	fill4(m, exp);
	assert_int_equal(addrmap_touch(m, &a, 0), 0);
	assert_int_equal(addrmap_touch(m, &x, 0), -ENOENT);
	assert_int_equal(addrmap_touch(m, &d, 600), -ENOENT);	/* gone */
	assert_int_equal(addrmap_touch(m, &(struct pkt_addr){ .family = AF_UNIX }, 0), -ENOENT);
	assert_int_equal(addrmap_insert(m, &e, "e.com", 1, FAR), 0);
	expect_entry(m, &a, 0, "a.com", 1, FAR);
	expect_absent(m, &b, 0);
	/* The mark was spent on the way: without another use, a goes after c and d. */
	assert_int_equal(addrmap_insert(m, &f, "f.com", 1, FAR), 0);
	expect_absent(m, &c, 0);
	expect_entry(m, &a, 0, "a.com", 1, FAR);
	addrmap_free(m);
}

/* Every entry marked: a full turn clears the marks and the entry at the hand goes. */
static void test_touch_all(void **state)
{
	struct addrmap *m = addrmap_new(4);
	uint64_t exp[4] = { FAR, FAR, FAR, FAR };
	struct pkt_addr a = v4(100), b = v4(101), e = v4(200), f = v4(201);

	(void)state;
	fill4(m, exp);
	for (uint32_t i = 0; i < 4; i++) {
		struct pkt_addr x = v4(100 + i);

		assert_int_equal(addrmap_touch(m, &x, 0), 0);
	}
	assert_int_equal(addrmap_insert(m, &e, "e.com", 1, FAR), 0);
	expect_absent(m, &a, 0);
	assert_int_equal(addrmap_insert(m, &f, "f.com", 1, FAR), 0);
	expect_absent(m, &b, 0);
	assert_int_equal(addrmap_count(m), 4);
	addrmap_free(m);
}

struct visit {
	size_t n, stop_at;
	char names[8][32];
	struct pkt_addr addrs[8];
	struct addrmap_entry e[8];
};

static int visit_fn(void *ctx, const struct pkt_addr *addr, const struct addrmap_entry *e)
{
	struct visit *v = ctx;

	assert_true(v->n < 8);
	v->addrs[v->n] = *addr;
	v->e[v->n] = *e;
	snprintf(v->names[v->n], sizeof(v->names[0]), "%s", e->name);
	v->n++;
	return v->n == v->stop_at ? 42 : 0;
}

static void test_foreach(void **state)
{
	struct addrmap *m = addrmap_new(16);
	struct pkt_addr a = v4(0x01020304), b = v6(0x20010db8ULL << 32, 5), c = v4(9);
	struct visit v = { 0 };

	(void)state;
	assert_int_equal(addrmap_foreach(m, 0, visit_fn, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(addrmap_set_grace(m, 100), 0);
	assert_int_equal(addrmap_insert(m, &a, "a.com", 1, 1000), 0);
	assert_int_equal(addrmap_insert(m, &b, "b.com", 2, 2000), 0);
	assert_int_equal(addrmap_insert(m, &c, "c.com", 3, 500), 0);
	assert_int_equal(addrmap_foreach(m, 1050, visit_fn, &v), 0);
	assert_int_equal(v.n, 2);	/* c is gone at 1050 */
	assert_memory_equal(&v.addrs[0], &a, sizeof(a));
	assert_string_equal(v.names[0], "a.com");
	assert_int_equal(v.e[0].route, 1);
	assert_int_equal(v.e[0].expires_ms, 1000);
	assert_true(v.e[0].grace);
	assert_int_equal(v.addrs[1].family, AF_INET6);
	assert_memory_equal(v.addrs[1].a, b.a, 16);
	assert_string_equal(v.names[1], "b.com");
	assert_int_equal(v.e[1].route, 2);
	assert_false(v.e[1].grace);
	/* A nonzero return stops the walk and is passed on. */
	memset(&v, 0, sizeof(v));
	v.stop_at = 1;
	assert_int_equal(addrmap_foreach(m, 0, visit_fn, &v), 42);
	assert_int_equal(v.n, 1);
	addrmap_free(m);
}

/* A name cap below the entry cap: new names evict entries until one is freed. */
static void test_max_names(void **state)
{
	struct addrmap *m;
	char name[32];

	(void)state;
	assert_null(addrmap_new_sized(4, 5, 0));
	assert_null(addrmap_new_sized(1u << 29, 0, 0));
	m = addrmap_new_sized(64, 4, 0);
	assert_non_null(m);
	for (uint32_t i = 0; i < 1000; i++) {
		struct pkt_addr a = v4(i);

		snprintf(name, sizeof(name), "n%u.example", i / 8);
		assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), 0);
		expect_entry(m, &a, 0, name, 1, FAR);
		assert_true(addrmap_name_count(m) <= 4);
		assert_true(addrmap_count(m) <= 32);	/* 4 names of 8 addresses */
	}
	assert_int_equal(addrmap_name_count(m), 4);
	assert_int_equal(addrmap_count(m), 32);
	addrmap_free(m);
	/* A small text budget works the same way. */
	m = addrmap_new_sized(64, 0, 1);
	for (uint32_t i = 0; i < 5000; i++) {
		struct pkt_addr a = v4(i);

		snprintf(name, sizeof(name), "%u.example", i);
		assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), 0);
		expect_entry(m, &a, 0, name, 1, FAR);
	}
	assert_int_equal(addrmap_count(m), 64);
	addrmap_free(m);
}

static void test_mem_bytes(void **state)
{
	struct addrmap *m = addrmap_new(1000);
	size_t empty = addrmap_mem_bytes(m), full;
	struct pkt_addr a;

	(void)state;
	for (uint32_t i = 0; i < 1000; i++) {
		a = v4(i);
		assert_int_equal(addrmap_insert(m, &a, "x.example", 1, FAR), 0);
	}
	full = addrmap_mem_bytes(m);
	assert_true(full > empty);
	assert_true(full - empty >= 1000 * 28);
	addrmap_clear(m, UINT16_MAX);
	assert_int_equal(addrmap_mem_bytes(m), empty);
	a = v4(1);
	assert_int_equal(addrmap_insert(m, &a, "y.example", 2, FAR), 0);
	expect_entry(m, &a, 0, "y.example", 2, FAR);
	addrmap_free(m);
}

/*
 * The memory figure at one million mappings, IPv4 and IPv6 alike: with names of 24
 * characters shared by four addresses each and the name cap at half the entries, the
 * table stays within 48 bytes per mapping; with every name distinct (a flood of random
 * names) within 72.
 */
static double bytes_per_mapping(size_t n, int family, size_t per_name, size_t max_names)
{
	struct addrmap *m = addrmap_new_sized(n, max_names, 0);
	char name[32];
	double per;

	assert_non_null(m);
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;
		struct pkt_addr a = family == AF_INET ? v4((uint32_t)i * 2654435761u) : v6(x, ~x);

		snprintf(name, sizeof(name), "h%07zu.cdn-example.net", i / per_name);
		assert_int_equal(strlen(name), 24);
		assert_int_equal(addrmap_insert(m, &a, name, 1, FAR), 0);
	}
	assert_int_equal(addrmap_count(m), n);
	per = (double)addrmap_mem_bytes(m) / (double)n;
	print_message("%zu %s mappings, %zu per name, max-names %zu: %.1f bytes each\n", n,
		      family == AF_INET ? "IPv4" : "IPv6", per_name, max_names ? max_names : n,
		      per);
	addrmap_free(m);
	return per;
}

static void test_memory_per_mapping(void **state)
{
	enum { N = 1000000 };

	(void)state;
	assert_true(bytes_per_mapping(N, AF_INET, 4, N / 2) <= 48.0);
	assert_true(bytes_per_mapping(N, AF_INET6, 4, N / 2) <= 48.0);
	assert_true(bytes_per_mapping(N, AF_INET6, 1, 0) <= 72.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_v4_v6),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expiry_far_apart),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_names_shared),
		cmocka_unit_test(test_evict_expired_first),
		cmocka_unit_test(test_evict_oldest),
		cmocka_unit_test(test_evict_frees_names),
		cmocka_unit_test(test_name_pool_pressure),
		cmocka_unit_test(test_reroute),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_stress_fifo),
		cmocka_unit_test(test_stress_model),
		cmocka_unit_test(test_stress_churn),
		cmocka_unit_test(test_stress_grace),
		cmocka_unit_test(test_grace),
		cmocka_unit_test(test_grace_eviction_order),
		cmocka_unit_test(test_touch_lru),
		cmocka_unit_test(test_touch_all),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_max_names),
		cmocka_unit_test(test_mem_bytes),
		cmocka_unit_test(test_memory_per_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
