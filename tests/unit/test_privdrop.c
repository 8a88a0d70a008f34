/*
 * Privilege drop. Argument errors need nothing; the drops themselves run in a child
 * process (they cannot be undone) and need root, skipped otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cap-ng.h>
#include <cmocka.h>

#include "privdrop.h"

#define NET_ADMIN_ONLY 0x1000ULL	/* 1 << CAP_NET_ADMIN (12) */

/* A "Name:\tVALUE" line of /proc/self/status, as text. */
static int status_field(const char *name, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, strlen(name)) && line[strlen(name)] == ':') {
			snprintf(out, size, "%s", line + strlen(name) + 1);
			out[strcspn(out, "\n")] = '\0';
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

static unsigned long long status_caps(const char *name)
{
	char v[64];

	return status_field(name, v, sizeof(v)) ? ~0ULL : strtoull(v, NULL, 16);
}

/* Runs fn in a child; its exit status is 0 when every check in it held. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

static void test_noop(void **state)
{
	unsigned long long before = status_caps("CapEff");
	char err[128] = "";

	(void)state;
	assert_int_equal(privdrop_to_user(NULL, err, sizeof(err)), 0);
	assert_int_equal(privdrop_to_user("", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(status_caps("CapEff"), before);
}

static void test_unknown_user(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(privdrop_to_user("no-such-user-nfqr", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no user no-such-user-nfqr");
	assert_int_equal(privdrop_to_user("12ab", err, sizeof(err)), -ENOENT);
}

static void test_user_ids(void **state)
{
	char err[128];
	uid_t uid;
	gid_t gid;

	(void)state;
	assert_int_equal(privdrop_user_ids("nobody", &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, 65534);
	assert_int_equal(gid, 65534);
	assert_int_equal(privdrop_user_ids("0", &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_int_equal(privdrop_user_ids("54321", &uid, &gid, err, sizeof(err)), 0);
	assert_int_equal(uid, 54321);
	assert_int_equal(gid, 54321);
	assert_int_equal(privdrop_user_ids("", &uid, &gid, err, sizeof(err)), -EINVAL);
	assert_int_equal(privdrop_user_ids("-1", &uid, &gid, err, sizeof(err)), -ENOENT);
}

/* Without privileges both functions refuse cleanly and change nothing. */
static int child_unprivileged(void)
{
	char err[128];

	if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
		return 10;
	if (privdrop_caps_only(err, sizeof(err)) != -EPERM ||
	    strcmp(err, "CAP_NET_ADMIN is not available to keep"))
		return 11;
	if (privdrop_to_user("root", err, sizeof(err)) != -EPERM)
		return 12;
	if (privdrop_to_user("daemon", err, sizeof(err)) != -EPERM ||
	    strncmp(err, "switching to user daemon needs root (running as uid ", 52))
		return 13;
	return 0;
}

static void test_unprivileged(void **state)
{
	(void)state;
	assert_int_equal(in_child(child_unprivileged), 0);
}

/* As under systemd's CapabilityBoundingSet=CAP_NET_ADMIN: no switch, ids unchanged. */
static int child_no_setuid(void)
{
	char err[160];

	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return 10;
	if (privdrop_to_user("nobody", err, sizeof(err)) != -EPERM ||
	    !strstr(err, "needs CAP_SETUID and CAP_SETGID"))
		return 11;
	if (getuid() != 0 || geteuid() != 0)
		return 12;
	/* keeping root's uid with CAP_NET_ADMIN alone still works there */
	return privdrop_caps_only(err, sizeof(err)) == 0 ? 0 : 13;
}

static void test_no_setuid(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	assert_int_equal(in_child(child_no_setuid), 0);
}

static int child_caps_only(void)
{
	char err[128], v[64];

	if (privdrop_caps_only(err, sizeof(err)) != 0)
		return 10;
	if (status_caps("CapEff") != NET_ADMIN_ONLY || status_caps("CapPrm") != NET_ADMIN_ONLY ||
	    status_caps("CapBnd") != 0)
		return 11;
	if (getuid() != 0 || status_field("NoNewPrivs", v, sizeof(v)) || strcmp(v, "\t1"))
		return 12;
	return 0;
}

static void test_caps_only(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	assert_int_equal(in_child(child_caps_only), 0);
}

static int child_to_nobody(void)
{
	char err[128], groups[256];

	if (privdrop_to_user("nobody", err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 10;
	}
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
		return 11;
	if (status_caps("CapEff") != NET_ADMIN_ONLY || status_caps("CapPrm") != NET_ADMIN_ONLY ||
	    status_caps("CapBnd") != 0 || status_caps("CapInh") != 0)
		return 12;
	if (status_field("Groups", groups, sizeof(groups)) || groups[strspn(groups, " \t")])
		return 13;	/* supplementary groups dropped */
	/* and there is no way back */
	if (setuid(0) == 0)
		return 14;
	return 0;
}

static void test_to_user(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	assert_int_equal(in_child(child_to_nobody), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noop),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_user_ids),
		cmocka_unit_test(test_unprivileged),
		cmocka_unit_test(test_no_setuid),
		cmocka_unit_test(test_caps_only),
		cmocka_unit_test(test_to_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
