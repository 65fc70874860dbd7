#!/bin/bash
# The guest half of test/bench/peers.sh: runs updk-perf, SPDK's spdk_nvme_perf, libvfn's perf,
# fio (io_uring, polled) and, when built, fio with updk's engine on one QEMU NVMe namespace, round after round, and prints one line
# per run for peers.sh to sum up. Run by peers.sh inside test/vm/run.sh; not meant to be run by
# hand, but it can be (as root, in the guest, from the top of the tree):
#
#   SPDK_PERF=... VFN_PERF=... test/bench/peers-guest.sh BDF NSID SECONDS ROUNDS "QDS" [NAME CMD]...
#
# Every NAME CMD pair adds an updk-perf variant: CMD is a command line (binary and flags) to
# which the common flags are appended, e.g. "noshadow build/bin/updk-perf --no-shadow-doorbell".
# The first variant is the one compared with the peers (peers.sh passes updk-perf's defaults).
#
# Output lines (stdout):
#   RUN round=R qd=Q tool=T iops=X avg_us=Y      one measured run
#   PCT round=R tool=T p50=.. p99=.. p99.9=.. p99.99=..   QD 1 latency percentiles (µs)
#   FAIL round=R qd=Q tool=T: what went wrong     a run that gave no figure (the rest go on)
#   MARK N                                         the next run's number (see mark() below)
# Each tool's own output goes to $PEERS_LOG_DIR/ (if set) for the record.
set -u

bdf=$1 nsid=$2 secs=$3 rounds=$4 qds=$5
shift 5
variants=("$@")
[ ${#variants[@]} -ge 2 ] || { echo "peers-guest: no updk-perf variant given" >&2; exit 2; }
core=${BENCH_CORE:-$(($(nproc) - 1))} # the last guest CPU: the first one takes interrupts
mask=$(printf '0x%x' $((1 << core)))
logdir=${PEERS_LOG_DIR:-}
seq_no=0

# Keep a tool's output in the log folder, named after the run.
keep() { # name, text
    [ -n "$logdir" ] && printf '%s\n' "$2" > "$logdir/$(printf %03d $seq_no)-$1.txt"
    seq_no=$((seq_no + 1))
}

fail() { echo "FAIL $*"; }

# --- the two drivers of the function: vfio-pci (userspace tools) and nvme (fio) ---------------
on=
to_vfio() {
    [ "$on" = vfio ] && return 0
    scripts/setup.sh bind "$bdf" >/dev/null || return 1
    on=vfio
}
kdev=
to_kernel() {
    [ "$on" = kernel ] && return 0
    scripts/setup.sh unbind "$bdf" >/dev/null 2>&1 || true
    modprobe -r nvme 2>/dev/null || true
    modprobe nvme poll_queues=1 || return 1
    kdev=
    for _ in $(seq 100); do
        for n in /sys/bus/pci/devices/$bdf/nvme/nvme*/nvme*n"$nsid"; do
            [ -e "$n" ] && kdev=/dev/${n##*/}
        done
        [ -n "$kdev" ] && [ -b "$kdev" ] && break
        sleep 0.1
    done
    [ -n "$kdev" ] || { echo "peers-guest: no block device for $bdf namespace $nsid" >&2; return 1; }
    on=kernel
}

# --- one run of each tool: prints the RUN line (or FAIL) ---------------------------------------
# Figures from each tool's own summary: IOPS and average latency of the namespace's row.
run_updk() { # round qd name cmd
    local r=$1 qd=$2 name=$3 cmd=$4 out lat=
    to_vfio || { fail "round=$r qd=$qd tool=$name: cannot bind $bdf to vfio-pci"; return; }
    [ "$qd" = 1 ] && [ "${5:-}" = pct ] && lat=-LL
    # shellcheck disable=SC2086 # cmd is a command line
    out=$($cmd -r "$bdf ns:$nsid" -c "[$core]" -w randread -o 4096 -q "$qd" -t "$secs" \
        --no-progress $lat 2>&1)
    keep "$name-qd$qd$lat" "$out"
    if [ -n "$lat" ]; then
        echo "$out" | awk -v r="$r" -v t="$name" '
            /^Summary latency data/ { s = 1 }
            s && / : *[0-9.]+us$/ { sub(/%$/, "", $1); v = $3; sub(/us$/, "", v); p[$1 + 0] = v }
            END { if (50 in p) printf "PCT round=%s tool=%s p50=%s p99=%s p99.9=%s p99.99=%s\n",
                  r, t, p[50], p[99], p[99.9], p[99.99] }'
        return
    fi
    echo "$out" | awk -v r="$r" -v q="$qd" -v t="$name" '
        /^Total +:/ { printf "RUN round=%s qd=%s tool=%s iops=%s avg_us=%s\n", r, q, t, $3, $5; ok = 1 }
        END { if (!ok) printf "FAIL round=%s qd=%s tool=%s: no Total line\n", r, q, t }'
}

run_spdk() { # round qd [pct]
    local r=$1 qd=$2 out lat=
    [ -n "${SPDK_PERF:-}" ] || return
    to_vfio || { fail "round=$r qd=$qd tool=spdk: cannot bind $bdf to vfio-pci"; return; }
    [ "$qd" = 1 ] && [ "${3:-}" = pct ] && lat=-L
    # --iova-mode=pa: the virtual IOMMU has 39 address bits (../shared/peers/README.md)
    out=$("$SPDK_PERF" --iova-mode=pa -c "$mask" -q "$qd" -o 4096 -w randread -t "$secs" \
        -r "trtype:PCIe traddr:$bdf ns:$nsid" $lat 2>&1)
    keep "spdk-qd$qd$lat" "$out"
    if [ -n "$lat" ]; then
        echo "$out" | awk -v r="$r" '
            /^Summary latency data/ { s = 1 }
            s && / : *[0-9.]+us$/ { sub(/%$/, "", $1); v = $3; sub(/us$/, "", v); p[$1 + 0] = v }
            END { if (50 in p) printf "PCT round=%s tool=spdk p50=%s p99=%s p99.9=%s p99.99=%s\n",
                  r, p[50], p[99], p[99.9], p[99.99]
                  else printf "FAIL round=%s qd=1 tool=spdk: no latency summary\n", r }'
        return
    fi
    echo "$out" | awk -v r="$r" -v q="$qd" '
        /^Total +:/ { printf "RUN round=%s qd=%s tool=spdk iops=%s avg_us=%s\n", r, q, $3, $5; ok = 1 }
        END { if (!ok) printf "FAIL round=%s qd=%s tool=spdk: no Total line\n", r, q }'
}

run_vfn() { # round qd
    local r=$1 qd=$2 out
    [ -n "${VFN_PERF:-}" ] || return
    to_vfio || { fail "round=$r qd=$qd tool=libvfn: cannot bind $bdf to vfio-pci"; return; }
    # libvfn's perf reads one logical block per command; peers.sh gives it 4 KiB blocks.
    out=$(taskset -c "$core" "$VFN_PERF" -d "$bdf" -N "$nsid" -t "$secs" -q "$qd" -p randread 2>&1)
    keep "libvfn-qd$qd" "$out"
    # its summary: a header "iops mbps lavg lmin lmax", then the figures
    echo "$out" | awk -v r="$r" -v q="$qd" '
        h && NF == 5 { printf "RUN round=%s qd=%s tool=libvfn iops=%s avg_us=%s\n", r, q, $1, $3; ok = 1; h = 0 }
        $1 == "iops" && $3 == "lavg" { h = 1 }
        END { if (!ok) printf "FAIL round=%s qd=%s tool=libvfn: no summary line\n", r, q }'
}

run_fio() { # round qd [pct]
    local r=$1 qd=$2 out
    command -v fio >/dev/null || return
    to_kernel || { fail "round=$r qd=$qd tool=fio: no kernel block device"; return; }
    out=$(fio --name=kpoll --filename="$kdev" --ioengine=io_uring --hipri=1 --fixedbufs=1 \
        --registerfiles=1 --direct=1 --rw=randread --bs=4k --iodepth="$qd" --numjobs=1 \
        --cpus_allowed="$core" --time_based=1 --runtime="$secs" --lat_percentiles=1 \
        --output-format=json 2>&1)
    keep "fio-qd$qd" "$out"
    printf '%s' "$out" | fio_result "$r" "$qd" fio
}

# The RUN line (and at QD 1 the PCT line, where fio has percentiles) from fio's JSON on stdin.
# The latency is lat (submission to completion, as the other tools measure it) where fio
# measured it, else clat (disable_lat=1).
fio_result() { # round qd tool
    python3 -c '
import json, sys
r, q, t = sys.argv[1:4]
text = sys.stdin.read()
try:
    rd = json.loads(text[text.index("{"):])["jobs"][0]["read"]
except (ValueError, KeyError, IndexError):
    print("FAIL round=%s qd=%s tool=%s: no JSON result" % (r, q, t))
    sys.exit(0)
lat = rd["lat_ns"] if rd["lat_ns"]["mean"] else rd["clat_ns"]
print("RUN round=%s qd=%s tool=%s iops=%.2f avg_us=%.2f" % (r, q, t, rd["iops"], lat["mean"] / 1000))
p = lat.get("percentile", {})
if q == "1" and p:
    g = lambda k: "%.2f" % (p[k] / 1000) if k in p else "-"
    print("PCT round=%s tool=%s p50=%s p99=%s p99.9=%s p99.99=%s"
          % (r, t, g("50.000000"), g("99.000000"), g("99.900000"), g("99.990000")))
' "$@"
}

# fio through updk's own engine (build/lib/fio_updk.so, ./configure --with-fio): the same driver
# as updk-perf under fio's loop, with the fast job file's options (docs/fio.md). Left out
# without the engine.
engine=$PWD/build/lib/fio_updk.so
source test/common/fio_fast.sh
run_fio_updk() { # round qd
    local r=$1 qd=$2 out
    command -v fio >/dev/null && [ -e "$engine" ] || return
    to_vfio || { fail "round=$r qd=$qd tool=fio-updk: cannot bind $bdf to vfio-pci"; return; }
    out=$(fio --name=updk --thread --ioengine=external:"$engine" \
        --filename="trtype=PCIe traddr=${bdf//:/.} ns=$nsid" --rw=randread --bs=4k \
        --iodepth="$qd" --numjobs=1 --cpus_allowed="$core" --time_based=1 --runtime="$secs" \
        $(fio_fast "$qd") --output-format=json 2>&1)
    keep "fio-updk-qd$qd" "$out"
    printf '%s' "$out" | fio_result "$r" "$qd" fio-updk
}

# --- the rounds ---------------------------------------------------------------------------------
# Userspace tools: each depth in turn, the tools in an order that rotates every round, so none
# always runs first or right after the driver switch. fio goes first in odd rounds and last in
# even ones (it needs the kernel's driver, the others vfio-pci: two switches per round).
names=() cmds=()
for ((i = 0; i < ${#variants[@]}; i += 2)); do
    names+=("${variants[i]}")
    cmds+=("${variants[i + 1]}")
done
user_tools=(spdk libvfn "${names[@]}")
command -v fio >/dev/null && [ -e "$engine" ] && user_tools+=(fio-updk)
# Each run is announced ("MARK N" on stdout) and bracketed by the files mark.N.start and
# mark.N.end in the log folder, which peers.sh on the host turns into QEMU's CPU time per run.
run_no=0
mark() { [ -n "$logdir" ] && : > "$logdir/mark.$1"; }
one() { # round qd tool [pct]
    local v
    run_no=$((run_no + 1))
    echo "MARK $run_no"
    mark "$run_no.start"
    case $3 in
        spdk) run_spdk "$1" "$2" "${4:-}" ;;
        libvfn) run_vfn "$1" "$2" ;;
        fio) run_fio "$1" "$2" ;;
        fio-updk) run_fio_updk "$1" "$2" ;;
        *)
            for ((v = 0; v < ${#names[@]}; v++)); do
                [ "${names[v]}" = "$3" ] && run_updk "$1" "$2" "$3" "${cmds[v]}" "${4:-}"
            done
            ;;
    esac
    mark "$run_no.end"
}
for ((r = 1; r <= rounds; r++)); do
    echo "round $r of $rounds" >&2
    [ $((r % 2)) = 1 ] && for qd in $qds; do one "$r" "$qd" fio; done
    n=${#user_tools[@]}
    for qd in $qds; do
        for ((k = 0; k < n; k++)); do
            one "$r" "$qd" "${user_tools[(k + r - 1) % n]}"
        done
    done
    # QD 1 latency percentiles: SPDK -L and updk-perf -LL (the first variant), in turn
    if [ $((r % 2)) = 1 ]; then
        one "$r" 1 spdk pct; one "$r" 1 "${names[0]}" pct
    else
        one "$r" 1 "${names[0]}" pct; one "$r" 1 spdk pct
    fi
    [ $((r % 2)) = 0 ] && for qd in $qds; do one "$r" "$qd" fio; done
done
to_vfio >/dev/null 2>&1
scripts/setup.sh unbind "$bdf" >/dev/null 2>&1
exit 0
