#ifndef NFQR_LOOP_H
#define NFQR_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A small epoll event loop in the spirit of redis' ae: file descriptors and one-shot
 * timers on CLOCK_MONOTONIC. Queue, netlink, resolver and control sockets all register
 * the same way. Signals are blocked outside epoll_pwait, so a handler that only sets a
 * flag is seen without races.
 */
struct loop;

typedef void (*loop_fd_fn)(void *ctx, int fd, uint32_t events);
typedef void (*loop_timer_fn)(void *ctx);

/* Creates a loop; returns NULL with errno set on failure. */
struct loop *loop_new(void);

/* Frees the loop (not the registered descriptors); accepts NULL. */
void loop_free(struct loop *l);

/* Calls fn(ctx, fd, events) whenever fd is ready for events (EPOLLIN...). 0 or -errno. */
int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *ctx);

/* Stops watching fd. 0 or -errno. */
int loop_fd_del(struct loop *l, int fd);

/*
 * Arms (or re-arms) timer slot id (0 <= id < LOOP_TIMERS) to call fn once at monotonic time
 * at_ms. Returns 0 or -EINVAL.
 */
#define LOOP_TIMERS 10
int loop_timer_set(struct loop *l, unsigned id, uint64_t at_ms, loop_timer_fn fn, void *ctx);

/* Disarms timer slot id. */
void loop_timer_clear(struct loop *l, unsigned id);

/*
 * Calls fn(ctx, true) after each wait and before the first callback of the iteration, and
 * fn(ctx, false) after the last one, so the loop's thread can hold a lock while its
 * callbacks run and not while it waits (NULL: none).
 */
typedef void (*loop_guard_fn)(void *ctx, bool enter);
void loop_set_guard(struct loop *l, loop_guard_fn fn, void *ctx);

/*
 * Runs one iteration: waits (with sigmask applied, so blocked signals are delivered only
 * here) until a descriptor is ready or the next timer is due, then dispatches. Returns 0,
 * or -EINTR when a signal arrived (the caller checks its flags), or another -errno.
 */
int loop_run_once(struct loop *l, const sigset_t *sigmask);

#endif
