#!/bin/bash
# A burst of SIGHUPs (50 a second for 4 s, e.g. a config manager gone wild) does not stop
# nfqroute from deciding connections: reloads closer than a second are coalesced, and
# every fetch during the burst is answered, routed the right way. That also needs reloads
# that keep nfqroute's base chains registered: replacing them unregisters hooks, and the
# kernel then drops every packet waiting in a queue (a DNS reply lost costs the client a
# 5 s retry). The burst's last reload still happens: a domain added to the file just
# before the burst is routed after.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CONF_DOMAINS="github.com" write_conf
nfq_start
assert_direct ifconfig.me
sed -i 's/^domains = github.com$/domains = github.com ifconfig.me/' "$LAB_CONF"
(
	for _ in $(seq 1 200); do
		kill -HUP "$NFQ_PID" 2>/dev/null || exit 0
		sleep 0.02
	done
) &
storm=$!
bad=0 n=0
t_end=$(($(now_ms) + 3500))
while [ "$(now_ms)" -lt "$t_end" ]; do
	got=$(FETCH_TIMEOUT=2 fetch api.github.com -4)
	n=$((n + 1))
	[ "$got" = "$VPN_ADDR4" ] || { bad=$((bad + 1)); note "fetch $n during the burst: '${got:-nothing}'"; }
done
wait "$storm"
if [ "$bad" -eq 0 ] && [ "$n" -ge 3 ]; then
	ok "all $n fetches during the SIGHUP burst answered through the tunnel"
else
	fail "$bad of $n fetches during the SIGHUP burst failed or went the wrong way"
fi
sleep 1.2	# the coalesced last reload
reloads=$(grep -c "reloading " "$NFQ_LOG")
note "reloads during the burst of 200 signals: $reloads"
assert_via_vpn ifconfig.me	# added before the burst: the last reload took it
nfq_alive && ok "nfqroute still running" || fail "nfqroute died"
nfq_stop
lab_result
