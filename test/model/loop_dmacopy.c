// SPDX-License-Identifier: BSD-3-Clause
/*
 * The hybrid loop (lib/loop) on a model's vector: sim:dmacopy's job-done interrupt, raised by
 * the model's thread through lib/pci's eventfd, wakes a loop asleep on it; a job finished
 * before the arm is found by the arm; and a loop asleep is offline for lib/mem, so a grace
 * period (updk_mem_unregister()) elsewhere does not wait for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/loop.h>
#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "sim/dmacopy.h"

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(loop_dmacopy, .init = setup, .timeout = 60);

/* The copy engine as a loop queue: a job is done when TAG_DONE reaches the tag rung. */
struct engine {
	struct updk_pci_dev *dev;
	char *bar0;
	uint8_t *buf;
	uint64_t iova;
	uint32_t rung, seen; /* last tag rung, last tag the loop saw done */
	unsigned delay_us; /* ring_later()'s wait */
};

static void engine_open(struct engine *e)
{
	memset(e, 0, sizeof(*e));
	cr_assert_eq(updk_pci_open("sim:dmacopy?msix=1", &e->dev), 0);
	cr_assert_eq(updk_pci_enable(e->dev, true), 0);
	cr_assert_eq(updk_pci_irq_enable(e->dev, 1, 1, UPDK_PCI_IRQ_ANY), 1);
	e->bar0 = updk_pci_bar(e->dev, 0, NULL);
	e->buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, &e->iova);
	cr_assert(e->bar0 && e->buf);
	updk_pci_reg_write32(e->dev, 0, DMACOPY_INTCTL, DMACOPY_INTCTL_IEN | 0);
	updk_pci_reg_write64(e->dev, 0, DMACOPY_SRC, e->iova);
	updk_pci_reg_write64(e->dev, 0, DMACOPY_DST, e->iova + 2048);
	updk_pci_reg_write32(e->dev, 0, DMACOPY_LEN, 256);
}

static void engine_close(struct engine *e)
{
	updk_pci_close(e->dev);
	updk_dma_free(e->buf);
}

static void ring(struct engine *e)
{
	updk_wmb();
	updk_mmio_write32(e->bar0 + DMACOPY_DOORBELL, ++e->rung);
}

static int engine_poll(void *arg)
{
	struct engine *e = arg;
	uint32_t done = updk_mmio_read32(e->bar0 + DMACOPY_TAG_DONE);

	if (done == e->seen)
		return 0;
	e->seen = done;
	return 1;
}

/* Consume the vector's count: what the loop calls before the arms. */
static int engine_ack(void *arg)
{
	struct engine *e = arg;
	int64_t n = updk_pci_irq_ack(e->dev, 0);

	return n < 0 ? (int)n : 0;
}

/* Look once the count is consumed: a job done before this is found here. */
static int engine_arm(void *arg)
{
	struct engine *e = arg;

	return updk_mmio_read32(e->bar0 + DMACOPY_TAG_DONE) != e->seen;
}

static struct updk_loop *loop_with(struct engine *e)
{
	struct updk_loop_opts o = { .opts_size = sizeof(o),
				    .idle_us = UPDK_LOOP_IDLE_NONE,
				    .max_sleep_ms = UPDK_LOOP_SLEEP_FOREVER };
	struct updk_loop_queue q = { .fd = updk_pci_irq_fd(e->dev, 0),
				     .poll = engine_poll,
				     .ack = engine_ack,
				     .arm = engine_arm,
				     .arg = e };
	struct updk_loop *l;

	cr_assert_eq(updk_loop_create(&o, &l), 0);
	cr_assert_eq(updk_loop_add(l, &q), 0);
	return l;
}

static void *ring_later(void *arg)
{
	struct engine *e = arg;

	usleep(e->delay_us);
	ring(e);
	return NULL;
}

Test(loop_dmacopy, model_vector_wakes_the_loop)
{
	struct updk_loop_stats st;
	struct updk_loop *l;
	struct engine e;
	pthread_t t;

	engine_open(&e);
	l = loop_with(&e);
	/* Rung while the loop sleeps with no timeout: only the model's vector can wake it. */
	e.delay_us = 20000;
	cr_assert_eq(pthread_create(&t, NULL, ring_later, &e), 0);
	while (e.seen != 1)
		cr_assert_geq(updk_loop_run_once(l), 0);
	pthread_join(t, NULL);
	updk_loop_stats(l, &st);
	cr_assert_geq(st.wakeups, 1, "woken by the interrupt");
	cr_assert_eq(st.timeouts, 0);

	/* Done before the loop looks: the arm finds it, no sleep. */
	ring(&e);
	while (updk_mmio_read32(e.bar0 + DMACOPY_TAG_DONE) != e.rung)
		;
	cr_assert_eq(engine_ack(&e), 0);
	cr_assert_eq(engine_arm(&e), 1);
	cr_assert_eq(updk_loop_run_once(l), 1);
	updk_loop_destroy(l);
	engine_close(&e);
}

struct sleeper {
	struct updk_loop *l;
	void *page;
	uint64_t iova;
};

static void *sleep_in_loop(void *arg)
{
	struct sleeper *s = arg;

	s->iova = updk_iova(s->page); /* this thread now takes part in grace periods */
	return (void *)(intptr_t)updk_loop_run(s->l);
}

Test(loop_dmacopy, sleeping_loop_does_not_hold_up_grace_periods)
{
	struct updk_loop_stats st;
	struct sleeper s;
	struct engine e;
	pthread_t t;
	void *rc;

	engine_open(&e);
	s.l = loop_with(&e);
	s.page = aligned_alloc(4096, 4096);
	cr_assert_not_null(s.page);
	cr_assert_eq(updk_mem_register(s.page, 4096), 0);
	cr_assert_eq(pthread_create(&t, NULL, sleep_in_loop, &s), 0);
	do {
		usleep(1000);
		updk_loop_stats(s.l, &st);
	} while (!st.sleeps);
	/* Waits for a grace period: it would wait forever for an online thread asleep. */
	cr_assert_eq(updk_mem_unregister(s.page, 4096), 0);
	updk_loop_stop(s.l);
	pthread_join(t, &rc);
	cr_assert_eq((intptr_t)rc, 0);
	cr_assert_neq(s.iova, UPDK_IOVA_INVALID);
	updk_loop_destroy(s.l);
	free(s.page);
	engine_close(&e);
}
