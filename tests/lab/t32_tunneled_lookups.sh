#!/bin/bash
# Issue 4, tunneled lookups: nfqroute's own lookups (start-up resolution and refresh) for
# names of a tunneled route leave with the route's mark, through the tunnel; a capture on
# host's ISP link (eth0) sees no DNS query for a routed name except the client's own.
#  A. The route has `resolvers = 10.99.8.53`, a resolver on the VPN server that host can
#     reach only through the tunnel (no route to it in host's main table: in the clear it
#     would go to isp, which drops it). It alone knows secret.github.com, a full: name.
#  B. No route resolvers, global `resolvers = 10.99.1.1` (the ISP's resolver): lookups for
#     routed names still go through the tunnel (the resolver sees the VPN's address).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TUN_DNS=10.99.8.53
SECRET=secret.github.com
SECRET4=203.0.113.62
LAB_HOSTS+=("secret.addr.test $SECRET4")	# the address lives in the "internet"

lab_up
ip -n "$NS_VPN" addr add "$TUN_DNS/32" dev lo || die "cannot add $TUN_DNS in vpn"
lab_dns_start "$NS_VPN" dnsmasq-vpn "listen-address=$TUN_DNS" local-ttl=2 \
	"+host-record=$SECRET,$SECRET4"
lab_dns_restart local-ttl=2
! in_host dig +short +time=1 +tries=1 "$SECRET" A | grep -qE '^[0-9.]+$' ||
	die "the ISP resolver knows $SECRET"
! in_host dig +short +time=1 +tries=1 "@$TUN_DNS" github.com A | grep -qE '^[0-9.]+$' ||
	die "$TUN_DNS is reachable from host without the tunnel"
api4=$(lab_addr api.github.com 4)
ip4=$(lab_addr ipv4.icanhazip.com 4)

check_by_ip() {	# NAME ADDR EXPECTED
	local got
	got=$(fetch "$1" -4 --resolve "$1:80:$2")
	if [ "$got" = "$3" ]; then
		ok "$1 by IP $2: server saw $got"
	else
		fail "$1 by IP $2: expected the server to see $3, it saw '${got:-nothing}'"
	fi
}

# dns_queries_on_eth0 TAG: the DNS queries of a capture, one "SRC NAME" per line
dns_queries() {
	cap_text "$1" | sed -n 's/.* IP6\{0,1\} \([^ ]*\)\.[0-9]* > [^ ]*\.53: .* A\{1,4\}? \([^ ]*\)\. .*/\1 \2/p'
}

# ---- A: route resolvers inside the tunnel
note "A: [route vpn] resolvers = $TUN_DNS (reachable only through the tunnel)"
CONF_DOMAINS="github.com full:$SECRET" CONF_GLOBAL_EXTRA="min-ttl = 1
cache = none" CONF_ROUTE_EXTRA="resolvers = $TUN_DNS" write_conf
cap_start a eth0 "$NS_HOST" port 53
nfq_start
check_by_ip "$SECRET" "$SECRET4" "$VPN_ADDR4"	# learned at start-up from the tunnel resolver
got=$(in_host dig +short +time=2 +tries=1 api.github.com A)
assert_eq "the client resolves api.github.com (its own query, through the ISP)" "$api4" "$got"
t0=$(now_ms)
check_by_ip api.github.com "$api4" "$VPN_ADDR4"
# in use: refreshed at 80-90 % of the 2 s TTL, from the tunnel resolver
lab_sleep_until "$t0" 4500
check_by_ip api.github.com "$api4" "$VPN_ADDR4"
cap_stop a >/dev/null
q=$(dns_queries a)
assert_eq "DNS queries on host's eth0: only the client's" "$HOST_ADDR4 api.github.com" "$q"
[ "$q" = "$HOST_ADDR4 api.github.com" ] || cap_show a
vlog=$(cat "$LAB_TMP/dnsmasq-vpn.log")
for n in "$SECRET" github.com api.github.com; do
	c=$(grep -c "query\[A\] $n from $HOST_WG4\$" <<<"$vlog")
	if [ "$c" -ge 1 ]; then
		ok "the tunnel resolver saw $c lookup(s) of $n from $HOST_WG4"
	else
		fail "the tunnel resolver saw no lookup of $n from $HOST_WG4"
	fi
done
c=$(grep -c "query\[A\] api.github.com from $HOST_WG4\$" <<<"$vlog")
if [ "$c" -ge 2 ]; then
	ok "api.github.com refreshed repeatedly ($c times) while in use"
else
	fail "api.github.com refreshed $c time(s) in 4.5 s with a 2 s TTL, expected at least 2"
fi
nfq_stop

# ---- B: global resolvers = the ISP's, lookups still tunneled
note "B: [global] resolvers = $ISP_ADDR4, no route resolvers"
CONF_DOMAINS="github.com icanhazip.com" CONF_GLOBAL_EXTRA="min-ttl = 1
cache = none
resolvers = $ISP_ADDR4" write_conf
dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
cap_start b eth0 "$NS_HOST" port 53
nfq_start
got=$(in_host dig +short +time=2 +tries=1 ipv4.icanhazip.com A)
assert_eq "the client resolves ipv4.icanhazip.com" "$ip4" "$got"
t0=$(now_ms)
check_by_ip ipv4.icanhazip.com "$ip4" "$VPN_ADDR4"
lab_sleep_until "$t0" 2500
check_by_ip ipv4.icanhazip.com "$ip4" "$VPN_ADDR4"
cap_stop b >/dev/null
q=$(dns_queries b)
assert_eq "DNS queries on host's eth0: only the client's" "$HOST_ADDR4 ipv4.icanhazip.com" "$q"
[ "$q" = "$HOST_ADDR4 ipv4.icanhazip.com" ] || cap_show b
ilog=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log")
for n in github.com icanhazip.com ipv4.icanhazip.com; do
	c=$(grep -c "query\[A\] $n from $VPN_ADDR4\$" <<<"$ilog")
	if [ "$c" -ge 1 ]; then
		ok "the ISP resolver saw $c lookup(s) of $n through the tunnel ($VPN_ADDR4)"
	else
		fail "the ISP resolver saw no lookup of $n from $VPN_ADDR4"
	fi
done
nfq_stop
lab_result
