#!/bin/bash
# Issue 4, TTL refresh: the lab resolver answers with a 2 s TTL. The client resolves a
# routed name once and connects; then the name's address changes at the resolver (new
# hosts file, SIGHUP) and the client never asks again. nfqroute re-resolves the name
# because it is in use (through the tunnel), so after the TTL a new connection to the NEW
# address, made by IP, goes through the tunnel. The OLD address lingers for the grace
# period (2 s) after its TTL and then no longer goes through the tunnel.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=moving.github.com			# under github.com: routed
OLD=203.0.113.60
NEW=203.0.113.61
TTL=2 GRACE=2
# the two addresses live in the "internet" (isp's lo, echo server) under unrouted names
LAB_HOSTS+=("old.moving.test $OLD" "new.moving.test $NEW")

lab_up
echo "$OLD $NAME" >"$LAB_TMP/moving.hosts"
lab_dns_restart "local-ttl=$TTL" "+addn-hosts=$LAB_TMP/moving.hosts"
ttl=$(in_host dig +noall +answer "$NAME" A | awk '{ print $2; exit }')
[ "$ttl" = "$TTL" ] || die "lab resolver answers $NAME with TTL '$ttl', not $TTL"

CONF_DOMAINS="github.com" CONF_GLOBAL_EXTRA="min-ttl = 1
grace = $GRACE" write_conf
nfq_start

# via NAME -> ADDR without a DNS query, like an application with a cached answer
seen_at() { FETCH_TIMEOUT=3 fetch "$NAME" -4 --resolve "$NAME:80:$1"; }
check_at() {	# DESC ADDR EXPECTED
	local got
	got=$(seen_at "$2")
	if [ "$got" = "$3" ]; then
		ok "$1: server saw $got (t0+$(($(now_ms) - t0)) ms)"
	else
		fail "$1: expected the server to see $3, it saw '${got:-nothing}'" \
			"(t0+$(($(now_ms) - t0)) ms)"
	fi
}

dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
t0=$(now_ms)
got=$(in_host dig +short +time=2 +tries=1 "$NAME" A)
assert_eq "the client resolves $NAME once" "$OLD" "$got"
check_at "first connection to the old address $OLD" "$OLD" "$VPN_ADDR4"

# the address behind the name changes; the client does not ask again
echo "$NEW $NAME" >"$LAB_TMP/moving.hosts"
kill -HUP "$LAB_DNS_PID"
wait_for 3 eval "[ \"\$(in_isp dig +short @$ISP_ADDR4 $NAME A)\" = $NEW ]" ||
	die "dnsmasq does not answer $NEW for $NAME after SIGHUP"
note "resolver now answers $NAME -> $NEW (t0+$(($(now_ms) - t0)) ms)"
# before any refresh (due at 80-90 % of the TTL) nfqroute cannot know the new address
if [ $(($(now_ms) - t0)) -lt 1400 ]; then
	check_at "the new address before the first refresh (not learned yet)" "$NEW" "$HOST_ADDR4"
else
	note "too late for the before-refresh check (t0+$(($(now_ms) - t0)) ms)"
fi

# after the TTL: refreshed through the tunnel, the new address is routed
lab_sleep_until "$t0" $((TTL * 1000 + 600))
check_at "new address $NEW by IP after the TTL" "$NEW" "$VPN_ADDR4"
# within the grace period the old address still lingers
lab_sleep_until "$t0" $((TTL * 1000 + 900))
el=$(($(now_ms) - t0))
if [ "$el" -lt $(((TTL + GRACE) * 1000 - 500)) ]; then
	check_at "old address $OLD within TTL + grace" "$OLD" "$VPN_ADDR4"
else
	note "too late for the within-grace check (t0+$el ms)"
fi
# after TTL + grace (+ margin) the old address is gone: direct
lab_sleep_until "$t0" $(((TTL + GRACE) * 1000 + 2000))
check_at "old address $OLD after TTL + grace" "$OLD" "$HOST_ADDR4"
check_at "new address $NEW still routed (kept refreshed while in use)" "$NEW" "$VPN_ADDR4"

# what the resolver saw: one query from the client, refreshes through the tunnel
new_log=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log")
from_client=$(grep -c "query\[A\] $NAME from $HOST_ADDR4\$" <<<"$new_log")
from_tunnel=$(grep -c "query\[A\] $NAME from $VPN_ADDR4\$" <<<"$new_log")
assert_eq "queries for $NAME from the client ($HOST_ADDR4)" 1 "$from_client"
if [ "$from_tunnel" -ge 1 ]; then
	ok "nfqroute re-resolved $NAME through the tunnel ($from_tunnel queries from $VPN_ADDR4)"
else
	fail "no re-resolution of $NAME seen by the resolver from $VPN_ADDR4"
	grep -F "$NAME" <<<"$new_log" | head -n 10 | sed 's/^/#   /'
fi
nfq_stop
lab_result
