#ifndef NFQR_ADDRMAP_H
#define NFQR_ADDRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct addrmap;

/* Longest grace period addrmap_set_grace accepts: a week. */
#define ADDRMAP_GRACE_MAX_MS (7ULL * 86400 * 1000)

/* A learned mapping as returned by lookups; name points into the map (valid until the
 * next insert or clear). */
struct addrmap_entry {
	uint16_t route;
	bool grace;		/* past expires_ms, kept for the grace period */
	uint64_t expires_ms;	/* monotonic milliseconds: the (clamped) DNS expiry */
	const char *name;
};

/*
 * Creates a table for at most max_entries addresses and max_names distinct names (0: as
 * many as max_entries) whose text takes at most name_bytes (0: 48 per possible name;
 * a name of n characters takes 8 * ceil((n + 7) / 8) bytes). Everything is reserved up
 * front so that inserts and lookups never allocate; entries and name text are anonymous
 * mappings used bottom-up, so only what is used becomes resident. Fixed cost per possible
 * mapping: 28 bytes (entry) + 5 (address index) + 5 per possible name (name index).
 * Returns NULL on failure, or when max_entries is 0 or above 2^28 or max_names is above
 * max_entries.
 */
struct addrmap *addrmap_new_sized(size_t max_entries, size_t max_names, size_t name_bytes);

/* addrmap_new_sized(max_entries, 0, 0): room for one name per address. */
struct addrmap *addrmap_new(size_t max_entries);

/* Frees the table; accepts NULL. */
void addrmap_free(struct addrmap *m);

/*
 * Sets the grace period: an entry stays for grace_ms after its expiry, so that
 * applications that keep using a cached answer are still routed; lookups report such
 * entries with grace set. A refresh that still contains the address extends it; one that
 * no longer contains it leaves it to run out. Applies to the entries already stored.
 * Returns 0, or -EINVAL above ADDRMAP_GRACE_MAX_MS. The default is 0.
 */
int addrmap_set_grace(struct addrmap *m, uint64_t grace_ms);

/* The grace period in milliseconds. */
uint64_t addrmap_grace(const struct addrmap *m);

/*
 * Stores or refreshes addr -> (name, route) until expires_ms (plus the grace period).
 * An existing entry for the address is replaced (the most recent answer wins). When the
 * table is full, an entry that is gone (past expiry and grace as of the last
 * addrmap_set_now) is reused first, then one in its grace period, else the least recently
 * used or refreshed one; the choice is approximate (a clock hand samples a few entries).
 * Names are stored once and shared by all their addresses; when the name text or the
 * name count has no room, older entries are evicted until the name fits. Expiries are
 * kept relative to a base that follows the newest one: an expiry more than ~24 days
 * before the newest may read as gone. Returns 0, -EINVAL (bad family, name longer than
 * 253) or -ENOSPC (the name fits not even into an empty pool).
 */
int addrmap_insert(struct addrmap *m, const struct pkt_addr *addr, const char *name,
		   uint16_t route, uint64_t expires_ms);

/*
 * Looks addr up; an entry past its expiry and the grace period as of now_ms is treated as
 * absent, one past its expiry but within the grace period is returned with grace set.
 * Returns 0 and fills *out, or -ENOENT.
 */
int addrmap_lookup(const struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms,
		   struct addrmap_entry *out);

/*
 * Records that a new connection used addr (call it when a flow was routed by a lookup):
 * the entry becomes the most recently used, so eviction takes it last. Returns 0, or
 * -ENOENT when addr is absent as addrmap_lookup(now_ms) would see it.
 */
int addrmap_touch(struct addrmap *m, const struct pkt_addr *addr, uint64_t now_ms);

/* Called by addrmap_foreach for every present entry; a nonzero return stops the walk. */
typedef int (*addrmap_visit_fn)(void *ctx, const struct pkt_addr *addr,
				const struct addrmap_entry *e);

/*
 * Calls fn for every entry that addrmap_lookup(now_ms) would return, in storage order.
 * The map must not change during the walk; entries with the same name get the same name
 * pointer (names are stored once), so a walker can tell names apart by pointer. Returns
 * 0, or the first nonzero value fn returned.
 */
int addrmap_foreach(const struct addrmap *m, uint64_t now_ms, addrmap_visit_fn fn, void *ctx);

/* Removes every entry that belongs to route (used when a reload drops a route) or all
 * entries when route is UINT16_MAX (which also gives the used memory back). */
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
 * gone entries from live ones. Cheap; call it before inserting the addresses of a
 * reply. Until it is called, nothing counts as gone for eviction (lookups take their
 * own now_ms).
 */
void addrmap_set_now(struct addrmap *m, uint64_t now_ms);

/* Number of distinct names currently stored (for statistics and tests). */
size_t addrmap_name_count(const struct addrmap *m);

/*
 * Bytes the table occupies as far as it has been used: the indexes in full, entries and
 * name text up to their high-water marks (page granular). An upper bound of its resident
 * memory, for statistics and the memory benchmark.
 */
size_t addrmap_mem_bytes(const struct addrmap *m);

#endif
