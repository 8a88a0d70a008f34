#ifndef NFQR_POLICY_H
#define NFQR_POLICY_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"
#include "dlist.h"
#include "pkt.h"

#define POLICY_EXTRA_BYPASS 8	/* addresses learned at run time (tunnel endpoints) */

/*
 * A configuration compiled for decisions: the domain matcher filled from `domains` and
 * every `domain-list`, plus per-route exclusions. Immutable once built, except for the
 * run-time endpoint list, so a reload builds a new one and swaps it.
 */
struct policy;

/*
 * Builds a policy from c, taking ownership of c (freed by policy_free, also on failure).
 * Loads every domain list; lines that are not domains are counted, never fatal. Returns
 * 0 or -errno with a message in err (e.g. a list that cannot be read).
 */
int policy_new(struct conf *c, struct policy **out, char *err, size_t errlen);

/* Frees the policy and its configuration; accepts NULL. */
void policy_free(struct policy *p);

/* The configuration the policy was built from. */
const struct conf *policy_conf(const struct policy *p);

/*
 * The route for a domain name (normalized), decided as domain_matcher_lookup does: a full
 * rule, else the longest suffix, else the first keyword, else the first regexp. Stores the
 * matched name length in *match_len (may be NULL; 0 for keyword and regexp matches).
 * Returns the route index, DOMAIN_ROUTE_DIRECT for a list exception (leave unmarked), or
 * -ENOENT.
 */
int policy_route_of_name(const struct policy *p, const char *name, size_t *match_len);

/*
 * What decides name, for `nfqroute why` and logs: the route (maybe DOMAIN_ROUTE_DIRECT,
 * which is no index into the configuration's routes), the kind of rule and the matched
 * length (see domain_matcher_match). Returns 0 or -ENOENT.
 */
int policy_match_name(const struct policy *p, const char *name, struct domain_match *out);

/*
 * True when dst must never enter route idx: the route's gateway, a configured endpoint,
 * or a tunnel endpoint found at run time. Sending those into the route would loop.
 */
bool policy_route_excludes(const struct policy *p, int idx, const struct pkt_addr *dst);

/* Adds a run-time exclusion (a tunnel endpoint) to route idx; duplicates are ignored.
 * Returns 0 or -ENOSPC. */
int policy_route_exclude_add(struct policy *p, int idx, const struct pkt_addr *addr);

/* Number of domain rules loaded, of all kinds. */
size_t policy_rule_count(const struct policy *p);

/*
 * A route index as users read it: the route's name, "direct" for a list exception
 * (DOMAIN_ROUTE_DIRECT), "(stale)" for an index the configuration no longer has, NULL for
 * a negative index (no route).
 */
const char *policy_route_name(const struct policy *p, int route);

/*
 * Prints what `nfqroute check` reports: the matching order, routes, rule counts by kind,
 * and per list its format, rules loaded, skipped entries by reason and the first few.
 */
void policy_print_summary(const struct policy *p, FILE *out);

/*
 * Hands fn (prio LOG_WARNING) every warning about p: those of its configuration
 * (conf->warnings: host bits set in a prefix, keys ignored with table = main) and a domain
 * list that gave no rule at all ("FILE: no rule read from N lines; is format = right?
 * (detected format would be X)"). For `nfqroute check`, and for the daemon's log after
 * each policy_new (start and reload). Does not look at the host (see conf_host_check).
 */
void policy_warnings(const struct policy *p, conf_warn_fn fn, void *ctx);

#endif
