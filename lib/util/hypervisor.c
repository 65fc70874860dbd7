// SPDX-License-Identifier: BSD-3-Clause
/*
 * CPUID's hypervisor bit and vendor signature. Leaf 1 ECX bit 31 is set by every hypervisor and
 * clear on bare metal (Intel SDM Vol. 2A, CPUID, "Not Used", which hypervisors took over; AMD
 * APM Vol. 3, CPUID Fn0000_0001_ECX bit 31, "reserved for use by hypervisor to indicate guest
 * status"); leaves 40000000h-400000FFh are then the hypervisor's own, 40000000h naming it in
 * EBX, ECX, EDX: "KVMKVMKVM\0\0\0", "TCGTCGTCGTCG" (QEMU's TCG), "Microsoft Hv", "XenVMMXenVMM",
 * "VMwareVMware", "bhyve bhyve ".
 */
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "lib/util/hypervisor.h"

void util_hv_classify(bool hv_bit, uint32_t ebx, uint32_t ecx, uint32_t edx,
		      struct util_hv_info *out)
{
	char raw[12];
	size_t n = 12;

	memset(out, 0, sizeof(*out));
	if (!hv_bit) {
		out->kind = UTIL_HV_NONE;
		return;
	}
	memcpy(raw, &ebx, 4);
	memcpy(raw + 4, &ecx, 4);
	memcpy(raw + 8, &edx, 4);
	while (n > 0 && raw[n - 1] == '\0') /* "KVMKVMKVM\0\0\0" */
		n--;
	for (size_t i = 0; i < n; i++)
		out->sig[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? raw[i] : '.';
	out->kind = memcmp(raw, "TCGTCGTCGTCG", 12) ? UTIL_HV_OTHER : UTIL_HV_TCG;
}

static struct util_hv_info hv_info;
static pthread_once_t hv_once = PTHREAD_ONCE_INIT;

static void hv_read(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b = 0, c = 0, d = 0;
	bool hv = false;

	if (__get_cpuid(1, &a, &b, &c, &d))
		hv = (c >> 31) & 1;
	b = c = d = 0;
	if (hv)
		__cpuid(0x40000000, a, b, c, d);
	util_hv_classify(hv, b, c, d, &hv_info);
#else
	util_hv_classify(false, 0, 0, 0, &hv_info);
#endif
}

const struct util_hv_info *util_hypervisor(void)
{
	pthread_once(&hv_once, hv_read);
	return &hv_info;
}
