#!/usr/bin/env bash
# The README's first command: install what updk needs, build it, reserve hugepages, and run
# updk-perf. With no arguments it runs on the simulated NVMe controller (sim:nvme), so it works
# on any Linux machine; arguments go to updk-perf as they are, e.g.
#   scripts/quickstart.sh -r 'trtype:PCIe traddr:0000:01:00.0' -q 32 -o 4k -w randread -t 10
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "quickstart.sh: run as root (it installs packages and reserves hugepages): sudo $0 $*" >&2
	exit 1
fi
bash scripts/pkgdep.sh
[ -f mk/config.mk ] || ./configure
make -j"$(nproc)" apps
bash scripts/setup.sh hugepages 512
if [ $# -eq 0 ]; then
	set -- -q 32 -o 4k -w randread -t 5
fi
exec build/bin/updk-perf "$@"
