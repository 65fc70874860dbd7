#!/bin/bash
# updk-nvme and updk-perf as an ordinary user, on QEMU's NVMe controller bound to vfio-pci (run
# inside the test guest by test/vm/nonroot.c, as root, which sets the stage):
# - with /dev/vfio/N chowned to the user, a hugetlbfs mount the user owns and a finite but
#   sufficient RLIMIT_MEMLOCK (prlimit), `updk-nvme id-ctrl` and a one-second `updk-perf` work
#   with no root and no capabilities, their DMA memory from the user's mount;
# - with a 64 KiB limit both refuse, saying RLIMIT_MEMLOCK is too low and what to raise it to;
# - with HUGETLB_PATH naming root's mount, the error names that mount and how to make one.
# Prints "ok"/"FAIL" lines and "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
N=build/bin/updk-nvme
P=build/bin/updk-perf
dev=${UPDK_VM_NVME:?run inside the test guest (make check-vm)}
user=updk-nonroot
tmp=$(mktemp -d)
huge=
vfio=
cleanup() {
	[ -n "$huge" ] && { umount "$huge"; rmdir "$huge"; }
	[ -n "$vfio" ] && chown 0:0 "$vfio"
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
verdict() { # verdict NAME STATUS: one line, and the output when it failed
	if [ "$2" = 0 ]; then
		echo "ok   $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1"
		sed 's/^/     /' "$tmp/out"
		fail=$((fail + 1))
	fi
}
# as_user MEMLOCK_BYTES COMMAND...: COMMAND as $user, no capabilities, that locked-memory limit.
as_user() {
	local lim=$1
	shift
	prlimit --memlock="$lim:$lim" -- setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		--inh-caps=-all --bounding-set=-all -- env UPDK_LOG=info "$@"
}
has() { grep -qF -- "$1" "$tmp/out"; } # has TEXT: in the last command's output

getent passwd "$user" >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
uid=$(id -u "$user")
gid=$(id -g "$user")
scripts/setup.sh bind "$dev" >/dev/null
group=$(readlink -f "/sys/bus/pci/devices/$dev/iommu_group")
vfio=/dev/vfio/${group##*/}
chown "$uid:$gid" "$vfio"
huge=$(mktemp -d /tmp/updk-huge.XXXXXX)
mount -t hugetlbfs -o "uid=$uid,gid=$gid,mode=0700,pagesize=2M" nodev "$huge"
enough=$((256 << 20))

as_user "$enough" sh -c 'id -u; grep CapEff /proc/self/status' >"$tmp/out" 2>&1
[ "$(head -n1 "$tmp/out")" = "$uid" ] && has "CapEff:	0000000000000000"
verdict "the commands run as uid $uid with no capabilities" $?

as_user "$enough" $N id-ctrl "$dev" -o json >"$tmp/out" 2>&1
st=$?
[ $st = 0 ] && has '"mn":"QEMU NVMe Ctrl' && has "hugepages from hugetlbfs mount $huge"
verdict "updk-nvme id-ctrl as $user, memlock 256 MiB, DMA memory from $huge" $?

as_user "$enough" $P -r "$dev" -q 8 -t 1 --no-progress --json >"$tmp/json" 2>"$tmp/out"
st=$?
cat "$tmp/json" >>"$tmp/out"
[ $st = 0 ] && python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
sys.exit(0 if t["ios"] > 0 and t["errors"] == 0 else 1)' "$tmp/json"
verdict "updk-perf -t 1 as $user: I/O done, no errors" $?

tiny() { # tiny COMMAND...: refused under a 64 KiB limit, saying so and what to do
	as_user $((64 << 10)) "$@" >"$tmp/out" 2>&1
	local st=$?
	[ $st = 1 ] && has "the locked-memory limit (RLIMIT_MEMLOCK) is 64 KiB" && has "ulimit -l"
	verdict "${1##*/} with memlock 64 KiB: exit 1 (got $st), says RLIMIT_MEMLOCK and ulimit -l" $?
}
tiny $N id-ctrl "$dev"
tiny $P -r "$dev" -q 8 -t 1 --no-progress

as_user "$enough" env HUGETLB_PATH=/dev/hugepages $N id-ctrl "$dev" >"$tmp/out" 2>&1
st=$?
[ $st = 1 ] &&
	has "cannot create a file in hugetlbfs mount /dev/hugepages (from HUGETLB_PATH): Permission denied" &&
	has "mount -t hugetlbfs -o uid=$uid,gid=$gid,pagesize=2M nodev DIR"
verdict "HUGETLB_PATH at root's mount: exit 1 (got $st), names the mount and how to make one" $?

echo "$pass passed, $fail failed"
[ $fail = 0 ]
