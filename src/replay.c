/*
 * Offline replay: a capture goes through the same parse and decide steps as the daemon's
 * queue callback (pkt_parse, dns_parse_reply, classify_dns_learn, classify_flow), with
 * the capture's timestamps as the clock, and every step is printed tcpdump-style. It is
 * how a user checks a configuration against real traffic without root or a kernel queue.
 *
 * Three concerns live here, in this order: link layers (finding the IP header in a frame),
 * the flow table (which packet opens a flow, as conntrack would tell the daemon), and the
 * per-packet walk with its output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pcap/pcap.h>

#include "addrmap.h"
#include "classify.h"
#include "conf.h"
#include "dns.h"
#include "pkt.h"
#include "policy.h"
#include "replay.h"
#include "tcpdns.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define ETH_HDR_LEN 14
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20
#define LOOP_HDR_LEN 4
#define VLAN_TAG_LEN 4
#define VLAN_MAX 2		/* 802.1ad outer tag + 802.1Q inner tag */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_LEN 8
#define DNS_PORT 53
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/*
 * Flow table: FLOW_SETS sets of FLOW_WAYS tuples (48 bytes each, 3 MiB in all), so a
 * capture of any length replays in constant memory. A set that is full drops its least
 * recently seen tuple; a dropped UDP flow seen again shows as new, as after a conntrack
 * timeout. Timeouts are conntrack's defaults: an unanswered UDP tuple is forgotten after
 * 30 s idle, an answered one after 120 s; a closed TCP connection lingers 120 s, an open
 * one 5 days.
 */
#define FLOW_SETS 16384
#define FLOW_WAYS 4
#define UDP_UNREPLIED_MS 30000u
#define UDP_REPLIED_MS 120000u
#define TCP_CLOSED_MS 120000u
#define TCP_OPEN_MS (5ull * 24 * 3600 * 1000)

struct flow_key {
	uint8_t a[2][16];
	uint16_t port[2];
	uint8_t family, proto;
};

struct flow_slot {
	struct flow_key k;
	bool used;
	bool replied;		/* the side that did not open it has sent */
	bool closed;		/* FIN or RST seen */
	uint8_t orig;		/* key side (0/1) that opened the flow */
	uint64_t last_ms;
};

struct replay_stats {
	uint64_t packets, not_ip, bad_ip, fragments;
	uint64_t dns_replies, dns_malformed, dns_addrs, dns_learned, dns_tcp_partial;
	uint64_t flows, flows_routed, flows_evicted;
};

struct replay {
	const struct policy *p;		/* NULL: show answers, route nothing */
	struct addrmap *am;		/* NULL without a policy */
	FILE *out;
	int dlt;
	uint64_t now_ms;		/* capture clock, never going backwards */
	struct timeval ts;		/* the current packet's timestamp, as printed */
	size_t cut;			/* bytes of the current frame the snaplen dropped */
	struct replay_stats st;
	struct dns_reply reply;		/* parse buffer, reused for every reply */
	struct tcpdns *tcp;		/* DNS over TCP reassembly */
	const struct pkt_info *tcp_pi;	/* the segment being fed, for on_tcp_msg */
	struct flow_slot flows[FLOW_SETS * FLOW_WAYS];
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- link layers ---- */

static bool link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return true;
	}
	return false;
}

static bool ethertype_is_vlan(uint16_t type)
{
	return type == ETHERTYPE_8021Q || type == ETHERTYPE_8021AD || type == ETHERTYPE_QINQ_OLD;
}

/* Offset of the IP header after an ethertype (and VLAN tags) at off, or -1. */
static long link_ether_payload(const uint8_t *d, size_t len, uint16_t type, size_t off)
{
	for (unsigned tags = 0; ethertype_is_vlan(type); tags++) {
		if (tags == VLAN_MAX || len - off < VLAN_TAG_LEN)
			return -1;
		type = rd16(d + off + 2);
		off += VLAN_TAG_LEN;
	}
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6 ? (long)off : -1;
}

/* AF_INET is 2 everywhere; AF_INET6 is 10 on Linux, 24, 28 or 30 on the BSDs and macOS. */
static bool loop_family_is_ip(uint32_t fam)
{
	return fam == 2 || fam == 10 || fam == 24 || fam == 28 || fam == 30;
}

/* Offset of the IP header in a frame of link type dlt, or -1 when it carries no IP. */
static long link_ip_offset(int dlt, const uint8_t *d, size_t len)
{
	uint32_t be, le;

	switch (dlt) {
	case DLT_EN10MB:
		if (len < ETH_HDR_LEN)
			return -1;
		return link_ether_payload(d, len, rd16(d + 12), ETH_HDR_LEN);
	case DLT_LINUX_SLL:
		if (len < SLL_HDR_LEN)
			return -1;
		return link_ether_payload(d, len, rd16(d + 14), SLL_HDR_LEN);
	case DLT_LINUX_SLL2:
		if (len < SLL2_HDR_LEN)
			return -1;
		return link_ether_payload(d, len, rd16(d), SLL2_HDR_LEN);
	case DLT_NULL:
	case DLT_LOOP:
		if (len < LOOP_HDR_LEN)
			return -1;
		be = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
		le = (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
		/* DLT_NULL is in the writing host's byte order, DLT_LOOP in network order */
		if (loop_family_is_ip(be) || (dlt == DLT_NULL && loop_family_is_ip(le)))
			return LOOP_HDR_LEN;
		return -1;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	}
	return -1;
}

/*
 * True for an IP fragment, with *first set for the one that carries the L4 header. The
 * daemon never sees fragments (conntrack reassembles before the queue) and replay does
 * not reassemble, so fragments are counted, not parsed. IPv6 is only checked for a
 * fragment header right after the fixed header, where every real stack puts it.
 */
static bool ip_is_fragment(const uint8_t *ip, size_t len, bool *first)
{
	uint16_t f;

	if (len >= IPV4_HDR_MIN && ip[0] >> 4 == 4) {
		f = rd16(ip + 6);
		*first = (f & 0x1fff) == 0;
		return (f & 0x3fff) != 0;
	}
	if (len >= IPV6_HDR_LEN + IPV6_FRAG_LEN && ip[0] >> 4 == 6 && ip[6] == IPPROTO_FRAGMENT) {
		f = rd16(ip + IPV6_HDR_LEN + 2);
		*first = (f & 0xfff8) == 0;
		return (f & 0xfff9) != 0;	/* an atomic fragment (RFC 6946) is whole */
	}
	return false;
}

/* ---- flow table ---- */

/* Builds the direction-free key of pi's tuple; returns the key side of the sender. */
static uint8_t flow_key_make(const struct pkt_info *pi, struct flow_key *k)
{
	size_t alen = pi->src.family == AF_INET ? 4 : 16;
	int cmp = memcmp(pi->src.a, pi->dst.a, alen);
	uint8_t side = cmp > 0 || (cmp == 0 && pi->sport > pi->dport);

	memset(k, 0, sizeof(*k));
	k->family = pi->src.family;
	k->proto = pi->l4proto;
	memcpy(k->a[side], pi->src.a, alen);
	memcpy(k->a[!side], pi->dst.a, alen);
	k->port[side] = pi->sport;
	k->port[!side] = pi->dport;
	return side;
}

/* FNV-1a: fixed, so that which flows share a set, and the output, never change. */
static size_t flow_set_of(const struct flow_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return (size_t)((h ^ h >> 32) % FLOW_SETS);
}

static bool flow_live(const struct flow_slot *s, uint64_t now_ms)
{
	uint64_t idle = now_ms - s->last_ms, limit;

	if (s->k.proto == IPPROTO_UDP)
		limit = s->replied ? UDP_REPLIED_MS : UDP_UNREPLIED_MS;
	else
		limit = s->closed ? TCP_CLOSED_MS : TCP_OPEN_MS;
	return idle <= limit;
}

/* An unused way, else an expired one, else the least recently seen one. */
static struct flow_slot *flow_victim(struct replay *r, struct flow_slot *set)
{
	struct flow_slot *v = &set[0];

	for (unsigned w = 0; w < FLOW_WAYS; w++) {
		if (!set[w].used || !flow_live(&set[w], r->now_ms))
			return &set[w];
		if (set[w].last_ms < v->last_ms)
			v = &set[w];
	}
	r->st.flows_evicted++;
	return v;
}

/* Whether pi may open a flow: a TCP SYN without ACK, or any UDP packet. */
static bool flow_opens(const struct pkt_info *pi)
{
	if (pi->l4proto == IPPROTO_TCP)
		return (pi->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
	return pi->l4proto == IPPROTO_UDP;
}

/*
 * Records pi in the flow table. Returns true when it opens a new flow: its tuple has no
 * live entry (in either direction) and flow_opens(), or it is a SYN on a connection that
 * was closed (port reuse).
 */
static bool flow_see(struct replay *r, const struct pkt_info *pi)
{
	struct flow_key k;
	uint8_t side = flow_key_make(pi, &k);
	struct flow_slot *set = &r->flows[flow_set_of(&k) * FLOW_WAYS], *s = NULL;
	bool opens = flow_opens(pi);

	for (unsigned w = 0; w < FLOW_WAYS && !s; w++)
		if (set[w].used && memcmp(&set[w].k, &k, sizeof(k)) == 0)
			s = &set[w];
	if (s && flow_live(s, r->now_ms) && !(opens && s->closed)) {
		s->last_ms = r->now_ms;
		s->replied |= side != s->orig;
		s->closed |= (pi->tcp_flags & (TCP_FIN | TCP_RST)) != 0;
		return false;
	}
	if (!opens)
		return false;
	if (!s)
		s = flow_victim(r, set);
	*s = (struct flow_slot){ .k = k, .used = true, .orig = side, .last_ms = r->now_ms };
	return true;
}

/* ---- output ---- */

static const char *dns_type_str(uint16_t type, char *buf, size_t size)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" },
		{ 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" },
		{ 35, "NAPTR" }, { 39, "DNAME" }, { 43, "DS" }, { 46, "RRSIG" }, { 47, "NSEC" },
		{ 48, "DNSKEY" }, { 50, "NSEC3" }, { 64, "SVCB" }, { 65, "HTTPS" },
		{ 255, "ANY" }, { 257, "CAA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

/*
 * Only the header's 4 bits are known here: with EDNS, an OPT record may extend them (BADVERS,
 * BADCOOKIE), so values above REFUSED are shown as numbers rather than misnamed.
 */
static const char *dns_rcode_str(uint8_t rcode, char *buf, size_t size)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

/* Prints one line: the packet's time and addresses as tcpdump does, then the text. */
__attribute__((format(printf, 3, 4)))
static void replay_line(struct replay *r, const struct pkt_info *pi, const char *fmt, ...)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	time_t t = r->ts.tv_sec;
	struct tm tm;
	va_list ap;

	localtime_r(&t, &tm);
	fprintf(r->out, "%02d:%02d:%02d.%06ld %s %s.%u > %s.%u: ", tm.tm_hour, tm.tm_min,
		tm.tm_sec, (long)r->ts.tv_usec, pi->src.family == AF_INET6 ? "IP6" : "IP",
		pkt_addr_str(&pi->src, src, sizeof(src)), pi->sport,
		pkt_addr_str(&pi->dst, dst, sizeof(dst)), pi->dport);
	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->out);
}

/* The route a's address was learned for, "unrouted", or NULL without a policy. */
static const char *replay_addr_route(const struct replay *r, const struct dns_addr *a,
				     int learned)
{
	struct pkt_addr addr = { .family = a->family };
	struct addrmap_entry e;
	const struct conf *c;

	if (!r->p)
		return NULL;
	memcpy(addr.a, a->a, sizeof(addr.a));
	c = policy_conf(r->p);
	/* an older entry for the address says nothing about this reply */
	if (learned <= 0 || addrmap_lookup(r->am, &addr, r->now_ms, &e) < 0 ||
	    e.route >= c->n_routes)
		return "unrouted";
	return c->routes[e.route].name;
}

static void replay_dns_print(struct replay *r, const struct pkt_info *pi,
			     const struct dns_reply *rep, int learned)
{
	char abuf[INET6_ADDRSTRLEN], tbuf[16], rbuf[CONF_NAME_MAX + 4];

	/* dns_reply does not say which links are DNAME rewrites: all show as CNAME */
	for (size_t i = 1; i < rep->n_chain; i++)
		replay_line(r, pi, "dns %s CNAME %s", rep->names[i - 1], rep->names[i]);
	for (size_t i = rep->n_chain; i < rep->n_names; i++)
		replay_line(r, pi, "dns %s target %s",
			    rep->qtype == 64 || rep->qtype == 65 ?
			    dns_type_str(rep->qtype, tbuf, sizeof(tbuf)) : "SVCB/HTTPS",
			    rep->names[i]);
	for (size_t i = 0; i < rep->n_addrs; i++) {
		const struct dns_addr *a = &rep->addrs[i];
		const char *route = replay_addr_route(r, a, learned);
		const char *kind = a->kind != DNS_ADDR_HINT ? (a->family == AF_INET ? "A" : "AAAA") :
				   a->family == AF_INET ? "ipv4hint" : "ipv6hint";

		rbuf[0] = '\0';
		if (route)
			snprintf(rbuf, sizeof(rbuf), " (%s)", route);
		inet_ntop(a->family, a->a, abuf, sizeof(abuf));
		replay_line(r, pi, "dns %s %s = %s ttl %" PRIu32 "%s", kind,
			    rep->names[a->owner], abuf, a->ttl, rbuf);
	}
	if (rep->n_addrs == 0 && rep->n_names <= 1)
		replay_line(r, pi, "dns %s %s: no addresses%s",
			    dns_type_str(rep->qtype, tbuf, sizeof(tbuf)), rep->names[0],
			    rep->truncated ? " (truncated, TC set)" : "");
}

/* ---- per packet ---- */

/* One DNS message from port 53: parse, learn as the daemon would, print. */
static void replay_dns_msg(struct replay *r, const struct pkt_info *pi, const uint8_t *msg,
			   size_t len)
{
	struct dns_reply *rep = &r->reply;
	char tbuf[16], rbuf[16];
	int ret, learned = 0;

	if (len == 0) {
		replay_line(r, pi, "dns empty message (ignored)");
		return;
	}
	r->st.dns_replies++;
	ret = dns_parse_reply(msg, len, rep);
	if (ret == DNS_E_RCODE) {
		/* nothing to learn, and the daemon does not count it as malformed */
		if (rep->n_names == 1)
			replay_line(r, pi, "dns %s %s: %s",
				    dns_type_str(rep->qtype, tbuf, sizeof(tbuf)), rep->names[0],
				    dns_rcode_str(rep->rcode, rbuf, sizeof(rbuf)));
		else
			replay_line(r, pi, "dns %s", dns_rcode_str(rep->rcode, rbuf, sizeof(rbuf)));
		return;
	}
	if (ret == DNS_PARTIAL) {
		/* learned like a complete one, counted like a malformed one: as the daemon does */
		char note[80] = "";

		r->st.dns_malformed++;
		if (r->cut)
			snprintf(note, sizeof(note), "; the capture kept %zu bytes less than the "
				 "frame had", r->cut);
		replay_line(r, pi, "dns %s %s: malformed, %s (%s%s)",
			    dns_type_str(rep->qtype, tbuf, sizeof(tbuf)), rep->names[0],
			    rep->partial == DNS_E_LIMIT ? "partly kept" :
			    "the records before the bad one are used", dns_strerror(rep->partial),
			    note);
	} else if (ret < 0) {
		r->st.dns_malformed++;
		if (r->cut)
			replay_line(r, pi, "dns malformed (%s; the capture kept %zu bytes less "
				    "than the frame had)", dns_strerror(ret), r->cut);
		else
			replay_line(r, pi, "dns malformed (%s)", dns_strerror(ret));
		return;
	}
	if (r->p) {
		learned = classify_dns_learn(r->p, r->am, rep, r->now_ms);
		r->st.dns_learned += (uint64_t)learned;
	}
	r->st.dns_addrs += rep->n_addrs;
	replay_dns_print(r, pi, rep, learned);
}

static void replay_on_tcp_msg(void *ctx, const uint8_t *msg, size_t len)
{
	struct replay *r = ctx;

	replay_dns_msg(r, r->tcp_pi, msg, len);
}

/* DNS over TCP: the reassembler hands back every message it completes. */
static void replay_dns_tcp(struct replay *r, const struct pkt_info *pi)
{
	r->tcp_pi = pi;
	tcpdns_feed(r->tcp, pi, r->now_ms, replay_on_tcp_msg, r);
}

static void replay_flow(struct replay *r, const struct pkt_info *pi)
{
	struct classify_result res = { .route = -1 };
	const char *proto = pi->l4proto == IPPROTO_TCP ? "tcp" : "udp";

	if (!flow_see(r, pi))
		return;
	r->st.flows++;
	if (r->p)
		classify_flow(r->p, r->am, pi, 0, r->now_ms, &res);
	if (res.route >= 0) {
		r->st.flows_routed++;
		replay_line(r, pi, "%s %s -> %s (mark 0x%" PRIx32 ", %s)", proto, res.name,
			    policy_conf(r->p)->routes[res.route].name, res.mark,
			    classify_reason_name(res.reason));
	} else if (res.name) {
		replay_line(r, pi, "%s %s -> unrouted (%s)", proto, res.name,
			    classify_reason_name(res.reason));
	} else {
		replay_line(r, pi, "%s -> unrouted", proto);
	}
}

static void replay_packet(struct replay *r, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	uint64_t ms = (uint64_t)h->ts.tv_sec * 1000u + (uint64_t)h->ts.tv_usec / 1000u;
	long off = link_ip_offset(r->dlt, frame, h->caplen);
	const uint8_t *ip;
	struct pkt_info pi;
	size_t len;
	bool first;

	r->st.packets++;
	/* captures merged from several interfaces are not always in order */
	if (ms > r->now_ms)
		r->now_ms = ms;
	r->ts = h->ts;
	r->cut = h->len > h->caplen ? h->len - h->caplen : 0;
	if (off < 0) {
		r->st.not_ip++;
		return;
	}
	ip = frame + off;
	len = h->caplen - (size_t)off;
	if (ip_is_fragment(ip, len, &first)) {
		r->st.fragments++;
		if (first && pkt_parse(ip, len, &pi) == 0 && pi.l4proto == IPPROTO_UDP &&
		    pi.sport == DNS_PORT)
			replay_line(r, &pi, "dns reply in IP fragments (not reassembled)");
		return;
	}
	if (pkt_parse(ip, len, &pi) < 0) {
		r->st.bad_ip++;
		return;
	}
	if (pi.l4proto != IPPROTO_TCP && pi.l4proto != IPPROTO_UDP)
		return;
	if (pi.sport == DNS_PORT) {
		flow_see(r, &pi);
		if (pi.l4proto == IPPROTO_UDP)
			replay_dns_msg(r, &pi, pi.payload, pi.payload_len);
		else
			replay_dns_tcp(r, &pi);
		return;
	}
	replay_flow(r, &pi);
}

static void replay_summary(const struct replay *r)
{
	const struct replay_stats *s = &r->st;

	fprintf(r->out, "summary: %" PRIu64 " packets, %" PRIu64 " DNS replies, %" PRIu64
		" malformed, %" PRIu64 " addresses, %" PRIu64 " answers learned, %" PRIu64
		" new flows, %" PRIu64 " routed", s->packets, s->dns_replies, s->dns_malformed,
		s->dns_addrs, s->dns_learned, s->flows, s->flows_routed);
	if (s->not_ip)
		fprintf(r->out, ", %" PRIu64 " not IP", s->not_ip);
	if (s->bad_ip)
		fprintf(r->out, ", %" PRIu64 " bad IP", s->bad_ip);
	if (s->fragments)
		fprintf(r->out, ", %" PRIu64 " IP fragments", s->fragments);
	if (s->dns_tcp_partial)
		fprintf(r->out, ", %" PRIu64 " partial TCP DNS", s->dns_tcp_partial);
	if (s->flows_evicted)
		fprintf(r->out, ", %" PRIu64 " flows evicted", s->flows_evicted);
	fputc('\n', r->out);
}

static int replay_loop(struct replay *r, pcap_t *pc, const char *path, char *err,
		       size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int ret;

	while ((ret = pcap_next_ex(pc, &h, &data)) == 1)
		replay_packet(r, h, data);
	if (ret == PCAP_ERROR_BREAK)	/* end of file */
		return 0;
	snprintf(err, errlen, "%s: after %" PRIu64 " packets: %s", path, r->st.packets,
		 pcap_geterr(pc));
	return -EIO;
}

static int replay_open(const char *path, pcap_t **out, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rbe");
	int ret, dlt;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	*out = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!*out) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		if (!is_stdin)
			fclose(f);
		return -EINVAL;
	}
	dlt = pcap_datalink(*out);
	if (!link_supported(dlt)) {
		snprintf(err, errlen, "%s: link type %s (%d) is not supported; replay reads "
			 "Ethernet, Linux cooked (SLL, SLL2), raw IP and loopback captures", path,
			 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", dlt);
		pcap_close(*out);
		*out = NULL;
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int replay_run(const char *pcap_path, struct policy *p, FILE *out, char *err, size_t errlen)
{
	struct replay *r;
	pcap_t *pc;
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = replay_open(pcap_path, &pc, err, errlen);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->p = p;
	r->out = out;
	r->dlt = pcap_datalink(pc);
	r->tcp = tcpdns_new(TCPDNS_SLOTS_DEFAULT, TCPDNS_BUF_DEFAULT, TCPDNS_IDLE_MS_DEFAULT);
	if (!r->tcp)
		goto nomem;
	if (p) {
		r->am = addrmap_new(policy_conf(p)->max_entries);
		if (!r->am)
			goto nomem;
	}
	ret = replay_loop(r, pc, pcap_path, err, errlen);
	replay_summary(r);
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	ret = -ENOMEM;
out:
	addrmap_free(r ? r->am : NULL);
	tcpdns_free(r ? r->tcp : NULL);
	free(r);
	pcap_close(pc);
	return ret;
}
