/*
 * Conntrack through ctnetlink with libmnl: one dump of the table, decisions made by the
 * caller while it streams in, then one change request per chosen connection. The change
 * carries the original tuple exactly as the dump sent it plus CTA_MARK and
 * CTA_MARK_MASK, so the kernel rewrites only the masked bits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>

#include "ctconn.h"

#define DUMP_BUF (64 * 1024)		/* the kernel fills at most this much per read */
#define RCVBUF (4 * 1024 * 1024)
#define TIMEOUT_S 5			/* the kernel answers at once; this only bounds a hang */
#define CHANGE_BUF 512

struct pending {
	struct ctconn_entry e;
	uint32_t bits;
};

struct walk {
	ctconn_remark_fn fn;
	void *ctx;
	uint32_t mask;
	struct pending *p;
	size_t n, cap;
	struct ctconn_counts *counts;
};

/* ---- parsing ---- */

static int attr_keep(const struct nlattr *attr, void *data, int max)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	/* newer kernels may add attributes: skip what we do not know */
	if (type <= max)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int ct_attr(const struct nlattr *attr, void *data)
{
	return attr_keep(attr, data, CTA_MAX);
}

static int tuple_attr(const struct nlattr *attr, void *data)
{
	return attr_keep(attr, data, CTA_TUPLE_MAX);
}

static int ip_attr(const struct nlattr *attr, void *data)
{
	return attr_keep(attr, data, CTA_IP_MAX);
}

static int proto_attr(const struct nlattr *attr, void *data)
{
	return attr_keep(attr, data, CTA_PROTO_MAX);
}

static int parse_addr(const struct nlattr *a, uint8_t family, struct pkt_addr *out)
{
	size_t len = family == AF_INET ? 4 : 16;

	if (!a || mnl_attr_get_payload_len(a) != len)
		return -EINVAL;
	out->family = family;
	memcpy(out->a, mnl_attr_get_payload(a), len);
	return 0;
}

static int parse_ip(const struct nlattr *nest, uint8_t family, struct ctconn_entry *out)
{
	const struct nlattr *tb[CTA_IP_MAX + 1] = { 0 };
	int src = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
	int dst = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;

	if (mnl_attr_parse_nested(nest, ip_attr, tb) < 0)
		return -EINVAL;
	if (parse_addr(tb[src], family, &out->src) < 0 ||
	    parse_addr(tb[dst], family, &out->dst) < 0)
		return -EINVAL;
	return 0;
}

static int parse_proto(const struct nlattr *nest, struct ctconn_entry *out)
{
	const struct nlattr *tb[CTA_PROTO_MAX + 1] = { 0 };

	if (mnl_attr_parse_nested(nest, proto_attr, tb) < 0 || !tb[CTA_PROTO_NUM] ||
	    mnl_attr_validate(tb[CTA_PROTO_NUM], MNL_TYPE_U8) < 0)
		return -EINVAL;
	out->l4proto = mnl_attr_get_u8(tb[CTA_PROTO_NUM]);
	if (tb[CTA_PROTO_SRC_PORT] && mnl_attr_validate(tb[CTA_PROTO_SRC_PORT], MNL_TYPE_U16) == 0)
		out->sport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_SRC_PORT]));
	if (tb[CTA_PROTO_DST_PORT] && mnl_attr_validate(tb[CTA_PROTO_DST_PORT], MNL_TYPE_U16) == 0)
		out->dport = ntohs(mnl_attr_get_u16(tb[CTA_PROTO_DST_PORT]));
	return 0;
}

static int parse_tuple(const struct nlattr *nest, uint8_t family, struct ctconn_entry *out)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1] = { 0 };
	size_t len = nest->nla_len;

	if (len > sizeof(out->tuple) || mnl_attr_parse_nested(nest, tuple_attr, tb) < 0 ||
	    !tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	if (parse_ip(tb[CTA_TUPLE_IP], family, out) < 0 ||
	    parse_proto(tb[CTA_TUPLE_PROTO], out) < 0)
		return -EINVAL;
	memcpy(out->tuple, nest, len);
	out->tuple_len = (uint16_t)len;
	return 0;
}

int ctconn_parse(const struct nlmsghdr *nlh, struct ctconn_entry *out)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg;
	uint8_t msg = nlh->nlmsg_type & 0xff;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_type >> 8 != NFNL_SUBSYS_CTNETLINK ||
	    (msg != IPCTNL_MSG_CT_NEW && msg != IPCTNL_MSG_CT_GET) ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return -EINVAL;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return -EINVAL;
	out->family = nfg->nfgen_family;
	if (mnl_attr_parse(nlh, sizeof(*nfg), ct_attr, tb) < 0 || !tb[CTA_TUPLE_ORIG] ||
	    parse_tuple(tb[CTA_TUPLE_ORIG], out->family, out) < 0)
		return -EINVAL;
	if (tb[CTA_MARK] && mnl_attr_validate(tb[CTA_MARK], MNL_TYPE_U32) == 0)
		out->mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	if (tb[CTA_ZONE] && mnl_attr_validate(tb[CTA_ZONE], MNL_TYPE_U16) == 0) {
		out->zone = ntohs(mnl_attr_get_u16(tb[CTA_ZONE]));
		out->has_zone = true;
	}
	return 0;
}

/* ---- the walk ---- */

static int walk_keep(struct walk *w, const struct ctconn_entry *e, uint32_t bits)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct pending *p = realloc(w->p, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		w->p = p;
		w->cap = cap;
	}
	w->p[w->n].e = *e;
	w->p[w->n].bits = bits & w->mask;
	w->n++;
	return 0;
}

static int walk_entry(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;
	struct ctconn_entry e;
	uint32_t bits = 0;

	if (ctconn_parse(nlh, &e) < 0)
		return MNL_CB_OK;	/* not ours to judge: skip it */
	w->counts->seen++;
	if (!w->fn(w->ctx, &e, &bits))
		return MNL_CB_OK;
	w->counts->chosen++;
	if (walk_keep(w, &e, bits) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int ct_open(struct mnl_socket **out, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int rcvbuf = RCVBUF, ret;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		snprintf(err, errlen, "conntrack netlink socket: %s", strerror(-ret));
		if (nl)
			mnl_socket_close(nl);
		return ret;
	}
	/* best effort: a bigger buffer makes an overrun of a large dump less likely */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*out = nl;
	return 0;
}

static struct nlmsghdr *ct_msg(char *buf, uint8_t msg, uint16_t flags, uint8_t family,
			       uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static int ct_dump(struct mnl_socket *nl, struct walk *w, char *err, size_t errlen)
{
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(nl);
	char *buf = malloc(DUMP_BUF);
	struct nlmsghdr *nlh;
	int ret = 0;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		ret = -errno;
	while (ret == 0) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, DUMP_BUF);

		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		n = mnl_cb_run(buf, (size_t)n, seq, portid, walk_entry, w);
		if (n < 0)
			ret = -errno;
		else if (n == MNL_CB_STOP)
			break;
	}
	free(buf);
	if (ret < 0)
		snprintf(err, errlen, "reading the conntrack table: %s%s", strerror(-ret),
			 ret == -EPERM ? " (CAP_NET_ADMIN is needed)" : "");
	return ret;
}

/* Sets the masked bits of one connection's mark; 0, -ENOENT (it ended) or -errno. */
static int ct_change(struct mnl_socket *nl, uint32_t seq, const struct pending *p,
		     uint32_t mask)
{
	const struct nlattr *tuple = (const struct nlattr *)p->e.tuple;
	char buf[CHANGE_BUF];
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, NLM_F_ACK, p->e.family, seq);
	ssize_t n;

	mnl_attr_put(nlh, tuple->nla_type, mnl_attr_get_payload_len(tuple),
		     mnl_attr_get_payload(tuple));
	if (p->e.has_zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(p->e.zone));
	/* the kernel computes (mark & ~CTA_MARK_MASK) ^ CTA_MARK */
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(p->bits));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(mask));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

static void ct_apply(struct mnl_socket *nl, struct walk *w, char *err, size_t errlen)
{
	uint32_t seq = (uint32_t)time(NULL) + 1;

	for (size_t i = 0; i < w->n; i++) {
		int ret = ct_change(nl, seq++, &w->p[i], w->mask);

		if (ret == 0) {
			w->counts->changed++;
		} else if (ret == -ENOENT) {
			w->counts->gone++;
		} else {
			if (!w->counts->failed)
				snprintf(err, errlen, "changing a conntrack mark: %s",
					 strerror(-ret));
			w->counts->failed++;
		}
	}
}

int ctconn_remark(uint32_t mask, ctconn_remark_fn fn, void *ctx, struct ctconn_counts *out,
		  char *err, size_t errlen)
{
	struct walk w = { .fn = fn, .ctx = ctx, .mask = mask, .counts = out };
	struct mnl_socket *nl = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = ct_open(&nl, err, errlen);
	if (ret < 0)
		return ret;
	ret = ct_dump(nl, &w, err, errlen);
	if (ret == 0)
		ct_apply(nl, &w, err, errlen);
	free(w.p);
	mnl_socket_close(nl);
	return ret;
}
