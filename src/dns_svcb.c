/*
 * SVCB and HTTPS records (RFC 9460): TargetName and SvcParams are checked, the target is
 * linked to the owner and the ipv4hint/ipv6hint addresses become DNS_ADDR_HINT entries.
 */
#include <string.h>
#include <sys/socket.h>

#include "dns_int.h"

/* RFC 9460 SvcParamKeys whose value format is checked; others are opaque */
#define SVC_MANDATORY 0
#define SVC_ALPN 1
#define SVC_NO_DEFAULT_ALPN 2
#define SVC_PORT 3
#define SVC_IPV4HINT 4
#define SVC_IPV6HINT 6
#define SVC_OHTTP 8		/* RFC 9540 */
#define SVC_INVALID 65535

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

	for (size_t i = 0; i + w <= n; i += w) {
		if (out->n_addrs >= DNS_ADDRS_MAX) {
			c->lost = true;
			return;
		}

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
__attribute__((noinline)) int dns_rr_svcb(struct dns_ctx *c, size_t own, size_t own_end,
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
		} else {
			c->lost = true;
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
