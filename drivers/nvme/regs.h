/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe controller registers (on PCIe in BAR0, over fabrics properties: the same offsets) and
 * command fields the core builds, with the section of the NVM Express Base Specification 2.0
 * (and NVM Command Set 1.0) each comes from. The PCIe transport's own are in
 * pcie/pcie_regs.h.
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

/* CAP, NVMe Base 2.0 §3.1.3.1 Figure 36. */
#define NVME_CAP_MQES(cap) ((uint32_t)((cap)&0xffff)) /* max queue entries, 0's based */
#define NVME_CAP_CQR(cap) ((uint32_t)(((cap) >> 16) & 1)) /* contiguous queues required */
#define NVME_CAP_TO(cap) ((uint32_t)(((cap) >> 24) & 0xff)) /* ready timeout, 500 ms units */
#define NVME_CAP_DSTRD(cap) ((uint32_t)(((cap) >> 32) & 0xf)) /* doorbell stride 2^(2+n) */
#define NVME_CAP_CSS_NVM(cap) ((uint32_t)(((cap) >> 37) & 1)) /* NVM command set supported */
/* CAP.CSS bit 6 (CAP bit 43): one or more I/O Command Sets, chosen with CC.CSS 110b */
#define NVME_CAP_CSS_IOCS(cap) ((uint32_t)(((cap) >> 43) & 1))
#define NVME_CAP_MPSMIN(cap) ((uint32_t)(((cap) >> 48) & 0xf)) /* 2^(12+n) bytes */
#define NVME_CAP_MPSMAX(cap) ((uint32_t)(((cap) >> 52) & 0xf))

/* CC, NVMe Base 2.0 §3.1.3.5 Figure 41. */
#define NVME_CC_EN (1u << 0)
#define NVME_CC_CSS_NVM (0u << 4) /* bits 6:4 I/O command set: 000b NVM */
#define NVME_CC_CSS_ALL (6u << 4) /* 110b: every I/O Command Set the controller supports */
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
/* Largest admin queue: AQA holds its sizes in 12 bits (NVMe Base 2.0 §3.1.3.8). */
#define NVME_AQ_MAX 4096
/* A register read of all ones: the function is gone (surprise removal) or not responding. */
#define NVME_REG_GONE 0xffffffffu

/*
 * Identify Controller SGLS bits 1:0 (NVMe Base 2.0 Figure 275): 00b no SGLs for NVM commands,
 * 01b SGLs with no alignment or granularity requirement for Data Blocks, 10b SGLs whose Data
 * Blocks need dword alignment and granularity, 11b reserved.
 */
#define NVME_SGLS_SUPPORTED(sgls) ((sgls)&3u)
#define NVME_SGLS_BYTE 1u
#define NVME_SGLS_DWORD 2u
/* SGLS bit 19: MPTR may hold the address of an SGL segment of exactly one qword-aligned
 * descriptor, which describes the metadata buffer (CDW0.PSDT 10b, §4.2 Figure 92). */
#define NVME_SGLS_MSGL (1u << 19)

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

/* ONCS bits (Figure 275): Compare, Dataset Management, Write Zeroes. */
#define NVME_ONCS_COMPARE (1u << 0)
#define NVME_ONCS_DSM (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)
/* OAES bit 8: Namespace Attribute Notices. */
#define NVME_OAES_NS_ATTR (1u << 8)

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
