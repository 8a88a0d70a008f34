/*
 * Unit tests for what the configuration reads besides its values: the files it opens (only
 * regular files, never blocking on a FIFO, never reading a device), how messages quote
 * what the user wrote, and the warnings `nfqroute check` and the daemon's log show.
 * Every test runs under alarm(): a reader that blocks fails the test instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "dlist.h"
#include "domain.h"
#include "policy.h"
#include "util.h"

#define ALARM_S 10	/* far more than any test needs; a blocked open or read never ends */

struct tmpdir {
	char path[64];
};

static int setup(void **state)
{
	struct tmpdir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	strcpy(d->path, "/tmp/nfqr_files_XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	*state = d;
	alarm(ALARM_S);
	return 0;
}

static int teardown(void **state)
{
	struct tmpdir *d = *state;
	char cmd[128];

	alarm(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void file_path(const struct tmpdir *d, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", d->path, name);
}

static void file_write(const struct tmpdir *d, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	file_path(d, name, path, sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void file_fifo(const struct tmpdir *d, const char *name)
{
	char path[128];

	file_path(d, name, path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
}

/* A sparse file of size bytes: over a limit without filling the disk. */
static void file_sparse(const struct tmpdir *d, const char *name, off_t size)
{
	char path[128];
	int fd;

	file_path(d, name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* Writes n.conf with text and loads it; returns conf_load's status, the message in err. */
static int conf_try(const struct tmpdir *d, const char *text, struct conf **c, char *err,
		    size_t errlen)
{
	char path[128];

	file_write(d, "n.conf", text);
	file_path(d, "n.conf", path, sizeof(path));
	return conf_load(path, c, err, errlen);
}

/* Expects err to be exactly "DIR/n.conf:LINE: " followed by the formatted rest. */
static void expect_err(const struct tmpdir *d, const char *err, unsigned line, const char *fmt,
		       ...)
{
	char want[2 * CONF_ERR_MAX], rest[CONF_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(want, sizeof(want), "%s/n.conf:%u: %s", d->path, line, rest);
	assert_string_equal(err, want);
}

#define ROUTE "[route vpn]\ninterface = wg0\ntable = 100\nmark = 0x100\n"

/* ---- files ---- */

static void test_conf_fifo(void **state)
{
	struct tmpdir *d = *state;
	char path[128], err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct conf *c = NULL;

	file_fifo(d, "fifo.conf");
	file_path(d, "fifo.conf", path, sizeof(path));
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);
	assert_int_equal(conf_load("/dev/zero", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/dev/zero: not a regular file");
	assert_int_equal(conf_load(d->path, &c, err, sizeof(err)), -EISDIR);
}

static void test_conf_too_large(void **state)
{
	struct tmpdir *d = *state;
	char path[128], err[CONF_ERR_MAX], want[CONF_ERR_MAX];
	struct conf *c = NULL;

	file_sparse(d, "big.conf", (off_t)CONF_MAX_FILE + 1);
	file_path(d, "big.conf", path, sizeof(path));
	assert_int_equal(conf_load(path, &c, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 64 MiB, the limit for a configuration file",
		 path);
	assert_string_equal(err, want);
}

static void test_list_not_regular(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], fifo[128];
	struct conf *c = NULL;

	file_fifo(d, "fifo.list");
	file_path(d, "fifo.list", fifo, sizeof(fifo));
	assert_int_equal(conf_try(d, ROUTE "domain-list = fifo.list\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "domain-list %s: not a regular file", fifo);
	assert_int_equal(conf_try(d, ROUTE "domain-list = /dev/zero\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "domain-list /dev/zero: not a regular file");
	assert_int_equal(conf_try(d, ROUTE "network-list = fifo.list\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "network-list %s: not a regular file", fifo);
	assert_int_equal(conf_try(d, ROUTE "network-list = /dev/zero\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "network-list /dev/zero: not a regular file");
	assert_int_equal(conf_try(d, ROUTE "domain-list = /tmp\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "domain-list /tmp: Is a directory");
	assert_null(c);
}

static void test_list_too_large(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], big[128];
	struct conf *c = NULL;

	file_sparse(d, "big.list", (off_t)DLIST_MAX_FILE + 1);
	file_path(d, "big.list", big, sizeof(big));
	assert_int_equal(conf_try(d, ROUTE "\ndomain-list = big.list\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 6, "domain-list %s: larger than 1 GiB, the limit for a list", big);
	assert_int_equal(conf_try(d, ROUTE "network-list = big.list\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 5, "network-list %s: larger than 1 GiB, the limit for a list", big);
}

/* The list turns into a FIFO between conf_load and policy_new (a reload racing an edit). */
static void test_policy_list_fifo(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], list[128];
	struct policy *p = NULL;
	struct conf *c = NULL;

	file_write(d, "a.list", "a.example\n");
	file_path(d, "a.list", list, sizeof(list));
	assert_int_equal(conf_try(d, ROUTE "domains = b.example\ndomain-list = a.list\n", &c, err,
				  sizeof(err)), 0);
	assert_int_equal(unlink(list), 0);
	file_fifo(d, "a.list");
	assert_int_equal(policy_new(c, &p, err, sizeof(err)), -EINVAL);
	assert_null(p);
	expect_err(d, err, 6, "domain-list %s: not a regular file", list);
	/* dlist itself, and a v2fly include that is a FIFO: skipped with the reason */
	assert_int_equal(dlist_load(list, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	file_write(d, "v.list", "include:a.list\ndomain:c.example\n");
	file_path(d, "v.list", list, sizeof(list));
	{
		struct domain_matcher *m = domain_matcher_new();
		struct dlist_stats st;

		assert_non_null(m);
		assert_int_equal(dlist_load(list, m, 0, &st, err, sizeof(err)), 0);
		assert_int_equal(st.loaded, 1);
		assert_int_equal(st.skipped, 1);
		assert_non_null(strstr(st.samples[0].why, "cannot read included file "
						       "not a regular file"));
		domain_matcher_free(m);
	}
}

/* ---- quoting ---- */

static void test_util_quote(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(util_quote(buf, sizeof(buf), "plain"), 5);
	assert_string_equal(buf, "plain");
	util_quote(buf, sizeof(buf), "a\xff\x01\tb\\");
	assert_string_equal(buf, "a\\xff\\x01\\x09b\\");
	util_quote(buf, sizeof(buf), "0123456789abcdefghij");
	assert_string_equal(buf, "0123456789ab...");
	/* an escape is never cut in half */
	util_quote(buf, sizeof(buf), "0123456789" "\xff\xff");
	assert_string_equal(buf, "0123456789...");
	util_quote(buf, 4, "abcdef");
	assert_string_equal(buf, "...");
	util_quote(buf, 1, "abc");
	assert_string_equal(buf, "");
}

static void test_conf_quotes_junk(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX];
	struct conf *c = NULL;

	assert_int_equal(conf_try(d, "lh\xff\x01 = 1\n", &c, err, sizeof(err)), -EINVAL);
	expect_err(d, err, 1, "key lh\\xff\\x01 is outside a section; start with [global] or "
		   "[route NAME]");
	assert_int_equal(conf_try(d, ROUTE "domains = ok.example b\xc3\xa4" "d.example\n", &c, err,
				  sizeof(err)), -EINVAL);
	expect_err(d, err, 5, "domains: b\\xc3\\xa4d.example is not a valid domain name");
	assert_int_equal(conf_try(d, "[global]\nqueue = \x1b[2J\n", &c, err, sizeof(err)),
			 -EINVAL);
	expect_err(d, err, 2, "queue \\x1b[2J is not a queue number or a range FIRST-LAST");
}

/* A value far longer than the message buffer: the reason must still be there. */
static void test_conf_long_value(void **state)
{
	struct tmpdir *d = *state;
	size_t n = 200 * 1024;
	char err[CONF_ERR_MAX], *text = malloc(n + 128);
	struct conf *c = NULL;

	assert_non_null(text);
	strcpy(text, ROUTE "domains = ");
	memset(text + strlen(text), 'a', n);
	strcpy(text + strlen(ROUTE "domains = ") + n, "\n");
	assert_int_equal(conf_try(d, text, &c, err, sizeof(err)), -EINVAL);
	assert_true(strlen(err) < sizeof(err) - 1);
	assert_non_null(strstr(err, "aaa... is not a valid domain name"));
	memcpy(text, "[global]\nqueue = ", 17);
	memset(text + 17, '9', n);
	strcpy(text + 17 + n, "\n");
	assert_int_equal(conf_try(d, text, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "999... is out of range (0-65535)"));
	free(text);
}

/* ---- warnings ---- */

static void expect_warning(const struct tmpdir *d, const struct conf *c, size_t i,
			   unsigned line, const char *rest)
{
	char want[CONF_ERR_MAX];

	assert_true(i < c->n_warnings);
	snprintf(want, sizeof(want), "%s/n.conf:%u: %s", d->path, line, rest);
	assert_string_equal(c->warnings[i], want);
}

static void test_warn_host_bits(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], list[128], want[CONF_ERR_MAX];
	struct conf *c = NULL;

	file_write(d, "n.list", "# nets\n192.0.2.0/24\n198.51.100.7/24\n");
	file_path(d, "n.list", list, sizeof(list));
	assert_int_equal(conf_try(d, ROUTE "networks = 10.0.0.1/8 10.1.0.0/16 2001:db8::1/32\n"
				  "sources = 192.168.1.1/24\nnetwork-list = n.list\n", &c, err,
				  sizeof(err)), 0);
	assert_int_equal(c->n_warnings, 4);
	expect_warning(d, c, 0, 5, "10.0.0.1/8 has host bits set; means 10.0.0.0/8");
	expect_warning(d, c, 1, 5, "2001:db8::1/32 has host bits set; means 2001:db8::/32");
	expect_warning(d, c, 2, 6, "192.168.1.1/24 has host bits set; means 192.168.1.0/24");
	snprintf(want, sizeof(want), "network-list %s:3: 198.51.100.7/24 has host bits set; "
		 "means 198.51.100.0/24", list);
	expect_warning(d, c, 3, 7, want);
	assert_int_equal(c->routes[0].networks[0].addr.a[3], 0);
	conf_free(c);
	/* a plain address is a /32: no host bits to speak of */
	assert_int_equal(conf_try(d, ROUTE "networks = 10.0.0.1 2001:db8::1\n", &c, err,
				  sizeof(err)), 0);
	assert_int_equal(c->n_warnings, 0);
	conf_free(c);
}

static void test_warn_table_main(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX];
	struct conf *c = NULL;

	assert_int_equal(conf_try(d, "[route lan]\ntable = main\ninterface = eth0\nmark = 0x200\n"
				  "domains = a.example\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_warnings, 2);
	expect_warning(d, c, 0, 3, "interface is ignored in route lan: with table = main its "
		       "traffic stays on the main table");
	expect_warning(d, c, 1, 4, "mark is ignored in route lan: with table = main its traffic "
		       "is left unmarked");
	conf_free(c);
	assert_int_equal(conf_try(d, "[route lan]\ntable = main\ndomains = a.example\n", &c, err,
				  sizeof(err)), 0);
	assert_int_equal(c->n_warnings, 0);
	conf_free(c);
}

static void test_warn_capped(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], line[64], *text = calloc(1, 64 * (CONF_WARN_MAX + 8) + 128);
	struct conf *c = NULL;

	assert_non_null(text);
	strcpy(text, ROUTE);
	for (int i = 0; i < CONF_WARN_MAX + 5; i++) {
		snprintf(line, sizeof(line), "networks = 10.%d.0.1/16\n", i);
		strcat(text, line);
	}
	assert_int_equal(conf_try(d, text, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_warnings, CONF_WARN_MAX);
	assert_int_equal(c->warnings_dropped, 5);
	conf_free(c);
	free(text);
}

/* The error cites the networks = key that repeats the prefix, not the route header. */
static void test_dup_network_line(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX];
	struct conf *c = NULL;

	assert_int_equal(conf_try(d, ROUTE "networks = 10.0.0.0/8\n"
				  "[route b]\ninterface = wg1\ntable = 101\nmark = 0x200\n"
				  "domains = b.example\nnetworks = 192.0.2.0/24\n"
				  "networks = 10.0.0.1/8\n", &c, err, sizeof(err)), -EINVAL);
	expect_err(d, err, 12, "network 10.0.0.0/8 is already listed at line 5 (route vpn)");
	/* twice in one route is harmless */
	assert_int_equal(conf_try(d, ROUTE "networks = 10.0.0.0/8\nnetworks = 10.0.0.0/8\n", &c,
				  err, sizeof(err)), 0);
	conf_free(c);
}

struct collect {
	char text[4096];
	size_t n;
};

static void collect(void *ctx, int prio, const char *msg)
{
	struct collect *w = ctx;
	size_t len = strlen(w->text);

	assert_int_equal(prio, LOG_WARNING);
	snprintf(w->text + len, sizeof(w->text) - len, "%s\n", msg);
	w->n++;
}

static void test_warn_empty_list(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX], want[1024], gfw[128], empty[128], *out = NULL;
	struct collect w = { .n = 0 };
	struct policy *p = NULL;
	struct conf *c = NULL;
	size_t outlen = 0;
	FILE *f;

	file_write(d, "gfw.txt", "[AutoProxy 0.2.9]\n! comment\n||google.com\n||youtube.com\n"
		   "|http://a.example/x\n");
	file_write(d, "empty.list", "# nothing yet\n\n");
	file_write(d, "one.list", "one.example\n");
	file_path(d, "gfw.txt", gfw, sizeof(gfw));
	file_path(d, "empty.list", empty, sizeof(empty));
	assert_int_equal(conf_try(d, ROUTE "format = dnsmasq\ndomain-list = gfw.txt\n"
				  "[route b]\ninterface = wg1\ntable = 101\nmark = 0x200\n"
				  "domain-list = empty.list\ndomain-list = one.list\n", &c, err,
				  sizeof(err)), 0);
	assert_int_equal(policy_new(c, &p, err, sizeof(err)), 0);
	policy_warnings(p, collect, &w);
	snprintf(want, sizeof(want), "%s: no rule read from 5 lines; is format = right? "
		 "(detected format would be gfwlist)\n%s: no rule read: the list has no "
		 "entries\n", gfw, empty);
	assert_string_equal(w.text, want);
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	policy_print_summary(p, f);
	fclose(f);
	if (!strstr(out, "masquerade no, 0 domains\n") ||
	    !strstr(out, "masquerade no, 1 domain, 1 suffix\n"))
		fail_msg("unexpected summary:\n%s", out);
	free(out);
	policy_free(p);
}

static void test_host_check(void **state)
{
	struct tmpdir *d = *state;
	char err[CONF_ERR_MAX];
	struct collect w = { .n = 0 };
	struct conf *c = NULL;

	assert_int_equal(conf_try(d, "[global]\nlan-interfaces = lo nfqrnope1\n"
				  "[route vpn]\ninterface = nfqrnope0\ntable = 100\nmark = 0x100\n"
				  "inbound-interface = lo\n"
				  "[route lo]\ninterface = lo\ntable = 101\nmark = 0x200\n"
				  "[route m]\ntable = main\ninterface = nfqrnope2\n", &c, err,
				  sizeof(err)), 0);
	conf_host_check(c, collect, &w);
	assert_string_equal(w.text, "route vpn: interface nfqrnope0 does not exist (yet)\n"
			    "lan-interfaces: interface nfqrnope1 does not exist (yet)\n");
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conf_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_list_fifo, setup, teardown),
		cmocka_unit_test(test_util_quote),
		cmocka_unit_test_setup_teardown(test_conf_quotes_junk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_long_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_host_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_table_main, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup_network_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warn_empty_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_check, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
