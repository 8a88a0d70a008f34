/*
 * Control socket I/O: per-client buffers, reading request lines and queueing replies.
 * Sockets never block; output is buffered per client with a bound, so a reader that
 * stalls costs memory up to that bound and never time on the packet path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "control_int.h"
#include "util.h"

#define READ_ROUNDS 8
#define REPLY_KEEP 16384		/* reply buffers above this are freed once sent */

/* ---- buffers ---- */

size_t control_buf_pending(const struct control_buf *b)
{
	return b->len - b->off;
}

static void buf_compact(struct control_buf *b)
{
	if (!b->off)
		return;
	memmove(b->data, b->data + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

/* Makes room for n more bytes without the pending total exceeding max. */
static int buf_reserve(struct control_buf *b, size_t n, size_t max)
{
	size_t cap;
	char *d;

	if (b->cap - b->len >= n)
		return 0;
	buf_compact(b);
	if (b->cap - b->len >= n)
		return 0;
	if (n > max || b->len > max - n)
		return -ENOBUFS;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > max)
		cap = max;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int control_buf_put(struct control_buf *b, const char *s, size_t n, size_t max)
{
	int ret = buf_reserve(b, n, max);

	if (ret)
		return ret;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return 0;
}

int control_buf_grow(struct control_buf *b, size_t cap)
{
	char *d;

	if (b->cap >= cap)
		return 0;
	d = realloc(b->data, cap);
	if (!d)
		return -ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

void control_buf_free(struct control_buf *b)
{
	free(b->data);
	*b = (struct control_buf){ 0 };
}
/* ---- client output ---- */

static size_t reply_max(const struct control *c, const struct control_client *cl)
{
	return cl->monitor ? c->monitor_buf : CONTROL_REPLY_MAX;
}

void control_client_interest(struct control *c, struct control_client *cl)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!cl->eof && (cl->monitor || control_buf_pending(&cl->out) < CONTROL_INPUT_PAUSE))
		want |= EPOLLIN;
	if (control_buf_pending(&cl->out))
		want |= EPOLLOUT;
	if (want == cl->interest)
		return;
	ev = (struct epoll_event){ .events = want, .data.ptr = cl };
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) < 0)
		cl->dead = true;
	else
		cl->interest = want;
}

void control_client_line(struct control *c, struct control_client *cl, const char *fmt, ...)
{
	char line[CONTROL_ERR_MAX + 16];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	/* room for the end line is never refused: a reply that filled the buffer was cut */
	if (control_buf_put(&cl->out, line, (size_t)n, reply_max(c, cl) + sizeof(line)) < 0)
		cl->dead = true;
}

int control_client_put_data(struct control *c, struct control_client *cl, const char *data,
			    size_t len)
{
	size_t max = reply_max(c, cl), before = control_buf_pending(&cl->out);

	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if ((data[0] == '.' && control_buf_put(&cl->out, ".", 1, max) < 0) ||
		    control_buf_put(&cl->out, data, n, max) < 0 ||
		    control_buf_put(&cl->out, "\n", 1, max) < 0) {
			cl->out.len = cl->out.off + before;
			return -ENOBUFS;
		}
		data += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}

static void monitor_note_dropped(struct control *c, struct control_client *cl)
{
	control_client_line(c, cl, ".# %llu lines dropped", (unsigned long long)cl->dropped);
	cl->dropped = 0;
}

void control_client_flush(struct control *c, struct control_client *cl)
{
	struct control_buf *b = &cl->out;

	while (!cl->dead) {
		size_t n = control_buf_pending(b);
		ssize_t w;

		if (n == 0) {
			if (!cl->monitor || !cl->dropped)
				break;
			monitor_note_dropped(c, cl);
			continue;
		}
		w = send(cl->fd, b->data + b->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			break;
		}
		b->off += (size_t)w;
		if (!cl->monitor)
			cl->deadline_ms = util_now_ms() + c->idle_ms;
	}
	if (cl->dead)
		return;
	if (control_buf_pending(b) == 0) {
		b->off = b->len = 0;
		if (!cl->monitor && b->cap > REPLY_KEEP)
			control_buf_free(b);
		if (cl->closing) {
			cl->dead = true;
			return;
		}
	}
	control_client_interest(c, cl);
}

/* ---- reading requests ---- */

void control_client_requests(struct control *c, struct control_client *cl)
{
	while (!cl->dead && !cl->closing && !cl->monitor &&
	       control_buf_pending(&cl->out) < CONTROL_INPUT_PAUSE) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t used;

		if (!nl && cl->eof && cl->in_len && cl->in_len < sizeof(cl->in)) {
			/* a last request without newline (printf status | socat) */
			nl = cl->in + cl->in_len;
			cl->in_len++;
		}
		if (!nl) {
			if (cl->in_len == sizeof(cl->in)) {
				control_client_line(c, cl, ".error: request too long");
				cl->closing = true;
			}
			break;
		}
		*nl = '\0';
		used = (size_t)(nl - cl->in) + 1;
		control_client_request(c, cl, cl->in);
		if (cl->monitor)
			break;	/* control_req_monitor dropped the rest of the input */
		memmove(cl->in, cl->in + used, cl->in_len - used);
		cl->in_len -= used;
	}
	if (cl->eof && !cl->monitor && cl->in_len == 0)
		cl->closing = true;
}

void control_client_read(struct control *c, struct control_client *cl)
{
	for (int round = 0; round < READ_ROUNDS && !cl->eof; round++) {
		char sink[1024], *dst = sink;
		size_t room = sizeof(sink);
		ssize_t n;

		if (!cl->monitor && !cl->closing) {
			dst = cl->in + cl->in_len;
			room = sizeof(cl->in) - cl->in_len;
			if (room == 0)
				break;	/* control_client_requests reports it */
		}
		n = recv(cl->fd, dst, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				cl->dead = true;
			break;
		}
		if (n == 0)
			cl->eof = true;
		else if (dst != sink)
			cl->in_len += (size_t)n;
	}
	if (!cl->dead) {
		if (!cl->monitor)
			cl->deadline_ms = util_now_ms() + c->idle_ms;
		control_client_requests(c, cl);
	}
}
