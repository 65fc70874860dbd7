# Sourced by the VM-ring scripts that print one verdict per check (nvme_tool.sh, nvmf.sh):
# `check NAME COMMAND...` runs COMMAND and prints "ok   NAME", or "FAIL NAME" and its output
# (stdout and stderr, through "$tmp/out": the script sets tmp); `checks_done` prints
# "N passed, N failed" and returns non-zero on any failure.
pass=0 fail=0
check() {
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		sed 's/^/     /' "$tmp/out"
		fail=$((fail + 1))
	fi
}
checks_done() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
