#!/bin/bash
# `nfqroute status` (text and --json) reports routes, the queue, DNS and the learned table,
# and its figures move as traffic flows; `nfqroute why` names the learned name and rule
# of an address and the addresses learned for a name.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ctl() { in_host_nfq "$NFQROUTE" "$@"; }
jget() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# expect_out DESC PATTERN CMD...: exit status 0 and a line of output matching PATTERN.
expect_out() {
	local desc=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && grep -Eq -- "$pat" <<<"$out"; then
		ok "$desc: $(grep -E -m1 -- "$pat" <<<"$out")"
	else
		fail "$desc: exit $rc, no line /$pat/ in: $out"
	fi
}

lab_up
CONF_ROUTE_EXTRA="networks = 198.18.0.0/15
ports = tcp:2525" write_conf
nfq_start

s0=$LAB_TMP/status0.json
ctl status --json >"$s0" || fail "status --json failed"
if python3 -m json.tool "$s0" >/dev/null; then
	ok "status --json parses"
else
	fail "status --json does not parse: $(cat "$s0")"
fi
assert_eq "route, interface, up, mark, table, fail-closed" \
	"vpn $WG_HOST True 256 100 True" \
	"$(jget '" ".join(str(x) for x in (d["routes"][0]["name"], d["routes"][0]["interface"], d["routes"][0]["up"], d["routes"][0]["mark"], d["routes"][0]["table"], d["routes"][0]["fail_closed"]))' <"$s0")"
assert_eq "configured domains and networks" "icanhazip.com github.com|198.18.0.0/15|tcp:2525" \
	"$(jget '" ".join(d["routes"][0]["domains"]) + "|" + " ".join(d["routes"][0]["networks"]) + "|" + " ".join(d["routes"][0]["ports"])' <"$s0")"
assert_eq "config file" "$LAB_CONF" "$(jget 'd["config"]' <"$s0")"
if jget 'd["queue"]["path"] in ("native", "compat") and d["queue"]["kernel"] is not None and d["loaded"][:2] == "20"' <"$s0" | grep -q True; then
	ok "queue path $(jget 'd["queue"]["path"]' <"$s0"), kernel counters and load time present"
else
	fail "queue path, kernel counters or load time missing: $(cat "$s0")"
fi

assert_via_vpn ipv4.icanhazip.com
assert_via_vpn github.com
assert_direct api.ipify.org
s1=$LAB_TMP/status1.json
ctl status --json >"$s1"
for f in 'd["flows"]' 'd["flows_routed"]' 'd["routes"][0]["connections"]' \
	'd["queue"]["packets"]' 'd["queue"]["verdicts"]' 'd["dns_replies"]' 'd["learned"]' \
	'd["queue"]["kernel"]["id_sequence"]'; do
	a=$(jget "$f" <"$s0")
	b=$(jget "$f" <"$s1")
	if [ "$b" -gt "$a" ]; then
		ok "$f moved: $a -> $b"
	else
		fail "$f did not move with traffic: $a -> $b"
	fi
done
assert_eq "connections of route vpn (two routed fetches)" 2 \
	"$(( $(jget 'd["routes"][0]["connections"]' <"$s1") - $(jget 'd["routes"][0]["connections"]' <"$s0") ))"
assert_eq "learned mappings take memory" True "$(jget 'd["learned_bytes"] > 0' <"$s1")"

txt=$LAB_TMP/status.txt
ctl status >"$txt" || fail "status failed"
sed 's/^/#   /' "$txt"
for pat in "^config $LAB_CONF, loaded 20" "^queue 0, (native|compat [^:]*) path: [0-9]+ packets, [0-9]+ verdicts; kernel: [0-9]+ queued, 0 waiting, 0 queue drops, 0 user drops" \
	"^dns: [1-9][0-9]* replies parsed, 0 malformed" "^learned: [1-9][0-9]* addresses" \
	"^route vpn: interface $WG_HOST \(up\), gateway -, table 100, mark 0x100, fail-closed" \
	"^  connections decided by name or default: 2$" "^  domains: icanhazip.com github.com$" \
	"^  networks: 198.18.0.0/15$" "^refresh: "; do
	if grep -Eq -- "$pat" "$txt"; then
		ok "status shows /$pat/"
	else
		fail "status lacks /$pat/"
	fi
done

# the interface going down shows in status
wg_link_down
assert_eq "route up after link down" False "$(ctl status --json | jget 'd["routes"][0]["up"]')"
wg_link_up

web=$(lab_addr ipv4.icanhazip.com 4)
expect_out "why ADDR names the learned name and route" \
	"^$web: learned from ipv4\.icanhazip\.com -> route vpn \(mark 0x100\)" ctl why "$web"
expect_out "why ADDR gives the TTL left" "^  TTL [0-9]+ s left" ctl why "$web"
expect_out "why ADDR says when and from which resolver" \
	"^  last learned [0-9-]+ [0-9:]+ from a DNS reply of resolver $ISP_ADDR4" ctl why "$web"
expect_out "why ADDR names the rule and where it is configured" \
	"suffix rule icanhazip\.com \($LAB_CONF line [0-9]+\)" ctl why "$web"
expect_out "why NAME names the rule" \
	"^ipv4\.icanhazip\.com: suffix rule icanhazip\.com .* -> route vpn" ctl why ipv4.icanhazip.com
expect_out "why NAME lists its learned addresses" "^  $web  TTL [0-9]+ s left" ctl why ipv4.icanhazip.com
expect_out "why for an address in networks" "in networks 198\.18\.0\.0/15 of route vpn" \
	ctl why 198.19.1.1
out=$(ctl why api.ipify.org 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "no rule matches api.ipify.org" <<<"$out"; then
	ok "why for an unrouted name fails: $out"
else
	fail "why api.ipify.org: exit $rc: $out"
fi
out=$(ctl why "$(lab_addr api.ipify.org 4)" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "not learned" <<<"$out"; then
	ok "why for an unlearned address fails: $out"
else
	fail "why for an unlearned address: exit $rc: $out"
fi

ctl flush >/dev/null || fail "flush failed"
assert_eq "learned after flush" 0 "$(ctl status --json | jget 'd["learned"]')"
nfq_stop
lab_result
