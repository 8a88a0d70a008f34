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

#include "conf_int.h"
#include "dlist.h"
#include "domain.h"
#include "queue.h"
#include "util.h"

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

#define G_NUM(id, nm, fn, field, lo, hi) \
	[id] = { SECT_GLOBAL, nm, false, fn, offsetof(struct conf, field), lo, hi }
#define R_KEY(id, nm, rep, fn) [id] = { SECT_ROUTE, nm, rep, fn, 0, 0, 0 }
#define G_BOOL(id, nm, field) \
	[id] = { SECT_GLOBAL, nm, false, conf_key_bool, offsetof(struct conf, field), 0, 0 }
#define G_STR(id, nm, field) \
	[id] = { SECT_GLOBAL, nm, false, conf_key_string, offsetof(struct conf, field), 0, 0 }
#define G_KEY(id, nm, rep, fn) [id] = { SECT_GLOBAL, nm, rep, fn, 0, 0, 0 }
#define R_BOOL(id, nm, field) \
	[id] = { SECT_ROUTE, nm, false, conf_key_bool, offsetof(struct conf_route, field), 0, 0 }

static const struct conf_key conf_keys[K_COUNT] = {
	G_NUM(K_QUEUE, "queue", conf_key_queue, queue, 0, UINT16_MAX),
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
	R_KEY(K_NETWORKS, "networks", true, conf_key_networks),
	R_KEY(K_NETWORK_LIST, "network-list", true, conf_key_network_list),
	R_KEY(K_SOURCES, "sources", true, conf_key_sources),
	R_KEY(K_PORTS, "ports", true, conf_key_ports),
	R_KEY(K_INBOUND, "inbound-interface", false, conf_key_inbound),
	R_BOOL(K_DNS, "dns", dns),
	[K_ROUTE_RESOLVERS] = { SECT_ROUTE, "resolvers", false, conf_key_string,
				offsetof(struct conf_route, resolvers), 0, 0 },
	G_KEY(K_DEFAULT, "default", false, conf_key_default),
	G_KEY(K_LAN, "lan-interfaces", true, conf_key_lan),
	G_STR(K_CONTROL, "control", control),
	G_STR(K_CONTROL_GROUP, "control-group", control_group),
	G_STR(K_USER, "user", user),
	G_BOOL(K_LOG_FLOWS, "log-flows", log_flows),
	G_NUM(K_GRACE, "grace", conf_key_u32, grace, 0, 7 * 86400),
	G_BOOL(K_REFRESH, "refresh", refresh),
	G_NUM(K_REFRESH_WINDOW, "refresh-window", conf_key_u32, refresh_window, 0, 30 * 86400),
	G_NUM(K_REFRESH_MAX_NAMES, "refresh-max-names", conf_key_u32, refresh_max_names, 1,
	      1u << 20),
	G_STR(K_RESOLVERS, "resolvers", resolvers),
	G_STR(K_CACHE, "cache", cache),
	G_NUM(K_CACHE_INTERVAL, "cache-interval", conf_key_u32, cache_interval, 10, 86400),
	G_NUM(K_MAX_NAMES, "max-names", conf_key_u32, max_names, 0, CONF_MAX_ENTRIES_MAX),
	G_KEY(K_SHARED, "shared-address", false, conf_key_shared),
	G_BOOL(K_PER_CLIENT, "per-client", per_client),
	G_NUM(K_DNS_QUEUE, "dns-queue", conf_key_dns_queue, dns_queue, 0, UINT16_MAX),
	G_BOOL(K_PIN_WORKERS, "pin-workers", pin_workers),
	G_KEY(K_QUEUE_FANOUT, "queue-fanout", false, conf_key_fanout),
	G_NUM(K_QUEUE_LENGTH, "queue-length", conf_key_u32, queue_length, 1,
	      CONF_QUEUE_LENGTH_MAX),
	G_NUM(K_QUEUE_BUFFER, "queue-buffer", conf_key_size, queue_buffer, CONF_QUEUE_BUFFER_MIN,
	      CONF_QUEUE_BUFFER_MAX),
	G_NUM(K_QUEUE_BATCH, "queue-batch", conf_key_u32, queue_batch, 1, QUEUE_BATCH_MAX),
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
		return conf_err(p, p->line, "key %s belongs in %s, not in [%s%s%s]",
				conf_q(p, key),
				global ? "[route NAME]" : "[global]", global ? "global" : "route",
				global ? "" : " ", conf_q(p, name));
	return conf_err(p, p->line, "unknown key %s in [%s%s%s]", conf_q(p, key),
			global ? "global" : "route",
			global ? "" : " ", conf_q(p, name));
}

static int conf_assign(struct conf_parser *p, char *s)
{
	const struct conf_key *k;
	struct conf_seen *seen;
	char *eq = strchr(s, '=');
	char *key, *val;
	size_t id;

	if (!eq)
		return conf_err(p, p->line, "expected key = value, got '%s'", conf_q(p, s));
	*eq = '\0';
	key = conf_trim(s);
	val = conf_trim(eq + 1);
	if (!*key)
		return conf_err(p, p->line, "missing key before '='");
	if (p->sect == SECT_NONE)
		return conf_err(p, p->line, "key %s is outside a section; start with [global] "
				"or [route NAME]", conf_q(p, key));
	k = conf_key_find(p->sect, key);
	if (!k)
		return conf_unknown_key(p, key);
	if (!*val)
		return conf_err(p, p->line, "%s has no value", conf_q(p, key));
	id = (size_t)(k - conf_keys);
	seen = conf_seen_cur(p);
	if (seen->line[id] && !k->repeat)
		return conf_err(p, p->line, "duplicate key %s (first set at line %u)",
				conf_q(p, key),
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
				"A-Z a-z 0-9 _ -)", conf_q(p, name), CONF_NAME_MAX - 1);
	i = conf_route_find(p->c, name);
	if (i >= 0)
		return conf_err(p, p->line, "duplicate route %s (first at line %d)",
				conf_q(p, name),
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
		return conf_err(p, p->line, "missing ] at the end of section header %s",
				conf_q(p, s));
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
			conf_q(p, in));
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
		conf_err_file(p, "%s", strerror(-ret));
	}
	free(buf);
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
	c->queue_count = 1;
	c->dns_queue = -1;	/* resolved by conf_check_queues */
	c->queue_length = CONF_DEF_QUEUE_LENGTH;
	c->queue_buffer = CONF_DEF_QUEUE_BUFFER;
	c->queue_batch = CONF_DEF_QUEUE_BATCH;
	c->mark_mask = CONF_DEF_MARK_MASK;
	c->fail_mode = CONF_FAIL_CLOSED;
	c->rule_priority = CONF_DEF_RULE_PRIORITY;
	c->max_entries = CONF_DEF_MAX_ENTRIES;
	c->min_ttl = CONF_DEF_MIN_TTL;
	c->max_ttl = CONF_DEF_MAX_TTL;
	c->default_route = -1;
	c->grace = CONF_DEF_GRACE;
	c->refresh = true;
	c->refresh_max_names = CONF_DEF_REFRESH_NAMES;
	c->cache_interval = CONF_DEF_CACHE_INTERVAL;
	c->cache = strdup(CONF_DEF_CACHE);
	if (!c->cache)
		return conf_nomem(p);
	return 0;
}

/* The configuration file itself: a regular file (util_file_open), never blocking. */
static int conf_open(struct conf_parser *p, FILE **f)
{
	char limit[32];
	int fd, ret = util_file_open(p->path, CONF_MAX_FILE, &fd, NULL);

	if (ret == -EFBIG) {
		util_size_text(CONF_MAX_FILE, limit, sizeof(limit));
		conf_err_file(p, "larger than %s, the limit for a configuration file", limit);
		return ret;
	}
	if (ret < 0) {
		conf_err_file(p, "%s", util_file_strerr(ret));
		return ret;
	}
	*f = fdopen(fd, "r");
	if (!*f) {
		close(fd);
		return conf_nomem(p);
	}
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
	ret = conf_open(&p, &f);
	if (ret < 0)
		return ret;
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
	free(r->list_lines);
	free(r->network_lines);
	free(r->bypass);
	free(r->networks);
	free(r->sources);
	free(r->ports);
	free(r->resolvers);
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_routes; i++)
		conf_route_free(&c->routes[i]);
	free(c->routes);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c->lan_ifs);
	free(c->control);
	free(c->control_group);
	free(c->user);
	free(c->resolvers);
	free(c->cache);
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
