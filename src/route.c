/*
 * Policy routing for marked traffic (libnl-route-3): per route an fwmark rule into the
 * route's table, a default route through its interface and, fail-closed, a blackhole at a
 * far worse metric that only wins while the interface route is missing. This file holds
 * the public state changes and the manager's lifetime; route_plan.c, route_nl.c and
 * route_link.c (link and address events) hold the rest.
 */
#include "route_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <netlink/handlers.h>
#include <netlink/socket.h>

/* ---- logging ---- */

void route_log(const struct route_mgr *rm, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!rm->log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rm->log_fn(rm->log_ctx, prio, msg);
}

void route_mgr_set_logger(struct route_mgr *rm, void (*fn)(void *ctx, int prio, const char *msg),
			  void *ctx)
{
	rm->log_fn = fn;
	rm->log_ctx = ctx;
}

/* ---- installing and removing one entry ---- */

/* Reports a failed dev route add; only an IPv4 failure other than a vanished link counts. */
static void route_dev_add_failed(struct route_mgr *rm, struct route_ent *e, int fi, int rc,
				 char *err, size_t errlen, int *first)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];

	route_obj_fmt(e, fi, ROUTE_OBJ_DEV, "add", cmd, sizeof(cmd));
	route_errstr(rm, rc, why, sizeof(why));
	if (fi == ROUTE_V6) {
		route_log(rm, e->v6_failed ? LOG_DEBUG : LOG_WARNING,
			  "route %s: %s: %s; IPv6 of this route %s", e->name, cmd, why,
			  e->fail_closed ? "is blackholed" : "uses the main table");
		e->v6_failed = true;
	} else if (rc == -ENODEV || rc == -ENETDOWN || rc == -ENETUNREACH) {
		/* gone meanwhile, or the gateway is not on a subnet of the interface yet: the
		 * link or address event that fixes it brings the route back */
		route_log(rm, LOG_WARNING, "route %s: %s: %s (retried when the interface gets "
			  "its address)", e->name, cmd, why);
	} else if (!*first) {
		snprintf(err, errlen, "route %s: %s: %s", e->name, cmd, why);
		*first = rc;
	}
}

int route_ent_add_dev(struct route_mgr *rm, struct route_ent *e, unsigned fams, char *err,
		      size_t errlen)
{
	char why[ROUTE_ERRSTR_MAX];
	int rc, fi, first = 0, was_index = e->ifindex;

	rc = route_link_get(rm, e->ifname, &e->ifindex, &e->link_up);
	if (rc < 0 || !e->link_up || e->ifindex != was_index) {
		/* not the link the routes were on: none of them is there */
		for (fi = 0; fi < ROUTE_NFAM; fi++)
			e->dev_ok[fi] = false;
		fams = ROUTE_FAMS_ALL;
	}
	if (rc == -ENODEV) {
		route_log(rm, LOG_WARNING, "route %s: interface %s does not exist (yet): its "
			  "connections %s until it does", e->name, e->ifname,
			  e->fail_closed ? "are blackholed" : "use the main table");
		return 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "route %s: interface %s: %s", e->name, e->ifname,
			 route_errstr(rm, rc, why, sizeof(why)));
		return rc;
	}
	if (!e->link_up) {
		route_log(rm, LOG_WARNING, "route %s: interface %s is down: its connections %s "
			  "until it is up", e->name, e->ifname,
			  e->fail_closed ? "are blackholed" : "use the main table");
		return 0;
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!(fams & (1u << fi)))
			continue;
		rc = route_obj_req(rm, e, fi, ROUTE_OBJ_DEV, e->ifindex, true);
		e->dev_ok[fi] = rc == 0;
		if (rc < 0)
			route_dev_add_failed(rm, e, fi, rc, err, errlen, &first);
		else if (fi == ROUTE_V6)
			e->v6_failed = false;
	}
	return first;
}

static int route_ent_install(struct route_mgr *rm, struct route_ent *e, char *err,
			     size_t errlen)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	enum route_obj obj;
	int rc, fi;

	rc = route_ent_add_dev(rm, e, ROUTE_FAMS_ALL, err, errlen);
	if (rc < 0)
		return rc;
	for (obj = ROUTE_OBJ_BLACKHOLE; obj <= ROUTE_OBJ_RULE; obj++) {
		if (obj == ROUTE_OBJ_BLACKHOLE && !e->fail_closed)
			continue;
		for (fi = 0; fi < ROUTE_NFAM; fi++) {
			rc = route_obj_req(rm, e, fi, obj, 0, true);
			if (rc == 0)
				continue;
			route_obj_fmt(e, fi, obj, "add", cmd, sizeof(cmd));
			route_errstr(rm, rc, why, sizeof(why));
			if (fi == ROUTE_V6 && rc == -EAFNOSUPPORT) {
				/* kernel without IPv6: no IPv6 traffic to steer */
				route_log(rm, LOG_WARNING, "route %s: %s: %s", e->name, cmd, why);
				continue;
			}
			snprintf(err, errlen, "route %s: %s: %s", e->name, cmd, why);
			return rc;
		}
	}
	route_log(rm, LOG_DEBUG, "route %s: fwmark 0x%" PRIx32 " -> table %" PRIu32 " installed",
		  e->name, e->mark, e->table);
	return 0;
}

void route_obj_del(struct route_mgr *rm, const struct route_ent *e, int fi, enum route_obj obj,
		   int ifindex, int *first)
{
	char cmd[ROUTE_CMD_MAX], why[ROUTE_ERRSTR_MAX];
	int rc;

	rc = route_obj_req(rm, e, fi, obj, ifindex, false);
	if (rc == 0 || route_err_notfound(rc) || (fi == ROUTE_V6 && rc == -EAFNOSUPPORT))
		return;
	route_obj_fmt(e, fi, obj, "del", cmd, sizeof(cmd));
	route_log(rm, LOG_ERR, "route %s: %s: %s", e->name, cmd,
		  route_errstr(rm, rc, why, sizeof(why)));
	if (!*first)
		*first = rc;
}

/*
 * Deletes the parts of e, rule first so no traffic is sent into a half-emptied table.
 * Objects some entry of keep also installs stay. Missing objects are fine.
 */
static int route_ent_uninstall(struct route_mgr *rm, const struct route_ent *e, unsigned parts,
			       const struct route_ent *keep, size_t n_keep)
{
	int first = 0, fi, ifindex, rc;
	bool up, dev_kept = true;

	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((parts & ROUTE_PART_RULE) && !route_obj_in(keep, n_keep, e, ROUTE_OBJ_RULE, fi))
			route_obj_del(rm, e, fi, ROUTE_OBJ_RULE, 0, &first);
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if ((parts & ROUTE_PART_BLACKHOLE) && e->fail_closed &&
		    !route_obj_in(keep, n_keep, e, ROUTE_OBJ_BLACKHOLE, fi))
			route_obj_del(rm, e, fi, ROUTE_OBJ_BLACKHOLE, 0, &first);
	}
	for (fi = 0; fi < ROUTE_NFAM; fi++)
		dev_kept = dev_kept && route_obj_in(keep, n_keep, e, ROUTE_OBJ_DEV, fi);
	if (!(parts & ROUTE_PART_DEV) || !e->ifname[0] || dev_kept)
		return first;
	/* dev routes die with their link, so a missing interface leaves nothing to do */
	rc = route_link_get(rm, e->ifname, &ifindex, &up);
	if (rc == -ENODEV)
		return first;
	if (rc < 0)
		return first ? first : rc;
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!route_obj_in(keep, n_keep, e, ROUTE_OBJ_DEV, fi))
			route_obj_del(rm, e, fi, ROUTE_OBJ_DEV, ifindex, &first);
	}
	return first;
}

/* ---- public state changes ---- */

/* After a failed apply both generations are tracked, so remove() still finds everything. */
static void route_track_failed(struct route_mgr *rm, struct route_ent *ents, size_t n)
{
	struct route_ent *all;
	size_t i;

	if (n == 0)
		return;
	all = realloc(rm->ents, (rm->n_ents + n) * sizeof(*all));
	if (!all) {
		route_log(rm, LOG_ERR, "out of memory: %zu partly installed routes not tracked", n);
		return;
	}
	for (i = 0; i < n; i++) {
		all[rm->n_ents + i] = ents[i];
		all[rm->n_ents + i].stale = true;
	}
	rm->ents = all;
	rm->n_ents += n;
}

/* Keeps the suppress rule in line with the configuration (none, or at prio). */
static void route_suppress_sync(struct route_mgr *rm, uint32_t prio)
{
	int fi;

	if (rm->suppress_prio == prio)
		return;
	rm->suppress_put = 0;	/* a put-back of the old rule would resurrect it */
	for (fi = 0; fi < ROUTE_NFAM && rm->suppress_prio; fi++)
		route_suppress_req(rm, fi, rm->suppress_prio, false);
	rm->suppress_prio = 0;
	for (fi = 0; fi < ROUTE_NFAM && prio; fi++) {
		int rc = route_suppress_req(rm, fi, prio, true);

		if (rc < 0 && !(fi == ROUTE_V6 && rc == -EAFNOSUPPORT))
			route_log(rm, LOG_WARNING, "ip%s rule add lookup main suppress_prefixlength 0 "
				  "priority %" PRIu32 ": %s", fi == ROUTE_V6 ? " -6" : "", prio,
				  strerror(-rc));
	}
	rm->suppress_prio = prio;
}

int route_mgr_apply(struct route_mgr *rm, const struct conf *c, char *err, size_t errlen)
{
	struct route_ent *ents, *all;
	size_t n, i, n_left = 0;
	int rc;

	rc = route_ents_from_conf(c, &ents, &n, err, errlen);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		rc = route_ent_install(rm, &ents[i], err, errlen);
		if (rc < 0) {
			route_track_failed(rm, ents, i + 1);
			free(ents);
			return rc;
		}
	}
	/* Old objects go only now, so a reload never opens a gap for the marked traffic. */
	for (i = 0; i < rm->n_ents; i++) {
		if (route_ent_uninstall(rm, &rm->ents[i], ROUTE_PART_ALL, ents, n) < 0) {
			rm->ents[i].stale = true;
			rm->ents[n_left++] = rm->ents[i];
		}
	}
	if (n_left > 0) {
		/* keep what could not be deleted, so a later remove() retries it */
		all = realloc(ents, (n + n_left) * sizeof(*all));
		if (all) {
			memcpy(all + n, rm->ents, n_left * sizeof(*all));
			ents = all;
			n += n_left;
		}
	}
	free(rm->ents);
	rm->ents = ents;
	rm->n_ents = n;
	route_suppress_sync(rm, route_suppress_prio(c));
	return 0;
}

int route_mgr_remove(struct route_mgr *rm, bool keep_blackholes)
{
	unsigned parts;
	size_t i;
	int rc, first = 0;

	for (i = 0; i < rm->n_ents; i++) {
		const struct route_ent *e = &rm->ents[i];

		parts = ROUTE_PART_ALL;
		if (keep_blackholes && e->fail_closed && e->keep_blackhole)
			parts = ROUTE_PART_DEV;
		rc = route_ent_uninstall(rm, e, parts, NULL, 0);
		if (rc < 0 && !first)
			first = rc;
		if (parts != ROUTE_PART_ALL)
			route_log(rm, LOG_INFO, "route %s: ip rule and blackhole of table %" PRIu32
				  " left in place", e->name, e->table);
	}
	free(rm->ents);
	rm->ents = NULL;
	rm->n_ents = 0;
	route_suppress_sync(rm, 0);
	return first;
}

int route_mgr_remove_conf(struct route_mgr *rm, const struct conf *c)
{
	char err[CONF_ERR_MAX];
	struct route_ent *ents;
	size_t n, i;
	int rc, first = 0;

	rc = route_ents_from_conf(c, &ents, &n, err, sizeof(err));
	if (rc < 0) {
		route_log(rm, LOG_ERR, "%s", err);
		return rc;
	}
	for (i = 0; i < n; i++) {
		rc = route_ent_uninstall(rm, &ents[i], ROUTE_PART_ALL, NULL, 0);
		if (rc < 0 && !first)
			first = rc;
	}
	free(ents);
	rm->suppress_prio = route_suppress_prio(c);
	route_suppress_sync(rm, 0);
	return first;
}

/* ---- lifetime ---- */

struct route_mgr *route_mgr_new(char *err, size_t errlen)
{
	struct route_mgr *rm;

	rm = calloc(1, sizeof(*rm));
	if (!rm) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rm->sk = nl_socket_alloc();
	rm->ev = nl_socket_alloc();
	if (!rm->sk || !rm->ev) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (route_nl_open(rm, err, errlen) < 0 || route_ev_open(rm, err, errlen) < 0)
		goto fail;
	return rm;
fail:
	route_mgr_free(rm);
	return NULL;
}

void route_mgr_free(struct route_mgr *rm)
{
	if (!rm)
		return;
	if (rm->ev_cb)
		nl_cb_put(rm->ev_cb);
	if (rm->ev)
		nl_socket_free(rm->ev);
	if (rm->sk)
		nl_socket_free(rm->sk);
	free(rm->ents);
	free(rm);
}

int route_mgr_fd(const struct route_mgr *rm)
{
	return nl_socket_get_fd(rm->ev);
}

uint64_t route_mgr_due_ms(const struct route_mgr *rm)
{
	return rm->put_due_ms;
}
