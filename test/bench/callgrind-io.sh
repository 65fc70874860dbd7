#!/bin/bash
# Instructions per I/O of the NVMe driver's hot path, counted by callgrind (docs/benchmarks.md):
# runs build/test/bench-nvme_batch under valgrind, collecting only inside its bench_round(), and
# splits the instructions by where they were written: drivers/nvme (with the inline helpers it
# pulls in from include/updk), lib/mem (address translation), the bench itself.
#
#   test/bench/callgrind-io.sh [bench-nvme_batch arguments...]   e.g. -q 32 -n 2000
#
# BENCH=path runs another build of bench-nvme_batch (a before/after pair: keep a copy of the
# "before" binary); its functions must come from a tree with the same layout.
set -eu
cd "$(dirname "$0")/../.."
bench=${BENCH:-build/test/bench-nvme_batch}
[ -x "$bench" ] || { echo "callgrind-io: $bench is missing: run make" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind-io: valgrind is not installed" >&2; exit 2; }
out=$(mktemp /tmp/callgrind-io.XXXXXX)
trap 'rm -f "$out" "$out.txt"' EXIT

valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=bench_round \
    "$bench" "$@" > "$out.txt" 2>/dev/null
cat "$out.txt"
ios=$(sed -n 's/^.*: \([0-9]*\) I\/Os in .*/\1/p' "$out.txt")
[ -n "$ios" ] && [ "$ios" -gt 0 ] || { echo "callgrind-io: no I/O count from the bench" >&2; exit 1; }

# Lines "   1,234 ( 1.3%)  /path/file.c:function [object]", the percentage dropped first.
callgrind_annotate --inclusive=no --threshold=100 "$out" 2>/dev/null |
    sed -nE 's/^ *([0-9,]+) +\([ 0-9.]+%\) +/\1 /p' | awk -v ios="$ios" '
    $2 ~ /:/ {
        ir = $1; gsub(",", "", ir)
        split($2, fp, ":"); file = fp[1]; fn = fp[2]
        n++; irs[n] = ir; files[n] = file; fns[n] = fn
        if (file ~ /drivers\/nvme\//) drvfn[fn] = 1
    }
    END {
        for (i = 1; i <= n; i++) {
            if (files[i] ~ /drivers\/nvme\// || (files[i] ~ /include\/updk\// && drvfn[fns[i]]))
                drv += irs[i]
            else if (files[i] ~ /lib\/mem\//)
                mem += irs[i]
            else
                other += irs[i]
        }
        printf "instructions per I/O: driver (drivers/nvme) %.1f, lib/mem translation %.1f, bench and the rest %.1f\n", drv / ios, mem / ios, other / ios
    }'
