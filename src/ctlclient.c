/*
 * Talks to a running daemon: one request, then the reply relayed line by line. Blocking
 * I/O is fine here, this runs in the CLI process, never in the daemon.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "control.h"
#include "ctlclient.h"
#include "util.h"

#define LINE_MAX_BYTES 65536

enum { RELAY_MORE = 0, RELAY_DONE = 1 };

struct relay {
	FILE *out;
	bool follow;
	int max_lines, lines;
	char *err;
	size_t errlen;
};

static const char *connect_hint(int e)
{
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
		return " (is nfqroute running?)";
	case EACCES:
	case EPERM:
		return " (are you root or in nfqroute's control-group?)";
	case EAGAIN:
		return " (nfqroute is busy, try again)";
	}
	return "";
}

static int ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot connect to %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot connect to %s: %s%s", path, strerror(e),
			 connect_hint(e));
		close(fd);
		return -e;
	}
	return fd;
}

static int ctl_send(int fd, const char *request, char *err, size_t errlen)
{
	char line[CONTROL_REQUEST_MAX];
	size_t len = strlen(request), off = 0;

	if (len + 1 > sizeof(line) || strchr(request, '\n')) {
		snprintf(err, errlen, "request too long or not one line");
		return -EINVAL;
	}
	memcpy(line, request, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			snprintf(err, errlen, "sending the request: %s", strerror(e));
			return -e;
		}
		off += (size_t)n;
	}
	return 0;
}

static int relay_data(struct relay *r, const char *s, size_t len)
{
	if (fwrite(s, 1, len, r->out) != len || fputc('\n', r->out) == EOF ||
	    (r->follow && fflush(r->out) == EOF)) {
		snprintf(r->err, r->errlen, "writing output: %s", strerror(errno));
		return -EPIPE;
	}
	r->lines++;
	return r->max_lines > 0 && r->lines >= r->max_lines ? RELAY_DONE : RELAY_MORE;
}

/* One reply line without its newline. */
static int relay_line(struct relay *r, const char *s, size_t len)
{
	if (len == 0 || s[0] != '.')
		return relay_data(r, s, len);
	if (len == 1)
		return RELAY_DONE;
	if (s[1] == '.')
		return relay_data(r, s + 1, len - 1);
	if (len >= 7 && memcmp(s, ".error:", 7) == 0) {
		s += 7;
		len -= 7;
		if (len && s[0] == ' ') {
			s++;
			len--;
		}
		snprintf(r->err, r->errlen, "%.*s", (int)len, s);
		return -EREMOTEIO;
	}
	if (s[1] == '#') {
		fprintf(stderr, "#%.*s\n", (int)(len - 2), s + 2);
		fflush(stderr);
	}
	/* other control lines are for newer clients: ignore them */
	return RELAY_MORE;
}

/* Waits for input within the timeout (none when following); 0, or -ETIMEDOUT/-errno. */
static int relay_wait(int fd, bool follow)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, follow ? -1 : CTLCLIENT_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int relay_reply(int fd, struct relay *r, char *buf)
{
	size_t len = 0;

	for (;;) {
		char *start = buf, *nl;
		ssize_t n;
		int ret = relay_wait(fd, r->follow);

		if (ret < 0) {
			snprintf(r->err, r->errlen, "no reply from nfqroute: %s", util_strerr(ret));
			return ret;
		}
		n = read(fd, buf + len, LINE_MAX_BYTES - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ECONNRESET;
			snprintf(r->err, r->errlen, "nfqroute closed the connection%s%s",
				 n < 0 ? ": " : " before the reply ended",
				 n < 0 ? util_strerr(ret) : "");
			return ret;
		}
		len += (size_t)n;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			ret = relay_line(r, start, (size_t)(nl - start));
			if (ret != RELAY_MORE)
				return ret < 0 ? ret : 0;
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == LINE_MAX_BYTES) {
			snprintf(r->err, r->errlen, "reply line longer than %d bytes",
				 LINE_MAX_BYTES);
			return -EMSGSIZE;
		}
	}
}

int ctlclient_run(const char *socket_path, const char *request, bool follow, int max_lines,
		  FILE *out, char *err, size_t errlen)
{
	struct relay r = { out, follow, max_lines, 0, err, errlen };
	char *buf = malloc(LINE_MAX_BYTES);
	int fd, ret;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fd = ctl_connect(socket_path, err, errlen);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	ret = ctl_send(fd, request, err, errlen);
	if (ret == 0)
		ret = relay_reply(fd, &r, buf);
	close(fd);
	free(buf);
	if (ret == 0 && fflush(out) == EOF) {
		snprintf(err, errlen, "writing output: %s", strerror(errno));
		ret = -EPIPE;
	}
	return ret;
}

int ctlclient_request(char *buf, size_t size, int argc, char *const *argv, char *err,
		      size_t errlen)
{
	/* the server takes CONTROL_REQUEST_MAX bytes with the newline */
	size_t len = 0, limit = CONTROL_REQUEST_MAX - 1;

	if (size == 0)
		return -EINVAL;
	if (size - 1 < limit)
		limit = size - 1;
	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		size_t wl = strlen(argv[i]), sep = i > 0;

		if (wl == 0) {
			snprintf(err, errlen, "empty argument");
			return -EINVAL;
		}
		for (size_t k = 0; k < wl; k++)
			if ((unsigned char)argv[i][k] < 0x20 || argv[i][k] == 0x7f) {
				snprintf(err, errlen, "argument %d holds a control character",
					 i + 1);
				return -EINVAL;
			}
		if (len + sep + wl > limit) {
			snprintf(err, errlen, "request too long (at most %zu bytes)", limit);
			return -EINVAL;
		}
		if (sep)
			buf[len++] = ' ';
		memcpy(buf + len, argv[i], wl + 1);
		len += wl;
	}
	return 0;
}
