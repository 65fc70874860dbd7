// SPDX-License-Identifier: BSD-3-Clause
/* Status codes to names (NVMe Base 2.0 §4.6.1.2) and the completion status accessors. */
#include <string.h>

#include <criterion/criterion.h>

#include <updk/nvme.h>

Test(nvme_status, known_names)
{
	cr_assert_str_eq(updk_nvme_status_str(0, 0x00), "Successful Completion");
	cr_assert_str_eq(updk_nvme_status_str(0, 0x02), "Invalid Field in Command");
	cr_assert_str_eq(updk_nvme_status_str(0, 0x80), "LBA Out of Range");
	cr_assert_str_eq(updk_nvme_status_str(0, 0x0b), "Invalid Namespace or Format");
	cr_assert_str_eq(updk_nvme_status_str(1, 0x02), "Invalid Queue Size");
	cr_assert_str_eq(updk_nvme_status_str(2, 0x85), "Compare Failure");
	cr_assert_str_eq(updk_nvme_status_str(2, 0x81), "Unrecovered Read Error");
	cr_assert_str_eq(updk_nvme_status_str(3, 0x71), "Command Aborted By Host");
	/* the ones updk-nvme once printed as numbers: PI checks and the zones */
	cr_assert_str_eq(updk_nvme_status_str(2, 0x82), "End-to-end Guard Check Error");
	cr_assert_str_eq(updk_nvme_status_str(2, 0x83), "End-to-end Application Tag Check Error");
	cr_assert_str_eq(updk_nvme_status_str(2, 0x84), "End-to-end Reference Tag Check Error");
	cr_assert_str_eq(updk_nvme_status_str(1, 0x81), "Invalid Protection Information");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xb8), "Zone Boundary Error");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xb9), "Zone Is Full");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xba), "Zone Is Read Only");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xbb), "Zone Is Offline");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xbc), "Zone Invalid Write");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xbd), "Too Many Active Zones");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xbe), "Too Many Open Zones");
	cr_assert_str_eq(updk_nvme_status_str(1, 0xbf), "Invalid Zone State Transition");
}

/* One enum per Status Code Type: a code is named by its pair, and the enums agree with the
 * names (NVMe Base 2.0 Figures 95, 96, 98; NVM Command Set 1.0 Figure 19). */
Test(nvme_status, codes_are_read_with_their_type)
{
	cr_assert_eq(UPDK_NVME_SC_SUCCESS, UPDK_NVME_SC_INTERNAL_PATH_ERROR, "both are 00h");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_SUCCESS),
			 "Successful Completion");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_PATH, UPDK_NVME_SC_INTERNAL_PATH_ERROR),
			 "Internal Path Error");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_CMD_SPECIFIC,
					      UPDK_NVME_SC_COMPLETION_QUEUE_INVALID),
			 "Completion Queue Invalid");
	cr_assert_str_eq(
		updk_nvme_status_str(UPDK_NVME_SCT_GENERIC, UPDK_NVME_SC_ABORTED_SQ_DELETION),
		"Command Aborted due to SQ Deletion");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_CMD_SPECIFIC,
					      UPDK_NVME_SC_INVALID_INTERRUPT_VECTOR),
			 "Invalid Interrupt Vector", "08h again, under another type");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_MEDIA, UPDK_NVME_SC_COMPARE_FAILURE),
			 "Compare Failure");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_CMD_SPECIFIC,
					      UPDK_NVME_SC_COMMAND_SIZE_LIMIT_EXCEEDED),
			 "Command Size Limit Exceeded");
	cr_assert_str_eq(updk_nvme_status_str(UPDK_NVME_SCT_PATH, UPDK_NVME_SC_ABORTED_BY_HOST),
			 "Command Aborted By Host");
}

Test(nvme_status, unknown_codes_are_named_by_number)
{
	cr_assert_str_eq(updk_nvme_status_str(0, 0x7f), "Unknown status (sct 0x0, sc 0x7f)");
	cr_assert_str_eq(updk_nvme_status_str(5, 0x01), "Unknown status (sct 0x5, sc 0x01)");
	cr_assert_str_eq(updk_nvme_status_str(7, 0xc0), "Vendor Specific status (sc 0xc0)");
	cr_assert_str_eq(updk_nvme_sct_str(2), "Media and Data Integrity Errors");
	cr_assert_str_eq(updk_nvme_sct_str(6), "Reserved Status Code Type");
}

Test(nvme_status, cpl_fields)
{
	/* SC 80h, SCT 0, DNR set, phase 1 */
	struct updk_nvme_cpl cpl = { .status = (uint16_t)(1u << 15 | 0x80u << 1 | 1u) };

	cr_assert_eq(updk_nvme_cpl_sc(&cpl), 0x80);
	cr_assert_eq(updk_nvme_cpl_sct(&cpl), 0);
	cr_assert(updk_nvme_cpl_dnr(&cpl));
	cr_assert(updk_nvme_cpl_is_error(&cpl));
	cpl.status = 1; /* phase only */
	cr_assert_not(updk_nvme_cpl_is_error(&cpl));
	cpl.status = (uint16_t)(3u << 9 | 0x71u << 1);
	cr_assert_eq(updk_nvme_cpl_sct(&cpl), 3);
	cr_assert_eq(updk_nvme_cpl_sc(&cpl), 0x71);
}
