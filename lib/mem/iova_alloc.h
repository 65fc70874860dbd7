/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A range allocator over 64-bit addresses: aligned allocation, free with coalescing, O(log n).
 * lib/mem uses one instance for the process's IOVA space and one per DMA heap chunk (over its
 * virtual addresses). Not thread-safe: the caller holds its own lock.
 *
 * Free ranges live in an AVL tree ordered by address, each node also holding the largest free
 * length in its subtree, so the lowest-addressed range that surely fits is found in O(log n).
 * Allocated ranges live in a second AVL tree, so a free needs only the start address and a bad
 * free (unknown address, double free) is detected instead of corrupting the free tree.
 */
#ifndef UPDK_MEM_IOVA_ALLOC_H
#define UPDK_MEM_IOVA_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/vfio/vfio.h"

struct ia_node;

struct iova_alloc {
	struct ia_node *free_root; /* free ranges, by start, augmented with subtree max length */
	struct ia_node *used_root; /* allocated ranges, by start */
	uint64_t free_bytes;
	unsigned nfree;
	unsigned nused;
};

/* One half-open range [start, end). */
struct ia_range {
	uint64_t start;
	uint64_t end;
};

void iova_alloc_init(struct iova_alloc *a);
/* Forget every range, free and allocated. */
void iova_alloc_destroy(struct iova_alloc *a);

/*
 * Make [start, end) available (it must not overlap anything the allocator already manages).
 * Adjacent free ranges coalesce. Returns 0, -EINVAL (empty or overlapping), -ENOMEM.
 */
int iova_alloc_add(struct iova_alloc *a, uint64_t start, uint64_t end);

/*
 * Replace the managed space by @ranges (half-open, any order, may overlap each other).
 * Every allocated range must lie inside one of them: if one does not, nothing changes and
 * -ERANGE is returned with *@bad set to its start. Returns 0, -ERANGE or -ENOMEM.
 */
int iova_alloc_set_ranges(struct iova_alloc *a, const struct ia_range *ranges, unsigned n,
			  uint64_t *bad);

/*
 * Allocate @size bytes aligned to @align (a power of two, 0 or 1 for none) from the lowest
 * address that fits. Returns 0 with the start in *@out, -EINVAL for bad arguments, -ENOSPC when
 * no free range can hold it, -ENOMEM.
 */
int iova_alloc_alloc(struct iova_alloc *a, uint64_t size, uint64_t align, uint64_t *out);

/*
 * Free the allocation starting at @start; its size is stored in *@size if not NULL.
 * Returns 0 or -ENOENT (not the start of an allocation).
 */
int iova_alloc_free(struct iova_alloc *a, uint64_t start, uint64_t *size);

/* Size of the allocation starting at @start, 0 if there is none. */
uint64_t iova_alloc_size(const struct iova_alloc *a, uint64_t start);

/* Largest free range length (0 when full): O(1). */
uint64_t iova_alloc_max_free(const struct iova_alloc *a);

/* Call @fn for each free range in address order; stops early when @fn returns nonzero. */
void iova_alloc_walk_free(const struct iova_alloc *a,
			  int (*fn)(uint64_t start, uint64_t end, void *arg), void *arg);

/*
 * IOVA space policy. Ranges a device may use, from the kernel's inclusive ranges (or the default
 * when @n is 0), with what must never be handed out taken away: the x86 MSI window
 * 0xfee00000-0xfeefffff (Intel SDM Vol. 3 §11.11.1: writes there are interrupt messages, not
 * memory), the first 2 MiB (a zero or tiny IOVA in a descriptor is too easily a bug), and
 * anything at or above 2^63 (kept out so lengths never overflow). Writes at most @max ranges to
 * @out, sorted and merged; returns the count.
 */
unsigned iova_space_ranges(const struct vfio_iova_range *kernel, unsigned n, struct ia_range *out,
			   unsigned max);

#define IOVA_MSI_START 0xfee00000ULL
#define IOVA_MSI_END 0xfef00000ULL /* exclusive */
#define IOVA_LOW_RESERVED (2ULL << 20)
#define IOVA_SPACE_LIMIT (1ULL << 63)
/*
 * Before any device is attached: [4 GiB, 512 GiB). Above the 32-bit MMIO holes and below
 * 2^39, the address width of QEMU's virtual Intel IOMMU, so the first real container's ranges
 * contain whatever was allocated before it existed.
 */
#define IOVA_DEFAULT_START (4ULL << 30)
#define IOVA_DEFAULT_END (1ULL << 39)

#endif
