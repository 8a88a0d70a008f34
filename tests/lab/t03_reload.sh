#!/bin/bash
# Guide check 4: a domain added to the configuration takes effect on SIGHUP for new
# connections; a domain removed stops being routed. A broken configuration on SIGHUP is
# rejected: the daemon keeps running and routing with the old one.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CONF_DOMAINS="icanhazip.com github.com" write_conf
nfq_start

assert_via_vpn ipv4.icanhazip.com
assert_direct api.ipify.org
assert_direct api64.ipify.org -6

note "adding ipify.org, removing github.com"
CONF_DOMAINS="icanhazip.com ipify.org" write_conf
nfq_reload
if wait_seen api.ipify.org "$VPN_ADDR4" 5 -4; then
	ok "api.ipify.org goes through the tunnel after the reload"
else
	fail "api.ipify.org not through the tunnel within 5 s of the reload"
fi
assert_via_vpn api.ipify.org
assert_via_vpn api64.ipify.org -6
assert_via_vpn ipv4.icanhazip.com
assert_direct github.com
assert_direct ifconfig.me

note "reloading a broken configuration"
cp "$LAB_CONF" "$LAB_TMP/good.conf"
CONF_DOMAINS="icanhazip.com ipify.org ifconfig.me" \
	CONF_ROUTE_EXTRA="mark = not-a-mark" write_conf
nfq_reload
sleep 1
if nfq_alive; then
	ok "nfqroute still running after SIGHUP with a broken configuration"
else
	abort "nfqroute exited after SIGHUP with a broken configuration"
fi
assert_via_vpn api.ipify.org
assert_via_vpn ipv4.icanhazip.com
assert_direct ifconfig.me		# only in the broken file
assert_direct github.com
cp "$LAB_TMP/good.conf" "$LAB_CONF"
nfq_stop
lab_result
