// SPDX-License-Identifier: BSD-3-Clause
/*
 * What sysfs says about a function before VFIO is asked (Documentation/ABI/testing/sysfs-bus-pci,
 * sysfs-kernel-iommu_groups), and the messages for the mistakes users make: IOMMU off, device
 * bound to its kernel driver, group shared with a device a kernel driver still owns.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMPONENT "vfio"
#include "lib/util/log.h"
#include "lib/util/sysfs.h"
#include "lib/vfio/vfio_priv.h"

#define MAX_GROUP_MEMBERS 64

const char *vfio_dev_dir(void)
{
	const char *d = getenv("UPDK_VFIO_DEV_DIR");

	return d && *d ? d : "/dev/vfio";
}

bool vfio_bdf_valid(const char *bdf)
{
	static const char pattern[] = "xxxx:xx:xx.x";

	if (!bdf || strlen(bdf) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; pattern[i]; i++) {
		if (pattern[i] == 'x') {
			if (!isxdigit((unsigned char)bdf[i]) || isupper((unsigned char)bdf[i]))
				return false;
		} else if (bdf[i] != pattern[i]) {
			return false;
		}
	}
	return true;
}

int vfio_sysfs_driver(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", sysfs_root(), bdf);
	rc = sysfs_link_name(path, buf, len);
	if (rc == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return rc;
}

int vfio_sysfs_check(const char *bdf, int *group)
{
	const char *root = sysfs_root();
	char path[PATH_MAX], name[64], drv[64];
	char *end;
	long id;
	int rc;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, bdf);
	if (access(path, F_OK) != 0) {
		log_err("%s: no such PCI function in %s/bus/pci/devices (see lspci, or "
			"scripts/setup.sh status)",
			bdf, root);
		return -ENODEV;
	}

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/iommu_group", root, bdf);
	rc = sysfs_link_name(path, name, sizeof(name));
	if (rc == -ENOENT) {
		log_err("%s has no IOMMU group: the IOMMU is off. Enable VT-d / AMD-Vi in the "
			"firmware and boot Linux with intel_iommu=on (Intel) or amd_iommu=on (AMD)",
			bdf);
		return -ENXIO;
	}
	if (rc < 0) {
		log_err("%s: cannot read %s: %s", bdf, path, strerror(-rc));
		return rc;
	}
	errno = 0;
	id = strtol(name, &end, 10);
	if (errno || end == name || *end || id < 0 || id > INT_MAX) {
		log_err("%s: IOMMU group link %s names '%s', not a group number", bdf, path, name);
		return -EINVAL;
	}

	rc = vfio_sysfs_driver(bdf, drv, sizeof(drv));
	if (rc < 0) {
		log_err("%s: cannot read its driver link in sysfs: %s", bdf, strerror(-rc));
		return rc;
	}
	if (!drv[0]) {
		log_err("%s is bound to no driver, not vfio-pci: run scripts/setup.sh bind %s", bdf,
			bdf);
		return -EBUSY;
	}
	if (strcmp(drv, "vfio-pci") != 0) {
		log_err("%s is bound to %s, not vfio-pci: run scripts/setup.sh bind %s", bdf, drv,
			bdf);
		return -EBUSY;
	}
	*group = (int)id;
	return 0;
}

/* Drivers that leave a group usable by VFIO (they do not claim the device for DMA). */
static bool driver_allows_vfio(const char *drv)
{
	return !drv[0] || !strcmp(drv, "vfio-pci") || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vfio_log_not_viable(int group, const char *bdf)
{
	char path[PATH_MAX], members[2048] = "", blockers[1024] = "";
	char *names[MAX_GROUP_MEMBERS];
	size_t mlen = 0, blen = 0;
	unsigned n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices", sysfs_root(), group);
	d = opendir(path);
	if (!d) {
		log_err("IOMMU group %d of %s is not viable (a kernel driver owns one of its "
			"devices), and %s cannot be read to say which: %s",
			group, bdf, path, strerror(errno));
		return;
	}
	while ((de = readdir(d)) && n < MAX_GROUP_MEMBERS) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);

	for (unsigned i = 0; i < n; i++) {
		char drv[64];
		int w;

		if (vfio_sysfs_driver(names[i], drv, sizeof(drv)) < 0)
			snprintf(drv, sizeof(drv), "driver unknown");
		w = snprintf(members + mlen, sizeof(members) - mlen, "%s%s (%s)", i ? ", " : "",
			     names[i], drv[0] ? drv : "no driver");
		if (w > 0 && (size_t)w < sizeof(members) - mlen)
			mlen += (size_t)w;
		if (!driver_allows_vfio(drv)) {
			w = snprintf(blockers + blen, sizeof(blockers) - blen, " %s", names[i]);
			if (w > 0 && (size_t)w < sizeof(blockers) - blen)
				blen += (size_t)w;
		}
		free(names[i]);
	}

	if (blen)
		log_err("IOMMU group %d of %s is not viable: a group is used whole, and a kernel "
			"driver still owns part of it. Members: %s. Bind them to vfio-pci "
			"(scripts/setup.sh bind%s) or unbind them from their drivers",
			group, bdf, members, blockers);
	else
		log_err("IOMMU group %d of %s is not viable: a kernel driver owns one of its "
			"devices. Members: %s. Every member must be bound to vfio-pci or to no "
			"driver",
			group, bdf, members);
}
