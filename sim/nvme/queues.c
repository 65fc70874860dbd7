/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim:nvme queues: doorbells (MMIO SQyTDBL/CQyHDBL, NVMe 1.4 §3.1.24-25; shadow doorbells, NVMe
 * Base 2.0 §5.8), the fetch loop, completion posting with phase tags (§4.6), delayed and held
 * completions, asynchronous events.
 *
 * poll() is the engine. It runs with the device lock held, takes no allocation and no system
 * call on the way of a command, and processes every queue's new entries in one pass.
 */
#include <string.h>

#include <updk/tsc.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

/* DSTRD is 0: SQyTDBL at 0x1000 + 8y, CQyHDBL at 0x1000 + 8y + 4 (NVMe 1.4 §3.1.24-25). */
uint32_t doorbell_off(uint16_t qid, bool cq)
{
	return NVME_REG_DB + (2u * qid + cq) * 4u;
}

static uint32_t ring_dist(uint32_t from, uint32_t to, uint32_t size)
{
	return to >= from ? to - from : to + size - from;
}

/* Free CQ slots: one always stays empty so a full queue differs from an empty one (§4.6). */
static uint32_t cq_room(const struct nvme_cq *cq)
{
	uint32_t used = ring_dist(cq->head, cq->tail, cq->size) + cq->reserved;

	return used >= cq->size - 1 ? 0 : cq->size - 1 - used;
}

static void raise_error_event(struct nvme_ctrl *c, uint8_t info)
{
	c->st.bad_db++;
	if (!c->aen_err_masked && !c->aen_err_pending) {
		c->aen_err_pending = true;
		c->aen_err_info = info;
	}
}

static void sq_set_tail(struct nvme_ctrl *c, void *q, uint32_t v)
{
	struct nvme_sq *sq = q;

	if (v >= sq->size) {
		log_warn("%s: SQ %u tail doorbell %u beyond the queue size %u: ignored",
			 c->sd->name, sq->qid, v, sq->size);
		raise_error_event(c, 0x01); /* Invalid Doorbell Write Value, §5.2.1 */
		return;
	}
	sq->tail = v;
	c->ei_dirty = true;
}

static void cq_set_head(struct nvme_ctrl *c, void *q, uint32_t v)
{
	struct nvme_cq *cq = q;

	/* The host may release only entries the model posted. */
	if (v >= cq->size ||
	    ring_dist(cq->head, v, cq->size) > ring_dist(cq->head, cq->tail, cq->size)) {
		log_warn("%s: CQ %u head doorbell %u outside the posted entries (head %u tail %u)",
			 c->sd->name, cq->qid, v, cq->head, cq->tail);
		raise_error_event(c, 0x01);
		return;
	}
	cq->head = v;
	c->ei_dirty = true;
}

/*
 * One queue's doorbell pair: the MMIO register (§3.1.24-25) and, once Doorbell Buffer Config
 * has run, its shadow slot (§5.8). The host stores a value in the shadow first and then, if
 * EventIdx asks for it, the same value in MMIO. So MMIO is read first: the shadow read after
 * it holds that value or a newer one, and applying MMIO before the shadow keeps the value
 * monotonic. (Read the other way round, a shadow value read just before the host stored a
 * newer one in both would be applied last and move the tail or head back: a CQ head gone back
 * looks like a doorbell outside the posted entries.) A shadow the host no longer updates (MMIO
 * alone) does not change and is not applied. Each value not seen before is counted and handed
 * to set().
 *
 * Across passes the same holds only with one more read: an MMIO value stored before a newer
 * shadow value the pass read (the host's MMIO write of Xk, then its shadow store of Xk+1, both
 * between this pass's MMIO load and its shadow load) would be read as new by the next pass and
 * move the queue back to Xk. So once a pass applies a new shadow value it reads MMIO again and
 * takes what is there as seen, not to apply: the host stores the shadow before MMIO, so every
 * MMIO value older than that shadow value is already visible, and a newer one is in the
 * shadow too, for the next pass.
 */
static void doorbell_pair(struct nvme_ctrl *c, uint16_t qid, bool cq, uint32_t *mmio_seen,
			  uint32_t *shadow_seen, uint64_t *mmio_cnt, uint64_t *shadow_cnt,
			  void (*set)(struct nvme_ctrl *c, void *q, uint32_t v), void *q)
{
	uint32_t s = 0, m;

	/* acquire: the shadow load below is not done before this one */
	m = sim_reg32(c->sd, 0, doorbell_off(qid, cq));
	if (c->dbbuf)
		s = __atomic_load_n(&c->shadow[2u * qid + cq], __ATOMIC_ACQUIRE);
	if (m != *mmio_seen) {
		*mmio_seen = m;
		(*mmio_cnt)++;
		set(c, q, m);
	}
	if (c->dbbuf && s != *shadow_seen) {
		*shadow_seen = s;
		(*shadow_cnt)++;
		set(c, q, s);
		m = sim_reg32(c->sd, 0, doorbell_off(qid, cq));
		if (m != *mmio_seen) {
			*mmio_seen = m;
			(*mmio_cnt)++;
		}
	}
}

/* New SQ tail. */
static void sq_doorbells(struct nvme_ctrl *c, struct nvme_sq *sq)
{
	doorbell_pair(c, sq->qid, false, &sq->mmio_seen, &sq->shadow_seen, &c->st.mmio_sq_db,
		      &c->st.shadow_sq_db, sq_set_tail, sq);
}

/* New CQ head. */
static void cq_doorbells(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	doorbell_pair(c, cq->qid, true, &cq->mmio_seen, &cq->shadow_seen, &c->st.mmio_cq_db,
		      &c->st.shadow_cq_db, cq_set_head, cq);
}

/*
 * EventIdx (§5.8): the host writes an MMIO doorbell when EventIdx lies in [old, new) of its
 * update. This model polls and needs none, so by default EventIdx sits half a queue away from
 * what it consumed: outside the update the host may be racing with (just behind the consumed
 * position) and outside the next one unless it is a burst of more than half the queue.
 */
static void write_eventidx(struct nvme_ctrl *c, uint32_t slot, uint32_t pos, uint32_t size,
			   uint32_t *last)
{
	uint32_t ei = c->ei_mode == SIM_NVME_EI_TAIL ? pos : (pos + size / 2) % size;

	if (ei != *last) {
		*last = ei;
		__atomic_store_n(&c->eventidx[slot], ei, __ATOMIC_RELEASE);
	}
}

static void update_eventidx(struct nvme_ctrl *c)
{
	if (!c->ei_dirty)
		return;
	c->ei_dirty = false;
	for (unsigned i = 0; i < c->nactive; i++) {
		struct nvme_sq *sq = &c->sq[c->active[i]];
		struct nvme_cq *cq = &c->cq[sq->cqid];

		write_eventidx(c, 2u * sq->qid, sq->tail, sq->size, &sq->ei_last);
		write_eventidx(c, 2u * cq->qid + 1, cq->head, cq->size, &cq->ei_last);
	}
}

void queue_dbbuf_enable(struct nvme_ctrl *c, uint32_t *shadow, uint32_t *eventidx)
{
	c->shadow = shadow;
	c->eventidx = eventidx;
	c->dbbuf = true;
	c->ei_dirty = true;
	/* Queues already live (the admin queue at least) start from what the buffer holds. */
	for (unsigned q = 0; q <= c->nqpairs; q++) {
		if (c->sq[q].live) {
			c->sq[q].shadow_seen = __atomic_load_n(&shadow[2 * q], __ATOMIC_ACQUIRE);
			c->sq[q].ei_last = UINT32_MAX;
		}
		if (c->cq[q].live) {
			c->cq[q].shadow_seen =
				__atomic_load_n(&shadow[2 * q + 1], __ATOMIC_ACQUIRE);
			c->cq[q].ei_last = UINT32_MAX;
		}
	}
}

int queue_make_cq(struct nvme_ctrl *c, uint16_t qid, uint32_t size, uint64_t iova)
{
	struct nvme_cq *cq = &c->cq[qid];
	uint8_t *ring = sim_dma_ptr(c->sd, iova, (size_t)size * sizeof(struct nvme_cqe));

	if (!ring)
		return -1;
	memset(cq, 0, sizeof(*cq));
	cq->live = true;
	cq->qid = qid;
	cq->size = size;
	cq->ring = ring;
	cq->phase = 1; /* the host zeroes the queue; the first pass posts P=1 (§4.6) */
	cq->ien = qid == 0; /* the admin queue always interrupts, on vector 0 (§3.1.3.3) */
	cq->ei_last = UINT32_MAX;
	c->ei_dirty = true;
	sim_set_reg32(c->sd, 0, doorbell_off(qid, true), 0);
	return 0;
}

int queue_make_sq(struct nvme_ctrl *c, uint16_t qid, uint16_t cqid, uint32_t size, uint64_t iova)
{
	struct nvme_sq *sq = &c->sq[qid];
	uint8_t *ring = sim_dma_ptr(c->sd, iova, (size_t)size * sizeof(struct nvme_sqe));
	unsigned i;

	if (!ring)
		return -1;
	memset(sq, 0, sizeof(*sq));
	sq->live = true;
	sq->qid = qid;
	sq->cqid = cqid;
	sq->size = size;
	sq->ring = ring;
	sq->ei_last = UINT32_MAX;
	c->ei_dirty = true;
	c->cq[cqid].nsq++;
	sim_set_reg32(c->sd, 0, doorbell_off(qid, false), 0);
	/* Keep the active list sorted: the admin queue is served first. */
	for (i = c->nactive; i > 0 && c->active[i - 1] > qid; i--)
		c->active[i] = c->active[i - 1];
	c->active[i] = qid;
	c->nactive++;
	return 0;
}

static void pend_remove(struct nvme_ctrl *c, unsigned i)
{
	struct nvme_pend *p = &c->pend[i];

	c->cq[p->cqid].reserved--;
	if (p->due == UINT64_MAX)
		c->nheld--;
	c->pend[i] = c->pend[--c->npend];
}

void queue_delete_sq(struct nvme_ctrl *c, uint16_t qid)
{
	struct nvme_sq *sq = &c->sq[qid];
	unsigned i;

	/* Commands of the queue still in the controller end as "aborted: SQ deletion" (§5.6). */
	for (i = 0; i < c->npend; i++) {
		struct nvme_pend p = c->pend[i];

		if (p.sqid != qid)
			continue;
		pend_remove(c, i--);
		queue_post(c, p.sqid, p.cqid, p.cid, NVME_SC_ABORT_SQ_DEL, 0);
	}
	c->cq[sq->cqid].nsq--;
	sq->live = false;
	for (i = 0; i < c->nactive; i++) {
		if (c->active[i] == qid) {
			memmove(&c->active[i], &c->active[i + 1],
				(c->nactive - i - 1) * sizeof(c->active[0]));
			c->nactive--;
			break;
		}
	}
}

void queue_delete_cq(struct nvme_ctrl *c, uint16_t qid)
{
	c->cq[qid].live = false;
}

void queue_delete_all(struct nvme_ctrl *c)
{
	for (unsigned q = 0; q <= c->nqpairs; q++) {
		c->sq[q].live = false;
		c->cq[q].live = false;
	}
	c->nactive = 0;
	c->npend = 0;
	c->nheld = 0;
	c->naer = 0;
	c->dbbuf = false;
	c->shadow = NULL;
	c->eventidx = NULL;
}

static bool fault_match(int armed, uint16_t sqid)
{
	return armed == -1 || armed == (int)sqid;
}

void faults_update(struct nvme_ctrl *c)
{
	struct nvme_faults *f = &c->f;

	f->any = f->drop_sqid != -2 || f->bogus_sqid != -2 || f->phase_sqid != -2 ||
		 f->sqhd_sqid != -2 || f->hang_sqid != -2 || f->delay_ticks || f->jitter_ticks ||
		 f->rand_ppb || f->drop_io || f->once;
}

/* Post one CQE now; false if the CQ is gone or full (the caller reserved room: a bug). */
bool queue_post(struct nvme_ctrl *c, uint16_t sqid, uint16_t cqid, uint16_t cid, uint16_t status,
		uint64_t dw0)
{
	struct nvme_cq *cq = &c->cq[cqid];
	struct nvme_sq *sq = &c->sq[sqid];
	uint32_t *slot, phase, sqhd, dnr;

	if (!cq->live)
		return false;
	if (ring_dist(cq->head, cq->tail, cq->size) >= cq->size - 1) {
		log_err("%s: CQ %u full, completion of SQ %u CID %u lost", c->sd->name, cqid, sqid,
			cid);
		return false;
	}
	phase = cq->phase;
	sqhd = sq->live ? sq->head : 0;
	if (__builtin_expect(c->f.any, 0)) {
		if (fault_match(c->f.bogus_sqid, sqid)) {
			cid = c->f.bogus_cid;
			c->f.bogus_sqid = -2;
		}
		if (fault_match(c->f.phase_sqid, sqid)) {
			phase ^= 1;
			c->f.phase_sqid = -2;
		}
		if (fault_match(c->f.sqhd_sqid, sqid) && sq->live) {
			sqhd = (sq->tail + 1) % sq->size;
			c->f.sqhd_sqid = -2;
		}
		faults_update(c);
	}
	/* DNR (§4.6.1): retrying would fail the same way, except for transient errors (and the
	 * ones random faults inject). */
	dnr = status && status != NVME_SC_DATA_XFER_ERROR && status != NVME_SC_ABORT_REQ &&
	      status != NVME_SC_ABORT_SQ_DEL && status != NVME_SC_INTERNAL &&
	      status != NVME_SC_WRITE_FAULT && status != NVME_SC_UNRECOVERED_READ;
	slot = (uint32_t *)(cq->ring + (size_t)cq->tail * sizeof(struct nvme_cqe));
	slot[0] = (uint32_t)dw0;
	slot[1] = (uint32_t)(dw0 >> 32); /* DW1: Zone Append's LBA, high half */
	slot[2] = sqhd | (uint32_t)sqid << 16;
	/* DW3 last, with the phase tag: the host owns the entry once it sees P flip. */
	__atomic_store_n(&slot[3], cid | phase << 16 | (uint32_t)status << 17 | dnr << 31,
			 __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	c->st.completions++;
	if (status)
		c->st.errors++;
	intr_posted(c, cq);
	return true;
}

static bool pend_add(struct nvme_ctrl *c, struct nvme_sq *sq, uint16_t cid, uint16_t status,
		     uint64_t dw0, uint64_t due)
{
	struct nvme_pend *p;

	if (c->npend == SIM_NVME_MAX_PEND)
		return false;
	p = &c->pend[c->npend++];
	p->due = due;
	p->sqid = sq->qid;
	p->cqid = sq->cqid;
	p->cid = cid;
	p->status = status;
	p->dw0 = dw0;
	c->cq[sq->cqid].reserved++;
	if (due == UINT64_MAX)
		c->nheld++;
	return true;
}

/* A command finished: post its completion, or delay or hold it as the faults say. */
void queue_complete(struct nvme_ctrl *c, struct nvme_sq *sq, uint16_t cid, uint16_t status,
		    uint64_t dw0)
{
	if (__builtin_expect(c->f.any, 0)) {
		if (c->f.once) {
			/* a random fault picked for this command (faults_random) */
			uint64_t once = c->f.once;

			c->f.once = 0;
			if (pend_add(c, sq, cid, status, dw0,
				     once == UINT64_MAX ? UINT64_MAX : updk_tsc() + once))
				return;
		}
		if (fault_match(c->f.drop_sqid, sq->qid)) {
			c->f.drop_sqid = -2;
			faults_update(c);
			if (pend_add(c, sq, cid, status, dw0, UINT64_MAX)) {
				log_debug("%s: fault: holding completion of SQ %u CID %u",
					  c->sd->name, sq->qid, cid);
				return;
			}
		}
		if (c->f.delay_ticks || c->f.jitter_ticks) {
			uint64_t d = c->f.delay_ticks;

			if (c->f.jitter_ticks)
				d += rng_next(&c->f.rng) % (c->f.jitter_ticks + 1);
			if (pend_add(c, sq, cid, status, dw0, updk_tsc() + d))
				return;
		}
	}
	queue_post(c, sq->qid, sq->cqid, cid, status, dw0);
}

/* Abort (§5.1): a command the model still holds completes as "Command Abort Requested". */
bool queue_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid)
{
	for (unsigned i = 0; i < c->npend; i++) {
		struct nvme_pend p = c->pend[i];

		if (p.sqid == sqid && p.cid == cid) {
			pend_remove(c, i);
			queue_post(c, p.sqid, p.cqid, p.cid, NVME_SC_ABORT_REQ, 0);
			return true;
		}
	}
	if (sqid == 0) {
		for (unsigned i = 0; i < c->naer; i++) {
			if (c->aer_cid[i] == cid) {
				memmove(&c->aer_cid[i], &c->aer_cid[i + 1],
					(c->naer - i - 1) * sizeof(c->aer_cid[0]));
				c->naer--;
				queue_post(c, 0, 0, cid, NVME_SC_ABORT_REQ, 0);
				return true;
			}
		}
	}
	return false;
}

static bool pend_run(struct nvme_ctrl *c)
{
	uint64_t now = updk_tsc();
	bool work = false;

	for (unsigned i = 0; i < c->npend; i++) {
		struct nvme_pend p = c->pend[i];

		if (p.due > now)
			continue;
		pend_remove(c, i--);
		queue_post(c, p.sqid, p.cqid, p.cid, p.status, p.dw0);
		work = true;
	}
	return work;
}

/* Complete an outstanding Asynchronous Event Request if an event is due (§5.2). */
void queue_aen_kick(struct nvme_ctrl *c)
{
	uint32_t dw0;
	uint16_t cid;

	while (c->naer && cq_room(&c->cq[0])) {
		if (c->aen_err_pending) {
			/* type 0 error status, log page 01h */
			dw0 = 0u | (uint32_t)c->aen_err_info << 8 | 0x01u << 16;
			c->aen_err_pending = false;
			c->aen_err_masked = true;
		} else if (c->aen_ns_pending && (c->feat_aec & (1u << 8))) {
			/* type 2 notice, info 00h namespace attribute changed, log page 04h */
			dw0 = 2u | 0x00u << 8 | 0x04u << 16;
			c->aen_ns_pending = false;
			c->aen_ns_masked = true;
		} else {
			return;
		}
		cid = c->aer_cid[0];
		memmove(&c->aer_cid[0], &c->aer_cid[1], (c->naer - 1) * sizeof(c->aer_cid[0]));
		c->naer--;
		queue_post(c, 0, 0, cid, 0, dw0);
	}
}

/* Fetch and run up to @budget commands of @sq while its CQ has room. */
static unsigned sq_run(struct nvme_ctrl *c, struct nvme_sq *sq, unsigned budget)
{
	struct nvme_cq *cq = &c->cq[sq->cqid];
	unsigned n = 0;

	while (sq->head != sq->tail && n < budget) {
		struct nvme_sqe cmd;

		if (!cq_room(cq)) {
			cq_doorbells(c, cq);
			if (!cq_room(cq))
				break;
		}
		if (c->f.any && c->npend == SIM_NVME_MAX_PEND)
			break;
		memcpy(&cmd, sq->ring + (size_t)sq->head * sizeof(cmd), sizeof(cmd));
		if (++sq->head == sq->size)
			sq->head = 0;
		n++;
		if (__builtin_expect(c->f.any, 0) && fault_match(c->f.hang_sqid, sq->qid) &&
		    cmd.opc == c->f.hang_opc) {
			/* fetched, never executed: held until an Abort names it or a reset */
			c->f.hang_sqid = -2;
			faults_update(c);
			if (pend_add(c, sq, cmd.cid, 0, 0, UINT64_MAX)) {
				log_debug("%s: fault: command 0x%02x CID %u of SQ %u hangs",
					  c->sd->name, cmd.opc, cmd.cid, sq->qid);
				continue;
			}
		}
		if (sq->qid == 0) {
			admin_exec(c, sq, &cmd);
		} else {
			uint16_t st = c->f.rand_ppb ? faults_random(c, sq, &cmd) : 0;

			if (__builtin_expect(c->f.drop_io, 0) && --c->f.drop_io == 0) {
				/* drop_io=N: this one runs, its completion held until an Abort */
				c->f.once = UINT64_MAX;
				c->st.injected_drops++;
				faults_update(c);
				log_debug("%s: fault: I/O command CID %u of SQ %u: completion held",
					  c->sd->name, cmd.cid, sq->qid);
			}

			if (st) {
				c->st.io_cmds[cmd.opc]++;
				errlog_add(c, sq->qid, &cmd, st);
				queue_complete(c, sq, cmd.cid, st, 0);
			} else {
				nvm_exec(c, sq, &cmd);
			}
		}
		/* An admin command may have deleted this queue or reset the controller. */
		if (!sq->live || !c->enabled)
			break;
	}
	return n;
}

static bool processing(struct nvme_ctrl *c)
{
	uint32_t csts = ctrl_csts(c);

	return c->enabled && (csts & NVME_CSTS_RDY) && !(csts & NVME_CSTS_CFS) &&
	       !NVME_CC_SHN(c->cc);
}

bool nvme_poll(struct sim_dev *sd)
{
	struct nvme_ctrl *c = sd->priv;
	unsigned budget = SIM_NVME_CMD_BUDGET, burst, n, done;
	bool work;

	if (!c || c->f.removed)
		return false;
	work = regs_poll(c);
	if (!processing(c) || c->paused)
		return work | intr_flush(c);
	c->passes++;
	for (unsigned i = 0; i < c->nactive; i++) {
		struct nvme_sq *sq = &c->sq[c->active[i]];

		sq_doorbells(c, sq);
		cq_doorbells(c, &c->cq[sq->cqid]);
	}
	/* Before any completion of what was just seen: a host reaping it sees EventIdx moved. */
	if (c->dbbuf)
		update_eventidx(c);
	/* Round robin with the Arbitration Burst of Set Features (§3.4.4, §5.27.1.1). */
	burst = (c->feat_arb & 7) == 7 ? budget : 1u << (c->feat_arb & 7);
	do {
		done = 0;
		for (unsigned i = 0; i < c->nactive; i++) {
			n = sq_run(c, &c->sq[c->active[i]], burst < budget ? burst : budget);
			done += n;
			budget -= n;
		}
		work |= done != 0;
	} while (done && budget);
	if (c->npend > c->nheld)
		work |= pend_run(c);
	if (c->naer && (c->aen_err_pending || c->aen_ns_pending))
		queue_aen_kick(c);
	if (c->dbbuf)
		update_eventidx(c);
	/* An aggregating queue keeps the thread awake until its time is up. */
	work |= intr_flush(c);
	return work;
}
