#!/usr/bin/env bash
# The model-ring soak (docs/reliability.md): updk-perf --verify on sim:nvme with random faults
# injected (docs/sim-nvme.md: failed commands, late completions, completions lost until the
# driver's timeout aborts them), several configurations and seeds, bounded in time.
#
#   test/soak.sh            make check-soak; scripts/check-all.sh runs it after the model ring
#
#   SOAK_SECONDS  whole soak, default 60 (split over the runs; at least 2 s of I/O each)
#   SOAK_SEED     seed of the first run, default 1 (run N uses SOAK_SEED + N - 1); a failure
#                 names the command line that repeats it
#
# A run fails on: a data mismatch, an exit status other than 0, a crash, a sanitizer report
# on stderr, output that is not the JSON object expected, a controller marked failed, an error
# that is neither a failed write nor a failed read-back (a refused submission), no I/O
# verified, or no fault seen at all (then the soak soaked nothing). Logs: build/soak/.
set -euo pipefail
cd "$(dirname "$0")/.."

perf=build/bin/updk-perf
out=build/soak
total=${SOAK_SECONDS:-60}
seed0=${SOAK_SEED:-1}

if [ ! -x "$perf" ]; then
	echo "soak.sh: $perf is missing: run make first" >&2
	exit 2
fi
case $total in '' | *[!0-9]*)
	echo "soak.sh: SOAK_SECONDS=$total is not a whole number of seconds" >&2
	exit 2
	;;
esac
case $seed0 in '' | *[!0-9]*)
	echo "soak.sh: SOAK_SEED=$seed0 is not a whole number" >&2
	exit 2
	;;
esac

# Each line: the sim:nvme options (seed= is added), then updk-perf's arguments. Together they
# cover random and sequential writes, I/O split at MDTS (mdts=3: 32 KiB per command), several
# qpairs, 4 KiB blocks, two namespaces, and completions out of order (jitter_us).
runs=(
	"size=64M,faults=0.5%,fault_kinds=error+delay,fault_delay_us=2000|-w randwrite -o 4k -q 32"
	"size=64M,mdts=3,faults=0.2%,fault_kinds=error+delay+drop|-w write -o 128k -q 8"
	"size=64M,jitter_us=200,faults=0.1%,fault_kinds=error+delay+drop|-w randwrite -o 16k -q 16 -P 2"
	"size=64M,lba=4096,faults=1%,fault_kinds=error|-w randwrite -o 64k -q 16"
	"ns=2,size=32M,faults=0.3%,fault_kinds=error+drop|-w randwrite -o 8k -q 24"
	"size=16M,faults=0.5%|-w write -o 4k -q 64"
)
n=${#runs[@]}
# About a second per run goes to start-up, the drain and the report.
per=$((total / n - 1))
[ "$per" -ge 2 ] || per=2

mkdir -p "$out"
fails=0
for i in "${!runs[@]}"; do
	seed=$((seed0 + i))
	opts=${runs[$i]%%|*}
	read -r -a args <<<"${runs[$i]#*|}"
	addr="sim:nvme?$opts,seed=$seed"
	cmd=("$perf" -r "$addr" --verify "${args[@]}" -t "$per" --io-timeout 500 --seed "$seed"
		--json --no-progress)
	json=$out/run$((i + 1)).json
	err=$out/run$((i + 1)).err
	set +e
	"${cmd[@]}" >"$json" 2>"$err"
	rc=$?
	set -e
	verdict=$(python3 - "$json" "$err" "$rc" <<'EOF'
import json, re, sys

path, errpath, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
problems = []
stderr = open(errpath, errors="replace").read()
for pat in (r"ERROR: \w+Sanitizer", r"runtime error:", r"==\d+==ERROR", r"Segmentation fault",
	    r"AddressSanitizer", r"LeakSanitizer"):
	if re.search(pat, stderr):
		problems.append("sanitizer or crash report on stderr")
		break
if rc != 0:
	problems.append("exit status %d%s" % (rc, " (killed by signal %d)" % (rc - 128)
						 if rc > 128 else ""))
try:
	r = json.load(open(path))
	t = r["total"]
	if t["verify_mismatches"]:
		problems.append("%d mismatching blocks, first %s" % (t["verify_mismatches"],
								      r.get("first_mismatch")))
	if r["failed"]:
		problems.append("a controller was marked failed")
	if r["interrupted"]:
		problems.append("interrupted")
	if t["verified"] <= 0:
		problems.append("no read-back verified")
	if t["errors"] != t["write_errors"] + t["read_errors"]:
		problems.append("%d errors are not failed writes or read-backs (refused submissions)"
				% (t["errors"] - t["write_errors"] - t["read_errors"]))
	if t["errors"] == 0:
		problems.append("no fault seen: nothing was soaked")
	summary = ("%d verified, %d mismatches, %d errors (%d writes, %d read-backs), "
		   "%d timeouts" % (t["verified"], t["verify_mismatches"], t["errors"],
				    t["write_errors"], t["read_errors"], t["driver"]["timeouts"]))
except (OSError, ValueError, KeyError, TypeError) as e:
	problems.append("output is not updk-perf's JSON result (%s: %s)" % (type(e).__name__, e))
	summary = ""
print(("FAIL: " + "; ".join(problems)) if problems else "ok: " + summary)
EOF
)
	echo "soak: run $((i + 1))/$n, $addr: $verdict"
	if [ "${verdict#ok}" = "$verdict" ]; then
		fails=$((fails + 1))
		echo "soak: repeat with: ${cmd[*]@Q}" >&2
		echo "soak: last lines of stderr ($err):" >&2
		tail -n 15 "$err" >&2
	fi
done
if [ "$fails" -ne 0 ]; then
	echo "soak: $fails of $n runs failed (logs in $out/)" >&2
	exit 1
fi
echo "soak: $n runs passed"
