// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk-nvme on QEMU's NVMe controller, checked against the guest kernel's nvme driver and
 * nvme-cli on the same controller. The checks rebind the device between the two drivers, so
 * they are a shell script (test/vm/nvme_tool.sh); this runs it and shows what it printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

TestSuite(nvme_tool_vm, .timeout = 600);

Test(nvme_tool_vm, identify_and_data_agree_with_the_kernel)
{
	char out[16384];
	size_t len;
	FILE *p;
	int st;

	if (!getenv("UPDK_VM_NVME"))
		cr_skip_test(
			"UPDK_VM_NVME is not set: this runs inside the test guest (make check-vm)");
	p = popen("test/vm/nvme_tool.sh 2>&1", "r");
	cr_assert(p);
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = '\0';
	st = pclose(p);
	fputs(out, stderr);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "test/vm/nvme_tool.sh failed:\n%s", out);
}
