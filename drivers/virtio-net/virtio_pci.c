// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio 1.x over PCI (virtio 1.1 §4.1), the transport under drivers/virtio-net: the vendor
 * capabilities that place the common, notify, ISR and device configuration structures in the
 * BARs (§4.1.4), the device status and its reset (§2.1, §4.1.4.3.2), the feature bits (§2.2),
 * the device configuration (§4.1.4.6) and the programming of each virtqueue (§4.1.5.1.3).
 *
 * Registers of the common configuration are 8, 16 and 32 bits wide and must be accessed at
 * their natural width (§4.1.3.1), so this driver uses the mapped BAR directly rather than the
 * 32-bit updk_pci_reg_* accessors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_COMPONENT "virtio-net"
#include "lib/util/log.h"

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>

#include "drivers/virtio-net/virtio_net.h"

#define RESET_TIMEOUT_MS 1000

/* ---- common configuration, natural widths (§4.1.3.1) ------------------------------------- */

static uint8_t cc_r8(struct vnet_dev *dev, uint32_t off)
{
	return *(volatile uint8_t *)(dev->common + off);
}

static uint16_t cc_r16(struct vnet_dev *dev, uint32_t off)
{
	return *(volatile uint16_t *)(dev->common + off);
}

static uint32_t cc_r32(struct vnet_dev *dev, uint32_t off)
{
	return updk_mmio_read32(dev->common + off);
}

static void cc_w8(struct vnet_dev *dev, uint32_t off, uint8_t v)
{
	*(volatile uint8_t *)(dev->common + off) = v;
}

static void cc_w16(struct vnet_dev *dev, uint32_t off, uint16_t v)
{
	*(volatile uint16_t *)(dev->common + off) = v;
}

static void cc_w32(struct vnet_dev *dev, uint32_t off, uint32_t v)
{
	updk_mmio_write32(dev->common + off, v);
}

/* §4.1.3.1: a 64-bit field may be written as two 32-bit halves, low first. */
static void cc_w64(struct vnet_dev *dev, uint32_t off, uint64_t v)
{
	cc_w32(dev, off, (uint32_t)v);
	cc_w32(dev, off + 4, (uint32_t)(v >> 32));
}

uint8_t vnet_status(struct vnet_dev *dev)
{
	return cc_r8(dev, VIRTIO_COMMON_STATUS);
}

void vnet_status_set(struct vnet_dev *dev, uint8_t bits)
{
	cc_w8(dev, VIRTIO_COMMON_STATUS, (uint8_t)(vnet_status(dev) | bits));
}

/* §4.1.4.3.2: writing 0 resets; the driver waits for device_status to read 0. */
int vnet_reset(struct vnet_dev *dev)
{
	uint64_t end = now_ms() + RESET_TIMEOUT_MS;

	cc_w8(dev, VIRTIO_COMMON_STATUS, 0);
	while (vnet_status(dev) != 0) {
		if (now_ms() > end) {
			log_err("%s: device status still 0x%02x %u ms after reset: the device is "
				"stuck or gone; check it with lspci",
				dname(dev), vnet_status(dev), RESET_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* §3.1.1 step 8: tell the device the driver gave up, then reset it. */
void vnet_fail_device(struct vnet_dev *dev)
{
	vnet_status_set(dev, VIRTIO_STATUS_FAILED);
	vnet_reset(dev);
}

/* ---- device configuration (§4.1.4.6), read consistently by config_generation (§2.4.1) ----- */

void vnet_devcfg_read(struct vnet_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	uint8_t gen, *out = buf;

	do {
		gen = cc_r8(dev, VIRTIO_COMMON_CFGGEN);
		for (uint32_t i = 0; i < len;) {
			/* natural widths: 16- and 32-bit fields as such, bytes otherwise */
			if (len - i >= 4 && !((off + i) & 3) && len == 4) {
				uint32_t v = updk_mmio_read32(dev->devcfg + off + i);

				memcpy(out + i, &v, 4);
				i += 4;
			} else if (len == 2 && !((off + i) & 1)) {
				uint16_t v = *(volatile uint16_t *)(dev->devcfg + off + i);

				memcpy(out + i, &v, 2);
				i += 2;
			} else {
				out[i] = *(volatile uint8_t *)(dev->devcfg + off + i);
				i++;
			}
		}
	} while (gen != cc_r8(dev, VIRTIO_COMMON_CFGGEN));
}

/* ---- capabilities (§4.1.4) --------------------------------------------------------------- */

static int map_cap(struct vnet_dev *dev, int pos, uint8_t type, volatile uint8_t **out,
		   uint32_t *out_len, uint32_t min_len)
{
	uint8_t bar;
	uint32_t off, len;
	size_t bar_len = 0;
	uint8_t *base;

	if (updk_pci_cfg_read(dev->pci, &bar, 1, (uint32_t)pos + VIRTIO_PCI_CAP_BAR) ||
	    updk_pci_cfg_read(dev->pci, &off, 4, (uint32_t)pos + VIRTIO_PCI_CAP_OFFSET) ||
	    updk_pci_cfg_read(dev->pci, &len, 4, (uint32_t)pos + VIRTIO_PCI_CAP_LENGTH))
		return -EIO;
	/* §4.1.4: BAR values 0x0 to 0x5 are valid; the rest are reserved. */
	if (bar > 5 || len < min_len) {
		log_err("%s: virtio capability type %u at 0x%x names BAR %u with %u bytes: not a "
			"usable structure",
			dname(dev), type, pos, bar, len);
		return -ENODEV;
	}
	base = updk_pci_bar(dev->pci, bar, &bar_len);
	if (!base) {
		log_err("%s: cannot map BAR %u for virtio structure type %u", dname(dev), bar,
			type);
		return -ENODEV;
	}
	if ((uint64_t)off + len > bar_len) {
		log_err("%s: virtio structure type %u at BAR %u [0x%x, +0x%x) is outside the BAR "
			"(0x%zx bytes)",
			dname(dev), type, bar, off, len, bar_len);
		return -ENODEV;
	}
	*out = base + off;
	*out_len = len;
	return 0;
}

/* Walk the vendor capabilities; the first of each type is the one to use (§4.1.4). */
int vnet_find_structures(struct vnet_dev *dev)
{
	int pos = 0, rc;
	uint32_t len;

	while ((pos = updk_pci_find_cap(dev->pci, VIRTIO_PCI_CAP_ID, pos)) > 0) {
		uint8_t type, cap_len;

		if (updk_pci_cfg_read(dev->pci, &cap_len, 1, (uint32_t)pos + 2) ||
		    updk_pci_cfg_read(dev->pci, &type, 1, (uint32_t)pos + VIRTIO_PCI_CAP_CFG_TYPE))
			return -EIO;
		if (cap_len < VIRTIO_PCI_CAP_LEN)
			continue;
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (dev->common)
				break;
			rc = map_cap(dev, pos, type, &dev->common, &len, VIRTIO_COMMON_CFG_LEN);
			if (rc)
				return rc;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (dev->notify_base)
				break;
			if (cap_len < VIRTIO_PCI_NOTIFY_CAP_LEN)
				continue;
			rc = map_cap(dev, pos, type, &dev->notify_base, &dev->notify_len, 2);
			if (rc)
				return rc;
			if (updk_pci_cfg_read(dev->pci, &dev->notify_mult, 4,
					      (uint32_t)pos + VIRTIO_PCI_NOTIFY_CAP_MULT))
				return -EIO;
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!dev->isr) {
				rc = map_cap(dev, pos, type, &dev->isr, &len, 1);
				if (rc)
					return rc;
			}
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!dev->devcfg) {
				rc = map_cap(dev, pos, type, &dev->devcfg, &dev->devcfg_len, 6);
				if (rc)
					return rc;
			}
			break;
		default:
			break; /* PCI configuration access (5) and vendor-specific ones */
		}
	}
	if (!dev->common || !dev->notify_base || !dev->isr || !dev->devcfg) {
		log_err("%s: missing virtio 1.x structures (common %s, notify %s, ISR %s, device %s): "
			"updk drives modern virtio devices only; use disable-legacy=on in QEMU",
			dname(dev), dev->common ? "ok" : "none", dev->notify_base ? "ok" : "none",
			dev->isr ? "ok" : "none", dev->devcfg ? "ok" : "none");
		return -ENODEV;
	}
	return 0;
}

/* ---- features (§2.2, §3.1.1 steps 4-6) --------------------------------------------------- */

uint64_t vnet_device_features(struct vnet_dev *dev)
{
	uint64_t f;

	cc_w32(dev, VIRTIO_COMMON_DFSELECT, 0);
	f = cc_r32(dev, VIRTIO_COMMON_DF);
	cc_w32(dev, VIRTIO_COMMON_DFSELECT, 1);
	f |= (uint64_t)cc_r32(dev, VIRTIO_COMMON_DF) << 32;
	return f;
}

bool vnet_set_features(struct vnet_dev *dev, uint64_t f)
{
	cc_w32(dev, VIRTIO_COMMON_GFSELECT, 0);
	cc_w32(dev, VIRTIO_COMMON_GF, (uint32_t)f);
	cc_w32(dev, VIRTIO_COMMON_GFSELECT, 1);
	cc_w32(dev, VIRTIO_COMMON_GF, (uint32_t)(f >> 32));
	vnet_status_set(dev, VIRTIO_STATUS_FEATURES_OK);
	/* §3.1.1 step 6: re-read; a device that does not accept the subset clears FEATURES_OK. */
	return vnet_status(dev) & VIRTIO_STATUS_FEATURES_OK;
}

/* ---- queues and vectors (§4.1.4.3) ------------------------------------------------------- */

uint16_t vnet_num_queues(struct vnet_dev *dev)
{
	return cc_r16(dev, VIRTIO_COMMON_NUMQ);
}

void vnet_config_vector(struct vnet_dev *dev, uint16_t vector)
{
	cc_w16(dev, VIRTIO_COMMON_MSIX, vector);
}

/* ---- virtqueues (§4.1.5.1.3) ------------------------------------------------------------- */

/* Free a data queue's ring and cookie table (the control queue's table is in vnet_dev). */
void vnet_vq_free(struct virtq *vq)
{
	updk_dma_free(vq->mem);
	vq->mem = NULL;
	free(vq->cookie);
	vq->cookie = NULL;
}

/*
 * Allocate and program queue @index with at most @want entries (the device's queue_size is the
 * maximum; split queues are a power of two, §2.6). @cookies NULL: allocated here.
 */
int vnet_vq_setup(struct vnet_dev *dev, struct virtq *vq, uint16_t index, uint16_t want,
		  uint16_t vector, void **cookies)
{
	uint16_t max, size, noff;
	uint64_t iova;
	void *mem;
	bool own = !cookies;
	int rc;

	cc_w16(dev, VIRTIO_COMMON_Q_SELECT, index);
	max = cc_r16(dev, VIRTIO_COMMON_Q_SIZE);
	if (max == 0) {
		log_err("%s: virtqueue %u is not available (queue_size 0)", dname(dev), index);
		return -ENODEV;
	}
	size = want;
	while (size > max || size > VIRTQ_MAX_SIZE)
		size >>= 1;
	if (size < want)
		log_info("%s: virtqueue %u has %u entries (the device offers at most %u)",
			 dname(dev), index, size, max);
	mem = updk_dma_zalloc(virtq_mem_size(size), 4096, updk_pci_numa_node(dev->pci), &iova);
	if (!mem) {
		log_err("%s: no DMA memory for virtqueue %u (%zu bytes)", dname(dev), index,
			virtq_mem_size(size));
		return -ENOMEM;
	}
	if (!cookies) {
		cookies = calloc(size, sizeof(*cookies));
		if (!cookies) {
			updk_dma_free(mem);
			return -ENOMEM;
		}
	}
	rc = virtq_init(vq, size, mem, iova, cookies, vnet_has(dev, VIRTIO_F_RING_EVENT_IDX));
	if (rc) {
		updk_dma_free(mem);
		if (own)
			free(cookies);
		return rc;
	}
	vq->index = index;
	/* §4.1.4.4: notify address = cap.offset + queue_notify_off * notify_off_multiplier */
	noff = cc_r16(dev, VIRTIO_COMMON_Q_NOFF);
	uint64_t at = (uint64_t)noff * dev->notify_mult;

	if (at + 2 > dev->notify_len) {
		log_err("%s: virtqueue %u notify offset 0x%llx is outside the notify structure "
			"(0x%x bytes)",
			dname(dev), index, (unsigned long long)at, dev->notify_len);
		return -ENODEV; /* caller frees through vnet_vq_free */
	}
	vq->notify = (volatile uint16_t *)(dev->notify_base + at);
	cc_w16(dev, VIRTIO_COMMON_Q_SIZE, size);
	/* §4.1.5.1.2: the queue's used buffer notifications on @vector; the device reads back
	 * NO_VECTOR when it could not map it. */
	cc_w16(dev, VIRTIO_COMMON_Q_MSIX, vector);
	if (vector != VIRTIO_MSI_NO_VECTOR && cc_r16(dev, VIRTIO_COMMON_Q_MSIX) != vector) {
		log_err("%s: virtqueue %u: the device did not take MSI-X vector %u (reads back "
			"0x%x)",
			dname(dev), index, vector, cc_r16(dev, VIRTIO_COMMON_Q_MSIX));
		return -EIO; /* caller frees through vnet_vq_free */
	}
	cc_w64(dev, VIRTIO_COMMON_Q_DESCLO, vq->iova_desc);
	cc_w64(dev, VIRTIO_COMMON_Q_AVAILLO, vq->iova_avail);
	cc_w64(dev, VIRTIO_COMMON_Q_USEDLO, vq->iova_used);
	cc_w16(dev, VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}
