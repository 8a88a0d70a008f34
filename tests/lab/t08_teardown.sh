#!/bin/bash
# Stopping nfqroute restores host exactly: nft ruleset, ip rules (v4, v6), routes in all
# tables, sysctls. With keep-blackhole = yes exactly the ip rules, blackhole routes and the
# rules that restore the route mark of open connections stay behind (so those connections
# stay blackholed, never leak, until the next start), and `nfqroute down -c CONF` removes
# them.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# check_only_kept BEFORE AFTER: exactly one fwmark rule and one blackhole per family added.
check_only_kept() {
	local b=$1 a=$2 p added removed want
	if snapshot_diff_part "$b" "$a" sysctl; then
		ok "sysctl unchanged"
	else
		fail "sysctl changed"
	fi
	# nftables: only table inet nfqroute with the mark-restore rules stays, no queue
	local kept
	kept=$(snapshot_added "$b" "$a" nft)
	if [ -z "$(snapshot_removed "$b" "$a" nft)" ] && grep -q 'table inet nfqroute' <<<"$kept" &&
		grep -q "ct mark & 0x0000ff00 == 0x00000100 meta mark set" <<<"$kept" &&
		! grep -Eq 'queue|masquerade|dport|sport' <<<"$kept"; then
		ok "nft: only the mark-restore rules of the kept route stay"
	else
		fail "nft: expected only table inet nfqroute with restore rules; added: '$kept'"
	fi
	for p in rule4 rule6 route4 route6; do
		added=$(snapshot_added "$b" "$a" "$p")
		removed=$(snapshot_removed "$b" "$a" "$p")
		case $p in
		rule*) want="fwmark $CONF_MARK/$CONF_MASK lookup $CONF_TABLE" ;;
		route*) want="^blackhole default .*table $CONF_TABLE" ;;
		esac
		if [ -z "$removed" ] && [ "$(grep -c . <<<"$added")" -eq 1 ] && grep -q -- "$want" <<<"$added"; then
			ok "$p: exactly one entry kept: $added"
		else
			fail "$p: expected exactly one added line matching '$want', nothing removed;" \
				"added: '${added}', removed: '${removed}'"
		fi
	done
}

snapshot_diff_part() {
	diff -u --label "before/$3" --label "after/$3" "$1/$3" "$2/$3"
}

traffic() {
	assert_via_vpn ipv4.icanhazip.com
	assert_via_vpn github.com -6
	assert_direct api.ipify.org
	assert_direct api64.ipify.org -6
}

lab_up
host_snapshot "$LAB_TMP/before"

note "run 1: keep-blackhole = no"
write_conf
nfq_start
traffic
host_snapshot "$LAB_TMP/running"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/running" >/dev/null; then
	fail "host state did not change while nfqroute was running (snapshot sees nothing?)"
else
	ok "nfqroute changed host state while running"
fi
nfq_stop
host_snapshot "$LAB_TMP/after"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/after" >"$LAB_TMP/diff1"; then
	ok "host state after stop equals the state before start"
else
	fail "host state after stop differs from before start:"
	sed 's/^/#   /' "$LAB_TMP/diff1"
fi
assert_direct ipv4.icanhazip.com

note "run 2: keep-blackhole = yes"
CONF_ROUTE_EXTRA="keep-blackhole = yes" write_conf
nfq_start
traffic
nfq_stop
host_snapshot "$LAB_TMP/kept"
check_only_kept "$LAB_TMP/before" "$LAB_TMP/kept"
assert_direct api.ipify.org

note "nfqroute down -c CONF"
in_host_nfq "$NFQROUTE" down -c "$LAB_CONF" >>"$NFQ_LOG" 2>&1
rc=$?
assert_eq "nfqroute down exit status" 0 "$rc"
host_snapshot "$LAB_TMP/down"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/down" >"$LAB_TMP/diff2"; then
	ok "host state after 'nfqroute down' equals the state before start"
else
	fail "host state after 'nfqroute down' differs from before start:"
	sed 's/^/#   /' "$LAB_TMP/diff2"
fi
lab_result
