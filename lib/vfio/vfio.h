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

/* Devices ------------------------------------------------------------------------------------ */

/*
 * An open VFIO device: its fd, and a reference on its IOMMU group, which holds the container.
 * Opened and closed on the control path; the functions below take a process-wide lock.
 */
struct vfio_dev;

/*
 * Open the PCI function @bdf ("0000:00:04.0", the normalised form) through VFIO: check in
 * sysfs that it has an IOMMU group and is bound to vfio-pci, open the container and the group
 * (once per process each), make sure the group is viable, join it to the container (setting the
 * IOMMU type when it is the first), and get the device fd. *@activated is set true when this
 * open made the container active (lib/pci then calls mem_vfio_attach()). On failure returns
 * -errno and has logged what is wrong and the command that fixes it:
 * -ENODEV  no such function in sysfs, or /dev/vfio/vfio missing (modprobe vfio-pci);
 * -ENXIO   no IOMMU group (IOMMU off: boot with intel_iommu=on / amd_iommu=on);
 * -EBUSY   bound to another driver, group not viable, open already, or in use elsewhere;
 * -EACCES  no permission on /dev/vfio/N.
 * The sysfs root is $UPDK_SYSFS_ROOT (default /sys), the VFIO device folder $UPDK_VFIO_DEV_DIR
 * (default /dev/vfio): tests point them at fake trees.
 */
int vfio_dev_open(const char *bdf, struct vfio_dev **out, bool *activated);

/*
 * Close the device fd and drop its group reference; the group is closed with its last device
 * and the container with its last group (all DMA mappings go with it). Returns true when the
 * container was closed by this call (lib/pci then calls mem_vfio_detach()). NULL is ignored.
 */
bool vfio_dev_close(struct vfio_dev *dev);

/* The device fd, for region reads and writes (pread/pwrite at a region's offset). */
int vfio_dev_fd(const struct vfio_dev *dev);

/* The function's address as given to vfio_dev_open(). */
const char *vfio_dev_name(const struct vfio_dev *dev);

/* The IOMMU group number of the device. */
int vfio_dev_group(const struct vfio_dev *dev);

/* What VFIO_DEVICE_GET_INFO said: VFIO_DEVICE_FLAGS_*, region and IRQ counts. */
struct vfio_dev_desc {
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
};
void vfio_dev_desc(const struct vfio_dev *dev, struct vfio_dev_desc *out);

/* vfio-pci's region indexes (VFIO_PCI_BAR0_REGION_INDEX .. VFIO_PCI_CONFIG_REGION_INDEX). */
#define VFIO_DEV_REGION_BAR(n) (n)
#define VFIO_DEV_REGION_CONFIG 7

#define VFIO_MAX_SPARSE_AREAS 16

/* One region of a device (VFIO_DEVICE_GET_REGION_INFO and its capabilities). */
struct vfio_region_desc {
	uint32_t index;
	uint32_t flags; /* VFIO_REGION_INFO_FLAG_* */
	uint64_t size; /* bytes; 0 when the region does not exist (absent BAR) */
	uint64_t offset; /* of the region within the device fd */
	bool readable, writable, mmappable;
	/*
	 * VFIO_REGION_INFO_CAP_SPARSE_MMAP: only these parts of the region may be mmapped (the
	 * rest, e.g. an MSI-X table, is reached through read/write). sparse false: all of it.
	 */
	bool sparse;
	unsigned nr_areas;
	struct {
		uint64_t offset; /* within the region */
		uint64_t size;
	} areas[VFIO_MAX_SPARSE_AREAS];
	bool msix_mappable; /* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
};

/* Describe region @index. 0, -EINVAL for an index the device lacks, or -errno. */
int vfio_dev_region(struct vfio_dev *dev, unsigned index, struct vfio_region_desc *out);

/*
 * mmap [@off, @off + @len) of region @r (both page aligned; @len may run to the end of the
 * page holding the region's last byte) with @prot. With sparse areas, the parts outside them
 * stay PROT_NONE inside the one returned mapping, so the caller sees one range and unmaps it
 * with munmap(addr, @len). NULL with errno: EINVAL (range), ENOTSUP (region not mmappable),
 * ENXIO (the range holds no mmappable area), or mmap's.
 */
void *vfio_region_mmap(struct vfio_dev *dev, const struct vfio_region_desc *r, uint64_t off,
		       size_t len, int prot);

/* Read or write @len bytes at @off of region @r through the device fd. 0 or -errno. */
int vfio_region_read(struct vfio_dev *dev, const struct vfio_region_desc *r, void *buf, size_t len,
		     uint64_t off);
int vfio_region_write(struct vfio_dev *dev, const struct vfio_region_desc *r, const void *buf,
		      size_t len, uint64_t off);

/* Interrupts (lib/vfio/irq.c) ----------------------------------------------------------------- */

/* vfio-pci's interrupt indexes (VFIO_PCI_INTX_IRQ_INDEX ..). */
#define VFIO_DEV_IRQ_INTX 0
#define VFIO_DEV_IRQ_MSI 1
#define VFIO_DEV_IRQ_MSIX 2

/* One interrupt index (VFIO_DEVICE_GET_IRQ_INFO): VFIO_IRQ_INFO_* flags and vector count. */
struct vfio_irq_desc {
	uint32_t index;
	uint32_t flags; /* EVENTFD, MASKABLE, AUTOMASKED (INTx), NORESIZE */
	uint32_t count; /* vectors; 0 when the function has none of this kind */
};

/* Describe interrupt index @index. 0, -EINVAL for an index the device lacks, or -errno. */
int vfio_dev_irq(struct vfio_dev *dev, unsigned index, struct vfio_irq_desc *out);

/*
 * Bind vectors [@start, @start + @count) of @index to the eventfds @fds (-1 unbinds a vector):
 * VFIO_DEVICE_SET_IRQS with DATA_EVENTFD | ACTION_TRIGGER. The first call on an index enables
 * it (the kernel allocates the vectors and programs the MSI-X table); with NORESIZE the kernel
 * cannot grow it later, so enable every vector at once. 0 or -errno, logged with the device.
 */
int vfio_dev_irq_set(struct vfio_dev *dev, unsigned index, unsigned start, unsigned count,
		     const int *fds);

/* Disable index @index and release its vectors (DATA_NONE | ACTION_TRIGGER, count 0). */
int vfio_dev_irq_disable(struct vfio_dev *dev, unsigned index);

/*
 * Mask (@mask true) or unmask vector @vector of @index: ACTION_MASK / ACTION_UNMASK. vfio-pci
 * offers it for INTx only (VFIO_IRQ_INFO_MASKABLE), where it also masks every INTx interrupt
 * it delivers (AUTOMASKED) until unmasked. -ENOTSUP (logged) where the index is not maskable.
 */
int vfio_dev_irq_mask(struct vfio_dev *dev, unsigned index, unsigned vector, bool mask);

/* VFIO_DEVICE_RESET (function-level or bus reset, as the kernel can). 0, -ENOTSUP, -errno. */
int vfio_dev_reset(struct vfio_dev *dev);

#endif
