#!/bin/bash
# One nfqroute per host (network namespace): a second `nfqroute run` (same or another
# configuration, even after every file in /run/nfqroute is removed) and `nfqroute down`
# refuse while one runs, and touch nothing: routed traffic keeps going
# through the tunnel, the rules and routes stay. After a crash (SIGKILL) a new instance
# starts, and its clean stop restores what the crashed one changed (src_valid_mark
# included), so the host ends as it began.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
in_host sysctl -qw net.ipv4.conf.all.src_valid_mark=0
host_snapshot "$LAB_TMP/before"
write_conf
nfq_start
assert_via_vpn github.com
ip -n "$NS_HOST" rule show >"$LAB_TMP/rules1"

# second instance, same configuration, then another queue and control socket
sed -e 's/^queue = .*/queue = 5/' -e "s|^\\[global\\]|[global]\\ncontrol = $LAB_TMP/ctl2\\ncache = none|" \
	"$LAB_CONF" >"$LAB_TMP/second.conf"
rm -f "$LAB_TMP/run/"*.pid	# nothing in the file system stands for the running instance
for conf in "$LAB_CONF" "$LAB_TMP/second.conf" "$LAB_CONF" "$LAB_CONF" "$LAB_CONF" \
	"$LAB_CONF" "$LAB_CONF"; do	# more asks than the listen backlog
	out=$(in_host_nfq timeout 10 "$NFQROUTE" run -c "$conf" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "another nfqroute is running" <<<"$out"; then
		ok "second instance ($(basename "$conf")) refused: $(grep -m1 another <<<"$out" | sed 's/.*error: //')"
	else
		fail "second instance ($(basename "$conf")): exit $rc: $out"
	fi
	assert_via_vpn github.com
done
out=$(in_host_nfq "$NFQROUTE" down -c "$LAB_CONF" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && grep -q "is running" <<<"$out"; then
	ok "down refused while nfqroute runs"
else
	fail "down while running: exit $rc: $out"
fi
ip -n "$NS_HOST" rule show >"$LAB_TMP/rules2"
if diff -q "$LAB_TMP/rules1" "$LAB_TMP/rules2" >/dev/null; then
	ok "ip rules untouched by the refused commands"
else
	fail "ip rules changed: $(diff "$LAB_TMP/rules1" "$LAB_TMP/rules2")"
fi
assert_via_vpn api.github.com
nfq_alive && ok "first instance still running" || fail "first instance died"

# a crash, a new start over what it left, a clean stop
kill -KILL "$NFQ_PID"
wait "$NFQ_PID" 2>/dev/null
NFQ_PID=
note "nfqroute killed (SIGKILL)"
nfq_start
assert_via_vpn github.com
nfq_stop
host_snapshot "$LAB_TMP/after"
if snapshot_diff "$LAB_TMP/before" "$LAB_TMP/after" >"$LAB_TMP/diff"; then
	ok "host as before, src_valid_mark = 0 included"
else
	fail "host changed after crash, restart and stop: $(cat "$LAB_TMP/diff")"
fi
lab_result
