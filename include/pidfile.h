#ifndef NFQR_PIDFILE_H
#define NFQR_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * One nfqroute per host (per /run/nfqroute): its table, rules and routes have fixed names,
 * so a second instance would take the first one's away. The pid file is locked (flock) for
 * as long as the daemon runs; the lock, not the file's existence, says it runs.
 */

/*
 * Creates (if needed) and locks path, and writes the caller's pid into it. Returns an open
 * descriptor (>= 0, keep it open while running), or -EEXIST with the running instance's
 * pid in *holder (0 when unreadable), or another -errno.
 */
int pidfile_lock(const char *path, pid_t *holder);

/* Unlinks path and closes fd (from pidfile_lock); accepts fd < 0. */
void pidfile_unlock(const char *path, int fd);

/* The pid of a running instance holding path's lock, -1 when one holds it but its pid
 * cannot be read, 0 when none holds it. */
pid_t pidfile_running(const char *path);

#endif
