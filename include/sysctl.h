#ifndef NFQR_SYSCTL_H
#define NFQR_SYSCTL_H

#include <stddef.h>

/* Reads the first line of /proc/sys/NAME (NAME like "net/ipv4/conf/all/src_valid_mark")
 * into buf without the newline. Returns 0 or -errno. */
int sysctl_get(const char *name, char *buf, size_t size);

/* Writes value to /proc/sys/NAME. Returns 0 or -errno. */
int sysctl_set(const char *name, const char *value);

#endif
