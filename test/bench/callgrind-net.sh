#!/bin/sh
# Instructions per forwarded packet in drivers/ixgbe + lib/net (and lib/mem's pool beside them),
# from callgrind on bench-net_fwd: only fwd_round() is collected, and its self costs are summed
# by the folder of their source. Usage: test/bench/callgrind-net.sh [PACKETS] (default 200000).
set -eu
n=${1:-200000}
bin=build/test/bench-net_fwd
[ -x "$bin" ] || { echo "build first: make -j2" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=fwd_round \
	--callgrind-out-file="$out/cg" "$bin" "$n" >"$out/stdout" 2>"$out/stderr"
cat "$out/stdout"
pkts=$(sed -n 's/^forwarded \([0-9]*\) packets.*/\1/p' "$out/stdout")
callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out/cg" | awk -v pkts="$pkts" '
	/PROGRAM TOTALS/ { total = $1; gsub(",", "", total); next }
	/^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]+:/ {
		ir = $1; gsub(",", "", ir);
		if ($0 ~ /drivers\/ixgbe\//) drv += ir;
		else if ($0 ~ /lib\/net\/|include\/updk\/net.h/) net += ir;
		else if ($0 ~ /lib\/mem\//) mem += ir;
		else other += ir;
	}
	END {
		printf "per packet: drivers/ixgbe %.1f, lib/net %.1f (together %.1f), lib/mem %.1f, other %.1f, total %.1f\n",
			drv / pkts, net / pkts, (drv + net) / pkts, mem / pkts, other / pkts, total / pkts
	}'
