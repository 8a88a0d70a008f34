#!/bin/sh
# Builds a libFuzzer target with AddressSanitizer and UndefinedBehaviorSanitizer and runs it.
#
# usage: tests/fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   TARGET   dns: tests/fuzz/fuzz_dns.c (dns_parse_reply, dns_parse_query, tcpdns)
#            lists: tests/fuzz/fuzz_lists.c (every domain list format)
#   SECONDS  how long to fuzz (-max_total_time); 0 only builds and replays the seeds
#
# Environment: FUZZ_CC (default clang; needs libFuzzer, Debian: libclang-rt-14-dev),
# FUZZ_OUT (work directory, default ./fuzz-out): the binary, the growing corpus and crash
# artifacts go there, never into the source tree. Seeds are read from tests/data/dns
# (real messages, fuzz corpora, regressions, and the two benchmark files split into one
# message per file). A crash leaves crash-* in FUZZ_OUT/artifacts-TARGET/; copy it to
# tests/data/dns/regress/ once fixed. Exit status is libFuzzer's (0: nothing found).
set -eu

target=${1:?usage: run.sh TARGET SECONDS [libFuzzer options]}
secs=${2:?usage: run.sh TARGET SECONDS [libFuzzer options]}
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$PWD/fuzz-out}
cc=${FUZZ_CC:-clang}
data=$top/tests/data/dns

case $target in
dns)
	srcs="$top/src/dns.c $top/src/dns_name.c $top/src/dns_svcb.c $top/src/tcpdns.c"
	seeds="$data/real $data/regress $data/fuzz/c-ares/corpus $data/fuzz/bind9/corpus"
	benches="$data/responses.u16be-len-prefixed.bin $data/queries.u16be-len-prefixed.bin"
	;;
lists)
	srcs="$top/src/dlist.c $top/src/dlist_fmt.c $top/src/dlist_v2fly.c $top/src/domain.c $top/src/domain_kw.c $top/src/domain_table.c $top/src/util.c"
	seeds="$top/tests/data/lists $top/tests/data/lists/v2fly"
	benches=""
	;;
*)
	echo "run.sh: unknown target '$target' (known: dns, lists)" >&2
	exit 2
	;;
esac

mkdir -p "$out/corpus-$target" "$out/artifacts-$target" "$out/seeds-$target"
bin=$out/fuzz_$target
echo "run.sh: building $bin with $cc"
# shellcheck disable=SC2086
"$cc" -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$top/include" -o "$bin" "$top/tests/fuzz/fuzz_$target.c" $srcs

# one seed file per message of a 2-byte-length-prefixed benchmark file
split_bench() {
	size=$(wc -c <"$1")
	off=0
	i=0
	while [ "$off" -lt "$size" ]; do
		# shellcheck disable=SC2046
		set -- "$1" "$2" $(od -An -tu1 -j "$off" -N2 "$1")
		len=$(($3 * 256 + $4))
		tail -c +$((off + 3)) "$1" | head -c "$len" >"$2/$(basename "$1" .bin)-$i"
		off=$((off + 2 + len))
		i=$((i + 1))
	done
}
if [ ! -e "$out/seeds-$target/.done" ]; then
	for f in $benches; do
		split_bench "$f" "$out/seeds-$target"
	done
	touch "$out/seeds-$target/.done"
fi

# libFuzzer reads -max_total_time=0 as "no limit"
if [ "$secs" -eq 0 ]; then
	limit=-runs=0
else
	limit=-max_total_time=$secs
fi
echo "run.sh: fuzzing $target for $secs s (corpus $out/corpus-$target)"
# shellcheck disable=SC2086
exec "$bin" "$limit" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
	-artifact_prefix="$out/artifacts-$target/" "$@" \
	"$out/corpus-$target" "$out/seeds-$target" $seeds
