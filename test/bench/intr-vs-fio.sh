#!/bin/bash
# Interrupt mode beside polling and the kernel's interrupt path, on the same QEMU NVMe controller
# in one guest boot (issue 14's benchmark). Run it inside the guest of test/vm/run.sh, from the
# top of the tree, after `make`:
#
#   test/vm/run.sh --smp 2 --timeout 900 -- test/bench/intr-vs-fio.sh [SECONDS]
#
# 4 KiB random reads from one core, at QD 1 (as fast as it goes) and paced at 1,000 IOPS:
#   - updk-perf polled (vfio-pci);
#   - updk-perf --interrupt-mode (vfio-pci, the qpair's MSI-X vector through an eventfd);
#   - fio over io_uring without polling (the guest's nvme driver and its interrupts).
# CPU per I/O: updk-perf's poller thread (getrusage), fio's job (usr + sys), over the I/Os
# done. The kernel's interrupt handler runs partly outside fio's accounting (hard and soft
# interrupt time of the CPU that takes the vector), so fio's figure is a lower bound.
# Prints one Markdown table; figures are for comparing side by side, never a pass/fail.
set -eu

bdf=${UPDK_VM_NVME2:-0000:00:05.0}
secs=${1:-5}
perf=build/bin/updk-perf
core=${BENCH_CORE:-$(($(nproc) - 1))} # the last guest CPU: the first one takes interrupts
[ -x "$perf" ] || { echo "intr-vs-fio: $perf is missing: run make first" >&2; exit 2; }
command -v fio >/dev/null || { echo "intr-vs-fio: fio is not installed" >&2; exit 2; }

py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
declare -A iops avg p99 cpu

# --- the kernel's nvme driver with its interrupts, fio over io_uring without polling -------
scripts/setup.sh unbind "$bdf" >/dev/null 2>&1 || true
modprobe -r nvme 2>/dev/null || true
modprobe nvme poll_queues=0
dev=
for _ in $(seq 100); do
    for n in /sys/bus/pci/devices/$bdf/nvme/nvme*/nvme*n1; do
        [ -e "$n" ] && dev=/dev/$(basename "$n")
    done
    [ -n "$dev" ] && [ -b "$dev" ] && break
    sleep 0.1
done
[ -n "$dev" ] || { echo "intr-vs-fio: no block device for $bdf under nvme" >&2; exit 1; }
run_fio() { # key, extra fio args...
    local key=$1 out
    shift
    out=$(fio --name=kirq --filename="$dev" --ioengine=io_uring --hipri=0 --direct=1 \
        --rw=randread --bs=4k --iodepth=1 --numjobs=1 --cpus_allowed="$core" --time_based=1 \
        --runtime="$secs" --output-format=json "$@")
    iops[$key]=$(echo "$out" | py "round(d['jobs'][0]['read']['iops'])")
    avg[$key]=$(echo "$out" | py "round(d['jobs'][0]['read']['clat_ns']['mean']/1000, 1)")
    p99[$key]=$(echo "$out" | py "round(d['jobs'][0]['read']['clat_ns']['percentile']['99.000000']/1000, 1)")
    cpu[$key]=$(echo "$out" | py "(lambda j: round((j['usr_cpu'] + j['sys_cpu']) / 100 * j['job_runtime'] * 1000 / max(j['read']['total_ios'], 1), 1))(d['jobs'][0])")
    echo "fio $key: ${iops[$key]} IOPS" >&2
}
run_fio fio-qd1
run_fio fio-1000 --rate_iops=1000

# --- updk on vfio-pci -----------------------------------------------------------------------
scripts/setup.sh bind "$bdf" >/dev/null
run_perf() { # key, extra args...
    local key=$1 out
    shift
    out=$("$perf" -r "$bdf ns:1" -c "[$core]" -w randread -o 4096 -q 1 -t "$secs" -L --json \
        --no-progress "$@")
    iops[$key]=$(echo "$out" | py "round(d['total']['iops'])")
    avg[$key]=$(echo "$out" | py "round(d['total']['latency_us']['average'], 1)")
    p99[$key]=$(echo "$out" | py "round(d['total']['percentiles_us']['99'], 1)")
    cpu[$key]=$(echo "$out" | py "round(d['pollers'][0]['cpu_us_per_io'], 1)")
    echo "updk-perf $key: ${iops[$key]} IOPS" >&2
}
run_perf poll-qd1
run_perf intr-qd1 --interrupt-mode
run_perf poll-1000 --rate 1000
run_perf intr-1000 --interrupt-mode --rate 1000
scripts/setup.sh unbind "$bdf" >/dev/null

echo "| 4 KiB random reads, one core | IOPS | average µs | p99 µs | CPU µs per I/O |"
echo "|---|---|---|---|---|"
for k in poll-qd1 intr-qd1 fio-qd1 poll-1000 intr-1000 fio-1000; do
    case $k in
    poll-qd1) name="updk-perf polled, QD 1" ;;
    intr-qd1) name="updk-perf --interrupt-mode, QD 1" ;;
    fio-qd1) name="fio io_uring (interrupts), QD 1" ;;
    poll-1000) name="updk-perf polled, --rate 1000" ;;
    intr-1000) name="updk-perf --interrupt-mode, --rate 1000" ;;
    fio-1000) name="fio io_uring (interrupts), --rate_iops=1000" ;;
    esac
    echo "| $name | ${iops[$k]} | ${avg[$k]} | ${p99[$k]} | ${cpu[$k]} |"
done
