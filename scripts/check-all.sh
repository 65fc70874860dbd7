#!/usr/bin/env bash
# Every test ring, from a fresh checkout: dependencies, a -Werror build (the fio engine
# included), the unit and model rings (make check-fio too), then the real-VFIO ring in a QEMU
# guest (and a subset of it on the other kernel and IOMMUs); then the memory checks
# (docs/reliability.md):
# the NVMe and ixgbe model suites under valgrind, the fuzz targets, and the unit and model
# rings and the soak rebuilt with AddressSanitizer, LeakSanitizer and UBSan. This is the
# README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/pkgdep.sh
# With the fio engine (docs/fio.md): configure fetches fio's source from Debian. It builds the
# rest when it cannot; here that is a failure, not a skipped engine.
./configure --enable-werror --with-fio
grep -q '^FIO_ENGINE := y' mk/config.mk || { echo "check-all.sh: no fio engine (above: why)" >&2; exit 1; }
make -j"$(nproc)"
# The unit and model rings allocate DMA memory from hugepages on the host.
bash scripts/setup.sh hugepages 512
make check
# updk-perf --verify on sim:nvme with random faults, about a minute (docs/reliability.md)
make check-soak
make check-vm
# A subset of the VM ring on Linux 6.12 with AMD-Vi and with virtio-iommu, without and with
# allow_unsafe_interrupts (test/vm/matrix.sh): one guest each.
make check-vm-matrix

# Zero reports required from here on. Under valgrind: the NVMe and ixgbe driver suites and the
# bad-input tables (NVMe and NIC), less the stress tests (4 threads x 3000 I/Os, thousands of
# ring wraps, 3000 frames at random moments to a sleeping loop) that miss their time limits
# there or, with valgrind running one thread at a time, cannot make the loop sleep between
# frames; they run in both other passes.
bash test/valgrind.sh \
	--filter '@(nvme_ctrl|nvme_io|nvme_open|ixgbe_*|bad_input|net_bad_input)/!(qpairs_on_threads|ring_wrap_many_thousand|no_lost_wakeup_with_frames_at_random_times)'
make check-fuzz FUZZ_SECONDS=15
# One build tree: the sanitizer build replaces the normal one. The configuration is put back
# at the end, so the next make rebuilds without sanitizers.
./configure --enable-asan --enable-ubsan --enable-werror
make clean
make -j"$(nproc)"
make check
make check-soak SOAK_SECONDS=30
./configure --enable-werror
