#!/bin/bash
# Build a guest for test/vm/run.sh: a Debian kernel (taken from its package,
# not installed), its uncompressed vmlinux, and a busybox initramfs that
# mounts the host's root filesystem over 9p.
#
#   test/vm/build-guest.sh [--force] [--kernel 6.1|6.12]
#
# --kernel (default $UPDK_VM_KERNEL, else 6.1) picks the kernel series:
#   6.1    what linux-image-amd64 depends on in bookworm (with its updates
#          and security suites): what a bookworm install boots
#   6.12   what linux-image-amd64 depends on in bookworm-backports
# Each comes from Debian's registry (deb.debian.org, or $UPDK_VM_MIRROR and
# $UPDK_VM_SECURITY_MIRROR) through a sources list of the ring's own, so the
# host's apt configuration neither adds nor hides anything.
#
# Output, in build/vm/SERIES/ of this checkout:
#   apt/               the sources list, its package lists and apt's cache
#   kernel/            the extracted linux-image package (boot/, lib/modules/VER)
#   vmlinux            the uncompressed kernel, booted through its PVH entry
#   initramfs.cpio     busybox + the modules needed to reach the host root
#   guest.env          KVER=..., written last: its presence means "built"
#
# Idempotent: it returns at once while guest.env names the same kernel and
# this script has not changed; the package lists are refreshed once a day
# (a new kernel in the suite then means a new guest).  UPDK_VM_KVER=VER
# asks for one package version (linux-image-VER) of the series.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=${UPDK_VM_BUILD:-$root/build/vm}
force=0 series=${UPDK_VM_KERNEL:-6.1}
while [ $# -gt 0 ]; do
    case $1 in
        --force) force=1; shift ;;
        --kernel) [ $# -ge 2 ] || { echo "build-guest: --kernel needs 6.1 or 6.12" >&2; exit 2; }
                  series=$2; shift 2 ;;
        *) echo "build-guest: unknown argument $1 (--force, --kernel 6.1|6.12)" >&2; exit 2 ;;
    esac
done

die() { echo "build-guest: $*" >&2; exit 1; }

mirror=${UPDK_VM_MIRROR:-http://deb.debian.org/debian}
secmirror=${UPDK_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
case $series in
    6.1) sources="deb [signed-by=$keyring] $mirror bookworm main
deb [signed-by=$keyring] $mirror bookworm-updates main
deb [signed-by=$keyring] $secmirror bookworm-security main" ;;
    6.12) sources="deb [signed-by=$keyring] $mirror bookworm-backports main" ;;
    *) die "unknown kernel series '$series': 6.1 (bookworm) or 6.12 (bookworm-backports)" ;;
esac
out=$base/$series
apt=$out/apt

# The ring's own apt: its sources list, lists and cache under $apt; nothing
# from /etc/apt's sources or pinning.
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
         -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
         -o APT::Get::List-Cleanup=0 -q)
# As root, apt drops to its _apt user to download, which cannot write into a
# checkout; stay root instead (it only fetches signed lists and a .deb).
[ "$(id -u)" = 0 ] && aptopts+=(-o APT::Sandbox::User=root)
lists_fresh() { [ -n "$(find "$apt/updated" -mmin -1440 2>/dev/null)" ]; }
update_lists() {
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    printf '%s\n' "$sources" > "$apt/sources.list"
    # apt-get update succeeds when a source could not be fetched: its warning says so.
    if apt-get "${aptopts[@]}" update > "$apt/update.log" 2>&1 &&
       ! grep -q '^\(E: \|W: Failed to fetch\|W: Some index files failed\)' "$apt/update.log"; then
        touch "$apt/updated"
        return 0
    fi
    return 1
}
# The version linux-image-amd64 depends on in the ring's lists, if it is of the series.
resolve_kver() {
    local v
    v=$(apt-cache "${aptopts[@]}" depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
    case $v in "$series".*) echo "$v" ;; esac
}
built_kver() { [ -f "$out/guest.env" ] && sed -n 's/^KVER=//p' "$out/guest.env"; }

# The old layout kept one kernel in build/vm itself: make room.
rm -rf "$base/kernel" "$base/vmlinux" "$base/initramfs.cpio" "$base/guest.env" "$base/.build.lock"

# --- which kernel ---------------------------------------------------------
kver=${UPDK_VM_KVER:-}
[ -z "$kver" ] && lists_fresh && kver=$(built_kver)
if [ -z "$kver" ]; then
    mkdir -p "$apt"
    exec 9> "$out/.apt.lock"
    flock 9
    lists_fresh || update_lists || echo "build-guest: apt-get update of the ring's own lists" \
        "failed ($apt/update.log):" "$(grep '^[WE]: ' "$apt/update.log" | head -n3)" >&2
    kver=$(resolve_kver)
    # Offline: keep whatever was built before.
    [ -z "$kver" ] && kver=$(built_kver)
    exec 9>&-
fi
[ -n "$kver" ] || die "cannot find the $series kernel: linux-image-amd64 in the ring's own lists" \
    "($apt/sources.list) depends on no linux-image-$series.*; is $mirror reachable? (or set UPDK_VM_KVER)"
case $kver in "$series".*) ;; *) die "UPDK_VM_KVER=$kver is not of the $series series" ;; esac

# The stamp also covers this script, so a change to /init rebuilds the initramfs.
self_sum=$(sha256sum "$0" | cut -c1-16)
stamp="KVER=$kver
BUILD_SUM=$self_sum"
built() {
    [ $force = 0 ] && [ -f "$out/guest.env" ] && [ "$(cat "$out/guest.env")" = "$stamp" ] &&
        [ -f "$out/vmlinux" ] && [ -f "$out/initramfs.cpio" ]
}
built && exit 0
# One build at a time per output folder (two run.sh started together); the
# second finds the work done when it gets the lock.
mkdir -p "$out"
exec 9> "$out/.build.lock"
flock 9
built && exit 0

for tool in apt-get dpkg-deb depmod modprobe cpio xz zstd; do
    command -v $tool >/dev/null || die "$tool not found: run scripts/pkgdep.sh"
done
busybox=/bin/busybox
[ -x $busybox ] && $busybox --list | grep -qx switch_root ||
    die "$busybox (busybox-static) not found: run scripts/pkgdep.sh"
file $busybox 2>/dev/null | grep -q 'dynamically' && die "$busybox is not static: install busybox-static"

echo "build-guest: building the guest for $kver in $out" >&2
rm -f "$out/guest.env"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- kernel package -------------------------------------------------------
kdir=$out/kernel
download() { (cd "$tmp" && apt-get "${aptopts[@]}" download "linux-image-$kver" > "$tmp/apt.err" 2>&1); }
if [ ! -f "$kdir/boot/vmlinuz-$kver" ] || [ ! -d "$kdir/lib/modules/$kver" ]; then
    [ -f "$apt/sources.list" ] || update_lists || true
    if ! download; then
        # Lists from before the suite moved on name a package no longer there.
        update_lists || true
        download || { cat "$tmp/apt.err" >&2; die "apt-get download linux-image-$kver failed"; }
    fi
    rm -rf "$kdir"
    mkdir -p "$tmp/kernel"
    dpkg-deb -x "$tmp"/linux-image-"$kver"_*.deb "$tmp/kernel"
    mv "$tmp/kernel" "$kdir"
fi
# The package ships no modules.dep (the postinst makes it): make it here.
depmod -b "$kdir" "$kver"

# --- vmlinux --------------------------------------------------------------
# The bzImage holds the kernel compressed after a small decompressor: xz in
# 6.1, zstd in 6.12.  Like the kernel's scripts/extract-vmlinux: find each
# candidate magic, try to decompress from there, keep the first result that
# is an ELF file.  Booting the ELF through its PVH note (XEN_ELFNOTE_PHYS32_ENTRY,
# CONFIG_PVH) skips the in-guest decompression, which is slow under TCG.
extract_vmlinux() {
    local img=$1 dst=$2 magic cmd off
    for pair in '\xfd\x37\x7a\x58\x5a\x00:xz -dcq' '\x28\xb5\x2f\xfd:zstd -dcq' \
                '\x1f\x8b\x08:gzip -dcq' '\x89\x4c\x5a\x4f:lzop -dcq' \
                '\x02\x21\x4c\x18:lz4 -dcq' '\x42\x5a\x68:bzip2 -dcq'; do
        magic=${pair%%:*} cmd=${pair#*:}
        command -v "${cmd%% *}" >/dev/null || continue
        # Byte offsets of the magic (-b with -a: binary file, -P: \x escapes).
        for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1); do
            # Trailing data after the stream makes the decompressors complain:
            # ignore their status, judge by the output.
            tail -c +$((off + 1)) "$img" | $cmd > "$dst" 2>/dev/null || true
            if [ "$(head -c4 "$dst" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
                return 0
            fi
        done
    done
    return 1
}
extract_vmlinux "$kdir/boot/vmlinuz-$kver" "$tmp/vmlinux" ||
    die "no compressed ELF kernel found in $kdir/boot/vmlinuz-$kver"
mv "$tmp/vmlinux" "$out/vmlinux"

# --- initramfs ------------------------------------------------------------
# Just enough to mount the host root: virtio-pci, 9p over virtio, overlayfs;
# and virtio-iommu where the kernel has it as a module (6.12): with
# run.sh --iommu virtio the 9p devices sit behind it, and their probe waits
# (deferred) until its driver is there.
# modprobe --show-depends prints the insmod lines in dependency order
# (builtin ones as "builtin", skipped).
ird=$tmp/initramfs
mkdir -p "$ird/bin" "$ird/mod" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/lower" "$ird/rw" "$ird/newroot"
cp $busybox "$ird/bin/busybox"
mods="virtio_pci 9pnet_virtio 9p overlay"
modprobe -d "$kdir" -S "$kver" --show-depends virtio_iommu >/dev/null 2>&1 &&
    mods="virtio_pci virtio_iommu 9pnet_virtio 9p overlay"
for m in $mods; do
    modprobe -d "$kdir" -S "$kver" --show-depends $m
done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++' > "$tmp/mods"
: > "$ird/modules"
while read -r path; do
    name=$(basename "$path")
    # 6.12's modules are xz-compressed; busybox's insmod wants them plain.
    case $name in
        *.ko.xz) xz -dc "$path" > "$ird/mod/${name%.xz}"; name=${name%.xz} ;;
        *.ko.zst) zstd -dcq "$path" > "$ird/mod/${name%.zst}"; name=${name%.zst} ;;
        *) cp "$path" "$ird/mod/$name" ;;
    esac
    echo "$name" >> "$ird/modules"
done < "$tmp/mods"

cat > "$ird/init" <<'EOS'
#!/bin/busybox sh
# updk test-guest stage 1: mount the host's root (9p, read-only) under a tmpfs
# overlay, mount the run's I/O share, and hand over to stage 2, a script that
# run.sh put into the share.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "updk-vm: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
fail() {
    echo "updk-vm: stage 1 failed: $*"
    echo "UPDK_VM_STAGE1_FAILED"
    echo o > /proc/sysrq-trigger
    sleep 5
    poweroff -f
}

for m in $(cat /modules); do
    insmod /mod/$m || fail "insmod $m"
done

# A 9p mount fails while its virtio device is not probed yet: behind
# virtio-iommu that probe was deferred until virtio_iommu bound, and is
# retried asynchronously.  Try for up to 10 s.
mount9p() {
    local i=0
    while ! mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000$3" "$1" "$2" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || return 1
        sleep 0.1
    done
}

# msize: larger 9p messages mean fewer round trips.  cache=loose lets the
# guest cache the host's (read-only, unchanging) files: binaries run from
# page cache instead of one 9p read per page fault.
say "stage 1: modules loaded"
mount9p hostroot /lower ",cache=loose,ro" || fail "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    fail "mount overlay"
mkdir -p /newroot/run/updk-vm
# The I/O share is written by the host (command, env) and by us (output,
# status): no caching.
mount9p updkio /newroot/run/updk-vm "" || fail "mount updkio"
[ -f /newroot/run/updk-vm/stage2.sh ] || fail "no stage2.sh in the I/O share"
# Stage 2 powers off with this busybox (the host's poweroff wants systemd).
mkdir -p /newroot/.updk-vm
cp /bin/busybox /newroot/.updk-vm/busybox
say "stage 1: switching root"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash /run/updk-vm/stage2.sh
EOS
chmod 755 "$ird/init"
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet) > "$tmp/initramfs.cpio"
mv "$tmp/initramfs.cpio" "$out/initramfs.cpio"

printf '%s\n' "$stamp" > "$out/guest.env"
echo "build-guest: done ($kver)" >&2
