/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport's fast path, inlined into the core's one-buffer read, write and compare
 * (drivers/nvme/io.c) so that the common I/O makes no call and needs no stack frame: the
 * buffer's IOVA from the thread's translation cache, and the SQE written in place in the SQ
 * with PRP1 and PRP2 (NVMe Base 2.0 §4.1.1). Taken only on a qpair whose inline_pcie is set;
 * everything it does not take goes through the transport ops like any other command.
 */
#ifndef NVME_PCIE_FAST_H
#define NVME_PCIE_FAST_H

#include "drivers/nvme/pcie/pcie.h"
#include "lib/mem/iova_cache.h"

#include <updk/mem.h>

/* The IOVA of @buf when the thread's translation cache holds @len bytes of it, else all ones
 * (UPDK_IOVA_INVALID), which pcie_fast_fits() refuses. */
NVME_INLINE uint64_t pcie_fast_iova(const void *buf, uint32_t len)
{
	return mem_iova_cached(buf, len);
}

/* The IOVA of @buf looked up in full (which refills the thread's translation cache) when @len
 * bytes of it are IOVA contiguous, else all ones. */
static inline uint64_t pcie_lookup_iova(const void *buf, uint32_t len)
{
	size_t clen = 0;
	uint64_t iova = updk_iova_contig(buf, &clen);

	return clen >= len ? iova : UPDK_IOVA_INVALID;
}

/* PRP1 and PRP2 describe @len bytes at @iova: dword aligned (a cache miss is all ones, so it
 * fails the same test) and within two memory pages, so no PRP list is needed. */
NVME_INLINE bool pcie_fast_fits(uint64_t iova, uint32_t len)
{
	return !(iova & 3) & ((iova & NVME_PAGE_MASK) + len <= 2 * NVME_PAGE_SIZE);
}

/* Write a whole SQE in place, in eight-byte stores, @qw0 its first qword (CDW0: the opcode,
 * FUSE 00b, PSDT 00b (PRP), the CID; then the NSID); the data pointer is set by the caller. */
NVME_INLINE void pcie_sqe_fill(struct updk_nvme_cmd *sqe, uint64_t qw0, uint64_t lba,
			       uint32_t cdw12)
{
	uint64_t *qw = (uint64_t *)sqe;

	qw[0] = qw0;
	qw[1] = 0; /* CDW2, CDW3 */
	qw[2] = 0; /* MPTR */
	qw[5] = lba; /* CDW10, CDW11: SLBA */
	qw[6] = cdw12; /* CDW12, CDW13 = 0 */
	qw[7] = 0; /* CDW14, CDW15 */
}

/* Queue a data command (@qw0 its first qword, pcie_sqe_fill()) for the @len bytes at @iova
 * (pcie_fast_fits() said yes): PRP1 alone within one memory page, PRP2 the second page when it
 * touches two. */
NVME_INLINE void pcie_fast_post(struct updk_nvme_qpair *qp, uint64_t qw0, uint64_t lba,
				uint32_t cdw12, uint64_t iova, uint32_t len)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	struct updk_nvme_cmd *sqe = &pq->sq[pq->sq_tail];

	pcie_sqe_fill(sqe, qw0, lba, cdw12);
	sqe->dptr.prp.prp1 = iova;
	if (NVME_LIKELY((iova & NVME_PAGE_MASK) + len <= NVME_PAGE_SIZE))
		sqe->dptr.prp.prp2 = 0;
	else
		sqe->dptr.prp.prp2 = (iova & ~(uint64_t)NVME_PAGE_MASK) + NVME_PAGE_SIZE;
	pcie_sq_advance(pq);
}

#endif
