#!/bin/bash
# The WireGuard endpoint's own name (vpn.icanhazip.com -> 10.99.2.2) falls under a routed
# domain. Once host has resolved it, nfqroute must still never route the tunnel's own
# encrypted packets into the tunnel: the tunnel keeps working and its UDP packets keep
# leaving through eth0.
# Run 1: `endpoint = 10.99.2.2` in the configuration.
# Run 2: no endpoint key; nfqroute reads the peer endpoint from wireguard-go's socket.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

endpoint_checks() {
	local got n
	nfq_start
	assert_via_vpn ipv4.icanhazip.com
	got=$(in_host dig +short +time=2 +tries=1 vpn.icanhazip.com A)
	assert_eq "host resolved the endpoint's name vpn.icanhazip.com" "$VPN_ADDR4" "$got"
	got=$(in_host dig +short +time=2 +tries=1 vpn.icanhazip.com AAAA)
	assert_eq "host resolved the endpoint's name vpn.icanhazip.com (AAAA)" "$VPN_ADDR6" "$got"
	in_host getent ahosts vpn.icanhazip.com >/dev/null

	# Forget existing flows so the tunnel's next UDP packet is a new connection to 10.99.2.2.
	in_host conntrack -F >/dev/null 2>&1
	capture_start eth0 "$NS_HOST" "udp and host $VPN_ADDR4 and port $WG_PORT"
	assert_via_vpn ipv4.icanhazip.com
	assert_via_vpn github.com -6
	assert_direct api.ipify.org
	n=$(capture_stop)
	if [ "$n" -gt 0 ]; then
		ok "the tunnel's encrypted packets leave through eth0 ($n packets)"
	else
		fail "no WireGuard packets on host's eth0 while fetching through the tunnel"
	fi
	# and with a fresh tunnel (new socket, new port, new handshake)
	wg_down && wg_up
	if wait_seen ipv4.icanhazip.com "$VPN_ADDR4" 10 -4; then
		ok "tunnel re-established with a new handshake to the endpoint"
	else
		fail "no connection through the re-created tunnel within 10 s"
	fi
	nfq_stop
}

lab_up
note "run 1: endpoint = $VPN_ADDR4 configured"
CONF_DOMAINS="icanhazip.com github.com" CONF_ROUTE_EXTRA="endpoint = $VPN_ADDR4" write_conf
endpoint_checks
note "run 2: no endpoint key (read from wireguard-go's control socket)"
CONF_DOMAINS="icanhazip.com github.com" write_conf
endpoint_checks
lab_result
