/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the NVMe driver's model tests against sim:nvme. */
#ifndef TEST_MODEL_NVME_UTIL_H
#define TEST_MODEL_NVME_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "test/common/log_capture.h"

#include <updk/mem.h>
#include <updk/nvme.h>
#include <updk/tsc.h>

#include "drivers/nvme/pcie/pcie.h"
#include "sim/nvme/sim_nvme.h"

/* The PCI function behind a controller (sim: fault injection), and a qpair's PCIe rings: the
 * model tests run the PCIe transport. */
static inline struct updk_pci_dev *ctrlr_dev(struct updk_nvme_ctrlr *c)
{
	return pcie_ctrlr(c)->dev;
}

static inline struct nvme_pcie_qpair *qp_pcie(const struct updk_nvme_qpair *qp)
{
	return pcie_qp((struct updk_nvme_qpair *)qp);
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run @step until @cond holds or 10 s pass (the model's thread may be slow to get a CPU). */
#define POLL_UNTIL(cond, step)                        \
	do {                                          \
		double until_ = now_s() + 10;         \
		while (!(cond) && now_s() < until_) { \
			step;                         \
		}                                     \
	} while (0)

static inline void nvme_test_mem_setup(void)
{
	/* 4 KiB pages: the model ring must not depend on hugepages being reserved. */
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

/* A completion recorder: one per command a test waits for. */
struct io_done {
	int done;
	struct updk_nvme_cpl cpl;
};

static inline void io_done_cb(void *arg, const struct updk_nvme_cpl *cpl)
{
	struct io_done *d = arg;

	d->done++;
	d->cpl = *cpl;
}

/* Open @addr with @o (NULL: the defaults); the test fails if it does not open. */
static inline struct updk_nvme_ctrlr *open_ctrlr_opts(const char *addr,
						      const struct updk_nvme_ctrlr_opts *o)
{
	struct updk_nvme_ctrlr *c = NULL;
	int rc = updk_nvme_ctrlr_open(addr, o, &c);

	cr_assert_eq(rc, 0, "open %s: %d", addr, rc);
	cr_assert_not_null(c);
	return c;
}

static inline struct updk_nvme_ctrlr *open_ctrlr(const char *addr)
{
	return open_ctrlr_opts(addr, NULL);
}

static inline struct updk_nvme_qpair *alloc_qp(struct updk_nvme_ctrlr *c, uint32_t depth)
{
	struct updk_nvme_qpair_opts o = { .opts_size = sizeof(o), .depth = depth };
	struct updk_nvme_qpair *qp = NULL;

	cr_assert_eq(updk_nvme_qpair_alloc(c, &o, &qp), 0);
	return qp;
}

/*
 * What most tests drive: a controller, its namespace 1, one qpair and two DMA buffers of @len
 * bytes (a test with one buffer uses wbuf). rig_close() releases them in the order a driver
 * user does: qpair, controller, then the memory.
 */
struct rig {
	struct updk_nvme_ctrlr *c;
	struct updk_nvme_ns *ns;
	struct updk_nvme_qpair *qp;
	uint8_t *wbuf, *rbuf;
	size_t len;
};

static inline void rig_open_opts(struct rig *r, const char *addr,
				 const struct updk_nvme_ctrlr_opts *o, uint32_t depth, size_t len)
{
	r->c = open_ctrlr_opts(addr, o);
	r->ns = updk_nvme_ns_get(r->c, 1);
	cr_assert_not_null(r->ns);
	r->qp = alloc_qp(r->c, depth);
	r->len = len;
	r->wbuf = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, NULL);
	r->rbuf = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert(r->wbuf && r->rbuf);
}

static inline void rig_open(struct rig *r, const char *addr, uint32_t depth, size_t len)
{
	rig_open_opts(r, addr, NULL, depth, len);
}

static inline void rig_close(struct rig *r)
{
	updk_nvme_qpair_free(r->qp);
	updk_nvme_ctrlr_close(r->c);
	updk_dma_free(r->wbuf);
	updk_dma_free(r->rbuf);
}

/*
 * The driver's timeouts, changed while the controller runs. A test that needs a command to time
 * out opens the controller with the default timeouts (10 s admin, 30 s I/O), shortens them only
 * while its faulted commands are the ones outstanding, and puts the defaults back once the
 * driver has acted (Abort sent, reset begun). Every command the model has to complete in time
 * thus has seconds, not milliseconds: on a loaded machine the model's thread can go without a
 * CPU for longer than a short timeout, and a spurious timeout would change what the test sees.
 */
#define NVME_TEST_ADMIN_TIMEOUT_MS 10000
#define NVME_TEST_IO_TIMEOUT_MS 30000

static inline void set_timeouts_ms(struct updk_nvme_ctrlr *c, uint32_t admin_ms, uint32_t io_ms)
{
	uint64_t per_ms = updk_tsc_hz() / 1000;

	/* admin: read on this (the admin) thread only; I/O: read by the qpairs' threads too */
	c->admin_timeout_tsc = admin_ms * per_ms;
	__atomic_store_n(&c->io_timeout_tsc, io_ms * per_ms, __ATOMIC_RELAXED);
}

static inline void default_timeouts(struct updk_nvme_ctrlr *c)
{
	set_timeouts_ms(c, NVME_TEST_ADMIN_TIMEOUT_MS, NVME_TEST_IO_TIMEOUT_MS);
}

static inline uint64_t aborts_sent(const struct updk_nvme_ctrlr *c)
{
	struct updk_nvme_stats st;

	updk_nvme_ctrlr_get_stats(c, &st);
	return st.aborts_sent;
}

/* Poll @qp until @d completes (bounded). */
static inline void wait_done(struct updk_nvme_qpair *qp, struct io_done *d)
{
	POLL_UNTIL(d->done, cr_assert_geq(updk_nvme_qpair_process_completions(qp, 0), 0));
	cr_assert(d->done, "command did not complete");
}

/* A completion's status is the pair (SCT, SC): the same SC means different things per type. */
#define assert_status(cpl, want_sct, want_sc, ...)                                                 \
	do {                                                                                       \
		cr_assert_eq(updk_nvme_cpl_sct(cpl), (want_sct), "status code type " __VA_ARGS__); \
		cr_assert_eq(updk_nvme_cpl_sc(cpl), (want_sc), "status code " __VA_ARGS__);        \
	} while (0)

static inline void assert_ok(const struct io_done *d)
{
	cr_assert_not(updk_nvme_cpl_is_error(&d->cpl), "status %s",
		      updk_nvme_status_str(updk_nvme_cpl_sct(&d->cpl), updk_nvme_cpl_sc(&d->cpl)));
}

static inline void write_sync(struct rig *r, const void *buf, uint64_t lba, uint32_t nlb,
			      uint32_t flags)
{
	struct io_done d = { 0 };

	cr_assert_eq(updk_nvme_ns_write(r->ns, r->qp, buf, lba, nlb, io_done_cb, &d, flags), 0);
	wait_done(r->qp, &d);
	assert_ok(&d);
}

static inline void read_sync(struct rig *r, void *buf, uint64_t lba, uint32_t nlb)
{
	struct io_done d = { 0 };

	cr_assert_eq(updk_nvme_ns_read(r->ns, r->qp, buf, lba, nlb, io_done_cb, &d, 0), 0);
	wait_done(r->qp, &d);
	assert_ok(&d);
}

static inline void fill(void *buf, size_t len, uint32_t seed)
{
	uint32_t *p = buf;

	for (size_t i = 0; i < len / 4; i++)
		p[i] = seed * 2654435761u + (uint32_t)i;
}

#endif
