#!/bin/bash
# The source of the fio installed on this machine, for building the updk ioengine against it.
#
#   plugins/fio/fio-source.sh fetch DIR   fetch and configure it under DIR (reused when there)
#   plugins/fio/fio-source.sh check TREE  check that TREE is a configured source of that fio
#
# Both print the source tree's path on stdout, or exit 1 with the reason on stderr.
#
# An external ioengine uses fio's own structures (struct thread_data, struct io_u), so it must be
# built against the headers of the very fio that loads it. `fetch` finds the Debian package the
# fio binary came from, downloads that package's source at the same version with `apt-get source
# --download-only` (apt checks it against the archive's signed index), unpacks it with Debian's
# patches and runs fio's configure as Debian's build did, which writes the config-host.h every fio
# header expects.
#
# apt runs with a sources list, lists and cache of its own under DIR: deb-src lines for the
# Debian mirrors and suites the system's apt already uses. The system's apt configuration and
# lists are left as they are.
set -eu

prog=fio-source.sh
die() { echo "$prog: $*" >&2; exit 1; }
[ $# = 2 ] || die "usage: $prog fetch DIR | check TREE"

fio=$(command -v fio) || die "fio is not installed: apt-get install fio (scripts/pkgdep.sh does)"
fio_ver=$("$fio" --version 2>/dev/null) || die "$fio --version failed"
# The headers' version must be the binary's ("fio-3.33" in both).
same_version() { # TREE
	local v
	v=$(sed -n 's/^DEF_VER=//p' "$1/FIO-VERSION-GEN" 2>/dev/null)
	[ "$v" = "$fio_ver" ] || die "$1 is the source of ${v:-no fio}, but $fio is $fio_ver"
}

case $1 in
check)
	[ -f "$2/fio.h" ] && [ -f "$2/config-host.h" ] ||
		die "$2 is not a configured fio source tree (no fio.h or config-host.h: run its ./configure)"
	same_version "$2"
	echo "$2"
	exit 0 ;;
fetch) ;;
*) die "usage: $prog fetch DIR | check TREE" ;;
esac
mkdir -p "$2" || die "cannot make $2"
dir=$(cd "$2" && pwd)
# The package that owns the binary, and its version: the source must be that version exactly.
pkg=$(dpkg-query -S "$(readlink -f "$fio")" 2>/dev/null | sed -n '1s/:.*//p') || pkg=
[ -n "$pkg" ] || die "$fio ($fio_ver) is not from a Debian package, so its source cannot be fetched: install fio with apt-get, or give ./configure --with-fio=TREE its configured source tree"
deb_ver=$(dpkg-query -W -f='${Version}' "$pkg")
src_pkg=$(dpkg-query -W -f='${source:Package}' "$pkg")
tree=$dir/$src_pkg-$deb_ver

if [ -f "$tree/.updk-configured" ]; then
	echo "$tree"
	exit 0
fi

for t in apt-get dpkg-source; do
	command -v $t >/dev/null || die "$t not found: apt-get install apt dpkg-dev"
done

# deb-src lines for the Debian archives the system installs from.
apt_dir=$dir/apt
rm -rf "$apt_dir" "$tree"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(ORIGIN)' \
	'Created-By: Packages' 2>/dev/null |
	awk '$4 == "Debian" { print "deb-src " $1 " " $2 " " $3 }' | sort -u >"$apt_dir/sources.list"
[ -s "$apt_dir/sources.list" ] ||
	die "the system's apt sources name no Debian archive to fetch fio's source from (see /etc/apt/sources.list.d/)"
apt=(apt-get -q -o Dir::Etc::SourceList="$apt_dir/sources.list"
	-o Dir::Etc::SourceParts="$apt_dir/parts" -o Dir::State::Lists="$apt_dir/lists"
	-o Dir::Cache="$apt_dir/cache" -o Debug::NoLocking=1)
# apt drops to its own user to download, which cannot write into a folder of ours.
[ "$(id -u)" = 0 ] && apt+=(-o APT::Sandbox::User=root)

log=$dir/fetch.log
: >"$log"
echo "$prog: fetching the source of $pkg $deb_ver ($fio_ver) from $(awk '{ print $2 }' "$apt_dir/sources.list" | sort -u | tr '\n' ' ')" >&2
"${apt[@]}" update >>"$log" 2>&1 ||
	die "apt-get update with deb-src lines failed (network?); see $log"
(cd "$dir" && "${apt[@]}" source --download-only "$src_pkg=$deb_ver") >>"$log" 2>&1 ||
	die "apt-get source $src_pkg=$deb_ver failed: the archive may no longer carry this version (apt-get install --only-upgrade fio, then again); see $log"
dsc=$dir/${src_pkg}_${deb_ver#*:}.dsc
[ -f "$dsc" ] || die "apt-get source left no $dsc; see $log"
dpkg-source -x "$dsc" "$tree" >>"$log" 2>&1 || die "dpkg-source -x $dsc failed; see $log"

same_version "$tree"

# fio's configure writes the config-host.h every fio header is compiled with. Debian's build runs
# it with --disable-native --prefix=/usr (debian/rules), plus switches for the GUI and optional
# engines that change no structure the engine uses.
echo "$prog: configuring fio's source (./configure --disable-native --prefix=/usr)" >&2
(cd "$tree" && ./configure --disable-native --prefix=/usr) >>"$log" 2>&1 ||
	die "fio's configure failed; see $log"
[ -f "$tree/config-host.h" ] || die "fio's configure wrote no config-host.h; see $log"
# Not needed again: the lists are 10 MB.
rm -rf "$apt_dir" "$dir"/*.orig.tar.* "$dir"/*.debian.tar.* "$dir"/*.dsc
touch "$tree/.updk-configured"
echo "$tree"
