#!/bin/bash
# The fio engine's model ring (make check-fio): fio itself, with build/lib/fio_updk.so, on the
# simulated controller.
# - random read/write with crc32c verify, four job threads on one controller: no error, and
#   every job read back what it wrote; a second fio run checking the same blocks on a fresh
#   controller fails its verify (so the first run's verify was real);
# - teardown: between job groups the fio process holds the same descriptors, hugepage and VFIO
#   mappings and threads as before the engine's jobs ran; the controller is shut down (CC.SHN)
#   once per open, also when fio is interrupted with jobs still waiting to start;
# - when commit writes the SQ doorbell (commit_ring=), counted by the driver;
# - bad input: fio's usual error with the engine's reason, and no crash.
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
engine=$PWD/build/lib/fio_updk.so
[ -f "$engine" ] || { echo "check.sh: $engine is missing: ./configure --with-fio; make" >&2; exit 2; }
command -v fio >/dev/null || { echo "check.sh: fio is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source test/vm/check_lib.sh
# fio with the engine, in $tmp (fio leaves verify state and exec_prerun output files where it
# runs); symbols bound at load, so a missing one fails the load and not a job.
ufio() { (cd "$tmp" && exec env LD_BIND_NOW=1 UPDK_LOG=debug fio --thread \
	--ioengine=external:"$engine" "$@"); }
# No signal killed fio (status 128+N; 128 is its own after SIGINT), and it said the words given.
said() { # STATUS FILE PATTERN...
	local st=$1 f=$2 p
	shift 2
	[ "$st" -le 128 ] || { echo "fio ended with status $st (a signal)"; cat "$f"; return 1; }
	for p in "$@"; do grep -q -- "$p" "$f" || { echo "no '$p' in:"; cat "$f"; return 1; }; done
}
# Every job's error 0 and, per job, at least as many bytes read as written (the verify pass).
jobs_clean() { # JSON
	python3 - "$1" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
d = json.loads(t[t.index("\n{") + 1 if not t.startswith("{") else 0:])  # after fio's notes
bad = []
for j in d["jobs"]:
    r, w = j["read"]["io_bytes"], j["write"]["io_bytes"]
    if j["error"]:
        bad.append(f"{j['jobname']}: error {j['error']}")
    if j["jobname"] == "io" and (w == 0 or r < w):
        bad.append(f"{j['jobname']}: wrote {w} bytes, read back {r}")
print("\n".join(bad) or f"{len(d['jobs'])} jobs clean")
sys.exit(1 if bad else 0)
PY
}
# As many controller shutdowns as opens, and at least one.
closed_as_opened() { # LOG
	local opened closed
	opened=$(grep -c 'updk nvme: sim:nvme: .*namespace' "$1")
	closed=$(grep -c 'updk nvme: sim:nvme: shutdown complete' "$1")
	[ "$opened" -ge 1 ] && [ "$opened" = "$closed" ] ||
		{ echo "opened $opened times, shut down $closed times"; cat "$1"; return 1; }
}

# --- data and teardown ----------------------------------------------------------------------
# Groups run one after another (stonewall); with create_serialize=0 each job opens its files in
# its own thread, so "warm" opens and closes the controller once (lib/mem keeps one empty chunk
# of DMA memory for later), "before" takes the first snapshot, "io" runs, "after" takes the
# second.
cat >"$tmp/verify.fio" <<EOF
[global]
thread=1
create_serialize=0
ioengine=external:$engine
filename=sim.nvme
bs=4k
[warm]
rw=write
size=256k
[before]
stonewall
ioengine=null
size=4k
exec_prerun=$PWD/test/fio/held.sh $tmp/before
[io]
stonewall
rw=randrw
iodepth=16
numjobs=4
size=4m
offset_increment=4m
verify=crc32c
do_verify=1
[after]
stonewall
ioengine=null
size=4k
exec_prerun=$PWD/test/fio/held.sh $tmp/after
EOF
(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug fio --output-format=json verify.fio >verify.json \
	2>verify.err)
st=$?
check "randrw, crc32c verify, 4 threads on sim.nvme: fio exits 0" test "$st" = 0
check "... every job clean, each read back what it wrote" jobs_clean "$tmp/verify.json"
check "... the controller shut down once per open" closed_as_opened "$tmp/verify.err"
check "... teardown leaves no descriptor, mapping or thread behind" \
	diff "$tmp/before" "$tmp/after"
# The engine's thread-locals (lib/mem's translation cache, read in every submission) at a fixed
# offset: glibc found room for them in the static TLS it keeps for dlopen()ed objects
# (plugins/fio/engine.mk); a larger thread-local in the library would not fit, and this says so.
tls_static() { # LOG: N job threads said so, none the other
	[ "$(grep -c 'thread-locals in static TLS' "$1")" -ge "$2" ] &&
		! grep -q 'thread-locals in dynamic TLS' "$1" || { grep 'thread-locals' "$1"; return 1; }
}
check "... every job's thread-locals in static TLS" tls_static "$tmp/verify.err" 5
# The same blocks on a fresh controller (a new process, a new sim:nvme) hold zeroes.
ufio --name=io --filename=sim.nvme --rw=randrw --bs=4k --size=4m --verify=crc32c \
	--verify_only=1 --output-format=json >"$tmp/fresh.json" 2>"$tmp/fresh.err"
check "verify of those blocks on a fresh controller fails (the verify is real)" \
	said $? "$tmp/fresh.err" "verify: bad magic header"

# With no static TLS to spare, glibc puts them in dynamic TLS: slower, and as correct.
(export GLIBC_TUNABLES=glibc.rtld.optional_static_tls=0
	ufio --name=io --filename=sim.nvme --rw=randrw --bs=4k --iodepth=8 --numjobs=2 --size=1m \
		--offset_increment=1m --verify=crc32c --do_verify=1 --output-format=json \
		>"$tmp/dyn.json" 2>"$tmp/dyn.err")
check "no static TLS to spare: randrw, crc32c verify, 2 threads: fio exits 0" \
	bash -c '[ "$0" = 0 ] || { cat "$1"; exit 1; }' $? "$tmp/dyn.err"
check "... every job clean, each read back what it wrote" jobs_clean "$tmp/dyn.json"
check "... the jobs' thread-locals in dynamic TLS" \
	test "$(grep -c 'thread-locals in dynamic TLS' "$tmp/dyn.err")" = 2

# --- interrupt_mode=1 ------------------------------------------------------------------------
# The jobs sleep in getevents while their qpairs are idle (each completion 0..300 µs late), and
# the controller's MSI-X vectors wake them: each job slept, and interrupts ended its sleeps
# (the 10 ms timeout would end them too, so that count is the one that matters).
ufio --name=io --filename='sim.nvme?jitter_us=300' --interrupt_mode=1 --rw=randrw --bs=4k \
	--iodepth=4 --numjobs=2 --size=1m --offset_increment=1m --verify=crc32c --do_verify=1 \
	--output-format=json >"$tmp/intr.json" 2>"$tmp/intr.err"
check "interrupt_mode=1: randrw, crc32c verify, 2 threads: fio exits 0" \
	bash -c '[ "$0" = 0 ] || { cat "$1"; exit 1; }' $? "$tmp/intr.err"
check "... every job clean, each read back what it wrote" jobs_clean "$tmp/intr.json"
woken() { # LOG: two jobs, each woken by an interrupt at least once
	[ "$(grep -Ec 'slept [1-9][0-9]* times in getevents, [1-9][0-9]* of them ended by an interrupt' "$1")" = 2 ] ||
		{ grep "slept" "$1"; return 1; }
}
check "... each job slept in getevents and its interrupt woke it" woken "$tmp/intr.err"
check "... the controller shut down once per open" closed_as_opened "$tmp/intr.err"

# --- commit_ring ----------------------------------------------------------------------------
# fio waits for all 8 completions (iodepth_batch_complete_min=8), then queues the next 8 one by
# one, committing each. By default commit does not ring: the next getevents' poll does, once for
# all 8; commit_ring=4 rings once 4 wait, twice per 8 commands; commit_ring=1 at every commit.
# MMIO doorbells (shadow_doorbell=0), counted by the driver.
sq_per_cmd() { # EXPECTED LOG
	grep -q "job ring on sim:nvme: 256 commands, .*(SQ $1," "$2" || { grep "commands" "$2"; return 1; }
}
while read -r cr want; do
	ufio --name=ring --filename=sim.nvme --shadow_doorbell=0 --rw=randread --bs=4k --size=1m \
		--iodepth=8 --iodepth_batch_complete_min=8 --commit_ring="$cr" --output-format=terse \
		</dev/null >/dev/null 2>"$tmp/ring.err"
	check "commit_ring=$cr at iodepth 8, fio committing each I/O: $want SQ doorbells per command" \
		sq_per_cmd "$want" "$tmp/ring.err"
done <<<"0 0.125
4 0.250
1 1.000"

# --- interrupted ----------------------------------------------------------------------------
# Two jobs running, a third waiting for them: fio set all three up (create_serialize), only two
# run and clean up, so the engine's exit hook closes what the third held.
# (as ufio does, but so that $! is fio itself, which the signal must reach)
(cd "$tmp" && exec env LD_BIND_NOW=1 UPDK_LOG=debug fio --thread --ioengine=external:"$engine" \
	--name=long --filename=sim.nvme --rw=randread --bs=4k --iodepth=8 --numjobs=2 \
	--time_based=1 --runtime=120 --name=later --stonewall --filename=sim.nvme --rw=read \
	--size=1m >"$tmp/int.out" 2>"$tmp/int.err") &
fpid=$!
# Bounds for a machine under any load: each wait ends as soon as what it waits for is there.
for _ in $(seq 1200); do
	grep -q "namespace" "$tmp/int.err" 2>/dev/null && break
	sleep 0.1
done
sleep 1
kill -INT $fpid
for _ in $(seq 1200); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
if kill -0 $fpid 2>/dev/null; then
	echo "fio did not end within 120 s of SIGINT" >>"$tmp/int.err"
	kill -KILL $fpid
fi
wait $fpid
st=$?
check "SIGINT: fio ends without a crash" said "$st" "$tmp/int.out" "terminating on signal 2"
check "... the controller is shut down, jobs that never ran included" \
	closed_as_opened "$tmp/int.err"

# --- bad input ------------------------------------------------------------------------------
bad() { # NAME EXPECTED-WORDS... -- FIO-ARGS...
	local name=$1 words=()
	shift
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	ufio --name=bad --rw=read --bs=4k --size=1m "$@" >"$tmp/bad.out" 2>&1
	local st=$?
	check "$name: fio fails, says why, no crash" \
		bash -c '[ "$0" != 0 ] || { echo "fio exited 0"; exit 1; }' $st
	[ $st = 0 ] || check "... $name: the words" said $st "$tmp/bad.out" "${words[@]}"
}
bad "a file name that is no address" "fio_updk: bad: 'traddr=zz.00.0': 'zz.00.0' is neither" \
	"err=22" -- --filename='traddr=zz.00.0'
bad "an unknown key" "unknown key 'port'" "err=22" -- --filename='sim.nvme port=1'
bad "a PCI function that is not there" "fio_updk: bad: cannot open 0000:7f:1f.7" "updk" \
	"err=" -- --filename='trtype=PCIe traddr=0000.7f.1f.7 ns=1'
bad "a sim option the model does not know" "bogus" "cannot open sim:nvme?bogus=1" -- \
	--filename='sim.nvme?bogus=1'
bad "a namespace the controller lacks" "has no active namespace 7" "err=19" -- \
	--filename='sim.nvme ns=7'
bad "a block size that is not whole sectors" "not a multiple of its 4096-byte sectors" \
	"err=22" -- --filename='sim.nvme?lba=4096' --bs=512
bad "processes instead of threads" "needs thread=1" "err=22" -- --thread=0 --filename=sim.nvme
bad "qpair_depth above the controller's limit" "no qpair of depth 100" "MQES" "err=22" -- \
	--filename='sim.nvme?mqes=63' --qpair_depth=100
bad "an engine option fio does not know" "unrecognized option" -- --filename=sim.nvme \
	--no_such_option=1
bad "an engine option out of its range" "qpair_depth" -- --filename=sim.nvme --qpair_depth=70000
bad "commit_ring out of its range" "commit_ring" -- --filename=sim.nvme --commit_ring=70000
bad "shadow_doorbell differing between jobs on one controller" "give every job on one" \
	-- --filename=sim.nvme --name=second --filename=sim.nvme --shadow_doorbell=0
bad "interrupt_mode differing between jobs on one controller" "interrupt_mode=1: give every" \
	-- --filename=sim.nvme --interrupt_mode=1 --name=second --filename=sim.nvme
bad "interrupt_mode on a function without interrupts" "offers no interrupts" \
	"cannot open sim:nvme?msix=0,intx=0" -- --filename='sim.nvme?msix=0,intx=0' --interrupt_mode=1
bad "interrupt_mode on a function with one vector" "has a single interrupt vector" \
	"interrupt_mode=0" -- --filename='sim.nvme?msix=0' --interrupt_mode=1

# --- installed --------------------------------------------------------------------------------
# make install puts the engine in PREFIX/lib, with `updk` beside it: fio dlopen()s the name an
# ioengine= gives, found on the library path.
${MAKE:-make} -s install DESTDIR= PREFIX="$tmp/prefix" >"$tmp/install.out" 2>&1 &&
	(cd "$tmp" && LD_LIBRARY_PATH="$tmp/prefix/lib" fio --thread --ioengine=updk \
		--name=inst --filename=sim.nvme --rw=write --bs=4k --size=1m --verify=crc32c \
		--output-format=json >inst.json 2>>install.out)
check "make install; fio --ioengine=updk with LD_LIBRARY_PATH=PREFIX/lib" \
	bash -c '[ "$0" = 0 ] || { cat "$1"; exit 1; }' $? "$tmp/install.out"

checks_done
