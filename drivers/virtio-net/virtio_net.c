// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio-net over the modern virtio 1.x PCI transport (device 1af4:1041), control path: open
 * and close, link, statistics, and the device status as the data path sees it. The transport's
 * registers are in virtio_pci.c, the control queue in virtio_ctrl.c, the bursts in
 * virtio_net_rxtx.c.
 *
 * Bring-up follows virtio 1.1 §3.1.1 and each step cites its section: the vendor capabilities
 * that place the common, notify, ISR and device configuration structures in the BARs (§4.1.4),
 * reset and its read-back (§4.1.4.3.2), ACKNOWLEDGE and DRIVER, feature negotiation with
 * VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM required (§6; without the latter the device
 * would bypass the IOMMU that VFIO programs, so such a device is refused), FEATURES_OK written
 * and read back, the virtqueues (§4.1.5.1.3), DRIVER_OK; then the control queue commands
 * (§5.1.6.5): queue pairs with MQ, promiscuous mode with CTRL_RX.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_COMPONENT "virtio-net"
#include "lib/util/log.h"

#include <updk/pci.h>
#include <updk/tsc.h>

#include "drivers/virtio-net/virtio_net.h"
#include "drivers/virtio-net/virtio_net_test.h"
#include "lib/net/pkt_pool.h"

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
	uint8_t s = vnet_status(dev);
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

/* ---- features (§2.2, §3.1.1 steps 4-6) --------------------------------------------------- */

static int negotiate(struct vnet_dev *dev)
{
	const uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_ACCESS_PLATFORM |
			      1ull << VIRTIO_F_RING_EVENT_IDX | 1ull << VIRTIO_NET_F_MAC |
			      1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_STATUS |
			      1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_CTRL_RX |
			      1ull << VIRTIO_NET_F_MQ | 1ull << VIRTIO_NET_F_SPEED_DUPLEX;
	uint64_t offered = vnet_device_features(dev), f = offered & want;

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
	if (!vnet_set_features(dev, f)) {
		log_err("%s: the device refused features 0x%016llx (offered 0x%016llx)", dname(dev),
			(unsigned long long)f, (unsigned long long)offered);
		return -EIO;
	}
	dev->features = f;
	log_debug("%s: features offered 0x%016llx, negotiated 0x%016llx", dname(dev),
		  (unsigned long long)offered, (unsigned long long)f);
	return 0;
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
		vnet_devcfg_read(dev, VIRTIO_NET_CFG_STATUS, &st, 2);
	if (vnet_has(dev, VIRTIO_NET_F_SPEED_DUPLEX) && dev->devcfg_len >= VIRTIO_NET_CFG_SPEED + 4)
		vnet_devcfg_read(dev, VIRTIO_NET_CFG_SPEED, &speed, 4);
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
		vnet_vq_free(&dev->rxq[q].vq);
	}
	for (uint16_t q = 0; dev->txq && q < dev->n_pairs; q++) {
		vnet_txq_drain(&dev->txq[q]);
		vnet_vq_free(&dev->txq[q].vq);
	}
	vnet_ctrl_free(dev);
	free(dev->rxq);
	free(dev->txq);
	free(dev);
}

static int read_mac(struct vnet_dev *dev)
{
	struct net_dev *nd = dev->nd;

	if (vnet_has(dev, VIRTIO_NET_F_MAC)) {
		vnet_devcfg_read(dev, VIRTIO_NET_CFG_MAC, nd->mac, 6);
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

/* The MSI-X vector of receive queue @q: lib/net's, with rx_interrupts; none otherwise (the
 * queues beyond those asked for exist only to pair transmit queues). */
static uint16_t rx_vector(struct vnet_dev *dev, uint16_t q)
{
	if (!dev->nd->opts.rx_interrupts || q >= dev->n_rxq)
		return VIRTIO_MSI_NO_VECTOR;
	return (uint16_t)net_rx_intr_vector(dev->nd, q);
}

/*
 * Receive interrupts: the vectors before the queues are given theirs (§4.1.5.1.2). MSI-X only:
 * without it a virtio PCI device interrupts through INTx and its ISR status (§4.1.4.5), which
 * this driver does not serve.
 */
static int rx_intr_enable(struct vnet_dev *dev)
{
	int n = net_rx_intr_enable(dev->nd);

	if (n < 0)
		return n;
	if (updk_pci_irq_type(dev->pci) != UPDK_PCI_IRQ_MSIX) {
		log_err("%s: receive interrupts of virtio-net need MSI-X, and the function gave %s: "
			"open without rx_interrupts",
			dname(dev), updk_pci_irq_type_name(updk_pci_irq_type(dev->pci)));
		updk_pci_irq_disable(dev->pci);
		return -ENOTSUP;
	}
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
		rc = vnet_vq_setup(dev, &r->vq, (uint16_t)(2 * q), nd->opts.rx_ring_size,
				   rx_vector(dev, q), NULL);
		if (rc)
			return rc;
		rc = vnet_vq_setup(dev, &t->vq, (uint16_t)(2 * q + 1), nd->opts.tx_ring_size,
				   VIRTIO_MSI_NO_VECTOR, NULL);
		if (rc)
			return rc;
	}
	if (dev->has_ctrl) {
		rc = vnet_ctrl_setup(dev);
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
	rc = vnet_find_structures(dev); /* §4.1.4 */
	if (rc)
		goto fail;
	rc = vnet_reset(dev); /* §3.1.1 step 1 */
	if (rc)
		goto fail;
	vnet_status_set(dev, VIRTIO_STATUS_ACKNOWLEDGE); /* step 2 */
	vnet_status_set(dev, VIRTIO_STATUS_DRIVER); /* step 3 */
	rc = negotiate(dev); /* steps 4-6 */
	if (rc)
		goto fail_dev;

	/* step 7: device-specific setup (§5.1.5) */
	dev->num_queues = vnet_num_queues(dev);
	dev->max_pairs = 1;
	if (vnet_has(dev, VIRTIO_NET_F_MQ)) {
		vnet_devcfg_read(dev, VIRTIO_NET_CFG_MAX_PAIRS, &dev->max_pairs, 2);
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
	vnet_config_vector(dev, VIRTIO_MSI_NO_VECTOR); /* no configuration change interrupts */
	if (nd->opts.rx_interrupts) {
		rc = rx_intr_enable(dev);
		if (rc)
			goto fail_dev;
	}
	rc = setup_queues(dev);
	if (rc)
		goto fail_dev;
	vnet_status_set(dev, VIRTIO_STATUS_DRIVER_OK); /* step 8 */
	rc = vnet_check_status(dev);
	if (rc)
		goto fail_dev;

	/* §5.1.6.5.5: more than one pair is used only after VQ_PAIRS_SET */
	if (dev->n_pairs > 1) {
		uint16_t pairs = dev->n_pairs;

		rc = vnet_ctrl_cmd(dev, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				   2);
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
	vnet_fail_device(dev);
fail:
	updk_pci_enable(nd->pci, false);
	release(dev);
	nd->priv = NULL;
	return rc;
}

static void vnet_fini(struct net_dev *nd)
{
	struct vnet_dev *dev = nd->priv;

	vnet_reset(
		dev); /* §4.1.4.3.2: after the reset reads back, the device no longer uses the rings */
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
	.rx_intr_arm = vnet_rx_intr_arm,
	.rx_intr_disarm = vnet_rx_intr_disarm,
};
