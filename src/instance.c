#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "instance.h"

/* Abstract (leading NUL): no file, per network namespace, gone with its last holder. */
static const char instance_name[] = "\0nfqroute/instance";

static socklen_t instance_addr(struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, instance_name, sizeof(instance_name) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof(instance_name) - 1);
}

/* The pid of the process holding the name (SO_PEERCRED of a connection to it). */
static pid_t instance_holder(void)
{
	struct sockaddr_un a;
	socklen_t len = instance_addr(&a), clen;
	struct ucred cred;
	/* non-blocking: a holder that cannot take the connection now must not hang us */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	pid_t pid = -1;

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, len) < 0) {
		pid = errno == ECONNREFUSED || errno == ENOENT ? 0 : -1;
	} else {
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 && cred.pid > 0)
			pid = cred.pid;
	}
	close(fd);
	return pid;
}

int instance_lock(pid_t *holder)
{
	struct sockaddr_un a;
	socklen_t len = instance_addr(&a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	*holder = 0;
	if (fd < 0)
		return -errno;
	/* listening, so that another instance can ask who we are */
	if (bind(fd, (struct sockaddr *)&a, len) == 0 && listen(fd, 4) == 0)
		return fd;
	err = errno;
	close(fd);
	if (err != EADDRINUSE)
		return -err;
	*holder = instance_holder();
	if (*holder < 0)
		*holder = 0;
	return -EEXIST;
}

void instance_answer(int fd)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c >= 0)
		close(c);	/* the asker has our pid from SO_PEERCRED already */
}

void instance_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

pid_t instance_running(void)
{
	return instance_holder();
}
