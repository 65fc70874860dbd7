// SPDX-License-Identifier: BSD-3-Clause
/*
 * ixgbe: Intel 82599, X540 and X550 10 GbE controllers. Control path: reset and bring-up in the
 * order of the 82599 datasheet §4.6, link, promiscuous mode, statistics, and teardown.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_COMPONENT "ixgbe"
#include "lib/util/log.h"

#include <updk/mem.h>
#include <updk/mmio.h>
#include <updk/tsc.h>

#include "drivers/ixgbe/ixgbe.h"
#include "drivers/ixgbe/ixgbe_regs.h"
#include "lib/net/net_driver.h"
#include "lib/net/pkt_pool.h"

#define INTEL_VENDOR_ID 0x8086

static const struct {
	uint16_t id;
	enum ixgbe_mac mac;
} ixgbe_ids[] = {
	{ 0x10f7, IXGBE_MAC_82599 }, /* 82599 KX4 */
	{ 0x1514, IXGBE_MAC_82599 }, /* 82599 KX4 mezzanine */
	{ 0x1517, IXGBE_MAC_82599 }, /* 82599 KR */
	{ 0x10f8, IXGBE_MAC_82599 }, /* 82599 combo backplane */
	{ 0x152a, IXGBE_MAC_82599 }, /* 82599 backplane FCoE */
	{ 0x10f9, IXGBE_MAC_82599 }, /* 82599 CX4 */
	{ 0x10fb, IXGBE_MAC_82599 }, /* 82599 SFP+ */
	{ 0x1529, IXGBE_MAC_82599 }, /* 82599 SFP+ FCoE */
	{ 0x1507, IXGBE_MAC_82599 }, /* 82599 SFP+ EM */
	{ 0x154d, IXGBE_MAC_82599 }, /* 82599 SFP+ SF2 */
	{ 0x1557, IXGBE_MAC_82599 }, /* 82599EN SFP+ */
	{ 0x154a, IXGBE_MAC_82599 }, /* 82599 SFP+ SF QP */
	{ 0x1558, IXGBE_MAC_82599 }, /* 82599 QSFP+ SF QP */
	{ 0x10fc, IXGBE_MAC_82599 }, /* 82599 XAUI LOM */
	{ 0x151c, IXGBE_MAC_82599 }, /* 82599 T3 LOM */
	{ 0x154f, IXGBE_MAC_82599 }, /* 82599 LS */
	{ 0x1528, IXGBE_MAC_X540 }, /* X540-T */
	{ 0x1560, IXGBE_MAC_X540 }, /* X540-T1 */
	{ 0x1563, IXGBE_MAC_X550 }, /* X550-T */
	{ 0x15d1, IXGBE_MAC_X550 }, /* X550-T1 */
};

/* The RSS key (any 40 bytes do; this is the one from Microsoft's RSS verification suite). */
static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
	0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
	0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

static int find_id(uint16_t vendor_id, uint16_t device_id, enum ixgbe_mac *mac)
{
	if (vendor_id != INTEL_VENDOR_ID)
		return -ENODEV;
	for (size_t i = 0; i < sizeof(ixgbe_ids) / sizeof(ixgbe_ids[0]); i++)
		if (ixgbe_ids[i].id == device_id) {
			*mac = ixgbe_ids[i].mac;
			return 0;
		}
	return -ENODEV;
}

static bool ixgbe_match(uint16_t vendor_id, uint16_t device_id)
{
	enum ixgbe_mac mac;

	return find_id(vendor_id, device_id, &mac) == 0;
}

static const char *dname(const struct ixgbe_dev *dev)
{
	return updk_pci_name(dev->pci);
}

static uint32_t rd(struct ixgbe_dev *dev, uint32_t off)
{
	return updk_pci_reg_read32(dev->pci, 0, off);
}

static void wr(struct ixgbe_dev *dev, uint32_t off, uint32_t val)
{
	updk_pci_reg_write32(dev->pci, 0, off, val);
}

static void set_bits(struct ixgbe_dev *dev, uint32_t off, uint32_t bits)
{
	wr(dev, off, rd(dev, off) | bits);
}

static void clear_bits(struct ixgbe_dev *dev, uint32_t off, uint32_t bits)
{
	wr(dev, off, rd(dev, off) & ~bits);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll @off until (value & @mask) == @want, for at most @timeout_ms. 0 or -ETIMEDOUT. */
static int wait_reg(struct ixgbe_dev *dev, uint32_t off, uint32_t mask, uint32_t want,
		    unsigned timeout_ms, const char *what)
{
	uint64_t deadline = now_ms() + timeout_ms;
	uint32_t v;

	for (;;) {
		v = rd(dev, off);
		if ((v & mask) == want)
			return 0;
		if (now_ms() > deadline)
			break;
		usleep(100);
	}
	log_err("%s: timed out after %u ms waiting for %s (register 0x%05x reads 0x%08x)",
		dname(dev), timeout_ms, what, off, v);
	return -ETIMEDOUT;
}

/* §4.6.3.1: mask every interrupt cause; updk polls. */
static void mask_interrupts(struct ixgbe_dev *dev)
{
	wr(dev, IXGBE_EIMC, IXGBE_EIMC_ALL);
	(void)rd(dev, IXGBE_EICR); /* read to clear anything already latched */
}

/* §4.6.3.2 global reset, then the waits of §4.6.3 (EEPROM auto-read, DMA init). */
static int reset(struct ixgbe_dev *dev)
{
	int rc;

	mask_interrupts(dev);
	wr(dev, IXGBE_CTRL, rd(dev, IXGBE_CTRL) | IXGBE_CTRL_RST_MASK);
	rc = wait_reg(dev, IXGBE_CTRL, IXGBE_CTRL_RST_MASK, 0, 1000, "CTRL.RST to self-clear");
	if (rc)
		return rc;
	/* §4.6.3.2: at least 10 ms before any further access after a reset. */
	usleep(10000);
	mask_interrupts(dev); /* §4.6.3.1: again, the reset unmasked nothing but be sure */
	rc = wait_reg(dev, IXGBE_EEC, IXGBE_EEC_ARD, IXGBE_EEC_ARD, 1000,
		      "EEC.ARD (EEPROM auto-read done)");
	if (rc)
		return rc;
	return wait_reg(dev, IXGBE_RDRXCTL, IXGBE_RDRXCTL_DMAIDONE, IXGBE_RDRXCTL_DMAIDONE, 1000,
			"RDRXCTL.DMAIDONE (DMA initialization done)");
}

/* §8.2.3.7: the MAC address the EEPROM loaded into receive address 0. */
static int read_mac(struct ixgbe_dev *dev)
{
	uint32_t lo = rd(dev, IXGBE_RAL(0)), hi = rd(dev, IXGBE_RAH(0));
	uint8_t *m = dev->nd->mac;

	m[0] = lo;
	m[1] = lo >> 8;
	m[2] = lo >> 16;
	m[3] = lo >> 24;
	m[4] = hi;
	m[5] = hi >> 8;
	if (!(hi & IXGBE_RAH_AV) || (m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5])) {
		log_err("%s: no valid MAC address in RAL/RAH(0) (0x%08x 0x%08x): is the EEPROM "
			"programmed?",
			dname(dev), lo, hi);
		return -EIO;
	}
	return 0;
}

/* §4.6.4 link setup: keep the EEPROM's link mode (it knows the board) and restart AN. */
static void link_setup(struct ixgbe_dev *dev)
{
	/*
	 * X540 and X550 copper ports are driven by their internal PHY's firmware; AUTOC applies to
	 * the 82599's MAC-side link (§8.2.3.22.19).
	 */
	if (dev->mac_type != IXGBE_MAC_82599)
		return;
	wr(dev, IXGBE_AUTOC, rd(dev, IXGBE_AUTOC) | IXGBE_AUTOC_AN_RESTART);
}

static int ixgbe_link(struct net_dev *nd, struct updk_net_link *link)
{
	struct ixgbe_dev *dev = nd->priv;
	uint32_t links = rd(dev, IXGBE_LINKS);

	link->up = links & IXGBE_LINKS_UP;
	link->speed_mbps = 0;
	if (link->up) {
		switch (links & IXGBE_LINKS_SPEED_MASK) {
		case IXGBE_LINKS_SPEED_10G:
			link->speed_mbps = 10000;
			break;
		case IXGBE_LINKS_SPEED_1G:
			link->speed_mbps = 1000;
			break;
		case IXGBE_LINKS_SPEED_100M:
			link->speed_mbps = 100;
			break;
		}
	}
	return 0;
}

/* Bounded wait for the link; down is reported, not fatal (a cable can come later). */
static void link_wait(struct ixgbe_dev *dev, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct updk_net_link l;

	for (;;) {
		ixgbe_link(dev->nd, &l);
		if (l.up) {
			log_info("%s: link up at %u Mbit/s", dname(dev), l.speed_mbps);
			return;
		}
		if (now_ms() > deadline)
			break;
		usleep(1000);
	}
	log_err("%s: link still down after %u ms (AUTOC=0x%08x LINKS=0x%08x): check the cable or "
		"SFP+ module and the far end; the port stays open",
		dname(dev), timeout_ms, rd(dev, IXGBE_AUTOC), rd(dev, IXGBE_LINKS));
}

static int ixgbe_set_promiscuous(struct net_dev *nd, bool on)
{
	struct ixgbe_dev *dev = nd->priv;

	/* §8.2.3.7 FCTRL: UPE/MPE accept every unicast/multicast frame. */
	if (on)
		set_bits(dev, IXGBE_FCTRL, IXGBE_FCTRL_UPE | IXGBE_FCTRL_MPE);
	else
		clear_bits(dev, IXGBE_FCTRL, IXGBE_FCTRL_UPE | IXGBE_FCTRL_MPE);
	return 0;
}

static uint64_t rd64(struct ixgbe_dev *dev, uint32_t lo, uint32_t hi)
{
	uint64_t l = rd(dev, lo);

	return l | ((uint64_t)rd(dev, hi) << 32);
}

/* §4.6.5 / §8.2.3.23: the counters clear on read, so every read is added to the totals. */
static int ixgbe_stats_update(struct net_dev *nd, struct updk_net_stats *st)
{
	struct ixgbe_dev *dev = nd->priv;
	uint64_t gprc = rd(dev, IXGBE_GPRC), gptc = rd(dev, IXGBE_GPTC);
	uint64_t gorc = rd64(dev, IXGBE_GORCL, IXGBE_GORCH);
	uint64_t gotc = rd64(dev, IXGBE_GOTCL, IXGBE_GOTCH);

	st->rx_packets += gprc;
	st->tx_packets += gptc;
	/* GORC/GOTC count the FCS; the API reports frames as the application sees them. */
	st->rx_bytes += gorc - gprc * IXGBE_FCS_LEN;
	st->tx_bytes += gotc - gptc * IXGBE_FCS_LEN;
	for (int i = 0; i < 8; i++)
		st->rx_dropped += rd(dev, IXGBE_MPC(i));
	st->rx_errors += rd(dev, IXGBE_CRCERRS) + rd(dev, IXGBE_RLEC) + rd(dev, IXGBE_ILLERRC);
	uint16_t nq = dev->n_rxq > dev->n_txq ? dev->n_rxq : dev->n_txq;

	/* Queue q is mapped to statistics register set q at bring-up (RQSMR/TQSM). */
	for (uint16_t q = 0; q < nq && q < IXGBE_STAT_QUEUES; q++) {
		struct updk_net_queue_stats *qs = &st->q[q];
		uint64_t drops = rd(dev, IXGBE_QPRDC(q));

		qs->rx_packets += rd(dev, IXGBE_QPRC(q));
		qs->rx_bytes += rd64(dev, IXGBE_QBRC_L(q), IXGBE_QBRC_H(q));
		qs->rx_dropped += drops;
		st->rx_dropped += drops;
		qs->tx_packets += rd(dev, IXGBE_QPTC(q));
		qs->tx_bytes += rd64(dev, IXGBE_QBTC_L(q), IXGBE_QBTC_H(q));
	}
	/*
	 * The data path's own counters are written by the queue's thread only: read them (an
	 * aligned 64-bit load) and add what is new since the last read, never reset them here.
	 */
	for (uint16_t q = 0; q < dev->n_rxq; q++) {
		uint64_t nobuf = __atomic_load_n(&dev->rxq[q].nobuf, __ATOMIC_RELAXED);
		uint64_t errs = __atomic_load_n(&dev->rxq[q].errors, __ATOMIC_RELAXED);

		st->rx_nobuf += nobuf - dev->seen[q].rx_nobuf;
		st->rx_errors += errs - dev->seen[q].rx_errors;
		dev->seen[q].rx_nobuf = nobuf;
		dev->seen[q].rx_errors = errs;
	}
	for (uint16_t q = 0; q < dev->n_txq; q++) {
		uint64_t bad = __atomic_load_n(&dev->txq[q].bad_offload, __ATOMIC_RELAXED);

		st->tx_errors += bad - dev->seen[q].tx_bad;
		dev->seen[q].tx_bad = bad;
	}
	return 0;
}

static void free_rxq(struct ixgbe_rxq *q)
{
	if (q->shadow) {
		for (unsigned i = 0; i <= q->mask; i++)
			if (q->shadow[i])
				updk_pkt_free(q->shadow[i]);
		free(q->shadow);
	}
	if (q->n_stash)
		updk_pkt_free_bulk(q->stash, q->n_stash);
	updk_dma_free((void *)q->ring);
	memset(q, 0, sizeof(*q));
}

static void free_txq(struct ixgbe_txq *q)
{
	if (q->shadow) {
		/* Buffers still held: those from the oldest unreturned batch up to the tail. */
		for (uint16_t i = q->clean; i != q->tail; i = (i + 1) & q->mask)
			if (q->shadow[i]) /* NULL: a context descriptor */
				updk_pkt_free(q->shadow[i]);
		free(q->shadow);
	}
	updk_dma_free((void *)q->ring);
	memset(q, 0, sizeof(*q));
}

/* §4.6.7: per-queue receive setup (§8.2.3.8), ring filled with buffers, not yet enabled. */
static int setup_rxq(struct ixgbe_dev *dev, uint16_t qi)
{
	struct ixgbe_rxq *q = &dev->rxq[qi];
	struct net_dev *nd = dev->nd;
	uint16_t size = nd->opts.rx_ring_size;
	size_t bytes = (size_t)size * sizeof(union ixgbe_rx_desc);

	q->ring = updk_dma_zalloc(bytes, 128, updk_pci_numa_node(dev->pci), &q->ring_iova);
	q->shadow = calloc(size, sizeof(*q->shadow));
	if (!q->ring || !q->shadow) {
		log_err("%s: no memory for receive ring %u (%u descriptors)", dname(dev), qi, size);
		free_rxq(q);
		return -ENOMEM;
	}
	q->mask = size - 1;
	q->pool = nd->pool;
	q->headroom = nd->pool->headroom;
	q->buf_len = nd->pool->buf_len;
	q->qid = qi;
	/* §8.2.3.8.7 BSIZEPKT is in KiB: offer the device whole KiB of the buffer only. */
	uint32_t room = nd->pool->buf_len - nd->pool->headroom;
	uint32_t kib = room >> IXGBE_SRRCTL_BSIZEPKT_SHIFT;

	if (kib > 16)
		kib = 16;
	q->max_len = (uint16_t)(kib << IXGBE_SRRCTL_BSIZEPKT_SHIFT);
	if (pktpool_get_raw(nd->pool, q->shadow, size)) {
		log_err("%s: pool %s has fewer than %u free buffers for receive ring %u: make it "
			"bigger",
			dname(dev), nd->pool->name, size, qi);
		free(q->shadow);
		q->shadow = NULL;
		free_rxq(q);
		return -ENOBUFS;
	}
	for (unsigned i = 0; i < size; i++)
		ixgbe_rx_desc_arm(&q->ring[i], q->shadow[i]->buf_iova + q->headroom);

	wr(dev, IXGBE_RDBAL(qi), (uint32_t)q->ring_iova);
	wr(dev, IXGBE_RDBAH(qi), (uint32_t)(q->ring_iova >> 32));
	wr(dev, IXGBE_RDLEN(qi), (uint32_t)bytes);
	wr(dev, IXGBE_RDH(qi), 0);
	wr(dev, IXGBE_RDT(qi), 0);
	/* §8.2.3.8.7: advanced one-buffer descriptors; DROP_EN drops when the ring is full
	 * instead of stalling the whole packet buffer behind one slow queue. */
	uint32_t srrctl = rd(dev, IXGBE_SRRCTL(qi));

	srrctl &= ~(IXGBE_SRRCTL_DESCTYPE_MASK | IXGBE_SRRCTL_BSIZEPKT_MASK);
	srrctl |= IXGBE_SRRCTL_DESCTYPE_ADV_ONEBUF | IXGBE_SRRCTL_DROP_EN | kib;
	wr(dev, IXGBE_SRRCTL(qi), srrctl);
	q->rdt = (volatile uint32_t *)(dev->bar + IXGBE_RDT(qi));
	return 0;
}

static int setup_txq(struct ixgbe_dev *dev, uint16_t qi)
{
	struct ixgbe_txq *q = &dev->txq[qi];
	uint16_t size = dev->nd->opts.tx_ring_size;
	size_t bytes = (size_t)size * sizeof(union ixgbe_tx_desc);

	q->ring = updk_dma_zalloc(bytes, 128, updk_pci_numa_node(dev->pci), &q->ring_iova);
	q->shadow = calloc(size, sizeof(*q->shadow));
	if (!q->ring || !q->shadow) {
		log_err("%s: no memory for transmit ring %u (%u descriptors)", dname(dev), qi,
			size);
		free_txq(q);
		return -ENOMEM;
	}
	q->mask = size - 1;
	q->qid = qi;
	/* §8.2.3.9.5-9.7 ring base and length; TDH = TDT = 0: empty. */
	wr(dev, IXGBE_TDBAL(qi), (uint32_t)q->ring_iova);
	wr(dev, IXGBE_TDBAH(qi), (uint32_t)(q->ring_iova >> 32));
	wr(dev, IXGBE_TDLEN(qi), (uint32_t)bytes);
	wr(dev, IXGBE_TDH(qi), 0);
	wr(dev, IXGBE_TDT(qi), 0);
	/*
	 * §7.2.3.4.1 / §8.2.3.9.10: prefetch when 32 descriptors are free in the on-chip cache
	 * (PTHRESH), host threshold 1, WTHRESH 0 so that only RS descriptors are written back.
	 */
	uint32_t txdctl = rd(dev, IXGBE_TXDCTL(qi)) & ~IXGBE_TXDCTL_THRESH_MASK;

	txdctl |= (32u << IXGBE_TXDCTL_PTHRESH_SHIFT) | (1u << IXGBE_TXDCTL_HTHRESH_SHIFT);
	wr(dev, IXGBE_TXDCTL(qi), txdctl);
	q->tdt = (volatile uint32_t *)(dev->bar + IXGBE_TDT(qi));
	q->pci = dev->pci;
	q->stall_tsc = updk_tsc_hz();
	return 0;
}

/* §7.1.2.8 / §8.2.3.7: RSS over the receive queues (MRQC, RETA, key). */
static void setup_rss(struct ixgbe_dev *dev)
{
	if (dev->n_rxq < 2) {
		wr(dev, IXGBE_MRQC, 0);
		return;
	}
	for (int i = 0; i < IXGBE_RSSRK_REGS; i++)
		wr(dev, IXGBE_RSSRK(i),
		   rss_key[4 * i] | (uint32_t)rss_key[4 * i + 1] << 8 |
			   (uint32_t)rss_key[4 * i + 2] << 16 | (uint32_t)rss_key[4 * i + 3] << 24);
	/* 128 entries, one byte each (queue in bits 3:0), round robin over the queues. */
	for (int i = 0; i < IXGBE_RETA_REGS; i++) {
		uint32_t v = 0;

		for (int b = 0; b < 4; b++)
			v |= (uint32_t)((4 * i + b) % dev->n_rxq) << (8 * b);
		wr(dev, IXGBE_RETA(i), v);
	}
	wr(dev, IXGBE_MRQC,
	   IXGBE_MRQC_RSSEN | IXGBE_MRQC_IPV4 | IXGBE_MRQC_TCPIPV4 | IXGBE_MRQC_UDPIPV4 |
		   IXGBE_MRQC_IPV6 | IXGBE_MRQC_TCPIPV6 | IXGBE_MRQC_UDPIPV6);
}

/* §8.2.3.23: queue q counts into statistics set q (four queues per map register). */
static void map_queue_stats(struct ixgbe_dev *dev)
{
	for (int r = 0; r < IXGBE_STAT_QUEUES / 4; r++) {
		uint32_t v = 0;

		for (int b = 0; b < 4; b++)
			v |= (uint32_t)(4 * r + b) << (8 * b);
		wr(dev, IXGBE_RQSMR(r), v);
		wr(dev, IXGBE_TQSM(r), v);
	}
}

/* §4.6.7 receive initialization. */
static int init_rx(struct ixgbe_dev *dev)
{
	int rc;

	/* §4.6.7: receive off while it is set up. */
	clear_bits(dev, IXGBE_RXCTRL, IXGBE_RXCTRL_RXEN);
	/* §4.6.11.3.4 (no DCB, no VT): one 128 KiB packet buffer, the others none. */
	wr(dev, IXGBE_RXPBSIZE(0), IXGBE_RXPBSIZE_128KB);
	for (int i = 1; i < 8; i++)
		wr(dev, IXGBE_RXPBSIZE(i), 0);
	/* §8.2.3.22.8 / §8.2.3.8.8: strip the FCS, in both places the datasheet asks. */
	set_bits(dev, IXGBE_HLREG0, IXGBE_HLREG0_RXCRCSTRP);
	set_bits(dev, IXGBE_RDRXCTL, IXGBE_RDRXCTL_CRCSTRIP);
	/* §8.2.3.7 FCTRL: accept broadcast. */
	set_bits(dev, IXGBE_FCTRL, IXGBE_FCTRL_BAM);
	for (uint16_t q = 0; q < dev->n_rxq; q++) {
		rc = setup_rxq(dev, q);
		if (rc)
			return rc;
	}
	setup_rss(dev);
	/* §4.6.7: the last step sets CTRL_EXT.NS_DIS (no snoop off for the descriptors). */
	set_bits(dev, IXGBE_CTRL_EXT, IXGBE_CTRL_EXT_NS_DIS);
	return 0;
}

/* §4.6.8 transmit initialization. */
static int init_tx(struct ixgbe_dev *dev)
{
	int rc;

	/* §8.2.3.22.8: the MAC appends the FCS and pads short frames. */
	set_bits(dev, IXGBE_HLREG0, IXGBE_HLREG0_TXCRCEN | IXGBE_HLREG0_TXPADEN);
	/* §4.6.11.3.4: one 40 KiB transmit packet buffer without DCB. */
	wr(dev, IXGBE_TXPBSIZE(0), IXGBE_TXPBSIZE_40KB);
	for (int i = 1; i < 8; i++)
		wr(dev, IXGBE_TXPBSIZE(i), 0);
	/* §4.6.8: DTXMXSZRQ to its maximum and the DCB arbiter enabled when not using DCB. */
	wr(dev, IXGBE_DTXMXSZRQ, 0xfff);
	clear_bits(dev, IXGBE_RTTDCS, IXGBE_RTTDCS_ARBDIS);
	for (uint16_t q = 0; q < dev->n_txq; q++) {
		rc = setup_txq(dev, q);
		if (rc)
			return rc;
	}
	/* §8.2.3.9: transmit DMA on. */
	wr(dev, IXGBE_DMATXCTL, IXGBE_DMATXCTL_TE);
	return 0;
}

/* §4.6.7.1 / §4.6.8.1: enable each queue, poll until the enable reads back, then set tails. */
static int start_queues(struct ixgbe_dev *dev)
{
	int rc;

	for (uint16_t q = 0; q < dev->n_rxq; q++) {
		set_bits(dev, IXGBE_RXDCTL(q), IXGBE_RXDCTL_ENABLE);
		rc = wait_reg(dev, IXGBE_RXDCTL(q), IXGBE_RXDCTL_ENABLE, IXGBE_RXDCTL_ENABLE, 1000,
			      "RXDCTL.ENABLE");
		if (rc)
			return rc;
		/* The whole ring but one slot is the device's: RDT = last descriptor. */
		wr(dev, IXGBE_RDT(q), dev->rxq[q].mask);
	}
	/* §4.6.7: receive on, after the queues. */
	set_bits(dev, IXGBE_RXCTRL, IXGBE_RXCTRL_RXEN);
	for (uint16_t q = 0; q < dev->n_txq; q++) {
		set_bits(dev, IXGBE_TXDCTL(q), IXGBE_TXDCTL_ENABLE);
		rc = wait_reg(dev, IXGBE_TXDCTL(q), IXGBE_TXDCTL_ENABLE, IXGBE_TXDCTL_ENABLE, 1000,
			      "TXDCTL.ENABLE");
		if (rc)
			return rc;
	}
	return 0;
}

/* Disable the queues and reset, so the device touches none of our memory any more. */
static void stop(struct ixgbe_dev *dev)
{
	clear_bits(dev, IXGBE_RXCTRL, IXGBE_RXCTRL_RXEN);
	for (uint16_t q = 0; q < dev->n_rxq; q++)
		clear_bits(dev, IXGBE_RXDCTL(q), IXGBE_RXDCTL_ENABLE);
	for (uint16_t q = 0; q < dev->n_txq; q++)
		clear_bits(dev, IXGBE_TXDCTL(q), IXGBE_TXDCTL_ENABLE);
	mask_interrupts(dev);
	wr(dev, IXGBE_CTRL, rd(dev, IXGBE_CTRL) | IXGBE_CTRL_RST_MASK);
	wait_reg(dev, IXGBE_CTRL, IXGBE_CTRL_RST_MASK, 0, 1000, "CTRL.RST to self-clear");
}

static void release(struct ixgbe_dev *dev)
{
	for (uint16_t q = 0; q < UPDK_NET_MAX_QUEUES; q++) {
		if (dev->rxq[q].ring || dev->rxq[q].shadow)
			free_rxq(&dev->rxq[q]);
		if (dev->txq[q].ring || dev->txq[q].shadow)
			free_txq(&dev->txq[q]);
	}
	free(dev);
}

static int ixgbe_init(struct net_dev *nd)
{
	struct ixgbe_dev *dev = calloc(1, sizeof(*dev));
	size_t bar_len = 0;
	int rc;

	if (!dev)
		return -ENOMEM;
	dev->nd = nd;
	dev->pci = nd->pci;
	dev->n_rxq = nd->opts.rx_queues;
	dev->n_txq = nd->opts.tx_queues;
	nd->priv = dev;
	find_id(updk_pci_vendor_id(nd->pci), updk_pci_device_id(nd->pci), &dev->mac_type);

	rc = updk_pci_enable(nd->pci, true);
	if (rc) {
		log_err("%s: cannot enable memory space and bus mastering: %s", dname(dev),
			strerror(-rc));
		goto fail;
	}
	dev->bar = updk_pci_bar(nd->pci, 0, &bar_len);
	if (!dev->bar || bar_len < IXGBE_BAR0_SIZE) {
		log_err("%s: BAR0 is %s (%zu bytes): an ixgbe function has 128 KiB of registers "
			"there",
			dname(dev), dev->bar ? "too small" : "not mappable", bar_len);
		rc = -ENODEV;
		goto fail;
	}

	/* §4.6.3 initialization sequence */
	rc = reset(dev); /* §4.6.3.1, §4.6.3.2 */
	if (rc)
		goto fail;
	rc = read_mac(dev);
	if (rc)
		goto fail;
	link_setup(dev); /* §4.6.4 */
	/* §4.6.5: statistics clear on read: read them once to start from zero. */
	map_queue_stats(dev);
	ixgbe_stats_update(nd, &nd->stats);
	memset(&nd->stats, 0, sizeof(nd->stats));
	rc = init_rx(dev); /* §4.6.7 */
	if (rc)
		goto fail_reset;
	rc = init_tx(dev); /* §4.6.8 */
	if (rc)
		goto fail_reset;
	if (nd->opts.promiscuous)
		ixgbe_set_promiscuous(nd, true);
	if (nd->opts.rx_interrupts) {
		rc = ixgbe_rx_intr_setup(dev);
		if (rc)
			goto fail_reset;
	}
	rc = start_queues(dev);
	if (rc)
		goto fail_reset;

	for (uint16_t q = 0; q < dev->n_rxq; q++)
		nd->pub.rx[q] = (struct updk_net_fastq){ ixgbe_rx_burst, &dev->rxq[q] };
	for (uint16_t q = 0; q < dev->n_txq; q++)
		nd->pub.tx[q] = (struct updk_net_fastq){
			nd->opts.tx_offload ? ixgbe_tx_burst_offload : ixgbe_tx_burst, &dev->txq[q]
		};
	nd->pub.n_rxq = dev->n_rxq;
	nd->pub.n_txq = dev->n_txq;
	link_wait(dev, nd->opts.link_wait_ms);
	log_info("%s: %u rx / %u tx queues, MAC %02x:%02x:%02x:%02x:%02x:%02x", dname(dev),
		 dev->n_rxq, dev->n_txq, nd->mac[0], nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4],
		 nd->mac[5]);
	return 0;

fail_reset:
	stop(dev);
fail:
	release(dev);
	nd->priv = NULL;
	return rc;
}

static void ixgbe_fini(struct net_dev *nd)
{
	struct ixgbe_dev *dev = nd->priv;

	stop(dev);
	updk_pci_enable(nd->pci, false);
	release(dev);
	nd->priv = NULL;
}

const struct net_driver ixgbe_driver = {
	.name = "ixgbe",
	.match = ixgbe_match,
	.init = ixgbe_init,
	.fini = ixgbe_fini,
	.link = ixgbe_link,
	.set_promiscuous = ixgbe_set_promiscuous,
	.stats_update = ixgbe_stats_update,
	.rx_intr_arm = ixgbe_rx_intr_arm,
	.rx_intr_disarm = ixgbe_rx_intr_disarm,
};
