#!/bin/bash
# Install, from Debian's packages, everything updk's build, tests and the
# real-VFIO test bed (test/vm) need.  Idempotent and quiet: it does nothing
# when all is installed already, and shows apt's output only if apt fails.
# Debian bookworm (or newer); run as root, or with sudo available.
set -eu

pkgs=(
    # build
    build-essential pkg-config libnuma-dev liburcu-dev libhugetlbfs-dev libisal-dev
    # unit and model tests
    libcriterion-dev valgrind python3
    # the fio engine (./configure --with-fio): fio (below) and its Debian source,
    # fetched with apt-get source and unpacked with dpkg-source
    dpkg-dev
    # fuzz targets (make fuzz: clang's libFuzzer and sanitizers)
    clang libclang-rt-dev
    # the QEMU guest (test/vm): TCG machine, busybox initramfs, module tools,
    # vmlinux extraction (the bzImage payload: xz in 6.1, zstd in 6.12), apt-get
    # download with the ring's own sources list (signed by Debian's archive keys)
    qemu-system-x86 busybox-static kmod cpio xz-utils zstd apt debian-archive-keyring
    # used inside the guest (it runs the host's own binaries)
    nvme-cli fio e2fsprogs iproute2 util-linux procps
    # the peer of test/vm/bench-virtio.sh: dpdk-testpmd; dpdk-dev brings the
    # virtio PMD and the ring mempool it loads as plugins (libdpdk-dev)
    dpdk-dev
)

# One dpkg-query for all: the installed ones, then whatever is not among them.
installed=" $(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null |
              awk '/ install ok installed$/ { printf "%s ", $1 }')"
missing=()
for p in "${pkgs[@]}"; do
    case $installed in *" $p "*) ;; *) missing+=("$p") ;; esac
done
[ ${#missing[@]} = 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null ||
        { echo "pkgdep.sh: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -q > "$log" 2>&1 ||
   ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >> "$log" 2>&1; then
    cat "$log" >&2
    echo "pkgdep.sh: installing ${missing[*]} failed" >&2
    exit 1
fi
