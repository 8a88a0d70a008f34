#ifndef NFQR_RESOLVER_H
#define NFQR_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/*
 * Asynchronous A + AAAA lookups with TTLs (c-ares), driven by the daemon's event loop:
 * no threads, no blocking call, so a slow or dead resolver never delays a verdict.
 * Lookups carry a packet mark: their UDP and TCP sockets get SO_MARK before they connect,
 * so lookups for a tunneled route's names leave through the tunnel. One c-ares channel
 * per distinct mark (sockets are shared within a channel), created on first use.
 * All c-ares sockets sit behind one epoll descriptor, so the resolver takes one loop
 * descriptor however many servers and marks there are, plus timer slot
 * RESOLVER_TIMER_SLOT.
 */
struct resolver;

#define RESOLVER_TIMER_SLOT 1		/* loop timer slot the resolver keeps armed */
#define RESOLVER_ADDRS_MAX 32		/* addresses kept per family and lookup */
#define RESOLVER_TIMEOUT_MS 2000	/* default first-try timeout (c-ares doubles it...) */
#define RESOLVER_TRIES 3		/* ...per round over the servers */

struct resolver_addr {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t a[16];		/* IPv4: first 4 bytes */
	uint32_t ttl;		/* seconds; the smallest along the CNAME chain */
};

/*
 * Called once per lookup with status 0 and the addresses (n may be 0: the name exists
 * without A/AAAA records), or a negative status with n = 0: -ENOENT (NXDOMAIN),
 * -ETIMEDOUT, -ECANCELED (resolver_free), -EPERM (SO_MARK refused: the query was not
 * sent rather than sent unmarked), -ECONNREFUSED (no server reachable; c-ares 1.18 also
 * reports so when every server answered SERVFAIL or REFUSED, after failing over), -EIO
 * (other server errors, malformed answer). name is the name asked for. The callback may
 * start new lookups, but must not free the resolver.
 */
typedef void (*resolver_cb)(void *ctx, const char *name, int status,
			    const struct resolver_addr *addrs, size_t n);

/*
 * Creates a resolver on loop. servers is NULL for the nameservers of /etc/resolv.conf,
 * else a comma-separated list of "ip", "ip:port" or "[ipv6]:port". The configuration is
 * checked here (a throw-away channel is built), so a bad list fails at start-up or
 * reload. Returns NULL with a message in err on failure.
 */
struct resolver *resolver_new(struct loop *loop, const char *servers, char *err,
			      size_t errlen);

/*
 * Frees the resolver: pending lookups are cancelled, their callbacks run with
 * -ECANCELED (from inside this call); its descriptor and timer leave the loop. Accepts
 * NULL.
 */
void resolver_free(struct resolver *r);

/*
 * Makes lookups with mark ask servers (same syntax as for resolver_new) instead of the
 * resolver's default ones: a tunneled route should ask a server reachable only through
 * the tunnel (a local stub such as 127.0.0.53 would forward the query in the clear,
 * whatever the mark). Call it before the first lookup with that mark. Returns 0, or
 * -EINVAL (bad list), -EBUSY (mark already in use) or -ENOMEM, with a message in err.
 */
int resolver_set_mark_servers(struct resolver *r, uint32_t mark, const char *servers,
			      char *err, size_t errlen);

/*
 * Sets the first-try timeout and the number of tries of channels created afterwards
 * (call it before the first lookup). Returns 0 or -EINVAL (0 or absurd values).
 */
int resolver_set_timeout(struct resolver *r, unsigned timeout_ms, unsigned tries);

/*
 * Looks up the A and AAAA records of name (at most 253 characters; taken as absolute,
 * no search domains) with sockets marked mark (0: unmarked). Returns 0, and cb runs
 * exactly once later from the loop, never from inside this call; or -EINVAL (bad name),
 * -ENOMEM, -ECANCELED (called from a callback run by resolver_free), or another -errno
 * when no channel could be made for mark, and cb never runs.
 */
int resolver_lookup(struct resolver *r, const char *name, uint32_t mark, resolver_cb cb,
		    void *ctx);

struct resolver_stats {
	uint64_t lookups;	/* accepted */
	uint64_t answered;	/* completed with status 0 */
	uint64_t failed;	/* completed with an error (cancelled ones included) */
	uint64_t sockets;	/* sockets c-ares opened */
	uint64_t marked;	/* sockets whose SO_MARK was set and read back */
	uint64_t mark_errors;	/* sockets refused because SO_MARK could not be set */
	size_t pending;		/* lookups in flight */
	size_t channels;	/* one per distinct mark used */
};

/* Counters for statistics and tests. */
void resolver_get_stats(const struct resolver *r, struct resolver_stats *out);

#endif
