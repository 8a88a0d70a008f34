/* Unit tests for src/refresh.c: when names are re-resolved, on a fake clock. */
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

#include "refresh.h"

#define S 1000ULL	/* one second in ms */

static struct refresh *mk(size_t cap, uint64_t window_ms, uint64_t spread_ms, uint64_t seed)
{
	struct refresh_conf c = { .capacity = cap, .window_ms = window_ms,
				  .pin_spread_ms = spread_ms, .seed = seed };
	struct refresh *r = refresh_new(&c);

	assert_non_null(r);
	return r;
}

static uint64_t due_of(const struct refresh *r, const char *name)
{
	uint64_t due = 0;

	if (!refresh_lookup(r, name, &due))
		fail_msg("%s is not tracked", name);
	return due;
}

static void expect_pop(struct refresh *r, uint64_t now, const char *name)
{
	char buf[256];

	assert_int_equal(refresh_pop_due(r, now, buf, sizeof(buf)), 1);
	assert_string_equal(buf, name);
}

static void expect_no_pop(struct refresh *r, uint64_t now)
{
	char buf[256];

	assert_int_equal(refresh_pop_due(r, now, buf, sizeof(buf)), 0);
}

static void test_new_free(void **state)
{
	struct refresh_conf c = { 0 };

	(void)state;
	assert_null(refresh_new(&c));
	c.capacity = (1u << 24) + 1;
	assert_null(refresh_new(&c));
	refresh_free(NULL);
	refresh_free(mk(1, 0, 0, 0));
}

/* Answers nobody connects to never enter the schedule. */
static void test_learned_untracked(void **state)
{
	struct refresh *r = mk(16, 0, 0, 1);

	(void)state;
	assert_false(refresh_learned(r, "flood.example", 300, 0));
	assert_int_equal(refresh_count(r), 0);
	assert_int_equal(refresh_next_due(r), UINT64_MAX);
	expect_no_pop(r, UINT64_MAX);
	refresh_failed(r, "flood.example", 0);
	refresh_forget(r, "flood.example");
	assert_int_equal(refresh_count(r), 0);
	refresh_free(r);
}

/* Due at 80-90 % of the TTL; handed out once, then again only after the in-flight time. */
static void test_used_due_and_learned(void **state)
{
	struct refresh *r = mk(16, 0, 0, 2);
	uint64_t due;

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 1000 + 300 * S, 1000), 0);
	assert_int_equal(refresh_count(r), 1);
	due = due_of(r, "a.example");
	assert_true(due >= 1000 + 240 * S && due <= 1000 + 270 * S);
	assert_int_equal(refresh_next_due(r), due);
	expect_no_pop(r, due - 1);
	expect_pop(r, due, "a.example");
	expect_no_pop(r, due);
	assert_int_equal(due_of(r, "a.example"), due + REFRESH_INFLIGHT_MS);
	/* The lookup's answer reschedules by its TTL. */
	assert_true(refresh_learned(r, "a.example", 600, due + 50));
	assert_true(due_of(r, "a.example") >= due + 50 + 480 * S);
	assert_true(due_of(r, "a.example") <= due + 50 + 540 * S);
	/* A use of a tracked name changes nothing in the schedule. */
	due = due_of(r, "a.example");
	assert_int_equal(refresh_used(r, "a.example", 0, due - 10 * S), 0);
	assert_int_equal(due_of(r, "a.example"), due);
	assert_int_equal(refresh_count(r), 1);
	refresh_free(r);
}

/* A TTL of 0 (or a tiny one) does not make the scheduler spin. */
static void test_min_interval(void **state)
{
	struct refresh *r = mk(16, 0, 0, 3);

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 5000 + 10, 5000), 0);
	assert_int_equal(due_of(r, "a.example"), 5000 + REFRESH_MIN_MS);
	assert_true(refresh_learned(r, "a.example", 0, 6000));
	assert_int_equal(due_of(r, "a.example"), 6000 + REFRESH_MIN_MS);
	refresh_free(r);
}

/* A name first used after its expiry (grace period) is resolved at once. */
static void test_used_expired(void **state)
{
	struct refresh *r = mk(16, 0, 0, 4);

	(void)state;
	assert_int_equal(refresh_used(r, "late.example", 1000, 5000), 0);
	assert_int_equal(refresh_next_due(r), 5000);
	expect_pop(r, 5000, "late.example");
	refresh_free(r);
}

/* Default window: used within 2 * TTL (at least a minute); else forgotten when due. */
static void test_window_default(void **state)
{
	struct refresh *r = mk(16, 0, 0, 5);
	uint64_t t;

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 60 * S, 0), 0);
	assert_true(refresh_learned(r, "a.example", 60, 0));
	t = due_of(r, "a.example");		/* 48..54 s: used at 0, window 120 s */
	expect_pop(r, t, "a.example");
	assert_true(refresh_learned(r, "a.example", 60, t));
	t = due_of(r, "a.example");		/* 96..108 s: still inside the window */
	expect_pop(r, t, "a.example");
	assert_true(refresh_learned(r, "a.example", 60, t));
	t = due_of(r, "a.example");		/* 144..162 s: unused for more than 120 s */
	expect_no_pop(r, t);
	assert_int_equal(refresh_count(r), 0);
	assert_false(refresh_lookup(r, "a.example", NULL));
	refresh_free(r);
}

static void test_window_configured(void **state)
{
	struct refresh *r = mk(16, 10 * S, 0, 6);
	uint64_t t;

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 60 * S, 0), 0);
	assert_int_equal(refresh_used(r, "b.example", 60 * S, 0), 0);
	assert_true(refresh_learned(r, "a.example", 60, 0));
	assert_true(refresh_learned(r, "b.example", 60, 0));
	/* b is used again shortly before it comes due, a is not. */
	t = due_of(r, "b.example");
	assert_int_equal(refresh_used(r, "b.example", 60 * S, t - 5 * S), 0);
	if (due_of(r, "a.example") <= t)
		expect_no_pop(r, due_of(r, "a.example"));	/* a goes first */
	expect_pop(r, t, "b.example");
	expect_no_pop(r, 60 * S);
	assert_int_equal(refresh_count(r), 1);
	assert_false(refresh_lookup(r, "a.example", NULL));
	refresh_free(r);
}

/* Pinned names: resolved at start-up within the spread, refreshed whether used or not. */
static void test_pinned(void **state)
{
	struct refresh *r = mk(16, 0, 2 * S, 7);
	const char *names[] = { "p1.example", "p2.example", "p3.example" };
	char buf[256];
	int seen = 0;
	uint64_t t;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(refresh_pin(r, names[i], 1000), 0);
		assert_true(due_of(r, names[i]) >= 1000 && due_of(r, names[i]) < 3000);
	}
	assert_int_equal(refresh_pin(r, "p1.example", 1000), 0);	/* idempotent */
	assert_int_equal(refresh_pinned_count(r), 3);
	assert_int_equal(refresh_count(r), 3);
	while (refresh_pop_due(r, 3000, buf, sizeof(buf)) == 1)
		seen++;
	assert_int_equal(seen, 3);
	/* Never used, a day later still refreshed. */
	for (int i = 0; i < 3; i++)
		assert_true(refresh_learned(r, names[i], 60, 86400 * S));
	t = refresh_next_due(r);
	assert_true(t >= 86400 * S + 48 * S && t <= 86400 * S + 54 * S);
	seen = 0;
	while (refresh_pop_due(r, 86400 * S + 54 * S, buf, sizeof(buf)) == 1)
		seen++;
	assert_int_equal(seen, 3);
	/* A reload pins p1 only: p2 and p3 are forgotten when they come due unused. */
	refresh_unpin_all(r);
	assert_int_equal(refresh_pinned_count(r), 0);
	assert_int_equal(refresh_pin(r, "p1.example", 90000 * S), 0);
	for (int i = 0; i < 3; i++)
		assert_true(refresh_learned(r, names[i], 60, 90000 * S));
	expect_pop(r, 90100 * S, "p1.example");
	expect_no_pop(r, 90100 * S);
	assert_int_equal(refresh_count(r), 1);
	refresh_free(r);
}

/* Pinning a tracked name keeps its schedule. */
static void test_pin_tracked(void **state)
{
	struct refresh *r = mk(16, 0, 2 * S, 8);
	uint64_t due;

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 300 * S, 0), 0);
	due = due_of(r, "a.example");
	assert_int_equal(refresh_pin(r, "a.example", 0), 0);
	assert_int_equal(due_of(r, "a.example"), due);
	assert_int_equal(refresh_pinned_count(r), 1);
	refresh_free(r);
}

/* Full: the least recently used unpinned name goes; pinned names never do. */
static void test_capacity(void **state)
{
	struct refresh *r = mk(3, 0, 0, 9);

	(void)state;
	assert_int_equal(refresh_used(r, "a.example", 300 * S, 1), 0);
	assert_int_equal(refresh_used(r, "b.example", 300 * S, 2), 0);
	assert_int_equal(refresh_used(r, "c.example", 300 * S, 3), 0);
	assert_int_equal(refresh_used(r, "a.example", 300 * S, 4), 0);
	assert_int_equal(refresh_used(r, "d.example", 300 * S, 5), 0);
	assert_int_equal(refresh_count(r), 3);
	assert_false(refresh_lookup(r, "b.example", NULL));
	assert_true(refresh_lookup(r, "a.example", NULL));
	assert_int_equal(refresh_pin(r, "p.example", 6), 0);	/* c goes */
	assert_false(refresh_lookup(r, "c.example", NULL));
	assert_int_equal(refresh_pin(r, "q.example", 6), 0);	/* a goes */
	assert_int_equal(refresh_pin(r, "s.example", 6), 0);	/* d goes */
	assert_int_equal(refresh_pinned_count(r), 3);
	assert_int_equal(refresh_used(r, "e.example", 300 * S, 7), -ENOSPC);
	assert_int_equal(refresh_pin(r, "t.example", 7), -ENOSPC);
	assert_int_equal(refresh_used(r, "p.example", 300 * S, 7), 0);	/* tracked: fine */
	assert_int_equal(refresh_count(r), 3);
	refresh_free(r);
}

static void test_failed_backoff(void **state)
{
	struct refresh *r = mk(16, 0, 0, 10);
	uint64_t now = 1000 * S, expect = REFRESH_RETRY_MIN_MS, due;

	(void)state;
	assert_int_equal(refresh_pin(r, "down.example", now), 0);
	for (int i = 0; i < 12; i++) {
		expect_pop(r, refresh_next_due(r), "down.example");
		now = refresh_next_due(r) - REFRESH_INFLIGHT_MS + 100;
		refresh_failed(r, "down.example", now);
		due = due_of(r, "down.example");
		assert_true(due >= now + expect * 9 / 10 && due <= now + expect * 11 / 10);
		expect = expect * 2 > REFRESH_RETRY_MAX_MS ? REFRESH_RETRY_MAX_MS : expect * 2;
	}
	/* Success resets the backoff. */
	assert_true(refresh_learned(r, "down.example", 100, now));
	refresh_failed(r, "down.example", now);
	due = due_of(r, "down.example");
	assert_true(due <= now + REFRESH_RETRY_MIN_MS * 11 / 10);
	refresh_free(r);
}

/* Thousands of names learned at once spread over the 80-90 % band; same seed, same plan. */
static void test_jitter(void **state)
{
	enum { N = 2000 };
	struct refresh *r1 = mk(N, 0, 0, 11), *r2 = mk(N, 0, 0, 11), *r3 = mk(N, 0, 0, 12);
	uint64_t lo = UINT64_MAX, hi = 0, buckets[10] = { 0 };
	size_t same = 0;
	char name[64];

	(void)state;
	for (int i = 0; i < N; i++) {
		uint64_t d1, d2, d3;

		snprintf(name, sizeof(name), "n%d.example", i);
		assert_int_equal(refresh_used(r1, name, 100 * S, 0), 0);
		assert_int_equal(refresh_used(r2, name, 100 * S, 0), 0);
		assert_int_equal(refresh_used(r3, name, 100 * S, 0), 0);
		d1 = due_of(r1, name);
		d2 = due_of(r2, name);
		d3 = due_of(r3, name);
		assert_int_equal(d1, d2);
		same += d1 == d3;
		lo = d1 < lo ? d1 : lo;
		hi = d1 > hi ? d1 : hi;
		buckets[(d1 - 80 * S) / S < 10 ? (d1 - 80 * S) / S : 9]++;
	}
	assert_true(lo >= 80 * S && hi <= 90 * S);
	assert_true(hi - lo >= 9 * S);
	for (int i = 0; i < 10; i++)	/* each second of the band gets a fair share */
		assert_true(buckets[i] > N / 20);
	assert_true(same < N / 10);
	refresh_free(r1);
	refresh_free(r2);
	refresh_free(r3);
}

static void test_invalid(void **state)
{
	struct refresh *r = mk(4, 0, 0, 13);
	char big[300], small[4];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(refresh_used(r, big, 0, 0), -EINVAL);
	assert_int_equal(refresh_pin(r, big, 0), -EINVAL);
	assert_false(refresh_learned(r, big, 1, 0));
	assert_false(refresh_lookup(r, big, NULL));
	big[253] = '\0';
	assert_int_equal(refresh_pin(r, big, 0), 0);
	/* Too small a buffer drops nothing. */
	assert_int_equal(refresh_pop_due(r, 0, small, sizeof(small)), -ENOSPC);
	assert_int_equal(refresh_count(r), 1);
	refresh_forget(r, big);
	assert_int_equal(refresh_count(r), 0);
	refresh_free(r);
}

/* ---- random operations against a model ---- */

struct model {
	bool tracked;
	uint64_t due;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_stress(void **state)
{
	enum { CAP = 64, NAMES = 200, OPS = 100000 };
	struct refresh *r = mk(CAP, 0, 5 * S, 14);
	struct model mod[NAMES] = { { 0 } };
	uint64_t now = 0;
	char name[64], buf[256];

	(void)state;
	for (int op = 0; op < OPS; op++) {
		uint64_t x = rng(), min = UINT64_MAX;
		int k = (int)(x % NAMES), ret;
		size_t count = 0;

		snprintf(name, sizeof(name), "host%d.example", k);
		now += (x >> 8) % 2000;
		switch ((x >> 20) % 8) {
		case 0:
		case 1:
			ret = refresh_used(r, name, now + (x >> 24) % (600 * S), now);
			assert_true(ret == 0 || ret == -ENOSPC);
			break;
		case 2:
			refresh_learned(r, name, (uint32_t)((x >> 24) % 3600), now);
			break;
		case 3:
			refresh_failed(r, name, now);
			break;
		case 4:
			if (k < 20) {
				ret = refresh_pin(r, name, now);
				assert_true(ret == 0 || ret == -ENOSPC);
			} else {
				refresh_forget(r, name);
			}
			break;
		case 5:
			if (x % 97 == 0)
				refresh_unpin_all(r);
			break;
		default:
			while (refresh_pop_due(r, now, buf, sizeof(buf)) == 1)
				assert_true(due_of(r, buf) == now + REFRESH_INFLIGHT_MS);
			assert_true(refresh_next_due(r) > now);
			break;
		}
		/* next_due is the minimum over the tracked names; the count adds up */
		for (int i = 0; i < NAMES; i++) {
			snprintf(name, sizeof(name), "host%d.example", i);
			mod[i].tracked = refresh_lookup(r, name, &mod[i].due);
			if (mod[i].tracked) {
				count++;
				min = mod[i].due < min ? mod[i].due : min;
			}
		}
		assert_int_equal(count, refresh_count(r));
		assert_true(count <= CAP);
		assert_true(refresh_pinned_count(r) <= count);
		assert_int_equal(refresh_next_due(r), min);
	}
	refresh_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_learned_untracked),
		cmocka_unit_test(test_used_due_and_learned),
		cmocka_unit_test(test_min_interval),
		cmocka_unit_test(test_used_expired),
		cmocka_unit_test(test_window_default),
		cmocka_unit_test(test_window_configured),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_pin_tracked),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_failed_backoff),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
