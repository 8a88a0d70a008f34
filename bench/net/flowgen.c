/*
 * flowgen: new UDP flows as fast as possible (or at a fixed rate), every packet a flow of
 * its own: distinct source ports, destinations rotating over N bench addresses. Packets are
 * built whole and sent through a raw IPPROTO_RAW socket with sendmmsg, so they are locally
 * generated (they traverse the output hook, conntrack and the queue like any application's)
 * while the generator itself costs one syscall per batch and no socket per flow.
 *
 * Destination i (0 <= i < N) is PREFIX.(i / 250).(i % 250 + 1), the same mapping that
 * bench/net/run.sh uses for the DNS records and the nftables set. Flow k goes to
 * destination k % N from source port SPORT0 + (k / N) % (65536 - SPORT0): no 5-tuple repeats
 * within N * (65536 - SPORT0) flows.
 *
 * Prints one JSON object: {"sent": ..., "secs": ..., "send_errors": ..., "cpu_s": ...};
 * send_errors counts packets refused at send time (netfilter dropped them, e.g. a full
 * queue); cpu_s is the generator's own user+system time, which includes the kernel's work
 * on its packets (output hook, conntrack, routing, veth and the sink's receive softirq run
 * in its context) up to the queue, or all of it when there is no queue..
 * Usage: flowgen -s SRC -d PREFIX(a.b) -n N [-p DPORT] [-t SECS] [-r RATE] [-b BATCH]
 *                [-l IPLEN] [-P SPORT0] [-S SNDBUF]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define MAX_BATCH 256

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: flowgen -s SRC -d PREFIX(a.b) -n N [-p DPORT] [-t SECS] "
		"[-r RATE] [-b BATCH] [-l IPLEN] [-P SPORT0] [-S SNDBUF]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static unsigned char pkts[MAX_BATCH][1500];
	static struct sockaddr_in dsts[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	unsigned n_dst = 0, batch = 64, iplen = 64, dport = 9, sport0 = 1024, pa = 0, pb = 0;
	double secs = 5, rate = 0, t0, t_end;
	unsigned long long sent = 0, errors = 0, k = 0;
	struct in_addr src = { 0 };
	struct rusage ru;
	int sndbuf = 32 << 20, fd, ch;

	while ((ch = getopt(argc, argv, "s:d:n:p:t:r:b:l:P:S:")) != -1) {
		switch (ch) {
		case 's': if (inet_pton(AF_INET, optarg, &src) != 1) return usage(); break;
		case 'd': if (sscanf(optarg, "%u.%u", &pa, &pb) != 2) return usage(); break;
		case 'n': n_dst = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': dport = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'b': batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': iplen = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'P': sport0 = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'S': sndbuf = (int)strtol(optarg, NULL, 0); break;
		default: return usage();
		}
	}
	if (!src.s_addr || !n_dst || n_dst > 250 * 256 || pa > 255 || pb > 255 || !batch ||
	    batch > MAX_BATCH || iplen < 28 || iplen > 1500 || sport0 < 1 || sport0 > 65000)
		return usage();
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("flowgen: raw socket");
		return 1;
	}
	/* a large send buffer lets the generator run ahead of a slow queue reader, so the
	 * kernel queue fills and its limit shows up as drops instead of as a stalled sender */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (unsigned i = 0; i < batch; i++) {
		struct iphdr *ip = (struct iphdr *)pkts[i];
		struct udphdr *udp = (struct udphdr *)(ip + 1);

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)iplen);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src.s_addr;
		udp->dest = htons((uint16_t)dport);
		udp->len = htons((uint16_t)(iplen - sizeof(*ip)));
		udp->check = 0;		/* optional for IPv4 */
		memset(udp + 1, 0x5a, iplen - sizeof(*ip) - sizeof(*udp));
		dsts[i].sin_family = AF_INET;
		iov[i] = (struct iovec){ pkts[i], iplen };
		msgs[i].msg_hdr = (struct msghdr){ .msg_name = &dsts[i],
						   .msg_namelen = sizeof(dsts[i]),
						   .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	t0 = now_s();
	t_end = t0 + secs;
	for (;;) {
		double t = now_s();
		int got;

		if (t >= t_end)
			break;
		if (rate > 0) {
			double due = t0 + (double)sent / rate;

			if (due > t) {
				struct timespec d = { (time_t)(due - t),
						      (long)((due - t - (double)(time_t)(due - t)) * 1e9) };

				nanosleep(&d, NULL);
			}
		}
		for (unsigned i = 0; i < batch; i++, k++) {
			struct iphdr *ip = (struct iphdr *)pkts[i];
			struct udphdr *udp = (struct udphdr *)(ip + 1);
			unsigned d = (unsigned)(k % n_dst);
			uint32_t a = (pa << 24) | (pb << 16) | ((d / 250) << 8) | (d % 250 + 1);

			ip->daddr = htonl(a);
			dsts[i].sin_addr.s_addr = ip->daddr;
			udp->source = htons((uint16_t)(sport0 + (k / n_dst) % (65536 - sport0)));
		}
		got = sendmmsg(fd, msgs, batch, 0);
		if (got < 0) {
			errors++;	/* the first message of the batch failed */
			if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN &&
			    errno != EPERM) {
				perror("flowgen: sendmmsg");
				break;
			}
			continue;
		}
		sent += (unsigned)got;
		/* a short count means message [got] failed (EPERM: dropped by netfilter, e.g.
		 * a full queue); it and the unsent rest are skipped, k is already ahead */
		if ((unsigned)got < batch)
			errors++;
	}
	t_end = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"sent\": %llu, \"secs\": %.6f, \"send_errors\": %llu, \"cpu_s\": %.4f}\n", sent,
	       t_end, errors, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	close(fd);
	return 0;
}
