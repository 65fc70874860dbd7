#!/bin/bash
# What the fio process above this script holds that the updk engine could leave behind, written
# to FILE: its open file descriptors (by target), its mappings of hugetlbfs files and VFIO
# regions, and its thread count. Run by fio's exec_prerun (test/fio/check.sh, test/vm/fio_vm.sh):
# two snapshots taken between job groups must be equal.
#
#   test/fio/held.sh FILE
#
# Shell built-ins wherever they do: in the test guest every program started costs ~0.1 s.
set -eu
p=$PPID
# exec_prerun runs through system(): climb from the shell to fio.
while read -r comm <"/proc/$p/comm" && [ "$comm" != fio ]; do
	read -r _ _ _ p _ <"/proc/$p/stat"
	[ "$p" -gt 1 ] || { echo "held.sh: no fio above this shell" >&2; exit 1; }
done
huge=()
while read -r _ dir type _; do
	[ "$type" = hugetlbfs ] && huge+=("$dir/")
done </proc/mounts
tasks=("/proc/$p/task"/*)
{
	echo "threads ${#tasks[@]}"
	# fd number, then its target (ls -l prints "N -> TARGET" last)
	ls -l "/proc/$p/fd/" | while read -r line; do
		case $line in *" -> "*) t=${line##* -> } n=${line% -> *}; echo "fd ${n##* } $t" ;; esac
	done | sort
	while read -r range _ _ _ _ path; do
		case $path in *vfio*) echo "map $range $path"; continue ;; esac
		for h in "${huge[@]}"; do
			case $path in "$h"*) echo "map $range $path" ;; esac
		done
	done <"/proc/$p/maps"
} >"$1"
