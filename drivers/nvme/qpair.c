/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Queue pairs: ring memory, request slots, doorbells, and the completion reaper shared by the
 * admin queue and the I/O queues (NVMe Base 2.0 §3.3: SQ/CQ as circular queues with a phase
 * tag, §4.6 completion entries).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"

void nvme_stats_add(struct updk_nvme_stats *to, const struct updk_nvme_stats *from)
{
	to->cmds_submitted += from->cmds_submitted;
	to->cmds_completed += from->cmds_completed;
	to->cmds_failed += from->cmds_failed;
	to->cmds_aborted += from->cmds_aborted;
	to->split_ios += from->split_ios;
	to->sq_doorbell_mmio += from->sq_doorbell_mmio;
	to->cq_doorbell_mmio += from->cq_doorbell_mmio;
	to->mmio_doorbell_writes += from->mmio_doorbell_writes;
	to->shadow_doorbell_updates += from->shadow_doorbell_updates;
	to->queue_full += from->queue_full;
	to->timeouts += from->timeouts;
	to->aborts_sent += from->aborts_sent;
	to->resets += from->resets;
	to->bogus_completions += from->bogus_completions;
}

/* Empty rings and every slot free: after creation and after a controller reset. */
void nvme_qpair_reset_rings(struct updk_nvme_qpair *qp)
{
	memset(qp->sq, 0, (size_t)qp->qsize * sizeof(struct updk_nvme_cmd));
	memset((void *)qp->cq, 0, (size_t)qp->qsize * sizeof(struct updk_nvme_cpl));
	qp->sq_tail = qp->sq_db_tail = qp->sq_head = 0;
	qp->cq_head = 0;
	qp->phase = 1; /* the controller posts its first pass with phase 1 (§4.6) */
	/* every slot free, CID 0 on top */
	qp->free_top = qp->depth;
	for (uint16_t i = 0; i < qp->depth; i++) {
		struct nvme_req *req = &qp->reqs[i];

		req->state = NVME_REQ_FREE;
		req->flags = 0;
		req->parent = NULL;
		qp->free_stack[qp->depth - 1 - i] = i;
	}
	if (qp->sq_shadow) {
		*qp->sq_shadow = 0;
		*qp->sq_ei = 0;
		*qp->cq_shadow = 0;
		*qp->cq_ei = 0;
	}
	__atomic_store_n(&qp->abort_cid, NVME_CID_NONE, __ATOMIC_RELAXED);
}

void nvme_qpair_set_shadow(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *ctrlr = qp->ctrlr;
	/* The shadow buffers mirror the doorbell register layout, stride included (§5.8). */
	uint32_t sq = (nvme_sq_db_off(qp->qid, ctrlr->dstrd) - NVME_REG_DBS) / 4;
	uint32_t cq = (nvme_cq_db_off(qp->qid, ctrlr->dstrd) - NVME_REG_DBS) / 4;

	if (!ctrlr->shadow) {
		qp->sq_shadow = qp->sq_ei = qp->cq_shadow = qp->cq_ei = NULL;
		return;
	}
	qp->sq_shadow = &ctrlr->dbbuf[sq];
	qp->cq_shadow = &ctrlr->dbbuf[cq];
	qp->sq_ei = &ctrlr->dbbuf_ei[sq];
	qp->cq_ei = &ctrlr->dbbuf_ei[cq];
}

int nvme_qpair_create(struct updk_nvme_ctrlr *ctrlr, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp)
{
	int numa = updk_pci_numa_node(ctrlr->dev);
	uint32_t sq_off = nvme_sq_db_off(qid, ctrlr->dstrd);
	uint32_t cq_off = nvme_cq_db_off(qid, ctrlr->dstrd);
	struct updk_nvme_qpair *qp;
	size_t list_bytes;

	if ((size_t)cq_off + 4 > ctrlr->bar_len) {
		log_err("%s: doorbell of queue %u at 0x%x lies beyond BAR0 (%zu bytes)",
			ctrlr->name, qid, cq_off, ctrlr->bar_len);
		return -EINVAL;
	}
	qp = calloc(1, sizeof(*qp) + (qsize - 1) * sizeof(qp->free_stack[0]));
	if (!qp)
		return -ENOMEM;
	qp->ctrlr = ctrlr;
	qp->qid = qid;
	qp->qsize = (uint16_t)qsize;
	qp->depth = (uint16_t)(qsize - 1); /* one slot stays empty: full is tail + 1 == head */
	qp->sgl = ctrlr->sgl;
	qp->sgl_dword = ctrlr->sgl_dword;
	qp->sq_db = (volatile uint32_t *)(ctrlr->bar + sq_off);
	qp->cq_db = (volatile uint32_t *)(ctrlr->bar + cq_off);
	/* cache-line aligned: a slot is one line (nvme_int.h) */
	qp->reqs = aligned_alloc(64, (size_t)qp->depth * sizeof(*qp->reqs));
	if (qp->reqs)
		memset(qp->reqs, 0, (size_t)qp->depth * sizeof(*qp->reqs));
	qp->sq = updk_dma_zalloc((size_t)qsize * sizeof(struct updk_nvme_cmd), NVME_PAGE_SIZE, numa,
				 &qp->sq_iova);
	qp->cq = updk_dma_zalloc((size_t)qsize * sizeof(struct updk_nvme_cpl), NVME_PAGE_SIZE, numa,
				 &qp->cq_iova);
	qp->list_stride = (nvme_list_qwords(ctrlr->max_xfer) * 8 + 63) & ~63u;
	list_bytes = (size_t)qp->list_stride * qp->depth;
	qp->list_mem = updk_dma_zalloc(list_bytes, NVME_PAGE_SIZE, numa, &qp->list_iova);
	if (!qp->reqs || !qp->sq || !qp->cq || !qp->list_mem) {
		log_err("%s: no memory for queue %u (%u entries, %zu bytes of PRP lists)",
			ctrlr->name, qid, qsize, list_bytes);
		nvme_qpair_destroy(qp);
		return -ENOMEM;
	}
	/* Queues and lists must be IOVA contiguous: created with PC=1, lists chained by address. */
	for (uint16_t i = 0; i < qp->depth; i++)
		qp->reqs[i].cid = i;
	nvme_qpair_set_shadow(qp);
	nvme_qpair_reset_rings(qp);
	qp->reset_ack = ctrlr->reset_gen; /* nothing of an earlier reset to fail */
	qp->last_check_tsc = updk_tsc();
	*qpp = qp;
	return 0;
}

/* The rings, PRP lists and request slots of @qp; the struct itself stays. */
static void qpair_release_memory(struct updk_nvme_qpair *qp)
{
	updk_dma_free(qp->sq);
	updk_dma_free((void *)qp->cq);
	updk_dma_free(qp->list_mem);
	free(qp->reqs);
	qp->sq = NULL;
	qp->cq = NULL;
	qp->list_mem = NULL;
	qp->reqs = NULL;
}

void nvme_qpair_destroy(struct updk_nvme_qpair *qp)
{
	if (!qp)
		return;
	qpair_release_memory(qp);
	free(qp);
}

void nvme_qpair_retire(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *c = qp->ctrlr;
	struct updk_nvme_qpair **pp;

	qpair_release_memory(qp);
	/* No slot free and none outstanding: outstanding() says 0, no submission finds a slot. */
	qp->depth = 0;
	qp->free_top = 0;
	qp->sq_tail = qp->sq_db_tail = 0;
	qp->dead = true;
	qp->freed = true;
	qp->next = c->retired;
	c->retired = qp;
	if (++c->nretired <= NVME_RETIRED_MAX)
		return;
	/* The oldest goes for good: a handle that old is undefined to use, as after free(). */
	for (pp = &c->retired; (*pp)->next; pp = &(*pp)->next)
		;
	free(*pp);
	*pp = NULL;
	c->nretired--;
}

void nvme_qpair_free_retired(struct updk_nvme_ctrlr *c)
{
	while (c->retired) {
		struct updk_nvme_qpair *qp = c->retired;

		c->retired = qp->next;
		free(qp);
	}
	c->nretired = 0;
}

int nvme_qpair_use_after_free(struct updk_nvme_qpair *qp, const char *fn)
{
	if (!qp->warned) {
		qp->warned = true;
		log_err("%s: %s: queue %u was freed by updk_nvme_qpair_free(): allocate a new qpair",
			qp->ctrlr->name, fn, qp->qid);
	}
	return -EINVAL;
}

/* A child of a split I/O completed: the parent completes with its last child, carrying the
 * first failure if any child failed. Returns 1 when the parent completed. */
static __attribute__((noinline)) int
nvme_child_done(struct updk_nvme_qpair *qp, struct nvme_req *child, const struct updk_nvme_cpl *cpl)
{
	struct nvme_req *parent = child->parent;
	updk_nvme_cb cb;
	void *arg;
	struct updk_nvme_cpl final;

	child->parent = NULL;
	nvme_req_put(qp, child);
	if (updk_nvme_cpl_is_error(cpl) && !updk_nvme_cpl_is_error(&parent->cpl))
		parent->cpl = *cpl;
	if (--parent->children)
		return 0;
	final = parent->cpl;
	if (!updk_nvme_cpl_is_error(&final)) {
		final = *cpl;
		final.status &= 1;
	}
	cb = parent->cb;
	arg = parent->arg;
	nvme_req_put(qp, parent);
	cb(arg, &final);
	return 1;
}

/*
 * Hand a completion to its request's owner (@req is OUTSTANDING or CHILD). @generic covers
 * the admin queue (bounce buffers, sync commands that forgot their callback) and host-side
 * failures; an I/O qpair's reaper passes false and skips those checks.
 */
static inline __attribute__((always_inline)) int nvme_req_complete(struct updk_nvme_qpair *qp,
								   struct nvme_req *req,
								   const struct updk_nvme_cpl *cpl,
								   const bool generic)
{
	updk_nvme_cb cb = req->cb;
	void *arg = req->arg;

	if (NVME_UNLIKELY(req->state == NVME_REQ_CHILD))
		return nvme_child_done(qp, req, cpl);
	/* only the admin queue has bounce buffers; elsewhere the union holds a parent's fields */
	if (generic && qp->qid == 0 && req->bounce != NULL) {
		if (req->user_buf && !updk_nvme_cpl_is_error(cpl))
			memcpy(req->user_buf, req->bounce, req->user_len);
		updk_dma_free(req->bounce);
		req->bounce = NULL;
	}
	nvme_req_put(qp, req);
	if (!generic || cb)
		cb(arg, cpl);
	return 1;
}

/* A CQE refused in part or whole: counted, and logged the first ten times. */
/* Count a CQE the reaper does not believe; true for the first ten, which are logged. */
static bool nvme_bogus_counted(struct updk_nvme_qpair *qp)
{
	return ++qp->stats.bogus_completions <= 10;
}

static __attribute__((noinline)) void nvme_bogus(struct updk_nvme_qpair *qp,
						 const struct updk_nvme_cpl *c, const char *why)
{
	if (nvme_bogus_counted(qp))
		log_err("%s: queue %u: completion refused (%s): cid %u sqhd %u sqid %u status 0x%04x",
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
static __attribute__((noinline)) int nvme_cpl_slow(struct updk_nvme_qpair *qp,
						   const struct updk_nvme_cpl *e, bool generic)
{
	struct updk_nvme_cpl c = *e;
	int32_t qsize = qp->qsize, h = qp->sq_head;
	int32_t span = (int32_t)qp->sq_db_tail - h;
	struct nvme_req *req;
	int32_t d;

	if (c.cid >= qp->depth) {
		nvme_bogus(qp, &c, "CID out of range");
		return 0;
	}
	req = &qp->reqs[c.cid];
	if (req->state != NVME_REQ_OUTSTANDING && req->state != NVME_REQ_CHILD) {
		nvme_bogus(qp, &c, "CID not outstanding");
		return 0;
	}
	span += (span >> 31) & qsize;
	d = (int32_t)c.sqhd - h;
	d += (d >> 31) & qsize;
	if (d <= span && c.sqhd < qsize) {
		qp->sq_head = c.sqhd;
	} else {
		/* The command itself completed: only its SQ head is not believed. */
		if (nvme_bogus_counted(qp))
			log_err("%s: queue %u: SQ head %u in the completion of cid %u is outside "
				"[%d, %u], the head last reported and the tail given: head not "
				"taken",
				qp->ctrlr->name, qp->qid, c.sqhd, c.cid, h, qp->sq_db_tail);
	}
	qp->stats.cmds_completed++;
	if (updk_nvme_cpl_is_error(&c))
		qp->stats.cmds_failed++;
	if (generic)
		return nvme_req_complete(qp, req, e, true);
	return nvme_req_complete(qp, req, e, false);
}

/*
 * The reaper. A CQE is read as its second qword (SQ head, SQ id, CID, status with the phase
 * tag: NVMe Base 2.0 §4.6, Figure 90) in one aligned load, so the phase tag and the fields
 * checked come from the same load. An I/O queue's common case, a known outstanding CID, an SQ
 * head in range and success, is completed inline; anything else, and every admin completion,
 * goes through nvme_cpl_slow(). The callback gets a pointer to the entry in the ring itself,
 * not a copy: the controller does not write that slot again before the CQ head doorbell,
 * written after the whole batch (so a callback must not reap this qpair itself).
 */
static inline __attribute__((always_inline)) int poll_impl(struct updk_nvme_qpair *qp, uint32_t max,
							   const bool generic)
{
	volatile struct updk_nvme_cpl *cq = qp->cq, *end = cq + qp->qsize;
	volatile struct updk_nvme_cpl *e = cq + qp->cq_head, *first = e;
	uint32_t phase = qp->phase;
	int32_t qsize = qp->qsize, h0 = qp->sq_head;
	int32_t span = (int32_t)qp->sq_db_tail - h0;
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
	 * this window takes is right; what it refuses, nvme_cpl_slow() checks against the tail
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
		if (NVME_LIKELY(!generic && cid < qp->depth && req->state == NVME_REQ_OUTSTANDING &&
				d <= (d < 0 ? lim_wrapped : lim_ahead) &&
				!((uint32_t)(w >> 48) & 0xffe))) {
			updk_nvme_cb cb = req->cb;
			void *arg = req->arg;

			qp->sq_head = (uint16_t)w;
			qp->stats.cmds_completed++;
			req->state = NVME_REQ_FREE;
			qp->free_stack[qp->free_top++] = (uint16_t)cid;
			cb(arg, c);
			done++;
		} else {
			done += nvme_cpl_slow(qp, c, generic);
		}
		if (--left == 0)
			break;
		w = *(volatile uint64_t *)&e->sqhd;
		if (((uint32_t)(w >> 48) & 1) != phase)
			break;
	}
	qp->cq_head = (uint16_t)(e - cq);
	qp->phase = (uint16_t)phase;
	if (e != first)
		nvme_cq_ring(qp, (uint16_t)(first - cq));
	return done;
}

int nvme_qpair_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	nvme_sq_ring(qp);
	if (max == 0)
		max = UINT32_MAX;
	if (qp->qid == 0)
		return poll_impl(qp, max, true);
	return poll_impl(qp, max, false);
}

/* Complete every outstanding command of @qp from the host side (reset, free, close). */
void nvme_qpair_fail_all(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc)
{
	struct updk_nvme_cpl c;

	for (uint16_t i = 0; i < qp->depth; i++) {
		struct nvme_req *req = &qp->reqs[i];

		if (req->state != NVME_REQ_OUTSTANDING && req->state != NVME_REQ_CHILD)
			continue;
		memset(&c, 0, sizeof(c));
		c.cid = req->cid;
		c.sqid = qp->qid;
		c.status = (uint16_t)(((uint16_t)sct << 9) | ((uint16_t)sc << 1));
		qp->stats.cmds_aborted++;
		nvme_req_complete(qp, req, &c, true);
	}
}

/* A timed-out command its Abort did not resolve, or an Abort that timed out itself. */
static void timeout_unresolved(struct updk_nvme_qpair *qp, struct nvme_req *req, const char *what)
{
	struct updk_nvme_ctrlr *ctrlr = qp->ctrlr;
	bool asked = __atomic_load_n(&ctrlr->reset_request, __ATOMIC_RELAXED);

	if (nvme_reset_request(ctrlr)) {
		if (!asked)
			log_err("%s: queue %u: command %u (opcode 0x%02x) %s: the controller will "
				"be reset",
				ctrlr->name, qp->qid, req->cid, req->opc, what);
		return;
	}
	if (__atomic_load_n(&ctrlr->failed, __ATOMIC_RELAXED))
		return;
	log_err("%s: queue %u: command %u (opcode 0x%02x) %s: controller marked failed (no "
		"automatic reset), call updk_nvme_ctrlr_reset()",
		ctrlr->name, qp->qid, req->cid, req->opc, what);
	__atomic_store_n(&ctrlr->failed, true, __ATOMIC_RELEASE);
}

void nvme_qpair_check_timeouts(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *ctrlr = qp->ctrlr;
	/* atomic: the model tests change the I/O timeout while a qpair thread runs */
	uint64_t limit = qp->qid ? __atomic_load_n(&ctrlr->io_timeout_tsc, __ATOMIC_RELAXED) :
				   ctrlr->admin_timeout_tsc;
	uint64_t now;

	if (!limit || !nvme_qp_outstanding(qp))
		return;
	now = updk_tsc();
	if (now - qp->last_check_tsc < limit / NVME_AGE_STEPS)
		return;
	qp->last_check_tsc = now;
	for (uint16_t i = 0; i < qp->depth; i++) {
		struct nvme_req *req = &qp->reqs[i];

		if ((req->state != NVME_REQ_OUTSTANDING && req->state != NVME_REQ_CHILD) ||
		    (req->flags & NVME_REQF_NO_TIMEOUT))
			continue;
		if (!(req->flags & NVME_REQF_TIMED_OUT)) {
			uint32_t none = NVME_CID_NONE;

			if (req->age < NVME_AGE_TIMEOUT)
				req->age++;
			if (req->age < NVME_AGE_TIMEOUT)
				continue;
			/* An Abort is not aborted in turn: the reset is what is left (§5.1). */
			if (qp->qid == 0 && req->opc == UPDK_NVME_OPC_ABORT) {
				req->flags |= NVME_REQF_TIMED_OUT;
				qp->stats.timeouts++;
				timeout_unresolved(qp, req, "timed out and is itself an Abort");
				continue;
			}
			/* The admin thread takes one Abort request per qpair at a time: a command
			 * that finds the slot taken keeps its age and asks at the next check, so
			 * every timed-out command gets its Abort (§5.1) before its second timeout
			 * starts to run. */
			if (!__atomic_compare_exchange_n(&qp->abort_cid, &none, req->cid, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED))
				continue;
			req->flags |= NVME_REQF_TIMED_OUT;
			qp->stats.timeouts++;
			log_warn("%s: queue %u: command %u (opcode 0x%02x) timed out: aborting it",
				 ctrlr->name, qp->qid, req->cid, req->opc);
			continue;
		}
		if (req->age < UINT8_MAX)
			req->age++;
		if (req->age == 2 * NVME_AGE_TIMEOUT)
			timeout_unresolved(qp, req, "still outstanding after its Abort");
	}
}

/* Work done every 32nd poll: the QSBR quiescent state and, now and then, the timeouts. */
static void __attribute__((noinline)) nvme_qpair_tick(struct updk_nvme_qpair *qp)
{
	updk_mem_quiescent();
	if ((qp->polls & 0x3ff) == 0)
		nvme_qpair_check_timeouts(qp);
}

int updk_nvme_qpair_process_completions(struct updk_nvme_qpair *qp, uint32_t max)
{
	int n;

	if (NVME_UNLIKELY(qp->freed))
		return nvme_qpair_use_after_free(qp, "updk_nvme_qpair_process_completions");
	/* Acquire: after a reset, failed reads clear only with the recreated rings visible. */
	if (NVME_UNLIKELY(__atomic_load_n(&qp->ctrlr->failed, __ATOMIC_ACQUIRE))) {
		nvme_qpair_reset_ack(qp);
		updk_mem_quiescent();
		return -ENXIO;
	}
	n = nvme_qpair_poll(qp, max);
	if (NVME_UNLIKELY((++qp->polls & 0x1f) == 0))
		nvme_qpair_tick(qp);
	return n;
}

void updk_nvme_qpair_flush(struct updk_nvme_qpair *qp)
{
	/* A freed qpair's tail equals the tail it gave: nvme_sq_ring() writes nothing. */
	nvme_sq_ring(qp);
}

uint32_t updk_nvme_qpair_outstanding(const struct updk_nvme_qpair *qp)
{
	return nvme_qp_outstanding(qp);
}

uint16_t updk_nvme_qpair_id(const struct updk_nvme_qpair *qp)
{
	return qp->qid;
}

void updk_nvme_qpair_get_stats(const struct updk_nvme_qpair *qp, struct updk_nvme_stats *stats)
{
	*stats = qp->stats;
}
