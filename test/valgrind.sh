#!/bin/bash
# The model ring under valgrind memcheck (CI runs it on the normal build, see
# scripts/check-all.sh):
#
#   test/valgrind.sh [criterion arguments...]     e.g. --filter 'sim_nvme/*'
#
# Criterion runs every test in a process of its own (it re-executes the binary), and ignores how
# that process exits once the test has reported, so valgrind's exit code cannot carry a finding:
# every process writes its own log (--trace-children) and the run fails when any log counts an
# error or a definite or indirect leak. The programs the tests start (build/bin/updk-*) run
# natively: under valgrind they miss the tests' time limits (they have the ASan/UBSan pass).
# --fair-sched: the tests poll while a sim model's thread works; valgrind runs one thread at a
# time, and without fair scheduling a polling thread can starve the model for seconds.
# UPDK_VALGRIND_KEEP=1 keeps the logs in build/valgrind/.
set -eu
cd "$(dirname "$0")/.."

tests=build/test/model-tests
[ -x "$tests" ] || { echo "valgrind.sh: $tests is missing: run make first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind.sh: apt-get install valgrind" >&2; exit 2; }

logs=build/valgrind
rm -rf "$logs"
mkdir -p "$logs"

set +e
valgrind --quiet --fair-sched=yes --trace-children=yes --trace-children-skip='*/updk-*' --log-file="$logs/%p.log" \
	--leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
	--error-exitcode=99 \
	"$tests" --jobs 1 "$@"
rc=$?
set -e

bad=$(grep -L -E "ERROR SUMMARY: 0 errors" "$logs"/*.log 2>/dev/null || true)
# A process that ended by exec or was killed writes no summary: that is not a finding.
found=
for f in $bad; do
	if grep -q -E "ERROR SUMMARY: [1-9]|^==[0-9]+== (Invalid|Conditional|Use of|Syscall param|Mismatched|Source and destination)" "$f"; then
		found="$found $f"
	fi
done
for f in $found; do
	echo "valgrind.sh: findings in $f:" >&2
	cat "$f" >&2
done
nproc=$(ls "$logs" | wc -l)
[ "${UPDK_VALGRIND_KEEP:-0}" = 1 ] || [ -n "$found" ] || rm -rf "$logs"
if [ -n "$found" ]; then
	echo "valgrind.sh: memcheck found errors (logs in $logs)" >&2
	exit 1
fi
if [ $rc != 0 ]; then
	echo "valgrind.sh: the model ring failed under valgrind (exit $rc)" >&2
	exit 1
fi
echo "valgrind.sh: no memcheck errors in $nproc processes"
