/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Paths of a PCI function's sysfs folder, under lib/util/sysfs.h's root ($UPDK_SYSFS_ROOT, so
 * tests can point every lookup at a fake tree). Internal to updk.
 */
#ifndef UPDK_PCI_SYSFS_H
#define UPDK_PCI_SYSFS_H

#include <stddef.h>

#include <updk/pci.h>

#include "lib/util/sysfs.h"

/*
 * "<root>/bus/pci/devices/<dddd:bb:dd.f>/<file>" (@file NULL or "": the function's folder) into
 * @buf. Returns 0, or -ENAMETOOLONG if it does not fit.
 */
int pci_sysfs_path(char *buf, size_t len, const struct updk_pci_addr *addr, const char *file);

#endif
