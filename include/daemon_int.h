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

struct control;
struct loop;
struct queue;
struct route_mgr;
struct daemon_fresh;

#define DAEMON_ERRLEN CONF_ERR_MAX
#define DAEMON_ROUTE_SLOTS 256		/* routes with a connection counter of their own */

struct daemon_stats {
	uint64_t dns_replies, dns_learned, dns_bad, flows, flows_routed, pkt_bad;
};

struct daemon {
	const char *conf_path;
	struct policy *policy;
	struct addrmap *am;
	struct queue *q;
	struct route_mgr *rm;
	struct loop *loop;
	enum nftrules_queue_path qpath;
	char saved_svm[16];
	bool svm_changed;
	struct daemon_stats st;
	struct dns_reply reply;		/* parse buffer, reused for every reply */
	struct control *ctl;		/* the control socket (NULL until started) */
	uint64_t started_ms;		/* monotonic, for uptime */
	time_t loaded_at;		/* wall clock of the last (re)load */
	struct daemon_fresh *fresh;	/* resolver, refresh schedule, cache (NULL when off) */
	struct tcpdns *tcpdns;		/* DNS-over-TCP reply reassembly */
	struct learnlog *learnlog;	/* when and from whom recent addresses were learned */
	struct addrmap *pcmap;		/* per-client = yes: (LAN host, address) mappings */
	bool dns_by_name;		/* some route has dns = yes: parse queries */
	/* connections decided per route index since start (daemon_route_count), and the
	 * route names those indexes had, so counts follow a route across reloads */
	uint64_t route_flows[DAEMON_ROUTE_SLOTS];
	char route_flows_of[DAEMON_ROUTE_SLOTS][CONF_NAME_MAX];
};

/* Counts a decided connection for route (an index; others are ignored). Per packet. */
static inline void daemon_route_count(struct daemon *d, int route)
{
	if (route >= 0 && route < DAEMON_ROUTE_SLOTS)
		d->route_flows[route]++;
}

/*
 * Queue callback: receives a batch of packets, decides each (DNS replies are learned
 * from, new connections get their route's mark) and sends the verdicts.
 */
void daemon_pkt_on_queue(void *ctx, int fd, uint32_t events);

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
