// SPDX-License-Identifier: BSD-3-Clause
/*
 * updk_pci_scan() and updk_pci_info_get() on a fake sysfs tree built in a temporary folder and
 * selected with UPDK_SYSFS_ROOT, laid out as Linux lays out /sys (real folders under
 * devices/, links to them from bus/pci/devices, iommu_group and driver as links).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <updk/pci.h>

static char root[64]; /* a mkdtemp() path under /tmp */

static void mkdirs(const char *fmt, const char *a)
{
	char path[PATH_MAX], cmd[PATH_MAX + 16];

	snprintf(path, sizeof(path), fmt, root, a);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *bdf, const char *file, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/%s", root, bdf, file);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *bdf, const char *file, const char *target)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/devices/pci0000:00/%s/%s", root, bdf, file);
	cr_assert_eq(symlink(target, path), 0, "%s", path);
}

/* A function folder with the usual attributes, linked from bus/pci/devices. */
static void add_fn(const char *bdf, const char *vendor, const char *device, const char *class)
{
	char path[PATH_MAX], target[PATH_MAX];

	mkdirs("%s/devices/pci0000:00/%s", bdf);
	if (vendor)
		put(bdf, "vendor", vendor);
	if (device)
		put(bdf, "device", device);
	if (class)
		put(bdf, "class", class);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	cr_assert_eq(symlink(target, path), 0);
}

static void setup(void)
{
	char tmpl[] = "/tmp/updk-sysfs-XXXXXX";

	cr_assert(mkdtemp(tmpl));
	snprintf(root, sizeof(root), "%s", tmpl);
	mkdirs("%s/bus/pci/devices%s", "");
	mkdirs("%s/kernel/iommu_groups/%s", "7");
	mkdirs("%s/bus/pci/drivers/%s", "vfio-pci");
	setenv("UPDK_SYSFS_ROOT", root, 1);

	/* NVMe controller on node 1, group 7, bound to vfio-pci (QEMU's ids). */
	add_fn("0000:00:04.0", "0x1b36\n", "0x0010\n", "0x010802\n");
	put("0000:00:04.0", "subsystem_vendor", "0x1af4\n");
	put("0000:00:04.0", "subsystem_device", "0x1100\n");
	put("0000:00:04.0", "numa_node", "1\n");
	link_to("0000:00:04.0", "iommu_group", "../../../kernel/iommu_groups/7");
	link_to("0000:00:04.0", "driver", "../../../bus/pci/drivers/vfio-pci");

	/* Host bridge: no subsystem ids, numa -1, no group, no driver. */
	add_fn("0000:00:00.0", "0x8086\n", "0x29c0\n", "0x060000\n");
	put("0000:00:00.0", "numa_node", "-1\n");

	/* A function in another domain, listed before the others by readdir maybe, last by order. */
	add_fn("0001:02:1f.7", "0x8086\n", "0x10fb\n", "0x020000\n");
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (root[0])
		cr_expect_eq(system(cmd), 0);
}

TestSuite(pci_scan, .init = setup, .fini = teardown);

static struct updk_pci_addr A(const char *s) {
	struct updk_pci_addr a;

	cr_assert_eq(updk_pci_addr_parse(s, &a), 0);
	return a;
}

Test(pci_scan, info_of_bound_nvme)
{
	struct updk_pci_addr a = A("0000:00:04.0");
	struct updk_pci_info info;

	cr_assert_eq(updk_pci_info_get(&a, &info), 0);
	cr_expect_eq(info.vendor_id, 0x1b36);
	cr_expect_eq(info.device_id, 0x0010);
	cr_expect_eq(info.class_code, 0x010802);
	cr_expect_eq(info.subsystem_vendor_id, 0x1af4);
	cr_expect_eq(info.subsystem_device_id, 0x1100);
	cr_expect_eq(info.numa_node, 1);
	cr_expect_eq(info.iommu_group, 7);
	cr_expect_str_eq(info.driver, "vfio-pci");
	cr_expect(!memcmp(&info.addr, &a, sizeof(a)));
}

Test(pci_scan, missing_optional_files)
{
	struct updk_pci_addr a = A("00:00.0");
	struct updk_pci_info info;

	cr_assert_eq(updk_pci_info_get(&a, &info), 0);
	cr_expect_eq(info.vendor_id, 0x8086);
	cr_expect_eq(info.class_code, 0x060000);
	cr_expect_eq(info.subsystem_vendor_id, 0);
	cr_expect_eq(info.subsystem_device_id, 0);
	cr_expect_eq(info.numa_node, -1);
	cr_expect_eq(info.iommu_group, -1);
	cr_expect_str_eq(info.driver, "");

	/* No numa_node file at all is "unknown" as well. */
	a = A("0001:02:1f.7");
	cr_assert_eq(updk_pci_info_get(&a, &info), 0);
	cr_expect_eq(info.numa_node, -1);
}

Test(pci_scan, absent_function_is_enodev)
{
	struct updk_pci_addr a = A("0000:00:05.0");
	struct updk_pci_info info;

	cr_expect_eq(updk_pci_info_get(&a, &info), -ENODEV);
}

Test(pci_scan, missing_or_bad_ids_refused)
{
	struct updk_pci_addr a;
	struct updk_pci_info info;

	add_fn("0000:00:06.0", "0x1af4\n", NULL, "0x020000\n"); /* no device file */
	a = A("0000:00:06.0");
	cr_expect_eq(updk_pci_info_get(&a, &info), -ENOENT);

	add_fn("0000:00:07.0", "8086\n", "0x10d3\n", "0x020000\n"); /* no 0x prefix */
	a = A("0000:00:07.0");
	cr_expect_eq(updk_pci_info_get(&a, &info), -EINVAL);

	add_fn("0000:00:08.0", "0x18086\n", "0x10d3\n", "0x020000\n"); /* too wide */
	a = A("0000:00:08.0");
	cr_expect_eq(updk_pci_info_get(&a, &info), -EINVAL);

	add_fn("0000:00:09.0", "0x8086\n", "0x10d3\n", "0x02000z\n"); /* not hex */
	a = A("0000:00:09.0");
	cr_expect_eq(updk_pci_info_get(&a, &info), -EINVAL);
}

Test(pci_scan, bad_numa_and_group_are_unknown)
{
	struct updk_pci_addr a = A("0000:00:0a.0");
	struct updk_pci_info info;

	add_fn("0000:00:0a.0", "0x8086\n", "0x10d3\n", "0x020000\n");
	put("0000:00:0a.0", "numa_node", "one\n");
	link_to("0000:00:0a.0", "iommu_group", "../../../kernel/iommu_groups/x");
	cr_assert_eq(updk_pci_info_get(&a, &info), 0);
	cr_expect_eq(info.numa_node, -1);
	cr_expect_eq(info.iommu_group, -1);
}

struct seen {
	unsigned n;
	char names[8][UPDK_PCI_ADDR_STRLEN];
	uint16_t vendor[8];
	unsigned stop_after;
};

static int collect(const struct updk_pci_info *info, void *arg)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, 8);
	updk_pci_addr_fmt(&info->addr, s->names[s->n]);
	s->vendor[s->n] = info->vendor_id;
	s->n++;
	return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

Test(pci_scan, scan_in_address_order)
{
	struct seen s = { 0 };

	/* Entries that are not functions, or lack their ids, are skipped. */
	mkdirs("%s/bus/pci/devices/%s", "not-a-bdf");
	add_fn("0000:00:0b.0", NULL, "0x10d3\n", "0x020000\n");

	cr_assert_eq(updk_pci_scan(collect, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_expect_str_eq(s.names[0], "0000:00:00.0");
	cr_expect_str_eq(s.names[1], "0000:00:04.0");
	cr_expect_str_eq(s.names[2], "0001:02:1f.7");
	cr_expect_eq(s.vendor[1], 0x1b36);
}

Test(pci_scan, callback_stops_scan)
{
	struct seen s = { .stop_after = 2 };

	cr_expect_eq(updk_pci_scan(collect, &s), 42);
	cr_expect_eq(s.n, 2);
}

Test(pci_scan, unreadable_root_is_an_error)
{
	struct seen s = { 0 };
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nowhere", root);
	setenv("UPDK_SYSFS_ROOT", path, 1);
	cr_expect_eq(updk_pci_scan(collect, &s), -ENOENT);
	cr_expect_eq(s.n, 0);
	cr_expect_eq(updk_pci_scan(NULL, NULL), -EINVAL);
}
