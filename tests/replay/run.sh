#!/bin/sh
# `nfqroute replay` against captures with known content: real ones from DNS tool test
# suites (tests/data/pcap/{dnscap,tcpdump,zeek,dnsjit}, see tests/data/SOURCES.md) and the
# hand-made scenario of tests/replay/mkpcap.py. Each case's output must equal the checked-in
# tests/replay/NAME.out. A plain test: no root, no network.
#
#   NFQROUTE=./nfqroute TOP_SRCDIR=. sh tests/replay/run.sh
#   NFQR_REPLAY_REGEN=1 ...   rewrites the .out files (then review the diff by hand)
#
# Exit codes follow automake: 0 pass, 1 fail, 99 hard error.
#
# How the .out files were checked when they were generated (by hand, once):
#  - Timestamps, addresses and ports of every line against `TZ=UTC0 tcpdump -n -r FILE`
#    (all equal; tcpdump adds the interface to SLL2 lines and omits ports on fragments).
#  - Every answer line (owner, A/AAAA value, TTL, CNAME links) and every new-flow line
#    against tshark 4.0: `python3 tests/replay/crosscheck.py` (needs tshark) lists what only
#    one side has. All cases agree except, deliberately: dns_udp_2, where tshark decodes
#    the first answer of the snaplen-cut reply and replay reports the reply as cut; the
#    50 answers of handmade's fragmented reply, which tshark reassembles and replay (like
#    the daemon, which only sees reassembled packets) does not; and handmade's last UDP
#    packet, a new flow for replay because its tuple was idle past conntrack's UDP timeout.
#  - Routes by hand against real.conf / handmade.conf: the longest configured suffix of
#    any chain name wins; learned entries expire after max(TTL, min-ttl = 60 s) of capture
#    time; flows to a route's gateway are excluded.
#  - handmade.pcap line by line against the scenario in mkpcap.py's docstring.

set -u
LC_ALL=C
TZ=UTC0
export LC_ALL TZ

TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
NFQROUTE=${NFQROUTE:-$TOP_SRCDIR/nfqroute}
HERE=$TOP_SRCDIR/tests/replay
PCAPS=$TOP_SRCDIR/tests/data/pcap

if [ ! -x "$NFQROUTE" ]; then
	echo "ERROR: nfqroute binary not found at $NFQROUTE (build it first, or set NFQROUTE)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfqr-replay.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# case NAME PCAP CONF: replays PCAP (under tests/data/pcap) with CONF (under tests/replay,
# or - for none) and compares stdout with NAME.out; the exit status must be 0.
case_out() {
	name=$1 pcap=$PCAPS/$2 conf=$3
	if [ "$conf" = - ]; then
		"$NFQROUTE" replay -r "$pcap" >"$tmp/$name.out" 2>"$tmp/$name.err"
	else
		"$NFQROUTE" replay -r "$pcap" -c "$HERE/$conf" >"$tmp/$name.out" 2>"$tmp/$name.err"
	fi
	status=$?
	if [ "$status" -ne 0 ]; then
		echo "FAIL $name: exit status $status"
		cat "$tmp/$name.err"
		fail=1
		return
	fi
	if [ -n "${NFQR_REPLAY_REGEN:-}" ]; then
		cp "$tmp/$name.out" "$HERE/$name.out"
		echo "REGEN $name"
	elif diff -u "$HERE/$name.out" "$tmp/$name.out"; then
		echo "PASS $name"
	else
		echo "FAIL $name: output differs (above)"
		fail=1
	fi
}

# case_err NAME PCAP TEXT: the replay must fail (exit 1) and say TEXT on stderr.
case_err() {
	name=$1 pcap=$2 text=$3
	"$NFQROUTE" replay -r "$pcap" >"$tmp/$name.out" 2>"$tmp/$name.err"
	status=$?
	if [ "$status" -eq 1 ] && grep -qF -- "$text" "$tmp/$name.err"; then
		echo "PASS $name"
	else
		echo "FAIL $name: exit status $status (want 1), stderr:"
		cat "$tmp/$name.err"
		fail=1
	fi
}

# Ethernet + 802.1Q VLAN, A and PTR replies, ICMP (not a flow), ARP (not IP)
case_out vlan11 dnscap/vlan11-first40.pcap real.conf
case_out vlan11-noconf dnscap/vlan11-first40.pcap -
# IPv6 over Ethernet
case_out dns6 dnscap/dns6.pcap real.conf
# DNS over TCP in one segment after a SYN to port 53
case_out dns_tcp tcpdump/dns_tcp.pcap real.conf
# IPv6 DNS over TCP, raw IP link type, 1126-byte message with padding
case_out ip6-tcp-padd dnsjit/ip6-tcp-padd.pcap real.conf
# reply cut by a 98-byte snaplen
case_out dns_udp_2 tcpdump/dns_udp_2.pcap real.conf
# BSD loopback link type; error rcode (BADCOOKIE: 7 in the header, extended by EDNS)
case_out badcookie tcpdump/dns-badcookie.pcap real.conf
# two-step CNAME chain with mixed case, the same reply twice
case_out two-responses zeek/dns-two-responses.pcap real.conf
# one UDP tuple for minutes: MX, LOC, PTR, A, AAAA, CNAME only, NXDOMAIN, ANY-like A+AAAA
case_out long-connection zeek/long-connection.pcap real.conf
# IPv6 fragments of a DNS reply
case_out ipv6-fragmented zeek/ipv6-fragmented-dns.pcap real.conf
# HTTPS record with ipv4hint/ipv6hint addresses
case_out https-hints zeek/dns-https.pcap real.conf
# DLT_IPV4 link type; BADVERS (header rcode 0)
case_out extended-rcode zeek/dns_extended_rcode.pcap real.conf
# the decision scenario: learned, routed, unrouted, excluded, table main, expiry, TCP DNS
case_out handmade handmade/handmade.pcap handmade.conf
case_out handmade-noconf handmade/handmade.pcap -
# link types the real captures lack
case_out links-sll handmade/links-sll.pcap handmade.conf
case_out links-sll2 handmade/links-sll2.pcap handmade.conf
case_out links-loop handmade/links-loop.pcap handmade.conf
case_out links-null handmade/links-null.pcap handmade.conf

case_err unsupported-link "$PCAPS/tcpdump/ppp_ip_udp_dns.pcap" "link type PPP_SERIAL (50) is not supported"
case_err missing-file "$tmp/does-not-exist.pcap" "No such file or directory"
case_err not-a-capture "$HERE/real.conf" "unknown file format"
head -c 2000 "$PCAPS/handmade/handmade.pcap" >"$tmp/cut.pcap"
case_err cut-capture "$tmp/cut.pcap" "after 19 packets: truncated dump file"

# The committed hand-made captures must be what mkpcap.py writes.
if command -v python3 >/dev/null 2>&1; then
	same=yes
	python3 "$HERE/mkpcap.py" "$tmp/handmade" >/dev/null || same=no
	for f in "$PCAPS"/handmade/*.pcap; do
		cmp -s "$f" "$tmp/handmade/$(basename "$f")" || same=no
	done
	if [ "$same" = yes ]; then
		echo "PASS mkpcap-reproducible"
	else
		echo "FAIL mkpcap-reproducible: mkpcap.py no longer writes the committed files"
		fail=1
	fi
else
	echo "SKIP mkpcap-reproducible: no python3"
fi

exit "$fail"
