/*
 * The control socket: the listening socket, connections and their place on the daemon's
 * loop. All clients sit in an epoll set of our own that takes a single slot of the loop;
 * their I/O is in control_io.c, requests in control_req.c, monitors in control_mon.c and
 * access in control_auth.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control_int.h"
#include "log.h"
#include "util.h"

#define ACCEPT_BATCH 16
#define EVENT_BATCH 32
#define ACCEPT_RETRY_MS 1000

/* ---- connections ---- */

static void client_close(struct control *c, unsigned slot)
{
	struct control_client *cl = c->clients[slot];

	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	if (cl->monitor)
		c->n_monitors--;
	c->n_clients--;
	c->clients[slot] = NULL;
	control_buf_free(&cl->out);
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
		const struct control_client *cl = c->clients[i];

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
		struct control_client *cl = c->clients[i];

		if (!cl || !cl->deadline_ms || cl->deadline_ms > now)
			continue;
		log_debug("control: uid %u pid %d idle or not reading, dropped", (unsigned)cl->uid,
			  (int)cl->pid);
		if (!control_buf_pending(&cl->out))
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
	struct control_client *cl = NULL;
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
	cl->access = control_peer_access(c, cl);
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
		struct control_client *cl = evs[i].data.ptr;
		uint32_t ev = evs[i].events;

		if (evs[i].data.ptr == &c->listen_tag) {
			control_accept(c);
			continue;
		}
		/* clients are only freed by control_reap below, so cl is valid */
		if (cl->dead)
			continue;
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			control_client_read(c, cl);
		if (ev & (EPOLLHUP | EPOLLERR))
			cl->dead = true;	/* both directions gone: nothing can be delivered */
		else
			control_client_requests(c, cl);
		control_client_flush(c, cl);
		if (!cl->dead && !cl->monitor && cl->in_len) {
			/* requests held back while the output was large, now drained */
			control_client_requests(c, cl);
			control_client_flush(c, cl);
		}
	}
	control_reap(c);
	control_arm_timer(c);
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
		struct control_client *cl = c->clients[i];

		if (!cl)
			continue;
		if (cl->monitor) {
			/* best effort: a reader that kept up learns why its stream ends */
			control_client_line(c, cl, ".error: nfqroute is stopping");
			cl->closing = true;
			control_client_flush(c, cl);
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
