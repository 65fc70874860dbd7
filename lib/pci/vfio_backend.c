// SPDX-License-Identifier: BSD-3-Clause
/*
 * The vfio backend of lib/pci: a real PCI function bound to vfio-pci, reached through lib/vfio.
 * Config space is the device fd's config region (pread/pwrite); BARs are mmapped from their
 * regions, honouring sparse-mmap areas; reset is VFIO_DEVICE_RESET; interrupt vectors are
 * eventfds bound with VFIO_DEVICE_SET_IRQS. Opening the first device activates the VFIO
 * container, and lib/mem then maps what was registered before (mem_vfio_attach()); after a later
 * open lib/mem takes the container's ranges again (mem_vfio_group_joined()); closing the last
 * one drops every mapping (mem_vfio_detach()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/vfio/uapi.h"
#include <unistd.h>

#define LOG_COMPONENT "pci"
#include "lib/mem/mem_vfio.h"
#include "lib/pci/backend.h"
#include "lib/util/log.h"
#include "lib/vfio/vfio.h"

/* PCI Local Bus 3.0 §6.2.5.1: Base Address registers from 0x10; bit 0 set means I/O space. */
#define PCI_CFG_BAR0 0x10
#define PCI_BAR_IO 0x1

struct vfio_priv {
	struct vfio_dev *vd;
	struct vfio_region_desc cfg;
	struct vfio_region_desc bar[PCI_NUM_BARS];
	uint64_t bar_size[PCI_NUM_BARS]; /* 0: absent, I/O, or upper half of a 64-bit BAR */
};

static struct vfio_priv *priv_of(struct updk_pci_dev *dev)
{
	return dev->priv;
}

static int vfio_cfg_read(struct updk_pci_dev *dev, void *buf, size_t len, uint32_t off)
{
	struct vfio_priv *p = priv_of(dev);

	return vfio_region_read(p->vd, &p->cfg, buf, len, off);
}

static int vfio_cfg_write(struct updk_pci_dev *dev, const void *buf, size_t len, uint32_t off)
{
	struct vfio_priv *p = priv_of(dev);

	return vfio_region_write(p->vd, &p->cfg, buf, len, off);
}

static size_t page_round(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (len + pg - 1) & ~(pg - 1);
}

static void *vfio_map_bar(struct updk_pci_dev *dev, int bar, uint64_t off, size_t len)
{
	struct vfio_priv *p = priv_of(dev);
	void *va;

	if (bar < 0 || bar >= PCI_NUM_BARS || !p->bar_size[bar]) {
		errno = ENODEV;
		return NULL;
	}
	/* A BAR smaller than a page is still mapped as one page (vfio-pci reserves it). */
	va = vfio_region_mmap(p->vd, &p->bar[bar], off, page_round(len), PROT_READ | PROT_WRITE);
	if (!va && errno == ENOTSUP)
		log_err("%s: VFIO does not allow mmap of BAR %d", dev->name, bar);
	else if (!va && errno == ENXIO)
		log_err("%s: [0x%llx, +0x%zx) of BAR %d lies where VFIO allows no mmap (e.g. the "
			"MSI-X table)",
			dev->name, (unsigned long long)off, len, bar);
	return va;
}

static void vfio_unmap_bar(struct updk_pci_dev *dev, int bar, void *va, size_t len)
{
	(void)dev;
	(void)bar;
	munmap(va, page_round(len));
}

static uint64_t vfio_bar_size(struct updk_pci_dev *dev, int bar)
{
	if (bar < 0 || bar >= PCI_NUM_BARS)
		return 0;
	return priv_of(dev)->bar_size[bar];
}

static int vfio_reset(struct updk_pci_dev *dev)
{
	return vfio_dev_reset(priv_of(dev)->vd);
}

/* enum updk_pci_irq_type to vfio-pci's index. */
static unsigned irq_index(enum updk_pci_irq_type type)
{
	return type == UPDK_PCI_IRQ_MSIX ? VFIO_DEV_IRQ_MSIX :
	       type == UPDK_PCI_IRQ_MSI	 ? VFIO_DEV_IRQ_MSI :
					   VFIO_DEV_IRQ_INTX;
}

static int vfio_irq_info(struct updk_pci_dev *dev, enum updk_pci_irq_type type,
			 struct updk_pci_irq_info *out)
{
	struct vfio_irq_desc d;
	int rc = vfio_dev_irq(priv_of(dev)->vd, irq_index(type), &d);

	if (rc == -EINVAL)
		return 0; /* an index the device lacks: none of this kind */
	if (rc)
		return rc;
	/* Without eventfd signalling VFIO cannot deliver the vector to user space. */
	if (!(d.flags & VFIO_IRQ_INFO_EVENTFD))
		return 0;
	out->count = d.count;
	out->maskable = d.flags & VFIO_IRQ_INFO_MASKABLE;
	out->automasked = d.flags & VFIO_IRQ_INFO_AUTOMASKED;
	return 0;
}

static int vfio_irq_set(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned n,
			const int *fds)
{
	struct vfio_dev *vd = priv_of(dev)->vd;

	if (!n)
		return vfio_dev_irq_disable(vd, irq_index(type));
	return vfio_dev_irq_set(vd, irq_index(type), 0, n, fds);
}

static int vfio_irq_mask(struct updk_pci_dev *dev, enum updk_pci_irq_type type, unsigned vector,
			 bool mask)
{
	return vfio_dev_irq_mask(priv_of(dev)->vd, irq_index(type), vector, mask);
}

static void vfio_close(struct updk_pci_dev *dev)
{
	struct vfio_priv *p = priv_of(dev);

	if (!p)
		return;
	/* The last device took the container with it: lib/mem's mappings are gone. */
	if (vfio_dev_close(p->vd))
		mem_vfio_detach();
	free(p);
	dev->priv = NULL;
}

static const struct pci_backend_ops vfio_ops = {
	.name = "vfio",
	.cfg_read = vfio_cfg_read,
	.cfg_write = vfio_cfg_write,
	.map_bar = vfio_map_bar,
	.unmap_bar = vfio_unmap_bar,
	.bar_size = vfio_bar_size,
	/* reg_* NULL: plain MMIO on the BAR mapping. */
	.reset = vfio_reset,
	.irq_info = vfio_irq_info,
	.irq_set = vfio_irq_set,
	.irq_mask = vfio_irq_mask,
	.close = vfio_close,
};

/* Describe the BARs once: bar_size is asked on every control-path register access. */
static void read_bars(struct updk_pci_dev *dev, struct vfio_priv *p)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t reg;

		if (vfio_dev_region(p->vd, (unsigned)VFIO_DEV_REGION_BAR(i), &p->bar[i]) ||
		    !p->bar[i].size)
			continue;
		if (vfio_region_read(p->vd, &p->cfg, &reg, sizeof(reg), PCI_CFG_BAR0 + 4u * i) ||
		    (reg & PCI_BAR_IO))
			continue;
		p->bar_size[i] = p->bar[i].size;
		log_debug("%s: BAR %d: 0x%llx bytes%s%s", dev->name, i,
			  (unsigned long long)p->bar[i].size,
			  p->bar[i].mmappable ? "" : ", not mmappable",
			  p->bar[i].sparse ? ", sparse mmap" : "");
	}
}

static int read_numa_node(const struct updk_pci_addr *addr)
{
	struct updk_pci_info info;

	if (updk_pci_info_get(addr, &info))
		return -1;
	return info.numa_node;
}

int pci_vfio_open(const struct updk_pci_addr *addr, struct updk_pci_dev *dev)
{
	char bdf[UPDK_PCI_ADDR_STRLEN];
	struct vfio_priv *p;
	bool activated;
	uint16_t ids[2];
	int rc;

	updk_pci_addr_fmt(addr, bdf);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = vfio_dev_open(bdf, &p->vd, &activated);
	if (rc) {
		free(p);
		return rc;
	}
	rc = vfio_dev_region(p->vd, VFIO_DEV_REGION_CONFIG, &p->cfg);
	if (!rc && (p->cfg.size < 0x40 || !p->cfg.readable || !p->cfg.writable)) {
		log_err("%s: VFIO config region is unusable (0x%llx bytes, flags 0x%x)", bdf,
			(unsigned long long)p->cfg.size, p->cfg.flags);
		rc = -EIO;
	}
	if (!rc)
		rc = vfio_region_read(p->vd, &p->cfg, ids, sizeof(ids), 0);
	if (!rc && ids[0] == 0xffff) {
		/* PCI Local Bus 3.0 §6.2.1: all ones means no function answered. */
		log_err("%s: config space reads all ones: the device does not respond", bdf);
		rc = -EIO;
	}
	if (rc)
		goto err_close;
	read_bars(dev, p);
	dev->ops = &vfio_ops;
	dev->priv = p;
	dev->vendor_id = ids[0];
	dev->device_id = ids[1];
	dev->numa_node = read_numa_node(addr);

	/*
	 * The first group joined: lib/mem maps what was registered so far. A group joining later
	 * can narrow the container's usable ranges with reserved regions of its own (the kernel
	 * refused the join if a mapping lay there): the allocator follows, so that later IOVAs
	 * avoid them too.
	 */
	rc = activated ? mem_vfio_attach() : mem_vfio_group_joined();
	if (rc) {
		log_err("%s: %s: %s", bdf,
			activated ? "mapping the DMA memory registered so far failed" :
				    "taking the IOVA ranges after its group joined failed",
			strerror(-rc));
		dev->ops = NULL;
		dev->priv = NULL;
		/* Closing the only device drops the container and what attach mapped. */
		if (vfio_dev_close(p->vd))
			mem_vfio_detach();
		free(p);
		return rc;
	}
	return 0;

err_close:
	/* lib/mem was not told of the container yet: nothing to detach. */
	vfio_dev_close(p->vd);
	free(p);
	return rc;
}
