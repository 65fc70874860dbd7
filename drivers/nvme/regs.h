/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe controller registers (BAR0) and command fields the driver builds, with the section of the
 * NVM Express Base Specification 2.0 (and NVM Command Set 1.0) each comes from.
 */
#ifndef NVME_REGS_H
#define NVME_REGS_H

#include <stdint.h>

/* Controller registers, NVMe Base 2.0 §3.1.3 Figure 33. */
#define NVME_REG_CAP 0x00 /* Controller Capabilities, 64 bit */
#define NVME_REG_VS 0x08 /* Version */
#define NVME_REG_INTMS 0x0c /* Interrupt Mask Set */
#define NVME_REG_INTMC 0x10 /* Interrupt Mask Clear */
#define NVME_REG_CC 0x14 /* Controller Configuration */
#define NVME_REG_CSTS 0x1c /* Controller Status */
#define NVME_REG_AQA 0x24 /* Admin Queue Attributes */
#define NVME_REG_ASQ 0x28 /* Admin Submission Queue Base Address, 64 bit */
#define NVME_REG_ACQ 0x30 /* Admin Completion Queue Base Address, 64 bit */
#define NVME_REG_DBS 0x1000 /* first doorbell (SQ 0 tail), §3.1.3.23 */

/* CAP, NVMe Base 2.0 §3.1.3.1 Figure 36. */
#define NVME_CAP_MQES(cap) ((uint32_t)((cap)&0xffff)) /* max queue entries, 0's based */
#define NVME_CAP_CQR(cap) ((uint32_t)(((cap) >> 16) & 1)) /* contiguous queues required */
#define NVME_CAP_TO(cap) ((uint32_t)(((cap) >> 24) & 0xff)) /* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD(cap) ((uint32_t)(((cap) >> 32) & 0xf)) /* doorbell stride 2^(2+n) */
#define NVME_CAP_CSS_NVM(cap) ((uint32_t)(((cap) >> 37) & 1)) /* NVM command set supported */
#define NVME_CAP_MPSMIN(cap) ((uint32_t)(((cap) >> 48) & 0xf)) /* 2^(12+n) bytes */
#define NVME_CAP_MPSMAX(cap) ((uint32_t)(((cap) >> 52) & 0xf))

/* CC, NVMe Base 2.0 §3.1.3.5 Figure 41. */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS_NVM (0u << 4) /* bits 6:4 I/O command set: 000b NVM */
#define NVME_CC_MPS(shift) ((uint32_t)((shift)-12) << 7) /* bits 10:7 page 2^(12+MPS) */
#define NVME_CC_AMS_RR (0u << 11) /* bits 13:11 round robin arbitration */
#define NVME_CC_SHN_MASK (3u << 14) /* bits 15:14 shutdown notification */
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_IOSQES(n) ((uint32_t)(n) << 16) /* bits 19:16 SQ entry 2^n bytes */
#define NVME_CC_IOCQES(n) ((uint32_t)(n) << 20) /* bits 23:20 CQ entry 2^n bytes */

/* CSTS, NVMe Base 2.0 §3.1.3.6 Figure 42. */
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1) /* controller fatal status */
#define NVME_CSTS_SHST_MASK (3u << 2)
#define NVME_CSTS_SHST_COMPLETE (2u << 2)
/* A register read of all ones: the function is gone (surprise removal) or not responding. */
#define NVME_REG_GONE 0xffffffffu

/* AQA, NVMe Base 2.0 §3.1.3.8 Figure 45: sizes 0's based, 12 bits each. */
#define NVME_AQA(sq, cq) ((((uint32_t)(cq)-1) << 16) | ((uint32_t)(sq)-1))
#define NVME_AQ_MAX 4096

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

/* SGL descriptors, NVMe Base 2.0 §4.1.2 Figure 117/118: identifier byte 15, type in 7:4. */
#define NVME_SGL_DATA_BLOCK 0x00
#define NVME_SGL_LAST_SEGMENT 0x30
/*
 * Identify Controller SGLS bits 1:0 (NVMe Base 2.0 Figure 275): 00b no SGLs for NVM commands,
 * 01b SGLs with no alignment or granularity requirement for Data Blocks, 10b SGLs whose Data
 * Blocks need dword alignment and granularity, 11b reserved.
 */
#define NVME_SGLS_SUPPORTED(sgls) ((sgls)&3u)
#define NVME_SGLS_BYTE 1u
#define NVME_SGLS_DWORD 2u

struct nvme_sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t rsvd[3];
	uint8_t id;
};
_Static_assert(sizeof(struct nvme_sgl_desc) == 16, "SGL descriptor is 16 bytes");

/* Identify CNS values, NVMe Base 2.0 §5.17.1 Figure 273. */
#define NVME_CNS_NS 0x00
#define NVME_CNS_CTRLR 0x01
#define NVME_CNS_ACTIVE_NS_LIST 0x02
#define NVME_CNS_NS_DESC_LIST 0x03

/* Namespace Identification Descriptor types, NVMe Base 2.0 §5.17.2.3 Figure 279. */
#define NVME_NIDT_EUI64 0x1
#define NVME_NIDT_NGUID 0x2
#define NVME_NIDT_UUID 0x3
#define NVME_NIDT_CSI 0x4

/* Identify Controller OACS bit 8: Doorbell Buffer Config (NVMe Base 2.0 Figure 275). */
#define NVME_OACS_DBBUF (1u << 8)
/* ONCS bits (Figure 275): Compare, Dataset Management, Write Zeroes. */
#define NVME_ONCS_COMPARE (1u << 0)
#define NVME_ONCS_DSM (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)
/* OAES bit 8: Namespace Attribute Notices. */
#define NVME_OAES_NS_ATTR (1u << 8)
/* Identify Controller VWC bit 0: volatile write cache present. */

/* Create I/O queue CDW11 bit 0 Physically Contiguous (NVMe Base 2.0 §5.4, §5.5). */
#define NVME_QUEUE_PC 1u

/* Asynchronous Event completion DW0 (NVMe Base 2.0 §5.2 Figure 146/147). */
#define NVME_AER_TYPE(dw0) ((dw0)&7u)
#define NVME_AER_INFO(dw0) (((dw0) >> 8) & 0xffu)
#define NVME_AER_LOG(dw0) (((dw0) >> 16) & 0xffu)
#define NVME_AER_TYPE_NOTICE 2u
#define NVME_AER_NOTICE_NS_ATTR 0u
/* Asynchronous Event Configuration feature CDW11 bit 8: namespace attribute notices. */
#define NVME_AEC_NS_ATTR (1u << 8)

/* Memory page size the driver uses: CC.MPS = 0, 4 KiB (CAP.MPSMIN must allow it). */
#define NVME_PAGE_SHIFT 12
#define NVME_PAGE_SIZE (1u << NVME_PAGE_SHIFT)
#define NVME_PAGE_MASK (NVME_PAGE_SIZE - 1)

#endif
