/*
 * probe: first-packet latency of new flows. Each probe opens a UDP socket on a new source
 * port (SPORT0 + i), connects it to bench destination i % N (PREFIX.(d / 250).(d % 250 + 1),
 * as flowgen), sends one small request and waits for the sink's echo. The time from just
 * before send() to the return of recv() is the sample: it holds the whole first-packet path
 * (conntrack new, the queue round trip when there is one, routing, the sink) and the reply.
 * Probes run one at a time until COUNT probes or SECS seconds, whichever comes first.
 *
 * Prints one JSON object: n, lost (no echo within 200 ms), p50/p90/p99/p999/max/mean in us.
 * Usage: probe -d PREFIX(a.b) -n N [-p PORT] [-c COUNT] [-t SECS] [-P SPORT0]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, unsigned n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: probe -d PREFIX(a.b) -n N [-p PORT] [-c COUNT] [-t SECS] "
		"[-P SPORT0]\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned n_dst = 0, count = 20000, port = 7, sport0 = 20000, pa = 0, pb = 0, n = 0;
	unsigned lost = 0, errs = 0;
	double secs = 5, t_end, sum = 0, *v;
	int ch;

	while ((ch = getopt(argc, argv, "d:n:p:c:t:P:")) != -1) {
		switch (ch) {
		case 'd': if (sscanf(optarg, "%u.%u", &pa, &pb) != 2) return usage(); break;
		case 'n': n_dst = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': port = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': count = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'P': sport0 = (unsigned)strtoul(optarg, NULL, 0); break;
		default: return usage();
		}
	}
	if (!n_dst || n_dst > 250 * 256 || !count || sport0 < 1024 || sport0 + count > 65535)
		return usage();
	v = calloc(count, sizeof(*v));
	if (!v)
		return 1;
	t_end = now_us() + secs * 1e6;
	for (unsigned i = 0; i < count && now_us() < t_end; i++) {
		unsigned d = i % n_dst;
		struct sockaddr_in src = { .sin_family = AF_INET,
					   .sin_port = htons((uint16_t)(sport0 + i)) };
		struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		struct pollfd pfd;
		char req[32] = "probe", rep[64];
		double t0, t1;
		int fd, one = 1;

		dst.sin_addr.s_addr = htonl((pa << 24) | (pb << 16) | ((d / 250) << 8) |
					    (d % 250 + 1));
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			errs++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
		    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			errs++;
			close(fd);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		t0 = now_us();
		if (send(fd, req, sizeof(req), 0) < 0) {
			errs++;
			close(fd);
			continue;
		}
		if (poll(&pfd, 1, 200) == 1 && recv(fd, rep, sizeof(rep), 0) > 0) {
			t1 = now_us();
			v[n++] = t1 - t0;
			sum += t1 - t0;
		} else {
			lost++;
		}
		close(fd);
	}
	qsort(v, n, sizeof(*v), cmp_d);
	printf("{\"n\": %u, \"lost\": %u, \"errors\": %u, \"p50_us\": %.1f, \"p90_us\": %.1f, "
	       "\"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f}\n",
	       n, lost, errs, pct(v, n, 0.5), pct(v, n, 0.9), pct(v, n, 0.99), pct(v, n, 0.999),
	       n ? v[n - 1] : 0, n ? sum / n : 0);
	free(v);
	return 0;
}
