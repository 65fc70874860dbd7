#!/bin/bash
# updk-nvme against QEMU's NVMe controller, with the guest kernel's nvme driver and nvme-cli as the
# second opinion on the same controller (run inside the test guest by test/vm/nvme_tool.c):
# - id-ctrl and id-ns fields in `-o json` equal nvme-cli's for the same controller;
# - data the kernel wrote reads back identical through updk-nvme, and data updk-nvme wrote (an
#   unaligned length, and a transfer above MDTS) reads back identical through the kernel.
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."
T=build/bin/updk-nvme
dev=${UPDK_VM_NVME:?run inside the test guest (make check-vm)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. test/vm/check_lib.sh
kernel() { scripts/setup.sh unbind "$dev" >/dev/null; }
updk() { scripts/setup.sh bind "$dev" >/dev/null; }
blockdev() { # the kernel's namespace 1 block device of $dev
	local c
	for c in /sys/bus/pci/devices/"$dev"/nvme/nvme*; do echo "/dev/${c##*/}n1"; return; done
}
ctrldev() { local c; for c in /sys/bus/pci/devices/"$dev"/nvme/nvme*; do echo "/dev/${c##*/}"; done; }
# Same value for each field in two JSON objects (strings compared without padding).
same_fields() { # FILE_A FILE_B FIELD...
	python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
bad = []
for k in sys.argv[3:]:
    if k not in a or k not in b:
        bad.append(f"{k}: missing from {'updk' if k not in a else 'nvme-cli'}")
        continue
    va, vb = a[k], b[k]
    if isinstance(va, str) and isinstance(vb, str):
        va, vb = va.strip(), vb.strip()
    if va != vb:
        bad.append(f"{k}: updk {va!r} kernel {vb!r}")
print("\n".join(bad) or "all equal")
sys.exit(1 if bad else 0)
PY
}

kernel
blk=$(blockdev)
nvme id-ctrl "$(ctrldev)" -o json >"$tmp/k-ctrl.json"
nvme id-ns "$(ctrldev)" -n 1 -o json >"$tmp/k-ns.json"
# The kernel writes 64 KiB at byte 1 MiB (LBA 2048 of 512-byte blocks).
head -c 65536 /dev/urandom >"$tmp/kdata"
dd if="$tmp/kdata" of="$blk" bs=4096 seek=256 oflag=direct conv=notrunc status=none
sync

updk
$T id-ctrl "$dev" -o json >"$tmp/u-ctrl.json"
$T id-ns "$dev" -n 1 -o json >"$tmp/u-ns.json"
check "id-ctrl fields equal nvme-cli's" same_fields "$tmp/u-ctrl.json" "$tmp/k-ctrl.json" \
	vid ssvid sn mn fr rab ieee cmic mdts cntlid ver oaes ctratt oacs acl aerl frmw lpa elpe \
	npss sqes cqes nn oncs fuses fna vwc awun awupf sgls subnqn
check "id-ns fields equal nvme-cli's" same_fields "$tmp/u-ns.json" "$tmp/k-ns.json" \
	nsze ncap nuse nsfeat nlbaf flbas mc dpc dps nmic nawun noiob
check "kernel's write reads back through updk-nvme" \
	bash -c "$T read $dev -s 2048 -c 127 -z 65536 -d $tmp/udata && cmp $tmp/kdata $tmp/udata"
# updk-nvme writes 12345 bytes (25 blocks, the last one partly zero-padded) at LBA 4096, and
# 640 KiB (above QEMU's 512 KiB MDTS: split into children) at LBA 8192.
head -c 12345 /dev/urandom >"$tmp/w1"
head -c 655360 /dev/urandom >"$tmp/w2"
check "updk-nvme write, unaligned length" $T write "$dev" -s 4096 -c 24 -z 12345 -d "$tmp/w1"
check "updk-nvme write above MDTS" $T write "$dev" -s 8192 -c 1279 -z 655360 -d "$tmp/w2"
check "updk-nvme compare of what it wrote" $T compare "$dev" -s 8192 -c 1279 -z 655360 -d "$tmp/w2"
check "smart-log counts the writes" bash -c "$T smart-log $dev -o json | grep -q '\"host_write_commands\":[1-9]'"

kernel
blk=$(blockdev)
check "kernel reads updk's unaligned write" \
	bash -c "dd if=$blk bs=512 skip=4096 count=25 iflag=direct status=none | head -c 12345 | cmp - $tmp/w1"
check "kernel reads zero padding after it" \
	bash -c "dd if=$blk bs=1 skip=\$((4096 * 512 + 12345)) count=455 status=none | cmp - <(head -c 455 /dev/zero)"
check "kernel reads updk's write above MDTS" \
	bash -c "dd if=$blk bs=65536 skip=64 count=10 iflag=direct status=none | cmp - $tmp/w2"
checks_done
