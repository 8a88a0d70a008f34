/*
 * nfq_min: the smallest useful NFQUEUE consumer, the reference point ("limit of the queue
 * design") that bench/net/run.sh measures nfqroute against. It accepts every queued packet
 * with one mark and does nothing else, batched as well as the netlink interface allows:
 *
 *   - recvmmsg(MSG_WAITFORONE): one syscall returns every pending packet message (up to -b);
 *   - verdicts for the whole batch are concatenated into one datagram, one sendto
 *     (-v concat, default; per-packet verdicts as a router that decides per flow needs), or
 *     one NFQNL_MSG_VERDICT_BATCH for the highest id (-v batch; only possible when every
 *     packet gets the same verdict and mark), or one sendto per packet (-v single);
 *   - copy range -c bytes (default 128: headers are all a new-flow decision needs);
 *   - large receive buffer, NETLINK_NO_ENOBUFS, NFQA_CFG_F_GSO;
 *   - optionally -w NS: spin NS nanoseconds per packet before its verdict, a stand-in for a
 *     consumer's own per-packet work (a reader that is the bottleneck, not the kernel).
 *
 * Runs until SIGTERM/SIGINT, then prints one JSON object with its counters on stdout.
 * Usage: nfq_min [-q QUEUE] [-m MARK] [-b BATCH] [-c COPY] [-l QMAXLEN] [-r RCVBUF]
 *                [-v concat|batch|single] [-R mmsg|loop] [-w NS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define MAX_BATCH 1024
#define VERDICT_SIZE 64

enum vmode { V_CONCAT, V_BATCH, V_SINGLE };

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	unsigned queue, batch, copy, qmaxlen;
	uint32_t mark;
	int rcvbuf;
	enum vmode vmode;
	int use_mmsg;
	long spin_ns;
};

struct counters {
	unsigned long long pkts, recv_calls, send_calls, send_errors, bad, enobufs;
};

static int cfg_send(struct mnl_socket *nl, struct nlmsghdr *nlh, uint32_t portid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL) < 0 ? -errno : 0;
}

static int bind_queue(struct mnl_socket *nl, const struct opts *o, uint32_t portid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, o->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	ret = cfg_send(nl, nlh, portid);
	if (ret)
		return ret;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, o->queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)o->copy);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(o->qmaxlen));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	return cfg_send(nl, nlh, portid);
}

/* The packet id of one queue message, or -1. */
static long long pkt_id(const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return -1;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return -1;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	return ntohl(ph->packet_id);
}

static int usage(void)
{
	fprintf(stderr, "usage: nfq_min [-q QUEUE] [-m MARK] [-b BATCH] [-c COPY] [-l QMAXLEN] "
		"[-r RCVBUF] [-v concat|batch|single] [-R mmsg|loop] [-w NS]\n");
	return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	*o = (struct opts){ .queue = 0, .batch = 256, .copy = 128, .qmaxlen = 4096,
			    .mark = 0x100, .rcvbuf = 8 << 20, .vmode = V_CONCAT, .use_mmsg = 1 };
	while ((ch = getopt(argc, argv, "q:m:b:c:l:r:v:R:w:")) != -1) {
		switch (ch) {
		case 'q': o->queue = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'm': o->mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': o->batch = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': o->copy = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': o->qmaxlen = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'r': o->rcvbuf = (int)strtol(optarg, NULL, 0); break;
		case 'w': o->spin_ns = strtol(optarg, NULL, 0); break;
		case 'v':
			if (!strcmp(optarg, "concat")) o->vmode = V_CONCAT;
			else if (!strcmp(optarg, "batch")) o->vmode = V_BATCH;
			else if (!strcmp(optarg, "single")) o->vmode = V_SINGLE;
			else return -1;
			break;
		case 'R':
			if (!strcmp(optarg, "mmsg")) o->use_mmsg = 1;
			else if (!strcmp(optarg, "loop")) o->use_mmsg = 0;
			else return -1;
			break;
		default: return -1;
		}
	}
	if (o->batch < 1 || o->batch > MAX_BATCH || o->copy < 64 || o->copy > 0xffff ||
	    o->spin_ns < 0 || o->spin_ns > 1000000)
		return -1;
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* -w: burn ns of CPU per packet of the batch */
static void spin(long ns, unsigned n)
{
	long long end;

	if (ns <= 0 || !n)
		return;
	end = now_ns() + (long long)ns * n;
	while (now_ns() < end)
		;
}

static void send_buf(struct mnl_socket *nl, const void *buf, size_t len, struct counters *c)
{
	if (!len)
		return;
	c->send_calls++;
	if (mnl_socket_sendto(nl, buf, len) < 0)
		c->send_errors++;
}

/* Verdicts for the ids in ids[0..n) as configured. */
static void send_verdicts(struct mnl_socket *nl, const struct opts *o, const long long *ids,
			  unsigned n, char *vbuf, struct counters *c)
{
	size_t off = 0;
	long long max = -1;

	for (unsigned i = 0; i < n; i++) {
		struct nlmsghdr *nlh;

		if (o->vmode == V_BATCH) {
			if (ids[i] > max)
				max = ids[i];
			continue;
		}
		nlh = nfq_nlmsg_put(vbuf + off, NFQNL_MSG_VERDICT, o->queue);
		nfq_nlmsg_verdict_put(nlh, (int)ids[i], NF_ACCEPT);
		nfq_nlmsg_verdict_put_mark(nlh, o->mark);
		if (o->vmode == V_SINGLE)
			send_buf(nl, vbuf, nlh->nlmsg_len, c);
		else
			off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	if (o->vmode == V_BATCH && max >= 0) {
		struct nlmsghdr *nlh = nfq_nlmsg_put(vbuf, NFQNL_MSG_VERDICT_BATCH, o->queue);

		nfq_nlmsg_verdict_put(nlh, (int)max, NF_ACCEPT);
		nfq_nlmsg_verdict_put_mark(nlh, o->mark);
		off = nlh->nlmsg_len;
	}
	send_buf(nl, vbuf, off, c);
}

/* Adds the packet ids of one datagram to ids; returns the new count. */
static unsigned collect(const char *buf, int len, long long *ids, unsigned n, unsigned cap,
			struct counters *c)
{
	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		long long id = pkt_id(nlh);

		if (id < 0) {
			c->bad++;
			continue;
		}
		if (n < cap)
			ids[n++] = id;
	}
	return n;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static long long ids[MAX_BATCH * 4];
	static char vbuf[MAX_BATCH * 4 * VERDICT_SIZE];
	struct sigaction sa = { .sa_handler = on_sig };
	struct counters c = { 0 };
	struct mnl_socket *nl;
	struct opts o;
	size_t slot;
	char *rbuf;
	int fd, one = 1, ret;
	uint32_t portid;

	if (parse_opts(argc, argv, &o) < 0)
		return usage();
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: a blocked recvmmsg returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	slot = o.copy + 512;		/* nlmsghdr + nfgenmsg + attributes + payload */
	rbuf = malloc(slot * o.batch);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!rbuf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nfq_min: netlink socket");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	fd = mnl_socket_get_fd(nl);
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &o.rcvbuf, sizeof(o.rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.rcvbuf, sizeof(o.rcvbuf));
	ret = bind_queue(nl, &o, portid);
	if (ret) {
		fprintf(stderr, "nfq_min: binding queue %u: %s\n", o.queue, strerror(-ret));
		return 1;
	}
	fprintf(stderr, "nfq_min: queue %u bound (%s verdicts, %s, batch %u, copy %u, spin %ld ns)\n",
		o.queue, o.vmode == V_CONCAT ? "concatenated" : o.vmode == V_BATCH ?
		"VERDICT_BATCH" : "one sendto per", o.use_mmsg ? "recvmmsg" : "recv loop",
		o.batch, o.copy, o.spin_ns);
	for (unsigned i = 0; i < o.batch; i++) {
		iov[i] = (struct iovec){ rbuf + i * slot, slot };
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (!stop) {
		unsigned n = 0;

		if (o.use_mmsg) {
			int got = recvmmsg(fd, msgs, o.batch, MSG_WAITFORONE, NULL);

			c.recv_calls++;
			if (got < 0) {
				if (errno == ENOBUFS)
					c.enobufs++;
				continue;
			}
			for (int i = 0; i < got; i++)
				n = collect(iov[i].iov_base, (int)msgs[i].msg_len, ids, n,
					    sizeof(ids) / sizeof(ids[0]), &c);
		} else {
			/* one blocking recv, then drain without blocking, like nfqroute does */
			int flags = 0;

			while (n < o.batch) {
				ssize_t got = recv(fd, rbuf, slot, flags);

				c.recv_calls++;
				if (got < 0) {
					if (errno == ENOBUFS)
						c.enobufs++;
					break;
				}
				n = collect(rbuf, (int)got, ids, n, sizeof(ids) / sizeof(ids[0]),
					    &c);
				flags = MSG_DONTWAIT;
			}
		}
		c.pkts += n;
		spin(o.spin_ns, n);
		send_verdicts(nl, &o, ids, n, vbuf, &c);
	}
	printf("{\"verdicts\": %llu, \"recv_calls\": %llu, \"send_calls\": %llu, "
	       "\"send_errors\": %llu, \"bad_msgs\": %llu, \"enobufs\": %llu}\n",
	       c.pkts, c.recv_calls, c.send_calls, c.send_errors, c.bad, c.enobufs);
	fflush(stdout);
	mnl_socket_close(nl);
	free(rbuf);
	return 0;
}
