/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where lib/pci and lib/vfio read sysfs. The root is $UPDK_SYSFS_ROOT (default "/sys"), so tests
 * can point every lookup at a fake tree built in a temporary folder. Internal to updk.
 */
#ifndef UPDK_PCI_SYSFS_H
#define UPDK_PCI_SYSFS_H

#include <stddef.h>

#include <updk/pci.h>

/* $UPDK_SYSFS_ROOT, or "/sys" when unset or empty. */
const char *pci_sysfs_root(void);

/*
 * "<root>/bus/pci/devices/<dddd:bb:dd.f>/<file>" (@file NULL or "": the function's folder) into
 * @buf. Returns 0, or -ENAMETOOLONG if it does not fit.
 */
int pci_sysfs_path(char *buf, size_t len, const struct updk_pci_addr *addr, const char *file);

/*
 * The last path component of the symbolic link @path (a function's "driver" or "iommu_group")
 * into @buf. Returns 0; -errno of readlink() (-ENOENT: no such link); -EINVAL when the target
 * ends in '/'; -ENAMETOOLONG when the name does not fit in @len bytes.
 */
int pci_sysfs_link_name(const char *path, char *buf, size_t len);

#endif
