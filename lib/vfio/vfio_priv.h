/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared between the files of lib/vfio only. */
#ifndef UPDK_VFIO_VFIO_PRIV_H
#define UPDK_VFIO_VFIO_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guards the container, the group list and the device list. Control path only. */
extern pthread_mutex_t vfio_lock;

/* An IOMMU group the process has open, shared by its devices. */
struct vfio_group {
	struct vfio_group *next;
	int id;
	int fd;
	unsigned refs;
};

/*
 * With vfio_lock held: a reference on group @id (for device @bdf, named in messages), opening
 * the container and the group and joining them when it is the first. *@activated true when the
 * container became active. 0 or -errno, logged.
 */
int vfio_group_get(int id, const char *bdf, struct vfio_group **out, bool *activated);

/* With vfio_lock held: drop a reference. True when this closed the container. */
bool vfio_group_put(struct vfio_group *g);

/* The VFIO device folder ($UPDK_VFIO_DEV_DIR or "/dev/vfio"); sysfs is lib/util/sysfs.h's. */
const char *vfio_dev_dir(void);

/* True if @bdf is exactly "dddd:bb:dd.f" in lower-case hex (safe to put in a path). */
bool vfio_bdf_valid(const char *bdf);

/*
 * Check what sysfs says of @bdf before touching /dev/vfio: the function exists (-ENODEV), has
 * an IOMMU group (-ENXIO: the IOMMU is off), and is bound to vfio-pci (-EBUSY: bound elsewhere
 * or to nothing). Each failure is logged with its remedy. On success *@group is the group id.
 */
int vfio_sysfs_check(const char *bdf, int *group);

/* The kernel driver bound to @bdf into @buf ("" for none). 0 or -errno. */
int vfio_sysfs_driver(const char *bdf, char *buf, size_t len);

/* Log why group @group (of device @bdf) is not viable: every member and its driver. */
void vfio_log_not_viable(int group, const char *bdf);

/* The two ioctls that attach a group to the container's IOMMU (lib/vfio/attach_err.c). */
enum vfio_attach_step {
	VFIO_ATTACH_SET_CONTAINER, /* VFIO_GROUP_SET_CONTAINER; attaches when @iommu_set */
	VFIO_ATTACH_SET_IOMMU, /* VFIO_SET_IOMMU(Type1v2), with the container's first group */
};

/*
 * Log why @step failed with @err (positive) for group @group of device @bdf, and what to do;
 * @iommu_set: the container had its IOMMU already.
 */
void vfio_log_attach_error(enum vfio_attach_step step, bool iommu_set, int group, const char *bdf,
			   int err);

/*
 * In the capability chain of an info buffer of @size bytes (@hdr_size of them the fixed
 * struct; first capability at offset @first, 0 for none), the capability @id if it is there
 * with at least @min bytes inside the buffer; else NULL. Offsets out of bounds or misaligned,
 * and chains longer than 64, end the walk.
 */
const void *vfio_info_cap(const void *buf, size_t size, size_t hdr_size, uint32_t first,
			  uint16_t id, size_t min);

struct vfio_region_desc;

/* vfio_region_mmap() on any fd: the device's, or a file standing in for it in tests. */
void *vfio_region_mmap_fd(int fd, const struct vfio_region_desc *r, uint64_t off, size_t len,
			  int prot);

#endif
