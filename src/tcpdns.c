/*
 * DNS over TCP reassembly: per stream, the expected sequence number and a small state
 * machine over the 2-byte length framing. Streams live in a fixed table of slots found by
 * a chained hash and ordered by an LRU list (idle expiry pops its tail, a full table reuses
 * it); everything is allocated once in tcpdns_new().
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcpdns.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

#define NIL 0xffff
#define SLOTS_MAX 65535		/* slot indices are 16 bits, NIL excluded */
#define MSG_MIN 12		/* a DNS header */
#define MSG_MAX 65535
/*
 * How far behind the expected sequence number a segment may start and still count as a
 * retransmission. Further back it is taken for a new connection on the same ports whose
 * SYN we missed: otherwise its segments could all look old and the stream stay blind.
 */
#define RETRANS_WINDOW (1u << 20)

enum slot_state {
	ST_FREE,
	ST_LEN,			/* reading a length prefix */
	ST_BODY,		/* collecting a message in the buffer */
	ST_SKIP,		/* passing over a message too long for the buffer */
};

struct slot {
	struct pkt_addr src, dst;
	uint16_t sport, dport;
	uint16_t hnext;		/* hash chain, or free list */
	uint16_t prev, next;	/* LRU list, most recent first */
	uint8_t state;
	bool synced;		/* next_seq is at a message boundary or inside our framing */
	bool have_isn;
	bool have_hi;		/* the first byte of a length prefix came at a segment end */
	uint8_t hi;
	uint32_t isn, next_seq;
	uint32_t want, got;	/* message length and bytes buffered; ST_SKIP: bytes left */
	uint64_t last_ms;
};

struct tcpdns {
	size_t n_slots, buf_size, n_used;
	uint64_t idle_ms;
	uint16_t free_head, lru_head, lru_tail;
	uint32_t hmask;
	uint16_t *bucket;
	struct slot *slot;
	uint8_t *buf;
	struct tcpdns_stats st;
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t addr_len(const struct pkt_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

struct tcpdns *tcpdns_new(size_t n_slots, size_t buf_size, uint64_t idle_ms)
{
	struct tcpdns *t;
	size_t nb = 1;

	if (n_slots == 0 || n_slots > SLOTS_MAX || buf_size < MSG_MIN || buf_size > MSG_MAX)
		return NULL;
	while (nb < 2 * n_slots)
		nb <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->bucket = malloc(nb * sizeof(*t->bucket));
	t->slot = calloc(n_slots, sizeof(*t->slot));
	t->buf = calloc(n_slots, buf_size);
	if (!t->bucket || !t->slot || !t->buf) {
		tcpdns_free(t);
		return NULL;
	}
	memset(t->bucket, 0xff, nb * sizeof(*t->bucket));
	t->hmask = (uint32_t)(nb - 1);
	t->n_slots = n_slots;
	t->buf_size = buf_size;
	t->idle_ms = idle_ms;
	t->lru_head = t->lru_tail = NIL;
	for (size_t i = 0; i < n_slots; i++)
		t->slot[i].hnext = i + 1 < n_slots ? (uint16_t)(i + 1) : NIL;
	t->free_head = 0;
	return t;
}

void tcpdns_free(struct tcpdns *t)
{
	if (!t)
		return;
	free(t->buf);
	free(t->slot);
	free(t->bucket);
	free(t);
}

/*
 * Multiplicative hash of the stream key, 4 bytes of each address per step. The peers are
 * DNS servers the host itself connected to, so the key is not attacker-chosen, and a
 * chain is bounded by the slot count anyway.
 */
static uint32_t key_hash(const struct pkt_addr *src, const struct pkt_addr *dst,
			 uint16_t sport, uint16_t dport)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = (uint64_t)sport << 16 | dport;
	size_t n = addr_len(src);

	for (size_t i = 0; i < n; i += 4) {
		uint32_t a, b;

		memcpy(&a, src->a + i, 4);
		memcpy(&b, dst->a + i, 4);
		h = (h ^ ((uint64_t)a << 32 | b)) * k;
	}
	h = (h ^ h >> 29) * k;
	return (uint32_t)(h >> 32);
}

static bool key_equal(const struct slot *s, const struct pkt_info *pi)
{
	if (s->sport != pi->sport || s->dport != pi->dport || s->src.family != pi->src.family)
		return false;
	/* constant sizes: compiled to a few loads instead of a library call */
	if (pi->src.family == AF_INET)
		return memcmp(s->src.a, pi->src.a, 4) == 0 && memcmp(s->dst.a, pi->dst.a, 4) == 0;
	return memcmp(s->src.a, pi->src.a, 16) == 0 && memcmp(s->dst.a, pi->dst.a, 16) == 0;
}

static uint16_t slot_find(const struct tcpdns *t, const struct pkt_info *pi, uint32_t h)
{
	uint16_t i = t->bucket[h & t->hmask];

	while (i != NIL && !key_equal(&t->slot[i], pi))
		i = t->slot[i].hnext;
	return i;
}

static void lru_unlink(struct tcpdns *t, uint16_t i)
{
	struct slot *s = &t->slot[i];

	if (s->prev != NIL)
		t->slot[s->prev].next = s->next;
	else
		t->lru_head = s->next;
	if (s->next != NIL)
		t->slot[s->next].prev = s->prev;
	else
		t->lru_tail = s->prev;
}

static void lru_push_head(struct tcpdns *t, uint16_t i)
{
	struct slot *s = &t->slot[i];

	s->prev = NIL;
	s->next = t->lru_head;
	if (t->lru_head != NIL)
		t->slot[t->lru_head].prev = i;
	else
		t->lru_tail = i;
	t->lru_head = i;
}

static void slot_release(struct tcpdns *t, uint16_t i)
{
	struct slot *s = &t->slot[i];
	uint32_t h = key_hash(&s->src, &s->dst, s->sport, s->dport);
	uint16_t *link;

	for (link = &t->bucket[h & t->hmask]; *link != i; link = &t->slot[*link].hnext)
		;
	*link = s->hnext;
	lru_unlink(t, i);
	s->state = ST_FREE;
	s->hnext = t->free_head;
	t->free_head = i;
	t->n_used--;
}

static void slots_expire(struct tcpdns *t, uint64_t now_ms)
{
	while (t->lru_tail != NIL) {
		uint64_t last = t->slot[t->lru_tail].last_ms;

		if (now_ms <= last || now_ms - last <= t->idle_ms)
			break;
		slot_release(t, t->lru_tail);
		t->st.expired++;
	}
}

/* Message framing starts afresh: no partial length, no partial message. */
static void slot_reset_framing(struct slot *s)
{
	s->state = ST_LEN;
	s->have_hi = false;
	s->want = s->got = 0;
}

static uint16_t slot_alloc(struct tcpdns *t, const struct pkt_info *pi, uint32_t h)
{
	uint16_t i = t->free_head;
	struct slot *s;

	if (i == NIL) {
		slot_release(t, t->lru_tail);
		t->st.evicted++;
		i = t->free_head;
	}
	s = &t->slot[i];
	t->free_head = s->hnext;
	memset(s, 0, sizeof(*s));
	s->src.family = s->dst.family = pi->src.family;
	memcpy(s->src.a, pi->src.a, addr_len(&pi->src));
	memcpy(s->dst.a, pi->dst.a, addr_len(&pi->src));
	s->sport = pi->sport;
	s->dport = pi->dport;
	s->hnext = t->bucket[h & t->hmask];
	t->bucket[h & t->hmask] = i;
	lru_push_head(t, i);
	slot_reset_framing(s);
	t->n_used++;
	return i;
}

/*
 * Whether data can start at a message boundary: it holds at least one whole message, each
 * length prefix announces at least a header, and only the last message (or the last
 * length byte) may continue in the next segment; or it is a lone length prefix, which
 * clients that write the prefix on its own send for every message.
 */
static bool boundary_plausible(const uint8_t *data, size_t len)
{
	size_t p = 0;

	if (len == 2)
		return rd16(data) >= MSG_MIN;

	while (len - p >= 2) {
		size_t l = rd16(data + p);

		if (l < MSG_MIN)
			return false;
		if (l > len - p - 2)
			return p > 0;
		p += 2 + l;
	}
	return p > 0;
}

static void deliver(struct tcpdns *t, const uint8_t *msg, size_t len,
		    void (*on_msg)(void *ctx, const uint8_t *msg, size_t len), void *ctx)
{
	t->st.messages++;
	on_msg(ctx, msg, len);
}

/* Runs the framing state machine over in-sequence bytes; returns the messages passed on. */
static int slot_consume(struct tcpdns *t, uint16_t i, const uint8_t *data, size_t len,
			void (*on_msg)(void *ctx, const uint8_t *msg, size_t len), void *ctx)
{
	struct slot *s = &t->slot[i];
	uint8_t *buf = t->buf + (size_t)i * t->buf_size;
	size_t p = 0, take, l;
	int n = 0;

	while (p < len) {
		switch (s->state) {
		case ST_LEN:
			if (s->have_hi) {
				l = (size_t)s->hi << 8 | data[p++];
				s->have_hi = false;
			} else if (len - p >= 2) {
				l = rd16(data + p);
				p += 2;
			} else {
				s->hi = data[p++];
				s->have_hi = true;
				break;
			}
			if (l == 0) {
				t->st.empty++;
			} else if (len - p >= l) {
				/* whole in this segment: no copy, no size limit */
				deliver(t, data + p, l, on_msg, ctx);
				p += l;
				n++;
			} else if (l > t->buf_size) {
				t->st.oversize++;
				s->state = ST_SKIP;
				s->want = (uint32_t)l;
			} else {
				s->state = ST_BODY;
				s->want = (uint32_t)l;
				s->got = 0;
			}
			break;
		case ST_BODY:
			take = s->want - s->got;
			if (take > len - p)
				take = len - p;
			memcpy(buf + s->got, data + p, take);
			s->got += (uint32_t)take;
			p += take;
			if (s->got == s->want) {
				s->state = ST_LEN;
				deliver(t, buf, s->want, on_msg, ctx);
				n++;
			}
			break;
		case ST_SKIP:
			take = s->want;
			if (take > len - p)
				take = len - p;
			s->want -= (uint32_t)take;
			p += take;
			if (s->want == 0)
				s->state = ST_LEN;
			break;
		default:
			return n;
		}
	}
	return n;
}

/*
 * Puts the segment's bytes that start at seq in sequence: returns how many leading bytes
 * to skip (len when none are new), after resynchronising the stream if needed.
 */
static size_t slot_place(struct tcpdns *t, struct slot *s, uint32_t seq, const uint8_t *data,
			 size_t len)
{
	uint32_t behind = s->next_seq - seq;
	int32_t d = (int32_t)(seq - s->next_seq);

	if (s->synced && d < 0 && behind <= RETRANS_WINDOW) {
		t->st.retrans++;
		return behind >= len ? len : behind;
	}
	if (s->synced && d == 0)
		return 0;
	if (s->synced) {
		t->st.gaps++;
		s->synced = false;
	}
	/* not synchronised: only a segment that starts cleanly can set the framing */
	if (!boundary_plausible(data, len)) {
		t->st.unsynced++;
		return len;
	}
	slot_reset_framing(s);
	s->synced = true;
	s->next_seq = seq;
	return 0;
}

int tcpdns_feed(struct tcpdns *t, const struct pkt_info *pi, uint64_t now_ms,
		void (*on_msg)(void *ctx, const uint8_t *msg, size_t len), void *ctx)
{
	const uint8_t *data = pi->payload;
	size_t len = pi->payload_len, skip;
	uint32_t seq = pi->tcp_seq, h;
	uint16_t i;
	int n = 0;

	if (pi->l4proto != IPPROTO_TCP || pi->src.family != pi->dst.family ||
	    (pi->src.family != AF_INET && pi->src.family != AF_INET6) || (len && !data))
		return -EINVAL;
	t->st.segments++;
	slots_expire(t, now_ms);
	h = key_hash(&pi->src, &pi->dst, pi->sport, pi->dport);
	i = slot_find(t, pi, h);
	if (pi->tcp_flags & TH_RST) {
		if (i != NIL) {
			slot_release(t, i);
			t->st.closed++;
		}
		return 0;
	}
	if (i == NIL) {
		/*
		 * Only a SYN or a segment we can start reading at earns a slot: a bare ACK or
		 * FIN teaches nothing, and junk must not push out the streams we follow.
		 */
		if (!(pi->tcp_flags & TH_SYN) && !boundary_plausible(data, len)) {
			if (len)
				t->st.unsynced++;
			return 0;
		}
		i = slot_alloc(t, pi, h);
	}

	struct slot *s = &t->slot[i];

	s->last_ms = now_ms;
	lru_unlink(t, i);
	lru_push_head(t, i);
	if (pi->tcp_flags & TH_SYN) {
		/* the SYN takes one sequence number; a repeated SYN changes nothing */
		if (!s->have_isn || s->isn != seq) {
			s->have_isn = true;
			s->isn = seq;
			s->synced = true;
			s->next_seq = seq + 1;
			slot_reset_framing(s);
		}
		seq++;
	}
	if (len) {
		skip = slot_place(t, s, seq, data, len);
		if (skip < len) {
			s->next_seq = seq + (uint32_t)len;
			n = slot_consume(t, i, data + skip, len - skip, on_msg, ctx);
		}
	}
	if (pi->tcp_flags & TH_FIN) {
		slot_release(t, i);
		t->st.closed++;
	}
	return n;
}

void tcpdns_stats_get(const struct tcpdns *t, struct tcpdns_stats *out)
{
	*out = t->st;
}

size_t tcpdns_count(const struct tcpdns *t)
{
	return t->n_used;
}
