#ifndef NFQR_CONF_H
#define NFQR_CONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dlist.h"
#include "pkt.h"

#define CONF_NAME_MAX 32
#define CONF_ERR_MAX 512
#define CONF_TABLE_MAIN 254
#define CONF_QUEUES_MAX 64	/* queue = N-M: new-connection queues at most */
#define CONF_MAX_FILE (64u << 20)	/* a configuration file larger than this is a mistake */
#define CONF_WARN_MAX 32	/* warnings kept per configuration; more are only counted */

/*
 * Receives one warning (prio LOG_WARNING) for `nfqroute check` or the log; the signature
 * of a log callback, so the daemon can hand its own.
 */
typedef void (*conf_warn_fn)(void *ctx, int prio, const char *msg);

enum conf_fail_mode { CONF_FAIL_CLOSED, CONF_FAIL_OPEN };

/* shared-address = : who keeps an address announced for names of different routes */
enum conf_shared { CONF_SHARED_LAST_WINS, CONF_SHARED_PREFER_TUNNEL };

/* An address prefix: networks =, sources =, network-list = lines. */
struct conf_prefix {
	struct pkt_addr addr;	/* host bits cleared (a warning says so when set) */
	uint8_t len;		/* 0..32 or 0..128 */
};

/* A destination port range: ports = tcp:25 udp:5000-5100. */
struct conf_ports {
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t lo, hi;
};

struct conf_route {
	char name[CONF_NAME_MAX];	/* from [route NAME] */
	char ifname[IF_NAMESIZE];	/* interface = */
	uint32_t table;			/* table = (1..2^32-2, or "main" = 254) */
	uint32_t mark;			/* mark = ; inside the global mark-mask, nonzero */
	bool fail_closed;		/* fail-closed = yes|no (default yes) */
	bool masquerade;		/* masquerade = yes|no (default no) */
	bool keep_blackhole;		/* keep-blackhole = yes|no (default no): leave the ip
					 * rule and blackhole in place on stop */
	bool has_gw4, has_gw6;
	struct pkt_addr gw4, gw6;	/* gateway = ADDR [ADDR] (one per family) */
	size_t n_bypass;		/* endpoint = ADDR ... : never routed into this route */
	struct pkt_addr *bypass;
	size_t n_domains;		/* domains = RULE ...: canonical rule text, NAME (suffix),
					 * full:NAME, keyword:WORD or regexp:RE */
	char **domains;
	unsigned *domain_lines;		/* line of each domains entry, for messages */
	size_t n_lists;			/* domain-list = FILE (may repeat) */
	char **lists;
	unsigned *list_lines;		/* line of each domain-list key, for messages */
	enum dlist_format list_format;	/* format = (default auto): of this route's lists */
	int line;			/* line of the [route] header */
	/* selectors decided in the kernel (nftables), before any domain decision */
	size_t n_networks;		/* networks = CIDR ..., network-list = FILE */
	struct conf_prefix *networks;
	unsigned *network_lines;	/* line of the key that gave each network */
	size_t n_sources;		/* sources = CIDR ... */
	struct conf_prefix *sources;
	size_t n_ports;			/* ports = tcp:25 udp:5000-5100 */
	struct conf_ports *ports;
	char inbound_if[IF_NAMESIZE];	/* inbound-interface = IFACE ("" when unset) */
	bool dns;			/* dns = yes: queries for this route's names take it */
	char *resolvers;		/* resolvers = for this route's own lookups (refresh) */
};

struct conf {
	char *path;
	/* the kernel queues (see nfqroute.conf(5)): one worker thread per new-flow queue */
	uint16_t queue;			/* queue = N or N-M: the first queue of new connections */
	uint16_t queue_count;		/* new connections fan out over queue..queue+count-1
					 * (1..CONF_QUEUES_MAX; 1 for queue = N) */
	int32_t dns_queue;		/* dns-queue = K: the queue of DNS replies, or -1: they
					 * share `queue` (the default for one queue). With several
					 * queues never -1 (default the last + 1) and never one of
					 * them */
	bool pin_workers;		/* pin-workers = yes: worker of queue+i on CPU i mod CPUs */
	bool fanout_cpu;		/* queue-fanout = cpu (else hash): how the kernel spreads
					 * new connections over the queues */
	uint32_t queue_length;		/* queue-length = 4096: packets per kernel queue */
	uint32_t queue_buffer;		/* queue-buffer = 8M: receive buffer per queue, bytes */
	uint32_t queue_batch;		/* queue-batch = 64: packets per receive */
	uint32_t mark_mask;		/* mark-mask = 0xff00 */
	enum conf_fail_mode fail_mode;	/* fail-mode = closed|open */
	uint32_t rule_priority;		/* rule-priority = 1000: first ip rule priority */
	uint32_t max_entries;		/* max-entries = 65536: learned address cap */
	uint32_t min_ttl, max_ttl;	/* min-ttl = 60, max-ttl = 86400 (seconds) */
	size_t n_routes;
	struct conf_route *routes;
	int default_route;		/* default = ROUTE: index, or -1 (unmatched stay) */
	size_t n_lan_ifs;		/* lan-interfaces = IFACE ...: gateway mode */
	char (*lan_ifs)[IF_NAMESIZE];
	char *control;			/* control = PATH (NULL: CONTROL_DEFAULT_PATH) */
	char *control_group;		/* control-group = NAME|GID (NULL: root only) */
	char *user;			/* user = NAME|UID (NULL: stay root, CAP_NET_ADMIN only) */
	bool log_flows;			/* log-flows = yes|no (default no) */
	/* staying right over time */
	uint32_t grace;			/* grace = 300 s: unannounced addresses linger */
	bool refresh;			/* refresh = yes: re-resolve names in use */
	uint32_t refresh_window;	/* refresh-window = 0 s (0: twice the TTL) */
	uint32_t refresh_max_names;	/* refresh-max-names = 4096 */
	char *resolvers;		/* resolvers = ADDR[:PORT],... (NULL: /etc/resolv.conf) */
	char *cache;			/* cache = FILE (default /var/lib/nfqroute/cache; "" none) */
	uint32_t cache_interval;	/* cache-interval = 300 s */
	uint32_t max_names;		/* max-names = 0 (max-entries / 2) */
	enum conf_shared shared_address; /* shared-address = last-wins|prefer-tunnel */
	bool per_client;		/* per-client = yes: LAN hosts keep their own mappings */
	/* what is valid but likely not what was meant: "FILE:LINE: text", printable ASCII */
	size_t n_warnings;		/* at most CONF_WARN_MAX */
	char **warnings;
	size_t warnings_dropped;	/* beyond CONF_WARN_MAX */
};

/*
 * Reads and validates the INI file at path. On success returns 0 and a new *out the
 * caller frees with conf_free. On failure returns -EINVAL (or -errno when the file cannot
 * be read), writes "FILE:LINE: message" into err and leaves *out NULL. Checks keys,
 * values, duplicate names, marks and tables, that marks lie inside mark-mask, and that
 * domain-list files are readable. Every file it reads (the configuration, domain-list and
 * network-list files) must be a regular file within its size limit: a FIFO or a device is
 * refused without blocking. Text from the file quoted in err has bytes outside printable
 * ASCII escaped as \xHH and long values shortened with "...". What is valid but likely a
 * mistake (host bits set in a prefix, keys ignored with table = main) is kept in
 * (*out)->warnings.
 */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen);

/* Frees a configuration; accepts NULL. */
void conf_free(struct conf *c);

/*
 * Describes the queue layout of c in one line, e.g. "queues 0-1 (new connections, hash
 * fanout), DNS replies on queue 2" or "queue 0 (new connections and DNS replies)", for
 * `nfqroute check` and the log. Returns what snprintf returns (the length it needed).
 */
int conf_queue_describe(const struct conf *c, char *buf, size_t size);

/*
 * Writes the queue layout, the worker threads it takes and the per-queue settings
 * (queue-length, queue-buffer, queue-batch, pin-workers), one line each, for `nfqroute check`.
 */
void conf_queue_print(const struct conf *c, FILE *out);

/*
 * Warnings that depend on this host, for `nfqroute check`: a route's interface, an
 * inbound-interface or a lan-interfaces entry that does not exist (yet). Calls fn once
 * per warning; never fails.
 */
void conf_host_check(const struct conf *c, conf_warn_fn fn, void *ctx);

/* Index of the route named name, or -ENOENT. */
int conf_route_find(const struct conf *c, const char *name);

#endif
