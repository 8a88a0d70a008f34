/*
 * Staying right over time: names in use are re-resolved with c-ares shortly before their
 * TTL runs out (through their route: the lookup socket carries the route's mark), exact
 * names are resolved at start-up, and learned addresses survive a restart in the cache.
 * Everything runs on the daemon's loop between packet batches; the cache is written by a
 * child process so the packet path never waits for the disk.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cache.h"
#include "classify.h"
#include "daemon_int.h"
#include "domain.h"
#include "learnlog.h"
#include "log.h"
#include "loop.h"
#include "refresh.h"
#include "resolver.h"
#include "util.h"

#define REFRESH_TIMER 3
#define CACHE_TIMER 4
#define STARTUP_TIMER 5
#define INFLIGHT_MAX 256		/* lookups in flight at once */
#define STARTUP_WAIT_MS 3000		/* longest start-up wait for exact names */

struct daemon_fresh {
	struct resolver *res;
	struct refresh *rf;
	unsigned inflight;
	uint64_t lookups, failures;
	pid_t saver;			/* child writing the cache, or 0 */
	struct dns_reply reply;		/* what a lookup learns, shaped like a DNS answer */
};

static uint32_t route_lookup_mark(const struct daemon *d, int route)
{
	const struct conf *c = policy_conf(d->policy);

	if (route < 0 || (size_t)route >= c->n_routes || c->routes[route].table == CONF_TABLE_MAIN)
		return 0;
	return c->routes[route].mark;
}

/* The TTL a refresh is scheduled from: the one the addresses were stored with. */
static uint32_t fresh_ttl(const struct conf *c, uint32_t ttl)
{
	if (ttl < c->min_ttl)
		return c->min_ttl;
	return ttl > c->max_ttl ? c->max_ttl : ttl;
}

static void on_refresh_timer(void *ctx);

static void fresh_arm(struct daemon *d)
{
	uint64_t due = refresh_next_due(d->fresh->rf);

	if (due == UINT64_MAX)
		loop_timer_clear(d->loop, REFRESH_TIMER);
	else
		loop_timer_set(d->loop, REFRESH_TIMER, due, on_refresh_timer, d);
}

/* A finished lookup is learned like a DNS answer, so TTL clamping and sharing apply. */
static void fresh_learn(struct daemon *d, const char *name, const struct resolver_addr *a,
			size_t n, uint64_t now)
{
	struct dns_reply *r = &d->fresh->reply;
	uint32_t ttl = UINT32_MAX;

	/* the header only: the whole struct is over 100 KiB */
	memset(r, 0, offsetof(struct dns_reply, names));
	util_strlcpy(r->names[0], name, sizeof(r->names[0]));
	r->n_names = r->n_chain = 1;
	r->n_addrs = 0;
	for (size_t i = 0; i < n && r->n_addrs < DNS_ADDRS_MAX; i++) {
		struct dns_addr *da = &r->addrs[r->n_addrs++];

		da->family = a[i].family;
		da->kind = a[i].family == AF_INET ? DNS_ADDR_A : DNS_ADDR_AAAA;
		da->owner = da->target = 0;
		memcpy(da->a, a[i].a, sizeof(da->a));
		da->ttl = a[i].ttl;
		ttl = a[i].ttl < ttl ? a[i].ttl : ttl;
	}
	if (classify_dns_learn(d->policy, d->am, r, now) > 0)
		for (size_t i = 0; i < n; i++) {
			struct pkt_addr pa = { .family = a[i].family };

			memcpy(pa.a, a[i].a, sizeof(pa.a));
			learnlog_add(d->learnlog, &pa, NULL, time(NULL));
		}
	refresh_learned(d->fresh->rf, name, fresh_ttl(policy_conf(d->policy), ttl), now);
}

static void on_resolved(void *ctx, const char *name, int status,
			const struct resolver_addr *addrs, size_t n)
{
	struct daemon *d = ctx;
	struct daemon_fresh *f = d->fresh;
	uint64_t now = util_now_ms();

	f->inflight--;
	if (status == -ECANCELED)
		return;
	f->lookups++;
	if (status < 0 || n == 0) {
		f->failures++;
		log_debug("refresh %s: %s", name, status < 0 ? util_strerr(status) : "no address");
		refresh_failed(f->rf, name, now);
	} else {
		log_debug("refresh %s: %zu address(es)", name, n);
		fresh_learn(d, name, addrs, n, now);
	}
	fresh_arm(d);
}

static void on_refresh_timer(void *ctx)
{
	struct daemon *d = ctx;
	struct daemon_fresh *f = d->fresh;
	uint64_t now = util_now_ms();
	char name[DNS_NAME_MAX];

	while (f->inflight < INFLIGHT_MAX && refresh_pop_due(f->rf, now, name, sizeof(name)) == 1) {
		int route = policy_route_of_name(d->policy, name, NULL);

		if (route < 0) {
			refresh_forget(f->rf, name);	/* no longer configured */
			continue;
		}
		if (resolver_lookup(f->res, name, route_lookup_mark(d, route), on_resolved, d) < 0)
			refresh_failed(f->rf, name, now);
		else
			f->inflight++;
	}
	fresh_arm(d);
}

/* Exact names of the configuration: plain domains (the name itself) and full: rules. */
static void fresh_pin_exact(struct daemon *d, uint64_t now)
{
	const struct conf *c = policy_conf(d->policy);

	for (size_t i = 0; i < c->n_routes; i++) {
		for (size_t k = 0; k < c->routes[i].n_domains; k++) {
			const char *rule = c->routes[i].domains[k];

			if (!strncmp(rule, "full:", 5))
				rule += 5;
			else if (strchr(rule, ':'))
				continue;	/* keyword: and regexp: name no host */
			if (refresh_pin(d->fresh->rf, rule, now) < 0)
				log_warn("cannot keep %s resolved: refresh table full", rule);
		}
	}
}

static int fresh_resolvers(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *c = policy_conf(d->policy);

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		int ret;

		if (!rt->resolvers || !*rt->resolvers || rt->table == CONF_TABLE_MAIN)
			continue;
		ret = resolver_set_mark_servers(d->fresh->res, rt->mark, rt->resolvers, err,
						errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void on_startup_deadline(void *ctx)
{
	(void)ctx;	/* only wakes the start-up wait up */
}

int daemon_fresh_start(struct daemon *d, bool wait, char *err, size_t errlen)
{
	const struct conf *c = policy_conf(d->policy);
	struct refresh_conf rc = {
		.capacity = c->refresh_max_names,
		.window_ms = (uint64_t)c->refresh_window * 1000u,
		.seed = (uint64_t)getpid() ^ util_now_ms(),
	};
	struct daemon_fresh *f;
	uint64_t deadline;
	int ret;

	if (!c->refresh)
		return 0;
	for (size_t i = 0; i < c->n_routes; i++)
		rc.capacity += c->routes[i].n_domains;
	f = d->fresh = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->rf = refresh_new(&rc);
	f->res = resolver_new(d->loop, c->resolvers && *c->resolvers ? c->resolvers : NULL,
			      err, errlen);
	if (!f->rf || !f->res)
		return f->res ? -ENOMEM : -EINVAL;
	ret = fresh_resolvers(d, err, errlen);
	if (ret)
		return ret;
	fresh_pin_exact(d, util_now_ms());
	on_refresh_timer(d);
	/* a timer at the deadline bounds each wait, whatever c-ares' own timers say */
	deadline = util_now_ms() + STARTUP_WAIT_MS;
	loop_timer_set(d->loop, STARTUP_TIMER, deadline, on_startup_deadline, d);
	while (wait && f->inflight > 0 && util_now_ms() < deadline)
		loop_run_once(d->loop, NULL);
	loop_timer_clear(d->loop, STARTUP_TIMER);
	if (refresh_pinned_count(f->rf))
		log_info("resolved %zu configured name(s) at start-up%s", refresh_pinned_count(f->rf),
			 f->inflight ? " (some still pending)" : "");
	return 0;
}

void daemon_fresh_stop(struct daemon *d)
{
	struct daemon_fresh *f = d->fresh;

	if (!f)
		return;
	loop_timer_clear(d->loop, REFRESH_TIMER);
	resolver_free(f->res);	/* cancels: callbacks see -ECANCELED */
	refresh_free(f->rf);
	if (f->saver > 0)
		waitpid(f->saver, NULL, 0);
	free(f);
	d->fresh = NULL;
}

void daemon_fresh_reload(struct daemon *d)
{
	if (!d->fresh)
		return;
	refresh_unpin_all(d->fresh->rf);
	fresh_pin_exact(d, util_now_ms());
	fresh_arm(d);
}

void daemon_fresh_used(struct daemon *d, const struct pkt_addr *dst,
		       const struct classify_result *res, uint64_t now_ms)
{
	addrmap_touch(d->am, dst, now_ms);
	if (!d->fresh || !res->name)
		return;
	if (refresh_used(d->fresh->rf, res->name, res->expires_ms, now_ms) == 0)
		fresh_arm(d);
}

void daemon_fresh_used_addr(struct daemon *d, const struct pkt_addr *dst, uint64_t now_ms)
{
	struct addrmap_entry e;
	struct classify_result res = { 0 };

	if (addrmap_lookup(d->am, dst, now_ms, &e) < 0)
		return;
	res.name = e.name;
	res.expires_ms = e.expires_ms;
	daemon_fresh_used(d, dst, &res, now_ms);
}

void daemon_fresh_rearm(struct daemon *d)
{
	if (d->fresh)
		fresh_arm(d);
}

void daemon_fresh_learned(struct daemon *d, const struct dns_reply *reply, uint64_t now_ms)
{
	const struct conf *c = policy_conf(d->policy);
	uint32_t ttl = UINT32_MAX;

	if (!d->fresh)
		return;
	for (size_t i = 0; i < reply->n_addrs; i++)
		ttl = reply->addrs[i].ttl < ttl ? reply->addrs[i].ttl : ttl;
	ttl = fresh_ttl(c, ttl);
	for (size_t i = 0; i < reply->n_names; i++)
		refresh_learned(d->fresh->rf, reply->names[i], ttl, now_ms);
}

/* ---- the cache ---- */

static int cache_route_of(void *ctx, const char *route_name, const char *name)
{
	(void)route_name;	/* decided again: the configuration may have changed */
	return policy_route_of_name(ctx, name, NULL);
}

static const char *cache_route_name(void *ctx, uint16_t route)
{
	return policy_route_name(ctx, route);
}

static const char *cache_path(const struct daemon *d)
{
	const char *path = policy_conf(d->policy)->cache;

	return path && *path ? path : NULL;
}

void daemon_cache_load(struct daemon *d)
{
	const char *path = cache_path(d);
	char err[DAEMON_ERRLEN];
	size_t loaded = 0;
	int ret;

	if (!path)
		return;
	ret = cache_load(path, d->am, util_now_ms(), cache_route_of, d->policy, &loaded, err,
			 sizeof(err));
	if (ret == -ENOENT)
		log_info("no cache at %s yet", path);
	else if (ret < 0)
		log_warn("ignoring the cache: %s", err);
	else
		log_info("restored %zu learned address(es) from %s", loaded, path);
}

static void cache_write(struct daemon *d, const char *path)
{
	char err[DAEMON_ERRLEN], dir[4096];

	util_strlcpy(dir, path, sizeof(dir));
	mkdir(dirname(dir), 0750);
	if (cache_save(path, d->am, util_now_ms(), cache_route_name, d->policy, err,
		       sizeof(err)) < 0)
		log_warn("saving the cache: %s", err);
}

void daemon_cache_save(struct daemon *d, bool background)
{
	struct daemon_fresh *f = d->fresh;
	const char *path = cache_path(d);
	pid_t pid;

	if (!path)
		return;
	if (f && f->saver > 0) {
		if (waitpid(f->saver, NULL, background ? WNOHANG : 0) == 0)
			return;	/* the last background save is still running */
		f->saver = 0;
	}
	if (!background || !f) {
		cache_write(d, path);
		return;
	}
	pid = fork();
	if (pid == 0) {
		cache_write(d, path);
		_exit(0);
	}
	if (pid > 0)
		f->saver = pid;
	else
		log_warn("saving the cache: fork: %s", strerror(errno));
}

static void on_cache_timer(void *ctx)
{
	struct daemon *d = ctx;

	daemon_cache_save(d, true);
	loop_timer_set(d->loop, CACHE_TIMER,
		       util_now_ms() + (uint64_t)policy_conf(d->policy)->cache_interval * 1000u,
		       on_cache_timer, d);
}

void daemon_cache_start(struct daemon *d)
{
	if (cache_path(d))
		loop_timer_set(d->loop, CACHE_TIMER, util_now_ms() +
			       (uint64_t)policy_conf(d->policy)->cache_interval * 1000u,
			       on_cache_timer, d);
}

void daemon_fresh_stats(const struct daemon *d, uint64_t *lookups, uint64_t *failures)
{
	*lookups = d->fresh ? d->fresh->lookups : 0;
	*failures = d->fresh ? d->fresh->failures : 0;
}
