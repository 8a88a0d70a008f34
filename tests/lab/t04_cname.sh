#!/bin/bash
# CNAME chains: a routed alias whose target is not configured is routed; a configured
# target asked for through an unconfigured alias is routed; neither configured -> direct.
#   www.cdn-alias.test -> www.cdn-alias.test.edgekey.test -> edge.cdn.test (A, AAAA)
#   downloads.example.net -> edge.fastcdn.test
#   www.example.net -> edge.othercdn.test
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CONF_DOMAINS="cdn-alias.test edge.fastcdn.test" write_conf
nfq_start

assert_via_vpn www.cdn-alias.test
assert_via_vpn www.cdn-alias.test -6
assert_via_vpn downloads.example.net
assert_via_vpn downloads.example.net -6
assert_direct www.example.net
assert_direct www.example.net -6
assert_direct ipv4.icanhazip.com
nfq_stop
lab_result
