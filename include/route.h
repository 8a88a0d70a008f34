#ifndef NFQR_ROUTE_H
#define NFQR_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

struct route_mgr;

/*
 * Opens the rtnetlink sockets (libnl-route-3): one for requests and one subscribed to link,
 * IPv4/IPv6 address, rule and route events, non-blocking, so the daemon loop can poll it. Does not
 * change anything yet. Returns NULL and writes a message into err on failure.
 */
struct route_mgr *route_mgr_new(char *err, size_t errlen);

/* Frees the manager without touching the kernel; accepts NULL. */
void route_mgr_free(struct route_mgr *rm);

/*
 * Sets where the manager reports what it does and what it tolerates (a missing interface,
 * an IPv6 route refused by an interface with IPv6 disabled, failures while following link
 * events): fn receives ctx, a syslog priority (LOG_ERR .. LOG_DEBUG) and one line without
 * a newline. fn NULL (the default) discards the messages.
 */
void route_mgr_set_logger(struct route_mgr *rm, void (*fn)(void *ctx, int prio, const char *msg),
			  void *ctx);

/* The event socket's file descriptor, to be watched for readability. */
int route_mgr_fd(const struct route_mgr *rm);

/*
 * Installs, for every route of c whose table is not main, IPv4 and IPv6:
 *   ip rule  fwmark MARK/MASK lookup TABLE priority (rule-priority + index)
 *   ip route blackhole default table TABLE metric 4278198272   (fail-closed = yes)
 *   ip route default dev IFNAME [via GATEWAY] table TABLE metric 1024 (when IFNAME is up)
 * An interface that is missing or down is not an error: its default route is added when
 * it appears (route_mgr_handle_events). Replaces what a previous call installed (used by
 * reload): rules and routes of routes that disappeared are removed. Only objects with
 * these exact keys are touched; rules and routes of other software stay. Returns 0 or
 * -errno with a message in err.
 */
int route_mgr_apply(struct route_mgr *rm, const struct conf *c, char *err, size_t errlen);

/*
 * Reads pending link, address, rule and route events and re-adds a route's default route
 * when its interface comes up again (also after it was deleted and re-created under the
 * same name), and retries a default route that is not in place (e.g. its gateway was not
 * reachable yet) when an address of that family appears on the interface. Puts back what
 * another program deleted of what route_mgr_apply installed (an ip rule, the suppress
 * rule, a blackhole, a default route while its interface is up), logging a warning that
 * names it; our own removals and the routes the kernel drops with a link are not put
 * back. When put-backs come too often (more than 30 in 10 s) it slows down to one a
 * second: route_mgr_due_ms then says when to call again. Never blocks. Returns 0 or
 * -errno.
 */
int route_mgr_handle_events(struct route_mgr *rm);

/*
 * The monotonic time (ms, as util_now_ms) at which route_mgr_handle_events must be called
 * again to put back objects whose put-back was slowed down, or 0 when nothing waits.
 */
uint64_t route_mgr_due_ms(const struct route_mgr *rm);

/*
 * Removes everything route_mgr_apply installed. With keep_blackholes, the ip rules and
 * blackhole routes of fail-closed routes with keep-blackhole = yes stay so their traffic
 * keeps being dropped (their default routes through the interface still go). Forgets the
 * installed state either way. Returns 0 or the first -errno (it still tries every object).
 */
int route_mgr_remove(struct route_mgr *rm, bool keep_blackholes);

/*
 * Removes, without prior state, every rule and route that c would install (crash
 * leftovers, `nfqroute down`). Missing objects are not errors.
 */
int route_mgr_remove_conf(struct route_mgr *rm, const struct conf *c);

/* Prints the `ip rule` / `ip route` commands equivalent to route_mgr_apply for c. */
void route_plan_print(const struct conf *c, FILE *out);

/* True when the interface named ifname exists and is up (IFF_UP). */
bool route_link_is_up(struct route_mgr *rm, const char *ifname);

#endif
