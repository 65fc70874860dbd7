/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Status codes to names, for errors and logs. Names follow the specification's wording:
 * NVMe Base 2.0 §4.6.1.2 (Figure 95 generic, Figure 96 command specific, Figure 97 media,
 * Figure 98 path related) with the codes NVMe Base 2.1 and 2.2 added, NVM Command Set 1.0 §3.3
 * (the 80h.. codes of each type; 85h..89h command specific from NVM Command Set 1.1) and the
 * Zoned Namespace Command Set 1.1 §3.4.1 (B6h..BFh). Every code <updk/nvme_spec.h> names is
 * here (test/unit/nvme_status.c checks). A code not named reads "Unknown status
 * (sct X, sc YY)", so a message that prints the name needs no numbers beside it.
 */
#include <stdio.h>
#include <string.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

struct status_name {
	uint8_t sc;
	const char *name;
};

static const struct status_name generic[] = {
	{ UPDK_NVME_SC_SUCCESS, "Successful Completion" },
	{ UPDK_NVME_SC_INVALID_OPCODE, "Invalid Command Opcode" },
	{ UPDK_NVME_SC_INVALID_FIELD, "Invalid Field in Command" },
	{ UPDK_NVME_SC_COMMAND_ID_CONFLICT, "Command ID Conflict" },
	{ UPDK_NVME_SC_DATA_TRANSFER_ERROR, "Data Transfer Error" },
	{ UPDK_NVME_SC_ABORTED_POWER_LOSS, "Commands Aborted due to Power Loss Notification" },
	{ UPDK_NVME_SC_INTERNAL_ERROR, "Internal Error" },
	{ UPDK_NVME_SC_ABORT_REQUESTED, "Command Abort Requested" },
	{ UPDK_NVME_SC_ABORTED_SQ_DELETION, "Command Aborted due to SQ Deletion" },
	{ UPDK_NVME_SC_ABORTED_FAILED_FUSED, "Command Aborted due to Failed Fused Command" },
	{ UPDK_NVME_SC_ABORTED_MISSING_FUSED, "Command Aborted due to Missing Fused Command" },
	{ UPDK_NVME_SC_INVALID_NAMESPACE, "Invalid Namespace or Format" },
	{ UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR, "Command Sequence Error" },
	{ UPDK_NVME_SC_INVALID_SGL_SEGMENT_DESCRIPTOR, "Invalid SGL Segment Descriptor" },
	{ UPDK_NVME_SC_INVALID_NUM_SGL_DESCRIPTORS, "Invalid Number of SGL Descriptors" },
	{ UPDK_NVME_SC_DATA_SGL_LENGTH_INVALID, "Data SGL Length Invalid" },
	{ UPDK_NVME_SC_METADATA_SGL_LENGTH_INVALID, "Metadata SGL Length Invalid" },
	{ UPDK_NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID, "SGL Descriptor Type Invalid" },
	{ UPDK_NVME_SC_INVALID_CMB_USE, "Invalid Use of Controller Memory Buffer" },
	{ UPDK_NVME_SC_INVALID_PRP_OFFSET, "PRP Offset Invalid" },
	{ UPDK_NVME_SC_ATOMIC_WRITE_UNIT_EXCEEDED, "Atomic Write Unit Exceeded" },
	{ UPDK_NVME_SC_OPERATION_DENIED, "Operation Denied" },
	{ UPDK_NVME_SC_INVALID_SGL_OFFSET, "SGL Offset Invalid" },
	{ UPDK_NVME_SC_HOSTID_INCONSISTENT_FORMAT, "Host Identifier Inconsistent Format" },
	{ UPDK_NVME_SC_KEEP_ALIVE_EXPIRED, "Keep Alive Timer Expired" },
	{ UPDK_NVME_SC_KEEP_ALIVE_INVALID, "Keep Alive Timeout Invalid" },
	{ UPDK_NVME_SC_ABORTED_PREEMPT, "Command Aborted due to Preempt and Abort" },
	{ UPDK_NVME_SC_SANITIZE_FAILED, "Sanitize Failed" },
	{ UPDK_NVME_SC_SANITIZE_IN_PROGRESS, "Sanitize In Progress" },
	{ UPDK_NVME_SC_SGL_DATA_BLOCK_GRANULARITY_INVALID, "SGL Data Block Granularity Invalid" },
	{ UPDK_NVME_SC_COMMAND_INVALID_IN_CMB, "Command Not Supported for Queue in CMB" },
	{ UPDK_NVME_SC_NAMESPACE_IS_WRITE_PROTECTED, "Namespace is Write Protected" },
	{ UPDK_NVME_SC_COMMAND_INTERRUPTED, "Command Interrupted" },
	{ UPDK_NVME_SC_TRANSIENT_TRANSPORT_ERROR, "Transient Transport Error" },
	{ UPDK_NVME_SC_COMMAND_PROHIBITED_BY_LOCKDOWN,
	  "Command Prohibited by Command and Feature Lockdown" },
	{ UPDK_NVME_SC_ADMIN_COMMAND_MEDIA_NOT_READY, "Admin Command Media Not Ready" },
	{ UPDK_NVME_SC_INVALID_KEY_TAG, "Invalid Key Tag" },
	{ UPDK_NVME_SC_HOST_DISPERSED_NS_NOT_ENABLED,
	  "Host Dispersed Namespace Support Not Enabled" },
	{ UPDK_NVME_SC_HOST_ID_NOT_INITIALIZED, "Host Identifier Not Initialized" },
	{ UPDK_NVME_SC_INCORRECT_KEY, "Incorrect Key" },
	{ UPDK_NVME_SC_FDP_DISABLED, "FDP Disabled" },
	{ UPDK_NVME_SC_INVALID_PLACEMENT_HANDLE_LIST, "Invalid Placement Handle List" },
	{ UPDK_NVME_SC_SANITIZE_NS_FAILED, "Sanitize Namespace Failed" },
	{ UPDK_NVME_SC_SANITIZE_NS_IN_PROGRESS, "Sanitize Namespace In Progress" },
	{ UPDK_NVME_SC_LBA_OUT_OF_RANGE, "LBA Out of Range" },
	{ UPDK_NVME_SC_CAPACITY_EXCEEDED, "Capacity Exceeded" },
	{ UPDK_NVME_SC_NAMESPACE_NOT_READY, "Namespace Not Ready" },
	{ UPDK_NVME_SC_RESERVATION_CONFLICT, "Reservation Conflict" },
	{ UPDK_NVME_SC_FORMAT_IN_PROGRESS, "Format In Progress" },
};

static const struct status_name cmd_specific[] = {
	{ UPDK_NVME_SC_COMPLETION_QUEUE_INVALID, "Completion Queue Invalid" },
	{ UPDK_NVME_SC_INVALID_QUEUE_IDENTIFIER, "Invalid Queue Identifier" },
	{ UPDK_NVME_SC_INVALID_QUEUE_SIZE, "Invalid Queue Size" },
	{ UPDK_NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED, "Abort Command Limit Exceeded" },
	{ UPDK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED,
	  "Asynchronous Event Request Limit Exceeded" },
	{ UPDK_NVME_SC_INVALID_FIRMWARE_SLOT, "Invalid Firmware Slot" },
	{ UPDK_NVME_SC_INVALID_FIRMWARE_IMAGE, "Invalid Firmware Image" },
	{ UPDK_NVME_SC_INVALID_INTERRUPT_VECTOR, "Invalid Interrupt Vector" },
	{ UPDK_NVME_SC_INVALID_LOG_PAGE, "Invalid Log Page" },
	{ UPDK_NVME_SC_INVALID_FORMAT, "Invalid Format" },
	{ UPDK_NVME_SC_FIRMWARE_REQ_CONVENTIONAL_RESET,
	  "Firmware Activation Requires Conventional Reset" },
	{ UPDK_NVME_SC_INVALID_QUEUE_DELETION, "Invalid Queue Deletion" },
	{ UPDK_NVME_SC_FEATURE_ID_NOT_SAVEABLE, "Feature Identifier Not Saveable" },
	{ UPDK_NVME_SC_FEATURE_NOT_CHANGEABLE, "Feature Not Changeable" },
	{ UPDK_NVME_SC_FEATURE_NOT_NAMESPACE_SPECIFIC, "Feature Not Namespace Specific" },
	{ UPDK_NVME_SC_FIRMWARE_REQ_NVM_RESET, "Firmware Activation Requires NVM Subsystem Reset" },
	{ UPDK_NVME_SC_FIRMWARE_REQ_RESET, "Firmware Activation Requires Controller Level Reset" },
	{ UPDK_NVME_SC_FIRMWARE_REQ_MAX_TIME_VIOLATION,
	  "Firmware Activation Requires Maximum Time Violation" },
	{ UPDK_NVME_SC_FIRMWARE_ACTIVATION_PROHIBITED, "Firmware Activation Prohibited" },
	{ UPDK_NVME_SC_OVERLAPPING_RANGE, "Overlapping Range" },
	{ UPDK_NVME_SC_NAMESPACE_INSUFFICIENT_CAPACITY, "Namespace Insufficient Capacity" },
	{ UPDK_NVME_SC_NAMESPACE_ID_UNAVAILABLE, "Namespace Identifier Unavailable" },
	{ UPDK_NVME_SC_NAMESPACE_ALREADY_ATTACHED, "Namespace Already Attached" },
	{ UPDK_NVME_SC_NAMESPACE_IS_PRIVATE, "Namespace Is Private" },
	{ UPDK_NVME_SC_NAMESPACE_NOT_ATTACHED, "Namespace Not Attached" },
	{ UPDK_NVME_SC_THIN_PROVISIONING_NOT_SUPPORTED, "Thin Provisioning Not Supported" },
	{ UPDK_NVME_SC_CONTROLLER_LIST_INVALID, "Controller List Invalid" },
	{ UPDK_NVME_SC_DEVICE_SELF_TEST_IN_PROGRESS, "Device Self-test In Progress" },
	{ UPDK_NVME_SC_BOOT_PARTITION_WRITE_PROHIBITED, "Boot Partition Write Prohibited" },
	{ UPDK_NVME_SC_INVALID_CONTROLLER_ID, "Invalid Controller Identifier" },
	{ UPDK_NVME_SC_INVALID_SECONDARY_CONTROLLER_STATE, "Invalid Secondary Controller State" },
	{ UPDK_NVME_SC_INVALID_NUM_CONTROLLER_RESOURCES, "Invalid Number of Controller Resources" },
	{ UPDK_NVME_SC_INVALID_RESOURCE_ID, "Invalid Resource Identifier" },
	{ UPDK_NVME_SC_SANITIZE_PROHIBITED_WITH_PMR,
	  "Sanitize Prohibited While Persistent Memory Region is Enabled" },
	{ UPDK_NVME_SC_ANA_GROUP_ID_INVALID, "ANA Group Identifier Invalid" },
	{ UPDK_NVME_SC_ANA_ATTACH_FAILED, "ANA Attach Failed" },
	{ UPDK_NVME_SC_INSUFFICIENT_CAPACITY, "Insufficient Capacity" },
	{ UPDK_NVME_SC_NS_ATTACHMENT_LIMIT_EXCEEDED, "Namespace Attachment Limit Exceeded" },
	{ UPDK_NVME_SC_PROHIBITION_NOT_SUPPORTED,
	  "Prohibition of Command Execution Not Supported" },
	{ UPDK_NVME_SC_IOCS_NOT_SUPPORTED, "I/O Command Set Not Supported" },
	{ UPDK_NVME_SC_IOCS_NOT_ENABLED, "I/O Command Set Not Enabled" },
	{ UPDK_NVME_SC_IOCS_COMBINATION_REJECTED, "I/O Command Set Combination Rejected" },
	{ UPDK_NVME_SC_INVALID_IOCS, "Invalid I/O Command Set" },
	{ UPDK_NVME_SC_IDENTIFIER_UNAVAILABLE, "Identifier Unavailable" },
	{ UPDK_NVME_SC_NS_IS_DISPERSED, "Namespace Is Dispersed" },
	{ UPDK_NVME_SC_INVALID_DISCOVERY_INFO, "Invalid Discovery Information" },
	{ UPDK_NVME_SC_ZONING_DATA_STRUCTURE_LOCKED, "Zoning Data Structure Locked" },
	{ UPDK_NVME_SC_ZONING_DATA_STRUCTURE_NOT_FOUND, "Zoning Data Structure Not Found" },
	{ UPDK_NVME_SC_INSUFFICIENT_DISCOVERY_RESOURCES, "Insufficient Discovery Resources" },
	{ UPDK_NVME_SC_REQUESTED_FUNCTION_DISABLED, "Requested Function Disabled" },
	{ UPDK_NVME_SC_ZONEGROUP_ORIGINATOR_INVALID, "ZoneGroup Originator Invalid" },
	{ UPDK_NVME_SC_INVALID_HOST, "Invalid Host" },
	{ UPDK_NVME_SC_INVALID_NVM_SUBSYSTEM, "Invalid NVM Subsystem" },
	{ UPDK_NVME_SC_INVALID_CONTROLLER_DATA_QUEUE, "Invalid Controller Data Queue" },
	{ UPDK_NVME_SC_NOT_ENOUGH_RESOURCES, "Not Enough Resources" },
	{ UPDK_NVME_SC_CONTROLLER_SUSPENDED, "Controller Suspended" },
	{ UPDK_NVME_SC_CONTROLLER_NOT_SUSPENDED, "Controller Not Suspended" },
	{ UPDK_NVME_SC_CONTROLLER_DATA_QUEUE_FULL, "Controller Data Queue Full" },
	{ UPDK_NVME_SC_EXCEEDS_MAX_NS_SANITIZE,
	  "Request Exceeds Maximum Namespace Sanitize Operations In Progress" },
	{ UPDK_NVME_SC_MFG_DEFAULT_PERSONALITY_REQUIRED,
	  "Manufacturing Default Personality Required" },
	{ UPDK_NVME_SC_INVALID_POWER_LIMIT, "Invalid Power Limit" },
	{ UPDK_NVME_SC_CROSS_CTRLR_RESET_IN_PROGRESS, "Cross-Controller Reset in Progress" },
	{ UPDK_NVME_SC_CROSS_CTRLR_RESET_LOG_FULL, "Cross-Controller Reset Log Page Full" },
	{ UPDK_NVME_SC_CROSS_CTRLR_RESET_LIMIT_EXCEEDED, "Cross-Controller Reset Limit Exceeded" },
	{ UPDK_NVME_SC_CONFLICTING_ATTRIBUTES, "Conflicting Attributes" },
	{ UPDK_NVME_SC_INVALID_PROTECTION_INFO, "Invalid Protection Information" },
	{ UPDK_NVME_SC_ATTEMPTED_WRITE_TO_RO_RANGE, "Attempted Write to Read Only Range" },
	{ UPDK_NVME_SC_COMMAND_SIZE_LIMIT_EXCEEDED, "Command Size Limit Exceeded" },
	{ UPDK_NVME_SC_INCOMPATIBLE_NS_OR_FORMAT, "Incompatible Namespace or Format" },
	{ UPDK_NVME_SC_FAST_COPY_NOT_POSSIBLE, "Fast Copy Not Possible" },
	{ UPDK_NVME_SC_OVERLAPPING_IO_RANGE, "Overlapping I/O Range" },
	{ UPDK_NVME_SC_INSUFFICIENT_RESOURCES, "Insufficient Resources" },
	{ UPDK_NVME_SC_INVALID_ZONE_OPERATION_REQUEST, "Invalid Zone Operation Request" },
	{ UPDK_NVME_SC_ZRWA_RESOURCES_UNAVAILABLE, "ZRWA Resources Unavailable" },
	{ UPDK_NVME_SC_ZONE_BOUNDARY_ERROR, "Zone Boundary Error" },
	{ UPDK_NVME_SC_ZONE_IS_FULL, "Zone Is Full" },
	{ UPDK_NVME_SC_ZONE_IS_READ_ONLY, "Zone Is Read Only" },
	{ UPDK_NVME_SC_ZONE_IS_OFFLINE, "Zone Is Offline" },
	{ UPDK_NVME_SC_ZONE_INVALID_WRITE, "Zone Invalid Write" },
	{ UPDK_NVME_SC_TOO_MANY_ACTIVE_ZONES, "Too Many Active Zones" },
	{ UPDK_NVME_SC_TOO_MANY_OPEN_ZONES, "Too Many Open Zones" },
	{ UPDK_NVME_SC_INVALID_ZONE_STATE_TRANSITION, "Invalid Zone State Transition" },
};

static const struct status_name media[] = {
	{ UPDK_NVME_SC_WRITE_FAULT, "Write Fault" },
	{ UPDK_NVME_SC_UNRECOVERED_READ_ERROR, "Unrecovered Read Error" },
	{ UPDK_NVME_SC_GUARD_CHECK_ERROR, "End-to-end Guard Check Error" },
	{ UPDK_NVME_SC_APPLICATION_TAG_CHECK_ERROR, "End-to-end Application Tag Check Error" },
	{ UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR, "End-to-end Reference Tag Check Error" },
	{ UPDK_NVME_SC_COMPARE_FAILURE, "Compare Failure" },
	{ UPDK_NVME_SC_ACCESS_DENIED, "Access Denied" },
	{ UPDK_NVME_SC_DEALLOCATED_OR_UNWRITTEN_BLOCK, "Deallocated or Unwritten Logical Block" },
	{ UPDK_NVME_SC_STORAGE_TAG_CHECK_ERROR, "End-to-End Storage Tag Check Error" },
};

static const struct status_name path[] = {
	{ UPDK_NVME_SC_INTERNAL_PATH_ERROR, "Internal Path Error" },
	{ UPDK_NVME_SC_ASYMMETRIC_ACCESS_PERSISTENT_LOSS, "Asymmetric Access Persistent Loss" },
	{ UPDK_NVME_SC_ASYMMETRIC_ACCESS_INACCESSIBLE, "Asymmetric Access Inaccessible" },
	{ UPDK_NVME_SC_ASYMMETRIC_ACCESS_TRANSITION, "Asymmetric Access Transition" },
	{ UPDK_NVME_SC_CONTROLLER_PATHING_ERROR, "Controller Pathing Error" },
	{ UPDK_NVME_SC_HOST_PATHING_ERROR, "Host Pathing Error" },
	{ UPDK_NVME_SC_ABORTED_BY_HOST, "Command Aborted By Host" },
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

	const char *name = updk_nvme_status_str(sct, sc);

	/* an unnamed code's string carries its numbers already: print them once */
	if (strncmp(name, "Unknown status", 14) && strncmp(name, "Vendor Specific", 15))
		log_err("%s: %s failed: %s (sct 0x%x, sc 0x%02x%s)", ctrlr->name, what, name, sct,
			sc, updk_nvme_cpl_dnr(cpl) ? ", do not retry" : "");
	else
		log_err("%s: %s failed: %s%s", ctrlr->name, what, name,
			updk_nvme_cpl_dnr(cpl) ? ", do not retry" : "");
}
