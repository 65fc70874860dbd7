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

# run.sh runs in a process group of its own (job control), so that whatever it leaves behind
# when it ends (a helper still holding our stdout would keep a pipe reader such as CI's log
# waiting) goes with it, and an interrupt reaches all of it.
set -m
"$here/run.sh" --timeout "${UPDK_VM_TIMEOUT:-600}" -- "$tests" --jobs 1 "$@" &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null' INT TERM
set +e
wait $pid
rc=$?
# wait returns early when a trapped signal arrives: then wait for run.sh's own cleanup.
while kill -0 $pid 2>/dev/null; do wait $pid; rc=$?; done
set -e
kill -TERM -- -$pid 2>/dev/null || true
exit $rc
