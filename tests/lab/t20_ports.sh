#!/bin/bash
# Guides 001/002 (SMTP through the cheaper gateway): a route selected by destination port,
# `ports = tcp:25 udp:5000-5100`, with `gateway` + `interface` (a second uplink, eth1 via
# isp2). tcp/25 and udp/5050 to any host leave through eth1 (the server sees host's eth1
# address), tcp/80 and udp/5200 to the same hosts do not; ports take precedence over
# domains (tcp/25 to a tunneled domain still takes eth1). IPv4 and IPv6.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SMTP_TABLE=200
SMTP_MARK=0x200
LAB_DUMP_TABLES=$SMTP_TABLE

lab_up
lab_add_isp2
lab_web_ports --port 25 --udp-port 5050 --udp-port 5200

CONF_DOMAINS="github.com icanhazip.com" write_conf
cat >>"$LAB_CONF" <<EOF

[route smtp]
interface = eth1
gateway = $ISP2_GW4 $ISP2_GW6
table = $SMTP_TABLE
mark = $SMTP_MARK
masquerade = yes
ports = tcp:25 udp:5000-5100
EOF
nfq_start

ipify4=$(lab_addr api.ipify.org 4)
ipify6=$(lab_addr api64.ipify.org 6)

# count TAG PORT: packets of capture TAG to or from PORT
count() { cap_text "$1" | grep -cE "\.$2( >|:)"; }

# assert_udp ADDR PORT WANT
assert_udp() {
	local got rc
	got=$(udp_ask "$NS_HOST" "$1" "$2")
	rc=$?
	if [ "$got" = "$3" ]; then
		ok "udp/$2 to $1 -> server saw $got"
	else
		fail "udp/$2 to $1: expected the server to see $3, it saw '${got:-nothing}' (exit $rc)"
	fi
}

filter="tcp port 25 or tcp port 80 or udp port 5050 or udp port 5200"
cap_start e0 eth0 "$NS_HOST" "$filter"
cap_start e1 eth1 "$NS_HOST" "$filter"

note "tcp/25 takes the second uplink, whatever the destination"
assert_seen api.ipify.org:25 "$ISP2_HOST4" -4
assert_seen api64.ipify.org:25 "$ISP2_HOST6" -6
assert_seen github.com:25 "$ISP2_HOST4" -4	# a tunneled domain: ports come first
assert_seen github.com:25 "$ISP2_HOST6" -6

note "tcp/80 to the same hosts does not"
assert_direct api.ipify.org
assert_direct api64.ipify.org -6
assert_via_vpn github.com
assert_via_vpn github.com -6

note "udp/5000-5100 takes the second uplink, udp/5200 does not"
assert_udp "$ipify4" 5050 "$ISP2_HOST4"
assert_udp "$ipify6" 5050 "$ISP2_HOST6"
assert_udp "$ipify4" 5200 "$HOST_ADDR4"
assert_udp "$ipify6" 5200 "$HOST_ADDR6"

cap_stop e0 >/dev/null
cap_stop e1 >/dev/null
e0_25=$(count e0 25) e0_80=$(count e0 80) e0_5050=$(count e0 5050) e0_5200=$(count e0 5200)
e1_25=$(count e1 25) e1_80=$(count e1 80) e1_5050=$(count e1 5050) e1_5200=$(count e1 5200)
note "capture eth0: tcp/25 $e0_25, tcp/80 $e0_80, udp/5050 $e0_5050, udp/5200 $e0_5200 packets"
note "capture eth1: tcp/25 $e1_25, tcp/80 $e1_80, udp/5050 $e1_5050, udp/5200 $e1_5200 packets"
if [ "$e1_25" -gt 0 ] && [ "$e0_25" -eq 0 ] && [ "$e1_5050" -gt 0 ] && [ "$e0_5050" -eq 0 ]; then
	ok "tcp/25 and udp/5050 seen on eth1 only"
else
	fail "tcp/25 and udp/5050 must be seen on eth1 only"
	cap_show e0
	cap_show e1
fi
if [ "$e1_80" -eq 0 ] && [ "$e0_80" -gt 0 ] && [ "$e1_5200" -eq 0 ] && [ "$e0_5200" -gt 0 ]; then
	ok "tcp/80 and udp/5200 seen on eth0 only"
else
	fail "tcp/80 and udp/5200 must be seen on eth0 only"
	cap_show e1
fi

nfq_stop
assert_seen api.ipify.org:25 "$HOST_ADDR4" -4	# nothing diverted once nfqroute is gone
lab_result
