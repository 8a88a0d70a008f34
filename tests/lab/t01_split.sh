#!/bin/bash
# Guide checks 1 and 2: a routed domain is seen from the VPN's address, any other domain
# from host's own address. After nfqroute stops, nothing is routed any more.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CONF_DOMAINS="icanhazip.com github.com" write_conf
nfq_start

assert_via_vpn ipv4.icanhazip.com	# subdomain of a routed domain
assert_via_vpn icanhazip.com		# the routed domain itself
assert_via_vpn github.com
assert_via_vpn api.github.com
assert_direct api.ipify.org		# not routed
assert_direct ifconfig.me
assert_direct notgithub.com		# suffix match stops at a label boundary
assert_via_vpn ipv4.icanhazip.com	# a second connection to a known address
assert_direct api.ipify.org

nfq_stop
assert_direct ipv4.icanhazip.com	# nothing routed once nfqroute is gone
lab_result
