#!/bin/bash
# What QEMU's NVMe does for each command at QD 1, for updk-perf and the peers (issue 12): in one
# guest boot each tool reads 4 KiB at random at QD 1, and over a window of each run the host
# counts, per I/O, QEMU's threads' CPU time and system calls (the main loop's ppoll is one pass
# of its loop; write is an eventfd signalled; futex mostly the big lock), and with --trace
# QEMU's own trace events (hw/nvme: doorbell writes, shadow doorbell reads, EventIdx writes,
# commands, completions) with the order they come in. From the top of the tree, after `make`,
# as root (perf stat, /proc):
#
#   SPDK_PERF=../shared/peers/spdk_nvme_perf VFN_PERF=../shared/peers/vfn-perf \
#       test/bench/qemu-nvme-trace.sh [-t SECONDS] [--trace] [--also 'NAME CMD']...
#
#   -t SECONDS   the measured window per tool (default 5); each tool runs 15 s longer
#   --trace      QEMU's pci_nvme_* trace events during each window (QEMU's log trace backend,
#                switched on and off through its monitor); they slow the device down, so the
#                rates of a traced run are not the ones to quote
#   --also 'NAME CMD'  one more updk-perf variant (as test/bench/peers.sh)
#   UPDK_VM_IOEVENTFD=off  QEMU's nvme without ioeventfd: only then does a doorbell write reach
#                the model's MMIO handler (and its pci_nvme_mmio_doorbell_* events); with
#                ioeventfd, once shadow doorbells are on, a write to an I/O queue's doorbell
#                only signals an eventfd for the main loop and is traced nowhere.
#
# Tools: spdk_nvme_perf (SPDK_PERF), libvfn's perf (VFN_PERF), updk-perf with its defaults and
# with --no-shadow-doorbell; the device and namespace are peers.sh's (0000:00:05.0, namespace 3,
# 4 KiB blocks, null-co). Prints figures; never fails on a speed. One VM at a time, please.
set -eu
cd "$(dirname "$0")/../.."

secs=5 trace=0
also=()
while [ $# -gt 0 ]; do
    case $1 in
        -t) secs=$2; shift 2 ;;
        --trace) trace=1; shift ;;
        --also) also+=("$2"); shift 2 ;;
        -h|--help) sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "qemu-nvme-trace: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $secs in ''|*[!0-9]*) echo "qemu-nvme-trace: -t wants seconds" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "qemu-nvme-trace: run as root (perf stat, /proc)" >&2; exit 2; }
command -v perf >/dev/null || { echo "qemu-nvme-trace: perf is not installed" >&2; exit 2; }
[ -x build/bin/updk-perf ] || { echo "qemu-nvme-trace: run make first" >&2; exit 2; }

tools=() cmds=()
add() { tools+=("$1"); cmds+=("$2"); }
for v in SPDK_PERF VFN_PERF; do
    p=${!v:-}
    [ -n "$p" ] || continue
    [ -x "$p" ] || { echo "qemu-nvme-trace: $v=$p is not an executable" >&2; exit 2; }
    p=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")
    case $v in
        SPDK_PERF) add spdk "$p --iova-mode=pa -c 0x2 -o 4096 -w randread -r 'trtype:PCIe traddr:0000:00:05.0 ns:3' --transport-stats -t" ;;
        VFN_PERF) add libvfn "taskset -c 1 $p -d 0000:00:05.0 -N 3 -p randread -t" ;;
    esac
done
updk_flags="-r '0000:00:05.0 ns:3' -c '[1]' -w randread -o 4096 --no-progress -t"
add updk "build/bin/updk-perf $updk_flags"
add updk-noshadow "build/bin/updk-perf --no-shadow-doorbell $updk_flags"
for a in "${also[@]}"; do
    case $a in
        *' '*) add "${a%% *}" "${a#* } $updk_flags" ;;
        *) echo "qemu-nvme-trace: --also wants 'NAME CMD'" >&2; exit 2 ;;
    esac
done

dir=$(mktemp -d /tmp/qemu-nvme-trace.XXXXXX)
chmod 777 "$dir"
# The guest: each tool at QD 1 (its -t is the last flag), a mark when its I/O begins (updk-perf
# and SPDK print "Launching workers"; libvfn's perf starts at once) and when it has ended.
{
    echo 'cd "$1"; scripts/setup.sh bind 0000:00:05.0 >/dev/null || exit 1'
    for i in "${!tools[@]}"; do
        echo "( ${cmds[i]} $((secs + 15)) -q 1 2>&1; echo EXIT \$? ) | while IFS= read -r l; do"
        echo "    echo \"\$l\" >> $dir/${tools[i]}.out"
        echo "    case \$l in *Launching*) touch $dir/go.${tools[i]} ;; esac"
        echo "done"
        echo "touch $dir/done.${tools[i]}"
    done
} > "$dir/guest.sh"
# libvfn's perf prints nothing until it ends: its I/O begins about when it starts
sed -i "s|\(.*vfn-perf.*\)$|touch $dir/go.libvfn; \1|" "$dir/guest.sh"

qemu_args=(--qemu -monitor --qemu "unix:$dir/hmp,server=on,wait=off"
    --qemu -blockdev --qemu "null-co,node-name=peers4k,size=$((1 << 30)),read-zeroes=on"
    --qemu -device
    --qemu nvme-ns,bus=nvme1,drive=peers4k,nsid=3,logical_block_size=4096,physical_block_size=4096)
[ $trace = 0 ] || qemu_args+=(--qemu -msg --qemu timestamp=on --qemu -D --qemu "$dir/trace.log")
test/vm/run.sh --smp 2 --timeout $((300 + ${#tools[@]} * (secs + 60))) --rw "$dir" \
    "${qemu_args[@]}" -- bash "$dir/guest.sh" "$PWD" > "$dir/guest.txt" 2>&1 &
vm=$!
trap 'kill $vm 2>/dev/null || true' EXIT
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3 # not a shim that takes seconds to start
trace_events() { # on|off: QEMU's trace events below, through its monitor, in one connection
    "$py" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for e in sys.argv[3:]:
    s.sendall(("trace-event %s %s\n" % (e, sys.argv[2])).encode())
    time.sleep(0.02)
time.sleep(0.1)
s.close()' "$dir/hmp" "$1" $events
}
ticks() { # thread id, name, CPU ticks of every QEMU thread
    for t in /proc/"$qpid"/task/*; do
        echo "${t##*/} $(tr ' ' _ < "$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"
    done 2>/dev/null | LC_ALL=C sort # threads come and go (the block layer's workers)
}
events="pci_nvme_mmio_doorbell_* pci_nvme_shadow_doorbell_* pci_nvme_eventidx_* pci_nvme_io_cmd
pci_nvme_enqueue_req_completion pci_nvme_rw_cb"
qpid=
for t in "${tools[@]}"; do
    while [ ! -e "$dir/go.$t" ]; do
        kill -0 $vm 2>/dev/null || { echo "qemu-nvme-trace: the guest ended early:" >&2; cat "$dir/guest.txt" >&2; exit 1; }
        [ -e "$dir/done.$t" ] && break
        sleep 0.2
    done
    [ -e "$dir/go.$t" ] || { echo "qemu-nvme-trace: $t never started its I/O (see $dir/$t.out)" >&2; continue; }
    [ -n "$qpid" ] || qpid=$(pgrep -n -f "^qemu-system-x86_64 .*$dir")
    sleep 2
    ticks > "$dir/t0.$t"
    if [ $trace = 1 ]; then
        trace_events on
        date '+%s.%N' > "$dir/trace-start.$t"
    fi
    perf stat -x, --per-thread -p "$qpid" -e syscalls:sys_enter_ppoll,syscalls:sys_enter_write,syscalls:sys_enter_futex \
        -o "$dir/stat.$t" -- sleep "$secs" 2>/dev/null
    if [ $trace = 1 ]; then
        date '+%s.%N' > "$dir/trace-end.$t"
        trace_events off
    fi
    ticks > "$dir/t1.$t"
    while [ ! -e "$dir/done.$t" ] && kill -0 $vm 2>/dev/null; do sleep 0.5; done
done
wait $vm || true
trap - EXIT

"$py" - "$dir" "$secs" "$(getconf CLK_TCK)" "${tools[@]}" <<'EOF'
import collections, os, re, sys

d, secs, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
tools = sys.argv[4:]

def rate(t):
    """IOPS and average µs from the tool's own summary."""
    try:
        text = open(os.path.join(d, t + ".out")).read()
    except OSError:
        return None
    m = re.search(r"^Total\s+:\s+([\d.]+)\s+[\d.]+\s+([\d.]+)", text, re.M)
    if m:
        return float(m.group(1)), float(m.group(2))
    m = re.search(r"iops\s+mbps\s+lavg.*\n\s*([\d.]+)\s+[\d.]+\s+([\d.]+)", text)
    return (float(m.group(1)), float(m.group(2))) if m else None

def threads(t):
    """name -> (tid, CPU seconds in the window)"""
    out = {}
    try:
        a = {l.split()[0]: l.split() for l in open(os.path.join(d, "t0." + t))
             if len(l.split()) == 3}
        for l in open(os.path.join(d, "t1." + t)):
            if len(l.split()) != 3:
                continue  # a thread that ended while it was read
            tid, name, v = l.split()
            if tid in a:
                out.setdefault(name, []).append((tid, (int(v) - int(a[tid][2])) / hz))
    except OSError:
        pass
    return out

def syscalls(t):
    """tid -> {event: count}"""
    out = collections.defaultdict(dict)
    try:
        for l in open(os.path.join(d, "stat." + t)):
            f = l.strip().split(",")
            if len(f) > 3 and f[1].isdigit():
                out[f[0].rsplit("-", 1)[-1]][f[3].split(":")[-1]] = int(f[1])
    except OSError:
        pass
    return out

def trace(t, ios):
    """per-I/O event counts and the commonest order of events between two commands"""
    try:
        t0 = float(open(os.path.join(d, "trace-start." + t)).read())
        t1 = float(open(os.path.join(d, "trace-end." + t)).read())
    except OSError:
        return None
    names = {}
    for name, lst in threads(t).items():
        for tid, _ in lst:
            names[tid] = "main" if name.startswith("qemu-system") else \
                ("vcpu" if "TCG" in name or "KVM" in name else name)
    seq, counts = [], collections.Counter()
    for l in open(os.path.join(d, "trace.log")):
        m = re.match(r"(\d+)@(\d+\.\d+):pci_nvme_(\w+) (.*)", l)
        if not m or not t0 <= float(m.group(2)) <= t1:
            continue
        ev, args = m.group(3), m.group(4)
        q = re.search(r"(?:sq|cq)id (\d+)", args)
        if ev != "io_cmd" and q and q.group(1) == "0":
            continue  # the admin queue
        key = "%s@%s" % (ev, names.get(m.group(1), m.group(1)))
        counts[key] += 1
        seq.append(key)
    cmds = counts.get("io_cmd@main", 0) or 1
    per = {k: v / cmds for k, v in sorted(counts.items())}
    pats, cur = collections.Counter(), []
    for k in seq:
        if k.startswith("io_cmd@") and cur:
            pats[" > ".join(cur)] += 1
            cur = []
        cur.append(k)
    return cmds, per, pats.most_common(2)

print("Window of %.0f s per tool, QD 1, 4 KiB random reads. Per I/O in the window (I/Os = the "
      "tool's IOPS x the window):" % secs)
for t in tools:
    r = rate(t)
    if not r:
        print("\n%s: no result (see %s/%s.out)" % (t, d, t))
        continue
    ios = r[0] * secs
    print("\n%s: %.0f IOPS, %.1f µs average" % (t, r[0], r[1]))
    sc = syscalls(t)
    for name, lst in sorted(threads(t).items()):
        for tid, cpu in lst:
            if cpu < 0.02 * secs and not sc.get(tid):
                continue
            c = sc.get(tid, {})
            print("  %-18s CPU %6.2f µs/I/O   ppoll %5.2f   write %5.2f   futex %5.2f" % (
                name, cpu * 1e6 / ios, c.get("sys_enter_ppoll", 0) / ios,
                c.get("sys_enter_write", 0) / ios, c.get("sys_enter_futex", 0) / ios))
    tr = trace(t, ios)
    if tr:
        cmds, per, pats = tr
        print("  trace: %d commands; events per command: %s" % (
            cmds, ", ".join("%s %.2f" % kv for kv in per.items())))
        for p, n in pats:
            print("  order (%d%% of commands): %s" % (100 * n // cmds, p))
    m = re.findall(r"(\w+_doorbell_updates|polls|idle_polls|completions):\s+(\d+)",
                   open(os.path.join(d, t + ".out")).read())
    if m:
        print("  the tool's own counters (whole run): " + ", ".join("%s %s" % x for x in m))
    else:
        m = re.search(r"Driver .*", open(os.path.join(d, t + ".out")).read())
        if m:
            print("  " + m.group(0))
print("\n(each tool's output and the raw counts: %s)" % d)
EOF
