/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PCIe transport's poll through its ops (the admin queue, and any qpair the core's inline
 * path does not take) and what the inline reaper (pcie_reap.h) leaves to a call: completions
 * it does not complete itself, and the messages of entries it does not believe. Every entry
 * goes to the core's completion routine (nvme_complete(), its common case inlined as
 * nvme_complete_io()).
 */
#include <updk/mmio.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/pcie/pcie_reap.h"

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
 * One CQE the inline path does not complete: every check made in full, as untrusted input
 * (NVMe Base 2.0 §4.6: CID and status; the batch's SQ head is checked by pcie_reap()).
 */
void pcie_cpl_slow(struct nvme_pcie_qpair *pq, const struct updk_nvme_cpl *e, uint32_t next)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	struct updk_nvme_cpl c = *e;
	struct nvme_req *req;

	if (c.cid >= qp->depth || !(req = nvme_req_outstanding(qp, c.cid))) {
		pcie_bogus(qp, &c, c.cid >= qp->depth ? "CID out of range" : "CID not outstanding");
		pq->reap_refused_at = next;
		pq->reap_uncounted++;
		return;
	}
	qp->stats.cmds_completed++;
	if (updk_nvme_cpl_is_error(&c))
		qp->stats.cmds_failed++;
	if (!nvme_complete(qp, req, e))
		pq->reap_uncounted++;
}

/*
 * The SQ head of the last entry reaped (§4.6 SQ Head Pointer), if its CID was believed: the
 * entries from that head to the tail given to the controller were not fetched when the entry
 * was posted, so none of their completions has been reaped since (it is the last one): they
 * are all still outstanding. A head that leaves more on the ring, or lies beyond it, is not
 * taken. The driver needs no SQ head (its rings are deeper than its slots, so a free slot
 * always has a free entry); it is checked as a field the controller wrote, once per entry: an
 * I/O queue's every 32nd poll (not on the I/O path), the admin queue's every batch.
 */
void pcie_sq_head_check(struct nvme_pcie_qpair *pq)
{
	struct updk_nvme_qpair *qp = &pq->qp;
	uint32_t h = pq->cq_head, qsize = pq->qsize, refused = pq->reap_refused_at;
	uint32_t outstanding, sqhd;

	if (h == pq->sq_head_seen_at)
		return;
	pq->sq_head_seen_at = h;
	pq->reap_refused_at = UINT32_MAX;
	if (h == refused)
		return;
	sqhd = pq->cq[h ? h - 1 : qsize - 1].sqhd;
	outstanding = nvme_qp_outstanding(qp);
	/* From the head the controller gives to the tail rung: at most the commands outstanding
	 * (a head outside the ring is refused first, before its distance is taken). */
	if (sqhd < qsize && pcie_ring_dist(qsize, sqhd, pq->sq_db_tail) <= outstanding) {
		pq->sq_head = (uint16_t)sqhd;
		return;
	}
	/* The commands themselves completed: only the SQ head is not believed. */
	qp->stats.bogus_completions++;
	nvme_qp_log(qp,
		    "%s: queue %u: SQ head %u in a completion would leave more than the %u "
		    "commands outstanding between it and the tail given (%u, ring of %u): head not "
		    "taken",
		    qp->ctrlr->name, qp->qid, sqhd, outstanding, pq->sq_db_tail, qsize);
}

/*
 * Before the owner sleeps: the CQ head the reaper has not given back yet (pcie_reap() writes it
 * lazily) goes to the controller now. A pin-based or MSI vector stays asserted while a CQ on it
 * holds entries the host has not consumed through its head doorbell (NVMe 1.4 §7.5.1;
 * QEMU's NVMe deasserts only when head and tail meet), and a controller may count them against
 * its Interrupt Coalescing: left pending, an owner that sleeps would be woken again at once, or
 * by entries it has already reaped. Then: a completion waits at the CQ head when its phase tag
 * is the current pass's (§4.6).
 */
bool pcie_intr_pending(struct updk_nvme_qpair *qp)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	volatile struct updk_nvme_cpl *e = pq->cq + pq->cq_head;

	if (pq->cq_ring_in != pq->cq_ring_at)
		pcie_cq_ring(pq);
	/* The consumption of the vector's count (the caller's) comes before this load. */
	updk_mb();
	return (e->status & 1) == pcie_cq_phase(pq);
}

int pcie_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);

	pcie_sq_ring(pq);
	if (qp->qid == 0)
		return pcie_reap(pq, max, true);
	return pcie_reap(pq, max, false);
}
