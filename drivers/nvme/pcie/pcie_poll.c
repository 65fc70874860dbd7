/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport's completion reaper, for the admin queue and the I/O queues (NVMe Base
 * 2.0 §3.3: a CQ as a circular queue with a phase tag, §4.6 completion entries). Every entry
 * the controller wrote is checked as untrusted input, then handed to the core's completion
 * routine (nvme_complete(), its common case inlined as nvme_complete_io()).
 */
#include <updk/mmio.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie.h"

/* Count a CQE the reaper does not believe, and log it (nvme_qp_log() limits the lines). */
static __attribute__((noinline, cold)) void
pcie_bogus(struct updk_nvme_qpair *qp, const struct updk_nvme_cpl *c, const char *why)
{
	qp->stats.bogus_completions++;
	nvme_qp_log(qp,
		    "%s: queue %u: completion refused (%s): cid %u sqhd %u sqid %u status 0x%04x",
		    qp->ctrlr->name, qp->qid, why, c->cid, c->sqhd, c->sqid, c->status);
}

/*
 * One CQE the reaper's fast path does not take: every check made in full, as untrusted input
 * (NVMe Base 2.0 §4.6: CID, SQ Head Pointer, status). The SQ head must lie in [head, tail] on
 * the ring, head the last one a CQE reported (the controller's head only moves forward, and
 * CQEs are posted in order) and tail the one given to the controller now: a callback of this
 * poll may have written the SQ doorbell since the poll began (updk-perf --doorbell-per-cmd
 * does), and the controller may already have fetched those commands -- over a long poll, more
 * than a ring's worth, so the head known when the poll began is no base for the window.
 * Returns 1 when a command completed.
 */
static __attribute__((noinline)) int pcie_cpl_slow(struct nvme_pcie_qpair *pq,
						   const struct updk_nvme_cpl *e)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	struct updk_nvme_cpl c = *e;
	int32_t qsize = pq->qsize, h = pq->sq_head;
	int32_t span = (int32_t)pq->sq_db_tail - h;
	struct nvme_req *req;
	int32_t d;

	if (c.cid >= qp->depth) {
		pcie_bogus(qp, &c, "CID out of range");
		return 0;
	}
	req = nvme_req_outstanding(qp, c.cid);
	if (!req) {
		pcie_bogus(qp, &c, "CID not outstanding");
		return 0;
	}
	span += (span >> 31) & qsize;
	d = (int32_t)c.sqhd - h;
	d += (d >> 31) & qsize;
	if (d <= span && c.sqhd < qsize) {
		pq->sq_head = c.sqhd;
	} else {
		/* The command itself completed: only its SQ head is not believed. */
		qp->stats.bogus_completions++;
		nvme_qp_log(qp,
			    "%s: queue %u: SQ head %u in the completion of cid %u is outside [%d, "
			    "%u], the head last reported and the tail given: head not taken",
			    qp->ctrlr->name, qp->qid, c.sqhd, c.cid, h, pq->sq_db_tail);
	}
	qp->stats.cmds_completed++;
	if (updk_nvme_cpl_is_error(&c))
		qp->stats.cmds_failed++;
	return nvme_complete(qp, req, e);
}

/*
 * The reaper. A CQE is read as its second qword (SQ head, SQ id, CID, status with the phase
 * tag: NVMe Base 2.0 §4.6, Figure 90) in one aligned load, so the phase tag and the fields
 * checked come from the same load. An I/O queue's common case, a known outstanding CID, an SQ
 * head in range and success, is completed inline; anything else, and every admin completion
 * (@admin), goes through pcie_cpl_slow(). The callback gets a pointer to the entry in the ring
 * itself, not a copy: the controller does not write that slot again before the CQ head
 * doorbell, written after the whole batch (so a callback must not reap this qpair itself).
 */
NVME_INLINE int poll_impl(struct nvme_pcie_qpair *pq, uint32_t max, const bool admin)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	volatile struct updk_nvme_cpl *cq = pq->cq, *end = cq + pq->qsize;
	volatile struct updk_nvme_cpl *e = cq + pq->cq_head, *first = e;
	uint32_t phase = pq->phase;
	int32_t qsize = pq->qsize, h0 = pq->sq_head;
	int32_t span = (int32_t)pq->sq_db_tail - h0;
	int32_t lim_wrapped, lim_ahead;
	uint32_t left = max;
	int done = 0;
	uint64_t w = *(volatile uint64_t *)&e->sqhd;

	/* the common idle poll: nothing new, leave before any more work */
	if (((uint32_t)(w >> 48) & 1) != phase)
		return 0;
	span += (span >> 31) & qsize;
	/*
	 * The SQ head window [h0, h0 + span] on the ring in one compare: with d = sqhd - h0, an
	 * SQ head at or after h0 (d >= 0) must also stay below qsize, one before h0 (d < 0) is
	 * the window's part past the ring's end. The tail only grows during the poll, so what
	 * this window takes is right; what it refuses, pcie_cpl_slow() checks against the tail
	 * given to the controller by then.
	 */
	lim_wrapped = span - qsize;
	lim_ahead = span < qsize - 1 - h0 ? span : qsize - 1 - h0;
	for (;;) {
		const struct updk_nvme_cpl *c = (const struct updk_nvme_cpl *)e;
		uint32_t cid = (uint16_t)(w >> 32);
		int32_t d = (int32_t)(uint16_t)w - h0;
		struct nvme_req *req = &qp->reqs[cid];

		/* The phase tag says the entry is complete; cdw0 is read (by the callback) after it. */
		updk_rmb();
		if (NVME_UNLIKELY(++e == end)) {
			e = cq;
			phase ^= 1;
		}
		if (NVME_LIKELY(!admin && cid < qp->depth && req->state == NVME_REQ_OUTSTANDING &&
				d <= (d < 0 ? lim_wrapped : lim_ahead) &&
				!((uint32_t)(w >> 48) & 0xffe))) {
			pq->sq_head = (uint16_t)w;
			qp->stats.cmds_completed++;
			nvme_complete_io(qp, req, (uint16_t)cid, c);
			done++;
		} else {
			done += pcie_cpl_slow(pq, c);
		}
		if (--left == 0)
			break;
		w = *(volatile uint64_t *)&e->sqhd;
		if (((uint32_t)(w >> 48) & 1) != phase)
			break;
	}
	pq->cq_head = (uint16_t)(e - cq);
	pq->phase = (uint16_t)phase;
	if (e != first)
		pcie_cq_ring(pq, (uint16_t)(first - cq));
	return done;
}

/* A completion waits at the CQ head: its phase tag is the current pass's (§4.6). */
bool pcie_intr_pending(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	volatile struct updk_nvme_cpl *e = pq->cq + pq->cq_head;

	/* The consumption of the vector's count (the caller's) comes before this load. */
	updk_mb();
	return (e->status & 1) == pq->phase;
}

int pcie_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	pcie_sq_ring(pq);
	if (qp->qid == 0)
		return poll_impl(pq, max, true);
	return poll_impl(pq, max, false);
}
