/*
 * Configuration to route entries and their ip(8) equivalents, for `nfqroute plan` and for
 * messages. Pure: no kernel, no allocation besides the entry array.
 */
#include "route_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

static int route_ent_fill(const struct conf *c, size_t idx, struct route_ent *e, char *err,
			  size_t errlen)
{
	const struct conf_route *r = &c->routes[idx];
	const struct pkt_addr *gws[ROUTE_NFAM] = { &r->gw4, &r->gw6 };
	const bool has[ROUTE_NFAM] = { r->has_gw4, r->has_gw6 };
	int fi;

	memset(e, 0, sizeof(*e));
	if ((uint64_t)c->rule_priority + idx > UINT32_MAX) {
		snprintf(err, errlen, "route %s: rule priority %" PRIu32 " + %zu overflows",
			 r->name, c->rule_priority, idx);
		return -EINVAL;
	}
	if (strnlen(r->ifname, sizeof(r->ifname)) == sizeof(r->ifname)) {
		snprintf(err, errlen, "route %s: interface name too long", r->name);
		return -EINVAL;
	}
	memcpy(e->name, r->name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	memcpy(e->ifname, r->ifname, sizeof(e->ifname));
	e->table = r->table;
	e->mark = r->mark;
	e->mask = c->mark_mask;
	e->prio = c->rule_priority + (uint32_t)idx;
	e->fail_closed = r->fail_closed;
	e->keep_blackhole = r->keep_blackhole;
	for (fi = 0; fi < ROUTE_NFAM; fi++) {
		if (!has[fi])
			continue;
		if (gws[fi]->family != route_fam(fi)) {
			snprintf(err, errlen, "route %s: gateway of the wrong address family",
				 r->name);
			return -EINVAL;
		}
		e->has_gw[fi] = true;
		memcpy(e->gw[fi], gws[fi]->a, route_fam_len(fi));
	}
	return 0;
}

int route_ents_from_conf(const struct conf *c, struct route_ent **out, size_t *n_out,
			 char *err, size_t errlen)
{
	struct route_ent *ents = NULL;
	size_t i, n = 0;
	int rc;

	*out = NULL;
	*n_out = 0;
	if (c->n_routes > 0) {
		ents = calloc(c->n_routes, sizeof(*ents));
		if (!ents) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	for (i = 0; i < c->n_routes; i++) {
		if (c->routes[i].table == CONF_TABLE_MAIN)
			continue;
		rc = route_ent_fill(c, i, &ents[n], err, errlen);
		if (rc < 0) {
			free(ents);
			return rc;
		}
		n++;
	}
	*out = ents;
	*n_out = n;
	return 0;
}

static bool route_rule_same(const struct route_ent *a, const struct route_ent *b)
{
	return a->prio == b->prio && a->mark == b->mark && a->mask == b->mask &&
	       a->table == b->table;
}

static bool route_dev_same(const struct route_ent *a, const struct route_ent *b, int fi)
{
	size_t alen = route_fam_len(fi);

	return a->table == b->table && strcmp(a->ifname, b->ifname) == 0 &&
	       a->has_gw[fi] == b->has_gw[fi] &&
	       (!a->has_gw[fi] || memcmp(a->gw[fi], b->gw[fi], alen) == 0);
}

bool route_obj_in(const struct route_ent *set, size_t n, const struct route_ent *e,
		  enum route_obj obj, int fi)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (obj) {
		case ROUTE_OBJ_RULE:
			if (route_rule_same(&set[i], e))
				return true;
			break;
		case ROUTE_OBJ_BLACKHOLE:
			if (set[i].fail_closed && set[i].table == e->table)
				return true;
			break;
		case ROUTE_OBJ_DEV:
			if (route_dev_same(&set[i], e, fi))
				return true;
			break;
		}
	}
	return false;
}

/* ---- ip(8) equivalents, for the plan and for messages ---- */

void route_obj_fmt(const struct route_ent *e, int fi, enum route_obj obj, const char *verb,
		   char *buf, size_t size)
{
	const char *six = fi == ROUTE_V6 ? " -6" : "";
	char gw[INET6_ADDRSTRLEN] = "";

	switch (obj) {
	case ROUTE_OBJ_RULE:
		snprintf(buf, size, "ip%s rule %s fwmark 0x%" PRIx32 "/0x%" PRIx32 " lookup %"
			 PRIu32 " priority %" PRIu32, six, verb, e->mark, e->mask, e->table,
			 e->prio);
		break;
	case ROUTE_OBJ_BLACKHOLE:
		snprintf(buf, size, "ip%s route %s blackhole default table %" PRIu32
			 " metric %u proto " ROUTE_PROTO_NAME, six, verb, e->table,
			 ROUTE_METRIC_BLACKHOLE);
		break;
	case ROUTE_OBJ_DEV:
		if (e->has_gw[fi] && !inet_ntop(route_fam(fi), e->gw[fi], gw, sizeof(gw)))
			snprintf(gw, sizeof(gw), "?");
		snprintf(buf, size, "ip%s route %s default%s%s dev %s table %" PRIu32
			 " metric %u proto " ROUTE_PROTO_NAME, six, verb,
			 e->has_gw[fi] ? " via " : "", gw, e->ifname, e->table, ROUTE_METRIC_DEV);
		break;
	}
}

uint32_t route_suppress_prio(const struct conf *c)
{
	bool need = c->n_lan_ifs > 0;
	bool marks = false;

	for (size_t i = 0; i < c->n_routes; i++) {
		need |= c->routes[i].inbound_if[0] != '\0';
		marks |= c->routes[i].table != CONF_TABLE_MAIN;
	}
	return need && marks && c->rule_priority > 1 ? c->rule_priority - 1 : 0;
}

void route_plan_print(const struct conf *c, FILE *out)
{
	uint32_t sprio = route_suppress_prio(c);
	char cmd[ROUTE_CMD_MAX], err[CONF_ERR_MAX];
	struct route_ent e;
	size_t i;
	int fi, obj;

	for (i = 0; i < c->n_routes; i++) {
		const struct conf_route *r = &c->routes[i];

		if (r->table == CONF_TABLE_MAIN) {
			fprintf(out, "# route %s: table main, no ip rule or route\n", r->name);
			continue;
		}
		if (route_ent_fill(c, i, &e, err, sizeof(err)) < 0) {
			fprintf(out, "# %s\n", err);
			continue;
		}
		fprintf(out, "# route %s: fwmark 0x%" PRIx32 "/0x%" PRIx32 " -> table %" PRIu32
			" via %s%s\n", e.name, e.mark, e.mask, e.table, e.ifname,
			e.fail_closed ? ", fail-closed" : "");
		/* install order: the table is complete before the rule points at it */
		for (obj = ROUTE_OBJ_DEV; obj <= ROUTE_OBJ_RULE; obj++) {
			if (obj == ROUTE_OBJ_BLACKHOLE && !e.fail_closed)
				continue;
			if (obj == ROUTE_OBJ_DEV && !e.ifname[0])
				continue;
			for (fi = 0; fi < ROUTE_NFAM; fi++) {
				route_obj_fmt(&e, fi, (enum route_obj)obj, "add", cmd, sizeof(cmd));
				fprintf(out, "%s\n", cmd);
			}
		}
	}
	if (sprio) {
		fprintf(out, "# forwarded replies: main-table routes other than the default win\n");
		for (fi = 0; fi < ROUTE_NFAM; fi++)
			fprintf(out, "ip%s rule add lookup main suppress_prefixlength 0 priority %"
				PRIu32 "\n", fi == ROUTE_V6 ? " -6" : "", sprio);
	}
}
