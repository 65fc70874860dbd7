// SPDX-License-Identifier: BSD-3-Clause
/*
 * The lib/pci device object: opening by address string (a PCI address goes to the vfio
 * backend, "sim:..." to the in-process models), config space and its capability lists, the
 * command register, BAR mappings and control-path register access. Everything
 * backend-specific goes through dev->ops (lib/pci/backend.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <updk/mem.h>
#include <updk/mmio.h>

#define LOG_COMPONENT "pci"
#include "lib/util/log.h"
#include "lib/pci/backend.h"

/* Config space: 256 bytes conventional, 4 KiB with PCIe extended space (PCIe Base 4.0 §7.2). */
#define PCI_CFG_SIZE 4096
#define PCI_CFG_STD_SIZE 256

/* Type 0 header fields (PCI Local Bus 3.0 §6.1, §6.2). */
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x0002 /* Memory Space Enable, §6.2.2 bit 1 */
#define PCI_COMMAND_MASTER 0x0004 /* Bus Master Enable, §6.2.2 bit 2 */
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST 0x0010 /* Capabilities List, §6.2.3 bit 4 */
#define PCI_CAP_PTR 0x34 /* §6.7: head of the capability list */

/* A capability sits in the device-specific part of the 256-byte space (§6.7). */
#define PCI_CAP_MIN 0x40
/* At most this many 4-byte aligned capabilities fit there: a longer walk is a loop. */
#define PCI_CAP_MAX_WALK ((PCI_CFG_STD_SIZE - PCI_CAP_MIN) / 4)

/* Extended capabilities start at 0x100; header: ID [15:0], version [19:16], next [31:20]. */
#define PCI_EXT_CAP_START 0x100
#define PCI_EXT_CAP_MAX_WALK ((PCI_CFG_SIZE - PCI_EXT_CAP_START) / 4)

static const char *const accepted_forms =
	"use a PCI address DDDD:BB:DD.F or BB:DD.F (hexadecimal, e.g. 0000:00:04.0; "
	"`scripts/setup.sh status` lists them) or sim:MODEL[?key=value,...] for a device model";

int updk_pci_open(const char *addr, struct updk_pci_dev **devp)
{
	struct updk_pci_addr a;
	struct updk_pci_dev *dev;
	int err;

	if (!devp)
		return -EINVAL;
	*devp = NULL;
	if (!addr || !*addr) {
		log_err("no device address given: %s", accepted_forms);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->numa_node = UPDK_NUMA_ANY;
	pthread_mutex_init(&dev->map_lock, NULL);
	pthread_mutex_init(&dev->irq_lock, NULL);

	if (!strncmp(addr, "sim:", 4)) {
		/* "sim:nvme?ns=2" is named "sim:nvme"; the model may refine the name. */
		size_t n = strcspn(addr, "?");

		if (n >= sizeof(dev->name))
			n = sizeof(dev->name) - 1;
		memcpy(dev->name, addr, n);
		dev->name[n] = '\0';
		err = pci_sim_open(addr + 4, dev);
	} else if (!updk_pci_addr_parse(addr, &a)) {
		updk_pci_addr_fmt(&a, dev->name);
		err = pci_vfio_open(&a, dev);
	} else {
		log_err("'%s' is not a device address: %s", addr, accepted_forms);
		err = -EINVAL;
	}
	if (!err && !dev->ops) {
		log_err("%s: backend gave no device operations", dev->name);
		err = -EIO;
	}
	if (err) {
		if (err > 0) /* a backend bug must not read as success */
			err = -EIO;
		pthread_mutex_destroy(&dev->map_lock);
		pthread_mutex_destroy(&dev->irq_lock);
		free(dev);
		return err;
	}
	*devp = dev;
	return 0;
}

void updk_pci_close(struct updk_pci_dev *dev)
{
	struct pci_bar_map *m, *next;

	if (!dev)
		return;
	/* Vectors first: the device must not signal an eventfd after it is closed. */
	pci_irq_release(dev);
	for (m = dev->maps; m; m = next) {
		next = m->next;
		if (dev->ops->unmap_bar)
			dev->ops->unmap_bar(dev, m->bar, m->va, m->len);
		free(m);
	}
	dev->maps = NULL;
	if (dev->ops->close)
		dev->ops->close(dev);
	pthread_mutex_destroy(&dev->map_lock);
	pthread_mutex_destroy(&dev->irq_lock);
	free(dev);
}

const char *updk_pci_name(const struct updk_pci_dev *dev)
{
	return dev->name;
}

uint16_t updk_pci_vendor_id(const struct updk_pci_dev *dev)
{
	return dev->vendor_id;
}

uint16_t updk_pci_device_id(const struct updk_pci_dev *dev)
{
	return dev->device_id;
}

int updk_pci_numa_node(const struct updk_pci_dev *dev)
{
	return dev->numa_node;
}

static int cfg_range_ok(const struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off,
			const char *what)
{
	if (!buf || !len || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
		log_err("%s: config %s of %zu bytes at 0x%x is outside the 4 KiB config space",
			dev->name, what, len, off);
		return -EINVAL;
	}
	return 0;
}

int updk_pci_cfg_read(struct updk_pci_dev *dev, void *buf, size_t len, uint32_t off)
{
	int err = cfg_range_ok(dev, buf, len, off, "read");

	return err ? err : dev->ops->cfg_read(dev, buf, len, off);
}

int updk_pci_cfg_write(struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off)
{
	int err = cfg_range_ok(dev, buf, len, off, "write");

	return err ? err : dev->ops->cfg_write(dev, buf, len, off);
}

static int cfg_read8(struct updk_pci_dev *dev, uint32_t off, uint8_t *v)
{
	return dev->ops->cfg_read(dev, v, 1, off);
}

/* Config space is little-endian (PCI Local Bus 3.0 §6.1). */
static int cfg_read16(struct updk_pci_dev *dev, uint32_t off, uint16_t *v)
{
	uint8_t b[2];
	int err = dev->ops->cfg_read(dev, b, 2, off);

	*v = (uint16_t)(b[0] | b[1] << 8);
	return err;
}

static int cfg_read32(struct updk_pci_dev *dev, uint32_t off, uint32_t *v)
{
	uint8_t b[4];
	int err = dev->ops->cfg_read(dev, b, 4, off);

	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return err;
}

int updk_pci_find_cap(struct updk_pci_dev *dev, uint8_t id, int start)
{
	uint16_t status;
	uint8_t ptr, cap_id;
	int err;

	if (start) {
		/* Continue after the capability at @start: it must be one the walk can return. */
		if (start < PCI_CAP_MIN || start >= PCI_CFG_STD_SIZE || (start & 3)) {
			log_err("%s: 0x%x is not a capability offset", dev->name, start);
			return -EINVAL;
		}
		err = cfg_read8(dev, (uint32_t)start + 1, &ptr);
	} else {
		/* No Capabilities List bit: the pointer at 0x34 is not valid (§6.2.3). */
		err = cfg_read16(dev, PCI_STATUS, &status);
		if (err)
			return err;
		if (!(status & PCI_STATUS_CAP_LIST))
			return -ENOENT;
		err = cfg_read8(dev, PCI_CAP_PTR, &ptr);
	}
	if (err)
		return err;
	for (int i = 0; i < PCI_CAP_MAX_WALK; i++) {
		/* The bottom two bits of a pointer are reserved (§6.7). */
		ptr &= 0xfc;
		if (!ptr)
			return -ENOENT;
		if (ptr < PCI_CAP_MIN) {
			log_warn(
				"%s: capability list points at 0x%02x, inside the header; ignoring "
				"the rest of the list",
				dev->name, ptr);
			return -ENOENT;
		}
		err = cfg_read8(dev, ptr, &cap_id);
		if (err)
			return err;
		if (cap_id == id)
			return ptr;
		err = cfg_read8(dev, ptr + 1u, &ptr);
		if (err)
			return err;
	}
	log_warn("%s: capability list does not end (a loop); ignoring the rest", dev->name);
	return -ENOENT;
}

int updk_pci_find_ext_cap(struct updk_pci_dev *dev, uint16_t id, int start)
{
	uint32_t off = PCI_EXT_CAP_START, hdr;
	int err;

	if (start) {
		if (start < PCI_EXT_CAP_START || start >= PCI_CFG_SIZE || (start & 3)) {
			log_err("%s: 0x%x is not an extended capability offset", dev->name, start);
			return -EINVAL;
		}
		err = cfg_read32(dev, (uint32_t)start, &hdr);
		if (err)
			return err;
		off = hdr >> 20;
	}
	for (int i = 0; i < PCI_EXT_CAP_MAX_WALK; i++) {
		off &= ~3u;
		if (!off)
			return -ENOENT;
		if (off < PCI_EXT_CAP_START || off >= PCI_CFG_SIZE) {
			log_warn(
				"%s: extended capability list points at 0x%x, outside 0x100-0xfff; "
				"ignoring the rest of the list",
				dev->name, off);
			return -ENOENT;
		}
		/* A conventional function's config space ends at 0x100: no extended list. */
		if (cfg_read32(dev, off, &hdr))
			return -ENOENT;
		/* All zeroes or all ones at 0x100: no extended capabilities (PCIe Base §7.6.2). */
		if (hdr == 0 || hdr == 0xffffffff)
			return -ENOENT;
		if ((hdr & 0xffff) == id)
			return (int)off;
		off = hdr >> 20;
	}
	log_warn("%s: extended capability list does not end (a loop); ignoring the rest",
		 dev->name);
	return -ENOENT;
}

int updk_pci_enable(struct updk_pci_dev *dev, bool enable)
{
	uint16_t cmd, want;
	uint8_t b[2];
	int err;

	err = cfg_read16(dev, PCI_COMMAND, &cmd);
	if (err) {
		log_err("%s: cannot read the command register: %s", dev->name, strerror(-err));
		return err;
	}
	/* Memory Space Enable lets the BARs decode; Bus Master Enable lets the device DMA. */
	if (enable)
		want = cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	else
		want = cmd & (uint16_t) ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (want == cmd)
		return 0;
	b[0] = (uint8_t)want;
	b[1] = (uint8_t)(want >> 8);
	err = dev->ops->cfg_write(dev, b, 2, PCI_COMMAND);
	if (err)
		log_err("%s: cannot write the command register: %s", dev->name, strerror(-err));
	return err;
}

static int bar_index_ok(const struct updk_pci_dev *dev, int bar)
{
	if (bar < 0 || bar >= PCI_NUM_BARS) {
		log_err("%s: BAR %d does not exist (0-5)", dev->name, bar);
		return 0;
	}
	return 1;
}

/* Map and record [off, off + len) of @bar; called with map_lock held. */
static void *map_locked(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len)
{
	struct pci_bar_map *m = malloc(sizeof(*m));
	void *va;

	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	va = dev->ops->map_bar(dev, bar, off, len);
	if (!va) {
		int e = errno ? errno : EIO;

		log_err("%s: cannot map BAR %d [0x%llx, +0x%zx): %s", dev->name, bar,
			(unsigned long long)off, len, strerror(e));
		free(m);
		errno = e;
		return NULL;
	}
	m->bar = bar;
	m->va = va;
	m->len = len;
	m->next = dev->maps;
	dev->maps = m;
	return va;
}

void *updk_pci_bar(struct updk_pci_dev *dev, int bar, size_t *len)
{
	uint64_t size;
	void *va;

	if (!bar_index_ok(dev, bar)) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&dev->map_lock);
	va = dev->bar[bar];
	if (!va) {
		size = dev->ops->bar_size(dev, bar);
		if (!size || size > SIZE_MAX) {
			log_err("%s: BAR %d is absent or not a memory BAR", dev->name, bar);
			pthread_mutex_unlock(&dev->map_lock);
			errno = ENODEV;
			return NULL;
		}
		va = map_locked(dev, bar, 0, (size_t)size);
		if (va) {
			dev->bar_len[bar] = (size_t)size;
			/* Readers test bar[] without the lock (reg_* fast path): publish last. */
			__atomic_store_n(&dev->bar[bar], va, __ATOMIC_RELEASE);
		}
	}
	if (va && len)
		*len = dev->bar_len[bar];
	pthread_mutex_unlock(&dev->map_lock);
	return va;
}

void *updk_pci_bar_range(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len)
{
	uint64_t size, pg = (uint64_t)sysconf(_SC_PAGESIZE), start, end;
	char *va;

	if (!bar_index_ok(dev, bar)) {
		errno = EINVAL;
		return NULL;
	}
	size = dev->ops->bar_size(dev, bar);
	if (!size) {
		log_err("%s: BAR %d is absent or not a memory BAR", dev->name, bar);
		errno = ENODEV;
		return NULL;
	}
	if (!len || off >= size || len > size - off) {
		log_err("%s: range [0x%llx, +0x%zx) is not inside BAR %d (0x%llx bytes)", dev->name,
			(unsigned long long)off, len, bar, (unsigned long long)size);
		errno = EINVAL;
		return NULL;
	}
	start = off & ~(pg - 1);
	end = (off + len + pg - 1) & ~(pg - 1);
	pthread_mutex_lock(&dev->map_lock);
	va = map_locked(dev, bar, start, (size_t)(end - start));
	pthread_mutex_unlock(&dev->map_lock);
	return va ? va + (off - start) : NULL;
}

/*
 * Check a control-path access of @width bytes at @off of @bar; returns the plain-MMIO address
 * when the backend has no hook (mapping the BAR on first use), else (void *)1 for "go ahead".
 */
static volatile void *reg_check(struct updk_pci_dev *dev, int bar, uint32_t off, unsigned width,
				bool hooked)
{
	uint64_t size;
	char *base;

	if (!bar_index_ok(dev, bar))
		return NULL;
	size = dev->ops->bar_size(dev, bar);
	if ((off & 3) || off >= size || width > size - off) {
		log_err("%s: %u-bit register access at 0x%x of BAR %d (0x%llx bytes) is misaligned "
			"or out of range",
			dev->name, width * 8, off, bar, (unsigned long long)size);
		return NULL;
	}
	if (hooked)
		return (volatile void *)1;
	base = __atomic_load_n(&dev->bar[bar], __ATOMIC_ACQUIRE);
	if (!base)
		base = updk_pci_bar(dev, bar, NULL);
	return base ? base + off : NULL;
}

/* A read that cannot be done returns all ones, as a master abort does on hardware. */
uint32_t updk_pci_reg_read32(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	bool hooked = dev->ops->reg_read32 != NULL;
	volatile void *p = reg_check(dev, bar, off, 4, hooked);

	if (!p)
		return UINT32_MAX;
	return hooked ? dev->ops->reg_read32(dev, bar, off) : updk_mmio_read32(p);
}

void updk_pci_reg_write32(struct updk_pci_dev *dev, int bar, uint32_t off, uint32_t val)
{
	bool hooked = dev->ops->reg_write32 != NULL;
	volatile void *p = reg_check(dev, bar, off, 4, hooked);

	if (!p)
		return;
	if (hooked)
		dev->ops->reg_write32(dev, bar, off, val);
	else
		updk_mmio_write32(p, val);
}

uint64_t updk_pci_reg_read64(struct updk_pci_dev *dev, int bar, uint32_t off)
{
	bool hooked = dev->ops->reg_read64 != NULL;
	volatile void *p = reg_check(dev, bar, off, 8, hooked);

	if (!p)
		return UINT64_MAX;
	return hooked ? dev->ops->reg_read64(dev, bar, off) : updk_mmio_read64(p);
}

void updk_pci_reg_write64(struct updk_pci_dev *dev, int bar, uint32_t off, uint64_t val)
{
	bool hooked = dev->ops->reg_write64 != NULL;
	volatile void *p = reg_check(dev, bar, off, 8, hooked);

	if (!p)
		return;
	if (hooked)
		dev->ops->reg_write64(dev, bar, off, val);
	else
		updk_mmio_write64(p, val);
}

int updk_pci_reset(struct updk_pci_dev *dev)
{
	if (!dev->ops->reset) {
		log_err("%s: the device offers no function-level reset", dev->name);
		return -ENOTSUP;
	}
	return dev->ops->reset(dev);
}
