#!/bin/bash
# updk-nvmf serving QEMU's NVMe controller (bound to vfio-pci) to the guest kernel's own
# NVMe/TCP host over loopback, with nvme-cli (run inside the test guest by test/vm/nvmf.c):
# - `nvme discover` lists the subsystem; `nvme connect -t tcp` gives a block device whose
#   size and identity are the namespace's;
# - fio writes and verifies through it (random sizes 4 KiB..128 KiB, QD 16, with digests);
# - data written through the target is on the device (read by the kernel's PCIe driver after
#   the target stopped), and data the kernel's PCIe driver wrote reads back through the target;
# - `nvme disconnect`, then SIGTERM: the target exits 0;
# - the same with --interrupt-mode (fio --verify at QD 32, disconnect, exit 0, the poller on
#   the controller's vectors).
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
dev=${UPDK_VM_NVME:?run inside the test guest (make check-vm)}
NQN=nqn.2026-12.io.updk:vm-nvmf
PORT=4420
tmp=$(mktemp -d)
tpid=
cleanup() {
	nvme disconnect -n "$NQN" >/dev/null 2>&1
	[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null && wait "$tpid"
	rm -rf "$tmp"
}
trap cleanup EXIT
. test/vm/check_lib.sh
pcie_blockdev() { local c; for c in /sys/bus/pci/devices/"$dev"/nvme/nvme*; do echo "/dev/${c##*/}n1"; return; done; }
# The block device of namespace 1 of subsystem $NQN once it appears (with native multipath,
# the subsystem's head /dev/nvmeXn1, not the hidden per-path nvmeXcYn1).
tcp_blockdev() {
	local s n
	for _ in $(seq 100); do
		for s in /sys/class/nvme-subsystem/nvme-subsys*; do
			[ "$(cat "$s/subsysnqn" 2>/dev/null)" = "$NQN" ] || continue
			for n in "$s"/nvme*n1; do
				[ -b "/dev/${n##*/}" ] && { echo "/dev/${n##*/}"; return 0; }
			done
		done
		sleep 0.1
	done
	return 1
}
start_target() { # [OPTION...] for updk-nvmf
	build/bin/updk-nvmf --listen 127.0.0.1:$PORT "$@" --nqn "$NQN" "$dev" >"$tmp/tgt.out" 2>"$tmp/tgt.err" &
	tpid=$!
	for _ in $(seq 300); do grep -q ready "$tmp/tgt.out" 2>/dev/null && return 0; sleep 0.1; done
	cat "$tmp/tgt.err"
	return 1
}
stop_target() {
	kill -TERM "$tpid" && wait "$tpid"
	local rc=$?
	tpid=
	return $rc
}

modprobe nvme-tcp || { echo "FAIL modprobe nvme-tcp"; exit 1; }

# The kernel's PCIe driver writes 1 MiB at byte 8 MiB, to be read through the target.
scripts/setup.sh unbind "$dev" >/dev/null
head -c 1048576 /dev/urandom >"$tmp/kdata"
dd if="$tmp/kdata" of="$(pcie_blockdev)" bs=65536 seek=128 oflag=direct conv=notrunc status=none
scripts/setup.sh bind "$dev" >/dev/null

check "updk-nvmf serves the controller" start_target
check "nvme discover lists the subsystem" bash -c "
	nvme discover -t tcp -a 127.0.0.1 -s $PORT >$tmp/disc &&
	grep -q '^trtype: *tcp' $tmp/disc && grep -q '^subnqn: *$NQN' $tmp/disc &&
	grep -q '^trsvcid: *$PORT' $tmp/disc && grep -q '^traddr: *127.0.0.1' $tmp/disc ||
	{ cat $tmp/disc; false; }"
check "nvme connect -t tcp" nvme connect -t tcp -a 127.0.0.1 -s $PORT -n "$NQN" --hdr-digest --data-digest
blk=$(tcp_blockdev)
check "a block device appears, 64 MiB" bash -c "[ -n '$blk' ] && [ \$(blockdev --getsize64 $blk) = 67108864 ]"
check "what the PCIe driver wrote reads back through the target" bash -c "
	dd if=$blk of=$tmp/t1 bs=65536 skip=128 count=16 iflag=direct status=none && cmp $tmp/kdata $tmp/t1"
check "fio --verify through the target" fio --name=v --filename="$blk" --direct=1 --ioengine=libaio \
	--rw=randwrite --bsrange=4k-128k --iodepth=16 --size=16m --offset=16m --verify=crc32c \
	--verify_fatal=1 --do_verify=1 --output="$tmp/fio.txt"
head -c 1048576 /dev/urandom >"$tmp/tdata"
check "write 1 MiB through the target" dd if="$tmp/tdata" of="$blk" bs=65536 seek=512 oflag=direct conv=notrunc status=none
check "nvme disconnect" nvme disconnect -n "$NQN"
check "SIGTERM: updk-nvmf exits 0" stop_target
# Again with --interrupt-mode: the poller sleeps in epoll_wait() with commands in flight, woken
# by the controller's MSI-X vector (its qpair's eventfd) or the socket; 4 KiB writes at QD 32,
# then read back and verified, on a range the checks above and below do not use.
check "updk-nvmf --interrupt-mode serves the controller" start_target --interrupt-mode
check "nvme connect -t tcp, interrupt mode" nvme connect -t tcp -a 127.0.0.1 -s $PORT -n "$NQN"
blk=$(tcp_blockdev)
check "fio --verify through the target in interrupt mode" fio --name=vi --filename="$blk" \
	--direct=1 --ioengine=libaio --rw=randwrite --bs=4k --iodepth=32 --size=8m --offset=40m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --output="$tmp/fio2.txt"
check "nvme disconnect, interrupt mode" nvme disconnect -n "$NQN"
check "SIGTERM: updk-nvmf in interrupt mode exits 0" stop_target
check "its poller ran on the controller's interrupts" grep 'poller 0 (interrupts)' "$tmp/tgt.out"
grep 'poller 0' "$tmp/tgt.out" || true
# The kernel's PCIe driver reads what went through the target.
scripts/setup.sh unbind "$dev" >/dev/null
check "what went through the target is on the device" bash -c "
	dd if=$(pcie_blockdev) of=$tmp/k2 bs=65536 skip=512 count=16 iflag=direct status=none && cmp $tmp/tdata $tmp/k2"
checks_done
