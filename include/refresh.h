#ifndef NFQR_REFRESH_H
#define NFQR_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * When to re-resolve which name: a pure scheduler (no I/O, no clock of its own; every
 * call takes the monotonic time). A name is tracked once a new connection used one of
 * its addresses (refresh_used) or it is pinned (refresh_pin, for exact names from the
 * configuration). A tracked name comes due at 80-90 % of its TTL (seeded jitter, so names
 * learned together spread out); at that time it is handed out for a lookup when it is
 * pinned or was used within the window, else it is forgotten. Answers that nobody
 * connects to never enter the schedule. Fixed capacity, all memory reserved up front
 * (about 300 bytes per name); when full, the least recently used unpinned name goes.
 */
struct refresh;

#define REFRESH_MIN_MS 1000		/* earliest refresh after an answer */
#define REFRESH_INFLIGHT_MS 30000	/* handed out, no result yet: hand out again then */
#define REFRESH_RETRY_MIN_MS 5000	/* first retry after a failed lookup, doubling... */
#define REFRESH_RETRY_MAX_MS 600000	/* ...up to this */
#define REFRESH_WINDOW_MIN_MS 60000	/* the default window is 2 * TTL but at least this */

struct refresh_conf {
	size_t capacity;	/* names tracked at most, pinned ones included */
	uint64_t window_ms;	/* refreshed only if used this recently; 0: 2 * TTL */
	uint64_t pin_spread_ms;	/* newly pinned names come due within this (start-up) */
	uint64_t seed;		/* jitter; the same seed gives the same schedule */
};

/* Creates a scheduler; NULL when capacity is 0 or above 2^24, or out of memory. */
struct refresh *refresh_new(const struct refresh_conf *c);

/* Frees it; accepts NULL. */
void refresh_free(struct refresh *r);

/*
 * A new connection went to an address of name (as learned; at most 253 characters)
 * whose entry expires at expires_ms. Records the use; an untracked name becomes tracked,
 * due at 80-90 % of the time left (at once when expires_ms has passed), evicting the
 * least recently used unpinned name when full. Returns 0, -EINVAL (name too long) or
 * -ENOSPC (every name is pinned).
 */
int refresh_used(struct refresh *r, const char *name, uint64_t expires_ms, uint64_t now_ms);

/*
 * An answer for name arrived (from the resolver or seen on the wire) with TTL ttl_s
 * (after min-ttl/max-ttl clamping): when name is tracked, it comes due at 80-90 % of the
 * TTL (not before REFRESH_MIN_MS) and its failure count resets. Untracked names are
 * ignored. Returns true when name is tracked.
 */
bool refresh_learned(struct refresh *r, const char *name, uint32_t ttl_s, uint64_t now_ms);

/*
 * A lookup for a handed-out name failed (timeout, SERVFAIL, NXDOMAIN, no address): it is
 * retried after REFRESH_RETRY_MIN_MS, doubling per failure up to REFRESH_RETRY_MAX_MS.
 * Untracked names are ignored.
 */
void refresh_failed(struct refresh *r, const char *name, uint64_t now_ms);

/*
 * Keeps name refreshed whether used or not, and never evicts it. A newly tracked name is
 * due within pin_spread_ms (so it is resolved at start-up); an already tracked one keeps
 * its schedule. Returns 0, -EINVAL (name too long) or -ENOSPC (every name is pinned).
 */
int refresh_pin(struct refresh *r, const char *name, uint64_t now_ms);

/*
 * Makes every pinned name an ordinary tracked one (before pinning the names of a new
 * configuration: those pinned again keep their schedule, the others are forgotten when
 * they come due unused).
 */
void refresh_unpin_all(struct refresh *r);

/* Stops tracking name (its route is gone); a no-op when it is not tracked. */
void refresh_forget(struct refresh *r, const char *name);

/* Monotonic time at which the next name comes due, or UINT64_MAX when none is tracked. */
uint64_t refresh_next_due(const struct refresh *r);

/*
 * Hands out the next name due at now_ms: copies it into name (size >= 254 holds every
 * name) and returns 1, or returns 0 when none is due. Names due but neither pinned nor
 * used within the window are forgotten on the way. A handed-out name is due again after
 * REFRESH_INFLIGHT_MS unless refresh_learned or refresh_failed reschedules it first.
 * Returns -ENOSPC (and drops nothing) when size is too small for the name due.
 */
int refresh_pop_due(struct refresh *r, uint64_t now_ms, char *name, size_t size);

/* Number of names tracked, and of those pinned. */
size_t refresh_count(const struct refresh *r);
size_t refresh_pinned_count(const struct refresh *r);

/* When name is tracked: true, with its next due time in *due_ms (may be NULL). */
bool refresh_lookup(const struct refresh *r, const char *name, uint64_t *due_ms);

#endif
