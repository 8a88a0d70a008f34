/* What the control socket asks of the running daemon: status, why, reload, flush. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "addrmap.h"
#include "classify.h"
#include "control.h"
#include "daemon_int.h"
#include "dns.h"
#include "flowlog.h"
#include "log.h"
#include "pkt.h"
#include "policy.h"
#include "queue.h"
#include "domain.h"
#include "nftrules.h"
#include "util.h"

static void daemon_status_text(struct daemon *d, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);
	struct control_stats cs;
	struct queue_stats qs;

	queue_get_stats(d->q, &qs);
	control_get_stats(d->ctl, &cs);
	fprintf(out, "uptime %" PRIu64 " s, config %s (loaded %ld)\n",
		(util_now_ms() - d->started_ms) / 1000, c->path, (long)d->loaded_at);
	fprintf(out, "queue %u (%s path): %" PRIu64 " packets, %" PRIu64 " verdicts\n", c->queue,
		nftrules_queue_path_name(d->qpath), qs.packets, qs.verdicts);
	fprintf(out, "flows %" PRIu64 " (%" PRIu64 " routed), dns replies %" PRIu64 " (%" PRIu64
		" malformed), learned %zu addresses\n", d->st.flows, d->st.flows_routed,
		d->st.dns_replies, d->st.dns_bad, addrmap_count(d->am));
	for (size_t i = 0; i < c->n_routes; i++)
		fprintf(out, "route %s: interface %s table %u mark 0x%x%s\n", c->routes[i].name,
			c->routes[i].ifname[0] ? c->routes[i].ifname : "-", c->routes[i].table,
			c->routes[i].mark, c->routes[i].fail_closed ? " fail-closed" : "");
	fprintf(out, "control: %u clients, %u monitors, %" PRIu64 " lines dropped\n", cs.clients,
		cs.monitors, cs.lines_dropped);
}

static void daemon_status_json(struct daemon *d, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);
	struct queue_stats qs;

	/* route and interface names are [A-Za-z0-9_.-] (conf.c checks), no escaping needed */
	queue_get_stats(d->q, &qs);
	fprintf(out, "{\"uptime\":%" PRIu64 ",\"queue\":{\"num\":%u,\"packets\":%" PRIu64
		",\"verdicts\":%" PRIu64 "},\"flows\":%" PRIu64 ",\"flows_routed\":%" PRIu64
		",\"dns_replies\":%" PRIu64 ",\"dns_malformed\":%" PRIu64 ",\"learned\":%zu,"
		"\"routes\":[", (util_now_ms() - d->started_ms) / 1000, c->queue, qs.packets,
		qs.verdicts, d->st.flows, d->st.flows_routed, d->st.dns_replies, d->st.dns_bad,
		addrmap_count(d->am));
	for (size_t i = 0; i < c->n_routes; i++)
		fprintf(out, "%s{\"name\":\"%s\",\"interface\":\"%s\",\"table\":%u,\"mark\":%u}",
			i ? "," : "", c->routes[i].name, c->routes[i].ifname, c->routes[i].table,
			c->routes[i].mark);
	fprintf(out, "]}\n");
}

static int ctl_status(void *ctx, bool json, FILE *out, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	if (json)
		daemon_status_json(ctx, out);
	else
		daemon_status_text(ctx, out);
	return 0;
}

static int ctl_why(void *ctx, const char *what, FILE *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	uint64_t now = util_now_ms();
	struct addrmap_entry e;
	char name[DNS_NAME_MAX];
	struct pkt_addr a;
	size_t len;
	int rt;

	if (pkt_addr_parse(what, &a) == 0) {
		if (addrmap_lookup(d->am, &a, now, &e) < 0) {
			snprintf(err, errlen, "%s was not learned from any routed name", what);
			return -ENOENT;
		}
		fprintf(out, "%s learned from %s -> %s, expires in %" PRIu64 " s\n", what, e.name,
			policy_route_name(d->policy, e.route),
			(e.expires_ms - now) / 1000);
		return 0;
	}
	if (domain_normalize(what, name, sizeof(name)) < 0) {
		snprintf(err, errlen, "%s is neither an address nor a domain name", what);
		return -EINVAL;
	}
	rt = policy_route_of_name(d->policy, name, &len);
	if (rt < 0) {
		snprintf(err, errlen, "no rule matches %s", name);
		return -ENOENT;
	}
	fprintf(out, "%s -> %s (rule %s)\n", name, policy_route_name(d->policy, rt),
		len ? name + strlen(name) - len : "keyword/regexp");
	return 0;
}

static int ctl_reload(void *ctx, bool reroute, FILE *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	int ret;

	if (reroute) {
		snprintf(err, errlen, "--reroute is not implemented yet");
		return -ENOSYS;
	}
	ret = daemon_reload(d, err, errlen);
	if (ret == 0)
		fprintf(out, "reloaded %s: %zu routes, %zu domain rules\n", d->conf_path,
			policy_conf(d->policy)->n_routes, policy_rule_count(d->policy));
	return ret;
}

static int ctl_flush(void *ctx, FILE *out, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	size_t n = addrmap_count(d->am);

	(void)err;
	(void)errlen;
	addrmap_clear(d->am, UINT16_MAX);
	fprintf(out, "flushed %zu learned addresses\n", n);
	return 0;
}

static const struct control_ops daemon_ctl_ops = {
	.status = ctl_status,
	.why = ctl_why,
	.reload = ctl_reload,
	.flush = ctl_flush,
};

int daemon_ctl_start(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	struct control_config cc = { .path = c->control, .timer_slot = CONTROL_TIMER };
	int ret = control_group_lookup(c->control_group, &cc.group, err, errlen);

	if (ret)
		return ret;
	return control_new(&cc, d->loop, &daemon_ctl_ops, d, &d->ctl, err, errlen);
}

