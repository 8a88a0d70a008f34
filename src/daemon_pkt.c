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
#include "brlock.h"
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
#include <sys/time.h>
#include "util.h"

/* log-flows = yes and monitors get the same event; nothing is built when neither wants it */
static bool daemon_wants_events(const struct daemon *d)
{
	return control_monitoring(d->ctl) || policy_conf(d->policy)->log_flows;
}

static void daemon_publish_now(struct daemon *d, const struct flowlog_event *ev)
{
	char line[FLOWLOG_LINE_MAX];

	/* the journal stamps lines itself: skip "HH:MM:SS.uuuuuu " */
	if (policy_conf(d->policy)->log_flows && flowlog_format_text(ev, true, line, sizeof(line)) > 16)
		log_info("%s", line + 16);
	control_publish(d->ctl, ev);
}

/* A worker keeps the event, strings and all, until the main thread drains it. */
static void daemon_defer_event(struct daemon_pkt *pc, const struct flowlog_event *ev)
{
	struct daemon_event *de;

	if (pc->n_evs == DAEMON_EVENTS_MAX) {
		pc->events_dropped++;
		return;
	}
	de = &pc->evs[pc->n_evs++];
	de->ev = *ev;
	util_strlcpy(de->domain, ev->domain ? ev->domain : "", sizeof(de->domain));
	util_strlcpy(de->route, ev->route ? ev->route : "", sizeof(de->route));
	util_strlcpy(de->reason, ev->reason ? ev->reason : "", sizeof(de->reason));
	de->ev.domain = de->domain;
	de->ev.route = de->route;
	de->ev.reason = de->reason;
}

static void daemon_publish(struct daemon_pkt *pc, struct flowlog_event *ev,
			   const struct pkt_info *pi)
{
	ev->src = pi->src;
	ev->dst = pi->dst;
	ev->sport = pi->sport;
	ev->dport = pi->dport;
	ev->l4proto = pi->l4proto;
	flowlog_event_stamp(ev);
	if (pc->deferred)
		daemon_defer_event(pc, ev);
	else
		daemon_publish_now(pc->d, ev);
}

/* One dns-answer event per address, with the route the most specific rule gives. */
static void daemon_dns_events(struct daemon_pkt *pc, const struct pkt_info *pi,
			      const struct dns_reply *r)
{
	struct daemon *d = pc->d;
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
		daemon_publish(pc, &ev, pi);
	}
}

static void daemon_flow_event(struct daemon_pkt *pc, const struct pkt_info *pi,
			      const struct classify_result *res)
{
	struct daemon *d = pc->d;
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
	daemon_publish(pc, &ev, pi);
}

struct dns_msg_ctx {
	struct daemon_pkt *pc;
	const struct pkt_info *pi;
	bool forwarded;		/* a reply on its way to a LAN host */
	bool drop;		/* out: hold the reply back (classify_dns_must_drop) */
};

/* One whole DNS message from a reply packet (UDP) or a reassembled TCP stream. */
static void daemon_dns_msg(void *ctx, const uint8_t *msg, size_t len)
{
	struct dns_msg_ctx *m = ctx;
	struct daemon_pkt *pc = m->pc;
	struct daemon *d = pc->d;
	struct dns_reply *reply = &pc->reply;
	uint64_t now = util_now_ms();
	int ret;

	if (len == 0)
		return;
	pc->st.dns_replies++;
	ret = dns_parse_reply(msg, len, reply);
	if (ret == DNS_E_RCODE)
		return;
	m->drop = classify_dns_must_drop(d->policy, reply, ret);
	if (m->drop)
		pc->st.dns_dropped++;
	if (ret < 0 || ret == DNS_PARTIAL || m->drop) {
		/* partial: the client uses the records before the bad one, so must we */
		char why[128];

		snprintf(why, sizeof(why), "%s%s%s", ret == DNS_PARTIAL ? "partial: " : "",
			 ret == DNS_OK ? "addresses owned by no name of the alias chain" :
			 dns_strerror(ret < 0 ? ret : reply->partial),
			 m->drop ? "; dropped: a routed name not learned whole" : "");
		pc->st.dns_bad += ret != DNS_OK;
		if (ret < 0)
			log_debug("malformed DNS reply (%s), released unchanged", why);
		else
			log_debug("dns %s: malformed reply (%s), %zu address(es)",
				  reply->names[0], why, reply->n_addrs);
		if (daemon_wants_events(d)) {
			struct flowlog_event ev = { .kind = FLOWLOG_DNS_MALFORMED,
						    .domain = reply->n_names ? reply->names[0] : NULL,
						    .reason = why };

			daemon_publish(pc, &ev, m->pi);
		}
		if (ret < 0)
			return;
	}
	if (daemon_wants_events(d))
		daemon_dns_events(pc, m->pi, reply);
	if (m->forwarded && d->pcmap)
		classify_dns_learn_client(d->policy, d->am, d->pcmap, &m->pi->dst, reply, now);
	ret = classify_dns_learn(d->policy, d->am, reply, now);
	pc->st.dns_learned += (uint64_t)ret;
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

/* Learns from a DNS reply packet; true when the packet must be dropped. */
static bool daemon_dns_reply(struct daemon_pkt *pc, const struct pkt_info *pi, bool forwarded)
{
	struct dns_msg_ctx m = { pc, pi, forwarded, false };

	/* over TCP a message spans segments already released: only UDP replies are held */
	if (pi->l4proto == IPPROTO_TCP && pc->tcpdns)
		tcpdns_feed(pc->tcpdns, pi, util_now_ms(), daemon_dns_msg, &m);
	else if (pi->l4proto == IPPROTO_UDP)
		daemon_dns_msg(&m, pi->payload, pi->payload_len);
	return pi->l4proto == IPPROTO_UDP && m.drop;
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

/* A worker leaves the address for the main thread, once a second per address at most. */
static void daemon_defer_used(struct daemon_pkt *pc, const struct pkt_addr *dst, uint64_t now)
{
	uint64_t lo, hi;
	uint32_t *seen, sec = (uint32_t)(now / 1000) + 1;

	memcpy(&lo, dst->a, sizeof(lo));
	memcpy(&hi, dst->a + 8, sizeof(hi));
	seen = &pc->recent[util_mix64(lo ^ util_mix64(hi)) % DAEMON_RECENT];

	if (*seen == sec || pc->n_used == DAEMON_USED_MAX)
		return;
	*seen = sec;
	pc->used[pc->n_used++] = (struct daemon_used){ *dst, now };
}

uint32_t daemon_pkt_decide(void *ctx, const struct queue_pkt *qp, uint8_t *verdict)
{
	struct daemon_pkt *pc = ctx;
	struct daemon *d = pc->d;
	struct classify_result res;
	struct pkt_info pi;
	uint64_t now;

	if (pkt_parse(qp->data, qp->len, &pi) < 0) {
		pc->st.pkt_bad++;
		return qp->mark;
	}
	/* DNS replies are queued from input (for this host) and forward (for LAN clients);
	 * new connections from output (this host) and prerouting (LAN, gateway mode) */
	if (qp->hook == NF_INET_LOCAL_IN || qp->hook == NF_INET_FORWARD) {
		/* only the thread holding the write side learns (a ruleset of another layout
		 * could send replies to a new-flow worker for a moment during a reload) */
		if (pi.sport == 53 && pc->slot == DAEMON_WRITER &&
		    daemon_dns_reply(pc, &pi, qp->hook == NF_INET_FORWARD))
			*verdict = NF_DROP;
		return qp->mark;
	}
	pc->st.flows++;
	now = util_now_ms();
	if (!daemon_dns_query(d, &pi, qp->mark, &res)) {
		if (d->pcmap && qp->hook == NF_INET_PRE_ROUTING)
			classify_flow_client(d->policy, d->am, d->pcmap, &pi, qp->mark, now, &res);
		else
			classify_flow(d->policy, d->am, &pi, qp->mark, now, &res);
		if (res.reason == CLASSIFY_LEARNED && pc->deferred)
			daemon_defer_used(pc, &pi.dst, now);
		else if (res.reason == CLASSIFY_LEARNED)
			daemon_fresh_used(d, &pi.dst, &res, now);
	}
	if (res.route >= 0)
		pc->st.flows_routed++;
	daemon_route_count(pc, res.route);
	if (log_enabled(LOG_DEBUG))
		daemon_log_flow(d, &pi, &res);
	if (daemon_wants_events(d))
		daemon_flow_event(pc, &pi, &res);
	return res.mark;
}

void daemon_pkt_batch(void *ctx, bool begin)
{
	struct daemon_pkt *pc = ctx;
	struct brlock *b = pc->d->lock;

	if (pc->slot == DAEMON_WRITER && begin)
		brlock_write_lock(b);
	else if (pc->slot == DAEMON_WRITER)
		brlock_write_unlock(b);
	else if (begin)
		brlock_read_lock(b, pc->slot);
	else
		brlock_read_unlock(b, pc->slot);
}

static bool daemon_event_before(const struct daemon_event *a, const struct daemon_event *b)
{
	return timercmp(&a->ev.time, &b->ev.time, <);
}

/* Publishes the events of every worker merged by time: a DNS answer learned on the DNS
 * thread shows before the connection a flow worker then decided with it. */
static void daemon_pkt_drain_events(struct daemon *d)
{
	size_t next[DAEMON_PKTS_MAX] = { 0 };

	for (;;) {
		const struct daemon_event *best = NULL;
		size_t from = 0;

		for (size_t i = 0; i < d->n_pkts && i < DAEMON_PKTS_MAX; i++) {
			const struct daemon_pkt *pc = d->pkts[i];

			if (pc && next[i] < pc->n_evs &&
			    (!best || daemon_event_before(&pc->evs[next[i]], best))) {
				best = &pc->evs[next[i]];
				from = i;
			}
		}
		if (!best)
			break;
		daemon_publish_now(d, &best->ev);
		next[from]++;
	}
	for (size_t i = 0; i < d->n_pkts; i++)
		if (d->pkts[i])
			d->pkts[i]->n_evs = 0;
}

void daemon_pkt_drain(struct daemon *d)
{
	daemon_pkt_drain_events(d);
	for (size_t i = 0; i < d->n_pkts; i++) {
		struct daemon_pkt *pc = d->pkts[i];

		for (size_t k = 0; pc && k < pc->n_used; k++)
			daemon_fresh_used_addr(d, &pc->used[k].dst, pc->used[k].now_ms);
		if (pc)
			pc->n_used = 0;
	}
	/* the DNS worker may have moved a name's refresh earlier */
	daemon_fresh_rearm(d);
}
