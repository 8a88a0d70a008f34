#!/bin/bash
# Two WireGuard tunnels at once (guide 000: "introduce extra routing tables and rules"):
# each route its own interface, mark and table, different domains each. Every domain is
# seen from its own tunnel's exit, unrouted sites from host itself. IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TABLE2=101
MARK2=0x200
LAB_DUMP_TABLES=$TABLE2

lab_up
lab_add_vpn2

CONF_DOMAINS="icanhazip.com" write_conf
cat >>"$LAB_CONF" <<EOF

[route vpn2]
interface = $WG_HOST2
table = $TABLE2
mark = $MARK2
fail-closed = yes
masquerade = yes
domains = github.com
EOF

# via_vpn2 NAME [-4|-6]
via_vpn2() {
	local fam=${2:--4} want=$VPN2_ADDR4
	[ "$fam" = -6 ] && want=$VPN2_ADDR6
	assert_seen "$1" "$want" "$fam"
}

nfq_start
cap_start w1 "$WG_HOST" "$NS_HOST" "tcp port 80"
cap_start w2 "$WG_HOST2" "$NS_HOST" "tcp port 80"
assert_via_vpn ipv4.icanhazip.com
assert_via_vpn icanhazip.com -6
via_vpn2 github.com
via_vpn2 github.com -6
via_vpn2 api.github.com
assert_direct api.ipify.org
assert_direct api64.ipify.org -6
assert_direct notgithub.com
# interleaved, second connections to known addresses
assert_via_vpn icanhazip.com
via_vpn2 github.com
assert_via_vpn ipv6.icanhazip.com -6
via_vpn2 api.github.com -6
n1=$(cap_stop w1)
n2=$(cap_stop w2)
gh="$(lab_addr github.com 4)\.|$(lab_addr github.com 6)\."
ic="$(lab_addr icanhazip.com 4)\.|$(lab_addr icanhazip.com 6)\."
if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] &&
	! cap_text w1 | grep -qE "$gh" && ! cap_text w2 | grep -qE "$ic"; then
	ok "each tunnel carried only its own domains ($n1 and $n2 packets)"
else
	fail "tunnel captures: $WG_HOST $n1 packets, $WG_HOST2 $n2 packets, or a domain in the wrong one"
	cap_show w1
	cap_show w2
fi
# the second tunnel's rule and table
if ip -n "$NS_HOST" -4 rule show | grep -q "fwmark $MARK2/$CONF_MASK lookup $TABLE2" &&
	ip -n "$NS_HOST" -6 rule show | grep -q "fwmark $MARK2/$CONF_MASK lookup $TABLE2"; then
	ok "ip rules for mark $MARK2 -> table $TABLE2 (IPv4 and IPv6)"
else
	fail "no ip rule fwmark $MARK2/$CONF_MASK lookup $TABLE2 for both families"
fi
nfq_stop
assert_direct github.com
assert_direct icanhazip.com -6
lab_result
