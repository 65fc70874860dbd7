/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues (virtio 1.1 §2.6), driver side, as pure ring logic on memory: no device
 * access except the one notify store the caller asks for. Unit-tested without a device
 * (test/unit/virtq.c plays the device).
 *
 * One block of DMA memory holds the descriptor table (§2.6.5, 16-byte aligned), the available
 * ring (§2.6.6, 2-byte aligned) with used_event after it, and the used ring (§2.6.8, 4-byte
 * aligned) with avail_event after it. Free descriptors form a list through their next fields,
 * so chains may come back in any order. The device writes only the used ring: an id outside
 * the table or of a descriptor not in flight is refused.
 *
 * Notifications (§2.6.7, §2.6.10): a poll-mode driver wants no used-buffer notifications
 * (interrupts); the driver sets VIRTQ_AVAIL_F_NO_INTERRUPT, or with VIRTIO_F_EVENT_IDX leaves
 * used_event at 0xffff, so the device would interrupt once per 65536 buffers at most. The other
 * way, virtq_publish() makes a burst visible with one index store and says whether the device
 * asked to be notified (avail_event or VIRTQ_USED_F_NO_NOTIFY).
 */
#ifndef UPDK_VIRTIO_NET_VIRTQ_H
#define UPDK_VIRTIO_NET_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/mmio.h>

/* §2.6.5: descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1u /* the chain continues in next */
#define VIRTQ_DESC_F_WRITE 2u /* device-writable (otherwise device-readable) */
/* §2.6.6: available ring flags: the driver wants no used-buffer notifications. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
/* §2.6.8: used ring flags: the device wants no available-buffer notifications. */
#define VIRTQ_USED_F_NO_NOTIFY 1u
/* Largest split queue (§2.6: Queue Size up to 32768). */
#define VIRTQ_MAX_SIZE 32768u

/* §2.6.5: one descriptor, little-endian (x86-64 and arm64 are). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* §2.6.6: flags, idx, ring[size], then used_event (with VIRTIO_F_EVENT_IDX). */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

/* §2.6.8: one used element: the head of the chain and the bytes the device wrote. */
struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* §2.6.8: flags, idx, ring[size], then avail_event (with VIRTIO_F_EVENT_IDX). */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtio 1.1 §2.6.5: 16-byte descriptors");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtio 1.1 §2.6.8: 8-byte used elements");

struct virtq {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	void **cookie; /* per descriptor: non-NULL on the head of a chain in flight */
	volatile uint16_t *notify; /* §4.1.4.4: this queue's notify address (NULL in tests) */
	uint16_t index; /* queue index, the value a notify writes (§4.1.5.2) */
	uint16_t size;
	uint16_t mask;
	uint16_t free_head; /* first free descriptor */
	uint16_t num_free;
	uint16_t avail_idx; /* next available slot (published by virtq_publish) */
	uint16_t published; /* avail->idx as last published */
	uint16_t last_used; /* next used element to read */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t bad_used; /* used elements refused (bad id or not in flight) */
	void *mem; /* the DMA block (whoever allocated it frees it) */
	uint64_t iova_desc, iova_avail, iova_used;
};

/* One buffer of a chain (virtq_add_chain). */
struct virtq_buf {
	uint64_t iova;
	uint32_t len;
	bool device_writes;
};

/* Bytes of DMA memory a queue of @size entries needs (alignment 4096 is enough for all parts). */
size_t virtq_mem_size(uint16_t size);

/*
 * Lay a queue of @size (a power of two, 1..32768) out in @mem (virtq_mem_size() bytes, zeroed,
 * at IOVA @iova), with @cookies (size entries). Returns 0 or -EINVAL.
 */
int virtq_init(struct virtq *vq, uint16_t size, void *mem, uint64_t iova, void **cookies,
	       bool event_idx);

/* Add a chain of @n buffers; the device returns @cookie (non-NULL). 0, -ENOSPC or -EINVAL. */
int virtq_add_chain(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *cookie);

/*
 * §2.6.7.2 (1.1): the device (or driver) must notify when new_idx has passed event_idx since
 * old_idx, all modulo 2^16.
 */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

static inline uint16_t *virtq_used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static inline volatile uint16_t *virtq_avail_event(struct virtq *vq)
{
	return (volatile uint16_t *)&vq->used->ring[vq->size];
}

/* Add one buffer (a one-descriptor chain); the caller checked num_free. */
static inline void virtq_add1(struct virtq *vq, uint64_t iova, uint32_t len, uint16_t flags,
			      void *cookie)
{
	uint16_t d = vq->free_head;
	struct virtq_desc *desc = &vq->desc[d];

	vq->free_head = desc->next;
	vq->num_free--;
	desc->addr = iova;
	desc->len = len;
	desc->flags = flags;
	vq->cookie[d] = cookie;
	vq->avail->ring[vq->avail_idx & vq->mask] = d;
	vq->avail_idx++;
}

/*
 * Make everything added since the last call visible to the device with one idx store (§2.6.13,
 * a write barrier first) and say whether the device wants a notification for it (§2.6.10:
 * avail_event with EVENT_IDX, else VIRTQ_USED_F_NO_NOTIFY), read after a full barrier so that
 * the device's "notify me" and our idx store cannot cross.
 */
static inline bool virtq_publish(struct virtq *vq)
{
	uint16_t old = vq->published, now = vq->avail_idx;

	if (old == now)
		return false;
	updk_wmb();
	*(volatile uint16_t *)&vq->avail->idx = now;
	vq->published = now;
	updk_mb();
	if (vq->event_idx)
		return virtq_need_event(*virtq_avail_event(vq), now, old);
	return !(*(volatile uint16_t *)&vq->used->flags & VIRTQ_USED_F_NO_NOTIFY);
}

/* §4.1.5.2: an available-buffer notification is the queue index written to its notify address. */
static inline void virtq_notify(struct virtq *vq)
{
	*vq->notify = vq->index;
}

/* Publish and notify if the device asked for it: one notify per burst at most. */
static inline void virtq_kick(struct virtq *vq)
{
	if (virtq_publish(vq))
		virtq_notify(vq);
}

/* Used elements the device has returned and the driver not yet read (at most size). */
static inline uint16_t virtq_used_pending(struct virtq *vq)
{
	uint16_t n = (uint16_t)(*(volatile uint16_t *)&vq->used->idx - vq->last_used);

	updk_rmb(); /* the elements are read after the index that covers them */
	return n;
}

/*
 * Used buffer notifications (virtio 1.2 §2.7.7, §2.7.10), for sleeping on a queue's interrupt.
 * Enable: with VIRTIO_F_EVENT_IDX used_event is set to the next used element, so the device
 * notifies once the used index passes it; without, VIRTQ_AVAIL_F_NO_INTERRUPT is cleared. Then,
 * after a full barrier (our store before the device's index is read), whether a used element is
 * already there: a buffer used before the device saw the store is found here, one after makes
 * the device notify. Disable: the flag again, or used_event just behind the used index, which
 * the device passes next only after 65536 buffers (virtq_init() starts that way).
 */
static inline bool virtq_enable_interrupt(struct virtq *vq)
{
	if (vq->event_idx)
		*(volatile uint16_t *)virtq_used_event(vq) = vq->last_used;
	else
		*(volatile uint16_t *)&vq->avail->flags = 0;
	updk_mb();
	return virtq_used_pending(vq) != 0;
}

static inline void virtq_disable_interrupt(struct virtq *vq)
{
	if (vq->event_idx)
		*(volatile uint16_t *)virtq_used_event(vq) = (uint16_t)(vq->last_used - 1);
	else
		*(volatile uint16_t *)&vq->avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/* Give a chain starting at @head back to the free list. */
static inline void virtq_free_chain(struct virtq *vq, uint16_t head)
{
	uint16_t d = head;

	vq->cookie[head] = NULL;
	for (unsigned i = 0; i < vq->size; i++) {
		vq->num_free++;
		if (!(vq->desc[d].flags & VIRTQ_DESC_F_NEXT))
			break;
		d = vq->desc[d].next & vq->mask;
	}
	vq->desc[d].next = vq->free_head;
	vq->free_head = head;
}

/*
 * Take the next used element (the caller knows one is pending): its cookie and written length,
 * or NULL when the device returned an id that is not a chain in flight (counted in bad_used).
 */
static inline void *virtq_take_used(struct virtq *vq, uint32_t *len)
{
	const struct virtq_used_elem *e = &vq->used->ring[vq->last_used & vq->mask];
	uint32_t id = e->id;
	void *cookie;

	*len = e->len;
	vq->last_used++;
	if (__builtin_expect(id >= vq->size || !vq->cookie[id], 0)) {
		vq->bad_used++;
		return NULL;
	}
	cookie = vq->cookie[id];
	virtq_free_chain(vq, (uint16_t)id);
	return cookie;
}

#endif
