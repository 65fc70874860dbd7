#!/bin/bash
# Build the guest used by test/vm/run.sh: a Debian kernel (taken from its
# package, not installed), its uncompressed vmlinux, and a busybox initramfs
# that mounts the host's root filesystem over 9p.
#
# Output, in build/vm/ of this checkout:
#   kernel/            the extracted linux-image package (boot/, lib/modules/VER)
#   vmlinux            the uncompressed kernel, booted through its PVH entry
#   initramfs.cpio     busybox + the modules needed to reach the host root
#   guest.env          KVER=..., written last: its presence means "built"
#
# Idempotent: if guest.env names the same kernel version and this script has
# not changed since, it returns at once.  Override the kernel package with
# UPDK_VM_KVER=6.1.0-NN-amd64.  Force a rebuild with --force.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${UPDK_VM_BUILD:-$root/build/vm}
force=0
[ "${1:-}" = "--force" ] && force=1

die() { echo "build-guest: $*" >&2; exit 1; }

# --- which kernel ---------------------------------------------------------
# The version linux-image-amd64 depends on (what a bookworm install would boot).
kver=${UPDK_VM_KVER:-}
if [ -z "$kver" ] && [ -f "$out/guest.env" ] &&
   [ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$out/guest.env" -print -quit 2>/dev/null)" ]; then
    # apt-cache takes most of a second: skip it while the package lists are
    # no newer than the last build.
    kver=$(sed -n 's/^KVER=//p' "$out/guest.env")
fi
if [ -z "$kver" ]; then
    kver=$(apt-cache depends linux-image-amd64 2>/dev/null |
           sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
fi
if [ -z "$kver" ] && [ -f "$out/guest.env" ]; then
    # No apt lists (offline?): keep whatever was built before.
    kver=$(sed -n 's/^KVER=//p' "$out/guest.env")
fi
[ -n "$kver" ] || die "cannot find the kernel version (apt-cache depends linux-image-amd64 gave nothing; run scripts/pkgdep.sh or set UPDK_VM_KVER)"

# The stamp also covers this script, so a change to /init rebuilds the initramfs.
self_sum=$(sha256sum "$0" | cut -c1-16)
stamp="KVER=$kver
BUILD_SUM=$self_sum"
built() {
    [ $force = 0 ] && [ -f "$out/guest.env" ] && [ "$(cat "$out/guest.env")" = "$stamp" ] &&
        [ -f "$out/vmlinux" ] && [ -f "$out/initramfs.cpio" ]
}
if built; then
    touch "$out/guest.env"      # newer than the apt lists again: skip apt-cache next time
    exit 0
fi
# One build at a time per output folder (two run.sh started together); the
# second finds the work done when it gets the lock.
mkdir -p "$out"
exec 9> "$out/.build.lock"
flock 9
built && exit 0

for tool in apt-get dpkg-deb depmod modprobe cpio xz; do
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
if [ ! -f "$kdir/boot/vmlinuz-$kver" ] || [ ! -d "$kdir/lib/modules/$kver" ]; then
    (cd "$tmp" && apt-get download -q "linux-image-$kver" >/dev/null 2>"$tmp/apt.err") ||
        { cat "$tmp/apt.err" >&2; die "apt-get download linux-image-$kver failed"; }
    rm -rf "$kdir"
    mkdir -p "$tmp/kernel"
    dpkg-deb -x "$tmp"/linux-image-"$kver"_*.deb "$tmp/kernel"
    mv "$tmp/kernel" "$kdir"
fi
# The package ships no modules.dep (the postinst makes it): make it here.
depmod -b "$kdir" "$kver"

# --- vmlinux --------------------------------------------------------------
# The bzImage holds the kernel compressed after a small decompressor.  Like the
# kernel's scripts/extract-vmlinux: find each candidate magic, try to
# decompress from there, keep the first result that is an ELF file.
# Booting the ELF through its PVH note skips the in-guest decompression, which
# is slow under TCG.
extract_vmlinux() {
    local img=$1 dst=$2 magic cmd off
    for pair in '\xfd\x37\x7a\x58\x5a\x00:xz -dcq' '\x1f\x8b\x08:gzip -dcq' \
                '\x28\xb5\x2f\xfd:zstd -dcq' '\x89\x4c\x5a\x4f:lzop -dcq' \
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
# Just enough to mount the host root: virtio-pci, 9p over virtio, overlayfs.
# modprobe --show-depends prints the insmod lines in dependency order.
ird=$tmp/initramfs
mkdir -p "$ird/bin" "$ird/mod" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/lower" "$ird/rw" "$ird/newroot"
cp $busybox "$ird/bin/busybox"
for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$kdir" -S "$kver" --show-depends $m
done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++' > "$tmp/mods"
: > "$ird/modules"
while read -r path; do
    name=$(basename "$path")
    case $name in
        *.ko.xz) xz -dc "$path" > "$ird/mod/${name%.xz}"; name=${name%.xz} ;;
        *.ko.zst) zstd -dcq "$path" > "$ird/mod/${name%.zst}"; name=${name%.zst} ;;
        *) cp "$path" "$ird/mod/$name" ;;
    esac
    echo "$name" >> "$ird/modules"
done < "$tmp/mods"

cat > "$ird/init" <<'EOF'
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

# msize: larger 9p messages mean fewer round trips.  cache=loose lets the
# guest cache the host's (read-only, unchanging) files: binaries run from
# page cache instead of one 9p read per page fault.
say "stage 1: modules loaded"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /lower ||
    fail "mount hostroot"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    fail "mount overlay"
mkdir -p /newroot/run/updk-vm
# The I/O share is written by the host (command, env) and by us (output,
# status): no caching.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 updkio /newroot/run/updk-vm ||
    fail "mount updkio"
[ -f /newroot/run/updk-vm/stage2.sh ] || fail "no stage2.sh in the I/O share"
# Stage 2 powers off with this busybox (the host's poweroff wants systemd).
mkdir -p /newroot/.updk-vm
cp /bin/busybox /newroot/.updk-vm/busybox
say "stage 1: switching root"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash /run/updk-vm/stage2.sh
EOF
chmod 755 "$ird/init"
(cd "$ird" && find . -print0 | cpio --null -o -H newc --quiet) > "$tmp/initramfs.cpio"
mv "$tmp/initramfs.cpio" "$out/initramfs.cpio"

printf '%s\n' "$stamp" > "$out/guest.env"
echo "build-guest: done ($kver)" >&2
