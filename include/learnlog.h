#ifndef NFQR_LEARNLOG_H
#define NFQR_LEARNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "pkt.h"

/*
 * A bounded history of when and from which resolver addresses were learned, for
 * `nfqroute why`. The address table itself stays small; this ring keeps the most recent
 * events only (older ones are overwritten), with all memory reserved at creation.
 */
struct learnlog;

struct learnlog_entry {
	struct pkt_addr addr;	/* the learned address */
	struct pkt_addr from;	/* the resolver that answered; family 0 for a refresh lookup */
	time_t when;		/* wall clock */
};

/* Creates a history of n events; NULL on failure. */
struct learnlog *learnlog_new(size_t n);

/* Frees it; accepts NULL. */
void learnlog_free(struct learnlog *l);

/* Records that addr was learned at when from resolver from (NULL: a refresh lookup).
 * Constant time, no allocation: safe on the packet path. */
void learnlog_add(struct learnlog *l, const struct pkt_addr *addr, const struct pkt_addr *from,
		  time_t when);

/* Finds the most recent event for addr; returns 0 and fills *out, or -ENOENT. */
int learnlog_find(const struct learnlog *l, const struct pkt_addr *addr,
		  struct learnlog_entry *out);

#endif
