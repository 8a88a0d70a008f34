#!/bin/bash
# Issue 4, bounded memory: with max-entries = 2000, a flood of up to a million distinct
# names (at least 20000 answered within FLOOD_SECS) under a routed domain (flood.test),
# all answered by the lab resolver and nobody connecting to them, keeps nfqroute's memory bounded, its table capped (the earliest flood address is
# evicted) and its verdicts flowing: routed and direct fetches of other domains keep
# working during and after the flood, and nfqroute is still alive.
#
# The lab resolver answers every name of the flood:
#   fA-B-C-D.s.flood.test  -> A.B.C.D (synth-domain, 10.96.0.0/12: one address per name)
#   rHEX.w.flood.test      -> 10.99.7.1 (address=: a new name for the same address)
# dnsperf (Debian: apt-get install dnsperf) sends them from host, as fast as the resolver
# answers with 100 queries outstanding, for at most FLOOD_SECS seconds.
#
# Memory bound: everything sized by the configuration is reserved at start (addrmap:
# ~38 bytes per possible entry plus name text, ~125 KB for 2000 entries; the refresh table
# for refresh-max-names, ~1.3 MB), so the flood may only touch pages reserved at start
# and short-lived buffers. nfqroute's peak resident size (VmHWM) may grow by at most
# FLOOD_GROWTH_KB (4 MiB) over its size before the flood (a leak of only 8 bytes per name
# over 500k names would exceed it; the flood measured here adds ~0.3 MiB), and must stay
# below FLOOD_RSS_KB (32 MiB; ~4.5 MiB measured) absolutely.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FLOOD_NAMES=${FLOOD_NAMES:-1000000}
FLOOD_SECS=${FLOOD_SECS:-20}
FLOOD_MIN=20000				# fewer answered names: the test proves nothing
FLOOD_GROWTH_KB=${FLOOD_GROWTH_KB:-4096}
FLOOD_RSS_KB=${FLOOD_RSS_KB:-32768}
FIRST=10.96.0.1				# resolved before the flood: evicted by it
LAST=10.100.200.1			# resolved after the flood: routed

command -v dnsperf >/dev/null || { echo "SKIP $LAB_NAME: dnsperf missing (apt-get install dnsperf)"; exit 77; }

lab_up
lab_dns_restart -log-queries "+synth-domain=s.flood.test,10.96.0.0/12,f" \
	"+address=/w.flood.test/10.99.7.1"
for a in $FIRST $LAST; do
	ip -n "$NS_ISP" addr add "$a/32" dev lo || die "cannot add $a in isp"
done
lab_echo "$NS_ISP" web-flood $FIRST $LAST
name_of() { echo "f${1//./-}.s.flood.test"; }
[ "$(in_host dig +short "$(name_of $FIRST)" A)" = $FIRST ] || die "synth-domain does not answer"

python3 - "$LAB_TMP/flood.txt" "$FLOOD_NAMES" <<'EOF'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(4)
with open(path, "w") as f:
    for i in range(n):
        if i % 2:
            f.write("r%016x.w.flood.test A\n" % rnd.getrandbits(64))
        else:
            a = 0x0a600002 + i // 2	# 10.96.0.2 and up, distinct
            f.write("f%d-%d-%d-%d.s.flood.test A\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255))
EOF

CONF_DOMAINS="icanhazip.com flood.test" CONF_GLOBAL_EXTRA="max-entries = 2000
cache = none" write_conf
nfq_start
comm=$(basename "$NFQROUTE")
[ "$(cat "/proc/$NFQ_PID/comm" 2>/dev/null)" = "${comm:0:15}" ] || abort "pid $NFQ_PID is not nfqroute"

assert_via_vpn ipv4.icanhazip.com
assert_direct api.ipify.org
assert_via_vpn "$(name_of $FIRST)"		# flood names are routed
rss0=$(nfq_status_kb VmRSS)
note "before the flood: VmRSS $rss0 kB, VmHWM $(nfq_status_kb VmHWM) kB"

# probes: a routed and a direct fetch (each a DNS answer and a new flow) every 0.5 s
probe() {
	local t got
	while [ ! -e "$LAB_TMP/probe.stop" ]; do
		for n in ipv4.icanhazip.com api.ipify.org; do
			t=$(now_ms)
			got=$(FETCH_TIMEOUT=5 fetch "$n" -4)
			echo "$n $(($(now_ms) - t)) ${got:-none}"
		done
		sleep 0.5
	done
}
probe >"$LAB_TMP/probe.out" 2>&1 &
PROBE_PID=$!
LAB_PIDS+=("$PROBE_PID")

note "flood: up to $FLOOD_NAMES names in $FLOOD_SECS s"
t0=$(now_ms)
in_host dnsperf -s "$ISP_ADDR4" -d "$LAB_TMP/flood.txt" -n 1 -l "$FLOOD_SECS" -t 2 \
	>"$LAB_TMP/dnsperf.out" 2>&1
note "dnsperf: $(($(now_ms) - t0)) ms; $(grep -E 'Queries (completed|lost)|per second' \
	"$LAB_TMP/dnsperf.out" | tr -s ' ' | tr '\n' ';')"
touch "$LAB_TMP/probe.stop"
wait "$PROBE_PID"

completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$LAB_TMP/dnsperf.out")
noerror=$(sed -n 's/.*NOERROR \([0-9]*\).*/\1/p' "$LAB_TMP/dnsperf.out")
if [ "${noerror:-0}" -ge "$FLOOD_MIN" ]; then
	ok "flood: ${noerror} distinct names answered (NOERROR) of ${completed} completed"
else
	fail "flood: only '${noerror:-?}' names answered, need $FLOOD_MIN"
	sed 's/^/#   /' "$LAB_TMP/dnsperf.out"
fi

if nfq_alive; then ok "nfqroute alive after the flood"; else abort "nfqroute died in the flood"; fi
rss=$(nfq_status_kb VmRSS)
hwm=$(nfq_status_kb VmHWM)
note "after the flood: VmRSS $rss kB, VmHWM $hwm kB (before: VmRSS $rss0 kB)"
if [ "$hwm" -le $((rss0 + FLOOD_GROWTH_KB)) ] && [ "$hwm" -le "$FLOOD_RSS_KB" ]; then
	ok "peak resident memory $hwm kB <= before ($rss0 kB) + $FLOOD_GROWTH_KB kB and <= $FLOOD_RSS_KB kB"
else
	fail "peak resident memory $hwm kB: over before ($rss0 kB) + $FLOOD_GROWTH_KB kB or over" \
		"$FLOOD_RSS_KB kB"
fi

# responsiveness during the flood
n_probe=$(grep -c . "$LAB_TMP/probe.out")
bad=$(awk -v v="$VPN_ADDR4" -v h="$HOST_ADDR4" \
	'($1 ~ /icanhazip/ && $3 != v) || ($1 ~ /ipify/ && $3 != h)' "$LAB_TMP/probe.out")
slow=$(awk '$2 > 2000' "$LAB_TMP/probe.out")
maxms=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$LAB_TMP/probe.out")
if [ "$n_probe" -ge 4 ] && [ -z "$bad" ] && [ -z "$slow" ]; then
	ok "during the flood: $n_probe fetches, all routed right, slowest $maxms ms"
else
	fail "during the flood: $n_probe fetches, wrong or failed: $(wc -l <<<"$bad" | tr -d ' ')" \
		"(${bad:+first: $(head -n 1 <<<"$bad")}), over 2 s: $(grep -c . <<<"$slow")," \
		"slowest $maxms ms"
fi

# after the flood: still routing, the table capped
assert_via_vpn ipv4.icanhazip.com
assert_direct api.ipify.org
assert_via_vpn "$(name_of $LAST)"
got=$(fetch "$(name_of $FIRST)" -4 --resolve "$(name_of $FIRST):80:$FIRST")
assert_eq "$FIRST by IP (learned before the flood, evicted by it): direct" "$HOST_ADDR4" "$got"
rss=$(nfq_status_kb VmRSS)
nfq_stop
grep -o 'stopped: .*' "$NFQ_LOG" | tail -n 1 | sed 's/^/# /'
learned=$(grep -o 'stopped: .*' "$NFQ_LOG" | tail -n 1 | sed -n 's/.* \([0-9]*\) addresses learned.*/\1/p')
if [ "${learned:-0}" -ge "$FLOOD_MIN" ]; then
	ok "nfqroute learned $learned addresses (max-entries 2000)"
else
	fail "nfqroute learned only '${learned:-?}' addresses: the flood did not reach it"
fi
lab_result
