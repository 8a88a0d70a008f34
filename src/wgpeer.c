#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "wgpeer.h"

#define WG_UAPI_DIR "/var/run/wireguard"
#define WG_REPLY_MAX 16384
#define WG_TIMEOUT_MS 200

/* "endpoint=1.2.3.4:51820" or "endpoint=[2001:db8::1]:51820" -> address */
static int wgpeer_parse_endpoint(const char *val, struct pkt_addr *out)
{
	char host[64];
	const char *colon;
	size_t len;

	if (val[0] == '[') {
		colon = strchr(val, ']');
		if (!colon)
			return -EINVAL;
		val++;
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return -EINVAL;
	}
	len = (size_t)(colon - val);
	if (len == 0 || len >= sizeof(host))
		return -EINVAL;
	memcpy(host, val, len);
	host[len] = '\0';
	return pkt_addr_parse(host, out);
}

static ssize_t wgpeer_query(const char *ifname, char *buf, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static const char req[] = "get=1\n\n";
	size_t got = 0;
	int fd, ret = 0;

	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), WG_UAPI_DIR "/%s.sock",
			     ifname) >= sizeof(sun.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		ret = -errno;
		goto out;
	}
	/* the reply ends with an empty line; bounded in size and time */
	while (got < size - 1) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, WG_TIMEOUT_MS) <= 0)
			break;
		n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\n\n"))
			break;
	}
	buf[got] = '\0';
out:
	close(fd);
	return ret ? ret : (ssize_t)got;
}

int wgpeer_endpoints(const char *ifname, struct pkt_addr *out, size_t max)
{
	char buf[WG_REPLY_MAX];
	ssize_t len = wgpeer_query(ifname, buf, sizeof(buf));
	size_t n = 0;
	char *save = NULL;

	if (len < 0)
		return (int)len;
	for (char *line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "endpoint=", 9) == 0 &&
		    wgpeer_parse_endpoint(line + 9, &out[n]) == 0)
			n++;
	}
	return (int)n;
}
