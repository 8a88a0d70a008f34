#!/bin/bash
# Guide 000 (address sets routed or exempted, "blacklist" mode): an exception route
# `table = main` with `network-list = FILE` keeps one address of a tunneled domain direct
# while its other address goes through the tunnel (networks come before domains);
# `networks =` in the tunnel route sends a whole prefix through it without any DNS, and a
# longer prefix in the exception list wins over it. Then `default = vpn`: an unlisted site
# goes through the tunnel while the listed networks stay direct. IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# a tunneled domain with two addresses per family, and a block of addresses without names
LAB_HOSTS+=(
	"multi.icanhazip.com 203.0.113.60 203.0.113.61 2001:db8:10::60 2001:db8:10::61"
	"nets.test 203.0.113.70 203.0.113.71 2001:db8:10::70 2001:db8:10::71"
)
lab_up

NETS=$LAB_TMP/direct.nets
cat >"$NETS" <<EOF
# exceptions: never through the tunnel

# one address of multi.icanhazip.com (the tunneled domain)
203.0.113.61/32
2001:db8:10::61/128
# inside the tunnel route's networks, but a longer prefix
203.0.113.71/32
2001:db8:10::71/128
# ifconfig.me, an unlisted site
203.0.113.40/32
2001:db8:10::40/128
EOF

# conf [DEFAULT]: the tunnel route with domains and networks, the exception route
conf() {
	CONF_DOMAINS="icanhazip.com github.com" \
		CONF_GLOBAL_EXTRA=${1:+"default = $1"} \
		CONF_ROUTE_EXTRA="networks = 203.0.113.64/28 2001:db8:10::70/124" write_conf
	cat >>"$LAB_CONF" <<EOF

[route direct]
table = main
network-list = $NETS
EOF
}

# learn: host resolves multi.icanhazip.com (A and AAAA), so nfqroute knows both addresses
learn() {
	local a
	a=$(in_host dig +short +time=2 +tries=1 multi.icanhazip.com A | sort | tr '\n' ' ')
	assert_eq "multi.icanhazip.com A" "203.0.113.60 203.0.113.61 " "$a"
	a=$(in_host dig +short +time=2 +tries=1 multi.icanhazip.com AAAA | sort | tr '\n' ' ')
	assert_eq "multi.icanhazip.com AAAA" "2001:db8:10::60 2001:db8:10::61 " "$a"
}

exceptions() {
	note "network exceptions stay direct"
	assert_direct 203.0.113.61			# an address of a tunneled domain
	assert_direct "[2001:db8:10::61]" -6
	assert_direct 203.0.113.71			# /32 beats the tunnel's /28
	assert_direct "[2001:db8:10::71]" -6
	assert_direct ifconfig.me
	assert_direct ifconfig.me -6
}

tunneled() {
	note "the other address of the tunneled domain, and the tunnel's networks"
	assert_via_vpn 203.0.113.60
	assert_via_vpn "[2001:db8:10::60]" -6
	assert_via_vpn 203.0.113.70			# networks: no DNS involved
	assert_via_vpn "[2001:db8:10::70]" -6
	assert_via_vpn 203.0.113.72			# anywhere in 203.0.113.64/28
	assert_via_vpn icanhazip.com
	assert_via_vpn github.com -6
}

# 203.0.113.72 has no name: serve it too
ip -n "$NS_ISP" addr add 203.0.113.72/32 dev lo || die "cannot add 203.0.113.72"
lab_echo "$NS_ISP" web-72 203.0.113.72

conf
nfq_start
learn
tunneled
exceptions
note "unlisted sites stay direct without a default"
assert_direct api.ipify.org
assert_direct api64.ipify.org -6
nfq_stop

note "default = vpn"
conf vpn
nfq_start
learn
tunneled
exceptions
note "unlisted sites take the default route"
assert_via_vpn api.ipify.org
assert_via_vpn api64.ipify.org -6
assert_via_vpn notgithub.com
assert_via_vpn notgithub.com -6
nfq_stop
assert_direct api.ipify.org			# nothing routed once nfqroute is gone
lab_result
