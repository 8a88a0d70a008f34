/*
 * Address -> (name, route, expiry) table for the packet path.
 *
 * Layout, all reserved by addrmap_new_sized (nothing allocates afterwards):
 *  - entries: max_entries records of 28 bytes (address, expiry, name id, route, family,
 *    clock mark), used bottom-up; freed records form a list threaded through them.
 *  - address index: max_entries * 5/4 32-bit slots (load <= 0.8), linear probing from a
 *    home slot chosen by multiply-shift, so any size works. A slot holds the entry number
 *    in its low bits and top hash bits in the rest, so probes past other addresses rarely
 *    touch the entries. Deletion shifts the following run backwards (no tombstones), so
 *    probe chains never degrade.
 *  - names: an arena of 8-byte units, plus a name index like the address one (max_names
 *    * 5/4 slots). Each distinct name is stored once with a 6-byte header (reference
 *    count, length, size). Freed blocks go on per-size free lists; a request that no list
 *    or the unused tail can serve splits a larger free block, or compacts the arena when
 *    at least 1/8 of it is free. When even that fails, or max_names names exist, insert
 *    evicts entries (as below) until the name fits, so -ENOSPC is only returned when a
 *    name cannot fit into an empty pool, which the sizing rules out.
 * Entries and name text are anonymous mappings filled from the bottom: pages never used
 * are never resident, and clearing the table gives them back.
 *
 * Memory per mapping at max_entries = max_names = 1M: 28 (entry) + 5 (address index) +
 * 5 (name index) = 38 bytes, plus per distinct name 8 * ceil((len + 7) / 8) bytes (32 for
 * a name of 24 characters). With max_names = max_entries / 2 the fixed part is 35.5.
 *
 * Eviction when full is a clock with second chance: a use or refresh marks an entry;
 * starting at a hand that moves through the entries, look at up to EVICT_WINDOW used
 * entries and take the first one that is gone (past expiry and grace), else one in its
 * grace period, else the first unmarked one; marks the hand passes are cleared. Without
 * refreshes or uses this is exact FIFO; with them it approximates LRU (a used entry
 * survives at least one full turn of the hand). Entries are judged against the time last
 * given to addrmap_set_now.
 *
 * Expiry is stored as 32-bit milliseconds after a base (plus one; 0 means "expired before
 * the base"). An expiry more than ~49 days after the base moves the base forward and
 * rewrites every entry once; entries then older than the new base count as gone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "addrmap.h"
#include "util.h"

#define AM_NAME_MAX 253
#define AM_UNIT 8
#define AM_CLASSES 33		/* units of the largest block: 6 + 253 + 1 bytes */
#define AM_POOL_MIN 2048	/* units */
#define AM_POOL_MAX (1u << 30)	/* units: ids keep at least one tag bit in an index slot */
#define AM_NAME_BYTES 48	/* default name text per possible name */
#define AM_MAX_ENTRIES (1u << 28)
#define AM_NONE UINT32_MAX
#define AM_FREE_LEN 0xff	/* len of a block on a free list */
#define EVICT_WINDOW 8

struct am_entry {
	uint32_t a[4];		/* IPv4: first 4 bytes, rest zero */
	uint32_t expires;	/* 1 + ms after base_ms; 0 = expired before base_ms */
	uint32_t name;		/* name block (unit number); next free entry when unused */
	uint16_t route;
	uint8_t family;		/* 0 when unused */
	uint8_t ref;		/* used or refreshed since the clock hand last passed */
};
_Static_assert(sizeof(struct am_entry) == 28, "entry must stay 28 bytes");

struct am_name {
	uint32_t refcnt;	/* next free block when free; forward during compaction */
	uint8_t len;		/* AM_FREE_LEN when free */
	uint8_t units;
	char s[];		/* len bytes and a NUL */
};
#define AM_NAME_HDR offsetof(struct am_name, s)
_Static_assert(AM_NAME_HDR == 6, "name header must stay 6 bytes");

struct am_key {
	uint32_t a[4];
	uint8_t family;
};

/* An open-addressing index of 32-bit slots: tag << bits | id, AM_NONE when empty. */
struct am_index {
	uint32_t *slot;
	uint32_t size;
	unsigned bits;		/* id bits; ids stay below 2^bits - 1 */
};

struct addrmap {
	struct am_entry *e;
	uint32_t max, hw, count, free_head, hand;
	struct am_index idx;	/* addresses -> entry numbers */
	uint64_t seed;
	uint64_t base_ms, now_ms, grace_ms;

	unsigned char *pool;
	uint32_t pool_units, pool_bump, pool_free;	/* pool_free: units on free lists */
	uint32_t free_list[AM_CLASSES + 1];
	struct am_index nidx;	/* names -> block numbers */
	uint32_t max_names, n_names;
};

/* ---- index helpers ---- */

static inline uint32_t am_home(const struct am_index *ix, uint64_t h)
{
	return (uint32_t)(((h & 0xffffffffu) * ix->size) >> 32);
}

static inline uint32_t am_tag(const struct am_index *ix, uint64_t h)
{
	return (uint32_t)(h >> 32) >> ix->bits;
}

static inline uint32_t am_next(const struct am_index *ix, uint32_t i)
{
	return i + 1 == ix->size ? 0 : i + 1;
}

/* Steps from slot from forward to slot to. */
static inline uint32_t am_dist(const struct am_index *ix, uint32_t from, uint32_t to)
{
	return to >= from ? to - from : to + ix->size - from;
}

static inline uint32_t am_slot_id(const struct am_index *ix, uint32_t v)
{
	return v & ((1u << ix->bits) - 1);
}

static void am_index_add(struct am_index *ix, uint64_t h, uint32_t id)
{
	uint32_t i = am_home(ix, h);

	while (ix->slot[i] != AM_NONE)
		i = am_next(ix, i);
	ix->slot[i] = am_tag(ix, h) << ix->bits | id;
}

static bool am_index_alloc(struct am_index *ix, uint32_t cap, uint32_t max_id)
{
	ix->size = cap + (cap + 3) / 4 + 1;
	for (ix->bits = 1; (1u << ix->bits) <= max_id; ix->bits++)
		;
	ix->slot = malloc((size_t)ix->size * sizeof(*ix->slot));
	return ix->slot != NULL;
}

static void am_index_reset(struct am_index *ix)
{
	memset(ix->slot, 0xff, (size_t)ix->size * sizeof(*ix->slot));
}

/* ---- address index ---- */

static bool am_key_make(const struct pkt_addr *addr, struct am_key *k)
{
	memset(k->a, 0, sizeof(k->a));
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
static inline uint64_t am_addr_hash(const struct addrmap *m, const uint32_t a[4], uint8_t family)
{
	uint64_t lo = (uint64_t)a[1] << 32 | a[0], hi = (uint64_t)a[3] << 32 | a[2];

	return util_mix64(util_mix64(lo ^ m->seed) ^ hi ^ ((uint64_t)family << 56));
}

static inline bool am_entry_is(const struct am_entry *e, const struct am_key *k)
{
	return e->a[0] == k->a[0] && e->a[1] == k->a[1] && e->a[2] == k->a[2] &&
	       e->a[3] == k->a[3] && e->family == k->family;
}

/* Entry number for k or AM_NONE; *slot gets the index slot. */
static uint32_t am_find(const struct addrmap *m, const struct am_key *k, uint64_t h,
			uint32_t *slot)
{
	const struct am_index *ix = &m->idx;
	uint32_t tag = am_tag(ix, h);

	for (uint32_t i = am_home(ix, h);; i = am_next(ix, i)) {
		uint32_t v = ix->slot[i];

		if (v == AM_NONE)
			return AM_NONE;
		if (v >> ix->bits == tag && am_entry_is(&m->e[am_slot_id(ix, v)], k)) {
			*slot = i;
			return am_slot_id(ix, v);
		}
	}
}

/* Backward-shift deletion: pull later members of the run into the hole when allowed. */
static void am_idx_del(struct addrmap *m, uint32_t hole)
{
	struct am_index *ix = &m->idx;

	for (uint32_t j = am_next(ix, hole);; j = am_next(ix, j)) {
		uint32_t v = ix->slot[j], home;
		const struct am_entry *e;

		if (v == AM_NONE)
			break;
		e = &m->e[am_slot_id(ix, v)];
		home = am_home(ix, am_addr_hash(m, e->a, e->family));
		if (am_dist(ix, home, j) >= am_dist(ix, hole, j)) {
			ix->slot[hole] = v;
			hole = j;
		}
	}
	ix->slot[hole] = AM_NONE;
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

static uint64_t am_name_hash(const struct addrmap *m, const char *s, size_t len)
{
	uint64_t h = m->seed ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x9e3779b97f4a7c15ULL;
	return util_mix64(h);
}

static void am_nidx_del(struct addrmap *m, uint32_t id)
{
	struct am_index *ix = &m->nidx;
	const struct am_name *b = am_name_at(m, id);
	uint32_t hole = am_home(ix, am_name_hash(m, b->s, b->len));

	while (am_slot_id(ix, ix->slot[hole]) != id)
		hole = am_next(ix, hole);
	for (uint32_t j = am_next(ix, hole);; j = am_next(ix, j)) {
		uint32_t v = ix->slot[j], home;

		if (v == AM_NONE)
			break;
		b = am_name_at(m, am_slot_id(ix, v));
		home = am_home(ix, am_name_hash(m, b->s, b->len));
		if (am_dist(ix, home, j) >= am_dist(ix, hole, j)) {
			ix->slot[hole] = v;
			hole = j;
		}
	}
	ix->slot[hole] = AM_NONE;
}

static void am_block_free(struct addrmap *m, uint32_t id, uint32_t units)
{
	struct am_name *b = am_name_at(m, id);

	if (id + units == m->pool_bump) {
		m->pool_bump = id;
		return;
	}
	b->len = AM_FREE_LEN;
	b->units = (uint8_t)units;
	b->refcnt = m->free_list[units];
	m->free_list[units] = id;
	m->pool_free += units;
}

/*
 * Slides live blocks to the start of the pool, fixing the entries' name ids through a
 * forwarding number kept in each block's refcnt field, then recounts the references and
 * rebuilds the name index.
 */
static void am_pool_compact(struct addrmap *m)
{
	uint32_t u, to = 0;

	for (u = 0; u < m->pool_bump; u += am_name_at(m, u)->units) {
		struct am_name *b = am_name_at(m, u);

		if (b->len != AM_FREE_LEN) {
			b->refcnt = to;
			to += b->units;
		}
	}
	for (uint32_t i = 0; i < m->hw; i++)
		if (m->e[i].family)
			m->e[i].name = am_name_at(m, m->e[i].name)->refcnt;
	for (u = 0; u < m->pool_bump;) {
		struct am_name *b = am_name_at(m, u);
		uint32_t units = b->units, fwd = b->refcnt;

		if (b->len != AM_FREE_LEN)
			memmove(am_name_at(m, fwd), b, (size_t)units * AM_UNIT);
		u += units;
	}
	m->pool_bump = to;
	m->pool_free = 0;
	for (unsigned c = 0; c <= AM_CLASSES; c++)
		m->free_list[c] = AM_NONE;
	for (u = 0; u < to; u += am_name_at(m, u)->units)
		am_name_at(m, u)->refcnt = 0;
	for (uint32_t i = 0; i < m->hw; i++)
		if (m->e[i].family)
			am_name_at(m, m->e[i].name)->refcnt++;
	am_index_reset(&m->nidx);
	for (u = 0; u < to; u += am_name_at(m, u)->units) {
		struct am_name *b = am_name_at(m, u);

		am_index_add(&m->nidx, am_name_hash(m, b->s, b->len), u);
	}
}

/* A block of units units, or AM_NONE when the pool cannot provide one yet. */
static uint32_t am_block_alloc(struct addrmap *m, uint32_t units)
{
	uint32_t id = m->free_list[units];

	if (id != AM_NONE) {
		m->free_list[units] = am_name_at(m, id)->refcnt;
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
		m->free_list[c] = am_name_at(m, id)->refcnt;
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
	struct am_index *ix = &m->nidx;
	uint64_t hash = am_name_hash(m, name, len);
	uint32_t tag = am_tag(ix, hash), id, units;
	struct am_name *b;

	for (uint32_t i = am_home(ix, hash);; i = am_next(ix, i)) {
		uint32_t v = ix->slot[i];

		if (v == AM_NONE)
			break;
		if (v >> ix->bits != tag)
			continue;
		b = am_name_at(m, am_slot_id(ix, v));
		if (b->len == len && memcmp(b->s, name, len) == 0) {
			b->refcnt++;
			*out = am_slot_id(ix, v);
			return 0;
		}
	}
	if (m->n_names >= m->max_names)
		return -ENOSPC;
	units = am_name_units(len);
	id = am_block_alloc(m, units);
	if (id == AM_NONE)
		return -ENOSPC;
	b = am_name_at(m, id);
	b->refcnt = 1;
	b->units = (uint8_t)units;
	b->len = (uint8_t)len;
	memcpy(b->s, name, len);
	b->s[len] = '\0';
	am_index_add(ix, hash, id);
	m->n_names++;
	*out = id;
	return 0;
}

static void am_name_put(struct addrmap *m, uint32_t id)
{
	struct am_name *b = am_name_at(m, id);

	if (--b->refcnt)
		return;
	am_nidx_del(m, id);
	am_block_free(m, id, b->units);
	m->n_names--;
}

/* ---- entries ---- */

static inline uint64_t am_expiry(const struct addrmap *m, const struct am_entry *e)
{
	return m->base_ms + e->expires - 1;
}

/* Past expiry and grace: treated as absent. */
static inline bool am_gone(const struct addrmap *m, const struct am_entry *e, uint64_t now)
{
	return e->expires == 0 || am_expiry(m, e) + m->grace_ms < now;
}

static void am_entry_del(struct addrmap *m, uint32_t ei)
{
	struct am_entry *e = &m->e[ei];
	struct am_key k = { .a = { e->a[0], e->a[1], e->a[2], e->a[3] }, .family = e->family };
	uint32_t slot = 0;

	if (am_find(m, &k, am_addr_hash(m, e->a, e->family), &slot) == ei)
		am_idx_del(m, slot);
	am_name_put(m, e->name);
	e->family = 0;
	e->name = m->free_head;
	m->free_head = ei;
	m->count--;
}

static inline uint32_t am_entry_next(const struct addrmap *m, uint32_t i)
{
	return i + 1 >= m->hw ? 0 : i + 1;
}

/*
 * Removes one entry chosen by the clock (see the top of the file); needs count > 0.
 * Within the first EVICT_WINDOW used entries from the hand a gone entry wins at once and
 * one in its grace period beats an unmarked live one; past the window the first of any
 * kind is taken. The hand moves past the victim, clearing the marks it passes (their
 * second chance; unmarked entries it skips get an extra turn, which keeps reusing gone
 * entries cheap). When every entry is marked, a full turn clears them all and the entry
 * at the hand goes.
 */
static void am_evict(struct addrmap *m)
{
	uint32_t victim = AM_NONE, grace = AM_NONE, unref = AM_NONE, first = AM_NONE;
	uint32_t i = m->hand < m->hw ? m->hand : 0, seen = 0;

	for (uint32_t steps = 0; steps < m->hw; steps++, i = am_entry_next(m, i)) {
		const struct am_entry *e = &m->e[i];

		if (!e->family)
			continue;
		if (first == AM_NONE)
			first = i;
		if (am_gone(m, e, m->now_ms)) {
			victim = i;
			break;
		}
		if (grace == AM_NONE && am_expiry(m, e) < m->now_ms)
			grace = i;
		else if (unref == AM_NONE && !e->ref)
			unref = i;
		if (++seen >= EVICT_WINDOW && (grace != AM_NONE || unref != AM_NONE))
			break;
	}
	if (victim == AM_NONE && grace == AM_NONE && unref == AM_NONE) {
		for (i = 0; i < m->hw; i++)
			m->e[i].ref = 0;
		victim = first;
	} else if (victim == AM_NONE) {
		victim = grace != AM_NONE ? grace : unref;
	}
	for (i = m->hand < m->hw ? m->hand : 0; i != victim; i = am_entry_next(m, i))
		m->e[i].ref = 0;
	m->hand = am_entry_next(m, victim);
	am_entry_del(m, victim);
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

/* ---- memory ---- */

static size_t am_entries_bytes(const struct addrmap *m)
{
	return (size_t)m->max * sizeof(*m->e);
}

static size_t am_pool_bytes(const struct addrmap *m)
{
	return (size_t)m->pool_units * AM_UNIT;
}

/* Zero-filled, committed page by page on first touch. */
static void *am_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void am_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/* ---- public ---- */

static void am_reset(struct addrmap *m)
{
	m->hw = m->count = m->hand = 0;
	m->free_head = AM_NONE;
	am_index_reset(&m->idx);
	am_index_reset(&m->nidx);
	m->pool_bump = m->pool_free = m->n_names = 0;
	for (unsigned c = 0; c <= AM_CLASSES; c++)
		m->free_list[c] = AM_NONE;
}

struct addrmap *addrmap_new_sized(size_t max_entries, size_t max_names, size_t name_bytes)
{
	struct addrmap *m;
	uint64_t units;

	if (max_entries == 0 || max_entries > AM_MAX_ENTRIES || max_names > max_entries)
		return NULL;
	if (!max_names)
		max_names = max_entries;
	if (!name_bytes)
		name_bytes = max_names * AM_NAME_BYTES;
	units = name_bytes / AM_UNIT;
	units = units < AM_POOL_MIN ? AM_POOL_MIN : units > AM_POOL_MAX ? AM_POOL_MAX : units;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->max = (uint32_t)max_entries;
	m->max_names = (uint32_t)max_names;
	m->pool_units = (uint32_t)units;
	m->e = am_map(am_entries_bytes(m));
	m->pool = am_map(am_pool_bytes(m));
	if (!m->e || !m->pool || !am_index_alloc(&m->idx, m->max, m->max) ||
	    !am_index_alloc(&m->nidx, m->max_names, m->pool_units)) {
		addrmap_free(m);
		return NULL;
	}
	if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed))
		m->seed = util_mix64((uintptr_t)m ^ 0x5bd1e9955bd1e995ULL);
	am_reset(m);
	return m;
}

struct addrmap *addrmap_new(size_t max_entries)
{
	return addrmap_new_sized(max_entries, 0, 0);
}

void addrmap_free(struct addrmap *m)
{
	if (!m)
		return;
	am_unmap(m->pool, am_pool_bytes(m));
	free(m->nidx.slot);
	free(m->idx.slot);
	am_unmap(m->e, am_entries_bytes(m));
	free(m);
}

int addrmap_set_grace(struct addrmap *m, uint64_t grace_ms)
{
	if (grace_ms > ADDRMAP_GRACE_MAX_MS)
		return -EINVAL;
	m->grace_ms = grace_ms;
	return 0;
}

uint64_t addrmap_grace(const struct addrmap *m)
{
	return m->grace_ms;
}

int addrmap_insert(struct addrmap *m, const struct pkt_addr *addr, const char *name,
		   uint16_t route, uint64_t expires_ms)
{
	struct am_key k;
	struct am_entry *e;
	uint32_t ei, slot, nid, exp;
	uint8_t ref = 0;
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
			e->ref = 1;
			return 0;
		}
		/* Another name now: start over so the old name's reference goes first. */
		am_entry_del(m, ei);
		ref = 1;	/* still a refresh of the address */
	}
	while (am_name_get(m, name, len, &nid)) {
		if (!m->count)
			return -ENOSPC;
		am_evict(m);
	}
	exp = am_expiry_encode(m, expires_ms);
	ei = am_entry_alloc(m);
	e = &m->e[ei];
	memcpy(e->a, k.a, sizeof(e->a));
	e->family = k.family;
	e->ref = ref;
	e->name = nid;
	e->route = route;
	e->expires = exp;
	am_index_add(&m->idx, h, ei);
	m->count++;
	return 0;
}

/* The entry for addr that is not gone at now, or NULL. */
static struct am_entry *am_lookup(const struct addrmap *m, const struct pkt_addr *addr,
				  uint64_t now)
{
	struct am_key k;
	uint32_t ei, slot;

	if (!am_key_make(addr, &k))
		return NULL;
	ei = am_find(m, &k, am_addr_hash(m, k.a, k.family), &slot);
	if (ei == AM_NONE || am_gone(m, &m->e[ei], now))
		return NULL;
	return &m->e[ei];
}

static void am_entry_out(const struct addrmap *m, const struct am_entry *e, uint64_t now,
			 struct addrmap_entry *out)
{
	out->route = e->route;
	out->expires_ms = am_expiry(m, e);
	out->grace = out->expires_ms < now;
	out->name = am_name_at(m, e->name)->s;
}

int addrmap_lookup(const struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms,
		   struct addrmap_entry *out)
{
	const struct am_entry *e = am_lookup(m, addr, now_ms);

	if (!e)
		return -ENOENT;
	am_entry_out(m, e, now_ms, out);
	return 0;
}

int addrmap_touch(struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms)
{
	struct am_entry *e = am_lookup(m, addr, now_ms);

	if (!e)
		return -ENOENT;
	e->ref = 1;
	return 0;
}

int addrmap_foreach(const struct addrmap *m, uint64_t now_ms, addrmap_visit_fn fn, void *ctx)
{
	for (uint32_t i = 0; i < m->hw; i++) {
		const struct am_entry *e = &m->e[i];
		struct addrmap_entry out;
		struct pkt_addr addr = { .family = e->family };
		int ret;

		if (!e->family || am_gone(m, e, now_ms))
			continue;
		memcpy(addr.a, e->a, e->family == AF_INET ? 4 : 16);
		am_entry_out(m, e, now_ms, &out);
		ret = fn(ctx, &addr, &out);
		if (ret)
			return ret;
	}
	return 0;
}

void addrmap_clear(struct addrmap *m, uint16_t route)
{
	if (route == UINT16_MAX) {
		/* drop the pages so a cleared table costs only its indexes */
		madvise(m->e, am_entries_bytes(m), MADV_DONTNEED);
		madvise(m->pool, am_pool_bytes(m), MADV_DONTNEED);
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

static size_t am_pages(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

size_t addrmap_mem_bytes(const struct addrmap *m)
{
	return sizeof(*m) + ((size_t)m->idx.size + m->nidx.size) * sizeof(uint32_t) +
	       am_pages((size_t)m->hw * sizeof(*m->e)) +
	       am_pages((size_t)m->pool_bump * AM_UNIT);
}
