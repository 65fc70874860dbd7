#!/bin/bash
# Instructions per I/O of fio with the updk engine, beside updk-perf's, counted by callgrind on
# sim.nvme (docs/benchmarks.md, the fio engine row): where the engine spends more than updk-perf.
#
#   test/bench/callgrind-fio.sh [-q QD]... [-n IOS] [-o 'FIO OPTIONS']... [-P]
#
# Defaults: -q 1 -q 32, -n 400, one set of fio options: none (fio's defaults). Each -o adds a row
# of fio with those options beside the others, {QD} in them standing for the depth (docs/fio.md
# "A fast job file": -o '' -o '--norandommap=1 ... --iodepth_batch_submit={QD}'); -P leaves
# updk-perf's rows out.
#
# 4 KiB random reads, one job / one poller thread. Only that thread is counted, and in it:
# - fio: fio --number_ios=IOS and then 2 x IOS, the per-I/O figure being the difference divided
#   by IOS, so fio's and the engine's setup and teardown drop out; everything the job thread
#   runs is counted except the engine's poll loop (fu_poll: passes over the qpairs until fio has
#   its events) and its setup and teardown hooks, with the completion callbacks inside the loop
#   (fu_complete) counted again;
# - updk-perf: -t 1 and -t 3 on sim:nvme, the completion callback (io_done: latency, next I/O,
#   its submission) counted, the poll loop around it not.
# Both programs' poll loops are left out because how often a poll finds the CQ empty depends on
# when valgrind lets the model's thread run, not on the code; the driver's reaper is in there,
# the same code for both (its cost per I/O: test/bench/callgrind-io.sh). Every function's cost
# goes to whoever wrote it (fio's binary, the engine, updk-perf, drivers/nvme, lib/mem, the rest
# of the library), and a system library's (libc, the vDSO) to the caller's (callgrind_split.py).
# ENGINE=path counts another build of the engine (a before/after pair); FIO_ARGS="..." adds fio
# options (what fio's own share costs with, say, --norandommap); FIO=path runs another fio binary
# of the same version (one built from Debian's source with its symbols, whose static functions
# callgrind can then name: docs/fio.md "Where fio's instructions go"); TOP=N lists N functions
# per run instead of 10. Prints figures, never fails on them.
set -eu
cd "$(dirname "$0")/../.."
engine=$(realpath "${ENGINE:-build/lib/fio_updk.so}")
perf=build/bin/updk-perf
qds=() ios=400 sets=() with_perf=1
while [ $# -gt 0 ]; do
	case $1 in
	-q) qds+=("$2"); shift 2 ;;
	-n) ios=$2; shift 2 ;;
	-o) sets+=("$2"); shift 2 ;;
	-P) with_perf=0; shift ;;
	*) echo "usage: callgrind-fio.sh [-q QD]... [-n IOS] [-o 'FIO OPTIONS']... [-P]" >&2; exit 2 ;;
	esac
done
[ ${#qds[@]} -gt 0 ] || qds=(1 32)
[ ${#sets[@]} -gt 0 ] || sets=("")
[ -f "$engine" ] || { echo "callgrind-fio: $engine is missing: ./configure --with-fio; make" >&2; exit 2; }
[ -x "$perf" ] || { echo "callgrind-fio: $perf is missing: run make" >&2; exit 2; }
for t in fio valgrind python3; do
	command -v $t >/dev/null || { echo "callgrind-fio: $t is not installed" >&2; exit 2; }
done
tmp=$(mktemp -d /tmp/callgrind-fio.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cg=(valgrind --tool=callgrind --separate-threads=yes --compress-strings=no --compress-pos=no)
# Left out of fio's runs: the poll loop, and the engine's setup and teardown hooks (their waits
# for the model's thread, as long as valgrind makes them; the completion callback is counted
# again inside the loop). --collect-atstart after them: a --toggle-collect turns it off.
quiet=()
for f in 'fu_poll*' fu_setup fu_init fu_open_file fu_close_file fu_cleanup fu_iomem_alloc \
	fu_iomem_free; do
	quiet+=(--toggle-collect="$f")
done

# RUN-NAME FUNCTION OWN-OBJECT: the profile of the thread that ran FUNCTION, split by group
split() {
	local f
	f=$(grep -l "^fn=$2\$" "$tmp/$1".cg* | head -1)
	[ -n "$f" ] || { echo "callgrind-fio: no thread ran $2 in run $1 (see $tmp/$1.err)" >&2; exit 1; }
	python3 test/bench/callgrind_split.py "$f" "${@:3}" >"$tmp/$1.json"
}
fio_run() { # NAME QD IOS OPTIONS
	(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug "${cg[@]}" "${quiet[@]}" \
		--toggle-collect=fu_complete --collect-atstart=yes --callgrind-out-file="$tmp/$1.cg" \
		"${FIO:-fio}" --thread --ioengine=external:"$engine" --filename='sim.nvme?size=256M' --name=cg \
		--rw=randread --bs=4k --iodepth="$2" --number_ios="$3" --output-format=terse $4 ${FIO_ARGS:-} \
		>"$1.out" 2>"$1.err") || { cat "$tmp/$1.err" >&2; exit 1; }
	split "$1" fu_queue /fio "$(basename "$engine")"
}
perf_run() { # NAME QD SECONDS
	LD_BIND_NOW=1 "${cg[@]}" --collect-atstart=no --toggle-collect=io_done \
		--callgrind-out-file="$tmp/$1.cg" "$perf" -r 'sim:nvme?size=256M' -w randread \
		-o 4096 -q "$2" -t "$3" --no-progress >"$tmp/$1.out" 2>"$tmp/$1.err" ||
		{ cat "$tmp/$1.err" >&2; exit 1; }
	split "$1" io_done updk-perf
}
# BEFORE AFTER IO-FUNCTION: per-I/O figures of the difference between two runs
report() {
	python3 - "$tmp/$1.json" "$tmp/$2.json" "$3" <<'PY'
import json, os, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
io = sys.argv[3]
n = b["calls"].get(io, 0) - a["calls"].get(io, 0)
if n <= 0:
    sys.exit(f"callgrind-fio: no more I/Os ({io}) in the longer run")
d = lambda k, x, y: (y.get(k, 0) - x.get(k, 0)) / n
groups = ["fio", "engine", "updk-perf", "drivers/nvme", "lib/mem", "lib (other)"]
g = {k: d(k, a["groups"], b["groups"]) for k in groups}
total = sum(d(k, a["groups"], b["groups"]) for k in set(a["groups"]) | set(b["groups"]))
print(" ".join(f"{g[k]:.1f}" for k in groups) + f" {total:.1f} {n}")
hooks = ["fu_queue", "fu_commit", "fu_getevents", "fu_event", "fu_poll", "fu_complete",
         "updk_nvme_qpair_process_completions", "updk_nvme_ns_read", "io_done"]
calls = ", ".join(f"{h} {d(h, a['calls'], b['calls']):.2f}" for h in hooks
                  if d(h, a["calls"], b["calls"]))
top = sorted(((d(k, a["top"], b["top"]), k) for k in set(b["top"])), reverse=True)
mine = [f"{k} {v:.1f}" for v, k in top if v >= 1 and not k.startswith("0x")][:int(os.environ.get("TOP", 10))]
ours = [f"{k} {v:.1f}" for v, k in top if v >= 1 and k.split(".")[0] in b["ours"]]
print("  calls per I/O: " + calls, file=sys.stderr)
print("  top functions per I/O (self + system calls they make): " + ", ".join(mine),
      file=sys.stderr)
print("  the engine's, updk-perf's and the library's: " + ", ".join(ours), file=sys.stderr)
PY
}

echo "| QD | program | fio | engine | updk-perf | drivers/nvme | lib/mem | lib (other) | total | I/Os |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for qd in "${qds[@]}"; do
	for i in "${!sets[@]}"; do
		opts=${sets[$i]//\{QD\}/$qd}
		[ -z "$opts" ] || echo "  fio + engine ($i): $opts" >&2
		fio_run "f$qd.$i.1" "$qd" "$ios" "$opts"
		fio_run "f$qd.$i.2" "$qd" $((2 * ios)) "$opts"
		grep -h "updk fio: job" "$tmp/f$qd.$i.2.err" | sed 's/^/  /' >&2 || true
		row=$(report "f$qd.$i.1" "f$qd.$i.2" fu_queue)
		echo "| $qd | fio + engine${opts:+ ($i)} | $(echo $row | tr ' ' '|' | sed 's/|/ | /g') |"
	done
	[ "$with_perf" = 1 ] || continue
	perf_run "p$qd.1" "$qd" 1
	perf_run "p$qd.2" "$qd" 3
	row=$(report "p$qd.1" "p$qd.2" updk_nvme_ns_read)
	echo "| $qd | updk-perf | $(echo $row | tr ' ' '|' | sed 's/|/ | /g') |"
done
