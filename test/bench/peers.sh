#!/bin/bash
# updk-perf beside SPDK's spdk_nvme_perf, libvfn's perf and fio (io_uring, polled) on QEMU's
# NVMe, all in one guest boot, interleaved, round after round (issue 12); fio with updk's own
# engine too when the tree is configured --with-fio (the same driver under fio's loop). From the top of the
# tree, after `make`, as root (the VM ring):
#
#   SPDK_PERF=../shared/peers/spdk_nvme_perf VFN_PERF=../shared/peers/vfn-perf \
#       test/bench/peers.sh [-t SECONDS] [-r ROUNDS] [-q "1 32 128"] [--also 'NAME CMD']...
#
#   -t SECONDS   measured seconds per run (default 5)
#   -r ROUNDS    rounds; each runs every tool at every depth (default 3)
#   -q "QDS"     queue depths (default "1 32 128")
#   --also 'NAME CMD'  one more updk-perf variant in every round, CMD being the command line the
#                common flags are appended to, e.g. --also 'noshadow build/bin/updk-perf
#                --no-shadow-doorbell' (repeatable)
#   --logs DIR   keep every tool's output there (default: a folder in /tmp, printed at the end)
#   --smp N      guest vCPUs (default 2); the tools run on the last one. Under TCG each vCPU is a
#                host thread and QEMU's NVMe (ioeventfd=on) runs in QEMU's main loop thread: with
#                one vCPU the guest and the device fit a two-core host, with two they are three.
#
# SPDK_PERF and VFN_PERF name the peers' binaries (../shared/peers/README.md); either may be left
# out, and the project never needs them. The device: QEMU's nvme at 0000:00:05.0 of
# test/vm/run.sh, with a third namespace added for this run only: 1 GiB on null-co
# (reads give zeroes) with 4 KiB logical blocks, so that libvfn's perf, which reads one block
# per command, moves 4 KiB like the others. Every tool does 4 KiB random reads on one core
# (the last guest CPU); updk-perf runs with its default flags. QD 1 latency percentiles:
# updk-perf -LL and spdk_nvme_perf -L once per round, fio's (--lat_percentiles, submission to
# completion) from its QD 1 runs.
#
# Prints Markdown: per depth the median IOPS of each tool over the rounds with the spread
# (lowest-highest), the median average latency, and updk ÷ the better peer; then the QD 1
# percentiles; then QEMU's CPU time per I/O of each tool: its main loop thread (where QEMU's NVMe
# runs each command: what the device does per command for that driver) and the whole process;
# then how often QEMU's vCPU and main loop threads went to sleep per I/O (a polling vCPU sleeps
# only to wait for QEMU's global lock). The host's load average is sampled throughout and printed. Figures are for comparing side by
# side in one boot, never a pass/fail.
set -eu
cd "$(dirname "$0")/../.."

secs=5 rounds=3 qds="1 32 128" logs= smp=2
also=()
while [ $# -gt 0 ]; do
    case $1 in
        -t) secs=$2; shift 2 ;;
        -r) rounds=$2; shift 2 ;;
        -q) qds=$2; shift 2 ;;
        --also) also+=("$2"); shift 2 ;;
        --logs) logs=$2; shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "peers.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$secs$rounds$smp" in *[!0-9]*|'') echo "peers.sh: -t, -r and --smp want whole numbers" >&2; exit 2 ;; esac
for q in $qds; do
    case $q in ''|*[!0-9]*) echo "peers.sh: -q wants depths such as \"1 32 128\"" >&2; exit 2 ;; esac
done
[ -x build/bin/updk-perf ] || { echo "peers.sh: build/bin/updk-perf is missing: run make first" >&2; exit 2; }
for v in SPDK_PERF VFN_PERF; do
    p=${!v:-}
    if [ -z "$p" ]; then
        echo "peers.sh: $v not set: that peer is left out" >&2
    elif [ ! -x "$p" ]; then
        echo "peers.sh: $v=$p is not an executable (see ../shared/peers/README.md)" >&2
        exit 2
    else
        # the guest sees the host's root at the same paths
        export "$v=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")"
    fi
done

variants=(updk build/bin/updk-perf)
for a in "${also[@]}"; do
    case $a in
        *' '*) variants+=("${a%% *}" "${a#* }") ;;
        *) echo "peers.sh: --also wants 'NAME CMD', got '$a'" >&2; exit 2 ;;
    esac
done

if [ -z "$logs" ]; then
    logs=$(mktemp -d /tmp/peers.XXXXXX)
else
    mkdir -p "$logs"
    logs=$(cd "$logs" && pwd)
fi
chmod 777 "$logs"

# The host's load while the guest runs: one sample every 10 s.
( while :; do cut -d' ' -f1 /proc/loadavg; sleep 10; done ) > "$logs/load.txt" 2>/dev/null &
sampler=$!
# QEMU's CPU time at the start and the end of every run (the guest's mark.N.start/end files):
# "N.start|N.end MAIN ALL TIME" in clock ticks, MAIN being QEMU's main loop thread, where the
# NVMe model runs every command with ioeventfd=on, ALL the whole process (the vCPUs included),
# TIME the host's clock when the mark was seen.
( while :; do
    for f in "$logs"/mark.*; do
        [ -e "$f" ] || continue
        q=$(pgrep -n -f "^qemu-system-x86_64 .*$logs") || continue
        main=$(awk '{ print $14 + $15 }' "/proc/$q/task/$q/stat" 2>/dev/null) || continue
        all=$(awk '{ print $14 + $15 }' "/proc/$q/stat" 2>/dev/null) || continue
        echo "${f##*/mark.} $main $all $(date +%s.%N)"
        rm -f "$f"
    done
    sleep 0.1
done ) > "$logs/ticks.txt" 2>/dev/null &
ticker=$!
# How often QEMU's threads went to sleep (voluntary context switches), every 0.2 s: "TIME
# VCPUS MAIN", VCPUS summed over the vCPU threads ("CPU n/TCG"), MAIN the main loop thread's. A
# vCPU that polls never sleeps of its own accord but to wait for a lock another thread holds:
# under TCG, QEMU's global lock, which a vCPU takes for every MMIO access (a doorbell) and the
# main loop holds while the NVMe model runs. QEMU starts and ends worker threads meanwhile: a
# status file gone before awk reads it must not end the sampler (set -e).
q=
( while :; do
    [ -n "$q" ] && [ -d "/proc/$q" ] ||
        q=$(pgrep -n -f "^qemu-system-x86_64 .*$logs") || { sleep 0.2; continue; }
    awk -v t="$(date +%s.%N)" -v main="/proc/$q/task/$q/status" '
        /^Name:/ { vcpu = $2 == "CPU" }
        /^voluntary_ctxt_switches:/ { if (vcpu) v += $2; if (FILENAME == main) m = $2 }
        END { printf "%s %d %d\n", t, v, m }' /proc/"$q"/task/*/status 2>/dev/null || true
    sleep 0.2
done ) > "$logs/sleeps.txt" 2>/dev/null &
sleeper=$!
trap 'kill $sampler $ticker $sleeper 2>/dev/null || true' EXIT

nq=$(echo $qds | wc -w)
ntools=$((${#variants[@]} / 2 + 4))
# per run: SECONDS plus ~15 s of start-up under TCG (SPDK's the longest), and the boot
timeout=$((300 + rounds * (nq * ntools + 2) * (secs + 20)))
start=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "peers.sh: $rounds rounds of ${secs}s runs at QD $qds; guest timeout ${timeout}s; logs in $logs" >&2
set +e
test/vm/run.sh --smp "$smp" --timeout "$timeout" --rw "$logs" -e SPDK_PERF -e VFN_PERF \
    -e "PEERS_LOG_DIR=$logs" \
    --qemu -blockdev --qemu "null-co,node-name=peers4k,size=$((1 << 30)),read-zeroes=on" \
    --qemu -device \
    --qemu nvme-ns,bus=nvme1,drive=peers4k,nsid=3,logical_block_size=4096,physical_block_size=4096 \
    -- test/bench/peers-guest.sh 0000:00:05.0 3 "$secs" "$rounds" "$qds" "${variants[@]}" \
    > "$logs/raw.txt"
rc=$?
set -e
kill $sampler $ticker $sleeper 2>/dev/null || true
[ $rc = 0 ] || echo "peers.sh: the guest run ended with status $rc (partial results below)" >&2

python3 - "$logs/raw.txt" "$logs/load.txt" "$start" "$secs" "$rounds" "$qds" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$logs/ticks.txt" "$(getconf CLK_TCK)" \
    "$logs/sleeps.txt" "${variants[@]}" <<'EOF'
import re, statistics, sys

raw, loadf, start, secs, rounds, qds, tree, ticksf, hz, sleepsf = sys.argv[1:11]
variants = sys.argv[11:]
names = variants[0::2]
runs, pct, fails, qemu, sleeps = {}, {}, [], {}, {}
ticks = {}
for line in open(ticksf):
    f = line.split()
    if len(f) >= 3:
        ticks[f[0]] = (int(f[1]), int(f[2]), float(f[3]) if len(f) > 3 else None)
samples = []
for line in open(sleepsf):
    f = line.split()
    if len(f) == 3:
        samples.append((float(f[0]), int(f[1]), int(f[2])))

def sleep_rates(end):
    """QEMU's vCPU and main loop sleeps per second while a run measured: the median rate of
    the samples in the run's last SECS seconds but its last 1.5 (its report and teardown)."""
    lo, hi = end - float(secs), end - 1.5
    win = [s for s in samples if lo <= s[0] <= hi]
    rates = [((b[1] - a[1]) / (b[0] - a[0]), (b[2] - a[2]) / (b[0] - a[0]))
             for a, b in zip(win, win[1:]) if b[0] > a[0]]
    if len(rates) < 3:
        return None
    return statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)
mark = None
for line in open(raw):
    kv = dict(re.findall(r"(\S+?)=(\S+)", line))
    if line.startswith("MARK "):
        mark = line.split()[1]
    if line.startswith("RUN "):
        runs.setdefault((int(kv["qd"]), kv["tool"]), []).append(
            (float(kv["iops"]), float(kv["avg_us"])))
        a, b = ticks.get("%s.start" % mark), ticks.get("%s.end" % mark)
        ios = float(kv["iops"]) * float(secs)
        if a and b and ios > 0:
            qemu.setdefault((int(kv["qd"]), kv["tool"]), []).append(
                ((b[0] - a[0]) / float(hz) * 1e6 / ios, (b[1] - a[1]) / float(hz) * 1e6 / ios))
        sr = sleep_rates(b[2]) if b and b[2] else None
        if sr and float(kv["iops"]) > 0:
            sleeps.setdefault((int(kv["qd"]), kv["tool"]), []).append(
                (sr[0] / float(kv["iops"]), sr[1] / float(kv["iops"])))
    elif line.startswith("PCT "):
        pct.setdefault(kv["tool"], []).append(kv)
    elif line.startswith("FAIL "):
        fails.append(line.strip())
loads = [float(x) for x in open(loadf).read().split() if re.match(r"^[0-9.]+$", x)]

print("Tree %s, %s; %s rounds of %s s per run, 4 KiB random reads, one core; host load "
      "average %s during the boot." % (tree, start, rounds, secs,
      "%.1f-%.1f" % (min(loads), max(loads)) if loads else "unknown"))
print()
peers = [t for t in ("spdk", "libvfn") if any(k[1] == t for k in runs)]
cols = names + peers + [t for t in ("fio", "fio-updk") if any(k[1] == t for k in runs)]
label = {"spdk": "SPDK spdk_nvme_perf", "libvfn": "libvfn perf", "fio": "fio io_uring polled",
         "fio-updk": "fio + updk engine", "updk": "updk-perf (defaults)"}

def med(t, qd):
    v = runs.get((qd, t))
    if not v:
        return None
    return statistics.median(x[0] for x in v), min(x[0] for x in v), max(x[0] for x in v), \
        statistics.median(x[1] for x in v), len(v)

def k(x):
    return "%.1fk" % (x / 1000)

print("| QD | " + " | ".join(label.get(c, "updk-perf " + c) for c in cols) +
      " | updk ÷ best peer |")
print("|---|" + "---|" * len(cols) + "---:|")
for qd in (int(q) for q in qds.split()):
    cells = []
    for c in cols:
        m = med(c, qd)
        cells.append("—" if m is None else "%s (%s–%s), %.1f µs%s" % (
            k(m[0]), k(m[1]), k(m[2]), m[3], "" if m[4] == int(rounds) else
            ", %d runs" % m[4]))
    best = [med(p, qd)[0] for p in peers if med(p, qd)]
    u = med(names[0], qd)
    ratio = "%.2f" % (u[0] / max(best)) if u and best else "—"
    print("| %d | %s | %s |" % (qd, " | ".join(cells), ratio))
print()
print("Each cell: median IOPS over the rounds (lowest–highest), median average latency.")
if pct:
    print()
    print("| QD 1 latency, µs (median over rounds) | p50 | p99 | p99.9 | p99.99 | rounds |")
    print("|---|---:|---:|---:|---:|---:|")
    what = {"spdk": "SPDK spdk_nvme_perf -L", "fio": "fio io_uring polled",
            "fio-updk": "fio + updk engine (completion latency)"}
    for t, rows in pct.items():
        def m(key):
            v = [float(r[key]) for r in rows if r.get(key, "-") not in ("-", "")]
            return "%.1f" % statistics.median(v) if v else "—"
        print("| %s | %s | %s | %s | %s | %d |" % (what.get(t, "updk-perf -LL"), m("p50"),
              m("p99"), m("p99.9"), m("p99.99"), len(rows)))
def per_qd(title, data, fmt):
    """One row per depth, one column per tool: the medians over the rounds of each of the
    pairs in data[(qd, tool)], printed with fmt."""
    if not data:
        return
    print()
    print(title)
    print()
    print("| QD | " + " | ".join(label.get(c, "updk-perf " + c) for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for qd in (int(q) for q in qds.split()):
        cells = []
        for c in cols:
            v = data.get((qd, c))
            cells.append("—" if not v else fmt % (
                statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)))
        print("| %d | %s |" % (qd, " | ".join(cells)))

per_qd("QEMU's CPU µs per I/O (median over rounds): its main loop thread, which runs the NVMe "
       "model, and the whole process with the vCPUs; from run start to end, tool start-up "
       "included.", qemu, "%.2f / %.1f")
per_qd("QEMU's threads going to sleep per I/O while each tool measured (median over rounds): "
       "the vCPU threads / the main loop thread (host-side voluntary context switches).",
       sleeps, "%.2f / %.2f")
if fails:
    print()
    for f in fails:
        print("- " + f)
EOF
echo "(every tool's output: $logs)"
