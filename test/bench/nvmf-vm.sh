#!/bin/bash
# updk-nvmf beside the kernel's nvmet-tcp, each serving the same QEMU NVMe controller to the guest
# kernel's NVMe/TCP host over loopback, in one guest boot (issue 15). Run it inside the guest of
# test/vm/run.sh, from the top of the tree, after `make`:
#
#   test/vm/run.sh --smp 2 --timeout 1800 -- test/bench/nvmf-vm.sh [SECONDS]
#
# fio (libaio, O_DIRECT, 4 KiB, randread and randwrite, QD 1 and 32, pinned to CPU 0) runs on
# /dev/nvmeXn1 of an `nvme connect -t tcp` to:
#   1. updk-nvmf with the controller bound to vfio-pci, once in each mode of NVMF_MODES (default
#      "poll interrupt interrupt0": --poll-mode, --interrupt-mode, and --interrupt-mode
#      --idle-us 0, which sleeps as soon as a turn leaves nothing to do instead of polling 50 us
#      first; "hybrid" is --poll-mode --idle-us 0: it polls the controller while a command is in
#      flight and sleeps on the sockets as soon as none is; "busy" is --busy-poll). A mode runs
#      its poller on CPU 1 (-c 1), or on the CPU after an @ ("hybrid@0": beside fio). In the
#      interrupt modes the controller's vfio-pci vectors are moved to the poller's CPU
#      (/proc/irq/N/smp_affinity_list), unless the mode ends in -noaff ("interrupt0-noaff").
#      NVMF_BEFORE=PATH runs every mode with that build of updk-nvmf too (rows "before MODE"):
#      a before/after pair in one boot (keep a copy of the old binary: cp build/bin/updk-nvmf
#      build/bin/updk-nvmf-before);
#   2. nvmet-tcp (configfs: a subsystem whose namespace is the kernel's own /dev/nvmeYn1 of the
#      same controller, on the kernel's nvme driver; a TCP port on 127.0.0.1).
# Each row: IOPS; fio's mean total latency (submission + completion: the kernel's host sends a
# command from inside io_submit(), so a target that answers quickly moves time from fio's clat
# into its slat, and clat alone would favour it), of which the submission, and its 99th
# percentile; CPU per I/O: the whole guest's busy time (user + system + irq + softirq,
# /proc/stat) divided by the I/Os, and the target's own share. updk-nvmf's share is its
# process's CPU time (/proc/PID/stat). nvmet-tcp runs in kernel workqueues shared with the host's
# nvme-tcp, so its share is the guest's total less the host side's, taken as what the same fio
# job cost outside updk-nvmf's process in the updk-nvmf run where that was least (same host,
# same I/O pattern; "-" when that leaves nothing).
# In interrupt mode the guest kernel's handling of the controller's interrupts (vfio-pci's
# handler) is in the guest's total, not in updk-nvmf's process time. "IOPS per target core" =
# IOPS / target share. Per I/O also: the guest's cross-CPU wake-ups (function call and
# rescheduling IPIs, /proc/interrupts CAL + RES: under TCG each is a host thread woken) and
# context switches (/proc/stat ctxt), and updk-nvmf's poller's sleeps (its voluntary context
# switches). NVMF_WORKLOADS picks the rows ("randread:1 randwrite:1" for QD 1 alone).
# NVMF_HOST picks the host side, the same for every target: "libaio" (the default: fio's libaio
# on a connection with interrupt-driven queues; the kernel's host takes each answer in a kworker
# woken by the socket) and/or "polled" (`nvme connect --nr-poll-queues=1`, fio's io_uring with
# --hipri=1: fio's thread polls the connection's poll queue, nvme_tcp_poll(), and the socket's
# data_ready queues no work while it does); "libaio polled" runs both, one after the other on
# each target. NVMF_ROUNDS=N runs everything N times, interleaved (every target in round 1, then
# in round 2, ...; the controller goes back and forth between vfio-pci and the kernel's nvme
# driver); the tables show each figure's median and, for IOPS and latency, the lowest and
# highest. NVMF_SYSCALLS=1 also counts system calls per I/O (perf stat, raw_syscalls:sys_enter),
# in the whole guest and in updk-nvmf's process; counting slows every system call a little, for
# every target alike, so take latencies from a run without it.
# Then updk's initiator (updk-perf, pinned to CPU 0) drives the same nvmet-tcp with the same
# workloads, beside the kernel's host with fio: IOPS, latency, the guest's CPU per I/O
# (NVMF_INITIATOR=0 leaves it out).
# Prints Markdown tables; figures are for comparing side by side, never a pass/fail.
set -eu
source test/common/kernel_nvme.sh

bdf=${UPDK_VM_NVME2:-0000:00:05.0}
secs=${1:-10}
NQN=nqn.2026-12.io.updk:bench
KNQN=nqn.2026-12.io.linux:bench
UPORT=4420
KPORT=4421
tmp=$(mktemp -d)
tpid=
cleanup() {
	nvme disconnect -n "$NQN" >/dev/null 2>&1 || true
	nvme disconnect -n "$KNQN" >/dev/null 2>&1 || true
	[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid" || true
	rm -f /sys/kernel/config/nvmet/ports/1/subsystems/$KNQN 2>/dev/null || true
	rmdir /sys/kernel/config/nvmet/subsystems/$KNQN/namespaces/1 2>/dev/null || true
	rmdir /sys/kernel/config/nvmet/subsystems/$KNQN 2>/dev/null || true
	rmdir /sys/kernel/config/nvmet/ports/1 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -x build/bin/updk-nvmf ] || { echo "nvmf-vm: build/bin/updk-nvmf is missing: run make" >&2; exit 2; }

busy() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # USER_HZ ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cross-CPU wake-ups (function call + rescheduling IPIs), context switches, the poller's sleeps
ipis() { awk '/^ *(CAL|RES):/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n }' /proc/interrupts; }
ctxt() { awk '/^ctxt/ { print $2 }' /proc/stat; }
sleeps() { [ "$1" != 0 ] && awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/status" || echo 0; }
hz=$(getconf CLK_TCK)
# The guest's TCP loss recovery during one fio job (nstat's counters since `nstat -n`, empty when
# there was none): loopback loses nothing, so a retransmission is a timer that fired before the
# peer's ACK came (DSACKRecv: the peer had the segment); an RTO (Timeouts) stalls the connection
# for TCP_RTO_MIN (200 ms) or more, and shrinks its congestion window to one segment.
tcp_loss() {
	command -v nstat >/dev/null || return 0
	nstat 2>/dev/null | awk '$1 ~ /^(TcpRetransSegs|TcpExtTCPTimeouts|TcpExtTCPLossProbes|TcpExtTCPDSACKRecv|TcpExtTCPSpuriousRTOs)$/ {
		sub(/^Tcp(Ext)?/, "", $1); printf "%s%s %s", n++ ? ", " : "; TCP ", $1, $2 }'
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# The block device of namespace 1 of subsystem $1 (the multipath head), once it appears.
tcp_blockdev() {
	local s n
	for _ in $(seq 100); do
		for s in /sys/class/nvme-subsystem/nvme-subsys*; do
			[ "$(cat "$s/subsysnqn" 2>/dev/null)" = "$1" ] || continue
			for n in "$s"/nvme*n1; do
				[ -b "/dev/${n##*/}" ] && { echo "/dev/${n##*/}"; return 0; }
			done
		done
		sleep 0.1
	done
	echo "nvmf-vm: no block device for $1" >&2
	return 1
}

workloads=${NVMF_WORKLOADS:-randread:1 randread:32 randwrite:1 randwrite:32}
hosts=${NVMF_HOST:-libaio}
rounds=${NVMF_ROUNDS:-1}
for h in $hosts; do
	case $h in
	libaio | polled) ;;
	*) echo "nvmf-vm: NVMF_HOST: unknown host side '$h' (libaio, polled)" >&2; exit 2 ;;
	esac
done
case $rounds in
'' | *[!0-9]* | 0) echo "nvmf-vm: NVMF_ROUNDS: a number of rounds, 1 or more" >&2; exit 2 ;;
esac
# the connection and fio's engine of each host side
connect_opts() { if [ "$1" = polled ]; then echo "--nr-poll-queues=1"; fi; }
fio_engine() { if [ "$1" = polled ]; then echo "--ioengine=io_uring --hipri=1"; else echo "--ioengine=libaio"; fi; }

# System calls (NVMF_SYSCALLS=1): perf counting raw_syscalls:sys_enter in the whole guest and
# in the target's process, from sc_start to sc_stop.
syscalls=${NVMF_SYSCALLS:-0}
if [ "$syscalls" = 1 ]; then
	mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing 2>/dev/null || true
	perf stat -a -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 ||
		{ echo "nvmf-vm: NVMF_SYSCALLS=1: perf cannot count raw_syscalls:sys_enter here" >&2; exit 2; }
fi
sc_pids=
sc_start() { # PID (0: the guest only)
	sc_pids=
	[ "$syscalls" = 1 ] || return 0
	perf stat -a -x, -e raw_syscalls:sys_enter -o "$tmp/sc.all" &
	sc_pids=$!
	if [ "$1" != 0 ]; then
		perf stat -p "$1" -x, -e raw_syscalls:sys_enter -o "$tmp/sc.tgt" &
		sc_pids="$sc_pids $!"
	else
		echo 0, >"$tmp/sc.tgt"
	fi
	sleep 0.5 # perf has set up its counters
}
sc_stop() { # prints "ALL TARGET" system calls, or "- -"
	[ -n "$sc_pids" ] || { echo "- -"; return 0; }
	# shellcheck disable=SC2086
	kill -INT $sc_pids
	# shellcheck disable=SC2086
	wait $sc_pids || true
	# a count perf could not take (a process gone, "<not counted>") is "-"
	echo "$(sc_count "$tmp/sc.all") $(sc_count "$tmp/sc.tgt")"
}
sc_count() {
	awk -F, '/sys_enter|^0,/ { n = $1 } END { print n ~ /^[0-9]+$/ ? n : "-" }' "$1" 2>/dev/null || echo -
}

# One fio job's figures, from its JSON on stdin and the counters before and after it (argv: key,
# fio's direction, seconds, USER_HZ, then "busy0 busy1 ticks0 ticks1 ipis0 ipis1 ctxt0 ctxt1
# sleeps0 sleeps1 syscalls_all syscalls_target"): a record "KEY<tab>JSON" on stdout, for the
# tables, and a line for people on stderr.
figures='
import json, sys
d = json.load(sys.stdin)
key, dirn, secs, hz, c = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5].split()
j = d["jobs"][0][dirn]
b0, b1, t0, t1, i0, i1, c0, c1, s0, s1 = map(float, c[:10])
# fio ramp second is in the counters but not in total_ios: scale by time
n = max(j["total_ios"], 1) * (secs + 1) / secs
per = lambda x, r=1: round(x / n, r)
f = dict(iops=round(j["iops"]), lat=round(j["lat_ns"]["mean"] / 1e3, 1),
	 slat=round(j["slat_ns"]["mean"] / 1e3, 1),
	 p99=round(j["lat_ns"]["percentile"]["99.000000"] / 1e3, 1),
	 cpu_all=per((b1 - b0) / hz * 1e6), cpu_tgt=per((t1 - t0) / hz * 1e6),
	 ipi=per(i1 - i0, 2), csw=per(c1 - c0, 2), psl=per(s1 - s0, 2),
	 sca=per(int(c[10])) if c[10].isdigit() else None,
	 sct=per(int(c[11])) if c[11].isdigit() else None)
print(key + "\t" + json.dumps(f))
f = {m: "-" if v is None else v for m, v in f.items()}
print(key + ": {iops} IOPS, {lat} us mean (slat {slat}), {cpu_all} us CPU/IO, {ipi} IPIs/IO, "
      "{csw} ctxt/IO, {psl} poller sleeps/IO, syscalls/IO {sca} (target {sct})".format(**f),
      end="", file=sys.stderr)
'
# run KEY_PREFIX DEV HOST TARGET_PID POLLER_TID: fio on DEV for each workload; TARGET_PID 0 for
# the kernel target (then POLLER_TID 0 too). Each job's record goes to $tmp/rec.
run() {
	local key=$1 dev=$2 host=$3 pid=$4 tid=$5 w rw qd out b0 b1 t0 t1 i0 i1 c0 c1 s0 s1 sc
	for w in $workloads; do
		rw=${w%:*} qd=${w#*:}
		sc_start "$pid"
		b0=$(busy) i0=$(ipis) c0=$(ctxt) s0=$(sleeps "$tid")
		t0=0
		[ "$pid" != 0 ] && t0=$(ticks "$pid")
		command -v nstat >/dev/null && nstat -n
		# shellcheck disable=SC2046
		out=$(fio --name=b --filename="$dev" $(fio_engine "$host") --direct=1 --rw="$rw" \
			--bs=4k --iodepth="$qd" --cpus_allowed=0 --time_based=1 --runtime="$secs" \
			--ramp_time=1 --size=512m --lat_percentiles=1 --output-format=json)
		b1=$(busy) i1=$(ipis) c1=$(ctxt) s1=$(sleeps "$tid")
		t1=0
		[ "$pid" != 0 ] && t1=$(ticks "$pid")
		sc=$(sc_stop)
		echo "$out" | python3 -c "$figures" "$key $host $rw $qd" "${rw#rand}" "$secs" "$hz" \
			"$b0 $b1 $t0 $t1 $i0 $i1 $c0 $c1 $s0 $s1 $sc" >>"$tmp/rec"
		echo "$(tcp_loss)" >&2
	done
}

# connect HOST PORT NQN: a connection as HOST wants it; prints its block device
connect() {
	local dev
	# shellcheck disable=SC2046
	nvme connect -t tcp -a 127.0.0.1 -s "$2" -n "$3" $(connect_opts "$1") >/dev/null
	dev=$(tcp_blockdev "$3")
	if [ "$1" = polled ] && [ "$(cat "/sys/block/${dev#/dev/}/queue/io_poll" 2>/dev/null)" != 1 ]; then
		echo "nvmf-vm: $dev of $3 has no poll queue (queue/io_poll is not 1)" >&2
		return 1
	fi
	echo "$dev"
}

modprobe nvme-tcp
modprobe nvmet-tcp

modes=${NVMF_MODES:-poll interrupt interrupt0}
for bin in build/bin/updk-nvmf ${NVMF_BEFORE:-}; do
	[ -x "$bin" ] || { echo "nvmf-vm: $bin is not an executable" >&2; exit 2; }
done

# irq_affinity BDF CPU: BDF's vfio-pci interrupt vectors (interrupt modes) to CPU, where the
# poller runs: its wake-up is then an interrupt on its own CPU, not an IPI from the CPU that took
# the interrupt (as the kernel's nvme driver has it with each queue's managed affinity)
irq_affinity() {
	local irq was
	for irq in $(awk -v d="($1)" 'index($0, "vfio-") && index($0, d) { sub(":", "", $1); print $1 }' /proc/interrupts); do
		was=$(cat "/proc/irq/$irq/effective_affinity_list" 2>/dev/null || echo "?")
		echo "$2" >"/proc/irq/$irq/smp_affinity_list" ||
			echo "nvmf-vm: cannot move IRQ $irq to CPU $2" >&2
		echo "nvmf-vm: IRQ $irq of $1: CPU $was -> $(cat "/proc/irq/$irq/effective_affinity_list")" >&2
	done
}

# --- updk-nvmf: each mode with the build under test, then (NVMF_BEFORE) with the old one -------
targets=
updk_round() {
	local m spec aff bin mode core opts t tid th h udev
	scripts/setup.sh bind "$bdf" >/dev/null
	for m in $modes; do
		for bin in build/bin/updk-nvmf ${NVMF_BEFORE:-}; do
			spec=${m%-noaff} aff=1
			[ "$spec" != "$m" ] && aff=0
			mode=${spec%@*} core=1
			[ "$spec" != "$mode" ] && core=${spec#*@}
			case $mode in
			interrupt0) opts="--interrupt-mode --idle-us 0" ;;
			hybrid) opts="--poll-mode --idle-us 0" ;;
			busy) opts="--busy-poll" ;;
			*) opts="--$mode-mode" ;;
			esac
			t="updk-$m"
			[ "$bin" != build/bin/updk-nvmf ] && t="before-$m"
			[ "$round" = 1 ] && targets="$targets $t"
			# shellcheck disable=SC2086
			"$bin" --listen 127.0.0.1:$UPORT -c "$core" $opts --nqn "$NQN" "$bdf" \
				>"$tmp/u.out" 2>"$tmp/u.err" &
			tpid=$!
			for _ in $(seq 300); do grep -q ready "$tmp/u.out" && break; sleep 0.1; done
			grep -q ready "$tmp/u.out" || { cat "$tmp/u.err" >&2; exit 1; }
			[ "$aff" = 1 ] && irq_affinity "$bdf" "$core"
			tid=0
			for th in "/proc/$tpid"/task/*; do
				[ "$(cat "$th/comm")" = nvmf-poller0 ] && tid=${th##*/}
			done
			for h in $hosts; do
				udev=$(connect "$h" $UPORT "$NQN")
				run "$t" "$udev" "$h" "$tpid" "$tid"
				nvme disconnect -n "$NQN" >/dev/null
			done
			kill -TERM "$tpid" && wait "$tpid"
			tpid=
			grep 'poller' "$tmp/u.out" | sed "s/^/round $round $t: /" >&2 || true
		done
	done
}

# --- nvmet-tcp on the kernel's nvme driver ------------------------------------------------------
cfg=/sys/kernel/config/nvmet
nvmet_up() {
	local kdev
	scripts/setup.sh unbind "$bdf" >/dev/null
	kdev=$(kernel_nvme_blockdev "$bdf")
	[ -n "$kdev" ] || { echo "nvmf-vm: no block device for $bdf under the kernel's nvme driver" >&2; exit 1; }
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	mkdir "$cfg/subsystems/$KNQN"
	echo 1 >"$cfg/subsystems/$KNQN/attr_allow_any_host"
	mkdir "$cfg/subsystems/$KNQN/namespaces/1"
	echo -n "$kdev" >"$cfg/subsystems/$KNQN/namespaces/1/device_path"
	echo 1 >"$cfg/subsystems/$KNQN/namespaces/1/enable"
	mkdir "$cfg/ports/1"
	echo tcp >"$cfg/ports/1/addr_trtype"
	echo ipv4 >"$cfg/ports/1/addr_adrfam"
	echo 127.0.0.1 >"$cfg/ports/1/addr_traddr"
	echo $KPORT >"$cfg/ports/1/addr_trsvcid"
	ln -s "$cfg/subsystems/$KNQN" "$cfg/ports/1/subsystems/$KNQN"
}
nvmet_down() {
	rm -f "$cfg/ports/1/subsystems/$KNQN"
	rmdir "$cfg/ports/1"
	echo 0 >"$cfg/subsystems/$KNQN/namespaces/1/enable"
	rmdir "$cfg/subsystems/$KNQN/namespaces/1"
	rmdir "$cfg/subsystems/$KNQN"
}
nvmet_round() {
	local h kndev
	for h in $hosts; do
		kndev=$(connect "$h" $KPORT "$KNQN")
		run nvmet "$kndev" "$h" 0 0
		nvme disconnect -n "$KNQN" >/dev/null
	done
}

for round in $(seq "$rounds"); do
	updk_round
	nvmet_up
	nvmet_round
	# the last round leaves nvmet-tcp up for updk's initiator
	[ "$round" = "$rounds" ] || nvmet_down
done
first=${targets# }
first=${first%% *}

# --- updk's initiator against the same nvmet-tcp ------------------------------------------------
# updk-perf (one poller pinned to CPU 0, as fio was) in place of the kernel's host and fio.
iworkloads=$workloads
[ "${NVMF_INITIATOR:-1}" = 1 ] || iworkloads=
for w in $iworkloads; do
	rw=${w%:*} qd=${w#*:}
	b0=$(busy)
	out=$(build/bin/updk-perf -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$KPORT subnqn:$KNQN ns:1" \
		-c '[0]' -q "$qd" -o 4096 -w "$rw" -t "$secs" -a 1 -L --json --no-progress)
	b1=$(busy)
	echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)["total"]
secs, hz, b0, b1 = map(float, sys.argv[2:6])
f = dict(iops=round(d["iops"]), lat=round(d["latency_us"]["average"], 1),
	 p99=round(d["percentiles_us"]["99"], 1),
	 cpu_all=round((b1 - b0) / hz * 1e6 * secs / (secs + 1) / max(d["ios"], 1), 1))
print(sys.argv[1] + "\t" + json.dumps(f))
print("updk initiator " + sys.argv[1] + ": {iops} IOPS, {lat} us mean, {cpu_all} us CPU/IO".format(**f),
      file=sys.stderr)
' "perf $rw $qd" "$secs" "$hz" "$b0" "$b1" >>"$tmp/rec"
done

# --- the tables ---------------------------------------------------------------------------------
python3 - "$tmp/rec" "$targets" "$hosts" "$workloads" "$iworkloads" "$rounds" <<'PY'
import json, statistics, sys
rec, targets, hosts, workloads, iworkloads, rounds = sys.argv[1:7]
figs = {}
for line in open(rec):
    key, f = line.rstrip("\n").split("\t")
    figs.setdefault(key, []).append(json.loads(f))
def vals(key, m):
    return [f[m] for f in figs.get(key, []) if f.get(m) is not None]
def med(key, m):
    v = vals(key, m)
    return round(statistics.median(v), 2) if v else None
def cell(key, m, span=False):
    v, x = vals(key, m), med(key, m)
    if x is None:
        return "-"
    x = f"{x:g}"
    return f"{x} ({min(v):g}-{max(v):g})" if span and len(v) > 1 else x
targets = targets.split() + ["nvmet"]
rounds = int(rounds)
print()
if rounds > 1:
    print(f"Medians of {rounds} rounds (IOPS and latency: lowest-highest after the median).")
print("| workload | host | target | IOPS | mean lat (us) | of which slat | p99 lat (us) | guest CPU/IO (us) "
      "| target CPU/IO (us) | IOPS per target core | IPIs/IO | ctxt/IO | poller sleeps/IO | syscalls/IO guest (target) |")
print("|" + "---|" * 14)
for w in workloads.split():
    rw, qd = w.split(":")
    for h in hosts.split():
        # nvmet-tcp's share: the guest's total less what the host side cost beside updk-nvmf
        # (a run's guest total less its process's time), in the run where that was least: a
        # target that slows the host down (a poller spinning on fio's CPU) inflates it
        host = min((med(f"{t} {h} {rw} {qd}", "cpu_all") or 0) -
                   (med(f"{t} {h} {rw} {qd}", "cpu_tgt") or 0) for t in targets[:-1])
        for t in targets:
            k = f"{t} {h} {rw} {qd}"
            if t == "nvmet":
                # none left (the host side cost more beside updk-nvmf): no estimate
                name, tc = "nvmet-tcp (est.)", round((med(k, "cpu_all") or 0) - host, 1)
            else:
                name = f"updk-nvmf before ({t[7:]})" if t.startswith("before-") else f"updk-nvmf ({t[5:]})"
                tc = med(k, "cpu_tgt") or 0
            tcs, pers = (f"{tc:g}", f"{round(1e6 / max(tc, 0.1))}") if tc > 0 else ("-", "-")
            sl = "-" if t == "nvmet" else cell(k, "psl")
            print(f"| {rw} QD {qd} | {h} | {name} | {cell(k, 'iops', True)} | {cell(k, 'lat', True)} "
                  f"| {cell(k, 'slat')} | {cell(k, 'p99')} | {cell(k, 'cpu_all')} | {tcs} "
                  f"| {pers} | {cell(k, 'ipi')} | {cell(k, 'csw')} | {sl} "
                  f"| {cell(k, 'sca')} ({cell(k, 'sct')}) |")
if iworkloads.split():
    h = hosts.split()[0]
    print()
    print("| workload | initiator (target nvmet-tcp) | IOPS | mean lat (us) | p99 lat (us) | guest CPU/IO (us) |")
    print("|---|---|---|---|---|---|")
    for w in iworkloads.split():
        rw, qd = w.split(":")
        for k, name in ((f"nvmet {h} {rw} {qd}", f"kernel nvme-tcp + fio ({h})"), (f"perf {rw} {qd}", "updk-perf")):
            print(f"| {rw} QD {qd} | {name} | {cell(k, 'iops')} | {cell(k, 'lat')} | {cell(k, 'p99')} | {cell(k, 'cpu_all')} |")
PY
