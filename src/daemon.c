/*
 * The service: wires the queue, the learned-address table, the policy, routes and the
 * nftables table into one event loop. Per packet: parse (pkt, dns), decide (classify),
 * act (verdict mark). Everything slow (reload, link events, endpoint refresh) runs
 * between packet batches on the same loop, never inside a verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "addrmap.h"
#include "classify.h"
#include "control.h"
#include "daemon.h"
#include "dns.h"
#include "domain.h"
#include "flowlog.h"
#include "log.h"
#include "loop.h"
#include "nftrules.h"
#include "pkt.h"
#include "policy.h"
#include "privdrop.h"
#include "queue.h"
#include "route.h"
#include "sysctl.h"
#include "util.h"
#include "wgpeer.h"

#define SVM_SYSCTL "net/ipv4/conf/all/src_valid_mark"
#define SVM_SAVED DAEMON_RUNDIR "/saved-src_valid_mark"
#define ENDPOINT_TIMER 0
#define ENDPOINT_REFRESH_MS 10000
#define ERRLEN CONF_ERR_MAX

/* The only process-wide mutable state: set by signal handlers, read by the loop. */
static volatile sig_atomic_t sig_stop, sig_reload;

struct daemon_stats {
	uint64_t dns_replies, dns_learned, dns_bad, flows, flows_routed, pkt_bad;
};

struct daemon {
	const char *conf_path;
	struct policy *policy;
	struct addrmap *am;
	struct queue *q;
	struct route_mgr *rm;
	struct loop *loop;
	enum nftrules_queue_path qpath;
	char saved_svm[16];
	bool svm_changed;
	struct daemon_stats st;
	struct dns_reply reply;		/* parse buffer, reused for every reply */
	struct control *ctl;		/* the control socket (NULL until started) */
	uint64_t started_ms;		/* monotonic, for uptime */
	time_t loaded_at;		/* wall clock of the last (re)load */
};

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_reload = 1;
	else
		sig_stop = 1;
}

/* ---- per packet ---- */

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

		if (rt >= 0 && len > best) {
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
			.route = route >= 0 ? c->routes[route].name : NULL,
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
		.route = res->route >= 0 ? policy_conf(d->policy)->routes[res->route].name : NULL,
		.mark = res->mark,
		.reason = reason,
	};

	snprintf(reason, sizeof(reason), "%s%s%s", classify_reason_name(res->reason),
		 res->name ? " " : "", res->name ? res->name : "");
	daemon_publish(d, &ev, pi);
}

static void daemon_dns_reply(struct daemon *d, const struct pkt_info *pi)
{
	struct dns_reply *reply = &d->reply;
	const uint8_t *msg = pi->payload;
	size_t len = pi->payload_len;
	int ret;

	if (pi->l4proto == IPPROTO_TCP) {
		/* whole messages only here; segments that carry part of one are passed */
		if (len < 2 || (size_t)((msg[0] << 8) | msg[1]) > len - 2)
			return;
		len = (size_t)((msg[0] << 8) | msg[1]);
		msg += 2;
	}
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

			daemon_publish(d, &ev, pi);
		}
		return;
	}
	if (daemon_wants_events(d))
		daemon_dns_events(d, pi, reply);
	ret = classify_dns_learn(d->policy, d->am, reply, util_now_ms());
	d->st.dns_learned += (uint64_t)ret;
	if (ret > 0)
		log_debug("dns %s: learned %d address(es)", reply->names[0], ret);
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
		  res->route >= 0 ? policy_conf(d->policy)->routes[res->route].name : "unrouted",
		  res->mark, classify_reason_name(res->reason));
}

static uint32_t daemon_decide(void *ctx, const struct queue_pkt *qp)
{
	struct daemon *d = ctx;
	struct classify_result res;
	struct pkt_info pi;

	if (pkt_parse(qp->data, qp->len, &pi) < 0) {
		d->st.pkt_bad++;
		return qp->mark;
	}
	if (qp->hook == NF_INET_LOCAL_IN) {
		if (pi.sport == 53)
			daemon_dns_reply(d, &pi);
		return qp->mark;
	}
	d->st.flows++;
	classify_flow(d->policy, d->am, &pi, qp->mark, util_now_ms(), &res);
	if (res.route >= 0)
		d->st.flows_routed++;
	if (log_enabled(LOG_DEBUG))
		daemon_log_flow(d, &pi, &res);
	if (daemon_wants_events(d))
		daemon_flow_event(d, &pi, &res);
	return res.mark;
}

static void on_queue(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	int ret;

	(void)fd;
	(void)events;
	ret = queue_process(d->q, daemon_decide, d);
	if (ret < 0)
		log_warn("queue %u: sending verdicts: %s", queue_num(d->q), util_strerr(ret));
}

/* ---- slow path ---- */

static void on_route_event(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;

	(void)fd;
	(void)events;
	route_mgr_handle_events(d->rm);
}

static void daemon_refresh_endpoints(struct daemon *d)
{
	const struct conf *c = policy_conf(d->policy);

	for (size_t i = 0; i < c->n_routes; i++) {
		struct pkt_addr eps[POLICY_EXTRA_BYPASS];
		int n = c->routes[i].table == CONF_TABLE_MAIN ? 0 :
			wgpeer_endpoints(c->routes[i].ifname, eps, POLICY_EXTRA_BYPASS);

		for (int k = 0; k < n; k++)
			policy_route_exclude_add(d->policy, (int)i, &eps[k]);
	}
}

static void on_endpoint_timer(void *ctx)
{
	struct daemon *d = ctx;

	daemon_refresh_endpoints(d);
	loop_timer_set(d->loop, ENDPOINT_TIMER, util_now_ms() + ENDPOINT_REFRESH_MS,
		       on_endpoint_timer, d);
}

static void route_log(void *ctx, int prio, const char *msg)
{
	(void)ctx;
	log_msg(prio, "%s", msg);
}

/* ---- start, reload, stop ---- */

static int daemon_load_policy(const char *path, struct policy **out, char *err, size_t errlen)
{
	struct conf *c;
	int ret = conf_load(path, &c, err, errlen);

	if (ret)
		return ret;
	return policy_new(c, out, err, errlen);
}

static int reroute_name(const char *name, void *ctx)
{
	return policy_route_of_name(ctx, name, NULL);
}

static int daemon_swap_queue(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	struct queue *q = queue_new(c->queue, c->fail_mode == CONF_FAIL_OPEN, err, errlen);
	int ret;

	if (!q)
		return -EINVAL;
	loop_fd_del(d->loop, queue_fd(d->q));
	ret = loop_fd_add(d->loop, queue_fd(q), EPOLLIN, on_queue, d);
	queue_free(d->q);
	d->q = q;
	return ret;
}

static int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *old = policy_conf(d->policy);
	struct policy *np;
	int ret;

	log_info("reloading %s", d->conf_path);
	if (daemon_load_policy(d->conf_path, &np, err, errlen) < 0) {
		log_err("reload refused, the running configuration stays: %s", err);
		return -EINVAL;
	}
	const struct conf *c = policy_conf(np);

	if ((c->queue != old->queue || c->fail_mode != old->fail_mode) &&
	    daemon_swap_queue(d, c, err, errlen) < 0)
		goto refuse;
	if (nftrules_install(c, &d->qpath, err, errlen) < 0)
		goto refuse;
	ret = route_mgr_apply(d->rm, c, err, errlen);
	if (ret < 0)
		log_err("reload: routes: %s", err);
	addrmap_reroute(d->am, reroute_name, np);
	policy_free(d->policy);
	d->policy = np;
	d->loaded_at = time(NULL);
	daemon_refresh_endpoints(d);
	log_info("reloaded: %zu routes, %zu domain rules", c->n_routes, policy_rule_count(np));
	return 0;
refuse:
	log_err("reload refused, the running configuration stays: %s", err);
	policy_free(np);
	return -EINVAL;
}

/* ---- control socket handlers ---- */

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
	const struct conf *c = policy_conf(d->policy);
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
			e.route < c->n_routes ? c->routes[e.route].name : "(stale route)",
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
	fprintf(out, "%s -> %s (rule %s)\n", name, c->routes[rt].name, name + strlen(name) - len);
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

static int daemon_control_start(struct daemon *d, const struct conf *c, char *err, size_t errlen)
{
	struct control_config cc = { .path = c->control, .timer_slot = CONTROL_TIMER };
	int ret = control_group_lookup(c->control_group, &cc.group, err, errlen);

	if (ret)
		return ret;
	return control_new(&cc, d->loop, &daemon_ctl_ops, d, &d->ctl, err, errlen);
}

/* Last step of start-up: everything that needs more than CAP_NET_ADMIN is done. */
static int daemon_drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (c->user && *c->user) {
		if (privdrop_user_ids(c->user, &uid, &gid, err, errlen) < 0)
			return -EINVAL;
		/* so that the daemon can still remove its files on stop */
		if (geteuid() == 0 && chown(DAEMON_RUNDIR, uid, gid) < 0 && errno != ENOENT)
			log_warn("chown %s: %s", DAEMON_RUNDIR, strerror(errno));
		return privdrop_to_user(c->user, err, errlen);
	}
	return geteuid() == 0 ? privdrop_caps_only(err, errlen) : 0;
}

static void daemon_svm_save(struct daemon *d)
{
	FILE *f;

	if (sysctl_get(SVM_SYSCTL, d->saved_svm, sizeof(d->saved_svm)) < 0 ||
	    strcmp(d->saved_svm, "1") == 0)
		return;
	/* replies coming back through a tunnel pass rp_filter only when the mark counts */
	if (sysctl_set(SVM_SYSCTL, "1") < 0) {
		log_warn("cannot set %s: strict rp_filter may drop tunnel replies", SVM_SYSCTL);
		return;
	}
	d->svm_changed = true;
	mkdir(DAEMON_RUNDIR, 0755);
	f = fopen(SVM_SAVED, "we");
	if (f) {
		fprintf(f, "%s\n", d->saved_svm);
		fclose(f);
	}
}

static void daemon_svm_restore(struct daemon *d)
{
	if (!d->svm_changed)
		return;
	sysctl_set(SVM_SYSCTL, d->saved_svm);
	unlink(SVM_SAVED);
	d->svm_changed = false;
}

static int daemon_start(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *c = policy_conf(d->policy);
	int ret;

	d->am = addrmap_new(c->max_entries);
	d->loop = loop_new();
	d->rm = route_mgr_new(err, errlen);
	if (!d->am || !d->loop || !d->rm) {
		if (!d->rm)
			return -EIO;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	route_mgr_set_logger(d->rm, route_log, d);
	ret = route_mgr_apply(d->rm, c, err, errlen);
	if (ret)
		return ret;
	daemon_svm_save(d);
	d->q = queue_new(c->queue, c->fail_mode == CONF_FAIL_OPEN, err, errlen);
	if (!d->q)
		return -EIO;
	/* the queue has a reader before any rule sends packets to it */
	ret = nftrules_install(c, &d->qpath, err, errlen);
	if (ret)
		return ret;
	log_info("queue %u bound, nftables queue path: %s", c->queue,
		 nftrules_queue_path_name(d->qpath));
	ret = loop_fd_add(d->loop, queue_fd(d->q), EPOLLIN, on_queue, d);
	if (!ret)
		ret = loop_fd_add(d->loop, route_mgr_fd(d->rm), EPOLLIN, on_route_event, d);
	if (ret) {
		snprintf(err, errlen, "event loop: %s", util_strerr(ret));
		return ret;
	}
	on_endpoint_timer(d);
	ret = daemon_control_start(d, c, err, errlen);
	if (!ret)
		ret = daemon_drop_privileges(c, err, errlen);
	d->started_ms = util_now_ms();
	d->loaded_at = time(NULL);
	return ret;
}

static void daemon_stop(struct daemon *d)
{
	char err[ERRLEN];

	control_free(d->ctl);
	d->ctl = NULL;
	if (d->q && nftrules_remove(err, sizeof(err)) < 0)
		log_err("%s", err);
	queue_free(d->q);
	d->q = NULL;
	if (d->rm)
		route_mgr_remove(d->rm, true);
	daemon_svm_restore(d);
	route_mgr_free(d->rm);
	loop_free(d->loop);
	addrmap_free(d->am);
	policy_free(d->policy);
}

static void daemon_log_stats(const struct daemon *d)
{
	log_info("stopped: %" PRIu64 " flows (%" PRIu64 " routed), %" PRIu64 " DNS replies "
		 "(%" PRIu64 " malformed), %" PRIu64 " addresses learned, %" PRIu64
		 " bad packets", d->st.flows, d->st.flows_routed, d->st.dns_replies,
		 d->st.dns_bad, d->st.dns_learned, d->st.pkt_bad);
}

static void daemon_signals(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	sigdelset(wait_mask, SIGHUP);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int daemon_run(const char *conf_path)
{
	struct daemon d = { .conf_path = conf_path };
	char err[ERRLEN];
	sigset_t wait_mask;
	int ret;

	if (daemon_load_policy(conf_path, &d.policy, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 2;
	}
	daemon_signals(&wait_mask);
	ret = daemon_start(&d, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		daemon_stop(&d);
		return 1;
	}
	log_info("ready: %zu routes, %zu domain rules", policy_conf(d.policy)->n_routes,
		 policy_rule_count(d.policy));
	while (!sig_stop) {
		ret = loop_run_once(d.loop, &wait_mask);
		if (ret < 0 && ret != -EINTR) {
			log_err("event loop: %s", util_strerr(ret));
			break;
		}
		if (sig_reload) {
			sig_reload = 0;
			daemon_reload(&d, err, sizeof(err));
		}
	}
	daemon_log_stats(&d);
	daemon_stop(&d);
	return ret < 0 && ret != -EINTR ? 1 : 0;
}

int daemon_down(const struct conf *c)
{
	struct route_mgr *rm;
	char err[ERRLEN], saved[16];
	int status = 0;
	FILE *f;

	if (nftrules_remove(err, sizeof(err)) < 0) {
		log_err("%s", err);
		status = 1;
	}
	rm = route_mgr_new(err, sizeof(err));
	if (!rm || route_mgr_remove_conf(rm, c) < 0) {
		log_err("removing ip rules and routes failed%s%s", rm ? "" : ": ", rm ? "" : err);
		status = 1;
	}
	route_mgr_free(rm);
	f = fopen(SVM_SAVED, "re");
	if (f) {
		if (fgets(saved, sizeof(saved), f)) {
			saved[strcspn(saved, "\n")] = '\0';
			sysctl_set(SVM_SYSCTL, saved);
		}
		fclose(f);
		unlink(SVM_SAVED);
	}
	return status;
}
