/*
 * Unit tests for the IP packet parser on hand-built IPv4/IPv6, UDP/TCP packets, including
 * truncated copies, fragments, extension headers and malformed lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_ACK 0x10

static const uint8_t v4src[4] = { 192, 0, 2, 1 };
static const uint8_t v4dst[4] = { 198, 51, 100, 2 };
static const uint8_t v6src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };

struct pkt {
	uint8_t b[2048];
	size_t n;
};

static void put(struct pkt *p, const void *data, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, data, n);
	p->n += n;
}

static void put8(struct pkt *p, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(p, &b, 1);
}

static void put16(struct pkt *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void set16(struct pkt *p, size_t at, unsigned v)
{
	p->b[at] = (uint8_t)(v >> 8);
	p->b[at + 1] = (uint8_t)v;
}

/* IPv4 header with `optwords` 4-byte option words; total length is fixed by ip4_done(). */
static void ip4(struct pkt *p, uint8_t proto, unsigned optwords, uint16_t frag)
{
	p->n = 0;
	put8(p, 0x40 | (5 + optwords));
	put8(p, 0);
	put16(p, 0);		/* total length, later */
	put16(p, 0x1234);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put(p, v4src, 4);
	put(p, v4dst, 4);
	for (unsigned i = 0; i < optwords; i++)
		put(p, "\x01\x01\x01\x00", 4);	/* NOP NOP NOP EOL */
}

static void ip4_done(struct pkt *p)
{
	set16(p, 2, (unsigned)p->n);
}

/* IPv6 fixed header; payload length is fixed by ip6_done(). */
static void ip6(struct pkt *p, uint8_t nh)
{
	p->n = 0;
	put(p, "\x60\x00\x00\x00", 4);
	put16(p, 0);
	put8(p, nh);
	put8(p, 64);
	put(p, v6src, 16);
	put(p, v6dst, 16);
}

static void ip6_done(struct pkt *p)
{
	set16(p, 4, (unsigned)(p->n - 40));
}

/* Generic extension header of 8 * (1 + units) bytes. */
static void ext6(struct pkt *p, uint8_t nh, unsigned units)
{
	put8(p, nh);
	put8(p, units);
	for (unsigned i = 0; i < 6 + 8 * units; i++)
		put8(p, i == 0 ? 1 : 0);	/* PadN-ish filler */
}

static void frag6(struct pkt *p, uint8_t nh, unsigned offset8, bool more)
{
	put8(p, nh);
	put8(p, 0);
	put16(p, offset8 << 3 | (more ? 1 : 0));
	put(p, "\xde\xad\xbe\xef", 4);
}

static void udp(struct pkt *p, uint16_t sport, uint16_t dport, const char *payload)
{
	size_t n = strlen(payload);

	put16(p, sport);
	put16(p, dport);
	put16(p, (unsigned)(8 + n));
	put16(p, 0);
	put(p, payload, n);
}

static void tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, unsigned optwords,
		const char *payload)
{
	put16(p, sport);
	put16(p, dport);
	put(p, "\0\0\0\1\0\0\0\0", 8);
	put8(p, (5 + optwords) << 4);
	put8(p, flags);
	put16(p, 65535);
	put16(p, 0);
	put16(p, 0);
	for (unsigned i = 0; i < optwords; i++)
		put(p, "\x01\x01\x01\x01", 4);
	put(p, payload, strlen(payload));
}

/* Parses from the tail of an exactly sized heap block so that ASan catches overreads. */
static int parse_n(const struct pkt *p, size_t n, struct pkt_info *out, uint8_t **blk)
{
	uint8_t *copy = malloc(n ? n : 1);

	assert_non_null(copy);
	memcpy(copy, p->b, n);
	*blk = copy;
	return pkt_parse(copy, n, out);
}

static int parse(const struct pkt *p, struct pkt_info *out, uint8_t **blk)
{
	return parse_n(p, p->n, out, blk);
}

static void assert_payload(const struct pkt_info *pi, const uint8_t *base, size_t off,
			   const char *text, size_t n)
{
	assert_ptr_equal(pi->payload, base + off);
	assert_int_equal(pi->payload_len, n);
	assert_memory_equal(pi->payload, text, n);
}

static void test_ipv4_udp(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;
	static const uint8_t zero[12];

	ip4(&p, IPPROTO_UDP, 0, 0x4000);	/* DF */
	udp(&p, 53, 40000, "hello");
	ip4_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.src.family, AF_INET);
	assert_int_equal(pi.dst.family, AF_INET);
	assert_memory_equal(pi.src.a, v4src, 4);
	assert_memory_equal(pi.dst.a, v4dst, 4);
	assert_memory_equal(pi.src.a + 4, zero, 12);
	assert_memory_equal(pi.dst.a + 4, zero, 12);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 53);
	assert_int_equal(pi.dport, 40000);
	assert_int_equal(pi.tcp_flags, 0);
	assert_payload(&pi, blk, 28, "hello", 5);
	free(blk);
}

static void test_ipv4_tcp_options(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip4(&p, IPPROTO_TCP, 1, 0);
	tcp(&p, 44321, 443, TH_SYN | TH_ACK, 3, "abc");
	ip4_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_TCP);
	assert_int_equal(pi.sport, 44321);
	assert_int_equal(pi.dport, 443);
	assert_int_equal(pi.tcp_flags, TH_SYN | TH_ACK);
	assert_payload(&pi, blk, 24 + 32, "abc", 3);
	free(blk);

	/* a SYN without payload */
	ip4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 1, 2, TH_SYN, 0, "");
	ip4_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.tcp_flags, TH_SYN);
	assert_int_equal(pi.payload_len, 0);
	assert_ptr_equal(pi.payload, blk + 40);
	free(blk);
}

static void test_ipv4_truncated_copy(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 53, 5353, "0123456789");
	ip4_done(&p);

	/* NFQUEUE copy range cut the payload: what is there is the payload */
	assert_int_equal(parse_n(&p, 20 + 8 + 4, &pi, &blk), 0);
	assert_payload(&pi, blk, 28, "0123", 4);
	free(blk);
	assert_int_equal(parse_n(&p, 28, &pi, &blk), 0);
	assert_int_equal(pi.payload_len, 0);
	free(blk);

	/* cut inside the UDP or IP header: nothing trustworthy */
	assert_int_equal(parse_n(&p, 27, &pi, &blk), -EINVAL);
	free(blk);
	assert_int_equal(parse_n(&p, 19, &pi, &blk), -EINVAL);
	free(blk);
	assert_int_equal(parse_n(&p, 0, &pi, &blk), -EINVAL);
	free(blk);

	/* TCP header cut: flags/ports would be guesses */
	ip4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 1, 2, TH_SYN, 2, "xyz");
	ip4_done(&p);
	assert_int_equal(parse_n(&p, 20 + 27, &pi, &blk), -EINVAL);
	free(blk);
	assert_int_equal(parse_n(&p, 20 + 28 + 1, &pi, &blk), 0);
	assert_payload(&pi, blk, 48, "x", 1);
	free(blk);
}

static void test_ipv4_lengths(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	/* link-layer padding after the IP total length is not payload */
	ip4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 53, 1000, "abc");
	ip4_done(&p);
	put(&p, "\0\0\0\0\0\0", 6);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_payload(&pi, blk, 28, "abc", 3);
	free(blk);

	/* UDP length shorter than the IP payload: the rest is padding */
	ip4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 53, 1000, "abcdef");
	ip4_done(&p);
	set16(&p, 24, 8 + 2);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_payload(&pi, blk, 28, "ab", 2);
	free(blk);

	/* UDP length below its own header */
	set16(&p, 24, 7);
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);

	/* IHL below 5, IHL beyond the buffer, total length below IHL */
	ip4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 53, 1000, "abc");
	ip4_done(&p);
	p.b[0] = 0x44;
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);
	p.b[0] = 0x4f;
	assert_int_equal(parse_n(&p, 40, &pi, &blk), -EINVAL);
	free(blk);
	p.b[0] = 0x45;
	set16(&p, 2, 19);
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);

	/* total length covers the IP header only: no room for UDP */
	set16(&p, 2, 20);
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);

	/* TCP data offset below 5 or beyond the packet */
	ip4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 1, 2, TH_ACK, 0, "data");
	ip4_done(&p);
	p.b[32] = 4 << 4;
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);
	p.b[32] = 15 << 4;
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);
	p.b[32] = 6 << 4;
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_payload(&pi, blk, 44, "", 0);
	free(blk);
}

static void test_ipv4_fragments(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	/* non-first fragment: what looks like ports is payload */
	ip4(&p, IPPROTO_UDP, 0, 185);
	udp(&p, 53, 40000, "tail");
	ip4_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 0);
	assert_int_equal(pi.dport, 0);
	assert_ptr_equal(pi.payload, blk + 20);
	assert_int_equal(pi.payload_len, 12);
	free(blk);

	/* last fragment with MF clear but an offset is still non-first */
	set16(&p, 6, 0x2000 | 185);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.sport, 0);
	free(blk);

	/* first fragment: the UDP header is there, its length covers more than we got */
	ip4(&p, IPPROTO_UDP, 0, 0x2000);
	udp(&p, 53, 40000, "head");
	ip4_done(&p);
	set16(&p, 24, 1400);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.sport, 53);
	assert_payload(&pi, blk, 28, "head", 4);
	free(blk);
}

static void test_ipv4_other_proto(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip4(&p, IPPROTO_ICMP, 0, 0);
	put(&p, "\x08\x00\x00\x00ping", 8);
	ip4_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_ICMP);
	assert_int_equal(pi.sport, 0);
	assert_int_equal(pi.dport, 0);
	assert_payload(&pi, blk, 20, "\x08\x00\x00\x00ping", 8);
	free(blk);
}

static void test_ipv6_udp(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip6(&p, IPPROTO_UDP);
	udp(&p, 53, 33333, "dns!");
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.src.family, AF_INET6);
	assert_memory_equal(pi.src.a, v6src, 16);
	assert_memory_equal(pi.dst.a, v6dst, 16);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 53);
	assert_int_equal(pi.dport, 33333);
	assert_payload(&pi, blk, 48, "dns!", 4);
	free(blk);

	/* truncated copy */
	assert_int_equal(parse_n(&p, 50, &pi, &blk), 0);
	assert_payload(&pi, blk, 48, "dn", 2);
	free(blk);
	assert_int_equal(parse_n(&p, 47, &pi, &blk), -EINVAL);
	free(blk);
	assert_int_equal(parse_n(&p, 39, &pi, &blk), -EINVAL);
	free(blk);

	/* payload length shorter than the buffer bounds the payload */
	set16(&p, 4, 8 + 1);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_payload(&pi, blk, 48, "d", 1);
	free(blk);
}

static void test_ipv6_ext_headers(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip6(&p, IPPROTO_HOPOPTS);
	ext6(&p, IPPROTO_ROUTING, 0);
	ext6(&p, IPPROTO_DSTOPTS, 1);
	ext6(&p, IPPROTO_TCP, 2);
	tcp(&p, 5555, 80, TH_SYN, 1, "GET");
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_TCP);
	assert_int_equal(pi.sport, 5555);
	assert_int_equal(pi.dport, 80);
	assert_int_equal(pi.tcp_flags, TH_SYN);
	assert_payload(&pi, blk, 40 + 8 + 16 + 24 + 24, "GET", 3);
	free(blk);

	/* an extension header whose length runs past the payload length */
	ip6(&p, IPPROTO_DSTOPTS);
	ext6(&p, IPPROTO_UDP, 0);
	udp(&p, 1, 2, "x");
	ip6_done(&p);
	p.b[41] = 3;
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);

	/* or past a truncated copy */
	p.b[41] = 0;
	assert_int_equal(parse_n(&p, 45, &pi, &blk), -EINVAL);
	free(blk);
	assert_int_equal(parse_n(&p, 41, &pi, &blk), -EINVAL);
	free(blk);

	/* no next header */
	ip6(&p, IPPROTO_DSTOPTS);
	ext6(&p, IPPROTO_NONE, 0);
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_NONE);
	assert_int_equal(pi.payload_len, 0);
	free(blk);

	/* an endless chain of extension headers is cut off */
	ip6(&p, IPPROTO_DSTOPTS);
	for (int i = 0; i < 40; i++)
		ext6(&p, IPPROTO_DSTOPTS, 0);
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), -EINVAL);
	free(blk);

	/* AH: length in 4-byte units minus 2 */
	ip6(&p, IPPROTO_AH);
	put8(&p, IPPROTO_UDP);
	put8(&p, 4);
	put(&p, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
	udp(&p, 500, 4500, "ike");
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 500);
	assert_payload(&pi, blk, 40 + 24 + 8, "ike", 3);
	free(blk);
}

static void test_ipv6_fragments(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip6(&p, IPPROTO_FRAGMENT);
	frag6(&p, IPPROTO_UDP, 0, true);
	udp(&p, 53, 1111, "first");
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 53);
	assert_payload(&pi, blk, 56, "first", 5);
	free(blk);

	ip6(&p, IPPROTO_HOPOPTS);
	ext6(&p, IPPROTO_FRAGMENT, 0);
	frag6(&p, IPPROTO_UDP, 181, false);
	put(&p, "rest of it", 10);
	ip6_done(&p);
	assert_int_equal(parse(&p, &pi, &blk), 0);
	assert_int_equal(pi.l4proto, IPPROTO_UDP);
	assert_int_equal(pi.sport, 0);
	assert_int_equal(pi.dport, 0);
	assert_payload(&pi, blk, 56, "rest of it", 10);
	free(blk);

	/* fragment header cut short */
	assert_int_equal(parse_n(&p, 52, &pi, &blk), -EINVAL);
	free(blk);
}

static void test_not_ip(void **state)
{
	(void)state;
	struct pkt p;
	struct pkt_info pi;
	uint8_t *blk;

	ip4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 1, 2, "x");
	ip4_done(&p);
	p.b[0] = 0x55;
	assert_int_equal(parse(&p, &pi, &blk), -EPROTONOSUPPORT);
	free(blk);
	p.b[0] = 0x05;
	assert_int_equal(parse(&p, &pi, &blk), -EPROTONOSUPPORT);
	free(blk);
}

/* Every prefix of a set of packets: a known status, and a payload inside the buffer. */
static void test_all_prefixes(void **state)
{
	(void)state;
	struct pkt pk[6];
	struct pkt_info pi;

	ip4(&pk[0], IPPROTO_UDP, 2, 0);
	udp(&pk[0], 53, 1, "payload");
	ip4_done(&pk[0]);
	ip4(&pk[1], IPPROTO_TCP, 0, 0);
	tcp(&pk[1], 1, 2, TH_FIN, 4, "payload");
	ip4_done(&pk[1]);
	ip6(&pk[2], IPPROTO_HOPOPTS);
	ext6(&pk[2], IPPROTO_FRAGMENT, 1);
	frag6(&pk[2], IPPROTO_TCP, 0, true);
	tcp(&pk[2], 1, 2, TH_SYN, 1, "x");
	ip6_done(&pk[2]);
	ip6(&pk[3], IPPROTO_ROUTING);
	ext6(&pk[3], IPPROTO_UDP, 2);
	udp(&pk[3], 1, 2, "yy");
	ip6_done(&pk[3]);
	ip4(&pk[4], IPPROTO_UDP, 0, 0);
	udp(&pk[4], 53, 1, "z");
	ip4_done(&pk[4]);
	set16(&pk[4], 2, 1000);	/* claims more than the buffer */
	ip6(&pk[5], IPPROTO_UDP);
	udp(&pk[5], 53, 1, "w");
	set16(&pk[5], 4, 3000);

	for (size_t k = 0; k < 6; k++) {
		for (size_t n = 0; n <= pk[k].n; n++) {
			uint8_t *copy = malloc(n ? n : 1);

			assert_non_null(copy);
			memcpy(copy, pk[k].b, n);

			int rc = pkt_parse(copy, n, &pi);

			assert_true(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT);
			if (rc == 0) {
				assert_true(pi.payload >= copy && pi.payload <= copy + n);
				assert_true(pi.payload_len <= (size_t)(copy + n - pi.payload));
			}
			free(copy);
		}
	}
}

static void test_addr_str_parse(void **state)
{
	(void)state;
	static const char *const good[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::", "::1",
		"fe80::1:2:3:4", "::ffff:192.0.2.128",
	};
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "hello",
		"2001:db8:::1",
		"1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "192.0.2.1/24",
	};
	struct pkt_addr a;
	char buf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pkt_addr_parse(good[i], &a), 0);
		assert_string_equal(pkt_addr_str(&a, buf, sizeof(buf)), good[i]);
	}
	assert_int_equal(pkt_addr_parse("10.1.2.3", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.a, "\x0a\x01\x02\x03\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(pkt_addr_parse("2001:DB8::A", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(pkt_addr_str(&a, buf, sizeof(buf)), "2001:db8::a");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0x55, sizeof(a));
		assert_int_equal(pkt_addr_parse(bad[i], &a), -EINVAL);
		assert_int_equal(a.family, 0);
	}
	assert_int_equal(pkt_addr_parse(NULL, &a), -EINVAL);

	/* an unset address and a too small buffer still give a printable string */
	memset(&a, 0, sizeof(a));
	assert_string_equal(pkt_addr_str(&a, buf, sizeof(buf)), "?");
	assert_int_equal(pkt_addr_parse("192.0.2.1", &a), 0);
	assert_string_equal(pkt_addr_str(&a, buf, 4), "?");
	assert_ptr_equal(pkt_addr_str(&a, buf, sizeof(buf)), buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_ipv4_tcp_options),
		cmocka_unit_test(test_ipv4_truncated_copy),
		cmocka_unit_test(test_ipv4_lengths),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_ipv4_other_proto),
		cmocka_unit_test(test_ipv6_udp),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_all_prefixes),
		cmocka_unit_test(test_addr_str_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
