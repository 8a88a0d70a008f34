/*
 * Control socket requests: one line of words, checked against the peer's access, answered
 * by the daemon's handlers (status, why, reload, flush) or here (help); monitor is in
 * control_mon.c. A handler writes into a memory stream that becomes the reply's data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_int.h"
#include "log.h"
#include "util.h"

#define WORDS_MAX 64

struct reply {
	FILE *f;
	char *data;
	size_t len;
	char err[CONTROL_ERR_MAX];
};

static FILE *reply_open(struct reply *r)
{
	r->data = NULL;
	r->len = 0;
	r->err[0] = '\0';
	r->f = open_memstream(&r->data, &r->len);
	return r->f;
}

static void reply_finish(struct control *c, struct control_client *cl, struct reply *r, int ret)
{
	if (fclose(r->f) != 0 && !ret) {
		ret = -ENOMEM;
		snprintf(r->err, sizeof(r->err), "out of memory");
	}
	if (r->data && control_client_put_data(c, cl, r->data, r->len) < 0) {
		ret = -ENOBUFS;
		snprintf(r->err, sizeof(r->err), "reply too large");
	}
	free(r->data);
	if (ret < 0)
		control_client_line(c, cl, ".error: %s", r->err[0] ? r->err : util_strerr(ret));
	else
		control_client_line(c, cl, ".");
}

static void req_status(struct control *c, struct control_client *cl, int argc, char **argv)
{
	bool json = argc == 2 && (!strcmp(argv[1], "json") || !strcmp(argv[1], "--json"));
	struct reply r;

	if (argc > 2 || (argc == 2 && !json)) {
		control_client_line(c, cl, ".error: usage: status [json]");
		return;
	}
	if (!c->ops->status) {
		control_client_line(c, cl, ".error: status is not available");
		return;
	}
	if (!reply_open(&r)) {
		control_client_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->status(c->ctx, json, r.f, r.err, sizeof(r.err)));
}

static void req_why(struct control *c, struct control_client *cl, int argc, char **argv)
{
	struct reply r;

	if (argc != 2) {
		control_client_line(c, cl, ".error: usage: why ADDRESS|NAME");
		return;
	}
	if (!c->ops->why) {
		control_client_line(c, cl, ".error: why is not available");
		return;
	}
	if (!reply_open(&r)) {
		control_client_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->why(c->ctx, argv[1], r.f, r.err, sizeof(r.err)));
}

static void req_reload(struct control *c, struct control_client *cl, int argc, char **argv)
{
	bool reroute = argc == 2 && (!strcmp(argv[1], "--reroute") || !strcmp(argv[1], "reroute"));
	struct reply r;

	if (argc > 2 || (argc == 2 && !reroute)) {
		control_client_line(c, cl, ".error: usage: reload [--reroute]");
		return;
	}
	if (!c->ops->reload) {
		control_client_line(c, cl, ".error: reload is not available");
		return;
	}
	if (!reply_open(&r)) {
		control_client_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->reload(c->ctx, reroute, r.f, r.err, sizeof(r.err)));
}

static void req_flush(struct control *c, struct control_client *cl, int argc, char **argv)
{
	struct reply r;

	(void)argv;
	if (argc != 1) {
		control_client_line(c, cl, ".error: usage: flush");
		return;
	}
	if (!c->ops->flush) {
		control_client_line(c, cl, ".error: flush is not available");
		return;
	}
	if (!reply_open(&r)) {
		control_client_line(c, cl, ".error: out of memory");
		return;
	}
	reply_finish(c, cl, &r, c->ops->flush(c->ctx, r.f, r.err, sizeof(r.err)));
}

static void req_help(struct control *c, struct control_client *cl, int argc, char **argv)
{
	static const char help[] =
		"status [json]                       counters, routes, queue\n"
		"why ADDRESS|NAME                    what decided, or would decide\n"
		"monitor [json] [numeric] [FILTER]   stream decisions (host, net, port, domain,\n"
		"                                    route, proto; and, or, not, parentheses)\n"
		"reload [--reroute]                  re-read the configuration; --reroute also\n"
		"                                    moves open connections whose route changed\n"
		"                                    (root)\n"
		"flush                               forget learned addresses (root)\n";

	(void)argc;
	(void)argv;
	if (control_client_put_data(c, cl, help, sizeof(help) - 1) < 0)
		control_client_line(c, cl, ".error: reply too large");
	else
		control_client_line(c, cl, ".");
}

static const struct request_kind {
	const char *name;
	enum control_access needs;
	void (*fn)(struct control *c, struct control_client *cl, int argc, char **argv);
} requests[] = {
	{ "status", CONTROL_READ, req_status },
	{ "why", CONTROL_READ, req_why },
	{ "monitor", CONTROL_READ, control_req_monitor },
	{ "help", CONTROL_READ, req_help },
	{ "reload", CONTROL_ADMIN, req_reload },
	{ "flush", CONTROL_ADMIN, req_flush },
};

void control_client_request(struct control *c, struct control_client *cl, char *line)
{
	char *argv[WORDS_MAX], *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (argc == WORDS_MAX) {
			control_client_line(c, cl, ".error: too many words (at most %d)",
					    WORDS_MAX);
			return;
		}
		argv[argc++] = w;
	}
	c->st.requests++;
	if (argc == 0) {
		/* every request gets an answer, or a client waits for one until it times out */
		control_client_line(c, cl, ".error: empty request (try help)");
		return;
	}
	if (cl->access == CONTROL_DENY) {
		c->st.refused++;
		control_client_line(c, cl, ".error: permission denied: uid %u is neither root "
				    "nor in the control group", (unsigned)cl->uid);
		cl->closing = true;
		log_info("control: refused uid %u pid %d", (unsigned)cl->uid, (int)cl->pid);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(requests); i++) {
		if (strcmp(argv[0], requests[i].name) != 0)
			continue;
		if (cl->access < requests[i].needs) {
			c->st.refused++;
			control_client_line(c, cl, ".error: permission denied: %s needs root",
					    argv[0]);
			return;
		}
		requests[i].fn(c, cl, argc, argv);
		return;
	}
	for (char *p = argv[0]; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';	/* the reply is a text line */
	control_client_line(c, cl, ".error: unknown request '%.40s' (try help)", argv[0]);
}
