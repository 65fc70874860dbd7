/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * <linux/vfio.h> for the files of updk that issue VFIO ioctls. The kernel header defines a
 * struct vfio_iova_range of its own, and so does lib/vfio/vfio.h (the contract lib/mem uses):
 * the kernel's is renamed here so both can be seen in one file. Include this before vfio.h.
 */
#ifndef UPDK_VFIO_UAPI_H
#define UPDK_VFIO_UAPI_H

#define vfio_iova_range linux_vfio_iova_range
#include <linux/vfio.h>
#undef vfio_iova_range

#endif
