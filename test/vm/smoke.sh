#!/bin/bash
# Self-test of the real-VFIO test bed: boots the guest once (test/vm/run.sh),
# runs test/vm/smoke-guest.sh there, then checks on the host what run.sh
# promises (exit status, separate stderr, dmesg saved).  UPDK_VM_KERNEL and
# UPDK_VM_IOMMU choose the guest, as for run.sh.
# Prints "N passed, N failed"; exits non-zero if anything failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${UPDK_VM_BUILD:-$root/build/vm}
cd "$root"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
set +e
UPDK_SMOKE_PASSTHROUGH=yes "$here/run.sh" --timeout "${UPDK_VM_TIMEOUT:-300}" -- \
    test/vm/smoke-guest.sh \
    > >(tee "$tmp/stdout") 2> >(tee "$tmp/stderr" >&2)
rc=$?
set -e
wait    # for the tee processes
secs=$(( $(date +%s) - start ))

pass=$(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$tmp/stdout")
fail=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$tmp/stdout")
if [ -z "$pass" ]; then
    echo "smoke: the guest did not report (run.sh exit $rc)"
    echo "0 passed, 1 failed"
    exit 1
fi

# The host's view of the same run.
hcheck() { if "${@:2}"; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
hcheck "run.sh exits with the command's status ($rc)" test "$rc" = "$fail"
hcheck "the command's stderr arrives on stderr" grep -q "this line goes to stderr" "$tmp/stderr"
hcheck "... and not on stdout" test -z "$(grep "this line goes to stderr" "$tmp/stdout")"
hcheck "guest dmesg saved in build/vm/last-dmesg.txt" grep -q "Kernel command line: console=ttyS0" "$out/last-dmesg.txt"
hcheck "no QEMU left running from this checkout" \
    test -z "$(pgrep -f "qemu-system-x86_64.*$out/runs/" || true)"
echo "smoke: ${secs}s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
