#!/bin/bash
# Another program removes nfqroute's rules: a firewall restart's `nft flush ruleset`, an
# `nft delete table inet nfqroute`, an `nft flush table inet nfqroute`. nfqroute puts its
# table back at once, so routed connections keep going through the tunnel instead of
# leaving in clear (without it the next connection to a routed name would leak: checked
# right after each removal, from the address the server saw).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
write_conf
nfq_start
assert_via_vpn github.com

table_ok() { in_host nft list chain inet nfqroute output 2>/dev/null | grep -q queue; }

for cmd in "flush ruleset" "delete table inet nfqroute" "flush table inet nfqroute" \
	"flush ruleset"; do
	in_host nft "$cmd" || die "nft $cmd failed"
	if wait_for 2 table_ok; then
		ok "after 'nft $cmd' the table is back"
	else
		fail "after 'nft $cmd' the table did not come back"
	fi
	assert_via_vpn api.github.com	# a new connection of a routed name
	in_host conntrack -F >/dev/null 2>&1	# the next check needs a new connection again
done
# a firewall reloaded again and again: every time back within 0.2 s (not once a second)
slow=0
for i in $(seq 1 8); do
	in_host nft flush ruleset
	t=$(now_ms)
	while ! table_ok && [ $(($(now_ms) - t)) -lt 2000 ]; do sleep 0.01; done
	el=$(($(now_ms) - t))
	[ "$el" -le 200 ] || { slow=$((slow + 1)); note "flush $i: back after $el ms"; }
	sleep 0.3
done
assert_eq "rapid flushes: times the table took longer than 0.2 s to come back" 0 "$slow"
assert_via_vpn api.github.com
if grep -q "put back" "$NFQ_LOG"; then
	ok "log: $(grep -m1 "changed by pid" "$NFQ_LOG" | sed 's/.*warning: //')"
else
	fail "no 'put back' in the log"
fi
nfq_alive && ok "nfqroute still running" || fail "nfqroute died"
nfq_stop
if in_host nft list table inet nfqroute >/dev/null 2>&1; then
	fail "table left after stop"
else
	ok "no table after stop"
fi
lab_result
