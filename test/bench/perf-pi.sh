#!/bin/bash
# What end-to-end protection costs updk-perf (docs/benchmarks.md #nvme): the same workload on a
# namespace formatted with PI type 1 (512-byte blocks, 8 bytes of separate metadata), without
# -e, with the controller making and checking the PI (-e PRACT,PRCHK) and with the host making
# and verifying it (-e PRCHK: lib/pi's CRCs on the poller's core), and on a plain namespace of
# the same controller; the order rotated every repetition, medians printed. Prints figures;
# never fails on a speed.
#
#   test/bench/perf-pi.sh [-r REPS] [TRID-PI TRID-PLAIN]
#   test/bench/perf-pi.sh --callgrind [-t SECONDS]
#
# --callgrind: instead of seconds, the instructions updk-perf spends per I/O in its completion
# callback (io_done(), inclusive: the counters, the host's PI verification of a read, picking
# and submitting the next I/O with the host's PI generation of a write, the driver's submission)
# under valgrind's callgrind, on sim:nvme, once per configuration (instruction counts are
# stable on a loaded machine; the poll loop and the reaper, the same in every configuration,
# are left out).
#
# Without TRIDs: sim:nvme (the host's machine). In the VM ring, QEMU's NVMe at 0e.0
# (namespaces 1 and 5), in one guest boot:
#   test/vm/run.sh -- test/bench/perf-pi.sh -r 3 \
#       'trtype:PCIe traddr:0000:00:0e.0 ns:1' 'trtype:PCIe traddr:0000:00:0e.0 ns:5'
set -eu
cd "$(dirname "$0")/../.."
reps=3
if [ "${1:-}" = "--callgrind" ]; then
    secs=10
    if [ "${2:-}" = "-t" ]; then secs=$3; fi
    command -v valgrind >/dev/null || { echo "perf-pi: valgrind is not installed" >&2; exit 2; }
    [ -x build/bin/updk-perf ] || { echo "perf-pi: build/bin/updk-perf is missing: run make" >&2; exit 2; }
    cg=$(mktemp /tmp/perf-pi-cg.XXXXXX)
    trap 'rm -f "$cg"' EXIT
    printf "%-12s %-32s %8s %22s\n" "-e" "namespace" "I/Os" "instructions per I/O"
    for run in "plain|sim:nvme?size=16M|" "none|sim:nvme?size=16M,ms=8,pi=1|" \
        "PRACT,PRCHK|sim:nvme?size=16M,ms=8,pi=1|-e PRACT,PRCHK" \
        "PRCHK|sim:nvme?size=16M,ms=8,pi=1|-e PRCHK"; do
        IFS='|' read -r name trid e <<< "$run"
        # shellcheck disable=SC2086
        j=$(valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file="$cg" \
            --collect-atstart=no --toggle-collect=io_done \
            build/bin/updk-perf -r "$trid" $e -q 16 -o 4k -w randrw -t "$secs" --json \
            --no-progress 2>/dev/null) || { echo "perf-pi: updk-perf -r '$trid' $e failed" >&2; exit 1; }
        ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg")
        echo "$j" | python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
if t["errors"] or not t["ios"]:
    sys.exit("perf-pi: %s: %d errors, %d I/Os" % (sys.argv[1], t["errors"], t["ios"]))
print("%-12s %-32s %8d %22.1f" % (sys.argv[1], sys.argv[2], t["ios"], int(sys.argv[3]) / t["ios"]))
' "$name" "$trid" "$ir"
    done
    exit 0
fi
if [ "${1:-}" = "-r" ]; then reps=$2; shift 2; fi
pi=${1:-sim:nvme?size=256M,ms=8,pi=1}
plain=${2:-sim:nvme?size=256M}
perf=build/bin/updk-perf
[ -x $perf ] || { echo "perf-pi: $perf is missing: run make" >&2; exit 2; }
case "$pi" in *0000:*) scripts/setup.sh bind "$(echo "$pi" | sed 's/.*traddr:\([^ ]*\).*/\1/')" >&2 ;; esac
runs=("plain|$plain|" "none|$pi|" "PRACT,PRCHK|$pi|-e PRACT,PRCHK" "PRCHK|$pi|-e PRCHK")
out=$(mktemp /tmp/perf-pi.XXXXXX)
trap 'rm -f "$out"' EXIT
for r in $(seq "$reps"); do
    for k in $(seq 0 $((${#runs[@]} - 1))); do
        IFS='|' read -r name trid e <<< "${runs[$(((k + r) % ${#runs[@]}))]}"
        # shellcheck disable=SC2086
        p=$(timeout 120 $perf -r "$trid" $e -q 16 -o 4k -w randrw -t 5 -a 1 --no-progress 2>&1) ||
            { echo "perf-pi: updk-perf -r '$trid' $e failed:" >&2; echo "$p" >&2; exit 1; }
        iops=$(echo "$p" | awk '/^Total/ { print $3 }')
        cyc=$(echo "$p" | sed -n 's/^Poller core 0: \([0-9.]*\) TSC cycles per I\/O.*/\1/p')
        err=$(echo "$p" | sed -n 's/^I\/Os: .* \([0-9]*\) errors;.*/\1/p')
        echo "$name ${iops:-nan} ${cyc:-nan} ${err:-nan}" >> "$out"
    done
done
python3 - "$out" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
print("%-12s %12s %18s %7s" % ("-e", "IOPS", "cycles per I/O", "errors"))
for n in dict.fromkeys(r[0] for r in rows):
    rs = [r for r in rows if r[0] == n]
    med = lambda i: st.median(float(r[i]) for r in rs)
    print("%-12s %12.0f %18.0f %7d" % (n, med(1), med(2), sum(int(r[3]) for r in rs)))
PY
