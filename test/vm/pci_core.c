// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/pci's own work on real hardware models, inside the test guest (test/vm/run.sh), checked
 * against the guest kernel's view of the same functions (/sys/bus/pci/devices/BDF/config is
 * the kernel reading the device's config space directly, not through VFIO):
 * - updk_pci_scan() finds every function with the ids, class, IOMMU group and driver the
 *   kernel has;
 * - the capability walks through the VFIO config region find each capability where the
 *   kernel's copy of config space has it;
 * - updk_pci_enable() really sets and clears Memory Space and Bus Master on the device;
 * - a doorbell sub-range mapping and the whole-BAR mapping are the same registers.
 * The NVMe controller used is the second one (null namespaces), bound to vfio-pci here through
 * driver_override and given back to the nvme driver at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/mmio.h>
#include <updk/pci.h>

#include "test/vm/vm_util.h"

/* The kernel's copy of @bdf's config space; returns how many bytes it has (256 or 4096). */
static size_t kernel_cfg(const char *bdf, uint8_t cfg[4096])
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	n = pread(fd, cfg, 4096, 0);
	close(fd);
	cr_assert_geq(n, 64, "%s: short read (%zd)", path, n);
	return (size_t)n;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	n = write(fd, val, strlen(val));
	close(fd);
	cr_assert_eq(n, (ssize_t)strlen(val), "write '%s' to %s: %s", val, path, strerror(errno));
}

static void driver_of(const char *bdf, char *buf, size_t len)
{
	struct updk_pci_addr a;
	struct updk_pci_info info;

	cr_assert_eq(updk_pci_addr_parse(bdf, &a), 0);
	cr_assert_eq(updk_pci_info_get(&a, &info), 0);
	snprintf(buf, len, "%s", info.driver);
}

/* Bind @bdf to @driver ("" for its default) through driver_override (Linux sysfs-bus-pci). */
static void rebind(const char *bdf, const char *driver)
{
	char path[160], drv[64];

	driver_of(bdf, drv, sizeof(drv));
	if (*driver && !strcmp(drv, driver))
		return;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	sysfs_write(path, *driver ? driver : "\n");
	if (*drv) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		sysfs_write(path, bdf);
	}
	sysfs_write("/sys/bus/pci/drivers_probe", bdf);
	driver_of(bdf, drv, sizeof(drv));
	if (*driver)
		cr_assert_str_eq(drv, driver, "%s did not bind to %s", bdf, driver);
}

static void give_back(void)
{
	const char *bdf = getenv("UPDK_VM_NVME2");

	if (bdf && *bdf)
		rebind(bdf, "");
}

TestSuite(pci_core, .timeout = 120);

struct expect {
	const char *bdf;
	uint16_t vendor, device;
	uint32_t class_code;
	int found;
};

static int check_fn(const struct updk_pci_info *info, void *arg)
{
	struct expect *e = arg;
	char bdf[UPDK_PCI_ADDR_STRLEN], path[160], target[160];
	uint8_t cfg[4096];
	ssize_t n;

	updk_pci_addr_fmt(&info->addr, bdf);
	kernel_cfg(bdf, cfg);
	cr_expect_eq(info->vendor_id, le16(cfg + 0), "%s vendor", bdf);
	cr_expect_eq(info->device_id, le16(cfg + 2), "%s device", bdf);
	cr_expect_eq(info->class_code, le32(cfg + 8) >> 8, "%s class", bdf);
	/* Subsystem ids are in a type 0 header only (PCI Local Bus 3.0 §6.2.1). */
	if ((cfg[0x0e] & 0x7f) == 0) {
		cr_expect_eq(info->subsystem_vendor_id, le16(cfg + 0x2c), "%s subsystem vendor",
			     bdf);
		cr_expect_eq(info->subsystem_device_id, le16(cfg + 0x2e), "%s subsystem", bdf);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	cr_expect_gt(n, 0, "%s has no IOMMU group: is the guest's IOMMU on?", bdf);
	if (n > 0) {
		target[n] = '\0';
		cr_expect_eq(info->iommu_group, atoi(strrchr(target, '/') + 1), "%s group", bdf);
	}
	for (; e->bdf; e++)
		if (!strcmp(e->bdf, bdf)) {
			cr_expect_eq(info->vendor_id, e->vendor, "%s", bdf);
			cr_expect_eq(info->device_id, e->device, "%s", bdf);
			cr_expect_eq(info->class_code, e->class_code, "%s", bdf);
			e->found++;
		}
	return 0;
}

Test(pci_core, scan_matches_the_kernel)
{
	/* QEMU's ids: hw/nvme (1b36:0010), virtio 1.0 net (1af4:1041), e1000e (8086:10d3). */
	struct expect want[] = {
		{ vm_env("UPDK_VM_NVME"), 0x1b36, 0x0010, 0x010802, 0 },
		{ vm_env("UPDK_VM_NVME2"), 0x1b36, 0x0010, 0x010802, 0 },
		{ vm_env("UPDK_VM_VIRTIO_NET"), 0x1af4, 0x1041, 0x020000, 0 },
		{ vm_env("UPDK_VM_E1000E"), 0x8086, 0x10d3, 0x020000, 0 },
		{ NULL, 0, 0, 0, 0 },
	};
	struct updk_pci_addr a;
	struct updk_pci_info info;
	char drv[64];

	cr_assert_eq(updk_pci_scan(check_fn, want), 0);
	for (struct expect *e = want; e->bdf; e++)
		cr_expect_eq(e->found, 1, "%s seen %d times", e->bdf, e->found);

	/* The bound driver, both ways round. */
	rebind(want[1].bdf, "vfio-pci");
	driver_of(want[1].bdf, drv, sizeof(drv));
	cr_expect_str_eq(drv, "vfio-pci");
	rebind(want[1].bdf, "");
	driver_of(want[1].bdf, drv, sizeof(drv));
	cr_expect_str_eq(drv, "nvme");

	cr_assert_eq(updk_pci_addr_parse("0000:fe:1f.7", &a), 0);
	cr_expect_eq(updk_pci_info_get(&a, &info), -ENODEV);
}

static struct updk_pci_dev *open_nvme2(void)
{
	const char *bdf = vm_env("UPDK_VM_NVME2");
	struct updk_pci_dev *dev;

	rebind(bdf, "vfio-pci");
	cr_assert_eq(updk_pci_open(bdf, &dev), 0, "open %s", bdf);
	cr_assert_str_eq(updk_pci_name(dev), bdf);
	return dev;
}

Test(pci_core, capabilities_where_the_kernel_sees_them, .fini = give_back)
{
	struct updk_pci_dev *dev = open_nvme2();
	uint8_t cfg[4096];
	size_t len = kernel_cfg(updk_pci_name(dev), cfg);
	unsigned seen = 0, ext_seen = 0;
	int off;

	cr_assert(le16(cfg + 6) & 0x10, "the controller has a capability list");
	/* Walk the kernel's copy: every capability, in order, must be found by the same walk. */
	for (unsigned p = cfg[0x34] & 0xfc, i = 0; p && i < 48; p = cfg[p + 1] & 0xfc, i++) {
		int first = -1;

		/* The first capability with this ID is the one a walk from the head returns. */
		for (unsigned q = cfg[0x34] & 0xfc, j = 0; q && j < 48; q = cfg[q + 1] & 0xfc, j++)
			if (cfg[q] == cfg[p]) {
				first = (int)q;
				break;
			}
		off = updk_pci_find_cap(dev, cfg[p], 0);
		cr_expect_eq(off, first, "capability 0x%02x: updk at 0x%x, kernel at 0x%x", cfg[p],
			     off, first);
		seen++;
	}
	cr_expect_geq(seen, 2, "QEMU's NVMe has at least PCI Express and MSI-X");
	cr_expect_gt(updk_pci_find_cap(dev, 0x10, 0), 0, "PCI Express capability");
	cr_expect_gt(updk_pci_find_cap(dev, 0x11, 0), 0, "MSI-X capability");
	cr_expect_eq(updk_pci_find_cap(dev, 0x0f, 0), -ENOENT, "no AGP 8x on an NVMe SSD");

	/*
	 * Extended capabilities: VFIO may hide some it does not virtualise, so each one updk
	 * finds must be where the kernel has it, with the same header.
	 */
	if (len == 4096 && le32(cfg + 0x100) && le32(cfg + 0x100) != 0xffffffff) {
		for (unsigned p = 0x100, i = 0; p >= 0x100 && i < 960; i++) {
			uint32_t hdr = le32(cfg + p);

			off = updk_pci_find_ext_cap(dev, (uint16_t)(hdr & 0xffff), 0);
			if (off > 0) {
				cr_expect_eq(le32(cfg + off) & 0xffff, hdr & 0xffff,
					     "ext cap 0x%04x at 0x%x", hdr & 0xffff, off);
				ext_seen++;
			}
			p = (hdr >> 20) & ~3u;
			if (!p)
				break;
		}
		fprintf(stderr, "pci_core: %u of the kernel's extended capabilities visible\n",
			ext_seen);
	} else {
		/* QEMU 7.2's NVMe has none (0x100 reads 0): neither must updk find any. */
		for (uint16_t id = 1; id <= 0x30; id++)
			cr_expect_eq(updk_pci_find_ext_cap(dev, id, 0), -ENOENT, "ext cap 0x%04x",
				     id);
	}
	updk_pci_close(dev);
}

Test(pci_core, enable_reaches_the_device, .fini = give_back)
{
	struct updk_pci_dev *dev = open_nvme2();
	uint8_t cfg[4096];
	uint16_t cmd;

	cr_assert_eq(updk_pci_enable(dev, true), 0);
	kernel_cfg(updk_pci_name(dev), cfg);
	cr_expect_eq(le16(cfg + 4) & 0x6, 0x6, "Memory Space and Bus Master set (kernel view)");
	cr_assert_eq(updk_pci_cfg_read(dev, &cmd, 2, 4), 0);
	cr_expect_eq(cmd & 0x6, 0x6);

	cr_assert_eq(updk_pci_enable(dev, false), 0);
	kernel_cfg(updk_pci_name(dev), cfg);
	cr_expect_eq(le16(cfg + 4) & 0x6, 0, "both clear (kernel view)");

	/* Idempotent, and the device answers again once re-enabled. */
	cr_assert_eq(updk_pci_enable(dev, true), 0);
	cr_assert_eq(updk_pci_enable(dev, true), 0);
	kernel_cfg(updk_pci_name(dev), cfg);
	cr_expect_eq(le16(cfg + 4) & 0x6, 0x6);
	cr_expect_eq(updk_pci_reg_read32(dev, 0, 0x08), 0x00010400, "NVMe VS 1.4.0");
	updk_pci_close(dev);
}

Test(pci_core, doorbell_range_is_the_same_bar, .fini = give_back)
{
	struct updk_pci_dev *dev = open_nvme2();
	size_t len = 0;
	uint8_t *bar, *vs, *db;

	cr_assert_eq(updk_pci_enable(dev, true), 0);
	bar = updk_pci_bar(dev, 0, &len);
	cr_assert_not_null(bar);
	vs = updk_pci_bar_range(dev, 0, 0x08, 4);
	cr_assert_not_null(vs);
	cr_expect_eq(updk_mmio_read32(vs), updk_mmio_read32(bar + 0x08));
	cr_expect_eq(updk_mmio_read32(vs), 0x00010400);
	/* The doorbell page (NVMe Base 1.4 §3.1.24) sits one page into its own mapping. */
	db = updk_pci_bar_range(dev, 0, 0x1000, 8);
	cr_assert_not_null(db);
	cr_expect_eq(((uintptr_t)db & 0xfff), 0);
	cr_expect_null(updk_pci_bar_range(dev, 0, len, 4), "past the end of BAR 0");
	cr_expect_null(updk_pci_bar(dev, 1, NULL), "BAR 1 is the upper half of a 64-bit BAR 0");
	updk_pci_close(dev);
}
