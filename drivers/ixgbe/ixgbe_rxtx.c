// SPDX-License-Identifier: BSD-3-Clause
/*
 * The ixgbe data path: advanced receive and transmit descriptors (82599 datasheet §7.1 and
 * §7.2). One doorbell per burst, buffers refilled and freed in bulk, no locks.
 */
#include <stddef.h>

#define LOG_COMPONENT "ixgbe"
#include "lib/util/log.h"

#include "drivers/ixgbe/ixgbe.h"
#include "drivers/ixgbe/ixgbe_regs.h"
#include "lib/net/pkt_pool.h"

#include <updk/mmio.h>
#include <updk/pci.h>
#include <updk/tsc.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Receive flags from the write-back (§7.1.6.2): IPCS/L4CS say the device checked a checksum,
 * IPE/TCPE that the check failed, a non-zero RSS type that rss_hash holds a hash. A table
 * indexed by those bits keeps it to a few instructions and no branch.
 */
static uint8_t rx_flag_table[256];

static uint8_t rx_flags_slow(unsigned i)
{
	bool l4cs = i & 1, ipcs = i & 2, tcpe = i & 4, ipe = i & 8, rss = i >> 4;

	return (uint8_t)((ipcs ? (ipe ? UPDK_PKT_RX_IP_CKSUM_BAD : UPDK_PKT_RX_IP_CKSUM_GOOD) : 0) |
			 (l4cs ? (tcpe ? UPDK_PKT_RX_L4_CKSUM_BAD : UPDK_PKT_RX_L4_CKSUM_GOOD) :
				 0) |
			 (rss ? UPDK_PKT_RX_RSS_HASH : 0));
}

__attribute__((constructor)) static void rx_flag_table_init(void)
{
	for (unsigned i = 0; i < 256; i++)
		rx_flag_table[i] = rx_flags_slow(i);
}

_Static_assert(IXGBE_RXD_RSSTYPE_MASK == 0xf, "RSS type is 4 bits");

static inline uint16_t rx_flags(uint32_t info, uint32_t st)
{
	/* L4CS (bit 5), IPCS (6) -> index bits 0, 1; TCPE (30), IPE (31) -> 2, 3; type -> 7:4 */
	unsigned i = ((st >> 5) & 3u) | ((st >> 28) & 0xcu) | ((info & 0xfu) << 4);

	return rx_flag_table[i];
}

uint16_t ixgbe_rx_flags(uint32_t info, uint32_t status_err)
{
	return rx_flags(info, status_err);
}

/* A descriptor the driver cannot vouch for (device-written data is untrusted): dropped. */
static inline bool rx_bad(uint32_t st, unsigned len, unsigned max_len)
{
	return ((st & (IXGBE_RXD_STAT_EOP | IXGBE_RXD_ERR_RXE)) ^ IXGBE_RXD_STAT_EOP) |
	       (len - 1 >= max_len);
}

/*
 * §7.1.9 ring: the device owns [RDH, RDT), software the rest. A descriptor is ours once DD is
 * set. Each done descriptor gives its buffer to the caller and takes a fresh one from the
 * queue's stash, which is refilled from the pool in one bulk get; one RDT write per burst
 * returns the descriptors. Frames larger than one buffer (no EOP) are not expected with 2 KiB
 * buffers and standard frames, and are dropped whole if the device sends one.
 */
uint16_t ixgbe_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n_req)
{
	struct ixgbe_rxq *q = queue;
	const unsigned mask = q->mask, headroom = q->headroom, max_len = q->max_len;
	const uint64_t fixed = headroom | (uint64_t)q->buf_len << 48;
	unsigned n = n_req, idx = q->next, out = 0, n_bad = 0, n_stash = q->n_stash;
	struct updk_pkt *bad[IXGBE_RX_BURST_MAX];
	bool discard = q->discard;

	if (n > IXGBE_RX_BURST_MAX)
		n = IXGBE_RX_BURST_MAX;
	if (!(q->ring[idx].wb.status_err & IXGBE_RXD_STAT_DD) || !n)
		return 0; /* the idle poll: one load */
	if (n_stash < n) {
		unsigned want = IXGBE_RX_BURST_MAX - n_stash;

		if (likely(!pktpool_get_raw(q->pool, q->stash + n_stash, want))) {
			n_stash += want;
		} else if (!n_stash) {
			/* No buffer to put in place of a received one: the frames wait. */
			q->nobuf++;
			return 0;
		} else {
			n = n_stash;
		}
	}
	unsigned i;

	for (i = 0; i < n; i++) {
		volatile union ixgbe_rx_desc *d = &q->ring[idx];
		uint32_t st = d->wb.status_err;

		if (!(st & IXGBE_RXD_STAT_DD))
			break;
		updk_rmb(); /* the rest of the descriptor only after DD */
		unsigned len = d->wb.length;
		uint32_t hash = d->wb.rss_hash, info = d->wb.info;
		struct updk_pkt *p = q->shadow[idx];
		struct updk_pkt *f = q->stash[--n_stash];

		q->shadow[idx] = f;
		ixgbe_rx_desc_arm(d, f->buf_iova + headroom);
		/* data_off, len, flags, buf_len are adjacent: one store (little-endian) */
		*(uint64_t *)&p->data_off =
			fixed | (uint64_t)len << 16 | (uint64_t)rx_flags(info, st) << 32;
		p->rss_hash = hash;
		pkts[out] = p;
		if (likely(!(rx_bad(st, len, max_len) | discard))) {
			out++;
		} else {
			/* Drop it, and the rest of a frame that spans descriptors. */
			discard = !(st & IXGBE_RXD_STAT_EOP);
			bad[n_bad++] = p;
		}
		idx = (idx + 1) & mask;
	}
	q->n_stash = n_stash;
	q->discard = discard;
	q->next = (uint16_t)idx;
	if (unlikely(n_bad)) {
		updk_pkt_free_bulk(bad, n_bad);
		q->errors += n_bad;
	}
	/* The descriptor before next is the last one refilled: give the device up to it. */
	updk_wmb();
	updk_mmio_write32(q->rdt, (idx - 1) & mask);
	return (uint16_t)out;
}

/*
 * Give back one batch of IXGBE_TX_RS_BATCH sent descriptors if the device has written back the
 * DD of the one that carries its RS (§7.2.3.5.1), and say whether it had. @ctx: the ring may
 * hold context descriptors (the checksum offload path): they have no buffer (their shadow entry
 * is NULL) and take no RS, so when one sits at the batch's last index the RS went on the data
 * descriptor after it, and the batch's buffers are gathered around the NULLs. Inlined with a
 * constant @ctx, so the plain path pays for none of it.
 */
static inline __attribute__((always_inline)) bool tx_clean_batch(struct ixgbe_txq *q,
								 const bool ctx)
{
	uint16_t last = (q->clean + IXGBE_TX_RS_BATCH - 1) & q->mask;

	if (ctx && !q->shadow[last]) { /* a context: its data descriptor (next) carries the RS */
		if (((last + 1 - q->clean) & q->mask) >= ((q->tail - q->clean) & q->mask))
			return false;
		last = (last + 1) & q->mask;
	}
	if (!(q->ring[last].wb.status & IXGBE_TXD_STAT_DD))
		return false;
	if (ctx) {
		struct updk_pkt *keep[IXGBE_TX_RS_BATCH];
		unsigned n = 0;

		for (unsigned i = 0; i < IXGBE_TX_RS_BATCH; i++) {
			struct updk_pkt *p = q->shadow[(q->clean + i) & q->mask];

			if (p)
				keep[n++] = p;
		}
		updk_pkt_free_bulk(keep, n);
	} else {
		updk_pkt_free_bulk(&q->shadow[q->clean], IXGBE_TX_RS_BATCH);
	}
	q->clean = (q->clean + IXGBE_TX_RS_BATCH) & q->mask;
	q->cleaned++;
	return true;
}

/* Clean what the device has sent, batch by batch; returns the descriptors still in use. */
static inline __attribute__((always_inline)) unsigned tx_reclaim(struct ixgbe_txq *q,
								 const bool ctx)
{
	unsigned used = (q->tail - q->clean) & q->mask;

	while (used >= IXGBE_TX_RS_BATCH && tx_clean_batch(q, ctx))
		used -= IXGBE_TX_RS_BATCH;
	return used;
}

/*
 * Hand the @written descriptors from @first on to the device: RS on each at an index 31 mod 32
 * (one write-back per 32 descriptors, §7.2.3.5.2; with @ctx a context descriptor there passes
 * it to the data descriptor after it), then TDT, once per burst, after a write barrier.
 */
static inline __attribute__((always_inline)) void tx_hand_over(struct ixgbe_txq *q, unsigned first,
							       unsigned written, const bool ctx)
{
	const unsigned mask = q->mask, tail = (first + written) & mask;

	for (unsigned k = first | (IXGBE_TX_RS_BATCH - 1); ((k - first) & mask) < written;
	     k = (k + IXGBE_TX_RS_BATCH) & mask) {
		unsigned at = ctx && !q->shadow[k] ? (k + 1) & mask : k;

		q->ring[at].read.cmd_type_len |= IXGBE_TXD_CMD_RS;
	}
	q->tail = (uint16_t)tail;
	updk_wmb();
	updk_mmio_write32(q->tdt, tail);
}

/*
 * A transmit ring that stays full: the device has not written back the DD of the batch it
 * holds (§7.2.3.5.1) for a whole second. Checked once per TX_STALL_BURSTS bursts that found
 * the ring full (one clock read), so a sender spinning on a full ring pays nothing more. Logged
 * once per stall, with the link state (LINKS.LINK_UP, §8.2.3.22.20): the packets stay queued
 * (tx_burst returns 0 and the caller keeps its packets), updk_net_close() frees them.
 */
#define TX_STALL_BURSTS 64

static __attribute__((noinline, cold)) uint16_t tx_ring_full(struct ixgbe_txq *q)
{
	uint64_t now;

	if (++q->full_bursts % TX_STALL_BURSTS)
		return 0;
	now = updk_tsc();
	if (q->full_bursts == TX_STALL_BURSTS || q->stall_cleaned != q->cleaned) {
		/* a new stall, or the device moved since the last look */
		q->stall_since = now;
		q->stall_cleaned = q->cleaned;
		q->stall_logged = false;
		return 0;
	}
	if (!q->stall_logged && now - q->stall_since >= q->stall_tsc) {
		bool up = updk_pci_reg_read32(q->pci, 0, IXGBE_LINKS) & IXGBE_LINKS_UP;

		q->stall_logged = true;
		log_err("%s: transmit queue %u: ring full and no descriptor written back for 1 s "
			"(link %s): the device is not sending; the %u queued packets stay queued "
			"until it does or the port is closed",
			updk_pci_name(q->pci), q->qid, up ? "up" : "down", q->mask);
	}
	return 0;
}

/*
 * §7.2.3 ring: software owns [TDT, TDH). RS is set on every 32nd descriptor (index 31 mod 32),
 * so the device writes back one DD per 32 and the clean frees 32 buffers in one put.
 */
uint16_t ixgbe_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct ixgbe_txq *q = queue;
	const unsigned mask = q->mask;
	unsigned used = tx_reclaim(q, false);
	unsigned room = mask - used; /* one slot stays empty: TDT == TDH means empty */

	if (n > room) {
		if (!room)
			return tx_ring_full(q);
		n = room;
	}
	if (!n)
		return 0;
	unsigned tail = q->tail, first = tail;

	for (unsigned i = 0; i < n; i++) {
		struct updk_pkt *p = pkts[i];

		q->shadow[tail] = p;
		ixgbe_tx_desc_data(&q->ring[tail], p->buf_iova + p->data_off, p->len, 0, 0);
		tail = (tail + 1) & mask;
	}
	tx_hand_over(q, first, n, false);
	return n;
}

/*
 * The checksum offload path. A packet asking for offloads needs a context descriptor (§7.2.3.2.3)
 * ahead of its data descriptor when the lengths or the L4 type differ from the context the
 * device holds; the data descriptor then asks for IXSM/TXSM with CC set (§7.2.3.2.4).
 *
 * A context descriptor holds no buffer (its shadow entry is NULL) and takes no RS, so when one
 * falls on an index 31 mod 32 the RS goes on the data descriptor after it, and the clean of that
 * batch looks for DD there (tx_clean_batch() and tx_hand_over() with ctx set).
 */
static uint32_t offload_key(const struct updk_pkt *p)
{
	bool tcp = p->flags & UPDK_PKT_TX_TCP_CKSUM;

	return 1u << 31 | (uint32_t)tcp << 24 | (uint32_t)p->l3_len << 8 | p->l2_len;
}

uint16_t ixgbe_tx_burst_offload(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct ixgbe_txq *q = queue;
	const unsigned mask = q->mask;
	unsigned used = tx_reclaim(q, true);
	unsigned room = mask - used, tail = q->tail, first = tail, i;

	if (!room && n)
		return tx_ring_full(q);
	for (i = 0; i < n; i++) {
		struct updk_pkt *p = pkts[i];
		uint32_t olinfo = 0;

		if (p->flags & UPDK_PKT_TX_OFFLOAD_MASK) {
			bool l4 = p->flags & (UPDK_PKT_TX_TCP_CKSUM | UPDK_PKT_TX_UDP_CKSUM);

			/* Lengths the device could not use: refuse rather than send garbage. */
			if (p->l2_len < 14 || p->l2_len > 127 || p->l3_len < 20 ||
			    (uint32_t)p->l2_len + p->l3_len + (l4 ? 8 : 0) > p->len) {
				q->bad_offload++;
				break;
			}
			uint32_t key = offload_key(p);

			if (key != q->ctx_key) {
				if (room < 2)
					break;
				q->shadow[tail] = NULL;
				ixgbe_tx_desc_ctx((union ixgbe_tx_desc *)&q->ring[tail], p->l2_len,
						  p->l3_len, true, p->flags & UPDK_PKT_TX_TCP_CKSUM,
						  0);
				q->ctx_key = key;
				tail = (tail + 1) & mask;
				room--;
			}
			olinfo = IXGBE_TXD_CC |
				 (p->flags & UPDK_PKT_TX_IP_CKSUM ? IXGBE_TXD_POPTS_IXSM : 0) |
				 (l4 ? IXGBE_TXD_POPTS_TXSM : 0);
		}
		if (!room)
			break;
		q->shadow[tail] = p;
		ixgbe_tx_desc_data(&q->ring[tail], p->buf_iova + p->data_off, p->len, olinfo, 0);
		tail = (tail + 1) & mask;
		room--;
	}
	if (tail == first)
		return 0;
	tx_hand_over(q, first, (tail - first) & mask, true);
	return (uint16_t)i;
}
