// SPDX-License-Identifier: BSD-3-Clause
/*
 * sim:nvme's interrupts, driven by hand (test/common/nvme_rig.h): the admin queue on vector 0,
 * an I/O completion queue on the vector its Create command names (IEN, IV; NVMe Base 2.0 §5.4)
 * and on none without IEN, vectors beyond those offered refused, Interrupt Coalescing
 * (§5.27.1.7) by threshold and by time, Coalescing Disable per vector (§5.27.1.8), and
 * INTMS/INTMC holding a pin-based interrupt (§3.1.3.3-4). The vectors are lib/pci's eventfds.
 */
#include <poll.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/pci.h>

#include "sim/sim.h"
#include "test/common/nvme_rig.h"

#define SC_INVALID_VECTOR 0x108
#define INTMS 0x0c
#define INTMC 0x10
#define FEAT_COAL 0x08
#define FEAT_IVC 0x09

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(sim_nvme_intr, .init = setup, .timeout = 60);

static uint16_t create_cq_iv(struct h *h, uint16_t qid, uint16_t size, uint64_t iova, bool ien,
			     uint16_t iv)
{
	struct sqe c = mk(0x05, 0, iova, 0);

	c.dw[10] = (uint32_t)(size - 1) << 16 | qid;
	c.dw[11] = (uint32_t)iv << 16 | (ien ? 2u : 0u) | 1u; /* IV, IEN, PC */
	return cmd(h, &h->aq, c, NULL);
}

/* I/O queue pair @qid of 16 entries whose CQ interrupts on @iv (or not, @ien false). */
static void io_pair(struct h *h, struct tq *q, uint16_t qid, bool ien, uint16_t iv)
{
	tq_alloc(q, qid, 16, 16);
	cr_assert_eq(create_cq_iv(h, qid, 16, q->cq_iova, ien, iv), 0);
	cr_assert_eq(create_sq(h, qid, 16, q->sq_iova, qid), 0);
}

static uint16_t set_feature(struct h *h, uint8_t fid, uint32_t cdw11)
{
	struct sqe c = mk(0x09, 0, 0, 0);

	c.dw[10] = fid;
	c.dw[11] = cdw11;
	return cmd(h, &h->aq, c, NULL);
}

/* The interrupts lib/pci's eventfd of @v counted, taken (0: none within @ms). */
static int64_t fired(struct h *h, unsigned v, int ms)
{
	struct pollfd p = { .fd = updk_pci_irq_fd(h->dev, v), .events = POLLIN };

	cr_assert_geq(p.fd, 0);
	if (poll(&p, 1, ms) != 1)
		return 0;
	return updk_pci_irq_ack(h->dev, v);
}

/*
 * Take every interrupt of @v still coming: a vector is raised at the end of the model's pass
 * that posted, a moment after the entry is visible.
 */
static void drain(struct h *h, unsigned v)
{
	while (fired(h, v, 50))
		;
}

/* One Flush (NVM opcode 00h) on @q, reaped by polling. */
static void flush(struct h *h, struct tq *q)
{
	cr_assert_eq(cmd(h, q, mk(0x00, 1, 0, 0), NULL), 0);
}

static uint64_t raised(struct h *h, unsigned v)
{
	uint64_t n;

	cr_assert_eq(sim_irq_stats(h->dev, v, &n, NULL), 0);
	return n;
}

Test(sim_nvme_intr, admin_on_vector_0_io_on_its_own)
{
	uint8_t *page = dma(4096, NULL);
	struct tq q1, q2;
	struct h h;

	h_open(&h, "sim:nvme?qpairs=4");
	cr_assert_eq(updk_pci_irq_enable(h.dev, 4, 4, UPDK_PCI_IRQ_ANY), 4);
	cr_assert_eq(updk_pci_irq_type(h.dev), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(identify(&h, 1, 0, page), 0);
	cr_assert_eq(fired(&h, 0, 2000), 1, "the admin queue always interrupts, on vector 0");

	drain(&h, 0);
	io_pair(&h, &q1, 1, true, 3);
	io_pair(&h, &q2, 2, false, 0);
	cr_assert_geq(fired(&h, 0, 2000), 1, "the four creates");
	drain(&h, 0);
	flush(&h, &q1);
	cr_assert_eq(fired(&h, 3, 2000), 1, "CQ 1 on vector 3");
	cr_assert_eq(fired(&h, 0, 0), 0);
	flush(&h, &q2);
	cr_assert_eq(fired(&h, 0, 50) + fired(&h, 1, 0) + fired(&h, 2, 0) + fired(&h, 3, 0), 0,
		     "CQ 2 has IEN clear: no interrupt");
	cr_assert_eq(stats(&h)->interrupts, raised(&h, 0) + raised(&h, 3));
	tq_free(&q1);
	tq_free(&q2);
	updk_dma_free(page);
	h_close(&h);
}

Test(sim_nvme_intr, vector_beyond_those_offered_refused)
{
	struct tq q;
	struct h h;

	h_open(&h, "sim:nvme?qpairs=4,msix=8");
	tq_alloc(&q, 1, 16, 16);
	cr_assert_eq(create_cq_iv(&h, 1, 16, q.cq_iova, true, 8), SC_INVALID_VECTOR);
	cr_assert_eq(create_cq_iv(&h, 1, 16, q.cq_iova, false, 8), 0, "IV is ignored without IEN");
	tq_free(&q);
	h_close(&h);

	/* Pin-based only: vector 0 is the only one. */
	h_open(&h, "sim:nvme?qpairs=4,msix=0");
	tq_alloc(&q, 1, 16, 16);
	cr_assert_eq(create_cq_iv(&h, 1, 16, q.cq_iova, true, 1), SC_INVALID_VECTOR);
	cr_assert_eq(create_cq_iv(&h, 1, 16, q.cq_iova, true, 0), 0);
	tq_free(&q);
	h_close(&h);
}

Test(sim_nvme_intr, coalescing_by_threshold_and_disable)
{
	struct tq q;
	struct h h;
	uint32_t dw0;
	struct sqe g = mk(0x0a, 0, 0, 0);

	h_open(&h, "sim:nvme?qpairs=4");
	cr_assert_eq(updk_pci_irq_enable(h.dev, 2, 2, UPDK_PCI_IRQ_ANY), 2);
	io_pair(&h, &q, 1, true, 1);
	/* THR 3 (four entries, 0's based), TIME 0. */
	cr_assert_eq(set_feature(&h, FEAT_COAL, 3), 0);
	for (int i = 0; i < 3; i++)
		flush(&h, &q);
	cr_assert_eq(fired(&h, 1, 50), 0, "three entries: below the threshold");
	flush(&h, &q);
	cr_assert_eq(fired(&h, 1, 2000), 1, "the fourth reaches it: one interrupt");
	cr_assert_eq(raised(&h, 1), 1);

	/* The admin queue is never coalesced. */
	drain(&h, 0);
	cr_assert_eq(set_feature(&h, FEAT_COAL, 3), 0);
	cr_assert_eq(fired(&h, 0, 2000), 1);

	/* Coalescing Disable on vector 1: every completion interrupts again. */
	cr_assert_eq(set_feature(&h, FEAT_IVC, 1u << 16 | 1), 0);
	g.dw[10] = FEAT_IVC;
	g.dw[11] = 1;
	cr_assert_eq(cmd(&h, &h.aq, g, &dw0), 0);
	cr_assert_eq(dw0, 1u << 16 | 1, "Get Features reads CD back");
	flush(&h, &q);
	cr_assert_eq(fired(&h, 1, 2000), 1);
	cr_assert_eq(set_feature(&h, FEAT_IVC, 65), SC_INVALID_FIELD, "no vector 65");
	tq_free(&q);
	h_close(&h);
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

Test(sim_nvme_intr, coalescing_by_time)
{
	struct tq q;
	struct h h;
	double t0;

	h_open(&h, "sim:nvme?qpairs=4");
	cr_assert_eq(updk_pci_irq_enable(h.dev, 2, 2, UPDK_PCI_IRQ_ANY), 2);
	io_pair(&h, &q, 1, true, 1);
	/* THR 255, TIME 20 (2 ms): the time comes first. */
	cr_assert_eq(set_feature(&h, FEAT_COAL, 20u << 8 | 255), 0);
	t0 = mono(); /* before the submission: the entry cannot be posted earlier */
	flush(&h, &q);
	cr_assert_eq(fired(&h, 1, 5000), 1, "raised once the aggregation time is up");
	/* A lower bound only: the model may be late on a loaded machine, never early. */
	cr_assert_geq(mono() - t0, 0.002, "not before the 2 ms");
	tq_free(&q);
	h_close(&h);
}

Test(sim_nvme_intr, pin_based_held_by_intms)
{
	struct tq q;
	struct h h;

	h_open(&h, "sim:nvme?qpairs=4,msix=0");
	cr_assert_eq(updk_pci_irq_enable(h.dev, 1, 1, UPDK_PCI_IRQ_ANY), 1);
	cr_assert_eq(updk_pci_irq_type(h.dev), UPDK_PCI_IRQ_INTX);
	io_pair(&h, &q, 1, true, 0);
	drain(&h, 0); /* the creates */
	updk_pci_reg_write32(h.dev, 0, INTMS, 1);
	flush(&h, &q);
	cr_assert_eq(fired(&h, 0, 50), 0, "masked in INTMS: held");
	updk_pci_reg_write32(h.dev, 0, INTMC, 1);
	cr_assert_eq(fired(&h, 0, 2000), 1, "released by INTMC");
	tq_free(&q);
	h_close(&h);
}
