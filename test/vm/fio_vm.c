// SPDX-License-Identifier: BSD-3-Clause
/*
 * fio with the updk engine on QEMU's NVMe controller, its data read back by fio through the
 * guest kernel's nvme driver. The checks rebind the device and run fio, so they are a shell
 * script (test/vm/fio_vm.sh); this runs it and shows what it printed.
 */
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/vm/vm_util.h"

TestSuite(fio_vm, .timeout = 600);

Test(fio_vm, engine_writes_the_kernel_reads_back)
{
	vm_env("UPDK_VM_NVME");
	/* ./configure without --with-fio builds no engine; CI's check-fio fails on that instead. */
	if (access("build/lib/fio_updk.so", R_OK))
		cr_skip_test("build/lib/fio_updk.so is not built (./configure --with-fio)");
	vm_run_script("test/vm/fio_vm.sh");
}
