/*
 * libFuzzer target for everything that reads DNS from the network: dns_parse_reply(),
 * dns_parse_query() and the DNS-over-TCP reassembler, whose messages are parsed again.
 * Every violated invariant aborts, so the fuzzer reports it like a crash.
 *
 * The input is parsed as a DNS message as it is. For tcpdns it is read in one of two ways,
 * chosen by the top bit of its first byte:
 *   0: a stream. The rest of the input, behind a 2-byte length prefix, is one DNS message
 *      on a fresh connection, cut into segments of 1 + (byte0 & 31) bytes; with bit 6 set
 *      every third segment is also sent again (a retransmission). DNS messages from the
 *      corpora thus travel through the reassembler too.
 *   1: a script of segments: op byte, length byte, payload. op bits 0-1 pick one of four
 *      streams (two IPv4, two IPv6), 2 SYN, 3 FIN, 4 RST (only with SYN and FIN both
 *      clear), 5-6 the sequence number (in order, repeat the previous segment, 1..256
 *      bytes ahead, or 2^31 away), 7 advances the clock past the idle timeout. byte0 bits
 *      0-1 give the slot count - 1, bits 2-3 the buffer size (16 << n).
 * Segments and messages are copied into exactly sized heap buffers so that AddressSanitizer
 * sees any read past their end.
 *
 * Built by tests/fuzz/run.sh; tests/unit/test_tcpdns.c includes this file to replay
 * tests/data/dns/regress/ without libFuzzer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "pkt.h"
#include "tcpdns.h"

#define FUZZ_TH_FIN 0x01
#define FUZZ_TH_SYN 0x02
#define FUZZ_TH_RST 0x04
#define FUZZ_TH_ACK 0x10
#define FUZZ_IDLE_MS 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                   \
	do {                               \
		if (!(cond))               \
			abort();           \
	} while (0)

static bool fuzz_plain(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A normalised name: "." or labels of [a-z0-9-_] and \DDD escapes joined by single dots. */
static void fuzz_check_name(const char *s)
{
	size_t n = strnlen(s, DNS_NAME_MAX);

	FUZZ_CHECK(n >= 1 && n < DNS_NAME_MAX);
	if (n == 1 && s[0] == '.')
		return;
	FUZZ_CHECK(s[0] != '.' && s[n - 1] != '.');
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '\\') {
			FUZZ_CHECK(k + 3 < n);
			for (int j = 1; j <= 3; j++)
				FUZZ_CHECK(s[k + j] >= '0' && s[k + j] <= '9');
			int v = (s[k + 1] - '0') * 100 + (s[k + 2] - '0') * 10 + s[k + 3] - '0';

			/* canonical: only bytes without a plain form are escaped */
			FUZZ_CHECK(v < 256 && !fuzz_plain((char)v) && !(v >= 'A' && v <= 'Z'));
			k += 3;
		} else if (s[k] == '.') {
			FUZZ_CHECK(s[k + 1] != '.');
		} else {
			FUZZ_CHECK(fuzz_plain(s[k]));
		}
	}
}

static void fuzz_check_reply(const struct dns_reply *r)
{
	FUZZ_CHECK(r->n_chain >= 1 && r->n_chain <= r->n_names && r->n_names <= DNS_NAMES_MAX);
	FUZZ_CHECK(r->n_addrs <= DNS_ADDRS_MAX);
	for (size_t i = 0; i < r->n_names; i++) {
		fuzz_check_name(r->names[i]);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(r->names[i], r->names[j]) != 0);
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct dns_addr *a = &r->addrs[i];

		FUZZ_CHECK(a->owner < r->n_names && a->target < r->n_names);
		FUZZ_CHECK(a->ttl <= 0x7fffffffu);
		switch (a->kind) {
		case DNS_ADDR_A:
			FUZZ_CHECK(a->family == AF_INET && a->target == a->owner);
			break;
		case DNS_ADDR_AAAA:
			FUZZ_CHECK(a->family == AF_INET6 && a->target == a->owner);
			break;
		case DNS_ADDR_HINT:
			FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
			FUZZ_CHECK(a->owner < r->n_chain);
			break;
		default:
			FUZZ_CHECK(0);
		}
		if (a->family == AF_INET) {
			for (int k = 4; k < 16; k++)
				FUZZ_CHECK(a->a[k] == 0);
		}
	}
}

static void fuzz_parse(const uint8_t *msg, size_t len)
{
	static struct dns_reply r;
	static struct dns_query q;
	int rc = dns_parse_reply(msg, len, &r);

	FUZZ_CHECK(rc <= DNS_PARTIAL && rc >= DNS_E_OPCODE);
	if (rc >= DNS_OK)
		FUZZ_CHECK((rc == DNS_PARTIAL) == (r.partial != DNS_OK));
	if (rc == DNS_PARTIAL)
		FUZZ_CHECK(r.partial == DNS_E_SHORT || r.partial == DNS_E_NAME ||
			   r.partial == DNS_E_RDATA || r.partial == DNS_E_LIMIT);
	if (rc == DNS_OK || rc == DNS_PARTIAL)
		fuzz_check_reply(&r);
	rc = dns_parse_query(msg, len, &q);
	FUZZ_CHECK(rc <= DNS_OK && rc >= DNS_E_OPCODE);
	if (rc == DNS_OK)
		fuzz_check_name(q.name);
	else
		FUZZ_CHECK(q.name[0] == '\0');
}

struct fuzz_tcp {
	struct tcpdns *t;
	size_t buf_size, n_msgs;
	uint64_t now;
	uint32_t seq[4], last_len[4];
};

static void fuzz_on_msg(void *ctx, const uint8_t *msg, size_t len)
{
	struct fuzz_tcp *f = ctx;
	uint8_t *copy = malloc(len ? len : 1);

	FUZZ_CHECK(copy != NULL);
	FUZZ_CHECK(len >= 1 && len <= 65535);
	memcpy(copy, msg, len);
	fuzz_parse(copy, len);
	free(copy);
	f->n_msgs++;
}

static void fuzz_segment(struct fuzz_tcp *f, unsigned stream, uint8_t flags, uint32_t seq,
			 const uint8_t *payload, size_t len)
{
	struct pkt_info pi;
	uint8_t *copy = len ? malloc(len) : NULL;
	int n;

	memset(&pi, 0, sizeof(pi));
	pi.src.family = pi.dst.family = stream & 2 ? AF_INET6 : AF_INET;
	pi.src.a[0] = 192;
	pi.src.a[3] = 53;
	pi.dst.a[0] = 10;
	pi.dst.a[3] = 1;
	pi.l4proto = IPPROTO_TCP;
	pi.sport = 53;
	pi.dport = (uint16_t)(40000 + (stream & 1));
	pi.tcp_flags = flags | FUZZ_TH_ACK;
	pi.tcp_seq = seq;
	if (len) {
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, payload, len);
	}
	pi.payload = copy;
	pi.payload_len = len;

	size_t before = f->n_msgs;

	n = tcpdns_feed(f->t, &pi, f->now, fuzz_on_msg, f);
	FUZZ_CHECK(n >= 0 && (size_t)n == f->n_msgs - before);
	free(copy);
}

/* Mode 0: the input as one framed message on a fresh connection, in small segments. */
static void fuzz_stream(struct fuzz_tcp *f, const uint8_t *data, size_t size)
{
	size_t body = size - 1 > 65535 ? 65535 : size - 1, seg = 1 + (data[0] & 31);
	uint8_t *framed = malloc(body + 2);
	uint32_t isn = 0xfffffff0u;	/* the sequence numbers wrap inside the message */

	FUZZ_CHECK(framed != NULL);
	framed[0] = (uint8_t)(body >> 8);
	framed[1] = (uint8_t)body;
	memcpy(framed + 2, data + 1, body);
	fuzz_segment(f, 0, FUZZ_TH_SYN, isn, NULL, 0);
	for (size_t off = 0, k = 0; off < body + 2; off += seg, k++) {
		size_t n = body + 2 - off < seg ? body + 2 - off : seg;

		fuzz_segment(f, 0, 0, isn + 1 + (uint32_t)off, framed + off, n);
		if ((data[0] & 0x40) && k % 3 == 2)
			fuzz_segment(f, 0, 0, isn + 1 + (uint32_t)off, framed + off, n);
	}
	fuzz_segment(f, 0, FUZZ_TH_FIN, isn + 1 + (uint32_t)body + 2, NULL, 0);
	/* exactly one message, unless it was too short to count or the buffer too small */
	FUZZ_CHECK(f->n_msgs <= 1);
	if (body > 0 && (body + 2 <= seg || body <= f->buf_size))
		FUZZ_CHECK(f->n_msgs == 1);
	free(framed);
}

/* Mode 1: a script of segments on four streams. */
static void fuzz_script(struct fuzz_tcp *f, const uint8_t *data, size_t size)
{
	size_t i = 1;

	while (size - i >= 2) {
		uint8_t op = data[i], n = data[i + 1];
		unsigned s = op & 3;
		uint8_t flags = 0;
		uint32_t seq = f->seq[s];

		i += 2;
		if (n > size - i)
			n = (uint8_t)(size - i);
		if (op & 0x04)
			flags |= FUZZ_TH_SYN;
		if (op & 0x08)
			flags |= FUZZ_TH_FIN;
		if ((op & 0x10) && !(op & 0x0c))
			flags |= FUZZ_TH_RST;
		switch (op >> 5 & 3) {
		case 1:
			seq -= f->last_len[s];
			break;
		case 2:
			seq += 1 + (n ? data[i] : 0u);
			break;
		case 3:
			seq += 0x80000000u;
			break;
		}
		if (op & 0x80)
			f->now += FUZZ_IDLE_MS + 1;
		fuzz_segment(f, s, flags, seq, data + i, n);
		f->seq[s] = seq + n + (flags & FUZZ_TH_SYN ? 1 : 0);
		f->last_len[s] = n;
		f->now++;
		i += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_tcp f;
	struct tcpdns_stats st;

	fuzz_parse(data, size);
	if (size == 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.buf_size = (size_t)16 << (data[0] >> 2 & 3);
	f.t = tcpdns_new(1 + (data[0] & 3), f.buf_size, FUZZ_IDLE_MS);
	FUZZ_CHECK(f.t != NULL);
	f.now = 1;
	if (data[0] & 0x80)
		fuzz_script(&f, data, size);
	else
		fuzz_stream(&f, data, size);
	FUZZ_CHECK(tcpdns_count(f.t) <= 1 + (size_t)(data[0] & 3));
	tcpdns_stats_get(f.t, &st);
	FUZZ_CHECK(st.messages == f.n_msgs);
	tcpdns_free(f.t);
	return 0;
}
