#ifndef NFQR_NFTRULES_H
#define NFQR_NFTRULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

#define NFTRULES_TABLE "nfqroute"

/* How packets reach the queue: the nft `queue` expression, or the xtables NFQUEUE
 * target through nft_compat on kernels built without CONFIG_NFT_QUEUE. */
enum nftrules_queue_path { NFTRULES_QUEUE_NATIVE, NFTRULES_QUEUE_COMPAT };

/* Returns "native" or "compat (xt NFQUEUE)". */
const char *nftrules_queue_path_name(enum nftrules_queue_path path);

/*
 * Builds the whole `inet nfqroute` table for c into buf as one nfnetlink batch (begin,
 * new table, delete table, new table, chains, rules, end), so that applying it replaces
 * any previous version atomically. Sequence numbers start at seq. Returns the batch
 * length, or -ENOSPC when buf is too small / -ENOMEM.
 */
int nftrules_batch_build(const struct conf *c, enum nftrules_queue_path path, uint32_t seq,
			 void *buf, size_t size);

struct nftstate;

/*
 * The same over a table the kernel already has (st, from nftstate_read): new table (a
 * no-op when it exists), one table-wide rule delete, a delete of each set, of each regular
 * chain and of each base chain c's ruleset no longer has, then chains, sets and rules.
 * The base chains that stay are never deleted, so their hooks stay registered and queued
 * packets are not dropped. What nftrules_install sends.
 */
int nftrules_batch_build_over(const struct conf *c, const struct nftstate *st,
			      enum nftrules_queue_path path, uint32_t seq, void *buf, size_t size);

/*
 * Installs (or atomically replaces) the ruleset for c. Tries the native queue expression
 * first and falls back to the compat target when the kernel rejects it; *used tells which
 * one is in place. Returns 0 or -errno with a message in err; on failure the previous
 * ruleset, if any, is unchanged.
 */
int nftrules_install(const struct conf *c, enum nftrules_queue_path *used, char *err,
		     size_t errlen);

/*
 * On stop: replaces the table with what routes with keep-blackhole = yes keep (see
 * nftplan_build_kept), or deletes it when none does. Returns 0 or -errno.
 */
int nftrules_install_kept(const struct conf *c, char *err, size_t errlen);

/* Deletes the `inet nfqroute` table. A missing table is not an error. Returns 0 or -errno. */
int nftrules_remove(char *err, size_t errlen);

/* Writes the ruleset for c as `nft -f` text, in the layout `nft list table` prints. */
void nftrules_print(const struct conf *c, FILE *out);

#endif
