// SPDX-License-Identifier: BSD-3-Clause
/*
 * lib/vfio/attach_err.c: the message for each error a group attach can return, on a fake
 * sysfs tree ($UPDK_SYSFS_ROOT) holding the device's "iommu" link and vfio_iommu_type1's
 * allow_unsafe_interrupts parameter. The VM ring (test/vm/iommu.c) checks the EPERM of a real
 * virtio-iommu.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/vfio/vfio_priv.h"
#include "test/common/log_capture.h"

#define BDF "0000:00:04.0"

static char root[64];

static void run(const char *cmd)
{
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void setup(void)
{
	char cmd[256];

	snprintf(root, sizeof(root), "/tmp/updk-vfio-attach.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/bus/pci/devices/" BDF, root);
	run(cmd);
	setenv("UPDK_SYSFS_ROOT", root, 1);
	unsetenv("UPDK_LOG");
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
}

/* The device's "iommu" link pointing at @target (as the kernel makes it), or none. */
static void iommu_link(const char *target)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/" BDF "/iommu", root);
	unlink(path);
	if (target)
		cr_assert_eq(symlink(target, path), 0);
}

/* vfio_iommu_type1's parameter as sysfs shows it ("Y"/"N"), or no module at all (NULL). */
static void unsafe_param(const char *v)
{
	char cmd[384];

	if (!v) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s/module", root);
		run(cmd);
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/module/vfio_iommu_type1/parameters && echo %s > "
		 "%s/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
		 root, v, root);
	run(cmd);
}

static char *logged(enum vfio_attach_step step, bool iommu_set, int err)
{
	struct log_capture lc;

	log_capture_start(&lc);
	vfio_log_attach_error(step, iommu_set, 8, BDF, err);
	return log_capture_stop(&lc);
}

#define HAS(log, piece) cr_assert(strstr(log, piece), "no \"%s\" in:\n%s", piece, log)
#define HASNT(log, piece) cr_assert_not(strstr(log, piece), "\"%s\" in:\n%s", piece, log)

TestSuite(vfio_attach_err, .init = setup, .fini = teardown);

/* What a user of virtio-iommu meets first: the cause, the parameter, the risk, the ways out. */
Test(vfio_attach_err, no_interrupt_remapping_named_with_parameter_and_risk)
{
	char *log;

	iommu_link("../0000:00:03.0/virtio0/iommu/0000:00:03.0");
	unsafe_param("N");
	log = logged(VFIO_ATTACH_SET_IOMMU, false, EPERM);
	HAS(log, "VFIO_SET_IOMMU(Type1v2) for " BDF " (IOMMU group 8) refused with EPERM");
	HAS(log, "virtio-iommu (0000:00:03.0) does not remap interrupts");
	HAS(log, "allow_unsafe_interrupts");
	HAS(log, "inject interrupts into the host");
	HAS(log, "echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");
	HAS(log, "options vfio_iommu_type1 allow_unsafe_interrupts=1");
	HAS(log, "vfio_iommu_type1.allow_unsafe_interrupts=1 on the kernel command line");
	HAS(log, "intremap=on");
	free(log);

	/* The module's parameter unreadable: the same cause is the likely one. */
	unsafe_param(NULL);
	log = logged(VFIO_ATTACH_SET_IOMMU, false, EPERM);
	HAS(log, "does not remap interrupts");
	free(log);
}

/* With the parameter set the interrupt check passes: EPERM is then something else. */
Test(vfio_attach_err, eperm_with_parameter_set_is_not_blamed_on_interrupts)
{
	char *log;

	iommu_link("../0000:00:03.0/virtio0/iommu/0000:00:03.0");
	unsafe_param("Y");
	log = logged(VFIO_ATTACH_SET_IOMMU, false, EPERM);
	HASNT(log, "remap interrupts");
	HAS(log, "Operation not permitted (EPERM)");
	HAS(log, "dmesg");
	free(log);
}

Test(vfio_attach_err, set_container_eperm_is_ownership_then_interrupts_once_attaching)
{
	char *log;

	iommu_link("../../virtual/iommu/dmar0");
	unsafe_param("N");
	/* No IOMMU set yet: only the DMA ownership claim refuses. */
	log = logged(VFIO_ATTACH_SET_CONTAINER, false, EPERM);
	HAS(log, "joining " BDF "'s group to the container (VFIO_GROUP_SET_CONTAINER) refused "
		 "with EPERM");
	HAS(log, "DMA is owned already");
	HAS(log, "fuser /dev/vfio/8");
	HASNT(log, "remap interrupts");
	free(log);
	/* Attaching to the container's IOMMU: the interrupt check too. */
	log = logged(VFIO_ATTACH_SET_CONTAINER, true, EPERM);
	HAS(log, "DMA is owned already");
	HAS(log, "Intel VT-d (dmar0) does not remap interrupts");
	free(log);
	unsafe_param("Y");
	log = logged(VFIO_ATTACH_SET_CONTAINER, true, EPERM);
	HAS(log, "DMA is owned already");
	HASNT(log, "remap interrupts");
	free(log);
}

Test(vfio_attach_err, every_other_error_named)
{
	static const struct {
		enum vfio_attach_step step;
		bool iommu_set;
		int err;
		const char *piece;
	} cases[] = {
		{ VFIO_ATTACH_SET_IOMMU, false, EINVAL,
		  "/sys/kernel/iommu_groups/8/reserved_regions" },
		{ VFIO_ATTACH_SET_CONTAINER, true, EINVAL, "Open every device before allocating" },
		{ VFIO_ATTACH_SET_CONTAINER, false, EINVAL, "is in a container already" },
		{ VFIO_ATTACH_SET_IOMMU, false, EBUSY, "attached to another IOMMU domain" },
		{ VFIO_ATTACH_SET_CONTAINER, false, EBUSY, "attached to another IOMMU domain" },
		{ VFIO_ATTACH_SET_IOMMU, false, ENOMEM, "ulimit -l" },
		{ VFIO_ATTACH_SET_CONTAINER, true, ENOMEM, "ulimit -l" },
		{ VFIO_ATTACH_SET_IOMMU, false, ENODEV, "modprobe vfio_iommu_type1" },
		{ VFIO_ATTACH_SET_CONTAINER, false, ENODEV, "lost its IOMMU group" },
		{ VFIO_ATTACH_SET_CONTAINER, true, ENODEV, "lost its IOMMU group" },
		{ VFIO_ATTACH_SET_IOMMU, false, EIO, "could not allocate an IOMMU domain" },
		{ VFIO_ATTACH_SET_CONTAINER, true, EFAULT, "could not pin" },
		{ VFIO_ATTACH_SET_CONTAINER, false, EBADF, "not a VFIO container" },
		{ VFIO_ATTACH_SET_CONTAINER, false, EBADFD, "not a VFIO container" },
		{ VFIO_ATTACH_SET_IOMMU, false, EOPNOTSUPP,
		  "(EOPNOTSUPP), from the driver of AMD-Vi (ivhd0)" },
	};

	iommu_link("../../virtual/iommu/ivhd0");
	unsafe_param("N");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *log = logged(cases[i].step, cases[i].iommu_set, cases[i].err);

		HAS(log, cases[i].piece);
		HAS(log, BDF);
		HASNT(log, "remap interrupts");
		free(log);
	}
}

Test(vfio_attach_err, iommu_named_from_sysfs)
{
	char *log;

	iommu_link(NULL);
	log = logged(VFIO_ATTACH_SET_IOMMU, false, EOPNOTSUPP);
	HAS(log, "from the driver of its IOMMU attaching");
	free(log);
	iommu_link("../../devices/platform/arm-smmu-v3.0/iommu/smmu3.0x0000000009050000");
	log = logged(VFIO_ATTACH_SET_IOMMU, false, EOPNOTSUPP);
	HAS(log, "from the driver of the IOMMU smmu3.0x0000000009050000");
	free(log);
}
