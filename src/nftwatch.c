/*
 * Notifications arrive per object, then one NFT_MSG_NEWGEN closes each transaction with
 * the committing process's pid and name. So: remember whether the transaction so far
 * deleted something of our table, and decide at its NEWGEN.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <libmnl/libmnl.h>

#include "nftwatch.h"

struct nftwatch {
	struct mnl_socket *nl;
	const char *table;
	pid_t self;
	bool touched;		/* this transaction deleted something of our table */
	bool lost;
	char buf[65536];
};

struct nftwatch *nftwatch_new(const char *table, char *err, size_t errlen)
{
	struct nftwatch *w = calloc(1, sizeof(*w));
	int group = NFNLGRP_NFTABLES, big = 1 << 20;

	if (!w) {
		snprintf(err, errlen, "nftables watch: out of memory");
		return NULL;
	}
	w->table = table;
	w->self = getpid();
	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		snprintf(err, errlen, "nftables watch: %s", strerror(errno));
		nftwatch_free(w);
		return NULL;
	}
	/* a firewall restart sends an event per object of every table: room for bursts */
	setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return w;
}

void nftwatch_free(struct nftwatch *w)
{
	if (!w)
		return;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w);
}

int nftwatch_fd(const struct nftwatch *w)
{
	return mnl_socket_get_fd(w->nl);
}

/* The table attribute of a table, chain, rule or set message (all of them carry it as
 * attribute 1: NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE). */
static const char *msg_table(const struct nlmsghdr *nlh, size_t avail)
{
	const struct nlattr *a;
	size_t off = MNL_ALIGN(sizeof(struct nfgenmsg));

	if (avail < NLMSG_HDRLEN + off || nlh->nlmsg_len > avail)
		return NULL;
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == 1 && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	}
	return NULL;
}

/* NEWGEN's pid and process name. */
static void msg_gen(const struct nlmsghdr *nlh, struct nftwatch_event *ev)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, MNL_ALIGN(sizeof(struct nfgenmsg))) {
		if (mnl_attr_get_type(a) == NFTA_GEN_PROC_PID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ev->pid = (pid_t)ntohl(mnl_attr_get_u32(a));
		else if (mnl_attr_get_type(a) == NFTA_GEN_PROC_NAME &&
			 mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(ev->comm, sizeof(ev->comm), "%s", mnl_attr_get_str(a));
	}
}

int nftwatch_feed(struct nftwatch *w, const struct nlmsghdr *nlh, size_t avail,
		  struct nftwatch_event *ev)
{
	const struct nfgenmsg *g;
	const char *t;
	uint16_t type;

	if (avail < NLMSG_HDRLEN + sizeof(*g) || nlh->nlmsg_len > avail ||
	    NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return 0;
	g = mnl_nlmsg_get_payload(nlh);
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (type == NFT_MSG_NEWGEN) {
		struct nftwatch_event e = { 0 };
		bool report = w->touched;

		w->touched = false;
		msg_gen(nlh, &e);
		if (!report || e.pid == w->self)
			return 0;
		*ev = e;
		return 1;
	}
	if (type != NFT_MSG_DELTABLE && type != NFT_MSG_DELCHAIN && type != NFT_MSG_DELRULE &&
	    type != NFT_MSG_DELSET)
		return 0;
	t = msg_table(nlh, avail);
	if (g->nfgen_family == NFPROTO_INET && t && !strcmp(t, w->table))
		w->touched = true;
	return 0;
}

int nftwatch_read(struct nftwatch *w, struct nftwatch_event *ev)
{
	int found = 0;

	memset(ev, 0, sizeof(*ev));
	for (;;) {
		ssize_t n = recv(nftwatch_fd(w), w->buf, sizeof(w->buf), MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS) {
			/* overrun: whatever happened, check */
			w->touched = false;
			ev->lost = true;
			found = 1;
			continue;
		}
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? found : -errno;
		if (n == 0)
			return found;
		int len = (int)n;

		for (const struct nlmsghdr *nlh = (const void *)w->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			struct nftwatch_event e;

			if (nftwatch_feed(w, nlh, (size_t)len, &e) == 1) {
				bool lost = ev->lost;

				*ev = e;
				ev->lost = lost;
				found = 1;
			}
		}
	}
}
