/*
 * Unit tests for the DNS parser: CNAME and DNAME chains and which name each
 * address is attributed to.
 */
#include "dns_build.h"

#include <stdio.h>

/* ---- CNAME chains and attribution ---- */

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
	assert_int_equal(r->n_unowned, n);	/* counted: a lenient library might use them */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cname_chain_in_order),
		cmocka_unit_test(test_cname_chain_reversed),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_cname_self_loop_on_qname),
		cmocka_unit_test(test_unrelated_not_attributed),
		cmocka_unit_test(test_many_unrelated_names),
		cmocka_unit_test(test_identical_compressed_owner),
		cmocka_unit_test(test_dname_only),
		cmocka_unit_test(test_dname_with_synthesised_cname),
		cmocka_unit_test(test_dname_cname_mixed_chain),
		cmocka_unit_test(test_dname_rules),
		cmocka_unit_test(test_dname_limits),
		cmocka_unit_test(test_dname_bad_rdata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
