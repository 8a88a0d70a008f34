#!/bin/bash
# Issue 4, refresh under max-ttl: the lab resolver answers with TTL 300, nfqroute caps it
# with max-ttl = 2, so a learned address expires after 2 s (+ grace 1 s). A name in use
# must be re-resolved before that capped TTL runs out, again and again, so that
# connections by IP to its address (an application's cached answer, TTL 300 for it) keep
# going through the tunnel.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=api.github.com

lab_up
api4=$(lab_addr "$NAME" 4)
CONF_DOMAINS="github.com" CONF_GLOBAL_EXTRA="min-ttl = 1
max-ttl = 2
grace = 1
cache = none" write_conf
nfq_start

check_at() {	# DESC EXPECTED
	local got
	got=$(fetch "$NAME" -4 --resolve "$NAME:80:$api4")
	if [ "$got" = "$2" ]; then
		ok "$1: server saw $got (t0+$(($(now_ms) - t0)) ms)"
	else
		fail "$1: expected the server to see $2, it saw '${got:-nothing}'" \
			"(t0+$(($(now_ms) - t0)) ms)"
	fi
}

dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
t0=$(now_ms)
got=$(in_host dig +noall +answer +time=2 +tries=1 "$NAME" A | awk '{ print $2, $5; exit }')
assert_eq "the client resolves $NAME (TTL, address)" "300 $api4" "$got"
check_at "$NAME by IP right away" "$VPN_ADDR4"
lab_sleep_until "$t0" 2500
check_at "$NAME by IP after the capped TTL (refreshed at 80-90 % of it)" "$VPN_ADDR4"
lab_sleep_until "$t0" 6500
check_at "$NAME by IP after three capped TTLs (still in use: refreshed again)" "$VPN_ADDR4"
c=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log" |
	grep -c "query\[A\] $NAME from $VPN_ADDR4\$")
if [ "$c" -ge 3 ]; then
	ok "$NAME re-resolved $c times in 6.5 s (capped TTL 2 s)"
else
	fail "$NAME re-resolved $c time(s) in 6.5 s, expected about 3 (every 1.6-1.8 s)"
fi
nfq_stop
lab_result
