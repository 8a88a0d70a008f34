# shellcheck shell=bash
# Namespace lab for the nfqroute integration tests. Sourced by tests/lab/tNN_*.sh, which
# run under bash through tests/run-lab.sh (root, tools present, $NFQROUTE set).
#
# Topology (three network namespaces, names unique per run so tests can run in parallel):
#
#   host (nfqroute runs here)        isp (router + "internet")         vpn (WireGuard server)
#   eth0 10.99.1.2  fd99:1::2  <---> to-host 10.99.1.1  fd99:1::1
#   WG   10.99.9.2  fd99:9::2        to-vpn  10.99.2.1  fd99:2::1 <---> eth0 10.99.2.2 fd99:2::2
#     (wireguard-go, peer =          lo: web addresses 203.0.113.x,    WG 10.99.9.1 fd99:9::1
#      10.99.2.2:51820)                  2001:db8:10::x (echo_server)  :51820, masquerades
#                                    dnsmasq on 10.99.1.1/fd99:1::1    tunnel traffic out eth0
#
# The echo servers answer with the client address they saw: 10.99.2.2 / fd99:2::2 means the
# connection went through the tunnel, 10.99.1.2 / fd99:1::2 means it went direct.
# There is no route through the tunnel in host's main table: adding one is nfqroute's job.
#
# A test: lab_up; write_conf; nfq_start; assert_via_vpn NAME [-4|-6]; assert_direct ...;
# nfq_stop; lab_result. Everything started is killed and the namespaces are deleted on
# exit, whatever happens (trap). Exit status: 0 pass, 1 fail, 99 the lab could not be
# built. Knobs (environment):
#   LAB_KEEP=1        keep the test's files (logs, captures, configs) in /tmp/nqlab.*
#   NFQ_ARGS=-v       extra arguments after `nfqroute run -c CONF` (e.g. verbose log)
#   LAB_RP_FILTER=N   host's rp_filter during the tests (default 2)
#   NFQ_START_SOFT=1  nfq_start returns 1 instead of ending the test
# Run one test by hand: sudo NFQROUTE=$PWD/nfqroute sh tests/run-lab.sh tests/lab/t01_split.sh
#
# Optional parts, added after lab_up by the tests that need them (all removed by lab_down):
#
#   lab_add_isp2: a second uplink. host eth1 10.99.3.2 fd99:3::2 <---> isp2 to-host
#     10.99.3.1 fd99:3::1; isp2 routes to the same "internet" through isp (to-isp
#     10.99.4.2 <---> isp to-isp2 10.99.4.1, fd99:4::/64), without NAT: a server sees
#     host's eth1 address. isp2 also holds a remote client address 198.51.100.10 /
#     2001:db8:20::10 (on lo) that only isp2 can reach: isp has no route to it.
#   lab_add_vpn2: a second WireGuard server. vpn2 eth0 10.99.6.2 fd99:6::2 (behind isp
#     to-vpn2 10.99.6.1), tunnel 10.99.10.1 fd99:10::1; host's second tunnel interface
#     $WG_HOST2 10.99.10.2 fd99:10::2. vpn2 masquerades: seen from 10.99.6.2 / fd99:6::2.
#   lab_add_lan: a LAN client behind host. host eth2 10.99.5.1 fd99:5::1 <---> lan eth0
#     10.99.5.2 fd99:5::2, default via host, resolver 10.99.1.1 (through host). Forwarding
#     and NAT on host are the test's business (as they are the gateway owner's).
#
# FETCH_NS=NS makes fetch (and every assert_* built on it) run curl in namespace NS.

set -u

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_NAME=$(basename "$0" .sh)
LAB_ID=$$
NS_HOST=nq$LAB_ID-host
NS_ISP=nq$LAB_ID-isp
NS_VPN=nq$LAB_ID-vpn
# wireguard-go's control socket /var/run/wireguard/NAME.sock is global, not per namespace.
WG_HOST=wq${LAB_ID}c
WG_VPN=wq${LAB_ID}s
WG_PORT=51820

HOST_ADDR4=10.99.1.2
HOST_ADDR6=fd99:1::2
ISP_ADDR4=10.99.1.1
ISP_ADDR6=fd99:1::1
VPN_ADDR4=10.99.2.2
VPN_ADDR6=fd99:2::2
HOST_WG4=10.99.9.2
HOST_WG6=fd99:9::2
VPN_WG4=10.99.9.1
VPN_WG6=fd99:9::1

# Route defaults used by write_conf.
CONF_TABLE=100
CONF_MARK=0x100
CONF_MASK=0xff00

# host's reverse path filter during the tests (t06 sets 1 and 0). 2 (loose) is what
# systemd's 50-default.conf sets on most distributions.
LAB_RP_FILTER=${LAB_RP_FILTER:-2}

# Optional parts (lab_add_isp2, lab_add_vpn2, lab_add_lan).
NS_ISP2=nq$LAB_ID-isp2
NS_VPN2=nq$LAB_ID-vpn2
NS_LAN=nq$LAB_ID-lan
WG_HOST2=wq${LAB_ID}d
WG_VPN2=wq${LAB_ID}t
ISP2_HOST4=10.99.3.2		# host's eth1
ISP2_HOST6=fd99:3::2
ISP2_GW4=10.99.3.1		# isp2, host's second gateway
ISP2_GW6=fd99:3::1
ISP2_CLIENT4=198.51.100.10	# a client only reachable through isp2
ISP2_CLIENT6=2001:db8:20::10
VPN2_ADDR4=10.99.6.2
VPN2_ADDR6=fd99:6::2
HOST_WG2_4=10.99.10.2
HOST_WG2_6=fd99:10::2
VPN2_WG4=10.99.10.1
VPN2_WG6=fd99:10::1
LAN_GW4=10.99.5.1		# host's eth2
LAN_GW6=fd99:5::1
LAN_ADDR4=10.99.5.2
LAN_ADDR6=fd99:5::2
LAB_EXTRA_NS=()
LAB_EXTRA_WG=()
WG_HOST2_PID=
# extra routing tables lab_dump_state shows (besides CONF_TABLE)
LAB_DUMP_TABLES=${LAB_DUMP_TABLES:-}

# The lab's DNS zone: "name address..." (served by dnsmasq as host-record = A/AAAA; a name
# may have several addresses per family). A test may add names before lab_up.
LAB_HOSTS=(
	"icanhazip.com 203.0.113.10 2001:db8:10::10"
	"ipv4.icanhazip.com 203.0.113.11"
	"ipv6.icanhazip.com 2001:db8:10::12"
	"github.com 203.0.113.20 2001:db8:10::20"
	"api.github.com 203.0.113.21 2001:db8:10::21"
	"notgithub.com 203.0.113.22 2001:db8:10::22"
	"api.ipify.org 203.0.113.30"
	"api64.ipify.org 203.0.113.31 2001:db8:10::31"
	"ifconfig.me 203.0.113.40 2001:db8:10::40"
	"edge.cdn.test 203.0.113.50 2001:db8:10::50"
	"edge.fastcdn.test 203.0.113.51 2001:db8:10::51"
	"edge.othercdn.test 203.0.113.52 2001:db8:10::52"
	"vpn.icanhazip.com $VPN_ADDR4 $VPN_ADDR6"
)
# "alias target": CNAME records. A chain of two for the first one.
LAB_CNAMES=(
	"www.cdn-alias.test www.cdn-alias.test.edgekey.test"
	"www.cdn-alias.test.edgekey.test edge.cdn.test"
	"downloads.example.net edge.fastcdn.test"
	"www.example.net edge.othercdn.test"
)

LAB_TMP=
LAB_CONF=
NFQ_LOG=
NFQ_PID=
LAB_FAILS=0
LAB_PIDS=()
CAP_PID=
CAP_FILE=
CAP_N=0
WG_HOST_PID=

# ---------------------------------------------------------------- messages, assertions

log() { printf '%s\n' "$*"; }
note() { printf '# %s\n' "$*"; }
ok() { printf 'ok   - %s\n' "$*"; }

fail() {
	printf 'FAIL - %s\n' "$*"
	LAB_FAILS=$((LAB_FAILS + 1))
	[ "$LAB_FAILS" -eq 1 ] && lab_dump_state
	return 0
}

# lab_dump_state: host's routing state at the first failure, for the test log.
lab_dump_state() {
	[ -n "$LAB_TMP" ] || return 0
	{
		echo "---- host state at the first failure ----"
		echo "\$ ip rule; ip -6 rule"
		ip -n "$NS_HOST" -4 rule show
		ip -n "$NS_HOST" -6 rule show
		local t
		for t in "$CONF_TABLE" $LAB_DUMP_TABLES; do
			echo "\$ ip route show table $t; ip -6 route show table $t"
			ip -n "$NS_HOST" -4 route show table "$t"
			ip -n "$NS_HOST" -6 route show table "$t"
		done
		echo "\$ ip link show $WG_HOST"
		ip -n "$NS_HOST" -br link show "$WG_HOST"
		echo "\$ sysctl net.ipv4.conf.all.src_valid_mark net.ipv4.conf.all.rp_filter"
		in_host sysctl net.ipv4.conf.all.src_valid_mark net.ipv4.conf.all.rp_filter
		echo "\$ nft list table inet nfqroute (first 60 lines)"
		in_host nft list table inet nfqroute 2>&1 | head -n 60
		echo "\$ conntrack -L (port 80)"
		in_host conntrack -L -p tcp --dport 80 2>/dev/null | tail -n 10
		echo "\$ tail dnsmasq.log"
		tail -n 8 "$LAB_TMP/dnsmasq.log" 2>/dev/null
		echo "----"
	} 2>&1 | sed 's/^/#   /'
}

# die MSG: the lab itself could not be built (not nfqroute's fault): hard error 99.
die() {
	printf 'ERROR - %s\n' "$*" >&2
	exit 99
}

# abort MSG: a failure after which the rest of the test makes no sense.
abort() {
	fail "$*"
	exit 1
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1 (= '$3')"
	else
		fail "$1: expected '$2', saw '$3'"
		return 1
	fi
}

# assert_seen NAME EXPECTED_ADDR [curl args]: fetch NAME and check the address the
# server saw.
assert_seen() {
	local name=$1 want=$2 got rc
	shift 2
	local from=
	[ -n "${FETCH_NS:-}" ] && from="[from ${FETCH_NS#nq"$LAB_ID"-}] "
	got=$(fetch "$name" "$@")
	rc=$?
	if [ "$got" = "$want" ]; then
		ok "$from$name $* -> server saw $got"
		return 0
	fi
	fail "$from$name $*: expected the server to see $want, it saw '${got:-nothing}'" \
		"(curl exit $rc)"
	return 1
}

# assert_via_vpn NAME [-4|-6]: the connection went through the tunnel (default -4: curl
# would otherwise prefer IPv6 for dual-stack names).
assert_via_vpn() {
	local fam=${2:--4} want=$VPN_ADDR4
	[ "$fam" = -6 ] && want=$VPN_ADDR6
	assert_seen "$1" "$want" "$fam" "${@:3}"
}

# assert_direct NAME [-4|-6]: the connection went out host's own interface.
assert_direct() {
	local fam=${2:--4} want=$HOST_ADDR4
	[ "$fam" = -6 ] && want=$HOST_ADDR6
	assert_seen "$1" "$want" "$fam" "${@:3}"
}

# assert_blocked NAME [-4|-6]: no answer at all (fail-closed), in particular no leak.
assert_blocked() {
	local name=$1 fam=${2:--4} got rc
	shift
	[ $# -gt 0 ] && shift
	set -- "$fam" "$@"
	got=$(FETCH_TIMEOUT=${FETCH_TIMEOUT:-3} fetch "$name" "$@")
	rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$got" ]; then
		ok "$name $* blocked (curl exit $rc, nothing received)"
		return 0
	fi
	if [ "$got" = "$HOST_ADDR4" ] || [ "$got" = "$HOST_ADDR6" ]; then
		fail "$name $*: expected no connection, LEAKED: server saw host's own address $got"
	else
		fail "$name $*: expected no connection, server saw '$got' (curl exit $rc)"
	fi
	return 1
}

# now_ms: monotonic enough wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((t / 1000))
}

# wait_seen NAME ADDR SECONDS [curl args]: poll until a fetch of NAME is seen from ADDR.
wait_seen() {
	local name=$1 want=$2 end got=
	end=$(($(now_ms) + $3 * 1000))
	shift 3
	while :; do
		got=$(FETCH_TIMEOUT=2 fetch "$name" "$@")
		[ "$got" = "$want" ] && return 0
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.3
	done
}

# lab_result: print the summary and exit with the test's status.
lab_result() {
	if [ "$LAB_FAILS" -eq 0 ]; then
		log "PASS $LAB_NAME"
		exit 0
	fi
	log "FAIL $LAB_NAME: $LAB_FAILS check(s) failed"
	exit 1
}

# ---------------------------------------------------------------- namespace helpers

in_host() { ip netns exec "$NS_HOST" "$@"; }
in_isp() { ip netns exec "$NS_ISP" "$@"; }
in_vpn() { ip netns exec "$NS_VPN" "$@"; }

in_isp2() { ip netns exec "$NS_ISP2" "$@"; }
in_vpn2() { ip netns exec "$NS_VPN2" "$@"; }
in_lan() { ip netns exec "$NS_LAN" "$@"; }

# fetch NAME [curl args, e.g. -6]: prints the body (the address the server saw) and
# returns curl's status. Resolves NAME through host's system resolver (10.99.1.1).
# NAME may carry a port (name:25, [addr]:8080). FETCH_NS=NS runs curl in NS instead.
fetch() {
	local name=$1
	shift
	ip netns exec "${FETCH_NS:-$NS_HOST}" curl -gs --max-time "${FETCH_TIMEOUT:-5}" "$@" \
		"http://$name/" 2>/dev/null | tr -d '\r\n'
	return "${PIPESTATUS[0]}"
}

# udp_ask NS ADDR PORT: one datagram to an echo_server.py --udp-port; prints the address
# the server saw (nothing on timeout) and returns udp_ask.py's status.
udp_ask() {
	ip netns exec "$1" python3 "$LAB_SRC/udp_ask.py" --timeout "${FETCH_TIMEOUT:-3}" "$2" "$3" |
		tr -d '\r\n'
	return "${PIPESTATUS[0]}"
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s.
wait_for() {
	local end
	end=$(($(now_ms) + ${1%.*} * 1000))
	shift
	while ! "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

# spawn NS LOGFILE CMD...: start CMD in namespace NS in its own session; the pid (of CMD
# itself: ip netns exec and setsid exec) is in $SPAWNED and remembered for lab_down.
SPAWNED=
spawn() {
	local ns=$1 logf=$2
	shift 2
	ip netns exec "$ns" setsid "$@" >"$logf" 2>&1 </dev/null &
	SPAWNED=$!
	LAB_PIDS+=("$SPAWNED")
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 3).
stop_pid() {
	local pid=$1 secs=${2:-3}
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_for "$secs" eval "! kill -0 $pid 2>/dev/null" && return 0
	kill -KILL "$pid" 2>/dev/null
	wait_for 2 eval "! kill -0 $pid 2>/dev/null"
}

# ---------------------------------------------------------------- WireGuard

# wg_start NS IFNAME: starts wireguard-go for IFNAME in NS; sets WG_STARTED to its pid.
WG_STARTED=
wg_start() {
	local ns=$1 ifn=$2
	rm -f "/var/run/wireguard/$ifn.sock"
	spawn "$ns" "$LAB_TMP/wireguard-go.$ifn.log" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
		wireguard-go -f "$ifn"
	WG_STARTED=$SPAWNED
	if ! wait_for 5 test -S "/var/run/wireguard/$ifn.sock"; then
		cat "$LAB_TMP/wireguard-go.$ifn.log" >&2
		return 1
	fi
	wait_for 2 ip -n "$ns" link show "$ifn" >/dev/null 2>&1
}

wg_host_config() {
	in_host wg set "$WG_HOST" private-key "$LAB_TMP/host.key" \
		peer "$(cat "$LAB_TMP/vpn.pub")" endpoint "$VPN_ADDR4:$WG_PORT" \
		allowed-ips 0.0.0.0/0,::/0 persistent-keepalive 25 &&
		ip -n "$NS_HOST" addr add "$HOST_WG4/24" dev "$WG_HOST" &&
		ip -n "$NS_HOST" addr add "$HOST_WG6/64" dev "$WG_HOST" nodad &&
		ip -n "$NS_HOST" link set "$WG_HOST" up
}

# wg_down: like `wg-quick down`: deletes host's WireGuard interface (wireguard-go exits).
wg_down() {
	ip -n "$NS_HOST" link del "$WG_HOST" || return 1
	if ! wait_for 3 eval "! kill -0 $WG_HOST_PID 2>/dev/null"; then
		stop_pid "$WG_HOST_PID"
	fi
	rm -f "/var/run/wireguard/$WG_HOST.sock"
	note "tunnel down: $WG_HOST deleted"
}

# wg_up: like `wg-quick up`: re-creates host's interface under the same name and key.
wg_up() {
	wg_start "$NS_HOST" "$WG_HOST" || return 1
	WG_HOST_PID=$WG_STARTED
	wg_host_config || return 1
	note "tunnel up: $WG_HOST re-created"
}

# wg_link_down / wg_link_up: `ip link set down/up`, the interface stays.
wg_link_down() {
	ip -n "$NS_HOST" link set "$WG_HOST" down && note "tunnel link down: $WG_HOST"
}

wg_link_up() {
	ip -n "$NS_HOST" link set "$WG_HOST" up || return 1
	# IPv6 addresses are removed on link down (keep_addr_on_down=0); re-add them like a
	# network manager would. IPv4 addresses stay.
	ip -n "$NS_HOST" -6 addr add "$HOST_WG6/64" dev "$WG_HOST" nodad 2>/dev/null
	note "tunnel link up: $WG_HOST"
}

# ---------------------------------------------------------------- packet capture

# capture_start IFACE NS FILTER...: tcpdump into a file; returns once tcpdump listens.
capture_start() {
	local ifn=$1 ns=$2
	shift 2
	CAP_N=$((CAP_N + 1))
	CAP_FILE=$LAB_TMP/capture$CAP_N.$ifn.pcap
	spawn "$ns" "$CAP_FILE.err" tcpdump -i "$ifn" -n -U --immediate-mode -w "$CAP_FILE" "$@"
	CAP_PID=$SPAWNED
	if ! wait_for 5 grep -q "listening on" "$CAP_FILE.err"; then
		cat "$CAP_FILE.err" >&2
		die "tcpdump did not start on $ns/$ifn"
	fi
}

# capture_stop: stops tcpdump and prints the number of packets captured.
capture_stop() {
	kill -INT "$CAP_PID" 2>/dev/null
	wait_for 3 eval "! kill -0 $CAP_PID 2>/dev/null" || stop_pid "$CAP_PID"
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
	tcpdump -r "$CAP_FILE" -n 2>/dev/null | wc -l
}

# capture_show: prints the packets of the last capture (for failure messages).
capture_show() {
	tcpdump -r "$CAP_FILE" -n 2>/dev/null | head -20 | sed 's/^/#   /'
}

# Named captures, several at once: cap_start TAG IFACE NS FILTER...; cap_stop TAG (prints
# the packet count); cap_text TAG (the packets, one line each); cap_show TAG (for logs).
declare -A CAPS_PID=() CAPS_FILE=()
cap_start() {
	local tag=$1 ifn=$2 ns=$3 f
	shift 3
	CAP_N=$((CAP_N + 1))
	f=$LAB_TMP/capture$CAP_N.$tag.$ifn.pcap
	spawn "$ns" "$f.err" tcpdump -i "$ifn" -n -U --immediate-mode -w "$f" "$@"
	CAPS_PID[$tag]=$SPAWNED
	CAPS_FILE[$tag]=$f
	if ! wait_for 5 grep -q "listening on" "$f.err"; then
		cat "$f.err" >&2
		die "tcpdump did not start on $ns/$ifn"
	fi
}

cap_stop() {
	local pid=${CAPS_PID[$1]:-}
	if [ -n "$pid" ]; then
		kill -INT "$pid" 2>/dev/null
		wait_for 3 eval "! kill -0 $pid 2>/dev/null" || stop_pid "$pid"
		wait "$pid" 2>/dev/null
		CAPS_PID[$1]=
	fi
	cap_text "$1" | wc -l
}

cap_text() { tcpdump -r "${CAPS_FILE[$1]}" -n 2>/dev/null; }
cap_show() { cap_text "$1" | head -n "${2:-20}" | sed 's/^/#   /'; }

# ---------------------------------------------------------------- nfqroute

# write_conf [FILE]: writes a configuration (default $LAB_CONF) for host's tunnel.
# Tunables (environment or shell variables): CONF_DOMAINS (default "icanhazip.com
# github.com"), CONF_ROUTE_EXTRA and CONF_GLOBAL_EXTRA (lines appended to the sections).
# shellcheck disable=SC2120 # the argument is optional
write_conf() {
	local f=${1:-$LAB_CONF}
	cat >"$f" <<EOF
# nfqroute lab configuration ($LAB_NAME)
[global]
queue = ${CONF_QUEUE:-0}
mark-mask = $CONF_MASK
fail-mode = closed
rule-priority = 1000
${CONF_GLOBAL_EXTRA:-}

[route vpn]
interface = $WG_HOST
table = $CONF_TABLE
mark = $CONF_MARK
fail-closed = yes
masquerade = yes
domains = ${CONF_DOMAINS:-icanhazip.com github.com}
${CONF_ROUTE_EXTRA:-}
EOF
}

# in_host_nfq CMD...: like in_host, but with a private /run/nfqroute (nfqroute's run-time
# state is not per network namespace; parallel labs must not share it). ip netns exec runs
# CMD in its own mount namespace (slave), so the bind mount stays inside it.
in_host_nfq() {
	(nfq_exec "$@")
}

# nfq_exec CMD...: replaces the current (sub)shell with CMD in host, /run/nfqroute private.
# Started as `(nfq_exec CMD) &`, $! is CMD's pid (ip netns exec, sh and setsid all exec).
nfq_exec() {
	mkdir -p "$LAB_TMP/run" "$LAB_TMP/state" /run/nfqroute /var/lib/nfqroute
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec ip netns exec "$NS_HOST" sh -c 'mount --bind "$0" /run/nfqroute &&
		mount --bind "$1" /var/lib/nfqroute && shift && exec "$@"' \
		"$LAB_TMP/run" "$LAB_TMP/state" "$@"
}

# shellcheck disable=SC2120 # the argument is optional
nfq_start() {
	local conf=${1:-$LAB_CONF}
	NFQ_LOG=$LAB_TMP/nfqroute.log
	{
		echo "==== $(date +%T) $NFQROUTE run -c $conf"
		sed 's/^/==== | /' "$conf"
	} >>"$NFQ_LOG"
	# only what this run writes counts (the log is shared by restarts within a test)
	local from
	from=$(($(stat -c %s "$NFQ_LOG") + 1))
	# shellcheck disable=SC2086 # NFQ_ARGS: extra words on purpose
	(nfq_exec setsid "$NFQROUTE" run -c "$conf" ${NFQ_ARGS:-}) >>"$NFQ_LOG" 2>&1 </dev/null &
	NFQ_PID=$!
	LAB_PIDS+=("$NFQ_PID")
	local end
	end=$(($(now_ms) + 10000))
	while ! tail -c +"$from" "$NFQ_LOG" | grep -qiw 'ready'; do
		if ! kill -0 "$NFQ_PID" 2>/dev/null; then
			wait "$NFQ_PID"
			local rc=$?
			nfq_show_log
			NFQ_PID=
			[ "${NFQ_START_SOFT:-0}" = 1 ] && return 1
			abort "nfqroute exited with status $rc before it was ready"
		fi
		if [ "$(now_ms)" -ge "$end" ]; then
			nfq_show_log
			[ "${NFQ_START_SOFT:-0}" = 1 ] && return 1
			abort "nfqroute did not log 'ready' within 10 s"
		fi
		sleep 0.1
	done
	note "nfqroute running (pid $NFQ_PID)"
}

# nfq_stop: SIGTERM; fails unless nfqroute exits with status 0 within 5 s.
nfq_stop() {
	[ -n "$NFQ_PID" ] || return 0
	local pid=$NFQ_PID rc
	NFQ_PID=
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		fail "nfqroute was no longer running when it was to be stopped (exit status $rc)"
		nfq_show_log
		return 1
	fi
	kill -TERM "$pid"
	if ! wait_for 5 eval "! kill -0 $pid 2>/dev/null"; then
		fail "nfqroute did not exit within 5 s of SIGTERM"
		nfq_show_log
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "nfqroute exited with status $rc on SIGTERM"
		nfq_show_log
		return 1
	fi
	note "nfqroute stopped"
}

# nfq_reload: SIGHUP.
nfq_reload() {
	[ -n "$NFQ_PID" ] || abort "nfq_reload: nfqroute is not running"
	kill -HUP "$NFQ_PID"
	note "nfqroute sent SIGHUP"
}

nfq_alive() { [ -n "$NFQ_PID" ] && kill -0 "$NFQ_PID" 2>/dev/null; }

NFQ_LOG_SHOWN=0
nfq_show_log() {
	[ -n "$NFQ_LOG" ] && [ -f "$NFQ_LOG" ] || return 0
	NFQ_LOG_SHOWN=1
	echo "# ---- nfqroute log (last 60 lines of $NFQ_LOG) ----"
	tail -n 60 "$NFQ_LOG" | sed 's/^/#   /'
}

# ---------------------------------------------------------------- host state

# host_snapshot DIR: what nfqroute may change in host and must restore on stop, one file
# per aspect: nft, rule4, rule6, route4, route6 (all tables), sysctl.
host_snapshot() {
	local d=$1 k
	mkdir -p "$d"
	in_host nft list ruleset >"$d/nft" 2>&1
	ip -n "$NS_HOST" -4 rule show >"$d/rule4" 2>&1
	ip -n "$NS_HOST" -6 rule show >"$d/rule6" 2>&1
	ip -n "$NS_HOST" -4 route show table all >"$d/route4" 2>&1
	ip -n "$NS_HOST" -6 route show table all 2>&1 | sed 's/ expires [0-9]*sec//' >"$d/route6"
	for k in net.ipv4.conf.all.src_valid_mark net.ipv4.conf.default.src_valid_mark \
		net.ipv4.conf.eth0.src_valid_mark "net.ipv4.conf.$WG_HOST.src_valid_mark" \
		net.ipv4.conf.all.rp_filter net.ipv4.conf.default.rp_filter \
		net.ipv4.conf.eth0.rp_filter "net.ipv4.conf.$WG_HOST.rp_filter" \
		net.ipv4.ip_forward net.ipv6.conf.all.forwarding; do
		echo "$k = $(in_host sysctl -n "$k" 2>&1)"
	done >"$d/sysctl"
}

SNAP_PARTS="nft rule4 rule6 route4 route6 sysctl"

# snapshot_diff A B: prints the differences (diff -u per part); status 0 when equal.
snapshot_diff() {
	local p rc=0
	for p in $SNAP_PARTS; do
		diff -u --label "before/$p" --label "after/$p" "$1/$p" "$2/$p" || rc=1
	done
	return $rc
}

# snapshot_added A B PART / snapshot_removed A B PART: lines only in B / only in A.
snapshot_added() { diff "$1/$3" "$2/$3" | sed -n 's/^> //p'; }
snapshot_removed() { diff "$1/$3" "$2/$3" | sed -n 's/^< //p'; }

# set_rp_filter VALUE: host's reverse path filter on all, default and every interface.
set_rp_filter() {
	local ifn
	for ifn in all default lo eth0 "$WG_HOST"; do
		in_host sysctl -qw "net.ipv4.conf.$ifn.rp_filter=$1" || return 1
	done
	# and the interfaces of the optional parts (eth1, eth2, $WG_HOST2), when present
	for ifn in $(in_host ls /proc/sys/net/ipv4/conf); do
		in_host sysctl -qw "net.ipv4.conf.$ifn.rp_filter=$1" 2>/dev/null
	done
	return 0
}

# ---------------------------------------------------------------- lab up / down

lab_down() {
	local pid ns
	trap - EXIT INT TERM HUP
	if [ "$LAB_FAILS" -ne 0 ] && [ "$NFQ_LOG_SHOWN" = 0 ]; then
		nfq_show_log
	fi
	if [ -n "$NFQ_PID" ] && kill -0 "$NFQ_PID" 2>/dev/null; then
		kill -TERM "$NFQ_PID" 2>/dev/null
		wait_for 5 eval "! kill -0 $NFQ_PID 2>/dev/null"
	fi
	for pid in "${LAB_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait_for 2 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	done
	# Anything else still running inside our namespaces was started by this test.
	for ns in "$NS_HOST" "$NS_ISP" "$NS_VPN" ${LAB_EXTRA_NS[@]+"${LAB_EXTRA_NS[@]}"}; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for ns in "$NS_HOST" "$NS_ISP" "$NS_VPN" ${LAB_EXTRA_NS[@]+"${LAB_EXTRA_NS[@]}"}; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	rm -f "/var/run/wireguard/$WG_HOST.sock" "/var/run/wireguard/$WG_VPN.sock"
	for ns in ${LAB_EXTRA_WG[@]+"${LAB_EXTRA_WG[@]}"}; do	# further tunnel interfaces
		rm -f "/var/run/wireguard/$ns.sock"
	done
	if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ]; then
		if [ "${LAB_KEEP:-0}" = 1 ]; then
			echo "# lab files kept in $LAB_TMP"
		else
			rm -rf "$LAB_TMP"
		fi
	fi
}

lab_on_exit() {
	local rc=$?
	lab_down
	exit "$rc"
}

lab_dnsmasq_conf() {
	local line name addrs
	cat <<EOF
user=root
group=root
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$ISP_ADDR4
listen-address=$ISP_ADDR6
port=53
local-ttl=300
log-queries
log-facility=$LAB_TMP/dnsmasq.log
pid-file=$LAB_TMP/dnsmasq.pid
EOF
	local a n4 n6
	for line in "${LAB_HOSTS[@]}"; do
		read -r name addrs <<<"$line"
		n4=0 n6=0
		for a in $addrs; do
			case $a in *:*) n6=$((n6 + 1)) ;; *) n4=$((n4 + 1)) ;; esac
		done
		if [ "$n4" -le 1 ] && [ "$n6" -le 1 ]; then
			echo "host-record=$name,${addrs// /,}"
		else
			# one record per address: host-record holds one address per family
			for a in $addrs; do
				echo "host-record=$name,$a"
			done
		fi
	done
	for line in "${LAB_CNAMES[@]}"; do
		read -r name addrs <<<"$line"
		echo "cname=$name,$addrs"
	done
	# Answer only from the lab's data: unknown names get NXDOMAIN and a missing type
	# NODATA (instead of REFUSED for lack of an upstream server), like a real zone.
	for line in "${LAB_HOSTS[@]}" "${LAB_CNAMES[@]}"; do
		read -r name addrs <<<"$line"
		echo "local=/${name##*.}/"
	done | sort -u
}

# lab_web_addrs: every address of LAB_HOSTS that lives in the "internet".
lab_web_addrs() {
	local line name a
	for line in "${LAB_HOSTS[@]}"; do
		read -r name line <<<"$line"
		for a in $line; do
			case $a in 203.0.113.* | 2001:db8:*) echo "$a" ;; esac
		done
	done
}

# lab_addr NAME [4|6]: the lab address of NAME (first of the family), for filters.
lab_addr() {
	local line name a
	for line in "${LAB_HOSTS[@]}"; do
		read -r name line <<<"$line"
		[ "$name" = "$1" ] || continue
		for a in $line; do
			case "${2:-4}:$a" in
			4:*.*) echo "$a" && return 0 ;;
			6:*:*) echo "$a" && return 0 ;;
			esac
		done
	done
	return 1
}

lab_up() {
	local ns a
	[ "$(id -u)" = 0 ] || die "the lab needs root"
	LAB_TMP=$(mktemp -d "/tmp/nqlab.$LAB_NAME.XXXXXX") || die "mktemp failed"
	LAB_CONF=$LAB_TMP/nfqroute.conf
	trap lab_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	note "lab $LAB_ID: namespaces $NS_HOST $NS_ISP $NS_VPN, tunnel $WG_HOST, files $LAB_TMP"

	for ns in "$NS_HOST" "$NS_ISP" "$NS_VPN"; do
		ip netns add "$ns" || die "ip netns add $ns failed"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 || die "sysctl in $ns failed"
	done
	for ns in "$NS_ISP" "$NS_VPN"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
			die "sysctl in $ns failed"
	done

	# host <-> isp <-> vpn
	ip -n "$NS_HOST" link add eth0 type veth peer name to-host netns "$NS_ISP" ||
		die "veth host-isp failed"
	ip -n "$NS_VPN" link add eth0 type veth peer name to-vpn netns "$NS_ISP" ||
		die "veth vpn-isp failed"
	ip -n "$NS_HOST" addr add "$HOST_ADDR4/24" dev eth0
	ip -n "$NS_HOST" addr add "$HOST_ADDR6/64" dev eth0 nodad
	ip -n "$NS_HOST" link set eth0 up
	ip -n "$NS_HOST" route add default via "$ISP_ADDR4"
	ip -n "$NS_HOST" -6 route add default via "$ISP_ADDR6"
	ip -n "$NS_ISP" addr add "$ISP_ADDR4/24" dev to-host
	ip -n "$NS_ISP" addr add "$ISP_ADDR6/64" dev to-host nodad
	ip -n "$NS_ISP" addr add 10.99.2.1/24 dev to-vpn
	ip -n "$NS_ISP" addr add fd99:2::1/64 dev to-vpn nodad
	ip -n "$NS_ISP" link set to-host up
	ip -n "$NS_ISP" link set to-vpn up
	ip -n "$NS_VPN" addr add "$VPN_ADDR4/24" dev eth0
	ip -n "$NS_VPN" addr add "$VPN_ADDR6/64" dev eth0 nodad
	ip -n "$NS_VPN" link set eth0 up
	ip -n "$NS_VPN" route add default via 10.99.2.1 || die "vpn routes failed"
	ip -n "$NS_VPN" -6 route add default via fd99:2::1 || die "vpn routes failed"

	# the "internet": web addresses on isp's loopback
	for a in $(lab_web_addrs); do
		case $a in
		*:*) ip -n "$NS_ISP" -6 addr add "$a/128" dev lo nodad ;;
		*) ip -n "$NS_ISP" addr add "$a/32" dev lo ;;
		esac || die "cannot add $a in isp"
	done
	# shellcheck disable=SC2046 # one argument per address
	spawn "$NS_ISP" "$LAB_TMP/web.log" python3 "$LAB_SRC/echo_server.py" $(lab_web_addrs)
	local web_pid=$SPAWNED
	lab_dnsmasq_conf >"$LAB_TMP/dnsmasq.conf"
	spawn "$NS_ISP" "$LAB_TMP/dnsmasq.out" dnsmasq --keep-in-foreground \
		--conf-file="$LAB_TMP/dnsmasq.conf"
	local dns_pid=$SPAWNED

	# host's resolver: ip netns exec bind-mounts /etc/netns/NS/resolv.conf
	mkdir -p "/etc/netns/$NS_HOST" || die "cannot create /etc/netns/$NS_HOST"
	echo "nameserver $ISP_ADDR4" >"/etc/netns/$NS_HOST/resolv.conf"

	# WireGuard: server in vpn, client in host
	(umask 077 && wg genkey >"$LAB_TMP/host.key" && wg genkey >"$LAB_TMP/vpn.key") ||
		die "wg genkey failed"
	wg pubkey <"$LAB_TMP/host.key" >"$LAB_TMP/host.pub"
	wg pubkey <"$LAB_TMP/vpn.key" >"$LAB_TMP/vpn.pub"
	wg_start "$NS_VPN" "$WG_VPN" || die "wireguard-go $WG_VPN did not start"
	in_vpn wg set "$WG_VPN" private-key "$LAB_TMP/vpn.key" listen-port "$WG_PORT" \
		peer "$(cat "$LAB_TMP/host.pub")" allowed-ips "$HOST_WG4/32,$HOST_WG6/128" ||
		die "wg set $WG_VPN failed"
	ip -n "$NS_VPN" addr add "$VPN_WG4/24" dev "$WG_VPN"
	ip -n "$NS_VPN" addr add "$VPN_WG6/64" dev "$WG_VPN" nodad
	ip -n "$NS_VPN" link set "$WG_VPN" up || die "cannot set $WG_VPN up"
	in_vpn nft -f - <<EOF || die "nft masquerade in vpn failed"
table inet lab {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 10.99.9.0/24 masquerade
		oifname "eth0" ip6 saddr fd99:9::/64 masquerade
	}
}
EOF
	# a web server inside the tunnel, to check the tunnel itself
	spawn "$NS_VPN" "$LAB_TMP/web-vpn.log" python3 "$LAB_SRC/echo_server.py" \
		"$VPN_WG4" "$VPN_WG6"
	local webvpn_pid=$SPAWNED
	wg_start "$NS_HOST" "$WG_HOST" || die "wireguard-go $WG_HOST did not start"
	WG_HOST_PID=$WG_STARTED
	wg_host_config || die "configuring $WG_HOST failed"
	set_rp_filter "$LAB_RP_FILTER" || die "cannot set rp_filter in host"

	wait_for 5 grep -q ready "$LAB_TMP/web.log" ||
		die "echo server did not start: $(cat "$LAB_TMP/web.log")"
	wait_for 5 grep -q ready "$LAB_TMP/web-vpn.log" ||
		die "echo server in vpn did not start: $(cat "$LAB_TMP/web-vpn.log")"
	wait_for 5 eval "[ -n \"\$(in_host dig +short +time=1 +tries=1 github.com A)\" ]" ||
		die "dnsmasq does not answer: $(cat "$LAB_TMP/dnsmasq.out" "$LAB_TMP/dnsmasq.log")"
	kill -0 "$web_pid" "$dns_pid" "$webvpn_pid" 2>/dev/null || die "a lab server died"

	# The lab must work before nfqroute is involved: direct path and the tunnel itself.
	local got
	got=$(fetch api.ipify.org)
	[ "$got" = "$HOST_ADDR4" ] || die "lab broken: direct IPv4 fetch saw '$got'"
	got=$(fetch api64.ipify.org -6)
	[ "$got" = "$HOST_ADDR6" ] || die "lab broken: direct IPv6 fetch saw '$got'"
	got=$(fetch "$VPN_WG4")
	[ "$got" = "$HOST_WG4" ] || die "lab broken: fetch through the tunnel saw '$got'"
	got=$(fetch "[$VPN_WG6]")
	[ "$got" = "$HOST_WG6" ] || die "lab broken: IPv6 fetch through the tunnel saw '$got'"
	got=$(fetch ipv4.icanhazip.com)
	[ "$got" = "$HOST_ADDR4" ] || die "lab broken: without nfqroute, icanhazip saw '$got'"
	note "lab up"
}

# ---------------------------------------------------------------- optional lab parts

# lab_ns_add NS [router]: a further namespace (deleted by lab_down); a router forwards and
# does no reverse path filtering.
lab_ns_add() {
	ip netns add "$1" || die "ip netns add $1 failed"
	LAB_EXTRA_NS+=("$1")
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 || die "sysctl in $1 failed"
	if [ "${2:-}" = router ]; then
		ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 ||
			die "sysctl in $1 failed"
	fi
}

# lab_echo NS LOGNAME [echo_server.py args]: starts an echo server in NS and waits until
# it listens; its pid is in $SPAWNED.
lab_echo() {
	local ns=$1 logf=$LAB_TMP/$2.log
	shift 2
	spawn "$ns" "$logf" python3 "$LAB_SRC/echo_server.py" "$@"
	local pid=$SPAWNED
	wait_for 5 grep -qs ready "$logf" || die "echo server $logf did not start: $(cat "$logf")"
	SPAWNED=$pid
}

# lab_web_ports [--port N ...] [--udp-port N ...]: the "internet" web addresses also answer
# on these ports (e.g. --port 25 for SMTP), with a second echo server in isp.
lab_web_ports() {
	# shellcheck disable=SC2046 # one argument per address
	lab_echo "$NS_ISP" web-ports "$@" $(lab_web_addrs)
}

# lab_add_isp2: a second uplink for host (eth1, gateway isp2), see the top of this file.
lab_add_isp2() {
	lab_ns_add "$NS_ISP2" router
	ip -n "$NS_HOST" link add eth1 type veth peer name to-host netns "$NS_ISP2" ||
		die "veth host-isp2 failed"
	ip -n "$NS_ISP2" link add to-isp type veth peer name to-isp2 netns "$NS_ISP" ||
		die "veth isp2-isp failed"
	ip -n "$NS_HOST" addr add "$ISP2_HOST4/24" dev eth1
	ip -n "$NS_HOST" addr add "$ISP2_HOST6/64" dev eth1 nodad
	ip -n "$NS_HOST" link set eth1 up
	ip -n "$NS_ISP2" addr add "$ISP2_GW4/24" dev to-host
	ip -n "$NS_ISP2" addr add "$ISP2_GW6/64" dev to-host nodad
	ip -n "$NS_ISP2" addr add 10.99.4.2/24 dev to-isp
	ip -n "$NS_ISP2" addr add fd99:4::2/64 dev to-isp nodad
	ip -n "$NS_ISP2" addr add "$ISP2_CLIENT4/32" dev lo
	ip -n "$NS_ISP2" addr add "$ISP2_CLIENT6/128" dev lo nodad
	ip -n "$NS_ISP2" link set to-host up
	ip -n "$NS_ISP2" link set to-isp up
	ip -n "$NS_ISP" addr add 10.99.4.1/24 dev to-isp2
	ip -n "$NS_ISP" addr add fd99:4::1/64 dev to-isp2 nodad
	ip -n "$NS_ISP" link set to-isp2 up
	ip -n "$NS_ISP2" route add default via 10.99.4.1 || die "isp2 routes failed"
	ip -n "$NS_ISP2" -6 route add default via fd99:4::1 || die "isp2 routes failed"
	ip -n "$NS_ISP" route add 10.99.3.0/24 via 10.99.4.2 || die "isp routes failed"
	ip -n "$NS_ISP" -6 route add fd99:3::/64 via fd99:4::2 || die "isp routes failed"
	[ -n "$(ip -n "$NS_HOST" -o link show eth1 2>/dev/null)" ] || die "host has no eth1"
	mkdir -p "/etc/netns/$NS_ISP2" || die "cannot create /etc/netns/$NS_ISP2"
	echo "nameserver $ISP_ADDR4" >"/etc/netns/$NS_ISP2/resolv.conf"
	# isp2 reaches the internet; host reaches isp2 on eth1
	local got
	got=$(FETCH_NS=$NS_ISP2 fetch api.ipify.org)
	[ "$got" = 10.99.4.2 ] || die "lab broken: isp2 cannot reach the web (saw '$got')"
	# the whole path through eth1, with a temporary host route to one web address
	local w4 w6
	w4=$(lab_addr ifconfig.me 4)
	w6=$(lab_addr ifconfig.me 6)
	ip -n "$NS_HOST" route add "$w4/32" via "$ISP2_GW4" dev eth1 &&
		ip -n "$NS_HOST" -6 route add "$w6/128" via "$ISP2_GW6" dev eth1 ||
		die "cannot add the test routes via eth1"
	got=$(fetch "$w4")
	[ "$got" = "$ISP2_HOST4" ] || die "lab broken: fetch via eth1 and isp2 saw '$got'"
	got=$(fetch "[$w6]")
	[ "$got" = "$ISP2_HOST6" ] || die "lab broken: IPv6 fetch via eth1 and isp2 saw '$got'"
	ip -n "$NS_HOST" route del "$w4/32" via "$ISP2_GW4" dev eth1
	ip -n "$NS_HOST" -6 route del "$w6/128" via "$ISP2_GW6" dev eth1
	set_rp_filter "$LAB_RP_FILTER"
	note "isp2 up: host eth1 $ISP2_HOST4 $ISP2_HOST6, gateway $ISP2_GW4 $ISP2_GW6"
}

# lab_add_vpn2: a second WireGuard server (vpn2) and host's second tunnel $WG_HOST2.
lab_add_vpn2() {
	lab_ns_add "$NS_VPN2"
	ip netns exec "$NS_VPN2" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		die "sysctl in vpn2 failed"
	ip -n "$NS_VPN2" link add eth0 type veth peer name to-vpn2 netns "$NS_ISP" ||
		die "veth vpn2-isp failed"
	ip -n "$NS_ISP" addr add 10.99.6.1/24 dev to-vpn2
	ip -n "$NS_ISP" addr add fd99:6::1/64 dev to-vpn2 nodad
	ip -n "$NS_ISP" link set to-vpn2 up
	ip -n "$NS_VPN2" addr add "$VPN2_ADDR4/24" dev eth0
	ip -n "$NS_VPN2" addr add "$VPN2_ADDR6/64" dev eth0 nodad
	ip -n "$NS_VPN2" link set eth0 up
	ip -n "$NS_VPN2" route add default via 10.99.6.1 || die "vpn2 routes failed"
	ip -n "$NS_VPN2" -6 route add default via fd99:6::1 || die "vpn2 routes failed"

	(umask 077 && wg genkey >"$LAB_TMP/host2.key" && wg genkey >"$LAB_TMP/vpn2.key") ||
		die "wg genkey failed"
	wg pubkey <"$LAB_TMP/host2.key" >"$LAB_TMP/host2.pub"
	wg pubkey <"$LAB_TMP/vpn2.key" >"$LAB_TMP/vpn2.pub"
	LAB_EXTRA_WG+=("$WG_VPN2" "$WG_HOST2")
	wg_start "$NS_VPN2" "$WG_VPN2" || die "wireguard-go $WG_VPN2 did not start"
	in_vpn2 wg set "$WG_VPN2" private-key "$LAB_TMP/vpn2.key" listen-port "$WG_PORT" \
		peer "$(cat "$LAB_TMP/host2.pub")" allowed-ips "$HOST_WG2_4/32,$HOST_WG2_6/128" ||
		die "wg set $WG_VPN2 failed"
	ip -n "$NS_VPN2" addr add "$VPN2_WG4/24" dev "$WG_VPN2"
	ip -n "$NS_VPN2" addr add "$VPN2_WG6/64" dev "$WG_VPN2" nodad
	ip -n "$NS_VPN2" link set "$WG_VPN2" up || die "cannot set $WG_VPN2 up"
	in_vpn2 nft -f - <<EOT || die "nft masquerade in vpn2 failed"
table inet lab {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip saddr 10.99.10.0/24 masquerade
		oifname "eth0" ip6 saddr fd99:10::/64 masquerade
	}
}
EOT
	lab_echo "$NS_VPN2" web-vpn2 "$VPN2_WG4" "$VPN2_WG6"

	wg_start "$NS_HOST" "$WG_HOST2" || die "wireguard-go $WG_HOST2 did not start"
	WG_HOST2_PID=$WG_STARTED
	in_host wg set "$WG_HOST2" private-key "$LAB_TMP/host2.key" \
		peer "$(cat "$LAB_TMP/vpn2.pub")" endpoint "$VPN2_ADDR4:$WG_PORT" \
		allowed-ips 0.0.0.0/0,::/0 persistent-keepalive 25 || die "wg set $WG_HOST2 failed"
	ip -n "$NS_HOST" addr add "$HOST_WG2_4/24" dev "$WG_HOST2"
	ip -n "$NS_HOST" addr add "$HOST_WG2_6/64" dev "$WG_HOST2" nodad
	ip -n "$NS_HOST" link set "$WG_HOST2" up || die "cannot set $WG_HOST2 up"
	set_rp_filter "$LAB_RP_FILTER"
	local got
	got=$(fetch "$VPN2_WG4")
	[ "$got" = "$HOST_WG2_4" ] || die "lab broken: fetch through the second tunnel saw '$got'"
	got=$(fetch "[$VPN2_WG6]")
	[ "$got" = "$HOST_WG2_6" ] || die "lab broken: IPv6 fetch through the second tunnel saw '$got'"
	note "vpn2 up: tunnel $WG_HOST2 to $VPN2_ADDR4, exit $VPN2_ADDR4 $VPN2_ADDR6"
}

# lab_add_lan: a LAN namespace behind host's eth2 (host does not forward yet).
lab_add_lan() {
	lab_ns_add "$NS_LAN"
	ip -n "$NS_HOST" link add eth2 type veth peer name eth0 netns "$NS_LAN" ||
		die "veth host-lan failed"
	ip -n "$NS_HOST" addr add "$LAN_GW4/24" dev eth2
	ip -n "$NS_HOST" addr add "$LAN_GW6/64" dev eth2 nodad
	ip -n "$NS_HOST" link set eth2 up
	ip -n "$NS_LAN" addr add "$LAN_ADDR4/24" dev eth0
	ip -n "$NS_LAN" addr add "$LAN_ADDR6/64" dev eth0 nodad
	ip -n "$NS_LAN" link set eth0 up
	ip -n "$NS_LAN" route add default via "$LAN_GW4" || die "lan routes failed"
	ip -n "$NS_LAN" -6 route add default via "$LAN_GW6" || die "lan routes failed"
	mkdir -p "/etc/netns/$NS_LAN" || die "cannot create /etc/netns/$NS_LAN"
	echo "nameserver $ISP_ADDR4" >"/etc/netns/$NS_LAN/resolv.conf"
	set_rp_filter "$LAB_RP_FILTER"
	note "lan up: client $LAN_ADDR4 $LAN_ADDR6 behind host eth2 $LAN_GW4 $LAN_GW6"
}

# lab_counter TABLE CHAIN COMMENT: packets counted by the rule of host's
# `inet TABLE` whose comment is COMMENT (for counter rules a test installs).
lab_counter() {
	in_host nft list chain inet "$1" "$2" 2>/dev/null |
		sed -n "s/.*counter packets \([0-9]*\) bytes .*comment \"$3\".*/\1/p" | head -n 1
}

# ---------------------------------------------------------------- resolvers, timing (t3N)

# lab_dns_conf [EDIT...]: the lab's dnsmasq configuration (lab_dnsmasq_conf), edited:
# KEY=VALUE replaces every line of KEY (appended when there is none), +LINE appends LINE
# (for repeatable keys: address=, addn-hosts=, synth-domain=), -KEY drops KEY's lines.
lab_dns_conf() {
	local conf e key
	conf=$(lab_dnsmasq_conf)
	for e in "$@"; do
		case $e in
		+*) conf+=$'\n'"${e#+}" ;;
		-*) conf=$(grep -v -E "^${e#-}(=|\$)" <<<"$conf") ;;
		*=*)
			key=${e%%=*}
			if grep -q -E "^$key(=|\$)" <<<"$conf"; then
				conf=$(awk -v k="^$key(=|\$)" -v l="$e" \
					'$0 ~ k { if (!d) print l; d = 1; next } { print }' <<<"$conf")
			else
				conf+=$'\n'"$e"
			fi
			;;
		*) conf+=$'\n'"$e" ;;
		esac
	done
	printf '%s\n' "$conf"
}

# lab_dns_start NS TAG [EDIT...]: a dnsmasq in NS configured by lab_dns_conf EDIT...,
# its files $LAB_TMP/TAG.{conf,log,pid,out}; returns once it answers github.com on its
# first listen-address. Its pid is in $SPAWNED (lab_down stops it).
lab_dns_start() {
	local ns=$1 tag=$2 addr pid
	shift 2
	lab_dns_conf "log-facility=$LAB_TMP/$tag.log" "pid-file=$LAB_TMP/$tag.pid" "$@" \
		>"$LAB_TMP/$tag.conf"
	addr=$(sed -n 's/^listen-address=//p' "$LAB_TMP/$tag.conf" | head -n 1)
	spawn "$ns" "$LAB_TMP/$tag.out" dnsmasq --keep-in-foreground \
		--conf-file="$LAB_TMP/$tag.conf"
	pid=$SPAWNED
	wait_for 5 eval "[ -n \"\$(ip netns exec $ns dig +short +time=1 +tries=1 @$addr \
		github.com A)\" ]" ||
		die "dnsmasq $tag in $ns does not answer: $(cat "$LAB_TMP/$tag.out" "$LAB_TMP/$tag.log")"
	SPAWNED=$pid
}

# lab_dns_restart [EDIT...]: restarts the lab's resolver (isp, 10.99.1.1) with
# lab_dns_conf EDIT..., keeping its files ($LAB_TMP/dnsmasq.{conf,log,pid}). Its pid is in
# $LAB_DNS_PID (SIGHUP makes dnsmasq re-read addn-hosts files).
LAB_DNS_PID=
lab_dns_restart() {
	local old
	old=$(cat "$LAB_TMP/dnsmasq.pid" 2>/dev/null)
	[ -n "$old" ] && stop_pid "$old"
	lab_dns_start "$NS_ISP" dnsmasq "$@"
	# shellcheck disable=SC2034 # for the tests (SIGHUP)
	LAB_DNS_PID=$SPAWNED
}

# lab_sleep_until T0_MS OFFSET_MS: sleeps until OFFSET_MS after T0_MS (a now_ms value);
# returns at once when that is past.
lab_sleep_until() {
	local left=$(($1 + $2 - $(now_ms)))
	[ "$left" -gt 0 ] && sleep "$((left / 1000)).$(printf '%03d' $((left % 1000)))"
	return 0
}

# nfq_status_kb FIELD: a field of nfqroute's /proc/PID/status in kB (VmRSS, VmHWM, ...).
nfq_status_kb() {
	[ -n "$NFQ_PID" ] && awk -v f="$1:" '$1 == f { print $2 }' "/proc/$NFQ_PID/status" 2>/dev/null
}
