#ifndef NFQR_BRLOCK_H
#define NFQR_BRLOCK_H

/*
 * A "big-reader" lock for the packet threads: every reader (a new-flow worker) has a
 * mutex of its own on its own cache line, so taking the read side touches no memory
 * another reader writes and readers scale with cores; the write side takes every
 * reader's mutex (in order, behind a writer mutex), so a writer waits for the batch each
 * reader is deciding and then has the shared state to itself. Made for state that is
 * read once per packet by many threads and written rarely and briefly.
 */
struct brlock;

/* Creates a lock with reader slots 0..readers-1 (readers may be 0: only writers).
 * Returns NULL with errno set. */
struct brlock *brlock_new(unsigned readers);

/* Frees the lock, which must not be held; accepts NULL. */
void brlock_free(struct brlock *b);

/* The number of reader slots. */
unsigned brlock_readers(const struct brlock *b);

/* Takes / releases the read side of slot (one thread per slot). Slots outside the
 * lock's range are ignored. */
void brlock_read_lock(struct brlock *b, unsigned slot);
void brlock_read_unlock(struct brlock *b, unsigned slot);

/* Takes / releases the write side: excludes every reader and every other writer. */
void brlock_write_lock(struct brlock *b);
void brlock_write_unlock(struct brlock *b);

#endif
