/*
 * Longest-prefix-match flattening for kernel interval maps: nftables interval sets do not
 * accept overlapping elements, so nested prefixes of different routes are turned into
 * disjoint ranges that each carry the route of the most specific prefix.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netset.h"

#define NETSET_DEPTH 129	/* at most one prefix per length is open at a time */

static size_t addr_width(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

void netset_prefix_mask(struct conf_prefix *p)
{
	size_t w = addr_width(p->addr.family);

	for (size_t i = 0; i < w; i++) {
		unsigned bits = p->len > i * 8 ? p->len - (unsigned)i * 8 : 0;

		if (bits < 8)
			p->addr.a[i] &= (uint8_t)(0xff00u >> bits);
	}
}

static void prefix_end(const struct conf_prefix *p, size_t w, uint8_t *end)
{
	memcpy(end, p->addr.a, w);
	for (size_t i = 0; i < w; i++) {
		unsigned bits = p->len > i * 8 ? p->len - (unsigned)i * 8 : 0;

		if (bits < 8)
			end[i] |= (uint8_t)(0xffu >> bits);
	}
}

void netset_prefix_range(const struct conf_prefix *p, struct netset_range *out)
{
	size_t w = addr_width(p->addr.family);

	memset(out, 0, sizeof(*out));
	memcpy(out->lo, p->addr.a, w);
	prefix_end(p, w, out->hi);
}

/* a += 1; returns true on overflow past the last address */
static bool addr_inc(uint8_t *a, size_t w)
{
	for (size_t i = w; i-- > 0;)
		if (++a[i] != 0)
			return false;
	return true;
}

static void addr_dec(uint8_t *a, size_t w)
{
	for (size_t i = w; i-- > 0;)
		if (a[i]-- != 0)
			return;
}

static int prefix_cmp(const void *x, const void *y)
{
	const struct netset_prefix *a = x, *b = y;
	int c = memcmp(a->p.addr.a, b->p.addr.a, 16);

	if (c)
		return c;
	return (int)a->p.len - (int)b->p.len;
}

struct flat {
	size_t w, n, cap;
	struct netset_range *r;
};

/* Appends [lo, hi] for route, merging with the previous range when they touch. */
static int flat_emit(struct flat *f, const uint8_t *lo, const uint8_t *hi, int route)
{
	if (memcmp(lo, hi, f->w) > 0)
		return 0;
	if (f->n > 0 && f->r[f->n - 1].route == route) {
		uint8_t next[16];

		memcpy(next, f->r[f->n - 1].hi, f->w);
		if (!addr_inc(next, f->w) && memcmp(next, lo, f->w) == 0) {
			memcpy(f->r[f->n - 1].hi, hi, f->w);
			return 0;
		}
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct netset_range *r = realloc(f->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		f->r = r;
		f->cap = cap;
	}
	memset(&f->r[f->n], 0, sizeof(f->r[f->n]));
	memcpy(f->r[f->n].lo, lo, f->w);
	memcpy(f->r[f->n].hi, hi, f->w);
	f->r[f->n++].route = route;
	return 0;
}

/* Closes the innermost open prefix: emits what is left of it after the cursor. */
static int flat_pop(struct flat *f, const struct netset_prefix **stack, size_t *depth,
		    uint8_t *cursor, bool *done)
{
	const struct netset_prefix *top = stack[--*depth];
	uint8_t end[16];
	int ret;

	prefix_end(&top->p, f->w, end);
	ret = flat_emit(f, cursor, end, top->route);
	memcpy(cursor, end, f->w);
	if (addr_inc(cursor, f->w))
		*done = true;	/* reached the last address: nothing can follow */
	return ret;
}

static int flat_run(struct flat *f, const struct netset_prefix *in, size_t n)
{
	const struct netset_prefix *stack[NETSET_DEPTH];
	uint8_t cursor[16] = { 0 }, end[16], before[16];
	size_t depth = 0;
	bool done = false;
	int ret = 0;

	for (size_t i = 0; i < n && !ret && !done; i++) {
		const uint8_t *start = in[i].p.addr.a;

		while (depth > 0 && !ret && !done) {
			prefix_end(&stack[depth - 1]->p, f->w, end);
			if (memcmp(end, start, f->w) >= 0)
				break;
			ret = flat_pop(f, stack, &depth, cursor, &done);
		}
		if (depth > 0 && memcmp(start, cursor, f->w) > 0) {
			memcpy(before, start, f->w);
			addr_dec(before, f->w);
			ret = ret ? ret : flat_emit(f, cursor, before, stack[depth - 1]->route);
		}
		memcpy(cursor, start, f->w);
		stack[depth++] = &in[i];
	}
	while (depth > 0 && !ret && !done)
		ret = flat_pop(f, stack, &depth, cursor, &done);
	return ret;
}

int netset_flatten(struct netset_prefix *in, size_t n, uint8_t family,
		   struct netset_range **out, size_t *dup_a, size_t *dup_b)
{
	struct flat f = { .w = addr_width(family) };
	size_t k = 0;
	int ret;

	*out = NULL;
	qsort(in, n, sizeof(*in), prefix_cmp);
	/* identical prefixes: the same route twice is fine, two routes is a conflict */
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && prefix_cmp(&in[k - 1], &in[i]) == 0) {
			if (in[k - 1].route != in[i].route) {
				*dup_a = k - 1;
				*dup_b = i;
				return -EEXIST;
			}
			continue;
		}
		in[k++] = in[i];
	}
	ret = flat_run(&f, in, k);
	if (ret) {
		free(f.r);
		return ret;
	}
	*out = f.r;
	return (int)f.n;
}
