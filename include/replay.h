#ifndef NFQR_REPLAY_H
#define NFQR_REPLAY_H

#include <stddef.h>
#include <stdio.h>

#include "policy.h"

/*
 * `nfqroute replay`: reads the capture at pcap_path ("-" for standard input; pcap or pcapng; link
 * types Ethernet with up to two VLAN tags, Linux cooked SLL and SLL2, raw IP and BSD loopback) and
 * runs every IP packet through the daemon's own steps: pkt_parse, dns_parse_reply for replies from
 * port 53 (UDP, and TCP messages that sit whole in one segment), classify_dns_learn into an
 * address table sized by the configuration, and classify_flow for the first packet of each new
 * flow (TCP SYN without ACK, first UDP packet of a tuple). The clock is the capture's: packet
 * timestamps in milliseconds, never going backwards, so TTL expiry behaves as it did when the
 * traffic was recorded. Writes one tcpdump-like line per DNS answer, malformed reply and new flow
 * to out (times of day in the local time zone, as tcpdump prints them; set TZ for stable output),
 * then one summary line. p may be NULL: answers are still shown, without a route, and every flow
 * is unrouted. p is only read (its endpoint list is not touched). Flows are tracked in a
 * fixed-size table (65536 tuples in sets of 4; a full set drops its least recently seen tuple), so
 * memory does not grow with the capture. Returns 0, or -errno with a message in err: the file
 * cannot be opened (-errno of fopen), is not a capture (-EINVAL), has an unsupported link type
 * (-EPROTONOSUPPORT), is cut short or unreadable part-way (-EIO, after the summary of what was
 * read), or memory is short (-ENOMEM).
 */
int replay_run(const char *pcap_path, struct policy *p, FILE *out, char *err, size_t errlen);

#endif
