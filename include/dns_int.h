#ifndef NFQR_DNS_INT_H
#define NFQR_DNS_INT_H

/*
 * Shared by the DNS parser's files: dns.c (header, question, answer loop, alias chain),
 * dns_name.c (name decoding and the per-call name table) and dns_svcb.c (SVCB/HTTPS
 * records). Nothing outside them includes this. The helpers here run for every record of
 * every reply, so they are static inline rather than calls across files.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

#define DNS_HDR_LEN 12
#define DNS_RR_FIXED 10		/* type, class, ttl, rdlength */
#define DNS_PRES_MAX (DNS_NAME_MAX - 1)
#define DNS_WIRE_NAME_MAX 255

/*
 * Per-call scratch, on the caller's stack (about 45 KiB). Sized so that a chain of
 * DNS_NAMES_MAX names, its SVCB/HTTPS targets and some unrelated records fit; when a table
 * overflows, the record that needed it is dropped and the reply marked partial
 * (DNS_E_LIMIT), which can only lose information, never attribute an address to the wrong
 * name. Name ids are a byte: NT_MAX stays below DN_PENDING.
 */
#define NT_MAX 192
#define NT_POOL (DNS_NAMES_MAX * DNS_NAME_MAX)	/* a chain of maximal names fits */
#define NT_NONE 0xff
#define ALIAS_MAX 256
#define EDGES_MAX 256
#define DNAMES_MAX 16
#define SVCB_MAX 64
/*
 * Decoding is the expensive step; a crafted 64 KiB answer section could otherwise make
 * thousands of long, pointer-heavy names be decoded for one packet. Real replies decode a
 * handful (known names are recognised without decoding), a chain of DNS_NAMES_MAX names
 * one per link.
 */
#define DECODES_MAX 320

struct dns_edge {
	uint8_t from, to;
};

/*
 * A DNAME record, decoded lazily: only when a chain name has no CNAME, and its target only
 * when it applies. The ids are DN_PENDING until then, NT_NONE when the name is unusable.
 */
#define DN_PENDING 0xfe
struct dns_dname {
	size_t own, own_end, rd, rd_end;
	uint8_t from, to;
};

struct dns_ctx {
	const uint8_t *msg;
	size_t len;
	struct dns_reply *out;
	unsigned n_nt, n_alias, n_edges, n_decodes, n_dname, n_svcb;
	unsigned last;		/* id of the most recently added name */
	bool lost;		/* a limit dropped something: the reply is partial */
	int partial;		/* the malformed record that ended the answer pass, or 0 */
	size_t pool_used;
	struct {
		const char *s;
		size_t len;
		size_t woff, wlen;	/* where its bytes were first seen, and how many */
	} nt[NT_MAX];
	/*
	 * Wire offset where a known name starts, so a pointer to it needs no decoding; in
	 * increasing offset order (the answer pass only moves forward), for binary search.
	 */
	struct {
		uint16_t off;
		uint8_t id;
	} alias[ALIAS_MAX];
	struct dns_edge edge[EDGES_MAX];	/* CNAME owner -> target */
	struct dns_dname dname[DNAMES_MAX];
	struct dns_edge svcb[SVCB_MAX];		/* SVCB/HTTPS owner -> TargetName */
	char pool[NT_POOL];
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool dns_bytes_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i = 0;

	/* names are short: an inline word loop beats a library call */
	for (; i + 8 <= n; i += 8) {
		uint64_t u, v;

		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		if (u != v)
			return false;
	}
	for (; i < n; i++) {
		if (x[i] != y[i])
			return false;
	}
	return true;
}

static inline bool dns_name_same_bytes(const struct dns_ctx *c, unsigned id, size_t pos,
				       size_t wlen)
{
	return c->nt[id].wlen == wlen && c->nt[id].woff < pos &&
	       dns_bytes_equal(c->msg + c->nt[id].woff, c->msg + pos, wlen);
}

/*
 * Finds the name at pos among the known names without decoding it: a bare pointer to where
 * a known name starts, or the same bytes as a known name's bytes at an earlier offset (same
 * labels, and any pointer targets the same, earlier offset, so it is the same valid name).
 * Only the question name and the latest new name are compared that way, which covers
 * uncompressed replies and keeps the cost per record constant. wend is where the name's
 * bytes at pos are known to end, 0 if unknown. Returns the id, -1 when not found, or
 * DNS_E_NAME for a pointer that is not backwards.
 */
static inline int dns_name_find(const struct dns_ctx *c, size_t pos, size_t wend)
{
	const uint8_t *msg = c->msg;

	if (pos >= c->len)
		return -1;	/* empty rdata at the very end: decoding will say short */
	if (msg[pos] >= 0xc0) {
		if (pos >= c->len - 1)
			return -1;

		size_t t = (size_t)(msg[pos] & 0x3f) << 8 | msg[pos + 1];

		if (t >= pos)
			return DNS_E_NAME;
		if (c->alias[0].off == t)
			return c->alias[0].id;	/* the question: most pointers in most replies */

		unsigned lo = 1, hi = c->n_alias;

		/* binary search: thousands of records may each point to a different name */
		while (lo < hi) {
			unsigned mid = lo + (hi - lo) / 2;

			if (c->alias[mid].off < t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->n_alias && c->alias[lo].off == t)
			return c->alias[lo].id;
	} else if (wend > pos) {
		if (dns_name_same_bytes(c, 0, pos, wend - pos))
			return 0;
		if (c->last && dns_name_same_bytes(c, c->last, pos, wend - pos))
			return (int)c->last;
	}
	return -1;
}

/*
 * Decodes the name at pos into dst (DNS_NAME_MAX bytes, presentation form, lowercased,
 * \DDD escapes) and sets *dlen and *end (offset just after the name's bytes at pos).
 * Returns DNS_OK or a negative dns_status. In dns_name.c.
 */
int dns_name_decode(const uint8_t *msg, size_t len, size_t pos, char *dst, size_t *dlen,
		    size_t *end);

/*
 * Decodes the name at pos and adds it to the name table unless an equal name is there.
 * Returns its id, NT_NONE when it is not kept (then *end is not set), or a negative
 * dns_status. In dns_name.c.
 */
int dns_name_add(struct dns_ctx *c, size_t pos, size_t *end);

/* Identifies the name at pos (see dns_name_find and dns_name_add); *end as for decoding. */
static inline int dns_name_intern(struct dns_ctx *c, size_t pos, size_t wend, size_t *end)
{
	int id = dns_name_find(c, pos, wend);

	if (id == -1)
		return dns_name_add(c, pos, end);
	if (id >= 0)
		*end = c->msg[pos] >= 0xc0 ? pos + 2 : wend;
	return id;
}

/*
 * An SVCB or HTTPS record (owner name at [own, own_end), rdata at rd): records the
 * owner -> TargetName link and the address hints. Returns DNS_OK or a negative dns_status
 * for a bad owner name; a malformed record is only counted. In dns_svcb.c.
 */
int dns_rr_svcb(struct dns_ctx *c, size_t own, size_t own_end, size_t rd, size_t rdlen,
		uint32_t ttl);

#endif
