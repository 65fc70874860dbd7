#!/bin/bash
# Doorbell writes per I/O at QD 1 that reach QEMU's NVMe from updk-perf, SPDK's spdk_nvme_perf
# and libvfn's perf (issue 12): QEMU's own trace events (pci_nvme_mmio_doorbell_sq/cq, the
# shadow doorbell and EventIdx events), one guest boot, each tool for SECONDS after the other on
# the namespace test/bench/peers.sh uses. From the top of the tree, after `make`, as root:
#
#   SPDK_PERF=../shared/peers/spdk_nvme_perf VFN_PERF=../shared/peers/vfn-perf \
#       test/bench/peers-doorbells.sh [SECONDS]
#
# Prints, per tool, the I/Os it reported (IOPS x SECONDS) and per I/O the events of its I/O
# queues (queue 0, the admin queue, left out): MMIO doorbell writes that reach the model's
# register handler, shadow doorbell values the model read, EventIdx values it wrote; then the
# first events of its run, in order. With shadow doorbells on and ioeventfd=on, QEMU turns the
# doorbell writes into eventfd wake-ups of its main loop that no MMIO event shows: the shadow
# reads stand for them. Tracing slows QEMU down: the rates are not comparable with peers.sh's.
set -eu
cd "$(dirname "$0")/../.."

if [ "${1:-}" = --guest ]; then
    # in the guest: $2 the folder the trace file is in, $3 seconds; the trace file's size is
    # printed before and after each tool, so the host can cut it into runs
    dir=$2 secs=$3 bdf=0000:00:05.0 core=$(($(nproc) - 1))
    scripts/setup.sh bind "$bdf" >/dev/null
    mark() { sync; sleep 1; echo "MARK $1 $(stat -c %s "$dir/trace.txt")"; }
    run() { # name, command...
        local name=$1 out
        shift
        mark "start $name"
        out=$("$@" 2>&1)
        mark "end $name"
        printf '%s\n' "$out" > "$dir/$name.txt"
        printf '%s\n' "$out" | awk -v t="$name" '
            /^Total +:/ { print "IOS " t " " $3 * s }
            $1 == "iops" && $3 == "lavg" { h = 1; next }
            h && NF == 5 { print "IOS " t " " $1 * s; h = 0 }' s="$secs"
    }
    run updk build/bin/updk-perf -r "$bdf ns:3" -c "[$core]" -w randread -o 4096 -q 1 \
        -t "$secs" --no-progress
    [ -n "${SPDK_PERF:-}" ] && run spdk "$SPDK_PERF" --iova-mode=pa -c "$(printf 0x%x $((1 << core)))" \
        -q 1 -o 4096 -w randread -t "$secs" -r "trtype:PCIe traddr:$bdf ns:3"
    [ -n "${VFN_PERF:-}" ] && run libvfn taskset -c "$core" "$VFN_PERF" -d "$bdf" -N 3 \
        -t "$secs" -q 1 -p randread
    scripts/setup.sh unbind "$bdf" >/dev/null 2>&1
    exit 0
fi

secs=${1:-2}
case $secs in ''|*[!0-9]*) echo "peers-doorbells.sh: SECONDS is a whole number" >&2; exit 2 ;; esac
[ -x build/bin/updk-perf ] || { echo "peers-doorbells.sh: run make first" >&2; exit 2; }
for v in SPDK_PERF VFN_PERF; do
    p=${!v:-}
    [ -z "$p" ] && { echo "peers-doorbells.sh: $v not set: that peer is left out" >&2; continue; }
    [ -x "$p" ] || { echo "peers-doorbells.sh: $v=$p is not an executable" >&2; exit 2; }
    export "$v=$(cd "$(dirname "$p")" && pwd)/$(basename "$p")"
done
dir=$(mktemp -d /tmp/peers-doorbells.XXXXXX)
chmod 777 "$dir"
: > "$dir/trace.txt"
test/vm/run.sh --smp 2 --timeout 900 --rw "$dir" -e SPDK_PERF -e VFN_PERF \
    --qemu -trace --qemu 'pci_nvme_mmio_doorbell_*' \
    --qemu -trace --qemu 'pci_nvme_shadow_doorbell_*' \
    --qemu -trace --qemu 'pci_nvme_eventidx_*' \
    --qemu -D --qemu "$dir/trace.txt" \
    --qemu -blockdev --qemu "null-co,node-name=peers4k,size=$((1 << 30)),read-zeroes=on" \
    --qemu -device \
    --qemu nvme-ns,bus=nvme1,drive=peers4k,nsid=3,logical_block_size=4096,physical_block_size=4096 \
    -- test/bench/peers-doorbells.sh --guest "$dir" "$secs" > "$dir/guest.txt"

python3 - "$dir" <<'EOF'
import collections, re, sys

d = sys.argv[1]
marks, ios = {}, {}
for line in open(d + "/guest.txt"):
    f = line.split()
    if f[:1] == ["MARK"]:
        marks[(f[1], f[2])] = int(f[3])
    elif f[:1] == ["IOS"]:
        ios[f[1]] = float(f[2])
data = open(d + "/trace.txt", "rb").read().decode(errors="replace")
ev = re.compile(r"(pci_nvme_(?:mmio_doorbell|shadow_doorbell|eventidx)_(?:sq|cq)) "
                r"(?:sqid|cqid) (\d+) \S+ (\d+)")
label = {"mmio_doorbell": "MMIO", "shadow_doorbell": "shadow read", "eventidx": "EventIdx"}
print("| tool | I/Os | " + " | ".join(("MMIO SQ", "MMIO CQ", "shadow SQ", "shadow CQ",
      "EventIdx SQ", "EventIdx CQ")) + " | first events (I/O queues) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for tool in ("updk", "spdk", "libvfn"):
    if (("start", tool) not in marks) or (("end", tool) not in marks):
        continue
    seg = data.encode()[marks[("start", tool)]:marks[("end", tool)]].decode(errors="replace")
    n = collections.Counter()
    order = []
    for m in ev.finditer(seg):
        if m.group(2) == "0":
            continue
        kind = m.group(1)[len("pci_nvme_"):]
        n[kind] += 1
        if len(order) < 6:
            order.append("%s %s %s" % (label[kind[:-3]], kind[-2:].upper(), m.group(3)))
    io = ios.get(tool, 0)
    per = lambda k: "%.2f" % (n[k] / io) if io else "?"
    print("| %s | %.0f | %s | %s |" % (tool, io, " | ".join(per(k) for k in (
        "mmio_doorbell_sq", "mmio_doorbell_cq", "shadow_doorbell_sq", "shadow_doorbell_cq",
        "eventidx_sq", "eventidx_cq")), ", ".join(order)))
print()
print("(trace and outputs: %s)" % d)
EOF
