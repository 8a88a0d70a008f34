#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "pidfile.h"

static pid_t pidfile_read(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 && v < (1L << 30) ? (pid_t)v : 0;
}

int pidfile_lock(const char *path, pid_t *holder)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	char buf[24];
	int len;

	*holder = 0;
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		if (err == EWOULDBLOCK)
			*holder = pidfile_read(fd);
		close(fd);
		return err == EWOULDBLOCK ? -EEXIST : -err;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		int err = errno ? errno : EIO;

		close(fd);
		return -err;
	}
	return fd;
}

void pidfile_unlock(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* unlinked while still locked: a new instance cannot lock the old file meanwhile */
	unlink(path);
	close(fd);
}

pid_t pidfile_running(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	pid_t pid = 0;

	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		pid = pidfile_read(fd);
		if (pid == 0)
			pid = -1;	/* running, pid unknown */
	}
	close(fd);
	return pid;
}
