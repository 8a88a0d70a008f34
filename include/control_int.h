#ifndef NFQR_CONTROL_INT_H
#define NFQR_CONTROL_INT_H

/*
 * The control socket's internals, shared by its modules: control.c (the listening socket,
 * connections, the loop), control_io.c (buffers, reading requests, writing replies),
 * control_req.c (the requests), control_mon.c (monitor streams) and control_auth.c (who
 * the peer is and what it may do). Internal: nothing else includes it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.h"
#include "flowlog.h"

#define CONTROL_ERR_MAX 256
#define CONTROL_INPUT_PAUSE (CONTROL_REPLY_MAX / 4)	/* stop reading requests above this
							 * backlog */

struct control_buf {
	char *data;
	size_t off, len, cap;	/* pending bytes are data[off..len) */
};

enum control_fmt { CONTROL_FMT_TEXT, CONTROL_FMT_NUMERIC, CONTROL_FMT_JSON, CONTROL_FMT_N };

struct control_client {
	int fd;
	uint32_t interest;	/* epoll events currently registered */
	enum control_access access;
	uid_t uid;
	pid_t pid;
	bool monitor;		/* streaming events; input is discarded */
	bool eof;		/* the peer shut down its side: read no more */
	bool closing;		/* close once the output is sent */
	bool dead;		/* close at the next reap */
	uint8_t fmt;		/* enum control_fmt, for monitors */
	uint64_t deadline_ms;	/* idle/stall limit; 0 for monitors */
	uint64_t dropped;	/* monitor lines lost since the last notice */
	size_t in_len;
	char in[CONTROL_REQUEST_MAX];
	struct control_buf out;
	struct flowlog_filter filter;
};

struct control {
	struct loop *loop;
	const struct control_ops *ops;
	void *ctx;
	int lfd, epfd;
	bool registered, accept_paused;
	uint64_t accept_retry_ms;
	unsigned timer_slot, max_clients, n_clients, n_monitors, idle_ms;
	size_t monitor_buf;
	gid_t group;
	char *path;
	bool bound;
	dev_t dev;
	ino_t ino;
	struct control_client **clients;
	struct control_stats st;
	char listen_tag;	/* its address marks the listening socket in the epoll set */
	int line_len[CONTROL_FMT_N];
	char line[CONTROL_FMT_N][FLOWLOG_LINE_MAX];
};

/* ---- control_io.c ---- */

/* Bytes queued and not yet sent. */
size_t control_buf_pending(const struct control_buf *b);

/*
 * Appends n bytes, growing the buffer as needed without the pending total exceeding max.
 * Returns 0, -ENOBUFS (over max) or -ENOMEM.
 */
int control_buf_put(struct control_buf *b, const char *s, size_t n, size_t max);

/* Grows the allocation to at least cap bytes, so that puts up to cap never allocate.
 * Returns 0 or -ENOMEM. */
int control_buf_grow(struct control_buf *b, size_t cap);

/* Frees the data and empties the buffer. */
void control_buf_free(struct control_buf *b);

/* Registers the epoll events the client's state calls for; marks it dead on failure. */
void control_client_interest(struct control *c, struct control_client *cl);

/*
 * Queues a control line (".", ".error: ...", ".# ..."); control characters in the text
 * become spaces. Room for it is never refused (the client is marked dead when memory is
 * out).
 */
__attribute__((format(printf, 3, 4)))
void control_client_line(struct control *c, struct control_client *cl, const char *fmt, ...);

/* Queues a handler's text as data lines (dot-stuffed); -ENOBUFS when it does not fit. */
int control_client_put_data(struct control *c, struct control_client *cl, const char *data,
			    size_t len);

/* Sends what the socket takes now; marks the client dead on a hard error or when a
 * closing client's output is all sent. */
void control_client_flush(struct control *c, struct control_client *cl);

/* Reads what the socket has (a few rounds at most) and answers complete requests. */
void control_client_read(struct control *c, struct control_client *cl);

/* Answers every complete request line received, unless the output backlog says wait. */
void control_client_requests(struct control *c, struct control_client *cl);

/* ---- control_req.c ---- */

/* Parses one request line (modified in place), checks access and runs it. */
void control_client_request(struct control *c, struct control_client *cl, char *line);

/* ---- control_mon.c ---- */

/* `monitor [json] [numeric] [FILTER]`: turns the client into a monitor stream. */
void control_req_monitor(struct control *c, struct control_client *cl, int argc, char **argv);

/* ---- control_auth.c ---- */

/*
 * Reads the peer's credentials (SO_PEERCRED, then its groups only when needed) into
 * cl->uid and cl->pid and decides its access for group c->group. CONTROL_DENY when the
 * credentials cannot be read.
 */
enum control_access control_peer_access(const struct control *c, struct control_client *cl);

#endif
