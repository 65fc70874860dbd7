/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport's completion reaper (NVMe Base 2.0 §3.3: a CQ as a circular queue with a
 * phase tag, §4.6 completion entries), inlined into pcie_poll() (pcie_poll.c: the admin queue
 * and any qpair through the transport ops) and into the core's poll entry for an I/O qpair on
 * this transport (drivers/nvme/qpair.c, as io.c inlines pcie_fast.h), so that a poll makes one
 * call. Every entry the controller wrote is checked as untrusted input before it is used.
 */
#ifndef NVME_PCIE_REAP_H
#define NVME_PCIE_REAP_H

#include "drivers/nvme/pcie/pcie.h"

/* pcie_poll.c: a CQE the inline path does not complete (an error, a child, the admin queue, or
 * a CID it does not believe), with every check made in full; @next is the CQ head after it,
 * recorded in @pq->reap_refused_at when it refuses the entry's CID. Counts the entry in
 * @pq->reap_uncounted unless a command completed for its caller. */
void pcie_cpl_slow(struct nvme_pcie_qpair *pq, const struct updk_nvme_cpl *e, uint32_t next);
/* pcie_poll.c: the SQ head of the last entry reaped, checked (once) and taken if it holds:
 * after every batch of the admin queue, every 32nd poll of an I/O queue. */
void pcie_sq_head_check(struct nvme_pcie_qpair *pq);

/*
 * A CQE's last dword (Figure 90: CID in bits 15:0, the status field above with the phase tag in
 * bit 16: CQE_PHASE in pcie.h) exclusive-or'd with the phase tag of the current pass: CQE_PHASE
 * is then clear for an entry the controller has posted in this pass, and CQE_SC_SCT clear for
 * success (SCT and SC zero; the CRD, M and DNR bits above say nothing then).
 */
#define CQE_SC_SCT 0x0ffe0000u

/* The last dword of @e in one aligned load (the phase tag and the fields checked come from the
 * same load), the current pass's phase tag taken out. */
NVME_INLINE uint32_t pcie_cqe_dw3(const struct nvme_pcie_qpair *pq,
				  volatile struct updk_nvme_cpl *e)
{
	return *(volatile uint32_t *)&e->cid ^ pq->cq_phase;
}

/*
 * Reap up to @max completions (0: all there are); returns the commands completed for their
 * callers. An I/O queue's common case, a CID in range and outstanding and success, is
 * completed inline; anything else, and every admin completion (@admin), goes through
 * pcie_cpl_slow(). The SQ head and SQ id are not needed here (pcie_sq_head_check() reads the
 * SQ head from the ring). The callback gets a pointer to the entry in the ring itself, not a
 * copy: the controller does not write that slot again before the CQ head doorbell, written
 * after the batch (so a callback must not reap this qpair itself).
 *
 * Across the callbacks the loop keeps the qpair, the next entry, @max and its countdown in
 * registers, few enough that a poll which reaps one entry saves and restores little: the
 * phase tag is read from the qpair (an operand of the exclusive or, as cheap as a register), and
 * the entries that completed no command for a caller are counted by pcie_cpl_slow(), not in
 * the loop.
 */
NVME_INLINE int pcie_reap(struct nvme_pcie_qpair *pq, uint32_t max, const bool admin)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	volatile struct updk_nvme_cpl *e = pq->cq + pq->cq_head;
	/* max 0 ("all"): the countdown starts at 2^32, never reached in one go */
	uint32_t left = max, h, uncounted;
	int32_t n;
	uint32_t dw3 = pcie_cqe_dw3(pq, e);

	/* the common idle poll: nothing new, leave before any more work */
	if (dw3 & CQE_PHASE)
		return 0;
	for (;;) {
		const struct updk_nvme_cpl *c = (const struct updk_nvme_cpl *)e;
		uint32_t cid = (uint16_t)dw3;
		struct nvme_req *req = &qp->reqs[cid];

		/* The phase tag says the entry is complete; cdw0 is read (by the callback) after it. */
		updk_rmb();
		if (NVME_UNLIKELY(++e == pq->cq_end)) {
			e = pq->cq;
			pq->cq_phase ^= CQE_PHASE;
		}
		if (NVME_LIKELY(!admin && !(dw3 & CQE_SC_SCT) && cid < qp->depth &&
				req->state == NVME_REQ_OUTSTANDING)) {
			qp->stats.cmds_completed++;
			nvme_complete_io(qp, req, (uint16_t)cid, c);
		} else {
			pcie_cpl_slow(pq, c, (uint32_t)(e - pq->cq));
		}
		if (--left == 0)
			break;
		dw3 = pcie_cqe_dw3(pq, e);
		if (dw3 & CQE_PHASE)
			break;
	}
	h = (uint32_t)(e - pq->cq);
	n = (int32_t)(max - left);
	pq->cq_head = (uint16_t)h;
	uncounted = pq->reap_uncounted;
	pq->reap_uncounted = 0;
	if (admin)
		pcie_sq_head_check(pq);
	pq->cq_unrung += (uint32_t)n;
	if (pq->cq_unrung >= pq->cq_ring_at)
		pcie_cq_ring(pq);
	return n - (int32_t)uncounted;
}

/* The poll of an I/O qpair on this transport: the pending SQ tail doorbell, then the reaper. */
NVME_INLINE int pcie_fast_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	pcie_sq_ring(pq);
	return pcie_reap(pq, max, false);
}

/* What an I/O qpair's poll does every 32nd time (with the core's tick): the SQ head check. */
NVME_INLINE void pcie_fast_tick(struct updk_nvme_qpair *qp)
{
	pcie_sq_head_check(pcie_qp(qp));
}

#endif
