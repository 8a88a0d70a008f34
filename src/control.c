/*
 * The control socket: requests from the CLI, replies written by the daemon's handlers,
 * and monitor streams. All clients sit in an epoll set of our own that takes a single slot
 * of the daemon's loop. Sockets never block; output is buffered per client with a bound,
 * so a reader that stalls costs memory up to that bound and never time on the packet path.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define ACCEPT_BATCH 16
#define EVENT_BATCH 32
#define READ_ROUNDS 8
#define WORDS_MAX 64
#define PEER_GROUPS_START 64
#define PEER_GROUPS_MAX 65536
#define ACCEPT_RETRY_MS 1000
#define REPLY_KEEP 16384		/* reply buffers above this are freed once sent */
#define INPUT_PAUSE (CONTROL_REPLY_MAX / 4)	/* stop reading requests above this backlog */
#define ERR_MAX 256

struct buf {
	char *data;
	size_t off, len, cap;	/* pending bytes are data[off..len) */
};

enum fmt { FMT_TEXT, FMT_NUMERIC, FMT_JSON, FMT_N };

struct client {
	int fd;
	uint32_t interest;	/* epoll events currently registered */
	enum control_access access;
	uid_t uid;
	pid_t pid;
	bool monitor;		/* streaming events; input is discarded */
	bool eof;		/* the peer shut down its side: read no more */
	bool closing;		/* close once the output is sent */
	bool dead;		/* close at the next reap */
	uint8_t fmt;		/* enum fmt, for monitors */
	uint64_t deadline_ms;	/* idle/stall limit; 0 for monitors */
	uint64_t dropped;	/* monitor lines lost since the last notice */
	size_t in_len;
	char in[CONTROL_REQUEST_MAX];
	struct buf out;
	struct flowlog_filter filter;
};

struct control {
	struct loop *loop;
	const struct control_ops *ops;
	void *ctx;
	int lfd, epfd;
	bool registered, accept_paused;
	uint64_t accept_retry_ms;
	unsigned timer_slot, max_clients, n_clients, n_monitors, idle_ms;
	size_t monitor_buf;
	gid_t group;
	char *path;
	bool bound;
	dev_t dev;
	ino_t ino;
	struct client **clients;
	struct control_stats st;
	char listen_tag;	/* its address marks the listening socket in the epoll set */
	int line_len[FMT_N];
	char line[FMT_N][FLOWLOG_LINE_MAX];
};

/* ---- buffers ---- */

static size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static void buf_compact(struct buf *b)
{
	if (!b->off)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/* Makes room for n more bytes without the pending total exceeding max. */
static int buf_reserve(struct buf *b, size_t n, size_t max)
{
	size_t cap;
	char *d;

	if (b->cap - b->len >= n)
		return 0;
	buf_compact(b);
	if (b->cap - b->len >= n)
		return 0;
	if (n > max || b->len > max - n)
		return -ENOBUFS;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > max)
		cap = max;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static int buf_put(struct buf *b, const char *s, size_t n, size_t max)
{
	int ret = buf_reserve(b, n, max);

	if (ret)
		return ret;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

/* Grows the allocation to at least cap bytes, so that puts up to cap never allocate. */
static int buf_grow(struct buf *b, size_t cap)
{
	char *d;

	if (b->cap >= cap)
		return 0;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){ 0 };
}

/* ---- access ---- */

enum control_access control_access_decide(const struct control_peer *peer, gid_t group)
{
	if (peer->uid == 0)
		return CONTROL_ADMIN;
	if (group == CONTROL_NO_GROUP)
		return CONTROL_DENY;
	if (peer->gid == group)
		return CONTROL_READ;
	for (size_t i = 0; i < peer->n_groups; i++)
		if (peer->groups && peer->groups[i] == group)
			return CONTROL_READ;
	return CONTROL_DENY;
}

int control_groups_parse(const char *status, gid_t *out, size_t max)
{
	const char *p = status;
	size_t n = 0;

	while (p && strncmp(p, "Groups:", 7) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return -ENOENT;
	p += 7;
	for (;;) {
		unsigned long v;
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			return (int)n;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v >= (unsigned long)CONTROL_NO_GROUP)
			return -EINVAL;
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\0')
			return -EINVAL;
		if (n == max)
			return -ENOSPC;
		out[n++] = (gid_t)v;
		p = end;
	}
}

int control_group_lookup(const char *name, gid_t *out, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long v;
	int ret;

	*out = CONTROL_NO_GROUP;
	if (!name || !*name)
		return 0;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (isdigit((unsigned char)name[0]) && !*end) {
		if (errno || v >= (unsigned long)CONTROL_NO_GROUP) {
			snprintf(err, errlen, "group %s is out of range", name);
			return -ERANGE;
		}
		*out = (gid_t)v;
		return 0;
	}
	ret = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (ret) {
		snprintf(err, errlen, "looking up group %s: %s", name, strerror(ret));
		return -ret;
	}
	if (!res) {
		snprintf(err, errlen, "no group %s", name);
		return -ENOENT;
	}
	*out = gr.gr_gid;
	return 0;
}

/* Supplementary groups from /proc/PID/status: only for kernels without SO_PEERGROUPS. */
static int peer_groups_proc(pid_t pid, gid_t *out, size_t max)
{
	char path[64], text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	return control_groups_parse(text, out, max);
}

/* The group database's view, when even /proc fails; may consult NSS. */
static int peer_groups_db(uid_t uid, gid_t gid, gid_t *out, size_t max)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = (int)max;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	if (getgrouplist(pw.pw_name, gid, out, &n) < 0)
		return -ENOSPC;
	return n;
}

/* Fills the peer's supplementary groups into *groups (allocated); returns the count. */
static int peer_groups(int fd, const struct ucred *uc, gid_t **groups)
{
	socklen_t len = PEER_GROUPS_START * sizeof(gid_t);
	gid_t *g = malloc(len);
	int n;

	*groups = g;
	if (!g)
		return -ENOMEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno == ERANGE && len <= PEER_GROUPS_MAX * sizeof(gid_t)) {
		g = realloc(g, len);
		if (!g)
			return -ENOMEM;
		*groups = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
			return (int)(len / sizeof(gid_t));
	}
	n = peer_groups_proc(uc->pid, g, len / sizeof(gid_t));
	if (n < 0)
		n = peer_groups_db(uc->uid, uc->gid, g, len / sizeof(gid_t));
	return n;
}

static enum control_access client_access(const struct control *c, struct client *cl)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct control_peer peer = { 0 };
	gid_t *groups = NULL;
	enum control_access acc;
	int n;

	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return CONTROL_DENY;
	cl->uid = uc.uid;
	cl->pid = uc.pid;
	peer = (struct control_peer){ uc.pid, uc.uid, uc.gid, 0, NULL };
	acc = control_access_decide(&peer, c->group);
	if (acc != CONTROL_DENY || c->group == CONTROL_NO_GROUP)
		return acc;
	n = peer_groups(cl->fd, &uc, &groups);
	if (n > 0) {
		peer.n_groups = (size_t)n;
		peer.groups = groups;
		acc = control_access_decide(&peer, c->group);
	}
	free(groups);
	return acc;
}

/* ---- client output ---- */

static size_t reply_max(const struct control *c, const struct client *cl)
{
	return cl->monitor ? c->monitor_buf : CONTROL_REPLY_MAX;
}

static void client_interest(struct control *c, struct client *cl)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!cl->eof && (cl->monitor || buf_pending(&cl->out) < INPUT_PAUSE))
		want |= EPOLLIN;
	if (buf_pending(&cl->out))
		want |= EPOLLOUT;
	if (want == cl->interest)
		return;
	ev = (struct epoll_event){ .events = want, .data.ptr = cl };
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) < 0)
		cl->dead = true;
	else
		cl->interest = want;
}

/* Writes a control line (".", ".error: ...", ".# ..."); control text never has newlines. */
__attribute__((format(printf, 3, 4)))
static void client_ctl_line(struct control *c, struct client *cl, const char *fmt, ...)
{
	char line[ERR_MAX + 16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	/* room for the end line is never refused: a reply that filled the buffer was cut */
	if (buf_put(&cl->out, line, (size_t)n, reply_max(c, cl) + sizeof(line)) < 0)
		cl->dead = true;
}

/* Appends a handler's text as data lines (dot-stuffed); -ENOBUFS when it does not fit. */
static int client_put_data(struct control *c, struct client *cl, const char *data, size_t len)
{
	size_t max = reply_max(c, cl), before = buf_pending(&cl->out);

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if ((data[0] == '.' && buf_put(&cl->out, ".", 1, max) < 0) ||
		    buf_put(&cl->out, data, n, max) < 0 || buf_put(&cl->out, "\n", 1, max) < 0) {
			cl->out.len = cl->out.off + before;
			return -ENOBUFS;
		}
		data += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}

static void monitor_note_dropped(struct control *c, struct client *cl)
{
	client_ctl_line(c, cl, ".# %llu lines dropped", (unsigned long long)cl->dropped);
	cl->dropped = 0;
}

/* Sends what the socket takes now; marks the client dead on a hard error. */
static void client_flush(struct control *c, struct client *cl)
{
	struct buf *b = &cl->out;

	while (!cl->dead) {
		size_t n = buf_pending(b);
		ssize_t w;

		if (n == 0) {
			if (!cl->monitor || !cl->dropped)
				break;
			monitor_note_dropped(c, cl);
			continue;
		}
		w = send(cl->fd, b->data + b->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			break;
		}
		b->off += (size_t)w;
		if (!cl->monitor)
			cl->deadline_ms = util_now_ms() + c->idle_ms;
	}
	if (cl->dead)
		return;
	if (buf_pending(b) == 0) {
		b->off = b->len = 0;
		if (!cl->monitor && b->cap > REPLY_KEEP)
			buf_free(b);
		if (cl->closing) {
			cl->dead = true;
			return;
		}
	}
	client_interest(c, cl);
}

/* ---- requests ---- */

struct reply {
	FILE *f;
	char *data;
	size_t len;
	char err[ERR_MAX];
};

static FILE *reply_open(struct reply *r)
{
	r->data = NULL;
	r->len = 0;
	r->err[0] = '\0';
	r->f = open_memstream(&r->data, &r->len);
	return r->f;
}

static void reply_finish(struct control *c, struct client *cl, struct reply *r, int ret)
{
	if (fclose(r->f) != 0 && !ret) {
		ret = -ENOMEM;
		snprintf(r->err, sizeof(r->err), "out of memory");
	}
	if (r->data && client_put_data(c, cl, r->data, r->len) < 0) {
		ret = -ENOBUFS;
		snprintf(r->err, sizeof(r->err), "reply too large");
	}
	free(r->data);
	if (ret < 0)
		client_ctl_line(c, cl, ".error: %s", r->err[0] ? r->err : util_strerr(ret));
	else
		client_ctl_line(c, cl, ".");
}

static void req_status(struct control *c, struct client *cl, int argc, char **argv)
{
	bool json = argc == 2 && (!strcmp(argv[1], "json") || !strcmp(argv[1], "--json"));
	struct reply r;

	if (argc > 2 || (argc == 2 && !json)) {
		client_ctl_line(c, cl, ".error: usage: status [json]");
		return;
	}
	if (!c->ops->status) {
		client_ctl_line(c, cl, ".error: status is not available");
		return;
	}
	if (!reply_open(&r)) {
		client_ctl_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->status(c->ctx, json, r.f, r.err, sizeof(r.err)));
}

static void req_why(struct control *c, struct client *cl, int argc, char **argv)
{
	struct reply r;

	if (argc != 2) {
		client_ctl_line(c, cl, ".error: usage: why ADDRESS|NAME");
		return;
	}
	if (!c->ops->why) {
		client_ctl_line(c, cl, ".error: why is not available");
		return;
	}
	if (!reply_open(&r)) {
		client_ctl_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->why(c->ctx, argv[1], r.f, r.err, sizeof(r.err)));
}

static void req_reload(struct control *c, struct client *cl, int argc, char **argv)
{
	bool reroute = argc == 2 && (!strcmp(argv[1], "--reroute") || !strcmp(argv[1], "reroute"));
	struct reply r;

	if (argc > 2 || (argc == 2 && !reroute)) {
		client_ctl_line(c, cl, ".error: usage: reload [--reroute]");
		return;
	}
	if (!c->ops->reload) {
		client_ctl_line(c, cl, ".error: reload is not available");
		return;
	}
	if (!reply_open(&r)) {
		client_ctl_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->reload(c->ctx, reroute, r.f, r.err, sizeof(r.err)));
}

static void req_flush(struct control *c, struct client *cl, int argc, char **argv)
{
	struct reply r;

	(void)argv;
	if (argc != 1) {
		client_ctl_line(c, cl, ".error: usage: flush");
		return;
	}
	if (!c->ops->flush) {
		client_ctl_line(c, cl, ".error: flush is not available");
		return;
	}
	if (!reply_open(&r)) {
		client_ctl_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->flush(c->ctx, r.f, r.err, sizeof(r.err)));
}

static void req_help(struct control *c, struct client *cl, int argc, char **argv)
{
	static const char help[] =
		"status [json]                       counters, routes, queue\n"
		"why ADDRESS|NAME                    what decided, or would decide\n"
		"monitor [json] [numeric] [FILTER]   stream decisions (host, net, port, domain,\n"
		"                                    route, proto; and, or, not, parentheses)\n"
		"reload [--reroute]                  re-read the configuration (root)\n"
		"flush                               forget learned addresses (root)\n";

	(void)argc;
	(void)argv;
	if (client_put_data(c, cl, help, sizeof(help) - 1) < 0)
		client_ctl_line(c, cl, ".error: reply too large");
	else
		client_ctl_line(c, cl, ".");
}

static void req_monitor(struct control *c, struct client *cl, int argc, char **argv)
{
	bool json = false, numeric = false;
	char err[ERR_MAX], desc[ERR_MAX] = "";
	size_t dl = 0;
	int i = 1;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "json") || !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "numeric") || !strcmp(argv[i], "-n"))
			numeric = true;
		else
			break;
	}
	if (flowlog_filter_parse(argc - i, argv + i, &cl->filter, err, sizeof(err)) < 0) {
		client_ctl_line(c, cl, ".error: filter: %s", err);
		return;
	}
	/* the whole buffer up front: publishing must never allocate */
	if (buf_grow(&cl->out, c->monitor_buf) < 0) {
		client_ctl_line(c, cl, ".error: out of memory");
		return;
	}
	cl->monitor = true;
	cl->fmt = json ? FMT_JSON : numeric ? FMT_NUMERIC : FMT_TEXT;
	cl->deadline_ms = 0;
	cl->in_len = 0;
	c->n_monitors++;
	for (int k = i; k < argc && dl < sizeof(desc); k++)
		dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl, " %s", argv[k]);
	if (i < argc)
		client_ctl_line(c, cl, ".# monitoring decisions matching:%s", desc);
	else
		client_ctl_line(c, cl, ".# monitoring all decisions");
	log_debug("control: uid %u pid %d monitors%s", (unsigned)cl->uid, (int)cl->pid, desc);
}

static const struct request_kind {
	const char *name;
	enum control_access needs;
	void (*fn)(struct control *c, struct client *cl, int argc, char **argv);
} requests[] = {
	{ "status", CONTROL_READ, req_status },
	{ "why", CONTROL_READ, req_why },
	{ "monitor", CONTROL_READ, req_monitor },
	{ "help", CONTROL_READ, req_help },
	{ "reload", CONTROL_ADMIN, req_reload },
	{ "flush", CONTROL_ADMIN, req_flush },
};

static void client_request(struct control *c, struct client *cl, char *line)
{
	char *argv[WORDS_MAX], *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == WORDS_MAX) {
			client_ctl_line(c, cl, ".error: too many words (at most %d)", WORDS_MAX);
			return;
		}
		argv[argc++] = w;
	}
	if (argc == 0)
		return;
	c->st.requests++;
	if (cl->access == CONTROL_DENY) {
		c->st.refused++;
		client_ctl_line(c, cl, ".error: permission denied: uid %u is neither root nor in "
				"the control group", (unsigned)cl->uid);
		cl->closing = true;
		log_info("control: refused uid %u pid %d", (unsigned)cl->uid, (int)cl->pid);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		if (strcmp(argv[0], requests[i].name) != 0)
			continue;
		if (cl->access < requests[i].needs) {
			c->st.refused++;
			client_ctl_line(c, cl, ".error: permission denied: %s needs root", argv[0]);
			return;
		}
		requests[i].fn(c, cl, argc, argv);
		return;
	}
	client_ctl_line(c, cl, ".error: unknown request '%.40s' (try help)", argv[0]);
}

/* Answers every complete line received, unless the backlog says wait. */
static void client_requests(struct control *c, struct client *cl)
{
	while (!cl->dead && !cl->closing && !cl->monitor &&
	       buf_pending(&cl->out) < INPUT_PAUSE) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t used;

		if (!nl && cl->eof && cl->in_len && cl->in_len < sizeof(cl->in)) {
			/* a last request without newline (printf status | socat) */
			nl = cl->in + cl->in_len;
			cl->in_len++;
		}
		if (!nl) {
			if (cl->in_len == sizeof(cl->in)) {
				client_ctl_line(c, cl, ".error: request too long");
				cl->closing = true;
			}
			break;
		}
		*nl = '\0';
		used = (size_t)(nl - cl->in) + 1;
		client_request(c, cl, cl->in);
		if (cl->monitor)
			break;	/* req_monitor dropped the rest of the input */
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
	}
	if (cl->eof && !cl->monitor && cl->in_len == 0)
		cl->closing = true;
}

static void client_read(struct control *c, struct client *cl)
{
	for (int round = 0; round < READ_ROUNDS && !cl->eof; round++) {
		char sink[1024], *dst = sink;
		size_t room = sizeof(sink);
		ssize_t n;

		if (!cl->monitor && !cl->closing) {
			dst = cl->in + cl->in_len;
			room = sizeof(cl->in) - cl->in_len;
			if (room == 0)
				break;	/* client_requests reports it */
		}
		n = recv(cl->fd, dst, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			break;
		}
		if (n == 0)
			cl->eof = true;
		else if (dst != sink)
			cl->in_len += (size_t)n;
	}
	if (!cl->dead) {
		if (!cl->monitor)
			cl->deadline_ms = util_now_ms() + c->idle_ms;
		client_requests(c, cl);
	}
}

/* ---- connections ---- */

static void client_close(struct control *c, unsigned slot)
{
	struct client *cl = c->clients[slot];

	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->monitor)
		c->n_monitors--;
	c->n_clients--;
	c->clients[slot] = NULL;
	buf_free(&cl->out);
	free(cl);
}

static void control_reap(struct control *c)
{
	for (unsigned i = 0; i < c->max_clients; i++)
		if (c->clients[i] && c->clients[i]->dead)
			client_close(c, i);
}

static void control_on_timer(void *ctx);

static void control_arm_timer(struct control *c)
{
	uint64_t next = c->accept_paused ? c->accept_retry_ms : 0;

	for (unsigned i = 0; i < c->max_clients; i++) {
		const struct client *cl = c->clients[i];

		if (cl && cl->deadline_ms && (!next || cl->deadline_ms < next))
			next = cl->deadline_ms;
	}
	if (next)
		loop_timer_set(c->loop, c->timer_slot, next, control_on_timer, c);
	else
		loop_timer_clear(c->loop, c->timer_slot);
}

static void listen_pause(struct control *c, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = &c->listen_tag };

	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->lfd, &ev) == 0)
		c->accept_paused = pause;
	c->accept_retry_ms = util_now_ms() + ACCEPT_RETRY_MS;
}

static void control_on_timer(void *ctx)
{
	static const char timeout[] = ".error: timeout\n";
	struct control *c = ctx;
	uint64_t now = util_now_ms();

	for (unsigned i = 0; i < c->max_clients; i++) {
		struct client *cl = c->clients[i];

		if (!cl || !cl->deadline_ms || cl->deadline_ms > now)
			continue;
		log_debug("control: uid %u pid %d idle or not reading, dropped", (unsigned)cl->uid,
			  (int)cl->pid);
		if (!buf_pending(&cl->out))
			send(cl->fd, timeout, sizeof(timeout) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		cl->dead = true;
	}
	if (c->accept_paused && now >= c->accept_retry_ms)
		listen_pause(c, false);
	control_reap(c);
	control_arm_timer(c);
}

static void client_open(struct control *c, int fd)
{
	static const char busy[] = ".error: too many clients\n";
	struct epoll_event ev = { .events = EPOLLIN };
	struct client *cl = NULL;
	unsigned slot;

	for (slot = 0; slot < c->max_clients && c->clients[slot]; slot++)
		;
	if (slot < c->max_clients)
		cl = calloc(1, sizeof(*cl));
	if (!cl) {
		send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		log_warn("control: %s", slot < c->max_clients ? "out of memory" :
			 "too many clients, connection refused");
		return;
	}
	cl->fd = fd;
	cl->uid = (uid_t)-1;
	cl->access = client_access(c, cl);
	cl->interest = EPOLLIN;
	cl->deadline_ms = util_now_ms() + c->idle_ms;
	ev.data.ptr = cl;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(cl);
		return;
	}
	c->clients[slot] = cl;
	c->n_clients++;
	log_debug("control: uid %u pid %d connected (%s)", (unsigned)cl->uid, (int)cl->pid,
		  cl->access == CONTROL_ADMIN ? "admin" : cl->access == CONTROL_READ ? "read" :
		  "denied");
}

static void control_accept(struct control *c)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			client_open(c, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* level-triggered: retrying at once would spin until a descriptor frees */
			log_warn("control: accept: %s, pausing", strerror(errno));
			listen_pause(c, true);
		}
		return;
	}
}

static void control_on_ready(void *ctx, int fd, uint32_t events)
{
	struct control *c = ctx;
	struct epoll_event evs[EVENT_BATCH];
	int n;

	(void)fd;
	(void)events;
	n = epoll_wait(c->epfd, evs, EVENT_BATCH, 0);
	for (int i = 0; i < n; i++) {
		struct client *cl = evs[i].data.ptr;
		uint32_t ev = evs[i].events;

		if (evs[i].data.ptr == &c->listen_tag) {
			control_accept(c);
			continue;
		}
		/* clients are only freed by control_reap below, so cl is valid */
		if (cl->dead)
			continue;
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_read(c, cl);
		if (ev & (EPOLLHUP | EPOLLERR))
			cl->dead = true;	/* both directions gone: nothing can be delivered */
		else
			client_requests(c, cl);
		client_flush(c, cl);
		if (!cl->dead && !cl->monitor && cl->in_len) {
			/* requests held back while the output was large, now drained */
			client_requests(c, cl);
			client_flush(c, cl);
		}
	}
	control_reap(c);
	control_arm_timer(c);
}

/* ---- publishing ---- */

bool control_monitoring(const struct control *c)
{
	return c && c->n_monitors > 0;
}

static void monitor_queue(struct control *c, struct client *cl, const char *line, size_t len)
{
	struct buf *b = &cl->out;
	bool was_empty = buf_pending(b) == 0;
	size_t room = b->cap - buf_pending(b);
	char note[48];
	int nl = 0;

	if (cl->dropped)
		nl = snprintf(note, sizeof(note), ".# %llu lines dropped\n",
			      (unsigned long long)cl->dropped);
	if (room < (size_t)nl + len + 1) {
		cl->dropped++;
		c->st.lines_dropped++;
		return;
	}
	/* the buffer holds cap bytes since req_monitor: these puts never allocate */
	if (nl) {
		buf_put(b, note, (size_t)nl, b->cap);
		cl->dropped = 0;
	}
	buf_put(b, line, len, b->cap);
	buf_put(b, "\n", 1, b->cap);
	c->st.lines_sent++;
	if (was_empty)
		client_interest(c, cl);
}

static int publish_format(struct control *c, enum fmt f, const struct flowlog_event *ev)
{
	if (c->line_len[f] == -EAGAIN)
		c->line_len[f] = f == FMT_JSON ?
			flowlog_format_json(ev, c->line[f], sizeof(c->line[f])) :
			flowlog_format_text(ev, f == FMT_NUMERIC, c->line[f], sizeof(c->line[f]));
	return c->line_len[f];
}

void control_publish(struct control *c, const struct flowlog_event *ev)
{
	if (!c || !c->n_monitors)
		return;
	for (int f = 0; f < FMT_N; f++)
		c->line_len[f] = -EAGAIN;	/* not formatted yet */
	for (unsigned i = 0; i < c->max_clients; i++) {
		struct client *cl = c->clients[i];
		int len;

		if (!cl || !cl->monitor || cl->dead || !flowlog_filter_match(&cl->filter, ev))
			continue;
		len = publish_format(c, cl->fmt, ev);
		if (len > 0)
			monitor_queue(c, cl, c->line[cl->fmt], (size_t)len);
		else
			c->st.lines_dropped++;	/* cannot happen with FLOWLOG_LINE_MAX */
	}
}

void control_get_stats(const struct control *c, struct control_stats *out)
{
	*out = c->st;
	out->clients = c->n_clients;
	out->monitors = c->n_monitors;
}

/* ---- the listening socket ---- */

/* An existing path: replace a stale socket, refuse a live one or anything else. */
static int control_clear_stale(const char *path, const struct sockaddr_un *sa, char *err,
			       size_t errlen)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	if (ret == 0 || ret == -EAGAIN) {
		snprintf(err, errlen, "%s: another nfqroute is serving it", path);
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED && ret != -ENOENT)
		return ret;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

static void control_mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	util_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0755);	/* an error shows up at bind with the path in the message */
}

static int control_listen(struct control *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t mode = c->group == CONTROL_NO_GROUP ? 0600 : 0660;
	struct stat st;
	int ret;

	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path %s is too long (at most %zu bytes)",
			 c->path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	control_mkdir_parent(c->path);
	ret = control_clear_stale(c->path, &sa, err, errlen);
	if (ret < 0) {
		if (ret != -EEXIST && ret != -EADDRINUSE)
			snprintf(err, errlen, "%s: %s", c->path, util_strerr(ret));
		return ret;
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (stat(c->path, &st) < 0)
		goto fail;
	c->bound = true;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	/* nobody can connect before listen(), so the mode is right before anyone can */
	if (c->group != CONTROL_NO_GROUP && chown(c->path, (uid_t)-1, c->group) < 0)
		goto fail;
	if (chmod(c->path, mode) < 0 || listen(c->lfd, 16) < 0)
		goto fail;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "control socket %s: %s", c->path, strerror(errno));
	return ret;
}

int control_new(const struct control_config *cfg, struct loop *l, const struct control_ops *ops,
		void *ctx, struct control **out, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = -ENOMEM;

	*out = NULL;
	if (!c)
		goto nomem;
	c->loop = l;
	c->ops = ops;
	c->ctx = ctx;
	c->lfd = c->epfd = -1;
	c->group = cfg->group;
	c->timer_slot = cfg->timer_slot;
	c->max_clients = cfg->max_clients ? cfg->max_clients : CONTROL_CLIENTS_MAX;
	c->monitor_buf = cfg->monitor_buf ? cfg->monitor_buf : CONTROL_MONITOR_BUF;
	c->idle_ms = cfg->idle_ms ? cfg->idle_ms : CONTROL_IDLE_MS;
	if (c->timer_slot >= LOOP_TIMERS) {
		snprintf(err, errlen, "control: timer slot %u does not exist", c->timer_slot);
		ret = -EINVAL;
		goto fail;
	}
	c->path = strdup(cfg->path ? cfg->path : CONTROL_DEFAULT_PATH);
	c->clients = calloc(c->max_clients, sizeof(*c->clients));
	if (!c->path || !c->clients)
		goto nomem;
	ret = control_listen(c, err, errlen);
	if (ret < 0)
		goto fail;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = &c->listen_tag;
	if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->lfd, &ev) < 0) {
		ret = -errno;
		snprintf(err, errlen, "control: epoll: %s", strerror(errno));
		goto fail;
	}
	ret = loop_fd_add(l, c->epfd, EPOLLIN, control_on_ready, c);
	if (ret < 0) {
		snprintf(err, errlen, "control: event loop: %s", util_strerr(ret));
		goto fail;
	}
	c->registered = true;
	*out = c;
	return 0;
nomem:
	snprintf(err, errlen, "control: out of memory");
fail:
	control_free(c);
	return ret;
}

void control_free(struct control *c)
{
	struct stat st;

	if (!c)
		return;
	for (unsigned i = 0; c->clients && i < c->max_clients; i++) {
		struct client *cl = c->clients[i];

		if (!cl)
			continue;
		if (cl->monitor) {
			/* best effort: a reader that kept up learns why its stream ends */
			client_ctl_line(c, cl, ".error: nfqroute is stopping");
			cl->closing = true;
			client_flush(c, cl);
		}
		client_close(c, i);
	}
	if (c->registered) {
		loop_fd_del(c->loop, c->epfd);
		loop_timer_clear(c->loop, c->timer_slot);
	}
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->lfd >= 0)
		close(c->lfd);
	/* a newer instance may already own the path: remove only our own socket */
	if (c->bound && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c->clients);
	free(c->path);
	free(c);
}
