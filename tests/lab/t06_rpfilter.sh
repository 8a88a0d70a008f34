#!/bin/bash
# Reverse path filtering: with strict rp_filter (1) the replies of a routed connection
# arrive on the tunnel while the main table points back out eth0; the connection must
# still complete. The same checks with rp_filter 0.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
write_conf
for rp in 1 0; do
	note "rp_filter = $rp (all, default, lo, eth0, $WG_HOST)"
	set_rp_filter "$rp" || abort "cannot set rp_filter"
	nfq_start
	assert_via_vpn ipv4.icanhazip.com
	assert_via_vpn github.com
	assert_via_vpn github.com -6
	assert_direct api.ipify.org
	assert_direct api64.ipify.org -6
	for k in all "$WG_HOST"; do
		v=$(in_host sysctl -n "net.ipv4.conf.$k.rp_filter")
		assert_eq "net.ipv4.conf.$k.rp_filter left as set while nfqroute runs" "$rp" "$v"
	done
	nfq_stop
done
lab_result
