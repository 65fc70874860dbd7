/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where updk reads sysfs. The root is $UPDK_SYSFS_ROOT (default "/sys"), so tests can point
 * every lookup of lib/vfio and lib/pci at a fake tree built in a temporary folder. Internal to
 * updk; it sits in lib/util because both of those layers read sysfs.
 */
#ifndef UPDK_UTIL_SYSFS_H
#define UPDK_UTIL_SYSFS_H

#include <stddef.h>

/* $UPDK_SYSFS_ROOT, or "/sys" when unset or empty. */
const char *sysfs_root(void);

/*
 * The last path component of the symbolic link @path (a PCI function's "driver" or
 * "iommu_group") into @buf. Returns 0; -errno of readlink() (-ENOENT: no such link); -EINVAL
 * when the target ends in '/'; -ENAMETOOLONG when the name does not fit in @len bytes.
 */
int sysfs_link_name(const char *path, char *buf, size_t len);

#endif
