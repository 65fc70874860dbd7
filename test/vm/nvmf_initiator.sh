#!/bin/bash
# updk's NVMe/TCP initiator against the guest kernel's own target, nvmet-tcp, configured through
# configfs over a file (run inside the test guest by test/vm/nvmf.c):
# - `updk-nvme discover` lists the subsystem; `updk-nvme id-ctrl` reaches it;
# - what the kernel wrote into the file reads back through updk's initiator, and what updk wrote
#   through it is in the file;
# - updk-perf --verify (randrw, QD 32, header and data digests) with no mismatch and no error;
# - the target's port removed under updk-perf: the run ends with its I/Os failed, not hung.
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
NQN=nqn.2026-12.io.linux:vm-initiator
PORT=4421
CFG=/sys/kernel/config/nvmet
tmp=$(mktemp -d)
cleanup() {
	rm -f "$CFG/ports/2/subsystems/$NQN" 2>/dev/null
	rmdir "$CFG/subsystems/$NQN/namespaces/1" "$CFG/subsystems/$NQN" "$CFG/ports/2" 2>/dev/null
	umount "$tmp/fs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. test/vm/check_lib.sh
TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN"

# nvmet-tcp serving a 64 MiB file through the page cache (buffered_io: tmpfs has no O_DIRECT).
# The file is on a tmpfs of its own: on the guest's overlay root its block size reads 0, which
# nvmet would serve as an LBA size of 2^0. Its blocks are 4 KiB (the tmpfs page).
img=$tmp/fs/ns.img
nvmet_up() {
	modprobe nvmet && modprobe nvmet-tcp || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || return 1
	mkdir "$tmp/fs" && mount -t tmpfs -o size=80m tmpfs "$tmp/fs" && truncate -s 64M "$img" &&
		mkdir "$CFG/subsystems/$NQN" &&
		echo 1 >"$CFG/subsystems/$NQN/attr_allow_any_host" &&
		mkdir "$CFG/subsystems/$NQN/namespaces/1" &&
		echo "$img" >"$CFG/subsystems/$NQN/namespaces/1/device_path" &&
		echo 1 >"$CFG/subsystems/$NQN/namespaces/1/buffered_io" &&
		echo 1 >"$CFG/subsystems/$NQN/namespaces/1/enable" &&
		mkdir "$CFG/ports/2" &&
		echo tcp >"$CFG/ports/2/addr_trtype" && echo ipv4 >"$CFG/ports/2/addr_adrfam" &&
		echo 127.0.0.1 >"$CFG/ports/2/addr_traddr" && echo $PORT >"$CFG/ports/2/addr_trsvcid" &&
		ln -s "$CFG/subsystems/$NQN" "$CFG/ports/2/subsystems/$NQN"
}

check "nvmet-tcp serves a file on 127.0.0.1:$PORT" nvmet_up
check "updk-nvme discover lists the subsystem" bash -c "
	build/bin/updk-nvme discover -t tcp -a 127.0.0.1 -s $PORT >$tmp/disc &&
	grep -q '^subnqn: *$NQN\$' $tmp/disc && grep -q '^trsvcid: *$PORT\$' $tmp/disc ||
	{ cat $tmp/disc; false; }"
check "updk-nvme id-ctrl: the kernel's controller" bash -c "
	build/bin/updk-nvme id-ctrl '$TRID' >$tmp/id && grep -q '^subnqn *: *$NQN' $tmp/id &&
	grep -q '^cntrltype *: *0x1' $tmp/id || { cat $tmp/id; false; }"
head -c 1048576 /dev/urandom >"$tmp/kdata"
dd if="$tmp/kdata" of="$img" bs=65536 seek=128 conv=notrunc status=none
check "what the kernel wrote reads back through updk" bash -c "
	build/bin/updk-nvme read '$TRID' -s 2048 -c 255 -z 1048576 >$tmp/u1 && cmp $tmp/kdata $tmp/u1"
head -c 1048576 /dev/urandom >"$tmp/udata"
check "updk writes 1 MiB through nvmet-tcp" build/bin/updk-nvme write "$TRID" -s 4096 -c 255 \
	-d "$tmp/udata"
check "what updk wrote is in the file" bash -c "
	dd if=$img of=$tmp/k2 bs=65536 skip=256 count=16 status=none && cmp $tmp/udata $tmp/k2"
check "updk-perf --verify, QD 32, digests" bash -c "
	build/bin/updk-perf -r '$TRID ns:1' -H -I -q 32 -o 4096 -w randrw -t 5 --verify --json \
		--no-progress >$tmp/perf.json &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d[\"total\"]; \
		sys.exit(0 if t[\"ios\"] > 0 and t[\"errors\"] == 0 and t[\"verify_mismatches\"] == 0 else 1)' \
		$tmp/perf.json || { cat $tmp/perf.json; false; }"
# The port goes away with updk-perf running (-t 60): its connections drop, the controller cannot
# be reached again, and the run ends well before its time with status 1, saying why.
build/bin/updk-perf -r "$TRID ns:1" -q 16 -w randread -t 60 --no-progress >"$tmp/p2.out" 2>"$tmp/p2.err" &
ppid=$!
sleep 3
rm -f "$CFG/ports/2/subsystems/$NQN"
rmdir "$CFG/ports/2"
end_of_perf() {
	local rc
	for _ in $(seq 300); do kill -0 $ppid 2>/dev/null || break; sleep 0.1; done
	kill -0 $ppid 2>/dev/null && { kill -9 $ppid; echo "still running 30 s after"; return 1; }
	wait $ppid
	rc=$?
	cat "$tmp/p2.err"
	[ $rc = 1 ] && grep -q 'connection' "$tmp/p2.err"
}
check "the target gone: updk-perf ends, status 1, the loss logged" end_of_perf
checks_done
