#!/bin/bash
# updk-perf against dpdk-testpmd on the same two virtio-nets, in one guest boot (issue 6).
# From the top of the tree, after `make`:
#
#   test/vm/bench-virtio.sh [SECONDS] [ROUNDS]        (default 8 s, 2 rounds)
#
# Outside the guest it boots one (test/vm/run.sh --smp 2) and runs itself there. In the guest
# the two virtio-nets on the QEMU hub (UPDK_VM_VIRTIO_NET 00:06.0 and UPDK_VM_VIRTIO_NET2
# 00:09.0) are bound to vfio-pci; 06.0 transmits, 09.0 receives, each end polling in user
# space on a guest CPU of its own (transmitter CPU 1, receiver CPU 0), one queue, 60-byte
# frames handed to the driver (64 on the wire with the FCS), bursts of 32:
#
#   updk:    updk-perf --net rxonly -r 09.0 -c 0   and   updk-perf --net txonly -r 06.0 -c 1
#   testpmd: dpdk-testpmd (its virtio PMD) --forward-mode=rxonly on 09.0, main lcore 1, and
#            --forward-mode=txonly --txpkts=60 on 06.0, main lcore 0
#
# Rounds alternate which tool goes first. Each tool prints its rate every second; the figure is
# the mean of the seconds in which both ends ran (the first and last second of traffic left
# out). A poller spins all the time, so its TSC cycles per packet are TSC Hz / packets per
# second.
#
# Under TCG every guest instruction and the device models run on host threads: QEMU's main loop
# (the virtio-net device work: the transmit bottom half, the hub, the receiving device's DMA)
# and one thread per vCPU (the drivers and the tools). The host side of this script reads those
# threads' CPU time from /proc at the start and end of each measured window (the guest marks
# them on stderr) and prints, per run, the share of a host CPU each got and the main loop's CPU
# time per packet: the device work a driver causes per packet, which the load of the host does
# not change the way it changes the rates.
# Prints Markdown tables; a benchmark, never a pass/fail.
set -eu

secs=${1:-8}
rounds=${2:-2}
case $secs$rounds in *[!0-9]*) echo "bench-virtio: SECONDS and ROUNDS are whole numbers" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

# --- the host side ------------------------------------------------------------------------------
# Per-thread CPU ticks of our QEMU, one line per thread: "tid ticks".
qemu_ticks() {
    local q f stat
    q=$(pgrep -o -f "^qemu-system-x86_64 .*$root/build/vm/runs/") || return 0
    for f in /proc/"$q"/task/*/stat; do
        read -r stat < "$f" 2>/dev/null || continue
        stat=${stat##*) } # past the thread name
        # shellcheck disable=SC2086
        set -- $stat # field 3 of stat is now $1: utime is $12, stime $13
        echo "${f//[!0-9]/ } $((${12} + ${13})) $q"
    done
}

# Read the guest's stderr: pass it on, and snapshot QEMU's threads at each mark.
host_marks() { # marks file
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line" >&2
        case $line in
            "bench-virtio: mark "*)
                set -- ${line#bench-virtio: mark }
                echo "$1 $2 $(date +%s.%N)" >> "$marks"
                qemu_ticks | sed "s/^/$1 $2 /" >> "$marks.ticks" ;;
            "bench-virtio: result "*) echo "${line#bench-virtio: }" >> "$marks" ;;
        esac
    done
}

host_table() {
    python3 - "$marks" "$marks.ticks" "$(getconf CLK_TCK)" <<'PY'
import sys, collections
marks, ticks_file, hz = sys.argv[1], sys.argv[2], int(sys.argv[3])
when, pps = {}, {}
for l in open(marks):
    w = l.split()
    if w[0] == "result":
        pps[w[1]] = (int(w[2]), int(w[3]))
    else:
        when[(w[0], w[1])] = float(w[2])
ticks = collections.defaultdict(dict)
main = {}
for l in open(ticks_file):
    name, edge, _, tid, tk, q = l.split()
    ticks[(name, edge)][tid] = int(tk)
    main[name] = q
print()
print("| run | window s | QEMU main loop, % of a host CPU | vCPU threads, % | main-loop CPU µs per packet |")
print("|---|---:|---:|---:|---:|")
for name in sorted(pps, key=lambda n: (int(n.split("-")[1]), n)):
    if (name, "begin") not in when or (name, "end") not in when:
        continue
    wall = when[(name, "end")] - when[(name, "begin")]
    b, e = ticks[(name, "begin")], ticks[(name, "end")]
    d = {t: (e[t] - b.get(t, 0)) / hz for t in e}
    m = d.pop(main[name], 0.0)
    vcpus = sorted(d.values(), reverse=True)[:2]
    pk = pps[name][0] * wall
    print(f"| {name} | {wall:.1f} | {100 * m / wall:.0f} | "
          f"{' + '.join(f'{100 * v / wall:.0f}' for v in vcpus)} | "
          f"{1e6 * m / pk:.1f} |" if pk else f"| {name} | {wall:.1f} | - | - | - |")
PY
}

if [ -z "${UPDK_VM_VIRTIO_NET:-}" ]; then
    # testpmd loads every DPDK driver Debian ships, which takes a minute or more under TCG.
    marks=$(mktemp)
    trap 'rm -f "$marks" "$marks.ticks"' EXIT
    : > "$marks.ticks"
    set +e
    "$here/run.sh" --smp 2 --mem 3G --hugepages 640 \
        --timeout $((300 + rounds * (2 * secs + 200))) -- "$0" "$secs" "$rounds" \
        2> >(host_marks "$marks")
    rc=$?
    set -e
    sleep 1 # the reader of our stderr ends with run.sh
    [ $rc = 0 ] && host_table
    exit $rc
fi

# --- the guest side -----------------------------------------------------------------------------
perf=build/bin/updk-perf
testpmd=$(command -v dpdk-testpmd || true)
[ -x "$perf" ] || { echo "bench-virtio: $perf is missing: run make first" >&2; exit 2; }
[ -n "$testpmd" ] ||
    { echo "bench-virtio: dpdk-testpmd is missing: scripts/pkgdep.sh installs dpdk-dev" >&2; exit 2; }
tx_bdf=$UPDK_VM_VIRTIO_NET rx_bdf=$UPDK_VM_VIRTIO_NET2
rx_mac=52:54:00:12:34:09 # test/vm/run.sh: mac= of 00:09.0
tx_cpu=1 rx_cpu=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { echo "bench-virtio: [${SECONDS}s] $*" >&2; }
say "binding $tx_bdf and $rx_bdf to vfio-pci"
scripts/setup.sh bind "$tx_bdf" "$rx_bdf" >/dev/null

# Mean of the per-second rates in file $1 (one number a line, packets per second), leaving out
# the first and the last second with traffic and any second with none.
steady() {
    awk '$1 > 0 { v[n++] = $1 } END {
        if (n < 3) { print 0; exit }
        for (i = 1; i < n - 1; i++) s += v[i]
        printf "%.0f\n", s / (n - 2) }' "$1"
}

# updk-perf's progress lines: "[   3 s] tx    0.123 Mpps  rx    0.000 Mpps ..."
updk_rates() { # file, tx|rx
    awk -v col="$2" '/^\[ *[0-9]+ s\]/ {
        for (i = 1; i < NF; i++) if ($i == col) { printf "%.0f\n", $(i + 1) * 1e6; break } }' "$1"
}

# testpmd's --stats-period blocks: "Tx-pps:  41042826  Tx-bps: ..."
testpmd_rates() { # file, Tx|Rx
    awk -v key="$2-pps:" '{ for (i = 1; i < NF; i++) if ($i == key) print $(i + 1) }' "$1"
}

# Wait until file $1 has a line matching the glob $2, up to $3 seconds. Built-ins only: every
# program started costs a lot under TCG.
wait_for() {
    local end=$((SECONDS + $3)) line
    while ((SECONDS < end)); do
        if [ -f "$1" ]; then
            while IFS= read -r line; do
                # shellcheck disable=SC2053
                [[ $line == $2 ]] && return 0
            done < "$1"
        fi
        sleep 0.5
    done
    echo "bench-virtio: no '$2' in $1 after $3 s:" >&2
    tail -n 20 "$1" >&2
    return 1
}

# updk-perf's busy cycles per packet (the rounds that moved packets), from its JSON.
busy() {
    python3 -c 'import json,sys; print(json.load(sys.stdin)["pollers"][0]["busy_cycles_per_packet"])'
}

tsc_hz=
run_updk() { # round
    local r=$1 rxpid
    say "round $r: updk-perf"
    : > "$work/updk-rx.err"
    "$perf" --net rxonly -r "$rx_bdf" -c "[$rx_cpu]" -t $((secs + 60)) --json \
        > "$work/updk-rx.json" 2> "$work/updk-rx.err" &
    rxpid=$!
    wait_for "$work/updk-rx.err" '\[*1 s\]*' 120
    echo "bench-virtio: mark updk-$r begin" >&2
    "$perf" --net txonly -r "$tx_bdf" -c "[$tx_cpu]" -t "$secs" --json \
        --dst-mac $rx_mac > "$work/updk-tx.json" 2> "$work/updk-tx.err"
    echo "bench-virtio: mark updk-$r end" >&2
    kill -INT $rxpid
    wait $rxpid || true
    tsc_hz=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["tsc_hz"])' < "$work/updk-tx.json")
    updk_rates "$work/updk-tx.err" tx > "$work/r"; u_tx[$r]=$(steady "$work/r")
    updk_rates "$work/updk-rx.err" rx > "$work/r"; u_rx[$r]=$(steady "$work/r")
    u_lost[$r]=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["lost"])' \
        < "$work/updk-rx.json")
    u_busy_tx[$r]=$(busy < "$work/updk-tx.json")
    u_busy_rx[$r]=$(busy < "$work/updk-rx.json")
    echo "round $r updk: tx ${u_tx[$r]} pps, rx ${u_rx[$r]} pps, ${u_lost[$r]} lost" >&2
    echo "bench-virtio: result updk-$r ${u_tx[$r]} ${u_rx[$r]}" >&2
}

# EAL: the device, PA mode (QEMU's vIOMMU has 39 address bits: a process's virtual addresses do
# not fit, so IOVA=VA cannot be mapped; DPDK finds the same from the IOMMU's capability), 128 MiB
# of hugepages, its own runtime folder per process.
eal() { # bdf, prefix, main lcore
    echo -l 0,1 --main-lcore "$3" -a "$1" --iova-mode=pa -m 128 --file-prefix "$2" \
        --no-telemetry --log-level=lib.eal:notice
}

run_testpmd() { # round
    local r=$1 rxpid txpid
    say "round $r: dpdk-testpmd receiver starting"
    : > "$work/tp-rx.log"
    : > "$work/tp-tx.log"
    # shellcheck disable=SC2046
    "$testpmd" $(eal "$rx_bdf" bench-rx $tx_cpu) -- --forward-mode=rxonly --nb-cores=1 \
        --burst=32 --auto-start --stats-period 1 --record-core-cycles \
        --total-num-mbufs=8192 > "$work/tp-rx.log" 2>&1 &
    rxpid=$!
    wait_for "$work/tp-rx.log" '*Port statistics*' 600
    # shellcheck disable=SC2046
    "$testpmd" $(eal "$tx_bdf" bench-tx $rx_cpu) -- --forward-mode=txonly --nb-cores=1 \
        --burst=32 --txpkts=60 --eth-peer=0,$rx_mac --auto-start --stats-period 1 \
        --record-core-cycles --total-num-mbufs=8192 > "$work/tp-tx.log" 2>&1 &
    txpid=$!
    say "round $r: dpdk-testpmd transmitter starting"
    wait_for "$work/tp-tx.log" '*Port statistics*' 600
    say "round $r: dpdk-testpmd forwarding"
    echo "bench-virtio: mark testpmd-$r begin" >&2
    sleep "$secs"
    echo "bench-virtio: mark testpmd-$r end" >&2
    kill -INT $txpid
    wait $txpid || true
    sleep 2
    kill -INT $rxpid
    wait $rxpid || true
    testpmd_rates "$work/tp-tx.log" Tx > "$work/r"; t_tx[$r]=$(steady "$work/r")
    testpmd_rates "$work/tp-rx.log" Rx > "$work/r"; t_rx[$r]=$(steady "$work/r")
    t_cyc_tx[$r]=$(sed -n 's/.*CPU cycles\/packet=\([0-9.]*\).*/\1/p' "$work/tp-tx.log" | tail -n 1)
    t_cyc_rx[$r]=$(sed -n 's/.*CPU cycles\/packet=\([0-9.]*\).*/\1/p' "$work/tp-rx.log" | tail -n 1)
    echo "round $r testpmd: tx ${t_tx[$r]} pps, rx ${t_rx[$r]} pps" \
        "(its busy cycles/packet: tx ${t_cyc_tx[$r]:-?}, rx ${t_cyc_rx[$r]:-?})" >&2
    echo "bench-virtio: result testpmd-$r ${t_tx[$r]} ${t_rx[$r]}" >&2
    if [ "$r" = 1 ]; then
        echo "--- testpmd transmitter, first round ---" >&2
        grep -E 'IOVA|virtio|Port 0:|forwarding packets|packet len|desc=|Forward statistics' -A0 \
            "$work/tp-tx.log" | head -n 30 >&2
    fi
}

declare -A u_tx u_rx u_lost u_busy_tx u_busy_rx t_tx t_rx t_cyc_tx t_cyc_rx
for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then
        run_updk $r
        run_testpmd $r
    else
        run_testpmd $r
        run_updk $r
    fi
done
scripts/setup.sh unbind "$tx_bdf" "$rx_bdf" >/dev/null || true

mpps() { python3 -c "print(f'{$1 / 1e6:.4f}')"; }
cyc() { python3 -c "print(round($tsc_hz / $1) if $1 else '-')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}' if $2 else '-')"; }
echo
echo "TSC $tsc_hz Hz; $secs s per run; 60-byte frames (64 on the wire), burst 32, one queue"
echo
echo "| round | side | updk-perf Mpps | cycles/packet | dpdk-testpmd Mpps | cycles/packet | updk ÷ testpmd |"
echo "|---|---|---:|---:|---:|---:|---:|"
for ((r = 1; r <= rounds; r++)); do
    echo "| $r | tx 06.0 (CPU $tx_cpu) | $(mpps "${u_tx[$r]}") | $(cyc "${u_tx[$r]}") |" \
        "$(mpps "${t_tx[$r]}") | $(cyc "${t_tx[$r]}") | $(ratio "${u_tx[$r]}" "${t_tx[$r]}") |"
    echo "| $r | rx 09.0 (CPU $rx_cpu) | $(mpps "${u_rx[$r]}") | $(cyc "${u_rx[$r]}") |" \
        "$(mpps "${t_rx[$r]}") | $(cyc "${t_rx[$r]}") | $(ratio "${u_rx[$r]}" "${t_rx[$r]}") |"
done

# The cost of the packets themselves: TSC cycles of the bursts that moved packets, per packet.
# On the receiver both tools count alike (testpmd's --record-core-cycles counts an rxonly burst
# only when it returned packets; updk-perf a round only when it moved packets). testpmd's
# txonly counts every burst, also those the full ring refused, so its transmit figure is not
# the same measure as updk-perf's and gets no ratio.
echo
echo "| round | receiver busy cycles/packet: updk-perf | dpdk-testpmd | testpmd ÷ updk |" \
    "transmitter busy cycles/packet: updk-perf (bursts that sent) | dpdk-testpmd (every burst) |"
echo "|---|---:|---:|---:|---:|---:|"
for ((r = 1; r <= rounds; r++)); do
    echo "| $r | ${u_busy_rx[$r]:--} | ${t_cyc_rx[$r]:--} |" \
        "$(ratio "${t_cyc_rx[$r]:-0}" "${u_busy_rx[$r]:-0}") | ${u_busy_tx[$r]:--} |" \
        "${t_cyc_tx[$r]:--} |"
done
