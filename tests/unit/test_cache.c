/* Unit tests for src/cache.c: the learned mappings on disk. */
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
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "addrmap.h"
#include "cache.h"

#define WALL 1700000000000ULL	/* a wall-clock time in ms (November 2023) */
#define S 1000ULL

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/nfqr-cache-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/cache", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char tmp[160];

	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct pkt_addr v4(uint32_t x)
{
	struct pkt_addr a = { .family = AF_INET };

	a.a[0] = (uint8_t)(x >> 24);
	a.a[1] = (uint8_t)(x >> 16);
	a.a[2] = (uint8_t)(x >> 8);
	a.a[3] = (uint8_t)x;
	return a;
}

static struct pkt_addr v6(uint8_t last)
{
	struct pkt_addr a = { .family = AF_INET6, .a = { 0x20, 0x01, 0x0d, 0xb8 } };

	a.a[15] = last;
	return a;
}

/* Saving: routes 0 "vpn", 1 "direct"; 5 is stale (no name). */
static const char *route_name(void *ctx, uint16_t route)
{
	(void)ctx;
	return route == 0 ? "vpn" : route == 1 ? "direct" : NULL;
}

/* Loading with the routes reordered: "direct" 0, "vpn" 1; names under drop.example gone. */
static int route_of(void *ctx, const char *rname, const char *name)
{
	if (ctx)
		(*(int *)ctx)++;
	if (strstr(name, "drop.example"))
		return -1;
	if (!strcmp(rname, "direct"))
		return 0;
	if (!strcmp(rname, "vpn"))
		return 1;
	return -1;	/* a route the configuration no longer has */
}

static void expect_entry(const struct addrmap *m, const struct pkt_addr *a, uint64_t now,
			 const char *name, uint16_t route, uint64_t expires)
{
	struct addrmap_entry e;

	assert_int_equal(addrmap_lookup(m, a, now, &e), 0);
	assert_string_equal(e.name, name);
	assert_int_equal(e.route, route);
	assert_int_equal(e.expires_ms, expires);
}

static void expect_absent(const struct addrmap *m, const struct pkt_addr *a, uint64_t now)
{
	struct addrmap_entry e;

	assert_int_equal(addrmap_lookup(m, a, now, &e), -ENOENT);
}

static void test_crc32(void **state)
{
	(void)state;
	assert_int_equal(cache_crc32(0, "123456789", 9), 0xcbf43926);
	assert_int_equal(cache_crc32(cache_crc32(0, "1234", 4), "56789", 5), 0xcbf43926);
	assert_int_equal(cache_crc32(0, "", 0), 0);
}

/* A small table: mono time 1000 at save. */
static struct addrmap *sample_map(void)
{
	struct addrmap *m = addrmap_new(64);
	struct pkt_addr a = v4(0x01020304), b = v4(0x01020305), c = v6(1), d = v4(9), e = v6(2);

	assert_non_null(m);
	assert_int_equal(addrmap_insert(m, &a, "www.example.com", 0, 1000 + 300 * S), 0);
	assert_int_equal(addrmap_insert(m, &b, "www.example.com", 0, 1000 + 60 * S), 0);
	assert_int_equal(addrmap_insert(m, &c, "v6.example.org", 1, 1000 + 3600 * S), 0);
	assert_int_equal(addrmap_insert(m, &d, "stale.example", 5, 1000 + 300 * S), 0);
	assert_int_equal(addrmap_insert(m, &e, "x.drop.example", 0, 1000 + 300 * S), 0);
	return m;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct addrmap *m = sample_map(), *n = addrmap_new(64);
	struct pkt_addr a = v4(0x01020304), b = v4(0x01020305), c = v6(1), d = v4(9), e = v6(2);
	char err[256];
	size_t loaded = 99;
	int calls = 0;
	struct stat st;

	(void)state;
	assert_int_equal(cache_save_at(f->path, m, 1000, WALL, route_name, NULL, err,
				       sizeof(err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A restart 10 s later: monotonic time begins anew. */
	assert_int_equal(cache_load_at(f->path, n, 500, WALL + 10 * S, route_of, &calls, &loaded,
				       err, sizeof(err)), 0);
	assert_int_equal(calls, 4);		/* the stale route was not saved */
	assert_int_equal(loaded, 3);		/* drop.example was refused */
	assert_int_equal(addrmap_count(n), 3);
	assert_int_equal(addrmap_name_count(n), 2);
	expect_entry(n, &a, 500, "www.example.com", 1, 500 + 290 * S);
	expect_entry(n, &b, 500, "www.example.com", 1, 500 + 50 * S);
	expect_entry(n, &c, 500, "v6.example.org", 0, 500 + 3590 * S);
	expect_absent(n, &d, 0);
	expect_absent(n, &e, 0);
	/* Saving what was loaded gives the same again. */
	assert_int_equal(cache_save_at(f->path, n, 500, WALL + 10 * S, route_name, NULL, err,
				       sizeof(err)), 0);
	addrmap_clear(n, UINT16_MAX);
	assert_int_equal(cache_load_at(f->path, n, 7, WALL + 10 * S, route_of, NULL, &loaded,
				       err, sizeof(err)), 0);
	assert_int_equal(loaded, 3);
	expect_entry(n, &a, 7, "www.example.com", 0, 7 + 290 * S);	/* routes swap back */
	addrmap_free(m);
	addrmap_free(n);
}

static void test_expired_dropped(void **state)
{
	struct fixture *f = *state;
	struct addrmap *m = sample_map(), *n = addrmap_new(64);
	struct pkt_addr a = v4(0x01020304), b = v4(0x01020305), c = v6(1);
	struct addrmap_entry e;
	char err[256];
	size_t loaded;

	(void)state;
	assert_int_equal(cache_save_at(f->path, m, 1000, WALL, route_name, NULL, err,
				       sizeof(err)), 0);
	/* 100 s later b (60 s) has expired. */
	assert_int_equal(cache_load_at(f->path, n, 5000, WALL + 100 * S, route_of, NULL, &loaded,
				       err, sizeof(err)), 0);
	assert_int_equal(loaded, 2);
	expect_absent(n, &b, 0);
	expect_entry(n, &a, 5000, "www.example.com", 1, 5000 + 200 * S);
	/* With a grace period of a minute it comes back, in grace. */
	addrmap_clear(n, UINT16_MAX);
	assert_int_equal(addrmap_set_grace(n, 60 * S), 0);
	assert_int_equal(cache_load_at(f->path, n, 500 * S, WALL + 100 * S, route_of, NULL,
				       &loaded, err, sizeof(err)), 0);
	assert_int_equal(loaded, 3);
	assert_int_equal(addrmap_lookup(n, &b, 500 * S, &e), 0);
	assert_true(e.grace);
	assert_int_equal(e.expires_ms, 460 * S);
	/* Right after a boot the monotonic clock is small: what was left of the grace stays. */
	addrmap_clear(n, UINT16_MAX);
	assert_int_equal(cache_load_at(f->path, n, 10 * S, WALL + 100 * S, route_of, NULL,
				       &loaded, err, sizeof(err)), 0);
	assert_int_equal(loaded, 3);
	assert_int_equal(addrmap_lookup(n, &b, 10 * S, &e), 0);
	assert_int_equal(e.expires_ms, 0);
	/* An hour later only c is left. */
	addrmap_clear(n, UINT16_MAX);
	assert_int_equal(cache_load_at(f->path, n, 5000, WALL + 3000 * S, route_of, NULL,
				       &loaded, err, sizeof(err)), 0);
	assert_int_equal(loaded, 1);
	expect_entry(n, &c, 5000, "v6.example.org", 0, 5000 + 600 * S);
	addrmap_free(m);
	addrmap_free(n);
}

/* A wall clock that went back (no RTC, before NTP) never lengthens an entry. */
static void test_clock_back(void **state)
{
	struct fixture *f = *state;
	struct addrmap *m = sample_map(), *n = addrmap_new(64);
	struct pkt_addr a = v4(0x01020304);
	char err[256];
	size_t loaded;

	(void)state;
	assert_int_equal(cache_save_at(f->path, m, 1000, WALL, route_name, NULL, err,
				       sizeof(err)), 0);
	assert_int_equal(cache_load_at(f->path, n, 2000, 86400 * S, route_of, NULL, &loaded, err,
				       sizeof(err)), 0);
	assert_int_equal(loaded, 3);
	expect_entry(n, &a, 2000, "www.example.com", 1, 2000 + 300 * S);
	addrmap_free(m);
	addrmap_free(n);
}

static void test_missing_and_unwritable(void **state)
{
	struct fixture *f = *state;
	struct addrmap *m = sample_map();
	char err[256], path[160];
	size_t loaded = 5;

	(void)state;
	err[0] = '\0';
	assert_int_equal(cache_load(f->path, m, 0, route_of, NULL, &loaded, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(loaded, 0);
	assert_non_null(strstr(err, f->path));
	/* A directory is no cache. */
	assert_int_equal(cache_load(f->dir, m, 0, route_of, NULL, NULL, err, sizeof(err)),
			 -EINVAL);
	/* Saving into a directory that does not exist fails with a message. */
	snprintf(path, sizeof(path), "%s/no/such/cache", f->dir);
	assert_int_equal(cache_save(path, m, 1000, route_name, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no/such/cache.tmp"));
	/* The real clock works too. */
	assert_int_equal(cache_save(f->path, m, 1000, route_name, NULL, err, sizeof(err)), 0);
	addrmap_clear(m, UINT16_MAX);
	assert_int_equal(cache_load(f->path, m, 1000, route_of, NULL, &loaded, err, sizeof(err)),
			 0);
	assert_int_equal(loaded, 3);
	addrmap_free(m);
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	struct addrmap *m = addrmap_new(4);
	char err[256];
	size_t loaded = 1;
	struct stat st;

	(void)state;
	assert_int_equal(cache_save_at(f->path, m, 0, WALL, route_name, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 40);
	assert_int_equal(cache_load_at(f->path, m, 0, WALL, route_of, NULL, &loaded, err,
				       sizeof(err)), 0);
	assert_int_equal(loaded, 0);
	addrmap_free(m);
}

/* ---- damaged files ---- */

static unsigned char *slurp(const char *path, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = malloc(1 << 20);

	assert_non_null(fp);
	assert_non_null(buf);
	*size = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t size)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, size, fp), size);
	fclose(fp);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Fixes both checksums so that the damage reaches the record parser. */
static void reseal(unsigned char *buf, size_t size)
{
	put32(buf + 32, cache_crc32(0, buf + 40, size - 40));
	put32(buf + 36, cache_crc32(0, buf, 36));
}

/* Loads into an empty table; a refused file must leave it empty. */
static int load_damaged(const char *path, const unsigned char *buf, size_t size)
{
	struct addrmap *n = addrmap_new(64);
	char err[256];
	size_t loaded = 77;
	int ret;

	spit(path, buf, size);
	err[0] = '\0';
	ret = cache_load_at(path, n, 1000, WALL, route_of, NULL, &loaded, err, sizeof(err));
	if (ret) {
		assert_int_equal(ret, -EINVAL);
		assert_int_equal(loaded, 0);
		assert_int_equal(addrmap_count(n), 0);
		assert_true(strlen(err) > 0);
	} else {
		assert_int_equal(loaded, addrmap_count(n));
	}
	addrmap_free(n);
	return ret;
}

static unsigned char *sample_file(const char *path, size_t *size)
{
	struct addrmap *m = sample_map();
	char err[256];

	assert_int_equal(cache_save_at(path, m, 1000, WALL, route_name, NULL, err, sizeof(err)),
			 0);
	addrmap_free(m);
	return slurp(path, size);
}

static void test_truncated_everywhere(void **state)
{
	struct fixture *f = *state;
	size_t size;
	unsigned char *buf = sample_file(f->path, &size);

	(void)state;
	assert_true(size > 100);
	for (size_t len = 0; len < size; len++)
		assert_int_equal(load_damaged(f->path, buf, len), -EINVAL);
	/* Truncated and resealed (header length fixed too): the parser refuses the rest. */
	for (size_t len = 41; len < size; len++) {
		unsigned char *cut = malloc(size);

		memcpy(cut, buf, len);
		for (int i = 0; i < 8; i++)
			cut[24 + i] = (unsigned char)((uint64_t)(len - 40) >> (8 * i));
		reseal(cut, len);
		assert_int_equal(load_damaged(f->path, cut, len), -EINVAL);
		free(cut);
	}
	/* One byte more is refused as well. */
	buf[size] = 0;
	assert_int_equal(load_damaged(f->path, buf, size + 1), -EINVAL);
	assert_int_equal(load_damaged(f->path, buf, size), 0);
	free(buf);
}

static void test_header_checks(void **state)
{
	struct fixture *f = *state;
	size_t size;
	unsigned char *buf = sample_file(f->path, &size);

	(void)state;
	buf[0] = 'X';
	reseal(buf, size);
	assert_int_equal(load_damaged(f->path, buf, size), -EINVAL);	/* magic */
	buf[0] = 'N';
	buf[8] = 2;
	reseal(buf, size);
	assert_int_equal(load_damaged(f->path, buf, size), -EINVAL);	/* version */
	buf[8] = 1;
	buf[12]++;
	reseal(buf, size);
	assert_int_equal(load_damaged(f->path, buf, size), -EINVAL);	/* entry count */
	buf[12] -= 2;
	reseal(buf, size);
	assert_int_equal(load_damaged(f->path, buf, size), -EINVAL);
	buf[12]++;
	reseal(buf, size);
	assert_int_equal(load_damaged(f->path, buf, size), 0);
	free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random damage: caught by the checksums, and, resealed, by the parser; never a crash. */
static void test_random_corruption(void **state)
{
	struct fixture *f = *state;
	size_t size;
	unsigned char *orig = sample_file(f->path, &size), *buf = malloc(size);
	int accepted = 0;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		int flips = 1 + (int)(rng() % 4);

		memcpy(buf, orig, size);
		for (int i = 0; i < flips; i++) {
			size_t at = rng() % size;
			unsigned char old = buf[at];

			while (buf[at] == old)
				buf[at] = (unsigned char)rng();
		}
		if (round % 2) {
			assert_int_equal(load_damaged(f->path, buf, size), -EINVAL);
		} else {
			reseal(buf, size);
			accepted += load_damaged(f->path, buf, size) == 0;
		}
	}
	/* some damage (inside an address or expiry) is well formed: that is what the CRC is for */
	print_message("resealed damage accepted as well formed: %d of 1500\n", accepted);
	free(buf);
	free(orig);
}

/* Many entries and names: the name table of the writer and reader scale. */
static void test_many(void **state)
{
	enum { N = 50000 };
	struct fixture *f = *state;
	struct addrmap *m = addrmap_new(N), *n = addrmap_new(N);
	char err[256], name[64];
	size_t loaded;

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		struct pkt_addr a = i % 2 ? v4(i) : v6((uint8_t)i);

		a.a[14] = (uint8_t)(i >> 8);
		a.a[13] = (uint8_t)(i >> 16);
		snprintf(name, sizeof(name), "host%u.example.net", i / 3);
		assert_int_equal(addrmap_insert(m, &a, name, (uint16_t)(i % 2), 1000 + i), 0);
	}
	assert_int_equal(addrmap_count(m), N);
	assert_int_equal(cache_save_at(f->path, m, 0, WALL, route_name, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(cache_load_at(f->path, n, 0, WALL, route_of, NULL, &loaded, err,
				       sizeof(err)), 0);
	assert_int_equal(loaded, N);
	assert_int_equal(addrmap_name_count(n), addrmap_name_count(m));
	for (uint32_t i = 0; i < N; i += 997) {
		struct pkt_addr a = i % 2 ? v4(i) : v6((uint8_t)i);

		a.a[14] = (uint8_t)(i >> 8);
		a.a[13] = (uint8_t)(i >> 16);
		snprintf(name, sizeof(name), "host%u.example.net", i / 3);
		expect_entry(n, &a, 0, name, i % 2 ? 0 : 1, 1000 + i);
	}
	addrmap_free(m);
	addrmap_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
