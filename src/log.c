#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

/* Set once at start-up by log_init, read-only afterwards. */
static struct {
	bool to_stderr;
	int max_prio;
} log_cfg = { true, LOG_INFO };

void log_init(const char *ident, bool to_stderr, int max_prio)
{
	log_cfg.to_stderr = to_stderr;
	log_cfg.max_prio = max_prio;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool log_enabled(int prio)
{
	return prio <= log_cfg.max_prio;
}

static void log_stderr(int prio, const char *fmt, va_list ap)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
					     "warning", "notice", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	flockfile(stderr);	/* one line per message when packet threads log too */
	fprintf(stderr, "%s.%06ld nfqroute %s: ", stamp, ts.tv_nsec / 1000, names[prio & 7]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(prio))
		return;
	va_start(ap, fmt);
	if (log_cfg.to_stderr)
		log_stderr(prio, fmt, ap);
	else
		vsyslog(prio, fmt, ap);
	va_end(ap);
}
