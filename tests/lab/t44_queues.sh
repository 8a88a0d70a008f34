#!/bin/bash
# Issue 7, several queues: with `queue = 0-1` new connections fan out over queues 0 and 1
# (one worker thread each, pinned) and DNS replies come on queue 2 to the one thread that
# learns. Checked from outside: the kernel's queue table shows the three queues bound and
# both new-flow queues receiving packets; the first connection to each of 24 freshly
# resolved addresses leaves through the tunnel (the address learned on the DNS thread was
# visible to whichever worker decided the flow), unrouted names leave directly; thread
# names and CPU pinning read from /proc are right; a monitor sees the events of every
# thread; a reload to `queue = 0` with `dns-queue = 6` (one thread, two queues) and then
# to `queue = 3-4` moves the queues and keeps routing; stop unbinds every queue and leaves
# the host as it was.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

N=24
ctl() { in_host_nfq "$NFQROUTE" "$@"; }

# bound_queues: the queue numbers bound in host, sorted, on one line
bound_queues() {
	in_host cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null | awk '{ print $1 }' |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}

# queue_seq Q: packets the kernel handed to queue Q since it was bound (0 if unbound)
queue_seq() {
	in_host cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk -v q="$1" '$1 == q { s = $8 } END { print s + 0 }'
}

expect_queues() {
	local want=$1 got
	wait_for 3 eval '[ "$(bound_queues)" = "$want" ]'
	got=$(bound_queues)
	assert_eq "$2: bound queues" "$want" "$got"
}

addr_of() { echo "10.96.0.$1"; }
name_of() { echo "f10-96-0-$1.s.mq.test"; }

# every name is new to nfqroute when fetched (dig-less: curl resolves it first), so its
# first connection follows its answer
fetch_all() {
	local tag=$1 i bad=0 seen
	for i in $(seq 1 $N); do
		seen=$(fetch "$(name_of "$i")" -4)
		if [ "$seen" != "$VPN_ADDR4" ]; then
			fail "$tag: $(name_of "$i") -> server saw '${seen:-nothing}', not the tunnel"
			bad=$((bad + 1))
		fi
	done
	[ "$bad" -eq 0 ] && ok "$tag: first connection to each of $N new addresses via the tunnel"
}

lab_up
lab_dns_restart "+synth-domain=s.mq.test,10.96.0.0/16,f"
addrs=
for i in $(seq 1 $N); do
	ip -n "$NS_ISP" addr add "$(addr_of "$i")/32" dev lo || die "cannot add $(addr_of "$i")"
	addrs="$addrs $(addr_of "$i")"
done
# shellcheck disable=SC2086 # one argument per address
lab_echo "$NS_ISP" web-mq $addrs
host_snapshot "$LAB_TMP/before"

CONF_QUEUE=0-1 CONF_DOMAINS="icanhazip.com s.mq.test" CONF_GLOBAL_EXTRA="pin-workers = yes
queue-buffer = 32M" write_conf
nfq_start
expect_queues "0 1 2" "queue = 0-1"
# pin-workers = yes: the thread of queue i runs on the i-th CPU nfqroute may use only
python3 - "$NFQ_PID" >"$LAB_TMP/threads" <<'PY'
import glob, sys
def cpus(spec):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out
def field(task, key):
    for line in open(task + "/status"):
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
pid = sys.argv[1]
allowed = cpus(field("/proc/" + pid, "Cpus_allowed_list"))
for task in sorted(glob.glob("/proc/%s/task/*" % pid)):
    name = open(task + "/comm").read().strip()
    if name.startswith("nfqroute-q"):
        q = int(name[len("nfqroute-q"):])
        want = str(allowed[q % len(allowed)]) if q < 2 else "any"
        print(name, field(task, "Cpus_allowed_list"), want)
PY
note "threads: $(tr '\n' ';' <"$LAB_TMP/threads")"
pinned=$(awk '$3 != "any" && $2 == $3' "$LAB_TMP/threads" | wc -l)
dnsthr=$(awk '$1 == "nfqroute-q2"' "$LAB_TMP/threads" | wc -l)
if [ "$pinned" -eq 2 ] && [ "$dnsthr" -eq 1 ]; then
	ok "threads nfqroute-q0 and -q1 pinned to their CPUs, nfqroute-q2 reads the DNS queue"
else
	fail "worker threads: $(cat "$LAB_TMP/threads")"
fi
fetch_all "queue = 0-1"
assert_direct api.ipify.org
assert_direct ifconfig.me
q0=$(queue_seq 0) q1=$(queue_seq 1) q2=$(queue_seq 2)
note "packets per queue: 0: $q0, 1: $q1, 2 (DNS): $q2"
if [ "$q0" -gt 0 ] && [ "$q1" -gt 0 ]; then
	ok "new connections reached both queues ($q0 and $q1 packets)"
else
	fail "new connections did not fan out: queue 0 $q0, queue 1 $q1 packets"
fi
if [ "$q2" -ge "$N" ]; then
	ok "DNS replies came on queue 2 ($q2 packets)"
else
	fail "queue 2 saw $q2 packets, expected at least $N DNS replies"
fi
st=$LAB_TMP/status.json
ctl status --json >"$st" || fail "status --json failed"
nq=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["queues"]), sum(q.get("packets",0) for q in d["queues"]))' "$st" 2>&1)
assert_eq "status lists the three queues" 3 "${nq%% *}"
bufs=$(python3 -c 'import json,sys; print(" ".join(str(q["rcvbuf"] >= 32 << 20) for q in json.load(open(sys.argv[1]))["queues"]))' "$st" 2>&1)
assert_eq "queue-buffer = 32M on every queue socket (the 8M default reads 16M)" \
	"True True True" "$bufs"

# monitor events of the workers (new flows) and of the DNS thread (answers) reach a monitor
mon=$LAB_TMP/monitor.txt
(nfq_exec "$NFQROUTE" monitor -n) >"$mon" 2>&1 &
mon_pid=$!
wait_for 5 eval "[ \"\$(ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"control\"][\"monitors\"])')\" -gt 0 ]" ||
	fail "monitor did not attach: $(cat "$mon")"
ctl flush >/dev/null
fetch_all "with a monitor attached"
sleep 0.3	# workers leave events for the main thread, which sends them every 50 ms
kill "$mon_pid" 2>/dev/null
wait "$mon_pid" 2>/dev/null
flows=$(grep -c -- "tcp f10-96-0-[0-9]*.s.mq.test -> vpn" "$mon")
answers=$(grep -c -- "dns A f10-96-0-[0-9]*.s.mq.test = 10.96.0." "$mon")
if [ "$flows" -eq "$N" ] && [ "$answers" -ge "$N" ]; then
	ok "monitor saw the $N flows (from both workers) and $answers answers (from the DNS thread)"
else
	fail "monitor saw $flows of $N flows and $answers answers: $(head -5 "$mon")"
fi
# in time order across threads: each name's answer (DNS thread) before its flow (a worker)
order=$(python3 - "$mon" <<'PY'
import re, sys
first = {}
bad = []
for n, line in enumerate(open(sys.argv[1])):
    m = re.search(r"dns A (f10-96-0-\d+\.s\.mq\.test) = ", line)
    if m:
        first.setdefault(m.group(1), n)
    m = re.search(r"tcp (f10-96-0-\d+\.s\.mq\.test) -> ", line)
    if m and (m.group(1) not in first or first[m.group(1)] > n):
        bad.append(m.group(1))
print(len(bad))
PY
)
assert_eq "monitor lines in time order (every flow after its answer)" 0 "$order"

# a different layout on reload: one thread reading queue 0 and DNS replies on queue 6,
# then queues 3-4 with DNS on 5
flows_before=$(ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"])')
sed -i 's/^queue = .*/queue = 0\ndns-queue = 6/' "$LAB_CONF"
nfq_reload
expect_queues "0 6" "reload to queue = 0, dns-queue = 6"
flows_after=$(ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"])')
if [ "$flows_after" -ge "$flows_before" ] && [ "$flows_before" -ge "$N" ]; then
	ok "status keeps counting across the new layout ($flows_before, then $flows_after connections)"
else
	fail "status counts went from $flows_before to $flows_after across the reload"
fi
ctl flush >/dev/null || fail "flush failed"	# each fetch needs its answer again
d6=$(queue_seq 6)
fetch_all "after reload to queue = 0, dns-queue = 6"
d6=$(($(queue_seq 6) - d6))
if [ "$d6" -ge "$N" ]; then
	ok "DNS replies came on queue 6 ($d6 packets)"
else
	fail "queue 6 saw $d6 packets, expected at least $N DNS replies"
fi
sed -i -e '/^dns-queue = /d' -e 's/^queue = .*/queue = 3-4/' "$LAB_CONF"
nfq_reload
expect_queues "3 4 5" "reload to queue = 3-4"
ctl flush >/dev/null || fail "flush failed"
fetch_all "after reload to queue = 3-4"
assert_direct api.ipify.org
nfq_alive && ok "nfqroute still running" || fail "nfqroute died"

nfq_stop
expect_queues "" "after stop"
host_snapshot "$LAB_TMP/after"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/after" >"$LAB_TMP/diff"; then
	ok "host as before: nftables, rules, routes, sysctls"
else
	fail "host changed: $(cat "$LAB_TMP/diff")"
fi
lab_result
