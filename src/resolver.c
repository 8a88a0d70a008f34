/*
 * c-ares (1.16+, written against 1.18) on the daemon's loop.
 *
 * A lookup is two ares_query calls (A and AAAA) whose answers are parsed with
 * ares_parse_a_reply/ares_parse_aaaa_reply, which report TTLs already capped by the CNAME
 * chain; ares_query does not apply search domains. c-ares may finish a query from inside
 * ares_query (no server, socket refused); such lookups wait on a done list and are
 * delivered from the timer, so callbacks never run inside resolver_lookup.
 *
 * Sockets: the sock_state callback keeps them in a private epoll set whose descriptor is
 * the one the loop watches; events carry the channel number and the socket. The
 * configure callback (called before connect, so a TCP SYN is marked too) sets SO_MARK;
 * when that fails the socket is refused, so a lookup meant for a tunnel is never sent
 * in the clear. The timer slot is kept at the earliest ares_timeout of all channels.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ares.h>

#include "resolver.h"
#include "util.h"

#define RS_NAME_MAX 253
#define RS_EVENTS 16

struct rs_chan {
	struct resolver *r;
	ares_channel ch;
	uint32_t mark;
	uint32_t num;		/* index in r->chans */
	int mark_err;		/* -errno of the last refused SO_MARK, 0 after a success */
};

struct rs_lookup {
	struct resolver *r;
	struct rs_chan *c;
	struct rs_lookup *next;	/* done list */
	resolver_cb cb;
	void *ctx;
	int left;		/* queries not finished */
	int status[2];		/* ares status of the A and AAAA query */
	size_t n;
	struct resolver_addr addrs[2 * RESOLVER_ADDRS_MAX];
	char name[RS_NAME_MAX + 1];
};

struct rs_override {
	uint32_t mark;
	char *servers;
};

struct resolver {
	struct loop *loop;
	int epfd;
	char *servers;
	struct rs_override *over;	/* servers per mark (resolver_set_mark_servers) */
	size_t n_over;
	unsigned timeout_ms, tries;
	struct rs_chan **chans;
	size_t n_chans;
	struct rs_lookup *done, **done_tail;
	struct resolver_stats st;
	bool freeing;		/* callbacks of cancelled lookups may not start new ones */
};

static void rs_arm(struct resolver *r);

/* ---- sockets ---- */

static void rs_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct rs_chan *c = data;
	struct epoll_event ev = {
		.events = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0),
		.data.u64 = (uint64_t)c->num << 32 | (uint32_t)fd,
	};

	if (!readable && !writable) {
		epoll_ctl(c->r->epfd, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(c->r->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(c->r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int rs_sock_config(ares_socket_t fd, int type, void *data)
{
	struct rs_chan *c = data;
	uint32_t mark = 0;
	socklen_t len = sizeof(mark);

	(void)type;
	c->r->st.sockets++;
	if (!c->mark)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &c->mark, sizeof(c->mark)) < 0) {
		c->mark_err = -errno;
		c->r->st.mark_errors++;
		return -1;
	}
	c->mark_err = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) == 0 && mark == c->mark)
		c->r->st.marked++;
	return 0;
}

static void rs_on_events(void *ctx, int fd, uint32_t events)
{
	struct resolver *r = ctx;
	struct epoll_event evs[RS_EVENTS];
	int n;

	(void)fd;
	(void)events;
	n = epoll_wait(r->epfd, evs, RS_EVENTS, 0);
	for (int i = 0; i < n; i++) {
		uint32_t num = (uint32_t)(evs[i].data.u64 >> 32);
		ares_socket_t s = (ares_socket_t)(uint32_t)evs[i].data.u64;
		bool in = evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP);

		/* a socket closed meanwhile is unknown to the channel, which then ignores it */
		if (num < r->n_chans)
			ares_process_fd(r->chans[num]->ch, in ? s : ARES_SOCKET_BAD,
					evs[i].events & EPOLLOUT ? s : ARES_SOCKET_BAD);
	}
	rs_arm(r);
}

/* ---- channels ---- */

/* A channel configured like every other, asking servers (NULL: resolv.conf); data is the
 * callbacks' context. */
static int rs_channel_init(struct resolver *r, ares_channel *ch, void *data,
			   const char *servers, char *err, size_t errlen)
{
	struct ares_options o = {
		.timeout = (int)r->timeout_ms,
		.tries = (int)r->tries,
		.sock_state_cb = rs_sock_state,
		.sock_state_cb_data = data,
	};
	int optmask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
	int ret = ares_init_options(ch, &o, optmask);

	if (ret != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(ret));
		return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
	}
	if (servers) {
		struct ares_addr_port_node *list = NULL;

		ret = ares_set_servers_ports_csv(*ch, servers);
		if (ret == ARES_SUCCESS)
			ret = ares_get_servers_ports(*ch, &list);
		if (ret == ARES_SUCCESS && !list)
			ret = ARES_ENODATA;
		ares_free_data(list);
		if (ret != ARES_SUCCESS) {
			snprintf(err, errlen, "resolvers: cannot use \"%s\" (%s)", servers,
				 ret == ARES_ENODATA ? "no address" : ares_strerror(ret));
			ares_destroy(*ch);
			return ret == ARES_ENOMEM ? -ENOMEM : -EINVAL;
		}
	}
	return 0;
}

static const char *rs_servers_for(const struct resolver *r, uint32_t mark)
{
	for (size_t i = 0; i < r->n_over; i++)
		if (r->over[i].mark == mark)
			return r->over[i].servers;
	return r->servers;
}

static struct rs_chan *rs_channel(struct resolver *r, uint32_t mark, int *ret)
{
	struct rs_chan *c, **grown;
	char err[128];

	for (size_t i = 0; i < r->n_chans; i++)
		if (r->chans[i]->mark == mark)
			return r->chans[i];
	grown = realloc(r->chans, (r->n_chans + 1) * sizeof(*r->chans));
	c = calloc(1, sizeof(*c));
	if (grown)
		r->chans = grown;
	if (!grown || !c) {
		free(c);
		*ret = -ENOMEM;
		return NULL;
	}
	*c = (struct rs_chan){ .r = r, .mark = mark, .num = (uint32_t)r->n_chans };
	*ret = rs_channel_init(r, &c->ch, c, rs_servers_for(r, mark), err, sizeof(err));
	if (*ret) {
		free(c);
		return NULL;
	}
	ares_set_socket_configure_callback(c->ch, rs_sock_config, c);
	r->chans[r->n_chans++] = c;
	return c;
}

/* ---- lookups ---- */

static int rs_errno(const struct rs_lookup *lk, int status)
{
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		return 0;
	case ARES_ENOTFOUND:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		return -ECANCELED;
	case ARES_ECONNREFUSED:
		return lk->c->mark_err ? lk->c->mark_err : -ECONNREFUSED;
	case ARES_ENOMEM:
		return -ENOMEM;
	case ARES_EBADNAME:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Either family answering is an answer; else NXDOMAIN says most, then the A error. */
static int rs_result(const struct rs_lookup *lk)
{
	int a = rs_errno(lk, lk->status[0]), aaaa = rs_errno(lk, lk->status[1]);

	if (a == 0 || aaaa == 0)
		return 0;
	return aaaa == -ENOENT ? aaaa : a;
}

static void rs_deliver(struct rs_lookup *lk)
{
	struct resolver *r = lk->r;
	int status = rs_result(lk);

	r->st.pending--;
	if (status)
		r->st.failed++;
	else
		r->st.answered++;
	lk->cb(lk->ctx, lk->name, status, lk->addrs, status ? 0 : lk->n);
	free(lk);
}

static void rs_parse(struct rs_lookup *lk, int family, unsigned char *abuf, int alen)
{
	int i = family == AF_INET ? 0 : 1, n = RESOLVER_ADDRS_MAX, ret;
	struct ares_addrttl a4[RESOLVER_ADDRS_MAX];
	struct ares_addr6ttl a6[RESOLVER_ADDRS_MAX];

	if (family == AF_INET)
		ret = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else
		ret = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (ret != ARES_SUCCESS) {
		lk->status[i] = ret;
		return;
	}
	for (int k = 0; k < n && k < RESOLVER_ADDRS_MAX; k++) {
		struct resolver_addr *out = &lk->addrs[lk->n++];
		int ttl = family == AF_INET ? a4[k].ttl : a6[k].ttl;

		memset(out, 0, sizeof(*out));
		out->family = (uint8_t)family;
		if (family == AF_INET)
			memcpy(out->a, &a4[k].ipaddr, 4);
		else
			memcpy(out->a, &a6[k].ip6addr, 16);
		out->ttl = ttl > 0 ? (uint32_t)ttl : 0;
	}
}

static void rs_query_done(struct rs_lookup *lk, int family, int status, unsigned char *abuf,
			  int alen)
{
	lk->status[family == AF_INET ? 0 : 1] = status;
	if (status == ARES_SUCCESS && abuf)
		rs_parse(lk, family, abuf, alen);
	if (--lk->left)
		return;
	if (lk->cb == NULL)
		return;	/* still inside resolver_lookup, which queues it */
	rs_deliver(lk);
}

static void rs_on_a(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	rs_query_done(arg, AF_INET, status, abuf, alen);
}

static void rs_on_aaaa(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	rs_query_done(arg, AF_INET6, status, abuf, alen);
}

/* Delivers the lookups that finished inside resolver_lookup. */
static void rs_flush_done(struct resolver *r)
{
	struct rs_lookup *lk = r->done;

	/* detach first: callbacks may queue new ones, delivered on the next round */
	r->done = NULL;
	r->done_tail = &r->done;
	while (lk) {
		struct rs_lookup *next = lk->next;

		rs_deliver(lk);
		lk = next;
	}
}

static void rs_on_timer(void *ctx)
{
	struct resolver *r = ctx;

	rs_flush_done(r);
	for (size_t i = 0; i < r->n_chans; i++)
		ares_process_fd(r->chans[i]->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rs_arm(r);
}

/* Keeps the timer slot at the earliest c-ares timeout, or now when lookups wait. */
static void rs_arm(struct resolver *r)
{
	uint64_t now = util_now_ms(), at = r->done ? now : UINT64_MAX;

	for (size_t i = 0; i < r->n_chans; i++) {
		struct timeval tv, *tp = ares_timeout(r->chans[i]->ch, NULL, &tv);
		uint64_t t;

		if (!tp)
			continue;
		t = now + (uint64_t)tp->tv_sec * 1000 + ((uint64_t)tp->tv_usec + 999) / 1000;
		at = t < at ? t : at;
	}
	if (at == UINT64_MAX)
		loop_timer_clear(r->loop, RESOLVER_TIMER_SLOT);
	else
		loop_timer_set(r->loop, RESOLVER_TIMER_SLOT, at, rs_on_timer, r);
}

int resolver_lookup(struct resolver *r, const char *name, uint32_t mark, resolver_cb cb,
		    void *ctx)
{
	size_t len = strnlen(name, RS_NAME_MAX + 1);
	struct rs_lookup *lk;
	struct rs_chan *c;
	int ret;

	if (len == 0 || len > RS_NAME_MAX)
		return -EINVAL;
	if (r->freeing)
		return -ECANCELED;
	c = rs_channel(r, mark, &ret);
	if (!c)
		return ret;
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return -ENOMEM;
	lk->r = r;
	lk->c = c;
	lk->left = 2;
	memcpy(lk->name, name, len + 1);
	r->st.lookups++;
	r->st.pending++;
	/* cb stays NULL while the queries start: a query that ends at once is queued */
	ares_query(c->ch, name, ns_c_in, ns_t_a, rs_on_a, lk);
	ares_query(c->ch, name, ns_c_in, ns_t_aaaa, rs_on_aaaa, lk);
	lk->cb = cb;
	lk->ctx = ctx;
	if (lk->left == 0) {
		*r->done_tail = lk;
		r->done_tail = &lk->next;
	}
	rs_arm(r);
	return 0;
}

/* ---- life cycle ---- */

struct resolver *resolver_new(struct loop *loop, const char *servers, char *err,
			      size_t errlen)
{
	struct resolver *r = calloc(1, sizeof(*r));
	ares_channel probe;
	int ret;

	if (!r) {
		snprintf(err, errlen, "resolver: out of memory");
		return NULL;
	}
	r->loop = loop;
	r->epfd = -1;
	r->timeout_ms = RESOLVER_TIMEOUT_MS;
	r->tries = RESOLVER_TRIES;
	r->done_tail = &r->done;
	ret = ares_library_init(ARES_LIB_INIT_ALL);
	if (ret != ARES_SUCCESS) {
		snprintf(err, errlen, "resolver: %s", ares_strerror(ret));
		free(r);
		return NULL;
	}
	/* c-ares takes an empty list as "keep resolv.conf": not what was asked for */
	if (servers && servers[strspn(servers, " \t,")] == '\0') {
		snprintf(err, errlen, "resolvers: empty list");
		goto fail;
	}
	if (servers && !(r->servers = strdup(servers))) {
		snprintf(err, errlen, "resolver: out of memory");
		goto fail;
	}
	if (rs_channel_init(r, &probe, r, r->servers, err, errlen))
		goto fail;
	ares_destroy(probe);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		snprintf(err, errlen, "resolver: epoll: %s", strerror(errno));
		goto fail;
	}
	ret = loop_fd_add(loop, r->epfd, EPOLLIN, rs_on_events, r);
	if (ret) {
		snprintf(err, errlen, "resolver: event loop: %s", util_strerr(ret));
		goto fail;
	}
	return r;
fail:
	if (r->epfd >= 0)
		close(r->epfd);
	free(r->servers);
	free(r);
	ares_library_cleanup();
	return NULL;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->freeing = true;
	rs_flush_done(r);
	/* cancels what is pending: each callback runs with ARES_EDESTRUCTION */
	for (size_t i = 0; i < r->n_chans; i++) {
		ares_destroy(r->chans[i]->ch);
		free(r->chans[i]);
	}
	rs_flush_done(r);
	free(r->chans);
	for (size_t i = 0; i < r->n_over; i++)
		free(r->over[i].servers);
	free(r->over);
	loop_fd_del(r->loop, r->epfd);
	loop_timer_clear(r->loop, RESOLVER_TIMER_SLOT);
	close(r->epfd);
	free(r->servers);
	free(r);
	ares_library_cleanup();
}

int resolver_set_mark_servers(struct resolver *r, uint32_t mark, const char *servers,
			      char *err, size_t errlen)
{
	struct rs_override *grown;
	ares_channel probe;
	char *copy;
	int ret;

	for (size_t i = 0; i < r->n_chans; i++) {
		if (r->chans[i]->mark == mark) {
			snprintf(err, errlen, "resolvers for mark 0x%x: already in use", mark);
			return -EBUSY;
		}
	}
	if (!servers || servers[strspn(servers, " \t,")] == '\0') {
		snprintf(err, errlen, "resolvers for mark 0x%x: empty list", mark);
		return -EINVAL;
	}
	ret = rs_channel_init(r, &probe, r, servers, err, errlen);
	if (ret)
		return ret;
	ares_destroy(probe);
	copy = strdup(servers);
	grown = realloc(r->over, (r->n_over + 1) * sizeof(*r->over));
	if (grown)
		r->over = grown;
	if (!copy || !grown) {
		free(copy);
		snprintf(err, errlen, "resolver: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_over; i++) {
		if (r->over[i].mark == mark) {
			free(r->over[i].servers);
			r->over[i].servers = copy;
			return 0;
		}
	}
	r->over[r->n_over++] = (struct rs_override){ .mark = mark, .servers = copy };
	return 0;
}

int resolver_set_timeout(struct resolver *r, unsigned timeout_ms, unsigned tries)
{
	if (timeout_ms == 0 || timeout_ms > 60000 || tries == 0 || tries > 10)
		return -EINVAL;
	r->timeout_ms = timeout_ms;
	r->tries = tries;
	return 0;
}

void resolver_get_stats(const struct resolver *r, struct resolver_stats *out)
{
	*out = r->st;
	out->channels = r->n_chans;
}
