// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/pci's sim backend end to end through sim:dmacopy: open by address string, config space
 * and capabilities, BARs and registers, and DMA that reaches memory only through lib/mem's
 * IOVA mappings (an unmapped IOVA is a fault that writes nothing).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "lib/pci/backend.h"
#include "sim/dmacopy.h"
#include "sim/sim.h"

static void setup(void)
{
	/* 4 KiB pages: the model ring must not depend on hugepages being reserved. */
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
}

TestSuite(sim_dmacopy, .init = setup, .timeout = 30);

static struct updk_pci_dev *open_dev(const char *addr)
{
	struct updk_pci_dev *dev = NULL;

	cr_assert_eq(updk_pci_open(addr, &dev), 0, "open %s", addr);
	cr_assert(dev);
	return dev;
}

/* A device and two DMA buffers of the same length, a and b, for its jobs. */
struct rig {
	struct updk_pci_dev *dev;
	uint8_t *a, *b;
	uint64_t ia, ib;
};

static void rig_open(struct rig *r, const char *addr, size_t len)
{
	r->dev = open_dev(addr);
	r->a = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, &r->ia);
	r->b = updk_dma_zalloc(len, 4096, UPDK_NUMA_ANY, &r->ib);
	cr_assert(r->a && r->b);
}

static void rig_close(struct rig *r)
{
	updk_pci_close(r->dev);
	updk_dma_free(r->a);
	updk_dma_free(r->b);
}

static uint64_t faults(struct updk_pci_dev *dev)
{
	return __atomic_load_n(&((struct sim_dev *)dev->priv)->dma_faults, __ATOMIC_RELAXED);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * One job: program it through the control path, ring the doorbell with a plain MMIO store on
 * the BAR (as a driver's data path does), wait for the tag. Returns STATUS.
 */
static uint32_t copy(struct updk_pci_dev *dev, uint64_t src, uint64_t dst, uint32_t len,
		     uint32_t tag)
{
	char *bar0 = updk_pci_bar(dev, 0, NULL);
	double deadline = now() + 5;

	cr_assert(bar0);
	updk_pci_reg_write64(dev, 0, DMACOPY_SRC, src);
	updk_pci_reg_write64(dev, 0, DMACOPY_DST, dst);
	updk_pci_reg_write32(dev, 0, DMACOPY_LEN, len);
	updk_wmb();
	updk_mmio_write32(bar0 + DMACOPY_DOORBELL, tag);
	while (updk_mmio_read32(bar0 + DMACOPY_TAG_DONE) != tag)
		cr_assert_lt(now(), deadline, "job %u not finished in 5 s", tag);
	updk_rmb();
	cr_assert_eq(updk_mmio_read32(bar0 + DMACOPY_DOORBELL), 0);
	return updk_pci_reg_read32(dev, 0, DMACOPY_STATUS);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

Test(sim_dmacopy, copies_between_dma_buffers)
{
	struct rig r;
	uint8_t zero[100] = { 0 };

	rig_open(&r, "sim:dmacopy", 8192);
	cr_assert_str_eq(updk_pci_name(r.dev), "sim:dmacopy");
	cr_assert_eq(updk_pci_enable(r.dev, true), 0);
	fill(r.a, 8192, 3);

	cr_assert_eq(copy(r.dev, r.ia, r.ib, 8192, 1), DMACOPY_STATUS_DONE);
	cr_assert(!memcmp(r.a, r.b, 8192));

	/* A piece from the middle lands exactly where asked, nothing around it. */
	memset(r.b, 0, 8192);
	cr_assert_eq(copy(r.dev, r.ia + 1000, r.ib + 3001, 777, 2), DMACOPY_STATUS_DONE);
	cr_assert(!memcmp(r.b + 3001, r.a + 1000, 777));
	cr_assert(!memcmp(r.b + 3001 - 100, zero, 100));
	cr_assert(!memcmp(r.b + 3001 + 777, zero, 100));

	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_COMPLETED), 2);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ERRORS), 0);
	cr_assert_eq(faults(r.dev), 0);
	rig_close(&r);
}

/* A page-aligned user buffer that had an IOVA and lost it: its IOVA is mapped no more. */
static uint8_t *unmapped_buffer(size_t len, uint64_t *iova)
{
	uint8_t *u = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(u, MAP_FAILED);
	cr_assert_eq(updk_mem_register(u, len), 0);
	*iova = updk_iova(u);
	cr_assert_neq(*iova, UPDK_IOVA_INVALID);
	cr_assert_eq(updk_mem_unregister(u, len), 0);
	cr_assert_eq(updk_iova(u), UPDK_IOVA_INVALID);
	return u;
}

Test(sim_dmacopy, unmapped_iova_is_a_fault_and_writes_nothing)
{
	struct rig r;
	uint64_t iu;
	uint8_t *u;
	uint8_t ref[4096];

	rig_open(&r, "sim:dmacopy", 4096);
	u = unmapped_buffer(4096, &iu); /* after the buffers: its IOVA stays unused */
	cr_assert_eq(updk_pci_enable(r.dev, true), 0);
	fill(r.a, 4096, 1);
	memset(r.b, 0x5a, 4096);
	memset(u, 0xa5, 4096);
	memcpy(ref, u, 4096);

	/* Destination was unmapped: the memory behind it is untouched. */
	cr_assert_eq(copy(r.dev, r.ia, iu, 4096, 1), DMACOPY_STATUS_FAULT);
	cr_assert(!memcmp(u, ref, 4096));
	cr_assert_eq(updk_pci_reg_read64(r.dev, 0, DMACOPY_FAULT_IOVA), iu);
	cr_assert_eq(faults(r.dev), 1);

	/* Source unmapped: the destination keeps its bytes. */
	cr_assert_eq(copy(r.dev, iu, r.ib, 4096, 2), DMACOPY_STATUS_FAULT);
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(r.b[i], 0x5a, "byte %zu written", i);
	cr_assert_eq(updk_pci_reg_read64(r.dev, 0, DMACOPY_FAULT_IOVA), iu);
	cr_assert_eq(faults(r.dev), 2);

	/* A range that runs past the end of its mapping is refused whole. */
	cr_assert_eq(copy(r.dev, r.ia, iu - 16, 64, 3), DMACOPY_STATUS_FAULT);
	cr_assert(!memcmp(u, ref, 4096));

	/* An IOVA nobody ever handed out. */
	cr_assert_eq(copy(r.dev, UPDK_IOVA_INVALID - 4095, r.ib, 16, 4), DMACOPY_STATUS_FAULT);

	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ERRORS), 4);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_COMPLETED), 0);

	/* The engine still works after faults. */
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 4096, 5), DMACOPY_STATUS_DONE);
	cr_assert(!memcmp(r.a, r.b, 4096));
	rig_close(&r);
	munmap(u, 4096);
}

Test(sim_dmacopy, no_dma_without_bus_master)
{
	struct rig r;

	rig_open(&r, "sim:dmacopy", 4096);
	r.a[0] = 1;
	/* Memory Space is on after open (as vfio-pci leaves it), Bus Master is not. */
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 4096, 1), DMACOPY_STATUS_FAULT);
	cr_assert_eq(r.b[0], 0);
	cr_assert_eq(updk_pci_enable(r.dev, true), 0);
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 4096, 2), DMACOPY_STATUS_DONE);
	cr_assert_eq(r.b[0], 1);
	rig_close(&r);
}

Test(sim_dmacopy, bad_length_refused)
{
	struct rig r;

	rig_open(&r, "sim:dmacopy?maxlen=4k", 8192);
	cr_assert_eq(updk_pci_enable(r.dev, true), 0);
	r.a[4096] = 9;
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 0, 1), DMACOPY_STATUS_BADLEN);
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 4097, 2), DMACOPY_STATUS_BADLEN);
	cr_assert_eq(r.b[4096], 0);
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 4096, 3), DMACOPY_STATUS_DONE);
	cr_assert_eq(faults(r.dev), 0);
	rig_close(&r);
}

Test(sim_dmacopy, registers_status_and_reset)
{
	struct rig r;

	rig_open(&r, "sim:dmacopy", 4096);
	cr_assert_eq(updk_pci_enable(r.dev, true), 0);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ID), DMACOPY_ID_VALUE);
	/* Read-only registers ignore writes made through the control path. */
	updk_pci_reg_write32(r.dev, 0, DMACOPY_ID, 0);
	updk_pci_reg_write32(r.dev, 0, DMACOPY_COMPLETED, 77);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ID), DMACOPY_ID_VALUE);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_COMPLETED), 0);

	cr_assert_eq(copy(r.dev, r.ia, r.ib, 64, 1), DMACOPY_STATUS_DONE);
	/* STATUS is write-1-to-clear. */
	updk_pci_reg_write32(r.dev, 0, DMACOPY_STATUS, 0);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_STATUS), DMACOPY_STATUS_DONE);
	updk_pci_reg_write32(r.dev, 0, DMACOPY_STATUS, DMACOPY_STATUS_DONE);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_STATUS), 0);

	/* A 64-bit register reads back as written, through either width. */
	updk_pci_reg_write64(r.dev, 0, DMACOPY_SRC, 0x1122334455667788ull);
	cr_assert_eq(updk_pci_reg_read64(r.dev, 0, DMACOPY_SRC), 0x1122334455667788ull);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_SRC + 4), 0x11223344);

	/* Out of range or misaligned: all ones, as a master abort. */
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_BAR_SIZE), UINT32_MAX);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, 2), UINT32_MAX);
	cr_assert_eq(updk_pci_reg_read64(r.dev, 0, DMACOPY_BAR_SIZE - 4), UINT64_MAX);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 1, 0), UINT32_MAX);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 6, 0), UINT32_MAX);

	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_COMPLETED), 1);
	cr_assert_eq(updk_pci_reset(r.dev), 0);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_COMPLETED), 0);
	cr_assert_eq(updk_pci_reg_read64(r.dev, 0, DMACOPY_SRC), 0);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ID), DMACOPY_ID_VALUE);
	cr_assert_eq(copy(r.dev, r.ia, r.ib, 64, 2), DMACOPY_STATUS_DONE);

	/* Memory Space off: the BAR no longer decodes. */
	cr_assert_eq(updk_pci_enable(r.dev, false), 0);
	cr_assert_eq(updk_pci_reg_read32(r.dev, 0, DMACOPY_ID), UINT32_MAX);
	rig_close(&r);
}

Test(sim_dmacopy, bars)
{
	struct updk_pci_dev *dev = open_dev("sim:dmacopy");
	size_t len = 0;
	char *bar0 = updk_pci_bar(dev, 0, &len), *db;

	cr_assert(bar0);
	cr_assert_eq(len, DMACOPY_BAR_SIZE);
	cr_assert_eq(updk_pci_bar(dev, 0, NULL), bar0, "whole-BAR mapping is made once");
	cr_assert_eq(updk_mmio_read32(bar0 + DMACOPY_ID), DMACOPY_ID_VALUE);

	db = updk_pci_bar_range(dev, 0, DMACOPY_DOORBELL, 4);
	cr_assert(db);
	cr_assert_eq(updk_mmio_read32(db - DMACOPY_DOORBELL + DMACOPY_ID), DMACOPY_ID_VALUE);

	errno = 0;
	cr_assert_null(updk_pci_bar(dev, 1, NULL));
	cr_assert_eq(errno, ENODEV);
	errno = 0;
	cr_assert_null(updk_pci_bar(dev, 6, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(updk_pci_bar_range(dev, 0, DMACOPY_BAR_SIZE - 2, 4));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(updk_pci_bar_range(dev, 0, 0, 0));
	updk_pci_close(dev);
}

static uint32_t cfg32(struct updk_pci_dev *dev, uint32_t off)
{
	uint32_t v;

	cr_assert_eq(updk_pci_cfg_read(dev, &v, 4, off), 0);
	return v;
}

static uint16_t cfg16(struct updk_pci_dev *dev, uint32_t off)
{
	uint16_t v;

	cr_assert_eq(updk_pci_cfg_read(dev, &v, 2, off), 0);
	return v;
}

Test(sim_dmacopy, config_space)
{
	struct updk_pci_dev *dev = open_dev("sim:dmacopy");
	uint32_t ones = UINT32_MAX, bar, v;
	uint8_t b;

	cr_assert_eq(updk_pci_vendor_id(dev), DMACOPY_VENDOR_ID);
	cr_assert_eq(updk_pci_device_id(dev), DMACOPY_DEVICE_ID);
	cr_assert_eq(updk_pci_numa_node(dev), UPDK_NUMA_ANY);
	cr_assert_eq(cfg32(dev, 0), (uint32_t)DMACOPY_DEVICE_ID << 16 | DMACOPY_VENDOR_ID);
	cr_assert_eq(cfg32(dev, 0x08) >> 8, DMACOPY_CLASS);

	/* Ids are read-only. */
	cr_assert_eq(updk_pci_cfg_write(dev, &ones, 4, 0), 0);
	cr_assert_eq(cfg32(dev, 0), (uint32_t)DMACOPY_DEVICE_ID << 16 | DMACOPY_VENDOR_ID);

	/* BAR sizing (PCI Local Bus 3.0 §6.2.5.1): all ones in, size mask out, then restore. */
	bar = cfg32(dev, 0x10);
	cr_assert_neq(bar, 0);
	cr_assert_eq(bar & 0xfff, 0, "32-bit memory BAR, 4 KiB aligned");
	cr_assert_eq(updk_pci_cfg_write(dev, &ones, 4, 0x10), 0);
	cr_assert_eq(cfg32(dev, 0x10), ~(uint32_t)(DMACOPY_BAR_SIZE - 1));
	cr_assert_eq(updk_pci_cfg_write(dev, &bar, 4, 0x10), 0);
	cr_assert_eq(cfg32(dev, 0x10), bar);
	cr_assert_eq(cfg32(dev, 0x14), 0, "BAR 1 absent");

	/* Command register: Memory Space on from open, Bus Master follows updk_pci_enable(). */
	cr_assert_eq(cfg16(dev, 0x04) & 0x6, 0x2);
	cr_assert_eq(updk_pci_enable(dev, true), 0);
	cr_assert_eq(cfg16(dev, 0x04) & 0x6, 0x6);
	cr_assert_eq(updk_pci_enable(dev, false), 0);
	cr_assert_eq(cfg16(dev, 0x04) & 0x6, 0x0);

	/* Bounds. */
	cr_assert_eq(updk_pci_cfg_read(dev, &v, 4, 4094), -EINVAL);
	cr_assert_eq(updk_pci_cfg_read(dev, &v, 0, 0), -EINVAL);
	cr_assert_eq(updk_pci_cfg_read(dev, &b, 1, 4095), 0);
	updk_pci_close(dev);
}

Test(sim_dmacopy, capability_walk)
{
	struct updk_pci_dev *dev = open_dev("sim:dmacopy?serial=0x42");
	int pm, exp, vs, dsn;
	char tag[4];

	pm = updk_pci_find_cap(dev, 0x01, 0);
	exp = updk_pci_find_cap(dev, 0x10, 0);
	vs = updk_pci_find_cap(dev, DMACOPY_CAP_VENDOR, 0);
	cr_assert_geq(pm, 0x40);
	cr_assert_gt(exp, pm);
	cr_assert_gt(vs, exp);
	cr_assert_eq(pm & 3, 0);
	cr_assert_eq(cfg16(dev, 0x06) & 0x10, 0x10, "Capabilities List bit");
	cr_assert_eq(updk_pci_cfg_read(dev, tag, 4, (uint32_t)vs + 3), 0);
	cr_assert(!memcmp(tag, "DMAC", 4));
	/* PCI Express capability: version 2, endpoint. */
	cr_assert_eq(cfg16(dev, (uint32_t)exp + 2) & 0xff, 0x02);

	/* From a start, the walk continues after it. */
	cr_assert_eq(updk_pci_find_cap(dev, 0x10, pm), exp);
	cr_assert_eq(updk_pci_find_cap(dev, 0x01, pm), -ENOENT);
	cr_assert_eq(updk_pci_find_cap(dev, 0x05, 0), -ENOENT, "no MSI");
	cr_assert_eq(updk_pci_find_cap(dev, 0x10, 0x20), -EINVAL);

	dsn = updk_pci_find_ext_cap(dev, DMACOPY_EXT_CAP_DSN, 0);
	cr_assert_eq(dsn, 0x100);
	cr_assert_eq(cfg32(dev, 0x104), 0x42);
	cr_assert_eq(cfg32(dev, 0x108), 0);
	cr_assert_eq(updk_pci_find_ext_cap(dev, DMACOPY_EXT_CAP_DSN, dsn), -ENOENT);
	cr_assert_eq(updk_pci_find_ext_cap(dev, 0x0001, 0), -ENOENT, "no AER");
	cr_assert_eq(updk_pci_find_ext_cap(dev, 0x0001, 0x20), -EINVAL);
	updk_pci_close(dev);
}

/* A capability list that points back into itself, and one into the header, still ends. */
Test(sim_dmacopy, capability_walk_survives_broken_lists)
{
	struct updk_pci_dev *dev = open_dev("sim:dmacopy");
	struct sim_dev *sd = dev->priv;
	int pm = updk_pci_find_cap(dev, 0x01, 0);
	int exp = updk_pci_find_cap(dev, 0x10, 0);

	cr_assert_geq(exp, 0);
	sd->cfg[exp + 1] = (uint8_t)pm; /* PM -> EXP -> PM -> ... */
	cr_assert_eq(updk_pci_find_cap(dev, 0x05, 0), -ENOENT);
	cr_assert_eq(updk_pci_find_cap(dev, 0x01, 0), pm);
	sd->cfg[exp + 1] = 0x10; /* into the header */
	cr_assert_eq(updk_pci_find_cap(dev, 0x05, 0), -ENOENT);

	/* Extended list looping on itself, then pointing below 0x100. */
	sd->cfg[0x102] = (uint8_t)(sd->cfg[0x102] & 0x0f);
	sd->cfg[0x103] = 0x10; /* next = 0x100 */
	cr_assert_eq(updk_pci_find_ext_cap(dev, 0x0001, 0), -ENOENT);
	sd->cfg[0x103] = 0x08; /* next = 0x080 */
	cr_assert_eq(updk_pci_find_ext_cap(dev, 0x0001, 0), -ENOENT);
	updk_pci_close(dev);
}

Test(sim_dmacopy, bad_addresses_and_options_refused)
{
	static const struct {
		const char *addr;
		int err;
	} bad[] = {
		{ "sim:dmacopy?foo=1", -EINVAL }, /* unknown key */
		{ "sim:dmacopy?maxlen=abc", -EINVAL }, /* not a number */
		{ "sim:dmacopy?maxlen=-1", -EINVAL }, /* no signs */
		{ "sim:dmacopy?maxlen=4q", -EINVAL }, /* bad suffix */
		{ "sim:dmacopy?maxlen=0", -EINVAL }, /* out of range */
		{ "sim:dmacopy?maxlen=8G", -EINVAL }, /* LEN is 32 bits */
		{ "sim:dmacopy?maxlen", -EINVAL }, /* no '=' */
		{ "sim:dmacopy?maxlen=", -EINVAL }, /* no value */
		{ "sim:dmacopy?=4", -EINVAL }, /* no key */
		{ "sim:dmacopy?", -EINVAL }, /* empty list */
		{ "sim:dmacopy?maxlen=4k,", -EINVAL }, /* trailing comma */
		{ "sim:dmacopy?maxlen=4k,,serial=1", -EINVAL },
		{ "sim:dmacopy?maxlen=1,maxlen=2", -EINVAL }, /* repeated */
		{ "sim:nosuch", -ENODEV },
		{ "sim:", -EINVAL },
		{ "sim:dma copy", -EINVAL },
		{ "dmacopy", -EINVAL },
		{ "", -EINVAL },
		{ "0000:00:04.0x", -EINVAL },
		{ "simdmacopy", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct updk_pci_dev *dev = (struct updk_pci_dev *)&dev;

		cr_expect_eq(updk_pci_open(bad[i].addr, &dev), bad[i].err, "'%s'", bad[i].addr);
		cr_expect_null(dev, "'%s' left a device behind", bad[i].addr);
	}
	cr_expect_eq(updk_pci_open(NULL, &(struct updk_pci_dev *){ NULL }), -EINVAL);
	cr_expect_eq(updk_pci_open("sim:dmacopy", NULL), -EINVAL);
	/* Too many options. */
	cr_expect_eq(updk_pci_open("sim:dmacopy?a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,"
				   "m=1,n=1,o=1,p=1,q=1",
				   &(struct updk_pci_dev *){ NULL }),
		     -EINVAL);
}

Test(sim_dmacopy, close_and_reopen)
{
	uint64_t ia, ib;
	uint8_t *a = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, &ia);
	uint8_t *b = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, &ib);

	cr_assert(a && b);
	for (unsigned round = 1; round <= 20; round++) {
		/* Two at once, each with its own registers and thread. */
		struct updk_pci_dev *d1 = open_dev("sim:dmacopy");
		struct updk_pci_dev *d2 = open_dev("sim:dmacopy?maxlen=1M");

		cr_assert_eq(updk_pci_enable(d1, true), 0);
		cr_assert_eq(updk_pci_enable(d2, true), 0);
		fill(a, 4096, round);
		memset(b, 0, 4096);
		cr_assert_eq(copy(d1, ia, ib, 2048, round), DMACOPY_STATUS_DONE);
		cr_assert_eq(copy(d2, ia + 2048, ib + 2048, 2048, round), DMACOPY_STATUS_DONE);
		cr_assert(!memcmp(a, b, 4096), "round %u", round);
		cr_assert_eq(updk_pci_reg_read32(d1, 0, DMACOPY_COMPLETED), 1);
		cr_assert_eq(updk_pci_reg_read32(d2, 0, DMACOPY_COMPLETED), 1);
		/* Mappings are dropped at close, whole or partial. */
		cr_assert(updk_pci_bar_range(d1, 0, 0, 8));
		updk_pci_close(d2);
		updk_pci_close(d1);
	}
	updk_pci_close(NULL);
	updk_dma_free(a);
	updk_dma_free(b);
}

/* An idle model backs off to short sleeps: it must not keep a core busy (2-core machines). */
Test(sim_dmacopy, idle_model_sleeps)
{
	struct updk_pci_dev *dev = open_dev("sim:dmacopy");
	struct timespec c0, c1, nap = { 0, 300 * 1000 * 1000 };
	double cpu;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
	/* A spinning thread would use all 0.3 s; the back-off uses a few milliseconds. */
	cr_expect_lt(cpu, 0.075, "idle model used %.3f s of CPU in 0.3 s", cpu);
	updk_pci_close(dev);
}
