#ifndef NFQR_PRIVDROP_H
#define NFQR_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Giving up privileges once the daemon is set up (libcap-ng). What it still needs after
 * start-up, all covered by CAP_NET_ADMIN alone:
 *   - NFQUEUE: receiving packets and sending verdicts on the bound queue, and binding a
 *     new queue when a reload changes `queue =` (nfnetlink, CAP_NET_ADMIN);
 *   - nftables: replacing the table on reload and deleting it on stop (CAP_NET_ADMIN);
 *   - ip rules and routes (rtnetlink writes): CAP_NET_ADMIN;
 *   - SO_MARK on the resolver's (c-ares) sockets: CAP_NET_ADMIN;
 *   - conntrack mark updates for `reload --reroute`: CAP_NET_ADMIN;
 *   - restoring net.ipv4.conf.all.src_valid_mark on stop: net sysctls grant root's
 *     access to holders of CAP_NET_ADMIN, so this works as any user.
 * What happens before the drop and so needs no capability afterwards: the first sysctl
 * write and its saved value under /run/nfqroute, creating (and chowning) the control
 * socket. What does not work after dropping to a user unless files are arranged for it:
 *   - removing files under /run/nfqroute on stop (saved sysctl, control socket) and
 *     writing the cache: the user must own those directories (chown them before the
 *     drop, or systemd's RuntimeDirectory=/StateDirectory= with User=);
 *   - reload reads the configuration and domain lists as that user;
 *   - wgpeer reads userspace WireGuard endpoints from /var/run/wireguard/IFNAME.sock,
 *     which wireguard-go creates root-only: as another user that needs
 *     CAP_DAC_OVERRIDE, which is not kept (endpoints found before the drop stay).
 *     privdrop_caps_only (uid 0 owns those sockets) does not have this problem.
 *
 * Both functions must run before any thread is started: capabilities are per thread.
 */

/*
 * Switches to user (name, or a number when no such name exists) with its primary group, no
 * supplementary groups, and only CAP_NET_ADMIN (effective and permitted; the bounding set
 * emptied and no_new_privs set, so nothing can be regained through exec). A NULL or empty
 * user does nothing; "root" or uid 0 falls back to privdrop_caps_only; when already
 * running as that user, only the capabilities are reduced. Needs CAP_SETUID and CAP_SETGID
 * (and CAP_SETPCAP to empty the bounding set, skipped without it). Returns 0, or -ENOENT
 * (no such user), -EPERM (not root and not that user, CAP_NET_ADMIN, CAP_SETUID or
 * CAP_SETGID missing) or another -errno, with a message in err. After a failure past the
 * first step the process may be half-changed: the caller must exit.
 */
int privdrop_to_user(const char *user, char *err, size_t errlen);

/*
 * Keeps the current uid (root, when no user is configured) but only CAP_NET_ADMIN in the
 * effective and permitted sets; the bounding set is emptied too when CAP_SETPCAP allows
 * it; no_new_privs is set. Weaker than a user: uid 0 still owns most files. Returns 0, or
 * -EPERM with a message when CAP_NET_ADMIN is not permitted to begin with, or another
 * -errno.
 */
int privdrop_caps_only(char *err, size_t errlen);

/*
 * Whether this process may run the daemon: root, or CAP_NET_ADMIN in its effective set.
 * Checked before anything is installed, so that a user without it gets one clear message
 * instead of a cascade of refused netlink requests.
 */
bool privdrop_can_run(void);

/*
 * The uid and primary gid privdrop_to_user would switch to (a name, or a number when no
 * such name exists), so the caller can chown its directories first. Uses NSS: call it at
 * start-up. Returns 0, or -ENOENT / -errno with a message in err.
 */
int privdrop_user_ids(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

#endif
