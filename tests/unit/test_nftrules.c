/* The nftables batch: both queue paths as netlink messages, and the text reference. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <net/if.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "conf.h"
#include "nftplan.h"
#include "nftrules.h"
#include "nftstate.h"

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "."
#endif

static char *example_domains[] = { "github.com", "icanhazip.com" };

/* rules/nfqroute.conf.example, as conf_load fills it */
static struct conf_route example_route = {
	.name = "vpn", .ifname = "wg0", .table = 100, .mark = 0x100,
	.fail_closed = true, .masquerade = true,
	.n_domains = 2, .domains = example_domains,
};

static struct conf example = {
	.path = "example.conf", .queue = 0, .queue_count = 1, .dns_queue = -1,
	.queue_length = 4096, .queue_buffer = 8u << 20, .queue_batch = 64, .mark_mask = 0xff00,
	.fail_mode = CONF_FAIL_CLOSED, .n_routes = 1, .routes = &example_route,
	.default_route = -1,
};

/* One queue expression or NFQUEUE target, in batch order, with the chain of its rule. */
struct seen_queue {
	char chain[32];
	uint16_t num, total, flags;
};

#define SEEN_QUEUES 16

struct seen {
	int rules, queue_exprs, target_exprs, masq_exprs;
	uint16_t queue_num, queue_flags;
	char target_name[32];
	uint32_t target_rev;
	struct xt_NFQ_info_v3 target_info;
	const char *chain;		/* of the rule being walked */
	size_t n_queues;
	struct seen_queue queues[SEEN_QUEUES];
};

static void seen_queue_add(struct seen *s, uint16_t num, uint16_t total, uint16_t flags)
{
	struct seen_queue *q;

	assert_true(s->n_queues < SEEN_QUEUES);
	q = &s->queues[s->n_queues++];
	snprintf(q->chain, sizeof(q->chain), "%s", s->chain);
	q->num = num;
	q->total = total;
	q->flags = flags;
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct seen *s = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t len;

	if (strcmp(name, "queue") == 0) {
		s->queue_exprs++;
		s->queue_num = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_NUM);
		s->queue_flags = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_FLAGS);
		seen_queue_add(s, s->queue_num, nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_TOTAL),
			       s->queue_flags);
	} else if (strcmp(name, "target") == 0) {
		const void *info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);

		s->target_exprs++;
		snprintf(s->target_name, sizeof(s->target_name), "%s",
			 nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME));
		s->target_rev = nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV);
		assert_int_equal(len, sizeof(s->target_info));
		memcpy(&s->target_info, info, sizeof(s->target_info));
		seen_queue_add(s, s->target_info.queuenum, s->target_info.queues_total,
			       s->target_info.flags);
	} else if (strcmp(name, "masq") == 0) {
		s->masq_exprs++;
	}
	return 0;
}

/* Walks every message of the batch; rules are parsed back with libnftnl. */
static void scan_batch(const struct conf *c, enum nftrules_queue_path path, struct seen *s)
{
	static char buf[256 * 1024];
	int len = nftrules_batch_build(c, path, 100, buf, sizeof(buf));
	const struct nlmsghdr *nlh = (const void *)buf;
	int types = 0;

	assert_true(len > 0);
	memset(s, 0, sizeof(*s));
	assert_int_equal(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		struct nftnl_rule *r;

		types++;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END || type != NFT_MSG_NEWRULE)
			continue;
		r = nftnl_rule_alloc();
		assert_int_equal(nftnl_rule_nlmsg_parse(nlh, r), 0);
		assert_string_equal(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), "nfqroute");
		s->chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		nftnl_expr_foreach(r, expr_cb, s);
		nftnl_rule_free(r);
		s->rules++;
	}
	assert_true(types > 8);
}

static void test_native_queue_expr(void **state)
{
	struct seen s;

	(void)state;
	scan_batch(&example, NFTRULES_QUEUE_NATIVE, &s);
	/* new flows in output, DNS replies over UDP and TCP in input */
	assert_int_equal(s.queue_exprs, 3);
	assert_int_equal(s.target_exprs, 0);
	assert_int_equal(s.queue_num, 0);
	assert_int_equal(s.queue_flags, 0);
	assert_int_equal(s.masq_exprs, 1);
}

static void test_compat_queue_target(void **state)
{
	struct seen s;

	(void)state;
	scan_batch(&example, NFTRULES_QUEUE_COMPAT, &s);
	assert_int_equal(s.queue_exprs, 0);
	assert_int_equal(s.target_exprs, 3);
	assert_string_equal(s.target_name, "NFQUEUE");
	assert_int_equal(s.target_rev, 3);
	assert_int_equal(s.target_info.queuenum, 0);
	assert_int_equal(s.target_info.flags, 0);
}

static void test_fail_open_bypass(void **state)
{
	struct conf c = example;
	struct seen s;

	(void)state;
	c.fail_mode = CONF_FAIL_OPEN;
	c.queue = 7;
	scan_batch(&c, NFTRULES_QUEUE_NATIVE, &s);
	assert_int_equal(s.queue_num, 7);
	assert_int_equal(s.queue_flags, NFT_QUEUE_FLAG_BYPASS);
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_int_equal(s.target_info.queuenum, 7);
	assert_int_equal(s.target_info.flags, NFQ_FLAG_BYPASS);
}

static char lan_ifs[1][IF_NAMESIZE] = { "br0" };

/* queue = 4-6, DNS replies on 7, gateway mode: new flows queued in prerouting and output,
 * DNS replies in input and forward */
static struct conf range_conf(bool fanout_cpu, bool fail_open)
{
	struct conf c = example;

	c.queue = 4;
	c.queue_count = 3;
	c.dns_queue = 7;
	c.fanout_cpu = fanout_cpu;
	c.fail_mode = fail_open ? CONF_FAIL_OPEN : CONF_FAIL_CLOSED;
	c.n_lan_ifs = 1;
	c.lan_ifs = lan_ifs;
	return c;
}

static bool is_dns_chain(const char *chain)
{
	return !strcmp(chain, "input") || !strcmp(chain, "forward");
}

/* Every new-flow rule fans out over first..first+total-1 with flow_flags; every DNS-reply
 * rule takes dns alone with dns_flags. */
static void assert_queues(const struct seen *s, uint16_t first, uint16_t total,
			  uint16_t flow_flags, uint16_t dns, uint16_t dns_flags, size_t n_dns)
{
	size_t dns_seen = 0;

	for (size_t i = 0; i < s->n_queues; i++) {
		const struct seen_queue *q = &s->queues[i];

		if (is_dns_chain(q->chain)) {
			dns_seen++;
			assert_int_equal(q->num, dns);
			assert_int_equal(q->total, 1);
			assert_int_equal(q->flags, dns_flags);
		} else {
			assert_true(!strcmp(q->chain, "output") || !strcmp(q->chain, "prerouting"));
			assert_int_equal(q->num, first);
			assert_int_equal(q->total, total);
			assert_int_equal(q->flags, flow_flags);
		}
	}
	assert_int_equal(dns_seen, n_dns);
}

static void test_range_native(void **state)
{
	struct conf c = range_conf(true, true);
	struct seen s;

	(void)state;
	scan_batch(&c, NFTRULES_QUEUE_NATIVE, &s);
	assert_int_equal(s.queue_exprs, 6);
	assert_int_equal(s.target_exprs, 0);
	assert_queues(&s, 4, 3, NFT_QUEUE_FLAG_BYPASS | NFT_QUEUE_FLAG_CPU_FANOUT, 7,
		      NFT_QUEUE_FLAG_BYPASS, 4);
	c = range_conf(false, false);
	scan_batch(&c, NFTRULES_QUEUE_NATIVE, &s);
	assert_queues(&s, 4, 3, 0, 7, 0, 4);
}

static void test_range_compat(void **state)
{
	struct conf c = range_conf(true, true);
	struct seen s;

	(void)state;
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_int_equal(s.queue_exprs, 0);
	assert_int_equal(s.target_exprs, 6);
	assert_queues(&s, 4, 3, NFQ_FLAG_BYPASS | NFQ_FLAG_CPU_FANOUT, 7, NFQ_FLAG_BYPASS, 4);
	c = range_conf(true, false);
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_queues(&s, 4, 3, NFQ_FLAG_CPU_FANOUT, 7, 0, 4);
	c = range_conf(false, true);
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_queues(&s, 4, 3, NFQ_FLAG_BYPASS, 7, NFQ_FLAG_BYPASS, 4);
}

/* One new-flow queue: CPU fanout means nothing; DNS replies share it or take their own. */
static void test_single_queue(void **state)
{
	struct conf c = example;
	struct seen s;

	(void)state;
	c.queue = 9;
	c.fanout_cpu = true;
	scan_batch(&c, NFTRULES_QUEUE_NATIVE, &s);
	assert_int_equal(s.n_queues, 3);
	assert_queues(&s, 9, 1, 0, 9, 0, 2);
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_queues(&s, 9, 1, 0, 9, 0, 2);
	c.dns_queue = 3;
	scan_batch(&c, NFTRULES_QUEUE_NATIVE, &s);
	assert_queues(&s, 9, 1, 0, 3, 0, 2);
	scan_batch(&c, NFTRULES_QUEUE_COMPAT, &s);
	assert_queues(&s, 9, 1, 0, 3, 0, 2);
}

/* The plan itself: its queue fields, and each S_QUEUE statement says which queues it takes. */
static void test_range_plan(void **state)
{
	struct conf c = range_conf(true, true);
	size_t flows = 0, dns = 0;
	char err[128];
	struct plan p;

	(void)state;
	assert_int_equal(nftplan_build(&c, &p, err, sizeof(err)), 0);
	assert_int_equal(p.queue, 4);
	assert_int_equal(p.queue_count, 3);
	assert_true(p.fanout_cpu);
	assert_int_equal(p.dns_queue, 7);
	assert_true(p.bypass);
	for (size_t i = 0; i < p.n_rules; i++) {
		const struct plan_rule *r = &p.rules[i];
		const struct plan_stmt *q = &r->s[r->n - 1];

		if (q->op != S_QUEUE)
			continue;
		if (is_dns_chain(p.chains[r->chain].name)) {
			dns++;
			assert_int_equal(q->lo, 7);
			assert_int_equal(q->hi, 7);
			assert_int_equal(q->val, PLAN_QUEUE_BYPASS);
		} else {
			flows++;
			assert_int_equal(q->lo, 4);
			assert_int_equal(q->hi, 6);
			assert_int_equal(q->val, PLAN_QUEUE_BYPASS | PLAN_QUEUE_FANOUT);
		}
	}
	assert_int_equal(flows, 2);
	assert_int_equal(dns, 4);
	nftplan_free(&p);
	/* DNS replies sharing the one queue */
	assert_int_equal(nftplan_build(&example, &p, err, sizeof(err)), 0);
	assert_int_equal(p.queue_count, 1);
	assert_int_equal(p.dns_queue, -1);
	for (size_t i = 0; i < p.n_rules; i++) {
		const struct plan_rule *r = &p.rules[i];

		if (r->s[r->n - 1].op == S_QUEUE) {
			assert_int_equal(r->s[r->n - 1].lo, 0);
			assert_int_equal(r->s[r->n - 1].hi, 0);
			assert_int_equal(r->s[r->n - 1].val, 0);
		}
	}
	nftplan_free(&p);
}

static char *print_text(const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	nftrules_print(c, f);
	fclose(f);
	return text;
}

/* `nft -f` accepts these (nft 1.0.6 lists them as "queue flags bypass,fanout to 4-6") */
static void test_range_print(void **state)
{
	static const struct {
		bool fanout, open;
		const char *flow;
	} cases[] = {
		{ true, true, "\t\tct state new queue num 4-6 bypass,fanout\n" },
		{ true, false, "\t\tct state new queue num 4-6 fanout\n" },
		{ false, true, "\t\tct state new queue num 4-6 bypass\n" },
		{ false, false, "\t\tct state new queue num 4-6\n" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf c = range_conf(cases[i].fanout, cases[i].open);
		char *text = print_text(&c), dns[96];

		if (!strstr(text, cases[i].flow))
			fail_msg("no '%s' in:\n%s", cases[i].flow, text);
		assert_non_null(strstr(text, "\t\tiifname \"br0\" ct state new fib daddr type != "
				       "local queue num 4-6"));
		snprintf(dns, sizeof(dns), "\t\tct direction reply udp sport 53 queue num 7%s\n",
			 cases[i].open ? " bypass" : "");
		if (!strstr(text, dns))
			fail_msg("no '%s' in:\n%s", dns, text);
		free(text);
	}
}

static void test_no_masquerade_no_nat_chain(void **state)
{
	struct conf_route r = example_route;
	struct conf c = example;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	r.masquerade = false;
	c.routes = &r;
	nftrules_print(&c, f);
	fclose(f);
	assert_null(strstr(text, "chain nat"));
	assert_null(strstr(text, "masquerade"));
	free(text);
}

static void test_buffer_too_small(void **state)
{
	char buf[512];

	(void)state;
	assert_int_equal(nftrules_batch_build(&example, NFTRULES_QUEUE_NATIVE, 1, buf,
					      sizeof(buf)), -ENOSPC);
}

/* rules/nfqroute.nft is the reference for the example configuration. */
static void test_print_matches_reference(void **state)
{
	char *text = NULL, line[512], *ref = NULL;
	size_t len = 0, rlen = 0;
	FILE *f = open_memstream(&text, &len), *rf, *refs;

	(void)state;
	nftrules_print(&example, f);
	fclose(f);
	rf = fopen(TEST_SRCDIR "/rules/nfqroute.nft", "r");
	assert_non_null(rf);
	refs = open_memstream(&ref, &rlen);
	while (fgets(line, sizeof(line), rf))
		if (line[0] != '#')
			fputs(line, refs);
	fclose(refs);
	fclose(rf);
	assert_string_equal(text, ref);
	free(text);
	free(ref);
}

/* A reload over a table the kernel has: base chains that stay are never deleted. */
static void test_replace_keeps_base_chains(void **state)
{
	static char buf[256 * 1024];
	struct nftstate_chain chains[] = {
		{ "output", true }, { "prerouting", true }, { "oldbase", true },
		{ "select", false }, { "route_old", false },
	};
	char sets[][256] = { "net4" };
	struct nftstate st = { .table = "nfqroute", .n_chains = 5, .n_sets = 1,
			       .chains = chains, .sets = sets };
	int len = nftrules_batch_build_over(&example, &st, NFTRULES_QUEUE_NATIVE, 1, buf,
					    sizeof(buf));
	const struct nlmsghdr *nlh = (const void *)buf;
	char deleted[512] = "";
	int delrules = 0, deltables = 0, newchains = 0, order = 0, first_new = 0;

	(void)state;
	assert_true(len > 0);
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		struct nlattr *a;

		order++;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		if (type == NFT_MSG_DELTABLE)
			deltables++;
		if (type == NFT_MSG_DELRULE)
			delrules++;
		if (type == NFT_MSG_NEWCHAIN && !first_new)
			first_new = order;
		newchains += type == NFT_MSG_NEWCHAIN;
		if (type != NFT_MSG_DELCHAIN && type != NFT_MSG_DELSET)
			continue;
		assert_int_equal(first_new, 0);	/* every delete before the first new chain */
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) == (type == NFT_MSG_DELSET ? NFTA_SET_NAME :
						     NFTA_CHAIN_NAME)) {
				strcat(deleted, mnl_attr_get_str(a));
				strcat(deleted, " ");
			}
	}
	assert_int_equal(deltables, 0);
	assert_int_equal(delrules, 1);
	/* the set, the regular chains and the base chain the plan lacks; not output/prerouting */
	assert_string_equal(deleted, "net4 oldbase select route_old ");
	assert_true(newchains >= 4);	/* output, input, postrouting and more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_queue_expr),
		cmocka_unit_test(test_compat_queue_target),
		cmocka_unit_test(test_fail_open_bypass),
		cmocka_unit_test(test_range_native),
		cmocka_unit_test(test_range_compat),
		cmocka_unit_test(test_single_queue),
		cmocka_unit_test(test_range_plan),
		cmocka_unit_test(test_range_print),
		cmocka_unit_test(test_no_masquerade_no_nat_chain),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_print_matches_reference),
		cmocka_unit_test(test_replace_keeps_base_chains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
