/*
 * The service: wires the queue, the learned-address table, the policy, routes and the
 * nftables table into one event loop. Per packet: parse (pkt, dns), decide (classify),
 * act (verdict mark). Everything slow (reload, link events, endpoint refresh) runs
 * between packet batches on the same loop, never inside a verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
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
#include "brlock.h"
#include "classify.h"
#include "control.h"
#include "daemon.h"
#include "daemon_int.h"
#include "dns.h"
#include "domain.h"
#include "flowlog.h"
#include "log.h"
#include "loop.h"
#include "nftrules.h"
#include "nftwatch.h"
#include "pkt.h"
#include "policy.h"
#include "instance.h"
#include "privdrop.h"
#include "queue.h"
#include "route.h"
#include "sysctl.h"
#include "tcpdns.h"
#include "learnlog.h"
#include "util.h"
#include "wgpeer.h"

#define SVM_SYSCTL "net/ipv4/conf/all/src_valid_mark"
#define SVM_SAVED DAEMON_RUNDIR "/saved-src_valid_mark"
#define ENDPOINT_TIMER 0
#define ENDPOINT_REFRESH_MS 2000	/* a roaming peer is followed within this */
#define RELOAD_TIMER 7
#define RELOAD_MIN_MS 1000	/* SIGHUPs closer together are coalesced */
#define REINSTALL_TIMER 8
#define REINSTALL_BURST 30	/* put-backs at once within REINSTALL_WINDOW_MS, then ... */
#define REINSTALL_WINDOW_MS 10000
#define REINSTALL_MIN_MS 1000	/* ... one a second: against a tool that keeps deleting it */
#define ROUTE_TIMER 9		/* slowed-down put-backs of ip rules and routes */
#define ERRLEN DAEMON_ERRLEN
#define LEARNLOG_EVENTS 8192	/* history for `why`: about 400 KiB */

/* The only process-wide mutable state: set by signal handlers, read by the loop. */
static volatile sig_atomic_t sig_stop, sig_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_reload = 1;
	else
		sig_stop = 1;
}

/* ---- per packet ---- */

/* ---- slow path ---- */

static void on_route_timer(void *ctx);

static void daemon_route_events(struct daemon *d)
{
	uint64_t due;

	route_mgr_handle_events(d->rm);
	/* a rule or route that keeps being deleted is put back once a second, by the timer */
	due = route_mgr_due_ms(d->rm);
	if (due)
		loop_timer_set(d->loop, ROUTE_TIMER, due, on_route_timer, d);
}

static void on_route_timer(void *ctx)
{
	daemon_route_events(ctx);
}

static void on_route_event(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	daemon_route_events(ctx);
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

/* ---- our table changed by someone else ---- */

static void daemon_reinstall(struct daemon *d)
{
	char err[ERRLEN];

	d->reinstall_pending = false;
	d->reinstall_ms = util_now_ms();
	if (nftrules_install(policy_conf(d->policy), &d->qpath, err, sizeof(err)) < 0)
		log_err("putting the nftables table back: %s", err);
	else
		log_warn("nftables table inet %s put back", NFTRULES_TABLE);
}

static void on_reinstall_timer(void *ctx)
{
	daemon_reinstall(ctx);
}

/*
 * Another process deleted or flushed (part of) our table, e.g. a firewall restart's
 * `flush ruleset`: without it, routed connections would leave unmarked, past the tunnel.
 * Put it back at once; after REINSTALL_BURST times within REINSTALL_WINDOW_MS (something
 * keeps deleting it), at most once a second until the window ends.
 */
static void on_nft_event(void *ctx, int fd, uint32_t events)
{
	struct daemon *d = ctx;
	struct nftwatch_event ev;
	uint64_t now = util_now_ms();
	int ret;

	(void)fd;
	(void)events;
	ret = nftwatch_read(d->nftw, &ev);
	if (ret <= 0 || d->reinstall_pending)
		return;
	if (ev.lost)
		log_warn("nftables events were lost: checking table inet %s", NFTRULES_TABLE);
	else
		log_warn("nftables table inet %s changed by pid %ld (%s)", NFTRULES_TABLE,
			 (long)ev.pid, ev.comm[0] ? ev.comm : "?");
	if (now >= d->reinstall_window_ms + REINSTALL_WINDOW_MS) {
		d->reinstall_window_ms = now;
		d->reinstalls = 0;
	}
	if (++d->reinstalls == REINSTALL_BURST + 1)
		log_err("something keeps removing table inet %s: putting it back once a second "
			"from now on", NFTRULES_TABLE);
	if (d->reinstalls > REINSTALL_BURST && now < d->reinstall_ms + REINSTALL_MIN_MS) {
		d->reinstall_pending = true;
		loop_timer_set(d->loop, REINSTALL_TIMER, d->reinstall_ms + REINSTALL_MIN_MS,
			       on_reinstall_timer, d);
		return;
	}
	daemon_reinstall(d);
}

/* ---- start, reload, stop ---- */

/* What follows from the configuration without touching the kernel. */
static void daemon_apply_settings(struct daemon *d)
{
	const struct conf *c = policy_conf(d->policy);

	addrmap_set_grace(d->am, (uint64_t)c->grace * 1000u);
	d->dns_by_name = false;
	for (size_t i = 0; i < c->n_routes; i++)
		d->dns_by_name |= c->routes[i].dns;
}

static int daemon_load_policy(const char *path, struct policy **out, char *err, size_t errlen)
{
	struct conf *c;
	int ret = conf_load(path, &c, err, errlen);

	if (ret)
		return ret;
	ret = policy_new(c, out, err, errlen);
	if (!ret)	/* host bits, keys ignored, lists that gave no rule */
		policy_warnings(*out, route_log, NULL);
	return ret;
}

static int reroute_name(const char *name, void *ctx)
{
	return policy_route_of_name(ctx, name, NULL);
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	const struct conf *old = policy_conf(d->policy);
	struct policy *np;
	int ret;

	d->reload_ms = util_now_ms();
	log_info("reloading %s", d->conf_path);
	/* reading lists can take a while: the workers go on deciding meanwhile */
	brlock_write_unlock(d->lock);
	ret = daemon_load_policy(d->conf_path, &np, err, errlen);
	brlock_write_lock(d->lock);
	if (ret < 0) {
		log_err("reload refused, the running configuration stays: %s", err);
		return -EINVAL;
	}
	const struct conf *c = policy_conf(np);

	if (!daemon_threads_same_layout(c, old) &&
	    daemon_threads_relayout(d, c, old, err, errlen) < 0)
		goto refuse;
	if (nftrules_install(c, &d->qpath, err, errlen) < 0)
		goto refuse;
	ret = route_mgr_apply(d->rm, c, err, errlen);
	if (ret < 0)
		log_err("reload: routes: %s", err);
	addrmap_reroute(d->am, reroute_name, np);
	policy_free(d->policy);
	d->policy = np;
	daemon_apply_settings(d);
	daemon_fresh_reload(d);
	d->loaded_at = time(NULL);
	daemon_refresh_endpoints(d);
	log_info("reloaded: %zu routes, %zu domain rules", c->n_routes, policy_rule_count(np));
	return 0;
refuse:
	log_err("reload refused, the running configuration stays: %s", err);
	policy_free(np);
	return -EINVAL;
}

/* ---- SIGHUP ---- */

static void on_reload_timer(void *ctx)
{
	struct daemon *d = ctx;
	char err[ERRLEN];

	d->reload_pending = false;
	daemon_reload(d, err, sizeof(err));	/* the loop's guard holds the lock */
}

/*
 * A SIGHUP reloads at once, unless a reload started less than RELOAD_MIN_MS ago: then
 * one more reload follows when that time is up, however many signals came meanwhile, so
 * a burst of signals cannot keep the daemon reloading instead of deciding packets.
 */
static void daemon_reload_soon(struct daemon *d)
{
	uint64_t now = util_now_ms(), next = d->reload_ms + RELOAD_MIN_MS;
	char err[ERRLEN];

	if (d->reload_pending)
		return;
	if (d->reload_ms && now < next) {
		d->reload_pending = true;
		loop_timer_set(d->loop, RELOAD_TIMER, next, on_reload_timer, d);
		return;
	}
	brlock_write_lock(d->lock);
	daemon_reload(d, err, sizeof(err));
	if (d->lock)
		brlock_write_unlock(d->lock);
}

/* ---- control socket handlers ---- */

static void daemon_chown(const char *path, uid_t uid, gid_t gid)
{
	if (geteuid() == 0 && chown(path, uid, gid) < 0 && errno != ENOENT)
		log_warn("chown %s: %s", path, strerror(errno));
}

/* Last step of start-up: everything that needs more than CAP_NET_ADMIN is done. */
static int daemon_drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (c->user && *c->user) {
		if (privdrop_user_ids(c->user, &uid, &gid, err, errlen) < 0)
			return -EINVAL;
		/* so that the daemon can still remove its files on stop and save its cache */
		daemon_chown(DAEMON_RUNDIR, uid, gid);
		if (c->cache && *c->cache) {
			char dir[PATH_MAX];

			util_strlcpy(dir, c->cache, sizeof(dir));
			mkdir(dirname(dir), 0750);
			daemon_chown(dir, uid, gid);
		}
		return privdrop_to_user(c->user, err, errlen);
	}
	return geteuid() == 0 ? privdrop_caps_only(err, errlen) : 0;
}

/* The value a crashed instance saved before it set the sysctl: the host's own. */
static bool daemon_svm_left(char *buf, size_t size)
{
	FILE *f = fopen(SVM_SAVED, "re");
	bool ok = f && fgets(buf, (int)size, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok && (!strcmp(buf, "0") || !strcmp(buf, "1"));
}

static void daemon_svm_save(struct daemon *d)
{
	FILE *f;

	/* a crashed instance left its saved value (we hold the lock: it is not running):
	 * the current 1 is its doing, the saved value is what to restore at stop */
	if (daemon_svm_left(d->saved_svm, sizeof(d->saved_svm))) {
		d->svm_changed = true;
		if (sysctl_set(SVM_SYSCTL, "1") < 0)
			log_warn("cannot set %s: strict rp_filter may drop tunnel replies", SVM_SYSCTL);
		return;
	}
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

	d->am = addrmap_new_sized(c->max_entries, c->max_names ? c->max_names :
				  (c->max_entries + 1) / 2, 0);
	d->learnlog = learnlog_new(LEARNLOG_EVENTS);
	if (c->per_client && c->n_lan_ifs)
		d->pcmap = addrmap_new_sized(c->max_entries, c->max_names ? c->max_names :
					     (c->max_entries + 1) / 2, 0);
	d->loop = loop_new();
	d->rm = route_mgr_new(err, errlen);
	if (!d->am || !d->loop || !d->rm || !d->learnlog ||
	    (c->per_client && c->n_lan_ifs && !d->pcmap)) {
		if (!d->rm)
			return -EIO;
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	route_mgr_set_logger(d->rm, route_log, d);
	daemon_apply_settings(d);
	/* learned before the queue is bound: a restart costs no connection its route */
	daemon_cache_load(d);
	ret = route_mgr_apply(d->rm, c, err, errlen);
	if (ret)
		return ret;
	daemon_svm_save(d);
	/* the tunnels' own endpoints before any rule queues a packet: a handshake decided by
	 * `default = TUNNEL` would otherwise be routed into its own tunnel */
	daemon_refresh_endpoints(d);
	/* bound, and served by this loop until the workers start, before any rule sends
	 * packets to the queues */
	ret = daemon_threads_open(d, c, err, errlen);
	if (ret)
		return ret;
	ret = nftrules_install(c, &d->qpath, err, errlen);
	if (ret)
		return ret;
	log_info("nftables queue path: %s", nftrules_queue_path_name(d->qpath));
	d->nftw = nftwatch_new(NFTRULES_TABLE, err, errlen);
	if (!d->nftw)
		return -EIO;
	ret = loop_fd_add(d->loop, nftwatch_fd(d->nftw), EPOLLIN, on_nft_event, d);
	if (ret) {
		snprintf(err, errlen, "event loop: %s", util_strerr(ret));
		return ret;
	}
	/* after the routes (tunneled lookups need them) and the rules (with strict rp_filter
	 * a tunneled answer passes only once the mark-restore rule gives it its mark) */
	ret = daemon_fresh_start(d, true, err, errlen);
	if (ret)
		return ret;
	ret = loop_fd_add(d->loop, route_mgr_fd(d->rm), EPOLLIN, on_route_event, d);
	if (ret) {
		snprintf(err, errlen, "event loop: %s", util_strerr(ret));
		return ret;
	}
	on_endpoint_timer(d);
	daemon_cache_start(d);
	ret = daemon_ctl_start(d, c, err, errlen);
	if (!ret)
		ret = daemon_drop_privileges(c, err, errlen);
	d->started_ms = util_now_ms();
	d->loaded_at = time(NULL);
	if (!ret)
		ret = daemon_threads_run(d, c, err, errlen);
	return ret;
}

static void daemon_stop(struct daemon *d)
{
	char err[ERRLEN];

	/* keep-blackhole routes keep their restore rules: open connections stay in their
	 * route (blackholed) instead of leaving in clear until the next start */
	if (d->n_pkts && nftrules_install_kept(policy_conf(d->policy), err, sizeof(err)) < 0)
		log_err("%s", err);
	daemon_threads_close(d);	/* before anything the workers read goes */
	nftwatch_free(d->nftw);
	d->nftw = NULL;
	control_free(d->ctl);
	d->ctl = NULL;
	if (d->rm)
		route_mgr_remove(d->rm, true);
	daemon_svm_restore(d);
	route_mgr_free(d->rm);
	if (d->am && d->policy)
		daemon_cache_save(d, false);
	daemon_fresh_stop(d);
	loop_free(d->loop);
	learnlog_free(d->learnlog);
	addrmap_free(d->pcmap);
	addrmap_free(d->am);
	policy_free(d->policy);
}

static void daemon_log_stats(const struct daemon *d)
{
	struct daemon_stats st;
	uint64_t flows[DAEMON_ROUTE_SLOTS], dropped;

	daemon_threads_totals(d, &st, flows, &dropped);
	log_info("stopped: %" PRIu64 " flows (%" PRIu64 " routed), %" PRIu64 " DNS replies "
		 "(%" PRIu64 " malformed), %" PRIu64 " addresses learned, %" PRIu64
		 " bad packets", st.flows, st.flows_routed, st.dns_replies, st.dns_bad,
		 st.dns_learned, st.pkt_bad);
}

static void on_instance_probe(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	instance_answer(fd);
}

/* Claims the network namespace; < 0 (said why) when another instance runs in it. */
static int daemon_lock(void)
{
	pid_t holder;
	int fd = instance_lock(&holder);

	if (fd == -EEXIST && holder > 0)
		log_err("another nfqroute is running in this network namespace (pid %ld): one "
			"instance per host; stop it first", (long)holder);
	else if (fd == -EEXIST)
		log_err("another nfqroute is running in this network namespace: one instance "
			"per host; stop it first");
	else if (fd < 0)
		log_err("claiming the network namespace: %s", strerror(-fd));
	return fd;
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
	int ret, lockfd;

	if (daemon_load_policy(conf_path, &d.policy, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 2;
	}
	if (!privdrop_can_run()) {
		log_err("nfqroute run needs root or CAP_NET_ADMIN (it installs nftables rules, ip "
			"rules and routes and binds NFQUEUE): nothing was changed");
		policy_free(d.policy);
		return 1;
	}
	/* before anything is installed: a second instance would replace the first one's
	 * table, rules and routes and remove them when it fails */
	lockfd = daemon_lock();
	if (lockfd < 0) {
		policy_free(d.policy);
		return 1;
	}
	daemon_signals(&wait_mask);
	ret = daemon_start(&d, err, sizeof(err));
	if (ret) {
		log_err("%s", err);
		daemon_stop(&d);
		instance_unlock(lockfd);
		return 1;
	}
	if (loop_fd_add(d.loop, lockfd, EPOLLIN, on_instance_probe, NULL) < 0)
		log_warn("another instance asking for this one's pid will not get it");
	log_info("ready: %zu routes, %zu domain rules", policy_conf(d.policy)->n_routes,
		 policy_rule_count(d.policy));
	while (!sig_stop) {
		ret = loop_run_once(d.loop, &wait_mask);
		if (ret < 0 && ret != -EINTR) {
			log_err("event loop: %s", util_strerr(ret));
			break;
		}
		if (sig_reload && d.lock) {
			sig_reload = 0;
			daemon_reload_soon(&d);
		}
		if (!d.n_pkts) {
			log_err("no queue is bound any more: stopping");
			ret = -EIO;
			break;
		}
	}
	if (d.lock)
		brlock_write_lock(d.lock);	/* the workers' counters hold still */
	daemon_log_stats(&d);
	if (d.lock)
		brlock_write_unlock(d.lock);
	daemon_stop(&d);
	instance_unlock(lockfd);
	return ret < 0 && ret != -EINTR ? 1 : 0;
}

int daemon_down(const struct conf *c)
{
	struct route_mgr *rm;
	char err[ERRLEN], saved[16];
	int status = 0;
	pid_t pid = instance_running();
	FILE *f;

	if (pid != 0) {
		log_err("nfqroute is running (pid %ld): stop it instead (it removes what it "
			"installed); down is for what a crashed instance left behind", (long)pid);
		return 1;
	}

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
