/*
 * The queue's pure parts: coalescing verdicts into NFQNL_MSG_VERDICT_BATCH runs (checked
 * against a model of the kernel's queue list), the verdict wire format, packet message
 * parsing with cut datagrams, and the /proc/net/netfilter/nfnetlink_queue parser.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <cmocka.h>

#include "queue.h"

#define MAXN 256

static struct queue_decision dec(uint32_t id, uint32_t old_mark, uint32_t mark)
{
	return (struct queue_decision){ .id = id, .old_mark = old_mark, .mark = mark,
					.verdict = NF_ACCEPT };
}

static void assert_vmsg(const struct queue_vmsg *v, bool batch, uint32_t id, uint8_t verdict,
			bool set_mark, uint32_t mark)
{
	assert_int_equal(v->batch, batch);
	assert_int_equal(v->id, id);
	assert_int_equal(v->verdict, verdict);
	assert_int_equal(v->set_mark, set_mark);
	if (set_mark)
		assert_int_equal(v->mark, mark);
}

static void test_plan_one_run(void **state)
{
	struct queue_decision d[4] = { dec(10, 0, 0x100), dec(11, 0, 0x100), dec(12, 0x100, 0x100),
				       dec(13, 0, 0x100) };
	struct queue_vmsg v[5];

	(void)state;
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE, NF_DROP, v), 1);
	assert_vmsg(&v[0], true, 13, NF_ACCEPT, true, 0x100);
	/* nobody's mark changes: a batch without NFQA_MARK */
	for (size_t i = 0; i < 4; i++)
		d[i] = dec(20 + (uint32_t)i, 0x7, 0x7);
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE, NF_DROP, v), 1);
	assert_vmsg(&v[0], true, 23, NF_ACCEPT, false, 0);
	assert_int_equal(queue_verdicts_plan(d, 0, QUEUE_PLAN_COALESCE, NF_DROP, v), 0);
}

static void test_plan_mixed_runs(void **state)
{
	/* a a a b a a c: two batches around single verdicts, in id order */
	struct queue_decision d[7] = { dec(1, 0, 0x100), dec(2, 0, 0x100), dec(3, 0, 0x100),
				       dec(4, 0, 0), dec(5, 0, 0x100), dec(7, 0, 0x100),
				       dec(8, 0, 0x200) };
	struct queue_vmsg v[8];

	(void)state;
	assert_int_equal(queue_verdicts_plan(d, 7, QUEUE_PLAN_COALESCE, NF_DROP, v), 4);
	assert_vmsg(&v[0], true, 3, NF_ACCEPT, true, 0x100);
	assert_vmsg(&v[1], false, 4, NF_ACCEPT, false, 0);
	assert_vmsg(&v[2], true, 7, NF_ACCEPT, true, 0x100);	/* the gap at 6 is harmless */
	assert_vmsg(&v[3], false, 8, NF_ACCEPT, true, 0x200);
	/* the same verdict and mark but another verdict kind splits a run */
	d[1].verdict = NF_DROP;
	assert_int_equal(queue_verdicts_plan(d, 3, QUEUE_PLAN_COALESCE, NF_DROP, v), 3);
	assert_vmsg(&v[1], false, 2, NF_DROP, true, 0x100);
}

static void test_plan_singles(void **state)
{
	struct queue_decision d[4] = { dec(5, 0, 0x100), dec(6, 0, 0x100), dec(7, 0, 0),
				       dec(8, 0, 0x100) };
	struct queue_vmsg v[5];

	(void)state;
	/* coalescing off */
	assert_int_equal(queue_verdicts_plan(d, 4, 0, NF_DROP, v), 4);
	for (size_t i = 0; i < 4; i++)
		assert_false(v[i].batch);
	assert_vmsg(&v[2], false, 7, NF_ACCEPT, false, 0);
	/* ids not increasing: something is off, no batch may be trusted */
	d[1].id = 5;
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE, NF_DROP, v), 4);
	d[1].id = 4;
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE, NF_DROP, v), 4);
}

static void test_plan_wraparound(void **state)
{
	struct queue_decision d[4] = { dec(0xfffffffe, 0, 1), dec(0xffffffff, 0, 1), dec(0, 0, 1),
				       dec(1, 0, 1) };
	struct queue_vmsg v[5];

	(void)state;
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE, NF_DROP, v), 1);
	assert_vmsg(&v[0], true, 1, NF_ACCEPT, true, 1);
	/* the sweep goes up to the highest id in the kernel's order, not the largest number */
	assert_int_equal(queue_verdicts_plan(d, 4, QUEUE_PLAN_COALESCE | QUEUE_PLAN_SWEEP,
					     NF_ACCEPT, v), 5);
	assert_vmsg(&v[4], true, 1, NF_ACCEPT, false, 0);
}

static void test_plan_sweep(void **state)
{
	struct queue_decision d[3] = { dec(40, 0, 0x100), dec(41, 0, 0x100), dec(43, 0, 0x100) };
	struct queue_vmsg v[4];

	(void)state;
	/* stale packets may sit between these ids: no batch before the sweep */
	assert_int_equal(queue_verdicts_plan(d, 3, QUEUE_PLAN_COALESCE | QUEUE_PLAN_SWEEP, NF_DROP,
					     v), 4);
	for (size_t i = 0; i < 3; i++)
		assert_vmsg(&v[i], false, d[i].id, NF_ACCEPT, true, 0x100);
	assert_vmsg(&v[3], true, 43, NF_DROP, false, 0);
}

/* ---------------------------------------------------------------- kernel model */

/* A packet in the model of the kernel's queue list (in id order, as the kernel keeps it). */
struct kentry {
	uint32_t id, old_mark, mark;
	uint8_t verdict;
	bool stale;		/* received, no verdict of ours (id unreadable, send lost) */
	bool released;
	uint32_t got_mark;
	uint8_t got_verdict;
};

static bool id_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void kernel_release(struct kentry *e, const struct queue_vmsg *v)
{
	assert_false(e->released);
	e->released = true;
	e->got_verdict = v->verdict;
	e->got_mark = v->set_mark ? v->mark : e->old_mark;
}

/* nfqnl_recv_verdict and nfqnl_recv_verdict_batch on the model, messages in order */
static void kernel_apply(struct kentry *k, size_t nk, const struct queue_vmsg *v, size_t m,
			 bool sweep)
{
	for (size_t i = 0; i < m; i++) {
		bool found = false;

		for (size_t j = 0; j < nk; j++) {
			if (k[j].released)
				continue;
			if (!v[i].batch) {
				if (k[j].id == v[i].id) {
					kernel_release(&k[j], &v[i]);
					found = true;
					break;
				}
				continue;
			}
			if (id_after(k[j].id, v[i].id))
				break;
			kernel_release(&k[j], &v[i]);
			found = true;
		}
		/* every message of ours finds a packet (no -ENOENT), sweeps excepted */
		if (!(sweep && i == m - 1))
			assert_true(found);
	}
}

/*
 * Random wakeups against the model: ids with gaps (packets the socket buffer dropped are
 * not in the list), a start near the wrap, unreadable messages and lost sends that leave
 * stale packets, and packets queued after each wakeup's receive that no batch may touch.
 * Each wakeup does what queue.c does: plan with COALESCE, plus SWEEP while stale.
 */
static void test_plan_against_kernel_model(void **state)
{
	static struct kentry k[4096];
	struct queue_decision d[MAXN];
	struct queue_vmsg v[MAXN + 1];
	uint8_t fail_verdict = NF_DROP;

	(void)state;
	srand(7);
	for (int trial = 0; trial < 200; trial++) {
		size_t nk = 0, next = 0;
		uint32_t id = trial % 2 ? 0xffffff00u + (uint32_t)(rand() % 200) : (uint32_t)rand();
		bool stale = false;

		while (nk < sizeof(k) / sizeof(k[0]) - 8) {
			id += 1 + (rand() % 8 == 0 ? (uint32_t)(rand() % 5) : 0);
			k[nk++] = (struct kentry){
				.id = id,
				.old_mark = rand() % 4 == 0 ? 0x100 : 0,
				.mark = (uint32_t)(rand() % 3) * 0x100 * (uint32_t)(rand() % 2 + 1),
				.verdict = rand() % 16 == 0 ? NF_DROP : NF_ACCEPT,
			};
			if (rand() % 3 == 0)	/* long runs are the common case */
				k[nk - 1].mark = nk > 1 ? k[nk - 2].mark : 0;
		}
		fail_verdict = trial % 3 ? NF_DROP : NF_ACCEPT;
		while (next < nk) {
			size_t take = 1 + (size_t)rand() % MAXN, n = 0;
			bool lost = rand() % 40 == 0;
			unsigned flags = QUEUE_PLAN_COALESCE;
			size_t m;

			if (take > nk - next)
				take = nk - next;
			for (size_t j = next; j < next + take; j++) {
				if (rand() % 50 == 0) {	/* a message whose id we cannot read */
					k[j].stale = true;
					stale = true;
					continue;
				}
				d[n++] = (struct queue_decision){
					.id = k[j].id, .old_mark = k[j].old_mark,
					.mark = k[j].mark, .verdict = k[j].verdict };
			}
			next += take;
			if (n == 0)
				continue;
			if (stale)
				flags |= QUEUE_PLAN_SWEEP;
			m = queue_verdicts_plan(d, n, flags, fail_verdict, v);
			assert_true(m >= 1 && m <= n + 1);
			if (lost) {	/* sendto failed: none of it applied */
				for (size_t j = next - take; j < next; j++)
					k[j].stale = true;
				stale = true;
				continue;
			}
			kernel_apply(k, nk, v, m, flags & QUEUE_PLAN_SWEEP);
			/* everything up to the last packet decided is released, nothing after it
			 * but stale packets received after that one: they wait for a later sweep */
			stale = false;
			for (size_t j = 0; j < nk; j++) {
				if (j >= next) {
					assert_false(k[j].released);
				} else if (!k[j].released) {
					assert_true(k[j].stale);
					assert_true(id_after(k[j].id, d[n - 1].id));
					stale = true;
				}
			}
		}
		for (size_t j = 0; j < nk; j++) {
			if (!k[j].released) {
				/* only stale packets of the last wakeups wait for a later sweep */
				assert_true(k[j].stale);
				continue;
			}
			if (k[j].stale) {
				assert_int_equal(k[j].got_verdict, fail_verdict);
				assert_int_equal(k[j].got_mark, k[j].old_mark);
			} else {
				assert_int_equal(k[j].got_verdict, k[j].verdict);
				assert_int_equal(k[j].got_mark, k[j].mark);
			}
		}
	}
}

/* The all-routed flood of bench-net: one message per wakeup whatever its size. */
static void test_plan_message_count(void **state)
{
	struct queue_decision d[MAXN];
	struct queue_vmsg v[MAXN + 1];

	(void)state;
	for (size_t i = 0; i < MAXN; i++)
		d[i] = dec(1000 + (uint32_t)i, 0, 0x100);
	assert_int_equal(queue_verdicts_plan(d, MAXN, QUEUE_PLAN_COALESCE, NF_DROP, v), 1);
	/* alternating decisions cannot be coalesced: as many messages as packets */
	for (size_t i = 0; i < MAXN; i++)
		d[i].mark = i % 2 ? 0x100 : 0;
	assert_int_equal(queue_verdicts_plan(d, MAXN, QUEUE_PLAN_COALESCE, NF_DROP, v), MAXN);
}

/* ---------------------------------------------------------------- wire format */

static void test_verdicts_put(void **state)
{
	struct queue_vmsg v[3] = {
		{ .id = 7, .verdict = NF_ACCEPT, .set_mark = true, .mark = 0x100 },
		{ .id = 8, .verdict = NF_ACCEPT },
		{ .id = 12, .verdict = NF_DROP, .batch = true, .set_mark = true, .mark = 0x200 },
	};
	char buf[3 * QUEUE_VMSG_SIZE];
	size_t len = queue_verdicts_put(513, v, 3, buf, sizeof(buf));
	const struct nlmsghdr *nlh = (const void *)buf;
	int left = (int)len, i = 0;

	(void)state;
	assert_true(len > 0 && len <= sizeof(buf));
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		const struct nfqnl_msg_verdict_hdr *vh = NULL;
		const struct nlattr *a;
		bool mark = false;

		assert_true(i < 3);
		assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_QUEUE);
		assert_int_equal(NFNL_MSG_TYPE(nlh->nlmsg_type),
				 v[i].batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT);
		assert_int_equal(ntohs(g->res_id), 513);
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		mnl_attr_for_each(a, nlh, sizeof(*g)) {
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR) {
				assert_int_equal(mnl_attr_get_payload_len(a), sizeof(*vh));
				vh = mnl_attr_get_payload(a);
			} else if (mnl_attr_get_type(a) == NFQA_MARK) {
				assert_int_equal(ntohl(mnl_attr_get_u32(a)), v[i].mark);
				mark = true;
			}
		}
		assert_non_null(vh);
		assert_int_equal(ntohl(vh->id), v[i].id);
		assert_int_equal(ntohl(vh->verdict), v[i].verdict);
		assert_int_equal(mark, v[i].set_mark);
	}
	assert_int_equal(i, 3);
	assert_int_equal(left, 0);
	/* too small a buffer writes nothing usable */
	assert_int_equal(queue_verdicts_put(513, v, 3, buf, 2 * QUEUE_VMSG_SIZE), 0);
}

/* ---------------------------------------------------------------- packet messages */

/* A packet message as nfnetlink_queue builds it: header first, payload last. */
static struct nlmsghdr *pkt_msg(char *buf, uint32_t id, uint8_t hook, const uint32_t *mark,
				const void *data, size_t len)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct nfqnl_msg_packet_hdr ph = { .packet_id = htonl(id), .hw_protocol = htons(0x0800),
					   .hook = hook };

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	g->nfgen_family = AF_INET;
	g->res_id = htons(3);
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(ph), &ph);
	mnl_attr_put_u32(nlh, NFQA_IFINDEX_OUTDEV, htonl(2));
	if (mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(*mark));
	if (data)
		mnl_attr_put(nlh, NFQA_PAYLOAD, len, data);
	return nlh;
}

static void test_msg_parse(void **state)
{
	char buf[2048] __attribute__((aligned(8)));
	uint8_t ip[60];
	uint32_t mark = 0x1100;
	struct queue_pkt p;
	struct nlmsghdr *nlh;

	(void)state;
	for (size_t i = 0; i < sizeof(ip); i++)
		ip[i] = (uint8_t)i;
	nlh = pkt_msg(buf, 0xfffffff0, NF_INET_LOCAL_OUT, &mark, ip, sizeof(ip));
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_PACKET);
	assert_int_equal(p.id, 0xfffffff0);
	assert_int_equal(p.hook, NF_INET_LOCAL_OUT);
	assert_int_equal(p.mark, 0x1100);
	assert_int_equal(p.len, sizeof(ip));
	assert_memory_equal(p.data, ip, sizeof(ip));
	/* more bytes received than the message: only the message counts */
	assert_int_equal(queue_msg_parse(nlh, sizeof(buf), &p), QUEUE_MSG_PACKET);
	assert_int_equal(p.len, sizeof(ip));

	/* a datagram cut inside the payload: the id and mark survive, the bytes do not */
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len - 10, &p), QUEUE_MSG_NODATA);
	assert_int_equal(p.id, 0xfffffff0);
	assert_int_equal(p.mark, 0x1100);
	assert_null(p.data);
	assert_int_equal(p.len, 0);
	/* cut inside the packet header attribute: no id */
	assert_int_equal(queue_msg_parse(nlh, MNL_NLMSG_HDRLEN + 4 + 6, &p), QUEUE_MSG_NOID);
	assert_int_equal(queue_msg_parse(nlh, MNL_NLMSG_HDRLEN + 2, &p), QUEUE_MSG_NOID);
	/* shorter than a netlink header: nothing to say */
	assert_int_equal(queue_msg_parse(nlh, 8, &p), QUEUE_MSG_OTHER);

	/* no mark attribute (mark 0) and no payload (copy mode meta) */
	nlh = pkt_msg(buf, 5, NF_INET_LOCAL_IN, NULL, NULL, 0);
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_NODATA);
	assert_int_equal(p.id, 5);
	assert_int_equal(p.mark, 0);
	assert_int_equal(p.hook, NF_INET_LOCAL_IN);
	/* an empty payload is a packet of length 0: the decision copes */
	nlh = pkt_msg(buf, 6, NF_INET_LOCAL_IN, NULL, ip, 0);
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_PACKET);
	assert_int_equal(p.len, 0);
}

static void test_msg_parse_malformed(void **state)
{
	char buf[512] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	struct nfgenmsg *g;
	struct queue_pkt p;
	uint8_t shortph[4] = { 0, 0, 0, 9 };
	uint8_t ip[20] = { 0x45 };

	(void)state;
	/* packet header attribute too short */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	(void)g;
	mnl_attr_put(nlh, NFQA_PACKET_HDR, sizeof(shortph), shortph);
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(ip), ip);
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_NOID);
	/* no packet header at all */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
	mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	mnl_attr_put(nlh, NFQA_PAYLOAD, sizeof(ip), ip);
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_NOID);
	/* an attribute claiming more than the message holds ends the walk */
	pkt_msg(buf, 9, 0, NULL, ip, sizeof(ip));
	nlh = (void *)buf;
	((struct nlattr *)((char *)nlh + MNL_NLMSG_HDRLEN + 4))->nla_len = 4000;
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_NOID);
	/* nlmsg_len below a header */
	pkt_msg(buf, 9, 0, NULL, ip, sizeof(ip));
	nlh->nlmsg_len = 4;
	assert_int_equal(queue_msg_parse(nlh, 64, &p), QUEUE_MSG_OTHER);

	/* another message type of the queue subsystem, another subsystem */
	pkt_msg(buf, 9, 0, NULL, ip, sizeof(ip));
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_OTHER);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFQNL_MSG_PACKET;
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_OTHER);

	/* the kernel's error for a refused verdict; an ack (error 0) is not one */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -ENOENT;
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_ERROR);
	e->error = 0;
	assert_int_equal(queue_msg_parse(nlh, nlh->nlmsg_len, &p), QUEUE_MSG_OTHER);
	e->error = -ENOENT;
	assert_int_equal(queue_msg_parse(nlh, MNL_NLMSG_HDRLEN + 2, &p), QUEUE_MSG_OTHER);
}

/* ---------------------------------------------------------------- /proc counters */

static void test_kstats_parse(void **state)
{
	struct queue_kstats k;
	uint16_t num;

	(void)state;
	/* 6.x: "%5u %6u %5u %1u %5u %5u %5u %8u %2d" */
	assert_int_equal(queue_kstats_parse_line("    0 3912714561     3 2   128  4711    17 "
						 "123456789  1\n", &num, &k), 0);
	assert_int_equal(num, 0);
	assert_int_equal(k.portid, 3912714561u);
	assert_int_equal(k.queue_total, 3);
	assert_int_equal(k.copy_mode, 2);
	assert_int_equal(k.copy_range, 128);
	assert_int_equal(k.queue_dropped, 4711);
	assert_int_equal(k.user_dropped, 17);
	assert_int_equal(k.id_sequence, 123456789);
	assert_int_equal(queue_kstats_parse_line("65535 1 0 2 65535 0 0 4294967295 1", &num, &k),
			 0);
	assert_int_equal(num, 65535);
	assert_int_equal(k.id_sequence, 4294967295u);
	/* older kernels print with %d: negative portids and wrapped counters */
	assert_int_equal(queue_kstats_parse_line("    7  -4107     0 2 65535    -5     0       -2 "
						 " 1\n", &num, &k), 0);
	assert_int_equal(num, 7);
	assert_int_equal(k.portid, (uint32_t)-4107);
	assert_int_equal(k.queue_dropped, 0xfffffffb);
	assert_int_equal(k.id_sequence, 0xfffffffe);
	assert_int_equal(queue_kstats_parse_line("1 -2147483648 0 2 1 0 0 0 1", &num, &k), 0);
	assert_int_equal(k.portid, 0x80000000u);
	/* a later kernel appending numbers still parses */
	assert_int_equal(queue_kstats_parse_line("2 1 0 2 1 0 0 9 1 44 55\n", &num, &k), 0);
	assert_int_equal(k.id_sequence, 9);
	assert_int_equal(queue_kstats_parse_line("2 1 0 2 1 0 0 9 1   \n", &num, &k), 0);
}

static void test_kstats_parse_malformed(void **state)
{
	static const char *const bad[] = {
		"", "\n", "abc", "  x 1 0 2 1 0 0 9 1",
		"0 1 2 3 4 5 6 7",			/* eight fields */
		"0 1 2 3 4 5 6 7\n",
		"0 1 2 3 4 5 6 x 1",
		"0 1 2 3 4 5 6 4294967296 1",		/* above 32 bits */
		"0 1 2 3 4 5 6 99999999999999999999 1",
		"0 -2147483649 2 3 4 5 6 7 1",		/* below a 32-bit int */
		"0 1- 2 3 4 5 6 7 1", "0 - 2 3 4 5 6 7 1", "0 1 2 3 4 5 6 7 1 zz",
		"0 1 2 3 4 5 6 7 1x", "70000 1 2 3 4 5 6 7 1", "-1 1 2 3 4 5 6 7 1",
	};
	struct queue_kstats k;
	uint16_t num;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (queue_kstats_parse_line(bad[i], &num, &k) != -EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	/* the queue number is known even when the rest is not: its line is malformed */
	num = 0;
	assert_int_equal(queue_kstats_parse_line("   12 junk", &num, &k), -EINVAL);
	assert_int_equal(num, 12);
}

static void test_kernel_stats_absent(void **state)
{
	struct queue_kstats k;
	int ret;

	(void)state;
	/* no process here binds queue 65531; without the module the file is missing */
	ret = queue_kernel_stats(65531, &k);
	assert_true(ret == -ENOENT || ret == -EACCES || ret == -EPERM);
}

static void test_opts(void **state)
{
	struct queue_opts o;
	char err[128] = "";

	(void)state;
	queue_opts_default(&o, 3, true);
	assert_int_equal(o.num, 3);
	assert_true(o.fail_open);
	assert_int_equal(o.maxlen, 4096);
	assert_int_equal(o.rcvbuf, 8 << 20);
	assert_int_equal(o.batch, 64);
	assert_true(o.coalesce);
	assert_false(o.dns_split);
	/* invalid options fail before any socket is opened */
	o.batch = 0;
	assert_null(queue_new_opts(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "batch"));
	o.batch = QUEUE_BATCH_MAX + 1;
	assert_null(queue_new_opts(&o, err, sizeof(err)));
	queue_opts_default(&o, 3, true);
	o.copy_range = 0x10000;
	assert_null(queue_new_opts(&o, err, sizeof(err)));
	queue_opts_default(&o, 3, true);
	o.dns_split = true;
	o.dns_num = 3;
	assert_null(queue_new_opts(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "DNS"));
	queue_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_one_run),
		cmocka_unit_test(test_plan_mixed_runs),
		cmocka_unit_test(test_plan_singles),
		cmocka_unit_test(test_plan_wraparound),
		cmocka_unit_test(test_plan_sweep),
		cmocka_unit_test(test_plan_against_kernel_model),
		cmocka_unit_test(test_plan_message_count),
		cmocka_unit_test(test_verdicts_put),
		cmocka_unit_test(test_msg_parse),
		cmocka_unit_test(test_msg_parse_malformed),
		cmocka_unit_test(test_kstats_parse),
		cmocka_unit_test(test_kstats_parse_malformed),
		cmocka_unit_test(test_kernel_stats_absent),
		cmocka_unit_test(test_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
