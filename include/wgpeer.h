#ifndef NFQR_WGPEER_H
#define NFQR_WGPEER_H

#include <stddef.h>

#include "pkt.h"

/*
 * Reads the peer endpoints of a userspace WireGuard interface (wireguard-go, boringtun)
 * from its UAPI socket /var/run/wireguard/IFNAME.sock, so the tunnel's own encrypted
 * packets can be kept out of the route. Stores at most max addresses in out and returns
 * how many, or -errno (-ENOENT when the interface has no such socket, e.g. kernel
 * WireGuard: configure `endpoint =` for those).
 */
int wgpeer_endpoints(const char *ifname, struct pkt_addr *out, size_t max);

#endif
