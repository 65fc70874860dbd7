/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vaddr -> IOVA translation table of lib/mem, read without locks under liburcu QSBR.
 *
 * Every DMA-reachable range is one struct mem_reg (a heap chunk or a user registration), fixed
 * once published and freed only after a grace period. The table maps a 47-bit user address to
 * the registration covering it:
 *
 *   l1[va >> 30]                 -> an L2 page of 512 slots, one per 2 MiB
 *   l2->slot[(va >> 21) & 511]   -> the one registration touching that 2 MiB, or (tag bit 0)
 *                                   an L3 page of 512 slots, one per 4 KiB, when several
 *                                   registrations share the 2 MiB
 *
 * A lookup is two or three dependent loads and a bounds check against the registration, which
 * also gives the contiguous extent. A slot holding one registration that covers only part of
 * its 2 MiB answers "unmapped" for the rest by that bounds check, so a hugepage chunk or a large
 * buffer costs one slot write per 2 MiB, and only 4 KiB-granular neighbours need an L3 page.
 *
 * Writers (map_insert/map_remove) run under the caller's lock; readers need only be QSBR
 * readers (online), or hold that lock.
 */
#ifndef UPDK_MEM_MAP_H
#define UPDK_MEM_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define _LGPL_SOURCE
#include <urcu-qsbr.h>

enum mem_reg_kind {
	MEM_REG_USER, /* updk_mem_register() */
	MEM_REG_CHUNK, /* a DMA heap chunk */
};

struct mem_reg {
	uintptr_t va;
	size_t len;
	uint64_t iova;
	enum mem_reg_kind kind;
	void *owner; /* the heap chunk, for MEM_REG_CHUNK */
	bool mapped; /* programmed into the VFIO container */
	struct mem_reg *next;
};

#define MAP_VA_BITS 47
#define MAP_L1_SHIFT 30
#define MAP_L2_SHIFT 21
#define MAP_L3_SHIFT 12
#define MAP_SLOTS 512
#define MAP_L1_SIZE (1UL << (MAP_VA_BITS - MAP_L1_SHIFT))

struct map_page {
	uintptr_t slot[MAP_SLOTS];
};

extern struct map_page *map_l1[MAP_L1_SIZE];

/* The registration covering @va, or NULL. Caller is an online QSBR reader or holds the lock. */
static inline const struct mem_reg *map_lookup(uintptr_t va)
{
	struct map_page *l2;
	const struct mem_reg *r;
	uintptr_t e;

	if (va >> MAP_VA_BITS)
		return NULL;
	l2 = rcu_dereference(map_l1[va >> MAP_L1_SHIFT]);
	if (!l2)
		return NULL;
	e = rcu_dereference(l2->slot[(va >> MAP_L2_SHIFT) & (MAP_SLOTS - 1)]);
	if (e & 1) {
		struct map_page *l3 = (struct map_page *)(e & ~(uintptr_t)1);

		e = rcu_dereference(l3->slot[(va >> MAP_L3_SHIFT) & (MAP_SLOTS - 1)]);
	}
	r = (const struct mem_reg *)e;
	if (!r || va - r->va >= r->len)
		return NULL;
	return r;
}

/* True if any byte of [va, va + len) is covered. Writer side. */
bool map_overlaps(uintptr_t va, size_t len);

/*
 * Publish @r (va, len 4 KiB aligned, va + len within 47 bits, no overlap: checked by the
 * caller). Returns 0 or -ENOMEM (then nothing was published).
 */
int map_insert(struct mem_reg *r);

/*
 * Unpublish @r. L3 pages emptied by it are queued; the caller frees them with
 * map_reclaim() after a grace period.
 */
void map_remove(const struct mem_reg *r);

/* Free the L3 pages map_remove() emptied. Call after synchronize_rcu(). */
void map_reclaim(void);

#endif
