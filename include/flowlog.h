#ifndef NFQR_FLOWLOG_H
#define NFQR_FLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "pkt.h"

/*
 * One decision of the daemon as `nfqroute monitor` and `log-flows = yes` show it, and the
 * tcpdump-spirit filters that select events. Pure: formatting and matching never allocate
 * and never look anything up (no DNS, no /etc/services), so they may run per packet.
 */

#define FLOWLOG_LINE_MAX 2048		/* fits any event: names <= 253, reason < 256 */
#define FLOWLOG_FILTER_NODES 32		/* primitives plus operators of one expression */
#define FLOWLOG_FILTER_TEXT 256		/* a domain or route operand, NUL included */

enum flowlog_kind {
	FLOWLOG_FLOW,		/* first packet of a new connection was decided */
	FLOWLOG_DNS_ANSWER,	/* one address of a DNS reply (learned or not) */
	FLOWLOG_DNS_MALFORMED,	/* a DNS reply that did not parse (released unchanged) */
};

/*
 * What happened, filled by the daemon on its stack; the strings belong to the caller and
 * only need to live for the call they are passed to. Unused fields are zero/NULL.
 */
struct flowlog_event {
	struct timeval time;		/* CLOCK_REALTIME (flowlog_event_stamp) */
	enum flowlog_kind kind;
	struct pkt_addr src, dst;	/* src.family is the event's family */
	uint16_t sport, dport;		/* host order, 0 when the protocol has no ports */
	uint8_t l4proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... (for DNS: the transport) */
	const char *domain;		/* flow: the learned name; dns: the question name */
	const char *route;		/* route name, NULL when unrouted */
	uint32_t mark;			/* flow: the mark the packet leaves with */
	const char *reason;		/* what decided, e.g. "learned github.com", "rule
					 * example.com", "list /etc/x.lst:12"; for
					 * dns-malformed the parse error; may be NULL */
	uint16_t rrtype;		/* dns-answer: 1 (A), 28 (AAAA), ... */
	struct pkt_addr answer;		/* dns-answer: the address of the record */
	uint32_t ttl;			/* dns-answer: seconds, as stored (after clamping) */
};

/* Sets ev->time to the current CLOCK_REALTIME (microseconds). */
void flowlog_event_stamp(struct flowlog_event *ev);

/*
 * Formats ev as one tcpdump-style line without the trailing newline, e.g.
 *   12:00:01.000123 IP 192.0.2.2.51514 > 198.51.100.10.443: tcp github.com -> vpn
 *       (mark 0x100, learned github.com)
 *   12:00:01.000045 IP 192.0.2.1.53 > 192.0.2.2.40001: dns A github.com = 198.51.100.10
 *       ttl 60 (vpn, rule github.com)
 *   12:00:01.000046 IP6 2001:db8::1.53 > 2001:db8::2.40002: dns malformed (bad label)
 * The time is local time like tcpdump's. Without numeric, well-known ports are written by
 * name from a built-in table as tcpdump does (443 -> https, 53 -> domain); numeric (-n)
 * keeps every port a number. An unrouted event reads "-> unrouted"; a missing domain is
 * "-" (NULL and "" both count as missing, for route and reason too). Bytes outside
 * printable ASCII in any string are written as \DDD so a line never contains a control
 * character. Returns the length written (< size), or -ENOSPC when the line does not fit
 * (buf then holds a truncated, terminated prefix).
 */
int flowlog_format_text(const struct flowlog_event *ev, bool numeric, char *buf, size_t size);

/*
 * Formats ev as one JSON object without newline, for jq:
 *   {"ts":1700000001.000123,"time":"2023-11-14T22:13:21.000123Z","kind":"flow",
 *    "family":"ip","proto":"tcp","src":"192.0.2.2","sport":51514,"dst":"198.51.100.10",
 *    "dport":443,"domain":"github.com","route":"vpn","mark":256,"reason":"..."}
 * kind is "flow", "dns-answer" or "dns-malformed"; dns-answer adds "rrtype" ("A", "AAAA"
 * or "TYPEn"), "answer" and "ttl". Missing strings are null. Strings are escaped per RFC
 * 8259 (quote, backslash, control characters as \u00XX; other bytes >= 0x80 as \u00XX too,
 * so the output is ASCII whatever the input). Returns the length written (< size), or
 * -ENOSPC (buf then holds a truncated, terminated prefix that is not valid JSON).
 */
int flowlog_format_json(const struct flowlog_event *ev, char *buf, size_t size);

/* A short word for a kind: "flow", "dns-answer", "dns-malformed". */
const char *flowlog_kind_name(enum flowlog_kind kind);

enum flowlog_node_type {
	FLOWLOG_N_HOST,		/* host/src host/dst host ADDR, net ADDR/LEN */
	FLOWLOG_N_PORT,		/* port/src port/dst port N */
	FLOWLOG_N_DOMAIN,	/* domain NAME: equal or a subdomain */
	FLOWLOG_N_ROUTE,	/* route NAME, or unrouted */
	FLOWLOG_N_PROTO,	/* proto tcp|udp|dns (or N) */
	FLOWLOG_N_AND,
	FLOWLOG_N_OR,
	FLOWLOG_N_NOT,
};

enum flowlog_dir { FLOWLOG_DIR_ANY, FLOWLOG_DIR_SRC, FLOWLOG_DIR_DST };

struct flowlog_node {
	uint8_t type;		/* enum flowlog_node_type */
	uint8_t dir;		/* enum flowlog_dir, for host and port */
	uint8_t prefix;		/* host/net: bits compared (32/128 for a host) */
	uint16_t num;		/* port; proto: IPPROTO_* or FLOWLOG_PROTO_DNS */
	struct pkt_addr addr;
	char text[FLOWLOG_FILTER_TEXT];	/* domain (normalized) or route name; "" = unrouted */
};

#define FLOWLOG_PROTO_DNS 0x100	/* proto dns: any DNS event, whatever its transport */

/*
 * A compiled filter: the expression in postfix order. n == 0 matches every event. Plain
 * data: copy it freely.
 */
struct flowlog_filter {
	unsigned n;
	struct flowlog_node nodes[FLOWLOG_FILTER_NODES];
};

/*
 * Compiles a filter from words as a shell hands them over (`domain github.com and not
 * proto dns`); a word may also hold a whole expression (`'host 192.0.2.1 or route vpn'`).
 * Primitives:
 *   host ADDR          the event's source, destination or DNS answer address is ADDR
 *   net ADDR/LEN       ... lies in that network
 *   src|dst host|net   only that side (dst also matches a DNS answer address)
 *   port N, src|dst port N
 *   domain NAME        the event's domain is NAME or a subdomain (case-insensitive; a
 *                      leading "*." or "." and a trailing "." are ignored)
 *   route NAME         decided for that route; `unrouted` for none
 *   proto tcp|udp|icmp|icmp6|dns|N, or just tcp, udp, dns: dns selects DNS events, the
 *                      others the transport (a DNS reply over UDP is also `udp`)
 * Operators: `not`/`!`, `and`/`&&`, `or`/`||`, parentheses; two primitives side by side
 * mean `and`. Precedence is not > and > or (pcap-filter gives and/or equal precedence;
 * use parentheses when in doubt). Returns 0, or -EINVAL with a message in err (such as
 * "unknown word 'hots'" or "host needs an address").
 */
int flowlog_filter_parse(int argc, char *const *argv, struct flowlog_filter *out, char *err,
			 size_t errlen);

/* True when ev passes f. Never allocates; cost is linear in the expression size. */
bool flowlog_filter_match(const struct flowlog_filter *f, const struct flowlog_event *ev);

#endif
