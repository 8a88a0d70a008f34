/*
 * Reading back our table, so a reload can replace its rules, sets and regular chains while
 * its base chains stay registered: deleting a base chain unregisters its hook, and the
 * kernel then drops every packet waiting in any NFQUEUE of the namespace (a DNS reply or
 * a SYN in flight at that moment would be lost).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "nftstate.h"

/* Older kernels dump the chains of every table of the family: keep only ours. */
static bool state_ours(const struct nftstate *st, const char *table)
{
	return table && !strcmp(table, st->table);
}

static int state_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftstate *st = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftstate_chain *grown;
	const char *name;

	if (!c)
		return MNL_CB_ERROR;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0 ||
	    nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) != NFPROTO_INET ||
	    !state_ours(st, nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)) ||
	    !(name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME))) {
		nftnl_chain_free(c);
		return MNL_CB_OK;	/* not one of ours to read: skip it */
	}
	grown = realloc(st->chains, (st->n_chains + 1) * sizeof(*st->chains));
	if (!grown) {
		nftnl_chain_free(c);
		return MNL_CB_ERROR;
	}
	st->chains = grown;
	snprintf(grown[st->n_chains].name, sizeof(grown->name), "%s", name);
	grown[st->n_chains++].base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
	nftnl_chain_free(c);
	return MNL_CB_OK;
}

static int state_set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftstate *st = data;
	struct nftnl_set *s = nftnl_set_alloc();
	char (*grown)[256];
	const char *name;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0 ||
	    nftnl_set_get_u32(s, NFTNL_SET_FAMILY) != NFPROTO_INET ||
	    !state_ours(st, nftnl_set_get_str(s, NFTNL_SET_TABLE)) ||
	    !(name = nftnl_set_get_str(s, NFTNL_SET_NAME))) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	grown = realloc(st->sets, (st->n_sets + 1) * sizeof(*st->sets));
	if (!grown) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	st->sets = grown;
	snprintf(grown[st->n_sets++], sizeof(*grown), "%s", name);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

/* One dump request (GETCHAIN or GETSET) for table, its replies through cb. */
static int state_dump(struct mnl_socket *nl, uint16_t type, const char *table, mnl_cb_t cb,
		      struct nftstate *st)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP, seq);
	int ret;

	if (type == NFT_MSG_GETCHAIN) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c)
			return -ENOMEM;
		nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nftnl_chain_free(c);
	} else {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0)
			return ret < 0 ? -errno : -EIO;
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, cb, st);
	} while (ret > 0);
	/* a table that does not exist has neither */
	return ret < 0 && errno == ENOENT ? 0 : ret < 0 ? -errno : 0;
}

int nftstate_read(const char *table, struct nftstate *st)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int ret;

	memset(st, 0, sizeof(*st));
	st->table = table;
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		ret = -errno;
	else
		ret = state_dump(nl, NFT_MSG_GETCHAIN, table, state_chain_cb, st);
	if (!ret)
		ret = state_dump(nl, NFT_MSG_GETSET, table, state_set_cb, st);
	mnl_socket_close(nl);
	if (ret)
		nftstate_free(st);
	return ret;
}

void nftstate_free(struct nftstate *st)
{
	free(st->chains);
	free(st->sets);
	memset(st, 0, sizeof(*st));
}
