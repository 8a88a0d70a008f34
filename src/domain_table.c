/*
 * The domain matcher's fingerprint hash table of full and suffix rules, and the lookup
 * that consults it before the keywords and regexps (domain_kw.c). The design note is at
 * the top of domain.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "domain.h"
#include "domain_int.h"
#include "util.h"

#define SUFFIX_MAX 128		/* 253 bytes hold at most 127 non-empty labels */
#define PSL_MAX 127		/* psl has 7 bits; 0 means empty */
#define TAIL (PSL_MAX + 1)	/* spare slots after the last home position */
#define LOAD_NUM 4		/* grow beyond 4/5 full */
#define LOAD_DEN 5
#define DM_HUGE ((size_t)2 << 20)	/* transparent huge page size on x86-64 and arm64 */
#define H_MUL_A 0x9e3779b97f4a7c15ULL	/* label words */
#define H_MUL_B 0xd6e8feb86659fd93ULL
#define H_MUL_C 0xff51afd7ed558ccdULL	/* label chain */
#define H_MUL_D 0xc4ceb9fe1a85ec53ULL

/* Slot layout: see dm_slot in domain_int.h. */
#define SL_PSL_SHIFT 16
#define SL_PSL_ONE ((dm_slot)1 << SL_PSL_SHIFT)
#define SL_TAG_SHIFT 23
#define SL_PSL(s) ((unsigned)((s) >> SL_PSL_SHIFT) & PSL_MAX)
#define TAG_FULL 1u

/* The hashes of one name (or suffix of a queried name). */
struct dm_key {
	uint64_t tag;		/* fingerprint << 1, without TAG_FULL */
	uint32_t home;		/* picks the home slot */
	uint8_t len;
};

/* ---- hashing and the table ---- */

static inline uint64_t dm_load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * Hashes of every suffix of name that starts at a label boundary, shortest first, with
 * the whole name last when it can be a rule (*whole). Labels are hashed a word at a time
 * (in parallel, they do not depend on each other) and the label hashes are chained right
 * to left, so the serial dependency is one multiply per label rather than per byte.
 * A suffix with an empty label or longer than DOMAIN_MAX cannot be a rule, so the walk
 * stops there and never looks further left than DOMAIN_MAX + 1 bytes from the end.
 */
static size_t dm_suffix_keys(const struct domain_matcher *m, const char *name, size_t len,
			     struct dm_key *keys, bool *whole)
{
	unsigned char buf[DOMAIN_MAX + 1 + 16];
	uint8_t dots[DOMAIN_MAX + 1];
	size_t w = len > DOMAIN_MAX + 1 ? DOMAIN_MAX + 1 : len, nd = 0, ns = 0, end = w;
	uint64_t a = m->seed_a, b = m->seed_b;

	*whole = false;
	/* Words, not memcpy: gcc expands a bounded memcpy into a slow "rep movsq". */
	for (size_t i = 0; i < w; i += 8) {
		const char *src = name + len - w + i;
		uint64_t v = 0;

		if (w - i >= 8) {
			memcpy(&v, src, 8);
			memcpy(buf + i, &v, 8);
		} else {
			memcpy(buf + i, &v, 8);
			for (size_t j = 0; j < w - i; j++)
				buf[i + j] = (unsigned char)src[j];
		}
	}
	memset(buf + w, 0, 8);
	for (size_t i = 0; i < w; i += 8) {
		/* exact per-byte zero test of v ^ "........" */
		uint64_t t = dm_load64(buf + i) ^ 0x2e2e2e2e2e2e2e2eULL;
		uint64_t z = ~(((t & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | t |
			       0x7f7f7f7f7f7f7f7fULL);

		while (z) {
			dots[nd++] = (uint8_t)(i + (size_t)__builtin_ctzll(z) / 8);
			z &= z - 1;
		}
	}
	for (size_t k = nd + 1; k-- > 0;) {
		size_t start = k ? dots[k - 1] + 1u : 0, l = end - start;
		uint64_t la = l, lb = l;

		/* the leftmost label is whole only when the name fits the window */
		if (!l || (!k && w != len) || w - start > DOMAIN_MAX)
			break;
		for (size_t i = 0; i < l; i += 8) {
			uint64_t x = dm_load64(buf + start + i);

			if (l - i < 8)
				x &= (1ULL << (8 * (l - i))) - 1;
			la = (la ^ x) * H_MUL_A;
			lb = (lb ^ x) * H_MUL_B;
		}
		a = (a ^ la) * H_MUL_C;
		b = (b ^ lb) * H_MUL_D;
		keys[ns].home = (uint32_t)(util_mix64(a) >> 32);
		keys[ns].tag = (b >> 24) << 1;
		keys[ns++].len = (uint8_t)(w - start);
		*whole = !k;
		end = start - 1;
	}
	return ns;
}

/* The key of a whole name; -EINVAL when it could never match (see dm_suffix_keys). */
static int dm_key_of(const struct domain_matcher *m, const char *s, size_t len,
		     struct dm_key *k)
{
	struct dm_key keys[SUFFIX_MAX];
	bool whole;
	size_t ns = dm_suffix_keys(m, s, len, keys, &whole);

	if (!whole)
		return -EINVAL;
	*k = keys[ns - 1];
	return 0;
}

static inline uint32_t dm_home(uint32_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

/*
 * Index of the slot with tag (kind bit included) for key k, or -1. Lookups compare the
 * tag only; adding also compares the home hash, which keeps distinct rules apart.
 */
static inline long dm_find(const struct domain_matcher *m, const struct dm_key *k,
			   uint64_t tag, bool exact)
{
	size_t pos = dm_home(k->home, m->n);

	for (unsigned psl = 1; psl <= PSL_MAX; psl++, pos++) {
		dm_slot sl = m->slots[pos];

		if (SL_PSL(sl) < psl)
			return -1;
		if (sl >> SL_TAG_SHIFT == tag && (!exact || m->homes[pos] == k->home))
			return (long)pos;
	}
	return -1;
}

/*
 * Robin Hood insertion by shifting: the new slot goes where its psl first exceeds the
 * resident's, and the run up to the next empty slot moves one step right. Checks first
 * that no psl would overflow, so on -E2BIG the table is unchanged and the caller grows it.
 */
static int dm_place(dm_slot *t, uint32_t *homes, uint32_t n, dm_slot in, uint32_t home)
{
	size_t p = dm_home(home, n), e;
	unsigned psl = 1;

	while (SL_PSL(t[p]) >= psl) {
		if (++psl > PSL_MAX)
			return -E2BIG;
		p++;
	}
	for (e = p; SL_PSL(t[e]) != 0; e++)
		if (SL_PSL(t[e]) == PSL_MAX)
			return -E2BIG;
	memmove(&t[p + 1], &t[p], (e - p) * sizeof(*t));
	memmove(&homes[p + 1], &homes[p], (e - p) * sizeof(*homes));
	for (size_t i = p + 1; i <= e; i++)
		t[i] += SL_PSL_ONE;
	t[p] = in | (dm_slot)psl << SL_PSL_SHIFT;
	homes[p] = home;
	return 0;
}

/*
 * Large tables are mapped on their own and asked to use transparent huge pages: with 4 KiB
 * pages every probe into a table of tens of MB also misses the TLB.
 */
static void *dm_big_alloc(size_t size)
{
	unsigned char *p, *a;

	if (size < DM_HUGE)
		return calloc(1, size);
	size = (size + DM_HUGE - 1) & ~(DM_HUGE - 1);
	p = mmap(NULL, size + DM_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (unsigned char *)(((uintptr_t)p + DM_HUGE - 1) & ~(uintptr_t)(DM_HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + size, (size_t)(p + DM_HUGE - a));
	madvise(a, size, MADV_HUGEPAGE);	/* a hint: without THP it is just slower */
	return a;
}

static void dm_big_free(void *p, size_t size)
{
	if (size < DM_HUGE)
		free(p);
	else if (p)
		munmap(p, (size + DM_HUGE - 1) & ~(DM_HUGE - 1));
}

int dm_table_alloc(uint32_t n, dm_slot **t, uint32_t **homes)
{
	*t = dm_big_alloc(((size_t)n + TAIL) * sizeof(**t));
	*homes = calloc((size_t)n + TAIL, sizeof(**homes));
	if (*t && *homes)
		return 0;
	dm_big_free(*t, ((size_t)n + TAIL) * sizeof(**t));
	free(*homes);
	return -ENOMEM;
}

void dm_table_free(dm_slot *t, uint32_t *homes, uint32_t n)
{
	dm_big_free(t, ((size_t)n + TAIL) * sizeof(*t));
	free(homes);
}

static int dm_rebuild(struct domain_matcher *m, uint32_t n)
{
	const dm_slot psl_mask = (dm_slot)PSL_MAX << SL_PSL_SHIFT;
	uint32_t *homes;
	dm_slot *t;

	for (;;) {
		size_t i, total = (size_t)m->n + TAIL;

		if (dm_table_alloc(n, &t, &homes))
			return -ENOMEM;
		/* Homes are monotonic in the hash, so slots arrive nearly in order. */
		for (i = 0; i < total; i++) {
			dm_slot sl = m->slots[i];

			if (SL_PSL(sl) && dm_place(t, homes, n, sl & ~psl_mask, m->homes[i]))
				break;
		}
		if (i == total)
			break;
		/* A pathological cluster: try a larger table rather than fail. */
		dm_table_free(t, homes, n);
		if (n > UINT32_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	dm_table_free(m->slots, m->homes, m->n);
	m->slots = t;
	m->homes = homes;
	m->n = n;
	return 0;
}

static uint32_t dm_next_n(uint32_t n)
{
	uint64_t next = (uint64_t)n + n / 2;

	return next > UINT32_MAX - TAIL ? 0 : (uint32_t)next;
}

int dm_table_add(struct domain_matcher *m, const char *name, bool full, uint16_t route)
{
	size_t len = strnlen(name, DOMAIN_MAX + 1);
	struct dm_key k;
	uint64_t tag;
	dm_slot in;
	long pos;

	if (len == 0 || len > DOMAIN_MAX || dm_key_of(m, name, len, &k))
		return -EINVAL;
	tag = k.tag | (full ? TAG_FULL : 0);
	pos = dm_find(m, &k, tag, true);
	if (pos >= 0) {
		m->slots[pos] = (m->slots[pos] & ~(dm_slot)UINT16_MAX) | route;
		return 0;
	}
	if ((uint64_t)(m->count + 1) * LOAD_DEN > (uint64_t)m->n * LOAD_NUM) {
		uint32_t n = dm_next_n(m->n);

		if (!n || dm_rebuild(m, n))
			return -ENOMEM;
	}
	in = tag << SL_TAG_SHIFT | route;
	while (dm_place(m->slots, m->homes, m->n, in, k.home)) {
		uint32_t n = dm_next_n(m->n);

		if (!n || dm_rebuild(m, n))
			return -ENOMEM;
	}
	m->count++;
	m->n_full += full;
	return 0;
}

/* ---- lookups ---- */

static bool dm_table_match(const struct domain_matcher *m, const char *name, size_t len,
			   struct domain_match *out)
{
	struct dm_key keys[SUFFIX_MAX];
	bool whole;
	size_t ns = dm_suffix_keys(m, name, len, keys, &whole);
	long pos;

	/* Start all the likely cache misses at once, then probe longest first. */
	for (size_t k = 0; k < ns; k++)
		__builtin_prefetch(&m->slots[dm_home(keys[k].home, m->n)]);
	if (whole && m->n_full) {
		pos = dm_find(m, &keys[ns - 1], keys[ns - 1].tag | TAG_FULL, false);
		if (pos >= 0) {
			*out = (struct domain_match){ (uint16_t)m->slots[pos], DOMAIN_FULL, len,
						      0 };
			return true;
		}
	}
	if (m->count == m->n_full)
		return false;
	for (size_t k = ns; k-- > 0;) {
		pos = dm_find(m, &keys[k], keys[k].tag, false);
		if (pos >= 0) {
			*out = (struct domain_match){ (uint16_t)m->slots[pos], DOMAIN_SUFFIX,
						      keys[k].len, 0 };
			return true;
		}
	}
	return false;
}

int domain_matcher_match(const struct domain_matcher *m, const char *name,
			 struct domain_match *out)
{
	size_t len = strlen(name);
	uint32_t i;

	if (m->count && dm_table_match(m, name, len, out))
		return 0;
	if (m->n_kw) {
		i = dm_keyword_find(m, name, len);
		if (i != AC_NONE) {
			*out = (struct domain_match){ m->kw[i].route, DOMAIN_KEYWORD, m->kw[i].len,
						      i };
			return 0;
		}
	}
	if (m->n_re) {
		i = dm_regexp_find(m, name, len);
		if (i != AC_NONE) {
			*out = (struct domain_match){ m->re[i].route, DOMAIN_REGEXP, 0, i };
			return 0;
		}
	}
	return -ENOENT;
}

int domain_matcher_lookup(const struct domain_matcher *m, const char *name, size_t *match_len)
{
	struct domain_match r;

	if (domain_matcher_match(m, name, &r) < 0)
		return -ENOENT;
	if (match_len)
		*match_len = r.kind == DOMAIN_SUFFIX || r.kind == DOMAIN_FULL ? r.len : 0;
	return r.route;
}
