/*
 * Suffix matcher: one Robin Hood hash table of 8-byte slots over a string arena.
 *
 * Every rule name is stored once in the arena as [len byte][name bytes] (no NUL). A slot
 * holds the arena offset, the route, the probe sequence length and 8 hash bits. The hash
 * of a name is computed right to left, so one walk over a queried name yields the hash of
 * every suffix that starts at a label boundary; the lookup then probes longest first.
 *
 * Why this shape: 1M rules must fit in < 40 bytes each including names and load in well
 * under a second, and lookups run on the DNS path at millions per second. Slots are 8
 * bytes and the table stays between ~53% and 80% full (grown by 1.5x), so the index costs
 * 10-15 bytes per rule; the arena costs the name length + 1. The table has PSL_MAX spare
 * slots at its end instead of wrapping around, and home positions come from a multiply
 * ("fastrange") so its size need not be a power of two.
 *
 * Lookups only read, so any number of threads may look up while nobody adds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "domain.h"

#define DOMAIN_MAX 253		/* presentation length without trailing dot */
#define LABEL_MAX 63
#define SUFFIX_MAX 128		/* 253 bytes hold at most 127 non-empty labels */
#define PSL_MAX 255		/* psl is stored in a byte; 0 means empty */
#define TAIL (PSL_MAX + 1)	/* spare slots after the last home position */
#define N_MIN 64
#define LOAD_NUM 4		/* grow beyond 4/5 full */
#define LOAD_DEN 5
#define REBUILD_AHEAD 16	/* slots */

#define H_SEED 0xcbf29ce484222325ULL
#define H_MUL 0x9e3779b97f4a7c15ULL

struct dm_slot {
	uint32_t off;		/* arena offset of [len][name] */
	uint16_t route;
	uint8_t psl;		/* 1 + distance from the home slot; 0 = empty */
	uint8_t tag;		/* low hash bits: most mismatches never touch the arena */
};

struct domain_matcher {
	struct dm_slot *slots;	/* n + TAIL entries */
	uint32_t n;		/* number of home positions */
	uint64_t seed;		/* a list crafted to collide must not make loading fail */
	size_t count;
	unsigned char *arena;
	size_t arena_len, arena_cap;
};

/* One step of the right-to-left hash; see dm_hash_final for the finish. */
static inline uint64_t dm_hash_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * H_MUL;
}

/* murmur3's fmix64 finalizer: the step function alone mixes high bits poorly. */
static inline uint64_t dm_hash_final(uint64_t h, size_t len)
{
	h += len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t dm_hash(const struct domain_matcher *m, const char *s, size_t len)
{
	uint64_t h = m->seed;

	for (size_t i = len; i-- > 0;)
		h = dm_hash_step(h, (unsigned char)s[i]);
	return dm_hash_final(h, len);
}

static inline uint32_t dm_home(uint64_t h, uint32_t n)
{
	return (uint32_t)(((h >> 32) * (uint64_t)n) >> 32);
}

static inline bool dm_name_eq(const struct domain_matcher *m, uint32_t off, const char *s,
			      size_t len)
{
	const unsigned char *a = m->arena + off;

	return a[0] == len && memcmp(a + 1, s, len) == 0;
}

/* Index of the slot holding s, or -1. */
static long dm_find(const struct domain_matcher *m, const char *s, size_t len, uint64_t h)
{
	size_t pos = dm_home(h, m->n);
	uint8_t tag = (uint8_t)h;

	for (unsigned psl = 1; psl <= PSL_MAX; psl++, pos++) {
		const struct dm_slot *sl = &m->slots[pos];

		if (sl->psl < psl)
			return -1;
		if (sl->psl == psl && sl->tag == tag && dm_name_eq(m, sl->off, s, len))
			return (long)pos;
	}
	return -1;
}

/*
 * Robin Hood insertion by shifting: the new slot goes where its psl first exceeds the
 * resident's, and the run up to the next empty slot moves one step right. Checks first
 * that no psl would overflow, so on -E2BIG the table is unchanged and the caller grows it.
 */
static int dm_place(struct dm_slot *t, uint32_t home, struct dm_slot in)
{
	size_t p = home, e;
	unsigned psl = 1;

	while (t[p].psl >= psl) {
		if (++psl > PSL_MAX)
			return -E2BIG;
		p++;
	}
	for (e = p; t[e].psl != 0; e++)
		if (t[e].psl == PSL_MAX)
			return -E2BIG;
	memmove(&t[p + 1], &t[p], (e - p) * sizeof(*t));
	for (size_t i = p + 1; i <= e; i++)
		t[i].psl++;
	in.psl = (uint8_t)psl;
	t[p] = in;
	return 0;
}

static int dm_rebuild(struct domain_matcher *m, uint32_t n)
{
	struct dm_slot *t;

	for (;;) {
		size_t i, total = (size_t)m->n + TAIL;

		t = calloc((size_t)n + TAIL, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (i = 0; i < total; i++) {
			const struct dm_slot *sl = &m->slots[i];
			const unsigned char *a;

			/* Old slots are in hash order, names in insertion order: fetch ahead. */
			if (i + REBUILD_AHEAD < total && sl[REBUILD_AHEAD].psl)
				__builtin_prefetch(m->arena + sl[REBUILD_AHEAD].off);
			if (!sl->psl)
				continue;
			a = m->arena + sl->off;
			if (dm_place(t, dm_home(dm_hash(m, (const char *)a + 1, a[0]), n), *sl))
				break;
		}
		if (i == total)
			break;
		/* A pathological cluster: try a larger table rather than fail. */
		free(t);
		if (n > UINT32_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	free(m->slots);
	m->slots = t;
	m->n = n;
	return 0;
}

static uint32_t dm_next_n(uint32_t n)
{
	uint64_t next = (uint64_t)n + n / 2;

	return next > UINT32_MAX - TAIL ? 0 : (uint32_t)next;
}

static int dm_arena_reserve(struct domain_matcher *m, size_t need)
{
	size_t cap = m->arena_cap;
	unsigned char *a;

	if (m->arena_len + need <= cap)
		return 0;
	while (m->arena_len + need > cap)
		cap = cap ? cap + cap / 2 : 4096;
	if (cap > UINT32_MAX)
		return -ENOMEM;	/* offsets are 32-bit: ~200M names */
	a = realloc(m->arena, cap);
	if (!a)
		return -ENOMEM;
	m->arena = a;
	m->arena_cap = cap;
	return 0;
}

struct domain_matcher *domain_matcher_new(void)
{
	struct domain_matcher *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->n = N_MIN;
	if (getrandom(&m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed))
		m->seed = H_SEED ^ (uintptr_t)m;
	m->slots = calloc((size_t)m->n + TAIL, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void domain_matcher_free(struct domain_matcher *m)
{
	if (!m)
		return;
	free(m->arena);
	free(m->slots);
	free(m);
}

int domain_matcher_add(struct domain_matcher *m, const char *name, uint16_t route)
{
	size_t len = strnlen(name, DOMAIN_MAX + 1);
	uint64_t h;
	struct dm_slot in;
	long pos;
	int rc;

	if (len == 0 || len > DOMAIN_MAX)
		return -EINVAL;
	h = dm_hash(m, name, len);
	pos = dm_find(m, name, len, h);
	if (pos >= 0) {
		m->slots[pos].route = route;
		return 0;
	}
	if ((uint64_t)(m->count + 1) * LOAD_DEN > (uint64_t)m->n * LOAD_NUM) {
		uint32_t n = dm_next_n(m->n);

		if (!n || dm_rebuild(m, n))
			return -ENOMEM;
	}
	rc = dm_arena_reserve(m, len + 1);
	if (rc)
		return rc;
	in = (struct dm_slot){ .off = (uint32_t)m->arena_len, .route = route, .tag = (uint8_t)h };
	while (dm_place(m->slots, dm_home(h, m->n), in)) {
		uint32_t n = dm_next_n(m->n);

		if (!n || dm_rebuild(m, n))
			return -ENOMEM;
	}
	m->arena[m->arena_len] = (unsigned char)len;
	memcpy(m->arena + m->arena_len + 1, name, len);
	m->arena_len += len + 1;
	m->count++;
	return 0;
}

int domain_matcher_lookup(const struct domain_matcher *m, const char *name, size_t *match_len)
{
	uint64_t hs[SUFFIX_MAX];
	uint16_t lens[SUFFIX_MAX];
	size_t len = strlen(name), ns = 0, stop;
	uint64_t h = m->seed;

	if (!m->count)
		return -ENOENT;
	/*
	 * Walk right to left; at each label start record the hash of the suffix from there.
	 * Suffixes that start with an empty label or exceed DOMAIN_MAX cannot be rules, so
	 * the walk ends DOMAIN_MAX + 1 bytes from the right however long the name is.
	 */
	stop = len > DOMAIN_MAX + 1 ? len - DOMAIN_MAX - 1 : 0;
	for (size_t i = len; i-- > stop;) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			size_t sl = len - i - 1;

			if (sl && name[i + 1] != '.' && ns < SUFFIX_MAX) {
				hs[ns] = dm_hash_final(h, sl);
				lens[ns++] = (uint16_t)sl;
			}
		}
		h = dm_hash_step(h, c);
	}
	if (len && len <= DOMAIN_MAX && name[0] != '.' && ns < SUFFIX_MAX) {
		hs[ns] = dm_hash_final(h, len);
		lens[ns++] = (uint16_t)len;
	}
	/* Start all the likely cache misses at once, then probe longest first. */
	for (size_t k = 0; k < ns; k++)
		__builtin_prefetch(&m->slots[dm_home(hs[k], m->n)]);
	for (size_t k = ns; k-- > 0;) {
		long pos = dm_find(m, name + len - lens[k], lens[k], hs[k]);

		if (pos >= 0) {
			if (match_len)
				*match_len = lens[k];
			return m->slots[pos].route;
		}
	}
	return -ENOENT;
}

size_t domain_matcher_count(const struct domain_matcher *m)
{
	return m->count;
}

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
