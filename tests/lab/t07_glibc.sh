#!/bin/bash
# glibc sends A and AAAA back to back from one socket. If nfqroute loses or mangles one
# of the two replies, getaddrinfo waits 5 s and retries. Every lookup must finish in < 2 s
# with both families; then curl through the system resolver works.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
write_conf
nfq_start

# lookups NAME COUNT WANT...: getent ahosts COUNT times, each < 2 s and listing every WANT.
lookups() {
	local name=$1 count=$2 i t0 t1 ms out slow=0 bad=0 max=0 w
	shift 2
	for ((i = 1; i <= count; i++)); do
		t0=$(date +%s%N)
		out=$(in_host timeout 6 getent ahosts "$name")
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ "$ms" -gt "$max" ] && max=$ms
		[ "$ms" -ge 2000 ] && slow=$((slow + 1))
		for w in "$@"; do
			grep -q "^$w " <<<"$out" || bad=$((bad + 1))
		done
		[ "$slow" -ge 1 ] && break	# one stall is enough evidence; keep the test short
	done
	i=$((i > count ? count : i))
	if [ "$slow" -eq 0 ] && [ "$bad" -eq 0 ]; then
		ok "getent ahosts $name x$i: all answers complete, slowest ${max} ms"
	else
		fail "getent ahosts $name x$i: $slow lookup(s) took >= 2 s (slowest ${max} ms)," \
			"$bad missing address(es) (wanted $*)"
	fi
}

lookups github.com 10 "$(lab_addr github.com 4)" "$(lab_addr github.com 6)"
lookups api64.ipify.org 10 "$(lab_addr api64.ipify.org 4)" "$(lab_addr api64.ipify.org 6)"
lookups ipv4.icanhazip.com 5 "$(lab_addr ipv4.icanhazip.com 4)"	# AAAA: NODATA
lookups www.cdn-alias.test 5 "$(lab_addr edge.cdn.test 4)" "$(lab_addr edge.cdn.test 6)"

assert_via_vpn github.com
assert_via_vpn github.com -6
assert_direct api64.ipify.org
assert_direct api64.ipify.org -6
nfq_stop
lab_result
