/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device backend seam of lib/pci ("vfio" and "sim" behind one device object,
 * docs/architecture.md).
 * updk_pci_open() picks the backend from the address string and lets it fill in the device;
 * everything else in lib/pci goes through these ops.
 */
#ifndef UPDK_PCI_BACKEND_H
#define UPDK_PCI_BACKEND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/pci.h>

#define PCI_NUM_BARS 6

struct updk_pci_dev;

struct pci_backend_ops {
	const char *name; /* "vfio", "sim" */
	int (*cfg_read)(struct updk_pci_dev *dev, void *buf, size_t len, uint32_t off);
	int (*cfg_write)(struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off);
	/*
	 * Map [off, off + len) of a BAR (page aligned, len > 0); return its address or NULL with
	 * errno. The caller records the mapping and hands it to unmap_bar at close.
	 */
	void *(*map_bar)(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len);
	void (*unmap_bar)(struct updk_pci_dev *dev, int bar, void *va, size_t len);
	/* Size of a BAR in bytes, 0 if absent or not memory. */
	uint64_t (*bar_size)(struct updk_pci_dev *dev, int bar);
	/*
	 * Control-path register access. NULL means plain MMIO on the whole-BAR mapping (vfio);
	 * a model sets them to see every access.
	 */
	uint32_t (*reg_read32)(struct updk_pci_dev *dev, int bar, uint32_t off);
	void (*reg_write32)(struct updk_pci_dev *dev, int bar, uint32_t off, uint32_t val);
	uint64_t (*reg_read64)(struct updk_pci_dev *dev, int bar, uint32_t off);
	void (*reg_write64)(struct updk_pci_dev *dev, int bar, uint32_t off, uint64_t val);
	int (*reset)(struct updk_pci_dev *dev);
	/*
	 * Interrupts (lib/pci/irq.c holds the eventfds and the policy). irq_info: what the
	 * function offers of @type. irq_set: bind @n vectors of @type to @fds, which enables
	 * @type; @n 0 disables it. irq_mask: mask or unmask one vector, -ENOTSUP where @type
	 * cannot be masked. NULL irq_info: the backend has no interrupts.
	 */
	int (*irq_info)(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
			struct updk_pci_irq_info *out);
	int (*irq_set)(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned n,
		       const int *fds);
	int (*irq_mask)(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned vector,
			bool mask);
	/* Release the backend's state; BAR mappings are already gone. */
	void (*close)(struct updk_pci_dev *dev);
};

/* A BAR range mapped through map_bar, kept for unmapping at close. */
struct pci_bar_map {
	struct pci_bar_map *next;
	int bar;
	void *va;
	size_t len;
};

struct updk_pci_dev {
	char name[64]; /* as updk_pci_name() returns it */
	const struct pci_backend_ops *ops;
	void *priv; /* the backend's state */
	uint16_t vendor_id;
	uint16_t device_id;
	int numa_node;
	void *bar[PCI_NUM_BARS]; /* whole-BAR mappings, made on first updk_pci_bar() */
	size_t bar_len[PCI_NUM_BARS];
	struct pci_bar_map *maps; /* every mapping made, whole or partial */
	pthread_mutex_t map_lock; /* guards bar[], bar_len[] and maps (set up by lib/pci) */
	/* Enabled interrupts (lib/pci/irq.c); changed on the control path under irq_lock. */
	pthread_mutex_t irq_lock;
	enum updk_pci_irq_type irq_type;
	unsigned irq_count;
	int *irq_fds; /* [irq_count] eventfds */
	bool irq_automasked;
};

/* Disable interrupts and close their eventfds (updk_pci_close() and failed opens). */
void pci_irq_release(struct updk_pci_dev *dev);

/* Backends: each fills in ops, priv, vendor/device ids and numa_node, or returns -errno. */
int pci_vfio_open(const struct updk_pci_addr *addr, struct updk_pci_dev *dev);
/* @spec is the part after "sim:", e.g. "nvme?ns=2,size=1G". Implemented in sim/. */
int pci_sim_open(const char *spec, struct updk_pci_dev *dev);

#endif
