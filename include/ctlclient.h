#ifndef NFQR_CTLCLIENT_H
#define NFQR_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * The CLI side of the control socket (protocol in control.h): `nfqroute status`, `why`,
 * `monitor`, `reload`, `flush` are one request each.
 */

#define CTLCLIENT_TIMEOUT_MS 60000	/* a non-follow reply may pause this long (reload) */

/*
 * Connects to socket_path, sends request (one line, without newline) and copies the
 * reply's data lines to out, un-stuffed, one per line. Notices (".# TEXT", e.g. lines a
 * monitor lost) go to stderr as "# TEXT", so out stays clean for jq. With follow (a
 * monitor) there is no timeout and out is flushed after every line; without it the reply
 * must keep coming within CTLCLIENT_TIMEOUT_MS. max_lines > 0 stops after that many data
 * lines (`monitor -c N`) and closes the connection. Returns 0 when the reply ended with
 * "." (or max_lines was reached); -EREMOTEIO when the daemon answered ".error: TEXT"
 * (TEXT in err); another -errno with a message for the user in err, e.g. "cannot connect
 * to /run/nfqroute/control: Permission denied (are you root or in nfqroute's
 * control-group?)", or -EPIPE when out cannot be written (a closed pipe).
 */
int ctlclient_run(const char *socket_path, const char *request, bool follow, int max_lines,
		  FILE *out, char *err, size_t errlen);

/*
 * Joins argv words with single spaces into buf as one request line, e.g. {"why",
 * "github.com"} -> "why github.com". Returns 0, or -EINVAL with a message when a word is
 * empty or holds a newline or another control character, or the line would exceed the
 * server's limit (CONTROL_REQUEST_MAX - 1) or size.
 */
int ctlclient_request(char *buf, size_t size, int argc, char *const *argv, char *err,
		      size_t errlen);

#endif
