/*
 * DNS message parser: one pass over header, question and answer section into a
 * caller-owned struct, no allocation. Names are decoded once into a small per-call table so
 * that records may refer to each other in any order; the alias chain (CNAME, DNAME), the
 * SVCB/HTTPS targets and the address filter are built from that table after the pass.
 *
 * Name decoding and the name table are in dns_name.c, SVCB/HTTPS records in dns_svcb.c.
 */
#include <string.h>
#include <sys/socket.h>

#include "dns_int.h"

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

static int dns_rr_addr(struct dns_ctx *c, size_t own, size_t own_end, uint8_t family,
		       const uint8_t *rd, size_t rdlen, uint32_t ttl)
{
	struct dns_reply *out = c->out;
	size_t want = family == AF_INET ? 4 : 16;
	size_t end;

	if (rdlen != want)
		return DNS_E_RDATA;
	if (out->n_addrs >= DNS_ADDRS_MAX) {
		c->lost = true;	/* only hints can fill it: every A record of a message fits */
		return DNS_OK;
	}

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
	if (from == NT_NONE)
		return DNS_OK;
	if (c->n_edges >= EDGES_MAX) {
		c->lost = true;
		return DNS_OK;
	}
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
		d->from = d->to = DN_PENDING;
	} else {
		c->lost = true;
	}
	return DNS_OK;
}

/*
 * Reads ancount records from p. A malformed record ends the pass: the first one fails the
 * message, a later one only makes the reply partial (c->partial), the records before it
 * standing as read.
 */
static int dns_parse_answers(struct dns_ctx *c, size_t p, unsigned ancount)
{
	const uint8_t *msg = c->msg;
	size_t len = c->len;

	for (unsigned i = 0; i < ancount; i++) {
		size_t own = p;
		int rc = dns_name_skip(msg, len, &p);
		size_t own_end = p;

		if (rc == DNS_OK && len - p < DNS_RR_FIXED)
			rc = DNS_E_SHORT;
		if (rc < 0)
			goto bad;

		uint16_t type = rd16(msg + p);
		uint16_t class = rd16(msg + p + 2);
		uint32_t ttl = rd32(msg + p + 4);
		size_t rdlen = rd16(msg + p + 8);

		p += DNS_RR_FIXED;
		if (len - p < rdlen) {
			rc = DNS_E_SHORT;
			goto bad;
		}
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
				goto bad;
		}
		p += rdlen;
		continue;
bad:
		if (i == 0)
			return rc;	/* nothing valid precedes it: the message is rejected */
		c->partial = rc;
		break;
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
	if (c->n_nt >= NT_MAX || NT_POOL - c->pool_used < n + 1) {
		c->lost = true;
		return -1;
	}

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

	if (*id == DN_PENDING) {
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
	while (c->n_edges || c->n_dname) {
		int next = dns_chain_next(c, cur);

		if (next < 0 || pos_of[next] != NT_NONE)
			break;	/* end of the chain, or a loop */
		if (out->n_names >= DNS_NAMES_MAX) {
			c->lost = true;
			break;
		}
		cur = (unsigned)next;
		dns_name_append(c, pos_of, cur);
	}
	out->n_chain = out->n_names;
	for (unsigned i = 0; i < c->n_svcb; i++) {
		uint8_t from = pos_of[c->svcb[i].from];

		if (from >= out->n_chain || pos_of[c->svcb[i].to] != NT_NONE)
			continue;
		if (out->n_names >= DNS_NAMES_MAX) {
			c->lost = true;
			break;
		}
		dns_name_append(c, pos_of, c->svcb[i].to);
	}
	for (size_t i = 0; i < out->n_addrs; i++) {
		struct dns_addr *a = &out->addrs[i];
		uint8_t p = pos_of[a->owner], t = pos_of[a->target];

		if (p == NT_NONE || t == NT_NONE || (a->kind == DNS_ADDR_HINT && p >= out->n_chain)) {
			out->n_unowned += a->kind != DNS_ADDR_HINT;
			continue;
		}
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
		if (out->addrs[i].owner != 0) {
			out->n_unowned += out->addrs[i].kind != DNS_ADDR_HINT;
			continue;
		}
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
	out->n_unowned = 0;
	out->partial = DNS_OK;
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
	c.lost = false;
	c.partial = DNS_OK;

	rc = dns_parse_answers(&c, p, rd16(msg + 6));
	if (rc < 0)
		return rc;
	dns_build_chain(&c);
	/* a malformed record says more than a limit: it is the one to report */
	out->partial = c.partial ? c.partial : c.lost ? DNS_E_LIMIT : DNS_OK;
	return out->partial ? DNS_PARTIAL : DNS_OK;
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
	case DNS_PARTIAL:
		return "answer used up to a malformed record or a parser limit";
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
	case DNS_E_LIMIT:
		return "more names or addresses than the parser keeps";
	}
	return "unknown DNS parser status";
}
