#ifndef NFQR_NFTEXPR_H
#define NFQR_NFTEXPR_H

#include <stdbool.h>
#include <stdio.h>

#include <libnftnl/rule.h>

#include "nftplan.h"

/*
 * Appends the libnftnl expressions of one plan statement to r. native selects the nft
 * `queue` expression over the xtables NFQUEUE target (nft_compat). Sets are referenced by
 * name and by their batch id (index in the plan + 1). Returns 0, -ENOMEM or -EINVAL.
 */
int nftexpr_stmt_add(struct nftnl_rule *r, const struct plan *p, const struct plan_stmt *s,
		     bool native);

#endif
