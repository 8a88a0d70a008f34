#!/bin/sh
# Runs one namespace lab test: sh tests/run-lab.sh tests/lab/tNN_name.sh
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
# The test is skipped (77) when not running as root or when a tool the lab needs is
# missing; it is a hard error (99) when the nfqroute binary to test is not there.
# Environment: NFQROUTE (absolute path of the binary), TOP_SRCDIR (source tree).

test_script=${1:-}
if [ -z "$test_script" ]; then
	echo "usage: sh tests/run-lab.sh tests/lab/tNN_name.sh" >&2
	exit 99
fi
name=$(basename "$test_script" .sh)

# make may run us with a user PATH; the network tools live in sbin.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

if [ -n "${NFQR_SKIP_LAB:-}" ]; then
	echo "SKIP $name: NFQR_SKIP_LAB is set"
	exit 77
fi

if [ "$(id -u)" != 0 ]; then
	echo "SKIP $name: the namespace lab needs root (run: sudo make check)"
	exit 77
fi

missing=
for tool in ip nft conntrack dnsmasq wireguard-go wg curl dig tcpdump python3 getent \
	setsid timeout bash; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "SKIP $name: missing tools:$missing"
	echo "  (Debian: apt-get install iproute2 nftables conntrack dnsmasq-base wireguard-go" \
		"wireguard-tools curl bind9-dnsutils tcpdump python3)"
	exit 77
fi
if [ ! -c /dev/net/tun ]; then
	echo "SKIP $name: /dev/net/tun is missing (wireguard-go needs TUN)"
	exit 77
fi
if ! ip netns add "nqprobe$$" 2>/dev/null; then
	echo "SKIP $name: cannot create network namespaces here"
	exit 77
fi
ip netns del "nqprobe$$"

if [ -z "${TOP_SRCDIR:-}" ]; then
	TOP_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
fi
export TOP_SRCDIR
if [ -z "${NFQROUTE:-}" ]; then
	NFQROUTE=$TOP_SRCDIR/nfqroute
fi
case $NFQROUTE in
/*) ;;
*) NFQROUTE=$(pwd)/$NFQROUTE ;;
esac
export NFQROUTE
if [ ! -x "$NFQROUTE" ]; then
	echo "ERROR $name: nfqroute binary not found at $NFQROUTE (build it first, or set NFQROUTE)"
	exit 99
fi

exec bash "$test_script"
