/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk NVMe: the Zoned Namespace Command Set (NVM Express Zoned Namespace Command Set
 * Specification 1.1, "ZNS 1.1" below). A zoned namespace is cut into zones of equal size, each
 * written only at its write pointer; a zone is Empty, Implicitly or Explicitly Opened, Closed,
 * Full, Read Only or Offline (§2.1.1), and the controller limits how many are open and active
 * at once (MOR, MAR). The driver enables every I/O Command Set the controller offers at open
 * (CC.CSS 110b when CAP.CSS bit 43 is set), reads each zoned namespace's zone geometry (the
 * I/O Command Set specific Identify Namespace, CNS 05h, CSI 02h) and offers here:
 * - the zone geometry and the limits (updk_nvme_zns_zone_size() and friends);
 * - Report Zones (Zone Management Receive), the zone actions open, close, finish, reset and
 *   offline (Zone Management Send, one zone or all of them), and Zone Append, whose completion
 *   carries the LBA written (updk_nvme_zns_append_lba());
 * - reads and writes with the ordinary calls of <updk/nvme.h>. A write must start at its
 *   zone's write pointer and stay within the zone's capacity (else Zone Invalid Write or Zone
 *   Boundary Error from the controller), and on a zoned namespace a write is not split at MDTS:
 *   one above updk_nvme_ns_max_io_sectors() is refused with -EINVAL, as its children could
 *   reach the zone out of order. Writes to one zone go one at a time; for many in flight at
 *   once use Zone Append.
 * Zone calls are I/O commands: they go on a qpair, as reads and writes do, with the threading
 * rules and errors of <updk/nvme.h>.
 */
#ifndef UPDK_NVME_ZNS_H
#define UPDK_NVME_ZNS_H

#include <updk/nvme.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * The specification's constants and structures
 */

/** Command Set Identifiers (NVMe Base 2.0, Identify CDW11 bits 31:24; the CSI descriptor). */
#define UPDK_NVME_CSI_NVM 0x00
#define UPDK_NVME_CSI_ZNS 0x02

/** Zoned Namespace I/O opcodes (ZNS 1.1, the opcodes of the Zoned Namespace Command Set). */
enum updk_nvme_zns_opcode {
	UPDK_NVME_OPC_ZONE_MGMT_SEND = 0x79,
	UPDK_NVME_OPC_ZONE_MGMT_RECV = 0x7a,
	UPDK_NVME_OPC_ZONE_APPEND = 0x7d,
};

/** Zone states (ZNS 1.1 §2.1.1; the ZS field of a Zone Descriptor). */
enum updk_nvme_zone_state {
	UPDK_NVME_ZS_EMPTY = 0x1,
	UPDK_NVME_ZS_IMPLICIT_OPEN = 0x2,
	UPDK_NVME_ZS_EXPLICIT_OPEN = 0x3,
	UPDK_NVME_ZS_CLOSED = 0x4,
	UPDK_NVME_ZS_READ_ONLY = 0xd,
	UPDK_NVME_ZS_FULL = 0xe,
	UPDK_NVME_ZS_OFFLINE = 0xf,
};

/** Zone Send Actions (Zone Management Send CDW13 bits 7:0, ZNS 1.1 Figure 38). */
enum updk_nvme_zone_action {
	UPDK_NVME_ZSA_CLOSE = 0x1,
	UPDK_NVME_ZSA_FINISH = 0x2,
	UPDK_NVME_ZSA_OPEN = 0x3,
	UPDK_NVME_ZSA_RESET = 0x4,
	UPDK_NVME_ZSA_OFFLINE = 0x5,
};

/** Which zones a report lists (Zone Receive Action Specific Field, CDW13 15:8, Figure 41). */
enum updk_nvme_zone_filter {
	UPDK_NVME_ZRASF_ALL = 0x0,
	UPDK_NVME_ZRASF_EMPTY = 0x1,
	UPDK_NVME_ZRASF_IMPLICIT_OPEN = 0x2,
	UPDK_NVME_ZRASF_EXPLICIT_OPEN = 0x3,
	UPDK_NVME_ZRASF_CLOSED = 0x4,
	UPDK_NVME_ZRASF_FULL = 0x5,
	UPDK_NVME_ZRASF_READ_ONLY = 0x6,
	UPDK_NVME_ZRASF_OFFLINE = 0x7,
};

/** Zone Type 2h: Sequential Write Required, the one ZNS 1.1 defines (Zone Descriptor ZT). */
#define UPDK_NVME_ZONE_TYPE_SEQWRITE_REQ 0x2

/** A Zone Descriptor, 64 bytes (ZNS 1.1, Report Zones data structure, Figure 46). */
struct updk_nvme_zone_desc {
	uint8_t zt; /**< bits 3:0 Zone Type */
	uint8_t zs; /**< bits 7:4 Zone State: updk_nvme_zone_state_of() */
	uint8_t za; /**< Zone Attributes */
	uint8_t zai; /**< Zone Attributes Information */
	uint8_t rsvd4[4];
	uint64_t zcap; /**< Zone Capacity: blocks writable from ZSLBA */
	uint64_t zslba; /**< Zone Start LBA */
	uint64_t wp; /**< Write Pointer */
	uint8_t rsvd32[32];
};

/** The report's header; @descs follow it (ZNS 1.1, Report Zones data structure, Figure 45). */
struct updk_nvme_zone_report {
	uint64_t nr_zones; /**< zones that match (or, with a partial report, that fit) */
	uint8_t rsvd8[56];
	struct updk_nvme_zone_desc descs[];
};

/** LBA Format Extension: the zone size of an LBA format (ZNS 1.1, Identify Namespace LBAFE). */
struct updk_nvme_zns_lbafe {
	uint64_t zsze; /**< Zone Size in logical blocks */
	uint8_t zdes; /**< Zone Descriptor Extension Size, in units of 64 bytes */
	uint8_t rsvd9[7];
};

/** The Zoned Namespace Identify Namespace data (CNS 05h, CSI 02h; ZNS 1.1 §4.1.5.1). */
struct updk_nvme_zns_id_ns {
	uint16_t zoc; /**< Zone Operation Characteristics: bit 0 variable capacity, 1 excursions */
	uint16_t ozcs; /**< Optional Zoned Command Support: bit 0 reads across zone boundaries */
	uint32_t mar; /**< Maximum Active Resources, 0's based; 0xffffffff: no limit */
	uint32_t mor; /**< Maximum Open Resources, 0's based; 0xffffffff: no limit */
	uint32_t rrl; /**< Reset Recommended Limit, seconds */
	uint32_t frl; /**< Finish Recommended Limit, seconds */
	uint32_t rrl1, rrl2, rrl3;
	uint32_t frl1, frl2, frl3;
	uint32_t numzrwa; /**< Number of Zone Random Write Area resources */
	uint16_t zrwafg; /**< ZRWA Flush Granularity */
	uint16_t zrwasz; /**< ZRWA Size */
	uint8_t zrwacap; /**< ZRWA Capability */
	uint8_t rsvd53[2763];
	struct updk_nvme_zns_lbafe lbafe[64];
	uint8_t vs[256];
};

/** The Zoned Namespace Identify Controller data (CNS 06h, CSI 02h; ZNS 1.1 §4.1.5.2). */
struct updk_nvme_zns_id_ctrl {
	uint8_t zasl; /**< Zone Append Size Limit: 2^n minimum memory pages; 0: MDTS */
	uint8_t rsvd1[4095];
};

_Static_assert(sizeof(struct updk_nvme_zone_desc) == 64, "Zone Descriptor is 64 bytes");
_Static_assert(sizeof(struct updk_nvme_zone_report) == 64, "the report header is 64 bytes");
_Static_assert(sizeof(struct updk_nvme_zns_id_ns) == 4096, "ZNS Identify NS is 4096 bytes");
_Static_assert(__builtin_offsetof(struct updk_nvme_zns_id_ns, zrwacap) == 52, "ZRWACAP at 52");
_Static_assert(__builtin_offsetof(struct updk_nvme_zns_id_ns, lbafe) == 2816, "LBAFE at 2816");
_Static_assert(sizeof(struct updk_nvme_zns_id_ctrl) == 4096, "ZNS Identify Ctrlr is 4096 bytes");

/** The state of a zone from its descriptor. */
static inline enum updk_nvme_zone_state updk_nvme_zone_state_of(const struct updk_nvme_zone_desc *d)
{
	return (enum updk_nvme_zone_state)(d->zs >> 4);
}

/** The LBA a Zone Append wrote its first block to (completion dwords 0 and 1, ZNS 1.1). */
static inline uint64_t updk_nvme_zns_append_lba(const struct updk_nvme_cpl *cpl)
{
	return cpl->cdw0 | (uint64_t)cpl->cdw1 << 32;
}

/**
 * A zone state's name as nvme-cli prints it: "EMPTY", "IMP_OPENED", "EXP_OPENED", "CLOSED",
 * "READONLY", "FULL", "OFFLINE"; "Unknown State" for others.
 */
const char *updk_nvme_zone_state_str(uint8_t zs);

/* ---------------------------------------------------------------------------------------------
 * Zone geometry
 */

/** True when @ns is a zoned namespace (its CSI is 02h) whose zone geometry the driver read. */
bool updk_nvme_ns_is_zoned(const struct updk_nvme_ns *ns);

/** The namespace's Zoned Namespace Identify data, NULL when it is not zoned. */
const struct updk_nvme_zns_id_ns *updk_nvme_zns_ns_data(const struct updk_nvme_ns *ns);

/** Zone size in logical blocks (the LBA format's ZSZE); 0 when not zoned. */
uint64_t updk_nvme_zns_zone_size(const struct updk_nvme_ns *ns);

/** Number of zones (NSZE / zone size); 0 when not zoned. */
uint64_t updk_nvme_zns_num_zones(const struct updk_nvme_ns *ns);

/** Zones that may be open at once (MOR + 1); 0: no limit (or not zoned). */
uint32_t updk_nvme_zns_max_open_zones(const struct updk_nvme_ns *ns);

/** Zones that may be active (open or closed) at once (MAR + 1); 0: no limit (or not zoned). */
uint32_t updk_nvme_zns_max_active_zones(const struct updk_nvme_ns *ns);

/** Largest Zone Append in logical blocks: ZASL (or MDTS when ZASL is 0); 0 when not zoned. */
uint32_t updk_nvme_zns_append_max_sectors(const struct updk_nvme_ns *ns);

/**
 * Read the controller's Zoned Namespace Identify Controller data into *@id (admin thread;
 * polls the admin queue until done). 0, or a negative errno: -EIO with the status logged
 * (e.g. a controller without the Zoned Namespace Command Set: Invalid Field in Command).
 */
int updk_nvme_zns_identify_ctrlr(struct updk_nvme_ctrlr *ctrlr, struct updk_nvme_zns_id_ctrl *id);

/* ---------------------------------------------------------------------------------------------
 * Zone commands. Each returns 0 once queued (the callback runs from the qpair's
 * process_completions()), or a negative errno with nothing queued: -EINVAL (logged: the
 * namespace not zoned, a start LBA that is not a zone's first, a buffer of the wrong size),
 * -EAGAIN (qpair full), -EFAULT (buffer not DMA memory), -ENODEV, -ENXIO, as in <updk/nvme.h>.
 */

/**
 * Report Zones (Zone Management Receive, ZNS 1.1): the zones from the one holding
 * @slba on, those @filter selects, into @buf (DMA memory, @len bytes: a multiple of 4, at
 * least 64, at most the transfer limit): a struct updk_nvme_zone_report and as many
 * descriptors as fit. With @partial the header counts only the descriptors returned, else
 * every zone that matches (more than fit, when the buffer is short).
 */
int updk_nvme_zns_report_zones(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, void *buf,
			       uint32_t len, uint64_t slba, enum updk_nvme_zone_filter filter,
			       bool partial, updk_nvme_cb cb, void *arg);

/**
 * Zone Management Send (ZNS 1.1): @action on the zone starting at @slba, or with
 * @select_all on every zone the action applies to (@slba ignored): open the closed ones, close
 * the open ones, finish the open and closed ones, reset the open, closed and full ones, take
 * the read-only ones offline. The controller's refusals come back as statuses: Invalid Zone
 * State Transition, Too Many Open Zones, Too Many Active Zones, ...
 */
int updk_nvme_zns_zone_send(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, uint64_t slba,
			    enum updk_nvme_zone_action action, bool select_all, updk_nvme_cb cb,
			    void *arg);

/**
 * Zone Append (ZNS 1.1): write @nlb blocks from @buf (DMA memory, @nlb × sector size
 * bytes) at the write pointer of the zone starting at @zslba; the completion carries the LBA
 * the first block went to (updk_nvme_zns_append_lba()). @nlb is 1..
 * updk_nvme_zns_append_max_sectors(), in one command (never split). @io_flags:
 * UPDK_NVME_IO_FUA, UPDK_NVME_IO_LIMITED_RETRY. A full zone answers Zone Is Full.
 */
int updk_nvme_zns_zone_append(struct updk_nvme_ns *ns, struct updk_nvme_qpair *qp, const void *buf,
			      uint64_t zslba, uint32_t nlb, updk_nvme_cb cb, void *arg,
			      uint32_t io_flags);

#ifdef __cplusplus
}
#endif

#endif
