#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

uint64_t util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

size_t util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

const char *util_strerr(int neg_errno)
{
	return strerror(neg_errno < 0 ? -neg_errno : neg_errno);
}

int util_file_open(const char *path, uint64_t max, int *fd_out, struct stat *st_out)
{
	struct stat st;
	int fd, flags, rc;

	*fd_out = -1;
	/* refused before open: opening a device can have effects of its own */
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* O_NONBLOCK: a FIFO swapped in since the stat must not hang the open */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = S_ISDIR(st.st_mode) ? -EISDIR : !S_ISREG(st.st_mode) ? -EINVAL :
	     (uint64_t)st.st_size > max ? -EFBIG : 0;
	if (rc)
		goto fail;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	if (st_out)
		*st_out = st;
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

const char *util_file_strerr(int neg_errno)
{
	return neg_errno == -EINVAL ? "not a regular file" : util_strerr(neg_errno);
}

void util_size_text(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };

	for (int i = 0; i < 3; i++) {
		unsigned shift = 10u * (unsigned)(3 - i);

		if (v && !(v & ((1ull << shift) - 1))) {
			snprintf(buf, size, "%" PRIu64 " %s", v >> shift, units[i]);
			return;
		}
	}
	snprintf(buf, size, "%" PRIu64 " bytes", v);
}

size_t util_quote(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, keep = 0;

	if (!size)
		return 0;
	for (; *s; s++) {
		char esc[8];
		size_t n = 1;

		if (*s >= 0x20 && *s < 0x7f)
			esc[0] = (char)*s;
		else
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *s);
		if (o + n + 1 > size)
			break;
		memcpy(dst + o, esc, n);
		o += n;
		if (o + 4 <= size)
			keep = o;	/* "..." still fits after this */
	}
	if (*s) {
		o = size >= 4 ? keep : 0;
		if (size >= 4) {
			memcpy(dst + o, "...", 3);
			o += 3;
		}
	}
	dst[o] = '\0';
	return o;
}
