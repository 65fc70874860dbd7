// SPDX-License-Identifier: BSD-3-Clause
/*
 * The tools as an ordinary user (no root, no capabilities) on QEMU's NVMe controller: with the
 * VFIO group and a hugetlbfs mount given to the user and a sufficient locked-memory limit they
 * work; with a small limit or a mount the user may not write to they say what to change. The
 * checks switch users and limits per command, so they are a shell script (test/vm/nonroot.sh);
 * this runs it and shows what it printed.
 */
#include <criterion/criterion.h>

#include "test/vm/vm_util.h"

TestSuite(nonroot_vm, .timeout = 600);

Test(nonroot_vm, tools_work_as_a_user_and_say_what_is_missing)
{
	vm_env("UPDK_VM_NVME");
	vm_run_script("test/vm/nonroot.sh");
}
