#!/bin/bash
# Wall-clock side of a before/after pair for the NVMe hot path (docs/benchmarks-history.md §3):
# several builds, each a directory holding a copy of build/test/bench-nvme_batch and
# build/bin/updk-perf, run in turn, the order rotated every repetition so the machine's drift
# does not favour one; then the median and quartiles of each figure per build.
#
#   test/bench/nvme-pair.sh [-r REPS] DIR...        (default 7 repetitions)
#
# Figures: TSC cycles per I/O inside bench-nvme_batch's measured round (QD 32, median of
# 20000 rounds), and updk-perf's IOPS and poller cycles per I/O in passes that reaped (4 KiB
# random read, QD 32, 3 s after 1 s of warm-up, on sim:nvme). Prints figures; never fails on
# a speed.
set -eu
reps=7
if [ "${1:-}" = "-r" ]; then reps=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: nvme-pair.sh [-r REPS] DIR..." >&2; exit 2; }
for d in "$@"; do
    for b in bench-nvme_batch updk-perf; do
        [ -x "$d/$b" ] || { echo "nvme-pair: $d/$b is missing: copy it from build/" >&2; exit 2; }
    done
done
out=$(mktemp /tmp/nvme-pair.XXXXXX)
trap 'rm -f "$out"' EXIT
dirs=("$@")
n=${#dirs[@]}
for r in $(seq "$reps"); do
    for k in $(seq 0 $((n - 1))); do
        d=${dirs[$(((k + r) % n))]}
        c=$("$d/bench-nvme_batch" -q 32 -n 20000 | sed -n 's/.*round: median \([0-9.]*\),.*/\1/p')
        p=$(timeout 60 "$d/updk-perf" -q 32 -o 4k -w randread -t 3 -a 1 --no-progress 2>&1)
        iops=$(echo "$p" | awk '/^Total/ { print $3 }')
        reap=$(echo "$p" | sed -n 's/^Poller core 0: .*(\([0-9.]*\) in passes.*/\1/p')
        echo "$d ${c:-nan} ${iops:-nan} ${reap:-nan}" >> "$out"
    done
done
python3 - "$out" "$reps" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
names = ("bench cycles/I/O", "updk-perf IOPS", "reaping cycles/I/O")
for d in dict.fromkeys(r[0] for r in rows):
    print(f"{d} ({sys.argv[2]} repetitions):")
    for i, name in enumerate(names):
        x = sorted(float(r[i + 1]) for r in rows if r[0] == d and r[i + 1] != "nan")
        if len(x) >= 2:
            q = st.quantiles(x, n=4)
            print(f"  {name}: median {st.median(x):.1f} (quartiles {q[0]:.1f} .. {q[2]:.1f})")
PY
