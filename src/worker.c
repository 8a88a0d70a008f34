/* One thread per queue: epoll on the queue and a stop eventfd, nothing else. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

struct worker {
	pthread_t thread;
	struct queue *q;
	queue_decide_fn decide;
	void *ctx;
	int epfd, stopfd;
	int cpu;
	bool stop;		/* read and written with __atomic */
};

static void worker_report(struct worker *w, int ret)
{
	/* rare and worth knowing, but a broken socket must not flood the journal */
	static __thread uint64_t last_ms;
	uint64_t now = util_now_ms();

	if (now - last_ms < 10000)
		return;
	last_ms = now;
	log_warn("queue %u: sending verdicts: %s", queue_num(w->q), util_strerr(ret));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[2];

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(w->epfd, ev, 2, -1), ret;

		if (n < 0 && errno != EINTR) {
			log_err("queue %u: epoll: %s", queue_num(w->q), strerror(errno));
			break;
		}
		if (n <= 0 || __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			continue;
		ret = queue_process(w->q, w->decide, w->ctx);
		if (ret < 0)
			worker_report(w, ret);
	}
	return NULL;
}

static int worker_watch(struct worker *w)
{
	struct epoll_event qev = { .events = EPOLLIN, .data.u32 = 0 };
	struct epoll_event sev = { .events = EPOLLIN, .data.u32 = 1 };

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stopfd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, queue_fd(w->q), &qev) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &sev) < 0)
		return -errno;
	return 0;
}

static void worker_close(struct worker *w)
{
	if (w->stopfd >= 0)
		close(w->stopfd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}

/* "nfqroute-q3": so `top -H` and /proc/PID/task tell the queues' threads apart */
static void worker_name(struct worker *w)
{
	char name[16];

	snprintf(name, sizeof(name), "nfqroute-q%u", queue_num(w->q));
	pthread_setname_np(w->thread, name);
}

/* The n-th CPU (modulo their count) of the set this process may run on. */
static int worker_cpu_pick(int n)
{
	cpu_set_t set;
	int count, seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || (count = CPU_COUNT(&set)) == 0)
		return -1;
	n %= count;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && seen++ == n)
			return cpu;
	return -1;
}

static void worker_pin(struct worker *w, int n, char *err, size_t errlen)
{
	cpu_set_t set;
	int cpu = worker_cpu_pick(n), ret;

	if (cpu < 0) {
		snprintf(err, errlen, "queue %u: no CPU to pin to", queue_num(w->q));
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ret = pthread_setaffinity_np(w->thread, sizeof(set), &set);
	if (ret)
		snprintf(err, errlen, "queue %u: pinning to CPU %d: %s", queue_num(w->q), cpu,
			 strerror(ret));
	else
		w->cpu = cpu;
}

struct worker *worker_start(struct queue *q, int cpu, queue_decide_fn decide, void *ctx,
			    char *err, size_t errlen)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int ret;

	if (!w) {
		snprintf(err, errlen, "queue %u: out of memory", queue_num(q));
		return NULL;
	}
	*w = (struct worker){ .q = q, .decide = decide, .ctx = ctx, .epfd = -1, .stopfd = -1,
			      .cpu = -1 };
	ret = worker_watch(w);
	if (ret) {
		snprintf(err, errlen, "queue %u: %s", queue_num(q), strerror(-ret));
		worker_close(w);
		return NULL;
	}
	/* the thread inherits this mask: signals are for the main thread's loop */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, errlen, "queue %u: starting its thread: %s", queue_num(q),
			 strerror(ret));
		worker_close(w);
		return NULL;
	}
	if (err && errlen)
		err[0] = '\0';
	worker_name(w);
	if (cpu >= 0)
		worker_pin(w, cpu, err, errlen);
	return w;
}

int worker_cpu(const struct worker *w)
{
	return w->cpu;
}

void worker_stop(struct worker *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
	if (write(w->stopfd, &one, sizeof(one)) < 0)
		log_warn("stopping queue %u: %s", queue_num(w->q), strerror(errno));
	pthread_join(w->thread, NULL);
	worker_close(w);
}
