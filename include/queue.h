#ifndef NFQR_QUEUE_H
#define NFQR_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nlmsghdr;

/* One NFQUEUE (or two: new flows and DNS replies) bound through libmnl. */
struct queue;

/* A queued packet as handed to the decision callback; data points into the receive buffer. */
struct queue_pkt {
	uint32_t id;
	uint8_t hook;		/* NF_INET_LOCAL_OUT, NF_INET_LOCAL_IN, ... */
	uint32_t mark;		/* the packet's mark when it was queued */
	const uint8_t *data;	/* from the network header on, at most the copy range */
	size_t len;
};

/* Counters since the queue was opened (both queues together when DNS replies are split). */
struct queue_stats {
	uint64_t packets;	/* packet messages received (with a packet id) */
	uint64_t verdicts;	/* packets whose verdict went out in a successful send */
	uint64_t bad_msgs;	/* packet messages without an id or without the packet bytes */
	uint64_t recv_errors;	/* failed receives other than EAGAIN */
	uint64_t recv_calls;	/* recvmmsg calls */
	uint64_t send_calls;	/* sendto calls (one per batch of verdicts) */
	uint64_t send_errors;	/* failed sendto: those packets are swept later (see queue.c) */
	uint64_t verdict_msgs;	/* NFQNL_MSG_VERDICT messages sent (one packet each) */
	uint64_t batch_msgs;	/* NFQNL_MSG_VERDICT_BATCH messages sent for runs of packets */
	uint64_t sweeps;	/* fail-mode batch verdicts for packets left without one */
	uint64_t undecided;	/* packets given the fail-mode verdict without a decision */
	uint64_t nl_errors;	/* error acks from the kernel (a verdict it refused) */
	uint32_t rcvbuf;	/* receive buffer in effect (bytes as the kernel counts them) */
};

/* Tunables of queue_new_opts(); queue_opts_default() gives the values nfqroute uses. */
struct queue_opts {
	uint16_t num;		/* queue of new connections (and of DNS replies unless split) */
	bool dns_split;		/* DNS replies come on their own queue, dns_num */
	uint16_t dns_num;
	bool fail_open;		/* full queue: accept (else drop); also the verdict of packets
				 * nfqroute could not look at */
	uint32_t maxlen;	/* kernel queue length per queue, packets (default 4096) */
	uint32_t rcvbuf;	/* socket receive buffer per queue, bytes (default 8 MiB) */
	uint32_t copy_range;	/* bytes of each new-flow packet copied; 0: automatic (0xffff
				 * when DNS replies share the queue, QUEUE_COPY_FLOW when split).
				 * The DNS queue always copies whole packets. */
	uint32_t batch;		/* packets received per wakeup and queue (1..QUEUE_BATCH_MAX) */
	bool coalesce;		/* runs of equal verdicts as one NFQNL_MSG_VERDICT_BATCH */
};

#define QUEUE_COPY_FLOW 576	/* IP + TCP headers with options, or UDP + a 512-byte DNS query */
#define QUEUE_BATCH_MAX 1024

/* The kernel's counters of one queue, from /proc/net/netfilter/nfnetlink_queue. */
struct queue_kstats {
	uint32_t portid;	/* netlink port id of the process holding the queue */
	uint32_t queue_total;	/* packets waiting for a verdict now */
	uint32_t copy_mode;
	uint32_t copy_range;
	uint32_t queue_dropped;	/* dropped (or accepted, fail-open) because the queue was full */
	uint32_t user_dropped;	/* dropped because the socket's receive buffer was full */
	uint32_t id_sequence;	/* last packet id handed out: packets queued since binding */
};

/*
 * Returns the mark the packet leaves with; returning pkt->mark accepts it unchanged.
 * *verdict is NF_ACCEPT on entry; setting it to NF_DROP drops the packet instead (the
 * mark is then ignored). Called once per packet, before any verdict of the batch is sent.
 */
typedef uint32_t (*queue_decide_fn)(void *ctx, const struct queue_pkt *pkt, uint8_t *verdict);

/*
 * Called around the decisions of each received batch: with begin after the receive and
 * before the first decide, with !begin after the last decide and before the verdicts of
 * the batch are sent (also around a split of a batch too large for one send). A packet
 * thread takes its share of a lock here: the lock is held while it decides, not while it
 * waits, and a writer that releases it before sending its verdicts is seen by every
 * batch received after those verdicts.
 */
typedef void (*queue_batch_fn)(void *ctx, bool begin);

/* Sets (or with NULL clears) the batch callback; it gets the ctx of queue_process. */
void queue_set_batch_fn(struct queue *q, queue_batch_fn fn);

/* Fills opts with the defaults for queue num (one queue, 4096 packets, 8 MiB, batches of 64). */
void queue_opts_default(struct queue_opts *opts, uint16_t num, bool fail_open);

/*
 * Opens a netfilter netlink socket per queue, binds it (copy mode packet, GSO allowed,
 * fail-open when asked, the queue length and copy range of opts), sets the receive buffer
 * (SO_RCVBUFFORCE, else SO_RCVBUF up to net.core.rmem_max) and NETLINK_NO_ENOBUFS, and makes
 * it non-blocking. Allocates every buffer the packet path needs. Returns NULL with a message
 * in err on invalid options or when binding fails (e.g. another process holds the queue).
 */
struct queue *queue_new_opts(const struct queue_opts *opts, char *err, size_t errlen);

/* queue_new_opts() with queue_opts_default(num, fail_open). */
struct queue *queue_new(uint16_t num, bool fail_open, char *err, size_t errlen);

/* Unbinds and closes; accepts NULL. */
void queue_free(struct queue *q);

/*
 * The descriptor to watch for readability: the socket, or with dns_split an epoll
 * descriptor that is readable when either queue's socket is.
 */
int queue_fd(const struct queue *q);

/* The queue number of new connections. */
uint16_t queue_num(const struct queue *q);

/*
 * Receives what is pending, up to the batch size per queue (one recvmmsg each, the DNS queue
 * first), calls decide for each packet and sends the verdicts of each queue in one sendto
 * in packet-id order: accept with the returned mark, runs of equal verdicts and marks as one
 * NFQNL_MSG_VERDICT_BATCH. Never blocks and never allocates. Returns the number of packets
 * handled, or -errno when verdicts could not be sent.
 */
int queue_process(struct queue *q, queue_decide_fn decide, void *ctx);

/* Copies the counters. */
void queue_get_stats(const struct queue *q, struct queue_stats *out);

/*
 * Reads the kernel's counters of queue num in the caller's network namespace. Returns 0,
 * -ENOENT when the queue is not bound, -EINVAL when its line does not parse, or -errno
 * when the file cannot be read (no nfnetlink_queue module).
 */
int queue_kernel_stats(uint16_t num, struct queue_kstats *out);

/*
 * Parses one line of /proc/net/netfilter/nfnetlink_queue ("%5u %6u %5u %1u %5u %5u %5u
 * %8u %2d", older kernels print the same fields signed). *num is set whenever the first
 * field is a queue number, even if the rest is malformed. Returns 0 or -EINVAL.
 */
int queue_kstats_parse_line(const char *line, uint16_t *num, struct queue_kstats *out);

/*
 * The batching logic, pure so it can be tested without a kernel. A decision is one
 * received packet's outcome, in receive (packet-id) order.
 */
struct queue_decision {
	uint32_t id;
	uint32_t old_mark;	/* mark when queued */
	uint32_t mark;		/* mark it leaves with */
	uint8_t verdict;	/* NF_ACCEPT, NF_DROP */
};

/* One verdict message: for id alone, or (batch) for every packet still queued with id <= id. */
struct queue_vmsg {
	uint32_t id;
	uint32_t mark;
	uint8_t verdict;
	bool batch;
	bool set_mark;		/* carries NFQA_MARK; without it every packet keeps its mark */
};

#define QUEUE_PLAN_COALESCE 1u	/* runs of >= 2 equal (verdict, mark) as one batch message */
#define QUEUE_PLAN_SWEEP 2u	/* packets before these are queued without a verdict: end with
				 * a batch of sweep_verdict (no mark) up to the highest id */

/*
 * Turns n decisions into verdict messages (at most n + 1, in out). Coalescing assumes
 * that when the messages are applied in order, no packet with an id up to the highest of
 * these is still queued other than these (see queue.c); it is not done when the ids are
 * not increasing, nor with QUEUE_PLAN_SWEEP (unknown packets may sit between the ids).
 * Returns the number of messages; 0 when n is 0.
 */
size_t queue_verdicts_plan(const struct queue_decision *d, size_t n, unsigned flags,
			   uint8_t sweep_verdict, struct queue_vmsg *out);

/* Upper bound of the bytes one verdict message takes in queue_verdicts_put(). */
#define QUEUE_VMSG_SIZE 64

/*
 * Writes the messages as netlink verdicts for queue num into buf, back to back for one
 * sendto. Returns the bytes written, or 0 when they do not fit in size.
 */
size_t queue_verdicts_put(uint16_t num, const struct queue_vmsg *v, size_t n, void *buf,
			  size_t size);

enum queue_msg_kind {
	QUEUE_MSG_PACKET,	/* a packet with its bytes: pkt is filled */
	QUEUE_MSG_NODATA,	/* a packet without (all of) its bytes: only id, hook, mark */
	QUEUE_MSG_NOID,		/* a packet message without a usable id */
	QUEUE_MSG_ERROR,	/* the kernel refused a message of ours (nlmsgerr with error) */
	QUEUE_MSG_OTHER,	/* anything else: an ack, done, noop */
};

/*
 * Classifies one netlink message of which avail bytes were received (avail may be less
 * than nlmsg_len when the datagram was truncated) and fills pkt for packet messages. Every
 * attribute is bounds-checked against both lengths.
 */
enum queue_msg_kind queue_msg_parse(const struct nlmsghdr *nlh, size_t avail,
				    struct queue_pkt *pkt);

#endif
