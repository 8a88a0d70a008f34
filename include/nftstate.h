#ifndef NFQR_NFTSTATE_H
#define NFQR_NFTSTATE_H

#include <stdbool.h>
#include <stddef.h>

/* What the kernel has in one inet table: its chains (base or regular) and sets by name. */
struct nftstate_chain {
	char name[256];
	bool base;		/* has a hook */
};

struct nftstate {
	const char *table;
	size_t n_chains, n_sets;
	struct nftstate_chain *chains;
	char (*sets)[256];
};

/*
 * Reads the chains and sets of table inet `table` (two netlink dumps). A missing table
 * reads as empty. Returns 0, or -errno (st is then empty). Free with nftstate_free.
 */
int nftstate_read(const char *table, struct nftstate *st);

/* Frees what nftstate_read allocated; accepts an empty or zeroed st. */
void nftstate_free(struct nftstate *st);

#endif
