#!/bin/bash
# `sudo make demo`: builds the namespace lab (see lib.sh), runs nfqroute with the example
# configuration and shows which names go through the tunnel and which go direct.
# Usage: bash tests/lab/demo.sh /path/to/nfqroute
set -u

NFQROUTE=${1:-${NFQROUTE:-}}
if [ -z "$NFQROUTE" ] || [ ! -x "$NFQROUTE" ]; then
	echo "usage: $0 /path/to/nfqroute   (build it first: make)" >&2
	exit 2
fi
case $NFQROUTE in /*) ;; *) NFQROUTE=$(pwd)/$NFQROUTE ;; esac
if [ "$(id -u)" != 0 ]; then
	echo "the demo builds network namespaces: run it as root (sudo make demo)" >&2
	exit 2
fi
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
missing=
for tool in ip nft dnsmasq wireguard-go wg curl dig tcpdump python3 setsid; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "the demo needs these tools:$missing" >&2
	exit 2
fi
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

echo "Building the lab: host (nfqroute) --- isp (DNS, web servers) --- vpn (WireGuard server)"
lab_up >/dev/null

example=$TOP_SRCDIR/rules/nfqroute.conf.example
started=0
if [ -f "$example" ]; then
	# the example's interface is a real-world name (wg0); point it at the lab's tunnel
	sed -e "s/^\([[:space:]]*interface[[:space:]]*=[[:space:]]*\).*/\1$WG_HOST/" \
		"$example" >"$LAB_CONF"
	echo "Configuration: $example (interface = $WG_HOST)"
	NFQ_START_SOFT=1 nfq_start "$LAB_CONF" >/dev/null && started=1
	[ "$started" = 1 ] || echo "nfqroute did not start with the example; using the lab's own"
fi
if [ "$started" = 0 ]; then
	write_conf "$LAB_CONF"
	echo "Configuration: lab default (routes icanhazip.com and github.com via $WG_HOST)"
	nfq_start "$LAB_CONF" >/dev/null
fi
echo
grep -E '^[[:space:]]*(\[|interface|domains|domain-list)' "$LAB_CONF" | sed 's/^/    /'
echo

row() {
	printf '  %-20s IPv%s  -> seen as %-10s -> %s\n' "$@"
}

# show NAME FAMILY: fetch and print one row.
show() {
	local got via
	got=$(fetch "$1" "$2")
	case $got in
	"$VPN_ADDR4" | "$VPN_ADDR6") via="via tunnel" ;;
	"$HOST_ADDR4" | "$HOST_ADDR6") via="direct" ;;
	"") got="-" via="no answer (blocked)" ;;
	*) via="?" ;;
	esac
	row "$1" "${2#-}" "$got" "$via"
}

echo "curl http://NAME/ from host; the web server answers with the client address it saw:"
for spec in "ipv4.icanhazip.com -4" "icanhazip.com -6" "github.com -4" "github.com -6" \
	"www.cdn-alias.test -4" "api.ipify.org -4" "api64.ipify.org -6" "ifconfig.me -4"; do
	# shellcheck disable=SC2086 # name and family
	show $spec
done
echo
echo "  (the tunnel's exit is $VPN_ADDR4 / $VPN_ADDR6, host's own address $HOST_ADDR4 / $HOST_ADDR6)"
echo
echo "Taking the tunnel down (fail-closed: routed names must not leak):"
wg_down >/dev/null
FETCH_TIMEOUT=3 show ipv4.icanhazip.com -4
show api.ipify.org -4
echo "Bringing the tunnel back:"
wg_up >/dev/null
wait_seen ipv4.icanhazip.com "$VPN_ADDR4" 10 -4
show ipv4.icanhazip.com -4
echo
nfq_stop >/dev/null
if [ "$LAB_FAILS" -ne 0 ]; then
	echo "nfqroute did not stop cleanly; its log:"
	tail -n 20 "$NFQ_LOG"
fi
echo "Tearing the lab down."
