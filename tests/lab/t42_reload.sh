#!/bin/bash
# `nfqroute reload` through the control socket: a broken configuration is an error for the
# caller (exit status, FILE:LINE) and the old one keeps routing; a new domain takes effect
# for new connections while an open TCP connection keeps its path; `reload --reroute`
# changes the conntrack marks of connections whose route changed (only the mark-mask
# bits), so their next packet takes the new path.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ctl() { in_host_nfq "$NFQROUTE" "$@"; }

PORT=7000
# A line server: answers every line with the address it saw, connections stay open.
cat_server() {
	cat <<'EOF'
import socket, sys, threading
def serve(conn, peer):
    with conn:
        for _ in conn.makefile("rb"):
            conn.sendall((peer[0] + "\n").encode())
def listen(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
port = int(sys.argv[1])
for a in sys.argv[2:]:
    threading.Thread(target=listen, args=(a, port), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
}

# A client on one connection: exchange 1 at once, exchange N once the file OUT.goN exists;
# each answer is a line of OUT ("error ..." when the exchange failed).
cat_client() {
	cat <<'EOF'
import os, socket, sys, time
addr, port, out, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((addr, port), timeout=5)
f = s.makefile("rb")
for i in range(1, n + 1):
    while i > 1 and not os.path.exists("%s.go%d" % (out, i)):
        time.sleep(0.05)
    try:
        s.sendall(b"who\n")
        line = f.readline().decode().strip() or "error closed"
    except OSError as e:
        line = "error %s" % e
    with open(out, "a") as o:
        o.write(line + "\n")
EOF
}

# client_start TAG ADDR: a persistent connection to ADDR:$PORT from host (3 exchanges).
client_start() {
	spawn "$NS_HOST" "$LAB_TMP/$1.err" python3 "$LAB_TMP/client.py" "$2" "$PORT" \
		"$LAB_TMP/$1.out" 3
	wait_for 5 test -s "$LAB_TMP/$1.out" || fail "client $1 got no first answer: $(cat "$LAB_TMP/$1.err")"
}

# client_next TAG N: runs exchange N and prints its answer.
client_next() {
	touch "$LAB_TMP/$1.out.go$2"
	wait_for 8 eval "[ \$(wc -l <'$LAB_TMP/$1.out') -ge $2 ]"
	sed -n "${2}p" "$LAB_TMP/$1.out"
}

# ct_mark ADDR: the mark of host's open connection to ADDR:$PORT, as conntrack prints it.
ct_mark() {
	in_host conntrack -L -p tcp -d "$1" --dport "$PORT" --state ESTABLISHED 2>/dev/null |
		sed -n 's/.* mark=\([0-9]*\).*/\1/p' | head -n 1
}

lab_up
ipify=$(lab_addr api.ipify.org 4)
gh=$(lab_addr github.com 4)
cat_server >"$LAB_TMP/server.py"
cat_client >"$LAB_TMP/client.py"
spawn "$NS_ISP" "$LAB_TMP/server.log" python3 "$LAB_TMP/server.py" "$PORT" "$ipify" "$gh"
wait_for 5 grep -q ready "$LAB_TMP/server.log" || die "line server did not start"

CONF_DOMAINS="icanhazip.com github.com" write_conf
cp "$LAB_CONF" "$LAB_TMP/good.conf"
nfq_start
assert_via_vpn github.com		# learns github.com's address

client_start ipify "$ipify"
assert_eq "open connection to api.ipify.org, first answer (direct)" "$HOST_ADDR4" \
	"$(sed -n 1p "$LAB_TMP/ipify.out")"
client_start gh "$gh"
assert_eq "open connection to github.com, first answer (tunnel)" "$VPN_ADDR4" \
	"$(sed -n 1p "$LAB_TMP/gh.out")"

# ---- a broken configuration: an error for the caller, the old one stays
CONF_DOMAINS="icanhazip.com github.com ipify.org" CONF_ROUTE_EXTRA="mark = not-a-mark" write_conf
line=$(grep -n "not-a-mark" "$LAB_CONF" | cut -d: -f1)
out=$(ctl reload 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "$LAB_CONF:$line:" <<<"$out"; then
	ok "reload of a broken configuration fails (exit $rc): $out"
else
	fail "reload of a broken configuration: exit $rc, output '$out'"
fi
nfq_alive || abort "nfqroute exited after a failed reload"
assert_via_vpn github.com		# the old configuration still routes
assert_direct api.ipify.org		# only in the broken one

# ---- a new domain: new connections take it, the open one keeps its path
CONF_DOMAINS="icanhazip.com github.com ipify.org" write_conf
out=$(ctl reload 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^reloaded $LAB_CONF" <<<"$out"; then
	ok "reload: $out"
else
	fail "reload of a good configuration: exit $rc, output '$out'"
fi
assert_via_vpn api.ipify.org		# a new connection
assert_eq "the open connection to api.ipify.org keeps its path" "$HOST_ADDR4" \
	"$(client_next ipify 2)"
assert_eq "its conntrack mark" 0 "$(ct_mark "$ipify")"

# ---- reload --reroute: the open connection is moved at its next packet
in_host conntrack -U -p tcp -d "$ipify" --dport "$PORT" --mark 0x10000 >/dev/null 2>&1 ||
	fail "conntrack -U could not set a bit outside mark-mask"
out=$(ctl reload --reroute 2>&1)
rc=$?
n=$(sed -n 's/^rerouted \([0-9]*\) connections.*/\1/p' <<<"$out")
if [ "$rc" -eq 0 ] && [ "${n:-0}" -ge 1 ]; then
	ok "reload --reroute: $(tr '\n' ' ' <<<"$out")"
else
	fail "reload --reroute: exit $rc, output '$out'"
fi
assert_eq "the open connection now carries the route's mark, other bits kept" \
	$((0x10000 | 0x100)) "$(ct_mark "$ipify")"
cap_start wg "$WG_HOST" "$NS_HOST" tcp port "$PORT"
client_next ipify 3 >/dev/null		# NATed differently now: the exchange itself may fail
sleep 0.5
if [ "$(cap_stop wg)" -ge 1 ]; then
	ok "its next packet left through the tunnel"
else
	fail "its next packet did not take the tunnel"
fi

# ---- a domain removed with --reroute: the routed open connection loses its mark
CONF_DOMAINS="icanhazip.com ipify.org" write_conf
assert_eq "open connection to github.com before" 256 "$(ct_mark "$gh")"
out=$(ctl reload --reroute 2>&1) || fail "reload --reroute failed: $out"
note "$(tr '\n' ' ' <<<"$out")"
assert_eq "its conntrack mark after github.com was removed" 0 "$(ct_mark "$gh")"
cap_start eth eth0 "$NS_HOST" tcp port "$PORT" and host "$gh"
client_next gh 2 >/dev/null
sleep 0.5
if [ "$(cap_stop eth)" -ge 1 ]; then
	ok "its next packet left directly (eth0)"
else
	fail "its next packet did not leave through eth0"
fi
assert_direct github.com
assert_via_vpn api.ipify.org

nfq_stop
lab_result
