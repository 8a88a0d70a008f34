#ifndef NFQR_DOMAIN_INT_H
#define NFQR_DOMAIN_INT_H

/*
 * What the pieces of the domain matcher share: src/domain.c (rules, names, the matcher's
 * lifecycle), src/domain_table.c (the fingerprint hash table and lookups) and
 * src/domain_kw.c (keywords, regexps and their automata). Not for other modules.
 */

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"

#define DOMAIN_MAX 253		/* presentation length without trailing dot */
#define AC_NONE UINT32_MAX

/* A slot: route in bits 0-15, psl in 16-22, then the tag: full-rule bit, fingerprint. */
typedef uint64_t dm_slot;

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

struct dm_ac;			/* an Aho-Corasick automaton, private to domain_kw.c */

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

/* ---- domain_table.c ---- */

/*
 * Allocates an empty table of n home positions (plus the spare tail) into *t and *homes.
 * Returns 0, or -ENOMEM with nothing allocated.
 */
int dm_table_alloc(uint32_t n, dm_slot **t, uint32_t **homes);

/* Frees a table that dm_table_alloc made with the same n. */
void dm_table_free(dm_slot *t, uint32_t *homes, uint32_t n);

/*
 * Adds a full rule (full is true) or a suffix rule for the normalized name, or changes the
 * route of the same rule already present; grows the table as needed. Returns 0, -EINVAL
 * for a name that could never match, or -ENOMEM (the rule is not added).
 */
int dm_table_add(struct domain_matcher *m, const char *name, bool full, uint16_t route);

/* ---- domain_kw.c ---- */

/* Frees an automaton; accepts NULL. */
void dm_ac_free(struct dm_ac *ac);

/*
 * Appends a keyword (already normalized) and drops the keyword automaton until the next
 * domain_matcher_finish. Returns 0, -EINVAL (empty or longer than DOMAIN_MAX) or -ENOMEM.
 */
int dm_keyword_add(struct domain_matcher *m, const char *word, uint16_t route);

/*
 * Index of the first keyword (in add order) that name (len bytes) contains, or AC_NONE;
 * uses the automaton when domain_matcher_finish built it, else searches one by one.
 */
uint32_t dm_keyword_find(const struct domain_matcher *m, const char *name, size_t len);

/*
 * Compiles and appends a regexp rule (see domain_matcher_add_rule) and drops the literal
 * automaton until the next domain_matcher_finish. Returns 0, -EINVAL with the reason in
 * err, or -ENOMEM; on failure no rule is added.
 */
int dm_regexp_add(struct domain_matcher *m, const char *src, uint16_t route, char *err,
		  size_t errlen);

/*
 * Index of the first regexp (in add order) that matches name (len bytes), or AC_NONE.
 * Runs regexec only on regexps whose literal occurs in name or that have none.
 */
uint32_t dm_regexp_find(const struct domain_matcher *m, const char *name, size_t len);

#endif
