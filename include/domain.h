#ifndef NFQR_DOMAIN_H
#define NFQR_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

struct domain_matcher;

/* Creates an empty suffix matcher; returns NULL on allocation failure. */
struct domain_matcher *domain_matcher_new(void);

/* Frees the matcher and all its names; accepts NULL. */
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
 * Adds a suffix rule: name and every subdomain of it map to route. name must already
 * be normalized. Adding a name twice keeps the later route. Returns 0, -EINVAL for an
 * empty name or -ENOMEM.
 */
int domain_matcher_add(struct domain_matcher *m, const char *name, uint16_t route);

/*
 * Finds the longest configured suffix of name (normalized, as dns_parse_reply writes
 * names) on label boundaries. Returns the route and stores the matched suffix length in
 * *match_len (if not NULL), or -ENOENT. Does not allocate; safe for concurrent readers.
 */
int domain_matcher_lookup(const struct domain_matcher *m, const char *name, size_t *match_len);

/* Number of distinct names in the matcher. */
size_t domain_matcher_count(const struct domain_matcher *m);

#endif
