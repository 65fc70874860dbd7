// SPDX-License-Identifier: BSD-3-Clause
/* The translation table's writer side (see map.h for the layout). */
#include <errno.h>
#include <stdlib.h>

#include "lib/mem/map.h"

#define SLOT_SIZE (1UL << MAP_L2_SHIFT)
#define PAGE_4K (1UL << MAP_L3_SHIFT)

struct map_page *map_l1[MAP_L1_SIZE];

/* L3 pages unpublished by map_remove(), waiting for a grace period. */
struct reclaim {
	struct reclaim *next;
	struct map_page *page;
};
static struct reclaim *reclaim_list;

static bool is_l3(uintptr_t e)
{
	return e & 1;
}

static struct map_page *as_l3(uintptr_t e)
{
	return (struct map_page *)(e & ~(uintptr_t)1);
}

static struct map_page *l2_of(uintptr_t va)
{
	return map_l1[va >> MAP_L1_SHIFT];
}

static uintptr_t *slot_of(struct map_page *l2, uintptr_t va)
{
	return &l2->slot[(va >> MAP_L2_SHIFT) & (MAP_SLOTS - 1)];
}

static uintptr_t min_u(uintptr_t a, uintptr_t b)
{
	return a < b ? a : b;
}

static uintptr_t max_u(uintptr_t a, uintptr_t b)
{
	return a > b ? a : b;
}

bool map_overlaps(uintptr_t va, size_t len)
{
	uintptr_t end = va + len;

	for (uintptr_t s = va & ~(SLOT_SIZE - 1); s < end; s += SLOT_SIZE) {
		struct map_page *l2 = l2_of(s);
		uintptr_t e, a = max_u(va, s), b = min_u(end, s + SLOT_SIZE);

		if (!l2 || !(e = *slot_of(l2, s)))
			continue;
		if (!is_l3(e)) {
			const struct mem_reg *o = (const struct mem_reg *)e;

			if (o->va < b && a < o->va + o->len)
				return true;
			continue;
		}
		for (uintptr_t p = a; p < b; p += PAGE_4K)
			if (as_l3(e)->slot[(p >> MAP_L3_SHIFT) & (MAP_SLOTS - 1)])
				return true;
	}
	return false;
}

/* Point the 4 KiB slots of @l3 (for the 2 MiB at @base) that @r covers at @r. */
static void fill_l3(struct map_page *l3, uintptr_t base, const struct mem_reg *r, bool publish)
{
	uintptr_t a = max_u(r->va, base), b = min_u(r->va + r->len, base + SLOT_SIZE);

	for (uintptr_t p = a; p < b; p += PAGE_4K) {
		uintptr_t *slot = &l3->slot[(p >> MAP_L3_SHIFT) & (MAP_SLOTS - 1)];

		if (publish)
			rcu_assign_pointer(*slot, (uintptr_t)r);
		else
			*slot = (uintptr_t)r;
	}
}

int map_insert(struct mem_reg *r)
{
	uintptr_t end = r->va + r->len, first = r->va & ~(SLOT_SIZE - 1);
	uintptr_t last = (end - 1) & ~(SLOT_SIZE - 1);
	struct map_page *l3[2] = { NULL, NULL };

	/* Allocate everything first, so a failure publishes nothing. Empty L2 pages are harmless. */
	for (uintptr_t s = first; s <= last; s += SLOT_SIZE) {
		if (l2_of(s))
			continue;
		struct map_page *l2 = calloc(1, sizeof(*l2));

		if (!l2)
			return -ENOMEM;
		rcu_assign_pointer(map_l1[s >> MAP_L1_SHIFT], l2);
	}
	/*
	 * Only the first and last slots can hold another registration (any slot in between is
	 * wholly inside the new range, and overlap was excluded): at most two new L3 pages.
	 */
	for (int i = 0; i < 2; i++) {
		uintptr_t s = i ? last : first, e = *slot_of(l2_of(s), s);

		if (i && last == first)
			break;
		if (!e || is_l3(e))
			continue;
		l3[i] = calloc(1, sizeof(*l3[i]));
		if (!l3[i]) {
			free(l3[0]);
			return -ENOMEM;
		}
		fill_l3(l3[i], s, (const struct mem_reg *)e, false);
		fill_l3(l3[i], s, r, false);
	}
	for (uintptr_t s = first; s <= last; s += SLOT_SIZE) {
		uintptr_t *slot = slot_of(l2_of(s), s), e = *slot;

		if (!e) {
			rcu_assign_pointer(*slot, (uintptr_t)r);
		} else if (is_l3(e)) {
			fill_l3(as_l3(e), s, r, true);
		} else {
			struct map_page *n = s == first ? l3[0] : l3[1];

			/* Readers see the old registration (bounds-checked) or the full L3 page. */
			rcu_assign_pointer(*slot, (uintptr_t)n | 1);
		}
	}
	return 0;
}

static bool l3_empty(const struct map_page *l3)
{
	for (unsigned i = 0; i < MAP_SLOTS; i++)
		if (l3->slot[i])
			return false;
	return true;
}

void map_remove(const struct mem_reg *r)
{
	uintptr_t end = r->va + r->len;

	for (uintptr_t s = r->va & ~(SLOT_SIZE - 1); s < end; s += SLOT_SIZE) {
		uintptr_t *slot = slot_of(l2_of(s), s), e = *slot;

		if (e == (uintptr_t)r) {
			rcu_assign_pointer(*slot, 0);
		} else if (is_l3(e)) {
			struct map_page *l3 = as_l3(e);
			uintptr_t a = max_u(r->va, s), b = min_u(end, s + SLOT_SIZE);

			for (uintptr_t p = a; p < b; p += PAGE_4K)
				rcu_assign_pointer(l3->slot[(p >> MAP_L3_SHIFT) & (MAP_SLOTS - 1)],
						   0);
			if (l3_empty(l3)) {
				struct reclaim *rc = malloc(sizeof(*rc));

				/* Without memory for the queue entry the page stays in place. */
				if (!rc)
					continue;
				rcu_assign_pointer(*slot, 0);
				rc->page = l3;
				rc->next = reclaim_list;
				reclaim_list = rc;
			}
		}
	}
}

void map_reclaim(void)
{
	while (reclaim_list) {
		struct reclaim *rc = reclaim_list;

		reclaim_list = rc->next;
		free(rc->page);
		free(rc);
	}
}
