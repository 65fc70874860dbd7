/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * updk memory for DMA: hugepage-backed, NUMA-placed, mapped into the IOMMU at allocated IOVAs.
 *
 * Any buffer a device reads or writes must be DMA memory from updk_dma_alloc() or a mempool, or
 * a user buffer made known with updk_mem_register(). updk_iova() translates an address inside
 * such memory without locks; an address outside it is never guessed at.
 *
 * Threads that translate (every thread that submits I/O) take part in the QSBR scheme of
 * liburcu: they are registered on first use and must pass through updk_mem_quiescent() now and
 * then (a poll loop does it once per iteration) or go offline with updk_mem_thread_offline()
 * before blocking, or an updk_mem_unregister() elsewhere waits for them.
 */
#ifndef UPDK_MEM_H
#define UPDK_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** An IOVA that no mapping has; returned by updk_iova() for unknown memory. */
#define UPDK_IOVA_INVALID UINT64_MAX
/** Any NUMA node: the caller does not care, or does not know the device's. */
#define UPDK_NUMA_ANY (-1)

/** What backs DMA memory. */
enum updk_mem_backing {
	/** Hugepages from a hugetlbfs mount (the default; `scripts/setup.sh hugepages N`). */
	UPDK_MEM_HUGEPAGES = 0,
	/** Ordinary 4 KiB pages, locked and pinned by VFIO: no hugepages needed, more IOMMU entries. */
	UPDK_MEM_4K_PAGES,
};

/** Options for updk_mem_init(). Zero them, set opts_size = sizeof(opts), then what you need. */
struct updk_mem_opts {
	size_t opts_size;
	enum updk_mem_backing backing;
	/** Size of each chunk the DMA heap takes from the system; 0: 2 MiB (one hugepage). */
	size_t chunk_size;
};

/**
 * Choose how DMA memory is backed, before the first allocation. Optional: without it the
 * backing comes from UPDK_MEM=hugepages|4k (default hugepages). Returns 0, -EINVAL for bad
 * opts, -EBUSY after memory was already allocated with another backing.
 */
int updk_mem_init(const struct updk_mem_opts *opts);

/**
 * Allocate @size bytes of DMA memory aligned to @align (a power of two, 0 for 64) on
 * @numa_node (UPDK_NUMA_ANY for any), and store its IOVA in *@iova if @iova is not NULL.
 * Returns NULL with errno set (ENOMEM with a log line naming `scripts/setup.sh hugepages` when
 * no hugepages are left).
 */
void *updk_dma_alloc(size_t size, size_t align, int numa_node, uint64_t *iova);

/** As updk_dma_alloc(), zero-filled. */
void *updk_dma_zalloc(size_t size, size_t align, int numa_node, uint64_t *iova);

/** Free memory from updk_dma_alloc()/updk_dma_zalloc(); NULL is ignored. */
void updk_dma_free(void *buf);

/**
 * Make the user buffer [@vaddr, @vaddr + @len) reachable by devices: pin it, give it an IOVA
 * range and map it into every VFIO container. Both must be 4 KiB aligned. Returns 0, -EINVAL
 * (alignment, or overlap with a registered range), -ENOMEM (no IOVA space or memlock too low:
 * the log says how much and `ulimit -l`), or the VFIO error.
 */
int updk_mem_register(void *vaddr, size_t len);

/**
 * Undo updk_mem_register() for exactly the range given there. Waits for a grace period, so no
 * thread still translating an address inside it can get the old IOVA, then unmaps. Returns 0 or
 * -ENOENT if the range was not registered as such.
 */
int updk_mem_unregister(void *vaddr, size_t len);

/**
 * The IOVA of @vaddr, or UPDK_IOVA_INVALID if it lies in no DMA memory. Lock-free; the calling
 * thread is registered with QSBR on first use.
 */
uint64_t updk_iova(const void *vaddr);

/**
 * The IOVA of @vaddr and, in *@len, how many bytes from @vaddr on are contiguous in IOVA space
 * (to the end of the mapping). UPDK_IOVA_INVALID if unmapped.
 */
uint64_t updk_iova_contig(const void *vaddr, size_t *len);

/** Report a quiescent state for the calling thread: call once per poll loop. */
void updk_mem_quiescent(void);

/** Take the calling thread out of grace-period waits before it blocks for a long time. */
void updk_mem_thread_offline(void);

/** Undo updk_mem_thread_offline(). */
void updk_mem_thread_online(void);

/** Unregister the calling thread from QSBR before it exits (if it ever translated). */
void updk_mem_thread_exit(void);

/** A fixed-size pool of DMA objects with per-thread caches. */
struct updk_mempool;

/**
 * Create a pool of @count objects of @elt_size bytes (rounded up to 64), each 64-byte aligned,
 * in DMA memory on @numa_node; each thread keeps up to @cache_size objects in a private cache
 * (0: none). @name appears in messages. NULL with errno on failure.
 */
struct updk_mempool *updk_mempool_create(const char *name, unsigned count, size_t elt_size,
					 unsigned cache_size, int numa_node);

/** Free a pool; all its objects must have been put back (a warning says how many were not). */
void updk_mempool_free(struct updk_mempool *mp);

/** Take @n objects into @objs: all or none. Returns 0 or -ENOBUFS. */
int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n);

/** Give back @n objects taken from this pool. */
void updk_mempool_put_bulk(struct updk_mempool *mp, void *const *objs, unsigned n);

/** One object, or NULL when the pool is empty. */
void *updk_mempool_get(struct updk_mempool *mp);

/** Give back one object. */
void updk_mempool_put(struct updk_mempool *mp, void *obj);

/** The IOVA of an object of @mp (no translation lookup: the pool is one IOVA-contiguous run). */
uint64_t updk_mempool_obj_iova(const struct updk_mempool *mp, const void *obj);

/** Objects not in use: in the shared ring plus every thread's cache. */
unsigned updk_mempool_avail(const struct updk_mempool *mp);

/** Size of each object (after rounding). */
size_t updk_mempool_elt_size(const struct updk_mempool *mp);

#endif
