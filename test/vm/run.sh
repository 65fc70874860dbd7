#!/bin/bash
# Run a command as root inside a QEMU guest that has a virtual IOMMU and the
# devices updk drives, in the host's own root filesystem (read-only, with
# a tmpfs on top) and in the same working directory.
#
#   test/vm/run.sh [options] -- COMMAND...
#
#   --timeout S      kill the guest after S seconds (default 300)
#   --mem M          guest memory, QEMU syntax (default 2G)
#   --smp N          guest CPUs (default 1: under TCG on a busy host, one
#                    vCPU boots ~30% faster than two)
#   --hugepages N    2 MiB pages reserved in the guest (default 256)
#   -e NAME[=VALUE]  pass NAME into the guest (UPDK_* are passed by default)
#   --rw DIR         make host folder DIR writable in the guest (same path)
#   --keep           keep the run folder (build/vm/runs/...) for inspection
#   --qemu ARG       append ARG to QEMU's command line (repeatable), e.g.
#                    --qemu -trace --qemu 'pci_nvme_mmio_doorbell*' --qemu -D --qemu FILE
#   --kernel SERIES  the guest's Debian kernel: 6.1 (bookworm, the default) or
#                    6.12 (bookworm-backports); test/vm/build-guest.sh
#   --iommu NAME     the guest's IOMMU: intel (VT-d, the default), amd
#                    (AMD-Vi) or virtio (virtio-iommu-pci at 00:03.0; 6.12
#                    only).  intel and amd remap interrupts, virtio does not
#   --unsafe-interrupts  vfio_iommu_type1.allow_unsafe_interrupts=1 on the
#                    guest's kernel command line (what virtio needs for VFIO)
#   UPDK_VM_SMP, UPDK_VM_MEM, UPDK_VM_KERNEL, UPDK_VM_IOMMU and
#   UPDK_VM_UNSAFE_INTERRUPTS=1 in the environment change the defaults;
#   UPDK_VM_IOEVENTFD=off turns ioeventfd off on 05.0 (below), for a pair.
#
# One COMMAND word is a shell command line (run by bash); several words are
# an argument vector, quoted as given.  The command's stdout and stderr are
# streamed to ours as it runs, and run.sh exits with its exit status.
# run.sh itself fails with 124 on timeout and 125 when the guest could not
# run the command (boot failure; see build/vm/last-console.txt).
# After every run the guest's kernel log is in build/vm/last-dmesg.txt.
#
# In the guest, before COMMAND: vfio-pci, vfio_iommu_type1, nvme, virtio_net,
# e1000e, e1000 loaded (every device on its kernel driver), hugepages
# reserved and hugetlbfs at /dev/hugepages, ulimit -l unlimited, and:
#   UPDK_VM_KERNEL=6.1|6.12, UPDK_VM_IOMMU=intel|amd|virtio  as chosen above
#   UPDK_VM_NVME=0000:00:04.0        NVMe, one 64 MiB namespace, fresh each run
#   UPDK_VM_NVME2=0000:00:05.0       NVMe, namespaces 1 (1 GiB), 2 (256 MiB), null
#   UPDK_VM_VIRTIO_NET=0000:00:06.0  virtio-net, modern, through the IOMMU
#   UPDK_VM_E1000E=0000:00:07.0      e1000e, on one hub with the virtio-net
#   UPDK_VM_VIRTIO_NET2=0000:00:09.0 a second such virtio-net on that hub
#   UPDK_VM_VIRTIO_NOIOMMU=0000:00:0c.0  virtio-net without iommu_platform
#                                    (refusal tests), alone on a second hub
#   UPDK_VM_VIRTIO_NOMSIX=0000:00:0f.0  virtio-net without MSI-X (vectors=0:
#                                    INTx only), alone on a third hub
#   UPDK_VM_VIRTIO_MQ=0000:00:0d.0   virtio-net with 4 queue pairs (mq=on) on a
#                                    host tap whose ingress is redirected to its
#                                    egress: each frame comes back on the queue
#                                    it was sent from.  Set only when run.sh
#                                    could make the tap (root, /dev/net/tun, tc).
#   UPDK_VM_BRIDGE=0000:00:08.0      conventional PCI bridge; behind it, one
#   UPDK_VM_BRIDGED=0000:01:01.0     IOMMU group (with the bridge): NVMe
#   UPDK_VM_BRIDGED_PEER=0000:01:02.0  (64 MiB null namespace) and e1000
# Each other function is alone in its IOMMU group.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${UPDK_VM_BUILD:-$root/build/vm}

timeout=300 mem=${UPDK_VM_MEM:-2G} smp=${UPDK_VM_SMP:-1} hugepages=256 keep=0
kernel=${UPDK_VM_KERNEL:-6.1} iommu=${UPDK_VM_IOMMU:-intel} unsafe_intr=${UPDK_VM_UNSAFE_INTERRUPTS:-0}
passenv=() rwdirs=() qemu_extra=()
usage() { sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --timeout|--mem|--smp|--hugepages|-e|--rw|--qemu|--kernel|--iommu)
            [ $# -ge 2 ] || { echo "run.sh: $1 needs a value" >&2; exit 2; } ;;
    esac
    case $1 in
        --timeout) timeout=$2; shift 2 ;;
        --mem) mem=$2; shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        --hugepages) hugepages=$2; shift 2 ;;
        -e) passenv+=("$2"); shift 2 ;;
        --rw) rwdirs+=("$(cd "$2" && pwd)"); shift 2 ;;
        --keep) keep=1; shift ;;
        --qemu) qemu_extra+=("$2"); shift 2 ;;
        --kernel) kernel=$2; shift 2 ;;
        --iommu) iommu=$2; shift 2 ;;
        --unsafe-interrupts) unsafe_intr=1; shift ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        *) echo "run.sh: unknown option $1" >&2; usage ;;
    esac
done
[ $# -gt 0 ] || { echo "run.sh: no command given" >&2; usage; }
case $timeout in ''|*[!0-9]*) echo "run.sh: --timeout wants seconds" >&2; exit 2 ;; esac
for d in "${rwdirs[@]}"; do
    case $d in *[[:space:]]*) echo "run.sh: --rw $d: no spaces in paths, please" >&2; exit 2 ;; esac
done
case $kernel in 6.1|6.12) ;; *) echo "run.sh: --kernel wants 6.1 or 6.12, not '$kernel'" >&2; exit 2 ;; esac
case $iommu in intel|amd|virtio) ;; *) echo "run.sh: --iommu wants intel, amd or virtio, not '$iommu'" >&2; exit 2 ;; esac
[ "$iommu.$kernel" = virtio.6.1 ] &&
    { echo "run.sh: --iommu virtio needs --kernel 6.12 (Debian's 6.1 has no virtio-iommu driver)" >&2; exit 2; }
case $unsafe_intr in 0|1) ;; *) echo "run.sh: UPDK_VM_UNSAFE_INTERRUPTS wants 0 or 1" >&2; exit 2 ;; esac

command -v qemu-system-x86_64 >/dev/null ||
    { echo "run.sh: qemu-system-x86_64 not found: run scripts/pkgdep.sh" >&2; exit 125; }
"$here/build-guest.sh" --kernel "$kernel" || { echo "run.sh: building the guest failed" >&2; exit 125; }
guest=$out/$kernel
kver=$(sed -n 's/^KVER=//p' "$guest/guest.env")

# --- the run folder: disk images and the I/O share --------------------------
# Per run, so that concurrent runs (QEMU locks its images) do not collide and
# every run starts from a fresh disk.
mkdir -p "$out/runs"
# Folders left by runs that were killed (SIGKILL skips our clean-up).
find "$out/runs" -mindepth 1 -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
run=$(mktemp -d "$out/runs/run.XXXXXX")
io=$run/io
mkdir "$io"
qpid= tails=() tap=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null; sleep 0.5; kill -9 "$qpid" 2>/dev/null || true
    fi
    for t in "${tails[@]}"; do kill "$t" 2>/dev/null || true; done
    [ -n "${wd:-}" ] && kill "$wd" 2>/dev/null
    if [ -n "$tap" ]; then ip link del "$tap" 2>/dev/null || true; fi
    if [ $keep = 1 ]; then echo "run.sh: kept $run" >&2; else rm -rf "$run"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

truncate -s 64M "$run/nvme0.img"
for i in 1 2 3 4 5; do truncate -s 128M "$run/nvme3-$i.img"; done
truncate -s 4M "$run/nvme3-3.img" # extended LBA: small, so a verify pass over it is short
cp "$here/guest-stage2.sh" "$io/stage2.sh"
: > "$io/stdout"; : > "$io/stderr"

if [ $# = 1 ]; then
    printf '%s\n' "$1" > "$io/cmd.sh"
else
    printf '%q ' "$@" > "$io/cmd.sh"; echo >> "$io/cmd.sh"
fi

# The multi-queue virtio-net's backend: a multi-queue tap of this run's own (hubs have one queue
# only), up, with no address, and a hairpin: what the guest sends comes in on the tap's ingress
# and is redirected to its egress, back to the guest.  The tap driver sends a frame back on the
# queue whose flow it last came from (its automatic flow steering), so a guest sending a flow on
# queue pair q receives it on q.  Without root, /dev/net/tun or tc, the device is left out.
mq_queues=4
tap_setup() {
    local t=updkmq$$
    [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v tc >/dev/null || return 1
    ip tuntap add dev "$t" mode tap multi_queue 2>/dev/null || return 1
    tap=$t
    # no IPv6 link-local chatter from the host side
    echo 1 > "/proc/sys/net/ipv6/conf/$t/disable_ipv6" 2>/dev/null || true
    ip link set dev "$t" up &&
        tc qdisc add dev "$t" ingress &&
        tc filter add dev "$t" parent ffff: protocol all u32 match u32 0 0 \
            action mirred egress redirect dev "$t"
}
mq_dev=()
if tap_setup >/dev/null 2>&1; then
    mq_dev=(-netdev "tap,id=mq0,ifname=$tap,script=no,downscript=no,vhost=off,queues=$mq_queues"
        -device "virtio-net-pci,netdev=mq0,mq=on,vectors=$((2 * mq_queues + 2)),disable-legacy=on,iommu_platform=on,addr=0d.0,mac=52:54:00:12:34:0d,romfile=")
else
    [ -n "$tap" ] && ip link del "$tap" 2>/dev/null
    tap=
    echo "run.sh: no multi-queue tap (needs root, /dev/net/tun and tc): the guest has no 00:0d.0" >&2
fi

# What the guest needs to know, and what the command sees.
bridge=0000:00:08.0
{
    q() { printf 'export %s=%q\n' "$1" "$2"; }
    # Passed through: every UPDK_* of ours, then -e NAME[=VALUE].
    for n in $(compgen -e | grep '^UPDK_' | grep -v '^UPDK_VM_'); do q "$n" "${!n}"; done
    for e in "${passenv[@]}"; do
        case $e in
            *=*) q "${e%%=*}" "${e#*=}" ;;
            *) [ -n "${!e+x}" ] && q "$e" "${!e}" ;;
        esac
    done
    q UPDK_VM_KVER "$kver"
    q UPDK_VM_KERNEL "$kernel"
    q UPDK_VM_IOMMU "$iommu"
    q UPDK_VM_KMODDIR "$guest/kernel/lib/modules/$kver"
    q UPDK_VM_CWD "$PWD"
    q UPDK_VM_HUGEPAGES "$hugepages"
    q UPDK_VM_RW_DIRS "${rwdirs[*]}"
    q UPDK_VM_BRIDGE "$bridge"
    q UPDK_VM_NVME 0000:00:04.0
    q UPDK_VM_NVME2 0000:00:05.0
    q UPDK_VM_NVME_FMT 0000:00:0e.0
    q UPDK_VM_VIRTIO_NET 0000:00:06.0
    q UPDK_VM_E1000E 0000:00:07.0
    q UPDK_VM_VIRTIO_NET2 0000:00:09.0
    q UPDK_VM_VIRTIO_NOIOMMU 0000:00:0c.0
    q UPDK_VM_VIRTIO_NOMSIX 0000:00:0f.0
    if [ -n "$tap" ]; then q UPDK_VM_VIRTIO_MQ 0000:00:0d.0; fi
    # UPDK_VM_BRIDGED and UPDK_VM_BRIDGED_PEER are found in the guest.
} > "$io/env.sh"

# --- the machine -------------------------------------------------------------
# The virtual IOMMU, and what the kernel is told of it.
case $iommu in
    # caching-mode=on makes the guest report every mapping change, which vfio
    # needs; intremap for interrupt remapping (x2apic, MSI through the IOMMU).
    intel) viommu=(-device intel-iommu,intremap=on,caching-mode=on) iommu_args=intel_iommu=on ;;
    # AMD-Vi with interrupt remapping (the guest finds it in the IVRS table).
    amd) viommu=(-device amd-iommu,intremap=on) iommu_args= ;;
    # virtio-iommu (the guest finds it in the ACPI VIOT table), which remaps
    # no interrupts: vfio_iommu_type1 then refuses a group unless told
    # allow_unsafe_interrupts (docs/vfio.md).  QEMU reserves the x86 MSI
    # window in the endpoints' reserved regions.
    virtio) viommu=(-device virtio-iommu-pci,addr=03.0) iommu_args= ;;
esac
[ "$unsafe_intr" = 1 ] && iommu_args+=" vfio_iommu_type1.allow_unsafe_interrupts=1"
qemu=(
    qemu-system-x86_64
    -nodefaults -no-user-config -display none
    # Threads named after their job ("CPU 0/TCG", ...), for profiles of the
    # device (test/bench/qemu-nvme-profile.sh).
    -name debug-threads=on
    # Guest power-off or panic ends QEMU instead of rebooting.
    -no-reboot
    # /dev/kvm here is a paravirtual KVM that stock kernels do not boot
    # under: use TCG, one host thread per vCPU.
    -machine q35 -accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem"
    # The vIOMMU comes before every other PCI device (above).
    "${viommu[@]}"
    # The uncompressed ELF kernel boots through its PVH entry: no in-guest
    # decompression.  panic=-1: a panic reboots, which -no-reboot turns
    # into an exit.  quiet: the serial console is slow; dmesg keeps it all.
    # init_on_alloc=0: Debian's kernel zeroes every page it allocates, which
    # makes reserving 512 MiB of hugepages take seconds under TCG (hugetlbfs
    # zeroes the pages when they are faulted in anyway).  mitigations=off:
    # no speculation workarounds on an emulated CPU.  tsc=reliable: no
    # clocksource watchdog reading the (emulated, slow) HPET; TCG's TSC is
    # steady.  cryptomgr.notests: no crypto self-tests at boot.
    # no_timer_check: skip check_timer()'s test that the IO-APIC timer
    # ticks within a busy-waited loop: on a starved host TCG's tick comes
    # late, and with interrupt remapping the kernel then panics ("timer
    # doesn't work through Interrupt-remapped IO-APIC") although it works.
    -kernel "$guest/vmlinux" -initrd "$guest/initramfs.cpio"
    -append "console=ttyS0 $iommu_args iommu=pt panic=-1 quiet init_on_alloc=0 mitigations=off tsc=reliable cryptomgr.notests no_timer_check"
    -serial "file:$run/console.log"
    # The host's root, read-only, and the run's I/O share.  multidevs=remap:
    # the host root spans several filesystems, keep their inode numbers apart.
    -fsdev local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap
    -device virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot,addr=0a.0
    -fsdev "local,id=fsio,path=$io,security_model=none"
    -device virtio-9p-pci,fsdev=fsio,mount_tag=updkio,addr=0b.0
    # 04.0: NVMe with one 64 MiB namespace on a fresh raw file.
    -drive "if=none,id=nvm0,file=$run/nvme0.img,format=raw"
    -device nvme,serial=updk0,drive=nvm0,addr=04.0
    # 05.0: NVMe with two namespaces on null devices (reads give zeroes), the
    # benchmark device (test/bench/perf-vs-fio.sh).  ioeventfd=on, as issue 4
    # asks: QEMU 7.2 then takes the I/O queues' doorbell writes through an
    # event notifier handled in its main loop instead of on the vCPU thread
    # that wrote them -- but only once the host enables shadow doorbells
    # (Doorbell Buffer Config), as updk and Linux both do when offered.
    -device "nvme,id=nvme1,serial=updk1,addr=05.0,ioeventfd=${UPDK_VM_IOEVENTFD:-on}"
    -blockdev null-co,node-name=null1a,size=$((1 << 30)),read-zeroes=on
    -device nvme-ns,bus=nvme1,drive=null1a,nsid=1
    -blockdev null-co,node-name=null1b,size=$((256 << 20)),read-zeroes=on
    -device nvme-ns,bus=nvme1,drive=null1b,nsid=2
    # 0e.0: NVMe with a small MDTS (16 KiB) and namespaces formatted as users
    # format them (issue 13): 1 PI type 1 in 8 bytes of separate metadata, 2
    # zoned (1 MiB zones, capacity 768 KiB, 2 open, 3 active), 3 extended LBAs
    # (8 bytes of metadata after each block), 4 the 64b Guard (PI type 1 last in
    # 16 bytes, 4 KiB blocks), 5 plain.  Sparse files, fresh each run.
    -device nvme,id=nvme3,serial=updk3,addr=0e.0,mdts=2,zoned.zasl=2
    -drive "if=none,id=nvm3a,file=$run/nvme3-1.img,format=raw"
    -device nvme-ns,bus=nvme3,drive=nvm3a,nsid=1,ms=8,pi=1
    -drive "if=none,id=nvm3b,file=$run/nvme3-2.img,format=raw"
    -device nvme-ns,bus=nvme3,drive=nvm3b,nsid=2,logical_block_size=4096,physical_block_size=4096,zoned=true,zoned.zone_size=1M,zoned.zone_capacity=768K,zoned.max_open=2,zoned.max_active=3
    -drive "if=none,id=nvm3c,file=$run/nvme3-3.img,format=raw"
    -device nvme-ns,bus=nvme3,drive=nvm3c,nsid=3,ms=8,mset=1
    -drive "if=none,id=nvm3d,file=$run/nvme3-4.img,format=raw"
    -device nvme-ns,bus=nvme3,drive=nvm3d,nsid=4,logical_block_size=4096,physical_block_size=4096,ms=16,pi=1,pif=2
    -drive "if=none,id=nvm3e,file=$run/nvme3-5.img,format=raw"
    -device nvme-ns,bus=nvme3,drive=nvm3e,nsid=5
    # 06.0 virtio-net (modern only, DMA through the IOMMU) and 07.0 e1000e,
    # wired together through a QEMU hub: what one sends, the other receives.
    -netdev hubport,id=hp0,hubid=0 -netdev hubport,id=hp1,hubid=0
    # romfile=: no iPXE boot ROM for the firmware to run (slow under TCG).
    -device virtio-net-pci,netdev=hp0,disable-legacy=on,iommu_platform=on,addr=06.0,mac=52:54:00:12:34:06,romfile=
    -device e1000e,netdev=hp1,addr=07.0,mac=52:54:00:12:34:07,romfile=
    # 09.0: a second virtio-net on the hub, so both ends can poll in user space.
    -netdev hubport,id=hp3,hubid=0
    -device virtio-net-pci,netdev=hp3,disable-legacy=on,iommu_platform=on,addr=09.0,mac=52:54:00:12:34:09,romfile=
    # 0c.0: virtio-net whose DMA bypasses the IOMMU (no iommu_platform), on a hub of its own.
    -netdev hubport,id=hp5,hubid=1
    -device virtio-net-pci,netdev=hp5,disable-legacy=on,addr=0c.0,mac=52:54:00:12:34:0c,romfile=
    # 0f.0: virtio-net with no MSI-X capability (vectors=0), on a hub of its own.
    -netdev hubport,id=hp6,hubid=2
    -device virtio-net-pci,netdev=hp6,disable-legacy=on,iommu_platform=on,vectors=0,addr=0f.0,mac=52:54:00:12:34:0f,romfile=
    # 0d.0: virtio-net with several queue pairs on the hairpinned tap (above).
    "${mq_dev[@]}"
    # 08.0: a conventional PCI bridge.  Functions behind it are one IOMMU
    # group (the IOMMU sees the bridge's requester ID): a small NVMe
    # controller and an e1000, for "group not viable" tests.
    -device pci-bridge,id=br0,chassis_nr=1,addr=08.0
    -device nvme,id=nvme2,serial=updk2,bus=br0,addr=01.0
    -blockdev null-co,node-name=null2a,size=$((64 << 20)),read-zeroes=on
    -device nvme-ns,bus=nvme2,drive=null2a,nsid=1
    -netdev hubport,id=hp2,hubid=0
    -device e1000,netdev=hp2,bus=br0,addr=02.0,mac=52:54:00:12:34:22,romfile=
)
i=0
for d in "${rwdirs[@]}"; do
    qemu+=(-fsdev "local,id=fsrw$i,path=$d,security_model=none"
           -device "virtio-9p-pci,fsdev=fsrw$i,mount_tag=updkrw$i")
    i=$((i + 1))
done

qemu+=("${qemu_extra[@]}")

start=$(date +%s%N)
"${qemu[@]}" > "$run/qemu.log" 2>&1 &
qpid=$!

# Stream the command's output as the guest appends it (the I/O share is the
# host folder itself); tail exits once QEMU is gone and the files are drained.
tail -n +1 -s 0.2 -F --pid=$qpid "$io/stdout" 2>/dev/null & tails+=($!)
tail -n +1 -s 0.2 -F --pid=$qpid "$io/stderr" >&2 2>/dev/null & tails+=($!)

# Watchdog: kill QEMU when the time is up.  Its sleep goes when it is
# killed (the trap), and it holds none of our output open: a leftover sleep
# would keep a reader of our stdout (a pipe, CI's log) waiting.
(
    sleep "$timeout" & s=$!
    trap 'kill $s 2>/dev/null; exit 0' TERM
    wait $s
    touch "$run/timed-out"; kill "$qpid" 2>/dev/null
) < /dev/null > /dev/null 2>&1 &
wd=$!
set +e
wait $qpid; qrc=$?
qpid=
kill $wd 2>/dev/null; wait $wd 2>/dev/null; wd=
wait "${tails[@]}" 2>/dev/null; tails=()
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed=$((ms / 1000)).$(printf %03d $((ms % 1000)))

cp "$run/console.log" "$out/last-console.txt" 2>/dev/null || true
if [ -s "$io/dmesg" ]; then cp "$io/dmesg" "$out/last-dmesg.txt"
else cp "$run/console.log" "$out/last-dmesg.txt" 2>/dev/null || true; fi

if [ -f "$run/timed-out" ]; then
    echo "run.sh: timed out after ${timeout}s; guest console: $out/last-console.txt" >&2
    tail -n 20 "$run/console.log" 2>/dev/null | sed 's/^/  console: /' >&2
    exit 124
fi
if [ ! -f "$io/status" ]; then
    echo "run.sh: the guest did not run the command (QEMU exit $qrc, ${elapsed}s)" >&2
    sed 's/^/  qemu: /' "$run/qemu.log" >&2
    tail -n 30 "$run/console.log" 2>/dev/null | sed 's/^/  console: /' >&2
    exit 125
fi
[ -n "${UPDK_VM_VERBOSE:-}" ] && echo "run.sh: guest ran for ${elapsed}s" >&2
exit "$(cat "$io/status")"
