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
 * is then clear for an entry the controller has posted in this pass, and the qpair's
 * cqe_refuse bits clear for a success with a CID within the slots.
 */

/* The last dword of @e in one aligned load (the phase tag and the fields checked come from the
 * same load), the current pass's phase tag taken out. */
NVME_INLINE uint32_t pcie_cqe_dw3(const struct nvme_pcie_qpair *pq,
				  volatile struct updk_nvme_cpl *e)
{
	return *(volatile uint32_t *)&e->cid ^ pq->cq_phase;
}

/* No entry at the CQ head: the controller has posted nothing more for now. */
NVME_INLINE bool pcie_cq_empty(const struct nvme_pcie_qpair *pq)
{
	return pcie_cqe_dw3(pq, pq->cq + pq->cq_head) & CQE_PHASE;
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
 * registers (the poll that reaps one entry at queue depth 1 keeps none: pcie_reap_one()): the
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
		if (NVME_LIKELY(!admin && !(dw3 & pq->cqe_refuse) &&
				req->state == NVME_REQ_OUTSTANDING)) {
			qp->stats.cmds_completed++;
			nvme_complete_io(qp, req, c);
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
	if ((uint32_t)n >= pq->cq_ring_in)
		pcie_cq_ring(pq);
	else
		pq->cq_ring_in -= (uint32_t)n;
	return n - (int32_t)uncounted;
}

/*
 * The poll of an I/O qpair at queue depth 1, its common case: nothing new, or exactly one new
 * entry, successful, of an outstanding command, not the ring's last, with no CQ head doorbell
 * due (the caller has seen that no tick is). Everything the poll keeps (CQ
 * head, the CQ doorbell countdown, the counter) is stored before the callback, the callback is
 * the last thing it does, and so nothing is kept across it: the poll saves no register. The
 * entry after the one reaped is looked at first (the batch the loop above would reap ends with
 * this one) and before the callback, so completions the callback's submissions bring go to
 * the next poll. Returns 1 or 0 (the commands completed), or -1 having changed nothing but
 * perhaps the countdown: anything else, which pcie_reap() takes.
 */
NVME_INLINE int pcie_reap_one(struct nvme_pcie_qpair *pq)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	volatile struct updk_nvme_cpl *e = pq->cq + pq->cq_head;
	uint32_t dw3 = pcie_cqe_dw3(pq, e);
	struct nvme_req *req;

	if (dw3 & CQE_PHASE)
		return 0;
	if (NVME_UNLIKELY(e + 1 == pq->cq_end || !(pcie_cqe_dw3(pq, e + 1) & CQE_PHASE) ||
			  (dw3 & pq->cqe_refuse)))
		return -1;
	req = &qp->reqs[(uint16_t)dw3];
	/* Last, the CQ doorbell countdown: at 0 the loop reaps this entry and rings (one entry
	 * early, as the countdown was taken for it). */
	if (NVME_UNLIKELY(req->state != NVME_REQ_OUTSTANDING || --pq->cq_ring_in == 0))
		return -1;
	/* The phase tag says the entry is complete; the callback reads the rest after it. */
	updk_rmb();
	pq->cq_head++;
	qp->stats.cmds_completed++;
	nvme_complete_io(qp, req, (const struct updk_nvme_cpl *)e);
	return 1;
}

/* What an I/O qpair's poll does every 32nd time (with the core's tick): the SQ head check. */
NVME_INLINE void pcie_fast_tick(struct updk_nvme_qpair *qp)
{
	pcie_sq_head_check(pcie_qp(qp));
}

#endif
