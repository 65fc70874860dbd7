// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/pci's interrupt vectors on the sim backend, through sim:dmacopy, whose INTCTL register
 * raises a vector when a job finishes: the kind chosen (MSI-X, else MSI, else INTx), one
 * eventfd per vector that becomes readable when the model raises it, INTx masked each time it
 * fires until acknowledged, the capability enable bits, and the refusals (too many vectors, no
 * interrupts, the open-file limit, enabling twice), each of which leaves no eventfd open and a
 * device that still works when polled.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "lib/pci/backend.h"
#include "sim/dmacopy.h"
#include "sim/sim.h"
#include "test/common/log_capture.h"
#include "test/model/held.h"

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(pci_irq, .init = setup, .timeout = 30);

/* A device with DMA enabled and a 4 KiB buffer to copy within. */
struct rig {
	struct updk_pci_dev *dev;
	uint8_t *buf;
	uint64_t iova;
	uint32_t tag;
};

static void rig_open(struct rig *r, const char *addr)
{
	memset(r, 0, sizeof(*r));
	cr_assert_eq(updk_pci_open(addr, &r->dev), 0, "open %s", addr);
	cr_assert_eq(updk_pci_enable(r->dev, true), 0);
	r->buf = updk_dma_zalloc(4096, 4096, UPDK_NUMA_ANY, &r->iova);
	cr_assert_not_null(r->buf);
}

static void rig_close(struct rig *r)
{
	updk_pci_close(r->dev);
	updk_dma_free(r->buf);
}

static int open_fds(void)
{
	return held_count_dir("/proc/self/fd");
}

/* One copy job, with INTCTL set to @intctl first; waits for it by polling TAG_DONE. */
static void job(struct rig *r, uint32_t intctl)
{
	char *bar0 = updk_pci_bar(r->dev, 0, NULL);
	struct timespec t0, t;

	cr_assert_not_null(bar0);
	updk_pci_reg_write32(r->dev, 0, DMACOPY_INTCTL, intctl);
	updk_pci_reg_write64(r->dev, 0, DMACOPY_SRC, r->iova);
	updk_pci_reg_write64(r->dev, 0, DMACOPY_DST, r->iova + 2048);
	updk_pci_reg_write32(r->dev, 0, DMACOPY_LEN, 512);
	r->tag++;
	updk_wmb();
	updk_mmio_write32(bar0 + DMACOPY_DOORBELL, r->tag);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (updk_mmio_read32(bar0 + DMACOPY_TAG_DONE) != r->tag) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		cr_assert_lt(t.tv_sec - t0.tv_sec, 5, "job %u not done in 5 s", r->tag);
	}
	cr_assert_eq(updk_pci_reg_read32(r->dev, 0, DMACOPY_STATUS), DMACOPY_STATUS_DONE);
}

/* True when the eventfd of @vector becomes readable within @ms. */
static bool fires(struct updk_pci_dev *dev, unsigned vector, int ms)
{
	struct pollfd p = { .fd = updk_pci_irq_fd(dev, vector), .events = POLLIN };

	cr_assert_geq(p.fd, 0);
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static uint16_t cfg16(struct updk_pci_dev *dev, uint32_t off)
{
	uint16_t v;

	cr_assert_eq(updk_pci_cfg_read(dev, &v, 2, off), 0);
	return v;
}

Test(pci_irq, msix_vector_per_eventfd)
{
	struct updk_pci_irq_info info;
	struct rig r;
	uint64_t raised;
	int cap;

	rig_open(&r, "sim:dmacopy?msix=4");
	cr_assert_eq(updk_pci_irq_info(r.dev, UPDK_PCI_IRQ_MSIX, &info), 0);
	cr_assert_eq(info.count, 4);
	cr_assert(!info.maskable && !info.automasked, "vfio-pci cannot mask MSI-X");
	cap = updk_pci_find_cap(r.dev, 0x11, 0);
	cr_assert_gt(cap, 0, "an MSI-X capability");
	cr_assert_eq(cfg16(r.dev, (uint32_t)cap + 2), 3, "Table Size 4 (N-1), disabled");

	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 8, UPDK_PCI_IRQ_ANY), 4, "all 4 offered");
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_MSIX);
	cr_assert_eq(updk_pci_irq_count(r.dev), 4);
	cr_assert_eq(cfg16(r.dev, (uint32_t)cap + 2), 0x8003, "MSI-X Enable set while enabled");
	for (unsigned v = 0; v < 4; v++)
		for (unsigned w = v + 1; w < 4; w++)
			cr_assert_neq(updk_pci_irq_fd(r.dev, v), updk_pci_irq_fd(r.dev, w));
	cr_assert_eq(updk_pci_irq_fd(r.dev, 4), -EINVAL);

	/* Vector 2 fires, and only it. */
	job(&r, DMACOPY_INTCTL_IEN | 2);
	cr_assert(fires(r.dev, 2, 2000));
	cr_assert(!fires(r.dev, 0, 0) && !fires(r.dev, 1, 0) && !fires(r.dev, 3, 0));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 2), 1);
	cr_assert_eq(updk_pci_irq_ack(r.dev, 2), 0, "nothing more counted");
	cr_assert(!fires(r.dev, 2, 0));

	/* Three jobs before anyone looks: one readable eventfd counting three. */
	for (int i = 0; i < 3; i++)
		job(&r, DMACOPY_INTCTL_IEN | 1);
	cr_assert(fires(r.dev, 1, 2000));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 1), 3);
	cr_assert_eq(sim_irq_stats(r.dev, 1, &raised, NULL), 0);
	cr_assert_eq(raised, 3);

	/* No IEN, no interrupt. */
	job(&r, 1);
	cr_assert(!fires(r.dev, 1, 50));

	updk_pci_irq_disable(r.dev);
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_NONE);
	cr_assert_eq(updk_pci_irq_fd(r.dev, 0), -EINVAL);
	cr_assert_eq(cfg16(r.dev, (uint32_t)cap + 2), 3, "MSI-X Enable clear again");
	rig_close(&r);
}

/* Without Bus Master Enable a message is a memory write the bus drops. */
Test(pci_irq, msix_needs_bus_master)
{
	struct rig r;
	uint64_t raised, lost;

	rig_open(&r, "sim:dmacopy?msix=2");
	cr_assert_eq(updk_pci_irq_enable(r.dev, 2, 2, UPDK_PCI_IRQ_ANY), 2);
	job(&r, DMACOPY_INTCTL_IEN | 0);
	cr_assert(fires(r.dev, 0, 2000));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 0), 1);
	/* The model raises in the same pass that finishes the job: turn BME off right after. */
	{
		struct sim_dev *sd = r.dev->priv;

		pthread_mutex_lock(&sd->lock);
		sim_cfg_set16(sd, 0x04, (uint16_t)(sim_cfg16(sd, 0x04) & ~0x4));
		sim_irq_raise(sd, 0);
		sim_cfg_set16(sd, 0x04, (uint16_t)(sim_cfg16(sd, 0x04) | 0x4));
		pthread_mutex_unlock(&sd->lock);
	}
	cr_assert(!fires(r.dev, 0, 50));
	cr_assert_eq(sim_irq_stats(r.dev, 0, &raised, &lost), 0);
	cr_assert_eq(raised, 1);
	cr_assert_eq(lost, 1);
	rig_close(&r);
}

/* No MSI-X: MSI; no MSI either: INTx. */
Test(pci_irq, falls_back_to_msi_then_intx)
{
	struct rig r;
	int cap;

	rig_open(&r, "sim:dmacopy?msi=4,intx=1");
	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 8, UPDK_PCI_IRQ_ANY), 4);
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_MSI);
	cap = updk_pci_find_cap(r.dev, 0x05, 0);
	cr_assert_gt(cap, 0);
	/* Enable, Multiple Message Capable 4 (2), Multiple Message Enable 4 (2), 64-bit. */
	cr_assert_eq(cfg16(r.dev, (uint32_t)cap + 2), 0x01 | 2 << 1 | 2 << 4 | 0x80);
	job(&r, DMACOPY_INTCTL_IEN | 3);
	cr_assert(fires(r.dev, 3, 2000));
	/* Vector 6 is beyond 4: its low bits pick vector 2, as Multiple Message Enable does. */
	job(&r, DMACOPY_INTCTL_IEN | 6);
	cr_assert(fires(r.dev, 2, 2000));
	rig_close(&r);

	rig_open(&r, "sim:dmacopy?intx=1");
	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 8, UPDK_PCI_IRQ_ANY), 1);
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_INTX);
	job(&r, DMACOPY_INTCTL_IEN | 5); /* every vector is the one line */
	cr_assert(fires(r.dev, 0, 2000));
	rig_close(&r);

	/* Only the kinds allowed are tried. */
	rig_open(&r, "sim:dmacopy?msix=2,intx=1");
	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 1, UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_INTX)), 1);
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_INTX);
	rig_close(&r);
}

/* INTx is masked each time it fires (VFIO's AUTOMASKED); ack unmasks it. */
Test(pci_irq, intx_masked_until_acknowledged)
{
	struct updk_pci_irq_info info;
	struct rig r;

	rig_open(&r, "sim:dmacopy?intx=1");
	cr_assert_eq(updk_pci_irq_info(r.dev, UPDK_PCI_IRQ_INTX, &info), 0);
	cr_assert(info.count == 1 && info.maskable && info.automasked);
	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 1, UPDK_PCI_IRQ_ANY), 1);

	job(&r, DMACOPY_INTCTL_IEN);
	job(&r, DMACOPY_INTCTL_IEN); /* while masked: held */
	cr_assert(fires(r.dev, 0, 2000));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 0), 1, "the second was held by the mask");
	/* Unmasked with the line still raised: it fires again at once. */
	cr_assert(fires(r.dev, 0, 2000));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 0), 1);
	cr_assert(!fires(r.dev, 0, 50));

	/* Masked by the host: nothing until unmasked. */
	cr_assert_eq(updk_pci_irq_mask(r.dev, 0, true), 0);
	job(&r, DMACOPY_INTCTL_IEN);
	cr_assert(!fires(r.dev, 0, 50));
	cr_assert_eq(updk_pci_irq_mask(r.dev, 0, false), 0);
	cr_assert(fires(r.dev, 0, 2000));
	cr_assert_eq(updk_pci_irq_ack(r.dev, 0), 1);
	cr_assert_eq(updk_pci_irq_mask(r.dev, 1, true), -EINVAL);
	rig_close(&r);
}

Test(pci_irq, msix_cannot_be_masked_through_the_host)
{
	struct log_capture lc;
	struct rig r;
	char *log;

	rig_open(&r, "sim:dmacopy?msix=2");
	cr_assert_eq(updk_pci_irq_enable(r.dev, 1, 2, UPDK_PCI_IRQ_ANY), 2);
	log_capture_start(&lc);
	cr_assert_eq(updk_pci_irq_mask(r.dev, 0, true), -ENOTSUP);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "sim:dmacopy") && strstr(log, "mask the interrupt in the device"),
		  "%s", log);
	free(log);
	rig_close(&r);
}

/* Each refusal names the device, leaves no eventfd open, and the device still works polled. */
static void refused(const char *addr, unsigned min, unsigned max, int err, const char *says)
{
	struct log_capture lc;
	struct rig r;
	int before;
	char *log;

	rig_open(&r, addr);
	before = open_fds();
	log_capture_start(&lc);
	cr_assert_eq(updk_pci_irq_enable(r.dev, min, max, UPDK_PCI_IRQ_ANY), err, "%s", addr);
	log = log_capture_stop(&lc);
	cr_assert(strstr(log, "sim:dmacopy"), "names the device: %s", log);
	cr_assert(strstr(log, says), "says '%s': %s", says, log);
	free(log);
	cr_assert_eq(open_fds(), before, "no eventfd left open");
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_NONE);
	job(&r, 0);
	rig_close(&r);
}

Test(pci_irq, more_vectors_than_offered_refused)
{
	refused("sim:dmacopy?msix=4,intx=1", 8, 8, -ENOSPC, "offers MSI-X 4, MSI 0, INTx 1");
	refused("sim:dmacopy?msix=4", 5, 16, -ENOSPC, "ask for at most 4");
}

Test(pci_irq, no_interrupts_refused)
{
	refused("sim:dmacopy", 1, 1, -ENOSPC, "offers no interrupts");
}

Test(pci_irq, open_file_limit_refused)
{
	struct rlimit saved, low;
	struct log_capture lc;
	struct rig r;
	int before;
	char *log;

	rig_open(&r, "sim:dmacopy?msix=16");
	before = open_fds();
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	/* Room for the log capture's two descriptors and five more: not sixteen. */
	low = saved;
	low.rlim_cur = (rlim_t)before + 7;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	log_capture_start(&lc);
	cr_assert_eq(updk_pci_irq_enable(r.dev, 16, 16, UPDK_PCI_IRQ_ANY), -EMFILE);
	log = log_capture_stop(&lc);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	cr_assert(strstr(log, "sim:dmacopy") && strstr(log, "ulimit -n"), "%s", log);
	free(log);
	cr_assert_eq(open_fds(), before, "the eventfds made before the limit are closed");
	cr_assert_eq(updk_pci_irq_type(r.dev), UPDK_PCI_IRQ_NONE);
	job(&r, 0);
	/* With the limit back, the same request works. */
	cr_assert_eq(updk_pci_irq_enable(r.dev, 16, 16, UPDK_PCI_IRQ_ANY), 16);
	rig_close(&r);
}

Test(pci_irq, enable_twice_refused_and_close_releases)
{
	struct updk_pci_dev *dev;
	int before = open_fds();

	cr_assert_eq(updk_pci_open("sim:dmacopy?msix=8", &dev), 0);
	cr_assert_eq(updk_pci_irq_enable(dev, 8, 8, UPDK_PCI_IRQ_ANY), 8);
	cr_assert_eq(updk_pci_irq_enable(dev, 1, 1, UPDK_PCI_IRQ_ANY), -EBUSY);
	cr_assert_eq(updk_pci_irq_count(dev), 8, "the first enable stands");
	cr_assert_eq(open_fds(), before + 8);
	updk_pci_close(dev); /* with the vectors enabled */
	cr_assert_eq(open_fds(), before, "close released every eventfd");

	cr_assert_eq(updk_pci_irq_enable(NULL, 1, 1, UPDK_PCI_IRQ_ANY), -EINVAL);
}

Test(pci_irq, bad_options_refused)
{
	static const char *const bad[] = {
		"sim:dmacopy?msi=3", /* not a power of two */
		"sim:dmacopy?msi=64", /* MSI has at most 32 */
		"sim:dmacopy?msix=2049", /* MSI-X at most 2048 */
		"sim:dmacopy?intx=2",	 "sim:dmacopy?msix=x",
	};
	struct updk_pci_dev *dev;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(updk_pci_open(bad[i], &dev), -EINVAL, "%s", bad[i]);
	/* The largest table: 32 KiB of entries and the PBA on the next page, in a 64 KiB BAR 2. */
	cr_assert_eq(updk_pci_open("sim:dmacopy?msix=2048", &dev), 0);
	cr_assert_eq(((struct sim_dev *)dev->priv)->bar_size[DMACOPY_MSIX_BAR], 65536);
	updk_pci_close(dev);
}
