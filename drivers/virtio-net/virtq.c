// SPDX-License-Identifier: BSD-3-Clause
/* Split virtqueue layout and chain building (virtio 1.1 §2.6); the hot parts are in virtq.h. */
#include <errno.h>
#include <string.h>

#include "drivers/virtio-net/virtq.h"

/* §2.6: descriptor table 16-byte aligned, available ring 2, used ring 4. */
static size_t avail_off(uint16_t size)
{
	return (size_t)size * sizeof(struct virtq_desc);
}

static size_t used_off(uint16_t size)
{
	/* flags, idx, ring[size], used_event: 2 * (3 + size) bytes; the used ring on 64 */
	size_t end = avail_off(size) + 2 * (3 + (size_t)size);

	return (end + 63) & ~(size_t)63;
}

size_t virtq_mem_size(uint16_t size)
{
	/* flags, idx, ring[size] of 8 bytes, avail_event */
	return used_off(size) + 4 + 8 * (size_t)size + 2;
}

int virtq_init(struct virtq *vq, uint16_t size, void *mem, uint64_t iova, void **cookies,
	       bool event_idx)
{
	if (!size || (size & (size - 1)) || size > VIRTQ_MAX_SIZE || !mem || !cookies)
		return -EINVAL;
	memset(vq, 0, sizeof(*vq));
	vq->size = size;
	vq->mask = size - 1;
	vq->mem = mem;
	vq->desc = mem;
	vq->avail = (struct virtq_avail *)((char *)mem + avail_off(size));
	vq->used = (struct virtq_used *)((char *)mem + used_off(size));
	vq->iova_desc = iova;
	vq->iova_avail = iova + avail_off(size);
	vq->iova_used = iova + used_off(size);
	vq->cookie = cookies;
	vq->event_idx = event_idx;
	for (uint16_t i = 0; i < size; i++) {
		vq->desc[i].next = (uint16_t)(i + 1);
		cookies[i] = NULL;
	}
	vq->free_head = 0;
	vq->num_free = size;
	/*
	 * No used-buffer notifications wanted (§2.6.7): without EVENT_IDX the flag; with it the
	 * flag is ignored and used_event decides, so put it where the used index reaches it once
	 * per 65536 buffers.
	 */
	if (event_idx)
		*virtq_used_event(vq) = 0xffff;
	else
		vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	return 0;
}

int virtq_add_chain(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
	uint16_t head, d;

	if (!n || !cookie)
		return -EINVAL;
	if (n > vq->num_free)
		return -ENOSPC;
	head = d = vq->free_head;
	for (unsigned i = 0; i < n; i++) {
		struct virtq_desc *desc = &vq->desc[d];

		desc->addr = bufs[i].iova;
		desc->len = bufs[i].len;
		desc->flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (i + 1 < n)
			d = desc->next; /* the free list already links them */
	}
	vq->free_head = vq->desc[d].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->cookie[head] = cookie;
	vq->avail->ring[vq->avail_idx & vq->mask] = head;
	vq->avail_idx++;
	return 0;
}
