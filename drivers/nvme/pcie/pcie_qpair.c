/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * PCIe queue pairs: ring memory and the slots' PRP list areas, doorbells and the shadow
 * doorbell slots of each queue, and the admin commands that make a queue exist on the
 * controller (NVMe Base 2.0 §3.3: SQ/CQ as circular queues in host memory; §5.4, §5.5 Create
 * I/O CQ/SQ; §5.6, §5.7 Delete). Doorbell Buffer Config itself is pcie_dbbuf.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

void pcie_qpair_set_shadow(struct nvme_pcie_qpair *pq)
{
	struct nvme_pcie_ctrlr *pc = pcie_ctrlr(pq->qp.ctrlr);
	/* The shadow buffers mirror the doorbell register layout, stride included (§5.8). */
	uint32_t sq = (nvme_sq_db_off(pq->qp.qid, pc->dstrd) - NVME_REG_DBS) / 4;
	uint32_t cq = (nvme_cq_db_off(pq->qp.qid, pc->dstrd) - NVME_REG_DBS) / 4;

	if (!pc->shadow) {
		pq->sq_shadow = pq->sq_ei = pq->cq_shadow = pq->cq_ei = NULL;
		return;
	}
	pq->sq_shadow = &pc->dbbuf[sq];
	pq->cq_shadow = &pc->dbbuf[cq];
	pq->sq_ei = &pc->dbbuf_ei[sq];
	pq->cq_ei = &pc->dbbuf_ei[cq];
}

/* Empty rings, the controller's SGL choice and its shadow doorbells: after creation and after
 * a controller reset (which may change both). */
void pcie_qpair_reset_rings(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	memset(pq->sq, 0, (size_t)pq->qsize * sizeof(struct updk_nvme_cmd));
	memset((void *)pq->cq, 0, (size_t)pq->qsize * sizeof(struct updk_nvme_cpl));
	pq->sq_tail = pq->sq_db_tail = pq->sq_head = 0;
	pq->cq_head = pq->cq_db_head = 0;
	pq->cq_ring_in = pq->cq_ring_at;
	pq->sq_head_seen_at = pq->reap_refused_at = UINT32_MAX;
	pq->reap_uncounted = 0;
	pq->cq_phase = CQE_PHASE; /* the controller posts its first pass with phase 1 (§4.6) */
	pq->sgl = qp->ctrlr->sgl;
	pq->sgl_dword = qp->ctrlr->sgl_dword;
	pq->md_sgl = pq->md_descs ? qp->ctrlr->md_sgl : UPDK_NVME_MD_SGL_OFF;
	pcie_qpair_set_shadow(pq);
	if (pq->sq_shadow) {
		*pq->sq_shadow = 0;
		*pq->sq_ei = 0;
		*pq->cq_shadow = 0;
		*pq->cq_ei = 0;
	}
}

/*
 * The entries of an I/O queue whose slots need @need (depth + 1): twice that, 256 to 4096, but
 * never more than the controller takes (CAP.MQES + 1, @max, at least @need: the core checked
 * the depth against it). The slots, not the ring, bound what is outstanding, so a deeper ring
 * lets the reaper give CQ entries back lazily (pcie_reap()): the controller never waits for the
 * CQ head doorbell. Ring memory is small: 64 bytes an SQ entry, 16 a CQ entry.
 */
static uint32_t pcie_io_ring_entries(uint32_t need, uint32_t max)
{
	uint32_t n = 2 * need;

	n = n < 256 ? 256 : n > 4096 ? 4096 : n;
	if (n < need)
		n = need;
	return n > max && max >= need ? max : n;
}

int pcie_qpair_create(struct updk_nvme_ctrlr *c, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp)
{
	struct nvme_pcie_ctrlr *pc = pcie_ctrlr(c);
	uint32_t sq_off = nvme_sq_db_off(qid, pc->dstrd);
	uint32_t cq_off = nvme_cq_db_off(qid, pc->dstrd);
	struct nvme_pcie_qpair *pq;
	size_t list_bytes = 0;
	int rc;

	/* The admin queue, created before the core reads CAP: no more than CAP.MQES + 1 entries
	 * (a controller claiming fewer than 2 is refused by the core once it reads CAP). */
	if (qid == 0 && pc->aq_max >= 2 && qsize > pc->aq_max)
		qsize = pc->aq_max;
	if ((size_t)cq_off + 4 > pc->bar_len) {
		log_err("%s: doorbell of queue %u at 0x%x lies beyond BAR0 (%zu bytes)", c->name,
			qid, cq_off, pc->bar_len);
		return -EINVAL;
	}
	pq = aligned_alloc(64, sizeof(*pq));
	if (!pq)
		return -ENOMEM;
	memset(pq, 0, sizeof(*pq));
	/* one slot stays empty: full is tail + 1 == head */
	rc = nvme_qpair_init(&pq->qp, c, qid, qsize - 1);
	if (qid != 0)
		qsize = pcie_io_ring_entries(qsize, pc->aq_max);
	pq->qsize = (uint16_t)qsize;
	pq->sq_db = (volatile uint32_t *)(pc->bar + sq_off);
	pq->cq_db = (volatile uint32_t *)(pc->bar + cq_off);
	if (rc == 0) {
		pq->sq = updk_dma_zalloc((size_t)qsize * sizeof(struct updk_nvme_cmd),
					 NVME_PAGE_SIZE, pc->numa, &pq->sq_iova);
		pq->cq = updk_dma_zalloc((size_t)qsize * sizeof(struct updk_nvme_cpl),
					 NVME_PAGE_SIZE, pc->numa, &pq->cq_iova);
		/* room for a metadata SGL where one may be used (I/O queues only) */
		if (qid != 0 && c->md_sgl != UPDK_NVME_MD_SGL_OFF)
			pq->md_descs = pcie_md_sgl_descs(c->max_xfer);
		pq->list_stride =
			(nvme_list_qwords(c->max_xfer) * 8 + pcie_md_area_bytes(pq) + 63) & ~63u;
		list_bytes = (size_t)pq->list_stride * pq->qp.depth;
		pq->list_mem =
			updk_dma_zalloc(list_bytes, NVME_PAGE_SIZE, pc->numa, &pq->list_iova);
	}
	pq->cq_end = pq->cq + qsize;
	/* half the ring less the slots: with at most depth entries still to come, the
	 * controller never finds the CQ full (the admin queue, as deep as its slots and one,
	 * gives its entries back after every batch) */
	pq->cq_ring_at = qsize / 2 > pq->qp.depth ? qsize / 2 - pq->qp.depth : 1;
	pq->sq_ring_max = pq->qp.depth > 1 ? (uint16_t)(pq->qp.depth / 2) : 1;
	if (rc || !pq->sq || !pq->cq || !pq->list_mem) {
		log_err("%s: no memory for queue %u (%u entries, %zu bytes of PRP lists)", c->name,
			qid, qsize, list_bytes);
		pcie_qpair_release(&pq->qp);
		pcie_qpair_free(&pq->qp);
		return -ENOMEM;
	}
	/* DSM ranges and other small data travel by copy in the slot's own list area. */
	pq->qp.copy_max = pq->list_stride - pcie_md_area_bytes(pq) < NVME_PAGE_SIZE ?
				  pq->list_stride - pcie_md_area_bytes(pq) :
				  NVME_PAGE_SIZE;
	nvme_qp_set_inline(&pq->qp, qid != 0);
	pq->cqe_refuse = CQE_SC_SCT | (0xffffu & ~(nvme_reqs_span(pq->qp.depth) - 1));
	/* Queues and lists must be IOVA contiguous: created with PC=1, lists chained by address. */
	pcie_qpair_reset_rings(&pq->qp);
	*qpp = &pq->qp;
	return 0;
}

void pcie_qpair_release(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	updk_dma_free(pq->sq);
	updk_dma_free((void *)pq->cq);
	updk_dma_free(pq->list_mem);
	nvme_qpair_fini(qp);
	pq->sq = NULL;
	pq->cq = NULL;
	pq->list_mem = NULL;
	/* nothing queued: ring() writes nothing from now on */
	pq->sq_tail = pq->sq_db_tail = 0;
}

void pcie_qpair_free(struct updk_nvme_qpair *qp)
{
	free(pcie_qp(qp));
}

void pcie_ring(struct updk_nvme_qpair *qp)
{
	pcie_sq_ring(pcie_qp(qp));
}

/* Create I/O CQ then SQ (§5.4, §5.5): CDW10 QSIZE 31:16 (0's based) | QID; PC=1; the CQ with
 * IEN and its IV when the qpair has a vector, else without interrupts. */
int pcie_qpair_connect(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	struct updk_nvme_ctrlr *c = qp->ctrlr;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_CREATE_IO_CQ };
	struct updk_nvme_cpl cpl;
	int rc;

	cmd.dptr.prp.prp1 = pq->cq_iova;
	cmd.cdw10 = ((uint32_t)(pq->qsize - 1) << 16) | qp->qid;
	cmd.cdw11 = NVME_QUEUE_PC;
	if (qp->iv >= 0)
		cmd.cdw11 |= NVME_QUEUE_IEN | NVME_QUEUE_IV(qp->iv);
	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc) {
		if (rc == -EIO)
			nvme_log_cpl(c, "Create I/O Completion Queue", &cpl);
		return rc;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = UPDK_NVME_OPC_CREATE_IO_SQ;
	cmd.dptr.prp.prp1 = pq->sq_iova;
	cmd.cdw10 = ((uint32_t)(pq->qsize - 1) << 16) | qp->qid;
	cmd.cdw11 = ((uint32_t)qp->qid << 16) | NVME_QUEUE_PC; /* CQID = QID */
	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc) {
		struct updk_nvme_cmd del = { .opc = UPDK_NVME_OPC_DELETE_IO_CQ, .cdw10 = qp->qid };

		if (rc == -EIO)
			nvme_log_cpl(c, "Create I/O Submission Queue", &cpl);
		nvme_admin_sync_quiet(c, &del, NULL, 0, NULL);
		return rc;
	}
	return 0;
}

int pcie_qpair_disconnect(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *c = qp->ctrlr;
	struct updk_nvme_cmd cmd = { .opc = UPDK_NVME_OPC_DELETE_IO_SQ, .cdw10 = qp->qid };
	struct updk_nvme_cpl cpl;
	int rc, rc2;

	rc = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc == -EIO)
		nvme_log_cpl(c, "Delete I/O Submission Queue", &cpl);
	cmd.opc = UPDK_NVME_OPC_DELETE_IO_CQ;
	rc2 = nvme_admin_sync_quiet(c, &cmd, NULL, 0, &cpl);
	if (rc2 == -EIO)
		nvme_log_cpl(c, "Delete I/O Completion Queue", &cpl);
	return rc ? rc : rc2;
}
