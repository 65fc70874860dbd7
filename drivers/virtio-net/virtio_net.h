/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drivers/virtio-net internals: device and queue state shared by bring-up and the data path,
 * and what each file of the folder offers the others.
 */
#ifndef UPDK_VIRTIO_NET_VIRTIO_NET_H
#define UPDK_VIRTIO_NET_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <updk/net.h>
#include <updk/pci.h>

#include "drivers/virtio-net/virtio_regs.h"
#include "drivers/virtio-net/virtq.h"
#include "lib/net/net_driver.h"

struct vnet_dev;

/* A receive queue: virtqueue 2q (§5.1.2). */
struct vnet_rxq {
	struct virtq vq;
	bool broken; /* the device needs a reset: bursts take and give nothing (vnet_check_status) */
	struct updk_pktpool *pool;
	uint16_t headroom; /* data_off of received data; the header sits just before it */
	uint16_t room; /* bytes after the headroom */
	uint16_t skip; /* buffers of a multi-buffer frame still to drop (MRG_RXBUF) */
	bool mrg_rxbuf;
	uint64_t packets, bytes, errors, nobuf;
	struct vnet_dev *dev;
} __attribute__((aligned(64)));

/* A transmit queue: virtqueue 2q + 1 (§5.1.2). */
struct vnet_txq {
	struct virtq vq;
	bool broken; /* as in vnet_rxq */
	uint32_t stalls; /* bursts in a row that found the ring full after reclaiming */
	uint64_t stall_since; /* TSC when the ring was last seen full with the device checked */
	uint64_t stall_tsc; /* TX_STALL_MS in TSC ticks */
	uint64_t packets, bytes, errors;
	struct vnet_dev *dev;
} __attribute__((aligned(64)));

/* What stats_update last reported of a queue, to add only the difference. */
struct vnet_seen {
	uint64_t rx_packets, rx_bytes, rx_errors, rx_nobuf, tx_packets, tx_bytes, tx_errors;
};

struct vnet_dev {
	struct net_dev *nd;
	struct updk_pci_dev *pci;
	volatile uint8_t *common; /* §4.1.4.3 */
	volatile uint8_t *devcfg; /* §4.1.4.6 */
	volatile uint8_t *isr; /* §4.1.4.5 (located, not used: no interrupts) */
	volatile uint8_t *notify_base; /* §4.1.4.4 */
	uint32_t notify_len;
	uint32_t notify_mult;
	uint32_t devcfg_len;
	uint64_t features; /* negotiated */
	uint16_t num_queues; /* the device's */
	uint16_t max_pairs; /* §5.1.4: 1 without VIRTIO_NET_F_MQ */
	uint16_t n_pairs; /* queue pairs in use */
	uint16_t n_rxq, n_txq;
	struct vnet_rxq *rxq; /* n_pairs of each, so that every pair's rx is filled */
	struct vnet_txq *txq;
	struct virtq ctrl; /* §5.1.6.5, when VIRTIO_NET_F_CTRL_VQ */
	bool has_ctrl;
	void *ctrl_buf; /* DMA: command header, data, ack */
	uint64_t ctrl_iova;
	void *ctrl_cookie[64];
	struct vnet_seen seen[UPDK_NET_MAX_QUEUES];
	bool warned_tx_headroom;
	bool broken; /* NEEDS_RESET, FAILED or gone was seen and reported */
};

static inline bool vnet_has(const struct vnet_dev *dev, unsigned bit)
{
	return (dev->features >> bit) & 1;
}

static inline const char *dname(const struct vnet_dev *dev)
{
	return updk_pci_name(dev->pci);
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- virtio_net.c: the driver (open, close, link, statistics) ---------------------------- */

extern const struct net_driver virtio_net_driver;

uint16_t vnet_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);
/* Receive interrupts (lib/net's rx_intr_arm/disarm): used buffer notifications of the receive
 * virtqueue on its MSI-X vector (§2.7.7, §4.1.4.3). */
int vnet_rx_intr_arm(struct net_dev *nd, uint16_t q);
void vnet_rx_intr_disarm(struct net_dev *nd, uint16_t q);
uint16_t vnet_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);
/*
 * Read the device status (§2.1) and, on DEVICE_NEEDS_RESET, FAILED or a device that is gone,
 * log it once, mark every queue broken and return -EIO (-ENODEV when gone); else 0. Any thread.
 */
int vnet_check_status(struct vnet_dev *dev);

/* How long a transmit ring stays full before the sender reads the device status. */
#define TX_STALL_MS 100

/* ---- virtio_net_rxtx.c: the bursts --------------------------------------------------------- */

/* Fill every free descriptor of a receive queue; 0 or -ENOBUFS. Control path (open). */
int vnet_rx_fill(struct vnet_rxq *q);
/* Give back every buffer still in a queue (after the device was reset). */
void vnet_rxq_drain(struct vnet_rxq *q);
void vnet_txq_drain(struct vnet_txq *q);

/* ---- virtio_pci.c: the virtio 1.x PCI transport (virtio 1.1 §4.1) ---------------------------- */

/* Map the common, notify, ISR and device configuration structures its vendor capabilities name
 * (§4.1.4), the first of each type. 0, or -ENODEV/-EIO after a message. */
int vnet_find_structures(struct vnet_dev *dev);
/* The device status (§2.1), and setting bits in it. */
uint8_t vnet_status(struct vnet_dev *dev);
void vnet_status_set(struct vnet_dev *dev, uint8_t bits);
/* Reset the device and wait until its status reads 0 (§4.1.4.3.2). 0 or -ETIMEDOUT, logged. */
int vnet_reset(struct vnet_dev *dev);
/* §3.1.1 step 8: tell the device the driver gave up, then reset it. */
void vnet_fail_device(struct vnet_dev *dev);
/* The 64 feature bits the device offers (§2.2). */
uint64_t vnet_device_features(struct vnet_dev *dev);
/* Write the driver's features @f and FEATURES_OK; false if the device cleared FEATURES_OK
 * again, refusing the subset (§3.1.1 steps 5-6). */
bool vnet_set_features(struct vnet_dev *dev, uint64_t f);
/* The device's number of virtqueues (num_queues, §4.1.4.3). */
uint16_t vnet_num_queues(struct vnet_dev *dev);
/* The MSI-X vector of configuration changes (msix_config, §4.1.4.3; VIRTIO_MSI_NO_VECTOR). */
void vnet_config_vector(struct vnet_dev *dev, uint16_t vector);
/* Read @len bytes at @off of the device configuration (§4.1.4.6) at their natural widths,
 * again until config_generation is the same before and after (§2.4.1). */
void vnet_devcfg_read(struct vnet_dev *dev, uint32_t off, void *buf, uint32_t len);
/* Allocate and program virtqueue @index with at most @want entries and MSI-X vector @vector
 * (VIRTIO_MSI_NO_VECTOR: none), and enable it (§4.1.5.1.3). @cookies NULL: allocated here. 0 or
 * -errno, logged; vnet_vq_free() either way. */
int vnet_vq_setup(struct vnet_dev *dev, struct virtq *vq, uint16_t index, uint16_t want,
		  uint16_t vector, void **cookies);
/* Free a data queue's ring and cookie table (the control queue's table is in vnet_dev). */
void vnet_vq_free(struct virtq *vq);

/* ---- virtio_ctrl.c: the control queue (§5.1.6.5) -------------------------------------------- */

/* Its DMA buffer and virtqueue (2 * max_pairs, §5.1.2). 0 or -errno; vnet_ctrl_free() either way. */
int vnet_ctrl_setup(struct vnet_dev *dev);
void vnet_ctrl_free(struct vnet_dev *dev);
/* Send command @class.@cmd with @len bytes of @data and wait for the device's ack. 0, or
 * -ENOTSUP (no control queue), -EINVAL (@len too long), -EIO (refused), -ETIMEDOUT; logged. */
int vnet_ctrl_cmd(struct vnet_dev *dev, uint8_t class, uint8_t cmd, const void *data, uint32_t len);
/* The driver's set_promiscuous (VIRTIO_NET_CTRL_RX_PROMISC, §5.1.6.5.1). */
int vnet_set_promiscuous(struct net_dev *nd, bool on);

#endif
