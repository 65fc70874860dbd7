#!/bin/bash
# fio with the updk engine beside updk-perf and beside fio's io_uring on the kernel's nvme driver,
# on one QEMU NVMe controller in one guest boot (issue 19; docs/benchmarks.md). Run it inside the
# guest of test/vm/run.sh, from the top of the tree, after ./configure --with-fio and make:
#
#   test/vm/run.sh --smp 2 --timeout 1200 -- test/bench/fio-engine.sh [SECONDS] [ROUNDS]
#
# 4 KiB random reads, one job on one core, QD 1 and 32:
# - kernel: the guest's nvme driver reloaded with one poll queue, fio --ioengine=io_uring
#   --hipri=1 --fixedbufs=1 --registerfiles=1 --direct=1;
# - updk: the function bound to vfio-pci, fio --ioengine=external:build/lib/fio_updk.so, and
#   build/bin/updk-perf.
# ROUNDS rounds (default 2), each running all three at both depths, the kernel's first in odd
# rounds and last in even ones, so drift in the guest touches all three alike; the figures are
# the averages over the rounds.
# Prints one Markdown table (IOPS, and average latency in µs from submission to completion);
# figures are for comparing side by side, never a pass/fail.
set -eu

bdf=${UPDK_VM_NVME2:-0000:00:05.0}
secs=${1:-5}
rounds=${2:-2}
perf=build/bin/updk-perf
engine=$PWD/build/lib/fio_updk.so
core=${BENCH_CORE:-$(($(nproc) - 1))} # the last guest CPU: the first one takes interrupts
[ -x "$perf" ] || { echo "fio-engine.sh: $perf is missing: run make first" >&2; exit 2; }
[ -f "$engine" ] || { echo "fio-engine.sh: $engine is missing: ./configure --with-fio; make" >&2; exit 2; }
command -v fio >/dev/null || { echo "fio-engine.sh: fio is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source test/common/kernel_nvme.sh

json() { python3 -c "import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index('{'):]); print($1)"; }
fio_iops="round(d['jobs'][0]['read']['iops'])"
fio_lat="round(d['jobs'][0]['read']['lat_ns']['mean']/1000, 2)"
common=(--name=r --thread --rw=randread --bs=4k --numjobs=1 --cpus_allowed="$core"
	--time_based=1 --runtime="$secs" --output-format=json)
declare -A iops lat

# One round: io_uring on the kernel's driver, then the engine and updk-perf on vfio-pci, each at
# both depths; the next round the other way round (one rebind a round), so that the order does
# not favour one of the three and drift in the guest touches all three alike.
add() { # KEY IOPS LAT: sums over the rounds
	iops[$1]=$(python3 -c "print(${iops[$1]:-0} + $2)")
	lat[$1]=$(python3 -c "print(${lat[$1]:-0} + $3)")
}
kernel_runs() { # ROUND
	local dev out qd
	[ "$on" = nvme ] || scripts/setup.sh unbind "$bdf" >/dev/null
	on=nvme
	dev=$(kernel_nvme_blockdev "$bdf")
	[ -n "$dev" ] || { echo "fio-engine.sh: no block device for $bdf under nvme" >&2; exit 1; }
	for qd in 1 32; do
		out=$(cd "$tmp" && fio "${common[@]}" --filename="$dev" --ioengine=io_uring \
			--hipri=1 --fixedbufs=1 --registerfiles=1 --direct=1 --iodepth="$qd")
		add "uring,$qd" "$(echo "$out" | json "$fio_iops")" "$(echo "$out" | json "$fio_lat")"
		echo "round $1 qd $qd: io_uring done" >&2
	done
}
updk_runs() { # ROUND
	local out qd
	[ "$on" = vfio-pci ] || scripts/setup.sh bind "$bdf" >/dev/null
	on=vfio-pci
	for qd in 1 32; do
		out=$(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug fio "${common[@]}" \
			--ioengine=external:"$engine" --filename="trtype=PCIe traddr=${bdf//:/.} ns=1" \
			--iodepth="$qd" 2>engine.err)
		grep "updk fio: job" "$tmp/engine.err" >&2 || true # its doorbell writes per command
		add "engine,$qd" "$(echo "$out" | json "$fio_iops")" "$(echo "$out" | json "$fio_lat")"
		out=$("$perf" -r "$bdf ns:1" -c "[$core]" -w randread -o 4096 -q "$qd" -t "$secs" \
			--json --no-progress)
		add "perf,$qd" "$(echo "$out" | json "round(d['total']['iops'])")" \
			"$(echo "$out" | json "d['total']['latency_us']['average']")"
		echo "round $1 qd $qd: engine and updk-perf done" >&2
	done
}

# The kernel's nvme driver reloaded with a poll queue, once; the rounds move the function between
# it and vfio-pci.
[ -n "$(kernel_nvme_polled "$bdf")" ] ||
	{ echo "fio-engine.sh: no block device for $bdf under nvme" >&2; exit 1; }
on=nvme
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		kernel_runs "$r"
		updk_runs "$r"
	else
		updk_runs "$r"
		kernel_runs "$r"
	fi
done
[ "$on" = nvme ] || scripts/setup.sh unbind "$bdf" >/dev/null

avg() { python3 -c "print(round(${1:-0} / $rounds, ${2:-0}) if ${2:-0} else round(${1:-0} / $rounds))"; }
echo "| QD | fio + updk engine: IOPS (avg µs) | updk-perf: IOPS (avg µs) | engine ÷ updk-perf | fio io_uring polled: IOPS (avg µs) | engine ÷ io_uring |"
echo "|---|---|---|---|---|---|"
for qd in 1 32; do
	e=$(avg "${iops[engine,$qd]}") p=$(avg "${iops[perf,$qd]}") u=$(avg "${iops[uring,$qd]}")
	echo "| $qd | $e ($(avg "${lat[engine,$qd]}" 2)) | $p ($(avg "${lat[perf,$qd]}" 2)) |" \
		"$(python3 -c "print(round($e / max($p, 1), 2))") | $u ($(avg "${lat[uring,$qd]}" 2)) |" \
		"$(python3 -c "print(round($e / max($u, 1), 2))") |"
done
