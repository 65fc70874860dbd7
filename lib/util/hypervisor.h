/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which hypervisor, if any, this process runs under, from the CPU's own answer (CPUID). A
 * driver uses it where the cost of an MMIO write depends on it: under a hypervisor that traps
 * MMIO to an emulated device (KVM, Xen, Hyper-V, ...) a write is a VM exit; under QEMU's TCG,
 * which emulates the CPU, it is a call into the device model on the vCPU's own thread; on bare
 * metal it is a posted write on the bus.
 */
#ifndef UPDK_UTIL_HYPERVISOR_H
#define UPDK_UTIL_HYPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

enum util_hv {
	UTIL_HV_NONE, /* no hypervisor bit: bare metal */
	UTIL_HV_TCG, /* QEMU's TCG: the CPU itself is emulated, MMIO is not trapped */
	UTIL_HV_OTHER, /* a hypervisor that runs guest code on the CPU and traps MMIO */
};

struct util_hv_info {
	enum util_hv kind;
	char sig[13]; /* CPUID 40000000h's vendor signature, printable, "" without one */
};

/* The hypervisor this process runs under (CPUID read once, then cached). */
const struct util_hv_info *util_hypervisor(void);

/* The classification from CPUID's raw answer: leaf 1 ECX bit 31, and leaf 40000000h's EBX, ECX,
 * EDX (the signature, twelve characters). Apart from util_hypervisor() for the unit tests. */
void util_hv_classify(bool hv_bit, uint32_t ebx, uint32_t ecx, uint32_t edx,
		      struct util_hv_info *out);

#endif
