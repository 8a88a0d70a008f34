/*
 * Unit tests for the DNS parser: address and chain limits, partial replies
 * (records before a malformed one are used) and large adversarial messages.
 */
#include "dns_build.h"

#include <stdio.h>

/* ---- limits ---- */

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

/* ---- large messages ---- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrs_all_fit),
		cmocka_unit_test(test_addrs_full_tcp_message),
		cmocka_unit_test(test_addrs_hundred),
		cmocka_unit_test(test_chain_long),
		cmocka_unit_test(test_chain_capped),
		cmocka_unit_test(test_partial_bad_rdata),
		cmocka_unit_test(test_partial_reasons),
		cmocka_unit_test(test_partial_chain),
		cmocka_unit_test(test_large_adversarial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
