/* The bounded learn history behind `nfqroute why`: newest wins, old events roll out. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "learnlog.h"

static struct pkt_addr v4(uint8_t last)
{
	struct pkt_addr a = { .family = AF_INET, .a = { 192, 0, 2, last } };

	return a;
}

static void test_newest_and_rollover(void **state)
{
	struct learnlog *l = learnlog_new(4);
	struct pkt_addr r1 = v4(53), a = v4(1), b = v4(2);
	struct learnlog_entry e;

	(void)state;
	assert_non_null(l);
	assert_int_equal(learnlog_find(l, &a, &e), -ENOENT);
	learnlog_add(l, &a, &r1, 100);
	learnlog_add(l, &b, NULL, 101);
	learnlog_add(l, &a, NULL, 102);		/* a refresh: no resolver address */
	assert_int_equal(learnlog_find(l, &a, &e), 0);
	assert_int_equal(e.when, 102);
	assert_int_equal(e.from.family, 0);
	for (uint8_t i = 10; i < 14; i++) {
		struct pkt_addr x = v4(i);

		learnlog_add(l, &x, &r1, 200 + i);
	}
	/* four newer events pushed a and b out of a ring of four */
	assert_int_equal(learnlog_find(l, &a, &e), -ENOENT);
	assert_int_equal(learnlog_find(l, &b, &e), -ENOENT);
	b = v4(13);
	assert_int_equal(learnlog_find(l, &b, &e), 0);
	assert_int_equal(e.when, 213);
	assert_memory_equal(e.from.a, r1.a, 4);
	learnlog_free(l);
	learnlog_free(NULL);
	assert_null(learnlog_new(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newest_and_rollover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
