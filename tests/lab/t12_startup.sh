#!/bin/bash
# Start-up edge cases: a bad configuration exits 2 naming FILE:LINE and installs nothing;
# a route whose interface does not exist yet is waited for (its traffic is blackholed
# meanwhile, never leaked) and works as soon as the interface appears.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
before=$LAB_TMP/before
after=$LAB_TMP/after
host_snapshot "$before"

bad=$LAB_TMP/bad.conf
write_conf "$bad"
printf 'mark = 0x10000\n' >>"$bad"	# a second mark key, outside mark-mask anyway
line=$(wc -l <"$bad")
out=$(ip netns exec "$NS_HOST" "$NFQROUTE" run -c "$bad" 2>&1)
rc=$?
assert_eq "exit status for a bad configuration" 2 "$rc"
if grep -q "$bad:$line:" <<<"$out"; then
	ok "error names the file and line: $out"
else
	fail "error does not name $bad:$line: '$out'"
fi
host_snapshot "$after"
if snapshot_diff "$before" "$after"; then
	ok "nothing installed by a refused configuration"
else
	fail "a refused configuration changed the host"
fi

# The tunnel interface does not exist when nfqroute starts.
wg_down || abort "cannot delete $WG_HOST"
write_conf
nfq_start
web4=$(lab_addr ipv4.icanhazip.com 4)
capture_start eth0 "$NS_HOST" "tcp port 80 and host $web4"
assert_blocked ipv4.icanhazip.com
n=$(capture_stop)
assert_eq "packets to the routed address on eth0 while the interface is missing" 0 "$n"
assert_direct api.ipify.org
wg_up || abort "cannot create $WG_HOST"
if wait_seen ipv4.icanhazip.com "$VPN_ADDR4" 5 -4; then
	ok "routed through the interface once it appeared"
else
	fail "not routed through $WG_HOST within 5 s of its creation"
fi
nfq_stop
lab_result
