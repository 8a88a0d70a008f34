#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "queue.h"

#define QUEUE_BATCH 64			/* packets per wakeup before yielding to the loop */
#define QUEUE_MAXLEN 4096		/* kernel-side queue length */
#define QUEUE_RCVBUF (8 * 1024 * 1024)
#define QUEUE_COPY 0xffff
#define VERDICT_MSG_SIZE 64		/* nlmsghdr + nfgenmsg + verdict + mark attributes */

struct queue {
	struct mnl_socket *nl;
	uint16_t num;
	uint32_t portid;
	struct queue_stats stats;
	char rbuf[QUEUE_COPY + 4096] __attribute__((aligned(8)));
	char vbuf[QUEUE_BATCH * VERDICT_MSG_SIZE] __attribute__((aligned(8)));
};

static int queue_config_send(struct queue *q, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	n = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, q->portid, NULL, NULL);
	return n < 0 ? -errno : 0;
}

static int queue_bind(struct queue *q, bool fail_open)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO | (fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	int ret;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	ret = queue_config_send(q, nlh);
	if (ret)
		return ret;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, QUEUE_COPY);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(QUEUE_MAXLEN));
	/* never NFQA_CFG_F_CONNTRACK: kernels without NETLINK_GLUE_CT reject the whole
	 * message and leave the queue unconfigured */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	return queue_config_send(q, nlh);
}

struct queue *queue_new(uint16_t num, bool fail_open, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	int one = 1, rcvbuf = QUEUE_RCVBUF, ret;

	if (!q) {
		snprintf(err, errlen, "queue %u: out of memory", num);
		return NULL;
	}
	q->num = num;
	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!q->nl || mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* drops are read from the kernel's counters; ENOBUFS would only interrupt us */
	setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	ret = queue_bind(q, fail_open);
	if (ret)
		goto fail;
	return q;
fail:
	snprintf(err, errlen, "binding NFQUEUE %u: %s%s", num, strerror(-ret),
		 ret == -EBUSY ? " (another program holds this queue)" : "");
	if (q->nl)
		mnl_socket_close(q->nl);
	free(q);
	return NULL;
}

void queue_free(struct queue *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!q)
		return;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

uint16_t queue_num(const struct queue *q)
{
	return q->num;
}

void queue_get_stats(const struct queue *q, struct queue_stats *out)
{
	*out = q->stats;
}

/* Extracts a packet from one queue message, validating every attribute it uses. */
static int queue_msg_parse(const struct nlmsghdr *nlh, struct queue_pkt *pkt)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] || !attr[NFQA_PAYLOAD])
		return -EINVAL;
	if (mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return -EINVAL;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	pkt->id = ntohl(ph->packet_id);
	pkt->hook = ph->hook;
	pkt->mark = 0;
	if (attr[NFQA_MARK] && mnl_attr_get_payload_len(attr[NFQA_MARK]) >= 4)
		pkt->mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	pkt->data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	pkt->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	return 0;
}

static void queue_verdict_put(struct queue *q, size_t *off, uint32_t id, uint32_t old_mark,
			      uint32_t new_mark)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(q->vbuf + *off, NFQNL_MSG_VERDICT, q->num);

	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	if (new_mark != old_mark)
		nfq_nlmsg_verdict_put_mark(nlh, new_mark);
	*off += NLMSG_ALIGN(nlh->nlmsg_len);
}

static int queue_flush(struct queue *q, size_t *off)
{
	int ret = 0;

	if (*off > 0 && mnl_socket_sendto(q->nl, q->vbuf, *off) < 0)
		ret = -errno;
	*off = 0;
	return ret;
}

/* Handles every packet message in one datagram; a message that is not a packet is skipped. */
static void queue_datagram(struct queue *q, int len, queue_decide_fn decide, void *ctx,
			   size_t *off, int *handled)
{
	for (const struct nlmsghdr *nlh = (const void *)q->rbuf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		struct queue_pkt pkt;

		if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
			continue;
		if (queue_msg_parse(nlh, &pkt) < 0) {
			q->stats.bad_msgs++;
			continue;
		}
		q->stats.packets++;
		if (*off + VERDICT_MSG_SIZE > sizeof(q->vbuf))
			queue_flush(q, off);
		queue_verdict_put(q, off, pkt.id, pkt.mark, decide(ctx, &pkt));
		(*handled)++;
	}
}

int queue_process(struct queue *q, queue_decide_fn decide, void *ctx)
{
	size_t off = 0;
	int handled = 0;

	while (handled < QUEUE_BATCH) {
		ssize_t n = recv(mnl_socket_get_fd(q->nl), q->rbuf, sizeof(q->rbuf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				q->stats.recv_errors++;
			break;
		}
		queue_datagram(q, (int)n, decide, ctx, &off, &handled);
	}
	if (queue_flush(q, &off) < 0)
		return -errno;
	q->stats.verdicts += (uint64_t)handled;
	return handled;
}
