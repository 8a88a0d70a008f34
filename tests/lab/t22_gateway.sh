#!/bin/bash
# Guides 000/004 (host as the LAN's gateway): `lan-interfaces = eth2`. A LAN client behind
# host resolves through host (its resolver is the isp's, the replies are forwarded) and
# reaches a routed domain through the tunnel (server sees the VPN's address) and other
# sites directly (server sees host's eth0 address: host masquerades its LAN, as a gateway
# owner would). A port forward (DNAT isp-side tcp/8080 -> LAN client :80) keeps working.
# Then `sources = <the LAN>` sends every LAN connection through the tunnel while host's
# own connections and the port forward's replies keep the main table. IPv4 and IPv6.
# Forwarding and the gateway's NAT are set by the test: nfqroute must not change them, and
# `nfqroute check` warns about a gateway-mode configuration while host does not forward.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FETCH_TIMEOUT=${FETCH_TIMEOUT:-3}	# lab fetches take milliseconds; a failure costs less

lab_up
lab_add_lan
lab_echo "$NS_LAN" web-lan "$LAN_ADDR4" "$LAN_ADDR6"

CONF_DOMAINS="icanhazip.com github.com" CONF_GLOBAL_EXTRA="lan-interfaces = eth2" write_conf

# `nfqroute check` warns about a gateway-mode configuration on a host that does not
# forward: the lines it prints with forwarding off and not with forwarding on
check_out() { in_host_nfq "$NFQROUTE" check -c "$LAB_CONF" 2>&1; }
in_host sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 ||
	die "cannot disable forwarding in host"
check_off=$(check_out)
rc_off=$?

# The gateway owner's part: forwarding, NAT of the LAN out eth0, a port forward.
in_host sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
	die "cannot enable forwarding in host"
in_host nft -f - <<EOF || die "cannot install host's gateway NAT"
table inet labgw {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "eth0" meta nfproto ipv4 tcp dport 8080 dnat ip to $LAN_ADDR4:80
		iifname "eth0" meta nfproto ipv6 tcp dport 8080 dnat ip6 to [$LAN_ADDR6]:80
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 10.99.5.0/24 masquerade
		oifname "eth0" ip6 saddr fd99:5::/64 masquerade
	}
}
EOF

# the lab works as a plain gateway before nfqroute
got=$(FETCH_NS=$NS_LAN fetch api.ipify.org -4)
[ "$got" = "$HOST_ADDR4" ] || die "lab broken: LAN client through host saw '$got'"
got=$(FETCH_NS=$NS_LAN fetch api64.ipify.org -6)
[ "$got" = "$HOST_ADDR6" ] || die "lab broken: LAN client through host (IPv6) saw '$got'"

# port_forward: the isp side reaches the LAN client's server through host's tcp/8080
port_forward() {
	assert_eq "port forward host:8080 -> LAN :80 from the isp side: server saw" \
		"$ISP_ADDR4" "$(FETCH_NS=$NS_ISP fetch "$HOST_ADDR4:8080")"
	assert_eq "port forward [host]:8080 -> LAN :80 from the isp side -6: server saw" \
		"$ISP_ADDR6" "$(FETCH_NS=$NS_ISP fetch "[$HOST_ADDR6]:8080")"
}

check_on=$(check_out)
rc_on=$?
assert_eq "nfqroute check exit status (forwarding off, on)" "0 0" "$rc_off $rc_on"
extra=$(diff <(echo "$check_on") <(echo "$check_off") | sed -n 's/^> //p')
if [ -n "$extra" ] && ! grep -viq forward <<<"$extra"; then
	ok "nfqroute check warns when host does not forward: $extra"
else
	fail "nfqroute check: expected extra line(s) about forwarding when host does not" \
		"forward; extra lines: '$extra'"
	sed 's/^/#   off: /' <<<"$check_off"
fi

sysctls() {
	in_host sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding | tr '\n' ' '
}
fwd_before=$(sysctls)

nfq_start
assert_eq "forwarding sysctls while nfqroute runs" "$fwd_before" "$(sysctls)"

note "LAN client: routed domains through the tunnel, the rest direct"
FETCH_NS=$NS_LAN assert_via_vpn ipv4.icanhazip.com
FETCH_NS=$NS_LAN assert_via_vpn github.com -6
FETCH_NS=$NS_LAN assert_via_vpn api.github.com
FETCH_NS=$NS_LAN assert_direct api.ipify.org
FETCH_NS=$NS_LAN assert_direct api64.ipify.org -6
FETCH_NS=$NS_LAN assert_direct notgithub.com
note "host itself, as before"
assert_via_vpn icanhazip.com
assert_direct ifconfig.me -6
port_forward
FETCH_NS=$NS_LAN assert_via_vpn github.com	# again, after the port forward
# the main-table rule the forwarded replies need is put back like the fwmark rules
suppress_ok() { ip -n "$NS_HOST" "$1" rule show | grep -q "^999:.*lookup main suppress_prefixlength 0"; }
for fam in -4 -6; do
	in_host ip "$fam" rule del priority 999 || die "ip $fam rule del priority 999 failed"
	if wait_for 2 suppress_ok "$fam"; then
		ok "ip $fam suppress_prefixlength rule is back after 'ip rule del'"
	else
		fail "ip $fam suppress_prefixlength rule did not come back within 2 s"
	fi
done
port_forward
nfq_stop

note "sources = the LAN: every LAN connection through the tunnel"
CONF_DOMAINS="icanhazip.com" CONF_GLOBAL_EXTRA="lan-interfaces = eth2" \
	CONF_ROUTE_EXTRA="sources = 10.99.5.0/24 fd99:5::/64" write_conf
nfq_start
FETCH_NS=$NS_LAN assert_via_vpn api.ipify.org
FETCH_NS=$NS_LAN assert_via_vpn api64.ipify.org -6
FETCH_NS=$NS_LAN assert_via_vpn github.com	# not a routed domain any more: by source
assert_direct api.ipify.org			# host's own: not from the LAN
assert_direct api64.ipify.org -6
assert_via_vpn ipv4.icanhazip.com
port_forward					# its replies come from the LAN subnet
nfq_stop
assert_eq "forwarding sysctls after nfqroute stopped" "$fwd_before" "$(sysctls)"

FETCH_NS=$NS_LAN assert_direct ipv4.icanhazip.com	# plain gateway again
lab_result
