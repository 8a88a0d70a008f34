#!/bin/bash
# Issue 4, periodic cache: learned mappings are saved every cache-interval (here the
# minimum, 10 s) as well as at stop, so even after a crash (SIGKILL: no save at stop) the
# next start routes an address learned before the last periodic save, by IP and without
# a DNS query. An address learned after that save is not known to the new instance.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CACHE=$LAB_TMP/state/cache
api4=$(lab_addr api.github.com 4)
ip4=$(lab_addr ipv4.icanhazip.com 4)
CONF_DOMAINS="github.com icanhazip.com" CONF_GLOBAL_EXTRA="cache-interval = 10" write_conf
nfq_start
t0=$(now_ms)
assert_via_vpn api.github.com		# learned now: in the save at t0 + 10 s
wait_for 13 test -s "$CACHE" || fail "no periodic cache save within 13 s"
[ -s "$CACHE" ] && ok "periodic save after $(($(now_ms) - t0)) ms: $(stat -c %s "$CACHE") bytes"
assert_via_vpn ipv4.icanhazip.com	# learned after the save
kill -KILL "$NFQ_PID"
wait "$NFQ_PID" 2>/dev/null
NFQ_PID=
note "nfqroute killed (SIGKILL)"

dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
nfq_start
got=$(fetch api.github.com -4 --resolve "api.github.com:80:$api4")
assert_eq "api.github.com by IP after the crash (periodic save): tunnel" "$VPN_ADDR4" "$got"
got=$(fetch ipv4.icanhazip.com -4 --resolve "ipv4.icanhazip.com:80:$ip4")
assert_eq "ipv4.icanhazip.com by IP (learned after the last save): direct" "$HOST_ADDR4" "$got"
n=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log" | grep -c 'query.* api.github.com ')
assert_eq "queries for api.github.com after the crash" 0 "$n"
nfq_stop
lab_result
