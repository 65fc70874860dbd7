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
 * before blocking (pthread_join, a condition wait, a sleep), or an updk_mem_unregister() or
 * updk_dma_free() elsewhere waits for them. A thread is unregistered by itself when it exits.
 * The functions of this header that change mappings take the calling thread offline while
 * they wait, so a thread never waits for itself.
 *
 * IOVAs are allocated, not equal to virtual addresses: from [4 GiB, 512 GiB) until the first
 * device is opened, then from the ranges its IOMMU reports, never inside the x86 MSI window.
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
	/**
	 * Size of each chunk the DMA heap takes from the system (one IOVA range, one VFIO
	 * mapping); 0: 2 MiB or the hugepage size if larger. At least 2 MiB; rounded up to the
	 * page size.
	 */
	size_t chunk_size;
};

/**
 * Choose how DMA memory is backed, before the first allocation. Optional: without it the
 * backing comes from UPDK_MEM=hugepages|4k (default hugepages). Returns 0, -EINVAL for bad
 * opts, -EBUSY after memory was already allocated with another backing.
 */
int updk_mem_init(const struct updk_mem_opts *opts);

/**
 * Allocate @size bytes of DMA memory aligned to @align (a power of two up to 1 GiB, 0 for 64)
 * on @numa_node (UPDK_NUMA_ANY for any; on a machine without NUMA, node 0 is the same), and
 * store its IOVA in *@iova if @iova is not NULL. The allocation is contiguous in IOVA space.
 * Control path: takes a lock, may map memory. Returns NULL with errno set: EINVAL for bad
 * arguments or a node that does not exist, ENOMEM with a log line naming
 * `scripts/setup.sh hugepages N` when no hugepages are left.
 */
void *updk_dma_alloc(size_t size, size_t align, int numa_node, uint64_t *iova);

/** As updk_dma_alloc(), zero-filled. */
void *updk_dma_zalloc(size_t size, size_t align, int numa_node, uint64_t *iova);

/**
 * Free memory from updk_dma_alloc()/updk_dma_zalloc(); NULL is ignored, any other pointer that
 * is not the start of a live allocation is refused with a log line. When the free gives memory
 * back to the system (an allocation larger than a chunk, or a second empty chunk of its node),
 * it waits for a grace period before unmapping (see above): a thread that is blocked while
 * online makes it wait.
 */
void updk_dma_free(void *buf);

/**
 * Make the user buffer [@vaddr, @vaddr + @len) reachable by devices: lock it (mlock), give it
 * an IOVA range and map it into the VFIO container (now, or when the first device is opened).
 * Both must be 4 KiB aligned and nonzero. Returns 0, -EINVAL (alignment, or overlap with a
 * registered range or DMA memory), -ENOMEM (no IOVA space, or memlock too low: the log says
 * how much and `ulimit -l`), or the VFIO error.
 */
int updk_mem_register(void *vaddr, size_t len);

/**
 * Undo updk_mem_register() for exactly the range given there. Waits for a grace period, so no
 * thread still translating an address inside it can get the old IOVA, then unmaps it and
 * munlocks the buffer (mlock does not nest: a lock the caller took itself is undone too).
 * Returns 0, or -ENOENT if the range was not registered as such.
 */
int updk_mem_unregister(void *vaddr, size_t len);

/**
 * The IOVA of @vaddr, or UPDK_IOVA_INVALID if it lies in no DMA memory (never a guess).
 * Lock-free, no system call; the calling thread is registered with QSBR on first use. The
 * IOVA stays valid until the caller's next updk_mem_quiescent() or offline period; after
 * that, only as long as the memory stays allocated or registered.
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

/**
 * Unregister the calling thread from QSBR (if it ever translated). Optional: an exiting thread
 * is unregistered anyway; a later translation registers the thread again.
 */
void updk_mem_thread_exit(void);

/** A fixed-size pool of DMA objects with per-thread caches. */
struct updk_mempool;

/**
 * Create a pool of @count objects of @elt_size bytes (rounded up to 64), each 64-byte aligned,
 * in one IOVA-contiguous DMA allocation on @numa_node; each thread keeps up to @cache_size
 * (at most 512 and at most @count) objects in a private cache, up to twice that before it
 * gives some back (0: no cache). A thread's cache returns to the pool when the thread exits.
 * At most 256 pools exist at once. @name appears in messages. NULL with errno (EINVAL,
 * ENOMEM, ENOSPC) on failure.
 */
struct updk_mempool *updk_mempool_create(const char *name, unsigned count, size_t elt_size,
					 unsigned cache_size, int numa_node);

/**
 * Free a pool; all its objects must have been put back (a warning says how many were not).
 * No other thread may use the pool any more.
 */
void updk_mempool_free(struct updk_mempool *mp);

/**
 * Take @n objects into @objs: all or none. Returns 0 or -ENOBUFS. Objects in other threads'
 * caches are not reachable from here.
 */
int updk_mempool_get_bulk(struct updk_mempool *mp, void **objs, unsigned n);

/** Give back @n objects taken from this pool (an object of another pool is refused, logged). */
void updk_mempool_put_bulk(struct updk_mempool *mp, void *const *objs, unsigned n);

/** One object, or NULL when the pool is empty. */
void *updk_mempool_get(struct updk_mempool *mp);

/** Give back one object. */
void updk_mempool_put(struct updk_mempool *mp, void *obj);

/**
 * The IOVA of an object of @mp (no translation lookup: the pool is one IOVA-contiguous run);
 * UPDK_IOVA_INVALID for an address outside the pool.
 */
uint64_t updk_mempool_obj_iova(const struct updk_mempool *mp, const void *obj);

/** Objects not in use: in the shared ring plus every thread's cache. */
unsigned updk_mempool_avail(const struct updk_mempool *mp);

/** Size of each object (after rounding). */
size_t updk_mempool_elt_size(const struct updk_mempool *mp);

#endif
