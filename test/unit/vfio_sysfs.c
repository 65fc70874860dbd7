// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/vfio before any ioctl: the checks on sysfs and their messages, on a fake sysfs tree
 * ($UPDK_SYSFS_ROOT) and a fake /dev/vfio ($UPDK_VFIO_DEV_DIR); and the container calls that
 * must do nothing harmful while no container exists.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/sysfs.h"
#include "lib/vfio/vfio.h"
#include "lib/vfio/vfio_priv.h"

static char root[64];
static char devdir[128];
static char logpath[128];
static int saved_stderr = -1;

static void mkdirs(const char *fmt, const char *arg)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s/", root);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), fmt, arg);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

/* A function in the fake tree: its folder, and optionally its group and driver links. */
static void fake_dev(const char *bdf, int group, const char *driver)
{
	char path[512], target[512];

	mkdirs("bus/pci/devices/%s", bdf);
	if (group >= 0) {
		snprintf(target, sizeof(target), "%d", group);
		mkdirs("kernel/iommu_groups/%s/devices", target);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", root, bdf);
		snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d", group);
		cr_assert_eq(symlink(target, path), 0);
		snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices/%s", root, group,
			 bdf);
		snprintf(target, sizeof(target), "../../../../bus/pci/devices/%s", bdf);
		cr_assert_eq(symlink(target, path), 0);
	}
	if (driver) {
		mkdirs("bus/pci/drivers/%s", driver);
		snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", root, bdf);
		snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
		cr_assert_eq(symlink(target, path), 0);
	}
}

/* Logging goes to stderr: send fd 2 to a file for the test, and read it back. */
static void capture_start(void)
{
	int fd;

	snprintf(logpath, sizeof(logpath), "%s/log", root);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *captured(void)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	f = fopen(logpath, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/updk-vfio-sysfs.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(devdir, sizeof(devdir), "%s/dev-vfio", root);
	mkdir(devdir, 0755);
	setenv("UPDK_SYSFS_ROOT", root, 1);
	setenv("UPDK_VFIO_DEV_DIR", devdir, 1);
	unsetenv("UPDK_LOG");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(vfio_sysfs, .init = setup, .fini = teardown);

static int try_open(const char *bdf, const char **log)
{
	struct vfio_dev *dev = NULL;
	bool activated = true;
	int rc;

	capture_start();
	rc = vfio_dev_open(bdf, &dev, &activated);
	*log = captured();
	cr_assert_null(dev);
	cr_assert_not(activated);
	cr_assert_not(vfio_container_active());
	return rc;
}

Test(vfio_sysfs, no_iommu_group_says_iommu_is_off)
{
	const char *log;

	fake_dev("0000:00:04.0", -1, "vfio-pci");
	cr_assert_eq(try_open("0000:00:04.0", &log), -ENXIO);
	cr_assert(strstr(log, "0000:00:04.0 has no IOMMU group"), "%s", log);
	cr_assert(strstr(log, "intel_iommu=on"), "%s", log);
	cr_assert(strstr(log, "amd_iommu=on"), "%s", log);
}

Test(vfio_sysfs, bound_to_nvme_names_driver_and_setup_command)
{
	const char *log;

	fake_dev("0000:00:04.0", 3, "nvme");
	cr_assert_eq(try_open("0000:00:04.0", &log), -EBUSY);
	cr_assert(strstr(log, "0000:00:04.0 is bound to nvme, not vfio-pci: run "
			      "scripts/setup.sh bind 0000:00:04.0"),
		  "%s", log);
}

Test(vfio_sysfs, unbound_says_bind)
{
	const char *log;

	fake_dev("0000:00:05.0", 4, NULL);
	cr_assert_eq(try_open("0000:00:05.0", &log), -EBUSY);
	cr_assert(strstr(log, "bound to no driver"), "%s", log);
	cr_assert(strstr(log, "scripts/setup.sh bind 0000:00:05.0"), "%s", log);
}

Test(vfio_sysfs, missing_function)
{
	const char *log;

	cr_assert_eq(try_open("0000:00:1f.7", &log), -ENODEV);
	cr_assert(strstr(log, "0000:00:1f.7: no such PCI function"), "%s", log);
}

Test(vfio_sysfs, bad_address_refused_before_sysfs)
{
	const char *bad[] = {
		"00:04.0", "0000:00:04.0/../x", "0000:00:04.00", "0000:0G:04.0", "0000:00:04.A", "",
		NULL
	};
	const char *log;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(try_open(bad[i], &log), -EINVAL, "%s", bad[i] ? bad[i] : "NULL");
}

Test(vfio_sysfs, no_dev_vfio_says_modprobe)
{
	const char *log;

	fake_dev("0000:00:04.0", 3, "vfio-pci");
	cr_assert_eq(try_open("0000:00:04.0", &log), -ENODEV);
	cr_assert(strstr(log, "does not exist: the VFIO driver is not loaded. Run modprobe "
			      "vfio-pci"),
		  "%s", log);
}

Test(vfio_sysfs, not_viable_lists_every_member_and_driver)
{
	const char *log;

	fake_dev("0000:01:00.0", 7, NULL);
	fake_dev("0000:01:01.0", 7, "vfio-pci");
	fake_dev("0000:01:02.0", 7, "e1000");
	capture_start();
	vfio_log_not_viable(7, "0000:01:01.0");
	log = captured();
	cr_assert(strstr(log, "IOMMU group 7 of 0000:01:01.0 is not viable"), "%s", log);
	cr_assert(strstr(log, "Members: 0000:01:00.0 (no driver), 0000:01:01.0 (vfio-pci), "
			      "0000:01:02.0 (e1000)."),
		  "%s", log);
	cr_assert(strstr(log, "scripts/setup.sh bind 0000:01:02.0)"), "%s", log);
}

Test(vfio_sysfs, driver_link)
{
	char drv[64];

	fake_dev("0000:00:06.0", 2, "virtio-pci");
	cr_assert_eq(vfio_sysfs_driver("0000:00:06.0", drv, sizeof(drv)), 0);
	cr_assert_str_eq(drv, "virtio-pci");
	fake_dev("0000:00:07.0", 2, NULL);
	cr_assert_eq(vfio_sysfs_driver("0000:00:07.0", drv, sizeof(drv)), 0);
	cr_assert_str_eq(drv, "");
}

/* lib/pci and lib/vfio read "driver" and "iommu_group" through one helper, with one behaviour. */
Test(vfio_sysfs, link_name_edges)
{
	char path[512], name[8];

	fake_dev("0000:00:06.0", 2, "virtio-pci");
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:06.0/iommu_group", root);
	cr_assert_eq(sysfs_link_name(path, name, sizeof(name)), 0);
	cr_assert_str_eq(name, "2");
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:06.0/driver", root);
	cr_assert_eq(sysfs_link_name(path, name, sizeof(name)), -ENAMETOOLONG,
		     "\"virtio-pci\" does not fit in 8 bytes");
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:06.0/nothing", root);
	cr_assert_eq(sysfs_link_name(path, name, sizeof(name)), -ENOENT);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:06.0/slash", root);
	cr_assert_eq(symlink("../drivers/", path), 0);
	cr_assert_eq(sysfs_link_name(path, name, sizeof(name)), -EINVAL);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:06.0", root);
	cr_assert_eq(sysfs_link_name(path, name, sizeof(name)), -EINVAL, "a folder, not a link");
}

Test(vfio_sysfs, no_container_is_harmless)
{
	struct vfio_iova_range r[4];
	uint32_t avail;
	static char buf[4096];

	cr_assert_not(vfio_container_active());
	/* Deferred: lib/mem replays it once a group joins. */
	cr_assert_eq(vfio_dma_map(buf, 0x100000, sizeof(buf)), 0);
	cr_assert_eq(vfio_dma_unmap(0x100000, sizeof(buf)), 0);
	cr_assert_eq(vfio_iova_ranges(r, 4), -ENODEV);
	cr_assert_eq(vfio_dma_avail(&avail), -ENODEV);
	cr_assert_eq(vfio_dma_map(buf, UINT64_MAX - 10, sizeof(buf)), -EINVAL);
	cr_assert_eq(vfio_dma_map(buf, 0x100000, 0), -EINVAL);
}
