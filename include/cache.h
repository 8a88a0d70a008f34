#ifndef NFQR_CACHE_H
#define NFQR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "addrmap.h"

/*
 * The learned mappings on disk, so that a restart forgets nothing. One binary file:
 * a 40-byte header (magic, version, entry count, save time, body length, CRC32 of the
 * body, CRC32 of the header) and a body of records: route names and names, each written
 * once before its first use, and entries (address, name number, route number, expiry as
 * wall-clock milliseconds, since monotonic time restarts at boot). Routes are stored by
 * name, so a configuration whose routes were reordered or removed still maps right.
 * All integers little-endian; the format is described at the top of src/cache.c.
 */

/* Route index -> route name for saving; NULL leaves the entry out (a stale route). */
typedef const char *(*cache_route_name_fn)(void *ctx, uint16_t route);

/*
 * The route index for a loaded entry, given the route name it was saved with and its
 * name; a negative value leaves it out (the route or the rule is gone).
 */
typedef int (*cache_route_of_fn)(void *ctx, const char *route_name, const char *name);

/*
 * Writes every entry of m present at now_mono_ms (grace period included) to path:
 * into path.tmp (mode 0600: it lists the names looked up), fsync, rename over path,
 * fsync of the directory, so a crash leaves the old file or the new one, never a mix.
 * Reads CLOCK_REALTIME to store absolute expiries. Blocks on disk I/O: call it at
 * shutdown, or from a forked child for periodic saves. Returns 0 or -errno with a
 * message in err (path.tmp is removed on failure).
 */
int cache_save(const char *path, const struct addrmap *m, uint64_t now_mono_ms,
	       cache_route_name_fn route_name, void *ctx, char *err, size_t errlen);

/*
 * Reads path into m: every entry whose expiry plus m's grace period is still ahead is
 * inserted with its expiry converted back to monotonic time (never later than what was
 * left of it when saved, should the wall clock have gone back, nor more than 7 days
 * ahead), under the route route_of gives. The whole file is checked (magic, version, lengths, counts, both
 * checksums, every record) before anything is inserted, so a bad file changes nothing.
 * *loaded (may be NULL) gets the number of entries inserted. Returns 0; -ENOENT when
 * there is no file (nothing to report beyond an info line); -EINVAL for a truncated or
 * corrupt file, -EFBIG for one above 1 GiB, or another -errno, each with a message in
 * err (the caller logs one warning and starts empty). Never crashes on any input.
 */
int cache_load(const char *path, struct addrmap *m, uint64_t now_mono_ms,
	       cache_route_of_fn route_of, void *ctx, size_t *loaded, char *err,
	       size_t errlen);

/* cache_save and cache_load with the wall-clock time given (tests, replays). */
int cache_save_at(const char *path, const struct addrmap *m, uint64_t now_mono_ms,
		  uint64_t now_wall_ms, cache_route_name_fn route_name, void *ctx, char *err,
		  size_t errlen);
int cache_load_at(const char *path, struct addrmap *m, uint64_t now_mono_ms,
		  uint64_t now_wall_ms, cache_route_of_fn route_of, void *ctx, size_t *loaded,
		  char *err, size_t errlen);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes, continuing from crc (0 to start). */
uint32_t cache_crc32(uint32_t crc, const void *data, size_t len);

#endif
