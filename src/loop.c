#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "loop.h"
#include "util.h"

#define LOOP_FDS 96	/* queue = 0-63 registers 65 queues until its workers start */
#define LOOP_EVENTS 16

struct loop_fd {
	int fd;
	loop_fd_fn fn;
	void *ctx;
};

struct loop_timer {
	bool armed;
	uint64_t at_ms;
	loop_timer_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	struct loop_fd fds[LOOP_FDS];
	struct loop_timer timers[LOOP_TIMERS];
	loop_guard_fn guard;
	void *guard_ctx;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < LOOP_FDS; i++)
		l->fds[i].fd = -1;
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
	for (size_t i = 0; i < LOOP_FDS; i++) {
		struct epoll_event ev = { .events = events, .data.ptr = &l->fds[i] };

		if (l->fds[i].fd >= 0)
			continue;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		l->fds[i] = (struct loop_fd){ fd, fn, ctx };
		return 0;
	}
	return -ENOSPC;
}

int loop_fd_del(struct loop *l, int fd)
{
	for (size_t i = 0; i < LOOP_FDS; i++) {
		if (l->fds[i].fd != fd)
			continue;
		l->fds[i].fd = -1;
		return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
	}
	return -ENOENT;
}

int loop_timer_set(struct loop *l, unsigned id, uint64_t at_ms, loop_timer_fn fn, void *ctx)
{
	if (id >= LOOP_TIMERS)
		return -EINVAL;
	l->timers[id] = (struct loop_timer){ true, at_ms, fn, ctx };
	return 0;
}

void loop_timer_clear(struct loop *l, unsigned id)
{
	if (id < LOOP_TIMERS)
		l->timers[id].armed = false;
}

/* Milliseconds until the earliest timer, or -1 (wait forever) when none is armed. */
static int loop_timeout(const struct loop *l, uint64_t now)
{
	int64_t best = -1;

	for (size_t i = 0; i < LOOP_TIMERS; i++) {
		int64_t left;

		if (!l->timers[i].armed)
			continue;
		left = l->timers[i].at_ms > now ? (int64_t)(l->timers[i].at_ms - now) : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > 60000 ? 60000 : (int)best;
}

static void loop_fire_timers(struct loop *l)
{
	uint64_t now = util_now_ms();

	for (size_t i = 0; i < LOOP_TIMERS; i++) {
		struct loop_timer *t = &l->timers[i];

		if (t->armed && t->at_ms <= now) {
			t->armed = false;
			t->fn(t->ctx);
		}
	}
}

int loop_run_once(struct loop *l, const sigset_t *sigmask)
{
	struct epoll_event evs[LOOP_EVENTS];
	int n = epoll_pwait(l->epfd, evs, LOOP_EVENTS, loop_timeout(l, util_now_ms()), sigmask);

	if (n < 0)
		return -errno;
	if (l->guard)
		l->guard(l->guard_ctx, true);
	for (int i = 0; i < n; i++) {
		struct loop_fd *f = evs[i].data.ptr;

		/* a callback may have removed this or another descriptor */
		if (f->fd >= 0)
			f->fn(f->ctx, f->fd, evs[i].events);
	}
	loop_fire_timers(l);
	if (l->guard)
		l->guard(l->guard_ctx, false);
	return 0;
}

void loop_set_guard(struct loop *l, loop_guard_fn fn, void *ctx)
{
	l->guard = fn;
	l->guard_ctx = ctx;
}
