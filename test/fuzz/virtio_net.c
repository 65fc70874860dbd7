// SPDX-License-Identifier: BSD-3-Clause
/*
 * libFuzzer target: the virtio-net data path (drivers/virtio-net/virtio_net_rxtx.c and the split
 * virtqueue in virtq.h/virtq.c) against a device that returns any used elements (virtio 1.1
 * §2.6.8): ids outside the queue or not in flight, the same id twice, lengths shorter than the
 * header or longer than the buffer, num_buffers of any value with MRG_RXBUF, and a used index
 * that runs ahead of what the driver made available.
 *
 * Input: a setup byte (queue size 2 << bits 2:0, so 2..256; EVENT_IDX bit 4, MRG_RXBUF bit 5),
 * then operations of an opcode byte, an argument byte and what follows:
 *   0 rx used: count, then per element id (2 bytes), length (2 bytes), num_buffers (1 byte);
 *   1 tx used: count, then per element id (2 bytes), length (2 bytes);
 *   2 used idx: queue (bit 0), a 16-bit amount added to used->idx without writing elements;
 *   3 rx burst: n;   4 tx burst: n, then per packet data_off (1 byte), len (1 byte).
 * Properties: no crash or access outside the rings and buffers (ASan); a received packet is a
 * buffer the driver had, with data at the headroom and a length that fits the buffer; the
 * driver frees only buffers it holds, never the caller's, never twice; every descriptor is free
 * or holds one buffer; after the rings are drained every buffer is back in the pool.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virtio-net/virtio_net_rxtx.c"
#include "drivers/virtio-net/virtq.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPKT 1024
#define BUF_LEN 2176 /* 128 headroom + 2048 */
#define PKT_STRIDE (UPDK_PKT_HDR_SIZE + BUF_LEN) /* a header and BUF_LEN */
static uint8_t where[NPKT]; /* 0 in the pool, 1 the driver's, 2 the caller's */

enum { POOL, DRIVER, CALLER };

#include "test/fuzz/pkt_pool.h"

/* The pool, all or nothing as lib/mem's. */
int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n)
{
	unsigned got = 0;

	for (unsigned i = 0; i < NPKT && got < n; i++)
		got += where[i] == POOL;
	if (got < n)
		return -ENOBUFS;
	got = 0;
	for (unsigned i = 0; i < NPKT && got < n; i++) {
		if (where[i] == POOL) {
			where[i] = DRIVER;
			objs[got++] = pkt_at(i);
		}
	}
	return 0;
}

/* What the driver frees must be the driver's. */
void updk_pkt_free(struct updk_pkt *p)
{
	unsigned k = pkt_index(p);

	if (where[k] != DRIVER)
		abort();
	where[k] = POOL;
}

void updk_pkt_free_bulk(struct updk_pkt *const *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		updk_pkt_free(p[i]);
}

const char *updk_pci_name(const struct updk_pci_dev *dev)
{
	return "fuzz";
}

/*
 * The device status a sender reads when its ring stays full (virtio_net.c): this device never
 * asks for a reset, so the burst goes on as with a slow device.
 */
int vnet_check_status(struct vnet_dev *dev)
{
	(void)dev;
	return 0;
}

static struct virtq *make_vq(struct virtq *vq, uint16_t qsize, bool event_idx)
{
	static uint16_t notify_reg; /* the notify address in BAR memory */
	size_t len = (virtq_mem_size(qsize) + 4095) & ~(size_t)4095;
	void *mem = aligned_alloc(4096, len);
	void **cookies = calloc(qsize, sizeof(void *));

	if (!mem || !cookies)
		abort();
	memset(mem, 0, len);
	if (virtq_init(vq, qsize, mem, (uintptr_t)mem, cookies, event_idx))
		abort();
	vq->notify = &notify_reg;
	return vq;
}

/* Every descriptor is on the free list or the head of a chain in flight, never both. */
static void check_vq(const struct virtq *vq)
{
	static uint8_t seen[256];
	unsigned in_flight = 0;
	uint16_t d = vq->free_head;

	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < vq->size; i++)
		if (vq->cookie[i]) {
			seen[i] = 1;
			in_flight++;
		}
	if (in_flight + vq->num_free != vq->size)
		abort();
	for (unsigned i = 0; i < vq->num_free; i++) {
		if (d >= vq->size || seen[d])
			abort();
		seen[d] = 1;
		d = vq->desc[d].next;
	}
}

/* The device writes @count used elements of @vq (while the input lasts). */
static void device_used(struct virtq *vq, struct vnet_rxq *rxq, unsigned count,
			const uint8_t **data, size_t *size)
{
	for (unsigned i = 0; i < count; i++) {
		unsigned rec = rxq ? 5 : 4;
		uint16_t id, len;
		uint16_t at = vq->used->idx;

		if (*size < rec)
			return;
		memcpy(&id, *data, 2);
		memcpy(&len, *data + 2, 2);
		vq->used->ring[at & vq->mask] = (struct virtq_used_elem){ id, len };
		/* With a real buffer behind the id, the device also wrote the header there. */
		if (rxq && id < vq->size && vq->cookie[id]) {
			struct updk_pkt *p = vq->cookie[id];
			struct virtio_net_hdr *h = (void *)((uint8_t *)p + UPDK_PKT_HDR_SIZE +
							    rxq->headroom - HDR_LEN);

			h->num_buffers = (*data)[4];
		}
		vq->used->idx = (uint16_t)(at + 1);
		*data += rec;
		*size -= rec;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vnet_dev dev;
	static struct updk_pktpool pool = { .headroom = 128, .buf_len = BUF_LEN };
	struct vnet_rxq rxq;
	struct vnet_txq txq;
	struct updk_pkt *got[256];
	uint16_t qsize;
	bool event_idx;

	if (size < 1)
		return 0;
	if (!pkts_alloc(&(struct updk_pkt){ .pool = &pool, .buf_len = BUF_LEN }, 0x100000000ull))
		return 0;
	memset(where, 0, sizeof(where));
	qsize = (uint16_t)(1u << (data[0] & 7) << 1); /* 2..256 */
	event_idx = data[0] & 0x10;
	memset(&rxq, 0, sizeof(rxq));
	memset(&txq, 0, sizeof(txq));
	make_vq(&rxq.vq, qsize, event_idx);
	make_vq(&txq.vq, qsize, event_idx);
	rxq.pool = &pool;
	rxq.headroom = pool.headroom;
	rxq.room = (uint16_t)(pool.buf_len - pool.headroom);
	rxq.mrg_rxbuf = data[0] & 0x20;
	rxq.dev = txq.dev = &dev;
	dev.warned_tx_headroom = false;
	if (vnet_rx_fill(&rxq))
		abort();
	data++;
	size--;

	while (size >= 2) {
		uint8_t op = data[0] % 5, arg = data[1];

		data += 2;
		size -= 2;
		switch (op) {
		case 0:
		case 1:
			device_used(op ? &txq.vq : &rxq.vq, op ? NULL : &rxq, arg, &data, &size);
			break;
		case 2: {
			struct virtq *vq = arg & 1 ? &txq.vq : &rxq.vq;
			uint16_t add;

			if (size < 2)
				break;
			memcpy(&add, data, 2);
			data += 2;
			size -= 2;
			vq->used->idx = (uint16_t)(vq->used->idx + add);
			break;
		}
		case 3: {
			uint16_t n = vnet_rx_burst(&rxq, got, arg);

			if (n > arg)
				abort();
			for (unsigned i = 0; i < n; i++) {
				unsigned k = pkt_index(got[i]);

				if (where[k] != DRIVER || got[i]->data_off != rxq.headroom ||
				    got[i]->len > rxq.room || got[i]->buf_len != BUF_LEN)
					abort();
				where[k] = CALLER;
			}
			for (unsigned i = 0; i < n; i++)
				where[pkt_index(got[i])] = POOL;
			break;
		}
		case 4: {
			unsigned n = 0, sent;

			for (unsigned i = 0; i < NPKT && n < arg && size >= 2; i++) {
				if (where[i] != POOL)
					continue;
				got[n] = pkt_at(i);
				got[n]->data_off = data[0];
				got[n]->len = data[1];
				where[i] = CALLER;
				n++;
				data += 2;
				size -= 2;
			}
			/* what the driver takes is the driver's from the call on */
			for (unsigned i = 0; i < n; i++)
				where[pkt_index(got[i])] = DRIVER;
			sent = vnet_tx_burst(&txq, got, (uint16_t)n);
			if (sent > n)
				abort();
			for (unsigned i = sent; i < n; i++) {
				unsigned k = pkt_index(got[i]);

				if (where[k] != DRIVER)
					abort();
				where[k] = POOL; /* the caller keeps it and frees it */
			}
			break;
		}
		}
		check_vq(&rxq.vq);
		check_vq(&txq.vq);
	}

	/* After a device reset the rings are drained: every buffer is back. */
	vnet_rxq_drain(&rxq);
	vnet_txq_drain(&txq);
	for (unsigned i = 0; i < NPKT; i++)
		if (where[i] != POOL)
			abort();
	free(rxq.vq.mem);
	free(rxq.vq.cookie);
	free(txq.vq.mem);
	free(txq.vq.cookie);
	return 0;
}
