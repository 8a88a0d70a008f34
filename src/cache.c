/*
 * Cache file, version 1. All integers little-endian.
 *
 *   header (40 bytes)
 *     0  magic "NFQRCACH"
 *     8  u32 version (1)
 *    12  u32 number of entry records
 *    16  u64 wall-clock milliseconds at save
 *    24  u64 body length in bytes (the file is exactly 40 + this long)
 *    32  u32 CRC-32 of the body
 *    36  u32 CRC-32 of bytes 0..35
 *   body: records, each starting with a tag byte
 *     'R' u8 len, len bytes (1..255, no NUL)       route name; numbered 0, 1, ... in order
 *     'N' u8 len, len bytes (0..253, no NUL)       name; numbered 0, 1, ... in order
 *     '4' u32 name, u16 route, u64 expiry, 4 bytes  IPv4 entry; expiry in wall-clock ms
 *     '6' u32 name, u16 route, u64 expiry, 16 bytes IPv6 entry
 *   A route or name record comes before the first entry that refers to it, so the file
 *   is written in one pass over the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cache.h"

#define CACHE_MAGIC "NFQRCACH"
#define CACHE_VERSION 1
#define CACHE_HDR 40
#define CACHE_MAX_BYTES (1ULL << 30)
#define CACHE_MAX_ENTRIES (1u << 28)
#define CACHE_NAME_MAX 253
#define CACHE_ROUTES_MAX 65535
#define CACHE_LEFT_MAX (7ULL * 86400 * 1000)	/* keeps the map's expiry base sane */
#define NONE UINT32_MAX

/* The byte table of the reflected polynomial 0xedb88320, built per save or load: cheap
 * next to any file, and no global state. */
static void crc_table(uint32_t t[256])
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		t[i] = c;
	}
}

static uint32_t crc_update(const uint32_t t[256], uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = t[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t cache_crc32(uint32_t crc, const void *data, size_t len)
{
	uint32_t t[256];

	crc_table(t);
	return crc_update(t, crc, data, len);
}

static uint64_t cache_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* ---- save ---- */

struct saver {
	FILE *f;
	uint32_t crc, crc_t[256];
	uint64_t body_len, now_mono, now_wall;
	uint32_t n_entries, n_names, n_routes;
	cache_route_name_fn route_name;
	void *ctx;
	uint32_t *route_id;		/* route index -> route record number, NONE if none */
	const char **name_key;		/* name pointers (the map stores each name once)... */
	uint32_t *name_id;		/* ...and their record numbers, open addressing */
	size_t name_mask;
	bool failed;
};

static void save_bytes(struct saver *s, const void *p, size_t len)
{
	if (s->failed)
		return;
	if (fwrite(p, 1, len, s->f) != len) {
		s->failed = true;
		return;
	}
	s->crc = crc_update(s->crc_t, s->crc, p, len);
	s->body_len += len;
}

static void save_string(struct saver *s, char tag, const char *str, size_t len)
{
	unsigned char hdr[2] = { (unsigned char)tag, (unsigned char)len };

	save_bytes(s, hdr, 2);
	save_bytes(s, str, len);
}

/* The record number of name, writing its record first when new. */
static uint32_t save_name(struct saver *s, const char *name)
{
	size_t h = ((uintptr_t)name * 0x9e3779b97f4a7c15ULL) >> 20;

	for (size_t i = h & s->name_mask;; i = (i + 1) & s->name_mask) {
		if (s->name_key[i] == name)
			return s->name_id[i];
		if (!s->name_key[i]) {
			s->name_key[i] = name;
			s->name_id[i] = s->n_names;
			save_string(s, 'N', name, strlen(name));
			return s->n_names++;
		}
	}
}

static int save_entry(void *ctx, const struct pkt_addr *addr, const struct addrmap_entry *e)
{
	struct saver *s = ctx;
	unsigned char rec[1 + 4 + 2 + 8 + 16];
	const char *rname;
	size_t alen = addr->family == AF_INET ? 4 : 16, rlen;
	uint32_t name;

	if (s->route_id[e->route] == NONE) {
		rname = s->route_name(s->ctx, e->route);
		rlen = rname ? strnlen(rname, 256) : 0;
		if (!rlen || rlen > 255)
			return 0;	/* stale route, or no name a reader would accept */
		if (s->n_routes == CACHE_ROUTES_MAX)
			return 0;
		s->route_id[e->route] = s->n_routes++;
		save_string(s, 'R', rname, rlen);
	}
	name = save_name(s, e->name);
	rec[0] = addr->family == AF_INET ? '4' : '6';
	put_le(rec + 1, name, 4);
	put_le(rec + 5, s->route_id[e->route], 2);
	/* entries in their grace period expired in the past: keep the sign right */
	put_le(rec + 7, e->expires_ms >= s->now_mono ? s->now_wall + (e->expires_ms - s->now_mono) :
			s->now_wall - (s->now_mono - e->expires_ms), 8);
	memcpy(rec + 15, addr->a, alen);
	save_bytes(s, rec, 15 + alen);
	s->n_entries++;
	return s->failed ? -EIO : 0;
}

static void save_header(unsigned char *h, const struct saver *s)
{
	memcpy(h, CACHE_MAGIC, 8);
	put_le(h + 8, CACHE_VERSION, 4);
	put_le(h + 12, s->n_entries, 4);
	put_le(h + 16, s->now_wall, 8);
	put_le(h + 24, s->body_len, 8);
	put_le(h + 32, s->crc, 4);
	put_le(h + 36, cache_crc32(0, h, 36), 4);
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Writes the whole file to the open stream s->f. */
static int save_stream(struct saver *s, const struct addrmap *m, char *err, size_t errlen,
		       const char *tmp)
{
	unsigned char hdr[CACHE_HDR] = { 0 };
	int ret;

	if (fwrite(hdr, 1, sizeof(hdr), s->f) != sizeof(hdr))
		goto io;
	ret = addrmap_foreach(m, s->now_mono, save_entry, s);
	if (ret || s->failed)
		goto io;
	save_header(hdr, s);
	if (fseek(s->f, 0, SEEK_SET) < 0 || fwrite(hdr, 1, sizeof(hdr), s->f) != sizeof(hdr) ||
	    fflush(s->f) == EOF || fsync(fileno(s->f)) < 0)
		goto io;
	return 0;
io:
	ret = errno ? -errno : -EIO;
	snprintf(err, errlen, "%s: write: %s", tmp, strerror(-ret));
	return ret;
}

int cache_save_at(const char *path, const struct addrmap *m, uint64_t now_mono_ms,
		  uint64_t now_wall_ms, cache_route_name_fn route_name, void *ctx, char *err,
		  size_t errlen)
{
	struct saver s = { .now_mono = now_mono_ms, .now_wall = now_wall_ms,
			   .route_name = route_name, .ctx = ctx };
	char tmp[PATH_MAX];
	size_t slots = 16;
	int fd, ret;

	crc_table(s.crc_t);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	while (slots < 2 * addrmap_name_count(m) + 2)
		slots <<= 1;
	s.name_mask = slots - 1;
	s.name_key = calloc(slots, sizeof(*s.name_key));
	s.name_id = calloc(slots, sizeof(*s.name_id));
	s.route_id = malloc(65536 * sizeof(*s.route_id));
	if (!s.name_key || !s.name_id || !s.route_id) {
		snprintf(err, errlen, "%s: out of memory", path);
		ret = -ENOMEM;
		goto out;
	}
	memset(s.route_id, 0xff, 65536 * sizeof(*s.route_id));
	/* a fresh file of our own: never through a symlink, FIFO or file left at tmp */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	s.f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!s.f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	errno = 0;
	ret = save_stream(&s, m, err, errlen, tmp);
	if (fclose(s.f) == EOF && !ret) {
		ret = -errno;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
	}
	if (!ret && rename(tmp, path) < 0) {
		ret = -errno;
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
	}
	if (ret) {
		unlink(tmp);
		goto out;
	}
	ret = fsync_dir(path);
	if (ret)
		snprintf(err, errlen, "%s: syncing its directory: %s", path, strerror(-ret));
out:
	free(s.route_id);
	free(s.name_id);
	free(s.name_key);
	return ret;
}

int cache_save(const char *path, const struct addrmap *m, uint64_t now_mono_ms,
	       cache_route_name_fn route_name, void *ctx, char *err, size_t errlen)
{
	return cache_save_at(path, m, now_mono_ms, cache_wall_ms(), route_name, ctx, err,
			     errlen);
}

/* ---- load ---- */

struct reader {
	const unsigned char *p;
	size_t len, off;
	const char *path;
	char *err;
	size_t errlen;
};

struct loaded_tables {
	uint32_t *route_off, *name_off;	/* offsets of the records' length bytes */
	uint32_t n_routes, n_names, n_entries;
};

static int corrupt(const struct reader *r, const char *what)
{
	snprintf(r->err, r->errlen, "%s: corrupt cache (%s at byte %zu), ignored", r->path, what,
		 CACHE_HDR + r->off);
	return -EINVAL;
}

static const unsigned char *take(struct reader *r, size_t n)
{
	const unsigned char *p;

	if (r->len - r->off < n)
		return NULL;
	p = r->p + r->off;
	r->off += n;
	return p;
}

/* Copies a counted string (its length byte at off) into buf, NUL-terminated. */
static void string_at(const struct reader *r, uint32_t off, char *buf)
{
	size_t len = r->p[off];

	memcpy(buf, r->p + off + 1, len);
	buf[len] = '\0';
}

static int check_header(const unsigned char *h, size_t size, uint64_t *saved_wall,
			uint32_t *n_entries, const struct reader *r)
{
	if (size < CACHE_HDR || memcmp(h, CACHE_MAGIC, 8) != 0) {
		snprintf(r->err, r->errlen, "%s: not an nfqroute cache (%s), ignored", r->path,
			 size < CACHE_HDR ? "too short" : "bad magic");
		return -EINVAL;
	}
	if (get_le(h + 36, 4) != cache_crc32(0, h, 36)) {
		snprintf(r->err, r->errlen, "%s: corrupt cache header, ignored", r->path);
		return -EINVAL;
	}
	if (get_le(h + 8, 4) != CACHE_VERSION) {
		snprintf(r->err, r->errlen, "%s: cache version %u not supported, ignored",
			 r->path, (unsigned)get_le(h + 8, 4));
		return -EINVAL;
	}
	if (get_le(h + 24, 8) != size - CACHE_HDR) {
		snprintf(r->err, r->errlen, "%s: cache truncated or extended (%zu bytes, header "
			 "says %llu), ignored", r->path, size,
			 (unsigned long long)(get_le(h + 24, 8) + CACHE_HDR));
		return -EINVAL;
	}
	if (get_le(h + 32, 4) != cache_crc32(0, h + CACHE_HDR, size - CACHE_HDR)) {
		snprintf(r->err, r->errlen, "%s: cache checksum mismatch, ignored", r->path);
		return -EINVAL;
	}
	*saved_wall = get_le(h + 16, 8);
	*n_entries = (uint32_t)get_le(h + 12, 4);
	return 0;
}

/*
 * First pass: every record complete and well formed, every reference to an earlier
 * record, the entry count as announced. Collects the string offsets for the second pass.
 */
static int check_body(struct reader *r, uint32_t n_entries, struct loaded_tables *t)
{
	size_t max_strings = r->len / 2;

	t->route_off = malloc((max_strings < CACHE_ROUTES_MAX ? max_strings : CACHE_ROUTES_MAX)
			      * sizeof(uint32_t) + sizeof(uint32_t));
	t->name_off = malloc(max_strings * sizeof(uint32_t) + sizeof(uint32_t));
	if (!t->route_off || !t->name_off) {
		snprintf(r->err, r->errlen, "%s: out of memory", r->path);
		return -ENOMEM;
	}
	while (r->off < r->len) {
		const unsigned char *p = take(r, 1), *q;
		size_t len;

		if (*p == 'R' || *p == 'N') {
			uint32_t at = (uint32_t)r->off;

			q = take(r, 1);
			if (!q)
				return corrupt(r, "truncated record");
			len = *q;
			if (!take(r, len))
				return corrupt(r, "truncated string");
			if (memchr(r->p + at + 1, '\0', len))
				return corrupt(r, "NUL in a string");
			if (*p == 'R') {
				if (len == 0 || t->n_routes == CACHE_ROUTES_MAX)
					return corrupt(r, "bad route record");
				t->route_off[t->n_routes++] = at;
			} else {
				if (len > CACHE_NAME_MAX)
					return corrupt(r, "name too long");
				t->name_off[t->n_names++] = at;
			}
		} else if (*p == '4' || *p == '6') {
			q = take(r, 14 + (*p == '4' ? 4 : 16));
			if (!q)
				return corrupt(r, "truncated entry");
			if (get_le(q, 4) >= t->n_names || get_le(q + 4, 2) >= t->n_routes)
				return corrupt(r, "entry refers to an unknown name or route");
			if (++t->n_entries > n_entries)
				return corrupt(r, "more entries than announced");
		} else {
			r->off--;
			return corrupt(r, "unknown record");
		}
	}
	if (t->n_entries != n_entries)
		return corrupt(r, "fewer entries than announced");
	return 0;
}

/* Second pass: insert what is still valid. The body is known to be well formed. */
static size_t apply_body(struct reader *r, const struct loaded_tables *t, struct addrmap *m,
			 uint64_t now_mono, uint64_t now_wall, uint64_t saved_wall,
			 cache_route_of_fn route_of, void *ctx)
{
	uint64_t grace = addrmap_grace(m);
	char name[CACHE_NAME_MAX + 1], rname[256];
	size_t n = 0;

	addrmap_set_now(m, now_mono);
	for (r->off = 0; r->off < r->len;) {
		const unsigned char *p = take(r, 1), *q;
		struct pkt_addr addr = { 0 };
		uint64_t exp, left;
		int route;

		if (*p == 'R' || *p == 'N') {
			r->off += 1 + (size_t)r->p[r->off];
			continue;
		}
		addr.family = *p == '4' ? AF_INET : AF_INET6;
		q = take(r, 14 + (*p == '4' ? 4 : 16));
		exp = get_le(q + 6, 8);
		if (exp + grace < now_wall || exp + grace < exp)
			continue;
		/* never more time than was left at the save: the wall clock may have gone back */
		left = exp > now_wall ? exp - now_wall : 0;
		if (exp > saved_wall && left > exp - saved_wall)
			left = exp - saved_wall;
		if (left > CACHE_LEFT_MAX)
			left = CACHE_LEFT_MAX;
		memcpy(addr.a, q + 14, *p == '4' ? 4 : 16);
		string_at(r, t->name_off[get_le(q, 4)], name);
		string_at(r, t->route_off[get_le(q + 4, 2)], rname);
		route = route_of(ctx, rname, name);
		if (route < 0 || route > UINT16_MAX - 1)
			continue;
		/* an entry in its grace period keeps what is left of it (from 0 after a boot) */
		exp = exp >= now_wall ? now_mono + left :
		      now_mono > now_wall - exp ? now_mono - (now_wall - exp) : 0;
		if (addrmap_insert(m, &addr, name, (uint16_t)route, exp) == 0)
			n++;
	}
	return n;
}

static int read_file(const char *path, unsigned char **out, size_t *size, char *err,
		     size_t errlen)
{
	struct stat st;
	size_t got = 0;
	/* O_NONBLOCK: a FIFO at the path must not hang start-up (it is refused below) */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path,
			 ret == -ENOENT ? "no cache yet" : strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CACHE_MAX_BYTES) {
		ret = !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;
		snprintf(err, errlen, "%s: %s, ignored", path,
			 ret == -EFBIG ? "cache larger than 1 GiB" : "not a regular file");
		close(fd);
		return ret;
	}
	*size = (size_t)st.st_size;
	*out = malloc(*size ? *size : 1);
	if (!*out) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (got < *size) {
		ssize_t n = read(fd, *out + got, *size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*size = got;	/* shrunk meanwhile: the length check catches it */
	return 0;
}

int cache_load_at(const char *path, struct addrmap *m, uint64_t now_mono_ms,
		  uint64_t now_wall_ms, cache_route_of_fn route_of, void *ctx, size_t *loaded,
		  char *err, size_t errlen)
{
	struct loaded_tables t = { 0 };
	struct reader r = { .path = path, .err = err, .errlen = errlen };
	unsigned char *buf = NULL;
	uint64_t saved_wall;
	uint32_t n_entries;
	size_t size = 0, n;
	int ret;

	if (loaded)
		*loaded = 0;
	ret = read_file(path, &buf, &size, err, errlen);
	if (ret)
		return ret;
	ret = check_header(buf, size, &saved_wall, &n_entries, &r);
	if (ret)
		goto out;
	r.p = buf + CACHE_HDR;
	r.len = size - CACHE_HDR;
	if (n_entries > CACHE_MAX_ENTRIES) {
		ret = corrupt(&r, "entry count");
		goto out;
	}
	ret = check_body(&r, n_entries, &t);
	if (ret)
		goto out;
	n = apply_body(&r, &t, m, now_mono_ms, now_wall_ms, saved_wall, route_of, ctx);
	if (loaded)
		*loaded = n;
out:
	free(t.name_off);
	free(t.route_off);
	free(buf);
	return ret;
}

int cache_load(const char *path, struct addrmap *m, uint64_t now_mono_ms,
	       cache_route_of_fn route_of, void *ctx, size_t *loaded, char *err, size_t errlen)
{
	return cache_load_at(path, m, now_mono_ms, cache_wall_ms(), route_of, ctx, loaded, err,
			     errlen);
}
