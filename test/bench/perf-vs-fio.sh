#!/bin/bash
# updk-perf beside fio on the same QEMU NVMe controller, in one guest boot (issue 4, benchmark 2).
# Run it inside the guest of test/vm/run.sh, from the top of the tree, after `make`:
#
#   test/vm/run.sh --smp 2 --timeout 900 -- test/bench/perf-vs-fio.sh [SECONDS]
#
# The kernel side: the guest's nvme driver reloaded with one poll queue, fio's io_uring engine
# polling it (hipri, fixedbufs, O_DIRECT). The updk side: the same function bound to vfio-pci and
# driven by build/bin/updk-perf. 4 KiB random reads, one core, QD 1, 32 and 128, each with and
# without shadow doorbells; then updk-perf at QD 32 with a doorbell per command (with and without
# shadow doorbells), for the doorbell counts.
# Prints one Markdown table; figures are for comparing side by side, never a pass/fail.
set -eu

bdf=${UPDK_VM_NVME2:-0000:00:05.0}
secs=${1:-5}
perf=build/bin/updk-perf
core=${BENCH_CORE:-$(($(nproc) - 1))} # the last guest CPU: the first one takes interrupts
[ -x "$perf" ] || { echo "perf-vs-fio: $perf is missing: run make first" >&2; exit 2; }
command -v fio >/dev/null || { echo "perf-vs-fio: fio is not installed" >&2; exit 2; }

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- the kernel's nvme driver with a poll queue, fio over io_uring ----------------------------
source test/common/kernel_nvme.sh
dev=$(kernel_nvme_polled "$bdf")
[ -n "$dev" ] || { echo "perf-vs-fio: no block device for $bdf under nvme" >&2; exit 1; }
echo "kernel: $bdf is $dev (poll_queues=$(cat /sys/module/nvme/parameters/poll_queues))" >&2

declare -A fio_iops fio_lat
for qd in 1 32 128; do
    out=$(fio --name=kpoll --filename="$dev" --ioengine=io_uring --hipri=1 --fixedbufs=1 \
        --registerfiles=1 --direct=1 --rw=randread --bs=4k --iodepth="$qd" --numjobs=1 \
        --cpus_allowed="$core" --time_based=1 --runtime="$secs" --output-format=json)
    fio_iops[$qd]=$(echo "$out" | json "round(d['jobs'][0]['read']['iops'])")
    fio_lat[$qd]=$(echo "$out" | json "round(d['jobs'][0]['read']['clat_ns']['mean']/1000, 2)")
    echo "fio qd $qd: ${fio_iops[$qd]} IOPS" >&2
done

# --- updk on vfio-pci -------------------------------------------------------------------------
scripts/setup.sh bind "$bdf" >/dev/null
declare -A u_iops u_lat u_db u_cyc
run_perf() { # key, extra args...
    local key=$1 out
    shift
    out=$("$perf" -r "$bdf ns:1" -c "[$core]" -w randread -o 4096 -t "$secs" --json --no-progress "$@")
    u_iops[$key]=$(echo "$out" | json "round(d['total']['iops'])")
    u_lat[$key]=$(echo "$out" | json "d['total']['latency_us']['average']")
    u_db[$key]=$(echo "$out" | json "d['total']['driver']['mmio_doorbell_writes_per_io']")
    u_cyc[$key]=$(echo "$out" | json "round(d['cycles_per_io'])")
    echo "updk-perf $key: ${u_iops[$key]} IOPS" >&2
}
for qd in 1 32 128; do
    run_perf "$qd" -q "$qd"
    run_perf "$qd-noshadow" -q "$qd" --no-shadow-doorbell
done
run_perf 32-percmd -q 32 --doorbell-per-cmd
run_perf 32-percmd-noshadow -q 32 --doorbell-per-cmd --no-shadow-doorbell
scripts/setup.sh unbind "$bdf" >/dev/null

# The kernel's driver uses shadow doorbells too when the controller offers them (QEMU's does), so
# the default columns compare like with like; the last two are updk-perf without them.
echo "| QD | fio io_uring polled IOPS (avg µs) | updk-perf IOPS (avg µs) | updk ÷ fio | MMIO doorbells per I/O | poller cycles per I/O | updk-perf --no-shadow-doorbell IOPS (avg µs) | ÷ fio |"
echo "|---|---|---|---|---|---|---|---|"
for qd in 1 32 128; do
    ratio=$(python3 -c "print(round(${u_iops[$qd]} / max(${fio_iops[$qd]}, 1), 2))")
    ns=$qd-noshadow
    nratio=$(python3 -c "print(round(${u_iops[$ns]} / max(${fio_iops[$qd]}, 1), 2))")
    echo "| $qd | ${fio_iops[$qd]} (${fio_lat[$qd]}) | ${u_iops[$qd]} (${u_lat[$qd]}) | $ratio | ${u_db[$qd]} | ${u_cyc[$qd]} | ${u_iops[$ns]} (${u_lat[$ns]}) | $nratio |"
done
echo
echo "| updk-perf QD 32 | IOPS (avg µs) | MMIO doorbells per I/O |"
echo "|---|---|---|"
echo "| shadow doorbells, batched (default) | ${u_iops[32]} (${u_lat[32]}) | ${u_db[32]} |"
echo "| --no-shadow-doorbell | ${u_iops[32-noshadow]} (${u_lat[32-noshadow]}) | ${u_db[32-noshadow]} |"
echo "| --doorbell-per-cmd | ${u_iops[32-percmd]} (${u_lat[32-percmd]}) | ${u_db[32-percmd]} |"
echo "| --doorbell-per-cmd --no-shadow-doorbell | ${u_iops[32-percmd-noshadow]} (${u_lat[32-percmd-noshadow]}) | ${u_db[32-percmd-noshadow]} |"
