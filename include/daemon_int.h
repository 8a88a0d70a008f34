#ifndef NFQR_DAEMON_INT_H
#define NFQR_DAEMON_INT_H

/*
 * The daemon's context, shared by its modules: daemon.c (start, reload, stop),
 * daemon_pkt.c (the per-packet path), daemon_ctl.c (control socket handlers) and
 * daemon_fresh.c (re-resolution and the cache). Internal: nothing else includes it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "addrmap.h"
#include "dns.h"
#include "nftrules.h"
#include "policy.h"
#include "classify.h"
#include "flowlog.h"
#include "pkt.h"
#include <limits.h>

struct control;
struct loop;
struct queue;
struct queue_pkt;
struct brlock;
struct worker;
struct tcpdns;
struct route_mgr;
struct daemon_fresh;
struct nftwatch;

#define DAEMON_ERRLEN CONF_ERR_MAX
#define DAEMON_ROUTE_SLOTS 256		/* routes with a connection counter of their own */

struct daemon_stats {
	uint64_t dns_replies, dns_learned, dns_bad, flows, flows_routed, pkt_bad;
	uint64_t dns_dropped;	/* replies of routed names held back (classify_dns_must_drop) */
};

#define DAEMON_USED_MAX 4096	/* used addresses a worker leaves per drain (then dropped) */
#define DAEMON_EVENTS_MAX 2048	/* monitor/log events a worker leaves per drain */
#define DAEMON_RECENT 1024	/* a worker's filter of addresses it reported this second */
#define DAEMON_DRAIN_MS 50	/* how often the main thread takes what workers left */
#define DAEMON_WRITER UINT_MAX	/* the slot of a packet thread that takes the write side */
#define DAEMON_PKTS_MAX 80	/* packet threads at most: 64 new-flow queues and the DNS one */

/* A monitor or log event a worker leaves for the main thread, with its strings. */
struct daemon_event {
	struct flowlog_event ev;
	char domain[DNS_NAME_MAX];
	char route[CONF_NAME_MAX];
	char reason[DNS_NAME_MAX + 16];
};

/* A new connection a worker routed by a learned address (for LRU and refresh). */
struct daemon_used {
	struct pkt_addr dst;
	uint64_t now_ms;
};

/*
 * What one packet thread owns. With `queue = N` there is one, served by the main loop.
 * With `queue = N-M` there is one per new-flow queue (a worker each, reader slot i) and
 * one for the DNS queue (a worker that takes the write side, as it learns). Everything a
 * worker's decision reads is shared state guarded by d->lock; what a decision wants done
 * on the main thread (publish an event, keep a name fresh) is left in used[] and evs[],
 * written under the worker's own read slot and taken by the main thread under the write
 * side, so these need no atomics.
 */
struct daemon_pkt {
	struct daemon *d;
	struct queue *q;
	struct worker *w;		/* NULL: served by the main loop */
	unsigned slot;			/* d->lock reader slot, or DAEMON_WRITER */
	bool deferred;			/* a worker: leave events and used addresses */
	struct daemon_stats st;
	uint64_t route_flows[DAEMON_ROUTE_SLOTS];	/* see daemon_route_count */
	struct dns_reply reply;		/* parse buffer, reused for every reply */
	struct tcpdns *tcpdns;		/* DNS-over-TCP reassembly where replies arrive */
	struct daemon_used *used;
	size_t n_used;
	struct daemon_event *evs;
	size_t n_evs;
	uint64_t events_dropped;	/* events that found evs[] full */
	uint32_t recent[DAEMON_RECENT];	/* address hash -> second + 1 it was left in used[] */
};

struct daemon {
	const char *conf_path;
	struct policy *policy;
	struct addrmap *am;
	struct route_mgr *rm;
	struct loop *loop;
	enum nftrules_queue_path qpath;
	char saved_svm[16];
	bool svm_changed;
	struct control *ctl;		/* the control socket (NULL until started) */
	uint64_t started_ms;		/* monotonic, for uptime */
	time_t loaded_at;		/* wall clock of the last (re)load */
	uint64_t reload_ms;		/* monotonic, when the last reload started */
	struct nftwatch *nftw;		/* our table changed by someone else (daemon.c) */
	uint64_t reinstall_ms;		/* monotonic, the last time we put the table back */
	uint64_t reinstall_window_ms;	/* start of the window reinstalls are counted in */
	unsigned reinstalls;
	bool reinstall_pending;
	bool reload_pending;		/* a SIGHUP waits for its turn (see daemon_run) */
	struct daemon_fresh *fresh;	/* resolver, refresh schedule, cache (NULL when off) */
	struct learnlog *learnlog;	/* when and from whom recent addresses were learned */
	struct addrmap *pcmap;		/* per-client = yes: (LAN host, address) mappings */
	bool dns_by_name;		/* some route has dns = yes: parse queries */
	/* the packet threads (daemon_threads.c): pkts[0..n_pkts), the DNS one last */
	struct brlock *lock;		/* what the main thread holds while its loop dispatches */
	struct daemon_pkt **pkts;
	size_t n_pkts;
	bool workers;			/* pkts are served by worker threads */
	/* the counters of packet threads that a reload with another queue layout ended */
	struct daemon_stats retired;
	uint64_t retired_flows[DAEMON_ROUTE_SLOTS];
	uint64_t retired_events_dropped;
	/* the route names the per-route counters' indexes had, so counts follow a route
	 * across reloads (daemon_flows_sync) */
	char route_flows_of[DAEMON_ROUTE_SLOTS][CONF_NAME_MAX];
};

/* Counts a decided connection for route (an index; others are ignored). Per packet. */
static inline void daemon_route_count(struct daemon_pkt *pc, int route)
{
	if (route >= 0 && route < DAEMON_ROUTE_SLOTS)
		pc->route_flows[route]++;
}

/*
 * Binds the queues of configuration c and prepares a packet context per queue (c's
 * queue layout: one queue on the main loop, or new-flow queues plus a DNS queue for
 * worker threads, which are not started yet). Returns 0 or -errno with a message in err;
 * on error nothing stays bound.
 */
int daemon_threads_open(struct daemon *d, const struct conf *c, char *err, size_t errlen);

/*
 * Starts the worker threads (pinned when c says so) and the main loop's guard and
 * drain timer. Call it last in start-up, after privileges are dropped, so the threads
 * inherit that. Returns 0 or -errno with a message in err.
 */
int daemon_threads_run(struct daemon *d, const struct conf *c, char *err, size_t errlen);

/*
 * Stops the workers (their current batches finish), unbinds every queue and frees the
 * contexts. The caller must not hold d->lock. Accepts a daemon without threads.
 */
void daemon_threads_close(struct daemon *d);

/*
 * Reload with a different queue layout: stops the packet threads and starts those of c,
 * or those of old again when c's cannot be bound. Called with d->lock held (the write
 * side); returns with the new lock held. Returns 0 or -errno with a message in err.
 */
int daemon_threads_relayout(struct daemon *d, const struct conf *c, const struct conf *old,
			    char *err, size_t errlen);

/* True when a and b give the same queues, threads and queue options. */
bool daemon_threads_same_layout(const struct conf *a, const struct conf *b);

/* The counters of every packet thread added up (flows: DAEMON_ROUTE_SLOTS of them). */
void daemon_threads_totals(const struct daemon *d, struct daemon_stats *st, uint64_t *flows,
			   uint64_t *events_dropped);

/* Main thread, write side held (or the workers stopped): publishes the events and handles
 * the used addresses the workers left. */
void daemon_pkt_drain(struct daemon *d);

/*
 * Decides one queued packet for packet thread ctx (a struct daemon_pkt): DNS replies are
 * learned from and accepted unchanged, new connections get their route's mark.
 */
uint32_t daemon_pkt_decide(void *ctx, const struct queue_pkt *qp, uint8_t *verdict);

/* queue_batch_fn of the workers: the read side of their slot, or the write side. */
void daemon_pkt_batch(void *ctx, bool begin);

/*
 * Opens the control socket of configuration c and registers it on the loop. Returns 0 or
 * -errno with a message in err.
 */
int daemon_ctl_start(struct daemon *d, const struct conf *c, char *err, size_t errlen);

/*
 * After a reload: moves the per-route connection counters to the new index of the route
 * with the same name (counters of routes that are gone are dropped). Cheap when nothing
 * changed; `status` calls it too, so a SIGHUP reload is caught up before counts are shown.
 */
void daemon_flows_sync(struct daemon *d);

/* Writes the `status` reply: text, or one JSON document when json (daemon_status.c). */
void daemon_status(struct daemon *d, bool json, FILE *out);

/*
 * Reloads the configuration file: parsed and loaded completely first; on any error the
 * running configuration stays and err says why. Returns 0 or -EINVAL.
 */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

/*
 * Starts re-resolution: the c-ares resolver on the loop, the refresh schedule, and the
 * start-up lookups of names configured exactly (domains =, full:). With wait, returns
 * only when those lookups are done or a few seconds passed, so the first connection to
 * such a name is routed right. Returns 0 or -errno with a message in err.
 */
int daemon_fresh_start(struct daemon *d, bool wait, char *err, size_t errlen);

/* Stops re-resolution (pending lookups are cancelled); accepts a daemon without it. */
void daemon_fresh_stop(struct daemon *d);

/* Re-resolution lookups finished since start, and of those the failed ones (0 when off). */
void daemon_fresh_stats(const struct daemon *d, uint64_t *lookups, uint64_t *failures);

/* After a reload: pins the new configuration's exact names, forgets nothing else. */
void daemon_fresh_reload(struct daemon *d);

/* A new connection used dst, learned for res->name: keep that name fresh. Cheap. */
void daemon_fresh_used(struct daemon *d, const struct pkt_addr *dst,
		       const struct classify_result *res, uint64_t now_ms);

/* The same for an address a worker left: looked up again (it may have changed since). */
void daemon_fresh_used_addr(struct daemon *d, const struct pkt_addr *dst, uint64_t now_ms);

/* Re-arms the refresh timer after workers learned names (main thread). */
void daemon_fresh_rearm(struct daemon *d);

/* Addresses were learned from reply: reschedule the refresh of its names. Cheap. */
void daemon_fresh_learned(struct daemon *d, const struct dns_reply *reply, uint64_t now_ms);

/*
 * Loads the cache file into the address table (before the queue is bound, so a restart
 * costs no connection its route). A missing file is silent, a bad one one warning.
 */
void daemon_cache_load(struct daemon *d);

/* Arms the periodic cache save (cache-interval). */
void daemon_cache_start(struct daemon *d);

/*
 * Writes the cache file. With background, a child process writes it so the packet path
 * never waits for the disk (at most one at a time); otherwise it is written before
 * returning (at stop).
 */
void daemon_cache_save(struct daemon *d, bool background);

#endif
