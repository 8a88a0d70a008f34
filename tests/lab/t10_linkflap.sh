#!/bin/bash
# The tunnel interface goes down and up (ip link set, the interface stays). While down,
# routed traffic is dropped (blackhole), not leaked; when up, it goes through the tunnel
# again without restarting nfqroute.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
write_conf
nfq_start

assert_via_vpn ipv4.icanhazip.com
assert_via_vpn github.com -6

wg_link_down || abort "cannot set $WG_HOST down"
sleep 0.5
web4=$(lab_addr ipv4.icanhazip.com 4)
gh4=$(lab_addr github.com 4)
gh6=$(lab_addr github.com 6)
capture_start eth0 "$NS_HOST" "tcp port 80 and (host $web4 or host $gh4 or host $gh6)"
assert_blocked ipv4.icanhazip.com
assert_blocked github.com -4
assert_blocked github.com -6
n=$(capture_stop)
if [ "$n" -eq 0 ]; then
	ok "no packet to a routed web address on host's eth0 while the link is down"
else
	fail "$n packet(s) to routed web addresses left host's eth0 while the link was down (leak)"
	capture_show
fi
assert_direct api.ipify.org

wg_link_up || abort "cannot set $WG_HOST up"
if wait_seen ipv4.icanhazip.com "$VPN_ADDR4" 5 -4; then
	ok "ipv4.icanhazip.com goes through the tunnel again after link up"
else
	fail "ipv4.icanhazip.com not through the tunnel within 5 s of link up"
fi
if wait_seen github.com "$VPN_ADDR6" 5 -6; then
	ok "github.com -6 goes through the tunnel again after link up"
else
	fail "github.com -6 not through the tunnel within 5 s of link up"
fi
assert_direct api.ipify.org
if nfq_alive; then
	ok "nfqroute kept running"
else
	fail "nfqroute died"
fi
nfq_stop
lab_result
