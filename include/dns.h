#ifndef NFQR_DNS_H
#define NFQR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 254	/* presentation length without trailing dot, plus NUL */
/*
 * Question name + alias chain + SVCB/HTTPS targets. Resolvers give up on chains far shorter
 * (BIND after 16 links, Unbound after 11); 128 leaves room for any chain a client follows.
 */
#define DNS_NAMES_MAX 128
/*
 * Addresses kept from one reply: every A record any message can hold, so no legal answer
 * is cut. The densest one is a question for the root (17 bytes with the header) followed
 * by A records owned by the root: 15 bytes each, (65535 - 17) / 15 = 4367 of them. Only
 * SVCB/HTTPS hints (4 bytes an address) can exceed it; what fits is kept (DNS_PARTIAL).
 */
#define DNS_ADDRS_MAX 4368

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
	uint16_t n_unowned;	/* A/AAAA records of the answer owned by no name of the chain
				 * (not in addrs; a lenient resolver library may still use them) */
	int partial;		/* DNS_OK, or why the answer was not used whole (DNS_PARTIAL) */
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
	DNS_PARTIAL = 1,	/* usable, but not all of the answer was used: see partial */
	DNS_OK = 0,
	DNS_E_SHORT = -1,	/* header or record runs past the message */
	DNS_E_NOTREPLY = -2,	/* QR bit clear */
	DNS_E_QDCOUNT = -3,	/* not exactly one question */
	DNS_E_NAME = -4,	/* bad label, pointer loop, forward pointer or name too long */
	DNS_E_RCODE = -5,	/* rcode other than NOERROR: nothing to learn */
	DNS_E_RDATA = -6,	/* A/AAAA/CNAME/DNAME rdata of the wrong length */
	DNS_E_NOTQUERY = -7,	/* QR bit set where a query was expected */
	DNS_E_OPCODE = -8,	/* query with an opcode other than QUERY (NOTIFY, UPDATE, ...) */
	DNS_E_LIMIT = -9,	/* only in dns_reply.partial: a parser limit dropped something */
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
 * A, AAAA, CNAME or DNAME record (DNS_E_RDATA) ends the answer like a record running past
 * the message (see below); a malformed SVCB or HTTPS record (compressed or bad TargetName,
 * SvcParam running past the rdata, keys not strictly increasing, key 65535, a known key
 * with a value of the wrong length or shape) is skipped whole and counted in n_bad_svcb,
 * because its framing is self-contained and the rest of the answer is still trustworthy. SvcParams of an AliasMode record are ignored
 * unparsed (RFC 9460 2.4.2). DNAME names are decoded only when the chain reaches a name
 * that has no CNAME; one whose owner or target then turns out malformed is ignored. Links
 * closing a loop are dropped silently.
 *
 * Returns DNS_OK when the whole answer section was used, with partial == DNS_OK.
 * Returns DNS_PARTIAL when *out is complete and usable but describes less than the answer
 * says; partial then tells why:
 *  - a negative dns_status (DNS_E_SHORT, DNS_E_NAME, DNS_E_RDATA) when an answer record is
 *    malformed after at least one that was read whole (e.g. ancount larger than the
 *    records present). The records before it are used as for a complete answer and
 *    nothing from it or after it: the chain is rooted at the question and links only the
 *    records read, so an address is never attributed to a name it would not be in a
 *    complete parse of those records. glibc uses such leading records too, which is why
 *    dropping them would let a client connect to an address never learned.
 *  - DNS_E_LIMIT when the answer was read to its end but something did not fit: more
 *    than DNS_ADDRS_MAX addresses (only possible with SVCB/HTTPS hints), a chain plus
 *    targets of more than DNS_NAMES_MAX names, or the per-call tables or decoding budget
 *    of dns_int.h overflowing (thousands of distinct names; real replies use a handful).
 *    What fits is kept; a record whose names did not fit is dropped whole.
 * Callers learn from a DNS_PARTIAL reply as from DNS_OK, and count it as malformed.
 * Otherwise returns a negative enum dns_status: header and question errors, and a
 * malformed first answer record, reject the message as a whole; *out is then unspecified,
 * except that for DNS_E_RCODE id, rcode and truncated are set, and n_names (== n_chain) is
 * 1 with names[0] and qtype set when the single question was well formed.
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

/* Returns a short human-readable text for a dns_status value (DNS_PARTIAL included). */
const char *dns_strerror(int status);

#endif
