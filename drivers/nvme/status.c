/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Status codes to names, for errors and logs. Names follow the specification's wording:
 * NVMe Base 2.0 §4.6.1.2 (Figure 95 generic, Figure 96 command specific, Figure 97 media,
 * Figure 98 path related) and NVM Command Set 1.0 §3.3 (the 80h.. codes of each type).
 */
#include <stdio.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

struct status_name {
	uint8_t sc;
	const char *name;
};

static const struct status_name generic[] = {
	{ 0x00, "Successful Completion" },
	{ 0x01, "Invalid Command Opcode" },
	{ 0x02, "Invalid Field in Command" },
	{ 0x03, "Command ID Conflict" },
	{ 0x04, "Data Transfer Error" },
	{ 0x05, "Commands Aborted due to Power Loss Notification" },
	{ 0x06, "Internal Error" },
	{ 0x07, "Command Abort Requested" },
	{ 0x08, "Command Aborted due to SQ Deletion" },
	{ 0x09, "Command Aborted due to Failed Fused Command" },
	{ 0x0a, "Command Aborted due to Missing Fused Command" },
	{ 0x0b, "Invalid Namespace or Format" },
	{ 0x0c, "Command Sequence Error" },
	{ 0x0d, "Invalid SGL Segment Descriptor" },
	{ 0x0e, "Invalid Number of SGL Descriptors" },
	{ 0x0f, "Data SGL Length Invalid" },
	{ 0x10, "Metadata SGL Length Invalid" },
	{ 0x11, "SGL Descriptor Type Invalid" },
	{ 0x12, "Invalid Use of Controller Memory Buffer" },
	{ 0x13, "PRP Offset Invalid" },
	{ 0x14, "Atomic Write Unit Exceeded" },
	{ 0x15, "Operation Denied" },
	{ 0x16, "SGL Offset Invalid" },
	{ 0x18, "Host Identifier Inconsistent Format" },
	{ 0x19, "Keep Alive Timer Expired" },
	{ 0x1a, "Keep Alive Timeout Invalid" },
	{ 0x1b, "Command Aborted due to Preempt and Abort" },
	{ 0x1c, "Sanitize Failed" },
	{ 0x1d, "Sanitize In Progress" },
	{ 0x1e, "SGL Data Block Granularity Invalid" },
	{ 0x1f, "Command Not Supported for Queue in CMB" },
	{ 0x20, "Namespace is Write Protected" },
	{ 0x21, "Command Interrupted" },
	{ 0x22, "Transient Transport Error" },
	{ 0x23, "Command Prohibited by Command and Feature Lockdown" },
	{ 0x24, "Admin Command Media Not Ready" },
	{ 0x80, "LBA Out of Range" },
	{ 0x81, "Capacity Exceeded" },
	{ 0x82, "Namespace Not Ready" },
	{ 0x83, "Reservation Conflict" },
	{ 0x84, "Format In Progress" },
};

static const struct status_name cmd_specific[] = {
	{ 0x00, "Completion Queue Invalid" },
	{ 0x01, "Invalid Queue Identifier" },
	{ 0x02, "Invalid Queue Size" },
	{ 0x03, "Abort Command Limit Exceeded" },
	{ 0x05, "Asynchronous Event Request Limit Exceeded" },
	{ 0x06, "Invalid Firmware Slot" },
	{ 0x07, "Invalid Firmware Image" },
	{ 0x08, "Invalid Interrupt Vector" },
	{ 0x09, "Invalid Log Page" },
	{ 0x0a, "Invalid Format" },
	{ 0x0b, "Firmware Activation Requires Conventional Reset" },
	{ 0x0c, "Invalid Queue Deletion" },
	{ 0x0d, "Feature Identifier Not Saveable" },
	{ 0x0e, "Feature Not Changeable" },
	{ 0x0f, "Feature Not Namespace Specific" },
	{ 0x10, "Firmware Activation Requires NVM Subsystem Reset" },
	{ 0x11, "Firmware Activation Requires Controller Level Reset" },
	{ 0x12, "Firmware Activation Requires Maximum Time Violation" },
	{ 0x13, "Firmware Activation Prohibited" },
	{ 0x14, "Overlapping Range" },
	{ 0x15, "Namespace Insufficient Capacity" },
	{ 0x16, "Namespace Identifier Unavailable" },
	{ 0x18, "Namespace Already Attached" },
	{ 0x19, "Namespace Is Private" },
	{ 0x1a, "Namespace Not Attached" },
	{ 0x1b, "Thin Provisioning Not Supported" },
	{ 0x1c, "Controller List Invalid" },
	{ 0x1d, "Device Self-test In Progress" },
	{ 0x1e, "Boot Partition Write Prohibited" },
	{ 0x1f, "Invalid Controller Identifier" },
	{ 0x20, "Invalid Secondary Controller State" },
	{ 0x21, "Invalid Number of Controller Resources" },
	{ 0x22, "Invalid Resource Identifier" },
	{ 0x23, "Sanitize Prohibited While Persistent Memory Region is Enabled" },
	{ 0x24, "ANA Group Identifier Invalid" },
	{ 0x25, "ANA Attach Failed" },
	{ 0x80, "Conflicting Attributes" },
	{ 0x81, "Invalid Protection Information" },
	{ 0x82, "Attempted Write to Read Only Range" },
	{ 0x83, "Command Size Limit Exceeded" },
};

static const struct status_name media[] = {
	{ 0x80, "Write Fault" },
	{ 0x81, "Unrecovered Read Error" },
	{ 0x82, "End-to-end Guard Check Error" },
	{ 0x83, "End-to-end Application Tag Check Error" },
	{ 0x84, "End-to-end Reference Tag Check Error" },
	{ 0x85, "Compare Failure" },
	{ 0x86, "Access Denied" },
	{ 0x87, "Deallocated or Unwritten Logical Block" },
};

static const struct status_name path[] = {
	{ 0x00, "Internal Path Error" },
	{ 0x01, "Asymmetric Access Persistent Loss" },
	{ 0x02, "Asymmetric Access Inaccessible" },
	{ 0x03, "Asymmetric Access Transition" },
	{ 0x60, "Controller Pathing Error" },
	{ 0x70, "Host Pathing Error" },
	{ 0x71, "Command Aborted By Host" },
};

#define TABLE(t)                            \
	{                                   \
		t, sizeof(t) / sizeof(t[0]) \
	}

static const struct {
	const struct status_name *names;
	size_t n;
} tables[8] = {
	[UPDK_NVME_SCT_GENERIC] = TABLE(generic),
	[UPDK_NVME_SCT_CMD_SPECIFIC] = TABLE(cmd_specific),
	[UPDK_NVME_SCT_MEDIA] = TABLE(media),
	[UPDK_NVME_SCT_PATH] = TABLE(path),
};

const char *updk_nvme_sct_str(uint8_t sct)
{
	switch (sct) {
	case UPDK_NVME_SCT_GENERIC:
		return "Generic Command Status";
	case UPDK_NVME_SCT_CMD_SPECIFIC:
		return "Command Specific Status";
	case UPDK_NVME_SCT_MEDIA:
		return "Media and Data Integrity Errors";
	case UPDK_NVME_SCT_PATH:
		return "Path Related Status";
	case UPDK_NVME_SCT_VENDOR:
		return "Vendor Specific";
	default:
		return "Reserved Status Code Type";
	}
}

const char *updk_nvme_status_str(uint8_t sct, uint8_t sc)
{
	static __thread char unknown[64];

	if (sct < 8) {
		for (size_t i = 0; i < tables[sct].n; i++)
			if (tables[sct].names[i].sc == sc)
				return tables[sct].names[i].name;
	}
	if (sct == UPDK_NVME_SCT_VENDOR)
		snprintf(unknown, sizeof(unknown), "Vendor Specific status (sc 0x%02x)", sc);
	else
		snprintf(unknown, sizeof(unknown), "Unknown status (sct 0x%x, sc 0x%02x)", sct, sc);
	return unknown;
}

void nvme_log_cpl(const struct updk_nvme_ctrlr *ctrlr, const char *what,
		  const struct updk_nvme_cpl *cpl)
{
	uint8_t sct = updk_nvme_cpl_sct(cpl), sc = updk_nvme_cpl_sc(cpl);

	log_err("%s: %s failed: %s (sct 0x%x, sc 0x%02x%s)", ctrlr->name, what,
		updk_nvme_status_str(sct, sc), sct, sc,
		updk_nvme_cpl_dnr(cpl) ? ", do not retry" : "");
}
