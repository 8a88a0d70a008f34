#ifndef NFQR_CONTROL_H
#define NFQR_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "flowlog.h"
#include "loop.h"

/*
 * The control socket the CLI talks to: a Unix stream socket served on the daemon's loop.
 *
 * Protocol (one request per line; a connection may send several in turn):
 *   request  = WORD *(" " WORD) "\n"           at most CONTROL_REQUEST_MAX bytes
 *     status [json] | why ADDR|NAME | monitor [json] [numeric] [FILTER...] |
 *     reload [--reroute] | flush | help
 *   reply    = *data-line end-line
 *   data-line: any text; a line that starts with "." is sent with one more "." in front
 *              (dot-stuffing as in SMTP), so the reader strips one leading "." of a line
 *              that starts with "..".
 *   end-line: "."                  the request succeeded
 *             ".error: TEXT"       it failed (or the connection is being refused/closed)
 *   notice:   ".# TEXT"            not data, not the end: e.g. ".# 12 lines dropped"
 * A `monitor` reply is a stream: ".# monitoring ..." once the filter is accepted, then one
 * line per matching decision (flowlog text or JSON) until the client closes; it ends with
 * ".error: ..." only when the daemon stops. Text lines start with a digit and JSON lines
 * with "{", so monitor lines never need stuffing.
 *
 * Access (SO_PEERCRED at connect): uid 0 may send every request; the configured group
 * (the peer's primary or a supplementary group) may send status, why, monitor and help;
 * anyone else gets ".error: permission denied ..." to their first request and is closed.
 *
 * Nothing here blocks: sockets are non-blocking, output is buffered per client with a
 * bound, a client whose reply does not drain (or who sends no request) within
 * CONTROL_IDLE_MS (idle_ms) is dropped with ".error: timeout", and a monitor that does not
 * read loses lines (counted and announced once it reads again) instead of slowing the
 * packet path.
 */
struct control;

#define CONTROL_DEFAULT_PATH "/run/nfqroute/control"
#define CONTROL_TIMER 2			/* the loop timer slot used for timeouts */
#define CONTROL_CLIENTS_MAX 32		/* connections served at once (default) */
#define CONTROL_REQUEST_MAX 1024	/* one request line, newline included */
#define CONTROL_MONITOR_BUF 65536	/* bytes queued per monitor before lines drop */
#define CONTROL_REPLY_MAX (1 << 20)	/* largest reply to one request */
#define CONTROL_IDLE_MS 10000		/* no request, or a reply not drained, for this long */
#define CONTROL_NO_GROUP ((gid_t)-1)

struct control_config {
	const char *path;	/* socket path; NULL: CONTROL_DEFAULT_PATH */
	gid_t group;		/* may read; CONTROL_NO_GROUP: root only (socket mode 0600) */
	unsigned timer_slot;	/* loop timer slot (CONTROL_TIMER) */
	unsigned max_clients;	/* 0: CONTROL_CLIENTS_MAX */
	size_t monitor_buf;	/* 0: CONTROL_MONITOR_BUF */
	unsigned idle_ms;	/* 0: CONTROL_IDLE_MS */
};

/*
 * What the daemon answers with. Each handler runs on the loop and must not block; it
 * writes its reply (any number of lines, any text) to out and returns 0, or -errno with a
 * one-line message in err, which the client gets as ".error: MESSAGE" after whatever was
 * written to out. A NULL handler answers ".error: ... is not available".
 */
struct control_ops {
	/* status, or `status json` (one JSON document) */
	int (*status)(void *ctx, bool json, FILE *out, char *err, size_t errlen);
	/* why ADDR|NAME: what is known about an address or a name */
	int (*why)(void *ctx, const char *what, FILE *out, char *err, size_t errlen);
	/* reload [--reroute]: errors (a bad configuration) go to err, the old config stays */
	int (*reload)(void *ctx, bool reroute, FILE *out, char *err, size_t errlen);
	/* flush: forget learned mappings */
	int (*flush)(void *ctx, FILE *out, char *err, size_t errlen);
};

/* Counters for `status`. */
struct control_stats {
	unsigned clients;		/* connections open now */
	unsigned monitors;		/* of which monitors */
	uint64_t requests;		/* requests answered since start */
	uint64_t refused;		/* requests refused for lack of permission */
	uint64_t lines_sent;		/* monitor lines queued */
	uint64_t lines_dropped;		/* monitor lines lost to slow readers */
};

/*
 * Creates the socket at cfg->path (its parent directory is created with mode 0755 when
 * missing; a stale socket left by a dead instance is replaced, a live one or a file that
 * is not a socket is an error), gives it group cfg->group and mode 0660 (0600 without a
 * group), listens, and registers one descriptor on l (the clients live in an epoll set of
 * their own, so any number of them take one loop slot) plus timer slot cfg->timer_slot.
 * ops and ctx must outlive the server. Needs permission to create the path and, with a
 * group, to chown it (root). Returns 0 and *out, or -errno with a message in err.
 */
int control_new(const struct control_config *cfg, struct loop *l, const struct control_ops *ops,
		void *ctx, struct control **out, char *err, size_t errlen);

/*
 * Tells monitors ".error: nfqroute is stopping" (best effort, without waiting), closes
 * every connection and the socket, removes the socket path when it is still the one this
 * server created, and unregisters from the loop. Accepts NULL.
 */
void control_free(struct control *c);

/*
 * True when at least one monitor is attached: the daemon checks this (or calls
 * control_publish, which checks it first) before building an event. Accepts NULL.
 */
bool control_monitoring(const struct control *c);

/*
 * Offers one decision to every monitor: each event is formatted at most once per format
 * (text, numeric text, JSON) and queued to the monitors whose filter matches. Never
 * blocks and never allocates: a monitor whose buffer is full loses the line and is told
 * ".# N lines dropped" when it has room again. Sending happens later on the loop. Cheap
 * without monitors. Accepts NULL.
 */
void control_publish(struct control *c, const struct flowlog_event *ev);

/* Copies the counters. */
void control_get_stats(const struct control *c, struct control_stats *out);

/* Who is connected, as SO_PEERCRED and SO_PEERGROUPS (or /proc) tell. */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	size_t n_groups;
	const gid_t *groups;	/* supplementary groups */
};

enum control_access {
	CONTROL_DENY,		/* neither root nor in the group */
	CONTROL_READ,		/* status, why, monitor, help */
	CONTROL_ADMIN,		/* also reload, flush */
};

/*
 * The access rule, pure: uid 0 is admin; a peer whose primary or supplementary group is
 * group may read (never when group is CONTROL_NO_GROUP); everyone else is denied.
 */
enum control_access control_access_decide(const struct control_peer *peer, gid_t group);

/*
 * Reads the "Groups:" line of a /proc/PID/status text into out (at most max entries).
 * Returns the number of groups found (0 for an empty line), or -ENOENT without the line,
 * -EINVAL for a malformed one, -ENOSPC for more than max. Used when the kernel lacks
 * SO_PEERGROUPS; pure, exposed for tests.
 */
int control_groups_parse(const char *status, gid_t *out, size_t max);

/*
 * Resolves the control-group setting: a group name or number. NULL or "" gives
 * CONTROL_NO_GROUP. Uses NSS (getgrnam_r): call it at start-up, not on the loop.
 * Returns 0, or -ENOENT ("no group NAME") / -errno with a message in err.
 */
int control_group_lookup(const char *name, gid_t *out, char *err, size_t errlen);

#endif
