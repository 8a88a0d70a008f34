#!/bin/bash
# Issue 4, start-up resolution: the client resolved a configured name before nfqroute
# started (nfqroute never sees that reply). Exact names of the configuration (plain
# domains and full: rules) are resolved by nfqroute at start-up, through the tunnel, so
# the first connection by IP to such an address already goes through the tunnel.
# A control run with refresh = no (and no cache) shows the same connection going direct:
# the start-up lookup is what routes it. Names only covered by a suffix rule
# (api.github.com) are not resolved at start-up.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
gh4=$(lab_addr github.com 4)
gh6=$(lab_addr github.com 6)
ifc4=$(lab_addr ifconfig.me 4)
api4=$(lab_addr api.github.com 4)

# the client resolves before nfqroute runs
got=$(in_host dig +short +time=2 +tries=1 github.com A)
assert_eq "the client resolves github.com before nfqroute starts" "$gh4" "$got"
got=$(in_host dig +short +time=2 +tries=1 github.com AAAA)
assert_eq "the client resolves github.com AAAA before nfqroute starts" "$gh6" "$got"

# by_ip NAME ADDR [curl args]: NAME's cached answer ADDR, no DNS query
by_ip() {
	local n=$1 a=$2 r
	shift 2
	r=$a
	case $a in *:*) r="[$a]" ;; esac
	fetch "$n" --resolve "$n:80:$r" "$@"
}
check_by_ip() {	# NAME ADDR EXPECTED [curl args]
	local n=$1 a=$2 want=$3 got
	shift 3
	got=$(by_ip "$n" "$a" "$@")
	if [ "$got" = "$want" ]; then
		ok "$n by IP $a $*: server saw $got"
	else
		fail "$n by IP $a $*: expected the server to see $want, it saw '${got:-nothing}'"
	fi
}

note "control run: refresh = no, cache = none"
CONF_DOMAINS="github.com full:ifconfig.me" CONF_GLOBAL_EXTRA="refresh = no
cache = none" write_conf
nfq_start
check_by_ip github.com "$gh4" "$HOST_ADDR4" -4
nfq_stop

note "refresh = yes (default): exact names are resolved at start-up"
CONF_DOMAINS="github.com full:ifconfig.me" CONF_GLOBAL_EXTRA="cache = none" write_conf
dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
capture_start eth0 "$NS_HOST" "port 53"
nfq_start
check_by_ip github.com "$gh4" "$VPN_ADDR4" -4
check_by_ip github.com "$gh6" "$VPN_ADDR6" -6
check_by_ip ifconfig.me "$ifc4" "$VPN_ADDR4" -4	# full: rule
check_by_ip api.github.com "$api4" "$HOST_ADDR4" -4	# suffix only: not resolved at start-up
n=$(capture_stop)
assert_eq "DNS packets on host's eth0 (the start-up lookups go through the tunnel)" 0 "$n"
[ "$n" = 0 ] || capture_show
new_log=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log")
for q in "query\[A\] github.com" "query\[AAAA\] github.com" "query\[A\] ifconfig.me"; do
	if grep -q "$q from $VPN_ADDR4\$" <<<"$new_log"; then
		ok "the resolver saw the start-up lookup '${q//\\/}' through the tunnel"
	else
		fail "the resolver did not see '${q//\\/}' from $VPN_ADDR4"
	fi
done
if grep -q "api.github.com" <<<"$new_log"; then
	fail "api.github.com was looked up, though only a suffix rule covers it"
else
	ok "no lookup of api.github.com (suffix rule only)"
fi
if grep -q "resolved [0-9]* configured name" "$NFQ_LOG"; then
	ok "log: $(grep -o "resolved [0-9]* configured name.*" "$NFQ_LOG" | tail -n 1)"
else
	fail "no 'resolved N configured name(s) at start-up' in the log"
fi
nfq_stop

# Strict reverse-path filtering: the start-up lookups' answers come back through the
# tunnel and pass only with their route mark restored, so nfqroute's rules must be in
# place before it waits for them (else each answer is dropped and start-up takes the whole
# 3 s wait, with the lookups still pending).
note "rp_filter = 1"
rpf=$(in_host sysctl -n net.ipv4.conf.all.rp_filter)
set_rp_filter 1 || die "cannot set rp_filter"
CONF_DOMAINS="github.com" CONF_GLOBAL_EXTRA="cache = none" write_conf
t=$(now_ms)
nfq_start
el=$(($(now_ms) - t))
if [ "$el" -le 2000 ]; then
	ok "ready $el ms after the start with strict rp_filter (answers through the tunnel pass)"
else
	fail "ready only $el ms after the start with strict rp_filter"
	grep -E 'resolved|ready' "$NFQ_LOG" | tail -n 2 | sed 's/^/#   /'
fi
check_by_ip github.com "$gh4" "$VPN_ADDR4" -4
nfq_stop
set_rp_filter "$rpf"

# A resolver that never answers (silently dropped inside the tunnel) may delay start-up
# by the start-up wait for exact names (3 s, STARTUP_WAIT_MS in src/daemon_fresh.c) and
# no longer; once ready, verdicts do not wait for the pending lookups. (On a restart this
# wait is part of the gap in which no nfqroute rules exist.)
note "a dead resolver for the route's lookups"
ip -n "$NS_VPN" route add blackhole 10.99.8.99/32 || die "cannot add a blackhole route in vpn"
CONF_DOMAINS="github.com full:ifconfig.me icanhazip.com" CONF_GLOBAL_EXTRA="cache = none" \
	CONF_ROUTE_EXTRA="resolvers = 10.99.8.99" write_conf
t=$(now_ms)
nfq_start
el=$(($(now_ms) - t))
if [ "$el" -le 4000 ]; then
	ok "ready $el ms after the start with a dead resolver (start-up wait 3 s)"
else
	fail "ready only $el ms after the start with a dead resolver (start-up wait 3 s)"
	grep -E 'resolved|queue [0-9]+ bound|ready' "$NFQ_LOG" | tail -n 3 | sed 's/^/#   /'
fi
t=$(now_ms)
assert_via_vpn ipv4.icanhazip.com
note "fetch with lookups pending: $(($(now_ms) - t)) ms"
nfq_stop
lab_result
