/*
 * Unit tests for the DNS parser: header and question handling, single A/AAAA answers,
 * names and compression pointers, malformed and refused messages, status strings and
 * query parsing.
 */
#include "dns_build.h"

#include <stdio.h>

/* ---- basic answers ---- */

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

/* ---- names and compression pointers ---- */

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

/* ---- header, flags and record handling ---- */

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

static void test_addr_kind_name(void **state)
{
	(void)state;
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_A), "A");
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_AAAA), "AAAA");
	assert_string_equal(dns_addr_kind_name(DNS_ADDR_HINT), "hint");
	assert_string_equal(dns_addr_kind_name(77), "?");
}

/* ---- queries ---- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_a),
		cmocka_unit_test(test_single_aaaa),
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
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_addr_kind_name),
		cmocka_unit_test(test_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
