#ifndef NFQR_ADDRMAP_H
#define NFQR_ADDRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct addrmap;

/* A learned mapping as returned by lookups; name points into the map (valid until the
 * next insert). */
struct addrmap_entry {
	uint16_t route;
	uint64_t expires_ms;	/* monotonic milliseconds */
	const char *name;
};

/*
 * Creates a table for at most max_entries addresses, all memory reserved up front so that
 * inserts and lookups never allocate: about 40 bytes per entry for the table and 56 for
 * the name pool. Returns NULL on failure, or when max_entries is 0 or above 2^28.
 */
struct addrmap *addrmap_new(size_t max_entries);

/* Frees the table; accepts NULL. */
void addrmap_free(struct addrmap *m);

/*
 * Stores or refreshes addr -> (name, route) until expires_ms. An existing entry for the
 * address is replaced (the most recent answer wins). When the table is full, an expired
 * entry (as of the last addrmap_set_now) is reused first, else the least recently
 * refreshed one; the choice is approximate (a clock hand samples a few entries). Names are
 * stored once and shared by all their addresses; when the name pool (about 48 bytes per
 * entry) has no room, older entries are evicted until the name fits. Expiries are kept
 * relative to a base that follows the newest one: an expiry more than ~24 days before the
 * newest may read as expired. Returns 0, -EINVAL (bad family, name longer than 253) or
 * -ENOSPC (the name fits not even into an empty pool; cannot happen with names <= 253).
 */
int addrmap_insert(struct addrmap *m, const struct pkt_addr *addr, const char *name,
		   uint16_t route, uint64_t expires_ms);

/*
 * Looks addr up; an entry whose expiry is before now_ms is treated as absent. Returns 0
 * and fills *out, or -ENOENT.
 */
int addrmap_lookup(const struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms,
		   struct addrmap_entry *out);

/* Removes every entry that belongs to route (used when a reload drops a route) or all
 * entries when route is UINT16_MAX. */
void addrmap_clear(struct addrmap *m, uint16_t route);

/*
 * Re-decides every entry after a configuration change: route_of(name, ctx) returns the
 * new route for the entry's name, or a negative value to drop the entry.
 */
void addrmap_reroute(struct addrmap *m, int (*route_of)(const char *name, void *ctx), void *ctx);

/* Number of live entries (expired ones included until reused). */
size_t addrmap_count(const struct addrmap *m);

/*
 * Tells the map the current monotonic time so that inserts into a full table can tell
 * expired entries from live ones. Cheap; call it before inserting the addresses of a
 * reply. Until it is called, nothing counts as expired for eviction (lookups take their
 * own now_ms).
 */
void addrmap_set_now(struct addrmap *m, uint64_t now_ms);

/* Number of distinct names currently stored (for statistics and tests). */
size_t addrmap_name_count(const struct addrmap *m);

#endif
