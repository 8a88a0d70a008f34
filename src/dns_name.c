/*
 * DNS name decoding: wire names (with compression pointers) into presentation form, and
 * the per-call name table that lets records refer to names already seen.
 */
#include <string.h>

#include "dns_int.h"

/*
 * Pointers must point strictly backwards, so they cannot loop; the hop bound only caps the
 * work an adversarial message can cause. Real encoders need one pointer per name, deep
 * suffix sharing a handful.
 */
#define DNS_PTR_HOPS 64

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
int dns_name_decode(const uint8_t *msg, size_t len, size_t pos, char *dst,
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

static void dns_alias_add(struct dns_ctx *c, size_t off, unsigned id)
{
	/*
	 * Pointers are 14 bits, so only offsets below 0x4000 can ever be looked up. Names
	 * decoded after the answer pass (DNAMEs) lie behind it and would break the order the
	 * search relies on; they are rare enough to be decoded again.
	 */
	if (off < 0x4000 && c->n_alias < ALIAS_MAX && off > c->alias[c->n_alias - 1].off) {
		c->alias[c->n_alias].off = (uint16_t)off;
		c->alias[c->n_alias].id = (uint8_t)id;
		c->n_alias++;
	}
}

/*
 * Decodes the name at pos and adds it to the name table unless an equal name is there.
 * Returns its id, or NT_NONE when the table is full and the name unknown or the decoding
 * budget is spent (then *end is not set, and the reply is marked partial), or a negative
 * dns_status; *end is set as for dns_name_decode().
 */
int dns_name_add(struct dns_ctx *c, size_t pos, size_t *end)
{
	char tmp[DNS_NAME_MAX];
	bool room = c->n_nt < NT_MAX && NT_POOL - c->pool_used >= DNS_NAME_MAX;
	char *dst = room ? c->pool + c->pool_used : tmp;
	unsigned id;
	size_t n;

	if (c->n_decodes >= DECODES_MAX) {
		c->lost = true;
		return NT_NONE;
	}
	c->n_decodes++;

	int rc = dns_name_decode(c->msg, c->len, pos, dst, &n, end);

	if (rc < 0)
		return rc;
	for (id = 0; id < c->n_nt; id++) {
		if (c->nt[id].len == n && dns_bytes_equal(c->nt[id].s, dst, n))
			break;
	}
	if (id == c->n_nt) {
		if (!room) {
			c->lost = true;
			return NT_NONE;
		}
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
