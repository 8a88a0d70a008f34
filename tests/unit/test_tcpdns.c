/*
 * Unit tests for the DNS-over-TCP reassembler: hand-made segments for each rule, then real
 * captures (read with the small pcap reader below, cut into IP packets, parsed by
 * pkt_parse and fed in capture order) whose expected messages come from an independent
 * whole-stream reassembly (see tests/data/SOURCES.md), and a replay of the fuzz
 * regressions through the fuzz harness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "pkt.h"
#include "tcpdns.h"

/* the harness defines LLVMFuzzerTestOneInput(); it aborts on any violated invariant */
#include "../fuzz/fuzz_dns.c"

#ifndef TEST_DATA
#define TEST_DATA "tests/data"
#endif

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10
#define MAX_MSGS 256

/* ---- collecting what the reassembler passes on ---- */

struct got {
	size_t n;
	size_t len[MAX_MSGS];
	uint8_t *msg[MAX_MSGS];
};

static void on_msg(void *ctx, const uint8_t *msg, size_t len)
{
	struct got *g = ctx;

	assert_true(g->n < MAX_MSGS);
	g->msg[g->n] = malloc(len);
	assert_non_null(g->msg[g->n]);
	memcpy(g->msg[g->n], msg, len);
	g->len[g->n++] = len;
}

static void got_clear(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->msg[i]);
	g->n = 0;
}

static uint16_t got_id(const struct got *g, size_t i)
{
	assert_true(i < g->n && g->len[i] >= 2);
	return (uint16_t)(g->msg[i][0] << 8 | g->msg[i][1]);
}

/* ---- hand-made segments ---- */

struct conn {
	struct tcpdns *t;
	struct got got;
	uint64_t now;
	uint16_t dport;
	int family;
};

/* Feeds one segment of the server -> client stream of c; returns what tcpdns_feed does. */
static int seg(struct conn *c, uint8_t flags, uint32_t seq, const void *payload, size_t len)
{
	struct pkt_info pi;
	uint8_t *copy = len ? malloc(len) : NULL;
	int rc;

	memset(&pi, 0, sizeof(pi));
	pi.src.family = pi.dst.family = (uint8_t)c->family;
	if (c->family == AF_INET) {
		inet_pton(AF_INET, "192.0.2.53", pi.src.a);
		inet_pton(AF_INET, "198.51.100.7", pi.dst.a);
	} else {
		inet_pton(AF_INET6, "2001:db8::53", pi.src.a);
		inet_pton(AF_INET6, "2001:db8::7", pi.dst.a);
	}
	pi.l4proto = IPPROTO_TCP;
	pi.sport = 53;
	pi.dport = c->dport;
	pi.tcp_flags = flags | ACK;
	pi.tcp_seq = seq;
	if (len) {
		assert_non_null(copy);
		memcpy(copy, payload, len);	/* exactly sized: ASan sees overreads */
	}
	pi.payload = copy;
	pi.payload_len = len;
	rc = tcpdns_feed(c->t, &pi, c->now, on_msg, &c->got);
	free(copy);
	return rc;
}

/* A framed message: 2-byte length, then a 12-byte header with the id, then filler. */
static size_t frame(uint8_t *out, uint16_t id, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memset(out + 2, 0, len);
	out[2] = (uint8_t)(id >> 8);
	out[3] = (uint8_t)id;
	out[4] = 0x81;
	for (size_t i = 12; i < len; i++)
		out[2 + i] = (uint8_t)(i * 7 + id);
	return len + 2;
}

static struct conn *conn_new(size_t slots, size_t buf, uint64_t idle)
{
	struct conn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->t = tcpdns_new(slots, buf, idle);
	assert_non_null(c->t);
	c->dport = 40000;
	c->family = AF_INET;
	c->now = 1000;
	return c;
}

static void conn_free(struct conn *c)
{
	got_clear(&c->got);
	tcpdns_free(c->t);
	free(c);
}

static struct tcpdns_stats stats(const struct conn *c)
{
	struct tcpdns_stats st;

	tcpdns_stats_get(c->t, &st);
	return st;
}

static void test_new_and_free(void **state)
{
	(void)state;
	struct tcpdns *t;

	assert_null(tcpdns_new(0, 4096, 1));
	assert_null(tcpdns_new(65536, 4096, 1));
	assert_null(tcpdns_new(4, 11, 1));
	assert_null(tcpdns_new(4, 65536, 1));
	t = tcpdns_new(TCPDNS_SLOTS_DEFAULT, TCPDNS_BUF_DEFAULT, TCPDNS_IDLE_MS_DEFAULT);
	assert_non_null(t);
	assert_int_equal(tcpdns_count(t), 0);
	tcpdns_free(t);
	t = tcpdns_new(1, 12, 0);
	assert_non_null(t);
	tcpdns_free(t);
	tcpdns_free(NULL);
}

static void test_not_tcp(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	struct pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.l4proto = IPPROTO_UDP;
	pi.src.family = pi.dst.family = AF_INET;
	assert_int_equal(tcpdns_feed(c->t, &pi, 1, on_msg, &c->got), -EINVAL);
	pi.l4proto = IPPROTO_TCP;
	pi.dst.family = AF_INET6;
	assert_int_equal(tcpdns_feed(c->t, &pi, 1, on_msg, &c->got), -EINVAL);
	pi.src.family = pi.dst.family = 0;
	assert_int_equal(tcpdns_feed(c->t, &pi, 1, on_msg, &c->got), -EINVAL);
	assert_int_equal(stats(c).segments, 0);
	conn_free(c);
}

static void test_one_message_one_segment(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[600];
	size_t n = frame(b, 0x1234, 40);

	assert_int_equal(seg(c, SYN, 1000, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 1);
	assert_int_equal(seg(c, 0, 1001, b, n), 1);
	assert_int_equal(c->got.n, 1);
	assert_int_equal(c->got.len[0], 40);
	assert_memory_equal(c->got.msg[0], b + 2, 40);
	/* a bare ACK, then FIN: the stream is released */
	assert_int_equal(seg(c, 0, 1001 + (uint32_t)n, NULL, 0), 0);
	assert_int_equal(seg(c, FIN, 1001 + (uint32_t)n, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 0);
	assert_int_equal(stats(c).messages, 1);
	assert_int_equal(stats(c).closed, 1);
	conn_free(c);
}

static void test_many_messages_one_segment(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[2000];
	size_t n = 0;

	/* four messages and the first byte of a fifth length prefix */
	for (uint16_t id = 1; id <= 4; id++)
		n += frame(b + n, id, 12 + 30 * id);
	n += frame(b + n, 5, 20);
	assert_int_equal(seg(c, SYN, 7, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 8, b, n - 21), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(got_id(&c->got, i), i + 1);
		assert_int_equal(c->got.len[i], 12 + 30 * (i + 1));
	}
	/* the rest, then FIN with data */
	assert_int_equal(seg(c, FIN, 8 + (uint32_t)(n - 21), b + n - 21, 21), 1);
	assert_int_equal(got_id(&c->got, 4), 5);
	assert_int_equal(c->got.len[4], 20);
	assert_int_equal(tcpdns_count(c->t), 0);
	conn_free(c);
}

static void test_one_message_many_segments(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[600];
	size_t n = frame(b, 0xabcd, 300);

	/* byte by byte, length prefix split too, sequence numbers wrapping */
	assert_int_equal(seg(c, SYN, 0xffffff00u, NULL, 0), 0);
	for (size_t i = 0; i < n; i++) {
		int rc = seg(c, 0, 0xffffff01u + (uint32_t)i, b + i, 1);

		assert_int_equal(rc, i + 1 == n ? 1 : 0);
	}
	assert_int_equal(c->got.n, 1);
	assert_int_equal(c->got.len[0], 300);
	assert_memory_equal(c->got.msg[0], b + 2, 300);

	/* then a message in three uneven pieces */
	got_clear(&c->got);
	uint32_t seq = 0xffffff01u + (uint32_t)n;

	n = frame(b, 0x0102, 500);
	assert_int_equal(seg(c, 0, seq, b, 3), 0);
	assert_int_equal(seg(c, 0, seq + 3, b + 3, 400), 0);
	assert_int_equal(seg(c, 0, seq + 403, b + 403, n - 403), 1);
	assert_memory_equal(c->got.msg[0], b + 2, 500);
	conn_free(c);
}

static void test_retransmissions(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[600];
	size_t n = frame(b, 1, 100);

	n += frame(b + n, 2, 100);
	assert_int_equal(seg(c, SYN, 100, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 101, b, 60), 0);
	/* the same segment again, and a shorter one inside it */
	assert_int_equal(seg(c, 0, 101, b, 60), 0);
	assert_int_equal(seg(c, 0, 111, b + 10, 20), 0);
	/* overlapping: 40 old bytes, 80 new */
	assert_int_equal(seg(c, 0, 121, b + 20, 120), 1);
	assert_int_equal(got_id(&c->got, 0), 1);
	/* the rest; then the whole stream again */
	assert_int_equal(seg(c, 0, 241, b + 140, n - 140), 1);
	assert_int_equal(seg(c, 0, 101, b, n), 0);
	assert_int_equal(c->got.n, 2);
	assert_int_equal(got_id(&c->got, 1), 2);
	assert_memory_equal(c->got.msg[1], b + 104, 100);
	assert_int_equal(stats(c).retrans, 4);
	/* a repeated SYN (same ISN) changes nothing */
	assert_int_equal(seg(c, 0, 101 + (uint32_t)n, b, 10), 0);
	assert_int_equal(seg(c, SYN, 100, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 111 + (uint32_t)n, b + 10, 94), 1);
	assert_int_equal(got_id(&c->got, 2), 1);
	conn_free(c);
}

static void test_gap_resynchronises(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[1200];
	size_t n1 = frame(b, 1, 100), n2 = frame(b + n1, 2, 100), n3 = frame(b + n1 + n2, 3, 50);
	uint32_t s0 = 5001;

	assert_int_equal(seg(c, SYN, 5000, NULL, 0), 0);
	assert_int_equal(seg(c, 0, s0, b, 50), 0);
	/* the segment with the rest of message 1 and the start of 2 is lost; the next one
	 * starts inside message 2: dropped, the partial message 1 with it */
	assert_int_equal(seg(c, 0, s0 + 150, b + 150, n1 + n2 - 150), 0);
	assert_int_equal(stats(c).gaps, 1);
	assert_int_equal(stats(c).unsynced, 1);
	/* message 3 in its own segment: picked up */
	assert_int_equal(seg(c, 0, s0 + (uint32_t)(n1 + n2), b + n1 + n2, n3), 1);
	assert_int_equal(got_id(&c->got, 0), 3);
	/* the lost segment arrives late: behind the new position, ignored */
	assert_int_equal(seg(c, 0, s0 + 50, b + 50, 100), 0);
	assert_int_equal(c->got.n, 1);
	conn_free(c);
}

static void test_no_syn_pickup(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[1200];
	size_t n1 = frame(b, 0xe7af, 28), n2 = frame(b + n1, 2, 45);

	/* a bare ACK of an unknown stream is not tracked */
	assert_int_equal(seg(c, 0, 77, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 0);
	/* a message body without its length (the prefix went in an earlier segment): its
	 * first bytes would read as a length of 59311; not taken */
	assert_int_equal(seg(c, 0, 79, b + 2, 28), 0);
	assert_int_equal(stats(c).unsynced, 1);
	/* a lone length prefix is a boundary: the body follows */
	assert_int_equal(seg(c, 0, 107, b + n1, 2), 0);
	assert_int_equal(seg(c, 0, 109, b + n1 + 2, n2 - 2), 1);
	assert_int_equal(got_id(&c->got, 0), 2);

	/* a fresh stream whose first segment starts with a whole message plus a part */
	c->dport++;
	got_clear(&c->got);
	assert_int_equal(seg(c, 0, 1, b, n1 + 10), 1);
	assert_int_equal(seg(c, 0, 1 + (uint32_t)(n1 + 10), b + n1 + 10, n2 - 10), 1);
	assert_int_equal(got_id(&c->got, 1), 2);

	/* length prefixes shorter than a DNS header are no boundary */
	c->dport++;
	assert_int_equal(seg(c, 0, 1, "\x00\x02\x00\x01\x00\x00", 4), 0);
	assert_int_equal(seg(c, 0, 1, "\x00\x05", 2), 0);
	/* nor a message that does not fit: it may be anything */
	assert_int_equal(seg(c, 0, 5, "\x00\x40\x01\x02\x03\x04", 6), 0);
	assert_int_equal(c->got.n, 2);
	conn_free(c);
}

static void test_oversize(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 64, 1000);
	uint8_t b[3000];
	size_t n1 = frame(b, 1, 1000), n2 = frame(b + n1, 2, 60);

	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	/* 1000 bytes in pieces of 100 with a 64-byte buffer: skipped, message 2 still read */
	for (size_t off = 0; off < n1 + n2; off += 100) {
		size_t k = n1 + n2 - off < 100 ? n1 + n2 - off : 100;

		assert_true(seg(c, 0, 1 + (uint32_t)off, b + off, k) >= 0);
	}
	assert_int_equal(stats(c).oversize, 1);
	assert_int_equal(c->got.n, 1);
	assert_int_equal(got_id(&c->got, 0), 2);

	/* a message bigger than the buffer but whole in its segment is passed on directly */
	assert_int_equal(seg(c, 0, 1 + (uint32_t)(n1 + n2), b, n1), 1);
	assert_int_equal(c->got.len[1], 1000);

	/* empty messages are skipped */
	assert_int_equal(seg(c, 0, 1 + (uint32_t)(2 * n1 + n2), "\0\0\0\0", 4), 0);
	assert_int_equal(stats(c).empty, 2);
	conn_free(c);
}

static void test_rst_and_new_connection(void **state)
{
	(void)state;
	struct conn *c = conn_new(4, 512, 1000);
	uint8_t b[600];
	size_t n = frame(b, 9, 100);

	assert_int_equal(seg(c, SYN, 10, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 11, b, 50), 0);
	assert_int_equal(seg(c, RST, 61, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 0);
	/* the rest of the message on a stream we no longer know: not a boundary */
	assert_int_equal(seg(c, 0, 61, b + 50, n - 50), 0);
	/* a new connection on the same ports: SYN restarts the stream */
	assert_int_equal(seg(c, SYN, 900000, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 900001, b, n), 1);
	/* and one whose SYN we missed, far away in sequence space: picked up like no SYN */
	assert_int_equal(seg(c, 0, 900001 + 0x40000000u, b, n), 1);
	assert_int_equal(stats(c).gaps, 1);
	assert_int_equal(c->got.n, 2);
	conn_free(c);
}

static void test_idle_and_lru(void **state)
{
	(void)state;
	struct conn *c = conn_new(2, 512, 1000);
	uint8_t b[600];
	size_t n = frame(b, 1, 100);

	/* A waits for the rest of a message; B opens; C takes A's slot, the oldest */
	c->dport = 1;
	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 1, b, 50), 0);
	c->dport = 2;
	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	c->dport = 3;
	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 2);
	assert_int_equal(stats(c).evicted, 1);

	/* feeding B keeps it young; C, silent for more than the timeout, is forgotten */
	c->now = 1600;
	c->dport = 2;
	assert_int_equal(seg(c, 0, 1, b, n), 1);
	c->now = 2100;
	c->dport = 4;
	assert_int_equal(seg(c, 0, 1, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 1);
	assert_int_equal(stats(c).expired, 1);
	c->now = 2601;
	assert_int_equal(seg(c, 0, 1, NULL, 0), 0);
	assert_int_equal(tcpdns_count(c->t), 0);
	assert_int_equal(stats(c).expired, 2);

	/* the rest of A's message now has no stream: not a boundary, no slot taken */
	c->dport = 1;
	assert_int_equal(seg(c, 0, 51, b + 50, n - 50), 0);
	assert_int_equal(tcpdns_count(c->t), 0);
	assert_int_equal(c->got.n, 1);
	conn_free(c);
}

static void test_streams_apart(void **state)
{
	(void)state;
	struct conn *c = conn_new(8, 512, 1000);
	uint8_t b[600], d[600];
	size_t n = frame(b, 0x4141, 100), m = frame(d, 0x4242, 100);

	/* interleaved halves of two streams, one IPv4 and one IPv6 on the same ports */
	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	c->family = AF_INET6;
	assert_int_equal(seg(c, SYN, 0, NULL, 0), 0);
	assert_int_equal(seg(c, 0, 1, d, 40), 0);
	c->family = AF_INET;
	assert_int_equal(seg(c, 0, 1, b, 40), 0);
	c->family = AF_INET6;
	assert_int_equal(seg(c, 0, 41, d + 40, m - 40), 1);
	c->family = AF_INET;
	assert_int_equal(seg(c, 0, 41, b + 40, n - 40), 1);
	assert_int_equal(got_id(&c->got, 0), 0x4242);
	assert_int_equal(got_id(&c->got, 1), 0x4141);
	assert_int_equal(tcpdns_count(c->t), 2);
	conn_free(c);
}

static void test_many_streams(void **state)
{
	(void)state;
	struct conn *c = conn_new(TCPDNS_SLOTS_DEFAULT, TCPDNS_BUF_DEFAULT, 1000000);
	uint8_t b[600];
	size_t n = frame(b, 7, 200);

	/* 1000 streams each with half a message: the table keeps the last 256 */
	for (unsigned i = 0; i < 1000; i++) {
		c->dport = (uint16_t)(1000 + i);
		assert_int_equal(seg(c, SYN, i, NULL, 0), 0);
		assert_int_equal(seg(c, 0, i + 1, b, 100), 0);
	}
	assert_int_equal(tcpdns_count(c->t), TCPDNS_SLOTS_DEFAULT);
	assert_int_equal(stats(c).evicted, 1000 - TCPDNS_SLOTS_DEFAULT);
	/* the second halves: the forgotten streams' cannot be read and take no slot, so the
	 * streams still followed all complete */
	for (unsigned i = 0; i < 1000; i++) {
		c->dport = (uint16_t)(1000 + i);
		assert_int_equal(seg(c, 0, i + 101, b + 100, n - 100),
				 i >= 1000 - TCPDNS_SLOTS_DEFAULT);
	}
	assert_int_equal(c->got.n, TCPDNS_SLOTS_DEFAULT);
	assert_int_equal(stats(c).evicted, 1000 - TCPDNS_SLOTS_DEFAULT);
	assert_int_equal(stats(c).unsynced, 1000 - TCPDNS_SLOTS_DEFAULT);
	conn_free(c);
}

/* ---- real captures ---- */

struct capture {
	struct tcpdns *t;
	struct got to_client, to_server;
	size_t segments, bad;
};

static void on_capture_msg(void *ctx, const uint8_t *msg, size_t len)
{
	on_msg(ctx, msg, len);
}

static uint32_t rd32_order(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/*
 * Reads a classic pcap file (either byte order, micro- or nanosecond stamps) and feeds
 * every TCP segment to c: link types Ethernet (1, VLAN tags skipped), raw IP (101, 12, 228,
 * 229), Linux cooked (113) and BSD loopback (0). The server is the side with port 53 or 8053.
 */
static void capture_run(const char *name, struct capture *c)
{
	char path[512];
	FILE *f;
	uint8_t hdr[24], rec[16];
	static uint8_t pkt[262144];

	snprintf(path, sizeof(path), "%s/dns/tcp/%s", TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fread(hdr, 1, 24, f), 24);

	uint32_t magic;

	memcpy(&magic, hdr, 4);

	bool swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	bool nano = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;

	assert_true(swap || magic == 0xa1b2c3d4u || nano);

	uint32_t linktype = rd32_order(hdr + 20, swap);

	c->t = tcpdns_new(TCPDNS_SLOTS_DEFAULT, TCPDNS_BUF_DEFAULT, TCPDNS_IDLE_MS_DEFAULT);
	assert_non_null(c->t);
	while (fread(rec, 1, 16, f) == 16) {
		uint32_t incl = rd32_order(rec + 8, swap);
		uint64_t now = (uint64_t)rd32_order(rec, swap) * 1000 +
			       rd32_order(rec + 4, swap) / (nano ? 1000000 : 1000);
		size_t off = 0;
		struct pkt_info pi;

		assert_true(incl <= sizeof(pkt));
		assert_int_equal(fread(pkt, 1, incl, f), incl);
		switch (linktype) {
		case 1: {
			uint16_t et;

			off = 14;
			assert_true(incl >= 14);
			et = (uint16_t)(pkt[12] << 8 | pkt[13]);
			while ((et == 0x8100 || et == 0x88a8) && incl >= off + 4) {
				et = (uint16_t)(pkt[off + 2] << 8 | pkt[off + 3]);
				off += 4;
			}
			if (et != 0x0800 && et != 0x86dd)
				continue;
			break;
		}
		case 113:
			off = 16;
			break;
		case 0:
			off = 4;
			break;
		case 12:
		case 101:
		case 228:
		case 229:
			break;
		default:
			fail_msg("%s: link type %u", name, linktype);
		}
		if (incl < off || pkt_parse(pkt + off, incl - off, &pi) < 0) {
			c->bad++;
			continue;
		}
		if (pi.l4proto != IPPROTO_TCP)
			continue;

		bool to_client = pi.sport == 53 || pi.sport == 8053;
		int rc = tcpdns_feed(c->t, &pi, now, on_capture_msg,
				     to_client ? &c->to_client : &c->to_server);

		assert_true(rc >= 0);
		c->segments++;
	}
	fclose(f);
}

static void capture_free(struct capture *c)
{
	got_clear(&c->to_client);
	got_clear(&c->to_server);
	tcpdns_free(c->t);
}

static void assert_ids(const struct got *g, const uint16_t *ids, size_t n)
{
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++) {
		if (got_id(g, i) != ids[i])
			fail_msg("message %zu: id %u, expected %u", i, got_id(g, i), ids[i]);
	}
}

/* Every reply parses, every query parses as one. */
static void assert_all_parse(const struct capture *c)
{
	struct dns_reply *r = malloc(sizeof(*r));
	struct dns_query q;

	assert_non_null(r);
	for (size_t i = 0; i < c->to_client.n; i++) {
		int rc = dns_parse_reply(c->to_client.msg[i], c->to_client.len[i], r);

		assert_true(rc == DNS_OK || rc == DNS_E_RCODE);
	}
	for (size_t i = 0; i < c->to_server.n; i++)
		assert_int_equal(dns_parse_query(c->to_server.msg[i], c->to_server.len[i], &q),
				 DNS_OK);
	free(r);
}

static void test_capture_tcpdump(void **state)
{
	(void)state;
	struct capture c = { 0 };
	struct dns_reply *r = malloc(sizeof(*r));
	struct dns_query q;
	static const uint8_t a1[4] = { 192, 139, 46, 66 }, a2[4] = { 198, 199, 88, 104 };

	/* tcpdump dns_tcp: one query, one reply (2 A, authority and additional records) */
	assert_non_null(r);
	capture_run("tcpdump__dns_tcp.pcap", &c);
	assert_int_equal(c.to_server.n, 1);
	assert_int_equal(c.to_client.n, 1);
	assert_int_equal(c.to_client.len[0], 224);
	assert_int_equal(dns_parse_query(c.to_server.msg[0], c.to_server.len[0], &q), DNS_OK);
	assert_int_equal(q.id, 17177);
	assert_string_equal(q.name, "www.tcpdump.org");
	assert_int_equal(dns_parse_reply(c.to_client.msg[0], c.to_client.len[0], r), DNS_OK);
	assert_int_equal(r->id, 17177);
	assert_string_equal(r->names[0], "www.tcpdump.org");
	assert_int_equal(r->n_addrs, 2);
	assert_memory_equal(r->addrs[0].a, a1, 4);
	assert_memory_equal(r->addrs[1].a, a2, 4);
	assert_int_equal(tcpdns_count(c.t), 0);	/* both FINs seen */
	capture_free(&c);
	free(r);
}

static void test_capture_dnscap_streams(void **state)
{
	(void)state;
	struct capture c = { 0 };
	struct dns_reply *r = malloc(sizeof(*r));

	assert_non_null(r);
	/* many queries over one stream, each prefix in a segment of its own; 41 exchanges,
	 * answered in order */
	capture_run("dnscap__dnso1tcp.pcap", &c);
	assert_int_equal(c.to_server.n, 41);
	assert_int_equal(c.to_client.n, 41);
	for (size_t i = 0; i < 41; i++)
		assert_int_equal(got_id(&c.to_server, i), got_id(&c.to_client, i));
	assert_int_equal(got_id(&c.to_client, 0), 59311);
	assert_int_equal(dns_parse_reply(c.to_client.msg[0], c.to_client.len[0], r), DNS_OK);
	assert_string_equal(r->names[0], "google.com");
	assert_all_parse(&c);
	capture_free(&c);

	/* three queries in one segment */
	memset(&c, 0, sizeof(c));
	capture_run("dnscap__dnsotcp-many1pkt.pcap", &c);
	assert_int_equal(c.to_server.n, 3);
	assert_int_equal(c.to_client.n, 1);
	assert_all_parse(&c);
	capture_free(&c);

	/* three queries in two segments, the second query across both */
	memset(&c, 0, sizeof(c));
	capture_run("dnscap__dnsotcp-manyopkts.pcap", &c);
	assert_int_equal(c.to_server.n, 3);
	assert_int_equal(c.to_client.n, 0);
	assert_all_parse(&c);
	capture_free(&c);

	/* with and without a SYN, and with EDNS padding */
	static const char *const one[] = { "dnscap__1qtcpnosyn.pcap", "dnscap__1qtcppadd.pcap" };

	for (size_t i = 0; i < 2; i++) {
		memset(&c, 0, sizeof(c));
		capture_run(one[i], &c);
		assert_int_equal(c.to_server.n, 1);
		assert_int_equal(c.to_client.n, 1);
		assert_int_equal(got_id(&c.to_client, 0), 4815);
		assert_all_parse(&c);
		capture_free(&c);
	}
	free(r);
}

/* Captures with segments missing: what comes after a hole is found again. */
static void test_capture_dnscap_holes(void **state)
{
	(void)state;
	struct capture c = { 0 };
	/* the messages whose bytes are all in the capture (see SOURCES.md) */
	static const uint16_t big_q[] = {
		59311, 35665, 5337, 58510, 45248, 49483, 31669, 25433, 63798, 8470,
		60258, 44985, 45512, 22980, 1834, 25431, 48432, 47411, 12038, 11614,
		59173, 45535, 60808, 64325, 25543, 20736, 25911, 64358, 37698, 54706,
		32142, 41808, 18886, 10624, 33139, 61415, 59258, 17700,
	};
	static const uint16_t big_r[] = {
		59311, 35665, 22531, 58510, 45248, 49483, 31669, 25433, 63798, 8470,
		60258, 44985, 45512, 22980, 1834, 25431, 48432, 47411, 12038, 11614,
		59173, 45535, 60808, 64325, 25543, 20736, 25911, 64358, 37698, 54706,
		32142, 41808, 18886, 10624, 33139, 61415, 59258, 17700,
	};
	static const uint16_t mid_q[] = { 59311, 35665, 22982 }, mid_r[] = { 59311, 5337, 22982 };
	static const uint16_t nolen_q[] = { 35665 }, nolen_r[] = { 59311, 35665 };

	capture_run("dnscap__dnso1tcp-bighole.pcap", &c);
	assert_ids(&c.to_server, big_q, sizeof(big_q) / sizeof(big_q[0]));
	assert_ids(&c.to_client, big_r, sizeof(big_r) / sizeof(big_r[0]));
	assert_all_parse(&c);
	capture_free(&c);

	memset(&c, 0, sizeof(c));
	capture_run("dnscap__dnso1tcp-midmiss.pcap", &c);
	assert_ids(&c.to_server, mid_q, 3);
	assert_ids(&c.to_client, mid_r, 3);
	assert_all_parse(&c);
	capture_free(&c);

	/* no SYN, and the first query's length prefix is not in the capture */
	memset(&c, 0, sizeof(c));
	capture_run("dnscap__do1t-nosyn-1nolen.pcap", &c);
	assert_ids(&c.to_server, nolen_q, 1);
	assert_ids(&c.to_client, nolen_r, 2);
	assert_all_parse(&c);
	capture_free(&c);
}

static void test_capture_others(void **state)
{
	(void)state;
	struct capture c = { 0 };
	struct dns_reply *r = malloc(sizeof(*r));
	static const uint16_t ecs_r[] = { 6202, 62008, 60025, 8645, 48256, 38013, 13321, 1754 };

	assert_non_null(r);
	/* IPv6 over raw IP: 1125-byte referral for the root */
	capture_run("dnsjit__ip6-tcp-padd.pcap", &c);
	assert_int_equal(c.to_client.n, 1);
	assert_int_equal(c.to_client.len[0], 1125);
	assert_int_equal(got_id(&c.to_client, 0), 56446);
	assert_int_equal(c.to_server.n, 1);
	assert_all_parse(&c);
	capture_free(&c);

	/* UDP and TCP mixed, the TCP reply with junk after its records */
	memset(&c, 0, sizeof(c));
	capture_run("dnsjit__tcp-response-with-trailing-junk.pcap", &c);
	assert_int_equal(c.to_client.n, 1);
	assert_int_equal(got_id(&c.to_client, 0), 7203);
	assert_int_equal(dns_parse_reply(c.to_client.msg[0], c.to_client.len[0], r),
			 DNS_E_RCODE);
	assert_int_equal(r->rcode, 3);
	capture_free(&c);

	/* a 3245-byte TKEY query over three segments, the reply in one */
	memset(&c, 0, sizeof(c));
	capture_run("zeek__tkey.pcap", &c);
	assert_int_equal(c.to_server.n, 1);
	assert_int_equal(c.to_server.len[0], 3245);
	assert_int_equal(c.to_client.n, 1);
	assert_int_equal(got_id(&c.to_client, 0), 52640);
	capture_free(&c);

	/* two connections after each other */
	memset(&c, 0, sizeof(c));
	capture_run("zeek__dns-edns-cookie.pcap", &c);
	assert_int_equal(c.to_client.n, 2);
	assert_int_equal(got_id(&c.to_client, 0), 32886);
	assert_int_equal(got_id(&c.to_client, 1), 24703);
	assert_int_equal(dns_parse_reply(c.to_client.msg[1], c.to_client.len[1], r), DNS_OK);
	assert_string_equal(r->names[0], "wikipedia.org");
	assert_int_equal(r->n_addrs, 1);
	assert_all_parse(&c);
	capture_free(&c);

	/* replies picked up mid-stream (no SYN in the capture), IPv4 and IPv6 */
	memset(&c, 0, sizeof(c));
	capture_run("zeek__dns-edns-ecs.pcap", &c);
	assert_ids(&c.to_client, ecs_r, sizeof(ecs_r) / sizeof(ecs_r[0]));
	assert_int_equal(c.to_server.n, 1);
	for (size_t i = 0; i < c.to_client.n; i++) {
		int rc = dns_parse_reply(c.to_client.msg[i], c.to_client.len[i], r);

		assert_true(rc == DNS_OK || rc == DNS_E_RCODE);
	}
	capture_free(&c);
	free(r);
}

/* ---- fuzz regressions ---- */

static size_t replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d))) {
		char path[1024];
		FILE *f;
		long len;
		uint8_t *buf;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		len = ftell(f);
		assert_true(len >= 0);
		rewind(f);
		buf = malloc(len ? (size_t)len : 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

/* The fuzz harness over the regressions and the seed corpora, without libFuzzer. */
static void test_fuzz_replay(void **state)
{
	(void)state;
	assert_true(replay_dir(TEST_DATA "/dns/regress") > 0);
	assert_int_equal(replay_dir(TEST_DATA "/dns/fuzz/c-ares/corpus"), 74);
	assert_int_equal(replay_dir(TEST_DATA "/dns/fuzz/bind9/corpus"), 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_free),
		cmocka_unit_test(test_not_tcp),
		cmocka_unit_test(test_one_message_one_segment),
		cmocka_unit_test(test_many_messages_one_segment),
		cmocka_unit_test(test_one_message_many_segments),
		cmocka_unit_test(test_retransmissions),
		cmocka_unit_test(test_gap_resynchronises),
		cmocka_unit_test(test_no_syn_pickup),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_rst_and_new_connection),
		cmocka_unit_test(test_idle_and_lru),
		cmocka_unit_test(test_streams_apart),
		cmocka_unit_test(test_many_streams),
		cmocka_unit_test(test_capture_tcpdump),
		cmocka_unit_test(test_capture_dnscap_streams),
		cmocka_unit_test(test_capture_dnscap_holes),
		cmocka_unit_test(test_capture_others),
		cmocka_unit_test(test_fuzz_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
