/* Unit tests for src/conf_queue.c: queue ranges, dns-queue and the per-queue settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define TMPL "/tmp/nfqr_confq_XXXXXX"
#define RT "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"	/* lines 1-4 */

static void write_tmp(char *path, const char *text)
{
	size_t len = strlen(text);
	int fd;

	strcpy(path, TMPL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static struct conf *load_ok(const char *text)
{
	char path[sizeof(TMPL)], err[CONF_ERR_MAX];
	struct conf *c = NULL;
	int ret;

	write_tmp(path, text);
	ret = conf_load(path, &c, err, sizeof(err));
	if (ret != 0)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(ret, 0);
	unlink(path);
	return c;
}

/* Expects -EINVAL with exactly "PATH:line: msg". */
static void load_err(const char *text, unsigned line, const char *msg)
{
	char path[sizeof(TMPL)], err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct conf *c = (struct conf *)&c;

	write_tmp(path, text);
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:%u: %s", path, line, msg);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_defaults(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 3\n");

	(void)state;
	assert_int_equal(c->queue, 3);
	assert_int_equal(c->queue_count, 1);
	assert_int_equal(c->dns_queue, -1);
	assert_false(c->pin_workers);
	assert_false(c->fanout_cpu);
	assert_int_equal(c->queue_length, 4096);
	assert_int_equal(c->queue_buffer, 8u << 20);
	assert_int_equal(c->queue_batch, 64);
	conf_free(c);
}

static void test_range(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 2-5\nqueue-fanout = cpu\npin-workers = yes\n");

	(void)state;
	assert_int_equal(c->queue, 2);
	assert_int_equal(c->queue_count, 4);
	assert_int_equal(c->dns_queue, 6);	/* the last + 1 */
	assert_true(c->fanout_cpu);
	assert_true(c->pin_workers);
	conf_free(c);
	c = load_ok("[global]\nqueue = 0x10-0x11\nqueue-fanout = hash\n");
	assert_int_equal(c->queue, 16);
	assert_int_equal(c->queue_count, 2);
	assert_int_equal(c->dns_queue, 18);
	assert_false(c->fanout_cpu);
	conf_free(c);
	/* the widest range, and the highest that leaves room for the DNS queue */
	c = load_ok("[global]\nqueue = 0-63\n");
	assert_int_equal(c->queue_count, 64);
	assert_int_equal(c->dns_queue, 64);
	conf_free(c);
	c = load_ok("[global]\nqueue = 65471-65534\n");
	assert_int_equal(c->queue, 65471);
	assert_int_equal(c->queue_count, 64);
	assert_int_equal(c->dns_queue, 65535);
	conf_free(c);
	/* a range of one is queue = N */
	c = load_ok("[global]\nqueue = 9-9\n");
	assert_int_equal(c->queue, 9);
	assert_int_equal(c->queue_count, 1);
	assert_int_equal(c->dns_queue, -1);
	conf_free(c);
	/* fanout without a range is accepted (and means nothing) */
	c = load_ok("[global]\nqueue-fanout = cpu\n");
	assert_int_equal(c->queue_count, 1);
	assert_true(c->fanout_cpu);
	conf_free(c);
}

static void test_dns_queue(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 4\ndns-queue = 4\n");

	(void)state;
	assert_int_equal(c->dns_queue, -1);	/* the same queue: shared */
	conf_free(c);
	c = load_ok("[global]\nqueue = 4\ndns-queue = 0\n");
	assert_int_equal(c->queue_count, 1);
	assert_int_equal(c->dns_queue, 0);
	conf_free(c);
	c = load_ok("[global]\ndns-queue = 0\n");
	assert_int_equal(c->dns_queue, -1);	/* queue defaults to 0 */
	conf_free(c);
	/* set before queue =, and below or far above the range */
	c = load_ok("[global]\ndns-queue = 1\nqueue = 2-5\n");
	assert_int_equal(c->dns_queue, 1);
	conf_free(c);
	c = load_ok("[global]\nqueue = 2-5\ndns-queue = 65535\n");
	assert_int_equal(c->dns_queue, 65535);
	conf_free(c);
	/* a range up to 65535 works when the DNS queue is named */
	c = load_ok("[global]\nqueue = 65500-65535\ndns-queue = 100\n");
	assert_int_equal(c->queue_count, 36);
	assert_int_equal(c->dns_queue, 100);
	conf_free(c);
	/* [global] after the routes */
	c = load_ok(RT "[global]\nqueue = 0-1\n");
	assert_int_equal(c->dns_queue, 2);
	conf_free(c);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *val;
		uint32_t bytes;
	} cases[] = {
		{ "64K", 65536 }, { "64k", 65536 }, { "65536", 65536 }, { "512K", 512u << 10 },
		{ "8M", 8u << 20 }, { "16m", 16u << 20 }, { "0x100000", 1u << 20 },
		{ "0x10M", 16u << 20 }, { "1G", 1u << 30 }, { "1073741824", 1u << 30 },
		{ "100000", 100000 },
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c;

		snprintf(text, sizeof(text), "[global]\nqueue-buffer = %s\n", cases[i].val);
		c = load_ok(text);
		assert_int_equal(c->queue_buffer, cases[i].bytes);
		conf_free(c);
	}
}

static void test_length_batch(void **state)
{
	struct conf *c = load_ok("[global]\nqueue-length = 1\nqueue-batch = 1\n");

	(void)state;
	assert_int_equal(c->queue_length, 1);
	assert_int_equal(c->queue_batch, 1);
	conf_free(c);
	c = load_ok("[global]\nqueue-length = 1048576\nqueue-batch = 1024\n");
	assert_int_equal(c->queue_length, 1048576);
	assert_int_equal(c->queue_batch, 1024);
	conf_free(c);
}

struct err_case {
	const char *text;
	unsigned line;
	const char *msg;
};

static const struct err_case err_cases[] = {
	/* queue = N-M */
	{ "[global]\nqueue = 5-3\n", 2,
	  "queue 5-3 is invalid (the last queue is below the first)" },
	{ "[global]\nqueue = 0-64\n", 2, "queue 0-64 spans 65 queues (at most 64)" },
	{ "[global]\nqueue = 100-1000\n", 2, "queue 100-1000 spans 901 queues (at most 64)" },
	{ "[global]\nqueue = 0-65536\n", 2, "queue 0-65536 is out of range (0-65535)" },
	{ "[global]\nqueue = 70000-70001\n", 2, "queue 70000-70001 is out of range (0-65535)" },
	{ "[global]\nqueue = 1-\n", 2, "queue 1- is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = 1-2-3\n", 2,
	  "queue 1-2-3 is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = 1 - 2\n", 2,
	  "queue 1 - 2 is not a queue number or a range FIRST-LAST" },
	{ "[global]\nqueue = 0-1\nqueue = 2-3\n", 3, "duplicate key queue (first set at line 2)" },
	{ "[global]\nqueue = 65500-65535\n", 2, "queue 65500-65535 leaves no queue for DNS "
	  "replies after it (65536 does not exist); set dns-queue" },
	/* dns-queue */
	{ "[global]\nqueue = 0-3\n\ndns-queue = 2\n", 4, "dns-queue 2 is one of the "
	  "new-connection queues (queue = 0-3); DNS replies need a queue of their own" },
	{ "[global]\ndns-queue = 4\nqueue = 4-5\n", 2, "dns-queue 4 is one of the "
	  "new-connection queues (queue = 4-5); DNS replies need a queue of their own" },
	{ "[global]\nqueue = 4-5\ndns-queue = 5\n", 3, "dns-queue 5 is one of the "
	  "new-connection queues (queue = 4-5); DNS replies need a queue of their own" },
	{ "[global]\ndns-queue = 65536\n", 2, "dns-queue 65536 is out of range (0-65535)" },
	{ "[global]\ndns-queue = -1\n", 2, "dns-queue -1 is not a number" },
	{ "[global]\ndns-queue = auto\n", 2, "dns-queue auto is not a number" },
	{ "[global]\ndns-queue = 1\ndns-queue = 2\n", 3,
	  "duplicate key dns-queue (first set at line 2)" },
	{ RT "dns-queue = 1\n", 5, "key dns-queue belongs in [global], not in [route vpn]" },
	/* pin-workers, queue-fanout */
	{ "[global]\npin-workers = maybe\n", 2,
	  "pin-workers maybe is not a boolean (use yes or no)" },
	{ "[global]\nqueue-fanout = random\n", 2,
	  "queue-fanout random is invalid (use hash or cpu)" },
	{ "[global]\nqueue-fanout = CPU\n", 2, "queue-fanout CPU is invalid (use hash or cpu)" },
	{ RT "queue-fanout = cpu\n", 5,
	  "key queue-fanout belongs in [global], not in [route vpn]" },
	/* sizes */
	{ "[global]\nqueue-length = 0\n", 2, "queue-length must not be 0" },
	{ "[global]\nqueue-length = 1048577\n", 2,
	  "queue-length 1048577 is out of range (1-1048576)" },
	{ "[global]\nqueue-length = 4K\n", 2, "queue-length 4K is not a number" },
	{ "[global]\nqueue-buffer = 63K\n", 2, "queue-buffer 63K is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 65535\n", 2, "queue-buffer 65535 is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 0\n", 2, "queue-buffer 0 is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 2G\n", 2, "queue-buffer 2G is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 1025M\n", 2, "queue-buffer 1025M is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 99999999999999999999999G\n", 2,
	  "queue-buffer 99999999999999999999999G is out of range (64K-1G)" },
	{ "[global]\nqueue-buffer = 8MB\n", 2,
	  "queue-buffer 8MB is not a size (bytes, or a number followed by K, M or G)" },
	{ "[global]\nqueue-buffer = M\n", 2,
	  "queue-buffer M is not a size (bytes, or a number followed by K, M or G)" },
	{ "[global]\nqueue-buffer = 8T\n", 2,
	  "queue-buffer 8T is not a size (bytes, or a number followed by K, M or G)" },
	{ "[global]\nqueue-buffer = -8M\n", 2,
	  "queue-buffer -8M is not a size (bytes, or a number followed by K, M or G)" },
	{ "[global]\nqueue-batch = 0\n", 2, "queue-batch must not be 0" },
	{ "[global]\nqueue-batch = 1025\n", 2, "queue-batch 1025 is out of range (1-1024)" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++)
		load_err(err_cases[i].text, err_cases[i].line, err_cases[i].msg);
}

static char *print_of(const char *text)
{
	struct conf *c = load_ok(text);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	conf_queue_print(c, f);
	fclose(f);
	conf_free(c);
	return out;
}

static void test_describe(void **state)
{
	struct conf *c = load_ok("[global]\nqueue = 0-1\n");
	char buf[160], *out;
	int n;

	(void)state;
	n = conf_queue_describe(c, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "queues 0-1 (new connections, hash fanout), DNS replies on "
			    "queue 2");
	conf_free(c);
	out = print_of("[global]\nqueue = 7\n");
	assert_string_equal(out, "queue 7 (new connections and DNS replies)\n"
			    "worker threads: 1 (every queue), pin-workers no\n"
			    "per queue: queue-length 4096 packets, queue-buffer 8M, "
			    "queue-batch 64\n");
	free(out);
	out = print_of("[global]\nqueue = 7\ndns-queue = 9\nqueue-buffer = 100000\n");
	assert_string_equal(out, "queue 7 (new connections), DNS replies on queue 9\n"
			    "worker threads: 1 (every queue), pin-workers no\n"
			    "per queue: queue-length 4096 packets, queue-buffer 100000, "
			    "queue-batch 64\n");
	free(out);
	out = print_of("[global]\nqueue = 10-13\ndns-queue = 1\nqueue-fanout = cpu\n"
		       "pin-workers = yes\nqueue-length = 512\nqueue-buffer = 1G\n"
		       "queue-batch = 16\n");
	assert_string_equal(out, "queues 10-13 (new connections, cpu fanout), DNS replies on "
			    "queue 1\n"
			    "worker threads: 5 (one per new-connection queue, one for DNS "
			    "replies), pin-workers yes\n"
			    "per queue: queue-length 512 packets, queue-buffer 1G, "
			    "queue-batch 16\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_dns_queue),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_length_batch),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
