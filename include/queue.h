#ifndef NFQR_QUEUE_H
#define NFQR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One NFQUEUE bound through libmnl + libnetfilter_queue's message helpers. */
struct queue;

/* A queued packet as handed to the decision callback; data points into the receive buffer. */
struct queue_pkt {
	uint32_t id;
	uint8_t hook;		/* NF_INET_LOCAL_OUT, NF_INET_LOCAL_IN, ... */
	uint32_t mark;		/* the packet's mark when it was queued */
	const uint8_t *data;	/* from the network header on */
	size_t len;
};

/* Counters since the queue was opened. */
struct queue_stats {
	uint64_t packets;	/* packets received */
	uint64_t verdicts;	/* verdicts sent */
	uint64_t bad_msgs;	/* netlink messages without the attributes a packet needs */
	uint64_t recv_errors;	/* failed receives other than EAGAIN */
};

/*
 * Returns the mark the packet leaves with; returning pkt->mark accepts it unchanged.
 * Called once per packet, before any verdict of the batch is sent.
 */
typedef uint32_t (*queue_decide_fn)(void *ctx, const struct queue_pkt *pkt);

/*
 * Opens a netfilter netlink socket, binds queue number num (copy mode packet, GSO
 * allowed, fail-open when fail_open so a full queue accepts instead of dropping) and
 * makes it non-blocking. Returns NULL with a message in err (e.g. when another process
 * holds the queue).
 */
struct queue *queue_new(uint16_t num, bool fail_open, char *err, size_t errlen);

/* Unbinds and closes; accepts NULL. */
void queue_free(struct queue *q);

/* The socket to watch for readability. */
int queue_fd(const struct queue *q);

/* The queue number. */
uint16_t queue_num(const struct queue *q);

/*
 * Receives every pending packet (up to an internal batch size), calls decide for each and
 * sends all verdicts (accept, with the returned mark when it differs) in one sendto, in
 * packet-id order. Never blocks and never allocates. Returns the number of packets
 * handled, or -errno.
 */
int queue_process(struct queue *q, queue_decide_fn decide, void *ctx);

/* Copies the counters. */
void queue_get_stats(const struct queue *q, struct queue_stats *out);

#endif
