/*
 * Why not a pthread rwlock: its readers all write one counter, so with a reader per core
 * every batch moves that cache line between cores. Why not RCU or a seqlock: the
 * learned-address table updates its preallocated entries and name text in place (that is
 * what keeps it allocation-free and at ~40 bytes per address); readers that ran
 * concurrently with such updates would need copy-on-update entries and deferred reuse
 * (RCU), or could read a half-written entry and follow a stale name offset (seqlock).
 * Here a reader pays one uncontended lock per batch of packets on a line only it uses,
 * and one read of a line writers touch only when they come.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "brlock.h"

struct brslot {
	pthread_mutex_t m;
} __attribute__((aligned(64)));

struct brlock {
	pthread_mutex_t writer;
	unsigned n;
	struct brslot *slot;
	/* writers waiting for the slots: a reader that sees one lets it go first. Without
	 * this a busy reader, which takes its slot again a few microseconds after releasing
	 * it, can win every time against a writer the kernel has yet to wake up, and a flood
	 * of new connections would hold DNS answers back. */
	int pending __attribute__((aligned(64)));
};

struct brlock *brlock_new(unsigned readers)
{
	struct brlock *b = NULL;
	void *mem = NULL;

	if (posix_memalign((void **)&b, 64, sizeof(*b))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	if (readers && posix_memalign(&mem, 64, readers * sizeof(struct brslot))) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->slot = mem;
	b->n = readers;
	pthread_mutex_init(&b->writer, NULL);
	for (unsigned i = 0; i < readers; i++)
		pthread_mutex_init(&b->slot[i].m, NULL);
	return b;
}

void brlock_free(struct brlock *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->n; i++)
		pthread_mutex_destroy(&b->slot[i].m);
	pthread_mutex_destroy(&b->writer);
	free(b->slot);
	free(b);
}

unsigned brlock_readers(const struct brlock *b)
{
	return b->n;
}

void brlock_read_lock(struct brlock *b, unsigned slot)
{
	if (slot >= b->n)
		return;
	if (__atomic_load_n(&b->pending, __ATOMIC_ACQUIRE)) {
		/* wait until the writer is through (it holds this while it writes) */
		pthread_mutex_lock(&b->writer);
		pthread_mutex_unlock(&b->writer);
	}
	pthread_mutex_lock(&b->slot[slot].m);
}

void brlock_read_unlock(struct brlock *b, unsigned slot)
{
	if (slot < b->n)
		pthread_mutex_unlock(&b->slot[slot].m);
}

void brlock_write_lock(struct brlock *b)
{
	__atomic_add_fetch(&b->pending, 1, __ATOMIC_ACQ_REL);
	/* always in the same order, so two writers cannot each hold part of the slots */
	pthread_mutex_lock(&b->writer);
	for (unsigned i = 0; i < b->n; i++)
		pthread_mutex_lock(&b->slot[i].m);
	__atomic_sub_fetch(&b->pending, 1, __ATOMIC_ACQ_REL);
}

void brlock_write_unlock(struct brlock *b)
{
	for (unsigned i = b->n; i-- > 0;)
		pthread_mutex_unlock(&b->slot[i].m);
	pthread_mutex_unlock(&b->writer);
}
