#!/bin/bash
# What updk-nvmf's poller costs per I/O, on the host without a VM (docs/benchmarks-history.md §6):
# the target (-c 1) serves sim:nvme over loopback to updk's own initiator (updk-perf -r
# 'trtype:TCP ...' on core 0), 4 KiB random reads and writes at QD 32 and random reads at QD 1,
# in poll mode, interrupt mode, and interrupt mode with --idle-us 0 ("interrupt0": it sleeps as
# soon as a turn leaves nothing to do). For each row:
#   - system calls per I/O made by the poller thread, by call (perf stat on the syscall
#     tracepoints of that thread alone: the model's thread and the main thread are not in it);
#   - its CPU time per I/O (/proc/PID/task/TID/stat: a loaded machine makes this noisy), and
#     the loop's turns per I/O (the target's report at exit);
#   - with --callgrind, a second run under valgrind --tool=callgrind, collecting only inside
#     poller_main(): instructions per I/O of the poller thread and the functions that take them
#     (valgrind slows the target ~50x, so a polling loop turns less often per I/O there than
#     outside; interrupt mode's counts do not depend on that).
#
#   test/bench/nvmf-cost.sh [--callgrind] [--modes "poll interrupt interrupt0"] [SECONDS]  (3)
#
# NVMF=path runs another build of updk-nvmf (a before/after pair: keep a copy of the "before"
# binary); NVMF_ARGS adds options (--idle-us 0). Figures to compare side by side, never a
# pass/fail.
set -eu
cd "$(dirname "$0")/../.."
cg=0
modes="poll interrupt interrupt0"
while [ $# -gt 0 ]; do
	case $1 in
	--callgrind) cg=1; shift ;;
	--modes) modes=$2; shift 2 ;;
	*) break ;;
	esac
done
secs=${1:-3}
tgt=${NVMF:-build/bin/updk-nvmf}
perf_bin=build/bin/updk-perf
NQN=nqn.2026-12.io.updk:cost
for b in "$tgt" "$perf_bin"; do
	[ -x "$b" ] || { echo "nvmf-cost: $b is missing: run make" >&2; exit 2; }
done
command -v perf >/dev/null || { echo "nvmf-cost: perf (linux-perf) is not installed" >&2; exit 2; }
[ $cg = 0 ] || command -v valgrind >/dev/null ||
	{ echo "nvmf-cost: valgrind is not installed" >&2; exit 2; }
tmp=$(mktemp -d /tmp/nvmf-cost.XXXXXX)
tpid=
cleanup() {
	[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# start_target MODE [WRAPPER...]: updk-nvmf on sim:nvme; sets tpid and port
start_target() {
	local mode=$1 opts
	shift
	case $mode in
	interrupt0) opts="--interrupt-mode --idle-us 0" ;;
	*) opts="--$mode-mode" ;;
	esac
	# shellcheck disable=SC2086
	"$@" "$tgt" --listen 127.0.0.1:0 -c 1 $opts ${NVMF_ARGS:-} --nqn "$NQN" 'sim:nvme?size=1G' \
		>"$tmp/t.out" 2>"$tmp/t.err" &
	tpid=$!
	for _ in $(seq 600); do grep -q ready "$tmp/t.out" && break; sleep 0.1; done
	grep -q ready "$tmp/t.out" || { cat "$tmp/t.err" >&2; exit 1; }
	port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/t.out")
}
stop_target() {
	kill -TERM "$tpid" && wait "$tpid" || true
	tpid=
}
# the poller thread of the target: nvmf-poller0, or in a build that did not name it, the
# thread other than the main one that kept the process's name (the model's has its own)
poller_tid() {
	local t
	for t in /proc/"$tpid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = nvmf-poller0 ] && { echo "${t##*/}"; return; }
	done
	for t in /proc/"$tpid"/task/*; do
		[ "${t##*/}" != "$tpid" ] && [ "$(cat "$t/comm")" = "$(cat /proc/"$tpid"/comm)" ] &&
			{ echo "${t##*/}"; return; }
	done
	echo "nvmf-cost: no poller thread in updk-nvmf" >&2
	exit 1
}
run_perf() { # RW QD: the I/Os done
	"$perf_bin" -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$NQN ns:1" \
		-c '[0]' -q "$2" -o 4096 -w "$1" -t "$secs" --json --no-progress >"$tmp/p.json"
	json "d['total']['ios']" <"$tmp/p.json"
}
turns() { sed -n 's/.*poller 0 ([^)]*): \([0-9]*\) turns.*/\1/p' "$tmp/t.out"; }

calls="epoll_wait readv sendmsg read write epoll_ctl"
events="-e raw_syscalls:sys_enter"
for c in $calls; do events="$events -e syscalls:sys_enter_$c"; done
workloads="randread:32 randwrite:32 randread:1"

echo "| mode | workload | I/Os | syscalls/IO | $(echo $calls | sed 's/ / | /g') | CPU us/IO | turns/IO |"
echo "|---|---|---|---|$(for c in $calls; do printf -- '---|'; done)---|---|"
for mode in $modes; do
	for w in $workloads; do
		rw=${w%:*} qd=${w#*:}
		start_target "$mode"
		tid=$(poller_tid)
		c0=$(awk '{ print $14 + $15 }' /proc/"$tpid"/task/"$tid"/stat)
		# shellcheck disable=SC2086
		perf stat -x, -o "$tmp/s.csv" -t "$tid" $events 2>"$tmp/perf.err" &
		ppid=$!
		sleep 0.5 # perf has attached
		kill -0 $ppid 2>/dev/null ||
			{ echo "nvmf-cost: perf stat cannot count syscall tracepoints:" >&2; cat "$tmp/perf.err" >&2; exit 2; }
		ios=$(run_perf "$rw" "$qd")
		kill -INT $ppid
		wait $ppid || true
		c1=$(awk '{ print $14 + $15 }' /proc/"$tpid"/task/"$tid"/stat)
		stop_target
		python3 - "$tmp/s.csv" "$ios" "$mode" "$rw QD $qd" "$calls" "$(( c1 - c0 ))" "$hz" "$(turns)" <<-'EOF'
		import sys
		f, ios, mode, wl, calls, ticks, hz, turns = sys.argv[1:]
		ios = max(int(ios), 1)
		cnt = {}
		for line in open(f):
		    p = line.strip().split(",")
		    if len(p) > 2 and p[0].replace(".", "").isdigit():
		        cnt[p[2].split(":")[-1]] = int(float(p[0]))
		row = [mode, wl, str(ios), "%.2f" % (cnt.get("sys_enter", 0) / ios)]
		row += ["%.2f" % (cnt.get("sys_enter_" + c, 0) / ios) for c in calls.split()]
		row.append("%.1f" % (int(ticks) / int(hz) * 1e6 / ios))
		row.append("%.1f" % (int(turns or 0) / ios))
		print("| " + " | ".join(row) + " |")
		EOF
	done
done

[ $cg = 1 ] || exit 0
echo
echo "| mode | workload | I/Os | poller instructions/IO | the largest (self, per I/O) |"
echo "|---|---|---|---|---|"
for mode in $modes; do
	for w in $workloads; do
		rw=${w%:*} qd=${w#*:}
		start_target "$mode" valgrind --tool=callgrind --separate-threads=yes \
			--collect-atstart=no --toggle-collect=poller_main \
			--callgrind-out-file="$tmp/cg.%p"
		ios=$(run_perf "$rw" "$qd")
		stop_target
		# the thread file with poller_main's costs: the one with the largest total
		f=$(for g in "$tmp"/cg.*-*; do
			echo "$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$g" | head -1) $g"
		done | sort -n | tail -1 | cut -d' ' -f2)
		callgrind_annotate --inclusive=no --auto=no --threshold=100 "$f" 2>/dev/null |
			awk -v ios="$ios" -v mode="$mode" -v wl="$rw QD $qd" '
			/PROGRAM TOTALS/ { total = $1; gsub(",", "", total); next }
			/^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]+:/ {
				ir = $1; gsub(",", "", ir)
				fn = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", fn)
				sub(/ \[.*$/, "", fn); sub(/^.*:/, "", fn)
				if (n < 8) top = top sprintf("%s%s %.0f", n ? ", " : "", fn, ir / ios)
				n++
			}
			END { printf "| %s | %s | %d | %.0f | %s |\n", mode, wl, ios, total / ios, top }'
		rm -f "$tmp"/cg.*
	done
done
