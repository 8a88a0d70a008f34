/*
 * `nfqroute status`: what the running daemon is doing, as text for people or one JSON
 * document for scripts. Read-only; runs on the loop between packet batches (the interface
 * state is one rtnetlink request per route, the kernel queue counters one /proc read).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addrmap.h"
#include "control.h"
#include "daemon_int.h"
#include "nftrules.h"
#include "pkt.h"
#include "policy.h"
#include "queue.h"
#include "route.h"
#include "util.h"
#include "worker.h"

#define ISO_MAX 40
#define LIST_SHOWN 16		/* networks/sources listed per route in text */
#define JSON_LIST_MAX 256	/* ... and in JSON (the count is always complete) */

/* ---- small formatting helpers ---- */

static void iso_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(buf, size, "@%lld", (long long)t);
}

static void duration_str(uint64_t s, char *buf, size_t size)
{
	unsigned h = (unsigned)(s / 3600 % 24), m = (unsigned)(s / 60 % 60);
	unsigned sec = (unsigned)(s % 60);

	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 "d %02u:%02u:%02u", s / 86400, h, m, sec);
	else
		snprintf(buf, size, "%02u:%02u:%02u", h, m, sec);
}

/* A JSON string (RFC 8259; bytes outside printable ASCII as \u00XX), or null. */
static void json_str(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static const char *prefix_str(const struct conf_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, size, "%s/%u", pkt_addr_str(&p->addr, a, sizeof(a)), p->len);
	return buf;
}

static const char *ports_str(const struct conf_ports *p, char *buf, size_t size)
{
	const char *proto = p->proto == IPPROTO_TCP ? "tcp" : "udp";

	if (p->lo == p->hi)
		snprintf(buf, size, "%s:%u", proto, p->lo);
	else
		snprintf(buf, size, "%s:%u-%u", proto, p->lo, p->hi);
	return buf;
}

/* ---- status ---- */

/* One kernel queue of the layout. */
struct status_queue {
	uint16_t num;
	const char *role;		/* "new connections", "DNS replies", or both */
	int cpu;			/* its worker's CPU when pinned, else -1 */
	bool own;			/* qs is this queue's own (not shared with the next) */
	struct queue_stats qs;
	struct queue_kstats ks;
	int kret;			/* queue_kernel_stats: 0 or -errno */
};

#define STATUS_QUEUES_MAX 80

/* Everything `status` reports beyond the configuration, gathered once. */
struct status_data {
	uint64_t uptime_s;
	char started[ISO_MAX], loaded[ISO_MAX];
	struct queue_stats qs;		/* all queues added up */
	struct queue_kstats ks;		/* the kernel's counters, all queues added up */
	int kret;			/* 0, or the first queue_kernel_stats error */
	struct status_queue q[STATUS_QUEUES_MAX];
	size_t n_q;
	struct daemon_stats st;
	uint64_t flows[DAEMON_ROUTE_SLOTS];
	uint64_t events_dropped;
	struct control_stats cs;
	uint64_t lookups, failures;
};

static void status_add_queue(struct status_data *s, uint16_t num, const char *role, int cpu,
			     const struct queue_stats *qs)
{
	struct status_queue *q = &s->q[s->n_q++];

	*q = (struct status_queue){ .num = num, .role = role, .cpu = cpu, .own = qs != NULL };
	if (qs)
		q->qs = *qs;
	q->kret = queue_kernel_stats(num, &q->ks);
	if (q->kret && !s->kret)
		s->kret = q->kret;
	s->ks.queue_total += q->ks.queue_total;
	s->ks.queue_dropped += q->ks.queue_dropped;
	s->ks.user_dropped += q->ks.user_dropped;
	s->ks.id_sequence += q->ks.id_sequence;
}

static void status_queues(struct daemon *d, struct status_data *s)
{
	const struct conf *c = policy_conf(d->policy);

	memset(&s->qs, 0, sizeof(s->qs));
	memset(&s->ks, 0, sizeof(s->ks));
	s->kret = 0;
	s->n_q = 0;
	for (size_t i = 0; i < d->n_pkts && s->n_q + 2 <= STATUS_QUEUES_MAX; i++) {
		const struct daemon_pkt *pc = d->pkts[i];
		struct queue_stats qs;

		queue_get_stats(pc->q, &qs);
		s->qs.packets += qs.packets;
		s->qs.verdicts += qs.verdicts;
		if (d->workers)
			status_add_queue(s, queue_num(pc->q), pc->slot == DAEMON_WRITER ?
					 "DNS replies" : "new connections",
					 pc->w ? worker_cpu(pc->w) : -1, &qs);
		else if (c->dns_queue >= 0) {
			status_add_queue(s, queue_num(pc->q), "new connections", -1, &qs);
			status_add_queue(s, (uint16_t)c->dns_queue, "DNS replies", -1, NULL);
		} else {
			status_add_queue(s, queue_num(pc->q), "new connections and DNS replies", -1,
					 &qs);
		}
	}
}

static void status_gather(struct daemon *d, struct status_data *s)
{
	daemon_flows_sync(d);
	s->uptime_s = (util_now_ms() - d->started_ms) / 1000;
	iso_time(time(NULL) - (time_t)s->uptime_s, s->started, sizeof(s->started));
	iso_time(d->loaded_at, s->loaded, sizeof(s->loaded));
	status_queues(d, s);
	daemon_threads_totals(d, &s->st, s->flows, &s->events_dropped);
	control_get_stats(d->ctl, &s->cs);
	daemon_fresh_stats(d, &s->lookups, &s->failures);
}

static void status_kernel_text(int kret, const struct queue_kstats *ks, FILE *out)
{
	if (kret == 0)
		fprintf(out, "; kernel: %u queued, %u waiting, %u queue drops, %u user drops\n",
			ks->id_sequence, ks->queue_total, ks->queue_dropped, ks->user_dropped);
	else
		fprintf(out, "; kernel counters unavailable (%s)\n", util_strerr(kret));
}

static void status_queues_text(struct daemon *d, const struct status_data *s, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);

	if (s->n_q == 1) {
		fprintf(out, "queue %u, %s path: %" PRIu64 " packets, %" PRIu64 " verdicts",
			c->queue, nftrules_queue_path_name(d->qpath), s->qs.packets, s->qs.verdicts);
		status_kernel_text(s->kret, &s->ks, out);
		return;
	}
	if (d->workers)
		fprintf(out, "queues %u-%u (%u workers, %s fanout), DNS replies on queue %d",
			c->queue, c->queue + c->queue_count - 1, c->queue_count,
			c->fanout_cpu ? "CPU" : "hash", c->dns_queue);
	else
		fprintf(out, "queue %u, DNS replies on queue %d, on the main thread", c->queue,
			c->dns_queue);
	fprintf(out, ", %s path: %" PRIu64 " packets, %" PRIu64 " verdicts",
		nftrules_queue_path_name(d->qpath), s->qs.packets, s->qs.verdicts);
	status_kernel_text(s->kret, &s->ks, out);
	for (size_t i = 0; i < s->n_q; i++) {
		const struct status_queue *q = &s->q[i];

		fprintf(out, "  queue %u (%s", q->num, q->role);
		if (q->cpu >= 0)
			fprintf(out, ", CPU %d", q->cpu);
		fprintf(out, ")");
		if (q->own)
			fprintf(out, ": %" PRIu64 " packets, %" PRIu64 " verdicts, buffer %u KiB",
				q->qs.packets, q->qs.verdicts, q->qs.rcvbuf / 1024);
		status_kernel_text(q->kret, &q->ks, out);
	}
}

static void status_global_text(struct daemon *d, const struct status_data *s, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);
	char up[32];

	duration_str(s->uptime_s, up, sizeof(up));
	fprintf(out, "nfqroute %s, up %s (since %s)\n", PACKAGE_VERSION, up, s->started);
	fprintf(out, "config %s, loaded %s\n", c->path, s->loaded);
	status_queues_text(d, s, out);
	fprintf(out, "connections: %" PRIu64 " decided, %" PRIu64 " routed\n", s->st.flows,
		s->st.flows_routed);
	fprintf(out, "dns: %" PRIu64 " replies parsed, %" PRIu64 " malformed, %" PRIu64
		" addresses learned", s->st.dns_replies, s->st.dns_bad, s->st.dns_learned);
	if (s->st.dns_dropped)
		fprintf(out, ", %" PRIu64 " dropped (routed names not learned whole)",
			s->st.dns_dropped);
	fputc('\n', out);
	fprintf(out, "learned: %zu addresses, %zu names, %zu KiB\n", addrmap_count(d->am),
		addrmap_name_count(d->am), (addrmap_mem_bytes(d->am) + 1023) / 1024);
	if (d->fresh)
		fprintf(out, "refresh: %" PRIu64 " lookups, %" PRIu64 " failed\n", s->lookups,
			s->failures);
	else
		fprintf(out, "refresh: off\n");
	fprintf(out, "control: %u clients, %u monitors, %" PRIu64 " requests, %" PRIu64
		" refused, %" PRIu64 " monitor lines dropped\n", s->cs.clients, s->cs.monitors,
		s->cs.requests, s->cs.refused, s->cs.lines_dropped + s->events_dropped);
}

static void text_prefixes(const char *what, const struct conf_prefix *p, size_t n, FILE *out)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (!n)
		return;
	fprintf(out, "  %s:", what);
	for (size_t i = 0; i < n && i < LIST_SHOWN; i++)
		fprintf(out, " %s", prefix_str(&p[i], buf, sizeof(buf)));
	if (n > LIST_SHOWN)
		fprintf(out, " ... (%zu in all)", n);
	fputc('\n', out);
}

static const char *gateway_str(const struct conf_route *r, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (!r->has_gw4 && !r->has_gw6)
		return "-";
	snprintf(buf, size, "%s%s%s", r->has_gw4 ? pkt_addr_str(&r->gw4, a, sizeof(a)) : "",
		 r->has_gw4 && r->has_gw6 ? " " : "",
		 r->has_gw6 ? pkt_addr_str(&r->gw6, b, sizeof(b)) : "");
	return buf;
}

static void status_route_text(struct daemon *d, const uint64_t *flows, size_t i, FILE *out)
{
	const struct conf_route *r = &policy_conf(d->policy)->routes[i];
	char gw[2 * INET6_ADDRSTRLEN + 2], buf[32];

	if (r->table == CONF_TABLE_MAIN)	/* an exception: unmarked, the main table */
		fprintf(out, "\nroute %s: the main table (an exception: connections stay unmarked)\n",
			r->name);
	else
		fprintf(out, "\nroute %s: interface %s%s, gateway %s, table %u, mark 0x%x%s\n",
			r->name, r->ifname[0] ? r->ifname : "-",
			!r->ifname[0] ? "" : route_link_is_up(d->rm, r->ifname) ? " (up)" :
			" (down)", gateway_str(r, gw, sizeof(gw)), r->table, r->mark,
			r->fail_closed ? ", fail-closed" : "");
	/* ports, sources, networks and inbound-interface are decided in the kernel */
	if (i < DAEMON_ROUTE_SLOTS)
		fprintf(out, "  connections decided by name or default: %" PRIu64 "\n", flows[i]);
	fprintf(out, "  domains:");
	for (size_t k = 0; k < r->n_domains; k++)
		fprintf(out, " %s", r->domains[k]);
	fprintf(out, "%s\n", r->n_domains ? "" : " -");
	for (size_t k = 0; k < r->n_lists; k++)
		fprintf(out, "  domain-list: %s\n", r->lists[k]);
	text_prefixes("networks", r->networks, r->n_networks, out);
	text_prefixes("sources", r->sources, r->n_sources, out);
	if (r->n_ports) {
		fprintf(out, "  ports:");
		for (size_t k = 0; k < r->n_ports; k++)
			fprintf(out, " %s", ports_str(&r->ports[k], buf, sizeof(buf)));
		fputc('\n', out);
	}
	if (r->inbound_if[0])
		fprintf(out, "  inbound-interface: %s\n", r->inbound_if);
}

static void json_strings(FILE *out, const char *key, char *const *s, size_t n)
{
	fprintf(out, ",\"%s\":[", key);
	for (size_t k = 0; k < n; k++) {
		fputs(k ? "," : "", out);
		json_str(out, s[k]);
	}
	fputc(']', out);
}

static void json_prefixes(FILE *out, const char *key, const struct conf_prefix *p, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 8];

	fprintf(out, ",\"%s\":[", key);
	for (size_t k = 0; k < n && k < JSON_LIST_MAX; k++)
		fprintf(out, "%s\"%s\"", k ? "," : "", prefix_str(&p[k], buf, sizeof(buf)));
	fprintf(out, "],\"%s_count\":%zu", key, n);
}

static void status_route_json(struct daemon *d, const uint64_t *flows, size_t i, FILE *out)
{
	const struct conf_route *r = &policy_conf(d->policy)->routes[i];
	bool up = r->ifname[0] && route_link_is_up(d->rm, r->ifname);
	char a[INET6_ADDRSTRLEN], buf[32];

	/* route and interface names are [A-Za-z0-9_.-] (conf.c checks) */
	fprintf(out, "%s{\"name\":\"%s\",\"interface\":\"%s\",\"up\":%s,\"gateway\":[",
		i ? "," : "", r->name, r->ifname, up ? "true" : "false");
	if (r->has_gw4)
		fprintf(out, "\"%s\"", pkt_addr_str(&r->gw4, a, sizeof(a)));
	if (r->has_gw6)
		fprintf(out, "%s\"%s\"", r->has_gw4 ? "," : "",
			pkt_addr_str(&r->gw6, a, sizeof(a)));
	fprintf(out, "],\"table\":%u,\"mark\":%u,\"fail_closed\":%s,\"connections\":%" PRIu64,
		r->table, r->mark, r->fail_closed ? "true" : "false",
		i < DAEMON_ROUTE_SLOTS ? flows[i] : 0);
	json_strings(out, "domains", r->domains, r->n_domains);
	json_strings(out, "domain_lists", r->lists, r->n_lists);
	json_prefixes(out, "networks", r->networks, r->n_networks);
	json_prefixes(out, "sources", r->sources, r->n_sources);
	fprintf(out, ",\"ports\":[");
	for (size_t k = 0; k < r->n_ports; k++)
		fprintf(out, "%s\"%s\"", k ? "," : "", ports_str(&r->ports[k], buf, sizeof(buf)));
	fprintf(out, "],\"inbound_interface\":");
	json_str(out, r->inbound_if[0] ? r->inbound_if : NULL);
	fputc('}', out);
}

static void status_kernel_json(int kret, const struct queue_kstats *ks, FILE *out)
{
	if (kret == 0)
		fprintf(out, ",\"kernel\":{\"waiting\":%u,\"queue_dropped\":%u,\"user_dropped\":%u,"
			"\"id_sequence\":%u}", ks->queue_total, ks->queue_dropped, ks->user_dropped,
			ks->id_sequence);
	else
		fprintf(out, ",\"kernel\":null");
}

/* Every kernel queue of the layout (one with queue = N and DNS replies on it). */
static void status_queues_json(const struct status_data *s, FILE *out)
{
	fprintf(out, ",\"queues\":[");
	for (size_t i = 0; i < s->n_q; i++) {
		const struct status_queue *q = &s->q[i];

		fprintf(out, "%s{\"num\":%u,\"role\":\"%s\",\"cpu\":", i ? "," : "", q->num,
			q->role);
		if (q->cpu >= 0)
			fprintf(out, "%d", q->cpu);
		else
			fprintf(out, "null");
		if (q->own)
			fprintf(out, ",\"packets\":%" PRIu64 ",\"verdicts\":%" PRIu64
				",\"rcvbuf\":%u", q->qs.packets, q->qs.verdicts, q->qs.rcvbuf);
		status_kernel_json(q->kret, &q->ks, out);
		fputc('}', out);
	}
	fputc(']', out);
}

static void status_global_json(struct daemon *d, const struct status_data *s, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);

	fprintf(out, "{\"version\":\"%s\",\"uptime\":%" PRIu64 ",\"started\":\"%s\",\"config\":",
		PACKAGE_VERSION, s->uptime_s, s->started);
	json_str(out, c->path);
	fprintf(out, ",\"loaded\":\"%s\",\"queue\":{\"num\":%u,\"path\":\"%s\",\"packets\":%"
		PRIu64 ",\"verdicts\":%" PRIu64, s->loaded, c->queue,
		d->qpath == NFTRULES_QUEUE_NATIVE ? "native" : "compat", s->qs.packets,
		s->qs.verdicts);
	status_kernel_json(s->kret, &s->ks, out);
	fputc('}', out);
	fprintf(out, ",\"flows\":%" PRIu64 ",\"flows_routed\":%" PRIu64 ",\"dns_replies\":%"
		PRIu64 ",\"dns_malformed\":%" PRIu64 ",\"dns_learned\":%" PRIu64, s->st.flows,
		s->st.flows_routed, s->st.dns_replies, s->st.dns_bad, s->st.dns_learned);
	fprintf(out, ",\"dns_dropped\":%" PRIu64, s->st.dns_dropped);
	fprintf(out, ",\"learned\":%zu,\"learned_names\":%zu,\"learned_bytes\":%zu",
		addrmap_count(d->am), addrmap_name_count(d->am), addrmap_mem_bytes(d->am));
	fprintf(out, ",\"refresh\":{\"enabled\":%s,\"lookups\":%" PRIu64 ",\"failed\":%" PRIu64
		"}", d->fresh ? "true" : "false", s->lookups, s->failures);
	fprintf(out, ",\"control\":{\"clients\":%u,\"monitors\":%u,\"requests\":%" PRIu64
		",\"refused\":%" PRIu64 ",\"lines_sent\":%" PRIu64 ",\"lines_dropped\":%" PRIu64
		"}", s->cs.clients, s->cs.monitors, s->cs.requests, s->cs.refused,
		s->cs.lines_sent, s->cs.lines_dropped + s->events_dropped);
	status_queues_json(s, out);
}

void daemon_status(struct daemon *d, bool json, FILE *out)
{
	const struct conf *c = policy_conf(d->policy);
	struct status_data s;

	status_gather(d, &s);
	if (!json) {
		status_global_text(d, &s, out);
		for (size_t i = 0; i < c->n_routes; i++)
			status_route_text(d, s.flows, i, out);
		return;
	}
	status_global_json(d, &s, out);
	fprintf(out, ",\"routes\":[");
	for (size_t i = 0; i < c->n_routes; i++)
		status_route_json(d, s.flows, i, out);
	fprintf(out, "]}\n");
}
