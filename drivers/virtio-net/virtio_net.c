// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio-net over the modern virtio 1.x PCI transport (device 1af4:1041), control path.
 *
 * Bring-up follows virtio 1.1 §3.1.1 and each step cites its section: the vendor capabilities
 * that place the common, notify, ISR and device configuration structures in the BARs (§4.1.4),
 * reset and its read-back (§4.1.4.3.2), ACKNOWLEDGE and DRIVER, feature negotiation with
 * VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM required (§6; without the latter the device
 * would bypass the IOMMU that VFIO programs, so such a device is refused), FEATURES_OK written
 * and read back, the virtqueues (§4.1.5.1.3), DRIVER_OK; then the control queue commands
 * (§5.1.6.5): queue pairs with MQ, promiscuous mode with CTRL_RX.
 *
 * Registers of the common configuration are 8, 16 and 32 bits wide and must be accessed at
 * their natural width (§4.1.3.1), so this driver uses the mapped BAR directly rather than the
 * 32-bit updk_pci_reg_* accessors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMPONENT "virtio-net"
#include "lib/util/log.h"

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/pci.h>
#include <updk/tsc.h>

#include "drivers/virtio-net/virtio_net.h"
#include "drivers/virtio-net/virtio_net_test.h"
#include "lib/net/pkt_pool.h"

#define RESET_TIMEOUT_MS 1000
#define CTRL_TIMEOUT_MS 1000
#define CTRL_QUEUE_SIZE 64
/* ctrl_buf layout: class and command, the command's data, the device's ack. */
#define CTRL_HDR_OFF 0
#define CTRL_DATA_OFF 16
#define CTRL_ACK_OFF 48
#define CTRL_BUF_LEN 64

static const char *dname(const struct vnet_dev *dev)
{
	return updk_pci_name(dev->pci);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static uint8_t status(struct vnet_dev *dev)
{
	return cc_r8(dev, VIRTIO_COMMON_STATUS);
}

static void status_set(struct vnet_dev *dev, uint8_t bits)
{
	cc_w8(dev, VIRTIO_COMMON_STATUS, (uint8_t)(status(dev) | bits));
}

/* §4.1.4.3.2: writing 0 resets; the driver waits for device_status to read 0. */
static int reset(struct vnet_dev *dev)
{
	uint64_t end = now_ms() + RESET_TIMEOUT_MS;

	cc_w8(dev, VIRTIO_COMMON_STATUS, 0);
	while (status(dev) != 0) {
		if (now_ms() > end) {
			log_err("%s: device status still 0x%02x %u ms after reset: the device is "
				"stuck or gone; check it with lspci",
				dname(dev), status(dev), RESET_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* §3.1.1 step 8: tell the device the driver gave up, then reset it. */
static void fail_device(struct vnet_dev *dev)
{
	status_set(dev, VIRTIO_STATUS_FAILED);
	reset(dev);
}

/* Mark every queue broken: from now on their bursts take nothing and return nothing. */
static void mark_broken(struct vnet_dev *dev)
{
	for (uint16_t q = 0; dev->rxq && q < dev->n_pairs; q++)
		__atomic_store_n(&dev->rxq[q].broken, true, __ATOMIC_RELAXED);
	for (uint16_t q = 0; dev->txq && q < dev->n_pairs; q++)
		__atomic_store_n(&dev->txq[q].broken, true, __ATOMIC_RELAXED);
}

/*
 * virtio 1.2 §2.1.2: a device that hit an error it cannot recover from sets DEVICE_NEEDS_RESET
 * and stops using its queues until the driver resets it (QEMU does so, for one, when the
 * available ring names a descriptor outside the table). A queue is owned by its polling thread,
 * so the driver cannot reset it under that thread's feet: it reports the state, makes the
 * bursts refuse work, and the application closes and reopens the device, which resets it.
 */
int vnet_check_status(struct vnet_dev *dev)
{
	uint8_t s = status(dev);
	const char *what;
	int rc = -EIO;

	if (s == 0xff) {
		what = "reads 0xff: the device is gone (hot-unplugged or its function reset); "
		       "close it";
		rc = -ENODEV;
	} else if (s & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		what = "has DEVICE_NEEDS_RESET set (virtio 1.2 §2.1.2): the device stopped "
		       "processing its queues after an error; close and reopen it to reset it";
	} else if (s & VIRTIO_STATUS_FAILED) {
		what = "has FAILED set: close and reopen the device";
	} else {
		return 0;
	}
	if (!__atomic_exchange_n(&dev->broken, true, __ATOMIC_RELAXED)) {
		log_err("%s: device status 0x%02x %s; its queues take and return no packets from now "
			"on",
			dname(dev), s, what);
		mark_broken(dev);
	}
	return rc;
}

/* ---- device configuration (§4.1.4.6), read consistently by config_generation (§2.4.1) ----- */

static void devcfg_read(struct vnet_dev *dev, uint32_t off, void *buf, uint32_t len)
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
static int find_structures(struct vnet_dev *dev)
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

static uint64_t device_features(struct vnet_dev *dev)
{
	uint64_t f;

	cc_w32(dev, VIRTIO_COMMON_DFSELECT, 0);
	f = cc_r32(dev, VIRTIO_COMMON_DF);
	cc_w32(dev, VIRTIO_COMMON_DFSELECT, 1);
	f |= (uint64_t)cc_r32(dev, VIRTIO_COMMON_DF) << 32;
	return f;
}

static int negotiate(struct vnet_dev *dev)
{
	const uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM |
			      1ull << VIRTIO_F_RING_EVENT_IDX | 1ull << VIRTIO_NET_F_MAC |
			      1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_STATUS |
			      1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_CTRL_RX |
			      1ull << VIRTIO_NET_F_MQ | 1ull << VIRTIO_NET_F_SPEED_DUPLEX;
	uint64_t offered = device_features(dev), f = offered & want;

	if (!(f & 1ull << VIRTIO_F_VERSION_1)) {
		log_err("%s: the device does not offer VIRTIO_F_VERSION_1: updk drives virtio 1.x "
			"devices only (QEMU: disable-legacy=on)",
			dname(dev));
		return -ENOTSUP;
	}
	if (!(f & 1ull << VIRTIO_F_ACCESS_PLATFORM)) {
		log_err("%s: the device does not offer VIRTIO_F_ACCESS_PLATFORM, so its DMA would "
			"bypass the IOMMU that VFIO programs: give it iommu_platform=on (QEMU "
			"-device virtio-net-pci,...,iommu_platform=on)",
			dname(dev));
		return -ENOTSUP;
	}
	/* §5.1.3.1: CTRL_RX and MQ depend on CTRL_VQ. */
	if (!(f & 1ull << VIRTIO_NET_F_CTRL_VQ))
		f &= ~(1ull << VIRTIO_NET_F_CTRL_RX | 1ull << VIRTIO_NET_F_MQ);
	cc_w32(dev, VIRTIO_COMMON_GFSELECT, 0);
	cc_w32(dev, VIRTIO_COMMON_GF, (uint32_t)f);
	cc_w32(dev, VIRTIO_COMMON_GFSELECT, 1);
	cc_w32(dev, VIRTIO_COMMON_GF, (uint32_t)(f >> 32));
	status_set(dev, VIRTIO_STATUS_FEATURES_OK);
	/* §3.1.1 step 6: re-read; a device that does not accept the subset clears FEATURES_OK. */
	if (!(status(dev) & VIRTIO_STATUS_FEATURES_OK)) {
		log_err("%s: the device refused features 0x%016llx (offered 0x%016llx)", dname(dev),
			(unsigned long long)f, (unsigned long long)offered);
		return -EIO;
	}
	dev->features = f;
	log_debug("%s: features offered 0x%016llx, negotiated 0x%016llx", dname(dev),
		  (unsigned long long)offered, (unsigned long long)f);
	return 0;
}

/* ---- virtqueues (§4.1.5.1.3) ------------------------------------------------------------- */

/* Free a data queue's ring and cookie table (the control queue's table is in vnet_dev). */
static void vq_free(struct virtq *vq)
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
static int vq_setup(struct vnet_dev *dev, struct virtq *vq, uint16_t index, uint16_t want,
		    void **cookies)
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
		return -ENODEV; /* caller frees through vq_free */
	}
	vq->notify = (volatile uint16_t *)(dev->notify_base + at);
	cc_w16(dev, VIRTIO_COMMON_Q_SIZE, size);
	cc_w16(dev, VIRTIO_COMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR); /* polled: no interrupts */
	cc_w64(dev, VIRTIO_COMMON_Q_DESCLO, vq->iova_desc);
	cc_w64(dev, VIRTIO_COMMON_Q_AVAILLO, vq->iova_avail);
	cc_w64(dev, VIRTIO_COMMON_Q_USEDLO, vq->iova_used);
	cc_w16(dev, VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}

/* ---- control queue (§5.1.6.5) ------------------------------------------------------------ */

static int ctrl_cmd(struct vnet_dev *dev, uint8_t class, uint8_t cmd, const void *data,
		    uint32_t len)
{
	uint8_t *buf = dev->ctrl_buf;
	struct virtq_buf bufs[3] = {
		{ dev->ctrl_iova + CTRL_HDR_OFF, 2, false },
		{ dev->ctrl_iova + CTRL_DATA_OFF, len, false },
		{ dev->ctrl_iova + CTRL_ACK_OFF, 1, true },
	};
	uint64_t end;
	uint32_t wlen;
	int rc;

	if (!dev->has_ctrl)
		return -ENOTSUP;
	if (len > CTRL_ACK_OFF - CTRL_DATA_OFF)
		return -EINVAL;
	buf[CTRL_HDR_OFF] = class;
	buf[CTRL_HDR_OFF + 1] = cmd;
	memcpy(buf + CTRL_DATA_OFF, data, len);
	buf[CTRL_ACK_OFF] = 0xff;
	rc = virtq_add_chain(&dev->ctrl, bufs, 3, buf);
	if (rc)
		return rc;
	virtq_kick(&dev->ctrl);
	end = now_ms() + CTRL_TIMEOUT_MS;
	while (!virtq_used_pending(&dev->ctrl)) {
		if (now_ms() > end) {
			log_err("%s: no answer to control command %u.%u in %u ms", dname(dev),
				class, cmd, CTRL_TIMEOUT_MS);
			return vnet_check_status(dev) ?: -ETIMEDOUT;
		}
	}
	if (virtq_take_used(&dev->ctrl, &wlen) != buf) {
		log_err("%s: control queue returned an unknown buffer", dname(dev));
		return -EIO;
	}
	if (((volatile uint8_t *)buf)[CTRL_ACK_OFF] != VIRTIO_NET_OK) {
		log_err("%s: the device refused control command %u.%u (ack %u)", dname(dev), class,
			cmd, buf[CTRL_ACK_OFF]);
		return -EIO;
	}
	return 0;
}

static int vnet_set_promiscuous(struct net_dev *nd, bool on)
{
	struct vnet_dev *dev = nd->priv;
	uint8_t v = on;

	if (!vnet_has(dev, VIRTIO_NET_F_CTRL_RX)) {
		log_err("%s: the device has no VIRTIO_NET_F_CTRL_RX, so its receive filter cannot "
			"be changed",
			dname(dev));
		return -ENOTSUP;
	}
	/* §5.1.6.5.1: VIRTIO_NET_CTRL_RX_PROMISC with one byte, 0 off, 1 on */
	return ctrl_cmd(dev, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &v, 1);
}

/* ---- link and statistics ----------------------------------------------------------------- */

static int vnet_link(struct net_dev *nd, struct updk_net_link *link)
{
	struct vnet_dev *dev = nd->priv;
	uint16_t st = VIRTIO_NET_S_LINK_UP;
	uint32_t speed = VIRTIO_NET_SPEED_UNKNOWN;
	int rc = vnet_check_status(dev);

	if (rc)
		return rc;
	/* §5.1.4: without VIRTIO_NET_F_STATUS the link is assumed up. */
	if (vnet_has(dev, VIRTIO_NET_F_STATUS))
		devcfg_read(dev, VIRTIO_NET_CFG_STATUS, &st, 2);
	if (vnet_has(dev, VIRTIO_NET_F_SPEED_DUPLEX) && dev->devcfg_len >= VIRTIO_NET_CFG_SPEED + 4)
		devcfg_read(dev, VIRTIO_NET_CFG_SPEED, &speed, 4);
	link->up = st & VIRTIO_NET_S_LINK_UP;
	/* §5.1.4: speed 0xffffffff (or beyond INT32_MAX) is unknown: reported as 0 */
	link->speed_mbps = link->up && speed <= 0x7fffffff ? speed : 0;
	return 0;
}

static void link_wait(struct vnet_dev *dev, unsigned timeout_ms)
{
	struct updk_net_link l = { 0 };
	uint64_t end = now_ms() + timeout_ms;

	while (vnet_link(dev->nd, &l) == 0 && !l.up && now_ms() < end) {
		struct timespec ts = { 0, 10 * 1000000 };

		nanosleep(&ts, NULL);
	}
	if (!l.up)
		log_warn("%s: link is down after %u ms", dname(dev), timeout_ms);
}

static int vnet_stats_update(struct net_dev *nd, struct updk_net_stats *st)
{
	struct vnet_dev *dev = nd->priv;
	int rc = vnet_check_status(dev);

	for (uint16_t q = 0; q < dev->n_pairs && q < UPDK_NET_MAX_QUEUES; q++) {
		struct vnet_seen *s = &dev->seen[q], now = { 0 };

		if (q < dev->n_rxq) {
			struct vnet_rxq *r = &dev->rxq[q];

			now.rx_packets = r->packets;
			now.rx_bytes = r->bytes;
			now.rx_errors = r->errors;
			now.rx_nobuf = r->nobuf;
		}
		if (q < dev->n_txq) {
			struct vnet_txq *t = &dev->txq[q];

			now.tx_packets = t->packets;
			now.tx_bytes = t->bytes;
			now.tx_errors = t->errors;
		}
		st->rx_packets += now.rx_packets - s->rx_packets;
		st->rx_bytes += now.rx_bytes - s->rx_bytes;
		st->rx_errors += now.rx_errors - s->rx_errors;
		st->rx_nobuf += now.rx_nobuf - s->rx_nobuf;
		st->tx_packets += now.tx_packets - s->tx_packets;
		st->tx_bytes += now.tx_bytes - s->tx_bytes;
		st->tx_errors += now.tx_errors - s->tx_errors;
		st->q[q].rx_packets += now.rx_packets - s->rx_packets;
		st->q[q].rx_bytes += now.rx_bytes - s->rx_bytes;
		st->q[q].tx_packets += now.tx_packets - s->tx_packets;
		st->q[q].tx_bytes += now.tx_bytes - s->tx_bytes;
		*s = now;
	}
	return rc;
}

/* ---- open and close ---------------------------------------------------------------------- */

static bool vnet_match(uint16_t vendor_id, uint16_t device_id)
{
	return vendor_id == VIRTIO_PCI_VENDOR && device_id == VIRTIO_PCI_DEVICE_NET_MODERN;
}

static void release(struct vnet_dev *dev)
{
	for (uint16_t q = 0; dev->rxq && q < dev->n_pairs; q++) {
		vnet_rxq_drain(&dev->rxq[q]);
		vq_free(&dev->rxq[q].vq);
	}
	for (uint16_t q = 0; dev->txq && q < dev->n_pairs; q++) {
		vnet_txq_drain(&dev->txq[q]);
		vq_free(&dev->txq[q].vq);
	}
	if (dev->ctrl.mem)
		updk_dma_free(dev->ctrl.mem);
	updk_dma_free(dev->ctrl_buf);
	free(dev->rxq);
	free(dev->txq);
	free(dev);
}

static int read_mac(struct vnet_dev *dev)
{
	struct net_dev *nd = dev->nd;

	if (vnet_has(dev, VIRTIO_NET_F_MAC)) {
		devcfg_read(dev, VIRTIO_NET_CFG_MAC, nd->mac, 6);
		return 0;
	}
	/* §5.1.5: without VIRTIO_NET_F_MAC the driver picks one: locally administered, unicast */
	for (int i = 0; i < 6; i++)
		nd->mac[i] = (uint8_t)rand();
	nd->mac[0] = (uint8_t)((nd->mac[0] & 0xfe) | 0x02);
	log_warn("%s: the device has no MAC address (no VIRTIO_NET_F_MAC): using a random one",
		 dname(dev));
	return 0;
}

static int setup_queues(struct vnet_dev *dev)
{
	struct net_dev *nd = dev->nd;
	int rc;

	dev->rxq = aligned_alloc(64, sizeof(*dev->rxq) * dev->n_pairs);
	dev->txq = aligned_alloc(64, sizeof(*dev->txq) * dev->n_pairs);
	if (!dev->rxq || !dev->txq)
		return -ENOMEM;
	memset(dev->rxq, 0, sizeof(*dev->rxq) * dev->n_pairs);
	memset(dev->txq, 0, sizeof(*dev->txq) * dev->n_pairs);
	/* §5.1.2: receiveq N is virtqueue 2N, transmitq N is 2N+1 */
	for (uint16_t q = 0; q < dev->n_pairs; q++) {
		struct vnet_rxq *r = &dev->rxq[q];
		struct vnet_txq *t = &dev->txq[q];

		r->dev = dev;
		r->pool = nd->pool;
		r->headroom = nd->pool->headroom;
		r->room = (uint16_t)(nd->pool->buf_len - nd->pool->headroom);
		r->mrg_rxbuf = vnet_has(dev, VIRTIO_NET_F_MRG_RXBUF);
		t->dev = dev;
		t->stall_tsc = updk_tsc_hz() * TX_STALL_MS / 1000;
		rc = vq_setup(dev, &r->vq, (uint16_t)(2 * q), nd->opts.rx_ring_size, NULL);
		if (rc)
			return rc;
		rc = vq_setup(dev, &t->vq, (uint16_t)(2 * q + 1), nd->opts.tx_ring_size, NULL);
		if (rc)
			return rc;
	}
	if (dev->has_ctrl) {
		/* §5.1.2: the control queue follows the last possible pair: 2 * max_virtqueue_pairs */
		dev->ctrl_buf = updk_dma_zalloc(CTRL_BUF_LEN, 64, updk_pci_numa_node(dev->pci),
						&dev->ctrl_iova);
		if (!dev->ctrl_buf)
			return -ENOMEM;
		rc = vq_setup(dev, &dev->ctrl, (uint16_t)(2 * dev->max_pairs), CTRL_QUEUE_SIZE,
			      dev->ctrl_cookie);
		if (rc)
			return rc;
	}
	return 0;
}

static int vnet_init(struct net_dev *nd)
{
	struct vnet_dev *dev = calloc(1, sizeof(*dev));
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->nd = nd;
	dev->pci = nd->pci;
	nd->priv = dev;
	if (nd->opts.tx_offload) {
		log_err("%s: tx_offload is not supported by the virtio-net driver yet: open "
			"without it and compute checksums in software",
			dname(dev));
		rc = -ENOTSUP;
		goto fail;
	}
	rc = updk_pci_enable(nd->pci, true);
	if (rc) {
		log_err("%s: cannot enable memory space and bus mastering: %s", dname(dev),
			strerror(-rc));
		goto fail;
	}
	rc = find_structures(dev); /* §4.1.4 */
	if (rc)
		goto fail;
	rc = reset(dev); /* §3.1.1 step 1 */
	if (rc)
		goto fail;
	status_set(dev, VIRTIO_STATUS_ACKNOWLEDGE); /* step 2 */
	status_set(dev, VIRTIO_STATUS_DRIVER); /* step 3 */
	rc = negotiate(dev); /* steps 4-6 */
	if (rc)
		goto fail_dev;

	/* step 7: device-specific setup (§5.1.5) */
	dev->num_queues = cc_r16(dev, VIRTIO_COMMON_NUMQ);
	dev->max_pairs = 1;
	if (vnet_has(dev, VIRTIO_NET_F_MQ)) {
		devcfg_read(dev, VIRTIO_NET_CFG_MAX_PAIRS, &dev->max_pairs, 2);
		if (dev->max_pairs < VIRTIO_NET_MQ_PAIRS_MIN ||
		    dev->max_pairs > VIRTIO_NET_MQ_PAIRS_MAX) {
			log_err("%s: max_virtqueue_pairs %u is outside 1..0x8000 (virtio 1.1 §5.1.4)",
				dname(dev), dev->max_pairs);
			rc = -EIO;
			goto fail_dev;
		}
	}
	dev->has_ctrl = vnet_has(dev, VIRTIO_NET_F_CTRL_VQ);
	dev->n_rxq = nd->opts.rx_queues;
	dev->n_txq = nd->opts.tx_queues;
	dev->n_pairs = dev->n_rxq > dev->n_txq ? dev->n_rxq : dev->n_txq;
	if (dev->n_pairs > dev->max_pairs) {
		log_err("%s: %u queue pairs asked for, the device has %u%s", dname(dev),
			dev->n_pairs, dev->max_pairs,
			vnet_has(dev, VIRTIO_NET_F_MQ) ? "" :
							 " (no VIRTIO_NET_F_MQ: in QEMU, give the "
							 "device mq=on and the netdev queues=N)");
		rc = -EINVAL;
		goto fail_dev;
	}
	if ((uint32_t)2 * dev->max_pairs + dev->has_ctrl > dev->num_queues) {
		log_err("%s: the device has %u virtqueues, fewer than its %u pairs%s need",
			dname(dev), dev->num_queues, dev->max_pairs,
			dev->has_ctrl ? " and control queue" : "");
		rc = -EIO;
		goto fail_dev;
	}
	rc = read_mac(dev);
	if (rc)
		goto fail_dev;
	cc_w16(dev, VIRTIO_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	rc = setup_queues(dev);
	if (rc)
		goto fail_dev;
	status_set(dev, VIRTIO_STATUS_DRIVER_OK); /* step 8 */
	rc = vnet_check_status(dev);
	if (rc)
		goto fail_dev;

	/* §5.1.6.5.5: more than one pair is used only after VQ_PAIRS_SET */
	if (dev->n_pairs > 1) {
		uint16_t pairs = dev->n_pairs;

		rc = ctrl_cmd(dev, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2);
		if (rc)
			goto fail_dev;
	}
	/* Devices may start promiscuous (QEMU does): say what was asked for. */
	if (vnet_has(dev, VIRTIO_NET_F_CTRL_RX)) {
		rc = vnet_set_promiscuous(nd, nd->opts.promiscuous);
		if (rc)
			goto fail_dev;
	} else if (nd->opts.promiscuous) {
		log_warn(
			"%s: no VIRTIO_NET_F_CTRL_RX: promiscuous mode is whatever the device does",
			dname(dev));
	}
	for (uint16_t q = 0; q < dev->n_pairs; q++) {
		rc = vnet_rx_fill(&dev->rxq[q]);
		if (rc) {
			log_err("%s: pool %s has too few buffers to fill receive queue %u",
				dname(dev), nd->pool->name, q);
			goto fail_dev;
		}
	}
	for (uint16_t q = 0; q < dev->n_rxq; q++)
		nd->pub.rx[q] = (struct updk_net_fastq){ vnet_rx_burst, &dev->rxq[q] };
	for (uint16_t q = 0; q < dev->n_txq; q++)
		nd->pub.tx[q] = (struct updk_net_fastq){ vnet_tx_burst, &dev->txq[q] };
	nd->pub.n_rxq = dev->n_rxq;
	nd->pub.n_txq = dev->n_txq;
	link_wait(dev, nd->opts.link_wait_ms);
	log_info("%s: virtio-net, %u rx / %u tx queues, features 0x%016llx, MAC "
		 "%02x:%02x:%02x:%02x:%02x:%02x",
		 dname(dev), dev->n_rxq, dev->n_txq, (unsigned long long)dev->features, nd->mac[0],
		 nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5]);
	return 0;

fail_dev:
	fail_device(dev);
fail:
	updk_pci_enable(nd->pci, false);
	release(dev);
	nd->priv = NULL;
	return rc;
}

static void vnet_fini(struct net_dev *nd)
{
	struct vnet_dev *dev = nd->priv;

	reset(dev); /* §4.1.4.3.2: after the reset reads back, the device no longer uses the rings */
	updk_pci_enable(nd->pci, false);
	release(dev);
	nd->priv = NULL;
}

/* ---- test hook (virtio_net_test.h) ------------------------------------------------------- */

int vnet_test_bad_avail(struct updk_net_dev *pub, uint16_t txq)
{
	struct net_dev *nd = net_dev_of(pub);
	struct vnet_dev *dev = nd->priv;
	struct virtq *vq;

	if (nd->drv != &virtio_net_driver || txq >= dev->n_txq)
		return -EINVAL;
	vq = &dev->txq[txq].vq;
	/* virtio 1.2 §2.7.6: ring entries are heads of chains, below Queue Size; this one is not */
	vq->avail->ring[vq->avail_idx & vq->mask] = vq->size;
	vq->avail_idx++;
	virtq_publish(vq);
	virtq_notify(vq);
	return 0;
}

const struct net_driver virtio_net_driver = {
	.name = "virtio-net",
	.match = vnet_match,
	.init = vnet_init,
	.fini = vnet_fini,
	.link = vnet_link,
	.set_promiscuous = vnet_set_promiscuous,
	.stats_update = vnet_stats_update,
};
