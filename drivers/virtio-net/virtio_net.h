/* SPDX-License-Identifier: BSD-3-Clause */
/* drivers/virtio-net internals: device and queue state shared by bring-up and the data path. */
#ifndef UPDK_VIRTIO_NET_VIRTIO_NET_H
#define UPDK_VIRTIO_NET_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <updk/net.h>

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

extern const struct net_driver virtio_net_driver;

uint16_t vnet_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);
uint16_t vnet_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);
/*
 * Read the device status (§2.1) and, on DEVICE_NEEDS_RESET, FAILED or a device that is gone,
 * log it once, mark every queue broken and return -EIO (-ENODEV when gone); else 0. Any thread.
 */
int vnet_check_status(struct vnet_dev *dev);

/* How long a transmit ring stays full before the sender reads the device status. */
#define TX_STALL_MS 100

/* Fill every free descriptor of a receive queue; 0 or -ENOBUFS. Control path (open). */
int vnet_rx_fill(struct vnet_rxq *q);
/* Give back every buffer still in a queue (after the device was reset). */
void vnet_rxq_drain(struct vnet_rxq *q);
void vnet_txq_drain(struct vnet_txq *q);

#endif
