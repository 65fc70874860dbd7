/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the VM-ring suites: the guest's environment and driver binding.
 *
 * test/vm/run.sh exports the guest's device addresses as UPDK_VM_* variables (test/vm/README.md);
 * outside the guest they are unset and every test that needs one is skipped, not failed.
 */
#ifndef UPDK_TEST_VM_UTIL_H
#define UPDK_TEST_VM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The value of @name; skips the calling test when it is unset or empty (not in the guest). */
const char *vm_env(const char *name);

/* scripts/setup.sh, or $UPDK_SETUP_SH when a test points it elsewhere. */
const char *vm_setup_sh(void);

/* The kernel driver @bdf is bound to, "" when none; truncated to @len - 1 characters. */
void vm_driver_of(const char *bdf, char *buf, size_t len);

/*
 * Bind @bdf to @want: "vfio-pci" through `setup.sh bind`, any other name through `setup.sh
 * unbind`, which hands the device back to its kernel driver. Nothing happens when it is bound to
 * @want already; the test fails when it is not bound to @want afterwards.
 */
void vm_bind(const char *bdf, const char *want);

/* The IOMMU group of @bdf; the test fails when it has none. */
int vm_group_of(const char *bdf);

/*
 * Run the shell command @cmd and return its standard output (at most 64 KiB, NUL-terminated;
 * the caller frees it); the test fails, showing that output, when the command does not exit 0.
 */
char *vm_capture(const char *cmd);

/*
 * The kernel's device nodes for namespace @nsid of the NVMe controller @bdf once the nvme driver
 * has brought it up (waits up to 20 s, else fails): "/dev/nvmeX" in @ctrl, "/dev/nvmeXnN" in @ns.
 */
void vm_nvme_devs(const char *bdf, uint32_t nsid, char *ctrl, char *ns, size_t len);

/* Run a test script (stderr joined to stdout) and show its output; fail unless it exits 0. */
void vm_run_script(const char *script);

/* Interrupts the guest counted on @bdf's vfio-msix vector @v (/proc/interrupts, every CPU);
 * -1 when it lists no such vector (not enabled). */
long long vm_msix_count(const char *bdf, unsigned v);

/* The calling thread's CPU time (user and system), and CLOCK_MONOTONIC, in seconds. */
double vm_thread_cpu_s(void);
double vm_wall_s(void);

#endif
