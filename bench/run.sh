#!/bin/sh
# Runs the micro-benchmark (see bench/README.md):
#
#   sh bench/run.sh [BENCH_BINARY [DATA_DIR]]
#
# BENCH_BINARY defaults to bench/bench next to this script's tree (`make bench` builds it
# and calls this script). DATA_DIR is the shared data set: the argument, else
# $NFQR_SHARED_DATA, else $TOP_SRCDIR/../shared/data. Not a test: it always exits 0 once
# the benchmark ran, whatever the PASS/MISS marks say.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${TOP_SRCDIR:-$(dirname "$here")}
bin=${1:-$top/bench/bench}
data=${2:-${NFQR_SHARED_DATA:-$top/../shared/data}}

if [ ! -x "$bin" ]; then
	echo "bench/run.sh: $bin is not built (run: make bench)" >&2
	exit 1
fi
if [ ! -d "$data/domainlists" ] || [ ! -d "$data/dns" ]; then
	echo "bench/run.sh: no shared data set at $data" >&2
	echo "  (pass it as the second argument or set NFQR_SHARED_DATA: a directory with" >&2
	echo "  domainlists/ (dnsmasq-china-list, gfwlist, v2fly/loyalsoldier, hosts lists) and" >&2
	echo "  dns/bench/ (DNS replies); the repository does not carry them, bench/README.md" >&2
	echo "  names the sources)" >&2
	exit 1
fi
data=$(cd "$data" && pwd)
exec "$bin" "$data"
