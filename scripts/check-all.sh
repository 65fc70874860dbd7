#!/usr/bin/env bash
# Every test ring, from a fresh checkout: dependencies, a -Werror build, the unit and model
# rings, then the real-VFIO ring in a QEMU guest. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/pkgdep.sh
./configure --enable-werror
make -j"$(nproc)"
# The unit and model rings allocate DMA memory from hugepages on the host.
bash scripts/setup.sh hugepages 512
make check
make check-vm
