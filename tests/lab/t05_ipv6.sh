#!/bin/bash
# IPv6: a routed domain fetched over IPv6 is seen from the VPN's IPv6 address, an
# unrouted one from host's own IPv6 address.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
write_conf
nfq_start

assert_via_vpn icanhazip.com -6
assert_via_vpn ipv6.icanhazip.com -6	# AAAA only
assert_via_vpn github.com -6
assert_direct api64.ipify.org -6
assert_direct ifconfig.me -6
assert_via_vpn github.com -4		# same name, other family
# No family given: curl picks (normally IPv6); either way through the tunnel.
got=$(fetch github.com)
case $got in
"$VPN_ADDR6" | "$VPN_ADDR4") ok "github.com (any family) -> server saw $got" ;;
*) fail "github.com (any family): expected the VPN's address, server saw '${got:-nothing}'" ;;
esac
nfq_stop
lab_result
