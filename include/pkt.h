#ifndef NFQR_PKT_H
#define NFQR_PKT_H

#include <stddef.h>
#include <stdint.h>

/* A network address of either family; IPv4 uses the first 4 bytes of a. */
struct pkt_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t a[16];
};

/* What the classifier needs from one IP packet, pointing into the caller's buffer. */
struct pkt_info {
	struct pkt_addr src, dst;
	uint8_t l4proto;	/* IPPROTO_TCP, IPPROTO_UDP or another value */
	uint16_t sport, dport;	/* host order; 0 when not TCP/UDP */
	uint8_t tcp_flags;	/* TCP only */
	uint32_t tcp_seq;	/* TCP only: the sequence number field, host order */
	const uint8_t *payload;	/* L4 payload (after the UDP/TCP header) */
	size_t payload_len;
};

/*
 * Parses an IPv4 or IPv6 packet as handed out by NFQUEUE (starting at the IP header).
 * Walks IPv6 extension headers, checks every header length against len and the IP
 * total length, and treats non-first fragments as having no L4 header (ports 0; payload
 * is the fragment's data). The payload ends at the IP (and UDP) length or at len, which
 * ever comes first: a truncated copy yields what is there. Returns 0 and fills *out, or
 * -EINVAL (malformed, or cut inside a header) / -EPROTONOSUPPORT (not IP). Never reads
 * outside data[0..len).
 */
int pkt_parse(const uint8_t *data, size_t len, struct pkt_info *out);

/* Formats addr into buf (at least 46 bytes) like inet_ntop; returns buf. */
const char *pkt_addr_str(const struct pkt_addr *addr, char *buf, size_t size);

/* Parses a textual IPv4/IPv6 address; returns 0 or -EINVAL. */
int pkt_addr_parse(const char *text, struct pkt_addr *out);

#endif
