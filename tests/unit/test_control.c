/*
 * The control socket on a temporary path with a test loop: requests, access, monitors,
 * slow and vanished clients, and the CLI side (ctlclient) against it. Tests that change
 * credentials in a child process need root and skip otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "control.h"
#include "ctlclient.h"
#include "flowlog.h"
#include "loop.h"
#include "util.h"

#define TEST_GROUP 4242		/* any gid works for chown as root */
#define TICK_SLOT 0

struct fake {
	int status_calls, why_calls, reload_calls, flush_calls;
	bool json, reroute, fail;
	char why[256];
};

struct fx {
	char dir[64], path[100];
	struct loop *l;
	struct control *c;
	struct fake fk;
	struct control_config cfg;
};

static int fake_status(void *ctx, bool json, FILE *out, char *err, size_t errlen)
{
	struct fake *fk = ctx;

	fk->status_calls++;
	fk->json = json;
	if (fk->fail) {
		snprintf(err, errlen, "status broke\nbadly");
		return -EIO;
	}
	if (json)
		fprintf(out, "{\"routes\":2}\n");
	else
		fprintf(out, "routes 2\n.hidden\n\nlast line without newline");
	return 0;
}

static int fake_why(void *ctx, const char *what, FILE *out, char *err, size_t errlen)
{
	struct fake *fk = ctx;

	fk->why_calls++;
	snprintf(fk->why, sizeof(fk->why), "%s", what);
	if (!strcmp(what, "unknown.example")) {
		snprintf(err, errlen, "%s was never seen", what);
		return -ENOENT;
	}
	fprintf(out, "%s: learned from github.com\n", what);
	return 0;
}

static int fake_reload(void *ctx, bool reroute, FILE *out, char *err, size_t errlen)
{
	struct fake *fk = ctx;

	fk->reload_calls++;
	fk->reroute = reroute;
	if (fk->fail) {
		fprintf(out, "reading /etc/nfqroute/nfqroute.conf\n");
		snprintf(err, errlen, "nfqroute.conf:3: unknown key 'x'");
		return -EINVAL;
	}
	return 0;
}

static int fake_flush(void *ctx, FILE *out, char *err, size_t errlen)
{
	struct fake *fk = ctx;

	(void)err;
	(void)errlen;
	fk->flush_calls++;
	fprintf(out, "flushed 3 addresses\n");
	return 0;
}

static const struct control_ops fake_ops = {
	.status = fake_status,
	.why = fake_why,
	.reload = fake_reload,
	.flush = fake_flush,
};

/* ---- loop and socket helpers ---- */

static void tick(void *ctx)
{
	(void)ctx;
}

/* One loop iteration that returns within about 5 ms even when nothing happens. */
static void pump_once(struct fx *fx)
{
	loop_timer_set(fx->l, TICK_SLOT, util_now_ms() + 5, tick, NULL);
	assert_int_equal(loop_run_once(fx->l, NULL), 0);
}

static void pump(struct fx *fx, unsigned ms)
{
	uint64_t end = util_now_ms() + ms;

	while (util_now_ms() < end)
		pump_once(fx);
}

static int fx_start(struct fx *fx)
{
	char err[256];

	if (!fx->cfg.path)
		fx->cfg.path = fx->path;
	fx->cfg.timer_slot = CONTROL_TIMER;
	return control_new(&fx->cfg, fx->l, &fake_ops, &fx->fk, &fx->c, err, sizeof(err));
}

static int setup_cfg(void **state, const struct control_config *cfg)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/nfqr-ctl.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	chmod(fx->dir, 0755);	/* children that drop to nobody must reach the socket */
	snprintf(fx->path, sizeof(fx->path), "%s/run/control", fx->dir);
	fx->l = loop_new();
	assert_non_null(fx->l);
	if (cfg)
		fx->cfg = *cfg;
	/* not as root: our own group, so the server lets us read */
	if (!cfg)
		fx->cfg.group = getuid() == 0 ? TEST_GROUP : getgid();
	assert_int_equal(fx_start(fx), 0);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, NULL);
}

static int setup_small(void **state)
{
	struct control_config cfg = { .max_clients = 2, .monitor_buf = 4096, .idle_ms = 200 };

	cfg.group = getuid() == 0 ? TEST_GROUP : getgid();
	return setup_cfg(state, &cfg);
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char sub[160];

	control_free(fx->c);
	loop_free(fx->l);
	snprintf(sub, sizeof(sub), "%s/run", fx->dir);
	rmdir(sub);
	assert_int_equal(rmdir(fx->dir), 0);	/* empty: the socket was removed */
	free(fx);
	return 0;
}

static int cli_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void cli_send(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* True when text holds n end lines (".", ".error...", or a monitor's first notice). */
static bool has_ends(const char *text, int n)
{
	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		if ((p[0] == '.' && p[1] == '\n') || !strncmp(p, ".error", 6) ||
		    !strncmp(p, ".# monitoring", 13))
			n--;
		if (n <= 0)
			return true;
	}
	return false;
}

struct rx {
	char buf[1 << 20];
	size_t len;
	bool eof;
};

/* Receives what is there without blocking. */
static void rx_poll(int fd, struct rx *rx)
{
	for (;;) {
		ssize_t n = recv(fd, rx->buf + rx->len, sizeof(rx->buf) - 1 - rx->len,
				 MSG_DONTWAIT);

		if (n == 0)
			rx->eof = true;
		if (n <= 0)
			break;
		rx->len += (size_t)n;
	}
	rx->buf[rx->len] = '\0';
}

/* Pumps the loop and reads until ends replies ended (or EOF, or 3 s). */
static const char *rx_reply(struct fx *fx, int fd, struct rx *rx, int ends)
{
	uint64_t end = util_now_ms() + 3000;

	while (!has_ends(rx->buf, ends) && !rx->eof && util_now_ms() < end) {
		pump_once(fx);
		rx_poll(fd, rx);
	}
	return rx->buf;
}

static const char *request(struct fx *fx, int fd, struct rx *rx, const char *req)
{
	rx->len = 0;
	rx->buf[0] = '\0';
	cli_send(fd, req);
	return rx_reply(fx, fd, rx, 1);
}

/* Waits until EOF on fd; true when it came. */
static bool rx_wait_eof(struct fx *fx, int fd, struct rx *rx, unsigned ms)
{
	uint64_t end = util_now_ms() + ms;

	while (!rx->eof && util_now_ms() < end) {
		pump_once(fx);
		rx_poll(fd, rx);
	}
	return rx->eof;
}

static struct flowlog_event event(const char *route, const char *domain, uint16_t dport)
{
	struct flowlog_event ev = {
		.kind = FLOWLOG_FLOW,
		.l4proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = dport,
		.domain = domain,
		.route = route,
		.mark = route ? 0x100 : 0,
		.reason = domain ? "learned" : NULL,
	};

	flowlog_event_stamp(&ev);
	pkt_addr_parse("192.0.2.2", &ev.src);
	pkt_addr_parse("198.51.100.10", &ev.dst);
	return ev;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
	return n;
}

/* ---- pure parts ---- */

static void test_access_decide(void **state)
{
	gid_t groups[] = { 10, 4242, 20 };
	struct control_peer root = { 1, 0, 0, 0, NULL };
	struct control_peer member = { 2, 1000, 4242, 0, NULL };
	struct control_peer supp = { 3, 1000, 1000, 3, groups };
	struct control_peer other = { 4, 1000, 1000, 1, groups };

	(void)state;
	assert_int_equal(control_access_decide(&root, 4242), CONTROL_ADMIN);
	assert_int_equal(control_access_decide(&root, CONTROL_NO_GROUP), CONTROL_ADMIN);
	assert_int_equal(control_access_decide(&member, 4242), CONTROL_READ);
	assert_int_equal(control_access_decide(&supp, 4242), CONTROL_READ);
	assert_int_equal(control_access_decide(&other, 4242), CONTROL_DENY);
	assert_int_equal(control_access_decide(&member, CONTROL_NO_GROUP), CONTROL_DENY);
	assert_int_equal(control_access_decide(&supp, CONTROL_NO_GROUP), CONTROL_DENY);
	/* the group itself being 0 does not make members admins */
	member.gid = 0;
	assert_int_equal(control_access_decide(&member, 0), CONTROL_READ);
}

static void test_groups_parse(void **state)
{
	const char *status = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1000"
			     "\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t256\n"
			     "Groups:\t4 24 27 4242 \nNStgid:\t1\n";
	gid_t g[8];

	(void)state;
	assert_int_equal(control_groups_parse(status, g, 8), 4);
	assert_int_equal(g[0], 4);
	assert_int_equal(g[3], 4242);
	assert_int_equal(control_groups_parse("Name:\tx\nGroups:\t\nPid:\t1\n", g, 8), 0);
	assert_int_equal(control_groups_parse("Groups:", g, 8), 0);
	assert_int_equal(control_groups_parse("Name:\tx\n", g, 8), -ENOENT);
	assert_int_equal(control_groups_parse("Groups:\t1 x2\n", g, 8), -EINVAL);
	assert_int_equal(control_groups_parse("Groups:\t1 -2\n", g, 8), -EINVAL);
	assert_int_equal(control_groups_parse("Groups:\t4294967295\n", g, 8), -EINVAL);
	assert_int_equal(control_groups_parse("Groups:\t1 2 3\n", g, 2), -ENOSPC);
	/* "Groups:" only counts at a line start */
	assert_int_equal(control_groups_parse("Name:\tGroups: 5\n", g, 8), -ENOENT);
}

static void test_group_lookup(void **state)
{
	char err[128];
	gid_t gid;

	(void)state;
	assert_int_equal(control_group_lookup(NULL, &gid, err, sizeof(err)), 0);
	assert_int_equal(gid, CONTROL_NO_GROUP);
	assert_int_equal(control_group_lookup("", &gid, err, sizeof(err)), 0);
	assert_int_equal(gid, CONTROL_NO_GROUP);
	assert_int_equal(control_group_lookup("1234", &gid, err, sizeof(err)), 0);
	assert_int_equal(gid, 1234);
	assert_int_equal(control_group_lookup("root", &gid, err, sizeof(err)), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(control_group_lookup("no-such-group-nfqr", &gid, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "no group no-such-group-nfqr");
	assert_int_equal(control_group_lookup("99999999999", &gid, err, sizeof(err)), -ERANGE);
}

static void test_request_join(void **state)
{
	char *words[] = { "monitor", "json", "host 192.0.2.1 or route vpn" };
	char *bad[] = { "why", "a\nstatus" };
	char *empty[] = { "why", "" };
	char buf[CONTROL_REQUEST_MAX + 10], err[128], big[1100];
	char *huge[] = { "why", big };

	(void)state;
	assert_int_equal(ctlclient_request(buf, sizeof(buf), 3, words, err, sizeof(err)), 0);
	assert_string_equal(buf, "monitor json host 192.0.2.1 or route vpn");
	assert_int_equal(ctlclient_request(buf, sizeof(buf), 2, bad, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "argument 2 holds a control character");
	assert_int_equal(ctlclient_request(buf, sizeof(buf), 2, empty, err, sizeof(err)), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ctlclient_request(buf, sizeof(buf), 2, huge, err, sizeof(err)), -EINVAL);
	big[CONTROL_REQUEST_MAX - 1 - 4] = '\0';	/* "why " + word = the limit exactly */
	assert_int_equal(ctlclient_request(buf, sizeof(buf), 2, huge, err, sizeof(err)), 0);
	assert_int_equal(strlen(buf), CONTROL_REQUEST_MAX - 1);
	assert_int_equal(ctlclient_request(buf, 8, 2, huge, err, sizeof(err)), -EINVAL);
}

static void test_connect_errors(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(ctlclient_run("/nonexistent/nfqroute/control", "status", false, 0,
				       stdout, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "cannot connect to /nonexistent/nfqroute/control: No such file "
			    "or directory (is nfqroute running?)");
}

/* ---- the socket ---- */

static void test_socket_setup(void **state)
{
	struct fx *fx = *state;
	struct control *c2;
	struct stat st;
	char err[256];
	int fd;

	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, fx->cfg.group);
	/* a live instance keeps its socket */
	assert_int_equal(control_new(&fx->cfg, fx->l, &fake_ops, &fx->fk, &c2, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "another nfqroute is serving it"));
	assert_null(c2);
	assert_int_equal(stat(fx->path, &st), 0);

	/* a stale one (its server died) is replaced */
	control_free(fx->c);
	fx->c = NULL;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx->path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(fd);
	assert_int_equal(fx_start(fx), 0);

	/* something that is not a socket is left alone */
	control_free(fx->c);
	fx->c = NULL;
	assert_int_equal(stat(fx->path, &st), -1);	/* free removed it */
	fd = open(fx->path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(control_new(&fx->cfg, fx->l, &fake_ops, &fx->fk, &c2, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "exists and is not a socket"));
	unlink(fx->path);
	assert_int_equal(fx_start(fx), 0);
}

static void test_path_too_long(void **state)
{
	struct control_config cfg = { .group = CONTROL_NO_GROUP, .timer_slot = CONTROL_TIMER };
	char path[200], err[256];
	struct control *c;
	struct loop *l = loop_new();

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	cfg.path = path;
	assert_int_equal(control_new(&cfg, l, &fake_ops, NULL, &c, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err, "too long"));
	cfg.path = "/tmp/nfqr-unused";
	cfg.timer_slot = LOOP_TIMERS;
	assert_int_equal(control_new(&cfg, l, &fake_ops, NULL, &c, err, sizeof(err)), -EINVAL);
	loop_free(l);
}

/* ---- requests ---- */

static void test_status_why(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	int fd = cli_connect(fx->path);

	assert_non_null(rx);
	/* data lines starting with "." are stuffed; a missing last newline is added */
	assert_string_equal(request(fx, fd, rx, "status\n"),
			    "routes 2\n..hidden\n\nlast line without newline\n.\n");
	assert_false(fx->fk.json);
	assert_string_equal(request(fx, fd, rx, "status json\n"), "{\"routes\":2}\n.\n");
	assert_true(fx->fk.json);
	assert_string_equal(request(fx, fd, rx, "why github.com\n"),
			    "github.com: learned from github.com\n.\n");
	assert_string_equal(fx->fk.why, "github.com");
	assert_string_equal(request(fx, fd, rx, "why unknown.example\n"),
			    ".error: unknown.example was never seen\n");
	assert_string_equal(request(fx, fd, rx, "why\n"), ".error: usage: why ADDRESS|NAME\n");
	assert_string_equal(request(fx, fd, rx, "status yaml\n"), ".error: usage: status [json]\n");
	assert_string_equal(request(fx, fd, rx, "frobnicate\n"),
			    ".error: unknown request 'frobnicate' (try help)\n");
	/* every line gets an answer, and an answer is always one text line */
	assert_string_equal(request(fx, fd, rx, "\n"), ".error: empty request (try help)\n");
	assert_string_equal(request(fx, fd, rx, " \t\r\n"), ".error: empty request (try help)\n");
	assert_string_equal(request(fx, fd, rx, "\x01\xffjunk\x7f\n"),
			    ".error: unknown request '??junk?' (try help)\n");
	fx->fk.fail = true;
	/* an error message cannot break the framing */
	assert_string_equal(request(fx, fd, rx, "status\n"), ".error: status broke badly\n");
	fx->fk.fail = false;
	assert_int_equal(count_lines(request(fx, fd, rx, "help\n"), "."), 1);
	assert_int_equal(fx->fk.status_calls, 3);
	close(fd);
	free(rx);
}

static void test_reload_flush_as_root(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	int fd;

	if (getuid() != 0) {
		free(rx);
		skip();
	}
	fd = cli_connect(fx->path);
	assert_string_equal(request(fx, fd, rx, "reload\n"), ".\n");
	assert_false(fx->fk.reroute);
	assert_string_equal(request(fx, fd, rx, "reload --reroute\n"), ".\n");
	assert_true(fx->fk.reroute);
	assert_string_equal(request(fx, fd, rx, "reload now\n"),
			    ".error: usage: reload [--reroute]\n");
	fx->fk.fail = true;
	assert_string_equal(request(fx, fd, rx, "reload\n"), "reading /etc/nfqroute/nfqroute.conf\n"
			    ".error: nfqroute.conf:3: unknown key 'x'\n");
	assert_string_equal(request(fx, fd, rx, "flush\n"), "flushed 3 addresses\n.\n");
	assert_int_equal(fx->fk.reload_calls, 3);
	assert_int_equal(fx->fk.flush_calls, 1);
	close(fd);
	free(rx);
}

static void test_pipelined_and_half_closed(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	int fd = cli_connect(fx->path);

	/* several requests in one write, answered in order (a blank line too) */
	cli_send(fd, "why a.example\r\n\nwhy b.example\n");
	rx_reply(fx, fd, rx, 3);
	assert_string_equal(rx->buf, "a.example: learned from github.com\n.\n"
			    ".error: empty request (try help)\n"
			    "b.example: learned from github.com\n.\n");
	close(fd);

	/* printf 'status json' | socat - UNIX-CONNECT:...: no newline, then half-close */
	fd = cli_connect(fx->path);
	memset(rx, 0, sizeof(*rx));
	cli_send(fd, "status json");
	shutdown(fd, SHUT_WR);
	assert_true(rx_wait_eof(fx, fd, rx, 3000));
	assert_string_equal(rx->buf, "{\"routes\":2}\n.\n");
	close(fd);
	free(rx);
}

static void test_request_too_long(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	char line[CONTROL_REQUEST_MAX + 1];
	int fd = cli_connect(fx->path);

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	cli_send(fd, line);
	assert_true(rx_wait_eof(fx, fd, rx, 3000));
	assert_string_equal(rx->buf, ".error: request too long\n");
	close(fd);
	free(rx);
}

static void test_too_many_clients_and_idle(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	struct control_stats st;
	int a = cli_connect(fx->path), b = cli_connect(fx->path), c;

	pump(fx, 20);
	c = cli_connect(fx->path);
	assert_true(rx_wait_eof(fx, c, rx, 3000));
	assert_string_equal(rx->buf, ".error: too many clients\n");
	close(c);
	control_get_stats(fx->c, &st);
	assert_int_equal(st.clients, 2);
	/* neither sends a request: both are dropped after idle_ms (200) */
	memset(rx, 0, sizeof(*rx));
	assert_true(rx_wait_eof(fx, a, rx, 3000));
	assert_string_equal(rx->buf, ".error: timeout\n");
	pump(fx, 20);
	control_get_stats(fx->c, &st);
	assert_int_equal(st.clients, 0);
	close(a);
	close(b);
	free(rx);
}

static void test_client_vanishes(void **state)
{
	struct fx *fx = *state;
	struct control_stats st;
	struct rx *rx = calloc(1, sizeof(*rx));
	int fd = cli_connect(fx->path), mon = cli_connect(fx->path);

	cli_send(fd, "status\n");
	close(fd);	/* gone before its reply */
	request(fx, mon, rx, "monitor\n");
	assert_true(rx->len > 0);
	assert_true(control_monitoring(fx->c));
	close(mon);
	pump(fx, 50);
	control_get_stats(fx->c, &st);
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.monitors, 0);
	assert_false(control_monitoring(fx->c));
	free(rx);
}

/* ---- monitors ---- */

static void test_monitor_filters(void **state)
{
	struct fx *fx = *state;
	struct rx *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct flowlog_event e1 = event("vpn", "github.com", 443);
	struct flowlog_event e2 = event(NULL, NULL, 80);
	struct flowlog_event e3 = event("vpn", "api.github.com", 22);
	int fa = cli_connect(fx->path), fb = cli_connect(fx->path), fc = cli_connect(fx->path);
	struct rx *c = calloc(1, sizeof(*c));

	assert_false(control_monitoring(fx->c));
	control_publish(fx->c, &e1);	/* nobody listens: nothing happens */
	control_publish(NULL, &e1);
	assert_string_equal(request(fx, fa, a, "monitor numeric route vpn and not port 22\n"),
			    ".# monitoring decisions matching: route vpn and not port 22\n");
	assert_string_equal(request(fx, fb, b, "monitor json\n"), ".# monitoring all decisions\n");
	assert_string_equal(request(fx, fc, c, "monitor host\n"),
			    ".error: filter: host needs an address\n");
	assert_true(control_monitoring(fx->c));
	a->len = b->len = 0;
	control_publish(fx->c, &e1);
	control_publish(fx->c, &e2);
	control_publish(fx->c, &e3);
	pump(fx, 30);
	rx_poll(fa, a);
	rx_poll(fb, b);
	assert_int_equal(count_lines(a->buf, ""), 1);
	assert_non_null(strstr(a->buf, " IP 192.0.2.2.40000 > 198.51.100.10.443: tcp github.com -> "
			       "vpn (mark 0x100, learned)\n"));
	assert_int_equal(count_lines(b->buf, "{\"ts\":"), 3);
	assert_non_null(strstr(b->buf, "\"route\":null"));
	/* a monitor ignores further input and keeps streaming */
	cli_send(fa, "status\n");
	a->len = 0;
	control_publish(fx->c, &e1);
	pump(fx, 30);
	rx_poll(fa, a);
	assert_int_equal(count_lines(a->buf, ""), 1);
	assert_int_equal(fx->fk.status_calls, 0);
	close(fa);
	close(fb);
	close(fc);
	free(a);
	free(b);
	free(c);
}

/*
 * A monitor that never reads: publishing stays fast, lines are dropped and counted, and
 * once it reads again it learns how many it lost, so received + dropped == published.
 */
static size_t count_nl(const char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

static void test_monitor_slow_reader(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx)), *frx = calloc(1, sizeof(*frx));
	struct flowlog_event ev = event("vpn", "github.com", 443);
	int fd = cli_connect(fx->path), fast = cli_connect(fx->path);
	const long total = 20000;
	struct control_stats st;
	long dropped = 0, lines = 0, flines = 0, notes = 0;
	double secs = 0;
	size_t seen;

	request(fx, fd, rx, "monitor\n");
	request(fx, fast, frx, "monitor\n");
	rx->len = 0;
	for (long i = 0; i < total; i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		control_publish(fx->c, &ev);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (i % 20 == 19) {
			pump_once(fx);	/* the daemon's loop turns between packet batches */
			frx->len = 0;
			rx_poll(fast, frx);	/* the other monitor keeps up */
			flines += (long)count_nl(frx->buf, frx->len);
		}
	}
	assert_true(secs < 1.0);	/* 20000 events, one of two monitors stuck */
	control_get_stats(fx->c, &st);
	assert_true(st.lines_dropped > 0);

	/* the slow one reads at last: everything it lost is accounted for */
	seen = 0;
	for (uint64_t quiet = util_now_ms() + 300; util_now_ms() < quiet;) {
		pump_once(fx);
		rx_poll(fd, rx);
		frx->len = 0;
		rx_poll(fast, frx);
		flines += (long)count_nl(frx->buf, frx->len);
		if (rx->len != seen) {
			seen = rx->len;
			quiet = util_now_ms() + 300;
		}
	}
	for (const char *p = rx->buf; *p; p = strchr(p, '\n') + 1) {
		assert_non_null(strchr(p, '\n'));
		if (!strncmp(p, ".# ", 3)) {
			char *end;

			dropped += strtol(p + 3, &end, 10);
			assert_int_equal(strncmp(end, " lines dropped\n", 15), 0);
			notes++;
		} else {
			assert_true(p[0] >= '0' && p[0] <= '9');
			lines++;
		}
	}
	assert_true(notes > 0);
	assert_int_equal(lines + dropped, total);
	assert_int_equal(flines, total);
	control_get_stats(fx->c, &st);
	assert_int_equal(st.lines_dropped, (uint64_t)dropped);
	assert_int_equal(st.lines_sent, (uint64_t)(2 * total - dropped));
	close(fd);
	close(fast);
	free(rx);
	free(frx);
}

static void test_stop_tells_monitors(void **state)
{
	struct fx *fx = *state;
	struct rx *rx = calloc(1, sizeof(*rx));
	struct stat st;
	int fd = cli_connect(fx->path);

	request(fx, fd, rx, "monitor\n");
	control_free(fx->c);
	fx->c = NULL;
	rx_poll(fd, rx);
	assert_true(rx->eof);
	assert_non_null(strstr(rx->buf, "\n.error: nfqroute is stopping\n"));
	assert_int_equal(stat(fx->path, &st), -1);
	close(fd);
	free(rx);
	assert_int_equal(fx_start(fx), 0);
}

/* ---- the CLI against the server, in a child process ---- */

struct child {
	pid_t pid;
	char out[160], errf[170];
};

/* Runs ctlclient_run in a child with stdout/stderr in files; the parent pumps the loop. */
static void child_start(struct fx *fx, struct child *ch, const char *req, bool follow,
			int max_lines, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	snprintf(ch->out, sizeof(ch->out), "%s/out.%d", fx->dir, (int)util_now_ms() % 100000);
	snprintf(ch->errf, sizeof(ch->errf), "%s.err", ch->out);
	ch->pid = fork();
	assert_true(ch->pid >= 0);
	if (ch->pid == 0) {
		char err[256] = "";
		FILE *out = fopen(ch->out, "w"), *errf = fopen(ch->errf, "w");
		int ret;

		if (!out || !errf)
			_exit(100);
		fchmod(fileno(out), 0666);
		dup2(fileno(errf), 2);
		if (uid != (uid_t)-1 && (setgroups(ngroups, groups) < 0 || setgid(gid) < 0 ||
					 setuid(uid) < 0))
			_exit(101);
		ret = ctlclient_run(fx->path, req, follow, max_lines, out, err, sizeof(err));
		fprintf(stderr, "ret=%d err=%s\n", ret, err);
		fclose(out);
		fflush(stderr);
		_exit(ret == 0 ? 0 : ret == -EREMOTEIO ? 1 : 2);
	}
}

static int child_wait(struct fx *fx, struct child *ch)
{
	uint64_t end = util_now_ms() + 5000;
	int status = 0;
	pid_t r;

	while ((r = waitpid(ch->pid, &status, WNOHANG)) == 0) {
		if (util_now_ms() > end) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, &status, 0);
			return -1;
		}
		pump_once(fx);
	}
	return r == ch->pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	unlink(path);
	return buf;
}

static void test_ctlclient(void **state)
{
	struct fx *fx = *state;
	struct child ch;

	child_start(fx, &ch, "status", false, 0, (uid_t)-1, 0, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 0);
	assert_string_equal(slurp(ch.out), "routes 2\n.hidden\n\nlast line without newline\n");
	assert_string_equal(slurp(ch.errf), "ret=0 err=\n");

	child_start(fx, &ch, "why unknown.example", false, 0, (uid_t)-1, 0, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 1);
	assert_string_equal(slurp(ch.out), "");
	assert_string_equal(slurp(ch.errf), "ret=-121 err=unknown.example was never seen\n");
}

static void test_ctlclient_monitor_count(void **state)
{
	struct fx *fx = *state;
	struct flowlog_event vpn = event("vpn", "github.com", 443);
	struct flowlog_event other = event(NULL, NULL, 80);
	struct control_stats st;
	struct child ch;
	uint64_t end = util_now_ms() + 3000;

	child_start(fx, &ch, "monitor json route vpn", true, 2, (uid_t)-1, 0, NULL, 0);
	while (!control_monitoring(fx->c) && util_now_ms() < end)
		pump_once(fx);
	assert_true(control_monitoring(fx->c));
	for (int i = 0; i < 5; i++) {	/* the child leaves after 2; the rest go nowhere */
		control_publish(fx->c, &other);
		control_publish(fx->c, &vpn);
		pump(fx, 20);
	}
	assert_int_equal(child_wait(fx, &ch), 0);
	assert_int_equal(count_lines(slurp(ch.out), "{\"ts\":"), 2);
	assert_non_null(strstr(slurp(ch.errf), "# monitoring decisions matching: route vpn\n"));
	pump(fx, 30);
	control_get_stats(fx->c, &st);
	assert_int_equal(st.monitors, 0);
}

/* Real SO_PEERCRED decisions: children that drop to nobody with or without the group. */
static void test_peer_credentials(void **state)
{
	struct fx *fx = *state;
	gid_t supp[] = { TEST_GROUP };
	struct child ch;

	if (getuid() != 0)
		skip();
	/* primary group: may read, may not reload */
	child_start(fx, &ch, "status", false, 0, 65534, TEST_GROUP, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 0);
	assert_string_equal(slurp(ch.out), "routes 2\n.hidden\n\nlast line without newline\n");
	slurp(ch.errf);
	child_start(fx, &ch, "reload", false, 0, 65534, TEST_GROUP, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 1);
	assert_string_equal(slurp(ch.errf), "ret=-121 err=permission denied: reload needs root\n");
	slurp(ch.out);
	/* supplementary group */
	child_start(fx, &ch, "why x.example", false, 0, 65534, 65534, supp, 1);
	assert_int_equal(child_wait(fx, &ch), 0);
	assert_string_equal(slurp(ch.out), "x.example: learned from github.com\n");
	slurp(ch.errf);
	/* no group: the file mode already keeps nobody out */
	child_start(fx, &ch, "status", false, 0, 65534, 65534, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 2);
	assert_non_null(strstr(slurp(ch.errf), "Permission denied (are you root or in nfqroute's "
			       "control-group?)"));
	slurp(ch.out);
	/* and when the mode would let them in, the credentials check still does not */
	chmod(fx->path, 0666);
	child_start(fx, &ch, "status", false, 0, 65534, 65534, NULL, 0);
	assert_int_equal(child_wait(fx, &ch), 1);
	assert_string_equal(slurp(ch.errf), "ret=-121 err=permission denied: uid 65534 is neither "
			    "root nor in the control group\n");
	slurp(ch.out);
	assert_int_equal(fx->fk.status_calls, 1);
	assert_int_equal(fx->fk.reload_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_decide),
		cmocka_unit_test(test_groups_parse),
		cmocka_unit_test(test_group_lookup),
		cmocka_unit_test(test_request_join),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test_setup_teardown(test_socket_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_flush_as_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_half_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_clients_and_idle, setup_small,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_vanishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_slow_reader, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_stop_tells_monitors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctlclient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctlclient_monitor_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
