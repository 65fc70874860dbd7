#!/bin/bash
# virtio-net receive in interrupt mode beside polled, at paced packet rates, in one guest boot
# (issue 14's benchmark for NICs). Run it inside the guest of test/vm/run.sh, from the top of
# the tree, after `make`:
#
#   test/vm/run.sh --smp 2 --timeout 900 -- test/bench/net-intr.sh [SECONDS] [RATE...]
#
# (default 5 s at 1000 and 10000 packets a second). The two virtio-nets on the QEMU hub are
# bound to vfio-pci: 06.0 (UPDK_VM_VIRTIO_NET) sends 60-byte frames paced at RATE with
# updk-perf --net txonly --rate on guest CPU 1; 09.0 (UPDK_VM_VIRTIO_NET2) receives with
# updk-perf --net rxonly on guest CPU 0, polled, then with --interrupt-mode (the receive
# virtqueue's MSI-X vector through an eventfd, the hybrid loop sleeping between frames).
# CPU per packet is the receiving poller thread's (getrusage) over the packets it counted;
# sleeps and wake-ups are its loop's. Rounds alternate polled and interrupt mode.
#
# The peer of the issue, dpdk-testpmd with Rx interrupts: Debian's dpdk 22.11 testpmd has no
# forwarding mode that sleeps on Rx interrupts (its only interrupts are link status and
# removal), and Debian ships no l3fwd-power binary (an example in DPDK's source); so no DPDK
# row here.
# Prints one Markdown table; figures are for comparing side by side, never a pass/fail.
set -eu

secs=${1:-5}
shift || true
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(1000 10000)
for v in "$secs" "${rates[@]}"; do
    case $v in '' | *[!0-9]*) echo "net-intr: SECONDS and RATEs are whole numbers" >&2; exit 2 ;; esac
done
perf=build/bin/updk-perf
[ -x "$perf" ] || { echo "net-intr: $perf is missing: run make first" >&2; exit 2; }
tx_bdf=${UPDK_VM_VIRTIO_NET:-0000:00:06.0} rx_bdf=${UPDK_VM_VIRTIO_NET2:-0000:00:09.0}
rx_mac=52:54:00:12:34:09 # test/vm/run.sh: mac= of 00:09.0
rx_cpu=0 tx_cpu=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/setup.sh bind "$tx_bdf" "$rx_bdf" >/dev/null

py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
declare -A got lost cpu sleeps wakeups

# Wait until file $1 has a progress line (the receiver is up), up to 120 s.
wait_up() {
    local end=$((SECONDS + 120)) line
    while ((SECONDS < end)); do
        while IFS= read -r line; do
            [[ $line == \[*\ s\]* ]] && return 0
        done < "$1"
        sleep 0.5
    done
    echo "net-intr: the receiver did not start:" >&2
    tail -n 20 "$1" >&2
    return 1
}

run() { # mode (poll|intr), rate
    local mode=$1 rate=$2 key="$1-$2" rxpid extra=()
    [ "$mode" = intr ] && extra=(--interrupt-mode)
    : > "$work/rx.err"
    "$perf" --net rxonly -r "$rx_bdf" -c "[$rx_cpu]" -t $((secs + 60)) --json "${extra[@]}" \
        > "$work/rx.json" 2> "$work/rx.err" &
    rxpid=$!
    wait_up "$work/rx.err"
    "$perf" --net txonly -r "$tx_bdf" -c "[$tx_cpu]" -t "$secs" --rate "$rate" --json \
        --no-progress --dst-mac $rx_mac > "$work/tx.json" 2> "$work/tx.err"
    sleep 1 # the last frames on their way
    kill -INT $rxpid
    wait $rxpid || true
    got[$key]=$(py "d['total']['rx_packets']" < "$work/rx.json")
    lost[$key]=$(py "d['total']['lost']" < "$work/rx.json")
    cpu[$key]=$(py "d['pollers'][0]['cpu_us_per_packet']" < "$work/rx.json")
    sleeps[$key]=$(py "d['pollers'][0]['sleeps']" < "$work/rx.json")
    wakeups[$key]=$(py "d['pollers'][0]['wakeups']" < "$work/rx.json")
    echo "net-intr: $key: ${got[$key]} received, ${cpu[$key]} CPU µs a packet" >&2
}

for rate in "${rates[@]}"; do
    run poll "$rate"
    run intr "$rate"
done
scripts/setup.sh unbind "$tx_bdf" "$rx_bdf" >/dev/null || true

echo "| virtio-net receive, 60-byte frames, $secs s | packets received | lost | CPU µs per packet | sleeps | woken by the vector |"
echo "|---|---|---|---|---|---|"
for rate in "${rates[@]}"; do
    for mode in poll intr; do
        k=$mode-$rate
        case $mode in
        poll) name="updk-perf polled, $rate/s" ;;
        intr) name="updk-perf --interrupt-mode, $rate/s" ;;
        esac
        echo "| $name | ${got[$k]} | ${lost[$k]} | ${cpu[$k]} | ${sleeps[$k]} | ${wakeups[$k]} |"
    done
done
