#!/bin/bash
# One verdict per check, for the test scripts that source this (test/fio/check.sh,
# test/vm/fio_vm.sh). They set $tmp to a scratch folder first.
#
#   check NAME COMMAND...   run COMMAND, its output kept; "ok   NAME", or "FAIL NAME" and the
#                           output indented; counted
#   checks_done             "N passed, N failed"; fails when any check failed
pass=0 fail=0
check() {
	local name=$1
	shift
	if "$@" >"$tmp/why" 2>&1; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		sed 's/^/     /' "$tmp/why"
		fail=$((fail + 1))
	fi
}
checks_done() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
