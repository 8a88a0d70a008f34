/*
 * The packet threads. `queue = N`: one queue (DNS replies on it, or on dns-queue) read by
 * the main loop between its other work, the lowest latency on one core. `queue = N-M`:
 * the kernel spreads new connections over queues N..M, each read by a worker thread of
 * its own, and DNS replies come on their own queue to one more worker, the only thread
 * that learns from them. Nothing slow runs on a worker; the main thread keeps the
 * resolver, the control socket, routes, timers and the cache.
 *
 * Sharing: everything a decision reads (policy, learned and per-client tables, control
 * and log settings) is guarded by d->lock, a big-reader lock (brlock.c says why that and
 * not RCU or a seqlock). A new-flow worker takes its own reader slot for each batch it
 * decides; the DNS worker takes the write side for each batch of replies and releases it
 * before their verdicts are sent, so an address it learned is visible to every worker
 * before the client can even see the answer: the client's first packet is queued after
 * that verdict and decided in a batch received after it, under a lock taken after the
 * writer's release. The main loop holds the write side while it dispatches (not while it
 * waits), so its handlers (reload, refresh answers, status, why) need no locking of their
 * own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "brlock.h"
#include "daemon_int.h"
#include "log.h"
#include "loop.h"
#include "queue.h"
#include "tcpdns.h"
#include "util.h"
#include "worker.h"

#define DRAIN_TIMER 6

static void pkt_free(struct daemon_pkt *pc)
{
	if (!pc)
		return;
	queue_free(pc->q);
	tcpdns_free(pc->tcpdns);
	free(pc->evs);
	free(pc->used);
	free(pc);
}

/* The kernel caps a buffer it is not forced to at net.core.rmem_max: say so, once. */
static void pkt_check_rcvbuf(const struct daemon_pkt *pc, const struct queue_opts *o)
{
	struct queue_stats qs;

	queue_get_stats(pc->q, &qs);
	if (qs.rcvbuf < o->rcvbuf)
		log_warn("queue %u: receive buffer %u KiB instead of the %u KiB of queue-buffer "
			 "(raise net.core.rmem_max, or run with CAP_NET_ADMIN)", o->num,
			 qs.rcvbuf / 1024, o->rcvbuf / 1024);
}

/* A context and its bound queue; dns: DNS replies arrive here (TCP reassembly). */
static struct daemon_pkt *pkt_new(struct daemon *d, const struct queue_opts *o, bool dns,
				  unsigned slot, bool worker, char *err, size_t errlen)
{
	struct daemon_pkt *pc = calloc(1, sizeof(*pc));

	if (!pc)
		goto nomem;
	*pc = (struct daemon_pkt){ .d = d, .slot = slot, .deferred = worker };
	if (dns && !(pc->tcpdns = tcpdns_new(TCPDNS_SLOTS_DEFAULT, TCPDNS_BUF_DEFAULT,
					     TCPDNS_IDLE_MS_DEFAULT)))
		goto nomem;
	/* reserved now, resident only as far as used */
	if (worker && (!(pc->used = calloc(DAEMON_USED_MAX, sizeof(*pc->used))) ||
		       !(pc->evs = calloc(DAEMON_EVENTS_MAX, sizeof(*pc->evs)))))
		goto nomem;
	pc->q = queue_new_opts(o, err, errlen);
	if (!pc->q) {
		pkt_free(pc);
		return NULL;
	}
	if (worker)
		queue_set_batch_fn(pc->q, daemon_pkt_batch);
	pkt_check_rcvbuf(pc, o);
	return pc;
nomem:
	snprintf(err, errlen, "queue %u: out of memory", o->num);
	pkt_free(pc);
	return NULL;
}

static void threads_queue_opts(const struct conf *c, uint16_t num, struct queue_opts *o)
{
	queue_opts_default(o, num, c->fail_mode == CONF_FAIL_OPEN);
	o->maxlen = c->queue_length;
	o->rcvbuf = c->queue_buffer;
	o->batch = c->queue_batch;
}

static void on_queue(void *ctx, int fd, uint32_t events)
{
	struct daemon_pkt *pc = ctx;
	int ret;

	(void)fd;
	(void)events;
	ret = queue_process(pc->q, daemon_pkt_decide, pc);
	if (ret < 0)
		log_warn("queue %u: sending verdicts: %s", queue_num(pc->q), util_strerr(ret));
}

static int threads_add(struct daemon *d, struct daemon_pkt *pc)
{
	d->pkts[d->n_pkts++] = pc;
	return pc ? 0 : -EIO;
}

static int threads_open_single(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	struct queue_opts o;
	int ret;

	threads_queue_opts(c, c->queue, &o);
	if (c->dns_queue >= 0) {
		o.dns_split = true;
		o.dns_num = (uint16_t)c->dns_queue;
	}
	ret = threads_add(d, pkt_new(d, &o, true, DAEMON_WRITER, false, err, errlen));
	if (ret)
		return ret;
	ret = loop_fd_add(d->loop, queue_fd(d->pkts[0]->q), EPOLLIN, on_queue, d->pkts[0]);
	if (ret)
		snprintf(err, errlen, "event loop: %s", util_strerr(ret));
	return ret;
}

static int threads_open_workers(struct daemon *d, const struct conf *c, char *err,
				size_t errlen)
{
	struct queue_opts o;
	int ret = 0;

	d->workers = true;
	for (unsigned i = 0; i < c->queue_count && !ret; i++) {
		threads_queue_opts(c, (uint16_t)(c->queue + i), &o);
		/* only new connections come here: headers, or a DNS query for dns = yes */
		o.copy_range = QUEUE_COPY_FLOW;
		ret = threads_add(d, pkt_new(d, &o, false, i, true, err, errlen));
	}
	if (!ret) {
		threads_queue_opts(c, (uint16_t)c->dns_queue, &o);
		ret = threads_add(d, pkt_new(d, &o, true, DAEMON_WRITER, true, err, errlen));
	}
	/* until the workers start (after start-up lookups and the privilege drop), this
	 * loop serves their queues: the lookups' own packets pass through them */
	for (size_t i = 0; i < d->n_pkts && !ret; i++)
		ret = loop_fd_add(d->loop, queue_fd(d->pkts[i]->q), EPOLLIN, on_queue, d->pkts[i]);
	return ret;
}

int daemon_threads_open(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	bool workers = c->queue_count > 1;
	int ret;

	d->pkts = calloc(c->queue_count + 1, sizeof(*d->pkts));
	d->lock = brlock_new(workers ? c->queue_count : 0);
	if (!d->pkts || !d->lock) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
	} else if (workers) {
		ret = threads_open_workers(d, c, err, errlen);
	} else {
		ret = threads_open_single(d, c, err, errlen);
	}
	if (ret)
		daemon_threads_close(d);
	return ret;
}

static void on_drain_timer(void *ctx)
{
	struct daemon *d = ctx;

	daemon_pkt_drain(d);
	loop_timer_set(d->loop, DRAIN_TIMER, util_now_ms() + DAEMON_DRAIN_MS, on_drain_timer, d);
}

static void threads_guard(void *ctx, bool enter)
{
	struct daemon *d = ctx;

	if (enter)
		brlock_write_lock(d->lock);
	else
		brlock_write_unlock(d->lock);
}

static void threads_log(const struct daemon *d, const struct conf *c)
{
	if (!d->workers) {
		if (c->dns_queue >= 0)
			log_info("queue %u (new connections), queue %d (DNS replies), on the main thread",
				 c->queue, c->dns_queue);
		else
			log_info("queue %u bound", c->queue);
		return;
	}
	log_info("queues %u-%u: %u workers (%s fanout%s), DNS replies on queue %d", c->queue,
		 c->queue + c->queue_count - 1, c->queue_count, c->fanout_cpu ? "CPU" : "hash",
		 c->pin_workers ? ", pinned" : "", c->dns_queue);
}

int daemon_threads_run(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	char msg[DAEMON_ERRLEN];

	threads_log(d, c);
	loop_set_guard(d->loop, threads_guard, d);
	if (!d->workers)
		return 0;
	for (size_t i = 0; i < d->n_pkts; i++) {
		struct daemon_pkt *pc = d->pkts[i];

		loop_fd_del(d->loop, queue_fd(pc->q));
	}
	for (size_t i = 0; i < d->n_pkts; i++) {
		struct daemon_pkt *pc = d->pkts[i];
		/* the DNS worker is not pinned: it is idle most of the time */
		int cpu = c->pin_workers && pc->slot != DAEMON_WRITER ? (int)pc->slot : -1;

		pc->w = worker_start(pc->q, cpu, daemon_pkt_decide, pc, msg, sizeof(msg));
		if (!pc->w) {
			snprintf(err, errlen, "%s", msg);
			return -EAGAIN;
		}
		if (msg[0])
			log_warn("%s", msg);
		else if (cpu >= 0)
			log_info("queue %u: worker on CPU %d", queue_num(pc->q), worker_cpu(pc->w));
	}
	loop_timer_set(d->loop, DRAIN_TIMER, util_now_ms() + DAEMON_DRAIN_MS, on_drain_timer, d);
	return 0;
}

static void threads_add_stats(struct daemon_stats *to, uint64_t *flows,
			      const struct daemon_stats *st, const uint64_t *from)
{
	to->dns_replies += st->dns_replies;
	to->dns_learned += st->dns_learned;
	to->dns_bad += st->dns_bad;
	to->flows += st->flows;
	to->flows_routed += st->flows_routed;
	to->pkt_bad += st->pkt_bad;
	to->dns_dropped += st->dns_dropped;
	for (size_t r = 0; r < DAEMON_ROUTE_SLOTS; r++)
		flows[r] += from[r];
}

void daemon_threads_close(struct daemon *d)
{
	/* threads first: none may be deciding while anything is freed */
	for (size_t i = 0; i < d->n_pkts; i++)
		if (d->pkts[i]) {
			worker_stop(d->pkts[i]->w);
			d->pkts[i]->w = NULL;
		}
	if (d->loop) {
		loop_set_guard(d->loop, NULL, NULL);
		loop_timer_clear(d->loop, DRAIN_TIMER);
	}
	/* what the stopped workers left goes out before their contexts do */
	if (d->workers && d->policy)
		daemon_pkt_drain(d);
	for (size_t i = 0; i < d->n_pkts; i++) {
		struct daemon_pkt *pc = d->pkts[i];

		if (!pc)
			continue;
		if (d->loop)
			loop_fd_del(d->loop, queue_fd(pc->q));	/* -ENOENT once workers ran */
		/* a reload with another layout must not reset what status counts */
		threads_add_stats(&d->retired, d->retired_flows, &pc->st, pc->route_flows);
		d->retired_events_dropped += pc->events_dropped;
		pkt_free(pc);
	}
	free(d->pkts);
	d->pkts = NULL;
	d->n_pkts = 0;
	d->workers = false;
	brlock_free(d->lock);
	d->lock = NULL;
}

bool daemon_threads_same_layout(const struct conf *a, const struct conf *b)
{
	return a->queue == b->queue && a->queue_count == b->queue_count &&
	       a->dns_queue == b->dns_queue && a->fail_mode == b->fail_mode &&
	       a->queue_length == b->queue_length && a->queue_buffer == b->queue_buffer &&
	       a->queue_batch == b->queue_batch && a->pin_workers == b->pin_workers;
}

static int threads_start(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	int ret = daemon_threads_open(d, c, err, errlen);

	if (ret)
		return ret;
	brlock_write_lock(d->lock);	/* the caller's dispatch goes on holding it */
	ret = daemon_threads_run(d, c, err, errlen);
	if (ret) {
		brlock_write_unlock(d->lock);
		daemon_threads_close(d);
	}
	return ret;
}

int daemon_threads_relayout(struct daemon *d, const struct conf *c, const struct conf *old,
			    char *err, size_t errlen)
{
	char again[DAEMON_ERRLEN];
	int ret;

	/* the workers finish their batches (they may wait for this lock) and go; packets
	 * queued meanwhile get the kernel's verdict for a queue without reader: accepted
	 * with fail-mode = open, dropped with closed */
	brlock_write_unlock(d->lock);
	daemon_threads_close(d);
	ret = threads_start(d, c, err, errlen);
	if (!ret)
		return 0;
	if (threads_start(d, old, again, sizeof(again)) < 0)
		log_err("queues of the running configuration: %s", again);
	return ret;
}

void daemon_threads_totals(const struct daemon *d, struct daemon_stats *st, uint64_t *flows,
			   uint64_t *events_dropped)
{
	*st = d->retired;
	memcpy(flows, d->retired_flows, DAEMON_ROUTE_SLOTS * sizeof(*flows));
	*events_dropped = d->retired_events_dropped;
	for (size_t i = 0; i < d->n_pkts; i++) {
		const struct daemon_pkt *pc = d->pkts[i];

		threads_add_stats(st, flows, &pc->st, pc->route_flows);
		*events_dropped += pc->events_dropped;
	}
}
