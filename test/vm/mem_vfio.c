// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/mem against a real IOMMU (QEMU's virtual Intel IOMMU, in the guest of test/vm/run.sh):
 * memory allocated and registered before the device is opened is mapped when it is (deferred,
 * not lost), every IOVA lies in the ranges the kernel reports, and a device really reaches it:
 * QEMU's NVMe controller runs its admin queue in that memory and writes Identify Controller
 * into registered buffers, through the IOMMU. Each mapping made or removed shows in the
 * container's DMA-available count, and none remains after close.
 *
 * The second NVMe controller (0000:00:05.0) is used, bound to vfio-pci for the test and given
 * back to the kernel's nvme driver after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "lib/mem/iova_alloc.h"
#include "lib/mem/mem_internal.h"
#include "lib/vfio/vfio.h"

#define BDF "0000:00:05.0"
#define SYSDEV "/sys/bus/pci/devices/" BDF

/* NVMe Base 2.0 §3.1.4: controller registers. */
#define NVME_CAP 0x00
#define NVME_CC 0x14
#define NVME_CSTS 0x1c
#define NVME_AQA 0x24
#define NVME_ASQ 0x28
#define NVME_ACQ 0x30
#define NVME_DB 0x1000
#define CC_EN 1u
#define CC_IOSQES_64 (6u << 16)
#define CC_IOCQES_16 (4u << 20)
#define CSTS_RDY 1u
#define CSTS_CFS 2u
#define QSIZE 16

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	/* Unbinding a device that has no driver, or probing one, may answer an error. */
	if (write(fd, val, strlen(val)) < 0 && errno != ENODEV)
		cr_log_warn("write %s to %s: %s", val, path, strerror(errno));
	close(fd);
}

static void bind_to(const char *driver)
{
	if (access(SYSDEV "/driver", F_OK) == 0)
		write_file(SYSDEV "/driver/unbind", BDF);
	write_file(SYSDEV "/driver_override", driver ? driver : "\n");
	write_file("/sys/bus/pci/drivers_probe", BDF);
}

static void setup(void)
{
	if (access(SYSDEV, F_OK) != 0)
		cr_assert_fail("%s missing: this suite runs in the guest of test/vm/run.sh",
			       SYSDEV);
	cr_assert_eq(system("modprobe vfio-pci"), 0, "modprobe vfio-pci failed");
	bind_to("vfio-pci");
}

/*
 * The device the running test has open. A failed assertion skips the test's own close, and
 * unbinding from vfio-pci waits for the device fd to be closed: close it here first.
 */
static struct updk_pci_dev *open_dev;

static void teardown(void)
{
	if (open_dev)
		updk_pci_close(open_dev);
	open_dev = NULL;
	bind_to(NULL);
}

static struct updk_pci_dev *dev_open(void)
{
	struct updk_pci_dev *dev = NULL;

	cr_assert_eq(updk_pci_open(BDF, &dev), 0, "cannot open %s through VFIO", BDF);
	open_dev = dev;
	return dev;
}

static void dev_close(struct updk_pci_dev *dev)
{
	updk_pci_close(dev);
	open_dev = NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct ctrl {
	struct updk_pci_dev *dev;
	uint8_t *bar;
	uint32_t dstrd;
	double timeout;
	uint8_t *sq, *cq;
	uint64_t sq_iova, cq_iova;
	unsigned sq_tail, cq_head, phase;
	uint16_t cid;
};

static void wait_rdy(struct ctrl *c, uint32_t want)
{
	double t0 = now();
	uint32_t csts;

	while (((csts = updk_pci_reg_read32(c->dev, 0, NVME_CSTS)) & CSTS_RDY) != want) {
		cr_assert_eq(csts & CSTS_CFS, 0, "controller fatal status");
		cr_assert_lt(now() - t0, c->timeout, "CSTS.RDY did not become %u", want);
		usleep(1000);
	}
}

/* Reset the controller and enable it with its admin queues at the given IOVAs. */
static void ctrl_enable(struct ctrl *c)
{
	uint64_t cap = updk_pci_reg_read64(c->dev, 0, NVME_CAP);

	/* Fresh rings: stale entries with a matching phase would read as completions. */
	memset(c->sq, 0, 64 * QSIZE);
	memset(c->cq, 0, 16 * QSIZE);
	c->dstrd = (cap >> 32) & 0xf;
	c->timeout = ((cap >> 24) & 0xff) * 0.5 + 1;
	updk_pci_reg_write32(c->dev, 0, NVME_CC, 0);
	wait_rdy(c, 0);
	updk_pci_reg_write32(c->dev, 0, NVME_AQA, (QSIZE - 1) | (QSIZE - 1) << 16);
	updk_pci_reg_write64(c->dev, 0, NVME_ASQ, c->sq_iova);
	updk_pci_reg_write64(c->dev, 0, NVME_ACQ, c->cq_iova);
	updk_pci_reg_write32(c->dev, 0, NVME_CC, CC_EN | CC_IOSQES_64 | CC_IOCQES_16);
	wait_rdy(c, 1);
	c->sq_tail = c->cq_head = 0;
	c->phase = 1;
}

static void ctrl_disable(struct ctrl *c)
{
	updk_pci_reg_write32(c->dev, 0, NVME_CC, 0);
	wait_rdy(c, 0);
}

/* Identify Controller (NVMe Base 2.0 §5.17, CNS 01h) into @buf, whose IOVA lib/mem gives. */
static void identify(struct ctrl *c, void *buf)
{
	uint64_t iova = updk_iova(buf);
	uint32_t *sqe = (uint32_t *)(c->sq + 64 * c->sq_tail);
	volatile uint32_t *cqe = (volatile uint32_t *)(c->cq + 16 * c->cq_head);
	double t0 = now();
	uint16_t cid = ++c->cid;

	cr_assert_neq(iova, UPDK_IOVA_INVALID, "buffer %p has no IOVA", buf);
	memset(buf, 0, 4096);
	memset(sqe, 0, 64);
	sqe[0] = 0x06 | (uint32_t)cid << 16; /* opcode Identify, command id */
	sqe[6] = (uint32_t)iova; /* PRP1 */
	sqe[7] = (uint32_t)(iova >> 32);
	sqe[10] = 1; /* CNS 01h: the controller */
	c->sq_tail = (c->sq_tail + 1) % QSIZE;
	updk_mmio_write32(c->bar + NVME_DB, c->sq_tail);
	while (((cqe[3] >> 16) & 1) != c->phase) {
		cr_assert_lt(now() - t0, 5.0, "no completion for Identify");
		usleep(100);
	}
	cr_assert_eq(cqe[3] & 0xffff, cid);
	cr_assert_eq(cqe[3] >> 17, 0, "Identify status 0x%x", cqe[3] >> 17);
	if (++c->cq_head == QSIZE) {
		c->cq_head = 0;
		c->phase ^= 1;
	}
	updk_mmio_write32(c->bar + NVME_DB + (4u << c->dstrd), c->cq_head);
	/* Model number, bytes 24..63: the device wrote it through the IOMMU. */
	cr_assert(!memcmp((char *)buf + 24, "QEMU NVMe Ctrl", 14), "model number '%.40s'",
		  (char *)buf + 24);
}

static bool in_ranges(const struct vfio_iova_range *r, int n, uint64_t iova, size_t len)
{
	for (int i = 0; i < n; i++)
		if (iova >= r[i].start && iova + len - 1 <= r[i].end)
			return true;
	return false;
}

static uint32_t avail(void)
{
	uint32_t a = 0;

	cr_assert_eq(vfio_dma_avail(&a), 0);
	return a;
}

Test(mem_vfio, deferred_mappings_reach_the_device, .init = setup, .fini = teardown)
{
	struct vfio_iova_range kr[VFIO_MAX_IOVA_RANGES];
	struct ctrl c = { 0 };
	uint8_t *user, *late, *big;
	uint64_t late_iova, big_iova;
	uint32_t a0;
	int n;

	/* Before any device: DMA memory and a user buffer, 4 KiB-granular, with no IOMMU yet. */
	c.sq = updk_dma_zalloc(64 * QSIZE, 4096, UPDK_NUMA_ANY, &c.sq_iova);
	c.cq = updk_dma_zalloc(16 * QSIZE, 4096, UPDK_NUMA_ANY, &c.cq_iova);
	cr_assert(c.sq && c.cq);
	user = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	late = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(user != MAP_FAILED && late != MAP_FAILED);
	cr_assert_eq(updk_mem_register(user + 4096, 3 * 4096), 0);
	cr_assert_eq(updk_mem_register(user + 8 * 4096, 4096), 0);

	c.dev = dev_open();
	n = vfio_iova_ranges(kr, VFIO_MAX_IOVA_RANGES);
	cr_assert_gt(n, 0, "the kernel reported no IOVA ranges");
	for (int i = 0; i < n; i++)
		cr_log_info("IOVA range [0x%lx, 0x%lx]", kr[i].start, kr[i].end);
	cr_assert(in_ranges(kr, n, c.sq_iova, 4096) && in_ranges(kr, n, c.cq_iova, 4096));
	cr_assert(in_ranges(kr, n, updk_iova(user + 4096), 3 * 4096));
	a0 = avail();

	cr_assert_eq(updk_pci_enable(c.dev, true), 0);
	c.bar = updk_pci_bar(c.dev, 0, NULL);
	cr_assert_not_null(c.bar);
	ctrl_enable(&c);
	/* Queues and buffers allocated before the open, mapped by the attach. */
	identify(&c, user + 4096);
	identify(&c, user + 3 * 4096);
	identify(&c, user + 8 * 4096);

	/* Registered after the open: mapped at once, from the kernel's ranges. */
	cr_assert_eq(updk_mem_register(late, 4096), 0);
	late_iova = updk_iova(late);
	cr_assert(in_ranges(kr, n, late_iova, 4096));
	cr_assert(late_iova + 4096 <= IOVA_MSI_START || late_iova >= IOVA_MSI_END);
	cr_assert_eq(avail(), a0 - 1);
	identify(&c, late);
	cr_assert_eq(updk_mem_unregister(late, 4096), 0);
	cr_assert_eq(avail(), a0);

	/* Larger than a chunk: a dedicated chunk, mapped on alloc and unmapped on free. */
	big = updk_dma_alloc((4 << 20) + 4096, 4096, UPDK_NUMA_ANY, &big_iova);
	cr_assert_not_null(big);
	cr_assert(in_ranges(kr, n, big_iova, (4 << 20) + 4096));
	cr_assert_eq(avail(), a0 - 1);
	identify(&c, big + (2 << 20) - 4096);
	identify(&c, big + (4 << 20));
	updk_dma_free(big);
	cr_assert_eq(avail(), a0);

	ctrl_disable(&c);
	dev_close(c.dev);
	/* The container went with the last device, and its mappings with it. */
	cr_assert_lt(vfio_dma_avail(&a0), 0);
	cr_assert_eq(updk_mem_unregister(user + 4096, 3 * 4096), 0);
	cr_assert_eq(updk_mem_unregister(user + 8 * 4096, 4096), 0);
	updk_dma_free(c.sq);
	updk_dma_free(c.cq);
}

/* Reopening maps everything again, at the same IOVAs. */
Test(mem_vfio, reopen_remaps, .init = setup, .fini = teardown)
{
	struct ctrl c = { 0 };
	uint8_t *buf;
	uint32_t a1, a2;

	c.sq = updk_dma_zalloc(64 * QSIZE, 4096, UPDK_NUMA_ANY, &c.sq_iova);
	c.cq = updk_dma_zalloc(16 * QSIZE, 4096, UPDK_NUMA_ANY, &c.cq_iova);
	buf = updk_dma_alloc(4096, 4096, UPDK_NUMA_ANY, NULL);
	cr_assert(c.sq && c.cq && buf);
	for (int round = 0; round < 2; round++) {
		c.dev = dev_open();
		a1 = avail();
		if (round)
			cr_assert_eq(a1, a2, "mapping count differs on reopen");
		a2 = a1;
		cr_assert_eq(updk_pci_enable(c.dev, true), 0);
		c.bar = updk_pci_bar(c.dev, 0, NULL);
		cr_assert_not_null(c.bar);
		ctrl_enable(&c);
		identify(&c, buf);
		ctrl_disable(&c);
		dev_close(c.dev);
	}
	updk_dma_free(buf);
	updk_dma_free(c.sq);
	updk_dma_free(c.cq);
}
