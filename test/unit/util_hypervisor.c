// SPDX-License-Identifier: BSD-3-Clause
/* util_hv_classify(): CPUID's hypervisor bit and leaf 40000000h's signature, as hypervisors
 * give them, and util_hypervisor() agreeing with itself. */
#include <string.h>

#include <criterion/criterion.h>

#include "lib/util/hypervisor.h"

/* The twelve signature bytes as CPUID returns them in EBX, ECX, EDX. */
static void classify(bool hv, const char sig[12], struct util_hv_info *out)
{
	uint32_t r[3];

	memcpy(r, sig, 12);
	util_hv_classify(hv, r[0], r[1], r[2], out);
}

Test(util_hypervisor, bare_metal_without_the_bit)
{
	struct util_hv_info i;

	classify(false, "TCGTCGTCGTCG", &i); /* no bit: leaf 40000000h is not the hypervisor's */
	cr_assert_eq(i.kind, UTIL_HV_NONE);
	cr_assert_str_empty(i.sig);
}

Test(util_hypervisor, tcg_is_told_apart)
{
	struct util_hv_info i;

	classify(true, "TCGTCGTCGTCG", &i);
	cr_assert_eq(i.kind, UTIL_HV_TCG);
	cr_assert_str_eq(i.sig, "TCGTCGTCGTCG");
}

Test(util_hypervisor, trapping_hypervisors)
{
	static const char *const sigs[][2] = {
		{ "KVMKVMKVM\0\0\0", "KVMKVMKVM" },
		{ "Microsoft Hv", "Microsoft Hv" },
		{ "XenVMMXenVMM", "XenVMMXenVMM" },
		{ "VMwareVMware", "VMwareVMware" },
		{ "bhyve bhyve ", "bhyve bhyve " },
		{ "\0\0\0\0\0\0\0\0\0\0\0\0", "" },
		{ "ab\x01\x7f"
		  "cdefghij",
		  "ab..cdefghij" },
	};
	struct util_hv_info i;

	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
		classify(true, sigs[k][0], &i);
		cr_assert_eq(i.kind, UTIL_HV_OTHER, "%s", sigs[k][1]);
		cr_assert_str_eq(i.sig, sigs[k][1]);
	}
}

Test(util_hypervisor, read_once_and_stable)
{
	const struct util_hv_info *a = util_hypervisor(), *b = util_hypervisor();

	cr_assert_eq(a, b);
	cr_assert(a->kind == UTIL_HV_NONE || a->kind == UTIL_HV_TCG || a->kind == UTIL_HV_OTHER);
	if (a->kind == UTIL_HV_NONE)
		cr_assert_str_empty(a->sig);
}
