/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared state of lib/mem's files: the lock, the registrations, the IOMMU seam. Internal. */
#ifndef UPDK_MEM_MEM_INTERNAL_H
#define UPDK_MEM_MEM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <updk/mem.h>

#include "lib/mem/iova_alloc.h"
#include "lib/mem/map.h"
#include "lib/vfio/vfio.h"

/*
 * One lock serialises every change to the registrations, the IOVA allocator and the DMA heap
 * (all control path). A thread that is an online QSBR reader goes offline before taking it
 * (mem_writer_enter), so a writer waiting in synchronize_rcu() never waits for a thread that
 * is itself waiting for the lock.
 */
extern pthread_mutex_t mem_lock;

/* Take mem_lock; returns a token for mem_writer_leave(). */
int mem_writer_enter(void);
void mem_writer_leave(int token);

/* Backing and chunk size in force (UPDK_MEM or updk_mem_init()). */
enum updk_mem_backing mem_backing(void);
size_t mem_chunk_size(void);

/*
 * Register [va, va + len) (4 KiB aligned) with an IOVA aligned to @iova_align, mapped into the
 * container if one is active. With mem_lock held. Returns 0 and the record in *@out, or
 * -EINVAL (overlap), -ENOSPC (IOVA space), -ENOMEM, or the VFIO error.
 */
int mem_reg_add(void *va, size_t len, enum mem_reg_kind kind, void *owner, uint64_t iova_align,
		struct mem_reg **out);

/*
 * Unpublish @r, wait for a grace period, unmap it from the container, free its IOVA and the
 * record. With mem_lock held (and the caller offline: mem_writer_enter saw to it).
 */
void mem_reg_del(struct mem_reg *r);

/* Arrange for thread_exit_hook() (mem.c) to run when the calling thread exits. */
void mem_want_thread_exit_hook(void);
/* Flush the exiting thread's mempool caches (mempool.c). */
void mempool_thread_exit(void);

/* What lib/mem asks of the IOMMU; lib/vfio's by default, replaceable by unit tests. */
struct mem_iommu_ops {
	bool (*active)(void);
	int (*map)(void *va, uint64_t iova, size_t len);
	int (*unmap)(uint64_t iova, size_t len);
	int (*ranges)(struct vfio_iova_range *out, unsigned max);
};

/* Replace the IOMMU ops (NULL: back to lib/vfio). For tests, before any registration. */
void mem_set_iommu_ops(const struct mem_iommu_ops *ops);

/* The IOVA ranges the allocator uses now (for tests and diagnostics); returns the count. */
unsigned mem_iova_space(struct ia_range *out, unsigned max);

/* Heap chunks in existence (mem_lock held). */
unsigned heap_nchunks(void);
/* Live DMA allocations (takes mem_lock): tests check that a failed or closed open freed all. */
unsigned heap_nallocs(void);

#endif
