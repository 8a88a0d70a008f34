#!/bin/bash
# Coexistence (guide 004's Tailscale section, guide 000's wg-quick tables): before
# nfqroute starts, host has what wg-quick installs (fwmark 0xca6c on the tunnel's socket,
# `not fwmark 0xca6c lookup 51820`, `lookup main suppress_prefixlength 0`, a route in table
# 51820, src_valid_mark = 1, its nft table) and what Tailscale installs (mark bits 0xff0000:
# a rule for fwmark 0x80000/0xff0000, table 52 with a route via tailscale0, an nft table
# that sets mark bit 0x40000 (and ct mark bit 0x20000) on traffic). With mark-mask 0xff00
# nfqroute routes as usual while they exist; the packets it routes keep the other
# software's mark and ct mark bits (counted in postrouting), and after it stops every rule,
# route, table, nft table and sysctl is exactly as before. IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up

# install_others: wg-quick's state (nft variant, full tunnel over $WG_HOST) and Tailscale's
install_others() {
	local fam
	in_host wg set "$WG_HOST" fwmark 0xca6c || return 1
	in_host sysctl -qw net.ipv4.conf.all.src_valid_mark=1 || return 1
	for fam in -4 -6; do
		ip -n "$NS_HOST" "$fam" rule add not fwmark 0xca6c table 51820 || return 1
		ip -n "$NS_HOST" "$fam" rule add table main suppress_prefixlength 0 || return 1
	done
	ip -n "$NS_HOST" route add 198.51.100.0/24 dev "$WG_HOST" table 51820 || return 1
	ip -n "$NS_HOST" -6 route add 2001:db8:ca6c::/48 dev "$WG_HOST" table 51820 || return 1
	in_host nft -f - <<EOF || return 1
table ip wg-quick-test {
	chain preraw {
		type filter hook prerouting priority raw; policy accept;
		iifname != "$WG_HOST" ip daddr $HOST_WG4 fib saddr type != local drop
	}
	chain premangle {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto udp meta mark set ct mark
	}
	chain postmangle {
		type filter hook postrouting priority mangle; policy accept;
		meta l4proto udp meta mark 0x0000ca6c ct mark set meta mark
	}
}
EOF
	# Tailscale: its interface, the 0xff0000 mark bits, table 52, an nft table that marks
	ip -n "$NS_HOST" link add tailscale0 type veth peer name ts-peer || return 1
	ip -n "$NS_HOST" link set tailscale0 up || return 1
	ip -n "$NS_HOST" link set ts-peer up || return 1
	ip -n "$NS_HOST" addr add 100.101.102.103/32 dev tailscale0 || return 1
	for fam in -4 -6; do
		ip -n "$NS_HOST" "$fam" rule add priority 5210 fwmark 0x80000/0xff0000 table 52 ||
			return 1
	done
	ip -n "$NS_HOST" route add 100.64.0.0/10 dev tailscale0 table 52 || return 1
	ip -n "$NS_HOST" -6 route add fd7a:115c:a1e0::/48 dev tailscale0 table 52 || return 1
	in_host nft -f - <<EOF
table inet tailscale-test {
	chain output {
		type route hook output priority -180; policy accept;
		tcp dport 80 meta mark set meta mark | 0x00040000 ct mark set ct mark | 0x00020000
	}
}
EOF
}

note "installing wg-quick's and Tailscale's state"
install_others || die "cannot install the other software's rules"
# the lab still works with them
got=$(fetch api.ipify.org)
[ "$got" = "$HOST_ADDR4" ] || die "lab broken by the other software's rules: direct fetch saw '$got'"
got=$(fetch "$VPN_WG4")
[ "$got" = "$HOST_WG4" ] || die "lab broken by the other software's rules: tunnel fetch saw '$got'"

# others: the other software's entries alone (rules, their tables, their nft tables)
others() {
	ip -n "$NS_HOST" -4 rule show | grep -E '0xca6c|51820|suppress|lookup 52'
	ip -n "$NS_HOST" -6 rule show | grep -E '0xca6c|51820|suppress|lookup 52'
	ip -n "$NS_HOST" -4 route show table 51820
	ip -n "$NS_HOST" -6 route show table 51820
	ip -n "$NS_HOST" -4 route show table 52
	ip -n "$NS_HOST" -6 route show table 52
	in_host nft list table ip wg-quick-test
	in_host nft list table inet tailscale-test
	in_host sysctl net.ipv4.conf.all.src_valid_mark
	in_host wg show "$WG_HOST" fwmark
}
others >"$LAB_TMP/others.before"
[ "$(grep -c . "$LAB_TMP/others.before")" -ge 20 ] || die "the other software's state is incomplete"
host_snapshot "$LAB_TMP/before"

# the test's own counters (removed again before the final snapshot)
in_host nft -f - <<EOF || die "cannot install the counters"
table inet labcheck {
	chain post {
		type filter hook postrouting priority 200; policy accept;
		oifname "$WG_HOST" tcp dport 80 counter comment "wg-all"
		oifname "$WG_HOST" tcp dport 80 meta mark & 0x00ffff00 == 0x00040100 counter comment "wg-mark"
		oifname "$WG_HOST" tcp dport 80 ct mark & 0x00ffff00 == 0x00020100 counter comment "wg-ctmark"
		oifname "eth0" tcp dport 80 counter comment "eth0-all"
		oifname "eth0" tcp dport 80 meta mark & 0x00ffff00 == 0x00040000 counter comment "eth0-mark"
	}
}
EOF

write_conf	# mark-mask 0xff00, mark 0x100
nfq_start
assert_via_vpn ipv4.icanhazip.com
assert_via_vpn github.com
assert_via_vpn github.com -6
assert_direct api.ipify.org
assert_direct api64.ipify.org -6
assert_via_vpn ipv6.icanhazip.com -6
assert_direct ifconfig.me

others >"$LAB_TMP/others.running"
if diff -u "$LAB_TMP/others.before" "$LAB_TMP/others.running" >"$LAB_TMP/others.diff"; then
	ok "the other software's rules, tables and settings are untouched while nfqroute runs"
else
	fail "the other software's state changed while nfqroute runs:"
	sed 's/^/#   /' "$LAB_TMP/others.diff"
fi

wg_all=$(lab_counter labcheck post wg-all)
wg_mark=$(lab_counter labcheck post wg-mark)
wg_ct=$(lab_counter labcheck post wg-ctmark)
e0_all=$(lab_counter labcheck post eth0-all)
e0_mark=$(lab_counter labcheck post eth0-mark)
note "tunnel: $wg_all packets, $wg_mark with mark 0x40100, $wg_ct with ct mark 0x20100;" \
	"eth0: $e0_all packets, $e0_mark with mark 0x40000"
if [ "${wg_all:-0}" -gt 0 ] && [ "$wg_mark" = "$wg_all" ] && [ "$wg_ct" = "$wg_all" ]; then
	ok "every routed packet kept the other software's mark (0x40000) and ct mark (0x20000) bits"
else
	fail "routed packets lost other software's mark bits: $wg_all in the tunnel," \
		"$wg_mark with meta mark & 0xffff00 == 0x40100, $wg_ct with ct mark & 0xffff00 == 0x20100"
	in_host nft list table inet labcheck | sed 's/^/#   /'
	in_host conntrack -L -p tcp --dport 80 2>/dev/null | tail -n 6 | sed 's/^/#   /'
fi
if [ "${e0_all:-0}" -gt 0 ] && [ "$e0_mark" = "$e0_all" ]; then
	ok "every direct packet kept the other software's mark bits"
else
	fail "direct packets lost other software's mark bits: $e0_all on eth0, $e0_mark with 0x40000"
fi
nfq_stop

in_host nft delete table inet labcheck
host_snapshot "$LAB_TMP/after"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/after" >"$LAB_TMP/diff"; then
	ok "after nfqroute stopped: nft ruleset, ip rules, routes of all tables, sysctls as before"
else
	fail "host state after nfqroute stopped differs from before:"
	sed 's/^/#   /' "$LAB_TMP/diff"
fi
others >"$LAB_TMP/others.after"
if cmp -s "$LAB_TMP/others.before" "$LAB_TMP/others.after"; then
	ok "the other software's state is byte-for-byte unchanged"
else
	fail "the other software's state changed"
	diff -u "$LAB_TMP/others.before" "$LAB_TMP/others.after" | sed 's/^/#   /'
fi
assert_direct ipv4.icanhazip.com
lab_result
