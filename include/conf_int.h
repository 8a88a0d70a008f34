#ifndef NFQR_CONF_INT_H
#define NFQR_CONF_INT_H

/*
 * Shared by the configuration reader's files: conf.c (the key table and line loop),
 * conf_value.c (one parser per kind of value) and conf_check.c (checks that need the
 * whole file). Nothing outside them includes this.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "netset.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define CONF_DEF_QUEUE		0
#define CONF_DEF_QUEUE_LENGTH	4096
#define CONF_DEF_QUEUE_BUFFER	(8u << 20)
#define CONF_DEF_QUEUE_BATCH	64
#define CONF_QUEUE_LENGTH_MAX	(1u << 20)
#define CONF_QUEUE_BUFFER_MIN	(64u << 10)
#define CONF_QUEUE_BUFFER_MAX	(1u << 30)
#define CONF_DEF_MARK_MASK	0xff00
#define CONF_DEF_RULE_PRIORITY	1000
#define CONF_DEF_MAX_ENTRIES	65536
#define CONF_DEF_MIN_TTL	60
#define CONF_DEF_MAX_TTL	86400
#define CONF_DEF_GRACE		300
#define CONF_DEF_REFRESH_NAMES	4096
#define CONF_DEF_CACHE		"/var/lib/nfqroute/cache"
#define CONF_DEF_CACHE_INTERVAL	300
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
#define CONF_QUOTES		4	/* values one message may quote */
#define CONF_QUOTE_MAX		100	/* bytes of a quoted value, "..." included */
#define CONF_NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

enum conf_key_id {
	K_QUEUE, K_MARK_MASK, K_FAIL_MODE, K_RULE_PRIORITY, K_MAX_ENTRIES, K_MIN_TTL, K_MAX_TTL,
	K_INTERFACE, K_TABLE, K_MARK, K_FAIL_CLOSED, K_MASQUERADE, K_KEEP_BLACKHOLE, K_GATEWAY,
	K_ENDPOINT, K_DOMAINS, K_DOMAIN_LIST, K_FORMAT,
	K_NETWORKS, K_NETWORK_LIST, K_SOURCES, K_PORTS, K_INBOUND, K_DNS, K_ROUTE_RESOLVERS,
	K_DEFAULT, K_LAN, K_CONTROL, K_CONTROL_GROUP, K_USER, K_LOG_FLOWS, K_GRACE, K_REFRESH,
	K_REFRESH_WINDOW, K_REFRESH_MAX_NAMES, K_RESOLVERS, K_CACHE, K_CACHE_INTERVAL,
	K_MAX_NAMES, K_SHARED, K_PER_CLIENT,
	K_DNS_QUEUE, K_PIN_WORKERS, K_QUEUE_FANOUT, K_QUEUE_LENGTH, K_QUEUE_BUFFER, K_QUEUE_BATCH,
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
	char default_name[CONF_NAME_MAX];	/* default = ROUTE, resolved by conf_check */
	char quote[CONF_QUOTES][CONF_QUOTE_MAX];	/* conf_q's ring */
	unsigned n_quote;
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

/* Writes "FILE:LINE: message" into the parser's error buffer; returns -EINVAL. */
int conf_err(struct conf_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes "FILE: message" (no line: about the file itself); returns -EINVAL. */
int conf_err_file(struct conf_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Keeps "FILE:LINE: message" as a warning of the configuration (see struct conf); best
 * effort: a warning that cannot be stored is counted as dropped.
 */
void conf_warn(struct conf_parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Text from the file ready to quote in a message (util_quote: escaped, shortened to
 * CONF_QUOTE_MAX). Valid until CONF_QUOTES more calls: enough for one message.
 */
const char *conf_q(struct conf_parser *p, const char *text);

/* Writes "FILE: out of memory"; returns -ENOMEM. */
int conf_nomem(struct conf_parser *p);

/* Makes room for element n of an array grown by doubling; NULL (arr kept) on failure. */
void *conf_array_grow(void *arr, size_t n, size_t size);

/* Next token of a space/tab/comma separated list, split in place; NULL at the end. */
char *conf_token(char **s);

/* Decimal or 0x-hex, nothing else (no sign, no octal); too large reads as UINT64_MAX. 0 or
 * -EINVAL. */
int conf_num(const char *s, uint64_t *out);

/* val as a number within k's min..max into *out, or reports why not (-EINVAL). */
int conf_range(struct conf_parser *p, const struct conf_key *k, const char *val,
	       uint32_t *out);

/* The field key k writes: in struct conf, or in the current route. */
void *conf_field(struct conf_parser *p, const struct conf_key *k);

/* The route being read (the last [route] header). */
struct conf_route *conf_cur(struct conf_parser *p);

/* Joins dir and file (file as is when absolute); NULL when out of memory. */
char *conf_path_join(const char *dir, const char *file);

/* Value parsers: each reads val for key k into the current section, or reports why not. */
conf_parse_fn conf_key_u32, conf_key_bool, conf_key_fail_mode, conf_key_ifname,
	conf_key_table, conf_key_gateway, conf_key_endpoint, conf_key_domains, conf_key_format,
	conf_key_domain_list, conf_key_string, conf_key_networks, conf_key_network_list,
	conf_key_sources, conf_key_ports, conf_key_inbound, conf_key_default, conf_key_lan,
	conf_key_shared, conf_key_queue, conf_key_dns_queue, conf_key_fanout, conf_key_size;

/* The checks that need the whole file; 0 or -EINVAL with the line that is wrong. */
int conf_check(struct conf_parser *p);

/*
 * Resolves dns-queue once [global] is read (-1 when DNS replies share the one queue, the
 * last new-connection queue + 1 by default with several) and refuses a DNS queue among
 * the new-connection queues. 0 or -EINVAL.
 */
int conf_check_queues(struct conf_parser *p);

#endif
