/* Checks that need the whole file: required keys, marks, unique tables, names. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf_int.h"
#include "domain.h"

static int conf_check_route(struct conf_parser *p, size_t i)
{
	struct conf_route *r = &p->c->routes[i];
	const unsigned *seen = p->seen[i].line;

	if (!seen[K_TABLE])
		return conf_err(p, p->seen[i].header, "route %s has no table (required)", r->name);
	if (r->table == CONF_TABLE_MAIN) {
		r->mark = 0;	/* exception routes are left unmarked: main is the default */
		if (seen[K_INTERFACE])
			conf_warn(p, seen[K_INTERFACE], "interface is ignored in route %s: with "
				  "table = main its traffic stays on the main table", r->name);
		if (seen[K_MARK])
			conf_warn(p, seen[K_MARK], "mark is ignored in route %s: with table = main "
				  "its traffic is left unmarked", r->name);
		return 0;
	}
	if (!seen[K_INTERFACE])
		return conf_err(p, p->seen[i].header, "route %s has no interface (required unless "
				"table = main)", r->name);
	if (!seen[K_MARK])
		return conf_err(p, p->seen[i].header, "route %s has no mark (required unless "
				"table = main)", r->name);
	if (r->mark & ~p->c->mark_mask)
		return conf_err(p, seen[K_MARK], "mark 0x%" PRIx32 " is outside mark-mask 0x%"
				PRIx32, r->mark, p->c->mark_mask);
	return 0;
}

static int conf_check_unique(struct conf_parser *p, size_t i)
{
	const struct conf_route *r = &p->c->routes[i];

	for (size_t j = 0; j < i; j++) {
		const struct conf_route *o = &p->c->routes[j];

		if (o->table == r->table && r->table == CONF_TABLE_MAIN)
			return conf_err(p, p->seen[i].line[K_TABLE], "table main is already used "
					"by route %s (line %u)", o->name, p->seen[j].line[K_TABLE]);
		if (o->table == r->table)
			return conf_err(p, p->seen[i].line[K_TABLE], "table %" PRIu32 " is already "
					"used by route %s (line %u)", r->table, o->name,
					p->seen[j].line[K_TABLE]);
		if (r->table != CONF_TABLE_MAIN && o->mark == r->mark)
			return conf_err(p, p->seen[i].line[K_MARK], "mark 0x%" PRIx32 " is already "
					"used by route %s (line %u)", r->mark, o->name,
					p->seen[j].line[K_MARK]);
	}
	return 0;
}

static int conf_check_global(struct conf_parser *p)
{
	const struct conf *c = p->c;
	const unsigned *seen = p->global.line;

	if (c->min_ttl > c->max_ttl)
		return conf_err(p, seen[K_MAX_TTL] ? seen[K_MAX_TTL] : seen[K_MIN_TTL],
				"min-ttl %" PRIu32 " is greater than max-ttl %" PRIu32,
				c->min_ttl, c->max_ttl);
	if (c->n_routes && c->rule_priority + c->n_routes > CONF_PRIO_MAIN)
		return conf_err(p, seen[K_RULE_PRIORITY] ? seen[K_RULE_PRIORITY] :
				p->seen[c->n_routes - 1].header, "rule-priority %" PRIu32
				" leaves no room for %zu routes below the main table's rule (%d)",
				c->rule_priority, c->n_routes, CONF_PRIO_MAIN);
	if (c->per_client && !c->n_lan_ifs)
		conf_warn(p, seen[K_PER_CLIENT], "per-client is ignored without lan-interfaces: "
			  "it is for gateway mode");
	return 0;
}

struct conf_dom_ref {
	const char *name;
	unsigned line;
	size_t route;
};

static int conf_dom_cmp(const void *a, const void *b)
{
	const struct conf_dom_ref *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d)
		return d;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * The same name in two places is a mistake (the matcher would keep only one route), also
 * when spelled differently ("*.a.com" and "a.com"). Sorting finds repeats without an
 * O(n^2) scan; the repeat with the lowest line is reported so the message is stable.
 */
static int conf_check_domains(struct conf_parser *p)
{
	const struct conf *c = p->c;
	struct conf_dom_ref *refs, *dup = NULL;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < c->n_routes; i++)
		n += c->routes[i].n_domains;
	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return conf_nomem(p);
	n = 0;
	for (size_t i = 0; i < c->n_routes; i++)
		for (size_t j = 0; j < c->routes[i].n_domains; j++)
			refs[n++] = (struct conf_dom_ref){ c->routes[i].domains[j],
							   c->routes[i].domain_lines[j], i };
	qsort(refs, n, sizeof(*refs), conf_dom_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(refs[i].name, refs[i - 1].name) && (!dup || refs[i].line < dup[1].line))
			dup = &refs[i - 1];
	if (dup)
		ret = conf_err(p, dup[1].line, "domain %s is already listed at line %u (route %s)",
			       dup[1].name, dup[0].line, c->routes[dup[0].route].name);
	free(refs);
	return ret;
}

/* default = ROUTE names a route defined anywhere in the file. */
static int conf_check_default(struct conf_parser *p)
{
	int i;

	if (!p->default_name[0])
		return 0;
	i = conf_route_find(p->c, p->default_name);
	if (i < 0)
		return conf_err(p, p->global.line[K_DEFAULT], "default %s: no such route",
				conf_q(p, p->default_name));
	p->c->default_route = i;
	return 0;
}

struct conf_net_ref {
	const struct conf_prefix *pf;
	unsigned line;
	size_t route;
};

static int conf_net_cmp(const void *a, const void *b)
{
	const struct conf_net_ref *x = a, *y = b;
	int d = memcmp(&x->pf->addr, &y->pf->addr, sizeof(x->pf->addr));

	if (!d)
		d = (int)x->pf->len - (int)y->pf->len;
	if (!d)
		d = (x->line > y->line) - (x->line < y->line);
	return d;
}

/*
 * The same network in two routes is ambiguous: which one wins could not be told. Sorted
 * like the domains (network lists are long); the repeat with the lowest line is reported,
 * at the line of the key that repeats it. The same network twice in one route is harmless.
 */
static int conf_check_networks(struct conf_parser *p)
{
	const struct conf *c = p->c;
	struct conf_net_ref *refs;
	const struct conf_net_ref *dup = NULL, *orig = NULL;
	char text[INET6_ADDRSTRLEN];
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < c->n_routes; i++)
		n += c->routes[i].n_networks;
	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return conf_nomem(p);
	n = 0;
	for (size_t i = 0; i < c->n_routes; i++)
		for (size_t j = 0; j < c->routes[i].n_networks; j++)
			refs[n++] = (struct conf_net_ref){ &c->routes[i].networks[j],
							   c->routes[i].network_lines[j], i };
	qsort(refs, n, sizeof(*refs), conf_net_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (refs[i].pf->len != refs[first].pf->len ||
		    memcmp(&refs[i].pf->addr, &refs[first].pf->addr, sizeof(refs[i].pf->addr)))
			first = i;
		else if (refs[i].route != refs[first].route && (!dup || refs[i].line < dup->line)) {
			dup = &refs[i];
			orig = &refs[first];
		}
	}
	if (dup) {
		inet_ntop(dup->pf->addr.family, dup->pf->addr.a, text, sizeof(text));
		ret = conf_err(p, dup->line, "network %s/%u is already listed at line %u "
			       "(route %s)", text, dup->pf->len, orig->line,
			       c->routes[orig->route].name);
	}
	free(refs);
	return ret;
}

int conf_check(struct conf_parser *p)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < p->c->n_routes; i++)
		ret = conf_check_route(p, i);
	for (size_t i = 0; ret == 0 && i < p->c->n_routes; i++)
		ret = conf_check_unique(p, i);
	if (ret == 0)
		ret = conf_check_global(p);
	if (ret == 0)
		ret = conf_check_queues(p);
	if (ret == 0)
		ret = conf_check_domains(p);
	if (ret == 0)
		ret = conf_check_default(p);
	if (ret == 0)
		ret = conf_check_networks(p);
	return ret;
}


/* An interface name the kernel does not know now: wg0 may come up after the daemon. */
static void conf_host_iface(const char *what, const char *name, conf_warn_fn fn, void *ctx)
{
	char msg[CONF_ERR_MAX];

	if (!name[0] || if_nametoindex(name))
		return;
	snprintf(msg, sizeof(msg), "%s %s does not exist (yet)", what, name);
	fn(ctx, LOG_WARNING, msg);
}

void conf_host_check(const struct conf *c, conf_warn_fn fn, void *ctx)
{
	char what[CONF_NAME_MAX + 32];

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *r = &c->routes[i];

		snprintf(what, sizeof(what), "route %s: interface", r->name);
		if (r->table != CONF_TABLE_MAIN)
			conf_host_iface(what, r->ifname, fn, ctx);
		snprintf(what, sizeof(what), "route %s: inbound-interface", r->name);
		conf_host_iface(what, r->inbound_if, fn, ctx);
	}
	for (size_t i = 0; i < c->n_lan_ifs; i++)
		conf_host_iface("lan-interfaces: interface", c->lan_ifs[i], fn, ctx);
}
