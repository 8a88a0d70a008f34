/*
 * Monitor streams: a client that asked for `monitor` gets every decision its filter
 * matches. Publishing formats an event at most once per format and queues it into
 * buffers reserved up front, so it never allocates and never waits: a monitor that does
 * not read loses lines (counted, and announced when it reads again).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control_int.h"
#include "log.h"

void control_req_monitor(struct control *c, struct control_client *cl, int argc, char **argv)
{
	bool json = false, numeric = false;
	char err[CONTROL_ERR_MAX], desc[CONTROL_ERR_MAX] = "";
	size_t dl = 0;
	int i = 1;

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "json") || !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "numeric") || !strcmp(argv[i], "-n"))
			numeric = true;
		else
			break;
	}
	if (flowlog_filter_parse(argc - i, argv + i, &cl->filter, err, sizeof(err)) < 0) {
		control_client_line(c, cl, ".error: filter: %s", err);
		return;
	}
	/* the whole buffer up front: publishing must never allocate */
	if (control_buf_grow(&cl->out, c->monitor_buf) < 0) {
		control_client_line(c, cl, ".error: out of memory");
		return;
	}
	cl->monitor = true;
	cl->fmt = json ? CONTROL_FMT_JSON : numeric ? CONTROL_FMT_NUMERIC : CONTROL_FMT_TEXT;
	cl->deadline_ms = 0;
	cl->in_len = 0;
	c->n_monitors++;
	for (int k = i; k < argc && dl < sizeof(desc); k++)
		dl += (size_t)snprintf(desc + dl, sizeof(desc) - dl, " %s", argv[k]);
	if (i < argc)
		control_client_line(c, cl, ".# monitoring decisions matching:%s", desc);
	else
		control_client_line(c, cl, ".# monitoring all decisions");
	log_debug("control: uid %u pid %d monitors%s", (unsigned)cl->uid, (int)cl->pid, desc);
}

bool control_monitoring(const struct control *c)
{
	return c && c->n_monitors > 0;
}

static void monitor_queue(struct control *c, struct control_client *cl, const char *line,
			  size_t len)
{
	struct control_buf *b = &cl->out;
	bool was_empty = control_buf_pending(b) == 0;
	size_t room = b->cap - control_buf_pending(b);
	char note[48];
	int nl = 0;

	if (cl->dropped)
		nl = snprintf(note, sizeof(note), ".# %llu lines dropped\n",
			      (unsigned long long)cl->dropped);
	if (room < (size_t)nl + len + 1) {
		cl->dropped++;
		c->st.lines_dropped++;
		return;
	}
	/* the buffer holds cap bytes since control_req_monitor: these puts never allocate */
	if (nl) {
		control_buf_put(b, note, (size_t)nl, b->cap);
		cl->dropped = 0;
	}
	control_buf_put(b, line, len, b->cap);
	control_buf_put(b, "\n", 1, b->cap);
	c->st.lines_sent++;
	if (was_empty)
		control_client_interest(c, cl);
}

static int publish_format(struct control *c, enum control_fmt f, const struct flowlog_event *ev)
{
	if (c->line_len[f] == -EAGAIN)
		c->line_len[f] = f == CONTROL_FMT_JSON ?
			flowlog_format_json(ev, c->line[f], sizeof(c->line[f])) :
			flowlog_format_text(ev, f == CONTROL_FMT_NUMERIC, c->line[f],
					    sizeof(c->line[f]));
	return c->line_len[f];
}

void control_publish(struct control *c, const struct flowlog_event *ev)
{
	if (!c || !c->n_monitors)
		return;
	for (int f = 0; f < CONTROL_FMT_N; f++)
		c->line_len[f] = -EAGAIN;	/* not formatted yet */
	for (unsigned i = 0; i < c->max_clients; i++) {
		struct control_client *cl = c->clients[i];
		int len;

		if (!cl || !cl->monitor || cl->dead || !flowlog_filter_match(&cl->filter, ev))
			continue;
		len = publish_format(c, cl->fmt, ev);
		if (len > 0)
			monitor_queue(c, cl, c->line[cl->fmt], (size_t)len);
		else
			c->st.lines_dropped++;	/* cannot happen with FLOWLOG_LINE_MAX */
	}
}
