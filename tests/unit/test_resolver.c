/*
 * Unit tests for src/resolver.c against a fake DNS server on 127.0.0.1 (a random port,
 * UDP and TCP), answered from the same event loop as the resolver. No root needed; as
 * root (CAP_NET_ADMIN) the SO_MARK checks run in full, else the fail-closed path runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "loop.h"
#include "resolver.h"
#include "util.h"

#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif

#define TICK_SLOT 5
#define GUARD_SLOT 6

/* ---- fake DNS server ---- */

struct fake {
	struct loop *loop;
	int udp, tcp, conn;
	uint16_t port;
	int queries[2];		/* A and AAAA queries seen (UDP and TCP) */
	int tcp_queries;
	bool rcvmark;		/* the kernel reports the marks of received queries */
	int marks_seen;
	uint32_t last_mark;
};

struct msg {
	uint8_t b[1024];
	size_t len;
};

static void put16(struct msg *m, uint16_t v)
{
	m->b[m->len++] = (uint8_t)(v >> 8);
	m->b[m->len++] = (uint8_t)v;
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		m->b[m->len++] = (uint8_t)len;
		memcpy(m->b + m->len, name, len);
		m->len += len;
		name += len + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

/* An answer record; owner is a compression pointer. */
static void put_rr(struct msg *m, uint16_t owner, uint16_t type, uint32_t ttl, const void *rd,
		   size_t rdlen)
{
	put16(m, 0xc000 | owner);
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, (uint16_t)rdlen);
	memcpy(m->b + m->len, rd, rdlen);
	m->len += rdlen;
}

static void put_a(struct msg *m, uint16_t owner, const char *text, uint32_t ttl)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, text, a), 1);
	put_rr(m, owner, 1, ttl, a, 4);
}

static void put_aaaa(struct msg *m, uint16_t owner, const char *text, uint32_t ttl)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
	put_rr(m, owner, 28, ttl, a, 16);
}

/* Builds the reply to q (one question) into r; false: do not answer. */
static bool fake_answer(struct fake *f, const uint8_t *q, size_t qlen, bool tcp, struct msg *r)
{
	char name[256] = "";
	size_t off = 12, n = 0, ancount_at;
	uint16_t qtype, rcode = 0, ancount = 0;
	bool tc = false;

	if (qlen < 17)
		return false;
	while (off < qlen && q[off] && n < 200) {
		size_t l = q[off++];

		if (off + l > qlen)
			return false;
		n += (size_t)snprintf(name + n, sizeof(name) - n, "%s%.*s", n ? "." : "", (int)l,
				      (const char *)q + off);
		off += l;
	}
	if (off + 5 > qlen)
		return false;
	off++;
	qtype = (uint16_t)(q[off] << 8 | q[off + 1]);
	off += 4;
	f->queries[qtype == 28]++;
	if (!strcmp(name, "drop.example"))
		return false;
	r->len = 0;
	memcpy(r->b, q, 2);	/* id */
	r->len = 2;
	put16(r, 0);		/* flags, set below */
	put16(r, 1);
	ancount_at = r->len;
	put16(r, 0);
	put16(r, 0);
	put16(r, 0);
	memcpy(r->b + r->len, q + 12, off - 12);
	r->len += off - 12;
	if (!strcmp(name, "two.example")) {
		if (qtype == 1) {
			put_a(r, 12, "192.0.2.1", 300);
			put_a(r, 12, "192.0.2.2", 120);
			ancount = 2;
		} else {
			put_aaaa(r, 12, "2001:db8::1", 60);
			ancount = 1;
		}
	} else if (!strcmp(name, "v4only.example")) {
		if (qtype == 1) {
			put_a(r, 12, "198.51.100.7", 45);
			ancount = 1;
		}
	} else if (!strcmp(name, "cname.example")) {
		struct msg t = { .len = 0 };
		uint16_t target = (uint16_t)(r->len + 12);

		put_name(&t, "target.example");
		put_rr(r, 12, 5, 30, t.b, t.len);
		ancount = 1;
		if (qtype == 1) {
			put_a(r, target, "203.0.113.5", 300);
			ancount++;
		}
	} else if (!strcmp(name, "tc.example")) {
		if (!tcp) {
			tc = true;
		} else if (qtype == 1) {
			put_a(r, 12, "192.0.2.99", 77);
			ancount = 1;
		}
	} else if (!strcmp(name, "servfail.example")) {
		rcode = 2;
	} else if (name[0] == 'n' && name[1] >= '0' && name[1] <= '9') {
		if (qtype == 1) {
			char a[32];

			snprintf(a, sizeof(a), "10.0.0.%d", atoi(name + 1) % 250 + 1);
			put_a(r, 12, a, 600);
			ancount = 1;
		}
	} else {
		rcode = 3;	/* NXDOMAIN */
	}
	r->b[2] = (uint8_t)(0x81 | (tc ? 0x02 : 0));	/* QR, RD (and TC) */
	r->b[3] = (uint8_t)(0x80 | rcode);		/* RA */
	r->b[ancount_at] = (uint8_t)(ancount >> 8);
	r->b[ancount_at + 1] = (uint8_t)ancount;
	return true;
}

static void fake_on_udp(void *ctx, int fd, uint32_t events)
{
	struct fake *f = ctx;
	uint8_t q[1500];
	char cbuf[CMSG_SPACE(sizeof(uint32_t))];
	struct sockaddr_storage from;
	struct iovec iov = { q, sizeof(q) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct msg r;
	ssize_t n;

	(void)events;
	n = recvmsg(fd, &mh, 0);
	if (n <= 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_MARK) {
			memcpy(&f->last_mark, CMSG_DATA(c), sizeof(f->last_mark));
			f->marks_seen++;
		}
	}
	if (fake_answer(f, q, (size_t)n, false, &r))
		sendto(fd, r.b, r.len, 0, (struct sockaddr *)&from, mh.msg_namelen);
}

static void fake_on_conn(void *ctx, int fd, uint32_t events)
{
	struct fake *f = ctx;
	uint8_t buf[2048];
	ssize_t n = read(fd, buf, sizeof(buf));
	size_t off = 0;

	(void)events;
	if (n <= 0) {
		loop_fd_del(f->loop, fd);
		close(fd);
		f->conn = -1;
		return;
	}
	/* loopback delivers c-ares' small writes whole */
	while (off + 2 <= (size_t)n) {
		size_t len = (size_t)(buf[off] << 8 | buf[off + 1]);
		struct msg r;
		uint8_t out[1026];

		if (off + 2 + len > (size_t)n)
			break;
		f->tcp_queries++;
		if (fake_answer(f, buf + off + 2, len, true, &r)) {
			out[0] = (uint8_t)(r.len >> 8);
			out[1] = (uint8_t)r.len;
			memcpy(out + 2, r.b, r.len);
			assert_int_equal(write(fd, out, r.len + 2), (ssize_t)r.len + 2);
		}
		off += 2 + len;
	}
}

static void fake_on_accept(void *ctx, int fd, uint32_t events)
{
	struct fake *f = ctx;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)events;
	if (c < 0)
		return;
	if (f->conn >= 0) {
		loop_fd_del(f->loop, f->conn);
		close(f->conn);
	}
	f->conn = c;
	assert_int_equal(loop_fd_add(f->loop, c, EPOLLIN, fake_on_conn, f), 0);
}

static void fake_start(struct fake *f, struct loop *loop)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->conn = -1;
	for (int attempt = 0; attempt < 20; attempt++) {
		f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		f->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(f->udp >= 0 && f->tcp >= 0);
		sa.sin_port = 0;
		assert_int_equal(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(f->udp, (struct sockaddr *)&sa, &len), 0);
		setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(f->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(f->udp);	/* the TCP port is taken: another random port */
		close(f->tcp);
		f->udp = f->tcp = -1;
	}
	assert_true(f->udp >= 0);
	assert_int_equal(listen(f->tcp, 4), 0);
	f->port = ntohs(sa.sin_port);
	f->rcvmark = setsockopt(f->udp, SOL_SOCKET, SO_RCVMARK, &one, sizeof(one)) == 0;
	assert_int_equal(loop_fd_add(loop, f->udp, EPOLLIN, fake_on_udp, f), 0);
	assert_int_equal(loop_fd_add(loop, f->tcp, EPOLLIN, fake_on_accept, f), 0);
}

static void fake_stop(struct fake *f)
{
	loop_fd_del(f->loop, f->udp);
	loop_fd_del(f->loop, f->tcp);
	close(f->udp);
	close(f->tcp);
	if (f->conn >= 0) {
		loop_fd_del(f->loop, f->conn);
		close(f->conn);
	}
}

/* ---- fixture ---- */

struct fx {
	struct loop *loop;
	struct fake dns;
	struct resolver *r;
	int ticks;
};

struct result {
	int calls, status;
	size_t n;
	struct resolver_addr addrs[2 * RESOLVER_ADDRS_MAX];
	char name[256];
	struct fx *chain;	/* when set, the callback starts a lookup of "two.example" */
	struct result *next;
};

static bool in_lookup;	/* callbacks must never run inside resolver_lookup */

static void on_result(void *ctx, const char *name, int status, const struct resolver_addr *a,
		      size_t n)
{
	struct result *res = ctx;

	assert_false(in_lookup);
	res->calls++;
	res->status = status;
	res->n = n;
	assert_true(n <= 2 * RESOLVER_ADDRS_MAX);
	memcpy(res->addrs, a, n * sizeof(*a));
	snprintf(res->name, sizeof(res->name), "%s", name);
	if (res->chain)
		assert_int_equal(resolver_lookup(res->chain->r, "two.example", 0, on_result,
						 res->next), 0);
}

static int lookup(struct fx *x, const char *name, uint32_t mark, struct result *res)
{
	int ret;

	in_lookup = true;
	ret = resolver_lookup(x->r, name, mark, on_result, res);
	in_lookup = false;
	return ret;
}

static void on_guard(void *ctx)
{
	(void)ctx;
}

/* One loop iteration that returns by deadline at the latest. */
static void run_once(struct fx *x, uint64_t deadline)
{
	int ret;

	loop_timer_set(x->loop, GUARD_SLOT, deadline, on_guard, NULL);
	ret = loop_run_once(x->loop, NULL);
	assert_true(ret == 0 || ret == -EINTR);
	loop_timer_clear(x->loop, GUARD_SLOT);
}

/* Runs the loop until *calls reaches want or timeout_ms passes; returns the ms taken. */
static uint64_t run_until(struct fx *x, const int *calls, int want, uint64_t timeout_ms)
{
	uint64_t start = util_now_ms();

	while (*calls < want && util_now_ms() - start < timeout_ms)
		run_once(x, start + timeout_ms);
	return util_now_ms() - start;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	char servers[64], err[256];

	if (!x)
		return -1;
	x->loop = loop_new();
	if (!x->loop)
		return -1;
	fake_start(&x->dns, x->loop);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", x->dns.port);
	x->r = resolver_new(x->loop, servers, err, sizeof(err));
	if (!x->r) {
		print_error("%s\n", err);
		return -1;
	}
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	resolver_free(x->r);
	fake_stop(&x->dns);
	loop_free(x->loop);
	free(x);
	return 0;
}

static void expect_addr(const struct resolver_addr *a, int family, const char *text,
			uint32_t ttl)
{
	char buf[64];

	assert_int_equal(a->family, family);
	assert_non_null(inet_ntop(family, a->a, buf, sizeof(buf)));
	assert_string_equal(buf, text);
	assert_int_equal(a->ttl, ttl);
}

/* ---- tests ---- */

static void test_a_aaaa_ttl(void **state)
{
	struct fx *x = *state;
	struct result res = { 0 };
	struct resolver_stats st;

	assert_int_equal(lookup(x, "two.example", 0, &res), 0);
	assert_int_equal(res.calls, 0);
	run_until(x, &res.calls, 1, 5000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.name, "two.example");
	assert_int_equal(res.n, 3);
	expect_addr(&res.addrs[0], AF_INET, "192.0.2.1", 300);
	expect_addr(&res.addrs[1], AF_INET, "192.0.2.2", 120);
	expect_addr(&res.addrs[2], AF_INET6, "2001:db8::1", 60);
	assert_int_equal(x->dns.queries[0], 1);
	assert_int_equal(x->dns.queries[1], 1);
	resolver_get_stats(x->r, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.answered, 1);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.channels, 1);
	assert_true(st.sockets >= 1);
	assert_int_equal(st.marked, 0);		/* mark 0: SO_MARK never touched */
	if (x->dns.rcvmark) {
		assert_true(x->dns.marks_seen >= 2);
		assert_int_equal(x->dns.last_mark, 0);
	}
	/* nothing more arrives later */
	run_until(x, &res.calls, 2, 100);
	assert_int_equal(res.calls, 1);
}

static void test_outcomes(void **state)
{
	struct fx *x = *state;
	struct result v4 = { 0 }, nx = { 0 }, cn = { 0 }, sf = { 0 };
	int total;

	assert_int_equal(lookup(x, "v4only.example", 0, &v4), 0);
	assert_int_equal(lookup(x, "nx.example", 0, &nx), 0);
	assert_int_equal(lookup(x, "cname.example", 0, &cn), 0);
	assert_int_equal(lookup(x, "servfail.example", 0, &sf), 0);
	for (uint64_t start = util_now_ms(); util_now_ms() - start < 5000;) {
		total = v4.calls + nx.calls + cn.calls + sf.calls;
		if (total == 4)
			break;
		run_once(x, start + 5000);
	}
	assert_int_equal(v4.calls, 1);
	assert_int_equal(v4.status, 0);		/* AAAA: no data, still an answer */
	assert_int_equal(v4.n, 1);
	expect_addr(&v4.addrs[0], AF_INET, "198.51.100.7", 45);
	assert_int_equal(nx.calls, 1);
	assert_int_equal(nx.status, -ENOENT);
	assert_int_equal(nx.n, 0);
	assert_int_equal(cn.calls, 1);
	assert_int_equal(cn.status, 0);
	assert_int_equal(cn.n, 1);
	expect_addr(&cn.addrs[0], AF_INET, "203.0.113.5", 30);	/* capped by the CNAME */
	assert_int_equal(sf.calls, 1);
	/* c-ares 1.18 tries the next server and then reports its initial ECONNREFUSED */
	assert_true(sf.status == -EIO || sf.status == -ECONNREFUSED);
}

/* A truncated UDP answer is retried over TCP, which is driven by the loop as well. */
static void test_tcp_fallback(void **state)
{
	struct fx *x = *state;
	struct result res = { 0 };

	assert_int_equal(lookup(x, "tc.example", 0, &res), 0);
	run_until(x, &res.calls, 1, 5000);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.n, 1);
	expect_addr(&res.addrs[0], AF_INET, "192.0.2.99", 77);
	assert_true(x->dns.tcp_queries >= 1);
}

static void on_tick(void *ctx)
{
	struct fx *x = ctx;

	x->ticks++;
	loop_timer_set(x->loop, TICK_SLOT, util_now_ms() + 10, on_tick, x);
}

/* A dead server: the callback gets -ETIMEDOUT, and the loop keeps running meanwhile. */
static void test_timeout(void **state)
{
	struct fx *x = *state;
	struct result res = { 0 };
	char servers[64], err[256];
	uint64_t took;

	resolver_free(x->r);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", x->dns.port);
	x->r = resolver_new(x->loop, servers, err, sizeof(err));
	assert_non_null(x->r);
	assert_int_equal(resolver_set_timeout(x->r, 0, 1), -EINVAL);
	assert_int_equal(resolver_set_timeout(x->r, 200, 0), -EINVAL);
	assert_int_equal(resolver_set_timeout(x->r, 200, 1), 0);
	on_tick(x);
	x->ticks = 0;
	assert_int_equal(lookup(x, "drop.example", 0, &res), 0);
	took = run_until(x, &res.calls, 1, 5000);
	loop_timer_clear(x->loop, TICK_SLOT);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.status, -ETIMEDOUT);
	assert_true(took >= 150 && took < 3000);
	/* the loop was never blocked (a blocked one ticks once at most; a loaded machine may
	 * let fewer than the 20 ticks of 200 ms pass) */
	assert_true(x->ticks >= 2);
	assert_true(x->dns.queries[0] >= 1);
}

/* resolver_free cancels what is pending: every callback once, with -ECANCELED. */
static void test_free_cancels(void **state)
{
	struct fx *x = *state;
	struct result res[3] = { { 0 } };
	struct resolver_stats st;

	for (int i = 0; i < 3; i++)
		assert_int_equal(lookup(x, "drop.example", 0, &res[i]), 0);
	run_until(x, &res[0].calls, 1, 50);
	resolver_get_stats(x->r, &st);
	assert_int_equal(st.pending, 3);
	resolver_free(x->r);
	x->r = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].status, -ECANCELED);
	}
	/* the loop holds nothing of the resolver any more */
	run_until(x, &res[0].calls, 2, 50);
	assert_int_equal(res[0].calls, 1);
}

/* A callback may start the next lookup; many lookups run at once. */
static void test_chain_and_many(void **state)
{
	struct fx *x = *state;
	struct result second = { 0 }, first = { .chain = x, .next = &second };
	struct result many[40];
	char name[32];
	int done;

	memset(many, 0, sizeof(many));
	first.chain = x;
	assert_int_equal(lookup(x, "v4only.example", 0, &first), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		assert_int_equal(lookup(x, name, 0, &many[i]), 0);
	}
	for (uint64_t start = util_now_ms(); util_now_ms() - start < 5000;) {
		done = second.calls;
		for (int i = 0; i < 40; i++)
			done += many[i].calls;
		if (done == 41)
			break;
		run_once(x, start + 5000);
	}
	assert_int_equal(first.calls, 1);
	assert_int_equal(second.calls, 1);
	assert_int_equal(second.n, 3);
	for (int i = 0; i < 40; i++) {
		char want[32];

		assert_int_equal(many[i].calls, 1);
		assert_int_equal(many[i].status, 0);
		assert_int_equal(many[i].n, 1);
		snprintf(want, sizeof(want), "10.0.0.%d", i % 250 + 1);
		expect_addr(&many[i].addrs[0], AF_INET, want, 600);
	}
}

static bool can_mark(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint32_t mark = 0x1234;
	bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * Lookups with a mark: with CAP_NET_ADMIN the UDP and TCP sockets carry it (read back,
 * and seen by the server when the kernel reports received marks); without, nothing is
 * sent at all and the lookup fails with -EPERM.
 */
static void test_mark(void **state)
{
	struct fx *x = *state;
	struct result res = { 0 }, tc = { 0 }, plain = { 0 };
	struct resolver_stats st;

	assert_int_equal(lookup(x, "two.example", 0x1234, &res), 0);
	run_until(x, &res.calls, 1, 5000);
	assert_int_equal(res.calls, 1);
	resolver_get_stats(x->r, &st);
	assert_int_equal(st.channels, 1);
	if (!can_mark()) {
		print_message("no CAP_NET_ADMIN: checking that marked lookups fail closed\n");
		assert_int_equal(res.status, -EPERM);
		assert_true(st.mark_errors >= 1);
		assert_int_equal(st.marked, 0);
		assert_int_equal(x->dns.queries[0] + x->dns.queries[1], 0);
		return;
	}
	assert_int_equal(res.status, 0);
	assert_int_equal(res.n, 3);
	assert_true(st.marked >= 1);
	assert_int_equal(st.mark_errors, 0);
	if (x->dns.rcvmark)
		assert_int_equal(x->dns.last_mark, 0x1234);
	else
		print_message("kernel without SO_RCVMARK: server-side mark check skipped\n");
	/* TCP sockets are marked as well */
	assert_int_equal(lookup(x, "tc.example", 0x1234, &tc), 0);
	run_until(x, &tc.calls, 1, 5000);
	assert_int_equal(tc.status, 0);
	resolver_get_stats(x->r, &st);
	assert_true(st.marked >= 2);
	/* another mark is another channel; mark 0 stays unmarked */
	assert_int_equal(lookup(x, "v4only.example", 0, &plain), 0);
	run_until(x, &plain.calls, 1, 5000);
	assert_int_equal(plain.status, 0);
	resolver_get_stats(x->r, &st);
	assert_int_equal(st.channels, 2);
	if (x->dns.rcvmark)
		assert_int_equal(x->dns.last_mark, 0);
}

/* Servers per mark: the default list is dead, the override for mark 0 answers. */
static void test_mark_servers(void **state)
{
	struct fx *x = *state;
	struct result res = { 0 }, again = { 0 };
	char servers[64], err[256];

	resolver_free(x->r);
	x->r = resolver_new(x->loop, "127.0.0.1:9", err, sizeof(err));	/* discard: silent */
	assert_non_null(x->r);
	assert_int_equal(resolver_set_timeout(x->r, 200, 1), 0);
	assert_int_equal(resolver_set_mark_servers(x->r, 0, "bogus", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(resolver_set_mark_servers(x->r, 0, " ", err, sizeof(err)), -EINVAL);
	assert_int_equal(resolver_set_mark_servers(x->r, 0, "127.0.0.1:1", err, sizeof(err)), 0);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", x->dns.port);
	assert_int_equal(resolver_set_mark_servers(x->r, 0, servers, err, sizeof(err)), 0);
	assert_int_equal(lookup(x, "two.example", 0, &res), 0);
	run_until(x, &res.calls, 1, 5000);
	assert_int_equal(res.status, 0);
	assert_int_equal(res.n, 3);
	assert_int_equal(resolver_set_mark_servers(x->r, 0, servers, err, sizeof(err)), -EBUSY);
	/* another mark asks the (dead) default: as root a timeout, else SO_MARK is refused */
	assert_int_equal(lookup(x, "two.example", 0x55, &again), 0);
	run_until(x, &again.calls, 1, 5000);
	assert_int_equal(again.calls, 1);
	assert_true(again.status == -ETIMEDOUT || again.status == -EPERM ||
		    again.status == -ECONNREFUSED);
}

static void test_config(void **state)
{
	struct fx *x = *state;
	struct resolver *r;
	char err[256], big[300];

	err[0] = '\0';
	assert_null(resolver_new(x->loop, "not-an-address", err, sizeof(err)));
	assert_non_null(strstr(err, "not-an-address"));
	assert_null(resolver_new(x->loop, "", err, sizeof(err)));
	r = resolver_new(x->loop, "127.0.0.1:53,[::1]:5353,192.0.2.1", err, sizeof(err));
	assert_non_null(r);
	resolver_free(r);
	/* /etc/resolv.conf (c-ares falls back to 127.0.0.1 without one) */
	r = resolver_new(x->loop, NULL, err, sizeof(err));
	assert_non_null(r);
	resolver_free(r);
	resolver_free(NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(resolver_lookup(x->r, big, 0, on_result, NULL), -EINVAL);
	assert_int_equal(resolver_lookup(x->r, "", 0, on_result, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_aaaa_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_and_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
