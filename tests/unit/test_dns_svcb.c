/*
 * Unit tests for the DNS parser: address hints from HTTPS/SVCB records, malformed
 * parameters and targets, limits, and the RFC 9460 and unbound test vectors.
 */
#include "dns_build.h"

#include <stdio.h>
#include <arpa/inet.h>

/* ---- SVCB / HTTPS ---- */

/*
 * An SVCB or HTTPS record: the fixed part, priority, an uncompressed target ("" = root),
 * then params as prepared by svc_param.
 */
static void rr_svcb(struct msg *m, unsigned type, uint32_t ttl, unsigned prio, const char *target,
		    const struct msg *params)
{
	size_t len_at;

	rr_fixed(m, type, C_IN, ttl, 0);
	len_at = m->n - 2;
	put16(m, prio);
	putname(m, target);
	if (params)
		putbytes(m, params->b, params->n);
	m->b[len_at] = (uint8_t)((m->n - len_at - 2) >> 8);
	m->b[len_at + 1] = (uint8_t)(m->n - len_at - 2);
}

static void svc_param(struct msg *p, unsigned key, const void *v, size_t n)
{
	put16(p, key);
	put16(p, (unsigned)n);
	putbytes(p, v, n);
}

static const uint8_t v6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t v6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [13] = 0x53, [15] = 0x01 };

static void test_https_service_self(void **state)
{
	(void)state;
	static struct msg m, p;
	struct dns_reply *r = reply_new();

	p.n = 0;
	svc_param(&p, 1, "\x02h2\x02h3", 6);
	svc_param(&p, 4, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	svc_param(&p, 5, "\x00\x03xyz", 5);	/* ech: opaque */
	svc_param(&p, 6, v6_a, 16);
	svc_param(&p, 667, "hello", 5);		/* unknown keys are fine */
	hdr(&m, 40, F_REPLY, 1, 1, 0, 0);
	question(&m, "svc.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 300, 1, "", &p);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 0);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_chain, 1);
	assert_int_equal(r->n_addrs, 3);
	assert_hint(&r->addrs[0], AF_INET, "\xc0\x00\x02\x01", 0, 0, 300);
	assert_hint(&r->addrs[1], AF_INET, "\xc0\x00\x02\x02", 0, 0, 300);
	assert_hint(&r->addrs[2], AF_INET6, v6_a, 0, 0, 300);
	check_invariants(r);

	/* SVCB (64) is read the same way; a TTL with the top bit set reads as 0 */
	hdr(&m, 40, F_REPLY, 1, 1, 0, 0);
	question(&m, "_dns.resolver.arpa", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_SVCB, 0x80000000u, 1, "", &p);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, 3);
	assert_int_equal(r->addrs[0].ttl, 0);
	free(r);
}

static void test_https_service_target(void **state)
{
	(void)state;
	static struct msg m, p;
	struct dns_reply *r = reply_new();
	size_t c_off;

	/* www.example -> CNAME cdn.example; HTTPS cdn.example 1 pool.cdn.net with hints, and an
	 * A record of the target in the answer too */
	p.n = 0;
	svc_param(&p, 3, "\x01\xbb", 2);
	svc_param(&p, 4, "\xc6\x33\x64\x01", 4);
	svc_param(&p, 6, v6_b, 16);
	hdr(&m, 41, F_REPLY, 1, 3, 0, 0);
	question(&m, "www.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	c_off = rr_cname(&m, 60, "cdn.example", 0);
	putptr(&m, c_off);
	rr_svcb(&m, T_HTTPS, 120, 2, "Pool.CDN.net", &p);
	putname(&m, "pool.cdn.net");
	rr_a(&m, 30, 198, 51, 100, 2);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_chain, 2);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[1], "cdn.example");
	assert_string_equal(r->names[2], "pool.cdn.net");
	assert_int_equal(r->n_addrs, 3);
	assert_hint(&r->addrs[0], AF_INET, "\xc6\x33\x64\x01", 1, 2, 120);
	assert_hint(&r->addrs[1], AF_INET6, v6_b, 1, 2, 120);
	assert_a(&r->addrs[2], 2, 198, 51, 100, 2);
	assert_int_equal(r->addrs[2].kind, DNS_ADDR_A);
	check_invariants(r);

	/* owned by a name outside the chain: neither the target nor the hints are taken */
	hdr(&m, 41, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.example", T_HTTPS);
	putname(&m, "evil.example");
	rr_svcb(&m, T_HTTPS, 120, 1, "bank.example", &p);
	putname(&m, "bank.example");
	rr_a(&m, 30, 6, 6, 6, 6);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 0);

	/* a record owned by a target (not by the chain) gives neither hints nor targets */
	hdr(&m, 41, F_REPLY, 1, 3, 0, 0);
	question(&m, "www.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 120, 0, "svc.example.net", NULL);
	putname(&m, "svc.example.net");
	rr_svcb(&m, T_HTTPS, 120, 1, "", &p);
	putname(&m, "svc.example.net");
	rr_svcb(&m, T_HTTPS, 120, 1, "other.example.net", &p);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "svc.example.net");
	assert_int_equal(r->n_addrs, 0);
	check_invariants(r);

	/* the target may be the owner spelled out, or a chain name: no duplicate name */
	hdr(&m, 41, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 120, 1, "WWW.example", &p);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 2);
	assert_int_equal(r->addrs[0].target, 0);
	check_invariants(r);
	free(r);
}

static void test_https_alias_mode(void **state)
{
	(void)state;
	static struct msg m, p;
	struct dns_reply *r = reply_new();

	/* AliasMode: the target joins the names; params are ignored, even malformed ones */
	p.n = 0;
	svc_param(&p, 4, "\x01\x02\x03\x04\x05", 5);
	hdr(&m, 42, F_REPLY, 1, 1, 0, 0);
	question(&m, "example.com", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 60, 0, "svc.example.net", &p);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 0);
	assert_int_equal(r->n_chain, 1);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "svc.example.net");
	assert_int_equal(r->n_addrs, 0);
	check_invariants(r);

	/* AliasMode to "." says the service does not exist: nothing is added */
	hdr(&m, 42, F_REPLY, 1, 1, 0, 0);
	question(&m, "example.com", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 60, 0, "", NULL);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_bad_svcb, 0);
	free(r);
}

/* One HTTPS record with the given params after an A record; returns the status. */
static int parse_https_params(struct dns_reply *r, const struct msg *p, const char *target)
{
	static struct msg m;

	hdr(&m, 43, F_REPLY, 1, 2, 0, 0);
	question(&m, "bad.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 5, 10, 9, 9, 9);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 60, 1, target, p);
	return parse(&m, r);
}

/* A malformed record is skipped and counted; the rest of the answer still counts. */
static void assert_svcb_skipped(struct dns_reply *r, const struct msg *p, const char *target)
{
	assert_int_equal(parse_https_params(r, p, target), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 10, 9, 9, 9);
}

static void test_svcb_malformed_params(void **state)
{
	(void)state;
	static struct msg p;
	struct dns_reply *r = reply_new();
	static const struct {
		unsigned key;
		const char *v;
		size_t n;
	} bad_values[] = {
		{ 4, "\x01\x02\x03\x04\x05\x06", 6 },	/* ipv4hint not a multiple of 4 */
		{ 4, "", 0 },				/* empty ipv4hint */
		{ 6, "0123456789abcdef0123", 20 },	/* ipv6hint not a multiple of 16 */
		{ 6, "", 0 },
		{ 3, "\x01\xbb\x00", 3 },		/* port of 3 bytes */
		{ 2, "x", 1 },				/* no-default-alpn with a value */
		{ 8, "x", 1 },				/* ohttp with a value */
		{ 1, "", 0 },				/* empty alpn */
		{ 1, "\x02h2\x08h3", 6 },		/* alpn id past the value */
		{ 1, "\x02h2\x00", 4 },			/* empty alpn id */
		{ 0, "\x00\x00", 2 },			/* mandatory lists itself */
		{ 0, "\x00\x04\x00\x01", 4 },		/* mandatory not increasing */
		{ 0, "\x00\x04\x00", 3 },		/* mandatory of odd length */
		{ 65535, "", 0 },			/* the invalid key */
	};

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		p.n = 0;
		svc_param(&p, bad_values[i].key, bad_values[i].v, bad_values[i].n);
		assert_svcb_skipped(r, &p, "");
	}

	/* keys repeated or decreasing */
	p.n = 0;
	svc_param(&p, 4, "\x01\x02\x03\x04", 4);
	svc_param(&p, 4, "\x01\x02\x03\x05", 4);
	assert_svcb_skipped(r, &p, "");
	p.n = 0;
	svc_param(&p, 6, v6_a, 16);
	svc_param(&p, 4, "\x01\x02\x03\x04", 4);
	assert_svcb_skipped(r, &p, "t.example");

	/* a param running past the rdata; a param header cut short */
	p.n = 0;
	put16(&p, 4);
	put16(&p, 8);
	putbytes(&p, "\x01\x02\x03\x04", 4);
	assert_svcb_skipped(r, &p, "");
	p.n = 0;
	put16(&p, 4);
	put8(&p, 0);
	assert_svcb_skipped(r, &p, "");

	/* a valid set for comparison: mandatory, alpn, no-default-alpn, port, ohttp */
	p.n = 0;
	svc_param(&p, 0, "\x00\x01\x00\x03", 4);
	svc_param(&p, 1, "\x02h2", 3);
	svc_param(&p, 2, "", 0);
	svc_param(&p, 3, "\x01\xbb", 2);
	svc_param(&p, 4, "\x01\x02\x03\x04", 4);
	svc_param(&p, 8, "", 0);
	assert_int_equal(parse_https_params(r, &p, ""), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 0);
	assert_int_equal(r->n_addrs, 2);
	check_invariants(r);
	free(r);
}

static void test_svcb_malformed_target(void **state)
{
	(void)state;
	static struct msg m;
	struct dns_reply *r = reply_new();
	char label[70];
	size_t len_at;

	/* rdata of only a priority (zeek's svcb-rdlength-mismatch) */
	hdr(&m, 44, F_REPLY, 1, 2, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_SVCB, C_IN, 60, 2);
	put16(&m, 1);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 5, 10, 9, 9, 9);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);
	assert_int_equal(r->n_addrs, 1);

	/* a compressed TargetName (RFC 9460 forbids compression) */
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_SVCB, C_IN, 60, 4);
	put16(&m, 1);
	putptr(&m, QNAME_OFF);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);
	assert_int_equal(r->n_names, 1);

	/* a TargetName running past the rdata, and one with a 64-byte label */
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_SVCB, C_IN, 60, 5);
	put16(&m, 1);
	putname(&m, "ab");
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);

	memset(label, 'a', 64);
	label[64] = '\0';
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_SVCB, 60, 0, label, NULL);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);
	assert_int_equal(r->n_names, 1);

	/* a TargetName of 70 escaped bytes: valid on the wire, too long presented */
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_SVCB, C_IN, 60, 0);
	len_at = m.n - 2;
	put16(&m, 0);
	put8(&m, 63);
	for (int i = 0; i < 63; i++)
		put8(&m, 0xff);
	put8(&m, 5);
	putbytes(&m, "\x01\x02\x03\x04\x05", 5);
	put8(&m, 0);
	m.b[len_at + 1] = (uint8_t)(m.n - len_at - 2);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_bad_svcb, 1);
	assert_int_equal(r->n_names, 1);

	/* rdata past the message is still a framing error of the whole message */
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_SVCB, C_IN, 60, 40);
	put16(&m, 1);
	put8(&m, 0);
	assert_int_equal(parse(&m, r), DNS_E_SHORT);

	/* a bad owner name fails the message as for any record we use */
	hdr(&m, 44, F_REPLY, 1, 1, 0, 0);
	question(&m, "bad.example", T_SVCB);
	putptr(&m, m.n + 2);
	rr_svcb(&m, T_SVCB, 60, 1, "", NULL);
	assert_int_equal(parse(&m, r), DNS_E_NAME);
	free(r);
}

static void test_svcb_limits(void **state)
{
	(void)state;
	static struct msg m, p;
	struct dns_reply *r = reply_new();
	char name[32];

	/* more ipv4hints than DNS_ADDRS_MAX in one record: what fits is kept, partial */
	const size_t nh = DNS_ADDRS_MAX + 100;
	uint8_t *v4 = malloc(4 * nh);

	assert_non_null(v4);
	for (size_t i = 0; i < nh; i++) {
		v4[4 * i] = 10;
		v4[4 * i + 1] = 1;
		v4[4 * i + 2] = (uint8_t)(i >> 8);
		v4[4 * i + 3] = (uint8_t)i;
	}
	p.n = 0;
	svc_param(&p, 4, v4, 4 * nh);
	free(v4);
	hdr(&m, 45, F_REPLY, 1, 1, 0, 0);
	question(&m, "many.example", T_HTTPS);
	putptr(&m, QNAME_OFF);
	rr_svcb(&m, T_HTTPS, 60, 1, "", &p);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_LIMIT);
	assert_int_equal(r->n_addrs, DNS_ADDRS_MAX);
	assert_hint(&r->addrs[DNS_ADDRS_MAX - 1], AF_INET, "\x0a\x01\x11\x0f", 0, 0, 60);
	check_invariants(r);

	/* 20 ServiceMode records with distinct targets: all kept */
	p.n = 0;
	svc_param(&p, 4, "\x0a\x02\x00\x01", 4);
	hdr(&m, 45, F_REPLY, 1, 20, 0, 0);
	question(&m, "many.example", T_HTTPS);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "t%u.example", i);
		putptr(&m, QNAME_OFF);
		rr_svcb(&m, T_HTTPS, 60, 1 + i, name, &p);
	}
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 21);
	assert_string_equal(r->names[20], "t19.example");
	assert_int_equal(r->n_addrs, 20);
	check_invariants(r);

	/* more targets than the parser links: the hints of those that did not fit are dropped */
	hdr(&m, 45, F_REPLY, 1, 200, 0, 0);
	question(&m, "many.example", T_HTTPS);
	for (unsigned i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "t%u.example", i);
		putptr(&m, QNAME_OFF);
		rr_svcb(&m, T_HTTPS, 60, 1 + i, name, &p);
	}
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_LIMIT);
	assert_true(r->n_names > 21 && r->n_names <= DNS_NAMES_MAX);
	assert_int_equal(r->n_addrs, r->n_names - 1);
	check_invariants(r);
	free(r);
}

/* RFC 9460 Appendix D vectors: build a reply around each rdata and compare the result with
 * dnspython's presentation of the same rdata. */
static size_t hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < max; hex += 2) {
		unsigned v;

		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* Addresses listed after key= in a presentation such as ipv4hint="1.2.3.4,5.6.7.8". */
static size_t pres_hints(const char *pres, const char *key, int family, uint8_t (*out)[16])
{
	const char *s = strstr(pres, key);
	size_t n = 0;
	char list[512], *save = NULL;

	if (!s)
		return 0;
	s += strlen(key);
	if (*s == '"')
		s++;
	snprintf(list, sizeof(list), "%.*s", (int)strcspn(s, "\" \t"), s);
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		memset(out[n], 0, 16);
		assert_int_equal(inet_pton(family, tok, out[n]), 1);
		n++;
	}
	return n;
}

static void test_svcb_rfc9460_vectors(void **state)
{
	(void)state;
	FILE *f = fopen(TEST_DATA "/dns/svcb/rfc9460-vectors.tsv", "r");
	char *line = NULL, *fl[5];
	size_t cap = 0, rows = 0, hints = 0;
	static struct msg m;
	struct dns_reply *r = reply_new();

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		uint8_t rd[512], want[32][16];
		char owner[256], target[256];
		unsigned prio;

		if (line[0] == '#')
			continue;
		assert_true(split_tabs(line, fl, 5) >= 4);
		size_t rdlen = hex_decode(fl[2], rd, sizeof(rd));

		snprintf(owner, sizeof(owner), "%.*s", (int)strlen(fl[0]) - 1, fl[0]);
		assert_int_equal(sscanf(fl[3], "%u %255s", &prio, target), 2);
		target[strlen(target) - 1] = '\0';	/* trailing dot ("." becomes "") */

		unsigned type = strcmp(fl[1], "HTTPS") == 0 ? T_HTTPS : T_SVCB;

		hdr(&m, 46, F_REPLY, 1, 1, 0, 0);
		question(&m, owner, type);
		putptr(&m, QNAME_OFF);
		rr_fixed(&m, type, C_IN, 3600, (unsigned)rdlen);
		putbytes(&m, rd, rdlen);

		assert_int_equal(parse(&m, r), DNS_OK);
		assert_int_equal(r->n_bad_svcb, 0);
		check_invariants(r);
		if (target[0]) {
			assert_int_equal(r->n_names, 2);
			assert_string_equal(r->names[1], target);
		} else {
			assert_int_equal(r->n_names, 1);
		}

		size_t n4 = pres_hints(fl[3], "ipv4hint=", AF_INET, want);
		size_t n6 = pres_hints(fl[3], "ipv6hint=", AF_INET6, want + n4);

		if (prio == 0)
			n4 = n6 = 0;
		assert_int_equal(r->n_addrs, n4 + n6);
		for (size_t i = 0; i < n4 + n6; i++)
			assert_hint(&r->addrs[i], i < n4 ? AF_INET : AF_INET6, want[i], 0,
				    target[0] ? 1 : 0, 3600);
		hints += n4 + n6;
		rows++;
	}
	assert_int_equal(rows, 20);
	assert_int_equal(hints, 8);
	free(line);
	fclose(f);
	free(r);
}

/* unbound testdata/iter_svcb_malformed.rpl: HTTPS rdata from its test scenario */
static void test_svcb_unbound_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *hex;
		unsigned bad, addrs;
	} cases[] = {
		/* alpn="h2" alpn="h3": a key repeated */
		{ "0001000001000302683200010003026833", 1, 0 },
		/* alpn of length 4 with 2 bytes left */
		{ "000100000100040268", 1, 0 },
		/* valid: alpn="h2,h3" ipv4hint=1.2.3.4 */
		{ "0001000001000602683202683300040004" "01020304", 0, 1 },
	};
	static struct msg m;
	struct dns_reply *r = reply_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t rd[64];
		size_t n = hex_decode(cases[i].hex, rd, sizeof(rd));

		hdr(&m, 47, F_REPLY, 1, 1, 0, 0);
		question(&m, "www.example.com", T_HTTPS);
		putptr(&m, QNAME_OFF);
		rr_fixed(&m, T_HTTPS, C_IN, 0, (unsigned)n);
		putbytes(&m, rd, n);
		assert_int_equal(parse(&m, r), DNS_OK);
		assert_int_equal(r->n_bad_svcb, cases[i].bad);
		assert_int_equal(r->n_addrs, cases[i].addrs);
	}
	assert_hint(&r->addrs[0], AF_INET, "\x01\x02\x03\x04", 0, 0, 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_service_self),
		cmocka_unit_test(test_https_service_target),
		cmocka_unit_test(test_https_alias_mode),
		cmocka_unit_test(test_svcb_malformed_params),
		cmocka_unit_test(test_svcb_malformed_target),
		cmocka_unit_test(test_svcb_limits),
		cmocka_unit_test(test_svcb_rfc9460_vectors),
		cmocka_unit_test(test_svcb_unbound_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
