// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the ixgbe receive burst (drivers/ixgbe/ixgbe_rxtx.c ixgbe_rx_burst) over
 * descriptor write-backs of any content: status and error bits, lengths beyond the buffer, RSS
 * types, frames spanning descriptors, an empty pool.
 *
 * Input: the ring size (8..256, a power of two), then rounds of: burst size, how many buffers
 * the pool may hand out, a count of descriptors, and their 16-byte write-backs (written from
 * the next descriptor on). Properties: no crash; every packet returned has a length of 1..the
 * buffer and the headroom the queue asked for, and is returned once; no buffer is lost, freed
 * twice or handed to the caller and the ring at once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/ixgbe/ixgbe_rxtx.c"
#include "test/fuzz/ixgbe_pci_stub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPKT 512
#define PKT_STRIDE (UPDK_PKT_HDR_SIZE + 2048) /* a header and 2 KiB */
static uint8_t where[NPKT]; /* 0 free in the pool, 1 the driver's, 2 the caller's */
static unsigned avail_budget;

#include "test/fuzz/pkt_pool.h"

/* The pool: all or nothing, as lib/mem's; hands out at most avail_budget buffers. */
int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n)
{
	unsigned got = 0;

	if (n > avail_budget)
		return -ENOBUFS;
	for (unsigned i = 0; i < NPKT && got < n; i++)
		if (where[i] == 0)
			got++;
	if (got < n)
		return -ENOBUFS;
	got = 0;
	for (unsigned i = 0; i < NPKT && got < n; i++) {
		if (where[i] == 0) {
			where[i] = 1;
			objs[got++] = pkt_at(i);
		}
	}
	avail_budget -= n;
	return 0;
}

/* The driver frees what it dropped: it must be the driver's. */
void updk_pkt_free_bulk(struct updk_pkt *const *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned k = pkt_index(p[i]);

		if (where[k] != 1)
			abort();
		where[k] = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ixgbe_rxq q;
	struct updk_pktpool pool = { .headroom = 128, .buf_len = 2048 };
	struct updk_pkt *got[IXGBE_RX_BURST_MAX];
	static volatile uint32_t rdt;
	unsigned ring_size;

	if (size < 1)
		return 0;
	if (!pkts_alloc(NULL, 0))
		return 0;
	memset(where, 0, sizeof(where));
	ring_size = 8u << (data[0] % 6);
	memset(&q, 0, sizeof(q));
	q.ring = aligned_alloc(128, ring_size * 16);
	q.shadow = calloc(ring_size, sizeof(*q.shadow));
	q.mask = (uint16_t)(ring_size - 1);
	q.pool = &pool;
	q.headroom = 128;
	q.buf_len = 2048;
	q.max_len = 2048 - 128;
	q.rdt = &rdt;
	for (unsigned i = 0; i < ring_size; i++) {
		q.shadow[i] = pkt_at(i);
		where[i] = 1;
		ixgbe_rx_desc_arm(&q.ring[i], (uintptr_t)q.shadow[i]);
	}
	data++;
	size--;
	while (size >= 3) {
		unsigned n_req = data[0], ndesc = data[2];
		uint16_t n;

		avail_budget = data[1];
		data += 3;
		size -= 3;
		for (unsigned i = 0; i < ndesc && size >= 16; i++) {
			memcpy((void *)&q.ring[(q.next + i) & q.mask], data, 16);
			data += 16;
			size -= 16;
		}
		n = ixgbe_rx_burst(&q, got, (uint16_t)n_req);
		if (n > n_req || n > IXGBE_RX_BURST_MAX)
			abort();
		for (unsigned i = 0; i < n; i++) {
			unsigned k = pkt_index(got[i]);

			if (where[k] != 1 || got[i]->len == 0 || got[i]->len > q.max_len ||
			    got[i]->data_off != 128 || got[i]->buf_len != 2048)
				abort();
			where[k] = 2;
		}
		/* the ring and the stash hold the driver's buffers, none of the caller's */
		for (unsigned i = 0; i < ring_size; i++)
			if (where[pkt_index(q.shadow[i])] != 1)
				abort();
		for (unsigned i = 0; i < q.n_stash; i++)
			if (where[pkt_index(q.stash[i])] != 1)
				abort();
		for (unsigned i = 0; i < n; i++)
			where[pkt_index(got[i])] = 0;
	}
	/* conservation: the driver holds exactly its ring and its stash */
	unsigned held = 0;

	for (unsigned i = 0; i < NPKT; i++)
		held += where[i] == 1;
	if (held != ring_size + q.n_stash)
		abort();
	free((void *)q.ring);
	free(q.shadow);
	return 0;
}
