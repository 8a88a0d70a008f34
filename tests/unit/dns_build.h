/*
 * Shared by the DNS parser unit tests (test_dns*.c): a builder for hand-made DNS messages,
 * parsing from exactly sized heap copies (so ASan sees any overread), and the checks every
 * parsed reply must pass. Everything is static inline so each test program takes only what
 * it uses.
 */
#ifndef NFQR_TEST_DNS_BUILD_H
#define NFQR_TEST_DNS_BUILD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

static inline void put8(struct msg *m, unsigned v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static inline void put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static inline void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static inline void putbytes(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Appends the labels of a dotted name (no escapes); returns where they start. */
static inline size_t putlabels(struct msg *m, const char *dotted)
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

static inline size_t putname(struct msg *m, const char *dotted)
{
	size_t start = putlabels(m, dotted);

	put8(m, 0);
	return start;
}

static inline void putptr(struct msg *m, size_t target)
{
	put16(m, 0xc000 | (unsigned)target);
}

/* Labels followed by a compression pointer; returns where the name starts. */
static inline size_t putname_ptr(struct msg *m, const char *dotted, size_t target)
{
	size_t start = putlabels(m, dotted);

	putptr(m, target);
	return start;
}

static inline void hdr(struct msg *m, uint16_t id, uint16_t flags, unsigned qd, unsigned an,
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

static inline void question(struct msg *m, const char *name, unsigned qtype)
{
	putname(m, name);
	put16(m, qtype);
	put16(m, C_IN);
}

static inline void rr_fixed(struct msg *m, unsigned type, unsigned class, uint32_t ttl,
			    unsigned rdlen)
{
	put16(m, type);
	put16(m, class);
	put32(m, ttl);
	put16(m, rdlen);
}

static inline void rr_a(struct msg *m, uint32_t ttl, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	const uint8_t ip[4] = { a, b, c, d };

	rr_fixed(m, T_A, C_IN, ttl, 4);
	putbytes(m, ip, 4);
}

/*
 * CNAME record data as labels + pointer (ptr 0: no pointer) with a correct rdlength;
 * returns where the target name starts.
 */
static inline size_t rr_cname(struct msg *m, uint32_t ttl, const char *target, size_t ptr)
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
static inline int parse_exact(const uint8_t *data, size_t len, struct dns_reply *r)
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

static inline int parse(const struct msg *m, struct dns_reply *r)
{
	return parse_exact(m->b, m->n, r);
}

static inline struct dns_reply *reply_new(void)
{
	struct dns_reply *r = malloc(sizeof(*r));

	assert_non_null(r);
	memset(r, 0xa5, sizeof(*r));	/* catch fields the parser forgets to set */
	return r;
}

static inline void assert_a(const struct dns_addr *a, uint8_t owner, uint8_t x0, uint8_t x1,
			    uint8_t x2, uint8_t x3)
{
	const uint8_t want[16] = { x0, x1, x2, x3 };

	assert_int_equal(a->family, AF_INET);
	assert_memory_equal(a->a, want, 16);
	assert_int_equal(a->owner, owner);
}

/* What every successful parse must satisfy, whatever the input. */
static inline void check_invariants(const struct dns_reply *r)
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

static inline bool status_known(int rc)
{
	return rc <= DNS_PARTIAL && rc >= DNS_E_OPCODE;
}

/* ---- shared by more than one test program ---- */

/* A name of exactly `chars` presentation characters built from 63-byte labels. */
static inline void make_long_name(char *buf, size_t chars)
{
	size_t i;

	for (i = 0; i < chars; i++)
		buf[i] = (i % 64 == 63) ? '.' : 'a' + (char)(i % 26);
	buf[i] = '\0';
}

/* Splits line at tabs into at most max fields (empty fields kept). */
static inline size_t split_tabs(char *line, char **f, size_t max)
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

static inline void assert_hint(const struct dns_addr *a, uint8_t family, const void *ip,
			       uint8_t owner, uint8_t target, uint32_t ttl)
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

static inline int parse_query_exact(const uint8_t *data, size_t len, struct dns_query *q)
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

#endif
