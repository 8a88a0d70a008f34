/*
 * Refresh scheduling. Names live in fixed slots (the name inline, so tracking a name
 * never allocates), found through an open-addressing index (linear probing, backward-shift
 * deletion), ordered by due time in a binary min-heap of slot numbers, and, unless pinned,
 * on a doubly linked list in order of last use for eviction when full.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "refresh.h"
#include "util.h"

#define RF_NAME_MAX 253
#define RF_NONE UINT32_MAX
#define RF_MAX_CAPACITY (1u << 24)
#define RF_FAILS_MAX 16

struct rf_name {
	uint64_t due;
	uint64_t last_used;	/* meaningful when used */
	uint64_t ttl_ms;	/* as last learned, or the time left at the first use */
	uint64_t hash;
	uint32_t heap;		/* position in the heap */
	uint32_t prev, next;	/* use list (unpinned only); next: free list when unused */
	uint8_t fails;
	bool pinned, used;
	uint8_t len;
	char s[RF_NAME_MAX + 1];
};

struct refresh {
	struct rf_name *n;
	uint32_t cap, count, n_pinned, free_head, hw;
	uint32_t *heap;		/* slot numbers, heap-ordered by due */
	uint32_t *idx;		/* slot numbers by name hash, RF_NONE when empty */
	uint32_t idx_mask;
	uint32_t lru_head, lru_tail;	/* most and least recently used unpinned name */
	uint64_t window_ms, pin_spread_ms, rng, seed;
};

/* ---- helpers ---- */

/* splitmix64: deterministic for a seed, good enough for jitter. */
static uint64_t rf_rand(struct refresh *r)
{
	r->rng += 0x9e3779b97f4a7c15ULL;
	return util_mix64(r->rng);
}

static uint64_t rf_hash(const struct refresh *r, const char *s, size_t len)
{
	uint64_t h = r->seed ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x9e3779b97f4a7c15ULL;
	return util_mix64(h);
}

/* now + 80..90 % of span, but not before now + REFRESH_MIN_MS. */
static uint64_t rf_due_in(struct refresh *r, uint64_t now, uint64_t span)
{
	uint64_t f = 800 + rf_rand(r) % 101;	/* per mille */
	uint64_t d = span / 1000 * f + span % 1000 * f / 1000;

	return now + (d < REFRESH_MIN_MS ? REFRESH_MIN_MS : d);
}

static uint64_t rf_window(const struct refresh *r, const struct rf_name *n)
{
	if (r->window_ms)
		return r->window_ms;
	return 2 * n->ttl_ms > REFRESH_WINDOW_MIN_MS ? 2 * n->ttl_ms : REFRESH_WINDOW_MIN_MS;
}

/* ---- heap ---- */

static bool rf_before(const struct refresh *r, uint32_t a, uint32_t b)
{
	return r->n[a].due < r->n[b].due;
}

static void rf_heap_put(struct refresh *r, uint32_t pos, uint32_t slot)
{
	r->heap[pos] = slot;
	r->n[slot].heap = pos;
}

static void rf_sift_up(struct refresh *r, uint32_t pos)
{
	uint32_t slot = r->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;

		if (!rf_before(r, slot, r->heap[parent]))
			break;
		rf_heap_put(r, pos, r->heap[parent]);
		pos = parent;
	}
	rf_heap_put(r, pos, slot);
}

static void rf_sift_down(struct refresh *r, uint32_t pos)
{
	uint32_t slot = r->heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= r->count)
			break;
		if (c + 1 < r->count && rf_before(r, r->heap[c + 1], r->heap[c]))
			c++;
		if (!rf_before(r, r->heap[c], slot))
			break;
		rf_heap_put(r, pos, r->heap[c]);
		pos = c;
	}
	rf_heap_put(r, pos, slot);
}

/* Restores heap order after n's due time changed. */
static void rf_reschedule(struct refresh *r, uint32_t slot, uint64_t due)
{
	r->n[slot].due = due;
	rf_sift_up(r, r->n[slot].heap);
	rf_sift_down(r, r->n[slot].heap);
}

/* ---- use list ---- */

static void rf_lru_unlink(struct refresh *r, uint32_t i)
{
	struct rf_name *n = &r->n[i];

	if (n->prev != RF_NONE)
		r->n[n->prev].next = n->next;
	else
		r->lru_head = n->next;
	if (n->next != RF_NONE)
		r->n[n->next].prev = n->prev;
	else
		r->lru_tail = n->prev;
	n->prev = n->next = RF_NONE;
}

static void rf_lru_push(struct refresh *r, uint32_t i, bool front)
{
	struct rf_name *n = &r->n[i];

	if (front) {
		n->prev = RF_NONE;
		n->next = r->lru_head;
		if (r->lru_head != RF_NONE)
			r->n[r->lru_head].prev = i;
		r->lru_head = i;
		if (r->lru_tail == RF_NONE)
			r->lru_tail = i;
	} else {
		n->next = RF_NONE;
		n->prev = r->lru_tail;
		if (r->lru_tail != RF_NONE)
			r->n[r->lru_tail].next = i;
		r->lru_tail = i;
		if (r->lru_head == RF_NONE)
			r->lru_head = i;
	}
}

/* ---- index ---- */

static uint32_t rf_find(const struct refresh *r, const char *s, size_t len, uint64_t h)
{
	for (uint32_t i = (uint32_t)h & r->idx_mask;; i = (i + 1) & r->idx_mask) {
		uint32_t v = r->idx[i];

		if (v == RF_NONE)
			return RF_NONE;
		if (r->n[v].hash == h && r->n[v].len == len && memcmp(r->n[v].s, s, len) == 0)
			return v;
	}
}

static void rf_idx_add(struct refresh *r, uint32_t slot)
{
	uint32_t i = (uint32_t)r->n[slot].hash & r->idx_mask;

	while (r->idx[i] != RF_NONE)
		i = (i + 1) & r->idx_mask;
	r->idx[i] = slot;
}

static void rf_idx_del(struct refresh *r, uint32_t slot)
{
	uint32_t hole = (uint32_t)r->n[slot].hash & r->idx_mask;

	while (r->idx[hole] != slot)
		hole = (hole + 1) & r->idx_mask;
	for (uint32_t j = (hole + 1) & r->idx_mask;; j = (j + 1) & r->idx_mask) {
		uint32_t v = r->idx[j], home;

		if (v == RF_NONE)
			break;
		home = (uint32_t)r->n[v].hash & r->idx_mask;
		if (((j - home) & r->idx_mask) >= ((j - hole) & r->idx_mask)) {
			r->idx[hole] = v;
			hole = j;
		}
	}
	r->idx[hole] = RF_NONE;
}

/* ---- slots ---- */

static void rf_remove(struct refresh *r, uint32_t slot)
{
	struct rf_name *n = &r->n[slot];
	uint32_t pos = n->heap, last = r->heap[--r->count];

	if (pos != r->count) {
		rf_heap_put(r, pos, last);
		rf_sift_up(r, pos);
		rf_sift_down(r, r->n[last].heap);
	}
	if (n->pinned)
		r->n_pinned--;
	else
		rf_lru_unlink(r, slot);
	rf_idx_del(r, slot);
	n->len = 0;
	n->next = r->free_head;
	r->free_head = slot;
}

/* A new slot for name (len checked by the caller), not yet scheduled or listed; evicts
 * the least recently used unpinned name when full. RF_NONE when every name is pinned. */
static uint32_t rf_add(struct refresh *r, const char *s, size_t len, uint64_t h, uint64_t due)
{
	struct rf_name *n;
	uint32_t slot;

	if (r->count == r->cap) {
		if (r->lru_tail == RF_NONE)
			return RF_NONE;
		rf_remove(r, r->lru_tail);
	}
	if (r->free_head != RF_NONE) {
		slot = r->free_head;
		r->free_head = r->n[slot].next;
	} else {
		slot = r->hw++;
	}
	n = &r->n[slot];
	memset(n, 0, offsetof(struct rf_name, s));
	n->hash = h;
	n->len = (uint8_t)len;
	memcpy(n->s, s, len);
	n->s[len] = '\0';
	n->due = due;
	n->prev = n->next = RF_NONE;
	rf_idx_add(r, slot);
	rf_heap_put(r, r->count++, slot);
	rf_sift_up(r, r->count - 1);
	return slot;
}

static uint32_t rf_lookup(const struct refresh *r, const char *name)
{
	size_t len = strnlen(name, RF_NAME_MAX + 1);

	if (len > RF_NAME_MAX)
		return RF_NONE;
	return rf_find(r, name, len, rf_hash(r, name, len));
}

/* ---- public ---- */

struct refresh *refresh_new(const struct refresh_conf *c)
{
	struct refresh *r;
	uint32_t isize = 16;

	if (c->capacity == 0 || c->capacity > RF_MAX_CAPACITY)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cap = (uint32_t)c->capacity;
	while (isize < 2 * r->cap)
		isize <<= 1;
	r->idx_mask = isize - 1;
	r->n = calloc(r->cap, sizeof(*r->n));
	r->heap = calloc(r->cap, sizeof(*r->heap));
	r->idx = malloc((size_t)isize * sizeof(*r->idx));
	if (!r->n || !r->heap || !r->idx) {
		refresh_free(r);
		return NULL;
	}
	memset(r->idx, 0xff, (size_t)isize * sizeof(*r->idx));
	r->free_head = r->lru_head = r->lru_tail = RF_NONE;
	r->window_ms = c->window_ms;
	r->pin_spread_ms = c->pin_spread_ms;
	r->seed = util_mix64(c->seed ^ 0x6a09e667f3bcc909ULL);
	r->rng = c->seed;
	return r;
}

void refresh_free(struct refresh *r)
{
	if (!r)
		return;
	free(r->idx);
	free(r->heap);
	free(r->n);
	free(r);
}

int refresh_used(struct refresh *r, const char *name, uint64_t expires_ms, uint64_t now_ms)
{
	size_t len = strnlen(name, RF_NAME_MAX + 1);
	uint64_t h, left;
	uint32_t slot;

	if (len > RF_NAME_MAX)
		return -EINVAL;
	h = rf_hash(r, name, len);
	slot = rf_find(r, name, len, h);
	if (slot == RF_NONE) {
		left = expires_ms > now_ms ? expires_ms - now_ms : 0;
		slot = rf_add(r, name, len, h, left ? rf_due_in(r, now_ms, left) : now_ms);
		if (slot == RF_NONE)
			return -ENOSPC;
		r->n[slot].ttl_ms = left;
		rf_lru_push(r, slot, true);
	} else if (!r->n[slot].pinned) {
		rf_lru_unlink(r, slot);
		rf_lru_push(r, slot, true);
	}
	r->n[slot].used = true;
	r->n[slot].last_used = now_ms;
	return 0;
}

bool refresh_learned(struct refresh *r, const char *name, uint32_t ttl_s, uint64_t now_ms)
{
	uint32_t slot = rf_lookup(r, name);

	if (slot == RF_NONE)
		return false;
	r->n[slot].ttl_ms = (uint64_t)ttl_s * 1000;
	r->n[slot].fails = 0;
	rf_reschedule(r, slot, rf_due_in(r, now_ms, r->n[slot].ttl_ms));
	return true;
}

void refresh_failed(struct refresh *r, const char *name, uint64_t now_ms)
{
	uint32_t slot = rf_lookup(r, name);
	uint64_t delay;

	if (slot == RF_NONE)
		return;
	if (r->n[slot].fails < RF_FAILS_MAX)
		r->n[slot].fails++;
	delay = (uint64_t)REFRESH_RETRY_MIN_MS << (r->n[slot].fails - 1);
	if (delay > REFRESH_RETRY_MAX_MS)
		delay = REFRESH_RETRY_MAX_MS;
	/* +-10 % so that names failing together (resolver down) retry apart */
	delay = delay / 1000 * (900 + rf_rand(r) % 201);
	rf_reschedule(r, slot, now_ms + delay);
}

int refresh_pin(struct refresh *r, const char *name, uint64_t now_ms)
{
	size_t len = strnlen(name, RF_NAME_MAX + 1);
	uint64_t h, due;
	uint32_t slot;

	if (len > RF_NAME_MAX)
		return -EINVAL;
	h = rf_hash(r, name, len);
	slot = rf_find(r, name, len, h);
	if (slot != RF_NONE) {
		if (!r->n[slot].pinned) {
			rf_lru_unlink(r, slot);
			r->n[slot].pinned = true;
			r->n_pinned++;
		}
		return 0;
	}
	due = now_ms + (r->pin_spread_ms ? rf_rand(r) % r->pin_spread_ms : 0);
	slot = rf_add(r, name, len, h, due);
	if (slot == RF_NONE)
		return -ENOSPC;
	r->n[slot].pinned = true;
	r->n_pinned++;
	return 0;
}

void refresh_unpin_all(struct refresh *r)
{
	for (uint32_t i = 0; i < r->count; i++) {
		uint32_t slot = r->heap[i];

		if (r->n[slot].pinned) {
			r->n[slot].pinned = false;
			rf_lru_push(r, slot, false);	/* unused: first to go when full */
		}
	}
	r->n_pinned = 0;
}

void refresh_forget(struct refresh *r, const char *name)
{
	uint32_t slot = rf_lookup(r, name);

	if (slot != RF_NONE)
		rf_remove(r, slot);
}

uint64_t refresh_next_due(const struct refresh *r)
{
	return r->count ? r->n[r->heap[0]].due : UINT64_MAX;
}

int refresh_pop_due(struct refresh *r, uint64_t now_ms, char *name, size_t size)
{
	while (r->count && r->n[r->heap[0]].due <= now_ms) {
		uint32_t slot = r->heap[0];
		struct rf_name *n = &r->n[slot];

		if (!n->pinned && (!n->used || n->last_used + rf_window(r, n) < now_ms)) {
			rf_remove(r, slot);
			continue;
		}
		if (size < (size_t)n->len + 1)
			return -ENOSPC;
		memcpy(name, n->s, (size_t)n->len + 1);
		rf_reschedule(r, slot, now_ms + REFRESH_INFLIGHT_MS);
		return 1;
	}
	return 0;
}

size_t refresh_count(const struct refresh *r)
{
	return r->count;
}

size_t refresh_pinned_count(const struct refresh *r)
{
	return r->n_pinned;
}

bool refresh_lookup(const struct refresh *r, const char *name, uint64_t *due_ms)
{
	uint32_t slot = rf_lookup(r, name);

	if (slot == RF_NONE)
		return false;
	if (due_ms)
		*due_ms = r->n[slot].due;
	return true;
}
