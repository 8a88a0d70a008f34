#!/bin/bash
# Issue 4, restart without forgetting: nfqroute learns an address (the client resolves
# api.github.com, routed by the suffix rule github.com, so start-up resolution does not
# cover it), stops (SIGTERM: the cache is written) and starts again: a connection by IP to
# that address goes through the tunnel with no DNS query in between. TCP sessions opened
# before the restart keep working through it, still through the tunnel:
#   busy   sends a line every 100 ms throughout (like an interactive session, or the ACKs
#          of a download), so it also sends while no nfqroute runs;
#   quiet  pauses from just before the stop until nfqroute is ready again (only the
#          marking restored by the new instance matters for it).
# A control start with cache = none shows the cache is what carried the mapping.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

NAME=api.github.com
PORT=7000

lab_up
api4=$(lab_addr "$NAME" 4)
CACHE=$LAB_TMP/state/cache		# /var/lib/nfqroute/cache as nfqroute sees it

# a line echo server: answers every line with "PEER LINE"
cat >"$LAB_TMP/line_server.py" <<'EOF'
import socket, sys, threading
def serve(c, peer):
    f = c.makefile("rwb", buffering=0)
    for line in f:
        f.write(peer.encode() + b" " + line)
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("ready", flush=True)
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a[0]), daemon=True).start()
EOF
# the client: a line every 100 ms (none while PAUSEFILE exists), prints "EPOCH_MS REPLY"
# per answer, until STOPFILE exists; "ERROR ..." when the connection fails
cat >"$LAB_TMP/line_client.py" <<'EOF'
import os, socket, sys, time
addr, port, pause, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    c = socket.create_connection((addr, port), timeout=10)
    f = c.makefile("rwb", buffering=0)
    n = 0
    while not os.path.exists(stop):
        if os.path.exists(pause):
            time.sleep(0.05)
            continue
        n += 1
        f.write(b"seq %d\n" % n)
        r = f.readline()
        if not r:
            print("ERROR connection closed", flush=True)
            sys.exit(1)
        print("%d %s" % (time.time() * 1000, r.decode().strip()), flush=True)
        time.sleep(0.1)
    print("END %d" % n, flush=True)
except Exception as e:
    print("ERROR %r" % e, flush=True)
    sys.exit(1)
EOF
spawn "$NS_ISP" "$LAB_TMP/line-server.log" python3 "$LAB_TMP/line_server.py" "$api4" "$PORT"
wait_for 5 grep -qs ready "$LAB_TMP/line-server.log" ||
	die "line server did not start: $(cat "$LAB_TMP/line-server.log")"

# keep-blackhole: between stop and start, open connections keep their route mark and hit
# the route's blackhole (TCP retransmits after the restart) instead of leaving in clear
CONF_DOMAINS="github.com" CONF_ROUTE_EXTRA="keep-blackhole = yes" write_conf
nfq_start
assert_via_vpn "$NAME"			# the client resolves it: learned from its answer

note "two TCP sessions to $api4:$PORT, open across the restart"
session_start() {
	spawn "$NS_HOST" "$LAB_TMP/$1.out" python3 -u "$LAB_TMP/line_client.py" "$api4" "$PORT" \
		"$LAB_TMP/$1.pause" "$LAB_TMP/$1.stop"
	eval "PID_$1=\$SPAWNED"
}
session_start busy
session_start quiet
for s in busy quiet; do
	wait_for 5 eval "[ \$(grep -c '^[0-9]' $LAB_TMP/$s.out) -ge 3 ]" ||
		abort "session $s does not run: $(cat "$LAB_TMP/$s.out")"
	assert_eq "session $s: the server sees" "$VPN_ADDR4" \
		"$(awk '/^[0-9]/ { print $2; exit }' "$LAB_TMP/$s.out")"
done

cap_start dns eth0 "$NS_HOST" port 53
cap_start sess eth0 "$NS_HOST" tcp port "$PORT"
dns_lines_before=$(wc -l <"$LAB_TMP/dnsmasq.log")
touch "$LAB_TMP/quiet.pause"
sleep 0.3				# quiet's last answer is in
t_stop=$(now_ms)
nfq_stop
if [ -s "$CACHE" ]; then
	ok "cache written at stop: $(stat -c '%s bytes, mode %a' "$CACHE")"
	assert_eq "cache file mode" 600 "$(stat -c %a "$CACHE")"
else
	fail "no cache file at /var/lib/nfqroute/cache after SIGTERM"
fi
nfq_start
t_ready=$(now_ms)
rm -f "$LAB_TMP/quiet.pause"
note "restart took $((t_ready - t_stop)) ms"
if grep -q "restored [1-9][0-9]* learned address" "$NFQ_LOG"; then
	ok "log: $(grep -o 'restored [0-9]* learned address.*' "$NFQ_LOG" | tail -n 1)"
else
	fail "no 'restored N learned address(es)' in the log"
fi
got=$(fetch "$NAME" -4 --resolve "$NAME:80:$api4")
if [ "$got" = "$VPN_ADDR4" ]; then
	ok "$NAME by IP $api4 after the restart: server saw $got"
else
	fail "$NAME by IP $api4 after the restart: expected $VPN_ADDR4, server saw '${got:-nothing}'"
fi

# the sessions go on after the restart
for s in busy quiet; do
	wait_for 6 eval "[ \$(awk -v t=$t_ready '/^[0-9]/ && \$1 > t + 300' $LAB_TMP/$s.out |
		wc -l) -ge 5 ] || grep -q '^ERROR' $LAB_TMP/$s.out"
done
for s in busy quiet; do
	touch "$LAB_TMP/$s.stop"
	pid_var=PID_$s
	wait_for 3 eval "! kill -0 ${!pid_var} 2>/dev/null"
	out=$LAB_TMP/$s.out
	after=$(awk -v t="$t_ready" '/^[0-9]/ && $1 > t' "$out" | wc -l)
	gap=$(awk '/^[0-9]/ { if (p && $1 - p > g) g = $1 - p; p = $1 } END { printf "%d", g }' "$out")
	if [ "$after" -ge 5 ] && ! grep -q '^ERROR' "$out"; then
		ok "session $s kept working: $after answers after the restart (longest pause $gap ms)"
	else
		fail "session $s did not survive the restart: $after answers after it;" \
			"$(grep '^ERROR' "$out")"
		tail -n 3 "$out" | sed 's/^/#   /'
	fi
	peers=$(awk '/^[0-9]/ { print $2 }' "$out" | sort | uniq -c | tr -s ' ')
	assert_eq "session $s: every answer came through the tunnel (count peer)" \
		"$(grep -c '^[0-9]' "$out") $VPN_ADDR4" "${peers# }"
done

cap_stop dns >/dev/null
cap_stop sess >/dev/null
n=$(cap_text dns | grep -c "$NAME")
assert_eq "DNS packets for $NAME on host's eth0 across the restart" 0 "$n"
n=$(tail -n +"$((dns_lines_before + 1))" "$LAB_TMP/dnsmasq.log" | grep -c "query.* $NAME from")
assert_eq "queries for $NAME at the resolver across the restart" 0 "$n"
# session packets on the ISP link (they belong in the tunnel): in the gap and after
n=$(cap_text sess | wc -l)
assert_eq "session packets on host's eth0 (outside the tunnel) across the restart" 0 "$n"
[ "$n" -eq 0 ] || {
	note "t_stop=$t_stop t_ready=$t_ready (ms since the epoch)"
	tcpdump -tt -n -r "${CAPS_FILE[sess]}" 2>/dev/null | head -n 6 | sed 's/^/#   /'
}
nfq_stop

note "control: the same start with cache = none"
CONF_DOMAINS="github.com" CONF_GLOBAL_EXTRA="cache = none" write_conf
nfq_start
got=$(fetch "$NAME" -4 --resolve "$NAME:80:$api4")
assert_eq "$NAME by IP without the cache: direct" "$HOST_ADDR4" "$got"
nfq_stop
lab_result
