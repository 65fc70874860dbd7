// SPDX-License-Identifier: BSD-3-Clause
/*
 * What a refused group attach means and what to do: the messages for VFIO_GROUP_SET_CONTAINER
 * and VFIO_SET_IOMMU(Type1v2).
 *
 * Both end in vfio_iommu_type1 attaching the group to an IOMMU domain: VFIO_SET_IOMMU does it
 * for the container's first group, VFIO_GROUP_SET_CONTAINER for every later one (the container
 * has its IOMMU by then). Every error those paths return in Linux 6.1 and 6.12 has its message
 * here, from drivers/vfio/vfio_iommu_type1.c vfio_iommu_type1_attach_group(),
 * drivers/vfio/container.c vfio_ioctl_set_iommu() and vfio_container_attach_group(),
 * vfio_group_ioctl_set_container() (drivers/vfio/group.c; vfio_main.c in 6.1) and
 * drivers/iommu/iommu.c iommu_group_claim_dma_owner() and iommu_attach_group(). docs/vfio.md
 * lists them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMPONENT "vfio"
#include "lib/util/log.h"
#include "lib/util/sysfs.h"
#include "lib/vfio/vfio_priv.h"

#define UNSAFE_PARAM "/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"

/*
 * The IOMMU that translates for @bdf, from its sysfs "iommu" link: "Intel VT-d (dmar0)",
 * "AMD-Vi (ivhd0)", "virtio-iommu (0000:00:03.0)", the bare name for others.
 */
static void iommu_describe(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu", sysfs_root(), bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0) {
		snprintf(buf, len, "its IOMMU");
		return;
	}
	target[n] = '\0';
	name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (!strncmp(name, "dmar", 4))
		snprintf(buf, len, "Intel VT-d (%.64s)", name);
	else if (!strncmp(name, "ivhd", 4))
		snprintf(buf, len, "AMD-Vi (%.64s)", name);
	else if (strstr(target, "/virtio"))
		/* virtio-iommu registers under its virtio device: .../0000:00:03.0/virtio0/iommu/X */
		snprintf(buf, len, "virtio-iommu (%.64s)", name);
	else
		snprintf(buf, len, "the IOMMU %.64s", name);
}

/* vfio_iommu_type1's allow_unsafe_interrupts: 1 (Y), 0 (N), -1 when it cannot be read. */
static int unsafe_interrupts_allowed(void)
{
	char path[PATH_MAX], v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s" UNSAFE_PARAM, sysfs_root());
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fread(&v, 1, 1, f) != 1)
		v = 0;
	fclose(f);
	return v == 'Y' || v == '1' ? 1 : v == 'N' || v == '0' ? 0 : -1;
}

/*
 * EPERM where the attach checked interrupt isolation (iommu_group_has_isolated_msi() in 6.12,
 * irq_domain_check_msi_remap() || IOMMU_CAP_INTR_REMAP in 6.1): the cause, the risk the
 * parameter accepts, and the two ways out.
 */
static void log_no_intremap(const char *what, int group, const char *iommu)
{
	log_err("%s (IOMMU group %d) refused with EPERM: %s does not remap interrupts, so nothing "
		"would stop the device from writing to the MSI window and raising interrupts it "
		"was not given, and vfio_iommu_type1 accepts no device on such an IOMMU unless its "
		"parameter allow_unsafe_interrupts is set",
		what, group, iommu);
	log_err("setting it is the administrator's decision and accepts that risk: the device "
		"(and whoever programs it) can then inject interrupts into the host, into other "
		"devices' vectors and into other guests. Do it only where the device and the "
		"software driving it are trusted (e.g. a virtual machine that is itself the "
		"isolation boundary)");
	log_err("to accept it: echo 1 > /sys/module/vfio_iommu_type1/parameters/"
		"allow_unsafe_interrupts (until reboot), or 'options vfio_iommu_type1 "
		"allow_unsafe_interrupts=1' in /etc/modprobe.d/vfio.conf, or "
		"vfio_iommu_type1.allow_unsafe_interrupts=1 on the kernel command line. To avoid "
		"it: an IOMMU with interrupt remapping (VT-d or AMD-Vi with it on in the firmware; "
		"in QEMU, intel-iommu or amd-iommu with intremap=on rather than virtio-iommu)");
}

/*
 * Errors of the type1 attach itself, common to both ioctls (ENODEV differs between them and is
 * told apart by the caller); false when @err is not one.
 */
static bool log_type1_attach(const char *what, int group, int err, const char *iommu, int unsafe)
{
	switch (err) {
	case EPERM:
		if (unsafe == 1)
			return false; /* the interrupt check passes with the parameter set */
		log_no_intremap(what, group, iommu);
		return true;
	case EINVAL:
		log_err("%s (IOMMU group %d) refused with EINVAL: the IOVA space of %s for this "
			"group does not fit what the container holds: a DMA mapping made already "
			"lies outside its aperture or in one of its reserved regions "
			"(/sys/kernel/iommu_groups/%d/reserved_regions), or its aperture less "
			"those regions leaves no usable IOVA. Open every device before allocating "
			"DMA memory, or use this device from another process",
			what, group, iommu, group);
		return true;
	case EBUSY:
		log_err("%s (IOMMU group %d) refused with EBUSY: the group is attached to another "
			"IOMMU domain: another user holds it (a second VFIO or iommufd user, a "
			"kernel driver bound meanwhile; scripts/setup.sh status), or a live update "
			"of the container's mappings (VFIO_DMA_MAP_FLAG_VADDR) is under way",
			what, group);
		return true;
	case ENOMEM:
		log_err("%s (IOMMU group %d) refused with ENOMEM: the kernel could not allocate "
			"the IOMMU domain or its records, or pinning the container's mappings for "
			"the new domain went past the locked-memory limit (ulimit -l)",
			what, group);
		return true;
	case EIO:
		log_err("%s (IOMMU group %d) refused with EIO: the kernel could not allocate an "
			"IOMMU domain on %s (Linux 6.1); dmesg may say why",
			what, group, iommu);
		return true;
	case EFAULT:
		log_err("%s (IOMMU group %d) refused with EFAULT: the kernel could not pin the "
			"memory of a mapping the container holds while replaying it into the new "
			"domain (memory unmapped while mapped for DMA?)",
			what, group);
		return true;
	default:
		return false;
	}
}

void vfio_log_attach_error(enum vfio_attach_step step, bool iommu_set, int group, const char *bdf,
			   int err)
{
	char what[128], iommu[128];
	int unsafe = unsafe_interrupts_allowed();

	iommu_describe(bdf, iommu, sizeof(iommu));
	if (step == VFIO_ATTACH_SET_IOMMU) {
		snprintf(what, sizeof(what), "VFIO_SET_IOMMU(Type1v2) for %s", bdf);
		if (err == ENODEV) {
			log_err("%s refused with ENODEV: no IOMMU backend offers Type1v2 any more "
				"(vfio_iommu_type1 unloaded? run modprobe vfio_iommu_type1), or %s "
				"gives the device no IOMMU domain; dmesg may say which",
				what, iommu);
			return;
		}
		if (log_type1_attach(what, group, err, iommu, unsafe))
			return;
	} else {
		snprintf(what, sizeof(what),
			 "joining %s's group to the container "
			 "(VFIO_GROUP_SET_CONTAINER)",
			 bdf);
		switch (err) {
		case EPERM:
			/*
			 * Without an IOMMU set yet only the ownership claim can refuse; with one,
			 * the interrupt check can too, unless the parameter is set.
			 */
			log_err("%s refused with EPERM: the group's DMA is owned already: a kernel "
				"driver is bound to one of its devices, or another VFIO or iommufd "
				"user has it (scripts/setup.sh status, fuser /dev/vfio/%d)%s",
				what, group,
				iommu_set && unsafe != 1 ? "; or else, as follows, its IOMMU" : "");
			if (iommu_set && unsafe != 1)
				log_no_intremap(what, group, iommu);
			return;
		case EBADF:
		case EBADFD:
			log_err("%s refused with %s: the container's file descriptor is not a "
				"VFIO container (a bug in updk: please report it)",
				what, strerrorname_np(err));
			return;
		case ENODEV:
			log_err("%s refused with ENODEV: the group has lost its IOMMU group (device "
				"removed?): check lspci and dmesg",
				what);
			return;
		case EINVAL:
			if (iommu_set)
				break;
			log_err("%s refused with EINVAL: the group is in a container already (a bug "
				"in updk, or another user of the same group file)",
				what);
			return;
		}
		/* The ownership claim can fail as an attach does (a blocking domain). */
		if ((iommu_set || err == EBUSY || err == ENOMEM) &&
		    log_type1_attach(what, group, err, iommu, unsafe))
			return;
	}
	log_err("%s (IOMMU group %d) refused: %s (%s), from the driver of %s attaching the "
		"group: dmesg may say why",
		what, group, strerror(err), strerrorname_np(err) ? strerrorname_np(err) : "?",
		iommu);
}
