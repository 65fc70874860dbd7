/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe as the specifications lay it out: commands and completions, status codes, opcodes,
 * log pages, features and the Identify data structures (NVM Express Base Specification 2.0 and
 * NVM Command Set Specification 1.0, sections cited at each). Plain data and constants, no
 * driver: include <updk/nvme.h> for the API, which includes this header.
 */
#ifndef UPDK_NVME_SPEC_H
#define UPDK_NVME_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Commands and completions as the specification lays them out (NVMe Base 2.0 §4.2, §4.6).
 */

/** A submission queue entry, 64 bytes (NVMe Base 2.0 §4.2, Figure 88). */
struct updk_nvme_cmd {
	uint8_t opc; /**< opcode */
	uint8_t flags; /**< bits 1:0 FUSE, bits 7:6 PSDT (0 PRP, 1 SGL); the driver sets PSDT */
	uint16_t cid; /**< command identifier: the driver assigns it */
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	union {
		struct {
			uint64_t prp1;
			uint64_t prp2;
		} prp;
		uint8_t sgl1[16]; /**< SGL descriptor (NVMe Base 2.0 §4.1.2) */
	} dptr; /**< the driver fills it from the buffer given */
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};

/** A completion queue entry, 16 bytes (NVMe Base 2.0 §4.6, Figure 90). */
struct updk_nvme_cpl {
	uint32_t cdw0; /**< command specific */
	uint32_t cdw1;
	uint16_t sqhd; /**< SQ head pointer */
	uint16_t sqid;
	uint16_t cid;
	/**
	 * Bit 0 phase tag; bits 8:1 Status Code (SC), 11:9 Status Code Type (SCT), 13:12 Command
	 * Retry Delay, 14 More, 15 Do Not Retry (NVMe Base 2.0 §4.6.1, Figure 93).
	 */
	uint16_t status;
};

_Static_assert(sizeof(struct updk_nvme_cmd) == 64, "NVMe SQE is 64 bytes");
_Static_assert(sizeof(struct updk_nvme_cpl) == 16, "NVMe CQE is 16 bytes");

/** Status Code Type of a completion. */
static inline uint8_t updk_nvme_cpl_sct(const struct updk_nvme_cpl *cpl)
{
	return (cpl->status >> 9) & 0x7;
}

/** Status Code of a completion. */
static inline uint8_t updk_nvme_cpl_sc(const struct updk_nvme_cpl *cpl)
{
	return (cpl->status >> 1) & 0xff;
}

/** True when the command failed (SCT or SC non-zero). */
static inline bool updk_nvme_cpl_is_error(const struct updk_nvme_cpl *cpl)
{
	return (cpl->status & 0xffe) != 0;
}

/** Do Not Retry: the same command would fail again. */
static inline bool updk_nvme_cpl_dnr(const struct updk_nvme_cpl *cpl)
{
	return (cpl->status >> 15) & 1;
}

/** Status Code Types (NVMe Base 2.0 §4.6.1.1, Figure 94). */
enum updk_nvme_sct {
	UPDK_NVME_SCT_GENERIC = 0x0,
	UPDK_NVME_SCT_CMD_SPECIFIC = 0x1,
	UPDK_NVME_SCT_MEDIA = 0x2,
	UPDK_NVME_SCT_PATH = 0x3,
	UPDK_NVME_SCT_VENDOR = 0x7,
};

/*
 * Status Codes, one enum per Status Code Type: the same value means different things under
 * different types (00h is Successful Completion as a generic status and Internal Path Error as
 * a path related one), so a status is always read as the pair (updk_nvme_cpl_sct(),
 * updk_nvme_cpl_sc()).
 */

/*
 * Generic Command Status (SCT 0h): NVMe Base 2.0 §4.6.1.2.1 (Figure 95) and, from 25h, NVMe Base
 * 2.1 (2Bh, 2Ch: 2.2); 80h..84h the NVM Command Set 1.0 §3.3.1 (Figure 17). The values agree with the Linux
 * kernel's include/linux/nvme.h and libnvme's status names. 85h..89h belong to the Key Value
 * Command Set, which this driver does not drive: left unnamed.
 */
enum updk_nvme_generic_sc {
	UPDK_NVME_SC_SUCCESS = 0x00,
	UPDK_NVME_SC_INVALID_OPCODE = 0x01,
	UPDK_NVME_SC_INVALID_FIELD = 0x02,
	UPDK_NVME_SC_COMMAND_ID_CONFLICT = 0x03,
	UPDK_NVME_SC_DATA_TRANSFER_ERROR = 0x04,
	UPDK_NVME_SC_ABORTED_POWER_LOSS = 0x05,
	UPDK_NVME_SC_INTERNAL_ERROR = 0x06,
	UPDK_NVME_SC_ABORT_REQUESTED = 0x07,
	UPDK_NVME_SC_ABORTED_SQ_DELETION = 0x08,
	UPDK_NVME_SC_ABORTED_FAILED_FUSED = 0x09,
	UPDK_NVME_SC_ABORTED_MISSING_FUSED = 0x0a,
	UPDK_NVME_SC_INVALID_NAMESPACE = 0x0b,
	UPDK_NVME_SC_COMMAND_SEQUENCE_ERROR = 0x0c,
	UPDK_NVME_SC_INVALID_SGL_SEGMENT_DESCRIPTOR = 0x0d,
	UPDK_NVME_SC_INVALID_NUM_SGL_DESCRIPTORS = 0x0e,
	UPDK_NVME_SC_DATA_SGL_LENGTH_INVALID = 0x0f,
	UPDK_NVME_SC_METADATA_SGL_LENGTH_INVALID = 0x10,
	UPDK_NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID = 0x11,
	UPDK_NVME_SC_INVALID_CMB_USE = 0x12,
	UPDK_NVME_SC_INVALID_PRP_OFFSET = 0x13,
	UPDK_NVME_SC_ATOMIC_WRITE_UNIT_EXCEEDED = 0x14,
	UPDK_NVME_SC_OPERATION_DENIED = 0x15,
	UPDK_NVME_SC_INVALID_SGL_OFFSET = 0x16,
	UPDK_NVME_SC_HOSTID_INCONSISTENT_FORMAT = 0x18,
	UPDK_NVME_SC_KEEP_ALIVE_EXPIRED = 0x19,
	UPDK_NVME_SC_KEEP_ALIVE_INVALID = 0x1a,
	UPDK_NVME_SC_ABORTED_PREEMPT = 0x1b,
	UPDK_NVME_SC_SANITIZE_FAILED = 0x1c,
	UPDK_NVME_SC_SANITIZE_IN_PROGRESS = 0x1d,
	UPDK_NVME_SC_SGL_DATA_BLOCK_GRANULARITY_INVALID = 0x1e,
	UPDK_NVME_SC_COMMAND_INVALID_IN_CMB = 0x1f,
	UPDK_NVME_SC_NAMESPACE_IS_WRITE_PROTECTED = 0x20,
	UPDK_NVME_SC_COMMAND_INTERRUPTED = 0x21,
	UPDK_NVME_SC_TRANSIENT_TRANSPORT_ERROR = 0x22,
	UPDK_NVME_SC_COMMAND_PROHIBITED_BY_LOCKDOWN = 0x23,
	UPDK_NVME_SC_ADMIN_COMMAND_MEDIA_NOT_READY = 0x24,
	UPDK_NVME_SC_INVALID_KEY_TAG = 0x25,
	UPDK_NVME_SC_HOST_DISPERSED_NS_NOT_ENABLED = 0x26,
	UPDK_NVME_SC_HOST_ID_NOT_INITIALIZED = 0x27,
	UPDK_NVME_SC_INCORRECT_KEY = 0x28,
	UPDK_NVME_SC_FDP_DISABLED = 0x29,
	UPDK_NVME_SC_INVALID_PLACEMENT_HANDLE_LIST = 0x2a,
	UPDK_NVME_SC_SANITIZE_NS_FAILED = 0x2b,
	UPDK_NVME_SC_SANITIZE_NS_IN_PROGRESS = 0x2c,
	UPDK_NVME_SC_LBA_OUT_OF_RANGE = 0x80,
	UPDK_NVME_SC_CAPACITY_EXCEEDED = 0x81,
	UPDK_NVME_SC_NAMESPACE_NOT_READY = 0x82,
	UPDK_NVME_SC_RESERVATION_CONFLICT = 0x83,
	UPDK_NVME_SC_FORMAT_IN_PROGRESS = 0x84,
};

/*
 * Command Specific Status (SCT 1h): NVMe Base 2.0 §4.6.1.2.2 (Figure 96) and, beyond it, NVMe
 * Base 2.1 (Figure 103; 3Ch..41h: 2.2). 80h..BFh are I/O Command Set specific: the NVM Command Set's (§3.3.2, Figure 18;
 * 85h..89h from its revision 1.1, the Copy command) and the Zoned Namespace Command Set's (ZNS
 * 1.1 §3.4.1, B6h..BFh) do not overlap. 04h (Abort Command Is Missing in pre-1.0 drafts, still
 * in the kernel's header) is reserved since NVMe 1.0: left unnamed. The Fabrics commands' own
 * 80h.. codes (Connect) are in <updk/nvmf_spec.h>.
 */
enum updk_nvme_cmd_specific_sc {
	UPDK_NVME_SC_COMPLETION_QUEUE_INVALID = 0x00,
	UPDK_NVME_SC_INVALID_QUEUE_IDENTIFIER = 0x01,
	UPDK_NVME_SC_INVALID_QUEUE_SIZE = 0x02,
	UPDK_NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED = 0x03,
	UPDK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED = 0x05,
	UPDK_NVME_SC_INVALID_FIRMWARE_SLOT = 0x06,
	UPDK_NVME_SC_INVALID_FIRMWARE_IMAGE = 0x07,
	UPDK_NVME_SC_INVALID_INTERRUPT_VECTOR = 0x08,
	UPDK_NVME_SC_INVALID_LOG_PAGE = 0x09,
	UPDK_NVME_SC_INVALID_FORMAT = 0x0a,
	UPDK_NVME_SC_FIRMWARE_REQ_CONVENTIONAL_RESET = 0x0b,
	UPDK_NVME_SC_INVALID_QUEUE_DELETION = 0x0c,
	UPDK_NVME_SC_FEATURE_ID_NOT_SAVEABLE = 0x0d,
	UPDK_NVME_SC_FEATURE_NOT_CHANGEABLE = 0x0e,
	UPDK_NVME_SC_FEATURE_NOT_NAMESPACE_SPECIFIC = 0x0f,
	UPDK_NVME_SC_FIRMWARE_REQ_NVM_RESET = 0x10,
	UPDK_NVME_SC_FIRMWARE_REQ_RESET = 0x11,
	UPDK_NVME_SC_FIRMWARE_REQ_MAX_TIME_VIOLATION = 0x12,
	UPDK_NVME_SC_FIRMWARE_ACTIVATION_PROHIBITED = 0x13,
	UPDK_NVME_SC_OVERLAPPING_RANGE = 0x14,
	UPDK_NVME_SC_NAMESPACE_INSUFFICIENT_CAPACITY = 0x15,
	UPDK_NVME_SC_NAMESPACE_ID_UNAVAILABLE = 0x16,
	UPDK_NVME_SC_NAMESPACE_ALREADY_ATTACHED = 0x18,
	UPDK_NVME_SC_NAMESPACE_IS_PRIVATE = 0x19,
	UPDK_NVME_SC_NAMESPACE_NOT_ATTACHED = 0x1a,
	UPDK_NVME_SC_THIN_PROVISIONING_NOT_SUPPORTED = 0x1b,
	UPDK_NVME_SC_CONTROLLER_LIST_INVALID = 0x1c,
	UPDK_NVME_SC_DEVICE_SELF_TEST_IN_PROGRESS = 0x1d,
	UPDK_NVME_SC_BOOT_PARTITION_WRITE_PROHIBITED = 0x1e,
	UPDK_NVME_SC_INVALID_CONTROLLER_ID = 0x1f,
	UPDK_NVME_SC_INVALID_SECONDARY_CONTROLLER_STATE = 0x20,
	UPDK_NVME_SC_INVALID_NUM_CONTROLLER_RESOURCES = 0x21,
	UPDK_NVME_SC_INVALID_RESOURCE_ID = 0x22,
	UPDK_NVME_SC_SANITIZE_PROHIBITED_WITH_PMR = 0x23,
	UPDK_NVME_SC_ANA_GROUP_ID_INVALID = 0x24,
	UPDK_NVME_SC_ANA_ATTACH_FAILED = 0x25,
	UPDK_NVME_SC_INSUFFICIENT_CAPACITY = 0x26,
	UPDK_NVME_SC_NS_ATTACHMENT_LIMIT_EXCEEDED = 0x27,
	UPDK_NVME_SC_PROHIBITION_NOT_SUPPORTED = 0x28,
	UPDK_NVME_SC_IOCS_NOT_SUPPORTED = 0x29,
	UPDK_NVME_SC_IOCS_NOT_ENABLED = 0x2a,
	UPDK_NVME_SC_IOCS_COMBINATION_REJECTED = 0x2b,
	UPDK_NVME_SC_INVALID_IOCS = 0x2c,
	UPDK_NVME_SC_IDENTIFIER_UNAVAILABLE = 0x2d,
	UPDK_NVME_SC_NS_IS_DISPERSED = 0x2e,
	UPDK_NVME_SC_INVALID_DISCOVERY_INFO = 0x2f,
	UPDK_NVME_SC_ZONING_DATA_STRUCTURE_LOCKED = 0x30,
	UPDK_NVME_SC_ZONING_DATA_STRUCTURE_NOT_FOUND = 0x31,
	UPDK_NVME_SC_INSUFFICIENT_DISCOVERY_RESOURCES = 0x32,
	UPDK_NVME_SC_REQUESTED_FUNCTION_DISABLED = 0x33,
	UPDK_NVME_SC_ZONEGROUP_ORIGINATOR_INVALID = 0x34,
	UPDK_NVME_SC_INVALID_HOST = 0x35,
	UPDK_NVME_SC_INVALID_NVM_SUBSYSTEM = 0x36,
	UPDK_NVME_SC_INVALID_CONTROLLER_DATA_QUEUE = 0x37,
	UPDK_NVME_SC_NOT_ENOUGH_RESOURCES = 0x38,
	UPDK_NVME_SC_CONTROLLER_SUSPENDED = 0x39,
	UPDK_NVME_SC_CONTROLLER_NOT_SUSPENDED = 0x3a,
	UPDK_NVME_SC_CONTROLLER_DATA_QUEUE_FULL = 0x3b,
	UPDK_NVME_SC_EXCEEDS_MAX_NS_SANITIZE = 0x3c,
	UPDK_NVME_SC_MFG_DEFAULT_PERSONALITY_REQUIRED = 0x3d,
	UPDK_NVME_SC_INVALID_POWER_LIMIT = 0x3e,
	UPDK_NVME_SC_CROSS_CTRLR_RESET_IN_PROGRESS = 0x3f,
	UPDK_NVME_SC_CROSS_CTRLR_RESET_LOG_FULL = 0x40,
	UPDK_NVME_SC_CROSS_CTRLR_RESET_LIMIT_EXCEEDED = 0x41,
	UPDK_NVME_SC_CONFLICTING_ATTRIBUTES = 0x80,
	UPDK_NVME_SC_INVALID_PROTECTION_INFO = 0x81,
	UPDK_NVME_SC_ATTEMPTED_WRITE_TO_RO_RANGE = 0x82,
	UPDK_NVME_SC_COMMAND_SIZE_LIMIT_EXCEEDED = 0x83,
	UPDK_NVME_SC_INCOMPATIBLE_NS_OR_FORMAT = 0x85,
	UPDK_NVME_SC_FAST_COPY_NOT_POSSIBLE = 0x86,
	UPDK_NVME_SC_OVERLAPPING_IO_RANGE = 0x87,
	UPDK_NVME_SC_INSUFFICIENT_RESOURCES = 0x89,
	/* Zoned Namespace Command Set 1.1 §3.4.1 */
	UPDK_NVME_SC_INVALID_ZONE_OPERATION_REQUEST = 0xb6,
	UPDK_NVME_SC_ZRWA_RESOURCES_UNAVAILABLE = 0xb7,
	UPDK_NVME_SC_ZONE_BOUNDARY_ERROR = 0xb8,
	UPDK_NVME_SC_ZONE_IS_FULL = 0xb9,
	UPDK_NVME_SC_ZONE_IS_READ_ONLY = 0xba,
	UPDK_NVME_SC_ZONE_IS_OFFLINE = 0xbb,
	UPDK_NVME_SC_ZONE_INVALID_WRITE = 0xbc,
	UPDK_NVME_SC_TOO_MANY_ACTIVE_ZONES = 0xbd,
	UPDK_NVME_SC_TOO_MANY_OPEN_ZONES = 0xbe,
	UPDK_NVME_SC_INVALID_ZONE_STATE_TRANSITION = 0xbf,
};

/** Media and Data Integrity Errors (SCT 2h): NVMe Base 2.0 §4.6.1.2.3, NVM Command Set 1.0 §3.3.3
 * (Figure 19). */
enum updk_nvme_media_sc {
	UPDK_NVME_SC_WRITE_FAULT = 0x80,
	UPDK_NVME_SC_UNRECOVERED_READ_ERROR = 0x81,
	UPDK_NVME_SC_GUARD_CHECK_ERROR = 0x82,
	UPDK_NVME_SC_APPLICATION_TAG_CHECK_ERROR = 0x83,
	UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR = 0x84,
	UPDK_NVME_SC_COMPARE_FAILURE = 0x85,
	UPDK_NVME_SC_ACCESS_DENIED = 0x86,
	UPDK_NVME_SC_DEALLOCATED_OR_UNWRITTEN_BLOCK = 0x87,
	UPDK_NVME_SC_STORAGE_TAG_CHECK_ERROR = 0x88,
};

/** Path Related Status (SCT 3h): NVMe Base 2.0 §4.6.1.2.4 (Figure 98). */
enum updk_nvme_path_sc {
	UPDK_NVME_SC_INTERNAL_PATH_ERROR = 0x00,
	UPDK_NVME_SC_ASYMMETRIC_ACCESS_PERSISTENT_LOSS = 0x01,
	UPDK_NVME_SC_ASYMMETRIC_ACCESS_INACCESSIBLE = 0x02,
	UPDK_NVME_SC_ASYMMETRIC_ACCESS_TRANSITION = 0x03,
	UPDK_NVME_SC_CONTROLLER_PATHING_ERROR = 0x60,
	UPDK_NVME_SC_HOST_PATHING_ERROR = 0x70,
	UPDK_NVME_SC_ABORTED_BY_HOST = 0x71,
};

/* Opcodes (NVMe Base 2.0 Figure 138 admin; NVM Command Set 1.0 Figure 18 I/O). */
enum updk_nvme_admin_opc {
	UPDK_NVME_OPC_DELETE_IO_SQ = 0x00,
	UPDK_NVME_OPC_CREATE_IO_SQ = 0x01,
	UPDK_NVME_OPC_GET_LOG_PAGE = 0x02,
	UPDK_NVME_OPC_DELETE_IO_CQ = 0x04,
	UPDK_NVME_OPC_CREATE_IO_CQ = 0x05,
	UPDK_NVME_OPC_IDENTIFY = 0x06,
	UPDK_NVME_OPC_ABORT = 0x08,
	UPDK_NVME_OPC_SET_FEATURES = 0x09,
	UPDK_NVME_OPC_GET_FEATURES = 0x0a,
	UPDK_NVME_OPC_ASYNC_EVENT_REQUEST = 0x0c,
	UPDK_NVME_OPC_DOORBELL_BUFFER_CONFIG = 0x7c,
};

enum updk_nvme_io_opc {
	UPDK_NVME_OPC_FLUSH = 0x00,
	UPDK_NVME_OPC_WRITE = 0x01,
	UPDK_NVME_OPC_READ = 0x02,
	UPDK_NVME_OPC_COMPARE = 0x05,
	UPDK_NVME_OPC_WRITE_ZEROES = 0x08,
	UPDK_NVME_OPC_DATASET_MANAGEMENT = 0x09,
};

/** Log page identifiers (NVMe Base 2.0 Figure 202). */
enum updk_nvme_log_id {
	UPDK_NVME_LOG_ERROR = 0x01,
	UPDK_NVME_LOG_SMART = 0x02,
	UPDK_NVME_LOG_FIRMWARE_SLOT = 0x03,
	UPDK_NVME_LOG_CHANGED_NS_LIST = 0x04,
};

/** Feature identifiers (NVMe Base 2.0 Figure 317). */
enum updk_nvme_feat_id {
	UPDK_NVME_FEAT_ARBITRATION = 0x01,
	UPDK_NVME_FEAT_POWER_MANAGEMENT = 0x02,
	UPDK_NVME_FEAT_TEMPERATURE_THRESHOLD = 0x04,
	UPDK_NVME_FEAT_ERROR_RECOVERY = 0x05,
	UPDK_NVME_FEAT_VOLATILE_WRITE_CACHE = 0x06,
	UPDK_NVME_FEAT_NUMBER_OF_QUEUES = 0x07,
	UPDK_NVME_FEAT_INTERRUPT_COALESCING = 0x08,
	UPDK_NVME_FEAT_WRITE_ATOMICITY = 0x0a,
	UPDK_NVME_FEAT_ASYNC_EVENT_CONFIG = 0x0b,
};

/* ---------------------------------------------------------------------------------------------
 * Identify data (NVMe Base 2.0 §5.17.2.1 Figure 275; NVM Command Set 1.0 §4.1.5.1 Figure 97).
 * Multi-byte fields are little-endian, as the controller writes them.
 */

/** Power State Descriptor (NVMe Base 2.0 Figure 276), 32 bytes. */
struct updk_nvme_psd {
	uint16_t mp;
	uint8_t rsvd2;
	uint8_t flags; /**< bit 0 MXPS, bit 1 NOPS */
	uint32_t enlat;
	uint32_t exlat;
	uint8_t rrt;
	uint8_t rrl;
	uint8_t rwt;
	uint8_t rwl;
	uint16_t idlp;
	uint8_t ips;
	uint8_t rsvd19;
	uint16_t actp;
	uint8_t apws;
	uint8_t rsvd23[9];
} __attribute__((packed));

/** Identify Controller data structure (CNS 01h), 4096 bytes. */
struct updk_nvme_id_ctrl {
	uint16_t vid;
	uint16_t ssvid;
	/** ASCII, space padded, not NUL-terminated; bytes outside printable ASCII are replaced by
	 * '?' at open (logged) */
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /**< max transfer 2^mdts * CAP.MPSMIN pages; 0: no limit */
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r;
	uint32_t rtd3e;
	uint32_t oaes; /**< bit 8: Namespace Attribute Notices */
	uint32_t ctratt;
	uint16_t rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	uint16_t crdt1;
	uint16_t crdt2;
	uint16_t crdt3;
	uint8_t rsvd134[119];
	uint8_t nvmsr;
	uint8_t vwci;
	uint8_t mec;
	uint16_t oacs; /**< bit 8: Doorbell Buffer Config supported */
	uint8_t acl;
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe;
	uint8_t npss;
	uint8_t avscc;
	uint8_t apsta;
	uint16_t wctemp;
	uint16_t cctemp;
	uint16_t mtfa;
	uint32_t hmpre;
	uint32_t hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	uint32_t rpmbs;
	uint16_t edstt;
	uint8_t dsto;
	uint8_t fwug;
	uint16_t kas;
	uint16_t hctma;
	uint16_t mntmt;
	uint16_t mxtmt;
	uint32_t sanicap;
	uint32_t hmminds;
	uint16_t hmmaxd;
	uint16_t nsetidmax;
	uint16_t endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	uint32_t anagrpmax;
	uint32_t nanagrpid;
	uint32_t pels;
	uint16_t domainid;
	uint8_t rsvd358[10];
	uint8_t megcap[16];
	uint8_t rsvd384[128];
	uint8_t sqes;
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn; /**< largest namespace identifier */
	uint16_t oncs; /**< bit 0 Compare, 2 DSM, 3 Write Zeroes */
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t icsvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint16_t ocfs;
	uint32_t sgls; /**< bits 1:0 non-zero: SGLs supported for NVM commands */
	uint32_t mnan;
	uint8_t maxdna[16];
	uint32_t maxcna;
	uint8_t rsvd564[204];
	char subnqn[256];
	uint8_t rsvd1024[768];
	uint32_t ioccsz;
	uint32_t iorcsz;
	uint16_t icdoff;
	uint8_t fcatt;
	uint8_t msdbd;
	uint16_t ofcs;
	uint8_t rsvd1806[242];
	struct updk_nvme_psd psd[32];
	uint8_t vs[1024];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvme_id_ctrl) == 4096, "Identify Controller is 4096 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, mdts) == 77, "MDTS at byte 77");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, oacs) == 256, "OACS at 256");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, sqes) == 512, "SQES at 512");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, sgls) == 536, "SGLS at 536");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, subnqn) == 768, "SUBNQN at 768");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ctrl, psd) == 2048, "PSD0 at 2048");

/** LBA Format data structure (NVM Command Set 1.0 Figure 98). */
struct updk_nvme_lbaf {
	uint16_t ms; /**< metadata bytes per LBA */
	uint8_t lbads; /**< LBA data size, 2^lbads bytes */
	uint8_t rp; /**< bits 1:0 relative performance */
} __attribute__((packed));

/** Identify Namespace data structure for the NVM command set (CNS 00h), 4096 bytes. */
struct updk_nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /**< number of LBA formats, 0's based */
	uint8_t flbas; /**< bits 3:0 and 6:5 the format in use; bit 4 metadata at end of LBA */
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	uint16_t nawun;
	uint16_t nawupf;
	uint16_t nacwu;
	uint16_t nabsn;
	uint16_t nabo;
	uint16_t nabspf;
	uint16_t noiob;
	uint8_t nvmcap[16];
	uint16_t npwg;
	uint16_t npwa;
	uint16_t npdg;
	uint16_t npda;
	uint16_t nows;
	uint16_t mssrl;
	uint32_t mcl;
	uint8_t msrc;
	uint8_t rsvd81;
	uint8_t nulbaf;
	uint8_t rsvd83[9];
	uint32_t anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	uint16_t nvmsetid;
	uint16_t endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct updk_nvme_lbaf lbaf[64];
	uint8_t vs[3712];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvme_id_ns) == 4096, "Identify Namespace is 4096 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ns, anagrpid) == 92, "ANAGRPID at 92");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ns, nguid) == 104, "NGUID at 104");
_Static_assert(__builtin_offsetof(struct updk_nvme_id_ns, lbaf) == 128, "LBAF0 at 128");

/** SMART / Health Information log page (NVMe Base 2.0 §5.16.1.3 Figure 207), 512 bytes. */
struct updk_nvme_smart_log {
	uint8_t critical_warning;
	uint16_t temperature; /**< composite, kelvin */
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endu_grp_crit_warn;
	uint8_t rsvd7[25];
	uint8_t data_units_read[16]; /**< 128-bit counters, little-endian */
	uint8_t data_units_written[16];
	uint8_t host_reads[16];
	uint8_t host_writes[16];
	uint8_t ctrl_busy_time[16];
	uint8_t power_cycles[16];
	uint8_t power_on_hours[16];
	uint8_t unsafe_shutdowns[16];
	uint8_t media_errors[16];
	uint8_t num_err_log_entries[16];
	uint32_t warning_temp_time;
	uint32_t critical_comp_time;
	uint16_t temp_sensor[8];
	uint32_t thm_temp1_trans_count;
	uint32_t thm_temp2_trans_count;
	uint32_t thm_temp1_total_time;
	uint32_t thm_temp2_total_time;
	uint8_t rsvd232[280];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvme_smart_log) == 512, "SMART log is 512 bytes");

/** One Error Information log entry (NVMe Base 2.0 §5.16.1.2 Figure 206), 64 bytes. */
struct updk_nvme_error_log {
	uint64_t error_count;
	uint16_t sqid;
	uint16_t cmdid;
	uint16_t status_field; /**< bit 0 phase, 15:1 status as in a CQE */
	uint16_t param_error_location;
	uint64_t lba;
	uint32_t nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t cs;
	uint16_t trtype_spec_info;
	uint8_t rsvd42[22];
} __attribute__((packed));

_Static_assert(sizeof(struct updk_nvme_error_log) == 64, "Error log entry is 64 bytes");

/** One Dataset Management range (NVM Command Set 1.0 Figure 39); @nlb is a count, 1-based. */
struct updk_nvme_dsm_range {
	uint32_t attributes;
	uint32_t nlb;
	uint64_t slba;
};

#ifdef __cplusplus
}
#endif

#endif
