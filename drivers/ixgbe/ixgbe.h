/* SPDX-License-Identifier: BSD-3-Clause */
/* drivers/ixgbe internals: the device and its queues. */
#ifndef UPDK_IXGBE_IXGBE_H
#define UPDK_IXGBE_IXGBE_H

#include <stdbool.h>
#include <stdint.h>

#include <updk/net.h>
#include <updk/pci.h>

#include "drivers/ixgbe/ixgbe_desc.h"

/* Most descriptors one receive burst looks at (bounds the on-stack refill array). */
#define IXGBE_RX_BURST_MAX 64
/* Transmit descriptors per RS bit and per clean batch (§7.2.3.5.2: write-back on RS). */
#define IXGBE_TX_RS_BATCH 32

struct net_dev;

/* One receive ring: owned by one thread; fields in the order the burst touches them. */
struct ixgbe_rxq {
	volatile union ixgbe_rx_desc *ring;
	struct updk_pkt **shadow; /* the buffer behind each descriptor: write-back overwrites it */
	volatile uint32_t *rdt; /* RDT doorbell in BAR0 */
	struct updk_pktpool *pool;
	uint16_t mask; /* ring size - 1 */
	uint16_t next; /* next descriptor to look at */
	uint16_t headroom; /* data_off of a received packet */
	uint16_t max_len; /* bytes a buffer takes from the device */
	uint16_t buf_len; /* the pool's updk_pkt.buf_len */
	uint16_t qid;
	bool discard; /* inside a frame that spans descriptors: drop up to its EOP */
	uint8_t irq_bit; /* its interrupt: the MSI-X vector, or the EICR bit (ixgbe_intr.c) */
	uint64_t nobuf; /* bursts that found the pool empty */
	uint64_t errors; /* frames dropped by the driver: device-flagged errors, bad lengths */
	uint64_t ring_iova;
	unsigned n_stash; /* fresh buffers in stash[], taken from the pool in bulk */
	struct updk_pkt *stash[IXGBE_RX_BURST_MAX];
};

/* One transmit ring. */
struct ixgbe_txq {
	volatile union ixgbe_tx_desc *ring;
	struct updk_pkt **shadow;
	volatile uint32_t *tdt; /* TDT doorbell in BAR0 */
	uint16_t mask;
	uint16_t tail; /* next descriptor to fill */
	uint16_t clean; /* first descriptor not yet given back (a multiple of the RS batch) */
	uint16_t qid;
	uint32_t cleaned; /* batches given back, ever: tells a stall from progress */
	uint64_t ring_iova;
	/* checksum offload path only (ixgbe_tx_burst_offload) */
	uint32_t ctx_key; /* what context slot 0 holds; 0: nothing yet */
	uint64_t bad_offload; /* packets refused: offload asked with impossible lengths */
	/* A full ring that stays full (tx_ring_full()): cold fields, off the fast path. */
	uint32_t full_bursts; /* bursts that found the ring full */
	uint32_t stall_cleaned; /* cleaned when the stall began */
	bool stall_logged; /* this stall has been logged */
	uint64_t stall_since; /* TSC when the stall began */
	uint64_t stall_tsc; /* how long a stall lasts before it is logged (1 s of TSC) */
	struct updk_pci_dev *pci; /* for its name and LINKS, read once a stall is logged */
};

enum ixgbe_mac { IXGBE_MAC_82599, IXGBE_MAC_X540, IXGBE_MAC_X550 };

struct ixgbe_dev {
	struct net_dev *nd;
	struct updk_pci_dev *pci;
	uint8_t *bar;
	enum ixgbe_mac mac_type;
	uint16_t n_rxq, n_txq;
	bool intr_msix; /* receive interrupts on MSI-X vectors (ixgbe_intr.c) */
	bool intr_shared; /* ... one vector for several queues: their cause is one EICR_EX bit */
	struct ixgbe_rxq rxq[UPDK_NET_MAX_QUEUES];
	struct ixgbe_txq txq[UPDK_NET_MAX_QUEUES];
	struct {
		uint64_t rx_nobuf, rx_errors, tx_bad;
	} seen[UPDK_NET_MAX_QUEUES]; /* data-path counters already added to the totals */
};

uint16_t ixgbe_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);

/* ixgbe_intr.c: receive interrupts (opts.rx_interrupts); setup before the queues start. */
int ixgbe_rx_intr_setup(struct ixgbe_dev *dev);
int ixgbe_rx_intr_arm(struct net_dev *nd, uint16_t q);
void ixgbe_rx_intr_disarm(struct net_dev *nd, uint16_t q);
uint16_t ixgbe_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n);
/* Transmit honouring UPDK_PKT_TX_* checksum requests (context descriptors, §7.2.3.2.3). */
uint16_t ixgbe_tx_burst_offload(void *queue, struct updk_pkt **pkts, uint16_t n);
/* Flags for a received packet from its write-back words (exposed for the unit tests). */
uint16_t ixgbe_rx_flags(uint32_t info, uint32_t status_err);

#endif
