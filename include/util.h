#ifndef NFQR_UTIL_H
#define NFQR_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct stat;

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

/*
 * Opens path for reading, refusing what is not a regular file without ever blocking: a
 * FIFO or a device (/dev/zero) in place of a file would otherwise hang a reader or feed it
 * without end. Returns 0 with *fd (blocking, close-on-exec) and, when st is not NULL, its
 * fstat; else -errno of stat/open, -EISDIR for a directory, -EINVAL for anything else that
 * is not a regular file, -EFBIG when it is larger than max bytes. *fd is -1 on failure.
 */
int util_file_open(const char *path, uint64_t max, int *fd, struct stat *st);

/* The text for a util_file_open failure: "not a regular file" for -EINVAL, else strerror. */
const char *util_file_strerr(int neg_errno);

/* A byte count for messages in the largest binary unit that divides it: "1 GiB", "100 bytes". */
void util_size_text(uint64_t v, char *buf, size_t size);

/*
 * Copies src, text a user gave, into dst (size > 0) for a message: bytes outside printable
 * ASCII become \xHH, and text too long for dst is cut at a whole character and ends in
 * "...". Backslashes are kept as they are (regexps). Returns the length written.
 */
size_t util_quote(char *dst, size_t size, const char *src);

#endif
