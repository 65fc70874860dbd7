/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk PCI devices: addresses, discovery, and an open device whose config space, BARs and
 * registers drivers use without knowing the backend behind it:
 * - "0000:00:04.0" or "00:04.0": a real function bound to vfio-pci, reached through VFIO;
 * - "sim:MODEL?key=val,...": an in-process device model (sim:nvme, sim:ixgbe, sim:dmacopy).
 */
#ifndef UPDK_PCI_H
#define UPDK_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A PCI function address, domain:bus:device.function. */
struct updk_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t func;
};

/** Room for "dddd:bb:dd.f" and its NUL. */
#define UPDK_PCI_ADDR_STRLEN 13

/**
 * Parse "DDDD:BB:DD.F" or "BB:DD.F" (hexadecimal, device < 0x20, function < 8), nothing more
 * and nothing less. Returns 0 or -EINVAL.
 */
int updk_pci_addr_parse(const char *str, struct updk_pci_addr *addr);

/** Format @addr as "dddd:bb:dd.f" into @buf (UPDK_PCI_ADDR_STRLEN bytes); returns @buf. */
char *updk_pci_addr_fmt(const struct updk_pci_addr *addr, char *buf);

/** What sysfs says of one function. */
struct updk_pci_info {
	struct updk_pci_addr addr;
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subsystem_vendor_id;
	uint16_t subsystem_device_id;
	uint32_t class_code; /**< base class, subclass, prog-if: 0x010802 is NVMe */
	int numa_node; /**< -1 when the platform has no NUMA information */
	int iommu_group; /**< -1 when the function has no IOMMU group (IOMMU off) */
	char driver[64]; /**< bound kernel driver, "" if none */
};

/**
 * Call @cb for every PCI function in sysfs, in address order, until it returns non-zero (that
 * value is returned). Returns 0, or a negative errno if sysfs cannot be read.
 */
int updk_pci_scan(int (*cb)(const struct updk_pci_info *info, void *arg), void *arg);

/** Fill @info for the function at @addr. Returns 0, -ENODEV if there is none. */
int updk_pci_info_get(const struct updk_pci_addr *addr, struct updk_pci_info *info);

/** An open PCI device (either backend). */
struct updk_pci_dev;

/**
 * Open the device at @addr (a PCI address or "sim:..."): for vfio, check the binding and
 * group, join the process's VFIO container and get the device fd; for sim, create the model.
 * On error returns a negative errno, and the log says what is wrong and how to fix it.
 */
int updk_pci_open(const char *addr, struct updk_pci_dev **dev);

/** Close a device: unmap its BARs, release its fd (and the group when it was the last). */
void updk_pci_close(struct updk_pci_dev *dev);

/** The address the device was opened with, normalised ("0000:00:04.0", "sim:nvme"). */
const char *updk_pci_name(const struct updk_pci_dev *dev);

/** Vendor and device id from config space. */
uint16_t updk_pci_vendor_id(const struct updk_pci_dev *dev);
uint16_t updk_pci_device_id(const struct updk_pci_dev *dev);

/** The device's NUMA node, or UPDK_NUMA_ANY (-1) when unknown. */
int updk_pci_numa_node(const struct updk_pci_dev *dev);

/** Read @len bytes of config space at @off. Returns 0 or a negative errno. */
int updk_pci_cfg_read(struct updk_pci_dev *dev, void *buf, size_t len, uint32_t off);
/** Write @len bytes of config space at @off. Returns 0 or a negative errno. */
int updk_pci_cfg_write(struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off);

/**
 * Offset of the first capability with @id (PCI Local Bus 3.0 §6.7) after @start (0: from the
 * list head). Returns the offset, or -ENOENT.
 */
int updk_pci_find_cap(struct updk_pci_dev *dev, uint8_t id, int start);

/** Offset of the extended capability with @id (PCIe Base §7.6) after @start (0: from 0x100). */
int updk_pci_find_ext_cap(struct updk_pci_dev *dev, uint16_t id, int start);

/** Set or clear Memory Space Enable and Bus Master Enable in the command register. */
int updk_pci_enable(struct updk_pci_dev *dev, bool enable);

/**
 * Map BAR @bar whole and return its address; its size in *@len if @len is not NULL. The mapping
 * lives until close. NULL with errno if the BAR is absent, not memory, or cannot be mmapped.
 */
void *updk_pci_bar(struct updk_pci_dev *dev, int bar, size_t *len);

/**
 * Map only [@off, @off + @len) of BAR @bar (page-rounded), e.g. the doorbell page. Returns the
 * address of @off itself, NULL with errno on failure. Unmapped at close.
 */
void *updk_pci_bar_range(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len);

/*
 * Control-path register access (bring-up, status, resets). A sim model sees each call and its
 * side effects happen before the call returns, as on hardware. The data path writes doorbells
 * directly through updk_mmio_write32() on a pointer from updk_pci_bar(); models poll those.
 */
uint32_t updk_pci_reg_read32(struct updk_pci_dev *dev, int bar, uint32_t off);
void updk_pci_reg_write32(struct updk_pci_dev *dev, int bar, uint32_t off, uint32_t val);
uint64_t updk_pci_reg_read64(struct updk_pci_dev *dev, int bar, uint32_t off);
void updk_pci_reg_write64(struct updk_pci_dev *dev, int bar, uint32_t off, uint64_t val);

/** Function-level reset through VFIO_DEVICE_RESET (sim: the model's reset). 0 or -errno. */
int updk_pci_reset(struct updk_pci_dev *dev);

/*
 * Interrupts, for sleeping when idle (docs/interrupts.md). Each vector is an eventfd: it becomes
 * readable when the device raises the vector (VFIO_DEVICE_SET_IRQS on a real function; the sim
 * backend's model writes the same eventfd), so a thread can put it in its epoll set.
 */

/** The interrupt kinds of a PCI function, as VFIO indexes them. */
enum updk_pci_irq_type {
	UPDK_PCI_IRQ_NONE = 0, /**< interrupts disabled */
	UPDK_PCI_IRQ_INTX, /**< legacy INTx: one level-triggered vector */
	UPDK_PCI_IRQ_MSI, /**< MSI: up to 32 vectors */
	UPDK_PCI_IRQ_MSIX, /**< MSI-X: up to 2048 vectors */
};

/** A bit for @type in the @types argument of updk_pci_irq_enable(). */
#define UPDK_PCI_IRQ_BIT(type) (1u << (type))
/** MSI-X, else MSI, else INTx. */
#define UPDK_PCI_IRQ_ANY                                                            \
	(UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_MSIX) | UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_MSI) | \
	 UPDK_PCI_IRQ_BIT(UPDK_PCI_IRQ_INTX))

/** "MSI-X", "MSI", "INTx", "none". */
const char *updk_pci_irq_type_name(enum updk_pci_irq_type type);

/** What a function offers of one interrupt kind. */
struct updk_pci_irq_info {
	unsigned count; /**< vectors; 0 when the function has none of this kind */
	bool maskable; /**< updk_pci_irq_mask() works (INTx; MSI and MSI-X are masked in the device) */
	bool automasked; /**< each interrupt masks the vector until updk_pci_irq_ack() (INTx) */
};

/** Describe what the function offers of @type. 0 or -errno (-EINVAL for a bad @type). */
int updk_pci_irq_info(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
		      struct updk_pci_irq_info *info);

/**
 * Enable between @min and @max vectors (1 <= @min <= @max), each with its own non-blocking
 * eventfd: MSI-X when the function offers at least @min MSI-X vectors, else MSI, else INTx (one
 * vector), among the kinds in @types (UPDK_PCI_IRQ_ANY, or UPDK_PCI_IRQ_BIT()s). Returns the
 * number of vectors enabled, or a negative errno with a message naming the device:
 * -ENOSPC   no allowed kind offers @min vectors (the message says what each offers);
 * -EMFILE/-ENFILE  the open-file limit was reached creating the eventfds (ulimit -n);
 * -EBUSY    interrupts are enabled already (updk_pci_irq_disable() first).
 * A failure leaves interrupts disabled and no eventfd open; the device works as before.
 */
int updk_pci_irq_enable(struct updk_pci_dev *dev, unsigned min, unsigned max, unsigned types);

/** The kind enabled (UPDK_PCI_IRQ_NONE when disabled) and its vector count. */
enum updk_pci_irq_type updk_pci_irq_type(const struct updk_pci_dev *dev);
unsigned updk_pci_irq_count(const struct updk_pci_dev *dev);

/** The eventfd of vector @vector, or -EINVAL when it is not enabled. Owned by lib/pci. */
int updk_pci_irq_fd(const struct updk_pci_dev *dev, unsigned vector);

/**
 * Take what vector @vector has counted since the last call (0: it did not fire) and, for INTx,
 * which is masked each time it fires, unmask it, so that the next interrupt is delivered. Call
 * it before re-checking the device's queues and sleeping on the eventfd: an event after the
 * call makes the eventfd readable, one before it is found by the re-check. Returns the count,
 * or a negative errno. Owned by one thread per vector.
 */
int64_t updk_pci_irq_ack(struct updk_pci_dev *dev, unsigned vector);

/**
 * Mask or unmask vector @vector. INTx only: VFIO cannot mask MSI or MSI-X vectors, which a
 * driver masks in the device (NVMe's IEN, ixgbe's EIMC, virtio's notification flags); those
 * return -ENOTSUP with a message saying so.
 */
int updk_pci_irq_mask(struct updk_pci_dev *dev, unsigned vector, bool mask);

/** Disable interrupts and close their eventfds. Also done by updk_pci_close(). */
void updk_pci_irq_disable(struct updk_pci_dev *dev);

#endif
