#!/bin/bash
# The lab tests of the main features again, with `queue = 0-1`: new connections decided by
# two worker threads, DNS replies learned on a third (t44 checks the queues themselves).
# Each test builds its own lab and checks what it always checks; only the queue layout
# differs. Run any lab test this way by hand: CONF_QUEUE=0-1 sh tests/run-lab.sh TEST.
dir=$(dirname "$0")
rc=0
for t in t01_split t04_cname t05_ipv6 t22_gateway t25_dnsbyname t30_ttl_refresh t40_monitor \
	t42_reload; do
	echo "# ---- $t with queue = 0-1"
	CONF_QUEUE=0-1 bash "$dir/$t.sh"
	r=$?
	case $r in
	0) echo "ok   - $t with worker threads" ;;
	77) echo "# $t skipped" ;;
	*) echo "FAIL - $t with worker threads (exit $r)"; rc=1 ;;
	esac
done
exit $rc
