#!/bin/bash
# What the binary installs equals the reference ruleset rules/nfqroute.nft, `nfqroute
# rules` prints the same, the log names the queue path, and stopping removes the table.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
conf=$LAB_TMP/example.conf
sed "s/^interface = wg0.*/interface = $WG_HOST/" "$TOP_SRCDIR/rules/nfqroute.conf.example" >"$conf"
ref=$LAB_TMP/ref.nft
grep -v '^#' "$TOP_SRCDIR/rules/nfqroute.nft" | sed "s/\"wg0\"/\"$WG_HOST\"/" >"$ref"

"$NFQROUTE" rules -c "$conf" | sed -n '/^table inet nfqroute/,/^}/p' >"$LAB_TMP/printed.nft"
if diff -u "$ref" "$LAB_TMP/printed.nft"; then
	ok "nfqroute rules prints the reference ruleset"
else
	fail "nfqroute rules differs from rules/nfqroute.nft"
fi

nfq_start "$conf"
# nft warns about compat expressions with comments and on stderr: compare the rules only
in_host nft list table inet nfqroute 2>/dev/null | grep -v '^#' >"$LAB_TMP/installed.nft"
if diff -u "$ref" "$LAB_TMP/installed.nft"; then
	ok "installed table equals rules/nfqroute.nft"
else
	fail "installed table differs from rules/nfqroute.nft"
fi
if grep -Eq 'nftables queue path: (native|compat)' "$NFQ_LOG"; then
	ok "log names the queue path: $(grep -Eo 'queue path: [a-z]+' "$NFQ_LOG" | head -n1)"
else
	fail "the log does not say which queue path is in use"
fi
nfq_stop
if in_host nft list table inet nfqroute >/dev/null 2>&1; then
	fail "table inet nfqroute still present after stop"
else
	ok "table removed on stop"
fi
lab_result
