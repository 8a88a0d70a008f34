/* The per-packet path: parse, decide, act, and the events monitors see. */
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
#include "tcpdns.h"
#include "learnlog.h"
#include <time.h>
#include "util.h"

/* log-flows = yes and monitors get the same event; nothing is built when neither wants it */
static bool daemon_wants_events(const struct daemon *d)
{
	return control_monitoring(d->ctl) || policy_conf(d->policy)->log_flows;
}

static void daemon_publish(struct daemon *d, struct flowlog_event *ev, const struct pkt_info *pi)
{
	char line[FLOWLOG_LINE_MAX];

	ev->src = pi->src;
	ev->dst = pi->dst;
	ev->sport = pi->sport;
	ev->dport = pi->dport;
	ev->l4proto = pi->l4proto;
	flowlog_event_stamp(ev);
	/* the journal stamps lines itself: skip "HH:MM:SS.uuuuuu " */
	if (policy_conf(d->policy)->log_flows && flowlog_format_text(ev, true, line, sizeof(line)) > 16)
		log_info("%s", line + 16);
	control_publish(d->ctl, ev);
}

/* One dns-answer event per address, with the route the most specific rule gives. */
static void daemon_dns_events(struct daemon *d, const struct pkt_info *pi,
			      const struct dns_reply *r)
{
	const struct conf *c = policy_conf(d->policy);
	char reason[DNS_NAME_MAX + 8] = "";
	size_t best = 0;
	int route = -1;

	for (size_t i = 0; i < r->n_names; i++) {
		size_t len;
		int rt = policy_route_of_name(d->policy, r->names[i], &len);

		if (rt >= 0 && (route < 0 || len > best)) {
			best = len;
			route = rt;
			snprintf(reason, sizeof(reason), "rule %s", r->names[i] + strlen(r->names[i]) - len);
		}
	}
	for (size_t i = 0; i < r->n_addrs; i++) {
		const struct dns_addr *a = &r->addrs[i];
		struct flowlog_event ev = {
			.kind = FLOWLOG_DNS_ANSWER,
			.domain = r->names[0],
			.route = policy_route_name(d->policy, route),
			.reason = reason,
			.rrtype = a->kind == DNS_ADDR_HINT ? r->qtype : a->family == AF_INET6 ? 28 : 1,
			.ttl = route < 0 ? a->ttl : a->ttl < c->min_ttl ? c->min_ttl :
			       a->ttl > c->max_ttl ? c->max_ttl : a->ttl,
		};

		ev.answer.family = a->family;
		memcpy(ev.answer.a, a->a, sizeof(ev.answer.a));
		daemon_publish(d, &ev, pi);
	}
}

static void daemon_flow_event(struct daemon *d, const struct pkt_info *pi,
			      const struct classify_result *res)
{
	char reason[DNS_NAME_MAX + 16];
	struct flowlog_event ev = {
		.kind = FLOWLOG_FLOW,
		.domain = res->name,
		.route = policy_route_name(d->policy, res->route),
		.mark = res->mark,
		.reason = reason,
	};

	snprintf(reason, sizeof(reason), "%s%s%s", classify_reason_name(res->reason),
		 res->name ? " " : "", res->name ? res->name : "");
	daemon_publish(d, &ev, pi);
}

struct dns_msg_ctx {
	struct daemon *d;
	const struct pkt_info *pi;
	bool forwarded;		/* a reply on its way to a LAN host */
};

/* One whole DNS message from a reply packet (UDP) or a reassembled TCP stream. */
static void daemon_dns_msg(void *ctx, const uint8_t *msg, size_t len)
{
	struct dns_msg_ctx *m = ctx;
	struct daemon *d = m->d;
	struct dns_reply *reply = &d->reply;
	uint64_t now = util_now_ms();
	int ret;

	if (len == 0)
		return;
	d->st.dns_replies++;
	ret = dns_parse_reply(msg, len, reply);
	if (ret == DNS_E_RCODE)
		return;
	if (ret < 0) {
		d->st.dns_bad++;
		log_debug("malformed DNS reply (%s), released unchanged", dns_strerror(ret));
		if (daemon_wants_events(d)) {
			struct flowlog_event ev = { .kind = FLOWLOG_DNS_MALFORMED,
						    .reason = dns_strerror(ret) };

			daemon_publish(d, &ev, m->pi);
		}
		return;
	}
	if (daemon_wants_events(d))
		daemon_dns_events(d, m->pi, reply);
	if (m->forwarded && d->pcmap)
		classify_dns_learn_client(d->policy, d->am, d->pcmap, &m->pi->dst, reply, now);
	ret = classify_dns_learn(d->policy, d->am, reply, now);
	d->st.dns_learned += (uint64_t)ret;
	if (ret > 0) {
		time_t when = time(NULL);

		for (size_t i = 0; i < reply->n_addrs; i++) {
			struct pkt_addr a = { .family = reply->addrs[i].family };

			memcpy(a.a, reply->addrs[i].a, sizeof(a.a));
			learnlog_add(d->learnlog, &a, &m->pi->src, when);
		}
		log_debug("dns %s: learned %d address(es)", reply->names[0], ret);
		daemon_fresh_learned(d, reply, now);
	}
}

static void daemon_dns_reply(struct daemon *d, const struct pkt_info *pi, bool forwarded)
{
	struct dns_msg_ctx m = { d, pi, forwarded };

	if (pi->l4proto == IPPROTO_TCP)
		tcpdns_feed(d->tcpdns, pi, util_now_ms(), daemon_dns_msg, &m);
	else if (pi->l4proto == IPPROTO_UDP)
		daemon_dns_msg(&m, pi->payload, pi->payload_len);
}

static void daemon_log_flow(const struct daemon *d, const struct pkt_info *pi,
			    const struct classify_result *res)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const char *proto = pi->l4proto == IPPROTO_TCP ? "tcp" :
			    pi->l4proto == IPPROTO_UDP ? "udp" : "ip";

	pkt_addr_str(&pi->src, src, sizeof(src));
	pkt_addr_str(&pi->dst, dst, sizeof(dst));
	log_debug("%s %s.%u > %s.%u: %s %s -> %s (mark 0x%x, %s)",
		  pi->src.family == AF_INET6 ? "IP6" : "IP", src, pi->sport, dst, pi->dport, proto,
		  res->name ? res->name : "-",
		  res->route >= 0 ? policy_route_name(d->policy, res->route) : "unrouted",
		  res->mark, classify_reason_name(res->reason));
}

/* dns = yes routes: a UDP query for one of their names takes the route itself. */
static bool daemon_dns_query(struct daemon *d, const struct pkt_info *pi, uint32_t mark,
			     struct classify_result *res)
{
	struct dns_query q;

	if (!d->dns_by_name || pi->l4proto != IPPROTO_UDP || pi->dport != 53 ||
	    dns_parse_query(pi->payload, pi->payload_len, &q) < 0)
		return false;
	return classify_dns_query(d->policy, &q, mark, res);
}

static uint32_t daemon_decide(void *ctx, const struct queue_pkt *qp)
{
	struct daemon *d = ctx;
	struct classify_result res;
	struct pkt_info pi;
	uint64_t now;

	if (pkt_parse(qp->data, qp->len, &pi) < 0) {
		d->st.pkt_bad++;
		return qp->mark;
	}
	/* DNS replies are queued from input (for this host) and forward (for LAN clients);
	 * new connections from output (this host) and prerouting (LAN, gateway mode) */
	if (qp->hook == NF_INET_LOCAL_IN || qp->hook == NF_INET_FORWARD) {
		if (pi.sport == 53)
			daemon_dns_reply(d, &pi, qp->hook == NF_INET_FORWARD);
		return qp->mark;
	}
	d->st.flows++;
	now = util_now_ms();
	if (!daemon_dns_query(d, &pi, qp->mark, &res)) {
		if (d->pcmap && qp->hook == NF_INET_PRE_ROUTING)
			classify_flow_client(d->policy, d->am, d->pcmap, &pi, qp->mark, now, &res);
		else
			classify_flow(d->policy, d->am, &pi, qp->mark, now, &res);
		if (res.reason == CLASSIFY_LEARNED)
			daemon_fresh_used(d, &pi.dst, &res, now);
	}
	if (res.route >= 0)
		d->st.flows_routed++;
	daemon_route_count(d, res.route);
	if (log_enabled(LOG_DEBUG))
		daemon_log_flow(d, &pi, &res);
	if (daemon_wants_events(d))
		daemon_flow_event(d, &pi, &res);
	return res.mark;
}

void daemon_pkt_on_queue(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	int ret;

	(void)fd;
	(void)events;
	ret = queue_process(d->q, daemon_decide, d);
	if (ret < 0)
		log_warn("queue %u: sending verdicts: %s", queue_num(d->q), util_strerr(ret));
}

