#!/bin/bash
# Replies glibc uses although nfqroute cannot use all of them (a QA report): a valid A
# record followed by a malformed one, an ancount larger than the records, 100 A records,
# and CNAME chains of 20 and 64 links. For each, a client resolving a routed name through
# glibc connects to the address glibc gave it: every such connection must go through the
# tunnel, none direct (a leak past the tunnel). The lab DNS server (dns_partial.py) sits
# on isp's host-facing network and is host's only resolver for the test.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

FAKE_DNS=10.99.1.53

lab_up
ip -n "$NS_ISP" addr add "$FAKE_DNS/24" dev to-host
extra=()
for i in $(seq 60 69) $(seq 100 199); do
	ip -n "$NS_ISP" addr add "203.0.113.$i/32" dev lo
	extra+=("203.0.113.$i")
done
lab_echo "$NS_ISP" web-partial "${extra[@]}"
spawn "$NS_ISP" "$LAB_TMP/dns_partial.log" python3 "$LAB_SRC/dns_partial.py" serve "$FAKE_DNS"
wait_for 5 grep -qs ready "$LAB_TMP/dns_partial.log" || die "dns_partial.py did not start"
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$FAKE_DNS" >"/etc/netns/$NS_HOST/resolv.conf"

CONF_DOMAINS="github.com" write_conf
nfq_start

# via_vpn NAME COUNT: glibc resolves NAME to COUNT addresses, and the connection to each
# goes through the tunnel. COUNT -1: glibc may also refuse the reply (then nothing leaks).
via_vpn() {
	local name=$1 want_n=$2 out ad seen n got_n=0 vpn=0 bad=0
	out=$(in_host timeout 30 python3 "$LAB_SRC/dns_partial.py" gai "$name")
	case $out in
	gaierror* | "")
		if [ "$want_n" -lt 0 ] && [ -n "$out" ]; then
			ok "$name: glibc refused the reply, nothing to leak"
		else
			fail "$name: glibc resolved nothing ('$out'), the case proves nothing"
		fi
		return
		;;
	esac
	while read -r ad seen n; do
		got_n=${n#n=}
		case $seen in
		"$VPN_ADDR4") vpn=$((vpn + 1)) ;;
		"$HOST_ADDR4")
			fail "$name: $ad LEAKED, the server saw host's own address"
			bad=$((bad + 1))
			;;
		*)
			fail "$name: $ad: the server saw '$seen'"
			bad=$((bad + 1))
			;;
		esac
	done <<<"$out"
	if [ "$want_n" -ge 0 ] && [ "$got_n" -ne "$want_n" ]; then
		fail "$name: glibc returned $got_n address(es), the case needs $want_n"
	elif [ "$bad" -eq 0 ]; then
		ok "$name: all $vpn address(es) glibc returned went through the tunnel"
	fi
}

# malformed: the daemon's count of malformed DNS replies
malformed() {
	in_host_nfq "$NFQROUTE" status | sed -n 's/^ *dns: .* \([0-9]*\) malformed.*/\1/p' |
		head -n 1
}

# learned ADDR NAME: nfqroute learned ADDR for NAME
learned() {
	local w
	w=$(in_host_nfq "$NFQROUTE" why "$1" 2>&1)
	case $w in
	*"$2"*) ok "why $1: learned from $2" ;;
	*) fail "why $1: not learned from $2: $(echo "$w" | head -n 2 | tr '\n' ' ')" ;;
	esac
}

bad_before=$(malformed)

# 1. a good A record, then an A record with 5 bytes of data
via_vpn trailing60.github.com 1
learned 203.0.113.60 trailing60.github.com
# ancount 2, one record (glibc 2.36 refuses it, older ones used the record)
via_vpn count61.github.com -1
learned 203.0.113.61 count61.github.com
# 2. 100 A records: glibc returns them all, so all must be learned
via_vpn many.github.com 100
learned 203.0.113.199 many.github.com
# 3. CNAME chains of 20 and 64 links through unrouted names to end.github.com
via_vpn chain20x64.github.com 1
learned 203.0.113.64 github.com
via_vpn chain64x65.github.com 1
learned 203.0.113.65 github.com

# 4. replies glibc uses but nfqroute cannot learn whole: a malformed first record, a CNAME
# with a stray byte, chains past the parser's 128 names, an alias not linked to the
# question. For a routed name nfqroute drops them: glibc gets no answer, and no address
# of a routed name can leave direct.
via_vpn badfirst62.github.com -1
via_vpn cnrd63.github.com -1
via_vpn chain130x66.github.com -1
via_vpn chain200x67.github.com -1
via_vpn owner68.github.com -1
dropped=$(in_host_nfq "$NFQROUTE" status --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["dns_dropped"])')
if [ "${dropped:-0}" -ge 5 ]; then
	ok "status counts $dropped dropped replies of routed names"
else
	fail "status dns_dropped is '$dropped', expected 5 at least"
fi
# the same replies for an unrouted name are released (nothing to leak)
via_vpn_or_direct() {
	local out
	out=$(in_host timeout 30 python3 "$LAB_SRC/dns_partial.py" gai "$1")
	case $out in
	*"$HOST_ADDR4"*) ok "$1 (unrouted): released, glibc used it, direct as it should" ;;
	*) fail "$1 (unrouted): expected a direct connection, got '$out'" ;;
	esac
}
via_vpn_or_direct badfirst62.example.org

# the partial replies count as malformed, and nfqroute kept running
bad_after=$(malformed)
if [ -n "$bad_after" ] && [ "$bad_after" -ge $((${bad_before:-0} + 2)) ]; then
	ok "status counts the partial replies as malformed ($bad_before -> $bad_after)"
else
	fail "status malformed count: '$bad_before' -> '$bad_after', expected +2 at least"
fi
nfq_alive || abort "nfqroute died"

echo "nameserver $ISP_ADDR4" >"/etc/netns/$NS_HOST/resolv.conf"
nfq_stop
lab_result
