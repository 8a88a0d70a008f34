/*
 * DNS message parser: one pass over header, question and answer section into a
 * caller-owned struct, no allocation. Names are decoded once into a small per-call table so
 * that records may refer to each other in any order; the alias chain (CNAME, DNAME), the
 * SVCB/HTTPS targets and the address filter are built from that table after the pass.
 */
#include <string.h>
#include <sys/socket.h>

#include "dns.h"

#define DNS_HDR_LEN 12
#define DNS_RR_FIXED 10		/* type, class, ttl, rdlength */
#define DNS_PRES_MAX (DNS_NAME_MAX - 1)
#define DNS_WIRE_NAME_MAX 255
/*
 * Pointers must point strictly backwards, so they cannot loop; the hop bound only caps the
 * work an adversarial message can cause. Real encoders need one pointer per name, deep
 * suffix sharing a handful.
 */
#define DNS_PTR_HOPS 64

#define DNS_F_QR 0x8000
#define DNS_F_TC 0x0200
#define DNS_OPCODE_SHIFT 11
#define DNS_OPCODE_MASK 0xf
#define DNS_RCODE_MASK 0x000f

#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_AAAA 28
#define DNS_T_DNAME 39
#define DNS_T_SVCB 64
#define DNS_T_HTTPS 65
#define DNS_C_IN 1
/*
 * The types above, as bits of (type & 63) for types up to 65: one test lets the answer loop
 * pass over the many records it does not use (zone-transfer-like answers have thousands).
 * Only type 0 aliases (with SVCB), and falls through the dispatch harmlessly.
 */
#define DNS_T_MAX_USED DNS_T_HTTPS
#define DNS_T_USED_BITS (1ull << DNS_T_A | 1ull << DNS_T_CNAME | 1ull << DNS_T_AAAA | \
			 1ull << DNS_T_DNAME | 1ull << (DNS_T_SVCB & 63) | \
			 1ull << (DNS_T_HTTPS & 63))

/* RFC 9460 SvcParamKeys whose value format is checked; others are opaque */
#define SVC_MANDATORY 0
#define SVC_ALPN 1
#define SVC_NO_DEFAULT_ALPN 2
#define SVC_PORT 3
#define SVC_IPV4HINT 4
#define SVC_IPV6HINT 6
#define SVC_OHTTP 8		/* RFC 9540 */
#define SVC_INVALID 65535

/*
 * Per-call scratch. Sized so that a chain of DNS_NAMES_MAX maximal names plus unrelated
 * records fits; when it overflows, new names get NT_NONE and their records are dropped,
 * which can only lose information, never attribute an address to the wrong name.
 */
#define NT_MAX 48
#define NT_POOL 4096
#define NT_NONE 0xff
#define ALIAS_MAX 32
#define EDGES_MAX 32
#define DNAMES_MAX 8
#define SVCB_MAX 16
/*
 * Decoding is the expensive step; a crafted 64 KiB answer section could otherwise make
 * thousands of long, pointer-heavy names be decoded for one packet. Real replies decode a
 * handful (known names are recognised without decoding).
 */
#define DECODES_MAX 64

struct dns_edge {
	uint8_t from, to;
};

/*
 * A DNAME record, decoded lazily: only when a chain name has no CNAME, and its target only
 * when it applies. The ids are DN_TODO until then, NT_NONE when the name is unusable.
 */
#define DN_TODO 0xfe
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
	size_t pool_used;
	struct {
		const char *s;
		size_t len;
		size_t woff, wlen;	/* where its bytes were first seen, and how many */
	} nt[NT_MAX];
	/* wire offset where a known name starts, so a pointer to it needs no decoding */
	struct {
		uint16_t off;
		uint8_t id;
	} alias[ALIAS_MAX];
	struct dns_edge edge[EDGES_MAX];	/* CNAME owner -> target */
	struct dns_dname dname[DNAMES_MAX];
	struct dns_edge svcb[SVCB_MAX];		/* SVCB/HTTPS owner -> TargetName */
	char pool[NT_POOL];
};

/* Presentation form of each label byte: lowercased, or 0 when it must be a \DDD escape. */
static const char dns_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '-', 0, 0,
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 0, 0, 0, 0, 0, 0,
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, '_',
	0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
	'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 0, 0, 0, 0, 0,
	/* 0x80..0xff: all escaped */
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes a label with \DDD escapes at o; returns the new end or NULL past oend. */
static char *dns_label_escape(const uint8_t *l, size_t c, char *o, char *oend)
{
	for (size_t i = 0; i < c; i++) {
		unsigned char b = l[i];
		char m = dns_plain[b];

		if (m) {
			*o++ = m;
			continue;
		}
		/* the escape needs 3 more chars than the byte it replaces */
		if ((size_t)(oend - o) < 4 + (c - i - 1))
			return NULL;
		o[0] = '\\';
		o[1] = (char)('0' + b / 100);
		o[2] = (char)('0' + b / 10 % 10);
		o[3] = (char)('0' + b % 10);
		o += 4;
	}
	return o;
}

/*
 * Decodes the name at pos into dst (DNS_NAME_MAX bytes) and sets *dlen and *end (offset
 * just after the name's bytes at pos, i.e. where the record continues). Every pointer must
 * target an offset before the start of the name or name segment it occurs in.
 */
static int dns_name_decode(const uint8_t *msg, size_t len, size_t pos, char *dst,
			   size_t *dlen, size_t *end)
{
	char *o = dst;
	char *const oend = dst + DNS_PRES_MAX;
	size_t p = pos, limit = pos, stop = 0;
	unsigned hops = 0;

	for (;;) {
		if (p >= len)
			return DNS_E_SHORT;
		size_t c = msg[p];

		if (c == 0)
			break;
		if (c >= 0xc0) {
			if (len - p < 2)
				return DNS_E_SHORT;
			size_t t = (c & 0x3f) << 8 | msg[p + 1];

			if (!stop)
				stop = p + 2;
			/* the header holds no names */
			if (t >= limit || t < DNS_HDR_LEN || ++hops > DNS_PTR_HOPS)
				return DNS_E_NAME;
			p = limit = t;
			continue;
		}
		if (c > 63)	/* 0x40/0x80: obsolete extended label types */
			return DNS_E_NAME;
		if (c >= len - p)
			return DNS_E_SHORT;
		if (o != dst) {
			if (o >= oend)
				return DNS_E_NAME;
			*o++ = '.';
		}
		if ((size_t)(oend - o) < c)
			return DNS_E_NAME;

		const uint8_t *l = msg + p + 1;
		char *lo = o;
		unsigned char plain = 1;

		/* branch-free common case; redone with escapes when a byte needs one */
		for (size_t i = 0; i < c; i++) {
			char m = dns_plain[l[i]];

			lo[i] = m;
			plain &= m != 0;
		}
		o += c;
		if (!plain) {
			o = dns_label_escape(l, c, lo, oend);
			if (!o)
				return DNS_E_NAME;
		}
		p += 1 + c;
	}
	if (o == dst)
		*o++ = '.';	/* the root */
	*o = '\0';
	*dlen = (size_t)(o - dst);
	*end = stop ? stop : p + 1;
	return DNS_OK;
}

/* Advances *pos past a name without decoding it (for records we do not use). */
static inline int dns_name_skip(const uint8_t *msg, size_t len, size_t *pos)
{
	size_t p = *pos;

	for (;;) {
		if (p >= len)
			return DNS_E_SHORT;
		size_t c = msg[p];

		if (c == 0) {
			p += 1;
			break;
		}
		if (c >= 0xc0) {
			if (len - p < 2)
				return DNS_E_SHORT;
			p += 2;
			break;
		}
		if (c > 63)
			return DNS_E_NAME;
		p += 1 + c;
	}
	if (p - *pos > DNS_WIRE_NAME_MAX)
		return DNS_E_NAME;
	*pos = p;
	return DNS_OK;
}

static void dns_alias_add(struct dns_ctx *c, size_t off, unsigned id)
{
	/* pointers are 14 bits, so only offsets below 0x4000 can ever be looked up */
	if (off < 0x4000 && c->n_alias < ALIAS_MAX) {
		c->alias[c->n_alias].off = (uint16_t)off;
		c->alias[c->n_alias].id = (uint8_t)id;
		c->n_alias++;
	}
}

static bool dns_bytes_equal(const void *a, const void *b, size_t n)
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

static bool dns_name_same_bytes(const struct dns_ctx *c, unsigned id, size_t pos, size_t wlen)
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
		for (unsigned i = 0; i < c->n_alias; i++) {
			if (c->alias[i].off == t)
				return c->alias[i].id;
		}
	} else if (wend > pos) {
		if (dns_name_same_bytes(c, 0, pos, wend - pos))
			return 0;
		if (c->last && dns_name_same_bytes(c, c->last, pos, wend - pos))
			return (int)c->last;
	}
	return -1;
}

/*
 * Decodes the name at pos and adds it to the name table unless an equal name is there.
 * Returns its id, or NT_NONE when the table is full and the name unknown or the decoding
 * budget is spent (then *end is not set), or a negative dns_status; *end is set as for
 * dns_name_decode().
 */
static int dns_name_add(struct dns_ctx *c, size_t pos, size_t *end)
{
	char tmp[DNS_NAME_MAX];
	bool room = c->n_nt < NT_MAX && NT_POOL - c->pool_used >= DNS_NAME_MAX;
	char *dst = room ? c->pool + c->pool_used : tmp;
	unsigned id;
	size_t n;

	if (c->n_decodes >= DECODES_MAX)
		return NT_NONE;
	c->n_decodes++;

	int rc = dns_name_decode(c->msg, c->len, pos, dst, &n, end);

	if (rc < 0)
		return rc;
	for (id = 0; id < c->n_nt; id++) {
		if (c->nt[id].len == n && dns_bytes_equal(c->nt[id].s, dst, n))
			break;
	}
	if (id == c->n_nt) {
		if (!room)
			return NT_NONE;
		c->nt[id].s = dst;
		c->nt[id].len = n;
		c->nt[id].woff = pos;
		c->nt[id].wlen = *end - pos;
		c->last = id;
		c->n_nt++;
		c->pool_used += n + 1;
	}
	dns_alias_add(c, pos, id);
	return (int)id;
}

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

static int dns_rr_addr(struct dns_ctx *c, size_t own, size_t own_end, uint8_t family,
		       const uint8_t *rd, size_t rdlen, uint32_t ttl)
{
	struct dns_reply *out = c->out;
	size_t want = family == AF_INET ? 4 : 16;
	size_t end;

	if (rdlen != want)
		return DNS_E_RDATA;
	if (out->n_addrs >= DNS_ADDRS_MAX)
		return DNS_OK;

	int id = dns_name_intern(c, own, own_end, &end);

	if (id < 0)
		return id;
	if (id == NT_NONE)
		return DNS_OK;

	struct dns_addr *a = &out->addrs[out->n_addrs++];

	a->family = family;
	a->kind = want == 4 ? DNS_ADDR_A : DNS_ADDR_AAAA;
	if (want == 4) {
		memset(a->a, 0, sizeof(a->a));
		memcpy(a->a, rd, 4);
	} else {
		memcpy(a->a, rd, 16);
	}
	/* RFC 2181 8: a TTL with the top bit set is treated as zero */
	a->ttl = ttl & 0x80000000u ? 0 : ttl;
	a->owner = (uint8_t)id;
	a->target = (uint8_t)id;
	return DNS_OK;
}

static int dns_rr_cname(struct dns_ctx *c, size_t own, size_t own_end, size_t rd, size_t rdlen)
{
	size_t end;

	if (rdlen == 0)
		return DNS_E_RDATA;	/* would read the next record as the target */

	int from = dns_name_intern(c, own, own_end, &end);

	if (from < 0)
		return from;

	int to = dns_name_intern(c, rd, rd + rdlen, &end);

	if (to < 0)
		return to;
	if (to == NT_NONE)
		return DNS_OK;	/* not kept, maybe not even decoded: the edge is dropped */
	if (end != rd + rdlen)
		return DNS_E_RDATA;
	if (from == NT_NONE || c->n_edges >= EDGES_MAX)
		return DNS_OK;
	c->edge[c->n_edges].from = (uint8_t)from;
	c->edge[c->n_edges].to = (uint8_t)to;
	c->n_edges++;
	return DNS_OK;
}

/*
 * DNAME: the rdata must be exactly one name, as for a CNAME (its target should not be
 * compressed, RFC 6672 2.5, but is accepted like a CNAME target). Decoding waits until a
 * chain name needs it: zone-transfer-like answers carry many DNAMEs nobody follows.
 */
static __attribute__((noinline)) int dns_rr_dname(struct dns_ctx *c, size_t own, size_t own_end,
						  size_t rd, size_t rdlen)
{
	size_t end = rd;
	int rc = dns_name_skip(c->msg, c->len, &end);

	if (rc < 0)
		return rc;
	if (end != rd + rdlen)
		return DNS_E_RDATA;
	if (c->n_dname < DNAMES_MAX) {
		struct dns_dname *d = &c->dname[c->n_dname++];

		d->own = own;
		d->own_end = own_end;
		d->rd = rd;
		d->rd_end = end;
		d->from = d->to = DN_TODO;
	}
	return DNS_OK;
}

/* Offset just past the uncompressed name at p that must end before end, or 0. */
static size_t dns_name_end_plain(const uint8_t *msg, size_t p, size_t end)
{
	size_t start = p;

	while (p < end) {
		size_t c = msg[p];

		if (c == 0)
			return p + 1 - start <= DNS_WIRE_NAME_MAX ? p + 1 : 0;
		if (c > 63)	/* a pointer, or an extended label type */
			return 0;
		p += 1 + c;
	}
	return 0;
}

/* Whether a SvcParamValue has the shape RFC 9460 (and 9540 for ohttp) gives its key. */
static bool dns_svc_value_ok(unsigned key, const uint8_t *v, size_t n)
{
	switch (key) {
	case SVC_MANDATORY:
		if (n == 0 || n % 2)
			return false;
		/* strictly increasing, and never listing itself */
		for (size_t i = 0; i < n; i += 2) {
			if (rd16(v + i) == SVC_MANDATORY || (i && rd16(v + i) <= rd16(v + i - 2)))
				return false;
		}
		return true;
	case SVC_ALPN:
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i += 1 + (size_t)v[i]) {
			if (v[i] == 0 || v[i] > n - i - 1)
				return false;
		}
		return true;
	case SVC_NO_DEFAULT_ALPN:
	case SVC_OHTTP:
		return n == 0;
	case SVC_PORT:
		return n == 2;
	case SVC_IPV4HINT:
		return n && n % 4 == 0;
	case SVC_IPV6HINT:
		return n && n % 16 == 0;
	case SVC_INVALID:
		return false;
	}
	return true;
}

/*
 * Checks the SvcParams in [p, end) (RFC 9460 2.2: every param inside the rdata, keys
 * strictly increasing, values well formed) and finds the address hints: v4 and v6 get the
 * value offsets (0 if absent), n4 and n6 their lengths.
 */
static bool dns_svc_params(const uint8_t *msg, size_t p, size_t end, size_t *v4, size_t *n4,
			   size_t *v6, size_t *n6)
{
	long prev = -1;

	*v4 = *n4 = *v6 = *n6 = 0;
	while (p < end) {
		if (end - p < 4)
			return false;

		unsigned key = rd16(msg + p);
		size_t n = rd16(msg + p + 2);

		p += 4;
		if ((long)key <= prev || end - p < n || !dns_svc_value_ok(key, msg + p, n))
			return false;
		prev = key;
		if (key == SVC_IPV4HINT) {
			*v4 = p;
			*n4 = n;
		} else if (key == SVC_IPV6HINT) {
			*v6 = p;
			*n6 = n;
		}
		p += n;
	}
	return true;
}

static void dns_hints_add(struct dns_ctx *c, const uint8_t *v, size_t n, uint8_t family,
			  uint32_t ttl, int owner, int target)
{
	struct dns_reply *out = c->out;
	size_t w = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i + w <= n && out->n_addrs < DNS_ADDRS_MAX; i += w) {
		struct dns_addr *a = &out->addrs[out->n_addrs++];

		a->family = family;
		a->kind = DNS_ADDR_HINT;
		memset(a->a, 0, sizeof(a->a));
		memcpy(a->a, v + i, w);
		a->ttl = ttl & 0x80000000u ? 0 : ttl;
		a->owner = (uint8_t)owner;
		a->target = (uint8_t)target;
	}
}

/*
 * SVCB and HTTPS (RFC 9460): SvcPriority, an uncompressed TargetName, then SvcParams. A
 * malformed record is counted and skipped; only a bad owner name fails the message, as it
 * would for any record we use.
 */
static __attribute__((noinline)) int dns_rr_svcb(struct dns_ctx *c, size_t own, size_t own_end,
						 size_t rd, size_t rdlen, uint32_t ttl)
{
	const uint8_t *msg = c->msg;
	size_t end = rd + rdlen, tgt = rd + 2, tend = 0, v4 = 0, n4 = 0, v6 = 0, n6 = 0, e;
	bool alias = rdlen >= 2 && rd16(msg + rd) == 0;
	int from, to;

	if (rdlen >= 3)
		tend = dns_name_end_plain(msg, tgt, end);
	/* AliasMode: SvcParams MUST be ignored (RFC 9460 2.4.2), so they cannot be malformed */
	if (!tend || (!alias && !dns_svc_params(msg, tend, end, &v4, &n4, &v6, &n6)))
		goto bad;
	if (alias && msg[tgt] == 0)
		return DNS_OK;	/* "." in AliasMode: the service does not exist */

	from = dns_name_intern(c, own, own_end, &e);
	if (from < 0)
		return from;
	if (from == NT_NONE)
		return DNS_OK;
	to = from;
	if (msg[tgt] != 0) {
		to = dns_name_intern(c, tgt, tend, &e);
		if (to < 0)
			goto bad;	/* e.g. too long once escaped */
		if (to == NT_NONE)
			return DNS_OK;
		if (c->n_svcb < SVCB_MAX) {
			c->svcb[c->n_svcb].from = (uint8_t)from;
			c->svcb[c->n_svcb].to = (uint8_t)to;
			c->n_svcb++;
		}
	}
	dns_hints_add(c, msg + v4, n4, AF_INET, ttl, from, to);
	dns_hints_add(c, msg + v6, n6, AF_INET6, ttl, from, to);
	return DNS_OK;
bad:
	if (c->out->n_bad_svcb < UINT16_MAX)
		c->out->n_bad_svcb++;
	return DNS_OK;
}

static int dns_parse_answers(struct dns_ctx *c, size_t p, unsigned ancount)
{
	const uint8_t *msg = c->msg;
	size_t len = c->len;

	for (unsigned i = 0; i < ancount; i++) {
		size_t own = p;
		int rc = dns_name_skip(msg, len, &p);
		size_t own_end = p;

		if (rc < 0)
			return rc;
		if (len - p < DNS_RR_FIXED)
			return DNS_E_SHORT;

		uint16_t type = rd16(msg + p);
		uint16_t class = rd16(msg + p + 2);
		uint32_t ttl = rd32(msg + p + 4);
		size_t rdlen = rd16(msg + p + 8);

		p += DNS_RR_FIXED;
		if (len - p < rdlen)
			return DNS_E_SHORT;
		if (class == DNS_C_IN && type <= DNS_T_MAX_USED &&
		    (DNS_T_USED_BITS >> (type & 63) & 1)) {
			if (type == DNS_T_A)
				rc = dns_rr_addr(c, own, own_end, AF_INET, msg + p, rdlen, ttl);
			else if (type == DNS_T_AAAA)
				rc = dns_rr_addr(c, own, own_end, AF_INET6, msg + p, rdlen, ttl);
			else if (type == DNS_T_CNAME)
				rc = dns_rr_cname(c, own, own_end, p, rdlen);
			else if (type == DNS_T_HTTPS || type == DNS_T_SVCB)
				rc = dns_rr_svcb(c, own, own_end, p, rdlen, ttl);
			else if (type == DNS_T_DNAME)
				rc = dns_rr_dname(c, own, own_end, p, rdlen);
			if (rc < 0)
				return rc;
		}
		p += rdlen;
	}
	return DNS_OK;
}

/* Id of the name table entry equal to s[0..n), adding it if there is room; -1 if none. */
static int dns_name_lookup_add(struct dns_ctx *c, const char *s, size_t n)
{
	for (unsigned id = 0; id < c->n_nt; id++) {
		if (c->nt[id].len == n && dns_bytes_equal(c->nt[id].s, s, n))
			return (int)id;
	}
	if (c->n_nt >= NT_MAX || NT_POOL - c->pool_used < n + 1)
		return -1;

	char *dst = c->pool + c->pool_used;

	memcpy(dst, s, n);
	dst[n] = '\0';
	c->nt[c->n_nt].s = dst;
	c->nt[c->n_nt].len = n;
	c->nt[c->n_nt].woff = 0;
	c->nt[c->n_nt].wlen = 0;	/* not on the wire: never matched by bytes */
	c->pool_used += n + 1;
	return (int)c->n_nt++;
}

/*
 * Depth of the DNAME owner o (length n) above name s (length sn): 0 if s is not strictly
 * below o, else a value that grows with the owner's length (1 for the root, below which
 * every other name is), so that the closest owner has the greatest depth.
 * A '.' in a presentation name always separates labels (one inside a label is \046), so a
 * suffix that starts after a '.' is a whole-label suffix.
 */
static size_t dns_dname_depth(const char *s, size_t sn, const char *o, size_t n)
{
	bool s_root = sn == 1 && s[0] == '.';

	if (n == 1 && o[0] == '.')
		return s_root ? 0 : 1;
	if (sn <= n + 1 || s[sn - n - 1] != '.' || !dns_bytes_equal(s + sn - n, o, n))
		return 0;
	return 2 + n;
}

/* Name table id for a lazily decoded DNAME name; NT_NONE when it is malformed or lost. */
static uint8_t dns_dname_id(struct dns_ctx *c, uint8_t *id, size_t pos, size_t wend)
{
	size_t end;

	if (*id == DN_TODO) {
		int rc = dns_name_intern(c, pos, wend, &end);

		*id = rc < 0 ? NT_NONE : (uint8_t)rc;
	}
	return *id;
}

/*
 * Rewrites name cur by the closest DNAME above it (RFC 6672: the labels below the owner are
 * kept, the owner replaced by the target). Returns the id of the result, or -1 when no
 * DNAME applies, the result is too long, or the name table is full. A DNAME whose names
 * turn out malformed when decoded here is ignored: the answer pass has already succeeded.
 */
static int dns_dname_apply(struct dns_ctx *c, unsigned cur)
{
	const char *s = c->nt[cur].s;
	size_t sn = c->nt[cur].len, best_depth = 0;
	int best = -1;

	for (unsigned i = 0; i < c->n_dname; i++) {
		struct dns_dname *dn = &c->dname[i];
		uint8_t o = dns_dname_id(c, &dn->from, dn->own, dn->own_end);

		if (o == NT_NONE)
			continue;

		size_t d = dns_dname_depth(s, sn, c->nt[o].s, c->nt[o].len);

		if (d > best_depth) {
			best_depth = d;
			best = (int)i;
		}
	}
	if (best < 0)
		return -1;

	struct dns_dname *dn = &c->dname[best];
	const unsigned o = dn->from, t = dns_dname_id(c, &dn->to, dn->rd, dn->rd_end);

	if (t == NT_NONE)
		return -1;

	size_t keep = best_depth == 1 ? sn : sn - c->nt[o].len - 1;
	bool t_root = c->nt[t].len == 1 && c->nt[t].s[0] == '.';
	size_t n = t_root ? keep : keep + 1 + c->nt[t].len;
	char tmp[DNS_NAME_MAX];

	if (n > DNS_PRES_MAX)
		return -1;	/* YXDOMAIN: the rewritten name would be too long */
	memcpy(tmp, s, keep);
	if (!t_root) {
		tmp[keep] = '.';
		memcpy(tmp + keep + 1, c->nt[t].s, c->nt[t].len);
	}
	return dns_name_lookup_add(c, tmp, n);
}

static int dns_chain_next(struct dns_ctx *c, unsigned cur)
{
	for (unsigned e = 0; e < c->n_edges; e++) {
		if (c->edge[e].from == cur)
			return c->edge[e].to;
	}
	return c->n_dname ? dns_dname_apply(c, cur) : -1;
}

static void dns_name_append(struct dns_ctx *c, uint8_t *pos_of, unsigned id)
{
	struct dns_reply *out = c->out;

	pos_of[id] = (uint8_t)out->n_names;
	memcpy(out->names[out->n_names], c->nt[id].s, c->nt[id].len + 1);
	out->n_names++;
}

/*
 * Follows CNAME/DNAME links from the question name, adds the SVCB/HTTPS targets of the
 * chain, and keeps only addresses owned by these names; hints only from records owned by
 * the chain itself (not by a target), and only when their target is a name too. Out of
 * line: most replies have no links and take the short path in dns_build_chain().
 */
static __attribute__((noinline)) void dns_build_links(struct dns_ctx *c)
{
	struct dns_reply *out = c->out;
	uint8_t pos_of[NT_MAX];
	unsigned cur = 0;
	size_t k = 0;

	memset(pos_of, NT_NONE, sizeof(pos_of));
	pos_of[0] = 0;
	out->n_names = 1;
	while ((c->n_edges || c->n_dname) && out->n_names < DNS_NAMES_MAX) {
		int next = dns_chain_next(c, cur);

		if (next < 0 || pos_of[next] != NT_NONE)
			break;	/* end of the chain, or a loop */
		cur = (unsigned)next;
		dns_name_append(c, pos_of, cur);
	}
	out->n_chain = out->n_names;
	for (unsigned i = 0; i < c->n_svcb && out->n_names < DNS_NAMES_MAX; i++) {
		uint8_t from = pos_of[c->svcb[i].from];

		if (from < out->n_chain && pos_of[c->svcb[i].to] == NT_NONE)
			dns_name_append(c, pos_of, c->svcb[i].to);
	}
	for (size_t i = 0; i < out->n_addrs; i++) {
		struct dns_addr *a = &out->addrs[i];
		uint8_t p = pos_of[a->owner], t = pos_of[a->target];

		if (p == NT_NONE || t == NT_NONE || (a->kind == DNS_ADDR_HINT && p >= out->n_chain))
			continue;
		if (k != i)
			out->addrs[k] = *a;
		out->addrs[k].owner = p;
		out->addrs[k++].target = t;
	}
	out->n_addrs = k;
}

static inline void dns_build_chain(struct dns_ctx *c)
{
	struct dns_reply *out = c->out;
	size_t k = 0;

	if (c->n_edges || c->n_dname || c->n_svcb) {
		dns_build_links(c);
		return;
	}
	/* no links: the question name is the only name, and every hint targets its owner */
	out->n_chain = out->n_names = 1;
	for (size_t i = 0; i < out->n_addrs; i++) {
		if (out->addrs[i].owner != 0)
			continue;
		if (k != i)
			out->addrs[k] = out->addrs[i];
		k++;
	}
	out->n_addrs = k;
}

int dns_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *out)
{
	struct dns_ctx c;
	size_t qlen, p;
	int rc;

	if (len < DNS_HDR_LEN)
		return DNS_E_SHORT;

	uint16_t flags = rd16(msg + 2);
	uint16_t qdcount = rd16(msg + 4);

	out->id = rd16(msg);
	out->rcode = flags & DNS_RCODE_MASK;
	out->truncated = flags & DNS_F_TC;
	out->qtype = 0;
	out->n_bad_svcb = 0;
	out->n_chain = 0;
	out->n_names = 0;
	out->n_addrs = 0;
	if (!(flags & DNS_F_QR))
		return DNS_E_NOTREPLY;
	/* error replies often carry no question; the rcode is the better diagnosis */
	if (qdcount != 1)
		return out->rcode ? DNS_E_RCODE : DNS_E_QDCOUNT;

	rc = dns_name_decode(msg, len, DNS_HDR_LEN, out->names[0], &qlen, &p);
	if (rc == DNS_OK && len - p < 4)
		rc = DNS_E_SHORT;
	if (rc == DNS_OK) {
		out->qtype = rd16(msg + p);
		out->n_chain = 1;
		out->n_names = 1;
		p += 4;
	}
	if (out->rcode)
		return DNS_E_RCODE;
	if (rc < 0)
		return rc;

	c.msg = msg;
	c.len = len;
	c.out = out;
	c.n_nt = 1;
	c.nt[0].s = out->names[0];
	c.nt[0].len = qlen;
	c.nt[0].woff = DNS_HDR_LEN;
	c.nt[0].wlen = p - 4 - DNS_HDR_LEN;
	c.alias[0].off = DNS_HDR_LEN;
	c.alias[0].id = 0;
	c.n_alias = 1;
	c.n_edges = 0;
	c.n_dname = 0;
	c.n_svcb = 0;
	c.n_decodes = 0;
	c.last = 0;
	c.pool_used = 0;

	rc = dns_parse_answers(&c, p, rd16(msg + 6));
	if (rc < 0)
		return rc;
	dns_build_chain(&c);
	return DNS_OK;
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *out)
{
	size_t n, p;
	int rc;

	out->id = 0;
	out->qtype = 0;
	out->qclass = 0;
	out->name[0] = '\0';
	if (len < DNS_HDR_LEN)
		return DNS_E_SHORT;

	uint16_t flags = rd16(msg + 2);

	out->id = rd16(msg);
	if (flags & DNS_F_QR)
		return DNS_E_NOTQUERY;
	if ((flags >> DNS_OPCODE_SHIFT) & DNS_OPCODE_MASK)
		return DNS_E_OPCODE;
	if (rd16(msg + 4) != 1)
		return DNS_E_QDCOUNT;
	rc = dns_name_decode(msg, len, DNS_HDR_LEN, out->name, &n, &p);
	if (rc == DNS_OK && len - p < 4)
		rc = DNS_E_SHORT;
	if (rc < 0) {
		out->name[0] = '\0';
		return rc;
	}
	out->qtype = rd16(msg + p);
	out->qclass = rd16(msg + p + 2);
	return DNS_OK;
}

const char *dns_addr_kind_name(unsigned kind)
{
	switch (kind) {
	case DNS_ADDR_A:
		return "A";
	case DNS_ADDR_AAAA:
		return "AAAA";
	case DNS_ADDR_HINT:
		return "hint";
	}
	return "?";
}

const char *dns_strerror(int status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_E_SHORT:
		return "message truncated or record runs past its end";
	case DNS_E_NOTREPLY:
		return "not a reply (QR bit clear)";
	case DNS_E_QDCOUNT:
		return "not exactly one question";
	case DNS_E_NAME:
		return "malformed name (bad label, bad compression pointer or too long)";
	case DNS_E_RCODE:
		return "reply carries an error rcode";
	case DNS_E_RDATA:
		return "A, AAAA, CNAME or DNAME record data of the wrong length";
	case DNS_E_NOTQUERY:
		return "not a query (QR bit set)";
	case DNS_E_OPCODE:
		return "query opcode is not QUERY";
	}
	return "unknown DNS parser status";
}
