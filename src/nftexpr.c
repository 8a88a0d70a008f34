/* Plan statements as libnftnl expressions: the kernel's view of each nft keyword. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/rtnetlink.h>
#include <libnftnl/expr.h>

#include "nftexpr.h"

#define LOOPBACK_IFINDEX 1	/* "lo" is ifindex 1 in every network namespace */

static int expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static int add_meta(struct nftnl_rule *r, uint32_t key, bool store)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, store ? NFTNL_EXPR_META_SREG : NFTNL_EXPR_META_DREG,
				   NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_ct(struct nftnl_rule *r, uint32_t key, bool store)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
		nftnl_expr_set_u32(e, store ? NFTNL_EXPR_CT_SREG : NFTNL_EXPR_CT_DREG, NFT_REG_1);
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
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, (uint32_t)len);
	}
	return expr_add(r, e);
}

static int add_cmp_u32(struct nftnl_rule *r, uint32_t op, uint32_t v)
{
	return add_cmp(r, op, &v, sizeof(v));
}

static int add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return expr_add(r, e);
}

static int add_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	return expr_add(r, e);
}

/* queue num s->lo, total s->hi - s->lo + 1, with the flags of s->val */
static int add_queue(struct nftnl_rule *r, const struct plan_stmt *s, bool native)
{
	uint16_t total = (uint16_t)(s->hi - s->lo + 1);
	bool bypass = s->val & PLAN_QUEUE_BYPASS, fanout = s->val & PLAN_QUEUE_FANOUT;
	struct xt_NFQ_info_v3 *info;
	struct nftnl_expr *e;

	if (s->hi < s->lo)
		return -EINVAL;
	if (native) {
		e = nftnl_expr_alloc("queue");
		if (e) {
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, s->lo);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, total);
			nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS,
					   (bypass ? NFT_QUEUE_FLAG_BYPASS : 0) |
					   (fanout ? NFT_QUEUE_FLAG_CPU_FANOUT : 0));
		}
		return expr_add(r, e);
	}
	/* libnftnl takes ownership of the target info and frees it with the expression */
	info = calloc(1, sizeof(*info));
	e = nftnl_expr_alloc("target");
	if (!e || !info) {
		free(info);
		nftnl_expr_free(e);
		return -ENOMEM;
	}
	info->queuenum = s->lo;
	info->queues_total = total;
	info->flags = (bypass ? NFQ_FLAG_BYPASS : 0) | (fanout ? NFQ_FLAG_CPU_FANOUT : 0);
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
	return expr_add(r, e);
}

/* meta l4proto PROTO, then the transport header's port at offset (0 sport, 2 dport) */
static int add_l4_port(struct nftnl_rule *r, uint8_t proto, uint32_t offset, uint16_t lo,
		       uint16_t hi)
{
	uint16_t blo = htons(lo), bhi = htons(hi);
	struct nftnl_expr *e;
	int ret = add_meta(r, NFT_META_L4PROTO, false);

	if (!ret)
		ret = add_cmp(r, NFT_CMP_EQ, &proto, sizeof(proto));
	if (!ret)
		ret = add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offset, sizeof(blo));
	if (ret || lo == hi)
		return ret ? ret : add_cmp(r, NFT_CMP_EQ, &blo, sizeof(blo));
	e = nftnl_expr_alloc("range");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &blo, sizeof(blo));
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &bhi, sizeof(bhi));
	}
	return expr_add(r, e);
}

static int add_ifname(struct nftnl_rule *r, uint32_t key, const char *name)
{
	char buf[16] = { 0 };
	int ret;

	strncpy(buf, name, sizeof(buf) - 1);
	ret = add_meta(r, key, false);
	return ret ? ret : add_cmp(r, NFT_CMP_EQ, buf, sizeof(buf));
}

static int add_masked_set(struct nftnl_rule *r, bool ct, uint32_t mask, uint32_t val)
{
	int ret = ct ? add_ct(r, NFT_CT_MARK, false) : add_meta(r, NFT_META_MARK, false);

	if (!ret)
		ret = add_bitwise(r, ~mask, val);
	if (!ret)
		ret = ct ? add_ct(r, NFT_CT_MARK, true) : add_meta(r, NFT_META_MARK, true);
	return ret;
}

static int add_masked_cmp(struct nftnl_rule *r, bool ct, uint32_t mask, uint32_t op,
			  uint32_t val)
{
	int ret = ct ? add_ct(r, NFT_CT_MARK, false) : add_meta(r, NFT_META_MARK, false);

	if (!ret)
		ret = add_bitwise(r, mask, 0);
	return ret ? ret : add_cmp_u32(r, op, val);
}

static int add_ct_dir(struct nftnl_rule *r, uint8_t dir)
{
	int ret = add_ct(r, NFT_CT_DIRECTION, false);

	return ret ? ret : add_cmp(r, NFT_CMP_EQ, &dir, sizeof(dir));
}

static int add_fib_type(struct nftnl_rule *r, uint32_t op)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");
	int ret;

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	}
	ret = expr_add(r, e);
	return ret ? ret : add_cmp_u32(r, op, RTN_LOCAL);
}

/* ip/ip6 saddr|daddr looked up in the named set (a verdict map when vmap) */
static int add_addr_lookup(struct nftnl_rule *r, const struct plan *p, const struct plan_stmt *s,
			   bool daddr, bool vmap)
{
	uint8_t nfproto = s->proto == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t off = s->proto == AF_INET ? (daddr ? 16 : 12) : (daddr ? 24 : 8);
	uint32_t len = s->proto == AF_INET ? 4 : 16, id = 0;
	struct nftnl_expr *e;
	int ret = add_meta(r, NFT_META_NFPROTO, false);

	for (size_t i = 0; i < p->n_sets; i++)
		if (!strcmp(p->sets[i].name, s->name))
			id = (uint32_t)i + 1;
	if (!ret)
		ret = add_cmp(r, NFT_CMP_EQ, &nfproto, sizeof(nfproto));
	if (!ret)
		ret = add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);
	if (ret)
		return ret;
	e = nftnl_expr_alloc("lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, s->name);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
		if (vmap)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	}
	return expr_add(r, e);
}

int nftexpr_stmt_add(struct nftnl_rule *r, const struct plan *p, const struct plan_stmt *s,
		     bool native)
{
	int ret;

	switch (s->op) {
	case S_OIF_LO:
	case S_IIF_LO:
		ret = add_meta(r, s->op == S_OIF_LO ? NFT_META_OIF : NFT_META_IIF, false);
		return ret ? ret : add_cmp_u32(r, NFT_CMP_EQ, LOOPBACK_IFINDEX);
	case S_IIFNAME:
		return add_ifname(r, NFT_META_IIFNAME, s->name);
	case S_OIFNAME:
		return add_ifname(r, NFT_META_OIFNAME, s->name);
	case S_CTSTATE_NEW:
		ret = add_ct(r, NFT_CT_STATE, false);
		if (!ret)
			ret = add_bitwise(r, NF_CT_STATE_BIT(IP_CT_NEW), 0);
		return ret ? ret : add_cmp_u32(r, NFT_CMP_NEQ, 0);
	case S_CTDIR_REPLY:
		return add_ct_dir(r, IP_CT_DIR_REPLY);
	case S_CTDIR_ORIGINAL:
		return add_ct_dir(r, IP_CT_DIR_ORIGINAL);
	case S_FIB_NOT_LOCAL:
		return add_fib_type(r, NFT_CMP_NEQ);
	case S_FIB_LOCAL:
		return add_fib_type(r, NFT_CMP_EQ);
	case S_L4_SPORT:
		return add_l4_port(r, s->proto, 0, s->lo, s->lo);
	case S_L4_DPORT:
		return add_l4_port(r, s->proto, 2, s->lo, s->hi);
	case S_SADDR_SET:
		return add_addr_lookup(r, p, s, false, false);
	case S_DADDR_VMAP:
		return add_addr_lookup(r, p, s, true, true);
	case S_CTMARK_EQ:
		return add_masked_cmp(r, true, p->mask, NFT_CMP_EQ, s->val);
	case S_MARK_EQ:
		return add_masked_cmp(r, false, p->mask, NFT_CMP_EQ, s->val);
	case S_MARK_NONZERO:
		return add_masked_cmp(r, false, p->mask, NFT_CMP_NEQ, 0);
	case S_SET_MARK:
		return add_masked_set(r, false, p->mask, s->val);
	case S_SET_CTMARK:
		return add_masked_set(r, true, p->mask, s->val);
	case S_ACCEPT:
		return add_verdict(r, NF_ACCEPT, NULL);
	case S_JUMP:
		return add_verdict(r, NFT_JUMP, s->name);
	case S_QUEUE:
		return add_queue(r, s, native);
	case S_MASQ:
		return expr_add(r, nftnl_expr_alloc("masq"));
	}
	return -EINVAL;
}
