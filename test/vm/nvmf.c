// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvmf serving QEMU's NVMe controller to the guest kernel's NVMe/TCP host, with nvme-cli
 * and fio as the peers (test/vm/nvmf.sh), and updk's NVMe/TCP initiator driving the guest
 * kernel's target, nvmet-tcp (test/vm/nvmf_initiator.sh). The checks connect, rebind and stop
 * processes, so they are shell scripts; this runs them and shows what they printed.
 */
#include <criterion/criterion.h>

#include "test/vm/vm_util.h"

TestSuite(nvmf_vm, .timeout = 600);

Test(nvmf_vm, kernel_host_through_the_target)
{
	vm_env("UPDK_VM_NVME");
	vm_run_script("test/vm/nvmf.sh");
}

Test(nvmf_vm, updk_initiator_against_the_kernel_target)
{
	vm_run_script("test/vm/nvmf_initiator.sh");
}
