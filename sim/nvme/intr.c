// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:nvme interrupts (NVMe Base 2.0 §3.5.1 and §7.5 on interrupts; §5.4 Create I/O
 * Completion Queue, IEN and IV; §5.27.1.7 Interrupt Coalescing, §5.27.1.8 Interrupt Vector
 * Configuration; §3.1.3.3-4 INTMS/INTMC). A completion queue with interrupts enabled raises its
 * vector after completions are posted to it; the admin queue always does, on vector 0.
 *
 * Aggregation: for an I/O queue whose vector has coalescing enabled, the vector is raised once
 * the queue holds THR + 1 entries posted since its last interrupt, or TIME x 100 µs after the
 * first of them, whichever comes first. With THR and TIME both 0 (the default) every pass that
 * posts raises at once. With pin-based or MSI interrupts, a vector masked in INTMS is held and
 * raised when INTMC clears it; with MSI-X those registers are not used (§3.1.3.3).
 */
#include <stdlib.h>

#include <updk/pci.h>
#include <updk/tsc.h>

#define LOG_COMPONENT "sim-nvme"
#include "lib/util/log.h"
#include "sim/nvme/nvme_model.h"

#define COAL_THR(v) ((v)&0xffu) /* 0's based */
#define COAL_TIME(v) (((v) >> 8) & 0xffu) /* 100 µs units */
#define IVC_CD (1u << 16)

unsigned intr_vectors(const struct nvme_ctrl *c)
{
	const struct sim_irq_caps *caps = &c->sd->irq.caps;

	/* "the number of messages the controller supports": MSIXCAP.MXC.TS or MSICAP.MC.MMC */
	return caps->msix ? caps->msix : caps->msi ? caps->msi : 1;
}

int intr_init(struct nvme_ctrl *c)
{
	c->iv_cd = calloc(intr_vectors(c), 1);
	return c->iv_cd ? 0 : -1;
}

void intr_free(struct nvme_ctrl *c)
{
	free(c->iv_cd);
	c->iv_cd = NULL;
}

void intr_reset(struct nvme_ctrl *c)
{
	for (unsigned v = 0; v < intr_vectors(c); v++)
		c->iv_cd[v] = 0;
	c->intm_held = 0;
	c->irq_dirty = false;
}

/* The INTMS bit of vector @iv under pin-based (bit 0 for every vector) or MSI interrupts. */
static uint32_t intm_bit(const struct nvme_ctrl *c, uint16_t iv)
{
	if (sim_irq_type(c->sd) == UPDK_PCI_IRQ_MSIX)
		return 0;
	if (sim_irq_type(c->sd) == UPDK_PCI_IRQ_INTX || iv >= 32)
		return 1;
	return 1u << iv;
}

static void vector_raise(struct nvme_ctrl *c, uint16_t iv)
{
	uint32_t bit = intm_bit(c, iv);

	if (bit & c->intms) {
		c->intm_held |= bit;
		return;
	}
	c->st.interrupts++;
	sim_irq_raise(c->sd, iv);
}

void intr_unmasked(struct nvme_ctrl *c)
{
	uint32_t due = c->intm_held & ~c->intms;

	c->intm_held &= ~due;
	for (uint16_t v = 0; due && v < 32; v++, due >>= 1)
		if (due & 1) {
			c->st.interrupts++;
			sim_irq_raise(c->sd, v);
		}
}

void intr_posted(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	if (!cq->ien)
		return;
	if (!cq->irq_pending++)
		cq->irq_first = updk_tsc();
	c->irq_dirty = true;
}

/* One queue's aggregation: true when its vector is due now. */
static bool due(const struct nvme_ctrl *c, const struct nvme_cq *cq, uint64_t now)
{
	uint32_t thr = COAL_THR(c->feat_coal), time = COAL_TIME(c->feat_coal);

	/* The admin queue is never coalesced, nor a vector with Coalescing Disable set. */
	if (cq->qid == 0 || c->iv_cd[cq->iv] || (!thr && !time))
		return true;
	if (cq->irq_pending >= thr + 1)
		return true;
	return time && now - cq->irq_first >= (uint64_t)time * c->tsc_hz / 10000;
}

bool intr_flush(struct nvme_ctrl *c)
{
	uint64_t now;
	bool waiting = false;

	if (!c->irq_dirty)
		return false;
	now = updk_tsc();
	for (unsigned q = 0; q <= c->nqpairs; q++) {
		struct nvme_cq *cq = &c->cq[q];

		if (!cq->live || !cq->irq_pending)
			continue;
		if (!due(c, cq, now)) {
			waiting = true;
			continue;
		}
		cq->irq_pending = 0;
		vector_raise(c, cq->iv);
	}
	c->irq_dirty = waiting;
	return waiting;
}

uint16_t intr_check_vector(const struct nvme_ctrl *c, bool ien, uint32_t iv)
{
	if (!ien)
		return 0;
	return iv < intr_vectors(c) ? 0 : NVME_SC_INVALID_VECTOR;
}

uint16_t intr_set_ivc(struct nvme_ctrl *c, uint32_t cdw11)
{
	uint32_t iv = cdw11 & 0xffff;

	if (iv >= intr_vectors(c))
		return NVME_SC_INVALID_FIELD;
	c->iv_cd[iv] = !!(cdw11 & IVC_CD);
	return 0;
}

uint32_t intr_get_ivc(const struct nvme_ctrl *c, uint32_t cdw11)
{
	uint32_t iv = cdw11 & 0xffff;

	return iv | (iv < intr_vectors(c) && c->iv_cd[iv] ? IVC_CD : 0);
}
