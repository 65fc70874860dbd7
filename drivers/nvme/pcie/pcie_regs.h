/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What only the PCIe transport uses: the admin queue registers and doorbells of BAR0, the data
 * pointer fields of an SQE (PRP/SGL), Create I/O queue and Doorbell Buffer Config fields, with
 * the section of the NVM Express Base Specification 2.0 each comes from.
 */
#ifndef NVME_PCIE_REGS_H
#define NVME_PCIE_REGS_H

#include <stdint.h>

#include "drivers/nvme/regs.h"

/* Memory-based controller registers, NVMe Base 2.0 §3.1.3 Figure 33. */
#define NVME_REG_AQA 0x24 /* Admin Queue Attributes */
#define NVME_REG_ASQ 0x28 /* Admin Submission Queue Base Address, 64 bit */
#define NVME_REG_ACQ 0x30 /* Admin Completion Queue Base Address, 64 bit */
#define NVME_REG_DBS 0x1000 /* first doorbell (SQ 0 tail), §3.1.3.23 */

/* AQA, NVMe Base 2.0 §3.1.3.8 Figure 45: sizes 0's based, 12 bits each. */
#define NVME_AQA(sq, cq) ((((uint32_t)(cq)-1) << 16) | ((uint32_t)(sq)-1))

/* Doorbells, NVMe Base 2.0 §3.1.3.23/24: SQ y tail at 1000h + (2y) * (4 << DSTRD),
 * CQ y head at 1000h + (2y + 1) * (4 << DSTRD). */
static inline uint32_t nvme_sq_db_off(uint16_t qid, uint32_t dstrd)
{
	return NVME_REG_DBS + ((2u * qid) << (2 + dstrd));
}

static inline uint32_t nvme_cq_db_off(uint16_t qid, uint32_t dstrd)
{
	return NVME_REG_DBS + ((2u * qid + 1) << (2 + dstrd));
}

/* SQE flags byte, NVMe Base 2.0 Figure 87: PSDT bits 7:6. */
#define NVME_PSDT_PRP (0u << 6)
#define NVME_PSDT_SGL_MPTR_CONTIG (1u << 6)
/* SGLs for the data, and MPTR the address of an SGL segment of one descriptor (§4.2 Fig. 92) */
#define NVME_PSDT_SGL_MPTR_SGL (2u << 6)

/* SGL descriptors, NVMe Base 2.0 §4.1.2 Figure 117/118: identifier byte 15, type in 7:4. */
#define NVME_SGL_DATA_BLOCK 0x00
#define NVME_SGL_LAST_SEGMENT 0x30
struct nvme_sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t rsvd[3];
	uint8_t id;
};
_Static_assert(sizeof(struct nvme_sgl_desc) == 16, "SGL descriptor is 16 bytes");

/* Identify Controller OACS bit 8: Doorbell Buffer Config (NVMe Base 2.0 Figure 275). */
#define NVME_OACS_DBBUF (1u << 8)

/* Create I/O queue CDW11 bit 0 Physically Contiguous (NVMe Base 2.0 §5.4, §5.5). */
#define NVME_QUEUE_PC 1u
/* Create I/O Completion Queue CDW11 bit 1 Interrupts Enabled, 31:16 Interrupt Vector (§5.4). */
#define NVME_QUEUE_IEN 2u
#define NVME_QUEUE_IV(v) ((uint32_t)(v) << 16)

#endif
