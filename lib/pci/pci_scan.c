// SPDX-License-Identifier: BSD-3-Clause
/*
 * PCI discovery through sysfs (Linux Documentation/ABI/testing/sysfs-bus-pci and
 * Documentation/PCI/sysfs-pci.rst): one folder per function under bus/pci/devices, named by
 * its address, with the ids as "0x%04x" text files, "class" as "0x%06x", "numa_node" as a
 * decimal, and "iommu_group" and "driver" as symbolic links whose last component is the group
 * number and the driver's name.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_COMPONENT "pci"
#include "lib/util/log.h"
#include "lib/pci/sysfs.h"

int pci_sysfs_path(char *buf, size_t len, const struct updk_pci_addr *addr, const char *file)
{
	char name[UPDK_PCI_ADDR_STRLEN];
	int n;

	updk_pci_addr_fmt(addr, name);
	if (file && *file)
		n = snprintf(buf, len, "%s/bus/pci/devices/%s/%s", sysfs_root(), name, file);
	else
		n = snprintf(buf, len, "%s/bus/pci/devices/%s", sysfs_root(), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Read a one-line sysfs attribute into @buf without its newline. Returns 0, -ENOENT when the
 * file does not exist, or another -errno.
 */
static int read_attr(const struct updk_pci_addr *addr, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;
	int err;

	err = pci_sysfs_path(path, sizeof(path), addr, file);
	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A "0x..." hexadecimal attribute no larger than @max. */
static int read_hex(const struct updk_pci_addr *addr, const char *file, uint32_t max, uint32_t *val)
{
	char buf[32], *end;
	unsigned long v;
	int err;

	err = read_attr(addr, file, buf, sizeof(buf));
	if (err)
		return err;
	if (strncmp(buf, "0x", 2) || buf[2] == '\0')
		return -EINVAL;
	errno = 0;
	v = strtoul(buf + 2, &end, 16);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*val = (uint32_t)v;
	return 0;
}

/* The last path component of the symbolic link @file of @addr's folder (see sysfs_link_name). */
static int read_link_name(const struct updk_pci_addr *addr, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	int err;

	err = pci_sysfs_path(path, sizeof(path), addr, file);
	if (err)
		return err;
	return sysfs_link_name(path, buf, len);
}

/* A decimal number that fills the whole string and lies in [min, max]. */
static int parse_int(const char *s, long min, long max, int *val)
{
	char *end;
	long v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*val = (int)v;
	return 0;
}

/* Required id attributes: a function without them is not a function we can describe. */
static int read_required(const struct updk_pci_addr *addr, const char *name, const char *file,
			 uint32_t max, uint32_t *val)
{
	int err = read_hex(addr, file, max, val);

	if (err == -ENOENT)
		log_err("%s: sysfs has no '%s' for this function (%s)", name, file, sysfs_root());
	else if (err)
		log_err("%s: cannot read '%s' from sysfs: %s", name, file,
			err == -EINVAL ? "not a 0x-prefixed hex value in range" : strerror(-err));
	return err;
}

int updk_pci_info_get(const struct updk_pci_addr *addr, struct updk_pci_info *info)
{
	char name[UPDK_PCI_ADDR_STRLEN], path[PATH_MAX], buf[64];
	uint32_t v;
	int err;

	if (!addr || !info)
		return -EINVAL;
	updk_pci_addr_fmt(addr, name);
	err = pci_sysfs_path(path, sizeof(path), addr, NULL);
	if (err)
		return err;
	if (access(path, F_OK)) {
		log_debug("%s: no such function in %s/bus/pci/devices", name, sysfs_root());
		return -ENODEV;
	}
	memset(info, 0, sizeof(*info));
	info->addr = *addr;

	if ((err = read_required(addr, name, "vendor", 0xffff, &v)))
		return err;
	info->vendor_id = (uint16_t)v;
	if ((err = read_required(addr, name, "device", 0xffff, &v)))
		return err;
	info->device_id = (uint16_t)v;
	if ((err = read_required(addr, name, "class", 0xffffff, &v)))
		return err;
	info->class_code = v;

	/* Subsystem ids are optional (a bridge has none): 0 when absent or unreadable. */
	if (!read_hex(addr, "subsystem_vendor", 0xffff, &v))
		info->subsystem_vendor_id = (uint16_t)v;
	if (!read_hex(addr, "subsystem_device", 0xffff, &v))
		info->subsystem_device_id = (uint16_t)v;

	/* numa_node is -1 on machines without NUMA information, and absent without CONFIG_NUMA. */
	info->numa_node = -1;
	if (!read_attr(addr, "numa_node", buf, sizeof(buf)) &&
	    parse_int(buf, -1, 1023, &info->numa_node)) {
		log_warn("%s: numa_node '%s' is not a node number; treating it as unknown", name,
			 buf);
		info->numa_node = -1;
	}

	/* No iommu_group link: the IOMMU is off or does not cover this function. */
	info->iommu_group = -1;
	if (!read_link_name(addr, "iommu_group", buf, sizeof(buf)) &&
	    parse_int(buf, 0, INT_MAX, &info->iommu_group)) {
		log_warn("%s: iommu_group link ends in '%s', not a group number", name, buf);
		info->iommu_group = -1;
	}

	err = read_link_name(addr, "driver", info->driver, sizeof(info->driver));
	if (err && err != -ENOENT)
		log_warn("%s: cannot read the driver link: %s", name, strerror(-err));
	if (err)
		info->driver[0] = '\0';
	return 0;
}

static int addr_cmp(const void *a, const void *b)
{
	const struct updk_pci_addr *x = a, *y = b;
	uint64_t kx = (uint64_t)x->domain << 16 | x->bus << 8 | x->dev << 3 | x->func;
	uint64_t ky = (uint64_t)y->domain << 16 | y->bus << 8 | y->dev << 3 | y->func;

	return kx < ky ? -1 : kx > ky;
}

/* Every function address under bus/pci/devices, sorted, in a malloc'd array. */
static int list_addrs(struct updk_pci_addr **out, size_t *count)
{
	struct updk_pci_addr *addrs = NULL, *grown;
	size_t n = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (snprintf(path, sizeof(path), "%s/bus/pci/devices", sysfs_root()) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d) {
		err = -errno;
		log_err("cannot list PCI functions in %s: %s", path, strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		struct updk_pci_addr a;

		if (de->d_name[0] == '.')
			continue;
		if (updk_pci_addr_parse(de->d_name, &a)) {
			log_debug("skipping '%s' in %s: not a PCI address", de->d_name, path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			grown = realloc(addrs, cap * sizeof(*addrs));
			if (!grown) {
				err = -ENOMEM;
				break;
			}
			addrs = grown;
		}
		addrs[n++] = a;
	}
	closedir(d);
	if (err) {
		free(addrs);
		return err;
	}
	if (n)
		qsort(addrs, n, sizeof(*addrs), addr_cmp);
	*out = addrs;
	*count = n;
	return 0;
}

int updk_pci_scan(int (*cb)(const struct updk_pci_info *info, void *arg), void *arg)
{
	struct updk_pci_addr *addrs = NULL;
	struct updk_pci_info info;
	size_t n = 0;
	int ret;

	if (!cb)
		return -EINVAL;
	ret = list_addrs(&addrs, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		/* A function that vanished or lacks its ids is skipped (logged), not fatal. */
		if (updk_pci_info_get(&addrs[i], &info))
			continue;
		ret = cb(&info, arg);
		if (ret)
			break;
	}
	free(addrs);
	return ret;
}
