// SPDX-License-Identifier: BSD-3-Clause
/*
 * VFIO devices: the fd from VFIO_GROUP_GET_DEVICE_FD, its regions (BARs, config space) with
 * their capabilities and its reset (include/uapi/linux/vfio.h). Interrupts are irq.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/vfio/uapi.h"

#define LOG_COMPONENT "vfio"
#include "lib/util/log.h"
#include "lib/vfio/vfio.h"
#include "lib/vfio/vfio_priv.h"

struct vfio_dev {
	struct vfio_dev *next;
	struct vfio_group *group;
	int fd;
	char name[16];
	struct vfio_dev_desc desc;
};

static struct vfio_dev *devices; /* under vfio_lock */

int vfio_dev_open(const char *bdf, struct vfio_dev **out, bool *activated)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_dev *d;
	int group, rc;

	*activated = false;
	if (!vfio_bdf_valid(bdf)) {
		log_err("'%s' is not a PCI address of the form 0000:00:04.0", bdf ? bdf : "(null)");
		return -EINVAL;
	}
	pthread_mutex_lock(&vfio_lock);
	for (d = devices; d; d = d->next) {
		if (!strcmp(d->name, bdf)) {
			log_err("%s is open already in this process: close it first", bdf);
			rc = -EBUSY;
			goto out;
		}
	}
	rc = vfio_sysfs_check(bdf, &group);
	if (rc)
		goto out;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(d->name, sizeof(d->name), "%s", bdf);
	rc = vfio_group_get(group, bdf, &d->group, activated);
	if (rc)
		goto err_free;
	d->fd = ioctl(d->group->fd, VFIO_GROUP_GET_DEVICE_FD, d->name);
	if (d->fd < 0) {
		rc = -errno;
		if (rc == -EBUSY)
			log_err("%s is in use (opened by another VFIO user, e.g. a VM): stop that "
				"first",
				bdf);
		else
			log_err("%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf, strerror(-rc));
		goto err_group;
	}
	if (ioctl(d->fd, VFIO_DEVICE_GET_INFO, &info) != 0) {
		rc = -errno;
		log_err("%s: VFIO_DEVICE_GET_INFO: %s", bdf, strerror(-rc));
		goto err_fd;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		log_err("%s: VFIO reports no PCI device with config space (flags 0x%x, %u regions)",
			bdf, info.flags, info.num_regions);
		rc = -ENODEV;
		goto err_fd;
	}
	d->desc.flags = info.flags;
	d->desc.num_regions = info.num_regions;
	d->desc.num_irqs = info.num_irqs;
	d->next = devices;
	devices = d;
	*out = d;
	log_debug("%s: device fd %d, group %d, %u regions, %u irq indexes", bdf, d->fd,
		  d->group->id, info.num_regions, info.num_irqs);
	rc = 0;
	goto out;

err_fd:
	close(d->fd);
err_group:
	/* A failed open leaves the container as it found it. */
	if (vfio_group_put(d->group))
		*activated = false;
err_free:
	free(d);
out:
	pthread_mutex_unlock(&vfio_lock);
	return rc;
}

bool vfio_dev_close(struct vfio_dev *dev)
{
	struct vfio_dev **pp;
	bool closed;

	if (!dev)
		return false;
	pthread_mutex_lock(&vfio_lock);
	for (pp = &devices; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			break;
		}
	}
	/* The device fd goes first: a group with open devices cannot leave its container. */
	close(dev->fd);
	closed = vfio_group_put(dev->group);
	pthread_mutex_unlock(&vfio_lock);
	free(dev);
	return closed;
}

int vfio_dev_fd(const struct vfio_dev *dev)
{
	return dev->fd;
}

const char *vfio_dev_name(const struct vfio_dev *dev)
{
	return dev->name;
}

int vfio_dev_group(const struct vfio_dev *dev)
{
	return dev->group->id;
}

void vfio_dev_desc(const struct vfio_dev *dev, struct vfio_dev_desc *out)
{
	*out = dev->desc;
}

/* The region capabilities updk uses: sparse mmap areas and MSI-X mappability. */
static void region_caps(const struct vfio_dev *dev, const struct vfio_region_info *info,
			size_t size, struct vfio_region_desc *out)
{
	struct vfio_region_info_cap_sparse_mmap sp;
	const unsigned char *p;

	p = vfio_info_cap(info, size, sizeof(*info), info->cap_offset,
			  VFIO_REGION_INFO_CAP_SPARSE_MMAP, sizeof(sp));
	if (p) {
		/* Copied out: capabilities are only 4-byte aligned (see caps.c). */
		size_t off = (size_t)(p - (const unsigned char *)info);
		size_t room =
			(size - off - sizeof(sp)) / sizeof(struct vfio_region_sparse_mmap_area);

		memcpy(&sp, p, sizeof(sp));
		out->sparse = true;
		for (uint32_t i = 0; i < sp.nr_areas && i < room; i++) {
			struct vfio_region_sparse_mmap_area area;

			memcpy(&area, p + sizeof(sp) + i * sizeof(area), sizeof(area));
			if (!area.size || area.offset > out->size ||
			    area.size > out->size - area.offset)
				continue; /* not inside the region: ignore */
			if (out->nr_areas == VFIO_MAX_SPARSE_AREAS) {
				log_warn("%s region %u: more than %d mmappable areas; using the "
					 "first ones",
					 dev->name, out->index, VFIO_MAX_SPARSE_AREAS);
				break;
			}
			out->areas[out->nr_areas].offset = area.offset;
			out->areas[out->nr_areas].size = area.size;
			out->nr_areas++;
		}
	}
	out->msix_mappable = vfio_info_cap(info, size, sizeof(*info), info->cap_offset,
					   VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
					   sizeof(struct vfio_info_cap_header)) != NULL;
}

int vfio_dev_region(struct vfio_dev *dev, unsigned index, struct vfio_region_desc *out)
{
	size_t sz = sizeof(struct vfio_region_info);
	struct vfio_region_info *info = NULL;
	int rc = -EIO;

	if (index >= dev->desc.num_regions)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* With capabilities the kernel raises argsz: ask again with room for them. */
	for (int tries = 0; tries < 4; tries++) {
		struct vfio_region_info *n = realloc(info, sz);

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		info = n;
		memset(info, 0, sz);
		info->argsz = (uint32_t)sz;
		info->index = index;
		if (ioctl(dev->fd, VFIO_DEVICE_GET_REGION_INFO, info) != 0) {
			rc = -errno;
			/* EINVAL: an index the device lacks (the VGA region of a non-VGA one). */
			if (rc == -EINVAL)
				log_debug("%s: no region %u", dev->name, index);
			else
				log_err("%s: VFIO_DEVICE_GET_REGION_INFO(%u): %s", dev->name, index,
					strerror(-rc));
			goto out;
		}
		if (info->argsz <= sz) {
			rc = 0;
			break;
		}
		if (info->argsz > 1u << 20)
			break;
		sz = info->argsz;
	}
	if (rc)
		goto out;
	out->index = index;
	out->flags = info->flags;
	out->size = info->size;
	out->offset = info->offset;
	out->readable = info->flags & VFIO_REGION_INFO_FLAG_READ;
	out->writable = info->flags & VFIO_REGION_INFO_FLAG_WRITE;
	out->mmappable = info->flags & VFIO_REGION_INFO_FLAG_MMAP;
	if (info->flags & VFIO_REGION_INFO_FLAG_CAPS)
		region_caps(dev, info, sz, out);
out:
	free(info);
	return rc;
}

void *vfio_region_mmap(struct vfio_dev *dev, const struct vfio_region_desc *r, uint64_t off,
		       size_t len, int prot)
{
	return vfio_region_mmap_fd(dev->fd, r, off, len, prot);
}

void *vfio_region_mmap_fd(int fd, const struct vfio_region_desc *r, uint64_t off, size_t len,
			  int prot)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), end = off + len;
	uint64_t limit = (r->size + pg - 1) & ~(pg - 1);
	bool mapped_any = false;
	char *base;

	if (!len || (off | len) & (pg - 1) || end < off || end > limit) {
		errno = EINVAL;
		return NULL;
	}
	if (!r->mmappable) {
		errno = ENOTSUP;
		return NULL;
	}
	if (!r->sparse) {
		base = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)(r->offset + off));
		return base == MAP_FAILED ? NULL : base;
	}
	/*
	 * Sparse: reserve the whole range inaccessible, then map each area's part over it. A
	 * stray access to a hole (an MSI-X table) faults instead of reaching the device.
	 */
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (unsigned i = 0; i < r->nr_areas; i++) {
		/* The area, page-rounded inwards, clipped to the range asked for. */
		uint64_t s = (r->areas[i].offset + pg - 1) & ~(pg - 1);
		uint64_t e = (r->areas[i].offset + r->areas[i].size) & ~(pg - 1);

		if (s < off)
			s = off;
		if (e > end)
			e = end;
		if (s >= e)
			continue;
		if (mmap(base + (s - off), e - s, prot, MAP_SHARED | MAP_FIXED, fd,
			 (off_t)(r->offset + s)) == MAP_FAILED) {
			int err = errno;

			munmap(base, len);
			errno = err;
			return NULL;
		}
		mapped_any = true;
	}
	if (!mapped_any) {
		munmap(base, len);
		errno = ENXIO;
		return NULL;
	}
	return base;
}

static int region_check(const struct vfio_region_desc *r, size_t len, uint64_t off)
{
	if (off > r->size || len > r->size - off)
		return -EINVAL;
	return 0;
}

int vfio_region_read(struct vfio_dev *dev, const struct vfio_region_desc *r, void *buf, size_t len,
		     uint64_t off)
{
	ssize_t n;

	if (!r->readable || region_check(r, len, off))
		return -EINVAL;
	n = pread(dev->fd, buf, len, (off_t)(r->offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_region_write(struct vfio_dev *dev, const struct vfio_region_desc *r, const void *buf,
		      size_t len, uint64_t off)
{
	ssize_t n;

	if (!r->writable || region_check(r, len, off))
		return -EINVAL;
	n = pwrite(dev->fd, buf, len, (off_t)(r->offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vfio_dev_reset(struct vfio_dev *dev)
{
	if (!(dev->desc.flags & VFIO_DEVICE_FLAGS_RESET)) {
		log_err("%s: VFIO offers no reset for this device (no FLR, PM or bus reset "
			"available)",
			dev->name);
		return -ENOTSUP;
	}
	if (ioctl(dev->fd, VFIO_DEVICE_RESET) != 0) {
		int rc = -errno;

		log_err("%s: VFIO_DEVICE_RESET: %s", dev->name, strerror(-rc));
		return rc;
	}
	return 0;
}
