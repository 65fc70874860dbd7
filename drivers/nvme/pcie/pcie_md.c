/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The separate metadata buffer of a Read, Write or Compare (NVMe Base 2.0 §4.2, Figure 92).
 * With CDW0.PSDT 00b or 01b, MPTR is the address of one contiguous buffer, dword aligned
 * (§4.1.1). With PSDT 10b the data is described by SGLs and MPTR is the Metadata SGL Segment
 * Pointer: the address of an SGL segment holding exactly one qword-aligned descriptor, here a
 * Data Block when the buffer is one IOVA-contiguous run, else a Last Segment pointing at one
 * Data Block a run (§4.1.2). A controller offers PSDT 10b with Identify Controller SGLS bit 19;
 * the controller's md_sgl (setup.c, opts.md_sgl) says whether the driver uses it where MPTR
 * cannot point at the buffer (AUTO) or always (ON). The descriptors sit at the end of the
 * slot's list area (pcie_md_area_bytes()), after the data's PRP list or SGL.
 */
#include <errno.h>

#include <updk/mem.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

/*
 * Walk @len bytes at @md in IOVA-contiguous runs, each put in @descs as a Data Block when
 * @descs is not NULL (at most @max). The number of runs, or -EFAULT (a byte that is not DMA
 * memory), -EINVAL (a run off a dword when @dword: SGLS bits 1:0 10b want Data Blocks dword
 * aligned and granular, Figure 275), -E2BIG (more runs than @max).
 */
static int md_runs(const uint8_t *md, uint32_t len, bool dword, struct nvme_sgl_desc *descs,
		   uint32_t max)
{
	uint32_t n = 0;

	while (len) {
		size_t clen = 0;
		uint64_t iova = updk_iova_contig(md, &clen);

		if (iova == UPDK_IOVA_INVALID || clen == 0)
			return -EFAULT;
		if (clen > len)
			clen = len;
		if (dword && ((iova | clen) & 3))
			return -EINVAL;
		if (descs) {
			if (n >= max)
				return -E2BIG;
			descs[n] = (struct nvme_sgl_desc){ .addr = iova,
							   .len = (uint32_t)clen,
							   .id = NVME_SGL_DATA_BLOCK };
		}
		n++;
		md += clen;
		len -= (uint32_t)clen;
	}
	return (int)n;
}

/* NULL when MPTR can point at the @len bytes at @md (one IOVA-contiguous, dword-aligned run of
 * DMA memory, its IOVA in *@iova), else what the buffer is not. */
static const char *mptr_misfit(const void *md, uint32_t len, uint64_t *iova)
{
	size_t clen = 0;

	*iova = updk_iova_contig(md, &clen);
	if (*iova == UPDK_IOVA_INVALID)
		return "DMA memory";
	if (*iova & 3)
		return "dword aligned";
	return clen < len ? "IOVA contiguous" : NULL;
}

int pcie_check_md(struct updk_nvme_qpair *qp, const void *md, uint32_t len, uint32_t nsid)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	uint64_t iova = 0;
	const char *misfit = NULL;
	int rc;

	if (pq->md_sgl != UPDK_NVME_MD_SGL_ON) {
		misfit = mptr_misfit(md, len, &iova);
		if (!misfit)
			return 0;
	}
	if (pq->md_sgl == UPDK_NVME_MD_SGL_OFF) {
		nvme_qp_log(
			qp,
			"%s: namespace %u: metadata buffer %p of %u bytes is not %s: MPTR needs "
			"one contiguous dword-aligned run of DMA memory (NVMe Base 2.0 §4.1.1)%s",
			qp->ctrlr->name, nsid, md, len, misfit,
			qp->ctrlr->sgl ? ", and SGLs for metadata are not in use (Identify SGLS "
					 "bit 19, opts.md_sgl)" :
					 "");
		return iova == UPDK_IOVA_INVALID ? -EFAULT : -EINVAL;
	}
	rc = md_runs(md, len, pq->sgl_dword, NULL, 0);
	if (rc == -EFAULT)
		nvme_qp_log(
			qp,
			"%s: namespace %u: metadata buffer %p of %u bytes is not all DMA memory "
			"(updk_dma_alloc or updk_mem_register it)",
			qp->ctrlr->name, nsid, md, len);
	else if (rc == -EINVAL)
		nvme_qp_log(
			qp,
			"%s: namespace %u: metadata buffer %p of %u bytes has a piece off a dword: "
			"this controller's SGL Data Blocks need dword alignment and granularity "
			"(SGLS bits 1:0 10b, NVMe Base 2.0 Figure 275)",
			qp->ctrlr->name, nsid, md, len);
	return rc < 0 ? rc : 0;
}

int pcie_md_ptr(struct nvme_pcie_qpair *pq, uint16_t cid, struct updk_nvme_cmd *sqe, const void *md,
		uint32_t len, bool *sgl)
{
	uint32_t off = pq->list_stride - pcie_md_area_bytes(pq);
	struct nvme_sgl_desc *area =
		(struct nvme_sgl_desc *)((uint8_t *)pcie_req_list(pq, cid) + off);
	uint64_t area_iova = pcie_req_list_iova(pq, cid) + off;
	uint64_t iova;
	int n;

	*sgl = false;
	if (pq->md_sgl != UPDK_NVME_MD_SGL_ON && !mptr_misfit(md, len, &iova)) {
		sqe->mptr = iova;
		return 0;
	}
	if (pq->md_sgl == UPDK_NVME_MD_SGL_OFF)
		return pcie_check_md(&pq->qp, md, len, sqe->nsid);
	/* area[0] is the segment MPTR points at; a Last Segment's Data Blocks follow it */
	n = md_runs(md, len, pq->sgl_dword, area + 1, pq->md_descs);
	if (n == -E2BIG) {
		nvme_qp_log(
			&pq->qp,
			"%s: namespace %u: metadata buffer %p of %u bytes is in more than %u "
			"IOVA-contiguous pieces, more than a command's metadata SGL holds: give "
			"it in fewer (updk_dma_alloc memory is one piece)",
			pq->qp.ctrlr->name, sqe->nsid, md, len, pq->md_descs);
		return -EINVAL;
	}
	if (n < 0)
		return pcie_check_md(&pq->qp, md, len, sqe->nsid);
	if (n == 1)
		area[0] = area[1];
	else
		area[0] = (struct nvme_sgl_desc){ .addr = area_iova + sizeof(*area),
						  .len = (uint32_t)n * (uint32_t)sizeof(*area),
						  .id = NVME_SGL_LAST_SEGMENT };
	sqe->mptr = area_iova;
	*sgl = true;
	return 0;
}
