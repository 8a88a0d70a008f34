/*
 * The nftables side of nfqroute, as netlink: the plan (nftplan.c) becomes one nfnetlink
 * batch of libnftnl objects, sent and acknowledged as a whole, so the table is replaced
 * atomically or not at all.
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
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nftexpr.h"
#include "nftplan.h"
#include "nftstate.h"
#include "nftrules.h"

#define LOOPBACK_IFINDEX 1	/* "lo" is ifindex 1 in every network namespace */
#define NFT_TYPE_IPADDR 7	/* nft's datatype ids, so `nft list` can print the sets */
#define NFT_TYPE_IP6ADDR 8

const char *nftrules_queue_path_name(enum nftrules_queue_path path)
{
	return path == NFTRULES_QUEUE_NATIVE ? "native" : "compat (xt NFQUEUE)";
}

void nftrules_print(const struct conf *c, FILE *out)
{
	char err[256];
	struct plan p;

	if (nftplan_build(c, &p, err, sizeof(err)) < 0) {
		fprintf(out, "# %s\n", err);
		return;
	}
	nftplan_print(&p, out);
	nftplan_free(&p);
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

static int batch_chain(struct nbatch *b, const struct plan_chain *d, uint32_t *seq)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch)
		return -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFTRULES_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, d->name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (d->type) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, d->hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, d->prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, d->type);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_ACK, seq);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		mnl_nlmsg_batch_next(b->mb);
	}
	nftnl_chain_free(ch);
	return nlh ? 0 : -ENOSPC;
}

static int batch_rule(struct nbatch *b, const struct plan *p, const struct plan_rule *pr,
		      enum nftrules_queue_path path, uint32_t *seq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFTRULES_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, p->chains[pr->chain].name);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	for (size_t k = 0; k < pr->n && !ret; k++)
		ret = nftexpr_stmt_add(r, p, &pr->s[k], path == NFTRULES_QUEUE_NATIVE);
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

static struct nftnl_set *set_alloc(const struct plan_set *ps, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFTRULES_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, ps->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  ps->family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, ps->family == AF_INET ? 4 : 16);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL | (ps->is_vmap ? NFT_SET_MAP : 0));
	if (ps->is_vmap)
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	return s;
}

/* Adds the two interval elements of range i: its start (with the verdict) and its end. */
static int set_add_range(struct nftnl_set *s, const struct plan *p, const struct plan_set *ps,
			 size_t i)
{
	const struct netset_range *rg = &ps->elems[i];
	size_t w = ps->family == AF_INET ? 4 : 16;
	struct nftnl_set_elem *lo = nftnl_set_elem_alloc(), *hi;
	uint8_t end[16];
	bool last = true;

	if (!lo)
		return -ENOMEM;
	nftnl_set_elem_set(lo, NFTNL_SET_ELEM_KEY, rg->lo, (uint32_t)w);
	if (ps->is_vmap) {
		const char *chain = nftplan_route_chain(p, rg->route);

		nftnl_set_elem_set_u32(lo, NFTNL_SET_ELEM_VERDICT, chain ? (uint32_t)NFT_JUMP :
				       NF_ACCEPT);
		if (chain)
			nftnl_set_elem_set_str(lo, NFTNL_SET_ELEM_CHAIN, chain);
	}
	nftnl_set_elem_add(s, lo);
	/* the end element is the first address after the range, unless it wraps */
	memcpy(end, rg->hi, w);
	for (size_t k = w; k-- > 0 && last;)
		last = ++end[k] == 0;
	if (last)
		return 0;
	hi = nftnl_set_elem_alloc();
	if (!hi)
		return -ENOMEM;
	nftnl_set_elem_set(hi, NFTNL_SET_ELEM_KEY, end, (uint32_t)w);
	nftnl_set_elem_set_u32(hi, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, hi);
	return 0;
}

#define ELEMS_PER_MSG 256

static int batch_set(struct nbatch *b, const struct plan *p, size_t idx, uint32_t *seq)
{
	const struct plan_set *ps = &p->sets[idx];
	struct nftnl_set *s = set_alloc(ps, (uint32_t)idx + 1);
	struct nlmsghdr *nlh;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	nlh = batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_ACK, seq);
	if (!nlh) {
		nftnl_set_free(s);
		return -ENOSPC;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	mnl_nlmsg_batch_next(b->mb);
	nftnl_set_free(s);
	/* elements in bounded messages, each with its own set object */
	for (size_t i = 0; i < ps->n && !ret; i += ELEMS_PER_MSG) {
		s = set_alloc(ps, (uint32_t)idx + 1);
		if (!s)
			return -ENOMEM;
		for (size_t k = i; k < ps->n && k < i + ELEMS_PER_MSG && !ret; k++)
			ret = set_add_range(s, p, ps, k);
		nlh = ret ? NULL : batch_msg(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_ACK, seq);
		if (nlh) {
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			mnl_nlmsg_batch_next(b->mb);
		} else if (!ret) {
			ret = -ENOSPC;
		}
		nftnl_set_free(s);
	}
	return ret;
}

/* Deletes the named chain (del: NFT_MSG_DELCHAIN) or set (NFT_MSG_DELSET) of our table. */
static int batch_del(struct nbatch *b, uint16_t type, const char *name, uint32_t *seq)
{
	struct nlmsghdr *nlh = batch_msg(b, type, NLM_F_ACK, seq);

	if (!nlh)
		return -ENOSPC;
	mnl_attr_put_strz(nlh, type == NFT_MSG_DELSET ? NFTA_SET_TABLE : NFTA_CHAIN_TABLE,
			  NFTRULES_TABLE);
	mnl_attr_put_strz(nlh, type == NFT_MSG_DELSET ? NFTA_SET_NAME : NFTA_CHAIN_NAME, name);
	mnl_nlmsg_batch_next(b->mb);
	return 0;
}

static bool plan_has_chain(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n_chains; i++)
		if (!strcmp(p->chains[i].name, name))
			return true;
	return false;
}

/*
 * Empties the table the kernel has (st) for the plan: every rule (one table-wide
 * DELRULE), every set, every regular chain, and the base chains the plan no longer has.
 * The base chains it keeps stay registered: unregistering a hook makes the kernel drop
 * every queued packet (see nftstate.c).
 */
static int batch_empty(struct nbatch *b, const struct plan *p, const struct nftstate *st,
		       uint32_t *seq)
{
	struct nlmsghdr *nlh = batch_msg(b, NFT_MSG_DELRULE, NLM_F_ACK, seq);
	int ret = 0;

	if (!nlh)
		return -ENOSPC;
	mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, NFTRULES_TABLE);
	mnl_nlmsg_batch_next(b->mb);
	for (size_t i = 0; i < st->n_sets && !ret; i++)
		ret = batch_del(b, NFT_MSG_DELSET, st->sets[i], seq);
	for (size_t i = 0; i < st->n_chains && !ret; i++)
		if (!st->chains[i].base || !plan_has_chain(p, st->chains[i].name))
			ret = batch_del(b, NFT_MSG_DELCHAIN, st->chains[i].name, seq);
	return ret;
}

static int batch_body(struct nbatch *b, const struct plan *p, const struct nftstate *st,
		      enum nftrules_queue_path path, uint32_t *seq)
{
	int ret = batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq);

	/* without what the kernel has: new + delete + new, which replaces an older table
	 * atomically and never fails on absence (but unregisters its hooks) */
	if (!ret && !st)
		ret = batch_table(b, NFT_MSG_DELTABLE, NLM_F_ACK, seq);
	if (!ret && !st)
		ret = batch_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_ACK, seq);
	if (!ret && st)
		ret = batch_empty(b, p, st, seq);
	/* chains first: verdict map elements jump to them */
	for (size_t i = 0; i < p->n_chains && !ret; i++)
		ret = batch_chain(b, &p->chains[i], seq);
	for (size_t i = 0; i < p->n_sets && !ret; i++)
		ret = batch_set(b, p, i, seq);
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
static int batch_build(const struct plan *p, const struct nftstate *st,
		       enum nftrules_queue_path path, uint32_t seq, void *buf, size_t size,
		       uint32_t *seq_end)
{
	struct nbatch nb = { .size = size }, *b = &nb;
	int ret;

	/* libmnl lets a message run past the limit; keep half of the buffer as slack */
	nb.mb = mnl_nlmsg_batch_start(buf, size / 2);
	if (!nb.mb)
		return -ENOMEM;
	ret = batch_wrap(b, true, &seq);
	if (!ret)
		ret = batch_body(b, p, st, path, &seq);
	if (!ret) {
		*seq_end = seq;
		ret = batch_wrap(b, false, &seq);
	}
	if (!ret)
		ret = (int)mnl_nlmsg_batch_size(b->mb);
	mnl_nlmsg_batch_stop(b->mb);
	return ret;
}

/* Room for the whole batch: a few KiB per rule and chain, ~100 bytes per set element. */
static size_t batch_size_for(const struct plan *p)
{
	size_t n = 64 * 1024 + 4096 * (p->n_rules + p->n_chains + 2 * p->n_sets);

	for (size_t i = 0; i < p->n_sets; i++)
		n += 2 * 128 * p->sets[i].n;
	return 2 * n;
}

int nftrules_batch_build_over(const struct conf *c, const struct nftstate *st,
			      enum nftrules_queue_path path, uint32_t seq, void *buf, size_t size)
{
	char err[256];
	uint32_t seq_end;
	struct plan p;
	int ret = nftplan_build(c, &p, err, sizeof(err));

	if (ret)
		return ret;
	ret = batch_build(&p, st, path, seq, buf, size, &seq_end);
	nftplan_free(&p);
	return ret;
}

int nftrules_batch_build(const struct conf *c, enum nftrules_queue_path path, uint32_t seq,
			 void *buf, size_t size)
{
	return nftrules_batch_build_over(c, NULL, path, seq, buf, size);
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

static int install_path(const struct plan *p, enum nftrules_queue_path path)
{
	uint32_t seq = (uint32_t)time(NULL), seq_end;
	struct nftstate st;
	size_t size;
	void *buf;
	int len, ret = nftstate_read(NFTRULES_TABLE, &st);

	if (ret)
		return ret;
	size = batch_size_for(p) + 512 * (st.n_chains + st.n_sets);
	buf = malloc(size);
	if (!buf) {
		nftstate_free(&st);
		return -ENOMEM;
	}
	len = batch_build(p, &st, path, seq, buf, size, &seq_end);
	ret = len < 0 ? len : batch_send(buf, (size_t)len, seq + 1, seq_end - 1);
	free(buf);
	nftstate_free(&st);
	return ret;
}

int nftrules_install(const struct conf *c, enum nftrules_queue_path *used, char *err,
		     size_t errlen)
{
	struct plan p;
	int ret = nftplan_build(c, &p, err, errlen);

	if (ret)
		return ret;
	ret = install_path(&p, NFTRULES_QUEUE_NATIVE);
	*used = NFTRULES_QUEUE_NATIVE;
	/* ENOENT/EOPNOTSUPP: this kernel has no nft_queue (CONFIG_NFT_QUEUE unset) */
	if (ret == -ENOENT || ret == -EOPNOTSUPP) {
		ret = install_path(&p, NFTRULES_QUEUE_COMPAT);
		*used = NFTRULES_QUEUE_COMPAT;
	}
	if (ret)
		snprintf(err, errlen, "installing nftables table inet %s: %s", NFTRULES_TABLE,
			 strerror(-ret));
	nftplan_free(&p);
	return ret;
}

int nftrules_install_kept(const struct conf *c, char *err, size_t errlen)
{
	struct plan p;
	int ret = nftplan_build_kept(c, &p, err, errlen);

	if (ret)
		return ret;
	if (p.n_chains == 0) {
		nftplan_free(&p);
		return nftrules_remove(err, errlen);
	}
	ret = install_path(&p, NFTRULES_QUEUE_NATIVE);	/* no queue in it: any path */
	if (ret)
		snprintf(err, errlen, "keeping the restore rules of table inet %s: %s",
			 NFTRULES_TABLE, strerror(-ret));
	nftplan_free(&p);
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
