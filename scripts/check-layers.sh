#!/bin/sh
# Layers point down only (docs/architecture.md): util < vfio < mem < pci. Fails, naming the file
# and the header, when a file in one of these folders includes a header of a layer above its
# own: another folder's internal header ("lib/X/...", "sim/...", "drivers/...", "apps/...") or
# a public header (<updk/...>) of a higher layer. Run by `make check`.
set -eu
cd "$(dirname "$0")/.."

exec awk '
function rank(h) {
	if (h ~ /^lib\/util\// || h == "updk/log.h" || h == "updk/tsc.h") return 0
	if (h ~ /^lib\/vfio\//) return 1
	if (h ~ /^lib\/mem\// || h == "updk/mem.h") return 2
	if (h ~ /^lib\/pci\// || h == "updk/pci.h" || h == "updk/mmio.h") return 3
	return 9
}
/^[ \t]*#[ \t]*include[ \t]*[<"](lib|sim|drivers|apps|updk)\// {
	h = $0
	sub(/^[^<"]*[<"]/, "", h)
	sub(/[>"].*$/, "", h)
	dir = FILENAME
	sub(/\/[^\/]*$/, "", dir)
	if (rank(h) > rank(dir "/")) {
		printf "%s:%d includes %s, a layer above %s (layers point down: util < vfio < mem < pci, docs/architecture.md)\n", FILENAME, FNR, h, dir > "/dev/stderr"
		bad = 1
	}
}
END { exit bad }
' lib/util/*.[ch] lib/vfio/*.[ch] lib/mem/*.[ch] lib/pci/*.[ch]
