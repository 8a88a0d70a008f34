/*
 * Who may use the control socket: the peer's credentials as the kernel reports them
 * (SO_PEERCRED, SO_PEERGROUPS, /proc as a fallback) and the access rule. The control
 * group is resolved at start-up; nothing here consults NSS on the loop unless both the
 * kernel and /proc fail to name the peer's groups.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "control_int.h"

#define PEER_GROUPS_START 64
#define PEER_GROUPS_MAX 65536

enum control_access control_access_decide(const struct control_peer *peer, gid_t group)
{
	if (peer->uid == 0)
		return CONTROL_ADMIN;
	if (group == CONTROL_NO_GROUP)
		return CONTROL_DENY;
	if (peer->gid == group)
		return CONTROL_READ;
	for (size_t i = 0; i < peer->n_groups; i++)
		if (peer->groups && peer->groups[i] == group)
			return CONTROL_READ;
	return CONTROL_DENY;
}

int control_groups_parse(const char *status, gid_t *out, size_t max)
{
	const char *p = status;
	size_t n = 0;

	while (p && strncmp(p, "Groups:", 7) != 0) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return -ENOENT;
	p += 7;
	for (;;) {
		unsigned long v;
		char *end;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\0')
			return (int)n;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v >= (unsigned long)CONTROL_NO_GROUP)
			return -EINVAL;
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\0')
			return -EINVAL;
		if (n == max)
			return -ENOSPC;
		out[n++] = (gid_t)v;
		p = end;
	}
}

int control_group_lookup(const char *name, gid_t *out, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long v;
	int ret;

	*out = CONTROL_NO_GROUP;
	if (!name || !*name)
		return 0;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (isdigit((unsigned char)name[0]) && !*end) {
		if (errno || v >= (unsigned long)CONTROL_NO_GROUP) {
			snprintf(err, errlen, "group %s is out of range", name);
			return -ERANGE;
		}
		*out = (gid_t)v;
		return 0;
	}
	ret = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (ret) {
		snprintf(err, errlen, "looking up group %s: %s", name, strerror(ret));
		return -ret;
	}
	if (!res) {
		snprintf(err, errlen, "no group %s", name);
		return -ENOENT;
	}
	*out = gr.gr_gid;
	return 0;
}

/* Supplementary groups from /proc/PID/status: only for kernels without SO_PEERGROUPS. */
static int peer_groups_proc(pid_t pid, gid_t *out, size_t max)
{
	char path[64], text[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	return control_groups_parse(text, out, max);
}

/* The group database's view, when even /proc fails; may consult NSS. */
static int peer_groups_db(uid_t uid, gid_t gid, gid_t *out, size_t max)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = (int)max;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	if (getgrouplist(pw.pw_name, gid, out, &n) < 0)
		return -ENOSPC;
	return n;
}

/* Fills the peer's supplementary groups into *groups (allocated); returns the count. */
static int peer_groups(int fd, const struct ucred *uc, gid_t **groups)
{
	socklen_t len = PEER_GROUPS_START * sizeof(gid_t);
	gid_t *g = malloc(len);
	int n;

	*groups = g;
	if (!g)
		return -ENOMEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno == ERANGE && len <= PEER_GROUPS_MAX * sizeof(gid_t)) {
		g = realloc(g, len);
		if (!g)
			return -ENOMEM;
		*groups = g;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0)
			return (int)(len / sizeof(gid_t));
	}
	n = peer_groups_proc(uc->pid, g, len / sizeof(gid_t));
	if (n < 0)
		n = peer_groups_db(uc->uid, uc->gid, g, len / sizeof(gid_t));
	return n;
}

enum control_access control_peer_access(const struct control *c, struct control_client *cl)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct control_peer peer = { 0 };
	gid_t *groups = NULL;
	enum control_access acc;
	int n;

	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return CONTROL_DENY;
	cl->uid = uc.uid;
	cl->pid = uc.pid;
	peer = (struct control_peer){ uc.pid, uc.uid, uc.gid, 0, NULL };
	acc = control_access_decide(&peer, c->group);
	if (acc != CONTROL_DENY || c->group == CONTROL_NO_GROUP)
		return acc;
	n = peer_groups(cl->fd, &uc, &groups);
	if (n > 0) {
		peer.n_groups = (size_t)n;
		peer.groups = groups;
		acc = control_access_decide(&peer, c->group);
	}
	free(groups);
	return acc;
}
