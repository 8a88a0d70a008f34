#!/bin/bash
# `default = vpn` with a wireguard-go tunnel and no `endpoint =`: the tunnel's own
# handshake must not be routed into the tunnel (the endpoint is read from wireguard-go's
# control socket before any connection is decided). The very first fetch after start,
# of a name no rule covers, goes through the tunnel; the handshake's flow stays unmarked
# in conntrack. A QA report saw every fetch fail for 15 s before.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
in_host conntrack -D -p udp --dport 51820 >/dev/null 2>&1	# the tunnel starts a new flow
CONF_GLOBAL_EXTRA="default = vpn" write_conf
nfq_start
got=$(FETCH_TIMEOUT=3 fetch api.ipify.org -4)
assert_eq "first fetch after start (default = vpn) seen from the tunnel" "$VPN_ADDR4" "$got"
marked=$(in_host conntrack -L -p udp --dport 51820 2>/dev/null | grep -c "mark=[1-9]")
assert_eq "tunnel handshake flows carrying a route mark" 0 "$marked"
assert_via_vpn ifconfig.me
nfq_stop
lab_result
