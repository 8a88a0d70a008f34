#ifndef NFQR_DLIST_H
#define NFQR_DLIST_H

#include <stddef.h>
#include <stdint.h>

#include "domain.h"

#define DLIST_SAMPLES 3

/* What loading one list did, for `nfqroute check` and the log. */
struct dlist_stats {
	size_t loaded;			/* rules added */
	size_t skipped;			/* lines that were neither rules, comments nor blank */
	size_t n_samples;
	struct {
		unsigned line;
		char why[96];
	} samples[DLIST_SAMPLES];	/* the first few skipped lines */
};

/*
 * Loads a plain domain list (one domain per line, '#' comments, blank lines) from path
 * into m as suffix rules for route. Invalid lines are counted in *st and skipped, never
 * fatal. Returns 0, or -errno when the file cannot be read (message in err).
 */
int dlist_load(const char *path, struct domain_matcher *m, uint16_t route,
	       struct dlist_stats *st, char *err, size_t errlen);

#endif
