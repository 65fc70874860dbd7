/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Queue pairs, transport-independent: request slots, the completion routine every transport's
 * reaper hands completions to, host-side failing, retirement of freed qpairs, timeouts, the
 * poll entry and the qpair's rate-limited log. The rings themselves are the transport's
 * (drivers/nvme/pcie/pcie_qpair.c, pcie_poll.c); an I/O qpair's poll inlines the PCIe
 * reaper (pcie/pcie_reap.h), as io.c inlines its submission.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <updk/mem.h>
#include <updk/tsc.h>

#define LOG_COMPONENT "nvme"
#include "lib/util/log.h"

#include "drivers/nvme/nvme_int.h"
#include "drivers/nvme/pcie/pcie_reap.h"
#include "drivers/nvme/transport.h"

const struct updk_nvme_ctrlr nvme_ctrlr_stopped = { .failed = true };

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
	to->split_waited += from->split_waited;
	to->pi_guard_errors += from->pi_guard_errors;
	to->pi_app_tag_errors += from->pi_app_tag_errors;
	to->pi_ref_tag_errors += from->pi_ref_tag_errors;
}

/* End-to-end Guard, Application Tag and Reference Tag Check Errors (SCT 2h, SC 82h-84h: NVMe
 * Base 2.0 §4.6.1.2.4), counted per kind. */
static void count_pi_error(struct updk_nvme_qpair *qp, const struct updk_nvme_cpl *cpl)
{
	unsigned sc = (cpl->status >> 1) & 0xff, sct = (cpl->status >> 9) & 7;

	if (sct != UPDK_NVME_SCT_MEDIA)
		return;
	if (sc == UPDK_NVME_SC_GUARD_CHECK_ERROR)
		qp->stats.pi_guard_errors++;
	else if (sc == UPDK_NVME_SC_APPLICATION_TAG_CHECK_ERROR)
		qp->stats.pi_app_tag_errors++;
	else if (sc == UPDK_NVME_SC_REFERENCE_TAG_CHECK_ERROR)
		qp->stats.pi_ref_tag_errors++;
}

int nvme_qpair_init(struct updk_nvme_qpair *qp, struct updk_nvme_ctrlr *c, uint16_t qid,
		    uint32_t depth)
{
	uint32_t span = nvme_reqs_span(depth);

	qp->ctrlr = c;
	qp->ops = c->ops;
	qp->fast_ctrlr = &nvme_ctrlr_stopped;
	qp->qid = qid;
	qp->depth = (uint16_t)depth;
	/* cache-line aligned: a slot is one line; nvme_reqs_span(), those past depth never used */
	qp->reqs = aligned_alloc(64, (size_t)span * sizeof(*qp->reqs));
	/* an I/O queue's split I/Os: as many as it has slots (split.c) */
	if (!qp->reqs || (qid && nvme_split_init(qp, depth))) {
		nvme_qpair_fini(qp);
		return -ENOMEM;
	}
	memset(qp->reqs, 0, (size_t)span * sizeof(*qp->reqs));
	for (uint32_t i = 0; i < span; i++)
		qp->reqs[i].cid = (uint16_t)i;
	nvme_qpair_reset_slots(qp);
	qp->reset_ack = c->reset_gen; /* nothing of an earlier reset to fail */
	qp->iv = -1; /* polled until intr.c gives it a vector */
	qp->tick_in = NVME_TICK_POLLS;
	qp->last_check_tsc = updk_tsc();
	return 0;
}

void nvme_qpair_fini(struct updk_nvme_qpair *qp)
{
	nvme_split_fini(qp);
	free(qp->reqs);
	qp->reqs = NULL;
	qp->free_head = NULL;
}

void nvme_qpair_reset_slots(struct updk_nvme_qpair *qp)
{
	/* every slot free, CID 0 first */
	qp->free_head = NULL;
	qp->free_count = 0;
	for (uint16_t i = qp->depth; i-- > 0;) {
		struct nvme_req *req = &qp->reqs[i];

		req->flags = 0;
		req->parent = NULL;
		nvme_slot_put(qp, req);
	}
	__atomic_store_n(&qp->abort_cid, NVME_CID_NONE, __ATOMIC_RELAXED);
}

int nvme_qpair_create(struct updk_nvme_ctrlr *c, uint16_t qid, uint32_t qsize,
		      struct updk_nvme_qpair **qpp)
{
	return c->ops->qpair_create(c, qid, qsize, qpp);
}

void nvme_qpair_reset(struct updk_nvme_qpair *qp)
{
	qp->ops->qpair_reset_rings(qp);
	nvme_qpair_reset_slots(qp);
}

void nvme_qpair_destroy(struct updk_nvme_qpair *qp)
{
	if (!qp)
		return;
	qp->ops->qpair_release(qp);
	qp->ops->qpair_free(qp);
}

void nvme_qpair_retire(struct updk_nvme_qpair *qp)
{
	struct updk_nvme_ctrlr *c = qp->ctrlr;
	struct updk_nvme_qpair **pp;

	qp->ops->qpair_release(qp);
	/* No slot free and none outstanding: outstanding() says 0, no submission finds a slot. */
	qp->depth = 0;
	qp->free_head = NULL;
	qp->free_count = 0;
	qp->dead = true;
	nvme_qp_set_inline(qp, false);
	qp->freed = true;
	qp->next = c->retired;
	c->retired = qp;
	if (++c->nretired <= NVME_RETIRED_MAX)
		return;
	/* The oldest goes for good: a handle that old is undefined to use, as after free(). */
	for (pp = &c->retired; (*pp)->next; pp = &(*pp)->next)
		;
	(*pp)->ops->qpair_free(*pp);
	*pp = NULL;
	c->nretired--;
}

void nvme_qpair_free_retired(struct updk_nvme_ctrlr *c)
{
	while (c->retired) {
		struct updk_nvme_qpair *qp = c->retired;

		c->retired = qp->next;
		qp->ops->qpair_free(qp);
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

void nvme_qp_log(struct updk_nvme_qpair *qp, const char *fmt, ...)
{
	uint64_t now = updk_tsc();
	char msg[512];
	va_list ap;

	if (now - qp->log_window_tsc >= updk_tsc_hz()) {
		qp->log_window_tsc = now;
		qp->log_lines = 0;
	}
	if (qp->log_lines >= NVME_LOG_BURST) {
		qp->log_dropped++;
		return;
	}
	qp->log_lines++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (qp->log_dropped)
		log_err("%s (and %u similar messages of queue %u not logged in the last second)",
			msg, qp->log_dropped, qp->qid);
	else
		log_err("%s", msg);
	qp->log_dropped = 0;
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
	nvme_slot_put(qp, child);
	/* the slot freed goes to the next child waiting, in order */
	if (qp->split_head)
		nvme_split_pump(qp);
	if (updk_nvme_cpl_is_error(cpl) && !updk_nvme_cpl_is_error(&parent->cpl))
		parent->cpl = *cpl;
	if (--parent->children)
		return parent->flags & NVME_REQF_IN_ORDER ? nvme_split_next(qp, parent, cpl) : 0;
	final = parent->cpl;
	if (!updk_nvme_cpl_is_error(&final)) {
		final = *cpl;
		final.status &= 1;
	}
	cb = parent->cb;
	arg = parent->arg;
	nvme_split_parent_done(qp, parent);
	cb(arg, &final);
	return 1;
}

int nvme_complete(struct updk_nvme_qpair *qp, struct nvme_req *req, const struct updk_nvme_cpl *cpl)
{
	updk_nvme_cb cb = req->cb;
	void *arg = req->arg;

	if (updk_nvme_cpl_is_error(cpl))
		count_pi_error(qp, cpl);
	if (req->state == NVME_REQ_CHILD)
		return nvme_child_done(qp, req, cpl);
	/* only the admin queue copies data; elsewhere the union holds a parent's fields */
	if (qp->qid == 0 && req->bounce != NULL) {
		if (req->user_buf && !updk_nvme_cpl_is_error(cpl))
			memcpy(req->user_buf, req->bounce, req->user_len);
		updk_dma_free(req->bounce);
		req->bounce = NULL;
	}
	nvme_slot_put(qp, req);
	/* a sync admin command whose caller gave up has no callback left */
	if (cb)
		cb(arg, cpl);
	return 1;
}

int nvme_qpair_poll(struct updk_nvme_qpair *qp, uint32_t max)
{
	return qp->ops->poll(qp, max ? max : UINT32_MAX);
}

void nvme_qpair_fail_all(struct updk_nvme_qpair *qp, uint8_t sct, uint8_t sc)
{
	struct updk_nvme_cpl c;

	if (qp->ops->qpair_abort_queued)
		qp->ops->qpair_abort_queued(qp);
	/* First the split I/Os whose children wait for slots: none of those goes out now (the
	 * completions below would send them), and each parent completes with its last child. */
	nvme_split_fail_waiting(qp, sct, sc);
	for (uint16_t i = 0; i < qp->depth; i++) {
		struct nvme_req *req = &qp->reqs[i];

		if (req->state != NVME_REQ_OUTSTANDING && req->state != NVME_REQ_CHILD)
			continue;
		memset(&c, 0, sizeof(c));
		c.cid = req->cid;
		c.sqid = qp->qid;
		c.status = (uint16_t)(((uint16_t)sct << 9) | ((uint16_t)sc << 1));
		qp->stats.cmds_aborted++;
		nvme_complete(qp, req, &c);
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
	nvme_ctrlr_mark_failed(ctrlr);
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
			/* the admin thread sends it: wake it if it sleeps on its vector */
			nvme_intr_kick(ctrlr, 0);
			continue;
		}
		if (req->age < UINT8_MAX)
			req->age++;
		if (req->age == 2 * NVME_AGE_TIMEOUT)
			timeout_unresolved(qp, req, "still outstanding after its Abort");
	}
}

/*
 * Work done every NVME_TICK_POLLS polls, not per poll: the QSBR quiescent state and, every 1024
 * polls, the timeouts. The poll counts tick_in down to zero (one instruction and a branch never
 * taken) and this sets it again.
 */
static void __attribute__((noinline)) nvme_qpair_tick(struct updk_nvme_qpair *qp)
{
	qp->tick_in = NVME_TICK_POLLS;
	qp->polls += NVME_TICK_POLLS;
	updk_mem_quiescent();
	/* children of split I/Os that wait for slots other commands freed (split.c) */
	if (qp->split_head)
		nvme_split_pump(qp);
	if ((qp->polls & 0x3ff) == 0)
		nvme_qpair_check_timeouts(qp);
}

/* The poll of a qpair the inline path does not take: freed, failed, or not on PCIe. */
static __attribute__((noinline)) int process_slow(struct updk_nvme_qpair *qp, uint32_t max)
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
	if (NVME_UNLIKELY(--qp->tick_in == 0))
		nvme_qpair_tick(qp);
	return n;
}

/*
 * The poll of an I/O qpair on PCIe that pcie_reap_one() does not take, or that found the CQ
 * empty with commands waiting: the reaper's loop, and the tick when it is due (tick_in counted
 * down to 0 by the caller). Out of line, so that the common poll saves no register for it. The
 * SQ tail doorbell waits while the CQ has entries, unless sq_ring_max commands (half the
 * slots) wait behind it already: a controller that keeps posting is not left without commands
 * until it stops.
 */
static __attribute__((noinline)) int process_batch(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_pcie_qpair *pq = pcie_qp(qp);
	int n;

	if (pcie_cq_empty(pq) || pcie_sq_waiting(pq) >= pq->sq_ring_max)
		pcie_sq_ring(pq);
	n = pcie_reap(pq, max, false);
	if (NVME_UNLIKELY(qp->tick_in == 0)) {
		pcie_fast_tick(qp);
		nvme_qpair_tick(qp);
	}
	return n;
}

/*
 * When the SQ tail doorbell is written: commands a callback (or anyone) submits are queued in
 * the SQ, and the first poll that finds the CQ empty gives them to the controller in one
 * doorbell write. A controller that posts a batch entry by entry (QEMU's NVMe does) is not
 * caught half-way: the doorbell waits for the rest of the batch, whose commands then go
 * together, instead of splitting the batch in two for good. At queue depth 1 the poll after
 * the callback finds the CQ empty, rings and looks at the CQ again.
 */
int updk_nvme_qpair_process_completions(struct updk_nvme_qpair *qp, uint32_t max)
{
	struct nvme_pcie_qpair *pq;
	int n;

	/* An I/O qpair on PCIe, alive (inline_pcie is cleared before a qpair is freed) and its
	 * controller not failed (fast_ctrlr says both): the transport's reaper inlined. The
	 * acquire load comes before any ring is read, as in process_slow(). */
	if (NVME_UNLIKELY(__atomic_load_n(&qp->fast_ctrlr->failed, __ATOMIC_ACQUIRE)))
		return process_slow(qp, max);
	pq = pcie_qp(qp);
	if (NVME_UNLIKELY(--qp->tick_in == 0))
		return process_batch(qp, max);
	n = pcie_reap_one(pq);
	/* The CQ empty and commands waiting behind the SQ doorbell: the loop rings, then looks
	 * at the CQ again (at QD 1, this poll; a completion that came meanwhile is reaped in it). */
	if (NVME_LIKELY(n > 0) || (n == 0 && NVME_LIKELY(pq->sq_tail == pq->sq_db_tail)))
		return n;
	return process_batch(qp, max);
}

void updk_nvme_qpair_flush(struct updk_nvme_qpair *qp)
{
	/* A freed qpair's transport rings nothing (qpair_release() leaves nothing queued). */
	if (NVME_LIKELY(qp->inline_pcie))
		pcie_sq_ring(pcie_qp(qp));
	else
		qp->ops->ring(qp);
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
