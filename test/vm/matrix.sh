#!/bin/bash
# The real-VFIO ring on the other kernels and IOMMUs users have (make check-vm-matrix; CI runs
# it after make check-vm, which is the whole suite on Linux 6.1 with Intel VT-d). One guest boot
# per configuration, two vCPUs, a subset of the VM suites:
#
#   6.12 + AMD-Vi                                      the subset
#   6.12 + virtio-iommu                                the guest check and the refusals:
#                                                      iommu/guest_*, attach_*, second_group_*
#                                                      (without allow_unsafe_interrupts no updk
#                                                      program can open a device there)
#   6.12 + virtio-iommu + allow_unsafe_interrupts=1    the subset
#
# The subset: open and Identify compared with the kernel's (nvme_vm), a write read back by the
# kernel and the reverse (nvme_vm), updk-perf --verify over a namespace on two cores read back
# by the kernel (perf_vm), the NIC path on virtio-net both ways (virtio_net), and the iommu
# suite (the guest has the kernel and IOMMU asked for, the attach refusal or success, every
# mapped IOVA within what the kernel reports).
#
#   test/vm/matrix.sh [NAME...]    NAME: amd, virtio, virtio-unsafe (default: all three)
#
# Prints a line per configuration with its status and time; exits non-zero if one failed.
# UPDK_VM_TIMEOUT bounds each guest run (check.sh, default 600 s).
set -u

here=$(cd "$(dirname "$0")" && pwd)
subset='@(iommu/*|nvme_vm/identify_matches_kernel|nvme_vm/data_crosses_to_kernel_and_back'
subset+='|perf_vm/verify_then_kernel_reads_it|virtio_net/*_sends_*_receives_in_order)'
refusal='iommu/@(guest_has_the_kernel_and_iommu_asked_for|attach_refused_or_works_as_the_platform_says'
refusal+='|second_group_refused_as_the_platform_says)'

# NAME: kernel, IOMMU, allow_unsafe_interrupts, the number of tests the filter selects (a test
# renamed away from the filter fails the run instead of vanishing from it), filter
config() {
    case $1 in
        amd) echo "6.12 amd 0 9 $subset" ;;
        virtio) echo "6.12 virtio 0 3 $refusal" ;;
        virtio-unsafe) echo "6.12 virtio 1 9 $subset" ;;
        *) return 1 ;;
    esac
}

[ $# -gt 0 ] || set -- amd virtio virtio-unsafe
for name in "$@"; do
    config "$name" >/dev/null || { echo "matrix.sh: unknown configuration '$name' (amd, virtio, virtio-unsafe)" >&2; exit 2; }
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
failed=() summary=()
for name in "$@"; do
    read -r kernel iommu unsafe tests filter <<< "$(config "$name")"
    echo "matrix: $name: Linux $kernel, --iommu $iommu, allow_unsafe_interrupts=$unsafe" >&2
    start=$(date +%s)
    UPDK_VM_KERNEL=$kernel UPDK_VM_IOMMU=$iommu UPDK_VM_UNSAFE_INTERRUPTS=$unsafe UPDK_VM_SMP=2 \
        "$here/check.sh" --filter "$filter" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    ran=$(sed -n 's/.*Synthesis: Tested: \([0-9]*\) .*/\1/p' "$out")
    if [ $rc = 0 ] && [ "$ran" != "$tests" ]; then
        echo "matrix: $name ran ${ran:-no} tests, $tests expected: a test left the filter?" >&2
        rc=1
    fi
    line="$name (Linux $kernel, $iommu, allow_unsafe_interrupts=$unsafe): $([ $rc = 0 ] && echo "ok, $ran tests" || echo "FAILED ($rc)") in $(($(date +%s) - start)) s"
    summary+=("$line")
    [ $rc = 0 ] || failed+=("$name")
done
printf 'matrix: %s\n' "${summary[@]}"
[ ${#failed[@]} = 0 ]
