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
#      flight and sleeps on the sockets as soon as none is). A mode runs its poller on CPU 1
#      (-c 1), or on the CPU after an @ ("hybrid@0": beside fio). NVMF_BEFORE=PATH runs every
#      mode with that build of updk-nvmf too (rows "before MODE"): a before/after pair in one
#      boot (keep a copy of the old binary: cp build/bin/updk-nvmf build/bin/updk-nvmf-before);
#   2. nvmet-tcp (configfs: a subsystem whose namespace is the kernel's own /dev/nvmeYn1 of the
#      same controller, on the kernel's nvme driver; a TCP port on 127.0.0.1).
# Each row: IOPS; fio's mean total latency (submission + completion: the kernel's host sends a
# command from inside io_submit(), so a target that answers quickly moves time from fio's clat
# into its slat, and clat alone would favour it), of which the submission, and its 99th
# percentile; CPU per I/O: the whole guest's busy time (user + system + irq + softirq,
# /proc/stat) divided by the I/Os, and the target's own share. updk-nvmf's share is its
# process's CPU time (/proc/PID/stat). nvmet-tcp runs in kernel workqueues shared with the host's
# nvme-tcp, so its share is the guest's total less the host side's, taken as what the same fio
# job cost outside updk-nvmf's process in the first updk-nvmf run (same host, same I/O pattern).
# In interrupt mode the guest kernel's handling of the controller's interrupts (vfio-pci's
# handler) is in the guest's total, not in updk-nvmf's process time. "IOPS per target core" =
# IOPS / target share. Per I/O also: the guest's cross-CPU wake-ups (function call and
# rescheduling IPIs, /proc/interrupts CAL + RES: under TCG each is a host thread woken) and
# context switches (/proc/stat ctxt), and updk-nvmf's poller's sleeps (its voluntary context
# switches). NVMF_WORKLOADS picks the rows ("randread:1 randwrite:1" for QD 1 alone).
# Then updk's initiator (updk-perf, pinned to CPU 0) drives the same nvmet-tcp with the same
# workloads, beside the kernel's host with fio: IOPS, latency, the guest's CPU per I/O
# (NVMF_INITIATOR=0 leaves it out).
# Prints Markdown tables; figures are for comparing side by side, never a pass/fail.
set -eu

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
declare -A iops lat slat p99 cpu_all cpu_tgt ipi csw psl
# run KEY DEV TARGET_PID POLLER_TID: fio on DEV for each workload; TARGET_PID 0 for the kernel
# target (then POLLER_TID 0 too)
run() {
	local key=$1 dev=$2 pid=$3 tid=$4 w rw qd out b0 b1 t0 t1 i0 i1 c0 c1 s0 s1 ios n
	for w in $workloads; do
		rw=${w%:*} qd=${w#*:}
		b0=$(busy) i0=$(ipis) c0=$(ctxt) s0=$(sleeps "$tid")
		t0=0
		[ "$pid" != 0 ] && t0=$(ticks "$pid")
		command -v nstat >/dev/null && nstat -n
		out=$(fio --name=b --filename="$dev" --ioengine=libaio --direct=1 --rw=$rw \
			--bs=4k --iodepth=$qd --cpus_allowed=0 --time_based=1 --runtime="$secs" \
			--ramp_time=1 --size=512m --lat_percentiles=1 --output-format=json)
		b1=$(busy) i1=$(ipis) c1=$(ctxt) s1=$(sleeps "$tid")
		t1=0
		[ "$pid" != 0 ] && t1=$(ticks "$pid")
		local d=${rw#rand}
		local k="$key $rw $qd"
		iops[$k]=$(echo "$out" | json "round(d['jobs'][0]['$d']['iops'])")
		lat[$k]=$(echo "$out" | json "round(d['jobs'][0]['$d']['lat_ns']['mean']/1000, 1)")
		slat[$k]=$(echo "$out" | json "round(d['jobs'][0]['$d']['slat_ns']['mean']/1000, 1)")
		p99[$k]=$(echo "$out" | json "round(d['jobs'][0]['$d']['lat_ns']['percentile']['99.000000']/1000, 1)")
		ios=$(echo "$out" | json "d['jobs'][0]['$d']['total_ios']")
		# fio's ramp second is in the counters but not in total_ios: scale by time
		n=$(python3 -c "print(max($ios, 1) * ($secs + 1) / $secs)")
		cpu_all[$k]=$(python3 -c "print(round(($b1-$b0)/$hz*1e6 / $n, 1))")
		cpu_tgt[$k]=$(python3 -c "print(round(($t1-$t0)/$hz*1e6 / $n, 1))")
		ipi[$k]=$(python3 -c "print(round(($i1-$i0) / $n, 2))")
		csw[$k]=$(python3 -c "print(round(($c1-$c0) / $n, 2))")
		psl[$k]=$(python3 -c "print(round(($s1-$s0) / $n, 2))")
		echo "$k: ${iops[$k]} IOPS, ${lat[$k]} us mean (slat ${slat[$k]}), ${cpu_all[$k]} us CPU/IO, ${ipi[$k]} IPIs/IO, ${csw[$k]} ctxt/IO, ${psl[$k]} poller sleeps/IO$(tcp_loss)" >&2
	done
}

modprobe nvme-tcp
modprobe nvmet-tcp

# --- updk-nvmf --------------------------------------------------------------------------------
modes=${NVMF_MODES:-poll interrupt interrupt0}
targets=
scripts/setup.sh bind "$bdf" >/dev/null
for bin in build/bin/updk-nvmf ${NVMF_BEFORE:-}; do
	[ -x "$bin" ] || { echo "nvmf-vm: $bin is not an executable" >&2; exit 2; }
done
# each mode with the build under test, then (NVMF_BEFORE) with the old one: interleaved
for m in $modes; do
	for bin in build/bin/updk-nvmf ${NVMF_BEFORE:-}; do
		mode=${m%@*} core=1
		[ "$m" != "$mode" ] && core=${m#*@}
		case $mode in
		interrupt0) opts="--interrupt-mode --idle-us 0" ;;
		hybrid) opts="--poll-mode --idle-us 0" ;;
		*) opts="--$mode-mode" ;;
		esac
		t="updk-$m"
		[ "$bin" != build/bin/updk-nvmf ] && t="before-$m"
		targets="$targets $t"
		# shellcheck disable=SC2086
		"$bin" --listen 127.0.0.1:$UPORT -c "$core" $opts --nqn "$NQN" "$bdf" \
			>"$tmp/u.out" 2>"$tmp/u.err" &
		tpid=$!
		for _ in $(seq 300); do grep -q ready "$tmp/u.out" && break; sleep 0.1; done
		grep -q ready "$tmp/u.out" || { cat "$tmp/u.err" >&2; exit 1; }
		tid=0
		for th in "/proc/$tpid"/task/*; do
			[ "$(cat "$th/comm")" = nvmf-poller0 ] && tid=${th##*/}
		done
		nvme connect -t tcp -a 127.0.0.1 -s $UPORT -n "$NQN" >/dev/null
		udev=$(tcp_blockdev "$NQN")
		run "$t" "$udev" "$tpid" "$tid"
		nvme disconnect -n "$NQN" >/dev/null
		kill -TERM "$tpid" && wait "$tpid"
		tpid=
		grep 'poller' "$tmp/u.out" | sed "s/^/$t: /" >&2 || true
	done
done
first=${targets# }
first=${first%% *}

# --- nvmet-tcp on the kernel's nvme driver ------------------------------------------------------
scripts/setup.sh unbind "$bdf" >/dev/null
kdev=
for _ in $(seq 100); do
	for n in /sys/bus/pci/devices/$bdf/nvme/nvme*/nvme*n1; do [ -e "$n" ] && kdev=/dev/${n##*/}; done
	[ -n "$kdev" ] && [ -b "$kdev" ] && break
	sleep 0.1
done
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
cfg=/sys/kernel/config/nvmet
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
nvme connect -t tcp -a 127.0.0.1 -s $KPORT -n "$KNQN" >/dev/null
kndev=$(tcp_blockdev "$KNQN")
run nvmet "$kndev" 0 0
nvme disconnect -n "$KNQN" >/dev/null

# --- updk's initiator against the same nvmet-tcp ------------------------------------------------
# updk-perf (one poller pinned to CPU 0, as fio was) in place of the kernel's host and fio.
declare -A piops plat pp99 pcpu
iworkloads=$workloads
[ "${NVMF_INITIATOR:-1}" = 1 ] || iworkloads=
for w in $iworkloads; do
	rw=${w%:*} qd=${w#*:}
	k="$rw $qd"
	b0=$(busy)
	out=$(build/bin/updk-perf -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$KPORT subnqn:$KNQN ns:1" \
		-c '[0]' -q "$qd" -o 4096 -w "$rw" -t "$secs" -a 1 -L --json --no-progress)
	b1=$(busy)
	piops[$k]=$(echo "$out" | json "round(d['total']['iops'])")
	plat[$k]=$(echo "$out" | json "round(d['total']['latency_us']['average'], 1)")
	pp99[$k]=$(echo "$out" | json "round(d['total']['percentiles_us']['99'], 1)")
	ios=$(echo "$out" | json "d['total']['ios']")
	pcpu[$k]=$(python3 -c "print(round(($b1-$b0)/$hz*1e6 * $secs/($secs+1) / max($ios,1), 1))")
	echo "updk initiator $k: ${piops[$k]} IOPS, ${plat[$k]} us mean, ${pcpu[$k]} us CPU/IO" >&2
done

# --- the tables ---------------------------------------------------------------------------------
echo
echo "| workload | target | IOPS | mean lat (us) | of which slat | p99 lat (us) | guest CPU/IO (us) | target CPU/IO (us) | IOPS per target core | IPIs/IO | ctxt/IO | poller sleeps/IO |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for w in $workloads; do
	rw=${w%:*} qd=${w#*:}
	u="$first $rw $qd" k="nvmet $rw $qd"
	host=$(python3 -c "print(${cpu_all[$u]} - ${cpu_tgt[$u]})")
	ktgt=$(python3 -c "print(round(max(${cpu_all[$k]} - $host, 0.1), 1))")
	for t in $targets nvmet; do
		key="$t $rw $qd"
		tc=${cpu_tgt[$key]}
		[ $t = nvmet ] && tc=$ktgt
		per=$(python3 -c "print(round(1e6 / max($tc, 0.1)))")
		case $t in
		nvmet) name="nvmet-tcp (est.)" sl=- ;;
		before-*) name="updk-nvmf before (${t#before-})" sl=${psl[$key]} ;;
		*) name="updk-nvmf (${t#updk-})" sl=${psl[$key]} ;;
		esac
		echo "| $rw QD $qd | $name | ${iops[$key]} | ${lat[$key]} | ${slat[$key]} | ${p99[$key]} | ${cpu_all[$key]} | $tc | $per | ${ipi[$key]} | ${csw[$key]} | $sl |"
	done
done

[ -n "$iworkloads" ] || exit 0
echo
echo "| workload | initiator (target nvmet-tcp) | IOPS | mean lat (us) | p99 lat (us) | guest CPU/IO (us) |"
echo "|---|---|---|---|---|---|"
for w in $iworkloads; do
	rw=${w%:*} qd=${w#*:}
	k="nvmet $rw $qd"
	echo "| $rw QD $qd | kernel nvme-tcp + fio | ${iops[$k]} | ${lat[$k]} | ${p99[$k]} | ${cpu_all[$k]} |"
	k="$rw $qd"
	echo "| $rw QD $qd | updk-perf | ${piops[$k]} | ${plat[$k]} | ${pp99[$k]} | ${pcpu[$k]} |"
done
