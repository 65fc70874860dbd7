// SPDX-License-Identifier: BSD-3-Clause
/*
 * The process's one VFIO container and the IOMMU groups joined to it (Linux
 * Documentation/driver-api/vfio.rst, "VFIO Usage Example"; include/uapi/linux/vfio.h).
 *
 * The container is opened with the first group and closed with the last; the Type1v2 IOMMU is
 * set when the first group joins, and the IOVA ranges are read again after every join (a new
 * group can bring reserved regions of its own). DMA mappings belong to the container: closing a
 * device does not remove them, closing the container removes them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/vfio/uapi.h"

#define LOG_COMPONENT "vfio"
#include "lib/util/log.h"
#include "lib/vfio/vfio.h"
#include "lib/vfio/vfio_priv.h"

pthread_mutex_t vfio_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	int fd; /* /dev/vfio/vfio, -1 when closed */
	bool active; /* a group joined and the IOMMU type is set */
	struct vfio_group *groups;
	struct vfio_iova_range ranges[VFIO_MAX_IOVA_RANGES];
	unsigned nr_ranges;
	uint64_t pinned; /* bytes mapped through vfio_dma_map(), for memlock messages */
} ctr = { .fd = -1 };

/* Open /dev/vfio/vfio and check it speaks the API and the IOMMU model updk uses. */
static int container_open(void)
{
	char path[4096];
	int fd, v, rc;

	snprintf(path, sizeof(path), "%s/vfio", vfio_dev_dir());
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			log_err("%s does not exist: the VFIO driver is not loaded. Run modprobe "
				"vfio-pci",
				path);
		else if (rc == -EACCES)
			log_err("%s: permission denied: run as root or make it readable and "
				"writable for your user",
				path);
		else
			log_err("cannot open %s: %s", path, strerror(-rc));
		return rc == -ENOENT ? -ENODEV : rc;
	}
	v = ioctl(fd, VFIO_GET_API_VERSION);
	if (v != VFIO_API_VERSION) {
		log_err("%s speaks VFIO API version %d, updk needs %d", path, v, VFIO_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	/* Type1v2: unmaps are exact (no splitting of mappings), which lib/mem relies on. */
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		log_err("%s: the kernel offers no Type1v2 IOMMU (vfio_iommu_type1 not loaded? "
			"run modprobe vfio_iommu_type1)",
			path);
		close(fd);
		return -ENOTSUP;
	}
	ctr.fd = fd;
	return 0;
}

static void container_close(void)
{
	if (ctr.fd >= 0)
		close(ctr.fd);
	ctr.fd = -1;
	__atomic_store_n(&ctr.active, false, __ATOMIC_RELEASE);
	ctr.nr_ranges = 0;
	ctr.pinned = 0;
}

/*
 * VFIO_IOMMU_GET_INFO with its capability chain. The kernel raises argsz when the chain does
 * not fit; ask again with that size. Returns a malloc'd buffer and its size, or NULL.
 */
static struct vfio_iommu_type1_info *iommu_info(size_t *size, int *err)
{
	size_t sz = sizeof(struct vfio_iommu_type1_info);
	struct vfio_iommu_type1_info *info = NULL;

	for (int tries = 0; tries < 4; tries++) {
		struct vfio_iommu_type1_info *n = realloc(info, sz);

		if (!n) {
			*err = -ENOMEM;
			free(info);
			return NULL;
		}
		info = n;
		memset(info, 0, sz);
		info->argsz = (uint32_t)sz;
		if (ioctl(ctr.fd, VFIO_IOMMU_GET_INFO, info) != 0) {
			*err = -errno;
			log_err("VFIO_IOMMU_GET_INFO: %s", strerror(errno));
			free(info);
			return NULL;
		}
		if (info->argsz <= sz) {
			*size = sz;
			return info;
		}
		if (info->argsz > 1u << 20) {
			log_err("VFIO_IOMMU_GET_INFO asks for %u bytes: refusing", info->argsz);
			break;
		}
		sz = info->argsz;
	}
	free(info);
	*err = -EIO;
	return NULL;
}

static int cmp_range(const void *a, const void *b)
{
	const struct vfio_iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Read the usable IOVA ranges (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) into ctr.ranges. */
static int refresh_ranges(void)
{
	struct vfio_iommu_type1_info_cap_iova_range hdr;
	struct vfio_iommu_type1_info *info;
	const unsigned char *cap = NULL;
	size_t size;
	unsigned n = 0;
	int err = 0;

	info = iommu_info(&size, &err);
	if (!info)
		return err;
	if (info->flags & VFIO_IOMMU_INFO_CAPS)
		cap = vfio_info_cap(info, size, sizeof(*info), info->cap_offset,
				    VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(hdr));
	if (cap) {
		/*
		 * Copied out, not read in place: the kernel packs its capabilities at 4-byte
		 * boundaries (6.1 puts this one after the 12-byte DMA-available one), and the
		 * ranges hold 64-bit fields.
		 */
		size_t off = (size_t)(cap - (const unsigned char *)info);
		size_t room = (size - off - sizeof(hdr)) / sizeof(struct linux_vfio_iova_range);
		uint32_t nr;

		memcpy(&hdr, cap, sizeof(hdr));
		nr = hdr.nr_iovas;
		if (nr > room) {
			log_warn(
				"IOVA range capability claims %u ranges, only %zu fit: using those",
				nr, room);
			nr = (uint32_t)room;
		}
		if (nr > VFIO_MAX_IOVA_RANGES)
			log_warn("the kernel reports %u IOVA ranges; using the first %d", nr,
				 VFIO_MAX_IOVA_RANGES);
		for (uint32_t i = 0; i < nr && n < VFIO_MAX_IOVA_RANGES; i++) {
			struct linux_vfio_iova_range kr;

			memcpy(&kr, cap + sizeof(hdr) + i * sizeof(kr), sizeof(kr));
			if (kr.end < kr.start)
				continue;
			ctr.ranges[n].start = kr.start;
			ctr.ranges[n].end = kr.end;
			n++;
		}
		qsort(ctr.ranges, n, sizeof(ctr.ranges[0]), cmp_range);
	}
	ctr.nr_ranges = n;
	for (unsigned i = 0; i < n; i++)
		log_debug("usable IOVA range 0x%" PRIx64 "-0x%" PRIx64, ctr.ranges[i].start,
			  ctr.ranges[i].end);
	free(info);
	return 0;
}

static void log_open_group_error(const char *path, int group, const char *bdf, int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
		log_err("%s (IOMMU group %d of %s): permission denied. Run as root, or give your "
			"user the group: chown $USER %s (and raise ulimit -l for DMA memory)",
			path, group, bdf, path);
		break;
	case EBUSY:
		log_err("%s (IOMMU group %d of %s) is in use by another process: stop it first "
			"(fuser %s names it)",
			path, group, bdf, path);
		break;
	case ENOENT:
		log_err("%s (IOMMU group %d of %s) does not exist although the device is bound to "
			"vfio-pci: is /dev populated (udev, devtmpfs)?",
			path, group, bdf);
		break;
	default:
		log_err("cannot open %s (IOMMU group %d of %s): %s", path, group, bdf,
			strerror(err));
	}
}

int vfio_group_get(int id, const char *bdf, struct vfio_group **out, bool *activated)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_group *g;
	bool opened_container = false;
	char path[4096];
	int rc;

	*activated = false;
	for (g = ctr.groups; g; g = g->next) {
		if (g->id == id) {
			g->refs++;
			*out = g;
			return 0;
		}
	}

	if (ctr.fd < 0) {
		rc = container_open();
		if (rc)
			return rc;
		opened_container = true;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = -ENOMEM;
		goto err_container;
	}
	g->id = id;
	snprintf(path, sizeof(path), "%s/%d", vfio_dev_dir(), id);
	g->fd = open(path, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		rc = -errno;
		log_open_group_error(path, id, bdf, errno);
		goto err_free;
	}
	if (ioctl(g->fd, VFIO_GROUP_GET_STATUS, &status) != 0) {
		rc = -errno;
		log_err("%s: VFIO_GROUP_GET_STATUS: %s", path, strerror(errno));
		goto err_close;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		vfio_log_not_viable(id, bdf);
		rc = -EBUSY;
		goto err_close;
	}
	if (ioctl(g->fd, VFIO_GROUP_SET_CONTAINER, &ctr.fd) != 0) {
		rc = -errno;
		vfio_log_attach_error(VFIO_ATTACH_SET_CONTAINER, ctr.active, id, bdf, -rc);
		goto err_close;
	}
	if (!ctr.active) {
		if (ioctl(ctr.fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
			rc = -errno;
			vfio_log_attach_error(VFIO_ATTACH_SET_IOMMU, false, id, bdf, -rc);
			goto err_unset;
		}
	}
	rc = refresh_ranges();
	if (rc)
		goto err_unset;
	if (!ctr.active) {
		__atomic_store_n(&ctr.active, true, __ATOMIC_RELEASE);
		*activated = true;
	}
	g->refs = 1;
	g->next = ctr.groups;
	ctr.groups = g;
	*out = g;
	log_debug("group %d of %s joined the container", id, bdf);
	return 0;

err_unset:
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
err_close:
	close(g->fd);
err_free:
	free(g);
err_container:
	if (opened_container || !ctr.groups)
		container_close();
	return rc;
}

bool vfio_group_put(struct vfio_group *g)
{
	struct vfio_group **pp;

	if (--g->refs)
		return false;
	for (pp = &ctr.groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	/* The last group leaving releases the IOMMU and with it every mapping. */
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	log_debug("group %d left the container", g->id);
	free(g);
	if (ctr.groups)
		return false;
	container_close();
	return true;
}

bool vfio_container_active(void)
{
	return __atomic_load_n(&ctr.active, __ATOMIC_ACQUIRE);
}

static bool iova_in_ranges(uint64_t iova, size_t len)
{
	uint64_t last = iova + len - 1;

	if (!ctr.nr_ranges)
		return true; /* the kernel reported none: it will judge */
	for (unsigned i = 0; i < ctr.nr_ranges; i++)
		if (iova >= ctr.ranges[i].start && last <= ctr.ranges[i].end)
			return true;
	return false;
}

static void log_memlock(size_t len, uint64_t iova)
{
	struct rlimit rl;
	unsigned long long need = (ctr.pinned + len + 1023) / 1024;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		log_err("mapping %zu KiB for DMA at IOVA 0x%" PRIx64 ": the locked-memory limit "
			"(RLIMIT_MEMLOCK) is %llu KiB, and with this mapping %llu KiB would be "
			"pinned. Raise it: ulimit -l %llu (or unlimited; LimitMEMLOCK= for a "
			"service), or run with CAP_IPC_LOCK",
			len / 1024, iova, (unsigned long long)rl.rlim_cur / 1024, need, need);
	else
		log_err("mapping %zu KiB for DMA at IOVA 0x%" PRIx64 ": out of memory pinning "
			"it (%llu KiB would be pinned); check ulimit -l",
			len / 1024, iova, need);
}

int vfio_dma_map(void *va, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va,
		.iova = iova,
		.size = len,
	};
	int rc = 0;

	if (!len || iova + len - 1 < iova)
		return -EINVAL;
	pthread_mutex_lock(&vfio_lock);
	if (!ctr.active)
		goto out;
	if (!iova_in_ranges(iova, len)) {
		log_err("DMA map of IOVA 0x%" PRIx64 "+0x%zx refused: outside the IOVA ranges the "
			"IOMMU accepts",
			iova, len);
		rc = -EINVAL;
		goto out;
	}
	if (ioctl(ctr.fd, VFIO_IOMMU_MAP_DMA, &map) != 0) {
		rc = -errno;
		if (rc == -ENOMEM)
			log_memlock(len, iova);
		else if (rc == -ENOSPC)
			log_err("DMA map of IOVA 0x%" PRIx64 "+0x%zx: the container holds as many "
				"mappings as vfio_iommu_type1 allows (module parameter "
				"dma_entry_limit)",
				iova, len);
		else
			log_err("VFIO_IOMMU_MAP_DMA va %p IOVA 0x%" PRIx64 " len 0x%zx: %s", va,
				iova, len, strerror(-rc));
		goto out;
	}
	ctr.pinned += len;
out:
	pthread_mutex_unlock(&vfio_lock);
	return rc;
}

int vfio_dma_unmap(uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	int rc = 0;

	pthread_mutex_lock(&vfio_lock);
	if (!ctr.active)
		goto out;
	if (ioctl(ctr.fd, VFIO_IOMMU_UNMAP_DMA, &unmap) != 0) {
		rc = -errno;
		log_err("VFIO_IOMMU_UNMAP_DMA IOVA 0x%" PRIx64 " len 0x%zx: %s", iova, len,
			strerror(-rc));
		goto out;
	}
	/* The kernel says how much it unmapped: anything but all of it is a caller's bug. */
	if (unmap.size != len) {
		log_err("unmap of IOVA 0x%" PRIx64 " len 0x%zx removed 0x%llx bytes: not a range "
			"that was mapped as such",
			iova, len, (unsigned long long)unmap.size);
		rc = unmap.size ? -EINVAL : -ENOENT;
	}
	ctr.pinned -= unmap.size < ctr.pinned ? unmap.size : ctr.pinned;
out:
	pthread_mutex_unlock(&vfio_lock);
	return rc;
}

int vfio_iova_ranges(struct vfio_iova_range *out, unsigned max)
{
	int n;

	pthread_mutex_lock(&vfio_lock);
	if (!ctr.active) {
		n = -ENODEV;
	} else {
		n = (int)(ctr.nr_ranges < max ? ctr.nr_ranges : max);
		memcpy(out, ctr.ranges, (size_t)n * sizeof(*out));
	}
	pthread_mutex_unlock(&vfio_lock);
	return n;
}

int vfio_dma_avail(uint32_t *avail)
{
	struct vfio_iommu_type1_info_dma_avail cap;
	struct vfio_iommu_type1_info *info;
	const void *p = NULL;
	size_t size;
	int rc = 0;

	pthread_mutex_lock(&vfio_lock);
	if (!ctr.active) {
		rc = -ENODEV;
		goto out;
	}
	info = iommu_info(&size, &rc);
	if (!info)
		goto out;
	if (info->flags & VFIO_IOMMU_INFO_CAPS)
		p = vfio_info_cap(info, size, sizeof(*info), info->cap_offset,
				  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, sizeof(cap));
	if (p) {
		memcpy(&cap, p, sizeof(cap));
		*avail = cap.avail;
	} else {
		rc = -ENOTSUP; /* kernels before 5.10 do not report it */
	}
	free(info);
out:
	pthread_mutex_unlock(&vfio_lock);
	return rc;
}
