/*
 * Domain matcher. Full and suffix rules live in one Robin Hood hash table of 8-byte
 * slots; keyword rules in an Aho-Corasick automaton; regexp rules in a list consulted
 * only when nothing else matched, and then only those with a literal part (found by a
 * second automaton) that occurs in the name, or without any.
 *
 * The table stores no names. A slot holds a 40-bit fingerprint of its name (from a second
 * hash, independent of the one that picks the home slot), the rule kind, the route and
 * the probe sequence length. A lookup compares fingerprints only, so a hit costs one
 * cache miss (the slot) instead of two (slot, then the name for verification), and the
 * table needs no string arena: 1M rules take ~15 MB, which stays in a large L3 cache.
 * The price is that a name whose fingerprint and home equal a rule's would be taken for
 * it: with random per-matcher seeds that is ~2^-(40 + log2 table size) per comparison,
 * below one in 2^56 for 100k rules. A name whose owner could steer this could be routed
 * like a listed name by a CNAME to that name anyway, so verification would add nothing
 * against an attacker. The high half of the home hash is kept per slot in a second
 * array that only growing the table and adding rules touch.
 *
 * Labels are hashed a word at a time and the label hashes chained right to left, so one
 * walk over a queried name yields the hash of every suffix that starts at a label
 * boundary; the lookup then prefetches all their slots and probes longest first.
 *
 * Why this shape: 1M rules must fit in < 40 bytes each and load in well under a second,
 * and lookups run on the DNS path at millions per second. The table stays between ~53%
 * and 80% full (grown by 1.5x), so it costs 15-23 bytes per rule. It has PSL_MAX spare
 * slots at its end instead of wrapping around, and home positions come from a multiply
 * ("fastrange"), so its size need not be a power of two and the slot order follows the
 * hash order: growing the table is a linear pass with hardly any shifting.
 *
 * Lookups only read, so any number of threads may look up while nobody adds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "domain.h"
#include "util.h"

#define DOMAIN_MAX 253		/* presentation length without trailing dot */
#define LABEL_MAX 63
#define SUFFIX_MAX 128		/* 253 bytes hold at most 127 non-empty labels */
#define PSL_MAX 127		/* psl has 7 bits; 0 means empty */
#define TAIL (PSL_MAX + 1)	/* spare slots after the last home position */
#define N_MIN 64
#define LOAD_NUM 4		/* grow beyond 4/5 full */
#define LOAD_DEN 5
#define AC_NONE UINT32_MAX
#define DM_CANDIDATES 64	/* regexps whose literal occurs, per lookup */
#define DM_RE_COST_MAX 4096	/* nodes of a compiled regexp: a few ms of regcomp */
#define DM_HUGE ((size_t)2 << 20)	/* transparent huge page size on x86-64 and arm64 */

#define H_SEED_A 0xcbf29ce484222325ULL
#define H_SEED_B 0x84222325cbf29ce4ULL
#define H_MUL_A 0x9e3779b97f4a7c15ULL	/* label words */
#define H_MUL_B 0xd6e8feb86659fd93ULL
#define H_MUL_C 0xff51afd7ed558ccdULL	/* label chain */
#define H_MUL_D 0xc4ceb9fe1a85ec53ULL

/* A slot: route in bits 0-15, psl in 16-22, then the tag: full-rule bit, fingerprint. */
typedef uint64_t dm_slot;
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

struct dm_keyword {
	uint32_t off;		/* in kw_text */
	uint16_t len;
	uint16_t route;
};

struct dm_regexp {
	regex_t re;
	uint16_t route;
	uint16_t lit_len;	/* 0: no literal is known to occur in every match */
	char *lit;		/* such a literal, lowercase: regexec runs only if it occurs */
};

/* A string an automaton looks for, and what finding it means. */
struct dm_pattern {
	const char *s;
	uint32_t len;
	uint32_t id;		/* ascending along the array */
};

/*
 * Aho-Corasick automaton, in compressed rows: state s has the edges start[s] ..
 * start[s + 1] - 1 (sorted by byte), the root a full row. best[s] is the lowest id that
 * ends at s or at a state on its failure chain (what keywords need); ids[] lists the ids
 * ending exactly at s and dict[s] is the next state on the failure chain that has any (what
 * regexp literals need: every regexp whose literal occurs).
 */
struct dm_ac {
	uint32_t n;
	uint32_t root[256];
	uint32_t *start;
	uint8_t *ch;
	uint32_t *to;
	uint32_t *fail;
	uint32_t *best;
	uint32_t *dict;
	uint32_t *ids_start;
	uint32_t *ids;
};

struct domain_matcher {
	dm_slot *slots;		/* n + TAIL entries */
	uint32_t *homes;	/* the home hash of each slot, for growing and adding */
	uint32_t n;		/* number of home positions */
	uint64_t seed_a, seed_b;	/* a list crafted to collide must not make loading fail */
	size_t count;		/* table entries */
	size_t n_full;		/* of those, full rules */
	struct dm_keyword *kw;
	size_t n_kw, kw_cap;
	char *kw_text;
	size_t kw_len, kw_cap_text;
	struct dm_ac *ac;	/* NULL while keywords were added since the last finish */
	struct dm_regexp *re;
	size_t n_re, re_cap;
	uint32_t *re_always;	/* regexps without a literal, ascending */
	size_t n_always, always_cap;
	struct dm_ac *re_ac;	/* over the literals; NULL while regexps were added since */
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

static int dm_table_alloc(uint32_t n, dm_slot **t, uint32_t **homes)
{
	*t = dm_big_alloc(((size_t)n + TAIL) * sizeof(**t));
	*homes = calloc((size_t)n + TAIL, sizeof(**homes));
	if (*t && *homes)
		return 0;
	dm_big_free(*t, ((size_t)n + TAIL) * sizeof(**t));
	free(*homes);
	return -ENOMEM;
}

static void dm_table_free(dm_slot *t, uint32_t *homes, uint32_t n)
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

static int dm_table_add(struct domain_matcher *m, const char *name, bool full, uint16_t route)
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

/* ---- keywords ---- */

static int dm_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	void *p;

	if (need <= c)
		return 0;
	while (c < need)
		c = c ? c + c / 2 + 8 : 16;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static void dm_ac_free(struct dm_ac *ac)
{
	if (!ac)
		return;
	free(ac->start);
	free(ac->ch);
	free(ac->to);
	free(ac->fail);
	free(ac->best);
	free(ac->dict);
	free(ac->ids_start);
	free(ac->ids);
	free(ac);
}

static int dm_keyword_add(struct domain_matcher *m, const char *word, uint16_t route)
{
	size_t len = strlen(word);

	if (len == 0 || len > DOMAIN_MAX)
		return -EINVAL;
	if (m->kw_len + len > UINT32_MAX ||
	    dm_grow((void **)&m->kw, &m->kw_cap, m->n_kw + 1, sizeof(*m->kw)) ||
	    dm_grow((void **)&m->kw_text, &m->kw_cap_text, m->kw_len + len, 1))
		return -ENOMEM;
	memcpy(m->kw_text + m->kw_len, word, len);
	m->kw[m->n_kw++] = (struct dm_keyword){ (uint32_t)m->kw_len, (uint16_t)len, route };
	m->kw_len += len;
	dm_ac_free(m->ac);
	m->ac = NULL;
	return 0;
}

/* The trie while it is built: children as sorted sibling lists, ids as linked lists. */
struct dm_trie {
	uint32_t *child, *sib, *head;
	uint8_t *ch;
	uint32_t n;
	uint32_t *next;		/* per pattern: the next pattern ending at the same node */
};

static uint32_t dm_trie_child(const struct dm_trie *t, uint32_t s, uint8_t c)
{
	for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
		if (t->ch[x] == c)
			return x;
		if (t->ch[x] > c)
			break;
	}
	return 0;
}

static void dm_trie_insert(struct dm_trie *t, const struct dm_pattern *p, uint32_t k)
{
	uint32_t s = 0;

	for (size_t i = 0; i < p->len; i++) {
		uint8_t c = (uint8_t)p->s[i];
		uint32_t *link = &t->child[s], x;

		while (*link && t->ch[*link] < c)
			link = &t->sib[*link];
		if (*link && t->ch[*link] == c) {
			s = *link;
			continue;
		}
		x = t->n++;
		t->ch[x] = c;
		t->child[x] = 0;
		t->head[x] = AC_NONE;
		t->sib[x] = *link;
		*link = x;
		s = x;
	}
	t->next[k] = t->head[s];	/* newest first: reversed when the rows are written */
	t->head[s] = k;
}

/* Breadth-first order and failure links, then the compressed rows and the outputs. */
static int dm_ac_build(const struct dm_trie *t, const struct dm_pattern *pats, size_t n_pats,
		       struct dm_ac *ac)
{
	uint32_t *order = malloc(t->n * sizeof(*order)), *id = malloc(t->n * sizeof(*id));
	uint32_t *fail = calloc(t->n, sizeof(*fail)), head = 0, tail = 1, edges = 0, outs = 0;
	int rc = -ENOMEM;

	ac->start = calloc((size_t)t->n + 1, sizeof(*ac->start));
	ac->ch = malloc(t->n);
	ac->to = malloc(t->n * sizeof(*ac->to));
	ac->fail = malloc(t->n * sizeof(*ac->fail));
	ac->best = malloc(t->n * sizeof(*ac->best));
	ac->dict = malloc(t->n * sizeof(*ac->dict));
	ac->ids_start = malloc(((size_t)t->n + 1) * sizeof(*ac->ids_start));
	ac->ids = malloc((n_pats + 1) * sizeof(*ac->ids));
	if (!order || !id || !fail || !ac->start || !ac->ch || !ac->to || !ac->fail ||
	    !ac->best || !ac->dict || !ac->ids_start || !ac->ids)
		goto out;
	ac->n = t->n;
	order[0] = 0;
	id[0] = 0;
	while (head < tail) {
		uint32_t s = order[head++];

		for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
			uint32_t f = fail[s], u = 0;

			if (s) {
				while (f && !dm_trie_child(t, f, t->ch[x]))
					f = fail[f];
				u = dm_trie_child(t, f, t->ch[x]);
			}
			fail[x] = u;
			id[x] = tail;
			order[tail++] = x;
		}
	}
	for (uint32_t k = 0; k < t->n; k++) {
		uint32_t s = order[k], f = id[fail[s]], b = AC_NONE, n = 0;

		ac->ids_start[k] = outs;
		for (uint32_t e = t->head[s]; e != AC_NONE; e = t->next[e])
			n++;
		outs += n;
		for (uint32_t e = t->head[s]; e != AC_NONE; e = t->next[e]) {
			ac->ids[--n + ac->ids_start[k]] = pats[e].id;
			b = pats[e].id;		/* the last one seen is the lowest */
		}
		/* fail[s] is shallower, so it was numbered and finished before s */
		if (k && ac->best[f] < b)
			b = ac->best[f];
		ac->best[k] = b;
		ac->fail[k] = f;
		/* ids_start[f + 1] is known: f + 1 <= k */
		ac->dict[k] = !k ? 0 : ac->ids_start[f + 1] > ac->ids_start[f] ? f : ac->dict[f];
		ac->start[k] = edges;
		for (uint32_t x = t->child[s]; x; x = t->sib[x]) {
			ac->ch[edges] = t->ch[x];
			ac->to[edges++] = id[x];
		}
	}
	ac->start[t->n] = edges;
	ac->ids_start[t->n] = outs;
	memset(ac->root, 0, sizeof(ac->root));
	for (uint32_t e = ac->start[0]; e < ac->start[1]; e++)
		ac->root[ac->ch[e]] = ac->to[e];
	rc = 0;
out:
	free(order);
	free(id);
	free(fail);
	return rc;
}

static int dm_ac_new(const struct dm_pattern *pats, size_t n_pats, size_t total,
		     struct dm_ac **out)
{
	size_t nodes = total + 1;
	struct dm_trie t = { .n = 1 };
	struct dm_ac *ac = calloc(1, sizeof(*ac));
	int rc = -ENOMEM;

	*out = NULL;
	if (nodes > UINT32_MAX || n_pats >= UINT32_MAX || !ac)
		goto out;
	t.child = malloc(nodes * sizeof(*t.child));
	t.sib = malloc(nodes * sizeof(*t.sib));
	t.head = malloc(nodes * sizeof(*t.head));
	t.ch = malloc(nodes);
	t.next = malloc((n_pats + 1) * sizeof(*t.next));
	if (!t.child || !t.sib || !t.head || !t.ch || !t.next)
		goto out;
	t.child[0] = t.sib[0] = 0;
	t.head[0] = AC_NONE;
	t.ch[0] = 0;
	for (size_t i = 0; i < n_pats; i++)
		dm_trie_insert(&t, &pats[i], (uint32_t)i);
	rc = dm_ac_build(&t, pats, n_pats, ac);
	if (rc == 0) {
		*out = ac;
		ac = NULL;
	}
out:
	free(t.child);
	free(t.sib);
	free(t.head);
	free(t.ch);
	free(t.next);
	dm_ac_free(ac);
	return rc;
}

static uint32_t dm_ac_next(const struct dm_ac *ac, uint32_t s, uint8_t c)
{
	for (;;) {
		if (!s)
			return ac->root[c];
		for (uint32_t e = ac->start[s]; e < ac->start[s + 1]; e++)
			if (ac->ch[e] == c)
				return ac->to[e];
		s = ac->fail[s];
	}
}

static int dm_keyword_ac(const struct domain_matcher *m, struct dm_ac **out)
{
	struct dm_pattern *pats = malloc((m->n_kw + 1) * sizeof(*pats));
	int rc;

	if (!pats)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_kw; i++)
		pats[i] = (struct dm_pattern){ m->kw_text + m->kw[i].off, m->kw[i].len,
					       (uint32_t)i };
	rc = dm_ac_new(pats, m->n_kw, m->kw_len, out);
	free(pats);
	return rc;
}

/* Index of the first keyword (in add order) that name contains, or AC_NONE. */
static uint32_t dm_keyword_find(const struct domain_matcher *m, const char *name, size_t len)
{
	uint32_t best = AC_NONE, s = 0;

	if (!m->ac) {
		for (size_t i = 0; i < m->n_kw; i++)
			if (memmem(name, len, m->kw_text + m->kw[i].off, m->kw[i].len))
				return (uint32_t)i;
		return AC_NONE;
	}
	for (size_t i = 0; i < len && best; i++) {
		s = dm_ac_next(m->ac, s, (uint8_t)name[i]);
		if (m->ac->best[s] < best)
			best = m->ac->best[s];
	}
	return best;
}

/* ---- regexps ---- */

/*
 * Rewrites the Perl classes of RE2 (v2ray's syntax) that POSIX lacks or glibc only knows
 * outside brackets; everything else is kept. Sets *backref when re uses a back-reference
 * (\1-\9): names never need one and they make glibc's regexec backtrack. Returns a new
 * string or NULL.
 */
static char *dm_re_translate(const char *re, bool *backref)
{
	static const char *const outside[] = { ['d'] = "[0-9]", ['D'] = "[^0-9]",
		['w'] = "[[:alnum:]_]", ['W'] = "[^[:alnum:]_]", ['s'] = "[[:space:]]",
		['S'] = "[^[:space:]]" };
	static const char *const inside[] = { ['d'] = "0-9", ['w'] = "[:alnum:]_",
		['s'] = "[:space:]" };
	size_t len = strlen(re), o = 0;
	char *out = malloc(len * 7 + 1);	/* "\W" (2 bytes) grows the most, to 13 */
	bool br = false, quant = false, ivl = false;

	*backref = false;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)re[i], d = (unsigned char)re[i + 1];
		const char *rep = NULL;

		if (!br && c == '?' && quant) {
			quant = false;	/* RE2's lazy "+?" accepts the same names as "+" */
			continue;
		}
		quant = false;
		if (!br && c == '[') {
			br = true;
			out[o++] = re[i];
			/* "[]" and "[^]" start with a literal ']' */
			if (re[i + 1] == '^')
				out[o++] = re[++i];
			if (re[i + 1] == ']')
				out[o++] = re[++i];
			continue;
		}
		if (br && c == '[' && (d == ':' || d == '.' || d == '=')) {
			const char *end = strchr(re + i + 2, d);

			while (end && end[1] != ']')
				end = strchr(end + 1, d);
			if (end) {
				size_t n = (size_t)(end + 2 - (re + i));

				memcpy(out + o, re + i, n);
				o += n;
				i += n - 1;
				continue;
			}
		}
		if (br && c == ']') {
			br = false;
		} else if (c == '\\' && d < 128) {
			rep = br ? (d < sizeof(inside) / sizeof(inside[0]) ? inside[d] : NULL)
				 : (d < sizeof(outside) / sizeof(outside[0]) ? outside[d] : NULL);
			if (!br && !rep && d) {
				*backref |= d >= '1' && d <= '9';
				/* keep any other escape pair together */
				out[o++] = re[i++];
				out[o++] = re[i];
				continue;
			}
			if (br && !rep && ispunct(d) && !strchr("]-^\\", d)) {
				/* "[\.]" means '.' to RE2, but '\' or '.' to POSIX */
				out[o++] = re[++i];
				continue;
			}
		}
		if (rep) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
			i++;
			continue;
		}
		if (!br) {
			ivl |= c == '{';
			quant = c == '*' || c == '+' || c == '?' || (c == '}' && ivl);
			ivl &= c != '}';
		}
		out[o++] = re[i];
	}
	out[o] = '\0';
	return out;
}

/* Past a bracket expression that starts at p ('['), or NULL if it does not end. */
static const char *dm_re_skip_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char d = p[1];

			for (p += 2; *p && !(p[0] == d && p[1] == ']'); p++)
				;
			if (!*p)
				return NULL;
			p++;
		} else if (*p == ']') {
			return p + 1;
		}
	}
	return NULL;
}

/* Past a group that starts at p ('('), or NULL if it does not end. */
static const char *dm_re_skip_group(const char *p)
{
	unsigned depth = 0;

	while (*p) {
		if (*p == '\\') {
			if (!p[1])
				return NULL;
			p += 2;
		} else if (*p == '[') {
			p = dm_re_skip_bracket(p);
			if (!p)
				return NULL;
		} else {
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

static bool dm_re_top_alternation(const char *p)
{
	while (*p) {
		if (*p == '|')
			return true;
		if (*p == '\\' && p[1])
			p += 2;
		else if (*p == '[' || *p == '(')
			p = *p == '[' ? dm_re_skip_bracket(p) : dm_re_skip_group(p);
		else
			p++;
		if (!p)
			return true;	/* cannot tell: claim nothing */
	}
	return false;
}

/* Reads a repetition operator at *pp: true, *pp past it and its copy count in *mult. */
static bool dm_re_quant(const char **pp, size_t *mult)
{
	const char *p = *pp;
	size_t lo = 0, hi;

	if (*p == '*' || *p == '?' || *p == '+') {
		*mult = *p == '+' ? 2 : 1;	/* glibc builds X+ as XX* */
		*pp = p + 1;
		return true;
	}
	if (*p != '{' || !(isdigit((unsigned char)p[1]) || p[1] == ','))
		return false;
	for (p++; isdigit((unsigned char)*p); p++)
		lo = lo > DM_RE_COST_MAX ? lo : lo * 10 + (size_t)(*p - '0');
	hi = lo;
	if (*p == ',') {
		hi = lo + 1;			/* X{m,} is m copies and a star */
		if (isdigit((unsigned char)p[1]))
			for (hi = 0, p++; isdigit((unsigned char)*p); p++)
				hi = hi > DM_RE_COST_MAX ? hi : hi * 10 + (size_t)(*p - '0');
		else
			p++;
	}
	if (*p != '}')
		return false;
	*mult = hi > lo ? hi : lo ? lo : 1;
	*pp = p + 1;
	return true;
}

static size_t dm_sat(size_t a, size_t b, bool mul)
{
	if (mul)
		return b && a > DM_RE_COST_MAX / b ? DM_RE_COST_MAX + 1 : a * b;
	return a + b > DM_RE_COST_MAX ? DM_RE_COST_MAX + 1 : a + b;
}

/*
 * The size of the tree glibc's regcomp builds for a sequence up to ')' or the end: it
 * copies the operand of every repetition, so nested repetitions multiply, and "((a+)+)+"
 * 30 deep takes minutes and gigabytes. Sets *stacked for a repetition of a repetition
 * ("a**"), which RE2 refuses too.
 */
static size_t dm_re_cost(const char **pp, unsigned depth, bool *stacked)
{
	const char *p = *pp;
	size_t total = 0;

	while (*p && *p != ')') {
		size_t atom = 1, mult;

		if (*p == '|') {
			p++;
			continue;
		}
		if (*p == '(') {
			p++;
			if (depth >= DOMAIN_RULE_MAX) {
				*pp = p + strlen(p);
				return DM_RE_COST_MAX + 1;
			}
			atom = dm_sat(1, dm_re_cost(&p, depth + 1, stacked), false);
			if (*p == ')')
				p++;
		} else if (*p == '[') {
			const char *e = dm_re_skip_bracket(p);

			p = e ? e : p + strlen(p);
		} else {
			p += *p == '\\' && p[1] ? 2 : 1;
		}
		for (bool first = true; dm_re_quant(&p, &mult); first = false) {
			*stacked |= !first;
			atom = dm_sat(atom, mult, true);
		}
		total = dm_sat(total, atom, false);
	}
	*pp = p;
	return total;
}

/*
 * Finds the longest run of literal characters that every match must contain, so lookups
 * can skip regexec when it is absent. Conservative: anything it does not understand ends
 * the run, and a doubt about the structure gives no literal at all. re has compiled.
 */
static size_t dm_re_literal(const char *re, char *best, size_t size)
{
	size_t run = 0, n = 0;
	char cur[DOMAIN_RULE_MAX];
	bool lit = false;	/* the previous atom is the last byte of cur */
	const char *p = re;

	if (strlen(re) >= sizeof(cur) || dm_re_top_alternation(re))
		return 0;
#define FLUSH() do { if (run > n && run < size) { memcpy(best, cur, run); n = run; } \
		     run = 0; lit = false; } while (0)
	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (c == '*' || c == '?' || c == '+' || c == '{') {
			bool optional = c != '+';

			if (c == '{') {
				const char *e = strchr(p, '}');

				if (!e)
					return 0;
				optional = !(p[1] >= '1' && p[1] <= '9');
				p = e + 1;
			} else {
				p++;
			}
			if (lit && optional)
				run--;
			FLUSH();
			continue;
		}
		if (c == '\\' && p[1] && !isalnum((unsigned char)p[1]) && !strchr("<>`'", p[1])) {
			cur[run++] = (char)tolower((unsigned char)p[1]);
			lit = true;
			p += 2;
			continue;
		}
		if (c == '\\' || c == '(' || c == '[' || c == '.' || c == '^' || c == '$' ||
		    c == ')' || c == '|') {
			FLUSH();
			if (c == '\\')
				p = p[1] ? p + 2 : p + 1;
			else if (c == '(' || c == '[')
				p = c == '(' ? dm_re_skip_group(p) : dm_re_skip_bracket(p);
			else
				p++;
			if (!p)
				return 0;
			continue;
		}
		cur[run++] = (char)tolower(c);
		lit = true;
		p++;
	}
	FLUSH();
#undef FLUSH
	best[n] = '\0';
	return n;
}

/* Compiles a regexp rule; *tr (if not NULL) receives the translated source to free. */
static int dm_re_compile(const char *src, regex_t *re, char **tr, char *err, size_t errlen)
{
	bool backref, stacked = false;
	size_t cost = 0;
	char *t = dm_re_translate(src, &backref);
	int rc;

	if (!t)
		return -ENOMEM;
	if (backref) {
		free(t);
		snprintf(err, errlen, "back-references are not supported");
		return -EINVAL;
	}
	for (const char *p = t; *p; p += *p == ')')	/* a stray ')' is an ordinary byte */
		cost = dm_sat(cost, dm_re_cost(&p, 0, &stacked), false);
	if (stacked || cost > DM_RE_COST_MAX) {
		free(t);
		snprintf(err, errlen, stacked ? "repetition of a repetition (as in \"a**\")" :
			 "too complex: its repetitions expand beyond %d nodes", DM_RE_COST_MAX);
		return -EINVAL;
	}
	rc = regcomp(re, t, REG_EXTENDED | REG_NOSUB | REG_ICASE);
	if (rc == 0 && tr)
		*tr = t;
	else
		free(t);
	if (rc == 0)
		return 0;
	if (rc == REG_ESPACE) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (errlen)
		regerror(rc, re, err, errlen);
	return -EINVAL;
}

int domain_regexp_check(const char *re, char *err, size_t errlen)
{
	regex_t r;
	int rc = dm_re_compile(re, &r, NULL, err, errlen);

	if (rc == 0)
		regfree(&r);
	return rc;
}

static int dm_regexp_add(struct domain_matcher *m, const char *src, uint16_t route, char *err,
			 size_t errlen)
{
	struct dm_regexp *r;
	char lit[DOMAIN_RULE_MAX], *tr;
	int rc;

	if (dm_grow((void **)&m->re, &m->re_cap, m->n_re + 1, sizeof(*m->re)))
		return -ENOMEM;
	r = &m->re[m->n_re];
	memset(r, 0, sizeof(*r));
	rc = dm_re_compile(src, &r->re, &tr, err, errlen);
	if (rc)
		return rc;
	r->lit_len = (uint16_t)dm_re_literal(tr, lit, sizeof(lit));
	free(tr);
	if (r->lit_len) {
		r->lit = strdup(lit);
		if (!r->lit) {
			regfree(&r->re);
			return -ENOMEM;
		}
	}
	if (!r->lit_len) {
		if (dm_grow((void **)&m->re_always, &m->always_cap, m->n_always + 1,
			    sizeof(*m->re_always))) {
			regfree(&r->re);
			return -ENOMEM;
		}
		m->re_always[m->n_always++] = (uint32_t)m->n_re;
	}
	r->route = route;
	m->n_re++;
	dm_ac_free(m->re_ac);
	m->re_ac = NULL;
	return 0;
}

static int dm_regexp_ac(const struct domain_matcher *m, struct dm_ac **out)
{
	struct dm_pattern *pats = malloc((m->n_re + 1) * sizeof(*pats));
	size_t n = 0, total = 0;
	int rc;

	if (!pats)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_re; i++) {
		if (!m->re[i].lit_len)
			continue;
		pats[n++] = (struct dm_pattern){ m->re[i].lit, m->re[i].lit_len, (uint32_t)i };
		total += m->re[i].lit_len;
	}
	rc = dm_ac_new(pats, n, total, out);
	free(pats);
	return rc;
}

static uint32_t dm_regexp_scan(const struct domain_matcher *m, const char *name, size_t len)
{
	for (size_t i = 0; i < m->n_re; i++) {
		const struct dm_regexp *r = &m->re[i];

		if (r->lit_len && !memmem(name, len, r->lit, r->lit_len))
			continue;
		if (regexec(&r->re, name, 0, NULL, 0) == 0)
			return (uint32_t)i;
	}
	return AC_NONE;
}

/*
 * Index of the first regexp that matches name, or AC_NONE. One pass of the literal
 * automaton collects the regexps whose literal occurs; only they and those without a
 * literal run, in order. Too many candidates (a list of near-identical regexps) fall
 * back to checking the literals one by one.
 */
static uint32_t dm_regexp_find(const struct domain_matcher *m, const char *name, size_t len)
{
	uint32_t cand[DM_CANDIDATES], s = 0;
	size_t nc = 0, i = 0, j = 0;

	if (!m->re_ac)
		return dm_regexp_scan(m, name, len);
	for (size_t p = 0; p < len; p++) {
		const struct dm_ac *ac = m->re_ac;

		s = dm_ac_next(ac, s, (uint8_t)name[p]);
		for (uint32_t t = ac->ids_start[s + 1] > ac->ids_start[s] ? s : ac->dict[s]; t;
		     t = ac->dict[t]) {
			for (uint32_t e = ac->ids_start[t]; e < ac->ids_start[t + 1]; e++) {
				if (nc == DM_CANDIDATES)
					return dm_regexp_scan(m, name, len);
				cand[nc++] = ac->ids[e];
			}
		}
	}
	for (size_t a = 1; a < nc; a++)		/* insertion sort: few and nearly sorted */
		for (size_t b = a; b > 0 && cand[b - 1] > cand[b]; b--) {
			uint32_t x = cand[b];

			cand[b] = cand[b - 1];
			cand[b - 1] = x;
		}
	while (i < nc || j < m->n_always) {
		uint32_t k = j == m->n_always || (i < nc && cand[i] < m->re_always[j]) ?
			     cand[i++] : m->re_always[j++];

		while (i < nc && cand[i] == k)	/* a literal found twice */
			i++;
		if (regexec(&m->re[k].re, name, 0, NULL, 0) == 0)
			return k;
	}
	return AC_NONE;
}

/* ---- the matcher ---- */

struct domain_matcher *domain_matcher_new(void)
{
	struct domain_matcher *m = calloc(1, sizeof(*m));
	uint64_t seed[2];

	if (!m)
		return NULL;
	m->n = N_MIN;
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		seed[0] = H_SEED_A ^ (uintptr_t)m;
		seed[1] = H_SEED_B ^ ((uintptr_t)m << 7);
	}
	m->seed_a = seed[0];
	m->seed_b = seed[1];
	if (dm_table_alloc(m->n, &m->slots, &m->homes)) {
		free(m);
		return NULL;
	}
	return m;
}

void domain_matcher_free(struct domain_matcher *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_re; i++) {
		regfree(&m->re[i].re);
		free(m->re[i].lit);
	}
	free(m->re);
	free(m->re_always);
	dm_ac_free(m->re_ac);
	dm_ac_free(m->ac);
	free(m->kw);
	free(m->kw_text);
	dm_table_free(m->slots, m->homes, m->n);
	free(m);
}

int domain_matcher_add(struct domain_matcher *m, const char *name, uint16_t route)
{
	return dm_table_add(m, name, false, route);
}

int domain_matcher_add_rule(struct domain_matcher *m, const struct domain_rule *r,
			    uint16_t route, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	switch (r->kind) {
	case DOMAIN_SUFFIX:
	case DOMAIN_FULL:
		return dm_table_add(m, r->text, r->kind == DOMAIN_FULL, route);
	case DOMAIN_KEYWORD:
		return dm_keyword_add(m, r->text, route);
	case DOMAIN_REGEXP:
		if (!r->text[0])
			return -EINVAL;
		return dm_regexp_add(m, r->text, route, err, errlen);
	case DOMAIN_KIND_COUNT:
		break;
	}
	return -EINVAL;
}

int domain_matcher_finish(struct domain_matcher *m)
{
	int rc = 0;

	if (!m->ac && m->n_kw)
		rc = dm_keyword_ac(m, &m->ac);
	if (!rc && !m->re_ac && m->n_re > m->n_always)
		rc = dm_regexp_ac(m, &m->re_ac);
	return rc;
}

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

size_t domain_matcher_count(const struct domain_matcher *m)
{
	return m->count + m->n_kw + m->n_re;
}

size_t domain_matcher_count_kind(const struct domain_matcher *m, enum domain_kind kind)
{
	switch (kind) {
	case DOMAIN_SUFFIX:
		return m->count - m->n_full;
	case DOMAIN_FULL:
		return m->n_full;
	case DOMAIN_KEYWORD:
		return m->n_kw;
	case DOMAIN_REGEXP:
		return m->n_re;
	case DOMAIN_KIND_COUNT:
		break;
	}
	return 0;
}

const char *domain_kind_name(enum domain_kind kind)
{
	static const char *const names[] = { "suffix", "full", "keyword", "regexp" };

	return (unsigned)kind < DOMAIN_KIND_COUNT ? names[kind] : "?";
}

/* ---- names and rules ---- */

static inline bool domain_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int domain_normalize_why(const char *in, char *out, size_t size, const char **why)
{
	const char *dummy;
	size_t len, label = 0;

	if (!why)
		why = &dummy;
	if (in[0] == '*' && in[1] == '.')
		in += 2;
	else if (in[0] == '.')
		in++;
	len = strnlen(in, DOMAIN_MAX + 2);
	if (len && in[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty name";
		return -EINVAL;
	}
	if (len > DOMAIN_MAX) {
		*why = "name longer than 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (!label) {
				*why = "empty label";
				return -EINVAL;
			}
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!domain_char_ok(c)) {
			*why = c == ' ' || c == '\t' ? "contains whitespace" : "invalid character";
			return -EINVAL;
		}
		if (++label > LABEL_MAX) {
			*why = "label longer than 63 bytes";
			return -EINVAL;
		}
	}
	if (!label) {
		*why = "empty label";
		return -EINVAL;
	}
	if (size < len + 1) {
		*why = "output buffer too small";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	*why = NULL;
	return 0;
}

int domain_normalize(const char *in, char *out, size_t size)
{
	return domain_normalize_why(in, out, size, NULL);
}

static int dm_keyword_normalize(const char *in, char *out, const char **why)
{
	size_t len = strnlen(in, DOMAIN_MAX + 1);

	if (len == 0) {
		*why = "empty keyword";
		return -EINVAL;
	}
	if (len > DOMAIN_MAX) {
		*why = "keyword longer than 253 bytes";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)in[i]);

		if (!domain_char_ok(c) && c != '.') {
			*why = c == ' ' || c == '\t' ? "contains whitespace" : "invalid character";
			return -EINVAL;
		}
		out[i] = (char)c;
	}
	out[len] = '\0';
	return 0;
}

int domain_rule_parse(const char *in, struct domain_rule *out, const char **why)
{
	static const struct {
		const char *prefix;
		enum domain_kind kind;
	} pfx[] = {
		{ "domain:", DOMAIN_SUFFIX }, { "full:", DOMAIN_FULL },
		{ "keyword:", DOMAIN_KEYWORD }, { "regexp:", DOMAIN_REGEXP },
	};
	const char *dummy, *text = in;
	size_t len;

	if (!why)
		why = &dummy;
	*why = NULL;
	out->kind = DOMAIN_SUFFIX;
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		len = strlen(pfx[i].prefix);
		if (!strncmp(in, pfx[i].prefix, len)) {
			out->kind = pfx[i].kind;
			text = in + len;
			break;
		}
	}
	if (text == in) {
		len = strspn(in, "abcdefghijklmnopqrstuvwxyz");
		if (len && in[len] == ':') {
			*why = "unknown rule type (use domain:, full:, keyword: or regexp:)";
			return -EINVAL;
		}
	}
	switch (out->kind) {
	case DOMAIN_FULL:
		if (text[0] == '*' || text[0] == '.') {
			*why = "full: takes an exact name";
			return -EINVAL;
		}
		/* fall through */
	case DOMAIN_SUFFIX:
		return domain_normalize_why(text, out->text, sizeof(out->text), why);
	case DOMAIN_KEYWORD:
		return dm_keyword_normalize(text, out->text, why);
	case DOMAIN_REGEXP:
		len = strlen(text);
		if (!len) {
			*why = "empty regexp";
			return -EINVAL;
		}
		if (len >= sizeof(out->text)) {
			*why = "regexp longer than 1023 bytes";
			return -EINVAL;
		}
		memcpy(out->text, text, len + 1);
		return 0;
	case DOMAIN_KIND_COUNT:
		break;
	}
	return -EINVAL;
}
