#ifndef NFQR_DOMAIN_H
#define NFQR_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The route of rules that make an exception without a configured route (gfwlist "@@"):
 * classify leaves such flows unmarked, as for a route with table = main. Route indexes
 * stay far below it (the rule priorities leave room for at most 31766 routes), and
 * UINT16_MAX itself means "all routes" to addrmap_clear.
 */
#define DOMAIN_ROUTE_DIRECT (UINT16_MAX - 1)

#define DOMAIN_RULE_MAX 1024	/* longest rule text (a regexp source) including the NUL */

/*
 * Kinds of rules, in the order in which they decide (see domain_matcher_match): a full
 * rule equal to the name, then the longest suffix rule, then the first keyword, then the
 * first regexp.
 */
enum domain_kind {
	DOMAIN_SUFFIX,		/* NAME or domain:NAME: the name and all its subdomains */
	DOMAIN_FULL,		/* full:NAME: exactly the name */
	DOMAIN_KEYWORD,		/* keyword:WORD: names that contain WORD */
	DOMAIN_REGEXP,		/* regexp:RE: names an extended regular expression matches */
	DOMAIN_KIND_COUNT
};

/* A rule as written in the configuration or a list, parsed and normalized. */
struct domain_rule {
	enum domain_kind kind;
	char text[DOMAIN_RULE_MAX];	/* normalized name or keyword, or the regexp source */
};

/* What decided a lookup. */
struct domain_match {
	uint16_t route;
	enum domain_kind kind;
	size_t len;		/* suffix/full: length of the matched name; keyword: of the word;
				 * regexp: 0 */
	size_t index;		/* keyword/regexp: position among the rules of its kind, in the
				 * order they were added; 0 otherwise */
};

struct domain_matcher;

/* Creates an empty matcher; returns NULL on allocation failure. */
struct domain_matcher *domain_matcher_new(void);

/* Frees the matcher and all its rules; accepts NULL. */
void domain_matcher_free(struct domain_matcher *m);

/*
 * Normalizes a domain as written by a user or a list: lowercase, leading "*." or "."
 * and trailing "." removed. Checks labels (1-63 bytes of [a-z0-9-_], total <= 253).
 * Writes the result to out (size >= 254). Returns 0, or -EINVAL with nothing written.
 */
int domain_normalize(const char *in, char *out, size_t size);

/*
 * domain_normalize that also explains a rejection: on -EINVAL *why (if why is not NULL)
 * points to a constant text such as "empty label" or "invalid character"; on success it
 * is set to NULL. For list loaders and `nfqroute check` messages.
 */
int domain_normalize_why(const char *in, char *out, size_t size, const char **why);

/*
 * Parses one rule: NAME or domain:NAME (suffix), full:NAME, keyword:WORD or regexp:RE.
 * Names are normalized as by domain_normalize (a full: name takes no leading "*." or
 * "."); a keyword is lowercased and may hold [a-z0-9-_.] (1-253 bytes); a regexp is kept
 * as written (1-1023 bytes) and only compiled by domain_matcher_add_rule or
 * domain_regexp_check. Returns 0, or -EINVAL with *why (if not NULL) set to a constant
 * text.
 */
int domain_rule_parse(const char *in, struct domain_rule *out, const char **why);

/*
 * Checks that re compiles as a regexp rule would (see domain_matcher_add_rule). Returns 0,
 * -EINVAL with regerror's text in err, or -ENOMEM.
 */
int domain_regexp_check(const char *re, char *err, size_t errlen);

/*
 * Adds a suffix rule: name and every subdomain of it map to route. name must already
 * be normalized. Adding a name twice keeps the later route. Returns 0, -EINVAL for a
 * name that could never match (empty, an empty label, longer than 253 bytes) or -ENOMEM.
 */
int domain_matcher_add(struct domain_matcher *m, const char *name, uint16_t route);

/*
 * Adds a parsed rule (see domain_rule_parse). Full and suffix rules for the same name are
 * separate rules; adding the same full or suffix rule again keeps the later route. A
 * keyword or regexp added again is kept but never decides: the first one wins. Regexps
 * are compiled with regcomp(REG_EXTENDED | REG_NOSUB | REG_ICASE) after rewriting the
 * Perl classes \d \D \w \W \s \S that lists written for v2ray use. Returns 0, -EINVAL
 * (invalid rule; for a regexp regerror's text in err) or -ENOMEM.
 */
int domain_matcher_add_rule(struct domain_matcher *m, const struct domain_rule *r,
			    uint16_t route, char *err, size_t errlen);

/*
 * Prepares the matcher for fast lookups once all rules are added: builds the automata
 * over the keywords and over the literals of the regexps, so that a lookup reads the
 * name once for all keywords and once for all regexps. Lookups are correct without it
 * (keywords and literals are then searched one by one) and adding rules afterwards is
 * allowed (call it again). Returns 0 or -ENOMEM (the matcher stays usable).
 */
int domain_matcher_finish(struct domain_matcher *m);

/*
 * Decides name (normalized, as dns_parse_reply writes names): a full rule equal to name,
 * else the longest suffix rule on a label boundary, else the first keyword (in the order
 * added) that name contains, else the first regexp that matches name. Returns 0 and fills
 * *out, or -ENOENT. Safe for concurrent readers. Allocates nothing itself; regexec, which
 * may, runs only for regexp rules and only when no other rule decided.
 */
int domain_matcher_match(const struct domain_matcher *m, const char *name,
			 struct domain_match *out);

/*
 * domain_matcher_match reduced to the route: returns it (or -ENOENT) and stores in
 * *match_len (if not NULL) the length of the matched full or suffix name, or 0 for a
 * keyword or regexp match, so that any name match outranks them when names are compared.
 */
int domain_matcher_lookup(const struct domain_matcher *m, const char *name, size_t *match_len);

/* Number of distinct full and suffix rules plus the number of keywords and regexps. */
size_t domain_matcher_count(const struct domain_matcher *m);

/* Number of rules of one kind (full and suffix rules counted once per name). */
size_t domain_matcher_count_kind(const struct domain_matcher *m, enum domain_kind kind);

/* "suffix", "full", "keyword" or "regexp". */
const char *domain_kind_name(enum domain_kind kind);

#endif
