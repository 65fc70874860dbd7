// SPDX-License-Identifier: BSD-3-Clause
/*
 * drivers/virtio-net split virtqueues without a device (virtio 1.1 §2.6): the test plays the
 * device, reading the available ring and writing used elements as QEMU would. Layout and
 * alignment, one-descriptor and chained buffers, out-of-order returns through the free list,
 * full rings, used elements that name nothing in flight, the EVENT_IDX rule across the 16-bit
 * wrap, and when a publish asks for a notify.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "drivers/virtio-net/virtq.h"

#define IOVA 0x10000000ull

static void *mem;
static void *cookies[VIRTQ_MAX_SIZE];
static struct virtq vq;
static uint16_t dev_avail; /* the "device"'s next available slot */
static uint16_t dev_used; /* the "device"'s used idx */
static int tokens[1024];

static void make(uint16_t size, bool event_idx)
{
	size_t len = virtq_mem_size(size);

	mem = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	cr_assert_not_null(mem);
	memset(mem, 0, len);
	cr_assert_eq(virtq_init(&vq, size, mem, IOVA, cookies, event_idx), 0);
	dev_avail = dev_used = 0;
}

static void fini(void)
{
	free(mem);
	mem = NULL;
}

/* Device side: the heads the driver has published and the device not yet taken. */
static unsigned dev_take(uint16_t *heads, unsigned max)
{
	unsigned n = 0;
	uint16_t idx = vq.avail->idx;

	while (dev_avail != idx && n < max)
		heads[n++] = vq.avail->ring[dev_avail++ % vq.size];
	return n;
}

/* Device side: return @head with @len bytes written. */
static void dev_return(uint16_t head, uint32_t len)
{
	vq.used->ring[dev_used % vq.size] = (struct virtq_used_elem){ head, len };
	dev_used++;
	vq.used->idx = dev_used;
}

TestSuite(virtq, .fini = fini);

Test(virtq, layout_and_alignment)
{
	make(256, true);
	/* §2.6: descriptor table 16-aligned, available ring 2, used ring 4 */
	cr_assert_eq((char *)vq.desc, (char *)mem);
	cr_assert_eq((char *)vq.avail - (char *)mem, 256 * 16);
	cr_assert_eq(((uintptr_t)vq.used - (uintptr_t)mem) % 4, 0);
	cr_assert_geq((char *)vq.used, (char *)&vq.avail->ring[256] + 2, "used_event fits");
	cr_assert_eq(vq.iova_desc, IOVA);
	cr_assert_eq(vq.iova_avail, IOVA + 256 * 16);
	cr_assert_eq(vq.iova_used, IOVA + (uint64_t)((char *)vq.used - (char *)mem));
	/* avail_event, the last field, is inside the size */
	cr_assert_leq((char *)virtq_avail_event(&vq) + 2 - (char *)mem, (long)virtq_mem_size(256));
	cr_assert_eq(vq.num_free, 256);
	cr_assert_eq(virtq_init(&vq, 100, mem, IOVA, cookies, false), -EINVAL, "not a power of 2");
	cr_assert_eq(virtq_init(&vq, 0, mem, IOVA, cookies, false), -EINVAL);
}

Test(virtq, interrupts_suppressed)
{
	make(64, false);
	cr_assert_eq(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT, "§2.6.7 without EVENT_IDX");
	fini();
	make(64, true);
	cr_assert_eq(vq.avail->flags, 0);
	cr_assert_eq(*virtq_used_event(&vq), 0xffff, "used_event far from the used index");
}

/*
 * Armed for sleeping (virtio 1.2 §2.7.7, §2.7.10): the device, which notifies when it passes
 * used_event (or sees the flag clear), would notify for the next used buffer and, disarmed, for
 * none; a buffer used before the arm is reported by it.
 */
Test(virtq, interrupt_enable_and_disable)
{
	uint16_t heads[4];
	uint32_t len;

	make(8, true);
	cr_assert_eq(virtq_add_chain(&vq, &(struct virtq_buf){ 0x1000, 64, true }, 1, &tokens[0]),
		     0);
	virtq_publish(&vq);
	cr_assert_not(virtq_enable_interrupt(&vq), "nothing used yet");
	cr_assert_eq(*virtq_used_event(&vq), vq.last_used);
	/* The device's rule, for the buffer it uses next: notify. */
	cr_assert(virtq_need_event(*virtq_used_event(&vq), (uint16_t)(dev_used + 1), dev_used));
	cr_assert_eq(dev_take(heads, 4), 1);
	dev_return(heads[0], 64);
	cr_assert(virtq_enable_interrupt(&vq), "used before the arm looked: reported");
	cr_assert_eq(virtq_take_used(&vq, &len), &tokens[0]);
	virtq_disable_interrupt(&vq);
	/* Disarmed: the next 65535 buffers pass without a notification. */
	cr_assert_not(virtq_need_event(*virtq_used_event(&vq), (uint16_t)(dev_used + 1), dev_used));
	cr_assert_not(
		virtq_need_event(*virtq_used_event(&vq), (uint16_t)(dev_used + 65535), dev_used));
	fini();

	make(8, false);
	cr_assert_not(virtq_enable_interrupt(&vq));
	cr_assert_eq(vq.avail->flags, 0, "the flag cleared: notify");
	virtq_disable_interrupt(&vq);
	cr_assert_eq(vq.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
}

Test(virtq, need_event_rule)
{
	/* §2.6.7.2: notify iff event_idx is in [old, new) modulo 2^16 */
	cr_assert(virtq_need_event(0, 1, 0));
	cr_assert_not(virtq_need_event(1, 1, 0));
	cr_assert(virtq_need_event(5, 10, 0));
	cr_assert_not(virtq_need_event(10, 10, 0));
	cr_assert(virtq_need_event(9, 10, 0));
	cr_assert_not(virtq_need_event(3, 10, 5));
	/* across the wrap */
	cr_assert(virtq_need_event(65534, 4, 65530));
	cr_assert(virtq_need_event(2, 4, 65530));
	cr_assert_not(virtq_need_event(4, 4, 65530));
	cr_assert_not(virtq_need_event(65529, 4, 65530));
	/* exhaustively against the set definition on a small window */
	for (unsigned old = 65500; old < 65600; old++)
		for (unsigned k = 0; k < 40; k++)
			for (unsigned e = 0; e < 60; e++) {
				uint16_t o = (uint16_t)old, nw = (uint16_t)(old + k),
					 ev = (uint16_t)(old + e - 10);
				bool in = (uint16_t)(ev - o) < k;

				cr_assert_eq(virtq_need_event(ev, nw, o), in, "ev %u new %u old %u",
					     ev, nw, o);
			}
}

Test(virtq, one_descriptor_buffers)
{
	uint16_t heads[64];

	make(64, false);
	for (int i = 0; i < 10; i++)
		virtq_add1(&vq, 0x1000 * (i + 1), 100 + i, VIRTQ_DESC_F_WRITE, &tokens[i]);
	cr_assert_eq(vq.avail->idx, 0, "nothing visible before publish");
	cr_assert(virtq_publish(&vq), "flags 0: the device wants a notify");
	cr_assert_eq(vq.avail->idx, 10);
	cr_assert_not(virtq_publish(&vq), "nothing new: no notify");
	cr_assert_eq(dev_take(heads, 64), 10);
	for (int i = 0; i < 10; i++) {
		cr_assert_eq(vq.desc[heads[i]].addr, 0x1000u * (i + 1));
		cr_assert_eq(vq.desc[heads[i]].len, 100u + i);
		cr_assert_eq(vq.desc[heads[i]].flags, VIRTQ_DESC_F_WRITE);
	}
	/* the device returns them in reverse order */
	for (int i = 9; i >= 0; i--)
		dev_return(heads[i], 60 + i);
	cr_assert_eq(virtq_used_pending(&vq), 10);
	for (int i = 9; i >= 0; i--) {
		uint32_t len;

		cr_assert_eq(virtq_take_used(&vq, &len), &tokens[i]);
		cr_assert_eq(len, 60u + i);
	}
	cr_assert_eq(virtq_used_pending(&vq), 0);
	cr_assert_eq(vq.num_free, 64);
}

Test(virtq, no_notify_flag_and_full_ring)
{
	uint16_t heads[8];

	make(8, false);
	vq.used->flags = VIRTQ_USED_F_NO_NOTIFY;
	for (int i = 0; i < 8; i++)
		virtq_add1(&vq, 0x2000, 10, 0, &tokens[i]);
	cr_assert_eq(vq.num_free, 0);
	cr_assert_not(virtq_publish(&vq), "§2.6.10: the device said not to notify");
	struct virtq_buf b = { 0x3000, 10, false };

	cr_assert_eq(virtq_add_chain(&vq, &b, 1, &tokens[9]), -ENOSPC);
	cr_assert_eq(dev_take(heads, 8), 8);
	dev_return(heads[3], 0);
	uint32_t len;

	cr_assert_eq(virtq_take_used(&vq, &len), &tokens[3]);
	cr_assert_eq(vq.num_free, 1);
	cr_assert_eq(vq.free_head, heads[3], "the returned descriptor is the one reused");
	cr_assert_eq(virtq_add_chain(&vq, &b, 1, &tokens[9]), 0);
}

Test(virtq, chains)
{
	uint16_t heads[4];
	uint32_t len;
	struct virtq_buf b[3] = { { 0xa000, 2, false }, { 0xb000, 8, false }, { 0xc000, 1, true } };

	make(16, false);
	cr_assert_eq(virtq_add_chain(&vq, b, 3, &tokens[0]), 0);
	cr_assert_eq(virtq_add_chain(&vq, b, 2, &tokens[1]), 0);
	cr_assert_eq(vq.num_free, 11);
	virtq_publish(&vq);
	cr_assert_eq(dev_take(heads, 4), 2);
	/* walk the first chain as the device does (§2.6.5) */
	uint16_t d = heads[0];

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(vq.desc[d].addr, b[i].iova);
		cr_assert_eq(vq.desc[d].len, b[i].len);
		cr_assert_eq(!!(vq.desc[d].flags & VIRTQ_DESC_F_WRITE), b[i].device_writes);
		cr_assert_eq(!!(vq.desc[d].flags & VIRTQ_DESC_F_NEXT), i < 2);
		d = vq.desc[d].next;
	}
	cr_assert_eq(vq.desc[vq.desc[heads[1]].next].flags, 0, "last of the second chain");
	dev_return(heads[1], 0);
	dev_return(heads[0], 1);
	cr_assert_eq(virtq_take_used(&vq, &len), &tokens[1]);
	cr_assert_eq(vq.num_free, 13);
	cr_assert_eq(virtq_take_used(&vq, &len), &tokens[0]);
	cr_assert_eq(len, 1);
	cr_assert_eq(vq.num_free, 16);
	/* the free list still covers every descriptor exactly once */
	bool seen[16] = { false };

	d = vq.free_head;
	for (int i = 0; i < 16; i++) {
		cr_assert_lt(d, 16);
		cr_assert_not(seen[d], "descriptor %u twice in the free list", d);
		seen[d] = true;
		d = vq.desc[d].next;
	}
	cr_assert_eq(virtq_add_chain(&vq, b, 0, &tokens[0]), -EINVAL);
	cr_assert_eq(virtq_add_chain(&vq, b, 1, NULL), -EINVAL);
}

Test(virtq, bad_used_elements)
{
	uint16_t heads[4];
	uint32_t len;

	make(16, false);
	virtq_add1(&vq, 0x1000, 10, 0, &tokens[0]);
	virtq_publish(&vq);
	cr_assert_eq(dev_take(heads, 4), 1);
	dev_return(16, 0); /* outside the table */
	dev_return((uint16_t)(heads[0] + 1), 0); /* a free descriptor */
	dev_return(heads[0], 10);
	dev_return(heads[0], 10); /* the same one twice */
	cr_assert_eq(virtq_used_pending(&vq), 4);
	cr_assert_null(virtq_take_used(&vq, &len));
	cr_assert_null(virtq_take_used(&vq, &len));
	cr_assert_eq(virtq_take_used(&vq, &len), &tokens[0]);
	cr_assert_null(virtq_take_used(&vq, &len));
	cr_assert_eq(vq.bad_used, 3);
	cr_assert_eq(vq.num_free, 16, "refused elements free nothing");
}

Test(virtq, event_idx_notifies)
{
	uint16_t heads[64];
	uint32_t len;

	make(64, true);
	/* the device asks for a notify when avail idx passes 3 */
	*virtq_avail_event(&vq) = 3;
	for (int i = 0; i < 3; i++)
		virtq_add1(&vq, 0x1000, 1, 0, &tokens[i]);
	cr_assert_not(virtq_publish(&vq), "idx 0 -> 3 does not pass event 3");
	virtq_add1(&vq, 0x1000, 1, 0, &tokens[3]);
	cr_assert(virtq_publish(&vq), "3 -> 4 passes it");
	vq.used->flags = VIRTQ_USED_F_NO_NOTIFY; /* ignored with EVENT_IDX */
	*virtq_avail_event(&vq) = 4;
	virtq_add1(&vq, 0x1000, 1, 0, &tokens[4]);
	cr_assert(virtq_publish(&vq));
	cr_assert_eq(dev_take(heads, 64), 5);
	for (int i = 0; i < 5; i++)
		dev_return(heads[i], 0);
	while (virtq_used_pending(&vq))
		virtq_take_used(&vq, &len);
	cr_assert_eq(vq.num_free, 64);
}

Test(virtq, wraps_the_16_bit_indices)
{
	uint16_t heads[32];
	uint32_t len;
	unsigned sent = 0, got = 0;

	make(32, true);
	/* 70000 buffers in bursts of up to 20: both indices wrap, order and cookies kept */
	while (got < 70000) {
		unsigned burst = 1 + sent % 20;

		for (unsigned i = 0; i < burst && vq.num_free; i++, sent++)
			virtq_add1(&vq, sent, 1, 0, &tokens[sent % 1024]);
		/* the device wants to hear of every burst */
		*virtq_avail_event(&vq) = vq.published;
		cr_assert(virtq_publish(&vq));
		unsigned n = dev_take(heads, 32);

		for (unsigned i = 0; i < n; i++) {
			cr_assert_eq(vq.desc[heads[i]].addr, (uint64_t)(got + i));
			dev_return(heads[i], i);
		}
		uint16_t p = virtq_used_pending(&vq);

		cr_assert_eq(p, n);
		for (unsigned i = 0; i < p; i++, got++)
			cr_assert_eq(virtq_take_used(&vq, &len), &tokens[got % 1024]);
	}
	cr_assert_eq(vq.bad_used, 0);
	cr_assert_eq(vq.num_free, 32);
	cr_assert_eq(vq.last_used, (uint16_t)got);
}
