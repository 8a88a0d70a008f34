/*
 * Reads /etc/nfqroute/nfqroute.conf. Every key is an entry of conf_keys; the line loop only
 * splits sections and assignments and hands values to the key's parser. Checks that need
 * the whole file (required keys, mark-mask, unique tables and marks) run after the last
 * line, so [global] may come after the routes it constrains.
 */
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

#include "conf.h"
#include "domain.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CONF_DEF_QUEUE		0
#define CONF_DEF_MARK_MASK	0xff00
#define CONF_DEF_RULE_PRIORITY	1000
#define CONF_DEF_MAX_ENTRIES	65536
#define CONF_DEF_MIN_TTL	60
#define CONF_DEF_MAX_TTL	86400
/* The addrmap reserves max-entries up front: a cap keeps a typo from eating the RAM. */
#define CONF_MAX_ENTRIES_MAX	(1u << 24)
/* RFC 2181 8: TTLs are 31-bit. */
#define CONF_TTL_MAX		0x7fffffffu
#define CONF_TABLE_MAX		0xfffffffeu
#define CONF_TABLE_DEFAULT	253
#define CONF_TABLE_LOCAL	255
/* ip rule priority of the main table's rule: ours must all stay below it. */
#define CONF_PRIO_MAIN		32766
#define CONF_LIST_SEP		" \t,"
#define CONF_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

enum conf_key_id {
	K_QUEUE, K_MARK_MASK, K_FAIL_MODE, K_RULE_PRIORITY, K_MAX_ENTRIES, K_MIN_TTL, K_MAX_TTL,
	K_INTERFACE, K_TABLE, K_MARK, K_FAIL_CLOSED, K_MASQUERADE, K_KEEP_BLACKHOLE, K_GATEWAY,
	K_ENDPOINT, K_DOMAINS, K_DOMAIN_LIST, K_FORMAT,
	K_COUNT
};

enum conf_sect { SECT_NONE, SECT_GLOBAL, SECT_ROUTE };

/* Where each key of one section was first set: finds duplicates, and late checks cite it. */
struct conf_seen {
	unsigned header;		/* line of the section header, 0 = not seen */
	unsigned line[K_COUNT];
};

struct conf_parser {
	struct conf *c;
	const char *path;
	char *dir;			/* absolute directory of path, for relative lists */
	unsigned line;
	enum conf_sect sect;
	size_t cur;			/* current route while sect == SECT_ROUTE */
	struct conf_seen global;
	struct conf_seen *seen;		/* parallel to c->routes */
	char *err;
	size_t errlen;
};

struct conf_key;
typedef int conf_parse_fn(struct conf_parser *p, const struct conf_key *k, char *val);

struct conf_key {
	enum conf_sect sect;
	const char *name;
	bool repeat;			/* may appear more than once; values accumulate */
	conf_parse_fn *parse;
	size_t off;			/* field in struct conf or struct conf_route */
	uint32_t min, max;		/* range of numeric keys */
};

__attribute__((format(printf, 3, 4)))
static int conf_err(struct conf_parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int conf_nomem(struct conf_parser *p)
{
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: out of memory", p->path);
	return -ENOMEM;
}

/*
 * Returns arr with room for element n of an array that grows by doubling (the capacity
 * follows from n alone, so structs need no capacity field), or NULL without freeing arr.
 */
static void *conf_array_grow(void *arr, size_t n, size_t size)
{
	size_t cap;

	if (n && (n < 8 || (n & (n - 1))))
		return arr;
	cap = n ? 2 * n : 8;
	if (cap > SIZE_MAX / size)
		return NULL;
	return realloc(arr, cap * size);
}

static char *conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Cuts a '#' or ';' comment that starts the line or follows whitespace. */
static void conf_strip_comment(char *s)
{
	for (char *q = s; *q; q++) {
		if ((*q == '#' || *q == ';') && (q == s || isspace((unsigned char)q[-1]))) {
			*q = '\0';
			return;
		}
	}
}

/* Next token of a space/tab/comma separated list, split in place; NULL at the end. */
static char *conf_token(char **s)
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
static int conf_num(const char *s, uint64_t *out)
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

static void *conf_field(struct conf_parser *p, const struct conf_key *k)
{
	if (k->sect == SECT_GLOBAL)
		return (char *)p->c + k->off;
	return (char *)&p->c->routes[p->cur] + k->off;
}

static struct conf_route *conf_cur(struct conf_parser *p)
{
	return &p->c->routes[p->cur];
}

static int conf_range(struct conf_parser *p, const struct conf_key *k, const char *val,
		      uint32_t *out)
{
	uint64_t v;

	if (conf_num(val, &v) < 0)
		return conf_err(p, p->line, "%s %s is not a number", k->name, val);
	if (v > UINT32_MAX && k->max == UINT32_MAX)
		return conf_err(p, p->line, "%s %s does not fit in 32 bits", k->name, val);
	if (v == 0 && k->min == 1)
		return conf_err(p, p->line, "%s must not be 0", k->name);
	if (v < k->min || v > k->max)
		return conf_err(p, p->line, "%s %s is out of range (%" PRIu32 "-%" PRIu32 ")",
				k->name, val, k->min, k->max);
	*out = (uint32_t)v;
	return 0;
}

static int conf_key_u32(struct conf_parser *p, const struct conf_key *k, char *val)
{
	return conf_range(p, k, val, conf_field(p, k));
}

static int conf_key_u16(struct conf_parser *p, const struct conf_key *k, char *val)
{
	uint32_t v;
	int ret = conf_range(p, k, val, &v);

	if (ret == 0)
		*(uint16_t *)conf_field(p, k) = (uint16_t)v;
	return ret;
}

static int conf_key_bool(struct conf_parser *p, const struct conf_key *k, char *val)
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
	return conf_err(p, p->line, "%s %s is not a boolean (use yes or no)", k->name, val);
}

static int conf_key_fail_mode(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (!strcmp(val, "closed"))
		p->c->fail_mode = CONF_FAIL_CLOSED;
	else if (!strcmp(val, "open"))
		p->c->fail_mode = CONF_FAIL_OPEN;
	else
		return conf_err(p, p->line, "%s %s is invalid (use closed or open)", k->name, val);
	return 0;
}

static int conf_key_ifname(struct conf_parser *p, const struct conf_key *k, char *val)
{
	/* The kernel's dev_valid_name(): what it refuses would only fail later, at runtime. */
	if (strlen(val) >= IF_NAMESIZE || strpbrk(val, "/: \t") || !strcmp(val, ".") ||
	    !strcmp(val, ".."))
		return conf_err(p, p->line, "%s %s is not a valid interface name "
				"(at most %d characters, no '/', ':' or spaces)",
				k->name, val, IF_NAMESIZE - 1);
	strcpy(conf_cur(p)->ifname, val);
	return 0;
}

static int conf_key_table(struct conf_parser *p, const struct conf_key *k, char *val)
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

static int conf_key_gateway(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct conf_route *r = conf_cur(p);
	struct pkt_addr a;
	char *tok;

	while ((tok = conf_token(&val))) {
		bool v4;

		if (conf_addr_parse(tok, &a) < 0)
			return conf_err(p, p->line, "%s %s is not an IPv4 or IPv6 host address",
					k->name, tok);
		v4 = a.family == AF_INET;
		if (v4 ? r->has_gw4 : r->has_gw6)
			return conf_err(p, p->line, "%s has more than one IPv%c address (%s)",
					k->name, v4 ? '4' : '6', tok);
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

static int conf_key_endpoint(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct pkt_addr a;
	char *tok;
	int ret;

	while ((tok = conf_token(&val))) {
		if (conf_addr_parse(tok, &a) < 0)
			return conf_err(p, p->line, "%s %s is not an IPv4 or IPv6 host address "
					"(write it without port or brackets)", k->name, tok);
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
					tok);
		return conf_err(p, p->line, "%s: %s is not a valid rule (%s)", k->name, tok, why);
	}
	if (r.kind == DOMAIN_REGEXP && domain_regexp_check(r.text, msg, sizeof(msg)) < 0)
		return conf_err(p, p->line, "%s: %s: %s", k->name, tok, msg);
	snprintf(out, size, "%s%s%s", r.kind == DOMAIN_SUFFIX ? "" : domain_kind_name(r.kind),
		 r.kind == DOMAIN_SUFFIX ? "" : ":", r.text);
	return 0;
}

static int conf_key_domains(struct conf_parser *p, const struct conf_key *k, char *val)
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

static int conf_key_format(struct conf_parser *p, const struct conf_key *k, char *val)
{
	if (dlist_format_parse(val, &conf_cur(p)->list_format) < 0)
		return conf_err(p, p->line, "%s %s is invalid (use auto, plain, dnsmasq, gfwlist, "
				"hosts or v2fly)", k->name, val);
	return 0;
}

/* Joins dir and file; file as is when absolute. Returns NULL when out of memory. */
static char *conf_path_join(const char *dir, const char *file)
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
	char **arr;

	for (size_t i = 0; i < r->n_lists; i++) {
		if (!strcmp(r->lists[i], path)) {
			free(path);
			return 0;
		}
	}
	arr = conf_array_grow(r->lists, r->n_lists, sizeof(*arr));
	if (!arr) {
		free(path);
		return conf_nomem(p);
	}
	r->lists = arr;
	r->lists[r->n_lists++] = path;
	return 0;
}

static int conf_key_domain_list(struct conf_parser *p, const struct conf_key *k, char *val)
{
	struct stat st;
	char *path = conf_path_join(p->dir, val);
	int ret;

	if (!path)
		return conf_nomem(p);
	ret = access(path, R_OK) < 0 ? -errno : 0;
	if (ret == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		ret = -EISDIR;
	if (ret < 0) {
		conf_err(p, p->line, "%s %s: %s", k->name, path, strerror(-ret));
		free(path);
		return -EINVAL;
	}
	return conf_list_add(p, path);
}

#define G_NUM(id, nm, fn, field, lo, hi) \
	[id] = { SECT_GLOBAL, nm, false, fn, offsetof(struct conf, field), lo, hi }
#define R_KEY(id, nm, rep, fn) [id] = { SECT_ROUTE, nm, rep, fn, 0, 0, 0 }
#define R_BOOL(id, nm, field) \
	[id] = { SECT_ROUTE, nm, false, conf_key_bool, offsetof(struct conf_route, field), 0, 0 }

static const struct conf_key conf_keys[K_COUNT] = {
	G_NUM(K_QUEUE, "queue", conf_key_u16, queue, 0, UINT16_MAX),
	G_NUM(K_MARK_MASK, "mark-mask", conf_key_u32, mark_mask, 1, UINT32_MAX),
	[K_FAIL_MODE] = { SECT_GLOBAL, "fail-mode", false, conf_key_fail_mode, 0, 0, 0 },
	G_NUM(K_RULE_PRIORITY, "rule-priority", conf_key_u32, rule_priority, 1, 32000),
	G_NUM(K_MAX_ENTRIES, "max-entries", conf_key_u32, max_entries, 16, CONF_MAX_ENTRIES_MAX),
	G_NUM(K_MIN_TTL, "min-ttl", conf_key_u32, min_ttl, 0, CONF_TTL_MAX),
	G_NUM(K_MAX_TTL, "max-ttl", conf_key_u32, max_ttl, 1, CONF_TTL_MAX),
	R_KEY(K_INTERFACE, "interface", false, conf_key_ifname),
	[K_TABLE] = { SECT_ROUTE, "table", false, conf_key_table, 0, 1, CONF_TABLE_MAX },
	[K_MARK] = { SECT_ROUTE, "mark", false, conf_key_u32, offsetof(struct conf_route, mark),
		     1, UINT32_MAX },
	R_BOOL(K_FAIL_CLOSED, "fail-closed", fail_closed),
	R_BOOL(K_MASQUERADE, "masquerade", masquerade),
	R_BOOL(K_KEEP_BLACKHOLE, "keep-blackhole", keep_blackhole),
	R_KEY(K_GATEWAY, "gateway", false, conf_key_gateway),
	R_KEY(K_ENDPOINT, "endpoint", true, conf_key_endpoint),
	R_KEY(K_DOMAINS, "domains", true, conf_key_domains),
	R_KEY(K_DOMAIN_LIST, "domain-list", true, conf_key_domain_list),
	R_KEY(K_FORMAT, "format", false, conf_key_format),
};

static const struct conf_key *conf_key_find(enum conf_sect sect, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(conf_keys); i++)
		if (conf_keys[i].sect == sect && !strcmp(conf_keys[i].name, name))
			return &conf_keys[i];
	return NULL;
}

static struct conf_seen *conf_seen_cur(struct conf_parser *p)
{
	return p->sect == SECT_GLOBAL ? &p->global : &p->seen[p->cur];
}

static int conf_unknown_key(struct conf_parser *p, const char *key)
{
	bool global = p->sect == SECT_GLOBAL;
	const char *name = global ? "" : conf_cur(p)->name;

	if (conf_key_find(global ? SECT_ROUTE : SECT_GLOBAL, key))
		return conf_err(p, p->line, "key %s belongs in %s, not in [%s%s%s]", key,
				global ? "[route NAME]" : "[global]", global ? "global" : "route",
				global ? "" : " ", name);
	return conf_err(p, p->line, "unknown key %s in [%s%s%s]", key, global ? "global" : "route",
			global ? "" : " ", name);
}

static int conf_assign(struct conf_parser *p, char *s)
{
	const struct conf_key *k;
	struct conf_seen *seen;
	char *eq = strchr(s, '=');
	char *key, *val;
	size_t id;

	if (!eq)
		return conf_err(p, p->line, "expected key = value, got '%s'", s);
	*eq = '\0';
	key = conf_trim(s);
	val = conf_trim(eq + 1);
	if (!*key)
		return conf_err(p, p->line, "missing key before '='");
	if (p->sect == SECT_NONE)
		return conf_err(p, p->line, "key %s is outside a section; start with [global] "
				"or [route NAME]", key);
	k = conf_key_find(p->sect, key);
	if (!k)
		return conf_unknown_key(p, key);
	if (!*val)
		return conf_err(p, p->line, "%s has no value", key);
	id = (size_t)(k - conf_keys);
	seen = conf_seen_cur(p);
	if (seen->line[id] && !k->repeat)
		return conf_err(p, p->line, "duplicate key %s (first set at line %u)", key,
				seen->line[id]);
	if (!seen->line[id])
		seen->line[id] = p->line;
	return k->parse(p, k, val);
}

static int conf_route_name_check(struct conf_parser *p, const char *name)
{
	size_t len = strlen(name);
	int i;

	if (!len)
		return conf_err(p, p->line, "route section needs a name: [route NAME]");
	if (len >= CONF_NAME_MAX || strspn(name, CONF_NAME_CHARS) != len)
		return conf_err(p, p->line, "route name %s is invalid (1-%d characters of "
				"A-Z a-z 0-9 _ -)", name, CONF_NAME_MAX - 1);
	i = conf_route_find(p->c, name);
	if (i >= 0)
		return conf_err(p, p->line, "duplicate route %s (first at line %d)", name,
				p->c->routes[i].line);
	return 0;
}

static int conf_route_open(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct conf_route *routes;
	struct conf_seen *seen;
	struct conf_route *r;
	int ret = conf_route_name_check(p, name);

	if (ret < 0)
		return ret;
	routes = conf_array_grow(c->routes, c->n_routes, sizeof(*routes));
	if (!routes)
		return conf_nomem(p);
	c->routes = routes;
	seen = conf_array_grow(p->seen, c->n_routes, sizeof(*seen));
	if (!seen)
		return conf_nomem(p);
	p->seen = seen;
	p->cur = c->n_routes++;
	memset(&p->seen[p->cur], 0, sizeof(*seen));
	p->seen[p->cur].header = p->line;
	r = &c->routes[p->cur];
	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	r->fail_closed = true;
	r->line = (int)p->line;
	p->sect = SECT_ROUTE;
	return 0;
}

static int conf_section(struct conf_parser *p, char *s)
{
	size_t len = strlen(s);
	char *in;

	if (s[len - 1] != ']')
		return conf_err(p, p->line, "missing ] at the end of section header %s", s);
	s[len - 1] = '\0';
	in = conf_trim(s + 1);
	if (!strcmp(in, "global")) {
		if (p->global.header)
			return conf_err(p, p->line, "duplicate section [global] (first at line %u)",
					p->global.header);
		p->global.header = p->line;
		p->sect = SECT_GLOBAL;
		return 0;
	}
	if (!strncmp(in, "route", 5) && (!in[5] || isspace((unsigned char)in[5])))
		return conf_route_open(p, conf_trim(in + 5));
	return conf_err(p, p->line, "unknown section [%s] (expected [global] or [route NAME])",
			in);
}

static int conf_line(struct conf_parser *p, char *s)
{
	conf_strip_comment(s);
	s = conf_trim(s);
	if (!*s)
		return 0;
	if (*s == '[')
		return conf_section(p, s);
	return conf_assign(p, s);
}

static int conf_read(struct conf_parser *p, FILE *f)
{
	char *buf = NULL;
	size_t size = 0;
	ssize_t n;
	int ret = 0;

	while (ret == 0 && (n = getline(&buf, &size, f)) >= 0) {
		char *s = buf;

		p->line++;
		if (p->line == 1 && !strncmp(s, "\xef\xbb\xbf", 3))
			s += 3;	/* UTF-8 byte order mark left by some editors */
		if (strlen(buf) != (size_t)n)
			ret = conf_err(p, p->line, "line contains a NUL byte");
		else
			ret = conf_line(p, s);
	}
	if (ret == 0 && ferror(f)) {
		ret = errno ? -errno : -EIO;
		if (p->err && p->errlen)
			snprintf(p->err, p->errlen, "%s: %s", p->path, strerror(-ret));
	}
	free(buf);
	return ret;
}

static int conf_check_route(struct conf_parser *p, size_t i)
{
	struct conf_route *r = &p->c->routes[i];
	const unsigned *seen = p->seen[i].line;

	if (!seen[K_TABLE])
		return conf_err(p, p->seen[i].header, "route %s has no table (required)", r->name);
	if (r->table == CONF_TABLE_MAIN) {
		r->mark = 0;	/* exception routes are left unmarked: main is the default */
		return 0;
	}
	if (!seen[K_INTERFACE])
		return conf_err(p, p->seen[i].header, "route %s has no interface (required unless "
				"table = main)", r->name);
	if (!seen[K_MARK])
		return conf_err(p, p->seen[i].header, "route %s has no mark (required unless "
				"table = main)", r->name);
	if (r->mark & ~p->c->mark_mask)
		return conf_err(p, seen[K_MARK], "mark 0x%" PRIx32 " is outside mark-mask 0x%"
				PRIx32, r->mark, p->c->mark_mask);
	return 0;
}

static int conf_check_unique(struct conf_parser *p, size_t i)
{
	const struct conf_route *r = &p->c->routes[i];

	for (size_t j = 0; j < i; j++) {
		const struct conf_route *o = &p->c->routes[j];

		if (o->table == r->table && r->table == CONF_TABLE_MAIN)
			return conf_err(p, p->seen[i].line[K_TABLE], "table main is already used "
					"by route %s (line %u)", o->name, p->seen[j].line[K_TABLE]);
		if (o->table == r->table)
			return conf_err(p, p->seen[i].line[K_TABLE], "table %" PRIu32 " is already "
					"used by route %s (line %u)", r->table, o->name,
					p->seen[j].line[K_TABLE]);
		if (r->table != CONF_TABLE_MAIN && o->mark == r->mark)
			return conf_err(p, p->seen[i].line[K_MARK], "mark 0x%" PRIx32 " is already "
					"used by route %s (line %u)", r->mark, o->name,
					p->seen[j].line[K_MARK]);
	}
	return 0;
}

static int conf_check_global(struct conf_parser *p)
{
	const struct conf *c = p->c;
	const unsigned *seen = p->global.line;

	if (c->min_ttl > c->max_ttl)
		return conf_err(p, seen[K_MAX_TTL] ? seen[K_MAX_TTL] : seen[K_MIN_TTL],
				"min-ttl %" PRIu32 " is greater than max-ttl %" PRIu32,
				c->min_ttl, c->max_ttl);
	if (c->n_routes && c->rule_priority + c->n_routes > CONF_PRIO_MAIN)
		return conf_err(p, seen[K_RULE_PRIORITY] ? seen[K_RULE_PRIORITY] :
				p->seen[c->n_routes - 1].header, "rule-priority %" PRIu32
				" leaves no room for %zu routes below the main table's rule (%d)",
				c->rule_priority, c->n_routes, CONF_PRIO_MAIN);
	return 0;
}

struct conf_dom_ref {
	const char *name;
	unsigned line;
	size_t route;
};

static int conf_dom_cmp(const void *a, const void *b)
{
	const struct conf_dom_ref *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	if (d)
		return d;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * The same name in two places is a mistake (the matcher would keep only one route), also
 * when spelled differently ("*.a.com" and "a.com"). Sorting finds repeats without an
 * O(n^2) scan; the repeat with the lowest line is reported so the message is stable.
 */
static int conf_check_domains(struct conf_parser *p)
{
	const struct conf *c = p->c;
	struct conf_dom_ref *refs, *dup = NULL;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < c->n_routes; i++)
		n += c->routes[i].n_domains;
	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return conf_nomem(p);
	n = 0;
	for (size_t i = 0; i < c->n_routes; i++)
		for (size_t j = 0; j < c->routes[i].n_domains; j++)
			refs[n++] = (struct conf_dom_ref){ c->routes[i].domains[j],
							   c->routes[i].domain_lines[j], i };
	qsort(refs, n, sizeof(*refs), conf_dom_cmp);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(refs[i].name, refs[i - 1].name) && (!dup || refs[i].line < dup[1].line))
			dup = &refs[i - 1];
	if (dup)
		ret = conf_err(p, dup[1].line, "domain %s is already listed at line %u (route %s)",
			       dup[1].name, dup[0].line, c->routes[dup[0].route].name);
	free(refs);
	return ret;
}

static int conf_check(struct conf_parser *p)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < p->c->n_routes; i++)
		ret = conf_check_route(p, i);
	for (size_t i = 0; ret == 0 && i < p->c->n_routes; i++)
		ret = conf_check_unique(p, i);
	if (ret == 0)
		ret = conf_check_global(p);
	if (ret == 0)
		ret = conf_check_domains(p);
	return ret;
}

/* Absolute, so lists still resolve after the daemon changes to "/". */
static char *conf_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[PATH_MAX];
	char *rel, *dir;

	if (slash == path)
		return strdup("/");
	rel = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!rel || rel[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return rel;
	dir = strcmp(rel, ".") ? conf_path_join(cwd, rel) : strdup(cwd);
	free(rel);
	return dir;
}

static int conf_parser_init(struct conf_parser *p)
{
	struct conf *c = calloc(1, sizeof(*c));

	p->c = c;
	if (!c)
		return conf_nomem(p);
	c->path = strdup(p->path);
	p->dir = conf_dir_of(p->path);
	if (!c->path || !p->dir)
		return conf_nomem(p);
	c->queue = CONF_DEF_QUEUE;
	c->mark_mask = CONF_DEF_MARK_MASK;
	c->fail_mode = CONF_FAIL_CLOSED;
	c->rule_priority = CONF_DEF_RULE_PRIORITY;
	c->max_entries = CONF_DEF_MAX_ENTRIES;
	c->min_ttl = CONF_DEF_MIN_TTL;
	c->max_ttl = CONF_DEF_MAX_TTL;
	c->default_route = -1;
	return 0;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct conf_parser p = { .path = path, .err = err, .errlen = errlen };
	FILE *f;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = conf_parser_init(&p);
	if (ret == 0)
		ret = conf_read(&p, f);
	if (ret == 0)
		ret = conf_check(&p);
	fclose(f);
	free(p.seen);
	free(p.dir);
	if (ret < 0) {
		conf_free(p.c);
		return ret;
	}
	*out = p.c;
	return 0;
}

static void conf_route_free(struct conf_route *r)
{
	for (size_t i = 0; i < r->n_domains; i++)
		free(r->domains[i]);
	for (size_t i = 0; i < r->n_lists; i++)
		free(r->lists[i]);
	free(r->domains);
	free(r->domain_lines);
	free(r->lists);
	free(r->bypass);
	free(r->networks);
	free(r->sources);
	free(r->ports);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_routes; i++)
		conf_route_free(&c->routes[i]);
	free(c->routes);
	free(c->lan_ifs);
	free(c->path);
	free(c);
}

int conf_route_find(const struct conf *c, const char *name)
{
	if (!c || !name)
		return -ENOENT;
	for (size_t i = 0; i < c->n_routes; i++)
		if (!strcmp(c->routes[i].name, name))
			return (int)i;
	return -ENOENT;
}
