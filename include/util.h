#ifndef NFQR_UTIL_H
#define NFQR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* murmur3's fmix64 finalizer: spreads every input bit over the whole word (hash tables). */
static inline uint64_t util_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Milliseconds of CLOCK_MONOTONIC: the only clock the daemon decides with. */
uint64_t util_now_ms(void);

/* Copies src into dst (size > 0) with truncation, always NUL-terminated; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Writes an errno-style negative code's text; a thin wrapper for messages. */
const char *util_strerr(int neg_errno);

#endif
