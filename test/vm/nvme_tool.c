// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme on QEMU's NVMe controller, checked against the guest kernel's nvme driver and
 * nvme-cli on the same controller. The checks rebind the device between the two drivers, so
 * they are a shell script (test/vm/nvme_tool.sh); this runs it and shows what it printed.
 */
#include <criterion/criterion.h>

#include "test/vm/vm_util.h"

TestSuite(nvme_tool_vm, .timeout = 600);

Test(nvme_tool_vm, identify_and_data_agree_with_the_kernel)
{
	vm_env("UPDK_VM_NVME");
	vm_run_script("test/vm/nvme_tool.sh");
}
