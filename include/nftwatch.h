#ifndef NFQR_NFTWATCH_H
#define NFQR_NFTWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Watches nftables for changes another process makes to our table (a firewall restart's
 * `flush ruleset`, `nft delete table inet nfqroute`, a flushed chain), so the daemon can
 * put its rules back instead of letting routed traffic leave in clear. Changes this
 * process commits are ignored: the kernel names the committing process at the end of
 * every transaction.
 */
struct nftwatch;
struct nlmsghdr;

/* What nftwatch_read found. */
struct nftwatch_event {
	pid_t pid;		/* the process that changed our table (0: unknown) */
	char comm[32];		/* its name as the kernel reported it ("" unknown) */
	bool lost;		/* events were lost (socket overrun): the table may have changed */
};

/* Subscribes to nftables events for table inet `table` (not copied: must outlive it).
 * Returns NULL with a message in err. */
struct nftwatch *nftwatch_new(const char *table, char *err, size_t errlen);

/* Unsubscribes; accepts NULL. */
void nftwatch_free(struct nftwatch *w);

/* The descriptor to watch for readability. */
int nftwatch_fd(const struct nftwatch *w);

/*
 * Reads what is pending without blocking. Returns 1 and fills ev when a transaction of
 * another process deleted or flushed something of our table (or events were lost), 0
 * when nothing of the kind happened, -errno on a socket error.
 */
int nftwatch_read(struct nftwatch *w, struct nftwatch_event *ev);

/*
 * The pure part, for tests: feeds one netlink message (avail bytes) to the watcher's state
 * machine. Returns 1 at the end of a foreign transaction that touched our table (ev
 * filled), else 0.
 */
int nftwatch_feed(struct nftwatch *w, const struct nlmsghdr *nlh, size_t avail,
		  struct nftwatch_event *ev);

#endif
