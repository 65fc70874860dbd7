/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/vfio: the process's one VFIO container, its groups and device fds (Linux
 * Documentation/driver-api/vfio.rst, include/uapi/linux/vfio.h). Internal to updk.
 *
 * One container serves every group the process opens; the IOMMU type is set when the first
 * group joins. DMA mappings are made by lib/mem through vfio_dma_map(); before any group has
 * joined there is no IOMMU to program, and lib/mem keeps the mapping to replay it
 * (mem_vfio_attach()) once one has.
 */
#ifndef UPDK_VFIO_VFIO_H
#define UPDK_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One usable IOVA range, inclusive, from VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE. */
struct vfio_iova_range {
	uint64_t start;
	uint64_t end;
};

#define VFIO_MAX_IOVA_RANGES 16

/* True once a group has joined the container and the IOMMU type is set. */
bool vfio_container_active(void);

/*
 * Map [va, va + len) at @iova for device DMA (read and write). Returns 0, or 0 without doing
 * anything when no container is active (the caller replays later), or -errno from the ioctl
 * (-ENOMEM for RLIMIT_MEMLOCK: logged with the amount and `ulimit -l`).
 */
int vfio_dma_map(void *va, uint64_t iova, size_t len);

/* Unmap exactly a range mapped by vfio_dma_map(). 0 (also when no container) or -errno. */
int vfio_dma_unmap(uint64_t iova, size_t len);

/*
 * The usable IOVA ranges the kernel reported (VFIO_IOMMU_GET_INFO capability chain), sorted,
 * at most @max. Returns the count, 0 if the kernel reported none, -ENODEV with no container.
 */
int vfio_iova_ranges(struct vfio_iova_range *out, unsigned max);

/* DMA mappings the container still accepts (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL), or -errno. */
int vfio_dma_avail(uint32_t *avail);

#endif
