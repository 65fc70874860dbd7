#!/bin/bash
# The fio engine on QEMU's NVMe controller through vfio-pci, and the guest kernel's nvme driver as
# the second opinion (run inside the test guest by test/vm/fio_vm.c):
# - fio with build/lib/fio_updk.so: random read/write with crc32c verify, two job threads on one
#   controller, no error; then a job with interrupt_mode=1 that QEMU's MSI-X wakes; between job groups the process holds the same descriptors, hugepage
#   and VFIO mappings and threads as before the engine's jobs ran; the controller shut down
#   (CC.SHN) once per open;
# - then the kernel's nvme driver: the same job with --verify_only through /dev/nvmeXnY finds
#   every block as updk wrote it, both runs';
# - the function bound to nvme, not vfio-pci: fio's error with updk's reason.
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
engine=$root/build/lib/fio_updk.so
dev=${UPDK_VM_NVME:?run inside the test guest (make check-vm)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source test/vm/check_lib.sh
source test/common/kernel_nvme.sh
no_errors() { # FIO-OUTPUT: every job err=0, and at least one job
	grep -q "err= 0" "$1" && ! grep -q "err=[1-9]" "$1" || { cat "$1"; return 1; }
}

# The job file both drivers run. fio seeds each job's offsets and data from its place in the file,
# so the kernel's --verify_only pass runs the same file: "warm" opens and closes the controller
# once (lib/vfio and lib/mem keep what they keep for later), "before" and "after" take the
# snapshots around "vio" (with the engine; exec_prerun only there).
jobfile() { # ENGINE FILENAME VIO-OPTIONS PRERUN(y/n)
	local pre=
	[ "$4" = y ] && pre="exec_prerun=$root/test/fio/held.sh $tmp/"
	cat <<EOF
[global]
thread=1
create_serialize=0
ioengine=$1
filename=$2
bs=4k
[warm]
rw=read
size=128k
[before]
stonewall
ioengine=null
size=4k
${pre:+${pre}before}
[vio]
stonewall
rw=randrw
size=1m
offset_increment=1m
numjobs=2
iodepth=16
verify=crc32c
verify_state_save=0
$3
[after]
stonewall
ioengine=null
size=4k
${pre:+${pre}after}
EOF
}
name="trtype=PCIe traddr=${dev//:/.} ns=1"
# interrupt_mode=1 in a fio run of its own (all jobs on a controller share its mode), on the
# range after vio's; one job, so its seeds are those of the kernel's run of the same options.
vintr=(--name=vintr --rw=randrw --bs=4k --size=1m --offset=2m --iodepth=8 --verify=crc32c
	--verify_state_save=0)

scripts/setup.sh bind "$dev" >/dev/null
jobfile "external:$engine" "$name" do_verify=1 y >"$tmp/vio.fio"
(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug fio vio.fio >updk.out 2>updk.err)
check "updk engine on $dev: randrw, crc32c verify, 2 threads: fio exits 0" \
	bash -c '[ "$0" = 0 ] || { cat "$1" "$2"; exit 1; }' $? "$tmp/updk.out" "$tmp/updk.err"
check "... no job with an error" no_errors "$tmp/updk.out"
opened=$(grep -c "updk nvme: $dev: .*namespace" "$tmp/updk.err")
closed=$(grep -c "updk nvme: $dev: shutdown complete" "$tmp/updk.err")
check "... the controller shut down once per open ($opened opened, $closed shut down)" \
	test "$opened" -ge 1 -a "$opened" = "$closed"
check "... teardown leaves no descriptor, mapping or thread behind" \
	diff "$tmp/before" "$tmp/after"
(cd "$tmp" && LD_BIND_NOW=1 UPDK_LOG=debug fio --thread --ioengine=external:"$engine" \
	--filename="$name" --interrupt_mode=1 --do_verify=1 "${vintr[@]}" >intr.out 2>intr.err)
check "updk engine, interrupt_mode=1: randrw, crc32c verify: fio exits 0, no error" \
	bash -c '[ "$0" = 0 ] && grep -q "err= 0" "$1" || { cat "$1" "$2"; exit 1; }' $? \
	"$tmp/intr.out" "$tmp/intr.err"
check "... the job slept in getevents, and the controller's interrupt woke it" \
	grep -Eq 'job vintr: slept [1-9][0-9]* times in getevents, [1-9][0-9]* of them ended by an interrupt' \
	"$tmp/intr.err"

scripts/setup.sh unbind "$dev" >/dev/null
blk=$(kernel_nvme_blockdev "$dev")
check "the kernel's nvme driver has $dev back${blk:+ as $blk}" test -n "$blk"
jobfile psync "$blk" "verify_only=1
direct=1" n >"$tmp/kernel.fio"
(cd "$tmp" && fio kernel.fio >kernel.out 2>&1)
check "fio --verify_only through $blk: every block as updk wrote it" \
	bash -c '[ "$0" = 0 ] || { cat "$1"; exit 1; }' $? "$tmp/kernel.out"
check "... no job with an error" no_errors "$tmp/kernel.out"
# Not vacuous: fio's verify fails on a block that does not hold what the job wrote there (zeroes
# included: test/fio/check.sh shows it on a fresh controller), so what remains is that it read.
check "... which it read: 2 MiB" grep -q "READ: .*io=2048KiB" "$tmp/kernel.out"
(cd "$tmp" && fio --ioengine=psync --filename="$blk" --direct=1 --verify_only=1 "${vintr[@]}" \
	>kintr.out 2>&1)
check "... and the 1 MiB the interrupt_mode=1 job wrote" \
	bash -c '[ "$0" = 0 ] && grep -q "err= 0" "$1" && grep -q "READ: .*io=1024KiB" "$1" ||
		{ cat "$1"; exit 1; }' $? "$tmp/kintr.out"
# The function still on nvme: updk refuses it and fio says so.
(cd "$tmp" && LD_BIND_NOW=1 fio --thread --ioengine=external:"$engine" --name=bound \
	--filename="$name" --rw=read --bs=4k --size=64k >bound.out 2>&1)
st=$?
check "bound to nvme: fio fails with updk's reason, no crash (status $st)" \
	bash -c '[ "$0" != 0 ] && [ "$0" -le 128 ] && grep -q "bound to nvme" "$1" &&
		grep -q "fio_updk: bound: cannot open" "$1" || { cat "$1"; exit 1; }' $st \
	"$tmp/bound.out"

checks_done
