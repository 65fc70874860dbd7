#!/bin/bash
# Run every libFuzzer target in build/fuzz (make fuzz builds them) for a bounded time:
#
#   test/fuzz/run.sh [SECONDS]        default 20 each; `make check-fuzz FUZZ_SECONDS=N`
#
# Each starts from its seeds in test/fuzz/corpus/NAME; what it finds new goes to a scratch
# folder, not into the tree. A crash, a leak, a sanitizer report or a broken property (the
# target aborts) fails the run, and the input that did it is left in build/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-).
# The code under test logs every refusal: stderr is closed (libFuzzer keeps its own reports).
set -eu
cd "$(dirname "$0")/../.."

secs=${1:-20}
case $secs in '' | *[!0-9]*) echo "run.sh: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac
shopt -s nullglob
srcs=(test/fuzz/*.c)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
for src in "${srcs[@]}"; do
	name=$(basename "$src" .c)
	f=build/fuzz/$name
	[ -x "$f" ] || { echo "run.sh: $f is missing: run make fuzz" >&2; fail=1; continue; }
	mkdir -p "$scratch/$name"
	seeds=test/fuzz/corpus/$name
	[ -d "$seeds" ] || { echo "run.sh: $name has no seeds in $seeds" >&2; fail=1; continue; }
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
		-artifact_prefix="build/fuzz/$name-" "$scratch/$name" "$seeds" \
		>"$scratch/$name.log" 2>&1; then
		echo "fuzz $name: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$scratch/$name.log")"
	else
		echo "fuzz $name: FAILED" >&2
		cat "$scratch/$name.log" >&2
		fail=1
	fi
done
exit $fail
