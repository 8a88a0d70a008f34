#ifndef NFQR_DAEMON_H
#define NFQR_DAEMON_H

#include <stdbool.h>

#include "conf.h"

#define DAEMON_RUNDIR "/run/nfqroute"

/*
 * Runs the service in the foreground with the configuration at conf_path: installs
 * routes, the queue and the nftables table, classifies until SIGTERM/SIGINT, reloads on
 * SIGHUP (a bad configuration is refused and the running one kept), then removes what it
 * installed. Returns 0 after a clean stop, 2 when the configuration is invalid at start,
 * 1 on another start-up failure (after undoing what was done).
 */
int daemon_run(const char *conf_path);

/*
 * Removes what a daemon with configuration c may have left behind after a crash: the
 * nftables table, ip rules and routes (blackholes included) and the sysctl it changed.
 * Returns 0 or 1 when something could not be removed.
 */
int daemon_down(const struct conf *c);

#endif
