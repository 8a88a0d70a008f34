/* One parser per kind of configuration value; each says FILE:LINE and why on error. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_int.h"
#include "dlist.h"
#include "domain.h"
#include "util.h"

/*
 * "FILE:LINE: message" (line 0: "FILE: message") into out, with what no conf_q escaped
 * (the path, a stray value) escaped too: no raw byte of the file ever reaches a terminal.
 */
static void conf_vformat(const struct conf_parser *p, unsigned line, char *out, size_t size,
			 const char *fmt, va_list ap)
{
	char msg[2 * CONF_ERR_MAX];
	int n;

	if (line)
		n = snprintf(msg, sizeof(msg), "%s:%u: ", p->path, line);
	else
		n = snprintf(msg, sizeof(msg), "%s: ", p->path);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	util_quote(out, size, msg);
}

int conf_err(struct conf_parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!p->err || !p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	conf_vformat(p, line, p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int conf_err_file(struct conf_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err || !p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	conf_vformat(p, 0, p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void conf_warn(struct conf_parser *p, unsigned line, const char *fmt, ...)
{
	struct conf *c = p->c;
	char msg[CONF_ERR_MAX], **arr;
	va_list ap;

	if (c->n_warnings >= CONF_WARN_MAX) {
		c->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	conf_vformat(p, line, msg, sizeof(msg), fmt, ap);
	va_end(ap);
	arr = conf_array_grow(c->warnings, c->n_warnings, sizeof(*arr));
	if (arr)
		c->warnings = arr;
	if (!arr || !(arr[c->n_warnings] = strdup(msg))) {
		c->warnings_dropped++;
		return;
	}
	c->n_warnings++;
}

const char *conf_q(struct conf_parser *p, const char *text)
{
	char *buf = p->quote[p->n_quote++ % CONF_QUOTES];

	util_quote(buf, CONF_QUOTE_MAX, text);
	return buf;
}

int conf_nomem(struct conf_parser *p)
{
	conf_err_file(p, "out of memory");
	return -ENOMEM;
}

/*
 * Returns arr with room for element n of an array that grows by doubling (the capacity
 * follows from n alone, so structs need no capacity field), or NULL without freeing arr.
 */
void *conf_array_grow(void *arr, size_t n, size_t size)
{
	size_t cap;

	if (n && (n < 8 || (n & (n - 1))))
		return arr;
	cap = n ? 2 * n : 8;
	if (cap > SIZE_MAX / size)
		return NULL;
	return realloc(arr, cap * size);
}

/* Next token of a space/tab/comma separated list, split in place; NULL at the end. */
char *conf_token(char **s)
{
	char *t = *s + strspn(*s, CONF_LIST_SEP);
	char *e;

	if (!*t)
		return NULL;
	e = t + strcspn(t, CONF_LIST_SEP);
	if (*e)
		*e++ = '\0';
	*s = e;
	return t;
}

/* Decimal or 0x-hex, nothing else (no sign, no octal). Too large reads as UINT64_MAX. */
int conf_num(const char *s, uint64_t *out)
{
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)*s) : !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, base);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		*out = UINT64_MAX;
	return 0;
}

static int conf_addr_parse(const char *s, struct pkt_addr *a)
{
	static const uint8_t zero[16];

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, a->a) == 1)
		a->family = AF_INET6;
	else
		return -EINVAL;
	/* 0.0.0.0 and :: name no host: as a gateway or endpoint they are always a mistake. */
	return memcmp(a->a, zero, sizeof(zero)) ? 0 : -EINVAL;
}

void *conf_field(struct conf_parser *p, const struct conf_key *k)
{
	if (k->sect == SECT_GLOBAL)
		return (char *)p->c + k->off;
	return (char *)&p->c->routes[p->cur] + k->off;
}

struct conf_route *conf_cur(struct conf_parser *p)
{
	return &p->c->routes[p->cur];
}

int conf_range(struct conf_parser *p, const struct conf_key *k, const char *val,
	       uint32_t *out)
{
	uint64_t v;

	if (conf_num(val, &v) < 0)
		return conf_err(p, p->line, "%s %s is not a number", k->name, conf_q(p, val));
	if (v > UINT32_MAX && k->max == UINT32_MAX)
		return conf_err(p, p->line, "%s %s does not fit in 32 bits",
				k->name, conf_q(p, val));
	if (v == 0 && k->min == 1)
		return conf_err(p, p->line, "%s must not be 0", k->name);
	if (v < k->min || v > k->max)
		return conf_err(p, p->line, "%s %s is out of range (%" PRIu32 "-%" PRIu32 ")",
				k->name, conf_q(p, val), k->min, k->max);
	*out = (uint32_t)v;
	return 0;
}

int conf_key_u32(struct conf_parser *p, const struct conf_key *k, char *val)
{
	return conf_range(p, k, val, conf_field(p, k));
}

int conf_key_bool(struct conf_parser *p, const struct conf_key *k, char *val)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool *b = conf_field(p, k);

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(val, yes[i]) || !strcasecmp(val, no[i])) {
			*b = !strcasecmp(val, yes[i]);
			return 0;
		}
	}
	return conf_err(p, p->line, "%s %s is not a boolean (use yes or no)",
			k->name, conf_q(p, val));
}

int conf_key_fail_mode(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!strcmp(val, "closed"))
		p->c->fail_mode = CONF_FAIL_CLOSED;
	else if (!strcmp(val, "open"))
		p->c->fail_mode = CONF_FAIL_OPEN;
	else
		return conf_err(p, p->line, "%s %s is invalid (use closed or open)",
				k->name, conf_q(p, val));
	return 0;
}

/* The kernel's dev_valid_name(): what it refuses would only fail later, at runtime. */
static bool conf_ifname_ok(const char *val)
{
	return strlen(val) < IF_NAMESIZE && !strpbrk(val, "/: \t") && strcmp(val, ".") &&
	       strcmp(val, "..");
}

int conf_key_ifname(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!conf_ifname_ok(val))
		return conf_err(p, p->line, "%s %s is not a valid interface name "
				"(at most %d characters, no '/', ':' or spaces)",
				k->name, conf_q(p, val), IF_NAMESIZE - 1);
	strcpy(conf_cur(p)->ifname, val);
	return 0;
}

int conf_key_table(struct conf_parser *p, const struct conf_key *k, char *val)
{
	uint32_t t;
	int ret;

	if (!strcmp(val, "main")) {
		conf_cur(p)->table = CONF_TABLE_MAIN;
		return 0;
	}
	if (!strcmp(val, "default") || !strcmp(val, "local"))
		return conf_err(p, p->line, "%s %s is reserved; use a number of your own or main",
				k->name, val);
	ret = conf_range(p, k, val, &t);
	if (ret < 0)
		return ret;
	if (t == CONF_TABLE_MAIN)
		return conf_err(p, p->line, "%s %s is the main table; write table = main for "
				"an exception route", k->name, val);
	if (t == CONF_TABLE_DEFAULT || t == CONF_TABLE_LOCAL)
		return conf_err(p, p->line, "%s %s is reserved (%s); use a number of your own",
				k->name, val, t == CONF_TABLE_LOCAL ? "local" : "default");
	conf_cur(p)->table = t;
	return 0;
}

int conf_key_gateway(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct conf_route *r = conf_cur(p);
	struct pkt_addr a;
	char *tok;

	while ((tok = conf_token(&val))) {
		bool v4;

		if (conf_addr_parse(tok, &a) < 0)
			return conf_err(p, p->line, "%s %s is not an IPv4 or IPv6 host address",
					k->name, conf_q(p, tok));
		v4 = a.family == AF_INET;
		if (v4 ? r->has_gw4 : r->has_gw6)
			return conf_err(p, p->line, "%s has more than one IPv%c address (%s)",
					k->name, v4 ? '4' : '6', conf_q(p, tok));
		*(v4 ? &r->gw4 : &r->gw6) = a;
		*(v4 ? &r->has_gw4 : &r->has_gw6) = true;
	}
	return 0;
}

static int conf_bypass_add(struct conf_parser *p, const struct pkt_addr *a)
{
	struct conf_route *r = conf_cur(p);
	struct pkt_addr *arr;

	for (size_t i = 0; i < r->n_bypass; i++)
		if (!memcmp(&r->bypass[i], a, sizeof(*a)))
			return 0;
	arr = conf_array_grow(r->bypass, r->n_bypass, sizeof(*arr));
	if (!arr)
		return conf_nomem(p);
	r->bypass = arr;
	r->bypass[r->n_bypass++] = *a;
	return 0;
}

int conf_key_endpoint(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct pkt_addr a;
	char *tok;
	int ret;

	while ((tok = conf_token(&val))) {
		if (conf_addr_parse(tok, &a) < 0)
			return conf_err(p, p->line, "%s %s is not an IPv4 or IPv6 host address "
					"(write it without port or brackets)",
							k->name, conf_q(p, tok));
		ret = conf_bypass_add(p, &a);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int conf_domain_add(struct conf_parser *p, const char *name)
{
	struct conf_route *r = conf_cur(p);
	char **names;
	unsigned *lines;
	char *dup;

	names = conf_array_grow(r->domains, r->n_domains, sizeof(*names));
	if (!names)
		return conf_nomem(p);
	r->domains = names;
	lines = conf_array_grow(r->domain_lines, r->n_domains, sizeof(*lines));
	if (!lines)
		return conf_nomem(p);
	r->domain_lines = lines;
	dup = strdup(name);
	if (!dup)
		return conf_nomem(p);
	r->domains[r->n_domains] = dup;
	r->domain_lines[r->n_domains++] = p->line;
	return 0;
}

/*
 * Next rule of a domains value. A regexp may hold commas ("{1,3}"), so "regexp:" takes
 * everything up to the next space or tab.
 */
static char *conf_rule_token(char **s)
{
	char *t = *s + strspn(*s, CONF_LIST_SEP);
	char *e;

	if (!*t)
		return NULL;
	e = t + strcspn(t, strncmp(t, "regexp:", 7) ? CONF_LIST_SEP : " \t");
	if (*e)
		*e++ = '\0';
	*s = e;
	return t;
}

/* The canonical text of a rule: suffix rules as the bare name, others with their prefix. */
static int conf_rule_text(struct conf_parser *p, const struct conf_key *k, const char *tok,
			  char *out, size_t size)
{
	struct domain_rule r;
	char msg[CONF_ERR_MAX / 2];
	const char *why;

	if (domain_rule_parse(tok, &r, &why) < 0) {
		if (!strchr(tok, ':') || !strncmp(tok, "domain:", 7))
			return conf_err(p, p->line, "%s: %s is not a valid domain name", k->name,
					conf_q(p, tok));
		return conf_err(p, p->line, "%s: %s is not a valid rule (%s)",
				k->name, conf_q(p, tok), why);
	}
	if (r.kind == DOMAIN_REGEXP && domain_regexp_check(r.text, msg, sizeof(msg)) < 0)
		return conf_err(p, p->line, "%s: %s: %s", k->name, conf_q(p, tok), msg);
	snprintf(out, size, "%s%s%s", r.kind == DOMAIN_SUFFIX ? "" : domain_kind_name(r.kind),
		 r.kind == DOMAIN_SUFFIX ? "" : ":", r.text);
	return 0;
}

int conf_key_domains(struct conf_parser *p, const struct conf_key *k, char *val)
{
	char rule[DOMAIN_RULE_MAX + 16];
	char *tok;
	int ret;

	while ((tok = conf_rule_token(&val))) {
		ret = conf_rule_text(p, k, tok, rule, sizeof(rule));
		if (ret == 0)
			ret = conf_domain_add(p, rule);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int conf_key_format(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (dlist_format_parse(val, &conf_cur(p)->list_format) < 0)
		return conf_err(p, p->line, "%s %s is invalid (use auto, plain, dnsmasq, gfwlist, "
				"hosts or v2fly)", k->name, conf_q(p, val));
	return 0;
}

/* Joins dir and file; file as is when absolute. Returns NULL when out of memory. */
char *conf_path_join(const char *dir, const char *file)
{
	size_t n;
	char *s;

	if (file[0] == '/')
		return strdup(file);
	n = strlen(dir) + strlen(file) + 2;
	s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, file);
	return s;
}

static int conf_list_add(struct conf_parser *p, char *path)
{
	struct conf_route *r = conf_cur(p);
	unsigned *lines;
	char **arr;

	for (size_t i = 0; i < r->n_lists; i++) {
		if (!strcmp(r->lists[i], path)) {
			free(path);
			return 0;
		}
	}
	arr = conf_array_grow(r->lists, r->n_lists, sizeof(*arr));
	if (arr)
		r->lists = arr;
	lines = arr ? conf_array_grow(r->list_lines, r->n_lists, sizeof(*lines)) : NULL;
	if (!lines) {
		free(path);
		return conf_nomem(p);
	}
	r->list_lines = lines;
	r->list_lines[r->n_lists] = p->line;
	r->lists[r->n_lists++] = path;
	return 0;
}

/*
 * Opens a file the configuration names (util_file_open: a regular file within max bytes,
 * never blocking), or says at the key's line why not: "domain-list PATH: not a regular
 * file". Returns the descriptor or -EINVAL.
 */
static int conf_file_open(struct conf_parser *p, const struct conf_key *k, const char *path,
			  uint64_t max)
{
	char limit[32];
	int fd, ret = util_file_open(path, max, &fd, NULL);

	if (ret == 0)
		return fd;
	if (ret != -EFBIG)
		return conf_err(p, p->line, "%s %s: %s", k->name, path, util_file_strerr(ret));
	util_size_text(max, limit, sizeof(limit));
	return conf_err(p, p->line, "%s %s: larger than %s, the limit for a list", k->name, path,
			limit);
}

int conf_key_domain_list(struct conf_parser *p, const struct conf_key *k, char *val)
{
	char *path = conf_path_join(p->dir, val);
	int fd;

	if (!path)
		return conf_nomem(p);
	fd = conf_file_open(p, k, path, DLIST_MAX_FILE);
	if (fd < 0) {
		free(path);
		return fd;
	}
	close(fd);	/* policy_new reads it, with the same checks */
	return conf_list_add(p, path);
}


/* ---- strings, selectors and the keys of later features ---- */

int conf_key_string(struct conf_parser *p, const struct conf_key *k, char *val)
{
	char **field = conf_field(p, k);

	free(*field);
	*field = strdup(strcmp(val, "none") ? val : "");
	return *field ? 0 : conf_nomem(p);
}

/*
 * "ADDR" or "ADDR/LEN" for either family; host bits are cleared as nft would require.
 * Returns 0, 1 when host bits were set (and cleared), or -EINVAL.
 */
static int conf_prefix_parse(const char *tok, struct conf_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct pkt_addr given;
	char *slash, *end;
	unsigned long len;
	size_t max;

	if (strlen(tok) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, tok);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr.a) == 1)
		out->addr.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr.a) == 1)
		out->addr.family = AF_INET6;
	else
		return -EINVAL;
	max = out->addr.family == AF_INET ? 32 : 128;
	len = max;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > max)
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	given = out->addr;
	netset_prefix_mask(out);
	return memcmp(&given, &out->addr, sizeof(given)) ? 1 : 0;
}

/* "10.0.0.1/8 has host bits set; means 10.0.0.0/8": valid, but rarely what was meant. */
static void conf_prefix_warn(struct conf_parser *p, const char *where, const char *tok,
			     const struct conf_prefix *pf)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(pf->addr.family, pf->addr.a, text, sizeof(text));
	conf_warn(p, p->line, "%s%s has host bits set; means %s/%u", where, conf_q(p, tok), text,
		  pf->len);
}

static int conf_prefix_add(struct conf_parser *p, bool sources, const struct conf_prefix *pf)
{
	struct conf_route *r = conf_cur(p);
	struct conf_prefix **arr = sources ? &r->sources : &r->networks;
	size_t *n = sources ? &r->n_sources : &r->n_networks;
	struct conf_prefix *grown = conf_array_grow(*arr, *n, sizeof(**arr));
	unsigned *lines;

	if (!grown)
		return conf_nomem(p);
	*arr = grown;
	if (!sources) {
		lines = conf_array_grow(r->network_lines, *n, sizeof(*lines));
		if (!lines)
			return conf_nomem(p);
		r->network_lines = lines;
		lines[*n] = p->line;
	}
	(*arr)[(*n)++] = *pf;
	return 0;
}

static int conf_prefixes(struct conf_parser *p, const struct conf_key *k, char *val,
			 bool sources)
{
	struct conf_prefix pf;
	char *tok;
	int ret;

	while ((tok = conf_token(&val))) {
		ret = conf_prefix_parse(tok, &pf);
		if (ret < 0)
			return conf_err(p, p->line, "%s %s is not an address or prefix "
					"(e.g. 192.0.2.0/24 or 2001:db8::/32)", k->name,
					conf_q(p, tok));
		if (ret > 0)
			conf_prefix_warn(p, "", tok, &pf);
		ret = conf_prefix_add(p, sources, &pf);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int conf_key_networks(struct conf_parser *p, const struct conf_key *k, char *val)
{
	return conf_prefixes(p, k, val, false);
}

int conf_key_sources(struct conf_parser *p, const struct conf_key *k, char *val)
{
	return conf_prefixes(p, k, val, true);
}

/* A plain CIDR list, one prefix per line, '#' comments; a bad line names the list's line. */
static int conf_network_file(struct conf_parser *p, const char *path, FILE *f)
{
	struct conf_prefix pf;
	unsigned line = 0;
	char *buf = NULL, where[CONF_QUOTE_MAX + 32];
	size_t size = 0;
	int ret = 0;

	while (ret == 0 && getline(&buf, &size, f) >= 0) {
		char *s = buf + strspn(buf, " \t");

		line++;
		s[strcspn(s, "#;\r\n")] = '\0';
		s[strcspn(s, " \t")] = '\0';
		if (!*s)
			continue;
		ret = conf_prefix_parse(s, &pf);
		if (ret < 0) {
			ret = conf_err(p, p->line, "network-list %s:%u: %s is not an address or "
				       "prefix", path, line, conf_q(p, s));
			break;
		}
		if (ret > 0) {
			snprintf(where, sizeof(where), "network-list %s:%u: ", conf_q(p, path),
				 line);
			conf_prefix_warn(p, where, s, &pf);
		}
		ret = conf_prefix_add(p, false, &pf);
	}
	if (ret == 0 && ferror(f))
		ret = conf_err(p, p->line, "network-list %s: %s", path, strerror(errno));
	free(buf);
	return ret;
}

int conf_key_network_list(struct conf_parser *p, const struct conf_key *k, char *val)
{
	char *path = conf_path_join(p->dir, val);
	FILE *f;
	int fd, ret;

	if (!path)
		return conf_nomem(p);
	fd = conf_file_open(p, k, path, DLIST_MAX_FILE);
	if (fd < 0) {
		free(path);
		return fd;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		free(path);
		return conf_nomem(p);
	}
	ret = conf_network_file(p, path, f);
	fclose(f);
	free(path);
	return ret;
}

/* "tcp:25", "udp:5000-5100" */
static int conf_ports_parse(const char *tok, struct conf_ports *out)
{
	unsigned long lo, hi;
	char *end;

	if (!strncmp(tok, "tcp:", 4))
		out->proto = IPPROTO_TCP;
	else if (!strncmp(tok, "udp:", 4))
		out->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	tok += 4;
	if (!isdigit((unsigned char)*tok))
		return -EINVAL;
	lo = strtoul(tok, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		hi = strtoul(end + 1, &end, 10);
	}
	if (*end || lo == 0 || hi > 65535 || lo > hi)
		return -EINVAL;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return 0;
}

int conf_key_ports(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct conf_route *r = conf_cur(p);
	struct conf_ports pt, *arr;
	char *tok;

	while ((tok = conf_token(&val))) {
		if (conf_ports_parse(tok, &pt) < 0)
			return conf_err(p, p->line, "%s %s is invalid (use tcp:PORT, udp:PORT or "
					"tcp:FIRST-LAST, ports 1-65535)", k->name, conf_q(p, tok));
		arr = conf_array_grow(r->ports, r->n_ports, sizeof(*arr));
		if (!arr)
			return conf_nomem(p);
		r->ports = arr;
		r->ports[r->n_ports++] = pt;
	}
	return 0;
}

int conf_key_inbound(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!conf_ifname_ok(val))
		return conf_err(p, p->line, "%s %s is not a valid interface name",
				k->name, conf_q(p, val));
	strcpy(conf_cur(p)->inbound_if, val);
	return 0;
}

int conf_key_lan(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct conf *c = p->c;
	char *tok;

	while ((tok = conf_token(&val))) {
		char (*arr)[IF_NAMESIZE];

		if (!conf_ifname_ok(tok))
			return conf_err(p, p->line, "%s %s is not a valid interface name", k->name,
					conf_q(p, tok));
		arr = conf_array_grow(c->lan_ifs, c->n_lan_ifs, sizeof(*arr));
		if (!arr)
			return conf_nomem(p);
		c->lan_ifs = arr;
		strcpy(c->lan_ifs[c->n_lan_ifs++], tok);
	}
	return 0;
}

/* The route is named before it may be defined: conf_check resolves the name. */
int conf_key_default(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (strlen(val) >= sizeof(p->default_name))
		return conf_err(p, p->line, "%s %s is not a route name", k->name, conf_q(p, val));
	strcpy(p->default_name, val);
	return 0;
}

int conf_key_shared(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!strcmp(val, "last-wins"))
		p->c->shared_address = CONF_SHARED_LAST_WINS;
	else if (!strcmp(val, "prefer-tunnel"))
		p->c->shared_address = CONF_SHARED_PREFER_TUNNEL;
	else
		return conf_err(p, p->line, "%s %s is invalid (use last-wins or prefer-tunnel)",
				k->name, conf_q(p, val));
	return 0;
}
