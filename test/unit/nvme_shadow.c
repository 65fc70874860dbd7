// SPDX-License-Identifier: BSD-3-Clause
/*
 * pcie_shadow_choice(): shadow doorbells per controller (docs/nvme-driver.md). Off where they
 * are not offered or the caller said off; on where the caller said on; by default off only for
 * QEMU's NVMe model (1b36:0010) under QEMU's TCG, on everywhere else they are offered.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "drivers/nvme/pcie/pcie.h"

static const struct util_hv_info bare = { UTIL_HV_NONE, "" };
static const struct util_hv_info tcg = { UTIL_HV_TCG, "TCGTCGTCGTCG" };
static const struct util_hv_info kvm = { UTIL_HV_OTHER, "KVMKVMKVM" };

static bool choose(enum updk_nvme_shadow opt, bool offered, uint16_t vid, uint16_t did,
		   const struct util_hv_info *hv, const char **why)
{
	bool on;

	*why = NULL;
	on = pcie_shadow_choice(opt, offered, vid, did, hv, why);
	cr_assert_not_null(*why, "a reason is always given");
	return on;
}

Test(nvme_shadow, not_offered_is_off_whatever_asked)
{
	const char *why;

	cr_assert_not(choose(UPDK_NVME_SHADOW_ON, false, 0x1b36, 0x0010, &kvm, &why));
	cr_assert_not(choose(UPDK_NVME_SHADOW_AUTO, false, 0x8086, 0x0953, &bare, &why));
	cr_assert(strstr(why, "not offered"), "%s", why);
}

Test(nvme_shadow, asked_for_wins_where_offered)
{
	const char *why;

	cr_assert(choose(UPDK_NVME_SHADOW_ON, true, 0x1b36, 0x0010, &tcg, &why));
	cr_assert_not(choose(UPDK_NVME_SHADOW_OFF, true, 0x1b36, 0x0010, &kvm, &why));
}

Test(nvme_shadow, auto_off_only_for_qemu_nvme_under_tcg)
{
	const char *why;

	cr_assert_not(choose(UPDK_NVME_SHADOW_AUTO, true, 0x1b36, 0x0010, &tcg, &why));
	cr_assert(strstr(why, "QEMU's NVMe under TCG"), "%s", why);
	/* the same model where MMIO is trapped (KVM): SPDK's and Linux's choice */
	cr_assert(choose(UPDK_NVME_SHADOW_AUTO, true, 0x1b36, 0x0010, &kvm, &why));
	/* another controller under TCG (a vfio-user one, say), QEMU's model on bare metal (as
	 * nothing runs it), another vendor's device of the same number */
	cr_assert(choose(UPDK_NVME_SHADOW_AUTO, true, 0x4e58, 0x0001, &tcg, &why));
	cr_assert(choose(UPDK_NVME_SHADOW_AUTO, true, 0x1b36, 0x0010, &bare, &why));
	cr_assert(choose(UPDK_NVME_SHADOW_AUTO, true, 0x1b36, 0x0011, &tcg, &why));
	cr_assert(choose(UPDK_NVME_SHADOW_AUTO, true, 0x8086, 0x0010, &tcg, &why));
}
