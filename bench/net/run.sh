#!/bin/bash
# Network benchmark of nfqroute's packet path (issue 7): `make bench-net`, or as root
#   bash bench/net/run.sh [PATH/TO/nfqroute]
#
# Builds two network namespaces of its own and measures, side by side on the same
# generator in the same run:
#   none      no rules at all
#   nftset    the in-kernel design: an nftables set of destinations marks new connections
#   minq      a minimal batched NFQUEUE consumer (bench/net/nfq_min.c) behind nfqroute's own
#             ruleset: the limit of the queue design (variants: minq-vbatch with one
#             VERDICT_BATCH message per batch, minq-loop64 with nfqroute's current I/O
#             pattern: a recv() per packet, 64 per wakeup, verdicts in one sendto)
#   nfqroute  nfqroute with the 110k-domain dnsmasq-china-list plus gfwlist and a few
#             thousand addresses learned from DNS replies
#   minq-q2, nfqroute-q2  the same over two fanned-out queues (queue = Q-(Q+1), DNS replies
#             on Q+2): two nfq_min processes (one per queue) behind nfqroute's ruleset for
#             `queue = Q-(Q+1)`, and nfqroute with that configuration (one worker per queue);
#             floods from BENCH_Q2_GENS generator processes. Compared with minq and nfqroute:
#             does the new-flow rate grow with a second queue (and core)?
# Figures: new UDP flows/s (distinct source ports) counted per egress interface at the sink,
# first-packet latency p50/p99/p99.9 (request/response on new flows), CPU per verdict,
# queue and conntrack drops; DNS qps/latency with dnsperf with and without nfqroute's
# snooping, and dnsmasq with nftset= for comparison. Prints a table and writes
# bench/results/net-YYYYmmdd-HHMMSS.json.
#
# Topology (names unique per run; everything is deleted on exit, whatever happens):
#
#   gen (nfqroute, generator, prober)              sink (counters, echo, dnsmasq)
#   bm0 10.201.1.2/24  main route  ------------->  bm1 10.201.1.1/24  dnsmasq :53
#   bv0 10.201.2.2/24  table 100 (mark 0x100) -->  bv1 10.201.2.1/24
#   routed destinations 10.202.x.y, direct ones 10.203.x.y: local to sink (route local)
#
# Every flood packet goes to a routed (learned) destination: with nftset, minq and
# nfqroute all of them must arrive on bv1, with none on bm1; arrivals on the other interface
# are counted as wrong marks.
#
# Every configuration is measured once per round (BENCH_ROUNDS, 3) and the report takes the
# median of the rounds: the machines are shared, and interleaving spreads drifting background
# load over all configurations alike. Floods run in bursts of at most BENCH_BURST seconds
# with conntrack flushed in between so its table (262144 entries) never fills.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_SECS (saturating flood seconds per round, 2),
# BENCH_BURST (0.8), BENCH_PACED_RATE (flows/s of the paced run, 40000; 0 skips it),
# BENCH_PACED_SECS (1), BENCH_PROBES (probes per round, 10000), BENCH_PROBE_SECS (2),
# BENCH_DNS_SECS (saturating dnsperf seconds, 2), BENCH_DNS_LAT_QPS (2000) and
# BENCH_DNS_LAT_SECS (1) for the paced DNS latency run, BENCH_ROUTED (routed names and
# addresses, 4096), BENCH_DIRECT (1024), BENCH_CPU_GEN (0) and BENCH_CPU_QUEUE (1): CPUs of the
# generator and of the queue reader during floods,
# BENCH_PERF (1: perf stat of syscalls and a perf profile of the queue readers in the last
# round), BENCH_NICE (-15: priority of everything the script runs; empty: unchanged),
# BENCH_RT (1: SCHED_FIFO for the processes of the latency runs while they run; 0: off),
# BENCH_CPU_LAT (1: the one CPU that all processes of a latency run share; empty: any),
# BENCH_KEEP=1 (keep the work files), BENCH_RESULTS (directory of the JSON, default
# bench/results), BENCH_CONFIGS (subset of "none nftset minq minq-vbatch minq-loop64 nfqroute
# minq-q2 nfqroute-q2 dns").
# Two queues: BENCH_Q2_GENS (2: generator processes of the -q2 floods, generator j on CPU
# (BENCH_CPU_GEN + j) mod nproc, each its own source ports, the rate split among them),
# BENCH_Q2_PIN (1: reader of queue Q+i on CPU i, i.e. nfq_min pinned and nfqroute with
# pin-workers = yes; 0: readers unpinned), BENCH_Q2_FANOUT (hash: the kernel's hash of the
# addresses, the default of `queue = N-M`; cpu: `queue-fanout = cpu`). BENCH_MINQ_SPIN (0):
# nanoseconds of CPU every minimal consumer (minq*) burns per packet, a stand-in for a
# consumer whose own work, not the kernel's, limits it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH LC_ALL=C

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$SRC/../.." && pwd)
NFQROUTE=${1:-${NFQROUTE:-$TOP/nfqroute}}
DATA=${BENCH_DATA:-$TOP/../shared/data/domainlists}
[ -d "$DATA" ] || DATA=/work/shared/data/domainlists

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-2}
BURST=${BENCH_BURST:-0.8}
PACED_RATE=${BENCH_PACED_RATE:-40000}
PACED_SECS=${BENCH_PACED_SECS:-1}
PROBES=${BENCH_PROBES:-10000}
PROBE_SECS=${BENCH_PROBE_SECS:-2}
DNS_SECS=${BENCH_DNS_SECS:-2}
DNS_LAT_SECS=${BENCH_DNS_LAT_SECS:-1}
DNS_LAT_QPS=${BENCH_DNS_LAT_QPS:-2000}
N_ROUTED=${BENCH_ROUTED:-4096}
N_DIRECT=${BENCH_DIRECT:-1024}
CPU_GEN=${BENCH_CPU_GEN:-0}
CPU_Q=${BENCH_CPU_QUEUE:-1}
DO_PERF=${BENCH_PERF:-1}
NICE=${BENCH_NICE--15}
RT=${BENCH_RT:-1}
CPU_LAT=${BENCH_CPU_LAT-1}
CONFIGS=${BENCH_CONFIGS:-"none nftset minq minq-vbatch minq-loop64 nfqroute minq-q2 nfqroute-q2 dns"}
Q2_GENS=${BENCH_Q2_GENS:-2}
Q2_PIN=${BENCH_Q2_PIN:-1}
Q2_FANOUT=${BENCH_Q2_FANOUT:-hash}
MINQ_SPIN=${BENCH_MINQ_SPIN:-0}
NCPU=$(nproc)
RESULTS=${BENCH_RESULTS:-$TOP/bench/results}

ID=$$
NS_GEN=nqb$ID-gen
NS_SINK=nqb$ID-sink
GEN_M=10.201.1.2
SINK_M=10.201.1.1
GEN_V=10.201.2.2
SINK_V=10.201.2.1
ROUTED=10.202		# PREFIX.(i / 250).(i % 250 + 1), as flowgen and probe compute it
DIRECT=10.203
MARK=0x100
TABLE=100
QUEUE=0
Q2_SPEC=$QUEUE-$((QUEUE + 1))	# the -q2 configurations: queues QUEUE and QUEUE+1, DNS on QUEUE+2
Q2_QUEUES="$QUEUE $((QUEUE + 1))"

TMP=
PIDS=()
ECHO_PID=
SINK_DNS_PID=
READER_PID=	# the queue reader(s) of the configuration being measured (pids, space-separated)
CLK_TCK=$(getconf CLK_TCK)
# Flood layout of the configuration being measured (run_* set it, flood_layout resets it):
# the queues whose kernel counters are read, the number of generator processes, and
# whether floods pin the reader to CPU_Q (1) or leave it where its run_* placed it (0).
FLOOD_QUEUES=$QUEUE
FLOOD_GENS=1
FLOOD_PIN=1
# Why a -q2 configuration was not measured (empty: it was, or it was not asked for), and
# how minq-q2's ruleset was made.
Q2_NFQ_SKIP=
Q2_MINQ_SKIP=
Q2_MINQ_RULES=
declare -A AFFINITY	# thread id -> CPU list saved by rt on, restored by rt off

# ---------------------------------------------------------------- helpers

say() { printf '# %s\n' "$*" >&2; }
die() {
	printf 'bench-net: %s\n' "$*" >&2
	exit 1
}

in_gen() { ip netns exec "$NS_GEN" "$@"; }
# bounded SECONDS CMD...: CMD in gen, killed if it is still running after SECONDS (every
# measurement tool runs this way: a hung tool must not hang the benchmark).
bounded() {
	local secs=$1
	shift
	timeout -s KILL "$secs" ip netns exec "$NS_GEN" "$@"
}
in_sink() { ip netns exec "$NS_SINK" "$@"; }

now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((t / 1000))
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s.
wait_for() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# spawn NS LOG CPU CMD...: start CMD in namespace NS in its own session, pinned to CPU
# ("-" for no pinning); its pid (ip netns exec, taskset and setsid exec) is in $SPAWNED.
SPAWNED=
spawn() {
	local ns=$1 logf=$2 cpu=$3
	shift 3
	if [ "$cpu" = - ]; then
		ip netns exec "$ns" setsid "$@" >"$logf" 2>&1 </dev/null &
	else
		ip netns exec "$ns" taskset -c "$cpu" setsid "$@" >"$logf" 2>&1 </dev/null &
	fi
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

# boost PID: with autogroup scheduling (on here) a nice value counts only inside the
# process's session, so the session's autogroup gets NICE too (setsid starts a new one:
# call this once the process is up, not right after spawn).
boost() {
	[ -n "$NICE" ] || return 0
	renice -n "$NICE" -p "$1" >/dev/null 2>&1
	[ -w "/proc/$1/autogroup" ] && echo "$NICE" >"/proc/$1/autogroup" 2>/dev/null
	return 0
}

# stop_pid PID [SECONDS]: SIGTERM, SIGKILL after SECONDS (default 3), then reap.
stop_pid() {
	local pid=$1 secs=${2:-3}
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait_for "$secs" eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local pid ns
	trap - EXIT INT TERM HUP
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait_for 2 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	done
	# anything else still running inside our namespaces was started by this script
	for ns in "$NS_GEN" "$NS_SINK"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	wait 2>/dev/null
	for ns in "$NS_GEN" "$NS_SINK"; do
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${BENCH_KEEP:-0}" = 1 ]; then
			say "work files kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
}

# dig_ok SERVER NAME: SERVER answers NAME with an address (dig prints errors to stdout).
dig_ok() { in_gen dig +short +time=1 +tries=1 "@$1" "$2" A 2>/dev/null | grep -q '^[0-9]'; }

# addr PREFIX I: bench address I of PREFIX (a.b).
addr() { echo "$1.$(($2 / 250)).$(($2 % 250 + 1))"; }

want() { case " $CONFIGS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- counters

# sink_counters: "flood_main flood_mark probe_main probe_mark" packet counts.
sink_counters() {
	in_sink nft -j list counters table inet nqbsink |
		jq -r '[.nftables[] | select(.counter) | .counter | {(.name): .packets}] | add |
		       "\(.flood_main) \(.flood_mark) \(.probe_main) \(.probe_mark)"'
}

# queue_lines: one line "queue total dropped user_dropped id_sequence" for every queue of
# FLOOD_QUEUES in gen ("queue 0 0 0 0" for one nobody holds).
queue_lines() {
	in_gen cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk -v qs="$FLOOD_QUEUES" '{ v[$1] = $3 " " $6 " " $7 " " $8 }
			END { n = split(qs, l, " ")
			      for (i = 1; i <= n; i++) print l[i], (l[i] in v ? v[l[i]] : "0 0 0 0") }'
}

# flood_layout [QUEUES GENS PIN]: set the flood layout (see FLOOD_QUEUES); no arguments: the
# single-queue one.
flood_layout() {
	FLOOD_QUEUES=${1:-$QUEUE}
	FLOOD_GENS=${2:-1}
	FLOOD_PIN=${3:-1}
}

# ct_stats: "drop early_drop insert_failed count" of gen's conntrack.
ct_stats() {
	local s c
	s=$(in_gen conntrack -S 2>/dev/null | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] }
	} END { printf "%d %d %d", v["drop"], v["early_drop"], v["insert_failed"] }')
	c=$(in_gen conntrack -C 2>/dev/null || echo 0)
	echo "${s:-0 0 0} ${c:-0}"
}

# pid_cpu PID...: utime+stime of the processes (all their threads) in clock ticks, summed
# (0 for no such process).
pid_cpu() {
	local pid sum=0 t
	for pid in "$@"; do
		if [ -z "$pid" ] || [ ! -r "/proc/$pid/stat" ]; then continue; fi
		t=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}

# sys_cpu: "busy softirq" ticks over all CPUs (the whole machine).
sys_cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $8 }' /proc/stat; }

# ---------------------------------------------------------------- measurements

# pin PID CPU|all: move a running queue reader (floods pin it, latency and DNS do not).
pin() {
	[ -n "${1:-}" ] || return 0
	if [ "$2" = all ]; then
		taskset -apc "0-$(($(nproc) - 1))" "$1" >/dev/null 2>&1
	else
		taskset -apc "$2" "$1" >/dev/null 2>&1
	fi
}

# flowgens SECS RATE [SPORT0]: one burst of FLOOD_GENS generator processes in parallel
# (one: on CPU_GEN; several: generator j on CPU (CPU_GEN + j) mod nproc with its own source
# ports, so no two of them send the same 5-tuple), RATE (0: as fast as they can) split among
# them. Prints one JSON object: packets and errors summed, seconds of the longest-running one,
# CPU summed, the single outputs in "each".
flowgens() {
	local secs=$1 rate=$2 port=${3:-$((1024 + RANDOM % 4096))} j r pids=()
	rm -f "$TMP"/gen.*.out
	r=$(awk -v r="$rate" -v n="$FLOOD_GENS" 'BEGIN { print r / n }')
	for ((j = 0; j < FLOOD_GENS; j++)); do
		bounded 30 taskset -c $(((CPU_GEN + j) % NCPU)) "$TMP/bin/flowgen" -s "$GEN_M" \
			-d "$ROUTED" -n "$N_ROUTED" -p 9 -t "$secs" -r "$r" -b 64 -l 64 \
			-P $((port + j * 8192)) >"$TMP/gen.$j.out" &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null
	for ((j = 0; j < FLOOD_GENS; j++)); do
		grep '^{' "$TMP/gen.$j.out" || echo '{}'
	done | jq -c -s '{sent: (map(.sent // 0) | add), secs: (map(.secs // 0) | max),
		send_errors: (map(.send_errors // 0) | add), cpu_s: (map(.cpu_s // 0) | add),
		each: .}'
}

# measure_flood CFG KIND RATE SECS "QPID...": the generators (flowgens; RATE 0 = as fast as
# they can) for SECS in bursts of at most BURST seconds with conntrack flushed in between, so
# the 262144-entry conntrack table never fills (at 200k+ new flows/s it would, and early
# drops would then be measured instead of the path); with FLOOD_PIN the queue readers QPID
# are pinned to CPU_Q meanwhile. Kernel counters of every queue of FLOOD_QUEUES (summed, and
# per queue in "per_queue"). Writes parts/CFG.KIND.rROUND.json.
measure_flood() {
	local cfg=$1 kind=$2 rate=$3 secs=$4 qpids=$5
	local c0 c1 q0 q1 t0 t1 p0 p1 g left b gens=() p
	# shellcheck disable=SC2086 # lists of pids
	if [ "$FLOOD_PIN" = 1 ]; then for p in $qpids; do pin "$p" "$CPU_Q"; done; fi
	c0=$(sink_counters)
	q0=$(queue_lines)
	t0=$(ct_stats)
	# shellcheck disable=SC2086
	p0=$(pid_cpu $qpids)
	local busy=0 softirq=0 sa sb
	left=$secs
	while awk -v l="$left" 'BEGIN { exit !(l > 0.01) }'; do
		b=$(awk -v l="$left" -v m="$BURST" 'BEGIN { print (l < m ? l : m) }')
		left=$(awk -v l="$left" -v b="$b" 'BEGIN { print l - b }')
		in_gen conntrack -F >/dev/null 2>&1
		sa=$(sys_cpu)
		g=$(flowgens "$b" "$rate")
		sb=$(sys_cpu)
		busy=$((busy + ${sb% *} - ${sa% *}))
		softirq=$((softirq + ${sb#* } - ${sa#* }))
		gens+=("${g:-"{}"}")
		sleep 0.2	# let the queue drain
	done
	# shellcheck disable=SC2086
	p1=$(pid_cpu $qpids)
	q1=$(queue_lines)
	t1=$(ct_stats)
	c1=$(sink_counters)
	if [ "$FLOOD_PIN" = 1 ]; then for p in $qpids; do pin "$p" all; done; fi
	printf '%s\n' "${gens[@]}" | jq -s --argjson n "$FLOOD_GENS" '{sent: (map(.sent // 0) | add),
		secs: (map(.secs // 0) | add), send_errors: (map(.send_errors // 0) | add),
		cpu_s: (map(.cpu_s // 0) | add), bursts: length, processes: $n}' >"$TMP/gen.json"
	jq -n --slurpfile gen "$TMP/gen.json" --arg c0 "$c0" --arg c1 "$c1" --arg q0 "$q0" \
		--arg q1 "$q1" --arg t0 "$t0" --arg t1 "$t1" --arg p0 "$p0" --arg p1 "$p1" \
		--argjson busy "$busy" --argjson softirq "$softirq" --argjson tck "$CLK_TCK" \
		--argjson rate "$rate" '
		def n($s): $s | split(" ") | map(tonumber);
		def lines($s): $s | split("\n") | map(select(length > 0) | n(.));
		(n($c1) as $a | n($c0) as $b | [range(0; 4)] | map($a[.] - $b[.])) as $c |
		(lines($q0)) as $qb | (lines($q1)) as $qa | (n($t1)) as $ta | (n($t0)) as $tb |
		# per queue; a queue that was re-created in between (id_sequence went down) counts
		# from zero
		([range(0; $qa | length)] | map(. as $i | $qa[$i] as $a | $qb[$i] as $b |
			(if $a[4] >= $b[4] then 1 else 0 end) as $k |
			{queue: $a[0], queue_dropped: ($a[2] - $k * $b[2]),
			 user_dropped: ($a[3] - $k * $b[3]), queued: ($a[4] - $k * $b[4])})) as $pq |
		$gen[0] as $g |
		((($p1 | tonumber) - ($p0 | tonumber)) / $tck) as $rcpu |
		{
		  target_rate: $rate, gen: $g,
		  arrived_main: $c[0], arrived_marked: $c[1],
		  queue_dropped: ($pq | map(.queue_dropped) | add // 0),
		  user_dropped: ($pq | map(.user_dropped) | add // 0),
		  queued: ($pq | map(.queued) | add // 0),
		  per_queue: ($pq | map({key: (.queue | tostring), value: del(.queue)}) | from_entries),
		  ct_drop: ($ta[0] - $tb[0]), ct_early_drop: ($ta[1] - $tb[1]),
		  ct_insert_failed: ($ta[2] - $tb[2]),
		  reader_cpu_s: $rcpu, gen_cpu_s: $g.cpu_s,
		  sys_busy_s: ($busy / $tck), sys_softirq_s: ($softirq / $tck),
		  other_cpu_s: (($busy / $tck) - $rcpu - $g.cpu_s)
		}' >"$TMP/parts/$cfg.$kind.r$ROUND.json"
	jq -r --arg cfg "$cfg" --arg kind "$kind" '
		(.arrived_main + .arrived_marked) as $t |
		"\($cfg) \($kind): \(if .gen.secs > 0 then ($t / .gen.secs | floor) else 0 end) flows/s (main \(.arrived_main), marked \(.arrived_marked)), queue drops \(.queue_dropped)+\(.user_dropped), ct early drops \(.ct_early_drop), cpu gen \(.gen_cpu_s) reader \(.reader_cpu_s) other \(.other_cpu_s * 100 | floor / 100) s\(if (.per_queue | length) > 1 then ", queued per queue " + (.per_queue | to_entries | map("\(.key): \(.value.queued)") | join(", ")) else "" end)"' \
		"$TMP/parts/$cfg.$kind.r$ROUND.json" >&2
}

# rt on|off PID...: SCHED_FIFO (priority 10) on CPU_LAT for the processes of a latency
# measurement, and back. Latency runs are short and their processes sleep between requests;
# with normal priority a busy neighbour on these shared 2-CPU machines holds the CPU for
# whole scheduler slices, and its milliseconds, not the path, would make the p99. One CPU for
# all: the wakeups stay CPU-local as they would with the scheduler's wake-affine placement.
# The CPUs every thread was allowed before are saved and restored (a -q2 reader has one
# pinned thread per queue).
rt() {
	local mode=$1 pid task tid
	shift
	[ "$RT" = 1 ] || return 0
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		if [ "$mode" = on ]; then
			for task in /proc/"$pid"/task/*; do
				tid=${task##*/}
				[ "$tid" = '*' ] && continue
				AFFINITY[$tid]=$(taskset -pc "$tid" 2>/dev/null | sed 's/.*: //')
			done
			chrt -a -f -p 10 "$pid" >/dev/null 2>&1
			[ -z "$CPU_LAT" ] || pin "$pid" "$CPU_LAT"
		else
			chrt -a -o -p 0 "$pid" >/dev/null 2>&1
			[ -z "$CPU_LAT" ] && continue
			pin "$pid" all
			for task in /proc/"$pid"/task/*; do
				tid=${task##*/}
				[ -n "${AFFINITY[$tid]:-}" ] &&
					taskset -pc "${AFFINITY[$tid]}" "$tid" >/dev/null 2>&1
				unset "AFFINITY[$tid]"
			done
		fi
	done
}

# rt_cmd CMD...: CMD under SCHED_FIFO (on CPU_LAT) when RT is on.
rt_cmd() {
	if [ "$RT" = 1 ] && [ -n "$CPU_LAT" ]; then
		taskset -c "$CPU_LAT" chrt -f 10 "$@"
	elif [ "$RT" = 1 ]; then
		chrt -f 10 "$@"
	else
		"$@"
	fi
}

# measure_latency CFG: probe from gen, prober, echo server and queue reader on CPU_LAT under
# SCHED_FIFO (see rt); writes parts/CFG.latency.rROUND.json.
measure_latency() {
	local cfg=$1 c0 c1 out
	in_gen conntrack -F >/dev/null 2>&1
	c0=$(sink_counters)
	# shellcheck disable=SC2086 # READER_PID: one pid per reader process
	rt on "$ECHO_PID" $READER_PID
	# a new source port per probe; a different range each round
	out=$(rt_cmd timeout -s KILL $((${PROBE_SECS%.*} + 30)) ip netns exec "$NS_GEN" "$TMP/bin/probe" -d "$ROUTED" -n "$N_ROUTED" -p 7 -c "$PROBES" \
		-t "$PROBE_SECS" -P $((20000 + (ROUND % 2) * 20000)))
	# shellcheck disable=SC2086
	rt off "$ECHO_PID" $READER_PID
	c1=$(sink_counters)
	[ -n "$out" ] || out='{"n": 0}'
	jq -n --argjson p "$out" --arg c0 "$c0" --arg c1 "$c1" '
		def n($s): $s | split(" ") | map(tonumber);
		$p + {arrived_main: (n($c1)[2] - n($c0)[2]), arrived_marked: (n($c1)[3] - n($c0)[3])}' \
		>"$TMP/parts/$cfg.latency.r$ROUND.json"
	jq -r --arg cfg "$cfg" '"\($cfg) latency: p50 \(.p50_us) p99 \(.p99_us) p99.9 \(.p999_us) us (n \(.n), lost \(.lost), main \(.arrived_main) marked \(.arrived_marked))"' \
		"$TMP/parts/$cfg.latency.r$ROUND.json" >&2
}

# dnsperf_json LOG: the figures of one dnsperf output as a JSON object.
dnsperf_json() {
	awk '
		/Queries sent:/ { sent = $3 }
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency/ { avg = $4; gsub(/[(,]/, "", $6); gsub(/[),]/, "", $8); mn = $6; mx = $8 }
		/Latency StdDev/ { sd = $4 }
		END {
			printf "{\"sent\": %d, \"completed\": %d, \"lost\": %d, ", sent, done, lost
			printf "\"qps\": %.1f, \"avg_latency_us\": %.1f, \"min_latency_us\": %.1f, ", qps, avg * 1e6, mn * 1e6
			printf "\"max_latency_us\": %.1f, \"stddev_latency_us\": %.1f}\n", mx * 1e6, sd * 1e6
		}' "$1"
}

# measure_dns NAME SERVER: dnsperf from gen, saturating for DNS_SECS (qps; its latency is
# mostly queueing), then paced at DNS_LAT_QPS for DNS_LAT_SECS (latency); writes
# parts/dns.NAME.rROUND.json.
measure_dns() {
	local name=$1 server=$2 log=$TMP/dnsperf.$1.r$ROUND
	in_gen conntrack -F >/dev/null 2>&1
	bounded $((${DNS_SECS%.*} + 30)) dnsperf -s "$server" -d "$TMP/queries.txt" -l "$DNS_SECS" -c 4 -q 100 -t 2 \
		>"$log.log" 2>&1
	# shellcheck disable=SC2086
	rt on "$SINK_DNS_PID" $READER_PID "$FWD_PID"
	# dnsperf itself keeps normal (boosted) priority: its threads are not all sleepers, and
	# under SCHED_FIFO on one CPU one of them can starve the others for good
	bounded $((${DNS_LAT_SECS%.*} + 30)) dnsperf -s "$server" -d "$TMP/queries.txt" -l "$DNS_LAT_SECS" -c 1 -q 10 \
		-Q "$DNS_LAT_QPS" -t 2 >"$log.paced.log" 2>&1
	# shellcheck disable=SC2086
	rt off "$SINK_DNS_PID" $READER_PID "$FWD_PID"
	jq -n --arg name "$name" --argjson sat "$(dnsperf_json "$log.log")" \
		--argjson paced "$(dnsperf_json "$log.paced.log")" --argjson q "$DNS_LAT_QPS" \
		'$sat + {name: $name, paced_qps_target: $q, paced: $paced}' \
		>"$TMP/parts/dns.$name.r$ROUND.json"
	jq -r '"dns \(.name): \(.qps) qps (lost \(.lost)); paced: avg \(.paced.avg_latency_us) us, max \(.paced.max_latency_us) us, lost \(.paced.lost)"' \
		"$TMP/parts/dns.$name.r$ROUND.json" >&2
}

# The command perf stat runs for its window: it reads the counters of the queues of
# FLOOD_QUEUES (summed) at its start and end, so the packets are counted over exactly the
# window the syscalls are.
qwindow_cmd() {
	QWINDOW=(ip netns exec "$NS_GEN" sh -c "q() { awk -v qs='$FLOOD_QUEUES' 'BEGIN { n = split(qs, l, \" \"); for (i = 1; i <= n; i++) w[l[i]] = 1 } (\$1 in w) { t += \$3; d += \$6; u += \$7; s += \$8 } END { print t + 0, d + 0, u + 0, s + 0 }' /proc/net/netfilter/nfnetlink_queue; }; q >'$TMP/qwindow'; sleep 0.8; q >>'$TMP/qwindow'")
}

# perf_reader CFG "PID...": syscalls (perf stat on tracepoints) and a cpu-clock profile of
# the queue reader(s), all threads, during a saturating flood (the configuration's flood
# layout); writes parts/CFG.perf.json and perf.CFG.txt.
perf_reader() {
	local cfg=$1 rpids=$2 q0 q1 gpid p
	[ "$DO_PERF" = 1 ] && command -v perf >/dev/null || return 0
	qwindow_cmd
	# shellcheck disable=SC2086
	if [ "$FLOOD_PIN" = 1 ]; then for p in $rpids; do pin "$p" "$CPU_Q"; done; fi
	in_gen conntrack -F >/dev/null 2>&1
	flowgens 1.2 0 30000 >/dev/null &
	gpid=$!
	sleep 0.1
	perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom \
		-e syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendto \
		-e syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_pwait,task-clock \
		-p "${rpids// /,}" -o "$TMP/perfstat.$cfg.csv" -- "${QWINDOW[@]}" >/dev/null 2>&1
	q0=$(head -n 1 "$TMP/qwindow")
	q1=$(tail -n 1 "$TMP/qwindow")
	wait "$gpid" 2>/dev/null
	in_gen conntrack -F >/dev/null 2>&1
	flowgens 1.2 0 40000 >/dev/null &
	gpid=$!
	sleep 0.1
	perf record -F 2999 -g -p "${rpids// /,}" -o "$TMP/perf.$cfg.data" -- sleep 0.8 >/dev/null 2>&1
	wait "$gpid" 2>/dev/null
	# shellcheck disable=SC2086
	if [ "$FLOOD_PIN" = 1 ]; then for p in $rpids; do pin "$p" all; done; fi
	perf_summary "$cfg" "$q0" "$q1" >"$TMP/parts/$cfg.perf.json" 2>/dev/null ||
		say "perf summary of $cfg could not be written"
}

# perf_dns PID: the same for nfqroute while dnsperf saturates the snooped DNS path;
# writes parts/nfqroute-dns.perf.json.
perf_dns() {
	local pid=$1 q0 q1 dpid
	[ "$DO_PERF" = 1 ] && command -v perf >/dev/null || return 0
	qwindow_cmd
	bounded 30 dnsperf -s "$SINK_M" -d "$TMP/queries.txt" -l 2.2 -c 4 -q 100 -t 2 >/dev/null 2>&1 &
	dpid=$!
	sleep 0.2
	perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom \
		-e syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_pwait,task-clock \
		-p "$pid" -o "$TMP/perfstat.dns.csv" -- "${QWINDOW[@]}" >/dev/null 2>&1
	q0=$(head -n 1 "$TMP/qwindow")
	q1=$(tail -n 1 "$TMP/qwindow")
	perf record -F 2999 -g -p "$pid" -o "$TMP/perf.dns.data" -- sleep 0.8 >/dev/null 2>&1
	wait "$dpid" 2>/dev/null
	perf_summary dns "$q0" "$q1" >"$TMP/parts/nfqroute-dns.perf.json" 2>/dev/null ||
		say "perf summary of the DNS path could not be written"
}

# perf_summary NAME Q0 Q1: JSON of perfstat.NAME.csv and perf.NAME.data (Q0/Q1: queue lines
# around the perf stat window).
perf_summary() {
	local name=$1 stat top split
	stat=$(awk -F, '$3 != "" { n = $3; sub(/^syscalls:sys_enter_/, "", n);
		sub(/^raw_syscalls:sys_enter$/, "all", n); printf "%s\"%s\": %s", sep, n, $1; sep = ", " }' \
		"$TMP/perfstat.$name.csv")
	perf report -i "$TMP/perf.$name.data" --no-children --sort dso,symbol --stdio -g none \
		>"$TMP/perf.$name.txt" 2>/dev/null
	top=$(grep -E '^ +[0-9.]+%' "$TMP/perf.$name.txt" | head -n 30 |
		awk '{ p = $1; sub(/%/, "", p); d = $2; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, ""); gsub(/"/, "");
			sub(/[ -]+$/, ""); printf "%s{\"pct\": %s, \"dso\": \"%s\", \"symbol\": \"%s\"}", sep, p, d, $0; sep = ", " }')
	# the split between the reader's own code and the kernel
	split=$(grep -E '^ +[0-9.]+%' "$TMP/perf.$name.txt" | awk '{ p = $1; sub(/%/, "", p);
		if ($2 ~ /kernel/) k += p; else u[$2] += p }
		END { printf "{\"kernel\": %.2f", k; for (d in u) printf ", \"%s\": %.2f", d, u[d]; printf "}" }')
	jq -n --argjson s "{${stat}}" --argjson top "[${top}]" --argjson split "$split" \
		--arg q0 "$2" --arg q1 "$3" '
		def n($x): $x | split(" ") | map(tonumber);
		(n($q1)[3] - n($q0)[3]) as $v |
		{stat_window_s: 0.8, syscalls: $s, packets_queued_in_window: $v,
		 syscalls_per_packet: ($s | with_entries(select(.key != "task-clock") |
			.value = (if $v > 0 then ((.value / $v) * 1000 | round) / 1000 else null end))),
		 cpu_split_pct: $split, profile_top: $top}'
}

# ---------------------------------------------------------------- preparation

prepare() {
	local i
	local -a cc_flags=(-O2 -g -Wall -Wextra -Wshadow)
	TMP=$(mktemp -d /tmp/nqbench.XXXXXX) || die "mktemp failed"
	mkdir -p "$TMP/bin" "$TMP/parts" "$RESULTS" || die "cannot create directories"
	for p in flowgen probe udpecho; do
		${CC:-cc} "${cc_flags[@]}" -o "$TMP/bin/$p" "$SRC/$p.c" || die "building $p failed"
	done
	# shellcheck disable=SC2046 # pkg-config output is a list of flags
	${CC:-cc} "${cc_flags[@]}" -o "$TMP/bin/nfq_min" "$SRC/nfq_min.c" \
		$(pkg-config --cflags --libs libmnl libnetfilter_queue) || die "building nfq_min failed"

	# Domain lists: dnsmasq-china-list is dnsmasq syntax (server=/NAME/IP): use it as it is
	# when nfqroute's loader understands that, else as a plain list; gfwlist is base64
	# Adblock Plus syntax: its domain rules become a plain list.
	local china_src=$DATA/dnsmasq-china-list/accelerated-domains.china.conf
	[ -r "$china_src" ] || die "missing $china_src"
	sed -n 's|^server=/\([^/]*\)/.*|\1|p' "$china_src" >"$TMP/china.list"
	base64 -d "$DATA/gfwlist/gfwlist.txt" |
		sed -n -E -e '/^(!|@@|\[|\/)/d' -e 's#^\|\|([^/^:*]+).*#\1#p' \
			-e 's#^\|https?://([^/^:*]+).*#\1#p' -e 's#^\.([^/^:*]+).*#\1#p' |
		grep -E '^[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$' | sort -u >"$TMP/gfw.list"
	write_nfq_conf "$china_src" "$TMP/gfw.list" >"$TMP/probe.conf"
	if "$NFQROUTE" check -c "$TMP/probe.conf" 2>/dev/null |
		awk '/china/ && /domains loaded/ { for (i = 2; i <= NF; i++) if ($i == "domains") n = $(i - 1) }
			END { exit !(n > 100000) }'; then
		CHINA_LIST=$china_src
		CHINA_FORMAT=dnsmasq
	else
		CHINA_LIST=$TMP/china.list
		CHINA_FORMAT="converted with sed (the loader does not read dnsmasq syntax)"
	fi
	write_nfq_conf "$CHINA_LIST" "$TMP/gfw.list" >"$TMP/nfqroute.conf"
	write_nfq_conf "" "" >"$TMP/rules.conf"
	"$NFQROUTE" check -c "$TMP/nfqroute.conf" >"$TMP/check.txt" 2>&1 ||
		die "nfqroute check failed: $(cat "$TMP/check.txt")"
	N_RULES=$(awk '/domain rules in total/ { print $1 }' "$TMP/check.txt")
	prepare_q2

	# The DNS zone: N_ROUTED names under vpn.bench.test, N_DIRECT under direct.bench.test.
	{
		cat <<EOF
user=root
group=root
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$SINK_M
port=53
local-ttl=3600
local=/bench.test/
pid-file=$TMP/dnsmasq-sink.pid
EOF
		for ((i = 0; i < N_ROUTED; i++)); do
			echo "host-record=h$i.vpn.bench.test,$(addr $ROUTED $i)"
		done
		for ((i = 0; i < N_DIRECT; i++)); do
			echo "host-record=h$i.direct.bench.test,$(addr $DIRECT $i)"
		done
	} >"$TMP/dnsmasq-sink.conf"
	{
		for ((i = 0; i < N_ROUTED; i++)); do echo "h$i.vpn.bench.test A"; done
		for ((i = 0; i < N_DIRECT; i++)); do echo "h$i.direct.bench.test A"; done
	} | awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' | sort -k1,1 | cut -f2- \
		>"$TMP/queries.txt"
	# The in-kernel design's set holds the routed addresses.
	{
		echo "add element inet kbench routed {"
		for ((i = 0; i < N_ROUTED; i++)); do echo "$(addr $ROUTED $i),"; done
		echo "}"
	} >"$TMP/set-elements.nft"
	# A local forwarding dnsmasq as deployed with dnsmasq-china-list: the list's server=
	# lines (pointed at our upstream), no cache (every answer is a fresh one, as the
	# snooping path sees it), and for the nftset run nftset= for the routed domains.
	{
		cat <<EOF
user=root
group=root
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=127.0.0.1
port=53
cache-size=0
dns-forward-max=1000
server=$SINK_M
EOF
		sed "s|/114.114.114.114$|/$SINK_M|" "$china_src"
	} >"$TMP/dnsmasq-fwd.conf"
	cp "$TMP/dnsmasq-fwd.conf" "$TMP/dnsmasq-fwd-nftset.conf"
	{
		echo "nftset=/vpn.bench.test/4#inet#kbench#routed"
		sed 's|.*|nftset=/&/4#inet#kbench#routed|' "$TMP/gfw.list"
	} >>"$TMP/dnsmasq-fwd-nftset.conf"
}

# write_nfq_conf CHINA_LIST GFW_LIST [QUEUE_SPEC [GLOBAL_LINES]]: nfqroute's configuration
# (lists optional; QUEUE_SPEC: the queue or queue range, default QUEUE; GLOBAL_LINES: more
# lines for [global]).
write_nfq_conf() {
	cat <<EOF
[global]
queue = ${3:-$QUEUE}
mark-mask = 0xff00
fail-mode = closed
# every run learns its own addresses; the host's cache file stays untouched
cache = none
${4:-}

[route vpn]
interface = bv0
table = $TABLE
mark = $MARK
gateway = $SINK_V
masquerade = no
domains = vpn.bench.test
${2:+domain-list = $2}

# the china list is the usual exception: those names keep the main table
[route direct]
table = main
domains = direct.bench.test
${1:+domain-list = $1}
EOF
}

# prepare_q2: the configurations of nfqroute-q2 (nfqroute-q2.conf) and of minq-q2's ruleset
# (rules-q2.conf): queue = Q2_SPEC, the DNS queue implicitly the next one. A binary without
# queue ranges rejects them: nfqroute-q2 is then skipped (Q2_NFQ_SKIP says why) and minq-q2
# gets the same fanout rule by other means (install_q2_rules).
prepare_q2() {
	local extra="" err
	want nfqroute-q2 || want minq-q2 || return 0
	[ "$Q2_FANOUT" = cpu ] && extra="queue-fanout = cpu"
	[ "$Q2_FANOUT" = hash ] || [ "$Q2_FANOUT" = cpu ] || die "BENCH_Q2_FANOUT: hash or cpu"
	write_nfq_conf "" "" "$Q2_SPEC" "$extra" >"$TMP/rules-q2.conf"
	[ "$Q2_PIN" = 1 ] && extra="${extra:+$extra
}pin-workers = yes"
	write_nfq_conf "$CHINA_LIST" "$TMP/gfw.list" "$Q2_SPEC" "$extra" >"$TMP/nfqroute-q2.conf"
	if ! "$NFQROUTE" check -c "$TMP/nfqroute-q2.conf" >"$TMP/check-q2.txt" 2>&1; then
		err=$(grep -v '^[[:space:]]*$' "$TMP/check-q2.txt" | head -n 3 | tr '\n' ' ')
		Q2_NFQ_SKIP="the nfqroute binary rejects 'queue = $Q2_SPEC'${extra:+ (with ${extra//$'\n'/, })}: ${err% }"
		want nfqroute-q2 && say "nfqroute-q2 will not be measured: $Q2_NFQ_SKIP"
	else
		"$NFQROUTE" rules -c "$TMP/rules-q2.conf" >"$TMP/rules-q2.txt" 2>&1
	fi
}

lab_up() {
	local ns
	say "namespaces $NS_GEN $NS_SINK, files $TMP"
	for ns in "$NS_GEN" "$NS_SINK"; do
		ip netns add "$ns" || die "ip netns add $ns failed"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || die "sysctl in $ns failed"
	done
	# src_valid_mark already 1: nfqroute then has nothing to save in /run/nfqroute (a path
	# shared with other instances), which matters because one instance here is SIGKILLed
	in_gen sysctl -qw net.ipv4.conf.all.src_valid_mark=1 || die "sysctl in gen failed"
	ip -n "$NS_GEN" link add bm0 type veth peer name bm1 netns "$NS_SINK" || die "veth failed"
	ip -n "$NS_GEN" link add bv0 type veth peer name bv1 netns "$NS_SINK" || die "veth failed"
	ip -n "$NS_GEN" addr add "$GEN_M/24" dev bm0
	ip -n "$NS_GEN" addr add "$GEN_V/24" dev bv0
	ip -n "$NS_SINK" addr add "$SINK_M/24" dev bm1
	ip -n "$NS_SINK" addr add "$SINK_V/24" dev bv1
	for ns in "$NS_GEN:bm0" "$NS_GEN:bv0" "$NS_SINK:bm1" "$NS_SINK:bv1"; do
		ip -n "${ns%%:*}" link set "${ns#*:}" up || die "link up failed"
	done
	ip -n "$NS_GEN" route add default via "$SINK_M" dev bm0 || die "default route failed"
	ip -n "$NS_SINK" route add local "$ROUTED.0.0/16" dev lo || die "sink routes failed"
	ip -n "$NS_SINK" route add local "$DIRECT.0.0/16" dev lo || die "sink routes failed"
	# The sink counts what arrives per interface and drops the flood before conntrack.
	in_sink nft -f - <<EOF || die "sink counters failed"
table inet nqbsink {
	counter flood_main { }
	counter flood_mark { }
	counter probe_main { }
	counter probe_mark { }
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "bm1" udp dport 9 counter name "flood_main" drop
		iifname "bv1" udp dport 9 counter name "flood_mark" drop
		iifname "bm1" udp dport 7 counter name "probe_main"
		iifname "bv1" udp dport 7 counter name "probe_mark"
	}
}
EOF
	spawn "$NS_SINK" "$TMP/udpecho.log" - "$TMP/bin/udpecho" 7
	ECHO_PID=$SPAWNED
	spawn "$NS_SINK" "$TMP/dnsmasq-sink.log" - dnsmasq --keep-in-foreground \
		--conf-file="$TMP/dnsmasq-sink.conf"
	SINK_DNS_PID=$SPAWNED
	wait_for 10 grep -q ready "$TMP/udpecho.log" || die "udpecho did not start"
	boost "$ECHO_PID"
	wait_for 10 dig_ok "$SINK_M" h0.vpn.bench.test ||
		die "sink dnsmasq does not answer: $(cat "$TMP/dnsmasq-sink.log")"
	boost "$SINK_DNS_PID"
	# resolve both next hops before measuring
	in_gen ping -c1 -W1 "$SINK_M" >/dev/null 2>&1
	in_gen ping -c1 -W1 "$SINK_V" >/dev/null 2>&1
}

# the policy route of the in-kernel design (nfqroute installs its own)
route_add() {
	ip -n "$NS_GEN" rule add fwmark "$MARK/0xff00" lookup "$TABLE" priority 1000 &&
		ip -n "$NS_GEN" route add default via "$SINK_V" dev bv0 table "$TABLE"
}
route_del() {
	ip -n "$NS_GEN" rule del fwmark "$MARK/0xff00" lookup "$TABLE" priority 1000 2>/dev/null
	ip -n "$NS_GEN" route flush table "$TABLE" 2>/dev/null
}

# ---------------------------------------------------------------- configurations

# measure_all CFG QPID: the flow measurements of one configuration in this round.
measure_all() {
	measure_flood "$1" max 0 "$SECS" "$2"
	[ "$PACED_RATE" = 0 ] || measure_flood "$1" paced "$PACED_RATE" "$PACED_SECS" "$2"
	measure_latency "$1"
}

run_none() {
	say "round $ROUND, config none: no rules"
	measure_all none ""
	if want dns; then
		measure_dns direct-none "$SINK_M"
		start_fwd plain && measure_dns fwd-none 127.0.0.1
		stop_fwd
	fi
}

run_nftset() {
	say "round $ROUND, config nftset: nftables set of $N_ROUTED destinations marks new connections"
	route_add || die "policy route for nftset failed"
	in_gen nft -f - <<EOF || die "nftset ruleset failed"
table inet kbench {
	set routed {
		type ipv4_addr
		size 65536
	}
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		ct mark & 0x0000ff00 == $MARK meta mark set meta mark & 0xffff00ff | $MARK
	}
	chain output {
		type route hook output priority mangle; policy accept;
		oif "lo" accept
		ct mark & 0x0000ff00 == $MARK meta mark set meta mark & 0xffff00ff | $MARK
		meta mark & 0x0000ff00 != 0 accept
		ct state new ip daddr @routed meta mark set meta mark & 0xffff00ff | $MARK ct mark set meta mark
	}
}
EOF
	in_gen nft -f "$TMP/set-elements.nft" || die "filling the set failed"
	measure_all nftset ""
	if want dns && start_fwd nftset; then
		measure_dns fwd-nftset 127.0.0.1
		in_gen nft list set inet kbench routed | grep -o "$ROUTED\.[0-9.]*" | wc -l \
			>"$TMP/nftset-elements.txt"
	fi
	stop_fwd
	in_gen nft delete table inet kbench
	route_del
}

FWD_PID=
# start_fwd plain|nftset: the local forwarding dnsmasq in gen on 127.0.0.1.
start_fwd() {
	local conf=$TMP/dnsmasq-fwd.conf
	[ "$1" = nftset ] && conf=$TMP/dnsmasq-fwd-nftset.conf
	spawn "$NS_GEN" "$TMP/dnsmasq-fwd-$1.log" - dnsmasq --keep-in-foreground \
		--conf-file="$conf"
	FWD_PID=$SPAWNED
	wait_for 30 dig_ok 127.0.0.1 h1.vpn.bench.test && boost "$FWD_PID" && return 0
	say "forwarding dnsmasq ($1) does not answer: $(tail -n 3 "$TMP/dnsmasq-fwd-$1.log")"
	return 1
}
stop_fwd() {
	stop_pid "$FWD_PID"
	FWD_PID=
}

# The minimal consumer runs behind nfqroute's own ruleset (xt NFQUEUE through nft_compat
# here, exactly as nfqroute installs it): nfqroute is started with the same [global] and
# routes, then SIGKILLed, which leaves its table, ip rule and routes in place and frees the
# queue; `nfqroute down` (inside gen) removes them afterwards.
# install_nfq_rules [CONF [NAME]]: CONF default rules.conf; the table is saved as
# NAME-ruleset.nft (default minq).
install_nfq_rules() {
	local pid conf=${1:-$TMP/rules.conf} name=${2:-minq} log
	log=$TMP/nfqroute-rules-$name.r$ROUND.log
	spawn "$NS_GEN" "$log" - env NFQROUTE_LOG_STDERR=1 "$NFQROUTE" run -c "$conf"
	pid=$SPAWNED
	wait_for 20 grep -q "ready" "$log" ||
		die "nfqroute did not start: $(tail -n 5 "$log")"
	[ -n "${QUEUE_PATH:-}" ] || QUEUE_PATH=$(sed -n 's/.*nftables queue path: //p' "$log" | head -n 1)
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	in_gen nft list table inet nfqroute >"$TMP/$name-ruleset.nft" 2>/dev/null ||
		die "nfqroute's table did not survive SIGKILL"
}
remove_nfq_rules() {
	in_gen "$NFQROUTE" down -c "$TMP/rules.conf" >/dev/null 2>&1
	in_gen nft delete table inet nfqroute 2>/dev/null
	in_gen nft delete table ip mangle 2>/dev/null	# install_q2_rules' stand-in, if any
	route_del
}

# install_q2_rules: minq-q2's ruleset, the one nfqroute installs for queue = Q2_SPEC. When
# the binary does not take queue ranges (Q2_NFQ_SKIP), a stand-in with the same fanout:
# nfqroute's single-queue table without its new-flow queue rule, plus that rule with the
# same xt NFQUEUE target (revision 3) but queues_total 2 (--queue-balance; --queue-cpu-fanout
# for BENCH_Q2_FANOUT=cpu) in an iptables-nft chain at the same hook and priority (`ip
# mangle OUTPUT`, route hook output, priority mangle). Q2_MINQ_RULES says which was used;
# returns 1 (and sets Q2_MINQ_SKIP) if neither can be had.
install_q2_rules() {
	local handle cpu=
	if [ -z "$Q2_NFQ_SKIP" ]; then
		install_nfq_rules "$TMP/rules-q2.conf" minq-q2
		Q2_MINQ_RULES="nfqroute's own table for queue = $Q2_SPEC${Q2_FANOUT:+ (fanout $Q2_FANOUT)}"
		return 0
	fi
	if ! command -v iptables-nft >/dev/null; then
		Q2_MINQ_SKIP="no iptables-nft for the stand-in fanout rule ($Q2_NFQ_SKIP)"
		return 1
	fi
	install_nfq_rules "$TMP/rules.conf" minq-q2
	handle=$(in_gen nft -a list chain inet nfqroute output 2>/dev/null |
		awk '/ct state new/ && /queue/ { print $NF }')
	[ "$Q2_FANOUT" = cpu ] && cpu=--queue-cpu-fanout
	# shellcheck disable=SC2086 # $cpu: an option or nothing
	if [ -z "$handle" ] || ! in_gen nft delete rule inet nfqroute output handle "$handle" ||
		! in_gen iptables-nft -t mangle -A OUTPUT ! -o lo -m conntrack --ctstate NEW \
			-m mark --mark 0/0xff00 -j NFQUEUE --queue-balance "$QUEUE:$((QUEUE + 1))" $cpu; then
		remove_nfq_rules
		Q2_MINQ_SKIP="the stand-in fanout rule could not be installed ($Q2_NFQ_SKIP)"
		return 1
	fi
	{
		in_gen nft list table inet nfqroute 2>/dev/null
		in_gen nft list table ip mangle 2>/dev/null
	} >"$TMP/minq-q2-ruleset.nft"
	Q2_MINQ_RULES="stand-in (the binary has no queue ranges): nfqroute's table for queue = $QUEUE without its new-flow queue rule, plus 'iptables-nft -t mangle -A OUTPUT ! -o lo -m conntrack --ctstate NEW -m mark --mark 0/0xff00 -j NFQUEUE --queue-balance $QUEUE:$((QUEUE + 1))${cpu:+ $cpu}'"
	return 0
}

# run_minq CFG NFQ_MIN_ARGS...: one variant of the minimal consumer.
run_minq() {
	local cfg=$1 pid
	shift
	say "round $ROUND, config $cfg: nfq_min $* behind nfqroute's ruleset"
	spawn "$NS_GEN" "$TMP/$cfg.r$ROUND.log" - "$TMP/bin/nfq_min" -q "$QUEUE" -m "$MARK" \
		-w "$MINQ_SPIN" "$@"
	pid=$SPAWNED
	READER_PID=$pid
	wait_for 5 grep -q bound "$TMP/$cfg.r$ROUND.log" ||
		die "nfq_min did not start: $(cat "$TMP/$cfg.r$ROUND.log")"
	boost "$pid"
	measure_all "$cfg" "$pid"
	[ "$cfg" = minq ] && [ "$ROUND" = "$ROUNDS" ] && perf_reader "$cfg" "$pid"
	# the queue design's own cost on the DNS path: the same rules, nothing parsed
	[ "$cfg" = minq ] && want dns && measure_dns direct-minq "$SINK_M"
	stop_pid "$pid"
	READER_PID=
	grep '^{' "$TMP/$cfg.r$ROUND.log" | tail -n 1 >"$TMP/parts/$cfg.reader.r$ROUND.json"
}

run_minqs() {
	want minq || want minq-vbatch || want minq-loop64 || return 0
	install_nfq_rules
	want minq && run_minq minq -b 256 -c 128 -v concat -R mmsg
	want minq-vbatch && run_minq minq-vbatch -b 256 -c 128 -v batch -R mmsg
	# nfqroute's current I/O pattern (queue.c) without its per-packet work
	want minq-loop64 && run_minq minq-loop64 -b 64 -c 65535 -v concat -R loop
	remove_nfq_rules
}

# run_minq_q2: two minimal consumers, one per queue of Q2_SPEC (with BENCH_Q2_PIN the one
# of queue QUEUE+i on CPU i), behind nfqroute's ruleset for queue = Q2_SPEC.
run_minq_q2() {
	local j pid pids=() cpu
	[ -z "$Q2_MINQ_SKIP" ] || return 0
	if ! install_q2_rules; then
		say "minq-q2 not measured: $Q2_MINQ_SKIP"
		return 0
	fi
	say "round $ROUND, config minq-q2: nfq_min on queues $Q2_QUEUES, rules: $Q2_MINQ_RULES"
	for j in 0 1; do
		cpu=-
		[ "$Q2_PIN" = 1 ] && cpu=$((j % NCPU))
		spawn "$NS_GEN" "$TMP/minq-q2.$j.r$ROUND.log" "$cpu" "$TMP/bin/nfq_min" \
			-q $((QUEUE + j)) -m "$MARK" -w "$MINQ_SPIN" -b 256 -c 128 -v concat -R mmsg
		pids+=("$SPAWNED")
	done
	READER_PID="${pids[*]}"
	for j in 0 1; do
		wait_for 5 grep -q bound "$TMP/minq-q2.$j.r$ROUND.log" ||
			die "nfq_min did not start: $(cat "$TMP/minq-q2.$j.r$ROUND.log")"
		boost "${pids[$j]}"
	done
	flood_layout "$Q2_QUEUES" "$Q2_GENS" 0
	measure_all minq-q2 "$READER_PID"
	[ "$ROUND" = "$ROUNDS" ] && perf_reader minq-q2 "$READER_PID"
	flood_layout
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	READER_PID=
	for j in 0 1; do
		grep '^{' "$TMP/minq-q2.$j.r$ROUND.log" | tail -n 1 || echo '{}'
	done | jq -s --arg q0 "$QUEUE" --arg q1 "$((QUEUE + 1))" '. as $r |
		reduce ($r[0] | keys[]) as $f ({}; .[$f] = ([$r[] | .[$f] // 0] | add)) +
		{per_queue: {($q0): $r[0], ($q1): $r[1]}}' \
		>"$TMP/parts/minq-q2.reader.r$ROUND.json"
	remove_nfq_rules
}

# run_nfqroute [CFG]: nfqroute (CFG nfqroute, nfqroute.conf, one queue) or nfqroute-q2
# (nfqroute-q2.conf, queue = Q2_SPEC; no DNS measurements: the flow path is what changes).
run_nfqroute() {
	local cfg=${1:-nfqroute} pid t0 c0 c1 learned startup conf log
	conf=$TMP/$cfg.conf
	log=$TMP/$cfg.r$ROUND.log
	if [ "$cfg" = nfqroute-q2 ] && [ -n "$Q2_NFQ_SKIP" ]; then
		say "round $ROUND, config nfqroute-q2 not measured: $Q2_NFQ_SKIP"
		return 0
	fi
	say "round $ROUND, config $cfg: $N_RULES domain rules, learning $((N_ROUTED + N_DIRECT)) names$([ "$cfg" = nfqroute-q2 ] && echo ", queue = $Q2_SPEC")"
	t0=$(now_ms)
	spawn "$NS_GEN" "$log" - env NFQROUTE_LOG_STDERR=1 "$NFQROUTE" run -c "$conf"
	pid=$SPAWNED
	READER_PID=$pid
	if ! wait_for 60 grep -q "ready" "$log"; then
		[ "$cfg" = nfqroute ] && die "nfqroute did not start: $(tail -n 5 "$log")"
		# a -q2 run that does not come up is reported, not fatal
		Q2_NFQ_SKIP="nfqroute did not start with queue = $Q2_SPEC: $(tail -n 3 "$log" | tr '\n' ' ')"
		say "$cfg not measured: $Q2_NFQ_SKIP"
		stop_pid "$pid"
		READER_PID=
		in_gen "$NFQROUTE" down -c "$conf" >/dev/null 2>&1
		return 0
	fi
	boost "$pid"
	startup=$(($(now_ms) - t0))
	[ -n "${QUEUE_PATH:-}" ] ||
		QUEUE_PATH=$(sed -n 's/.*nftables queue path: //p' "$log" | head -n 1)
	[ "$cfg" = nfqroute-q2 ] && in_gen nft list table inet nfqroute >"$TMP/nfqroute-q2-ruleset.nft" 2>/dev/null
	# learn: every name once through the snooped path, then check that it took
	bounded 60 dnsperf -s "$SINK_M" -d "$TMP/queries.txt" -n 1 -q 50 -t 2 \
		>"$TMP/learn.r$ROUND.log" 2>&1
	c0=$(sink_counters)
	bounded 30 "$TMP/bin/probe" -d "$ROUTED" -n "$N_ROUTED" -c 200 -t 5 -P 64000 >/dev/null
	c1=$(sink_counters)
	learned=$(($(echo "$c1" | cut -d' ' -f4) - $(echo "$c0" | cut -d' ' -f4)))
	say "learning check: $learned of 200 probes to routed addresses took the marked route"
	echo "{\"learn_probes\": 200, \"learn_probes_marked\": $learned, \"startup_ms\": $startup}" \
		>"$TMP/parts/$cfg.learn.r$ROUND.json"
	# the workers pin themselves (pin-workers) or are left to the scheduler
	[ "$cfg" = nfqroute-q2 ] && flood_layout "$Q2_QUEUES" "$Q2_GENS" 0
	measure_all "$cfg" "$pid"
	[ "$ROUND" = "$ROUNDS" ] && perf_reader "$cfg" "$pid"
	flood_layout
	if [ "$cfg" = nfqroute ] && want dns; then
		[ "$ROUND" = "$ROUNDS" ] && perf_dns "$pid"
		measure_dns direct-snoop "$SINK_M"
		start_fwd plain && measure_dns fwd-snoop 127.0.0.1
		stop_fwd
	fi
	stop_pid "$pid" 10
	READER_PID=
	sed -n 's/.*stopped: //p' "$log" | tail -n 1 >"$TMP/$cfg-stopped.txt"
}

# ---------------------------------------------------------------- main

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables, NFQUEUE)"
for tool in ip nft jq dnsmasq dig conntrack taskset python3 "${CC:-cc}" pkg-config; do
	command -v "$tool" >/dev/null || die "missing tool: $tool"
done
command -v dnsperf >/dev/null || die "missing dnsperf (Debian: apt-get install dnsperf)"
[ -x "$NFQROUTE" ] || die "no nfqroute binary at $NFQROUTE (run make first)"
NFQROUTE=$(cd "$(dirname "$NFQROUTE")" && pwd)/$(basename "$NFQROUTE")

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Our processes (all children of this script) get a large CPU share: on a shared 2-CPU
# machine a build next door would otherwise decide the figures of the configurations
# that need several processes to cooperate (generator, queue reader, sink) more than
# those that run in one context.
if [ -n "$NICE" ]; then
	renice -n "$NICE" -p $$ >/dev/null 2>&1 || say "renice $NICE failed: running at normal priority"
	boost $$
fi
T_START=$(now_ms)
STAMP=$(date +%Y%m%d-%H%M%S)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
prepare
lab_up
QUEUE_PATH=
# Rounds: every configuration once per round, so drifting background load on a shared
# machine spreads over all of them; the report takes the median of the rounds.
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	want none && run_none
	want nftset && run_nftset
	run_minqs
	want minq-q2 && run_minq_q2
	want nfqroute && run_nfqroute nfqroute
	want nfqroute-q2 && run_nfqroute nfqroute-q2
done

OUT=$RESULTS/net-$STAMP.json
jq -n --arg nproc "$(nproc)" --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg kernel "$(uname -r)" --arg nfq "$("$NFQROUTE" -V 2>/dev/null)" \
	--arg qpath "${QUEUE_PATH:-}" --arg china "$CHINA_FORMAT" --arg rules "${N_RULES:-0}" \
	--arg stopped "$(cat "$TMP/nfqroute-stopped.txt" 2>/dev/null)" \
	--arg nftset_elems "$(cat "$TMP/nftset-elements.txt" 2>/dev/null)" \
	--arg load0 "$LOAD0" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--arg commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo "${BENCH_COMMIT:-unknown}")" \
	--arg dirty "$(git -C "$TOP" rev-parse 2>/dev/null &&
		git -C "$TOP" status --porcelain -- src include 2>/dev/null | wc -l)" \
	--argjson secs "$SECS" --argjson paced "$PACED_RATE" --argjson probes "$PROBES" \
	--argjson dnssecs "$DNS_SECS" --argjson routed "$N_ROUTED" --argjson direct "$N_DIRECT" \
	--argjson cpugen "$CPU_GEN" --argjson cpuq "$CPU_Q" --argjson rounds "$ROUNDS" \
	--arg nice "$NICE" --arg rt "$RT" --arg cpulat "$CPU_LAT" --argjson elapsed "$(($(now_ms) - T_START))" \
	--argjson minqspin "$MINQ_SPIN" --arg q2spec "$Q2_SPEC" --argjson q2gens "$Q2_GENS" --arg q2pin "$Q2_PIN" --arg q2fanout "$Q2_FANOUT" \
	--arg q2nfqskip "$(want nfqroute-q2 && echo "$Q2_NFQ_SKIP")" \
	--arg q2minqskip "$(want minq-q2 && echo "$Q2_MINQ_SKIP")" --arg q2minqrules "$Q2_MINQ_RULES" \
	--arg q2stopped "$(cat "$TMP/nfqroute-q2-stopped.txt" 2>/dev/null)" \
	--arg q2rules "$(cat "$TMP/nfqroute-q2-ruleset.nft" 2>/dev/null || cat "$TMP/minq-q2-ruleset.nft" 2>/dev/null)" '
	{machine: {nproc: ($nproc | tonumber), cpu_model: $cpu, kernel: $kernel,
		   loadavg_start: $load0, loadavg_end: $load1},
	 nfqroute: {version: $nfq, commit: $commit, src_files_modified: ($dirty | tonumber? // null),
		    queue_path: $qpath, domain_rules: ($rules | tonumber),
		    china_list: $china, stopped_stats_last_round: $stopped},
	 params: {rounds: $rounds, flood_secs_per_round: $secs, paced_rate: $paced,
		  probes_per_round: $probes, dns_secs: $dnssecs, routed_addresses: $routed,
		  direct_addresses: $direct, cpu_generator: $cpugen, cpu_queue_reader_in_floods: $cpuq,
		  flood_ip_len: 64, nice: $nice, rt_latency_runs: $rt, cpu_latency_runs: $cpulat, nftset_elements_after_dns: $nftset_elems,
		  minq_spin_ns_per_packet: $minqspin},
	 queues2: {queue: $q2spec, dns_queue: (($q2spec | split("-")[1] | tonumber) + 1),
		   fanout: $q2fanout, generators: $q2gens, pinned_readers: ($q2pin == "1"),
		   nfqroute_q2_not_measured: (if $q2nfqskip == "" then null else $q2nfqskip end),
		   minq_q2_not_measured: (if $q2minqskip == "" then null else $q2minqskip end),
		   minq_q2_rules: $q2minqrules, nfqroute_q2_stopped_stats_last_round: $q2stopped,
		   ruleset: $q2rules},
	 elapsed_ms: $elapsed}' >"$TMP/meta.json"
python3 "$SRC/report.py" "$TMP/parts" "$TMP/meta.json" "$OUT" || die "report failed"
say "results: $OUT ($((($(now_ms) - T_START) / 1000)) s)"
