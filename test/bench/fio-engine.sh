#!/bin/bash
# fio with the updk engine beside updk-perf and beside fio's io_uring on the kernel's nvme driver,
# on one QEMU NVMe controller in one guest boot (issue 19; docs/benchmarks.md). Run it inside the
# guest of test/vm/run.sh, from the top of the tree, after ./configure --with-fio and make:
#
#   test/vm/run.sh --smp 2 --timeout 1200 -- test/bench/fio-engine.sh [SECONDS] [ROUNDS]
#
# BEFORE=path (a file in the tree, which the guest sees) runs another build of the engine
# beside this one, interleaved with it in every round: a before/after pair in one boot.
# QDS="32" runs one depth only (default "1 32").
#
# 4 KiB random reads, one job on one core, QD 1 and 32:
# - kernel: the guest's nvme driver reloaded with one poll queue, fio --ioengine=io_uring
#   --hipri=1 --fixedbufs=1 --registerfiles=1 --direct=1;
# - updk: the function bound to vfio-pci, fio --ioengine=external:build/lib/fio_updk.so, and
#   build/bin/updk-perf.
# Both fio engines run twice: with fio's defaults, and with the fast job file's options
# (docs/fio.md "A fast job file": the same for both engines), which leave out what fio does
# per I/O that updk-perf does not (the random map, the slat and total-latency samples, a commit
# and a clock read per I/O) and keep completion latency. FIO_SETS="defaults fast lean" adds a
# third run with gtod_reduce=1 as well (IOPS only; see lean() below); fast4 and fast4r take
# fio's batches a quarter of the depth at a time, fast4r with a doorbell for each (fast4());
# whole waits for all QD completions before resubmitting.
# ROUNDS rounds (default 2), each running all of them at both depths, the kernel's first in odd
# rounds and last in even ones, so drift in the guest touches all alike; the figures are the
# medians over the rounds (each round's figures go to stderr).
# Prints one Markdown table: IOPS and average latency in µs, fio's lat (from fio's
# preparation of the I/O to its completion) with its defaults, clat (submission to completion,
# what updk-perf measures) with the fast options, which leave lat out; figures are for comparing
# side by side, never a pass/fail.
set -eu

bdf=${UPDK_VM_NVME2:-0000:00:05.0}
secs=${1:-5}
rounds=${2:-2}
perf=build/bin/updk-perf
engine=$PWD/build/lib/fio_updk.so
declare -A builds=([engine]=$engine)
[ -z "${BEFORE:-}" ] || builds[before]=$(realpath "$BEFORE")
order() { # ROUND: the builds, this one first in odd rounds, the other in even ones
	if [ -z "${BEFORE:-}" ]; then echo engine
	elif [ $(($1 % 2)) = 1 ]; then echo engine before
	else echo before engine; fi
}
core=${BENCH_CORE:-$(($(nproc) - 1))} # the last guest CPU: the first one takes interrupts
[ -x "$perf" ] || { echo "fio-engine.sh: $perf is missing: run make first" >&2; exit 2; }
[ -f "$engine" ] || { echo "fio-engine.sh: $engine is missing: ./configure --with-fio; make" >&2; exit 2; }
command -v fio >/dev/null || { echo "fio-engine.sh: fio is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source test/common/kernel_nvme.sh
source test/common/fio_fast.sh

json() { python3 -c "import json,sys; t=sys.stdin.read(); d=json.loads(t[t.index('{'):]); print($1)"; }
fio_iops="round(d['jobs'][0]['read']['iops'])"
# lat where fio measured it, else clat (disable_lat=1)
fio_lat="round((d['jobs'][0]['read']['lat_ns']['mean'] or d['jobs'][0]['read']['clat_ns']['mean'])/1000, 2)"
common=(--name=r --thread --rw=randread --bs=4k --numjobs=1 --cpus_allowed="$core"
	--time_based=1 --runtime="$secs" --output-format=json)
# "lean" (FIO_SETS="defaults fast lean"): the fast options and gtod_reduce=1, which also leaves
# out fio's clock reads for completion latency and bandwidth samples (no latency is reported):
# how near fio itself can come to updk-perf when it measures nothing but IOPS
lean() { # QD
	echo $(fio_fast "$1") --gtod_reduce=1
}
# "fast4": the fast options, but fio takes completions and commits submissions a quarter of the
# depth at a time (iodepth_batch_complete_max and iodepth_batch_submit QD/4): more trips through
# fio's loop, the same doorbells (the engine's poll rings). "fast4r": the same, and the engine's
# commit_ring=QD/4 rings at each of those commits, so the controller gets commands while fio
# still turns the rest of a batch into new I/O, for four times the SQ doorbells (an engine
# option: BEFORE= must be an engine that has it, or its runs are left out).
fast4() { # QD
	fio_fast $(($1 / 4 > 0 ? $1 / 4 : 1))
}
# "whole": the fast options, and fio waits for the whole queue to complete before it resubmits
# (iodepth_batch_complete_min=QD): one batch of QD commands per SQ doorbell, the rhythm updk-perf
# falls into at QD 32 in the test guest (0.031 doorbells per I/O)
opts() { # SET QD: fio's options, the same for both engines
	case $1 in defaults) ;; fast) fio_fast "$2" ;; lean) lean "$2" ;; fast4 | fast4r) fast4 "$2" ;;
	whole) echo $(fio_fast "$2") --iodepth_batch_complete_min="$2" ;;
	*) echo "fio-engine.sh: FIO_SETS takes defaults, fast, lean, fast4, fast4r and whole, not $1" >&2
		exit 2 ;;
	esac
}
eopts() { # SET QD: the updk engine's own options
	[ "$1" != fast4r ] || echo --commit_ring=$(($2 / 4 > 0 ? $2 / 4 : 1))
}
# Where the threads of a run (PID) are and what CPU they take, while it runs: fio's job thread or
# updk-perf's poller should be alone on its core, fio's main and helper threads idle (stderr).
# Bash builtins only: a process started in the TCG guest takes long enough to miss the run.
cpu_ticks() { # "cpuN BUSY TOTAL" per CPU
	local cpu u n s i w q sq rest
	while read -r cpu u n s i w q sq rest; do
		if [[ $cpu == cpu[0-9]* ]]; then
			echo "$cpu $((u + n + s + q + sq)) $((u + n + s + i + w + q + sq))"
		fi
	done </proc/stat
}
threads() { # PID: "TID NAME ALLOWED-CPUS LAST-CPU TICKS" per thread
	local t comm st f cpus a
	for t in /proc/$1/task/*; do
		{ read -r comm <"$t/comm" && read -r st <"$t/stat"; } 2>/dev/null || continue
		while read -r f cpus; do [ "$f" != Cpus_allowed_list: ] || break; done <"$t/status"
		a=(${st##*) }) # the fields after the name: state is 3rd, processor 39th
		echo "${t##*/} ${comm// /_} $cpus ${a[36]} $((a[11] + a[12]))"
	done
	return 0
}
placement() { # NAME PID [FILE]: once the job runs (FILE says "thread-locals", or 2 threads)
	local line t0 c0 tid name cpus on ticks c b0 n0 x b n e=
	for _ in $(seq 300); do
		if [ -n "${3:-}" ]; then
			while read -r line; do [[ $line != *thread-locals* ]] || break 2; done <"$3"
		else
			t0=(/proc/$2/task/*)
			[ ${#t0[@]} -lt 2 ] || break
		fi
		sleep 0.2
	done
	sleep 1
	t0=$(threads "$2") c0=$(cpu_ticks)
	sleep 2
	while read -r c b n; do
		while read -r x b0 n0; do [ "$x" != "$c" ] || break; done <<<"$c0"
		echo "placement $1: $c busy $(((b - b0) * 100 / (n - n0 + 1)))% of 2 s" >&2
		e=${e:-$((n - n0 + 1))} # the ticks that passed, by the first CPU's count
	done < <(cpu_ticks)
	while read -r tid name cpus on ticks; do
		while read -r x _ _ _ t; do [ "$x" != "$tid" ] || break; done <<<"$t0"
		[ "$x" = "$tid" ] || t=$ticks
		echo "placement $1: thread $tid $name: CPUs $cpus, on CPU $on, $(((ticks - t) * 100 / e))% of a CPU" >&2
	done < <(threads "$2")
}
sets=(${FIO_SETS:-defaults fast})
qds=${QDS:-1 32} # QDS="32": one depth only
# opts() exits 2 on an unknown set: check them all before the first run
for set in "${sets[@]}"; do opts "$set" 1 >/dev/null; done
declare -A iops lat

# One round: io_uring on the kernel's driver, then the engine and updk-perf on vfio-pci, each at
# both depths; the next round the other way round (one rebind a round), so that the order does
# not favour one of the three and drift in the guest touches all three alike.
add() { # KEY IOPS LAT: the rounds' figures, one list per key
	iops[$1]="${iops[$1]:-} $2"
	lat[$1]="${lat[$1]:-} $3"
	echo "$1: $2 IOPS, $3 µs" >&2
}
kernel_runs() { # ROUND
	local dev out qd
	[ "$on" = nvme ] || scripts/setup.sh unbind "$bdf" >/dev/null
	on=nvme
	dev=$(kernel_nvme_blockdev "$bdf")
	[ -n "$dev" ] || { echo "fio-engine.sh: no block device for $bdf under nvme" >&2; exit 1; }
	for qd in $qds; do
		for set in "${sets[@]}"; do
			out=$(cd "$tmp" && fio "${common[@]}" --filename="$dev" --ioengine=io_uring \
				--hipri=1 --fixedbufs=1 --registerfiles=1 --direct=1 --iodepth="$qd" \
				$(opts "$set" "$qd"))
			add "uring,$set,$qd" "$(echo "$out" | json "$fio_iops")" \
				"$(echo "$out" | json "$fio_lat")"
		done
		echo "round $1 qd $qd: io_uring done" >&2
	done
}
updk_runs() { # ROUND
	local out qd pid
	[ "$on" = vfio-pci ] || scripts/setup.sh bind "$bdf" >/dev/null
	on=vfio-pci
	for qd in $qds; do
		for set in "${sets[@]}"; do
			for b in $(order "$1"); do
				# an engine option: not for the engine before it had one
				[ "$b" = engine ] || [ -z "$(eopts "$set" "$qd")" ] || continue
				(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug exec fio "${common[@]}" \
					--ioengine=external:"${builds[$b]}" \
					--filename="trtype=PCIe traddr=${bdf//:/.} ns=1" --iodepth="$qd" \
					$(opts "$set" "$qd") $(eopts "$set" "$qd") >engine.out 2>engine.err) &
				pid=$! # (placement's process substitutions change $!)
				# once a boot: where fio's threads ran
				[ "$1$qd$b" != 132engine ] || [ "$set" != "${sets[0]}" ] ||
					placement "fio $set" $pid "$tmp/engine.err" || true
				wait $pid || { cat "$tmp/engine.err" >&2; exit 1; }
				out=$(cat "$tmp/engine.out")
				# its doorbell writes per command, where its thread-locals are
				grep "updk fio: job" "$tmp/engine.err" | sed "s/^/$b $set: /" >&2 || true
				add "$b,$set,$qd" "$(echo "$out" | json "$fio_iops")" \
					"$(echo "$out" | json "$fio_lat")"
			done
		done
		"$perf" -r "$bdf ns:1" -c "[$core]" -w randread -o 4096 -q "$qd" -t "$secs" \
			--json --no-progress >"$tmp/perf.out" &
		pid=$!
		[ "$1$qd" != 132 ] || placement updk-perf $pid || true
		wait $pid || exit 1
		out=$(cat "$tmp/perf.out")
		add "perf,$qd" "$(echo "$out" | json "round(d['total']['iops'])")" \
			"$(echo "$out" | json "d['total']['latency_us']['average']")"
		echo "round $1 qd $qd: engine and updk-perf done" >&2
	done
}

# The kernel's nvme driver reloaded with a poll queue, once; the rounds move the function between
# it and vfio-pci.
[ -n "$(kernel_nvme_polled "$bdf")" ] ||
	{ echo "fio-engine.sh: no block device for $bdf under nvme" >&2; exit 1; }
on=nvme
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		kernel_runs "$r"
		updk_runs "$r"
	else
		updk_runs "$r"
		kernel_runs "$r"
	fi
done
[ "$on" = nvme ] || scripts/setup.sh unbind "$bdf" >/dev/null

avg() { # "FIGURES" [DIGITS]: their median
	python3 -c "import statistics as s; m = s.median([float(x) for x in '${1:-0}'.split()]); print(round(m, ${2:-0}) if ${2:-0} else round(m))"
}
echo "| QD | fio options | fio + updk engine: IOPS (avg µs) | updk-perf: IOPS (avg µs) | engine ÷ updk-perf | fio io_uring polled: IOPS (avg µs) | engine ÷ io_uring |"
echo "|---|---|---|---|---|---|---|"
for qd in $qds; do
	p=$(avg "${iops[perf,$qd]}")
	for set in "${sets[@]}"; do
		for b in engine ${BEFORE:+before}; do
			[ "$b" = engine ] || [ -z "$(eopts "$set" "$qd")" ] || continue
			e=$(avg "${iops[$b,$set,$qd]}") u=$(avg "${iops[uring,$set,$qd]}")
			echo "| $qd | $set${BEFORE:+, $b} | $e ($(avg "${lat[$b,$set,$qd]}" 2)) |" \
				"$p ($(avg "${lat[perf,$qd]}" 2)) | $(python3 -c "print(round($e / max($p, 1), 2))") |" \
				"$u ($(avg "${lat[uring,$set,$qd]}" 2)) | $(python3 -c "print(round($e / max($u, 1), 2))") |"
		done
	done
done
