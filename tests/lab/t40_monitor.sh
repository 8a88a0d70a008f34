#!/bin/bash
# `nfqroute monitor`: a routed connection shows up as one line with its domain and route
# (text, -n, and --json that parses), filters select, -c ends the stream; a monitor that
# never reads loses lines but does not slow the packet path (connect latency and the
# queue's verdict counter with and without it).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# ctl ARGS...: the CLI against the daemon of this lab (host's private /run/nfqroute).
ctl() { in_host_nfq "$NFQROUTE" "$@"; }

# jget EXPR: a value from the JSON document on stdin (EXPR in Python, the document is d).
jget() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# monitor_start FILE ARGS...: `nfqroute monitor ARGS` in the background into FILE; returns
# once the daemon counts one more monitor. Its pid is in $MON_PID.
MON_PID=
monitor_start() {
	local out=$1 before
	shift
	before=$(ctl status --json | jget 'd["control"]["monitors"]')
	(nfq_exec "$NFQROUTE" monitor "$@") >"$out" 2>"$out.err" &
	MON_PID=$!
	LAB_PIDS+=("$MON_PID")
	wait_for 5 eval "[ \"\$(ctl status --json | jget 'd[\"control\"][\"monitors\"]')\" -gt $before ]" ||
		fail "monitor $* did not attach: $(cat "$out.err")"
}

# monitor_wait: waits (5 s at most) for the monitor started last to exit; its status.
monitor_wait() {
	if ! wait_for 5 eval "! kill -0 $MON_PID 2>/dev/null"; then
		kill "$MON_PID" 2>/dev/null
		wait "$MON_PID" 2>/dev/null
		return 124
	fi
	wait "$MON_PID"
}

lab_up
write_conf
nfq_start
web=$(lab_addr ipv4.icanhazip.com 4)

# ---- one line per decision, with domain and route
out=$LAB_TMP/mon-text
monitor_start "$out" -c 1 proto tcp and domain icanhazip.com
assert_via_vpn ipv4.icanhazip.com
monitor_wait
assert_eq "monitor -c 1 exit status" 0 "$?"
line=$(cat "$out")
if grep -Eq "^[0-9:.]+ IP $HOST_ADDR4\.[0-9]+ > ${web//./\\.}\.(http|80): tcp ipv4\.icanhazip\.com -> vpn \(mark 0x100, learned" <<<"$line"; then
	ok "monitor line: $line"
else
	fail "monitor line lacks the flow to ipv4.icanhazip.com via vpn: '$line' ($(cat "$out.err"))"
fi

out=$LAB_TMP/mon-numeric
monitor_start "$out" -n -c 1 route vpn and proto tcp
assert_via_vpn ipv4.icanhazip.com
monitor_wait
if grep -q "> $web\.80: tcp ipv4\.icanhazip\.com -> vpn" "$out"; then
	ok "monitor -n keeps ports numeric: $(cat "$out")"
else
	fail "monitor -n line: '$(cat "$out")'"
fi

# filters: an unrouted connection does not match `route vpn`, a routed one does
out=$LAB_TMP/mon-filter
monitor_start "$out" -c 1 route vpn and proto tcp
assert_direct api.ipify.org
assert_via_vpn icanhazip.com
monitor_wait
if [ "$(wc -l <"$out")" = 1 ] && grep -q "tcp icanhazip\.com -> vpn" "$out" &&
	! grep -q ipify "$out"; then
	ok "filter route vpn: only the routed connection ($(cat "$out"))"
else
	fail "filter route vpn: '$(cat "$out")'"
fi

# ---- --json: one object per line that parses, with the same facts
out=$LAB_TMP/mon-json
monitor_start "$out" --json -c 2 domain ipv4.icanhazip.com
assert_via_vpn ipv4.icanhazip.com
monitor_wait
if python3 - "$out" <<'EOF'
import json, sys
kinds = []
for line in open(sys.argv[1]):
    ev = json.loads(line)
    kinds.append(ev["kind"])
    if ev["kind"] == "flow":
        assert ev["domain"] == "ipv4.icanhazip.com", ev
        assert ev["route"] == "vpn" and ev["proto"] == "tcp" and ev["mark"] == 256, ev
assert "flow" in kinds and "dns-answer" in kinds, kinds
EOF
then
	ok "monitor --json: $(wc -l <"$out") lines parse, flow and dns-answer via vpn"
else
	fail "monitor --json output: $(head -c 600 "$out")"
fi
if jq -e . "$out" >/dev/null 2>&1 || ! command -v jq >/dev/null; then
	ok "jq reads the --json stream"
else
	fail "jq cannot read the --json stream"
fi

# ---- a monitor that never reads does not slow verdicts
cat >"$LAB_TMP/load.py" <<'EOF'
import socket, sys, time
mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t, bad = time.monotonic(), 0
for _ in range(n):
    if mode == "udp":	# a new flow per datagram: one decision (and event) each
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"x", (addr, port))
    else:		# a TCP connect to a closed port: the SYN's verdict, then a reset
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((addr, port))
        except ConnectionRefusedError:
            pass
        except OSError:
            bad += 1
    s.close()
print("%.3f %d" % (time.monotonic() - t, bad))
EOF
direct=$(lab_addr api.ipify.org 4)
probe() { in_host python3 "$LAB_TMP/load.py" tcp "$direct" 81 1000; }
flood() { in_host python3 "$LAB_TMP/load.py" udp "$web" 9 6000 >/dev/null; }
queue() { ctl status --json | jget '"%d %d %d %d" % (d["queue"]["packets"], d["queue"]["verdicts"], d["queue"]["kernel"]["queue_dropped"], d["queue"]["kernel"]["user_dropped"])'; }

flood
read -r t0 bad0 <<<"$(probe)"
note "without a monitor: 1000 connects in $t0 s ($bad0 failed)"

mkfifo "$LAB_TMP/stall"
exec 7<>"$LAB_TMP/stall"		# a reader that never reads: the writer blocks once it is full
before=$(ctl status --json | jget 'd["control"]["monitors"]')
(nfq_exec "$NFQROUTE" monitor) >"$LAB_TMP/stall" 2>"$LAB_TMP/stall.err" &
stall_pid=$!
LAB_PIDS+=("$stall_pid")
wait_for 5 eval "[ \"\$(ctl status --json | jget 'd[\"control\"][\"monitors\"]')\" -gt $before ]" ||
	fail "the stalled monitor did not attach"
read -r p0 v0 qd0 ud0 <<<"$(queue)"
flood
read -r t1 bad1 <<<"$(probe)"
read -r p1 v1 qd1 ud1 <<<"$(queue)"
dropped=$(ctl status --json | jget 'd["control"]["lines_dropped"]')
note "with a stalled monitor: 1000 connects in $t1 s ($bad1 failed); queue $((p1 - p0)) packets, $((v1 - v0)) verdicts; monitor lines dropped: $dropped"
if [ "$dropped" -gt 0 ]; then
	ok "the stalled monitor lost lines ($dropped) instead of holding the packet path"
else
	fail "the monitor never stalled (no lines dropped): the test proves nothing"
fi
assert_eq "connects that failed with a stalled monitor" 0 "$bad1"
if python3 -c "import sys; sys.exit(0 if $t1 <= 3 * $t0 + 1.0 else 1)"; then
	ok "verdict latency unchanged by the stalled monitor ($t1 s vs $t0 s)"
else
	fail "a stalled monitor slowed verdicts: $t1 s vs $t0 s for 1000 connects"
fi
assert_eq "verdicts sent for every packet queued" "$((p1 - p0))" "$((v1 - v0))"
# (the flood's sockets may reuse a source port: not every datagram is a new flow)
if [ $((p1 - p0)) -ge 4000 ]; then
	ok "the queue decided all $((p1 - p0)) packets of the flood and the probe"
else
	fail "only $((p1 - p0)) packets queued, expected at least 4000"
fi
assert_eq "kernel queue drops during the stall" "$qd0 $ud0" "$qd1 $ud1"
if kill -0 "$stall_pid" 2>/dev/null; then
	ok "the stalled monitor is still connected (lines lost, not the client)"
fi
kill "$stall_pid" 2>/dev/null
exec 7<&-
assert_via_vpn ipv4.icanhazip.com
nfq_stop
lab_result
