// SPDX-License-Identifier: BSD-3-Clause
/*
 * The tools as an ordinary user (no root, no capabilities) on QEMU's NVMe controller: with the
 * VFIO group and a hugetlbfs mount given to the user and a sufficient locked-memory limit they
 * work; with a small limit or a mount the user may not write to they say what to change. The
 * checks switch users and limits per command, so they are a shell script (test/vm/nonroot.sh);
 * this runs it and shows what it printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

TestSuite(nonroot_vm, .timeout = 600);

Test(nonroot_vm, tools_work_as_a_user_and_say_what_is_missing)
{
	char out[16384];
	size_t len;
	FILE *p;
	int st;

	if (!getenv("UPDK_VM_NVME"))
		cr_skip_test(
			"UPDK_VM_NVME is not set: this runs inside the test guest (make check-vm)");
	p = popen("test/vm/nonroot.sh 2>&1", "r");
	cr_assert(p);
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = '\0';
	st = pclose(p);
	fputs(out, stderr);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "test/vm/nonroot.sh failed:\n%s", out);
}
