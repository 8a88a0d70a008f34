#ifndef NFQR_INSTANCE_H
#define NFQR_INSTANCE_H

#include <sys/types.h>

/*
 * One nfqroute per network namespace: its table, rules and routes have fixed names, so a
 * second instance would take the first one's away. The running daemon holds an abstract
 * unix socket named after nfqroute: it belongs to the network namespace, vanishes with
 * the process (a crash included) and no file removal can take it away.
 */

/*
 * Claims the namespace for this process. Returns a descriptor to keep open while running,
 * or -EEXIST with the running instance's pid in *holder (0 when it cannot be asked), or
 * another -errno.
 */
int instance_lock(pid_t *holder);

/* Takes one pending question "who holds the namespace?" off fd (call it when fd is
 * readable), so askers never find the queue full. */
void instance_answer(int fd);

/* Releases the claim; accepts fd < 0. */
void instance_unlock(int fd);

/* The pid of the instance running in this namespace, -1 when one runs but its pid is
 * unknown, 0 when none runs. */
pid_t instance_running(void);

#endif
