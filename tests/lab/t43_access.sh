#!/bin/bash
# Who may use the control socket, and what the daemon keeps: the socket is root:GROUP 0660;
# an unprivileged user is refused (by the file mode, and by SO_PEERCRED when the mode
# would let it in); the control group (primary or supplementary) may read (status, why,
# monitor) but not change state (reload, flush); the running daemon holds CAP_NET_ADMIN
# and nothing else, as root and after switching to `user =`.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

GID=4242
NOBODY=65534
ctl() { in_host_nfq "$NFQROUTE" "$@"; }
# as_user UID GID [setpriv options] -- ARGS...: the CLI as another user.
# shellcheck disable=SC2317 # called through expect
as_user() {
	local uid=$1 gid=$2
	shift 2
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	in_host_nfq setpriv --reuid="$uid" --regid="$gid" "${opts[@]}" "$NFQ_BIN" "$@"
}

# expect DESC STATUS(0|fail) PATTERN CMD...
expect() {
	local desc=$1 want=$2 pat=$3 out rc
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if { [ "$want" = 0 ] && [ "$rc" -ne 0 ]; } || { [ "$want" != 0 ] && [ "$rc" -eq 0 ]; }; then
		fail "$desc: exit status $rc; output: $out"
	elif ! grep -Eq -- "$pat" <<<"$out"; then
		fail "$desc: output lacks /$pat/: $out"
	else
		ok "$desc (exit $rc): $(grep -E -m1 -- "$pat" <<<"$out")"
	fi
}

# caps_only_net_admin DESC: the daemon's capability sets from /proc/PID/status.
caps_only_net_admin() {
	local st=/proc/$NFQ_PID/status eff prm inh amb bnd nnp
	eff=$(awk '$1 == "CapEff:" { print $2 }' "$st")
	prm=$(awk '$1 == "CapPrm:" { print $2 }' "$st")
	inh=$(awk '$1 == "CapInh:" { print $2 }' "$st")
	amb=$(awk '$1 == "CapAmb:" { print $2 }' "$st")
	bnd=$(awk '$1 == "CapBnd:" { print $2 }' "$st")
	nnp=$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")
	# CAP_NET_ADMIN is capability 12
	assert_eq "$1: effective capabilities" 0000000000001000 "$eff"
	assert_eq "$1: permitted capabilities" 0000000000001000 "$prm"
	assert_eq "$1: inheritable and ambient" "0000000000000000 0000000000000000" "$inh $amb"
	case $bnd in
	0000000000000000 | 0000000000001000) ok "$1: bounding set $bnd" ;;
	*) fail "$1: bounding set $bnd keeps more than CAP_NET_ADMIN" ;;
	esac
	assert_eq "$1: no_new_privs" 1 "$nnp"
}

lab_up
NFQ_BIN=$NFQROUTE
if ! setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups test -x "$NFQROUTE"; then
	# the build tree is not open to other users: a copy they can run
	chmod 711 "$LAB_TMP"
	mkdir -m 755 "$LAB_TMP/bin"
	install -m 755 "$NFQROUTE" "$LAB_TMP/bin/nfqroute"
	NFQ_BIN=$LAB_TMP/bin/nfqroute
fi

CONF_GLOBAL_EXTRA="control-group = $GID" write_conf
nfq_start
assert_via_vpn github.com
sock=$LAB_TMP/run/control		# host's /run/nfqroute/control
assert_eq "control socket owner, group and mode" "root $GID 660" "$(stat -c '%U %g %a' "$sock")"

expect "root: status" 0 "^route vpn: interface" ctl status
expect "root: flush" 0 "^flushed" ctl flush
assert_via_vpn github.com

expect "an unprivileged user is refused" fail "Permission denied" \
	as_user $NOBODY $NOBODY --clear-groups -- status
expect "an unprivileged user is refused reload" fail "Permission denied" \
	as_user $NOBODY $NOBODY --clear-groups -- reload
expect "the control group may read status" 0 "^route vpn: interface" \
	as_user $NOBODY $GID --clear-groups -- status
expect "the control group may read status --json" 0 '^\{"version"' \
	as_user $NOBODY $GID --clear-groups -- status --json
expect "the control group may ask why" 0 "learned from github\.com" \
	as_user $NOBODY $GID --clear-groups -- why "$(lab_addr github.com 4)"
expect "a supplementary control group may read" 0 "^route vpn: interface" \
	as_user $NOBODY $NOBODY --groups=$GID -- status
expect "the control group may not reload" fail "permission denied: reload needs root" \
	as_user $NOBODY $GID --clear-groups -- reload
expect "the control group may not reroute" fail "permission denied: reload needs root" \
	as_user $NOBODY $GID --clear-groups -- reload --reroute
expect "the control group may not flush" fail "permission denied: flush needs root" \
	as_user $NOBODY $GID --clear-groups -- flush

# the file mode is one guard; the peer's credentials are the other
chmod 666 "$sock"
expect "a user the mode lets in is still refused by its credentials" fail \
	"permission denied: uid $NOBODY is neither root nor in the control group" \
	as_user $NOBODY $NOBODY --clear-groups -- status
chmod 660 "$sock"
assert_eq "refusals counted" True \
	"$(ctl status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["control"]["refused"] >= 4)')"

caps_only_net_admin "as root"
nfq_stop

# user = nobody: the daemon switches user and still keeps only CAP_NET_ADMIN
CONF_GLOBAL_EXTRA="control-group = $GID
user = nobody" write_conf
chmod 644 "$LAB_CONF"
nfq_start
assert_eq "daemon user ids" "$NOBODY $NOBODY $NOBODY $NOBODY" \
	"$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$NFQ_PID/status")"
assert_eq "daemon supplementary groups" "" \
	"$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$NFQ_PID/status" | tr -d ' ')"
caps_only_net_admin "as nobody"
assert_via_vpn github.com
expect "root: status of a daemon running as nobody" 0 "^route vpn: interface" ctl status
expect "the control group may read it too" 0 "^route vpn: interface" \
	as_user $NOBODY $GID --clear-groups -- status
nfq_stop

# Under the systemd unit's CapabilityBoundingSet= and NoNewPrivileges=: start-up (control
# group, user switch) works with exactly those capabilities, and the result is the same.
unit=$TOP_SRCDIR/contrib/nfqroute.service.in
bset=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/+/p' |
	paste -sd, -)
if [ -z "$bset" ]; then
	fail "no CapabilityBoundingSet= in $unit"
else
	note "unit bounding set: $bset"
	cat >"$LAB_TMP/unit-caps" <<EOF
#!/bin/sh
exec setpriv --bounding-set -all,$bset --no-new-privs "$NFQROUTE" "\$@"
EOF
	chmod 755 "$LAB_TMP/unit-caps"
	# systemd creates RuntimeDirectory= anew, owned by root, at every start (the run
	# as nobody above left it to nobody: without CAP_DAC_OVERRIDE root may not write there)
	chown root:root "$LAB_TMP/run"
	real=$NFQROUTE
	NFQROUTE=$LAB_TMP/unit-caps nfq_start
	NFQROUTE=$real
	assert_eq "under the unit's bounding set: user ids" "$NOBODY $NOBODY $NOBODY $NOBODY" \
		"$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$NFQ_PID/status")"
	caps_only_net_admin "under the unit's bounding set"
	assert_eq "control socket group" "$GID" "$(stat -c %g "$sock")"
	assert_via_vpn github.com
	expect "the control group may read" 0 "^route vpn: interface" \
		as_user $NOBODY $GID --clear-groups -- status
	nfq_stop
fi
lab_result
