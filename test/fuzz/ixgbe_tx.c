// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the ixgbe transmit path (drivers/ixgbe/ixgbe_rxtx.c ixgbe_tx_burst and
 * ixgbe_tx_burst_offload) and its clean of written-back descriptors (82599 datasheet §7.2.3.5,
 * DD on RS descriptors), with a device that writes back honestly, early, late, or anywhere.
 *
 * Input: a setup byte (ring size 64 << bits 1:0; bit 2 the checksum offload path), then
 * operations of an opcode byte, an argument byte and what follows:
 *   0 burst: n packets, each data_off, len (2 bytes), flags, l2_len, l3_len;
 *   1 honest device: sends up to arg descriptors from its head and writes DD where RS is set;
 *   2 lying device: at index (2 bytes) writes a status word (4 bytes), wherever that is.
 * Properties: no crash or access outside the ring and shadow (ASan); a burst takes at most n,
 * and on the offload path none past the first packet with impossible offload lengths; each
 * descriptor written carries its packet's address and length, and every index 31 mod 32 written
 * carries RS (on the data descriptor after it when it is a context); the driver frees only
 * buffers it was given, never twice; the ring holds exactly the buffers not yet freed; once the
 * device has honestly sent everything, one more burst leaves less than one RS batch unfreed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/ixgbe/ixgbe_rxtx.c"
#include "test/fuzz/ixgbe_pci_stub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPKT 1024
#define PKT_STRIDE (UPDK_PKT_HDR_SIZE + 2048)
static uint8_t where[NPKT]; /* 0 the caller's (free), 1 the driver's */

#include "test/fuzz/pkt_pool.h"

/* Receive refills: not reached from transmit. */
int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n)
{
	abort();
}

void updk_pkt_free_bulk(struct updk_pkt *const *p, unsigned n)
{
	if (n > IXGBE_TX_RS_BATCH)
		abort();
	for (unsigned i = 0; i < n; i++) {
		unsigned k = pkt_index(p[i]);

		if (where[k] != 1)
			abort();
		where[k] = 0;
	}
}

static bool bad_offload(const struct updk_pkt *p)
{
	bool l4 = p->flags & (UPDK_PKT_TX_TCP_CKSUM | UPDK_PKT_TX_UDP_CKSUM);

	return (p->flags & UPDK_PKT_TX_OFFLOAD_MASK) &&
	       (p->l2_len < 14 || p->l2_len > 127 || p->l3_len < 20 ||
		(uint32_t)p->l2_len + p->l3_len + (l4 ? 8 : 0) > p->len);
}

/* The buffers in [clean, tail) are exactly the driver's. */
static void check_held(const struct ixgbe_txq *q)
{
	unsigned held = 0, in_ring = 0;

	for (unsigned i = 0; i < NPKT; i++)
		held += where[i];
	for (unsigned k = q->clean; k != q->tail; k = (k + 1) & q->mask) {
		if (q->shadow[k]) {
			if (where[pkt_index(q->shadow[k])] != 1)
				abort();
			in_ring++;
		}
	}
	if (held != in_ring)
		abort();
}

/* What one burst wrote in [first, tail): addresses, lengths and RS every 32. */
static void check_written(const struct ixgbe_txq *q, unsigned first)
{
	unsigned n = (q->tail - first) & q->mask;

	for (unsigned i = 0; i < n; i++) {
		unsigned k = (first + i) & q->mask;
		const struct updk_pkt *p = q->shadow[k];
		uint32_t cmd = q->ring[k].read.cmd_type_len;

		if (p && (q->ring[k].read.buf_addr != p->buf_iova + p->data_off ||
			  (cmd & IXGBE_TXD_DTALEN_MASK) != p->len ||
			  (cmd & IXGBE_TXD_DTYP_MASK) != IXGBE_TXD_DTYP_DATA))
			abort();
		if ((k & (IXGBE_TX_RS_BATCH - 1)) == IXGBE_TX_RS_BATCH - 1) {
			unsigned at = p ? k : (k + 1) & q->mask;

			if (!p && i + 1 >= n)
				abort(); /* a context ends the burst: its data descriptor is missing */
			if (!(q->ring[at].read.cmd_type_len & IXGBE_TXD_CMD_RS))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ixgbe_txq q;
	struct updk_pkt *burst[256];
	static volatile uint32_t tdt;
	unsigned ring_size, dev_head = 0;
	bool offload;
	uint16_t (*tx)(void *, struct updk_pkt **, uint16_t);

	if (size < 1)
		return 0;
	if (!pkts_alloc(&(struct updk_pkt){ .buf_len = 2048 }, 0x200000000ull))
		return 0;
	memset(where, 0, sizeof(where));
	ring_size = 64u << (data[0] & 3);
	offload = data[0] & 4;
	tx = offload ? ixgbe_tx_burst_offload : ixgbe_tx_burst;
	memset(&q, 0, sizeof(q));
	q.ring = aligned_alloc(128, ring_size * 16);
	q.shadow = calloc(ring_size, sizeof(*q.shadow));
	if (!q.ring || !q.shadow)
		abort();
	memset((void *)q.ring, 0, ring_size * 16);
	q.mask = (uint16_t)(ring_size - 1);
	q.stall_tsc = UINT64_MAX; /* a full ring is this target's daily bread: no stall log */
	tdt = 0;
	q.tdt = &tdt;
	data++;
	size--;

	while (size >= 2) {
		uint8_t op = data[0] % 3, arg = data[1];

		data += 2;
		size -= 2;
		if (op == 0) {
			unsigned n = 0, first = q.tail, took, limit = arg;

			for (unsigned i = 0; i < NPKT && n < arg && size >= 6; i++) {
				struct updk_pkt *p = pkt_at(i);

				if (where[i])
					continue;
				p->data_off = data[0];
				p->len = (uint16_t)(data[1] | data[2] << 8);
				p->flags = offload ? (uint16_t)(data[3] << 8) : 0;
				p->l2_len = data[4];
				p->l3_len = data[5];
				burst[n++] = p;
				data += 6;
				size -= 6;
			}
			for (unsigned i = 0; i < n; i++)
				where[pkt_index(burst[i])] = 1;
			took = tx(&q, burst, (uint16_t)n);
			if (took > n)
				abort();
			for (unsigned i = 0; offload && i < n; i++)
				if (bad_offload(burst[i]) && limit > i)
					limit = i;
			if (offload && took > limit)
				abort();
			for (unsigned i = took; i < n; i++) {
				if (where[pkt_index(burst[i])] != 1)
					abort();
				where[pkt_index(burst[i])] = 0;
			}
			if (tdt != q.tail)
				abort();
			check_written(&q, first);
		} else if (op == 1) {
			for (unsigned i = 0; i < arg && dev_head != q.tail; i++) {
				volatile union ixgbe_tx_desc *d = &q.ring[dev_head];

				/* §7.2.3.5.2: only the status word carries meaning */
				if (d->read.cmd_type_len & IXGBE_TXD_CMD_RS)
					d->wb.status = IXGBE_TXD_STAT_DD;
				dev_head = (dev_head + 1) & q.mask;
			}
		} else if (size >= 6) {
			uint16_t at;
			uint32_t st;

			memcpy(&at, data, 2);
			memcpy(&st, data + 2, 4);
			q.ring[at & q.mask].wb.status = st;
			data += 6;
			size -= 6;
		}
		check_held(&q);
	}

	/* The device sends everything not yet given back and writes DD where RS asks for it. */
	for (unsigned k = q.clean; k != q.tail; k = (k + 1) & q.mask)
		if (q.ring[k].read.cmd_type_len & IXGBE_TXD_CMD_RS)
			q.ring[k].wb.status = IXGBE_TXD_STAT_DD;
	(void)tx(&q, burst, 0);
	check_held(&q);
	if (((q.tail - q.clean) & q.mask) >= IXGBE_TX_RS_BATCH)
		abort();
	free((void *)q.ring);
	free(q.shadow);
	return 0;
}
