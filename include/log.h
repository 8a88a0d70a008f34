#ifndef NFQR_LOG_H
#define NFQR_LOG_H

#include <stdbool.h>
#include <syslog.h>

/*
 * Chooses where messages go: stderr (with a timestamp) when to_stderr, else syslog under
 * ident. Messages above max_prio (a LOG_* value) are dropped. Called once by main before
 * anything logs; the settings are the only process-wide logging state.
 */
void log_init(const char *ident, bool to_stderr, int max_prio);

/* Logs a printf-style message at prio. */
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when messages at prio are written (to skip formatting debug lines). */
bool log_enabled(int prio);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
