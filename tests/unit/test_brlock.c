/*
 * The packet threads' lock: readers never see a writer's update half done, writers
 * exclude each other, and readers in their own slots do not exclude each other.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "brlock.h"

#define READERS 3
#define ROUNDS 20000

/* Two words a writer keeps equal; a reader that sees them differ saw a torn update. */
struct shared {
	struct brlock *b;
	volatile uint64_t x, y;
	uint64_t torn[READERS];
	volatile bool stop;
	unsigned slot[READERS];
};

static void *reader(void *arg)
{
	unsigned *slot = arg;
	struct shared *s = (struct shared *)((char *)(slot - *slot) - offsetof(struct shared, slot));

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		brlock_read_lock(s->b, *slot);
		if (s->x != s->y)
			s->torn[*slot]++;
		brlock_read_unlock(s->b, *slot);
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ROUNDS; i++) {
		brlock_write_lock(s->b);
		s->x = s->x + 1;
		for (volatile int k = 0; k < 20; k++)
			;
		s->y = s->y + 1;
		brlock_write_unlock(s->b);
	}
	return NULL;
}

static void test_readers_never_see_torn_writes(void **state)
{
	static struct shared s;
	pthread_t r[READERS], w[2];

	(void)state;
	s.b = brlock_new(READERS);
	assert_non_null(s.b);
	assert_int_equal(brlock_readers(s.b), READERS);
	for (unsigned i = 0; i < READERS; i++) {
		s.slot[i] = i;
		assert_int_equal(pthread_create(&r[i], NULL, reader, &s.slot[i]), 0);
	}
	/* two writers: their increments must not interleave either */
	assert_int_equal(pthread_create(&w[0], NULL, writer, &s), 0);
	assert_int_equal(pthread_create(&w[1], NULL, writer, &s), 0);
	pthread_join(w[0], NULL);
	pthread_join(w[1], NULL);
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(r[i], NULL);
		assert_int_equal(s.torn[i], 0);
	}
	assert_int_equal(s.x, 2 * ROUNDS);
	assert_int_equal(s.y, 2 * ROUNDS);
	brlock_free(s.b);
}

static void *take_slot1(void *arg)
{
	brlock_read_lock(arg, 1);
	brlock_read_unlock(arg, 1);
	return NULL;
}

static void test_readers_do_not_exclude_each_other(void **state)
{
	struct brlock *b = brlock_new(2);
	pthread_t th;

	(void)state;
	/* with slot 0 held here, another thread takes slot 1 (with one shared lock it would
	 * wait for us and the join would hang) */
	brlock_read_lock(b, 0);
	assert_int_equal(pthread_create(&th, NULL, take_slot1, b), 0);
	pthread_join(th, NULL);
	brlock_read_unlock(b, 0);
	/* slots out of range are ignored, a lock without readers still excludes writers */
	brlock_read_lock(b, 7);
	brlock_read_unlock(b, 7);
	brlock_free(b);
	b = brlock_new(0);
	assert_non_null(b);
	brlock_write_lock(b);
	brlock_write_unlock(b);
	brlock_free(b);
	brlock_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_never_see_torn_writes),
		cmocka_unit_test(test_readers_do_not_exclude_each_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
