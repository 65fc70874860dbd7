#!/bin/bash
# Prepare a Linux machine for updk: bind PCI functions to vfio-pci (and give
# them back), reserve hugepages, and show where things stand.
#
#   scripts/setup.sh status
#   scripts/setup.sh bind BDF... [--driver vfio-pci]
#   scripts/setup.sh unbind BDF...
#   scripts/setup.sh hugepages N [--node K]
#   scripts/setup.sh help
#
# BDF: a PCI address, 0000:00:04.0 (the domain may be left out: 00:04.0).
set -eu

prog=setup.sh
sysdev=/sys/bus/pci/devices
sysdrv=/sys/bus/pci/drivers
# The helpers below use shell built-ins and globs rather than readlink, awk,
# sed...: in a TCG guest (test/vm) every program started costs ~0.1 s, and
# much more on a busy host.

die() { echo "$prog: $*" >&2; exit 1; }
warn() { echo "$prog: $*" >&2; }

usage() {
    cat <<'EOF'
usage: scripts/setup.sh COMMAND [ARGS]

  status                      NVMe (class 0108) and network (class 02) PCI
                              functions: address, vendor:device, driver, IOMMU
                              group and its members, NUMA node; hugepages per
                              node; the memlock limit
  bind BDF... [--driver D]    hand the functions to driver D (default vfio-pci)
                              through driver_override; refuses while a block
                              device of the function is mounted or in use, or
                              its network interface has routes
  unbind BDF...               clear driver_override and give the functions back
                              to their kernel driver (nvme, virtio-pci, ...)
  hugepages N [--node K]      reserve N 2 MiB hugepages (on NUMA node K) and
                              mount hugetlbfs at /dev/hugepages if needed
  help                        this text

BDF is a PCI address as in /sys/bus/pci/devices: 0000:00:04.0 (or 00:04.0).
Root is needed for everything but status and help.
EOF
}

need_root() { [ "$EUID" = 0 ] || die "$1 needs root"; }

# Full BDF for a user's spelling, or an error naming what exists.
norm_bdf() {
    local b=${1,,}
    case $b in
        [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) b=0000:$b ;;
    esac
    case $b in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) ;;
        *) die "'$1' is not a PCI address (want DDDD:BB:SS.F, e.g. 0000:00:04.0)" ;;
    esac
    [ -e "$sysdev/$b" ] || die "no PCI function $b on this machine (see: $prog status)"
    echo "$b"
}

# drv_of BDF / grp_of BDF: set $drv to the current driver's name and $grp
# to the IOMMU group's number (empty for none), from the sysfs links' far
# ends (the bound BDF appears in the driver's folder and the group's).
drv_of() {
    local d
    drv=
    for d in "$sysdrv"/*/"$1"; do [ -e "$d" ] && { d=${d%/*}; drv=${d##*/}; }; done
    return 0
}
grp_of() {
    local g
    grp=
    for g in /sys/kernel/iommu_groups/*/devices/"$1"; do
        [ -e "$g" ] && { g=${g%/devices/*}; grp=${g##*/}; }
    done
    return 0
}
driver_of() { local drv; drv_of "$1"; echo "$drv"; }
group_of() { local grp; grp_of "$1"; echo "$grp"; }

# Block devices (whole disks and partitions) that belong to an NVMe function.
# With native NVMe multipath the controller lists hidden paths (nvme0c0n1)
# whose visible disk is nvme0n1: both names are reported.
# Sets the array $blk.
block_devs_of() {
    local ns n p
    blk=()
    for ns in "$sysdev/$1"/nvme/nvme*/nvme*n*; do
        [ -e "$ns" ] || continue
        n=${ns##*/}
        blk+=("$n")
        [[ $n =~ ^(nvme[0-9]+)c[0-9]+(n[0-9]+)$ ]] && blk+=("${BASH_REMATCH[1]}${BASH_REMATCH[2]}")
        for p in "$ns"/"$n"p*; do [ -e "$p" ] && blk+=("${p##*/}"); done
    done
    return 0
}

# Why the kernel must keep this function, if it must: a mounted file system,
# swap or a holder (md, LVM, dm) on one of its block devices.
in_use_reason() {
    local bdf=$1 b dev mnt rest h holders
    local blk; block_devs_of "$bdf"
    for b in "${blk[@]}"; do
        while read -r dev mnt rest; do
            [ "$dev" = "/dev/$b" ] && { echo "/dev/$b is mounted on $mnt (unmount it first)"; return; }
        done < /proc/mounts
        while read -r dev rest; do
            [ "$dev" = "/dev/$b" ] && { echo "/dev/$b is in use as swap"; return; }
        done < /proc/swaps
        holders=
        for h in /sys/class/block/"$b"/holders/*; do [ -e "$h" ] && holders="$holders ${h##*/}"; done
        [ -n "$holders" ] && { echo "/dev/$b is held by$holders"; return; }
    done
    # A network interface with IPv4 routes is in use (maybe it is the way
    # into this machine): the same rule as DPDK's devbind.
    local n ifc
    for n in "$sysdev/$bdf"/net/* "$sysdev/$bdf"/virtio*/net/*; do
        [ -e "$n" ] || continue
        n=${n##*/}
        while read -r ifc rest; do
            [ "$ifc" = "$n" ] && { echo "interface $n has routes (ip link set $n down first)"; return; }
        done < /proc/net/route
    done
    return 0
}

# --- status -------------------------------------------------------------------
cmd_status() {
    local d bdf class kind drv grp members m node
    echo "PCI functions (NVMe, network):"
    printf '  %-13s %-5s %-10s %-12s %-5s %-4s %s\n' BDF CLASS VEN:DEV DRIVER GROUP NUMA "GROUP MEMBERS (driver)"
    for d in "$sysdev"/*; do
        [ -e "$d" ] || continue
        bdf=${d##*/}
        class=$(cat "$d/class")
        case $class in
            0x0108*) kind=nvme ;;
            0x02*) kind=net ;;
            *) continue ;;
        esac
        drv=$(driver_of "$bdf"); grp=$(group_of "$bdf")
        node=$(cat "$d/numa_node" 2>/dev/null || echo -)
        members=
        if [ -n "$grp" ]; then
            for m in /sys/kernel/iommu_groups/"$grp"/devices/*; do
                m=${m##*/}
                members="$members $m($(driver_of "$m" | sed 's/^$/none/'))"
            done
        fi
        printf '  %-13s %-5s %-10s %-12s %-5s %-4s%s\n' "$bdf" "$kind" \
            "$(sed 's/^0x//' "$d/vendor"):$(sed 's/^0x//' "$d/device")" \
            "${drv:-none}" "${grp:--}" "$node" "${members:- (no IOMMU group: IOMMU off?)}"
    done

    echo "VFIO:"
    if [ -e /dev/vfio/vfio ]; then echo "  /dev/vfio/vfio present"
    else echo "  /dev/vfio/vfio missing (modprobe vfio-pci)"; fi
    [ -d "$sysdrv/vfio-pci" ] && echo "  vfio-pci loaded" || echo "  vfio-pci not loaded"
    if [ -z "$(ls -A /sys/kernel/iommu_groups 2>/dev/null)" ]; then
        echo "  no IOMMU groups: the IOMMU is off (intel_iommu=on / amd_iommu=on)"
    fi

    echo "Hugepages:"
    local h found=0
    for h in /sys/devices/system/node/node*/hugepages/hugepages-*; do
        [ -e "$h" ] || continue
        found=1
        node=${h%/hugepages/*}; node=${node##*/}
        printf '  %-6s %-10s total %-6s free %s\n' "$node" "${h##*/hugepages-}" \
            "$(cat "$h/nr_hugepages")" "$(cat "$h/free_hugepages")"
    done
    if [ $found = 0 ]; then
        for h in /sys/kernel/mm/hugepages/hugepages-*; do
            [ -e "$h" ] || continue
            printf '  %-6s %-10s total %-6s free %s\n' all "${h##*/hugepages-}" \
                "$(cat "$h/nr_hugepages")" "$(cat "$h/free_hugepages")"
        done
    fi
    m=$(awk '$3 == "hugetlbfs" { printf " %s(%s)", $2, $4 }' /proc/mounts)
    echo "  hugetlbfs mounts:${m:- none (setup.sh hugepages N mounts /dev/hugepages)}"
    echo "Memlock limit: $(ulimit -l) (KiB; VFIO DMA mappings count against it)"
}

# --- bind / unbind --------------------------------------------------------------
wait_for() {    # wait_for TENTHS COMMAND...: poll until COMMAND succeeds
    local n=$1; shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1; n=$((n - 1))
    done
    "$@"
}

bind_one() {
    local bdf=$1 to=$2 cur why grp m others= drv
    drv_of "$bdf"; cur=$drv
    if [ "$cur" = "$to" ]; then
        echo "$bdf: already bound to $to"
        return 0
    fi
    why=$(in_use_reason "$bdf")
    [ -z "$why" ] || die "$bdf: not taking it from ${cur:-the kernel}: $why"

    echo "$to" > "$sysdev/$bdf/driver_override"
    [ -n "$cur" ] && echo "$bdf" > "$sysdev/$bdf/driver/unbind"
    # drivers_probe fails (EINVAL...) when no driver takes the function: the
    # check below says so with a better message.
    echo "$bdf" > /sys/bus/pci/drivers_probe 2>/dev/null || true
    drv_of "$bdf"
    if [ "$drv" != "$to" ]; then
        grp_of "$bdf"
        if [ "$to" = vfio-pci ] && [ -z "$grp" ]; then
            die "$bdf: vfio-pci did not take it: it has no IOMMU group (boot with intel_iommu=on or amd_iommu=on; dmesg may say more)"
        fi
        die "$bdf: $to did not take it (now: ${drv:-no driver}); see dmesg"
    fi
    echo "$bdf: ${cur:-no driver} -> $to"

    if [ "$to" = vfio-pci ]; then
        grp_of "$bdf"
        # devtmpfs makes the node shortly after the bind.
        wait_for 20 test -e "/dev/vfio/$grp" || warn "$bdf: /dev/vfio/$grp did not appear"
        for m in /sys/kernel/iommu_groups/"$grp"/devices/*; do
            m=${m##*/}
            [ "$m" = "$bdf" ] && continue
            drv_of "$m"
            case $drv in
                # Bridges need no driver; pcieport is allowed by vfio too.
                ''|vfio-pci|pci-stub|pcieport) ;;
                *) others="$others $m($drv)" ;;
            esac
        done
        if [ -n "$others" ]; then
            echo "$bdf: IOMMU group $grp (/dev/vfio/$grp) is not viable until these leave their kernel drivers:$others"
        else
            echo "$bdf: IOMMU group $grp: /dev/vfio/$grp"
        fi
    fi
}

unbind_one() {
    local bdf=$1 cur now drv blk b list=
    drv_of "$bdf"; cur=$drv
    # An empty write clears the override, so any matching driver may bind.
    echo > "$sysdev/$bdf/driver_override"
    [ -n "$cur" ] && echo "$bdf" > "$sysdev/$bdf/driver/unbind"
    echo "$bdf" > /sys/bus/pci/drivers_probe 2>/dev/null || true
    drv_of "$bdf"
    if [ -z "$drv" ]; then
        # No driver loaded takes it, and without udev nothing loads one: ask
        # modprobe with the function's modalias (nvme for NVMe, ...).
        local alias; read -r alias < "$sysdev/$bdf/modalias"
        modprobe -q "$alias" 2>/dev/null || true
        echo "$bdf" > /sys/bus/pci/drivers_probe 2>/dev/null || true
        drv_of "$bdf"
    fi
    now=$drv
    echo "$bdf: ${cur:-no driver} -> ${now:-no driver}"
    # nvme brings its namespaces up asynchronously: wait for them, so that
    # a caller can use /dev/nvmeXnY as soon as we return.
    if [ "$now" = nvme ]; then
        wait_for 100 nvme_ready "$bdf" || warn "$bdf: no namespaces appeared (yet)"
        block_devs_of "$bdf"
        for b in "${blk[@]}"; do
            [ -e "/dev/$b" ] && list="$list /dev/$b"
        done
        [ -n "$list" ] && echo "$bdf: block devices:$list"
    fi
    return 0
}

nvme_ready() {
    local b blk
    block_devs_of "$1"
    for b in "${blk[@]}"; do [ -e "/dev/$b" ] && return 0; done
    return 1
}

cmd_bind() {
    local to=vfio-pci bdfs=() b
    while [ $# -gt 0 ]; do
        case $1 in
            --driver) [ $# -ge 2 ] || die "--driver needs a driver name"; to=$2; shift 2 ;;
            --driver=*) to=${1#*=}; shift ;;
            -*) die "bind: unknown option $1" ;;
            *) bdfs+=("$(norm_bdf "$1")"); shift ;;
        esac
    done
    [ ${#bdfs[@]} -gt 0 ] || die "bind: which function? (setup.sh bind BDF...)"
    need_root bind
    if [ ! -d "$sysdrv/$to" ]; then
        modprobe "$to" 2>/dev/null || true
        [ -d "$sysdrv/$to" ] || die "driver $to is not available (modprobe $to failed)"
    fi
    for b in "${bdfs[@]}"; do bind_one "$b" "$to"; done
}

cmd_unbind() {
    local bdfs=() b
    for b in "$@"; do
        case $b in -*) die "unbind: unknown option $b" ;; esac
        bdfs+=("$(norm_bdf "$b")")
    done
    [ ${#bdfs[@]} -gt 0 ] || die "unbind: which function? (setup.sh unbind BDF...)"
    need_root unbind
    for b in "${bdfs[@]}"; do unbind_one "$b"; done
}

# --- hugepages ----------------------------------------------------------------
cmd_hugepages() {
    local n= node= f got
    while [ $# -gt 0 ]; do
        case $1 in
            --node) [ $# -ge 2 ] || die "--node needs a number"; node=$2; shift 2 ;;
            --node=*) node=${1#*=}; shift ;;
            -*) die "hugepages: unknown option $1" ;;
            *) [ -z "$n" ] || die "hugepages: one count only"; n=$1; shift ;;
        esac
    done
    case $n in ''|*[!0-9]*) die "hugepages: want a number of 2 MiB pages (setup.sh hugepages 256)" ;; esac
    need_root hugepages
    if [ -n "$node" ]; then
        case $node in *[!0-9]*) die "--node wants a node number" ;; esac
        f=/sys/devices/system/node/node$node/hugepages/hugepages-2048kB/nr_hugepages
        [ -e "$f" ] || die "no NUMA node $node (nodes: $(ls -d /sys/devices/system/node/node* 2>/dev/null | sed 's/.*node//' | tr '\n' ' '))"
    else
        f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
        [ -e "$f" ] || die "this kernel has no 2 MiB hugepages"
    fi
    echo "$n" > "$f"
    got=$(cat "$f")
    echo "hugepages: $got x 2 MiB${node:+ on node $node}"
    [ "$got" -ge "$n" ] || warn "only $got of $n pages could be reserved (memory too fragmented or too small)"

    if ! awk '$2 == "/dev/hugepages" && $3 == "hugetlbfs" { f = 1 } END { exit !f }' /proc/mounts; then
        mkdir -p /dev/hugepages
        mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages ||
            die "cannot mount hugetlbfs at /dev/hugepages"
        echo "hugepages: mounted hugetlbfs at /dev/hugepages"
    fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case $cmd in
    status) cmd_status ;;
    bind) cmd_bind "$@" ;;
    unbind) cmd_unbind "$@" ;;
    hugepages) cmd_hugepages "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
esac
