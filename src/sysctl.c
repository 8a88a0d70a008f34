#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sysctl.h"

static int sysctl_path(const char *name, char *path, size_t size)
{
	int n = snprintf(path, size, "/proc/sys/%s", name);

	return n < 0 || (size_t)n >= size || strstr(name, "..") ? -EINVAL : 0;
}

int sysctl_get(const char *name, char *buf, size_t size)
{
	char path[256];
	ssize_t n;
	int fd, ret = sysctl_path(name, path, sizeof(path));

	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int sysctl_set(const char *name, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	int fd, ret = sysctl_path(name, path, sizeof(path));

	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, value, len) == (ssize_t)len ? 0 : -errno;
	close(fd);
	return ret;
}
