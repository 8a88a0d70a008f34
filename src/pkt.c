/*
 * IP packet parsing for the classifier: addresses, L4 protocol, ports, TCP flags and the L4
 * payload, all bounded by both the IP-declared length and the bytes NFQUEUE handed us.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"

#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
#define UDP_HDR_LEN 8
#define TCP_HDR_MIN 20
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
#define IPV6_FRAG_LEN 8
#define IPV6_OFFMASK 0xfff8
/* more than any sane packet carries; bounds the walk independently of the length */
#define IPV6_EXT_MAX 16

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Fills ports, flags and payload from the L4 header at data[off..end). Protocols other than
 * TCP and UDP keep ports 0 and get everything after the IP headers as payload.
 */
static int pkt_parse_l4(const uint8_t *data, size_t off, size_t end, struct pkt_info *out)
{
	size_t hlen;

	switch (out->l4proto) {
	case IPPROTO_UDP: {
		if (end - off < UDP_HDR_LEN)
			return -EINVAL;

		size_t ulen = rd16(data + off + 4);

		if (ulen < UDP_HDR_LEN)
			return -EINVAL;
		/* a shorter UDP length means trailing padding; a longer one is cut by end below */
		if (end - off > ulen)
			end = off + ulen;
		hlen = UDP_HDR_LEN;
		break;
	}
	case IPPROTO_TCP:
		if (end - off < TCP_HDR_MIN)
			return -EINVAL;
		hlen = (size_t)(data[off + 12] >> 4) * 4;
		if (hlen < TCP_HDR_MIN || end - off < hlen)
			return -EINVAL;
		out->tcp_flags = data[off + 13];
		out->tcp_seq = rd32(data + off + 4);
		break;
	default:
		out->payload = data + off;
		out->payload_len = end - off;
		return 0;
	}
	out->sport = rd16(data + off);
	out->dport = rd16(data + off + 2);
	out->payload = data + off + hlen;
	out->payload_len = end - off - hlen;
	return 0;
}

static int pkt_parse_ipv4(const uint8_t *data, size_t len, struct pkt_info *out)
{
	if (len < IPV4_HDR_MIN)
		return -EINVAL;

	size_t ihl = (size_t)(data[0] & 0x0f) * 4;
	size_t tot = rd16(data + 2);
	uint16_t frag = rd16(data + 6);

	/* BIG TCP sends IPv4 packets above 64 KiB with a total length of 0 */
	if (tot == 0 && len > 0xffff)
		tot = len;
	if (ihl < IPV4_HDR_MIN || ihl > len || tot < ihl)
		return -EINVAL;

	out->src.family = AF_INET;
	out->dst.family = AF_INET;
	memcpy(out->src.a, data + 12, 4);
	memcpy(out->dst.a, data + 16, 4);
	out->l4proto = data[9];

	/* NFQUEUE may hand out a truncated copy: use what is there */
	size_t end = tot < len ? tot : len;

	if (frag & IPV4_OFFMASK) {
		/* a non-first fragment carries no L4 header */
		out->payload = data + ihl;
		out->payload_len = end - ihl;
		return 0;
	}
	return pkt_parse_l4(data, ihl, end, out);
}

static int pkt_parse_ipv6(const uint8_t *data, size_t len, struct pkt_info *out)
{
	if (len < IPV6_HDR_LEN)
		return -EINVAL;

	size_t tot = IPV6_HDR_LEN + (size_t)rd16(data + 4);
	uint8_t nh = data[6];
	size_t off = IPV6_HDR_LEN;

	/* a jumbogram (BIG TCP) has payload length 0 and is longer than any normal packet */
	if (tot == IPV6_HDR_LEN && len > 0xffff + IPV6_HDR_LEN)
		tot = len;
	out->src.family = AF_INET6;
	out->dst.family = AF_INET6;
	memcpy(out->src.a, data + 8, 16);
	memcpy(out->dst.a, data + 24, 16);

	size_t end = tot < len ? tot : len;

	for (unsigned n = 0; n < IPV6_EXT_MAX; n++) {
		size_t hlen;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (end - off < 2)
				return -EINVAL;
			hlen = ((size_t)data[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (end - off < 2)
				return -EINVAL;
			hlen = ((size_t)data[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (end - off < IPV6_FRAG_LEN)
				return -EINVAL;
			if (rd16(data + off + 2) & IPV6_OFFMASK) {
				/* a non-first fragment carries no L4 header */
				out->l4proto = data[off];
				out->payload = data + off + IPV6_FRAG_LEN;
				out->payload_len = end - off - IPV6_FRAG_LEN;
				return 0;
			}
			hlen = IPV6_FRAG_LEN;
			break;
		default:
			out->l4proto = nh;
			if (nh == IPPROTO_NONE) {
				out->payload = data + off;
				out->payload_len = 0;
				return 0;
			}
			return pkt_parse_l4(data, off, end, out);
		}
		if (end - off < hlen)
			return -EINVAL;
		nh = data[off];
		off += hlen;
	}
	return -EINVAL;
}

int pkt_parse(const uint8_t *data, size_t len, struct pkt_info *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return -EINVAL;
	switch (data[0] >> 4) {
	case 4:
		return pkt_parse_ipv4(data, len, out);
	case 6:
		return pkt_parse_ipv6(data, len, out);
	}
	return -EPROTONOSUPPORT;
}

const char *pkt_addr_str(const struct pkt_addr *addr, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	if ((addr->family != AF_INET && addr->family != AF_INET6) ||
	    !inet_ntop(addr->family, addr->a, buf, (socklen_t)size)) {
		buf[0] = size > 1 ? '?' : '\0';
		buf[size > 1] = '\0';
	}
	return buf;
}

int pkt_addr_parse(const char *text, struct pkt_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, out->a) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->a) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}
