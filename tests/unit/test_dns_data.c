/*
 * Unit tests for the DNS parser on real data: captured replies and queries, the
 * benchmark set against dnspython-derived expectations, regressions, and fuzz corpora,
 * truncations and mutations that must never make the parser read out of bounds.
 */
#include "dns_build.h"

#include <dirent.h>
#include <stdio.h>
#include <arpa/inet.h>

/* ---- real data ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int parse_file(const char *rel, struct dns_reply *r)
{
	char path[512];
	size_t len;
	uint8_t *buf;
	int rc;

	snprintf(path, sizeof(path), "%s/dns/real/%s", TEST_DATA, rel);
	buf = read_file(path, &len);
	rc = parse_exact(buf, len, r);
	free(buf);
	return rc;
}

/* Expected values below come from INDEX.dnspython.jsonl (see tests/data/SOURCES.md). */
static void test_real_captures(void **state)
{
	(void)state;
	struct dns_reply *r = reply_new();
	static const uint8_t h_root_v6[16] = { 0x20, 0x01, 0x05, 0x00, 0x00, 0x01, [15] = 0x53 };

	/* CNAME chain with mixed-case targets and RRSIGs in between */
	assert_int_equal(parse_file("zeek__Traces__dns-two-responses-f00002-0.bin", r), DNS_OK);
	assert_int_equal(r->id, 21140);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[0], "www.cmu.edu");
	assert_string_equal(r->names[1], "www-cmu.andrew.cmu.edu");
	assert_string_equal(r->names[2], "www-cmu-2.andrew.cmu.edu");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 2, 128, 2, 10, 163);
	assert_int_equal(r->addrs[0].ttl, 21600);
	check_invariants(r);

	/* two CNAMEs, eight A records, EDNS0 */
	assert_int_equal(parse_file("zeek__Traces__dns-edns-ecs-f00044-0.bin", r), DNS_OK);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[2], "www.eu-west-1.prodaa.netflix.com");
	assert_int_equal(r->n_addrs, 8);
	assert_a(&r->addrs[0], 2, 34, 253, 36, 84);
	assert_a(&r->addrs[7], 2, 34, 252, 114, 84);
	assert_int_equal(r->addrs[0].ttl, 60);

	/* owner case differs between the CNAME target and the A record (DNSSEC 0x20) */
	assert_int_equal(parse_file("zeek__Traces__dnssec__rrsig-f00007-0.bin", r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "quasar.sas.upenn.edu");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 128, 91, 234, 145);

	/* ANY: AAAA then A */
	assert_int_equal(parse_file("zeek__Traces__dns__long-connection-f00022-0.bin", r), DNS_OK);
	assert_int_equal(r->qtype, 255);
	assert_int_equal(r->n_addrs, 2);
	assert_int_equal(r->addrs[0].family, AF_INET6);
	assert_a(&r->addrs[1], 0, 204, 152, 184, 88);

	/* owners that are pointers to pointers, seven deep */
	assert_int_equal(parse_file("zeek__Traces__dns__max-compression-depth-f00001-0.bin", r),
			 DNS_OK);
	assert_string_equal(r->names[0], "a");
	assert_int_equal(r->n_addrs, 7);
	for (int i = 0; i < 7; i++)
		assert_a(&r->addrs[i], 0, 127, 0, 0, (uint8_t)(i + 1));

	assert_int_equal(parse_file("dnscap__edns-f00004-0.bin", r), DNS_OK);
	assert_string_equal(r->names[0], "h.root-servers.net");
	assert_int_equal(r->n_addrs, 1);
	assert_memory_equal(r->addrs[0].a, h_root_v6, 16);
	assert_int_equal(r->addrs[0].ttl, 85098);

	/* NXDOMAIN */
	assert_int_equal(parse_file("zeek__Traces__dns__long-connection-f00020-0.bin", r),
			 DNS_E_RCODE);
	assert_int_equal(r->rcode, 3);
	assert_int_equal(r->id, 9837);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "www.example.notginh");
	assert_int_equal(r->qtype, T_AAAA);
	free(r);
}

struct bench {
	uint8_t *buf;
	size_t len, pos;
};

static bool bench_next(struct bench *b, const uint8_t **msg, size_t *len)
{
	if (b->pos == b->len)
		return false;
	assert_true(b->len - b->pos >= 2);
	*len = (size_t)b->buf[b->pos] << 8 | b->buf[b->pos + 1];
	assert_true(b->len - b->pos - 2 >= *len);
	*msg = b->buf + b->pos + 2;
	b->pos += 2 + *len;
	return true;
}

static void bench_open(struct bench *b)
{
	b->buf = read_file(TEST_DATA "/dns/responses.u16be-len-prefixed.bin", &b->len);
	b->pos = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * "owner:hex" (A, AAAA) or "owner/target:hex" (hints) set of the reply's addresses, sorted,
 * duplicates removed, space separated.
 */
static void addr_set(const struct dns_reply *r, char *out, size_t size)
{
	static char items[DNS_ADDRS_MAX][48];	/* 200 KiB: not on the stack */
	static char *p[DNS_ADDRS_MAX];
	size_t n = 0, o = 0;

	for (size_t i = 0; i < r->n_addrs; i++) {
		size_t w = r->addrs[i].family == AF_INET ? 4 : 16;
		int k = r->addrs[i].kind == DNS_ADDR_HINT ?
			snprintf(items[i], sizeof(items[i]), "%u/%u:", r->addrs[i].owner,
				 r->addrs[i].target) :
			snprintf(items[i], sizeof(items[i]), "%u:", r->addrs[i].owner);

		for (size_t j = 0; j < w; j++)
			k += snprintf(items[i] + k, sizeof(items[i]) - (size_t)k, "%02x",
				      r->addrs[i].a[j]);
		p[i] = items[i];
	}
	qsort(p, r->n_addrs, sizeof(p[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < r->n_addrs; i++) {
		if (n && strcmp(p[i], p[i - 1]) == 0)
			continue;
		o += (size_t)snprintf(out + o, size - o, "%s%s", n ? " " : "", p[i]);
		n++;
	}
}

static void test_bench_against_dnspython(void **state)
{
	(void)state;
	struct bench b;
	struct dns_reply *r = reply_new();
	FILE *ex = fopen(TEST_DATA "/dns/expect.tsv", "r");
	char *line = NULL, *f[6];
	static char names[DNS_NAMES_MAX * DNS_NAME_MAX], got[DNS_ADDRS_MAX * 48];
	size_t cap = 0, idx = 0, compared = 0, addr_checked = 0;
	const uint8_t *msg;
	size_t len;

	assert_non_null(ex);
	bench_open(&b);
	while (bench_next(&b, &msg, &len)) {
		do {
			assert_true(getline(&line, &cap, ex) > 0);
		} while (line[0] == '#');
		assert_int_equal(split_tabs(line, f, 6), 6);
		assert_int_equal(strtoul(f[0], NULL, 10), idx);

		int rc = parse_exact(msg, len, r);
		bool skip = strcmp(f[2], "skip") == 0;
		int want = skip ? DNS_OK : atoi(f[2]);

		if (rc != want)
			fail_msg("message %zu (%s): got %d (%s), dnspython view says %d", idx, f[1],
				 rc, dns_strerror(rc), want);
		if (rc == DNS_OK || (rc == DNS_E_RCODE && f[4][0])) {
			size_t o = 0;

			for (size_t i = 0; i < r->n_names; i++)
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
						      i ? " " : "", r->names[i]);
			if (strcmp(names, f[4]) != 0)
				fail_msg("message %zu (%s): chain '%s', expected '%s'", idx, f[1],
					 names, f[4]);
			if (strcmp(f[3], "-") != 0)
				assert_int_equal(r->qtype, strtoul(f[3], NULL, 10));
		}
		if (rc == DNS_OK) {
			check_invariants(r);
			if (!skip) {
				addr_set(r, got, sizeof(got));
				if (strcmp(got, f[5]) != 0)
					fail_msg("message %zu (%s): addrs '%s', expected '%s'", idx,
						 f[1], got, f[5]);
				addr_checked += r->n_addrs;
			}
		}
		compared++;
		idx++;
	}
	assert_int_equal(compared, 647);
	/* expect.tsv lists 256 distinct attributed addresses; make sure they were compared */
	assert_true(addr_checked >= 256);
	free(line);
	fclose(ex);
	free(b.buf);
	free(r);
}

/* Every prefix of every benchmark message, and single-byte corruptions: no crash, no
 * overread (ASan), a known status, and a well-formed result when it succeeds. */
static void test_bench_truncations_and_mutations(void **state)
{
	(void)state;
	struct bench b;
	struct dns_reply *r = reply_new();
	const uint8_t *msg;
	size_t len;
	uint32_t seed = 12345;
	uint8_t *copy;

	bench_open(&b);
	while (bench_next(&b, &msg, &len)) {
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		/* each prefix sits at the end of the allocation, so ASan sees any overread */
		for (size_t n = 0; n <= len; n++) {
			memcpy(copy + len - n, msg, n);

			int rc = dns_parse_reply(copy + len - n, n, r);

			assert_true(status_known(rc));
			if (rc >= DNS_OK)
				check_invariants(r);
		}
		for (int k = 0; k < 64 && len > 0; k++) {
			memcpy(copy, msg, len);
			for (int j = 0; j < 1 + k % 4; j++) {
				seed = seed * 1103515245u + 12345u;
				size_t at = (seed >> 8) % len;

				seed = seed * 1103515245u + 12345u;
				/* random bytes, or the pointer bits flipped */
				if (k & 1)
					copy[at] = (uint8_t)(seed >> 16);
				else
					copy[at] ^= 0xc0;
			}
			int rc = dns_parse_reply(copy, len, r);

			assert_true(status_known(rc));
			if (rc >= DNS_OK)
				check_invariants(r);
		}
		free(copy);
	}
	free(b.buf);
	free(r);
}

/* ---- real HTTPS/SVCB answers and queries ---- */

static void assert_hint_text(const struct dns_addr *a, const char *ip, uint32_t ttl)
{
	uint8_t want[16] = { 0 };
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, ip, want), 1);
	assert_hint(a, (uint8_t)family, want, 0, 0, ttl);
}

/* Real HTTPS/SVCB answers (zeek traces); expectations from INDEX.dnspython.jsonl. */
static void test_real_svcb(void **state)
{
	(void)state;
	struct dns_reply *r = reply_new();

	/* cloudflare.com HTTPS 1 . alpn=... ipv4hint=2 ipv6hint=2 */
	assert_int_equal(parse_file("zeek__Traces__dns-https-f00002-0.bin", r), DNS_OK);
	assert_int_equal(r->id, 62111);
	assert_int_equal(r->qtype, T_HTTPS);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "cloudflare.com");
	assert_int_equal(r->n_bad_svcb, 0);
	assert_int_equal(r->n_addrs, 4);
	assert_hint_text(&r->addrs[0], "104.16.132.229", 129);
	assert_hint_text(&r->addrs[1], "104.16.133.229", 129);
	assert_hint_text(&r->addrs[2], "2606:4700::6810:84e5", 129);
	assert_hint_text(&r->addrs[3], "2606:4700::6810:85e5", 129);
	check_invariants(r);

	/* ECH between the two hints */
	assert_int_equal(parse_file("zeek__Traces__dns__ech-f00002-0.bin", r), DNS_OK);
	assert_string_equal(r->names[0], "defo.ie");
	assert_int_equal(r->n_addrs, 2);
	assert_hint_text(&r->addrs[0], "213.108.108.101", 1791);
	assert_hint_text(&r->addrs[1], "2a00:c6c0:0:116:5::10", 1791);

	assert_int_equal(parse_file("zeek__Traces__dns__ech-f00004-0.bin", r), DNS_OK);
	assert_string_equal(r->names[0], "cloudflare-ech.com");
	assert_int_equal(r->n_addrs, 4);
	assert_hint_text(&r->addrs[0], "104.18.10.118", 300);
	assert_hint_text(&r->addrs[3], "2606:4700::6812:b76", 300);

	/* example.com SVCB 0 foo.example.com: AliasMode */
	assert_int_equal(parse_file("zeek__Traces__dns-svcb-f00002-0.bin", r), DNS_OK);
	assert_int_equal(r->qtype, T_SVCB);
	assert_int_equal(r->n_chain, 1);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "foo.example.com");
	assert_int_equal(r->n_addrs, 0);

	/* malformed ones zeek flags (and dnspython rejects): skipped, the message is fine */
	static const char *const bad[] = {
		"zeek__Traces__dns-svcb-rdlength-mismatch-f00001-0.bin",
		"zeek__Traces__dns__svcb-alpn-malformed-len-too-long-f00002-0.bin",
		"zeek__Traces__dns__svcb-alpn-malformed-len-too-short-f00002-0.bin",
		"zeek__Traces__dns__svcb-port-malformed-f00002-0.bin",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_file(bad[i], r), DNS_OK);
		assert_int_equal(r->n_bad_svcb, 1);
		assert_int_equal(r->n_names, 1);
		assert_int_equal(r->n_addrs, 0);
	}
	free(r);
}

static int parse_query_file(const char *rel, struct dns_query *q)
{
	char path[512];
	size_t len;
	uint8_t *buf;
	int rc;

	snprintf(path, sizeof(path), "%s/dns/real/%s", TEST_DATA, rel);
	buf = read_file(path, &len);
	rc = parse_query_exact(buf, len, q);
	free(buf);
	return rc;
}

static void test_real_queries(void **state)
{
	(void)state;
	struct dns_query q;

	assert_int_equal(parse_query_file("zeek__Traces__dns-https-f00001-0.bin", &q), DNS_OK);
	assert_int_equal(q.id, 62111);
	assert_int_equal(q.qtype, T_HTTPS);
	assert_int_equal(q.qclass, C_IN);
	assert_string_equal(q.name, "cloudflare.com");

	assert_int_equal(parse_query_file("zeek__Traces__dns-svcb-f00001-0.bin", &q), DNS_OK);
	assert_int_equal(q.id, 51556);
	assert_int_equal(q.qtype, T_SVCB);
	assert_string_equal(q.name, "example.com");

	/* the reply to it */
	assert_int_equal(parse_query_file("zeek__Traces__dns-svcb-f00002-0.bin", &q),
			 DNS_E_NOTQUERY);
}

/* Every query dnspython accepts in the shared data set, against its view (mkqueries.py). */
static void test_queries_against_dnspython(void **state)
{
	(void)state;
	struct bench b;
	struct dns_query q;
	struct dns_reply *r = reply_new();
	FILE *ex = fopen(TEST_DATA "/dns/expect-queries.tsv", "r");
	char *line = NULL, *f[7];
	size_t cap = 0, idx = 0, ok = 0;
	const uint8_t *msg;
	size_t len;

	assert_non_null(ex);
	b.buf = read_file(TEST_DATA "/dns/queries.u16be-len-prefixed.bin", &b.len);
	b.pos = 0;
	while (bench_next(&b, &msg, &len)) {
		do {
			assert_true(getline(&line, &cap, ex) > 0);
		} while (line[0] == '#');
		assert_int_equal(split_tabs(line, f, 7), 7);
		assert_int_equal(strtoul(f[0], NULL, 10), idx);

		int rc = parse_query_exact(msg, len, &q);

		if (rc != atoi(f[2]))
			fail_msg("query %zu (%s): got %d (%s), dnspython view says %s", idx, f[1],
				 rc, dns_strerror(rc), f[2]);
		assert_int_equal(q.id, strtoul(f[3], NULL, 10));
		if (rc == DNS_OK) {
			assert_int_equal(q.qtype, strtoul(f[4], NULL, 10));
			assert_int_equal(q.qclass, strtoul(f[5], NULL, 10));
			if (strcmp(q.name, f[6]) != 0)
				fail_msg("query %zu (%s): name '%s', expected '%s'", idx, f[1],
					 q.name, f[6]);
			ok++;
		}
		/* and the reply parser refuses every one of them */
		assert_int_equal(parse_exact(msg, len, r), DNS_E_NOTREPLY);
		/* every prefix: a known status, never an overread */
		for (size_t n = 0; n < len; n++)
			assert_true(status_known(parse_query_exact(msg, n, &q)));
		idx++;
	}
	assert_int_equal(idx, 427);
	assert_int_equal(ok, 392);

	/* and the query parser refuses every reply of the response benchmark */
	free(b.buf);
	bench_open(&b);
	while (bench_next(&b, &msg, &len))
		assert_int_equal(parse_query_exact(msg, len, &q), DNS_E_NOTQUERY);
	free(line);
	fclose(ex);
	free(b.buf);
	free(r);
}

/*
 * Inputs that once broke a parser (fuzzing, see tests/fuzz/) or stress a rule: every file
 * goes through both parsers with the invariants checked. The tcpdns part of the fuzz
 * harness replays them in test_tcpdns.
 */
static void test_regressions(void **state)
{
	(void)state;
	const char *dir = TEST_DATA "/dns/regress";
	DIR *d = opendir(dir);
	struct dirent *e;
	struct dns_reply *r = reply_new();
	struct dns_query q;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[1024];
		uint8_t *buf;
		size_t len;

		if (e->d_name[0] == '.' || !strstr(e->d_name, ".bin"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		buf = read_file(path, &len);

		int rc = parse_exact(buf, len, r);

		assert_true(status_known(rc));
		if (rc >= DNS_OK)
			check_invariants(r);
		rc = parse_query_exact(buf, len, &q);
		assert_true(status_known(rc));
		if (rc == DNS_OK)
			assert_true(strlen(q.name) >= 1 && strlen(q.name) < DNS_NAME_MAX);
		free(buf);
		n++;
	}
	closedir(d);
	assert_true(n > 0);
	free(r);
}

/* ---- fuzz corpora ---- */

static size_t run_corpus(const char *dir, size_t *ok)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct dns_reply *r = reply_new();
	size_t n = 0;

	if (!d)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d))) {
		char path[1024];
		uint8_t *buf;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		buf = read_file(path, &len);

		int rc = parse_exact(buf, len, r);

		assert_true(status_known(rc));
		if (rc >= DNS_OK) {
			check_invariants(r);
			(*ok)++;
		}
		free(buf);
		n++;
	}
	closedir(d);
	free(r);
	return n;
}

static void test_fuzz_corpora(void **state)
{
	(void)state;
	size_t ok = 0;

	assert_int_equal(run_corpus(TEST_DATA "/dns/fuzz/c-ares/corpus", &ok), 74);
	assert_int_equal(run_corpus(TEST_DATA "/dns/fuzz/bind9/corpus", &ok), 300);
	assert_true(ok > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_captures),
		cmocka_unit_test(test_bench_against_dnspython),
		cmocka_unit_test(test_bench_truncations_and_mutations),
		cmocka_unit_test(test_fuzz_corpora),
		cmocka_unit_test(test_real_svcb),
		cmocka_unit_test(test_real_queries),
		cmocka_unit_test(test_queries_against_dnspython),
		cmocka_unit_test(test_regressions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
