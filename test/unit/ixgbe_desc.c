// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/ixgbe descriptor encoding and ring logic without a device: the test plays the
 * device's part on the descriptors (82599 datasheet §7.1.6, §7.2.3.2).
 */
#include <string.h>

#include <criterion/criterion.h>

#include <updk/mem.h>
#include <updk/net.h>

#include "drivers/ixgbe/ixgbe.h"

Test(ixgbe_desc, tx_data_encoding)
{
	union ixgbe_tx_desc d;

	ixgbe_tx_desc_data(&d, 0x123456789abcull, 60, 0, 0);
	cr_assert_eq(d.read.buf_addr, 0x123456789abcull);
	/* DTALEN 60, DTYP data (0011b at 23:20), DCMD EOP|IFCS|DEXT, no RS */
	cr_assert_eq(d.read.cmd_type_len, 60u | 0x3u << 20 | 1u << 24 | 1u << 25 | 1u << 29);
	cr_assert_eq(d.read.olinfo, 60u << 14, "PAYLEN at bits 31:14");
	ixgbe_tx_desc_data(&d, 0, 1514, IXGBE_TXD_POPTS_IXSM, IXGBE_TXD_CMD_RS);
	cr_assert_eq(d.read.cmd_type_len & (1u << 27), 1u << 27, "RS at bit 27");
	cr_assert_eq(d.read.olinfo, 1514u << 14 | 1u << 8);
	/* write-back: DD is bit 0 of the last dword, where olinfo's STA lives */
	d.wb.status = IXGBE_TXD_STAT_DD;
	cr_assert_eq(((uint32_t *)&d)[3] & 1, 1);
}

Test(ixgbe_desc, tx_context_encoding)
{
	union ixgbe_tx_desc d;

	ixgbe_tx_desc_ctx(&d, 14, 20, true, true, 1);
	cr_assert_eq(d.ctx.vlan_macip_lens, 14u << 9 | 20u);
	cr_assert_eq(d.ctx.type_tucmd_mlhl, 0x2u << 20 | 1u << 29 | 1u << 10 | 1u << 11);
	cr_assert_eq(d.ctx.mss_l4len_idx, 1u << 4);
}

Test(ixgbe_desc, rx_layout_and_flags)
{
	union ixgbe_rx_desc d;

	memset(&d, 0xff, sizeof(d));
	ixgbe_rx_desc_arm(&d, 0xabc000);
	cr_assert_eq(d.read.pkt_addr, 0xabc000);
	cr_assert_eq(d.wb.status_err & IXGBE_RXD_STAT_DD, 0, "arming clears DD");
	/* write-back: status at byte 8, length at byte 12 */
	cr_assert_eq((uint8_t *)&d.wb.status_err - (uint8_t *)&d, 8);
	cr_assert_eq((uint8_t *)&d.wb.length - (uint8_t *)&d, 12);
	cr_assert_eq((uint8_t *)&d.wb.rss_hash - (uint8_t *)&d, 4);

	cr_assert_eq(ixgbe_rx_flags(0, IXGBE_RXD_STAT_DD), 0);
	cr_assert_eq(ixgbe_rx_flags(IXGBE_RXD_RSSTYPE_TCPIPV4,
				    IXGBE_RXD_STAT_DD | IXGBE_RXD_STAT_IPCS | IXGBE_RXD_STAT_L4CS),
		     UPDK_PKT_RX_RSS_HASH | UPDK_PKT_RX_IP_CKSUM_GOOD | UPDK_PKT_RX_L4_CKSUM_GOOD);
	cr_assert_eq(ixgbe_rx_flags(0, IXGBE_RXD_STAT_IPCS | IXGBE_RXD_ERR_IPE |
					       IXGBE_RXD_STAT_L4CS | IXGBE_RXD_ERR_TCPE),
		     UPDK_PKT_RX_IP_CKSUM_BAD | UPDK_PKT_RX_L4_CKSUM_BAD);
}

/* ---- rings, with the test as the device ---- */

static struct updk_pktpool *pool;
static volatile uint32_t doorbell;

static void setup(void)
{
	struct updk_mem_opts o = { .opts_size = sizeof(o), .backing = UPDK_MEM_4K_PAGES };

	cr_assert_eq(updk_mem_init(&o), 0);
	pool = updk_pktpool_create("ring", 512, 0, 0, 0, UPDK_NUMA_ANY);
	cr_assert_not_null(pool);
}

static void make_rxq(struct ixgbe_rxq *q, unsigned size)
{
	memset(q, 0, sizeof(*q));
	q->ring = updk_dma_zalloc(size * 16, 128, UPDK_NUMA_ANY, &q->ring_iova);
	q->shadow = calloc(size, sizeof(*q->shadow));
	cr_assert(q->ring && q->shadow);
	q->mask = size - 1;
	q->pool = pool;
	q->headroom = UPDK_PKT_HEADROOM;
	q->max_len = 2048;
	q->rdt = &doorbell;
	cr_assert_eq(updk_pkt_alloc_bulk(pool, q->shadow, size), 0);
	for (unsigned i = 0; i < size; i++)
		ixgbe_rx_desc_arm(&q->ring[i], updk_pkt_data_iova(q->shadow[i]));
}

static void drop_rxq(struct ixgbe_rxq *q)
{
	free(q->shadow);
	updk_dma_free((void *)q->ring);
}

/* What the device does: write the frame, then the write-back with DD. */
static void device_rx(struct ixgbe_rxq *q, unsigned idx, uint16_t len, uint32_t extra)
{
	struct updk_pkt *p = q->shadow[idx];

	cr_assert_eq(q->ring[idx].read.pkt_addr, updk_pkt_data_iova(p));
	memset(updk_pkt_data(p), (int)idx, len);
	q->ring[idx].wb.info = 0;
	q->ring[idx].wb.rss_hash = 0;
	q->ring[idx].wb.length = len;
	q->ring[idx].wb.vlan = 0;
	q->ring[idx].wb.status_err = IXGBE_RXD_STAT_DD | IXGBE_RXD_STAT_EOP | extra;
}

TestSuite(ixgbe_ring, .init = setup);

Test(ixgbe_ring, rx_burst_refills_and_rings_once)
{
	struct ixgbe_rxq q;
	struct updk_pkt *got[64];

	make_rxq(&q, 64);
	cr_assert_eq(ixgbe_rx_burst(&q, got, 32), 0, "nothing done: nothing received");
	for (unsigned i = 0; i < 10; i++)
		device_rx(&q, i, 60 + i, 0);
	doorbell = 0xdead;
	cr_assert_eq(ixgbe_rx_burst(&q, got, 4), 4);
	cr_assert_eq(doorbell, 3, "RDT at the last refilled descriptor");
	cr_assert_eq(ixgbe_rx_burst(&q, got + 4, 32), 6);
	cr_assert_eq(doorbell, 9);
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(got[i]->len, 60 + i);
		cr_assert_eq(updk_pkt_data(got[i])[0], i, "frames in ring order");
		cr_assert_eq(q.ring[i].read.hdr_addr, 0, "descriptor re-armed, DD clear");
		cr_assert_eq(q.ring[i].read.pkt_addr, updk_pkt_data_iova(q.shadow[i]));
		cr_assert_neq(q.shadow[i], got[i], "a fresh buffer replaced the received one");
	}
	updk_pkt_free_bulk(got, 10);
	/* Wrap: fill the rest of the ring and past its end. */
	for (unsigned i = 10; i < 64 + 5; i++)
		device_rx(&q, i & 63, 100, 0);
	unsigned total = 0, n;

	while ((n = ixgbe_rx_burst(&q, got, 32))) {
		updk_pkt_free_bulk(got, n);
		total += n;
	}
	cr_assert_eq(total, 59);
	cr_assert_eq(doorbell, 4);
	cr_assert_eq(updk_pktpool_avail(pool), 512 - 64 - q.n_stash, "no buffer lost");
	drop_rxq(&q);
}

Test(ixgbe_ring, rx_drops_bad_descriptors)
{
	struct ixgbe_rxq q;
	struct updk_pkt *got[8];

	make_rxq(&q, 64);
	device_rx(&q, 0, 60, IXGBE_RXD_ERR_RXE); /* device-flagged error */
	device_rx(&q, 1, 60, 0);
	q.ring[1].wb.length = 4000; /* longer than the buffer: untrusted, dropped */
	device_rx(&q, 2, 60, 0);
	q.ring[2].wb.status_err &= ~IXGBE_RXD_STAT_EOP; /* first part of a spanning frame */
	device_rx(&q, 3, 60, 0); /* its end: dropped with it */
	device_rx(&q, 4, 70, IXGBE_RXD_STAT_IPCS);
	cr_assert_eq(ixgbe_rx_burst(&q, got, 8), 1);
	cr_assert_eq(got[0]->len, 70);
	cr_assert_eq(got[0]->flags, UPDK_PKT_RX_IP_CKSUM_GOOD);
	cr_assert_eq(q.errors, 4);
	cr_assert_eq(doorbell, 4);
	updk_pkt_free(got[0]);
	cr_assert_eq(updk_pktpool_avail(pool), 512 - 64 - q.n_stash);
	drop_rxq(&q);
}

Test(ixgbe_ring, rx_empty_pool_keeps_frames)
{
	struct ixgbe_rxq q;
	struct updk_pkt *got[8], *all[512];

	make_rxq(&q, 64);
	device_rx(&q, 0, 60, 0);
	unsigned left = updk_pktpool_avail(pool);

	cr_assert_eq(updk_pkt_alloc_bulk(pool, all, left), 0);
	cr_assert_eq(ixgbe_rx_burst(&q, got, 8), 0, "no refill: the frame waits");
	cr_assert_eq(q.nobuf, 1);
	updk_pkt_free_bulk(all, left);
	cr_assert_eq(ixgbe_rx_burst(&q, got, 8), 1);
	updk_pkt_free(got[0]);
	drop_rxq(&q);
}

Test(ixgbe_ring, tx_rs_every_32_and_batched_clean)
{
	struct ixgbe_txq q;
	struct updk_pkt *p[128];

	memset(&q, 0, sizeof(q));
	q.ring = updk_dma_zalloc(128 * 16, 128, UPDK_NUMA_ANY, &q.ring_iova);
	q.shadow = calloc(128, sizeof(*q.shadow));
	q.mask = 127;
	q.tdt = &doorbell;
	cr_assert_eq(updk_pkt_alloc_bulk(pool, p, 128), 0);
	for (int i = 0; i < 128; i++)
		p[i]->len = (uint16_t)(60 + i);

	cr_assert_eq(ixgbe_tx_burst(&q, p, 40), 40);
	cr_assert_eq(doorbell, 40, "TDT once, after the burst");
	for (int i = 0; i < 40; i++) {
		bool rs = q.ring[i].read.cmd_type_len & IXGBE_TXD_CMD_RS;

		cr_assert_eq(rs, i == 31, "RS only on descriptor 31 (got it on %d)", i);
		cr_assert_eq(q.ring[i].read.buf_addr, updk_pkt_data_iova(p[i]));
		cr_assert_eq(q.ring[i].read.cmd_type_len & 0xffff, 60 + i);
	}
	/* The ring holds 127: of 88 more, 87 fit. */
	cr_assert_eq(ixgbe_tx_burst(&q, p + 40, 88), 87);
	cr_assert_eq(doorbell, 127);
	cr_assert_eq(ixgbe_tx_burst(&q, p + 127, 1), 0, "full ring takes nothing");
	unsigned avail = updk_pktpool_avail(pool);

	/* The device sends the first 64 and writes back DD on 31 and 63. */
	q.ring[31].wb.status = IXGBE_TXD_STAT_DD;
	q.ring[63].wb.status = IXGBE_TXD_STAT_DD;
	cr_assert_eq(ixgbe_tx_burst(&q, p + 127, 1), 1, "clean made room");
	cr_assert_eq(updk_pktpool_avail(pool), avail + 64, "two batches of 32 given back");
	cr_assert_eq(q.clean, 64);
	cr_assert_eq(doorbell, 0, "tail wrapped");
	free(q.shadow);
	updk_dma_free((void *)q.ring);
}
