/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCIe command submission, the general case (the fast path is pcie_fast.h): the command copied
 * into the SQ slot at the tail, its data described by PRPs, or by an SGL where PRPs cannot and
 * the controller has SGLs (NVMe Base 2.0 §4.1.1, §4.1.2), a separate metadata buffer in MPTR
 * or through an SGL of its own (pcie_md.c).
 * The buffers must be DMA memory (lib/mem gives their IOVAs), unless the payload asks for a
 * copy: then the data travels in the slot's own list area (I/O queues) or a DMA buffer of its
 * own (the admin queue).
 */
#include <errno.h>
#include <string.h>

#include <updk/mem.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

/* Describe @len bytes of the payload, from its start on, into the builder. */
static int payload_describe(struct nvme_dptr *d, const struct nvme_payload *pl, uint64_t len)
{
	int i = pl->iov_idx;
	size_t off = pl->iov_off;

	while (len) {
		const uint8_t *p;
		size_t avail, clen;
		uint64_t iova;
		int rc;

		if (i >= pl->iovcnt)
			return -EINVAL;
		avail = pl->iov[i].iov_len - off;
		if (avail == 0) {
			i++;
			off = 0;
			continue;
		}
		p = (const uint8_t *)pl->iov[i].iov_base + off;
		iova = updk_iova_contig(p, &clen);
		if (iova == UPDK_IOVA_INVALID)
			return -EFAULT;
		if (clen > avail)
			clen = avail;
		if (clen > len)
			clen = len;
		rc = nvme_dptr_add(d, iova, clen);
		if (rc)
			return rc;
		off += clen;
		len -= clen;
	}
	return 0;
}

/*
 * Buffer alignment: PRP entries are dword aligned (NVMe Base 2.0 §4.1.1); SGL Data Blocks may
 * start at any byte unless Identify Controller SGLS bits 1:0 are 10b, dword alignment and
 * granularity required (§4.1.2, Figure 275). So only a controller whose SGLs are byte aligned
 * takes an element that starts off a dword, or, before the last, has a length off a dword.
 */
int pcie_check_payload(struct updk_nvme_qpair *qp, const struct iovec *iov, int iovcnt,
		       const char *what, uint32_t id)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	const char *sgl = pq->sgl ? " and so do this controller's SGLs (SGLS 10b)" :
				    ", and SGLs are not in use";

	if (pq->sgl && !pq->sgl_dword)
		return 0;
	for (int k = 0; k < iovcnt; k++) {
		uintptr_t bad = (uintptr_t)iov[k].iov_base;

		if (k + 1 < iovcnt)
			bad |= iov[k].iov_len;
		if (!(bad & 3))
			continue;
		if ((uintptr_t)iov[k].iov_base & 3)
			nvme_qp_log(qp,
				    "%s: %s %u: buffer %p (element %d) is not dword aligned: PRPs "
				    "need dword alignment (NVMe Base 2.0 §4.1.1)%s",
				    qp->ctrlr->name, what, id, iov[k].iov_base, k, sgl);
		else
			nvme_qp_log(
				qp,
				"%s: %s %u: buffer element %d is %zu bytes, not whole dwords, so "
				"the next one is not dword aligned: PRPs need dword alignment "
				"(NVMe Base 2.0 §4.1.1)%s",
				qp->ctrlr->name, what, id, k, iov[k].iov_len, sgl);
		return -EINVAL;
	}
	return 0;
}

/* The data pointer of @sqe for the payload: PRPs, else an SGL when the controller has it; an
 * SGL straight away when @sgl (the metadata goes by SGL: PSDT 10b covers both). */
static int build_dptr(struct nvme_pcie_qpair *pq, uint16_t cid, struct updk_nvme_cmd *sqe,
		      const struct nvme_payload *pl, bool sgl)
{
	uint64_t *list = pcie_req_list(pq, cid);
	uint64_t list_iova = pcie_req_list_iova(pq, cid);
	uint32_t cap = (pq->list_stride - pcie_md_area_bytes(pq)) / 8;
	struct nvme_dptr d;
	int rc;

	nvme_dptr_init(&d, sqe, list, list_iova, cap, sgl);
	d.sgl_dword = sgl && pq->sgl_dword;
	rc = payload_describe(&d, pl, pl->len);
	if (rc == -EINVAL && pq->sgl && !sgl) {
		nvme_dptr_init(&d, sqe, list, list_iova, cap, true);
		d.sgl_dword = pq->sgl_dword;
		rc = payload_describe(&d, pl, pl->len);
	}
	if (rc == -EINVAL)
		nvme_qp_log(&pq->qp,
			    "%s: namespace %u: buffer layout not describable by PRPs%s (dword "
			    "aligned; interior pages whole)",
			    pq->qp.ctrlr->name, sqe->nsid, pq->sgl ? " or SGLs" : "");
	else if (rc == -EFAULT)
		nvme_qp_log(&pq->qp,
			    "%s: namespace %u: buffer is not DMA memory (updk_dma_alloc or "
			    "updk_mem_register it)",
			    pq->qp.ctrlr->name, sqe->nsid);
	if (rc)
		return rc;
	nvme_dptr_finish(&d);
	return 0;
}

/* Gather the payload's bytes into @dst (a copy of the caller's memory, which may be any). */
static void payload_gather(void *dst, const struct nvme_payload *pl)
{
	uint8_t *p = dst;
	uint32_t left = pl->len;
	size_t off = pl->iov_off;

	for (int i = pl->iov_idx; left && i < pl->iovcnt; i++, off = 0) {
		size_t n = pl->iov[i].iov_len - off;

		if (n > left)
			n = left;
		memcpy(p, (const uint8_t *)pl->iov[i].iov_base + off, n);
		p += n;
		left -= (uint32_t)n;
	}
}

/*
 * An admin command's data through a DMA buffer of its own (the caller's memory may be any):
 * copied in for a command that sends data, and back at completion (nvme_complete()) for one
 * that reads, as the opcode's bits 1:0 say (NVMe Base 2.0 §5, Figure 138).
 */
static int admin_bounce(struct nvme_pcie_qpair *pq, struct nvme_req *req, struct updk_nvme_cmd *sqe,
			const struct nvme_payload *pl)
{
	struct nvme_pcie_ctrlr *pc = pcie_ctrlr(pq->qp.ctrlr);
	struct nvme_dptr d;
	uint64_t iova = 0;
	void *bounce;

	if (pl->iovcnt != 1) /* the core's admin calls pass one buffer */
		return -EINVAL;
	bounce = updk_dma_zalloc(pl->len, NVME_PAGE_SIZE, pc->numa, &iova);
	if (!bounce)
		return -ENOMEM;
	if (sqe->opc & 1)
		payload_gather(bounce, pl);
	nvme_dptr_init(&d, sqe, pcie_req_list(pq, req->cid), pcie_req_list_iova(pq, req->cid),
		       pq->list_stride / 8, false);
	if (nvme_dptr_add(&d, iova, pl->len)) {
		updk_dma_free(bounce);
		return -EINVAL;
	}
	nvme_dptr_finish(&d);
	req->bounce = bounce;
	req->user_buf = (sqe->opc & 2) ? (uint8_t *)pl->iov[0].iov_base + pl->iov_off : NULL;
	req->user_len = pl->len;
	return 0;
}

/* Data copied into the slot's own list area (DMA memory, IOVA contiguous), at most copy_max
 * bytes, so within one page or two: PRP1 and PRP2. */
static void copy_to_slot(struct nvme_pcie_qpair *pq, uint16_t cid, struct updk_nvme_cmd *sqe,
			 const struct nvme_payload *pl)
{
	uint64_t iova = pcie_req_list_iova(pq, cid);

	payload_gather(pcie_req_list(pq, cid), pl);
	sqe->dptr.prp.prp1 = iova;
	if ((iova & NVME_PAGE_MASK) + pl->len > NVME_PAGE_SIZE)
		sqe->dptr.prp.prp2 = (iova & ~(uint64_t)NVME_PAGE_MASK) + NVME_PAGE_SIZE;
	else
		sqe->dptr.prp.prp2 = 0;
}

int pcie_submit(struct updk_nvme_qpair *qp, struct nvme_req *req, const struct updk_nvme_cmd *cmd,
		const struct nvme_payload *pl)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	struct updk_nvme_cmd *sqe = &pq->sq[pq->sq_tail];
	bool md_sgl = false;
	int rc = 0;

	*sqe = *cmd;
	sqe->cid = req->cid;
	if (pl->md) {
		rc = pcie_md_ptr(pq, req->cid, sqe, pl->md, pl->md_len, &md_sgl);
		if (rc)
			return rc;
	}
	/* With no data, the DPTR goes as built: the transport's own admin commands (Create I/O
	 * queue, Doorbell Buffer Config) point at its memory there; the core's are zero. */
	if (pl->len) {
		sqe->flags &= 0x3f; /* PSDT 00b: PRPs, unless the builder picks an SGL */
		memset(&sqe->dptr, 0, sizeof(sqe->dptr));
		if (!(pl->flags & NVME_PAYLOAD_COPY))
			rc = build_dptr(pq, req->cid, sqe, pl, md_sgl);
		else if (md_sgl) /* the core copies no data that has metadata */
			rc = -EINVAL;
		else if (qp->qid == 0)
			rc = admin_bounce(pq, req, sqe, pl);
		else if (pl->len <= qp->copy_max)
			copy_to_slot(pq, req->cid, sqe, pl);
		else
			rc = -EINVAL;
		if (rc)
			return rc;
	}
	if (md_sgl) /* SGLs for the data and the metadata (Figure 92) */
		sqe->flags = (sqe->flags & 0x3f) | NVME_PSDT_SGL_MPTR_SGL;
	pcie_sq_advance(pq);
	return 0;
}

uint16_t pcie_cancel_last(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	pq->sq_tail = pq->sq_tail ? pq->sq_tail - 1 : pq->qsize - 1;
	return pq->sq[pq->sq_tail].cid;
}
