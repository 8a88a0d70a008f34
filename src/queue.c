/*
 * The NFQUEUE socket(s): receive a batch, decide, send the batch's verdicts.
 *
 * Per wakeup and queue: one recvmmsg into `batch` slots (each the copy range plus room for
 * the netlink and attribute headers, so no message is cut), decide every packet, then one
 * sendto with every verdict in packet-id order. No allocation and no per-packet syscall.
 *
 * Verdict batches. NFQNL_MSG_VERDICT_BATCH with id M gives its verdict (and mark, when it
 * carries NFQA_MARK) to every packet of the queue that is still waiting and has an id up to
 * M (compared modulo 2^32): the kernel walks its list, which is in id order, from the head
 * and stops at the first id after M. It is correct for a run of our packets only if no other
 * packet with a smaller id is still waiting. Why that holds here:
 *   - the kernel assigns ids in order, under the queue lock, and unicasts each packet to our
 *     socket in that order, so the socket delivers ids in increasing order; a packet that
 *     did not fit in the socket buffer (user_dropped) or the queue (queue_dropped) is not
 *     in the kernel's list at all, nor is one the kernel dropped itself (its device went
 *     down), so gaps in the ids are harmless;
 *   - every packet received gets a verdict in the same queue_process call: decide is
 *     synchronous, and packets we cannot decide still get one (the fail-mode verdict);
 *   - the messages of one sendto are processed in order, so when the batch for a run is
 *     reached, every earlier packet of this wakeup has been released by an earlier message,
 *     and every packet of earlier wakeups by an earlier sendto. A sendto to the kernel is
 *     all or nothing (it fails before any message is read); a message the kernel refuses
 *     comes back as an error ack, counted in nl_errors.
 * So at the boundary of a run, the packets waiting with ids up to its last id are exactly
 * the run. Two things break the second point, and the queue is then "stale" (packets with
 * unknown ids wait without a verdict): a packet message whose id cannot be read, and a
 * failed sendto (nothing of it was applied). A stale queue does not coalesce (a run's
 * batch would catch the stale packets with the run's mark); its next send ends with a
 * sweep: a batch up to the highest id of that send, after all of its individual verdicts,
 * which can only catch the stale packets and gives them the fail-mode verdict (accept
 * unchanged when fail-open, drop when fail-closed: what the kernel does with packets that
 * find no reader), like the packets we receive but cannot look at. An unreadable message
 * after the last packet of a send has a higher id than the sweep's: the queue stays stale.
 *
 * DNS replies on their own queue (dns_split): a second socket with its own buffers and
 * kernel queue, so a flood of new flows cannot fill the buffer DNS replies wait in (and
 * the reverse), and the new-flow queue copies only QUEUE_COPY_FLOW bytes. Both sockets sit
 * in an epoll descriptor that queue_fd() returns; the DNS queue is served first.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "queue.h"

#define QUEUE_DEF_BATCH 64
#define QUEUE_DEF_MAXLEN 4096
#define QUEUE_DEF_RCVBUF (8 * 1024 * 1024)
#define QUEUE_COPY_ALL 0xffff
/* nlmsghdr, nfgenmsg and every attribute before the payload (~200 bytes on 6.x with VLAN,
 * timestamp, hw address, interfaces): a message never exceeds copy range + this */
#define QUEUE_MSG_HEADROOM 1024
/* decisions per send: one recvmmsg slot holds one packet message in practice, but a
 * datagram may carry several; more than this is sent in several sendto */
#define QUEUE_DEC_PER_SLOT 2
#define QUEUE_PROC_PATH "/proc/net/netfilter/nfnetlink_queue"

/* One bound queue and everything its packet path uses. */
struct qsock {
	struct mnl_socket *nl;
	int fd;
	uint16_t num;
	uint32_t copy_range;
	bool stale;		/* packets may wait without a verdict: see the top of the file */
	bool stale_tail;	/* ... and one of them came after the last packet decided */
	size_t slot_size;
	char *slots;		/* batch * slot_size */
	struct mmsghdr *mmsg;
	struct iovec *iov;
	size_t dec_cap;
	struct queue_decision *dec;
	struct queue_vmsg *plan;	/* dec_cap + 1 */
	char *vbuf;			/* (dec_cap + 1) * QUEUE_VMSG_SIZE */
};

struct queue {
	struct qsock qs[2];	/* [0] new flows (and DNS replies unless split), [1] DNS replies */
	unsigned n_qs;
	int epfd;		/* both sockets, when split; else -1 */
	uint32_t batch;
	bool coalesce;
	uint8_t fail_verdict;	/* NF_ACCEPT (fail-open) or NF_DROP */
	queue_batch_fn batch_fn;	/* around each batch's decisions, or NULL */
	struct queue_stats stats;
};

/* ---------------------------------------------------------------- pure parts */

/* a after b in the kernel's modulo-2^32 id order (nfq_id_after) */
static bool queue_id_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static bool queue_ids_increasing(const struct queue_decision *d, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (!queue_id_after(d[i].id, d[i - 1].id))
			return false;
	return true;
}

static struct queue_vmsg queue_vmsg_single(const struct queue_decision *d)
{
	return (struct queue_vmsg){ .id = d->id, .mark = d->mark, .verdict = d->verdict,
				    .set_mark = d->mark != d->old_mark };
}

/* The end (exclusive) of the run of equal (verdict, mark) starting at i. */
static size_t queue_run_end(const struct queue_decision *d, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && d[j].verdict == d[i].verdict && d[j].mark == d[i].mark)
		j++;
	return j;
}

size_t queue_verdicts_plan(const struct queue_decision *d, size_t n, unsigned flags,
			   uint8_t sweep_verdict, struct queue_vmsg *out)
{
	bool coalesce = (flags & QUEUE_PLAN_COALESCE) && !(flags & QUEUE_PLAN_SWEEP) &&
			queue_ids_increasing(d, n);
	size_t m = 0;
	uint32_t max;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		size_t end = coalesce ? queue_run_end(d, n, i) : i + 1;

		if (end - i == 1) {
			out[m++] = queue_vmsg_single(&d[i]);
		} else {
			struct queue_vmsg v = { .id = d[end - 1].id, .mark = d[i].mark,
						.verdict = d[i].verdict, .batch = true };

			/* one packet whose mark changes needs the attribute; for the others
			 * setting the mark they already have changes nothing */
			for (size_t k = i; k < end && !v.set_mark; k++)
				v.set_mark = d[k].mark != d[k].old_mark;
			out[m++] = v;
		}
		i = end;
	}
	if (flags & QUEUE_PLAN_SWEEP) {
		max = d[0].id;
		for (size_t i = 1; i < n; i++)
			if (queue_id_after(d[i].id, max))
				max = d[i].id;
		out[m++] = (struct queue_vmsg){ .id = max, .verdict = sweep_verdict,
						.batch = true };
	}
	return m;
}

size_t queue_verdicts_put(uint16_t num, const struct queue_vmsg *v, size_t n, void *buf,
			  size_t size)
{
	size_t off = 0;

	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *nlh;

		if (size - off < QUEUE_VMSG_SIZE)
			return 0;
		nlh = nfq_nlmsg_put((char *)buf + off,
				    v[i].batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, num);
		nfq_nlmsg_verdict_put(nlh, (int)v[i].id, v[i].verdict);
		if (v[i].set_mark)
			nfq_nlmsg_verdict_put_mark(nlh, v[i].mark);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	return off;
}

static uint32_t queue_attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(a), sizeof(v));
	return ntohl(v);
}

enum queue_msg_kind queue_msg_parse(const struct nlmsghdr *nlh, size_t avail,
				    struct queue_pkt *pkt)
{
	const size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	bool have_id = false, have_data = false;
	const char *end;
	size_t len;

	if (avail < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh))
		return QUEUE_MSG_OTHER;
	len = nlh->nlmsg_len < avail ? nlh->nlmsg_len : avail;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		return len >= MNL_NLMSG_HDRLEN + sizeof(*e) && e->error ? QUEUE_MSG_ERROR :
		       QUEUE_MSG_OTHER;
	}
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return QUEUE_MSG_OTHER;
	*pkt = (struct queue_pkt){ 0 };
	if (len < hdr)
		return QUEUE_MSG_NOID;
	/* mnl_attr_ok() bounds each attribute by what is left of len: on a cut message the walk
	 * ends at the cut, and the attributes before it (the packet header comes first) count */
	end = (const char *)nlh + len;
	for (const struct nlattr *a = (const void *)((const char *)nlh + hdr);
	     mnl_attr_ok(a, (int)(end - (const char *)a)); a = mnl_attr_next(a)) {
		switch (mnl_attr_get_type(a)) {
		case NFQA_PACKET_HDR: {
			const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(a);

			if (mnl_attr_get_payload_len(a) < sizeof(*ph))
				return QUEUE_MSG_NOID;
			pkt->id = queue_attr_u32(a);
			pkt->hook = ph->hook;
			have_id = true;
			break;
		}
		case NFQA_MARK:
			if (mnl_attr_get_payload_len(a) >= sizeof(uint32_t))
				pkt->mark = queue_attr_u32(a);
			break;
		case NFQA_PAYLOAD:
			pkt->data = mnl_attr_get_payload(a);
			pkt->len = mnl_attr_get_payload_len(a);
			have_data = true;
			break;
		default:
			break;
		}
	}
	if (!have_id)
		return QUEUE_MSG_NOID;
	if (!have_data || len < nlh->nlmsg_len) {
		pkt->data = NULL;
		pkt->len = 0;
		return QUEUE_MSG_NODATA;
	}
	return QUEUE_MSG_PACKET;
}

/* A decimal field, optionally negative (older kernels print the counters with %d). */
static int queue_kstats_field(const char **p, uint32_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > (neg ? (uint64_t)INT32_MAX + 1 : UINT32_MAX))
			return -EINVAL;
	}
	if (*s && *s != ' ' && *s != '\t' && *s != '\n')
		return -EINVAL;
	*out = neg ? (uint32_t)(0 - v) : (uint32_t)v;
	*p = s;
	return 0;
}

int queue_kstats_parse_line(const char *line, uint16_t *num, struct queue_kstats *out)
{
	uint32_t f[9];
	const char *p = line;

	if (queue_kstats_field(&p, &f[0]) < 0 || f[0] > UINT16_MAX)
		return -EINVAL;
	*num = (uint16_t)f[0];
	for (size_t i = 1; i < 9; i++)
		if (queue_kstats_field(&p, &f[i]) < 0)
			return -EINVAL;
	/* later kernels may append fields; anything but numbers is not this file */
	while (*p && *p != '\n') {
		uint32_t extra;

		if (queue_kstats_field(&p, &extra) < 0) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != '\n')
				return -EINVAL;
		}
	}
	*out = (struct queue_kstats){ .portid = f[1], .queue_total = f[2], .copy_mode = f[3],
				      .copy_range = f[4], .queue_dropped = f[5],
				      .user_dropped = f[6], .id_sequence = f[7] };
	return 0;
}

/* ---------------------------------------------------------------- sockets */

int queue_kernel_stats(uint16_t num, struct queue_kstats *out)
{
	FILE *f = fopen(QUEUE_PROC_PATH, "re");
	char line[256];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint16_t n = UINT16_MAX;
		int r;

		if (!strchr(line, '\n') && !feof(f)) {
			/* longer than any line of this file: not one of its lines, skip it */
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		r = queue_kstats_parse_line(line, &n, out);
		if (n == num && (r == 0 || r == -EINVAL)) {
			ret = r;
			break;
		}
	}
	fclose(f);
	return ret;
}

void queue_opts_default(struct queue_opts *opts, uint16_t num, bool fail_open)
{
	*opts = (struct queue_opts){ .num = num, .fail_open = fail_open,
				     .maxlen = QUEUE_DEF_MAXLEN, .rcvbuf = QUEUE_DEF_RCVBUF,
				     .batch = QUEUE_DEF_BATCH, .coalesce = true };
}

static int queue_config_send(struct qsock *s, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	n = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(s->nl), NULL, NULL);
	return n < 0 ? -errno : 0;
}

static int queue_bind(struct qsock *s, const struct queue_opts *o)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO | (o->fail_open ? NFQA_CFG_F_FAIL_OPEN : 0);
	int ret;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	ret = queue_config_send(s, nlh);
	if (ret)
		return ret;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)s->copy_range);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(o->maxlen));
	/* never NFQA_CFG_F_CONNTRACK: kernels without NETLINK_GLUE_CT reject the whole
	 * message and leave the queue unconfigured */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	return queue_config_send(s, nlh);
}

/* The receive buffer: SO_RCVBUFFORCE needs CAP_NET_ADMIN, SO_RCVBUF stops at rmem_max. */
static uint32_t queue_set_rcvbuf(int fd, uint32_t bytes)
{
	int v = bytes > INT_MAX ? INT_MAX : (int)bytes;
	socklen_t len = sizeof(v);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) < 0 || v < 0)
		return 0;
	return (uint32_t)v;
}

static int qsock_alloc(struct qsock *s, uint32_t batch)
{
	s->slot_size = MNL_ALIGN(s->copy_range + QUEUE_MSG_HEADROOM);
	s->dec_cap = (size_t)batch * QUEUE_DEC_PER_SLOT;
	/* large and touched only as far as messages reach: calloc maps it lazily */
	s->slots = calloc(batch, s->slot_size);
	s->mmsg = calloc(batch, sizeof(*s->mmsg));
	s->iov = calloc(batch, sizeof(*s->iov));
	s->dec = calloc(s->dec_cap, sizeof(*s->dec));
	s->plan = calloc(s->dec_cap + 1, sizeof(*s->plan));
	s->vbuf = calloc(s->dec_cap + 1, QUEUE_VMSG_SIZE);
	if (!s->slots || !s->mmsg || !s->iov || !s->dec || !s->plan || !s->vbuf)
		return -ENOMEM;
	for (uint32_t i = 0; i < batch; i++) {
		s->iov[i] = (struct iovec){ s->slots + i * s->slot_size, s->slot_size };
		s->mmsg[i].msg_hdr = (struct msghdr){ .msg_iov = &s->iov[i], .msg_iovlen = 1 };
	}
	return 0;
}

/* Closing the socket would release the queue too; the unbind says so explicitly. For a
 * queue we did not bind the kernel refuses it (EPERM, ENODEV) and nothing happens. */
static void qsock_close(struct qsock *s)
{
	if (s->nl) {
		char buf[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, s->num);

		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
		mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len);
		mnl_socket_close(s->nl);
	}
	free(s->vbuf);
	free(s->plan);
	free(s->dec);
	free(s->iov);
	free(s->mmsg);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static int qsock_open(struct queue *q, struct qsock *s, uint16_t num, uint32_t copy_range,
		      const struct queue_opts *o)
{
	int one = 1, ret;

	s->num = num;
	s->copy_range = copy_range;
	ret = qsock_alloc(s, q->batch);
	if (ret)
		return ret;
	s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s->nl || mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	s->fd = mnl_socket_get_fd(s->nl);
	/* drops are read from the kernel's counters; ENOBUFS would only interrupt us */
	setsockopt(s->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	q->stats.rcvbuf = queue_set_rcvbuf(s->fd, o->rcvbuf);
	return queue_bind(s, o);
}

static int queue_check_opts(const struct queue_opts *o, char *err, size_t errlen)
{
	if (o->batch < 1 || o->batch > QUEUE_BATCH_MAX) {
		snprintf(err, errlen, "queue batch %u: must be 1-%u", o->batch, QUEUE_BATCH_MAX);
		return -EINVAL;
	}
	if (o->copy_range > QUEUE_COPY_ALL || o->maxlen < 1 || o->rcvbuf < 4096) {
		snprintf(err, errlen, "queue: copy range above %u, length 0 or buffer below 4096",
			 QUEUE_COPY_ALL);
		return -EINVAL;
	}
	if (o->dns_split && o->dns_num == o->num) {
		snprintf(err, errlen, "queue %u: the DNS queue must be another number", o->num);
		return -EINVAL;
	}
	return 0;
}

static int queue_epoll(struct queue *q)
{
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		return -errno;
	for (unsigned i = 0; i < q->n_qs; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->qs[i].fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

struct queue *queue_new_opts(const struct queue_opts *o, char *err, size_t errlen)
{
	struct queue *q;
	uint32_t copy = o->copy_range ? o->copy_range :
			o->dns_split ? QUEUE_COPY_FLOW : QUEUE_COPY_ALL;
	const char *what = "binding NFQUEUE";
	uint16_t num = o->num;
	int ret;

	if (queue_check_opts(o, err, errlen) < 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "queue %u: out of memory", o->num);
		return NULL;
	}
	q->epfd = -1;
	q->batch = o->batch;
	q->coalesce = o->coalesce;
	q->fail_verdict = o->fail_open ? NF_ACCEPT : NF_DROP;
	q->n_qs = 1;
	ret = qsock_open(q, &q->qs[0], o->num, copy, o);
	if (!ret && o->dns_split) {
		q->n_qs = 2;
		num = o->dns_num;
		ret = qsock_open(q, &q->qs[1], o->dns_num, QUEUE_COPY_ALL, o);
		if (!ret) {
			what = "watching NFQUEUE";
			ret = queue_epoll(q);
		}
	}
	if (ret) {
		/* the kernel answers EPERM to a bind of a queue another socket holds */
		snprintf(err, errlen, "%s %u: %s%s", what, num, strerror(-ret),
			 ret == -EBUSY ? " (another program holds this queue)" :
			 ret == -EPERM ? " (another program holds it, or no CAP_NET_ADMIN)" :
			 "");
		queue_free(q);
		return NULL;
	}
	return q;
}

struct queue *queue_new(uint16_t num, bool fail_open, char *err, size_t errlen)
{
	struct queue_opts o;

	queue_opts_default(&o, num, fail_open);
	return queue_new_opts(&o, err, errlen);
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	for (unsigned i = q->n_qs; i-- > 0;)
		qsock_close(&q->qs[i]);
	if (q->epfd >= 0)
		close(q->epfd);
	free(q);
}

int queue_fd(const struct queue *q)
{
	return q->epfd >= 0 ? q->epfd : q->qs[0].fd;
}

void queue_set_batch_fn(struct queue *q, queue_batch_fn fn)
{
	q->batch_fn = fn;
}

uint16_t queue_num(const struct queue *q)
{
	return q->qs[0].num;
}

void queue_get_stats(const struct queue *q, struct queue_stats *out)
{
	/* another thread may read while the packet thread counts (queue_stat_add): each
	 * counter is read whole; the set is not a snapshot of one instant */
	const uint64_t *src = (const uint64_t *)&q->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < offsetof(struct queue_stats, rcvbuf) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->rcvbuf = __atomic_load_n(&q->stats.rcvbuf, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- the packet path */

/* Counters are read by other threads (queue_get_stats): whole-word stores, and only the
 * packet thread writes them, so no read-modify-write needs to be atomic. */
static inline void queue_stat_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

/* Plans and sends the verdicts of dec[0..n): one sendto. */
static int qsock_flush(struct queue *q, struct qsock *s, size_t n)
{
	unsigned flags = (q->coalesce ? QUEUE_PLAN_COALESCE : 0) |
			 (s->stale ? QUEUE_PLAN_SWEEP : 0);
	size_t m, len;

	if (n == 0)
		return 0;
	m = queue_verdicts_plan(s->dec, n, flags, q->fail_verdict, s->plan);
	len = queue_verdicts_put(s->num, s->plan, m, s->vbuf, (s->dec_cap + 1) * QUEUE_VMSG_SIZE);
	queue_stat_add(&q->stats.send_calls, 1);
	if (mnl_socket_sendto(s->nl, s->vbuf, len) < 0) {
		/* nothing of the datagram was applied: these packets wait until the next sweep */
		int ret = -errno;

		queue_stat_add(&q->stats.send_errors, 1);
		s->stale = true;
		return ret;
	}
	queue_stat_add(&q->stats.verdicts, n);
	for (size_t i = 0; i < m; i++) {
		if (!s->plan[i].batch)
			queue_stat_add(&q->stats.verdict_msgs, 1);
		else if (s->stale && i == m - 1)
			queue_stat_add(&q->stats.sweeps, 1);
		else
			queue_stat_add(&q->stats.batch_msgs, 1);
	}
	/* the sweep reached the last id decided; an unreadable message after it has a higher
	 * id and waits for the next sweep */
	s->stale = s->stale_tail;
	return 0;
}

/* One message of a datagram: decide it, or give it the fail-mode verdict, or note it. */
static void qsock_msg(struct queue *q, struct qsock *s, const struct nlmsghdr *nlh,
		      size_t avail, queue_decide_fn decide, void *ctx, size_t *n)
{
	struct queue_pkt pkt;
	struct queue_decision *d = &s->dec[*n];

	switch (queue_msg_parse(nlh, avail, &pkt)) {
	case QUEUE_MSG_PACKET:
		*d = (struct queue_decision){ .id = pkt.id, .old_mark = pkt.mark,
					      .verdict = NF_ACCEPT };
		d->mark = decide(ctx, &pkt, &d->verdict);
		if (d->verdict != NF_ACCEPT) {
			d->verdict = NF_DROP;
			d->mark = pkt.mark;
		}
		break;
	case QUEUE_MSG_NODATA:
		queue_stat_add(&q->stats.bad_msgs, 1);
		queue_stat_add(&q->stats.undecided, 1);
		*d = (struct queue_decision){ .id = pkt.id, .old_mark = pkt.mark, .mark = pkt.mark,
					      .verdict = q->fail_verdict };
		break;
	case QUEUE_MSG_NOID:
		queue_stat_add(&q->stats.bad_msgs, 1);
		s->stale = true;
		s->stale_tail = true;
		return;
	case QUEUE_MSG_ERROR:
		queue_stat_add(&q->stats.nl_errors, 1);
		return;
	case QUEUE_MSG_OTHER:
		return;
	}
	queue_stat_add(&q->stats.packets, 1);
	s->stale_tail = false;
	(*n)++;
}

/* Sends the decisions collected so far; keeps the first error in *ret. */
static void qsock_drain(struct queue *q, struct qsock *s, size_t *n, int *handled, int *ret)
{
	int r = qsock_flush(q, s, *n);

	if (r < 0 && !*ret)
		*ret = r;
	*handled += (int)*n;
	*n = 0;
}

static void queue_batch_mark(const struct queue *q, void *ctx, bool begin)
{
	if (q->batch_fn)
		q->batch_fn(ctx, begin);
}

/* Receives up to a batch on one socket, decides, sends. Returns packets handled or -errno. */
static int qsock_process(struct queue *q, struct qsock *s, queue_decide_fn decide, void *ctx)
{
	int got = recvmmsg(s->fd, s->mmsg, q->batch, MSG_DONTWAIT, NULL);
	size_t n = 0;
	int handled = 0, ret = 0;

	queue_stat_add(&q->stats.recv_calls, 1);
	if (got < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			queue_stat_add(&q->stats.recv_errors, 1);
		return 0;
	}
	if (got > 0)
		queue_batch_mark(q, ctx, true);
	for (int i = 0; i < got; i++) {
		const char *p = s->iov[i].iov_base;
		size_t left = s->mmsg[i].msg_len;	/* copied: a cut message is short */

		while (left >= sizeof(struct nlmsghdr)) {
			const struct nlmsghdr *nlh = (const void *)p;
			size_t step = NLMSG_ALIGN(nlh->nlmsg_len);

			if (n == s->dec_cap) {
				queue_batch_mark(q, ctx, false);
				qsock_drain(q, s, &n, &handled, &ret);
				queue_batch_mark(q, ctx, true);
			}
			qsock_msg(q, s, nlh, left, decide, ctx, &n);
			if (nlh->nlmsg_len < sizeof(*nlh) || step >= left)
				break;
			p += step;
			left -= step;
		}
	}
	if (got > 0)
		queue_batch_mark(q, ctx, false);
	qsock_drain(q, s, &n, &handled, &ret);
	return ret < 0 ? ret : handled;
}

int queue_process(struct queue *q, queue_decide_fn decide, void *ctx)
{
	int total = 0, ret = 0;

	/* the DNS queue first: a reply unblocks a client, and learning it may route the next
	 * flows of this very batch */
	for (unsigned i = q->n_qs; i-- > 0;) {
		int r = qsock_process(q, &q->qs[i], decide, ctx);

		if (r < 0 && !ret)
			ret = r;
		else if (r > 0)
			total += r;
	}
	return ret < 0 ? ret : total;
}
