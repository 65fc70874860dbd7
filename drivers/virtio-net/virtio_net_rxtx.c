// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio-net data path: receive and transmit bursts on split virtqueues (virtio 1.1 §5.1.6).
 *
 * Every packet is one descriptor: the 12-byte struct virtio_net_hdr sits in the buffer's
 * headroom right before the data, which VIRTIO_F_VERSION_1 allows (§2.6.4, message framing is
 * free). Receive buffers are device-writable from the header to the end of the buffer; a
 * received frame's data starts at the pool's headroom as with any other driver. Transmit zeroes
 * the header in the packet's headroom (no offloads, no GSO, §5.1.6.2).
 *
 * Used elements are device-written, untrusted: an id not in flight is skipped (virtq.h), a
 * length shorter than the header or longer than the buffer is dropped and counted, and with
 * MRG_RXBUF a frame spread over several buffers (num_buffers > 1, §5.1.6.4) is dropped whole.
 * Each burst publishes once and notifies at most once, and only when the device asked
 * (§2.6.10).
 */
#include <errno.h>
#include <string.h>

#define LOG_COMPONENT "virtio-net"
#include "lib/util/log.h"

#include <updk/tsc.h>

#include "drivers/virtio-net/virtio_net.h"
#include "lib/net/pkt_pool.h"

#define HDR_LEN ((uint16_t)sizeof(struct virtio_net_hdr))
/* Refill receive descriptors once this many are free: one bulk get, one publish. */
#define RX_REFILL_BATCH 32
#define BULK 64
/*
 * A sender whose transmit ring stays full reads the device status (one MMIO read) once the ring
 * has been full for TX_STALL_MS: a device that stopped with DEVICE_NEEDS_RESET (§2.1.2) is
 * noticed by a sender that never calls the control path, and a merely slow device costs at most
 * ten status reads a second. The clock is read once per TX_STALL_POLLS stalled bursts.
 */
#define TX_STALL_POLLS 64

static void rx_refill(struct vnet_rxq *q)
{
	struct virtq *vq = &q->vq;
	struct updk_pkt *bufs[BULK];

	while (vq->num_free) {
		unsigned k = vq->num_free < BULK ? vq->num_free : BULK;

		if (pktpool_get_raw(q->pool, bufs, k)) {
			q->nobuf++;
			break;
		}
		for (unsigned i = 0; i < k; i++)
			virtq_add1(vq, bufs[i]->buf_iova + q->headroom - HDR_LEN,
				   (uint32_t)q->room + HDR_LEN, VIRTQ_DESC_F_WRITE, bufs[i]);
	}
	virtq_kick(vq);
}

int vnet_rx_fill(struct vnet_rxq *q)
{
	rx_refill(q);
	return q->vq.num_free ? -ENOBUFS : 0;
}

uint16_t vnet_rx_burst(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct vnet_rxq *q = queue;
	struct virtq *vq = &q->vq;
	uint16_t pending, got = 0;
	uint64_t bytes = 0;

	if (__builtin_expect(__atomic_load_n(&q->broken, __ATOMIC_RELAXED), 0))
		return 0;
	pending = virtq_used_pending(vq);
	if (pending > vq->size) /* an index the device cannot have written honestly */
		pending = vq->size;
	while (pending && got < n) {
		uint32_t len;
		struct updk_pkt *p = virtq_take_used(vq, &len);

		pending--;
		if (__builtin_expect(!p, 0)) {
			q->errors++;
			continue;
		}
		const struct virtio_net_hdr *h =
			(const void *)((uint8_t *)p + UPDK_PKT_HDR_SIZE + q->headroom - HDR_LEN);

		if (__builtin_expect(q->skip || len < HDR_LEN || len - HDR_LEN > q->room ||
					     (q->mrg_rxbuf && h->num_buffers != 1),
				     0)) {
			/* one error per frame: the rest of a multi-buffer frame only goes */
			if (q->skip) {
				q->skip--;
			} else {
				if (q->mrg_rxbuf && len >= HDR_LEN && h->num_buffers > 1)
					q->skip = (uint16_t)(h->num_buffers - 1);
				q->errors++;
			}
			updk_pkt_free(p);
			continue;
		}
		p->data_off = q->headroom;
		p->len = (uint16_t)(len - HDR_LEN);
		p->flags = 0;
		bytes += p->len;
		pkts[got++] = p;
	}
	q->packets += got;
	q->bytes += bytes;
	/* a queue smaller than two batches (a device's limit) refills at half */
	if (vq->num_free >= RX_REFILL_BATCH || vq->num_free >= vq->size / 2)
		rx_refill(q);
	return got;
}

/* Free what the device has sent: one bulk free per BULK buffers. */
static void tx_reclaim(struct vnet_txq *q)
{
	struct virtq *vq = &q->vq;
	struct updk_pkt *done[BULK];
	uint16_t pending = virtq_used_pending(vq);
	unsigned k = 0;

	if (pending > vq->size)
		pending = vq->size;
	while (pending--) {
		uint32_t len;
		struct updk_pkt *p = virtq_take_used(vq, &len);

		if (__builtin_expect(!p, 0)) {
			q->errors++;
			continue;
		}
		done[k++] = p;
		if (k == BULK) {
			updk_pkt_free_bulk(done, k);
			k = 0;
		}
	}
	updk_pkt_free_bulk(done, k);
}

static void tx_refuse(struct vnet_txq *q, struct updk_pkt *p)
{
	if (!q->dev->warned_tx_headroom) {
		q->dev->warned_tx_headroom = true;
		log_err("%s: a packet with data_off %u was dropped: virtio-net needs %u bytes of "
			"headroom for its header (keep the pool's default headroom)",
			updk_pci_name(q->dev->pci), p->data_off, HDR_LEN);
	}
	q->errors++;
	updk_pkt_free(p);
}

/* The ring has been full for TX_STALL_POLLS more bursts: true if the device needs a reset. */
static __attribute__((noinline, cold)) bool tx_stalled(struct vnet_txq *q)
{
	uint64_t now = updk_tsc();

	if (q->stalls == TX_STALL_POLLS) {
		q->stall_since = now; /* a new stall */
		return false;
	}
	if (now - q->stall_since < q->stall_tsc)
		return false;
	q->stall_since = now;
	return vnet_check_status(q->dev) != 0;
}

uint16_t vnet_tx_burst(void *queue, struct updk_pkt **pkts, uint16_t n)
{
	struct vnet_txq *q = queue;
	struct virtq *vq = &q->vq;
	uint64_t bytes = 0;
	uint16_t i, sent = 0;

	if (__builtin_expect(__atomic_load_n(&q->broken, __ATOMIC_RELAXED), 0))
		return 0;
	if (vq->num_free < n) {
		tx_reclaim(q);
		if (vq->num_free)
			q->stalls = 0;
		else if (__builtin_expect(!(++q->stalls % TX_STALL_POLLS), 0) && tx_stalled(q))
			return 0;
	}
	for (i = 0; i < n && vq->num_free; i++) {
		struct updk_pkt *p = pkts[i];

		if (__builtin_expect(p->data_off < HDR_LEN, 0)) {
			tx_refuse(q, p);
			continue;
		}
		uint8_t *h = updk_pkt_data(p) - HDR_LEN;

		/* §5.1.6.2: flags 0, GSO_NONE, num_buffers 0: one 8-byte and one 4-byte store */
		memset(h, 0, HDR_LEN);
		virtq_add1(vq, updk_pkt_data_iova(p) - HDR_LEN, (uint32_t)p->len + HDR_LEN, 0, p);
		bytes += p->len;
		sent++;
	}
	q->packets += sent;
	q->bytes += bytes;
	virtq_kick(vq);
	return i;
}

/* Free every packet @vq still holds (each chain's head descriptor carries its packet). */
static void vq_drain(struct virtq *vq)
{
	if (!vq->cookie)
		return;
	for (uint16_t d = 0; d < vq->size; d++)
		if (vq->cookie[d]) {
			updk_pkt_free(vq->cookie[d]);
			virtq_free_chain(vq, d);
		}
}

void vnet_rxq_drain(struct vnet_rxq *q)
{
	vq_drain(&q->vq);
}

void vnet_txq_drain(struct vnet_txq *q)
{
	vq_drain(&q->vq);
}

/* Receive interrupts: the virtqueue's used buffer notifications (virtq.h). */
int vnet_rx_intr_arm(struct net_dev *nd, uint16_t q)
{
	struct vnet_rxq *r = &((struct vnet_dev *)nd->priv)->rxq[q];

	if (r->broken)
		return -EIO; /* the device needs a reset: nothing will come (vnet_check_status) */
	return virtq_enable_interrupt(&r->vq) ? 1 : 0;
}

void vnet_rx_intr_disarm(struct net_dev *nd, uint16_t q)
{
	virtq_disable_interrupt(&((struct vnet_dev *)nd->priv)->rxq[q].vq);
}
