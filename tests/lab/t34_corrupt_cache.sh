#!/bin/bash
# Issue 4, corrupt cache: whatever lies at the cache path (/var/lib/nfqroute/cache), start-up
# logs one warning that names the cache, starts with nothing learned (a bad file changes
# nothing) and routes normally; stop still exits 0. A well-formed file written here (and
# the one a good run saves) is loaded, which shows the bad variants differ only by their
# defect.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

lab_up
CACHE=$LAB_TMP/state/cache		# /var/lib/nfqroute/cache as nfqroute sees it
mkdir -p "$LAB_TMP/state"
api4=$(lab_addr api.github.com 4)

# mkcache FILE MODE: a cache in the documented format (src/cache.c) holding
# api.github.com -> $api4 on route vpn, expiring in 10 minutes. MODE: good, badref (an
# entry refers to a name that was never written; checksums right), count (the header
# announces 2^32-1 entries; checksums right), version (version 2; checksums right).
mkcache() {
	python3 - "$1" "$2" "$api4" <<'EOF'
import socket, struct, sys, time, zlib
path, mode, addr = sys.argv[1], sys.argv[2], sys.argv[3]
now = int(time.time() * 1000)
body = b"R" + bytes([3]) + b"vpn" + b"N" + bytes([14]) + b"api.github.com"
name = 5 if mode == "badref" else 0
body += b"4" + struct.pack("<IHQ", name, 0, now + 600000) + socket.inet_aton(addr)
count = 0xffffffff if mode == "count" else 1
version = 2 if mode == "version" else 1
hdr = b"NFQRCACH" + struct.pack("<IIQQI", version, count, now, len(body), zlib.crc32(body))
hdr += struct.pack("<I", zlib.crc32(hdr))
open(path, "wb").write(hdr + body)
EOF
}

# start_with DESC: starts nfqroute on whatever is at $CACHE and checks the outcome.
# WANT_LOADED=1: the file is good (no warning, the entry routed).
start_with() {
	local desc=$1 from run warns got
	note "cache: $desc"
	from=$(($(stat -c %s "$NFQ_LOG" 2>/dev/null || echo 0) + 1))
	if ! NFQ_START_SOFT=1 nfq_start; then
		fail "nfqroute did not become ready with a cache that is $desc"
		return 1
	fi
	run=$(tail -c +"$from" "$NFQ_LOG")
	warns=$(grep -i 'warning' <<<"$run" | grep -i 'cache')
	if [ "${WANT_LOADED:-0}" = 1 ]; then
		if [ -z "$warns" ]; then
			ok "no warning for a good cache"
		else
			fail "warning for a good cache: $warns"
		fi
		if grep -q "restored [1-9][0-9]* learned address" <<<"$run"; then
			ok "log: $(grep -o 'restored .*' <<<"$run")"
		else
			fail "a good cache was not restored: $(grep -i cache <<<"$run")"
		fi
	else
		case $(grep -c . <<<"$warns") in
		1) ok "one warning: ${warns#*nfqroute }" ;;
		0) fail "no warning that mentions the cache; the log says:" \
			"$(grep -i cache <<<"$run" | tr '\n' ' ')" ;;
		*) fail "more than one warning about the cache: $(tr '\n' ' ' <<<"$warns")" ;;
		esac
	fi
	assert_via_vpn ipv4.icanhazip.com
	assert_direct api.ipify.org
	got=$(fetch api.github.com -4 --resolve "api.github.com:80:$api4")
	if [ "${WANT_LOADED:-0}" = 1 ]; then
		assert_eq "api.github.com by IP (from the cache): through the tunnel" "$VPN_ADDR4" "$got"
	else
		assert_eq "api.github.com by IP (nothing loaded): direct" "$HOST_ADDR4" "$got"
	fi
	nfq_stop
}

CONF_DOMAINS="icanhazip.com github.com" write_conf
NFQ_LOG=$LAB_TMP/nfqroute.log

rm -rf "$CACHE"
mkcache "$CACHE" good
WANT_LOADED=1 start_with "well formed, written by the test"
[ -s "$CACHE" ] || abort "no cache saved at stop"
cp "$CACHE" "$LAB_TMP/saved.cache"

head -c 4096 /dev/urandom >"$CACHE"
start_with "4 KiB of random bytes"
: >"$CACHE"
start_with "empty"
head -c $(($(stat -c %s "$LAB_TMP/saved.cache") / 2)) "$LAB_TMP/saved.cache" >"$CACHE"
start_with "a saved cache truncated to half"
head -c 20 "$LAB_TMP/saved.cache" >"$CACHE"
start_with "a saved cache truncated inside the header"
cp "$LAB_TMP/saved.cache" "$CACHE"
printf '\xff' | dd of="$CACHE" bs=1 seek=$(($(stat -c %s "$CACHE") - 3)) conv=notrunc 2>/dev/null
start_with "a saved cache with a byte of an address changed"
mkcache "$CACHE" badref
start_with "checksums right, an entry refers to an unknown name"
mkcache "$CACHE" count
start_with "checksums right, the header announces 2^32-1 entries"
mkcache "$CACHE" version
start_with "checksums right, version 2"
rm -f "$CACHE"
mkdir "$CACHE"
start_with "a directory"
rmdir "$CACHE" 2>/dev/null || rm -rf "$CACHE"
mkfifo "$CACHE"				# open(O_RDONLY) would wait for a writer
start_with "a FIFO"
# a start that hangs on the FIFO: give it its writer so that it can go on and stop
nfq_alive && { : >"$CACHE" & sleep 0.5; kill $! 2>/dev/null; nfq_stop; }
rm -f "$CACHE"

cp "$LAB_TMP/saved.cache" "$CACHE"
WANT_LOADED=1 start_with "the one saved by the first run (after all the bad ones)"
lab_result
