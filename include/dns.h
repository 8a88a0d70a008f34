#ifndef NFQR_DNS_H
#define NFQR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 254	/* presentation length without trailing dot, plus NUL */
#define DNS_NAMES_MAX 16	/* question name + CNAME chain */
#define DNS_ADDRS_MAX 64	/* addresses kept from one reply */

struct dns_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t a[16];
	uint32_t ttl;
	uint8_t owner;		/* index into dns_reply.names of the record's owner */
};

/*
 * A DNS reply reduced to what routing needs. names[0] is the question name, names[1..]
 * the CNAME chain in resolution order. Only addresses owned by a name of that chain are
 * kept, so unrelated records in the answer section teach nothing. Names are lowercase,
 * without trailing dot; bytes outside [a-z0-9-_.] are written as \DDD escapes (a '.'
 * inside a label is \046), so equal strings mean equal names. The root name is ".".
 */
struct dns_reply {
	uint16_t id;
	uint16_t qtype;
	uint8_t rcode;
	bool truncated;
	size_t n_names;
	char names[DNS_NAMES_MAX][DNS_NAME_MAX];
	size_t n_addrs;
	struct dns_addr addrs[DNS_ADDRS_MAX];
};

enum dns_status {
	DNS_OK = 0,
	DNS_E_SHORT = -1,	/* header or record runs past the message */
	DNS_E_NOTREPLY = -2,	/* QR bit clear */
	DNS_E_QDCOUNT = -3,	/* not exactly one question */
	DNS_E_NAME = -4,	/* bad label, pointer loop, forward pointer or name too long */
	DNS_E_RCODE = -5,	/* rcode other than NOERROR: nothing to learn */
	DNS_E_RDATA = -6,	/* A/AAAA/CNAME rdata of the wrong length */
};

/*
 * Parses one DNS message (UDP payload, or a TCP message without its length prefix) into
 * *out without allocating. Every length, count and compression pointer is checked against
 * len; pointers must point backwards and chains are bounded. Only the header, question and
 * answer section are read; what follows (authority, additional, trailing bytes) is ignored.
 * A and AAAA records of class IN are kept with their TTL (a TTL with the top bit set reads
 * as 0); addresses beyond DNS_ADDRS_MAX, and CNAME links beyond DNS_NAMES_MAX or closing a
 * loop, are dropped silently. Returns DNS_OK or a negative enum dns_status; on error *out
 * is unspecified, except that for DNS_E_RCODE id, rcode and truncated are set, and
 * n_names is 1 with names[0] and qtype set when the single question was well formed.
 */
int dns_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *out);

/* Returns a short human-readable text for a dns_status value. */
const char *dns_strerror(int status);

#endif
