#!/bin/bash
# Guide 003 (a host with two ISPs): a connection that arrives on the second uplink (eth1)
# is answered through it. A client behind isp2 (198.51.100.10, only isp2 routes to it)
# calls a server on host's eth1 address. Without nfqroute the answers follow the main
# table out of eth0 (asymmetric: the client gets nothing, a capture sees the replies on
# eth0). With `inbound-interface = eth1` in a route whose table leads out of eth1 the client
# gets its answers, from the address it called, and nothing of it leaves eth0; host's own
# connections are not affected. With rp_filter 2 (loose) and 1 (strict). IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

IN_TABLE=200
IN_MARK=0x200
LAB_DUMP_TABLES=$IN_TABLE

lab_up
lab_add_isp2
# servers in host: on eth1's addresses (called from isp2's side) and on eth0's (from isp)
lab_echo "$NS_HOST" web-host "$ISP2_HOST4" "$ISP2_HOST6" "$HOST_ADDR4" "$HOST_ADDR6"

# Each phase calls from its own client port range, so that a capture only counts the
# phase's own packets (host keeps retransmitting the SYN-ACKs of a call that failed).
PHASE=0
next_phase() {
	PHASE=$((PHASE + 1))
	PORTS=$((30000 + PHASE * 1000))-$((30000 + PHASE * 1000 + 499))
}

# call FAMILY: the isp2-side client calls host's eth1 address; prints what the server saw
call() {
	if [ "$1" = -6 ]; then
		FETCH_NS=$NS_ISP2 fetch "[$ISP2_HOST6]" --interface "$ISP2_CLIENT6" --local-port "$PORTS"
	else
		FETCH_NS=$NS_ISP2 fetch "$ISP2_HOST4" --interface "$ISP2_CLIENT4" --local-port "$PORTS"
	fi
}

# check_answered: the client gets answers through eth1, none of them leaves eth0
check_answered() {
	local fam want got n0 n1
	next_phase
	cap_start e0 eth0 "$NS_HOST" "(host $ISP2_CLIENT4 or host $ISP2_CLIENT6) and portrange $PORTS"
	cap_start e1 eth1 "$NS_HOST" \
		"tcp and (src host $ISP2_HOST4 or src host $ISP2_HOST6) and portrange $PORTS"
	for fam in -4 -6; do
		want=$ISP2_CLIENT4
		[ "$fam" = -6 ] && want=$ISP2_CLIENT6
		got=$(call "$fam")
		assert_eq "isp2-side client $fam calling host's eth1 address: server saw" "$want" "$got"
	done
	n0=$(cap_stop e0)
	n1=$(cap_stop e1)
	if [ "$n0" -eq 0 ]; then
		ok "no packet to or from the isp2-side client on eth0"
	else
		fail "$n0 packet(s) to or from the isp2-side client on eth0 (replies took the main table)"
		cap_show e0
	fi
	if [ "$n1" -gt 0 ]; then
		ok "$n1 reply packet(s) from host's eth1 address on eth1"
	else
		fail "no reply packet from host's eth1 address on eth1"
	fi
}

# check_asymmetric WHY: the client gets nothing, host's replies are seen on eth0
check_asymmetric() {
	local got n0
	next_phase
	cap_start e0 eth0 "$NS_HOST" \
		"tcp and (dst host $ISP2_CLIENT4 or dst host $ISP2_CLIENT6) and portrange $PORTS"
	got=$(FETCH_TIMEOUT=2 call -4)
	got=$got$(FETCH_TIMEOUT=2 call -6)
	n0=$(cap_stop e0)
	if [ -z "$got" ] && [ "$n0" -gt 0 ]; then
		ok "$1: the client gets no answer, $n0 reply packet(s) left through eth0"
	else
		fail "$1: expected no answer and replies on eth0; the client got '$got'," \
			"$n0 reply packet(s) on eth0"
		cap_show e0
	fi
}

check_asymmetric "without nfqroute"

CONF_DOMAINS="github.com" write_conf
cat >>"$LAB_CONF" <<EOF

[route isp2]
interface = eth1
gateway = $ISP2_GW4 $ISP2_GW6
table = $IN_TABLE
mark = $IN_MARK
inbound-interface = eth1
EOF
for rp in 2 1; do
	note "rp_filter = $rp"
	set_rp_filter "$rp" || abort "cannot set rp_filter"
	nfq_start
	check_answered
	# connections arriving on eth0 are still answered through eth0
	assert_eq "isp-side client calling host's eth0 address: server saw" "$ISP_ADDR4" \
		"$(FETCH_NS=$NS_ISP fetch "$HOST_ADDR4")"
	assert_eq "isp-side client calling host's eth0 address -6: server saw" "$ISP_ADDR6" \
		"$(FETCH_NS=$NS_ISP fetch "[$HOST_ADDR6]")"
	# host's own connections keep their routes
	assert_direct api.ipify.org
	assert_direct api64.ipify.org -6
	assert_via_vpn github.com
	nfq_stop
done
set_rp_filter "$LAB_RP_FILTER"

check_asymmetric "after nfqroute stopped"
lab_result
