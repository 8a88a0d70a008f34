#ifndef NFQR_NETSET_H
#define NFQR_NETSET_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* One address range [lo, hi] (inclusive, network byte order) and who owns it. */
struct netset_range {
	uint8_t lo[16], hi[16];
	int route;
};

/* A prefix tagged with the route that listed it. */
struct netset_prefix {
	struct conf_prefix p;
	int route;
};

/*
 * Flattens possibly nested prefixes of one family into sorted, non-overlapping ranges in
 * which every address belongs to the route of the longest prefix that covers it, merging
 * neighbours of the same route. This is what a kernel interval map can hold, and it makes
 * "longest prefix wins across routes" hold in the kernel. in is reordered. Returns the
 * number of ranges written to *out (caller frees), or -ENOMEM / -EEXIST (the same prefix
 * for two routes; *dup_a and *dup_b then name the two entries).
 */
int netset_flatten(struct netset_prefix *in, size_t n, uint8_t family,
		   struct netset_range **out, size_t *dup_a, size_t *dup_b);

/* The addresses p covers, as a range (route left 0). */
void netset_prefix_range(const struct conf_prefix *p, struct netset_range *out);

/* Clears the host bits of p (prefix length p->len). */
void netset_prefix_mask(struct conf_prefix *p);

#endif
