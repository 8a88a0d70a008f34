#!/bin/bash
# Guide 004 (DNS for tunneled names inside the tunnel): `dns = yes` in the tunnel route.
# The lookups of routed names travel through the tunnel to the same resolver (the ISP link
# never carries a query for them; the resolver sees them from the VPN's address), while
# names of other routes and unrouted names are still resolved directly over eth0. glibc
# sends A and AAAA back to back from one socket: every lookup completes in < 2 s (no 5 s
# retry), 10 times; connections to the names are then routed as before. A and AAAA
# records, with the resolver reached over IPv4 and over IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROUTED='(github\.com|icanhazip\.com)'
OTHERS='(api64\.ipify\.org|ifconfig\.me|api\.ipify\.org)'

lab_up
CONF_DOMAINS="icanhazip.com github.com" CONF_ROUTE_EXTRA="dns = yes" write_conf
cat >>"$LAB_CONF" <<EOF

[route direct]
table = main
domains = ifconfig.me
EOF

# lookups NAME COUNT WANT...: getent ahosts COUNT times, each < 2 s and listing every WANT.
lookups() {
	local name=$1 count=$2 i t0 t1 ms out slow=0 bad=0 max=0 w
	shift 2
	for ((i = 1; i <= count; i++)); do
		t0=$(now_ms)
		out=$(in_host timeout 7 getent ahosts "$name")
		t1=$(now_ms)
		ms=$((t1 - t0))
		[ "$ms" -gt "$max" ] && max=$ms
		[ "$ms" -ge 2000 ] && slow=$((slow + 1))
		for w in "$@"; do
			grep -q "^$w " <<<"$out" || bad=$((bad + 1))
		done
		[ "$slow" -ge 1 ] && break	# one stall is enough evidence; keep the test short
	done
	i=$((i > count ? count : i))
	if [ "$slow" -eq 0 ] && [ "$bad" -eq 0 ]; then
		ok "getent ahosts $name x$i: all answers complete, slowest ${max} ms"
	else
		fail "getent ahosts $name x$i: $slow lookup(s) took >= 2 s (slowest ${max} ms)," \
			"$bad missing address(es) (wanted $*)"
	fi
}

# queries TAG REGEX: DNS questions for names matching REGEX (or a subdomain) in capture TAG
queries() { cap_text "$1" | grep -cE "(A|AAAA)\? ([a-z0-9-]+\.)*$2\. "; }

nfq_start
# the same with the resolver reached over IPv4 and over IPv6
for res in "$ISP_ADDR4" "$ISP_ADDR6"; do
	note "resolver $res"
	echo "nameserver $res" >"/etc/netns/$NS_HOST/resolv.conf"
	vpn_addr=$VPN_ADDR4 host_addr=$HOST_ADDR4
	case $res in *:*) vpn_addr=$VPN_ADDR6 host_addr=$HOST_ADDR6 ;; esac
	dns_from=$(($(wc -l <"$LAB_TMP/dnsmasq.log") + 1))
	cap_start e0 eth0 "$NS_HOST" "port 53"
	cap_start wg "$WG_HOST" "$NS_HOST" "port 53"

	lookups github.com 10 "$(lab_addr github.com 4)" "$(lab_addr github.com 6)"
	lookups icanhazip.com 10 "$(lab_addr icanhazip.com 4)" "$(lab_addr icanhazip.com 6)"
	lookups ipv4.icanhazip.com 5 "$(lab_addr ipv4.icanhazip.com 4)"	# AAAA: NODATA
	lookups api64.ipify.org 10 "$(lab_addr api64.ipify.org 4)" "$(lab_addr api64.ipify.org 6)"
	lookups ifconfig.me 5 "$(lab_addr ifconfig.me 4)" "$(lab_addr ifconfig.me 6)"
	# curl through the system resolver (its own lookups), then the routes of the connections
	assert_via_vpn api.github.com
	assert_via_vpn github.com -6
	assert_via_vpn ipv4.icanhazip.com
	assert_direct api.ipify.org
	assert_direct ifconfig.me
	assert_direct ifconfig.me -6
	# a plain dig (one query per lookup)
	a=$(in_host dig +short +time=2 +tries=1 api.github.com A)
	assert_eq "dig api.github.com A" "$(lab_addr api.github.com 4)" "$a"
	# DNS over TCP: routed at its SYN, before the name is known, so it takes the tunnel
	a=$(in_host dig +tcp +short +time=2 +tries=1 api.github.com A)
	assert_eq "dig +tcp api.github.com A" "$(lab_addr api.github.com 4)" "$a"

	cap_stop e0 >/dev/null
	cap_stop wg >/dev/null
	r_e0=$(queries e0 "$ROUTED") o_e0=$(queries e0 "$OTHERS")
	r_wg=$(queries wg "$ROUTED") o_wg=$(queries wg "$OTHERS")
	note "queries on eth0: routed names $r_e0, other names $o_e0;" \
		"on $WG_HOST: routed names $r_wg, other names $o_wg"
	t_e0=$(cap_text e0 | grep -c "\.53: Flags \[S\]")
	assert_eq "TCP DNS connections on the ISP link" 0 "$t_e0"
	if [ "$r_e0" -eq 0 ]; then
		ok "no query for a routed name on the ISP link"
	else
		fail "$r_e0 queries for routed names on the ISP link (eth0):"
		cap_text e0 | grep -E "\? ([a-z0-9-]+\.)*$ROUTED\. " | head -n 10 | sed 's/^/#   /'
	fi
	if [ "$r_wg" -gt 0 ]; then
		ok "$r_wg queries for routed names through the tunnel"
	else
		fail "no query for a routed name through the tunnel"
	fi
	if [ "$o_e0" -gt 0 ] && [ "$o_wg" -eq 0 ]; then
		ok "names of other routes and unrouted names resolved directly ($o_e0 queries on eth0)"
	else
		fail "other names: $o_e0 queries on eth0, $o_wg through the tunnel (want > 0 and 0)"
		cap_show wg
	fi

	# the resolver's view: routed names asked from the VPN's address only
	dlog=$(tail -n +"$dns_from" "$LAB_TMP/dnsmasq.log")
	from_vpn=$(grep -cE "query\[[A-Z]+\] ([a-z0-9-]+\.)*$ROUTED from $vpn_addr" <<<"$dlog")
	from_host=$(grep -cE "query\[[A-Z]+\] ([a-z0-9-]+\.)*$ROUTED from $host_addr" <<<"$dlog")
	others_host=$(grep -cE "query\[[A-Z]+\] $OTHERS from $host_addr" <<<"$dlog")
	if [ "$from_vpn" -gt 0 ] && [ "$from_host" -eq 0 ] && [ "$others_host" -gt 0 ]; then
		ok "resolver: $from_vpn routed-name queries from $vpn_addr, none from host;" \
			"$others_host other queries from host"
	else
		fail "resolver: routed names from $vpn_addr: $from_vpn, from $host_addr: $from_host;" \
			"other names from $host_addr: $others_host"
		grep query <<<"$dlog" | tail -n 10 | sed 's/^/#   /'
	fi
done
nfq_stop
lab_result
