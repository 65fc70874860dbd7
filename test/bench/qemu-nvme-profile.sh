#!/bin/bash
# Where the time goes on QEMU's side while updk-perf drives its NVMe controller (issue 4,
# benchmark 2: "where the emulated device, not the driver, is the limit, show it"). Run on the
# host, as root (perf), from the top of the tree after `make`:
#
#   test/bench/qemu-nvme-profile.sh [--fio S] [SECONDS] [updk-perf arguments...]
#                                      (defaults: 15, -q 32 -w randread -o 4096)
#
# --fio S: in the same boot, afterwards, test/bench/perf-vs-fio.sh S (its table is printed).
# UPDK_VM_IOEVENTFD=off (test/vm/run.sh) profiles the device without ioeventfd.
#
# It boots the guest of test/vm/run.sh (2 vCPUs), binds 0000:00:05.0 (QEMU's nvme on a null-co
# namespace) to vfio-pci and starts updk-perf on guest CPU 1 for SECONDS + 10 s. After 5 s of
# that it samples QEMU for SECONDS: each thread's CPU time from /proc (QEMU's vCPU threads run
# the guest, updk-perf's poller among it; the device's doorbell and queue work runs where the
# doorbell write lands: on the vCPU thread, or with ioeventfd on the main loop thread, named
# qemu-system-x86), and
# `perf record` of the whole process for the functions. Figures per command use the I/Os
# updk-perf completed in the same window (its per-second progress lines).
# Prints figures; never fails on a speed. Only one VM at a time on a machine, please.
set -eu
cd "$(dirname "$0")/../.."
fio=
if [ "${1:-}" = "--fio" ]; then fio=$2; shift 2; fi
secs=${1:-15}
shift || true
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-q 32 -w randread -o 4096)
[ "$(id -u)" = 0 ] || { echo "qemu-nvme-profile: run as root (perf record, /proc)" >&2; exit 2; }
command -v perf >/dev/null || { echo "qemu-nvme-profile: perf is not installed" >&2; exit 2; }
[ -x build/bin/updk-perf ] || { echo "qemu-nvme-profile: run make first" >&2; exit 2; }
if pgrep -f "^qemu-system-x86_64 " >/dev/null; then
    echo "qemu-nvme-profile: another QEMU is running: wait for it (one VM at a time)" >&2
    exit 2
fi

dir=$(mktemp -d /tmp/qemu-nvme-profile.XXXXXX)
chmod 777 "$dir"
run=$((secs + 10))
guest="scripts/setup.sh bind 0000:00:05.0 >/dev/null && touch $dir/start &&
build/bin/updk-perf -r '0000:00:05.0 ns:1' -c '[1]' -t $run ${args[*]} > $dir/perf.txt 2> $dir/progress.txt;
touch $dir/done"
[ -z "$fio" ] || guest="$guest; test/bench/perf-vs-fio.sh $fio > $dir/fio.txt 2>&1"
test/vm/run.sh --smp 2 --timeout $((run + 900)) --rw "$dir" -- "$guest" &
vm=$!
while [ ! -e "$dir/start" ]; do
    kill -0 $vm 2>/dev/null || { echo "qemu-nvme-profile: the guest ended early" >&2; exit 1; }
    sleep 0.5
done
qpid=$(pgrep -n -f "^qemu-system-x86_64 .*$dir")
sleep 5

# CPU ticks (utime + stime) of every QEMU thread: thread id, name, ticks.
ticks() {
    for t in /proc/"$qpid"/task/*; do
        echo "${t##*/} $(tr ' ' _ < "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"
    done | LC_ALL=C sort
}
ticks > "$dir/t0"
lines0=$(wc -l < "$dir/progress.txt")
perf record -q -F 499 -g -p "$qpid" -o "$dir/perf.data" -- sleep "$secs" 2>/dev/null
ticks > "$dir/t1"
lines1=$(wc -l < "$dir/progress.txt")
wait $vm || true

hz=$(getconf CLK_TCK)
# I/Os in the window: the IOPS of the progress lines printed during it (one a second).
ios=$(sed -n "$((lines0 + 1)),${lines1}p" "$dir/progress.txt" |
    awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^IOPS/) { s += $i; n++ } }
         END { printf "%.0f", n ? s / n * '"$secs"' : 0 }')
echo "updk-perf ${args[*]} on QEMU nvme 0000:00:05.0, window of $secs s: about $ios I/Os"
tail -n 4 "$dir/perf.txt" | sed 's/^/  /'
echo "QEMU threads, CPU seconds in the window and CPU microseconds per I/O:"
LC_ALL=C join "$dir/t0" "$dir/t1" | awk -v hz="$hz" -v ios="$ios" '{
    cpu = ($5 - $3) / hz; tot += cpu
    if (cpu > 0) printf "  %-20s %6.2f s  %8.2f us/I/O\n", $2, cpu, ios ? cpu * 1e6 / ios : 0
} END { printf "  %-20s %6.2f s  %8.2f us/I/O\n", "all", tot, ios ? tot * 1e6 / ios : 0 }'
echo "Where each thread's samples fall (perf report --sort comm,dso, self time):"
perf report -i "$dir/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
    grep '%' | head -15 | sed 's/^/  /'
echo "Functions (perf report --sort comm,dso,symbol, top 25; QEMU's own are unnamed when stripped):"
perf report -i "$dir/perf.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null |
    grep '%' | head -25 | sed 's/^/  /'
if [ -n "$fio" ]; then
    echo "test/bench/perf-vs-fio.sh $fio, same boot:"
    grep '^|' "$dir/fio.txt" || cat "$dir/fio.txt"
fi
echo "(perf.data and the guest's output are in $dir)"
