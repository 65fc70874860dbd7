#!/bin/bash
# updk test-guest stage 2.  Runs as PID 1 inside the guest, in the host's root
# filesystem (read-only 9p under a tmpfs overlay), started by the initramfs'
# /init.  run.sh copies this file into the run's I/O share, together with:
#   env.sh   variables: UPDK_VM_* set by run.sh plus the ones passed through
#   cmd.sh   the command line to run
# and expects back: stdout, stderr (appended live), dmesg, then status (the
# command's exit status; written last, its presence means "the command ran").
set -u
io=/run/updk-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
. $io/env.sh

# Built-ins where it matters: every program started costs ~0.1 s under TCG.
say() { local up rest; read -r up rest < /proc/uptime; echo "updk-vm: [$up] $*"; }
setup_err() { say "$*"; echo "updk-vm: $*" >> $io/stderr; }

finish() {
    dmesg > $io/dmesg 2>/dev/null
    echo "$1" > $io/status.tmp && mv $io/status.tmp $io/status
    sync
    # PID 1 has no init system to ask: the initramfs left its busybox in
    # the tmpfs layer, whose "poweroff -f" calls reboot(2) directly.  Should
    # that fail, exiting PID 1 panics the kernel, and panic=-1 with QEMU's
    # -no-reboot ends the VM anyway.
    /.updk-vm/busybox poweroff -f
    exit "$1"
}

say "stage 2"
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd 2>/dev/null
hostname updk-vm

# The host's /lib/modules has no tree for the guest's kernel: lay the
# extracted package's tree over it, so modprobe (the host's kmod) works.
mkdir -p "/lib/modules/$UPDK_VM_KVER"
mount --bind "$UPDK_VM_KMODDIR" "/lib/modules/$UPDK_VM_KVER" ||
    { setup_err "cannot bind $UPDK_VM_KMODDIR over /lib/modules/$UPDK_VM_KVER"; finish 125; }

# Writable host folders (run.sh --rw), mounted over the same path.
i=0
for d in ${UPDK_VM_RW_DIRS:-}; do
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "updkrw$i" "$d" ||
        { setup_err "cannot mount $d read-write"; finish 125; }
    i=$((i + 1))
done

ip link set lo up 2>/dev/null

# No udev runs: drivers are loaded by hand.  vfio-pci for updk; the kernel's
# own drivers so that every device starts bound to its kernel driver, as on a
# freshly booted machine (tests rebind with scripts/setup.sh).
# The initramfs' static busybox loads them: the host's kmod takes far longer
# to start under TCG (it links libcrypto).  Busybox ignores softdeps, so
# vfio_iommu_type1 (a softdep of vfio) is named.  Whatever it misses, the
# host's modprobe loads after.  Busybox cannot load xz-compressed modules
# (6.12's): there the host's modprobe does it all.
mods="vfio_pci vfio_iommu_type1 nvme virtio_net e1000e e1000"
xz=("$UPDK_VM_KMODDIR"/kernel/drivers/vfio/vfio.ko.xz)
if [ -e "${xz[0]}" ]; then modprobe -a $mods & loading=$!
else /.updk-vm/busybox modprobe -a $mods 2>/dev/null & loading=$!; fi

# Hugepages for DMA memory, and the usual mount point.
echo "${UPDK_VM_HUGEPAGES:-256}" > /proc/sys/vm/nr_hugepages
mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages ||
    setup_err "cannot mount hugetlbfs at /dev/hugepages"
read -r got < /proc/sys/vm/nr_hugepages
[ "$got" = "${UPDK_VM_HUGEPAGES:-256}" ] ||
    setup_err "reserved only $got of ${UPDK_VM_HUGEPAGES:-256} hugepages (give the guest more --mem)"

wait $loading
for m in $mods; do
    [ -e /sys/module/$m ] || modprobe $m || setup_err "modprobe $m failed"
done
say "modules loaded"

# The two functions behind the conventional PCI bridge: their bus number is
# the guest kernel's choice, so look them up under the bridge.
for f in /sys/bus/pci/devices/"$UPDK_VM_BRIDGE"/0000:*; do
    [ -e "$f" ] || continue
    bdf=${f##*/}
    read -r class < "$f/class"
    case $class in
        0x0108*) export UPDK_VM_BRIDGED=$bdf ;;
        *)       export UPDK_VM_BRIDGED_PEER=$bdf ;;
    esac
done
[ -n "${UPDK_VM_BRIDGED:-}" ] && [ -n "${UPDK_VM_BRIDGED_PEER:-}" ] ||
    setup_err "the functions behind the PCI bridge $UPDK_VM_BRIDGE are missing"

# nvme probes asynchronously: wait (up to ~10 s) until every NVMe controller
# bound to nvme has its namespaces' block devices, so the command starts from
# a settled state.
for _ in {1..100}; do
    settled=1
    for d in /sys/bus/pci/drivers/nvme/0000:*; do
        [ -e "$d" ] || continue
        ns=("$d"/nvme/nvme*/nvme*n*)
        [ -e "${ns[0]}" ] || settled=0
    done
    [ $settled = 1 ] && break
    sleep 0.1
done
[ $settled = 1 ] || setup_err "the nvme driver did not bring up every controller's namespaces"

say "settled"
ulimit -l unlimited
cd "$UPDK_VM_CWD" || { setup_err "no $UPDK_VM_CWD in the guest"; finish 125; }

say "running the command"
# setsid: the command gets a session of its own, away from PID 1's console.
setsid -w /bin/bash "$io/cmd.sh" >> $io/stdout 2>> $io/stderr < /dev/null
finish $?
