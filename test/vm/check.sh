#!/bin/bash
# The real-VFIO ring (`make check-vm`): run the VM suites (build/test/vm-tests, built by make)
# inside the QEMU guest of test/vm/run.sh and exit with their status.
#
#   test/vm/check.sh [criterion arguments...]     e.g. --filter 'foundation/*' --verbose
#
# The suites rebind devices with scripts/setup.sh, so they run one at a time (--jobs 1).
# UPDK_VM_TIMEOUT (default 600) bounds the whole guest run.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

tests=build/test/vm-tests
if [ ! -x "$tests" ]; then
    echo "check.sh: $tests is missing: run make first (make check-vm builds it)" >&2
    exit 2
fi
exec "$here/run.sh" --timeout "${UPDK_VM_TIMEOUT:-600}" -- "$tests" --jobs 1 "$@"
