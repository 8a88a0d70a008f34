#ifndef NFQR_WORKER_H
#define NFQR_WORKER_H

#include <stddef.h>

#include "queue.h"

/*
 * A packet thread: waits on one queue and runs queue_process on it until stopped. It
 * never does anything else, so nothing slow (resolver, control socket, disk) can delay a
 * verdict; what its decisions want done elsewhere they leave for the main thread.
 */
struct worker;

/*
 * Starts a thread that serves q with decide(ctx, ...) (q keeps its batch callback, which
 * runs on the thread too). With cpu >= 0 the thread is pinned to that CPU (taken modulo
 * the CPUs this process may use); a failed pin is reported in err but the thread runs.
 * The thread is named "nfqroute-qNUM" (NUM: the queue). Signals stay blocked on it. The caller keeps owning q and must not use it until
 * worker_stop. Returns NULL with a message in err when the thread cannot be created.
 */
struct worker *worker_start(struct queue *q, int cpu, queue_decide_fn decide, void *ctx,
			    char *err, size_t errlen);

/* The CPU the thread was pinned to, or -1. */
int worker_cpu(const struct worker *w);

/*
 * Stops the thread after the batch it is deciding (its verdicts are sent), waits for it
 * and frees the worker, not the queue. The caller must not hold a lock the thread's batch
 * callback waits for. Accepts NULL.
 */
void worker_stop(struct worker *w);

#endif
