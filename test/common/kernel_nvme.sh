#!/bin/bash
# The kernel's side of an NVMe function, for the scripts that source this and compare updk with
# the kernel's nvme driver on one controller (test/vm/fio_vm.sh, test/bench/*.sh). Run from the
# top of the tree, as root, in the test guest.
#
#   kernel_nvme_blockdev BDF   the kernel's block device of BDF's namespace 1, once it is there
#                              (up to 60 s: a loaded TCG guest is slow); nothing when it does
#                              not come
#   kernel_nvme_polled BDF     reload nvme with one poll queue (io_uring's --hipri polls it),
#                              BDF on it; the block device, as above
kernel_nvme_blockdev() {
	local n
	for _ in $(seq 600); do
		for n in /sys/bus/pci/devices/"$1"/nvme/nvme*/nvme*n1; do
			[ -b "/dev/${n##*/}" ] && { echo "/dev/${n##*/}"; return; }
		done
		sleep 0.1
	done
}
kernel_nvme_polled() {
	scripts/setup.sh unbind "$1" >/dev/null 2>&1 || true
	modprobe -r nvme 2>/dev/null || true
	modprobe nvme poll_queues=1
	kernel_nvme_blockdev "$1"
}
