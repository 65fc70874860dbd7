// SPDX-License-Identifier: BSD-3-Clause
/*
 * The ixgbe data path: advanced receive and transmit descriptors (82599 datasheet §7.1 and
 * §7.2). One doorbell per burst, buffers refilled and freed in bulk, no locks.
 */
#include "drivers/ixgbe/ixgbe.h"
#include "lib/net/pkt_pool.h"

#include <updk/mmio.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

uint16_t ixgbe_rx_flags(uint32_t info, uint32_t status_err)
{
	uint16_t flags = 0;

	/* §7.1.6.2: IPCS/L4CS say the device checked; IPE/TCPE say the check failed. */
	if (status_err & IXGBE_RXD_STAT_IPCS)
		flags |= (status_err & IXGBE_RXD_ERR_IPE) ? UPDK_PKT_RX_IP_CKSUM_BAD :
							    UPDK_PKT_RX_IP_CKSUM_GOOD;
	if (status_err & IXGBE_RXD_STAT_L4CS)
		flags |= (status_err & IXGBE_RXD_ERR_TCPE) ? UPDK_PKT_RX_L4_CKSUM_BAD :
							     UPDK_PKT_RX_L4_CKSUM_GOOD;
	if (info & IXGBE_RXD_RSSTYPE_MASK)
		flags |= UPDK_PKT_RX_RSS_HASH;
	return flags;
}

/*
 * §7.1.9 ring: the device owns [RDH, RDT), software the rest. A descriptor is ours once DD is
 * set; frames larger than one buffer (no EOP) are not expected with 2 KiB buffers and standard
 * frames, and are dropped whole if the device sends one.
 */
uint16_t ixgbe_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct ixgbe_rxq *q = queue;
	struct updk_pkt *fresh[IXGBE_RX_BURST_MAX];
	struct updk_pkt *bad[IXGBE_RX_BURST_MAX];
	uint16_t idx = q->next, ready = 0, out = 0, n_bad = 0;

	if (n > IXGBE_RX_BURST_MAX)
		n = IXGBE_RX_BURST_MAX;
	/* Pass 1: how many descriptors are done (DD), without touching the rest of them. */
	while (ready < n && (q->ring[(idx + ready) & q->mask].wb.status_err & IXGBE_RXD_STAT_DD))
		ready++;
	if (!ready)
		return 0;
	/* Replacement buffers for all of them at once; if there are none, try again later. */
	if (unlikely(pktpool_get_raw(q->pool, fresh, ready))) {
		q->nobuf++;
		return 0;
	}
	updk_rmb(); /* read the descriptors only after seeing DD */

	/* Pass 2: hand each buffer to the caller and the descriptor a fresh buffer. */
	for (uint16_t i = 0; i < ready; i++) {
		volatile union ixgbe_rx_desc *d = &q->ring[idx];
		struct updk_pkt *p = q->shadow[idx];
		uint32_t st = d->wb.status_err;
		uint16_t len = d->wb.length;

		if (likely((st & (IXGBE_RXD_STAT_EOP | IXGBE_RXD_ERR_RXE)) == IXGBE_RXD_STAT_EOP &&
			   len && len <= q->max_len && !q->discard)) {
			uint32_t info = d->wb.info;

			p->data_off = q->headroom;
			p->len = len;
			p->rss_hash = d->wb.rss_hash;
			p->flags = ixgbe_rx_flags(info, st);
			p->rx_queue = q->qid;
			pkts[out++] = p;
		} else {
			/* Device-written data is untrusted: drop what we cannot vouch for. */
			q->discard = !(st & IXGBE_RXD_STAT_EOP);
			q->errors++;
			bad[n_bad++] = p;
		}
		struct updk_pkt *f = fresh[i];

		q->shadow[idx] = f;
		ixgbe_rx_desc_arm(d, f->buf_iova + q->headroom);
		idx = (idx + 1) & q->mask;
	}
	q->next = idx;
	if (unlikely(n_bad))
		updk_pkt_free_bulk(bad, n_bad);
	/* The descriptor before next is the last one refilled: give the device up to it. */
	updk_wmb();
	updk_mmio_write32(q->rdt, (idx - 1) & q->mask);
	return out;
}

/* Give back one batch of sent buffers if the device has written back its RS descriptor. */
static inline bool tx_clean_batch(struct ixgbe_txq *q)
{
	uint16_t last = (q->clean + IXGBE_TX_RS_BATCH - 1) & q->mask;

	if (!(q->ring[last].wb.status & IXGBE_TXD_STAT_DD))
		return false;
	updk_pkt_free_bulk(&q->shadow[q->clean], IXGBE_TX_RS_BATCH);
	q->clean = (q->clean + IXGBE_TX_RS_BATCH) & q->mask;
	return true;
}

/*
 * §7.2.3 ring: software owns [TDT, TDH). RS is set on every 32nd descriptor (index 31 mod 32),
 * so the device writes back one DD per 32 and the clean frees 32 buffers in one put.
 */
uint16_t ixgbe_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct ixgbe_txq *q = queue;
	uint16_t used = (q->tail - q->clean) & q->mask;

	while (used >= IXGBE_TX_RS_BATCH && tx_clean_batch(q))
		used -= IXGBE_TX_RS_BATCH;

	uint16_t room = q->mask - used; /* one slot stays empty: TDT == TDH means empty */

	if (n > room)
		n = room;
	if (!n)
		return 0;
	uint16_t tail = q->tail;

	for (uint16_t i = 0; i < n; i++) {
		struct updk_pkt *p = pkts[i];

		q->shadow[tail] = p;
		ixgbe_tx_desc_data((union ixgbe_tx_desc *)&q->ring[tail], p->buf_iova + p->data_off,
				   p->len, 0,
				   (tail & (IXGBE_TX_RS_BATCH - 1)) == IXGBE_TX_RS_BATCH - 1);
		tail = (tail + 1) & q->mask;
	}
	q->tail = tail;
	updk_wmb();
	updk_mmio_write32(q->tdt, tail);
	return n;
}
