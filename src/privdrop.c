/*
 * Privilege drop with libcap-ng: after the sockets and kernel state are set up, the
 * daemon keeps CAP_NET_ADMIN and nothing else, preferably under an unprivileged user.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <cap-ng.h>

#include "privdrop.h"

static const char *change_id_error(int ret)
{
	static const char *const msgs[] = {
		"",
		"libcap-ng is not initialized",
		"cannot keep capabilities across the uid change",
		"cannot apply the intermediate capabilities",
		"cannot change the group id",
		"cannot drop supplementary groups",
		"cannot change the user id",
		"cannot stop keeping capabilities",
		"cannot clear the bounding set",
		"cannot drop CAP_SETPCAP",
		"cannot initialize supplementary groups",
	};

	return ret < 0 && -ret < (int)(sizeof(msgs) / sizeof(msgs[0])) ? msgs[-ret] :
	       "unknown libcap-ng error";
}

/* Only CAP_NET_ADMIN, as the kernel now reports it: the drop is checked, not assumed. */
static int privdrop_verify(char *err, size_t errlen)
{
	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "cannot read the process capabilities");
		return -EIO;
	}
	if (!capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) ||
	    capng_have_capability(CAPNG_PERMITTED, CAP_SETUID) ||
	    capng_have_capability(CAPNG_PERMITTED, CAP_SYS_ADMIN) ||
	    capng_have_capability(CAPNG_PERMITTED, CAP_DAC_OVERRIDE)) {
		snprintf(err, errlen, "capabilities are not CAP_NET_ADMIN alone after the drop");
		return -EPERM;
	}
	/* nothing the daemon runs may regain what was dropped (it runs nothing, so cheap) */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;

		snprintf(err, errlen, "no_new_privs: %s", strerror(e));
		return -e;
	}
	return 0;
}

int privdrop_caps_only(char *err, size_t errlen)
{
	bool bounds;
	int ret;

	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "cannot read the process capabilities");
		return -EIO;
	}
	if (!capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN)) {
		snprintf(err, errlen, "CAP_NET_ADMIN is not available to keep");
		return -EPERM;
	}
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	ret = capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS);
	if (ret < 0) {
		snprintf(err, errlen, "dropping capabilities failed (libcap-ng %d)", ret);
		return -EPERM;
	}
	return privdrop_verify(err, errlen);
}

int privdrop_user_ids(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;
	int ret;

	if (!user || !*user) {
		snprintf(err, errlen, "no user given");
		return -EINVAL;
	}
	ret = getpwnam_r(user, &pw, buf, sizeof(buf), &res);

	if (ret) {
		snprintf(err, errlen, "looking up user %s: %s", user, strerror(ret));
		return -ret;
	}
	if (res) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(user, &end, 10);
	if (isdigit((unsigned char)user[0]) && !*end && !errno && v < (unsigned long)(uid_t)-1) {
		*uid = (uid_t)v;
		ret = getpwuid_r(*uid, &pw, buf, sizeof(buf), &res);
		*gid = !ret && res ? pw.pw_gid : (gid_t)v;
		return 0;
	}
	snprintf(err, errlen, "no user %s", user);
	return -ENOENT;
}

int privdrop_to_user(const char *user, char *err, size_t errlen)
{
	capng_flags_t flags;
	uid_t uid;
	gid_t gid;
	int ret;

	if (!user || !*user)
		return 0;
	ret = privdrop_user_ids(user, &uid, &gid, err, errlen);
	if (ret)
		return ret;
	if (uid == 0 || (getuid() == uid && geteuid() == uid))
		return privdrop_caps_only(err, errlen);
	if (geteuid() != 0) {
		snprintf(err, errlen, "switching to user %s needs root (running as uid %u)", user,
			 (unsigned)geteuid());
		return -EPERM;
	}
	if (capng_get_caps_process() < 0 ||
	    !capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN)) {
		snprintf(err, errlen, "CAP_NET_ADMIN is not available to keep");
		return -EPERM;
	}
	if (!capng_have_capability(CAPNG_PERMITTED, CAP_SETUID) ||
	    !capng_have_capability(CAPNG_PERMITTED, CAP_SETGID)) {
		snprintf(err, errlen, "switching to user %s needs CAP_SETUID and CAP_SETGID (under "
			 "systemd: add them to CapabilityBoundingSet=, or use User=)", user);
		return -EPERM;
	}
	/* under a bounding set without CAP_SETPCAP (systemd) there is nothing to clear, and
	 * asking would fail after the ids changed */
	flags = CAPNG_DROP_SUPP_GRP;
	if (capng_have_capability(CAPNG_BOUNDING_SET, CAP_SETPCAP))
		flags |= CAPNG_CLEAR_BOUNDING;
	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	ret = capng_change_id((int)uid, (int)gid, flags);
	if (ret < 0) {
		snprintf(err, errlen, "switching to user %s: %s", user, change_id_error(ret));
		return -EPERM;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
		snprintf(err, errlen, "switching to user %s: ids did not change", user);
		return -EPERM;
	}
	return privdrop_verify(err, errlen);
}

bool privdrop_can_run(void)
{
	if (geteuid() == 0)
		return true;
	return capng_get_caps_process() == 0 &&
	       capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN);
}
