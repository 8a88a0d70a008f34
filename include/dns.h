#ifndef NFQR_DNS_H
#define NFQR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 254	/* presentation length without trailing dot, plus NUL */
#define DNS_NAMES_MAX 16	/* question name + alias chain + SVCB/HTTPS targets */
#define DNS_ADDRS_MAX 64	/* addresses kept from one reply */

/* Where an address was learned from. */
enum dns_addr_kind {
	DNS_ADDR_A = 0,		/* A record */
	DNS_ADDR_AAAA = 1,	/* AAAA record */
	DNS_ADDR_HINT = 2,	/* SVCB/HTTPS ipv4hint or ipv6hint (family tells which) */
};

struct dns_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t a[16];
	uint8_t kind;		/* enum dns_addr_kind */
	uint8_t owner;		/* index into dns_reply.names of the record's owner */
	uint8_t target;		/* HINT: index of the TargetName (owner for "."); else owner */
	uint32_t ttl;
};

/*
 * A DNS reply reduced to what routing needs. names[0] is the question name and
 * names[1..n_chain) the alias chain in resolution order: CNAME targets, and names rewritten
 * by a DNAME record (owner X, target T: a name strictly below X becomes the same labels
 * below T) where no CNAME continues the chain. names[n_chain..n_names) are the TargetNames
 * of SVCB/HTTPS records owned by a chain name (other than "."), which a client connects to
 * instead. Only addresses owned by one of these names are kept, so unrelated records in
 * the answer section teach nothing. Names are lowercase, without trailing dot; bytes
 * outside [a-z0-9-_.] are written as \DDD escapes (a '.' inside a label is \046), so equal
 * strings mean equal names. The root name is ".".
 */
struct dns_reply {
	uint16_t id;
	uint16_t qtype;
	uint8_t rcode;
	bool truncated;
	uint16_t n_bad_svcb;	/* SVCB/HTTPS records skipped as malformed (see below) */
	size_t n_chain;
	size_t n_names;
	char names[DNS_NAMES_MAX][DNS_NAME_MAX];
	size_t n_addrs;
	struct dns_addr addrs[DNS_ADDRS_MAX];
};

/* A DNS query reduced to what routing by name needs. name is normalised as reply names. */
struct dns_query {
	uint16_t id;
	uint16_t qtype;
	uint16_t qclass;
	char name[DNS_NAME_MAX];
};

enum dns_status {
	DNS_OK = 0,
	DNS_E_SHORT = -1,	/* header or record runs past the message */
	DNS_E_NOTREPLY = -2,	/* QR bit clear */
	DNS_E_QDCOUNT = -3,	/* not exactly one question */
	DNS_E_NAME = -4,	/* bad label, pointer loop, forward pointer or name too long */
	DNS_E_RCODE = -5,	/* rcode other than NOERROR: nothing to learn */
	DNS_E_RDATA = -6,	/* A/AAAA/CNAME/DNAME rdata of the wrong length */
	DNS_E_NOTQUERY = -7,	/* QR bit set where a query was expected */
	DNS_E_OPCODE = -8,	/* query with an opcode other than QUERY (NOTIFY, UPDATE, ...) */
};

/*
 * Parses one DNS message (UDP payload, or a TCP message without its length prefix) into
 * *out without allocating. Every length, count and compression pointer is checked against
 * len; pointers must point backwards and chains are bounded. Only the header, question and
 * answer section are read; what follows (authority, additional, trailing bytes) is ignored.
 * Records of class IN are used, in any order: A and AAAA are kept with their TTL (a TTL
 * with the top bit set reads as 0); CNAME and DNAME build the alias chain (a CNAME wins
 * over a DNAME for the same name; of several DNAMEs above a name the closest one applies;
 * a rewritten name longer than 253 characters ends the chain); SVCB (64) and HTTPS (65)
 * records add their TargetName and, in ServiceMode (SvcPriority > 0), their ipv4hint and
 * ipv6hint addresses as DNS_ADDR_HINT with the record's owner and TargetName. A malformed
 * A, AAAA, CNAME or DNAME rejects the message (DNS_E_RDATA); a malformed SVCB or
 * HTTPS record (compressed or bad TargetName, SvcParam running past the rdata, keys not
 * strictly increasing, key 65535, a known key with a value of the wrong length or shape) is
 * skipped whole and counted in n_bad_svcb, because its framing is self-contained and the
 * rest of the answer is still trustworthy. SvcParams of an AliasMode record are ignored
 * unparsed (RFC 9460 2.4.2). DNAME names are decoded only when the chain reaches a name
 * that has no CNAME; one whose owner or target then turns out malformed is ignored.
 * Addresses beyond DNS_ADDRS_MAX, names beyond DNS_NAMES_MAX, and links closing a loop are
 * dropped silently. Returns DNS_OK or a negative enum dns_status; on error *out is
 * unspecified, except that for DNS_E_RCODE id, rcode and truncated are set, and n_names
 * (== n_chain) is 1 with names[0] and qtype set when the single question was well formed.
 */
int dns_parse_reply(const uint8_t *msg, size_t len, struct dns_reply *out);

/*
 * Parses a DNS query (QR clear, opcode QUERY, exactly one question) into *out without
 * allocating; the name is decoded and normalised exactly like reply names (a compression
 * pointer in the question is malformed, there is nothing before it to point to). Sections
 * after the question (EDNS OPT, trailing bytes) are ignored. Returns DNS_OK, DNS_E_SHORT,
 * DNS_E_NOTQUERY (QR set), DNS_E_OPCODE, DNS_E_QDCOUNT or DNS_E_NAME; id is set whenever
 * the header is complete, name is "" and qtype/qclass 0 unless DNS_OK is returned.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *out);

/* Returns a short constant name for an enum dns_addr_kind value ("A", "AAAA", "hint"). */
const char *dns_addr_kind_name(unsigned kind);

/* Returns a short human-readable text for a dns_status value. */
const char *dns_strerror(int status);

#endif
