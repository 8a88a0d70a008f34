/*
 * Decision events as text and JSON lines, and the filters `nfqroute monitor` takes. The
 * daemon formats an event at most once per format whatever the number of monitors, so
 * formatting stays in caller buffers and never touches the system beyond the clock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "flowlog.h"
#include "util.h"

#define FILTER_TOKENS 96
#define NAME_MAX_LEN 253

/* ---- output helper: append into a caller buffer, remember overflow ---- */

struct out {
	char *buf;
	size_t size, len;
	bool full;
};

static void out_init(struct out *o, char *buf, size_t size)
{
	*o = (struct out){ buf, size, 0, size == 0 };
	if (size)
		buf[0] = '\0';
}

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (n >= o->size - o->len) {
		n = o->size - o->len - 1;
		o->full = true;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* only short fixed-width fields go through here; a longer one is a bug, so fail loud */
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->full = true;
		return;
	}
	out_mem(o, tmp, (size_t)n);
}

static int out_done(const struct out *o)
{
	return o->full ? -ENOSPC : (int)o->len;
}

/* Text output: printable ASCII as is, anything else as \DDD like dns.c writes names. */
static void out_text(struct out *o, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			out_printf(o, "\\%03u", *p);
		else
			out_mem(o, (const char *)p, 1);
	}
}

/* JSON string (with quotes), or null. Bytes >= 0x80 become \u00XX so output is ASCII. */
static void out_json_str(struct out *o, const char *s)
{
	if (!s) {
		out_str(o, "null");
		return;
	}
	out_mem(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };

			out_mem(o, esc, 2);
		} else if (*p < 0x20 || *p >= 0x7f) {
			out_printf(o, "\\u%04x", *p);
		} else {
			out_mem(o, (const char *)p, 1);
		}
	}
	out_mem(o, "\"", 1);
}

/* A string worth printing: NULL and "" both mean "not known". */
static bool present(const char *s)
{
	return s && *s;
}

/* ---- names of things ---- */

const char *flowlog_kind_name(enum flowlog_kind kind)
{
	switch (kind) {
	case FLOWLOG_FLOW:
		return "flow";
	case FLOWLOG_DNS_ANSWER:
		return "dns-answer";
	case FLOWLOG_DNS_MALFORMED:
		return "dns-malformed";
	}
	return "?";
}

static const struct {
	uint8_t num;
	const char *name;
} proto_names[] = {
	{ IPPROTO_TCP, "tcp" }, { IPPROTO_UDP, "udp" }, { IPPROTO_ICMP, "icmp" },
	{ IPPROTO_ICMPV6, "icmp6" }, { IPPROTO_SCTP, "sctp" }, { IPPROTO_GRE, "gre" },
	{ IPPROTO_ESP, "esp" },
};

static const char *proto_name(uint8_t proto, char *tmp, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(proto_names); i++)
		if (proto_names[i].num == proto)
			return proto_names[i].name;
	snprintf(tmp, size, "ip-proto-%u", proto);
	return tmp;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* tcpdump prints these by their /etc/services name; a fixed table never blocks. */
static const struct {
	uint16_t port;
	const char *name;
} port_names[] = {
	{ 21, "ftp" }, { 22, "ssh" }, { 23, "telnet" }, { 25, "smtp" }, { 53, "domain" },
	{ 67, "bootps" }, { 68, "bootpc" }, { 80, "http" }, { 110, "pop3" }, { 123, "ntp" },
	{ 143, "imap" }, { 443, "https" }, { 465, "submissions" }, { 587, "submission" },
	{ 853, "domain-s" }, { 993, "imaps" }, { 995, "pop3s" }, { 5353, "mdns" },
};

static void out_port(struct out *o, uint16_t port, bool numeric)
{
	if (!numeric)
		for (size_t i = 0; i < ARRAY_SIZE(port_names); i++)
			if (port_names[i].port == port) {
				out_printf(o, ".%s", port_names[i].name);
				return;
			}
	out_printf(o, ".%u", port);
}

static const char *rrtype_name(uint16_t type, char *tmp, size_t size)
{
	if (type == 1)
		return "A";
	if (type == 28)
		return "AAAA";
	snprintf(tmp, size, "TYPE%u", type);
	return tmp;
}

void flowlog_event_stamp(struct flowlog_event *ev)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time.tv_sec = ts.tv_sec;
	ev->time.tv_usec = ts.tv_nsec / 1000;
}

/* ---- text ---- */

static void text_endpoints(struct out *o, const struct flowlog_event *ev, bool numeric)
{
	char a[INET6_ADDRSTRLEN];
	bool ports = proto_has_ports(ev->l4proto);

	out_str(o, ev->src.family == AF_INET6 ? " IP6 " : " IP ");
	out_str(o, pkt_addr_str(&ev->src, a, sizeof(a)));
	if (ports)
		out_port(o, ev->sport, numeric);
	out_str(o, " > ");
	out_str(o, pkt_addr_str(&ev->dst, a, sizeof(a)));
	if (ports)
		out_port(o, ev->dport, numeric);
	out_str(o, ": ");
}

static void text_flow(struct out *o, const struct flowlog_event *ev)
{
	char tmp[24];

	out_str(o, proto_name(ev->l4proto, tmp, sizeof(tmp)));
	out_str(o, " ");
	out_text(o, present(ev->domain) ? ev->domain : "-");
	out_str(o, " -> ");
	out_text(o, present(ev->route) ? ev->route : "unrouted");
	out_printf(o, " (mark 0x%x", ev->mark);
	if (present(ev->reason)) {
		out_str(o, ", ");
		out_text(o, ev->reason);
	}
	out_str(o, ")");
}

static void text_dns_answer(struct out *o, const struct flowlog_event *ev)
{
	char tmp[24], a[INET6_ADDRSTRLEN];

	out_printf(o, "dns %s ", rrtype_name(ev->rrtype, tmp, sizeof(tmp)));
	out_text(o, present(ev->domain) ? ev->domain : "-");
	out_str(o, " = ");
	out_str(o, pkt_addr_str(&ev->answer, a, sizeof(a)));
	out_printf(o, " ttl %u (", ev->ttl);
	out_text(o, present(ev->route) ? ev->route : "unrouted");
	if (present(ev->reason)) {
		out_str(o, ", ");
		out_text(o, ev->reason);
	}
	out_str(o, ")");
}

static void text_dns_malformed(struct out *o, const struct flowlog_event *ev)
{
	out_str(o, "dns malformed");
	if (present(ev->domain)) {
		out_str(o, " ");
		out_text(o, ev->domain);
	}
	if (present(ev->reason)) {
		out_str(o, " (");
		out_text(o, ev->reason);
		out_str(o, ")");
	}
}

int flowlog_format_text(const struct flowlog_event *ev, bool numeric, char *buf, size_t size)
{
	time_t sec = ev->time.tv_sec;
	struct out o;
	struct tm tm;

	out_init(&o, buf, size);
	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	out_printf(&o, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		   (long)ev->time.tv_usec);
	text_endpoints(&o, ev, numeric);
	switch (ev->kind) {
	case FLOWLOG_FLOW:
		text_flow(&o, ev);
		break;
	case FLOWLOG_DNS_ANSWER:
		text_dns_answer(&o, ev);
		break;
	case FLOWLOG_DNS_MALFORMED:
		text_dns_malformed(&o, ev);
		break;
	}
	return out_done(&o);
}

/* ---- JSON ---- */

static void json_addr(struct out *o, const char *key, const struct pkt_addr *addr)
{
	char a[INET6_ADDRSTRLEN];

	out_printf(o, ",\"%s\":", key);
	out_json_str(o, pkt_addr_str(addr, a, sizeof(a)));
}

static void json_time(struct out *o, const struct timeval *tv)
{
	time_t sec = tv->tv_sec;
	struct tm tm;

	out_printf(o, "{\"ts\":%lld.%06ld", (long long)tv->tv_sec, (long)tv->tv_usec);
	if (!gmtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	out_printf(o, ",\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\"", tm.tm_year + 1900,
		   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv->tv_usec);
}

int flowlog_format_json(const struct flowlog_event *ev, char *buf, size_t size)
{
	char tmp[24];
	struct out o;

	out_init(&o, buf, size);
	json_time(&o, &ev->time);
	out_printf(&o, ",\"kind\":\"%s\",\"family\":\"%s\",\"proto\":", flowlog_kind_name(ev->kind),
		   ev->src.family == AF_INET6 ? "ip6" : "ip");
	out_json_str(&o, proto_name(ev->l4proto, tmp, sizeof(tmp)));
	json_addr(&o, "src", &ev->src);
	out_printf(&o, ",\"sport\":%u", ev->sport);
	json_addr(&o, "dst", &ev->dst);
	out_printf(&o, ",\"dport\":%u,\"domain\":", ev->dport);
	out_json_str(&o, ev->domain);
	out_str(&o, ",\"route\":");
	out_json_str(&o, ev->route);
	if (ev->kind == FLOWLOG_FLOW)
		out_printf(&o, ",\"mark\":%u", ev->mark);
	if (ev->kind == FLOWLOG_DNS_ANSWER) {
		out_printf(&o, ",\"rrtype\":\"%s\"", rrtype_name(ev->rrtype, tmp, sizeof(tmp)));
		json_addr(&o, "answer", &ev->answer);
		out_printf(&o, ",\"ttl\":%u", ev->ttl);
	}
	out_str(&o, ",\"reason\":");
	out_json_str(&o, ev->reason);
	out_str(&o, "}");
	return out_done(&o);
}

/* ---- filter: tokens ---- */

struct tok {
	const char *s;
	size_t len;
};

struct parser {
	struct tok toks[FILTER_TOKENS];
	size_t n, pos;
	struct flowlog_filter *f;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int parse_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int tok_push(struct parser *p, const char *s, size_t len)
{
	if (p->n == FILTER_TOKENS)
		return parse_err(p, "filter too long (at most %d words)", FILTER_TOKENS);
	p->toks[p->n++] = (struct tok){ s, len };
	return 0;
}

/* Splits one word at blanks; parentheses and a leading '!' are tokens of their own. */
static int tok_split(struct parser *p, const char *w)
{
	while (*w) {
		size_t len;

		if (strchr(" \t\r\n", *w)) {
			w++;
			continue;
		}
		if (*w == '(' || *w == ')' || (*w == '!' && w[1] != '=')) {
			if (tok_push(p, w++, 1) < 0)
				return -EINVAL;
			continue;
		}
		len = strcspn(w, " \t\r\n()");
		if (tok_push(p, w, len) < 0)
			return -EINVAL;
		w += len;
	}
	return 0;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t && t->len == strlen(word) && strncasecmp(t->s, word, t->len) == 0;
}

static const struct tok *tok_peek(const struct parser *p)
{
	return p->pos < p->n ? &p->toks[p->pos] : NULL;
}

static const struct tok *tok_next(struct parser *p)
{
	return p->pos < p->n ? &p->toks[p->pos++] : NULL;
}

/* Copies an operand into a NUL-terminated buffer, refusing what does not fit. */
static int tok_copy(struct parser *p, const struct tok *t, char *dst, size_t size)
{
	if (t->len >= size)
		return parse_err(p, "'%.*s...' is too long", 20, t->s);
	memcpy(dst, t->s, t->len);
	dst[t->len] = '\0';
	return 0;
}

/* ---- filter: primitives ---- */

static struct flowlog_node *node_add(struct parser *p, enum flowlog_node_type type)
{
	struct flowlog_node *nd;

	if (p->f->n == FLOWLOG_FILTER_NODES) {
		parse_err(p, "filter too long (at most %d terms and operators)",
			  FLOWLOG_FILTER_NODES);
		return NULL;
	}
	nd = &p->f->nodes[p->f->n++];
	memset(nd, 0, sizeof(*nd));
	nd->type = (uint8_t)type;
	return nd;
}

static const struct tok *operand(struct parser *p, const char *what, const char *needs)
{
	const struct tok *t = tok_next(p);

	if (!t || tok_is(t, "(") || tok_is(t, ")")) {
		parse_err(p, "%s needs %s", what, needs);
		return NULL;
	}
	return t;
}

static int prim_host(struct parser *p, const char *what, enum flowlog_dir dir)
{
	const struct tok *t = operand(p, what, "an address");
	struct flowlog_node *nd;
	char text[INET6_ADDRSTRLEN + 5], *slash, *end;
	unsigned long bits;

	if (!t || tok_copy(p, t, text, sizeof(text)) < 0)
		return -EINVAL;
	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	nd = node_add(p, FLOWLOG_N_HOST);
	if (!nd)
		return -EINVAL;
	if (pkt_addr_parse(text, &nd->addr) < 0)
		return parse_err(p, "%s: '%s' is not an IPv4 or IPv6 address", what, text);
	nd->dir = (uint8_t)dir;
	nd->prefix = nd->addr.family == AF_INET ? 32 : 128;
	if (!slash)
		return 0;
	errno = 0;
	bits = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || bits > nd->prefix)
		return parse_err(p, "%s: '/%s' is not a prefix length for %s", what, slash + 1,
				 text);
	nd->prefix = (uint8_t)bits;
	return 0;
}

static int prim_port(struct parser *p, const char *what, enum flowlog_dir dir)
{
	const struct tok *t = operand(p, what, "a port number");
	struct flowlog_node *nd;
	char text[16], *end;
	unsigned long port = 0;

	if (!t || tok_copy(p, t, text, sizeof(text)) < 0)
		return -EINVAL;
	/* the names the output uses are accepted too: `port https` */
	for (size_t i = 0; i < ARRAY_SIZE(port_names); i++)
		if (!strcmp(port_names[i].name, text))
			port = port_names[i].port;
	errno = 0;
	if (!port)
		port = strtoul(text, &end, 10);
	else
		end = text + strlen(text);
	if (errno || end == text || *end || port == 0 || port > 65535)
		return parse_err(p, "%s: '%s' is neither a port number (1-65535) nor a port name "
				 "of the output (http, https, domain, ...)", what, text);
	nd = node_add(p, FLOWLOG_N_PORT);
	if (!nd)
		return -EINVAL;
	nd->dir = (uint8_t)dir;
	nd->num = (uint16_t)port;
	return 0;
}

/* Lowercase, without "*." or "." in front and "." at the end: how dns.c writes names. */
static int domain_norm(struct parser *p, const struct tok *t, char *out, size_t size)
{
	const char *s = t->s;
	size_t len = t->len;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len && s[0] == '.') {
		s++;
		len--;
	}
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0)
		return parse_err(p, "domain needs a name");
	if (len > NAME_MAX_LEN || len >= size)
		return parse_err(p, "domain: '%.*s...' is longer than a domain name", 20, s);
	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[len] = '\0';
	return 0;
}

static int prim_domain(struct parser *p)
{
	const struct tok *t = operand(p, "domain", "a name");
	struct flowlog_node *nd;

	if (!t)
		return -EINVAL;
	nd = node_add(p, FLOWLOG_N_DOMAIN);
	if (!nd)
		return -EINVAL;
	return domain_norm(p, t, nd->text, sizeof(nd->text));
}

static int prim_route(struct parser *p, const struct tok *name)
{
	struct flowlog_node *nd;

	if (!name && !(name = operand(p, "route", "a name")))
		return -EINVAL;
	nd = node_add(p, FLOWLOG_N_ROUTE);
	return nd ? tok_copy(p, name, nd->text, sizeof(nd->text)) : -EINVAL;
}

static int proto_parse(const struct tok *t)
{
	char text[8], *end;
	unsigned long num;

	if (tok_is(t, "dns"))
		return FLOWLOG_PROTO_DNS;
	for (size_t i = 0; i < ARRAY_SIZE(proto_names); i++)
		if (tok_is(t, proto_names[i].name))
			return proto_names[i].num;
	if (tok_is(t, "icmpv6"))
		return IPPROTO_ICMPV6;
	if (t->len >= sizeof(text))
		return -EINVAL;
	memcpy(text, t->s, t->len);
	text[t->len] = '\0';
	errno = 0;
	num = strtoul(text, &end, 10);
	if (errno || end == text || *end || num > 255)
		return -EINVAL;
	return (int)num;
}

static int prim_proto(struct parser *p, const struct tok *name)
{
	struct flowlog_node *nd;
	int num;

	if (!name && !(name = operand(p, "proto", "tcp, udp, dns or a number")))
		return -EINVAL;
	num = proto_parse(name);
	if (num < 0)
		return parse_err(p, "proto: '%.*s' is not tcp, udp, icmp, icmp6, dns or 0-255",
				 (int)(name->len > 20 ? 20 : name->len), name->s);
	nd = node_add(p, FLOWLOG_N_PROTO);
	if (!nd)
		return -EINVAL;
	nd->num = (uint16_t)num;
	return 0;
}

/* `src`/`dst` followed by host, net, port or directly an address. */
static int prim_dir(struct parser *p, const struct tok *kw)
{
	enum flowlog_dir dir = tok_is(kw, "src") ? FLOWLOG_DIR_SRC : FLOWLOG_DIR_DST;
	const char *what = dir == FLOWLOG_DIR_SRC ? "src" : "dst";
	const struct tok *t = tok_peek(p);

	if (tok_is(t, "host") || tok_is(t, "net")) {
		p->pos++;
		return prim_host(p, what, dir);
	}
	if (tok_is(t, "port")) {
		p->pos++;
		return prim_port(p, what, dir);
	}
	return prim_host(p, what, dir);
}

static int prim(struct parser *p)
{
	const struct tok *t = tok_next(p);

	if (!t)
		return parse_err(p, "filter ends where a term was expected");
	if (tok_is(t, "host") || tok_is(t, "net"))
		return prim_host(p, tok_is(t, "host") ? "host" : "net", FLOWLOG_DIR_ANY);
	if (tok_is(t, "src") || tok_is(t, "dst"))
		return prim_dir(p, t);
	if (tok_is(t, "port"))
		return prim_port(p, "port", FLOWLOG_DIR_ANY);
	if (tok_is(t, "domain"))
		return prim_domain(p);
	if (tok_is(t, "route"))
		return prim_route(p, NULL);
	if (tok_is(t, "unrouted"))
		return prim_route(p, t);
	if (tok_is(t, "proto"))
		return prim_proto(p, NULL);
	if (tok_is(t, "tcp") || tok_is(t, "udp") || tok_is(t, "dns") || tok_is(t, "icmp") ||
	    tok_is(t, "icmp6"))
		return prim_proto(p, t);
	return parse_err(p, "unknown word '%.*s' (expected host, net, src, dst, port, domain, "
			 "route, proto, not or '(')", (int)(t->len > 40 ? 40 : t->len), t->s);
}

/* ---- filter: expression (recursive descent emitting postfix) ---- */

static int expr_or(struct parser *p, unsigned depth);

static int expr_factor(struct parser *p, unsigned depth)
{
	const struct tok *t = tok_peek(p);

	if (depth > FILTER_TOKENS)
		return parse_err(p, "filter nested too deeply");
	if (tok_is(t, "not") || tok_is(t, "!")) {
		p->pos++;
		if (expr_factor(p, depth + 1) < 0)
			return -EINVAL;
		return node_add(p, FLOWLOG_N_NOT) ? 0 : -EINVAL;
	}
	if (tok_is(t, "(")) {
		p->pos++;
		if (expr_or(p, depth + 1) < 0)
			return -EINVAL;
		if (!tok_is(tok_next(p), ")"))
			return parse_err(p, "missing ')'");
		return 0;
	}
	return prim(p);
}

static bool starts_factor(const struct tok *t)
{
	return t && !tok_is(t, ")") && !tok_is(t, "or") && !tok_is(t, "||") &&
	       !tok_is(t, "and") && !tok_is(t, "&&");
}

static int expr_and(struct parser *p, unsigned depth)
{
	if (expr_factor(p, depth) < 0)
		return -EINVAL;
	for (;;) {
		const struct tok *t = tok_peek(p);

		if (tok_is(t, "and") || tok_is(t, "&&"))
			p->pos++;
		else if (!starts_factor(t))
			return 0;
		if (expr_factor(p, depth) < 0 || !node_add(p, FLOWLOG_N_AND))
			return -EINVAL;
	}
}

static int expr_or(struct parser *p, unsigned depth)
{
	if (expr_and(p, depth) < 0)
		return -EINVAL;
	while (tok_is(tok_peek(p), "or") || tok_is(tok_peek(p), "||")) {
		p->pos++;
		if (expr_and(p, depth) < 0 || !node_add(p, FLOWLOG_N_OR))
			return -EINVAL;
	}
	return 0;
}

int flowlog_filter_parse(int argc, char *const *argv, struct flowlog_filter *out, char *err,
			 size_t errlen)
{
	struct parser p = { .f = out, .err = err, .errlen = errlen };
	const struct tok *t;

	out->n = 0;
	for (int i = 0; i < argc; i++)
		if (tok_split(&p, argv[i]) < 0)
			goto fail;
	if (p.n == 0)
		return 0;
	if (expr_or(&p, 0) < 0)
		goto fail;
	t = tok_peek(&p);
	if (!t)
		return 0;
	if (tok_is(t, ")"))
		parse_err(&p, "unbalanced ')'");
	else
		parse_err(&p, "unexpected '%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
fail:
	out->n = 0;
	return -EINVAL;
}

/* ---- filter: matching ---- */

static bool addr_in(const struct pkt_addr *a, const struct flowlog_node *nd)
{
	unsigned full = nd->prefix / 8, rest = nd->prefix % 8;

	if (a->family != nd->addr.family)
		return false;
	if (memcmp(a->a, nd->addr.a, full) != 0)
		return false;
	if (!rest)
		return true;
	return ((a->a[full] ^ nd->addr.a[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

static bool match_host(const struct flowlog_node *nd, const struct flowlog_event *ev)
{
	if (nd->dir != FLOWLOG_DIR_DST && addr_in(&ev->src, nd))
		return true;
	if (nd->dir == FLOWLOG_DIR_SRC)
		return false;
	return addr_in(&ev->dst, nd) ||
	       (ev->kind == FLOWLOG_DNS_ANSWER && addr_in(&ev->answer, nd));
}

static bool match_port(const struct flowlog_node *nd, const struct flowlog_event *ev)
{
	if (!proto_has_ports(ev->l4proto))
		return false;
	return (nd->dir != FLOWLOG_DIR_DST && ev->sport == nd->num) ||
	       (nd->dir != FLOWLOG_DIR_SRC && ev->dport == nd->num);
}

/* name equals suffix or ends in "." suffix (ASCII case-insensitive) */
static bool match_domain(const char *name, const char *suffix)
{
	size_t nl, sl;

	if (!name)
		return false;
	nl = strlen(name);
	sl = strlen(suffix);
	if (nl < sl || strcasecmp(name + nl - sl, suffix) != 0)
		return false;
	return nl == sl || name[nl - sl - 1] == '.';
}

static bool match_node(const struct flowlog_node *nd, const struct flowlog_event *ev)
{
	switch (nd->type) {
	case FLOWLOG_N_HOST:
		return match_host(nd, ev);
	case FLOWLOG_N_PORT:
		return match_port(nd, ev);
	case FLOWLOG_N_DOMAIN:
		return match_domain(ev->domain, nd->text);
	case FLOWLOG_N_ROUTE:
		return present(ev->route) ? strcmp(ev->route, nd->text) == 0 :
				   strcmp(nd->text, "unrouted") == 0;
	case FLOWLOG_N_PROTO:
		if (nd->num == FLOWLOG_PROTO_DNS)
			return ev->kind != FLOWLOG_FLOW;
		return ev->l4proto == nd->num;
	}
	return false;
}

bool flowlog_filter_match(const struct flowlog_filter *f, const struct flowlog_event *ev)
{
	bool stack[FLOWLOG_FILTER_NODES];
	unsigned sp = 0;

	if (f->n == 0)
		return true;
	for (unsigned i = 0; i < f->n && i < FLOWLOG_FILTER_NODES; i++) {
		const struct flowlog_node *nd = &f->nodes[i];

		switch (nd->type) {
		case FLOWLOG_N_AND:
		case FLOWLOG_N_OR:
			/* a filter built by flowlog_filter_parse always has two operands here */
			if (sp < 2)
				return false;
			sp--;
			stack[sp - 1] = nd->type == FLOWLOG_N_AND ? stack[sp - 1] && stack[sp] :
								    stack[sp - 1] || stack[sp];
			break;
		case FLOWLOG_N_NOT:
			if (sp < 1)
				return false;
			stack[sp - 1] = !stack[sp - 1];
			break;
		default:
			stack[sp++] = match_node(nd, ev);
			break;
		}
	}
	return sp == 1 && stack[0];
}
