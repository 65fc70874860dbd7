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
 * recorded in @pq->reap_refused_at when it refuses the entry's CID. Returns 1 when a command
 * completed for its caller. */
int pcie_cpl_slow(struct nvme_pcie_qpair *pq, const struct updk_nvme_cpl *e, uint32_t next);
/* pcie_poll.c: the SQ head of the last entry reaped, checked (once) and taken if it holds:
 * after every batch of the admin queue, every 32nd poll of an I/O queue. */
void pcie_sq_head_check(struct nvme_pcie_qpair *pq);

/*
 * Reap up to @max completions (0: all there are); returns the commands completed for their
 * callers. A CQE is read as its second qword (SQ head, SQ id, CID, status with the phase tag:
 * Figure 90) in one aligned load, so the phase tag and the fields checked come from the same
 * load. An I/O queue's common case, a CID in range and outstanding and success, is completed
 * inline; anything else, and every admin completion (@admin), goes through pcie_cpl_slow().
 * The callback gets a pointer to the entry in the ring itself, not a copy: the controller does
 * not write that slot again before the CQ head doorbell, written after the batch (so a
 * callback must not reap this qpair itself). Across the callbacks the loop keeps the qpair, the
 * entry and the counts in registers, the phase and the rest in the qpair: a poll that saves and
 * restores few registers costs little when it reaps one entry.
 */
NVME_INLINE int pcie_reap(struct nvme_pcie_qpair *pq, uint32_t max, const bool admin)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	volatile struct updk_nvme_cpl *e = pq->cq + pq->cq_head;
	uint32_t h, n = 0;
	int done = 0;
	uint64_t w = *(volatile uint64_t *)&e->sqhd;

	/* the common idle poll: nothing new, leave before any more work */
	if (((uint32_t)(w >> 48) & 1) != pq->phase)
		return 0;
	for (;;) {
		const struct updk_nvme_cpl *c = (const struct updk_nvme_cpl *)e;
		uint32_t cid = (uint16_t)(w >> 32);
		struct nvme_req *req = &qp->reqs[cid];

		/* The phase tag says the entry is complete; cdw0 is read (by the callback) after it. */
		updk_rmb();
		if (NVME_UNLIKELY(++e == pq->cq_end)) {
			e = pq->cq;
			pq->phase ^= 1;
		}
		n++;
		if (NVME_LIKELY(!admin && cid < qp->depth && req->state == NVME_REQ_OUTSTANDING &&
				!((uint32_t)(w >> 48) & 0xffe))) {
			qp->stats.cmds_completed++;
			nvme_complete_io(qp, req, (uint16_t)cid, c);
			done++;
		} else {
			done += pcie_cpl_slow(pq, c, (uint32_t)(e - pq->cq));
		}
		/* max 0 ("all") is never reached: 2^32 entries are not reaped in one go */
		if (n == max)
			break;
		w = *(volatile uint64_t *)&e->sqhd;
		if (((uint32_t)(w >> 48) & 1) != pq->phase)
			break;
	}
	h = (uint32_t)(e - pq->cq);
	pq->cq_head = (uint16_t)h;
	if (admin)
		pcie_sq_head_check(pq);
	/*
	 * The CQ head doorbell only gives entries back to the controller (§3.3.1.2). The ring is
	 * at least twice as deep as the slots (pcie_qpair_create()), and the head goes back once
	 * cq_ring_at entries (half the ring less the slots) are reaped and not given back: the
	 * controller then always has room for every command outstanding and never waits on this
	 * head. At a low depth that leaves one doorbell per I/O, the SQ tail, instead of two: on
	 * QEMU's NVMe each is a pass of its main loop (docs/nvme-driver.md). The admin queue's
	 * ring is as deep as its slots and one: it rings every batch.
	 */
	pq->cq_unrung += n;
	if (pq->cq_unrung >= pq->cq_ring_at)
		pcie_cq_ring(pq);
	return done;
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
