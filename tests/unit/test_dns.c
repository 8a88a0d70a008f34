/*
 * Unit tests for the DNS reply parser: hand-built messages for each rule, real captured
 * replies, the benchmark set against dnspython-derived expectations, and fuzz corpora,
 * truncations and mutations that must never make the parser read out of bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "dns.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_OPT 41
#define T_DNAME 39
#define T_RRSIG 46
#define T_SVCB 64
#define T_HTTPS 65
#define C_IN 1
#define C_CH 3
#define F_QR 0x8000
#define F_RD 0x0100
#define F_RA 0x0080
#define F_TC 0x0200
#define F_REPLY (F_QR | F_RD | F_RA)
#define QNAME_OFF 12

/* ---- message builder ---- */

struct msg {
	uint8_t b[65535];
	size_t n;
};

static void put8(struct msg *m, unsigned v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void putbytes(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Appends the labels of a dotted name (no escapes); returns where they start. */
static size_t putlabels(struct msg *m, const char *dotted)
{
	size_t start = m->n;

	while (*dotted) {
		size_t l = strcspn(dotted, ".");

		put8(m, (unsigned)l);
		putbytes(m, dotted, l);
		dotted += l;
		if (*dotted == '.')
			dotted++;
	}
	return start;
}

static size_t putname(struct msg *m, const char *dotted)
{
	size_t start = putlabels(m, dotted);

	put8(m, 0);
	return start;
}

static void putptr(struct msg *m, size_t target)
{
	put16(m, 0xc000 | (unsigned)target);
}

/* Labels followed by a compression pointer; returns where the name starts. */
static size_t putname_ptr(struct msg *m, const char *dotted, size_t target)
{
	size_t start = putlabels(m, dotted);

	putptr(m, target);
	return start;
}

static void hdr(struct msg *m, uint16_t id, uint16_t flags, unsigned qd, unsigned an,
		unsigned ns, unsigned ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void question(struct msg *m, const char *name, unsigned qtype)
{
	putname(m, name);
	put16(m, qtype);
	put16(m, C_IN);
}

static void rr_fixed(struct msg *m, unsigned type, unsigned class, uint32_t ttl, unsigned rdlen)
{
	put16(m, type);
	put16(m, class);
	put32(m, ttl);
	put16(m, rdlen);
}

static void rr_a(struct msg *m, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t ip[4] = { a, b, c, d };

	rr_fixed(m, T_A, C_IN, ttl, 4);
	putbytes(m, ip, 4);
}

/*
 * CNAME record data as labels + pointer (ptr 0: no pointer) with a correct rdlength;
 * returns where the target name starts.
 */
static size_t rr_cname(struct msg *m, uint32_t ttl, const char *target, size_t ptr)
{
	size_t len_at;

	rr_fixed(m, T_CNAME, C_IN, ttl, 0);
	len_at = m->n - 2;
	if (ptr)
		putname_ptr(m, target, ptr);
	else
		putname(m, target);
	m->b[len_at] = (uint8_t)((m->n - len_at - 2) >> 8);
	m->b[len_at + 1] = (uint8_t)(m->n - len_at - 2);
	return len_at + 2;
}

/* Parses from an exactly sized heap copy so that ASan catches any overread. */
static int parse_exact(const uint8_t *data, size_t len, struct dns_reply *r)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, data, len);
	rc = dns_parse_reply(copy, len, r);
	free(copy);
	return rc;
}

static int parse(const struct msg *m, struct dns_reply *r)
{
	return parse_exact(m->b, m->n, r);
}

static struct dns_reply *reply_new(void)
{
	struct dns_reply *r = malloc(sizeof(*r));

	assert_non_null(r);
	memset(r, 0xa5, sizeof(*r));	/* catch fields the parser forgets to set */
	return r;
}

static void assert_a(const struct dns_addr *a, uint8_t owner, uint8_t x0, uint8_t x1,
		     uint8_t x2, uint8_t x3)
{
	const uint8_t want[16] = { x0, x1, x2, x3 };

	assert_int_equal(a->family, AF_INET);
	assert_memory_equal(a->a, want, 16);
	assert_int_equal(a->owner, owner);
}

/* What every successful parse must satisfy, whatever the input. */
static void check_invariants(const struct dns_reply *r)
{
	assert_true(r->n_names >= 1 && r->n_names <= DNS_NAMES_MAX);
	assert_true(r->n_chain >= 1 && r->n_chain <= r->n_names);
	assert_true(r->n_addrs <= DNS_ADDRS_MAX);
	for (size_t i = 0; i < r->n_names; i++) {
		const char *s = r->names[i];
		size_t n = strnlen(s, DNS_NAME_MAX);

		assert_true(n >= 1 && n < DNS_NAME_MAX);
		if (strcmp(s, ".") == 0)
			continue;
		assert_true(s[0] != '.' && s[n - 1] != '.');
		for (size_t k = 0; k < n; k++) {
			char c = s[k];

			if (c == '\\') {
				assert_true(k + 3 < n);
				assert_true(isdigit((unsigned char)s[k + 1]) &&
					    isdigit((unsigned char)s[k + 2]) &&
					    isdigit((unsigned char)s[k + 3]));
				int v = (s[k + 1] - '0') * 100 + (s[k + 2] - '0') * 10 + s[k + 3] - '0';

				/* canonical: only bytes without a plain form are escaped */
				assert_true(v < 256 && !isalnum(v) && v != '-' && v != '_');
				k += 3;
				continue;
			}
			if (c == '.') {
				assert_true(s[k + 1] != '.');
				continue;
			}
			assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
				    c == '_');
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(r->names[j], s);
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct dns_addr *a = &r->addrs[i];

		assert_true(a->family == AF_INET || a->family == AF_INET6);
		assert_true(a->owner < r->n_names);
		assert_true(a->target < r->n_names);
		switch (a->kind) {
		case DNS_ADDR_A:
			assert_int_equal(a->family, AF_INET);
			assert_int_equal(a->target, a->owner);
			break;
		case DNS_ADDR_AAAA:
			assert_int_equal(a->family, AF_INET6);
			assert_int_equal(a->target, a->owner);
			break;
		case DNS_ADDR_HINT:
			/* only records owned by the chain give hints */
			assert_true(a->owner < r->n_chain);
			break;
		default:
			fail_msg("address %zu has kind %u", i, a->kind);
		}
		assert_true(a->ttl <= 0x7fffffffu);
		if (a->family == AF_INET) {
			static const uint8_t zero[12];

			assert_memory_equal(a->a + 4, zero, 12);
		}
	}
}

static bool status_known(int rc)
{
	return rc <= DNS_PARTIAL && rc >= DNS_E_OPCODE;
}

/* ---- hand-built messages ---- */

static void test_single_a(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 0xbeef, F_REPLY, 1, 1, 0, 0);
	question(&m, "example.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 93, 184, 216, 34);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->id, 0xbeef);
	assert_int_equal(r->qtype, T_A);
	assert_int_equal(r->rcode, 0);
	assert_false(r->truncated);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "example.com");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 93, 184, 216, 34);
	assert_int_equal(r->addrs[0].ttl, 300);
	check_invariants(r);
	free(r);
}

static void test_single_aaaa(void **state)
{
	(void)state;
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 1, F_REPLY, 1, 1, 0, 0);
	question(&m, "v6.example.net", T_AAAA);
	putname(&m, "v6.example.net");	/* uncompressed owner */
	rr_fixed(&m, T_AAAA, C_IN, 7200, 16);
	putbytes(&m, ip6, 16);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->qtype, T_AAAA);
	assert_int_equal(r->n_addrs, 1);
	assert_int_equal(r->addrs[0].family, AF_INET6);
	assert_memory_equal(r->addrs[0].a, ip6, 16);
	assert_int_equal(r->addrs[0].ttl, 7200);
	assert_int_equal(r->addrs[0].owner, 0);
	check_invariants(r);
	free(r);
}

static void test_cname_chain_in_order(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	size_t b_off, c_off;

	/* www.shop.example -> b.cdn -> edge.cdn, compressed the way servers do it */
	hdr(&m, 2, F_REPLY, 1, 4, 0, 0);
	question(&m, "www.shop.example", T_A);
	putptr(&m, QNAME_OFF);
	b_off = rr_cname(&m, 60, "b.cdn", 0);
	putptr(&m, b_off);
	c_off = rr_cname(&m, 60, "edge", b_off + 2);
	putptr(&m, c_off);
	rr_a(&m, 20, 192, 0, 2, 1);
	putptr(&m, c_off);
	rr_a(&m, 20, 192, 0, 2, 2);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[0], "www.shop.example");
	assert_string_equal(r->names[1], "b.cdn");
	assert_string_equal(r->names[2], "edge.cdn");
	assert_int_equal(r->n_addrs, 2);
	assert_a(&r->addrs[0], 2, 192, 0, 2, 1);
	assert_a(&r->addrs[1], 2, 192, 0, 2, 2);
	assert_int_equal(r->addrs[0].ttl, 20);
	check_invariants(r);
	free(r);
}

static void test_cname_chain_reversed(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 3, F_REPLY, 1, 4, 0, 0);
	question(&m, "www.shop.example", T_A);
	putname(&m, "edge.cdn");
	rr_a(&m, 20, 192, 0, 2, 7);
	putname(&m, "b.cdn");
	rr_cname(&m, 60, "edge.cdn", 0);
	putname(&m, "www.shop.example");
	rr_cname(&m, 60, "b.cdn", 0);
	putname(&m, "edge.cdn");
	rr_fixed(&m, T_AAAA, C_IN, 20, 16);
	putbytes(&m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[1], "b.cdn");
	assert_string_equal(r->names[2], "edge.cdn");
	assert_int_equal(r->n_addrs, 2);
	assert_a(&r->addrs[0], 2, 192, 0, 2, 7);
	assert_int_equal(r->addrs[1].family, AF_INET6);
	assert_int_equal(r->addrs[1].owner, 2);
	check_invariants(r);
	free(r);
}

static void test_cname_loop(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* q -> b -> q, plus a self-loop on an unrelated name */
	hdr(&m, 4, F_REPLY, 1, 4, 0, 0);
	question(&m, "q.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_cname(&m, 1, "b.example", 0);
	putname(&m, "b.example");
	rr_cname(&m, 1, "", QNAME_OFF);
	putname(&m, "self.example");
	rr_cname(&m, 1, "self.example", 0);
	putname(&m, "b.example");
	rr_a(&m, 1, 10, 0, 0, 1);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "b.example");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 10, 0, 0, 1);
	check_invariants(r);
	free(r);
}

static void test_cname_self_loop_on_qname(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 4, F_REPLY, 1, 2, 0, 0);
	question(&m, "q.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_cname(&m, 1, "", QNAME_OFF);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 10, 0, 0, 2);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 10, 0, 0, 2);
	free(r);
}

static void test_unrelated_not_attributed(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 5, F_REPLY, 1, 5, 0, 0);
	question(&m, "bank.example", T_A);
	putname(&m, "evil.example");
	rr_a(&m, 1, 6, 6, 6, 6);
	putname(&m, "evil.example");	/* a CNAME *to* the chain does not pull evil in */
	rr_cname(&m, 1, "", QNAME_OFF);
	putname(&m, "other.example");
	rr_cname(&m, 1, "evil.example", 0);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 2, 3, 4);
	putname(&m, "bank.example.evil");	/* same prefix, different name */
	rr_a(&m, 1, 6, 6, 6, 7);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 1, 2, 3, 4);
	free(r);
}

static void test_forward_pointer_rejected(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* in the question: points at its own following bytes */
	hdr(&m, 6, F_REPLY, 1, 0, 0, 0);
	putlabels(&m, "www");
	putptr(&m, 18);
	putname(&m, "example");
	put16(&m, T_A);
	put16(&m, C_IN);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* in an answer owner */
	hdr(&m, 6, F_REPLY, 1, 1, 0, 0);
	question(&m, "example", T_A);
	putptr(&m, m.n + 2);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* in CNAME rdata, pointing into the following record */
	hdr(&m, 6, F_REPLY, 1, 2, 0, 0);
	question(&m, "example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 1, 2);
	putptr(&m, m.n + 2);
	putname(&m, "target");
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* a pointer into the header, which holds no names */
	hdr(&m, 6, F_REPLY, 1, 1, 0, 0);
	question(&m, "example", T_A);
	putptr(&m, 2);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);
	free(r);
}

static void test_pointer_loop_rejected(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	size_t at;

	/* pointer to itself */
	hdr(&m, 7, F_REPLY, 1, 1, 0, 0);
	question(&m, "example", T_A);
	at = m.n;
	putptr(&m, at);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* a label then a pointer back to the start of the same name */
	hdr(&m, 7, F_REPLY, 1, 1, 0, 0);
	question(&m, "example", T_A);
	at = m.n;
	putname_ptr(&m, "x", at);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* two names pointing at each other: one of the two pointers is a forward one */
	hdr(&m, 7, F_REPLY, 1, 2, 0, 0);
	question(&m, "example", T_A);
	at = m.n;
	putname_ptr(&m, "a", at + 2 + 2 + 10 + 4);
	rr_a(&m, 1, 1, 1, 1, 1);
	putname_ptr(&m, "b", at);
	rr_a(&m, 1, 1, 1, 1, 2);
	assert_int_equal(parse(&m, r), DNS_E_NAME);
	free(r);
}

/* A pointer-to-pointer chain of `hops` pointers stored in a TXT rdata, then an A record. */
static void build_hops(struct msg *m, unsigned hops)
{
	size_t prev = QNAME_OFF;

	hdr(m, 8, F_REPLY, 1, 2, 0, 0);
	question(m, "deep.example", T_A);
	putptr(m, QNAME_OFF);
	rr_fixed(m, T_TXT, C_IN, 1, 2 * (hops - 1));
	for (unsigned i = 0; i + 1 < hops; i++) {
		size_t here = m->n;

		putptr(m, prev);
		prev = here;
	}
	putptr(m, prev);
	rr_a(m, 1, 9, 9, 9, 9);
}

static void test_pointer_hops_bounded(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	build_hops(&m, 60);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 9, 9, 9, 9);

	/* the TXT record before it stands: partial, nothing learned */
	build_hops(&m, 65);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_NAME);
	assert_int_equal(r->n_addrs, 0);
	free(r);
}

static void test_label_too_long(void **state)
{
	(void)state;
	char label[65];
	struct msg m;
	struct dns_reply *r = reply_new();

	memset(label, 'a', 64);
	label[64] = '\0';
	hdr(&m, 9, F_REPLY, 1, 0, 0, 0);
	question(&m, label, T_A);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	label[63] = '\0';
	hdr(&m, 9, F_REPLY, 1, 0, 0, 0);
	question(&m, label, T_A);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_string_equal(r->names[0], label);

	/* extended label types 0x40 and 0x80 */
	for (unsigned t = 0x40; t <= 0x80; t += 0x40) {
		hdr(&m, 9, F_REPLY, 1, 0, 0, 0);
		put8(&m, t | 1);
		put8(&m, 'x');
		put8(&m, 0);
		put16(&m, T_A);
		put16(&m, C_IN);
		assert_int_equal(parse(&m, r), DNS_E_NAME);
	}
	free(r);
}

/* A name of exactly `chars` presentation characters built from 63-byte labels. */
static void make_long_name(char *buf, size_t chars)
{
	size_t i;

	for (i = 0; i < chars; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'a' + (char)(i % 26);
	buf[i] = '\0';
}

static void test_name_too_long(void **state)
{
	(void)state;
	char name[300];
	struct msg m;
	struct dns_reply *r = reply_new();

	make_long_name(name, 253);
	hdr(&m, 10, F_REPLY, 1, 1, 0, 0);
	question(&m, name, T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(strlen(r->names[0]), 253);
	assert_string_equal(r->names[0], name);

	make_long_name(name, 254);
	hdr(&m, 10, F_REPLY, 1, 0, 0, 0);
	question(&m, name, T_A);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* short on the wire, too long once a suffix is appended through a pointer */
	make_long_name(name, 200);
	hdr(&m, 10, F_REPLY, 1, 1, 0, 0);
	question(&m, name, T_A);
	putname_ptr(&m, "012345678901234567890123456789012345678901234567890123456789", QNAME_OFF);
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_E_NAME);

	/* 70 wire bytes, but each escaped byte takes four characters: 280 > 253 */
	hdr(&m, 10, F_REPLY, 1, 0, 0, 0);
	put8(&m, 63);
	for (int i = 0; i < 63; i++)
		put8(&m, 0xff);
	put8(&m, 5);
	putbytes(&m, "\x01\x02\x03\x04\x05", 5);
	put8(&m, 0);
	put16(&m, T_A);
	put16(&m, C_IN);
	assert_int_equal(parse(&m, r), DNS_E_NAME);
	free(r);
}

static void test_rcode_nxdomain(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 0x1234, F_REPLY | 3, 1, 0, 1, 0);
	question(&m, "nope.example", T_AAAA);
	putname(&m, "example");
	rr_fixed(&m, 6, C_IN, 1, 0);	/* SOA with empty rdata: never looked at */
	assert_int_equal(parse(&m, r), DNS_E_RCODE);
	assert_int_equal(r->id, 0x1234);
	assert_int_equal(r->rcode, 3);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "nope.example");
	assert_int_equal(r->qtype, T_AAAA);
	assert_int_equal(r->n_addrs, 0);

	/* SERVFAIL without a question still reports the rcode */
	hdr(&m, 0x1235, F_REPLY | 2, 0, 0, 0, 0);
	assert_int_equal(parse(&m, r), DNS_E_RCODE);
	assert_int_equal(r->id, 0x1235);
	assert_int_equal(r->rcode, 2);
	assert_int_equal(r->n_names, 0);
	assert_int_equal(r->n_addrs, 0);
	free(r);
}

static void test_qdcount(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 11, F_REPLY, 2, 0, 0, 0);
	question(&m, "a.example", T_A);
	question(&m, "b.example", T_A);
	assert_int_equal(parse(&m, r), DNS_E_QDCOUNT);

	hdr(&m, 11, F_REPLY, 0, 0, 0, 0);
	assert_int_equal(parse(&m, r), DNS_E_QDCOUNT);
	free(r);
}

static void test_tc_bit(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 12, F_REPLY | F_TC, 1, 1, 0, 0);
	question(&m, "big.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 5, 10, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_true(r->truncated);
	assert_int_equal(r->n_addrs, 1);
	free(r);
}

static void test_edns_opt_and_trailing_data(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	size_t ex_off;

	hdr(&m, 13, F_REPLY, 1, 1, 1, 1);
	question(&m, "edns.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 5, 10, 2, 2, 2);
	ex_off = putname(&m, "example");
	rr_fixed(&m, T_NS, C_IN, 1, 5);
	putname_ptr(&m, "ns", ex_off);
	put8(&m, 0);	/* OPT: root owner, class = UDP size, ttl = ext rcode/flags */
	rr_fixed(&m, T_OPT, 1232, 0x00008000, 12);
	putbytes(&m, "\x00\x0a\x00\x08" "cookie!!", 12);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, 1);

	/* bytes after the last counted record (seen behind TCP framing) are ignored */
	putbytes(&m, "\xde\xad\xbe\xef junk", 9);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 10, 2, 2, 2);
	free(r);
}

static void test_uppercase_lowercased(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 14, F_REPLY, 1, 2, 0, 0);
	question(&m, "WWW.Example.COM", T_A);
	putname(&m, "www.EXAMPLE.com");
	rr_cname(&m, 1, "CDN.Provider.NET", 0);
	putname(&m, "cdn.provider.net");
	rr_a(&m, 1, 1, 1, 1, 1);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_string_equal(r->names[0], "www.example.com");
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "cdn.provider.net");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 1, 1, 1, 1);
	free(r);
}

static void test_escaped_bytes(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* one label "a.b" must not equal the two labels "a" "b" */
	hdr(&m, 15, F_REPLY, 1, 2, 0, 0);
	put8(&m, 3);
	putbytes(&m, "a.b", 3);
	put8(&m, 0);
	put16(&m, T_A);
	put16(&m, C_IN);
	putname(&m, "a.b");
	rr_a(&m, 1, 6, 6, 6, 6);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 7, 7, 7, 7);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_string_equal(r->names[0], "a\\046b");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 7, 7, 7, 7);

	/* space, backslash, NUL, high bytes, and the characters kept as they are */
	hdr(&m, 15, F_REPLY, 1, 1, 0, 0);
	put8(&m, 9);
	putbytes(&m, "x y\\\0\xff_-Z", 9);
	putname(&m, "Ex");
	put16(&m, T_A);
	put16(&m, C_IN);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 8, 8, 8, 8);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_string_equal(r->names[0], "x\\032y\\092\\000\\255_-z.ex");
	assert_int_equal(r->n_addrs, 1);
	check_invariants(r);
	free(r);
}

static void test_root_question(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 16, F_REPLY, 1, 0, 0, 0);
	put8(&m, 0);
	put16(&m, T_NS);
	put16(&m, C_IN);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_string_equal(r->names[0], ".");
	assert_int_equal(r->n_addrs, 0);
	free(r);
}

static void test_not_reply_and_short(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 17, F_RD, 1, 0, 0, 0);
	question(&m, "query.example", T_A);
	assert_int_equal(parse(&m, r), DNS_E_NOTREPLY);

	for (size_t n = 0; n < 12; n++)
		assert_int_equal(parse_exact(m.b, n, r), DNS_E_SHORT);

	hdr(&m, 17, F_REPLY, 1, 1, 0, 0);
	question(&m, "query.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 2, 3, 4);
	/* every cut inside the question or the answer is short */
	for (size_t n = 12; n < m.n; n++)
		assert_int_equal(parse_exact(m.b, n, r), DNS_E_SHORT);
	assert_int_equal(parse_exact(m.b, m.n, r), DNS_OK);

	/* ancount larger than what is present: the record that is there is used */
	m.b[7] = 2;
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_SHORT);
	assert_int_equal(r->n_addrs, 1);
	free(r);
}

static void test_bad_rdata(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_A, C_IN, 1, 3);
	putbytes(&m, "\1\2\3", 3);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_AAAA);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_AAAA, C_IN, 1, 4);
	putbytes(&m, "\1\2\3\4", 4);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* CNAME rdlength longer than the name */
	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 1, 3);
	putptr(&m, QNAME_OFF + 2);
	put8(&m, 0);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* CNAME name running past its rdlength */
	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 1, 2);
	putname(&m, "yy");
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* empty CNAME rdata, last in the message (found by fuzzing: read one byte past the
	 * end) and in the middle (would take the next record's owner for the target) */
	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 1, 0);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);
	hdr(&m, 18, F_REPLY, 1, 2, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 1, 0);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 2, 3, 4);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* rdlength past the end of the message */
	hdr(&m, 18, F_REPLY, 1, 1, 0, 0);
	question(&m, "x.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_TXT, C_IN, 1, 40);
	putbytes(&m, "\x05hello", 6);
	assert_int_equal(parse(&m, r), DNS_E_SHORT);
	free(r);
}

static void test_other_types_and_classes_skipped(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 19, F_REPLY, 1, 5, 0, 0);
	question(&m, "mix.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_MX, C_IN, 1, 7);
	put16(&m, 10);
	putname_ptr(&m, "mx", QNAME_OFF + 4);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_A, C_CH, 1, 3);	/* not IN: not even its length matters */
	putbytes(&m, "\1\2\3", 3);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_RRSIG, C_IN, 1, 4);
	putbytes(&m, "sig!", 4);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_CH, 1, 2);
	putptr(&m, QNAME_OFF);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 4, 3, 2, 1);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 4, 3, 2, 1);
	free(r);
}

static void test_ttl_top_bit(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 20, F_REPLY, 1, 2, 0, 0);
	question(&m, "ttl.example", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 0x80000001u, 1, 1, 1, 1);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 0x7fffffffu, 1, 1, 1, 2);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->addrs[0].ttl, 0);
	assert_int_equal(r->addrs[1].ttl, 0x7fffffffu);
	free(r);
}

/*
 * The densest message: a question for the root and A records owned by the root, 15 bytes
 * each. Every one of them fits, so no legal answer is cut.
 */
static void test_addrs_all_fit(void **state)
{
	(void)state;
	static struct msg m;
	struct dns_reply *r = reply_new();
	const unsigned n = (65535 - 17) / 15;

	assert_true(n <= DNS_ADDRS_MAX);
	hdr(&m, 21, F_REPLY, 1, n, 0, 0);
	question(&m, "", T_A);
	for (unsigned i = 0; i < n; i++) {
		put8(&m, 0);
		rr_a(&m, 1, 10, 0, (uint8_t)(i >> 8), (uint8_t)i);
	}
	assert_true(m.n > 65535 - 15);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->partial, DNS_OK);
	assert_int_equal(r->n_addrs, n);
	assert_a(&r->addrs[n - 1], 0, 10, 0, (uint8_t)((n - 1) >> 8), (uint8_t)(n - 1));
	check_invariants(r);
	free(r);
}

/*
 * A full 64 KiB TCP message of A records with compressed owners, as a server writes a
 * large answer: every address is there, in order. (The parse must stay well under a
 * millisecond; bench/ times it, this only checks the result.)
 */
static void test_addrs_full_tcp_message(void **state)
{
	(void)state;
	static struct msg m;
	struct dns_reply *r = reply_new();
	unsigned n = 0;

	hdr(&m, 21, F_REPLY, 1, 0, 0, 0);
	question(&m, "many.example", T_A);
	while (m.n + 16 <= 65535) {
		putptr(&m, QNAME_OFF);
		rr_a(&m, 1, 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n);
		n++;
	}
	m.b[6] = (uint8_t)(n >> 8);
	m.b[7] = (uint8_t)n;
	assert_true(n >= 4000);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, n);
	for (unsigned i = 0; i < n; i++)
		assert_a(&r->addrs[i], 0, 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
	check_invariants(r);
	free(r);
}

/* QA: 100 A records for one name, all returned by glibc, all learned. */
static void test_addrs_hundred(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 21, F_REPLY, 1, 100, 0, 0);
	question(&m, "many.github.com", T_A);
	for (unsigned i = 0; i < 100; i++) {
		putptr(&m, QNAME_OFF);
		rr_a(&m, 300, 203, 0, 113, (uint8_t)(100 + i));
	}
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_addrs, 100);
	assert_a(&r->addrs[0], 0, 203, 0, 113, 100);
	assert_a(&r->addrs[99], 0, 203, 0, 113, 199);
	free(r);
}

/* A chain c0 -> c1 -> ... -> c<links>, uncompressed, and an A record for its last name. */
static void build_chain(struct msg *m, unsigned links)
{
	char name[32], next[32];

	hdr(m, 22, F_REPLY, 1, links + 1, 0, 0);
	question(m, "c0.example", T_A);
	for (unsigned i = 0; i < links; i++) {
		snprintf(name, sizeof(name), "c%u.example", i);
		snprintf(next, sizeof(next), "c%u.example", i + 1);
		putname(m, name);
		rr_cname(m, 1, next, 0);
	}
	snprintf(name, sizeof(name), "c%u.example", links);
	putname(m, name);
	rr_a(m, 1, 1, 1, 1, 15);
}

/* QA: chains of 20 (the report), 64 and DNS_NAMES_MAX names are followed to the end. */
static void test_chain_long(void **state)
{
	(void)state;
	static struct msg m;
	struct dns_reply *r = reply_new();
	const unsigned lengths[] = { 20, 64, DNS_NAMES_MAX };
	char name[32];

	for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
		unsigned names = lengths[k];

		build_chain(&m, names - 1);
		assert_int_equal(parse(&m, r), DNS_OK);
		assert_int_equal(r->n_names, names);
		assert_int_equal(r->n_chain, names);
		snprintf(name, sizeof(name), "c%u.example", names - 1);
		assert_string_equal(r->names[names - 1], name);
		assert_int_equal(r->n_addrs, 1);
		assert_a(&r->addrs[0], (uint8_t)(names - 1), 1, 1, 1, 15);
		check_invariants(r);
	}
	free(r);
}

/* A chain longer than DNS_NAMES_MAX: what fits is kept, and the reply says partial. */
static void test_chain_capped(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	char name[32];
	const unsigned links = DNS_NAMES_MAX + 3;

	build_chain(&m, links);
	/* an address for the last name that fits, which is still attributed */
	snprintf(name, sizeof(name), "c%u.example", DNS_NAMES_MAX - 1);
	putname(&m, name);
	rr_a(&m, 1, 1, 1, 1, 16);
	m.b[7]++;
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_LIMIT);
	assert_int_equal(r->n_names, DNS_NAMES_MAX);
	assert_string_equal(r->names[DNS_NAMES_MAX - 1], name);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], DNS_NAMES_MAX - 1, 1, 1, 1, 16);
	check_invariants(r);
	free(r);
}

/* ---- partial answers: records before a malformed one are used ---- */

/* QA case 1: a good A, then an A with 5 bytes of data, then another good A. */
static void test_partial_bad_rdata(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 50, F_REPLY, 1, 3, 0, 0);
	question(&m, "leak.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 60);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_A, C_IN, 300, 5);
	putbytes(&m, "\xcb\x00\x71\x62\x00", 5);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 61);	/* after the bad one: not used */
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_RDATA);
	assert_int_equal(r->id, 50);
	assert_int_equal(r->qtype, T_A);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "leak.github.com");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 203, 0, 113, 60);
	assert_int_equal(r->addrs[0].ttl, 300);
	check_invariants(r);

	/* the same bad record first: nothing precedes it, the message is rejected as before */
	hdr(&m, 50, F_REPLY, 1, 2, 0, 0);
	question(&m, "leak.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_A, C_IN, 300, 5);
	putbytes(&m, "\xcb\x00\x71\x62\x00", 5);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 60);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);
	free(r);
}

/* Each way a later record can be malformed: the reply is partial, with that reason. */
static void test_partial_reasons(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* ancount larger than the records present */
	hdr(&m, 51, F_REPLY, 1, 2, 0, 0);
	question(&m, "count.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 61);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_SHORT);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 203, 0, 113, 61);

	/* a TXT record running past the end */
	hdr(&m, 51, F_REPLY, 1, 2, 0, 0);
	question(&m, "txt.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 62);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_TXT, C_IN, 1, 200);
	putbytes(&m, "\x05hello", 6);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_SHORT);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 203, 0, 113, 62);

	/* an owner with an extended label type */
	hdr(&m, 51, F_REPLY, 1, 2, 0, 0);
	question(&m, "name.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 63);
	putbytes(&m, "\x80" "abc\0", 5);
	rr_fixed(&m, T_TXT, C_IN, 1, 3);
	putbytes(&m, "\x02hi", 3);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_NAME);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 203, 0, 113, 63);

	/* a forward pointer in a later owner, and a message cut inside a record */
	hdr(&m, 51, F_REPLY, 1, 2, 0, 0);
	question(&m, "ptr.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 64);
	putptr(&m, 0x3fff);
	rr_a(&m, 300, 203, 0, 113, 65);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_NAME);
	assert_int_equal(r->n_addrs, 1);
	assert_int_equal(parse_exact(m.b, m.n - 3, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_SHORT);
	assert_int_equal(r->n_addrs, 1);

	/* header and question errors are not softened by anything that follows */
	hdr(&m, 51, F_QR | 3, 1, 2, 0, 0);
	question(&m, "nx.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 66);
	assert_int_equal(parse(&m, r), DNS_E_RCODE);
	hdr(&m, 51, F_RD, 1, 2, 0, 0);
	question(&m, "q.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 66);
	assert_int_equal(parse(&m, r), DNS_E_NOTREPLY);
	hdr(&m, 51, F_REPLY, 2, 2, 0, 0);
	question(&m, "q.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 300, 203, 0, 113, 66);
	assert_int_equal(parse(&m, r), DNS_E_QDCOUNT);
	free(r);
}

/*
 * Attribution in a partial reply is that of a complete reply of the records read: through
 * the chain rooted at the question, and no link or address from the bad record on.
 */
static void test_partial_chain(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	size_t t_off;

	/* q CNAME t; u A (unrelated); t A; bad; t A (after): only the first t address */
	hdr(&m, 52, F_REPLY, 1, 5, 0, 0);
	question(&m, "q.github.com", T_A);
	putptr(&m, QNAME_OFF);
	t_off = rr_cname(&m, 60, "t.cdn.example", 0);
	putname(&m, "u.example");
	rr_a(&m, 60, 6, 6, 6, 6);
	putptr(&m, t_off);
	rr_a(&m, 60, 1, 2, 3, 4);
	putptr(&m, t_off);
	rr_fixed(&m, T_AAAA, C_IN, 60, 4);
	putbytes(&m, "\1\2\3\4", 4);
	putptr(&m, t_off);
	rr_a(&m, 60, 1, 2, 3, 5);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_RDATA);
	assert_int_equal(r->n_names, 2);
	assert_int_equal(r->n_chain, 2);
	assert_string_equal(r->names[1], "t.cdn.example");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 1, 2, 3, 4);
	check_invariants(r);

	/* q A; bad; q CNAME x; x A: the link after the bad record is not followed */
	hdr(&m, 52, F_REPLY, 1, 4, 0, 0);
	question(&m, "q.github.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 60, 1, 1, 1, 1);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_CNAME, C_IN, 60, 0);
	putptr(&m, QNAME_OFF);
	t_off = rr_cname(&m, 60, "x.example", 0);
	putptr(&m, t_off);
	rr_a(&m, 60, 2, 2, 2, 2);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_RDATA);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 1, 1, 1, 1);

	/* an unrelated name's records before the bad one: nothing for the question */
	hdr(&m, 52, F_REPLY, 1, 2, 0, 0);
	question(&m, "q.example", T_A);
	putname(&m, "stolen.github.com");
	rr_a(&m, 60, 3, 3, 3, 3);
	putptr(&m, QNAME_OFF);
	rr_fixed(&m, T_A, C_IN, 60, 5);
	putbytes(&m, "\3\3\3\3\3", 5);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "q.example");
	assert_int_equal(r->n_addrs, 0);

	/* a chain of 20 cut by a bad record before its address: the chain so far, no address */
	build_chain(&m, 19);
	m.n -= 14;	/* the A record of c19 becomes an A with no data */
	rr_fixed(&m, T_A, C_IN, 1, 0);
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_RDATA);
	assert_int_equal(r->n_names, 20);
	assert_int_equal(r->n_addrs, 0);
	check_invariants(r);
	free(r);
}

/*
 * Many distinct unrelated names overflow the parser's name table and decoding budget; the
 * chain still works when its records are compressed the way servers write them, and the
 * overflow only ever drops records, never attributes them.
 */
static void test_many_unrelated_names(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	char name[32];
	const unsigned n = 100;
	size_t t_off;

	hdr(&m, 23, F_REPLY, 1, n + 3, 0, 0);
	question(&m, "q.example", T_A);
	putptr(&m, QNAME_OFF);
	t_off = rr_cname(&m, 1, "t.example", 0);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "u%u.example", i);
		putname(&m, name);
		rr_a(&m, 1, 6, 6, 6, (uint8_t)i);
	}
	putptr(&m, t_off);
	rr_a(&m, 1, 1, 2, 3, 4);
	putname(&m, "q.example");
	rr_a(&m, 1, 1, 2, 3, 5);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_int_equal(r->n_addrs, 2);
	assert_a(&r->addrs[0], 1, 1, 2, 3, 4);
	assert_a(&r->addrs[1], 0, 1, 2, 3, 5);
	check_invariants(r);
	free(r);
}

/* An owner written with the same bytes (labels + pointer) as a CNAME target is that name. */
static void test_identical_compressed_owner(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	hdr(&m, 24, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.example.com", T_A);
	putptr(&m, QNAME_OFF);
	rr_cname(&m, 1, "cdn", QNAME_OFF + 4);
	putname_ptr(&m, "cdn", QNAME_OFF + 4);
	rr_a(&m, 1, 1, 2, 3, 4);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "cdn.example.com");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 1, 2, 3, 4);
	free(r);
}

/*
 * A 64 KiB answer section of long names reached through pointers, each decoded name
 * different: the parser's decoding budget keeps the work bounded, and the one record that
 * belongs to the question is still found.
 */
static void test_large_adversarial(void **state)
{
	(void)state;
	static struct msg m;
	struct dns_reply *r = reply_new();
	static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t base, rr, variants[200];
	unsigned an = 1;

	hdr(&m, 25, F_REPLY, 1, 0, 0, 0);
	question(&m, "q", T_A);
	putptr(&m, QNAME_OFF);
	rr = m.n;
	rr_fixed(&m, T_TXT, C_IN, 1, 0);
	base = m.n;
	for (int l = 0; l < 126; l++) {
		put8(&m, 1);
		put8(&m, 'a' + l % 26);
	}
	put8(&m, 0);
	for (unsigned v = 0; v < 200; v++) {
		variants[v] = m.n;
		put8(&m, 1);
		put8(&m, (unsigned char)chars[v % 36]);
		putptr(&m, base + 2 + 2 * (v / 36));
	}
	m.b[rr + 8] = (uint8_t)((m.n - base) >> 8);
	m.b[rr + 9] = (uint8_t)(m.n - base);
	while (m.n + 2 * 16 <= sizeof(m.b)) {
		putptr(&m, variants[an % 200]);
		rr_a(&m, 1, 6, 6, 6, 6);
		an++;
	}
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 2, 3, 4);
	an++;
	m.b[6] = (uint8_t)(an >> 8);
	m.b[7] = (uint8_t)an;

	/* the budget dropped names: said, not hidden */
	assert_int_equal(parse(&m, r), DNS_PARTIAL);
	assert_int_equal(r->partial, DNS_E_LIMIT);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 0, 1, 2, 3, 4);
	free(r);
}

static void test_strerror(void **state)
{
	(void)state;
	const char *seen[16];

	assert_string_not_equal(dns_strerror(DNS_PARTIAL), dns_strerror(DNS_OK));
	for (int s = DNS_OK; s >= DNS_E_LIMIT; s--) {
		const char *t = dns_strerror(s);

		assert_non_null(t);
		assert_true(strlen(t) > 0);
		assert_string_not_equal(t, dns_strerror(-100));
		for (int k = 0; k < -s; k++)
			assert_string_not_equal(seen[k], t);
		seen[-s] = t;
	}
	assert_non_null(dns_strerror(42));
}

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

/* Splits line at tabs into at most max fields (empty fields kept). */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
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

/* ---- DNAME ---- */

/* DNAME record data: an uncompressed target name, or labels + pointer (ptr != 0). */
static size_t rr_dname(struct msg *m, uint32_t ttl, const char *target, size_t ptr)
{
	size_t at = rr_cname(m, ttl, target, ptr);

	m->b[at - 10] = 0;	/* the type is the first of the 10 fixed bytes */
	m->b[at - 9] = T_DNAME;
	return at;
}

static void test_dname_only(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* no synthesised CNAME: the parser rewrites www.x.example itself */
	hdr(&m, 30, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "y.example", 0);
	putname(&m, "www.y.example");
	rr_a(&m, 30, 192, 0, 2, 30);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_int_equal(r->n_chain, 2);
	assert_string_equal(r->names[0], "www.x.example");
	assert_string_equal(r->names[1], "www.y.example");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 192, 0, 2, 30);
	assert_int_equal(r->addrs[0].kind, DNS_ADDR_A);
	check_invariants(r);

	/* the same with the address first and the DNAME last */
	hdr(&m, 30, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.x.example", T_A);
	putname(&m, "WWW.Y.example");
	rr_a(&m, 30, 192, 0, 2, 31);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "Y", QNAME_OFF + 6);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "www.y.example");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 192, 0, 2, 31);
	check_invariants(r);
	free(r);
}

static void test_dname_with_synthesised_cname(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	size_t t_off, c_off;

	/* what BIND and dnsmasq send: DNAME, the CNAME it implies, then the address */
	hdr(&m, 31, F_REPLY, 1, 3, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	t_off = rr_dname(&m, 60, "y.example", 0);
	putptr(&m, QNAME_OFF);
	c_off = rr_cname(&m, 0, "www", t_off);
	putptr(&m, c_off);
	rr_a(&m, 30, 192, 0, 2, 32);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "www.y.example");
	assert_int_equal(r->n_addrs, 1);
	assert_a(&r->addrs[0], 1, 192, 0, 2, 32);
	check_invariants(r);

	/* a CNAME wins over the DNAME when they disagree */
	hdr(&m, 31, F_REPLY, 1, 3, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "y.example", 0);
	putptr(&m, QNAME_OFF);
	c_off = rr_cname(&m, 0, "cdn.example", 0);
	putptr(&m, c_off);
	rr_a(&m, 30, 192, 0, 2, 33);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "cdn.example");
	assert_int_equal(r->n_addrs, 1);
	free(r);
}

static void test_dname_cname_mixed_chain(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* www.a.example -D-> www.b.example -C-> e.cdn.net -D-> e.cdn2.org -C-> f.edge.org,
	 * written in reverse order */
	hdr(&m, 32, F_REPLY, 1, 5, 0, 0);
	question(&m, "www.a.example", T_AAAA);
	putname(&m, "f.edge.org");
	rr_fixed(&m, T_AAAA, C_IN, 20, 16);
	putbytes(&m, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x32", 16);
	putname(&m, "e.cdn2.org");
	rr_cname(&m, 60, "f.edge.org", 0);
	putname(&m, "cdn.net");
	rr_dname(&m, 60, "cdn2.org", 0);
	putname(&m, "www.b.example");
	rr_cname(&m, 60, "e.cdn.net", 0);
	putname(&m, "a.example");
	rr_dname(&m, 60, "b.example", 0);

	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 5);
	assert_string_equal(r->names[1], "www.b.example");
	assert_string_equal(r->names[2], "e.cdn.net");
	assert_string_equal(r->names[3], "e.cdn2.org");
	assert_string_equal(r->names[4], "f.edge.org");
	assert_int_equal(r->n_addrs, 1);
	assert_int_equal(r->addrs[0].owner, 4);
	assert_int_equal(r->addrs[0].kind, DNS_ADDR_AAAA);
	check_invariants(r);
	free(r);
}

static void test_dname_rules(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* the closest owner applies, whatever the order */
	hdr(&m, 33, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.x.example", T_A);
	putname(&m, "example");
	rr_dname(&m, 60, "other", 0);
	putname(&m, "x.example");
	rr_dname(&m, 60, "y.example", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 3);
	assert_string_equal(r->names[1], "www.y.example");
	/* and the result is below the other one */
	assert_string_equal(r->names[2], "www.y.other");

	/* the owner itself is not rewritten (a query for the DNAME) */
	hdr(&m, 33, F_REPLY, 1, 2, 0, 0);
	question(&m, "x.example", 39);
	putptr(&m, QNAME_OFF);
	rr_dname(&m, 60, "y.example", 0);
	putname(&m, "y.example");
	rr_a(&m, 1, 6, 6, 6, 6);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 0);

	/* a suffix that is not a whole label does not match */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	question(&m, "wwwx.example", T_A);
	putname(&m, "x.example");
	rr_dname(&m, 60, "y.example", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);

	/* nor does a label holding a dot: "a.x" is one label, \046 in presentation */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	put8(&m, 3);
	putbytes(&m, "a.x", 3);
	putname(&m, "example");
	put16(&m, T_A);
	put16(&m, C_IN);
	putname(&m, "x.example");
	rr_dname(&m, 60, "y.example", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_string_equal(r->names[0], "a\\046x.example");

	/* escaped labels below the owner are carried over as they are */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	put8(&m, 3);
	putbytes(&m, "a b", 3);
	putname(&m, "x.example");
	put16(&m, T_A);
	put16(&m, C_IN);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "y", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "a\\032b.y");

	/* a root target keeps only the labels below the owner */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "www");

	/* a root owner rewrites every name, its own results too, but not the root itself */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	question(&m, "a.b", T_A);
	put8(&m, 0);
	rr_dname(&m, 60, "z", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	/* until the name would pass 253 characters: "a.b" and 125 times ".z" */
	assert_int_equal(r->n_names, 126);
	assert_int_equal(strlen(r->names[125]), 253);
	assert_string_equal(r->names[1], "a.b.z");
	assert_string_equal(r->names[2], "a.b.z.z");
	check_invariants(r);

	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	question(&m, "", T_NS);
	put8(&m, 0);
	rr_dname(&m, 60, "z", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);

	/* not class IN: ignored, its rdata unchecked */
	hdr(&m, 33, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_fixed(&m, T_DNAME, C_CH, 1, 1);
	put8(&m, 0x3f);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	free(r);
}

static void test_dname_limits(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();
	char name[300], target[300];

	/*
	 * A DNAME into its own subtree grows the name each step, all names distinct, until
	 * the name would pass 253 characters: 13 + 60 * 4
	 */
	hdr(&m, 34, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_dname(&m, 60, "sub.x.example", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 61);
	assert_int_equal(strlen(r->names[60]), 253);
	assert_string_equal(r->names[2], "www.sub.sub.x.example");
	check_invariants(r);

	/* two DNAMEs pointing at each other: a loop ends the chain */
	hdr(&m, 34, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.a.example", T_A);
	putname(&m, "a.example");
	rr_dname(&m, 60, "b.example", 0);
	putname(&m, "b.example");
	rr_dname(&m, 60, "a.example", 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_string_equal(r->names[1], "www.b.example");
	check_invariants(r);

	/* a rewritten name over 253 characters ends the chain (YXDOMAIN): 63 + 1 + 190 */
	make_long_name(name, 200);
	make_long_name(target, 190);
	hdr(&m, 34, F_REPLY, 1, 1, 0, 0);
	question(&m, name, T_A);
	putname(&m, name + 64);	/* the owner: the name without its first label */
	rr_dname(&m, 60, target, 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);

	/* 63 + 1 + 189 = 253: just fits */
	make_long_name(target, 189);
	hdr(&m, 34, F_REPLY, 1, 1, 0, 0);
	question(&m, name, T_A);
	putname(&m, name + 64);
	rr_dname(&m, 60, target, 0);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 2);
	assert_int_equal(strlen(r->names[1]), 253);
	check_invariants(r);
	free(r);
}

static void test_dname_bad_rdata(void **state)
{
	(void)state;
	struct msg m;
	struct dns_reply *r = reply_new();

	/* rdlength longer than the name */
	hdr(&m, 35, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_fixed(&m, T_DNAME, C_IN, 1, 4);
	putptr(&m, QNAME_OFF);
	putbytes(&m, "ab", 2);
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* the name runs past the rdata */
	hdr(&m, 35, F_REPLY, 1, 1, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_fixed(&m, T_DNAME, C_IN, 1, 2);
	putname(&m, "yy");
	assert_int_equal(parse(&m, r), DNS_E_RDATA);

	/* a forward pointer in a DNAME nobody follows is harmless; one we follow is ignored */
	hdr(&m, 35, F_REPLY, 1, 2, 0, 0);
	question(&m, "www.x.example", T_A);
	putptr(&m, QNAME_OFF + 4);
	rr_fixed(&m, T_DNAME, C_IN, 1, 2);
	putptr(&m, m.n + 2);
	putptr(&m, QNAME_OFF);
	rr_a(&m, 1, 1, 2, 3, 4);
	assert_int_equal(parse(&m, r), DNS_OK);
	assert_int_equal(r->n_names, 1);
	assert_int_equal(r->n_addrs, 1);
	check_invariants(r);
	free(r);
}

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

static void assert_hint(const struct dns_addr *a, uint8_t family, const void *ip, uint8_t owner,
			uint8_t target, uint32_t ttl)
{
	uint8_t want[16] = { 0 };

	memcpy(want, ip, family == AF_INET ? 4 : 16);
	assert_int_equal(a->kind, DNS_ADDR_HINT);
	assert_int_equal(a->family, family);
	assert_memory_equal(a->a, want, 16);
	assert_int_equal(a->owner, owner);
	assert_int_equal(a->target, target);
	assert_int_equal(a->ttl, ttl);
}

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

static void test_addr_kind_name(void **state)
{
	(void)state;
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_A), "A");
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_AAAA), "AAAA");
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_HINT), "hint");
	assert_string_equal(dns_addr_kind_name(77), "?");
}

/* ---- queries ---- */

static int parse_query_exact(const uint8_t *data, size_t len, struct dns_query *q)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, data, len);
	rc = dns_parse_query(copy, len, q);
	free(copy);
	return rc;
}

static void test_query(void **state)
{
	(void)state;
	struct msg m;
	struct dns_query q;

	hdr(&m, 0x4242, F_RD, 1, 0, 0, 1);
	question(&m, "WWW.Example.COM", T_HTTPS);
	put8(&m, 0);	/* EDNS OPT, ignored */
	rr_fixed(&m, T_OPT, 1232, 0, 0);
	memset(&q, 0xa5, sizeof(q));
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_OK);
	assert_int_equal(q.id, 0x4242);
	assert_int_equal(q.qtype, T_HTTPS);
	assert_int_equal(q.qclass, C_IN);
	assert_string_equal(q.name, "www.example.com");

	/* every cut inside the header or the question is short */
	for (size_t n = 0; n < 12 + 17 + 4; n++) {
		assert_int_equal(parse_query_exact(m.b, n, &q), DNS_E_SHORT);
		assert_string_equal(q.name, "");
		assert_int_equal(q.qtype, 0);
		assert_int_equal(q.id, n >= 12 ? 0x4242 : 0);
	}

	/* escapes as in replies, and the root */
	hdr(&m, 1, 0, 1, 0, 0, 0);
	put8(&m, 3);
	putbytes(&m, "a.b", 3);
	put8(&m, 0);
	put16(&m, T_A);
	put16(&m, C_CH);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_OK);
	assert_string_equal(q.name, "a\\046b");
	assert_int_equal(q.qclass, C_CH);
	hdr(&m, 1, 0, 1, 0, 0, 0);
	question(&m, "", T_NS);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_OK);
	assert_string_equal(q.name, ".");

	/* a reply is not a query, and a query is not a reply */
	hdr(&m, 2, F_REPLY, 1, 0, 0, 0);
	question(&m, "example.com", T_A);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_E_NOTQUERY);
	assert_int_equal(q.id, 2);
	assert_string_equal(q.name, "");
	m.b[2] = 0;
	assert_int_equal(parse_exact(m.b, m.n, &(struct dns_reply){ 0 }), DNS_E_NOTREPLY);

	/* NOTIFY (4) and UPDATE (5) */
	for (unsigned op = 1; op < 16; op++) {
		hdr(&m, 3, op << 11, 1, 0, 0, 0);
		question(&m, "example.com", 6);
		assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_E_OPCODE);
	}

	hdr(&m, 4, 0, 2, 0, 0, 0);
	question(&m, "a.example", T_A);
	question(&m, "b.example", T_A);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_E_QDCOUNT);
	hdr(&m, 4, 0, 0, 0, 0, 0);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_E_QDCOUNT);

	/* a pointer in the question has nothing to point to */
	hdr(&m, 5, 0, 1, 0, 0, 0);
	putlabels(&m, "www");
	putptr(&m, QNAME_OFF);
	put16(&m, T_A);
	put16(&m, C_IN);
	assert_int_equal(parse_query_exact(m.b, m.n, &q), DNS_E_NAME);
	assert_string_equal(q.name, "");
}

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
		cmocka_unit_test(test_single_a),
		cmocka_unit_test(test_single_aaaa),
		cmocka_unit_test(test_cname_chain_in_order),
		cmocka_unit_test(test_cname_chain_reversed),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_cname_self_loop_on_qname),
		cmocka_unit_test(test_unrelated_not_attributed),
		cmocka_unit_test(test_forward_pointer_rejected),
		cmocka_unit_test(test_pointer_loop_rejected),
		cmocka_unit_test(test_pointer_hops_bounded),
		cmocka_unit_test(test_label_too_long),
		cmocka_unit_test(test_name_too_long),
		cmocka_unit_test(test_rcode_nxdomain),
		cmocka_unit_test(test_qdcount),
		cmocka_unit_test(test_tc_bit),
		cmocka_unit_test(test_edns_opt_and_trailing_data),
		cmocka_unit_test(test_uppercase_lowercased),
		cmocka_unit_test(test_escaped_bytes),
		cmocka_unit_test(test_root_question),
		cmocka_unit_test(test_not_reply_and_short),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_other_types_and_classes_skipped),
		cmocka_unit_test(test_ttl_top_bit),
		cmocka_unit_test(test_addrs_all_fit),
		cmocka_unit_test(test_addrs_full_tcp_message),
		cmocka_unit_test(test_addrs_hundred),
		cmocka_unit_test(test_chain_long),
		cmocka_unit_test(test_chain_capped),
		cmocka_unit_test(test_partial_bad_rdata),
		cmocka_unit_test(test_partial_reasons),
		cmocka_unit_test(test_partial_chain),
		cmocka_unit_test(test_many_unrelated_names),
		cmocka_unit_test(test_identical_compressed_owner),
		cmocka_unit_test(test_large_adversarial),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_real_captures),
		cmocka_unit_test(test_bench_against_dnspython),
		cmocka_unit_test(test_bench_truncations_and_mutations),
		cmocka_unit_test(test_fuzz_corpora),
		cmocka_unit_test(test_dname_only),
		cmocka_unit_test(test_dname_with_synthesised_cname),
		cmocka_unit_test(test_dname_cname_mixed_chain),
		cmocka_unit_test(test_dname_rules),
		cmocka_unit_test(test_dname_limits),
		cmocka_unit_test(test_dname_bad_rdata),
		cmocka_unit_test(test_https_service_self),
		cmocka_unit_test(test_https_service_target),
		cmocka_unit_test(test_https_alias_mode),
		cmocka_unit_test(test_svcb_malformed_params),
		cmocka_unit_test(test_svcb_malformed_target),
		cmocka_unit_test(test_svcb_limits),
		cmocka_unit_test(test_svcb_rfc9460_vectors),
		cmocka_unit_test(test_svcb_unbound_malformed),
		cmocka_unit_test(test_addr_kind_name),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_real_svcb),
		cmocka_unit_test(test_real_queries),
		cmocka_unit_test(test_queries_against_dnspython),
		cmocka_unit_test(test_regressions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
