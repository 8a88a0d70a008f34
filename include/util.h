#ifndef NFQR_UTIL_H
#define NFQR_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Milliseconds of CLOCK_MONOTONIC: the only clock the daemon decides with. */
uint64_t util_now_ms(void);

/* Copies src into dst (size > 0) with truncation, always NUL-terminated; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Writes an errno-style negative code's text; a thin wrapper for messages. */
const char *util_strerr(int neg_errno);

#endif
