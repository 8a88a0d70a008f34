/*
 * Address -> (name, route, expiry) table for the packet path.
 *
 * Layout, all allocated by addrmap_new (nothing allocates afterwards):
 *  - entries: max_entries records of 32 bytes (address, expiry, name id, LRU stamp,
 *    route, family), used bottom-up; freed records form a list threaded through them.
 *  - address index: power of two >= 2 * max_entries 32-bit slots, linear probing, load
 *    <= 0.5. A slot holds the entry number in its low bits and the top hash bits in the
 *    rest, so probes past other addresses rarely touch the entries. Deletion shifts the
 *    following run backwards (no tombstones), so probe chains never degrade.
 *  - name pool: an arena of 16-byte units, max_entries * 3 of them (a 32-byte name with
 *    its 10-byte header fits in 3), plus a name index like the address one. Each distinct
 *    name is stored once with a reference count. Freed blocks go on per-size free lists;
 *    a request that no list or the unused tail can serve splits a larger free block, or
 *    compacts the arena when at least 1/8 of it is free. When even that fails, insert
 *    evicts entries (as below) until the name fits, so -ENOSPC is only returned when a
 *    name cannot fit into an empty pool, which the sizing rules out.
 *
 * Memory per mapping at max_entries = 1M (2^21 index slots): 32 (entry) + 8.4 (address
 * index) = 40.4 bytes; names: 8.4 (name index) + 48 reserved per possible name.
 *
 * Eviction when full is a clock: starting at a hand that moves through the entries, look
 * at up to EVICT_WINDOW used entries and take the first expired one, else the one
 * refreshed longest ago (by insert sequence number). Without refreshes this is exact FIFO;
 * with them it approximates LRU. Entries are judged expired against the time last given
 * to addrmap_set_now.
 *
 * Expiry is stored as 32-bit milliseconds after a base (plus one; 0 means "expired before
 * the base"). An expiry more than ~49 days after the base moves the base forward and
 * rewrites every entry once; entries then older than the new base count as expired.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "addrmap.h"

#define AM_NAME_MAX 253
#define AM_UNIT 16
#define AM_CLASSES 17		/* units of the largest block: 10 + 253 + 1 bytes */
#define AM_POOL_MIN 1024	/* units */
#define AM_MAX_ENTRIES (1u << 28)
#define AM_NONE UINT32_MAX
#define EVICT_WINDOW 8

struct am_entry {
	uint64_t a[2];		/* IPv4: first 4 bytes, rest zero */
	uint32_t expires;	/* 1 + ms after base_ms; 0 = expired before base_ms */
	uint32_t name;		/* name block (unit number); next free entry when unused */
	uint32_t seq;		/* m->seq at the last refresh */
	uint16_t route;
	uint8_t family;		/* 0 when unused */
	uint8_t pad;
};
_Static_assert(sizeof(struct am_entry) == 32, "entry must stay 32 bytes");

struct am_name {
	uint32_t hash;		/* name hash; next free block when free; forward during compaction */
	uint32_t refcnt;	/* 0 when free */
	uint8_t units;
	uint8_t len;
	char s[];		/* len bytes and a NUL */
};
#define AM_NAME_HDR offsetof(struct am_name, s)

struct am_key {
	uint64_t a[2];
	uint8_t family;
};

struct addrmap {
	struct am_entry *e;
	uint32_t max, hw, count, free_head, hand, seq;
	uint32_t *idx;		/* address index */
	uint32_t idx_mask;
	unsigned ebits;		/* entry number bits in an index slot */
	uint64_t seed;
	uint64_t base_ms, now_ms;

	unsigned char *pool;
	uint32_t pool_units, pool_bump, pool_free;	/* pool_free: units on free lists */
	uint32_t free_list[AM_CLASSES + 1];
	uint32_t *nidx;		/* name index: block numbers */
	uint32_t nidx_mask, n_names;
};

static inline uint64_t am_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* ---- address index ---- */

static bool am_key_make(const struct pkt_addr *addr, struct am_key *k)
{
	k->a[0] = k->a[1] = 0;
	if (addr->family == AF_INET)
		memcpy(k->a, addr->a, 4);
	else if (addr->family == AF_INET6)
		memcpy(k->a, addr->a, 16);
	else
		return false;
	k->family = addr->family;
	return true;
}

/* Seeded, so that addresses chosen by a remote DNS server cannot pile up in one chain. */
static inline uint64_t am_addr_hash(const struct addrmap *m, const uint64_t a[2], uint8_t family)
{
	return am_mix(am_mix(a[0] ^ m->seed) ^ a[1] ^ ((uint64_t)family << 56));
}

static inline uint32_t am_tag(const struct addrmap *m, uint64_t h)
{
	return (uint32_t)(h >> (32 + m->ebits));
}

static inline bool am_entry_is(const struct am_entry *e, const struct am_key *k)
{
	return e->a[0] == k->a[0] && e->a[1] == k->a[1] && e->family == k->family;
}

/* Entry number for k or AM_NONE; *slot gets the index slot. */
static uint32_t am_find(const struct addrmap *m, const struct am_key *k, uint64_t h,
			uint32_t *slot)
{
	uint32_t emask = (1u << m->ebits) - 1, tag = am_tag(m, h);

	for (uint32_t i = (uint32_t)h & m->idx_mask;; i = (i + 1) & m->idx_mask) {
		uint32_t v = m->idx[i];

		if (v == AM_NONE)
			return AM_NONE;
		if (v >> m->ebits == tag && am_entry_is(&m->e[v & emask], k)) {
			*slot = i;
			return v & emask;
		}
	}
}

static void am_idx_add(struct addrmap *m, uint64_t h, uint32_t ei)
{
	uint32_t i = (uint32_t)h & m->idx_mask;

	while (m->idx[i] != AM_NONE)
		i = (i + 1) & m->idx_mask;
	m->idx[i] = am_tag(m, h) << m->ebits | ei;
}

/* Backward-shift deletion: pull later members of the run into the hole when allowed. */
static void am_idx_del(struct addrmap *m, uint32_t hole)
{
	uint32_t emask = (1u << m->ebits) - 1;

	for (uint32_t j = (hole + 1) & m->idx_mask;; j = (j + 1) & m->idx_mask) {
		uint32_t v = m->idx[j], home;
		const struct am_entry *e;

		if (v == AM_NONE)
			break;
		e = &m->e[v & emask];
		home = (uint32_t)am_addr_hash(m, e->a, e->family) & m->idx_mask;
		if (((j - home) & m->idx_mask) >= ((j - hole) & m->idx_mask)) {
			m->idx[hole] = v;
			hole = j;
		}
	}
	m->idx[hole] = AM_NONE;
}

/* ---- name pool ---- */

static inline struct am_name *am_name_at(const struct addrmap *m, uint32_t id)
{
	return (struct am_name *)(m->pool + (size_t)id * AM_UNIT);
}

static inline uint32_t am_name_units(size_t len)
{
	return (uint32_t)((AM_NAME_HDR + len + 1 + AM_UNIT - 1) / AM_UNIT);
}

static uint32_t am_name_hash(const struct addrmap *m, const char *s, size_t len)
{
	uint64_t h = m->seed ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(am_mix(h) >> 32);
}

static void am_nidx_add(struct addrmap *m, uint32_t id, uint32_t hash)
{
	uint32_t i = hash & m->nidx_mask;

	while (m->nidx[i] != AM_NONE)
		i = (i + 1) & m->nidx_mask;
	m->nidx[i] = id;
}

static void am_nidx_del(struct addrmap *m, uint32_t id, uint32_t hash)
{
	uint32_t hole = hash & m->nidx_mask;

	while (m->nidx[hole] != id)
		hole = (hole + 1) & m->nidx_mask;
	for (uint32_t j = (hole + 1) & m->nidx_mask;; j = (j + 1) & m->nidx_mask) {
		uint32_t v = m->nidx[j], home;

		if (v == AM_NONE)
			break;
		home = am_name_at(m, v)->hash & m->nidx_mask;
		if (((j - home) & m->nidx_mask) >= ((j - hole) & m->nidx_mask)) {
			m->nidx[hole] = v;
			hole = j;
		}
	}
	m->nidx[hole] = AM_NONE;
}

static void am_block_free(struct addrmap *m, uint32_t id, uint32_t units)
{
	struct am_name *b = am_name_at(m, id);

	if (id + units == m->pool_bump) {
		m->pool_bump = id;
		return;
	}
	b->refcnt = 0;
	b->units = (uint8_t)units;
	b->hash = m->free_list[units];
	m->free_list[units] = id;
	m->pool_free += units;
}

/*
 * Slides live blocks to the start of the pool, fixing the entries' name ids through a
 * forwarding number kept in each block's hash field, then rebuilds the name index.
 */
static void am_pool_compact(struct addrmap *m)
{
	uint32_t u, to = 0;

	for (u = 0; u < m->pool_bump; u += am_name_at(m, u)->units) {
		struct am_name *b = am_name_at(m, u);

		if (b->refcnt) {
			b->hash = to;
			to += b->units;
		}
	}
	for (uint32_t i = 0; i < m->hw; i++)
		if (m->e[i].family)
			m->e[i].name = am_name_at(m, m->e[i].name)->hash;
	for (u = 0; u < m->pool_bump;) {
		struct am_name *b = am_name_at(m, u);
		uint32_t units = b->units, fwd = b->hash;

		if (b->refcnt)
			memmove(am_name_at(m, fwd), b, (size_t)units * AM_UNIT);
		u += units;
	}
	m->pool_bump = to;
	m->pool_free = 0;
	for (unsigned c = 0; c <= AM_CLASSES; c++)
		m->free_list[c] = AM_NONE;
	memset(m->nidx, 0xff, ((size_t)m->nidx_mask + 1) * sizeof(*m->nidx));
	for (u = 0; u < to; u += am_name_at(m, u)->units) {
		struct am_name *b = am_name_at(m, u);

		b->hash = am_name_hash(m, b->s, b->len);
		am_nidx_add(m, u, b->hash);
	}
}

/* A block of units units, or AM_NONE when the pool cannot provide one yet. */
static uint32_t am_block_alloc(struct addrmap *m, uint32_t units)
{
	uint32_t id = m->free_list[units];

	if (id != AM_NONE) {
		m->free_list[units] = am_name_at(m, id)->hash;
		m->pool_free -= units;
		return id;
	}
	if (m->pool_units - m->pool_bump >= units) {
		id = m->pool_bump;
		m->pool_bump += units;
		return id;
	}
	for (uint32_t c = units + 1; c <= AM_CLASSES; c++) {
		id = m->free_list[c];
		if (id == AM_NONE)
			continue;
		m->free_list[c] = am_name_at(m, id)->hash;
		m->pool_free -= c;
		am_block_free(m, id + units, c - units);
		return id;
	}
	/* Compact only when it frees a worthwhile tail, so compactions stay amortized. */
	if (m->pool_free >= units && m->pool_free >= m->pool_units / 8) {
		am_pool_compact(m);
		return am_block_alloc(m, units);
	}
	return AM_NONE;
}

/* Takes a reference to name, storing it if new. Returns 0 or -ENOSPC. */
static int am_name_get(struct addrmap *m, const char *name, size_t len, uint32_t *out)
{
	uint32_t hash = am_name_hash(m, name, len), id, units;
	struct am_name *b;

	for (uint32_t i = hash & m->nidx_mask;; i = (i + 1) & m->nidx_mask) {
		id = m->nidx[i];
		if (id == AM_NONE)
			break;
		b = am_name_at(m, id);
		if (b->hash == hash && b->len == len && memcmp(b->s, name, len) == 0) {
			b->refcnt++;
			*out = id;
			return 0;
		}
	}
	units = am_name_units(len);
	id = am_block_alloc(m, units);
	if (id == AM_NONE)
		return -ENOSPC;
	b = am_name_at(m, id);
	b->hash = hash;
	b->refcnt = 1;
	b->units = (uint8_t)units;
	b->len = (uint8_t)len;
	memcpy(b->s, name, len);
	b->s[len] = '\0';
	am_nidx_add(m, id, hash);
	m->n_names++;
	*out = id;
	return 0;
}

static void am_name_put(struct addrmap *m, uint32_t id)
{
	struct am_name *b = am_name_at(m, id);

	if (--b->refcnt)
		return;
	am_nidx_del(m, id, b->hash);
	am_block_free(m, id, b->units);
	m->n_names--;
}

/* ---- entries ---- */

static inline bool am_expired(const struct addrmap *m, const struct am_entry *e, uint64_t now)
{
	return e->expires == 0 || m->base_ms + e->expires - 1 < now;
}

static void am_entry_del(struct addrmap *m, uint32_t ei)
{
	struct am_entry *e = &m->e[ei];
	struct am_key k = { .a = { e->a[0], e->a[1] }, .family = e->family };
	uint32_t slot = 0;

	if (am_find(m, &k, am_addr_hash(m, e->a, e->family), &slot) == ei)
		am_idx_del(m, slot);
	am_name_put(m, e->name);
	e->family = 0;
	e->name = m->free_head;
	m->free_head = ei;
	m->count--;
}

/* Removes one entry chosen by the clock (see the top of the file); needs count > 0. */
static void am_evict(struct addrmap *m)
{
	uint32_t best = AM_NONE, i = m->hand, seen = 0;

	for (uint32_t steps = 0; steps < m->hw && seen < EVICT_WINDOW; steps++, i++) {
		const struct am_entry *e;

		if (i >= m->hw)
			i = 0;
		e = &m->e[i];
		if (!e->family)
			continue;
		if (am_expired(m, e, m->now_ms)) {
			best = i;
			break;
		}
		if (best == AM_NONE || (int32_t)(e->seq - m->e[best].seq) < 0)
			best = i;
		seen++;
	}
	m->hand = best + 1 >= m->hw ? 0 : best + 1;
	am_entry_del(m, best);
}

static uint32_t am_entry_alloc(struct addrmap *m)
{
	uint32_t ei;

	if (m->free_head == AM_NONE && m->hw == m->max)
		am_evict(m);
	if (m->free_head != AM_NONE) {
		ei = m->free_head;
		m->free_head = m->e[ei].name;
		return ei;
	}
	return m->hw++;
}

static void am_rebase(struct addrmap *m, uint64_t base)
{
	uint64_t shift = base - m->base_ms;

	for (uint32_t i = 0; i < m->hw; i++) {
		struct am_entry *e = &m->e[i];

		if (e->family)
			e->expires = e->expires > shift ? (uint32_t)(e->expires - shift) : 0;
	}
	m->base_ms = base;
}

static uint32_t am_expiry_encode(struct addrmap *m, uint64_t expires_ms)
{
	if (expires_ms < m->base_ms)
		return 0;
	if (expires_ms - m->base_ms >= UINT32_MAX)
		am_rebase(m, expires_ms - (1ULL << 31));
	return (uint32_t)(expires_ms - m->base_ms + 1);
}

/* ---- public ---- */

static void am_reset(struct addrmap *m)
{
	m->hw = m->count = m->hand = 0;
	m->free_head = AM_NONE;
	memset(m->idx, 0xff, ((size_t)m->idx_mask + 1) * sizeof(*m->idx));
	memset(m->nidx, 0xff, ((size_t)m->nidx_mask + 1) * sizeof(*m->nidx));
	m->pool_bump = m->pool_free = m->n_names = 0;
	for (unsigned c = 0; c <= AM_CLASSES; c++)
		m->free_list[c] = AM_NONE;
}

static uint32_t am_pow2_at_least(uint64_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct addrmap *addrmap_new(size_t max_entries)
{
	struct addrmap *m;
	uint32_t isize;

	if (max_entries == 0 || max_entries > AM_MAX_ENTRIES)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->max = (uint32_t)max_entries;
	for (m->ebits = 1; (1u << m->ebits) <= m->max; m->ebits++)
		;
	isize = am_pow2_at_least(2 * (uint64_t)m->max);
	m->idx_mask = isize - 1;
	m->nidx_mask = isize - 1;
	m->pool_units = m->max < AM_POOL_MIN / 3 ? AM_POOL_MIN : m->max * 3;
	m->e = malloc((size_t)m->max * sizeof(*m->e));
	m->idx = malloc((size_t)isize * sizeof(*m->idx));
	m->nidx = malloc((size_t)isize * sizeof(*m->nidx));
	m->pool = malloc((size_t)m->pool_units * AM_UNIT);
	if (!m->e || !m->idx || !m->nidx || !m->pool) {
		addrmap_free(m);
		return NULL;
	}
	if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed))
		m->seed = am_mix((uintptr_t)m ^ 0x5bd1e9955bd1e995ULL);
	am_reset(m);
	return m;
}

void addrmap_free(struct addrmap *m)
{
	if (!m)
		return;
	free(m->pool);
	free(m->nidx);
	free(m->idx);
	free(m->e);
	free(m);
}

int addrmap_insert(struct addrmap *m, const struct pkt_addr *addr, const char *name,
		   uint16_t route, uint64_t expires_ms)
{
	struct am_key k;
	struct am_entry *e;
	uint32_t ei, slot, nid, exp;
	size_t len;
	uint64_t h;

	if (!name || !am_key_make(addr, &k))
		return -EINVAL;
	len = strnlen(name, AM_NAME_MAX + 1);
	if (len > AM_NAME_MAX)
		return -EINVAL;
	h = am_addr_hash(m, k.a, k.family);
	ei = am_find(m, &k, h, &slot);
	if (ei != AM_NONE) {
		const struct am_name *b = am_name_at(m, m->e[ei].name);

		if (b->len == len && memcmp(b->s, name, len) == 0) {
			exp = am_expiry_encode(m, expires_ms);
			e = &m->e[ei];
			e->route = route;
			e->expires = exp;
			e->seq = ++m->seq;
			return 0;
		}
		/* Another name now: start over so the old name's reference goes first. */
		am_entry_del(m, ei);
	}
	while (am_name_get(m, name, len, &nid)) {
		if (!m->count)
			return -ENOSPC;
		am_evict(m);
	}
	exp = am_expiry_encode(m, expires_ms);
	ei = am_entry_alloc(m);
	e = &m->e[ei];
	e->a[0] = k.a[0];
	e->a[1] = k.a[1];
	e->family = k.family;
	e->pad = 0;
	e->name = nid;
	e->route = route;
	e->expires = exp;
	e->seq = ++m->seq;
	am_idx_add(m, h, ei);
	m->count++;
	return 0;
}

int addrmap_lookup(const struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms,
		   struct addrmap_entry *out)
{
	const struct am_entry *e;
	struct am_key k;
	uint32_t ei, slot;

	if (!am_key_make(addr, &k))
		return -ENOENT;
	ei = am_find(m, &k, am_addr_hash(m, k.a, k.family), &slot);
	if (ei == AM_NONE)
		return -ENOENT;
	e = &m->e[ei];
	if (am_expired(m, e, now_ms))
		return -ENOENT;
	out->route = e->route;
	out->expires_ms = m->base_ms + e->expires - 1;
	out->name = am_name_at(m, e->name)->s;
	return 0;
}

void addrmap_clear(struct addrmap *m, uint16_t route)
{
	if (route == UINT16_MAX) {
		am_reset(m);
		return;
	}
	for (uint32_t i = 0; i < m->hw; i++)
		if (m->e[i].family && m->e[i].route == route)
			am_entry_del(m, i);
}

void addrmap_reroute(struct addrmap *m, int (*route_of)(const char *name, void *ctx), void *ctx)
{
	for (uint32_t i = 0; i < m->hw; i++) {
		struct am_entry *e = &m->e[i];
		int r;

		if (!e->family)
			continue;
		r = route_of(am_name_at(m, e->name)->s, ctx);
		if (r < 0 || r > UINT16_MAX)
			am_entry_del(m, i);
		else
			e->route = (uint16_t)r;
	}
}

void addrmap_set_now(struct addrmap *m, uint64_t now_ms)
{
	m->now_ms = now_ms;
}

size_t addrmap_count(const struct addrmap *m)
{
	return m->count;
}

size_t addrmap_name_count(const struct addrmap *m)
{
	return m->n_names;
}
