/*
 * The nftables side of nfqroute: one table `inet nfqroute`, described once as a small
 * list of rules (struct rule_ir) from which both the netlink batch (libnftnl) and the
 * `nft -f` text are produced, so the dry run and what is installed cannot drift apart.
 *
 * Packet path (MASK = mark-mask, M = a route's mark):
 *   prerouting  (filter, mangle): ct mark&MASK == M -> meta mark = (mark & ~MASK) | M
 *               so replies coming back through a tunnel pass rp_filter (src_valid_mark).
 *   output      (route, mangle):  loopback accepted; the same restore; packets that carry
 *               a route mark are done; first packets of new connections are queued.
 *   input       (filter, mangle): DNS replies (reply direction of tracked flows, sport 53)
 *               are queued so the classifier learns before the client sees them.
 *   postrouting (filter, mangle): a new connection whose packet carries M gets M saved
 *               in its ct mark. It must be a later chain: an accept verdict ends the
 *               chain that queued the packet.
 *   nat         (nat, srcnat):    masquerade on the interfaces of masquerading routes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "nftrules.h"

#define LOOPBACK_IFINDEX 1	/* "lo" is ifindex 1 in every network namespace */
#define RULE_STMTS 5
#define BATCH_SIZE (256 * 1024)

enum chain_id { CH_PREROUTING, CH_OUTPUT, CH_INPUT, CH_POSTROUTING, CH_NAT, CH_COUNT };

static const struct chain_def {
	const char *name;
	const char *type;
	uint32_t hook;
	int prio;
	const char *prio_name;
} chain_defs[CH_COUNT] = {
	[CH_PREROUTING] = { "prerouting", "filter", NF_INET_PRE_ROUTING, -150, "mangle" },
	[CH_OUTPUT] = { "output", "route", NF_INET_LOCAL_OUT, -150, "mangle" },
	[CH_INPUT] = { "input", "filter", NF_INET_LOCAL_IN, -150, "mangle" },
	[CH_POSTROUTING] = { "postrouting", "filter", NF_INET_POST_ROUTING, -150, "mangle" },
	[CH_NAT] = { "nat", "nat", NF_INET_POST_ROUTING, 100, "srcnat" },
};

enum stmt_op {
	S_OIF_LO,	/* meta oif == lo */
	S_IIF_LO,	/* meta iif == lo */
	S_CTSTATE_NEW,	/* ct state new */
	S_CTDIR_REPLY,	/* ct direction reply */
	S_L4_SPORT,	/* meta l4proto == proto && th sport == val */
	S_CTMARK_EQ,	/* ct mark & mask == val */
	S_MARK_EQ,	/* meta mark & mask == val */
	S_MARK_NONZERO,	/* meta mark & mask != 0 */
	S_OIFNAME,	/* oifname == name */
	S_SET_MARK,	/* meta mark = (meta mark & ~mask) | val */
	S_SET_CTMARK,	/* ct mark = (ct mark & ~mask) | val */
	S_ACCEPT,
	S_QUEUE,
	S_MASQ,
};

struct stmt {
	enum stmt_op op;
	uint32_t val;
	uint8_t proto;
	const char *name;
};

struct rule_ir {
	enum chain_id chain;
	size_t n;
	struct stmt s[RULE_STMTS];
};

struct plan {
	uint32_t mask;
	uint16_t queue;
	bool bypass;
	bool chain_used[CH_COUNT];
	size_t n_rules;
	struct rule_ir *rules;
};

const char *nftrules_queue_path_name(enum nftrules_queue_path path)
{
	return path == NFTRULES_QUEUE_NATIVE ? "native" : "compat (xt NFQUEUE)";
}

/* ---- the plan: what the table contains, independent of how it is written ---- */

static struct rule_ir *plan_rule(struct plan *p, enum chain_id chain)
{
	struct rule_ir *r = &p->rules[p->n_rules++];

	memset(r, 0, sizeof(*r));
	r->chain = chain;
	p->chain_used[chain] = true;
	return r;
}

static void rule_add(struct rule_ir *r, enum stmt_op op, uint32_t val)
{
	r->s[r->n++] = (struct stmt){ .op = op, .val = val };
}

static void plan_restore_rules(struct plan *p, const struct conf *c, enum chain_id chain)
{
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];
		struct rule_ir *r;

		if (rt->table == CONF_TABLE_MAIN)
			continue;
		r = plan_rule(p, chain);
		rule_add(r, S_CTMARK_EQ, rt->mark);
		rule_add(r, S_SET_MARK, rt->mark);
	}
}

static void plan_dns_rule(struct plan *p, uint8_t proto)
{
	struct rule_ir *r = plan_rule(p, CH_INPUT);

	rule_add(r, S_CTDIR_REPLY, 0);
	r->s[r->n++] = (struct stmt){ .op = S_L4_SPORT, .val = 53, .proto = proto };
	rule_add(r, S_QUEUE, 0);
}

static int plan_build(const struct conf *c, struct plan *p)
{
	struct rule_ir *r;

	memset(p, 0, sizeof(*p));
	p->mask = c->mark_mask;
	p->queue = c->queue;
	p->bypass = c->fail_mode == CONF_FAIL_OPEN;
	p->rules = calloc(8 + 4 * c->n_routes, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;

	p->chain_used[CH_PREROUTING] = true;
	plan_restore_rules(p, c, CH_PREROUTING);

	r = plan_rule(p, CH_OUTPUT);
	rule_add(r, S_OIF_LO, 0);
	rule_add(r, S_ACCEPT, 0);
	plan_restore_rules(p, c, CH_OUTPUT);
	r = plan_rule(p, CH_OUTPUT);
	rule_add(r, S_MARK_NONZERO, 0);
	rule_add(r, S_ACCEPT, 0);
	r = plan_rule(p, CH_OUTPUT);
	rule_add(r, S_CTSTATE_NEW, 0);
	rule_add(r, S_QUEUE, 0);

	r = plan_rule(p, CH_INPUT);
	rule_add(r, S_IIF_LO, 0);
	rule_add(r, S_ACCEPT, 0);
	plan_dns_rule(p, IPPROTO_UDP);
	plan_dns_rule(p, IPPROTO_TCP);

	p->chain_used[CH_POSTROUTING] = true;
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];

		if (rt->table == CONF_TABLE_MAIN)
			continue;
		r = plan_rule(p, CH_POSTROUTING);
		rule_add(r, S_CTSTATE_NEW, 0);
		rule_add(r, S_MARK_EQ, rt->mark);
		rule_add(r, S_SET_CTMARK, rt->mark);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const struct conf_route *rt = &c->routes[i];

		if (!rt->masquerade || rt->table == CONF_TABLE_MAIN)
			continue;
		r = plan_rule(p, CH_NAT);
		r->s[r->n++] = (struct stmt){ .op = S_OIFNAME, .name = rt->ifname };
		rule_add(r, S_MASQ, 0);
	}
	return 0;
}

static void plan_free(struct plan *p)
{
	free(p->rules);
	p->rules = NULL;
}

/* ---- text: the layout `nft list table inet nfqroute` prints ---- */

static void stmt_print(const struct plan *p, const struct stmt *s, FILE *out)
{
	switch (s->op) {
	case S_OIF_LO:
		fputs("oif \"lo\"", out);
		break;
	case S_IIF_LO:
		fputs("iif \"lo\"", out);
		break;
	case S_CTSTATE_NEW:
		fputs("ct state new", out);
		break;
	case S_CTDIR_REPLY:
		fputs("ct direction reply", out);
		break;
	case S_L4_SPORT:
		fprintf(out, "%s sport %u", s->proto == IPPROTO_TCP ? "tcp" : "udp", s->val);
		break;
	case S_CTMARK_EQ:
		fprintf(out, "ct mark & 0x%08x == 0x%08x", p->mask, s->val);
		break;
	case S_MARK_EQ:
		fprintf(out, "meta mark & 0x%08x == 0x%08x", p->mask, s->val);
		break;
	case S_MARK_NONZERO:
		fprintf(out, "meta mark & 0x%08x != 0x00000000", p->mask);
		break;
	case S_OIFNAME:
		fprintf(out, "oifname \"%s\"", s->name);
		break;
	case S_SET_MARK:
		/* nft shows (x & m) ^ v as x & (m | v) | v */
		fprintf(out, "meta mark set meta mark & 0x%08x | 0x%08x", ~p->mask | s->val, s->val);
		break;
	case S_SET_CTMARK:
		fprintf(out, "ct mark set ct mark & 0x%08x | 0x%08x", ~p->mask | s->val, s->val);
		break;
	case S_ACCEPT:
		fputs("accept", out);
		break;
	case S_QUEUE:
		fprintf(out, "queue num %u%s", p->queue, p->bypass ? " bypass" : "");
		break;
	case S_MASQ:
		fputs("masquerade", out);
		break;
	}
}

void nftrules_print(const struct conf *c, FILE *out)
{
	struct plan p;

	if (plan_build(c, &p) < 0)
		return;
	fprintf(out, "table inet %s {\n", NFTRULES_TABLE);
	for (int ch = 0; ch < CH_COUNT; ch++) {
		const struct chain_def *d = &chain_defs[ch];

		if (!p.chain_used[ch])
			continue;
		if (ch != CH_PREROUTING)
			fputc('\n', out);
		fprintf(out, "\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n",
			d->name, d->type, d->hook == NF_INET_LOCAL_OUT ? "output" :
			d->hook == NF_INET_LOCAL_IN ? "input" : d->name[0] == 'p' &&
			d->hook == NF_INET_PRE_ROUTING ? "prerouting" : "postrouting",
			d->prio_name);
		for (size_t i = 0; i < p.n_rules; i++) {
			if (p.rules[i].chain != (enum chain_id)ch)
				continue;
			fputs("\t\t", out);
			for (size_t k = 0; k < p.rules[i].n; k++) {
				if (k)
					fputc(' ', out);
				stmt_print(&p, &p.rules[i].s[k], out);
			}
			fputc('\n', out);
		}
		fputs("\t}\n", out);
	}
	fputs("}\n", out);
	plan_free(&p);
}

/* ---- netlink: the same plan as libnftnl expressions ---- */

static int expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int add_meta_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_meta_store(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_ct_load(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_ct_store(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_bitwise(struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	}
	return expr_add(r, e);
}

static int add_cmp(struct nftnl_rule *r, uint32_t op, const void *data, size_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return expr_add(r, e);
}

static int add_cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v)
{
	return add_cmp(r, op, &v, sizeof(v));
}

static int add_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	}
	return expr_add(r, e);
}

static int add_queue(struct nftnl_rule *r, const struct plan *p, enum nftrules_queue_path path)
{
	struct nftnl_expr *e;

	if (path == NFTRULES_QUEUE_NATIVE) {
		e = nftnl_expr_alloc("queue");
		if (e) {
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, p->queue);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS,
					   p->bypass ? NFT_QUEUE_FLAG_BYPASS : 0);
		}
		return expr_add(r, e);
	}
	/* libnftnl takes ownership of the target info and frees it with the expression. */
	struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));

	e = nftnl_expr_alloc("target");
	if (!e || !info) {
		free(info);
		nftnl_expr_free(e);
		return -ENOMEM;
	}
	info->queuenum = p->queue;
	info->queues_total = 1;
	info->flags = p->bypass ? NFQ_FLAG_BYPASS : 0;
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
	return expr_add(r, e);
}

static int add_l4_sport(struct nftnl_rule *r, uint8_t proto, uint16_t port)
{
	struct nftnl_expr *e;
	uint16_t be = htons(port);
	int ret;

	ret = add_meta_load(r, NFT_META_L4PROTO);
	if (!ret)
		ret = add_cmp(r, NFT_CMP_EQ, &proto, sizeof(proto));
	if (ret)
		return ret;
	e = nftnl_expr_alloc("payload");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, 0);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, sizeof(be));
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	ret = expr_add(r, e);
	return ret ? ret : add_cmp(r, NFT_CMP_EQ, &be, sizeof(be));
}

static int add_ifname(struct nftnl_rule *r, const char *name)
{
	char buf[16] = { 0 };

	strncpy(buf, name, sizeof(buf) - 1);
	int ret = add_meta_load(r, NFT_META_OIFNAME);

	return ret ? ret : add_cmp(r, NFT_CMP_EQ, buf, sizeof(buf));
}

static int add_masked_set(struct nftnl_rule *r, bool ct, uint32_t mask, uint32_t val)
{
	int ret = ct ? add_ct_load(r, NFT_CT_MARK) : add_meta_load(r, NFT_META_MARK);

	if (!ret)
		ret = add_bitwise(r, ~mask, val);
	if (!ret)
		ret = ct ? add_ct_store(r, NFT_CT_MARK) : add_meta_store(r, NFT_META_MARK);
	return ret;
}

static int add_masked_cmp(struct nftnl_rule *r, bool ct, uint32_t mask, uint32_t op,
			  uint32_t val)
{
	int ret = ct ? add_ct_load(r, NFT_CT_MARK) : add_meta_load(r, NFT_META_MARK);

	if (!ret)
		ret = add_bitwise(r, mask, 0);
	return ret ? ret : add_cmp_u32(r, op, val);
}

static int stmt_to_exprs(struct nftnl_rule *r, const struct plan *p, const struct stmt *s,
			 enum nftrules_queue_path path)
{
	int ret;

	switch (s->op) {
	case S_OIF_LO:
	case S_IIF_LO:
		ret = add_meta_load(r, s->op == S_OIF_LO ? NFT_META_OIF : NFT_META_IIF);
		return ret ? ret : add_cmp_u32(r, NFT_CMP_EQ, LOOPBACK_IFINDEX);
	case S_CTSTATE_NEW:
		ret = add_ct_load(r, NFT_CT_STATE);
		if (!ret)
			ret = add_bitwise(r, NF_CT_STATE_BIT(IP_CT_NEW), 0);
		return ret ? ret : add_cmp_u32(r, NFT_CMP_NEQ, 0);
	case S_CTDIR_REPLY: {
		uint8_t dir = IP_CT_DIR_REPLY;

		ret = add_ct_load(r, NFT_CT_DIRECTION);
		return ret ? ret : add_cmp(r, NFT_CMP_EQ, &dir, sizeof(dir));
	}
	case S_L4_SPORT:
		return add_l4_sport(r, s->proto, (uint16_t)s->val);
	case S_CTMARK_EQ:
		return add_masked_cmp(r, true, p->mask, NFT_CMP_EQ, s->val);
	case S_MARK_EQ:
		return add_masked_cmp(r, false, p->mask, NFT_CMP_EQ, s->val);
	case S_MARK_NONZERO:
		return add_masked_cmp(r, false, p->mask, NFT_CMP_NEQ, 0);
	case S_OIFNAME:
		return add_ifname(r, s->name);
	case S_SET_MARK:
		return add_masked_set(r, false, p->mask, s->val);
	case S_SET_CTMARK:
		return add_masked_set(r, true, p->mask, s->val);
	case S_ACCEPT:
		return add_verdict(r, NF_ACCEPT);
	case S_QUEUE:
		return add_queue(r, p, path);
	case S_MASQ:
		return expr_add(r, nftnl_expr_alloc("masq"));
	}
	return -EINVAL;
}

/* A libmnl batch plus the room it has, so building fails with -ENOSPC, never overflows. */
struct nbatch {
	struct mnl_nlmsg_batch *mb;
	size_t size;
};

static size_t nbatch_rest(const struct nbatch *b)
{
	return b->size - mnl_nlmsg_batch_size(b->mb);
}

/* Appends one netlink message to the batch; fails with -ENOSPC instead of overflowing. */
static struct nlmsghdr *batch_msg(struct nbatch *b, uint16_t type, uint16_t flags,
				  uint32_t *seq)
{
	if (nbatch_rest(b) < 4096)
		return NULL;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b->mb), type, NFPROTO_INET, flags,
				     (*seq)++);
}

static int batch_table(struct nbatch *b, uint16_t type, uint16_t flags, uint32_t *seq)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFTRULES_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = batch_msg(b, type, flags, seq);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		mnl_nlmsg_batch_next(b->mb);
	}
	nftnl_table_free(t);
	return nlh ? 0 : -ENOSPC;
}

static int batch_chain(struct nbatch *b, const struct chain_def *d, uint32_t *seq)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFTRULES_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, d->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, d->hook);
	nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, d->prio);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, d->type);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, seq);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		mnl_nlmsg_batch_next(b->mb);
	}
	nftnl_chain_free(ch);
	return nlh ? 0 : -ENOSPC;
}

static int batch_rule(struct nbatch *b, const struct plan *p, const struct rule_ir *ir,
		      enum nftrules_queue_path path, uint32_t *seq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTRULES_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain_defs[ir->chain].name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	for (size_t k = 0; k < ir->n && !ret; k++)
		ret = stmt_to_exprs(r, p, &ir->s[k], path);
	if (!ret) {
		nlh = batch_msg(b, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, seq);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			mnl_nlmsg_batch_next(b->mb);
		} else {
			ret = -ENOSPC;
		}
	}
	nftnl_rule_free(r);
	return ret;
}

static int batch_body(struct nbatch *b, const struct plan *p,
		      enum nftrules_queue_path path, uint32_t *seq)
{
	/* new + delete + new: replaces an older table atomically and never fails on absence */
	int ret = batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq);

	if (!ret)
		ret = batch_table(b, NFT_MSG_DELTABLE, NLM_F_ACK, seq);
	if (!ret)
		ret = batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq);
	for (int ch = 0; ch < CH_COUNT && !ret; ch++)
		if (p->chain_used[ch])
			ret = batch_chain(b, &chain_defs[ch], seq);
	for (size_t i = 0; i < p->n_rules && !ret; i++)
		ret = batch_rule(b, p, &p->rules[i], path, seq);
	return ret;
}

static int batch_wrap(struct nbatch *b, bool begin, uint32_t *seq)
{
	if (nbatch_rest(b) < 64)
		return -ENOSPC;
	if (begin)
		nftnl_batch_begin(mnl_nlmsg_batch_current(b->mb), (*seq)++);
	else
		nftnl_batch_end(mnl_nlmsg_batch_current(b->mb), (*seq)++);
	mnl_nlmsg_batch_next(b->mb);
	return 0;
}

/* Builds the batch and reports the sequence number of the end marker in *seq_end. */
static int batch_build(const struct conf *c, enum nftrules_queue_path path, uint32_t seq,
		       void *buf, size_t size, uint32_t *seq_end)
{
	struct nbatch nb = { .size = size }, *b = &nb;
	struct plan p;
	int ret;

	ret = plan_build(c, &p);
	if (ret)
		return ret;
	/* libmnl lets a message run past the limit; keep a page of slack for it */
	nb.mb = mnl_nlmsg_batch_start(buf, size / 2);
	if (!nb.mb) {
		plan_free(&p);
		return -ENOMEM;
	}
	ret = batch_wrap(b, true, &seq);
	if (!ret)
		ret = batch_body(b, &p, path, &seq);
	if (!ret) {
		*seq_end = seq;
		ret = batch_wrap(b, false, &seq);
	}
	if (!ret)
		ret = (int)mnl_nlmsg_batch_size(b->mb);
	mnl_nlmsg_batch_stop(b->mb);
	plan_free(&p);
	return ret;
}

int nftrules_batch_build(const struct conf *c, enum nftrules_queue_path path, uint32_t seq,
			 void *buf, size_t size)
{
	uint32_t seq_end;

	return batch_build(c, path, seq, buf, size, &seq_end);
}

/* ---- talking to the kernel ---- */

/*
 * Sends a batch and reads acks until every message between the begin and end markers
 * (all carry NLM_F_ACK) is answered. nfnetlink acks each message of a failed batch too,
 * but a receive timeout guards against waiting forever. Returns the first error.
 */
static int batch_send(const void *buf, size_t len, uint32_t seq_first, uint32_t seq_last)
{
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl;
	uint32_t portid, pending = seq_last - seq_first + 1;
	int ret = 0;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_sendto(nl, buf, len) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	while (pending > 0) {
		int n = (int)mnl_socket_recvfrom(nl, rbuf, sizeof(rbuf));

		if (n < 0) {
			ret = ret ? ret : -errno;
			break;
		}
		for (const struct nlmsghdr *nlh = (const void *)rbuf; mnl_nlmsg_ok(nlh, n);
		     nlh = mnl_nlmsg_next(nlh, &n)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != portid ||
			    nlh->nlmsg_seq < seq_first || nlh->nlmsg_seq > seq_last ||
			    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				continue;
			pending--;
			if (e->error && !ret)
				ret = e->error;
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static int install_path(const struct conf *c, enum nftrules_queue_path path)
{
	uint32_t seq = (uint32_t)time(NULL), seq_end;
	void *buf = malloc(BATCH_SIZE);
	int len, ret;

	if (!buf)
		return -ENOMEM;
	len = batch_build(c, path, seq, buf, BATCH_SIZE, &seq_end);
	ret = len < 0 ? len : batch_send(buf, (size_t)len, seq + 1, seq_end - 1);
	free(buf);
	return ret;
}

int nftrules_install(const struct conf *c, enum nftrules_queue_path *used, char *err,
		     size_t errlen)
{
	int ret = install_path(c, NFTRULES_QUEUE_NATIVE);

	*used = NFTRULES_QUEUE_NATIVE;
	/* ENOENT/EOPNOTSUPP: this kernel has no nft_queue (CONFIG_NFT_QUEUE unset) */
	if (ret == -ENOENT || ret == -EOPNOTSUPP) {
		ret = install_path(c, NFTRULES_QUEUE_COMPAT);
		*used = NFTRULES_QUEUE_COMPAT;
	}
	if (ret)
		snprintf(err, errlen, "installing nftables table inet %s: %s", NFTRULES_TABLE,
			 strerror(-ret));
	return ret;
}

int nftrules_remove(char *err, size_t errlen)
{
	char buf[16384];
	struct nbatch nb = { .size = sizeof(buf) }, *b = &nb;
	uint32_t seq = (uint32_t)time(NULL), first;
	int ret;

	nb.mb = mnl_nlmsg_batch_start(buf, sizeof(buf) / 2);
	if (!nb.mb)
		return -ENOMEM;
	first = seq + 1;
	ret = batch_wrap(b, true, &seq);
	/* new + delete: succeeds whether or not the table exists */
	if (!ret)
		ret = batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, &seq);
	if (!ret)
		ret = batch_table(b, NFT_MSG_DELTABLE, NLM_F_ACK, &seq);
	if (!ret)
		ret = batch_wrap(b, false, &seq);
	if (!ret)
		ret = batch_send(buf, mnl_nlmsg_batch_size(b->mb), first, seq - 2);
	mnl_nlmsg_batch_stop(b->mb);
	if (ret)
		snprintf(err, errlen, "removing nftables table inet %s: %s", NFTRULES_TABLE,
			 strerror(-ret));
	return ret;
}
