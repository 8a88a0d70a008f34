#ifndef NFQR_TCPDNS_H
#define NFQR_TCPDNS_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define TCPDNS_SLOTS_DEFAULT 256	/* streams followed at once */
#define TCPDNS_BUF_DEFAULT 4096		/* bytes of one message that can wait for more segments */
#define TCPDNS_IDLE_MS_DEFAULT 30000	/* a stream silent this long is forgotten */

struct tcpdns;

/* Counters since tcpdns_new(), for the statistics log line and tests. */
struct tcpdns_stats {
	uint64_t segments;	/* TCP segments fed */
	uint64_t messages;	/* complete messages handed to the callback */
	uint64_t oversize;	/* split messages longer than the buffer, skipped */
	uint64_t empty;		/* zero-length messages, skipped */
	uint64_t retrans;	/* segments (or their heads) already consumed, ignored */
	uint64_t gaps;		/* segments after a hole: the stream lost its framing */
	uint64_t unsynced;	/* segments dropped while looking for a message boundary */
	uint64_t evicted;	/* streams forgotten to make room for a new one */
	uint64_t expired;	/* streams forgotten after the idle timeout */
	uint64_t closed;	/* streams ended by FIN or RST */
};

/*
 * Creates a DNS-over-TCP reassembler (RFC 1035 4.2.2 / RFC 7766 framing: each message
 * preceded by a 2-byte big-endian length) for n_slots one-directional streams, each with a
 * buf_size-byte buffer; all memory (about n_slots * (buf_size + 100) bytes) is reserved
 * here, feeding never allocates. Streams idle for more than idle_ms are forgotten; when all
 * slots are busy the least recently fed stream is. Returns NULL when n_slots is 0 or above
 * 65535, buf_size below 12 or above 65535, or memory is short.
 */
struct tcpdns *tcpdns_new(size_t n_slots, size_t buf_size, uint64_t idle_ms);

/* Frees the reassembler; accepts NULL. */
void tcpdns_free(struct tcpdns *t);

/*
 * Feeds one TCP segment (pi from pkt_parse: addresses, ports, tcp_flags, tcp_seq, payload)
 * of the stream (src, dst, sport, dport) at monotonic time now_ms, and calls on_msg(ctx,
 * msg, len) for every DNS message it completes, without the length prefix; msg is valid
 * only during the call, which must not feed t. A SYN starts (or restarts) a stream at its
 * sequence number; a stream first seen without one, or after a hole, is picked up at the
 * first segment that starts with whole messages (length >= 12 each, the last one may
 * continue) or is a lone length prefix, so that a segment beginning inside a message is
 * not taken for a length.
 * Segments are taken in sequence order only: bytes already consumed (retransmissions,
 * overlaps) are ignored, a segment after a hole drops the stream's partial message and
 * resynchronises as above. A message that fits in its segment is passed on directly,
 * whatever its size; one split across segments is collected in the stream's buffer, or
 * skipped (counted as oversize) when longer than buf_size. FIN ends the stream after its
 * data, RST at once. Returns the number of messages passed on, or -EINVAL when pi is not a
 * TCP segment between two addresses of the same family.
 */
int tcpdns_feed(struct tcpdns *t, const struct pkt_info *pi, uint64_t now_ms,
		void (*on_msg)(void *ctx, const uint8_t *msg, size_t len), void *ctx);

/* Copies the counters into *out. */
void tcpdns_stats_get(const struct tcpdns *t, struct tcpdns_stats *out);

/* Number of streams currently followed. */
size_t tcpdns_count(const struct tcpdns *t);

#endif
