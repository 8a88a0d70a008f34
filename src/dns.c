/*
 * DNS reply parser: one pass over header, question and answer section into a caller-owned
 * struct, no allocation. Names are decoded once into a small per-call table so that records
 * may refer to each other in any order; the CNAME chain and the address filter are built
 * from that table after the pass.
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
#define DNS_RCODE_MASK 0x000f

#define DNS_T_A 1
#define DNS_T_CNAME 5
#define DNS_T_AAAA 28
#define DNS_C_IN 1

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
/*
 * Decoding is the expensive step; a crafted 64 KiB answer section could otherwise make
 * thousands of long, pointer-heavy names be decoded for one packet. Real replies decode a
 * handful (known names are recognised without decoding).
 */
#define DECODES_MAX 64

struct dns_ctx {
	const uint8_t *msg;
	size_t len;
	struct dns_reply *out;
	unsigned n_nt, n_alias, n_edges, n_decodes;
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
	struct {
		uint8_t from, to;
	} edge[EDGES_MAX];
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
static int dns_name_skip(const uint8_t *msg, size_t len, size_t *pos)
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
	if (want == 4) {
		memset(a->a, 0, sizeof(a->a));
		memcpy(a->a, rd, 4);
	} else {
		memcpy(a->a, rd, 16);
	}
	/* RFC 2181 8: a TTL with the top bit set is treated as zero */
	a->ttl = ttl & 0x80000000u ? 0 : ttl;
	a->owner = (uint8_t)id;
	return DNS_OK;
}

static int dns_rr_cname(struct dns_ctx *c, size_t own, size_t own_end, size_t rd, size_t rdlen)
{
	size_t end;
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
		if (class == DNS_C_IN) {
			if (type == DNS_T_A)
				rc = dns_rr_addr(c, own, own_end, AF_INET, msg + p, rdlen, ttl);
			else if (type == DNS_T_AAAA)
				rc = dns_rr_addr(c, own, own_end, AF_INET6, msg + p, rdlen, ttl);
			else if (type == DNS_T_CNAME)
				rc = dns_rr_cname(c, own, own_end, p, rdlen);
			if (rc < 0)
				return rc;
		}
		p += rdlen;
	}
	return DNS_OK;
}

/* Follows CNAME edges from the question name and keeps only addresses owned by the chain. */
static void dns_build_chain(struct dns_ctx *c)
{
	struct dns_reply *out = c->out;
	uint8_t pos_of[NT_MAX];
	unsigned cur = 0;
	size_t k = 0;

	memset(pos_of, NT_NONE, sizeof(pos_of));
	pos_of[0] = 0;
	out->n_names = 1;
	while (c->n_edges && out->n_names < DNS_NAMES_MAX) {
		unsigned e;

		for (e = 0; e < c->n_edges && c->edge[e].from != cur; e++)
			;
		if (e == c->n_edges)
			break;
		cur = c->edge[e].to;
		if (pos_of[cur] != NT_NONE)
			break;	/* CNAME loop */
		pos_of[cur] = (uint8_t)out->n_names;
		memcpy(out->names[out->n_names], c->nt[cur].s, c->nt[cur].len + 1);
		out->n_names++;
	}
	for (size_t i = 0; i < out->n_addrs; i++) {
		uint8_t p = pos_of[out->addrs[i].owner];

		if (p == NT_NONE)
			continue;
		if (k != i)
			out->addrs[k] = out->addrs[i];
		out->addrs[k++].owner = p;
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
	c.n_decodes = 0;
	c.last = 0;
	c.pool_used = 0;

	rc = dns_parse_answers(&c, p, rd16(msg + 6));
	if (rc < 0)
		return rc;
	dns_build_chain(&c);
	return DNS_OK;
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
		return "A, AAAA or CNAME record data of the wrong length";
	}
	return "unknown DNS parser status";
}
